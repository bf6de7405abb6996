/*
 * Encrypted private key files, every stage but the KDF (scrypt at
 * N=32768 costs a fuzzer thousands of runs per input): the PEM armour
 * (stele_keyfile__unpem), the JSON inside it (stele_keyfile__decode), and
 * and what reads the decrypted key: the DER reader that names its type
 * (stele_keyfile__kind) and the P-256 PKCS#8 loader
 * (stele_seckey_from_p256_pkcs8), fed the input itself, since a decrypted
 * key is only as trustworthy as whoever chose the passphrase.  When the
 * input is not PEM, it is tried as the JSON directly.
 */
#include "keys/keyfile.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_buf json = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	struct stele_keyfile__sealed s;
	struct stele_seckey *k = NULL;

	stele_keyfile__sealed_init(&s);
	if (stele_keyfile__unpem(&json, data, size, "fuzz.key") == 0)
		(void)stele_keyfile__decode(&s, stele_buf_cstr(&json), json.len,
					    "fuzz.key");
	else
		(void)stele_keyfile__decode(&s, (const char *)data, size,
					    "fuzz.json");
	stele_keyfile__sealed_release(&s);
	stele_buf_release(&json);
	if (!stele_keyfile__kind(data, size))
		abort();
	if (stele_seckey_from_p256_pkcs8(&k, data, size, "fuzz.der") == 0) {
		if (k->type != STELE_KEY_ECDSA_P256 ||
		    k->pub.pklen != STELE_P256_PK_BYTES)
			abort();
		stele_seckey_free(k);
	}
	return 0;
}
