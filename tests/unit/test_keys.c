/*
 * Unit tests for keys/ and util/base64: known-answer tests from public
 * vectors (go-securesystemslib's scrypt+secretbox, cosign's key files,
 * sigstore's Ed25519 and Ed25519ph) and OpenSSL-made ECDSA P-256 ones,
 * round trips and every rejection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

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

/*
 * ECDSA P-256, made with the openssl CLI (3.0): `genpkey -algorithm EC
 * -pkeyopt ec_paramgen_curve:P-256`, `pkcs8 -topk8 -nocrypt -outform DER`,
 * `pkey -pubout`, `dgst -sha256 -sign` of "stele ecdsa vector" (DER
 * signature); `openssl dgst -verify` accepts it.  The key id is
 * `openssl pkey -pubout -outform DER | sha256sum`.
 */
static const char ossl_p256_pkcs8[] =
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4KoeVz4cub08t6D75iTZP9mRC3iVQzRLbXIqE2BPOjShRANCAATgzMthKbKF2LokxZJQFnH0qa8uOy5k9ppmpuLfvEVJU7vREigYL0BMkZCM1r123WvkKd689sUAzshvfaeygwUH";
static const char ossl_p256_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4MzLYSmyhdi6JMWSUBZx9KmvLjsu\n"
	"ZPaaZqbi37xFSVO70RIoGC9ATJGQjNa9dt1r5CnevPbFAM7Ib32nsoMFBw==\n"
	"-----END PUBLIC KEY-----\n";
static const char ossl_p256_id[] =
	"4cf7384be941d7785fadec8302aedd6f44c685d2abb74f83c018fd09b49e41d7";
static const char ossl_p256_msg[] = "stele ecdsa vector";
static const char ossl_p256_sig[] =
	"MEQCICPpgBV7X9EhBKBHJBYVv7oW8FDfS8gs803G1BUjQ/c2AiAOToUn2lYbw+j5nStG5b2qPM2ITntQicfHJXYHl0JfRw==";
/* The same signature with one bit of r flipped. */
static const char ossl_p256_sig_tampered[] =
	"MEQCICPpgBV7X9AhBKBHJBYVv7oW8FDfS8gs803G1BUjQ/c2AiAOToUn2lYbw+j5nStG5b2qPM2ITntQicfHJXYHl0JfRw==";
/* The same public key with the last bit of Y flipped: not on the curve. */
static const char p256_offcurve_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4MzLYSmyhdi6JMWSUBZx9KmvLjsu\n"
	"ZPaaZqbi37xFSVO70RIoGC9ATJGQjNa9dt1r5CnevPbFAM7Ib32nsoMFBg==\n"
	"-----END PUBLIC KEY-----\n";
/* `openssl ec -pubout -conv_form compressed` of the same key. */
static const char p256_compressed_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MDkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDIgAD4MzLYSmyhdi6JMWSUBZx9KmvLjsu\n"
	"ZPaaZqbi37xFSVM=\n"
	"-----END PUBLIC KEY-----\n";
/* A P-384 key (openssl genpkey), public and PKCS#8. */
static const char p384_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAElqXKjo4tqr+cr/ZVBya1pIYK4OZVIhh7\n"
	"dird897A57JJJKXKcawfwK5VC271ZYyqyKJnnJoN7UGgOhqQF0CoFVgL9LQcsR4d\n"
	"l6hlUrSqUqCYh1pk4AOiBoNUBC+CDByh\n"
	"-----END PUBLIC KEY-----\n";
static const char p384_pkcs8[] =
	"MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCvztHUpPktsmoAsK1ThTgRD4O/YukZ/g60vK8VDdu3cOlyv5mxGUAp7UiXXnCS1FGhZANiAASWpcqOji2qv5yv9lUHJrWkhgrg5lUiGHt2Kt3z3sDnskkkpcpxrB/ArlULbvVljKrIomecmg3tQaA6GpAXQKgVWAv0tByxHh2XqGVStKpSoJiHWmTgA6IGg1QEL4IMHKE=";
/* RSA-1024 (openssl genpkey), public. */
static const char rsa_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCoimaCsJ/xZoIqlWObO1rdd5qS\n"
	"DkQjqICv/JHGMGQrJciuDDq9dHgR1grAMv59DMlyTKkO2gQ/pm3+lFZyhVt7NHms\n"
	"ZQhcZrzN5GujMwa6+jJoQVB38lrjq7P7QzX1v7C0FSlU9yTHP8JubgsOsoMTYOW0\n"
	"Crrk5I1XLwkKgYNX1QIDAQAB\n"
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

/* The stages before the KDF, on their own (what tests/fuzz reaches). */
static void
test_keys_parse_stages(void **state)
{
	/* PKCS#8 prefixes: ECDSA P-256 and Ed448 (truncated after the OID). */
	static const unsigned char ec[] = { 0x30, 0x81, 0x87, 0x02, 0x01, 0x00,
		0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const unsigned char ed448[] = { 0x30, 0x47, 0x02, 0x01, 0x00,
		0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71 };
	struct stele_buf json = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	static const char pub[] =
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
	struct stele_keyfile__sealed s;
	char *pem;

	(void)state;
	stele_keyfile__sealed_init(&s);
	assert_ok(stele_keyfile__decode(&s, gss_vectors[2],
					strlen(gss_vectors[2]), "v"));
	assert_int_equal(s.n, 65536);
	assert_int_equal(s.salt.len, 32);
	assert_int_equal(s.nonce.len, 24);
	assert_int_equal(s.ct.len, 38);
	stele_keyfile__sealed_release(&s);

	pem = stele_xasprintf("-----BEGIN %s-----\nAAAA\n-----END %s-----\n",
			      STELE_PEM_SIGSTORE, STELE_PEM_SIGSTORE);
	assert_ok(stele_keyfile__unpem(&json, pem, strlen(pem), "k"));
	assert_int_equal(json.len, 3);
	assert_memory_equal(json.ptr, "\0\0\0", 3);
	free(pem);
	stele_buf_clear(&json);
	assert_err(stele_keyfile__unpem(&json, pub, strlen(pub), "k"),
		   STELE_EINVALID, "(this is a public key)");
	assert_int_equal(json.len, 0);
	stele_buf_release(&json);

	assert_string_equal(stele_keyfile__kind(ec, sizeof(ec)), "an ECDSA key");
	assert_string_equal(stele_keyfile__kind(ed448, sizeof(ed448)),
			    "an Ed448 key");
	assert_string_equal(stele_keyfile__kind(ec, 9), "not a PKCS#8 private key");
	assert_string_equal(stele_keyfile__kind(NULL, 0), "not a PKCS#8 private key");
}

static void
test_keys_cosign_files(void **state)
{
	struct stele_secret *pass = pass_of("hello");
	struct stele_seckey *k = NULL;
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen;
	enum stele_sig_mode mode = 0;

	(void)state;
	/*
	 * Both PEM types decrypt to PKCS#8 ECDSA P-256 keys, usable; ids (the
	 * SHA-256 of the SPKI) computed by Python's cryptography.
	 */
	assert_ok(stele_keyfile_parse(&k, pemcosignkey, strlen(pemcosignkey),
		pass, "pemcosignkey"));
	assert_int_equal(k->type, STELE_KEY_ECDSA_P256);
	assert_string_equal(k->pub.id,
		"a6659c08b9909880c6e4bc51cab6fd7265673f67d614c20ba59a18957feb700d");
	assert_int_equal(k->pub.pk[0], 0x04);
	assert_int_equal(k->pub.pk[1], 0x09);
	assert_ok(stele_key_sign(sig, &siglen, k, "m", 1));
	assert_int_equal(stele_sig_type(sig, siglen), STELE_KEY_ECDSA_P256);
	assert_ok(stele_key_verify(&mode, &k->pub, sig, siglen, "m", 1,
				   STELE_SIG_PURE));
	assert_int_equal(mode, STELE_SIG_ECDSA);
	stele_seckey_free(k);
	assert_ok(stele_keyfile_parse(&k, pemsigstorekey, strlen(pemsigstorekey),
		pass, "pemsigstorekey"));
	assert_string_equal(k->pub.id,
		"f1057bf3c114d5486f0bdb3c702596d6154158248980d4be49f6c61fdc62c591");
	stele_seckey_free(k);
	k = NULL;
	/* N=65536 decrypts, but holds SEC1, which cosign refuses too. */
	assert_err(stele_keyfile_parse(&k, pemcosigneckey, strlen(pemcosigneckey),
		pass, "pemcosigneckey"), STELE_EINVALID, "SEC1 EC private key");
	assert_null(k);
	stele_secret_free(pass);
	pass = pass_of("hellO");
	assert_err(stele_keyfile_parse(&k, pemsigstorekey, strlen(pemsigstorekey),
		pass, "pemsigstorekey"), STELE_EINVALID, "wrong passphrase");
	assert_null(k);
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
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen;
	enum stele_sig_mode mode = 0;
	static const unsigned char cosign_pk[4] = { 0xad, 0x5c, 0x83, 0xed };

	(void)state;
	assert_ok(stele_pubkey_parse(&pub, ss_pub_pem, strlen(ss_pub_pem), "pub"));
	assert_int_equal(pub->type, STELE_KEY_ED25519);
	assert_memory_equal(pub->pk, k->pub.pk, STELE_PK_BYTES);
	b64(&pure, ss_sig_pure);
	b64(&ph, ss_sig_ph);
	/* Each verifies in its own mode only. */
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)pure.ptr, 64,
				   "sign me", 7, STELE_SIG_PURE));
	assert_int_equal(mode, STELE_SIG_PURE);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)pure.ptr, 64,
		"sign me", 7, STELE_SIG_PREHASH), STELE_EVERIFY);
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)ph.ptr, 64,
				   "sign me", 7, STELE_SIG_PREHASH));
	assert_int_equal(mode, STELE_SIG_PREHASH);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)ph.ptr, 64,
		"sign me", 7, STELE_SIG_PURE), STELE_EVERIFY);
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)ph.ptr, 64,
				   "sign me", 7, STELE_SIG_PURE | STELE_SIG_PREHASH));
	assert_int_equal(mode, STELE_SIG_PREHASH);
	assert_int_equal(stele_key_verify(NULL, pub, (unsigned char *)pure.ptr, 64,
		"sign mE", 7, STELE_SIG_PURE | STELE_SIG_PREHASH), STELE_EVERIFY);
	/* Ed25519 is deterministic: stele makes the very same signatures. */
	assert_ok(stele_key_sign(sig, &siglen, k, "sign me", 7));
	assert_int_equal(siglen, STELE_SIG_BYTES);
	assert_int_equal(stele_sig_type(sig, siglen), STELE_KEY_ED25519);
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
	assert_err(stele_pubkey_parse(&pub, p384_pub, strlen(p384_pub), "p384.pub"),
		STELE_EINVALID, "is an ECDSA public key on curve secp384r1 "
		"(stele uses P-256); stele uses Ed25519 and ECDSA P-256 keys");
	assert_err(stele_pubkey_parse(&pub, p256_compressed_pub,
		strlen(p256_compressed_pub), "c.pub"), STELE_EINVALID,
		"a compressed point");
	assert_err(stele_pubkey_parse(&pub, rsa_pub, strlen(rsa_pub), "rsa.pub"),
		STELE_EINVALID, "is an RSA public key");
	assert_err(stele_pubkey_parse(&pub, p256_offcurve_pub,
		strlen(p256_offcurve_pub), "o.pub"), STELE_EINVALID,
		"whose point is not on the curve");
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
	unsigned char spki[STELE_SPKI_MAX], sig[STELE_SIG_MAX];
	size_t siglen;
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
	assert_int_equal(stele_pubkey_spki(spki, pub), STELE_SPKI_BYTES);
	assert_int_equal(spki[0], 0x30);
	assert_err(stele_keyfile_parse(&back, pubpem.ptr, pubpem.len, pass, "k.pub"),
		STELE_EINVALID, "(this is a public key)");
	/* An empty passphrase is allowed, as cosign allows it. */
	stele_buf_clear(&pem);
	assert_ok(stele_keyfile_write(&pem, k, wrong));
	assert_ok(stele_keyfile_parse(&back, pem.ptr, pem.len, wrong, "k"));
	assert_ok(stele_key_sign(sig, &siglen, back, "m", 1));
	assert_ok(stele_key_verify(NULL, pub, sig, siglen, "m", 1, STELE_SIG_PURE));
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
test_keys_ecdsa_vectors(void **state)
{
	struct stele_pubkey *pub = NULL, *ed = NULL;
	struct stele_seckey *k = NULL;
	struct stele_buf der = STELE_BUF_INIT(256), sig = STELE_BUF_INIT(128);
	struct stele_buf bad = STELE_BUF_INIT(128), pem = STELE_BUF_INIT(4096);
	unsigned char mine[STELE_SIG_MAX], edsig[STELE_SIG_MAX];
	size_t len, edlen;
	enum stele_sig_mode mode = 0;
	const char *m = ossl_p256_msg;

	(void)state;
	assert_ok(stele_pubkey_parse(&pub, ossl_p256_pub, strlen(ossl_p256_pub),
				     "p256.pub"));
	assert_int_equal(pub->type, STELE_KEY_ECDSA_P256);
	assert_int_equal(pub->pklen, STELE_P256_PK_BYTES);
	assert_string_equal(pub->id, ossl_p256_id);
	/* OpenSSL's own PEM comes back byte for byte. */
	assert_ok(stele_pubkey_pem(&pem, pub));
	assert_int_equal(pem.len, strlen(ossl_p256_pub));
	assert_memory_equal(pem.ptr, ossl_p256_pub, pem.len);
	b64(&sig, ossl_p256_sig);
	assert_int_equal(stele_sig_type((unsigned char *)sig.ptr, sig.len),
			 STELE_KEY_ECDSA_P256);
	assert_ok(stele_key_verify(&mode, pub, (unsigned char *)sig.ptr, sig.len,
				   m, strlen(m), STELE_SIG_PURE));
	assert_int_equal(mode, STELE_SIG_ECDSA);
	/* Another message, a tampered signature: no. */
	assert_err(stele_key_verify(NULL, pub, (unsigned char *)sig.ptr, sig.len,
		m, strlen(m) - 1, STELE_SIG_PURE), STELE_EVERIFY,
		"does not verify with key 4cf7384be941d778");
	b64(&bad, ossl_p256_sig_tampered);
	assert_err(stele_key_verify(NULL, pub, (unsigned char *)bad.ptr, bad.len,
		m, strlen(m), STELE_SIG_PURE), STELE_EVERIFY, "does not verify");
	/* DER with trailing bytes, or a truncated one, is not ECDSA. */
	stele_buf_clear(&bad);
	assert_ok(stele_buf_put(&bad, sig.ptr, sig.len));
	assert_ok(stele_buf_putc(&bad, 0));
	assert_int_equal(stele_sig_type((unsigned char *)bad.ptr, bad.len), 0);
	assert_err(stele_key_verify(NULL, pub, (unsigned char *)bad.ptr, bad.len,
		m, strlen(m), STELE_SIG_PURE), STELE_EVERIFY,
		"a malformed signature (71 bytes) cannot verify with key "
		"4cf7384be941d778, an ECDSA P-256 key");
	assert_int_equal(stele_sig_type((unsigned char *)sig.ptr, sig.len - 1), 0);
	/* The private key gives the same public key, and signs what verifies. */
	b64(&der, ossl_p256_pkcs8);
	assert_ok(stele_seckey_from_p256_pkcs8(&k, (unsigned char *)der.ptr,
					       der.len, "p256.der"));
	assert_string_equal(k->pub.id, ossl_p256_id);
	assert_memory_equal(k->pub.pk, pub->pk, STELE_P256_PK_BYTES);
	assert_ok(stele_key_sign(mine, &len, k, m, strlen(m)));
	assert_true(len <= STELE_SIG_MAX && len >= 8);
	assert_ok(stele_key_verify(NULL, pub, mine, len, m, strlen(m), 0));
	/* Across kinds: each named, never verified. */
	assert_ok(stele_pubkey_parse(&ed, ss_pub_pem, strlen(ss_pub_pem), "ed"));
	assert_err(stele_key_verify(NULL, ed, (unsigned char *)sig.ptr, sig.len,
		m, strlen(m), STELE_SIG_PURE | STELE_SIG_PREHASH), STELE_EVERIFY,
		"an ECDSA P-256 signature (70 bytes) cannot verify with key");
	assert_non_null(strstr(stele_error_last(), "an Ed25519 key"));
	b64(&bad, ss_sig_pure);
	assert_err(stele_key_verify(NULL, pub, (unsigned char *)bad.ptr, bad.len,
		"sign me", 7, STELE_SIG_PURE), STELE_EVERIFY,
		"an Ed25519 signature (64 bytes) cannot verify with key "
		"4cf7384be941d778, an ECDSA P-256 key");
	/* An Ed25519 key signs 64 bytes that a P-256 key never takes. */
	stele_seckey_free(k);
	assert_ok(stele_seckey_generate(&k));
	assert_ok(stele_key_sign(edsig, &edlen, k, m, strlen(m)));
	assert_int_equal(stele_key_verify(NULL, pub, edsig, edlen, m, strlen(m),
					  STELE_SIG_PURE), STELE_EVERIFY);
	stele_seckey_free(k);
	free(ed);
	free(pub);
	pub = NULL;
	/* containers/image's cosign.pub fixture is a P-256 key too. */
	assert_ok(stele_pubkey_parse(&pub, cimage_cosign_pub,
		strlen(cimage_cosign_pub), "cosign.pub"));
	assert_int_equal(pub->type, STELE_KEY_ECDSA_P256);
	free(pub);
	stele_buf_release(&pem);
	stele_buf_release(&bad);
	stele_buf_release(&sig);
	stele_buf_release(&der);
}

static void
test_keys_ecdsa_pkcs8_rejects(void **state)
{
	struct stele_seckey *a = NULL, *b = NULL, *k = NULL;
	struct stele_secret *spliced = NULL;
	struct stele_buf der = STELE_BUF_INIT(256);

	(void)state;
	/* Another curve, named. */
	b64(&der, p384_pkcs8);
	assert_err(stele_seckey_from_p256_pkcs8(&k, (unsigned char *)der.ptr,
		der.len, "p384.der"), STELE_EINVALID,
		"holds an ECDSA key on curve secp384r1; stele uses ECDSA only on P-256");
	/* Trailing bytes after the PKCS#8, or a truncated one. */
	b64(&der, ossl_p256_pkcs8);
	assert_ok(stele_buf_putc(&der, 0));
	assert_err(stele_seckey_from_p256_pkcs8(&k, (unsigned char *)der.ptr,
		der.len, "x"), STELE_EINVALID, "one well-formed PKCS#8");
	assert_err(stele_seckey_from_p256_pkcs8(&k, (unsigned char *)der.ptr,
		der.len - 10, "x"), STELE_EINVALID, "one well-formed PKCS#8");
	/* Not an EC key at all (sigstore's Ed25519 PKCS#8), or too large. */
	b64(&der, ss_priv_pkcs8);
	assert_err(stele_seckey_from_p256_pkcs8(&k, (unsigned char *)der.ptr,
		der.len, "ed.der"), STELE_EINVALID,
		"'ed.der' is a PKCS#8 ED25519 key, not an ECDSA one");
	{
		unsigned char *big = stele_xcalloc(1, STELE_KEYFILE_MAX + 1);

		assert_err(stele_seckey_from_p256_pkcs8(&k, big,
			STELE_KEYFILE_MAX + 1, "big"), STELE_EINVALID,
			"too large for a private key");
		free(big);
	}
	/* A's private key with B's public key: the pairwise check refuses it. */
	assert_ok(stele_seckey_generate_type(&a, STELE_KEY_ECDSA_P256));
	assert_ok(stele_seckey_generate_type(&b, STELE_KEY_ECDSA_P256));
	assert_int_equal(a->type, STELE_KEY_ECDSA_P256);
	assert_string_not_equal(a->pub.id, b->pub.id);
	assert_ok(stele_secret_new(&spliced, a->sk->len));
	memcpy(spliced->ptr, a->sk->ptr, a->sk->len);
	/* The point ends the PKCS#8 ([1] BIT STRING 00 04 X Y). */
	assert_memory_equal(spliced->ptr + spliced->len - 65, a->pub.pk, 65);
	memcpy(spliced->ptr + spliced->len - 65, b->pub.pk, 65);
	assert_err(stele_seckey_from_p256_pkcs8(&k, spliced->ptr, spliced->len,
		"spliced"), STELE_EINVALID, "inconsistent ECDSA P-256 key");
	assert_null(k);
	stele_secret_free(spliced);
	stele_seckey_free(b);
	stele_seckey_free(a);
	stele_buf_release(&der);
}

static void
test_keys_ecdsa_keyfile_roundtrip(void **state)
{
	struct stele_secret *pass = pass_of("p256 pass"), *wrong = pass_of("p256 pasS");
	struct stele_secret *plain = NULL;
	struct stele_seckey *k = NULL, *back = NULL;
	struct stele_pubkey *pub = NULL;
	struct stele_buf pem = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	struct stele_buf pubpem = STELE_BUF_INIT(4096), json = STELE_BUF_INIT(8192);
	struct stele_buf der = STELE_BUF_INIT(256);
	unsigned char spki[STELE_SPKI_MAX], sig[STELE_SIG_MAX], sig2[STELE_SIG_MAX];
	size_t len, len2;

	(void)state;
	assert_ok(stele_seckey_generate_type(&k, STELE_KEY_ECDSA_P256));
	assert_non_null(k->pkey);
	assert_ok(stele_keyfile_write(&pem, k, pass));
	assert_true(!strncmp(pem.ptr, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n", 45));
	assert_ok(stele_keyfile_parse(&back, pem.ptr, pem.len, pass, "k"));
	assert_int_equal(back->type, STELE_KEY_ECDSA_P256);
	assert_string_equal(back->pub.id, k->pub.id);
	/* The sealed plaintext is the PKCS#8 DER, as cosign seals it. */
	assert_int_equal(back->sk->len, k->sk->len);
	assert_memory_equal(back->sk->ptr, k->sk->ptr, k->sk->len);
	assert_int_equal(back->sk->ptr[0], 0x30);
	/* A wrong passphrase: no key. */
	stele_seckey_free(back);
	back = NULL;
	assert_err(stele_keyfile_parse(&back, pem.ptr, pem.len, wrong, "k.key"),
		STELE_EINVALID, "cannot decrypt key file 'k.key': wrong passphrase");
	assert_null(back);
	/* Randomised signatures: two differ, both verify, with the PEM key. */
	assert_ok(stele_pubkey_pem(&pubpem, &k->pub));
	assert_true(!strncmp(pubpem.ptr, "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", 63));
	assert_ok(stele_pubkey_parse(&pub, pubpem.ptr, pubpem.len, "pub"));
	assert_string_equal(pub->id, k->pub.id);
	assert_int_equal(stele_pubkey_spki(spki, pub), STELE_SPKI_MAX);
	assert_ok(stele_key_sign(sig, &len, k, "m", 1));
	assert_ok(stele_key_sign(sig2, &len2, k, "m", 1));
	assert_true(len != len2 || memcmp(sig, sig2, len));
	assert_ok(stele_key_verify(NULL, pub, sig, len, "m", 1, STELE_SIG_PURE));
	assert_ok(stele_key_verify(NULL, pub, sig2, len2, "m", 1, STELE_SIG_PURE));
	/* A P-384 key sealed in a key file is refused by its curve. */
	b64(&der, p384_pkcs8);
	assert_ok(stele_keyfile_seal_json(&json, (unsigned char *)der.ptr, der.len,
					  pass, STELE_SCRYPT_N));
	assert_ok(stele_keyfile_open_json(&plain, json.ptr, json.len, pass, "j"));
	assert_int_equal(plain->len, der.len);
	stele_secret_free(plain);
	stele_buf_clear(&pem);
	{
		struct stele_buf b = STELE_BUF_INIT(16384);

		assert_ok(stele_base64_encode(&b, json.ptr, json.len));
		assert_ok(stele_buf_puts(&pem, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"));
		for (len = 0; len < b.len; len += 64) {
			assert_ok(stele_buf_put(&pem, b.ptr + len,
						b.len - len < 64 ? b.len - len : 64));
			assert_ok(stele_buf_putc(&pem, '\n'));
		}
		assert_ok(stele_buf_puts(&pem, "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"));
		stele_buf_release(&b);
	}
	assert_err(stele_keyfile_parse(&back, pem.ptr, pem.len, pass, "p384.key"),
		STELE_EINVALID, "'p384.key' holds an ECDSA key on curve secp384r1");
	assert_null(back);
	free(pub);
	stele_seckey_free(k);
	stele_buf_release(&der);
	stele_buf_release(&json);
	stele_buf_release(&pubpem);
	stele_buf_release(&pem);
	stele_secret_free(wrong);
	stele_secret_free(pass);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_base64_strict),
		cmocka_unit_test(test_keys_gss_vectors),
		cmocka_unit_test(test_keys_json_rejects),
		cmocka_unit_test(test_keys_parse_stages),
		cmocka_unit_test(test_keys_cosign_files),
		cmocka_unit_test(test_keys_sigstore_vectors),
		cmocka_unit_test(test_keys_pubkey_rejects),
		cmocka_unit_test(test_keys_roundtrip),
		cmocka_unit_test(test_keys_ecdsa_vectors),
		cmocka_unit_test(test_keys_ecdsa_pkcs8_rejects),
		cmocka_unit_test(test_keys_ecdsa_keyfile_roundtrip),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
