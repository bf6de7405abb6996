#ifndef STELE_BUILDER_CONTEXT_H
#define STELE_BUILDER_CONTEXT_H

#include <stdint.h>
#include <sys/types.h>

#include "builder/git.h"
#include "oci/layer.h"
#include "util/buf.h"
#include "util/strv.h"

/*
 * A build context: where COPY and ADD read files from.  Three kinds:
 *  - a host directory (honours .dockerignore; modes normalised as git does:
 *    0755 when any execute bit is set, else 0644; directories 0755), so the
 *    host umask never reaches a layer;
 *  - a git tree at a commit, read from the object database (never checked
 *    out; .dockerignore read from the tree);
 *  - a root filesystem (a stage's, for COPY --from): modes kept, no ignore.
 * Paths given to the functions below are relative to the context root,
 * slash-separated, already cleaned ("" is the root).
 */
struct stele_context;

enum stele_context_kind {
	STELE_CONTEXT_DIR,
	STELE_CONTEXT_GIT,
	STELE_CONTEXT_ROOTFS
};

struct stele_ctx_stat {
	enum stele_entry_type type;
	mode_t perm;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	int64_t mtime; /* host files only; 0 elsewhere */
	char *link; /* symlink target, malloc'd */
	uint64_t link_key; /* hardlink identity (host dirs), else 0 */
	char *src; /* host path or git blob id, malloc'd */
	enum stele_src_kind src_kind;
	int excluded; /* a directory .dockerignore excludes but which may
			      hold re-included ("!") paths: walk, don't copy */
};

int stele_context_open_dir(struct stele_context **out, const char *dir);
int stele_context_open_rootfs(struct stele_context **out, const char *dir);
/* Takes a reference to the source (which must outlive the context). */
int stele_context_open_git(struct stele_context **out,
			   struct stele_git_source *src);
void stele_context_free(struct stele_context *ctx);
enum stele_context_kind stele_context_kind(const struct stele_context *ctx);

/*
 * `path` with every link in it, the last component's included, followed
 * inside the context (a link never leads out of it); *out malloc'd,
 * relative, "" for the root.  A dangling last link stays as it is.
 */
int stele_context_resolve(char **out, struct stele_context *ctx,
			  const char *path);
/* STELE_ENOTFOUND when missing or excluded by .dockerignore. */
int stele_context_stat(struct stele_ctx_stat *out, struct stele_context *ctx,
		       const char *path);
void stele_ctx_stat_release(struct stele_ctx_stat *st);
/* Sorted names (not excluded) in a directory; free with stele_strv_free. */
int stele_context_list(char ***out, size_t *n, struct stele_context *ctx,
		       const char *dir);
/* Read a whole (small) file, capped by out->max. */
int stele_context_read(struct stele_buf *out, struct stele_context *ctx,
		       const char *path);
/*
 * A digest of the tree (or file) at `path` as a COPY would see it: names,
 * types, modes, owners, link targets and contents, .dockerignore applied.
 * Git contexts use the object ids (no reading); host directories are read
 * and hashed.  For build cache keys.  With the content digests of host
 * files already known (`known` not NULL), the same digest byte for byte:
 * `known(payload, src, d)` writes the "sha256:<hex>" digest of the host
 * file `src` (a stele_ctx_stat's src) into d and returns 1, or returns 0,
 * and only the files it does not know are read.  For a step that is not
 * looked up in the cache (--no-cache): the layer writer's per-file digests
 * make the key after the layer is written, with no second pass over the
 * files.
 */
int stele_context_digest_known(char out[STELE_DIGEST_STRLEN],
			       struct stele_context *ctx, const char *path,
			       int (*known)(void *payload, const char *src,
					    char d[STELE_DIGEST_STRLEN]),
			       void *payload);
/*
 * Keep (on) the stats and listings of a host directory or root filesystem
 * context made from now on, and answer the same calls (the same path) from
 * them instead of the file system; off frees what was kept.  For the cache
 * key of a --no-cache COPY, computed after the copy: its walk of the
 * context makes the calls the copy's walk made, so it reads no directory
 * and stats no file again, and sees the tree the copy saw.
 * Memory grows with the entries walked while on.  Git contexts keep
 * nothing (their trees are read from memory).
 */
void stele_context_keep(struct stele_context *ctx, int on);
/* The plan's reader for STELE_SRC_USER entries made by this context. */
int stele_context_src_read(void *ctx, const struct stele_plan_entry *e,
			   stele_sink_fn emit, void *emit_payload);

#endif
