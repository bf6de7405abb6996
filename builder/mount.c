#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_priv.h"
#include "builder/values.h"
#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/limits.h"

/*
 * RUN --mount=type=bind: the build context, an earlier stage or an image,
 * from `source` down, copied into a directory of the step's own and bound
 * there.  A copy, because the step must see the tree as COPY would (links
 * resolved inside their root, .dockerignore applied, modes normalised),
 * and because rw writes must go nowhere: the copy is removed after the
 * step, and the sandbox keeps mounts out of the layer.
 */

#define MAX_DEPTH 256

/* The earlier stage named `from` (its name, any case, or its index). */
static struct stage *
earlier_stage(struct build *b, struct stage *s, const char *from)
{
	char *end;
	unsigned long n;
	size_t i;

	for (i = 0; i < s->index; i++)
		if (b->stages[i]->name && !strcasecmp(b->stages[i]->name, from))
			return b->stages[i];
	errno = 0;
	n = strtoul(from, &end, 10);
	if (*from >= '0' && *from <= '9' && !*end && !errno && n < s->index)
		return b->stages[n];
	return NULL;
}

/* BuildKit's path.Join("/", source), without the leading slash. */
static char *
source_rel(const struct stele_mount *m)
{
	char *j = stele_xasprintf("/%s", m->source ? m->source : "");
	char *abs = stele_path_clean_abs(j), *rel = stele_xstrdup(abs + 1);

	free(j);
	free(abs);
	return rel;
}

static int
unknown_from(const char *from)
{
	return stele_error_setc(
		STELE_EINVALID,
		"--mount: from=%s: unknown stage "
		"'%s' (stages must come earlier in the recipe; an image is "
		"named with a tag, a digest or a registry, as %s:TAG)",
		from, from, from);
}

int
stele_build__image_extract(char **dir, char digest[STELE_DIGEST_STRLEN],
			   struct build *b, const char *name)
{
	struct stele_image *img = NULL;
	char *d = stele_xasprintf("%s/image-%u", b->tmp, b->tmp_seq++);
	size_t i;
	int error;

	*dir = NULL;
	if ((error = stele_build__image_open(&img, b, name)) < 0 ||
	    (error = stele_fs_mkdir_p(d, 0755)) < 0)
		goto out;
	for (i = 0; i < stele_image_nlayers(img) && !error; i++) {
		const char *l =
			stele_json_str(stele_image_layer(img, i), "digest");
		int fd;

		if ((error = stele_oci_blob_open(&fd, img->oci, l ? l : "")) <
		    0)
			break;
		error = stele_extract_fd(fd, d, 0, l, &b->o->limits);
		close(fd);
	}
	if (!error) {
		snprintf(digest, STELE_DIGEST_STRLEN, "%s", img->digest);
		*dir = d;
		d = NULL;
	}
out:
	stele_fs_tmp_free(d);
	stele_image_free(img);
	return error;
}

/* An image's manifest digest, without reading its layers. */
static int
image_digest(char out[STELE_DIGEST_STRLEN], struct build *b, const char *name)
{
	struct stele_image *img = NULL;
	int error;

	if ((error = stele_build__image_open(&img, b, name)) == 0)
		snprintf(out, STELE_DIGEST_STRLEN, "%s", img->digest);
	stele_image_free(img);
	return error;
}

int
stele_build__bind_key(json_t *keys, struct build *b, struct stage *s,
		      const struct stele_mount *m)
{
	char *rel = source_rel(m), d[STELE_DIGEST_STRLEN];
	struct stage *src = NULL;
	json_t *k = json_pack("{s:s,s:s,s:b}", "target", m->target, "path", rel,
			      "readonly", m->readonly);
	int error = 0;

	if (!m->from) {
		if ((error = stele_context_digest_known(d, b->ctx, rel, NULL,
							NULL)) == 0)
			json_object_set_new(k, "context", json_string(d));
		else if (error == STELE_ENOTFOUND)
			error = stele_error_setc(
				STELE_EINVALID,
				"--mount: source "
				"'%s' not found in the build context%s",
				*rel ? rel : ".",
				stele_context_kind(b->ctx) == STELE_CONTEXT_DIR
					? " (or excluded by .dockerignore)"
					: "");
	} else if ((src = earlier_stage(b, s, m->from))) {
		json_object_set_new(k, "stage",
				    json_integer((json_int_t)src->index));
		json_object_set(k, "diffIDs", src->diff_ids);
	} else if (!strchr(m->from, ':') && !strchr(m->from, '/')) {
		error = unknown_from(m->from);
	} else if ((error = image_digest(d, b, m->from)) == 0) {
		json_object_set_new(k, "image", json_string(d));
		/* Recorded on a cache hit as on a miss. */
		stele_prov_dep(&b->prov, m->from,
			       json_pack("{s:s}", "sha256", d + 7));
	} else {
		stele_error_prefix(error, "--mount: from=%s", m->from);
	}
	if (!error)
		json_array_append(keys, k);
	json_decref(k);
	free(rel);
	return error;
}

/* ---- copying a tree out of a context, hashing what was copied ---- */

struct walk {
	struct build *b;
	struct stele_context *ctx;
	struct stele_sha256 h;
	uint64_t entries, bytes;
	int chown;
};

struct sink {
	int fd;
	struct stele_sha256 *h;
};

static int
sink_write(void *payload, const void *data, size_t len)
{
	struct sink *k = payload;

	stele_sha256_update(k->h, data, len);
	return stele_fs_write_all(k->fd, data, len);
}

/* The file's bytes into `dst` (new), hashed into *digest. */
static int
copy_file(struct walk *w, const struct stele_ctx_stat *st, const char *dst,
	  char digest[STELE_DIGEST_STRLEN])
{
	struct stele_sha256 h;
	struct sink k;
	char buf[65536];
	int in = -1, error;
	ssize_t n;

	k.fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (k.fd < 0)
		return stele_error_errno("cannot create '%s'", dst);
	k.h = &h;
	if ((error = stele_sha256_init(&h)) < 0) {
		close(k.fd);
		return error;
	}
	if (st->src_kind == STELE_SRC_PATH) {
		if ((in = open(st->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			error = stele_error_errno("cannot open '%s'", st->src);
		while (!error && (n = read(in, buf, sizeof(buf))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				error = stele_error_errno("cannot read '%s'",
							  st->src);
			else
				error = sink_write(&k, buf, (size_t)n);
		}
		if (in >= 0)
			close(in);
	} else {
		struct stele_plan_entry e = { 0 };

		e.path = (char *)dst;
		e.src = st->src;
		e.size = st->size;
		e.src_kind = st->src_kind;
		error = stele_context_src_read(w->ctx, &e, sink_write, &k);
	}
	if (close(k.fd) < 0 && !error)
		error = stele_error_errno("cannot write '%s'", dst);
	if (error < 0) {
		stele_sha256_release(&h);
		return error;
	}
	stele_sha256_final(&h, digest);
	return 0;
}

/* Owner, mode and the epoch as mtime on what was just made. */
static int
finish(struct walk *w, const char *dst, const struct stele_ctx_stat *st)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)w->b->epoch;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (w->chown && lchown(dst, st->uid, st->gid) < 0)
		return stele_error_errno("cannot set the owner of '%s'", dst);
	if (st->type != STELE_ENTRY_SYMLINK && chmod(dst, st->perm) < 0)
		return stele_error_errno("cannot set the mode of '%s'", dst);
	if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return stele_error_errno("cannot set the time of '%s'", dst);
	return 0;
}

/* One record per entry, as the context's digests write them. */
static void
record(struct walk *w, const char *rel, const struct stele_ctx_stat *st,
       const char *digest)
{
	struct stele_buf rec = STELE_BUF_INIT(64 << 10);

	if (stele_buf_printf(&rec, "%s%c%d %o %u %u%c%s%c%s\n", rel, 0,
			     (int)st->type, (unsigned)st->perm,
			     (unsigned)st->uid, (unsigned)st->gid, 0,
			     st->link ? st->link : "", 0, digest) < 0)
		abort();
	stele_sha256_update(&w->h, rec.ptr, rec.len);
	stele_buf_release(&rec);
}

/*
 * Copy `src` (a resolved context path) to the host path `dst`, which must
 * not exist; `rel` is its path inside the mount ("" for the top).
 */
static int
walk(struct walk *w, const char *src, const char *dst, const char *rel,
     int depth)
{
	struct stele_ctx_stat st;
	char digest[STELE_DIGEST_STRLEN] = "", lim[32];
	char **names = NULL;
	size_t n = 0, i;
	int error;

	if (depth > MAX_DEPTH)
		return stele_error_setc(STELE_EINVALID, "'%s' nests too deeply",
					src);
	if ((error = stele_context_stat(&st, w->ctx, src)) < 0)
		return error;
	if (++w->entries > stele_limits_entries(&w->b->o->limits)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"the mounted tree has more "
			"than %llu entries (max-entries)",
			(unsigned long long)stele_limits_entries(
				&w->b->o->limits));
		goto out;
	}
	switch (st.type) {
	case STELE_ENTRY_DIR:
		if (mkdir(dst, 0700) < 0) {
			error = stele_error_errno("cannot create '%s'", dst);
			break;
		}
		if (!st.excluded)
			record(w, rel, &st, "");
		if ((error = stele_context_list(&names, &n, w->ctx, src)) < 0)
			break;
		for (i = 0; i < n && !error; i++) {
			char *s = stele_path_rel(src, names[i]);
			char *d = stele_path_join(dst, names[i]);
			char *r = stele_path_rel(rel, names[i]);

			error = walk(w, s, d, r, depth + 1);
			if (error == STELE_ENOTFOUND)
				error = 0; /* excluded by .dockerignore */
			free(s);
			free(d);
			free(r);
		}
		stele_strv_free(names, n);
		/* An excluded directory is there only for what an exception
		 * brings back into it. */
		if (!error && st.excluded && rmdir(dst) == 0)
			break;
		if (!error)
			error = finish(w, dst, &st);
		break;
	case STELE_ENTRY_FILE:
		w->bytes += st.size;
		if (w->bytes > stele_limits_size(&w->b->o->limits)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"the mounted tree "
				"holds more than %s (max-size)",
				stele_limits_fmt(
					lim,
					stele_limits_size(&w->b->o->limits)));
			break;
		}
		if ((error = copy_file(w, &st, dst, digest)) == 0 &&
		    (error = finish(w, dst, &st)) == 0)
			record(w, rel, &st, digest);
		break;
	case STELE_ENTRY_SYMLINK:
		/* Kept a link: the step resolves it in its own root. */
		if (symlink(st.link, dst) < 0)
			error = stele_error_errno("cannot create '%s'", dst);
		else if ((error = finish(w, dst, &st)) == 0)
			record(w, rel, &st, "");
		break;
	case STELE_ENTRY_FIFO:
		if (mkfifo(dst, 0600) < 0)
			error = stele_error_errno("cannot create '%s'", dst);
		else if ((error = finish(w, dst, &st)) == 0)
			record(w, rel, &st, "");
		break;
	default:
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' is a device node; "
					 "a bind mount does not copy devices",
					 src);
		break;
	}
out:
	stele_ctx_stat_release(&st);
	return error;
}

/*
 * Copy `rel` of `ctx` (links in it followed inside the context) to
 * DIR/tree; *digest is the mounted tree's.
 */
static int
copy_source(char digest[STELE_DIGEST_STRLEN], struct build *b,
	    struct stele_context *ctx, const char *rel, const char *dir,
	    const char *what)
{
	struct walk w;
	char *rp = NULL, *dst = stele_path_join(dir, "tree");
	int error;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.ctx = ctx;
	w.chown = geteuid() == 0;
	if ((error = stele_context_resolve(&rp, ctx, rel)) < 0)
		goto out;
	if ((error = stele_sha256_init(&w.h)) < 0)
		goto out;
	error = walk(&w, rp, dst, "", 0);
	if (error == STELE_ENOTFOUND)
		error = stele_error_setc(STELE_EINVALID,
					 "--mount: source '%s' "
					 "not found in %s",
					 *rel ? rel : ".", what);
	if (error < 0) {
		stele_sha256_release(&w.h);
		goto out;
	}
	stele_sha256_final(&w.h, digest);
	{
		struct stat st;

		/* Nothing: an ignored directory that nothing is brought
		 * back into ("!" patterns elsewhere). */
		if (lstat(dst, &st) < 0)
			error = stele_error_setc(STELE_EINVALID,
						 "--mount: source "
						 "'%s' not found in %s",
						 *rel ? rel : ".", what);
	}
out:
	free(rp);
	free(dst);
	return error;
}

int
stele_build__bind_prepare(char **dir, char **src, json_t **prov,
			  struct build *b, struct stage *s,
			  const struct stele_mount *m)
{
	struct stele_context *ctx = NULL;
	struct stage *st = NULL;
	char *rel = source_rel(m), *root = NULL, *what = NULL, *path;
	char d[STELE_DIGEST_STRLEN], img[STELE_DIGEST_STRLEN] = "";
	int error = 0;

	*dir = stele_xasprintf("%s/bind-%u", b->tmp, b->tmp_seq++);
	*src = NULL;
	*prov = NULL;
	if (m->from && !(st = earlier_stage(b, s, m->from)) &&
	    !strchr(m->from, ':') && !strchr(m->from, '/')) {
		error = unknown_from(m->from);
		goto out;
	}
	if (!m->from) {
		ctx = b->ctx;
		what = stele_xstrdup("the build context");
	} else if (st) {
		if ((error = stele_build__stage_sync(b, st)) < 0 ||
		    (error = stele_context_open_rootfs(&ctx, st->rootfs)) < 0)
			goto out;
		what = stele_xasprintf("stage '%s'", st->label);
	} else {
		if ((error = stele_build__image_extract(&root, img, b,
							m->from)) < 0 ||
		    (error = stele_context_open_rootfs(&ctx, root)) < 0) {
			stele_error_prefix(error, "--mount: from=%s", m->from);
			goto out;
		}
		what = stele_xasprintf("image '%s'", m->from);
	}
	if ((error = stele_fs_mkdir_p(*dir, 0700)) < 0 ||
	    (error = copy_source(d, b, ctx, rel, *dir, what)) < 0)
		goto out;
	*src = stele_path_join(*dir, "tree");
	path = stele_xasprintf("/%s", rel);
	*prov = json_pack("{s:s,s:s,s:s,s:s,s:b,s:{s:s}}", "type", "bind",
			  "target", m->target, "from",
			  !m->from     ? "context"
				  : st ? "stage"
				       : "image",
			  "path", path, "readonly", m->readonly, "digest",
			  "sha256", d + 7);
	free(path);
	if (st)
		json_object_set_new(*prov, "stage",
				    json_pack("{s:s?,s:i}", "name", st->name,
					      "index", (int)st->index));
	else if (m->from)
		json_object_set_new(
			*prov, "image",
			json_pack("{s:s,s:s}", "name", m->from, "digest", img));
out:
	if (ctx != b->ctx)
		stele_context_free(ctx);
	stele_fs_tmp_free(root);
	free(what);
	free(rel);
	return error;
}
