#ifndef STELE_REGISTRY_COPY_H
#define STELE_REGISTRY_COPY_H

/*
 * The copy engine, private to registry/: the one walk that moves an image
 * (manifest, or index and children, then config and layers) and what is
 * attached to it (cosign's .sig/.att tags, OCI 1.1 referrers) from an
 * image source to an image destination.  Pull, push and the layout copy
 * are this walk over different backends:
 *
 *   layout copy  layout source   → layout destination  (registry/copy.c)
 *   pull         registry source → layout destination  (registry/pull.c)
 *   push         layout source   → registry destination (registry/push.c)
 *
 * A store is a layout.  The registry destination is built only by
 * registry/push.c for stele_registry__push(), so the verified push stays
 * the one route to a registry write (tests/e2e/t29).
 *
 * Backends fill the function pointers of a struct at the start of their
 * own (the engine passes the base back).  Errors follow util/error.h.
 */

#include <stdint.h>

#include <jansson.h>

#include "oci/layout.h"
#include "registry/client.h"
#include "registry/transfer.h"
#include "util/buf.h"

struct stele_copy_src {
	/* What errors name the source by (a layout directory, HOST/REPO). */
	const char *name;
	/*
	 * Manifest `ref` (a tag or a digest) into `out` (capped), checked
	 * against the digest written to `digest`; *ctype (malloc'd, may be
	 * left NULL) the media type the source keeps for it.
	 * STELE_ENOTFOUND when the source has none.
	 */
	int (*manifest)(struct stele_copy_src *s, struct stele_buf *out,
			char digest[STELE_DIGEST_STRLEN], char **ctype,
			const char *ref);
	/* 1 when the source holds manifest `digest`, 0 when not (a layout's
	 * index may list a platform never pulled).  NULL: always. */
	int (*has)(struct stele_copy_src *s, const char *digest);
	/* Stage blob `digest` of `size` bytes into `txn`, checked. */
	int (*blob_stage)(struct stele_copy_src *s, struct stele_txn *txn,
			  const char *digest, uint64_t size);
	/* Open blob `digest` for reading from its start (NULL: cannot). */
	int (*blob_open)(struct stele_copy_src *s, int *fd, const char *digest);
	/*
	 * The descriptors of the referrers of `subject` (a new array, each
	 * with the source's artifactType and annotations);
	 * STELE_ENOTFOUND when there are none.
	 */
	int (*referrers)(struct stele_copy_src *s, json_t **out,
			 const char *subject);
	/*
	 * For the blob workers (stele_copy__image): a source for another
	 * thread into *out, on which only blob_stage and blob_open are
	 * called, and that thread alone; `join` folds its counters back and
	 * frees it.  NULL fork: `s` may be used from several threads at once
	 * (a layout).
	 */
	int (*fork)(struct stele_copy_src *s, struct stele_copy_src **out);
	void (*join)(struct stele_copy_src *s, struct stele_copy_src *lane);
	/* Blobs moved at once (0 or 1: one at a time). */
	unsigned jobs;
};

struct stele_copy_dst {
	/* An index's children must all be moved (a registry), else a child
	 * the source lacks is left out (a layout). */
	int whole_index;
	/* 1 when the destination has manifest `digest` under `ref` (a tag or
	 * the digest): nothing under it is looked at.  NULL: never. */
	int (*manifest_has)(struct stele_copy_dst *d, const char *ref,
			    const char *digest);
	/*
	 * Store manifest `digest` (bytes `data`, media type `mt`), under tag
	 * `ref` where the destination names manifests by tag (NULL: by
	 * digest).  *has_subject (may be NULL): the destination indexed its
	 * subject itself.
	 */
	int (*manifest_put)(struct stele_copy_dst *d, const char *ref,
			    const char *mt, const struct stele_buf *data,
			    const char *digest, int *has_subject);
	/* 1 present, 2 made present without a transfer (mounted), 0 absent. */
	int (*blob_has)(struct stele_copy_dst *d, const char *digest);
	/* Move blob `digest` of `size` bytes from `src`. */
	int (*blob_put)(struct stele_copy_dst *d, struct stele_copy_src *src,
			const char *digest, uint64_t size);
	/* Store a small blob held in memory. */
	int (*blob_put_bytes)(struct stele_copy_dst *d,
			      const struct stele_buf *data);
	/* The manifest the destination has under tag `tag`, like manifest(). */
	int (*tag_get)(struct stele_copy_dst *d, struct stele_buf *out,
		       char digest[STELE_DIGEST_STRLEN], const char *tag);
	/* Name `desc` by tag `tag` (NULL: where manifest_put does). */
	int (*name)(struct stele_copy_dst *d, const char *tag,
		    const json_t *desc);
	/*
	 * Record referrer `desc` of `subject` (the source's descriptor with
	 * the manifest's media type, digest, size and artifactType);
	 * `manifest` is the parsed manifest, `has_subject` what
	 * manifest_put said.
	 */
	int (*referrer)(struct stele_copy_dst *d, const char *subject,
			const json_t *desc, const json_t *manifest,
			int has_subject);
	/* After the last referrer of `subject` (NULL: nothing to do). */
	int (*referrers_end)(struct stele_copy_dst *d, const char *subject);
	/* As the source's: blob_has and blob_put alone are called on a lane. */
	int (*fork)(struct stele_copy_dst *d, struct stele_copy_dst **out);
	void (*join)(struct stele_copy_dst *d, struct stele_copy_dst *lane);
	unsigned jobs;
};

/*
 * Move manifest `ref` (tag or digest) of `src`, everything it references
 * and (unless STELE_TRANSFER_NO_ATTACH) what is attached to it, to `dst`,
 * the manifest under `put_ref` (NULL: by digest).  `hint`: its media type
 * as the caller knows it (may be NULL).  `flags`: stele_transfer_flags.
 * `t` counts (its digest and size are the manifest's); *desc gets the
 * manifest's descriptor {mediaType, digest, size[, artifactType]}.
 *
 * The blobs of a manifest (config and layers) are moved by up to
 * max(src->jobs, dst->jobs) threads at once, each on its own lane (fork),
 * before the manifest is put.  The first error of any of them is
 * returned, naming its blob's digest; the others stop taking blobs, and
 * the manifest is not put.
 */
int stele_copy__image(json_t **desc, struct stele_transfer *t,
		      struct stele_copy_src *src, struct stele_copy_dst *dst,
		      const char *ref, const char *put_ref, const char *hint,
		      unsigned flags);

/*
 * stele_copy__image() into the layout at `dir` (made when missing) in one
 * transaction, committed only when all is there; the image is entered
 * under `refname` (NULL: by digest) with descriptor `entry` less its
 * ref.name when given, else the engine's with `annotations` (may be NULL;
 * stolen).
 */
int stele_copy__to_layout(struct stele_transfer *t, struct stele_copy_src *src,
			  const char *dir, const char *refname, const char *ref,
			  const char *hint, unsigned flags, const json_t *entry,
			  json_t *annotations);

/* The layout source (an OCI layout or the store). */
struct stele_copy_layout_src {
	struct stele_copy_src base;
	const struct stele_oci *oci;
};
void stele_copy__layout_src(struct stele_copy_layout_src *s,
			    const struct stele_oci *oci);

/* Referrers of `digest` in a registry: the API, else the "sha256-<hex>"
 * tag's index; STELE_ENOTFOUND when neither has any. */
int stele_transfer__remote_referrers(json_t **out, struct stele_registry *r,
				     const char *repo, const char *digest);
#endif
