#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "keys/keyfile.h"
#include "keys/passphrase.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"

static const char sign_usage[] =
	"usage: stele sign --key KEY [options] IMAGE\n"
	"\n"
	"Sign an image's manifest digest: a cosign simple-signing payload naming\n"
	"the image's NAME:TAG (or --identity), signed over its exact bytes\n"
	"(Ed25519, or ECDSA P-256 with a key cosign generate-key-pair made),\n"
	"stored beside the image as cosign stores it (tag sha256-<hex>.sig) and as\n"
	"an OCI 1.1 referrer.  Another key's signature is added beside the ones\n"
	"there; the same signature is never added twice.  The image's digest\n"
	"does not change.\n"
	"\n"
	"  -k, --key KEY            encrypted private key (stele's or cosign's:\n"
	"                           Ed25519 or ECDSA P-256)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n"
	"      --identity REPO:TAG  the docker-reference to sign (required for oci:)\n"
	"  -a, --annotation K=V     add K=V to the payload's optional object\n"
	"  -h, --help               this help\n";

int
cli_key_load(struct stele_seckey **out, const char *path, const char *passfile)
{
	struct stele_secret *pass = NULL;
	char *prompt = stele_xasprintf("Passphrase for %s: ", path);
	int error;

	*out = NULL;
	/* A missing or malformed file is reported before asking. */
	if (!stele_fs_exists(path))
		error = stele_error_setc(STELE_ENOTFOUND,
			"cannot open key file '%s': no such file", path);
	else if ((error = stele_passphrase_get(&pass, passfile, prompt, 0)) == 0)
		error = stele_keyfile_load(out, path, pass);
	stele_secret_free(pass);
	free(prompt);
	return error;
}

/* NAME[:TAG] of a store image; NULL for oci: layouts (no name). */
static char *
default_identity(const struct stele_ref *ref)
{
	if (ref->transport != STELE_REF_STORE || !ref->name)
		return NULL;
	if (ref->tag)
		return stele_xasprintf("%s:%s", ref->name, ref->tag);
	return stele_xstrdup(ref->name);
}

static int
valid_identity(const char *s)
{
	struct stele_ref *r = NULL;
	int ok;

	ok = stele_ref_parse(&r, s) == 0 && r->transport == STELE_REF_STORE;
	stele_ref_free(r);
	return ok;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "identity", required_argument, NULL, 'i' },
		{ "annotation", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *keyfile = NULL, *passfile = NULL, *identity = NULL;
	struct stele_attach_result res;
	struct stele_seckey *k = NULL;
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	json_t *ann = NULL;
	char *id = NULL, *eq;
	int c, error, code = EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'p': passfile = optarg; break;
		case 'i': identity = optarg; break;
		case 'a':
			if (!(eq = strchr(optarg, '=')) || eq == optarg) {
				json_decref(ann);
				return cli_usage(sign_usage, "-a '%s': want KEY=VALUE", optarg);
			}
			if (!ann)
				ann = json_object();
			*eq = '\0';
			json_object_set_new(ann, optarg, json_string(eq + 1));
			*eq = '=';
			break;
		case 'h': fputs(sign_usage, stdout); json_decref(ann); return EXIT_OK;
		default: fputs(sign_usage, stderr); json_decref(ann); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !keyfile) {
		json_decref(ann);
		return cli_usage(sign_usage, optind != argc - 1 ?
				 "need exactly one IMAGE" : "--key is required");
	}
	if (identity && !valid_identity(identity)) {
		json_decref(ann);
		return cli_usage(sign_usage, "--identity '%s' is not a REPOSITORY[:TAG]",
				 identity);
	}
	if ((error = stele_ref_parse(&ref, argv[optind])) < 0)
		goto fail;
	id = identity ? stele_xstrdup(identity) : default_identity(ref);
	if (!id) {
		code = cli_usage(sign_usage,
			"'%s' has no repository name; give --identity REPO:TAG",
			argv[optind]);
		goto out;
	}
	if ((error = stele_image_open(&img, ref)) < 0 ||
	    (error = cli_key_load(&k, keyfile, passfile)) < 0 ||
	    (error = stele_sign_image(&res, img, id, ann, k)) < 0)
		goto fail;
	if (res.added)
		printf("%s signed as %s by key %s (%zu signature%s)\n", img->digest,
		       id, k->pub.id, res.count, res.count == 1 ? "" : "s");
	else
		printf("%s already signed as %s by key %s; nothing added\n",
		       img->digest, id, k->pub.id);
	code = EXIT_OK;
	goto out;
fail:
	code = cli_fail(error);
out:
	stele_seckey_free(k);
	stele_image_free(img);
	stele_ref_free(ref);
	json_decref(ann);
	free(id);
	return code;
}
