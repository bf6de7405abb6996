/* OpenVEX suppression of findings, from signed documents only (vex.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/dsse.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"
#include "vuln/vex.h"

/* "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64" without the qualifiers
 * and subpath; with `noversion`, without the version too. */
static char *
purl_base(const char *purl, int noversion)
{
	size_t n = strcspn(purl, "?#");
	const char *at;

	if (noversion && (at = memchr(purl, '@', n)) != NULL)
		n = (size_t)(at - purl);
	return stele_xstrndup(purl, n);
}

/* Whether the purl `id` (from a VEX product) names the package `purl`. */
static int
purl_matches(const char *id, const char *purl)
{
	char *a, *b;
	int r;

	if (!id || !purl || strncmp(id, "pkg:", 4) != 0)
		return 0;
	a = purl_base(id, 0);
	b = purl_base(purl, !strchr(a, '@'));
	r = !strcmp(a, b);
	free(a);
	free(b);
	return r;
}

static int
product_matches(const json_t *prod, const char *purl)
{
	const json_t *subs = json_object_get(prod, "subcomponents"), *s;
	size_t i;

	if (purl_matches(stele_json_str(prod, "@id"), purl))
		return 1;
	json_array_foreach(subs, i, s)
		if (purl_matches(stele_json_str(s, "@id"), purl))
			return 1;
	return 0;
}

static int
names_vuln(const json_t *v, const char *id)
{
	const json_t *aliases = json_object_get(v, "aliases"), *a;
	const char *name = stele_json_str(v, "name");
	size_t i;

	if (name && !strcmp(name, id))
		return 1;
	json_array_foreach(aliases, i, a)
		if (json_is_string(a) && !strcmp(json_string_value(a), id))
			return 1;
	return 0;
}

/* An optional RFC 3339 time: `dflt` when absent. */
static int
opt_time(int64_t *out, const char *s, int64_t dflt)
{
	if (!s) {
		*out = dflt;
		return 0;
	}
	return stele_time_parse(out, s);
}

static const char *const statuses[] = { "not_affected", "affected", "fixed",
					"under_investigation", NULL };

/* Check the document's shape before anything is marked. */
static int
doc_check(const json_t *doc, const char *what, int64_t *doctime)
{
	const json_t *sts = json_object_get(doc, "statements"), *st;
	const char *ctx = stele_json_str(doc, "@context");
	size_t i, k;

	if (!ctx || strncmp(ctx, "https://openvex.dev/ns", 22) != 0 ||
	    !stele_json_str(doc, "@id") || !json_is_array(sts))
		return stele_error_setc(
			STELE_EINVALID,
			"%s: not an OpenVEX "
			"document (@context, @id and statements)",
			what);
	if (opt_time(doctime, stele_json_str(doc, "timestamp"), 0) < 0)
		return stele_error_setc(STELE_EINVALID,
					"%s: timestamp is not RFC 3339 UTC",
					what);
	json_array_foreach(sts, i, st) {
		const char *s = stele_json_str(st, "status");
		int64_t t;

		if (!stele_json_str(json_object_get(st, "vulnerability"),
				    "name") ||
		    !json_is_array(json_object_get(st, "products")) || !s)
			return stele_error_setc(
				STELE_EINVALID,
				"%s: statement %zu "
				"needs vulnerability.name, products and status",
				what, i);
		for (k = 0; statuses[k] && strcmp(statuses[k], s); k++)
			;
		if (!statuses[k])
			return stele_error_setc(
				STELE_EINVALID,
				"%s: statement %zu: unknown status '%s'", what,
				i, s);
		if (!strcmp(s, "not_affected") &&
		    !stele_json_str(st, "justification") &&
		    !stele_json_str(st, "impact_statement"))
			return stele_error_setc(
				STELE_EINVALID,
				"%s: statement %zu: "
				"not_affected needs a justification or an "
				"impact_statement",
				what, i);
		if (opt_time(&t, stele_json_str(st, "timestamp"), 0) < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"%s: statement "
				"%zu: timestamp is not RFC 3339 UTC",
				what, i);
	}
	return 0;
}

int
stele_vuln_vex_apply_doc(struct stele_vuln_report *r, const json_t *doc,
			 const char *what)
{
	const json_t *sts, *st;
	const char *docid;
	int64_t doctime = 0;
	size_t i, j, k;
	int error;

	if ((error = doc_check(doc, what, &doctime)) < 0)
		return error;
	docid = stele_json_str(doc, "@id");
	sts = json_object_get(doc, "statements");
	for (i = 0; i < r->n; i++) {
		struct stele_vuln_finding *f = &r->v[i];
		const char *purl = r->sbom->pkgs[f->pkg].purl;

		json_array_foreach(sts, j, st) {
			const json_t *prods = json_object_get(st, "products"),
				     *p;
			const char *s = stele_json_str(st, "status");
			const char *just = stele_json_str(st, "justification");
			int64_t t;
			int hit = 0;

			if (!names_vuln(json_object_get(st, "vulnerability"),
					f->id))
				continue;
			json_array_foreach(prods, k, p)
				hit |= product_matches(p, purl);
			if (!hit)
				continue;
			opt_time(&t, stele_json_str(st, "timestamp"), doctime);
			/* The latest statement wins, across documents too. */
			if (f->vex_status && t < f->vex_time)
				continue;
			free(f->vex_status);
			free(f->vex_justification);
			free(f->vex_doc);
			f->vex_status = stele_xstrdup(s);
			f->vex_justification =
				just ? stele_xstrdup(just) : NULL;
			f->vex_doc = stele_xstrdup(docid);
			f->vex_time = t;
			f->suppressed = !strcmp(s, "not_affected") ||
				!strcmp(s, "fixed");
		}
	}
	return 0;
}

int
stele_vuln_vex_open(json_t **out, const void *data, size_t len,
		    const char *what, const struct stele_pubkey *const *keys,
		    size_t nkeys)
{
	struct stele_dsse *e = NULL;
	enum stele_sig_mode mode;
	json_t *doc = NULL;
	int64_t doctime;
	size_t k;
	int error;

	*out = NULL;
	if (len > STELE_VEX_MAX)
		return stele_error_setc(STELE_EINVALID,
					"%s: larger than %u bytes", what,
					STELE_VEX_MAX);
	if ((error = stele_dsse_parse(&e, data, len, what)) < 0)
		goto out;
	if (strcmp(e->type, STELE_VEX_PAYLOAD) != 0) {
		error = stele_error_setc(STELE_EINVALID,
					 "%s: payload type '%s' "
					 "is not '%s'",
					 what, e->type, STELE_VEX_PAYLOAD);
		goto out;
	}
	for (k = 0; k < nkeys; k++)
		if (stele_dsse_verify(&mode, e, keys[k],
				      STELE_SIG_PURE | STELE_SIG_ECDSA) == 0)
			break;
	if (k == nkeys) {
		error = stele_error_setc(
			STELE_EVERIFY, "%s: not signed by a trusted key", what);
		goto out;
	}
	if ((error = stele_json_parse(&doc, e->payload.ptr, e->payload.len,
				      what)) < 0 ||
	    (error = doc_check(doc, what, &doctime)) < 0)
		goto out;
	*out = doc;
	doc = NULL;
out:
	json_decref(doc);
	stele_dsse_free(e);
	return error;
}

int
stele_vuln_vex_statement(json_t **out, const void *data, size_t len,
			 const char *what)
{
	json_t *st = NULL, *doc;
	const char *pt;
	int64_t doctime;
	int error;

	*out = NULL;
	if (len > STELE_VEX_MAX)
		return stele_error_setc(STELE_EINVALID,
					"%s: larger than %u bytes", what,
					STELE_VEX_MAX);
	if ((error = stele_json_parse(&st, data, len, what)) < 0)
		return error;
	pt = stele_json_str(st, "predicateType");
	doc = json_object_get(st, "predicate");
	if (!pt ||
	    strncmp(pt, STELE_VEX_PREDICATE, strlen(STELE_VEX_PREDICATE)) != 0)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: predicate type "
					 "'%s' is not OpenVEX's",
					 what, pt ? pt : "(none)");
	else if ((error = doc_check(doc, what, &doctime)) == 0)
		*out = json_incref(doc);
	json_decref(st);
	return error;
}

int
stele_vuln_vex_apply(struct stele_vuln_report *r, const void *data, size_t len,
		     const char *what, const struct stele_pubkey *const *keys,
		     size_t nkeys)
{
	json_t *doc = NULL;
	int error;

	if ((error = stele_vuln_vex_open(&doc, data, len, what, keys, nkeys)) ==
	    0)
		error = stele_vuln_vex_apply_doc(r, doc, what);
	json_decref(doc);
	return error;
}
