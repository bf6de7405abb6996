#ifndef STELE_BUILDER_CACHE_H
#define STELE_BUILDER_CACHE_H

#include <jansson.h>
#include <stdint.h>

#include "oci/layout.h"

/*
 * The build cache: a step's key is the SHA-256 of the canonical JSON of
 * everything that decides its layer (the parent state's diff_ids, the
 * config the step sees, the expanded instruction, the digests of every
 * input, the epoch and the compression).  An entry maps a key to the layer
 * it produced (descriptor, diff_id, provenance inputs); the layer blobs sit
 * in an OCI image layout of their own.  Entries and blobs are content
 * addressed and may be deleted at any time: a missing blob is a miss.
 *
 * Location: `dir`, which the caller chooses (stele's CLI: $STELE_CACHE,
 * else $XDG_CACHE_HOME/stele/build-cache, else ~/.cache/stele/build-cache;
 * cli/env.h).  Created when missing.
 */
struct stele_cache;

int stele_cache_open(struct stele_cache **out, const char *dir);
void stele_cache_free(struct stele_cache *c);
/* The cache's directory (RUN --mount=type=cache keeps its mounts in
   DIR/mounts); borrowed. */
const char *stele_cache_dir(const struct stele_cache *c);
/* The OCI layout holding the cache's layer blobs; borrowed. */
const struct stele_oci *stele_cache_layout(const struct stele_cache *c);
/* Hex key of a key object. */
int stele_cache_key(char out[65], const json_t *key);
/*
 * Look up a key.  On a hit, *out is the entry {"layer": descriptor,
 * "diffID": …, "inputs": […]} and the layer blob is staged into `txn`
 * (hard-linked when the file systems allow).  STELE_ENOTFOUND on a miss.
 */
int stele_cache_get(json_t **out, struct stele_cache *c, const char *key,
		    struct stele_txn *txn);
/*
 * The blobs entry `e` needs, as descriptors: its layer first (when it has
 * one), then the file lists its provenance inputs name
 * (builder/provenance.h).  Whoever keeps or moves an entry keeps or moves
 * these.  New reference.
 */
json_t *stele_cache_entry_blobs(const json_t *e);
/*
 * A hit marks its entry used (the key file's mtime is the time it was
 * last written or used), which is what stele_cache_gc() ages by.
 */
/* Record a key's entry; the blob is taken from `txn` (staged).  An entry
 * {"empty": true} records a step that made no layer. */
int stele_cache_put(struct stele_cache *c, const char *key, const json_t *entry,
		    struct stele_txn *txn);

/*
 * A cache the build asks when its own misses: a shared one, such as the
 * signed registry cache (verify/regcache.h).  get() is stele_cache_get()'s
 * contract: on a hit *out is a new entry (as above) whose layer blob is
 * now staged in `txn`, checked against its digest; STELE_ENOTFOUND on a
 * miss; any other error (a blob that does not match its digest, a
 * registry that fails) is reported by the build as a warning and the step
 * is built instead.  The build then records the entry in its own cache.
 */
struct stele_cache_source {
	int (*get)(void *payload, json_t **out, const char *key,
		   struct stele_txn *txn);
	void *payload;
	const char *name; /* what warnings name it by */
};

struct stele_cache_gc_report {
	size_t entries; /* entries removed */
	size_t kept; /* entries kept */
	size_t blobs; /* layer blobs removed */
	uint64_t bytes; /* their size */
	uint64_t size; /* layer bytes the kept entries hold */
};

/*
 * Drop entries last used more than `max_age` seconds before `now`
 * (max_age < 0: none by age), then, oldest first, entries until the layer
 * bytes the rest hold are at most `max_size` (max_size < 0: no cap);
 * damaged entries go too.  Then the layer blobs no entry names are removed
 * under the cache layout's exclusive lock (stele_oci_gc's rules; an entry
 * is written before its blob is committed, so a build writing one
 * meanwhile keeps its blob).  A build using an entry that goes has its
 * layer staged already, or sees a miss.
 */
int stele_cache_gc(struct stele_cache_gc_report *out, struct stele_cache *c,
		   int64_t now, int64_t max_age, int64_t max_size);

#endif
