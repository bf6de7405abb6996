#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "cli/tty.h"
#include "keys/keyfile.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/identity.h"
#include "verify/push.h"

static const char sign_usage[] =
	"usage: stele sign --key KEY [options] IMAGE|docker://HOST/REPO:TAG\n"
	"\n"
	"Sign an image's manifest digest: a cosign simple-signing payload naming\n"
	"the image's identity, signed over its exact bytes (Ed25519, or ECDSA\n"
	"P-256 with a key cosign generate-key-pair made), stored beside the\n"
	"image as cosign stores it (tag sha256-<hex>.sig) and as an OCI 1.1\n"
	"referrer.  The identity is --identity, else HOST/REPO:TAG (or @DIGEST) of\n"
	"a docker:// image, else NAME:TAG of a store image; it is recorded on a\n"
	"local image's index entry, and verify binds signatures to it.  Another\n"
	"key's signature is added beside the ones there; the same signature is\n"
	"never added twice.  The image's digest does not change; a docker://\n"
	"image's tags are not touched.\n"
	"\n"
	"  -k, --key KEY            encrypted private key (stele's or cosign's:\n"
	"                           Ed25519 or ECDSA P-256)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n"
	"      --identity REF       the docker reference to sign (required for oci:)\n"
	"  -a, --annotation K=V     add K=V to the payload's optional object\n"
	"      --json               print {\"digest\", \"identity\", \"keyId\",\n"
	"                           \"added\", \"signatures\"} as JSON\n"
	"      --creds, --authfile, --cert-dir, --tls-verify=false  for docker://\n" CLI_INSECURE_KEY_HELP
	"  -h, --help               this help\n";

int
cli_key_load(struct stele_seckey **out, const char *path, const char *passfile,
	     unsigned int flags)
{
	struct stele_secret *pass = NULL;
	char *prompt = stele_xasprintf("Passphrase for %s: ", path);
	int error;

	*out = NULL;
	/* A missing or too open file is reported before asking. */
	if ((error = stele_keyfile_check(path, flags)) == 0 &&
	    (error = cli_passphrase(&pass, passfile, prompt, 0)) == 0)
		error = stele_keyfile_load(out, path, pass, flags);
	stele_secret_free(pass);
	free(prompt);
	return error;
}

int
cli_key_opt(struct cli_key_opts *ko, int c, const char *arg)
{
	if (c == 'k')
		ko->file = arg;
	else if (c == CLI_OPT_PASSFILE)
		ko->passfile = arg;
	else if (c == CLI_OPT_INSECURE_KEY)
		ko->flags |= STELE_KEYFILE_ALLOW_OPEN_PERMS;
	else
		return 0;
	return 1;
}

/* NAME[:TAG] of a store image, HOST/REPO:TAG of a registry image; NULL
 * for oci: layouts (no name). */
static char *
default_identity(const struct stele_ref *ref)
{
	if (ref->transport == STELE_REF_DOCKER)
		return cli_docker_identity(ref);
	if (ref->transport != STELE_REF_STORE || !ref->name)
		return NULL;
	if (ref->tag)
		return stele_xasprintf("%s:%s", ref->name, ref->tag);
	return stele_xstrdup(ref->name);
}

char *
cli_docker_identity(const struct stele_ref *ref)
{
	if (ref->digest && !ref->tag)
		return stele_xasprintf("%s@%s", ref->name, ref->digest);
	return stele_xasprintf("%s:%s", ref->name,
			       ref->tag ? ref->tag : "latest");
}

int
cli_identity_check(const char *usage, const char *identity)
{
	struct stele_dref d;

	if (stele_dref_parse(&d, identity) < 0)
		return cli_usage(usage, "--identity: %s", stele_error_last());
	stele_dref_release(&d);
	return EXIT_OK;
}

/*
 * Sign an image in a registry where it is: its manifest and config (no
 * layer) and what is attached to it pulled into a temporary layout, signed
 * there, and the attachments pushed back by digest (the registry's
 * manifest is already there, so nothing under it is looked at: only the
 * new .sig layer, merged with the registry's, and its referrer go up).
 */
static int
sign_remote(struct stele_attach_result *res, char digest[STELE_DIGEST_STRLEN],
	    const struct stele_ref *ref, const char *id, const json_t *ann,
	    const struct stele_seckey *k, struct cli_registry *reg)
{
	struct stele_image *img = NULL;
	struct stele_ref *at = NULL;
	struct stele_transfer t;
	char *tmp = NULL, *spec = NULL;
	int error;

	reg->quiet = 1;
	cli_registry_start(reg);
	if ((error = stele_registry_pull_temp_unlayered(&img, &tmp, ref,
							&reg->o)) < 0 ||
	    (error = stele_sign_image(res, img, id, ann, k)) < 0)
		goto out;
	snprintf(digest, STELE_DIGEST_STRLEN, "%s", img->digest);
	spec = stele_xasprintf("docker://%s@%s", ref->name,
			       stele_json_str(img->desc, "digest"));
	if ((error = stele_ref_parse(&at, spec, cli_env()->store)) < 0)
		goto out;
	if (res->added)
		error = stele_push_attachments(&t, img, at, &reg->o);
out:
	stele_image_free(img);
	stele_ref_free(at);
	stele_fs_tmp_free(tmp);
	free(spec);
	return error;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_KEY_OPTIONS,
		{ "identity", required_argument, NULL, 'i' },
		{ "annotation", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	char digest[STELE_DIGEST_STRLEN];
	struct cli_key_opts ko = { 0 };
	const char *identity = NULL;
	struct stele_attach_result res;
	struct stele_seckey *k = NULL;
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	json_t *ann = NULL;
	char *id = NULL, *eq;
	int c, error, code = EXIT_ERROR, as_json = 0;

	cli_registry_init(&reg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:a:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, NULL, c, sign_usage)) < 0) {
			json_decref(ann);
			return EXIT_USAGE;
		}
		if (error || cli_key_opt(&ko, c, optarg))
			continue;
		switch (c) {
		case 'j': as_json = 1; break;
		case 'i': identity = optarg; break;
		case 'a':
			if (!(eq = strchr(optarg, '=')) || eq == optarg) {
				json_decref(ann);
				return cli_usage(sign_usage,
						 "-a '%s': want KEY=VALUE",
						 optarg);
			}
			if (!ann)
				ann = json_object();
			*eq = '\0';
			json_object_set_new(ann, optarg, json_string(eq + 1));
			*eq = '=';
			break;
		default: json_decref(ann); return cli_help(c, sign_usage);
		}
	}
	if (optind != argc - 1 || !ko.file) {
		json_decref(ann);
		return cli_usage(sign_usage,
				 optind != argc - 1 ? "need exactly one IMAGE"
						    : "--key is required");
	}
	if (identity && cli_identity_check(sign_usage, identity) != EXIT_OK) {
		json_decref(ann);
		return EXIT_USAGE;
	}
	if ((error = stele_ref_parse(&ref, argv[optind], cli_env()->store)) < 0)
		goto fail;
	id = identity ? stele_xstrdup(identity) : default_identity(ref);
	if (!id) {
		code = cli_usage(
			sign_usage,
			"'%s' has no repository name; give --identity REPO:TAG",
			argv[optind]);
		goto out;
	}
	if (ref->transport == STELE_REF_DOCKER) {
		if ((error = cli_key_load(&k, ko.file, ko.passfile, ko.flags)) <
			    0 ||
		    (error = sign_remote(&res, digest, ref, id, ann, k, &reg)) <
			    0)
			goto fail;
	} else {
		if ((error = stele_image_open(&img, ref)) < 0 ||
		    (error = cli_key_load(&k, ko.file, ko.passfile, ko.flags)) <
			    0 ||
		    (error = stele_sign_image(&res, img, id, ann, k)) < 0)
			goto fail;
		snprintf(digest, sizeof(digest), "%s", img->digest);
	}
	if (as_json) {
		code = cli_json_print(json_pack(
			"{s:s,s:s,s:s,s:b,s:I}", "digest", digest, "identity",
			id, "keyId", k->pub.id, "added", res.added,
			"signatures", (json_int_t)res.count));
		goto out;
	}
	if (res.added)
		printf("%s signed as %s by key %s (%zu signature%s)\n", digest,
		       id, k->pub.id, res.count, res.count == 1 ? "" : "s");
	else
		printf("%s already signed as %s by key %s; nothing added\n",
		       digest, id, k->pub.id);
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
