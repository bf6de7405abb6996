#ifndef STELE_BUILDER_REGEXP_H
#define STELE_BUILDER_REGEXP_H

#include <stddef.h>

/*
 * The regexp moby/patternmatcher builds from a .dockerignore pattern (Go's
 * regexp syntax after its translation: '*' is [^/]*, '?' is [^/], "**" any
 * directories, classes, \d \s \w \b \A \z, octal and hex escapes), compiled
 * to a token program and matched without backtracking or recursion, in time
 * linear in the path times the pattern.  Used by builder/ignore.c only.
 */
struct stele_regexp_tok;
struct stele_regexp_item;

struct stele_regexp {
	struct stele_regexp_tok *toks;
	size_t ntoks;
	struct stele_regexp_item *items; /* class members */
	size_t nitems;
	int has_eot; /* a \z token: a prefix ends differently from its path */
	char needle[16]; /* UTF-8 of literal tokens every match contains */
	size_t needle_len;
};

/*
 * Compiles pattern[0..len) (which may hold NULs; a leading BOM is the
 * caller's to skip) into *re, which the caller releases.  0, or -1 with
 * *why a static reason (a construct Docker would match differently:
 * alternation, repetition, \p classes, '*' or '?' inside brackets; or for
 * what Go rejects) and *re empty.
 */
int stele_regexp_compile(struct stele_regexp *re, const char *pattern,
			 size_t len, const char **why);
/*
 * 1 when the whole of s[0..n) matches (the program is anchored at both
 * ends), else 0.  With `prefixes`, also 1 when s[0..j) matches for a '/'
 * at j: the parent directories of a clean path, tried in the same pass.
 */
int stele_regexp_match(const struct stele_regexp *re, const char *s, size_t n,
		       int prefixes);
/* NULL-safe; leaves *re empty. */
void stele_regexp_release(struct stele_regexp *re);

#endif
