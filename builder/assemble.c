#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/lazy.h"

#include "builder/build_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"

#define RECIPE_MAX (1u << 20)
#define DEFAULT_PATH \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *
stele_build__arg_value(struct build *b, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < b->o->nbuild_args; i++) {
		const char *a = b->o->build_args[i];

		if (!strncmp(a, name, n) && a[n] == '=')
			return a + n + 1;
	}
	return NULL;
}

/* The image config's "config" with Docker's defaults filled in. */
static json_t *
final_config(struct stage *s)
{
	json_t *c = json_deep_copy(s->config), *env, *v;
	size_t i;
	int has_path = 0;

	env = stele_json_member(c, "Env", JSON_ARRAY);
	json_array_foreach(env, i, v)
		if (json_string_value(v) &&
		    !strncmp(json_string_value(v), "PATH=", 5))
			has_path = 1;
	if (!has_path)
		json_array_insert_new(env, 0, json_string(DEFAULT_PATH));
	return c;
}

static const char *
source_annotation(struct build *b)
{
	git_remote *r = NULL;
	static char url[1024];

	/* Only a location that means the same on every machine: a remote
	 * URL, never a local path. */
	if (!b->git)
		return NULL;
	if (strncmp(b->git->uri, "git+file://", 11)) {
		snprintf(url, sizeof(url), "%s", b->git->uri + 4);
		return url;
	}
	if (git_remote_lookup(&r, b->git->repo, "origin") == 0 &&
	    git_remote_url(r) && strncmp(git_remote_url(r), "/", 1) &&
	    strncmp(git_remote_url(r), "file:", 5) &&
	    !strstr(git_remote_url(r), "@")) {
		snprintf(url, sizeof(url), "%s", git_remote_url(r));
		git_remote_free(r);
		return url;
	}
	git_remote_free(r);
	return NULL;
}

static int
put_json(struct build *b, json_t *v, char digest[STELE_DIGEST_STRLEN],
	 uint64_t *size)
{
	struct stele_buf buf = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	int error;

	if ((error = stele_json_emit(&buf, v)) == 0)
		error = stele_txn_put_blob(b->txn, buf.ptr, buf.len, digest);
	*size = buf.len;
	stele_buf_release(&buf);
	return error;
}

int
stele_build__assemble(struct build *b, struct stage *s,
		      struct stele_build_result *out)
{
	char cdig[STELE_DIGEST_STRLEN];
	uint64_t csize, msize;
	json_t *config, *manifest, *ann, *desc = NULL, *stmt = NULL, *l;
	const char *src;
	const char *name = b->o->output->name ? b->o->output->name
		: b->o->output->tag           ? b->o->output->tag
					      : "image";
	size_t i;
	int error;

	config = json_pack("{s:s,s:s,s:o,s:s,s:O,s:{s:s,s:O}}", "architecture",
			   stele_oci_arch(), "os", "linux", "config",
			   final_config(s), "created", b->created, "history",
			   s->history, "rootfs", "type", "layers", "diff_ids",
			   s->diff_ids);
	if (s->author)
		json_object_set_new(config, "author", json_string(s->author));
	if ((error = put_json(b, config, cdig, &csize)) < 0)
		goto out;
	ann = json_pack("{s:s}", "org.opencontainers.image.created",
			b->created);
	if ((src = source_annotation(b)))
		json_object_set_new(ann, "org.opencontainers.image.source",
				    json_string(src));
	if (b->git)
		json_object_set_new(ann, "org.opencontainers.image.revision",
				    json_string(b->git->commit));
	if (s->base_digest)
		json_object_set_new(ann, "org.opencontainers.image.base.digest",
				    json_string(s->base_digest));
	manifest = json_pack("{s:i,s:s,s:o,s:O,s:o}", "schemaVersion", 2,
			     "mediaType", STELE_MT_MANIFEST, "config",
			     stele_descriptor(STELE_MT_CONFIG, cdig, csize),
			     "layers", s->layers, "annotations", ann);
	error = put_json(b, manifest, out->digest, &msize);
	json_decref(manifest);
	if (error < 0)
		goto out;
	desc = stele_descriptor(STELE_MT_MANIFEST, out->digest, msize);
	if ((error = stele_txn_index_add(b->txn, b->o->output->refname, desc)) <
	    0)
		goto out;
	json_array_foreach(s->prov_layers, i, l)
		json_array_append_new(
			b->prov.layers,
			stele_build__prov_record(
				b, l,
				json_incref(json_object_get(l, "inputs"))));
	stmt = stele_prov_statement(&b->prov, name, out->digest,
				    b->o->builder_id
					    ? b->o->builder_id
					    : "https://stele.dev/builder/local",
				    b->o->version ? b->o->version : "unknown");
	if (!stmt) {
		error = stele_error_set(
			"cannot build the provenance statement");
		goto out;
	}
	error = stele_prov_store(out->provenance, b->txn, stmt, desc);
out:
	json_decref(stmt);
	json_decref(desc);
	json_decref(config);
	return error;
}

static int
read_recipe(struct build *b, struct stele_buf *text)
{
	const char *f = b->o->recipe;
	int error;

	if (b->git) {
		b->recipe_path = stele_xstrdup(f ? f : "Dockerfile");
		error = stele_context_read(text, b->ctx, b->recipe_path);
	} else {
		b->recipe_path = f
			? stele_xstrdup(f)
			: stele_path_join(b->o->context, "Dockerfile");
		error = stele_fs_read(text, b->recipe_path);
	}
	if (error == STELE_ENOTFOUND && b->git)
		return stele_error_setc(
			error,
			"cannot read recipe '%s': not in %s at %s (with a git context, -f names a file in the repository)",
			b->recipe_path, b->git->uri, b->git->commit);
	if (error < 0)
		return stele_error_prefix(error, "cannot read recipe '%s'",
					  b->recipe_path);
	stele_digest_bytes(b->recipe_digest, text->ptr ? text->ptr : "",
			   text->len);
	return 0;
}

static int
build_setup(struct build *b)
{
	struct stele_buf text = STELE_BUF_INIT(RECIPE_MAX);
	const char *ctx = b->o->context;
	char *shown, *settings;
	int64_t fallback = 0;
	int error;

	if (b->o->lock) {
		struct stele_buf lb = STELE_BUF_INIT(1 << 20);

		error = stele_fs_read(&lb, b->o->lock);
		if (error == 0)
			error = stele_json_parse(&b->lock, lb.ptr, lb.len,
						 b->o->lock);
		else if (error == STELE_ENOTFOUND && !b->o->locked)
			error = 0;
		stele_buf_release(&lb);
		if (error < 0)
			goto out;
		if (!b->lock)
			b->lock = json_object();
		stele_json_member(b->lock, "images", JSON_OBJECT);
		stele_json_member(b->lock, "git", JSON_OBJECT);
	}
	if (stele_git_is_spec(ctx)) {
		if ((error = stele_build__git_open(b, &b->git, ctx)) < 0 ||
		    (error = stele_context_open_git(&b->ctx, b->git)) < 0)
			goto out;
		fallback = b->git->commit_time;
		stele_build__progress(b, "context %s at %s", b->git->uri,
				      b->git->commit);
	} else if ((error = stele_context_open_dir(&b->ctx, ctx)) < 0) {
		goto out;
	}
	b->epoch = b->o->has_epoch ? b->o->epoch : fallback;
	stele_time_format(b->created, b->epoch);
	if ((error = read_recipe(b, &text)) < 0 ||
	    (error = stele_recipe_parse(&b->recipe, b->recipe_path,
					text.ptr ? text.ptr : "", text.len)) <
		    0)
		goto out;
	if (b->recipe->syntax)
		stele_build__progress(
			b,
			"warning: %s:%d: the syntax directive '%s' "
			"is not run: stele reads the recipe itself, "
			"as Dockerfile syntax 1",
			b->recipe->path, b->recipe->syntax_line,
			b->recipe->syntax);
	if (!b->o->dirs || !b->o->dirs->cache) {
		b->cache = NULL;
	} else if ((error = stele_cache_open(&b->cache, b->o->dirs->cache)) <
		   0) {
		/* Without a cache the build still works, only slower. */
		stele_build__progress(b,
				      "warning: %s; building without a cache",
				      stele_error_last());
		b->cache = NULL;
	}
	if ((error = stele_fs_mkdtemp(&b->tmp,
				      b->o->dirs ? b->o->dirs->tmp : NULL,
				      "stele-build")) < 0 ||
	    (error = stele_oci_open(&b->oci, b->o->output->dir, 1)) < 0 ||
	    (error = stele_txn_begin(&b->txn, b->oci)) < 0)
		goto out;
	/* Provenance: what the build was asked to do. */
	shown = b->git ? stele_xstrdup(b->git->uri) : stele_xstrdup("dir:.");
	json_object_set_new(b->prov.external, "source",
			    json_pack("{s:s,s:s?,s:s?}", "uri", shown, "ref",
				      b->git ? b->git->ref : NULL,
				      "resolvedRef",
				      b->git ? b->git->full_ref : NULL));
	free(shown);
	json_object_set_new(b->prov.external, "recipe",
			    json_pack("{s:s,s:{s:s}}", "path", b->recipe_path,
				      "digest", "sha256",
				      b->recipe_digest + 7));
	if (b->o->target)
		json_object_set_new(b->prov.external, "target",
				    json_string(b->o->target));
	json_object_set_new(b->prov.internal, "sourceDateEpoch",
			    json_integer(b->epoch));
	settings = stele_compression_settings(b->lopts.compression,
					      b->lopts.level);
	json_object_set_new(
		b->prov.internal, "compression",
		json_pack("{s:s,s:s,s:i,s:s}", "mediaTypeSuffix",
			  stele_compression_suffix(b->lopts.compression),
			  "library",
			  stele_compression_lib(b->lopts.compression), "level",
			  stele_compression_level(b->lopts.compression,
						  b->lopts.level),
			  "settings", settings));
	free(settings);
	json_object_set_new(b->prov.internal, "tar",
			    json_string(archive_version_string()));
	if (b->git)
		stele_prov_dep(&b->prov, b->git->uri,
			       json_pack("{s:s,s:s}", "gitCommit",
					 b->git->commit, "gitTree",
					 b->git->tree));
out:
	stele_buf_release(&text);
	return error;
}

int
stele_build(struct stele_build_result *out, const struct stele_build_opts *o)
{
	struct build b;
	json_t *args;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.o = o;
	b.progress = o->progress;
	b.progress_payload = o->progress_payload;
	b.global_args = json_object();
	b.used_args = json_object();
	b.pulled = json_object();
	b.lopts.compression = o->compression;
	b.lopts.level = o->compression_level;
	b.lopts.limits = o->limits;
	stele_prov_init(&b.prov);
	if ((error = build_setup(&b)) < 0)
		goto out;
	b.lopts.read = stele_context_src_read;
	b.lopts.read_payload = b.ctx;
	for (i = 0;
	     i < b.recipe->ninstrs && b.recipe->instrs[i].kind == STELE_I_ARG;
	     i++) {
		const struct stele_instr *in = &b.recipe->instrs[i];
		size_t j;

		for (j = 0; j < in->npairs && !error; j++) {
			const char *given =
				stele_build__arg_value(&b, in->pairs[j].key);
			char *v = NULL;

			if (!given && in->pairs[j].value)
				error = stele_build__expand(&v, &b, NULL, in,
							    in->pairs[j].value);
			json_object_set_new(b.global_args, in->pairs[j].key,
					    given       ? json_string(given)
						    : v ? json_string(v)
							: json_null());
			free(v);
		}
		if (error)
			goto out;
	}
	if ((error = stele_build__plan_stages(&b, o->target)) < 0)
		goto out;
	for (i = 0; i <= b.final; i++)
		if ((error = stele_build__run_stage(&b, b.stages[i])) < 0)
			goto out;
	args = json_object();
	for (i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i], *eq = strchr(a, '=');
		char *k = eq ? stele_xstrndup(a, (size_t)(eq - a))
			     : stele_xstrdup(a);
		const char *v = stele_build__arg_value(&b, k);

		json_object_set_new(args, k, json_string(v ? v : ""));
		if (!json_object_get(b.used_args, k) &&
		    !json_object_get(b.global_args, k))
			stele_build__progress(
				&b,
				"warning: build argument '%s' was not consumed",
				k);
		free(k);
	}
	json_object_set_new(b.prov.external, "buildArgs", args);
	if ((error = stele_build__assemble(&b, b.stages[b.final], out)) < 0 ||
	    (error = stele_txn_commit(b.txn)) < 0)
		goto out;
	if (b.lock && !o->locked) {
		struct stele_buf lb = STELE_BUF_INIT(1 << 20);

		/* The lock is written only after the image is committed. */
		if ((error = stele_json_emit(&lb, b.lock)) == 0 &&
		    (error = stele_buf_putc(&lb, '\n')) == 0)
			error = stele_fs_write_atomic(o->lock, lb.ptr, lb.len,
						      0644);
		stele_buf_release(&lb);
		if (error < 0)
			goto out;
	}
	if (o->ncache_from == 1)
		stele_build__progress(
			&b,
			"%zu step%s from the cache (%zu from %s), "
			"%zu built",
			b.cache_hits, b.cache_hits == 1 ? "" : "s",
			b.cache_from_hits, o->cache_from[0]->name,
			b.cache_misses);
	else if (o->ncache_from)
		stele_build__progress(
			&b,
			"%zu step%s from the cache (%zu from "
			"%zu registry caches), %zu built",
			b.cache_hits, b.cache_hits == 1 ? "" : "s",
			b.cache_from_hits, o->ncache_from, b.cache_misses);
	else
		stele_build__progress(
			&b, "%zu step%s from the cache, %zu built",
			b.cache_hits, b.cache_hits == 1 ? "" : "s",
			b.cache_misses);
	out->cache_hits = b.cache_hits;
	out->cache_from_hits = b.cache_from_hits;
	out->built = b.cache_misses;
out:
	stele_build__free(&b);
	return error;
}
