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
#include "util/hash.h"
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
	struct kept *kept; /* stele_context_keep, or NULL */
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

/* ---- kept stats and listings (stele_context_keep) ---- */

/*
 * Packed, for trees of 100,000 files: a listing is one record holding its
 * names and, beside each, room for that child's stat, filled when the
 * child is stat'ed (a COPY lists a directory, then stats its children);
 * other stats (the walk's root, links, hardlinked files) get a record of
 * their own.  Records live in blocks of KEPT_BLOCK bytes and are found
 * through a hash of (path, kind): about 45 bytes a file.
 */
#define KEPT_BLOCK (1u << 20)

enum { KEPT_STAT, KEPT_LIST };
enum { SRC_NONE, SRC_JOINED, SRC_HERE }; /* SRC_JOINED: dir + "/" + path */

/* A stat, packed; a listing's children are these. */
struct kept_st {
	uint64_t size;
	int64_t mtime;
	uint32_t uid, gid;
	uint16_t perm;
	unsigned char type, src_kind, excluded, src, filled;
};

/*
 * KEPT_STAT: st, then path, link (if st.filled > 1) and source (SRC_HERE)
 * in strings.  KEPT_LIST: path in strings, n children's kept_st at
 * `kids` bytes from the record, then n name offsets (uint32_t, from the
 * record), then the names.
 */
struct kept_rec {
	struct kept_st st;
	uint64_t link_key;
	uint32_t n, kids;
	unsigned char kind;
	char strings[];
};

struct kept {
	char **blocks;
	size_t nblocks, used; /* bytes used in the last block */
	struct kept_rec **slots; /* open addressing, NULL: empty */
	size_t cap, n;
};

static size_t
kept_hash(const char *path, size_t len, int kind)
{
	return (size_t)stele_hash_mem(path, len) ^ (size_t)kind;
}

static void
kept_free(struct kept *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nblocks; i++)
		free(k->blocks[i]);
	free(k->blocks);
	free(k->slots);
	free(k);
}

/* The record of the first `len` bytes of `path`. */
static struct kept_rec *
kept_find(struct stele_context *ctx, const char *path, size_t len, int kind)
{
	struct kept *k = ctx->kept;
	size_t s;

	if (!k || !k->cap)
		return NULL;
	s = kept_hash(path, len, kind) & (k->cap - 1);
	while (k->slots[s]) {
		struct kept_rec *r = k->slots[s];

		if (r->kind == kind && !strncmp(r->strings, path, len) &&
		    !r->strings[len])
			return r;
		s = (s + 1) & (k->cap - 1);
	}
	return NULL;
}

static void
kept_slot(struct kept *k, struct kept_rec *r)
{
	size_t s = kept_hash(r->strings, strlen(r->strings), r->kind) &
		(k->cap - 1);

	while (k->slots[s])
		s = (s + 1) & (k->cap - 1);
	k->slots[s] = r;
}

/* A zeroed record of `len` bytes, to fill and then kept_insert. */
static struct kept_rec *
kept_alloc(struct kept *k, size_t len)
{
	size_t align = _Alignof(struct kept_rec), at;

	at = (k->used + align - 1) / align * align;
	if (!k->nblocks || at + len > KEPT_BLOCK) {
		k->blocks = stele_xrealloc(
			k->blocks, (k->nblocks + 1) * sizeof(*k->blocks));
		/* A listing larger than a block gets one of its own. */
		k->blocks[k->nblocks++] =
			stele_xmalloc(len > KEPT_BLOCK ? len : KEPT_BLOCK);
		at = 0;
	}
	k->used = at + len;
	memset(k->blocks[k->nblocks - 1] + at, 0, len);
	return (struct kept_rec *)(void *)(k->blocks[k->nblocks - 1] + at);
}

static void
kept_insert(struct kept *k, struct kept_rec *r)
{
	struct kept_rec **old = k->slots;
	size_t i, cap = k->cap;

	if (++k->n * 2 > k->cap) {
		k->cap = k->cap ? k->cap * 2 : 256;
		k->slots = stele_xcalloc(k->cap, sizeof(*k->slots));
		for (i = 0; i < cap; i++)
			if (old[i])
				kept_slot(k, old[i]);
		free(old);
	}
	kept_slot(k, r);
}

static char *
put_str(char *at, const char *s, size_t len)
{
	memcpy(at, s, len);
	at[len] = '\0';
	return at + len + 1;
}

/* The room for the stat of `path` in its parent's listing, or NULL. */
static struct kept_st *
kept_child(struct stele_context *ctx, const char *path)
{
	const char *slash = strrchr(path, '/'), *name;
	struct kept_rec *r;
	const uint32_t *off;
	size_t lo = 0, hi;

	name = slash ? slash + 1 : path;
	r = kept_find(ctx, path, slash ? (size_t)(slash - path) : 0, KEPT_LIST);
	if (!r || !*name)
		return NULL;
	off = (const uint32_t *)(const void *)((const char *)r + r->kids +
					       r->n * sizeof(struct kept_st));
	hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp((const char *)r + off[mid], name);

		if (c == 0)
			return (struct kept_st *)(void *)((char *)r + r->kids) +
				mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
st_pack(struct kept_st *k, const struct stele_ctx_stat *st, int src)
{
	k->size = st->size;
	k->mtime = st->mtime;
	k->uid = (uint32_t)st->uid;
	k->gid = (uint32_t)st->gid;
	k->perm = (uint16_t)st->perm;
	k->type = (unsigned char)st->type;
	k->src_kind = (unsigned char)st->src_kind;
	k->excluded = (unsigned char)st->excluded;
	k->src = (unsigned char)src;
	k->filled = st->link ? 2 : 1;
}

static void
st_unpack(struct stele_ctx_stat *out, struct stele_context *ctx,
	  const char *path, const struct kept_st *k)
{
	memset(out, 0, sizeof(*out));
	out->size = k->size;
	out->mtime = k->mtime;
	out->uid = (uid_t)k->uid;
	out->gid = (gid_t)k->gid;
	out->perm = (mode_t)k->perm;
	out->type = (enum stele_entry_type)k->type;
	out->src_kind = (enum stele_src_kind)k->src_kind;
	out->excluded = k->excluded;
	if (k->src == SRC_JOINED)
		out->src = stele_path_join(ctx->dir, path);
}

/* Whether `s` is stele_path_join(dir, path), without making that. */
static int
is_joined(const char *s, const char *dir, const char *path)
{
	size_t ld = strlen(dir);

	while (*path == '/')
		path++;
	if (strncmp(s, dir, ld))
		return 0;
	s += ld;
	if (!ld || dir[ld - 1] != '/') {
		if (*s != '/')
			return 0;
		s++;
	}
	return !strcmp(s, path);
}

static void
kept_stat(struct stele_context *ctx, const char *path,
	  const struct stele_ctx_stat *st)
{
	size_t lp = strlen(path), ll = st->link ? strlen(st->link) : 0;
	size_t ls = st->src ? strlen(st->src) : 0;
	struct kept_st *room;
	struct kept_rec *r;
	char *at;
	int src = SRC_NONE;

	if (st->src)
		src = is_joined(st->src, ctx->dir, path) ? SRC_JOINED
							 : SRC_HERE;
	if (st->perm > 0xffff)
		return; /* never (07777 at most): not kept, read again */
	if (src != SRC_HERE && !st->link && !st->link_key &&
	    (room = kept_child(ctx, path))) {
		if (!room->filled)
			st_pack(room, st, src);
		return;
	}
	if (kept_find(ctx, path, lp, KEPT_STAT))
		return;
	r = kept_alloc(ctx->kept,
		       sizeof(*r) + lp + 1 + (st->link ? ll + 1 : 0) +
			       (src == SRC_HERE ? ls + 1 : 0));
	st_pack(&r->st, st, src);
	r->link_key = st->link_key;
	r->kind = KEPT_STAT;
	at = put_str(r->strings, path, lp);
	if (st->link)
		at = put_str(at, st->link, ll);
	if (src == SRC_HERE)
		put_str(at, st->src, ls);
	kept_insert(ctx->kept, r);
}

/* 1 and *out filled when `path` was stat'ed while kept. */
static int
kept_stat_get(struct stele_ctx_stat *out, struct stele_context *ctx,
	      const char *path)
{
	struct kept_st *room = ctx->kept ? kept_child(ctx, path) : NULL;
	struct kept_rec *r;
	const char *at;

	if (room && room->filled) {
		st_unpack(out, ctx, path, room);
		return 1;
	}
	if (!(r = kept_find(ctx, path, strlen(path), KEPT_STAT)))
		return 0;
	st_unpack(out, ctx, path, &r->st);
	out->link_key = r->link_key;
	at = r->strings + strlen(r->strings) + 1;
	if (r->st.filled > 1) {
		out->link = stele_xstrdup(at);
		at += strlen(at) + 1;
	}
	if (r->st.src == SRC_HERE)
		out->src = stele_xstrdup(at);
	return 1;
}

static void
kept_list(struct stele_context *ctx, const char *dir, char **names, size_t n)
{
	size_t ld = strlen(dir), len, kids, i;
	struct kept_rec *r;
	uint32_t *off;
	char *at;

	if (kept_find(ctx, dir, ld, KEPT_LIST) || n > UINT32_MAX / 2)
		return;
	kids = sizeof(struct kept_rec) + ld + 1;
	kids = (kids + _Alignof(struct kept_st) - 1) /
		_Alignof(struct kept_st) * _Alignof(struct kept_st);
	len = kids + n * (sizeof(struct kept_st) + sizeof(uint32_t));
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	if (len > UINT32_MAX)
		return;
	r = kept_alloc(ctx->kept, len);
	r->kind = KEPT_LIST;
	r->n = (uint32_t)n;
	r->kids = (uint32_t)kids;
	put_str(r->strings, dir, ld);
	off = (uint32_t *)(void *)((char *)r + kids +
				   n * sizeof(struct kept_st));
	at = (char *)(off + n);
	for (i = 0; i < n; i++) {
		off[i] = (uint32_t)(at - (char *)r);
		at = put_str(at, names[i], strlen(names[i]));
	}
	kept_insert(ctx->kept, r);
}

static void
kept_list_get(char ***out, size_t *n, const struct kept_rec *r)
{
	const uint32_t *off =
		(const uint32_t *)(const void *)((const char *)r + r->kids +
						 r->n * sizeof(struct kept_st));
	size_t i;

	*n = r->n;
	*out = r->n ? stele_xcalloc(r->n, sizeof(**out)) : NULL;
	for (i = 0; i < r->n; i++)
		(*out)[i] = stele_xstrdup((const char *)r + off[i]);
}

void
stele_context_keep(struct stele_context *ctx, int on)
{
	if (!ctx || ctx->kind == STELE_CONTEXT_GIT)
		return;
	kept_free(ctx->kept);
	ctx->kept = on ? stele_xcalloc(1, sizeof(*ctx->kept)) : NULL;
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
	kept_free(ctx->kept);
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

static void
memo_set(struct stele_context *ctx, char *in, char *out)
{
	free(ctx->memo_in);
	free(ctx->memo_out);
	ctx->memo_in = in;
	ctx->memo_out = out;
}

/*
 * `path` with every link followed, the last component's too.  A COPY
 * lists a directory just after it stat'ed it among its parent's children:
 * with that parent resolved already (the memo), only the last component
 * is looked up, as stele_root_resolve would, instead of every one; and
 * the result is the memo for the directory's own children.
 */
static int
ctx_resolve_follow(char **out, struct stele_context *ctx, const char *path,
		   const char *slash, unsigned flags)
{
	char *cand, *link = NULL;
	int r;

	if (slash && ctx->memo_in &&
	    !strncmp(ctx->memo_in, path, (size_t)(slash - path)) &&
	    !ctx->memo_in[slash - path] && strlen(path) < STELE_ROOT_MAX_PATH) {
		cand = stele_path_rel(ctx->memo_out, slash + 1);
		r = strlen(cand) < STELE_ROOT_MAX_PATH
			? ctx_lookup(ctx, cand, &link)
			: STELE_ERROR;
		free(link);
		/* Not a link, or missing (then kept literally, as there):
		 * done.  A link or an error: the whole walk, as before. */
		if (r == 0 || r == STELE_ENOTFOUND) {
			memo_set(ctx, stele_xstrdup(path), stele_xstrdup(cand));
			*out = cand;
			return 0;
		}
		free(cand);
	}
	if ((r = stele_root_resolve(out, path, flags, ctx_lookup, ctx)) < 0)
		return r;
	memo_set(ctx, stele_xstrdup(path), stele_xstrdup(*out));
	return 0;
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
		return ctx_resolve_follow(out, ctx, path, slash, flags);
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
		memo_set(ctx, parent, rp);
	}
	*out = stele_path_rel(ctx->memo_out, slash + 1);
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
	if (ctx->kept && kept_stat_get(out, ctx, path))
		return 0;
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
	if (!error && ctx->kept)
		kept_stat(ctx, path, out);
	free(rp);
	return error;
}

int
stele_context_list(char ***out, size_t *n, struct stele_context *ctx,
		   const char *dir)
{
	struct kept_rec *k;
	char *rp;
	int error;

	*out = NULL;
	*n = 0;
	if ((k = kept_find(ctx, dir, strlen(dir), KEPT_LIST)) != NULL) {
		kept_list_get(out, n, k);
		return 0;
	}
	if ((error = ctx_resolve(&rp, ctx, dir, STELE_ROOT_FOLLOW)) < 0)
		return error;
	if (ctx->kind == STELE_CONTEXT_GIT)
		error = git_list(out, n, ctx, rp);
	else
		error = host_list(out, n, ctx, rp);
	if (!error && ctx->kept)
		kept_list(ctx, dir, *out, *n);
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
	int (*known)(void *payload, const char *src,
		     char d[STELE_DIGEST_STRLEN]);
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
	char num[80];
	int error, n;

	if (b->n == DW_BATCH && (error = dw_flush(b)) < 0)
		return error;
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	/* One record per entry, fields NUL-separated (one formatting call:
	 * this runs for every file of a COPY). */
	n = snprintf(num, sizeof(num), "%d %o %u %u %d", (int)st->type,
		     (unsigned)st->perm, (unsigned)st->uid, (unsigned)st->gid,
		     st->excluded);
	stele_buf_puts(&rec, rel);
	stele_buf_putc(&rec, '\0');
	stele_buf_put(&rec, num, n > 0 ? (size_t)n : 0);
	stele_buf_putc(&rec, '\0');
	stele_buf_puts(&rec, st->link ? st->link : "");
	stele_buf_putc(&rec, '\0');
	it->len = rec.len;
	it->rec = stele_buf_detach(&rec);
	if (st->type == STELE_ENTRY_FILE && st->src_kind == STELE_SRC_PATH &&
	    b->known && b->known(b->known_payload, st->src, it->fd)) {
		/* it->fd holds the digest the layer writer took */
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
			   int (*known)(void *payload, const char *src,
					char d[STELE_DIGEST_STRLEN]),
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
