#ifndef STELE_VERIFY_VERIFY_H
#define STELE_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdint.h>

#include "oci/image.h"
#include "util/fs.h"
#include "util/limits.h"
#include "util/sink.h"

/*
 * The verification pipeline (docs/policy.md): every blob's size and digest
 * (streamed), manifest/config consistency, signatures, attestations,
 * provenance rules, image rules; optionally a rebuild.  It runs on an image
 * in a local OCI layout (a registry image is pulled into a temporary layout
 * first).  Every check is recorded with its result and, on failure, its
 * reason.
 */
struct stele_registry_opts;

struct stele_verify_opts {
	const char *policy; /* policy file, or NULL */
	const char *key; /* --key PUB: at least one signature by it */
	/*
	 * What the image is verified as (verify/identity.h), the first set of:
	 * `identity` (--identity REF), `reference` (where it lives:
	 * HOST/REPO:TAG or HOST/REPO@DIGEST of a docker:// image), the
	 * identity recorded on its index entry when it was signed or pulled
	 * (STELE_ANN_IDENTITY), `default_identity` (a store NAME:TAG).  The
	 * policy's signatures.identity says how signatures must match it.
	 */
	const char *identity;
	const char *reference;
	const char *default_identity;
	/* The tag the image was named by (image.noLatest); NULL: none.
	 * Unless `named` is set, a NULL tag falls back to the tag in the
	 * layout's ref.name. */
	const char *tag;
	int named;
	int rebuild; /* also rebuild from the provenance */
	/*
	 * Skip reading the layer blobs (admission, where the runtime checks
	 * each layer's digest as it pulls): the manifest and config are
	 * still checked against their digests, then signatures, attestations,
	 * provenance and image rules as the policy says; the report carries a
	 * warning that no layer digest, size or diff_id was checked.
	 */
	int signatures_only;
	int64_t now; /* the time of the checks (Unix seconds): key
				 * validity, image and database age; 0: now */
	const struct stele_registry_opts *registry; /* for a rebuild's bases
						       (may be NULL) */
	struct stele_limits limits; /* for that rebuild; zeros: defaults */
	const struct stele_dirs *dirs; /* for that rebuild (util/fs.h);
					  NULL: none */
	stele_progress_fn progress;
	void *progress_payload;
};

struct stele_verify_check {
	char *name; /* e.g. "blob sha256:…", "signature threshold" */
	int ok;
	char *reason; /* why it failed (or a detail when ok); may be NULL */
};

struct stele_verify_report {
	char digest[STELE_DIGEST_STRLEN];
	int allowed; /* every check passed */
	int provenance; /* a signed SLSA statement by a provenance key of the
			   policy, about this digest, was accepted */
	char *identity; /* what it was verified as, or NULL */
	char **warnings; /* what the policy explicitly allows (threshold 0) */
	size_t nwarnings;
	struct stele_verify_check *checks;
	size_t n, alloc;
};

/*
 * Run the pipeline on `img`.  Returns 0 when it ran to a verdict
 * (report->allowed says which), STELE_EINVALID for a bad policy or key
 * file, another error when it could not run.  *out is set either way when
 * the pipeline started.
 */
int stele_verify_image(struct stele_verify_report **out,
		       struct stele_image *img,
		       const struct stele_verify_opts *o);
void stele_verify_report_free(struct stele_verify_report *r);
/* {"digest":…, "allowed":…, "identity":…, "warnings":[…],
 *  "checks":[{"name","ok","reason"}]}; new ref. */
json_t *stele_verify_report_json(const struct stele_verify_report *r);

#endif
