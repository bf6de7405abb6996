#define _GNU_SOURCE
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/cache.h"
#include "builder/provenance.h"
#include "oci/digest.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

struct stele_cache {
	char *dir;
	char *keys;
	struct stele_oci *oci;
};

int
stele_cache_open(struct stele_cache **out, const char *dir)
{
	struct stele_cache *c = stele_xcalloc(1, sizeof(*c));
	char *blobs;
	int error;

	*out = NULL;
	assert(dir);
	c->dir = stele_xstrdup(dir);
	c->keys = stele_path_join(c->dir, "keys");
	blobs = stele_path_join(c->dir, "layers");
	if ((error = stele_fs_mkdir_p(c->keys, 0755)) < 0 ||
	    (error = stele_oci_open(&c->oci, blobs, 1)) < 0) {
		free(blobs);
		stele_cache_free(c);
		return stele_error_prefix(error, "build cache '%s'", dir);
	}
	c->oci->created = 0; /* the cache layout stays even if unused */
	free(blobs);
	*out = c;
	return 0;
}

const char *
stele_cache_dir(const struct stele_cache *c)
{
	return c->dir;
}

const struct stele_oci *
stele_cache_layout(const struct stele_cache *c)
{
	return c->oci;
}

void
stele_cache_free(struct stele_cache *c)
{
	if (!c)
		return;
	stele_oci_free(c->oci);
	free(c->keys);
	free(c->dir);
	free(c);
}

int
stele_cache_key(char out[65], const json_t *key)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	char d[STELE_DIGEST_STRLEN];
	int error;

	if ((error = stele_json_emit(&b, key)) == 0) {
		stele_digest_bytes(d, b.ptr, b.len);
		memcpy(out, d + 7, 65);
	}
	stele_buf_release(&b);
	return error;
}

json_t *
stele_cache_entry_blobs(const json_t *e)
{
	json_t *out = json_array(), *set = json_object(), *in;
	const json_t *l = json_object_get(e, "layer");
	const char *d;

	if (l)
		json_array_append(out, (json_t *)l);
	stele_prov_filelists(set, json_object_get(e, "inputs"));
	json_object_foreach(set, d, in)
		json_array_append_new(
			out,
			stele_descriptor(STELE_MT_FILELIST, d,
					 (uint64_t)stele_json_int(in, "size")));
	json_decref(set);
	return out;
}

/* Stage every blob of entry `e` from `from` into `txn`; a blob missing or
 * corrupt (or one a gc removed meanwhile) is STELE_ENOTFOUND: a miss. */
static int
stage_blobs(struct stele_txn *txn, const struct stele_oci *from,
	    const json_t *e)
{
	json_t *blobs = stele_cache_entry_blobs(e), *v;
	size_t i;
	int error = 0;

	json_array_foreach(blobs, i, v) {
		const char *d = stele_json_str(v, "digest");

		if (!d || stele_digest_validate(d) < 0 ||
		    !stele_oci_blob_exists(from, d)) {
			error = STELE_ENOTFOUND;
			break;
		}
		if ((error = stele_txn_copy_blob(txn, from, d)) < 0) {
			if (error == STELE_EVERIFY ||
			    !stele_oci_blob_exists(from, d))
				error = STELE_ENOTFOUND;
			break;
		}
	}
	json_decref(blobs);
	return error;
}

int
stele_cache_get(json_t **out, struct stele_cache *c, const char *key,
		struct stele_txn *txn)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	char *path = stele_xasprintf("%s/%s.json", c->keys, key);
	json_t *e = NULL;
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, path)) < 0) {
		error = STELE_ENOTFOUND;
		goto out;
	}
	/* A damaged or stale entry is a miss, never an error. */
	if (stele_json_parse(&e, b.ptr, b.len, path) == 0 &&
	    json_is_true(json_object_get(e, "empty"))) {
		*out = e; /* a step that made no layer */
		e = NULL;
		error = 0;
		goto out;
	}
	/* Its blobs, each checked: one missing or corrupt is a miss. */
	if (!e || !stele_json_str(json_object_get(e, "layer"), "digest")) {
		error = STELE_ENOTFOUND;
		goto out;
	}
	if ((error = stage_blobs(txn, c->oci, e)) < 0)
		goto out;
	/* Used now: what stele_cache_gc() ages by.  Best effort. */
	(void)utimensat(AT_FDCWD, path, NULL, 0);
	*out = e;
	e = NULL;
out:
	json_decref(e);
	stele_buf_release(&b);
	free(path);
	return error;
}

int
stele_cache_put(struct stele_cache *c, const char *key, const json_t *entry,
		struct stele_txn *txn)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	const char *digest =
		stele_json_str(json_object_get(entry, "layer"), "digest");
	char *path = stele_xasprintf("%s/%s.json", c->keys, key);
	struct stele_txn *ct = NULL;
	json_t *blobs = NULL, *v;
	size_t i;
	int error;

	if (!digest && !json_is_true(json_object_get(entry, "empty"))) {
		error = stele_error_set(
			"internal: cache entry without a layer");
		goto out;
	}
	/*
	 * The entry first, then its blob: a gc lists the entries under the
	 * cache layout's lock, which our commit waits for, so it either sees
	 * this entry or finds the blob still staged.  An entry whose blob
	 * never arrives is a miss.
	 */
	if ((error = stele_json_emit(&b, entry)) < 0 ||
	    (error = stele_fs_write_atomic(path, b.ptr, b.len, 0644)) < 0)
		goto out;
	/* Through a transaction of the cache layout: atomic.  The build
	 * wrote and hashed the blobs: linked, not read again. */
	blobs = stele_cache_entry_blobs(entry);
	json_array_foreach(blobs, i, v) {
		const char *dg = stele_json_str(v, "digest");

		if (stele_oci_blob_exists(c->oci, dg))
			continue;
		if (!ct && (error = stele_txn_begin(&ct, c->oci)) < 0)
			goto out;
		if ((error = stele_txn_stage_from(ct, txn, dg)) < 0)
			goto out;
	}
	if (ct)
		error = stele_txn_commit(ct);
out:
	json_decref(blobs);
	stele_txn_free(ct);
	stele_buf_release(&b);
	free(path);
	return error;
}

struct centry {
	char *path;
	char digest[STELE_DIGEST_STRLEN]; /* "" for a step with no layer */
	uint64_t size;
	int64_t mtime;
	int gone;
	json_t *blobs; /* stele_cache_entry_blobs(), or NULL */
};

static int
centry_cmp(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Every entry of the cache; a damaged one is marked gone. */
static int
list_entries(struct centry **out, size_t *n, const struct stele_cache *c)
{
	DIR *d = opendir(c->keys);
	struct dirent *de;
	struct centry *v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return stele_error_errno("cannot read '%s'", c->keys);
	while ((de = readdir(d))) {
		struct stele_buf b = STELE_BUF_INIT(1u << 20);
		struct centry *e;
		struct stat st;
		json_t *j = NULL;
		const char *dg;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = stele_xrealloc(v, cap * sizeof(*v));
		}
		e = &v[(*n)++];
		memset(e, 0, sizeof(*e));
		e->path = stele_path_join(c->keys, de->d_name);
		if (lstat(e->path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    stele_fs_read(&b, e->path) < 0 ||
		    stele_json_parse(&j, b.ptr, b.len, e->path) < 0) {
			e->gone = 1;
		} else if ((dg = stele_json_str(json_object_get(j, "layer"),
						"digest"))) {
			if (stele_digest_validate(dg) < 0) {
				e->gone = 1;
			} else {
				snprintf(e->digest, sizeof(e->digest), "%s",
					 dg);
				e->blobs = stele_cache_entry_blobs(j);
			}
			e->size = (uint64_t)stele_json_int(
				json_object_get(j, "layer"), "size");
		} else if (!json_is_true(json_object_get(j, "empty"))) {
			e->gone = 1;
		}
		e->mtime = (int64_t)st.st_mtime;
		json_decref(j);
		stele_buf_release(&b);
	}
	closedir(d);
	*out = v;
	return 0;
}

static void
free_entries(struct centry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		json_decref(v[i].blobs);
	}
	free(v);
}

/* The layer bytes the live entries hold, each blob once. */
static uint64_t
held_size(const struct centry *v, size_t n)
{
	json_t *seen = json_object();
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].gone || !v[i].digest[0] ||
		    json_object_get(seen, v[i].digest))
			continue;
		json_object_set_new(seen, v[i].digest, json_true());
		total += v[i].size;
	}
	json_decref(seen);
	return total;
}

/* Remove the cache layout's blobs no entry names, under its lock. */
static int
gc_blobs(struct stele_cache_gc_report *r, struct stele_cache *c)
{
	struct stele_gc_report g = { 0 };
	struct centry *v = NULL;
	size_t n = 0, i, j;
	json_t *named = json_object(), *b;
	int lockfd = -1, error;

	if ((error = stele_oci_lock(&lockfd, c->oci, 1)) < 0 ||
	    (error = list_entries(&v, &n, c)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		json_array_foreach(v[i].blobs, j, b)
			json_object_set_new(named, stele_json_str(b, "digest"),
					    json_true());
	if ((error = stele_oci_sweep(&g, c->oci, named)) < 0)
		goto out;
	r->blobs += g.blobs;
	r->bytes += g.bytes;
	/* Leftover staging directories of the cache layout. */
	stele_oci_gc_staging(c->oci);
out:
	stele_oci_unlock(lockfd);
	free_entries(v, n);
	json_decref(named);
	return error;
}

int
stele_cache_gc(struct stele_cache_gc_report *out, struct stele_cache *c,
	       int64_t now, int64_t max_age, int64_t max_size)
{
	struct centry *v = NULL;
	size_t n = 0, i;
	json_t *refs;
	json_int_t r;
	uint64_t size;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = list_entries(&v, &n, c)) < 0)
		goto out;
	if (n)
		qsort(v, n, sizeof(*v), centry_cmp);
	for (i = 0; i < n; i++)
		if (max_age >= 0 && v[i].mtime < now - max_age)
			v[i].gone = 1;
	/* Oldest first until the blobs still named fit; a blob shared by
	 * entries counts once and frees its bytes with the last of them. */
	refs = json_object();
	for (i = 0; i < n; i++) {
		if (v[i].gone || !v[i].digest[0])
			continue;
		r = stele_json_int(refs, v[i].digest);
		json_object_set_new(refs, v[i].digest, json_integer(r + 1));
	}
	size = held_size(v, n);
	for (i = 0; max_size >= 0 && size > (uint64_t)max_size && i < n; i++) {
		if (v[i].gone)
			continue;
		v[i].gone = 1;
		if (!v[i].digest[0])
			continue;
		r = stele_json_int(refs, v[i].digest) - 1;
		json_object_set_new(refs, v[i].digest, json_integer(r));
		if (r == 0)
			size -= v[i].size;
	}
	json_decref(refs);
	for (i = 0; i < n; i++) {
		if (!v[i].gone) {
			out->kept++;
			continue;
		}
		if (unlink(v[i].path) == 0 || errno == ENOENT)
			out->entries++;
	}
	out->size = held_size(v, n);
	error = gc_blobs(out, c);
out:
	free_entries(v, n);
	return error;
}
