/*
 * Unit tests for the policy's runtime section and the admission review
 * without a registry: every malformed policy section, every runtime rule
 * and every malformed request (the e2e tests t72-t73 send the same over
 * TLS and verify images in a registry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy/admission.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "verify/policy.h"
#include "tests/unit/unit.h"

#define BASE "{\"signatures\": {\"threshold\": 0}, "
#define ALL "\"runtime\": {\"nonRoot\": true, \"readOnlyRootFilesystem\": true, " \
	"\"noPrivileged\": true, \"noHostNamespaces\": true, " \
	"\"requireLimits\": [\"cpu\", \"memory\"]}}"

static int
parse(struct stele_policy **p, const char *s)
{
	return stele_policy_parse(p, s, strlen(s), "p.json");
}

static void
test_admission_policy(void **state)
{
	struct stele_policy *p = NULL;

	(void)state;
	assert_ok(parse(&p, BASE ALL));
	assert_true(p->runtime && p->rt_non_root && p->rt_read_only_root &&
		    p->rt_no_privileged && p->rt_no_host_ns);
	assert_int_equal(p->rt_limits, STELE_LIMIT_CPU | STELE_LIMIT_MEMORY);
	stele_policy_free(p);
	assert_ok(parse(&p, BASE "\"runtime\": {\"noPrivileged\": false}}"));
	assert_true(p->runtime && !p->rt_no_privileged && !p->rt_limits);
	stele_policy_free(p);

	assert_err(parse(&p, BASE "\"runtime\": {}}"), STELE_EINVALID, "runtime is empty");
	assert_err(parse(&p, BASE "\"runtime\": []}"), STELE_EINVALID, "runtime must be an object");
	assert_err(parse(&p, BASE "\"runtime\": {\"nonRooot\": true}}"), STELE_EINVALID,
		   "unknown key 'nonRooot' in runtime");
	assert_err(parse(&p, BASE "\"runtime\": {\"nonRoot\": 1}}"), STELE_EINVALID,
		   "runtime.nonRoot must be true or false");
	assert_err(parse(&p, BASE "\"runtime\": {\"requireLimits\": \"cpu\"}}"),
		   STELE_EINVALID, "non-empty array");
	assert_err(parse(&p, BASE "\"runtime\": {\"requireLimits\": []}}"),
		   STELE_EINVALID, "non-empty array");
	assert_err(parse(&p, BASE "\"runtime\": {\"requireLimits\": [\"gpu\"]}}"),
		   STELE_EINVALID, "requireLimits[0] is not");
	assert_err(parse(&p, BASE "\"runtime\": {\"requireLimits\": [\"cpu\", 3]}}"),
		   STELE_EINVALID, "requireLimits[1] is not");
	assert_err(parse(&p, BASE "\"runtime\": {\"requireLimits\": [\"memory\", \"memory\"]}}"),
		   STELE_EINVALID, "names \"memory\" twice");
	assert_null(p);
}

static json_t *
spec_of(const char *s)
{
	json_t *j = NULL;

	assert_ok(stele_json_parse(&j, s, strlen(s), "spec"));
	return j;
}

#define GOOD_C "{\"name\": \"app\", \"image\": \"registry.example/app:1\", \"securityContext\": " \
	"{\"runAsNonRoot\": true, \"readOnlyRootFilesystem\": true}, " \
	"\"resources\": {\"limits\": {\"cpu\": 1, \"memory\": \"64Mi\"}}}"

/* The reasons the runtime rules give for `spec`, joined by '|'. */
static char *
reasons_of(const struct stele_policy *p, const char *spec)
{
	json_t *s = spec_of(spec), *r = json_array(), *v;
	char *out = stele_xstrdup(""), *t;
	size_t i;

	assert_ok(stele_admission_runtime(r, p, s));
	json_array_foreach(r, i, v) {
		t = stele_xasprintf("%s%s%s", out, i ? "|" : "", json_string_value(v));
		free(out);
		out = t;
	}
	json_decref(r);
	json_decref(s);
	return out;
}

static void
expect(const struct stele_policy *p, const char *spec, const char *want)
{
	char *got = reasons_of(p, spec);

	if (*want ? !strstr(got, want) : *got != '\0')
		fail_msg("spec %s: got '%s', want '%s'", spec, got, want);
	free(got);
}

static void
test_admission_runtime(void **state)
{
	struct stele_policy *p = NULL;
	json_t *r = json_array(), *s;

	(void)state;
	assert_ok(parse(&p, BASE ALL));
	expect(p, "{\"containers\": [" GOOD_C "]}", "");
	/* runAsNonRoot inherited from the Pod; a non-zero runAsUser is enough. */
	expect(p, "{\"securityContext\": {\"runAsNonRoot\": true}, \"containers\": "
	       "[{\"name\": \"a\", \"securityContext\": {\"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}", "");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsUser\": 1000, \"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}", "");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsUser\": 0, \"runAsNonRoot\": true, \"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}",
	       "container 'a' runs as root (runAsUser: 0)");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}",
	       "container 'a' may run as root");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsNonRoot\": true, \"readOnlyRootFilesystem\": true, \"privileged\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}",
	       "container 'a' is privileged");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsNonRoot\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}",
	       "container 'a' has a writable root file system");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsNonRoot\": true, \"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"limits\": {\"cpu\": \"1\"}}}]}",
	       "container 'a' has no memory limit");
	expect(p, "{\"containers\": [{\"name\": \"a\", \"securityContext\": "
	       "{\"runAsNonRoot\": true, \"readOnlyRootFilesystem\": true}, "
	       "\"resources\": {\"requests\": {\"cpu\": \"1\", \"memory\": \"1Gi\"}}}]}",
	       "container 'a' has no cpu limit: set resources.limits.cpu|container 'a' has no memory limit");
	expect(p, "{\"hostPID\": true, \"containers\": [" GOOD_C "]}",
	       "the Pod shares the host's namespaces (hostPID: true)");
	expect(p, "{\"containers\": [" GOOD_C "], \"ephemeralContainers\": "
	       "[{\"name\": \"dbg\", \"image\": \"x\"}]}",
	       "ephemeral container 'dbg' may run as root");

	s = spec_of("[]");
	assert_err(stele_admission_runtime(r, p, s), STELE_EINVALID, "not an object");
	json_decref(s);
	s = spec_of("{\"containers\": {}}");
	assert_err(stele_admission_runtime(r, p, s), STELE_EINVALID, "spec.containers is not an array");
	json_decref(s);
	s = spec_of("{\"containers\": [1]}");
	assert_err(stele_admission_runtime(r, p, s), STELE_EINVALID, "spec.containers[0] is not an object");
	json_decref(s);
	s = spec_of("{\"initContainers\": [" GOOD_C "]}");
	assert_err(stele_admission_runtime(r, p, s), STELE_EINVALID, "no containers");
	json_decref(s);
	json_decref(r);
	stele_policy_free(p);
}

static int64_t
fixed_clock(void *payload)
{
	(void)payload;
	return 1800000000;
}

static void
review(json_t **out, struct stele_admission *a, const char *body)
{
	*out = NULL;
	assert_ok(stele_admission_review(out, a, body, strlen(body)));
}

#define AR "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "

static void
test_admission_review(void **state)
{
	struct stele_admission_opts o = { 0 };
	struct stele_admission *a = NULL;
	char dir[] = "/tmp/test_admission.XXXXXX", *pol;
	const char *msg;
	json_t *r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pol = stele_path_join(dir, "p.json");
	assert_ok(stele_fs_write_atomic(pol, BASE ALL, strlen(BASE ALL), 0644));
	o.policy = pol;
	o.now = fixed_clock;
	o.cache_ttl = 60;
	assert_err(stele_admission_new(&a, &(struct stele_admission_opts){ 0 }),
		   STELE_EINVALID, "needs a policy");
	assert_ok(stele_admission_new(&a, &o));

	/* A tag-only image: denied, saying how to pin it; nothing fetched. */
	review(&r, a, AR "\"request\": {\"uid\": \"u1\", \"kind\": {\"kind\": \"Pod\"}, "
	       "\"object\": {\"spec\": {\"containers\": [" GOOD_C "]}}}}");
	assert_string_equal(stele_json_str(json_object_get(r, "response"), "uid"), "u1");
	assert_true(json_is_false(json_object_get(json_object_get(r, "response"), "allowed")));
	msg = stele_json_str(json_object_get(json_object_get(r, "response"), "status"), "message");
	assert_non_null(strstr(msg, "image 'registry.example/app:1' is not pinned by digest: name it as registry.example/app@sha256:"));
	json_decref(r);

	/* No object (DELETE): allowed. */
	review(&r, a, AR "\"request\": {\"uid\": \"u2\", \"object\": null}}");
	assert_true(json_is_true(json_object_get(json_object_get(r, "response"), "allowed")));
	json_decref(r);

	/* An unreadable policy denies, saying why. */
	assert_ok(stele_fs_write_atomic(pol, "{", 1, 0644));
	review(&r, a, AR "\"request\": {\"uid\": \"u3\", \"kind\": {\"kind\": \"Job\"}, "
	       "\"object\": {\"spec\": {\"template\": {\"spec\": {\"containers\": [" GOOD_C "]}}}}}}");
	msg = stele_json_str(json_object_get(json_object_get(r, "response"), "status"), "message");
	assert_non_null(strstr(msg, "the policy cannot be used"));
	json_decref(r);

#define BAD(body, text) assert_err(stele_admission_review(&r, a, body, strlen(body)), \
				   STELE_EINVALID, text); assert_null(r)
	BAD("nope", "the request");
	BAD("{\"apiVersion\": \"v1\", \"kind\": \"AdmissionReview\"}", "not an AdmissionReview");
	BAD(AR "\"request\": []}", "no request.uid");
	BAD(AR "\"request\": {\"uid\": \"\"}}", "no request.uid");
	BAD(AR "\"request\": {\"uid\": \"u\", \"object\": {}}}", "no kind.kind");
	BAD(AR "\"request\": {\"uid\": \"u\", \"kind\": {\"kind\": \"CronJob\"}, \"object\": {\"spec\": {}}}}",
	    "the CronJob has no spec.jobTemplate.spec.template.spec");
	BAD(AR "\"request\": {\"uid\": \"u\", \"kind\": {\"kind\": \"Pod\"}, \"object\": {}}}",
	    "the Pod has no spec");
	assert_ok(stele_fs_write_atomic(pol, BASE ALL, strlen(BASE ALL), 0644));
	BAD(AR "\"request\": {\"uid\": \"u\", \"kind\": {\"kind\": \"Pod\"}, \"object\": "
	    "{\"spec\": {\"containers\": [{\"name\": \"a\"}]}}}}", "spec.containers[0].image is not a string");
	stele_admission_free(a);
	stele_fs_rm_rf(dir);
	free(pol);
}

/* Flagger's payload: a tag-only image denied without a registry, an
 * unusable policy denies, every malformed payload refused. */
static void
test_admission_flagger(void **state)
{
	struct stele_admission_opts o = { 0 };
	struct stele_admission *a = NULL;
	char dir[] = "/tmp/test_admission.XXXXXX", *pol;
	const char *body;
	json_t *r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pol = stele_path_join(dir, "p.json");
	assert_ok(stele_fs_write_atomic(pol, BASE ALL, strlen(BASE ALL), 0644));
	o.policy = pol;
	o.now = fixed_clock;
	assert_ok(stele_admission_new(&a, &o));
	body = "{\"name\": \"app\", \"namespace\": \"prod\", \"phase\": "
	       "\"Promoting\", \"checksum\": \"\", \"metadata\": {\"images\": "
	       "\" registry.example/app:1,registry.example/app:1 \", \"x\": \"y\"}}";
	assert_ok(stele_admission_flagger(&r, a, body, strlen(body)));
	assert_true(json_is_false(json_object_get(r, "allowed")));
	assert_string_equal(stele_json_str(r, "phase"), "Promoting");
	assert_int_equal(json_array_size(json_object_get(r, "images")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "reasons")), 1);
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r,
		"reasons"), 0)), "is not pinned by digest"));
	json_decref(r);
	assert_ok(stele_fs_write_atomic(pol, "{", 1, 0644));
	assert_ok(stele_admission_flagger(&r, a, body, strlen(body)));
	assert_true(json_is_false(json_object_get(r, "allowed")));
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r,
		"reasons"), 0)), "the policy cannot be used"));
	json_decref(r);
#define FBAD(b, text) assert_err(stele_admission_flagger(&r, a, b, strlen(b)), \
				 STELE_EINVALID, text); assert_null(r)
#define FP "{\"name\": \"a\", \"namespace\": \"b\", \"phase\": \"Progressing\""
	FBAD("nope", "the request");
	FBAD("[]", "a JSON object");
	FBAD("{\"name\": \"a\", \"phase\": \"p\", \"metadata\": {\"images\": \"x\"}}",
	     "needs name, namespace and phase");
	FBAD(FP ", \"name\": \"c\"}", "the request");
	FBAD(FP ", \"image\": \"x\"}", "unknown field 'image'");
	FBAD("{\"name\": \"\", \"namespace\": \"b\", \"phase\": \"p\"}",
	     "name must be a non-empty string");
	FBAD(FP ", \"checksum\": 1}", "checksum must be");
	FBAD(FP "}", "metadata.images names no image");
	FBAD(FP ", \"metadata\": []}", "metadata must be an object");
	FBAD(FP ", \"metadata\": {\"images\": 1}}", "metadata.images is not a string");
	FBAD(FP ", \"metadata\": {\"images\": \" ,, \"}}", "metadata.images names no image");
	stele_admission_free(a);
	stele_fs_rm_rf(dir);
	free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admission_policy),
		cmocka_unit_test(test_admission_runtime),
		cmocka_unit_test(test_admission_review),
		cmocka_unit_test(test_admission_flagger),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "stele_init: %s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
