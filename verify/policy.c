#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/time.h"
#include "verify/policy.h"
#include "vuln/vuln.h"

#define POLICY_MAX (1u << 20)

/* Keys each object may hold: anything else is a typo and an error. */
static const char *const top_keys[] = {
	"keys",  "revoked", "signatures",      "provenance",
	"image", "runtime", "vulnerabilities", NULL
};
static const char *const key_keys[] = { "path", "pem", "notBefore", "notAfter",
					NULL };
static const char *const sig_keys[] = { "keys", "threshold", "identity", NULL };
static const char *const prov_keys[] = { "required", "keys",    "builderIds",
					 "sources",  "refs",    "recipe",
					 "hermetic", "rebuild", NULL };
static const char *const img_keys[] = { "nonRoot",    "pinnedBases",
					"registries", "maxAgeDays",
					"noLatest",   NULL };
static const char *const rt_keys[] = {
	"nonRoot",          "readOnlyRootFilesystem", "noPrivileged",
	"noHostNamespaces", "requireLimits",          NULL
};
static const char *const rt_limit_names[] = { "cpu", "memory",
					      "ephemeral-storage", NULL };

/* runtime.requireLimits: a non-empty array of resource names, each once. */
static int
get_limits(unsigned *out, const json_t *v, const char *path)
{
	size_t i, k;
	json_t *e;

	if (!json_is_array(v) || !json_array_size(v))
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': runtime.requireLimits must be a non-empty array of \"cpu\", \"memory\", \"ephemeral-storage\"",
			path);
	json_array_foreach(v, i, e) {
		for (k = 0; rt_limit_names[k]; k++)
			if (json_is_string(e) &&
			    !strcmp(json_string_value(e), rt_limit_names[k]))
				break;
		if (!rt_limit_names[k])
			return stele_error_setc(
				STELE_EINVALID,
				"policy '%s': runtime.requireLimits[%zu] is not \"cpu\", \"memory\" or \"ephemeral-storage\"",
				path, i);
		if (*out & (1u << k))
			return stele_error_setc(
				STELE_EINVALID,
				"policy '%s': runtime.requireLimits names \"%s\" twice",
				path, rt_limit_names[k]);
		*out |= 1u << k;
	}
	return 0;
}
static const char *const vuln_keys[] = { "maxSeverity",       "fixableOnly",
					 "maxDbAgeHours",     "db",
					 "vexKeys",           "vex",
					 "requireSignedScan", "scanKeys",
					 "maxScanAgeHours",   NULL };

static int
only_keys(const json_t *obj, const char *const *allowed, const char *where,
	  const char *path)
{
	const char *k;

	if (!json_is_object(obj))
		return stele_error_setc(STELE_EINVALID,
					"policy '%s': %s must be an object",
					path, where);
	if ((k = stele_json_unknown_key(obj, allowed)))
		return stele_error_setc(STELE_EINVALID,
					"policy '%s': unknown key '%s' in %s",
					path, k, where);
	return 0;
}

/*
 * An allow-list that is present must name something: an empty list would
 * otherwise read as "no rule" and allow everything (fail closed).
 */
static int
str_list(char ***out, size_t *n, const json_t *v, const char *where,
	 const char *path)
{
	json_t *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': %s must be a list of strings", path,
			where);
	if (!json_array_size(v))
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': %s is empty: it would allow nothing, or be read as no rule; remove it or name what is allowed",
			path, where);
	*out = stele_xcalloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return stele_error_setc(
				STELE_EINVALID,
				"policy '%s': %s must be a list of strings",
				path, where);
		(*out)[(*n)++] = stele_xstrdup(json_string_value(e));
	}
	return 0;
}

static int
get_bool(int *out, const json_t *obj, const char *key, const char *where,
	 const char *path)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': %s.%s must be true or false", path, where,
			key);
	*out = json_is_true(v);
	return 0;
}

static int
get_str(char **out, const json_t *obj, const char *key, const char *where,
	const char *path)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return stele_error_setc(STELE_EINVALID,
					"policy '%s': %s.%s must be a string",
					path, where, key);
	*out = stele_xstrdup(json_string_value(v));
	return 0;
}

static void
policy_warn(struct stele_policy *p, const char *msg)
{
	stele_strv_push(&p->warnings, &p->nwarnings, msg);
}

/* `rel` as written in the policy at `path`: absolute, or relative to the
 * policy's directory.  malloc'd. */
static char *
policy_rel(const char *path, const char *rel)
{
	const char *slash = strrchr(path, '/');

	return rel[0] == '/' || !slash
		? stele_xstrdup(rel)
		: stele_xasprintf("%.*s/%s", (int)(slash - path), path, rel);
}

static int
get_hours(int64_t *out, const json_t *v, const char *key, const char *path)
{
	const json_t *h = json_object_get(v, key);

	if (!h)
		return 0;
	if (!json_is_integer(h) || json_integer_value(h) < 1 ||
	    json_integer_value(h) > 24 * 365 * 100)
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': "
			"vulnerabilities.%s must be a positive integer",
			path, key);
	*out = (int64_t)json_integer_value(h) * 3600;
	return 0;
}

static int names_known(struct stele_policy *p, char **names, size_t n,
		       const char *where, const char *path);

/*
 * vulnerabilities: {db, maxSeverity, fixableOnly, maxDbAgeHours, vexKeys,
 * vex, requireSignedScan, scanKeys, maxScanAgeHours}.  maxSeverity is
 * required, and db unless requireSignedScan is true: a gate must say what
 * it scans against (or which signed scans it takes, and how old) and how
 * much it lets through ("none": no finding at all).
 */
static int
parse_vulns(struct stele_policy *p, const json_t *v, const char *path)
{
	const json_t *sev = json_object_get(v, "maxSeverity");
	char *db = NULL;
	size_t i;
	int error, s;

	if (!v)
		return 0;
	if ((error = only_keys(v, vuln_keys, "vulnerabilities", path)) < 0 ||
	    (error = get_str(&db, v, "db", "vulnerabilities", path)) < 0 ||
	    (error = get_bool(&p->vuln_fixable_only, v, "fixableOnly",
			      "vulnerabilities", path)) < 0 ||
	    (error = get_bool(&p->vuln_signed_scan, v, "requireSignedScan",
			      "vulnerabilities", path)) < 0 ||
	    (error = get_hours(&p->vuln_max_db_age, v, "maxDbAgeHours", path)) <
		    0 ||
	    (error = get_hours(&p->vuln_max_scan_age, v, "maxScanAgeHours",
			       path)) < 0 ||
	    (error = str_list(&p->vuln_vex_keys, &p->nvuln_vex_keys,
			      json_object_get(v, "vexKeys"),
			      "vulnerabilities.vexKeys", path)) < 0 ||
	    (error = names_known(p, p->vuln_vex_keys, p->nvuln_vex_keys,
				 "vulnerabilities.vexKeys", path)) < 0 ||
	    (error = str_list(&p->vuln_vex, &p->nvuln_vex,
			      json_object_get(v, "vex"), "vulnerabilities.vex",
			      path)) < 0 ||
	    (error = str_list(&p->vuln_scan_keys, &p->nvuln_scan_keys,
			      json_object_get(v, "scanKeys"),
			      "vulnerabilities.scanKeys", path)) < 0 ||
	    (error = names_known(p, p->vuln_scan_keys, p->nvuln_scan_keys,
				 "vulnerabilities.scanKeys", path)) < 0)
		goto out;
	if (db && !*db) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': vulnerabilities.db is empty", path);
		goto out;
	}
	if (!db && !p->vuln_signed_scan) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': vulnerabilities.db is required (or "
			"requireSignedScan: true, to judge by signed scans)",
			path);
		goto out;
	}
	if (p->vuln_signed_scan &&
	    (!p->nvuln_scan_keys || !p->vuln_max_scan_age)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': "
			"vulnerabilities.requireSignedScan needs scanKeys (who "
			"may sign a scan) and maxScanAgeHours (how old it may "
			"be)",
			path);
		goto out;
	}
	if (!p->vuln_signed_scan &&
	    (p->nvuln_scan_keys || p->vuln_max_scan_age)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': "
			"vulnerabilities.scanKeys and maxScanAgeHours go with "
			"requireSignedScan: true",
			path);
		goto out;
	}
	if (p->nvuln_vex && !p->nvuln_vex_keys) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': "
			"vulnerabilities.vex needs vexKeys: only signed VEX "
			"documents are used",
			path);
		goto out;
	}
	if (!json_is_string(sev) ||
	    (s = stele_vuln_severity_parse(json_string_value(sev))) < 0) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': "
			"vulnerabilities.maxSeverity must be one of none, "
			"negligible, low, medium, high, critical",
			path);
		goto out;
	}
	p->vuln_max = s;
	if (db)
		p->vuln_db = policy_rel(path, db);
	for (i = 0; i < p->nvuln_vex; i++) {
		char *full = policy_rel(path, p->vuln_vex[i]);

		free(p->vuln_vex[i]);
		p->vuln_vex[i] = full;
	}
	if (!p->vuln_max_db_age)
		policy_warn(p,
			    "vulnerabilities.maxDbAgeHours is not set: a "
			    "database of any age is used");
out:
	free(db);
	return error;
}

static int
parse_key(struct stele_policy *p, const char *name, const json_t *v,
	  const char *path)
{
	struct stele_trusted_key *k = &p->keys[p->nkeys];
	const char *kp = stele_json_str(v, "path"),
		   *pem = stele_json_str(v, "pem");
	const char *nb = stele_json_str(v, "notBefore"),
		   *na = stele_json_str(v, "notAfter");
	char *where = stele_xasprintf("keys.%s", name), *full = NULL;
	int error;

	k->name = stele_xstrdup(name);
	k->not_before = INT64_MIN;
	k->not_after = INT64_MAX;
	p->nkeys++;
	if ((error = only_keys(v, key_keys, where, path)) < 0)
		goto out;
	if (!kp == !pem) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': %s needs exactly one of path and pem",
			path, where);
		goto out;
	}
	if (kp) {
		const char *slash = strrchr(path, '/');

		full = kp[0] == '/' || !slash
			? stele_xstrdup(kp)
			: stele_xasprintf("%.*s/%s", (int)(slash - path), path,
					  kp);
		error = stele_pubkey_load(&k->key, full);
	} else {
		error = stele_pubkey_parse(&k->key, pem, strlen(pem), where);
	}
	if (error < 0) {
		stele_error_prefix(error, "policy '%s': %s", path, where);
		goto out;
	}
	if ((nb && (error = stele_time_parse(&k->not_before, nb)) < 0) ||
	    (na && (error = stele_time_parse(&k->not_after, na)) < 0))
		stele_error_prefix(error, "policy '%s': %s", path, where);
out:
	free(full);
	free(where);
	return error;
}

static int
names_known(struct stele_policy *p, char **names, size_t n, const char *where,
	    const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!stele_policy_key(p, names[i]))
			return stele_error_setc(
				STELE_EINVALID,
				"policy '%s': %s names the unknown key '%s'",
				path, where, names[i]);
	return 0;
}

int
stele_policy_parse(struct stele_policy **out, const char *data, size_t len,
		   const char *path)
{
	struct stele_policy *p = stele_xcalloc(1, sizeof(*p));
	json_t *root = NULL, *keys, *sig, *prov, *img, *rt, *v;
	const char *name;
	int error;

	*out = NULL;
	if ((error = stele_json_parse(&root, data, len, path)) < 0 ||
	    (error = only_keys(root, top_keys, "the policy", path)) < 0)
		goto out;
	keys = json_object_get(root, "keys");
	/* Any key name is allowed under "keys"; each must be an object. */
	if (keys && !json_is_object(keys)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': keys must be an object of named keys",
			path);
		goto out;
	}
	p->keys = stele_xcalloc(json_object_size(keys) + 1, sizeof(*p->keys));
	json_object_foreach(keys, name, v)
		if ((error = parse_key(p, name, v, path)) < 0)
			goto out;
	/* An empty revocation list is harmless: nothing is revoked. */
	if ((v = json_object_get(root, "revoked")) && json_is_array(v) &&
	    !json_array_size(v))
		v = NULL;
	if ((error = str_list(&p->revoked, &p->nrevoked, v, "revoked", path)) <
	    0)
		goto out;
	/*
	 * Fail closed: a policy says what it trusts.  Without a signatures
	 * section it is invalid; allowing unsigned images takes an explicit
	 * threshold of 0, which every report repeats as a warning.
	 */
	if (!(sig = json_object_get(root, "signatures"))) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s' says nothing about signatures: give \"signatures\": {\"threshold\": N} with N >= 1, or {\"threshold\": 0} to allow unsigned images",
			path);
		goto out;
	}
	{
		json_t *t = json_object_get(sig, "threshold");
		size_t allowed;

		if ((error = only_keys(sig, sig_keys, "signatures", path)) <
			    0 ||
		    (error = str_list(&p->sig_keys, &p->nsig_keys,
				      json_object_get(sig, "keys"),
				      "signatures.keys", path)) < 0 ||
		    (error = stele_identity_parse(
			     &p->identity, json_object_get(sig, "identity"),
			     path)) < 0 ||
		    (error = names_known(p, p->sig_keys, p->nsig_keys,
					 "signatures.keys", path)) < 0)
			goto out;
		if (t &&
		    (!json_is_integer(t) || json_integer_value(t) < 0 ||
		     json_integer_value(t) > 100)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"policy '%s': signatures.threshold must be an integer from 0 to 100",
				path);
			goto out;
		}
		p->threshold = t ? (int)json_integer_value(t) : 1;
		allowed = p->sig_keys ? p->nsig_keys : p->nkeys;
		if ((size_t)p->threshold > allowed) {
			error = stele_error_setc(
				STELE_EINVALID,
				"policy '%s': signatures.threshold is %d but %zu key(s) may sign: no image could pass",
				path, p->threshold, allowed);
			goto out;
		}
		if (p->threshold == 0)
			policy_warn(
				p,
				"signatures.threshold is 0: this policy allows unsigned images");
	}
	if ((prov = json_object_get(root, "provenance"))) {
		if ((error = only_keys(prov, prov_keys, "provenance", path)) <
			    0 ||
		    (error = get_bool(&p->prov_required, prov, "required",
				      "provenance", path)) < 0 ||
		    (error = str_list(&p->prov_keys, &p->nprov_keys,
				      json_object_get(prov, "keys"),
				      "provenance.keys", path)) < 0 ||
		    (error = names_known(p, p->prov_keys, p->nprov_keys,
					 "provenance.keys", path)) < 0 ||
		    (error = str_list(&p->builder_ids, &p->nbuilder_ids,
				      json_object_get(prov, "builderIds"),
				      "provenance.builderIds", path)) < 0 ||
		    (error = str_list(&p->sources, &p->nsources,
				      json_object_get(prov, "sources"),
				      "provenance.sources", path)) < 0 ||
		    (error = str_list(&p->refs, &p->nrefs,
				      json_object_get(prov, "refs"),
				      "provenance.refs", path)) < 0 ||
		    (error = get_str(&p->recipe, prov, "recipe", "provenance",
				     path)) < 0 ||
		    (error = get_bool(&p->hermetic, prov, "hermetic",
				      "provenance", path)) < 0 ||
		    (error = get_bool(&p->rebuild, prov, "rebuild",
				      "provenance", path)) < 0)
			goto out;
		if (!json_object_get(prov, "required"))
			p->prov_required = 1;
		else if (!p->prov_required)
			policy_warn(
				p,
				"provenance.required is false: images without signed provenance are allowed");
	}
	if ((img = json_object_get(root, "image"))) {
		json_t *age = json_object_get(img, "maxAgeDays");

		if (json_is_object(img) && !json_object_size(img)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"policy '%s': image is empty: remove it or name a rule",
				path);
			goto out;
		}

		if ((error = only_keys(img, img_keys, "image", path)) < 0 ||
		    (error = get_bool(&p->non_root, img, "nonRoot", "image",
				      path)) < 0 ||
		    (error = get_bool(&p->pinned_bases, img, "pinnedBases",
				      "image", path)) < 0 ||
		    (error = get_bool(&p->no_latest, img, "noLatest", "image",
				      path)) < 0 ||
		    (error = str_list(&p->registries, &p->nregistries,
				      json_object_get(img, "registries"),
				      "image.registries", path)) < 0)
			goto out;
		if (age &&
		    (!json_is_integer(age) || json_integer_value(age) < 1)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"policy '%s': image.maxAgeDays must be a positive integer",
				path);
			goto out;
		}
		p->max_age = age ? (int64_t)json_integer_value(age) * 86400 : 0;
	}
	if ((rt = json_object_get(root, "runtime"))) {
		json_t *lim = json_object_get(rt, "requireLimits");

		if (json_is_object(rt) && !json_object_size(rt)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"policy '%s': runtime is empty: remove it or name a rule",
				path);
			goto out;
		}
		p->runtime = 1;
		if ((error = only_keys(rt, rt_keys, "runtime", path)) < 0 ||
		    (error = get_bool(&p->rt_non_root, rt, "nonRoot", "runtime",
				      path)) < 0 ||
		    (error = get_bool(&p->rt_read_only_root, rt,
				      "readOnlyRootFilesystem", "runtime",
				      path)) < 0 ||
		    (error = get_bool(&p->rt_no_privileged, rt, "noPrivileged",
				      "runtime", path)) < 0 ||
		    (error = get_bool(&p->rt_no_host_ns, rt, "noHostNamespaces",
				      "runtime", path)) < 0 ||
		    (lim && (error = get_limits(&p->rt_limits, lim, path)) < 0))
			goto out;
	}
	if ((error = parse_vulns(p, json_object_get(root, "vulnerabilities"),
				 path)) < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	json_decref(root);
	stele_policy_free(p);
	return error;
}

int
stele_policy_load(struct stele_policy **out, const char *path)
{
	struct stele_buf b = STELE_BUF_INIT(POLICY_MAX);
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, path)) == 0)
		error = stele_policy_parse(out, b.ptr ? b.ptr : "", b.len,
					   path);
	stele_buf_release(&b);
	return error;
}

int
stele_policy_for_key(struct stele_policy **out, const char *pubkey)
{
	struct stele_policy *p = stele_xcalloc(1, sizeof(*p));
	int error;

	*out = NULL;
	p->keys = stele_xcalloc(1, sizeof(*p->keys));
	p->keys[0].name = stele_xstrdup("key");
	p->keys[0].not_before = INT64_MIN;
	p->keys[0].not_after = INT64_MAX;
	p->nkeys = 1;
	if ((error = stele_pubkey_load(&p->keys[0].key, pubkey)) < 0) {
		stele_policy_free(p);
		return error;
	}
	p->threshold = 1;
	*out = p;
	return 0;
}

void
stele_policy_free(struct stele_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nkeys; i++) {
		free(p->keys[i].name);
		free(p->keys[i].key);
	}
	free(p->keys);
	stele_strv_free(p->revoked, p->nrevoked);
	stele_strv_free(p->sig_keys, p->nsig_keys);
	stele_strv_free(p->prov_keys, p->nprov_keys);
	stele_strv_free(p->builder_ids, p->nbuilder_ids);
	stele_strv_free(p->sources, p->nsources);
	stele_strv_free(p->refs, p->nrefs);
	stele_strv_free(p->registries, p->nregistries);
	stele_identity_free(p->identity);
	stele_strv_free(p->warnings, p->nwarnings);
	free(p->recipe);
	free(p->vuln_db);
	stele_strv_free(p->vuln_vex_keys, p->nvuln_vex_keys);
	stele_strv_free(p->vuln_vex, p->nvuln_vex);
	stele_strv_free(p->vuln_scan_keys, p->nvuln_scan_keys);
	free(p);
}

struct stele_trusted_key *
stele_policy_key(struct stele_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		if (!strcmp(p->keys[i].name, name))
			return &p->keys[i];
	return NULL;
}

int
stele_policy_key_usable(const struct stele_policy *p,
			const struct stele_trusted_key *k, int64_t now,
			char **why)
{
	char t[STELE_TIME_STRLEN];
	size_t i;

	for (i = 0; i < p->nrevoked; i++)
		if (!strcmp(p->revoked[i], k->key->id)) {
			if (why)
				*why = stele_xasprintf(
					"key '%s' (%.16s…) is revoked", k->name,
					k->key->id);
			return 0;
		}
	if (now < k->not_before) {
		stele_time_format(t, k->not_before);
		if (why)
			*why = stele_xasprintf(
				"key '%s' is not valid before %s", k->name, t);
		return 0;
	}
	if (now > k->not_after) {
		stele_time_format(t, k->not_after);
		if (why)
			*why = stele_xasprintf("key '%s' expired at %s",
					       k->name, t);
		return 0;
	}
	return 1;
}
