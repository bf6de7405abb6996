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
	unsigned flags;                              /* stele_transfer_flags */
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

#endif
