/*
 * Unit tests for registry/: credentials and auth files (podman's format),
 * and, when STELE_TEST_REGISTRY names an image on a live registry
 * ("HOST/REPO@sha256:..."; t23-registry.sh sets it), the builder's entry
 * point stele_registry_pull_to(): a first call pulls, a second one finds
 * the digest in the layout and makes no request at all; with
 * STELE_TEST_REGISTRY_OTHER (an index's other-platform manifest digest),
 * that manifest must not have been fetched.  When STELE_TEST_TLS_REGISTRY
 * names a TLS registry ("HOST:PORT"; t24-registry-auth.sh sets it, with
 * STELE_TEST_TLS_CA, its CA, and STELE_TEST_TLS_OTHER_CA, one that signed
 * nothing of it), what a client trusts: the system's CAs from a hashed
 * directory or a bundle (their own, given as the system's), and the cert
 * dir's besides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "oci/image.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/client_priv.h"
#include "registry/transfer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/http.h"
#include "util/init.h"
#include "tests/unit/unit.h"

static char *
tmpdir(void)
{
	char *d = NULL;

	assert_ok(stele_fs_mkdtemp(&d, getenv("TMPDIR"), "stele-test-registry"));
	return d;
}

static void
write_file(const char *path, const char *text)
{
	assert_ok(stele_fs_write_atomic(path, text, strlen(text), 0600));
}

static void
test_registry_creds_parse(void **state)
{
	struct stele_creds *c = NULL;

	(void)state;
	assert_ok(stele_creds_parse(&c, "alice:pa:ss"));
	assert_string_equal(c->user, "alice");
	assert_string_equal(c->pass, "pa:ss");
	stele_creds_free(c);
	assert_ok(stele_creds_parse(&c, "bob:"));
	assert_string_equal(c->pass, "");
	stele_creds_free(c);
	assert_int_equal(stele_creds_parse(&c, "nocolon"), STELE_EINVALID);
	assert_null(c);
	assert_int_equal(stele_creds_parse(&c, ":pass"), STELE_EINVALID);
	assert_int_equal(stele_creds_parse(&c, "a:b\nc"), STELE_EINVALID);
}

/* param(h, name) is `want` (NULL: absent). */
static void
expect_param(const char *h, const char *name, const char *want)
{
	char *got = stele_registry__challenge_param(h, name);

	if (!want != !got || (want && strcmp(want, got)))
		fail_msg("%s in [%s]: got '%s', want '%s'", name, h,
			 got ? got : "(none)", want ? want : "(none)");
	free(got);
}

static void
test_registry_challenge_param(void **state)
{
	(void)state;
	expect_param("Bearer realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:a:pull\"",
		     "realm", "https://auth.example/token");
	expect_param("Bearer realm=\"https://a/t\",service=\"reg\"", "service", "reg");
	expect_param("Bearer realm=\"https://a/t\"", "service", NULL);
	/* Tokens, spaces around '=', escapes, any case of the name. */
	expect_param("Bearer Realm = https://a/t , service=\"a\\\"b\\\\c\"",
		     "realm", "https://a/t");
	expect_param("Bearer Realm = https://a/t , service=\"a\\\"b\\\\c\"",
		     "service", "a\"b\\c");
	expect_param("Bearer realm=\"\"", "realm", "");
	/* A name inside another parameter's quoted value is not a parameter. */
	expect_param("Bearer error_description=\"bad realm=http://x\",realm=\"https://good/t\"",
		     "realm", "https://good/t");
	expect_param("Bearer service=\"x, realm=http://evil\"", "realm", NULL);
	/* Another challenge's parameters are not this one's. */
	expect_param("Bearer service=\"reg\", Basic realm=\"https://other\"",
		     "realm", NULL);
	expect_param("Basic realm=\"Registry Realm\"", "realm", "Registry Realm");
	expect_param("Bearer realm=\"unterminated", "realm", "unterminated");
	expect_param("Bearer", "realm", NULL);
	expect_param("", "realm", NULL);
}

static void
test_registry_authfile_roundtrip(void **state)
{
	char *d = tmpdir(), *f = stele_path_join(d, "sub/auth.json");
	char alice[] = "alice", bob[] = "bob", pw[] = "s3cret";
	struct stele_creds in = { alice, pw }, *out = NULL;
	struct stele_buf b = STELE_BUF_INIT(1 << 16);
	struct stat st;

	(void)state;
	assert_ok(stele_authfile_store(f, "reg.example:5000", &in));
	assert_ok(stat(f, &st));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_ok(stele_fs_read(&b, f));
	/* base64("alice:s3cret") */
	assert_non_null(strstr(b.ptr, "\"YWxpY2U6czNjcmV0\""));
	assert_ok(stele_creds_lookup(&out, "reg.example:5000", f, NULL));
	assert_string_equal(out->user, "alice");
	assert_string_equal(out->pass, "s3cret");
	stele_creds_free(out);
	assert_int_equal(stele_creds_lookup(&out, "reg.example", f, NULL), STELE_ENOTFOUND);
	assert_int_equal(stele_creds_lookup(&out, "other:5000", f, NULL), STELE_ENOTFOUND);
	/* A second entry keeps the first; logout removes only its own. */
	in.user = bob;
	assert_ok(stele_authfile_store(f, "other:5000", &in));
	assert_ok(stele_authfile_remove(f, "reg.example:5000"));
	assert_int_equal(stele_creds_lookup(&out, "reg.example:5000", f, NULL), STELE_ENOTFOUND);
	assert_ok(stele_creds_lookup(&out, "other:5000", f, NULL));
	assert_string_equal(out->user, "bob");
	stele_creds_free(out);
	assert_int_equal(stele_authfile_remove(f, "reg.example:5000"), STELE_ENOTFOUND);
	assert_ok(stele_authfile_remove(f, NULL));
	assert_int_equal(stele_creds_lookup(&out, "other:5000", f, NULL), STELE_ENOTFOUND);
	stele_buf_release(&b);
	stele_fs_rm_rf(d);
	free(f);
	free(d);
}

static void
test_registry_authfile_docker_forms(void **state)
{
	char *d = tmpdir(), *f = stele_path_join(d, "config.json");
	struct stele_creds *out = NULL;

	(void)state;
	/* docker's legacy key with scheme and path; other keys kept apart. */
	write_file(f, "{\"auths\":{\"https://reg.example/v1/\":{\"auth\":\"dTpw\"},"
		      "\"reg.example.evil\":{\"auth\":\"eDp5\"}},\"credsStore\":\"x\"}");
	assert_ok(stele_creds_lookup(&out, "reg.example", f, NULL));
	assert_string_equal(out->user, "u");
	assert_string_equal(out->pass, "p");
	stele_creds_free(out);
	/* Malformed files are errors naming the file, never silently skipped. */
	write_file(f, "{\"auths\":{\"reg.example\":{\"auth\":\"not base64!\"}}}");
	assert_int_equal(stele_creds_lookup(&out, "reg.example", f, NULL), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "config.json"));
	write_file(f, "{\"auths\":{\"reg.example\":{\"auth\":\"bm9jb2xvbg==\"}}}");
	assert_int_equal(stele_creds_lookup(&out, "reg.example", f, NULL), STELE_EINVALID);
	write_file(f, "{\"auths\":{},\"auths\":{}}");
	assert_int_equal(stele_creds_lookup(&out, "reg.example", f, NULL), STELE_EINVALID);
	write_file(f, "[]");
	assert_int_equal(stele_creds_lookup(&out, "reg.example", f, NULL), STELE_EINVALID);
	stele_fs_rm_rf(d);
	free(f);
	free(d);
}

static void
test_registry_authfile_search(void **state)
{
	char *d = tmpdir(), *a = stele_path_join(d, "a.json");
	char *b = stele_path_join(d, "b.json"), *m = stele_path_join(d, "missing");
	const char *search[] = { m, a, b, NULL };
	char user[] = "first", pw[] = "pw", user2[] = "second";
	struct stele_creds in = { user, pw }, in2 = { user2, pw }, *out = NULL;

	(void)state;
	/* Nothing to look in: not found, never an environment's default. */
	assert_int_equal(stele_creds_lookup(&out, "r:1", NULL, NULL),
			 STELE_ENOTFOUND);
	assert_null(out);
	assert_ok(stele_authfile_store(a, "r:1", &in));
	assert_ok(stele_authfile_store(b, "r:1", &in2));
	assert_ok(stele_authfile_store(b, "d:2", &in2));
	/* Missing files are skipped; the first file with the host wins. */
	assert_ok(stele_creds_lookup(&out, "r:1", NULL, search));
	assert_string_equal(out->user, "first");
	stele_creds_free(out);
	assert_ok(stele_creds_lookup(&out, "d:2", NULL, search));
	assert_string_equal(out->user, "second");
	stele_creds_free(out);
	assert_int_equal(stele_creds_lookup(&out, "e:3", NULL, search),
			 STELE_ENOTFOUND);
	/* An explicit file is read alone, and must exist. */
	assert_ok(stele_creds_lookup(&out, "r:1", b, search));
	assert_string_equal(out->user, "second");
	stele_creds_free(out);
	assert_int_equal(stele_creds_lookup(&out, "d:2", a, search),
			 STELE_ENOTFOUND);
	assert_int_equal(stele_creds_lookup(&out, "r:1", m, search),
			 STELE_ENOTFOUND);
	stele_fs_rm_rf(d);
	free(a);
	free(b);
	free(m);
	free(d);
}

static void
test_registry_pull_to_live(void **state)
{
	const char *ref = getenv("STELE_TEST_REGISTRY");
	struct stele_registry_opts o;
	struct stele_image *img = NULL;
	char resolved[STELE_DIGEST_STRLEN], *d, *lay, *offline;
	const char *at, *skip;

	(void)state;
	if (!ref || !(at = strchr(ref, '@'))) {
		print_message("skip: STELE_TEST_REGISTRY (HOST/REPO@DIGEST) "
			      "is not set\n");
		skip();
	}
	d = tmpdir();
	lay = stele_path_join(d, "base");
	memset(&o, 0, sizeof(o));
	o.insecure = 1;
	assert_ok(stele_registry_pull_to(&img, resolved, lay, ref, &o));
	assert_string_equal(resolved, at + 1);
	assert_true(stele_image_nlayers(img) >= 1);
	/* Of an index, only this platform's image is fetched. */
	if ((skip = getenv("STELE_TEST_REGISTRY_OTHER"))) {
		assert_false(stele_oci_blob_exists(img->oci, skip));
		printf("pull_to: %s not fetched (another platform)\n", skip);
	}
	stele_image_free(img);
	/* Again, from a host that does not exist: the layout has it, no request. */
	offline = stele_xasprintf("docker://127.0.0.1:1/nowhere%s", at);
	assert_ok(stele_registry_pull_to(&img, resolved, lay, offline, &o));
	assert_string_equal(resolved, at + 1);
	stele_image_free(img);
	free(offline);
	/* A digest the registry does not have is an error and adds nothing. */
	offline = stele_xasprintf("%.*s@sha256:%064d", (int)(at - ref), ref, 0);
	assert_true(stele_registry_pull_to(&img, resolved, lay, offline, &o) < 0);
	assert_null(img);
	printf("pull_to: %s\n", stele_error_last());
	free(offline);
	stele_fs_rm_rf(d);
	free(lay);
	free(d);
}

/*
 * Questions asked ahead (stele_registry__prefetch) against the live
 * registry: each answer is taken once by the request that asks the same,
 * in place of sending it; asked again, it is sent; a write drops what is
 * kept.  Counted in the client's requests.
 */
static void
test_registry_prefetch_live(void **state)
{
	const char *ref = getenv("STELE_TEST_REGISTRY"), *at = NULL, *slash = NULL;
	const char *zero = "sha256:"
			   "0000000000000000000000000000000000000000000000000000000000000000";
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_registry_opts o;
	struct stele_registry *r = NULL;
	struct stele_registry__ask a[3];
	const struct stele_registry_stats *st;
	struct stele_registry__req q;
	char got[STELE_DIGEST_STRLEN], *host, *repo, *path;
	uint64_t n;
	size_t i;

	(void)state;
	if (!ref || !(at = strchr(ref, '@')) || !(slash = strchr(ref, '/'))) {
		print_message("skip: STELE_TEST_REGISTRY (HOST/REPO@DIGEST) "
			      "is not set\n");
		skip();
	}
	host = stele_xstrndup(ref, (size_t)(slash - ref));
	repo = stele_xstrndup(slash + 1, (size_t)(at - slash - 1));
	memset(&o, 0, sizeof(o));
	o.insecure = 1;
	assert_ok(stele_registry_open(&r, host, 1, &o));
	st = stele_registry_stats(r);
	stele_registry__ask_manifest(&a[0], "HEAD", repo, at + 1);
	stele_registry__ask_manifest(&a[1], "GET", repo, at + 1);
	stele_registry__ask_manifest(&a[2], "HEAD", repo, zero);
	n = st->requests;
	assert_ok(stele_registry__prefetch(r, a, 3));
	assert_int_equal(st->requests, n + 3);
	/* Taken, as the answers they are: present, absent, the bytes. */
	assert_int_equal(stele_registry_manifest_has(r, repo, at + 1, at + 1),
			 1);
	assert_int_equal(stele_registry_manifest_has(r, repo, zero, NULL), 0);
	assert_ok(stele_registry_manifest_get(&b, got, NULL, r, repo, at + 1));
	assert_string_equal(got, at + 1);
	assert_int_equal(st->requests, n + 3);
	/* Once: asked again, it is sent. */
	assert_int_equal(stele_registry_manifest_has(r, repo, at + 1, at + 1),
			 1);
	assert_int_equal(st->requests, n + 4);
	/* Any other request (a DELETE of what is not there) drops what is
	 * kept: a write may have changed the answers. */
	assert_ok(stele_registry__prefetch(r, a, 1));
	path = stele_xasprintf("/v2/%s/manifests/%s", repo, zero);
	stele_registry__req_init(&q, "DELETE", path, repo);
	assert_ok(stele_registry__do(r, &q));
	assert_true(q.status >= 400);
	stele_registry__req_release(&q);
	n = st->requests;
	assert_int_equal(stele_registry_manifest_has(r, repo, at + 1, at + 1),
			 1);
	assert_int_equal(st->requests, n + 1);
	printf("prefetch: %llu requests\n", (unsigned long long)st->requests);
	for (i = 0; i < 3; i++)
		free(a[i].path);
	stele_registry_free(r);
	stele_buf_release(&b);
	free(path);
	free(repo);
	free(host);
}

static void
copy_file(const char *from, const char *to)
{
	struct stele_buf b = STELE_BUF_INIT(1u << 20);

	assert_ok(stele_fs_read(&b, from));
	assert_ok(stele_fs_write_atomic(to, b.ptr, b.len, 0600));
	stele_buf_release(&b);
}

/* Directory `parent`/`name`, made; its path. */
static char *
subdir(const char *parent, const char *name)
{
	char *d = stele_path_join(parent, name);

	assert_int_equal(mkdir(d, 0700), 0);
	return d;
}

/* A hashed CA directory (as `openssl rehash` makes it) holding `pem`. */
static char *
hashed_dir(const char *parent, const char *name, const char *pem)
{
	char *d = subdir(parent, name), *link;
	X509 *x;
	FILE *f;

	assert_non_null(f = fopen(pem, "r"));
	assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	link = stele_xasprintf("%s/%08lx.0", d, X509_subject_name_hash(x));
	copy_file(pem, link);
	X509_free(x);
	free(link);
	return d;
}

/* What OpenSSL's hashed lookup reads, and what it does not. */
static void
test_registry_ca_dir_hashed(void **state)
{
	static const char *const no[] = { "ca.pem",	 "ABCDEF01.0",
					  "abcdef01.",	 "abcdef01.r0",
					  "abcdef0.0",	 "abcdef012.0",
					  "abcdef01.0a", NULL };
	static const char *const yes[] = { "abcdef01.0", "0123abcd.12",
					   NULL };
	char *d = tmpdir(), *p;
	size_t i;

	(void)state;
	assert_false(stele_http_ca_dir_hashed(NULL));
	p = stele_path_join(d, "missing");
	assert_false(stele_http_ca_dir_hashed(p));
	free(p);
	assert_false(stele_http_ca_dir_hashed(d));
	for (i = 0; no[i]; i++) {
		p = stele_path_join(d, no[i]);
		write_file(p, "x");
		free(p);
	}
	assert_false(stele_http_ca_dir_hashed(d));
	for (i = 0; yes[i]; i++) {
		p = stele_path_join(d, yes[i]);
		write_file(p, "x");
		assert_true(stele_http_ca_dir_hashed(d));
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	stele_fs_rm_rf(d);
	free(d);
}

/*
 * The system's CAs as libcurl finds them: its CA directory when it is
 * hashed and its TLS OpenSSL (/etc/ssl/certs on Debian), else its bundle.
 */
static void
test_registry_system_ca(void **state)
{
	curl_version_info_data *v;
	struct stele_http_ca sys;

	(void)state;
	assert_ok(stele_init_curl());
	v = curl_version_info(CURLVERSION_NOW);
	stele_http_system_ca(&sys);
	assert_non_null(sys.bundle);
	if (v->cainfo)
		assert_string_equal(sys.bundle, v->cainfo);
	if (v->capath && stele_http_ca_dir_hashed(v->capath) &&
	    !strncmp(v->ssl_version, "OpenSSL/", 8))
		assert_string_equal(sys.capath, v->capath);
	else
		assert_null(sys.capath);
	printf("system CAs: capath %s, bundle %s\n",
	       sys.capath ? sys.capath : "(none: the bundle)", sys.bundle);
}

/*
 * stele_registry_open() of `host` trusting `capath` and `bundle` as the
 * system's CAs, and the cert dir `certs`: 0, or its error (message set).
 */
static int
tls_open(const char *host, const char *certs, const char *capath,
	 const char *bundle)
{
	struct stele_http_ca sys = { capath, bundle };
	struct stele_registry_opts o;
	struct stele_registry *r = NULL;
	int error;

	memset(&o, 0, sizeof(o));
	o.cert_dir = certs;
	o.retries = STELE_REGISTRY_NO_RETRY;
	o.timeout_s = 10;
	error = stele_registry__open_ca(&r, host, 0, &o, &sys);
	assert_true(error < 0 ? r == NULL : r != NULL);
	stele_registry_free(r);
	return error;
}

/* Refused as a chain from an unknown CA, saying how to trust one. */
static void
assert_untrusted(int error)
{
	assert_true(error < 0);
	printf("refused: %s\n", stele_error_last());
	assert_non_null(strstr(stele_error_last(), "certificate"));
	assert_non_null(strstr(stele_error_last(), "--cert-dir"));
}

static void
test_registry_tls_trust_live(void **state)
{
	const char *host = getenv("STELE_TEST_TLS_REGISTRY");
	const char *ca = getenv("STELE_TEST_TLS_CA");
	const char *other = getenv("STELE_TEST_TLS_OTHER_CA");
	char *d, *sys_ca, *sys_other, *flat, *none, *mine, *theirs, *dud,
		*bad, *p;

	(void)state;
	if (!host || !ca || !other) {
		print_message("skip: STELE_TEST_TLS_REGISTRY, "
			      "STELE_TEST_TLS_CA and STELE_TEST_TLS_OTHER_CA "
			      "are not set (t24 sets them)\n");
		skip();
	}
	d = tmpdir();
	sys_ca = hashed_dir(d, "sys-ca", ca);
	sys_other = hashed_dir(d, "sys-other", other);
	/* The same file, not under its hash: not read as a hashed dir. */
	flat = subdir(d, "flat");
	p = stele_path_join(flat, "ca.pem");
	copy_file(ca, p);
	free(p);
	none = subdir(d, "none");
	mine = subdir(d, "mine");
	p = stele_path_join(mine, "ca.crt");
	copy_file(ca, p);
	free(p);
	theirs = subdir(d, "theirs");
	p = stele_path_join(theirs, "other.crt");
	copy_file(other, p);
	free(p);
	/* *.crt holding no certificate: they add nothing. */
	dud = subdir(d, "dud");
	p = stele_path_join(dud, "empty.crt");
	write_file(p, "");
	free(p);
	p = stele_path_join(dud, "notes.crt");
	write_file(p, "no certificate here\n");
	free(p);
	bad = subdir(d, "bad");
	p = stele_path_join(bad, "bad.crt");
	write_file(p, "-----BEGIN CERTIFICATE-----\n!!!!\n"
		      "-----END CERTIFICATE-----\n");
	free(p);

	/* The system's hashed directory is read, the CA found there. */
	assert_ok(tls_open(host, none, sys_ca, "/nonexistent"));
	assert_untrusted(tls_open(host, none, sys_other, "/nonexistent"));
	/* The cert dir's CAs are trusted besides the system's. */
	assert_ok(tls_open(host, mine, sys_other, "/nonexistent"));
	assert_ok(tls_open(host, mine, sys_ca, "/nonexistent"));
	/* A CA in neither: refused, with a cert dir or without. */
	assert_untrusted(tls_open(host, theirs, sys_other, "/nonexistent"));
	/* Without a hashed directory: the bundle, after the cert dir's CAs. */
	assert_ok(tls_open(host, theirs, NULL, ca));
	assert_untrusted(tls_open(host, theirs, NULL, other));
	assert_false(stele_http_ca_dir_hashed(flat));
	/* Empty or certificate-less *.crt: nothing added, nothing broken. */
	assert_ok(tls_open(host, dud, sys_ca, "/nonexistent"));
	assert_untrusted(tls_open(host, dud, sys_other, "/nonexistent"));
	/* A *.crt that does not read: an error naming it, no request. */
	assert_true(tls_open(host, bad, sys_ca, "/nonexistent") < 0);
	printf("refused: %s\n", stele_error_last());
	assert_non_null(strstr(stele_error_last(), "cannot read CA certificate"));
	assert_non_null(strstr(stele_error_last(), "bad.crt"));
	printf("tls trust: all cases\n");
	stele_fs_rm_rf(d);
	free(bad);
	free(dud);
	free(theirs);
	free(mine);
	free(none);
	free(flat);
	free(sys_other);
	free(sys_ca);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_creds_parse),
		cmocka_unit_test(test_registry_challenge_param),
		cmocka_unit_test(test_registry_authfile_roundtrip),
		cmocka_unit_test(test_registry_authfile_docker_forms),
		cmocka_unit_test(test_registry_authfile_search),
		cmocka_unit_test(test_registry_pull_to_live),
		cmocka_unit_test(test_registry_prefetch_live),
		cmocka_unit_test(test_registry_ca_dir_hashed),
		cmocka_unit_test(test_registry_system_ca),
		cmocka_unit_test(test_registry_tls_trust_live),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
