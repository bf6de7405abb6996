/*
 * Unit tests for deploy/: the rollout journal's checks, entry by entry.
 * Every forgery here is signed again with the journal key, so the check
 * that catches it is the one named (the e2e tests t58 cover entries
 * changed without the key, and the registry side).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/journal.h"
#include "keys/key.h"
#include "signer/dsse.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "verify/policy.h"
#include "tests/unit/unit.h"

#define NAME "registry.example/app"
#define V1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define V2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define V3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define NMAX 8

struct fx {
	struct stele_seckey *k, *other;
	struct stele_buf env[NMAX];
	size_t n;
};

static int
setup(void **state)
{
	struct fx *f = stele_xcalloc(1, sizeof(*f));
	size_t i;

	for (i = 0; i < NMAX; i++)
		f->env[i] = (struct stele_buf)STELE_BUF_INIT(STELE_ROLLOUT_ENTRY_MAX);
	if (stele_seckey_generate(&f->k) < 0 ||
	    stele_seckey_generate(&f->other) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < NMAX; i++)
		stele_buf_release(&f->env[i]);
	stele_seckey_free(f->k);
	stele_seckey_free(f->other);
	free(f);
	return 0;
}

/* Append a well-formed entry for this move, signed with the journal key. */
static void
add(struct fx *f, const char *action, const char *tag, const char *slot,
    const char *from, const char *to, int64_t now)
{
	struct stele_rollout_journal *j = NULL;
	struct stele_rollout_move m = { 0 };

	assert_ok(stele_rollout_journal_check(&j, NAME, f->env, f->n, NULL));
	m.action = action;
	m.tag = tag;
	m.slot = slot;
	m.from = from;
	m.to = to;
	m.by = "alice";
	m.now = now;
	m.allowed = 1;
	m.checks = 5;
	m.identity = NAME "@" V1;
	stele_buf_clear(&f->env[f->n]);
	assert_ok(stele_rollout_entry_sign(&f->env[f->n], j, NAME, &m, f->k));
	f->n++;
	stele_rollout_journal_free(j);
}

/* stage blue v1, promote, stage green v2, promote, rollback. */
static void
history(struct fx *f)
{
	add(f, "stage", "blue", "blue", "", V1, 1000);
	add(f, "promote", "live", "blue", "", V1, 1001);
	add(f, "stage", "green", "green", "", V2, 1002);
	add(f, "promote", "live", "green", V1, V2, 1003);
	add(f, "rollback", "live", "blue", V2, V1, 1004);
}

/* The statement of entry i (a new reference). */
static json_t *
statement(struct fx *f, size_t i)
{
	struct stele_dsse *e = NULL;
	json_t *st = NULL;

	assert_ok(stele_dsse_parse(&e, f->env[i].ptr, f->env[i].len, "entry"));
	assert_ok(stele_json_parse(&st, e->payload.ptr, e->payload.len, "entry"));
	stele_dsse_free(e);
	return st;
}

/* Replace entry i by `st` (taken) signed with `k` as payload type `type`. */
static void
resign(struct fx *f, size_t i, json_t *st, const struct stele_seckey *k,
       const char *type)
{
	struct stele_buf p = STELE_BUF_INIT(STELE_ROLLOUT_ENTRY_MAX);

	assert_ok(stele_json_emit(&p, st));
	stele_buf_clear(&f->env[i]);
	assert_ok(stele_dsse_sign(&f->env[i], k, type, p.ptr, p.len));
	stele_buf_release(&p);
	json_decref(st);
}

/* Entry i with member `key` set to `v` (taken), signed again. */
static void
forge(struct fx *f, size_t i, const char *key, json_t *v)
{
	json_t *st = statement(f, i);

	if (v)
		json_object_set_new(st, key, v);
	else
		json_object_del(st, key);
	resign(f, i, st, f->k, STELE_PAYLOAD_ROLLOUT);
}

static void
denied(struct fx *f, size_t n, const char *why)
{
	struct stele_rollout_journal *j = NULL;

	assert_err(stele_rollout_journal_check(&j, NAME, f->env, n, NULL),
		   STELE_EVERIFY, why);
	assert_null(j);
}

static void
test_deploy_replay(void **state)
{
	struct fx *f = *state;
	struct stele_rollout_journal *j = NULL;

	history(f);
	assert_ok(stele_rollout_journal_check(&j, NAME, f->env, f->n, NULL));
	assert_int_equal(j->n, 5);
	assert_string_equal(stele_json_str(j->tags, "live"), V1);
	assert_string_equal(stele_json_str(j->tags, "blue"), V1);
	assert_string_equal(stele_json_str(j->tags, "green"), V2);
	assert_string_equal(j->live_slot, "blue");
	assert_null(j->staged_slot);
	assert_int_equal(json_array_size(j->history), 1);
	assert_string_equal(j->e[4].action, "rollback");
	assert_string_equal(j->e[4].by, "alice");
	assert_string_equal(j->e[4].time, "1970-01-01T00:16:44Z");
	assert_string_equal(j->e[4].from, V2);
	assert_string_equal(j->e[4].keyid, f->k->pub.id);
	stele_rollout_journal_free(j);
}

static void
test_deploy_place(void **state)
{
	struct fx *f = *state;

	history(f);
	forge(f, 2, "seq", json_integer(7));
	denied(f, 3, "entry 2: its seq is not its place");
	forge(f, 2, "seq", json_integer(2));
	forge(f, 2, "prev", json_string(""));
	denied(f, 3, "entry 2: it does not follow entry");
	forge(f, 0, "prev", json_string(V1));
	denied(f, 1, "entry 0: it does not follow entry (none)");
	forge(f, 0, "prev", json_string(""));
	forge(f, 1, "repository", json_string("registry.example/other"));
	denied(f, 2, "entry 1: it belongs to the journal of registry.example/other");
	forge(f, 1, "repository", json_string(NAME));
	forge(f, 1, "time", json_string("1970-01-01T00:00:01Z"));
	denied(f, 2, "entry 1: its time 1970-01-01T00:00:01Z goes back");
}

static void
test_deploy_fields(void **state)
{
	struct fx *f = *state;

	add(f, "stage", "blue", "blue", "", V1, 1000);
	forge(f, 0, "extra", json_true());
	denied(f, 1, "does not have exactly its fields");
	forge(f, 0, "extra", NULL);
	forge(f, 0, "by", NULL);
	{
		json_t *st = statement(f, 0);

		json_object_set_new(st, "bx", json_string("x"));
		resign(f, 0, st, f->k, STELE_PAYLOAD_ROLLOUT);
	}
	denied(f, 1, "the statement has no 'by'");
	f->n = 0;
	add(f, "stage", "blue", "blue", "", V1, 1000);
	forge(f, 0, "_type", json_string("https://example.com/other"));
	denied(f, 1, "'_type' is not");
	forge(f, 0, "_type", json_string(STELE_ROLLOUT_TYPE));
	forge(f, 0, "action", json_string("deploy"));
	denied(f, 1, "unknown action 'deploy'");
	forge(f, 0, "action", json_string("stage"));
	forge(f, 0, "to", json_string("latest"));
	denied(f, 1, "'from' or 'to' is not a digest");
	forge(f, 0, "to", json_string(V1));
	forge(f, 0, "seq", json_string("0"));
	denied(f, 1, "a field is missing or of the wrong type");
	forge(f, 0, "seq", json_integer(0));
	forge(f, 0, "time", json_string("1970-01-01 00:16:40"));
	denied(f, 1, "is not UTC RFC 3339");
	forge(f, 0, "time", json_string("1970-01-01T00:16:40Z"));
	forge(f, 0, "verify", json_pack("{s:b,s:i,s:n}", "allowed", 0,
					 "checks", 3, "identity"));
	denied(f, 1, "'verify' is not an allowed verification");
	forge(f, 0, "verify", json_pack("{s:b,s:i,s:n}", "allowed", 1,
					 "checks", 3, "identity"));
	forge(f, 0, "signer", json_pack("{s:s}", "keyid", "x"));
	denied(f, 1, "'signer' is not {keyid, publicKey}");
}

static void
test_deploy_signer(void **state)
{
	struct fx *f = *state;
	struct stele_rollout_journal *j = NULL;
	struct stele_policy *p = NULL;
	struct stele_buf pem = STELE_BUF_INIT(4096);
	json_t *st, *pol;
	char *polj;

	add(f, "stage", "blue", "blue", "", V1, 1000);
	/* Signed by another key than the one it names. */
	resign(f, 0, statement(f, 0), f->other, STELE_PAYLOAD_ROLLOUT);
	denied(f, 1, "entry 0: the signature by key");
	/* Names the other key's id with its own public key. */
	st = statement(f, 0);
	json_object_set_new(json_object_get(st, "signer"), "keyid",
			    json_string(f->other->pub.id));
	resign(f, 0, st, f->k, STELE_PAYLOAD_ROLLOUT);
	denied(f, 1, "is not its key's");
	/* Another payload type. */
	f->n = 0;
	add(f, "stage", "blue", "blue", "", V1, 1000);
	resign(f, 0, statement(f, 0), f->k, STELE_PAYLOAD_INTOTO);
	denied(f, 1, "payload type 'application/vnd.in-toto+json' is not a rollout entry's");
	/* Well signed, but by a key the policy does not have, or revoked. */
	f->n = 0;
	add(f, "stage", "blue", "blue", "", V1, 1000);
	assert_ok(stele_pubkey_pem(&pem, &f->other->pub));
	pol = json_pack("{s:{s:{s:s}},s:{s:i}}", "keys", "o", "pem", pem.ptr,
			"signatures", "threshold", 1);
	polj = json_dumps(pol, JSON_COMPACT);
	assert_ok(stele_policy_parse(&p, polj, strlen(polj), "policy.json"));
	assert_err(stele_rollout_journal_check(&j, NAME, f->env, 1, p),
		   STELE_EVERIFY, "which the policy does not trust");
	stele_policy_free(p);
	free(polj);
	stele_buf_clear(&pem);
	assert_ok(stele_pubkey_pem(&pem, &f->k->pub));
	json_object_set_new(json_object_get(json_object_get(pol, "keys"), "o"),
			    "pem", json_string(pem.ptr));
	polj = json_dumps(pol, JSON_COMPACT);
	assert_ok(stele_policy_parse(&p, polj, strlen(polj), "policy.json"));
	assert_ok(stele_rollout_journal_check(&j, NAME, f->env, 1, p));
	stele_rollout_journal_free(j);
	stele_policy_free(p);
	free(polj);
	json_object_set_new(pol, "revoked", json_pack("[s]", f->k->pub.id));
	polj = json_dumps(pol, JSON_COMPACT);
	assert_ok(stele_policy_parse(&p, polj, strlen(polj), "policy.json"));
	assert_err(stele_rollout_journal_check(&j, NAME, f->env, 1, p),
		   STELE_EVERIFY, "which the policy does not trust");
	stele_policy_free(p);
	free(polj);
	json_decref(pol);
	stele_buf_release(&pem);
}

static void
test_deploy_moves(void **state)
{
	struct fx *f = *state;

	history(f);
	/* A tag moved from something it did not name. */
	forge(f, 2, "from", json_string(V3));
	denied(f, 3, "entry 2: it moves the tag from " V3);
	forge(f, 2, "from", json_string(""));
	/* A stage whose slot is not the tag it moves. */
	forge(f, 2, "slot", json_string("blue"));
	denied(f, 3, "entry 2: a stage moves slot 'blue', not 'green'");
	forge(f, 2, "slot", json_string("green"));
	/* A promote of a slot that was not staged. */
	forge(f, 3, "slot", json_string("blue"));
	denied(f, 4, "entry 3: it promotes slot 'blue', which was not staged");
	forge(f, 3, "slot", json_string("green"));
	/* A promote of another digest than the slot's. */
	forge(f, 3, "to", json_string(V3));
	denied(f, 4, "entry 3: it promotes " V3 ", which slot 'green' did not hold");
	forge(f, 3, "to", json_string(V2));
	/* A rollback to a digest that was not live before. */
	forge(f, 4, "to", json_string(V2));
	denied(f, 5, "entry 4: it rolls back to " V2 ", which was not live before");
	forge(f, 4, "to", json_string(V1));
	/* A rollback naming a slot that does not hold its digest. */
	forge(f, 4, "slot", json_string("green"));
	denied(f, 5, "entry 4: it names slot 'green', which did not hold");
	forge(f, 4, "slot", json_string(""));
	{
		struct stele_rollout_journal *j = NULL;

		assert_ok(stele_rollout_journal_check(&j, NAME, f->env, 5, NULL));
		assert_null(j->live_slot);
		stele_rollout_journal_free(j);
	}
	/* A stage into the live slot. */
	f->n = 2;
	add(f, "stage", "blue", "blue", V1, V2, 1002);
	denied(f, 3, "entry 2: it stages into 'blue', the live slot");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deploy_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deploy_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deploy_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deploy_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deploy_moves, setup, teardown),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
