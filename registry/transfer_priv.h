#ifndef STELE_REGISTRY_TRANSFER_PRIV_H
#define STELE_REGISTRY_TRANSFER_PRIV_H

/* The registry writes for the one caller allowed to make them:
 * verify/push.c, which verifies first (tests/e2e/t29 checks that nothing
 * else calls them). */

#include <jansson.h>

#include "registry/client.h"
#include "registry/transfer.h"
#include "util/buf.h"

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

/*
 * Move tag `tag` of `name` (HOST/REPO) to manifest `digest`, which the
 * repository must hold: its exact bytes are read by digest and put under
 * the tag (so the tag names the same digest).  The tag is re-read
 * immediately before the put and must still name `expect` (NULL: the tag
 * must not exist), else nothing is written and the error says the tag
 * moved under the caller; it is read back after the put and must name
 * `digest`, else the error says another process moved it at the same
 * time.  Runs no policy: verify/push.c verifies the digest first.
 */
int stele_registry__tag(const char *name, const char *tag, const char *digest,
			const char *expect,
			const struct stele_registry_opts *o);

/*
 * Put artifact `a` (its layers uploaded unless present).  The tag is
 * re-read before and read back after the put as stele_registry__tag()
 * does.  `out` gets the manifest digest.  Runs no policy: verify/push.c
 * says why none is needed.
 */
int stele_registry__artifact_put(char out[STELE_DIGEST_STRLEN],
				 const struct stele_artifact *a,
				 const struct stele_registry_opts *o);

#endif
