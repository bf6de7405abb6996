/*
 * Registry authentication challenges: the parameters stele reads from a
 * 401's WWW-Authenticate header (stele_registry__challenge_param), given
 * the input as the header's value, as the registry client does.
 */
#include "registry/client_priv.h"
#include "tests/fuzz/fuzz.h"

static const char *const names[] = { "realm", "service", "scope", "error" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fuzz_cstr(data, size);
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char *v = stele_registry__challenge_param(h, names[i]);

		/* A value never outgrows the header it came from. */
		if (v && strlen(v) > size)
			abort();
		free(v);
	}
	free(h);
	return 0;
}
