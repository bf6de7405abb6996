#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "keys/keyfile.h"
#include "registry/transfer.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "verify/push.h"
#include "verify/verify.h"

/* push, pull and copy: one transfer between any two transports. */

enum mode { MODE_PUSH, MODE_PULL, MODE_COPY };

static const char push_usage[] =
	"usage: stele push (--policy P | --key PUB | --insecure-skip-verify) [options] SRC docker://HOST/REPO:TAG\n"
	"\n"
	"Verify SRC (a store NAME:TAG, oci:DIR[:TAG] or docker://) with the policy\n"
	"or key first, and push nothing when it is denied (exit 1).  Then push the\n"
	"image byte for byte (blobs the registry has are skipped, blobs pulled from\n"
	"another repository of the same registry are mounted), then its cosign\n"
	"signature and attestation tags and its OCI 1.1 referrers (kept in a\n"
	"sha256-<hex> index where the registry has no referrers API).\n"
	"\n"
	"      --policy P               verify against policy file P\n"
	"      --key PUB                require a signature by public key PUB\n"
	"      --insecure-skip-verify   push without verifying (says so)\n"
	"      --sign-key KEY           sign it for the destination (HOST/REPO:TAG,\n"
	"                               or --identity) as it is pushed; the gate\n"
	"                               then verifies it as the destination\n"
	"      --passphrase-file F      the key's passphrase (else $STELE_PASSWORD)\n"
	"      --allow-insecure-key-perms  use a KEY group or others may access\n"
	"      --identity REF           verify (and with --sign-key, sign) as REF\n"
	"                               (default: SRC's identity; with --sign-key,\n"
	"                               the destination)\n"
	"      --no-attachments         leave out signatures, attestations, referrers\n" CLI_REGISTRY_JOBS_HELP
		CLI_REGISTRY_HELP "  -h, --help                   this help\n";

static const char pull_usage[] =
	"usage: stele pull [options] docker://HOST/REPO[:TAG][@DIGEST] [DEST]\n"
	"\n"
	"Pull an image with its signatures, attestations and referrers into DEST:\n"
	"oci:DIR[:TAG] or a store NAME[:TAG] (default: the store, as HOST/REPO:TAG).\n"
	"Every blob is checked against its digest as it arrives; nothing is written\n"
	"unless the whole pull succeeds, so an interrupted pull is simply rerun.\n"
	"\n"
	"      --no-attachments         leave out signatures, attestations, referrers\n" CLI_REGISTRY_JOBS_HELP
		CLI_REGISTRY_HELP "  -h, --help                   this help\n";

static const char copy_usage[] =
	"usage: stele copy [options] SRC DEST\n"
	"\n"
	"Copy an image with its signatures, attestations and referrers between\n"
	"any two of: docker://HOST/REPO[:TAG], oci:DIR[:TAG], a store NAME[:TAG].\n"
	"A docker:// DEST is a push: it needs --policy, --key or\n"
	"--insecure-skip-verify, as stele push does.  The digest never changes.\n"
	"\n"
	"      --policy P | --key PUB | --insecure-skip-verify   (docker:// DEST)\n"
	"      --sign-key KEY, --passphrase-file F, --identity REF,\n"
	"      --allow-insecure-key-perms (docker:// DEST: as stele push)\n"
	"      --no-attachments         leave out signatures, attestations, referrers\n" CLI_REGISTRY_JOBS_HELP
		CLI_REGISTRY_HELP "  -h, --help                   this help\n";

struct gate {
	const char *policy, *key;
	const char *identity; /* --identity */
	const char *sign_key; /* --sign-key: sign for the destination */
	const char *passfile;
	int skip;
	unsigned int keyflags; /* for cli_key_load() */
};

static void
gate_progress(void *payload, const char *msg)
{
	const struct cli_registry *c = payload;

	if (!c->quiet)
		fprintf(stderr, "%s\n", msg);
}

static void
print_denial(const struct stele_verify_report *rep,
	     const struct cli_registry *c)
{
	cli_print_denials(rep);
	fprintf(stderr, "stele: %s is not pushed: verification denied it\n",
		rep->digest);
	if (c->json)
		cli_json_print(stele_verify_report_json(rep));
}

/*
 * The push, through the library's verified push: stele_verify_image()
 * over the local copy before any byte goes to the destination.
 */
static int
push_verified(struct stele_transfer *t, struct stele_image *img,
	      const struct stele_ref *src, const struct stele_ref *dst,
	      const struct gate *g, unsigned flags, struct cli_registry *c)
{
	struct stele_push_opts po = { 0 };
	struct stele_verify_opts vo;
	struct stele_verify_report *rep = NULL;
	char *defid = NULL;
	size_t i;
	int error, code = EXIT_OK;

	memset(&vo, 0, sizeof(vo));
	vo.policy = g->policy;
	vo.key = g->key;
	vo.identity = g->identity;
	cli_verify_names(&vo, &defid, src);
	vo.progress = gate_progress;
	vo.progress_payload = c;
	vo.registry = &c->o;
	vo.dirs = &cli_env()->dirs;
	po.verify = &vo;
	po.insecure_skip_verify = g->skip;
	po.flags = flags;
	po.registry = &c->o;
	if (g->skip)
		fprintf(stderr,
			"stele: warning: --insecure-skip-verify: pushing %s without verifying it\n",
			img->digest);
	error = stele_push_verified(t, &rep, img, dst, &po);
	free(defid);
	for (i = 0; rep && i < rep->nwarnings; i++)
		fprintf(stderr, "stele: warning: %s\n", rep->warnings[i]);
	if (error == STELE_EVERIFY && rep && !rep->allowed) {
		print_denial(rep, c);
		code = EXIT_DENIED;
	} else if (error < 0) {
		code = cli_fail(error);
	}
	stele_verify_report_free(rep);
	return code;
}

/*
 * push --sign-key: copy *img (with what is attached to it) into a new
 * temporary layout (*tmp, or beside the one a registry source was pulled
 * into), sign it there for `identity`, and make *img that copy.
 */
static int
sign_copy(struct stele_image **img, char **tmp, const char *identity,
	  const struct gate *g, const struct cli_registry *c)
{
	struct stele_attach_result res;
	struct stele_transfer t;
	struct stele_seckey *k = NULL;
	struct stele_image *copy = NULL;
	struct stele_ref *ref = NULL;
	char *dir = NULL, *spec = NULL;
	int error;

	if ((error = cli_key_load(&k, g->sign_key, g->passfile, g->keyflags)) <
		    0 ||
	    (error = stele_fs_mkdtemp(&dir, cli_env()->tmp, "stele-sign")) < 0)
		goto out;
	spec = stele_xasprintf("oci:%s:signed", dir);
	if ((error = stele_ref_parse(&ref, spec, cli_env()->store)) < 0 ||
	    (error = stele_layout_copy(&t, *img, ref, 0)) < 0 ||
	    (error = stele_image_open(&copy, ref)) < 0 ||
	    (error = stele_sign_image(&res, copy, identity, NULL, k)) < 0)
		goto out;
	if (!c->quiet)
		fprintf(stderr, "%s signed as %s by key %s\n", copy->digest,
			identity, k->pub.id);
	stele_image_free(*img);
	*img = copy;
	copy = NULL;
	stele_fs_tmp_free(*tmp);
	*tmp = dir;
	dir = NULL;
out:
	stele_image_free(copy);
	stele_ref_free(ref);
	stele_seckey_free(k);
	stele_fs_tmp_free(dir);
	free(spec);
	return error < 0 ? cli_fail(error) : EXIT_OK;
}

static int
run(enum mode mode, const struct stele_ref *src, const struct stele_ref *dst,
    const struct gate *g, unsigned flags, struct cli_registry *c,
    const char *srcs, const char *dsts)
{
	struct stele_transfer t;
	struct stele_image *img = NULL;
	char *tmp = NULL;
	int error = 0, code;

	memset(&t, 0, sizeof(t));
	if (src->transport == STELE_REF_DOCKER &&
	    (!dst || dst->transport != STELE_REF_DOCKER)) {
		error = stele_registry_pull(&t, src, dst, flags, &c->o);
		goto done;
	}
	/* Load the source locally: a registry source through a temporary layout. */
	if (src->transport == STELE_REF_DOCKER)
		error = stele_registry_pull_temp(&img, &tmp, src, &c->o);
	else
		error = stele_image_open(&img, src);
	if (error < 0)
		goto done;
	if (dst->transport == STELE_REF_DOCKER) {
		struct gate sg = *g;
		char *dstid = NULL;

		if (g->sign_key) {
			/* Signed for where it goes, in a copy: the source is left
			 * as it was; the gate then sees what the registry will. */
			dstid = g->identity ? stele_xstrdup(g->identity)
					    : cli_docker_identity(dst);
			sg.identity = dstid;
			if ((code = sign_copy(&img, &tmp, dstid, g, c)) !=
			    EXIT_OK) {
				free(dstid);
				goto out_code;
			}
		}
		code = push_verified(&t, img, src, dst, &sg, flags, c);
		free(dstid);
		if (code != EXIT_OK)
			goto out_code;
	} else {
		error = stele_layout_copy(&t, img, dst, flags);
	}
done:
	if (error < 0) {
		code = cli_fail(error);
		goto out_code;
	}
	code = cli_registry_summary(c,
				    mode == MODE_PUSH           ? "pushed"
					    : mode == MODE_PULL ? "pulled"
								: "copied",
				    &t, srcs, dsts);
out_code:
	stele_image_free(img);
	stele_fs_tmp_free(tmp);
	return code;
}

static int
transfer(enum mode mode, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'P' },
		{ "key", required_argument, NULL, 'k' },
		{ "insecure-skip-verify", no_argument, NULL, 'S' },
		{ "identity", required_argument, NULL, 'I' },
		{ "sign-key", required_argument, NULL, 'K' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		CLI_INSECURE_KEY_OPTION,
		{ "no-attachments", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_OPTIONS,
		CLI_REGISTRY_JOBS_OPTION,
		{ NULL, 0, NULL, 0 }
	};
	const char *usage = mode == MODE_PUSH ? push_usage
		: mode == MODE_PULL           ? pull_usage
					      : copy_usage;
	struct stele_ref *src = NULL, *dst = NULL;
	struct cli_registry c;
	struct gate g = { NULL, NULL, NULL, NULL, NULL, 0, 0 };
	unsigned flags = 0;
	char *dsts = NULL;
	int ch, r, ngates, code;

	cli_registry_init(&c);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		if ((r = cli_shared_opt(&c, NULL, ch, usage)) < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (ch) {
		case 'P': g.policy = optarg; break;
		case 'k': g.key = optarg; break;
		case 'S': g.skip = 1; break;
		case 'I': g.identity = optarg; break;
		case 'K': g.sign_key = optarg; break;
		case 'F': g.passfile = optarg; break;
		case CLI_OPT_INSECURE_KEY:
			g.keyflags |= STELE_KEYFILE_ALLOW_OPEN_PERMS;
			break;
		case 'N': flags |= STELE_TRANSFER_NO_ATTACH; break;
		default: return cli_help(ch, usage);
		}
	}
	if (mode == MODE_PULL ? (argc - optind < 1 || argc - optind > 2)
			      : argc - optind != 2)
		return cli_usage(usage,
				 mode == MODE_PULL ? "need SOURCE [DEST]"
						   : "need SOURCE and DEST");
	if (stele_ref_parse(&src, argv[optind], cli_env()->store) < 0 ||
	    (optind + 1 < argc &&
	     stele_ref_parse(&dst, argv[optind + 1], cli_env()->store) < 0)) {
		code = cli_usage(usage, "%s", stele_error_last());
		goto out;
	}
	ngates = !!g.policy + !!g.key + g.skip;
	if (mode == MODE_PULL && src->transport != STELE_REF_DOCKER) {
		code = cli_usage(
			usage,
			"pull reads from a registry: docker://HOST/REPO[:TAG]");
		goto out;
	}
	if (mode == MODE_PUSH && dst->transport != STELE_REF_DOCKER) {
		code = cli_usage(
			usage,
			"push writes to a registry: docker://HOST/REPO:TAG");
		goto out;
	}
	if (dst && dst->transport == STELE_REF_DOCKER && ngates != 1) {
		code = cli_usage(
			usage,
			ngates ? "give only one of --policy, --key and --insecure-skip-verify"
			       : "pushing needs one of --policy P, --key PUB or --insecure-skip-verify");
		goto out;
	}
	if ((!dst || dst->transport != STELE_REF_DOCKER) &&
	    (ngates || g.sign_key || g.identity)) {
		code = cli_usage(
			usage,
			"--policy, --key, --insecure-skip-verify, --sign-key and --identity apply to a docker:// destination");
		goto out;
	}
	if (g.identity &&
	    (code = cli_identity_check(usage, g.identity)) != EXIT_OK)
		goto out;
	cli_registry_start(&c);
	/* libcurl loads on the other core while the image is read and
	 * verified. */
	if (src->transport == STELE_REF_DOCKER ||
	    (dst && dst->transport == STELE_REF_DOCKER))
		stele_init_curl_start();
	dsts = dst ? stele_xstrdup(argv[optind + 1]) : cli_docker_identity(src);
	code = run(mode, src, dst, &g, flags, &c, argv[optind], dsts);
	stele_init_curl_join();
out:
	free(dsts);
	stele_ref_free(src);
	stele_ref_free(dst);
	return code;
}

int
cmd_push(int argc, char **argv)
{
	return transfer(MODE_PUSH, argc, argv);
}

int
cmd_pull(int argc, char **argv)
{
	return transfer(MODE_PULL, argc, argv);
}

int
cmd_copy(int argc, char **argv)
{
	return transfer(MODE_COPY, argc, argv);
}
