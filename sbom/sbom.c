#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/provenance.h"
#include "sbom/sbom.h"
#include "sbom/tree.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define DPKG_STATUS_D "var/lib/dpkg/status.d"
#define DPKG_INFO "var/lib/dpkg/info"
#define APK_INSTALLED "lib/apk/db/installed"
#define RPM_SYSIMAGE "usr/lib/sysimage/rpm/rpmdb.sqlite"
#define RPM_VARLIB "var/lib/rpm/rpmdb.sqlite"

/* A package as seen after some layer: when did this version arrive? */
struct since {
	char *key; /* "type/name/arch" */
	char *version;
	size_t layer;
};

struct sinces {
	struct since *v;
	size_t n;
};

/* A finding collected while ownership is read (package by index). */
struct finding {
	struct stele_sbom__node *node;
	size_t pkg;
	char *expected;
	char *pkgname;
};

struct rctx {
	struct stele_sbom__tree tree;
	struct stele_sbom__pkgs pkgs;
	struct finding *found;
	size_t nfound, afound;
	int own; /* the final pass: read ownership too */
	int count_md5; /* no .list: md5sums lines count the files */
};

static void
finding_add(struct rctx *r, struct stele_sbom__node *n, size_t pkg,
	    char *expected)
{
	if (r->nfound == r->afound) {
		r->afound = r->afound ? r->afound * 2 : 16;
		r->found =
			stele_xrealloc(r->found, r->afound * sizeof(*r->found));
	}
	r->found[r->nfound].node = n;
	r->found[r->nfound].pkg = pkg;
	r->found[r->nfound].pkgname = NULL;
	r->found[r->nfound++].expected = expected;
}

/* ---- safety of the database paths ---- */

/*
 * A database must be a regular file at its own path: a symlink there, or
 * a directory above it that is a symlink leading somewhere in the image,
 * would make stele read another file than the package manager does (or
 * one an attacker placed).  Refused, naming the path.
 */
static int
check_db_path(struct rctx *r, const char *path)
{
	struct stele_sbom__node *n = stele_sbom__tree_get(&r->tree, path);
	int via = 0;

	if (n && n->type == STELE_SBOM__LINK)
		return stele_error_setc(
			STELE_EINVALID,
			"package database '/%s' is a symlink (to '%s'); stele reads "
			"package databases only from regular files",
			path, n->link);
	if (n && n->type != STELE_SBOM__FILE && n->type != STELE_SBOM__DIR)
		return stele_error_setc(
			STELE_EINVALID,
			"package database '/%s' is not a regular file", path);
	if (!n && stele_sbom__resolve(&r->tree, path, 1, &via) && via)
		return stele_error_setc(
			STELE_EINVALID,
			"package database '/%s' is reached through a symlink; stele "
			"reads package databases only at their own paths",
			path);
	return 0;
}

/* ---- reading the package lists ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "HEX" of exactly n bytes into out; -1 when it is not. */
static int
unhex(unsigned char *out, size_t n, const char *hex)
{
	return strlen(hex) == 2 * n ? stele_hex_decode(out, hex, n) : -1;
}

/* A file a package database lists (apk, rpm), with its checksum if any. */
static int
own_file(void *payload, size_t pkg, const char *path, const char *sum)
{
	struct rctx *r = payload;
	struct stele_sbom__node *n =
		stele_sbom__resolve(&r->tree, path, 0, NULL);
	struct stele_buf b = STELE_BUF_INIT(64);
	unsigned char want[32];
	int differs = 0;

	if (!n || n->type != STELE_SBOM__FILE)
		return 0;
	n->owned = 1;
	r->pkgs.v[pkg].nfiles++;
	if (!sum)
		return 0;
	/* apk: Q1 + base64(SHA-1); rpm: ALGO:HEX. */
	if (!strncmp(sum, "Q1", 2)) {
		if (stele_base64_decode(&b, sum + 2, strlen(sum + 2),
					"apk checksum") == 0 &&
		    b.len == 20)
			differs = memcmp(b.ptr, n->sha1, 20) != 0;
		stele_error_clear();
		if (differs)
			finding_add(r, n, pkg, stele_xasprintf("sha1:%s", sum));
	} else if (!strncmp(sum, "sha256:", 7) &&
		   unhex(want, 32, sum + 7) == 0) {
		differs = memcmp(want, n->sha256, 32) != 0;
	} else if (!strncmp(sum, "sha1:", 5) && unhex(want, 20, sum + 5) == 0) {
		differs = memcmp(want, n->sha1, 20) != 0;
	} else if (!strncmp(sum, "md5:", 4) && unhex(want, 16, sum + 4) == 0) {
		differs = memcmp(want, n->md5, 16) != 0;
	}
	if (differs && strncmp(sum, "Q1", 2))
		finding_add(r, n, pkg, stele_xstrdup(sum));
	stele_buf_release(&b);
	return 0;
}

static int
parse_db(struct rctx *r, struct stele_sbom__node *n)
{
	const char *what = n->path;

	if (!n->content)
		return stele_error_setc(
			STELE_EINVALID,
			"package database '/%s' is not a regular file", what);
	if (!strcmp(what, APK_INSTALLED))
		return stele_sbom__apk_installed(&r->pkgs, n->content->ptr,
						 n->content->len, what,
						 r->own ? own_file : NULL, r);
	if (!strcmp(what, RPM_SYSIMAGE) || !strcmp(what, RPM_VARLIB))
		return stele_sbom__rpm_sqlite(&r->pkgs, n->content->ptr,
					      n->content->len, what,
					      r->own ? own_file : NULL, r);
	return stele_sbom__dpkg_status(&r->pkgs, n->content->ptr,
				       n->content->len, what);
}

/* All package lists of the tree as it is now.  `strict`: the first error
 * is returned; else a database that does not parse is passed over (a
 * lower layer's, only used to date packages). */
static int
collect(struct rctx *r, int strict)
{
	/* rpm: /var/lib/rpm may be a symlink to /usr/lib/sysimage/rpm
	 * (Fedora): the database at its sysimage path is the one read. */
	const char *rpm = stele_sbom__tree_get(&r->tree, RPM_SYSIMAGE)
		? RPM_SYSIMAGE
		: RPM_VARLIB;
	const char *const fixed[] = { DPKG_STATUS, APK_INSTALLED, rpm };
	struct stele_sbom__node *n, *wal;
	char **names = NULL, *walpath;
	size_t i = 0, nn = 0, an = 0, k;
	int error = 0;

	stele_sbom__pkgs_truncate(&r->pkgs, 0);
	if (strict &&
	    ((error = check_db_path(r, DPKG_STATUS)) < 0 ||
	     (error = check_db_path(r, DPKG_STATUS_D)) < 0 ||
	     (error = check_db_path(r, DPKG_INFO)) < 0 ||
	     (error = check_db_path(r, APK_INSTALLED)) < 0 ||
	     (error = check_db_path(r, rpm)) < 0))
		return error;
	/* Changes still in the write-ahead log are not in the database. */
	walpath = stele_xasprintf("%s-wal", rpm);
	wal = stele_sbom__tree_get(&r->tree, walpath);
	free(walpath);
	if (strict && wal && wal->size && stele_sbom__tree_get(&r->tree, rpm))
		return stele_error_setc(
			STELE_EINVALID,
			"rpm database '/%s' has changes only in its write-ahead log "
			"('/%s-wal', %llu bytes); stele reads checkpointed databases",
			rpm, rpm, (unsigned long long)wal->size);
	while ((n = stele_sbom__tree_next(&r->tree, &i))) {
		if (!stele_sbom__pkgdb_path(n->path) ||
		    !strcmp(n->path, DPKG_STATUS) ||
		    !strcmp(n->path, APK_INSTALLED) ||
		    !strcmp(n->path, RPM_SYSIMAGE) ||
		    !strcmp(n->path, RPM_VARLIB))
			continue;
		if (nn == an) {
			an = an ? an * 2 : 16;
			names = stele_xrealloc(names, an * sizeof(*names));
		}
		names[nn++] = n->path;
	}
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_str);
	for (k = 0; k < 3 + nn; k++) {
		const char *p = k < 3 ? fixed[k] : names[k - 3];

		if (!(n = stele_sbom__tree_get(&r->tree, p)))
			continue;
		if (strict && n->type != STELE_SBOM__FILE) {
			error = stele_error_setc(
				STELE_EINVALID,
				"package database '/%s' is a %s; stele reads package "
				"databases only from regular files",
				p,
				n->type == STELE_SBOM__LINK ? "symlink"
							    : "special file");
			break;
		}
		if ((error = parse_db(r, n)) < 0) {
			if (strict)
				break;
			error = 0;
		}
	}
	free(names);
	return error;
}

static char *
pkg_key(const struct stele_sbom_pkg *p)
{
	return stele_xasprintf("%s/%s/%s", p->type, p->name,
			       p->arch ? p->arch : "");
}

static int
cmp_since(const void *a, const void *b)
{
	return strcmp(((const struct since *)a)->key,
		      ((const struct since *)b)->key);
}

static void
sinces_release(struct sinces *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].version);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* After layer `layer`: the packages listed now keep the layer they came
 * with if their version is the same, else they came with this one. */
static void
sinces_update(struct sinces *s, const struct stele_sbom__pkgs *ps, size_t layer)
{
	struct sinces next = { stele_xcalloc(ps->n + 1, sizeof(struct since)),
			       0 };
	size_t i;

	for (i = 0; i < ps->n; i++) {
		struct since want = { pkg_key(&ps->v[i]), NULL, 0 }, *old;

		old = s->n
			? bsearch(&want, s->v, s->n, sizeof(*s->v), cmp_since)
			: NULL;
		next.v[next.n].key = want.key;
		next.v[next.n].version = stele_xstrdup(ps->v[i].version);
		next.v[next.n++].layer =
			old && !strcmp(old->version, ps->v[i].version)
			? old->layer
			: layer;
	}
	qsort(next.v, next.n, sizeof(*next.v), cmp_since);
	/* A package listed twice keeps one entry (the parse refuses that in
	 * the final tree anyway). */
	sinces_release(s);
	*s = next;
}

/* ---- ownership (dpkg) ---- */

static struct stele_sbom__node *
info_file(struct rctx *r, const struct stele_sbom_pkg *p, const char *ext)
{
	struct stele_sbom__node *n = NULL;
	char *path;

	if (p->arch) {
		path = stele_xasprintf(DPKG_INFO "/%s:%s.%s", p->name, p->arch,
				       ext);
		n = stele_sbom__tree_get(&r->tree, path);
		free(path);
	}
	if (!n) {
		path = stele_xasprintf(DPKG_INFO "/%s.%s", p->name, ext);
		n = stele_sbom__tree_get(&r->tree, path);
		free(path);
	}
	return n && n->content ? n : NULL;
}

/* Each line of a captured file, NUL-terminated in a copy; cb may fail. */
static int
lines(const struct stele_sbom__node *f,
      int (*cb)(struct rctx *, size_t, const char *, const char *, size_t),
      struct rctx *r, size_t pkg)
{
	char *copy, *line, *next;
	size_t lineno = 0;
	int error = 0;

	if (memchr(f->content->ptr, '\0', f->content->len))
		return stele_error_setc(
			STELE_EINVALID,
			"'/%s' holds a NUL byte: not a package file list",
			f->path);
	copy = stele_xstrndup(f->content->ptr, f->content->len);
	for (line = copy; line && *line && !error; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		error = cb(r, pkg, f->path, line, lineno);
	}
	free(copy);
	return error;
}

static int
own_list_line(struct rctx *r, size_t pkg, const char *what, const char *line,
	      size_t lineno)
{
	struct stele_sbom__node *n;

	if (line[0] != '/')
		return stele_error_setc(STELE_EINVALID,
					"'/%s': line %zu: not an absolute path",
					what, lineno);
	n = stele_sbom__resolve(&r->tree, line + 1, 0, NULL);
	if (n && n->type == STELE_SBOM__FILE) {
		n->owned = 1;
		r->pkgs.v[pkg].nfiles++;
	}
	return 0;
}

static int
own_md5_line(struct rctx *r, size_t pkg, const char *what, const char *line,
	     size_t lineno)
{
	struct stele_sbom__node *n;
	unsigned char md5[16];

	if (stele_hex_decode(md5, line, 16) < 0 || line[32] != ' ' ||
	    line[33] != ' ' || !line[34])
		return stele_error_setc(
			STELE_EINVALID,
			"'/%s': line %zu: not an 'md5sum  path' line", what,
			lineno);
	n = stele_sbom__resolve(&r->tree, line + 34 + (line[34] == '/'), 0,
				NULL);
	if (!n || n->type != STELE_SBOM__FILE)
		return 0;
	if (r->count_md5)
		r->pkgs.v[pkg].nfiles++;
	n->owned = 1;
	if (memcmp(md5, n->md5, 16))
		finding_add(r, n, pkg, stele_xasprintf("md5:%.32s", line));
	return 0;
}

static int
own_dpkg(struct rctx *r)
{
	struct stele_sbom__node *f;
	size_t i;
	int error = 0;

	for (i = 0; i < r->pkgs.n && !error; i++) {
		struct stele_sbom_pkg *p = &r->pkgs.v[i];

		if (strcmp(p->type, "deb"))
			continue;
		r->count_md5 = 1;
		if (!strcmp(p->db, DPKG_STATUS)) {
			if ((f = info_file(r, p, "list"))) {
				r->count_md5 = 0;
				error = lines(f, own_list_line, r, i);
			}
			if (!error && (f = info_file(r, p, "md5sums")))
				error = lines(f, own_md5_line, r, i);
		} else {
			/* distroless: status.d/NAME and status.d/NAME.md5sums */
			char *path = stele_xasprintf("%s.md5sums", p->db);

			f = stele_sbom__tree_get(&r->tree, path);
			free(path);
			if (f && f->content)
				error = lines(f, own_md5_line, r, i);
		}
	}
	return error;
}

/* ---- os-release, created ---- */

static char *
osr_value(const char *data, size_t len, const char *key)
{
	size_t klen = strlen(key);
	const char *p = data, *end = data + len, *eol, *v;
	char *out;
	size_t i, n;

	for (; p < end; p = eol + 1) {
		if (!(eol = memchr(p, '\n', (size_t)(end - p))))
			eol = end;
		if ((size_t)(eol - p) <= klen || strncmp(p, key, klen) ||
		    p[klen] != '=')
			continue;
		v = p + klen + 1;
		n = (size_t)(eol - v);
		if (n >= 2 && (*v == '"' || *v == '\'') && v[n - 1] == *v) {
			v++;
			n -= 2;
		}
		if (!n || n > 64)
			return NULL;
		out = stele_xstrndup(v, n);
		for (i = 0; i < n; i++)
			if (!((out[i] >= 'a' && out[i] <= 'z') ||
			      (out[i] >= '0' && out[i] <= '9') ||
			      strchr("._-", out[i]))) {
				free(out);
				return NULL;
			}
		return out;
	}
	return NULL;
}

static void
read_distro(struct stele_sbom *s, struct rctx *r)
{
	struct stele_sbom__node *n =
		stele_sbom__tree_get(&r->tree, "etc/os-release");

	if (!n || !n->content)
		n = stele_sbom__tree_get(&r->tree, "usr/lib/os-release");
	if (!n || !n->content)
		return;
	s->distro_id = osr_value(n->content->ptr, n->content->len, "ID");
	s->distro_version =
		osr_value(n->content->ptr, n->content->len, "VERSION_ID");
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The config's created, as UTC seconds (fractions dropped, offsets
 * applied); 0 when absent or not RFC 3339. */
static void
read_created(struct stele_sbom *s, const struct stele_image *img)
{
	const char *c = stele_json_str(img->config, "created");
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	int64_t t = 0;

	if (c &&
	    sscanf(c, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) == 6 &&
	    mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 &&
	    sec < 61) {
		const char *p = c + n;

		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if ((*p == '+' || *p == '-') &&
		    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
			if (*p == '+') {
				oh = -oh;
				om = -om;
			}
		} else if (*p != 'Z' && *p != 'z') {
			goto out;
		}
		t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
			h * 3600 + mi * 60 + sec + oh * 3600 + om * 60;
	}
out:
	if (t < 0)
		t = 0;
	stele_time_format(s->created, t);
}

/* ---- provenance ---- */

static const char *
git_commit(json_t *list)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v) {
		const char *c = stele_json_str(json_object_get(v, "digest"),
					       "gitCommit");
		const char *kind = stele_json_str(v, "kind");

		if (c && (!kind || !strcmp(kind, "git")))
			return c;
	}
	return NULL;
}

static int
read_layers(struct stele_sbom *s, const struct stele_image *img)
{
	struct stele_prov_doc *doc = NULL;
	const char *source_commit = NULL;
	size_t i;
	int error;

	s->nlayers = stele_image_nlayers(img);
	s->layers = stele_xcalloc(s->nlayers + 1, sizeof(*s->layers));
	error = stele_prov_load_doc(&doc, img->oci, img->digest);
	if (error == STELE_ENOTFOUND) {
		stele_error_clear();
		error = 0;
	}
	if (error < 0)
		return error;
	if (doc && doc->stele && !doc->import)
		source_commit = git_commit(doc->deps);
	for (i = 0; i < s->nlayers; i++) {
		struct stele_sbom_layer *l = &s->layers[i];
		const char *dig =
			stele_json_str(stele_image_layer(img, i), "digest");
		const char *diff = stele_image_diff_id(img, i);
		const struct stele_prov_record *rec;
		const char *c;

		snprintf(l->digest, sizeof(l->digest), "%s", dig ? dig : "");
		snprintf(l->diff_id, sizeof(l->diff_id), "%s",
			 diff ? diff : "");
		if (!doc || !(rec = stele_prov_record_of(doc, dig)))
			continue;
		l->base = rec->base;
		l->recipe = rec->recipe ? stele_xstrdup(rec->recipe) : NULL;
		l->line = rec->line;
		l->instruction = rec->instruction
			? stele_xstrdup(rec->instruction)
			: NULL;
		l->stage = rec->stage ? stele_xstrdup(rec->stage) : NULL;
		c = git_commit(rec->inputs);
		if (!c && !rec->base)
			c = source_commit;
		l->commit = c ? stele_xstrdup(c) : NULL;
	}
	stele_prov_doc_free(doc);
	return 0;
}

int
stele_sbom__read_head(struct stele_sbom *s, const struct stele_image *img)
{
	snprintf(s->image, sizeof(s->image), "%s", img->digest);
	read_created(s, img);
	return read_layers(s, img);
}

/* ---- the whole ---- */

static int
cmp_pkg(const void *a, const void *b)
{
	const struct stele_sbom_pkg *x = a, *y = b;
	int c;

	if ((c = strcmp(x->type, y->type)) || (c = strcmp(x->name, y->name)) ||
	    (c = strcmp(x->arch ? x->arch : "", y->arch ? y->arch : "")))
		return c;
	return strcmp(x->version, y->version);
}

static int
cmp_file(const void *a, const void *b)
{
	const struct stele_sbom_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (int)x->finding - (int)y->finding;
}

static void
file_from(struct stele_sbom_file *f, const struct stele_sbom__node *n,
	  enum stele_sbom_finding what)
{
	memset(f, 0, sizeof(*f));
	f->path = stele_xstrdup(n->path);
	f->finding = what;
	f->size = n->size;
	f->layer = n->layer;
	stele_hex_encode(f->sha256, n->sha256, 32);
	stele_hex_encode(f->sha1, n->sha1, 20);
}

static void
pkgs_finish(struct stele_sbom *s, struct rctx *r, const struct sinces *since)
{
	const char *deb_ns = s->distro_id ? s->distro_id : "debian";
	const char *apk_ns = s->distro_id ? s->distro_id : "alpine";
	const char *rpm_ns = s->distro_id ? s->distro_id : "redhat";
	char *distro = NULL;
	size_t i;

	if (s->distro_id && s->distro_version)
		distro = stele_xasprintf("%s-%s", s->distro_id,
					 s->distro_version);
	for (i = 0; i < r->pkgs.n; i++) {
		struct stele_sbom_pkg *p = &r->pkgs.v[i];
		struct since want = { pkg_key(p), NULL, 0 }, *got;

		got = since->n ? bsearch(&want, since->v, since->n,
					 sizeof(*since->v), cmp_since)
			       : NULL;
		p->layer = got ? got->layer : s->nlayers ? s->nlayers - 1 : 0;
		free(want.key);
		p->purl = stele_sbom__purl(p,
					   !strcmp(p->type, "apk") ? apk_ns
						   : !strcmp(p->type, "rpm")
						   ? rpm_ns
						   : deb_ns,
					   distro);
	}
	free(distro);
}

static int
check_dups(const struct stele_sbom *s)
{
	size_t i;

	for (i = 1; i < s->npkgs; i++) {
		const struct stele_sbom_pkg *a = &s->pkgs[i - 1],
					    *b = &s->pkgs[i];

		if (!strcmp(a->type, b->type) && !strcmp(a->name, b->name) &&
		    !strcmp(a->arch ? a->arch : "", b->arch ? b->arch : ""))
			return stele_error_setc(
				STELE_EINVALID,
				"package '%s' (%s) is listed twice, in '/%s' and '/%s'",
				a->name, a->arch ? a->arch : "no architecture",
				a->db, b->db);
	}
	return 0;
}

int
stele_sbom_read(struct stele_sbom **out, const struct stele_image *img,
		const struct stele_sbom_opts *opts)
{
	struct stele_sbom *s = stele_xcalloc(1, sizeof(*s));
	const struct stele_limits *limits = opts ? &opts->limits : NULL;
	struct sinces since = { NULL, 0 };
	struct stele_sbom__node *n;
	struct rctx r;
	size_t i, nf = 0;
	int error = 0, changed;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	stele_sbom__tree_init(&r.tree);
	if ((error = stele_sbom__read_head(s, img)) < 0)
		goto out;
	for (i = 0; i < s->nlayers; i++) {
		changed = 0;
		if ((error = stele_sbom__layer_read(&r.tree, img, i, limits,
						    &changed)) < 0)
			goto out;
		if (changed) {
			collect(&r, 0);
			sinces_update(&since, &r.pkgs, i);
			stele_error_clear();
		}
	}
	r.own = 1;
	if ((error = collect(&r, 1)) < 0 || (error = own_dpkg(&r)) < 0)
		goto out;
	read_distro(s, &r);
	pkgs_finish(s, &r, &since);
	for (i = 0; i < r.nfound; i++)
		r.found[i].pkgname =
			stele_xstrdup(r.pkgs.v[r.found[i].pkg].name);
	if (r.pkgs.n) /* qsort(NULL, 0) is undefined */
		qsort(r.pkgs.v, r.pkgs.n, sizeof(*r.pkgs.v), cmp_pkg);
	s->pkgs = r.pkgs.v;
	s->npkgs = r.pkgs.n;
	memset(&r.pkgs, 0, sizeof(r.pkgs));
	if ((error = check_dups(s)) < 0)
		goto out;
	/* Findings refer to packages by their index before the sort. */
	i = 0;
	while ((n = stele_sbom__tree_next(&r.tree, &i)))
		if (n->type == STELE_SBOM__FILE && !n->owned)
			nf++;
	s->files = stele_xcalloc(nf + r.nfound + 1, sizeof(*s->files));
	i = 0;
	while ((n = stele_sbom__tree_next(&r.tree, &i))) {
		if (n->type != STELE_SBOM__FILE)
			continue;
		if (n->owned)
			s->nowned++;
		else
			file_from(&s->files[s->nfiles++], n,
				  STELE_SBOM_UNOWNED);
	}
	for (i = 0; i < r.nfound; i++) {
		struct stele_sbom_file *f = &s->files[s->nfiles++];

		file_from(f, r.found[i].node, STELE_SBOM_MODIFIED);
		f->expected = r.found[i].expected;
		f->package = r.found[i].pkgname;
		r.found[i].expected = r.found[i].pkgname = NULL;
	}
	qsort(s->files, s->nfiles, sizeof(*s->files), cmp_file);
	*out = s;
	s = NULL;
out:
	for (i = 0; i < r.nfound; i++) {
		free(r.found[i].expected);
		free(r.found[i].pkgname);
	}
	free(r.found);
	sinces_release(&since);
	stele_sbom__pkgs_truncate(&r.pkgs, 0);
	free(r.pkgs.v);
	stele_sbom__tree_release(&r.tree);
	stele_sbom_free(s);
	return error;
}

void
stele_sbom_free(struct stele_sbom *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nlayers; i++) {
		free(s->layers[i].recipe);
		free(s->layers[i].instruction);
		free(s->layers[i].stage);
		free(s->layers[i].commit);
	}
	free(s->layers);
	for (i = 0; i < s->npkgs; i++)
		stele_sbom__pkg_release(&s->pkgs[i]);
	free(s->pkgs);
	for (i = 0; i < s->nfiles; i++) {
		free(s->files[i].path);
		free(s->files[i].package);
		free(s->files[i].expected);
	}
	free(s->files);
	free(s->distro_id);
	free(s->distro_version);
	free(s);
}
