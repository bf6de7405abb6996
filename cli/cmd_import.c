#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/ref.h"
#include "util/error.h"

static const char import_usage[] =
	"usage: stele import [options] ROOTFS_DIR|TARBALL\n"
	"\n"
	"Make a one-layer base image from a root filesystem (a directory, or a\n"
	"tar archive, optionally compressed, extracted safely first), under the\n"
	"same canon as builds: ownership and modes kept, mtimes clamped to\n"
	"SOURCE_DATE_EPOCH (default 0), device nodes left out.  Prints the\n"
	"manifest digest.\n"
	"\n"
	"  -t, --tag NAME[:TAG]|oci:DIR[:TAG]  where to store it (required)\n"
	"      --compression gzip|zstd|none    layer compression (default gzip;\n"
	"                                      gzip-zlib as stele build takes it)\n"
	"      --max-size SIZE                 refuse a source whose files total\n"
	"                                      more (default 64G; K, M, G, T)\n"
	"      --max-entries N                 refuse a source with more entries\n"
	"                                      (default 1000000)\n"
	"      --json                          print {\"image\", \"digest\"} as JSON\n"
	"  -q, --quiet                         no progress on stderr (progress\n"
	"                                      goes in 10% steps of the content)\n"
	"  -h, --help                          this help\n";

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "compression", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		CLI_LIMIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_import_opts o = { 0 };
	struct stele_build_result res;
	struct stele_ref *ref = NULL;
	const char *tag = NULL;
	int c, comp = STELE_COMPRESS_GZIP, quiet = 0, as_json = 0, error, code;
	char *name;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:qh", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(NULL, &o.limits, c, import_usage)) <
		    0)
			return EXIT_USAGE;
		if (error)
			continue;
		switch (c) {
		case 't': tag = optarg; break;
		case 'c':
			if ((comp = cli_compression(optarg)) < 0)
				return cli_usage(import_usage,
						 "unknown compression '%s'",
						 optarg);
			break;
		case 'q': quiet = 1; break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, import_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(import_usage,
				 "need exactly one ROOTFS_DIR or TARBALL");
	if (!tag)
		return cli_usage(import_usage, "-t NAME[:TAG] is required");
	if ((error = cli_env_epoch(&o.has_epoch, &o.epoch, cli_env())) < 0 ||
	    (error = stele_ref_parse(&ref, tag, cli_env()->store)) < 0)
		return cli_fail(error);
	if (ref->transport == STELE_REF_DOCKER || !ref->refname) {
		stele_ref_free(ref);
		return cli_usage(import_usage,
				 "-t wants NAME[:TAG] or oci:DIR:TAG");
	}
	o.source = argv[optind];
	o.compression = (enum stele_compression)comp;
	o.output = ref;
	o.version = cli_version;
	o.dirs = &cli_env()->dirs;
	o.progress = quiet ? NULL : cli_progress;
	if ((error = stele_import(&res, &o)) < 0) {
		stele_ref_free(ref);
		return cli_fail(error);
	}
	if (!as_json) {
		stele_ref_free(ref);
		printf("%s\n", res.digest);
		return EXIT_OK;
	}
	name = stele_ref_string(ref);
	code = cli_json_print(
		json_pack("{s:s,s:s}", "image", name, "digest", res.digest));
	free(name);
	stele_ref_free(ref);
	return code;
}
