#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/env.h"
#include "oci/compress.h"
#include "util/error.h"
#include "util/init.h"
#include "util/json.h"
#include "util/limits.h"

#ifndef STELE_VERSION
#define STELE_VERSION "unknown"
#endif

const char *cli_version = STELE_VERSION;

static const struct cmd cmds[] = {
	{ "build", cmd_build, "build an image from a recipe and a context" },
	{ "import", cmd_import,
	  "make a one-layer base image from a root filesystem" },
	{ "inspect", cmd_inspect,
	  "show an image's config, layers, sources and referrers" },
	{ "keygen", cmd_keygen,
	  "make a key pair, Ed25519 or ECDSA P-256 (cosign's key file format)" },
	{ "sign", cmd_sign, "sign an image (cosign-compatible signature)" },
	{ "attest", cmd_attest,
	  "sign an image's provenance as a DSSE attestation" },
	{ "sbom", cmd_sbom,
	  "list an image's packages and files as an SPDX or CycloneDX SBOM" },
	{ "scan", cmd_scan,
	  "match an image's packages against a vulnerability database" },
	{ "db", cmd_db,
	  "update a vulnerability database from its sources over HTTPS" },
	{ "verify", cmd_verify, "check an image against a policy or a key" },
	{ "rebuild", cmd_rebuild,
	  "rebuild an image from its provenance and compare" },
	{ "images", cmd_images,
	  "list the images of the local store or a layout" },
	{ "tag", cmd_tag, "give an image of the store another name" },
	{ "rmi", cmd_rmi,
	  "remove images (a tag, or an image with its signatures)" },
	{ "gc", cmd_gc,
	  "remove unreferenced blobs and old build-cache entries" },
	{ "fsck", cmd_fsck,
	  "check an OCI image layout for corrupt or dangling blobs" },
	{ "push", cmd_push,
	  "verify an image, then push it with its signatures to a registry" },
	{ "pull", cmd_pull,
	  "pull an image with its signatures from a registry" },
	{ "copy", cmd_copy,
	  "copy an image between registries, layouts and the store" },
	{ "rollout", cmd_rollout,
	  "blue-green rollout over registry tags, verified at every move" },
	{ "serve", cmd_serve,
	  "serve a Kubernetes admission webhook that verifies every image" },
	{ "audit", cmd_audit,
	  "audit deployed images: signatures, provenance and age under the policy now" },
	{ "login", cmd_login,
	  "store credentials for a registry (podman's auth file)" },
	{ "logout", cmd_logout, "remove stored credentials for a registry" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: stele [--version] [--help] COMMAND [ARGS]\n\n"
		"Build container images reproducibly from source, with provenance.\n\n"
		"Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f,
		"\nImages: NAME[:TAG] (the local store, $STELE_STORE), oci:DIR[:TAG|@DIGEST],\n"
		"        docker://HOST/REPO[:TAG][@DIGEST] (a registry).\n"
		"Run 'stele COMMAND --help' for a command's options.\n");
}

int
cli_fail(int error)
{
	fprintf(stderr, "stele: %s\n", stele_error_last());
	return error == STELE_EVERIFY ? EXIT_DENIED : EXIT_ERROR;
}

int
cli_usage(const char *u, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stele: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", u);
	return EXIT_USAGE;
}

int
cli_help(int c, const char *usage)
{
	fputs(usage, c == 'h' ? stdout : stderr);
	return c == 'h' ? EXIT_OK : EXIT_USAGE;
}

void
cli_progress(void *payload, const char *msg)
{
	(void)payload;
	if (cli_env()->quiet)
		return;
	fprintf(stderr, "%s\n", msg);
}

int
cli_json_print(json_t *j)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	int error;

	if (!j)
		return cli_fail(stele_error_set("out of memory"));
	if ((error = stele_json_emit(&b, j)) == 0)
		printf("%s\n", b.ptr);
	json_decref(j);
	stele_buf_release(&b);
	return error < 0 ? cli_fail(error) : EXIT_OK;
}

int
cli_json_show(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	if (!s)
		return cli_fail(stele_error_set("cannot write JSON"));
	printf("%s\n", s);
	free(s);
	return EXIT_OK;
}

int
cli_compression(const char *s)
{
	if (!strcmp(s, "gzip"))
		return STELE_COMPRESS_GZIP;
	if (!strcmp(s, "gzip-zlib"))
		return STELE_COMPRESS_GZIP_ZLIB;
	if (!strcmp(s, "zstd"))
		return STELE_COMPRESS_ZSTD;
	if (!strcmp(s, "none"))
		return STELE_COMPRESS_NONE;
	return -1;
}

int
cli_limit_opt(struct stele_limits *l, int c, const char *arg)
{
	const char *p = arg;
	uint64_t n = 0;

	if (c != CLI_LIMIT_SIZE && c != CLI_LIMIT_ENTRIES)
		return 0;
	if (c == CLI_LIMIT_SIZE)
		return stele_limits_parse_size(&l->max_size, arg) < 0
			? STELE_EINVALID
			: 1;
	for (; *p >= '0' && *p <= '9' && n <= UINT64_MAX / 10 - 1; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (p == arg || *p || !n)
		return stele_error_setc(
			STELE_EINVALID,
			"invalid --max-entries '%s' (a positive whole number)",
			arg);
	l->max_entries = n;
	return 1;
}

/* As git does: a write error on stdout must not pass silently. */
static int
close_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno != EPIPE)
			fprintf(stderr,
				"stele: cannot write to standard output: %s\n",
				strerror(errno));
		return code ? code : EXIT_ERROR;
	}
	return code;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (stele_init() < 0) {
		fprintf(stderr, "stele: %s\n", stele_error_last());
		return EXIT_ERROR;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return close_stdout(EXIT_OK);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("stele %s\n", cli_version);
		return close_stdout(EXIT_OK);
	}
	for (i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return close_stdout(cmds[i].fn(argc - 1, argv + 1));
	fprintf(stderr,
		"stele: '%s' is not a stele command; see 'stele --help'\n",
		argv[1]);
	return EXIT_USAGE;
}
