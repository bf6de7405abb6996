#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

const char *
stele_oci_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#else
	return "386";
#endif
}

void
stele_image_free(struct stele_image *img)
{
	if (!img)
		return;
	stele_oci_free(img->oci);
	json_decref(img->manifest);
	json_decref(img->config);
	json_decref(img->desc);
	free(img);
}

static int
pick_platform(char out[STELE_DIGEST_STRLEN], json_t *index, const char *what)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(index, "manifests"), i, m) {
		json_t *p = json_object_get(m, "platform");
		const char *d = stele_json_str(m, "digest");

		if (p && d &&
		    !strcmp(stele_json_str(p, "os") ? stele_json_str(p, "os")
						    : "",
			    "linux") &&
		    !strcmp(stele_json_str(p, "architecture")
				    ? stele_json_str(p, "architecture")
				    : "",
			    stele_oci_arch()) &&
		    stele_digest_validate(d) == 0) {
			snprintf(out, STELE_DIGEST_STRLEN, "%s", d);
			return 0;
		}
	}
	return stele_error_setc(STELE_ENOTFOUND,
				"image index %s has no linux/%s image", what,
				stele_oci_arch());
}

/*
 * A manifest or index names schemaVersion 2 as a JSON integer (jansson reads
 * 2.0 and -0.0 as reals, and they are not it).
 */
static int
schema_check(const json_t *m, const char *digest)
{
	const json_t *v = json_object_get(m, "schemaVersion");

	if (!json_is_integer(v) || json_integer_value(v) != 2)
		return stele_error_setc(
			STELE_EINVALID,
			"manifest %s: schemaVersion must be the integer 2",
			digest);
	return 0;
}

/* mediaType a non-empty string, digest a sha256 digest, size >= 0. */
static int
descriptor_check(const json_t *d)
{
	const char *mt = stele_json_str(d, "mediaType");
	const char *dg = stele_json_str(d, "digest");
	const json_t *size = json_object_get(d, "size");

	if (!json_is_object(d) || !mt || !*mt || !dg ||
	    stele_digest_validate(dg) < 0 || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return STELE_EINVALID;
	return 0;
}

/*
 * The image manifest's shape, checked once here so that no caller of
 * stele_image_load() meets a layer without a digest or a size that is not
 * a number.
 */
static int
manifest_check(const json_t *m, const char *digest)
{
	const json_t *layers = json_object_get(m, "layers"), *l;
	size_t i;
	int error;

	if ((error = schema_check(m, digest)) < 0)
		return error;
	if (descriptor_check(json_object_get(m, "config")) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"manifest %s: config is not a descriptor "
			"(mediaType, digest, size)",
			digest);
	if (!json_is_array(layers))
		return stele_error_setc(STELE_EINVALID,
					"manifest %s lacks a config or layers",
					digest);
	json_array_foreach(layers, i, l)
		if (descriptor_check(l) < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"manifest %s: layer %zu is not a descriptor "
				"(mediaType, digest, size)",
				digest, i);
	return 0;
}

int
stele_image_load(struct stele_image **out, struct stele_oci *oci,
		 const char *refname, const char *digest)
{
	struct stele_image *img = stele_xcalloc(1, sizeof(*img));
	const char *mt, *cd;
	json_t *layers, *diffs;
	int error, depth;

	*out = NULL;
	img->oci = oci;
	if ((error = stele_oci_resolve(&img->desc, oci, refname, digest)) < 0)
		goto out;
	snprintf(img->digest, sizeof(img->digest), "%s",
		 stele_json_str(img->desc, "digest"));
	for (depth = 0;; depth++) {
		if ((error = stele_oci_json_read(&img->manifest, &img->size,
						 oci, img->digest)) < 0)
			goto out;
		mt = stele_json_str(img->manifest, "mediaType");
		if (!mt || strcmp(mt, STELE_MT_INDEX) ||
		    !json_is_array(json_object_get(img->manifest, "manifests")))
			break;
		if ((error = schema_check(img->manifest, img->digest)) < 0)
			goto out;
		if (depth > 2) {
			error = stele_error_setc(
				STELE_EINVALID,
				"image index %s nests too deeply", img->digest);
			goto out;
		}
		error = pick_platform(img->digest, img->manifest, img->digest);
		json_decref(img->manifest);
		img->manifest = NULL;
		if (error < 0)
			goto out;
	}
	if (mt && strcmp(mt, STELE_MT_MANIFEST) &&
	    strcmp(mt,
		   "application/vnd.docker.distribution.manifest.v2+json")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"%s is not an image manifest (mediaType '%s')",
			img->digest, mt);
		goto out;
	}
	if ((error = manifest_check(img->manifest, img->digest)) < 0)
		goto out;
	cd = stele_json_str(json_object_get(img->manifest, "config"), "digest");
	layers = json_object_get(img->manifest, "layers");
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", cd);
	if ((error = stele_oci_json_read(&img->config, NULL, oci, cd)) < 0)
		goto out;
	diffs = json_object_get(json_object_get(img->config, "rootfs"),
				"diff_ids");
	if (!json_is_array(diffs) ||
	    json_array_size(diffs) != json_array_size(layers)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"image %s: config has %zu diff_ids for %zu layers",
			img->digest, json_array_size(diffs),
			json_array_size(layers));
		goto out;
	}
	*out = img;
	img = NULL;
out:
	if (img)
		img->oci = NULL; /* not ours on failure */
	stele_image_free(img);
	return error;
}

int
stele_image_open(struct stele_image **out, const struct stele_ref *ref)
{
	struct stele_oci *oci;
	int error;

	*out = NULL;
	if (ref->transport == STELE_REF_DOCKER)
		return stele_error_setc(
			STELE_EINVALID,
			"'docker://%s' is in a registry; this command reads local images (oci: or NAME:TAG)",
			ref->name);
	if ((error = stele_oci_open(&oci, ref->dir, 0)) < 0)
		return error;
	if ((error = stele_image_load(out, oci,
				      ref->refname          ? ref->refname
					      : ref->digest ? NULL
							    : "latest",
				      ref->digest)) < 0) {
		/* An oci: layout without a tag: its only image. */
		json_t *idx = NULL;

		if (error == STELE_ENOTFOUND &&
		    ref->transport == STELE_REF_OCI && !ref->tag &&
		    !ref->digest && stele_oci_index_load(&idx, oci) == 0 &&
		    json_array_size(json_object_get(idx, "manifests")) >= 1) {
			const char *d = stele_json_str(
				json_array_get(
					json_object_get(idx, "manifests"), 0),
				"digest");
			char dig[STELE_DIGEST_STRLEN];

			snprintf(dig, sizeof(dig), "%s", d ? d : "");
			json_decref(idx);
			if ((error = stele_image_load(out, oci, NULL, dig)) ==
			    0)
				return 0;
		}
		json_decref(idx);
		stele_oci_free(oci);
		return error;
	}
	return 0;
}

size_t
stele_image_nlayers(const struct stele_image *img)
{
	return json_array_size(json_object_get(img->manifest, "layers"));
}

json_t *
stele_image_layer(const struct stele_image *img, size_t i)
{
	return json_array_get(json_object_get(img->manifest, "layers"), i);
}

const char *
stele_image_diff_id(const struct stele_image *img, size_t i)
{
	return json_string_value(json_array_get(
		json_object_get(json_object_get(img->config, "rootfs"),
				"diff_ids"),
		i));
}
