#ifndef STELE_BUILDER_PROVENANCE_H
#define STELE_BUILDER_PROVENANCE_H

#include <jansson.h>

#include "oci/layout.h"

/*
 * Build provenance: an in-toto Statement v1 with an SLSA v1 predicate
 * (docs/provenance.md).  Per-layer records go in runDetails.byproducts, one
 * ResourceDescriptor per image layer, in image order.
 */
#define STELE_BUILD_TYPE "https://stele.dev/buildtypes/recipe/v1"
#define STELE_PREDICATE_SLSA1 "https://slsa.dev/provenance/v1"
#define STELE_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define STELE_MT_INTOTO "application/vnd.in-toto+json"
#define STELE_ANN_PREDICATE "in-toto.io/predicate-type"

struct stele_prov {
	json_t *external;     /* externalParameters */
	json_t *internal;     /* internalParameters */
	json_t *deps;         /* resolvedDependencies */
	json_t *layers;       /* byproducts */
	char started[32];
};

void stele_prov_init(struct stele_prov *p);
void stele_prov_release(struct stele_prov *p);
/* A dependency {uri, digest:{algo:value,...}}; `digest` is stolen.
 * Added once per uri+digest. */
void stele_prov_dep(struct stele_prov *p, const char *uri, json_t *digest);
/*
 * A layer record.  `inputs` (stolen) is an array of what the step consumed,
 * each an object with a digest; `base` marks layers inherited from a base.
 */
void stele_prov_layer(struct stele_prov *p, const char *media_type,
		      const char *digest, uint64_t size, const char *diff_id,
		      const char *stage, const char *recipe, int line,
		      const char *instruction, json_t *inputs, int base);
/* The statement for the image; new reference. */
json_t *stele_prov_statement(struct stele_prov *p, const char *name,
			     const char *manifest_digest,
			     const char *builder_id, const char *version);

/*
 * Stage a statement as a referrer of `subject` (a manifest descriptor):
 * the statement blob, an OCI 1.1 artifact manifest with `subject`, and an
 * index.json entry without a ref.name.  Fills the referrer's digest.
 */
int stele_prov_store(char digest[STELE_DIGEST_STRLEN], struct stele_txn *txn,
		     const json_t *statement, const json_t *subject);

/*
 * Find referrers of `subject_digest` in a layout's index.json (entries
 * whose manifest has that subject).  *out: array of descriptors.
 */
int stele_referrers(json_t **out, const struct stele_oci *oci,
		    const char *subject_digest);

/*
 * The first SLSA v1 statement stored as a referrer of `subject_digest`
 * (unsigned: as the builder stored it), read digest-checked and parsed
 * strictly.  STELE_ENOTFOUND when there is none.  *out owned by the caller.
 */
int stele_prov_load(json_t **out, const struct stele_oci *oci,
		    const char *subject_digest);

#endif
