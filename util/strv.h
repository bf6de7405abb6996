#ifndef STELE_UTIL_STRV_H
#define STELE_UTIL_STRV_H

#include <stddef.h>

/*
 * String vectors as the library hands them over: `char **v` with its count
 * `n` beside it (in a struct or as two output parameters), every string
 * malloc'd and owned by the vector.  Out of memory aborts (util/alloc.h).
 */

/* Appends s, which the vector takes over. */
void stele_strv_take(char ***v, size_t *n, char *s);
/* Appends a copy of s. */
void stele_strv_push(char ***v, size_t *n, const char *s);
/* Frees v[0..n) and v; NULL-safe. */
void stele_strv_free(char **v, size_t n);

#endif
