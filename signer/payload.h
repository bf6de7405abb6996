#ifndef STELE_SIGNER_PAYLOAD_H
#define STELE_SIGNER_PAYLOAD_H

#include <jansson.h>
#include <stddef.h>

#include "oci/digest.h"
#include "util/buf.h"

/*
 * cosign "simple signing" payloads (docs/keys.md, docs/interop.md):
 *
 *   {"critical":{"identity":{"docker-reference":"<ref>"},
 *    "image":{"docker-manifest-digest":"sha256:<hex>"},
 *    "type":"cosign container image signature"},"optional":null}
 *
 * compact, no trailing newline; `optional` is null or an object.  The
 * signature covers these exact bytes; they are never re-serialised.
 */
#define STELE_MT_SIMPLESIGNING \
	"application/vnd.dev.cosign.simplesigning.v1+json"
#define STELE_SIMPLESIGNING_TYPE "cosign container image signature"
#define STELE_ANN_COSIGN_SIG "dev.cosignproject.cosign/signature"
#define STELE_PAYLOAD_MAX (64u << 10)

/*
 * Append the payload for `identity` (a docker reference, e.g. repo:tag) and
 * `digest`.  `optional` (borrowed) is NULL for null, or an object of
 * strings (cosign's -a annotations).
 */
int stele_payload_build(struct stele_buf *out, const char *identity,
			const char *digest, const json_t *optional);

struct stele_payload {
	char *identity; /* docker-reference */
	char digest[STELE_DIGEST_STRLEN]; /* docker-manifest-digest */
	json_t *optional; /* NULL when null */
};

/*
 * Strict parse of untrusted payload bytes, as containers/image does it:
 * duplicate keys, unknown or missing fields, a wrong type string, a
 * malformed digest, a non-string creator or non-integer timestamp in
 * `optional` are STELE_EINVALID with the reason.  *out owned by caller.
 */
int stele_payload_parse(struct stele_payload **out, const void *data,
			size_t len);
void stele_payload_free(struct stele_payload *p);

#endif
