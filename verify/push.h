#ifndef STELE_VERIFY_PUSH_H
#define STELE_VERIFY_PUSH_H

#include "oci/image.h"
#include "oci/ref.h"
#include "registry/client.h"
#include "registry/transfer.h"
#include "verify/verify.h"

/*
 * The verified push: the only route from stele to a registry write.  The
 * image goes through the verification pipeline (verify/verify.h) first,
 * and nothing is sent unless it is allowed, so no caller (push, copy,
 * rollout, admission) can put an unverified image in a registry.
 */
struct stele_push_opts {
	/* How to verify: a policy or a key (stele_verify_opts).  Required
	 * unless `insecure_skip_verify`. */
	const struct stele_verify_opts *verify;
	/* Push without verifying: only when the user said so explicitly
	 * (--insecure-skip-verify); *report is then NULL. */
	int insecure_skip_verify;
	unsigned flags; /* stele_transfer_flags */
	const struct stele_registry_opts *registry;
};

/*
 * Verify `img`, then push it with its signatures, attestations and
 * referrers to `dst` (docker://HOST/REPO:TAG or @DIGEST).  *report (the
 * verification, caller frees with stele_verify_report_free) is set once
 * verification ran.  Returns 0 when pushed; STELE_EVERIFY when the
 * verification denied it (nothing was sent); STELE_EINVALID for a bad
 * policy or key or when neither a verification nor the explicit skip is
 * given; another error when the push failed.
 */
int stele_push_verified(struct stele_transfer *out,
			struct stele_verify_report **report,
			const struct stele_image *img,
			const struct stele_ref *dst,
			const struct stele_push_opts *o);

/*
 * Push only what is attached to `img` (new signatures, attestations,
 * referrers) to the repository of `dst`, which must already hold the
 * image manifest by digest (STELE_ENOTFOUND otherwise, naming it): how
 * `stele sign docker://…` adds a signature where the image lives.  No
 * image content is written, and every attachment is checked on read by
 * whoever verifies, so this needs no verification of its own.
 */
int stele_push_attachments(struct stele_transfer *out,
			   const struct stele_image *img,
			   const struct stele_ref *dst,
			   const struct stele_registry_opts *registry);

/*
 * Called by stele_push_tag_verified() after the verification allowed the
 * digest and before the tag is re-read and moved (the rollout's health
 * check).  0 lets the move go on; anything else stops it, and is returned.
 */
typedef int (*stele_push_gate_fn)(void *payload,
				  const struct stele_verify_report *report);

struct stele_push_tag {
	const char *name; /* HOST/REPO */
	const char *tag; /* the tag to move */
	const char *digest; /* the manifest it is to name (in the repository) */
	const char *expect; /* what it names now, as the caller read it;
				NULL: it must not exist */
	stele_push_gate_fn gate; /* may be NULL */
	void *gate_payload;
};

/*
 * A tag move: verify the image HOST/REPO@DIGEST where it lives (pulled
 * with its attachments into a temporary layout, verified as
 * HOST/REPO@DIGEST with o->verify, which is required: a tag is never moved
 * unverified), call the gate, then point the tag at the digest, re-reading
 * it just before (it must still name `expect`) and after (it must name the
 * digest).  *report as stele_push_verified() sets it.  Returns 0 when
 * moved; STELE_EVERIFY when denied (nothing moved); the gate's error; an
 * error saying the tag moved under the caller (nothing moved) or was
 * moved by another at the same time; another error.
 */
int stele_push_tag_verified(struct stele_verify_report **report,
			    const struct stele_push_tag *t,
			    const struct stele_push_opts *o);

/*
 * Put artifact `a` (registry/transfer.h), an artifact that is not an
 * image: the rollout journal (deploy/journal.h).  Its layers are signed,
 * hash-chained entries that every reader checks, and an artifact manifest
 * with an empty config runs nowhere, so, as with stele_push_attachments(),
 * no policy is run here.  The tag is re-read before the put (it must name
 * a->expect) and read back after.  `out` gets the manifest digest.
 */
int stele_push_artifact(char out[STELE_DIGEST_STRLEN],
			const struct stele_artifact *a,
			const struct stele_registry_opts *registry);

/*
 * Put a build cache (verify/regcache.h) with its signatures under `dst`
 * (docker://HOST/REPO:TAG): an artifact whose config is of media type
 * STELE_MT_BUILD_CACHE, so no image, and which runs nowhere.  As with
 * stele_push_attachments(), no policy runs here: every reader checks the
 * cache's signature against the keys it trusts before it uses an entry
 * (stele_regcache_open).  Refused, with nothing sent (STELE_EINVALID),
 * when `img` is not a build cache or carries no signature, so this is no
 * route for an image, and no unsigned cache is published.
 */
int stele_push_cache(struct stele_transfer *out, const struct stele_image *img,
		     const struct stele_ref *dst,
		     const struct stele_registry_opts *registry);

#endif
