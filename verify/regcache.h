#ifndef STELE_VERIFY_REGCACHE_H
#define STELE_VERIFY_REGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "builder/cache.h"
#include "keys/key.h"
#include "oci/digest.h"
#include "oci/ref.h"
#include "registry/client.h"

/*
 * The registry build cache (docs/cache.md): the build cache's entries of
 * one build (key → layer descriptor, diff_id, provenance inputs; or a step
 * that made no layer) stored in any OCI registry as an artifact, so that
 * another machine reuses the layers one machine built, as BuildKit's
 * `--cache-to type=registry,image-manifest=true` does.
 *
 * The artifact is an OCI image manifest whose config, of media type
 * STELE_MT_BUILD_CACHE, is the JSON document
 *   {"entries": {KEY: ENTRY, ...}, "rootfs": {"type": "layers",
 *    "diff_ids": [...]}, "version": 1}
 * (KEY: the 64 hex digits of stele_cache_key(); ENTRY as
 * stele_cache_get() gives it) and whose layers are the distinct layer
 * blobs the entries name, sorted by digest, diff_ids alike: the same
 * build gives the same artifact digest.  It runs nowhere (its config is
 * no image config).  It is signed as images are: a cosign simple-signing
 * payload over its manifest digest for HOST/REPO:TAG (signer/attach.h),
 * pushed with it.
 *
 * Trust.  An entry is used only from a cache signed, in pure Ed25519 (or
 * ECDSA P-256), by one of the keys the build is given, for a reference
 * in the same repository (HOST/REPO; any tag).  The signature covers the
 * manifest digest, which names the config (the entries) and every layer
 * by digest; each blob is checked against its digest as it arrives.
 * Layer contents are not re-derived: a trusted signer's diff_id is taken
 * as it says.
 */

#define STELE_MT_BUILD_CACHE "application/vnd.stele.build-cache.v1+json"
#define STELE_REGCACHE_VERSION 1

struct stele_regcache_report {
	char digest[STELE_DIGEST_STRLEN]; /* the cache artifact's manifest */
	size_t entries; /* keys in it */
	size_t layers; /* distinct layer blobs */
	uint64_t bytes; /* their size */
	size_t hits; /* import: entries a build used */
	size_t blobs_sent; /* uploaded (export) or fetched */
	uint64_t bytes_sent;
};

/*
 * Export: put `entries` (an object KEY → ENTRY, what the build recorded
 * in stele_build_opts.cache_record; borrowed) under docker:// `dst`
 * (HOST/REPO:TAG), signed with `k` for HOST/REPO:TAG, replacing what the
 * tag named.  Layer blobs are read from the build cache at `cache_dir`,
 * else from the layout `layout_dir` (the build's output; may be NULL),
 * each checked against its digest; a blob found in neither is
 * STELE_ENOTFOUND naming it.  The artifact is assembled in a temporary
 * layout under o->dirs->tmp and pushed by stele_push_cache()
 * (verify/push.h).  STELE_EINVALID for a malformed entry or a config over
 * STELE_MANIFEST_MAX bytes.
 */
int stele_regcache_export(struct stele_regcache_report *out,
			  const json_t *entries, const char *cache_dir,
			  const char *layout_dir, const struct stele_ref *dst,
			  const struct stele_seckey *k,
			  const struct stele_registry_opts *o);

struct stele_regcache;

/*
 * Import: read the cache at docker:// `src` (manifest, config and
 * signatures; no layer yet) and check it: STELE_EINVALID when it is not a
 * stele build cache or an entry is malformed (naming the key);
 * STELE_EVERIFY when no signature by one of `keys` (n > 0) verifies for
 * its repository (the message says whether it has none or whose they
 * are), or a blob does not match its digest; STELE_ENOTFOUND when the
 * registry has no such tag.  Nothing from a refused cache is used.
 * *out owned by the caller (stele_regcache_free); it keeps a connection
 * to the registry for the layers.
 */
int stele_regcache_open(struct stele_regcache **out,
			const struct stele_ref *src,
			const struct stele_pubkey *const *keys, size_t n,
			const struct stele_registry_opts *o);
void stele_regcache_free(struct stele_regcache *c);

/*
 * The cache source a build asks on a miss (builder/cache.h): a hit fetches
 * the entry's layer from the registry into the build's transaction,
 * hashed as it streams (a mismatch is STELE_EVERIFY naming the digest, and
 * nothing is staged).  Borrowed; lives as long as `c`.
 */
const struct stele_cache_source *
stele_regcache_source(struct stele_regcache *c);
/* Counts so far: entries, layers, the hits and the blobs they fetched. */
const struct stele_regcache_report *
stele_regcache_report(const struct stele_regcache *c);

/*
 * Check a cache config document (the parsed config blob) against its
 * manifest: version 1, every key 64 lowercase hex digits, every entry
 * {"empty": true} or a layer descriptor with a diffID and inputs whose
 * layer is one of the manifest's layers (same digest, size and media
 * type).  STELE_EINVALID naming `what` and the key otherwise.
 */
int stele_regcache_check(const json_t *config, const json_t *manifest,
			 const char *what);

#endif
