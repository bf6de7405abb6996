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
/*
 * Once a chunk is hashed, the thread hands it to `then` (a file write,
 * say), in order, on the thread: it runs beside the writer too.  After
 * `then` returns nonzero it is not called again and finish returns that
 * value; the thread sets no error message (it would be the thread's).
 */
typedef int (*stele_hashpipe_then_fn)(void *payload, const void *chunk,
				      size_t len);
int stele_hashpipe_start_then(struct stele_hashpipe **out,
			      stele_hashpipe_then_fn then, void *payload);
void stele_hashpipe_write(struct stele_hashpipe *p, const void *data,
			  size_t len);
/*
 * Hash `chunk` (malloc'd, `len` bytes) after what was written before,
 * without a copy: the pipe takes it and frees it.
 */
void stele_hashpipe_take(struct stele_hashpipe *p, void *chunk, size_t len);
/*
 * Bytes [off, off + len) of the stream (counted from the first byte
 * written) are also hashed on their own, on the same thread: their
 * SHA-256 (the 32 bytes) is in `out` (owned by the caller, not read or
 * written by it until finish returns) once finish returns.  Parts are added in stream order,
 * do not overlap, have len > 0, and are added before their first byte is
 * written.  A part the stream does not reach by finish is left as it was.
 */
int stele_hashpipe_part(struct stele_hashpipe *p, uint64_t off, uint64_t len,
			unsigned char out[STELE_SHA256_LEN]);
/*
 * Wait for the thread, write "sha256:<hex>", free.  *size may be NULL.
 * Returns 0, or what `then` returned when it failed.
 */
int stele_hashpipe_finish(struct stele_hashpipe *p,
			  char out[STELE_DIGEST_STRLEN], uint64_t *size);
/* Stop and free without a result. NULL-safe. */
void stele_hashpipe_free(struct stele_hashpipe *p);

#endif
