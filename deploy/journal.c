#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/journal.h"
#include "oci/layout.h"
#include "signer/dsse.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/time.h"

void
stele_rollout_journal_free(struct stele_rollout_journal *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++) {
		stele_buf_release(&j->e[i].envelope);
		json_decref(j->e[i].statement);
	}
	free(j->e);
	json_decref(j->tags);
	json_decref(j->moved);
	json_decref(j->history);
	free(j->live_slot);
	free(j->staged_slot);
	free(j);
}

static int __attribute__((format(printf, 3, 4)))
bad(const char *name, size_t i, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return stele_error_setc(
		STELE_EVERIFY,
		"the rollout journal of %s is not intact: entry %zu: %s; nothing was moved",
		name, i, msg);
}

/* A string member that must be there ("" allowed when `empty`). */
static const char *
field(const json_t *o, const char *key, int empty)
{
	const char *s = stele_json_str(o, key);

	return s && (empty || *s) ? s : NULL;
}

/* Exactly the statement's fields, each of its type. */
static int
statement_check(struct stele_rollout_entry *e, const char *name, size_t i)
{
	static const char *const keys[] = {
		"_type",  "action", "by",  "from", "prev", "repository", "seq",
		"signer", "slot",   "tag", "time", "to",   "verify"
	};
	const json_t *st = e->statement, *signer, *ver, *v;
	const char *k;
	size_t j, nkeys = sizeof(keys) / sizeof(*keys);

	if (!json_is_object(st) || json_object_size(st) != nkeys)
		return bad(name, i,
			   "the statement does not have exactly its fields");
	for (j = 0; j < nkeys; j++)
		if (!json_object_get(st, keys[j]))
			return bad(name, i, "the statement has no '%s'",
				   keys[j]);
	if (!(k = field(st, "_type", 0)) || strcmp(k, STELE_ROLLOUT_TYPE))
		return bad(name, i, "'_type' is not %s", STELE_ROLLOUT_TYPE);
	e->action = field(st, "action", 0);
	e->tag = field(st, "tag", 0);
	e->slot = field(st, "slot", 1);
	e->from = field(st, "from", 1);
	e->to = field(st, "to", 0);
	e->by = field(st, "by", 0);
	e->time = field(st, "time", 0);
	if (!e->action || !e->tag || !e->slot || !e->from || !e->to || !e->by ||
	    !e->time || !field(st, "prev", 1) || !field(st, "repository", 0) ||
	    !json_is_integer(json_object_get(st, "seq")))
		return bad(name, i, "a field is missing or of the wrong type");
	if (strcmp(e->action, "stage") && strcmp(e->action, "promote") &&
	    strcmp(e->action, "rollback"))
		return bad(name, i, "unknown action '%s'", e->action);
	if (stele_digest_validate(e->to) < 0 ||
	    (*e->from && stele_digest_validate(e->from) < 0))
		return bad(name, i, "'from' or 'to' is not a digest");
	if (strlen(e->time) != 20 || e->time[4] != '-' || e->time[10] != 'T' ||
	    e->time[19] != 'Z')
		return bad(name, i, "'time' %s is not UTC RFC 3339", e->time);
	signer = json_object_get(st, "signer");
	if (!json_is_object(signer) || json_object_size(signer) != 2 ||
	    !(e->keyid = field(signer, "keyid", 0)) ||
	    !field(signer, "publicKey", 0))
		return bad(name, i, "'signer' is not {keyid, publicKey}");
	ver = json_object_get(st, "verify");
	if (!json_is_object(ver) || json_object_size(ver) != 3 ||
	    !json_is_true(json_object_get(ver, "allowed")) ||
	    !json_is_integer(json_object_get(ver, "checks")) ||
	    !(v = json_object_get(ver, "identity")) ||
	    !(json_is_null(v) || json_is_string(v)))
		return bad(name, i, "'verify' is not an allowed verification");
	e->identity = json_string_value(v);
	return 0;
}

/* Who signed it: the key the entry names, and, given a policy, one of its. */
static int
signature_check(const struct stele_rollout_entry *e,
		const struct stele_dsse *env, const char *name, size_t i,
		const struct stele_policy *policy)
{
	const char *pem = stele_json_str(
		json_object_get(e->statement, "signer"), "publicKey");
	struct stele_pubkey *k = NULL;
	size_t j;
	int error, trusted = 0;

	if (stele_pubkey_parse(&k, pem, strlen(pem), "the entry's signer") <
	    0) {
		error = bad(name, i,
			    "its signer's public key does not parse: %s",
			    stele_error_last());
		goto out;
	}
	if (strcmp(k->id, e->keyid)) {
		error = bad(name, i, "its signer's key id %s is not its key's",
			    e->keyid);
		goto out;
	}
	if (stele_dsse_verify(NULL, env, k, STELE_SIG_PURE | STELE_SIG_ECDSA) <
	    0) {
		error = bad(
			name, i,
			"the signature by key %s does not verify (the entry was changed after it was signed)",
			e->keyid);
		goto out;
	}
	error = 0;
	if (!policy)
		goto out;
	for (j = 0; j < policy->nkeys; j++)
		if (!strcmp(policy->keys[j].key->id, k->id))
			trusted = 1;
	for (j = 0; j < policy->nrevoked; j++)
		if (!strcmp(policy->revoked[j], k->id))
			trusted = 0;
	if (!trusted)
		error = bad(name, i,
			    "signed by key %s, which the policy does not trust",
			    e->keyid);
out:
	free(k);
	return error;
}

static const char *
tag_now(const struct stele_rollout_journal *j, const char *tag)
{
	const char *s = stele_json_str(j->tags, tag);

	return s ? s : "";
}

static void
set_str(char **slot, const char *s)
{
	free(*slot);
	*slot = s && *s ? stele_xstrdup(s) : NULL;
}

/* Replay entry i onto the state of the ones before. */
static int
replay(struct stele_rollout_journal *j, size_t i, const char *name)
{
	const struct stele_rollout_entry *e = &j->e[i];
	size_t nh = json_array_size(j->history);

	if (strcmp(e->from, tag_now(j, e->tag)))
		return bad(
			name, i,
			"it moves the tag from %s, but the entries before left it at another digest",
			*e->from ? e->from : "nothing");
	if (!strcmp(e->action, "stage")) {
		if (strcmp(e->slot, e->tag))
			return bad(name, i, "a stage moves slot '%s', not '%s'",
				   e->slot, e->tag);
		if (j->live_slot && !strcmp(j->live_slot, e->slot))
			return bad(name, i,
				   "it stages into '%s', the live slot",
				   e->slot);
		set_str(&j->staged_slot, e->slot);
	} else if (!strcmp(e->action, "promote")) {
		if (!j->staged_slot || strcmp(j->staged_slot, e->slot))
			return bad(
				name, i,
				"it promotes slot '%s', which was not staged",
				e->slot);
		if (strcmp(e->to, tag_now(j, e->slot)))
			return bad(
				name, i,
				"it promotes %s, which slot '%s' did not hold",
				e->to, e->slot);
		json_array_append_new(j->history, json_string(e->to));
		set_str(&j->live_slot, e->slot);
		set_str(&j->staged_slot, NULL);
	} else {
		if (nh < 2 ||
		    strcmp(e->to,
			   json_string_value(
				   json_array_get(j->history, nh - 2))))
			return bad(
				name, i,
				"it rolls back to %s, which was not live before",
				e->to);
		if (*e->slot && strcmp(e->to, tag_now(j, e->slot)))
			return bad(name, i,
				   "it names slot '%s', which did not hold %s",
				   e->slot, e->to);
		json_array_remove(j->history, nh - 1);
		set_str(&j->live_slot, e->slot);
		set_str(&j->staged_slot, NULL);
	}
	json_object_set_new(j->tags, e->tag, json_string(e->to));
	json_object_set_new(j->moved, e->tag, json_integer((json_int_t)i));
	return 0;
}

/* Entry i of `j` from its envelope bytes (already in j->e[i]) on. */
static int
entry_check(struct stele_rollout_journal *j, size_t i, const char *name,
	    const struct stele_policy *policy)
{
	struct stele_rollout_entry *e = &j->e[i];
	struct stele_dsse *env = NULL;
	int error;

	if (stele_dsse_parse(&env, e->envelope.ptr, e->envelope.len,
			     "the entry") < 0) {
		error = bad(name, i, "%s", stele_error_last());
		goto out;
	}
	if (strcmp(env->type, STELE_PAYLOAD_ROLLOUT)) {
		error = bad(name, i,
			    "payload type '%s' is not a rollout entry's",
			    env->type);
		goto out;
	}
	if (stele_json_parse(&e->statement, env->payload.ptr, env->payload.len,
			     "the entry") < 0) {
		error = bad(name, i, "%s", stele_error_last());
		goto out;
	}
	if ((error = statement_check(e, name, i)) < 0 ||
	    (error = signature_check(e, env, name, i, policy)) < 0)
		goto out;
	/* Its place: an entry edited, dropped, reordered or copied from
	 * another repository's journal breaks these. */
	if (strcmp(stele_json_str(e->statement, "prev"),
		   i ? j->e[i - 1].digest : "")) {
		error = bad(
			name, i,
			"it does not follow entry %s (the chain is broken: an entry was changed, removed or reordered)",
			i ? j->e[i - 1].digest : "(none)");
		goto out;
	}
	if (stele_json_int(e->statement, "seq") != (json_int_t)i) {
		error = bad(name, i, "its seq is not its place in the journal");
		goto out;
	}
	if (strcmp(stele_json_str(e->statement, "repository"), name)) {
		error = bad(name, i, "it belongs to the journal of %s",
			    stele_json_str(e->statement, "repository"));
		goto out;
	}
	if (i && strcmp(e->time, j->e[i - 1].time) < 0) {
		error = bad(name, i,
			    "its time %s goes back before the entry before",
			    e->time);
		goto out;
	}
	error = replay(j, i, name);
out:
	stele_dsse_free(env);
	return error;
}

/* Fetch entry i's envelope, as layer `desc` describes it. */
static int
entry_fetch(struct stele_rollout_journal *j, size_t i, const json_t *desc,
	    struct stele_registry *r, const char *name, const char *repo)
{
	struct stele_rollout_entry *e = &j->e[i];
	const char *dig = stele_json_str(desc, "digest");
	const char *mt = stele_json_str(desc, "mediaType");
	const json_t *size = json_object_get(desc, "size");
	int error;

	if (!dig || stele_digest_validate(dig) < 0 || !mt ||
	    strcmp(mt, STELE_MT_DSSE) || !json_is_integer(size) ||
	    json_integer_value(size) < 0 ||
	    json_integer_value(size) > (json_int_t)STELE_ROLLOUT_ENTRY_MAX)
		return bad(
			name, i,
			"its layer is not a DSSE envelope of at most 64 KiB");
	snprintf(e->digest, sizeof(e->digest), "%s", dig);
	if ((error = stele_registry_blob_get(&e->envelope, r, repo, dig)) < 0) {
		if (error == STELE_EVERIFY || error == STELE_ENOTFOUND)
			return bad(name, i, "%s", stele_error_last());
		return error;
	}
	if ((uint64_t)json_integer_value(size) != e->envelope.len)
		return bad(name, i, "its size is not the layer's");
	return 0;
}

static struct stele_rollout_journal *
journal_new(size_t n)
{
	struct stele_rollout_journal *j = stele_xcalloc(1, sizeof(*j));
	size_t i;

	j->tags = json_object();
	j->moved = json_object();
	j->history = json_array();
	if (n)
		j->e = stele_xcalloc(n, sizeof(*j->e));
	for (i = 0; i < n; i++)
		j->e[i].envelope = (struct stele_buf)STELE_BUF_INIT(
			STELE_ROLLOUT_ENTRY_MAX);
	return j;
}

int
stele_rollout_journal_check(struct stele_rollout_journal **out,
			    const char *name, const struct stele_buf *envelopes,
			    size_t n, const struct stele_policy *policy)
{
	struct stele_rollout_journal *j;
	size_t i;
	int error = 0;

	*out = NULL;
	if (n > STELE_ROLLOUT_ENTRIES_MAX)
		return stele_error_setc(
			STELE_EVERIFY,
			"the rollout journal of %s has more than %d entries",
			name, STELE_ROLLOUT_ENTRIES_MAX);
	j = journal_new(n);
	for (i = 0; i < n && !error; i++) {
		j->n = i + 1;
		if ((error = stele_buf_put(&j->e[i].envelope, envelopes[i].ptr,
					   envelopes[i].len)) < 0) {
			error = bad(name, i, "it is larger than 64 KiB");
			break;
		}
		stele_digest_bytes(j->e[i].digest, envelopes[i].ptr,
				   envelopes[i].len);
		error = entry_check(j, i, name, policy);
	}
	if (error < 0) {
		stele_rollout_journal_free(j);
		return error;
	}
	*out = j;
	return 0;
}

int
stele_rollout_journal_read(struct stele_rollout_journal **out,
			   struct stele_registry *r, const char *name,
			   const char *repo, const char *tag,
			   const struct stele_policy *policy)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_rollout_journal *j = NULL, *fetched = NULL;
	struct stele_buf *env = NULL;
	char head[STELE_DIGEST_STRLEN];
	json_t *m = NULL, *layers;
	const char *at;
	char *mt = NULL;
	size_t i, n = 0;
	int error;

	*out = NULL;
	error = stele_registry_manifest_get(&b, head, &mt, r, repo, tag);
	if (error == STELE_ENOTFOUND) {
		*out = journal_new(0);
		error = 0;
		goto out;
	}
	if (error < 0)
		goto out;
	if (stele_json_parse(&m, b.ptr, b.len, "the rollout journal") < 0 ||
	    !(at = stele_json_str(m, "artifactType")) ||
	    strcmp(at, STELE_MT_ROLLOUT_JOURNAL) ||
	    !json_is_array(layers = json_object_get(m, "layers"))) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"tag '%s' of %s is not a rollout journal (%s); nothing was moved",
			tag, name, mt ? mt : "no media type");
		goto out;
	}
	n = json_array_size(layers);
	if (n > STELE_ROLLOUT_ENTRIES_MAX) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"the rollout journal of %s has more than %d entries",
			name, STELE_ROLLOUT_ENTRIES_MAX);
		goto out;
	}
	fetched = journal_new(n);
	fetched->n = n; /* storage only: freed whole */
	for (i = 0; i < n; i++)
		if ((error = entry_fetch(fetched, i, json_array_get(layers, i),
					 r, name, repo)) < 0)
			goto out;
	env = stele_xcalloc(n ? n : 1, sizeof(*env));
	for (i = 0; i < n; i++)
		env[i] = fetched->e[i].envelope;
	if ((error = stele_rollout_journal_check(&j, name, env, n, policy)) < 0)
		goto out;
	/* The check computed each digest from the bytes; the fetch checked
	 * the bytes against the layer's. */
	snprintf(j->head, sizeof(j->head), "%s", head);
	*out = j;
out:
	free(env);
	stele_rollout_journal_free(fetched);
	json_decref(m);
	free(mt);
	stele_buf_release(&b);
	return error;
}

int
stele_rollout_entry_sign(struct stele_buf *out,
			 const struct stele_rollout_journal *j,
			 const char *name, const struct stele_rollout_move *m,
			 const struct stele_seckey *k)
{
	struct stele_buf payload = STELE_BUF_INIT(STELE_ROLLOUT_ENTRY_MAX);
	struct stele_buf pem = STELE_BUF_INIT(4096);
	char when[32];
	json_t *st = NULL;
	int error;

	stele_time_format(when, m->now);
	if ((error = stele_pubkey_pem(&pem, &k->pub)) < 0)
		goto out;
	st = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:{s:b,s:I,s:s?}}",
		"_type", STELE_ROLLOUT_TYPE, "action", m->action, "by", m->by,
		"from", m->from ? m->from : "", "prev",
		j->n ? j->e[j->n - 1].digest : "", "repository", name, "seq",
		(json_int_t)j->n, "signer", "keyid", k->pub.id, "publicKey",
		pem.ptr, "slot", m->slot ? m->slot : "", "tag", m->tag, "time",
		when, "to", m->to, "verify", "allowed", m->allowed, "checks",
		(json_int_t)m->checks, "identity", m->identity);
	if (!st) {
		error = stele_error_set("cannot build a rollout journal entry");
		goto out;
	}
	/* s:s? leaves the key out for NULL; the statement always has it. */
	if (!m->identity)
		json_object_set_new(json_object_get(st, "verify"), "identity",
				    json_null());
	if ((error = stele_json_emit(&payload, st)) < 0 ||
	    (error = stele_dsse_sign(out, k, STELE_PAYLOAD_ROLLOUT, payload.ptr,
				     payload.len)) < 0)
		goto out;
out:
	json_decref(st);
	stele_buf_release(&pem);
	stele_buf_release(&payload);
	return error;
}
