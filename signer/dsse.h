#ifndef STELE_SIGNER_DSSE_H
#define STELE_SIGNER_DSSE_H

#include <stddef.h>

#include "keys/key.h"
#include "util/buf.h"

/*
 * DSSE envelopes (secure-systems-lab/dsse v1): the signature is over
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * with decimal lengths.  stele writes, compact with sorted keys,
 *   {"payload":"<b64>","payloadType":"<type>","signatures":[{"keyid":"","sig":"<b64>"}]}
 * (cosign v2 writes the same fields; keyid is empty as cosign leaves it).
 */
#define STELE_MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define STELE_PAYLOAD_INTOTO "application/vnd.in-toto+json"
#define STELE_DSSE_MAX (16u << 20)
#define STELE_DSSE_MAX_SIGS 64

int stele_dsse_pae(struct stele_buf *out, const char *type, const void *body,
		   size_t len);
/* Sign PAE(type, body) with `k` and append the envelope. */
int stele_dsse_sign(struct stele_buf *out, const struct stele_seckey *k,
		    const char *type, const void *body, size_t len);

struct stele_dsse_sig {
	unsigned char sig[STELE_SIG_MAX];
	size_t len;
	int usable; /* Ed25519 (64 bytes) or ECDSA (DER) could be this */
};

struct stele_dsse {
	char *type;
	struct stele_buf payload; /* decoded body, exact bytes */
	size_t nsigs;
	struct stele_dsse_sig *sigs;
};

/*
 * Strict parse of untrusted envelope bytes: exactly payload, payloadType
 * and signatures (each {sig, optional keyid}), duplicate keys refused,
 * canonical padded standard base64 only (the form cosign and
 * go-securesystemslib write).  At most STELE_DSSE_MAX_SIGS signatures; one
 * that is neither Ed25519 nor DER ECDSA (stele_sig_type) is kept unusable.
 */
int stele_dsse_parse(struct stele_dsse **out, const void *data, size_t len,
		     const char *what);
void stele_dsse_free(struct stele_dsse *e);
/*
 * 0 when one of the envelope's signatures verifies with `k` over the PAE
 * (in the modes allowed); *mode says which.  STELE_EVERIFY otherwise.
 */
int stele_dsse_verify(enum stele_sig_mode *mode, const struct stele_dsse *e,
		      const struct stele_pubkey *k, unsigned modes);

#endif
