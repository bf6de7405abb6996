#include <stdlib.h>
#include <string.h>

#include "registry/transfer_priv.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/push.h"
#include "verify/regcache.h"

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
			return stele_error_setc(
				STELE_EINVALID,
				"a push needs a policy or a key to verify with "
				"(or an explicit --insecure-skip-verify)");
		/* The pipeline only reads the image. */
		if ((error = stele_verify_image(
			     report, (struct stele_image *)img, o->verify)) < 0)
			return error;
		if (!(*report)->allowed)
			return stele_error_setc(
				STELE_EVERIFY,
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

int
stele_push_tag_verified(struct stele_verify_report **report,
			const struct stele_push_tag *t,
			const struct stele_push_opts *o)
{
	struct stele_verify_opts vo;
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	char *src = NULL, *tmpdir = NULL;
	int error;

	*report = NULL;
	if (!o->verify || (!o->verify->policy && !o->verify->key))
		return stele_error_setc(
			STELE_EINVALID,
			"moving a tag needs a policy or a key to verify with");
	if (stele_digest_validate(t->digest) < 0)
		return stele_error_setc(STELE_EINVALID,
					"'%s' is not a sha256 digest",
					t->digest);
	src = stele_xasprintf("docker://%s@%s", t->name, t->digest);
	if ((error = stele_ref_parse(&ref, src, NULL)) < 0 ||
	    (error = stele_registry_pull_temp(&img, &tmpdir, ref,
					      o->registry)) < 0)
		goto out;
	/* Verified as where it lives, by digest. */
	vo = *o->verify;
	vo.reference = src + strlen("docker://");
	vo.default_identity = NULL;
	vo.tag = NULL;
	vo.named = 1;
	if ((error = stele_verify_image(report, img, &vo)) < 0)
		goto out;
	if (!(*report)->allowed) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s is not tagged '%s': verification denied it",
			t->digest, t->tag);
		goto out;
	}
	if (t->gate && (error = t->gate(t->gate_payload, *report)) != 0)
		goto out;
	error = stele_registry__tag(t->name, t->tag, t->digest, t->expect,
				    o->registry);
out:
	stele_image_free(img);
	stele_ref_free(ref);
	stele_fs_tmp_free(tmpdir);
	free(src);
	return error;
}

int
stele_push_artifact(char out[STELE_DIGEST_STRLEN],
		    const struct stele_artifact *a,
		    const struct stele_registry_opts *registry)
{
	return stele_registry__artifact_put(out, a, registry);
}

int
stele_push_cache(struct stele_transfer *out, const struct stele_image *img,
		 const struct stele_ref *dst,
		 const struct stele_registry_opts *registry)
{
	const char *mt = stele_json_str(
		json_object_get(img->manifest, "config"), "mediaType");
	json_t *sigs = NULL;
	size_t n;
	int error;

	memset(out, 0, sizeof(*out));
	if (!mt || strcmp(mt, STELE_MT_BUILD_CACHE))
		return stele_error_setc(
			STELE_EINVALID,
			"%s is not a build cache (config media type '%s'): "
			"images are pushed verified (stele push)",
			img->digest, mt ? mt : "");
	if ((error = stele_attach_layers(&sigs, img->oci, img->digest,
					 STELE_ATTACH_SIG, STELE_ART_SIG)) < 0)
		return error;
	n = json_array_size(sigs);
	json_decref(sigs);
	if (!n)
		return stele_error_setc(
			STELE_EINVALID,
			"build cache %s is not signed: not pushed",
			img->digest);
	return stele_registry__push(out, img, dst, 0, registry);
}
