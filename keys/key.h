#ifndef STELE_KEYS_KEY_H
#define STELE_KEYS_KEY_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Ed25519 keys (docs/keys.md).  Public keys travel as PEM "PUBLIC KEY"
 * blocks holding a PKIX SubjectPublicKeyInfo; a key's id is the lowercase
 * hex SHA-256 of that 44-byte SPKI DER.  Secret material (seeds, expanded
 * secret keys, passphrases, derived keys) lives only in sodium_malloc'd
 * memory, which is wiped when freed; stack copies are wiped before return.
 */
#define STELE_PK_BYTES 32
#define STELE_SIG_BYTES 64
#define STELE_SPKI_BYTES 44
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

struct stele_pubkey {
	unsigned char pk[STELE_PK_BYTES];
	char id[STELE_KEYID_STRLEN];
};

struct stele_seckey {
	struct stele_secret *sk; /* libsodium's 64-byte seed || pk */
	struct stele_pubkey pub;
};

/* Set up libsodium once; every function here calls it. */
int stele_keys_init(void);

/* A new random key pair.  *out owned by the caller. */
int stele_seckey_generate(struct stele_seckey **out);
/* The key pair of a 32-byte seed (copied; the caller wipes its own). */
int stele_seckey_from_seed(struct stele_seckey **out,
			   const unsigned char seed[32]);
void stele_seckey_free(struct stele_seckey *k);

/* Fill id from pk. */
void stele_pubkey_init(struct stele_pubkey *out,
		       const unsigned char pk[STELE_PK_BYTES]);
void stele_pubkey_spki(unsigned char out[STELE_SPKI_BYTES],
		       const struct stele_pubkey *k);
/* Append the PEM "PUBLIC KEY" text (written by OpenSSL). */
int stele_pubkey_pem(struct stele_buf *out, const struct stele_pubkey *k);
/*
 * Parse a PEM public key (untrusted; `what` names it in errors).  Only an
 * Ed25519 SPKI in a "PUBLIC KEY" block is accepted; another key type,
 * another PEM type, trailing garbage or a non-canonical encoding is
 * STELE_EINVALID with the reason.  *out owned by the caller (free()).
 */
int stele_pubkey_parse(struct stele_pubkey **out, const void *pem, size_t len,
		       const char *what);
/* Read and parse a public key file (capped at STELE_KEYFILE_MAX). */
int stele_pubkey_load(struct stele_pubkey **out, const char *path);

/* Pure Ed25519 (RFC 8032 PureEdDSA) over the exact bytes. */
void stele_key_sign(unsigned char sig[STELE_SIG_BYTES],
		    const struct stele_seckey *k, const void *msg, size_t len);

enum stele_sig_mode {
	STELE_SIG_PURE = 1 << 0,     /* Ed25519 */
	STELE_SIG_PREHASH = 1 << 1   /* Ed25519ph, SHA-512, empty context */
};
/*
 * Verify `sig` over `msg` in the modes allowed (pure is tried first).
 * Sets *mode (may be NULL) to the mode that verified.  STELE_EVERIFY
 * when it verifies in none; the message says so, naming the key id.
 */
int stele_key_verify(enum stele_sig_mode *mode, const struct stele_pubkey *k,
		     const unsigned char sig[STELE_SIG_BYTES], const void *msg,
		     size_t len, unsigned allowed);
/* Ed25519ph signing, for tests that need cosign >= 2.6 signatures. */
void stele_key_sign_ph(unsigned char sig[STELE_SIG_BYTES],
		       const struct stele_seckey *k, const void *msg,
		       size_t len);

/* Internal: 1 when only whitespace is left in an OpenSSL BIO. */
struct bio_st;
int stele__pem_rest_blank(struct bio_st *bio);

#endif
