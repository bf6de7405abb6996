#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "keys/keyfile.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/jstrict.h"
#include "util/json.h"

#define SALT_BYTES 32
#define SALT_MAX 64
#define KEY_BYTES crypto_secretbox_KEYBYTES
#define NONCE_BYTES crypto_secretbox_NONCEBYTES
#define MAC_BYTES crypto_secretbox_MACBYTES
#define PLAIN_MAX 8192

/* PKCS#8 v1 of an Ed25519 key: the 32-byte seed follows. */
static const unsigned char pkcs8_ed25519[16] = { 0x30, 0x2e, 0x02, 0x01,
						 0x00, 0x30, 0x05, 0x06,
						 0x03, 0x2b, 0x65, 0x70,
						 0x04, 0x22, 0x04, 0x20 };

static int
derive(struct stele_secret **key, const struct stele_secret *pass,
       const unsigned char *salt, size_t saltlen, unsigned long n)
{
	int error;

	if ((error = stele_secret_new(key, KEY_BYTES)) < 0)
		return error;
	if (crypto_pwhash_scryptsalsa208sha256_ll(
		    pass->ptr, pass->len, salt, saltlen, n, STELE_SCRYPT_R,
		    STELE_SCRYPT_P, (*key)->ptr, KEY_BYTES) != 0) {
		stele_secret_free(*key);
		*key = NULL;
		return stele_error_set("scrypt failed (out of memory?)");
	}
	return 0;
}

int
stele_keyfile_seal_json(struct stele_buf *out, const unsigned char *plain,
			size_t len, const struct stele_secret *pass,
			unsigned long n)
{
	unsigned char salt[SALT_BYTES], nonce[NONCE_BYTES], *ct = NULL;
	struct stele_buf s = STELE_BUF_INIT(256), no = STELE_BUF_INIT(256);
	struct stele_buf c = STELE_BUF_INIT(4 * PLAIN_MAX);
	struct stele_secret *key = NULL;
	int error;

	if (len > PLAIN_MAX)
		return stele_error_setc(STELE_EINVALID,
					"key too large to seal");
	if ((error = stele_init()) < 0)
		return error;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if ((error = derive(&key, pass, salt, sizeof(salt), n)) < 0)
		goto out;
	ct = stele_xmalloc(len + MAC_BYTES);
	crypto_secretbox_easy(ct, plain, len, nonce, key->ptr);
	if ((error = stele_base64_encode(&s, salt, sizeof(salt))) < 0 ||
	    (error = stele_base64_encode(&no, nonce, sizeof(nonce))) < 0 ||
	    (error = stele_base64_encode(&c, ct, len + MAC_BYTES)) < 0)
		goto out;
	/* Go's struct order, as cosign writes it; nothing here needs escaping. */
	error = stele_buf_printf(
		out,
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":%lu,\"r\":%d,\"p\":%d},"
		"\"salt\":\"%s\"},\"cipher\":{\"name\":\"nacl/secretbox\","
		"\"nonce\":\"%s\"},\"ciphertext\":\"%s\"}",
		n, STELE_SCRYPT_R, STELE_SCRYPT_P, s.ptr, no.ptr, c.ptr);
out:
	free(ct);
	stele_buf_release(&c);
	stele_buf_release(&no);
	stele_buf_release(&s);
	stele_secret_free(key);
	return error;
}

static int
b64_field(struct stele_buf *out, const json_t *obj, const char *key,
	  const char *what)
{
	const char *s = stele_json_str(obj, key);

	if (!s)
		return stele_error_setc(STELE_EINVALID,
					"key file '%s': '%s' is not a string",
					what, key);
	if (stele_base64_decode(out, s, strlen(s), key) < 0)
		return stele_error_prefix(STELE_EINVALID, "key file '%s'",
					  what);
	return 0;
}

static int
check_params(const json_t *params, unsigned long *n, const char *what)
{
	json_t *jn = json_object_get(params, "N"),
	       *jr = json_object_get(params, "r");
	json_t *jp = json_object_get(params, "p");
	json_int_t vn, vr, vp;

	if (!json_is_integer(jn) || !json_is_integer(jr) ||
	    !json_is_integer(jp))
		return stele_error_setc(
			STELE_EINVALID,
			"key file '%s': scrypt parameters must be integers",
			what);
	vn = json_integer_value(jn);
	vr = json_integer_value(jr);
	vp = json_integer_value(jp);
	if ((vn != 32768 && vn != 65536 && vn != 131072) || vr != 8 || vp != 1)
		return stele_error_setc(
			STELE_EINVALID,
			"key file '%s': unsupported scrypt parameters N=%lld r=%lld p=%lld "
			"(cosign uses N=32768, 65536 or 131072 with r=8, p=1)",
			what, (long long)vn, (long long)vr, (long long)vp);
	*n = (unsigned long)vn;
	return 0;
}

void
stele_keyfile__sealed_init(struct stele_keyfile__sealed *s)
{
	s->n = 0;
	s->salt = (struct stele_buf)STELE_BUF_INIT(SALT_MAX);
	s->nonce = (struct stele_buf)STELE_BUF_INIT(NONCE_BYTES);
	s->ct = (struct stele_buf)STELE_BUF_INIT(PLAIN_MAX + MAC_BYTES);
}

void
stele_keyfile__sealed_release(struct stele_keyfile__sealed *s)
{
	stele_buf_release(&s->ct);
	stele_buf_release(&s->nonce);
	stele_buf_release(&s->salt);
}

int
stele_keyfile__decode(struct stele_keyfile__sealed *out, const char *json,
		      size_t len, const char *what)
{
	json_t *doc = NULL, *kdf, *cipher;
	const char *name;
	int error;

	if ((error = stele_json_parse(&doc, json, len, what)) < 0)
		goto out;
	kdf = json_object_get(doc, "kdf");
	cipher = json_object_get(doc, "cipher");
	if ((error = stele_json_exact(doc, "encrypted key", "kdf", "cipher",
				      "ciphertext", NULL)) < 0 ||
	    (error = stele_json_exact(kdf, "encrypted key 'kdf'", "name",
				      "params", "salt", NULL)) < 0 ||
	    (error = stele_json_exact(json_object_get(kdf, "params"),
				      "encrypted key 'kdf.params'", "N", "r",
				      "p", NULL)) < 0 ||
	    (error = stele_json_exact(cipher, "encrypted key 'cipher'", "name",
				      "nonce", NULL)) < 0) {
		stele_error_prefix(error, "key file '%s'", what);
		goto out;
	}
	name = stele_json_str(kdf, "name");
	if (!name || strcmp(name, "scrypt")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s': unsupported KDF '%s' (want scrypt)",
			what, name ? name : "?");
		goto out;
	}
	name = stele_json_str(cipher, "name");
	if (!name || strcmp(name, "nacl/secretbox")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s': unsupported cipher '%s' (want nacl/secretbox)",
			what, name ? name : "?");
		goto out;
	}
	if ((error = check_params(json_object_get(kdf, "params"), &out->n,
				  what)) < 0 ||
	    (error = b64_field(&out->salt, kdf, "salt", what)) < 0 ||
	    (error = b64_field(&out->nonce, cipher, "nonce", what)) < 0 ||
	    (error = b64_field(&out->ct, doc, "ciphertext", what)) < 0)
		goto out;
	if (out->salt.len == 0 || out->nonce.len != NONCE_BYTES ||
	    out->ct.len < MAC_BYTES)
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s': bad salt, nonce or ciphertext length",
			what);
out:
	json_decref(doc);
	return error;
}

int
stele_keyfile_open_json(struct stele_secret **out, const char *json, size_t len,
			const struct stele_secret *pass, const char *what)
{
	struct stele_keyfile__sealed s;
	struct stele_secret *key = NULL, *plain = NULL;
	int error;

	*out = NULL;
	stele_keyfile__sealed_init(&s);
	if ((error = stele_keyfile__decode(&s, json, len, what)) < 0)
		goto out;
	if ((error = derive(&key, pass, (unsigned char *)s.salt.ptr, s.salt.len,
			    s.n)) < 0 ||
	    (error = stele_secret_new(&plain, s.ct.len - MAC_BYTES)) < 0)
		goto out;
	if (crypto_secretbox_open_easy(plain->ptr, (unsigned char *)s.ct.ptr,
				       s.ct.len, (unsigned char *)s.nonce.ptr,
				       key->ptr) != 0) {
		error = stele_error_setc(
			STELE_EINVALID,
			"cannot decrypt key file '%s': wrong passphrase", what);
		goto out;
	}
	*out = plain;
	plain = NULL;
out:
	stele_secret_free(plain);
	stele_secret_free(key);
	stele_keyfile__sealed_release(&s);
	return error;
}

int
stele_keyfile_write(struct stele_buf *out, const struct stele_seckey *k,
		    const struct stele_secret *pass)
{
	struct stele_buf json = STELE_BUF_INIT(4 * PLAIN_MAX);
	struct stele_secret *der = NULL;
	BIO *bio = NULL;
	char *data;
	long n;
	int error;

	if (k->type == STELE_KEY_ECDSA_P256) {
		/* k->sk is already the PKCS#8 DER, in sodium memory. */
		error = stele_keyfile_seal_json(&json, k->sk->ptr, k->sk->len,
						pass, STELE_SCRYPT_N);
	} else if ((error = stele_secret_new(
			    &der, sizeof(pkcs8_ed25519) + 32)) == 0) {
		memcpy(der->ptr, pkcs8_ed25519, sizeof(pkcs8_ed25519));
		memcpy(der->ptr + sizeof(pkcs8_ed25519), k->sk->ptr, 32);
		error = stele_keyfile_seal_json(&json, der->ptr, der->len, pass,
						STELE_SCRYPT_N);
	}
	if (error < 0)
		goto out;
	if (!(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio(bio, STELE_PEM_COSIGN, "", (unsigned char *)json.ptr,
			   (long)json.len)) {
		error = stele_error_ssl("cannot write the key file");
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	error = stele_buf_put(out, data, (size_t)n);
out:
	BIO_free(bio);
	stele_buf_release(&json);
	stele_secret_free(der);
	return error;
}

/* Read a DER length at *p; 0 or -1. */
static int
der_len(size_t *len, const unsigned char **p, const unsigned char *end)
{
	size_t n, i;

	if (*p >= end)
		return -1;
	if (!(**p & 0x80)) {
		*len = *(*p)++;
		return 0;
	}
	n = *(*p)++ & 0x7f;
	if (n == 0 || n > 3 || (size_t)(end - *p) < n)
		return -1;
	for (*len = 0, i = 0; i < n; i++)
		*len = (*len << 8) | *(*p)++;
	return 0;
}

#define KIND_ECDSA "an ECDSA key"

const char *
stele_keyfile__kind(const unsigned char *d, size_t len)
{
	static const struct {
		const char *oid;
		size_t n;
		const char *kind;
	} oids[] = {
		{ "\x2a\x86\x48\xce\x3d\x02\x01", 7, KIND_ECDSA },
		{ "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 9, "an RSA key" },
		{ "\x2b\x65\x71", 3, "an Ed448 key" },
		{ "\x2b\x65\x70", 3,
		  "an Ed25519 key in an unsupported PKCS#8 form" },
	};
	const unsigned char *p = d, *end = d + len;
	size_t n, i;

	if (len < 8 || *p++ != 0x30 || der_len(&n, &p, end) < 0 ||
	    end - p < 5 || p[0] != 0x02 || p[1] != 0x01)
		return "not a PKCS#8 private key";
	if (p[2] == 0x01 && p[3] == 0x04)
		return "a SEC1 EC private key, not PKCS#8";
	p += 3;
	if (p >= end || *p++ != 0x30 || der_len(&n, &p, end) < 0 || p >= end ||
	    *p++ != 0x06 || der_len(&n, &p, end) < 0 || (size_t)(end - p) < n)
		return "not a PKCS#8 private key";
	for (i = 0; i < sizeof(oids) / sizeof(*oids); i++)
		if (n == oids[i].n && !memcmp(p, oids[i].oid, n))
			return oids[i].kind;
	return "a private key of an unsupported type";
}

int
stele_keyfile__unpem(struct stele_buf *out, const void *pem, size_t len,
		     const char *what)
{
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long blen = 0;
	BIO *bio;
	int error = 0;

	if (len > STELE_KEYFILE_MAX)
		return stele_error_setc(STELE_EINVALID,
					"key file '%s' is too large", what);
	if (!(bio = BIO_new_mem_buf(len ? pem : "", (int)len)))
		return stele_error_ssl("cannot read the key file");
	if (!PEM_read_bio(bio, &name, &header, &body, &blen)) {
		ERR_clear_error();
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' is not a complete PEM key file (truncated or not PEM)",
			what);
		goto out;
	}
	if (strcmp(name, STELE_PEM_COSIGN) &&
	    strcmp(name, STELE_PEM_SIGSTORE)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' holds a PEM '%s' block; stele reads only '%s' and '%s' "
			"key files%s",
			what, name, STELE_PEM_COSIGN, STELE_PEM_SIGSTORE,
			!strcmp(name, "PUBLIC KEY") ? " (this is a public key)"
				: !strcmp(name, "PRIVATE KEY")
				? " (this key is not encrypted; import it with 'cosign import-key-pair')"
				: "");
		goto out;
	}
	if (*header || !stele_key__pem_rest_blank(bio)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s' has PEM headers or data after the key",
			what);
		goto out;
	}
	error = stele_buf_put(out, body, (size_t)blen);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(body);
	BIO_free(bio);
	return error;
}

int
stele_keyfile_parse(struct stele_seckey **out, const void *pem, size_t len,
		    const struct stele_secret *pass, const char *what)
{
	struct stele_buf json = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	struct stele_secret *plain = NULL;
	const char *kind;
	int error;

	*out = NULL;
	if ((error = stele_keyfile__unpem(&json, pem, len, what)) < 0 ||
	    (error = stele_keyfile_open_json(&plain, stele_buf_cstr(&json),
					     json.len, pass, what)) < 0)
		goto out;
	if (plain->len == sizeof(pkcs8_ed25519) + 32 &&
	    !memcmp(plain->ptr, pkcs8_ed25519, sizeof(pkcs8_ed25519))) {
		error = stele_seckey_from_seed(
			out, plain->ptr + sizeof(pkcs8_ed25519));
	} else if (!strcmp(kind = stele_keyfile__kind(plain->ptr, plain->len),
			   KIND_ECDSA)) {
		error = stele_seckey_from_p256_pkcs8(out, plain->ptr,
						     plain->len, what);
	} else {
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s' holds %s; stele signs with Ed25519 and "
			"ECDSA P-256 keys",
			what, kind);
	}
out:
	stele_secret_free(plain);
	stele_buf_release(&json);
	return error;
}

/* A PEM private key block ("-----BEGIN ... PRIVATE KEY-----") in the bytes. */
static int
holds_private_key(const char *p, size_t n)
{
	static const char label[] = "PRIVATE KEY-----";
	size_t i, k = sizeof(label) - 1;

	for (i = 0; i + k <= n; i++)
		if (!memcmp(p + i, label, k))
			return 1;
	return 0;
}

/*
 * Read a key file (capped) and refuse it when it holds a private key that
 * group or others may access: a secret key others can read may already be
 * copied, one others can write may be swapped, and saying nothing would
 * let either go unnoticed.  Anything else in the file is the parser's to
 * refuse, by what it holds (a public key given as --key is not a secret).
 * The mode is that of the descriptor read.
 */
static int
keyfile_read(struct stele_buf *out, const char *path, unsigned int flags)
{
	struct stat st;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return stele_error_setc(
				STELE_ENOTFOUND,
				"cannot open key file '%s': no such file",
				path);
		return stele_error_errno("cannot open key file '%s'", path);
	}
	if (fstat(fd, &st) < 0)
		error = stele_error_errno("cannot stat key file '%s'", path);
	else
		error = stele_fs_read_fd(out, fd, path);
	close(fd);
	if (error == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) &&
	    !(flags & STELE_KEYFILE_ALLOW_OPEN_PERMS) &&
	    holds_private_key(out->ptr, out->len))
		error = stele_error_setc(
			STELE_EINVALID,
			"key file '%s' is accessible by group or others "
			"(mode %04o); run 'chmod 600 %s' "
			"(or use it anyway with --allow-insecure-key-perms)",
			path, (unsigned int)(st.st_mode & 07777), path);
	return error;
}

int
stele_keyfile_check(const char *path, unsigned int flags)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	int error;

	error = keyfile_read(&b, path, flags);
	stele_buf_release(&b);
	return error;
}

int
stele_keyfile_load(struct stele_seckey **out, const char *path,
		   const struct stele_secret *pass, unsigned int flags)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	int error;

	*out = NULL;
	if ((error = keyfile_read(&b, path, flags)) == 0)
		error = stele_keyfile_parse(out, b.ptr, b.len, pass, path);
	stele_buf_release(&b);
	return error;
}
