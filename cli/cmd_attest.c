#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "builder/provenance.h"
#include "cli/env.h"
#include "keys/key.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "sbom/sbom.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"

static const char attest_usage[] =
	"usage: stele attest --key KEY [--passphrase-file F] [--sbom [--format F]] IMAGE\n"
	"\n"
	"Sign the provenance statement stored with an image (by stele build) as a\n"
	"DSSE envelope (payloadType application/vnd.in-toto+json), stored as\n"
	"cosign stores attestations (tag sha256-<hex>.att) and as an OCI 1.1\n"
	"referrer.  The same attestation is never added twice.  With --sbom, sign\n"
	"the image's SBOM (stele sbom) instead, as an in-toto statement of\n"
	"predicate type https://spdx.dev/Document or https://cyclonedx.org/bom\n"
	"(cosign verify-attestation --type spdxjson or cyclonedx).\n"
	"\n"
	"  -k, --key KEY            encrypted private key (stele's or cosign's)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n"
	"      --sbom               attest the image's SBOM\n"
	"  -f, --format F           its format: spdx (default) or cyclonedx\n"
	"      --json               print {\"digest\", \"keyId\", \"predicateType\",\n"
	"                           \"added\", \"attestations\"} as JSON\n" CLI_INSECURE_KEY_HELP
	"  -h, --help               this help\n";

/* --json: one object on stdout (f NULL below). */
static int
attest_json(const char *digest, const struct stele_seckey *k,
	    const char *predicate, int added, size_t count)
{
	return cli_json_print(
		json_pack("{s:s,s:s,s:s,s:b,s:I}", "digest", digest, "keyId",
			  k->pub.id, "predicateType", predicate, "added", added,
			  "attestations", (json_int_t)count));
}

/* Report on f; f NULL: as JSON on stdout. */
static int
attest(const struct stele_seckey *k, const struct stele_image *img, FILE *f)
{
	struct stele_attach_result res;
	size_t n;
	int error;

	if ((error = stele_attest_image(&res, &n, img, k)) < 0)
		return cli_fail(error);
	if (!f)
		return attest_json(img->digest, k, STELE_PREDICATE_SLSA1,
				   n != 0, res.count);
	if (n)
		fprintf(f, "%s attested by key %s (%zu attestation%s)\n",
			img->digest, k->pub.id, res.count,
			res.count == 1 ? "" : "s");
	else
		fprintf(f, "%s already attested by key %s; nothing added\n",
			img->digest, k->pub.id);
	return EXIT_OK;
}

static int
attest_sbom(const struct stele_seckey *k, const struct stele_image *img,
	    const struct stele_ref *ref, int fmt, FILE *f)
{
	struct stele_buf st = STELE_BUF_INIT(64u << 20);
	struct stele_attach_result res;
	struct stele_sbom *s = NULL;
	char *tool = cli_sbom_tool();
	int error, code = EXIT_OK;

	if ((error = stele_sbom_read(&s, img, NULL)) < 0 ||
	    (error = stele_sbom_statement(&st, s, (enum stele_sbom_format)fmt,
					  tool, ref->name)) < 0 ||
	    (error = stele_attest_statement(&res, img, st.ptr, st.len, k)) < 0)
		code = cli_fail(error);
	else if (!f)
		code = attest_json(
			img->digest, k,
			stele_sbom_predicate((enum stele_sbom_format)fmt),
			res.added, res.count);
	else if (res.added)
		fprintf(f,
			"%s: SBOM (%s, %zu packages) attested by key %s (%zu attestation%s)\n",
			img->digest,
			stele_sbom_predicate((enum stele_sbom_format)fmt),
			s->npkgs, k->pub.id, res.count,
			res.count == 1 ? "" : "s");
	else
		fprintf(f,
			"%s: SBOM already attested by key %s; nothing added\n",
			img->digest, k->pub.id);
	stele_sbom_free(s);
	stele_buf_release(&st);
	free(tool);
	return code;
}

int
cli_attest_built(const struct stele_seckey *k, const struct stele_ref *ref,
		 const char *digest, int sbom)
{
	struct stele_oci *oci = NULL;
	struct stele_image *img = NULL;
	int error, code;

	/* The image the build just wrote to `ref`'s layout, by digest. */
	if ((error = stele_oci_open(&oci, ref->dir, 0)) < 0 ||
	    (error = stele_image_load(&img, oci, NULL, digest)) < 0) {
		stele_oci_free(oci);
		return cli_fail(error);
	}
	code = attest(k, img, stderr);
	if (code == EXIT_OK && sbom >= 0)
		code = attest_sbom(k, img, ref, sbom, stderr);
	stele_image_free(img);
	return code;
}

int
cmd_attest(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_KEY_OPTIONS,
		{ "sbom", no_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_key_opts ko = { 0 };
	struct stele_seckey *k = NULL;
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	int c, error, code, sbom = 0, fmt = -1, as_json = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:f:h", opts, NULL)) != -1) {
		if (cli_key_opt(&ko, c, optarg))
			continue;
		switch (c) {
		case 'j': as_json = 1; break;
		case 'S': sbom = 1; break;
		case 'f':
			if ((fmt = stele_sbom_format_parse(optarg)) < 0)
				return cli_usage(
					attest_usage,
					"unknown --format '%s' (spdx or cyclonedx)",
					optarg);
			break;
		default: return cli_help(c, attest_usage);
		}
	}
	if (optind != argc - 1 || !ko.file)
		return cli_usage(attest_usage,
				 optind != argc - 1 ? "need exactly one IMAGE"
						    : "--key is required");
	if (fmt >= 0 && !sbom)
		return cli_usage(attest_usage, "--format is for --sbom");
	if ((error = stele_ref_parse(&ref, argv[optind], cli_env()->store)) <
		    0 ||
	    (error = stele_image_open(&img, ref)) < 0 ||
	    (error = cli_key_load(&k, ko.file, ko.passfile, ko.flags)) < 0)
		code = cli_fail(error);
	else if (sbom)
		code = attest_sbom(k, img, ref, fmt < 0 ? STELE_SBOM_SPDX : fmt,
				   as_json ? NULL : stdout);
	else
		code = attest(k, img, as_json ? NULL : stdout);
	stele_seckey_free(k);
	stele_image_free(img);
	stele_ref_free(ref);
	return code;
}
