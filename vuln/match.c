/* Matching an inventory against the database; severities; reports. */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "vuln/version.h"
#include "vuln/vuln_int.h"

static const char *const sev_names[] = { "none",   "negligible", "low",
					 "medium", "high",       "critical",
					 "unknown" };

int
stele_vuln_severity_parse(const char *s)
{
	size_t i;

	for (i = 0; i <= STELE_SEV_CRITICAL; i++)
		if (!strcasecmp(s, sev_names[i]))
			return (int)i;
	return -1;
}

const char *
stele_vuln_severity_name(enum stele_vuln_severity s)
{
	assert(s <= STELE_SEV_UNKNOWN);
	return sev_names[s];
}

const char *
stele_vuln_status_name(enum stele_vuln_status s)
{
	switch (s) {
	case STELE_VULN_FIXED: return "fixed";
	case STELE_VULN_NOT_FIXED: return "not-fixed";
	case STELE_VULN_WONT_FIX: return "wont-fix";
	}
	return "?";
}

/* CVSS v3.1 specification, section 7.1; Roundup as its Appendix A. */
static double
roundup(double x)
{
	long long i = (long long)(x * 100000.0 + 0.5);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

int
stele_vuln_cvss3(int *out, const char *vector)
{
	static const char *const need[] = { "AV", "AC", "PR", "UI",
					    "S",  "C",  "I",  "A" };
	char val[8] = { 0 };
	const char *p;
	double av, ac, pr, ui, c, in, a, iss, imp, expl, base;
	size_t i;
	int changed;

	*out = -1;
	if (strncmp(vector, "CVSS:3.0/", 9) && strncmp(vector, "CVSS:3.1/", 9))
		return stele_error_setc(STELE_EINVALID,
					"not a CVSS v3 vector: '%s'", vector);
	p = vector + 9;
	while (*p) {
		size_t klen = strcspn(p, ":");
		const char *v = p + klen + 1;

		if (p[klen] != ':' || !*v || (v[1] != '/' && v[1] != '\0'))
			return stele_error_setc(STELE_EINVALID,
						"malformed CVSS vector '%s'",
						vector);
		for (i = 0; i < sizeof(need) / sizeof(*need); i++) {
			if (strlen(need[i]) == klen &&
			    !strncmp(p, need[i], klen)) {
				if (val[i])
					return stele_error_setc(
						STELE_EINVALID,
						"repeated metric in CVSS vector '%s'",
						vector);
				val[i] = *v;
			}
		}
		p = v[1] ? v + 2 : v + 1;
	}
	for (i = 0; i < sizeof(need) / sizeof(*need); i++)
		if (!val[i])
			return stele_error_setc(STELE_EINVALID,
						"CVSS vector '%s' lacks %s",
						vector, need[i]);
	changed = val[4] == 'C';
	if (!changed && val[4] != 'U')
		goto bad;
	switch (val[0]) {
	case 'N': av = 0.85; break;
	case 'A': av = 0.62; break;
	case 'L': av = 0.55; break;
	case 'P': av = 0.2; break;
	default: goto bad;
	}
	switch (val[1]) {
	case 'L': ac = 0.77; break;
	case 'H': ac = 0.44; break;
	default: goto bad;
	}
	switch (val[2]) {
	case 'N': pr = 0.85; break;
	case 'L': pr = changed ? 0.68 : 0.62; break;
	case 'H': pr = changed ? 0.5 : 0.27; break;
	default: goto bad;
	}
	switch (val[3]) {
	case 'N': ui = 0.85; break;
	case 'R': ui = 0.62; break;
	default: goto bad;
	}
	{
		double cia[3];

		for (i = 0; i < 3; i++) {
			switch (val[5 + i]) {
			case 'H': cia[i] = 0.56; break;
			case 'L': cia[i] = 0.22; break;
			case 'N': cia[i] = 0; break;
			default: goto bad;
			}
		}
		c = cia[0];
		in = cia[1];
		a = cia[2];
	}
	iss = 1 - (1 - c) * (1 - in) * (1 - a);
	if (changed) {
		double t = iss - 0.02, t15 = 1;

		for (i = 0; i < 15; i++)
			t15 *= t;
		imp = 7.52 * (iss - 0.029) - 3.25 * t15;
	} else {
		imp = 6.42 * iss;
	}
	expl = 8.22 * av * ac * pr * ui;
	if (imp <= 0)
		base = 0;
	else if (changed)
		base = roundup(1.08 * (imp + expl) < 10 ? 1.08 * (imp + expl)
							: 10);
	else
		base = roundup(imp + expl < 10 ? imp + expl : 10);
	*out = (int)(base * 10 + 0.5);
	return 0;
bad:
	return stele_error_setc(STELE_EINVALID,
				"unknown metric value in CVSS vector '%s'",
				vector);
}

static enum stele_vuln_severity
cvss_band(int s10)
{
	if (s10 < 0)
		return STELE_SEV_UNKNOWN;
	if (s10 == 0)
		return STELE_SEV_NEGLIGIBLE;
	if (s10 < 40)
		return STELE_SEV_LOW;
	if (s10 < 70)
		return STELE_SEV_MEDIUM;
	if (s10 < 90)
		return STELE_SEV_HIGH;
	return STELE_SEV_CRITICAL;
}

/* Unknown ranks with critical: a gate fails closed. */
static int
sev_rank(enum stele_vuln_severity s)
{
	return s == STELE_SEV_UNKNOWN ? STELE_SEV_CRITICAL : (int)s;
}

int
stele_vuln_denied(const struct stele_vuln_finding *f,
		  enum stele_vuln_severity max, int fixable_only)
{
	if (f->suppressed)
		return 0;
	if (fixable_only && f->status != STELE_VULN_FIXED)
		return 0;
	return sev_rank(f->severity) > (int)max;
}

/* The OSV ecosystem of the image's distribution, or NULL. */
static char *
ecosystem(const struct stele_sbom *s, enum stele_vuln_scheme *scheme)
{
	const char *v = s->distro_version;
	size_t n;

	if (!s->distro_id || !v)
		return NULL;
	if (!strcmp(s->distro_id, "debian")) {
		*scheme = STELE_VULN_DEB;
		return stele_xasprintf("Debian:%.*s", (int)strcspn(v, "."), v);
	}
	if (!strcmp(s->distro_id, "alpine")) {
		/* 3.20.3 → v3.20 */
		n = strcspn(v, ".");
		if (v[n] == '.')
			n += 1 + strcspn(v + n + 1, ".");
		*scheme = STELE_VULN_APK;
		return stele_xasprintf("Alpine:v%.*s", (int)n, v);
	}
	/* Rocky Linux and AlmaLinux publish per major release: 9.4 → 9. */
	if (!strcmp(s->distro_id, "rocky")) {
		*scheme = STELE_VULN_RPM;
		return stele_xasprintf("Rocky Linux:%.*s", (int)strcspn(v, "."),
				       v);
	}
	if (!strcmp(s->distro_id, "almalinux")) {
		*scheme = STELE_VULN_RPM;
		return stele_xasprintf("AlmaLinux:%.*s", (int)strcspn(v, "."),
				       v);
	}
	return NULL;
}

static void
finding_release(struct stele_vuln_finding *f)
{
	free(f->id);
	free(f->package);
	free(f->installed);
	free(f->fixed);
	free(f->summary);
	free(f->vex_status);
	free(f->vex_justification);
	free(f->vex_doc);
}

void
stele_vuln_report_free(struct stele_vuln_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		finding_release(&r->v[i]);
	free(r->v);
	free(r->ecosystem);
	free(r);
}

static const char *
col(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}

/* Whether `ver` is inside one row's range. */
static int
in_range(int *out, enum stele_vuln_scheme sc, const char *ver,
	 const char *intro, const char *fixed, const char *last, const char *id)
{
	int c, error;

	*out = 0;
	if (intro && strcmp(intro, "0") != 0) {
		if ((error = stele_vuln_version_cmp(&c, sc, ver, intro)) < 0)
			goto bad;
		if (c < 0)
			return 0;
	}
	if (fixed) {
		if ((error = stele_vuln_version_cmp(&c, sc, ver, fixed)) < 0)
			goto bad;
		*out = c < 0;
	} else if (last) {
		if ((error = stele_vuln_version_cmp(&c, sc, ver, last)) < 0)
			goto bad;
		*out = c <= 0;
	} else {
		*out = 1;
	}
	return 0;
bad:
	return stele_error_prefix(error, "%s", id);
}

/* The findings for one package; appended to `r`. */
static int
match_pkg(struct stele_vuln_report *r, size_t *alloc, struct stele_vuln_db *db,
	  enum stele_vuln_scheme sc, size_t pi)
{
	const struct stele_sbom_pkg *p = &r->sbom->pkgs[pi];
	const char *name, *ver;
	sqlite3_stmt *q = db->q;
	char *last_id = NULL;
	int rc, hit, error = 0;

	if (sc == STELE_VULN_DEB) {
		name = p->source ? p->source : p->name;
		ver = p->source_version ? p->source_version : p->version;
	} else if (sc == STELE_VULN_RPM) {
		/* Rocky's and Alma's advisories name binary packages. */
		name = p->name;
		ver = p->version;
	} else {
		name = p->origin ? p->origin : p->name;
		ver = p->version;
	}
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, r->ecosystem, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = col(q, 0);
		struct stele_vuln_finding *f;
		int sev, cvss;

		/* One finding per advisory: the first range that holds. */
		if (last_id && !strcmp(last_id, id))
			continue;
		if ((error = in_range(&hit, sc, ver, col(q, 1), col(q, 2),
				      col(q, 3), id)) < 0)
			break;
		if (!hit)
			continue;
		free(last_id);
		last_id = stele_xstrdup(id);
		if (r->n == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 16;
			r->v = stele_xrealloc(r->v, *alloc * sizeof(*r->v));
		}
		f = &r->v[r->n++];
		memset(f, 0, sizeof(*f));
		f->id = stele_xstrdup(id);
		f->pkg = pi;
		f->package = stele_xstrdup(name);
		f->installed = stele_xstrdup(ver);
		f->fixed = col(q, 2) ? stele_xstrdup(col(q, 2)) : NULL;
		f->status = (enum stele_vuln_status)sqlite3_column_int(q, 4);
		sev = sqlite3_column_int(q, 5);
		cvss = sqlite3_column_int(q, 6);
		f->cvss10 = cvss;
		if (sev != STELE_SEV_UNKNOWN) {
			f->severity = (enum stele_vuln_severity)sev;
			f->severity_from = "vendor";
		} else if (cvss >= 0) {
			f->severity = cvss_band(cvss);
			f->severity_from = "cvss";
		} else {
			f->severity = STELE_SEV_UNKNOWN;
		}
		f->summary = col(q, 7) ? stele_xstrdup(col(q, 7)) : NULL;
	}
	if (!error && rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = stele_error_set(
			"cannot read the vulnerability index: %s",
			sqlite3_errmsg(db->s));
	sqlite3_reset(q);
	free(last_id);
	return error;
}

static int
finding_cmp(const void *pa, const void *pb)
{
	const struct stele_vuln_finding *a = pa, *b = pb;
	int r;

	if (sev_rank(a->severity) != sev_rank(b->severity))
		return sev_rank(b->severity) - sev_rank(a->severity);
	if (a->severity != b->severity)
		return a->severity == STELE_SEV_UNKNOWN ? 1 : -1;
	if ((r = strcmp(a->id, b->id)) != 0)
		return r;
	return a->pkg < b->pkg ? -1 : a->pkg > b->pkg;
}

int
stele_vuln_match(struct stele_vuln_report **out, struct stele_vuln_db *db,
		 const struct stele_sbom *sbom)
{
	struct stele_vuln_report *r = stele_xcalloc(1, sizeof(*r));
	enum stele_vuln_scheme sc = STELE_VULN_DEB;
	const char *want;
	size_t i, alloc = 0;
	int error = 0;

	*out = NULL;
	r->sbom = sbom;
	r->db_updated = db->updated;
	r->ecosystem = ecosystem(sbom, &sc);
	want = sc == STELE_VULN_DEB    ? "deb"
		: sc == STELE_VULN_RPM ? "rpm"
				       : "apk";
	for (i = 0; r->ecosystem && i < sbom->npkgs; i++) {
		if (strcmp(sbom->pkgs[i].type, want) != 0)
			continue;
		r->npkgs++;
		if ((error = match_pkg(r, &alloc, db, sc, i)) < 0)
			goto out;
	}
	r->unmatched = (int64_t)(sbom->npkgs - r->npkgs);
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), finding_cmp);
	*out = r;
	r = NULL;
out:
	stele_vuln_report_free(r);
	return error;
}

/* The finding's origin: layer, recipe line and commit, as JSON. */
static json_t *
origin_json(const struct stele_sbom *s, const struct stele_sbom_pkg *p)
{
	const struct stele_sbom_layer *l;
	json_t *o = json_object();

	if (p->layer >= s->nlayers)
		return o;
	l = &s->layers[p->layer];
	json_object_set_new(o, "layer", json_string(l->diff_id));
	if (l->recipe) {
		json_object_set_new(o, "recipe", json_string(l->recipe));
		json_object_set_new(o, "line", json_integer(l->line));
	}
	if (l->instruction)
		json_object_set_new(o, "instruction",
				    json_string(l->instruction));
	if (l->commit)
		json_object_set_new(o, "commit", json_string(l->commit));
	if (l->base)
		json_object_set_new(o, "base", json_true());
	return o;
}

static json_t *
finding_json(const struct stele_vuln_report *r,
	     const struct stele_vuln_finding *f)
{
	const struct stele_sbom_pkg *p = &r->sbom->pkgs[f->pkg];
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(f->id));
	json_object_set_new(o, "package", json_string(p->name));
	json_object_set_new(o, "version", json_string(p->version));
	json_object_set_new(o, "source", json_string(f->package));
	json_object_set_new(o, "installed", json_string(f->installed));
	json_object_set_new(o, "status",
			    json_string(stele_vuln_status_name(f->status)));
	json_object_set_new(o, "severity",
			    json_string(stele_vuln_severity_name(f->severity)));
	if (f->severity_from)
		json_object_set_new(o, "severitySource",
				    json_string(f->severity_from));
	if (f->cvss10 >= 0)
		json_object_set_new(o, "cvss10", json_integer(f->cvss10));
	if (f->fixed)
		json_object_set_new(o, "fixed", json_string(f->fixed));
	if (p->purl)
		json_object_set_new(o, "purl", json_string(p->purl));
	json_object_set_new(o, "origin", origin_json(r->sbom, p));
	if (f->suppressed) {
		json_t *x = json_pack("{s:s,s:s}", "status", f->vex_status,
				      "document", f->vex_doc);

		if (f->vex_justification)
			json_object_set_new(x, "justification",
					    json_string(f->vex_justification));
		json_object_set_new(o, "suppressed", x);
	}
	return o;
}

json_t *
stele_vuln__report_obj(const struct stele_vuln_report *r)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "image", json_string(r->sbom->image));
	json_object_set_new(o, "ecosystem",
			    r->ecosystem ? json_string(r->ecosystem)
					 : json_null());
	json_object_set_new(o, "packages", json_integer((json_int_t)r->npkgs));
	if (r->unmatched >= 0)
		json_object_set_new(o, "unmatchedPackages",
				    json_integer((json_int_t)r->unmatched));
	if (r->db_updated >= 0)
		json_object_set_new(o, "dbUpdated",
				    json_integer(r->db_updated));
	for (i = 0; i < r->n; i++)
		json_array_append_new(a, finding_json(r, &r->v[i]));
	json_object_set_new(o, "findings", a);
	return o;
}

int
stele_vuln_report_json(struct stele_buf *out, const struct stele_vuln_report *r)
{
	json_t *o = stele_vuln__report_obj(r);
	int error = stele_json_emit(out, o);

	json_decref(o);
	return error;
}

static const char *
sarif_level(enum stele_vuln_severity s)
{
	switch (s) {
	case STELE_SEV_CRITICAL:
	case STELE_SEV_HIGH:
	case STELE_SEV_UNKNOWN: return "error";
	case STELE_SEV_MEDIUM: return "warning";
	default: return "note";
	}
}

int
stele_vuln_report_sarif(struct stele_buf *out,
			const struct stele_vuln_report *r,
			const char *tool_version)
{
	json_t *o = json_object(), *run = json_object(), *rules = json_array();
	json_t *results = json_array(), *seen = json_object();
	size_t i;
	int error;

	for (i = 0; i < r->n; i++) {
		const struct stele_vuln_finding *f = &r->v[i];
		const struct stele_sbom_pkg *p = &r->sbom->pkgs[f->pkg];
		json_t *res = json_object(), *loc = json_object();
		char *msg;

		if (!json_object_get(seen, f->id)) {
			json_t *rule = json_object();

			json_object_set_new(seen, f->id, json_true());
			json_object_set_new(rule, "id", json_string(f->id));
			json_object_set_new(
				rule, "shortDescription",
				json_pack("{s:s}", "text",
					  f->summary ? f->summary : f->id));
			json_array_append_new(rules, rule);
		}
		msg = stele_xasprintf("%s in %s %s (source %s %s): %s%s%s",
				      f->id, p->name, p->version, f->package,
				      f->installed,
				      stele_vuln_status_name(f->status),
				      f->fixed ? ", fixed in " : "",
				      f->fixed ? f->fixed : "");
		json_object_set_new(res, "ruleId", json_string(f->id));
		json_object_set_new(res, "level",
				    json_string(sarif_level(f->severity)));
		json_object_set_new(res, "message",
				    json_pack("{s:s}", "text", msg));
		free(msg);
		json_object_set_new(
			loc, "physicalLocation",
			json_pack("{s:{s:s}}", "artifactLocation", "uri",
				  p->db ? p->db : "var/lib/dpkg/status"));
		json_object_set_new(res, "locations", json_pack("[o]", loc));
		json_object_set_new(res, "properties", finding_json(r, f));
		if (f->suppressed)
			json_object_set_new(
				res, "suppressions",
				json_pack("[{s:s,s:s}]", "kind", "external",
					  "justification",
					  f->vex_justification
						  ? f->vex_justification
						  : f->vex_status));
		json_array_append_new(results, res);
	}
	json_object_set_new(run, "tool",
			    json_pack("{s:{s:s,s:s,s:s,s:o}}", "driver", "name",
				      "stele", "version", tool_version,
				      "informationUri", "https://stele.dev",
				      "rules", rules));
	json_object_set_new(run, "results", results);
	json_object_set_new(o, "version", json_string("2.1.0"));
	json_object_set_new(
		o, "$schema",
		json_string("https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_set_new(o, "runs", json_pack("[o]", run));
	error = stele_json_emit(out, o);
	json_decref(o);
	json_decref(seen);
	return error;
}
