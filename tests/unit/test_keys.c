/*
 * Unit tests for keys/ and util/base64: known-answer tests from public
 * vectors (go-securesystemslib's scrypt+secretbox, cosign's key files,
 * sigstore's Ed25519 and Ed25519ph), round trips and every rejection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/passphrase.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"

#define assert_ok(expr) do { \
	int rc_ = (expr); \
	if (rc_ < 0) \
		fail_msg("%s: %d: %s", #expr, rc_, stele_error_last()); \
} while (0)
#define assert_err(expr, code, text) do { \
	int rc_ = (expr); \
	if (rc_ != (code) || !strstr(stele_error_last(), (text))) \
		fail_msg("%s: got %d '%s', want %d '%s'", #expr, rc_, \
			 stele_error_last(), (code), (text)); \
} while (0)

/* go-securesystemslib encrypted/encrypted_test.go: TestDecrypt, kdfVectors. */
static const char *const gss_vectors[] = {
	"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik\"},\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ==\"}",
	"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX\"},\"ciphertext\":\"08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw=\"}",
	"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":65536,\"r\":8,\"p\":1},\"salt\":\"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE\"},\"ciphertext\":\"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8=\"}",
	"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":131072,\"r\":8,\"p\":1},\"salt\":\"m38E3kouJTtiheLQN22NQ8DTito5hrjpUIskqcd375k=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"Y6PM13yA+o44pE/W1ZBwczeGnTV/m9Zc\"},\"ciphertext\":\"6H8sqj1K6B6yDjtH5AQ6lbFigg/C2yDDJc4rYJ79w9aVPImFIPI=\"}",
};
/* TestUnsupportedKDFParameters */
static const char gss_bad_params[] =
	"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":99,\"r\":99,\"p\":99},\"salt\":\"cZFcQJdwPhPyhU1R4qkl0qVOIjZd4V/7LYYAavq166k=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"7vhRS7j0hEPBWV05skAdgLj81AkGeE7U\"},\"ciphertext\":\"6WYU/YSXVbYzl/NzaeAzmjLyfFhOOjLc0d8/GFV0aBFdJvyCcXc=\"}";

/* cosign pkg/cosign/keys_test.go (password "hello"). */
static const char pemcosignkey[] =
	"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6\n"
	"OCwicCI6MX0sInNhbHQiOiJ4WWdoc09JTUxUWGNOT0RsclNIOUNKc1FlOVFnZmN1\n"
	"cmUrMXlLdHh1TlkwPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94\n"
	"Iiwibm9uY2UiOiI0cS9PSlVmaXJkSUkrUjZ0ajZBMmcyQ0JqL25xdFNicCJ9LCJj\n"
	"aXBoZXJ0ZXh0IjoiKzB4Q3NzcFN0WStBczdKanJpOWtsbHBWd2JhcUI4ZWJNdWto\n"
	"eS9aVE1MSXRsL3B1YS9jWVJvbytLRGxMWWdmOW1kSjk4K1FnQW9oTktoYnJPMTcw\n"
	"MHdBY1JTMjFDOE4zQUNJRUVZaWpOMllBNnMraGJSbkhjUnd4eGhDMDFtb2FvL0dO\n"
	"Y1pmbEJheXZMV3pXblo4d2NDZ2ZpT1o1VXlRTEFJMHh0dnR6dEh3cTdDV1Vhd3V4\n"
	"RlhlNDZzck9TUE9SNHN6bytabWErUGovSFE9PSJ9\n"
	"-----END ENCRYPTED COSIGN PRIVATE KEY-----\n";
static const char pemcosigneckey[] =
	"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6\n"
	"OCwicCI6MX0sInNhbHQiOiJHK3F5WTYrNzhNS0JzMXNGTGs1ajYwcS9kS3Z1czBW\n"
	"VkhlSHZybC9POTF3PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94\n"
	"Iiwibm9uY2UiOiJRc2JGdG13WDRDK2ttV3ZCcVRaMEFGOUFYdk1jRmg1SCJ9LCJj\n"
	"aXBoZXJ0ZXh0IjoiREM5T28zeldiYVQzSXYwdFVnWEdycjUxYW1samwwNlQ5MTNP\n"
	"VkxPbWpuMWhnK2o2WXRUbWg3SGhZSlY1N2J5eGE0Q281bE9YYmRqbTJ3aklubEd1\n"
	"Um5aZCt5OExnekpSNzFSeEhKVzgrWmRlcFJmYWJMTjdHbDgrSFZEcERVQ3NxQnRh\n"
	"VngyblpGbFEwWUl1anZwbFphblNGaUVvdERLVGkxZ3VhUXIwUHNzYU01NXZxbTRY\n"
	"WS9rPSJ9\n"
	"-----END ENCRYPTED COSIGN PRIVATE KEY-----\n";
static const char pemsigstorekey[] =
	"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6\n"
	"OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG\n"
	"Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94\n"
	"Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj\n"
	"aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBF\n"
	"cnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH\n"
	"QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVs\n"
	"bmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0\n"
	"V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9\n"
	"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";

/* sigstore pkg/signature/ed25519_test.go and ed25519ph_test.go. */
static const char ss_priv_pkcs8[] =
	"MC4CAQAwBQYDK2VwBCIEIFP9CZb6J1DiOLfdIkPfy1bwBOCjEG6KR/cIdhw90J1H";
static const char ss_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEA9wy4umF4RHQ8UQXo8fzEQNBWE4GsBMkCzQPAfHvkf/s=\n"
	"-----END PUBLIC KEY-----\n";
static const char ss_sig_pure[] =
	"cnafwd8DKq2nQ564eN66ckYV8anVFGFi5vaYiQg2aal7ej/J0/OE0PPdKHLHe9wdzWRMFy5MpurRD/2cGXGLBQ==";
static const char ss_sig_ph[] =
	"9D4pA8jutZnbqKy4fFRl+kDsVUCO50qrOD1lxmsiUFk6NX+7OXUK5BCMkE2KYPRDxjkDFBzbDZEQhaFdDV5tDg==";
/* cosign keys_test.go ed25519key (unencrypted PKCS#8). */
static const char cosign_ed25519[] =
	"MC4CAQAwBQYDK2VwBCIEIALEbo1EFnWFqBK/wC+hhypG/8hXEerwdNetAoFoFVdv";
/* containers/image signature/fixtures/cosign.pub (ECDSA P-256). */
static const char cimage_cosign_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
	"vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
	"-----END PUBLIC KEY-----\n";

static struct stele_secret *
pass_of(const char *s)
{
	struct stele_secret *p;

	assert_ok(stele_secret_new(&p, strlen(s)));
	memcpy(p->ptr, s, strlen(s));
	return p;
}

static void
b64(struct stele_buf *out, const char *s)
{
	stele_buf_clear(out);
	assert_ok(stele_base64_decode(out, s, strlen(s), "test"));
}

static void
test_keys_base64_strict(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(64);
	static const char *const bad[] = { "aGl=", "aGk", "aG k=", "aGk=\n",
		"_-8=", "aGk==", "=aGk", "aGk=aGk=", NULL };
	size_t i;

	(void)state;
	b64(&b, "aGk=");
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.ptr, "hi", 2);
	b64(&b, "");
	assert_int_equal(b.len, 0);
	b64(&b, "+/8=");
	assert_int_equal((unsigned char)b.ptr[0], 0xfb);
	for (i = 0; bad[i]; i++) {
		stele_buf_clear(&b);
		assert_int_equal(stele_base64_decode(&b, bad[i], strlen(bad[i]), "t"),
				 STELE_EINVALID);
	}
	stele_buf_clear(&b);
	assert_ok(stele_base64_encode(&b, "hi", 2));
	assert_string_equal(b.ptr, "aGk=");
	stele_buf_release(&b);
}

static void
test_keys_gss_vectors(void **state)
{
	struct stele_secret *pass = pass_of("supersecret"), *plain = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(gss_vectors) / sizeof(*gss_vectors); i++) {
		assert_ok(stele_keyfile_open_json(&plain, gss_vectors[i],
			strlen(gss_vectors[i]), pass, "vector"));
		/* TestDecrypt seals the bytes; kdfVectors seal them as a
		 * JSON string (Marshal), i.e. quoted base64. */
		if (i == 0) {
			assert_int_equal(plain->len, 15);
			assert_memory_equal(plain->ptr, "reallyimportant", 15);
		} else {
			assert_int_equal(plain->len, 22);
			assert_memory_equal(plain->ptr, "\"cmVhbGx5aW1wb3J0YW50\"", 22);
		}
		stele_secret_free(plain);
	}
	assert_err(stele_keyfile_open_json(&plain, gss_bad_params,
		strlen(gss_bad_params), pass, "vector"), STELE_EINVALID,
		"unsupported scrypt parameters N=99 r=99 p=99");
	assert_null(plain);
	stele_secret_free(pass);
	pass = pass_of("supersecreT");
	assert_err(stele_keyfile_open_json(&plain, gss_vectors[0],
		strlen(gss_vectors[0]), pass, "vector"), STELE_EINVALID,
		"wrong passphrase");
	assert_null(plain);
	stele_secret_free(pass);
}

static void
test_keys_json_rejects(void **state)
{
	static const struct { const char *json, *why; } bad[] = {
		{ "{\"kdf\":{\"name\":\"argon2\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "unsupported KDF 'argon2'" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"aes-gcm\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "unsupported cipher 'aes-gcm'" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":16384,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "unsupported scrypt parameters N=16384" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\",\"x\":1}", "unknown field 'x'" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "duplicate" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "bad salt, nonce or ciphertext length" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"AAB=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "salt is not valid standard base64" },
		{ "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768.0,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}", "must be integers" },
	};
	struct stele_secret *pass = pass_of("x"), *plain = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_err(stele_keyfile_open_json(&plain, bad[i].json,
			strlen(bad[i].json), pass, "t"), STELE_EINVALID, bad[i].why);
		assert_null(plain);
	}
	stele_secret_free(pass);
}

static void
test_keys_cosign_files(void **state)
{
	struct stele_secret *pass = pass_of("hello");
	struct stele_seckey *k = NULL;

	(void)state;
	/* Both PEM types and N=65536 decrypt; the keys in them are not Ed25519. */
	assert_err(stele_keyfile_parse(&k, pemcosignkey, strlen(pemcosignkey),
		pass, "pemcosignkey"), STELE_EINVALID, "holds an ECDSA key");
	assert_err(stele_keyfile_parse(&k, pemsigstorekey, strlen(pemsigstorekey),
		pass, "pemsigstorekey"), STELE_EINVALID, "holds an ECDSA key");
	assert_err(stele_keyfile_parse(&k, pemcosigneckey, strlen(pemcosigneckey),
		pass, "pemcosigneckey"), STELE_EINVALID, "SEC1 EC private key");
	assert_null(k);
	stele_secret_free(pass);
	pass = pass_of("hellO");
	assert_err(stele_keyfile_parse(&k, pemsigstorekey, strlen(pemsigstorekey),
		pass, "pemsigstorekey"), STELE_EINVALID, "wrong passphrase");
	stele_secret_free(pass);
}

static struct stele_seckey *
key_of_pkcs8(const char *b64text)
{
	struct stele_buf der = STELE_BUF_INIT(64);
	struct stele_seckey *k;

	b64(&der, b64text);
	assert_int_equal(der.len, 48);
	assert_ok(stele_seckey_from_seed(&k, (unsigned char *)der.ptr + 16));
	stele_buf_release(&der);
	return k;
}

static void
test_keys_sigstore_vectors(void **state)
{
	struct stele_seckey *k = key_of_pkcs8(ss_priv_pkcs8), *c;
	struct stele_pubkey *pub = NULL;
	struct stele_buf pure = STELE_BUF_INIT(64), ph = STELE_BUF_INIT(64);
	unsigned char sig[STELE_SIG_BYTES];
	enum stele_sig_mode mode = 0;
	static const unsigned char cosign_pk[4] = { 0xad, 0x5c, 0x83, 0xed };

	(void)state;
	assert_ok(stele_pubkey_parse(&pub, ss_pub_pem, strlen(ss_pub_pem), "pub"));
	assert_memory_equal(pub->pk, k->pub.pk, STELE_PK_BYTES);
	b64(&pure, ss_sig_pure);
	b64(&ph, ss_sig_ph);
	/* Each verifies in its own mode only. */
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)pure.ptr, "sign me", 7,
				   STELE_SIG_PURE));
	assert_int_equal(mode, STELE_SIG_PURE);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)pure.ptr,
		"sign me", 7, STELE_SIG_PREHASH), STELE_EVERIFY);
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)ph.ptr, "sign me", 7,
				   STELE_SIG_PREHASH));
	assert_int_equal(mode, STELE_SIG_PREHASH);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)ph.ptr,
		"sign me", 7, STELE_SIG_PURE), STELE_EVERIFY);
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)ph.ptr, "sign me", 7,
				   STELE_SIG_PURE | STELE_SIG_PREHASH));
	assert_int_equal(mode, STELE_SIG_PREHASH);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)pure.ptr,
		"sign mE", 7, STELE_SIG_PURE | STELE_SIG_PREHASH), STELE_EVERIFY);
	/* Ed25519 is deterministic: stele makes the very same signatures. */
	stele_key_sign(sig, k, "sign me", 7);
	assert_memory_equal(sig, pure.ptr, STELE_SIG_BYTES);
	stele_key_sign_ph(sig, k, "sign me", 7);
	assert_memory_equal(sig, ph.ptr, STELE_SIG_BYTES);
	/* cosign's ed25519key: seed 02c46e8d..., public key ad5c83ed... */
	c = key_of_pkcs8(cosign_ed25519);
	assert_memory_equal(c->pub.pk, cosign_pk, sizeof(cosign_pk));
	stele_seckey_free(c);
	stele_seckey_free(k);
	free(pub);
	stele_buf_release(&ph);
	stele_buf_release(&pure);
}

static void
test_keys_pubkey_rejects(void **state)
{
	struct stele_pubkey *pub = NULL;
	struct stele_buf b = STELE_BUF_INIT(4096);
	static const char priv[] = "-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2VwBCIEIFP9CZb6J1DiOLfdIkPfy1bwBOCjEG6KR/cIdhw90J1H\n"
		"-----END PRIVATE KEY-----\n";

	(void)state;
	assert_err(stele_pubkey_parse(&pub, cimage_cosign_pub,
		strlen(cimage_cosign_pub), "cosign.pub"), STELE_EINVALID,
		"is an ECDSA public key; stele uses only Ed25519 keys");
	assert_err(stele_pubkey_parse(&pub, priv, strlen(priv), "k"),
		STELE_EINVALID, "holds a PEM 'PRIVATE KEY' block");
	assert_err(stele_pubkey_parse(&pub, "hello", 5, "k"), STELE_EINVALID,
		"not a PEM public key");
	assert_err(stele_pubkey_parse(&pub, ss_pub_pem, strlen(ss_pub_pem) - 10, "k"),
		STELE_EINVALID, "not a PEM public key");
	assert_ok(stele_buf_puts(&b, ss_pub_pem));
	assert_ok(stele_buf_puts(&b, "extra\n"));
	assert_err(stele_pubkey_parse(&pub, b.ptr, b.len, "k"), STELE_EINVALID,
		"data after its public key");
	assert_null(pub);
	stele_buf_release(&b);
}

static void
test_keys_roundtrip(void **state)
{
	struct stele_secret *pass = pass_of("correct horse"), *wrong = pass_of("");
	struct stele_seckey *k = NULL, *back = NULL;
	struct stele_pubkey *pub = NULL;
	struct stele_buf pem = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	struct stele_buf pubpem = STELE_BUF_INIT(4096);
	struct stele_buf json = STELE_BUF_INIT(4096), trunc = STELE_BUF_INIT(4096);
	unsigned char spki[STELE_SPKI_BYTES], sig[STELE_SIG_BYTES];
	const char *body;

	(void)state;
	assert_ok(stele_seckey_generate(&k));
	assert_int_equal(strlen(k->pub.id), 64);
	assert_ok(stele_keyfile_write(&pem, k, pass));
	assert_true(!strncmp(pem.ptr, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n", 45));
	/* The JSON inside is cosign's: key order, N=32768, 64-column PEM. */
	body = pem.ptr + 45;
	assert_true(strchr(body, '\n') - body == 64);
	{
		struct stele_buf line = STELE_BUF_INIT(4096);
		const char *p;

		for (p = body; *p != '-'; p++)
			if (*p != '\n')
				assert_ok(stele_buf_putc(&line, *p));
		b64(&json, line.ptr);
		stele_buf_release(&line);
	}
	assert_true(!strncmp(json.ptr,
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"", 65));
	assert_non_null(strstr(json.ptr, "\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\""));
	assert_ok(stele_keyfile_parse(&back, pem.ptr, pem.len, pass, "k"));
	assert_memory_equal(back->pub.pk, k->pub.pk, STELE_PK_BYTES);
	assert_string_equal(back->pub.id, k->pub.id);
	stele_seckey_free(back);
	back = NULL;
	assert_err(stele_keyfile_parse(&back, pem.ptr, pem.len, wrong, "k"),
		STELE_EINVALID, "wrong passphrase");
	/* Truncated anywhere: refused, no key. */
	assert_ok(stele_buf_put(&trunc, pem.ptr, pem.len / 2));
	assert_err(stele_keyfile_parse(&back, trunc.ptr, trunc.len, pass, "k"),
		STELE_EINVALID, "not a complete PEM key file");
	stele_buf_clear(&trunc);
	assert_ok(stele_buf_put(&trunc, pem.ptr, pem.len - 8));
	assert_err(stele_keyfile_parse(&back, trunc.ptr, trunc.len, pass, "k"),
		STELE_EINVALID, "not a complete PEM key file");
	assert_null(back);
	/* The public key: OpenSSL's PEM, id = sha256 of the SPKI DER. */
	assert_ok(stele_pubkey_pem(&pubpem, &k->pub));
	assert_true(!strncmp(pubpem.ptr, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA", 42));
	assert_ok(stele_pubkey_parse(&pub, pubpem.ptr, pubpem.len, "pub"));
	assert_string_equal(pub->id, k->pub.id);
	stele_pubkey_spki(spki, pub);
	assert_int_equal(spki[0], 0x30);
	assert_err(stele_keyfile_parse(&back, pubpem.ptr, pubpem.len, pass, "k.pub"),
		STELE_EINVALID, "(this is a public key)");
	/* An empty passphrase is allowed, as cosign allows it. */
	stele_buf_clear(&pem);
	assert_ok(stele_keyfile_write(&pem, k, wrong));
	assert_ok(stele_keyfile_parse(&back, pem.ptr, pem.len, wrong, "k"));
	stele_key_sign(sig, back, "m", 1);
	assert_ok(stele_key_verify(NULL, pub, sig, "m", 1, STELE_SIG_PURE));
	stele_seckey_free(back);
	free(pub);
	stele_seckey_free(k);
	stele_secret_free(wrong);
	stele_secret_free(pass);
	stele_buf_release(&trunc);
	stele_buf_release(&json);
	stele_buf_release(&pubpem);
	stele_buf_release(&pem);
}

static void
test_keys_passphrase_sources(void **state)
{
	struct stele_secret *p = NULL;
	char *dir = NULL, *f;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&dir, "stele-unit"));
	f = stele_path_join(dir, "pass");
	assert_ok(stele_fs_write_new(f, "first line\r\nsecond\n", 19, 0600));
	setenv(STELE_PASS_ENV, "from env", 1);
	/* The file wins over the environment; its first line only. */
	assert_ok(stele_passphrase_get(&p, f, NULL, 0));
	assert_int_equal(p->len, 10);
	assert_memory_equal(p->ptr, "first line", 10);
	stele_secret_free(p);
	assert_ok(stele_passphrase_get(&p, NULL, NULL, STELE_PASS_CONFIRM));
	assert_int_equal(p->len, 8);
	stele_secret_free(p);
	setenv(STELE_PASS_ENV, "", 1);
	assert_ok(stele_passphrase_get(&p, NULL, NULL, 0));
	assert_int_equal(p->len, 0);
	stele_secret_free(p);
	unsetenv(STELE_PASS_ENV);
	assert_int_equal(stele_passphrase_get(&p, "/nonexistent/x", NULL, 0),
			 STELE_ERROR);
	assert_null(p);
	stele_fs_rm_rf(dir);
	free(f);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_base64_strict),
		cmocka_unit_test(test_keys_gss_vectors),
		cmocka_unit_test(test_keys_json_rejects),
		cmocka_unit_test(test_keys_cosign_files),
		cmocka_unit_test(test_keys_sigstore_vectors),
		cmocka_unit_test(test_keys_pubkey_rejects),
		cmocka_unit_test(test_keys_roundtrip),
		cmocka_unit_test(test_keys_passphrase_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
