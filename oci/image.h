#ifndef STELE_OCI_IMAGE_H
#define STELE_OCI_IMAGE_H

#include <jansson.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/ref.h"

/*
 * An image read from a layout: its manifest and config, both checked
 * against their digests before being parsed.  An index is followed to its
 * linux/<this architecture> manifest.
 */
struct stele_image {
	struct stele_oci *oci; /* owned */
	char digest[STELE_DIGEST_STRLEN]; /* manifest digest */
	uint64_t size; /* manifest size */
	char config_digest[STELE_DIGEST_STRLEN];
	json_t *manifest;
	json_t *config;
	json_t *desc; /* index.json descriptor (may lack size) */
};

/* Open a local reference (store or oci:).  *out owned by the caller. */
int stele_image_open(struct stele_image **out, const struct stele_ref *ref);
int stele_image_load(struct stele_image **out, struct stele_oci *oci,
		     const char *refname, const char *digest);
void stele_image_free(struct stele_image *img);
size_t stele_image_nlayers(const struct stele_image *img);
/* Borrowed layer descriptor i. */
json_t *stele_image_layer(const struct stele_image *img, size_t i);
const char *stele_image_diff_id(const struct stele_image *img, size_t i);

/* "amd64", "arm64", ... for this build of stele (compile-time). */
const char *stele_oci_arch(void);

#endif
