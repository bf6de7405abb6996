#include <stdlib.h>
#include <string.h>

#include "registry/client_priv.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* The digest tag `tag` names now, "" when there is no such tag. */
static int
tag_read(char out[STELE_DIGEST_STRLEN], struct stele_registry *r,
	 const char *repo, const char *tag)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	int error;

	out[0] = '\0';
	error = stele_registry_manifest_get(&b, out, NULL, r, repo, tag);
	stele_buf_release(&b);
	if (error == STELE_ENOTFOUND) {
		out[0] = '\0';
		error = 0;
	}
	return error;
}

/*
 * Put `data` under `tag`, re-reading the tag just before (it must name
 * `expect`, "" or NULL: none) and after (it must name the put's digest).
 * Registries have no compare-and-swap on tags (distribution has no
 * conditional PUT), so these two reads bound the window a concurrent mover
 * has, and catch it when it used it.
 */
static int
tag_put(struct stele_registry *r, const char *name, const char *repo,
	const char *tag, const char *expect, const char *mt, const void *data,
	size_t len)
{
	char now[STELE_DIGEST_STRLEN], want[STELE_DIGEST_STRLEN];
	int error;

	if (!expect)
		expect = "";
	stele_digest_bytes(want, data, len);
	if ((error = tag_read(now, r, repo, tag)) < 0)
		return error;
	if (strcmp(now, expect))
		return stele_error_setc(STELE_ERROR,
			"tag '%s' of %s moved under this rollout: it names %s, not %s as read before; nothing was moved",
			tag, name, *now ? now : "nothing", *expect ? expect : "nothing");
	if (strcmp(now, want) &&
	    (error = stele_registry_manifest_put(r, repo, tag, mt, data, len,
						 NULL)) < 0)
		return error;
	if ((error = tag_read(now, r, repo, tag)) < 0)
		return error;
	if (strcmp(now, want))
		return stele_error_setc(STELE_ERROR,
			"tag '%s' of %s names %s after it was moved to %s: another process moved it at the same time",
			tag, name, *now ? now : "nothing", want);
	return 0;
}

static int
open_repo(struct stele_registry **r, const char **repo, const char *name,
	  const struct stele_registry_opts *o)
{
	size_t hostlen = strcspn(name, "/");
	char *host;
	int error;

	*r = NULL;
	if (!name[hostlen] || !name[hostlen + 1])
		return stele_error_setc(STELE_EINVALID,
			"'%s' is not HOST/REPO", name);
	host = stele_xstrndup(name, hostlen);
	*repo = name + hostlen + 1;
	error = stele_registry_open(r, host, 1, o);
	free(host);
	return error;
}

int
stele_registry__tag(const char *name, const char *tag, const char *digest,
		    const char *expect, const struct stele_registry_opts *o)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_registry *r = NULL;
	char got[STELE_DIGEST_STRLEN];
	const char *repo;
	char *mt = NULL;
	int error;

	if ((error = open_repo(&r, &repo, name, o)) < 0 ||
	    (error = stele_registry_manifest_get(&b, got, &mt, r, repo,
						 digest)) < 0)
		goto out;
	if (!mt) {
		error = stele_error_setc(STELE_ERROR,
			"%s: manifest %s has no media type", name, digest);
		goto out;
	}
	error = tag_put(r, name, repo, tag, expect, mt, b.ptr, b.len);
out:
	free(mt);
	stele_buf_release(&b);
	stele_registry_free(r);
	return error;
}

int
stele_registry__artifact_put(char out[STELE_DIGEST_STRLEN], const char *name,
			     const char *tag, const char *expect,
			     const char *artifact_type, const char *layer_mt,
			     const struct stele_buf *layers, size_t n,
			     json_t *annotations,
			     const struct stele_registry_opts *o)
{
	static const char empty[] = "{}";
	struct stele_buf man = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_registry *r = NULL;
	char dig[STELE_DIGEST_STRLEN];
	json_t *m = NULL, *descs = json_array();
	const char *repo;
	size_t i;
	int error;

	out[0] = '\0';
	if ((error = open_repo(&r, &repo, name, o)) < 0 ||
	    (error = stele_registry_blob_upload_bytes(r, repo, empty,
						      sizeof(empty) - 1)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((error = stele_registry_blob_upload_bytes(r, repo,
				layers[i].ptr, layers[i].len)) < 0)
			goto out;
		stele_digest_bytes(dig, layers[i].ptr, layers[i].len);
		json_array_append_new(descs, stele_descriptor(layer_mt, dig,
							      layers[i].len));
	}
	stele_digest_bytes(dig, empty, sizeof(empty) - 1);
	m = json_pack("{s:i,s:s,s:s,s:o,s:O}", "schemaVersion", 2,
		      "mediaType", STELE_MT_MANIFEST,
		      "artifactType", artifact_type,
		      "config", stele_descriptor(STELE_MT_EMPTY, dig,
						 sizeof(empty) - 1),
		      "layers", descs);
	if (!m) {
		error = stele_error_set("cannot build the manifest of %s:%s",
					name, tag);
		goto out;
	}
	if (annotations)
		json_object_set(m, "annotations", annotations);
	if ((error = stele_json_emit(&man, m)) < 0 ||
	    (error = tag_put(r, name, repo, tag, expect, STELE_MT_MANIFEST,
			     man.ptr, man.len)) < 0)
		goto out;
	stele_digest_bytes(out, man.ptr, man.len);
out:
	json_decref(m);
	json_decref(descs);
	stele_buf_release(&man);
	stele_registry_free(r);
	return error;
}
