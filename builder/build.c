#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/build_priv.h"
#include "builder/ignore.h"
#include "builder/values.h"
#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/root.h"
#include "util/json.h"

void
stele_build__progress(struct build *b, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!b->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->progress(b->progress_payload, msg);
}

int
stele_build__instr_error(struct build *b, const struct stele_instr *in,
			 int code)
{
	return stele_error_prefix(code, "%s:%d: %s", b->recipe->path, in->line,
				  in->keyword);
}

/* ---- stages ---- */

static void
stage_free(struct stage *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->label);
	json_decref(s->config);
	json_decref(s->history);
	json_decref(s->layers);
	json_decref(s->diff_ids);
	json_decref(s->args);
	json_decref(s->shell);
	json_decref(s->prov_layers);
	free(s->rootfs);
	free(s->base_digest);
	free(s->author);
	free(s);
}

/* Lookup for expansion: ENV first, then ARGs declared in the stage. */
static const char *
stage_lookup(void *payload, const char *name)
{
	struct stage *s = payload;
	json_t *env = json_object_get(s->config, "Env"), *v;
	size_t i, n = strlen(name);

	json_array_foreach(env, i, v) {
		const char *e = json_string_value(v);

		if (e && !strncmp(e, name, n) && e[n] == '=')
			return e + n + 1;
	}
	return stele_json_str(s->args, name);
}

static const char *
global_lookup(void *payload, const char *name)
{
	struct build *b = payload;

	return stele_json_str(b->global_args, name);
}

int
stele_build__expand(char **out, struct build *b, struct stage *s,
		    const struct stele_instr *in, const char *word)
{
	int error = stele_recipe_expand(out, word, b->recipe->escape,
					s ? stage_lookup : global_lookup,
					s ? (void *)s : (void *)b);

	if (error < 0)
		return stele_build__instr_error(b, in, error);
	return 0;
}

int
stele_build__expand_raw(char **out, struct build *b, struct stage *s,
			const struct stele_instr *in, const char *text)
{
	int error = stele_recipe_expand_raw(out, text, stage_lookup, s);

	if (error < 0)
		return stele_build__instr_error(b, in, error);
	return 0;
}

static void
stage_set_env(struct stage *s, const char *key, const char *value)
{
	json_t *env = json_object_get(s->config, "Env"), *v;
	size_t i, n = strlen(key);
	char *kv = stele_xasprintf("%s=%s", key, value);

	if (!env) {
		env = json_array();
		json_object_set_new(s->config, "Env", env);
	}
	json_array_foreach(env, i, v) {
		const char *e = json_string_value(v);

		if (e && !strncmp(e, key, n) && e[n] == '=') {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

void
stele_build__stage_history(struct build *b, struct stage *s,
			   const char *created_by, int empty)
{
	json_t *h = json_pack("{s:s,s:s}", "created", b->created, "created_by",
			      created_by);

	if (empty)
		json_object_set_new(h, "empty_layer", json_true());
	json_array_append_new(s->history, h);
}

/* Apply a layer of the transaction to a root filesystem, named by digest. */
static int
extract_layer(struct build *b, const char *digest, const char *root)
{
	char *path = stele_txn_blob_path(b->txn, digest);
	int fd = open(path, O_RDONLY | O_CLOEXEC), error;

	if (fd < 0) {
		error = stele_error_errno("cannot open layer %s", digest);
	} else {
		error = stele_extract_fd(fd, root, 0, digest, &b->o->limits);
		close(fd);
	}
	free(path);
	return error;
}

json_t *
stele_build__prov_record(struct build *b, const json_t *l, json_t *inputs)
{
	return stele_prov_record_new(
		stele_json_str(l, "mediaType"), stele_json_str(l, "digest"),
		(uint64_t)stele_json_int(l, "size"),
		stele_json_str(l, "diffID"), stele_json_str(l, "stage"),
		b->recipe_path, (int)stele_json_int(l, "line"),
		stele_json_str(l, "instruction"), inputs,
		json_is_true(json_object_get(l, "base")));
}

/* A stage's layer records in the provenance's form; new reference. */
static json_t *
prov_records(struct build *b, json_t *prov_layers)
{
	json_t *out = json_array(), *l;
	size_t i;

	json_array_foreach(prov_layers, i, l)
		json_array_append_new(
			out,
			stele_build__prov_record(
				b, l,
				json_deep_copy(json_object_get(l, "inputs"))));
	return out;
}

/* Record a new layer: image order, provenance and the stage's rootfs. */
int
stele_build__stage_add_layer(struct build *b, struct stage *s,
			     const struct stele_instr *in,
			     const struct stele_layer_result *r, json_t *inputs)
{
	json_t *v;
	size_t i;

	/*
	 * A COPY --from of a stage brings that stage's records along, so the
	 * provenance holds every step that contributed to the image.  Taken
	 * from the stage as it is in this build, never from the cache: a
	 * cached copy must not carry another build's network modes.
	 */
	json_array_foreach(inputs, i, v) {
		const char *kind = stele_json_str(v, "kind");
		json_int_t idx = stele_json_int(v, "index");

		if (kind && !strcmp(kind, "stage") && idx >= 0 &&
		    (size_t)idx < b->nstages && b->stages[idx])
			json_object_set_new(
				v, "steps",
				prov_records(b, b->stages[idx]->prov_layers));
	}
	json_array_append_new(
		s->layers, stele_descriptor(r->media_type, r->digest, r->size));
	json_array_append_new(s->diff_ids, json_string(r->diff_id));
	json_array_append_new(
		s->prov_layers,
		json_pack("{s:s,s:s,s:I,s:s,s:s,s:i,s:s,s:o,s:b}", "mediaType",
			  r->media_type, "digest", r->digest, "size",
			  (json_int_t)r->size, "diffID", r->diff_id, "stage",
			  s->label, "line", in->line, "instruction", in->text,
			  "inputs", inputs ? inputs : json_array(), "base", 0));
	stele_build__stage_history(b, s, in->text, 0);
	return 0;
}

/*
 * Bring the stage's root filesystem up to date with its layers.  Done only
 * when something reads the filesystem, so a final layer is never extracted
 * for nothing.
 */
int
stele_build__stage_sync(struct build *b, struct stage *s)
{
	size_t n = json_array_size(s->layers);
	int error;

	for (; s->applied < n; s->applied++) {
		json_t *l = json_array_get(s->layers, s->applied);

		if ((error = extract_layer(b, stele_json_str(l, "digest"),
					   s->rootfs)) < 0)
			return error;
	}
	return 0;
}

static struct stage *
find_stage(struct build *b, const char *name, size_t before)
{
	size_t i;
	char *end;
	unsigned long n;

	for (i = 0; i < before; i++)
		if (b->stages[i]->name && !strcasecmp(b->stages[i]->name, name))
			return b->stages[i];
	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name && !*end && !errno && n < before)
		return b->stages[n];
	return NULL;
}

static int
do_from(struct build *b, struct stage *s, const struct stele_instr *in)
{
	struct stage *parent;
	char *image = NULL;
	int error;

	if ((error = stele_build__expand(&image, b, NULL, in, in->args[0])) < 0)
		return error;
	if (!strcmp(image, "scratch")) {
		error = 0;
	} else if ((parent = find_stage(b, image, s->index))) {
		json_decref(s->config);
		s->config = json_deep_copy(parent->config);
		json_decref(s->history);
		s->history = json_deep_copy(parent->history);
		json_decref(s->layers);
		s->layers = json_deep_copy(parent->layers);
		json_decref(s->diff_ids);
		s->diff_ids = json_deep_copy(parent->diff_ids);
		json_decref(s->prov_layers);
		s->prov_layers = json_deep_copy(parent->prov_layers);
		json_decref(s->shell);
		s->shell = json_deep_copy(parent->shell);
		s->base_digest = parent->base_digest
			? stele_xstrdup(parent->base_digest)
			: NULL;
		s->author =
			parent->author ? stele_xstrdup(parent->author) : NULL;
	} else {
		error = stele_build__from_image(b, s, in, image);
	}
	free(image);
	return error;
}

/* ---- the build cache ---- */

json_t *
stele_build__step_key(struct build *b, struct stage *s,
		      const struct stele_instr *in)
{
	json_t *key = json_pack(
		"{s:i,s:s,s:O,s:O,s:O,s:O,s:s,s:I,s:s,s:s,s:i}", "v", 1, "kind",
		in->keyword, "parent", s->diff_ids, "config", s->config, "args",
		s->args, "shell", s->shell, "instruction", in->text, "epoch",
		(json_int_t)b->epoch, "compression",
		stele_compression_suffix(b->lopts.compression), "library",
		stele_compression_lib(b->lopts.compression), "level",
		stele_compression_level(b->lopts.compression, b->lopts.level));
	json_t *docs;
	size_t i;

	/* The instruction's text leaves its heredocs' contents out. */
	if (in->nheredocs) {
		docs = json_array();
		for (i = 0; i < in->nheredocs; i++)
			json_array_append_new(
				docs,
				json_pack("[s,s]", in->heredocs[i].name,
					  in->heredocs[i].content));
		json_object_set_new(key, "heredocs", docs);
	}
	return key;
}

/* What --cache-to exports: every step's key and entry. */
static void
cache_record(struct build *b, const char *hex, json_t *e)
{
	if (b->o->cache_record)
		json_object_set(b->o->cache_record, hex, e);
}

/*
 * The entry of `hex` from the build cache, else from the first of
 * o->cache_from that has it (then kept in the build cache too, so the next
 * build here needs no registry; *remote names that source).  1 on a hit
 * (*out set, its layer staged), 0 on a miss, <0 on error.
 */
static int
cache_lookup(json_t **out, const struct stele_cache_source **remote,
	     struct build *b, const char *hex)
{
	const struct stele_cache_source *from;
	size_t i;
	int error;

	*out = NULL;
	*remote = NULL;
	if (b->o->no_cache)
		return 0;
	if (b->cache &&
	    (error = stele_cache_get(out, b->cache, hex, b->txn)) !=
		    STELE_ENOTFOUND)
		return error < 0 ? error : 1;
	for (i = 0; i < b->o->ncache_from; i++) {
		from = b->o->cache_from[i];
		if ((error = from->get(from->payload, out, hex, b->txn)) ==
		    STELE_ENOTFOUND)
			continue;
		if (error < 0) {
			/* Never a failed build: the step is built instead. */
			stele_build__progress(
				b, "  warning: %s: %s; building the step",
				from->name, stele_error_last());
			return 0;
		}
		*remote = from;
		if (b->cache &&
		    stele_cache_put(b->cache, hex, *out, b->txn) < 0)
			stele_build__progress(b, "  warning: %s",
					      stele_error_last());
		return 1;
	}
	return 0;
}

int
stele_build__step_cache_hit(struct build *b, struct stage *s,
			    const struct stele_instr *in, json_t *key,
			    char hex[65])
{
	struct stele_layer_result r;
	const struct stele_cache_source *remote;
	const char *where;
	json_t *e = NULL, *l;
	int error;

	if ((error = stele_cache_key(hex, key)) < 0)
		return stele_build__instr_error(b, in, error);
	if ((error = cache_lookup(&e, &remote, b, hex)) <= 0)
		return error < 0 ? stele_build__instr_error(b, in, error) : 0;
	where = remote ? remote->name : "cache";
	b->cache_hits++;
	b->cache_from_hits += remote != NULL;
	cache_record(b, hex, e);
	if (json_is_true(json_object_get(e, "empty"))) {
		stele_build__progress(b, "  %s hit: no layer", where);
		stele_build__stage_history(b, s, in->text, 1);
		json_decref(e);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	l = json_object_get(e, "layer");
	snprintf(r.digest, sizeof(r.digest), "%s", stele_json_str(l, "digest"));
	snprintf(r.diff_id, sizeof(r.diff_id), "%s",
		 stele_json_str(e, "diffID") ? stele_json_str(e, "diffID")
					     : "");
	snprintf(r.media_type, sizeof(r.media_type), "%s",
		 stele_json_str(l, "mediaType") ? stele_json_str(l, "mediaType")
						: "");
	r.size = (uint64_t)stele_json_int(l, "size");
	stele_build__progress(b, "  %s hit: layer %s", where, r.digest);
	error = stele_build__stage_add_layer(
		b, s, in, &r, json_incref(json_object_get(e, "inputs")));
	json_decref(e);
	return error < 0 ? error : 1;
}

static void
step_cache_store_empty(struct build *b, const char *hex)
{
	json_t *e = json_pack("{s:b}", "empty", 1);

	b->cache_misses++;
	cache_record(b, hex, e);
	if (b->cache && stele_cache_put(b->cache, hex, e, b->txn) < 0)
		stele_build__progress(b, "  warning: %s", stele_error_last());
	json_decref(e);
}

void
stele_build__step_cache_store(struct build *b, struct stage *s, const char *hex)
{
	json_t *l = json_array_get(s->layers, json_array_size(s->layers) - 1);
	json_t *p = json_array_get(s->prov_layers,
				   json_array_size(s->prov_layers) - 1);
	json_t *e;

	b->cache_misses++;
	if (!l || (!b->cache && !b->o->cache_record))
		return;
	e = json_pack(
		"{s:O,s:O,s:O}", "layer", l, "diffID",
		json_array_get(s->diff_ids, json_array_size(s->diff_ids) - 1),
		"inputs", json_object_get(p, "inputs"));
	cache_record(b, hex, e);
	/* A cache that cannot be written is not a failed build. */
	if (b->cache && stele_cache_put(b->cache, hex, e, b->txn) < 0)
		stele_build__progress(b, "  warning: %s", stele_error_last());
	json_decref(e);
}

/* ---- metadata instructions ---- */

static int
do_arg(struct build *b, struct stage *s, const struct stele_instr *in)
{
	size_t i;
	int error = 0;

	for (i = 0; i < in->npairs && !error; i++) {
		const char *name = in->pairs[i].key;
		const char *given = stele_build__arg_value(b, name);
		char *val = NULL;

		if (given) {
			val = stele_xstrdup(given);
		} else if (in->pairs[i].value) {
			error = stele_build__expand(&val, b, s, in,
						    in->pairs[i].value);
		} else if (s && json_object_get(b->global_args, name)) {
			val = stele_xstrdup(
				stele_json_str(b->global_args, name));
		}
		if (error)
			break;
		json_object_set_new(s ? s->args : b->global_args, name,
				    val ? json_string(val) : json_null());
		if (s && val)
			json_object_set_new(s->used_args, name,
					    json_string(val));
		free(val);
	}
	return error;
}

static int
do_pairs(struct build *b, struct stage *s, const struct stele_instr *in,
	 int env)
{
	json_t *labels = NULL;
	char **keys, **vals;
	size_t i;
	int error = 0;

	keys = stele_xcalloc(in->npairs, sizeof(char *));
	vals = stele_xcalloc(in->npairs, sizeof(char *));
	/* All values see the environment from before this instruction. */
	for (i = 0; i < in->npairs && !error; i++)
		if ((error = stele_build__expand(&keys[i], b, s, in,
						 in->pairs[i].key)) == 0)
			error = stele_build__expand(
				&vals[i], b, s, in,
				in->pairs[i].value ? in->pairs[i].value : "");
	if (!error && !env) {
		labels = stele_json_member(s->config, "Labels", JSON_OBJECT);
	}
	for (i = 0; i < in->npairs && !error; i++) {
		if (!*keys[i]) {
			error = stele_build__instr_error(
				b, in,
				stele_error_setc(STELE_EINVALID, "empty name"));
		} else if (env) {
			stage_set_env(s, keys[i], vals[i]);
		} else {
			json_object_set_new(labels, keys[i],
					    json_string(vals[i]));
		}
	}
	for (i = 0; i < in->npairs; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	return error;
}

static json_t *
command_form(struct stage *s, const struct stele_instr *in)
{
	json_t *cmd;
	size_t i;

	if (in->json_form) {
		cmd = json_array();
		for (i = 0; i < in->nargs; i++)
			json_array_append_new(cmd, json_string(in->args[i]));
		return cmd;
	}
	cmd = json_deep_copy(s->shell);
	json_array_append_new(cmd, json_string(in->raw));
	return cmd;
}

/*
 * BuildKit's dispatchExpose: each word expanded (and split again on
 * whitespace), then read as [[IP:]HOSTPORT:]PORT[-END][/PROTO]; a range
 * exposes every port in it.
 */
static int
do_expose(struct build *b, struct stage *s, const struct stele_instr *in)
{
	json_t *ports =
		stele_json_member(s->config, "ExposedPorts", JSON_OBJECT);
	size_t i, j, n, total = 0;
	int error = 0;

	for (i = 0; i < in->nargs && !error; i++) {
		char *w = NULL, *tok, *save = NULL, **list;
		const char *why;

		if ((error = stele_build__expand(&w, b, s, in, in->args[i])) <
		    0)
			break;
		for (tok = strtok_r(w, " \t\n\r\v\f", &save); tok && !error;
		     tok = strtok_r(NULL, " \t\n\r\v\f", &save)) {
			if (stele_value_ports(&list, &n, tok, &why) < 0) {
				error = stele_build__instr_error(
					b, in,
					stele_error_setc(
						STELE_EINVALID,
						"invalid port '%s': %s", tok,
						why));
				break;
			}
			total += n;
			for (j = 0; j < n; j++) {
				json_object_set_new(ports, list[j],
						    json_object());
				free(list[j]);
			}
			free(list);
			/* Ranges are cheap to write and costly to expand. */
			if (total > (1u << 18))
				error = stele_build__instr_error(
					b, in,
					stele_error_setc(STELE_EINVALID,
							 "more than %u ports",
							 1u << 18));
		}
		free(w);
	}
	return error;
}

/* BuildKit's dispatchVolume: each path expanded, none empty. */
static int
do_volume(struct build *b, struct stage *s, const struct stele_instr *in)
{
	json_t *vols = stele_json_member(s->config, "Volumes", JSON_OBJECT);
	size_t i;
	int error = 0;

	for (i = 0; i < in->nargs && !error; i++) {
		char *v = NULL;

		if ((error = stele_build__expand(&v, b, s, in, in->args[i])) <
		    0)
			break;
		if (!*v)
			error = stele_build__instr_error(
				b, in,
				stele_error_setc(STELE_EINVALID,
						 "VOLUME specified can not be "
						 "an empty string"));
		else
			json_object_set_new(vols, v, json_object());
		free(v);
	}
	return error;
}

/*
 * The config's Healthcheck as Docker writes it: Test, then the durations
 * in nanoseconds and Retries, each left out when zero.
 */
static json_t *
healthcheck(const struct stele_instr *in)
{
	static const char *const keys[] = { "Interval", "Timeout",
					    "StartPeriod", "StartInterval",
					    "Retries" };
	json_t *h = json_object(), *test = json_array();
	size_t i;

	if (!strcmp(in->args[0], "NONE")) {
		json_array_append_new(test, json_string("NONE"));
	} else {
		json_array_append_new(
			test, json_string(in->json_form ? "CMD" : "CMD-SHELL"));
		for (i = 1; i < in->nargs; i++)
			json_array_append_new(test, json_string(in->args[i]));
	}
	json_object_set_new(h, "Test", test);
	for (i = 0; i < STELE_HEALTH_NFIELDS; i++)
		if (in->health[i])
			json_object_set_new(
				h, keys[i],
				json_integer((json_int_t)in->health[i]));
	return h;
}

/*
 * What the config records for an ONBUILD trigger (BuildKit's Expression):
 * the trigger's line, then each heredoc's content and terminator, so that
 * the child reads it back whole.
 */
static char *
onbuild_text(const struct stele_instr *t)
{
	struct stele_buf buf = STELE_BUF_INIT((size_t)-1);
	size_t i;

	if (stele_buf_puts(&buf, t->text) < 0)
		abort();
	for (i = 0; i < t->nheredocs; i++)
		if (stele_buf_printf(&buf, "\n%s%s", t->heredocs[i].content,
				     t->heredocs[i].name) < 0)
			abort();
	return stele_buf_detach(&buf);
}

static int
do_meta(struct build *b, struct stage *s, const struct stele_instr *in)
{
	char *v = NULL;
	int error = 0;

	switch (in->kind) {
	case STELE_I_ENV: error = do_pairs(b, s, in, 1); break;
	case STELE_I_LABEL: error = do_pairs(b, s, in, 0); break;
	case STELE_I_USER:
		if ((error = stele_build__expand(&v, b, s, in, in->args[0])) ==
		    0)
			json_object_set_new(s->config, "User", json_string(v));
		break;
	case STELE_I_EXPOSE: error = do_expose(b, s, in); break;
	case STELE_I_VOLUME: error = do_volume(b, s, in); break;
	case STELE_I_HEALTHCHECK:
		json_object_set_new(s->config, "Healthcheck", healthcheck(in));
		break;
	case STELE_I_MAINTAINER:
		free(s->author);
		s->author = stele_xstrdup(in->args[0]);
		break;
	case STELE_I_ONBUILD: {
		char *t = onbuild_text(in->sub);
		json_t *js = json_string(t);

		free(t);
		if (!js)
			return stele_build__instr_error(
				b, in,
				stele_error_setc(
					STELE_EINVALID,
					"the trigger is not UTF-8 text"));
		json_array_append_new(
			stele_json_member(s->config, "OnBuild", JSON_ARRAY),
			js);
		/* BuildKit writes no history entry for ONBUILD. */
		return 0;
	}
	case STELE_I_STOPSIGNAL:
		if ((error = stele_build__expand(&v, b, s, in, in->args[0])) <
		    0)
			break;
		if (!stele_value_signal(v))
			error = stele_build__instr_error(
				b, in,
				stele_error_setc(STELE_EINVALID,
						 "invalid signal '%s'", v));
		else
			json_object_set_new(s->config, "StopSignal",
					    json_string(v));
		break;
	case STELE_I_SHELL:
		json_decref(s->shell);
		s->shell = command_form(s, in);
		break;
	case STELE_I_ENTRYPOINT:
		json_object_set_new(s->config, "Entrypoint",
				    command_form(s, in));
		if (!s->cmd_set)
			json_object_del(s->config, "Cmd");
		break;
	case STELE_I_CMD:
		json_object_set_new(s->config, "Cmd", command_form(s, in));
		s->cmd_set = 1;
		break;
	default:
		error = stele_error_set("internal: not a metadata instruction");
	}
	free(v);
	if (!error)
		stele_build__stage_history(b, s, in->text, 1);
	return error;
}

static int
do_workdir(struct build *b, struct stage *s, const struct stele_instr *in)
{
	const char *cur = stele_json_str(s->config, "WorkingDir");
	char *w = NULL, *joined, *abs, *host = NULL, hex[65];
	json_t *key;
	size_t before = json_array_size(s->layers);
	int error;

	if ((error = stele_build__expand(&w, b, s, in, in->args[0])) < 0)
		return error;
	joined = w[0] == '/'
		? stele_xstrdup(w)
		: stele_xasprintf("%s/%s", cur && *cur ? cur : "/", w);
	abs = stele_path_clean_abs(joined);
	/* Whether the directory must be made depends on the filesystem:
	 * cached, so a rebuild need not extract it. */
	key = stele_build__step_key(b, s, in);
	json_object_set_new(key, "dir", json_string(abs));
	error = stele_build__step_cache_hit(b, s, in, key, hex);
	json_decref(key);
	json_object_set_new(s->config, "WorkingDir", json_string(abs));
	if (error)
		goto out;
	if ((error = stele_build__stage_sync(b, s)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	/* Whether it exists in the image: links followed inside the rootfs. */
	if ((error = stele_root_host_path(&host, s->rootfs, abs,
					  STELE_ROOT_FOLLOW)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	if (stele_fs_exists(host) || !strcmp(abs, "/"))
		stele_build__stage_history(b, s, in->text, 1);
	else
		error = stele_build__mkdir_layer(b, s, in, abs);
	if (!error && json_array_size(s->layers) > before)
		stele_build__step_cache_store(b, s, hex);
	else if (!error)
		step_cache_store_empty(b, hex);
out:
	error = error < 0 ? error : 0;
	free(host);
	free(abs);
	free(joined);
	free(w);
	return error;
}

/* ---- the build ---- */

static int dispatch(struct build *b, struct stage *s,
		    const struct stele_instr *in);

/*
 * The ONBUILD triggers of the base (an image's config, or an earlier
 * stage's ONBUILD instructions), run right after FROM as BuildKit does,
 * then dropped: they are not passed on to this stage's children.
 */
static int
run_triggers(struct build *b, struct stage *s, const struct stele_instr *from)
{
	json_t *triggers = json_object_get(s->config, "OnBuild"), *t;
	struct stele_recipe *r;
	char kw[32];
	size_t i;
	int error = 0;

	json_incref(triggers);
	json_object_del(s->config, "OnBuild");
	json_array_foreach(triggers, i, t) {
		const char *text = json_string_value(t);

		r = NULL;
		if (!text)
			error = stele_error_setc(
				STELE_EINVALID,
				"ONBUILD "
				"trigger %zu of the base is not a string",
				i);
		else
			error = stele_recipe_parse_trigger(
				&r, "ONBUILD trigger", text, strlen(text));
		if (error < 0) {
			error = stele_build__instr_error(b, from, error);
			break;
		}
		/* Errors name the FROM's line and "ONBUILD RUN" (say). */
		r->instrs[0].line = from->line;
		snprintf(kw, sizeof(kw), "ONBUILD %s", r->instrs[0].keyword);
		r->instrs[0].keyword = kw;
		stele_build__progress(b, "%s:%d: ONBUILD %s", b->recipe->path,
				      from->line, r->instrs[0].text);
		error = dispatch(b, s, &r->instrs[0]);
		stele_recipe_free(r);
		if (error < 0)
			break;
	}
	json_decref(triggers);
	return error;
}

static int
dispatch(struct build *b, struct stage *s, const struct stele_instr *in)
{
	int error;

	switch (in->kind) {
	case STELE_I_FROM:
		if ((error = do_from(b, s, in)) == 0)
			error = run_triggers(b, s, in);
		return error;
	case STELE_I_ARG:
		if ((error = do_arg(b, s, in)) == 0)
			stele_build__stage_history(b, s, in->text, 1);
		return error;
	case STELE_I_WORKDIR: return do_workdir(b, s, in);
	case STELE_I_COPY:
	case STELE_I_ADD: return stele_build__copy(b, s, in);
	case STELE_I_RUN: return stele_build__run(b, s, in);
	default: return do_meta(b, s, in);
	}
}

int
stele_build__run_stage(struct build *b, struct stage *s)
{
	size_t i;
	int error = 0;

	stele_build__progress(b, "stage %zu%s%s", s->index, s->name ? " " : "",
			      s->name ? s->name : "");
	for (i = s->first; i < s->end && !error; i++) {
		const struct stele_instr *in = &b->recipe->instrs[i];

		stele_build__progress(b, "%s:%d: %s", b->recipe->path, in->line,
				      in->text);
		error = dispatch(b, s, in);
	}
	return error;
}

int
stele_build__plan_stages(struct build *b, const char *target)
{
	size_t i, n = 0;
	struct stele_recipe *r = b->recipe;

	for (i = 0; i < r->ninstrs; i++) {
		if (r->instrs[i].kind != STELE_I_FROM)
			continue;
		struct stage *s = stele_xcalloc(1, sizeof(*s));

		s->index = n;
		s->first = i;
		if (r->instrs[i].nargs >= 3)
			s->name = stele_xstrdup(r->instrs[i].args[2]);
		s->label = s->name ? stele_xstrdup(s->name)
				   : stele_xasprintf("%zu", n);
		if (n) {
			b->stages[n - 1]->end = i;
		}
		b->stages =
			stele_xrealloc(b->stages, (n + 1) * sizeof(*b->stages));
		b->stages[n++] = s;
		s->end = r->ninstrs;
	}
	b->nstages = n;
	if (!n)
		return stele_error_setc(STELE_EINVALID,
					"%s: no FROM instruction", r->path);
	b->final = n - 1;
	if (target) {
		struct stage *t = NULL;

		for (i = 0; i < n; i++)
			if (b->stages[i]->name &&
			    !strcasecmp(b->stages[i]->name, target))
				t = b->stages[i];
		if (!t)
			return stele_error_setc(
				STELE_EINVALID,
				"%s: target stage '%s' not found", r->path,
				target);
		b->final = t->index;
	}
	for (i = 0; i < n; i++) {
		struct stage *s = b->stages[i];
		char *dir = stele_xasprintf("%s/stage-%zu", b->tmp, i);

		s->config = json_object();
		s->history = json_array();
		s->layers = json_array();
		s->diff_ids = json_array();
		s->args = json_object();
		s->used_args = b->used_args;
		s->prov_layers = json_array();
		s->shell = json_pack("[s,s]", "/bin/sh", "-c");
		s->rootfs = dir;
		if (mkdir(dir, 0755) < 0)
			return stele_error_errno("cannot create '%s'", dir);
	}
	return 0;
}

void
stele_build__free(struct build *b)
{
	size_t i;

	for (i = 0; i < b->nstages; i++) {
		stage_free(b->stages[i]);
	}
	free(b->stages);
	stele_recipe_free(b->recipe);
	stele_context_free(b->ctx);
	stele_git_source_free(b->git);
	json_decref(b->global_args);
	json_decref(b->used_args);
	stele_txn_free(b->txn);
	stele_oci_free(b->oci);
	stele_prov_release(&b->prov);
	stele_cache_free(b->cache);
	json_decref(b->lock);
	json_decref(b->pulled);
	stele_fs_tmp_free(b->tmp);
	free(b->recipe_path);
}

int
stele_build__git_open(struct build *b, struct stele_git_source **out,
		      const char *spec)
{
	const char *commit =
		stele_json_str(json_object_get(b->lock, "git"), spec);
	const char *hash = strrchr(spec, '#');
	char *pinned = NULL;
	int error;

	if (!commit && b->o->locked)
		return stele_error_setc(
			STELE_EINVALID,
			"git source '%s' is not in the lock file '%s' (--locked)",
			spec, b->o->lock);
	if (commit && hash)
		pinned = stele_xasprintf("%.*s#%s", (int)(hash - spec), spec,
					 commit);
	error = stele_git_source_open(out, pinned ? pinned : spec,
				      b->o->dirs ? b->o->dirs->git_cache
						 : NULL);
	free(pinned);
	if (error < 0)
		return error;
	if (commit && hash) {
		/* Keep the ref as asked in the provenance. */
		free((*out)->ref);
		(*out)->ref = stele_xstrdup(hash + 1);
	}
	if (b->lock)
		json_object_set_new(json_object_get(b->lock, "git"), spec,
				    json_string((*out)->commit));
	return 0;
}
