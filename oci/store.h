#ifndef STELE_OCI_STORE_H
#define STELE_OCI_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "oci/layout.h"

/*
 * Managing what a layout holds (stele images, tag, rmi, gc; docs/store.md).
 * Every change is made under the layout lock held exclusively, the lock a
 * transaction's commit and fsck --prune take, and index.json is rewritten
 * atomically (temp file, fsync, rename); a reader never sees half a change
 * and a concurrent commit loses nothing.
 *
 * Images are the index.json entries with a ref.name that is not an
 * attachment tag (sha256-<hex>, .sig, .att: oci/referrers.h).  An image's
 * attachments are those tags and the referrers whose subject it is.
 */

/* Whether `name` (a ref.name) is an attachment tag. */
int stele_oci_is_attach_tag(const char *name);

/*
 * The images of a layout, sorted by name: *out is an array of
 * {"name", "digest", "mediaType", "size" (manifest, config and layers),
 * "created" (the config's, when it has one), "signatures",
 * "attestations", "referrers"}.  With `all`, untagged images that are the
 * subject of a referrer are listed too, with "name" null.  Taken under the
 * shared layout lock.
 */
int stele_oci_images(json_t **out, const struct stele_oci *oci, int all);

/*
 * Give the image named `src_name` (a ref.name) or `src_digest` the ref.name
 * `dst_name` (replacing what that name named).  STELE_ENOTFOUND when the
 * source is not in the layout; STELE_EINVALID for an attachment tag as
 * either name.
 */
int stele_oci_tag(const struct stele_oci *oci, const char *src_name,
		  const char *src_digest, const char *dst_name);

enum stele_rmi_flags {
	/* By digest: remove the image even when several tags name it. */
	STELE_RMI_FORCE = 1 << 0
};

/*
 * Remove an image by ref.name `name` or by `digest`.  By name, the tag
 * goes; the image goes with it (its attachments with it) only if no other
 * tag names it and no tagged image index lists it.  By digest, every tag
 * naming it goes too; more than one tag wants STELE_RMI_FORCE
 * (STELE_EINVALID otherwise, naming them, as podman refuses); an image
 * that a tagged image index lists is refused (STELE_EINVALID, naming it);
 * a signature or attestation manifest is refused (it goes with its image).
 * Blobs are left for stele_oci_gc().  *out gets
 * {"untagged": [names], "deleted": digest|null, "attachments": n}.
 */
int stele_oci_rmi(json_t **out, const struct stele_oci *oci, const char *name,
		  const char *digest, unsigned int flags);

struct stele_gc_report {
	size_t blobs; /* blobs removed */
	uint64_t bytes; /* their size */
	size_t staging; /* leftover staging directories removed */
	size_t kept; /* blobs kept */
};

/*
 * Remove every blob nothing in index.json reaches (through manifests,
 * image indexes, configs, layers and subjects) and leftover staging
 * directories, under the exclusive layout lock: a running transaction's
 * blobs are staged or held in its staging directory, so nothing in use is
 * removed.  A manifest that cannot be read or parsed stops the gc
 * (STELE_EINVALID: what it references cannot be known); a missing one is
 * skipped (fsck reports it).
 */
int stele_oci_gc(struct stele_gc_report *out, const struct stele_oci *oci);
/*
 * The sweep of stele_oci_gc() and the build cache's gc: remove every file
 * of blobs/sha256 whose name is not a digest in `keep` (an object whose
 * keys are "sha256:<hex>"): unreferenced blobs and an interrupted write's
 * temporary files.  Call it with the layout lock held exclusively.
 * Adds to out->blobs, out->bytes and out->kept.
 */
int stele_oci_sweep(struct stele_gc_report *out, const struct stele_oci *oci,
		    const json_t *keep);
/* Remove the leftover staging directories (no owner holds them); call it
 * with the layout lock held exclusively.  Returns how many went. */
size_t stele_oci_gc_staging(const struct stele_oci *oci);

#endif
