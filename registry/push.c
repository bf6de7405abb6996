#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/transfer.h"
#include "registry/client_priv.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

struct push {
	struct stele_registry *r;
	const char *repo;
	const struct stele_oci *oci;
	struct stele_transfer *t;
	const char *mount_from;  /* a repository of the same registry */
	json_t *seen;
};

static int
push_blob(struct push *p, const json_t *d, const char *what)
{
	const char *dig;
	uint64_t size;
	int fd, error;

	if ((error = stele_transfer__desc_check(d, what)) < 0)
		return error;
	dig = stele_json_str(d, "digest");
	size = (uint64_t)json_integer_value(json_object_get(d, "size"));
	if (json_object_get(p->seen, dig))
		return 0;
	json_object_set_new(p->seen, dig, json_true());
	p->t->blobs++;
	if ((error = stele_registry_blob_exists(p->r, p->repo, dig)) < 0)
		return error;
	if (error == 1) {
		p->t->blobs_present++;
		return 0;
	}
	if (p->mount_from) {
		if ((error = stele_registry_blob_mount(p->r, p->repo,
						       p->mount_from, dig)) < 0)
			return error;
		if (error == 1) {
			p->t->blobs_mounted++;
			return 0;
		}
	}
	if ((error = stele_oci_blob_open(&fd, p->oci, dig)) < 0)
		return error;
	error = stele_registry_blob_upload(p->r, p->repo, dig, size, fd);
	close(fd);
	if (error < 0)
		return error;
	p->t->blobs_sent++;
	p->t->bytes += size;
	return 0;
}

/*
 * Push manifest `digest` of the layout and what it references, then PUT
 * it under `ref` (NULL: its digest).  *desc (may be NULL) gets its
 * descriptor; *has_subject (may be NULL) whether the registry took its
 * subject into a referrers index.
 */
static int
push_manifest(json_t **desc, int *has_subject, struct push *p,
	      const char *digest, const char *ref, const char *mt_hint,
	      int depth)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	json_t *m = NULL, *d;
	const char *mt, *at;
	size_t i;
	int error, present;

	if (desc)
		*desc = NULL;
	if (depth > 2)
		return stele_error_setc(STELE_EINVALID,
			"index %s nests too deeply", digest);
	if ((error = stele_oci_blob_read(&b, p->oci, digest)) < 0 ||
	    (error = stele_json_parse(&m, b.ptr, b.len, digest)) < 0)
		goto out;
	mt = stele_transfer__media_type(m, mt_hint);
	/* There already, under this name: the registry checked on PUT that
	 * everything it references is there too. */
	if ((error = stele_registry_manifest_has(p->r, p->repo,
						 ref ? ref : digest, digest)) < 0)
		goto out;
	present = error == 1;
	error = 0;
	if (present) {
		p->t->manifests_present++;
	} else if (stele_transfer__is_index(m, mt)) {
		json_array_foreach(json_object_get(m, "manifests"), i, d) {
			const char *cd = stele_json_str(d, "digest");

			if ((error = stele_transfer__desc_check(d, digest)) < 0)
				goto out;
			if (!stele_oci_blob_exists(p->oci, cd)) {
				error = stele_error_setc(STELE_ENOTFOUND,
					"index %s lists manifest %s, which is not in '%s' (an index pulled for one platform cannot be pushed whole)",
					digest, cd, p->oci->dir);
				goto out;
			}
			if ((error = push_manifest(NULL, NULL, p, cd, NULL,
						   stele_json_str(d, "mediaType"),
						   depth + 1)) < 0)
				goto out;
		}
	} else {
		if ((error = push_blob(p, json_object_get(m, "config"), digest)) < 0)
			goto out;
		json_array_foreach(json_object_get(m, "layers"), i, d)
			if ((error = push_blob(p, d, digest)) < 0)
				goto out;
	}
	if (!present) {
		if ((error = stele_registry_manifest_put(p->r, p->repo,
				ref ? ref : digest, mt, b.ptr, b.len,
				has_subject)) < 0)
			goto out;
		p->t->manifests++;
	}
	if (desc) {
		*desc = stele_descriptor(mt, digest, b.len);
		if ((at = stele_json_str(m, "artifactType")) ||
		    (at = stele_json_str(json_object_get(m, "config"), "mediaType")))
			json_object_set_new(*desc, "artifactType", json_string(at));
		if (json_is_object(json_object_get(m, "annotations")))
			json_object_set(*desc, "annotations",
					json_object_get(m, "annotations"));
	}
out:
	json_decref(m);
	stele_buf_release(&b);
	return error;
}

/*
 * Push the local .sig/.att manifest `digest` under `tag`; when the registry
 * already has another manifest there, put the union of both layer lists.
 */
static int
push_attach_tag(struct push *p, const char *tag, const char *digest,
		const char *mt)
{
	struct stele_buf rb = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf lb = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf man = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf cfg = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char rdig[STELE_DIGEST_STRLEN];
	json_t *remote = NULL, *local = NULL, *u = NULL, *l;
	size_t i;
	int error;

	error = stele_registry_manifest_get(&rb, rdig, NULL, p->r, p->repo, tag);
	if (error == STELE_ENOTFOUND) {
		error = push_manifest(NULL, NULL, p, digest, tag, mt, 0);
		goto out;
	}
	if (error < 0 || !strcmp(rdig, digest))
		goto out;
	if ((error = stele_json_parse(&remote, rb.ptr, rb.len, tag)) < 0 ||
	    (error = stele_oci_blob_read(&lb, p->oci, digest)) < 0 ||
	    (error = stele_json_parse(&local, lb.ptr, lb.len, digest)) < 0)
		goto out;
	u = stele_transfer__union_layers(json_object_get(local, "layers"),
					 json_object_get(remote, "layers"));
	if (!u) {
		/* Ours holds everything the registry's does. */
		error = push_manifest(NULL, NULL, p, digest, tag, mt, 0);
		goto out;
	}
	json_array_foreach(json_object_get(local, "layers"), i, l)
		if ((error = push_blob(p, l, tag)) < 0)
			goto out;
	if ((error = stele_transfer__attach_manifest(&man, &cfg, u)) < 0 ||
	    (error = stele_registry_blob_upload_bytes(p->r, p->repo, cfg.ptr,
						      cfg.len)) < 0 ||
	    (error = stele_registry_manifest_put(p->r, p->repo, tag,
						 STELE_MT_MANIFEST, man.ptr,
						 man.len, NULL)) < 0)
		goto out;
	p->t->manifests++;
out:
	json_decref(u);
	json_decref(local);
	json_decref(remote);
	stele_buf_release(&cfg);
	stele_buf_release(&man);
	stele_buf_release(&lb);
	stele_buf_release(&rb);
	return error;
}

static int
push_tags(struct push *p, const char *digest)
{
	static const enum stele_attach_kind kinds[] = STELE_COSIGN_TAGS;
	size_t i;
	int error = 0;

	for (i = 0; i < STELE_NCOSIGN_TAGS && !error; i++) {
		char *tag = stele_attach_tag_name(digest, kinds[i]);
		json_t *d = NULL;

		error = stele_oci_resolve(&d, p->oci, tag, NULL);
		if (error == STELE_ENOTFOUND) {
			error = 0;
		} else if (!error &&
			   (error = stele_transfer__desc_check(d, tag)) == 0 &&
			   (error = push_attach_tag(p, tag,
				stele_json_str(d, "digest"),
				stele_json_str(d, "mediaType"))) == 0) {
			if (kinds[i] == STELE_ATTACH_SIG)
				p->t->signatures++;
			else
				p->t->attestations++;
		}
		json_decref(d);
		free(tag);
	}
	return error;
}

/* The distribution spec's tag schema: an index at tag sha256-<hex>. */
static int
update_referrers_tag(struct push *p, const char *digest, json_t *descs)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char *tag = stele_attach_tag_name(digest, STELE_ATTACH_REFERRERS);
	json_t *idx = NULL, *list, *d, *e;
	size_t i, j;
	int error, changed = 0;

	error = stele_transfer__remote_referrers(&idx, p->r, p->repo, digest);
	if (error == STELE_ENOTFOUND) {
		idx = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2,
				"mediaType", STELE_MT_INDEX, "manifests");
		error = 0;
	}
	if (error < 0)
		goto out;
	list = json_object_get(idx, "manifests");
	json_array_foreach(descs, i, d) {
		int found = 0;

		json_array_foreach(list, j, e)
			if (!strcmp(stele_json_str(e, "digest") ?
				    stele_json_str(e, "digest") : "",
				    stele_json_str(d, "digest")))
				found = 1;
		if (!found) {
			json_array_append(list, d);
			changed = 1;
		}
	}
	if (json_array_size(list) > STELE_REFERRERS_MAX) {
		error = stele_error_setc(STELE_EINVALID,
			"%s has more than %d referrers", digest, STELE_REFERRERS_MAX);
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

/* Referrers of `digest` in the layout: entries with an artifactType and a
 * manifest whose subject is `digest`. */
static int
push_referrers(struct push *p, const char *digest)
{
	json_t *refs = NULL, *mans = NULL, *e, *descs = json_array();
	size_t i;
	int error, all_subject = 1;

	/* With the manifests: a referrer that does not read is an error. */
	if ((error = stele_oci_referrers(&refs, &mans, p->oci, digest)) < 0)
		goto out;
	json_array_foreach(refs, i, e) {
		json_t *desc = NULL;
		int has_subject = 0;

		if ((error = push_manifest(&desc, &has_subject, p,
					   stele_json_str(e, "digest"), NULL,
					   stele_json_str(e, "mediaType"), 0)) < 0)
			goto out;
		json_array_append_new(descs, desc);
		p->t->referrers++;
		all_subject &= has_subject;
	}
	/* A registry that did not answer OCI-Subject keeps no referrers
	 * index: keep the tag-schema one. */
	if (json_array_size(descs) && !all_subject)
		error = update_referrers_tag(p, digest, descs);
out:
	json_decref(descs);
	json_decref(refs);
	json_decref(mans);
	return error;
}

int
stele_registry__push(struct stele_transfer *out, const struct stele_image *img,
		     const struct stele_ref *dst, unsigned flags,
		     const struct stele_registry_opts *o)
{
	struct push p = { NULL, NULL, img->oci, out, NULL, json_object() };
	const char *top = stele_json_str(img->desc, "digest");
	const char *src = stele_json_str(json_object_get(img->desc, "annotations"),
					 STELE_ANN_SOURCE);
	size_t hostlen;
	char *host = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if (dst->transport != STELE_REF_DOCKER) {
		error = stele_error_setc(STELE_EINVALID, "push needs a docker:// destination");
		goto out;
	}
	if (!top || stele_digest_validate(top) < 0) {
		error = stele_error_setc(STELE_EINVALID, "the image has no manifest digest");
		goto out;
	}
	if (dst->digest && strcmp(dst->digest, top)) {
		error = stele_error_setc(STELE_EINVALID,
			"cannot push %s as %s: a digest names its content", top,
			dst->digest);
		goto out;
	}
	hostlen = strcspn(dst->name, "/");
	host = stele_xstrndup(dst->name, hostlen);
	p.repo = dst->name + hostlen + 1;
	if (src && !strncmp(src, dst->name, hostlen + 1) && strcmp(src, dst->name))
		p.mount_from = src + hostlen + 1;
	snprintf(out->digest, sizeof(out->digest), "%s", top);
	if ((error = stele_registry_open(&p.r, host, 1, o)) < 0)
		goto out;
	if ((flags & STELE_PUSH__ATTACHMENTS_ONLY) &&
	    (error = stele_registry_manifest_has(p.r, p.repo, top, top)) <= 0) {
		if (error == 0)
			error = stele_error_setc(STELE_ENOTFOUND,
				"%s does not hold %s: push the image first (stele push)",
				dst->name, top);
		goto out;
	}
	if ((error = push_manifest(NULL, NULL, &p, top,
				   dst->tag ? dst->tag : dst->digest ? top : "latest",
				   stele_json_str(img->desc, "mediaType"), 0)) < 0)
		goto out;
	if (!(flags & STELE_TRANSFER_NO_ATTACH) &&
	    ((error = push_tags(&p, top)) < 0 ||
	     (error = push_referrers(&p, top)) < 0))
		goto out;
out:
	if (p.r)
		out->stats = *stele_registry_stats(p.r);
	stele_registry_free(p.r);
	json_decref(p.seen);
	free(host);
	return error;
}

json_t *
stele_transfer_json(const struct stele_transfer *t, const char *src,
		    const char *dst)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:b,s:{s:I,s:I,s:I}}",
		"source", src, "destination", dst, "digest", t->digest,
		"manifests", (json_int_t)t->manifests,
		"manifests_present", (json_int_t)t->manifests_present,
		"blobs", "total", (json_int_t)t->blobs,
		"transferred", (json_int_t)t->blobs_sent,
		"present", (json_int_t)t->blobs_present,
		"mounted", (json_int_t)t->blobs_mounted,
		"bytes", (json_int_t)t->bytes,
		"signatures", (json_int_t)t->signatures,
		"attestations", (json_int_t)t->attestations,
		"referrers", (json_int_t)t->referrers,
		"referrers_tag", t->referrers_tag,
		"requests", "total", (json_int_t)t->stats.requests,
		"retries", (json_int_t)t->stats.retries,
		"tokens", (json_int_t)t->stats.tokens);
}
