#ifndef STELE_OCI_LAYOUT_H
#define STELE_OCI_LAYOUT_H

#include <jansson.h>
#include <stdint.h>

#include "oci/digest.h"
#include "util/buf.h"

#define STELE_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define STELE_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define STELE_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define STELE_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define STELE_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define STELE_ANN_REFNAME "org.opencontainers.image.ref.name"
/* On an image's index entry: the docker reference it was last signed for
 * (stele sign) or pulled from (HOST/REPO:TAG or @DIGEST); verify binds
 * signatures to it (verify/identity.h). */
#define STELE_ANN_IDENTITY "dev.stele.identity"
/* Caps on JSON documents read from a layout or registry. */
#define STELE_MANIFEST_MAX (4u << 20)
/* An in-toto statement (a provenance lists each file a layer read), as
 * written and as read; a DSSE envelope of one fits in STELE_DSSE_MAX. */
#define STELE_STATEMENT_MAX (12u << 20)
#define STELE_TEMP_DIR ".stele-tmp"

/*
 * An OCI image layout directory: oci-layout, index.json, blobs/sha256/.
 * Writes go through a transaction: blobs are staged under
 * DIR/.stele-tmp/txn-XXXXXX and only moved into blobs/ by
 * stele_txn_commit(), which then rewrites index.json atomically under an
 * exclusive lock, merging its changes into the index as it is then (so
 * concurrent commits lose nothing).  A transaction freed without commit
 * removes its staging directory, so a failed build leaves nothing behind.
 *
 * Any number of processes may use one layout at once.  The layout lock is
 * an flock on DIR itself: shared while a transaction is set up, exclusive
 * for a commit, for fsck --prune and for removing .stele-tmp or a layout
 * this process made and never committed to (only when nothing else is in
 * it).  Each staging directory holds a file .lock, flocked by its owner
 * from stele_txn_begin() to stele_txn_free(); the kernel drops the flock
 * when the owner dies, which is how a prune tells a leftover from a live
 * transaction (stele_oci_staging_in_use).  A transaction holds every blob
 * it reuses from the layout (a hard link in its staging directory,
 * stele_txn_hold_blob), so a prune that runs meanwhile cannot leave its
 * commit pointing at a missing blob.
 */
struct stele_oci {
	char *dir;
	int create; /* opened with create: a transaction remakes it if undone */
	int created; /* this process made the layout (undone if never committed) */
};

/* create: make the layout when missing. */
int stele_oci_open(struct stele_oci **out, const char *dir, int create);
void stele_oci_free(struct stele_oci *oci);

/*
 * Take the layout lock, shared or exclusive (blocking); *fd gets the
 * descriptor that holds it, released by stele_oci_unlock().  A layout
 * removed while waiting is STELE_ENOTFOUND.
 */
int stele_oci_lock(int *fd, const struct stele_oci *oci, int exclusive);
void stele_oci_unlock(int fd);
/*
 * Whether `path`, an entry of DIR/.stele-tmp, is the staging directory of
 * a live transaction (its owner holds the flock on its .lock).  Call it
 * with the layout lock held: then no transaction is being set up, and with
 * the lock exclusive, none can start, so a staging directory found idle
 * stays idle.
 */
int stele_oci_staging_in_use(const char *path);
/*
 * The entries of DIR/.stele-tmp that no live transaction owns (leftovers
 * of a killed process), as paths: a new array, in directory order.  Call
 * it with the layout lock held, as above.
 */
json_t *stele_oci_staging_leftovers(const struct stele_oci *oci);

char *stele_oci_blob_path(const struct stele_oci *oci, const char *digest);
int stele_oci_blob_exists(const struct stele_oci *oci, const char *digest);
/* Read a blob (capped by out->max) and check its digest. */
int stele_oci_blob_read(struct stele_buf *out, const struct stele_oci *oci,
			const char *digest);
/*
 * Read blob `digest` (at most STELE_MANIFEST_MAX bytes), check it against
 * its digest, then parse it as strict JSON: the one reader of manifests,
 * indexes, configs and statements in a layout.  *size (may be NULL) gets
 * its size.  *out owned by the caller; NULL on failure.
 */
int stele_oci_json_read(json_t **out, uint64_t *size,
			const struct stele_oci *oci, const char *digest);
/* Open a blob for streaming; caller checks the digest as it reads. */
int stele_oci_blob_open(int *fd, const struct stele_oci *oci,
			const char *digest);
/* Load index.json (strict JSON). *out owned by the caller. */
int stele_oci_index_load(json_t **out, const struct stele_oci *oci);
/*
 * Find the manifest descriptor for a ref.name in index.json, or by digest.
 * *out is a new reference (json_decref it).  STELE_ENOTFOUND when absent.
 */
int stele_oci_resolve(json_t **out, const struct stele_oci *oci,
		      const char *refname, const char *digest);

struct stele_txn;
struct stele_blob_writer;

int stele_txn_begin(struct stele_txn **out, struct stele_oci *oci);
/* Frees; removes staged blobs when not committed. NULL-safe. */
void stele_txn_free(struct stele_txn *txn);
/* The layout a transaction writes to (borrowed). */
struct stele_oci *stele_txn_oci(struct stele_txn *txn);

/* Streamed blob writing: bytes are hashed as they are written. */
int stele_txn_blob_new(struct stele_blob_writer **out, struct stele_txn *txn);
/*
 * The same for a large blob written from a busy thread: the bytes are
 * copied, then hashed and written to the file on a thread of the writer's
 * own (stele_hashpipe); a failed write is reported by commit.  Commit
 * hands the file to the disk and stages it; its fsync is put off until
 * stele_txn_commit (or a stele_txn_stage_from of it), which fails if it
 * fails, so the build goes on meanwhile.
 */
int stele_txn_blob_new_async(struct stele_blob_writer **out,
			     struct stele_txn *txn);
int stele_blob_writer_write(struct stele_blob_writer *w, const void *data,
			    size_t len);
/* Finish and stage; fills digest and size; frees w either way. */
int stele_blob_writer_commit(struct stele_blob_writer *w,
			     char digest[STELE_DIGEST_STRLEN], uint64_t *size);
/* Drop an unfinished writer. NULL-safe. */
void stele_blob_writer_free(struct stele_blob_writer *w);
/* One-shot: stage these bytes as a blob. */
int stele_txn_put_blob(struct stele_txn *txn, const void *data, size_t len,
		       char digest[STELE_DIGEST_STRLEN]);
/* Make sure a blob of another layout is present (staged copy, verified). */
int stele_txn_copy_blob(struct stele_txn *txn, const struct stele_oci *src,
			const char *digest);
/* Stage a file known to hold blob `digest` (linked or copied, verified). */
int stele_txn_stage_file(struct stele_txn *txn, const char *path,
			 const char *digest);
/*
 * Stage blob `digest` of transaction `from` (staged there, or in its
 * layout) in `txn`.  A hard link is not read again: stele named that file
 * by the digest of the bytes it wrote, and whoever reads the blob from
 * `txn`'s layout checks it as for any blob (stele_txn_copy_blob).  Where no
 * link can be made (another file system) it is copied and verified as by
 * stele_txn_stage_file.
 */
int stele_txn_stage_from(struct stele_txn *txn, struct stele_txn *from,
			 const char *digest);
/*
 * 1 when blob `digest` is staged in this transaction or present in the
 * layout, 0 when absent.  A blob found in the layout is held: hard-linked
 * into the staging directory, so that it is there at commit even if a
 * prune removes it from blobs/ meanwhile (an unreferenced blob reused by
 * this transaction).  Call it instead of stele_oci_blob_exists() wherever
 * a transaction skips writing a blob because the layout already has it.
 */
int stele_txn_hold_blob(struct stele_txn *txn, const char *digest);
/* Path to a staged or committed blob of this transaction, for reading. */
char *stele_txn_blob_path(struct stele_txn *txn, const char *digest);
/*
 * Queue an index.json change: the descriptor `desc` (borrowed; copied) is
 * added under ref.name `refname` (an entry with the same ref.name is
 * replaced), or, with refname NULL, added once by digest (referrers).
 */
int stele_txn_index_add(struct stele_txn *txn, const char *refname,
			const json_t *desc);
/*
 * Queue setting the annotation key=value on the index.json entry named
 * `refname`, applied at commit only if that entry still names `digest`:
 * a write that moved the tag meanwhile wins, and nothing is reverted.
 */
int stele_txn_index_annotate(struct stele_txn *txn, const char *refname,
			     const char *digest, const char *key,
			     const char *value);
int stele_txn_commit(struct stele_txn *txn);

/* A descriptor object {mediaType,digest,size}. New reference. */
json_t *stele_descriptor(const char *media_type, const char *digest,
			 uint64_t size);

#endif
