#ifndef STELE_VULN_VEX_H
#define STELE_VULN_VEX_H

#include <stddef.h>

#include <jansson.h>

#include "keys/key.h"
#include "vuln/vuln.h"

/*
 * OpenVEX documents (v0.2.0, https://openvex.dev/ns/v0.2.0) that suppress
 * findings, accepted only when signed (docs/vuln.md): a DSSE envelope whose
 * payloadType is STELE_VEX_PAYLOAD and one of whose signatures verifies,
 * over the exact PAE bytes, with one of the trusted keys.  The document is
 * parsed from the signed payload bytes only.
 *
 * A statement applies to a finding when its vulnerability.name (or one of
 * its vulnerability.aliases) is the finding's id and one of its products,
 * or a subcomponent of one, names the finding's package by purl: the
 * package's purl without its qualifiers ("pkg:deb/debian/libssl3@3.0.11-1"),
 * with or without the version.  Of the statements that apply, the latest
 * (timestamp, else the document's) wins; status not_affected or fixed
 * suppresses the finding (it stays in the report, marked), affected and
 * under_investigation do not.
 */
#define STELE_VEX_PAYLOAD "application/vnd.openvex+json"
#define STELE_VEX_MAX (4u << 20)

/*
 * Verify the envelope `data` against `keys` and mark the findings of `r`
 * it suppresses.  `what` names the document in errors.  STELE_EVERIFY when
 * no trusted key signed it, STELE_EINVALID when the envelope or the
 * document is malformed; `r` is unchanged then.
 */
int stele_vuln_vex_apply(struct stele_vuln_report *r, const void *data,
			 size_t len, const char *what,
			 const struct stele_pubkey *const *keys, size_t nkeys);

/*
 * The same in steps, for a gate that gathers documents once and applies
 * them to several reports (verify/verify.c):
 *  - stele_vuln_vex_open: the envelope `data` verified against `keys` and
 *    its document checked (errors as stele_vuln_vex_apply); *out the
 *    document (new reference);
 *  - stele_vuln_vex_statement: the document in an in-toto statement whose
 *    signature the caller has checked (an attestation, signer/check.h),
 *    predicateType STELE_VEX_PREDICATE or below it ("…/v0.2.0", as
 *    cosign and vexctl write it); STELE_EINVALID naming `what` for another
 *    predicate type or a malformed document;
 *  - stele_vuln_vex_apply_doc: mark the findings of `r` the document
 *    suppresses.  STELE_EINVALID when it is malformed; `r` is unchanged
 *    then.
 */
#define STELE_VEX_PREDICATE "https://openvex.dev/ns"
int stele_vuln_vex_open(json_t **out, const void *data, size_t len,
			const char *what,
			const struct stele_pubkey *const *keys, size_t nkeys);
int stele_vuln_vex_statement(json_t **out, const void *data, size_t len,
			     const char *what);
int stele_vuln_vex_apply_doc(struct stele_vuln_report *r, const json_t *doc,
			     const char *what);

#endif