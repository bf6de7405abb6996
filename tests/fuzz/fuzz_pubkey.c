/*
 * Public keys: stele_pubkey_parse() on the input as a PEM file; a key it
 * accepts must write back as PEM and parse again to the same key.
 */
#include "keys/key.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_buf pem = STELE_BUF_INIT(4096);
	struct stele_pubkey *k = NULL, *again = NULL;

	if (stele_pubkey_parse(&k, data, size, "fuzz.pub") < 0)
		return 0;
	if (stele_pubkey_pem(&pem, k) < 0 ||
	    stele_pubkey_parse(&again, pem.ptr, pem.len, "again") < 0 ||
	    again->type != k->type || again->pklen != k->pklen ||
	    memcmp(again->pk, k->pk, k->pklen) || strcmp(again->id, k->id))
		abort();
	free(again);
	free(k);
	stele_buf_release(&pem);
	return 0;
}
