#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "keys/key.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"

/* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused) pk } */
static const unsigned char spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

int
stele_keys_init(void)
{
	if (sodium_init() < 0)
		return stele_error_set("cannot initialise libsodium");
	return 0;
}

int
stele_secret_new(struct stele_secret **out, size_t len)
{
	struct stele_secret *s;
	int error;

	*out = NULL;
	if ((error = stele_keys_init()) < 0)
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

void
stele_pubkey_spki(unsigned char out[STELE_SPKI_BYTES],
		  const struct stele_pubkey *k)
{
	memcpy(out, spki_prefix, sizeof(spki_prefix));
	memcpy(out + sizeof(spki_prefix), k->pk, STELE_PK_BYTES);
}

void
stele_pubkey_init(struct stele_pubkey *out,
		  const unsigned char pk[STELE_PK_BYTES])
{
	unsigned char spki[STELE_SPKI_BYTES], h[32];

	memcpy(out->pk, pk, STELE_PK_BYTES);
	stele_pubkey_spki(spki, out);
	stele_sha256_raw(h, spki, sizeof(spki));
	stele_hex_encode(out->id, h, sizeof(h));
	out->id[STELE_KEYID_STRLEN - 1] = '\0';
}

void
stele_seckey_free(struct stele_seckey *k)
{
	if (!k)
		return;
	stele_secret_free(k->sk);
	free(k);
}

int
stele_seckey_generate(struct stele_seckey **out)
{
	struct stele_seckey *k = stele_xcalloc(1, sizeof(*k));
	unsigned char pk[STELE_PK_BYTES];
	int error;

	*out = NULL;
	if ((error = stele_secret_new(&k->sk, crypto_sign_SECRETKEYBYTES)) < 0) {
		free(k);
		return error;
	}
	crypto_sign_keypair(pk, k->sk->ptr);
	stele_pubkey_init(&k->pub, pk);
	*out = k;
	return 0;
}

int
stele_seckey_from_seed(struct stele_seckey **out, const unsigned char seed[32])
{
	struct stele_seckey *k = stele_xcalloc(1, sizeof(*k));
	unsigned char pk[STELE_PK_BYTES];
	int error;

	*out = NULL;
	if ((error = stele_secret_new(&k->sk, crypto_sign_SECRETKEYBYTES)) < 0) {
		free(k);
		return error;
	}
	crypto_sign_seed_keypair(pk, k->sk->ptr, seed);
	stele_pubkey_init(&k->pub, pk);
	*out = k;
	return 0;
}

int
stele_pubkey_pem(struct stele_buf *out, const struct stele_pubkey *k)
{
	EVP_PKEY *pkey;
	BIO *bio = NULL;
	char *data;
	long n;
	int error = 0;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pk,
					   STELE_PK_BYTES);
	if (!pkey || !(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_PUBKEY(bio, pkey)) {
		error = stele_error_ssl("cannot encode the public key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	error = stele_buf_put(out, data, (size_t)n);
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return error;
}

int
stele__pem_rest_blank(BIO *bio)
{
	char c;

	while (BIO_read(bio, &c, 1) == 1)
		if (c != '\n' && c != '\r' && c != ' ' && c != '\t')
			return 0;
	return 1;
}

/* The kind of a non-Ed25519 public key, for the error message. */
static const char *
pubkey_kind(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, len);
	const char *kind = "an unrecognised public key";

	if (pkey) {
		switch (EVP_PKEY_get_base_id(pkey)) {
		case EVP_PKEY_EC: kind = "an ECDSA public key"; break;
		case EVP_PKEY_RSA: kind = "an RSA public key"; break;
		case EVP_PKEY_ED448: kind = "an Ed448 public key"; break;
		case EVP_PKEY_DSA: kind = "a DSA public key"; break;
		default: kind = "a public key of an unsupported type"; break;
		}
		EVP_PKEY_free(pkey);
	}
	ERR_clear_error();
	return kind;
}

int
stele_pubkey_parse(struct stele_pubkey **out, const void *pem, size_t len,
		   const char *what)
{
	char *name = NULL, *header = NULL;
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
		error = stele_error_setc(STELE_EINVALID,
			"'%s' is not a PEM public key (no complete PEM block)", what);
		goto out;
	}
	if (strcmp(name, "PUBLIC KEY")) {
		error = stele_error_setc(STELE_EINVALID,
			"'%s' holds a PEM '%s' block, not a 'PUBLIC KEY'", what, name);
		goto out;
	}
	if (*header) {
		error = stele_error_setc(STELE_EINVALID,
			"public key '%s' has unexpected PEM headers", what);
		goto out;
	}
	if (!stele__pem_rest_blank(bio)) {
		error = stele_error_setc(STELE_EINVALID,
			"'%s' has data after its public key", what);
		goto out;
	}
	if (dlen != STELE_SPKI_BYTES ||
	    memcmp(der, spki_prefix, sizeof(spki_prefix))) {
		error = stele_error_setc(STELE_EINVALID,
			"'%s' is %s; stele uses only Ed25519 keys", what,
			pubkey_kind(der, dlen));
		goto out;
	}
	*out = stele_xcalloc(1, sizeof(**out));
	stele_pubkey_init(*out, der + sizeof(spki_prefix));
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

void
stele_key_sign(unsigned char sig[STELE_SIG_BYTES], const struct stele_seckey *k,
	       const void *msg, size_t len)
{
	crypto_sign_detached(sig, NULL, msg, len, k->sk->ptr);
}

void
stele_key_sign_ph(unsigned char sig[STELE_SIG_BYTES],
		  const struct stele_seckey *k, const void *msg, size_t len)
{
	crypto_sign_state st;

	crypto_sign_init(&st);
	crypto_sign_update(&st, msg, len);
	crypto_sign_final_create(&st, sig, NULL, k->sk->ptr);
	sodium_memzero(&st, sizeof(st));
}

int
stele_key_verify(enum stele_sig_mode *mode, const struct stele_pubkey *k,
		 const unsigned char sig[STELE_SIG_BYTES], const void *msg,
		 size_t len, unsigned allowed)
{
	int error;

	if ((error = stele_keys_init()) < 0)
		return error;
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
		"signature does not verify with key %.16s", k->id);
}
