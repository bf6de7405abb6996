#ifndef STELE_DEPLOY_AUDIT_H
#define STELE_DEPLOY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "registry/client.h"
#include "verify/verify.h"

/*
 * The audit of what runs (docs/deploy.md): for a list of deployed image
 * references, each unique digest is pulled into a temporary layout
 * (registry/transfer.h; nothing is written to a registry) and judged
 * under the policy as it reads *now*:
 *
 *   signature   the verify pipeline's signature checks (revoked and
 *               expired keys count as of o->now's policy file);
 *   provenance  a provenance statement is stored, reads under the strict
 *               reader (builder/provenance.h), a signed statement by a
 *               provenance key was accepted and every provenance rule
 *               passes;
 *   age         the build time from the provenance (runDetails.metadata
 *               finishedOn), never the config's `created` (the epoch),
 *               against the policy's image.maxAgeDays; an image without
 *               provenance has no known age, which fails when there is a
 *               limit;
 *   image       every other check of the pipeline (blobs, user, bases).
 *
 *   vulnerabilities (with a database: o->db, else the policy's)
 *               the image scanned now, and the findings its newest signed
 *               scan (vuln/scan.h, signed by a vulnerabilities.scanKeys
 *               key, else by any key of the policy, counting now) does
 *               not have, by advisory and package (all of them when it has
 *               none): those the policy's vulnerabilities rule denies fail
 *               the image, the others are warnings.
 *
 * The pipeline's own "maximum age" check, which reads `created`, is left
 * out: the audit's age replaces it.  Each base image named in the
 * provenance is dated the same way, from its own provenance when it lives
 * in a registry (informational: an old base is a warning, not a failure).
 */

struct stele_audit_opts {
	const char *policy; /* required */
	const char *db; /* a vulnerability database (vuln/vuln.h);
				     * NULL: the policy's vulnerabilities.db,
				     * if any */
	int64_t now; /* Unix time the ages are measured at */
	const char *source; /* what named the list (SARIF, JSON) */
	const char *tool_version; /* SARIF driver version; may be NULL */
	const struct stele_registry_opts *registry;
	stele_progress_fn progress;
	void *progress_payload;
};

#define STELE_AUDIT_MAX_REFS 10000
#define STELE_AUDIT_MAX_LIST (64u << 20)

/*
 * The references of an image list: one per line (blank lines and lines
 * starting with '#' skipped; "docker://" optional), or, when the first
 * non-blank byte is '{', the JSON of `kubectl get pods -A -o json` (a List
 * of Pods, or one Pod): the images of every container, init container and
 * ephemeral container, in order.  Duplicates are kept once.  STELE_EINVALID
 * naming `what` and the line or item for anything else, for a list without
 * any image or with more than STELE_AUDIT_MAX_REFS.  *out is a new JSON
 * array of strings.
 */
int stele_audit_images_parse(json_t **out, const char *data, size_t len,
			     const char *what);

/*
 * Audit `refs` (an array of reference strings).  Returns 0 with *out the
 * report (below) whatever the verdicts, STELE_EINVALID for a bad policy or
 * database (STELE_ENOTFOUND when the database does not exist),
 * another error when the audit could not run.  A reference that cannot be
 * parsed or pulled is a failing result carrying the error.
 *
 *   {"policy", "time", "maxAgeDays" (or null), "source",
 *    "summary": {"references", "images", "digests", "baseImages",
 *                "passed", "failed"},
 *    "results": [{"digest" (null when not pulled), "references": [...],
 *                 "allowed", "signature": {"ok", "reasons"},
 *                 "provenance": {"present", "signed", "ok", "reasons"},
 *                 "age": {"built", "days", "ok", "reason"},
 *                 "bases": [{"image", "digest", "built", "days", "reason"}],
 *                 "image": {"ok", "reasons"},
 *                 "vulnerabilities" (with a database): {"ok", "reasons",
 *                     "db", "dbUpdated", "findings", "scan": {"finished",
 *                     "signer", "findings"} or null, "new": [{"id",
 *                     "package", "version", "severity", "status",
 *                     "fixed"}]},
 *                 "reasons": [every failure],
 *                 "warnings": [...], "checks": [verify's]}] by digest,
 *    "stale": [digests built longer ago than maxAgeDays]}
 */
int stele_audit_run(json_t **out, const json_t *refs,
		    const struct stele_audit_opts *o);

/* The report as a SARIF 2.1.0 log: one result per failure (level error)
 * and per warning (level warning).  New reference. */
json_t *stele_audit_sarif(const json_t *report,
			  const struct stele_audit_opts *o);

#endif
