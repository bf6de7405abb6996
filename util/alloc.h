#ifndef STELE_UTIL_ALLOC_H
#define STELE_UTIL_ALLOC_H

#include <stddef.h>

/*
 * One out-of-memory policy, as git's xmalloc: the library treats OOM as
 * fatal and aborts, so no caller checks an allocation and no error path
 * exists for it.  Every allocation goes through these (or through
 * struct stele_buf, whose growth aborts the same way; its only error is
 * its cap).  What is untrusted is capped before it is allocated
 * (docs/limits.md), so a hostile input meets a cap, never this abort.
 * A size of 0 allocates 1 byte, so a result is never NULL.
 */
void *stele_xmalloc(size_t n);
void *stele_xcalloc(size_t n, size_t size);
void *stele_xrealloc(void *p, size_t n);
char *stele_xstrdup(const char *s);
char *stele_xstrndup(const char *s, size_t n);
char *stele_xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
