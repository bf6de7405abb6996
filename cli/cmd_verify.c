#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/fsck.h"
#include "verify/rebuild.h"
#include "verify/verify.h"

static const char verify_usage[] =
	"usage: stele verify (--policy P | --key PUB) [options] IMAGE|docker://HOST/REPO:TAG\n"
	"\n"
	"Check an image before it is pushed or deployed: every blob's digest and\n"
	"size, the config's diff_ids, signatures over the exact stored payloads\n"
	"bound to this digest and identity, attestations, provenance rules and\n"
	"image rules (docs/policy.md).  Prints each check; exits 0 when allowed,\n"
	"1 when denied (every failing rule named), 2 on usage errors, 3 on\n"
	"other errors.\n"
	"\n"
	"  -p, --policy FILE     the policy (JSON)\n"
	"  -k, --key PUB         instead of a policy: one signature by this key\n"
	"      --identity REF    verify the image as this docker reference (default:\n"
	"                        docker://HOST/REPO:TAG as named, a store NAME:TAG, or\n"
	"                        the identity recorded when it was signed or pulled);\n"
	"                        the policy's signatures.identity says how to match\n"
	"      --rebuild         also rebuild the image from its provenance\n"
	"      --signatures-only do not read the layer blobs (admission): the\n"
	"                        manifest and config digests, signatures,\n"
	"                        attestations and the policy's rules are checked;\n"
	"                        layer digests, sizes and diff_ids are NOT (the\n"
	"                        runtime must check them as it pulls).  A\n"
	"                        docker:// image is still pulled whole first\n"
	"      --max-size SIZE, --max-entries N\n"
	"                        limits for that rebuild, as stele build takes them\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                        for IMAGE = docker://HOST/REPO:TAG (pulled with its\n"
	"                        signatures and attestations into a temporary layout)\n"
	"      --json            a JSON report on stdout\n"
	"  -h, --help            this help\n";

/*
 * What an image named by `ref` is verified as (verify/verify.h): a
 * docker:// image as where it lives, a store image as NAME:TAG unless
 * signing recorded another identity; and the tag it was named by.
 */
void
cli_verify_names(struct stele_verify_opts *o, char **owned,
		 const struct stele_ref *ref)
{
	*owned = NULL;
	o->named = 1;
	if (ref->transport == STELE_REF_OCI) {
		o->tag = ref->tag;
		return;
	}
	o->tag = ref->tag ? ref->tag : ref->digest ? NULL : "latest";
	*owned = cli_docker_identity(ref);
	if (ref->transport == STELE_REF_DOCKER)
		o->reference = *owned;
	else
		o->default_identity = *owned;
}

void
cli_print_denials(const struct stele_verify_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (!rep->checks[i].ok)
			fprintf(stderr, "stele: denied: %s: %s\n",
				rep->checks[i].name,
				rep->checks[i].reason ? rep->checks[i].reason
						      : "failed");
}

static void
print_report(const struct stele_verify_report *r)
{
	size_t i;

	for (i = 0; i < r->nwarnings; i++)
		printf("warning: %s\n", r->warnings[i]);
	for (i = 0; i < r->n; i++)
		printf("%-4s %s%s%s\n", r->checks[i].ok ? "ok" : "FAIL",
		       r->checks[i].name, r->checks[i].reason ? ": " : "",
		       r->checks[i].reason ? r->checks[i].reason : "");
	for (i = 0; i < r->nwarnings; i++)
		printf("warning: %s\n", r->warnings[i]);
	printf("%s %s\n", r->allowed ? "allowed" : "denied", r->digest);
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "identity", required_argument, NULL, 'i' },
		{ "rebuild", no_argument, NULL, 'r' },
		{ "signatures-only", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		CLI_LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	char *tmpdir = NULL;
	struct stele_verify_opts o = { 0 };
	struct stele_verify_report *rep = NULL;
	struct stele_ref *ref = NULL;
	struct stele_image *img = NULL;
	char *identity = NULL;
	int c, as_json = 0, error, code;

	cli_registry_init(&reg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:k:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, &o.limits, c, verify_usage)) <
		    0)
			return EXIT_USAGE;
		if (error)
			continue;
		switch (c) {
		case 'p': o.policy = optarg; break;
		case 'k': o.key = optarg; break;
		case 'i': o.identity = optarg; break;
		case 'r': o.rebuild = 1; break;
		case 'S': o.signatures_only = 1; break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, verify_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(verify_usage, "need exactly one IMAGE");
	if (!o.policy == !o.key)
		return cli_usage(verify_usage,
				 "give exactly one of --policy and --key");
	if (o.signatures_only && o.rebuild)
		return cli_usage(
			verify_usage,
			"--signatures-only and --rebuild exclude each other");
	if (o.identity &&
	    cli_identity_check(verify_usage, o.identity) != EXIT_OK)
		return EXIT_USAGE;
	o.now = (int64_t)time(NULL);
	reg.quiet = as_json;
	if ((error = cli_image_open(&img, &ref, &tmpdir, argv[optind], &reg)) <
	    0) {
		cli_image_close(img, ref, tmpdir);
		if (error != STELE_EVERIFY)
			return cli_fail(error);
		/* A manifest or config that does not match its digest. */
		if (as_json) {
			if ((code = cli_json_show(json_pack(
				     "{s:b,s:[{s:s,s:b,s:s}]}", "allowed", 0,
				     "checks", "name", "image", "ok", 0,
				     "reason", stele_error_last()))) != EXIT_OK)
				return code;
		} else
			printf("FAIL image: %s\ndenied\n", stele_error_last());
		return EXIT_DENIED;
	}
	cli_verify_names(&o, &identity, ref);
	o.progress = as_json ? NULL : cli_progress;
	o.registry = &reg.o;
	o.dirs = &cli_env()->dirs;
	error = stele_verify_image(&rep, img, &o);
	if (error < 0) {
		code = cli_fail(error == STELE_EVERIFY ? STELE_ERROR : error);
	} else {
		code = EXIT_OK;
		if (as_json)
			code = cli_json_show(stele_verify_report_json(rep));
		else
			print_report(rep);
		if (code == EXIT_OK && !rep->allowed)
			code = EXIT_DENIED;
	}
	stele_verify_report_free(rep);
	cli_image_close(img, ref, tmpdir);
	free(identity);
	return code;
}

static const char rebuild_usage[] =
	"usage: stele rebuild [options] IMAGE|docker://HOST/REPO[:TAG|@DIGEST]\n"
	"\n"
	"Rebuild an image from its provenance (the same source commit, recipe,\n"
	"bases by digest, epoch, arguments and compression level; no cache) and\n"
	"compare, diff_ids first.  Exits 0 when identical; else 1 with the\n"
	"verdict: \"content identical, compression differs (RECORDED vs REBUILT)\"\n"
	"when only the compressed bytes differ (another compressor library or\n"
	"version), or the first layer that differs and its files.\n"
	"Bases recorded by registry reference are pulled, so a rebuild works on\n"
	"a machine with an empty store.\n"
	"\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                        how to reach registries (IMAGE and the bases)\n"
	"      --max-size SIZE, --max-entries N\n"
	"                        limits, as stele build takes them (docs/limits.md)\n"
	"      --json            a JSON result on stdout\n"
	"  -h, --help            this help\n";

int
cmd_rebuild(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		CLI_LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	struct stele_limits limits = { 0 };
	struct stele_rebuild_result rb;
	struct stele_ref *ref = NULL;
	struct stele_image *img = NULL;
	char *tmpdir = NULL;
	int c, as_json = 0, error, code;

	cli_registry_init(&reg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, &limits, c, rebuild_usage)) <
		    0)
			return EXIT_USAGE;
		if (error)
			continue;
		if (c != 'j')
			return cli_help(c, rebuild_usage);
		as_json = 1;
	}
	if (optind != argc - 1)
		return cli_usage(rebuild_usage, "need exactly one IMAGE");
	reg.quiet = as_json;
	if ((error = cli_image_open(&img, &ref, &tmpdir, argv[optind], &reg)) <
	    0) {
		cli_image_close(img, ref, tmpdir);
		return cli_fail(error);
	}
	error = stele_rebuild(&rb, img, NULL, &reg.o, &cli_env()->dirs, &limits,
			      as_json ? NULL : cli_progress, NULL);
	if (error < 0) {
		code = cli_fail(error == STELE_EVERIFY ? STELE_ERROR : error);
	} else {
		code = EXIT_OK;
		if (as_json)
			code = cli_json_show(json_pack(
				"{s:b,s:s,s:s,s:s,s:s,s:O?}", "identical",
				rb.identical, "verdict",
				stele_rebuild_verdict_name(rb.verdict), "image",
				img->digest, "rebuilt", rb.digest, "summary",
				rb.summary, "diff", rb.diff));
		else
			printf("%s\n", rb.summary);
		if (code == EXIT_OK && !rb.identical)
			code = EXIT_DENIED;
		stele_rebuild_result_release(&rb);
	}
	cli_image_close(img, ref, tmpdir);
	return code;
}

static const char fsck_usage[] =
	"usage: stele fsck [--prune] [--json] [oci:DIR]\n"
	"\n"
	"Check an OCI image layout (default: the local store): every blob\n"
	"re-hashed, every reference resolvable, nothing dangling.  Exits 0 when\n"
	"clean, 1 when something is corrupt or dangling.\n"
	"\n"
	"      --prune  remove temporary files and unreferenced blobs\n"
	"      --json   a JSON report on stdout\n"
	"  -h, --help   this help\n";

int
cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prune", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_fsck_report r;
	char *dir;
	json_t *v;
	size_t i;
	int c, prune = 0, as_json = 0, error, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prune = 1; break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, fsck_usage);
		}
	}
	if ((code = cli_layout_arg(&dir, argc, argv, fsck_usage)) != EXIT_OK)
		return code;
	if ((error = stele_fsck(&r, dir, prune)) < 0) {
		free(dir);
		stele_fsck_report_release(&r);
		return cli_fail(error);
	}
	code = EXIT_OK;
	if (as_json) {
		code = cli_json_show(json_pack(
			"{s:s,s:I,s:O,s:O,s:O,s:I}", "layout", dir, "blobs",
			(json_int_t)r.blobs, "problems", r.problems,
			"unreferenced", r.unreferenced, "temporary", r.temp,
			"removed", (json_int_t)r.removed));
	} else {
		json_array_foreach(r.problems, i, v)
			printf("%s %s: %s\n", stele_json_str(v, "kind"),
			       stele_json_str(v, "subject"),
			       stele_json_str(v, "reason"));
		json_array_foreach(r.unreferenced, i, v)
			printf("unreferenced %s%s\n", json_string_value(v),
			       prune ? " (removed)" : "");
		json_array_foreach(r.temp, i, v)
			printf("temporary %s%s\n", json_string_value(v),
			       prune ? " (removed)" : "");
		printf("%zu blobs checked, %zu problems\n", r.blobs,
		       json_array_size(r.problems));
	}
	if (code == EXIT_OK && json_array_size(r.problems))
		code = EXIT_DENIED;
	stele_fsck_report_release(&r);
	free(dir);
	return code;
}
