#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/client_priv.h"
#include "registry/copy.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* The registry destination: one repository, for stele_registry__push()
 * alone (registry/copy.h). */
struct rdst {
	struct stele_copy_dst base;
	struct stele_registry *r;
	const char *repo;
	const char *mount_from; /* a repository of the same registry */
	struct stele_transfer *t;
	json_t *descs; /* referrers put, for the tag schema */
	int all_subject; /* the registry indexed each one itself */
};

static int
rdst_manifest_has(struct stele_copy_dst *d, const char *ref, const char *digest)
{
	struct rdst *p = (struct rdst *)d;

	return stele_registry_manifest_has(p->r, p->repo, ref, digest);
}

static int
rdst_manifest_put(struct stele_copy_dst *d, const char *ref, const char *mt,
		  const struct stele_buf *data, const char *digest,
		  int *has_subject)
{
	struct rdst *p = (struct rdst *)d;

	return stele_registry_manifest_put(p->r, p->repo, ref ? ref : digest,
					   mt, data->ptr, data->len,
					   has_subject);
}

static int
rdst_blob_has(struct stele_copy_dst *d, const char *digest)
{
	struct rdst *p = (struct rdst *)d;
	int error;

	if ((error = stele_registry_blob_exists(p->r, p->repo, digest)) != 0)
		return error;
	if (!p->mount_from)
		return 0;
	error = stele_registry_blob_mount(p->r, p->repo, p->mount_from, digest);
	return error == 1 ? 2 : error;
}

static int
rdst_blob_put(struct stele_copy_dst *d, struct stele_copy_src *src,
	      const char *digest, uint64_t size)
{
	struct rdst *p = (struct rdst *)d;
	int fd, error;

	if ((error = src->blob_open(src, &fd, digest)) < 0)
		return error;
	error = stele_registry_blob_upload(p->r, p->repo, digest, size, fd);
	close(fd);
	return error;
}

static int
rdst_blob_put_bytes(struct stele_copy_dst *d, const struct stele_buf *data)
{
	struct rdst *p = (struct rdst *)d;

	return stele_registry_blob_upload_bytes(p->r, p->repo, data->ptr,
						data->len);
}

/* A lane: its own connection (registry/copy.h). */
static int
rdst_fork(struct stele_copy_dst *d, struct stele_copy_dst **out)
{
	struct rdst *p = (struct rdst *)d, *l = stele_xmalloc(sizeof(*l));
	int error;

	*l = *p;
	l->descs = NULL;
	if ((error = stele_registry__dup(&l->r, p->r)) < 0) {
		free(l);
		return error;
	}
	*out = &l->base;
	return 0;
}

static void
rdst_join(struct stele_copy_dst *d, struct stele_copy_dst *lane)
{
	struct rdst *p = (struct rdst *)d, *l = (struct rdst *)lane;

	stele_registry__stats_add(stele_registry__stats(p->r),
				  stele_registry_stats(l->r));
	stele_registry_free(l->r);
	free(l);
}

static int
rdst_tag_get(struct stele_copy_dst *d, struct stele_buf *out,
	     char digest[STELE_DIGEST_STRLEN], const char *tag)
{
	struct rdst *p = (struct rdst *)d;

	return stele_registry_manifest_get(out, digest, NULL, p->r, p->repo,
					   tag);
}

static int
rdst_referrer(struct stele_copy_dst *d, const char *subject, const json_t *desc,
	      const json_t *manifest, int has_subject)
{
	struct rdst *p = (struct rdst *)d;
	json_t *e = stele_descriptor(
		stele_json_str(desc, "mediaType"),
		stele_json_str(desc, "digest"),
		(size_t)json_integer_value(json_object_get(desc, "size")));
	const char *at = stele_json_str(manifest, "artifactType");

	(void)subject;
	/* The referrers API's descriptor: the manifest's own artifactType
	 * (else its config's media type) and annotations. */
	if (at ||
	    (at = stele_json_str(json_object_get(manifest, "config"),
				 "mediaType")))
		json_object_set_new(e, "artifactType", json_string(at));
	if (json_is_object(json_object_get(manifest, "annotations")))
		json_object_set(e, "annotations",
				json_object_get(manifest, "annotations"));
	json_array_append_new(p->descs, e);
	p->all_subject &= has_subject;
	return 0;
}

/*
 * After the referrers: a registry that did not answer OCI-Subject to each
 * keeps no referrers index, so keep the distribution spec's tag-schema
 * one, an index at tag sha256-<hex>, adding to what is there.
 */
static int
rdst_referrers_end(struct stele_copy_dst *dst, const char *digest)
{
	struct rdst *p = (struct rdst *)dst;
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char *tag;
	json_t *idx = NULL, *list, *d, *e;
	size_t i, j;
	int error, changed = 0;

	if (!json_array_size(p->descs) || p->all_subject)
		return 0;
	tag = stele_attach_tag_name(digest, STELE_ATTACH_REFERRERS);
	error = stele_transfer__remote_referrers(&idx, p->r, p->repo, digest);
	if (error == STELE_ENOTFOUND) {
		idx = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2,
				"mediaType", STELE_MT_INDEX, "manifests");
		error = 0;
	}
	if (error < 0)
		goto out;
	list = json_object_get(idx, "manifests");
	json_array_foreach(p->descs, i, d) {
		int found = 0;

		json_array_foreach(list, j, e)
			if (!strcmp(stele_json_str(e, "digest")
					    ? stele_json_str(e, "digest")
					    : "",
				    stele_json_str(d, "digest")))
				found = 1;
		if (!found) {
			json_array_append(list, d);
			changed = 1;
		}
	}
	if (json_array_size(list) > STELE_REFERRERS_MAX) {
		error = stele_error_setc(STELE_EINVALID,
					 "%s has more than %d referrers",
					 digest, STELE_REFERRERS_MAX);
		goto out;
	}
	if (changed &&
	    ((error = stele_json_emit(&b, idx)) < 0 ||
	     (error = stele_registry_manifest_put(p->r, p->repo, tag,
						  STELE_MT_INDEX, b.ptr, b.len,
						  NULL)) < 0))
		goto out;
	p->t->referrers_tag = changed;
out:
	json_decref(idx);
	stele_buf_release(&b);
	free(tag);
	return error;
}

/* Referrers whose presence is asked ahead, at most (the rest: one by one). */
#define ASK_REFERRERS_MAX 16

/*
 * What the copy engine asks the registry about an image that is there
 * already (registry/copy.c), to be asked ahead: the manifest under
 * `put_ref` (HEAD), each cosign tag the layout has (GET), each referrer
 * it has (HEAD), and the referrers list (the API, and the sha256-<hex>
 * tag it falls back to).  All at once (stele_registry__open_asking): a
 * re-push waits for one round trip (with the probe over https, after it
 * with --tls-verify=false), not one per question; the engine still asks
 * each and checks each answer.  For an image not there yet, the answers
 * the walk's writes outdate are dropped, unused.  What the layout cannot
 * say here it says to the engine, which reports it.  Returns how many
 * questions are in `a`; the caller frees their paths.
 */
static size_t
questions(struct stele_registry__ask *a, const char *repo,
	  const struct stele_oci *oci, const char *top, const char *put_ref,
	  unsigned flags)
{
	static const enum stele_attach_kind kinds[] = STELE_COSIGN_TAGS;
	json_t *refs = NULL, *e = NULL, *d;
	char *tag;
	size_t n = 0, i;

	stele_registry__ask_manifest(&a[n++], "HEAD", repo, put_ref);
	for (i = 0;
	     i < STELE_NCOSIGN_TAGS && !(flags & STELE_TRANSFER_NO_ATTACH);
	     i++) {
		tag = stele_attach_tag_name(top, kinds[i]);
		if (stele_oci_resolve(&e, oci, tag, NULL) == 0)
			stele_registry__ask_manifest(&a[n++], "GET", repo, tag);
		json_decref(e);
		e = NULL;
		free(tag);
	}
	if (!(flags & STELE_TRANSFER_NO_ATTACH) &&
	    stele_oci_referrers(&refs, NULL, oci, top) == 0 &&
	    json_array_size(refs) > 0) {
		json_array_foreach(refs, i, d) {
			if (i >= ASK_REFERRERS_MAX ||
			    !stele_json_str(d, "digest"))
				break;
			stele_registry__ask_manifest(
				&a[n++], "HEAD", repo,
				stele_json_str(d, "digest"));
		}
		stele_registry__ask_referrers(&a[n++], repo, top);
		tag = stele_attach_tag_name(top, STELE_ATTACH_REFERRERS);
		stele_registry__ask_manifest(&a[n++], "GET", repo, tag);
		free(tag);
	}
	stele_error_clear();
	json_decref(refs);
	return n;
}

int
stele_registry__push(struct stele_transfer *out, const struct stele_image *img,
		     const struct stele_ref *dst, unsigned flags,
		     const struct stele_registry_opts *o)
{
	struct rdst p = { { 1, rdst_manifest_has, rdst_manifest_put,
			    rdst_blob_has, rdst_blob_put, rdst_blob_put_bytes,
			    rdst_tag_get, NULL, rdst_referrer,
			    rdst_referrers_end, rdst_fork, rdst_join,
			    o->jobs ? o->jobs : 4 },
			  NULL,
			  NULL,
			  NULL,
			  out,
			  json_array(),
			  1 };
	struct stele_copy_layout_src ls;
	const char *top = stele_json_str(img->desc, "digest");
	const char *src = stele_json_str(
		json_object_get(img->desc, "annotations"), STELE_ANN_SOURCE);
	const char *put_ref = dst->tag ? dst->tag
		: dst->digest          ? top
				       : "latest";
	struct stele_registry__ask
		a[3 + STELE_NCOSIGN_TAGS + ASK_REFERRERS_MAX];
	size_t hostlen, n, i;
	char *host = NULL;
	json_t *desc = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if (dst->transport != STELE_REF_DOCKER) {
		error = stele_error_setc(STELE_EINVALID,
					 "push needs a docker:// destination");
		goto out;
	}
	if (!top || stele_digest_validate(top) < 0) {
		error = stele_error_setc(STELE_EINVALID,
					 "the image has no manifest digest");
		goto out;
	}
	if (dst->digest && strcmp(dst->digest, top)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"cannot push %s as %s: a digest names its content", top,
			dst->digest);
		goto out;
	}
	hostlen = strcspn(dst->name, "/");
	host = stele_xstrndup(dst->name, hostlen);
	p.repo = dst->name + hostlen + 1;
	if (src && !strncmp(src, dst->name, hostlen + 1) &&
	    strcmp(src, dst->name))
		p.mount_from = src + hostlen + 1;
	snprintf(out->digest, sizeof(out->digest), "%s", top);
	n = questions(a, p.repo, img->oci, top, put_ref, flags);
	error = stele_registry__open_asking(&p.r, host, 1, o, a, n);
	for (i = 0; i < n; i++)
		free(a[i].path);
	if (error < 0)
		goto out;
	if ((flags & STELE_PUSH__ATTACHMENTS_ONLY) &&
	    (error = stele_registry_manifest_has(p.r, p.repo, top, top)) <= 0) {
		if (error == 0)
			error = stele_error_setc(
				STELE_ENOTFOUND,
				"%s does not hold %s: push the image first (stele push)",
				dst->name, top);
		goto out;
	}
	stele_copy__layout_src(&ls, img->oci);
	error = stele_copy__image(&desc, out, &ls.base, &p.base, top, put_ref,
				  stele_json_str(img->desc, "mediaType"),
				  flags & STELE_TRANSFER_NO_ATTACH);
out:
	if (p.r)
		out->stats = *stele_registry_stats(p.r);
	stele_registry_free(p.r);
	json_decref(p.descs);
	json_decref(desc);
	free(host);
	return error;
}

json_t *
stele_transfer_json(const struct stele_transfer *t, const char *src,
		    const char *dst)
{
	return json_pack(
		"{s:s,s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:b,s:{s:I,s:I,s:I}}",
		"source", src, "destination", dst, "digest", t->digest,
		"manifests", (json_int_t)t->manifests, "manifests_present",
		(json_int_t)t->manifests_present, "blobs", "total",
		(json_int_t)t->blobs, "transferred", (json_int_t)t->blobs_sent,
		"present", (json_int_t)t->blobs_present, "mounted",
		(json_int_t)t->blobs_mounted, "bytes", (json_int_t)t->bytes,
		"signatures", (json_int_t)t->signatures, "attestations",
		(json_int_t)t->attestations, "referrers",
		(json_int_t)t->referrers, "referrers_tag", t->referrers_tag,
		"requests", "total", (json_int_t)t->stats.requests, "retries",
		(json_int_t)t->stats.retries, "tokens",
		(json_int_t)t->stats.tokens);
}
