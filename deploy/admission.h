#ifndef STELE_DEPLOY_ADMISSION_H
#define STELE_DEPLOY_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "registry/client.h"
#include "verify/policy.h"

/*
 * The Kubernetes validating admission review (AdmissionReview v1,
 * docs/deploy.md), without the HTTP (deploy/serve.h):
 *
 *  - the Pod spec of a Pod, Deployment, ReplicaSet, StatefulSet,
 *    DaemonSet, Job (spec.template.spec) or CronJob
 *    (spec.jobTemplate.spec.template.spec); any other kind is denied;
 *  - every image of its containers, init containers and ephemeral
 *    containers must be named by digest (HOST/REPO[:TAG]@sha256:…): a
 *    tag-only reference is denied, saying how to pin it; each is pulled
 *    into a temporary layout and run through the verify pipeline under
 *    the policy as HOST/REPO@DIGEST (nothing is written to a registry);
 *  - the policy's runtime section on every container;
 *  - a denial carries every reason, in order.
 *
 * Verdicts are cached by HOST/REPO@DIGEST for at most o->cache_ttl
 * seconds and never past the earliest notAfter of the policy's keys.  The
 * policy file is checked on every review (mtime and size; on a change,
 * its SHA-256): when its content changed it is parsed again and the cache
 * is emptied, so a revocation takes effect on the next review.  An
 * unreadable or invalid policy denies everything, saying why.  All
 * functions are safe to call from several threads at once.
 */

typedef int64_t (*stele_admission_clock_fn)(void *payload);

struct stele_admission_opts {
	const char *policy; /* required */
	unsigned cache_ttl; /* seconds; 0: no cache */
	size_t cache_max; /* entries; 0: 4096 */
	stele_admission_clock_fn now; /* Unix time (required) */
	void *now_payload;
	const struct stele_registry_opts *registry;
};

#define STELE_ADMISSION_MAX_BODY (3u << 20) /* the API server's own cap */

struct stele_admission;

int stele_admission_new(struct stele_admission **out,
			const struct stele_admission_opts *o);
void stele_admission_free(struct stele_admission *a);

/*
 * Review one request body.  0: *out is the AdmissionReview response
 * (new reference) whatever the verdict; STELE_EINVALID (message set): the
 * body is not an AdmissionReview v1 request this webhook can read (HTTP
 * 400); another error: the review could not run (HTTP 500).
 */
int stele_admission_review(json_t **out, struct stele_admission *a,
			   const char *body, size_t len);

/*
 * A Flagger webhook (confirm-promotion, pre-rollout, confirm-rollout;
 * docs/deploy.md): the payload {"name", "namespace", "phase",
 * "checksum", "metadata": {string: string}} Flagger POSTs, whose
 * metadata.images lists the canary's images (references separated by
 * commas or white space, at most STELE_FLAGGER_MAX_IMAGES).  Each must be
 * named by digest and is verified under the policy as an admission review
 * verifies it (the same cache).  0: *out is {"allowed", "name",
 * "namespace", "phase", "images", "reasons"} (new reference), allowed
 * when every image passes (Flagger goes on on 2xx only); STELE_EINVALID
 * (message set): not such a payload (HTTP 400): not a JSON object, an
 * unknown field, name, namespace or phase missing or empty, metadata not
 * an object of strings, no metadata.images.
 */
#define STELE_FLAGGER_MAX_IMAGES 64
int stele_admission_flagger(json_t **out, struct stele_admission *a,
			    const char *body, size_t len);

/* Cache counters (for the load test and the logs). */
struct stele_admission_stats {
	unsigned long long reviews, hits, misses, reloads;
};
void stele_admission_stats(struct stele_admission_stats *out,
			   struct stele_admission *a);

/*
 * The runtime rules of `p` over one Pod spec: each broken rule appended
 * to `reasons` (strings).  STELE_EINVALID when the spec is malformed
 * (containers not an array of objects, ...).
 */
int stele_admission_runtime(json_t *reasons, const struct stele_policy *p,
			    const json_t *podspec);

#endif
