#ifndef STELE_BUILDER_PROVENANCE_H
#define STELE_BUILDER_PROVENANCE_H

#include <jansson.h>
#include <stdint.h>

#include "oci/layout.h"

/*
 * Build provenance: an in-toto Statement v1 with an SLSA v1 predicate
 * (docs/provenance.md).  Per-layer records go in runDetails.byproducts, one
 * ResourceDescriptor per image layer, in image order.
 */
#define STELE_BUILD_TYPE "https://stele.dev/buildtypes/recipe/v1"
#define STELE_PREDICATE_SLSA1 "https://slsa.dev/provenance/v1"
#define STELE_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define STELE_MT_INTOTO "application/vnd.in-toto+json"
#define STELE_ANN_PREDICATE "in-toto.io/predicate-type"

struct stele_prov {
	json_t *external; /* externalParameters */
	json_t *internal; /* internalParameters */
	json_t *deps; /* resolvedDependencies */
	json_t *layers; /* byproducts */
	char started[32];
};

void stele_prov_init(struct stele_prov *p);
void stele_prov_release(struct stele_prov *p);
/* A dependency {uri, digest:{algo:value,...}}; `digest` is stolen.
 * Added once per uri+digest. */
void stele_prov_dep(struct stele_prov *p, const char *uri, json_t *digest);
/* The same with a `name`: the dependency as the recipe wrote it, when the
 * uri says where it can be fetched again (docker://HOST/REPO@sha256:…). */
void stele_prov_dep_named(struct stele_prov *p, const char *uri,
			  const char *name, json_t *digest);
/*
 * A layer record.  `inputs` (stolen) is an array of what the step consumed,
 * each an object with a digest; `base` marks layers inherited from a base.
 */
void stele_prov_layer(struct stele_prov *p, const char *media_type,
		      const char *digest, uint64_t size, const char *diff_id,
		      const char *stage, const char *recipe, int line,
		      const char *instruction, json_t *inputs, int base);
/* One record (the form of runDetails.byproducts); `inputs` is stolen.
 * New reference. */
json_t *stele_prov_record_new(const char *media_type, const char *digest,
			      uint64_t size, const char *diff_id,
			      const char *stage, const char *recipe, int line,
			      const char *instruction, json_t *inputs,
			      int base);
/*
 * A layer's file records (what a COPY read: its path in the source, its
 * dest in the layer and the SHA-256 of its content) stand inline in the
 * record's inputs, {"kind":"file",...}, when there are at most
 * STELE_PROV_FILES_INLINE of them.  Past that they go to a file list blob
 * that the record names by digest, so that a statement, the build cache
 * entry and the memory of the build stay small whatever a COPY holds:
 *   {"kind":"files","mediaType":STELE_MT_FILELIST,"count":N,
 *    "size":BYTES,"digest":{"sha256":HEX}}
 * The blob is JSON Lines: one inline file record a line, compact, keys
 * sorted, in the order the COPY planned them.  It travels as a layer of
 * the provenance referrer (after the statement) and with its build cache
 * entry; the statement's digest of it is what a signature covers.
 */
#define STELE_MT_FILELIST "application/vnd.stele.filelist.v1+jsonl"
#define STELE_PROV_FILES_INLINE 512
/* A file list line, at most (two paths of PATH_MAX and the rest). */
#define STELE_FILELIST_LINE_MAX (3u * 4096u)

struct stele_prov_filelist;

/* Start a file list blob staged in `txn`. */
int stele_prov_filelist_new(struct stele_prov_filelist **out,
			    struct stele_txn *txn);
/* One record: `sha256_hex` is the 64 hex digits of the content. */
int stele_prov_filelist_add(struct stele_prov_filelist *fl, const char *path,
			    const char *dest, const char *sha256_hex);
/* Finish and stage the blob; *input is the record input above (new
 * reference).  Frees `fl` either way. */
int stele_prov_filelist_commit(json_t **input, struct stele_prov_filelist *fl);
/* Drop an unfinished list. NULL-safe. */
void stele_prov_filelist_free(struct stele_prov_filelist *fl);
/*
 * The digests of the file list blobs that `inputs` (a record's inputs)
 * names, also through the records of a COPY --from stage: each is set as a
 * key of `set`, its value the input that names it (mediaType, size).
 */
void stele_prov_filelists(json_t *set, const json_t *inputs);

/* The statement for the image; new reference. */
json_t *stele_prov_statement(struct stele_prov *p, const char *name,
			     const char *manifest_digest,
			     const char *builder_id, const char *version);

/*
 * Stage a statement as a referrer of `subject` (a manifest descriptor):
 * the statement blob, an OCI 1.1 artifact manifest with `subject`, and an
 * index.json entry without a ref.name.  Fills the referrer's digest.  When
 * the layout already holds a referrer of `subject` with this statement but
 * for runDetails.metadata (the times of the build), nothing is staged and
 * that referrer's digest is filled: rebuilding an image adds no referrer.
 * The comparison takes runDetails.metadata out of `statement` and puts it
 * back before returning (no copy of the statement is made).
 */
int stele_prov_store(char digest[STELE_DIGEST_STRLEN], struct stele_txn *txn,
		     json_t *statement, const json_t *subject);

/*
 * The first SLSA v1 statement stored as a referrer of `subject_digest`
 * (unsigned: as the builder stored it), read digest-checked and parsed
 * strictly.  STELE_ENOTFOUND when there is none.  *out owned by the caller.
 */
int stele_prov_load(json_t **out, const struct stele_oci *oci,
		    const char *subject_digest);

/*
 * Reading provenance back: the one strict reader, beside the writer, used
 * by every consumer (inspect, verify, rebuild).  A statement of stele's
 * buildType is checked field by field against what the writer above emits:
 * a missing field, a field of the wrong type or a field the writer never
 * writes is an error naming it (STELE_EINVALID), so a renamed field can
 * never read as "(none)" in a policy check.  A statement of another
 * buildType (another builder, `cosign attest`) is read only for what SLSA
 * v1 itself requires (subject, buildType, builder id); `stele` is 0 and the
 * stele fields are empty: such a statement claims nothing stele can check.
 */
struct stele_prov_record { /* one per image layer, image order */
	const char *digest; /* "sha256:…" */
	const char *media_type;
	const char *diff_id;
	uint64_t size;
	int base;
	const char *stage; /* NULL for import */
	const char *recipe; /* NULL for import and base layers of an import */
	int line;
	const char *instruction;
	json_t *inputs; /* borrowed, validated (kinds below) */
	json_t *annotations; /* the record's annotations, borrowed */
};

struct stele_prov_doc {
	json_t *statement; /* the whole statement, owned */
	const char *subject_name;
	char subject_digest[STELE_DIGEST_STRLEN];
	const char *build_type;
	const char *builder_id;
	int stele; /* stele's buildType: the fields below are set */
	int import; /* made by `stele import` (no recipe, no source) */
	const char *recipe_path, *recipe_digest; /* "sha256:…" */
	const char *source_uri, *source_ref, *source_resolved_ref, *target;
	json_t *build_args; /* object of strings, borrowed */
	json_t *deps; /* resolvedDependencies, borrowed */
	int64_t epoch;
	/* runDetails.metadata (the build's wall-clock times, RFC 3339 as
	 * written; what an image's age is measured from, never `created`,
	 * which is the epoch).  Set for stele's statements; for another
	 * builder's, when present as strings; else NULL. */
	const char *started_on, *finished_on;
	const char *compression_suffix; /* NULL when not recorded */
	const char *compression_library; /* "zlib 1.2.13"; or NULL */
	int compression_level; /* 0 when not recorded */
	const char *compression_settings; /* NULL when not recorded */
	struct stele_prov_record *records;
	size_t nrecords;
};

/* Parse a statement's bytes (`what` names them in errors). */
int stele_prov_parse(struct stele_prov_doc **out, const void *data, size_t len,
		     const char *what);
void stele_prov_doc_free(struct stele_prov_doc *d);
/* The record of the image layer with this digest, or NULL. */
const struct stele_prov_record *
stele_prov_record_of(const struct stele_prov_doc *d, const char *layer_digest);
/*
 * Whether every step that contributed to the image ran without network:
 * 1 yes, 0 no (*why says which step, malloc'd).  The walk goes through the
 * records of the image's layers and, through each `COPY --from` of a stage,
 * that stage's records, transitively.  A statement without step records
 * (another builder's, or one whose records do not cover every layer) is 0:
 * hermeticity cannot be shown.
 */
int stele_prov_hermetic(const struct stele_prov_doc *d, char **why);

/*
 * Each file record of a record's `inputs`, inline or from its file list
 * blobs: fn(payload, record) with a {"kind":"file","path","dest",
 * "digest":{"sha256"}} object (borrowed for the call), in order; a nonzero
 * return stops the walk and is returned.  A file list is read from `oci`
 * and checked against its digest before a line of it is parsed; each line
 * is checked as an inline record is, and the count as recorded
 * (STELE_EVERIFY for a blob that does not match, STELE_EINVALID for one
 * that matches but is malformed, STELE_ENOTFOUND when it is absent).
 */
typedef int (*stele_prov_file_fn)(void *payload, const json_t *file);
int stele_prov_files_each(const struct stele_oci *oci, const json_t *inputs,
			  stele_prov_file_fn fn, void *payload);

/* stele_prov_load, then the strict reader. */
int stele_prov_load_doc(struct stele_prov_doc **out,
			const struct stele_oci *oci,
			const char *subject_digest);

#endif
