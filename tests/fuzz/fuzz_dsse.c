/*
 * DSSE envelopes: stele_dsse_parse() on the input; an envelope it accepts
 * gets its PAE built and its signatures checked against the seeds' key
 * (and the answer must be yes or no, never an error).
 */
#include "keys/key.h"
#include "signer/dsse.h"
#include "tests/fuzz/fuzz.h"

static struct stele_pubkey *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (stele_pubkey_parse(&key, FUZZ_SEED_PUB, strlen(FUZZ_SEED_PUB),
			       "seed key") < 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_buf pae = STELE_BUF_INIT(2 * STELE_DSSE_MAX);
	struct stele_dsse *e = NULL;
	enum stele_sig_mode mode;
	int error;

	if (stele_dsse_parse(&e, data, size, "fuzz.dsse") < 0)
		return 0;
	if (stele_dsse_pae(&pae, e->type, e->payload.ptr, e->payload.len) < 0)
		abort();
	error = stele_dsse_verify(&mode, e, key, STELE_SIG_PURE | STELE_SIG_PREHASH);
	if (error != 0 && error != STELE_EVERIFY)
		abort();
	stele_buf_release(&pae);
	stele_dsse_free(e);
	return 0;
}
