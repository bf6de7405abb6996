#ifndef STELE_VULN_VEX_H
#define STELE_VULN_VEX_H

#include <stddef.h>

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

#endif
