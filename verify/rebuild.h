#ifndef STELE_VERIFY_REBUILD_H
#define STELE_VERIFY_REBUILD_H

#include <jansson.h>

#include "oci/image.h"
#include "util/fs.h"
#include "util/limits.h"
#include "util/sink.h"

/*
 * Rebuild-verification: from an image's provenance statement, build again
 * (the same source commit, the same recipe, bases pinned to the recorded
 * digests, the same epoch, target, build args and compression; no cache)
 * into a temporary layout and compare.  Diff_ids come first: when they
 * and the config are the same and only layer blobs differ, the verdict is
 * COMPRESSION and the summary reads "content identical, compression
 * differs (RECORDED vs REBUILT)".  Otherwise, when the digests differ, the
 * summary names the first layer that differs and the files in it that
 * differ.  The compression level recorded is used again.
 */

enum stele_rebuild_verdict {
	STELE_REBUILD_IDENTICAL = 0, /* the same manifest digest */
	STELE_REBUILD_COMPRESSION, /* the same diff_ids and config, other
					  layer blobs: only the compressor
					  (library, version, settings) differs */
	STELE_REBUILD_DIFFERS, /* the content differs */
	STELE_REBUILD_SOURCE /* the commit no longer has the tree */
};

/* "identical", "compression-differs", "differs", "source-differs" */
const char *stele_rebuild_verdict_name(enum stele_rebuild_verdict v);

struct stele_rebuild_result {
	enum stele_rebuild_verdict verdict;
	int identical;
	char digest[STELE_DIGEST_STRLEN]; /* the rebuilt manifest digest */
	char *summary; /* "identical" or what differs */
	json_t *diff; /* {"layer": N, "files": [...]}; for COMPRESSION
			    {"layers": [N…], "recorded": "zlib 1.2.13, level 6, …",
			    "rebuilt": "…"}; or NULL */
};

struct stele_prov_doc;
struct stele_registry_opts;

/*
 * `prov` is the (verified) provenance to follow; NULL: the statement
 * stored with the image (unsigned; the summary says so).  `registry` (may
 * be NULL) is how bases recorded by registry reference are pulled, into a
 * fresh store of the rebuild's own, so a rebuild works on a machine that
 * never saw them.  Returns 0 when a comparison was made; an error when the
 * rebuild could not run (the message says why, e.g. a directory context
 * cannot be fetched again, or a base recorded only by a local name).
 * `dirs` (util/fs.h; may be NULL) say where the store (bases recorded by
 * a local name), temporary files, the build cache (filled, never read)
 * and fetched git sources are.  `limits` bound the rebuild as they bound a build (NULL: the defaults);
 * they are not recorded in the provenance, so an image built with raised
 * limits needs them raised again here.
 */
int stele_rebuild(struct stele_rebuild_result *out, struct stele_image *img,
		  const struct stele_prov_doc *prov,
		  const struct stele_registry_opts *registry,
		  const struct stele_dirs *dirs,
		  const struct stele_limits *limits, stele_progress_fn progress,
		  void *payload);
void stele_rebuild_result_release(struct stele_rebuild_result *r);

#endif
