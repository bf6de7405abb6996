/* The inventory cache (sbom.h, stele_sbom_read_cached). */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* DIR/<hex>.json for the image, limits and reader. */
static char *
entry_path(const char *dir, const struct stele_image *img,
	   const struct stele_sbom_opts *opts, const char *tool)
{
	const struct stele_limits *l = opts ? &opts->limits : NULL;
	char *key = stele_xasprintf(
		STELE_SBOM_CACHE_FORMAT "\n%s\n%llu\n%llu\n%s\n", img->digest,
		(unsigned long long)stele_limits_size(l),
		(unsigned long long)stele_limits_entries(l), tool ? tool : "");
	char dig[STELE_DIGEST_STRLEN], *path;

	stele_digest_bytes(dig, key, strlen(key));
	path = stele_xasprintf("%s/%s.json", dir, dig + strlen("sha256:"));
	free(key);
	return path;
}

/*
 * What stat says of each layer blob of `img` in the store (size, mtime,
 * ctime, device, inode): the entry is used only while these are as they
 * were when the blobs were read and their digests checked, so a blob
 * damaged or replaced since is read again (and reported).  NULL when a
 * blob cannot be stat'ed (the read that follows says why).
 */
static char *
blob_stamp(const struct stele_image *img)
{
	struct stele_buf b = STELE_BUF_INIT(1u << 24);
	size_t i, n = stele_image_nlayers(img);
	char *r = NULL;

	for (i = 0; i < n; i++) {
		const char *dig =
			stele_json_str(stele_image_layer(img, i), "digest");
		char *path = dig && stele_digest_validate(dig) == 0
			? stele_oci_blob_path(img->oci, dig)
			: NULL;
		struct stat st;
		int ok = path && stat(path, &st) == 0;

		free(path);
		if (!ok ||
		    stele_buf_printf(&b,
				     "%s %lld %lld.%09ld %lld.%09ld "
				     "%llu:%llu\n",
				     dig, (long long)st.st_size,
				     (long long)st.st_mtim.tv_sec,
				     (long)st.st_mtim.tv_nsec,
				     (long long)st.st_ctim.tv_sec,
				     (long)st.st_ctim.tv_nsec,
				     (unsigned long long)st.st_dev,
				     (unsigned long long)st.st_ino) < 0)
			goto out;
	}
	r = stele_xstrdup(b.ptr ? stele_buf_cstr(&b) : "");
out:
	stele_buf_release(&b);
	stele_error_clear();
	return r;
}

/* A package's strings but its type, by their keys in an entry. */
#define PKG_STR(k, f) \
	{ \
		k, offsetof(struct stele_sbom_pkg, f) \
	}
static const struct {
	const char *key;
	size_t off;
} pkg_strs[] = {
	PKG_STR("name", name),
	PKG_STR("version", version),
	PKG_STR("arch", arch),
	PKG_STR("source", source),
	PKG_STR("sourceVersion", source_version),
	PKG_STR("origin", origin),
	PKG_STR("license", license),
	PKG_STR("maintainer", maintainer),
	PKG_STR("url", url),
	PKG_STR("commit", commit),
	PKG_STR("db", db),
	PKG_STR("purl", purl),
};

/* 0, or -1 when `v` cannot be set (not UTF-8: the entry is not stored). */
static int
put_str(json_t *o, const char *k, const char *v)
{
	return v && json_object_set_new(o, k, json_string(v)) < 0 ? -1 : 0;
}

/* The entry's document; NULL when a string is not UTF-8. */
static json_t *
encode(const struct stele_sbom *s, const char *stamp)
{
	json_t *pkgs = json_array(), *files = json_array(), *o;
	size_t i, j;
	int bad = 0;

	for (i = 0; i < s->npkgs && !bad; i++) {
		const struct stele_sbom_pkg *p = &s->pkgs[i];

		o = json_pack("{s:s*,s:I,s:I}", "type", p->type, "layer",
			      (json_int_t)p->layer, "nfiles",
			      (json_int_t)p->nfiles);
		for (j = 0; o && j < sizeof(pkg_strs) / sizeof(*pkg_strs); j++)
			if (put_str(o, pkg_strs[j].key,
				    *(char *const *)((const char *)p +
						     pkg_strs[j].off)) < 0) {
				json_decref(o);
				o = NULL;
			}
		bad = json_array_append_new(pkgs, o) < 0;
	}
	for (i = 0; i < s->nfiles && !bad; i++) {
		const struct stele_sbom_file *f = &s->files[i];

		bad = json_array_append_new(
			      files,
			      json_pack("{s:s*,s:i,s:s,s:s,s:I,s:I,s:s*,s:s*}",
					"path", f->path, "finding",
					(int)f->finding, "sha256", f->sha256,
					"sha1", f->sha1, "size",
					(json_int_t)f->size, "layer",
					(json_int_t)f->layer, "package",
					f->package, "expected", f->expected)) <
			0;
	}
	if (bad) {
		json_decref(pkgs);
		json_decref(files);
		return NULL;
	}
	return json_pack("{s:s*,s:s*,s:s*,s:I,s:I,s:s*,s:s*,s:o,s:o}", "format",
			 STELE_SBOM_CACHE_FORMAT, "blobs", stamp, "image",
			 s->image, "nlayers", (json_int_t)s->nlayers, "nowned",
			 (json_int_t)s->nowned, "distroId", s->distro_id,
			 "distroVersion", s->distro_version, "packages", pkgs,
			 "files", files);
}

/* The optional string `k` of `o` (malloc'd in *out); -1 when not a string. */
static int
get_str(char **out, const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = stele_xstrdup(json_string_value(v));
	return 0;
}

/* The integer `k` of `o`, in [0, max]. */
static int
get_num(uint64_t *out, const json_t *o, const char *k, uint64_t max)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A fixed-size hex field: the exact length, hex digits only. */
static int
get_hex(char *out, size_t len, const json_t *o, const char *k)
{
	const char *v = stele_json_str(o, k);
	size_t i;

	if (!v || strlen(v) != len)
		return -1;
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", v[i]))
			return -1;
	memcpy(out, v, len + 1);
	return 0;
}

static int
decode_pkg(struct stele_sbom_pkg *p, const json_t *o, size_t nlayers)
{
	const char *t = stele_json_str(o, "type");
	uint64_t layer, nfiles;
	size_t i;

	if (!json_is_object(o) || !t)
		return -1;
	/* The type is one of the static strings stele_sbom_pkg names. */
	p->type = !strcmp(t, "deb") ? "deb"
		: !strcmp(t, "apk") ? "apk"
		: !strcmp(t, "rpm") ? "rpm"
				    : NULL;
	if (!p->type)
		return -1;
	for (i = 0; i < sizeof(pkg_strs) / sizeof(*pkg_strs); i++)
		if (get_str((char **)((char *)p + pkg_strs[i].off), o,
			    pkg_strs[i].key) < 0)
			return -1;
	if (!p->name || !p->version ||
	    get_num(&layer, o, "layer", nlayers ? nlayers - 1 : 0) < 0 ||
	    get_num(&nfiles, o, "nfiles", SIZE_MAX) < 0)
		return -1;
	p->layer = (size_t)layer;
	p->nfiles = (size_t)nfiles;
	return 0;
}

static int
decode_file(struct stele_sbom_file *f, const json_t *o, size_t nlayers)
{
	uint64_t finding, size, layer;

	if (!json_is_object(o) ||
	    get_num(&finding, o, "finding", STELE_SBOM_MODIFIED) < 0 ||
	    finding < STELE_SBOM_UNOWNED || get_str(&f->path, o, "path") < 0 ||
	    !f->path || get_str(&f->package, o, "package") < 0 ||
	    get_str(&f->expected, o, "expected") < 0 ||
	    get_hex(f->sha256, 64, o, "sha256") < 0 ||
	    get_hex(f->sha1, 40, o, "sha1") < 0 ||
	    get_num(&size, o, "size", INT64_MAX) < 0 ||
	    get_num(&layer, o, "layer", nlayers ? nlayers - 1 : 0) < 0)
		return -1;
	f->finding = (enum stele_sbom_finding)finding;
	f->size = size;
	f->layer = (size_t)layer;
	return 0;
}

/* Fill `s` (its head already read) from a cached document; -1 when the
 * document is not an inventory of this image in this format. */
static int
decode(struct stele_sbom *s, const json_t *root, const char *stamp)
{
	const char *blobs = stele_json_str(root, "blobs");
	const json_t *pkgs = json_object_get(root, "packages");
	const json_t *files = json_object_get(root, "files");
	const char *fmt = stele_json_str(root, "format");
	const char *image = stele_json_str(root, "image");
	uint64_t nlayers, nowned;
	size_t i;

	if (!fmt || strcmp(fmt, STELE_SBOM_CACHE_FORMAT) || !image || !blobs ||
	    !stamp || strcmp(blobs, stamp) || strcmp(image, s->image) ||
	    get_num(&nlayers, root, "nlayers", SIZE_MAX) < 0 ||
	    nlayers != s->nlayers ||
	    get_num(&nowned, root, "nowned", SIZE_MAX) < 0 ||
	    get_str(&s->distro_id, root, "distroId") < 0 ||
	    get_str(&s->distro_version, root, "distroVersion") < 0 ||
	    !json_is_array(pkgs) || !json_is_array(files) ||
	    json_array_size(pkgs) > STELE_SBOM_PKGS_MAX)
		return -1;
	s->nowned = (size_t)nowned;
	s->pkgs = stele_xcalloc(json_array_size(pkgs) + 1, sizeof(*s->pkgs));
	for (i = 0; i < json_array_size(pkgs); i++) {
		s->npkgs++;
		if (decode_pkg(&s->pkgs[i], json_array_get(pkgs, i),
			       s->nlayers) < 0)
			return -1;
	}
	s->files = stele_xcalloc(json_array_size(files) + 1, sizeof(*s->files));
	for (i = 0; i < json_array_size(files); i++) {
		s->nfiles++;
		if (decode_file(&s->files[i], json_array_get(files, i),
				s->nlayers) < 0)
			return -1;
	}
	return 0;
}

/*
 * The cached inventory at `path`: 0 and *out, or 1 when there is none to
 * use (missing, unreadable, digest mismatch, not ours); <0 only for an
 * error reading the image's own head (provenance).
 */
static int
load(struct stele_sbom **out, const char *path, const struct stele_image *img)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_SBOM_CACHE_MAX);
	struct stele_sbom *s = NULL;
	char digest[STELE_DIGEST_STRLEN], *stamp = NULL;
	const char *nl;
	json_t *root = NULL;
	size_t hl;
	int error = 1;

	*out = NULL;
	if (stele_fs_read(&b, path) < 0 || !b.ptr ||
	    !(nl = memchr(b.ptr, '\n', b.len)) ||
	    (hl = (size_t)(nl - b.ptr)) >= sizeof(digest))
		goto out;
	memcpy(digest, b.ptr, hl);
	digest[hl] = '\0';
	/* Verify before parse: the JSON is the bytes the digest is of. */
	if (stele_digest_validate(digest) < 0 ||
	    stele_digest_check(digest, nl + 1, b.len - hl - 1) < 0 ||
	    stele_json_parse(&root, nl + 1, b.len - hl - 1, path) < 0)
		goto out;
	s = stele_xcalloc(1, sizeof(*s));
	if ((error = stele_sbom__read_head(s, img)) < 0)
		goto out;
	stamp = blob_stamp(img);
	if (decode(s, root, stamp) < 0) {
		error = 1;
		goto out;
	}
	*out = s;
	s = NULL;
	error = 0;
out:
	if (error > 0)
		stele_error_clear();
	stele_sbom_free(s);
	json_decref(root);
	stele_buf_release(&b);
	free(stamp);
	return error;
}

/* Write the entry; failures are left for the caller to ignore. */
static int
store(const char *dir, const char *path, const struct stele_sbom *s,
      const char *stamp)
{
	struct stele_buf body = STELE_BUF_INIT(STELE_SBOM_CACHE_MAX);
	struct stele_buf ent = STELE_BUF_INIT(STELE_SBOM_CACHE_MAX);
	char digest[STELE_DIGEST_STRLEN];
	json_t *root = encode(s, stamp);
	int error;

	if ((error = stele_json_emit(&body, root)) < 0)
		goto out;
	stele_digest_bytes(digest, body.ptr, body.len);
	if ((error = stele_buf_printf(&ent, "%s\n", digest)) < 0 ||
	    (error = stele_buf_put(&ent, body.ptr, body.len)) < 0 ||
	    (error = stele_fs_mkdir_p(dir, 0755)) < 0 ||
	    (error = stele_fs_write_atomic(path, ent.ptr, ent.len, 0644)) < 0)
		goto out;
out:
	json_decref(root);
	stele_buf_release(&body);
	stele_buf_release(&ent);
	return error;
}

int
stele_sbom_read_cached(struct stele_sbom **out, const struct stele_image *img,
		       const struct stele_sbom_opts *opts, const char *dir,
		       const char *tool, int *hit)
{
	char *path, *before = NULL, *after = NULL;
	int error;

	*out = NULL;
	if (hit)
		*hit = 0;
	if (!dir)
		return stele_sbom_read(out, img, opts);
	path = entry_path(dir, img, opts, tool);
	if ((error = load(out, path, img)) <= 0) {
		if (!error && hit)
			*hit = 1;
		goto out;
	}
	before = blob_stamp(img);
	if ((error = stele_sbom_read(out, img, opts)) < 0)
		goto out;
	/* Stored only when no blob changed while it was read. */
	after = blob_stamp(img);
	if (before && after && !strcmp(before, after) &&
	    store(dir, path, *out, after) < 0)
		stele_error_clear();
	error = 0;
out:
	free(before);
	free(after);
	free(path);
	return error;
}
