#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "keys/key.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"

/* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused) pk } */
static const unsigned char spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05,
					       0x06, 0x03, 0x2b, 0x65,
					       0x70, 0x03, 0x21, 0x00 };
/*
 * SEQUENCE { SEQUENCE { OID 1.2.840.10045.2.1 (ecPublicKey),
 * OID 1.2.840.10045.3.1.7 (prime256v1) }, BIT STRING (0 unused) 04 X Y }
 */
static const unsigned char p256_spki_prefix[27] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
	0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
	0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04
};

int
stele_secret_new(struct stele_secret **out, size_t len)
{
	struct stele_secret *s;
	int error;

	*out = NULL;
	if ((error = stele_init()) < 0)
		return error;
	s = stele_xcalloc(1, sizeof(*s));
	/* sodium_malloc(0) is allowed but returns a distinct guarded page. */
	if (!(s->ptr = sodium_malloc(len ? len : 1))) {
		free(s);
		return stele_error_set("cannot allocate secure memory");
	}
	sodium_memzero(s->ptr, len ? len : 1);
	s->len = len;
	*out = s;
	return 0;
}

void
stele_secret_free(struct stele_secret *s)
{
	if (!s)
		return;
	sodium_free(s->ptr); /* wipes */
	free(s);
}

const char *
stele_key_type_name(enum stele_key_type type)
{
	return type == STELE_KEY_ECDSA_P256 ? "ECDSA P-256" : "Ed25519";
}

size_t
stele_pubkey_spki(unsigned char out[STELE_SPKI_MAX],
		  const struct stele_pubkey *k)
{
	if (k->type == STELE_KEY_ECDSA_P256) {
		/* The prefix ends with the point's 04, which pk starts with. */
		memcpy(out, p256_spki_prefix, sizeof(p256_spki_prefix) - 1);
		memcpy(out + sizeof(p256_spki_prefix) - 1, k->pk,
		       STELE_P256_PK_BYTES);
		return STELE_SPKI_MAX;
	}
	memcpy(out, spki_prefix, sizeof(spki_prefix));
	memcpy(out + sizeof(spki_prefix), k->pk, STELE_PK_BYTES);
	return STELE_SPKI_BYTES;
}

/* Fill out (type, pk and id) from a public key of `len` bytes. */
static void
pubkey_init(struct stele_pubkey *out, enum stele_key_type type,
	    const unsigned char *pk, size_t len)
{
	unsigned char spki[STELE_SPKI_MAX], h[32];
	size_t n;

	assert(len ==
	       (type == STELE_KEY_ECDSA_P256 ? STELE_P256_PK_BYTES
					     : STELE_PK_BYTES));
	memset(out, 0, sizeof(*out));
	out->type = type;
	out->pklen = len;
	memcpy(out->pk, pk, len);
	n = stele_pubkey_spki(spki, out);
	stele_sha256_raw(h, spki, n);
	stele_hex_encode(out->id, h, sizeof(h));
	out->id[STELE_KEYID_STRLEN - 1] = '\0';
}

void
stele_seckey_free(struct stele_seckey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears its copy of the scalar */
	stele_secret_free(k->sk);
	free(k);
}

/* An Ed25519 key from `seed`, or a random one when it is NULL. */
static int
ed25519_new(struct stele_seckey **out, const unsigned char *seed)
{
	struct stele_seckey *k = stele_xcalloc(1, sizeof(*k));
	unsigned char pk[STELE_PK_BYTES];
	int error;

	*out = NULL;
	if ((error = stele_secret_new(&k->sk, crypto_sign_SECRETKEYBYTES)) <
	    0) {
		free(k);
		return error;
	}
	k->type = STELE_KEY_ED25519;
	if (seed)
		crypto_sign_seed_keypair(pk, k->sk->ptr, seed);
	else
		crypto_sign_keypair(pk, k->sk->ptr);
	pubkey_init(&k->pub, STELE_KEY_ED25519, pk, sizeof(pk));
	*out = k;
	return 0;
}

int
stele_seckey_generate(struct stele_seckey **out)
{
	return ed25519_new(out, NULL);
}

/*
 * A new P-256 key: OpenSSL generates it, its PKCS#8 DER is written straight
 * into sodium memory and the key is then loaded from that DER, the same
 * path a key file takes.
 */
static int
p256_generate(struct stele_seckey **out)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	struct stele_secret *der = NULL;
	unsigned char *p;
	int n, error;

	if (!pkey || !(p8 = EVP_PKEY2PKCS8(pkey)) ||
	    (n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0) {
		error = stele_error_ssl("cannot generate an ECDSA P-256 key");
		goto out;
	}
	if ((error = stele_secret_new(&der, (size_t)n)) < 0)
		goto out;
	p = der->ptr;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n) {
		error = stele_error_ssl(
			"cannot encode the new ECDSA P-256 key");
		goto out;
	}
	error = stele_seckey_from_p256_pkcs8(out, der->ptr, der->len,
					     "the new key");
out:
	stele_secret_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses its copy */
	EVP_PKEY_free(pkey);
	return error;
}

int
stele_seckey_generate_type(struct stele_seckey **out, enum stele_key_type type)
{
	int error;

	*out = NULL;
	if ((error = stele_init()) < 0)
		return error;
	return type == STELE_KEY_ECDSA_P256 ? p256_generate(out)
					    : stele_seckey_generate(out);
}

int
stele_seckey_from_seed(struct stele_seckey **out, const unsigned char seed[32])
{
	return ed25519_new(out, seed);
}

/* The uncompressed point of an EC key OpenSSL holds. */
static int
p256_point(unsigned char out[STELE_P256_PK_BYTES], const EVP_PKEY *pkey)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
		EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ==
			1 &&
		BN_bn2binpad(x, out + 1, 32) == 32 &&
		BN_bn2binpad(y, out + 33, 32) == 32;
	out[0] = 0x04;
	BN_free(y);
	BN_free(x);
	return ok ? 0 : stele_error_ssl("cannot read the ECDSA public key");
}

int
stele_seckey_from_p256_pkcs8(struct stele_seckey **out,
			     const unsigned char *der, size_t len,
			     const char *what)
{
	struct stele_seckey *k = stele_xcalloc(1, sizeof(*k));
	unsigned char pt[STELE_P256_PK_BYTES];
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	const unsigned char *p;
	char group[64] = "";
	int error;

	*out = NULL;
	k->type = STELE_KEY_ECDSA_P256;
	if (len > STELE_KEYFILE_MAX) {
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' is too large for a private key",
					 what);
		goto out;
	}
	if ((error = stele_secret_new(&k->sk, len)) < 0)
		goto out;
	memcpy(k->sk->ptr, der, len);
	p = k->sk->ptr;
	if (!(p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) ||
	    p != k->sk->ptr + len || !(k->pkey = EVP_PKCS82PKEY(p8))) {
		ERR_clear_error();
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' does not hold one well-formed PKCS#8 EC private key",
			what);
		goto out;
	}
	if (!EVP_PKEY_is_a(k->pkey, "EC")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' is a PKCS#8 %s key, not an ECDSA one", what,
			EVP_PKEY_get0_type_name(k->pkey));
		goto out;
	}
	if (!EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL) ||
	    strcmp(group, "prime256v1")) {
		ERR_clear_error();
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' holds an ECDSA key on curve %s; stele uses ECDSA only "
			"on P-256 (prime256v1), as cosign does",
			what, *group ? group : "(unnamed)");
		goto out;
	}
	/* Public and private halves valid and matching (a pairwise check). */
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) ||
	    EVP_PKEY_check(ctx) != 1) {
		ERR_clear_error();
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' holds an inconsistent ECDSA P-256 key (its public key "
			"does not match its private key)",
			what);
		goto out;
	}
	if ((error = p256_point(pt, k->pkey)) < 0)
		goto out;
	pubkey_init(&k->pub, STELE_KEY_ECDSA_P256, pt, sizeof(pt));
	*out = k;
	k = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses its copy */
	stele_seckey_free(k);
	return error;
}

int
stele_pubkey_pem(struct stele_buf *out, const struct stele_pubkey *k)
{
	unsigned char spki[STELE_SPKI_MAX];
	size_t n = stele_pubkey_spki(spki, k);
	BIO *bio;
	char *data;
	long len;
	int error = 0;

	if (!(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio(bio, "PUBLIC KEY", "", spki, (long)n)) {
		error = stele_error_ssl("cannot encode the public key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	error = stele_buf_put(out, data, (size_t)len);
out:
	BIO_free(bio);
	return error;
}

int
stele_key__pem_rest_blank(BIO *bio)
{
	char c;

	while (BIO_read(bio, &c, 1) == 1)
		if (c != '\n' && c != '\r' && c != ' ' && c != '\t')
			return 0;
	return 1;
}

/* What an unusable public key is, for the error message. */
static void
pubkey_kind(char *buf, size_t size, const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, len);
	char group[64] = "";

	snprintf(buf, size, "an unrecognised public key");
	if (pkey) {
		switch (EVP_PKEY_get_base_id(pkey)) {
		case EVP_PKEY_EC:
			if (!EVP_PKEY_get_utf8_string_param(
				    pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
				    sizeof(group), NULL))
				snprintf(group, sizeof(group), "(unnamed)");
			if (!strcmp(group, "prime256v1"))
				snprintf(
					buf, size,
					"an ECDSA P-256 public key with a "
					"compressed point (cosign writes it uncompressed)");
			else
				snprintf(buf, size,
					 "an ECDSA public key on curve %s "
					 "(stele uses P-256)",
					 group);
			break;
		case EVP_PKEY_RSA:
			snprintf(buf, size, "an RSA public key");
			break;
		case EVP_PKEY_ED448:
			snprintf(buf, size, "an Ed448 public key");
			break;
		case EVP_PKEY_DSA:
			snprintf(buf, size, "a DSA public key");
			break;
		default:
			snprintf(buf, size,
				 "a public key of an unsupported type");
			break;
		}
		EVP_PKEY_free(pkey);
	}
	ERR_clear_error();
}

/* OpenSSL's EVP_PKEY of a public key (NULL with the error set). */
static EVP_PKEY *
pkey_of(const struct stele_pubkey *k)
{
	unsigned char spki[STELE_SPKI_MAX];
	const unsigned char *p = spki;
	size_t n = stele_pubkey_spki(spki, k);
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)n);

	if (!pkey)
		stele_error_ssl("cannot decode the public key");
	return pkey;
}

/* A P-256 SPKI's point is on the curve (OpenSSL's full public check). */
static int
p256_point_valid(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, len);
	EVP_PKEY_CTX *ctx = NULL;
	int ok;

	ok = pkey && p == der + len &&
		(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) &&
		EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ok;
}

int
stele_pubkey_parse(struct stele_pubkey **out, const void *pem, size_t len,
		   const char *what)
{
	char *name = NULL, *header = NULL, kind[160];
	unsigned char *der = NULL;
	long dlen = 0;
	BIO *bio;
	int error = 0;

	*out = NULL;
	if (len > STELE_KEYFILE_MAX)
		return stele_error_setc(STELE_EINVALID,
					"public key '%s' is too large", what);
	if (!(bio = BIO_new_mem_buf(len ? pem : "", (int)len)))
		return stele_error_ssl("cannot read the public key");
	if (!PEM_read_bio(bio, &name, &header, &der, &dlen)) {
		ERR_clear_error();
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' is not a PEM public key (no complete PEM block)",
			what);
		goto out;
	}
	if (strcmp(name, "PUBLIC KEY")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' holds a PEM '%s' block, not a 'PUBLIC KEY'", what,
			name);
		goto out;
	}
	if (*header) {
		error = stele_error_setc(
			STELE_EINVALID,
			"public key '%s' has unexpected PEM headers", what);
		goto out;
	}
	if (!stele_key__pem_rest_blank(bio)) {
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' has data after its public key",
					 what);
		goto out;
	}
	if (dlen == STELE_SPKI_BYTES &&
	    !memcmp(der, spki_prefix, sizeof(spki_prefix))) {
		*out = stele_xcalloc(1, sizeof(**out));
		pubkey_init(*out, STELE_KEY_ED25519, der + sizeof(spki_prefix),
			    STELE_PK_BYTES);
	} else if (dlen == STELE_SPKI_MAX &&
		   !memcmp(der, p256_spki_prefix, sizeof(p256_spki_prefix))) {
		if (!p256_point_valid(der, dlen)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s' is an ECDSA P-256 public key whose point is not "
				"on the curve",
				what);
			goto out;
		}
		*out = stele_xcalloc(1, sizeof(**out));
		pubkey_init(*out, STELE_KEY_ECDSA_P256,
			    der + sizeof(p256_spki_prefix) - 1,
			    STELE_P256_PK_BYTES);
	} else {
		pubkey_kind(kind, sizeof(kind), der, dlen);
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' is %s; stele uses Ed25519 and ECDSA P-256 keys",
			what, kind);
	}
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	return error;
}

int
stele_pubkey_load(struct stele_pubkey **out, const char *path)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, path)) == 0)
		error = stele_pubkey_parse(out, b.ptr, b.len, path);
	stele_buf_release(&b);
	return error;
}

int
stele_key_sign(unsigned char sig[STELE_SIG_MAX], size_t *siglen,
	       const struct stele_seckey *k, const void *msg, size_t len)
{
	EVP_MD_CTX *ctx;
	size_t n = STELE_SIG_MAX;
	int error = 0;

	*siglen = 0;
	if (k->type == STELE_KEY_ED25519) {
		crypto_sign_detached(sig, NULL, msg, len, k->sk->ptr);
		*siglen = STELE_SIG_BYTES;
		return 0;
	}
	assert(k->type == STELE_KEY_ECDSA_P256 && k->pkey);
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, len) != 1 || n > STELE_SIG_MAX)
		error = stele_error_ssl("cannot sign with the ECDSA P-256 key");
	else
		*siglen = n;
	EVP_MD_CTX_free(ctx);
	return error;
}

void
stele_key_sign_ph(unsigned char sig[STELE_SIG_BYTES],
		  const struct stele_seckey *k, const void *msg, size_t len)
{
	crypto_sign_state st;

	assert(k->type == STELE_KEY_ED25519);
	crypto_sign_init(&st);
	crypto_sign_update(&st, msg, len);
	crypto_sign_final_create(&st, sig, NULL, k->sk->ptr);
	sodium_memzero(&st, sizeof(st));
}

enum stele_key_type
stele_sig_type(const unsigned char *sig, size_t len)
{
	const unsigned char *p = sig;
	unsigned char *again = NULL;
	ECDSA_SIG *s = NULL;
	const BIGNUM *r, *sv;
	int der = 0;

	/* SEQUENCE { INTEGER r, INTEGER s }, short form, re-encodes the same. */
	if (len >= 8 && len <= STELE_SIG_MAX && sig[0] == 0x30 &&
	    sig[1] == len - 2 && (s = d2i_ECDSA_SIG(NULL, &p, (long)len)) &&
	    p == sig + len) {
		ECDSA_SIG_get0(s, &r, &sv);
		der = BN_num_bits(r) <= 256 && BN_num_bits(sv) <= 256 &&
			i2d_ECDSA_SIG(s, &again) == (int)len &&
			!memcmp(again, sig, len);
	}
	OPENSSL_free(again);
	ECDSA_SIG_free(s);
	ERR_clear_error();
	if (der)
		return STELE_KEY_ECDSA_P256;
	return len == STELE_SIG_BYTES ? STELE_KEY_ED25519 : 0;
}

/* Name a signature that is of the other kind than key k. */
static int
kind_mismatch(const struct stele_pubkey *k, const unsigned char *sig,
	      size_t siglen)
{
	enum stele_key_type t = stele_sig_type(sig, siglen);

	return stele_error_setc(
		STELE_EVERIFY,
		"%s signature (%zu bytes) cannot verify with key %.16s, an %s key",
		t == STELE_KEY_ECDSA_P256        ? "an ECDSA P-256"
			: t == STELE_KEY_ED25519 ? "an Ed25519"
						 : "a malformed",
		siglen, k->id, stele_key_type_name(k->type));
}

static int
ecdsa_verify(enum stele_sig_mode *mode, const struct stele_pubkey *k,
	     const unsigned char *sig, size_t siglen, const void *msg,
	     size_t len)
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx = NULL;
	int rc, error;

	if (stele_sig_type(sig, siglen) != STELE_KEY_ECDSA_P256)
		return kind_mismatch(k, sig, siglen);
	if (!(pkey = pkey_of(k)))
		return STELE_ERROR;
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1) {
		error = stele_error_ssl("cannot set up ECDSA verification");
		goto out;
	}
	/* 1: verified; 0: does not; < 0: malformed (also a no). */
	rc = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	ERR_clear_error();
	if (rc == 1) {
		if (mode)
			*mode = STELE_SIG_ECDSA;
		error = 0;
	} else {
		error = stele_error_setc(
			STELE_EVERIFY,
			"signature does not verify with key %.16s", k->id);
	}
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return error;
}

int
stele_key_verify(enum stele_sig_mode *mode, const struct stele_pubkey *k,
		 const unsigned char *sig, size_t siglen, const void *msg,
		 size_t len, unsigned allowed)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (k->type == STELE_KEY_ECDSA_P256)
		return ecdsa_verify(mode, k, sig, siglen, msg, len);
	if (siglen != STELE_SIG_BYTES)
		return kind_mismatch(k, sig, siglen);
	if ((allowed & STELE_SIG_PURE) &&
	    crypto_sign_verify_detached(sig, msg, len, k->pk) == 0) {
		if (mode)
			*mode = STELE_SIG_PURE;
		return 0;
	}
	if (allowed & STELE_SIG_PREHASH) {
		crypto_sign_state st;

		crypto_sign_init(&st);
		crypto_sign_update(&st, msg, len);
		if (crypto_sign_final_verify(&st, (unsigned char *)sig,
					     k->pk) == 0) {
			if (mode)
				*mode = STELE_SIG_PREHASH;
			return 0;
		}
	}
	return stele_error_setc(STELE_EVERIFY,
				"signature does not verify with key %.16s",
				k->id);
}
