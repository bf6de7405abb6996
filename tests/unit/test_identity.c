/*
 * Unit tests for verify/identity: docker reference parsing and
 * normalisation (containers/image's rules), the policy's identity types
 * and each way a signature's reference is matched or refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/init.h"
#include "verify/identity.h"
#include "tests/unit/unit.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void
normalised(const char *in, const char *want)
{
	struct stele_dref r;
	char *s;

	assert_ok(stele_dref_parse(&r, in));
	s = stele_dref_string(&r);
	if (strcmp(s, want))
		fail_msg("'%s' normalised to '%s', want '%s'", in, s, want);
	free(s);
	stele_dref_release(&r);
}

static void
test_identity_normalise(void **state)
{
	(void)state;
	normalised("app", "docker.io/library/app");
	normalised("app:1", "docker.io/library/app:1");
	normalised("team/app:1", "docker.io/team/app:1");
	normalised("index.docker.io/team/app", "docker.io/team/app");
	normalised("docker.io/app@" D1, "docker.io/library/app@" D1);
	normalised("127.0.0.1:5000/a/b:x", "127.0.0.1:5000/a/b:x");
	normalised("localhost/app:1", "localhost/app:1");
	normalised("reg.example/a__b/c-d/e.f:v1.0-rc_1", "reg.example/a__b/c-d/e.f:v1.0-rc_1");
	normalised("reg.example/app:1@" D1, "reg.example/app:1@" D1);
}

static void
test_identity_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "App:1", "reg.example/App", "reg.example/app:", "reg.example/app:-x",
		"reg.example/app@sha256:12", "reg.example/app@md5:aa", "docker://reg/app",
		"reg.example//app", "reg.example/app_", "reg.example/a._b", "-reg/app",
		"reg.example:port/app", "reg.example/app:1:2",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL
	};
	struct stele_dref r;
	size_t i;

	(void)state;
	for (i = 0; bad[i]; i++)
		if (stele_dref_parse(&r, bad[i]) != STELE_EINVALID)
			fail_msg("'%s' parsed", bad[i]);
}

static struct stele_identity *
parse_id(const char *json, int want)
{
	json_error_t e;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &e);
	struct stele_identity *id = NULL;
	int rc;

	assert_non_null(v);
	rc = stele_identity_parse(&id, v, "p.json");
	json_decref(v);
	if (rc != want)
		fail_msg("%s: got %d (%s), want %d", json, rc, stele_error_last(), want);
	return id;
}

static int
match(const char *json, const char *intended, const char *sig)
{
	struct stele_identity *id = json ? parse_id(json, 0) : NULL;
	char *why = NULL;
	int ok = stele_identity_match(id, intended, sig, &why);

	assert_true(ok ? why == NULL : why != NULL);
	free(why);
	stele_identity_free(id);
	return ok;
}

static void
test_identity_default(void **state)
{
	(void)state;
	assert_true(match(NULL, "reg.example/app:1", "reg.example/app:1"));
	assert_true(match(NULL, "app:1", "docker.io/library/app:1"));
	assert_false(match(NULL, "reg.example/app:1", "reg.example/app:2"));
	assert_false(match(NULL, "reg.example/app:1", "reg.example/app"));
	assert_false(match(NULL, "reg.example/app:1", "reg.example/other:1"));
	assert_true(match(NULL, "reg.example/app@" D1, "reg.example/app:9"));
	assert_false(match(NULL, "reg.example/app@" D1, "reg.example/app"));
	assert_false(match(NULL, "reg.example/other/repo@" D1, "reg.example/app/sig:1"));
	assert_true(match(NULL, "reg.example/app", "reg.example/app"));
	assert_true(match(NULL, "reg.example/app", "reg.example/app:3"));
	assert_false(match(NULL, "reg.example/app", "reg.example/other:3"));
	assert_false(match(NULL, NULL, "reg.example/app:1"));
	assert_false(match(NULL, "reg.example/app:1", "Not A Ref"));
	assert_false(match(NULL, "reg.example/app:1", NULL));
	assert_true(match("{\"type\":\"matchRepoDigestOrExact\"}", "reg.example/app:1",
			  "reg.example/app:1"));
}

static void
test_identity_types(void **state)
{
	(void)state;
	assert_true(match("{\"type\":\"matchRepository\"}", "reg.example/app:1", "reg.example/app"));
	assert_false(match("{\"type\":\"matchRepository\"}", "reg.example/app:1", "reg.example/ap:1"));
	assert_true(match("{\"type\":\"matchExact\"}", "reg.example/app:1", "reg.example/app:1"));
	assert_false(match("{\"type\":\"matchExact\"}", "reg.example/app@" D1, "reg.example/app:1"));
	assert_false(match("{\"type\":\"matchExact\"}", "reg.example/app", "reg.example/app"));
	assert_true(match("{\"type\":\"exactReference\",\"dockerReference\":\"r.example/a:1\"}",
			  NULL, "r.example/a:1"));
	assert_false(match("{\"type\":\"exactReference\",\"dockerReference\":\"r.example/a:1\"}",
			   "r.example/a:1", "r.example/a"));
	assert_true(match("{\"type\":\"exactRepository\",\"dockerRepository\":\"r.example/a\"}",
			  NULL, "r.example/a:7"));
	assert_false(match("{\"type\":\"exactRepository\",\"dockerRepository\":\"r.example/a\"}",
			   "r.example/a:7", "r.example/b:7"));
	/* remapIdentity: prefix matched on whole components only. */
	assert_true(match("{\"type\":\"remapIdentity\",\"prefix\":\"m.example/v\",\"signedPrefix\":\"r.example\"}",
			  "m.example/v/app:1", "r.example/app:1"));
	assert_false(match("{\"type\":\"remapIdentity\",\"prefix\":\"m.example/v\",\"signedPrefix\":\"r.example\"}",
			   "m.example/vv/app:1", "r.example/vv/app:1"));
	assert_true(match("{\"type\":\"remapIdentity\",\"prefix\":\"m.example/v\",\"signedPrefix\":\"r.example\"}",
			  "m.example/vv/app:1", "m.example/vv/app:1"));
	assert_true(match("{\"type\":\"remapIdentity\",\"prefix\":\"docker.io/library\",\"signedPrefix\":\"r.example/lib\"}",
			  "busybox:1", "r.example/lib/busybox:1"));
	assert_false(match("{\"type\":\"remapIdentity\",\"prefix\":\"m.example\",\"signedPrefix\":\"r.example\"}",
			   "m.example/app:1", "m.example/app:1"));
}

static void
test_identity_policy_errors(void **state)
{
	static const char *const bad[] = {
		"{}", "1", "{\"type\":1}", "{\"type\":\"matchTag\"}",
		"{\"type\":\"matchExact\",\"x\":1}",
		"{\"type\":\"exactReference\"}",
		"{\"type\":\"exactReference\",\"dockerReference\":1}",
		"{\"type\":\"exactReference\",\"dockerReference\":\"r.example/a\"}",
		"{\"type\":\"exactReference\",\"dockerReference\":\"R/a:1 x\"}",
		"{\"type\":\"exactRepository\",\"dockerRepository\":\"r.example/a:1\"}",
		"{\"type\":\"exactRepository\"}",
		"{\"type\":\"remapIdentity\",\"prefix\":\"m.example\"}",
		"{\"type\":\"remapIdentity\",\"prefix\":\"library\",\"signedPrefix\":\"r.example\"}",
		"{\"type\":\"remapIdentity\",\"prefix\":\"m.example/a:1\",\"signedPrefix\":\"r.example\"}",
		"{\"type\":\"remapIdentity\",\"prefix\":\"m.example\",\"signedPrefix\":\"r.example/\"}",
		"\"Bad Ref\"", NULL
	};
	struct stele_identity *id;
	size_t i;
	char *d;

	(void)state;
	for (i = 0; bad[i]; i++)
		parse_id(bad[i], STELE_EINVALID);
	id = parse_id("\"r.example/a:1\"", 0);
	assert_int_equal(id->type, STELE_ID_EXACT_REFERENCE);
	d = stele_identity_describe(id);
	assert_string_equal(d, "exactReference r.example/a:1 (old string form)");
	free(d);
	stele_identity_free(id);
	id = parse_id("\"r.example/a\"", 0);
	assert_int_equal(id->type, STELE_ID_EXACT_REPOSITORY);
	stele_identity_free(id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_normalise),
		cmocka_unit_test(test_identity_parse_rejects),
		cmocka_unit_test(test_identity_default),
		cmocka_unit_test(test_identity_types),
		cmocka_unit_test(test_identity_policy_errors),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
