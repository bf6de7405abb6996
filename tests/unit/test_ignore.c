#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/glob.h"
#include "builder/ignore.h"
#include "util/error.h"
#include "util/init.h"
#include "tests/unit/unit.h"

/* As libgit2's cl_git_pass: show the library's message on failure. */

struct glob_case {
	const char *pattern;
	const char *name;
	int want;
};

struct ignore_case {
	const char *patterns; /* .dockerignore text */
	const char *path;
	int want;
};

static struct stele_ignore *
parse_ok(const char *text)
{
	struct stele_ignore *ig = NULL;

	assert_ok(stele_ignore_parse(&ig, text, strlen(text), ".dockerignore"));
	assert_non_null(ig);
	return ig;
}

static void
run_ignore_cases(const struct ignore_case *cases, size_t n)
{
	struct stele_ignore *ig;
	size_t i;
	int got;

	for (i = 0; i < n; i++) {
		ig = parse_ok(cases[i].patterns);
		got = stele_ignore_match(ig, cases[i].path);
		stele_ignore_free(ig);
		if (got != cases[i].want)
			fail_msg("patterns \"%s\", path \"%s\": got %d, want %d",
				 cases[i].patterns, cases[i].path, got,
				 cases[i].want);
	}
}

static void
expect_invalid(const char *text, const char *needle)
{
	struct stele_ignore *ig = (struct stele_ignore *)&ig;
	int error;

	error = stele_ignore_parse(&ig, text, strlen(text), ".dockerignore");
	if (error != STELE_EINVALID)
		fail_msg("\"%s\": got %d, want STELE_EINVALID", text, error);
	assert_null(ig);
	if (needle && !strstr(stele_error_last(), needle))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text,
			 stele_error_last(), needle);
}

/* ---- stele_glob_match: Go's filepath.Match ---- */

/* Go's own match_test.go table, plus cases for its odd corners. */
static const struct glob_case go_cases[] = {
	{ "abc", "abc", 1 },
	{ "*", "abc", 1 },
	{ "*c", "abc", 1 },
	{ "a*", "a", 1 },
	{ "a*", "abc", 1 },
	{ "a*", "ab/c", 0 },
	{ "a*/b", "abc/b", 1 },
	{ "a*/b", "a/c/b", 0 },
	{ "a*b*c*d*e*/f", "axbxcxdxe/f", 1 },
	{ "a*b*c*d*e*/f", "axbxcxdxexxx/f", 1 },
	{ "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0 },
	{ "a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0 },
	{ "a*b?c*x", "abxbbxdbxebxczzx", 1 },
	{ "a*b?c*x", "abxbbxdbxebxczzy", 0 },
	{ "ab[c]", "abc", 1 },
	{ "ab[b-d]", "abc", 1 },
	{ "ab[e-g]", "abc", 0 },
	{ "ab[^c]", "abc", 0 },
	{ "ab[^b-d]", "abc", 0 },
	{ "ab[^e-g]", "abc", 1 },
	{ "a\\*b", "a*b", 1 },
	{ "a\\*b", "ab", 0 },
	{ "a?b", "a\xe2\x98\xba" "b", 1 },
	{ "a[^a]b", "a\xe2\x98\xba" "b", 1 },
	{ "a???b", "a\xe2\x98\xba" "b", 0 },
	{ "a[^a][^a][^a]b", "a\xe2\x98\xba" "b", 0 },
	{ "[a-\xce\xb6]*", "\xce\xb1", 1 },
	{ "*[a-\xce\xb6]", "A", 0 },
	{ "a?b", "a/b", 0 },
	{ "a*b", "a/b", 0 },
	{ "[\\]a]", "]", 1 },
	{ "[\\-]", "-", 1 },
	{ "[x\\-]", "x", 1 },
	{ "[x\\-]", "-", 1 },
	{ "[x\\-]", "z", 0 },
	{ "[\\-x]", "x", 1 },
	{ "[\\-x]", "-", 1 },
	{ "[\\-x]", "a", 0 },
	{ "[]a]", "]", -1 },
	{ "[-]", "-", -1 },
	{ "[x-]", "x", -1 },
	{ "[x-]", "-", -1 },
	{ "[x-]", "z", -1 },
	{ "[-x]", "x", -1 },
	{ "[-x]", "-", -1 },
	{ "[-x]", "a", -1 },
	{ "\\", "a", -1 },
	{ "[a-b-c]", "a", -1 },
	{ "[", "a", -1 },
	{ "[^", "a", -1 },
	{ "[^bc", "a", -1 },
	{ "a[", "a", -1 },
	{ "a[", "ab", -1 },
	{ "a[", "x", -1 },
	{ "a/b[", "x", -1 },
	{ "*x", "xxx", 1 },
	/* the rest of the pattern is checked even after a mismatch */
	{ "x*[", "abc", -1 },
	{ "a*\\", "b", -1 },
	{ "b*[]", "abc", -1 },
	/* a trailing '*' stops at '/' */
	{ "a/*", "a/b", 1 },
	{ "a/*", "a/b/c", 0 },
	{ "*", "", 1 },
	{ "", "", 1 },
	{ "", "a", 0 },
	{ "?", "", 0 },
	/* '?' and classes take one UTF-8 character, literals one byte */
	{ "?", "\xc3\xa9", 1 },
	{ "??", "\xc3\xa9", 0 },
	{ "[\xc3\xa9]", "\xc3\xa9", 1 },
	{ "?", "\xff", 1 },
	/* classes match '/' */
	{ "a[/]b", "a/b", 1 },
	{ "a[^x]b", "a/b", 1 },
	/* an invalid UTF-8 class member is malformed */
	{ "[\xff]", "a", -1 },
	/* ranges may be reversed: they just match nothing */
	{ "[z-a]", "m", 0 },
	/* '*' inside brackets does not end a chunk */
	{ "[*]", "*", 1 },
	{ "a[*]b", "a*b", 1 },
	{ "[?]", "x", 0 },
	/* escapes inside a class */
	{ "[\\^]", "^", 1 },
	{ "[\\\\]", "\\", 1 },
	{ "\\[a]", "[a]", 1 },
	{ "a\\", "a", -1 },
	/* no brace expansion, no "**" */
	{ "{a,b}", "a", 0 },
	{ "{a,b}", "{a,b}", 1 },
	{ "**", "a/b", 0 },
	{ "**", "ab", 1 },
	{ "a/**/b", "a/b", 0 },
	{ "a/**/b", "a/x/b", 1 },
};

static void
test_ignore_glob_go_cases(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < NELEM(go_cases); i++) {
		got = stele_glob_match(go_cases[i].pattern, go_cases[i].name);
		if (got != go_cases[i].want)
			fail_msg("glob(\"%s\", \"%s\") = %d, want %d",
				 go_cases[i].pattern, go_cases[i].name, got,
				 go_cases[i].want);
	}
}

/* The header promises '!' as well as '^' for negated classes. */
static void
test_ignore_glob_bang_negation(void **state)
{
	(void)state;
	assert_int_equal(stele_glob_match("[!a]", "b"), 1);
	assert_int_equal(stele_glob_match("[!a]", "a"), 0);
	assert_int_equal(stele_glob_match("[!a-c]x", "dx"), 1);
	assert_int_equal(stele_glob_match("[!a-c]x", "bx"), 0);
	assert_int_equal(stele_glob_match("[^a]", "a"), 0);
	assert_int_equal(stele_glob_match("[a!]", "!"), 1);
	assert_int_equal(stele_glob_match("[\\!]", "!"), 1);
	assert_int_equal(stele_glob_match("[!]", "!"), -1);
	assert_int_equal(stele_glob_match("[!", "a"), -1);
}

static void
test_ignore_glob_has_meta(void **state)
{
	(void)state;
	assert_int_equal(stele_glob_has_meta("a*"), 1);
	assert_int_equal(stele_glob_has_meta("a?b"), 1);
	assert_int_equal(stele_glob_has_meta("x[ab]"), 1);
	assert_int_equal(stele_glob_has_meta("plain/path.txt"), 0);
	assert_int_equal(stele_glob_has_meta(""), 0);
	assert_int_equal(stele_glob_has_meta("a]b{c}"), 0);
}

/* Go's matcher never backtracks over earlier stars: no blow-up. */
static void
test_ignore_glob_many_stars(void **state)
{
	char pat[256], name[4096];
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		pat[2 * i] = 'a';
		pat[2 * i + 1] = '*';
	}
	pat[200] = 'b';
	pat[201] = '\0';
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(stele_glob_match(pat, name), 0);
	name[sizeof(name) - 2] = 'b';
	assert_int_equal(stele_glob_match(pat, name), 1);
}

/* ---- .dockerignore ---- */

/*
 * moby/patternmatcher's TestMatches table (one pattern each, through
 * MatchesOrParentMatches); trailing-slash paths left out as the header
 * rules them out.
 */
static const struct ignore_case moby_cases[] = {
	{ "**", "file", 1 },
	{ "**/", "file", 1 },
	{ "**", "dir/file", 1 },
	{ "**/", "dir/file", 1 },
	{ "**/**", "dir/file", 1 },
	{ "dir/**", "dir/file", 1 },
	{ "dir/**", "dir/dir2/file", 1 },
	{ "**/dir", "dir", 1 },
	{ "**/dir", "dir/file", 1 },
	{ "**/dir2/*", "dir/dir2/file", 1 },
	{ "**/dir2/**", "dir/dir2/dir3/file", 1 },
	{ "**file", "file", 1 },
	{ "**file", "dir/file", 1 },
	{ "**/file", "dir/file", 1 },
	{ "**file", "dir/dir/file", 1 },
	{ "**/file", "dir/dir/file", 1 },
	{ "**/file*", "dir/dir/file", 1 },
	{ "**/file*", "dir/dir/file.txt", 1 },
	{ "**/file*txt", "dir/dir/file.txt", 1 },
	{ "**/file*.txt", "dir/dir/file.txt", 1 },
	{ "**/file*.txt*", "dir/dir/file.txt", 1 },
	{ "**/**/*.txt", "dir/dir/file.txt", 1 },
	{ "**/**/*.txt2", "dir/dir/file.txt", 0 },
	{ "**/*.txt", "file.txt", 1 },
	{ "**/**/*.txt", "file.txt", 1 },
	{ "a**/*.txt", "a/file.txt", 1 },
	{ "a**/*.txt", "a/dir/file.txt", 1 },
	{ "a**/*.txt", "a/dir/dir/file.txt", 1 },
	{ "a/*.txt", "a/dir/file.txt", 0 },
	{ "a/*.txt", "a/file.txt", 1 },
	{ "a/*.txt**", "a/file.txt", 1 },
	{ "a[b-d]e", "ae", 0 },
	{ "a[b-d]e", "ace", 1 },
	{ "a[b-d]e", "aae", 0 },
	{ "a[^b-d]e", "aze", 1 },
	{ ".*", ".foo", 1 },
	{ ".*", "foo", 0 },
	{ "abc.def", "abcdef", 0 },
	{ "abc.def", "abc.def", 1 },
	{ "abc.def", "abcZdef", 0 },
	{ "abc?def", "abcZdef", 1 },
	{ "abc?def", "abcdef", 0 },
	{ "a\\\\", "a\\", 1 },
	{ "**/foo/bar", "foo/bar", 1 },
	{ "**/foo/bar", "dir/foo/bar", 1 },
	{ "**/foo/bar", "dir/dir2/foo/bar", 1 },
	{ "abc/**", "abc", 0 },
	{ "abc/**", "abc/def", 1 },
	{ "abc/**", "abc/def/ghi", 1 },
	{ "**/.foo", ".foo", 1 },
	{ "**/.foo", "bar.foo", 0 },
	{ "a(b)c/def", "a(b)c/def", 1 },
	{ "a(b)c/def", "a(b)c/xyz", 0 },
	{ "a.|)$(}+{bc", "a.|)$(}+{bc", 1 },
	{ "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
	  "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1 },
	{ "dist/*.whl",
	  "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1 },
	{ "a\\*b", "a*b", 1 },
	/* the multi-pattern table */
	{ "**\n!util/docker/web", "util/docker/web/foo", 0 },
	{ "**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo",
	  1 },
	{ "**\n!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
	  "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 0 },
	{ "**\n!dist/*.whl",
	  "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 0 },
	/* moby's copy of the filepath tests, now with parent matching */
	{ "*", "fileutils.go", 1 },
	{ "*.go", "fileutils.go", 1 },
	{ "!fileutils.go\n*.go", "fileutils.go", 1 },
	{ "docs\n!docs/README.md", "docs/README.md", 0 },
	{ "docs/\n!docs/README.md", "docs/README.md", 0 },
	{ "docs/*\n!docs/README.md", "docs/README.md", 0 },
	{ "*.go\n!fileutils.go", "fileutils.go", 0 },
	{ "a*", "ab/c", 1 },
	{ "a*/b", "a/c/b", 0 },
	{ "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0 },
	{ "ab[^c]", "abc", 0 },
	{ "a?b", "a\xe2\x98\xba" "b", 1 },
	{ "a???b", "a\xe2\x98\xba" "b", 0 },
	{ "[a-\xce\xb6]*", "\xce\xb1", 1 },
	{ "[\\]a]", "]", 1 },
	{ "[x\\-]", "-", 1 },
	{ "*x", "xxx", 1 },
};

static void
test_ignore_moby_cases(void **state)
{
	(void)state;
	run_ignore_cases(moby_cases, NELEM(moby_cases));
}

/* What .dockerignore users rely on, as Docker's documentation shows it. */
static const struct ignore_case docker_cases[] = {
	/* "*.md" is anchored at the root of the context */
	{ "*.md", "README.md", 1 },
	{ "*.md", "docs/README.md", 0 },
	{ "*/*.md", "docs/README.md", 1 },
	{ "*/*.md", "docs/sub/README.md", 0 },
	{ "**/*.md", "README.md", 1 },
	{ "**/*.md", "docs/README.md", 1 },
	{ "**/*.md", "docs/a/b/c/README.md", 1 },
	{ "**/*.md", "docs/README.mdx", 0 },
	/* a directory pattern drops everything under it */
	{ "build", "build", 1 },
	{ "build", "build/out/app.o", 1 },
	{ "build", "src/build", 0 },
	{ "build", "buildx", 0 },
	{ "build/", "build/x", 1 },
	{ "/build", "build/x", 1 },
	{ "./build", "build/x", 1 },
	{ "//build//", "build/x", 1 },
	{ "src/../build", "build/x", 1 },
	{ "src/./gen", "src/gen/x.c", 1 },
	{ "temp?", "temp1/x", 1 },
	{ "*/temp*", "a/temporary/x", 1 },
	{ "*/temp*", "a/b/temp", 0 },
	/* exceptions, including under an excluded directory */
	{ "docs\n!docs/keep", "docs/keep", 0 },
	{ "docs\n!docs/keep", "docs/keep/deep/file", 0 },
	{ "docs\n!docs/keep", "docs/other", 1 },
	{ "docs\n!docs/keep", "docs", 1 },
	{ "*.md\n!README.md", "README.md", 0 },
	{ "*.md\n!README.md", "CHANGES.md", 1 },
	{ "*.md\n!README*.md\nREADME-secret.md", "README-secret.md", 1 },
	{ "*.md\n!README*.md\nREADME-secret.md", "README-public.md", 0 },
	{ "!README.md\n*.md", "README.md", 1 },
	{ "*\n!src", "src/main.c", 0 },
	{ "*\n!src", "Makefile", 1 },
	{ "*\n!src\nsrc/*.o", "src/main.o", 1 },
	{ "**\n!keep/**", "keep/a/b", 0 },
	{ "**\n!keep/**", "keep", 1 },
	{ "**\n!keep", "keep", 0 },
	{ "!/keep\n**\n!keep", "x/keep", 1 },
	/* an exception for a parent re-includes its children */
	{ "a/b\n!a", "a/b/c", 0 },
	/* exceptions with globs */
	{ "**/*.log\n!**/important.log", "x/y/important.log", 0 },
	{ "**/*.log\n!**/important.log", "x/y/other.log", 1 },
	/* comments, blank lines and whitespace */
	{ "# a comment\n\n   \n*.tmp", "a.tmp", 1 },
	{ "#*.tmp", "a.tmp", 0 },
	{ " #x", "#x", 1 },
	{ "\\#x", "#x", 1 },
	{ "  *.tmp  ", "a.tmp", 1 },
	{ "\t*.tmp\t", "a.tmp", 1 },
	{ "*.tmp\r\n*.bak\r\n", "a.bak", 1 },
	{ "*.tmp\r\n*.bak\r\n", "a.tmp", 1 },
	{ "!  build  ", "build", 0 },
	{ "build\n!  build  ", "build/x", 0 },
	{ "\xc2\xa0" "secret" "\xe2\x80\x83", "secret", 1 },
	{ "\xef\xbb\xbf" "secret", "secret", 1 },
	{ "x\n\xef\xbb\xbf" "secret", "secret", 0 },
	{ "x\n\xef\xbb\xbf" "secret", "\xef\xbb\xbf" "secret", 1 },
	{ "a b", "a b", 1 },
	{ "a b", "a", 0 },
	/* patterns that match nothing relative */
	{ "/", "a", 0 },
	{ "..", "a", 0 },
	{ "../a", "a", 0 },
	{ ".", "a", 0 },
	/* nothing at all */
	{ "", "a", 0 },
	{ "# only\n# comments\n", "a", 0 },
	/* case matters */
	{ "*.MD", "a.md", 0 },
	/* character classes */
	{ "[abc].txt", "b.txt", 1 },
	{ "[abc].txt", "d.txt", 0 },
	{ "[a-c]x/*", "bx/y", 1 },
	{ "[^a-c]x", "dx", 1 },
	{ "[^a-c]x", "ax", 0 },
	{ "[!a]x", "!x", 1 }, /* no '!' negation in Docker */
	{ "[!a]x", "bx", 0 },
	{ "[\\]a]x", "]x", 1 },
	{ "[a\\-c]x", "-x", 1 },
	{ "[a\\-c]x", "bx", 0 },
	{ "x[.]y", "x.y", 1 },
	{ "x[.]y", "xay", 0 },
	{ "x[$]y", "x$y", 1 },
	{ "x[|]y", "x|y", 1 },
	{ "x[/]y", "x/y", 1 },
	/* escapes */
	{ "\\*", "*", 1 },
	{ "\\*", "a", 0 },
	{ "a\\?b", "a?b", 1 },
	{ "a\\?b", "axb", 0 },
	{ "\\[x]", "[x]", 1 },
	{ "\\!x", "!x", 1 },
	{ "*\n!\\!x", "!x", 0 },
	{ "\\a*", "abc", 0 }, /* a regexp escape: \a is BEL */
	{ "a\\.b*", "a.bc", 1 },
	{ "a\\.b*", "axbc", 0 },
	/* exclusion needs an earlier match to undo */
	{ "!a", "a", 0 },
};

static void
test_ignore_docker_cases(void **state)
{
	(void)state;
	run_ignore_cases(docker_cases, NELEM(docker_cases));
}

/*
 * Docker picks one of four matchers per pattern; the plain prefix and
 * suffix ones are looser than the regexp would be.
 */
static const struct ignore_case matcher_cases[] = {
	/* exact: every byte literal, regexp characters included */
	{ "a+b(c)$", "a+b(c)$", 1 },
	{ "^a", "^a", 1 },
	{ "^a", "a", 0 },
	{ "a|b", "a|b", 1 },
	{ "a|b", "a", 0 },
	{ "a{2}", "a{2}", 1 },
	/* prefix "lit**": any path starting with lit */
	{ "foo**", "foo", 1 },
	{ "foo**", "foobar", 1 },
	{ "foo**", "foo/bar", 1 },
	{ "foo**", "fo", 0 },
	{ "foo/**", "foo", 0 },
	{ "foo/**", "foo/x", 1 },
	/* suffix "**lit": any path ending with lit */
	{ "**foo", "xfoo", 1 },
	{ "**foo", "a/xfoo", 1 },
	{ "**.md", "a/b.md", 1 },
	{ "**.md", "a/b.mdx", 0 },
	{ "**/foo", "xfoo", 0 },
	{ "**/foo", "x/foo", 1 },
	{ "**", "anything/at/all", 1 },
	/* regexp: "**" spans directories but, as '.', not a newline */
	{ "a/**/b", "a/b", 1 },
	{ "a/**/b", "a/x/y/b", 1 },
	{ "a/**/b", "a/x\ny/b", 0 },
	{ "a/**/b*", "a/x/y/bc", 1 },
	{ "a/**b", "a/x/b", 1 },
	{ "a/**b", "a/xb", 0 },
	{ "x*/**", "xa/b\nc", 0 },
	{ "x*/**", "xa/bc", 1 },
	{ "***", "a/b", 1 },
	{ "*", "a\nb", 1 },
	{ "a?b", "a\nb", 1 },
	/* regexp: '^' is an anchor, not a character */
	{ "^a*", "ab", 1 },
	{ "^a*", "^ab", 0 },
	{ "a^b*", "a^bc", 0 },
	{ "**/^a*", "ab", 1 },
	{ "**/^a*", "x/ab", 0 },
	{ "\\^a*", "^ab", 1 },
	/* regexp: '{' that is no repetition, and '}', are literal */
	{ "*{a}", "x{a}", 1 },
	{ "*{,2}", "x{,2}", 1 },
	{ "*{01}", "x{01}", 1 },
	{ "*}", "x}", 1 },
	{ "*\\{2}", "x{2}", 1 },
	{ "*\\|b", "a|b", 1 },
	/* regexp escapes and classes Docker's translation lets through */
	{ "\\d*", "7up", 1 },
	{ "\\d*", "up", 0 },
	{ "\\D*", "up", 1 },
	{ "x\\w", "x_", 1 },
	{ "x\\W", "x-", 1 },
	{ "x\\s*", "x y", 1 },
	{ "x\\S*", "x y", 0 },
	{ "[\\d]x*", "1x", 1 },
	{ "[\\d-z]x*", "-x", 1 },
	{ "[\\d-z]x*", "yx", 0 },
	{ "[[:digit:]]*", "5a", 1 },
	{ "[[:digit:]]*", "a5", 0 },
	{ "[[:^alpha:]]*", "5a", 1 },
	{ "[[:alpha:][:digit:]]?", "5a", 1 },
	{ "[[:punct:]]*", "-a", 1 },
	{ "[[:space:]]*", " a", 1 },
	{ "[[:upper:]]*", "Ab", 1 },
	{ "[[:upper:]]*", "ab", 0 },
	{ "[[:xdigit:]]?", "f0", 1 },
	{ "[[:x]x*", ":x", 1 },
	{ "x\\x41*", "xA", 1 },
	{ "x\\x{41}*", "xA", 1 },
	{ "x\\x{00e9}*", "x\xc3\xa9", 1 },
	{ "x\\101*", "xA", 1 },
	{ "x\\0*", "x", 0 },
	{ "x\\t*", "x\t", 1 },
	{ "x\\n*", "x\n", 1 },
	{ "\\Ax*", "xy", 1 },
	{ "x*\\z", "xy", 1 },
	{ "\\bx*", "xy", 1 },
	{ "a\\bx*", "axy", 0 },
	{ "a-\\bx*", "a-xy", 1 },
	{ "a\\Bx*", "axy", 1 },
	{ "-\\Bx*", "-x", 0 },
	{ "x*\\b", "x-", 0 },
	/* assertions at the end of a parent directory */
	{ "a\\z", "a/b", 1 },
	{ "a\\z", "ab/c", 0 },
	{ "x*\\z", "xa/b/c", 1 },
	{ "a\\b", "a/b", 1 },
	{ "a-\\b", "a-/b", 0 },
	{ "a-\\B", "a-/b", 1 },
	/* parents of a path that is not clean are cleaned first */
	{ "a*/b?", "a//bc/d", 1 },
	{ "a*/b?", "ax/./bc/d", 1 },
	{ "a*/b?", "ax/../bc/d", 0 },
	{ "[a-z]", "./q/x", 1 },
	/* a literal run that is absent rules a long pattern out early */
	{ "**/src/**/*.min.js", "web/src/lib/app.min.js", 1 },
	{ "**/src/**/*.min.js", "web/src/lib/app.js", 0 },
	{ "**/\xc3\xa9t\xc3\xa9/*", "a/\xc3\xa9t\xc3\xa9/b", 1 },
	{ "**/\xc3\xa9t\xc3\xa9/*", "a/\xc3\xa9t\xc3\xa8/b", 0 },
	/* UTF-8 */
	{ "?", "\xc3\xa9", 1 },
	{ "??", "\xc3\xa9", 0 },
	{ "[\xc3\xa0-\xc3\xbf]*", "\xc3\xa9t\xc3\xa9", 1 },
	{ "\xc3\xa9*", "\xc3\xa9t\xc3\xa9", 1 },
	/* an invalid byte in a regexp pattern is U+FFFD, which any invalid
	 * byte of the path matches */
	{ "a\xff*", "a\xfe", 1 },
	{ "a\xff*", "a\xef\xbf\xbd", 1 },
	{ "a\xff", "a\xfe", 0 },
};

static void
test_ignore_matcher_kinds(void **state)
{
	(void)state;
	run_ignore_cases(matcher_cases, NELEM(matcher_cases));
}

/* Last matching pattern wins, and parents count as matches. */
static void
test_ignore_order_and_parents(void **state)
{
	struct stele_ignore *ig;

	(void)state;
	ig = parse_ok("node_modules\n"
		      "!node_modules/keep\n"
		      "**/*.tmp\n"
		      "!**/important.tmp\n"
		      "/secret\n");
	assert_int_equal(stele_ignore_match(ig, "node_modules"), 1);
	assert_int_equal(stele_ignore_match(ig, "node_modules/x/y.js"), 1);
	assert_int_equal(stele_ignore_match(ig, "node_modules/keep"), 0);
	assert_int_equal(stele_ignore_match(ig, "node_modules/keep/a.js"), 0);
	assert_int_equal(stele_ignore_match(ig, "node_modules/keep/a.tmp"), 1);
	assert_int_equal(
		stele_ignore_match(ig, "node_modules/keep/important.tmp"), 0);
	assert_int_equal(stele_ignore_match(ig, "src/a.tmp"), 1);
	assert_int_equal(stele_ignore_match(ig, "a.tmp"), 1);
	assert_int_equal(stele_ignore_match(ig, "important.tmp"), 0);
	assert_int_equal(stele_ignore_match(ig, "secret"), 1);
	assert_int_equal(stele_ignore_match(ig, "secret/key"), 1);
	assert_int_equal(stele_ignore_match(ig, "src/secret"), 0);
	assert_int_equal(stele_ignore_match(ig, "src/main.c"), 0);
	stele_ignore_free(ig);

	/*
	 * MatchesOrParentMatches checks "!x" against the parents too, so
	 * x/y comes back in; BuildKit's walker caches parent results and
	 * would leave it out.
	 */
	ig = parse_ok("x/y\n!x\n");
	assert_int_equal(stele_ignore_match(ig, "x/y"), 0);
	assert_int_equal(stele_ignore_match(ig, "x/y/z"), 0);
	stele_ignore_free(ig);
}

static void
test_ignore_null_and_empty(void **state)
{
	struct stele_ignore *ig;

	(void)state;
	assert_int_equal(stele_ignore_match(NULL, "a"), 0);
	stele_ignore_free(NULL);

	ig = NULL;
	assert_ok(stele_ignore_parse(&ig, NULL, 0, NULL));
	assert_non_null(ig);
	assert_int_equal(stele_ignore_match(ig, "a"), 0);
	assert_int_equal(stele_ignore_match(ig, NULL), 0);
	stele_ignore_free(ig);

	ig = parse_ok("**");
	assert_int_equal(stele_ignore_match(ig, ""), 1);
	assert_int_equal(stele_ignore_match(ig, "a"), 1);
	stele_ignore_free(ig);
}

/* Lines are length-counted: a NUL is a character that no path has. */
static void
test_ignore_nul_in_data(void **state)
{
	static const char data[] = "a\0b\nc\n!a\0";
	struct stele_ignore *ig = NULL;

	(void)state;
	assert_ok(stele_ignore_parse(&ig, data, sizeof(data) - 1, "x"));
	assert_int_equal(stele_ignore_match(ig, "a"), 0);
	assert_int_equal(stele_ignore_match(ig, "ab"), 0);
	assert_int_equal(stele_ignore_match(ig, "c"), 1);
	assert_int_equal(stele_ignore_match(ig, "c/d"), 1);
	stele_ignore_free(ig);
}

static void
test_ignore_malformed(void **state)
{
	(void)state;
	/* filepath.Match's ErrBadPattern, which New() reports */
	expect_invalid("[", "syntax error");
	expect_invalid("a[", "syntax error");
	expect_invalid("[^", "syntax error");
	expect_invalid("[]a]", "syntax error");
	expect_invalid("[-]", "syntax error");
	expect_invalid("[x-]", "syntax error");
	expect_invalid("[-x]", "syntax error");
	expect_invalid("[a-b-c]", "syntax error");
	expect_invalid("a\\", "syntax error");
	expect_invalid("*\\", "syntax error");
	expect_invalid("x*[", "syntax error");
	expect_invalid("[\xff]", "syntax error");
	expect_invalid("!a[", "syntax error");
	/* the line number and file name are given */
	expect_invalid("ok\n# fine\n\nbad[\n", ".dockerignore:4:");
	expect_invalid("ok\n# fine\n\nbad[\n", "'bad['");
	/* a lone '!' */
	expect_invalid("!", "illegal exclusion pattern");
	expect_invalid("!   ", "illegal exclusion pattern");
	expect_invalid("!/", "illegal exclusion pattern");
	expect_invalid("a\n\t!\t\nb", ".dockerignore:2:");
	/* regexp compile errors: Docker fails when it first matches */
	expect_invalid("[z-a]", "character class range");
	expect_invalid("[Local-Only]/", "character class range");
	expect_invalid("[[:foo:]]", "character class");
	expect_invalid("\\y*", "escape");
	expect_invalid("\\1*", "backreference");
	expect_invalid("\\8*", "escape");
	expect_invalid("\\xZ1*", "escape");
	expect_invalid("\\x{}*", "escape");
	expect_invalid("\\x{41*", "escape");
	expect_invalid("\\x{110000}*", "escape");
	expect_invalid("\\x{4g}*", "escape");
	expect_invalid("\\Z*", "escape");
	expect_invalid("\\C*", "escape");
	expect_invalid("\\\xc3\xa9*", "escape");
	expect_invalid("[a-\\d]", "escape");
	/* regexp syntax the translation leaks and we do not implement */
	expect_invalid("a|b*", "alternation");
	expect_invalid("*.js|*.ts", "alternation");
	expect_invalid("a{2}*", "repetition");
	expect_invalid("*a{1,}", "repetition");
	expect_invalid("*a{1,3}", "repetition");
	expect_invalid("*a{0}", "repetition");
	expect_invalid("\\pL*", "unicode");
	expect_invalid("[\\pL]", "unicode");
	expect_invalid("\\Qa\\E*", "escape");
	expect_invalid("[*]", "mistranslated");
	expect_invalid("[a?]", "mistranslated");
	expect_invalid("[a-*]", "mistranslated");
}

/* Oddities of moby's cleaning that are accepted. */
static void
test_ignore_cleaning(void **state)
{
	struct stele_ignore *ig;

	(void)state;
	/* "!!a" excludes... the exception of a literal "!a" */
	ig = parse_ok("*\n!!a\n");
	assert_int_equal(stele_ignore_match(ig, "!a"), 0);
	assert_int_equal(stele_ignore_match(ig, "a"), 1);
	stele_ignore_free(ig);
	/* "!." and a cleaned-away pattern are harmless */
	ig = parse_ok("!.\na/..\n./ /\n");
	assert_int_equal(stele_ignore_match(ig, "a"), 0);
	assert_int_equal(stele_ignore_match(ig, " "), 0);
	stele_ignore_free(ig);
	/* cleaning happens before the '!' is looked at a second time */
	ig = parse_ok("*\n!/keep/\n");
	assert_int_equal(stele_ignore_match(ig, "keep/a"), 0);
	assert_int_equal(stele_ignore_match(ig, "other"), 1);
	stele_ignore_free(ig);
}

/* bufio.Scanner's 64 KiB limit is Docker's: one byte more fails. */
static void
test_ignore_line_limit(void **state)
{
	struct stele_ignore *ig;
	char *buf;
	size_t n = 65535;

	(void)state;
	buf = malloc(n + 3);
	assert_non_null(buf);
	memset(buf, 'a', n + 2);
	ig = NULL;
	assert_ok(stele_ignore_parse(&ig, buf, n, "x"));
	stele_ignore_free(ig);
	buf[n] = '\n';
	ig = NULL;
	assert_ok(stele_ignore_parse(&ig, buf, n + 1, "x"));
	stele_ignore_free(ig);
	buf[n] = 'a';
	ig = (struct stele_ignore *)&ig;
	assert_int_equal(stele_ignore_parse(&ig, buf, n + 1, "x"),
			 STELE_EINVALID);
	assert_null(ig);
	assert_non_null(strstr(stele_error_last(), "too long"));
	/* the CR of a CRLF counts */
	buf[n - 1] = '\r';
	buf[n] = '\n';
	ig = NULL;
	assert_ok(stele_ignore_parse(&ig, buf, n + 1, "x"));
	stele_ignore_free(ig);
	buf[n] = '\r';
	buf[n + 1] = '\n';
	assert_int_equal(stele_ignore_parse(&ig, buf, n + 2, "x"),
			 STELE_EINVALID);
	/* so does a comment */
	memset(buf, 'a', n + 2);
	buf[0] = '#';
	assert_int_equal(stele_ignore_parse(&ig, buf, n + 1, "x"),
			 STELE_EINVALID);
	free(buf);
}

/* A long regexp pattern takes its states from the heap. */
static void
test_ignore_long_pattern(void **state)
{
	struct stele_ignore *ig;
	char pat[1024], path[1024];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++) {
		pat[2 * i] = (char)('a' + i % 26);
		pat[2 * i + 1] = '?';
	}
	pat[600] = '*';
	pat[601] = '\0';
	for (i = 0; i < 300; i++) {
		path[2 * i] = (char)('a' + i % 26);
		path[2 * i + 1] = 'x';
	}
	memcpy(path + 600, "tail", 5);
	ig = parse_ok(pat);
	assert_int_equal(stele_ignore_match(ig, path), 1);
	path[10] = '/';
	assert_int_equal(stele_ignore_match(ig, path), 0);
	path[10] = 'f';
	path[11] = '/';
	/* "f/" fails the pattern, and so does the parent "...f" */
	assert_int_equal(stele_ignore_match(ig, path), 0);
	stele_ignore_free(ig);
}

/* Deep paths: each ancestor is tried, in linear time per pattern. */
static void
test_ignore_deep_path(void **state)
{
	struct stele_ignore *ig;
	char *path;
	size_t i, depth = 2000;

	(void)state;
	path = malloc(2 * depth + 8);
	assert_non_null(path);
	for (i = 0; i < depth; i++) {
		path[2 * i] = 'd';
		path[2 * i + 1] = '/';
	}
	memcpy(path + 2 * depth, "f.c", 4);
	ig = parse_ok("**/*.o\n*/x\n[a-c]*/**/q\nd/d/d/d/d/d/d/d/d/d/d/d\n");
	assert_int_equal(stele_ignore_match(ig, path), 1);
	stele_ignore_free(ig);
	ig = parse_ok("**/*.o\n*/x\n[a-c]*/**/q\n");
	assert_int_equal(stele_ignore_match(ig, path), 0);
	stele_ignore_free(ig);
	/* a path that is not clean is matched as given, its parent cleaned */
	ig = parse_ok("a/b\n");
	assert_int_equal(stele_ignore_match(ig, "a//b"), 0);
	assert_int_equal(stele_ignore_match(ig, "a//b/c"), 1);
	assert_int_equal(stele_ignore_match(ig, "a/./b/c"), 1);
	stele_ignore_free(ig);
	free(path);
}

/* The error slot and *out behave as the style guide says. */
static void
test_ignore_parse_contract(void **state)
{
	struct stele_ignore *ig = (struct stele_ignore *)&ig;
	const char *text;

	(void)state;
	assert_int_equal(stele_ignore_parse(&ig, "[", 1, NULL), STELE_EINVALID);
	assert_null(ig);
	assert_non_null(strstr(stele_error_last(), ".dockerignore:1:"));
	assert_int_equal(stele_ignore_parse(&ig, "a\n[", 3, "ctx/.dockerignore"),
			 STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "ctx/.dockerignore:2:"));
	/* a failure after good lines leaks nothing (ASan checks) */
	text = "a\nb*\n[ab]\n**/c\nx|y*";
	assert_int_equal(stele_ignore_parse(&ig, text, strlen(text), "f"),
			 STELE_EINVALID);
	assert_null(ig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ignore_glob_go_cases),
		cmocka_unit_test(test_ignore_glob_bang_negation),
		cmocka_unit_test(test_ignore_glob_has_meta),
		cmocka_unit_test(test_ignore_glob_many_stars),
		cmocka_unit_test(test_ignore_moby_cases),
		cmocka_unit_test(test_ignore_docker_cases),
		cmocka_unit_test(test_ignore_matcher_kinds),
		cmocka_unit_test(test_ignore_order_and_parents),
		cmocka_unit_test(test_ignore_null_and_empty),
		cmocka_unit_test(test_ignore_nul_in_data),
		cmocka_unit_test(test_ignore_malformed),
		cmocka_unit_test(test_ignore_cleaning),
		cmocka_unit_test(test_ignore_line_limit),
		cmocka_unit_test(test_ignore_long_pattern),
		cmocka_unit_test(test_ignore_deep_path),
		cmocka_unit_test(test_ignore_parse_contract),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
