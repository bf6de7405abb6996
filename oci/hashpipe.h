#ifndef STELE_OCI_HASHPIPE_H
#define STELE_OCI_HASHPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"

/*
 * SHA-256 on a thread of its own: bytes written are copied into 1 MiB
 * chunks that the thread hashes in order, so hashing one stream runs
 * beside whatever the caller does next (compressing, decompressing,
 * hashing another stream).  At most a few chunks are in flight; write
 * blocks when they are.  The digest is the same as stele_sha256's.
 */
struct stele_hashpipe;

int stele_hashpipe_start(struct stele_hashpipe **out);
void stele_hashpipe_write(struct stele_hashpipe *p, const void *data,
			  size_t len);
/*
 * Hash `chunk` (malloc'd, `len` bytes) after what was written before,
 * without a copy: the pipe takes it and frees it.
 */
void stele_hashpipe_take(struct stele_hashpipe *p, void *chunk, size_t len);
/* Wait for the thread, write "sha256:<hex>", free.  *size may be NULL. */
void stele_hashpipe_finish(struct stele_hashpipe *p,
			   char out[STELE_DIGEST_STRLEN], uint64_t *size);
/* Stop and free without a result. NULL-safe. */
void stele_hashpipe_free(struct stele_hashpipe *p);

#endif
