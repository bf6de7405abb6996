/*
 * Verification policies: stele_policy_parse() on the input.  The policy
 * "lives" in a directory that does not exist, so a relative key path
 * reads nothing; an inline PEM key goes through the public key parser.
 */
#include "tests/fuzz/fuzz.h"
#include "verify/policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_policy *p = NULL;
	size_t i;

	if (stele_policy_parse(&p, (const char *)data, size,
			       "/nonexistent/stele-fuzz/policy.json") < 0)
		return 0;
	for (i = 0; i < p->nsig_keys; i++)
		if (!stele_policy_key(p, p->sig_keys[i]))
			abort(); /* the parser promised every name is known */
	for (i = 0; i < p->nprov_keys; i++)
		if (!stele_policy_key(p, p->prov_keys[i]))
			abort();
	for (i = 0; i < p->nkeys; i++)
		if (!p->keys[i].key)
			abort();
	stele_policy_free(p);
	return 0;
}
