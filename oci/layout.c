#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/hashpipe.h"
#include "oci/layout.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"manifests\":[],\"schemaVersion\":2}"
/* In each staging directory; skipped by move_staged() (a dot file). */
#define TXN_LOCK ".lock"
/* Rounds of "the layout was undone while we waited for its lock". */
#define LOCK_TRIES 100

struct unsynced {
	pthread_t thread;
	int started;
	int fd;
	int err; /* fsync's errno, or 0; the thread's until joined */
	char *path;
};

struct stele_txn {
	struct stele_oci *oci;
	char *stage; /* staging directory */
	int lockfd; /* holds the flock on stage/.lock */
	json_t *changes; /* [refname|null, desc], or an annotation object */
	int committed;
	/* Staged blobs being fsynced on a thread of their own
	 * (stele_txn_blob_new_async), joined before anything uses them. */
	struct unsynced **unsynced;
	size_t nunsynced;
	struct unsynced *failed; /* the first that could not be synced */
};

struct stele_blob_writer {
	struct stele_txn *txn;
	char *tmp;
	int fd;
	struct stele_sha256 h; /* unused with a pipe */
	/* stele_txn_blob_new_async: hashes and writes on its thread. */
	struct stele_hashpipe *pipe;
	/* With a pipe (set before it starts; then its thread's): the bytes
	 * written, and how many of them the kernel was asked to start
	 * writing back (blob_put). */
	int writeback;
	uint64_t written, started;
	/* Otherwise small writes are gathered here (WRITE_BUF bytes). */
	char *buf;
	size_t used;
};

/*
 * One write(2) and one hash update per 64 KiB, not per call: a registry
 * hands a blob over in libcurl's chunks of up to 16 KiB.  (An async
 * writer's pipe gathers into chunks of its own.)
 */
#define WRITE_BUF (64u << 10)

void
stele_oci_free(struct stele_oci *oci)
{
	if (!oci)
		return;
	free(oci->dir);
	free(oci);
}

/*
 * flock the directory `dir` (no message: errno says why).  The directory
 * locked must still be the one at `dir` afterwards: a layout undone while
 * we waited (remove_new_layout) is gone, or made anew by another process,
 * and the lock is taken on that one instead.
 */
static int
lock_dir(const char *dir, int op)
{
	struct stat a, b;
	int fd, i, e;

	for (i = 0; i < LOCK_TRIES; i++) {
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -1;
		if (flock(fd, op) < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(dir, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = ESTALE;
	return -1;
}

/* The layout lock; with `create`, a missing directory is made first. */
static int
layout_lock(int *fd, const char *dir, int op, int create)
{
	int i, error;

	for (i = 0; i < LOCK_TRIES; i++) {
		if (create && (error = stele_fs_mkdir_p(dir, 0755)) < 0)
			return error;
		if ((*fd = lock_dir(dir, op)) >= 0)
			return 0;
		if (errno != ENOENT || !create)
			break;
	}
	if (errno == ENOENT)
		return stele_error_setc(
			STELE_ENOTFOUND,
			"'%s' is not an OCI image layout (no such directory)",
			dir);
	return stele_error_errno("cannot lock '%s'", dir);
}

int
stele_oci_lock(int *fd, const struct stele_oci *oci, int exclusive)
{
	return layout_lock(fd, oci->dir, exclusive ? LOCK_EX : LOCK_SH, 0);
}

void
stele_oci_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * Make what is missing of a layout; *made when this call wrote oci-layout.
 * Under the exclusive layout lock, so that two processes making one store
 * never write index.json over each other's first commit.
 */
static int
layout_make(int *made, const char *dir)
{
	char *p = stele_path_join(dir, "blobs/sha256");
	int error;

	*made = 0;
	if ((error = stele_fs_mkdir_p(p, 0755)) < 0)
		goto out;
	free(p);
	p = stele_path_join(dir, "index.json");
	if (!stele_fs_exists(p) &&
	    (error = stele_fs_write_atomic(p, EMPTY_INDEX, strlen(EMPTY_INDEX),
					   0644)) < 0)
		goto out;
	free(p);
	p = stele_path_join(dir, "oci-layout");
	if (!stele_fs_exists(p)) {
		if ((error = stele_fs_write_atomic(
			     p, LAYOUT_FILE, strlen(LAYOUT_FILE), 0644)) < 0)
			goto out;
		*made = 1;
	}
out:
	free(p);
	return error;
}

int
stele_oci_open(struct stele_oci **out, const char *dir, int create)
{
	struct stele_oci *oci;
	char *p = NULL;
	struct stele_buf b = STELE_BUF_INIT(4096);
	int lockfd = -1, made = 0, error = 0;

	*out = NULL;
	p = stele_path_join(dir, "oci-layout");
	if (!stele_fs_exists(p)) {
		if (!create) {
			error = stele_error_setc(
				STELE_ENOTFOUND,
				"'%s' is not an OCI image layout (no oci-layout file)",
				dir);
			goto out;
		}
		if ((error = layout_lock(&lockfd, dir, LOCK_EX, 1)) < 0 ||
		    (error = layout_make(&made, dir)) < 0)
			goto out;
	} else {
		if ((error = stele_fs_read(&b, p)) < 0)
			goto out;
		if (!strstr(stele_buf_cstr(&b), "\"imageLayoutVersion\"")) {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s' has an invalid oci-layout file", dir);
			goto out;
		}
	}
	oci = stele_xcalloc(1, sizeof(*oci));
	oci->dir = stele_xstrdup(dir);
	oci->create = create;
	oci->created = made;
	*out = oci;
out:
	stele_oci_unlock(lockfd);
	stele_buf_release(&b);
	free(p);
	return error;
}

char *
stele_oci_blob_path(const struct stele_oci *oci, const char *digest)
{
	return stele_xasprintf("%s/blobs/sha256/%s", oci->dir, digest + 7);
}

int
stele_oci_blob_exists(const struct stele_oci *oci, const char *digest)
{
	char *p;
	int r;

	if (stele_digest_validate(digest) < 0)
		return 0;
	p = stele_oci_blob_path(oci, digest);
	r = stele_fs_exists(p);
	free(p);
	return r;
}

int
stele_oci_blob_open(int *fd, const struct stele_oci *oci, const char *digest)
{
	char *p;
	int error = 0;

	*fd = -1;
	if ((error = stele_digest_validate(digest)) < 0)
		return error;
	p = stele_oci_blob_path(oci, digest);
	if ((*fd = open(p, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			error = stele_error_setc(STELE_ENOTFOUND,
						 "blob %s is missing from '%s'",
						 digest, oci->dir);
		else
			error = stele_error_errno("cannot open blob '%s'", p);
	}
	free(p);
	return error;
}

int
stele_oci_blob_read(struct stele_buf *out, const struct stele_oci *oci,
		    const char *digest)
{
	char *p;
	int error;

	if ((error = stele_digest_validate(digest)) < 0)
		return error;
	p = stele_oci_blob_path(oci, digest);
	error = stele_fs_read(out, p);
	free(p);
	if (error == STELE_ENOTFOUND)
		return stele_error_setc(STELE_ENOTFOUND,
					"blob %s is missing from '%s'", digest,
					oci->dir);
	if (error < 0)
		return error;
	if ((error = stele_digest_check(digest, out->ptr, out->len)) < 0)
		return stele_error_prefix(error, "blob in '%s' is corrupt",
					  oci->dir);
	return 0;
}

int
stele_oci_json_read(json_t **out, uint64_t *size, const struct stele_oci *oci,
		    const char *digest)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	int error;

	*out = NULL;
	if ((error = stele_oci_blob_read(&b, oci, digest)) == 0)
		error = stele_json_parse(out, b.ptr, b.len, digest);
	if (!error && size)
		*size = b.len;
	stele_buf_release(&b);
	return error;
}

int
stele_oci_index_load(json_t **out, const struct stele_oci *oci)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char *p = stele_path_join(oci->dir, "index.json");
	json_t *idx = NULL;
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, p)) < 0 ||
	    (error = stele_json_parse(&idx, b.ptr, b.len, p)) < 0)
		goto out;
	if (!json_is_array(json_object_get(idx, "manifests"))) {
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' has no manifests array", p);
		goto out;
	}
	*out = idx;
	idx = NULL;
out:
	json_decref(idx);
	free(p);
	stele_buf_release(&b);
	return error;
}

int
stele_oci_resolve(json_t **out, const struct stele_oci *oci,
		  const char *refname, const char *digest)
{
	json_t *idx, *m, *found = NULL;
	size_t i;
	int error;

	*out = NULL;
	if ((error = stele_oci_index_load(&idx, oci)) < 0)
		return error;
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *d = stele_json_str(m, "digest");
		const char *n = stele_json_str(
			json_object_get(m, "annotations"), STELE_ANN_REFNAME);

		if (digest ? (d && !strcmp(d, digest))
			   : (n && refname && !strcmp(n, refname))) {
			found = m;
			break;
		}
	}
	if (!found && digest && stele_oci_blob_exists(oci, digest)) {
		/* A manifest not listed in the index (e.g. a child). */
		found = stele_descriptor(STELE_MT_MANIFEST, digest, 0);
		json_decref(found);
	}
	if (!found) {
		error = stele_error_setc(STELE_ENOTFOUND,
					 "image '%s' not found in '%s'",
					 digest            ? digest
						 : refname ? refname
							   : "(none)",
					 oci->dir);
		goto out;
	}
	*out = json_deep_copy(found);
out:
	json_decref(idx);
	return error;
}

json_t *
stele_descriptor(const char *media_type, const char *digest, uint64_t size)
{
	return json_pack("{s:s,s:s,s:I}", "mediaType", media_type, "digest",
			 digest, "size", (json_int_t)size);
}

/*
 * The layout lock for setting up a transaction, shared.  A layout undone
 * meanwhile by the process that made it (remove_new_layout) is made again
 * when this handle was opened with create, else it is STELE_ENOTFOUND.
 */
static int
begin_lock(int *fd, struct stele_oci *oci)
{
	char *p = stele_path_join(oci->dir, "oci-layout");
	int made, error;

	if ((error = layout_lock(fd, oci->dir, LOCK_SH, oci->create)) < 0 ||
	    stele_fs_exists(p))
		goto out;
	stele_oci_unlock(*fd);
	*fd = -1;
	if (!oci->create) {
		error = stele_error_setc(
			STELE_ENOTFOUND,
			"'%s' is not an OCI image layout (no oci-layout file)",
			oci->dir);
		goto out;
	}
	if ((error = layout_lock(fd, oci->dir, LOCK_EX, 1)) < 0 ||
	    (error = layout_make(&made, oci->dir)) < 0)
		goto out;
	if (made)
		oci->created = 1;
out:
	if (error < 0) {
		stele_oci_unlock(*fd);
		*fd = -1;
	}
	free(p);
	return error;
}

/*
 * A new staging directory whose .lock this process holds.  Under the
 * layout lock: a prune (exclusive) never sees it half made, and
 * .stele-tmp is never removed between its mkdir and the mkdtemp.
 */
static int
make_stage(char **out, int *lockfd, const struct stele_oci *oci)
{
	char *tmpdir = stele_path_join(oci->dir, STELE_TEMP_DIR);
	char *stage = stele_xasprintf("%s/txn-XXXXXX", tmpdir), *lock = NULL;
	int error = 0;

	*out = NULL;
	*lockfd = -1;
	if (mkdir(tmpdir, 0755) < 0 && errno != EEXIST) {
		error = stele_error_errno("cannot create '%s'", tmpdir);
		goto out;
	}
	if (!mkdtemp(stage)) {
		error = stele_error_errno("cannot create '%s'", stage);
		goto out;
	}
	lock = stele_path_join(stage, TXN_LOCK);
	if ((*lockfd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644)) < 0 ||
	    flock(*lockfd, LOCK_EX | LOCK_NB) < 0) {
		error = stele_error_errno("cannot lock '%s'", lock);
		if (*lockfd >= 0)
			close(*lockfd);
		*lockfd = -1;
		stele_fs_rm_rf(stage);
		goto out;
	}
	*out = stage;
	stage = NULL;
out:
	free(lock);
	free(stage);
	free(tmpdir);
	return error;
}

int
stele_txn_begin(struct stele_txn **out, struct stele_oci *oci)
{
	struct stele_txn *txn;
	char *stage = NULL;
	int layoutfd = -1, txnfd = -1, error;

	*out = NULL;
	if ((error = begin_lock(&layoutfd, oci)) < 0)
		return error;
	error = make_stage(&stage, &txnfd, oci);
	stele_oci_unlock(layoutfd);
	if (error < 0)
		return error;
	txn = stele_xcalloc(1, sizeof(*txn));
	txn->oci = oci;
	txn->stage = stage;
	txn->lockfd = txnfd;
	txn->changes = json_array();
	*out = txn;
	return 0;
}

int
stele_oci_staging_in_use(const char *path)
{
	char *p = stele_path_join(path, TXN_LOCK);
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), busy = 0;

	free(p);
	if (fd < 0)
		return 0; /* not a staging directory, or one never locked */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		busy = 1;
	close(fd);
	return busy;
}

json_t *
stele_oci_staging_leftovers(const struct stele_oci *oci)
{
	char *dir = stele_path_join(oci->dir, STELE_TEMP_DIR);
	json_t *out = json_array();
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = stele_path_join(dir, de->d_name);
		/* A running transaction's, not a leftover. */
		if (!stele_oci_staging_in_use(p))
			json_array_append_new(out, json_string(p));
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
	return out;
}

/*
 * Undo a layout this process made and never committed to, unless anyone
 * else put anything in it meanwhile: a staging directory (a live
 * transaction of another process), a blob or an index entry.  Under the
 * exclusive layout lock; a process that waits for it finds the directory
 * gone and makes the layout again (begin_lock).
 */
static void
remove_new_layout(struct stele_oci *oci)
{
	static const char *const parts[] = { "blobs/sha256", "blobs",
					     "oci-layout", "index.json" };
	json_t *idx = NULL;
	size_t i;

	if (stele_oci_index_load(&idx, oci) < 0 ||
	    json_array_size(json_object_get(idx, "manifests"))) {
		json_decref(idx);
		return;
	}
	json_decref(idx);
	for (i = 0; i < sizeof(parts) / sizeof(*parts); i++) {
		char *p = stele_path_join(oci->dir, parts[i]);

		/* rmdir and unlink, never rm -rf: a blob stops it here. */
		if ((i < 2 ? rmdir(p) : unlink(p)) < 0 && errno != ENOENT) {
			free(p);
			return;
		}
		free(p);
	}
	rmdir(oci->dir);
}

/*
 * After a transaction: .stele-tmp goes when empty, and so does a layout
 * made by this process and never committed to.  The caller's error
 * message (this runs on failure paths) is kept.
 */
static void
tidy_layout(struct stele_oci *oci, int undo)
{
	char saved[STELE_ERROR_MAX];
	char *tmpdir;
	int fd;

	snprintf(saved, sizeof(saved), "%s", stele_error_last());
	if ((fd = lock_dir(oci->dir, LOCK_EX)) < 0)
		return;
	tmpdir = stele_path_join(oci->dir, STELE_TEMP_DIR);
	if ((rmdir(tmpdir) == 0 || errno == ENOENT) && undo)
		remove_new_layout(oci);
	free(tmpdir);
	close(fd);
	stele_error_set("%s", saved);
}

/* fsync on a thread: the disk takes its time while the build goes on. */
static void *
sync_main(void *arg)
{
	struct unsynced *u = arg;

	u->err = fsync(u->fd) < 0 ? errno : 0;
	return NULL;
}

static void
unsynced_free(struct unsynced *u)
{
	if (!u)
		return;
	free(u->path);
	free(u);
}

/*
 * Wait for the blobs being fsynced (stele_txn_blob_new_async); txn_sync
 * returns 0 when all are on disk.  A failure sticks: every later
 * txn_sync (the commit's too) fails the same way.
 */
static void
txn_join(struct stele_txn *txn)
{
	while (txn->nunsynced) {
		struct unsynced *u = txn->unsynced[--txn->nunsynced];

		if (u->started)
			pthread_join(u->thread, NULL);
		close(u->fd);
		if (u->err && !txn->failed) {
			txn->failed = u;
			continue;
		}
		unsynced_free(u);
	}
}

static int
txn_sync(struct stele_txn *txn)
{
	txn_join(txn);
	if (!txn->failed)
		return 0;
	errno = txn->failed->err;
	return stele_error_errno("cannot write blob '%s'", txn->failed->path);
}

void
stele_txn_free(struct stele_txn *txn)
{
	if (!txn)
		return;
	/* No message: the caller's, if any, stands. */
	txn_join(txn);
	unsynced_free(txn->failed);
	free(txn->unsynced);
	/* Removed while still locked: a prune never takes it for a leftover. */
	stele_fs_rm_rf(txn->stage);
	if (txn->lockfd >= 0)
		close(txn->lockfd);
	tidy_layout(txn->oci, !txn->committed && txn->oci->created);
	free(txn->stage);
	json_decref(txn->changes);
	free(txn);
}

struct stele_oci *
stele_txn_oci(struct stele_txn *txn)
{
	return txn->oci;
}

/*
 * Write to the file: 0, or an errno value (no message: it may run on a
 * pipe's thread).  On a pipe (a layer, large), the kernel is asked to
 * start writing back each WRITEBACK bytes as they are written, so the
 * commit's fsync waits for the last of them, not for the whole blob
 * (for a 224 MB layer: 80-90 ms at the end of the build otherwise).
 */
#define WRITEBACK (8u << 20)

static int
blob_put(void *payload, const void *data, size_t len)
{
	struct stele_blob_writer *w = payload;

	if (stele_fs_write_all(w->fd, data, len) < 0)
		return errno ? errno : EIO;
	w->written += len;
#ifdef SYNC_FILE_RANGE_WRITE
	if (w->writeback && w->written - w->started >= WRITEBACK) {
		/* A hint: a failure here is fsync's to report. */
		(void)sync_file_range(w->fd, (off_t)w->started,
				      (off_t)(w->written - w->started),
				      SYNC_FILE_RANGE_WRITE);
		w->started = w->written;
	}
#endif
	return 0;
}

static int
blob_new(struct stele_blob_writer **out, struct stele_txn *txn, int async)
{
	struct stele_blob_writer *w = stele_xcalloc(1, sizeof(*w));
	int error;

	*out = NULL;
	w->txn = txn;
	w->tmp = stele_xasprintf("%s/blob-XXXXXX", txn->stage);
	if ((w->fd = mkostemp(w->tmp, O_CLOEXEC)) < 0) {
		error = stele_error_errno("cannot create '%s'", w->tmp);
		free(w->tmp);
		free(w);
		return error;
	}
	fchmod(w->fd, 0644);
	w->writeback = async;
	if ((error = async ? stele_hashpipe_start_then(&w->pipe, blob_put, w)
			   : stele_sha256_init(&w->h)) < 0) {
		stele_blob_writer_free(w);
		return error;
	}
	*out = w;
	return 0;
}

int
stele_txn_blob_new(struct stele_blob_writer **out, struct stele_txn *txn)
{
	return blob_new(out, txn, 0);
}

int
stele_txn_blob_new_async(struct stele_blob_writer **out, struct stele_txn *txn)
{
	return blob_new(out, txn, 1);
}

/* Hash and write `len` bytes at `data` (the gathered ones or the
 * caller's). */
static int
blob_out(struct stele_blob_writer *w, const void *data, size_t len)
{
	int err;

	stele_sha256_update(&w->h, data, len);
	if ((err = blob_put(w, data, len)) != 0) {
		errno = err;
		return stele_error_errno("cannot write blob '%s'", w->tmp);
	}
	return 0;
}

static int
blob_flush(struct stele_blob_writer *w)
{
	size_t n = w->used;

	w->used = 0;
	return n ? blob_out(w, w->buf, n) : 0;
}

int
stele_blob_writer_write(struct stele_blob_writer *w, const void *data,
			size_t len)
{
	int error;

	if (w->pipe) {
		stele_hashpipe_write(w->pipe, data, len);
		return 0;
	}
	if (w->used + len > WRITE_BUF && (error = blob_flush(w)) < 0)
		return error;
	if (len >= WRITE_BUF)
		return blob_out(w, data, len);
	if (!w->buf)
		w->buf = stele_xmalloc(WRITE_BUF);
	memcpy(w->buf + w->used, data, len);
	w->used += len;
	return 0;
}

void
stele_blob_writer_free(struct stele_blob_writer *w)
{
	if (!w)
		return;
	/* The thread writes to the file: stopped first. */
	stele_hashpipe_free(w->pipe);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	if (w->h.ctx)
		stele_sha256_release(&w->h);
	free(w->buf);
	free(w->tmp);
	free(w);
}

int
stele_blob_writer_commit(struct stele_blob_writer *w,
			 char digest[STELE_DIGEST_STRLEN], uint64_t *size)
{
	char *dst = NULL;
	int deferred = w->pipe != NULL, error = 0, err;

	if (deferred) {
		err = stele_hashpipe_finish(w->pipe, digest, size);
		w->pipe = NULL;
		if (err) {
			errno = err;
			error = stele_error_errno("cannot write blob '%s'",
						  w->tmp);
			goto out;
		}
	} else {
		if ((error = blob_flush(w)) < 0)
			goto out;
		if (size)
			*size = w->h.size;
		stele_sha256_final(&w->h, digest);
		if (fsync(w->fd) < 0) {
			error = stele_error_errno("cannot write blob '%s'",
						  w->tmp);
			goto out;
		}
	}
	dst = stele_xasprintf("%s/%s", w->txn->stage, digest + 7);
	if (rename(w->tmp, dst) < 0) {
		error = stele_error_errno("cannot stage blob '%s'", dst);
		goto out;
	}
	free(w->tmp);
	w->tmp = NULL;
	if (deferred) {
		/*
		 * A large blob is fsynced on a thread while the build goes
		 * on (its file system work and the disk's took 80-90 ms for
		 * a 196 MB layer); stele_txn_commit, or a stele_txn_stage_from
		 * of it, waits for it.  Without a thread: here.
		 */
		struct stele_txn *txn = w->txn;
		struct unsynced *u = stele_xcalloc(1, sizeof(*u));

		u->fd = w->fd;
		u->path = dst;
		w->fd = -1;
		dst = NULL;
		u->started =
			pthread_create(&u->thread, NULL, sync_main, u) == 0;
		if (!u->started)
			sync_main(u);
		txn->unsynced = stele_xrealloc(txn->unsynced,
					       (txn->nunsynced + 1) *
						       sizeof(*txn->unsynced));
		txn->unsynced[txn->nunsynced++] = u;
	}
out:
	free(dst);
	stele_blob_writer_free(w);
	return error;
}

int
stele_txn_put_blob(struct stele_txn *txn, const void *data, size_t len,
		   char digest[STELE_DIGEST_STRLEN])
{
	struct stele_blob_writer *w;
	int error;

	if ((error = stele_txn_blob_new(&w, txn)) < 0)
		return error;
	if ((error = stele_blob_writer_write(w, data, len)) < 0) {
		stele_blob_writer_free(w);
		return error;
	}
	return stele_blob_writer_commit(w, digest, NULL);
}

int
stele_txn_hold_blob(struct stele_txn *txn, const char *digest)
{
	char *staged, *stored;
	int r = 1;

	if (!digest || stele_digest_validate(digest) < 0)
		return 0;
	staged = stele_xasprintf("%s/%s", txn->stage, digest + 7);
	stored = stele_oci_blob_path(txn->oci, digest);
	if (!stele_fs_exists(staged) && link(stored, staged) < 0 &&
	    errno != EEXIST)
		/* Absent; or a file system without hard links: present then
		 * is the best that can be said. */
		r = errno == ENOENT ? 0 : stele_fs_exists(stored);
	free(stored);
	free(staged);
	return r;
}

char *
stele_txn_blob_path(struct stele_txn *txn, const char *digest)
{
	char *p = stele_xasprintf("%s/%s", txn->stage, digest + 7);

	if (stele_fs_exists(p))
		return p;
	free(p);
	return stele_oci_blob_path(txn->oci, digest);
}

int
stele_txn_stage_file(struct stele_txn *txn, const char *from,
		     const char *digest)
{
	char got[STELE_DIGEST_STRLEN];
	char *staged;
	int error;

	if (stele_txn_hold_blob(txn, digest))
		return 0;
	staged = stele_xasprintf("%s/%s", txn->stage, digest + 7);
	/* A hard link where the file systems allow, else a copy. */
	if (link(from, staged) < 0 &&
	    (error = stele_fs_copy_file(from, staged, 0644)) < 0)
		goto out;
	if ((error = stele_digest_file(got, NULL, staged)) < 0)
		goto out;
	if (strcmp(got, digest)) {
		unlink(staged);
		error = stele_error_setc(
			STELE_EVERIFY,
			"blob %s at '%s' is corrupt (content hashes to %s)",
			digest, from, got);
	}
out:
	free(staged);
	return error;
}

int
stele_txn_stage_from(struct stele_txn *txn, struct stele_txn *from,
		     const char *digest)
{
	char *src, *staged;
	int error = 0;

	if (stele_txn_hold_blob(txn, digest))
		return 0;
	/* Durable before `txn` can commit it. */
	if ((error = txn_sync(from)) < 0)
		return error;
	src = stele_txn_blob_path(from, digest);
	staged = stele_xasprintf("%s/%s", txn->stage, digest + 7);
	if (link(src, staged) < 0)
		error = stele_txn_stage_file(txn, src, digest);
	free(staged);
	free(src);
	return error;
}

int
stele_txn_copy_blob(struct stele_txn *txn, const struct stele_oci *src,
		    const char *digest)
{
	char *from = stele_oci_blob_path(src, digest);
	int error = stele_txn_stage_file(txn, from, digest);

	free(from);
	return error;
}

int
stele_txn_index_add(struct stele_txn *txn, const char *refname,
		    const json_t *desc)
{
	json_array_append_new(txn->changes,
			      json_pack("[s?,O]", refname, (json_t *)desc));
	return 0;
}

int
stele_txn_index_annotate(struct stele_txn *txn, const char *refname,
			 const char *digest, const char *key, const char *value)
{
	json_array_append_new(txn->changes,
			      json_pack("{s:s,s:s,s:s,s:s}", "refname", refname,
					"digest", digest, "key", key, "value",
					value));
	return 0;
}

/* An annotation change (stele_txn_index_annotate), against the index as it
 * is at commit. */
static void
index_annotate(json_t *manifests, const json_t *ch)
{
	const char *refname = stele_json_str(ch, "refname");
	const char *digest = stele_json_str(ch, "digest");
	json_t *m, *ann;
	size_t i;

	json_array_foreach(manifests, i, m) {
		const char *n = stele_json_str(
			json_object_get(m, "annotations"), STELE_ANN_REFNAME);
		const char *d = stele_json_str(m, "digest");

		if (!n || strcmp(n, refname) || !d || strcmp(d, digest))
			continue;
		if (!json_is_object(ann = json_object_get(m, "annotations")))
			continue;
		json_object_set_new(ann, stele_json_str(ch, "key"),
				    json_string(stele_json_str(ch, "value")));
		return;
	}
}

static int
index_apply(json_t *manifests, const char *refname, const json_t *desc)
{
	const char *digest = stele_json_str(desc, "digest");
	json_t *copy = json_deep_copy(desc), *m;
	size_t i;

	if (refname) {
		json_t *ann = json_object_get(copy, "annotations");

		if (!ann) {
			ann = json_object();
			json_object_set_new(copy, "annotations", ann);
		}
		json_object_set_new(ann, STELE_ANN_REFNAME,
				    json_string(refname));
	}
	json_array_foreach(manifests, i, m) {
		const char *n = stele_json_str(
			json_object_get(m, "annotations"), STELE_ANN_REFNAME);
		const char *d = stele_json_str(m, "digest");

		if (refname ? (n && !strcmp(n, refname))
			    : (!n && d && !strcmp(d, digest))) {
			json_array_set_new(manifests, i, copy);
			return 0;
		}
	}
	json_array_append_new(manifests, copy);
	return 0;
}

static int
move_staged(struct stele_txn *txn)
{
	char *blobs = stele_path_join(txn->oci->dir, "blobs/sha256");
	int error = 0;
	DIR *d = opendir(txn->stage);
	struct dirent *de;

	if (!d) {
		free(blobs);
		return stele_error_errno("cannot read '%s'", txn->stage);
	}
	while ((de = readdir(d))) {
		char *src, *dst;

		if (de->d_name[0] == '.' || !strncmp(de->d_name, "blob-", 5))
			continue;
		src = stele_path_join(txn->stage, de->d_name);
		dst = stele_path_join(blobs, de->d_name);
		if (rename(src, dst) < 0)
			error = stele_error_errno("cannot move blob into '%s'",
						  dst);
		free(src);
		free(dst);
		if (error)
			break;
	}
	closedir(d);
	if (!error)
		error = stele_fs_sync_dir(blobs);
	free(blobs);
	return error;
}

int
stele_txn_commit(struct stele_txn *txn)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char *ipath = stele_path_join(txn->oci->dir, "index.json");
	json_t *idx = NULL, *ch;
	size_t i;
	int lockfd = -1, error;

	if ((error = txn_sync(txn)) < 0 ||
	    (error = layout_lock(&lockfd, txn->oci->dir, LOCK_EX, 0)) < 0)
		goto out;
	/* Blobs first: an index entry must never point at a missing blob. */
	if ((error = move_staged(txn)) < 0 ||
	    (error = stele_oci_index_load(&idx, txn->oci)) < 0)
		goto out;
	json_array_foreach(txn->changes, i, ch) {
		if (json_is_object(ch))
			index_annotate(json_object_get(idx, "manifests"), ch);
		else
			index_apply(json_object_get(idx, "manifests"),
				    json_string_value(json_array_get(ch, 0)),
				    json_array_get(ch, 1));
	}
	if ((error = stele_json_emit(&b, idx)) < 0 ||
	    (error = stele_fs_write_atomic(ipath, b.ptr, b.len, 0644)) < 0)
		goto out;
	txn->committed = 1;
	txn->oci->created = 0;
out:
	stele_oci_unlock(lockfd);
	json_decref(idx);
	stele_buf_release(&b);
	free(ipath);
	return error;
}
