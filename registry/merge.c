#include <stdio.h>
#include <string.h>

#include "registry/transfer.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/json.h"

/*
 * cosign's .sig/.att tags hold one manifest whose layers are the
 * signatures; cosign appends to it.  When both sides of a transfer have
 * one and they differ, the destination gets the union (the source's
 * layers first), built the way cosign and signer/attach.c build it, so no
 * one's signature is dropped by a copy.
 */

#define COSIGN_CREATED "0001-01-01T00:00:00Z"

json_t *
stele_transfer__union_layers(const json_t *first, const json_t *second)
{
	json_t *u = json_deep_copy(first), *l, *m;
	size_t i, j;
	int added = 0;

	if (!json_is_array(u)) {
		json_decref(u);
		return NULL;
	}
	json_array_foreach(second, i, l) {
		int found = 0;

		json_array_foreach(u, j, m)
			if (json_equal(l, m))
				found = 1;
		if (!found) {
			json_array_append(u, l);
			added = 1;
		}
	}
	if (!added || json_array_size(u) > STELE_REFERRERS_MAX) {
		json_decref(u);
		return NULL;
	}
	return u;
}

int
stele_transfer__attach_manifest(struct stele_buf *manifest,
				struct stele_buf *config, const json_t *layers)
{
	char cdig[STELE_DIGEST_STRLEN];
	json_t *man = NULL, *l;
	size_t i;
	int error;

	error = stele_buf_puts(config, "{\"architecture\":\"\",\"created\":\""
			       COSIGN_CREATED "\",\"history\":[");
	json_array_foreach(layers, i, l)
		if (!error)
			error = stele_buf_printf(config, "%s{\"created\":\"" COSIGN_CREATED "\"}",
						 i ? "," : "");
	if (!error)
		error = stele_buf_puts(config, "],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	json_array_foreach(layers, i, l) {
		if ((error = error ? error :
		     stele_transfer__desc_check(l, "a signature manifest")) < 0)
			break;
		error = stele_buf_printf(config, "%s\"%s\"", i ? "," : "",
					 stele_json_str(l, "digest"));
	}
	if (!error)
		error = stele_buf_puts(config, "]},\"config\":{}}");
	if (error < 0)
		return error;
	stele_digest_bytes(cdig, config->ptr, config->len);
	man = json_pack("{s:i,s:s,s:o,s:O}", "schemaVersion", 2,
			"mediaType", STELE_MT_MANIFEST,
			"config", stele_descriptor(STELE_MT_CONFIG, cdig, config->len),
			"layers", (json_t *)layers);
	if (!man)
		return stele_error_set("cannot build a signature manifest");
	error = stele_json_emit(manifest, man);
	json_decref(man);
	return error;
}
