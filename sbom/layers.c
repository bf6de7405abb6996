#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "oci/extract.h"
#include "oci/hashpipe.h"
#include "sbom/sbom.h"
#include "sbom/tree.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/lazy.h"

/*
 * One pass over one layer blob: the compressed bytes go to a hash thread
 * (the blob digest, compared with the manifest's at the end), the tar
 * entries update the tree.  Whiteouts are collected and applied after the
 * layer's last entry, to what lower layers put there only (OCI image spec,
 * "Whiteouts": they never hide an entry of their own layer, in whichever
 * order the layer lists them).
 */

#define READ_BLOCK 65536
#define SHOW_MAX 200

struct reader {
	int fd;
	struct stele_hashpipe *h;
	char buf[READ_BLOCK];
};

struct lctx {
	struct stele_sbom__tree *t;
	struct stele_sbom__tree wh; /* whiteouts: paths hidden */
	struct stele_sbom__tree opq; /* opaque directories */
	struct archive *a;
	EVP_MD_CTX *c256, *cmd5, *csha1;
	uint32_t layer;
	const char *what; /* the layer digest */
	char name[SHOW_MAX + 8];
	uint64_t entries, max_entries;
	int db_changed;
};

static la_ssize_t
read_cb(struct archive *a, void *payload, const void **out)
{
	struct reader *r = payload;
	ssize_t n;

	(void)a;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n > 0)
		stele_hashpipe_write(r->h, r->buf, (size_t)n);
	*out = r->buf;
	return n;
}

static int
entry_error(struct lctx *x, const char *reason)
{
	return stele_error_setc(STELE_EINVALID, "layer %s: entry '%s': %s",
				x->what, x->name, reason);
}

/* "./a//b/" -> "a/b"; NULL for an absolute name or a ".." component. */
static char *
clean(const char *raw)
{
	char *s;

	if (strlen(raw) > STELE_PATH_MAX || stele_path_clean_rel(&s, raw))
		return NULL;
	return s;
}

static struct stele_sbom__node *
node_new(const char *path, uint32_t layer, int type)
{
	struct stele_sbom__node *n = stele_xcalloc(1, sizeof(*n));

	n->path = stele_xstrdup(path);
	n->layer = layer;
	n->type = (uint8_t)type;
	return n;
}

static void
mark(struct stele_sbom__tree *set, const char *path)
{
	if (!stele_sbom__tree_get(set, path))
		stele_sbom__tree_put(set, node_new(path, 0, STELE_SBOM__OTHER));
}

/*
 * A node at `path` in this layer: what a lower layer had there is
 * replaced; a lower directory replaced by a non-directory takes its
 * contents with it, as it does on an overlay filesystem.
 */
static void
put(struct lctx *x, struct stele_sbom__node *n)
{
	struct stele_sbom__node *old = stele_sbom__tree_get(x->t, n->path);

	if (old && old->type == STELE_SBOM__DIR && n->type != STELE_SBOM__DIR &&
	    old->layer != x->layer)
		mark(&x->opq, n->path);
	if ((old && old->content) || n->content)
		if (stele_sbom__pkgdb_path(n->path))
			x->db_changed = 1;
	stele_sbom__tree_put(x->t, n);
}

/* Hash `len` bytes of the entry (and keep them when capturing): -1 when
 * they pass the capture's cap. */
static int
feed(struct lctx *x, struct stele_sbom__node *n, int capture, const void *p,
     size_t len)
{
	EVP_DigestUpdate(x->c256, p, len);
	EVP_DigestUpdate(x->cmd5, p, len);
	EVP_DigestUpdate(x->csha1, p, len);
	return capture && stele_buf_put(n->content, p, len) < 0 ? -1 : 0;
}

static int
read_file(struct lctx *x, struct stele_sbom__node *n, int capture)
{
	static const unsigned char zeros[4096];
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t pos = 0;
	int r;

	if (EVP_DigestInit_ex(x->c256, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(x->cmd5, EVP_md5(), NULL) != 1 ||
	    EVP_DigestInit_ex(x->csha1, EVP_sha1(), NULL) != 1)
		return stele_error_ssl("cannot start a digest");
	if (capture) {
		n->content = stele_xcalloc(1, sizeof(*n->content));
		n->content->max = STELE_SBOM_DB_MAX;
	}
	for (;;) {
		r = archive_read_data_block(x->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			char prefix[SHOW_MAX + 120];

			snprintf(prefix, sizeof(prefix), "layer %s: entry '%s'",
				 x->what, x->name);
			return stele_error_archive(x->a, prefix);
		}
		/* Sparse holes read as zeros. */
		while (off >= 0 && (uint64_t)off > pos) {
			size_t z = (uint64_t)off - pos > sizeof(zeros)
				? sizeof(zeros)
				: (size_t)((uint64_t)off - pos);

			if (feed(x, n, capture, zeros, z) < 0)
				goto toobig;
			pos += z;
		}
		if (feed(x, n, capture, buf, len) < 0)
			goto toobig;
		pos += len;
	}
	while (pos < n->size) {
		size_t z = n->size - pos > sizeof(zeros)
			? sizeof(zeros)
			: (size_t)(n->size - pos);

		if (feed(x, n, capture, zeros, z) < 0)
			goto toobig;
		pos += z;
	}
	n->size = pos;
	if (EVP_DigestFinal_ex(x->c256, n->sha256, NULL) != 1 ||
	    EVP_DigestFinal_ex(x->cmd5, n->md5, NULL) != 1 ||
	    EVP_DigestFinal_ex(x->csha1, n->sha1, NULL) != 1)
		return stele_error_ssl("cannot finish a digest");
	if (capture) {
		x->t->captured += n->content->len;
		if (x->t->captured > STELE_SBOM_DB_TOTAL_MAX)
			return stele_error_setc(
				STELE_EINVALID,
				"layer %s: entry '%s': the package databases of the image "
				"are larger than %u MiB together",
				x->what, x->name,
				STELE_SBOM_DB_TOTAL_MAX >> 20);
	}
	return 0;
toobig:
	return stele_error_setc(
		STELE_EINVALID,
		"layer %s: package database '%s' is larger than %u MiB",
		x->what, x->name, STELE_SBOM_DB_MAX >> 20);
}

static int
whiteout(struct lctx *x, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t dirlen = base ? (size_t)(base - path) : 0;
	char *target;

	base = base ? base + 1 : path;
	if (strncmp(base, ".wh.", 4))
		return 0;
	if (!strcmp(base, ".wh..wh..opq")) {
		target = stele_xstrndup(path, dirlen);
		mark(&x->opq, target);
	} else {
		if (!base[4] || !strcmp(base + 4, ".") ||
		    !strcmp(base + 4, ".."))
			return entry_error(x, "malformed whiteout");
		target = dirlen ? stele_xasprintf("%.*s/%s", (int)dirlen, path,
						  base + 4)
				: stele_xstrdup(base + 4);
		mark(&x->wh, target);
	}
	free(target);
	return 1;
}

static int
entry(struct lctx *x, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e), *hl;
	struct stele_sbom__node *n, *src;
	char *path;
	int error, type;

	stele_extract_show(x->name, sizeof(x->name), raw ? raw : "", SIZE_MAX);
	if (++x->entries > x->max_entries)
		return stele_error_setc(
			STELE_EINVALID,
			"layer %s has more than %llu entries (the max-entries limit)",
			x->what, (unsigned long long)x->max_entries);
	if (!raw || !(path = clean(raw)))
		return entry_error(
			x, "the name is absolute, empty, too long or has '..'");
	if (!*path) {
		free(path);
		return 0;
	}
	if ((error = whiteout(x, path)) != 0) {
		free(path);
		return error < 0 ? error : 0;
	}
	if ((hl = archive_entry_hardlink(e))) {
		char *target = clean(hl);

		src = target ? stele_sbom__tree_get(x->t, target) : NULL;
		free(target);
		if (!src || src->type != STELE_SBOM__FILE) {
			free(path);
			return entry_error(
				x,
				"a hardlink to no regular file of the image");
		}
		n = node_new(path, x->layer, STELE_SBOM__FILE);
		n->size = src->size;
		memcpy(n->sha256, src->sha256, sizeof(n->sha256));
		memcpy(n->md5, src->md5, sizeof(n->md5));
		memcpy(n->sha1, src->sha1, sizeof(n->sha1));
		if (src->content && stele_sbom__captured_path(path)) {
			n->content = stele_xcalloc(1, sizeof(*n->content));
			n->content->max = STELE_SBOM_DB_MAX;
			stele_buf_put(n->content, src->content->ptr,
				      src->content->len);
			x->t->captured += n->content->len;
		}
		free(path);
		put(x, n);
		return 0;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: type = STELE_SBOM__FILE; break;
	case AE_IFDIR: type = STELE_SBOM__DIR; break;
	case AE_IFLNK: type = STELE_SBOM__LINK; break;
	default: type = STELE_SBOM__OTHER; break;
	}
	n = node_new(path, x->layer, type);
	free(path);
	if (type == STELE_SBOM__LINK)
		n->link = stele_xstrdup(archive_entry_symlink(e)
						? archive_entry_symlink(e)
						: "");
	if (type == STELE_SBOM__FILE) {
		n->size = archive_entry_size_is_set(e) &&
				archive_entry_size(e) > 0
			? (uint64_t)archive_entry_size(e)
			: 0;
		if ((error = read_file(
			     x, n, stele_sbom__captured_path(n->path))) < 0) {
			stele_sbom__node_free(n);
			return error;
		}
	}
	put(x, n);
	return 0;
}

/* Hidden by a whiteout of this layer: the path, or a directory above it. */
static int
hidden(struct lctx *x, const char *path)
{
	char *p;
	int hit = stele_sbom__tree_get(&x->wh, path) != NULL;
	size_t i;

	if (hit || (!x->opq.n && !x->wh.n))
		return hit;
	p = stele_xstrdup(path);
	for (i = strlen(p); i > 0 && !hit; i--) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		hit = stele_sbom__tree_get(&x->wh, p) ||
			stele_sbom__tree_get(&x->opq, p);
	}
	free(p);
	return hit;
}

static void
apply_whiteouts(struct lctx *x)
{
	struct stele_sbom__node *n;
	size_t i = 0;

	if (!x->wh.n && !x->opq.n)
		return;
	/* An opaque root directory hides everything below. */
	while ((n = stele_sbom__tree_next(x->t, &i))) {
		if (n->layer == x->layer)
			continue;
		if (!hidden(x, n->path) &&
		    !(stele_sbom__tree_get(&x->opq, "") != NULL))
			continue;
		if (n->content && stele_sbom__pkgdb_path(n->path))
			x->db_changed = 1;
		stele_sbom__tree_del(x->t, n->path);
	}
}

int
stele_sbom__layer_read(struct stele_sbom__tree *t,
		       const struct stele_image *img, size_t i,
		       const struct stele_limits *limits, int *db_changed)
{
	json_t *l = stele_image_layer(img, i);
	const char *want = stele_json_str(l, "digest");
	json_int_t want_size = stele_json_int(l, "size");
	struct reader *r = stele_xcalloc(1, sizeof(*r));
	struct archive_entry *e;
	struct lctx x;
	char got[STELE_DIGEST_STRLEN], prefix[120];
	uint64_t size = 0;
	const void *buf;
	int error = 0, rc;

	memset(&x, 0, sizeof(x));
	r->fd = -1;
	x.t = t;
	x.layer = (uint32_t)i;
	x.what = want ? want : "(no digest)";
	x.max_entries = stele_limits_entries(limits);
	stele_sbom__tree_init(&x.wh);
	stele_sbom__tree_init(&x.opq);
	snprintf(prefix, sizeof(prefix), "layer %s", x.what);
	if (!want)
		return stele_error_setc(STELE_EINVALID,
					"layer %zu of image %s has no digest",
					i + 1, img->digest);
	if ((error = stele_oci_blob_open(&r->fd, img->oci, want)) < 0 ||
	    (error = stele_hashpipe_start(&r->h)) < 0)
		goto out;
	x.c256 = EVP_MD_CTX_new();
	x.cmd5 = EVP_MD_CTX_new();
	x.csha1 = EVP_MD_CTX_new();
	if (!x.c256 || !x.cmd5 || !x.csha1) {
		error = stele_error_ssl("cannot allocate a digest");
		goto out;
	}
	if (!(x.a = archive_read_new())) {
		error = stele_error_set("%s: cannot allocate a reader", prefix);
		goto out;
	}
	if (archive_read_support_filter_gzip(x.a) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(x.a) < ARCHIVE_WARN ||
	    archive_read_support_filter_none(x.a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(x.a) < ARCHIVE_WARN ||
	    archive_read_open(x.a, r, NULL, read_cb, NULL) < ARCHIVE_WARN) {
		error = stele_error_archive(x.a, prefix);
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(x.a, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			error = stele_error_archive(x.a, prefix);
			break;
		}
		if ((error = entry(&x, e)) < 0)
			break;
	}
	/*
	 * The rest of the blob counts for its digest.  The bytes are parsed
	 * as they stream, so a blob that fails to parse is read to its end
	 * too: a corrupt blob is reported as corrupt, whatever it broke.
	 */
	while (read_cb(NULL, r, &buf) > 0)
		;
	stele_hashpipe_finish(r->h, got, &size);
	r->h = NULL;
	if (strcmp(got, want) ||
	    (want_size >= 0 && size != (uint64_t)want_size)) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"layer %s is corrupt: its %llu bytes hash to %s", want,
			(unsigned long long)size, got);
		goto out;
	}
	if (error < 0)
		goto out;
	apply_whiteouts(&x);
	*db_changed = x.db_changed;
out:
	if (x.a)
		archive_read_free(x.a);
	EVP_MD_CTX_free(x.c256);
	EVP_MD_CTX_free(x.cmd5);
	EVP_MD_CTX_free(x.csha1);
	stele_sbom__tree_release(&x.wh);
	stele_sbom__tree_release(&x.opq);
	stele_hashpipe_free(r->h);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return error;
}
