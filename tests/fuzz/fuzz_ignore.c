/*
 * .dockerignore and globs.  The input is an ignore file, optionally
 * followed by a NUL byte and newline-separated paths (else a fixed set).
 * stele_ignore_parse() reads the file, stele_ignore_match() tries every
 * path, and every line of the file is also a stele_glob_match() pattern
 * for every path (COPY's source globs).  Three promises of builder/ignore.h
 * are checked: without exceptions ("!"), a path whose parent directory is
 * excluded is excluded; a malformed glob is malformed whatever the name;
 * a glob without metacharacters or escapes matches itself.
 */
#include <stdio.h>

#include "builder/glob.h"
#include "builder/ignore.h"
#include "tests/fuzz/fuzz.h"

#define MAX_PATHS 16
#define MAX_GLOBS 16

static const char *const default_paths[] = { "a", "a/b", "src/main.c",
	".git/config", "dir/sub/file.txt", "x/y/z/w/v", "Dockerfile",
	"node_modules/p/index.js", "weird name/\xc3\xa9[1]" };

/* Split s in place at '\n' into at most max strings. */
static size_t
split_lines(char **v, size_t max, char *s)
{
	size_t n = 0;

	while (s && n < max) {
		v[n++] = s;
		if ((s = strchr(s, '\n')))
			*s++ = '\0';
	}
	return n;
}

/* A clean relative path: no empty, "." or ".." component. */
static int
clean(const char *p)
{
	const char *c = p;

	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!c[n])
			return 1;
		c += n + 1;
	}
}

/* Excluded parent, excluded child (when no pattern is an exception). */
static void
check_parents(const struct stele_ignore *ig, const char *path)
{
	char *dir;
	size_t i;

	if (stele_ignore_match(ig, path) || stele_ignore_has_exceptions(ig) ||
	    !clean(path))
		return;
	for (i = 0; path[i]; i++) {
		if (path[i] != '/')
			continue;
		dir = stele_xstrndup(path, i);
		if (stele_ignore_match(ig, dir)) {
			fprintf(stderr, "'%s' is excluded but '%s' is not\n",
				dir, path);
			abort();
		}
		free(dir);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_ignore *ig = NULL;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	char *file = fuzz_cstr(data, flen), *rest = NULL;
	char *paths[MAX_PATHS], *globs[MAX_GLOBS];
	size_t npaths, nglobs, i, j;

	if (nul) {
		rest = fuzz_cstr(nul + 1, size - flen - 1);
		npaths = split_lines(paths, MAX_PATHS, rest);
	} else {
		npaths = sizeof(default_paths) / sizeof(*default_paths);
		for (i = 0; i < npaths; i++)
			paths[i] = (char *)default_paths[i];
	}
	if (stele_ignore_parse(&ig, file, flen, ".dockerignore") == 0) {
		(void)stele_ignore_has_exceptions(ig);
		for (i = 0; i < npaths; i++)
			check_parents(ig, paths[i]);
		stele_ignore_free(ig);
	}
	nglobs = split_lines(globs, MAX_GLOBS, file);
	for (i = 0; i < nglobs; i++) {
		/* Malformed is malformed whatever the name (ignore.h). */
		int bad = stele_glob_match(globs[i], "") < 0;

		for (j = 0; j < npaths; j++)
			if ((stele_glob_match(globs[i], paths[j]) < 0) != bad)
				abort();
		/* Without metacharacters or escapes a pattern is literal. */
		if (!stele_glob_has_meta(globs[i]) && !strchr(globs[i], '\\') &&
		    stele_glob_match(globs[i], globs[i]) != 1)
			abort();
	}
	free(rest);
	free(file);
	return 0;
}
