#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"
#include "oci/layout.h"
#include "registry/transfer.h"
#include "signer/attach.h"
#include "signer/check.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/push.h"
#include "verify/regcache.h"

/* ---- the format ---- */

static int
is_key(const char *k)
{
	size_t i;

	for (i = 0; k[i]; i++)
		if (!((k[i] >= '0' && k[i] <= '9') ||
		      (k[i] >= 'a' && k[i] <= 'f')))
			return 0;
	return i == 64;
}

/* {mediaType, digest, size} with a sha256 digest and a size >= 0. */
static int
is_descriptor(const json_t *d)
{
	const char *mt = stele_json_str(d, "mediaType");
	const char *dg = stele_json_str(d, "digest");
	const json_t *size = json_object_get(d, "size");

	return json_is_object(d) && mt && *mt && dg &&
		stele_digest_validate(dg) == 0 && json_is_integer(size) &&
		json_integer_value(size) >= 0;
}

/* The manifest layer with `l`'s digest, size and media type, or NULL. */
static const json_t *
manifest_layer(const json_t *manifest, const json_t *l)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(manifest, "layers"), i, m)
		if (!strcmp(stele_json_str(m, "digest"),
			    stele_json_str(l, "digest")) &&
		    !strcmp(stele_json_str(m, "mediaType"),
			    stele_json_str(l, "mediaType")) &&
		    stele_json_int(m, "size") == stele_json_int(l, "size"))
			return m;
	return NULL;
}

int
stele_regcache_check(const json_t *config, const json_t *manifest,
		     const char *what)
{
	const json_t *entries = json_object_get(config, "entries");
	const json_t *version = json_object_get(config, "version");
	const json_t *e, *l, *m;
	json_t *descs;
	const char *key, *diff;
	size_t i;
	int error = 0;

	if (!json_is_object(config) || !json_is_integer(version) ||
	    json_integer_value(version) != STELE_REGCACHE_VERSION)
		return stele_error_setc(STELE_EINVALID,
					"%s: not a version %d build cache",
					what, STELE_REGCACHE_VERSION);
	if (!json_is_object(entries))
		return stele_error_setc(STELE_EINVALID,
					"%s: the cache has no entries object",
					what);
	json_array_foreach(json_object_get(manifest, "layers"), i, m)
		if (!is_descriptor(m))
			return stele_error_setc(
				STELE_EINVALID,
				"%s: layer %zu is not a descriptor", what, i);
	json_object_foreach((json_t *)entries, key, e) {
		if (!is_key(key))
			return stele_error_setc(
				STELE_EINVALID,
				"%s: key '%.80s' is not 64 hex digits", what,
				key);
		if (!json_is_object(e))
			return stele_error_setc(STELE_EINVALID,
						"%s: entry %s is not an object",
						what, key);
		if (json_is_true(json_object_get(e, "empty"))) {
			if (json_object_size(e) != 1)
				return stele_error_setc(
					STELE_EINVALID,
					"%s: entry %s: a step without a layer "
					"has nothing else",
					what, key);
			continue;
		}
		l = json_object_get(e, "layer");
		diff = stele_json_str(e, "diffID");
		if (!is_descriptor(l) || !diff ||
		    stele_digest_validate(diff) < 0 ||
		    !json_is_array(json_object_get(e, "inputs")))
			return stele_error_setc(
				STELE_EINVALID,
				"%s: entry %s wants a layer descriptor, a "
				"diffID and inputs",
				what, key);
		descs = stele_cache_entry_blobs(e);
		json_array_foreach(descs, i, l) {
			if (manifest_layer(manifest, l))
				continue;
			error = stele_error_setc(
				STELE_EINVALID,
				"%s: entry %s names %s %s, which the cache "
				"manifest does not list",
				what, key, i ? "file list" : "layer",
				stele_json_str(l, "digest"));
			break;
		}
		json_decref(descs);
		if (error < 0)
			return error;
	}
	return 0;
}

/* "HOST/REPO" and "REPO" of a docker:// reference. */
static const char *
repo_of(const struct stele_ref *r)
{
	return r->name + strcspn(r->name, "/") + 1;
}

/* ---- export ---- */

static int
digest_cmp(const void *a, const void *b)
{
	return strcmp(stele_json_str(*(json_t *const *)a, "digest"),
		      stele_json_str(*(json_t *const *)b, "digest"));
}

/* The config and manifest of `entries`: layers and diff_ids sorted by
 * digest, each once. */
static int
assemble(struct stele_buf *config, struct stele_buf *manifest,
	 char cdigest[STELE_DIGEST_STRLEN], json_t **layers_out,
	 const json_t *entries)
{
	json_t *seen = json_object(), *layers = json_array(),
	       *diffs = json_array();
	json_t *cfg = NULL, *man = NULL, *e, *l, **v = NULL;
	const char *key;
	size_t i, n;
	int error;

	*layers_out = NULL;
	json_object_foreach((json_t *)entries, key, e) {
		json_t *descs;

		if (!is_descriptor(json_object_get(e, "layer")))
			continue; /* no layer: stele_regcache_check() says */
		/* A file list is its own diff_id (it is not compressed). */
		descs = stele_cache_entry_blobs(e);
		json_array_foreach(descs, i, l) {
			const char *dg = stele_json_str(l, "digest");

			if (!json_object_get(seen, dg))
				json_object_set_new(
					seen, dg,
					json_pack(
						"{s:O,s:O}", "layer", l,
						"diffID",
						i ? json_object_get(l, "digest")
						  : json_object_get(e,
								    "diffID")));
		}
		json_decref(descs);
	}
	n = json_object_size(seen);
	v = stele_xcalloc(n ? n : 1, sizeof(*v));
	i = 0;
	json_object_foreach(seen, key, e)
		v[i++] = json_object_get(e, "layer");
	qsort(v, n, sizeof(*v), digest_cmp);
	for (i = 0; i < n; i++) {
		e = json_object_get(seen, stele_json_str(v[i], "digest"));
		json_array_append_new(
			layers,
			stele_descriptor(
				stele_json_str(v[i], "mediaType"),
				stele_json_str(v[i], "digest"),
				(uint64_t)stele_json_int(v[i], "size")));
		json_array_append(diffs, json_object_get(e, "diffID"));
	}
	cfg = json_pack("{s:O,s:{s:s,s:O},s:i}", "entries", entries, "rootfs",
			"type", "layers", "diff_ids", diffs, "version",
			STELE_REGCACHE_VERSION);
	if ((error = stele_json_emit(config, cfg)) < 0) {
		error = stele_error_prefix(
			error,
			"the build cache has too many "
			"entries for one config (%u bytes at most)",
			(unsigned)STELE_MANIFEST_MAX);
		goto out;
	}
	stele_digest_bytes(cdigest, config->ptr, config->len);
	man = json_pack(
		"{s:i,s:s,s:o,s:O}", "schemaVersion", 2, "mediaType",
		STELE_MT_MANIFEST, "config",
		stele_descriptor(STELE_MT_BUILD_CACHE, cdigest, config->len),
		"layers", layers);
	if ((error = stele_regcache_check(cfg, man, "--cache-to")) < 0 ||
	    (error = stele_json_emit(manifest, man)) < 0)
		goto out;
	*layers_out = json_incref(layers);
out:
	free(v);
	json_decref(man);
	json_decref(cfg);
	json_decref(diffs);
	json_decref(layers);
	json_decref(seen);
	return error;
}

/* Stage every layer from the build cache, else the build's layout. */
static int
stage_layers(struct stele_txn *txn, const json_t *layers, const char *cache_dir,
	     const char *layout_dir)
{
	struct stele_cache *cache = NULL;
	struct stele_oci *lay = NULL;
	const struct stele_oci *from;
	const json_t *l;
	const char *dg;
	size_t i;
	int error = 0;

	if (cache_dir && (error = stele_cache_open(&cache, cache_dir)) < 0)
		return error;
	if (layout_dir && stele_oci_open(&lay, layout_dir, 0) < 0)
		lay = NULL; /* then only the cache has them */
	json_array_foreach(layers, i, l) {
		dg = stele_json_str(l, "digest");
		from = cache &&
				stele_oci_blob_exists(stele_cache_layout(cache),
						      dg)
			? stele_cache_layout(cache)
			: lay && stele_oci_blob_exists(lay, dg) ? lay
								: NULL;
		if (!from) {
			error = stele_error_setc(
				STELE_ENOTFOUND,
				"layer %s of the build cache is in neither the "
				"build cache nor the image's layout",
				dg);
			break;
		}
		if ((error = stele_txn_copy_blob(txn, from, dg)) < 0)
			break;
	}
	stele_oci_free(lay);
	stele_cache_free(cache);
	return error;
}

int
stele_regcache_export(struct stele_regcache_report *out, const json_t *entries,
		      const char *cache_dir, const char *layout_dir,
		      const struct stele_ref *dst, const struct stele_seckey *k,
		      const struct stele_registry_opts *o)
{
	struct stele_buf config = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf manifest = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char cdigest[STELE_DIGEST_STRLEN], mdigest[STELE_DIGEST_STRLEN];
	struct stele_attach_result ar;
	struct stele_transfer t;
	struct stele_image *img = NULL;
	struct stele_oci *oci = NULL;
	struct stele_txn *txn = NULL;
	json_t *layers = NULL, *desc = NULL, *l;
	char *tmp = NULL, *identity = NULL;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	if (dst->transport != STELE_REF_DOCKER || !dst->tag || dst->digest)
		return stele_error_setc(
			STELE_EINVALID,
			"a registry cache is written to docker://HOST/REPO:TAG");
	if ((error = assemble(&config, &manifest, cdigest, &layers, entries)) <
		    0 ||
	    (error = stele_fs_mkdtemp(&tmp, o->dirs ? o->dirs->tmp : NULL,
				      "stele-cache")) < 0 ||
	    (error = stele_oci_open(&oci, tmp, 1)) < 0 ||
	    (error = stele_txn_begin(&txn, oci)) < 0 ||
	    (error = stage_layers(txn, layers, cache_dir, layout_dir)) < 0 ||
	    (error = stele_txn_put_blob(txn, config.ptr, config.len, cdigest)) <
		    0 ||
	    (error = stele_txn_put_blob(txn, manifest.ptr, manifest.len,
					mdigest)) < 0)
		goto out;
	desc = stele_descriptor(STELE_MT_MANIFEST, mdigest, manifest.len);
	if ((error = stele_txn_index_add(txn, "cache", desc)) < 0 ||
	    (error = stele_txn_commit(txn)) < 0 ||
	    (error = stele_image_load(&img, oci, "cache", NULL)) < 0)
		goto out;
	oci = NULL; /* the image's now */
	identity = stele_xasprintf("%s:%s", dst->name, dst->tag);
	if ((error = stele_sign_image(&ar, img, identity, NULL, k)) < 0 ||
	    (error = stele_push_cache(&t, img, dst, o)) < 0)
		goto out;
	snprintf(out->digest, sizeof(out->digest), "%s", mdigest);
	out->entries = json_object_size(entries);
	out->layers = json_array_size(layers);
	json_array_foreach(layers, i, l)
		out->bytes += (uint64_t)stele_json_int(l, "size");
	out->blobs_sent = t.blobs_sent;
	out->bytes_sent = t.bytes;
out:
	stele_txn_free(txn); /* before the layout it writes to */
	stele_image_free(img);
	stele_oci_free(oci);
	stele_fs_tmp_free(tmp);
	free(identity);
	json_decref(desc);
	json_decref(layers);
	stele_buf_release(&manifest);
	stele_buf_release(&config);
	return error;
}

/* ---- import ---- */

struct stele_regcache {
	struct stele_cache_source source;
	struct stele_registry *r;
	char *repo;
	char *name; /* "registry cache HOST/REPO:TAG" */
	json_t *entries;
	struct stele_regcache_report rep;
};

static int
regcache_get(void *payload, json_t **out, const char *key,
	     struct stele_txn *txn)
{
	struct stele_regcache *c = payload;
	const json_t *e = json_object_get(c->entries, key), *l;
	json_t *descs;
	const char *dg;
	uint64_t size;
	size_t i;
	int error;

	*out = NULL;
	if (!e)
		return stele_error_setc(STELE_ENOTFOUND, "%s has no entry %s",
					c->name, key);
	descs = stele_cache_entry_blobs(e);
	json_array_foreach(descs, i, l) {
		dg = stele_json_str(l, "digest");
		size = (uint64_t)stele_json_int(l, "size");
		if ((error = stele_txn_hold_blob(txn, dg)) < 0)
			goto out;
		if (error == 0) {
			if ((error = stele_registry_blob_fetch(
				     txn, c->r, c->repo, dg, size)) < 0)
				goto out;
			c->rep.blobs_sent++;
			c->rep.bytes_sent += size;
		}
	}
	error = 0;
	*out = json_deep_copy(e);
	c->rep.hits++;
out:
	json_decref(descs);
	return error;
}

/* Whether `identity` (a signature's docker-reference) is in repository
 * `name` (HOST/REPO): HOST/REPO, HOST/REPO:TAG or HOST/REPO@DIGEST. */
static int
same_repo(const char *identity, const char *name)
{
	size_t n = strlen(name);

	return identity && !strncmp(identity, name, n) &&
		(!identity[n] || identity[n] == ':' || identity[n] == '@');
}

/* 0 when a signature by one of the keys verifies for the repository. */
static int
check_signed(const struct stele_image *img, const struct stele_ref *src,
	     const char *name, const struct stele_pubkey *const *keys, size_t n)
{
	struct stele_checks *chk = NULL;
	const char *why = NULL, *other_repo = NULL;
	size_t i;
	int error;

	if ((error = stele_signatures_check(&chk, img->oci, img->digest, keys,
					    n, STELE_SIG_PURE)) < 0)
		return error;
	for (i = 0; i < chk->n; i++) {
		if (chk->v[i].error == 0 &&
		    same_repo(chk->v[i].identity, src->name))
			goto out;
		if (chk->v[i].error == 0)
			other_repo = chk->v[i].identity;
		else if (!why)
			why = chk->v[i].reason;
	}
	if (!chk->n)
		error = stele_error_setc(STELE_EVERIFY,
					 "%s is not signed: refused", name);
	else if (other_repo)
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s is signed for '%s', another repository: refused",
			name, other_repo);
	else
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s is not signed by a key it was told to trust "
			"(%zu signature%s: %s): refused",
			name, chk->n, chk->n == 1 ? "" : "s",
			why ? why : "none verifies");
out:
	stele_checks_free(chk);
	return error;
}

int
stele_regcache_open(struct stele_regcache **out, const struct stele_ref *src,
		    const struct stele_pubkey *const *keys, size_t n,
		    const struct stele_registry_opts *o)
{
	struct stele_regcache *c = NULL;
	struct stele_image *img = NULL;
	char *tmpdir = NULL, *host = NULL, *shown = NULL;
	const char *mt;
	int error;

	*out = NULL;
	if (src->transport != STELE_REF_DOCKER)
		return stele_error_setc(
			STELE_EINVALID,
			"a registry cache is read from docker://HOST/REPO:TAG");
	if (!n)
		return stele_error_setc(
			STELE_EINVALID,
			"a registry cache needs a key to trust (--cache-key)");
	shown = stele_ref_string(src);
	c = stele_xcalloc(1, sizeof(*c));
	c->name = stele_xasprintf(
		"registry cache %s",
		shown + (strncmp(shown, "docker://", 9) ? 0 : 9));
	c->repo = stele_xstrdup(repo_of(src));
	host = stele_xstrndup(src->name, strcspn(src->name, "/"));
	if ((error = stele_registry_pull_temp_unlayered(&img, &tmpdir, src,
							o)) < 0) {
		error = stele_error_prefix(error, "%s", c->name);
		goto out;
	}
	mt = stele_json_str(json_object_get(img->manifest, "config"),
			    "mediaType");
	if (strcmp(mt, STELE_MT_BUILD_CACHE)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"%s (%s) is not a stele build cache (config media "
			"type '%s'): refused",
			c->name, img->digest, mt);
		goto out;
	}
	/* The signature first: nothing of an untrusted cache is read. */
	if ((error = check_signed(img, src, c->name, keys, n)) < 0 ||
	    (error = stele_regcache_check(img->config, img->manifest,
					  c->name)) < 0 ||
	    (error = stele_registry_open(&c->r, host, 0, o)) < 0)
		goto out;
	c->entries = json_incref(json_object_get(img->config, "entries"));
	snprintf(c->rep.digest, sizeof(c->rep.digest), "%s", img->digest);
	c->rep.entries = json_object_size(c->entries);
	c->rep.layers =
		json_array_size(json_object_get(img->manifest, "layers"));
	c->source.get = regcache_get;
	c->source.payload = c;
	c->source.name = c->name;
	*out = c;
	c = NULL;
out:
	stele_image_free(img);
	stele_fs_tmp_free(tmpdir);
	free(host);
	free(shown);
	stele_regcache_free(c);
	return error;
}

void
stele_regcache_free(struct stele_regcache *c)
{
	if (!c)
		return;
	stele_registry_free(c->r);
	json_decref(c->entries);
	free(c->repo);
	free(c->name);
	free(c);
}

const struct stele_cache_source *
stele_regcache_source(struct stele_regcache *c)
{
	return &c->source;
}

const struct stele_regcache_report *
stele_regcache_report(const struct stele_regcache *c)
{
	return &c->rep;
}
