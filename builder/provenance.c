#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "builder/provenance.h"
#include "oci/image.h"
#include "oci/referrers.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/json.h"
#include "util/time.h"

/* The OCI empty descriptor's content: "{}". */
#define EMPTY_JSON "{}"

static json_t *referrer_statement(const struct stele_oci *oci,
				  const char *manifest);

void
stele_prov_init(struct stele_prov *p)
{
	p->external = json_object();
	p->internal = json_object();
	p->deps = json_array();
	p->layers = json_array();
	stele_time_format(p->started, (int64_t)time(NULL));
}

void
stele_prov_release(struct stele_prov *p)
{
	json_decref(p->external);
	json_decref(p->internal);
	json_decref(p->deps);
	json_decref(p->layers);
	p->external = p->internal = p->deps = p->layers = NULL;
}

void
stele_prov_dep_named(struct stele_prov *p, const char *uri, const char *name,
		     json_t *digest)
{
	json_t *d;
	size_t i;

	json_array_foreach(p->deps, i, d) {
		if (!strcmp(stele_json_str(d, "uri"), uri) &&
		    json_equal(json_object_get(d, "digest"), digest)) {
			json_decref(digest);
			return;
		}
	}
	d = json_pack("{s:s,s:o}", "uri", uri, "digest", digest);
	if (name)
		json_object_set_new(d, "name", json_string(name));
	json_array_append_new(p->deps, d);
}

void
stele_prov_dep(struct stele_prov *p, const char *uri, json_t *digest)
{
	stele_prov_dep_named(p, uri, NULL, digest);
}

json_t *
stele_prov_record_new(const char *media_type, const char *digest, uint64_t size,
		      const char *diff_id, const char *stage,
		      const char *recipe, int line, const char *instruction,
		      json_t *inputs, int base)
{
	json_t *ann = json_pack("{s:s,s:I,s:b}", "diffID", diff_id, "size",
				(json_int_t)size, "base", base);

	if (stage)
		json_object_set_new(ann, "stage", json_string(stage));
	if (recipe) {
		json_object_set_new(ann, "recipe", json_string(recipe));
		json_object_set_new(ann, "line", json_integer(line));
	}
	if (instruction)
		json_object_set_new(ann, "instruction",
				    json_string(instruction));
	json_object_set_new(ann, "inputs", inputs ? inputs : json_array());
	return json_pack("{s:s,s:s,s:{s:s},s:o}", "name", "layer", "mediaType",
			 media_type, "digest", "sha256", digest + 7,
			 "annotations", ann);
}

void
stele_prov_layer(struct stele_prov *p, const char *media_type,
		 const char *digest, uint64_t size, const char *diff_id,
		 const char *stage, const char *recipe, int line,
		 const char *instruction, json_t *inputs, int base)
{
	json_array_append_new(
		p->layers,
		stele_prov_record_new(media_type, digest, size, diff_id, stage,
				      recipe, line, instruction, inputs, base));
}

/* ---- file lists ---- */

struct stele_prov_filelist {
	struct stele_blob_writer *w;
	struct stele_buf line;
	uint64_t count;
};

int
stele_prov_filelist_new(struct stele_prov_filelist **out, struct stele_txn *txn)
{
	struct stele_prov_filelist *fl = stele_xcalloc(1, sizeof(*fl));
	int error;

	*out = NULL;
	/* Room for a record past the limit, which add() then refuses. */
	fl->line =
		(struct stele_buf)STELE_BUF_INIT(8 * STELE_FILELIST_LINE_MAX);
	/* Hashed and written on a thread of its own, which gathers the
	 * lines into large chunks: the build goes on. */
	if ((error = stele_txn_blob_new_async(&fl->w, txn)) < 0) {
		stele_prov_filelist_free(fl);
		return error;
	}
	*out = fl;
	return 0;
}

/*
 * One line, as stele_json_emit writes the record
 * {"kind":"file","path":…,"dest":…,"digest":{"sha256":…}}, without
 * building it: a list may hold millions.
 */
int
stele_prov_filelist_add(struct stele_prov_filelist *fl, const char *path,
			const char *dest, const char *sha256_hex)
{
	int error;

	stele_buf_clear(&fl->line);
	if ((error = stele_buf_puts(&fl->line, "{\"dest\":")) < 0 ||
	    (error = stele_json_put_string(&fl->line, dest)) < 0 ||
	    (error = stele_buf_puts(&fl->line, ",\"digest\":{\"sha256\":\"")) <
		    0 ||
	    (error = stele_buf_puts(&fl->line, sha256_hex)) < 0 ||
	    (error = stele_buf_puts(&fl->line,
				    "\"},\"kind\":\"file\",\"path\":")) < 0 ||
	    (error = stele_json_put_string(&fl->line, path)) < 0 ||
	    (error = stele_buf_puts(&fl->line, "}\n")) < 0)
		return stele_error_prefix(error, "file list");
	if (fl->line.len > STELE_FILELIST_LINE_MAX)
		return stele_error_setc(STELE_EINVALID,
					"file list: the record of '%s' is "
					"longer than %u bytes",
					path, STELE_FILELIST_LINE_MAX);
	if ((error = stele_blob_writer_write(fl->w, fl->line.ptr,
					     fl->line.len)) < 0)
		return error;
	fl->count++;
	return 0;
}

int
stele_prov_filelist_commit(json_t **input, struct stele_prov_filelist *fl)
{
	char digest[STELE_DIGEST_STRLEN];
	uint64_t size = 0;
	int error;

	*input = NULL;
	error = stele_blob_writer_commit(fl->w, digest, &size);
	fl->w = NULL;
	if (error == 0)
		*input = json_pack("{s:s,s:s,s:I,s:I,s:{s:s}}", "kind", "files",
				   "mediaType", STELE_MT_FILELIST, "count",
				   (json_int_t)fl->count, "size",
				   (json_int_t)size, "digest", "sha256",
				   digest + 7);
	stele_prov_filelist_free(fl);
	return error;
}

void
stele_prov_filelist_free(struct stele_prov_filelist *fl)
{
	if (!fl)
		return;
	stele_blob_writer_free(fl->w);
	stele_buf_release(&fl->line);
	free(fl);
}

void
stele_prov_filelists(json_t *set, const json_t *inputs)
{
	const json_t *in, *step;
	size_t i, j;

	json_array_foreach(inputs, i, in) {
		const char *kind = stele_json_str(in, "kind");
		const char *hex =
			stele_json_str(json_object_get(in, "digest"), "sha256");
		char d[STELE_DIGEST_STRLEN];

		if (kind && !strcmp(kind, "files") && hex) {
			snprintf(d, sizeof(d), "sha256:%s", hex);
			json_object_set(set, d, (json_t *)in);
		}
		json_array_foreach(json_object_get(in, "steps"), j, step)
			stele_prov_filelists(
				set,
				json_object_get(
					json_object_get(step, "annotations"),
					"inputs"));
	}
}

json_t *
stele_prov_statement(struct stele_prov *p, const char *name,
		     const char *manifest_digest, const char *builder_id,
		     const char *version)
{
	char finished[32];

	stele_time_format(finished, (int64_t)time(NULL));
	return json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:{s:{s:s,s:O,s:O,s:O},"
			 "s:{s:{s:s,s:{s:s}},s:{s:s,s:s},s:O}}}",
			 "_type", STELE_STATEMENT_V1, "subject", "name", name,
			 "digest", "sha256", manifest_digest + 7,
			 "predicateType", STELE_PREDICATE_SLSA1, "predicate",
			 "buildDefinition", "buildType", STELE_BUILD_TYPE,
			 "externalParameters", p->external,
			 "internalParameters", p->internal,
			 "resolvedDependencies", p->deps, "runDetails",
			 "builder", "id", builder_id, "version", "stele",
			 version, "metadata", "startedOn", p->started,
			 "finishedOn", finished, "byproducts", p->layers);
}

/*
 * Take runDetails.metadata (the build's times) out of a statement and
 * return it (the caller's reference; NULL when there is none).  No copy of
 * the rest: a statement lists every file a layer read, tens of megabytes of
 * JSON for 100,000 files.
 */
static json_t *
detach_times(json_t *statement)
{
	json_t *rd = json_object_get(json_object_get(statement, "predicate"),
				     "runDetails");
	json_t *m = json_object_get(rd, "metadata");

	if (!m)
		return NULL;
	json_incref(m);
	json_object_del(rd, "metadata");
	return m;
}

/* Put back what detach_times took (steals `m`). */
static void
attach_times(json_t *statement, json_t *m)
{
	if (m)
		json_object_set_new(
			json_object_get(json_object_get(statement, "predicate"),
					"runDetails"),
			"metadata", m);
}

/*
 * The referrer of `subject_digest` already in the layout whose statement is
 * this one but for when it ran: building the same image from the same
 * inputs again records nothing new.  1 and its digest when there is one.
 * `statement` is compared without its times, which are put back before
 * this returns.
 */
static int
prov_stored(char digest[STELE_DIGEST_STRLEN], const struct stele_oci *oci,
	    json_t *statement, const char *subject_digest)
{
	json_t *refs = NULL, *times, *r;
	size_t i;
	int found = 0;

	if (!subject_digest ||
	    stele_oci_referrers(&refs, NULL, oci, subject_digest) < 0)
		return 0;
	if (!json_array_size(refs)) {
		json_decref(refs);
		return 0;
	}
	times = detach_times(statement);
	json_array_foreach(refs, i, r) {
		const char *d = stele_json_str(r, "digest");
		json_t *st;

		if (!d || !(st = referrer_statement(oci, d)))
			continue;
		json_decref(detach_times(st));
		found = json_equal(st, statement);
		json_decref(st);
		if (found) {
			snprintf(digest, STELE_DIGEST_STRLEN, "%s", d);
			break;
		}
	}
	attach_times(statement, times);
	json_decref(refs);
	return found;
}

/*
 * The descriptors of the file list blobs a statement's records name, by
 * digest: the provenance referrer's layers after the statement, so that
 * they go wherever it goes (push, pull, copy, gc).  Each must be in the
 * transaction or the layout (staged by the COPY, or with its cache entry).
 */
static int
filelist_layers(json_t **out, struct stele_txn *txn, const json_t *statement)
{
	json_t *set = json_object(), *rec, *v;
	const char *d;
	size_t i;
	int error = 0;

	*out = json_array();
	json_array_foreach(
		json_object_get(
			json_object_get(json_object_get(statement, "predicate"),
					"runDetails"),
			"byproducts"),
		i, rec)
		stele_prov_filelists(
			set,
			json_object_get(json_object_get(rec, "annotations"),
					"inputs"));
	/* In the statement's order (jansson keeps insertion order). */
	json_object_foreach(set, d, v) {
		char *path;
		struct stat st;

		if ((error = stele_txn_hold_blob(txn, d)) == 0)
			error = stele_error_setc(
				STELE_ENOTFOUND,
				"internal: file list %s is not staged", d);
		if (error < 0)
			goto out;
		path = stele_txn_blob_path(txn, d);
		error = stat(path, &st) < 0 ? stele_error_errno("%s", path) : 0;
		free(path);
		if (error < 0)
			goto out;
		json_array_append_new(*out,
				      stele_descriptor(STELE_MT_FILELIST, d,
						       (uint64_t)st.st_size));
	}
	error = 0;
out:
	json_decref(set);
	return error;
}

int
stele_prov_store(char digest[STELE_DIGEST_STRLEN], struct stele_txn *txn,
		 json_t *statement, const json_t *subject)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_STATEMENT_MAX);
	char sdig[STELE_DIGEST_STRLEN], edig[STELE_DIGEST_STRLEN];
	json_t *man = NULL, *desc = NULL, *layers = NULL;
	uint64_t ssize;
	int error;

	if (prov_stored(digest, stele_txn_oci(txn), statement,
			stele_json_str(subject, "digest")))
		return 0;
	if ((error = stele_json_emit(&b, statement)) < 0) {
		error = stele_error_setc(
			STELE_EINVALID,
			"the provenance statement would be larger than %u MiB "
			"(docs/limits.md): it records every file each layer "
			"read",
			STELE_STATEMENT_MAX >> 20);
		goto out;
	}
	if ((error = stele_txn_put_blob(txn, b.ptr, b.len, sdig)) < 0 ||
	    (error = stele_txn_put_blob(txn, EMPTY_JSON, 2, edig)) < 0)
		goto out;
	ssize = b.len;
	if ((error = filelist_layers(&layers, txn, statement)) < 0)
		goto out;
	man = json_pack(
		"{s:i,s:s,s:s,s:o,s:[{s:s,s:s,s:I,s:{s:s}}],s:O,s:{s:s}}",
		"schemaVersion", 2, "mediaType", STELE_MT_MANIFEST,
		"artifactType", STELE_MT_INTOTO, "config",
		stele_descriptor(STELE_MT_EMPTY, edig, 2), "layers",
		"mediaType", STELE_MT_INTOTO, "digest", sdig, "size",
		(json_int_t)ssize, "annotations", STELE_ANN_PREDICATE,
		STELE_PREDICATE_SLSA1, "subject", (json_t *)subject,
		"annotations", STELE_ANN_PREDICATE, STELE_PREDICATE_SLSA1);
	if (man)
		json_array_extend(json_object_get(man, "layers"), layers);
	if (!man) {
		error = stele_error_set("cannot build the provenance manifest");
		goto out;
	}
	stele_buf_clear(&b);
	if ((error = stele_json_emit(&b, man)) < 0 ||
	    (error = stele_txn_put_blob(txn, b.ptr, b.len, digest)) < 0)
		goto out;
	desc = stele_descriptor(STELE_MT_MANIFEST, digest, b.len);
	json_object_set_new(desc, "artifactType", json_string(STELE_MT_INTOTO));
	json_object_set_new(desc, "annotations",
			    json_pack("{s:s,s:s}", STELE_ANN_PREDICATE,
				      STELE_PREDICATE_SLSA1,
				      "dev.stele.subject",
				      stele_json_str(subject, "digest")));
	error = stele_txn_index_add(txn, NULL, desc);
out:
	json_decref(layers);
	json_decref(desc);
	json_decref(man);
	stele_buf_release(&b);
	return error;
}

/* An in-toto artifact manifest's statement, if it is SLSA v1. */
static json_t *
referrer_statement(const struct stele_oci *oci, const char *manifest)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_STATEMENT_MAX);
	json_t *man = NULL, *st = NULL;
	const char *at, *ld, *pt;

	if (stele_oci_json_read(&man, NULL, oci, manifest) < 0)
		goto out;
	at = stele_json_str(man, "artifactType");
	ld = stele_json_str(json_array_get(json_object_get(man, "layers"), 0),
			    "digest");
	if (!at || strcmp(at, STELE_MT_INTOTO) || !ld)
		goto out;
	/* A statement may be larger than a manifest. */
	if (stele_oci_blob_read(&b, oci, ld) < 0 ||
	    stele_json_parse(&st, b.ptr, b.len, ld) < 0)
		goto out;
	pt = stele_json_str(st, "predicateType");
	if (!pt || strcmp(pt, STELE_PREDICATE_SLSA1)) {
		json_decref(st);
		st = NULL;
	}
out:
	stele_buf_release(&b);
	json_decref(man);
	return st;
}

int
stele_prov_load(json_t **out, const struct stele_oci *oci,
		const char *subject_digest)
{
	json_t *refs = NULL, *r;
	size_t i;
	int error;

	*out = NULL;
	if ((error = stele_oci_referrers(&refs, NULL, oci, subject_digest)) < 0)
		return error;
	json_array_foreach(refs, i, r)
		if ((*out = referrer_statement(oci,
					       stele_json_str(r, "digest"))))
			break;
	json_decref(refs);
	if (!*out)
		return stele_error_setc(STELE_ENOTFOUND,
					"image %s has no provenance statement",
					subject_digest);
	return 0;
}
