#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/cache.h"
#include "oci/digest.h"
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

int
stele_cache_get(json_t **out, struct stele_cache *c, const char *key,
		struct stele_txn *txn)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	char *path = stele_xasprintf("%s/%s.json", c->keys, key);
	const char *digest;
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
	if (!e ||
	    !(digest = stele_json_str(json_object_get(e, "layer"), "digest")) ||
	    stele_digest_validate(digest) < 0 ||
	    !stele_oci_blob_exists(c->oci, digest)) {
		error = STELE_ENOTFOUND;
		goto out;
	}
	if ((error = stele_txn_copy_blob(txn, c->oci, digest)) < 0) {
		if (error == STELE_EVERIFY) /* corrupt cache blob: drop it */
			error = STELE_ENOTFOUND;
		goto out;
	}
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
	const char *digest = stele_json_str(json_object_get(entry, "layer"), "digest");
	char *path = stele_xasprintf("%s/%s.json", c->keys, key), *src = NULL;
	struct stele_txn *ct = NULL;
	int error;

	if (!digest && !json_is_true(json_object_get(entry, "empty"))) {
		error = stele_error_set("internal: cache entry without a layer");
		goto out;
	}
	if (digest && !stele_oci_blob_exists(c->oci, digest)) {
		/* Through a transaction of the cache layout: atomic. */
		src = stele_txn_blob_path(txn, digest);
		if ((error = stele_txn_begin(&ct, c->oci)) < 0 ||
		    (error = stele_txn_stage_file(ct, src, digest)) < 0 ||
		    (error = stele_txn_commit(ct)) < 0)
			goto out;
	}
	if ((error = stele_json_emit(&b, entry)) == 0)
		error = stele_fs_write_atomic(path, b.ptr, b.len, 0644);
out:
	stele_txn_free(ct);
	stele_buf_release(&b);
	free(src);
	free(path);
	return error;
}
