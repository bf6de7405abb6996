#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"

static const char sbom_usage[] =
	"usage: stele sbom [--format spdx|cyclonedx] [-o FILE] IMAGE\n"
	"\n"
	"The inventory of a local image (the store or oci:DIR), read from its\n"
	"layers with whiteouts applied: dpkg, apk and rpm packages with their\n"
	"purl, the layer, recipe step and source commit that brought each in\n"
	"(from the build provenance), files owned by no package and files whose\n"
	"bytes disagree with the package database.  SPDX 2.3 or CycloneDX 1.6 JSON,\n"
	"canonical: the same image gives the same bytes.  The inventory is\n"
	"kept in the cache directory's inventory/, keyed by the image digest,\n"
	"so the layers are read once (docs/sbom.md).\n"
	"\n"
	"  -f, --format F       spdx (default) or cyclonedx\n"
	"  -o, --output FILE    write the document to FILE (else stdout)\n"
	"      --max-entries N  refuse a layer of more than N entries\n"
	"  -h, --help           this help\n";

/* "stele <version>": the creator named in the documents. */
char *
cli_sbom_tool(void)
{
	return stele_xasprintf("stele %s", cli_version);
}

int
cli_inventory_open(struct cli_inventory *inv, const char *name,
		   const struct stele_sbom_opts *so)
{
	char *dir = stele_path_join(cli_env()->cache, "inventory");
	char *tool = cli_sbom_tool();
	int error;

	memset(inv, 0, sizeof(*inv));
	if ((error = stele_ref_parse(&inv->ref, name, cli_env()->store)) < 0 ||
	    (error = stele_image_open(&inv->img, inv->ref)) < 0)
		goto out;
	error = stele_sbom_read_cached(&inv->s, inv->img, so, dir, tool, NULL);
out:
	free(dir);
	free(tool);
	return error;
}

void
cli_inventory_release(struct cli_inventory *inv)
{
	stele_sbom_free(inv->s);
	stele_image_free(inv->img);
	stele_ref_free(inv->ref);
	memset(inv, 0, sizeof(*inv));
}

int
cmd_sbom(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "max-entries", required_argument, NULL, CLI_LIMIT_ENTRIES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_buf doc = STELE_BUF_INIT(1u << 30);
	struct stele_sbom_opts so;
	struct cli_inventory inv = { 0 };
	const char *output = NULL;
	char *tool = NULL;
	int c, fmt = STELE_SBOM_SPDX, error, code = EXIT_OK;
	size_t i, unowned = 0, modified = 0;

	memset(&so, 0, sizeof(so));
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(NULL, &so.limits, c, sbom_usage)) <
		    0)
			return EXIT_USAGE;
		if (error)
			continue;
		switch (c) {
		case 'f':
			if ((fmt = stele_sbom_format_parse(optarg)) < 0)
				return cli_usage(
					sbom_usage,
					"unknown --format '%s' (spdx or cyclonedx)",
					optarg);
			break;
		case 'o': output = optarg; break;
		default: return cli_help(c, sbom_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(sbom_usage, "need exactly one IMAGE");
	tool = cli_sbom_tool();
	if ((error = cli_inventory_open(&inv, argv[optind], &so)) < 0 ||
	    (error = stele_sbom_emit(&doc, inv.s, (enum stele_sbom_format)fmt,
				     tool)) < 0) {
		code = cli_fail(error);
		goto out;
	}
	if (!output) {
		fwrite(doc.ptr, 1, doc.len, stdout);
		goto out;
	}
	if ((error = stele_fs_write_atomic(output, doc.ptr, doc.len, 0644)) <
	    0) {
		code = cli_fail(error);
		goto out;
	}
	for (i = 0; i < inv.s->nfiles; i++) {
		if (inv.s->files[i].finding == STELE_SBOM_UNOWNED)
			unowned++;
		else
			modified++;
	}
	fprintf(stderr,
		"%s: %zu packages, %zu files owned by no package, "
		"%zu modified files\n",
		output, inv.s->npkgs, unowned, modified);
out:
	stele_buf_release(&doc);
	cli_inventory_release(&inv);
	free(tool);
	return code;
}
