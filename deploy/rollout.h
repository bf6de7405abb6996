#ifndef STELE_DEPLOY_ROLLOUT_H
#define STELE_DEPLOY_ROLLOUT_H

#include <stdint.h>

#include <jansson.h>

#include "keys/key.h"
#include "oci/image.h"
#include "registry/client.h"
#include "verify/verify.h"

/*
 * Blue-green rollout over the tags of one registry repository
 * (docs/deploy.md), always by digest:
 *
 *   stage     verify an image, push it (verify/push.h) and point the idle
 *             slot tag (the slot live was not promoted from) at its digest;
 *   promote   verify the staged digest again now, run the health check,
 *             then point the live tag at it;
 *   rollback  verify the live digest before the current one again, run the
 *             health check when there is one, then point live back at it.
 *
 * Every move is verified where the image lives (HOST/REPO@DIGEST), the tag
 * is re-read just before it is moved and read back after (a move that
 * finds it changed stops), and each move is appended to the signed,
 * hash-chained journal (deploy/journal.h) after it.  Before anything, the
 * journal is read and checked and the tags it accounts for must be what
 * the registry holds: a journal tampered with or cut short, or a tag moved
 * outside stele rollout, stops the rollout (STELE_EVERIFY).  Nothing moves
 * on a denied verification (STELE_EVERIFY), a failed health check (its
 * error) or any other error.
 *
 * The library reads neither the clock nor the environment: the caller
 * gives the time, who moves, and the health check.
 */

/*
 * The health check of `digest` about to go live from `slot` ("" when none
 * holds it) of `name` (HOST/REPO): 0 healthy, else an error with its
 * message set (STELE_EVERIFY for unhealthy).
 */
typedef int (*stele_rollout_health_fn)(void *payload, const char *digest,
				       const char *slot, const char *name);

struct stele_rollout_opts {
	const char *policy; /* required for moves */
	const struct stele_seckey *key; /* signs journal entries (moves);
					   must be a key of the policy */
	const char *by; /* who moves (journal) */
	int64_t now; /* Unix time of the move (journal) */
	const char *slots[2]; /* NULL: "blue", "green" */
	const char *live_tag; /* NULL: "live" */
	const char *journal_tag; /* NULL: "stele-journal" */
	const struct stele_registry_opts *registry;
	stele_rollout_health_fn health; /* may be NULL */
	void *health_payload;
	stele_progress_fn progress;
	void *progress_payload;
};

struct stele_rollout_result {
	const char *action; /* static */
	char *tag, *slot; /* what moved; the slot ("" none) */
	char from[STELE_DIGEST_STRLEN]; /* "" when the tag did not exist */
	char to[STELE_DIGEST_STRLEN];
	char entry[STELE_DIGEST_STRLEN]; /* the journal entry written */
	char journal[STELE_DIGEST_STRLEN]; /* the journal's new manifest */
	size_t seq;
	/* The last verification run (may be NULL): on STELE_EVERIFY, why. */
	struct stele_verify_report *report;
};
void stele_rollout_result_release(struct stele_rollout_result *r);

/*
 * Stage local image `img` into repository `name` (HOST/REPO).  `src` says
 * how to verify it before it is pushed (a policy, and the names it is
 * verified as: cli/ fills them as `stele verify` does).
 */
int stele_rollout_stage(struct stele_rollout_result *out,
			struct stele_image *img,
			const struct stele_verify_opts *src, const char *name,
			const struct stele_rollout_opts *o);
int stele_rollout_promote(struct stele_rollout_result *out, const char *name,
			  const struct stele_rollout_opts *o);
int stele_rollout_rollback(struct stele_rollout_result *out, const char *name,
			   const struct stele_rollout_opts *o);

/*
 * The state of `name`, checked as above (o->policy may be NULL: then the
 * journal's signatures are checked against the keys its entries name
 * only, and "signers" says "unchecked"):
 *   {"repository", "journal": {"tag", "head", "entries", "signers"},
 *    "tags": {TAG: {"digest", "slot"?, "action", "by", "time", "seq"}
 *             or null}, "staged": {"slot","digest"} or null,
 *    "rollback": digest or null, "entries": [statements]}
 * *out a new reference.
 */
int stele_rollout_status(json_t **out, const char *name,
			 const struct stele_rollout_opts *o);

/*
 * The URL health check: a GET of `url` must answer 2xx within `timeout_s`
 * seconds (0: 30); redirects are not followed.  STELE_EVERIFY with the
 * status otherwise, STELE_ERROR when it cannot connect.
 */
int stele_rollout_health_url(const char *url, unsigned timeout_s);

#endif
