#ifndef STELE_VERIFY_VERIFY_PRIV_H
#define STELE_VERIFY_VERIFY_PRIV_H

#include <stdarg.h>

#include "builder/provenance.h"
#include "signer/check.h"
#include "verify/policy.h"
#include "verify/verify.h"

/* Shared by the files of the verify pipeline (verify.c, vulns.c). */
struct stele_verify__ctx {
	struct stele_verify_report *r;
	struct stele_image *img;
	const struct stele_verify_opts *o;
	struct stele_policy *p;
	const char *intended; /* what the image is verified as, or NULL */
	struct stele_prov_doc *prov; /* the verified provenance, or NULL */
	/* The attestations checked against the policy's keys (kept for the
	 * vulnerabilities rule: signed scans, VEX), or NULL. */
	struct stele_checks *atts;
	int64_t now;
};

/* Record a check (`fmt` NULL: no reason); a failed one denies. */
void stele_verify__check(struct stele_verify_report *r, int ok,
			 const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A check that is not counted: "not counted: <why>" recorded under `name`,
 * and "<label>: <why>" appended to `ignored` ("; " between). */
struct stele_buf;
void stele_verify__not_counted(struct stele_verify__ctx *v,
			       struct stele_buf *ignored, const char *label,
			       const char *name, const char *why);
/* Whether key `k` counts now (not revoked, inside its validity); when
 * not, *why says why (malloc'd). */
int stele_verify__key_usable(struct stele_verify__ctx *v,
			     const struct stele_trusted_key *k, char **why);
/* The policy key behind a public key of the policy, or NULL. */
struct stele_trusted_key *stele_verify__key_of(struct stele_verify__ctx *v,
					       const struct stele_pubkey *pk);
/* Whether `name` is in `names` (NULL: any name is). */
int stele_verify__name_in(char **names, size_t n, const char *name);

/* The policy's vulnerabilities rule (vulns.c): the scan against its
 * database, signed scans, VEX. */
void stele_verify__vulnerabilities(struct stele_verify__ctx *v);

#endif
