#ifndef STELE_KEYS_KEYFILE_H
#define STELE_KEYS_KEYFILE_H

#include <stddef.h>

#include "keys/key.h"
#include "util/buf.h"

/*
 * Encrypted private key files, as cosign writes them (docs/keys.md): a PEM
 * block whose body is this JSON, compact, in this key order:
 *
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64>"},
 *    "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},"ciphertext":"<b64>"}
 *
 * The key is scrypt(passphrase, salt) (32 bytes), the plaintext the PKCS#8
 * DER of the private key, sealed with XSalsa20-Poly1305 (MAC first).
 *
 * stele writes type "ENCRYPTED COSIGN PRIVATE KEY" with N=32768, r=8, p=1
 * (the one variant every cosign, skopeo and containers/image reads).  It
 * reads that type and "ENCRYPTED SIGSTORE PRIVATE KEY", with N = 32768,
 * 65536 or 131072, r = 8, p = 1.  Anything else is STELE_EINVALID naming
 * the reason; a passphrase that does not open the box is STELE_EINVALID
 * "wrong passphrase".  The key inside is an Ed25519 PKCS#8 (stele's and
 * `cosign import-key-pair`'s) or an ECDSA P-256 PKCS#8 (`cosign
 * generate-key-pair`'s); another curve, an RSA key or a SEC1 "EC PRIVATE
 * KEY" that decrypts is refused with its type named.  The decrypted DER
 * stays in sodium memory (see keys/key.h for OpenSSL's copy of a P-256
 * key).
 */
#define STELE_PEM_COSIGN "ENCRYPTED COSIGN PRIVATE KEY"
#define STELE_PEM_SIGSTORE "ENCRYPTED SIGSTORE PRIVATE KEY"
#define STELE_SCRYPT_N 32768
#define STELE_SCRYPT_R 8
#define STELE_SCRYPT_P 1

/* Append the PEM key file text for `k` sealed under `pass`. */
int stele_keyfile_write(struct stele_buf *out, const struct stele_seckey *k,
			const struct stele_secret *pass);

/*
 * The JSON layer alone: seal `plain` (any bytes) under `pass` with the
 * given scrypt N (r=8, p=1), and open such JSON into secure memory.  The
 * opener enforces the rules above.  `what` names the file in errors.
 */
int stele_keyfile_seal_json(struct stele_buf *out, const unsigned char *plain,
			    size_t len, const struct stele_secret *pass,
			    unsigned long n);
int stele_keyfile_open_json(struct stele_secret **out, const char *json,
			    size_t len, const struct stele_secret *pass,
			    const char *what);

/* Parse a PEM key file's bytes and decrypt the key in it. */
int stele_keyfile_parse(struct stele_seckey **out, const void *pem, size_t len,
			const struct stele_secret *pass, const char *what);
enum stele_keyfile_flags {
	/* Use a key file that group or others may access (see below). */
	STELE_KEYFILE_ALLOW_OPEN_PERMS = 1 << 0,
};

/*
 * 0 when the key file at `path` can be read and, if it holds a PEM private
 * key, no one but its owner may read, write or run it (mode & 077 == 0), as
 * ssh and minisign want of a secret key.  Else STELE_ENOTFOUND (no such
 * file), STELE_EINVALID (group or other permission bits on a private key:
 * the message says `chmod 600 PATH`; STELE_KEYFILE_ALLOW_OPEN_PERMS in
 * `flags` allows it) or STELE_ERROR.  Decrypts nothing: for reporting a
 * refused file before asking for its passphrase.
 */
int stele_keyfile_check(const char *path, unsigned int flags);
/*
 * Read (capped) and parse a key file, after the same permission check,
 * made on the descriptor that is read.
 */
int stele_keyfile_load(struct stele_seckey **out, const char *path,
		       const struct stele_secret *pass, unsigned int flags);

/*
 * Internal: the stages of stele_keyfile_parse() before and after the KDF,
 * each on its own so tests and fuzzers reach every parser without paying
 * for scrypt.  _unpem() checks the PEM armour (type, no headers, nothing
 * after) and appends the body, the JSON, to `out`.  _decode() checks that
 * JSON (the rules above) into `out`, which the caller _init()s and
 * _release()s whatever happens.  _kind() names what a decrypted key that
 * is not Ed25519 PKCS#8 is (a static string), reading `der` bounded.
 */
struct stele_keyfile__sealed {
	unsigned long n; /* scrypt N */
	struct stele_buf salt;
	struct stele_buf nonce;
	struct stele_buf ct; /* ciphertext with its MAC */
};

int stele_keyfile__unpem(struct stele_buf *out, const void *pem, size_t len,
			 const char *what);
void stele_keyfile__sealed_init(struct stele_keyfile__sealed *s);
void stele_keyfile__sealed_release(struct stele_keyfile__sealed *s);
int stele_keyfile__decode(struct stele_keyfile__sealed *out, const char *json,
			  size_t len, const char *what);
const char *stele_keyfile__kind(const unsigned char *der, size_t len);

#endif
