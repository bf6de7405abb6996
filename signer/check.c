#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/attach.h"
#include "signer/check.h"
#include "signer/dsse.h"
#include "signer/payload.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

#define STATEMENT_MAX STELE_STATEMENT_MAX

void
stele_checks_free(struct stele_checks *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->v[i].reason);
		free(c->v[i].identity);
		free(c->v[i].predicate_type);
		json_decref(c->v[i].optional);
		stele_buf_release(&c->v[i].body);
	}
	free(c->v);
	free(c);
}

size_t
stele_checks_ok(const struct stele_checks *c)
{
	size_t i, n = 0;

	for (i = 0; c && i < c->n; i++)
		n += c->v[i].error == 0;
	return n;
}

/* Record a failure with the current error message as the reason. */
static int
fail(struct stele_check *c, int error)
{
	c->error = error;
	c->reason = stele_xstrdup(stele_error_last());
	return error;
}

static int
read_blob(struct stele_check *c, const struct stele_oci *oci,
	  const json_t *layer, size_t max)
{
	const char *d = stele_json_str(layer, "digest");
	json_t *sz = json_object_get(layer, "size");
	int error;

	if (!d || stele_digest_validate(d) < 0 || !json_is_integer(sz) ||
	    json_integer_value(sz) < 0 || (size_t)json_integer_value(sz) > max)
		return fail(
			c,
			stele_error_setc(
				STELE_EINVALID,
				"layer descriptor has a malformed digest or size"));
	snprintf(c->blob, sizeof(c->blob), "%s", d);
	c->body = (struct stele_buf)STELE_BUF_INIT(max);
	if ((error = stele_oci_blob_read(&c->body, oci, d)) < 0)
		return fail(c,
			    error == STELE_ENOTFOUND ? STELE_EVERIFY : error);
	if (c->body.len != (size_t)json_integer_value(sz))
		return fail(
			c,
			stele_error_setc(
				STELE_EVERIFY,
				"blob %s has %zu bytes, its descriptor says %lld",
				d, c->body.len,
				(long long)json_integer_value(sz)));
	return 0;
}

/* A bit per key type (1 << type) among the keys. */
static unsigned
key_types(const struct stele_pubkey *const *keys, size_t nkeys)
{
	unsigned m = 0;
	size_t i;

	for (i = 0; i < nkeys; i++)
		m |= 1u << keys[i]->type;
	return m;
}

/*
 * An item no key verified: not counted, with the reason.  When no key is
 * of the signature's kind (an ECDSA signature and Ed25519 keys only, or
 * the reverse) the reason names both kinds; `sig_types` has a bit per
 * kind of signature found (1 << stele_key_type).
 */
static int
fail_unknown(struct stele_check *c, const char *what, unsigned sig_types,
	     const struct stele_pubkey *const *keys, size_t nkeys)
{
	unsigned kt = key_types(keys, nkeys);

	if (nkeys && sig_types && !(sig_types & kt)) {
		enum stele_key_type t = sig_types & (1u << STELE_KEY_ECDSA_P256)
			? STELE_KEY_ECDSA_P256
			: STELE_KEY_ED25519;
		enum stele_key_type o = t == STELE_KEY_ED25519
			? STELE_KEY_ECDSA_P256
			: STELE_KEY_ED25519;

		stele_error_setc(
			STELE_EVERIFY,
			"%s is an %s signature, and the %zu trusted key(s) are all %s",
			what, stele_key_type_name(t), nkeys,
			stele_key_type_name(o));
		c->other_kind = 1;
	} else {
		stele_error_setc(
			STELE_EVERIFY,
			"%s verifies with none of the %zu trusted key(s)", what,
			nkeys);
	}
	c->unknown_key = 1;
	return fail(c, STELE_EVERIFY);
}

static int
check_signature(struct stele_check *c, const struct stele_oci *oci,
		const json_t *layer, const char *digest,
		const struct stele_pubkey *const *keys, size_t nkeys,
		unsigned modes)
{
	const char *b64 = stele_json_str(json_object_get(layer, "annotations"),
					 STELE_ANN_COSIGN_SIG);
	struct stele_buf sig = STELE_BUF_INIT(STELE_SIG_MAX + 4);
	struct stele_payload *p = NULL;
	size_t i;
	int error;

	if ((error = read_blob(c, oci, layer, STELE_PAYLOAD_MAX)) < 0)
		goto out;
	if (!b64)
		error = stele_error_setc(STELE_EINVALID,
					 "layer has no %s annotation",
					 STELE_ANN_COSIGN_SIG);
	else if (strlen(b64) > 4 * ((STELE_SIG_MAX + 2) / 3))
		error = stele_error_setc(
			STELE_EINVALID,
			"signature annotation is too long for Ed25519 or ECDSA P-256");
	else if ((error = stele_base64_decode(&sig, b64, strlen(b64),
					      "signature annotation")) == 0 &&
		 !stele_sig_type((unsigned char *)sig.ptr, sig.len))
		error = stele_error_setc(
			STELE_EINVALID,
			"signature is %zu bytes, neither Ed25519 (64 bytes) nor "
			"ECDSA P-256 (DER)",
			sig.len);
	if (error < 0) {
		/* No trusted key can have made it: anyone who can write the
		 * tag can add such a layer, so it is not counted (it cannot
		 * deny an image either). */
		fail(c, error);
		c->unknown_key = c->malformed = 1;
		goto out;
	}
	error = stele_error_setc(
		STELE_EVERIFY,
		"signature verifies with none of the %zu trusted key(s)",
		nkeys);
	for (i = 0; i < nkeys && error; i++)
		if (stele_key_verify(&c->mode, keys[i],
				     (unsigned char *)sig.ptr, sig.len,
				     c->body.ptr, c->body.len, modes) == 0) {
			c->key = keys[i];
			error = 0;
		}
	if (error) {
		fail_unknown(
			c, "signature",
			1u << stele_sig_type((unsigned char *)sig.ptr, sig.len),
			keys, nkeys);
		goto out;
	}
	if ((error = stele_payload_parse(&p, c->body.ptr, c->body.len)) < 0) {
		fail(c, error);
		goto out;
	}
	c->identity = stele_xstrdup(p->identity);
	c->optional = json_incref(p->optional);
	if (strcmp(p->digest, digest)) {
		stele_error_setc(STELE_EVERIFY,
				 "signature is for image %s, not %s", p->digest,
				 digest);
		error = fail(c, STELE_EVERIFY);
	}
out:
	stele_payload_free(p);
	stele_buf_release(&sig);
	return error;
}

static int
statement_bound(struct stele_check *c, const char *ann_type, const char *digest)
{
	json_t *doc = NULL;
	const char *pt;
	int error, named;

	if ((error = stele_json_parse(&doc, c->body.ptr, c->body.len,
				      "attested statement")) < 0)
		return fail(c, error);
	pt = stele_json_str(doc, "predicateType");
	named = stele_attach__names_subject(doc, digest);
	if (!pt)
		error = stele_error_setc(
			STELE_EINVALID,
			"attested statement has no predicateType");
	else if (ann_type && strcmp(ann_type, pt))
		error = stele_error_setc(
			STELE_EVERIFY,
			"attestation layer says predicateType '%s' but its statement says '%s'",
			ann_type, pt);
	else if (!named)
		error = stele_error_setc(
			STELE_EVERIFY,
			"attested statement does not name image %s as a subject",
			digest);
	if (pt)
		c->predicate_type = stele_xstrdup(pt);
	json_decref(doc);
	return error ? fail(c, error) : 0;
}

static int
check_attestation(struct stele_check *c, const struct stele_oci *oci,
		  const json_t *layer, const char *digest,
		  const struct stele_pubkey *const *keys, size_t nkeys,
		  unsigned modes)
{
	struct stele_dsse *e = NULL;
	size_t i;
	int error;

	if ((error = read_blob(c, oci, layer, STELE_DSSE_MAX)) < 0)
		return error;
	if ((error = stele_dsse_parse(&e, c->body.ptr, c->body.len,
				      "attestation envelope")) < 0) {
		/* Not an envelope: no trusted key made it; not counted. */
		fail(c, error);
		c->unknown_key = c->malformed = 1;
		return error;
	}
	error = STELE_EVERIFY;
	for (i = 0; i < nkeys && error; i++)
		if (stele_dsse_verify(&c->mode, e, keys[i], modes) == 0) {
			c->key = keys[i];
			error = 0;
		}
	if (error) {
		unsigned types = 0;

		for (i = 0; i < e->nsigs; i++)
			if (e->sigs[i].usable)
				types |= 1u << stele_sig_type(e->sigs[i].sig,
							      e->sigs[i].len);
		fail_unknown(c, "attestation", types, keys, nkeys);
		goto out;
	}
	/* Signed by a trusted key (the type is under the signature, PAE):
	 * another payloadType is a forgery, not noise. */
	if (strcmp(e->type, STELE_PAYLOAD_INTOTO)) {
		stele_error_setc(STELE_EVERIFY,
				 "attestation payloadType is '%s', not '%s'",
				 e->type, STELE_PAYLOAD_INTOTO);
		error = fail(c, STELE_EVERIFY);
		goto out;
	}
	/* From here on the body is the statement itself. */
	stele_buf_release(&c->body);
	c->body = e->payload;
	e->payload = (struct stele_buf)STELE_BUF_INIT(0);
	error = statement_bound(
		c,
		stele_json_str(json_object_get(layer, "annotations"),
			       STELE_ANN_PREDICATE_TYPE),
		digest);
out:
	stele_dsse_free(e);
	return error;
}

static int
check_all(struct stele_checks **out, const struct stele_oci *oci,
	  const char *digest, const struct stele_pubkey *const *keys,
	  size_t nkeys, unsigned modes, int att)
{
	json_t *layers = NULL, *l;
	struct stele_checks *res;
	size_t i;
	int error;

	*out = NULL;
	if ((error = stele_digest_validate(digest)) < 0 ||
	    (error = stele_attach_layers(
		     &layers, oci, digest,
		     att ? STELE_ATTACH_ATT : STELE_ATTACH_SIG,
		     att ? STELE_ART_ATT : STELE_ART_SIG)) < 0)
		return error;
	res = stele_xcalloc(1, sizeof(*res));
	res->v = stele_xcalloc(json_array_size(layers) + 1, sizeof(*res->v));
	json_array_foreach(layers, i, l) {
		const char *mt = stele_json_str(l, "mediaType");
		struct stele_check *c = &res->v[res->n];

		if (!mt ||
		    strcmp(mt, att ? STELE_MT_DSSE : STELE_MT_SIMPLESIGNING))
			continue;
		res->n++;
		if (att)
			check_attestation(c, oci, l, digest, keys, nkeys,
					  modes);
		else
			check_signature(c, oci, l, digest, keys, nkeys, modes);
	}
	json_decref(layers);
	*out = res;
	return 0;
}

int
stele_signatures_check(struct stele_checks **out, const struct stele_oci *oci,
		       const char *digest,
		       const struct stele_pubkey *const *keys, size_t nkeys,
		       unsigned modes)
{
	return check_all(out, oci, digest, keys, nkeys, modes, 0);
}

int
stele_attestations_check(struct stele_checks **out, const struct stele_oci *oci,
			 const char *digest,
			 const struct stele_pubkey *const *keys, size_t nkeys,
			 unsigned modes)
{
	return check_all(out, oci, digest, keys, nkeys, modes, 1);
}
