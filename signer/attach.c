#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "signer/attach.h"
#include "signer/dsse.h"
#include "signer/payload.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

#define ANN_SUBJECT "dev.stele.subject"
#define STATEMENT_MAX STELE_STATEMENT_MAX

static int
lock_layout(int *fd, const struct stele_oci *oci)
{
	char *p = stele_path_join(oci->dir, "blobs");
	int error = 0;

	if ((*fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(*fd, LOCK_EX) < 0)
		error = stele_error_errno("cannot lock '%s'", p);
	free(p);
	return error;
}

/* A manifest blob: digest-checked, capped, strictly parsed, with layers. */
static int
read_manifest(json_t **out, const struct stele_oci *oci, const char *digest)
{
	int error;

	if ((error = stele_oci_json_read(out, NULL, oci, digest)) == 0 &&
	    !json_is_array(json_object_get(*out, "layers"))) {
		json_decref(*out);
		*out = NULL;
		error = stele_error_setc(STELE_EINVALID,
					 "manifest %s has no layers array",
					 digest);
	}
	return error;
}

static void
append_unique(json_t *arr, json_t *item)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_equal(v, item))
			return;
	json_array_append(arr, item);
}

/* Layers of the manifest tagged `tag`; an empty array when untagged. */
static int
tagged_layers(json_t **out, char found[STELE_DIGEST_STRLEN],
	      const struct stele_oci *oci, const char *tag)
{
	json_t *desc = NULL, *man = NULL;
	const char *d;
	int error;

	*out = NULL;
	found[0] = '\0';
	error = stele_oci_resolve(&desc, oci, tag, NULL);
	if (error == STELE_ENOTFOUND) {
		*out = json_array();
		return 0;
	}
	if (error < 0)
		return error;
	d = stele_json_str(desc, "digest");
	if ((error = read_manifest(&man, oci, d ? d : "")) == 0) {
		snprintf(found, STELE_DIGEST_STRLEN, "%s", d);
		*out = json_deep_copy(json_object_get(man, "layers"));
	} else {
		stele_error_prefix(error, "cannot read '%s'", tag);
	}
	json_decref(man);
	json_decref(desc);
	return error;
}

int
stele_attach_layers(json_t **out, const struct stele_oci *oci,
		    const char *digest, enum stele_attach_kind kind,
		    const char *art)
{
	char *tag = stele_attach_tag_name(digest, kind),
	     found[STELE_DIGEST_STRLEN];
	json_t *res = NULL, *refs = NULL, *mans = NULL, *m, *man, *l;
	size_t i, j;
	int error;

	*out = NULL;
	if ((error = tagged_layers(&res, found, oci, tag)) < 0 ||
	    (error = stele_oci_referrers(&refs, &mans, oci, digest)) < 0)
		goto out;
	json_array_foreach(refs, i, m) {
		const char *at = stele_json_str(m, "artifactType");
		const char *cm;

		man = json_array_get(mans, i);
		cm = stele_json_str(json_object_get(man, "config"),
				    "mediaType");
		if (!at || strcmp(at, art) || !cm || strcmp(cm, art))
			continue;
		json_array_foreach(json_object_get(man, "layers"), j, l)
			append_unique(res, l);
		if (json_array_size(res) > 2 * STELE_ATTACH_MAX_LAYERS) {
			error = stele_error_setc(
				STELE_EINVALID,
				"image %s has more than %d attachments", digest,
				2 * STELE_ATTACH_MAX_LAYERS);
			goto out;
		}
	}
	*out = res;
	res = NULL;
out:
	json_decref(refs);
	json_decref(mans);
	json_decref(res);
	free(tag);
	return error;
}

static int
put_manifest(char digest[STELE_DIGEST_STRLEN], uint64_t *size,
	     struct stele_txn *txn, const char *config_mt, json_t *layers,
	     const json_t *subject)
{
	struct stele_buf m = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf c = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char cdig[STELE_DIGEST_STRLEN];
	int error;

	if ((error = stele_attach_manifest(&m, &c, config_mt, layers,
					   subject)) == 0 &&
	    (error = stele_txn_put_blob(txn, c.ptr, c.len, cdig)) == 0 &&
	    (error = stele_txn_put_blob(txn, m.ptr, m.len, digest)) == 0)
		*size = m.len;
	stele_buf_release(&c);
	stele_buf_release(&m);
	return error;
}

static json_t *
image_desc(const struct stele_image *img)
{
	const char *mt = stele_json_str(img->manifest, "mediaType");

	return stele_descriptor(mt ? mt : STELE_MT_MANIFEST, img->digest,
				img->size);
}

/*
 * A signature's identity is recorded on the image's own index entry (not
 * its manifest: the digest stays), so that verify binds signatures to it
 * when the image is named by a layout tag (verify/verify.h).
 */
static int
record_identity(struct stele_txn *txn, const struct stele_image *img,
		const char *identity)
{
	json_t *ann = json_object_get(img->desc, "annotations");
	const char *refname = stele_json_str(ann, STELE_ANN_REFNAME);
	const char *was = stele_json_str(ann, STELE_ANN_IDENTITY);
	const char *digest = stele_json_str(img->desc, "digest");

	if (!identity || !refname || !digest || (was && !strcmp(was, identity)))
		return 0;
	/* Only if the tag still names this image at commit: a build that
	 * retagged it meanwhile keeps its tag. */
	return stele_txn_index_annotate(txn, refname, digest,
					STELE_ANN_IDENTITY, identity);
}

/*
 * The image and the layers already under the tag are held by the
 * transaction (stele_txn_hold_blob): a prune while it runs cannot leave
 * the new manifests pointing at blobs that are gone (the image may lose
 * its tag to a concurrent build meanwhile).
 */
static void
hold_referenced(struct stele_txn *txn, const struct stele_image *img,
		const json_t *layers)
{
	json_t *l;
	size_t i;

	stele_txn_hold_blob(txn, img->digest);
	stele_txn_hold_blob(txn, img->config_digest);
	json_array_foreach(json_object_get(img->manifest, "layers"), i, l)
		stele_txn_hold_blob(txn, stele_json_str(l, "digest"));
	json_array_foreach(layers, i, l)
		stele_txn_hold_blob(txn, stele_json_str(l, "digest"));
}

/*
 * What is being attached, to find the same statement already signed by the
 * same key: ECDSA signatures are randomised, so signing again gives another
 * layer for the same thing (Ed25519's deterministic ones are equal).
 */
struct signed_what {
	const struct stele_pubkey *key;
	const char *type; /* DSSE payloadType; NULL: a signature */
	const void *body; /* the payload or statement */
	size_t len;
};

static int
same_signed(const json_t *layer, const struct stele_oci *oci,
	    const struct signed_what *w)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_DSSE_MAX);
	struct stele_dsse *e = NULL;
	const char *d = stele_json_str(layer, "digest"), *sig;
	char want[STELE_DIGEST_STRLEN];
	int same = 0;

	if (!w->type) {
		sig = stele_json_str(json_object_get(layer, "annotations"),
				     STELE_ANN_COSIGN_SIG);
		stele_digest_bytes(want, w->body, w->len);
		same = d && sig && !strcmp(d, want) &&
			strlen(sig) <= 4 * ((STELE_SIG_MAX + 2) / 3) &&
			stele_base64_decode(&b, sig, strlen(sig),
					    "signature") == 0 &&
			stele_key_verify(NULL, w->key, (unsigned char *)b.ptr,
					 b.len, w->body, w->len,
					 STELE_SIG_PURE) == 0;
	} else if (d && stele_oci_blob_read(&b, oci, d) == 0 &&
		   stele_digest_check(d, b.ptr, b.len) == 0 &&
		   stele_dsse_parse(&e, b.ptr, b.len, d) == 0) {
		same = !strcmp(e->type, w->type) && e->payload.len == w->len &&
			!memcmp(e->payload.ptr, w->body, w->len) &&
			stele_dsse_verify(NULL, e, w->key, STELE_SIG_PURE) == 0;
	}
	stele_dsse_free(e);
	stele_buf_release(&b);
	return same;
}

/*
 * Store one blob as a new layer under the tag and as a referrer, unless
 * that layer, or (when `w` is given) the same thing signed by the same
 * key, is already there.
 */
static int
attach(struct stele_attach_result *out, const struct stele_image *img,
       enum stele_attach_kind kind, const char *art, const char *layer_mt,
       const void *blob, size_t len, json_t *ann, const struct signed_what *w,
       const char *identity)
{
	char *tag = stele_attach_tag_name(img->digest, kind);
	char bdig[STELE_DIGEST_STRLEN], got[STELE_DIGEST_STRLEN];
	char rdig[STELE_DIGEST_STRLEN];
	json_t *layers = NULL, *layer, *one = NULL, *subject = NULL, *d = NULL,
	       *l;
	struct stele_txn *txn = NULL;
	uint64_t size;
	size_t i;
	int lockfd = -1, error;

	memset(out, 0, sizeof(*out));
	stele_digest_bytes(bdig, blob, len);
	layer = json_pack("{s:s,s:I,s:s,s:o}", "mediaType", layer_mt, "size",
			  (json_int_t)len, "digest", bdig, "annotations", ann);
	if ((error = lock_layout(&lockfd, img->oci)) < 0 ||
	    (error = tagged_layers(&layers, out->manifest, img->oci, tag)) < 0)
		goto out;
	json_array_foreach(layers, i, l)
		if (json_equal(l, layer) ||
		    (w && same_signed(l, img->oci, w))) {
			out->count = json_array_size(layers);
			goto out; /* already there: nothing to write */
		}
	if (json_array_size(layers) >= STELE_ATTACH_MAX_LAYERS) {
		error = stele_error_setc(STELE_EINVALID,
					 "'%s' already holds %d layers", tag,
					 STELE_ATTACH_MAX_LAYERS);
		goto out;
	}
	json_array_append(layers, layer);
	one = json_pack("[O]", layer);
	subject = image_desc(img);
	if ((error = stele_txn_begin(&txn, img->oci)) < 0)
		goto out;
	hold_referenced(txn, img, layers);
	if ((error = stele_txn_put_blob(txn, blob, len, got)) < 0 ||
	    (error = put_manifest(out->manifest, &size, txn, STELE_MT_CONFIG,
				  layers, NULL)) < 0)
		goto out;
	d = stele_descriptor(STELE_MT_MANIFEST, out->manifest, size);
	if ((error = stele_txn_index_add(txn, tag, d)) < 0 ||
	    (error = put_manifest(rdig, &size, txn, art, one, subject)) < 0)
		goto out;
	json_decref(d);
	d = stele_descriptor(STELE_MT_MANIFEST, rdig, size);
	json_object_set_new(d, "artifactType", json_string(art));
	json_object_set_new(d, "annotations",
			    json_pack("{s:s}", ANN_SUBJECT, img->digest));
	if ((error = stele_txn_index_add(txn, NULL, d)) < 0 ||
	    (error = record_identity(txn, img, identity)) < 0 ||
	    (error = stele_txn_commit(txn)) < 0)
		goto out;
	out->added = 1;
	out->count = json_array_size(layers);
out:
	stele_txn_free(txn);
	if (lockfd >= 0)
		close(lockfd);
	json_decref(d);
	json_decref(subject);
	json_decref(one);
	json_decref(layers);
	json_decref(layer);
	free(tag);
	return error;
}

int
stele_sign_image(struct stele_attach_result *out, const struct stele_image *img,
		 const char *identity, const json_t *optional,
		 const struct stele_seckey *k)
{
	struct stele_buf p = STELE_BUF_INIT(STELE_PAYLOAD_MAX);
	struct stele_buf s = STELE_BUF_INIT(256);
	unsigned char sig[STELE_SIG_MAX];
	struct signed_what w = { &k->pub, NULL, NULL, 0 };
	size_t siglen;
	int error;

	memset(out, 0, sizeof(*out));
	if (!identity || !*identity)
		return stele_error_setc(
			STELE_EINVALID,
			"a signature needs an identity (repository:tag)");
	if ((error = stele_payload_build(&p, identity, img->digest, optional)) <
		    0 ||
	    (error = stele_key_sign(sig, &siglen, k, p.ptr, p.len)) < 0 ||
	    (error = stele_base64_encode(&s, sig, siglen)) < 0)
		goto out;
	w.body = p.ptr;
	w.len = p.len;
	error = attach(out, img, STELE_ATTACH_SIG, STELE_ART_SIG,
		       STELE_MT_SIMPLESIGNING, p.ptr, p.len,
		       json_pack("{s:s}", STELE_ANN_COSIGN_SIG, s.ptr), &w,
		       identity);
out:
	stele_buf_release(&s);
	stele_buf_release(&p);
	return error;
}

int
stele_provenance_find(json_t **out, const struct stele_oci *oci,
		      const char *digest)
{
	json_t *idx = NULL, *res = json_array(), *m;
	size_t i;
	int error;

	*out = NULL;
	if ((error = stele_oci_index_load(&idx, oci)) < 0)
		goto out;
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *d = stele_json_str(m, "digest"), *at, *sd, *ld,
			   *lmt;
		json_t *man = NULL, *l;

		at = stele_json_str(m, "artifactType");
		if (!d || !at || strcmp(at, STELE_PAYLOAD_INTOTO))
			continue;
		if ((error = read_manifest(&man, oci, d)) < 0)
			goto out;
		sd = stele_json_str(json_object_get(man, "subject"), "digest");
		l = json_array_get(json_object_get(man, "layers"), 0);
		ld = stele_json_str(l, "digest");
		lmt = stele_json_str(l, "mediaType");
		if (sd && !strcmp(sd, digest) && ld && lmt &&
		    !strcmp(lmt, STELE_PAYLOAD_INTOTO) &&
		    stele_digest_validate(ld) == 0)
			json_array_append_new(res,
					      json_pack("{s:s}", "digest", ld));
		json_decref(man);
	}
	*out = res;
	res = NULL;
out:
	json_decref(res);
	json_decref(idx);
	return error;
}

/* The statement's predicateType, once it is checked to name `digest`. */
int
stele_attach__names_subject(const json_t *doc, const char *digest)
{
	const char *h;
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(doc, "subject"), i, s) {
		h = stele_json_str(json_object_get(s, "digest"), "sha256");
		if (h && !strcmp(h, digest + 7))
			return 1;
	}
	return 0;
}

static int
statement_check(char **ptype, const struct stele_buf *st, const char *digest)
{
	json_t *doc = NULL;
	const char *t, *pt;
	int error, named;

	*ptype = NULL;
	if ((error = stele_json_parse(&doc, st->ptr, st->len,
				      "provenance statement")) < 0)
		return error;
	t = stele_json_str(doc, "_type");
	pt = stele_json_str(doc, "predicateType");
	named = stele_attach__names_subject(doc, digest);
	if (!t || (strcmp(t, STELE_INTOTO_V1) && strcmp(t, STELE_INTOTO_V01)) ||
	    !pt)
		error = stele_error_setc(
			STELE_EINVALID,
			"the provenance statement is not an in-toto statement with a predicateType");
	else if (!named)
		error = stele_error_setc(
			STELE_EINVALID,
			"the provenance statement does not name image %s as its subject",
			digest);
	else
		*ptype = stele_xstrdup(pt);
	json_decref(doc);
	return error;
}

/* Sign one statement (its exact bytes) and attach the envelope. */
static int
attest_one(struct stele_attach_result *out, const struct stele_image *img,
	   const struct stele_buf *st, const struct stele_seckey *k)
{
	struct stele_buf env = STELE_BUF_INIT(STELE_DSSE_MAX);
	struct signed_what w = { &k->pub, STELE_PAYLOAD_INTOTO, st->ptr,
				 st->len };
	char *ptype = NULL;
	int error;

	if ((error = statement_check(&ptype, st, img->digest)) == 0 &&
	    (error = stele_dsse_sign(&env, k, STELE_PAYLOAD_INTOTO, st->ptr,
				     st->len)) == 0)
		error = attach(out, img, STELE_ATTACH_ATT, STELE_ART_ATT,
			       STELE_MT_DSSE, env.ptr, env.len,
			       json_pack("{s:s,s:s}", STELE_ANN_COSIGN_SIG, "",
					 STELE_ANN_PREDICATE_TYPE, ptype),
			       &w, NULL);
	free(ptype);
	stele_buf_release(&env);
	return error;
}

int
stele_attest_image(struct stele_attach_result *out, size_t *nadded,
		   const struct stele_image *img, const struct stele_seckey *k)
{
	json_t *found = NULL, *f;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	*nadded = 0;
	if ((error = stele_provenance_find(&found, img->oci, img->digest)) < 0)
		return error;
	if (json_array_size(found) == 0) {
		json_decref(found);
		return stele_error_setc(
			STELE_ENOTFOUND,
			"image %s has no provenance statement to attest",
			img->digest);
	}
	json_array_foreach(found, i, f) {
		struct stele_buf st = STELE_BUF_INIT(STATEMENT_MAX);

		if ((error = stele_oci_blob_read(
			     &st, img->oci, stele_json_str(f, "digest"))) == 0)
			error = attest_one(out, img, &st, k);
		if (!error && out->added)
			(*nadded)++;
		stele_buf_release(&st);
		if (error)
			break;
	}
	json_decref(found);
	return error;
}

int
stele_attest_statement(struct stele_attach_result *out,
		       const struct stele_image *img, const void *statement,
		       size_t len, const struct stele_seckey *k)
{
	struct stele_buf st = STELE_BUF_INIT(STATEMENT_MAX);
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = stele_buf_put(&st, statement, len)) < 0)
		error = stele_error_setc(
			STELE_EINVALID,
			"the statement to attest is larger than %u MiB",
			STATEMENT_MAX >> 20);
	else
		error = attest_one(out, img, &st, k);
	stele_buf_release(&st);
	return error;
}
