#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>

#include "oci/hashpipe.h"
#include "oci/layer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/lazy.h"
#include "util/limits.h"

/*
 * A hash of path -> index+1 (open addressing) makes stele_plan_add() and
 * stele_plan_find() O(1).  It lives in a header allocated just before the
 * entries array, so struct stele_plan stays a plain value.
 */
struct plan_priv {
	size_t *slots;
	size_t cap;
};

static struct plan_priv *
priv(struct stele_plan *p)
{
	/* The entries array is allocated with room for one plan_priv in
	 * front of it; see plan_grow(). */
	return (struct plan_priv *)(void *)((char *)p->entries -
					    sizeof(struct plan_priv));
}

static void
plan_grow(struct stele_plan *p)
{
	size_t alloc = p->alloc ? p->alloc * 2 : 64;
	char *base = p->entries ? (char *)priv(p) : NULL;
	base = stele_xrealloc(base,
			      sizeof(struct plan_priv) +
				      alloc * sizeof(struct stele_plan_entry));
	if (!p->entries)
		memset(base, 0, sizeof(struct plan_priv));
	p->entries =
		(struct stele_plan_entry *)(void *)(base +
						    sizeof(struct plan_priv));
	p->alloc = alloc;
}

static void
hash_rebuild(struct stele_plan *p)
{
	struct plan_priv *pp = priv(p);
	size_t i;

	free(pp->slots);
	pp->cap = 16;
	while (pp->cap < p->n * 2 + 16)
		pp->cap *= 2;
	pp->slots = stele_xcalloc(pp->cap, sizeof(size_t));
	for (i = 0; i < p->n; i++) {
		size_t s = stele_hash_str(p->entries[i].path) & (pp->cap - 1);

		while (pp->slots[s])
			s = (s + 1) & (pp->cap - 1);
		pp->slots[s] = i + 1;
	}
}

struct stele_plan_entry *
stele_plan_find(struct stele_plan *p, const char *path)
{
	struct plan_priv *pp;
	size_t s;

	if (!p->entries || !p->n)
		return NULL;
	pp = priv(p);
	if (!pp->slots)
		hash_rebuild(p);
	s = stele_hash_str(path) & (pp->cap - 1);
	while (pp->slots[s]) {
		struct stele_plan_entry *e = &p->entries[pp->slots[s] - 1];

		if (!strcmp(e->path, path))
			return e;
		s = (s + 1) & (pp->cap - 1);
	}
	return NULL;
}

/* An entry's strings are one block, path first. */
static void
entry_release(struct stele_plan_entry *e)
{
	free(e->path);
}

/* dst's strings: e's, copied into one block (one allocation's overhead,
 * not three); an origin that is src's tail after a '/' (a COPY's source
 * named relative to its context) is not copied twice. */
static void
entry_strings(struct stele_plan_entry *dst, const struct stele_plan_entry *e)
{
	size_t lp = strlen(e->path) + 1, ll = e->link ? strlen(e->link) + 1 : 0;
	size_t ls = e->src ? strlen(e->src) + 1 : 0;
	size_t lo = e->origin ? strlen(e->origin) + 1 : 0;
	int tail = ls && lo && lo < ls && e->src[ls - lo - 1] == '/' &&
		!strcmp(e->src + ls - lo, e->origin);
	char *b = stele_xmalloc(lp + ll + ls + (tail ? 0 : lo)), *at = b;

	dst->path = memcpy(at, e->path, lp);
	at += lp;
	dst->link = e->link ? memcpy(at, e->link, ll) : NULL;
	at += ll;
	dst->src = e->src ? memcpy(at, e->src, ls) : NULL;
	at += ls;
	if (tail)
		dst->origin = dst->src + ls - lo;
	else
		dst->origin = e->origin ? memcpy(at, e->origin, lo) : NULL;
}

struct stele_plan_entry *
stele_plan_add(struct stele_plan *p, const struct stele_plan_entry *e)
{
	struct stele_plan_entry *dst = stele_plan_find(p, e->path);
	struct plan_priv *pp;
	size_t s;

	if (dst) {
		entry_release(dst);
	} else {
		if (p->n == p->alloc)
			plan_grow(p);
		dst = &p->entries[p->n++];
		pp = priv(p);
		if (pp->slots && p->n * 2 + 16 > pp->cap) {
			free(pp->slots);
			pp->slots = NULL;
		}
		if (pp->slots) {
			s = stele_hash_str(e->path) & (pp->cap - 1);
			while (pp->slots[s])
				s = (s + 1) & (pp->cap - 1);
			pp->slots[s] = p->n;
		}
	}
	*dst = *e;
	entry_strings(dst, e);
	dst->digested = 0;
	dst->hardlink_to = -1;
	return dst;
}

int
stele_plan_digest(char out[STELE_DIGEST_STRLEN],
		  const struct stele_plan_entry *e)
{
	if (!e->digested) {
		out[0] = '\0';
		return 0;
	}
	stele_digest_format(out, e->digest);
	return 1;
}

void
stele_plan_release(struct stele_plan *p)
{
	size_t i;

	if (!p->entries)
		return;
	for (i = 0; i < p->n; i++)
		entry_release(&p->entries[i]);
	free(priv(p)->slots);
	free(priv(p));
	p->entries = NULL;
	p->n = p->alloc = 0;
}

static int
is_whiteout(const char *name, size_t len)
{
	return len >= 4 && !memcmp(name, ".wh.", 4);
}

int
stele_layer_path_cmp(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		int wa = is_whiteout(a, la), wb = is_whiteout(b, lb), c;
		size_t m = la < lb ? la : lb;

		if (wa != wb)
			return wb - wa;
		c = memcmp(a, b, m);
		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return (*a != '\0') - (*b != '\0');
		a++;
		b++;
	}
}

static int
entry_cmp(const void *x, const void *y)
{
	const struct stele_plan_entry *a = x, *b = y;

	return stele_layer_path_cmp(a->path, b->path);
}

void
stele_plan_sort(struct stele_plan *p)
{
	size_t i, j;
	uint64_t *keys;
	size_t *first;
	size_t cap;

	if (!p->n)
		return;
	qsort(p->entries, p->n, sizeof(*p->entries), entry_cmp);
	free(priv(p)->slots);
	priv(p)->slots = NULL;
	/* Hardlinks: the first path in canonical order with a given key keeps
	 * the content; later ones link to it. */
	cap = 16;
	while (cap < p->n * 2)
		cap *= 2;
	keys = stele_xcalloc(cap, sizeof(uint64_t));
	first = stele_xcalloc(cap, sizeof(size_t));
	for (i = 0; i < p->n; i++) {
		struct stele_plan_entry *e = &p->entries[i];

		e->hardlink_to = -1;
		if (!e->link_key || e->type != STELE_ENTRY_FILE)
			continue;
		j = (size_t)(e->link_key * 11400714819323198485ull) & (cap - 1);
		while (keys[j] && keys[j] != e->link_key)
			j = (j + 1) & (cap - 1);
		if (keys[j]) {
			e->hardlink_to = (int)first[j];
		} else {
			keys[j] = e->link_key;
			first[j] = i;
		}
	}
	free(keys);
	free(first);
}

/* ---- writing ---- */

struct layer_sink {
	struct stele_hashpipe *diff; /* the diff_id, hashed beside the rest */
	struct stele_compressor *comp;
	struct stele_blob_writer *blob;
	int error;
};

static int
blob_sink(void *payload, const void *data, size_t len)
{
	struct layer_sink *s = payload;

	return stele_blob_writer_write(s->blob, data, len);
}

static la_ssize_t
archive_out(struct archive *a, void *payload, const void *data, size_t len)
{
	struct layer_sink *s = payload;
	int error;

	(void)a;
	stele_hashpipe_write(s->diff, data, len);
	if ((error = stele_compressor_write(s->comp, data, len)) < 0) {
		s->error = error;
		return -1;
	}
	return (la_ssize_t)len;
}

struct emit_ctx {
	struct archive *a;
	uint64_t left;
	const char *path;
};

static int
emit_data(void *payload, const void *data, size_t len)
{
	struct emit_ctx *c = payload;

	if (len > c->left)
		return stele_error_setc(STELE_EINVALID,
					"'%s' grew while it was being read",
					c->path);
	if (archive_write_data(c->a, data, len) != (la_ssize_t)len)
		return stele_error_archive(c->a, "cannot write layer");
	c->left -= len;
	return 0;
}

static int
read_path(struct stele_plan_entry *e, stele_sink_fn emit, void *ep)
{
	char chunk[1 << 16];
	int fd = open(e->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), error = 0;
	ssize_t n;

	if (fd < 0)
		return stele_error_errno("cannot open '%s'", e->src);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = stele_error_errno("cannot read '%s'", e->src);
			break;
		}
		if ((error = emit(ep, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	return error;
}

/*
 * A file's digest is taken on the diff_id's hashing thread, from the tar
 * stream itself: its content is the e->size bytes after its header
 * (libarchive's byte count once the header is written, blocking or not).
 * e->digest is written there, and read only after stele_hashpipe_finish.
 */
static int
write_entry(struct archive *a, struct archive_entry *ae, struct stele_plan *p,
	    size_t i, struct stele_hashpipe *pipe,
	    const struct stele_layer_opts *o)
{
	struct stele_plan_entry *e = &p->entries[i];
	const char *name = e->path;
	char *wh = NULL;
	struct emit_ctx c;
	int error = 0;

	archive_entry_clear(ae);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime, 0);
	archive_entry_set_perm(ae, e->perm & 07777);
	switch (e->type) {
	case STELE_ENTRY_DIR: archive_entry_set_filetype(ae, AE_IFDIR); break;
	case STELE_ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, e->link);
		break;
	case STELE_ENTRY_FIFO: archive_entry_set_filetype(ae, AE_IFIFO); break;
	case STELE_ENTRY_CHAR:
	case STELE_ENTRY_BLOCK:
		archive_entry_set_filetype(
			ae, e->type == STELE_ENTRY_CHAR ? AE_IFCHR : AE_IFBLK);
		archive_entry_set_rdev(ae, e->rdev);
		break;
	case STELE_ENTRY_WHITEOUT: {
		const char *slash = strrchr(e->path, '/');

		wh = slash
			? stele_xasprintf("%.*s/.wh.%s", (int)(slash - e->path),
					  e->path, slash + 1)
			: stele_xasprintf(".wh.%s", e->path);
		name = wh;
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, 0);
		break;
	}
	case STELE_ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		if (e->hardlink_to >= 0) {
			archive_entry_set_hardlink(
				ae, p->entries[e->hardlink_to].path);
			archive_entry_set_size(ae, 0);
		} else {
			archive_entry_set_size(ae, (la_int64_t)e->size);
		}
		break;
	}
	archive_entry_set_pathname(ae, name);
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		error = stele_error_archive(a, "cannot write layer entry");
		stele_error_prefix(error, "'%s'", name);
		goto out;
	}
	if (e->type != STELE_ENTRY_FILE || e->hardlink_to >= 0)
		goto out;
	c.a = a;
	c.left = e->size;
	c.path = e->src ? e->src : e->path;
	if (!e->size)
		stele_sha256_raw(e->digest, "", 0);
	else if ((error = stele_hashpipe_part(
			  pipe, (uint64_t)archive_filter_bytes(a, 0), e->size,
			  e->digest)) < 0)
		goto out;
	if (e->src_kind == STELE_SRC_PATH)
		error = read_path(e, emit_data, &c);
	else if (e->src_kind == STELE_SRC_USER)
		error = o->read(o->read_payload, e, emit_data, &c);
	if (!error && c.left)
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' shrank while it was being read",
					 c.path);
out:
	free(wh);
	return error;
}

/*
 * The whole plan is known before a byte is written, so a layer that would
 * exceed the limits is refused up front, not after writing (and reading)
 * the first 64 GiB.  Sizes come from stat or a header; a file that grows
 * meanwhile is caught by emit_data.
 */
static int
check_plan(const struct stele_plan *p, const struct stele_limits *l)
{
	uint64_t total = 0, max = stele_limits_size(l);
	char a[32], b[32];
	size_t i;

	if ((uint64_t)p->n > stele_limits_entries(l))
		return stele_error_setc(
			STELE_EINVALID,
			"the layer would have %zu entries, more than the "
			"max-entries limit of %llu",
			p->n, (unsigned long long)stele_limits_entries(l));
	for (i = 0; i < p->n; i++) {
		const struct stele_plan_entry *e = &p->entries[i];

		if (e->type != STELE_ENTRY_FILE || e->hardlink_to >= 0)
			continue;
		if (e->size > max - total)
			return stele_error_setc(
				STELE_EINVALID,
				"the layer would hold more than %s of file "
				"content ('%s' is %s), past the max-size limit",
				stele_limits_fmt(a, max), e->path,
				stele_limits_fmt(b, e->size));
		total += e->size;
	}
	return 0;
}

int
stele_plan_write(struct stele_layer_result *out, struct stele_plan *p,
		 struct stele_txn *txn, const struct stele_layer_opts *o)
{
	struct layer_sink s = { 0 };
	struct archive *a = NULL;
	struct archive_entry *ae = NULL;
	uint64_t done = 0, total = 0;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	stele_plan_sort(p);
	if ((error = check_plan(p, &o->limits)) < 0)
		return error;
	if ((error = stele_hashpipe_start(&s.diff)) < 0)
		return error;
	if ((error = stele_txn_blob_new_async(&s.blob, txn)) < 0 ||
	    (error = stele_compressor_new(&s.comp, o->compression, o->level,
					  o->threads, blob_sink, &s)) < 0)
		goto out;
	a = archive_write_new();
	ae = archive_entry_new();
	if (!a || !ae) {
		error = stele_error_set("out of memory");
		goto out;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_set_options(a, "xattrheader=SCHILY") < ARCHIVE_WARN ||
	    archive_write_open(a, &s, NULL, archive_out, NULL) != ARCHIVE_OK) {
		error = stele_error_archive(a, "cannot start layer");
		goto out;
	}
	/* Progress in file content bytes (a hardlink's counted each time:
	 * done reaches total). */
	for (i = 0; o->progress && i < p->n; i++)
		if (p->entries[i].type == STELE_ENTRY_FILE)
			total += p->entries[i].size;
	for (i = 0; i < p->n; i++) {
		if ((error = write_entry(a, ae, p, i, s.diff, o)) < 0)
			goto out;
		if (o->progress && p->entries[i].type == STELE_ENTRY_FILE) {
			done += p->entries[i].size;
			o->progress(o->progress_payload, done, total);
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		error = s.error ? s.error
				: stele_error_archive(a, "cannot finish layer");
		goto out;
	}
	if ((error = stele_compressor_finish(s.comp)) < 0)
		goto out;
	stele_hashpipe_finish(s.diff, out->diff_id, NULL);
	s.diff = NULL;
	/* The files' digests are in: a hardlink has its first path's. */
	for (i = 0; i < p->n; i++) {
		struct stele_plan_entry *e = &p->entries[i];

		if (e->type != STELE_ENTRY_FILE)
			continue;
		if (e->hardlink_to >= 0)
			memcpy(e->digest, p->entries[e->hardlink_to].digest,
			       sizeof(e->digest));
		e->digested = 1;
	}
	if ((error = stele_blob_writer_commit(s.blob, out->digest,
					      &out->size)) < 0) {
		s.blob = NULL;
		goto out;
	}
	s.blob = NULL;
	snprintf(out->media_type, sizeof(out->media_type), "%s%s",
		 STELE_MT_LAYER, stele_compression_suffix(o->compression));
out:
	if (error && s.error)
		error = s.error;
	if (ae)
		archive_entry_free(ae);
	if (a)
		archive_write_free(a);
	stele_compressor_free(s.comp);
	stele_blob_writer_free(s.blob);
	stele_hashpipe_free(s.diff);
	return error;
}
