#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "builder/context.h"
#include "builder/provenance.h"
#include "oci/compress.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/lazy.h"
#include "util/strv.h"
#include "verify/rebuild.h"

#define MAX_FILES_LISTED 20

/* name -> "type mode uid gid size sha256 link" of every entry of a layer */
static int
layer_index(json_t **out, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	json_t *idx = json_object();
	int r, error = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		error = stele_error_archive(a, "cannot read layer");
		goto out;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		struct stele_sha256 h;
		char d[STELE_DIGEST_STRLEN] = "-";
		const void *buf;
		size_t len;
		la_int64_t off;

		if (archive_entry_filetype(ae) == AE_IFREG &&
		    stele_sha256_init(&h) == 0) {
			while (archive_read_data_block(a, &buf, &len, &off) ==
			       ARCHIVE_OK)
				stele_sha256_update(&h, buf, len);
			stele_sha256_final(&h, d);
		}
		json_object_set_new(
			idx, archive_entry_pathname(ae),
			json_sprintf("%o %o %lld %lld %lld %s %s",
				     (unsigned)archive_entry_filetype(ae),
				     (unsigned)archive_entry_perm(ae),
				     (long long)archive_entry_uid(ae),
				     (long long)archive_entry_gid(ae),
				     (long long)archive_entry_size(ae), d,
				     archive_entry_symlink(ae)
					     ? archive_entry_symlink(ae)
					     : archive_entry_hardlink(ae)
					     ? archive_entry_hardlink(ae)
					     : ""));
	}
	if (r != ARCHIVE_EOF)
		error = stele_error_archive(a, "cannot read layer");
out:
	archive_read_free(a);
	if (error)
		json_decref(idx);
	else
		*out = idx;
	return error;
}

/* The files that differ between two layers (added, removed, changed). */
static json_t *
layer_diff(const char *pa, const char *pb)
{
	json_t *a = NULL, *b = NULL, *files = json_array(), *v;
	const char *k;

	if (layer_index(&a, pa) < 0 || layer_index(&b, pb) < 0) {
		json_array_append_new(files, json_string(stele_error_last()));
		goto out;
	}
	json_object_foreach(a, k, v) {
		json_t *w = json_object_get(b, k);

		if (!w || !json_equal(v, w))
			json_array_append_new(files, json_string(k));
	}
	json_object_foreach(b, k, v)
		if (!json_object_get(a, k))
			json_array_append_new(files, json_string(k));
out:
	json_decref(a);
	json_decref(b);
	return files;
}

static const char *
layer_digest(struct stele_image *img, size_t i)
{
	return stele_json_str(stele_image_layer(img, i), "digest");
}

/*
 * The same diff_ids and config, other layer blobs: the content was
 * reproduced and only the compressed bytes were not, which the compressor
 * (its library, version or settings) explains.  Says which layers and the
 * compression recorded against the one the rebuild used.
 */
static int
compression_only(struct stele_rebuild_result *out, struct stele_image *img,
		 struct stele_image *re, const char *recorded,
		 const char *rebuilt)
{
	size_t i, n = stele_image_nlayers(img);
	struct stele_buf s = STELE_BUF_INIT(1 << 16);
	json_t *layers;

	if (n != stele_image_nlayers(re) ||
	    strcmp(img->config_digest, re->config_digest))
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(stele_image_diff_id(img, i),
			   stele_image_diff_id(re, i)))
			return 0;
	layers = json_array();
	for (i = 0; i < n; i++)
		if (strcmp(layer_digest(img, i), layer_digest(re, i)))
			json_array_append_new(
				layers, json_integer((json_int_t)(i + 1)));
	if (!json_array_size(layers)) {
		json_decref(layers);
		return 0;
	}
	stele_buf_printf(&s,
			 "content identical, compression differs (%s vs %s)",
			 recorded, rebuilt);
	if (!strcmp(recorded, rebuilt))
		stele_buf_printf(&s,
				 ": the same compression is recorded, yet "
				 "the compressed bytes differ");
	stele_buf_printf(&s, "; layer%s",
			 json_array_size(layers) > 1 ? "s" : "");
	for (i = 0; i < json_array_size(layers); i++)
		stele_buf_printf(&s, "%s %lld", i ? "," : "",
				 (long long)json_integer_value(
					 json_array_get(layers, i)));
	stele_buf_printf(&s, " ha%s the same diff_id, another digest",
			 json_array_size(layers) > 1 ? "ve" : "s");
	out->verdict = STELE_REBUILD_COMPRESSION;
	out->summary = stele_buf_detach(&s);
	out->diff = json_pack("{s:o,s:s,s:s}", "layers", layers, "recorded",
			      recorded, "rebuilt", rebuilt);
	return 1;
}

static void
compare(struct stele_rebuild_result *out, struct stele_image *img,
	struct stele_image *re)
{
	size_t i, na = stele_image_nlayers(img), nb = stele_image_nlayers(re);
	struct stele_buf s = STELE_BUF_INIT(1 << 16);

	out->verdict = STELE_REBUILD_DIFFERS;

	for (i = 0; i < na || i < nb; i++) {
		const char *da = i < na ? stele_image_diff_id(img, i) : NULL;
		const char *db = i < nb ? stele_image_diff_id(re, i) : NULL;
		json_t *files, *f;
		size_t j;

		if (da && db && !strcmp(da, db))
			continue;
		stele_buf_printf(
			&s, "layer %zu differs: image has %s, the rebuild %s",
			i + 1, da ? da : "nothing", db ? db : "nothing");
		if (da && db) {
			char *pa = stele_oci_blob_path(
				img->oci,
				stele_json_str(stele_image_layer(img, i),
					       "digest"));
			char *pb = stele_oci_blob_path(
				re->oci,
				stele_json_str(stele_image_layer(re, i),
					       "digest"));

			files = layer_diff(pa, pb);
			free(pa);
			free(pb);
			stele_buf_printf(&s, "; files that differ:");
			json_array_foreach(files, j, f) {
				if (j == MAX_FILES_LISTED) {
					stele_buf_printf(
						&s, " (and %zu more)",
						json_array_size(files) - j);
					break;
				}
				stele_buf_printf(&s, " %s",
						 json_string_value(f));
			}
			out->diff =
				json_pack("{s:I,s:o}", "layer",
					  (json_int_t)(i + 1), "files", files);
		}
		break;
	}
	if (!s.len)
		stele_buf_printf(
			&s,
			"the layers are the same; the config or manifest differs (%s vs %s)",
			img->config_digest, re->config_digest);
	out->summary = stele_buf_detach(&s);
}

/* "zlib 1.2.13, level 6, …"; "not recorded" for an older provenance. */
static char *
compression_name(const char *library, const char *settings)
{
	if (!library)
		return stele_xstrdup("compression not recorded");
	if (!*library)
		return stele_xstrdup("uncompressed");
	if (!settings)
		return stele_xstrdup(library);
	return stele_xasprintf("%s, %s", library, settings);
}

/*
 * A base recorded by a local name (the store, an oci: layout) can only be
 * used where it is; one recorded by registry reference is pulled.  Say
 * which base is missing, and how to fix it, before building anything.
 */
static int
bases_at_hand(const json_t *pins, const char *store)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)pins, name, v) {
		struct stele_ref *ref = NULL;
		struct stele_image *img = NULL;
		int error;

		if (stele_ref_parse(&ref, name, store) < 0 ||
		    stele_ref_is_registry(ref)) {
			stele_ref_free(ref);
			continue;
		}
		free(ref->digest);
		ref->digest = stele_xstrdup(json_string_value(v));
		free(ref->refname);
		ref->refname = NULL;
		error = stele_image_open(&img, ref);
		stele_image_free(img);
		stele_ref_free(ref);
		if (error < 0)
			return stele_error_setc(
				STELE_ENOTFOUND,
				"cannot rebuild: the base '%s' (%s) is recorded by a local "
				"name and is not here; copy it first (stele copy SRC %s), or "
				"build FROM a registry reference (HOST/REPO@sha256:…) so a "
				"rebuild can pull it",
				name, json_string_value(v), name);
	}
	return 0;
}

int
stele_rebuild(struct stele_rebuild_result *out, struct stele_image *img,
	      const struct stele_prov_doc *prov,
	      const struct stele_registry_opts *registry,
	      const struct stele_dirs *dirs, const struct stele_limits *limits,
	      stele_progress_fn progress, void *payload)
{
	struct stele_build_opts bo = { 0 };
	struct stele_build_result br;
	struct stele_ref *ref = NULL;
	struct stele_image *re = NULL;
	struct stele_prov_doc *own = NULL;
	json_t *d, *pins = json_object(), *v;
	const char *uri, *commit = NULL, *tree = NULL, *k;
	char *tmp = NULL, *spec = NULL, *outref = NULL, **args = NULL;
	char *recorded = NULL, *rebuilt = NULL, *settings = NULL;
	size_t i, nargs = 0;
	int error, unsigned_prov = 0;

	memset(out, 0, sizeof(*out));
	out->verdict = STELE_REBUILD_DIFFERS;
	if (!prov) {
		if ((error = stele_prov_load_doc(&own, img->oci, img->digest)) <
		    0) {
			if (error == STELE_ENOTFOUND)
				stele_error_setc(
					error,
					"image %s has no provenance to rebuild from",
					img->digest);
			goto out;
		}
		prov = own;
		unsigned_prov = 1;
	}
	if (!prov->stele || prov->import) {
		error = stele_error_setc(
			STELE_EINVALID, "cannot rebuild: %s",
			!prov->stele
				? "the provenance is another builder's"
				: "the image was made by stele import (a root filesystem is not a source)");
		goto out;
	}
	uri = prov->source_uri;
	if (strncmp(uri, "git+", 4)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"cannot rebuild: the source '%s' is not a git repository (a directory context cannot be fetched again)",
			uri);
		goto out;
	}
	json_array_foreach(prov->deps, i, d) {
		const char *du = stele_json_str(d, "uri");
		json_t *dg = json_object_get(d, "digest");

		if (!strcmp(du, uri)) {
			commit = stele_json_str(dg, "gitCommit");
			tree = stele_json_str(dg, "gitTree");
		} else if (stele_json_str(dg, "sha256")) {
			/* Pinned as the recipe names it. */
			const char *name = stele_json_str(d, "name");

			json_object_set_new(
				pins, name ? name : du,
				json_sprintf("sha256:%s",
					     stele_json_str(dg, "sha256")));
		}
	}
	if (!commit) {
		error = stele_error_setc(
			STELE_EINVALID,
			"cannot rebuild: the provenance records no commit for '%s'",
			uri);
		goto out;
	}
	if ((error = bases_at_hand(pins, dirs ? dirs->store : NULL)) < 0)
		goto out;
	spec = stele_xasprintf("%s#%s", uri, commit);
	{
		/* The commit must still have the tree the provenance records. */
		struct stele_git_source *gs = NULL;

		if ((error = stele_git_source_open(
			     &gs, spec, dirs ? dirs->git_cache : NULL)) < 0)
			goto out;
		if (tree && strcmp(tree, gs->tree)) {
			out->verdict = STELE_REBUILD_SOURCE;
			out->summary = stele_xasprintf(
				"source differs: commit %s of %s has tree %s, the provenance records tree %s",
				commit, uri, gs->tree, tree);
			stele_git_source_free(gs);
			goto out;
		}
		stele_git_source_free(gs);
	}
	if ((error = stele_fs_mkdtemp(&tmp, dirs ? dirs->tmp : NULL,
				      "stele-rebuild")) < 0)
		goto out;
	outref = stele_xasprintf("oci:%s/layout:rebuild", tmp);
	if ((error = stele_ref_parse(&ref, outref, NULL)) < 0)
		goto out;
	args = stele_xcalloc(json_object_size(prov->build_args) + 1,
			     sizeof(char *));
	json_object_foreach(prov->build_args, k, v)
		args[nargs++] =
			stele_xasprintf("%s=%s", k, json_string_value(v));
	bo.context = spec;
	bo.recipe = prov->recipe_path;
	bo.target = prov->target;
	bo.build_args = (const char *const *)args;
	bo.nbuild_args = nargs;
	bo.registry = registry;
	bo.dirs = dirs;
	bo.compression = stele_compression_recorded(prov->compression_suffix,
						    prov->compression_library,
						    prov->compression_settings);
	bo.compression_level = prov->compression_level;
	bo.output = ref;
	bo.no_cache = 1;
	bo.pins = pins;
	bo.has_epoch = 1;
	bo.epoch = prov->epoch;
	if (limits)
		bo.limits = *limits;
	bo.progress = progress;
	bo.progress_payload = payload;
	if ((error = stele_build(&br, &bo)) < 0) {
		stele_error_prefix(error, "the rebuild failed");
		goto out;
	}
	snprintf(out->digest, sizeof(out->digest), "%s", br.digest);
	if (!strcmp(br.digest, img->digest)) {
		out->identical = 1;
		out->verdict = STELE_REBUILD_IDENTICAL;
		out->summary = stele_xasprintf(
			"identical: the rebuild of %s at %s gives %s%s", uri,
			commit, br.digest,
			unsigned_prov ? " (from the unsigned provenance)" : "");
		goto out;
	}
	{
		struct stele_oci *oci = NULL;
		char *dir = stele_xasprintf("%s/layout", tmp);

		error = stele_oci_open(&oci, dir, 0);
		free(dir);
		if (error == 0 &&
		    (error = stele_image_load(&re, oci, NULL, br.digest)) < 0)
			stele_oci_free(oci);
		if (error < 0)
			goto out;
	}
	recorded = compression_name(prov->compression_library,
				    prov->compression_settings);
	settings = stele_compression_settings(bo.compression,
					      bo.compression_level);
	rebuilt = compression_name(stele_compression_lib(bo.compression),
				   settings);
	if (!compression_only(out, img, re, recorded, rebuilt))
		compare(out, img, re);
out:
	free(recorded);
	free(rebuilt);
	free(settings);
	stele_fs_tmp_free(tmp);
	stele_strv_free(args, nargs);
	stele_image_free(re);
	stele_ref_free(ref);
	stele_prov_doc_free(own);
	json_decref(pins);
	free(outref);
	free(spec);
	return error;
}

void
stele_rebuild_result_release(struct stele_rebuild_result *r)
{
	free(r->summary);
	json_decref(r->diff);
	r->summary = NULL;
	r->diff = NULL;
}

const char *
stele_rebuild_verdict_name(enum stele_rebuild_verdict v)
{
	switch (v) {
	case STELE_REBUILD_IDENTICAL: return "identical";
	case STELE_REBUILD_COMPRESSION: return "compression-differs";
	case STELE_REBUILD_SOURCE: return "source-differs";
	default: return "differs";
	}
}
