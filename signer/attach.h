#ifndef STELE_SIGNER_ATTACH_H
#define STELE_SIGNER_ATTACH_H

#include <jansson.h>

#include "oci/referrers.h"

#include "keys/key.h"
#include "oci/image.h"
#include "oci/layout.h"

/*
 * Signatures and attestations stored beside an image in its OCI layout,
 * the way cosign stores them in a registry (docs/interop.md),
 * so that copying the layout's tags to a registry gives what cosign and
 * containers/image read:
 *
 *  - index.json ref.name "sha256-<hex>.sig" names an OCI manifest whose
 *    layers are simple-signing payloads, one per signature, each with the
 *    annotation dev.cosignproject.cosign/signature (base64 signature);
 *    "sha256-<hex>.att" likewise holds DSSE envelopes with the annotations
 *    dev.cosignproject.cosign/signature "" and predicateType;
 *  - and, for OCI 1.1 readers, each signature or attestation is also an
 *    untagged referrer manifest of the image (subject = image manifest),
 *    as cosign's oci-1-1 mode writes it: config.mediaType is
 *    application/vnd.dev.cosign.artifact.{sig,att}.v1+json, one layer.
 *
 * A new signature appends a layer (a new manifest under the same tag); the
 * same layer (same payload and signature) is never added twice, nor the
 * same payload or statement signed again by a key whose signature of it is
 * already under the tag (ECDSA signatures are randomised), and the
 * image's own manifest and index entry are never touched, so its digest
 * never changes.  Writers of a layout's attachments are serialised by an
 * exclusive flock on DIR/blobs held from reading the old manifest to
 * committing the new one.
 */
#define STELE_ART_SIG "application/vnd.dev.cosign.artifact.sig.v1+json"
#define STELE_ART_ATT "application/vnd.dev.cosign.artifact.att.v1+json"
#define STELE_ANN_PREDICATE_TYPE "predicateType"
#define STELE_ATTACH_MAX_LAYERS 1000
/* In-toto statement types stele signs (the builder writes v1). */
#define STELE_INTOTO_V1 "https://in-toto.io/Statement/v1"
#define STELE_INTOTO_V01 "https://in-toto.io/Statement/v0.1"

struct stele_attach_result {
	int added; /* 1: a new layer; 0: it was already there */
	size_t count; /* layers under the tag afterwards */
	char manifest[STELE_DIGEST_STRLEN]; /* the tagged manifest */
};

/*
 * Sign `img` (its manifest digest, img->digest) with `k`: a simple-signing
 * payload for `identity` (a docker reference such as repo:tag) with
 * `optional` (NULL, or an object of string annotations; borrowed), signed
 * over the exact payload bytes (pure Ed25519, or ECDSA P-256 with SHA-256,
 * DER, as cosign signs), stored in img->oci as described above.
 * When img->desc has a ref.name, `identity` is recorded on that index
 * entry (STELE_ANN_IDENTITY), in the same transaction, if the entry still
 * names the image then (a concurrent build of the tag keeps it).
 */
int stele_sign_image(struct stele_attach_result *out,
		     const struct stele_image *img, const char *identity,
		     const json_t *optional, const struct stele_seckey *k);

/*
 * The provenance statements stored as referrers of `digest` (in-toto
 * artifacts whose statement names that digest as a subject): an array of
 * objects {"digest": statement blob digest, "predicateType": ...}.  An
 * empty array when there are none.
 */
int stele_provenance_find(json_t **out, const struct stele_oci *oci,
			  const char *digest);

/*
 * Attest `img`: sign each provenance statement stored with it (its exact
 * stored bytes) as a DSSE envelope of type application/vnd.in-toto+json,
 * stored under sha256-<hex>.att and as a referrer.  *nadded counts the new
 * envelopes, `out` describes the last.  STELE_ENOTFOUND when the image
 * has no provenance statement; STELE_EINVALID when a statement does not
 * name the image as its subject.
 */
int stele_attest_image(struct stele_attach_result *out, size_t *nadded,
		       const struct stele_image *img,
		       const struct stele_seckey *k);

/*
 * Attest `img` with any in-toto statement, given as its exact bytes (an SBOM
 * statement, say): signed as stele_attest_image() signs provenance and
 * stored the same way (sha256-<hex>.att and a referrer; never twice).
 * STELE_EINVALID when the statement is not an in-toto statement with a
 * predicateType naming img->digest as a subject, or is larger than 12 MiB.
 */
int stele_attest_statement(struct stele_attach_result *out,
			   const struct stele_image *img, const void *statement,
			   size_t len, const struct stele_seckey *k);

/*
 * The layers stored for `digest` under its `kind` tag (sha256-<hex>.sig or
 * .att, oci/referrers.h) and
 * by referrers of artifact type `art`, without duplicates: a new array of
 * layer descriptors (possibly empty).  Manifests are read capped, checked
 * against their digests and parsed strictly.
 */
int stele_attach_layers(json_t **out, const struct stele_oci *oci,
			const char *digest, enum stele_attach_kind kind,
			const char *art);

/*
 * Whether the in-toto statement `doc` names `digest` ("sha256:<hex>") among
 * its subjects.
 */
int stele_attach__names_subject(const json_t *doc, const char *digest);

#endif
