/*
 * Unit tests for verify/regcache.h and stele_push_cache(): every way a
 * cache document is refused, and what is refused before anything is sent
 * (the e2e tests t84 and t85 run the registry side).  The docker://
 * references name 127.0.0.1:9, which no test ever reaches: each refusal
 * comes first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/provenance.h"
#include "keys/key.h"
#include "oci/image.h"
#include "oci/layout.h"
#include "signer/attach.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "verify/push.h"
#include "verify/regcache.h"
#include "tests/unit/unit.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define L1 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D1 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FLH "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define GZ "application/vnd.oci.image.layer.v1.tar+gzip"

static json_t *
parse(const char *text)
{
	json_t *j = NULL;

	assert_ok(stele_json_parse(&j, text, strlen(text), "test"));
	return j;
}

/* check(config, manifest) with the manifest listing L1 (size 10, gzip). */
static int
check(const char *config)
{
	json_t *c = parse(config);
	json_t *m = parse("{\"layers\":[{\"mediaType\":\"" GZ "\",\"digest\":\""
			  L1 "\",\"size\":10}]}");
	int error = stele_regcache_check(c, m, "the cache");

	json_decref(c);
	json_decref(m);
	return error;
}

#define ENTRY(layer, rest) \
	"{\"version\":1,\"entries\":{\"" K1 "\":{\"layer\":" layer rest "}}}"
#define GOOD_LAYER "{\"mediaType\":\"" GZ "\",\"digest\":\"" L1 "\",\"size\":10}"

static void
test_regcache_check(void **state)
{
	(void)state;
	assert_ok(check(ENTRY(GOOD_LAYER, ",\"diffID\":\"" D1 "\",\"inputs\":[]")));
	assert_ok(check("{\"version\":1,\"entries\":{\"" K1 "\":{\"empty\":true}}}"));
	assert_ok(check("{\"version\":1,\"entries\":{}}"));

	assert_err(check("{\"version\":2,\"entries\":{}}"), STELE_EINVALID,
		   "the cache: not a version 1 build cache");
	assert_err(check("{\"entries\":{}}"), STELE_EINVALID, "not a version 1");
	assert_err(check("{\"version\":\"1\",\"entries\":{}}"), STELE_EINVALID,
		   "not a version 1");
	assert_err(check("[]"), STELE_EINVALID, "not a version 1");
	assert_err(check("{\"version\":1,\"entries\":[]}"), STELE_EINVALID,
		   "no entries object");
	assert_err(check("{\"version\":1,\"entries\":{\"abc\":{\"empty\":true}}}"),
		   STELE_EINVALID, "key 'abc' is not 64 hex digits");
	assert_err(check("{\"version\":1,\"entries\":{\"" K1 "1\":{\"empty\":true}}}"),
		   STELE_EINVALID, "is not 64 hex digits");
	assert_err(check("{\"version\":1,\"entries\":{\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\":{\"empty\":true}}}"),
		   STELE_EINVALID, "is not 64 hex digits");
	assert_err(check("{\"version\":1,\"entries\":{\"" K1 "\":[]}}"),
		   STELE_EINVALID, "entry " K1 " is not an object");
	assert_err(check("{\"version\":1,\"entries\":{\"" K1 "\":{\"empty\":true,\"layer\":1}}}"),
		   STELE_EINVALID, "a step without a layer has nothing else");
	assert_err(check("{\"version\":1,\"entries\":{\"" K1 "\":{}}}"),
		   STELE_EINVALID, "wants a layer descriptor");
	assert_err(check(ENTRY(GOOD_LAYER, ",\"inputs\":[]")), STELE_EINVALID,
		   "wants a layer descriptor, a diffID and inputs");
	assert_err(check(ENTRY(GOOD_LAYER, ",\"diffID\":\"sha256:12\",\"inputs\":[]")),
		   STELE_EINVALID, "a diffID");
	assert_err(check(ENTRY(GOOD_LAYER, ",\"diffID\":\"" D1 "\"")),
		   STELE_EINVALID, "and inputs");
	assert_err(check(ENTRY("{\"mediaType\":\"" GZ "\",\"digest\":\"" L1 "\"}",
			       ",\"diffID\":\"" D1 "\",\"inputs\":[]")),
		   STELE_EINVALID, "wants a layer descriptor");
	assert_err(check(ENTRY("{\"mediaType\":\"" GZ "\",\"digest\":\"" L1 "\",\"size\":-1}",
			       ",\"diffID\":\"" D1 "\",\"inputs\":[]")),
		   STELE_EINVALID, "wants a layer descriptor");
	/* A layer the manifest does not list, or lists otherwise. */
	assert_err(check(ENTRY("{\"mediaType\":\"" GZ "\",\"digest\":\"" D1 "\",\"size\":10}",
			       ",\"diffID\":\"" D1 "\",\"inputs\":[]")),
		   STELE_EINVALID, "names layer " D1 ", which the cache manifest does not list");
	assert_err(check(ENTRY("{\"mediaType\":\"" GZ "\",\"digest\":\"" L1 "\",\"size\":11}",
			       ",\"diffID\":\"" D1 "\",\"inputs\":[]")),
		   STELE_EINVALID, "does not list");
	assert_err(check(ENTRY("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" L1 "\",\"size\":10}",
			       ",\"diffID\":\"" D1 "\",\"inputs\":[]")),
		   STELE_EINVALID, "does not list");
	/* A file list the entry's provenance names must travel too. */
	assert_err(check(ENTRY(GOOD_LAYER, ",\"diffID\":\"" D1 "\",\"inputs\":"
			       "[{\"kind\":\"files\",\"mediaType\":\"" STELE_MT_FILELIST
			       "\",\"count\":1,\"size\":5,\"digest\":{\"sha256\":\""
			       FLH "\"}}]")),
		   STELE_EINVALID, "names file list sha256:" FLH ", which the cache manifest does not list");
}

static void
test_regcache_check_manifest(void **state)
{
	json_t *c = parse("{\"version\":1,\"entries\":{}}");
	json_t *m = parse("{\"layers\":[{\"mediaType\":\"" GZ "\",\"digest\":\"sha256:1\",\"size\":1}]}");

	(void)state;
	assert_err(stele_regcache_check(c, m, "x"), STELE_EINVALID,
		   "x: layer 0 is not a descriptor");
	json_decref(m);
	json_decref(c);
}

/* A layout holding one artifact whose config is `config_mt`, as "img". */
static struct stele_image *
layout_with(const char *dir, const char *config_mt)
{
	const char *cfg = "{\"entries\":{},\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"},\"version\":1}";
	char cd[STELE_DIGEST_STRLEN], md[STELE_DIGEST_STRLEN];
	struct stele_buf mb = STELE_BUF_INIT(1 << 20);
	struct stele_image *img = NULL;
	struct stele_oci *oci = NULL;
	struct stele_txn *txn = NULL;
	json_t *m, *desc;

	assert_ok(stele_oci_open(&oci, dir, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, cfg, strlen(cfg), cd));
	m = json_pack("{s:i,s:s,s:o,s:[]}", "schemaVersion", 2, "mediaType",
		      STELE_MT_MANIFEST, "config",
		      stele_descriptor(config_mt, cd, strlen(cfg)), "layers");
	assert_ok(stele_json_emit(&mb, m));
	assert_ok(stele_txn_put_blob(txn, mb.ptr, mb.len, md));
	desc = stele_descriptor(STELE_MT_MANIFEST, md, mb.len);
	assert_ok(stele_txn_index_add(txn, "img", desc));
	assert_ok(stele_txn_commit(txn));
	assert_ok(stele_image_load(&img, oci, "img", NULL));
	stele_txn_free(txn);
	json_decref(desc);
	json_decref(m);
	stele_buf_release(&mb);
	return img;
}

static void
test_regcache_push_refusals(void **state)
{
	struct stele_registry_opts o = { 0 };
	struct stele_transfer t;
	struct stele_attach_result ar;
	struct stele_seckey *k = NULL;
	struct stele_image *img;
	struct stele_ref *dst = NULL;
	char *d = NULL, *a, *b;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&d, getenv("TMPDIR"), "stele-test-regcache"));
	a = stele_path_join(d, "a");
	b = stele_path_join(d, "b");
	assert_ok(stele_ref_parse(&dst, "docker://127.0.0.1:9/x/cache:1", NULL));
	assert_ok(stele_seckey_generate(&k));
	/* An image is no cache, even signed. */
	img = layout_with(a, STELE_MT_CONFIG);
	assert_ok(stele_sign_image(&ar, img, "127.0.0.1:9/x/cache:1", NULL, k));
	assert_err(stele_push_cache(&t, img, dst, &o), STELE_EINVALID,
		   "is not a build cache (config media type "
		   "'" STELE_MT_CONFIG "')");
	stele_image_free(img);
	/* A cache, unsigned: refused; signed: it would go. */
	img = layout_with(b, STELE_MT_BUILD_CACHE);
	assert_err(stele_push_cache(&t, img, dst, &o), STELE_EINVALID,
		   "is not signed: not pushed");
	stele_image_free(img);
	stele_seckey_free(k);
	stele_ref_free(dst);
	stele_fs_rm_rf(d);
	free(a);
	free(b);
	free(d);
}

static void
test_regcache_export_refusals(void **state)
{
	struct stele_registry_opts o = { 0 };
	struct stele_regcache_report r;
	struct stele_regcache *c = NULL;
	struct stele_seckey *k = NULL;
	struct stele_ref *dst = NULL, *untagged = NULL, *oci = NULL;
	const struct stele_pubkey *keys[1];
	struct stele_dirs dirs = { 0 };
	json_t *entries;
	char *d = NULL, *cache;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&d, getenv("TMPDIR"), "stele-test-regcache"));
	cache = stele_path_join(d, "cache");
	dirs.tmp = d;
	o.dirs = &dirs;
	assert_ok(stele_seckey_generate(&k));
	keys[0] = &k->pub;
	assert_ok(stele_ref_parse(&dst, "docker://127.0.0.1:9/x/cache:1", NULL));
	assert_ok(stele_ref_parse(&untagged, "docker://127.0.0.1:9/x/cache@sha256:"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL));
	assert_ok(stele_ref_parse(&oci, "oci:/nonexistent:1", NULL));

	entries = parse("{\"" K1 "\":{\"layer\":" GOOD_LAYER ",\"diffID\":\"" D1
			"\",\"inputs\":[]}}");
	assert_err(stele_regcache_export(&r, entries, cache, NULL, untagged, k, &o),
		   STELE_EINVALID, "docker://HOST/REPO:TAG");
	/* The layer is in neither the build cache nor a layout. */
	assert_err(stele_regcache_export(&r, entries, cache, NULL, dst, k, &o),
		   STELE_ENOTFOUND, "layer " L1 " of the build cache is in neither");
	json_decref(entries);
	/* A malformed entry is never published. */
	entries = parse("{\"" K1 "\":{\"layer\":" GOOD_LAYER "}}");
	assert_err(stele_regcache_export(&r, entries, cache, NULL, dst, k, &o),
		   STELE_EINVALID, "--cache-to: entry " K1 " wants a layer descriptor");
	json_decref(entries);
	/* Reading: a key is required, and a registry reference. */
	assert_err(stele_regcache_open(&c, dst, keys, 0, &o), STELE_EINVALID,
		   "needs a key to trust");
	assert_err(stele_regcache_open(&c, oci, keys, 1, &o), STELE_EINVALID,
		   "read from docker://HOST/REPO:TAG");
	assert_null(c);

	stele_ref_free(oci);
	stele_ref_free(untagged);
	stele_ref_free(dst);
	stele_seckey_free(k);
	stele_fs_rm_rf(d);
	free(cache);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regcache_check),
		cmocka_unit_test(test_regcache_check_manifest),
		cmocka_unit_test(test_regcache_push_refusals),
		cmocka_unit_test(test_regcache_export_refusals),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
