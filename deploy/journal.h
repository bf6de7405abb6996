#ifndef STELE_DEPLOY_JOURNAL_H
#define STELE_DEPLOY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keys/key.h"
#include "oci/digest.h"
#include "registry/client.h"
#include "util/buf.h"
#include "verify/policy.h"

/*
 * The rollout journal (docs/deploy.md): every tag move `stele rollout`
 * makes, append-only, kept in the registry beside the image so every
 * machine reads the same history.  It is an OCI artifact under a tag
 * (default "stele-journal"): an image manifest with artifactType
 * STELE_MT_ROLLOUT_JOURNAL, the empty config, and one layer per entry, in
 * order.  An entry is a DSSE envelope (signer/dsse.h) of payload type
 * STELE_PAYLOAD_ROLLOUT over this statement (canonical JSON):
 *
 *   {"_type":"https://stele.dev/rollout/entry/v1",
 *    "action":"stage"|"promote"|"rollback", "repository":"HOST/REPO",
 *    "seq":N, "prev":"<digest of entry N-1's envelope>" ("" for entry 0),
 *    "tag":"<tag moved>", "slot":"<slot>" (promote/rollback: the slot
 *    that is now live, "" when none holds it), "from":"<digest>" ("" when
 *    the tag did not exist), "to":"<digest>", "by":"<who>",
 *    "time":"YYYY-MM-DDTHH:MM:SSZ",
 *    "signer":{"keyid":"<hex>","publicKey":"<PEM>"},
 *    "verify":{"allowed":true,"checks":N,"identity":"<as verified>"|null}}
 *
 * Reading checks every entry: its bytes against the layer's digest, the
 * envelope and statement strictly (an unknown or missing field is a
 * tampered entry), its place (seq, prev: an entry edited, removed,
 * reordered or replayed from another repository breaks the chain), its
 * signature by the key it names (and, given a policy, that the key is one
 * of the policy's and not revoked), times that never go back, and that
 * each move follows from the ones before (a promote moves the live tag
 * from what it named to what was staged; a rollback to the live digest
 * before).  Any failure is STELE_EVERIFY naming the entry.  What entries
 * cut off the end would hide is caught by the caller, which compares the
 * tags the journal accounts for with the registry's (deploy/rollout.h).
 */
#define STELE_MT_ROLLOUT_JOURNAL "application/vnd.stele.rollout.journal.v1+json"
#define STELE_PAYLOAD_ROLLOUT "application/vnd.stele.rollout.entry.v1+json"
#define STELE_ROLLOUT_TYPE "https://stele.dev/rollout/entry/v1"
#define STELE_ROLLOUT_ENTRIES_MAX 10000
#define STELE_ROLLOUT_ENTRY_MAX (64u << 10)

struct stele_rollout_entry {
	char digest[STELE_DIGEST_STRLEN]; /* of the envelope (the layer) */
	struct stele_buf envelope; /* its exact bytes */
	json_t *statement; /* the parsed payload */
	/* Borrowed from `statement`. */
	const char *action, *tag, *slot, *from, *to, *by, *time, *keyid;
	const char *identity; /* may be NULL */
};

struct stele_rollout_journal {
	char head[STELE_DIGEST_STRLEN]; /* manifest digest; "" when none */
	struct stele_rollout_entry *e;
	size_t n;
	/* The entries replayed. */
	json_t *tags; /* tag -> digest it names */
	json_t *moved; /* tag -> index of the entry that last moved it */
	char *live_slot; /* the slot live was promoted from, or NULL */
	char *staged_slot; /* staged since the last promote, or NULL */
	json_t *history; /* live digests, oldest first (rollback pops) */
};

/*
 * Read and check the journal at `tag` of repository `repo` on `r`
 * (`name` is HOST/REPO, what entries must name).  No such tag is an empty
 * journal.  `policy` may be NULL (signatures are then checked against the
 * keys the entries name only).  *out owned by the caller.
 */
int stele_rollout_journal_read(struct stele_rollout_journal **out,
			       struct stele_registry *r, const char *name,
			       const char *repo, const char *tag,
			       const struct stele_policy *policy);
void stele_rollout_journal_free(struct stele_rollout_journal *j);
/*
 * The same checks over `n` envelopes already read (each at most
 * STELE_ROLLOUT_ENTRY_MAX bytes), in order; head is left "".  What the
 * reader above uses once it has fetched them; unit tests use it alone.
 */
int stele_rollout_journal_check(struct stele_rollout_journal **out,
				const char *name,
				const struct stele_buf *envelopes, size_t n,
				const struct stele_policy *policy);

/* A move to record: what the caller did and how it was verified. */
struct stele_rollout_move {
	const char *action; /* "stage", "promote", "rollback" */
	const char *tag, *slot;
	const char *from; /* "" or NULL when the tag did not exist */
	const char *to;
	const char *by;
	int64_t now; /* Unix time, given by the caller */
	int allowed;
	size_t checks;
	const char *identity; /* may be NULL */
};

/*
 * The next entry of `j` for `m` (in repository `name`), signed with `k`:
 * the envelope bytes are appended to `out`.
 */
int stele_rollout_entry_sign(struct stele_buf *out,
			     const struct stele_rollout_journal *j,
			     const char *name,
			     const struct stele_rollout_move *m,
			     const struct stele_seckey *k);

#endif
