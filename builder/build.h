#ifndef STELE_BUILDER_BUILD_H
#define STELE_BUILDER_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oci/compress.h"
#include "oci/digest.h"
#include "oci/ref.h"
#include "util/fs.h"
#include "util/limits.h"
#include "util/sink.h"

/*
 * Building an image from a recipe and a context, under the reproducibility
 * canon (docs/reproducibility.md): the same recipe, context and bases give
 * the same manifest digest on any machine, at any time.  The image, its
 * blobs and its provenance (an in-toto statement stored as an OCI referrer
 * of the image manifest) are written to the output layout in one
 * transaction: a failed build leaves the layout as it was.
 */
struct stele_registry_opts;
struct stele_cache_source;

/* RUN --mount=type=secret,id=ID: the file holding the secret.  Only the
   id ever reaches a layer, the cache key or the provenance. */
struct stele_build_secret {
	const char *id;
	const char *path;
};

/*
 * A registry mirror: a base on `host` (docker.io for a name Docker would
 * pull from there: FROM debian:12) is pulled from `mirror` (HOST[:PORT])
 * under the same repository name, as Docker's registry-mirrors do.  The
 * provenance and lock name the image by its host, never the mirror.
 */
struct stele_build_mirror {
	const char *host;
	const char *mirror;
};

struct stele_build_opts {
	const char *context; /* directory, git+URL#REF or PATH#REF */
	const char *recipe; /* -f; NULL: "Dockerfile" in the context */
	const char *target; /* stage name; NULL: the last stage */
	const char *const *build_args; /* "K=V"; a bare "K" gives K no
					  value (the caller resolves
					  --build-arg K from its
					  environment) */
	size_t nbuild_args;
	enum stele_compression compression;
	int compression_level; /* 0: the default (oci/compress.h) */
	const struct stele_ref *output; /* STORE or OCI with a refname */
	const char *builder_id; /* runDetails.builder.id */
	const char *version; /* stele's version, for the provenance */
	const char *runtime; /* OCI runtime for RUN; NULL: runc */
	int sandbox_copy; /* RUN on a copy of the stage, never on
				     overlayfs (the fallback, for tests) */
	int no_cache; /* ignore the build cache (still filled) */
	const struct stele_cache_source *const *cache_from; /* asked in
				     order on a miss of the build cache
				     (builder/cache.h) */
	size_t ncache_from;
	json_t *cache_record; /* when not NULL, an object: every
				     layer-producing step's key (hex) is set
				     to its cache entry, hit or built (what
				     --cache-to exports) */
	const json_t *pins; /* {"image as written": "sha256:…"}: bases
				     resolved to these digests (rebuilds) */
	const char *lock; /* lock file: resolved bases and git commits
				     are recorded here (docs/recipes.md) */
	int locked; /* resolve only from the lock file */
	const struct stele_registry_opts *registry; /* for FROM HOST/REPO… */
	const struct stele_build_mirror *mirrors; /* bases on these hosts
				     are pulled from their mirrors */
	size_t nmirrors;
	int has_epoch; /* the epoch is `epoch` (stele's CLI:
				     SOURCE_DATE_EPOCH); else the source
				     commit's time, else 0 */
	int64_t epoch;
	const struct stele_dirs *dirs; /* store: NAME[:TAG] bases and
				     COPY --from images, and where bases
				     pulled from a registry are kept; tmp;
				     cache: the build cache (NULL: none);
				     git_cache (util/fs.h).  NULL: none */
	struct stele_limits limits; /* on every archive extracted (bases,
				       COPY --from images, ADD'ed tarballs)
				       and every layer written; zeros: the
				       defaults (util/limits.h) */
	const struct stele_build_secret *secrets;
	size_t nsecrets;
	stele_progress_fn progress;
	void *progress_payload;
};

struct stele_build_result {
	char digest[STELE_DIGEST_STRLEN]; /* image manifest */
	char provenance[STELE_DIGEST_STRLEN]; /* referrer manifest */
	size_t cache_hits; /* steps reused, from either cache */
	size_t cache_from_hits; /* of which from one of o->cache_from */
	size_t built; /* steps built */
};

int stele_build(struct stele_build_result *out,
		const struct stele_build_opts *o);

/*
 * `stele build --check`: read and parse the recipe (o->recipe, else
 * CONTEXT/Dockerfile; never from a git source, which would need
 * resolving), then check what needs nothing resolved: --target names a
 * stage, and values without variables (RUN --network, COPY/ADD --chmod,
 * ADD of a download URL, EXPOSE, STOPSIGNAL; ONBUILD triggers alike).
 * Reads no base, context file or cache; writes nothing.  Errors name
 * FILE:LINE: INSTRUCTION.  *nstages: the number of stages.
 */
int stele_build_check(size_t *nstages, const struct stele_build_opts *o);

struct stele_import_opts {
	const char *source; /* a root filesystem directory or a tarball */
	enum stele_compression compression;
	const struct stele_ref *output;
	const char *version;
	const struct stele_dirs *dirs; /* tmp (util/fs.h); NULL: /tmp */
	int has_epoch; /* the layer's mtimes are clamped to
				     `epoch` (SOURCE_DATE_EPOCH, resolved by
				     the caller); else to 0 */
	int64_t epoch;
	struct stele_limits limits; /* on the tarball or directory and the
				       layer; zeros: the defaults */
	stele_progress_fn progress;
	void *progress_payload;
};

/*
 * A one-layer base image from a root filesystem under the same canon
 * (ownership and modes kept, mtimes clamped to the epoch, device nodes
 * left out).  A tarball is first extracted safely.
 */
int stele_import(struct stele_build_result *out,
		 const struct stele_import_opts *o);

#endif
