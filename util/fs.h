#ifndef STELE_UTIL_FS_H
#define STELE_UTIL_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "util/alloc.h" /* most users of fs.h allocate too */
#include "util/buf.h"

/* Read a whole file into `out` (appended; capped by out->max). */
int stele_fs_read(struct stele_buf *out, const char *path);
/* The same from an open descriptor (left open); `what` names it in errors. */
int stele_fs_read_fd(struct stele_buf *out, int fd, const char *what);
/*
 * Write `len` bytes to `path` atomically: a temp file beside it, fsync,
 * rename, fsync of the directory.  On failure nothing is left behind.
 */
int stele_fs_write_atomic(const char *path, const void *data, size_t len,
			  mode_t mode);
/* Create a file that must not exist yet (O_EXCL), write, fsync. */
int stele_fs_write_new(const char *path, const void *data, size_t len,
		       mode_t mode);
/* Write all bytes, retrying short writes and EINTR; -1 with errno set. */
int stele_fs_write_all(int fd, const void *data, size_t len);
/* mkdir -p; existing directories are fine. */
int stele_fs_mkdir_p(const char *path, mode_t mode);
/* rm -rf; a missing path is fine. Never follows symlinks. */
int stele_fs_rm_rf(const char *path);
/* fsync a directory by path. */
int stele_fs_sync_dir(const char *path);
int stele_fs_exists(const char *path);
/*
 * Where the library keeps files, as the caller resolved them (stele's CLI
 * reads them from the environment in cli/env.c; the library reads no
 * environment).  Strings are borrowed; a NULL pointer to this struct is
 * the same as all fields NULL, with the meaning each field gives.
 */
struct stele_dirs {
	const char *store; /* the local store, an OCI image layout:
				  NAME[:TAG] images; NULL: such images are
				  refused */
	const char *tmp; /* where temporary directories are made;
				  NULL: /tmp */
	const char *cache; /* the build cache (builder/cache.h); NULL:
				  builds use none */
	const char *git_cache; /* clones of fetched git sources
				  (git+https://…); NULL: those are refused */
};

/*
 * A new temporary directory PARENT/PREFIX-XXXXXX (`parent` NULL: /tmp);
 * *out is malloc'd; stele_fs_tmp_free() removes it (NULL: nothing).
 */
int stele_fs_mkdtemp(char **out, const char *parent, const char *prefix);
void stele_fs_tmp_free(char *dir);
/* Copy a regular file's bytes (streamed) to a new file. */
int stele_fs_copy_file(const char *src, const char *dst, mode_t mode);

/* malloc'd "a/b" (no doubled slash); aborts on OOM like git's xmalloc. */
char *stele_path_join(const char *a, const char *b);
/* malloc'd "a/b", or "b" when `a` is "" (paths relative to a root). */
char *stele_path_rel(const char *a, const char *b);
/*
 * Lexically clean a slash path: collapse "//", drop ".", resolve ".." without
 * ever going above the root.  Result is absolute ("/a/b", "/" for empty).
 * Returns a malloc'd string.
 */
char *stele_path_clean_abs(const char *path);
/*
 * A name inside an archive or image, cleaned without resolving anything:
 * "./a//b/" -> "a/b" ("" is the root itself).  Refused rather than
 * resolved (how extractors get escaped): an absolute name, a ".."
 * component, a component longer than 255 bytes, more than
 * STELE_DEPTH_MAX components.  Returns 0 with *out malloc'd, or which
 * refusal (no error message is set: the caller names the entry).
 */
enum stele_path_refusal {
	STELE_PATH_ABSOLUTE = 1,
	STELE_PATH_DOTDOT,
	STELE_PATH_LONG_COMPONENT,
	STELE_PATH_DEEP
};
int stele_path_clean_rel(char **out, const char *raw);

#endif
