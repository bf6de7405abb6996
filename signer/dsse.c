#include <stdlib.h>
#include <string.h>

#include "signer/dsse.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jstrict.h"
#include "util/json.h"

int
stele_dsse_pae(struct stele_buf *out, const char *type, const void *body,
	       size_t len)
{
	int error;

	if ((error = stele_buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type),
				      type, len)) < 0)
		return error;
	return stele_buf_put(out, body, len);
}

int
stele_dsse_sign(struct stele_buf *out, const struct stele_seckey *k,
		const char *type, const void *body, size_t len)
{
	struct stele_buf pae = STELE_BUF_INIT(STELE_DSSE_MAX);
	struct stele_buf b = STELE_BUF_INIT(STELE_DSSE_MAX);
	struct stele_buf s = STELE_BUF_INIT(256);
	unsigned char sig[STELE_SIG_MAX];
	size_t siglen;
	json_t *env = NULL;
	int error;

	if ((error = stele_dsse_pae(&pae, type, body, len)) < 0 ||
	    (error = stele_key_sign(sig, &siglen, k, pae.ptr, pae.len)) < 0 ||
	    (error = stele_base64_encode(&b, body, len)) < 0 ||
	    (error = stele_base64_encode(&s, sig, siglen)) < 0)
		goto out;
	env = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payload", b.ptr,
			"payloadType", type, "signatures", "keyid", "", "sig",
			s.ptr);
	if (!env) {
		error = stele_error_set("cannot build a DSSE envelope");
		goto out;
	}
	error = stele_json_emit(out, env);
out:
	json_decref(env);
	stele_buf_release(&s);
	stele_buf_release(&b);
	stele_buf_release(&pae);
	return error;
}

void
stele_dsse_free(struct stele_dsse *e)
{
	if (!e)
		return;
	free(e->type);
	stele_buf_release(&e->payload);
	free(e->sigs);
	free(e);
}

int
stele_dsse_parse(struct stele_dsse **out, const void *data, size_t len,
		 const char *what)
{
	struct stele_dsse *e = stele_xcalloc(1, sizeof(*e));
	struct stele_buf raw = STELE_BUF_INIT(STELE_SIG_MAX + 4);
	json_t *doc = NULL, *sigs, *s;
	const char *type, *payload;
	size_t i;
	int error;

	*out = NULL;
	e->payload = (struct stele_buf)STELE_BUF_INIT(STELE_DSSE_MAX);
	if (len > STELE_DSSE_MAX) {
		error = stele_error_setc(STELE_EINVALID, "%s is too large",
					 what);
		goto out;
	}
	if ((error = stele_json_parse(&doc, data, len, what)) < 0 ||
	    (error = stele_json_exact(doc, what, "payload", "payloadType",
				      "signatures", NULL)) < 0)
		goto out;
	type = stele_json_str(doc, "payloadType");
	payload = stele_json_str(doc, "payload");
	sigs = json_object_get(doc, "signatures");
	if (!type || !payload || !json_is_array(sigs) ||
	    json_array_size(sigs) == 0 ||
	    json_array_size(sigs) > STELE_DSSE_MAX_SIGS) {
		error = stele_error_setc(
			STELE_EINVALID,
			"%s: payload and payloadType must be strings and signatures "
			"an array of 1 to %d",
			what, STELE_DSSE_MAX_SIGS);
		goto out;
	}
	if ((error = stele_base64_decode(&e->payload, payload, strlen(payload),
					 "DSSE payload")) < 0) {
		stele_error_prefix(error, "%s", what);
		goto out;
	}
	e->type = stele_xstrdup(type);
	e->nsigs = json_array_size(sigs);
	e->sigs = stele_xcalloc(e->nsigs, sizeof(*e->sigs));
	json_array_foreach(sigs, i, s) {
		const char *sig = stele_json_str(s, "sig");
		json_t *kid = json_object_get(s, "keyid");

		if ((error = stele_json_exact(s, "DSSE signature", "sig", "?",
					      "keyid", NULL)) < 0) {
			stele_error_prefix(error, "%s", what);
			goto out;
		}
		if (!sig || (kid && !json_is_string(kid))) {
			error = stele_error_setc(
				STELE_EINVALID,
				"%s: signature %zu has a non-string sig or keyid",
				what, i + 1);
			goto out;
		}
		stele_buf_clear(&raw);
		if (strlen(sig) > 4 * ((STELE_SIG_MAX + 2) / 3)) {
			e->sigs[i].usable = 0; /* some other, larger kind */
			continue;
		}
		if ((error = stele_base64_decode(&raw, sig, strlen(sig),
						 "DSSE signature")) < 0) {
			stele_error_prefix(error, "%s", what);
			goto out;
		}
		if (stele_sig_type((unsigned char *)raw.ptr, raw.len)) {
			memcpy(e->sigs[i].sig, raw.ptr, raw.len);
			e->sigs[i].len = raw.len;
			e->sigs[i].usable = 1;
		}
	}
	*out = e;
	e = NULL;
out:
	stele_buf_release(&raw);
	json_decref(doc);
	stele_dsse_free(e);
	return error;
}

int
stele_dsse_verify(enum stele_sig_mode *mode, const struct stele_dsse *e,
		  const struct stele_pubkey *k, unsigned modes)
{
	struct stele_buf pae = STELE_BUF_INIT(STELE_DSSE_MAX + 256);
	size_t i;
	int error;

	if ((error = stele_dsse_pae(&pae, e->type, e->payload.ptr,
				    e->payload.len)) < 0)
		goto out;
	error = STELE_EVERIFY;
	for (i = 0; i < e->nsigs && error; i++)
		if (e->sigs[i].usable &&
		    stele_key_verify(mode, k, e->sigs[i].sig, e->sigs[i].len,
				     pae.ptr, pae.len, modes) == 0)
			error = 0;
	if (error)
		stele_error_setc(
			STELE_EVERIFY,
			"no signature in the envelope verifies with key %.16s",
			k->id);
out:
	stele_buf_release(&pae);
	return error;
}
