#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"

/*
 * rpm's sqlite database (rpmdb.sqlite, rpm >= 4.16): table Packages(hnum,
 * blob), each blob an rpm header without its magic: il and dl (big-endian
 * int32: index entries and data bytes), il entries of {tag, type, offset,
 * count}, then dl bytes of data.  The database bytes are opened in memory
 * (sqlite3_deserialize, read-only), never written to disk; every header is
 * checked against its own bounds before a value is read from it.
 */

#define TAG_NAME 1000
#define TAG_VERSION 1001
#define TAG_RELEASE 1002
#define TAG_EPOCH 1003
#define TAG_LICENSE 1014
#define TAG_URL 1020
#define TAG_ARCH 1022
#define TAG_FILEDIGESTS 1035
#define TAG_SOURCERPM 1044
#define TAG_DIRINDEXES 1116
#define TAG_BASENAMES 1117
#define TAG_DIRNAMES 1118
#define TAG_FILEDIGESTALGO 5011

#define T_INT32 4
#define T_STRING 6
#define T_STRING_ARRAY 8
#define T_I18NSTRING 9

#define INDEX_MAX 0xffff /* rpm's own hdrchkTags bound */
#define DATA_MAX (256u << 20) /* rpm's hdrchkData bound */
#define FILES_MAX 1000000

struct hdr {
	const unsigned char *index;
	const char *data;
	uint32_t il, dl;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}

static int
hdr_init(struct hdr *h, const void *blob, size_t len)
{
	const unsigned char *b = blob;

	if (len < 8)
		return -1;
	h->il = be32(b);
	h->dl = be32(b + 4);
	if (h->il < 1 || h->il > INDEX_MAX || h->dl > DATA_MAX ||
	    len != 8 + (size_t)h->il * 16 + h->dl)
		return -1;
	h->index = b + 8;
	h->data = (const char *)b + 8 + (size_t)h->il * 16;
	return 0;
}

/* The entry of `tag`: its type, offset and count, bounds unchecked yet. */
static int
hdr_find(const struct hdr *h, uint32_t tag, uint32_t *type, uint32_t *off,
	 uint32_t *count)
{
	uint32_t i;

	for (i = 0; i < h->il; i++) {
		const unsigned char *e = h->index + 16 * (size_t)i;

		if (be32(e) == tag) {
			*type = be32(e + 4);
			*off = be32(e + 8);
			*count = be32(e + 12);
			return *off < h->dl ? 0 : -1;
		}
	}
	return 1;
}

/* `n` NUL-terminated strings from `off`, all inside the data; *end after. */
static int
strings_ok(const struct hdr *h, uint32_t off, uint32_t n, uint32_t *end)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		const char *p = memchr(h->data + off, '\0', h->dl - off);

		if (!p)
			return -1;
		off = (uint32_t)(p - h->data) + 1;
		if (i + 1 < n && off >= h->dl)
			return -1;
	}
	if (end)
		*end = off;
	return 0;
}

/* A string tag: borrowed, NULL when absent; -1 when malformed. */
static int
hdr_str(const struct hdr *h, uint32_t tag, const char **out)
{
	uint32_t type, off, count;
	int r = hdr_find(h, tag, &type, &off, &count);

	*out = NULL;
	if (r > 0)
		return 0;
	if (r < 0 ||
	    (type != T_STRING && type != T_I18NSTRING &&
	     type != T_STRING_ARRAY) ||
	    !count || strings_ok(h, off, 1, NULL) < 0)
		return -1;
	*out = h->data + off;
	return 0;
}

static int
hdr_int(const struct hdr *h, uint32_t tag, int64_t *out)
{
	uint32_t type, off, count;
	int r = hdr_find(h, tag, &type, &off, &count);

	*out = -1;
	if (r > 0)
		return 0;
	if (r < 0 || type != T_INT32 || count < 1 || off % 4 ||
	    (uint64_t)off + 4 > h->dl)
		return -1;
	*out = be32((const unsigned char *)h->data + off);
	return 0;
}

/* A string array: pointers into the data (malloc'd array), count in *n. */
static int
hdr_strs(const struct hdr *h, uint32_t tag, const char ***out, uint32_t *n)
{
	uint32_t type, off, count, i;
	int r = hdr_find(h, tag, &type, &off, &count);
	const char **v;

	*out = NULL;
	*n = 0;
	if (r > 0)
		return 0;
	if (r < 0 || type != T_STRING_ARRAY || count > FILES_MAX ||
	    strings_ok(h, off, count, NULL) < 0)
		return -1;
	v = stele_xcalloc(count + 1, sizeof(*v));
	for (i = 0; i < count; i++) {
		v[i] = h->data + off;
		off += (uint32_t)strlen(v[i]) + 1;
	}
	*out = v;
	*n = count;
	return 0;
}

static const char *
algo_name(int64_t a)
{
	switch (a) {
	case -1:
	case 1: return "md5";
	case 2: return "sha1";
	case 8: return "sha256";
	default: return NULL;
	}
}

/* The files of one package, to the ownership callback. */
static int
rpm_files(const struct hdr *h, size_t pkg, stele_sbom__own_fn own,
	  void *payload)
{
	const char **base = NULL, **dirs = NULL, **sums = NULL;
	uint32_t nb, nd, ns, type, off, count, i;
	int64_t algo;
	int error = -1, r;

	if (hdr_strs(h, TAG_BASENAMES, &base, &nb) < 0 ||
	    hdr_strs(h, TAG_DIRNAMES, &dirs, &nd) < 0 ||
	    hdr_strs(h, TAG_FILEDIGESTS, &sums, &ns) < 0 ||
	    hdr_int(h, TAG_FILEDIGESTALGO, &algo) < 0)
		goto out;
	if (!nb) {
		error = 0;
		goto out;
	}
	r = hdr_find(h, TAG_DIRINDEXES, &type, &off, &count);
	if (r != 0 || type != T_INT32 || count != nb || off % 4 ||
	    (uint64_t)off + 4ull * count > h->dl || (ns && ns != nb))
		goto out;
	error = 0;
	for (i = 0; i < nb && !error; i++) {
		uint32_t di =
			be32((const unsigned char *)h->data + off + 4 * i);
		char *path, *sum = NULL;

		if (di >= nd) {
			error = -1;
			break;
		}
		path = stele_xasprintf("%s%s", dirs[di], base[i]);
		if (ns && *sums[i] && algo_name(algo))
			sum = stele_xasprintf("%s:%s", algo_name(algo),
					      sums[i]);
		error = own(payload, pkg, path[0] == '/' ? path + 1 : path,
			    sum);
		free(sum);
		free(path);
		if (error > 0)
			error = 0;
	}
out:
	free(base);
	free(dirs);
	free(sums);
	return error;
}

static int
name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 256)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._+-~^:", *s)))
			return 0;
	return 1;
}

/* One header: a package (or nothing, for a gpg-pubkey pseudo-package). */
static int
rpm_header(struct stele_sbom__pkgs *ps, const void *blob, size_t len,
	   long long hnum, const char *what, stele_sbom__own_fn own,
	   void *payload)
{
	const char *name, *ver, *rel, *arch, *lic, *url, *srpm;
	struct stele_sbom_pkg *p;
	struct hdr h;
	int64_t epoch;
	int error;

	if (hdr_init(&h, blob, len) < 0 || hdr_str(&h, TAG_NAME, &name) < 0 ||
	    hdr_str(&h, TAG_VERSION, &ver) < 0 ||
	    hdr_str(&h, TAG_RELEASE, &rel) < 0 ||
	    hdr_str(&h, TAG_ARCH, &arch) < 0 ||
	    hdr_str(&h, TAG_LICENSE, &lic) < 0 ||
	    hdr_str(&h, TAG_URL, &url) < 0 ||
	    hdr_str(&h, TAG_SOURCERPM, &srpm) < 0 ||
	    hdr_int(&h, TAG_EPOCH, &epoch) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': package %lld: not a well-formed rpm header",
			what, hnum);
	if (name && !strcmp(name, "gpg-pubkey"))
		return 0;
	if (!name_ok(name) || !name_ok(ver) || !name_ok(rel) ||
	    (arch && !name_ok(arch)))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': package %lld: a missing or malformed name, version, "
			"release or architecture",
			what, hnum);
	if (ps->n >= STELE_SBOM_PKGS_MAX)
		return stele_error_setc(STELE_EINVALID,
					"'%s' lists more than %d packages",
					what, STELE_SBOM_PKGS_MAX);
	p = stele_sbom__pkg_add(ps);
	p->type = "rpm";
	p->name = stele_xstrdup(name);
	p->version = epoch >= 0
		? stele_xasprintf("%lld:%s-%s", (long long)epoch, ver, rel)
		: stele_xasprintf("%s-%s", ver, rel);
	p->arch = arch ? stele_xstrdup(arch) : NULL;
	p->license = lic ? stele_xstrdup(lic) : NULL;
	p->url = url ? stele_xstrdup(url) : NULL;
	p->db = stele_xstrdup(what);
	/* Source: NAME-VERSION-RELEASE.src.rpm */
	if (srpm && strlen(srpm) > 8 &&
	    !strcmp(srpm + strlen(srpm) - 8, ".src.rpm")) {
		char *s = stele_xstrndup(srpm, strlen(srpm) - 8), *r1, *r2;

		if ((r1 = strrchr(s, '-')) && r1 > s) {
			*r1 = '\0';
			if ((r2 = strrchr(s, '-')) && r2 > s) {
				*r2 = '\0';
				*r1 = '-';
				p->source = stele_xstrdup(s);
				/* The source rpm carries the same epoch. */
				p->source_version = epoch >= 0
					? stele_xasprintf("%lld:%s",
							  (long long)epoch,
							  r2 + 1)
					: stele_xstrdup(r2 + 1);
			}
		}
		free(s);
	}
	if (!p->source || !name_ok(p->source) || !name_ok(p->source_version)) {
		free(p->source);
		free(p->source_version);
		p->source = stele_xstrdup(p->name);
		p->source_version = stele_xstrdup(p->version);
	}
	if (own && (error = rpm_files(&h, ps->n - 1, own, payload)) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': package %lld (%s): malformed file lists", what,
			hnum, p->name);
	return 0;
}

int
stele_sbom__rpm_sqlite(struct stele_sbom__pkgs *ps, const void *data,
		       size_t len, const char *what, stele_sbom__own_fn own,
		       void *payload)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy;
	size_t start = ps->n;
	int rc, error = 0;

	if (len < 100 || memcmp(data, "SQLite format 3", 16))
		return stele_error_setc(STELE_EINVALID,
					"'%s' is not an sqlite database", what);
	/* sqlite owns and frees this copy (SQLITE_DESERIALIZE_FREEONCLOSE). */
	if (!(copy = sqlite3_malloc64(len)))
		return stele_error_set("'%s': out of memory", what);
	memcpy(copy, data, len);
	/* A WAL-mode header would make sqlite look for a -wal file: the
	 * database is read as it is checkpointed in the image. */
	if (copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	if ((rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE,
				  NULL)) != SQLITE_OK) {
		sqlite3_free(copy);
		error = stele_error_set("'%s': sqlite: %s", what,
					sqlite3_errstr(rc));
		goto out;
	}
	if ((rc = sqlite3_deserialize(
		     db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
		     SQLITE_DESERIALIZE_FREEONCLOSE |
			     SQLITE_DESERIALIZE_READONLY)) != SQLITE_OK) {
		error = stele_error_setc(STELE_EINVALID, "'%s': sqlite: %s",
					 what, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT hnum, blob FROM Packages ORDER BY hnum",
			       -1, &st, NULL) != SQLITE_OK) {
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' is not an rpm database: %s",
					 what, sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !error)
		error = rpm_header(ps, sqlite3_column_blob(st, 1),
				   (size_t)sqlite3_column_bytes(st, 1),
				   (long long)sqlite3_column_int64(st, 0), what,
				   own, payload);
	if (!error && rc != SQLITE_DONE)
		error = stele_error_setc(STELE_EINVALID, "'%s': sqlite: %s",
					 what, sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (error < 0)
		stele_sbom__pkgs_truncate(ps, start);
	return error;
}
