#ifndef STELE_OCI_EXTRACT_H
#define STELE_OCI_EXTRACT_H

#include "util/limits.h"

/*
 * Safe extraction of an image layer (tar, uncompressed or gzip or zstd,
 * detected from the bytes) into the existing directory `root`.
 *
 * Nothing is ever written outside `root`: every path is resolved component by
 * component beneath root without following symlinks.  An entry is rejected
 * (STELE_EINVALID, message naming the entry and the reason, extraction stops)
 * when its name is absolute, has a ".." component, would be created through a
 * symlink, is a hardlink whose target is absolute, has "..", or does not name
 * a regular file already extracted inside root, is a character or block
 * device (unless STELE_EXTRACT_DEVICES), or a whiteout is malformed.
 *
 * Limits (util/limits.h; NULL means the defaults): the layer is refused,
 * STELE_EINVALID naming it, the entry and the limit, when it has more than
 * max-entries entries, when its regular files (by declared size, counted at
 * each header before the file is created) total more than max-size, or
 * when a path is longer than STELE_PATH_MAX bytes or deeper than
 * STELE_DEPTH_MAX components.  Sparse entries are accepted and written
 * sparse (holes stay holes), counted at their full size: every layer stele
 * writes stores them whole.  Data a sparse map places beyond the entry's
 * size is refused, and so is a decompressed tar stream longer than
 * max-size plus 2 KiB per allowed entry plus 1 MiB.  A refused layer may
 * have been partly extracted; callers
 * extract into a directory of their own and discard it.
 *
 * Whiteouts are applied: ".wh.NAME" removes NAME, ".wh..wh..opq" empties the
 * directory it sits in (of what earlier layers put there).
 * Ownership is applied with lchown when running as root (and
 * STELE_EXTRACT_NO_CHOWN is not set); modes (incl. setuid) and mtimes are
 * applied.  A later entry replaces an earlier one at the same path (a
 * directory over a directory keeps the contents).
 */
enum stele_extract_flags {
	STELE_EXTRACT_NO_CHOWN = 1 << 0,
	STELE_EXTRACT_DEVICES = 1 << 1
};

/* `what` names the layer in errors (a digest or file name). */
int stele_extract_fd(int fd, const char *root, unsigned flags, const char *what,
		     const struct stele_limits *limits);
int stele_extract_file(const char *path, const char *root, unsigned flags,
		       const struct stele_limits *limits);
/* A name from a layer (at most `len` bytes of `src`, to its NUL) as errors
 * quote it: control characters as '?', cut with "..." to fit `size`. */
void stele_extract_show(char *dst, size_t size, const char *src, size_t len);

#endif
