#ifndef STELE_KEYS_KEY_H
#define STELE_KEYS_KEY_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Signing keys (docs/keys.md): Ed25519 (stele's default) and ECDSA P-256
 * (what `cosign generate-key-pair` makes).  Public keys travel as PEM
 * "PUBLIC KEY" blocks holding a PKIX SubjectPublicKeyInfo; a key's id is
 * the lowercase hex SHA-256 of that SPKI DER (44 bytes for Ed25519, 91 for
 * P-256).
 *
 * Secret material (seeds, expanded secret keys, PKCS#8 DER, passphrases,
 * derived keys) lives in sodium_malloc'd memory, which is wiped when freed;
 * stack copies are wiped before return.  One exception, as far as OpenSSL
 * allows no better: an ECDSA key is handed to OpenSSL (libcrypto) to sign,
 * and OpenSSL keeps its own copy of the private scalar in memory it
 * allocates (not locked, no guard pages).  stele holds that copy only in
 * struct stele_seckey's `pkey`, for the key's lifetime, and frees it with
 * EVP_PKEY_free, which clears it (BN_clear_free); the DER it was decoded
 * from stays in sodium memory.
 */
enum stele_key_type { STELE_KEY_ED25519 = 1, STELE_KEY_ECDSA_P256 = 2 };

#define STELE_PK_BYTES 32 /* Ed25519 public key */
#define STELE_P256_PK_BYTES 65 /* uncompressed point 04 || X || Y */
#define STELE_PK_MAX 65
#define STELE_SIG_BYTES 64 /* Ed25519 signature */
#define STELE_SIG_MAX 72 /* P-256 ECDSA, DER: at most 72 bytes */
#define STELE_SPKI_BYTES 44 /* Ed25519 SPKI DER */
#define STELE_SPKI_MAX 91 /* P-256 SPKI DER */
#define STELE_KEYID_STRLEN 65 /* 64 hex + NUL */
/* Caps on key files read from disk. */
#define STELE_KEYFILE_MAX (64u << 10)

/* Bytes in sodium_malloc memory (guarded, locked, wiped on free). */
struct stele_secret {
	unsigned char *ptr;
	size_t len;
};

/* A zeroed secret of `len` bytes (len may be 0).  Free with _free. */
int stele_secret_new(struct stele_secret **out, size_t len);
void stele_secret_free(struct stele_secret *s);

/* A plain struct: copy it, free a heap one with free(). */
struct stele_pubkey {
	enum stele_key_type type;
	size_t pklen; /* 32 (Ed25519) or 65 (P-256) */
	unsigned char pk[STELE_PK_MAX];
	char id[STELE_KEYID_STRLEN];
};

struct evp_pkey_st;
struct stele_seckey {
	enum stele_key_type type;
	/* Ed25519: libsodium's 64-byte seed || pk; P-256: its PKCS#8 DER. */
	struct stele_secret *sk;
	struct evp_pkey_st *pkey; /* P-256 only: OpenSSL's copy (above) */
	struct stele_pubkey pub;
};

/* A new random Ed25519 key pair.  *out owned by the caller. */
int stele_seckey_generate(struct stele_seckey **out);
/* A new random key pair of the given type.  *out owned by the caller. */
int stele_seckey_generate_type(struct stele_seckey **out,
			       enum stele_key_type type);
/* The Ed25519 key pair of a 32-byte seed (copied; the caller wipes its own). */
int stele_seckey_from_seed(struct stele_seckey **out,
			   const unsigned char seed[32]);
/*
 * The P-256 key pair in a PKCS#8 DER PrivateKeyInfo (untrusted; copied
 * into sodium memory; `what` names it in errors), as cosign's key files
 * hold it.  The DER must be exactly one PKCS#8 structure of an EC key on
 * the named curve P-256 whose public key, when present, matches the
 * private one; anything else is STELE_EINVALID with the reason.
 */
int stele_seckey_from_p256_pkcs8(struct stele_seckey **out,
				 const unsigned char *der, size_t len,
				 const char *what);
void stele_seckey_free(struct stele_seckey *k);

/* "Ed25519" or "ECDSA P-256". */
const char *stele_key_type_name(enum stele_key_type type);

/* The SPKI DER of k; returns its length (44 or 91). */
size_t stele_pubkey_spki(unsigned char out[STELE_SPKI_MAX],
			 const struct stele_pubkey *k);
/* Append the PEM "PUBLIC KEY" text (written by OpenSSL). */
int stele_pubkey_pem(struct stele_buf *out, const struct stele_pubkey *k);
/*
 * Parse a PEM public key (untrusted; `what` names it in errors).  An
 * Ed25519 SPKI, or a P-256 SPKI with an uncompressed point on the curve
 * (what cosign writes), in a "PUBLIC KEY" block is accepted; another key
 * type or curve, a compressed point, another PEM type, trailing garbage or
 * a non-canonical encoding is STELE_EINVALID with the reason.  *out owned
 * by the caller (free()).
 */
int stele_pubkey_parse(struct stele_pubkey **out, const void *pem, size_t len,
		       const char *what);
/* Read and parse a public key file (capped at STELE_KEYFILE_MAX). */
int stele_pubkey_load(struct stele_pubkey **out, const char *path);

/*
 * Sign the exact bytes: pure Ed25519 (RFC 8032 PureEdDSA), 64 bytes; or
 * ECDSA P-256 with SHA-256, an ASN.1 DER signature of at most
 * STELE_SIG_MAX bytes (randomised: two signatures of the same bytes
 * differ).  *siglen gets the length.  Fails only when OpenSSL does.
 */
int stele_key_sign(unsigned char sig[STELE_SIG_MAX], size_t *siglen,
		   const struct stele_seckey *k, const void *msg, size_t len);

enum stele_sig_mode {
	STELE_SIG_PURE = 1 << 0, /* Ed25519 */
	STELE_SIG_PREHASH = 1 << 1, /* Ed25519ph, SHA-512, empty context */
	STELE_SIG_ECDSA = 1 << 2 /* ECDSA P-256, SHA-256, DER */
};
/*
 * What a signature's bytes look like, to name it in messages: ECDSA P-256
 * for a canonical DER ECDSA-Sig-Value of at most STELE_SIG_MAX bytes,
 * else Ed25519 for 64 bytes, else 0 (neither).
 */
enum stele_key_type stele_sig_type(const unsigned char *sig, size_t len);
/*
 * Verify `sig` over `msg` with k.  An Ed25519 key verifies in the modes
 * allowed (pure is tried first); a P-256 key verifies ECDSA with SHA-256
 * over a DER signature (OpenSSL: strict DER), whatever `allowed` says of
 * Ed25519.  Sets *mode (may be NULL) to the mode that verified.
 * STELE_EVERIFY when it does not verify; the message says why, naming the
 * key id and, when the signature is of the other kind, both kinds.
 */
int stele_key_verify(enum stele_sig_mode *mode, const struct stele_pubkey *k,
		     const unsigned char *sig, size_t siglen, const void *msg,
		     size_t len, unsigned allowed);
/* Ed25519ph signing (Ed25519 keys only), for tests that need cosign >= 2.6
 * signatures. */
void stele_key_sign_ph(unsigned char sig[STELE_SIG_BYTES],
		       const struct stele_seckey *k, const void *msg,
		       size_t len);

/* Internal: 1 when only whitespace is left in an OpenSSL BIO. */
struct bio_st;
int stele_key__pem_rest_blank(struct bio_st *bio);

#endif
