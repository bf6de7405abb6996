#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "signer/attach.h"
#include "util/error.h"

static const char attest_usage[] =
	"usage: stele attest --key KEY [--passphrase-file F] IMAGE\n"
	"\n"
	"Sign the provenance statement stored with an image (by stele build) as a\n"
	"DSSE envelope (payloadType application/vnd.in-toto+json), stored as\n"
	"cosign stores attestations (tag sha256-<hex>.att) and as an OCI 1.1\n"
	"referrer.  The same attestation is never added twice.\n"
	"\n"
	"  -k, --key KEY            encrypted private key (stele's or cosign's)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n"
	CLI_INSECURE_KEY_HELP
	"  -h, --help               this help\n";

static int
attest(const struct stele_seckey *k, const struct stele_image *img, FILE *f)
{
	struct stele_attach_result res;
	size_t n;
	int error;

	if ((error = stele_attest_image(&res, &n, img, k)) < 0)
		return cli_fail(error);
	if (n)
		fprintf(f, "%s attested by key %s (%zu attestation%s)\n",
			img->digest, k->pub.id, res.count, res.count == 1 ? "" : "s");
	else
		fprintf(f, "%s already attested by key %s; nothing added\n",
			img->digest, k->pub.id);
	return EXIT_OK;
}

int
cli_attest_built(const struct stele_seckey *k, const struct stele_ref *ref,
		 const char *digest)
{
	struct stele_oci *oci = NULL;
	struct stele_image *img = NULL;
	int error, code;

	if ((error = stele_oci_open(&oci, ref->dir, 0)) < 0)
		return cli_fail(error);
	if ((error = stele_image_load(&img, oci, NULL, digest)) < 0) {
		stele_oci_free(oci);
		return cli_fail(error);
	}
	code = attest(k, img, stderr);
	stele_image_free(img);
	return code;
}

int
cmd_attest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		CLI_INSECURE_KEY_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *keyfile = NULL, *passfile = NULL;
	struct stele_seckey *k = NULL;
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	unsigned int keyflags = 0;
	int c, error, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case CLI_OPT_INSECURE_KEY:
			keyflags |= STELE_KEYFILE_ALLOW_OPEN_PERMS;
			break;
		case 'p': passfile = optarg; break;
		case 'h': fputs(attest_usage, stdout); return EXIT_OK;
		default: fputs(attest_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !keyfile)
		return cli_usage(attest_usage, optind != argc - 1 ?
				 "need exactly one IMAGE" : "--key is required");
	if ((error = stele_ref_parse(&ref, argv[optind])) < 0 ||
	    (error = stele_image_open(&img, ref)) < 0 ||
	    (error = cli_key_load(&k, keyfile, passfile, keyflags)) < 0)
		code = cli_fail(error);
	else
		code = attest(k, img, stdout);
	stele_seckey_free(k);
	stele_image_free(img);
	stele_ref_free(ref);
	return code;
}
