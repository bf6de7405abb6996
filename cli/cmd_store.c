#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/cache.h"
#include "cli/cli.h"
#include "cli/env.h"
#include "oci/digest.h"
#include "oci/ref.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/limits.h"

/*
 * The layout an argument names: oci:DIR[...] or the store.  A bare
 * "sha256:<hex>" is a digest in the store.  *name and *digest borrow from
 * *ref; a registry is refused (EXIT_USAGE, printed).
 */
static int
parse_image(struct stele_ref **ref, const char **name, const char **digest,
	    const char *arg, const char *usage)
{
	char *s;
	int error;

	*name = *digest = NULL;
	if (!strncmp(arg, "sha256:", 7) && stele_digest_validate(arg) == 0) {
		s = stele_xasprintf("%s@%s", "x", arg);
		error = stele_ref_parse(ref, s, cli_env()->store);
		free(s);
		if (error < 0)
			return cli_usage(usage, "%s", stele_error_last());
		*digest = (*ref)->digest;
		return EXIT_OK;
	}
	if ((error = stele_ref_parse(ref, arg, cli_env()->store)) < 0)
		return cli_usage(usage, "%s", stele_error_last());
	if ((*ref)->transport == STELE_REF_DOCKER)
		return cli_usage(usage,
				 "'%s' is in a registry: this command "
				 "works on the store or an oci:DIR layout",
				 arg);
	*digest = (*ref)->digest;
	*name = *digest ? NULL : (*ref)->refname;
	/* The store keeps attachment tags without ":TAG": the library
	 * refuses them by that name. */
	if ((*ref)->transport == STELE_REF_STORE && (*ref)->name &&
	    stele_oci_is_attach_tag((*ref)->name) && !strchr(arg, ':'))
		*name = (*ref)->name;
	if (!*name && !*digest)
		return cli_usage(usage,
				 "'%s' names no image (want a tag or a "
				 "digest)",
				 arg);
	return EXIT_OK;
}

int
cli_layout_arg(char **dir, int argc, char **argv, const char *usage)
{
	*dir = NULL;
	if (argc - optind > 1)
		return cli_usage(usage, "at most one layout");
	if (optind < argc) {
		if (strncmp(argv[optind], "oci:", 4) || !argv[optind][4])
			return cli_usage(usage, "want oci:DIR, not '%s'",
					 argv[optind]);
		*dir = stele_xstrdup(argv[optind] + 4);
	} else {
		*dir = stele_xstrdup(cli_env()->store);
	}
	return EXIT_OK;
}

/*
 * The default store before anything was written to it (or while its first
 * write is making it) holds nothing: an empty store, not an error.  An
 * oci:DIR named on the command line must be a layout.
 */
static int
store_absent(const char *dir, int named)
{
	char *p;
	int absent;

	if (named)
		return 0;
	p = stele_path_join(dir, "oci-layout");
	absent = !stele_fs_exists(p);
	free(p);
	return absent;
}

static const char images_usage[] =
	"usage: stele images [--all] [--json] [oci:DIR]\n"
	"\n"
	"List the images of the local store (or of an OCI image layout): name,\n"
	"manifest digest, created, size (manifest, config and compressed\n"
	"layers) and how many signatures and attestations each has.\n"
	"\n"
	"  -a, --all    also untagged images kept as the subject of a\n"
	"               signature, attestation or provenance (name <none>)\n"
	"      --json   one JSON array: name, digest, mediaType, size, created,\n"
	"               signatures, attestations, referrers\n"
	"  -h, --help   this help\n";

int
cmd_images(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_oci *oci = NULL;
	json_t *list = NULL, *v;
	char *dir;
	size_t i;
	int c, all = 0, as_json = 0, error, code = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, images_usage);
		}
	}
	if ((code = cli_layout_arg(&dir, argc, argv, images_usage)) != EXIT_OK)
		return code;
	if (store_absent(dir, optind < argc))
		list = json_array();
	else if ((error = stele_oci_open(&oci, dir, 0)) < 0 ||
		 (error = stele_oci_images(&list, oci, all)) < 0) {
		code = cli_fail(error);
		goto out;
	}
	if (as_json) {
		code = cli_json_print(json_incref(list));
		goto out;
	}
	printf("%-32s %-19s %-20s %10s %s\n", "NAME", "DIGEST", "CREATED",
	       "SIZE", "SIGNATURES");
	json_array_foreach(list, i, v) {
		const char *n = stele_json_str(v, "name");
		const char *cr = stele_json_str(v, "created");
		double mb =
			(double)stele_json_int(v, "size") / (1024.0 * 1024.0);

		printf("%-32s %-19.19s %-20s %8.1fMB %lld%s\n",
		       n ? n : "<none>", stele_json_str(v, "digest"),
		       cr ? cr : "-", mb, stele_json_int(v, "signatures"),
		       stele_json_int(v, "attestations") ? " (attested)" : "");
	}
out:
	json_decref(list);
	stele_oci_free(oci);
	free(dir);
	return code;
}

static const char tag_usage[] =
	"usage: stele tag SRC NAME[:TAG]\n"
	"       stele tag oci:DIR:SRC oci:DIR:TAG\n"
	"\n"
	"Give an image of the local store another name (SRC is NAME[:TAG] or\n"
	"its manifest digest sha256:<hex>); a name already in use moves to this\n"
	"image, as podman tag does.  Both names are in the same store or\n"
	"layout (stele copy copies between them).  Signatures stay with the\n"
	"image, but a signature binds NAME:TAG (as cosign's do): verify the\n"
	"image under the name it was signed for, or sign it for the new one.\n"
	"\n"
	"  -h, --help   this help\n";

int
cmd_tag(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct stele_ref *src = NULL, *dst = NULL;
	struct stele_oci *oci = NULL;
	const char *sname, *sdigest, *dname, *ddigest;
	int c, error, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		default: return cli_help(c, tag_usage);
		}
	}
	if (argc - optind != 2)
		return cli_usage(tag_usage, "want SRC and NAME[:TAG]");
	if ((code = parse_image(&src, &sname, &sdigest, argv[optind],
				tag_usage)) != EXIT_OK ||
	    (code = parse_image(&dst, &dname, &ddigest, argv[optind + 1],
				tag_usage)) != EXIT_OK)
		goto out;
	if (!dname || ddigest) {
		code = cli_usage(tag_usage,
				 "the new name '%s' must be a tag, "
				 "not a digest",
				 argv[optind + 1]);
		goto out;
	}
	if (src->transport != dst->transport || strcmp(src->dir, dst->dir)) {
		code = cli_usage(tag_usage,
				 "'%s' and '%s' are in different "
				 "layouts: use stele copy",
				 argv[optind], argv[optind + 1]);
		goto out;
	}
	if ((error = stele_oci_open(&oci, src->dir, 0)) < 0 ||
	    (error = stele_oci_tag(oci, sname, sdigest, dname)) < 0) {
		code = error == STELE_EINVALID
			? cli_usage(tag_usage, "%s", stele_error_last())
			: cli_fail(error);
		goto out;
	}
	code = EXIT_OK;
out:
	stele_oci_free(oci);
	stele_ref_free(src);
	stele_ref_free(dst);
	return code;
}

static const char rmi_usage[] =
	"usage: stele rmi [--force] [--json] IMAGE...\n"
	"\n"
	"Remove images from the local store or an OCI image layout, as podman\n"
	"rmi does.  IMAGE is NAME[:TAG], oci:DIR:TAG, or a manifest digest\n"
	"(sha256:<hex>, oci:DIR@sha256:<hex>).\n"
	"\n"
	"By name, the tag is removed; the image goes with it only when no other\n"
	"tag names it (else it is only untagged) and no tagged image index\n"
	"lists it.  By digest, the image goes with its tag; an image with more\n"
	"than one tag is refused unless --force (then every tag goes), and an\n"
	"image an image index lists is refused.  Its signatures, attestations\n"
	"and provenance (its referrers) go with the image; a referrer itself\n"
	"is refused.  Blobs are freed by stele gc.\n"
	"\n"
	"  -f, --force  remove an image by digest with all its tags\n"
	"      --json   one JSON object per image: untagged, deleted,\n"
	"               attachments\n"
	"  -h, --help   this help\n";

int
cmd_rmi(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, i, as_json = 0, code = EXIT_OK, r, error;
	unsigned int flags = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': flags |= STELE_RMI_FORCE; break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, rmi_usage);
		}
	}
	if (optind >= argc)
		return cli_usage(rmi_usage, "want at least one image");
	for (i = optind; i < argc; i++) {
		struct stele_ref *ref = NULL;
		struct stele_oci *oci = NULL;
		const char *name, *digest;
		json_t *res = NULL, *v;
		size_t j;

		if ((r = parse_image(&ref, &name, &digest, argv[i],
				     rmi_usage)) != EXIT_OK) {
			stele_ref_free(ref);
			return r;
		}
		if ((error = stele_oci_open(&oci, ref->dir, 0)) < 0 ||
		    (error = stele_oci_rmi(&res, oci, name, digest, flags)) <
			    0) {
			r = cli_fail(error);
			if (code == EXIT_OK)
				code = r;
		} else if (as_json) {
			if ((r = cli_json_print(json_incref(res))) != EXIT_OK)
				code = r;
		} else {
			json_array_foreach(json_object_get(res, "untagged"), j,
					   v)
				printf("Untagged: %s\n", json_string_value(v));
			if (stele_json_str(res, "deleted"))
				printf("Deleted: %s\n",
				       stele_json_str(res, "deleted"));
		}
		json_decref(res);
		stele_oci_free(oci);
		stele_ref_free(ref);
	}
	return code;
}

/* "30d", "12h", "90m", "45s" or plain seconds; -1 when invalid. */
static int64_t
parse_age(const char *s)
{
	int64_t v = 0, unit = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > INT64_MAX / 10 - 9)
			return -1;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0':
	case 's': break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (*p && p[1])
		return -1;
	if (v > INT64_MAX / unit)
		return -1;
	return v * unit;
}

static const char gc_usage[] =
	"usage: stele gc [--cache-max-age AGE] [--cache-max-size SIZE] [--json]\n"
	"                [oci:DIR]\n"
	"\n"
	"Remove what nothing needs: blobs of the local store (or of an OCI\n"
	"image layout) that no tag, image, signature or referrer in its\n"
	"index.json reaches, leftover staging directories of interrupted\n"
	"writes, and build-cache layers no cache entry names.  It runs under\n"
	"the store's lock, as a commit does: builds, pulls and signs may run\n"
	"at once, and nothing they use is removed.\n"
	"\n"
	"      --cache-max-age AGE    first drop build-cache entries not used\n"
	"                             for AGE (a number of seconds, or with s,\n"
	"                             m, h, d or w)\n"
	"      --cache-max-size SIZE  then drop the least recently used entries\n"
	"                             until the cache's layers total at most\n"
	"                             SIZE (K, M, G, T; 0 empties it)\n"
	"      --json                 report as one JSON object\n"
	"  -h, --help                 this help\n";

int
cmd_gc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache-max-age", required_argument, NULL, 'A' },
		{ "cache-max-size", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_cache_gc_report cr;
	struct stele_gc_report sr;
	struct stele_cache *cache = NULL;
	struct stele_oci *oci = NULL;
	int64_t max_age = -1, max_size = -1;
	uint64_t sz;
	char *dir = NULL;
	int c, as_json = 0, error, code = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			if ((max_age = parse_age(optarg)) < 0)
				return cli_usage(
					gc_usage,
					"invalid --cache-max-age "
					"'%s' (seconds, or a number with s, m, "
					"h, d or w)",
					optarg);
			break;
		case 'S':
			if (!strcmp(optarg, "0")) {
				max_size = 0;
				break;
			}
			if (stele_limits_parse_size(&sz, optarg) < 0 ||
			    sz > INT64_MAX)
				return cli_usage(
					gc_usage,
					"invalid --cache-max-size "
					"'%s' (a number with an optional K, M, "
					"G or T)",
					optarg);
			max_size = (int64_t)sz;
			break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, gc_usage);
		}
	}
	if ((code = cli_layout_arg(&dir, argc, argv, gc_usage)) != EXIT_OK)
		return code;
	memset(&sr, 0, sizeof(sr));
	if ((!store_absent(dir, optind < argc) &&
	     ((error = stele_oci_open(&oci, dir, 0)) < 0 ||
	      (error = stele_oci_gc(&sr, oci)) < 0)) ||
	    (error = stele_cache_open(&cache, cli_env()->cache)) < 0 ||
	    (error = stele_cache_gc(&cr, cache, (int64_t)time(NULL), max_age,
				    max_size)) < 0) {
		code = cli_fail(error);
		goto out;
	}
	if (as_json) {
		code = cli_json_print(json_pack(
			"{s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I}}",
			"store", "blobs", (json_int_t)sr.blobs, "bytes",
			(json_int_t)sr.bytes, "staging", (json_int_t)sr.staging,
			"kept", (json_int_t)sr.kept, "cache", "entries",
			(json_int_t)cr.entries, "kept", (json_int_t)cr.kept,
			"blobs", (json_int_t)cr.blobs, "bytes",
			(json_int_t)cr.bytes, "size", (json_int_t)cr.size));
		goto out;
	}
	printf("store: %zu blob%s removed (%.1f MiB), %zu staging director%s, "
	       "%zu blob%s kept\n",
	       sr.blobs, sr.blobs == 1 ? "" : "s",
	       (double)sr.bytes / (1024.0 * 1024.0), sr.staging,
	       sr.staging == 1 ? "y" : "ies", sr.kept, sr.kept == 1 ? "" : "s");
	printf("build cache: %zu entr%s removed, %zu blob%s removed (%.1f MiB), "
	       "%zu entr%s kept (%.1f MiB)\n",
	       cr.entries, cr.entries == 1 ? "y" : "ies", cr.blobs,
	       cr.blobs == 1 ? "" : "s", (double)cr.bytes / (1024.0 * 1024.0),
	       cr.kept, cr.kept == 1 ? "y" : "ies",
	       (double)cr.size / (1024.0 * 1024.0));
out:
	stele_cache_free(cache);
	stele_oci_free(oci);
	free(dir);
	return code;
}
