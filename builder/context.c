#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/lazy.h"

#include "builder/context.h"
#include "builder/ignore.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/root.h"

#define IGNORE_MAX (1u << 20)

struct stele_context {
	enum stele_context_kind kind;
	char *dir; /* DIR, ROOTFS */
	struct stele_git_source *git; /* GIT */
	struct stele_ignore *ignore;
	/* The last parent directory resolved, and what it resolved to: a
	 * COPY of a tree stats every child of one directory in a row. */
	char *memo_in, *memo_out;
};

void
stele_ctx_stat_release(struct stele_ctx_stat *st)
{
	free(st->link);
	free(st->src);
	st->link = st->src = NULL;
}

enum stele_context_kind
stele_context_kind(const struct stele_context *ctx)
{
	return ctx->kind;
}

static int
open_host(struct stele_context **out, const char *dir,
	  enum stele_context_kind kind)
{
	struct stele_context *ctx;
	struct stat st;
	struct stele_buf b = STELE_BUF_INIT(IGNORE_MAX);
	char *p;
	int error;

	*out = NULL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return stele_error_setc(STELE_ENOTFOUND,
					"build context '%s' is not a directory",
					dir);
	ctx = stele_xcalloc(1, sizeof(*ctx));
	ctx->kind = kind;
	ctx->dir = stele_xstrdup(dir);
	if (kind == STELE_CONTEXT_DIR) {
		p = stele_path_join(dir, ".dockerignore");
		error = stele_fs_read(&b, p);
		if (!error)
			error = stele_ignore_parse(
				&ctx->ignore, b.ptr ? b.ptr : "", b.len, p);
		else if (error == STELE_ENOTFOUND)
			error = 0;
		free(p);
		stele_buf_release(&b);
		if (error < 0) {
			stele_context_free(ctx);
			return error;
		}
	}
	*out = ctx;
	return 0;
}

int
stele_context_open_dir(struct stele_context **out, const char *dir)
{
	return open_host(out, dir, STELE_CONTEXT_DIR);
}

int
stele_context_open_rootfs(struct stele_context **out, const char *dir)
{
	return open_host(out, dir, STELE_CONTEXT_ROOTFS);
}

int
stele_context_open_git(struct stele_context **out, struct stele_git_source *src)
{
	struct stele_context *ctx = stele_xcalloc(1, sizeof(*ctx));
	struct stele_buf b = STELE_BUF_INIT(IGNORE_MAX);
	int error;

	*out = NULL;
	ctx->kind = STELE_CONTEXT_GIT;
	ctx->git = src;
	error = stele_context_read(&b, ctx, ".dockerignore");
	if (!error)
		error = stele_ignore_parse(&ctx->ignore, b.ptr ? b.ptr : "",
					   b.len, ".dockerignore");
	else if (error == STELE_ENOTFOUND)
		error = 0;
	stele_buf_release(&b);
	if (error < 0) {
		stele_context_free(ctx);
		return error;
	}
	*out = ctx;
	return 0;
}

void
stele_context_free(struct stele_context *ctx)
{
	if (!ctx)
		return;
	free(ctx->dir);
	free(ctx->memo_in);
	free(ctx->memo_out);
	stele_ignore_free(ctx->ignore);
	free(ctx);
}

static int
excluded(struct stele_context *ctx, const char *path)
{
	return *path && ctx->ignore && stele_ignore_match(ctx->ignore, path);
}

/* An excluded directory is still walked when exceptions exist. */
static int
walk_excluded(struct stele_context *ctx)
{
	return stele_ignore_has_exceptions(ctx->ignore);
}

static int
not_found(const char *path)
{
	return stele_error_setc(STELE_ENOTFOUND,
				"'%s' not found in the build context",
				*path ? path : ".");
}

/* ---- resolving paths inside the context ---- */

#define LINK_MAX_BYTES 4096

static int
git_lookup(struct stele_context *ctx, const char *rel, char **link)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	int error = 0;

	if (git_tree_entry_bypath(&te, ctx->git->tree_obj, rel) < 0)
		return STELE_ENOTFOUND;
	if (git_tree_entry_filemode(te) == GIT_FILEMODE_LINK) {
		if (git_blob_lookup(&blob, ctx->git->repo,
				    git_tree_entry_id(te)) < 0) {
			error = stele_error_git("cannot read git link");
		} else if (git_blob_rawsize(blob) >= LINK_MAX_BYTES) {
			error = stele_error_setc(
				STELE_EINVALID,
				"symbolic link '%s' in the build context is too long",
				rel);
		} else {
			*link = stele_xstrndup(git_blob_rawcontent(blob),
					       (size_t)git_blob_rawsize(blob));
			error = 1;
		}
	}
	git_blob_free(blob);
	git_tree_entry_free(te);
	return error;
}

/* What the resolver sees: the context as COPY sees it (an excluded name is
 * not there, unless exceptions may lie below it). */
static int
ctx_lookup(void *payload, const char *rel, char **link)
{
	struct stele_context *ctx = payload;

	*link = NULL;
	if (excluded(ctx, rel) && !walk_excluded(ctx))
		return STELE_ENOTFOUND;
	if (ctx->kind == STELE_CONTEXT_GIT)
		return git_lookup(ctx, rel, link);
	return stele_root_lookup_host(ctx->dir, rel, link);
}

/*
 * `path` inside the context: links among its parents (and in its last
 * component with STELE_ROOT_FOLLOW) followed within the context's root, so
 * "rootlink/etc/shadow" with rootlink -> / names the context's own
 * etc/shadow, never the host's.
 */
static int
ctx_resolve(char **out, struct stele_context *ctx, const char *path,
	    unsigned flags)
{
	const char *slash = strrchr(path, '/');
	char *parent, *rp;
	int error;

	*out = NULL;
	if (!*path) {
		*out = stele_xstrdup("");
		return 0;
	}
	if (flags & STELE_ROOT_FOLLOW)
		return stele_root_resolve(out, path, flags, ctx_lookup, ctx);
	if (!slash) {
		*out = stele_xstrdup(path);
		return 0;
	}
	parent = stele_xstrndup(path, (size_t)(slash - path));
	if (ctx->memo_in && !strcmp(ctx->memo_in, parent)) {
		free(parent);
	} else {
		if ((error = stele_root_resolve(&rp, parent, STELE_ROOT_FOLLOW,
						ctx_lookup, ctx)) < 0) {
			free(parent);
			return error;
		}
		free(ctx->memo_in);
		free(ctx->memo_out);
		ctx->memo_in = parent;
		ctx->memo_out = rp;
	}
	*out = *ctx->memo_out
		? stele_xasprintf("%s/%s", ctx->memo_out, slash + 1)
		: stele_xstrdup(slash + 1);
	return 0;
}

int
stele_context_resolve(char **out, struct stele_context *ctx, const char *path)
{
	return ctx_resolve(out, ctx, path, STELE_ROOT_FOLLOW);
}

/* ---- host directories ---- */

static int
host_stat(struct stele_ctx_stat *out, struct stele_context *ctx,
	  const char *path)
{
	char *full = stele_path_join(ctx->dir, path);
	struct stat st;

	if (lstat(full, &st) < 0) {
		int error = errno == ENOENT || errno == ENOTDIR
			? not_found(path)
			: stele_error_errno("cannot stat '%s'", full);

		free(full);
		return error;
	}
	out->uid = ctx->kind == STELE_CONTEXT_ROOTFS ? st.st_uid : 0;
	out->gid = ctx->kind == STELE_CONTEXT_ROOTFS ? st.st_gid : 0;
	out->size = 0;
	out->mtime = (int64_t)st.st_mtime;
	out->src_kind = STELE_SRC_NONE;
	if (S_ISREG(st.st_mode)) {
		out->type = STELE_ENTRY_FILE;
		out->size = (uint64_t)st.st_size;
		out->src_kind = STELE_SRC_PATH;
		out->src = full;
		full = NULL;
		if (st.st_nlink > 1)
			out->link_key = ((uint64_t)st.st_dev << 40) ^
				(uint64_t)st.st_ino;
	} else if (S_ISDIR(st.st_mode)) {
		out->type = STELE_ENTRY_DIR;
	} else if (S_ISLNK(st.st_mode)) {
		char buf[4096];
		ssize_t n = readlink(full, buf, sizeof(buf) - 1);

		if (n < 0) {
			int error = stele_error_errno("cannot read link '%s'",
						      full);

			free(full);
			return error;
		}
		out->type = STELE_ENTRY_SYMLINK;
		out->link = stele_xstrndup(buf, (size_t)n);
	} else if (S_ISFIFO(st.st_mode)) {
		out->type = STELE_ENTRY_FIFO;
	} else if (ctx->kind == STELE_CONTEXT_ROOTFS &&
		   (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		out->type = S_ISCHR(st.st_mode) ? STELE_ENTRY_CHAR
						: STELE_ENTRY_BLOCK;
	} else {
		free(full);
		return stele_error_setc(
			STELE_EINVALID,
			"'%s' in the build context is not a file, directory or link",
			path);
	}
	if (ctx->kind == STELE_CONTEXT_ROOTFS)
		out->perm = st.st_mode & 07777;
	else if (out->type == STELE_ENTRY_DIR || (st.st_mode & 0111))
		out->perm = 0755;
	else
		out->perm = 0644;
	if (out->type == STELE_ENTRY_SYMLINK)
		out->perm = 0777;
	free(full);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
host_list(char ***out, size_t *n, struct stele_context *ctx, const char *dir)
{
	char *full = stele_path_join(ctx->dir, dir);
	DIR *d = opendir(full);
	struct dirent *de;
	char **v = NULL;
	size_t len = 0;

	if (!d) {
		int error =
			stele_error_errno("cannot read directory '%s'", full);

		free(full);
		return error;
	}
	while ((de = readdir(d))) {
		char *rel;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rel = stele_path_rel(dir, de->d_name);
		if (excluded(ctx, rel) &&
		    !(walk_excluded(ctx) &&
		      (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))) {
			free(rel);
			continue;
		}
		free(rel);
		stele_strv_push(&v, &len, de->d_name);
	}
	closedir(d);
	free(full);
	if (len)
		qsort(v, len, sizeof(*v), name_cmp);
	*out = v;
	*n = len;
	return 0;
}

/* ---- git trees ---- */

static int
git_entry(git_tree_entry **out, struct stele_context *ctx, const char *path)
{
	if (git_tree_entry_bypath(out, ctx->git->tree_obj, path) < 0)
		return not_found(path);
	return 0;
}

static int
git_stat(struct stele_ctx_stat *out, struct stele_context *ctx,
	 const char *path)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int error;

	out->uid = out->gid = 0;
	out->size = 0;
	out->src_kind = STELE_SRC_NONE;
	if (!*path) {
		out->type = STELE_ENTRY_DIR;
		out->perm = 0755;
		return 0;
	}
	if ((error = git_entry(&te, ctx, path)) < 0)
		return error;
	switch (git_tree_entry_filemode(te)) {
	case GIT_FILEMODE_TREE:
	case GIT_FILEMODE_COMMIT: /* a submodule is an empty directory */
		out->type = STELE_ENTRY_DIR;
		out->perm = 0755;
		break;
	case GIT_FILEMODE_LINK:
		if (git_blob_lookup(&blob, ctx->git->repo,
				    git_tree_entry_id(te)) < 0) {
			error = stele_error_git("cannot read git link");
			goto out;
		}
		out->type = STELE_ENTRY_SYMLINK;
		out->perm = 0777;
		out->link = stele_xstrndup(git_blob_rawcontent(blob),
					   (size_t)git_blob_rawsize(blob));
		break;
	default:
		if (git_blob_lookup(&blob, ctx->git->repo,
				    git_tree_entry_id(te)) < 0) {
			error = stele_error_git("cannot read git blob");
			goto out;
		}
		out->type = STELE_ENTRY_FILE;
		out->perm = git_tree_entry_filemode(te) ==
				GIT_FILEMODE_BLOB_EXECUTABLE
			? 0755
			: 0644;
		out->size = (uint64_t)git_blob_rawsize(blob);
		git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(te));
		out->src = stele_xstrdup(hex);
		out->src_kind = STELE_SRC_USER;
		break;
	}
out:
	git_blob_free(blob);
	git_tree_entry_free(te);
	return error;
}

static int
git_list(char ***out, size_t *n, struct stele_context *ctx, const char *dir)
{
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	char **v;
	size_t i, len = 0, count;

	if (!*dir) {
		tree = ctx->git->tree_obj;
	} else {
		if (git_entry(&te, ctx, dir) < 0)
			return not_found(dir);
		if (git_tree_entry_type(te) != GIT_OBJECT_TREE) {
			git_tree_entry_free(te);
			*out = NULL;
			*n = 0;
			return 0;
		}
		if (git_tree_lookup(&tree, ctx->git->repo,
				    git_tree_entry_id(te)) < 0) {
			git_tree_entry_free(te);
			return stele_error_git("cannot read git tree");
		}
		git_tree_entry_free(te);
	}
	count = git_tree_entrycount(tree);
	v = stele_xcalloc(count + 1, sizeof(*v));
	for (i = 0; i < count; i++) {
		const char *name =
			git_tree_entry_name(git_tree_entry_byindex(tree, i));
		char *rel = stele_path_rel(dir, name);

		if (!excluded(ctx, rel) ||
		    (walk_excluded(ctx) &&
		     git_tree_entry_type(git_tree_entry_byindex(tree, i)) ==
			     GIT_OBJECT_TREE))
			v[len++] = stele_xstrdup(name);
		free(rel);
	}
	if (tree != ctx->git->tree_obj)
		git_tree_free(tree);
	if (len)
		qsort(v, len, sizeof(*v), name_cmp);
	*out = v;
	*n = len;
	return 0;
}

int
stele_context_stat(struct stele_ctx_stat *out, struct stele_context *ctx,
		   const char *path)
{
	char *rp = NULL;
	int ex, error;

	memset(out, 0, sizeof(*out));
	if ((error = ctx_resolve(&rp, ctx, path, 0)) < 0)
		return error;
	if ((ex = excluded(ctx, rp)) && !walk_excluded(ctx)) {
		error = not_found(path);
		goto out;
	}
	error = ctx->kind == STELE_CONTEXT_GIT ? git_stat(out, ctx, rp)
					       : host_stat(out, ctx, rp);
	if (error == STELE_ENOTFOUND)
		error = not_found(path);
	if (error < 0 || !ex)
		goto out;
	if (out->type != STELE_ENTRY_DIR) {
		stele_ctx_stat_release(out);
		error = not_found(path);
		goto out;
	}
	out->excluded = 1;
out:
	free(rp);
	return error;
}

int
stele_context_list(char ***out, size_t *n, struct stele_context *ctx,
		   const char *dir)
{
	char *rp;
	int error;

	*out = NULL;
	*n = 0;
	if ((error = ctx_resolve(&rp, ctx, dir, STELE_ROOT_FOLLOW)) < 0)
		return error;
	if (ctx->kind == STELE_CONTEXT_GIT)
		error = git_list(out, n, ctx, rp);
	else
		error = host_list(out, n, ctx, rp);
	free(rp);
	return error;
}

int
stele_context_read(struct stele_buf *out, struct stele_context *ctx,
		   const char *path)
{
	struct stele_ctx_stat st;
	git_blob *blob;
	git_oid oid;
	int error;

	if ((error = stele_context_stat(&st, ctx, path)) < 0)
		return error;
	if (st.type != STELE_ENTRY_FILE) {
		stele_ctx_stat_release(&st);
		return stele_error_setc(
			STELE_EINVALID,
			"'%s' in the build context is not a regular file",
			path);
	}
	if (st.src_kind == STELE_SRC_PATH) {
		error = stele_fs_read(out, st.src);
	} else {
		git_oid_fromstr(&oid, st.src);
		if (git_blob_lookup(&blob, ctx->git->repo, &oid) < 0) {
			error = stele_error_git("cannot read git blob");
		} else {
			error = stele_buf_put(out, git_blob_rawcontent(blob),
					      (size_t)git_blob_rawsize(blob));
			git_blob_free(blob);
		}
	}
	stele_ctx_stat_release(&st);
	return error;
}

int
stele_context_src_read(void *payload, const struct stele_plan_entry *e,
		       stele_sink_fn emit, void *emit_payload)
{
	struct stele_context *ctx = payload;
	git_blob *blob;
	git_oid oid;
	const char *p;
	size_t left;
	int error = 0;

	if (ctx->kind != STELE_CONTEXT_GIT || git_oid_fromstr(&oid, e->src) < 0)
		return stele_error_set("internal: no reader for '%s'", e->path);
	if (git_blob_lookup(&blob, ctx->git->repo, &oid) < 0)
		return stele_error_git("cannot read git blob");
	p = git_blob_rawcontent(blob);
	left = (size_t)git_blob_rawsize(blob);
	while (left && !error) {
		size_t n = left < 65536 ? left : 65536;

		error = emit(emit_payload, p, n);
		p += n;
		left -= n;
	}
	git_blob_free(blob);
	return error;
}

/* ---- digests for cache keys ---- */

/*
 * The walk writes one record per entry into the hash, in order, and a
 * regular file's record ends with its content digest.  Reading and hashing
 * the files is most of the work and each file is independent, so records
 * are queued in batches and a batch's files are digested on two threads
 * (the caller's and one more) before its records are hashed in order: the
 * digest is the same whatever the threads.  A batch holds DW_BATCH records,
 * so memory does not grow with the tree.
 */
#define DW_BATCH 256
#define DW_THREADS 2

struct dw_item {
	char *rec; /* the record up to the file digest */
	size_t len;
	char *src; /* a file to digest, or NULL */
	char fd[STELE_DIGEST_STRLEN];
	int error;
};

struct dw_batch {
	struct stele_sha256 *h;
	const char *(*known)(void *payload, const char *src);
	void *known_payload;
	struct dw_item items[DW_BATCH];
	size_t n;
	size_t files;
	pthread_mutex_t lock;
	size_t next; /* the next item to digest (lock) */
};

static void *
dw_worker(void *arg)
{
	struct dw_batch *b = arg;
	struct dw_item *it;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->next < b->n && !b->items[b->next].src)
			b->next++;
		i = b->next < b->n ? b->next++ : b->n;
		pthread_mutex_unlock(&b->lock);
		if (i == b->n)
			return NULL;
		it = &b->items[i];
		/* The message is set on this thread; dw_flush sets it again
		 * on the caller's (see there). */
		it->error = stele_digest_file(it->fd, NULL, it->src);
	}
}

static unsigned
dw_threads(size_t files)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (files < 2 || n < 2)
		return 1;
	return DW_THREADS;
}

static int
dw_flush(struct dw_batch *b)
{
	pthread_t helper;
	int started = 0, error = 0;
	size_t i;

	b->next = 0;
	if (dw_threads(b->files) > 1 &&
	    pthread_create(&helper, NULL, dw_worker, b) == 0)
		started = 1;
	dw_worker(b);
	if (started)
		pthread_join(helper, NULL);
	for (i = 0; i < b->n; i++) {
		struct dw_item *it = &b->items[i];

		/* Error messages live on the thread that set them: digest a
		 * file that failed again here, for this thread's message. */
		if (!error && it->src && it->error < 0)
			error = stele_digest_file(it->fd, NULL, it->src);
		if (!error) {
			stele_sha256_update(b->h, it->rec, it->len);
			stele_sha256_update(b->h, it->fd, strlen(it->fd));
			stele_sha256_update(b->h, "\n", 1);
		}
		free(it->rec);
		free(it->src);
	}
	b->n = b->files = 0;
	return error;
}

static int
dw_add(struct dw_batch *b, const char *rel, const struct stele_ctx_stat *st)
{
	struct stele_buf rec = STELE_BUF_INIT(64 << 10);
	struct dw_item *it;
	const char *d;
	int error;

	if (b->n == DW_BATCH && (error = dw_flush(b)) < 0)
		return error;
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	/* One record per entry, fields NUL-separated. */
	stele_buf_printf(&rec, "%s", rel);
	stele_buf_putc(&rec, '\0');
	stele_buf_printf(&rec, "%d %o %u %u %d", (int)st->type,
			 (unsigned)st->perm, (unsigned)st->uid,
			 (unsigned)st->gid, st->excluded);
	stele_buf_putc(&rec, '\0');
	stele_buf_printf(&rec, "%s", st->link ? st->link : "");
	stele_buf_putc(&rec, '\0');
	it->len = rec.len;
	it->rec = stele_buf_detach(&rec);
	if (st->type == STELE_ENTRY_FILE && st->src_kind == STELE_SRC_PATH &&
	    b->known && (d = b->known(b->known_payload, st->src)) != NULL &&
	    strlen(d) < sizeof(it->fd)) {
		memcpy(it->fd, d, strlen(d) + 1);
	} else if (st->type == STELE_ENTRY_FILE &&
		   st->src_kind == STELE_SRC_PATH) {
		it->src = stele_xstrdup(st->src);
		b->files++;
	} else if (st->type == STELE_ENTRY_FILE && st->src) {
		snprintf(it->fd, sizeof(it->fd), "git:%s", st->src);
	}
	return 0;
}

static void
dw_release(struct dw_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->items[i].rec);
		free(b->items[i].src);
	}
	b->n = 0;
}

static int
digest_walk(struct dw_batch *b, struct stele_context *ctx, const char *rel,
	    int depth)
{
	struct stele_ctx_stat st;
	char **names = NULL;
	size_t n = 0, i;
	int error;

	if (depth > 256)
		return stele_error_setc(STELE_EINVALID, "'%s' nests too deeply",
					rel);
	if ((error = stele_context_stat(&st, ctx, rel)) < 0)
		return error;
	error = dw_add(b, rel, &st);
	if (!error && st.type == STELE_ENTRY_DIR &&
	    (error = stele_context_list(&names, &n, ctx, rel)) == 0) {
		for (i = 0; i < n && !error; i++) {
			char *c = stele_path_rel(rel, names[i]);

			error = digest_walk(b, ctx, c, depth + 1);
			if (error == STELE_ENOTFOUND)
				error = 0;
			free(c);
		}
		stele_strv_free(names, n);
	}
	stele_ctx_stat_release(&st);
	return error;
}

int
stele_context_digest_known(char out[STELE_DIGEST_STRLEN],
			   struct stele_context *ctx, const char *path,
			   const char *(*known)(void *payload, const char *src),
			   void *payload)
{
	struct stele_sha256 h;
	struct dw_batch *b;
	char *rp = NULL;
	int error, flushed;

	/* What a COPY of `path` reads: a link named as the source is
	 * followed (within the context), so its target's content counts. */
	if ((error = ctx_resolve(&rp, ctx, path, STELE_ROOT_FOLLOW)) < 0)
		return error;
	if (ctx->kind == STELE_CONTEXT_GIT && !ctx->ignore) {
		char id[41];

		if ((error = stele_git_subtree_id(id, ctx->git, rp)) == 0)
			stele_digest_bytes(out, id, 40);
		free(rp);
		return error;
	}
	if ((error = stele_sha256_init(&h)) < 0) {
		free(rp);
		return error;
	}
	b = stele_xcalloc(1, sizeof(*b));
	b->h = &h;
	b->known = known;
	b->known_payload = payload;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		error = stele_error_set("cannot create a mutex");
		stele_sha256_release(&h);
		free(b);
		free(rp);
		return error;
	}
	/* The files queued before a failure come first in the walk: their
	 * errors win. */
	error = digest_walk(b, ctx, rp, 0);
	flushed = dw_flush(b);
	if (flushed < 0)
		error = flushed;
	dw_release(b);
	pthread_mutex_destroy(&b->lock);
	free(b);
	free(rp);
	if (error < 0) {
		stele_sha256_release(&h);
		return error;
	}
	stele_sha256_final(&h, out);
	return 0;
}
