#ifndef STELE_REGISTRY_TRANSFER_PRIV_H
#define STELE_REGISTRY_TRANSFER_PRIV_H

/* Between registry/pull.c and registry/push.c, and the push for the one
 * caller allowed to write to a registry: verify/push.c, which verifies
 * first (tests/e2e/t29 checks that nothing else calls it). */

#include <jansson.h>

#include "registry/client.h"
#include "registry/transfer.h"
#include "util/buf.h"

/* Is manifest `m` (media type `mt`, may be NULL) an index? */
int stele_transfer__is_index(const json_t *m, const char *mt);
/* m's mediaType, else `fallback`, else guessed from its shape (borrowed). */
const char *stele_transfer__media_type(const json_t *m, const char *fallback);
/* A descriptor with a valid sha256 digest and a size; EINVALID naming `what`. */
int stele_transfer__desc_check(const json_t *d, const char *what);
/* Referrers of `digest`: the API, else the "sha256-<hex>" tag's index;
 * STELE_ENOTFOUND when neither has any. */
int stele_transfer__remote_referrers(json_t **out, struct stele_registry *r,
				     const char *repo, const char *digest);
/* `first`'s layers, then `second`'s not among them (a new array); NULL
 * when `second` adds nothing (or the union would pass the cap). */
json_t *stele_transfer__union_layers(const json_t *first, const json_t *second);
/* cosign's config and manifest for a .sig/.att tag holding `layers`. */
int stele_transfer__attach_manifest(struct stele_buf *manifest,
				    struct stele_buf *config,
				    const json_t *layers);

enum {
	/* Push only what is attached to the image: the registry must
	 * already hold the image manifest by digest (STELE_ENOTFOUND). */
	STELE_PUSH__ATTACHMENTS_ONLY = 1 << 8
};

/*
 * Push local image `img` (its index.json entry, img->desc, names the
 * top manifest) to `dst` (docker://HOST/REPO:TAG, or @DIGEST which must
 * be the image's).  `flags`: stele_transfer_flags and the above.  Runs no
 * policy: verify/push.c gates first.
 */
int stele_registry__push(struct stele_transfer *out,
			 const struct stele_image *img,
			 const struct stele_ref *dst, unsigned flags,
			 const struct stele_registry_opts *o);

#endif
