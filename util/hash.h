#ifndef STELE_UTIL_HASH_H
#define STELE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * FNV-1a, for stele's in-memory hash tables of paths (oci/layer.c's plan,
 * sbom/tree.c's tree, builder/context.c's kept stats).  Never written
 * anywhere: a table's probing order is its only use.  (The offset basis
 * is the one those tables have always used, one digit short of FNV's.)
 */
static inline uint64_t
stele_hash_mem(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

/* stele_hash_mem over a NUL-terminated string. */
static inline uint64_t
stele_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

#endif
