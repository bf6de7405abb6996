#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/provenance.h"
#include "oci/digest.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * The strict reader of what builder/provenance.c writes.  Each object is
 * checked against the list of fields the writer emits: required ones must
 * be there with their type, optional ones may be, nothing else may.
 */

#define MAX_STEP_DEPTH 64 /* nested COPY --from records */
#define WHERE_MAX 256 /* a field's path, as errors name it */

/* A field's path for errors (truncated if it must be). */
static void __attribute__((format(printf, 2, 3)))
at(char out[WHERE_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, WHERE_MAX, fmt, ap);
	va_end(ap);
}

enum ftype { F_STR, F_STR_NULL, F_INT, F_BOOL, F_OBJ, F_ARR };

struct field {
	const char *name;
	enum ftype type;
	int required;
};

static const char *
type_name(enum ftype t)
{
	static const char *const names[] = { "a string",   "a string or null",
					     "an integer", "a boolean",
					     "an object",  "an array" };

	return names[t];
}

static int
type_ok(const json_t *v, enum ftype t)
{
	switch (t) {
	case F_STR: return json_is_string(v);
	case F_STR_NULL: return json_is_string(v) || json_is_null(v);
	case F_INT: return json_is_integer(v);
	case F_BOOL: return json_is_boolean(v);
	case F_OBJ: return json_is_object(v);
	case F_ARR: return json_is_array(v);
	}
	return 0;
}

/* Check `obj` (at `where`) against `fields` (NULL-terminated). */
static int
check_obj(const json_t *obj, const char *where, const struct field *fields)
{
	const struct field *f;
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return stele_error_setc(
			STELE_EINVALID,
			"provenance: %s is missing or not an object", where);
	json_object_foreach((json_t *)obj, k, v) {
		for (f = fields; f->name && strcmp(f->name, k); f++)
			;
		if (!f->name)
			return stele_error_setc(
				STELE_EINVALID,
				"provenance: unknown field '%s' in %s", k,
				where);
		if (!type_ok(v, f->type))
			return stele_error_setc(STELE_EINVALID,
						"provenance: %s.%s is not %s",
						where, k, type_name(f->type));
	}
	for (f = fields; f->name; f++)
		if (f->required && !json_object_get(obj, f->name))
			return stele_error_setc(STELE_EINVALID,
						"provenance: %s has no '%s'",
						where, f->name);
	return 0;
}

static int
check_sha256(const json_t *digest, const char *where)
{
	static const struct field f[] = { { "sha256", F_STR, 1 },
					  { NULL, 0, 0 } };
	const char *h;
	size_t i;
	int error;

	if ((error = check_obj(digest, where, f)) < 0)
		return error;
	h = stele_json_str(digest, "sha256");
	for (i = 0; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		      (h[i] >= 'a' && h[i] <= 'f')))
			break;
	if (i != 64 || h[i])
		return stele_error_setc(
			STELE_EINVALID,
			"provenance: %s.sha256 is not a SHA-256 in hex", where);
	return 0;
}

/* ---- layer records and their inputs ---- */

/* What a COPY read: a file record, inline or a line of a file list. */
static const struct field file_f[] = { { "kind", F_STR, 1 },
				       { "path", F_STR, 1 },
				       { "dest", F_STR, 1 },
				       { "digest", F_OBJ, 1 },
				       { NULL, 0, 0 } };

static int check_record(struct stele_prov_record *out, json_t *rec,
			const char *where, int depth);

/*
 * A RUN --mount record: cache, tmpfs and secret by type, target and id; a
 * bind mount by where it reads (from context, stage or image, and which),
 * the path, whether it was read-only and the digest of the mounted tree.
 */
static int
check_mount(json_t *m, const char *where, const struct field *mount_f,
	    const struct field *bind_f)
{
	static const struct field stage_f[] = { { "name", F_STR, 0 },
						{ "index", F_INT, 1 },
						{ NULL, 0, 0 } };
	static const struct field image_f[] = { { "name", F_STR, 1 },
						{ "digest", F_STR, 1 },
						{ NULL, 0, 0 } };
	const char *type = stele_json_str(m, "type"), *from;
	char sub[WHERE_MAX];
	int error, stage, image;

	if (!type || strcmp(type, "bind")) {
		if ((error = check_obj(m, where, mount_f)) < 0)
			return error;
		type = stele_json_str(m, "type");
		if (strcmp(type, "cache") && strcmp(type, "tmpfs") &&
		    strcmp(type, "secret"))
			return stele_error_setc(
				STELE_EINVALID,
				"provenance: "
				"%s.type is '%s' (want bind, cache, tmpfs or secret)",
				where, type);
		return 0;
	}
	if ((error = check_obj(m, where, bind_f)) < 0)
		return error;
	from = stele_json_str(m, "from");
	stage = !strcmp(from, "stage");
	image = !strcmp(from, "image");
	if (!stage && !image && strcmp(from, "context"))
		return stele_error_setc(STELE_EINVALID,
					"provenance: %s.from is "
					"'%s' (want context, stage or image)",
					where, from);
	if (!stage != !json_object_get(m, "stage") ||
	    !image != !json_object_get(m, "image"))
		return stele_error_setc(
			STELE_EINVALID,
			"provenance: %s names "
			"a stage or an image that its from ('%s') does not",
			where, from);
	at(sub, "%s.digest", where);
	if ((error = check_sha256(json_object_get(m, "digest"), sub)) < 0)
		return error;
	at(sub, "%s.%s", where, from);
	if (stage)
		return check_obj(json_object_get(m, "stage"), sub, stage_f);
	if (image)
		return check_obj(json_object_get(m, "image"), sub, image_f);
	return 0;
}

static int
check_input(json_t *in, const char *where, int depth)
{
	static const struct field base_f[] = { { "image", F_STR, 1 },
					       { "digest", F_STR, 1 },
					       { NULL, 0, 0 } };
	static const struct field image_f[] = { { "kind", F_STR, 1 },
						{ "image", F_STR, 1 },
						{ "digest", F_STR, 1 },
						{ NULL, 0, 0 } };
	static const struct field stage_f[] = {
		{ "kind", F_STR, 1 },  { "stage", F_STR_NULL, 0 },
		{ "index", F_INT, 1 }, { "diffIDs", F_ARR, 1 },
		{ "steps", F_ARR, 1 }, { NULL, 0, 0 }
	};
	static const struct field files_f[] = {
		{ "kind", F_STR, 1 },   { "mediaType", F_STR, 1 },
		{ "count", F_INT, 1 },  { "size", F_INT, 1 },
		{ "digest", F_OBJ, 1 }, { NULL, 0, 0 }
	};
	static const struct field archive_f[] = { { "kind", F_STR, 1 },
						  { "path", F_STR, 1 },
						  { "digest", F_OBJ, 1 },
						  { NULL, 0, 0 } };
	static const struct field heredoc_f[] = { { "kind", F_STR, 1 },
						  { "name", F_STR, 1 },
						  { "dest", F_STR, 1 },
						  { "digest", F_OBJ, 1 },
						  { NULL, 0, 0 } };
	static const struct field download_f[] = { { "kind", F_STR, 1 },
						   { "uri", F_STR, 1 },
						   { "dest", F_STR, 1 },
						   { "digest", F_OBJ, 1 },
						   { NULL, 0, 0 } };
	static const struct field git_f[] = { { "kind", F_STR, 1 },
					      { "uri", F_STR, 1 },
					      { "ref", F_STR_NULL, 0 },
					      { "digest", F_OBJ, 1 },
					      { NULL, 0, 0 } };
	static const struct field gitdig_f[] = { { "gitCommit", F_STR, 1 },
						 { "gitTree", F_STR, 1 },
						 { NULL, 0, 0 } };
	static const struct field run_f[] = {
		{ "kind", F_STR, 1 },     { "argv", F_ARR, 1 },
		{ "runtime", F_STR, 1 },  { "network", F_STR, 1 },
		{ "overlay", F_BOOL, 1 }, { "baseDiffIDs", F_ARR, 1 },
		{ "mounts", F_ARR, 0 },   { NULL, 0, 0 }
	};
	static const struct field mount_f[] = { { "type", F_STR, 1 },
						{ "target", F_STR, 0 },
						{ "id", F_STR, 0 },
						{ NULL, 0, 0 } };
	static const struct field bind_f[] = { { "type", F_STR, 1 },
					       { "target", F_STR, 1 },
					       { "from", F_STR, 1 },
					       { "path", F_STR, 1 },
					       { "readonly", F_BOOL, 1 },
					       { "digest", F_OBJ, 1 },
					       { "stage", F_OBJ, 0 },
					       { "image", F_OBJ, 0 },
					       { NULL, 0, 0 } };
	const char *kind = stele_json_str(in, "kind");
	char sub[WHERE_MAX];
	json_t *s;
	size_t i;
	int error;

	if (!json_is_object(in))
		return stele_error_setc(STELE_EINVALID,
					"provenance: %s is not an object",
					where);
	if (!json_object_get(in, "kind"))
		return check_obj(in, where, base_f);
	if (!kind)
		return stele_error_setc(STELE_EINVALID,
					"provenance: %s.kind is not a string",
					where);
	if (!strcmp(kind, "image"))
		return check_obj(in, where, image_f);
	if (!strcmp(kind, "files")) {
		if ((error = check_obj(in, where, files_f)) < 0)
			return error;
		if (strcmp(stele_json_str(in, "mediaType"),
			   STELE_MT_FILELIST) ||
		    stele_json_int(in, "count") < 0 ||
		    stele_json_int(in, "size") < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"provenance: %s is not a file list (mediaType "
				"%s, count and size not negative)",
				where, STELE_MT_FILELIST);
		at(sub, "%s.digest", where);
		return check_sha256(json_object_get(in, "digest"), sub);
	}
	if (!strcmp(kind, "file") || !strcmp(kind, "archive") ||
	    !strcmp(kind, "heredoc") || !strcmp(kind, "download")) {
		if ((error = check_obj(in, where,
				       *kind == 'f'           ? file_f
					       : *kind == 'a' ? archive_f
					       : *kind == 'h' ? heredoc_f
							      : download_f)) <
		    0)
			return error;
		at(sub, "%s.digest", where);
		return check_sha256(json_object_get(in, "digest"), sub);
	}
	if (!strcmp(kind, "git")) {
		if ((error = check_obj(in, where, git_f)) < 0)
			return error;
		at(sub, "%s.digest", where);
		return check_obj(json_object_get(in, "digest"), sub, gitdig_f);
	}
	if (!strcmp(kind, "run")) {
		const char *net;

		if ((error = check_obj(in, where, run_f)) < 0)
			return error;
		net = stele_json_str(in, "network");
		if (strcmp(net, "none") && strcmp(net, "host"))
			return stele_error_setc(
				STELE_EINVALID,
				"provenance: %s.network is '%s' (want none or host)",
				where, net);
		json_array_foreach(json_object_get(in, "mounts"), i, s) {
			at(sub, "%s.mounts[%zu]", where, i);
			if ((error = check_mount(s, sub, mount_f, bind_f)) < 0)
				return error;
		}
		return 0;
	}
	if (!strcmp(kind, "stage")) {
		if ((error = check_obj(in, where, stage_f)) < 0)
			return error;
		if (depth >= MAX_STEP_DEPTH)
			return stele_error_setc(
				STELE_EINVALID,
				"provenance: %s nests stages more than %d deep",
				where, MAX_STEP_DEPTH);
		json_array_foreach(json_object_get(in, "steps"), i, s) {
			struct stele_prov_record r;

			at(sub, "%s.steps[%zu]", where, i);
			if ((error = check_record(&r, s, sub, depth + 1)) < 0)
				return error;
		}
		return 0;
	}
	return stele_error_setc(STELE_EINVALID,
				"provenance: %s has an unknown kind '%s'",
				where, kind);
}

static int
check_record(struct stele_prov_record *out, json_t *rec, const char *where,
	     int depth)
{
	static const struct field rec_f[] = { { "name", F_STR, 1 },
					      { "mediaType", F_STR, 1 },
					      { "digest", F_OBJ, 1 },
					      { "annotations", F_OBJ, 1 },
					      { NULL, 0, 0 } };
	static const struct field ann_f[] = { { "diffID", F_STR, 1 },
					      { "size", F_INT, 1 },
					      { "base", F_BOOL, 1 },
					      { "stage", F_STR, 0 },
					      { "recipe", F_STR, 0 },
					      { "line", F_INT, 0 },
					      { "instruction", F_STR, 0 },
					      { "inputs", F_ARR, 1 },
					      { NULL, 0, 0 } };
	json_t *ann, *in;
	char sub[WHERE_MAX];
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = check_obj(rec, where, rec_f)) < 0)
		return error;
	at(sub, "%s.digest", where);
	if ((error = check_sha256(json_object_get(rec, "digest"), sub)) < 0)
		return error;
	ann = json_object_get(rec, "annotations");
	at(sub, "%s.annotations", where);
	if ((error = check_obj(ann, sub, ann_f)) < 0)
		return error;
	if (strcmp(stele_json_str(rec, "name"), "layer"))
		return stele_error_setc(
			STELE_EINVALID,
			"provenance: %s.name is '%s' (want layer)", where,
			stele_json_str(rec, "name"));
	json_array_foreach(json_object_get(ann, "inputs"), i, in) {
		at(sub, "%s.inputs[%zu]", where, i);
		if ((error = check_input(in, sub, depth)) < 0)
			return error;
	}
	out->media_type = stele_json_str(rec, "mediaType");
	out->diff_id = stele_json_str(ann, "diffID");
	out->size = (uint64_t)stele_json_int(ann, "size");
	out->base = json_is_true(json_object_get(ann, "base"));
	out->stage = stele_json_str(ann, "stage");
	out->recipe = stele_json_str(ann, "recipe");
	out->line = (int)stele_json_int(ann, "line");
	out->instruction = stele_json_str(ann, "instruction");
	out->inputs = json_object_get(ann, "inputs");
	out->annotations = ann;
	return 0;
}

/* ---- the statement ---- */

static int
read_stele(struct stele_prov_doc *d, json_t *bd, json_t *rd)
{
	static const struct field bd_f[] = { { "buildType", F_STR, 1 },
					     { "externalParameters", F_OBJ, 1 },
					     { "internalParameters", F_OBJ, 1 },
					     { "resolvedDependencies", F_ARR,
					       1 },
					     { NULL, 0, 0 } };
	static const struct field ext_f[] = { { "source", F_OBJ, 1 },
					      { "recipe", F_OBJ, 1 },
					      { "buildArgs", F_OBJ, 1 },
					      { "target", F_STR, 0 },
					      { NULL, 0, 0 } };
	static const struct field import_f[] = { { "import", F_OBJ, 1 },
						 { NULL, 0, 0 } };
	static const struct field imp_f[] = { { "entries", F_STR, 1 },
					      { "count", F_INT, 1 },
					      { NULL, 0, 0 } };
	static const struct field src_f[] = { { "uri", F_STR, 1 },
					      { "ref", F_STR_NULL, 0 },
					      { "resolvedRef", F_STR_NULL, 0 },
					      { NULL, 0, 0 } };
	static const struct field recipe_f[] = { { "path", F_STR, 1 },
						 { "digest", F_OBJ, 1 },
						 { NULL, 0, 0 } };
	static const struct field int_f[] = { { "sourceDateEpoch", F_INT, 1 },
					      { "compression", F_OBJ, 0 },
					      { "tar", F_STR, 0 },
					      { "hermetic", F_BOOL, 0 },
					      { NULL, 0, 0 } };
	static const struct field comp_f[] = { { "mediaTypeSuffix", F_STR, 1 },
					       { "library", F_STR, 1 },
					       { "level", F_INT, 0 },
					       { "settings", F_STR, 0 },
					       { NULL, 0, 0 } };
	static const struct field dep_f[] = { { "uri", F_STR, 1 },
					      { "name", F_STR, 0 },
					      { "digest", F_OBJ, 1 },
					      { NULL, 0, 0 } };
	static const struct field rd_f[] = { { "builder", F_OBJ, 1 },
					     { "metadata", F_OBJ, 1 },
					     { "byproducts", F_ARR, 1 },
					     { NULL, 0, 0 } };
	static const struct field builder_f[] = { { "id", F_STR, 1 },
						  { "version", F_OBJ, 1 },
						  { NULL, 0, 0 } };
	static const struct field meta_f[] = { { "startedOn", F_STR, 1 },
					       { "finishedOn", F_STR, 1 },
					       { NULL, 0, 0 } };
	json_t *ext, *in, *v, *b;
	const char *k;
	char where[WHERE_MAX];
	size_t i;
	int error;

	if ((error = check_obj(bd, "predicate.buildDefinition", bd_f)) < 0)
		return error;
	ext = json_object_get(bd, "externalParameters");
	in = json_object_get(bd, "internalParameters");
	if (json_object_get(ext, "import")) {
		d->import = 1;
		if ((error = check_obj(ext, "externalParameters", import_f)) <
			    0 ||
		    (error = check_obj(json_object_get(ext, "import"),
				       "externalParameters.import", imp_f)) < 0)
			return error;
	} else {
		if ((error = check_obj(ext, "externalParameters", ext_f)) < 0 ||
		    (error = check_obj(json_object_get(ext, "source"),
				       "externalParameters.source", src_f)) <
			    0 ||
		    (error = check_obj(json_object_get(ext, "recipe"),
				       "externalParameters.recipe", recipe_f)) <
			    0 ||
		    (error = check_sha256(
			     json_object_get(json_object_get(ext, "recipe"),
					     "digest"),
			     "externalParameters.recipe.digest")) < 0)
			return error;
		json_object_foreach(json_object_get(ext, "buildArgs"), k, v)
			if (!json_is_string(v))
				return stele_error_setc(
					STELE_EINVALID,
					"provenance: buildArgs.%s is not a string",
					k);
		d->source_uri =
			stele_json_str(json_object_get(ext, "source"), "uri");
		d->source_ref =
			stele_json_str(json_object_get(ext, "source"), "ref");
		d->source_resolved_ref = stele_json_str(
			json_object_get(ext, "source"), "resolvedRef");
		d->recipe_path =
			stele_json_str(json_object_get(ext, "recipe"), "path");
		d->recipe_digest = stele_json_str(
			json_object_get(json_object_get(ext, "recipe"),
					"digest"),
			"sha256");
		d->target = stele_json_str(ext, "target");
		d->build_args = json_object_get(ext, "buildArgs");
	}
	if ((error = check_obj(in, "internalParameters", int_f)) < 0 ||
	    (json_object_get(in, "compression") &&
	     (error = check_obj(json_object_get(in, "compression"),
				"internalParameters.compression", comp_f)) < 0))
		return error;
	d->epoch = stele_json_int(in, "sourceDateEpoch");
	v = json_object_get(in, "compression");
	d->compression_suffix = stele_json_str(v, "mediaTypeSuffix");
	d->compression_library = stele_json_str(v, "library");
	d->compression_level = (int)stele_json_int(v, "level");
	d->compression_settings = stele_json_str(v, "settings");
	d->deps = json_object_get(bd, "resolvedDependencies");
	json_array_foreach(d->deps, i, v) {
		at(where, "resolvedDependencies[%zu]", i);
		if ((error = check_obj(v, where, dep_f)) < 0)
			return error;
	}
	if ((error = check_obj(rd, "predicate.runDetails", rd_f)) < 0 ||
	    (error = check_obj(json_object_get(rd, "builder"),
			       "runDetails.builder", builder_f)) < 0 ||
	    (error = check_obj(json_object_get(rd, "metadata"),
			       "runDetails.metadata", meta_f)) < 0)
		return error;
	d->started_on =
		stele_json_str(json_object_get(rd, "metadata"), "startedOn");
	d->finished_on =
		stele_json_str(json_object_get(rd, "metadata"), "finishedOn");
	b = json_object_get(rd, "byproducts");
	d->nrecords = json_array_size(b);
	d->records = stele_xcalloc(d->nrecords + 1, sizeof(*d->records));
	json_array_foreach(b, i, v) {
		at(where, "byproducts[%zu]", i);
		if ((error = check_record(&d->records[i], v, where, 0)) < 0)
			return error;
		d->records[i].digest =
			stele_json_str(json_object_get(v, "digest"), "sha256");
	}
	return 0;
}

/* Takes the reference to `st`. */
static int
doc_from_json(struct stele_prov_doc **out, json_t *st)
{
	static const struct field st_f[] = { { "_type", F_STR, 1 },
					     { "subject", F_ARR, 1 },
					     { "predicateType", F_STR, 1 },
					     { "predicate", F_OBJ, 1 },
					     { NULL, 0, 0 } };
	static const struct field subj_f[] = { { "name", F_STR, 1 },
					       { "digest", F_OBJ, 1 },
					       { NULL, 0, 0 } };
	struct stele_prov_doc *d = stele_xcalloc(1, sizeof(*d));
	json_t *pred, *bd, *rd, *subj;
	const char *t;
	int error;

	*out = NULL;
	d->statement = st;
	/* The statement envelope: in-toto v1, one subject, SLSA v1. */
	if (!json_is_object(st) || !(t = stele_json_str(st, "_type")) ||
	    strcmp(t, STELE_STATEMENT_V1)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"provenance: not an in-toto v1 statement (_type)");
		goto out;
	}
	if (!(t = stele_json_str(st, "predicateType")) ||
	    strcmp(t, STELE_PREDICATE_SLSA1)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"provenance: predicateType is not SLSA v1");
		goto out;
	}
	subj = json_object_get(st, "subject");
	if (!json_is_array(subj) || json_array_size(subj) != 1) {
		error = stele_error_setc(
			STELE_EINVALID,
			"provenance: subject must name exactly one image");
		goto out;
	}
	if ((error = check_obj(json_array_get(subj, 0), "subject[0]", subj_f)) <
		    0 ||
	    (error = check_sha256(
		     json_object_get(json_array_get(subj, 0), "digest"),
		     "subject[0].digest")) < 0)
		goto out;
	d->subject_name = stele_json_str(json_array_get(subj, 0), "name");
	snprintf(d->subject_digest, sizeof(d->subject_digest), "sha256:%s",
		 stele_json_str(
			 json_object_get(json_array_get(subj, 0), "digest"),
			 "sha256"));
	pred = json_object_get(st, "predicate");
	bd = json_object_get(pred, "buildDefinition");
	rd = json_object_get(pred, "runDetails");
	d->build_type = stele_json_str(bd, "buildType");
	d->builder_id = stele_json_str(json_object_get(rd, "builder"), "id");
	if (!d->build_type || !d->builder_id) {
		error = stele_error_setc(
			STELE_EINVALID,
			"provenance: no %s (SLSA v1 requires it)",
			!d->build_type ? "buildDefinition.buildType"
				       : "runDetails.builder.id");
		goto out;
	}
	if (strcmp(d->build_type, STELE_BUILD_TYPE)) {
		/* SLSA v1's own optional times, when they are strings. */
		d->started_on = stele_json_str(json_object_get(rd, "metadata"),
					       "startedOn");
		d->finished_on = stele_json_str(json_object_get(rd, "metadata"),
						"finishedOn");
		error = 0;
		goto out;
	}
	d->stele = 1;
	if ((error = check_obj(st, "the statement", st_f)) < 0)
		goto out;
	{
		static const struct field pred_f[] = {
			{ "buildDefinition", F_OBJ, 1 },
			{ "runDetails", F_OBJ, 1 },
			{ NULL, 0, 0 }
		};

		if ((error = check_obj(pred, "predicate", pred_f)) < 0)
			goto out;
	}
	error = read_stele(d, bd, rd);
out:
	if (error < 0) {
		stele_prov_doc_free(d);
		return error;
	}
	*out = d;
	return 0;
}

int
stele_prov_parse(struct stele_prov_doc **out, const void *data, size_t len,
		 const char *what)
{
	json_t *st = NULL;
	int error;

	*out = NULL;
	if ((error = stele_json_parse(&st, data, len, what)) < 0)
		return error;
	if ((error = doc_from_json(out, st)) < 0)
		stele_error_prefix(error, "%s", what);
	return error;
}

int
stele_prov_load_doc(struct stele_prov_doc **out, const struct stele_oci *oci,
		    const char *subject_digest)
{
	json_t *st = NULL;
	int error;

	*out = NULL;
	if ((error = stele_prov_load(&st, oci, subject_digest)) < 0)
		return error;
	if ((error = doc_from_json(out, st)) < 0)
		stele_error_prefix(error, "the provenance of %s",
				   subject_digest);
	return error;
}

void
stele_prov_doc_free(struct stele_prov_doc *d)
{
	if (!d)
		return;
	json_decref(d->statement);
	free(d->records);
	free(d);
}

const struct stele_prov_record *
stele_prov_record_of(const struct stele_prov_doc *d, const char *layer_digest)
{
	size_t i;

	if (!layer_digest || strncmp(layer_digest, "sha256:", 7))
		return NULL;
	for (i = 0; i < d->nrecords; i++)
		if (!strcmp(d->records[i].digest, layer_digest + 7))
			return &d->records[i];
	return NULL;
}

/* ---- hermeticity ---- */

static int
steps_hermetic(json_t *inputs, const char *where, char **why, int depth)
{
	json_t *in, *s;
	size_t i, j;

	json_array_foreach(inputs, i, in) {
		const char *kind = stele_json_str(in, "kind");

		if (kind && !strcmp(kind, "run") &&
		    strcmp(stele_json_str(in, "network"), "none")) {
			*why = stele_xasprintf("%s ran with --network=%s",
					       where,
					       stele_json_str(in, "network"));
			return 0;
		}
		if (!kind || strcmp(kind, "stage") || depth >= MAX_STEP_DEPTH)
			continue;
		json_array_foreach(json_object_get(in, "steps"), j, s) {
			json_t *ann = json_object_get(s, "annotations");
			char *sub = stele_xasprintf(
				"stage '%s' line %lld (%s), copied by %s",
				stele_json_str(ann, "stage")
					? stele_json_str(ann, "stage")
					: "?",
				(long long)stele_json_int(ann, "line"),
				stele_json_str(ann, "instruction")
					? stele_json_str(ann, "instruction")
					: "?",
				where);
			int ok = steps_hermetic(json_object_get(ann, "inputs"),
						sub, why, depth + 1);

			free(sub);
			if (!ok)
				return 0;
		}
	}
	return 1;
}

int
stele_prov_hermetic(const struct stele_prov_doc *d, char **why)
{
	size_t i;

	*why = NULL;
	if (!d->stele) {
		*why = stele_xasprintf(
			"the provenance is from builder '%s' (buildType "
			"%s), which records no steps: hermeticity cannot be shown",
			d->builder_id, d->build_type);
		return 0;
	}
	for (i = 0; i < d->nrecords; i++) {
		const struct stele_prov_record *r = &d->records[i];
		char *where =
			stele_xasprintf("line %d (%s)", r->line,
					r->instruction ? r->instruction : "?");
		int ok = steps_hermetic(r->inputs, where, why, 0);

		free(where);
		if (!ok)
			return 0;
	}
	return 1;
}

/* ---- file lists ---- */

/* One line of a file list: parsed strictly, an inline file record. */
static int
filelist_line(json_t **out, const char *line, size_t len, const char *where)
{
	char sub[WHERE_MAX];
	const char *kind;
	int error;

	if ((error = stele_json_parse(out, line, len, where)) < 0)
		return error;
	kind = stele_json_str(*out, "kind");
	if (!json_is_object(*out) || !kind || strcmp(kind, "file"))
		return stele_error_setc(STELE_EINVALID,
					"provenance: %s is not a file record",
					where);
	if ((error = check_obj(*out, where, file_f)) < 0)
		return error;
	at(sub, "%s.digest", where);
	return check_sha256(json_object_get(*out, "digest"), sub);
}

/* Check blob `fd` against `digest` and `size`: the whole of it, first. */
static int
filelist_check(int fd, const char *digest, uint64_t size)
{
	char got[STELE_DIGEST_STRLEN];
	uint64_t n;
	int error;

	if ((error = stele_digest_fd(got, &n, fd, digest)) < 0)
		return error;
	if (n != size)
		return stele_error_setc(
			STELE_EVERIFY,
			"file list %s holds %llu bytes, the provenance records "
			"%llu",
			digest, (unsigned long long)n,
			(unsigned long long)size);
	if (strcmp(got, digest))
		return stele_error_setc(
			STELE_EVERIFY,
			"file list %s does not match its digest (%s)", digest,
			got);
	return lseek(fd, 0, SEEK_SET) < 0
		? stele_error_errno("cannot read file list %s", digest)
		: 0;
}

static int
filelist_each(const struct stele_oci *oci, const json_t *in,
	      stele_prov_file_fn fn, void *payload)
{
	char digest[STELE_DIGEST_STRLEN], where[WHERE_MAX];
	json_int_t count = stele_json_int(in, "count");
	json_int_t seen = 0;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int fd = -1, error;

	snprintf(digest, sizeof(digest), "sha256:%s",
		 stele_json_str(json_object_get(in, "digest"), "sha256"));
	if ((error = stele_oci_blob_open(&fd, oci, digest)) < 0 ||
	    (error = filelist_check(fd, digest,
				    (uint64_t)stele_json_int(in, "size"))) < 0)
		goto out;
	if (!(f = fdopen(fd, "r"))) {
		error = stele_error_errno("cannot read file list %s", digest);
		goto out;
	}
	fd = -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *rec = NULL;

		at(where, "file list %s line %lld", digest,
		   (long long)seen + 1);
		if ((size_t)n > STELE_FILELIST_LINE_MAX ||
		    line[n - 1] != '\n') {
			error = stele_error_setc(
				STELE_EINVALID,
				"provenance: %s is longer than %u bytes or has "
				"no newline",
				where, STELE_FILELIST_LINE_MAX);
			goto out;
		}
		if (++seen > count)
			break;
		if ((error = filelist_line(&rec, line, (size_t)n - 1, where)) ==
		    0)
			error = fn(payload, rec);
		json_decref(rec);
		if (error)
			goto out;
	}
	if (seen != count)
		error = stele_error_setc(
			STELE_EINVALID,
			"provenance: file list %s holds %s%lld records, the "
			"record says %lld",
			digest, seen > count ? "more than " : "",
			(long long)(seen > count ? count : seen),
			(long long)count);
out:
	free(line);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return error;
}

int
stele_prov_files_each(const struct stele_oci *oci, const json_t *inputs,
		      stele_prov_file_fn fn, void *payload)
{
	const json_t *in;
	size_t i;
	int error;

	json_array_foreach(inputs, i, in) {
		const char *kind = stele_json_str(in, "kind");

		if (!kind)
			continue;
		if (!strcmp(kind, "file"))
			error = fn(payload, in);
		else if (!strcmp(kind, "files"))
			error = filelist_each(oci, in, fn, payload);
		else
			continue;
		if (error)
			return error;
	}
	return 0;
}
