#include <stdlib.h>
#include <string.h>

#include "signer/payload.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jstrict.h"
#include "util/json.h"

int
stele_payload_build(struct stele_buf *out, const char *identity,
		    const char *digest, const json_t *optional)
{
	json_t *p;
	int error;

	if ((error = stele_digest_validate(digest)) < 0)
		return error;
	if (optional && !json_is_object(optional))
		return stele_error_setc(
			STELE_EINVALID,
			"signature annotations must be an object");
	/* Sorted keys give cosign's order: critical{identity,image,type},optional. */
	p = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:O?}", "critical", "identity",
		      "docker-reference", identity, "image",
		      "docker-manifest-digest", digest, "type",
		      STELE_SIMPLESIGNING_TYPE, "optional", (json_t *)optional);
	if (!p)
		return stele_error_setc(
			STELE_EINVALID,
			"cannot build a signature payload for '%s'", identity);
	if (!optional)
		json_object_set_new(p, "optional", json_null());
	error = stele_json_emit(out, p);
	json_decref(p);
	return error;
}

void
stele_payload_free(struct stele_payload *p)
{
	if (!p)
		return;
	free(p->identity);
	json_decref(p->optional);
	free(p);
}

static int
check_optional(const json_t *opt)
{
	json_t *c, *t;

	if (json_is_null(opt))
		return 0;
	if (!json_is_object(opt))
		return stele_error_setc(
			STELE_EINVALID,
			"signature payload: 'optional' is neither null nor an object");
	c = json_object_get(opt, "creator");
	t = json_object_get(opt, "timestamp");
	if ((c && !json_is_string(c)) || (t && !json_is_integer(t)))
		return stele_error_setc(
			STELE_EINVALID,
			"signature payload: 'optional' has a non-string creator or a non-integer timestamp");
	return 0;
}

int
stele_payload_parse(struct stele_payload **out, const void *data, size_t len)
{
	struct stele_payload *p = NULL;
	json_t *doc = NULL, *crit, *id, *img, *opt;
	const char *type, *ref, *dig;
	int error;

	*out = NULL;
	if (len > STELE_PAYLOAD_MAX)
		return stele_error_setc(
			STELE_EINVALID,
			"signature payload is too large (%zu bytes)", len);
	if ((error = stele_json_parse(&doc, data, len, "signature payload")) <
	    0)
		return error;
	crit = json_object_get(doc, "critical");
	id = json_object_get(crit, "identity");
	img = json_object_get(crit, "image");
	opt = json_object_get(doc, "optional");
	if ((error = stele_json_exact(doc, "signature payload", "critical",
				      "optional", NULL)) < 0 ||
	    (error = stele_json_exact(crit, "signature payload 'critical'",
				      "identity", "image", "type", NULL)) < 0 ||
	    (error = stele_json_exact(id, "signature payload 'identity'",
				      "docker-reference", NULL)) < 0 ||
	    (error = stele_json_exact(img, "signature payload 'image'",
				      "docker-manifest-digest", NULL)) < 0 ||
	    (error = check_optional(opt)) < 0)
		goto out;
	type = stele_json_str(crit, "type");
	ref = stele_json_str(id, "docker-reference");
	dig = stele_json_str(img, "docker-manifest-digest");
	if (!type || strcmp(type, STELE_SIMPLESIGNING_TYPE)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"signature payload has type '%s', not '%s'",
			type ? type : "(not a string)",
			STELE_SIMPLESIGNING_TYPE);
		goto out;
	}
	if (!ref || !dig || stele_digest_validate(dig) < 0) {
		error = stele_error_setc(
			STELE_EINVALID,
			"signature payload has a malformed docker-reference or docker-manifest-digest");
		goto out;
	}
	p = stele_xcalloc(1, sizeof(*p));
	p->identity = stele_xstrdup(ref);
	memcpy(p->digest, dig, STELE_DIGEST_STRLEN);
	if (json_is_object(opt))
		p->optional = json_incref(opt);
	*out = p;
out:
	json_decref(doc);
	return error;
}
