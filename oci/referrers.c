#include <string.h>

#include "oci/referrers.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

char *
stele_attach_tag_name(const char *digest, enum stele_attach_kind kind)
{
	static const char *const suffix[] = { ".sig", ".att", "" };

	return stele_xasprintf("sha256-%s%s", digest + 7, suffix[kind]);
}

#define COSIGN_CREATED "0001-01-01T00:00:00Z"

int
stele_attach_manifest(struct stele_buf *manifest, struct stele_buf *config,
		      const char *config_mt, const json_t *layers,
		      const json_t *subject)
{
	char cdig[STELE_DIGEST_STRLEN];
	json_t *man, *l;
	size_t i;
	int error = stele_buf_puts(
		config,
		"{\"architecture\":\"\",\"created\":\"" COSIGN_CREATED
		"\",\"history\":[");

	json_array_foreach(layers, i, l)
		if (!error)
			error = stele_buf_printf(
				config,
				"%s{\"created\":\"" COSIGN_CREATED "\"}",
				i ? "," : "");
	if (!error)
		error = stele_buf_puts(
			config,
			"],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	json_array_foreach(layers, i, l) {
		const char *d = stele_json_str(l, "digest");

		if (!d || stele_digest_validate(d) < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"signature manifest has a layer with a malformed digest");
		if (!error)
			error = stele_buf_printf(config, "%s\"%s\"",
						 i ? "," : "", d);
	}
	if (!error)
		error = stele_buf_puts(config, "]},\"config\":{}}");
	if (error < 0)
		return error;
	stele_digest_bytes(cdig, config->ptr, config->len);
	man = json_pack("{s:i,s:s,s:o,s:O}", "schemaVersion", 2, "mediaType",
			STELE_MT_MANIFEST, "config",
			stele_descriptor(config_mt, cdig, config->len),
			"layers", (json_t *)layers);
	if (!man)
		return stele_error_set("cannot build a signature manifest");
	if (subject)
		json_object_set(man, "subject", (json_t *)subject);
	error = stele_json_emit(manifest, man);
	json_decref(man);
	return error;
}

int
stele_oci_referrers(json_t **out, json_t **manifests,
		    const struct stele_oci *oci, const char *subject)
{
	json_t *idx = NULL, *e, *res = json_array(), *mans = json_array();
	size_t i;
	int error;

	*out = NULL;
	if (manifests)
		*manifests = NULL;
	if ((error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	json_array_foreach(json_object_get(idx, "manifests"), i, e) {
		const char *d = stele_json_str(e, "digest"), *sd;
		json_t *man = NULL;

		if (!d || !json_object_get(e, "artifactType") ||
		    stele_json_str(json_object_get(e, "annotations"),
				   STELE_ANN_REFNAME))
			continue;
		if ((error = stele_oci_json_read(&man, NULL, oci, d)) < 0) {
			if (manifests)
				goto out;
			error = 0;
			continue;
		}
		sd = stele_json_str(json_object_get(man, "subject"), "digest");
		if (sd && !strcmp(sd, subject)) {
			json_array_append_new(res, json_deep_copy(e));
			json_array_append(mans, man);
		}
		json_decref(man);
		if (json_array_size(res) > STELE_REFERRERS_MAX) {
			error = stele_error_setc(
				STELE_EINVALID, "%s has more than %d referrers",
				subject, STELE_REFERRERS_MAX);
			goto out;
		}
	}
	*out = res;
	res = NULL;
	if (manifests) {
		*manifests = mans;
		mans = NULL;
	}
out:
	json_decref(idx);
	json_decref(res);
	json_decref(mans);
	return error;
}
