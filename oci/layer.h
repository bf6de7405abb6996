#ifndef STELE_OCI_LAYER_H
#define STELE_OCI_LAYER_H

#include <stdint.h>
#include <sys/types.h>

#include "oci/compress.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "util/limits.h"
#include "util/sink.h"

/*
 * Deterministic layer writing.  A layer is planned as a set of entries
 * (stele_plan), then written in canonical order by stele_plan_write():
 * pax-restricted tar (ustar unless a field needs pax), entries ordered
 * directory by directory with names compared bytewise and whiteouts first
 * within a directory (so parents precede children), uid/gid as given, no
 * uname/gname/atime/ctime, mtime as given with nsec 0, hardlinks pointing at
 * the first path in that order, the archive ending right after its two zero
 * blocks.  The tar stream is hashed (diff_id) and compressed while written;
 * the compressed bytes are hashed and staged as a blob in the transaction.
 * Nothing holds the layer in memory.
 */

enum stele_entry_type {
	STELE_ENTRY_FILE,
	STELE_ENTRY_DIR,
	STELE_ENTRY_SYMLINK,
	STELE_ENTRY_FIFO,
	STELE_ENTRY_CHAR,
	STELE_ENTRY_BLOCK,
	STELE_ENTRY_WHITEOUT /* written as an empty file ".wh.<name>" */
};

/* Where a regular file's bytes come from. */
enum stele_src_kind {
	STELE_SRC_NONE,
	STELE_SRC_PATH, /* src = host path, opened with O_NOFOLLOW */
	STELE_SRC_USER /* src = opaque, read through the plan's callback */
};

struct stele_plan_entry {
	char *path; /* relative, no leading "/", no trailing "/" */
	enum stele_entry_type type;
	mode_t perm; /* permission bits incl. suid/sgid/sticky */
	uid_t uid;
	gid_t gid;
	int64_t mtime;
	uint64_t size; /* regular files */
	char *link; /* symlink target */
	dev_t rdev; /* devices */
	uint64_t link_key; /* nonzero: same key = same inode (hardlinks) */
	char *src;
	char *origin; /* the caller's name for where it came from (the
			 builder's provenance); copied, never read here */
	/* Filled when written, for regular files: the SHA-256 of the
	 * content (stele_plan_digest formats it), `digested` 1. */
	unsigned char digest[STELE_SHA256_LEN];
	enum stele_src_kind src_kind;
	int hardlink_to; /* filled when written: index of the first path or -1 */
	unsigned char digested;
};

/*
 * Reads a STELE_SRC_USER entry: call `emit(emit_payload, data, len)` for
 * each chunk, in order, exactly e->size bytes in all.
 */
typedef int (*stele_src_read_fn)(void *payload,
				 const struct stele_plan_entry *e,
				 stele_sink_fn emit, void *emit_payload);

struct stele_plan {
	struct stele_plan_entry *entries;
	size_t n, alloc;
};

#define STELE_PLAN_INIT \
	{ \
		NULL, 0, 0 \
	}

/*
 * Add an entry; a later add for the same path replaces the earlier one (a
 * directory replacing a directory keeps its place).  Strings are copied.
 * Returns the entry (borrowed, valid until the next add).
 */
struct stele_plan_entry *stele_plan_add(struct stele_plan *p,
					const struct stele_plan_entry *e);
struct stele_plan_entry *stele_plan_find(struct stele_plan *p,
					 const char *path);
/* Sort into canonical order and resolve hardlinks. */
void stele_plan_sort(struct stele_plan *p);
/* 1 and "sha256:<hex>" of a regular file's content in `out` once the
 * plan is written; 0 and "" for an entry without one. */
int stele_plan_digest(char out[STELE_DIGEST_STRLEN],
		      const struct stele_plan_entry *e);
void stele_plan_release(struct stele_plan *p);

struct stele_layer_result {
	char digest[STELE_DIGEST_STRLEN];
	char diff_id[STELE_DIGEST_STRLEN];
	uint64_t size;
	char media_type[64];
};

struct stele_layer_opts {
	enum stele_compression compression;
	int level; /* 0 = default */
	unsigned threads; /* 0 = default */
	stele_src_read_fn read;
	void *read_payload;
	struct stele_limits limits; /* zeros: the defaults */
	/* Called after each regular file is written with the file content
	 * bytes written so far and the plan's total; NULL: none. */
	void (*progress)(void *payload, uint64_t done, uint64_t total);
	void *progress_payload;
};

/*
 * Sorts the plan, writes the layer into the transaction.  A plan with more
 * entries than max-entries, or whose regular files (hardlinks counted once)
 * total more than max-size, is refused (STELE_EINVALID) before anything is
 * read or written.
 */
int stele_plan_write(struct stele_layer_result *out, struct stele_plan *p,
		     struct stele_txn *txn, const struct stele_layer_opts *o);

/* The canonical comparison of two layer paths (<0, 0, >0). */
int stele_layer_path_cmp(const char *a, const char *b);

#endif
