#ifndef STELE_VULN_SCAN_H
#define STELE_VULN_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "sbom/sbom.h"
#include "util/buf.h"
#include "vuln/vuln.h"

/*
 * Signed scan results (docs/vuln.md): a report (vuln.h) as the predicate
 * of an in-toto Statement v1 of cosign's vulnerability type, so that
 * `cosign verify-attestation --type vuln` reads it, and so that a gate
 * (verify's requireSignedScan, audit) can judge an image by a recent scan
 * without scanning it again:
 *
 *   {"_type": "https://in-toto.io/Statement/v1",
 *    "subject": [{"name": NAME, "digest": {"sha256": HEX}}],
 *    "predicateType": STELE_VULN_PREDICATE,
 *    "predicate": {
 *      "invocation": {"parameters": [the scan's options], "uri": "",
 *                     "event_id": "", "builder.id": ""},
 *      "scanner": {"uri": "pkg:generic/stele@VERSION", "version": VERSION,
 *                  "db": {"uri": DB, "version": the database's time
 *                         (RFC 3339) or ""},
 *                  "result": the report, as stele_vuln_report_json()},
 *      "metadata": {"scanStartedOn": RFC 3339, "scanFinishedOn": …}}}
 */
#define STELE_VULN_PREDICATE "https://cosign.sigstore.dev/attestation/vuln/v1"
/* A statement larger than this is refused (what signer/attach.h stores). */
#define STELE_VULN_SCAN_MAX (12u << 20)

struct stele_vuln_scan_info {
	const char *name; /* the subject's name; NULL: the digest */
	const char *version; /* the scanner's version (stele's) */
	const char *db; /* the database, as named (scanner.db.uri) */
	const char *const *parameters; /* invocation.parameters (may be NULL) */
	size_t nparameters;
	int64_t started, finished; /* Unix seconds, taken by the caller */
};

/*
 * The statement for report `r` (about the image r->sbom->image), canonical
 * JSON appended to `out`: the exact bytes to sign.  STELE_EINVALID when a
 * string is not UTF-8.
 */
int stele_vuln_scan_statement(struct stele_buf *out,
			      const struct stele_vuln_report *r,
			      const struct stele_vuln_scan_info *info);

/* A signed scan read back. */
struct stele_vuln_scan {
	int64_t started, finished; /* metadata, Unix seconds */
	int64_t db_updated; /* the result's dbUpdated; -1: none */
	char *version; /* scanner.version */
	char *db; /* scanner.db.uri */
	struct stele_sbom *sbom; /* the packages its findings name (no
					files; the layers of their origins) */
	struct stele_vuln_report *report; /* its findings (borrows sbom),
					     suppression as recorded */
};

/*
 * Read a scan statement (its exact bytes, whose signature the caller has
 * checked) about image `digest`.  STELE_EINVALID, naming `what`, when it
 * is larger than STELE_VULN_SCAN_MAX, is not strict JSON, is not an
 * in-toto statement of type STELE_VULN_PREDICATE with `digest` as a
 * subject, lacks the metadata times (RFC 3339 UTC, started no later than
 * finished), or its scanner.result is not a stele report about `digest`
 * (findings each with id, package, version, source, installed, a known
 * status and severity; fixed only when fixed).  *out owned by the caller.
 */
int stele_vuln_scan_parse(struct stele_vuln_scan **out, const void *statement,
			  size_t len, const char *digest, const char *what);
void stele_vuln_scan_free(struct stele_vuln_scan *s);

/*
 * Whether `r` has a finding of advisory `id` in the binary package
 * `package`: its index, or -1.
 */
long stele_vuln_report_find(const struct stele_vuln_report *r, const char *id,
			    const char *package);

#endif
