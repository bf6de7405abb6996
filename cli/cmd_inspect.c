#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/provenance.h"
#include "cli/cli.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/referrers.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/json.h"

static const char inspect_usage[] =
	"usage: stele inspect [--json] IMAGE\n"
	"\n"
	"Show an image: its config, its layers with the recipe step and sources\n"
	"each came from (from the build provenance), and its referrers.\n"
	"\n"
	"      --json   one JSON object on stdout\n"
	"  -h, --help   this help\n";

static json_t *
layer_record(const struct stele_prov_doc *prov, const char *digest)
{
	const struct stele_prov_record *r =
		prov ? stele_prov_record_of(prov, digest) : NULL;

	return r ? r->annotations : NULL;
}

static int
print_file(void *payload, const json_t *file)
{
	(void)payload;
	printf("      file: %s sha256:%s\n", stele_json_str(file, "path"),
	       stele_json_str(json_object_get(file, "digest"), "sha256"));
	return 0;
}

static int
print_text(struct stele_image *img, const struct stele_prov_doc *stmt,
	   json_t *refs)
{
	int error;

	json_t *cfg = json_object_get(img->config, "config"), *l, *v;
	json_t *ann = json_object_get(img->manifest, "annotations");
	const char *k;
	size_t i;

	printf("Digest:       %s\n", img->digest);
	printf("Config:       %s\n", img->config_digest);
	printf("Created:      %s\n",
	       stele_json_str(img->config, "created")
		       ? stele_json_str(img->config, "created")
		       : "-");
	printf("Platform:     %s/%s\n", stele_json_str(img->config, "os"),
	       stele_json_str(img->config, "architecture"));
	json_object_foreach(ann, k, v)
		printf("Annotation:   %s=%s\n", k, json_string_value(v));
	printf("User:         %s\n",
	       stele_json_str(cfg, "User") && *stele_json_str(cfg, "User")
		       ? stele_json_str(cfg, "User")
		       : "(root)");
	if (stele_json_str(cfg, "WorkingDir"))
		printf("WorkingDir:   %s\n", stele_json_str(cfg, "WorkingDir"));
	json_array_foreach(json_object_get(cfg, "Env"), i, v)
		printf("Env:          %s\n", json_string_value(v));
	json_object_foreach(json_object_get(cfg, "Labels"), k, v)
		printf("Label:        %s=%s\n", k, json_string_value(v));
	json_object_foreach(json_object_get(cfg, "ExposedPorts"), k, v)
		printf("Expose:       %s\n", k);
	if ((v = json_object_get(cfg, "Entrypoint"))) {
		char *s = json_dumps(v, JSON_COMPACT);
		printf("Entrypoint:   %s\n", s);
		free(s);
	}
	if ((v = json_object_get(cfg, "Cmd"))) {
		char *s = json_dumps(v, JSON_COMPACT);
		printf("Cmd:          %s\n", s);
		free(s);
	}
	printf("Layers:\n");
	for (i = 0; i < stele_image_nlayers(img); i++) {
		const char *d;
		json_t *rec, *in;
		size_t j;

		l = stele_image_layer(img, i);
		d = stele_json_str(l, "digest");
		printf("  %zu %s %lld bytes\n", i + 1, d,
		       (long long)stele_json_int(l, "size"));
		if (!(rec = layer_record(stmt, d)))
			continue;
		if (stele_json_str(rec, "recipe"))
			printf("      step: %s:%lld %s%s\n",
			       stele_json_str(rec, "recipe"),
			       (long long)stele_json_int(rec, "line"),
			       stele_json_str(rec, "instruction"),
			       json_is_true(json_object_get(rec, "base"))
				       ? " (base)"
				       : "");
		else
			printf("      step: %s\n",
			       stele_json_str(rec, "instruction"));
		json_array_foreach(json_object_get(rec, "inputs"), j, in) {
			const char *kind = stele_json_str(in, "kind");
			json_t *dg = json_object_get(in, "digest");

			if (kind && !strcmp(kind, "git"))
				printf("      from: %s commit %s tree %s\n",
				       stele_json_str(in, "uri"),
				       stele_json_str(dg, "gitCommit"),
				       stele_json_str(dg, "gitTree"));
			else if (kind && !strcmp(kind, "stage"))
				printf("      from: stage %lld\n",
				       (long long)stele_json_int(in, "index"));
			else if (stele_json_str(in, "image"))
				printf("      from: image %s %s\n",
				       stele_json_str(in, "image"),
				       stele_json_str(in, "digest"));
			else if (kind && !strcmp(kind, "archive"))
				printf("      from: archive %s sha256:%s\n",
				       stele_json_str(in, "path"),
				       stele_json_str(dg, "sha256"));
			else if (kind && !strcmp(kind, "heredoc"))
				printf("      heredoc: <<%s -> %s sha256:%s\n",
				       stele_json_str(in, "name"),
				       stele_json_str(in, "dest"),
				       stele_json_str(dg, "sha256"));
			else if (kind && !strcmp(kind, "download"))
				printf("      from: download %s sha256:%s\n",
				       stele_json_str(in, "uri"),
				       stele_json_str(dg, "sha256"));
		}
		/* Inline or from the layer's file list. */
		if ((error = stele_prov_files_each(
			     img->oci, json_object_get(rec, "inputs"),
			     print_file, NULL)) < 0)
			return error;
	}
	printf("Referrers:\n");
	json_array_foreach(refs, i, v) {
		json_t *a = json_object_get(v, "annotations");

		printf("  %s %s %s\n", stele_json_str(v, "digest"),
		       stele_json_str(v, "artifactType"),
		       stele_json_str(a, STELE_ANN_PREDICATE)
			       ? stele_json_str(a, STELE_ANN_PREDICATE)
			       : "");
	}
	return 0;
}

int
cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_ref *ref = NULL;
	struct stele_image *img = NULL;
	json_t *refs = NULL;
	struct stele_prov_doc *stmt = NULL;
	int c, as_json = 0, error, code = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = 1; break;
		default: return cli_help(c, inspect_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(inspect_usage, "need exactly one IMAGE");
	if ((error = stele_ref_parse(&ref, argv[optind], cli_env()->store)) <
		    0 ||
	    (error = stele_image_open(&img, ref)) < 0 ||
	    (error = stele_oci_referrers(&refs, NULL, img->oci, img->digest)) <
		    0) {
		stele_ref_free(ref);
		stele_image_free(img);
		return cli_fail(error);
	}
	/* No statement is not an error here: inspect shows what there is;
	 * one that does not read is said so. */
	if ((error = stele_prov_load_doc(&stmt, img->oci, img->digest)) < 0 &&
	    error != STELE_ENOTFOUND)
		fprintf(stderr, "warning: %s\n", stele_error_last());
	if (as_json) {
		json_t *layers = json_array(), *l;
		size_t i;

		for (i = 0; i < stele_image_nlayers(img); i++) {
			json_t *rec;

			l = json_deep_copy(stele_image_layer(img, i));
			json_object_set_new(
				l, "diffID",
				json_string(stele_image_diff_id(img, i)));
			if ((rec = layer_record(stmt,
						stele_json_str(l, "digest"))))
				json_object_set(l, "provenance", rec);
			json_array_append_new(layers, l);
		}
		code = cli_json_show(json_pack(
			"{s:s,s:O,s:O,s:o,s:O}", "digest", img->digest,
			"manifest", img->manifest, "config", img->config,
			"layers", layers, "referrers", refs));
	} else if ((error = print_text(img, stmt, refs)) < 0) {
		code = cli_fail(error);
	}
	stele_prov_doc_free(stmt);
	json_decref(refs);
	stele_image_free(img);
	stele_ref_free(ref);
	return code;
}
