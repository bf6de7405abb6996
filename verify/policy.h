#ifndef STELE_VERIFY_POLICY_H
#define STELE_VERIFY_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "keys/key.h"
#include "verify/identity.h"

/*
 * A verification policy (docs/policy.md), parsed strictly: an unknown key
 * anywhere is an error (a typo must never weaken a policy), as are
 * duplicate keys and values of the wrong type.  It fails closed: a policy
 * without a signatures section, with an empty allow-list or an empty
 * section, or with a threshold no set of its keys could meet is invalid
 * (STELE_EINVALID); allowing unsigned images takes "threshold": 0, which
 * is kept as a warning.
 */
struct stele_trusted_key {
	char *name;
	struct stele_pubkey *key;
	int64_t not_before; /* Unix time; INT64_MIN when unset */
	int64_t not_after; /* INT64_MAX when unset */
};

struct stele_policy {
	struct stele_trusted_key *keys;
	size_t nkeys;
	char **revoked; /* key ids */
	size_t nrevoked;
	/* signatures */
	char **sig_keys; /* key names allowed to sign; NULL: all */
	size_t nsig_keys;
	int threshold; /* 0: no signature needed (said explicitly) */
	struct stele_identity *identity; /* NULL: matchRepoDigestOrExact */
	/* provenance */
	int prov_required;
	char **prov_keys; /* key names allowed to sign provenance */
	size_t nprov_keys;
	char **builder_ids;
	size_t nbuilder_ids;
	char **sources; /* source repository patterns */
	size_t nsources;
	char **refs; /* ref patterns, e.g. refs/tags/v* */
	size_t nrefs;
	char *recipe; /* required recipe path */
	int hermetic;
	int rebuild;
	/* image rules */
	int non_root;
	int pinned_bases;
	char **registries; /* allowed base registries */
	size_t nregistries;
	int64_t max_age; /* seconds; 0: no limit */
	int no_latest;
	/* runtime: what the admission webhook (deploy/admission.h) checks
	 * on every container of a Pod spec; not image properties, so the
	 * verify pipeline does not read them. */
	int runtime; /* the section is present */
	int rt_non_root; /* runAsNonRoot or a non-zero runAsUser */
	int rt_read_only_root; /* readOnlyRootFilesystem: true */
	int rt_no_privileged; /* privileged is not true */
	int rt_no_host_ns; /* no hostNetwork, hostPID, hostIPC */
	unsigned rt_limits; /* enum stele_runtime_limit: limits required */
	/* vulnerabilities (docs/policy.md): present when vuln_db or
	 * vuln_signed_scan is set */
	char *vuln_db; /* database directory (resolved against the
				  * policy's directory); NULL: no scan */
	int vuln_max; /* the worst severity allowed (vuln/vuln.h
				  * enum stele_vuln_severity; 0: none at all) */
	int vuln_fixable_only;
	int64_t vuln_max_db_age; /* seconds; 0: no limit (a signed scan:
				  * the database's age when it finished) */
	char **vuln_vex_keys; /* key names trusted to sign VEX; NULL: none */
	size_t nvuln_vex_keys;
	char **vuln_vex; /* VEX envelopes (files, resolved against the
				  * policy's directory) */
	size_t nvuln_vex;
	int vuln_signed_scan; /* requireSignedScan: a signed scan
				  * (vuln/scan.h) must be attached */
	char **vuln_scan_keys; /* key names that may sign it */
	size_t nvuln_scan_keys;
	int64_t vuln_max_scan_age; /* seconds (required with a signed scan) */
	/* What the policy explicitly gives up (threshold 0, ...): every
	 * report repeats these. */
	char **warnings;
	size_t nwarnings;
};

enum stele_runtime_limit {
	STELE_LIMIT_CPU = 1 << 0,
	STELE_LIMIT_MEMORY = 1 << 1,
	STELE_LIMIT_EPHEMERAL_STORAGE = 1 << 2
};

/* Parse policy JSON; `path` names it in errors and anchors relative key
 * paths.  *out owned by the caller. */
int stele_policy_parse(struct stele_policy **out, const char *data, size_t len,
		       const char *path);
int stele_policy_load(struct stele_policy **out, const char *path);
/* A policy that trusts one public key file with a threshold of 1. */
int stele_policy_for_key(struct stele_policy **out, const char *pubkey);
void stele_policy_free(struct stele_policy *p);
/* The trusted key by name, or NULL. */
struct stele_trusted_key *stele_policy_key(struct stele_policy *p,
					   const char *name);
/*
 * Whether key `k` of `p` counts at `now`: not revoked, inside notBefore ..
 * notAfter.  When it does not and `why` is not NULL, *why says why
 * (malloc'd).
 */
int stele_policy_key_usable(const struct stele_policy *p,
			    const struct stele_trusted_key *k, int64_t now,
			    char **why);

#endif
