#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/provenance.h"
#include "deploy/audit.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "registry/transfer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"
#include "signer/check.h"
#include "verify/policy.h"
#include "vuln/scan.h"
#include "vuln/vuln.h"

#define DAY 86400

/* ---- the image list ---- */

static int
add_ref(json_t *refs, json_t *seen, const char *s, const char *what,
	const char *where)
{
	size_t n = strlen(s), i;

	if (!n)
		return stele_error_setc(STELE_EINVALID,
					"%s: %s: an empty image", what, where);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return stele_error_setc(
				STELE_EINVALID,
				"%s: %s: '%s' is not one image reference", what,
				where, s);
	if (json_object_get(seen, s))
		return 0;
	if (json_array_size(refs) >= STELE_AUDIT_MAX_REFS)
		return stele_error_setc(STELE_EINVALID,
					"%s: more than %d images", what,
					STELE_AUDIT_MAX_REFS);
	json_object_set_new(seen, s, json_true());
	json_array_append_new(refs, json_string(s));
	return 0;
}

static int
pod_images(json_t *refs, json_t *seen, const json_t *pod, const char *what,
	   size_t item)
{
	static const char *const lists[] = { "containers", "initContainers",
					     "ephemeralContainers", NULL };
	const json_t *spec = json_object_get(pod, "spec"), *arr, *c;
	char where[128];
	size_t i, j;
	int error;

	if (!json_is_object(pod) || !json_is_object(spec))
		return stele_error_setc(
			STELE_EINVALID,
			"%s: items[%zu] is not a Pod with a spec", what, item);
	for (i = 0; lists[i]; i++) {
		if (!(arr = json_object_get(spec, lists[i])))
			continue;
		if (!json_is_array(arr))
			return stele_error_setc(
				STELE_EINVALID,
				"%s: items[%zu].spec.%s is not an array", what,
				item, lists[i]);
		json_array_foreach(arr, j, c) {
			const json_t *img = json_object_get(c, "image");

			snprintf(where, sizeof(where),
				 "items[%zu].spec.%s[%zu].image", item,
				 lists[i], j);
			if (!json_is_string(img))
				return stele_error_setc(
					STELE_EINVALID,
					"%s: %s is not a string", what, where);
			if ((error = add_ref(refs, seen, json_string_value(img),
					     what, where)) < 0)
				return error;
		}
	}
	return 0;
}

static int
parse_pods(json_t *refs, json_t *seen, const char *data, size_t len,
	   const char *what)
{
	json_t *root = NULL, *items, *it;
	const char *kind;
	size_t i;
	int error;

	if ((error = stele_json_parse(&root, data, len, what)) < 0)
		return error;
	kind = stele_json_str(root, "kind");
	if (kind && !strcmp(kind, "Pod")) {
		error = pod_images(refs, seen, root, what, 0);
	} else if (!json_is_array(items = json_object_get(root, "items"))) {
		error = stele_error_setc(
			STELE_EINVALID,
			"%s: neither a List of Pods with items (kubectl get pods -o json) nor a Pod",
			what);
	} else {
		json_array_foreach(items, i, it) {
			const char *k = stele_json_str(it, "kind");

			/* kubectl's List of pods: items may omit their kind. */
			if (k && strcmp(k, "Pod")) {
				error = stele_error_setc(
					STELE_EINVALID,
					"%s: items[%zu] is a %s, not a Pod",
					what, i, k);
				break;
			}
			if ((error = pod_images(refs, seen, it, what, i)) < 0)
				break;
		}
	}
	json_decref(root);
	return error;
}

static int
parse_lines(json_t *refs, json_t *seen, const char *data, size_t len,
	    const char *what)
{
	size_t off = 0, line = 0;
	int error = 0;

	while (off < len && error == 0) {
		const char *p = data + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		char where[32], *s;
		size_t a = 0, b = n;

		off += n + (nl != NULL);
		line++;
		while (a < b && (p[a] == ' ' || p[a] == '\t'))
			a++;
		while (b > a &&
		       (p[b - 1] == ' ' || p[b - 1] == '\t' ||
			p[b - 1] == '\r'))
			b--;
		if (a == b || p[a] == '#')
			continue;
		if (memchr(p + a, '\0', b - a))
			return stele_error_setc(STELE_EINVALID,
						"%s: line %zu holds a NUL byte",
						what, line);
		s = stele_xstrndup(p + a, b - a);
		snprintf(where, sizeof(where), "line %zu", line);
		error = add_ref(refs, seen, s, what, where);
		free(s);
	}
	return error;
}

int
stele_audit_images_parse(json_t **out, const char *data, size_t len,
			 const char *what)
{
	json_t *refs = json_array(), *seen = json_object();
	size_t i = 0;
	int error;

	*out = NULL;
	while (i < len && strchr(" \t\r\n", data[i]) && data[i])
		i++;
	if (len > STELE_AUDIT_MAX_LIST)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: larger than %u MiB", what,
					 STELE_AUDIT_MAX_LIST >> 20);
	else if (i < len && data[i] == '{')
		error = parse_pods(refs, seen, data, len, what);
	else
		error = parse_lines(refs, seen, data, len, what);
	if (error == 0 && json_array_size(refs) == 0)
		error = stele_error_setc(STELE_EINVALID, "%s: no images", what);
	json_decref(seen);
	if (error < 0) {
		json_decref(refs);
		return error;
	}
	*out = refs;
	return 0;
}

/* ---- one image ---- */

struct actx {
	const struct stele_audit_opts *o;
	const struct stele_policy *pol; /* as read at the start */
	int64_t max_age; /* seconds; 0: no limit */
	json_t *bases; /* base digest -> {"built","days","reason"} */
	struct stele_vuln_db *db; /* NULL: no findings are compared */
	const char *dbdir;
};

static json_t *
time_json(int64_t t)
{
	char s[32];

	stele_time_format(s, t);
	return json_string(s);
}

/* The build time of the image whose provenance is `d`: 0, or an error
 * with the reason set. */
static int
built_at(int64_t *out, const struct stele_prov_doc *d)
{
	if (!d->finished_on)
		return stele_error_setc(
			STELE_EINVALID,
			"the provenance records no build time (runDetails.metadata.finishedOn)");
	return stele_time_parse(out, d->finished_on);
}

/* A check of the verify report, by the part of the audit it belongs to. */
enum part { P_SIGNATURE, P_PROVENANCE, P_IMAGE, P_SKIP };

static enum part
part_of(const char *name)
{
	if (!strncmp(name, "signature", 9))
		return P_SIGNATURE;
	if (!strncmp(name, "attestation", 11) ||
	    !strncmp(name, "provenance", 10) || !strcmp(name, "hermetic") ||
	    !strcmp(name, "rebuild"))
		return P_PROVENANCE;
	if (!strcmp(name, "maximum age"))
		return P_SKIP;
	return P_IMAGE;
}

static void fail(json_t *part, json_t *all, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail(json_t *part, json_t *all, const char *fmt, ...)
{
	va_list ap;
	json_t *s;

	va_start(ap, fmt);
	s = json_vsprintf(fmt, ap);
	va_end(ap);
	json_object_set_new(part, "ok", json_false());
	json_array_append(json_object_get(part, "reasons"), s);
	json_array_append_new(all, s);
}

/* Date a base image from its own provenance, once per digest. */
static json_t *
base_age(struct actx *a, const char *image, const char *digest, const char *uri)
{
	struct stele_image *img = NULL;
	struct stele_prov_doc *d = NULL;
	struct stele_ref *ref = NULL;
	char *tmp = NULL, *s = NULL, *reason = NULL;
	json_t *b = json_object_get(a->bases, digest);
	int64_t t = 0;

	if (b)
		return json_deep_copy(b);
	if (uri && !strncmp(uri, "docker://", 9))
		s = stele_xstrdup(uri);
	else if (image && stele_ref_parse(&ref, image, NULL) == 0 &&
		 ref->transport == STELE_REF_DOCKER && ref->name)
		s = stele_xasprintf("docker://%s@%s", ref->name, digest);
	stele_ref_free(ref);
	ref = NULL;
	if (!s) {
		reason = stele_xasprintf(
			"base '%s' is not in a registry: its age is unknown",
			image ? image : digest);
	} else if (stele_ref_parse(&ref, s, NULL) < 0 ||
		   stele_registry_pull_temp_unlayered(&img, &tmp, ref,
						      a->o->registry) < 0 ||
		   stele_prov_load_doc(&d, img->oci, img->digest) < 0 ||
		   built_at(&t, d) < 0) {
		reason = stele_xasprintf("base %s: %s", s + 9,
					 stele_error_last());
	}
	b = json_pack(
		"{s:s?,s:s,s:o,s:o,s:s?}", "image", image, "digest", digest,
		"built", reason ? json_null() : time_json(t), "days",
		reason ? json_null() : json_integer((a->o->now - t) / DAY),
		"reason", reason);
	json_object_set(a->bases, digest, b);
	stele_prov_doc_free(d);
	stele_image_free(img);
	stele_ref_free(ref);
	stele_fs_tmp_free(tmp);
	free(s);
	free(reason);
	return b;
}

static json_t *
bases_of(struct actx *a, const struct stele_prov_doc *d, json_t *warnings)
{
	json_t *out = json_array(), *seen = json_object(), *in, *dep, *b;
	size_t i, j, k;

	for (i = 0; i < d->nrecords; i++) {
		if (!d->records[i].base)
			continue;
		json_array_foreach(d->records[i].inputs, j, in) {
			const char *image = stele_json_str(in, "image");
			const char *dg = stele_json_str(in, "digest"),
				   *uri = NULL;

			if (!dg || json_object_get(seen, dg))
				continue;
			json_object_set_new(seen, dg, json_true());
			json_array_foreach(d->deps, k, dep) {
				const char *h = stele_json_str(
					json_object_get(dep, "digest"),
					"sha256");
				const char *u = stele_json_str(dep, "uri");

				if (h && u && !strcmp(h, dg + 7) &&
				    !strncmp(u, "docker://", 9))
					uri = u;
			}
			b = base_age(a, image, dg, uri);
			if (a->max_age &&
			    json_is_integer(json_object_get(b, "days")) &&
			    stele_json_int(b, "days") * DAY > a->max_age)
				json_array_append_new(
					warnings,
					json_sprintf(
						"base %s was built %lld days ago (the limit is %lld)",
						image ? image : dg,
						(long long)stele_json_int(
							b, "days"),
						(long long)(a->max_age / DAY)));
			json_array_append_new(out, b);
		}
	}
	json_decref(seen);
	return out;
}

/* ---- findings new since the image's signed scan ---- */

/*
 * The newest scan attached to `img` and signed by a key that may sign
 * scans (the policy's vulnerabilities.scanKeys, else any of its keys) and
 * counts now; NULL when there is none.  Scans that do not read are
 * warnings.
 */
static struct stele_vuln_scan *
newest_scan(struct actx *a, struct stele_image *img, json_t *warnings,
	    const char **signer)
{
	const struct stele_policy *p = a->pol;
	const struct stele_pubkey **keys =
		stele_xcalloc(p->nkeys + 1, sizeof(*keys));
	const char **names = stele_xcalloc(p->nkeys + 1, sizeof(*names));
	struct stele_vuln_scan *best = NULL, *sc;
	struct stele_checks *cs = NULL;
	size_t i, j, n = 0;

	for (i = 0; i < p->nkeys; i++) {
		for (j = 0; j < p->nvuln_scan_keys; j++)
			if (!strcmp(p->vuln_scan_keys[j], p->keys[i].name))
				break;
		if ((!p->nvuln_scan_keys || j < p->nvuln_scan_keys) &&
		    stele_policy_key_usable(p, &p->keys[i], a->o->now, NULL)) {
			names[n] = p->keys[i].name;
			keys[n++] = p->keys[i].key;
		}
	}
	if (n &&
	    stele_attestations_check(&cs, img->oci, img->digest, keys, n,
				     STELE_SIG_PURE | STELE_SIG_PREHASH) < 0)
		json_array_append_new(
			warnings,
			json_sprintf("the signed scans cannot be read: %s",
				     stele_error_last()));
	for (i = 0; cs && i < cs->n; i++) {
		const struct stele_check *c = &cs->v[i];

		if (c->error || !c->predicate_type ||
		    strcmp(c->predicate_type, STELE_VULN_PREDICATE))
			continue;
		if (stele_vuln_scan_parse(&sc, c->body.ptr, c->body.len,
					  img->digest, c->blob) < 0) {
			json_array_append_new(warnings,
					      json_sprintf("signed scan: %s",
							   stele_error_last()));
			continue;
		}
		if (!best || sc->finished > best->finished) {
			stele_vuln_scan_free(best);
			best = sc;
			for (j = 0; j < n; j++)
				if (keys[j] == c->key)
					*signer = names[j];
		} else {
			stele_vuln_scan_free(sc);
		}
	}
	stele_checks_free(cs);
	free(names);
	free(keys);
	return best;
}

/*
 * Scan `img` now against the audit's database and list the findings its
 * newest signed scan does not have (all of them without one), by advisory
 * and binary package.  A new finding the policy's vulnerabilities rule
 * denies (maxSeverity, fixableOnly) fails the image; without that rule,
 * or under its threshold, it is a warning.  The part:
 *   {"ok", "reasons", "db", "dbUpdated", "findings",
 *    "scan": {"finished", "signer", "findings"} or null, "new": [...]}
 */
static json_t *
vulns_part(struct actx *a, struct stele_image *img, json_t *reasons,
	   json_t *warnings)
{
	const struct stele_policy *p = a->pol;
	struct stele_vuln_scan *sc;
	struct stele_vuln_report *r = NULL;
	struct stele_sbom *s = NULL;
	const char *signer = "?";
	json_t *part, *nw = json_array();
	int64_t up = stele_vuln_db_updated(a->db);
	int gate = p->vuln_db || p->vuln_signed_scan;
	size_t i;

	sc = newest_scan(a, img, warnings, &signer);
	part = json_pack(
		"{s:b,s:[],s:s,s:o,s:o}", "ok", 1, "reasons", "db", a->dbdir,
		"dbUpdated", up >= 0 ? time_json(up) : json_null(), "scan",
		!sc ? json_null()
		    : json_pack("{s:o,s:s,s:I}", "finished",
				time_json(sc->finished), "signer", signer,
				"findings", (json_int_t)sc->report->n));
	if (stele_sbom_read(&s, img, NULL) < 0 ||
	    stele_vuln_match(&r, a->db, s) < 0) {
		fail(part, reasons, "vulnerabilities: cannot scan: %s",
		     stele_error_last());
		goto out;
	}
	json_object_set_new(part, "findings", json_integer((json_int_t)r->n));
	for (i = 0; i < r->n; i++) {
		const struct stele_vuln_finding *f = &r->v[i];
		const struct stele_sbom_pkg *pk = &s->pkgs[f->pkg];
		char since[64];
		json_t *text;

		if (sc &&
		    stele_vuln_report_find(sc->report, f->id, pk->name) >= 0)
			continue;
		json_array_append_new(
			nw,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?}", "id", f->id,
				  "package", pk->name, "version", pk->version,
				  "severity",
				  stele_vuln_severity_name(f->severity),
				  "status", stele_vuln_status_name(f->status),
				  "fixed", f->fixed));
		if (sc) {
			char t[STELE_TIME_STRLEN];

			stele_time_format(t, sc->finished);
			snprintf(since, sizeof(since),
				 "since the signed scan of %s", t);
		} else {
			snprintf(since, sizeof(since),
				 "no signed scan to compare with");
		}
		text = json_sprintf(
			"%s %s %s in %s %s (source %s %s)%s%s: new, %s", f->id,
			stele_vuln_severity_name(f->severity),
			stele_vuln_status_name(f->status), pk->name,
			pk->version, f->package, f->installed,
			f->fixed ? ", fixed in " : "", f->fixed ? f->fixed : "",
			since);
		if (gate &&
		    stele_vuln_denied(f, (enum stele_vuln_severity)p->vuln_max,
				      p->vuln_fixable_only))
			fail(part, reasons, "vulnerabilities: %s",
			     json_string_value(text));
		else
			json_array_append_new(
				warnings,
				json_sprintf("vulnerability %s",
					     json_string_value(text)));
		json_decref(text);
	}
out:
	json_object_set_new(part, "new", nw);
	stele_vuln_report_free(r);
	stele_sbom_free(s);
	stele_vuln_scan_free(sc);
	return part;
}

/*
 * Judge one pulled image.  `as` is what it is verified as (HOST/REPO:TAG
 * or HOST/REPO@DIGEST), `tag` the tag it was named by.
 */
static int
audit_image(json_t **out, struct actx *a, struct stele_image *img,
	    const char *as, const char *tag)
{
	struct stele_verify_opts vo = { 0 };
	struct stele_verify_report *rep = NULL;
	struct stele_prov_doc *d = NULL;
	json_t *r, *reasons = json_array(), *warnings = json_array();
	json_t *sig, *prov, *age, *image, *bases = NULL, *vj, *vulns;
	const char *why = NULL;
	size_t i;
	int64_t t = 0;
	int error, present = 1;

	*out = NULL;
	vo.policy = a->o->policy;
	vo.reference = as;
	vo.tag = tag;
	vo.named = 1;
	vo.registry = a->o->registry;
	vo.progress = a->o->progress;
	vo.progress_payload = a->o->progress_payload;
	if ((error = stele_verify_image(&rep, img, &vo)) < 0) {
		stele_verify_report_free(rep);
		json_decref(reasons);
		json_decref(warnings);
		return error;
	}
	sig = json_pack("{s:b,s:[]}", "ok", 1, "reasons");
	prov = json_pack("{s:b,s:b,s:b,s:[]}", "present", 1, "signed",
			 rep->provenance, "ok", 1, "reasons");
	image = json_pack("{s:b,s:[]}", "ok", 1, "reasons");
	for (i = 0; i < rep->nwarnings; i++)
		json_array_append_new(warnings, json_string(rep->warnings[i]));
	for (i = 0; i < rep->n; i++) {
		const struct stele_verify_check *c = &rep->checks[i];
		enum part p = part_of(c->name);

		if (c->ok || p == P_SKIP)
			continue;
		fail(p == P_SIGNATURE            ? sig
			     : p == P_PROVENANCE ? prov
						 : image,
		     reasons, "%s: %s", c->name,
		     c->reason ? c->reason : "failed");
	}
	error = stele_prov_load_doc(&d, img->oci, img->digest);
	if (error == STELE_ENOTFOUND) {
		present = 0;
		json_object_set_new(prov, "present", json_false());
		fail(prov, reasons,
		     "provenance: none is stored with the image");
	} else if (error < 0) {
		fail(prov, reasons, "provenance: %s", stele_error_last());
	} else if (!rep->provenance) {
		fail(prov, reasons,
		     "provenance: no statement signed by a provenance key of the policy");
	}
	error = 0;
	if (!d)
		why = present
			? "the provenance cannot be read: the build time is unknown"
			: "no provenance: the build time is unknown";
	else if (built_at(&t, d) < 0)
		why = stele_error_last();
	if (why) {
		age = json_pack("{s:n,s:n,s:b,s:s}", "built", "days", "ok",
				!a->max_age, "reason", why);
		if (a->max_age)
			json_array_append_new(reasons,
					      json_sprintf("age: %s", why));
	} else {
		int ok = !a->max_age || a->o->now - t <= a->max_age;

		age = json_pack("{s:o,s:I,s:b}", "built", time_json(t), "days",
				(json_int_t)((a->o->now - t) / DAY), "ok", ok);
		if (!ok) {
			json_object_set_new(
				age, "reason",
				json_sprintf(
					"built %s, %lld days ago: not rebuilt within %lld days",
					d->finished_on,
					(long long)((a->o->now - t) / DAY),
					(long long)(a->max_age / DAY)));
			json_array_append_new(
				reasons,
				json_sprintf("age: %s",
					     stele_json_str(age, "reason")));
		}
	}
	bases = d ? bases_of(a, d, warnings) : json_array();
	vulns = a->db ? vulns_part(a, img, reasons, warnings) : NULL;
	vj = json_array();
	/* The pipeline's checks but its "maximum age" (of `created`): the
	 * audit's own age replaces it. */
	for (i = 0; i < rep->n; i++)
		if (part_of(rep->checks[i].name) != P_SKIP)
			json_array_append_new(
				vj,
				json_pack("{s:s,s:b,s:s?}", "name",
					  rep->checks[i].name, "ok",
					  rep->checks[i].ok, "reason",
					  rep->checks[i].reason));
	r = json_pack("{s:s,s:[],s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		      "digest", img->digest, "references", "allowed",
		      json_array_size(reasons) == 0, "signature", sig,
		      "provenance", prov, "age", age, "bases", bases, "image",
		      image, "reasons", reasons, "warnings", warnings, "checks",
		      vj);
	if (vulns)
		json_object_set_new(r, "vulnerabilities", vulns);
	stele_prov_doc_free(d);
	stele_verify_report_free(rep);
	*out = r;
	return 0;
}

/* ---- the list ---- */

static int
by_digest(const void *x, const void *y)
{
	const json_t *a = *(const json_t *const *)x,
		     *b = *(const json_t *const *)y;
	const char *da = stele_json_str(a, "digest"),
		   *db = stele_json_str(b, "digest");
	const char *ra = json_string_value(
		json_array_get(json_object_get(a, "references"), 0));
	const char *rb = json_string_value(
		json_array_get(json_object_get(b, "references"), 0));

	/* Results by digest; those never pulled (no digest) last, by
	 * reference. */
	if (!da != !db)
		return da ? -1 : 1;
	if (da && db && strcmp(da, db))
		return strcmp(da, db);
	return strcmp(ra ? ra : "", rb ? rb : "");
}

static json_t *
failed_ref(const char *ref, const char *why)
{
	char *s = stele_xasprintf("%s: %s", ref, why);
	json_t *r =
		json_pack("{s:n,s:[s],s:b,s:[s],s:[]}", "digest", "references",
			  ref, "allowed", 0, "reasons", s, "warnings");

	free(s);
	return r;
}

/* Audit one reference into `byd` (digest -> result) or `failed`. */
static int
audit_ref(struct actx *a, json_t *byd, json_t *failed, json_t *names,
	  const char *s)
{
	struct stele_ref *ref = NULL;
	struct stele_image *img = NULL;
	char *full, *tmp = NULL, *as = NULL;
	json_t *r = NULL;
	int error;

	full = strncmp(s, "docker://", 9) ? stele_xasprintf("docker://%s", s)
					  : stele_xstrdup(s);
	if ((error = stele_ref_parse(&ref, full, NULL)) < 0 ||
	    (ref->transport != STELE_REF_DOCKER &&
	     (error = stele_error_setc(
		      STELE_EINVALID,
		      "a deployed image must be a registry reference")) < 0)) {
		json_array_append_new(failed,
				      failed_ref(s, stele_error_last()));
		error = 0;
		goto out;
	}
	json_object_set_new(names, ref->name, json_true());
	if (ref->digest && (r = json_object_get(byd, ref->digest))) {
		json_array_append_new(json_object_get(r, "references"),
				      json_string(s));
		goto out;
	}
	if ((error = stele_registry_pull_temp(&img, &tmp, ref,
					      a->o->registry)) < 0) {
		json_array_append_new(failed,
				      failed_ref(s, stele_error_last()));
		error = 0;
		goto out;
	}
	if ((r = json_object_get(byd, img->digest))) {
		json_array_append_new(json_object_get(r, "references"),
				      json_string(s));
		goto out;
	}
	as = ref->tag && !ref->digest
		? stele_xasprintf("%s:%s", ref->name, ref->tag)
		: stele_xasprintf("%s@%s", ref->name, img->digest);
	if ((error = audit_image(&r, a, img, as, ref->tag)) < 0) {
		if (error == STELE_EINVALID)
			goto out; /* the policy, or a key file it names */
		json_array_append_new(failed,
				      failed_ref(s, stele_error_last()));
		error = 0;
		goto out;
	}
	json_array_append_new(json_object_get(r, "references"), json_string(s));
	json_object_set_new(byd, img->digest, r);
out:
	stele_image_free(img);
	stele_fs_tmp_free(tmp);
	free(as);
	stele_ref_free(ref);
	free(full);
	return error;
}

int
stele_audit_run(json_t **out, const json_t *refs,
		const struct stele_audit_opts *o)
{
	struct stele_policy *pol = NULL;
	struct actx a = { 0 };
	json_t *byd = json_object(), *failed = json_array(),
	       *names = json_object();
	json_t *results = NULL, *stale = json_array(), *bases = json_object();
	json_t *r, *v, *b, **sorted = NULL;
	const char *k;
	size_t i, j, n = 0, passed = 0;
	int error;

	*out = NULL;
	a.o = o;
	a.bases = json_object();
	/* Fail early on a policy that cannot be read; each image reads it
	 * again (the pipeline does), so the audit judges by the file as it
	 * is. */
	if ((error = stele_policy_load(&pol, o->policy)) < 0)
		goto out;
	a.max_age = pol->max_age;
	a.pol = pol;
	a.dbdir = o->db ? o->db : pol->vuln_db;
	if (a.dbdir && (error = stele_vuln_db_open(&a.db, a.dbdir, NULL)) < 0)
		goto out;
	for (i = 0; i < json_array_size(refs); i++)
		if ((error = audit_ref(
			     &a, byd, failed, names,
			     json_string_value(json_array_get(refs, i)))) < 0)
			goto out;
	sorted = stele_xcalloc(json_object_size(byd) + json_array_size(failed) +
				       1,
			       sizeof(*sorted));
	json_object_foreach(byd, k, r)
		sorted[n++] = r;
	json_array_foreach(failed, i, r)
		sorted[n++] = r;
	qsort(sorted, n, sizeof(*sorted), by_digest);
	results = json_array();
	for (i = 0; i < n; i++) {
		r = sorted[i];
		json_array_append(results, r);
		passed += json_is_true(json_object_get(r, "allowed"));
		if (json_is_false(
			    json_object_get(json_object_get(r, "age"), "ok")) &&
		    json_is_integer(
			    json_object_get(json_object_get(r, "age"), "days")))
			json_array_append(stale, json_object_get(r, "digest"));
		json_array_foreach(json_object_get(r, "bases"), j, b)
			json_object_set(bases, stele_json_str(b, "digest"),
					json_true());
	}
	v = json_pack("{s:s,s:o,s:o,s:s?,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:o}",
		      "policy", o->policy, "time", time_json(o->now),
		      "maxAgeDays",
		      a.max_age ? json_integer(a.max_age / DAY) : json_null(),
		      "source", o->source, "summary", "references",
		      (json_int_t)json_array_size(refs), "images",
		      (json_int_t)json_object_size(names), "digests",
		      (json_int_t)json_object_size(byd), "baseImages",
		      (json_int_t)json_object_size(bases), "passed",
		      (json_int_t)passed, "failed", (json_int_t)(n - passed),
		      "results", results, "stale", stale);
	results = stale = NULL;
	*out = v;
out:
	free(sorted);
	json_decref(results);
	json_decref(stale);
	json_decref(bases);
	json_decref(names);
	json_decref(failed);
	json_decref(byd);
	json_decref(a.bases);
	stele_vuln_db_free(a.db);
	stele_policy_free(pol);
	return error;
}

/* ---- SARIF 2.1.0 ---- */

static const struct {
	const char *id, *part, *text;
} rules[] = {
	{ "stele/signature", "signature",
	  "The image is signed under the current policy (revoked and expired keys do not count)" },
	{ "stele/provenance", "provenance",
	  "Signed SLSA provenance is stored with the image and passes the policy" },
	{ "stele/age", "age",
	  "The image was rebuilt within the policy's age limit" },
	{ "stele/image", "image",
	  "The image's blobs and rules pass the policy" },
	{ "stele/reference", NULL,
	  "The deployed reference can be read from its registry" },
	{ "stele/warning", NULL,
	  "What the policy gives up, or an old base image" },
	{ "stele/vulnerability", "vulnerabilities",
	  "No finding the policy denies appeared since the image's signed scan" },
};

static json_t *
sarif_result(size_t rule, const char *level, const char *text, const json_t *r)
{
	const char *dg = stele_json_str(r, "digest");
	json_t *loc = json_array(), *ref_v;
	size_t i;

	json_array_foreach(json_object_get(r, "references"), i, ref_v)
		json_array_append_new(loc,
				      json_pack("{s:O,s:s}", "name", ref_v,
						"kind", "resource"));
	return json_pack("{s:s,s:I,s:s,s:{s:s},s:[{s:o}],s:{s:s?,s:O}}",
			 "ruleId", rules[rule].id, "ruleIndex",
			 (json_int_t)rule, "level", level, "message", "text",
			 text, "locations", "logicalLocations", loc,
			 "properties", "digest", dg, "references",
			 json_object_get(r, "references"));
}

json_t *
stele_audit_sarif(const json_t *report, const struct stele_audit_opts *o)
{
	json_t *rs = json_array(), *results = json_array(), *r, *s;
	size_t i, j, k;

	for (k = 0; k < sizeof(rules) / sizeof(*rules); k++)
		json_array_append_new(rs,
				      json_pack("{s:s,s:{s:s}}", "id",
						rules[k].id, "shortDescription",
						"text", rules[k].text));
	json_array_foreach(json_object_get(report, "results"), i, r) {
		int any = 0;

		for (k = 0; k < 7; k++) {
			json_t *p;

			if (k == 4 || k == 5)
				continue; /* below */
			p = json_object_get(r, rules[k].part);

			if (k == 2) {
				if (json_is_false(json_object_get(p, "ok"))) {
					json_array_append_new(
						results,
						sarif_result(
							k, "error",
							stele_json_str(
								p, "reason"),
							r));
					any = 1;
				}
				continue;
			}
			json_array_foreach(json_object_get(p, "reasons"), j,
					   s) {
				json_array_append_new(
					results,
					sarif_result(k, "error",
						     json_string_value(s), r));
				any = 1;
			}
		}
		/* Never pulled: the reasons say why. */
		if (!any)
			json_array_foreach(json_object_get(r, "reasons"), j, s)
				json_array_append_new(
					results,
					sarif_result(4, "error",
						     json_string_value(s), r));
		json_array_foreach(json_object_get(r, "warnings"), j, s)
			json_array_append_new(results,
					      sarif_result(5, "warning",
							   json_string_value(s),
							   r));
	}
	return json_pack(
		"{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s?,s:o}},s:o,s:[{s:b,s:s}]}]}",
		"$schema", "https://json.schemastore.org/sarif-2.1.0.json",
		"version", "2.1.0", "runs", "tool", "driver", "name", "stele",
		"informationUri", "https://stele.dev/docs/deploy", "version",
		o->tool_version, "rules", rs, "results", results, "invocations",
		"executionSuccessful", 1, "commandLine", "stele audit");
}
