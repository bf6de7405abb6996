/* The vulnerability database: OSV and Debian tracker sources compiled into
 * an sqlite index beside them (vuln.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/lazy.h"
#include "util/time.h"
#include "vuln/vuln_int.h"

#define SCHEMA "stele-vuln-index-1"

struct srcfile {
	char *rel;
	long long size, sec, nsec, csec, cnsec;
	unsigned long long dev, ino;
};

struct srclist {
	struct srcfile *v;
	size_t n, alloc;
};

static void
srclist_release(struct srclist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].rel);
	free(l->v);
}

static int
srcfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct srcfile *)a)->rel,
		      ((const struct srcfile *)b)->rel);
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

/* Collect DIR/rel's *.json files (names starting with '.' skipped),
 * depth-limited; symlinks are followed only to regular files. */
static int
walk(struct srclist *l, const char *dir, const char *rel, int depth)
{
	char *path = rel ? stele_path_join(dir, rel) : stele_xstrdup(dir);
	struct dirent *de;
	struct stat st;
	DIR *d;
	int error = 0;

	if (depth > 16) {
		error = stele_error_setc(STELE_EINVALID,
					 "database '%s' is nested too deep",
					 dir);
		goto out;
	}
	if (!(d = opendir(path))) {
		error = errno == ENOENT
			? stele_error_setc(STELE_ENOTFOUND,
					   "no vulnerability database at '%s'",
					   path)
			: stele_error_errno("cannot open directory '%s'", path);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (de->d_name[0] == '.')
			continue;
		sub = rel ? stele_path_join(rel, de->d_name)
			  : stele_xstrdup(de->d_name);
		/* Relative to the open directory: no path to resolve again
		 * for each of tens of thousands of records. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			error = stele_error_errno("cannot stat '%s/%s'", dir,
						  sub);
			free(sub);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			error = walk(l, dir, sub, depth + 1);
			free(sub);
			if (error < 0)
				break;
			continue;
		}
		if (!S_ISREG(st.st_mode) ||
		    (!has_suffix(sub, ".json") && !has_suffix(sub, ".zip"))) {
			free(sub);
			continue;
		}
		if (l->n >= STELE_VULN_FILES_MAX) {
			free(sub);
			error = stele_error_setc(
				STELE_EINVALID,
				"database '%s' has more than %d files", dir,
				STELE_VULN_FILES_MAX);
			break;
		}
		if (l->n == l->alloc) {
			l->alloc = l->alloc ? l->alloc * 2 : 256;
			l->v = stele_xrealloc(l->v, l->alloc * sizeof(*l->v));
		}
		l->v[l->n].rel = sub;
		l->v[l->n].size = (long long)st.st_size;
		l->v[l->n].sec = (long long)st.st_mtim.tv_sec;
		l->v[l->n].nsec = (long long)st.st_mtim.tv_nsec;
		l->v[l->n].csec = (long long)st.st_ctim.tv_sec;
		l->v[l->n].cnsec = (long long)st.st_ctim.tv_nsec;
		l->v[l->n].dev = (unsigned long long)st.st_dev;
		l->v[l->n].ino = (unsigned long long)st.st_ino;
		l->n++;
	}
	closedir(d);
out:
	free(path);
	return error;
}

/*
 * The digest of the sources' names and what stat says of each, in name
 * order: size, modification and change times (nanoseconds), device and
 * inode.  Rewriting a source in place changes its ctime even when the
 * size is the same and the mtime is set back (touch -d, tar, rsync -t);
 * replacing it by a rename changes its inode.  The sources' bytes are
 * never read for the check.
 */
static int
fingerprint(char out[STELE_DIGEST_STRLEN], struct srclist *l, const char *dir)
{
	struct stele_sha256 h;
	char line[160];
	size_t i;
	int error;

	if ((error = walk(l, dir, NULL, 0)) < 0)
		return error;
	qsort(l->v, l->n, sizeof(*l->v), srcfile_cmp);
	if ((error = stele_sha256_init(&h)) < 0)
		return error;
	stele_sha256_update(&h, SCHEMA "\n", sizeof(SCHEMA));
	for (i = 0; i < l->n; i++) {
		stele_sha256_update(&h, l->v[i].rel, strlen(l->v[i].rel) + 1);
		snprintf(line, sizeof(line),
			 "%lld %lld.%09lld %lld.%09lld "
			 "%llu:%llu\n",
			 l->v[i].size, l->v[i].sec, l->v[i].nsec, l->v[i].csec,
			 l->v[i].cnsec, l->v[i].dev, l->v[i].ino);
		stele_sha256_update(&h, line, strlen(line));
	}
	stele_sha256_final(&h, out);
	stele_sha256_release(&h);
	return 0;
}

static int
sql_error(sqlite3 *s, const char *what)
{
	return stele_error_set("%s: %s", what,
			       s ? sqlite3_errmsg(s) : "out of memory");
}

/* Building the index. */
struct build {
	sqlite3 *s;
	sqlite3_stmt *ins;
	const char *file; /* the source being read, for errors */
	int64_t newest; /* newest OSV modified */
	int64_t updated; /* stele-db.json, -1 when absent */
};

static int
row_add(struct build *b, const char *eco, const char *pkg, const char *id,
	const char *intro, const char *fixed, const char *last,
	enum stele_vuln_status st, enum stele_vuln_severity sev, int cvss10,
	const char *summary)
{
	sqlite3_stmt *q = b->ins;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, eco, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pkg, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, intro, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, fixed, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, last, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 7, (int)st);
	sqlite3_bind_int(q, 8, (int)sev);
	sqlite3_bind_int(q, 9, cvss10);
	sqlite3_bind_text(q, 10, summary, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		return sql_error(b->s, "cannot write the vulnerability index");
	return 0;
}

static enum stele_vuln_severity
vendor_severity(const char *s)
{
	int r;

	if (!s)
		return STELE_SEV_UNKNOWN;
	if (!strcasecmp(s, "unimportant"))
		return STELE_SEV_NEGLIGIBLE;
	if (!strcasecmp(s, "moderate"))
		return STELE_SEV_MEDIUM;
	if (!strcasecmp(s, "important"))
		return STELE_SEV_HIGH;
	r = stele_vuln_severity_parse(s);
	return r > STELE_SEV_NONE ? (enum stele_vuln_severity)r
				  : STELE_SEV_UNKNOWN;
}

/* Debian's urgencies: "low", "medium**", "not yet assigned", ... */
static enum stele_vuln_severity
urgency_severity(const char *u)
{
	char buf[32];
	size_t n;

	if (!u)
		return STELE_SEV_UNKNOWN;
	n = strcspn(u, "*");
	if (n >= sizeof(buf))
		return STELE_SEV_UNKNOWN;
	memcpy(buf, u, n);
	buf[n] = '\0';
	return vendor_severity(buf);
}

static int
osv_cvss(const json_t *rec)
{
	const json_t *sev = json_object_get(rec, "severity"), *e;
	size_t i;
	int best = -1, score;

	if (!json_is_array(sev))
		return -1;
	json_array_foreach(sev, i, e) {
		const char *t = stele_json_str(e, "type");
		const char *v = stele_json_str(e, "score");

		if (!t || !v || strcmp(t, "CVSS_V3") != 0)
			continue;
		if (stele_vuln_cvss3(&score, v) == 0 && score > best)
			best = score;
	}
	stele_error_clear();
	return best;
}

static int
bad(struct build *b, const char *what)
{
	return stele_error_setc(STELE_EINVALID, "%s: %s", b->file, what);
}

static int
osv_affected(struct build *b, const char *id, const json_t *aff,
	     enum stele_vuln_severity recsev, int cvss10, const char *summary)
{
	const json_t *pkg = json_object_get(aff, "package");
	const json_t *ranges = json_object_get(aff, "ranges"), *r, *ev;
	const json_t *es = json_object_get(aff, "ecosystem_specific");
	const char *eco = stele_json_str(pkg, "ecosystem");
	const char *name = stele_json_str(pkg, "name");
	enum stele_vuln_severity sev = recsev;
	size_t i, j;
	int error;

	if (!eco || !name)
		return bad(b, "affected[].package needs ecosystem and name");
	if (es && sev == STELE_SEV_UNKNOWN) {
		sev = urgency_severity(stele_json_str(es, "urgency"));
		if (sev == STELE_SEV_UNKNOWN)
			sev = vendor_severity(stele_json_str(es, "severity"));
	}
	if (ranges && !json_is_array(ranges))
		return bad(b, "affected[].ranges is not an array");
	json_array_foreach(ranges, i, r) {
		const char *type = stele_json_str(r, "type");
		const json_t *events = json_object_get(r, "events");
		const char *intro = NULL;

		if (!type || !json_is_array(events))
			return bad(b, "a range needs type and events");
		if (strcmp(type, "ECOSYSTEM") != 0)
			continue;
		json_array_foreach(events, j, ev) {
			const char *in = stele_json_str(ev, "introduced");
			const char *fx = stele_json_str(ev, "fixed");
			const char *la = stele_json_str(ev, "last_affected");

			if (json_object_size(ev) != 1 &&
			    !json_object_get(ev, "limit"))
				return bad(
					b,
					"an event has one of introduced, fixed, last_affected, limit");
			if (in) {
				if (intro &&
				    (error = row_add(b, eco, name, id, intro,
						     NULL, NULL,
						     STELE_VULN_NOT_FIXED, sev,
						     cvss10, summary)) < 0)
					return error;
				intro = in;
			} else if (fx || la) {
				if ((error = row_add(b, eco, name, id,
						     intro ? intro : "0", fx,
						     la,
						     fx ? STELE_VULN_FIXED
							: STELE_VULN_NOT_FIXED,
						     sev, cvss10, summary)) < 0)
					return error;
				intro = NULL;
			}
		}
		if (intro &&
		    (error = row_add(b, eco, name, id, intro, NULL, NULL,
				     STELE_VULN_NOT_FIXED, sev, cvss10,
				     summary)) < 0)
			return error;
	}
	return 0;
}

static int
osv_record(struct build *b, const json_t *rec)
{
	const char *id = stele_json_str(rec, "id");
	const char *mod = stele_json_str(rec, "modified");
	const json_t *aff = json_object_get(rec, "affected"), *a;
	const json_t *ds = json_object_get(rec, "database_specific");
	const char *summary = stele_json_str(rec, "summary");
	enum stele_vuln_severity sev;
	int64_t t;
	size_t i;
	int error, cvss10;

	if (!id || !*id || !mod)
		return bad(b, "an OSV record needs id and modified");
	if (stele_time_parse(&t, mod) < 0)
		return bad(b, "modified is not an RFC 3339 UTC time");
	if (t > b->newest)
		b->newest = t;
	if (json_object_get(rec, "withdrawn"))
		return 0;
	if (aff && !json_is_array(aff))
		return bad(b, "affected is not an array");
	sev = vendor_severity(stele_json_str(ds, "severity"));
	cvss10 = osv_cvss(rec);
	json_array_foreach(aff, i, a) {
		if ((error = osv_affected(b, id, a, sev, cvss10, summary)) < 0)
			return error;
	}
	return 0;
}

static const char *
debian_release(const char *codename)
{
	static const char *const map[][2] = {
		{ "buster", "Debian:10" },
		{ "bullseye", "Debian:11" },
		{ "bookworm", "Debian:12" },
		{ "trixie", "Debian:13" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(codename, map[i][0]))
			return map[i][1];
	return NULL;
}

static int
tracker(struct build *b, const json_t *root)
{
	const char *src, *cve, *rel;
	json_t *cves, *rec, *rels, *r;
	int error;

	json_object_foreach((json_t *)root, src, cves) {
		if (!json_is_object(cves))
			return bad(b, "not OSV and not Debian tracker JSON");
		json_object_foreach(cves, cve, rec) {
			const char *desc = stele_json_str(rec, "description");

			rels = json_object_get(rec, "releases");
			if (!json_is_object(rels))
				return bad(b, "a tracker entry needs releases");
			json_object_foreach(rels, rel, r) {
				const char *eco = debian_release(rel);
				const char *status =
					stele_json_str(r, "status");
				const char *fv =
					stele_json_str(r, "fixed_version");
				const char *nodsa =
					stele_json_str(r, "nodsa_reason");
				const char *urg = stele_json_str(r, "urgency");
				enum stele_vuln_status st;

				if (!eco)
					continue;
				if (!status)
					return bad(
						b,
						"a tracker release needs status");
				if (!strcmp(status, "resolved")) {
					if (!fv)
						return bad(
							b,
							"resolved without fixed_version");
					if (!strcmp(fv, "0"))
						continue; /* never affected */
					st = STELE_VULN_FIXED;
				} else if (!strcmp(status, "open") ||
					   !strcmp(status, "undetermined")) {
					fv = NULL;
					st = nodsa && !strcmp(nodsa, "ignored")
						? STELE_VULN_WONT_FIX
						: STELE_VULN_NOT_FIXED;
					if (urg && !strcmp(urg, "end-of-life"))
						st = STELE_VULN_WONT_FIX;
				} else {
					return bad(b, "unknown tracker status");
				}
				if ((error = row_add(b, eco, src, cve, "0", fv,
						     NULL, st,
						     urgency_severity(urg), -1,
						     desc)) < 0)
					return error;
			}
		}
	}
	return 0;
}

/* One JSON source: `what` names it in parse errors, `name` in the others
 * (a file's path and its name in the database, or a zip's entry twice). */
static int
source_json(struct build *b, const char *what, const char *name,
	    const void *data, size_t len, int stamp)
{
	json_t *root = NULL;
	int error;

	b->file = name;
	if ((error = stele_json_parse(&root, data, len, what)) < 0)
		return error;
	if (!json_is_object(root)) {
		error = bad(b, "not a JSON object");
	} else if (stamp) {
		if (json_object_size(root) != 1 ||
		    stele_time_parse(&b->updated,
				     stele_json_str(root, "updated")) < 0)
			error = bad(
				b, "needs exactly {\"updated\": RFC 3339 UTC}");
	} else if (json_is_string(json_object_get(root, "id"))) {
		error = osv_record(b, root);
	} else {
		error = tracker(b, root);
	}
	json_decref(root);
	return error;
}

int
stele_vuln__zip_each(const char *path, const char *what,
		     int (*fn)(void *payload, const char *name,
			       const struct stele_buf *data),
		     void *payload)
{
	struct stele_buf raw = STELE_BUF_INIT(STELE_VULN_FILE_MAX);
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	char buf[1 << 16];
	la_ssize_t n;
	int r, error = 0;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		error = stele_error_setc(STELE_EINVALID,
					 "%s: not a readable zip: %s", what,
					 archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);

		if (archive_entry_filetype(ae) != AE_IFREG || !name ||
		    !has_suffix(name, ".json"))
			continue;
		stele_buf_clear(&raw);
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			if (stele_buf_put(&raw, buf, (size_t)n) < 0) {
				error = stele_error_setc(
					STELE_EINVALID,
					"%s: entry '%s' is larger than %u bytes",
					what, name, STELE_VULN_FILE_MAX);
				goto out;
			}
		if (n < 0) {
			error = stele_error_setc(STELE_EINVALID,
						 "%s: entry '%s': %s", what,
						 name, archive_error_string(a));
			goto out;
		}
		if ((error = fn(payload, name, &raw)) < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: a damaged zip: %s", what,
					 archive_error_string(a));
out:
	archive_read_free(a);
	stele_buf_release(&raw);
	return error;
}

/* One entry of a zip of sources (OSV's all.zip, as published), named
 * "ZIP:ENTRY" in errors. */
struct zip_source {
	struct build *b;
	const char *rel;
	size_t entries;
};

static int
zip_source(void *payload, const char *name, const struct stele_buf *raw)
{
	struct zip_source *z = payload;
	char *what;
	int error;

	if (++z->entries > STELE_VULN_FILES_MAX)
		return stele_error_setc(STELE_EINVALID,
					"%s: more than %d records", z->rel,
					STELE_VULN_FILES_MAX);
	what = stele_xasprintf("%s:%s", z->rel, name);
	error = source_json(z->b, what, what, raw->ptr ? raw->ptr : "",
			    raw->len, 0);
	z->b->file = z->rel;
	free(what);
	return error;
}

static int
source_add(struct build *b, const char *dir, const char *rel)
{
	struct stele_buf raw = STELE_BUF_INIT(STELE_VULN_FILE_MAX);
	char *path = stele_path_join(dir, rel);
	int error;

	b->file = rel;
	if (has_suffix(rel, ".zip")) {
		struct zip_source z = { b, rel, 0 };

		error = stele_vuln__zip_each(path, rel, zip_source, &z);
	} else if ((error = stele_fs_read(&raw, path)) == 0)
		error = source_json(b, path, rel, raw.ptr ? raw.ptr : "",
				    raw.len, !strcmp(rel, "stele-db.json"));
	stele_buf_release(&raw);
	free(path);
	return error;
}

static int
exec(sqlite3 *s, const char *sql)
{
	if (sqlite3_exec(s, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_error(s, "cannot write the vulnerability index");
	return 0;
}

static int
meta_put(sqlite3 *s, const char *k, const char *v)
{
	sqlite3_stmt *q = NULL;
	int error = 0;

	if (sqlite3_prepare_v2(s, "INSERT INTO meta VALUES (?, ?)", -1, &q,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(q, 2, v, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_DONE)
		error = sql_error(s, "cannot write the vulnerability index");
	sqlite3_finalize(q);
	return error;
}

/* Compile the sources into a temporary file, then rename it over the
 * index: readers see the old index or the new, never half of one. */
static int
build_index(const char *dir, const struct srclist *l, const char *fp)
{
	struct build b = { NULL, NULL, NULL, -1, -1 };
	char *tmp = stele_xasprintf("%s/" STELE_VULN_INDEX ".XXXXXX", dir);
	char *dst = stele_path_join(dir, STELE_VULN_INDEX);
	char num[32];
	size_t i;
	int fd, error = 0;

	if ((fd = mkstemp(tmp)) < 0) {
		error = stele_error_errno("cannot create '%s'", tmp);
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &b.s, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		error = sql_error(b.s, "cannot open the vulnerability index");
		goto out;
	}
	if ((error = exec(
		     b.s,
		     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		     "BEGIN; CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT);"
		     "CREATE TABLE adv(eco TEXT NOT NULL, pkg TEXT NOT NULL,"
		     " id TEXT NOT NULL, introduced TEXT, fixed TEXT,"
		     " last_affected TEXT, status INTEGER, severity INTEGER,"
		     " cvss10 INTEGER, summary TEXT);")) < 0)
		goto out;
	if (sqlite3_prepare_v2(b.s,
			       "INSERT INTO adv VALUES "
			       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &b.ins, NULL) != SQLITE_OK) {
		error = sql_error(b.s, "cannot write the vulnerability index");
		goto out;
	}
	for (i = 0; i < l->n; i++)
		if ((error = source_add(&b, dir, l->v[i].rel)) < 0)
			goto out;
	snprintf(num, sizeof(num), "%lld",
		 (long long)(b.updated >= 0 ? b.updated : b.newest));
	if ((error = exec(b.s, "CREATE INDEX adv_pkg ON adv(eco, pkg);")) < 0 ||
	    (error = meta_put(b.s, "schema", SCHEMA)) < 0 ||
	    (error = meta_put(b.s, "fingerprint", fp)) < 0 ||
	    (error = meta_put(b.s, "updated", num)) < 0 ||
	    (error = exec(b.s, "COMMIT;")) < 0)
		goto out;
	sqlite3_finalize(b.ins);
	b.ins = NULL;
	if (sqlite3_close(b.s) != SQLITE_OK) {
		error = sql_error(b.s, "cannot write the vulnerability index");
		b.s = NULL;
		goto out;
	}
	b.s = NULL;
	if (rename(tmp, dst) < 0)
		error = stele_error_errno("cannot rename '%s'", tmp);
out:
	sqlite3_finalize(b.ins);
	sqlite3_close(b.s);
	if (error < 0)
		unlink(tmp);
	free(tmp);
	free(dst);
	return error;
}

static char *
meta_get(sqlite3 *s, const char *k)
{
	sqlite3_stmt *q = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(s, "SELECT v FROM meta WHERE k = ?", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		v = stele_xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return v;
}

/* Open the index read-only; 0 when it is current, 1 when it is missing
 * or stale (or not an index at all: it is ours to replace). */
static int
index_open(sqlite3 **out, const char *path, const char *fp)
{
	sqlite3 *s = NULL;
	char *have = NULL, *schema = NULL;
	int stale;

	*out = NULL;
	if (!stele_fs_exists(path))
		return 1;
	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(s);
		return 1;
	}
	have = meta_get(s, "fingerprint");
	schema = meta_get(s, "schema");
	stale = !have || !schema || strcmp(have, fp) || strcmp(schema, SCHEMA);
	free(have);
	free(schema);
	if (stale) {
		sqlite3_close(s);
		return 1;
	}
	*out = s;
	return 0;
}

int
stele_vuln_db_open(struct stele_vuln_db **out, const char *dir, int *rebuilt)
{
	struct srclist l = { NULL, 0, 0 };
	struct stele_vuln_db *db = NULL;
	char fp[STELE_DIGEST_STRLEN];
	char *path = stele_path_join(dir, STELE_VULN_INDEX), *up = NULL;
	sqlite3 *s = NULL;
	int error, r;

	*out = NULL;
	if (rebuilt)
		*rebuilt = 0;
	if ((error = fingerprint(fp, &l, dir)) < 0)
		goto out;
	if ((r = index_open(&s, path, fp)) == 1) {
		if ((error = build_index(dir, &l, fp)) < 0)
			goto out;
		if (rebuilt)
			*rebuilt = 1;
		if (index_open(&s, path, fp) != 0) {
			error = stele_error_set("cannot read the vulnerability "
						"index '%s'",
						path);
			goto out;
		}
	}
	db = stele_xcalloc(1, sizeof(*db));
	db->s = s;
	s = NULL;
	db->dir = stele_xstrdup(dir);
	up = meta_get(db->s, "updated");
	db->updated = up ? strtoll(up, NULL, 10) : -1;
	if (sqlite3_prepare_v2(
		    db->s,
		    "SELECT id, introduced, fixed, "
		    "last_affected, status, severity, cvss10, summary FROM adv "
		    "WHERE eco = ? AND pkg = ? ORDER BY id",
		    -1, &db->q, NULL) != SQLITE_OK) {
		error = sql_error(db->s, "cannot read the vulnerability index");
		goto out;
	}
	*out = db;
	db = NULL;
out:
	stele_vuln_db_free(db);
	sqlite3_close(s);
	srclist_release(&l);
	free(path);
	free(up);
	return error;
}

void
stele_vuln_db_free(struct stele_vuln_db *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->q);
	sqlite3_close(db->s);
	free(db->dir);
	free(db);
}

int64_t
stele_vuln_db_updated(const struct stele_vuln_db *db)
{
	return db->updated;
}
