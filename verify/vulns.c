/*
 * The verify policy's vulnerabilities rule (docs/policy.md): a scan of the
 * image against the policy's database, the image's signed scans
 * (vuln/scan.h), and the VEX documents the policy's vexKeys signed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"
#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"
#include "verify/verify_priv.h"
#include "vuln/scan.h"
#include "vuln/vex.h"
#include "vuln/vuln.h"

/* Future scan times within this much of the clock are taken as now. */
#define CLOCK_SLACK 300

/* Is `c` a verified attestation of predicate type `type` (or below it,
 * with `prefix`)? */
static int
att_of(const struct stele_check *c, const char *type, int prefix)
{
	if (c->error || !c->predicate_type)
		return 0;
	return prefix ? !strncmp(c->predicate_type, type, strlen(type))
		      : !strcmp(c->predicate_type, type);
}

/* The policy's vex files, each verified against the usable vexKeys. */
static void
vex_files(struct stele_verify__ctx *v, json_t *docs)
{
	const struct stele_policy *p = v->p;
	const struct stele_pubkey **keys =
		stele_xcalloc(p->nvuln_vex_keys + 1, sizeof(*keys));
	struct stele_buf b = STELE_BUF_INIT(STELE_VEX_MAX + 1);
	size_t i, n = 0;

	for (i = 0; i < p->nvuln_vex_keys; i++) {
		struct stele_trusted_key *k =
			stele_policy_key(v->p, p->vuln_vex_keys[i]);
		char *why = NULL;

		if (stele_verify__key_usable(v, k, &why))
			keys[n++] = k->key;
		free(why);
	}
	for (i = 0; i < p->nvuln_vex; i++) {
		char *name = stele_xasprintf("VEX %s", p->vuln_vex[i]);
		json_t *doc = NULL;
		int error;

		stele_buf_clear(&b);
		if ((error = stele_fs_read(&b, p->vuln_vex[i])) == 0)
			error = stele_vuln_vex_open(&doc, b.ptr ? b.ptr : "",
						    b.len, p->vuln_vex[i], keys,
						    n);
		if (error == STELE_EVERIFY)
			stele_verify__check(v->r, 0, name,
					    "not signed by a usable key of "
					    "vulnerabilities.vexKeys");
		else if (error < 0)
			stele_verify__check(v->r, 0, name, "%s",
					    stele_error_last());
		else {
			stele_verify__check(v->r, 1, name,
					    "OpenVEX document %s",
					    stele_json_str(doc, "@id"));
			json_array_append_new(docs,
					      json_pack("{s:s,s:o}", "what",
							p->vuln_vex[i], "doc",
							doc));
		}
		free(name);
	}
	stele_buf_release(&b);
	free(keys);
}

/*
 * The VEX documents this policy trusts: its vex files, and the OpenVEX
 * attestations on the image signed by a vexKeys key that counts now.
 * Attestations by other keys are not counted (anyone who can write to a
 * registry can attach one); a document a trusted key signed that does
 * not read, or a listed file no trusted key signed, denies.  An array of
 * {"what", "doc"}; empty without vexKeys.
 */
static json_t *
vex_docs(struct stele_verify__ctx *v)
{
	json_t *docs = json_array();
	size_t i;

	if (!v->p->nvuln_vex_keys)
		return docs;
	vex_files(v, docs);
	for (i = 0; v->atts && i < v->atts->n; i++) {
		const struct stele_check *c = &v->atts->v[i];
		struct stele_trusted_key *k;
		char name[96], *why = NULL;
		json_t *doc = NULL;

		if (!att_of(c, STELE_VEX_PREDICATE, 1))
			continue;
		k = stele_verify__key_of(v, c->key);
		snprintf(name, sizeof(name), "VEX attestation %.19s", c->blob);
		if (!k ||
		    !stele_verify__name_in(v->p->vuln_vex_keys,
					   v->p->nvuln_vex_keys, k->name))
			stele_verify__check(
				v->r, 1, name,
				"not counted: signed by '%s', "
				"not a key of vulnerabilities.vexKeys",
				k ? k->name : "?");
		else if (!stele_verify__key_usable(v, k, &why))
			stele_verify__check(v->r, 1, name, "not counted: %s",
					    why);
		else if (stele_vuln_vex_statement(&doc, c->body.ptr,
						  c->body.len, c->blob) < 0)
			stele_verify__check(v->r, 0, name, "%s",
					    stele_error_last());
		else {
			stele_verify__check(
				v->r, 1, name,
				"OpenVEX document %s signed by '%s'",
				stele_json_str(doc, "@id"), k->name);
			json_array_append_new(docs,
					      json_pack("{s:s,s:o}", "what",
							c->blob, "doc", doc));
		}
		free(why);
	}
	return docs;
}

/* Apply the documents; the number of findings they suppress. */
static size_t
apply_vex(struct stele_verify__ctx *v, const json_t *docs,
	  struct stele_vuln_report *r)
{
	const json_t *d;
	size_t i, n = 0;

	json_array_foreach(docs, i, d)
		if (stele_vuln_vex_apply_doc(r, json_object_get(d, "doc"),
					     stele_json_str(d, "what")) < 0)
			stele_verify__check(v->r, 0, "VEX", "%s",
					    stele_error_last());
	for (i = 0; i < r->n; i++)
		n += r->v[i].suppressed != 0;
	return n;
}

/* A failed check per finding the policy denies; how many. */
static size_t
deny_findings(struct stele_verify__ctx *v, const struct stele_vuln_report *r,
	      const char *label)
{
	const struct stele_policy *p = v->p;
	const struct stele_sbom *s = r->sbom;
	size_t i, denied = 0;

	for (i = 0; i < r->n; i++) {
		const struct stele_vuln_finding *f = &r->v[i];
		char *name;

		if (!stele_vuln_denied(f, (enum stele_vuln_severity)p->vuln_max,
				       p->vuln_fixable_only))
			continue;
		denied++;
		name = stele_xasprintf("vulnerability %s%s", f->id, label);
		stele_verify__check(
			v->r, 0, name, "%s %s in %s %s (source %s %s)%s%s",
			stele_vuln_severity_name(f->severity),
			stele_vuln_status_name(f->status), s->pkgs[f->pkg].name,
			s->pkgs[f->pkg].version, f->package, f->installed,
			f->fixed ? ", fixed in " : "",
			f->fixed ? f->fixed : "");
		free(name);
	}
	return denied;
}

static void
suppressed_note(char *buf, size_t len, const struct stele_policy *p, size_t n)
{
	if (p->nvuln_vex_keys)
		snprintf(buf, len, "; %zu suppressed by signed VEX", n);
	else
		buf[0] = '\0';
}

/*
 * The scan against the policy's database.  Anything that stops it (no
 * database, a malformed one, an unreadable inventory) and a database
 * older than maxDbAgeHours, or with no recorded time when an age is
 * required, deny: never a silent pass.
 */
/* No finding is no evidence when packages went unmatched: an image of a
 * distribution the database cannot be matched against is denied, never
 * passed with zero findings. */
static void
coverage(struct stele_verify__ctx *v, const struct stele_vuln_report *r,
	 const char *distro, const char *what)
{
	if (r->unmatched < 0 && !r->ecosystem)
		stele_verify__check(
			v->r, 0, "vulnerability coverage",
			"%s matched no distribution and does not record how "
			"many packages it left unmatched",
			what);
	else if (r->unmatched > 0)
		stele_verify__check(
			v->r, 0, "vulnerability coverage",
			"%s left %lld packages unmatched (distribution %s): "
			"stele matches deb packages of Debian and apk packages "
			"of Alpine, so the image is not shown free of known "
			"vulnerabilities",
			what, (long long)r->unmatched,
			distro ? distro : "not named by os-release");
}

static void
scan_now(struct stele_verify__ctx *v, const json_t *vex)
{
	const struct stele_policy *p = v->p;
	struct stele_sbom_opts so = { 0 };
	struct stele_sbom *s = NULL;
	struct stele_vuln_db *db = NULL;
	struct stele_vuln_report *r = NULL;
	size_t denied, nsup;
	char note[64];
	int64_t up;

	so.limits = v->o->limits;
	if (stele_vuln_db_open(&db, p->vuln_db, NULL) < 0 ||
	    stele_sbom_read(&s, v->img, &so) < 0 ||
	    stele_vuln_match(&r, db, s) < 0) {
		stele_verify__check(v->r, 0, "vulnerabilities",
				    "cannot scan: %s", stele_error_last());
		goto out;
	}
	up = stele_vuln_db_updated(db);
	if (p->vuln_max_db_age) {
		if (up < 0)
			stele_verify__check(
				v->r, 0, "vulnerability database age",
				"database '%s' records no time (stele-db.json "
				"or OSV modified)",
				p->vuln_db);
		else
			stele_verify__check(
				v->r, v->now - up <= p->vuln_max_db_age,
				"vulnerability database age",
				"database '%s' is %lld hours old, the policy "
				"allows %lld",
				p->vuln_db, (long long)((v->now - up) / 3600),
				(long long)(p->vuln_max_db_age / 3600));
	}
	coverage(v, r, s->distro_id, "the scan");
	nsup = apply_vex(v, vex, r);
	denied = deny_findings(v, r, "");
	suppressed_note(note, sizeof(note), p, nsup);
	stele_verify__check(
		v->r, denied == 0, "vulnerabilities",
		"%zu packages scanned in %s: %zu findings, %zu above %s%s%s",
		r->npkgs, r->ecosystem ? r->ecosystem : "(no known ecosystem)",
		r->n, denied,
		stele_vuln_severity_name((enum stele_vuln_severity)p->vuln_max),
		p->vuln_fixable_only ? " with a fix" : "", note);
out:
	stele_vuln_report_free(r);
	stele_sbom_free(s);
	stele_vuln_db_free(db);
}

/*
 * The newest scan attached to the image and signed by a scanKeys key that
 * counts now.  A scan such a key signed that does not read denies (bad
 * data under a trusted signature); one by another key is not counted.
 */
static struct stele_vuln_scan *
newest_scan(struct stele_verify__ctx *v, const char **signer,
	    struct stele_buf *ignored)
{
	struct stele_vuln_scan *best = NULL, *sc;
	size_t i;

	for (i = 0; v->atts && i < v->atts->n; i++) {
		const struct stele_check *c = &v->atts->v[i];
		struct stele_trusted_key *k;
		char name[96], *why = NULL, t[STELE_TIME_STRLEN];

		if (!att_of(c, STELE_VULN_PREDICATE, 0))
			continue;
		k = stele_verify__key_of(v, c->key);
		snprintf(name, sizeof(name), "signed scan %.19s", c->blob);
		if (!k ||
		    !stele_verify__name_in(v->p->vuln_scan_keys,
					   v->p->nvuln_scan_keys, k->name)) {
			stele_buf_printf(ignored,
					 "%s%s: signed by '%s', not a "
					 "scanKeys key",
					 ignored->len ? "; " : "", name,
					 k ? k->name : "?");
			stele_verify__check(
				v->r, 1, name,
				"not counted: signed by '%s', "
				"not a key of vulnerabilities.scanKeys",
				k ? k->name : "?");
		} else if (!stele_verify__key_usable(v, k, &why)) {
			stele_verify__not_counted(v, ignored, name, name, why);
		} else if (stele_vuln_scan_parse(&sc, c->body.ptr, c->body.len,
						 v->img->digest, c->blob) < 0) {
			stele_verify__check(v->r, 0, name, "%s",
					    stele_error_last());
		} else {
			stele_time_format(t, sc->finished);
			stele_verify__check(v->r, 1, name,
					    "scan finished %s, signed by '%s'",
					    t, k->name);
			if (!best || sc->finished > best->finished) {
				stele_vuln_scan_free(best);
				best = sc;
				*signer = k->name;
			} else {
				stele_vuln_scan_free(sc);
			}
		}
		free(why);
	}
	return best;
}

/*
 * requireSignedScan: judge the image by its newest signed scan, without
 * scanning it: the scan must be younger than maxScanAgeHours, its
 * database no older than maxDbAgeHours when it finished, and its
 * findings, with only the policy's VEX applied (suppression the scanner
 * recorded is not taken: its VEX keys are not the policy's), must pass
 * maxSeverity and fixableOnly.
 */
static void
signed_scan(struct stele_verify__ctx *v, const json_t *vex)
{
	const struct stele_policy *p = v->p;
	struct stele_buf ignored = STELE_BUF_INIT(1 << 16);
	struct stele_vuln_scan *sc;
	const char *signer = NULL;
	char t[STELE_TIME_STRLEN], dbt[STELE_TIME_STRLEN], note[64];
	size_t i, denied, nsup;

	if (!(sc = newest_scan(v, &signer, &ignored))) {
		stele_verify__check(
			v->r, 0, "signed scan",
			"no vulnerability scan signed "
			"by a key of vulnerabilities.scanKeys is attached "
			"(requireSignedScan; stele scan --attest)%s%s%s",
			ignored.len ? " (" : "", stele_buf_cstr(&ignored),
			ignored.len ? ")" : "");
		stele_buf_release(&ignored);
		return;
	}
	stele_buf_release(&ignored);
	stele_time_format(t, sc->finished);
	if (sc->finished > v->now + CLOCK_SLACK)
		stele_verify__check(v->r, 0, "signed scan age",
				    "the scan says it finished "
				    "at %s, in the future",
				    t);
	else
		stele_verify__check(
			v->r, v->now - sc->finished <= p->vuln_max_scan_age,
			"signed scan age",
			"finished %s, %lld hours ago; the "
			"policy allows %lld",
			t, (long long)((v->now - sc->finished) / 3600),
			(long long)(p->vuln_max_scan_age / 3600));
	if (p->vuln_max_db_age) {
		if (sc->db_updated < 0)
			stele_verify__check(v->r, 0, "signed scan database age",
					    "the scan "
					    "records no database time");
		else
			stele_verify__check(
				v->r,
				sc->finished - sc->db_updated <=
					p->vuln_max_db_age,
				"signed scan database age",
				"the database was %lld hours old when the scan "
				"finished; the policy allows %lld",
				(long long)((sc->finished - sc->db_updated) /
					    3600),
				(long long)(p->vuln_max_db_age / 3600));
	}
	for (i = 0; i < sc->report->n; i++) {
		struct stele_vuln_finding *f = &sc->report->v[i];

		free(f->vex_status);
		free(f->vex_justification);
		free(f->vex_doc);
		f->vex_status = f->vex_justification = f->vex_doc = NULL;
		f->suppressed = 0;
		f->vex_time = 0;
	}
	coverage(v, sc->report, NULL, "the signed scan");
	nsup = apply_vex(v, vex, sc->report);
	denied = deny_findings(v, sc->report, " (signed scan)");
	suppressed_note(note, sizeof(note), p, nsup);
	if (sc->db_updated >= 0)
		stele_time_format(dbt, sc->db_updated);
	stele_verify__check(
		v->r, denied == 0, "signed scan findings",
		"scan by '%s' (stele %s, database %s of %s) in %s: %zu "
		"findings, %zu above %s%s%s",
		signer, sc->version ? sc->version : "?", sc->db ? sc->db : "?",
		sc->db_updated >= 0 ? dbt : "unknown time",
		sc->report->ecosystem ? sc->report->ecosystem
				      : "(no known ecosystem)",
		sc->report->n, denied,
		stele_vuln_severity_name((enum stele_vuln_severity)p->vuln_max),
		p->vuln_fixable_only ? " with a fix" : "", note);
	stele_vuln_scan_free(sc);
}

void
stele_verify__vulnerabilities(struct stele_verify__ctx *v)
{
	json_t *vex = vex_docs(v);

	if (v->p->vuln_db)
		scan_now(v, vex);
	if (v->p->vuln_signed_scan)
		signed_scan(v, vex);
	json_decref(vex);
}
