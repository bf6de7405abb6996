#ifndef STELE_UTIL_LIMITS_H
#define STELE_UTIL_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bounds on what an untrusted archive or directory may expand to
 * (docs/limits.md).  They apply to each archive extracted (a base layer, a
 * layer of a COPY --from image, an ADD'ed tarball, an imported tarball), to
 * each directory imported and to each layer written.  A field left 0 (or a
 * NULL struct) means the default; callers fill them from their options, the
 * library never reads the environment.
 *
 *  max_size     bytes of file content: the sum of the sizes of the regular
 *               files (a hardlinked file counted once; a sparse file at its
 *               full size, holes included, since a layer stores it whole).
 *  max_entries  entries of any type (whiteouts and hardlinks included).
 *               Also bounds the memory spent on names: the entry names of
 *               one archive or directory may total STELE_NAME_BYTES_PER_ENTRY
 *               bytes per allowed entry.
 *
 * Fixed limits, the same as Linux's own: a path is at most STELE_PATH_MAX
 * bytes, a component at most 255 bytes, and a path at most
 * STELE_DEPTH_MAX components deep.
 */
struct stele_limits {
	uint64_t max_size;
	uint64_t max_entries;
};

#define STELE_LIMIT_SIZE_DEFAULT (64ull << 30)
#define STELE_LIMIT_ENTRIES_DEFAULT 1000000ull
#define STELE_NAME_BYTES_PER_ENTRY 256
#define STELE_PATH_MAX 4096
#define STELE_DEPTH_MAX 256

/* The limits in effect (defaults for 0 fields or a NULL struct). */
uint64_t stele_limits_size(const struct stele_limits *l);
uint64_t stele_limits_entries(const struct stele_limits *l);
uint64_t stele_limits_name_bytes(const struct stele_limits *l);

/*
 * A byte count for messages: "64 GiB" when exact in a binary unit, else
 * "1234 bytes".  Returns `buf`.
 */
const char *stele_limits_fmt(char buf[32], uint64_t bytes);

/*
 * Parse a size as written on a command line: a decimal number with an
 * optional binary suffix K, M, G or T (KiB, MiB, GiB, TiB; "k", "KiB" and
 * "KB" are the same).  STELE_EINVALID for anything else, 0 or an overflow.
 */
int stele_limits_parse_size(uint64_t *out, const char *s);

#endif
