#ifndef STELE_OCI_REFERRERS_H
#define STELE_OCI_REFERRERS_H

#include <jansson.h>

#include "oci/layout.h"
#include "util/buf.h"

/*
 * What is attached to an image, and the names it is found by: the one
 * place that knows them (docs/registry.md).
 *
 *  - cosign's tags: "sha256-<hex>.sig" (signatures), "sha256-<hex>.att"
 *    (attestations), each naming a manifest whose layers are the
 *    attachments;
 *  - the distribution spec's tag schema: "sha256-<hex>", an image index of
 *    the subject's referrers, for registries without the referrers API;
 *  - OCI 1.1 referrers in a layout: index.json entries with an
 *    artifactType and no ref.name whose manifest's `subject` is the image.
 */
enum stele_attach_kind {
	STELE_ATTACH_SIG, /* sha256-<hex>.sig */
	STELE_ATTACH_ATT, /* sha256-<hex>.att */
	STELE_ATTACH_REFERRERS /* sha256-<hex> */
};

/* The cosign tags, in the order transfers move them. */
#define STELE_COSIGN_TAGS \
	{ \
		STELE_ATTACH_SIG, STELE_ATTACH_ATT \
	}
#define STELE_NCOSIGN_TAGS 2

/* Of at most this many referrers per subject (a cap on untrusted lists). */
#define STELE_REFERRERS_MAX 1000

/* The tag of `kind` for image `digest` ("sha256:<hex>"); malloc'd. */
char *stele_attach_tag_name(const char *digest, enum stele_attach_kind kind);

/*
 * The config and manifest of an attachment holding `layers` (descriptors
 * with valid digests, else STELE_EINVALID), built as cosign builds them:
 * the config has one history entry and diff_id per layer and cosign's
 * zero time; the manifest's config has media type `config_mt` and, with
 * `subject` non-NULL, the manifest has that subject.  Appended to `config`
 * and `manifest`.  The one builder for signer/ and registry/.
 */
int stele_attach_manifest(struct stele_buf *manifest, struct stele_buf *config,
			  const char *config_mt, const json_t *layers,
			  const json_t *subject);

/*
 * The referrers of `subject` in a layout, in index order: *out is an array
 * of their index.json entries (copies); with `manifests` non-NULL,
 * *manifests is the parallel array of their parsed manifests (each read
 * digest-checked).  More than STELE_REFERRERS_MAX is STELE_EINVALID.  An
 * entry whose manifest cannot be read is skipped when `manifests` is NULL
 * (a listing), an error otherwise (a copy must not lose one).
 */
int stele_oci_referrers(json_t **out, json_t **manifests,
			const struct stele_oci *oci, const char *subject);

#endif
