/*
 * cosign simple-signing payloads: stele_payload_parse() on the input; what
 * it accepts must be a payload stele could have built (a valid digest,
 * an identity, an object or nothing as `optional`).  Its docker-reference
 * then goes where verification sends it: stele_dref_parse() and
 * stele_identity_match() under the default identity rule and under
 * remapIdentity.
 */
#include "oci/digest.h"
#include "signer/payload.h"
#include "tests/fuzz/fuzz.h"
#include "verify/identity.h"

static char prefix[] = "registry.example/app", signed_prefix[] = "mirror.example";
static const struct stele_identity remap = { STELE_ID_REMAP_IDENTITY, NULL,
	prefix, signed_prefix, 0 };

static void
match(const struct stele_identity *id, const char *signed_ref)
{
	char *why = NULL;

	if (stele_identity_match(id, "registry.example/app:v1", signed_ref,
				 &why) == 0 && !why)
		abort(); /* a "no" always says why */
	free(why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_payload *p = NULL;
	struct stele_dref d;

	if (stele_payload_parse(&p, data, size) < 0)
		return 0;
	if (!p->identity || stele_digest_validate(p->digest) < 0 ||
	    (p->optional && !json_is_object(p->optional)))
		abort();
	if (stele_dref_parse(&d, p->identity) == 0) {
		free(stele_dref_string(&d));
		stele_dref_release(&d);
	}
	match(NULL, p->identity);
	match(&remap, p->identity);
	stele_payload_free(p);
	return 0;
}
