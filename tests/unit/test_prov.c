#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/provenance.h"
#include "oci/digest.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "tests/unit/unit.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A statement as the builder writes it: two stages, a COPY --from with
 * the stage's steps, a RUN, a base. */
static json_t *
written(void)
{
	struct stele_prov p;
	json_t *st, *step, *inputs, *binds;

	stele_prov_init(&p);
	json_object_set_new(p.external, "source", json_pack("{s:s,s:s,s:s}",
		"uri", "git+file:///src", "ref", "main", "resolvedRef", "refs/heads/main"));
	json_object_set_new(p.external, "recipe", json_pack("{s:s,s:{s:s}}",
		"path", "Dockerfile", "digest", "sha256", H64));
	json_object_set_new(p.external, "buildArgs", json_pack("{s:s}", "A", "1"));
	json_object_set_new(p.internal, "sourceDateEpoch", json_integer(0));
	json_object_set_new(p.internal, "compression", json_pack("{s:s,s:s,s:i,s:s}",
		"mediaTypeSuffix", "+gzip", "library", "zlib 1.2.13", "level", 6,
		"settings", "level 6, 131072-byte blocks"));
	stele_prov_dep(&p, "git+file:///src", json_pack("{s:s,s:s}", "gitCommit",
		"c0", "gitTree", "t0"));
	stele_prov_layer(&p, "application/vnd.oci.image.layer.v1.tar+gzip",
		"sha256:" H64, 10, "sha256:" H64, "1", "Dockerfile", 3, "FROM b",
		json_pack("[{s:s,s:s}]", "image", "b", "digest", "sha256:" H64), 1);
	step = stele_prov_record_new("application/vnd.oci.image.layer.v1.tar+gzip",
		"sha256:" H64, 5, "sha256:" H64, "fetch", "Dockerfile", 2,
		"RUN --network=host x", json_pack("[{s:s,s:[s],s:s,s:s,s:b,s:[],"
		"s:[{s:s,s:s,s:s}]}]",
		"kind", "run", "argv", "x", "runtime", "runc", "network", "host",
		"overlay", 1, "baseDiffIDs", "mounts", "type", "cache", "target",
		"/c", "id", "/c"), 0);
	/* RUN --mount=type=bind from the context, a stage and an image */
	binds = json_pack("[{s:s,s:s,s:s,s:s,s:b,s:{s:s}},"
		"{s:s,s:s,s:s,s:s,s:b,s:{s:s},s:{s:s,s:i}},"
		"{s:s,s:s,s:s,s:s,s:b,s:{s:s},s:{s:s,s:s}}]",
		"type", "bind", "target", "/src", "from", "context", "path", "/",
		"readonly", 1, "digest", "sha256", H64,
		"type", "bind", "target", "/g", "from", "stage", "path", "/gen",
		"readonly", 0, "digest", "sha256", H64, "stage", "name", "gen",
		"index", 0,
		"type", "bind", "target", "/i", "from", "image", "path", "/app",
		"readonly", 1, "digest", "sha256", H64, "image", "name", "oci:i:x",
		"digest", "sha256:" H64);
	json_array_extend(json_object_get(json_array_get(json_object_get(
		json_object_get(step, "annotations"), "inputs"), 0), "mounts"),
		binds);
	json_decref(binds);
	inputs = json_pack("[{s:s,s:s,s:i,s:[],s:[o]},{s:s,s:s,s:s,s:{s:s}},"
		"{s:s,s:s,s:s,s:{s:s}},{s:s,s:s,s:s,s:{s:s}},"
		"{s:s,s:s,s:i,s:i,s:{s:s}}]",
		"kind", "stage", "stage", "fetch", "index", 0, "diffIDs", "steps", step,
		"kind", "file", "path", "got", "dest", "got", "digest", "sha256", H64,
		"kind", "heredoc", "name", "EOF", "dest", "etc/x", "digest", "sha256", H64,
		"kind", "download", "uri", "https://h/x.tgz", "dest", "x.tgz",
		"digest", "sha256", H64,
		"kind", "files", "mediaType", STELE_MT_FILELIST, "count", 600,
		"size", 60000, "digest", "sha256", H64);
	stele_prov_layer(&p, "application/vnd.oci.image.layer.v1.tar+gzip",
		"sha256:" H64, 11, "sha256:" H64, "1", "Dockerfile", 4,
		"COPY --from=fetch /got /got", inputs, 0);
	st = stele_prov_statement(&p, "app", "sha256:" H64, "https://b", "v");
	stele_prov_release(&p);
	return st;
}

static int
parse_json(struct stele_prov_doc **out, json_t *st)
{
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	int rc;

	assert_int_equal(stele_json_emit(&b, st), 0);
	rc = stele_prov_parse(out, b.ptr, b.len, "test");
	stele_buf_release(&b);
	return rc;
}

static void
test_prov_round_trip(void **state)
{
	struct stele_prov_doc *d = NULL;
	json_t *st = written();
	char *why = NULL;

	(void)state;
	if (parse_json(&d, st) < 0)
		fail_msg("%s", stele_error_last());
	assert_true(d->stele);
	assert_string_equal(d->subject_name, "app");
	assert_string_equal(d->subject_digest, "sha256:" H64);
	assert_string_equal(d->source_uri, "git+file:///src");
	assert_string_equal(d->source_resolved_ref, "refs/heads/main");
	assert_string_equal(d->recipe_path, "Dockerfile");
	assert_string_equal(d->compression_suffix, "+gzip");
	assert_string_equal(d->compression_library, "zlib 1.2.13");
	assert_int_equal(d->compression_level, 6);
	assert_string_equal(d->compression_settings, "level 6, 131072-byte blocks");
	assert_int_equal(d->nrecords, 2);
	assert_true(d->records[0].base);
	assert_int_equal(d->records[1].line, 4);
	assert_string_equal(d->records[1].instruction, "COPY --from=fetch /got /got");
	assert_non_null(stele_prov_record_of(d, "sha256:" H64));
	/* The stage's RUN had network: not hermetic, and the reason says where. */
	assert_int_equal(stele_prov_hermetic(d, &why), 0);
	assert_non_null(strstr(why, "stage 'fetch' line 2"));
	free(why);
	stele_prov_doc_free(d);
	json_decref(st);
}

/* Each mutation of a written statement must be refused, naming the field. */
struct mutation {
	const char *path;  /* dot path; numbers index arrays */
	int drop;          /* 1: delete it; 0: set it to `value` */
	const char *value; /* JSON */
	const char *want;  /* in the error */
};

static const struct mutation mutations[] = {
	{ "predicate.buildDefinition.externalParameters.recipe", 1, NULL, "has no 'recipe'" },
	{ "predicate.buildDefinition.externalParameters.recipee", 0, "{}", "unknown field 'recipee'" },
	{ "predicate.buildDefinition.externalParameters.source.uri", 0, "1", "source.uri is not a string" },
	{ "predicate.buildDefinition.internalParameters.sourceDateEpoch", 0, "\"0\"", "is not an integer" },
	{ "predicate.buildDefinition.internalParameters.extra", 0, "1", "unknown field 'extra'" },
	{ "predicate.buildDefinition.internalParameters.compression.level", 0, "\"6\"", "compression.level is not an integer" },
	{ "predicate.buildDefinition.internalParameters.compression.settings", 0, "6", "compression.settings is not a string" },
	{ "predicate.buildDefinition.internalParameters.compression.library", 1, NULL, "has no 'library'" },
	{ "predicate.buildDefinition.internalParameters.compression.threads", 0, "2", "unknown field 'threads'" },
	{ "predicate.buildDefinition.resolvedDependencies.0.uri", 1, NULL, "has no 'uri'" },
	{ "predicate.runDetails.builder.id", 1, NULL, "runDetails.builder.id" },
	{ "predicate.runDetails.byproducts.1.annotations.diffID", 1, NULL, "has no 'diffID'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.kind", 0, "\"mount\"", "unknown kind 'mount'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps", 1, NULL, "has no 'steps'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.network", 0, "\"bridge\"", "want none or host" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.1.digest.sha256", 0, "\"abc\"", "not a SHA-256" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.0.secret", 0, "\"x\"", "unknown field 'secret'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.0.type", 1, NULL, "has no 'type'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.digest", 1, NULL, "has no 'digest'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.digest.sha256", 0, "\"abc\"", "not a SHA-256" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.from", 0, "\"host\"", "is 'host' (want context, stage or image)" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.readonly", 0, "1", "readonly is not a boolean" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.path", 1, NULL, "has no 'path'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.target", 1, NULL, "has no 'target'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.id", 0, "\"x\"", "unknown field 'id'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.1.stage", 0, "{\"index\":0}", "names a stage or an image that its from ('context') does not" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.2.stage", 1, NULL, "names a stage or an image that its from ('stage') does not" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.2.stage.index", 1, NULL, "has no 'index'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.2.stage.name", 0, "1", "name is not a string" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.3.image.digest", 0, "1", "digest is not a string" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.3.image.extra", 0, "1", "unknown field 'extra'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.3.image", 1, NULL, "names a stage or an image that its from ('image') does not" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.0.type", 0, "\"bindx\"", "type is 'bindx' (want bind, cache, tmpfs or secret)" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.0.steps.0.annotations.inputs.0.mounts.0.digest", 0, "{}", "unknown field 'digest'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.2.name", 1, NULL, "has no 'name'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.2.path", 0, "\"x\"", "unknown field 'path'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.3.uri", 0, "1", "uri is not a string" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.3.digest.sha256", 0, "\"abc\"", "not a SHA-256" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.mediaType", 0, "\"application/json\"", "inputs[4] is not a file list" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.count", 0, "\"600\"", "count is not an integer" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.count", 0, "-1", "inputs[4] is not a file list" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.size", 1, NULL, "has no 'size'" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.digest.sha256", 0, "\"abc\"", "not a SHA-256" },
	{ "predicate.runDetails.byproducts.1.annotations.inputs.4.path", 0, "\"x\"", "unknown field 'path'" },
	{ "predicate.runDetails.byproducts.0.digest", 0, "{\"sha512\":\"x\"}", "unknown field 'sha512'" },
	{ "predicate.runDetails.metadata.startedOn", 1, NULL, "has no 'startedOn'" },
	{ "predicate.extra", 0, "1", "unknown field 'extra' in predicate" },
	{ "subject.0.digest.sha256", 1, NULL, "has no 'sha256'" },
	{ "predicateType", 0, "\"https://slsa.dev/provenance/v0.2\"", "not SLSA v1" },
	{ "_type", 0, "\"x\"", "not an in-toto v1 statement" },
};

static void
mutate(json_t *root, const struct mutation *m)
{
	char *path = strdup(m->path), *save = NULL, *tok, *next;
	json_t *cur = root;

	tok = strtok_r(path, ".", &save);
	while ((next = strtok_r(NULL, ".", &save))) {
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) :
		      json_object_get(cur, tok);
		assert_non_null(cur);
		tok = next;
	}
	if (m->drop) {
		if (json_is_array(cur))
			assert_int_equal(json_array_remove(cur, strtoul(tok, NULL, 10)), 0);
		else
			assert_int_equal(json_object_del(cur, tok), 0);
	} else {
		json_error_t e;
		json_t *v = json_loads(m->value, JSON_DECODE_ANY, &e);

		assert_non_null(v);
		if (json_is_array(cur))
			json_array_set_new(cur, strtoul(tok, NULL, 10), v);
		else
			json_object_set_new(cur, tok, v);
	}
	free(path);
}

static void
test_prov_strict(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(mutations); i++) {
		struct stele_prov_doc *d = NULL;
		json_t *st = written();
		int rc;

		mutate(st, &mutations[i]);
		rc = parse_json(&d, st);
		if (rc != STELE_EINVALID)
			fail_msg("%s: accepted (%d)", mutations[i].path, rc);
		if (!strstr(stele_error_last(), mutations[i].want))
			fail_msg("%s: error '%s' lacks '%s'", mutations[i].path,
				 stele_error_last(), mutations[i].want);
		assert_null(d);
		json_decref(st);
	}
}

/* Another builder's statement reads (no stele fields) and claims nothing. */
static void
test_prov_foreign(void **state)
{
	struct stele_prov_doc *d = NULL;
	json_t *st = written();
	char *why = NULL;

	(void)state;
	json_object_set_new(json_object_get(json_object_get(st, "predicate"),
		"buildDefinition"), "buildType", json_string("https://other/v1"));
	json_object_set_new(json_object_get(json_object_get(st, "predicate"),
		"buildDefinition"), "anything", json_true());
	if (parse_json(&d, st) < 0)
		fail_msg("%s", stele_error_last());
	assert_false(d->stele);
	assert_null(d->source_uri);
	assert_int_equal(d->nrecords, 0);
	assert_int_equal(stele_prov_hermetic(d, &why), 0);
	assert_non_null(strstr(why, "hermeticity cannot be shown"));
	free(why);
	stele_prov_doc_free(d);
	json_decref(st);
}

/* ---- file lists ---- */

static int
collect(void *payload, const json_t *file)
{
	json_array_append((json_t *)payload, (json_t *)file);
	return 0;
}

static int
stop_at_two(void *payload, const json_t *file)
{
	(void)file;
	return ++*(int *)payload == 2 ? 7 : 0;
}

/* A file list input for `text`, staged as a blob of `oci`; `count` as
 * the record says. */
static json_t *
list_of(struct stele_oci *oci, const char *text, int count)
{
	char d[STELE_DIGEST_STRLEN];
	struct stele_txn *txn;

	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, text, strlen(text), d));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	return json_pack("[{s:s,s:s,s:i,s:I,s:{s:s}}]", "kind", "files",
			 "mediaType", STELE_MT_FILELIST, "count", count, "size",
			 (json_int_t)strlen(text), "digest", "sha256", d + 7);
}

#define REC(p) "{\"dest\":\"d/" p "\",\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"file\",\"path\":\"" p "\"}\n"

static void
test_prov_filelist(void **state)
{
	static const struct {
		const char *text;
		int count;
		int code;
		const char *want;
	} bad[] = {
		{ REC("a") REC("b"), 3, STELE_EINVALID, "holds 2 records, the record says 3" },
		{ REC("a") REC("b"), 1, STELE_EINVALID, "holds more than 1 records, the record says 1" },
		{ REC("a") "{\"dest\":1}\n", 2, STELE_EINVALID, "line 2 is not a file record" },
		{ REC("a") "not json\n", 2, STELE_EINVALID, "line 2" },
		{ "{\"dest\":\"x\",\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"dir\",\"path\":\"x\"}\n", 1, STELE_EINVALID, "is not a file record" },
		{ "{\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"file\",\"path\":\"x\"}\n", 1, STELE_EINVALID, "has no 'dest'" },
		{ "{\"dest\":\"x\",\"digest\":{\"sha256\":\"ab\"},\"kind\":\"file\",\"path\":\"x\"}\n", 1, STELE_EINVALID, "not a SHA-256" },
		{ "{\"dest\":\"x\",\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"file\",\"mode\":1,\"path\":\"x\"}\n", 1, STELE_EINVALID, "unknown field 'mode'" },
		{ "{\"dest\":\"x\",\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"file\",\"path\":\"x\"}", 1, STELE_EINVALID, "has no newline" },
		{ "{\"dest\":\"x\",\"digest\":{\"sha256\":\"" H64 "\"},\"kind\":\"file\",\"path\":\"x\",\"path\":\"y\"}\n", 1, STELE_EINVALID, "line 1" },
	};
	struct stele_prov_filelist *fl;
	struct stele_oci *oci = NULL;
	struct stele_txn *txn;
	json_t *in, *got, *inputs;
	char *dir = NULL, *path, *long_line;
	size_t i;
	int n = 0;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&dir, getenv("TMPDIR"), "stele-test-prov"));
	assert_ok(stele_oci_open(&oci, dir, 1));

	/* Written, committed, read back in order; inline records too. */
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_prov_filelist_new(&fl, txn));
	assert_ok(stele_prov_filelist_add(fl, "src/a", "app/a", H64));
	assert_ok(stele_prov_filelist_add(fl, "src/\"b\"", "app/b", H64));
	assert_ok(stele_prov_filelist_commit(&in, fl));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_string_equal(stele_json_str(in, "kind"), "files");
	assert_int_equal(json_integer_value(json_object_get(in, "count")), 2);
	inputs = json_pack("[{s:s,s:s,s:s,s:{s:s}},o]", "kind", "file", "path",
			   "one", "dest", "one", "digest", "sha256", H64, in);
	got = json_array();
	assert_ok(stele_prov_files_each(oci, inputs, collect, got));
	assert_int_equal(json_array_size(got), 3);
	assert_string_equal(stele_json_str(json_array_get(got, 0), "path"), "one");
	assert_string_equal(stele_json_str(json_array_get(got, 2), "path"), "src/\"b\"");
	assert_string_equal(stele_json_str(json_array_get(got, 2), "dest"), "app/b");
	json_decref(got);
	/* A nonzero return stops the walk and is returned. */
	assert_int_equal(stele_prov_files_each(oci, inputs, stop_at_two, &n), 7);
	assert_int_equal(n, 2);

	/* The same bytes as the blob: one canonical record a line. */
	{
		char d[STELE_DIGEST_STRLEN];
		const char *want = "{\"dest\":\"app/a\",\"digest\":{\"sha256\":\"" H64
			"\"},\"kind\":\"file\",\"path\":\"src/a\"}\n"
			"{\"dest\":\"app/b\",\"digest\":{\"sha256\":\"" H64
			"\"},\"kind\":\"file\",\"path\":\"src/\\\"b\\\"\"}\n";

		stele_digest_bytes(d, want, strlen(want));
		assert_string_equal(stele_json_str(json_object_get(in, "digest"), "sha256"), d + 7);
	}

	/* Damaged after it was recorded: refused before a line is parsed. */
	{
		char d[STELE_DIGEST_STRLEN];
		FILE *f;

		snprintf(d, sizeof(d), "sha256:%s",
			 stele_json_str(json_object_get(in, "digest"), "sha256"));
		path = stele_oci_blob_path(oci, d);
		assert_non_null(f = fopen(path, "r+"));
		fputc('X', f);
		fclose(f);
		got = json_array();
		assert_err(stele_prov_files_each(oci, inputs, collect, got),
			   STELE_EVERIFY, "does not match its digest");
		assert_int_equal(json_array_size(got), 1); /* the inline one */
		json_decref(got);
		/* Another size than recorded. */
		json_object_set_new(in, "size", json_integer(3));
		assert_err(stele_prov_files_each(oci, inputs, collect, NULL),
			   STELE_EVERIFY, "the provenance records 3");
		unlink(path);
		free(path);
		assert_err(stele_prov_files_each(oci, inputs, collect, NULL),
			   STELE_ENOTFOUND, "is missing");
	}
	json_decref(inputs);

	/* Malformed lists whose bytes match their digest. */
	for (i = 0; i < NELEM(bad); i++) {
		inputs = list_of(oci, bad[i].text, bad[i].count);
		got = json_array();
		if (stele_prov_files_each(oci, inputs, collect, got) != bad[i].code ||
		    !strstr(stele_error_last(), bad[i].want))
			fail_msg("case %zu: '%s', want '%s'", i, stele_error_last(),
				 bad[i].want);
		json_decref(got);
		json_decref(inputs);
	}
	/* A line longer than any record can be. */
	long_line = malloc(STELE_FILELIST_LINE_MAX + 2);
	memset(long_line, ' ', STELE_FILELIST_LINE_MAX);
	long_line[STELE_FILELIST_LINE_MAX] = '\n';
	long_line[STELE_FILELIST_LINE_MAX + 1] = '\0';
	inputs = list_of(oci, long_line, 1);
	assert_err(stele_prov_files_each(oci, inputs, collect, NULL),
		   STELE_EINVALID, "is longer than");
	json_decref(inputs);
	free(long_line);

	stele_oci_free(oci);
	stele_fs_rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prov_round_trip),
		cmocka_unit_test(test_prov_strict),
		cmocka_unit_test(test_prov_foreign),
		cmocka_unit_test(test_prov_filelist),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
