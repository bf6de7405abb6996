#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/heredoc.h"
#include "builder/recipe.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

/*
 * Parity with BuildKit's own parser tests (tests/data/buildkit-parser,
 * copied from moby/buildkit frontend/dockerfile/parser; README there).
 * One cmocka test per file, named after its directory:
 *
 * - testfiles/NAME/Dockerfile is parsed by stele_recipe_parse_syntax()
 *   (BuildKit's parser level), printed as BuildKit's Node.Dump() prints its
 *   AST, and compared byte for byte with testfiles/NAME/result.  Then
 *   stele_recipe_parse() (what `stele build` uses) must accept it with the
 *   same dump, or refuse it as listed in `refused` below, with the reason;
 *   a listed file that stele starts to accept fails too, so the list
 *   stays true.  A file listed in `differs` must be refused by both.
 * - testfiles-negative/NAME/Dockerfile must be refused by both.
 */

#define FILE_MAX ((size_t)1 << 20)

struct tcase {
	char *name;     /* directory name */
	char *dir;      /* its path */
	int negative;
};

static int matched, differ, strict_ok, strict_refused, rejected;

/*
 * Files whose syntax stele reads differently from BuildKit's parser, on
 * purpose: both of stele's parsers refuse them, with the message given.
 */
static const struct {
	const char *name, *error, *why;
} differs[] = {
	{ "json", "8: CMD: NUL character in JSON string",
	  "CMD [..., \"\\u0000\"]: stele's arguments are C strings and no "
	  "program can be given a NUL byte in its arguments (execve); "
	  "BuildKit records it, and the container fails when it starts" },
};

/*
 * Files BuildKit's parser accepts and stele_recipe_parse() refuses: checks
 * that BuildKit makes only in its instruction parser (instructions/parse.go,
 * when it builds), and stele when it reads the recipe.  BuildKit's build
 * refuses each of these files too, with the message in the reason.
 */
static const struct {
	const char *name, *error, *why;
} refused[] = {
	{ "flags", "COPY: unknown flag '--user'",
	  "--user and --doit are no flags of COPY or CMD: BuildKit's build "
	  "refuses them too (\"unknown flag: --user\")" },
	{ "health", "HEALTHCHECK: requires at least one argument",
	  "HEALTHCHECK alone, HEALTHCHECK CMD without a command and "
	  "HEALTHCHECK CONNECT: BuildKit's build refuses each (\"HEALTHCHECK "
	  "requires at least one argument\", \"Unknown type\")" },
	{ "jeztah-invalid-json-json-inside-string",
	  "CMD: only ARG may come before the first FROM",
	  "no FROM: BuildKit's build refuses it (\"no build stage in current "
	  "context\")" },
	{ "jeztah-invalid-json-json-inside-string-double",
	  "CMD: only ARG may come before the first FROM",
	  "no FROM, as above" },
	{ "jeztah-invalid-json-single-quotes",
	  "CMD: only ARG may come before the first FROM",
	  "no FROM, as above" },
	{ "jeztah-invalid-json-unterminated-bracket",
	  "CMD: only ARG may come before the first FROM",
	  "no FROM, as above" },
	{ "jeztah-invalid-json-unterminated-string",
	  "CMD: only ARG may come before the first FROM",
	  "no FROM, as above" },
};

/* Go's strconv.Quote. */
static void
quote(struct stele_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	int len, i;

	assert_ok(stele_buf_putc(b, '"'));
	while (*p) {
		if (*p == '"' || *p == '\\') {
			assert_ok(stele_buf_printf(b, "\\%c", *p));
			p++;
			continue;
		}
		if (*p < 0x80) {
			const char *e = strchr("\a\b\f\n\r\t\v", *p);

			if (e && *p)
				assert_ok(stele_buf_printf(b, "\\%c",
							   "abfnrtv"[e - "\a\b\f\n\r\t\v"]));
			else if (*p < 0x20 || *p == 0x7f)
				assert_ok(stele_buf_printf(b, "\\x%02x", *p));
			else
				assert_ok(stele_buf_putc(b, (char)*p));
			p++;
			continue;
		}
		/* UTF-8: a valid sequence is kept (C1 controls escaped as
		   Go does), any other byte is \xNN */
		len = *p >= 0xf0 && *p < 0xf5 ? 4 : *p >= 0xe0 ? 3 :
		      *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
		if (*p >= 0xf5)
			len = 0;
		cp = len == 2 ? *p & 0x1f : len == 3 ? *p & 0x0f : *p & 0x07;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)))
			len = 0;
		if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
			len = 0;
		if (!len) {
			assert_ok(stele_buf_printf(b, "\\x%02x", *p));
			p++;
		} else if (cp < 0xa0) {
			assert_ok(stele_buf_printf(b, "\\u%04x", cp));
			p += len;
		} else {
			assert_ok(stele_buf_put(b, (const char *)p, (size_t)len));
			p += len;
		}
	}
	assert_ok(stele_buf_putc(b, '"'));
}

/* BuildKit's Node.Dump() of one instruction, without the parentheses. */
static void
dump_instr(struct stele_buf *b, const struct stele_instr *in)
{
	const char *k;
	size_t i;

	for (k = in->keyword; *k; k++)
		assert_ok(stele_buf_putc(b, (char)(*k >= 'A' && *k <= 'Z' ?
						   *k - 'A' + 'a' : *k)));
	if (in->nflags) {
		/* Go's %q of a []string */
		assert_ok(stele_buf_puts(b, " ["));
		for (i = 0; i < in->nflags; i++) {
			if (i)
				assert_ok(stele_buf_putc(b, ' '));
			quote(b, in->flags[i].word);
		}
		assert_ok(stele_buf_putc(b, ']'));
	}
	if (in->kind == STELE_I_ONBUILD) {
		assert_ok(stele_buf_puts(b, " ("));
		dump_instr(b, in->sub);
		assert_ok(stele_buf_putc(b, ')'));
		return;
	}
	if (in->kind == STELE_I_ENV || in->kind == STELE_I_LABEL) {
		/* parseNameVal: key, value, then "=" or "" (the legacy form) */
		for (i = 0; i < in->npairs; i++) {
			assert_ok(stele_buf_putc(b, ' '));
			quote(b, in->pairs[i].key);
			assert_ok(stele_buf_putc(b, ' '));
			quote(b, in->pairs[i].value);
			assert_ok(stele_buf_puts(b, strchr(in->args[0], '=') ?
						 " \"=\"" : " \"\""));
		}
		return;
	}
	for (i = 0; i < in->nargs; i++) {
		assert_ok(stele_buf_putc(b, ' '));
		quote(b, in->args[i]);
	}
}

static void
dump(struct stele_buf *b, const struct stele_recipe *r)
{
	size_t i;

	for (i = 0; i < r->ninstrs; i++) {
		assert_ok(stele_buf_putc(b, '('));
		dump_instr(b, &r->instrs[i]);
		assert_ok(stele_buf_puts(b, ")\n"));
	}
}

/* The first line where `got` and `want` differ, printed for the reader. */
static void
show_diff(const char *name, const char *got, const char *want)
{
	size_t line = 1, n;

	while (*got && *got == *want) {
		line += *got == '\n';
		got++;
		want++;
	}
	while (line > 1 && got[-1] != '\n') {
		got--;
		want--;
	}
	n = strcspn(got, "\n");
	print_error("%s: result line %zu differs\n  got:  %.*s\n", name, line,
		    (int)n, got);
	n = strcspn(want, "\n");
	print_error("  want: %.*s\n", (int)n, want);
}

typedef int (*parse_fn)(struct stele_recipe **, const char *, const char *,
			size_t);

/* Parse with `fn`, then dump and compare with `want` (NULL: refused). */
static int
parse_dump(const struct tcase *c, parse_fn fn, const char *what,
	   const struct stele_buf *text, const char *want)
{
	struct stele_buf got = STELE_BUF_INIT(FILE_MAX);
	struct stele_recipe *r = NULL;
	char *path = stele_path_join(c->dir, "Dockerfile");
	int error;

	error = fn(&r, path, text->ptr ? text->ptr : "", text->len);
	free(path);
	if (!want) {
		if (error != STELE_EINVALID)
			print_error("%s: %s accepts it, BuildKit's parser "
				    "refuses it\n", c->name, what);
		assert_int_equal(error, STELE_EINVALID);
		return error;
	}
	if (error < 0)
		return error;
	dump(&got, r);
	if (strcmp(stele_buf_cstr(&got), want))
		show_diff(c->name, stele_buf_cstr(&got), want);
	assert_string_equal(stele_buf_cstr(&got), want);
	stele_recipe_free(r);
	stele_buf_release(&got);
	return 0;
}

static void
test_file(void **state)
{
	const struct tcase *c = *state;
	struct stele_buf text = STELE_BUF_INIT(FILE_MAX);
	struct stele_buf want = STELE_BUF_INIT(FILE_MAX);
	const char *listed = NULL, *why = NULL;
	char *path;
	size_t i;
	int error;

	path = stele_path_join(c->dir, "Dockerfile");
	assert_ok(stele_fs_read(&text, path));
	free(path);
	if (c->negative) {
		parse_dump(c, stele_recipe_parse_syntax, "the syntax parser",
			   &text, NULL);
		parse_dump(c, stele_recipe_parse, "stele", &text, NULL);
		rejected++;
		goto out;
	}
	for (i = 0; i < NELEM(differs); i++) {
		if (strcmp(differs[i].name, c->name))
			continue;
		assert_int_equal(parse_dump(c, stele_recipe_parse_syntax,
			"the syntax parser", &text, NULL), STELE_EINVALID);
		if (!strstr(stele_error_last(), differs[i].error))
			print_error("%s: %s\n", c->name, stele_error_last());
		assert_non_null(strstr(stele_error_last(), differs[i].error));
		assert_int_equal(parse_dump(c, stele_recipe_parse, "stele",
					    &text, NULL), STELE_EINVALID);
		printf("%s: differs from BuildKit on purpose: %s\n", c->name,
		       differs[i].why);
		differ++;
		goto out;
	}
	path = stele_path_join(c->dir, "result");
	assert_ok(stele_fs_read(&want, path));
	free(path);
	error = parse_dump(c, stele_recipe_parse_syntax, "the syntax parser",
			   &text, stele_buf_cstr(&want));
	if (error < 0)
		print_error("%s: %s\n", c->name, stele_error_last());
	assert_int_equal(error, 0);
	matched++;

	for (i = 0; i < NELEM(refused); i++)
		if (!strcmp(refused[i].name, c->name)) {
			listed = refused[i].error;
			why = refused[i].why;
		}
	error = parse_dump(c, stele_recipe_parse, "stele", &text,
			   stele_buf_cstr(&want));
	if (error < 0 && (!listed || !strstr(stele_error_last(), listed)))
		print_error("%s: stele refuses it: %s\n", c->name,
			    stele_error_last());
	if (error == 0 && listed)
		print_error("%s: stele accepts it: take it off the list\n",
			    c->name);
	assert_true(listed ? error == STELE_EINVALID &&
		    strstr(stele_error_last(), listed) : error == 0);
	if (listed) {
		printf("%s: refused by stele as by BuildKit's build: %s\n",
		       c->name, why);
		strict_refused++;
	} else {
		strict_ok++;
	}
out:
	stele_buf_release(&want);
	stele_buf_release(&text);
}

/* Every listed file exists. */
static void
test_listed(void **state)
{
	const struct tcase *cases = *state;
	size_t i, j;

	for (i = 0; i < NELEM(refused) + NELEM(differs); i++) {
		const char *name = i < NELEM(refused) ? refused[i].name :
				   differs[i - NELEM(refused)].name;

		for (j = 0; cases[j].name; j++)
			if (!cases[j].negative && !strcmp(cases[j].name, name))
				break;
		if (!cases[j].name)
			print_error("listed but not found: %s\n", name);
		assert_non_null(cases[j].name);
	}
}

/*
 * testfile-line/Dockerfile: each instruction starts where BuildKit's
 * TestParseIncludesLineNumbers says (BuildKit also records where it ends;
 * stele only the start).
 */
static void
test_lines(void **state)
{
	static const int want[] = { 5, 11, 17 };
	struct stele_buf text = STELE_BUF_INIT(FILE_MAX);
	struct stele_recipe *r = NULL;
	char *path = stele_path_join(*state, "testfile-line/Dockerfile");
	size_t i;

	assert_ok(stele_fs_read(&text, path));
	assert_ok(stele_recipe_parse(&r, path, text.ptr, text.len));
	assert_int_equal(r->ninstrs, NELEM(want));
	for (i = 0; i < NELEM(want); i++)
		assert_int_equal(r->instrs[i].line, want[i]);
	stele_recipe_free(r);
	stele_buf_release(&text);
	free(path);
}

/*
 * BuildKit's heredoc parser tests (parser_heredoc_test.go at the same
 * commit), as data: TestParseExtractsHeredoc's Dockerfile and the heredocs
 * it wants on each instruction.  Its `USER <<INVALID` / `INVALID` pair is
 * left out: INVALID is no instruction, which BuildKit's parser keeps (and
 * its build refuses) and stele refuses when it reads it.
 */
static const char heredoc_recipe[] =
	"\nFROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\n"
	"RUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\n"
	"RUN \"<<NOHEREDOC\"\n\n"
	"RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n"
	"RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\n"
	"RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n"
	"RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n"
	"RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n"
	"RUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n"
	"RUN <<COMMENT\n# internal comment\necho hello world\n"
	"echo foo bar # trailing comment\nCOMMENT\n\n"
	"RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n"
	"COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n"
	"COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\n"
	"COPY <<X <<Y /dest\nY\nX\nX\nY\n\n"
	"RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\n"
	"COPY <<file.txt /dest\nhello world\nfile.txt\n\n"
	"RUN <<eo'f'\necho foo\neof\n\n"
	"RUN <<eo\\'f\necho foo\neo'f\n\n"
	"RUN <<'e'o\\'f\necho foo\neo'f\n\n"
	"RUN <<'one two'\necho bar\none two\n\n"
	"RUN <<$EOF\n$EOF\n\n"
	"RUN <<  EOF\nEOF\n\n"
	"RUN <<  EOF  > foo\nEOF\n\t";

static const struct {
	size_t n;
	struct {
		const char *name, *content;
		int expand, chomp;
		unsigned fd;
	} h[2];
} heredoc_want[] = {
	{ 0, { { 0 } } }, /* ENV */
	{ 0, { { 0 } } }, /* RUN ls */
	{ 1, { { "EMPTY", "", 1, 0, 0 } } },
	{ 1, { { "EMPTY2", "", 1, 0, 3 } } },
	{ 0, { { 0 } } }, /* RUN "<<NOHEREDOC" */
	{ 1, { { "INDENT", "\tfoo\n\tbar\n", 1, 0, 0 } } },
	{ 1, { { "UNINDENT", "\tbaz\n\tquux\n", 1, 1, 0 } } },
	{ 1, { { "UNINDENT2", "\tbaz\n\tquux\n", 1, 1, 0 } } },
	{ 1, { { "EXPAND", "\texpand $NAME\n", 1, 1, 0 } } },
	{ 1, { { "NOEXPAND", "\tdon't expand $NAME\n", 0, 1, 0 } } },
	{ 1, { { "COPY", "echo hello world\necho foo bar\n", 1, 0, 0 } } },
	{ 1, { { "COMMENT", "# internal comment\necho hello world\n"
		 "echo foo bar # trailing comment\n", 1, 0, 0 } } },
	{ 1, { { "MOUNT", "echo hello\n", 1, 0, 0 } } },
	{ 2, { { "FILE1", "content 1\n", 1, 0, 0 },
	       { "FILE2", "content 2\n", 1, 0, 0 } } },
	{ 1, { { "EOF", "\"foo\"\n'bar'\n", 1, 0, 0 } } },
	{ 2, { { "X", "Y\n", 1, 0, 0 }, { "Y", "X\n", 1, 0, 0 } } },
	{ 1, { { "COMPLEX", "print('hello world')\n", 1, 0, 0 } } },
	{ 1, { { "file.txt", "hello world\n", 1, 0, 0 } } },
	{ 1, { { "eof", "echo foo\n", 0, 0, 0 } } },
	{ 1, { { "eo'f", "echo foo\n", 1, 0, 0 } } },
	{ 1, { { "eo'f", "echo foo\n", 0, 0, 0 } } },
	{ 1, { { "one two", "echo bar\n", 0, 0, 0 } } },
	{ 1, { { "$EOF", "", 1, 0, 0 } } },
	{ 1, { { "EOF", "", 1, 0, 0 } } },
	{ 1, { { "EOF", "", 1, 0, 0 } } },
};

static void
test_heredocs(void **state)
{
	static const char json_recipe[] =
		"FROM a\nRUN [\"<<EOF\"]\nRUN [\"<<'EOF'\"]\n";
	struct stele_recipe *r = NULL;
	const struct stele_heredoc *h;
	size_t i, j;

	(void)state;
	assert_ok(stele_recipe_parse(&r, "heredocs", heredoc_recipe,
				     strlen(heredoc_recipe)));
	assert_int_equal(r->ninstrs, NELEM(heredoc_want) + 1);
	for (i = 0; i < NELEM(heredoc_want); i++) {
		const struct stele_instr *in = &r->instrs[i + 1];

		if (in->nheredocs != heredoc_want[i].n)
			print_error("line %d: %zu heredocs\n", in->line,
				    in->nheredocs);
		assert_int_equal(in->nheredocs, heredoc_want[i].n);
		for (j = 0; j < in->nheredocs; j++) {
			h = &in->heredocs[j];
			assert_string_equal(h->name, heredoc_want[i].h[j].name);
			assert_string_equal(h->content,
					    heredoc_want[i].h[j].content);
			assert_int_equal(h->expand, heredoc_want[i].h[j].expand);
			assert_int_equal(h->chomp, heredoc_want[i].h[j].chomp);
			assert_int_equal(h->fd, heredoc_want[i].h[j].fd);
		}
	}
	stele_recipe_free(r);

	/* TestParseJSONHeredoc: the exec form has none */
	assert_ok(stele_recipe_parse(&r, "json", json_recipe,
				     strlen(json_recipe)));
	assert_int_equal(r->ninstrs, 3);
	assert_int_equal(r->instrs[1].nheredocs, 0);
	assert_int_equal(r->instrs[2].nheredocs, 0);
	stele_recipe_free(r);
}

/*
 * TestParseHeredocHelpers and TestHeredocsFromLine: single words, then
 * the heredocs of whole lines.  BuildKit's ParseHeredoc errors on the
 * unbalanced quotes (`<<'EOF`); such a line cannot be lexed, so it has no
 * heredoc in either parser, and stele_heredoc_word() says "not one".
 */
static void
test_heredoc_words(void **state)
{
	static const char *const valid[] = { "<<EOF", "<<'EOF'", "<<\"EOF\"",
		"<<-EOF", "<<-'EOF'", "<<-\"EOF\"", "<<EO\"F\"", "<< EOF",
		"<<- EOF" };
	static const char *const not[] = { "", "EOF", "<<", "<<-", "<EOF",
		"<<<EOF", "<<EOF sh", "<<'EOF", "<<\"EOF", "<<EOF'",
		"<<EOF\"" };
	static const struct {
		const char *line, *names;
	} lines[] = {
		{ "RUN <<EOF", "EOF" }, { "RUN <<-EOF", "EOF" },
		/* BuildKit's lexer glues `<<` to the spaces after it, not
		   `<<-`: "<<-" and "EOF" are two words and neither is a
		   heredoc (its test lists EOF, but checks only what it finds,
		   which is nothing) */
		{ "RUN <<- EOF", "" }, { "RUN << -EOF", "-EOF" },
		{ "RUN <<'EOF'", "EOF" }, { "RUN 4<<EOF", "EOF" },
		{ "RUN <<EOF <<EOF2", "EOF EOF2" }, { "RUN '<<EOF'", "" },
		{ "RUN \"<<EOF\"", "" },
	};
	struct stele_heredoc h, *hs;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < NELEM(valid); i++) {
		if (!stele_heredoc_word(&h, valid[i]))
			print_error("not a heredoc: %s\n", valid[i]);
		assert_string_equal(h.name, "EOF");
		stele_heredoc_release(&h);
	}
	for (i = 0; i < NELEM(not); i++) {
		if (stele_heredoc_word(&h, not[i])) {
			print_error("a heredoc: %s\n", not[i]);
			fail();
		}
	}
	for (i = 0; i < NELEM(lines); i++) {
		struct stele_buf names = STELE_BUF_INIT(1024);

		stele_heredoc_scan(&hs, &n, lines[i].line);
		for (j = 0; j < n; j++) {
			assert_ok(stele_buf_printf(&names, "%s%s", j ? " " : "",
						   hs[j].name));
			stele_heredoc_release(&hs[j]);
		}
		free(hs);
		if (strcmp(stele_buf_cstr(&names), lines[i].names))
			print_error("%s: <%s>\n", lines[i].line,
				    stele_buf_cstr(&names));
		assert_string_equal(stele_buf_cstr(&names), lines[i].names);
		stele_buf_release(&names);
	}
	/* TestHeredocChomp */
	{
		char *c = stele_heredoc_chomp("\thello\n\tworld\n");

		assert_string_equal(c, "hello\nworld\n");
		free(c);
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case directories of `sub`, sorted; appended to *cases. */
static size_t
add_cases(struct tcase **cases, size_t *n, const char *top, const char *sub,
	  int negative)
{
	char *dir = stele_path_join(top, sub), **names = NULL;
	struct dirent *e;
	size_t i, k = 0;
	DIR *d;

	if (!(d = opendir(dir))) {
		fprintf(stderr, "cannot open '%s'\n", dir);
		exit(1);
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			names = stele_xrealloc(names, (k + 1) * sizeof(*names));
			names[k++] = stele_xstrdup(e->d_name);
		}
	closedir(d);
	qsort(names, k, sizeof(*names), by_name);
	*cases = stele_xrealloc(*cases, (*n + k) * sizeof(**cases));
	for (i = 0; i < k; i++) {
		(*cases)[*n].name = names[i];
		(*cases)[*n].dir = stele_path_join(dir, names[i]);
		(*cases)[(*n)++].negative = negative;
	}
	free(names);
	free(dir);
	return k;
}

/*
 * The data is found beside the build directory (BUILD/tests/this →
 * tests/data/buildkit-parser), or as given in argv[1].
 */
static char *
data_dir(int argc, char **argv)
{
	struct stat st;
	char *top, *s;
	int up;

	if (argc > 1)
		return stele_xstrdup(argv[1]);
	top = stele_xstrdup(argv[0]);
	for (up = 0; up < 3; up++) {
		if (!(s = strrchr(top, '/'))) {
			free(top);
			top = stele_xstrdup(".");
			break;
		}
		*s = '\0';
	}
	s = stele_path_join(top, "tests/data/buildkit-parser");
	free(top);
	if (stat(s, &st) == 0)
		return s;
	free(s);
	return stele_xstrdup("tests/data/buildkit-parser");
}

int
main(int argc, char **argv)
{
	struct CMUnitTest *tests;
	struct tcase *cases = NULL;
	size_t n = 0, npos, nneg, i;
	char *top = data_dir(argc, argv);
	int failed;

	stele_init();
	npos = add_cases(&cases, &n, top, "testfiles", 0);
	nneg = add_cases(&cases, &n, top, "testfiles-negative", 1);
	cases = stele_xrealloc(cases, (n + 1) * sizeof(*cases));
	memset(&cases[n], 0, sizeof(*cases));
	tests = stele_xcalloc(n + 4, sizeof(*tests));
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_file;
		tests[i].initial_state = &cases[i];
	}
	tests[n].name = "test_buildkit_parser_listed";
	tests[n].test_func = test_listed;
	tests[n].initial_state = cases;
	tests[n + 1].name = "test_buildkit_parser_lines";
	tests[n + 1].test_func = test_lines;
	tests[n + 1].initial_state = top;
	tests[n + 2].name = "test_buildkit_parser_heredocs";
	tests[n + 2].test_func = test_heredocs;
	tests[n + 3].name = "test_buildkit_parser_heredoc_words";
	tests[n + 3].test_func = test_heredoc_words;
	failed = _cmocka_run_group_tests("buildkit_parser", tests, n + 4, NULL,
					 NULL);
	printf("buildkit parser test files: %d of %zu parse as BuildKit's "
	       "result says (%d also by stele build, %d refused by both "
	       "builds as listed), %d differ as listed; %d of %zu negative "
	       "refused\n", matched, npos, strict_ok, strict_refused, differ,
	       rejected, nneg);
	for (i = 0; i < n; i++) {
		free(cases[i].name);
		free(cases[i].dir);
	}
	free(cases);
	free(tests);
	free(top);
	return failed;
}
