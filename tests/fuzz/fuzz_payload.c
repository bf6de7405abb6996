/*
 * cosign simple-signing payloads: stele_payload_parse() on the input; what
 * it accepts must be a payload stele could have built (a valid digest,
 * an identity, an object or nothing as `optional`).
 */
#include "oci/digest.h"
#include "signer/payload.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_payload *p = NULL;

	if (stele_payload_parse(&p, data, size) < 0)
		return 0;
	if (!p->identity || stele_digest_validate(p->digest) < 0 ||
	    (p->optional && !json_is_object(p->optional)))
		abort();
	stele_payload_free(p);
	return 0;
}
