#include <string.h>

#include "registry/transfer_priv.h"
#include "util/error.h"
#include "verify/push.h"

int
stele_push_verified(struct stele_transfer *out,
		    struct stele_verify_report **report,
		    const struct stele_image *img, const struct stele_ref *dst,
		    const struct stele_push_opts *o)
{
	int error;

	*report = NULL;
	memset(out, 0, sizeof(*out));
	if (!o->insecure_skip_verify) {
		if (!o->verify || (!o->verify->policy && !o->verify->key))
			return stele_error_setc(STELE_EINVALID,
				"a push needs a policy or a key to verify with "
				"(or an explicit --insecure-skip-verify)");
		/* The pipeline only reads the image. */
		if ((error = stele_verify_image(report, (struct stele_image *)img,
						o->verify)) < 0)
			return error;
		if (!(*report)->allowed)
			return stele_error_setc(STELE_EVERIFY,
				"%s is not pushed: verification denied it",
				img->digest);
	}
	return stele_registry__push(out, img, dst, o->flags, o->registry);
}

int
stele_push_attachments(struct stele_transfer *out,
		       const struct stele_image *img,
		       const struct stele_ref *dst,
		       const struct stele_registry_opts *registry)
{
	memset(out, 0, sizeof(*out));
	return stele_registry__push(out, img, dst, STELE_PUSH__ATTACHMENTS_ONLY,
				    registry);
}
