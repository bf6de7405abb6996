#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/transfer.h"
#include "registry/transfer_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/* Copying between two layouts (oci: and the store): blobs are linked or
 * copied and checked (stele_txn_copy_blob), one transaction. */

struct lcopy {
	struct stele_txn *txn;
	const struct stele_oci *src;
	struct stele_transfer *t;
	json_t *seen;
};

static int
copy_blob(struct lcopy *c, const json_t *d, const char *what)
{
	const char *dig;
	int error;

	if ((error = stele_transfer__desc_check(d, what)) < 0)
		return error;
	dig = stele_json_str(d, "digest");
	if (json_object_get(c->seen, dig))
		return 0;
	json_object_set_new(c->seen, dig, json_true());
	c->t->blobs++;
	if (stele_txn_hold_blob(c->txn, dig)) {
		c->t->blobs_present++;
		return 0;
	}
	if ((error = stele_txn_copy_blob(c->txn, c->src, dig)) < 0)
		return error;
	c->t->blobs_sent++;
	c->t->bytes += (uint64_t)json_integer_value(json_object_get(d, "size"));
	return 0;
}

static int
copy_manifest(struct lcopy *c, const char *digest, int depth)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	json_t *m = NULL, *d;
	size_t i;
	int error;

	if (depth > 2)
		return stele_error_setc(STELE_EINVALID,
			"index %s nests too deeply", digest);
	if ((error = stele_oci_blob_read(&b, c->src, digest)) < 0 ||
	    (error = stele_json_parse(&m, b.ptr, b.len, digest)) < 0 ||
	    (error = stele_txn_copy_blob(c->txn, c->src, digest)) < 0)
		goto out;
	c->t->manifests++;
	if (stele_transfer__is_index(m, stele_json_str(m, "mediaType"))) {
		json_array_foreach(json_object_get(m, "manifests"), i, d) {
			if ((error = stele_transfer__desc_check(d, digest)) < 0)
				goto out;
			if (!stele_oci_blob_exists(c->src, stele_json_str(d, "digest")))
				continue; /* a platform that was never pulled */
			if ((error = copy_manifest(c, stele_json_str(d, "digest"),
						   depth + 1)) < 0)
				goto out;
		}
	} else {
		if ((error = copy_blob(c, json_object_get(m, "config"), digest)) < 0)
			goto out;
		json_array_foreach(json_object_get(m, "layers"), i, d)
			if ((error = copy_blob(c, d, digest)) < 0)
				goto out;
	}
out:
	json_decref(m);
	stele_buf_release(&b);
	return error;
}

static json_t *
without_refname(const json_t *desc)
{
	json_t *d = json_deep_copy(desc), *ann = json_object_get(d, "annotations");

	json_object_del(ann, STELE_ANN_REFNAME);
	if (ann && json_object_size(ann) == 0)
		json_object_del(d, "annotations");
	return d;
}

static int
copy_attachments(struct lcopy *c, const char *digest)
{
	static const enum stele_attach_kind kinds[] = STELE_COSIGN_TAGS;
	/* With the manifests: a referrer that does not read is an error,
	 * never silently left behind. */
	json_t *refs = NULL, *mans = NULL, *e;
	size_t i;
	int error = 0;

	for (i = 0; i < STELE_NCOSIGN_TAGS && !error; i++) {
		char *tag = stele_attach_tag_name(digest, kinds[i]);
		json_t *d = NULL, *nd;

		error = stele_oci_resolve(&d, c->src, tag, NULL);
		if (error == STELE_ENOTFOUND) {
			error = 0;
		} else if (!error &&
			   (error = copy_manifest(c, stele_json_str(d, "digest"), 0)) == 0) {
			nd = without_refname(d);
			error = stele_txn_index_add(c->txn, tag, nd);
			json_decref(nd);
			if (kinds[i] == STELE_ATTACH_SIG)
				c->t->signatures++;
			else
				c->t->attestations++;
		}
		json_decref(d);
		free(tag);
	}
	if (error < 0 || (error = stele_oci_referrers(&refs, &mans, c->src, digest)) < 0)
		return error;
	json_array_foreach(refs, i, e) {
		if ((error = copy_manifest(c, stele_json_str(e, "digest"), 0)) < 0 ||
		    (error = stele_txn_index_add(c->txn, NULL, e)) < 0)
			break;
		c->t->referrers++;
	}
	json_decref(refs);
	json_decref(mans);
	return error;
}

int
stele_layout_copy(struct stele_transfer *out, const struct stele_image *img,
		  const struct stele_ref *dst, unsigned flags)
{
	struct lcopy c = { NULL, img->oci, out, json_object() };
	const char *top = stele_json_str(img->desc, "digest");
	struct stele_oci *oci = NULL;
	json_t *desc = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if (dst->transport == STELE_REF_DOCKER || dst->digest) {
		error = stele_error_setc(STELE_EINVALID,
			"a layout copy needs an oci: or store destination with a tag");
		goto out;
	}
	snprintf(out->digest, sizeof(out->digest), "%s", top ? top : "");
	if ((error = stele_oci_open(&oci, dst->dir, 1)) < 0 ||
	    (error = stele_txn_begin(&c.txn, oci)) < 0 ||
	    (error = copy_manifest(&c, out->digest, 0)) < 0)
		goto out;
	if (!(flags & STELE_TRANSFER_NO_ATTACH) &&
	    (error = copy_attachments(&c, out->digest)) < 0)
		goto out;
	desc = without_refname(img->desc);
	out->size = (uint64_t)json_integer_value(json_object_get(desc, "size"));
	if ((error = stele_txn_index_add(c.txn, dst->refname ? dst->refname :
					 "latest", desc)) < 0 ||
	    (error = stele_txn_commit(c.txn)) < 0)
		goto out;
out:
	stele_txn_free(c.txn);
	stele_oci_free(oci);
	json_decref(desc);
	json_decref(c.seen);
	return error;
}
