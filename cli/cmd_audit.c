#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "deploy/audit.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

static const char audit_usage[] =
	"usage: stele audit --policy P --images FILE [--json | --sarif] [options]\n"
	"\n"
	"Audit what runs: for each unique digest among the deployed images in\n"
	"FILE (one reference per line, or the JSON of kubectl get pods -A -o json:\n"
	"containers, init and ephemeral containers), pulled from its registry,\n"
	"report whether it is signed under the policy as it reads now (revoked and\n"
	"expired keys count), whether signed provenance is there and passes, and\n"
	"how old the image and its bases are, from their provenance (never from\n"
	"`created`).  Counts distinct images, digests and base images and lists\n"
	"the images not rebuilt within the policy's image.maxAgeDays.  Nothing is\n"
	"written to a registry.  With a vulnerability database (--db, else the\n"
	"policy's vulnerabilities.db), each image is also scanned now and the\n"
	"findings its newest signed scan (stele scan --attest) does not have are\n"
	"listed: those the policy's vulnerabilities rule denies fail it.  Exits 0\n"
	"when every image passes, 1 when one fails, 2 on usage errors, 3 on\n"
	"other errors.\n"
	"\n"
	"  -p, --policy FILE     the policy (JSON)\n"
	"  -i, --images FILE     the deployed images ('-': standard input)\n"
	"      --db DB           the vulnerability database to scan them against\n"
	"      --json            the report as JSON on stdout\n"
	"      --sarif           the report as a SARIF 2.1.0 log on stdout\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                        how to reach the registries\n"
	"  -h, --help            this help\n";

static const char *
part_word(const json_t *r, const char *part)
{
	const json_t *p = json_object_get(r, part);

	if (!p)
		return "-";
	return json_is_true(json_object_get(p, "ok")) ? "ok" : "FAIL";
}

static void
print_table(const json_t *rep)
{
	const json_t *s = json_object_get(rep, "summary"), *r, *x;
	size_t i, j;

	printf("%-19s  %-9s  %-10s  %-8s  %-8s  %-6s  %s\n", "DIGEST",
	       "SIGNATURE", "PROVENANCE", "AGE", "BASE AGE", "RESULT", "IMAGE");
	json_array_foreach(json_object_get(rep, "results"), i, r) {
		const char *dg = stele_json_str(r, "digest");
		const json_t *days =
			json_object_get(json_object_get(r, "age"), "days");
		long long bmax = -1;
		char age[24], bage[24];

		json_array_foreach(json_object_get(r, "bases"), j, x)
			if (json_is_integer(json_object_get(x, "days")) &&
			    stele_json_int(x, "days") > bmax)
				bmax = stele_json_int(x, "days");
		snprintf(age, sizeof(age),
			 json_is_integer(days) ? "%lldd" : "?",
			 (long long)json_integer_value(days));
		if (!json_array_size(json_object_get(r, "bases")))
			snprintf(bage, sizeof(bage), "-");
		else
			snprintf(bage, sizeof(bage), bmax >= 0 ? "%lldd" : "?",
				 bmax);
		printf("%-19.19s  %-9s  %-10s  %-8s  %-8s  %-6s  %s\n",
		       dg ? dg : "(not pulled)",
		       dg ? part_word(r, "signature") : "-",
		       dg ? part_word(r, "provenance") : "-", dg ? age : "-",
		       dg ? bage : "-",
		       json_is_true(json_object_get(r, "allowed")) ? "pass"
								   : "FAIL",
		       json_string_value(json_array_get(
			       json_object_get(r, "references"), 0)));
		json_array_foreach(json_object_get(r, "references"), j, x)
			if (j > 0)
				printf("%-19s  also %s\n", "",
				       json_string_value(x));
		json_array_foreach(json_object_get(r, "reasons"), j, x)
			printf("%-19s  - %s\n", "", json_string_value(x));
		json_array_foreach(json_object_get(r, "warnings"), j, x)
			printf("%-19s  warning: %s\n", "",
			       json_string_value(x));
	}
	printf("%lld references, %lld images, %lld digests, %lld base images: "
	       "%lld passed, %lld failed\n",
	       (long long)stele_json_int(s, "references"),
	       (long long)stele_json_int(s, "images"),
	       (long long)stele_json_int(s, "digests"),
	       (long long)stele_json_int(s, "baseImages"),
	       (long long)stele_json_int(s, "passed"),
	       (long long)stele_json_int(s, "failed"));
	if (json_array_size(json_object_get(rep, "stale"))) {
		printf("not rebuilt within %lld days:\n",
		       (long long)stele_json_int(rep, "maxAgeDays"));
		json_array_foreach(json_object_get(rep, "stale"), i, x)
			printf("  %s\n", json_string_value(x));
	}
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "images", required_argument, NULL, 'i' },
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "sarif", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	struct stele_audit_opts o = { 0 };
	struct stele_buf list = STELE_BUF_INIT(STELE_AUDIT_MAX_LIST + 1);
	const char *images = NULL;
	json_t *refs = NULL, *rep = NULL;
	int c, as_json = 0, as_sarif = 0, error, code;

	cli_registry_init(&reg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:i:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, NULL, c, audit_usage)) < 0)
			return EXIT_USAGE;
		if (error)
			continue;
		switch (c) {
		case 'p': o.policy = optarg; break;
		case 'i': images = optarg; break;
		case 'd': o.db = optarg; break;
		case 'j': as_json = 1; break;
		case 's': as_sarif = 1; break;
		default: return cli_help(c, audit_usage);
		}
	}
	if (optind != argc)
		return cli_usage(audit_usage, "unexpected argument '%s'",
				 argv[optind]);
	if (!o.policy || !images)
		return cli_usage(audit_usage, "give --policy and --images");
	if (as_json && as_sarif)
		return cli_usage(audit_usage,
				 "give at most one of --json and --sarif");
	error = strcmp(images, "-")
		? stele_fs_read(&list, images)
		: stele_fs_read_fd(&list, 0, "standard input");
	if (error < 0 ||
	    (error = stele_audit_images_parse(&refs, list.ptr, list.len,
					      images)) < 0) {
		stele_buf_release(&list);
		return cli_fail(error);
	}
	stele_buf_release(&list);
	o.now = (int64_t)time(NULL);
	o.source = images;
	o.tool_version = cli_version;
	o.registry = &reg.o;
	reg.quiet = 1;
	cli_registry_start(&reg);
	if ((error = stele_audit_run(&rep, refs, &o)) < 0) {
		json_decref(refs);
		return cli_fail(error);
	}
	code = EXIT_OK;
	if (as_sarif)
		code = cli_json_show(stele_audit_sarif(rep, &o));
	else if (as_json)
		code = cli_json_show(json_incref(rep));
	else
		print_table(rep);
	if (code == EXIT_OK &&
	    stele_json_int(json_object_get(rep, "summary"), "failed"))
		code = EXIT_DENIED;
	json_decref(rep);
	json_decref(refs);
	return code;
}
