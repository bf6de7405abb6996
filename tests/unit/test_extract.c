#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

/*
 * Layers are written at test time with libarchive's writer (pax_restricted,
 * optionally gzip or zstd) from tables of entries, so the hostile corpus is
 * plain data here and needs no binary fixtures.  Each test extracts into
 * "root" inside a fresh temporary "parent"; a rejected layer must leave the
 * parent holding nothing but root.
 */

#define REG(n, d) { .name = (n), .type = T_FILE, .data = (d) }
#define DIR(n) { .name = (n), .type = T_DIR }
#define SYM(n, t) { .name = (n), .type = T_SYMLINK, .data = (t) }
#define HARD(n, t) { .name = (n), .type = T_HARDLINK, .data = (t) }
#define DEFAULT_MTIME 1500000000LL

enum tent_type { T_FILE, T_DIR, T_SYMLINK, T_HARDLINK, T_FIFO, T_CHR, T_BLK };
enum filter { F_NONE, F_GZIP, F_ZSTD };

struct tent {
	const char *name;
	enum tent_type type;
	const char *data; /* file content, or link target */
	unsigned mode;    /* permission bits; 0 picks 0644 or 0755 */
	long long mtime;  /* 0 picks DEFAULT_MTIME */
	long long uid, gid;
	size_t len;       /* bytes of data for files; 0: strlen */
};

struct fixture {
	char *parent;
	char *root;
	char *layers;
	char *outside;
	int rootfd;
	unsigned count;
	struct stele_limits limits; /* given to every extraction */
};

static int
setup(void **state)
{
	struct fixture *fx = stele_xcalloc(1, sizeof(*fx));

	if (stele_fs_mkdtemp(&fx->parent, getenv("TMPDIR"), "stele-extract") < 0 ||
	    stele_fs_mkdtemp(&fx->layers, getenv("TMPDIR"), "stele-layers") < 0 ||
	    stele_fs_mkdtemp(&fx->outside, getenv("TMPDIR"), "stele-outside") < 0)
		return -1;
	fx->root = stele_path_join(fx->parent, "root");
	if (mkdir(fx->root, 0755) < 0)
		return -1;
	if ((fx->rootfd = open(fx->root, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	close(fx->rootfd);
	stele_fs_rm_rf(fx->parent);
	stele_fs_rm_rf(fx->layers);
	stele_fs_rm_rf(fx->outside);
	free(fx->parent);
	free(fx->root);
	free(fx->layers);
	free(fx->outside);
	free(fx);
	return 0;
}

static void
layer_write(const char *path, const struct tent *ents, size_t n,
	    enum filter filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t i, len;
	int utf8;

	/*
	 * Non-ASCII names go in pax "path" records in UTF-8, as Go and most
	 * builders write them; libarchive's writer needs a UTF-8 locale for
	 * that.  The extractor itself runs in the "C" locale.
	 */
	utf8 = setlocale(LC_CTYPE, "C.UTF-8") != NULL;
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a),
			 ARCHIVE_OK);
	if (filter == F_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	if (filter == F_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		const struct tent *t = &ents[i];
		unsigned mode = t->mode;

		len = 0;
		e = archive_entry_new();
		archive_entry_set_pathname(e, t->name);
		archive_entry_set_mtime(e, t->mtime ? t->mtime : DEFAULT_MTIME,
					0);
		archive_entry_set_uid(e, t->uid);
		archive_entry_set_gid(e, t->gid);
		if (!mode)
			mode = t->type == T_DIR ? 0755 : 0644;
		switch (t->type) {
		case T_FILE:
			len = t->len ? t->len : strlen(t->data ? t->data : "");
			archive_entry_set_filetype(e, AE_IFREG);
			break;
		case T_DIR:
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case T_SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, t->data);
			mode = 0777;
			break;
		case T_HARDLINK:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t->data);
			break;
		case T_FIFO:
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		case T_CHR:
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case T_BLK:
			archive_entry_set_filetype(e, AE_IFBLK);
			archive_entry_set_rdev(e, makedev(7, 0));
			break;
		}
		archive_entry_set_perm(e, mode);
		archive_entry_set_size(e, (la_int64_t)len);
		/* WARN: a name that is not UTF-8 went out as raw bytes. */
		if (archive_write_header(a, e) < ARCHIVE_WARN)
			fail_msg("cannot write '%s': %s", t->name,
				 archive_error_string(a));
		if (len &&
		    archive_write_data(a, t->data, len) != (la_ssize_t)len)
			fail_msg("cannot write '%s': %s", t->name,
				 archive_error_string(a));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	if (utf8)
		setlocale(LC_CTYPE, "C");
}

static int
open_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* Every extraction, good or refused, must close what it opened. */
static int
extract(struct fixture *fx, const struct tent *ents, size_t n,
	enum filter filter, unsigned flags)
{
	char *path = stele_xasprintf("%s/layer%u.tar", fx->layers, fx->count++);
	int rc, fds;

	layer_write(path, ents, n, filter);
	stele_error_clear();
	fds = open_fds();
	rc = stele_extract_file(path, fx->root, flags, &fx->limits);
	assert_int_equal(open_fds(), fds);
	free(path);
	return rc;
}

static int
dir_count(const char *path, const char *only)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (only && strcmp(de->d_name, only))
			fail_msg("unexpected '%s' in '%s'", de->d_name, path);
		n++;
	}
	closedir(d);
	return n;
}

static void
assert_contained(struct fixture *fx)
{
	assert_int_equal(dir_count(fx->parent, "root"), 1);
	assert_int_equal(dir_count(fx->outside, NULL), 0);
}

static void
assert_rejected(struct fixture *fx, const struct tent *ents, size_t n,
		const char *entry, const char *reason)
{
	char want[512];
	const char *msg;
	int rc = extract(fx, ents, n, F_NONE, 0);

	msg = stele_error_last();
	if (rc != STELE_EINVALID)
		fail_msg("entry '%s' gave %d (%s), not STELE_EINVALID", entry,
			 rc, msg);
	snprintf(want, sizeof(want), "entry '%s': ", entry);
	if (!strstr(msg, want) || !strstr(msg, "layer '"))
		fail_msg("message \"%s\" does not name %s", msg, want);
	if (reason && !strstr(msg, reason))
		fail_msg("message \"%s\" lacks \"%s\"", msg, reason);
	assert_contained(fx);
}

static int
lstat_at(struct fixture *fx, const char *rel, struct stat *st)
{
	return fstatat(fx->rootfd, rel, st, AT_SYMLINK_NOFOLLOW);
}

static void
assert_missing(struct fixture *fx, const char *rel)
{
	struct stat st;

	if (lstat_at(fx, rel, &st) == 0 || errno != ENOENT)
		fail_msg("'%s' should not exist", rel);
}

static void
assert_mode(struct fixture *fx, const char *rel, mode_t type, mode_t perm)
{
	struct stat st;

	if (lstat_at(fx, rel, &st) < 0)
		fail_msg("'%s' is missing: %s", rel, strerror(errno));
	if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != perm)
		fail_msg("'%s' has mode 0%o, want 0%o", rel,
			 (unsigned)st.st_mode, (unsigned)(type | perm));
}

static void
assert_content(struct fixture *fx, const char *rel, const char *want,
	       size_t len)
{
	char *buf = stele_xmalloc(len + 1);
	size_t got = 0;
	ssize_t r;
	int fd = openat(fx->rootfd, rel, O_RDONLY | O_NOFOLLOW);

	if (fd < 0)
		fail_msg("cannot open '%s': %s", rel, strerror(errno));
	while ((r = read(fd, buf + got, len + 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

/* --- hostile layers: each must be refused, naming the entry --- */

static void
test_extract_dotdot(void **state)
{
	const struct tent l[] = { REG("../evil", "x") };

	assert_rejected(*state, l, NELEM(l), "../evil", "escapes the root");
	assert_int_equal(dir_count(((struct fixture *)*state)->root, NULL), 0);
}

static void
test_extract_absolute(void **state)
{
	const struct tent l[] = { REG("/abs", "x") };

	assert_rejected(*state, l, NELEM(l), "/abs", "absolute");
	assert_int_equal(dir_count(((struct fixture *)*state)->root, NULL), 0);
}

static void
test_extract_inner_dotdot(void **state)
{
	const struct tent l[] = { REG("a/../../evil", "x") };

	assert_rejected(*state, l, NELEM(l), "a/../../evil", "escapes the root");
	/* Refused before anything was created, even "a". */
	assert_int_equal(dir_count(((struct fixture *)*state)->root, NULL), 0);
}

static void
test_extract_dotdot_dir(void **state)
{
	const struct tent l[] = { DIR("ok/"), DIR("ok/../..") };

	/* libarchive's writer adds the trailing slash of a directory. */
	assert_rejected(*state, l, NELEM(l), "ok/../../", "escapes the root");
}

static void
test_extract_symlink_then_file(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		SYM("link", fx->outside),
		REG("link/pwned", "owned"),
	};

	assert_rejected(fx, l, NELEM(l), "link/pwned",
			"crosses the symlink 'link'");
}

static void
test_extract_symlink_then_dir(void **state)
{
	struct fixture *fx = *state;
	char *escape = stele_path_join(fx->parent, "escape");
	const struct tent l[] = {
		DIR("a/"),
		SYM("a/link", escape),
		REG("a/link/sub/pwned", "owned"),
	};

	/* Following the link would create "escape" beside root. */
	assert_rejected(fx, l, NELEM(l), "a/link/sub/pwned",
			"crosses the symlink 'a/link'");
	free(escape);
}

static void
test_extract_symlink_dotdot(void **state)
{
	const struct tent l[] = {
		SYM("up", ".."),
		REG("up/evil", "x"),
	};
	struct stat st;

	assert_rejected(*state, l, NELEM(l), "up/evil", "symlink");
	/* The symlink itself is data and was created verbatim. */
	assert_int_equal(lstat_at(*state, "up", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_extract_hardlink_absolute(void **state)
{
	const struct tent l[] = { HARD("h", "/etc/passwd") };
	struct stat before, after;

	assert_int_equal(stat("/etc/passwd", &before), 0);
	assert_rejected(*state, l, NELEM(l), "h", "hardlink target '/etc/passwd'");
	assert_int_equal(stat("/etc/passwd", &after), 0);
	assert_int_equal(before.st_nlink, after.st_nlink);
	assert_missing(*state, "h");
}

static void
test_extract_hardlink_dotdot(void **state)
{
	const struct tent l[] = { HARD("h", "../x") };

	assert_rejected(*state, l, NELEM(l), "h", "escapes the root");
}

static void
test_extract_hardlink_missing(void **state)
{
	const struct tent l[] = { HARD("h", "nope") };

	assert_rejected(*state, l, NELEM(l), "h", "does not exist");
}

static void
test_extract_hardlink_dir(void **state)
{
	const struct tent l[] = { DIR("d/"), HARD("h", "d") };

	assert_rejected(*state, l, NELEM(l), "h", "not a regular file");
}

static void
test_extract_hardlink_symlink(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		SYM("etc", "/etc"),
		HARD("h", "etc/passwd"),
	};
	const struct tent l2[] = {
		SYM("s", "/etc/passwd"),
		HARD("h", "s"),
	};

	assert_rejected(fx, l, NELEM(l), "h", "crosses the symlink 'etc'");
	assert_rejected(fx, l2, NELEM(l2), "h", "not a regular file");
}

static void
test_extract_chardev(void **state)
{
	const struct tent l[] = { { .name = "dev/mem", .type = T_CHR } };

	assert_rejected(*state, l, NELEM(l), "dev/mem", "character devices");
	assert_missing(*state, "dev");
}

static void
test_extract_blockdev(void **state)
{
	const struct tent l[] = { { .name = "dev/sda", .type = T_BLK } };

	assert_rejected(*state, l, NELEM(l), "dev/sda", "block devices");
	assert_missing(*state, "dev");
}

static void
test_extract_bad_whiteout(void **state)
{
	const struct tent l[] = { REG("a/.wh...", "") };
	const struct tent l2[] = { REG(".wh..", "") };
	const struct tent l3[] = { REG("a/.wh.", "") };

	assert_rejected(*state, l, NELEM(l), "a/.wh...", "malformed whiteout");
	assert_rejected(*state, l2, NELEM(l2), ".wh..", "malformed whiteout");
	assert_rejected(*state, l3, NELEM(l3), "a/.wh.", "malformed whiteout");
}

static void
test_extract_whiteout_through_symlink(void **state)
{
	struct fixture *fx = *state;
	char *keep = stele_path_join(fx->outside, "keep");
	const struct tent l1[] = { SYM("link", fx->outside) };
	const struct tent l2[] = { REG("link/.wh.keep", "") };
	const struct tent l3[] = { REG("link/.wh..wh..opq", "") };
	const struct tent l4[] = { REG(".wh.link", "") };

	assert_int_equal(mkdir(keep, 0755), 0);
	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_int_equal(extract(fx, l2, NELEM(l2), F_NONE, 0), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "entry 'link/.wh.keep'"));
	assert_int_equal(extract(fx, l3, NELEM(l3), F_NONE, 0), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(),
			       "entry 'link/.wh..wh..opq'"));
	assert_true(stele_fs_exists(keep));
	/* Whiting out the symlink removes the link, not what it points at. */
	assert_ok(extract(fx, l4, NELEM(l4), F_NONE, 0));
	assert_missing(fx, "link");
	assert_true(stele_fs_exists(keep));
	assert_int_equal(dir_count(fx->parent, "root"), 1);
	free(keep);
}

static void
test_extract_empty_name(void **state)
{
	const struct tent l[] = { REG("", "x") };
	const struct tent l2[] = { REG(".", "x") };

	assert_rejected(*state, l, NELEM(l), "", "empty");
	assert_rejected(*state, l2, NELEM(l2), ".", "root");
}

static void
test_extract_not_a_dir(void **state)
{
	const struct tent l[] = { REG("f", "x"), REG("f/x", "y") };

	assert_rejected(*state, l, NELEM(l), "f/x", "'f' is not a directory");
}

static void
test_extract_long_name(void **state)
{
	char name[5000];
	const struct tent l[] = { REG(name, "x") };

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[100] = '/';
	assert_int_equal(extract(*state, l, NELEM(l), F_NONE, 0), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "path is too long"));
	/* Quoted in the message, but cut short. */
	assert_non_null(strstr(stele_error_last(), "aaa...': "));
	name[4090] = '\0';
	assert_int_equal(extract(*state, l, NELEM(l), F_NONE, 0), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "longer than 255 bytes"));
	assert_contained(*state);
	assert_int_equal(dir_count(((struct fixture *)*state)->root, NULL), 0);
}

/* --- good layers --- */

static void
test_extract_basic(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		DIR("./"),
		{ .name = "./etc/", .type = T_DIR, .mode = 0755 },
		{ .name = "./etc/conf", .type = T_FILE, .data = "hello\n",
		  .mode = 0640, .mtime = 1234567890 },
		DIR("bin/"),
		{ .name = "bin/su", .type = T_FILE, .data = "#!",
		  .mode = 04755 },
		{ .name = "bin/sg", .type = T_FILE, .data = "#!",
		  .mode = 02711 },
		{ .name = "tmp/", .type = T_DIR, .mode = 01777 },
		{ .name = "shared/", .type = T_DIR, .mode = 02775 },
		{ .name = "d/", .type = T_DIR, .mode = 0750,
		  .mtime = 1000000000 },
		REG("d/f", "data"),
		{ .name = "d/s", .type = T_SYMLINK, .data = "f",
		  .mtime = 1111111111 },
		HARD("d/h", "d/f"),
		SYM("d/abs", "/etc/passwd"),
		{ .name = "p", .type = T_FIFO, .mode = 0600 },
		REG("x/y/z", "deep"),
		{ .name = "ro/", .type = T_DIR, .mode = 0555 },
		{ .name = "ro/file", .type = T_FILE,
		  .data = "in a read-only dir", .mode = 0444 },
	};
	struct stat st, st2;
	char buf[64];
	ssize_t n;

	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_mode(fx, "etc", S_IFDIR, 0755);
	assert_mode(fx, "etc/conf", S_IFREG, 0640);
	assert_content(fx, "etc/conf", "hello\n", 6);
	assert_int_equal(lstat_at(fx, "etc/conf", &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_mode(fx, "bin/su", S_IFREG, 04755);
	assert_mode(fx, "bin/sg", S_IFREG, 02711);
	assert_mode(fx, "tmp", S_IFDIR, 01777);
	assert_mode(fx, "shared", S_IFDIR, 02775);
	assert_mode(fx, "d", S_IFDIR, 0750);
	/* Set at the end, after its children were created. */
	assert_int_equal(lstat_at(fx, "d", &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(lstat_at(fx, "d/s", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, 1111111111);
	n = readlinkat(fx->rootfd, "d/s", buf, sizeof(buf));
	assert_int_equal(n, 1);
	assert_memory_equal(buf, "f", 1);
	n = readlinkat(fx->rootfd, "d/abs", buf, sizeof(buf));
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "/etc/passwd", 11);
	assert_int_equal(lstat_at(fx, "d/f", &st), 0);
	assert_int_equal(lstat_at(fx, "d/h", &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(st.st_mtim.tv_sec, DEFAULT_MTIME);
	assert_mode(fx, "p", S_IFIFO, 0600);
	assert_mode(fx, "x", S_IFDIR, 0755);
	assert_mode(fx, "x/y", S_IFDIR, 0755);
	assert_content(fx, "x/y/z", "deep", 4);
	assert_mode(fx, "ro", S_IFDIR, 0555);
	assert_content(fx, "ro/file", "in a read-only dir", 18);
	assert_int_equal(dir_count(fx->parent, "root"), 1);
	/* So that an unprivileged teardown can remove ro/file. */
	assert_int_equal(fchmodat(fx->rootfd, "ro", 0755, 0), 0);
}

static void
test_extract_owner(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		{ .name = "f", .type = T_FILE, .data = "x", .mode = 04750,
		  .uid = 1234, .gid = 5678 },
		{ .name = "d/", .type = T_DIR, .mode = 0700, .uid = 42,
		  .gid = 43 },
		{ .name = "s", .type = T_SYMLINK, .data = "f", .uid = 77,
		  .gid = 78 },
	};
	const struct tent l2[] = {
		{ .name = "g", .type = T_FILE, .data = "x", .uid = 1234,
		  .gid = 5678 },
	};
	struct stat st;

	if (geteuid() != 0) {
		print_message("skip: not root (cannot chown)\n");
		skip();
	}
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_int_equal(lstat_at(fx, "f", &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	/* chown clears setuid: the mode must be applied after it. */
	assert_mode(fx, "f", S_IFREG, 04750);
	assert_int_equal(lstat_at(fx, "d", &st), 0);
	assert_int_equal(st.st_uid, 42);
	assert_int_equal(lstat_at(fx, "s", &st), 0);
	assert_int_equal(st.st_uid, 77);
	assert_int_equal(st.st_gid, 78);
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, STELE_EXTRACT_NO_CHOWN));
	assert_int_equal(lstat_at(fx, "g", &st), 0);
	assert_int_equal(st.st_uid, geteuid());
}

static void
test_extract_replace(void **state)
{
	struct fixture *fx = *state;
	char *target = stele_path_join(fx->outside, "target");
	const struct tent l1[] = {
		REG("r/child/deeper", "x"),
		REG("f", "x"),
		REG("k/child", "kept"),
		SYM("s", target),
		SYM("sd", fx->outside),
		REG("same", "old"),
	};
	const struct tent l2[] = {
		REG("r", "now a file"),
		DIR("f/"),
		{ .name = "k/", .type = T_DIR, .mode = 0700 },
		REG("s", "not through the link"),
		DIR("sd/"),
		REG("sd/in", "inside"),
		REG("same", "new"),
		REG("same", "newest"),
	};

	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_mode(fx, "r", S_IFREG, 0644);
	assert_content(fx, "r", "now a file", 10);
	assert_mode(fx, "f", S_IFDIR, 0755);
	assert_mode(fx, "k", S_IFDIR, 0700);
	assert_content(fx, "k/child", "kept", 4);
	assert_mode(fx, "s", S_IFREG, 0644);
	assert_content(fx, "s", "not through the link", 20);
	assert_mode(fx, "sd", S_IFDIR, 0755);
	assert_content(fx, "sd/in", "inside", 6);
	assert_content(fx, "same", "newest", 6);
	assert_contained(fx);
	free(target);
}

static void
test_extract_whiteout(void **state)
{
	struct fixture *fx = *state;
	const struct tent l1[] = {
		REG("a/x", "x"),
		REG("a/y", "y"),
		REG("b/z", "z"),
		REG("c", "c"),
		REG("deep/1/2/3/file", "f"),
		SYM("ln", "a"),
	};
	const struct tent l2[] = {
		REG("a/.wh.x", ""),
		REG(".wh.b", ""),
		REG("./.wh.c", ""),
		REG(".wh.deep", ""),
		REG(".wh.ln", ""),
		REG("nope/.wh.q", ""),
		REG(".wh.never-existed", ""),
	};

	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_missing(fx, "a/x");
	assert_content(fx, "a/y", "y", 1);
	assert_missing(fx, "b");
	assert_missing(fx, "c");
	assert_missing(fx, "deep");
	assert_missing(fx, "ln");
	/* Whiteouts are never created, nor the directories holding them. */
	assert_missing(fx, "a/.wh.x");
	assert_missing(fx, "nope");
	assert_int_equal(dir_count(fx->root, NULL), 1);
}

static void
test_extract_opaque(void **state)
{
	struct fixture *fx = *state;
	const struct tent l1[] = {
		REG("o/old1", "1"),
		REG("o/sub/old2", "2"),
		SYM("o/ln", "/"),
		REG("keep", "k"),
	};
	const struct tent l2[] = {
		{ .name = "o/", .type = T_DIR, .mode = 0710 },
		REG("o/.wh..wh..opq", ""),
		REG("o/new", "n"),
		REG("fresh/.wh..wh..opq", ""),
	};
	char *o = stele_path_join(fx->root, "o");

	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_mode(fx, "o", S_IFDIR, 0710);
	assert_content(fx, "o/new", "n", 1);
	assert_int_equal(dir_count(o, "new"), 1);
	assert_content(fx, "keep", "k", 1);
	assert_missing(fx, "fresh");
	free(o);
}

static void
test_extract_opaque_root(void **state)
{
	struct fixture *fx = *state;
	const struct tent l1[] = {
		REG("old/file", "1"),
		SYM("ln", "old"),
		REG("top", "t"),
	};
	const struct tent l2[] = {
		REG(".wh..wh..opq", ""),
		REG("new", "n"),
	};

	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_int_equal(dir_count(fx->root, "new"), 1);
	assert_contained(fx);
}

static void
test_extract_hardlink_layers(void **state)
{
	struct fixture *fx = *state;
	const struct tent l1[] = {
		REG("lib/a.so", "code"),
		REG("bin/tool", "old tool"),
	};
	const struct tent l2[] = {
		HARD("bin/tool", "lib/a.so"),
		HARD("bin/again", "./lib/a.so"),
		HARD("lib/a.so", "lib/a.so"),
	};
	struct stat st;

	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_content(fx, "bin/tool", "code", 4);
	assert_int_equal(lstat_at(fx, "lib/a.so", &st), 0);
	assert_int_equal(st.st_nlink, 3);
}

static void
test_extract_utf8_names(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		REG("caf\xc3\xa9/na\xc3\xafve", "utf8"),
		REG("bin\xff\xfe", "not utf8"),
	};

	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		print_message("skip: no C.UTF-8 locale\n");
		skip();
	}
	setlocale(LC_CTYPE, "C");
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_content(fx, "caf\xc3\xa9/na\xc3\xafve", "utf8", 4);
	assert_content(fx, "bin\xff\xfe", "not utf8", 8);
}

static void
test_extract_deep_whiteout(void **state)
{
	struct fixture *fx = *state;
	char path[1024];
	size_t i, n = 0;
	const struct tent l2[] = { REG(".wh.a", "") };
	struct tent l1[1];

	for (i = 0; i < 150; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "a/");
	snprintf(path + n, sizeof(path) - n, "leaf");
	l1[0] = (struct tent)REG(path, "deep");
	assert_ok(extract(fx, l1, NELEM(l1), F_NONE, 0));
	assert_content(fx, path, "deep", 4);
	assert_ok(extract(fx, l2, NELEM(l2), F_NONE, 0));
	assert_missing(fx, "a");
}

static void
compressed(void **state, enum filter filter)
{
	struct fixture *fx = *state;
	size_t len = (1 << 20) + 123, i;
	char *big = stele_xmalloc(len);
	struct tent l[] = {
		DIR("dir/"),
		{ .name = "dir/big", .type = T_FILE, .mode = 0600 },
		REG("dir/small", "small"),
		REG("dir/empty", ""),
	};

	for (i = 0; i < len; i++)
		big[i] = (char)((i * 31 + i / 4099) & 0xff);
	l[1].data = big;
	l[1].len = len;
	assert_ok(extract(fx, l, NELEM(l), filter, 0));
	assert_mode(fx, "dir/big", S_IFREG, 0600);
	assert_content(fx, "dir/big", big, len);
	assert_content(fx, "dir/small", "small", 5);
	assert_content(fx, "dir/empty", "", 0);
	free(big);
}

static void
test_extract_uncompressed(void **state)
{
	compressed(state, F_NONE);
}

static void
test_extract_gzip(void **state)
{
	compressed(state, F_GZIP);
}

static void
test_extract_zstd(void **state)
{
	compressed(state, F_ZSTD);
}

static void
test_extract_devices_allowed(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		{ .name = "dev/null", .type = T_CHR, .mode = 0666 },
		{ .name = "dev/loop0", .type = T_BLK, .mode = 0660 },
	};
	struct stat st;
	int rc;

	rc = extract(fx, l, NELEM(l), F_NONE, STELE_EXTRACT_DEVICES);
	if (rc < 0 && strstr(stele_error_last(), "not permitted")) {
		print_message("skip: no CAP_MKNOD here\n");
		skip();
	}
	assert_ok(rc);
	assert_mode(fx, "dev/null", S_IFCHR, 0666);
	assert_int_equal(lstat_at(fx, "dev/null", &st), 0);
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_mode(fx, "dev/loop0", S_IFBLK, 0660);
}

static void
test_extract_truncated(void **state)
{
	struct fixture *fx = *state;
	char *path = stele_xasprintf("%s/layer0.tar", fx->layers);
	size_t len = 300000, i;
	char *data = stele_xmalloc(len);
	struct tent l[] = { REG("noise", NULL) };
	struct stat st;
	uint32_t r = 2463534242u;

	/* Incompressible, so that half the gzip stream ends mid-entry. */
	for (i = 0; i < len; i++) {
		r ^= r << 13;
		r ^= r >> 17;
		r ^= r << 5;
		data[i] = (char)(r >> 24);
	}
	l[0].data = data;
	l[0].len = len;
	layer_write(path, l, NELEM(l), F_GZIP);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_int_equal(stele_extract_file(path, fx->root, 0, NULL),
			 STELE_ERROR);
	if (!strstr(stele_error_last(), "entry 'noise'"))
		fail_msg("%s", stele_error_last());
	free(data);
	free(path);
}

static void
test_extract_errors(void **state)
{
	struct fixture *fx = *state;
	char *garbage = stele_path_join(fx->layers, "garbage");
	char *missing = stele_path_join(fx->parent, "missing");
	const char junk[] = "this is not a tar archive, not even close. ";
	int fd, i;

	assert_int_equal(stele_extract_file("/nonexistent/layer.tar",
					    fx->root, 0, NULL), STELE_ENOTFOUND);
	assert_non_null(strstr(stele_error_last(), "/nonexistent/layer.tar"));
	fd = open(garbage, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(write(fd, junk, sizeof(junk) - 1),
				 (ssize_t)sizeof(junk) - 1);
	close(fd);
	assert_true(stele_extract_file(garbage, fx->root, 0, NULL) < 0);
	assert_non_null(strstr(stele_error_last(), "layer '"));
	assert_int_equal(dir_count(fx->root, NULL), 0);
	fd = open(garbage, O_RDONLY);
	assert_true(stele_extract_fd(fd, missing, 0, "sha256:abc", NULL) < 0);
	assert_non_null(strstr(stele_error_last(), "layer 'sha256:abc'"));
	close(fd);
	free(garbage);
	free(missing);
}

/* --- limits (util/limits.h): each refused, then allowed when raised --- */

/*
 * A layer (pax, GNU sparse 1.0) of one sparse file of `size` bytes: "data"
 * then a hole.  (libarchive's writer takes data at logical offsets, so the
 * data region comes first.)
 */
static char *
sparse_layer_write(struct fixture *fx, la_int64_t size)
{
	char *path = stele_xasprintf("%s/layer%u.tar", fx->layers, fx->count++);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "hole");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_sparse_add_entry(e, 0, 4);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "data", 4), 4);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

static void
test_extract_sparse_bomb(void **state)
{
	struct fixture *fx = *state;
	const la_int64_t tib = 1ll << 40;
	char *path = sparse_layer_write(fx, tib);
	struct stat st;
	char buf[4];
	int fd;

	assert_int_equal(stele_extract_file(path, fx->root, 0, NULL),
			 STELE_EINVALID);
	if (!strstr(stele_error_last(), "entry 'hole': sparse file of 1 TiB "
		    "expands the layer past the max-size limit of 64 GiB"))
		fail_msg("%s", stele_error_last());
	assert_missing(fx, "hole");
	assert_contained(fx);
	/* Allowed, it stays sparse: only the data block is written. */
	fx->limits.max_size = 2 * tib;
	assert_ok(stele_extract_file(path, fx->root, 0, &fx->limits));
	assert_int_equal(lstat_at(fx, "hole", &st), 0);
	assert_true(st.st_size == tib);
	assert_true(st.st_blocks < 2048);
	fd = openat(fx->rootfd, "hole", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "data", 4);
	close(fd);
	free(path);
}

/* A ustar header, by hand: libarchive's writer drops a hardlink's data. */
static void
ustar_header(char h[512], const char *name, char type, const char *link,
	     unsigned long size)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf(h + 124, 12, "%011lo", size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
}

/*
 * Bytes libarchive skips by itself count too (here the 3 MiB of data a pax
 * hardlink entry carries, which nothing reads): the tar stream is bounded
 * by max-size, 2 KiB per allowed entry and 1 MiB.
 */
static void
test_extract_stream_bound(void **state)
{
	struct fixture *fx = *state;
	char *path = stele_xasprintf("%s/layer%u.tar", fx->layers, fx->count++);
	const unsigned long len = 3ul << 20;
	char h[512], *zeros = stele_xcalloc(1, len + 1024);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	ustar_header(h, "a", '0', NULL, 1);
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	memset(h, 0, 512);
	h[0] = 'a';
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	/* A pax size record: libarchive reads a pax hardlink's data. */
	ustar_header(h, "PaxHeader/b", 'x', NULL, 16);
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	memset(h, 0, 512);
	memcpy(h, "16 size=3145728\n", 16);
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	ustar_header(h, "b", '1', "a", len);
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	assert_int_equal(fwrite(zeros, 1, len, f), len);
	ustar_header(h, "c", '0', NULL, 0);
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	assert_int_equal(fwrite(zeros, 1, 1024, f), 1024);
	assert_int_equal(fclose(f), 0);
	fx->limits.max_size = 1024;
	fx->limits.max_entries = 3;
	if (stele_extract_file(path, fx->root, 0, &fx->limits) !=
	    STELE_EINVALID)
		fail_msg("not STELE_EINVALID: %s", stele_error_last());
	if (!strstr(stele_error_last(), "the tar stream is longer than "
		    "1031 KiB (max-size, plus 2048 bytes for each of "
		    "max-entries and 1 MiB)"))
		fail_msg("%s", stele_error_last());
	assert_missing(fx, "c");
	assert_contained(fx);
	fx->limits.max_size = 3ul << 20;
	assert_ok(stele_extract_file(path, fx->root, 0, &fx->limits));
	assert_content(fx, "c", "", 0);
	free(zeros);
	free(path);
}

static void
test_extract_max_size(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		REG("a", "123456"), HARD("a2", "a"), REG("b", "123456"),
	};

	fx->limits.max_size = 11;
	assert_rejected(fx, l, NELEM(l), "b",
			"file of 6 bytes expands the layer past the max-size "
			"limit of 11 bytes");
	assert_missing(fx, "b");
	/* A hardlink adds no content. */
	fx->limits.max_size = 12;
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_content(fx, "b", "123456", 6);
}

static void
test_extract_max_entries(void **state)
{
	struct fixture *fx = *state;
	const struct tent l[] = {
		DIR("d/"), REG("d/a", "a"), SYM("d/s", "a"), REG(".wh.x", ""),
	};

	fx->limits.max_entries = 3;
	assert_rejected(fx, l, NELEM(l), ".wh.x",
			"more than 3 entries (the max-entries limit)");
	fx->limits.max_entries = 4;
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_content(fx, "d/a", "a", 1);
}

static void
test_extract_max_names(void **state)
{
	struct fixture *fx = *state;
	char n1[300], n2[300];
	const struct tent l[] = { REG(n1, "1"), REG(n2, "2") };

	memset(n1, 'a', sizeof(n1) - 1);
	n1[sizeof(n1) - 1] = '\0';
	n1[200] = '/';
	memcpy(n2, n1, sizeof(n2));
	n2[0] = 'b';
	/* Two entries allowed: 512 bytes of names; these take 598. */
	fx->limits.max_entries = 2;
	assert_int_equal(extract(fx, l, NELEM(l), F_NONE, 0), STELE_EINVALID);
	if (!strstr(stele_error_last(), "entry 'baaa") ||
	    !strstr(stele_error_last(), "entry names total more than 512 "
		    "bytes (256 bytes for each of max-entries)"))
		fail_msg("%s", stele_error_last());
	assert_contained(fx);
	fx->limits.max_entries = 3;
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_content(fx, n2, "2", 1);
}

static void
test_extract_depth(void **state)
{
	struct fixture *fx = *state;
	char path[1024];
	size_t i, n = 0;
	struct tent l[1];

	for (i = 0; i < 255; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "d/");
	snprintf(path + n, sizeof(path) - n, "f");
	l[0] = (struct tent)REG(path, "256 deep");
	assert_ok(extract(fx, l, NELEM(l), F_NONE, 0));
	assert_content(fx, path, "256 deep", 8);
	snprintf(path + n, sizeof(path) - n, "d/f");
	assert_int_equal(extract(fx, l, NELEM(l), F_NONE, 0), STELE_EINVALID);
	if (!strstr(stele_error_last(), "entry 'd/d/d/") ||
	    !strstr(stele_error_last(), "path is nested deeper than 256 "
		    "directories"))
		fail_msg("%s", stele_error_last());
	assert_contained(fx);
	assert_missing(fx, path);
}

static void
test_extract_long_symlink(void **state)
{
	char target[4097];
	const struct tent l[] = { SYM("link", target) };

	memset(target, 'a', sizeof(target) - 1);
	target[sizeof(target) - 1] = '\0';
	assert_rejected(*state, l, NELEM(l), "link",
			"symlink target is longer than 4095 bytes");
	assert_missing(*state, "link");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_extract_dotdot),
		T(test_extract_absolute),
		T(test_extract_inner_dotdot),
		T(test_extract_dotdot_dir),
		T(test_extract_symlink_then_file),
		T(test_extract_symlink_then_dir),
		T(test_extract_symlink_dotdot),
		T(test_extract_hardlink_absolute),
		T(test_extract_hardlink_dotdot),
		T(test_extract_hardlink_missing),
		T(test_extract_hardlink_dir),
		T(test_extract_hardlink_symlink),
		T(test_extract_chardev),
		T(test_extract_blockdev),
		T(test_extract_bad_whiteout),
		T(test_extract_whiteout_through_symlink),
		T(test_extract_empty_name),
		T(test_extract_not_a_dir),
		T(test_extract_long_name),
		T(test_extract_basic),
		T(test_extract_owner),
		T(test_extract_replace),
		T(test_extract_whiteout),
		T(test_extract_opaque),
		T(test_extract_opaque_root),
		T(test_extract_hardlink_layers),
		T(test_extract_utf8_names),
		T(test_extract_deep_whiteout),
		T(test_extract_uncompressed),
		T(test_extract_gzip),
		T(test_extract_zstd),
		T(test_extract_devices_allowed),
		T(test_extract_truncated),
		T(test_extract_errors),
		T(test_extract_sparse_bomb),
		T(test_extract_max_size),
		T(test_extract_stream_bound),
		T(test_extract_max_entries),
		T(test_extract_max_names),
		T(test_extract_depth),
		T(test_extract_long_symlink),
#undef T
	};

	umask(022);
	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests_name("extract", tests, NULL, NULL);
}
