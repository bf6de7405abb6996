#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

#define ANN_SUBJECT "dev.stele.subject"
#define MAX_DEPTH 8

int
stele_oci_is_attach_tag(const char *name)
{
	size_t i;

	if (strncmp(name, "sha256-", 7))
		return 0;
	for (i = 7; i < 71; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return !name[71] || !strcmp(name + 71, ".sig") ||
		!strcmp(name + 71, ".att");
}

static const char *
entry_name(const json_t *m)
{
	return stele_json_str(json_object_get(m, "annotations"),
			      STELE_ANN_REFNAME);
}

/* An image's ref.name: set and not an attachment tag. */
static const char *
image_name(const json_t *m)
{
	const char *n = entry_name(m);

	return n && !stele_oci_is_attach_tag(n) ? n : NULL;
}

static int
index_write(const struct stele_oci *oci, const json_t *idx)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char *p = stele_path_join(oci->dir, "index.json");
	int error;

	if ((error = stele_json_emit(&b, idx)) == 0)
		error = stele_fs_write_atomic(p, b.ptr, b.len, 0644);
	free(p);
	stele_buf_release(&b);
	return error;
}

/* One image's line: sizes from its manifest, created from its config. */
static json_t *
image_entry(const struct stele_oci *oci, const json_t *m, const json_t *idx)
{
	const char *d = stele_json_str(m, "digest"), *cd, *n;
	json_t *man = NULL, *cfg = NULL, *am, *v, *e;
	json_int_t size = stele_json_int(m, "size");
	size_t i, sigs = 0, atts = 0, refs = 0;

	if (d && stele_oci_json_read(&man, NULL, oci, d) == 0) {
		size += stele_json_int(json_object_get(man, "config"), "size");
		json_array_foreach(json_object_get(man, "layers"), i, v)
			size += stele_json_int(v, "size");
		cd = stele_json_str(json_object_get(man, "config"), "digest");
		if (cd && stele_oci_json_read(&cfg, NULL, oci, cd) < 0)
			cfg = NULL;
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, v) {
		const char *s = stele_json_str(
			json_object_get(v, "annotations"), ANN_SUBJECT);

		if (d && s && !strcmp(s, d))
			refs++;
		if (!d || !(n = entry_name(v)) || !stele_oci_is_attach_tag(n) ||
		    strncmp(n + 7, d + 7, 64))
			continue;
		/* The attachments are the tag's manifest's layers. */
		am = NULL;
		if (strlen(n) > 71 &&
		    stele_oci_json_read(&am, NULL, oci,
					stele_json_str(v, "digest")) == 0) {
			if (!strcmp(n + 71, ".sig"))
				sigs += json_array_size(
					json_object_get(am, "layers"));
			else
				atts += json_array_size(
					json_object_get(am, "layers"));
		}
		json_decref(am);
	}
	e = json_pack("{s:s?,s:s?,s:s?,s:I,s:s?,s:I,s:I,s:I}", "name",
		      image_name(m), "digest", d, "mediaType",
		      stele_json_str(m, "mediaType"), "size", size, "created",
		      cfg ? stele_json_str(cfg, "created") : NULL, "signatures",
		      (json_int_t)sigs, "attestations", (json_int_t)atts,
		      "referrers", (json_int_t)refs);
	json_decref(cfg);
	json_decref(man);
	return e;
}

static int
by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = stele_json_str(x, "name"),
		   *ny = stele_json_str(y, "name");
	int c;

	/* Untagged images last, by digest. */
	if (!nx != !ny)
		return nx ? -1 : 1;
	if (nx && (c = strcmp(nx, ny)))
		return c;
	return strcmp(stele_json_str(x, "digest"), stele_json_str(y, "digest"));
}

int
stele_oci_images(json_t **out, const struct stele_oci *oci, int all)
{
	json_t *idx = NULL, *list = json_array(), *m, *seen = json_object();
	json_t **v = NULL;
	size_t i, n;
	int lockfd = -1, error;

	*out = NULL;
	if ((error = stele_oci_lock(&lockfd, oci, 0)) < 0 ||
	    (error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *d = stele_json_str(m, "digest");

		if (!image_name(m) || !d)
			continue;
		json_object_set_new(seen, d, json_true());
		json_array_append_new(list, image_entry(oci, m, idx));
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *s = stele_json_str(
			json_object_get(m, "annotations"), ANN_SUBJECT);
		json_t *desc;

		if (!all || entry_name(m) || !s ||
		    stele_digest_validate(s) < 0 || json_object_get(seen, s) ||
		    !stele_oci_blob_exists(oci, s))
			continue;
		json_object_set_new(seen, s, json_true());
		desc = stele_descriptor(STELE_MT_MANIFEST, s, 0);
		json_array_append_new(list, image_entry(oci, desc, idx));
		json_decref(desc);
	}
	n = json_array_size(list);
	v = stele_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), by_name);
	json_array_clear(list);
	for (i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	*out = list;
	list = NULL;
out:
	free(v);
	stele_oci_unlock(lockfd);
	json_decref(seen);
	json_decref(list);
	json_decref(idx);
	return error;
}

/* The index entry naming `name`, or the first one with digest `digest`. */
static json_t *
find(const json_t *idx, const char *name, const char *digest, size_t *at)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *n = image_name(m), *d = stele_json_str(m, "digest");

		if (name ? (n && !strcmp(n, name))
			 : (d && digest && !strcmp(d, digest) &&
			    !stele_json_str(json_object_get(m, "annotations"),
					    ANN_SUBJECT))) {
			if (at)
				*at = i;
			return m;
		}
	}
	return NULL;
}

int
stele_oci_tag(const struct stele_oci *oci, const char *src_name,
	      const char *src_digest, const char *dst_name)
{
	json_t *idx = NULL, *src, *copy = NULL, *ann, *m;
	size_t i;
	int lockfd = -1, error;

	if (stele_oci_is_attach_tag(dst_name) ||
	    (src_name && stele_oci_is_attach_tag(src_name)))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s' is a signature or attestation tag, not an image",
			stele_oci_is_attach_tag(dst_name) ? dst_name
							  : src_name);
	if ((error = stele_oci_lock(&lockfd, oci, 1)) < 0 ||
	    (error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	if (!(src = find(idx, src_name, src_digest, NULL))) {
		/* By digest: an untagged image still in blobs/ (not a child
		 * of an index, which a plain tag would misdescribe). */
		json_t *doc = NULL;

		if (!src_digest || !stele_oci_blob_exists(oci, src_digest) ||
		    stele_oci_json_read(&doc, NULL, oci, src_digest) < 0 ||
		    !json_is_object(json_object_get(doc, "config")) ||
		    json_object_get(doc, "subject")) {
			json_decref(doc);
			error = stele_error_setc(
				STELE_ENOTFOUND, "image '%s' not found in '%s'",
				src_name ? src_name : src_digest, oci->dir);
			goto out;
		}
		json_decref(doc);
		copy = stele_descriptor(STELE_MT_MANIFEST, src_digest, 0);
		{
			struct stat st;
			char *p = stele_oci_blob_path(oci, src_digest);

			if (stat(p, &st) == 0)
				json_object_set_new(copy, "size",
						    json_integer(st.st_size));
			free(p);
		}
	} else {
		copy = json_deep_copy(src);
	}
	ann = stele_json_member(copy, "annotations", JSON_OBJECT);
	/* The signed identity belongs to the old name. */
	json_object_del(ann, STELE_ANN_IDENTITY);
	json_object_set_new(ann, STELE_ANN_REFNAME, json_string(dst_name));
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *n = entry_name(m);

		if (n && !strcmp(n, dst_name)) {
			json_array_set(json_object_get(idx, "manifests"), i,
				       copy);
			goto write;
		}
	}
	json_array_append(json_object_get(idx, "manifests"), copy);
write:
	error = index_write(oci, idx);
out:
	json_decref(copy);
	json_decref(idx);
	stele_oci_unlock(lockfd);
	return error;
}

/* The tagged image index (its name) that lists `digest`, or NULL. */
static const char *
needed_by(const struct stele_oci *oci, const json_t *idx, const char *digest)
{
	const char *found = NULL, *n;
	json_t *m, *doc, *c;
	size_t i, j;

	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *mt = stele_json_str(m, "mediaType");

		if (found || !(n = image_name(m)) || !mt ||
		    strcmp(mt, STELE_MT_INDEX) ||
		    stele_oci_json_read(&doc, NULL, oci,
					stele_json_str(m, "digest")) < 0)
			continue;
		json_array_foreach(json_object_get(doc, "manifests"), j, c)
			if (!found && stele_json_str(c, "digest") &&
			    !strcmp(stele_json_str(c, "digest"), digest))
				found = n;
		json_decref(doc);
	}
	return found;
}

/* Whether index entry `m` is an attachment of `digest`. */
static int
attached_to(const json_t *m, const char *digest)
{
	const char *n = entry_name(m);
	const char *s =
		stele_json_str(json_object_get(m, "annotations"), ANN_SUBJECT);

	if (n)
		return stele_oci_is_attach_tag(n) &&
			!strncmp(n + 7, digest + 7, 64);
	return s && !strcmp(s, digest);
}

/* Whether `digest` is a referrer of some image (a signature, attestation). */
static int
is_referrer(const json_t *idx, const char *digest)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *d = stele_json_str(m, "digest");

		if (d && !strcmp(d, digest) &&
		    (stele_json_str(json_object_get(m, "annotations"),
				    ANN_SUBJECT) ||
		     (entry_name(m) && stele_oci_is_attach_tag(entry_name(m)))))
			return 1;
	}
	return 0;
}

int
stele_oci_rmi(json_t **out, const struct stele_oci *oci, const char *name,
	      const char *digest, unsigned int flags)
{
	json_t *idx = NULL, *ms, *m, *untagged = json_array(), *keep;
	const char *d, *n, *need;
	size_t i, ntags = 0, natt = 0;
	char *dg = NULL, *names = NULL, *prev;
	int lockfd = -1, error, deleted = 0;

	*out = NULL;
	if (name && stele_oci_is_attach_tag(name)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' is a signature or attestation tag, not an image; "
			"it goes with its image",
			name);
		goto out;
	}
	if ((error = stele_oci_lock(&lockfd, oci, 1)) < 0 ||
	    (error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	ms = json_object_get(idx, "manifests");
	if (name) {
		if (!(m = find(idx, name, NULL, NULL))) {
			error = stele_error_setc(STELE_ENOTFOUND,
						 "image '%s' not found in '%s'",
						 name, oci->dir);
			goto out;
		}
		dg = stele_xstrdup(stele_json_str(m, "digest"));
	} else {
		dg = stele_xstrdup(digest);
		if (is_referrer(idx, dg)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"%s is a signature, attestation or other "
				"referrer of an image; it goes with its image",
				dg);
			goto out;
		}
	}
	/* The tags naming the image. */
	json_array_foreach(ms, i, m) {
		if (!(n = image_name(m)) ||
		    !(d = stele_json_str(m, "digest")) || strcmp(d, dg))
			continue;
		ntags++;
		prev = names;
		names = prev ? stele_xasprintf("%s, %s", prev, n)
			     : stele_xstrdup(n);
		free(prev);
	}
	if (!name && ntags > 1 && !(flags & STELE_RMI_FORCE)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"image %s has %zu tags (%s): remove them by name, or "
			"use --force to remove it with all of them",
			dg, ntags, names);
		goto out;
	}
	need = needed_by(oci, idx, dg);
	if (!name && need) {
		error = stele_error_setc(
			STELE_EINVALID,
			"image %s is listed by image index '%s'; remove that "
			"first",
			dg, need);
		goto out;
	}
	if (!name && !ntags && !find(idx, NULL, dg, NULL)) {
		/* Untagged: the subject of referrers, or nothing at all. */
		int any = 0;

		json_array_foreach(ms, i, m)
			any |= attached_to(m, dg);
		if (!any) {
			error = stele_error_setc(STELE_ENOTFOUND,
						 "image '%s' not found in '%s'",
						 dg, oci->dir);
			goto out;
		}
	}
	/* By name: only that tag; the image goes when no tag is left. */
	deleted = name ? ntags == 1 && !need : 1;
	keep = json_array();
	json_array_foreach(ms, i, m) {
		n = image_name(m);
		d = stele_json_str(m, "digest");
		if (n && d && !strcmp(d, dg) &&
		    (!name || !strcmp(n, name) || deleted)) {
			json_array_append_new(untagged, json_string(n));
			continue;
		}
		if (deleted &&
		    (attached_to(m, dg) ||
		     (!entry_name(m) && d && !strcmp(d, dg)))) {
			natt += attached_to(m, dg);
			continue;
		}
		json_array_append(keep, m);
	}
	json_object_set_new(idx, "manifests", keep);
	if ((error = index_write(oci, idx)) < 0)
		goto out;
	*out = json_pack("{s:O,s:s?,s:I}", "untagged", untagged, "deleted",
			 deleted ? dg : NULL, "attachments", (json_int_t)natt);
out:
	stele_oci_unlock(lockfd);
	json_decref(untagged);
	json_decref(idx);
	free(names);
	free(dg);
	return error;
}

static int walk_desc(const struct stele_oci *oci, json_t *reached,
		     const json_t *desc, int depth);

static int
walk_doc(const struct stele_oci *oci, json_t *reached, const char *digest,
	 int depth)
{
	json_t *doc = NULL, *v;
	size_t i;
	int error = 0;

	if (depth > MAX_DEPTH)
		return stele_error_setc(STELE_EINVALID,
					"'%s': manifests nested too deep at %s",
					oci->dir, digest);
	if (!stele_oci_blob_exists(oci, digest))
		return 0; /* dangling: fsck's to report */
	/* Corrupt or unparsable: what it references cannot be known. */
	if (stele_oci_json_read(&doc, NULL, oci, digest) < 0)
		return stele_error_prefix(STELE_EINVALID,
					  "gc stopped: cannot read manifest %s",
					  digest);
	if ((v = json_object_get(doc, "config")))
		error = walk_desc(oci, reached, v, depth + 1);
	json_array_foreach(json_object_get(doc, "layers"), i, v)
		if (!error)
			error = walk_desc(oci, reached, v, depth + 1);
	json_array_foreach(json_object_get(doc, "manifests"), i, v)
		if (!error)
			error = walk_desc(oci, reached, v, depth + 1);
	if (!error && (v = json_object_get(doc, "subject")))
		error = walk_desc(oci, reached, v, depth + 1);
	json_decref(doc);
	return error;
}

static int
walk_desc(const struct stele_oci *oci, json_t *reached, const json_t *desc,
	  int depth)
{
	const char *d = stele_json_str(desc, "digest");
	const char *mt = stele_json_str(desc, "mediaType");

	if (!d || stele_digest_validate(d) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"gc stopped: a descriptor in '%s' has an invalid digest",
			oci->dir);
	if (json_object_get(reached, d))
		return 0;
	json_object_set_new(reached, d, json_true());
	if (mt && (strstr(mt, "manifest") || strstr(mt, "index")))
		return walk_doc(oci, reached, d, depth);
	return 0;
}

size_t
stele_oci_gc_staging(const struct stele_oci *oci)
{
	json_t *left = stele_oci_staging_leftovers(oci), *p;
	size_t i, removed = 0;

	json_array_foreach(left, i, p)
		if (stele_fs_rm_rf(json_string_value(p)) == 0)
			removed++;
	json_decref(left);
	return removed;
}

int
stele_oci_sweep(struct stele_gc_report *out, const struct stele_oci *oci,
		const json_t *keep)
{
	char *bdir = stele_path_join(oci->dir, "blobs/sha256");
	struct dirent *de;
	DIR *d;
	int error;

	if (!(d = opendir(bdir))) {
		error = stele_error_errno("cannot read '%s'", bdir);
		free(bdir);
		return error;
	}
	while ((de = readdir(d))) {
		char digest[STELE_DIGEST_STRLEN];
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		if (strlen(de->d_name) == 64 &&
		    stele_digest_validate(digest) == 0 &&
		    json_object_get(keep, digest)) {
			out->kept++;
			continue;
		}
		/* Unreferenced, or not a blob at all (an interrupted write's
		 * temp file). */
		p = stele_path_join(bdir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    unlink(p) == 0) {
			out->blobs++;
			out->bytes += (uint64_t)st.st_size;
		}
		free(p);
	}
	closedir(d);
	free(bdir);
	return 0;
}

int
stele_oci_gc(struct stele_gc_report *out, const struct stele_oci *oci)
{
	json_t *idx = NULL, *reached = json_object(), *v;
	size_t i;
	int lockfd = -1, error;

	memset(out, 0, sizeof(*out));
	/*
	 * Exclusive: no commit runs and no transaction is set up while we
	 * decide; a transaction already running has everything it uses
	 * staged or held (hard-linked) in its staging directory.
	 */
	if ((error = stele_oci_lock(&lockfd, oci, 1)) < 0 ||
	    (error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	json_array_foreach(json_object_get(idx, "manifests"), i, v)
		if ((error = walk_desc(oci, reached, v, 0)) < 0)
			goto out;
	if ((error = stele_oci_sweep(out, oci, reached)) < 0)
		goto out;
	out->staging = stele_oci_gc_staging(oci);
out:
	stele_oci_unlock(lockfd);
	json_decref(reached);
	json_decref(idx);
	return error;
}
