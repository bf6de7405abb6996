#ifndef STELE_SIGNER_CHECK_H
#define STELE_SIGNER_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "keys/key.h"
#include "oci/layout.h"
#include "util/buf.h"

/*
 * Checking the signatures and attestations stored with an image (see
 * signer/attach.h for where they are) against a set of public keys.  This
 * is the library half of verification; policies (which keys, how many,
 * which identity) are the caller's.
 *
 * Each stored item is checked on its own, over the exact stored bytes:
 *  signature (.sig layer of type simple-signing):
 *   1. the payload blob is read capped and checked against its digest;
 *   2. the annotation holds canonical standard base64 of an Ed25519 (64
 *      bytes) or ECDSA P-256 (DER) signature (stele_sig_type);
 *   3. it verifies with one of the keys: an Ed25519 key in pure Ed25519
 *      (and Ed25519ph only when STELE_SIG_PREHASH is allowed: cosign >= 2.6
 *      signs that way), a P-256 key in ECDSA with SHA-256;
 *   4. the payload parses strictly (signer/payload.h);
 *   5. its docker-manifest-digest is the image's digest.
 *  attestation (.att layer of type DSSE envelope):
 *   1. as above; 2. the envelope parses strictly; payloadType must be
 *   application/vnd.in-toto+json; 3. a signature verifies over the PAE;
 *   4. the statement is strict JSON with a predicateType equal to the
 *   layer's annotation; 5. a subject's sha256 is the image's digest.
 * A layer of another media type is not counted.  An item that fails gets
 * `error` (STELE_EVERIFY for a signature or binding failure, STELE_EINVALID
 * for malformed data) and a `reason`; the call itself fails only when the
 * layout cannot be read.
 */
struct stele_check {
	char blob[STELE_DIGEST_STRLEN]; /* payload or envelope digest */
	int error; /* 0: verified and bound */
	int unknown_key; /* error because it verifies with
					     none of the keys given (another
					     signer's, or forged), or because
					     no key could have made it (a
					     malformed signature or envelope:
					     `malformed`); bad data under a
					     trusted key's signature and a
					     wrong binding are not this */
	int malformed; /* unknown_key: not a signature
					     or envelope any key makes;
					     `reason` says why */
	int other_kind; /* unknown_key, and no key is of the
					     signature's kind (ECDSA under
					     Ed25519 keys, or the reverse);
					     `reason` names both kinds */
	char *reason; /* why not (malloc'd), or NULL */
	const struct stele_pubkey *key; /* borrowed from the caller's keys */
	enum stele_sig_mode mode; /* how it verified */
	char *identity; /* signatures: docker-reference */
	json_t *optional; /* signatures: optional object */
	char *predicate_type; /* attestations */
	struct stele_buf body; /* payload or statement bytes */
};

struct stele_checks {
	size_t n;
	struct stele_check *v;
};

/* `modes`: STELE_SIG_PURE, optionally | STELE_SIG_PREHASH. */
int stele_signatures_check(struct stele_checks **out,
			   const struct stele_oci *oci, const char *digest,
			   const struct stele_pubkey *const *keys, size_t nkeys,
			   unsigned modes);
int stele_attestations_check(struct stele_checks **out,
			     const struct stele_oci *oci, const char *digest,
			     const struct stele_pubkey *const *keys,
			     size_t nkeys, unsigned modes);
void stele_checks_free(struct stele_checks *c);
/* How many items verified (error == 0). */
size_t stele_checks_ok(const struct stele_checks *c);

#endif
