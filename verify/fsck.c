#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/fsck.h"

#define MAX_DEPTH 8

struct fsck {
	struct stele_fsck_report *r;
	struct stele_oci *oci;
	json_t *present; /* digest -> true|false (true: hashes right) */
	json_t *reached; /* digest -> true */
};

static void problem(struct fsck *f, const char *kind, const char *subject,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
problem(struct fsck *f, const char *kind, const char *subject, const char *fmt,
	...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_array_append_new(f->r->problems,
			      json_pack("{s:s,s:s,s:s}", "kind", kind,
					"subject", subject, "reason", reason));
}

static int
scan_blobs(struct fsck *f)
{
	char *dir = stele_path_join(f->oci->dir, "blobs/sha256");
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		int error = stele_error_errno("cannot read '%s'", dir);

		free(dir);
		return error;
	}
	while ((de = readdir(d))) {
		char want[STELE_DIGEST_STRLEN], got[STELE_DIGEST_STRLEN] = "";
		char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(want, sizeof(want), "sha256:%.64s", de->d_name);
		if (strlen(de->d_name) != 64)
			want[0] = '\0';
		p = stele_path_join(dir, de->d_name);
		if (!want[0] || stele_digest_validate(want) < 0) {
			/* e.g. a temp file from an interrupted atomic write */
			json_array_append_new(f->r->temp, json_string(p));
		} else if (stele_digest_file(got, NULL, p) < 0 ||
			   strcmp(got, want)) {
			problem(f, "corrupt", want,
				"the blob's content hashes to %s", got);
			json_object_set_new(f->present, want, json_false());
			f->r->blobs++;
		} else {
			json_object_set_new(f->present, want, json_true());
			f->r->blobs++;
		}
		free(p);
	}
	closedir(d);
	free(dir);
	return 0;
}

static void walk_desc(struct fsck *f, const json_t *desc, const char *from,
		      int depth);

static void
walk_json(struct fsck *f, const char *digest, int depth)
{
	json_t *doc = NULL, *v;
	size_t i;

	if (depth > MAX_DEPTH ||
	    !json_is_true(json_object_get(f->present, digest)))
		return;
	if (stele_oci_json_read(&doc, NULL, f->oci, digest) < 0) {
		problem(f, "invalid", digest, "%s", stele_error_last());
		return;
	}
	if ((v = json_object_get(doc, "config")))
		walk_desc(f, v, digest, depth + 1);
	json_array_foreach(json_object_get(doc, "layers"), i, v)
		walk_desc(f, v, digest, depth + 1);
	json_array_foreach(json_object_get(doc, "manifests"), i, v)
		walk_desc(f, v, digest, depth + 1);
	if ((v = json_object_get(doc, "subject")))
		walk_desc(f, v, digest, depth + 1);
	json_decref(doc);
}

static void
walk_desc(struct fsck *f, const json_t *desc, const char *from, int depth)
{
	const char *d = stele_json_str(desc, "digest");
	const char *mt = stele_json_str(desc, "mediaType");
	char subject[STELE_DIGEST_STRLEN + 32];

	if (!d || stele_digest_validate(d) < 0) {
		problem(f, "invalid", from,
			"a descriptor has an invalid digest");
		return;
	}
	if (!json_object_get(f->present, d)) {
		snprintf(subject, sizeof(subject), "%s", d);
		problem(f, "dangling", subject, "referenced by %s but missing",
			from);
		return;
	}
	if (json_object_get(f->reached, d))
		return;
	json_object_set_new(f->reached, d, json_true());
	if (mt && (strstr(mt, "manifest") || strstr(mt, "index")))
		walk_json(f, d, depth);
}

/*
 * A ref name (org.opencontainers.image.ref.name) names one manifest: with
 * two entries, which image a name means depends on the reader.
 */
static void
check_names(struct fsck *f, const json_t *idx)
{
	json_t *seen = json_object(), *m, *n;
	const char *name;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		if (!(name = stele_json_str(json_object_get(m, "annotations"),
					    STELE_ANN_REFNAME)))
			continue;
		n = json_object_get(seen, name);
		json_object_set_new(
			seen, name,
			json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	/* In index order, each name once. */
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		if (!(name = stele_json_str(json_object_get(m, "annotations"),
					    STELE_ANN_REFNAME)) ||
		    stele_json_int(seen, name) < 2)
			continue;
		problem(f, "duplicate", name,
			"%lld index.json entries have this ref name; it must "
			"name one manifest",
			(long long)stele_json_int(seen, name));
		json_object_set_new(seen, name, json_integer(0));
	}
	json_decref(seen);
}

static void
scan_temp(struct fsck *f)
{
	json_t *left = stele_oci_staging_leftovers(f->oci);

	json_array_extend(f->r->temp, left);
	json_decref(left);
}

int
stele_fsck(struct stele_fsck_report *out, const char *dir, int prune)
{
	struct fsck f = { 0 };
	json_t *idx = NULL, *v;
	const char *k;
	size_t i;
	int lockfd = -1, error;

	memset(out, 0, sizeof(*out));
	out->problems = json_array();
	out->unreferenced = json_array();
	out->temp = json_array();
	f.r = out;
	f.present = json_object();
	f.reached = json_object();
	if ((error = stele_oci_open(&f.oci, dir, 0)) < 0)
		goto out;
	/*
	 * The layout lock: no commit runs while we look; with prune,
	 * exclusive, so no transaction starts either, and a staging directory
	 * found idle (its owner gone) is garbage.
	 */
	if ((error = stele_oci_lock(&lockfd, f.oci, prune)) < 0)
		goto out;
	if ((error = scan_blobs(&f)) < 0)
		goto out;
	scan_temp(&f);
	if (stele_oci_index_load(&idx, f.oci) < 0) {
		problem(&f, "invalid", "index.json", "%s", stele_error_last());
	} else {
		check_names(&f, idx);
		json_array_foreach(json_object_get(idx, "manifests"), i, v)
			walk_desc(&f, v, "index.json", 0);
	}
	json_object_foreach(f.present, k, v)
		if (!json_object_get(f.reached, k))
			json_array_append_new(out->unreferenced,
					      json_string(k));
	if (!prune)
		goto out;
	json_array_foreach(out->temp, i, v)
		if (stele_fs_rm_rf(json_string_value(v)) == 0)
			out->removed++;
	json_array_foreach(out->unreferenced, i, v) {
		char *p = stele_oci_blob_path(f.oci, json_string_value(v));

		if (unlink(p) == 0)
			out->removed++;
		free(p);
	}
out:
	stele_oci_unlock(lockfd);
	json_decref(idx);
	json_decref(f.present);
	json_decref(f.reached);
	stele_oci_free(f.oci);
	return error;
}

void
stele_fsck_report_release(struct stele_fsck_report *r)
{
	json_decref(r->problems);
	json_decref(r->unreferenced);
	json_decref(r->temp);
	memset(r, 0, sizeof(*r));
}
