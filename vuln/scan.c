/* Scan results as in-toto statements of cosign's vuln type (scan.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"
#include "vuln/scan.h"
#include "vuln/vuln_int.h"

int
stele_vuln_scan_statement(struct stele_buf *out,
			  const struct stele_vuln_report *r,
			  const struct stele_vuln_scan_info *info)
{
	const char *digest = r->sbom->image;
	char started[STELE_TIME_STRLEN], finished[STELE_TIME_STRLEN];
	char dbtime[STELE_TIME_STRLEN] = "";
	json_t *params = json_array(), *st;
	char *uri;
	size_t i;
	int error;

	for (i = 0; i < info->nparameters; i++)
		json_array_append_new(params, json_string(info->parameters[i]));
	stele_time_format(started, info->started);
	stele_time_format(finished, info->finished);
	if (r->db_updated >= 0)
		stele_time_format(dbtime, r->db_updated);
	uri = stele_xasprintf("pkg:generic/stele@%s", info->version);
	st = json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:{"
		       "s:{s:o,s:s,s:s,s:s},"
		       "s:{s:s,s:s,s:{s:s,s:s},s:o},"
		       "s:{s:s,s:s}}}",
		       "_type", "https://in-toto.io/Statement/v1", "subject",
		       "name", info->name && *info->name ? info->name : digest,
		       "digest", "sha256", digest + 7, "predicateType",
		       STELE_VULN_PREDICATE, "predicate", "invocation",
		       "parameters", params, "uri", "", "event_id", "",
		       "builder.id", "", "scanner", "uri", uri, "version",
		       info->version, "db", "uri", info->db, "version", dbtime,
		       "result", stele_vuln__report_obj(r), "metadata",
		       "scanStartedOn", started, "scanFinishedOn", finished);
	free(uri);
	if (!st)
		return stele_error_setc(
			STELE_EINVALID,
			"cannot build the scan "
			"statement (a name or option that is not UTF-8?)");
	error = stele_json_emit(out, st);
	json_decref(st);
	return error;
}

void
stele_vuln_scan_free(struct stele_vuln_scan *s)
{
	if (!s)
		return;
	stele_vuln_report_free(s->report);
	stele_sbom_free(s->sbom);
	free(s->version);
	free(s->db);
	free(s);
}

long
stele_vuln_report_find(const struct stele_vuln_report *r, const char *id,
		       const char *package)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].id, id) &&
		    !strcmp(r->sbom->pkgs[r->v[i].pkg].name, package))
			return (long)i;
	return -1;
}

static int
bad(const char *what, const char *why, size_t i)
{
	if (i == SIZE_MAX)
		return stele_error_setc(STELE_EINVALID,
					"%s: not a stele scan statement: %s",
					what, why);
	return stele_error_setc(STELE_EINVALID,
				"%s: finding %zu of the scan: %s", what, i,
				why);
}

static int
opt_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return !v || json_is_string(v);
}

/* The layer of a finding's origin, added once per diff_id. */
static size_t
origin_layer(struct stele_sbom *s, const json_t *o)
{
	const char *diff = stele_json_str(o, "layer");
	struct stele_sbom_layer *l;
	size_t i;

	if (!diff || stele_digest_validate(diff) < 0)
		return SIZE_MAX;
	for (i = 0; i < s->nlayers; i++)
		if (!strcmp(s->layers[i].diff_id, diff))
			return i;
	s->layers = stele_xrealloc(s->layers, (s->nlayers + 1) * sizeof(*l));
	l = &s->layers[s->nlayers];
	memset(l, 0, sizeof(*l));
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff);
	if (stele_json_str(o, "recipe")) {
		l->recipe = stele_xstrdup(stele_json_str(o, "recipe"));
		l->line = (int)stele_json_int(o, "line");
	}
	if (stele_json_str(o, "instruction"))
		l->instruction =
			stele_xstrdup(stele_json_str(o, "instruction"));
	if (stele_json_str(o, "commit"))
		l->commit = stele_xstrdup(stele_json_str(o, "commit"));
	l->base = json_is_true(json_object_get(o, "base"));
	return s->nlayers++;
}

/* The package a finding names, added once per (name, version, purl). */
static size_t
finding_pkg(struct stele_sbom *s, const json_t *f, size_t alloc_hint)
{
	const char *name = stele_json_str(f, "package");
	const char *ver = stele_json_str(f, "version");
	const char *purl = stele_json_str(f, "purl");
	struct stele_sbom_pkg *p;
	size_t i;

	for (i = 0; i < s->npkgs; i++) {
		p = &s->pkgs[i];
		if (!strcmp(p->name, name) && !strcmp(p->version, ver) &&
		    !p->purl == !purl && (!purl || !strcmp(p->purl, purl)))
			return i;
	}
	if (!s->npkgs)
		s->pkgs =
			stele_xcalloc(alloc_hint ? alloc_hint : 1, sizeof(*p));
	p = &s->pkgs[s->npkgs];
	p->type = purl && !strncmp(purl, "pkg:apk/", 8) ? "apk"
		: purl && !strncmp(purl, "pkg:rpm/", 8) ? "rpm"
		: purl && !strncmp(purl, "pkg:deb/", 8) ? "deb"
							: "unknown";
	p->name = stele_xstrdup(name);
	p->version = stele_xstrdup(ver);
	p->source = stele_xstrdup(stele_json_str(f, "source"));
	p->source_version = stele_xstrdup(stele_json_str(f, "installed"));
	p->purl = purl ? stele_xstrdup(purl) : NULL;
	p->layer = origin_layer(s, json_object_get(f, "origin"));
	return s->npkgs++;
}

static int
parse_finding(struct stele_vuln_finding *out, struct stele_sbom *s,
	      const json_t *f, size_t nall, size_t i, const char *what)
{
	static const char *const req[] = { "id",       "package",   "version",
					   "source",   "installed", "status",
					   "severity", NULL };
	const char *status, *sev, *from;
	const json_t *cvss = json_object_get(f, "cvss10");
	const json_t *sup = json_object_get(f, "suppressed");
	const json_t *origin = json_object_get(f, "origin");
	size_t k;
	int sv;

	if (!json_is_object(f))
		return bad(what, "not an object", i);
	for (k = 0; req[k]; k++)
		if (!stele_json_str(f, req[k]) || !*stele_json_str(f, req[k]))
			return bad(
				what,
				"id, package, version, source, "
				"installed, status and severity are required "
				"strings",
				i);
	if (!opt_str(f, "fixed") || !opt_str(f, "purl") ||
	    !opt_str(f, "severitySource") || (cvss && !json_is_integer(cvss)) ||
	    (origin && !json_is_object(origin)) ||
	    (sup &&
	     (!json_is_object(sup) || !stele_json_str(sup, "status") ||
	      !stele_json_str(sup, "document") ||
	      !opt_str(sup, "justification"))))
		return bad(what,
			   "fixed, purl, severitySource, cvss10, origin "
			   "or suppressed has the wrong type",
			   i);
	status = stele_json_str(f, "status");
	sev = stele_json_str(f, "severity");
	from = stele_json_str(f, "severitySource");
	memset(out, 0, sizeof(*out));
	if (!strcmp(status, "fixed"))
		out->status = STELE_VULN_FIXED;
	else if (!strcmp(status, "not-fixed"))
		out->status = STELE_VULN_NOT_FIXED;
	else if (!strcmp(status, "wont-fix"))
		out->status = STELE_VULN_WONT_FIX;
	else
		return bad(what, "unknown status", i);
	if ((out->status == STELE_VULN_FIXED) != !!stele_json_str(f, "fixed"))
		return bad(what,
			   "a fixed version goes with status fixed, and "
			   "only with it",
			   i);
	if (!strcmp(sev, "unknown"))
		out->severity = STELE_SEV_UNKNOWN;
	else if ((sv = stele_vuln_severity_parse(sev)) > 0)
		out->severity = (enum stele_vuln_severity)sv;
	else
		return bad(what, "unknown severity", i);
	if (from && strcmp(from, "vendor") && strcmp(from, "cvss"))
		return bad(what, "severitySource is not vendor or cvss", i);
	out->severity_from = !from        ? NULL
		: !strcmp(from, "vendor") ? "vendor"
					  : "cvss";
	out->cvss10 = cvss ? (int)json_integer_value(cvss) : -1;
	out->id = stele_xstrdup(stele_json_str(f, "id"));
	out->package = stele_xstrdup(stele_json_str(f, "source"));
	out->installed = stele_xstrdup(stele_json_str(f, "installed"));
	if (stele_json_str(f, "fixed"))
		out->fixed = stele_xstrdup(stele_json_str(f, "fixed"));
	if (sup) {
		out->suppressed = 1;
		out->vex_status = stele_xstrdup(stele_json_str(sup, "status"));
		out->vex_doc = stele_xstrdup(stele_json_str(sup, "document"));
		if (stele_json_str(sup, "justification"))
			out->vex_justification = stele_xstrdup(
				stele_json_str(sup, "justification"));
	}
	out->pkg = finding_pkg(s, f, nall);
	return 0;
}

static int
parse_result(struct stele_vuln_scan *sc, const json_t *res, const char *digest,
	     const char *what)
{
	const json_t *fs = json_object_get(res, "findings");
	const json_t *eco = json_object_get(res, "ecosystem");
	const json_t *npk = json_object_get(res, "packages");
	const json_t *up = json_object_get(res, "dbUpdated");
	const json_t *um = json_object_get(res, "unmatchedPackages");
	struct stele_vuln_report *r;
	size_t i;
	int error;

	if (!json_is_object(res) || !json_is_array(fs) ||
	    !stele_json_str(res, "image") || !json_is_integer(npk) ||
	    json_integer_value(npk) < 0 || (up && !json_is_integer(up)) ||
	    (um && (!json_is_integer(um) || json_integer_value(um) < 0)) ||
	    (!json_is_null(eco) && !json_is_string(eco)))
		return bad(what,
			   "scanner.result is not a stele report (image, "
			   "ecosystem, packages, findings)",
			   SIZE_MAX);
	if (strcmp(stele_json_str(res, "image"), digest))
		return bad(what, "scanner.result is about another image",
			   SIZE_MAX);
	sc->sbom = stele_xcalloc(1, sizeof(*sc->sbom));
	snprintf(sc->sbom->image, sizeof(sc->sbom->image), "%s", digest);
	r = stele_xcalloc(1, sizeof(*r));
	r->sbom = sc->sbom;
	r->ecosystem = json_is_string(eco)
		? stele_xstrdup(json_string_value(eco))
		: NULL;
	r->npkgs = (size_t)json_integer_value(npk);
	r->unmatched = um ? (int64_t)json_integer_value(um) : -1;
	r->db_updated = up ? (int64_t)json_integer_value(up) : -1;
	r->v = stele_xcalloc(json_array_size(fs) + 1, sizeof(*r->v));
	sc->report = r;
	for (i = 0; i < json_array_size(fs); i++) {
		if ((error = parse_finding(&r->v[i], sc->sbom,
					   json_array_get(fs, i),
					   json_array_size(fs), i, what)) < 0)
			return error;
		r->n++;
	}
	sc->db_updated = r->db_updated;
	return 0;
}

static int
has_subject(const json_t *st, const char *digest)
{
	const json_t *subs = json_object_get(st, "subject"), *s;
	size_t i;

	json_array_foreach(subs, i, s) {
		const char *h =
			stele_json_str(json_object_get(s, "digest"), "sha256");

		if (h && !strcmp(h, digest + 7))
			return 1;
	}
	return 0;
}

int
stele_vuln_scan_parse(struct stele_vuln_scan **out, const void *statement,
		      size_t len, const char *digest, const char *what)
{
	struct stele_vuln_scan *sc = stele_xcalloc(1, sizeof(*sc));
	const json_t *pred, *scanner, *meta;
	const char *type;
	json_t *st = NULL;
	int error;

	*out = NULL;
	if (len > STELE_VULN_SCAN_MAX) {
		error = stele_error_setc(STELE_EINVALID,
					 "%s: larger than %u bytes", what,
					 STELE_VULN_SCAN_MAX);
		goto out;
	}
	if ((error = stele_json_parse(&st, statement, len, what)) < 0)
		goto out;
	type = stele_json_str(st, "_type");
	pred = json_object_get(st, "predicate");
	scanner = json_object_get(pred, "scanner");
	meta = json_object_get(pred, "metadata");
	if (!type ||
	    (strcmp(type, "https://in-toto.io/Statement/v1") &&
	     strcmp(type, "https://in-toto.io/Statement/v0.1")) ||
	    !stele_json_str(st, "predicateType") ||
	    strcmp(stele_json_str(st, "predicateType"), STELE_VULN_PREDICATE)) {
		error = bad(
			what,
			"not an in-toto statement of type " STELE_VULN_PREDICATE,
			SIZE_MAX);
		goto out;
	}
	if (!has_subject(st, digest)) {
		error = bad(what, "the image is not its subject", SIZE_MAX);
		goto out;
	}
	if (!json_is_object(scanner) || !json_is_object(meta) ||
	    stele_time_parse(&sc->started,
			     stele_json_str(meta, "scanStartedOn")) < 0 ||
	    stele_time_parse(&sc->finished,
			     stele_json_str(meta, "scanFinishedOn")) < 0 ||
	    sc->finished < sc->started) {
		error = bad(what,
			    "metadata.scanStartedOn and scanFinishedOn "
			    "must be RFC 3339 UTC times, in that order",
			    SIZE_MAX);
		goto out;
	}
	if (stele_json_str(scanner, "version"))
		sc->version = stele_xstrdup(stele_json_str(scanner, "version"));
	if (stele_json_str(json_object_get(scanner, "db"), "uri"))
		sc->db = stele_xstrdup(
			stele_json_str(json_object_get(scanner, "db"), "uri"));
	if ((error = parse_result(sc, json_object_get(scanner, "result"),
				  digest, what)) < 0)
		goto out;
	*out = sc;
	sc = NULL;
out:
	json_decref(st);
	stele_vuln_scan_free(sc);
	return error;
}
