#ifndef STELE_BUILDER_GLOB_H
#define STELE_BUILDER_GLOB_H

#include <stddef.h>

/*
 * Go filepath.Match semantics on slash paths: '*' any run of non-'/' bytes,
 * '?' one non-'/' byte, '[...]' classes with ranges and '^'/'!' negation,
 * '\\' escapes.  1 match, 0 no match, -1 malformed pattern.
 */
int stele_glob_match(const char *pattern, const char *name);
/* 1 when the string has glob metacharacters (* ? [). */
int stele_glob_has_meta(const char *s);
/*
 * 1 when pattern[0..len) (which may hold NULs) is well formed for Go's
 * filepath.Match itself, where only '^' negates a class: the check
 * moby/patternmatcher makes before it translates a .dockerignore pattern.
 */
int stele_glob_valid(const char *pattern, size_t len);

#endif
