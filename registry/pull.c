#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/transfer.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

struct pull {
	struct stele_registry *r;
	const char *repo;
	struct stele_txn *txn;
	struct stele_transfer *t;
	unsigned flags;
	json_t *seen;            /* blob digests counted */
};

int
stele_transfer__is_index(const json_t *m, const char *mt)
{
	if (mt && (!strcmp(mt, STELE_MT_INDEX) || !strcmp(mt, STELE_MT_DOCKER_LIST)))
		return 1;
	return !mt && json_is_array(json_object_get(m, "manifests")) &&
		!json_object_get(m, "layers");
}

const char *
stele_transfer__media_type(const json_t *m, const char *fallback)
{
	const char *mt = stele_json_str(m, "mediaType");

	if (mt && *mt)
		return mt;
	if (fallback && *fallback)
		return fallback;
	return json_is_array(json_object_get(m, "manifests")) ?
		STELE_MT_INDEX : STELE_MT_MANIFEST;
}

int
stele_transfer__desc_check(const json_t *d, const char *what)
{
	const char *dig = stele_json_str(d, "digest");
	json_t *size = json_object_get(d, "size");

	if (!dig || stele_digest_validate(dig) < 0 || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return stele_error_setc(STELE_EINVALID,
			"%s has a descriptor without a valid sha256 digest and size", what);
	return 0;
}

static int
platform_match(const json_t *d)
{
	json_t *p = json_object_get(d, "platform");
	const char *os = stele_json_str(p, "os"), *arch = stele_json_str(p, "architecture");

	return os && arch && !strcmp(os, "linux") && !strcmp(arch, stele_oci_arch());
}

static int
have_blob(struct pull *p, const char *digest)
{
	return stele_txn_hold_blob(p->txn, digest);
}

static int
pull_blob(struct pull *p, const json_t *d, const char *what)
{
	const char *dig;
	uint64_t size;
	int error;

	if ((error = stele_transfer__desc_check(d, what)) < 0)
		return error;
	dig = stele_json_str(d, "digest");
	size = (uint64_t)json_integer_value(json_object_get(d, "size"));
	if (json_object_get(p->seen, dig))
		return 0;
	json_object_set_new(p->seen, dig, json_true());
	p->t->blobs++;
	if (have_blob(p, dig)) {
		p->t->blobs_present++;
		return 0;
	}
	if ((error = stele_registry_blob_fetch(p->txn, p->r, p->repo, dig, size)) < 0)
		return error;
	p->t->blobs_sent++;
	p->t->bytes += size;
	return 0;
}

/*
 * Fetch the manifest `ref` (tag or digest) and everything it references;
 * *desc gets its descriptor {mediaType, digest, size} (plus artifactType).
 */
static int
pull_manifest(json_t **desc, struct pull *p, const char *ref, int depth)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char digest[STELE_DIGEST_STRLEN], *ctype = NULL;
	json_t *m = NULL, *d, *l;
	const char *mt, *at;
	size_t i;
	int error;

	*desc = NULL;
	if (depth > 2)
		return stele_error_setc(STELE_EINVALID,
			"%s: index %s nests too deeply", p->repo, ref);
	if ((error = stele_registry_manifest_get(&b, digest, &ctype, p->r,
						 p->repo, ref)) < 0 ||
	    (error = stele_json_parse(&m, b.ptr, b.len, digest)) < 0)
		goto out;
	mt = stele_transfer__media_type(m, ctype);
	if (!have_blob(p, digest) &&
	    (error = stele_txn_put_blob(p->txn, b.ptr, b.len, digest)) < 0)
		goto out;
	p->t->manifests++;
	if (stele_transfer__is_index(m, mt)) {
		json_t *children = json_object_get(m, "manifests");

		if (json_array_size(children) > STELE_REFERRERS_MAX) {
			error = stele_error_setc(STELE_EINVALID,
				"index %s lists too many manifests", digest);
			goto out;
		}
		json_array_foreach(children, i, d) {
			json_t *cd = NULL;

			if ((error = stele_transfer__desc_check(d, digest)) < 0)
				goto out;
			if ((p->flags & STELE_PULL_PLATFORM) && !platform_match(d))
				continue;
			error = pull_manifest(&cd, p, stele_json_str(d, "digest"),
					      depth + 1);
			json_decref(cd);
			if (error < 0)
				goto out;
		}
	} else {
		if (!json_is_object(json_object_get(m, "config")) ||
		    !json_is_array(json_object_get(m, "layers"))) {
			error = stele_error_setc(STELE_EINVALID,
				"manifest %s has no config or layers", digest);
			goto out;
		}
		if ((error = pull_blob(p, json_object_get(m, "config"), digest)) < 0)
			goto out;
		json_array_foreach(json_object_get(m, "layers"), i, l)
			if (!(p->flags & STELE_PULL_NO_LAYERS) &&
			    (error = pull_blob(p, l, digest)) < 0)
				goto out;
	}
	*desc = stele_descriptor(mt, digest, b.len);
	at = stele_json_str(m, "artifactType");
	/* A referrer without one: its config's media type (image-spec). */
	if (!at && json_object_get(m, "subject"))
		at = stele_json_str(json_object_get(m, "config"), "mediaType");
	if (at)
		json_object_set_new(*desc, "artifactType", json_string(at));
out:
	json_decref(m);
	free(ctype);
	stele_buf_release(&b);
	return error;
}

/*
 * The layout already has another manifest under .sig/.att `tag`: stage the
 * union of the pulled layers and the local ones; *desc then names it.
 */
static int
merge_local(json_t **desc, struct pull *p, const char *tag)
{
	struct stele_buf rb = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf lb = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf man = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf cfg = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	const char *rd = stele_json_str(*desc, "digest"), *ld;
	char cdig[STELE_DIGEST_STRLEN], mdig[STELE_DIGEST_STRLEN], *path;
	json_t *have = NULL, *remote = NULL, *local = NULL, *u = NULL;
	int error;

	error = stele_oci_resolve(&have, stele_txn_oci(p->txn), tag, NULL);
	if (error == STELE_ENOTFOUND) {
		stele_error_clear();
		return 0;
	}
	if (error < 0)
		return error;
	ld = stele_json_str(have, "digest");
	if (!ld || !strcmp(ld, rd))
		goto out;
	path = stele_txn_blob_path(p->txn, rd);
	error = stele_fs_read(&rb, path);
	free(path);
	if (error < 0 ||
	    (error = stele_digest_check(rd, rb.ptr, rb.len)) < 0 ||
	    (error = stele_json_parse(&remote, rb.ptr, rb.len, tag)) < 0 ||
	    (error = stele_oci_blob_read(&lb, stele_txn_oci(p->txn), ld)) < 0 ||
	    (error = stele_json_parse(&local, lb.ptr, lb.len, ld)) < 0)
		goto out;
	u = stele_transfer__union_layers(json_object_get(remote, "layers"),
					 json_object_get(local, "layers"));
	if (!u)
		goto out;
	if ((error = stele_transfer__attach_manifest(&man, &cfg, u)) < 0 ||
	    (error = stele_txn_put_blob(p->txn, cfg.ptr, cfg.len, cdig)) < 0 ||
	    (error = stele_txn_put_blob(p->txn, man.ptr, man.len, mdig)) < 0)
		goto out;
	json_decref(*desc);
	*desc = stele_descriptor(STELE_MT_MANIFEST, mdig, man.len);
out:
	json_decref(u);
	json_decref(local);
	json_decref(remote);
	json_decref(have);
	stele_buf_release(&cfg);
	stele_buf_release(&man);
	stele_buf_release(&lb);
	stele_buf_release(&rb);
	return error;
}

/* cosign's tags: sha256-<hex>.sig and .att. */
static int
pull_tags(struct pull *p, const char *digest)
{
	static const enum stele_attach_kind kinds[] = STELE_COSIGN_TAGS;
	size_t i;
	int error = 0;

	for (i = 0; i < STELE_NCOSIGN_TAGS && !error; i++) {
		char *tag = stele_attach_tag_name(digest, kinds[i]);
		json_t *d = NULL;

		error = pull_manifest(&d, p, tag, 0);
		if (error == STELE_ENOTFOUND) {
			error = 0;
		} else if (!error && (error = merge_local(&d, p, tag)) == 0) {
			error = stele_txn_index_add(p->txn, tag, d);
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

/* The subject's referrers: the API, else the sha256-<hex> tag's index. */
int
stele_transfer__remote_referrers(json_t **out, struct stele_registry *r,
				 const char *repo, const char *digest)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char got[STELE_DIGEST_STRLEN], *tag;
	int error;

	*out = NULL;
	error = stele_registry_referrers(out, r, repo, digest);
	if (error != STELE_ENOTFOUND)
		return error;
	tag = stele_attach_tag_name(digest, STELE_ATTACH_REFERRERS);
	if ((error = stele_registry_manifest_get(&b, got, NULL, r, repo, tag)) == 0 &&
	    (error = stele_json_parse(out, b.ptr, b.len, tag)) == 0 &&
	    !json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		*out = NULL;
		error = stele_error_setc(STELE_EINVALID,
			"%s:%s is not a referrers index", repo, tag);
	}
	free(tag);
	stele_buf_release(&b);
	return error;
}

static int
pull_referrers(struct pull *p, const char *digest)
{
	json_t *idx = NULL, *d;
	size_t i;
	int error;

	error = stele_transfer__remote_referrers(&idx, p->r, p->repo, digest);
	if (error == STELE_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		json_t *got = NULL, *ann;
		const char *at;

		if (i >= STELE_REFERRERS_MAX)
			break;
		if ((error = stele_transfer__desc_check(d, "referrers index")) < 0 ||
		    (error = pull_manifest(&got, p, stele_json_str(d, "digest"), 0)) < 0)
			break;
		at = stele_json_str(d, "artifactType");
		if (at && !json_object_get(got, "artifactType"))
			json_object_set_new(got, "artifactType", json_string(at));
		ann = json_deep_copy(json_object_get(d, "annotations"));
		if (!json_is_object(ann)) {
			json_decref(ann);
			ann = json_object();
		}
		json_object_set_new(ann, STELE_ANN_SUBJECT, json_string(digest));
		json_object_set_new(got, "annotations", ann);
		if (json_object_get(got, "artifactType"))
			error = stele_txn_index_add(p->txn, NULL, got);
		json_decref(got);
		if (error < 0)
			break;
		p->t->referrers++;
	}
	json_decref(idx);
	return error;
}

/* Pull `src` into `txn`; *desc is the top descriptor. */
static int
pull_into(json_t **desc, struct stele_transfer *t, struct stele_txn *txn,
	  struct stele_registry *r, const struct stele_ref *src, unsigned flags)
{
	struct pull p = { r, NULL, txn, t, flags, json_object() };
	const char *slash = strchr(src->name, '/');
	const char *ref = src->digest ? src->digest : src->tag ? src->tag : "latest";
	int error;

	*desc = NULL;
	p.repo = slash + 1;
	if ((error = pull_manifest(desc, &p, ref, 0)) < 0)
		goto out;
	/* Attachments are always fetched whole: they are what is checked. */
	p.flags &= ~(unsigned)STELE_PULL_NO_LAYERS;
	snprintf(t->digest, sizeof(t->digest), "%s", stele_json_str(*desc, "digest"));
	t->size = (uint64_t)json_integer_value(json_object_get(*desc, "size"));
	if (!(flags & STELE_TRANSFER_NO_ATTACH) &&
	    ((error = pull_tags(&p, t->digest)) < 0 ||
	     (error = pull_referrers(&p, t->digest)) < 0))
		goto out;
	/* Where it came from: mounts on a later push use the repository,
	 * verify binds signatures to the reference. */
	json_object_set_new(*desc, "annotations",
			    json_pack("{s:s,s:s++}", STELE_ANN_SOURCE, src->name,
				      STELE_ANN_IDENTITY, src->name,
				      src->digest ? "@" : ":",
				      src->digest ? src->digest : src->tag ? src->tag : "latest"));
out:
	if (error < 0) {
		json_decref(*desc);
		*desc = NULL;
	}
	json_decref(p.seen);
	return error;
}

static char *
host_of(const struct stele_ref *ref)
{
	return stele_xstrndup(ref->name, strcspn(ref->name, "/"));
}

static int
pull_layout(struct stele_transfer *t, const char *dir, const char *refname,
	    const struct stele_ref *src, unsigned flags,
	    const struct stele_registry_opts *o)
{
	struct stele_registry *r = NULL;
	struct stele_oci *oci = NULL;
	struct stele_txn *txn = NULL;
	char *host = host_of(src);
	json_t *desc = NULL;
	int error;

	memset(t, 0, sizeof(*t));
	if ((error = stele_registry_open(&r, host, 0, o)) < 0 ||
	    (error = stele_oci_open(&oci, dir, 1)) < 0 ||
	    (error = stele_txn_begin(&txn, oci)) < 0 ||
	    (error = pull_into(&desc, t, txn, r, src, flags)) < 0 ||
	    (error = stele_txn_index_add(txn, refname, desc)) < 0 ||
	    (error = stele_txn_commit(txn)) < 0)
		goto out;
out:
	if (r)
		t->stats = *stele_registry_stats(r);
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_registry_free(r);
	json_decref(desc);
	free(host);
	return error;
}

int
stele_registry_pull(struct stele_transfer *out, const struct stele_ref *src,
		    const struct stele_ref *dst, unsigned flags,
		    const struct stele_registry_opts *o)
{
	char *dir = NULL, *refname = NULL;
	int error;

	if (src->transport != STELE_REF_DOCKER)
		return stele_error_setc(STELE_EINVALID, "pull needs a docker:// source");
	if (dst && dst->transport == STELE_REF_DOCKER)
		return stele_error_setc(STELE_EINVALID,
			"pull writes to a local layout, not to docker://%s", dst->name);
	if (dst && dst->digest)
		return stele_error_setc(STELE_EINVALID,
			"the destination of a pull names a tag, not a digest");
	if (dst) {
		dir = stele_xstrdup(dst->dir);
		refname = dst->refname ? stele_xstrdup(dst->refname) : NULL;
	} else if (o->dirs && o->dirs->store) {
		dir = stele_xstrdup(o->dirs->store);
		/* By digest alone: an untagged entry, found as HOST/REPO@DIGEST. */
		if (src->tag || !src->digest)
			refname = stele_xasprintf("%s:%s", src->name,
						  src->tag ? src->tag : "latest");
	} else {
		return stele_error_setc(STELE_EINVALID,
			"pull of %s: no destination and no local store given",
			src->name);
	}
	if (dst && !refname && !src->digest)
		refname = stele_xstrdup(src->tag ? src->tag : "latest");
	error = pull_layout(out, dir, refname, src, flags, o);
	free(refname);
	free(dir);
	return error;
}

int
stele_registry_pull_to(struct stele_image **out,
		       char resolved[STELE_DIGEST_STRLEN],
		       const char *layout_dir, const char *ref,
		       const struct stele_registry_opts *o)
{
	struct stele_transfer t;
	struct stele_ref *src = NULL;
	struct stele_oci *oci = NULL;
	json_t *have = NULL;
	char *s;
	int error;

	*out = NULL;
	resolved[0] = '\0';
	s = strncmp(ref, "docker://", 9) ? stele_xasprintf("docker://%s", ref) :
		stele_xstrdup(ref);
	error = stele_ref_parse(&src, s, NULL);
	free(s);
	if (error < 0)
		return error;
	if (src->digest && stele_oci_open(&oci, layout_dir, 0) == 0 &&
	    stele_oci_resolve(&have, oci, NULL, src->digest) == 0) {
		/* Already here: no network. */
		json_decref(have);
	} else {
		stele_oci_free(oci);
		oci = NULL;
		stele_error_clear();
		if ((error = pull_layout(&t, layout_dir, NULL, src,
					 STELE_PULL_PLATFORM, o)) < 0)
			goto out;
		if (src->digest && strcmp(t.digest, src->digest)) {
			error = stele_error_setc(STELE_EVERIFY,
				"pulled %s but got %s", src->digest, t.digest);
			goto out;
		}
		if ((error = stele_oci_open(&oci, layout_dir, 0)) < 0)
			goto out;
	}
	snprintf(resolved, STELE_DIGEST_STRLEN, "%s",
		 src->digest ? src->digest : t.digest);
	error = stele_image_load(out, oci, NULL, resolved);
	if (!error)
		oci = NULL; /* the image owns it */
out:
	stele_oci_free(oci);
	stele_ref_free(src);
	return error;
}

static int
pull_temp(struct stele_image **out, char **tmpdir, const struct stele_ref *src,
	  unsigned flags, const struct stele_registry_opts *o)
{
	struct stele_transfer t;
	struct stele_oci *oci = NULL;
	char *dir = NULL;
	int error;

	*out = NULL;
	*tmpdir = NULL;
	if ((error = stele_fs_mkdtemp(&dir, o->dirs ? o->dirs->tmp : NULL,
					 "stele-pull")) < 0)
		return error;
	if ((error = pull_layout(&t, dir, "image", src, flags, o)) < 0 ||
	    (error = stele_oci_open(&oci, dir, 0)) < 0 ||
	    (error = stele_image_load(out, oci, "image", NULL)) < 0) {
		stele_oci_free(oci);
		stele_fs_rm_rf(dir);
		free(dir);
		return error;
	}
	*tmpdir = dir;
	return 0;
}

int
stele_registry_pull_temp(struct stele_image **out, char **tmpdir,
			 const struct stele_ref *src,
			 const struct stele_registry_opts *o)
{
	return pull_temp(out, tmpdir, src, 0, o);
}

int
stele_registry_pull_temp_unlayered(struct stele_image **out, char **tmpdir,
				   const struct stele_ref *src,
				   const struct stele_registry_opts *o)
{
	return pull_temp(out, tmpdir, src, STELE_PULL_NO_LAYERS, o);
}
