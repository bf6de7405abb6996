#ifndef STELE_REGISTRY_TRANSFER_H
#define STELE_REGISTRY_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "oci/image.h"
#include "oci/ref.h"
#include "oci/referrers.h"
#include "registry/client.h"

/*
 * Moving images between registries and OCI layouts, with what is attached
 * to them (docs/registry.md):
 *
 *  - the image: its manifest (or index and child manifests), config and
 *    layers, byte for byte, so the digest never changes;
 *  - cosign's tags "sha256-<hex>.sig" and "sha256-<hex>.att" of the image
 *    digest, as they are (signer/attach.h keeps the same tags in a layout);
 *  - OCI 1.1 referrers of the image digest (signatures, attestations,
 *    provenance): in a layout, index.json entries with an artifactType and
 *    no ref.name; in a registry, manifests with a subject, listed by the
 *    referrers API or, where the registry has none (distribution 2.8), by
 *    the image index stele keeps at tag "sha256-<hex>" (the distribution
 *    spec's tag schema), adding to what is there.
 *
 * Pulls write through one layout transaction (oci/layout.h): blobs stream
 * into its staging directory, each checked against its digest and size as
 * it arrives, and only a complete pull is committed; a failed or
 * interrupted pull leaves the layout as it was and can be run again.
 * Blobs the layout has already are not fetched.  A pulled image's index
 * entry carries the annotation dev.stele.source = "HOST/REPO", which a
 * later push to another repository of the same registry uses to mount
 * blobs instead of uploading them.
 *
 * Pushes skip blobs the registry has (HEAD), mount what they can, upload
 * the rest (monolithic up to opts->chunk_size, chunked above), then put
 * child manifests by digest and the image manifest under the tag with its
 * own media type as Content-Type; then the attachments.  A manifest the
 * registry already has under the same name and digest (HEAD) is not put
 * again and nothing under it is looked at.  Nothing is tagged before
 * everything it references is there, so an interrupted push is simply run
 * again (what was uploaded is skipped).  .sig/.att tags that differ on the
 * two sides are merged (the union of their layers), by pushes and pulls.
 */

#define STELE_ANN_SOURCE "dev.stele.source"
#define STELE_ANN_SUBJECT "dev.stele.subject"

enum stele_transfer_flags {
	/* Of an index, fetch only the linux/<arch> image (the builder's base). */
	STELE_PULL_PLATFORM = 1 << 0,
	/* Leave out .sig/.att tags and referrers. */
	STELE_TRANSFER_NO_ATTACH = 1 << 1,
	/* Of the image itself, fetch its manifests and config but no layer
	 * (what attachments are made from: signing in a registry); the
	 * attachments are fetched whole.  The layout is then incomplete. */
	STELE_PULL_NO_LAYERS = 1 << 2
};

struct stele_transfer {
	char digest[STELE_DIGEST_STRLEN]; /* the image's (top) manifest */
	uint64_t size; /* its size */
	size_t manifests; /* manifests moved */
	size_t manifests_present; /* already at the destination */
	size_t blobs; /* distinct blobs referenced */
	size_t blobs_sent; /* uploaded, or downloaded */
	size_t blobs_present; /* already at the destination */
	size_t blobs_mounted; /* mounted from another repository */
	uint64_t bytes; /* blob bytes moved */
	size_t signatures, attestations; /* .sig/.att tags moved */
	size_t referrers; /* referrer manifests moved */
	int referrers_tag; /* the sha256-<hex> index was written */
	struct stele_registry_stats stats;
};

/*
 * Pushing is not here: the only route from stele to a registry write is
 * the verified push (verify/push.h), which verifies first.
 */

/*
 * Pull docker:// `src` into the layout of `dst` (STORE or OCI) under
 * dst's ref.name; with dst NULL, into the store o->dirs->store as
 * "HOST/REPO:TAG" (STELE_EINVALID when no store is given).
 */
int stele_registry_pull(struct stele_transfer *out, const struct stele_ref *src,
			const struct stele_ref *dst, unsigned flags,
			const struct stele_registry_opts *o);

/*
 * For the builder's `FROM HOST/REPO[:TAG]@sha256:...`: make sure the image
 * `ref` ("HOST/REPO[:TAG][@DIGEST]", "docker://" optional) is in the
 * layout at `layout_dir` (created when missing) and load it.  When `ref`
 * has a digest that the layout already holds, nothing is fetched (so a
 * rebuild works offline).  Only the linux/<arch> image of an index is
 * fetched.  The index entry is added by digest (no ref.name).
 * `resolved` gets the top manifest digest (an index's own digest, which
 * is what a lock file records); (*out)->digest is the platform manifest.
 * *out owned by the caller.
 */
int stele_registry_pull_to(struct stele_image **out,
			   char resolved[STELE_DIGEST_STRLEN],
			   const char *layout_dir, const char *ref,
			   const struct stele_registry_opts *o);

/*
 * For `stele verify docker://...`: pull `src` with its attachments into a
 * new temporary layout (under o->dirs->tmp, NULL: /tmp) and load the
 * image.  *tmpdir (malloc'd) is that
 * directory: the caller removes it (stele_fs_rm_rf) after freeing *out.
 * On failure nothing is left behind and *tmpdir is NULL.
 */
int stele_registry_pull_temp(struct stele_image **out, char **tmpdir,
			     const struct stele_ref *src,
			     const struct stele_registry_opts *o);
/*
 * The same with STELE_PULL_NO_LAYERS, for `stele sign docker://`: the
 * image's layers are not fetched, so the layout must only be used to add
 * attachments and push them back (the registry has the image).
 */
int stele_registry_pull_temp_unlayered(struct stele_image **out, char **tmpdir,
				       const struct stele_ref *src,
				       const struct stele_registry_opts *o);

/*
 * Copy a local image with its attachments into another layout (oci: or
 * store) under dst's ref.name, in one transaction.
 */
int stele_layout_copy(struct stele_transfer *out, const struct stele_image *img,
		      const struct stele_ref *dst, unsigned flags);

/*
 * An OCI artifact that is not an image (verify/push.h
 * stele_push_artifact): a manifest with `artifact_type`, the empty config
 * and `n` layers of media type `layer_mt` whose bytes are `layers[i]`,
 * under tag `tag` of `name` (HOST/REPO), which must name `expect` before
 * the put (NULL: must not exist).
 */
struct stele_artifact {
	const char *name, *tag, *expect;
	const char *artifact_type, *layer_mt;
	const struct stele_buf *layers;
	size_t n;
};

/* The summary as JSON (new reference); `src`, `dst` are ref strings. */
json_t *stele_transfer_json(const struct stele_transfer *t, const char *src,
			    const char *dst);

#endif
