#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lazy.h"
#include "util/limits.h"

/*
 * Every filesystem call below is relative to a directory fd that was reached
 * from the root fd one component at a time with O_NOFOLLOW|O_DIRECTORY, and
 * every leaf is created with O_EXCL/mkdirat/symlinkat/mknodat after removing
 * what was there (without following it).  So a symlink written by an earlier
 * entry or layer is data, never a way out of root.  archive_write_disk is
 * not used: its protections are flags, ours are the structure of the code.
 */

#define COMPONENT_MAX 255 /* bytes in one path component (NAME_MAX) */
#define NAME_LEN_MAX STELE_PATH_MAX /* bytes in a whole entry name */
#define RM_DEPTH_MAX \
	STELE_DEPTH_MAX /* nesting a whiteout may remove
					(one fd each) */
#define SHOW_MAX 200 /* bytes of an untrusted name quoted in errors */
#define READ_BLOCK 65536
/*
 * The tar stream may be longer than the file content it carries by this
 * much per allowed entry (headers, pax records, padding), plus STREAM_SLACK
 * (read-ahead, the end-of-archive record).
 */
#define HEADER_ALLOWANCE 2048
#define STREAM_SLACK (1u << 20)

#define WH_PREFIX ".wh."
#define WH_PREFIX_LEN 4
#define WH_OPAQUE ".wh..wh..opq"

/* A directory of this layer whose mode and mtime are set at the end. */
struct dir_meta {
	char *path;
	size_t seq;
	mode_t mode;
	struct timespec mtime;
};

struct extract {
	struct archive *a; /* the tar reader, fed by stream_read() */
	struct archive *raw; /* decompresses the layer's bytes */
	char *block;
	uint64_t stream, max_stream;
	int over; /* the stream went past max_stream */
	int rootfd;
	unsigned flags;
	int privileged; /* euid 0: permissions never block us */
	int chown;
	char what[SHOW_MAX + 8];
	char name[SHOW_MAX + 8]; /* the current entry, printable */
	struct dir_meta *dirs;
	size_t ndirs, adirs;
	/* What the layer has expanded to so far, against the limits. */
	uint64_t max_size, max_entries, max_names;
	uint64_t size, entries, names;
};

static int entry_error(struct extract *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int entry_errno(struct extract *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rm_tree_at(struct extract *x, int dirfd, const char *name,
		      int depth);

void
stele_extract_show(char *dst, size_t size, const char *src, size_t len)
{
	size_t i = 0, j = 0;

	while (j < len && src[j] && i + 4 < size) {
		unsigned char c = (unsigned char)src[j++];

		dst[i++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (j < len && src[j]) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

static int
entry_error(struct extract *x, int code, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return stele_error_setc(code, "layer '%s': entry '%s': %s", x->what,
				x->name, reason);
}

static int
entry_errno(struct extract *x, const char *fmt, ...)
{
	int saved = errno;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	errno = saved;
	return stele_error_errno("layer '%s': entry '%s': %s", x->what, x->name,
				 reason);
}

/* A failure of the tar reader; a stream over its limit is the input's. */
static int
reader_error(struct extract *x, const char *prefix)
{
	char lim[32];

	/* libarchive reports our refusal as a truncated input: say why. */
	if (x->over)
		return stele_error_setc(
			STELE_EINVALID,
			"%s: the tar stream is longer than %s (max-size, plus "
			"%d bytes for each of max-entries and 1 MiB)",
			prefix, stele_limits_fmt(lim, x->max_stream),
			HEADER_ALLOWANCE);
	return stele_error_archive(x->a, prefix);
}

static int
entry_archive(struct extract *x)
{
	char prefix[2 * SHOW_MAX + 64];

	snprintf(prefix, sizeof(prefix), "layer '%s': entry '%s'", x->what,
		 x->name);
	return reader_error(x, prefix);
}

/*
 * The tar reader reads the decompressed stream through here, so every byte
 * it consumes is counted, including those libarchive skips by itself (the
 * data of an entry nobody reads, an oversized pax header): a small
 * compressed layer cannot make it decompress a terabyte.
 */
static la_ssize_t
stream_read(struct archive *a, void *payload, const void **buf)
{
	struct extract *x = payload;
	la_ssize_t n;

	*buf = x->block;
	if (!x->raw)
		return 0;
	if ((n = archive_read_data(x->raw, x->block, READ_BLOCK)) < 0) {
		archive_set_error(a, archive_errno(x->raw), "%s",
				  archive_error_string(x->raw)
					  ? archive_error_string(x->raw)
					  : "cannot decompress");
		return -1;
	}
	if ((uint64_t)n > x->max_stream - x->stream) {
		x->over = 1;
		archive_set_error(a, EFBIG, "the tar stream is too long");
		return -1;
	}
	x->stream += (uint64_t)n;
	return n;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * Two readers: `raw` undoes the compression (gzip, zstd or none, detected
 * from the bytes), the tar reader parses what stream_read() hands it.
 */
static int
open_readers(struct extract *x, int fd, const char *prefix)
{
	struct archive_entry *e;
	int r;

	x->max_stream = x->max_entries > UINT64_MAX / HEADER_ALLOWANCE
		? UINT64_MAX
		: x->max_entries * HEADER_ALLOWANCE;
	x->max_stream =
		sat_add(sat_add(x->max_size, x->max_stream), STREAM_SLACK);
	x->block = stele_xmalloc(READ_BLOCK);
	if (!(x->raw = archive_read_new()) || !(x->a = archive_read_new()))
		return stele_error_set("%s: cannot allocate a reader", prefix);
	if (archive_read_support_filter_gzip(x->raw) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(x->raw) < ARCHIVE_WARN ||
	    archive_read_support_filter_none(x->raw) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(x->raw) < ARCHIVE_WARN ||
	    archive_read_open_fd(x->raw, fd, READ_BLOCK) < ARCHIVE_WARN)
		return stele_error_archive(x->raw, prefix);
	r = archive_read_next_header(x->raw, &e);
	if (r == ARCHIVE_EOF) {
		/* Nothing at all: the tar reader sees an empty stream. */
		archive_read_free(x->raw);
		x->raw = NULL;
	} else if (r < ARCHIVE_WARN) {
		return stele_error_archive(x->raw, prefix);
	}
	if (archive_read_support_filter_none(x->a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(x->a) < ARCHIVE_WARN ||
	    archive_read_open(x->a, x, NULL, stream_read, NULL) < ARCHIVE_WARN)
		return reader_error(x, prefix);
	return 0;
}

/*
 * Turn a tar name into a clean relative path: "./" prefixes, "." and empty
 * components and the trailing slash are dropped; "" is the root itself.
 * Absolute names and ".." are refused rather than resolved: a layer has no
 * business naming either, and resolving them is how extractors get escaped.
 */
static int
clean_path(struct extract *x, const char *raw, const char *subject, char **out)
{
	size_t len;

	*out = NULL;
	if (!raw || !*raw)
		return entry_error(x, STELE_EINVALID, "%s is empty", subject);
	if ((len = strlen(raw)) > NAME_LEN_MAX)
		return entry_error(x, STELE_EINVALID,
				   "%s is too long (more than %d bytes)",
				   subject, NAME_LEN_MAX);
	switch (stele_path_clean_rel(out, raw)) {
	case STELE_PATH_ABSOLUTE:
		return entry_error(x, STELE_EINVALID,
				   "%s is absolute; it escapes the root",
				   subject);
	case STELE_PATH_DOTDOT:
		return entry_error(x, STELE_EINVALID, "%s escapes the root",
				   subject);
	case STELE_PATH_LONG_COMPONENT:
		return entry_error(x, STELE_EINVALID,
				   "%s has a component longer than %d bytes",
				   subject, COMPONENT_MAX);
	case STELE_PATH_DEEP:
		return entry_error(x, STELE_EINVALID,
				   "%s is nested deeper than %d directories",
				   subject, STELE_DEPTH_MAX);
	}
	return 0;
}

/*
 * Open directory `name` in `dirfd` without following a symlink, creating it
 * (0755, whatever the umask) when missing and `create` is set.  Returns the
 * fd or a negative errno: -ELOOP for a symlink, -ENOTDIR for another
 * non-directory.
 */
static int
open_dir_at(int dirfd, const char *name, int create)
{
	const int oflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd, saved;

	if ((fd = openat(dirfd, name, oflags)) >= 0)
		return fd;
	saved = errno;
	if (saved == ENOENT && create) {
		if (mkdirat(dirfd, name, 0755) < 0)
			return -errno;
		if ((fd = openat(dirfd, name, oflags)) < 0)
			return -errno;
		if (fchmod(fd, 0755) < 0) {
			saved = errno;
			close(fd);
			return -saved;
		}
		return fd;
	}
	if (saved == ELOOP || saved == ENOTDIR) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return -ELOOP;
		return -ENOTDIR;
	}
	return -saved;
}

/*
 * Open the directory path[0..len) (a clean path) beneath rootfd, one
 * component at a time.  Returns 0 and *out, or a negative errno and in *bad
 * the length of the prefix that failed.  At most two fds are open at once.
 */
static int
walk(int rootfd, const char *path, size_t len, int create, int *out,
     size_t *bad)
{
	char comp[COMPONENT_MAX + 1];
	size_t i = 0, start;
	int fd, next;

	*out = -1;
	*bad = 0;
	if ((fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	while (i < len) {
		start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i - start > COMPONENT_MAX || i == start) {
			close(fd);
			*bad = i;
			return -ENAMETOOLONG;
		}
		memcpy(comp, path + start, i - start);
		comp[i - start] = '\0';
		next = open_dir_at(fd, comp, create);
		close(fd);
		if (next < 0) {
			*bad = i;
			return next;
		}
		fd = next;
		if (i < len)
			i++;
	}
	*out = fd;
	return 0;
}

/*
 * Open the parent directory of `path` (clean, not "") and point *leaf at its
 * last component.  When `create` is not set a missing directory is not an
 * error: 0 is returned with *out == -1.
 */
static int
open_parent(struct extract *x, const char *path, const char *subject,
	    int create, int *out, const char **leaf)
{
	const char *slash = strrchr(path, '/');
	char prefix[SHOW_MAX + 8];
	size_t bad;
	int r;

	*leaf = slash ? slash + 1 : path;
	r = walk(x->rootfd, path, slash ? (size_t)(slash - path) : 0, create,
		 out, &bad);
	if (r == 0 || (r == -ENOENT && !create))
		return 0;
	stele_extract_show(prefix, sizeof(prefix), path, bad);
	if (r == -ELOOP)
		return entry_error(x, STELE_EINVALID,
				   "%s crosses the symlink '%s'", subject,
				   prefix);
	if (r == -ENOTDIR)
		return entry_error(x, STELE_EINVALID,
				   "%s: '%s' is not a directory", subject,
				   prefix);
	errno = -r;
	return entry_errno(x, "cannot open directory '%s'", prefix);
}

/* Remove every child of the directory `fd`, never following a symlink. */
static int
empty_dir(struct extract *x, int fd, int depth)
{
	struct dirent *de;
	DIR *d;
	int dfd, error = 0;

	if (depth > RM_DEPTH_MAX)
		return entry_error(
			x, STELE_EINVALID,
			"directory tree to remove is nested deeper than %d",
			RM_DEPTH_MAX);
	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return entry_errno(x, "cannot read a directory");
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return entry_errno(x, "cannot read a directory");
	}
	/* A dup shares the offset, and this fd may have been read before. */
	rewinddir(d);
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				error = entry_errno(x,
						    "cannot read a directory");
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((error = rm_tree_at(x, dirfd(d), de->d_name, depth + 1)) <
		    0)
			break;
	}
	closedir(d);
	return error;
}

/* rm -rf of dirfd/name; a missing name is fine. */
static int
rm_tree_at(struct extract *x, int dirfd, const char *name, int depth)
{
	const int oflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	char shown[SHOW_MAX + 8];
	struct stat st;
	int fd, error;

	stele_extract_show(shown, sizeof(shown), name, SIZE_MAX);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_errno(x, "cannot stat '%s'", shown);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return entry_errno(x, "cannot remove '%s'", shown);
		return 0;
	}
	/*
	 * Unprivileged, a directory of ours may be unreadable or unwritable;
	 * it is going away, so make it ours to empty.
	 */
	fd = openat(dirfd, name, oflags);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, oflags);
	if (fd < 0)
		return entry_errno(x, "cannot open directory '%s'", shown);
	if (!x->privileged && fchmod(fd, 0700) < 0) {
		close(fd);
		return entry_errno(x, "cannot remove directory '%s'", shown);
	}
	error = empty_dir(x, fd, depth);
	close(fd);
	if (!error && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		error = entry_errno(x, "cannot remove directory '%s'", shown);
	return error;
}

/*
 * OCI whiteouts: ".wh.NAME" removes NAME beside it, ".wh..wh..opq" empties
 * the directory it is in.  Both are about lower layers, so a missing parent
 * means there is nothing to hide and is never created.
 */
static int
apply_whiteout(struct extract *x, const char *path)
{
	const char *leaf, *victim;
	int pfd, opaque, error;

	leaf = strrchr(path, '/');
	leaf = leaf ? leaf + 1 : path;
	victim = leaf + WH_PREFIX_LEN;
	opaque = !strcmp(leaf, WH_OPAQUE);
	if (!opaque &&
	    (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..") ||
	     !strncmp(victim, WH_PREFIX, WH_PREFIX_LEN)))
		return entry_error(x, STELE_EINVALID, "malformed whiteout");
	if ((error = open_parent(x, path, "whiteout", 0, &pfd, &leaf)) < 0)
		return error;
	if (pfd < 0)
		return 0;
	error = opaque ? empty_dir(x, pfd, 0) : rm_tree_at(x, pfd, victim, 0);
	close(pfd);
	return error;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = 0;
	ts[1].tv_nsec = UTIME_OMIT;
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	}
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	}
}

static int
check_owner(struct extract *x, struct archive_entry *e)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

	/* (uid_t)-1 would mean "leave unchanged" to chown. */
	if (x->chown &&
	    (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 ||
	     gid >= (la_int64_t)UINT32_MAX))
		return entry_error(x, STELE_EINVALID,
				   "owner %lld:%lld is out of range",
				   (long long)uid, (long long)gid);
	return 0;
}

/*
 * Owner, then mode (chown clears setuid/setgid), then times; through `fd`
 * when there is one, else pfd/leaf without following a symlink.  Symlinks
 * have no mode of their own on Linux.
 */
static int
apply_meta(struct extract *x, struct archive_entry *e, int fd, int pfd,
	   const char *leaf, mode_t mode, int times)
{
	struct timespec ts[2];
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	int is_link = archive_entry_filetype(e) == AE_IFLNK;

	if (x->chown &&
	    (fd >= 0 ? fchown(fd, uid, gid)
		     : fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0)
		return entry_errno(x, "cannot change the owner");
	/* pfd/leaf was just created by us and is not a symlink. */
	if (!is_link &&
	    (fd >= 0 ? fchmod(fd, mode) : fchmodat(pfd, leaf, mode, 0)) < 0)
		return entry_errno(x, "cannot change the mode");
	if (!times)
		return 0;
	entry_times(e, ts);
	if ((fd >= 0 ? futimens(fd, ts)
		     : utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW)) < 0)
		return entry_errno(x, "cannot set the times");
	return 0;
}

/*
 * Stream the entry's data into fd, block by block.  A sparse entry's holes
 * stay holes (the offset jumps over them): nothing is materialised here,
 * and its full size was counted against max-size before we got here.
 */
static int
copy_data(struct extract *x, struct archive_entry *e, int fd)
{
	const void *buf;
	la_int64_t off, pos = 0, end;
	size_t size;
	int r;

	end = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	for (;;) {
		r = archive_read_data_block(x->a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return entry_archive(x);
		if (off < 0)
			return entry_error(x, STELE_EINVALID,
					   "negative data offset");
		/* A sparse map may not place data past the declared size. */
		if (off > end || (la_int64_t)size > end - off)
			return entry_error(x, STELE_EINVALID,
					   "data lies beyond the entry's size");
		if (off != pos && lseek(fd, (off_t)off, SEEK_SET) < 0)
			return entry_errno(x, "cannot seek");
		if (stele_fs_write_all(fd, buf, size) < 0)
			return entry_errno(x, "cannot write");
		pos = off + (la_int64_t)size;
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
	    ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
		return entry_errno(x, "cannot write");
	return 0;
}

static int
make_file(struct extract *x, struct archive_entry *e, int pfd, const char *leaf,
	  mode_t mode)
{
	int fd, error;

	if ((error = rm_tree_at(x, pfd, leaf, 0)) < 0)
		return error;
	fd = openat(pfd, leaf,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_errno(x, "cannot create the file");
	if ((error = copy_data(x, e, fd)) < 0 ||
	    (error = apply_meta(x, e, fd, pfd, leaf, mode, 1)) < 0) {
		close(fd);
		return error;
	}
	if (close(fd) < 0)
		return entry_errno(x, "cannot write");
	return 0;
}

static int
remember_dir(struct extract *x, struct archive_entry *e, const char *path,
	     mode_t mode)
{
	struct timespec ts[2];
	struct dir_meta *d;

	if (x->ndirs == x->adirs) {
		x->adirs = x->adirs ? 2 * x->adirs : 64;
		x->dirs = stele_xrealloc(x->dirs, x->adirs * sizeof(*x->dirs));
	}
	entry_times(e, ts);
	d = &x->dirs[x->ndirs];
	d->path = stele_xstrdup(path);
	d->seq = x->ndirs++;
	d->mode = mode;
	d->mtime = ts[1];
	return 0;
}

/*
 * A directory over a directory keeps the contents.  Its mode is final at
 * the end (finish_dirs): until then an unprivileged extractor keeps u+rwx
 * so that later entries can be created in it; its mtime is set at the end
 * because creating those entries changes it.
 */
static int
make_dir(struct extract *x, struct archive_entry *e, int pfd, const char *leaf,
	 const char *path, mode_t mode)
{
	struct stat st;
	int fd, error, exists = 0;

	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		exists = S_ISDIR(st.st_mode);
		if (!exists && unlinkat(pfd, leaf, 0) < 0)
			return entry_errno(x,
					   "cannot remove the existing file");
	} else if (errno != ENOENT) {
		return entry_errno(x, "cannot stat");
	}
	if (!exists && mkdirat(pfd, leaf, 0700) < 0)
		return entry_errno(x, "cannot create the directory");
	fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return entry_errno(x, "cannot open the directory");
	error = apply_meta(x, e, fd, pfd, leaf,
			   x->privileged ? mode : mode | 0700, 0);
	close(fd);
	if (error < 0)
		return error;
	return remember_dir(x, e, path, mode);
}

static int
make_symlink(struct extract *x, struct archive_entry *e, int pfd,
	     const char *leaf, const char *target)
{
	int error;

	if ((error = rm_tree_at(x, pfd, leaf, 0)) < 0)
		return error;
	if (symlinkat(target, pfd, leaf) < 0)
		return entry_errno(x, "cannot create the symlink");
	return apply_meta(x, e, -1, pfd, leaf, 0, 1);
}

static int
make_node(struct extract *x, struct archive_entry *e, int pfd, const char *leaf,
	  mode_t mode)
{
	mode_t type = archive_entry_filetype(e);
	int error, r;

	if ((error = rm_tree_at(x, pfd, leaf, 0)) < 0)
		return error;
	if (type == AE_IFIFO)
		r = mkfifoat(pfd, leaf, 0600);
	else
		r = mknodat(pfd, leaf,
			    (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
			    archive_entry_rdev(e));
	if (r < 0)
		return entry_errno(x, "cannot create the %s",
				   type == AE_IFIFO ? "fifo" : "device");
	return apply_meta(x, e, -1, pfd, leaf, mode, 1);
}

/*
 * A hardlink must name a regular file already beneath root, reached without
 * following a symlink; linking to anything else would let a layer alias a
 * file outside root (or a directory) under a name inside it.
 */
static int
make_hardlink(struct extract *x, const char *path, const char *link)
{
	char shown[SHOW_MAX + 8], subject[SHOW_MAX + 32];
	const char *tleaf, *leaf;
	struct stat tst, st;
	char *target = NULL;
	int tfd = -1, pfd = -1, error;

	stele_extract_show(shown, sizeof(shown), link, SIZE_MAX);
	snprintf(subject, sizeof(subject), "hardlink target '%s'", shown);
	if ((error = clean_path(x, link, subject, &target)) < 0)
		goto out;
	if (!*target) {
		error = entry_error(x, STELE_EINVALID, "%s is the root",
				    subject);
		goto out;
	}
	if ((error = open_parent(x, target, subject, 0, &tfd, &tleaf)) < 0)
		goto out;
	if (tfd < 0 || fstatat(tfd, tleaf, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		if (tfd >= 0 && errno != ENOENT)
			error = entry_errno(x, "cannot stat %s", subject);
		else
			error = entry_error(x, STELE_EINVALID,
					    "%s does not exist", subject);
		goto out;
	}
	if (!S_ISREG(tst.st_mode)) {
		error = entry_error(x, STELE_EINVALID,
				    "%s is not a regular file", subject);
		goto out;
	}
	if ((error = open_parent(x, path, "path", 1, &pfd, &leaf)) < 0)
		goto out;
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
		goto out;
	if ((error = rm_tree_at(x, pfd, leaf, 0)) < 0)
		goto out;
	if (linkat(tfd, tleaf, pfd, leaf, 0) < 0)
		error = entry_errno(x, "cannot link to %s", subject);
out:
	if (pfd >= 0)
		close(pfd);
	if (tfd >= 0)
		close(tfd);
	free(target);
	return error;
}

/* Everything that can be refused is refused before anything is created. */
static int
check_type(struct extract *x, struct archive_entry *e)
{
	const char *target;

	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFIFO: return check_owner(x, e);
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (!target)
			target = archive_entry_symlink_utf8(e);
		if (!target || !*target)
			return entry_error(x, STELE_EINVALID,
					   "symlink has an empty target");
		if (strlen(target) >= STELE_PATH_MAX)
			return entry_error(
				x, STELE_EINVALID,
				"symlink target is longer than %d bytes",
				STELE_PATH_MAX - 1);
		return check_owner(x, e);
	case AE_IFCHR:
	case AE_IFBLK:
		if (!(x->flags & STELE_EXTRACT_DEVICES))
			return entry_error(x, STELE_EINVALID,
					   "%s devices are not allowed",
					   archive_entry_filetype(e) == AE_IFCHR
						   ? "character"
						   : "block");
		return check_owner(x, e);
	default:
		return entry_error(x, STELE_EINVALID,
				   "unsupported entry type 0%o",
				   (unsigned)archive_entry_filetype(e));
	}
}

/*
 * Count the entry against the limits before anything of it is created, so
 * a 10 KiB archive that declares a 1 TiB (sparse) file is refused at its
 * header, having written nothing.
 */
static int
check_limits(struct extract *x, struct archive_entry *e, const char *raw,
	     const char *link)
{
	char lim[32], sz[32];
	la_int64_t size;

	if (++x->entries > x->max_entries)
		return entry_error(
			x, STELE_EINVALID,
			"the layer has more than %llu entries (the max-entries limit)",
			(unsigned long long)x->max_entries);
	x->names += raw ? strlen(raw) : 0;
	if (x->names > x->max_names)
		return entry_error(x, STELE_EINVALID,
				   "the layer's entry names total more than %s "
				   "(%d bytes for each of max-entries)",
				   stele_limits_fmt(lim, x->max_names),
				   STELE_NAME_BYTES_PER_ENTRY);
	if (archive_entry_filetype(e) != AE_IFREG || link ||
	    !archive_entry_size_is_set(e))
		return 0;
	if ((size = archive_entry_size(e)) < 0)
		return entry_error(x, STELE_EINVALID, "negative size");
	if ((uint64_t)size > x->max_size - x->size)
		return entry_error(x, STELE_EINVALID,
				   "%sfile of %s expands the layer past the "
				   "max-size limit of %s",
				   archive_entry_sparse_count(e) > 0 ? "sparse "
								     : "",
				   stele_limits_fmt(sz, (uint64_t)size),
				   stele_limits_fmt(lim, x->max_size));
	x->size += (uint64_t)size;
	return 0;
}

static int
extract_entry(struct extract *x, struct archive_entry *e)
{
	const char *raw, *link, *leaf, *target;
	mode_t mode = archive_entry_perm(e) & 07777;
	char *path = NULL;
	int pfd = -1, error;

	if (!(raw = archive_entry_pathname(e)))
		raw = archive_entry_pathname_utf8(e);
	stele_extract_show(x->name, sizeof(x->name), raw ? raw : "", SIZE_MAX);
	if (!(link = archive_entry_hardlink(e)))
		link = archive_entry_hardlink_utf8(e);
	if ((error = check_limits(x, e, raw, link)) < 0 ||
	    (error = clean_path(x, raw, "path", &path)) < 0)
		goto out;
	if (!*path) {
		/* "./": the root itself, which stays as the caller made it. */
		if (archive_entry_filetype(e) != AE_IFDIR || link)
			error = entry_error(
				x, STELE_EINVALID,
				"names the root but is not a directory");
		goto out;
	}
	leaf = strrchr(path, '/');
	leaf = leaf ? leaf + 1 : path;
	if (!strncmp(leaf, WH_PREFIX, WH_PREFIX_LEN)) {
		error = apply_whiteout(x, path);
		goto out;
	}
	if (link) {
		error = make_hardlink(x, path, link);
		goto out;
	}
	if ((error = check_type(x, e)) < 0 ||
	    (error = open_parent(x, path, "path", 1, &pfd, &leaf)) < 0)
		goto out;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: error = make_file(x, e, pfd, leaf, mode); break;
	case AE_IFDIR: error = make_dir(x, e, pfd, leaf, path, mode); break;
	case AE_IFLNK:
		if (!(target = archive_entry_symlink(e)))
			target = archive_entry_symlink_utf8(e);
		error = make_symlink(x, e, pfd, leaf, target);
		break;
	default: error = make_node(x, e, pfd, leaf, mode); break;
	}
out:
	if (pfd >= 0)
		close(pfd);
	free(path);
	return error;
}

/* Descending by path (children before parents), then latest entry first. */
static int
dir_cmp(const void *pa, const void *pb)
{
	const struct dir_meta *a = pa, *b = pb;
	int c = strcmp(b->path, a->path);

	if (c)
		return c;
	return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

/*
 * Final modes and mtimes of this layer's directories.  A directory replaced
 * or removed by a later entry is skipped; one entry per path, the last.
 */
static int
finish_dirs(struct extract *x)
{
	struct timespec ts[2];
	struct dir_meta *d;
	size_t i, bad;
	int fd;

	if (x->ndirs)
		qsort(x->dirs, x->ndirs, sizeof(*x->dirs), dir_cmp);
	for (i = 0; i < x->ndirs; i++) {
		d = &x->dirs[i];
		if (i && !strcmp(d->path, x->dirs[i - 1].path))
			continue;
		if (walk(x->rootfd, d->path, strlen(d->path), 0, &fd, &bad) < 0)
			continue;
		stele_extract_show(x->name, sizeof(x->name), d->path, SIZE_MAX);
		ts[0] = ts[1] = d->mtime;
		if (fchmod(fd, d->mode) < 0) {
			close(fd);
			return entry_errno(x, "cannot change the mode");
		}
		if (futimens(fd, ts) < 0) {
			close(fd);
			return entry_errno(x, "cannot set the times");
		}
		close(fd);
	}
	return 0;
}

int
stele_extract_fd(int fd, const char *root, unsigned flags, const char *what,
		 const struct stele_limits *limits)
{
	struct archive_entry *e;
	struct extract x;
	char prefix[SHOW_MAX + 16];
	size_t i;
	int r, error = 0;

	memset(&x, 0, sizeof(x));
	x.rootfd = -1;
	x.flags = flags;
	x.max_size = stele_limits_size(limits);
	x.max_entries = stele_limits_entries(limits);
	x.max_names = stele_limits_name_bytes(limits);
	x.privileged = geteuid() == 0;
	x.chown = x.privileged && !(flags & STELE_EXTRACT_NO_CHOWN);
	if (!what)
		what = "(unnamed)";
	stele_extract_show(x.what, sizeof(x.what), what, SIZE_MAX);
	snprintf(prefix, sizeof(prefix), "layer '%s'", x.what);
	x.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.rootfd < 0) {
		error = stele_error_errno("%s: cannot open the root '%s'",
					  prefix, root);
		goto out;
	}
	if ((error = open_readers(&x, fd, prefix)) < 0)
		goto out;
	for (;;) {
		r = archive_read_next_header(x.a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			error = reader_error(&x, prefix);
			goto out;
		}
		if ((error = extract_entry(&x, e)) < 0)
			goto out;
	}
	error = finish_dirs(&x);
out:
	if (x.a)
		archive_read_free(x.a);
	if (x.raw)
		archive_read_free(x.raw);
	free(x.block);
	if (x.rootfd >= 0)
		close(x.rootfd);
	for (i = 0; i < x.ndirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	return error;
}

int
stele_extract_file(const char *path, const char *root, unsigned flags,
		   const struct stele_limits *limits)
{
	int fd, error;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return stele_error_setc(
				STELE_ENOTFOUND,
				"cannot open layer '%s': no such file", path);
		return stele_error_errno("cannot open layer '%s'", path);
	}
	error = stele_extract_fd(fd, root, flags, path, limits);
	close(fd);
	return error;
}
