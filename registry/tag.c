#include <stdlib.h>
#include <string.h>

#include "registry/client_priv.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* An ETag fit to send back in If-Match: quoted, printable, short. */
static char *
etag_take(char *v)
{
	size_t i, n = v ? strlen(v) : 0;

	if (n < 2 || n > 256 || (v[0] != '"' && strncmp(v, "W/\"", 3)))
		return NULL;
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return NULL;
	return stele_xstrdup(v);
}

/*
 * The digest tag `tag` names now ("" when there is no such tag) and, when
 * the registry sends one, its ETag (*etag, malloc'd, may be NULL).
 */
static int
tag_read(char out[STELE_DIGEST_STRLEN], char **etag, struct stele_registry *r,
	 const char *repo, const char *tag)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_registry__req q;
	char *path = stele_xasprintf("/v2/%s/manifests/%s", repo, tag);
	int error;

	out[0] = '\0';
	if (etag)
		*etag = NULL;
	stele_registry__req_init(&q, "GET", path, repo);
	q.accept = STELE_REGISTRY_ACCEPT;
	q.body = &b;
	if ((error = stele_registry__do(r, &q)) < 0)
		goto out;
	if (q.status == 404)
		goto out;
	if (q.status != 200) {
		error = stele_registry__fail(r, &q, "GET manifest");
		goto out;
	}
	stele_digest_bytes(out, b.ptr ? b.ptr : "", b.len);
	if (q.digest && !strncmp(q.digest, "sha256:", 7) &&
	    strcmp(q.digest, out)) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: manifest %s:%s does not match the digest the registry names (%s; the bytes hash to %s)",
			stele_registry__host(r), repo, tag, q.digest, out);
		goto out;
	}
	if (etag)
		*etag = etag_take(q.etag);
out:
	stele_registry__req_release(&q);
	stele_buf_release(&b);
	free(path);
	return error;
}

/*
 * Put `data` under `tag`, re-reading the tag just before (it must name
 * `expect`, "" or NULL: none) and after (it must name the put's digest).
 * The put carries If-Match with the ETag of the re-read, so a registry
 * that honours it closes the window entirely; for the others (the
 * distribution spec has no conditional put) the two reads bound the
 * window a concurrent mover has, and catch it when it used it.
 */
static int
tag_put(struct stele_registry *r, const char *name, const char *repo,
	const char *tag, const char *expect, const char *mt, const void *data,
	size_t len)
{
	char now[STELE_DIGEST_STRLEN], want[STELE_DIGEST_STRLEN];
	char *etag = NULL;
	int error;

	if (!expect)
		expect = "";
	stele_digest_bytes(want, data, len);
	if ((error = tag_read(now, &etag, r, repo, tag)) < 0)
		goto out;
	if (strcmp(now, expect)) {
		error = stele_error_setc(
			STELE_ERROR,
			"tag '%s' of %s moved under this rollout: it names %s, not %s as read before; nothing was moved",
			tag, name, *now ? now : "nothing",
			*expect ? expect : "nothing");
		goto out;
	}
	if (strcmp(now, want) &&
	    (error = stele_registry__manifest_put_if(r, repo, tag, mt, data,
						     len, etag, NULL)) != 0) {
		if (error == 1)
			error = stele_error_setc(
				STELE_ERROR,
				"tag '%s' of %s moved under this rollout: the registry refused the put (If-Match %s: 412); nothing was moved",
				tag, name, etag);
		goto out;
	}
	if ((error = tag_read(now, NULL, r, repo, tag)) < 0)
		goto out;
	if (strcmp(now, want))
		error = stele_error_setc(
			STELE_ERROR,
			"tag '%s' of %s names %s after it was moved to %s: another process moved it at the same time",
			tag, name, *now ? now : "nothing", want);
out:
	free(etag);
	return error;
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
		return stele_error_setc(STELE_EINVALID, "'%s' is not HOST/REPO",
					name);
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
					 "%s: manifest %s has no media type",
					 name, digest);
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
stele_registry__artifact_put(char out[STELE_DIGEST_STRLEN],
			     const struct stele_artifact *a,
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
	if ((error = open_repo(&r, &repo, a->name, o)) < 0 ||
	    (error = stele_registry_blob_upload_bytes(r, repo, empty,
						      sizeof(empty) - 1)) < 0)
		goto out;
	for (i = 0; i < a->n; i++) {
		if ((error = stele_registry_blob_upload_bytes(
			     r, repo, a->layers[i].ptr, a->layers[i].len)) < 0)
			goto out;
		stele_digest_bytes(dig, a->layers[i].ptr, a->layers[i].len);
		json_array_append_new(
			descs,
			stele_descriptor(a->layer_mt, dig, a->layers[i].len));
	}
	stele_digest_bytes(dig, empty, sizeof(empty) - 1);
	m = json_pack("{s:i,s:s,s:s,s:o,s:O}", "schemaVersion", 2, "mediaType",
		      STELE_MT_MANIFEST, "artifactType", a->artifact_type,
		      "config",
		      stele_descriptor(STELE_MT_EMPTY, dig, sizeof(empty) - 1),
		      "layers", descs);
	if (!m) {
		error = stele_error_set("cannot build the manifest of %s:%s",
					a->name, a->tag);
		goto out;
	}
	if ((error = stele_json_emit(&man, m)) < 0 ||
	    (error = tag_put(r, a->name, repo, a->tag, a->expect,
			     STELE_MT_MANIFEST, man.ptr, man.len)) < 0)
		goto out;
	stele_digest_bytes(out, man.ptr, man.len);
out:
	json_decref(m);
	json_decref(descs);
	stele_buf_release(&man);
	stele_registry_free(r);
	return error;
}
