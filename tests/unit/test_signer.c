/*
 * Unit tests for signer/: the DSSE PAE vector, simple-signing payloads
 * (a real cosign payload from containers/image's fixtures, and forgeries),
 * and signatures and attestations stored in a layout and checked back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "oci/image.h"
#include "oci/layout.h"
#include "signer/attach.h"
#include "signer/check.h"
#include "signer/dsse.h"
#include "signer/payload.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "tests/unit/unit.h"

#define D0 "sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* containers/image signature/fixtures/dir-img-cosign-valid: signature-1's
 * payload (base64 as stored) and manifest.json. */
static const char cimage_payload_b64[] =
	"eyJjcml0aWNhbCI6eyJpZGVudGl0eSI6eyJkb2NrZXItcmVmZXJlbmNlIjoiMTkyLjE2OC42NC4yOjUwMDAvY29zaWduLXNpZ25lZC1zaW5nbGUtc2FtcGxlIn0sImltYWdlIjp7ImRvY2tlci1tYW5pZmVzdC1kaWdlc3QiOiJzaGEyNTY6NjM0YThmMzViNWYxNmRjZjRhYWEwODIyYWRjMGIxOTY0YmI3ODZmY2ExMmY2ODMxZGU4ZGRjNDVlNTk4NmEwMCJ9LCJ0eXBlIjoiY29zaWduIGNvbnRhaW5lciBpbWFnZSBzaWduYXR1cmUifSwib3B0aW9uYWwiOm51bGx9";
static const char cimage_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1512,\"digest\":\"sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4\"},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":2896510,\"digest\":\"sha256:9d16cba9fb961d1aafec9542f2bf7cb64acfc55245f9e4eb5abecd4cdc38d749\"}]}";

static void
test_signer_pae_vector(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(1024);

	(void)state;
	/* secure-systems-lab/dsse protocol.md */
	assert_ok(stele_dsse_pae(&b, "http://example.com/HelloWorld", "hello world", 11));
	assert_string_equal(b.ptr, "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	stele_buf_clear(&b);
	assert_ok(stele_dsse_pae(&b, STELE_PAYLOAD_INTOTO, "", 0));
	assert_string_equal(b.ptr, "DSSEv1 28 application/vnd.in-toto+json 0 ");
	stele_buf_release(&b);
}

static void
test_signer_dsse_roundtrip(void **state)
{
	struct stele_seckey *a, *b;
	struct stele_buf env = STELE_BUF_INIT(1 << 20), pae = STELE_BUF_INIT(4096);
	struct stele_dsse *e = NULL;
	enum stele_sig_mode mode;
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen;
	static const char *const bad[] = {
		"{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[]}",
		"{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"aGk=\"}],\"x\":1}",
		"{\"payload\":\"aGk=\",\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"aGk=\"}]}",
		"{\"payload\":\"aGk\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"aGk=\"}]}",
		"{\"payload\":\"_-8=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"aGk=\"}]}",
		"{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"aGk=\",\"cert\":\"\"}]}",
		"{\"payload\":\"aGk=\",\"payloadType\":1,\"signatures\":[{\"sig\":\"aGk=\"}]}",
		NULL };
	size_t i;

	(void)state;
	assert_ok(stele_seckey_generate(&a));
	assert_ok(stele_seckey_generate(&b));
	assert_ok(stele_dsse_sign(&env, a, STELE_PAYLOAD_INTOTO, "{\"x\":1}", 7));
	assert_non_null(strstr(env.ptr, "\"payload\":\"eyJ4IjoxfQ==\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"keyid\":\"\",\"sig\":\""));
	assert_ok(stele_dsse_parse(&e, env.ptr, env.len, "env"));
	assert_string_equal(e->type, STELE_PAYLOAD_INTOTO);
	assert_int_equal(e->payload.len, 7);
	assert_ok(stele_dsse_verify(&mode, e, &a->pub, STELE_SIG_PURE));
	assert_int_equal(stele_dsse_verify(NULL, e, &b->pub, STELE_SIG_PURE),
			 STELE_EVERIFY);
	/* The signature is over the PAE, not the bare payload. */
	assert_ok(stele_dsse_pae(&pae, STELE_PAYLOAD_INTOTO, "{\"x\":1}", 7));
	assert_ok(stele_key_sign(sig, &siglen, a, pae.ptr, pae.len));
	assert_int_equal(e->sigs[0].len, siglen);
	assert_memory_equal(sig, e->sigs[0].sig, STELE_SIG_BYTES);
	stele_dsse_free(e);
	for (i = 0; bad[i]; i++) {
		e = NULL;
		assert_int_equal(stele_dsse_parse(&e, bad[i], strlen(bad[i]), "env"),
				 STELE_EINVALID);
		assert_null(e);
	}
	stele_seckey_free(a);
	stele_seckey_free(b);
	stele_buf_release(&pae);
	stele_buf_release(&env);
}

static void
test_signer_payload(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_PAYLOAD_MAX), raw = STELE_BUF_INIT(4096);
	struct stele_payload *p = NULL;
	char d[STELE_DIGEST_STRLEN];
	json_t *opt = json_pack("{s:s,s:s}", "team", "rm", "a", "<&>");
	static const char *const bad[] = {
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"},\"optional\":null,\"x\":1}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\",\"type\":\"cosign container image signature\"},\"optional\":null}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"Docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"atomic container signature\"},\"optional\":null}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"},\"optional\":{\"timestamp\":1.5}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"},\"optional\":{\"creator\":7}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":1},\"image\":{\"docker-manifest-digest\":\"" D0 "\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
		"[]", "", NULL };
	size_t i;

	(void)state;
	/* Exactly cosign's bytes. */
	assert_ok(stele_payload_build(&b, "reg.example/app:1.4.0", D0, NULL));
	assert_string_equal(b.ptr, "{\"critical\":{\"identity\":{\"docker-reference\":"
		"\"reg.example/app:1.4.0\"},\"image\":{\"docker-manifest-digest\":\"" D0
		"\"},\"type\":\"cosign container image signature\"},\"optional\":null}");
	assert_ok(stele_payload_parse(&p, b.ptr, b.len));
	assert_string_equal(p->identity, "reg.example/app:1.4.0");
	assert_string_equal(p->digest, D0);
	assert_null(p->optional);
	stele_payload_free(p);
	stele_buf_clear(&b);
	assert_ok(stele_payload_build(&b, "a", D0, opt));
	assert_non_null(strstr(b.ptr, "\"optional\":{\"a\":\"<&>\",\"team\":\"rm\"}}"));
	assert_ok(stele_payload_parse(&p, b.ptr, b.len));
	assert_string_equal(stele_json_str(p->optional, "team"), "rm");
	stele_payload_free(p);
	/* A payload cosign wrote (containers/image's fixture) parses, and
	 * names the digest of the fixture's manifest. */
	assert_ok(stele_base64_decode(&raw, cimage_payload_b64,
				      strlen(cimage_payload_b64), "fixture"));
	assert_ok(stele_payload_parse(&p, raw.ptr, raw.len));
	assert_string_equal(p->identity, "192.168.64.2:5000/cosign-signed-single-sample");
	stele_digest_bytes(d, cimage_manifest, strlen(cimage_manifest));
	assert_string_equal(p->digest, d);
	assert_true(!strncmp(d, "sha256:634a8f35", 15));
	stele_payload_free(p);
	for (i = 0; bad[i]; i++) {
		p = NULL;
		if (stele_payload_parse(&p, bad[i], strlen(bad[i])) != STELE_EINVALID)
			fail_msg("accepted bad payload %zu: %s", i, bad[i]);
		assert_null(p);
	}
	json_decref(opt);
	stele_buf_release(&raw);
	stele_buf_release(&b);
}

/* A layout with a one-config, no-layer image tagged `tag`. */
static void
make_image(struct stele_oci *oci, const char *tag, const char *os,
	   char digest[STELE_DIGEST_STRLEN])
{
	struct stele_txn *txn;
	char cfgd[STELE_DIGEST_STRLEN];
	struct stele_buf b = STELE_BUF_INIT(4096);
	json_t *cfg = json_pack("{s:s,s:s,s:{s:s,s:[]}}", "architecture",
		stele_oci_arch(), "os", os, "rootfs", "type", "layers", "diff_ids");
	json_t *man, *desc;

	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_json_emit(&b, cfg));
	assert_ok(stele_txn_put_blob(txn, b.ptr, b.len, cfgd));
	man = json_pack("{s:i,s:s,s:o,s:[]}", "schemaVersion", 2, "mediaType",
		STELE_MT_MANIFEST, "config",
		stele_descriptor(STELE_MT_CONFIG, cfgd, b.len), "layers");
	stele_buf_clear(&b);
	assert_ok(stele_json_emit(&b, man));
	assert_ok(stele_txn_put_blob(txn, b.ptr, b.len, digest));
	desc = stele_descriptor(STELE_MT_MANIFEST, digest, b.len);
	assert_ok(stele_txn_index_add(txn, tag, desc));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	json_decref(desc);
	json_decref(man);
	json_decref(cfg);
	stele_buf_release(&b);
}

/* Store a provenance statement as the builder does (a referrer). */
static void
store_statement(struct stele_oci *oci, const char *subject_digest,
		const char *statement)
{
	struct stele_txn *txn;
	char sd[STELE_DIGEST_STRLEN], ed[STELE_DIGEST_STRLEN], md[STELE_DIGEST_STRLEN];
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	json_t *man, *desc;

	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, statement, strlen(statement), sd));
	assert_ok(stele_txn_put_blob(txn, "{}", 2, ed));
	man = json_pack("{s:i,s:s,s:s,s:o,s:[{s:s,s:s,s:I}],s:{s:s,s:s,s:I}}",
		"schemaVersion", 2, "mediaType", STELE_MT_MANIFEST,
		"artifactType", STELE_PAYLOAD_INTOTO,
		"config", stele_descriptor(STELE_MT_EMPTY, ed, 2),
		"layers", "mediaType", STELE_PAYLOAD_INTOTO, "digest", sd,
		"size", (json_int_t)strlen(statement),
		"subject", "mediaType", STELE_MT_MANIFEST, "digest", subject_digest,
		"size", (json_int_t)1);
	assert_ok(stele_json_emit(&b, man));
	assert_ok(stele_txn_put_blob(txn, b.ptr, b.len, md));
	desc = stele_descriptor(STELE_MT_MANIFEST, md, b.len);
	json_object_set_new(desc, "artifactType", json_string(STELE_PAYLOAD_INTOTO));
	assert_ok(stele_txn_index_add(txn, NULL, desc));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	json_decref(desc);
	json_decref(man);
	stele_buf_release(&b);
}

struct fixture {
	char *dir;
	struct stele_oci *oci;
	struct stele_image *img, *other;
	struct stele_seckey *a, *b, *ec, *ec2;  /* Ed25519, Ed25519, P-256, P-256 */
	char digest[STELE_DIGEST_STRLEN], other_digest[STELE_DIGEST_STRLEN];
};

static int
setup(void **state)
{
	struct fixture *f = stele_xcalloc(1, sizeof(*f));
	struct stele_oci *o2;

	assert_ok(stele_fs_mkdtemp(&f->dir, getenv("TMPDIR"), "stele-unit"));
	assert_ok(stele_oci_open(&f->oci, f->dir, 1));
	make_image(f->oci, "app:1", "linux", f->digest);
	make_image(f->oci, "other:1", "plan9", f->other_digest);
	assert_ok(stele_image_load(&f->img, f->oci, "app:1", NULL));
	assert_ok(stele_oci_open(&o2, f->dir, 0));
	assert_ok(stele_image_load(&f->other, o2, "other:1", NULL));
	assert_ok(stele_seckey_generate(&f->a));
	assert_ok(stele_seckey_generate(&f->b));
	assert_ok(stele_seckey_generate_type(&f->ec, STELE_KEY_ECDSA_P256));
	assert_ok(stele_seckey_generate_type(&f->ec2, STELE_KEY_ECDSA_P256));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	stele_seckey_free(f->a);
	stele_seckey_free(f->b);
	stele_seckey_free(f->ec);
	stele_seckey_free(f->ec2);
	stele_image_free(f->other);
	stele_image_free(f->img); /* frees f->oci */
	stele_fs_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static json_t *
tagged_manifest(struct fixture *f, enum stele_attach_kind kind)
{
	char *tag = stele_attach_tag_name(f->digest, kind);
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	json_t *desc = NULL, *man = NULL;

	assert_ok(stele_oci_resolve(&desc, f->oci, tag, NULL));
	assert_ok(stele_oci_blob_read(&b, f->oci, stele_json_str(desc, "digest")));
	assert_ok(stele_json_parse(&man, b.ptr, b.len, "m"));
	json_decref(desc);
	stele_buf_release(&b);
	free(tag);
	return man;
}

static void
test_signer_sign_twice_two_keys(void **state)
{
	struct fixture *f = *state;
	struct stele_attach_result r;
	const struct stele_pubkey *both[2] = { &f->a->pub, &f->b->pub };
	const struct stele_pubkey *only_b[1] = { &f->b->pub };
	struct stele_checks *c = NULL;
	json_t *man, *refs = NULL, *desc = NULL;
	struct stele_buf cfg = STELE_BUF_INIT(4096);

	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->a));
	assert_int_equal(r.added, 1);
	assert_int_equal(r.count, 1);
	/* cosign's config for one layer is 233 bytes. */
	man = tagged_manifest(f, STELE_ATTACH_SIG);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(man,
		"config"), "size")), 233);
	assert_ok(stele_oci_blob_read(&cfg, f->oci, stele_json_str(
		json_object_get(man, "config"), "digest")));
	assert_true(!strncmp(cfg.ptr, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",", 51));
	json_decref(man);
	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->b));
	assert_int_equal(r.added, 1);
	assert_int_equal(r.count, 2);
	/* The same key again: nothing added. */
	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->a));
	assert_int_equal(r.added, 0);
	assert_int_equal(r.count, 2);
	man = tagged_manifest(f, STELE_ATTACH_SIG);
	assert_int_equal(json_array_size(json_object_get(man, "layers")), 2);
	assert_string_equal(stele_json_str(json_array_get(json_object_get(man,
		"layers"), 1), "mediaType"), STELE_MT_SIMPLESIGNING);
	assert_null(json_object_get(man, "subject"));
	json_decref(man);
	/* The image's own entry is untouched. */
	assert_ok(stele_oci_resolve(&desc, f->oci, "app:1", NULL));
	assert_string_equal(stele_json_str(desc, "digest"), f->digest);
	json_decref(desc);
	/* Two referrers, one per signature, each with the image as subject. */
	assert_ok(stele_oci_referrers(&refs, NULL, f->oci, f->digest));
	assert_int_equal(json_array_size(refs), 2);
	assert_string_equal(stele_json_str(json_array_get(refs, 0), "artifactType"),
			    STELE_ART_SIG);
	assert_string_equal(stele_json_str(json_array_get(refs, 1), "artifactType"),
			    STELE_ART_SIG);
	json_decref(refs);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, both, 2, STELE_SIG_PURE));
	assert_int_equal(c->n, 2);
	assert_int_equal(stele_checks_ok(c), 2);
	assert_string_equal(c->v[0].identity, "app:1");
	assert_ptr_equal(c->v[0].key, &f->a->pub);
	assert_ptr_equal(c->v[1].key, &f->b->pub);
	stele_checks_free(c);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, only_b, 1, STELE_SIG_PURE));
	assert_int_equal(stele_checks_ok(c), 1);
	assert_int_equal(c->v[0].error, STELE_EVERIFY);
	assert_non_null(strstr(c->v[0].reason, "none of the 1 trusted key"));
	assert_int_equal(c->v[0].unknown_key, 1);
	assert_int_equal(c->v[1].unknown_key, 0);
	stele_checks_free(c);
	/* The other image has none. */
	assert_ok(stele_signatures_check(&c, f->oci, f->other_digest, both, 2, STELE_SIG_PURE));
	assert_int_equal(c->n, 0);
	stele_checks_free(c);
	stele_buf_release(&cfg);
}

/* Point the other image's .sig tag at this image's signature manifest. */
static void
copy_tag(struct fixture *f, const char *from_digest, const char *to_digest)
{
	char *from = stele_attach_tag_name(from_digest, STELE_ATTACH_SIG);
	char *to = stele_attach_tag_name(to_digest, STELE_ATTACH_SIG);
	struct stele_txn *txn;
	json_t *desc = NULL;

	assert_ok(stele_oci_resolve(&desc, f->oci, from, NULL));
	json_object_del(desc, "annotations");
	assert_ok(stele_txn_begin(&txn, f->oci));
	assert_ok(stele_txn_index_add(txn, to, desc));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	json_decref(desc);
	free(from);
	free(to);
}

static void
test_signer_signature_of_another_image(void **state)
{
	struct fixture *f = *state;
	struct stele_attach_result r;
	const struct stele_pubkey *keys[1] = { &f->a->pub };
	struct stele_checks *c = NULL;

	assert_ok(stele_sign_image(&r, f->other, "other:1", NULL, f->a));
	copy_tag(f, f->other_digest, f->digest);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1, STELE_SIG_PURE));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->v[0].error, STELE_EVERIFY);
	assert_non_null(strstr(c->v[0].reason, "is for image"));
	assert_int_equal(c->v[0].unknown_key, 0);
	assert_ptr_equal(c->v[0].key, &f->a->pub); /* it did verify */
	stele_checks_free(c);
}

/* Store a signature layer by hand: any payload, any signature bytes. */
static void
store_raw_sig(struct fixture *f, const char *payload, const unsigned char *sig,
	      size_t siglen)
{
	struct stele_txn *txn;
	struct stele_buf b = STELE_BUF_INIT(1 << 16), s = STELE_BUF_INIT(1024);
	char pd[STELE_DIGEST_STRLEN], cd[STELE_DIGEST_STRLEN], md[STELE_DIGEST_STRLEN];
	char *tag = stele_attach_tag_name(f->digest, STELE_ATTACH_SIG);
	json_t *man, *desc;

	assert_ok(stele_base64_encode(&s, sig, siglen));
	assert_ok(stele_txn_begin(&txn, f->oci));
	assert_ok(stele_txn_put_blob(txn, payload, strlen(payload), pd));
	assert_ok(stele_txn_put_blob(txn, "{}", 2, cd));
	man = json_pack("{s:i,s:s,s:o,s:[{s:s,s:I,s:s,s:{s:s}}]}", "schemaVersion", 2,
		"mediaType", STELE_MT_MANIFEST, "config",
		stele_descriptor(STELE_MT_CONFIG, cd, 2), "layers",
		"mediaType", STELE_MT_SIMPLESIGNING, "size", (json_int_t)strlen(payload),
		"digest", pd, "annotations", STELE_ANN_COSIGN_SIG, s.ptr);
	assert_ok(stele_json_emit(&b, man));
	assert_ok(stele_txn_put_blob(txn, b.ptr, b.len, md));
	desc = stele_descriptor(STELE_MT_MANIFEST, md, b.len);
	assert_ok(stele_txn_index_add(txn, tag, desc));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	json_decref(desc);
	json_decref(man);
	stele_buf_release(&s);
	stele_buf_release(&b);
	free(tag);
}

static void
test_signer_prehash_only_when_allowed(void **state)
{
	struct fixture *f = *state;
	const struct stele_pubkey *keys[1] = { &f->a->pub };
	struct stele_buf p = STELE_BUF_INIT(STELE_PAYLOAD_MAX);
	unsigned char sig[STELE_SIG_BYTES];
	struct stele_checks *c = NULL;

	assert_ok(stele_payload_build(&p, "app:1", f->digest, NULL));
	stele_key_sign_ph(sig, f->a, p.ptr, p.len);
	store_raw_sig(f, p.ptr, sig, sizeof(sig));
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1, STELE_SIG_PURE));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->v[0].error, STELE_EVERIFY);
	stele_checks_free(c);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1,
					 STELE_SIG_PURE | STELE_SIG_PREHASH));
	assert_int_equal(stele_checks_ok(c), 1);
	assert_int_equal(c->v[0].mode, STELE_SIG_PREHASH);
	stele_checks_free(c);
	stele_buf_release(&p);
}

static void
test_signer_forged_payloads(void **state)
{
	struct fixture *f = *state;
	const struct stele_pubkey *keys[1] = { &f->a->pub };
	struct stele_buf p = STELE_BUF_INIT(STELE_PAYLOAD_MAX);
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen;
	struct stele_checks *c = NULL;
	char *extra;

	/* Validly signed, but with an extra field: refused by the parser. */
	assert_ok(stele_payload_build(&p, "app:1", f->digest, NULL));
	extra = stele_xasprintf("%.*s,\"x\":1}", (int)p.len - 1, p.ptr);
	assert_ok(stele_key_sign(sig, &siglen, f->a, extra, strlen(extra)));
	store_raw_sig(f, extra, sig, siglen);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1, STELE_SIG_PURE));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->v[0].error, STELE_EINVALID);
	assert_non_null(strstr(c->v[0].reason, "unknown field 'x'"));
	stele_checks_free(c);
	/* A signature that is not 64 bytes. */
	store_raw_sig(f, p.ptr, sig, 32);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1, STELE_SIG_PURE));
	assert_int_equal(c->v[0].error, STELE_EINVALID);
	assert_non_null(strstr(c->v[0].reason, "32 bytes"));
	stele_checks_free(c);
	/* Longer than any Ed25519 or P-256 signature: refused unread. */
	{
		unsigned char big[100];

		memset(big, 0x30, sizeof(big));
		store_raw_sig(f, p.ptr, big, sizeof(big));
	}
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, keys, 1, STELE_SIG_PURE));
	assert_int_equal(c->v[0].error, STELE_EINVALID);
	assert_non_null(strstr(c->v[0].reason, "too long for Ed25519 or ECDSA P-256"));
	stele_checks_free(c);
	free(extra);
	stele_buf_release(&p);
}

static void
test_signer_attest(void **state)
{
	struct fixture *f = *state;
	struct stele_attach_result r;
	const struct stele_pubkey *keys[2] = { &f->b->pub, &f->a->pub };
	struct stele_checks *c = NULL;
	char *stmt, *other;
	size_t n;
	json_t *man;

	assert_err(stele_attest_image(&r, &n, f->img, f->a), STELE_ENOTFOUND,
		   "no provenance statement");
	stmt = stele_xasprintf("{\"_type\":\"https://in-toto.io/Statement/v1\","
		"\"predicate\":{},\"predicateType\":\"https://slsa.dev/provenance/v1\","
		"\"subject\":[{\"digest\":{\"sha256\":\"%s\"},\"name\":\"app\"}]}",
		f->digest + 7);
	store_statement(f->oci, f->digest, stmt);
	assert_ok(stele_attest_image(&r, &n, f->img, f->a));
	assert_int_equal(n, 1);
	assert_int_equal(r.count, 1);
	assert_ok(stele_attest_image(&r, &n, f->img, f->a));
	assert_int_equal(n, 0);
	assert_ok(stele_attest_image(&r, &n, f->img, f->b));
	assert_int_equal(r.count, 2);
	man = tagged_manifest(f, STELE_ATTACH_ATT);
	assert_string_equal(stele_json_str(json_object_get(json_array_get(
		json_object_get(man, "layers"), 0), "annotations"),
		STELE_ANN_PREDICATE_TYPE), "https://slsa.dev/provenance/v1");
	assert_string_equal(stele_json_str(json_object_get(json_array_get(
		json_object_get(man, "layers"), 0), "annotations"),
		STELE_ANN_COSIGN_SIG), "");
	json_decref(man);
	assert_ok(stele_attestations_check(&c, f->oci, f->digest, keys, 2, STELE_SIG_PURE));
	assert_int_equal(c->n, 2);
	assert_int_equal(stele_checks_ok(c), 2);
	assert_string_equal(c->v[0].predicate_type, "https://slsa.dev/provenance/v1");
	/* The exact stored statement bytes come back. */
	assert_int_equal(c->v[0].body.len, strlen(stmt));
	assert_memory_equal(c->v[0].body.ptr, stmt, strlen(stmt));
	stele_checks_free(c);
	/* A statement about another image is refused for attesting. */
	other = stele_xasprintf("{\"_type\":\"https://in-toto.io/Statement/v1\","
		"\"predicateType\":\"x\",\"subject\":[{\"digest\":{\"sha256\":\"%s\"}}]}",
		f->digest + 7 + 1);
	store_statement(f->oci, f->other_digest, other);
	assert_err(stele_attest_image(&r, &n, f->other, f->a), STELE_EINVALID,
		   "does not name image");
	free(other);
	free(stmt);
}

/*
 * ECDSA P-256 keys sign and attest beside Ed25519 ones; signing again with
 * the same key adds nothing although ECDSA signatures are randomised; a
 * signature checked under keys of the other kind only is not counted,
 * with a reason naming both kinds; a tampered one does not verify.
 */
static void
test_signer_ecdsa(void **state)
{
	struct fixture *f = *state;
	struct stele_attach_result r;
	const struct stele_pubkey *ec[1] = { &f->ec->pub };
	const struct stele_pubkey *ed[1] = { &f->b->pub };
	const struct stele_pubkey *ec2[1] = { &f->ec2->pub };
	const struct stele_pubkey *mixed[2] = { &f->b->pub, &f->ec->pub };
	struct stele_checks *c = NULL;
	struct stele_buf p = STELE_BUF_INIT(STELE_PAYLOAD_MAX);
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen, n;
	char *stmt;

	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->ec));
	assert_int_equal(r.added, 1);
	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->ec));
	assert_int_equal(r.added, 0);
	assert_int_equal(r.count, 1);
	assert_ok(stele_sign_image(&r, f->img, "app:1", NULL, f->a));
	assert_int_equal(r.count, 2);
	/* P-256 key: its signature verifies; the Ed25519 one is of the other kind. */
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, ec, 1, STELE_SIG_PURE));
	assert_int_equal(c->n, 2);
	assert_int_equal(c->v[0].error, 0);
	assert_int_equal(c->v[0].mode, STELE_SIG_ECDSA);
	assert_ptr_equal(c->v[0].key, &f->ec->pub);
	assert_int_equal(c->v[1].unknown_key, 1);
	assert_int_equal(c->v[1].other_kind, 1);
	assert_string_equal(c->v[1].reason, "signature is an Ed25519 signature, "
		"and the 1 trusted key(s) are all ECDSA P-256");
	stele_checks_free(c);
	/* Ed25519 keys only: the ECDSA signature is of the other kind. */
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, ed, 1,
					 STELE_SIG_PURE | STELE_SIG_PREHASH));
	assert_int_equal(stele_checks_ok(c), 0);
	assert_int_equal(c->v[0].unknown_key, 1);
	assert_int_equal(c->v[0].other_kind, 1);
	assert_string_equal(c->v[0].reason, "signature is an ECDSA P-256 "
		"signature, and the 1 trusted key(s) are all Ed25519");
	assert_int_equal(c->v[1].unknown_key, 1);
	assert_int_equal(c->v[1].other_kind, 0);
	stele_checks_free(c);
	/* Another P-256 key, and both kinds: plain "none of the keys". */
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, ec2, 1, STELE_SIG_PURE));
	assert_int_equal(c->v[0].other_kind, 0);
	assert_non_null(strstr(c->v[0].reason, "none of the 1 trusted key"));
	stele_checks_free(c);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, mixed, 2, STELE_SIG_PURE));
	assert_int_equal(stele_checks_ok(c), 1);
	assert_int_equal(c->v[1].other_kind, 0);
	stele_checks_free(c);
	/* A tampered ECDSA signature: one bit of s flipped. */
	assert_ok(stele_payload_build(&p, "app:1", f->other_digest, NULL));
	assert_ok(stele_key_sign(sig, &siglen, f->ec, p.ptr, p.len));
	sig[siglen - 1] ^= 1;
	assert_int_equal(stele_sig_type(sig, siglen), STELE_KEY_ECDSA_P256);
	store_raw_sig(f, p.ptr, sig, siglen);
	assert_ok(stele_signatures_check(&c, f->oci, f->digest, ec, 1, STELE_SIG_PURE));
	/* The tag now holds only it; the two referrers stay. */
	assert_int_equal(c->n, 3);
	assert_int_equal(stele_checks_ok(c), 1);
	assert_int_equal(c->v[0].error, STELE_EVERIFY);
	assert_int_equal(c->v[0].unknown_key, 1);
	assert_int_equal(c->v[0].other_kind, 0);
	assert_non_null(strstr(c->v[0].reason, "none of the 1 trusted key"));
	stele_checks_free(c);
	/* Attestations: the same, over the PAE. */
	stmt = stele_xasprintf("{\"_type\":\"https://in-toto.io/Statement/v1\","
		"\"predicate\":{},\"predicateType\":\"https://slsa.dev/provenance/v1\","
		"\"subject\":[{\"digest\":{\"sha256\":\"%s\"},\"name\":\"app\"}]}",
		f->digest + 7);
	store_statement(f->oci, f->digest, stmt);
	assert_ok(stele_attest_image(&r, &n, f->img, f->ec));
	assert_int_equal(n, 1);
	assert_ok(stele_attest_image(&r, &n, f->img, f->ec));
	assert_int_equal(n, 0);
	assert_int_equal(r.count, 1);
	assert_ok(stele_attestations_check(&c, f->oci, f->digest, ec, 1, STELE_SIG_PURE));
	assert_int_equal(stele_checks_ok(c), 1);
	assert_int_equal(c->v[0].mode, STELE_SIG_ECDSA);
	assert_memory_equal(c->v[0].body.ptr, stmt, strlen(stmt));
	stele_checks_free(c);
	assert_ok(stele_attestations_check(&c, f->oci, f->digest, ed, 1, STELE_SIG_PURE));
	assert_int_equal(c->v[0].other_kind, 1);
	assert_string_equal(c->v[0].reason, "attestation is an ECDSA P-256 "
		"signature, and the 1 trusted key(s) are all Ed25519");
	stele_checks_free(c);
	free(stmt);
	stele_buf_release(&p);
}

/*
 * Interop hook for tests/e2e/t22-cosign.sh, skipped unless it sets
 * STELE_INTEROP_LAYOUT (an OCI layout copied back from a registry where
 * cosign signed), STELE_INTEROP_DIGEST, STELE_INTEROP_PUB and
 * STELE_INTEROP_COUNT: stele's checks must find that many signatures, each
 * verifying with the key in pure Ed25519 and bound to the digest.
 */
static void
test_signer_interop_layout(void **state)
{
	const char *dir = getenv("STELE_INTEROP_LAYOUT");
	const char *digest = getenv("STELE_INTEROP_DIGEST");
	const char *pubfile = getenv("STELE_INTEROP_PUB");
	const char *count = getenv("STELE_INTEROP_COUNT");
	const struct stele_pubkey *keys[8];
	struct stele_pubkey *pubs[8] = { NULL };
	struct stele_checks *c = NULL;
	struct stele_oci *oci = NULL;
	char *list, *tok, *save = NULL;
	size_t i, n = 0;

	(void)state;
	if (!dir || !digest || !pubfile || !count) {
		print_message("skip: interop hook, run by tests/e2e/t22-cosign.sh "
			      "(STELE_INTEROP_* unset)\n");
		skip();
	}
	assert_ok(stele_oci_open(&oci, dir, 0));
	list = stele_xstrdup(pubfile);
	for (tok = strtok_r(list, ":", &save); tok && n < 8;
	     tok = strtok_r(NULL, ":", &save)) {
		assert_ok(stele_pubkey_load(&pubs[n], tok));
		keys[n] = pubs[n];
		n++;
	}
	assert_ok(stele_signatures_check(&c, oci, digest, keys, n, STELE_SIG_PURE));
	for (i = 0; i < c->n; i++)
		print_message("signature %zu: %s identity=%s %s\n", i + 1,
			      c->v[i].error ? "FAILED" : "verified",
			      c->v[i].identity ? c->v[i].identity : "-",
			      c->v[i].reason ? c->v[i].reason : "");
	assert_int_equal(c->n, strtoul(count, NULL, 10));
	assert_int_equal(stele_checks_ok(c), c->n);
	stele_checks_free(c);
	for (i = 0; i < n; i++)
		free(pubs[i]);
	free(list);
	stele_oci_free(oci);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signer_pae_vector),
		cmocka_unit_test(test_signer_dsse_roundtrip),
		cmocka_unit_test(test_signer_payload),
		cmocka_unit_test_setup_teardown(test_signer_sign_twice_two_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_signature_of_another_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_prehash_only_when_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_forged_payloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_attest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_ecdsa, setup, teardown),
		cmocka_unit_test(test_signer_interop_layout),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
