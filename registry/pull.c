#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/client_priv.h"
#include "registry/copy.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* The registry source: one repository. */
struct rsrc {
	struct stele_copy_src base;
	struct stele_registry *r;
	const char *repo;
};

static int
rsrc_manifest(struct stele_copy_src *s, struct stele_buf *out,
	      char digest[STELE_DIGEST_STRLEN], char **ctype, const char *ref)
{
	struct rsrc *rs = (struct rsrc *)s;

	return stele_registry_manifest_get(out, digest, ctype, rs->r, rs->repo,
					   ref);
}

static int
rsrc_blob_stage(struct stele_copy_src *s, struct stele_txn *txn,
		const char *digest, uint64_t size)
{
	struct rsrc *rs = (struct rsrc *)s;

	return stele_registry_blob_fetch(txn, rs->r, rs->repo, digest, size);
}

/* A lane: its own connection (registry/copy.h). */
static int
rsrc_fork(struct stele_copy_src *s, struct stele_copy_src **out)
{
	struct rsrc *rs = (struct rsrc *)s, *l = stele_xmalloc(sizeof(*l));
	int error;

	*l = *rs;
	if ((error = stele_registry__dup(&l->r, rs->r)) < 0) {
		free(l);
		return error;
	}
	*out = &l->base;
	return 0;
}

static void
rsrc_join(struct stele_copy_src *s, struct stele_copy_src *lane)
{
	struct rsrc *rs = (struct rsrc *)s, *l = (struct rsrc *)lane;

	stele_registry__stats_add(stele_registry__stats(rs->r),
				  stele_registry_stats(l->r));
	stele_registry_free(l->r);
	free(l);
}

static int
rsrc_referrers(struct stele_copy_src *s, json_t **out, const char *subject)
{
	struct rsrc *rs = (struct rsrc *)s;
	json_t *idx = NULL;
	int error;

	*out = NULL;
	if ((error = stele_transfer__remote_referrers(&idx, rs->r, rs->repo,
						      subject)) < 0)
		return error;
	*out = json_incref(json_object_get(idx, "manifests"));
	json_decref(idx);
	return 0;
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
	if ((error = stele_registry_manifest_get(&b, got, NULL, r, repo,
						 tag)) == 0 &&
	    (error = stele_json_parse(out, b.ptr, b.len, tag)) == 0 &&
	    !json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		*out = NULL;
		error = stele_error_setc(STELE_EINVALID,
					 "%s:%s is not a referrers index", repo,
					 tag);
	}
	free(tag);
	stele_buf_release(&b);
	return error;
}

static int
pull_layout(struct stele_transfer *t, const char *dir, const char *refname,
	    const struct stele_ref *src, unsigned flags,
	    const struct stele_registry_opts *o)
{
	size_t hostlen = strcspn(src->name, "/");
	char *host = stele_xstrndup(src->name, hostlen);
	struct rsrc rs = { { src->name, rsrc_manifest, NULL, rsrc_blob_stage,
			     NULL, rsrc_referrers, rsrc_fork, rsrc_join,
			     o->jobs ? o->jobs : 4 },
			   NULL,
			   src->name + hostlen + 1 };
	const char *ref = src->digest ? src->digest
		: src->tag            ? src->tag
				      : "latest";
	int error;

	memset(t, 0, sizeof(*t));
	/* Where it came from: mounts on a later push use the repository,
	 * verify binds signatures to the reference. */
	if ((error = stele_registry_open(&rs.r, host, 0, o)) == 0)
		error = stele_copy__to_layout(
			t, &rs.base, dir, refname, ref, NULL, flags, NULL,
			json_pack("{s:s,s:s++}", STELE_ANN_SOURCE, src->name,
				  STELE_ANN_IDENTITY, src->name,
				  src->digest ? "@" : ":", ref));
	if (rs.r)
		t->stats = *stele_registry_stats(rs.r);
	stele_registry_free(rs.r);
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
		return stele_error_setc(STELE_EINVALID,
					"pull needs a docker:// source");
	if (dst && dst->transport == STELE_REF_DOCKER)
		return stele_error_setc(
			STELE_EINVALID,
			"pull writes to a local layout, not to docker://%s",
			dst->name);
	if (dst && dst->digest)
		return stele_error_setc(
			STELE_EINVALID,
			"the destination of a pull names a tag, not a digest");
	if (dst) {
		dir = stele_xstrdup(dst->dir);
		refname = dst->refname ? stele_xstrdup(dst->refname) : NULL;
	} else if (o->dirs && o->dirs->store) {
		dir = stele_xstrdup(o->dirs->store);
		/* By digest alone: an untagged entry, found as HOST/REPO@DIGEST. */
		if (src->tag || !src->digest)
			refname =
				stele_xasprintf("%s:%s", src->name,
						src->tag ? src->tag : "latest");
	} else {
		return stele_error_setc(
			STELE_EINVALID,
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
	s = strncmp(ref, "docker://", 9) ? stele_xasprintf("docker://%s", ref)
					 : stele_xstrdup(ref);
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
						 "pulled %s but got %s",
						 src->digest, t.digest);
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
		stele_fs_tmp_free(dir);
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
