#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/limits.h"
#include "util/fs.h"

int
stele_fs_read(struct stele_buf *out, const char *path)
{
	int fd, error;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return stele_error_setc(
				STELE_ENOTFOUND,
				"cannot open '%s': no such file", path);
		return stele_error_errno("cannot open '%s'", path);
	}
	error = stele_fs_read_fd(out, fd, path);
	close(fd);
	return error;
}

int
stele_fs_read_fd(struct stele_buf *out, int fd, const char *what)
{
	char chunk[65536];
	ssize_t n;
	int error = 0;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = stele_error_errno("cannot read '%s'", what);
			break;
		}
		if ((error = stele_buf_put(out, chunk, (size_t)n)) < 0) {
			stele_error_prefix(error, "'%s'", what);
			break;
		}
	}
	return error;
}

int
stele_fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
stele_fs_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return stele_error_errno("cannot open directory '%s'", path);
	fsync(fd);
	close(fd);
	return 0;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return stele_xstrdup(".");
	if (slash == path)
		return stele_xstrdup("/");
	return stele_xstrndup(path, (size_t)(slash - path));
}

int
stele_fs_write_atomic(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	char *tmp = stele_xasprintf("%s.tmp-XXXXXX", path);
	char *dir = NULL;
	int fd, error = 0;

	if ((fd = mkstemp(tmp)) < 0) {
		error = stele_error_errno("cannot create '%s'", tmp);
		goto out;
	}
	if (fchmod(fd, mode) < 0 || stele_fs_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		error = stele_error_errno("cannot write '%s'", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		error = stele_error_errno("cannot rename to '%s'", path);
		unlink(tmp);
		goto out;
	}
	dir = dir_of(path);
	error = stele_fs_sync_dir(dir);
out:
	free(dir);
	free(tmp);
	return error;
}

int
stele_fs_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0) {
		if (errno == EEXIST)
			return stele_error_setc(
				STELE_EINVALID,
				"'%s' already exists; not overwriting it",
				path);
		return stele_error_errno("cannot create '%s'", path);
	}
	if (stele_fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int error = stele_error_errno("cannot write '%s'", path);

		close(fd);
		unlink(path);
		return error;
	}
	close(fd);
	return 0;
}

int
stele_fs_mkdir_p(const char *path, mode_t mode)
{
	char *p = stele_xstrdup(path), *s;
	struct stat st;
	int error = 0;

	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			error = stele_error_errno(
				"cannot create directory '%s'", p);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!error && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)))
		error = stele_error_set("'%s' is not a directory", path);
	free(p);
	return error;
}

static int
rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, error = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT
			? 0
			: stele_error_errno("cannot stat '%s'", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return stele_error_errno("cannot remove '%s'", name);
		return 0;
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* A directory without read permission: make it readable. */
		if (fchmodat(dirfd, name, 0700, 0) < 0)
			return stele_error_errno("cannot open '%s'", name);
		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return stele_error_errno("cannot open '%s'", name);
	}
	if (!(d = fdopendir(fd))) {
		close(fd);
		return stele_error_errno("cannot read '%s'", name);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((error = rm_rf_at(fd, de->d_name)) < 0)
			break;
	}
	closedir(d);
	if (!error && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		error = stele_error_errno("cannot remove '%s'", name);
	return error;
}

int
stele_fs_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

void
stele_fs_tmp_free(char *dir)
{
	if (dir)
		stele_fs_rm_rf(dir);
	free(dir);
}

int
stele_fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
stele_fs_mkdtemp(char **out, const char *parent, const char *prefix)
{
	char *p;

	*out = NULL;
	p = stele_xasprintf("%s/%s-XXXXXX", parent ? parent : "/tmp", prefix);
	if (!mkdtemp(p)) {
		int error = stele_error_errno(
			"cannot create a temporary directory '%s'", p);

		free(p);
		return error;
	}
	*out = p;
	return 0;
}

int
stele_fs_copy_file(const char *src, const char *dst, mode_t mode)
{
	char chunk[65536];
	int in, o, error = 0;
	ssize_t n;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return stele_error_errno("cannot open '%s'", src);
	if ((o = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) <
	    0) {
		close(in);
		return stele_error_errno("cannot create '%s'", dst);
	}
	while ((n = read(in, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = stele_error_errno("cannot read '%s'", src);
			break;
		}
		if (stele_fs_write_all(o, chunk, (size_t)n) < 0) {
			error = stele_error_errno("cannot write '%s'", dst);
			break;
		}
	}
	if (!error && fsync(o) < 0)
		error = stele_error_errno("cannot write '%s'", dst);
	close(in);
	close(o);
	if (error)
		unlink(dst);
	return error;
}

/* a[0, la), then sep (or nothing), then b: malloc'd.  Called for every
 * file a COPY walks, a few times: no printf machinery. */
static char *
concat(const char *a, size_t la, const char *sep, const char *b)
{
	size_t ls = sep ? strlen(sep) : 0, lb = strlen(b);
	char *p = stele_xmalloc(la + ls + lb + 1);

	memcpy(p, a, la);
	memcpy(p + la, sep ? sep : "", ls);
	memcpy(p + la + ls, b, lb + 1);
	return p;
}

char *
stele_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (*b == '/')
		b++;
	return concat(a, la, la && a[la - 1] == '/' ? NULL : "/", b);
}

char *
stele_path_rel(const char *a, const char *b)
{
	return *a ? concat(a, strlen(a), "/", b) : stele_xstrdup(b);
}

/* The next component of the path at *p, empty ones and "." skipped: 0 at
 * the end. */
static int
path_next(const char **p, const char **seg, size_t *len)
{
	for (;;) {
		while (**p == '/')
			(*p)++;
		if (!**p)
			return 0;
		*seg = *p;
		while (**p && **p != '/')
			(*p)++;
		*len = (size_t)(*p - *seg);
		if (*len != 1 || **seg != '.')
			return 1;
	}
}

#define IS_DOTDOT(seg, sl) ((sl) == 2 && (seg)[0] == '.' && (seg)[1] == '.')

int
stele_path_clean_rel(char **out, const char *raw)
{
	const char *p = raw, *seg;
	size_t n = 0, sl, depth = 0;
	char *s;
	int refusal = 0;

	*out = NULL;
	if (raw[0] == '/')
		return STELE_PATH_ABSOLUTE;
	s = stele_xmalloc(strlen(raw) + 1);
	while (!refusal && path_next(&p, &seg, &sl)) {
		if (IS_DOTDOT(seg, sl))
			refusal = STELE_PATH_DOTDOT;
		else if (sl > 255)
			refusal = STELE_PATH_LONG_COMPONENT;
		/* Bounds every recursion over the tree (whiteouts, walks). */
		else if (++depth > STELE_DEPTH_MAX)
			refusal = STELE_PATH_DEEP;
		if (refusal)
			break;
		if (n)
			s[n++] = '/';
		memcpy(s + n, seg, sl);
		n += sl;
	}
	if (refusal) {
		free(s);
		return refusal;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

char *
stele_path_clean_abs(const char *path)
{
	size_t n = strlen(path);
	char *out = stele_xmalloc(n + 2);
	size_t len = 0, sl;
	const char *p = path, *seg;

	out[len++] = '/';
	while (path_next(&p, &seg, &sl)) {
		if (IS_DOTDOT(seg, sl)) {
			while (len > 1 && out[len - 1] != '/')
				len--;
			if (len > 1)
				len--;
			continue;
		}
		if (len > 1)
			out[len++] = '/';
		memcpy(out + len, seg, sl);
		len += sl;
	}
	out[len] = '\0';
	return out;
}
