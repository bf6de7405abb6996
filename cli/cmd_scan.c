#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"
#include "keys/key.h"
#include "signer/attach.h"
#include "vuln/scan.h"
#include "vuln/vex.h"
#include "vuln/vuln.h"

static const char scan_usage[] =
	"usage: stele scan --db DB [--json|--sarif] [--fail-on SEVERITY]\n"
	"                  [--fixable-only] [--attest --key KEY] IMAGE\n"
	"\n"
	"Match a local image's packages (its SBOM) against a vulnerability\n"
	"database: a directory of OSV records and Debian Security Tracker JSON,\n"
	"compiled into an index beside them on first use (docs/vuln.md).  Each\n"
	"finding names the package, installed and fixed version, severity, and\n"
	"the layer, recipe line and source commit that brought the package in.\n"
	"The image's inventory is read through the same cache as stele sbom's.\n"
	"\n"
	"  --db DB              the database directory (required)\n"
	"  --json               the report as JSON\n"
	"  --sarif              the report as SARIF 2.1.0\n"
	"  --fail-on SEVERITY   exit 1 when a finding is at SEVERITY or above:\n"
	"                       negligible (any finding), low, medium, high,\n"
	"                       critical; an unknown severity counts as critical\n"
	"  --fixable-only       --fail-on counts only findings with a fix\n"
	"  --vex FILE           an OpenVEX document in a DSSE envelope: findings\n"
	"                       it says are not_affected or fixed are kept in\n"
	"                       the report as suppressed and never fail\n"
	"                       (repeatable; needs --vex-key)\n"
	"  --vex-key PUB        a public key trusted to sign VEX (repeatable)\n"
	"      --max-entries N  refuse a layer of more than N entries\n"
	"  --attest             also sign the result as an in-toto attestation\n"
	"                       of cosign's vuln type (predicate\n"
	"                       https://cosign.sigstore.dev/attestation/vuln/v1),\n"
	"                       stored with the image as attestations are\n"
	"                       (sha256-<hex>.att and a referrer), for a policy's\n"
	"                       requireSignedScan; needs --key\n"
	"  -k, --key KEY        the signing key (stele's or cosign's)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n" CLI_INSECURE_KEY_HELP
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 clean (or under the threshold), 1 findings --fail-on\n"
	"denies or a --vex document no --vex-key signed, 2 usage, 3 error.\n";

enum {
	OPT_DB = 256,
	OPT_JSON,
	OPT_SARIF,
	OPT_FAIL_ON,
	OPT_FIXABLE,
	OPT_VEX,
	OPT_VEX_KEY,
	OPT_ATTEST
};

#define SCAN_VEX_MAX 64

/* Apply every --vex document, each checked against every --vex-key. */
static int
apply_vex(struct stele_vuln_report *r, char **vex, size_t nvex, char **keyfiles,
	  size_t nkeys)
{
	struct stele_pubkey *keys[SCAN_VEX_MAX] = { 0 };
	struct stele_buf b = STELE_BUF_INIT(STELE_VEX_MAX);
	size_t i;
	int error = 0;

	for (i = 0; i < nkeys; i++)
		if ((error = stele_pubkey_load(&keys[i], keyfiles[i])) < 0)
			goto out;
	for (i = 0; i < nvex; i++) {
		stele_buf_clear(&b);
		if ((error = stele_fs_read(&b, vex[i])) < 0 ||
		    (error = stele_vuln_vex_apply(
			     r, b.ptr ? b.ptr : "", b.len, vex[i],
			     (const struct stele_pubkey *const *)keys, nkeys)) <
			    0)
			goto out;
	}
out:
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	stele_buf_release(&b);
	return error;
}

/*
 * --attest: the report as a signed scan statement (vuln/scan.h) stored with
 * the image.  `params` are the options that decided the findings.
 */
static int
attest_scan(const struct stele_vuln_report *r, const struct stele_image *img,
	    const struct stele_ref *ref, const struct stele_seckey *k,
	    const char *dbdir, const char *const *params, size_t nparams,
	    int64_t started)
{
	struct stele_buf st = STELE_BUF_INIT(STELE_VULN_SCAN_MAX);
	struct stele_vuln_scan_info info = { 0 };
	struct stele_attach_result res;
	char dbpath[PATH_MAX];
	int error;

	info.name = ref->name;
	info.version = cli_version;
	info.db = realpath(dbdir, dbpath) ? dbpath : dbdir;
	info.parameters = params;
	info.nparameters = nparams;
	info.started = started;
	info.finished = (int64_t)time(NULL);
	if ((error = stele_vuln_scan_statement(&st, r, &info)) < 0 ||
	    (error = stele_attest_statement(&res, img, st.ptr, st.len, k)) <
		    0) {
		stele_buf_release(&st);
		return error;
	}
	fprintf(stderr,
		"stele: scan of %s (%zu findings) attested by key %s "
		"(%zu attestation%s)\n",
		img->digest, r->n, k->pub.id, res.count,
		res.count == 1 ? "" : "s");
	stele_buf_release(&st);
	return 0;
}

static void
print_text(const struct stele_vuln_report *r, int fail_on, int fixable)
{
	size_t i;

	printf("%s: %zu packages looked up in %s, %zu findings\n",
	       r->sbom->image, r->npkgs,
	       r->ecosystem ? r->ecosystem : "(no known ecosystem)", r->n);
	for (i = 0; i < r->n; i++) {
		const struct stele_vuln_finding *f = &r->v[i];
		const struct stele_sbom_pkg *p = &r->sbom->pkgs[f->pkg];
		const struct stele_sbom_layer *l = p->layer < r->sbom->nlayers
			? &r->sbom->layers[p->layer]
			: NULL;

		printf("%s%s %s %s %s %s (source %s %s)",
		       f->suppressed ? "SUPPRESSED "
			       : fail_on >= 0 &&
				       stele_vuln_denied(
					       f,
					       (enum stele_vuln_severity)
						       fail_on,
					       fixable)
			       ? "DENY "
			       : "",
		       f->id, stele_vuln_severity_name(f->severity),
		       stele_vuln_status_name(f->status), p->name, p->version,
		       f->package, f->installed);
		if (f->fixed)
			printf(" fixed in %s", f->fixed);
		if (f->suppressed)
			printf(" [VEX %s: %s%s%s]", f->vex_doc, f->vex_status,
			       f->vex_justification ? ", " : "",
			       f->vex_justification ? f->vex_justification
						    : "");
		if (l) {
			printf(" layer %s", l->diff_id);
			if (l->recipe)
				printf(" %s:%d", l->recipe, l->line);
			if (l->commit)
				printf(" commit %s", l->commit);
			if (l->base)
				printf(" (base)");
		}
		putchar('\n');
	}
}

int
cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "sarif", no_argument, NULL, OPT_SARIF },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "fixable-only", no_argument, NULL, OPT_FIXABLE },
		{ "vex", required_argument, NULL, OPT_VEX },
		{ "vex-key", required_argument, NULL, OPT_VEX_KEY },
		{ "max-entries", required_argument, NULL, CLI_LIMIT_ENTRIES },
		{ "attest", no_argument, NULL, OPT_ATTEST },
		CLI_KEY_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_buf doc = STELE_BUF_INIT(1u << 30);
	struct stele_sbom_opts so;
	struct cli_inventory inv = { 0 };
	struct stele_vuln_db *db = NULL;
	struct stele_vuln_report *r = NULL;
	struct stele_seckey *k = NULL;
	struct cli_key_opts ko = { 0 };
	const char *dbdir = NULL;
	char *vex[SCAN_VEX_MAX], *vex_keys[SCAN_VEX_MAX];
	char *params[2 * SCAN_VEX_MAX + 1];
	size_t nvex = 0, nvex_keys = 0, nparams = 0;
	int c, json = 0, sarif = 0, fail_on = -1, fixable = 0, error;
	int code = EXIT_OK, attest = 0;
	int64_t started;
	size_t i;

	memset(&so, 0, sizeof(so));
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(NULL, &so.limits, c, scan_usage)) <
		    0)
			return EXIT_USAGE;
		if (error || cli_key_opt(&ko, c, optarg))
			continue;
		switch (c) {
		case OPT_DB: dbdir = optarg; break;
		case OPT_ATTEST: attest = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_SARIF: sarif = 1; break;
		case OPT_FIXABLE: fixable = 1; break;
		case OPT_VEX:
			if (nvex == SCAN_VEX_MAX)
				return cli_usage(scan_usage,
						 "more than %d --vex",
						 SCAN_VEX_MAX);
			vex[nvex++] = optarg;
			break;
		case OPT_VEX_KEY:
			if (nvex_keys == SCAN_VEX_MAX)
				return cli_usage(scan_usage,
						 "more than %d --vex-key",
						 SCAN_VEX_MAX);
			vex_keys[nvex_keys++] = optarg;
			break;
		case OPT_FAIL_ON:
			/* --fail-on S denies S and above: the most it
			 * allows is the severity below S. */
			if ((fail_on = stele_vuln_severity_parse(optarg)) <= 0)
				return cli_usage(
					scan_usage,
					"unknown --fail-on "
					"'%s' (negligible, low, medium, high or "
					"critical)",
					optarg);
			fail_on--;
			break;
		default: return cli_help(c, scan_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(scan_usage, "need exactly one IMAGE");
	if (!dbdir)
		return cli_usage(scan_usage, "need --db DB");
	if (json && sarif)
		return cli_usage(scan_usage,
				 "--json and --sarif exclude each other");
	if (fixable && fail_on < 0)
		return cli_usage(scan_usage, "--fixable-only needs --fail-on");
	if (nvex && !nvex_keys)
		return cli_usage(scan_usage,
				 "--vex needs --vex-key: only signed "
				 "VEX documents are used");
	if (nvex_keys && !nvex)
		return cli_usage(scan_usage, "--vex-key without --vex");
	if (attest != !!ko.file)
		return cli_usage(scan_usage,
				 attest ? "--attest needs --key"
					: "--key is for --attest");
	/* What decided the findings, for the attestation's invocation. */
	params[nparams++] = stele_xasprintf("--db=%s", dbdir);
	for (i = 0; i < nvex; i++)
		params[nparams++] = stele_xasprintf("--vex=%s", vex[i]);
	for (i = 0; i < nvex_keys; i++)
		params[nparams++] =
			stele_xasprintf("--vex-key=%s", vex_keys[i]);
	if (attest &&
	    (error = cli_key_load(&k, ko.file, ko.passfile, ko.flags)) < 0) {
		code = cli_fail(error);
		goto out;
	}
	started = (int64_t)time(NULL);
	if ((error = cli_inventory_open(&inv, argv[optind], &so)) < 0 ||
	    (error = stele_vuln_db_open(&db, dbdir, NULL)) < 0 ||
	    (error = stele_vuln_match(&r, db, inv.s)) < 0 ||
	    (error = apply_vex(r, vex, nvex, vex_keys, nvex_keys)) < 0 ||
	    (attest &&
	     (error = attest_scan(r, inv.img, inv.ref, k, dbdir,
				  (const char *const *)params, nparams,
				  started)) < 0)) {
		code = cli_fail(error);
		goto out;
	}
	if (json || sarif) {
		error = json ? stele_vuln_report_json(&doc, r)
			     : stele_vuln_report_sarif(&doc, r, cli_version);
		if (error < 0 || stele_buf_putc(&doc, '\n') < 0) {
			code = cli_fail(error < 0 ? error : STELE_ERROR);
			goto out;
		}
		fwrite(doc.ptr, 1, doc.len, stdout);
	} else {
		print_text(r, fail_on, fixable);
	}
	if (fail_on >= 0) {
		size_t denied = 0;

		for (i = 0; i < r->n; i++)
			denied += stele_vuln_denied(
					  &r->v[i],
					  (enum stele_vuln_severity)fail_on,
					  fixable) != 0;
		if (denied) {
			fprintf(stderr,
				"stele: %zu finding%s at %s or above%s\n",
				denied, denied == 1 ? "" : "s",
				stele_vuln_severity_name((
					enum stele_vuln_severity)(fail_on + 1)),
				fixable ? " with a fix" : "");
			code = EXIT_DENIED;
		}
	}
out:
	for (i = 0; i < nparams; i++)
		free(params[i]);
	stele_seckey_free(k);
	stele_buf_release(&doc);
	stele_vuln_report_free(r);
	stele_vuln_db_free(db);
	cli_inventory_release(&inv);
	return code;
}
