#include <stdlib.h>
#include <string.h>

#include "util/lazy.h"

#include "deploy/journal.h"
#include "deploy/rollout.h"
#include "oci/ref.h"
#include "signer/dsse.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/http.h"
#include "util/init.h"
#include "util/json.h"
#include "verify/policy.h"
#include "verify/push.h"

struct ctx {
	const struct stele_rollout_opts *o;
	const char *name;
	const char *slots[2], *live, *jtag;
	char *host;
	const char *repo;
	struct stele_registry *r;
	struct stele_policy *pol;
	struct stele_rollout_journal *j;
	json_t *actual; /* tag -> digest it names, "" none */
};

void
stele_rollout_result_release(struct stele_rollout_result *r)
{
	free(r->tag);
	free(r->slot);
	stele_verify_report_free(r->report);
	memset(r, 0, sizeof(*r));
}

static void
ctx_release(struct ctx *c)
{
	stele_rollout_journal_free(c->j);
	stele_policy_free(c->pol);
	stele_registry_free(c->r);
	json_decref(c->actual);
	free(c->host);
}

static const char *
journal_tag(const struct ctx *c, const char *tag)
{
	const char *s = stele_json_str(c->j->tags, tag);

	return s ? s : "";
}

static const char *
actual_tag(const struct ctx *c, const char *tag)
{
	const char *s = stele_json_str(c->actual, tag);

	return s ? s : "";
}

static int
read_tag(struct ctx *c, const char *tag)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char dig[STELE_DIGEST_STRLEN];
	int error;

	if (json_object_get(c->actual, tag))
		return 0;
	error = stele_registry_manifest_get(&b, dig, NULL, c->r, c->repo, tag);
	stele_buf_release(&b);
	if (error == STELE_ENOTFOUND) {
		dig[0] = '\0';
		error = 0;
	}
	if (error == 0)
		json_object_set_new(c->actual, tag, json_string(dig));
	return error;
}

/* Is the key that signs entries one the policy trusts now? */
static int
key_trusted(const struct stele_policy *p, const struct stele_pubkey *k)
{
	size_t i;

	for (i = 0; i < p->nrevoked; i++)
		if (!strcmp(p->revoked[i], k->id))
			return 0;
	for (i = 0; i < p->nkeys; i++)
		if (!strcmp(p->keys[i].key->id, k->id))
			return 1;
	return 0;
}

/*
 * Read the policy, the journal and the tags, and check that the journal
 * accounts for every tag it or this rollout names.
 */
static int
ctx_open(struct ctx *c, const char *name, const struct stele_rollout_opts *o,
	 int move)
{
	size_t hostlen = strcspn(name, "/");
	const char *tag;
	json_t *v;
	size_t i;
	int error;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->name = name;
	c->slots[0] = o->slots[0] ? o->slots[0] : "blue";
	c->slots[1] = o->slots[1] ? o->slots[1] : "green";
	c->live = o->live_tag ? o->live_tag : "live";
	c->jtag = o->journal_tag ? o->journal_tag : "stele-journal";
	c->actual = json_object();
	if (!strcmp(c->slots[0], c->slots[1]) ||
	    !strcmp(c->live, c->slots[0]) || !strcmp(c->live, c->slots[1]) ||
	    !strcmp(c->jtag, c->live) || !strcmp(c->jtag, c->slots[0]) ||
	    !strcmp(c->jtag, c->slots[1]))
		return stele_error_setc(
			STELE_EINVALID,
			"the slot tags, the live tag and the journal tag must differ ('%s', '%s', '%s', '%s')",
			c->slots[0], c->slots[1], c->live, c->jtag);
	if (!name[hostlen] || !name[hostlen + 1] || strchr(name, '@') ||
	    strchr(name + hostlen, ':'))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s' is not a repository (docker://HOST/REPO, without a tag or digest)",
			name);
	if (move && (!o->policy || !o->key))
		return stele_error_setc(
			STELE_EINVALID,
			"a rollout move needs a policy and a key to sign the journal with");
	if (o->policy && (error = stele_policy_load(&c->pol, o->policy)) < 0)
		return error;
	if (move && !key_trusted(c->pol, &o->key->pub))
		return stele_error_setc(
			STELE_EINVALID,
			"the journal key %s is not a key of the policy '%s' (or it is revoked): no later rollout could trust its entries",
			o->key->pub.id, o->policy);
	c->host = stele_xstrndup(name, hostlen);
	c->repo = name + hostlen + 1;
	if ((error = stele_registry_open(&c->r, c->host, 0, o->registry)) < 0 ||
	    (error = stele_rollout_journal_read(&c->j, c->r, name, c->repo,
						c->jtag, c->pol)) < 0 ||
	    (error = read_tag(c, c->live)) < 0 ||
	    (error = read_tag(c, c->slots[0])) < 0 ||
	    (error = read_tag(c, c->slots[1])) < 0)
		return error;
	json_object_foreach(c->j->tags, tag, v)
		if ((error = read_tag(c, tag)) < 0)
			return error;
	json_object_foreach(c->actual, tag, v) {
		if (!strcmp(json_string_value(v), journal_tag(c, tag)))
			continue;
		i = c->j->n;
		return stele_error_setc(
			STELE_EVERIFY,
			"tag '%s' of %s names %s, but its rollout journal (%zu entr%s) says %s: the journal was cut short or the tag was moved outside stele rollout; nothing was moved",
			tag, name,
			*json_string_value(v) ? json_string_value(v)
					      : "nothing",
			i, i == 1 ? "y" : "ies",
			*journal_tag(c, tag) ? journal_tag(c, tag) : "nothing");
	}
	return 0;
}

struct gate {
	const struct ctx *c;
	const char *digest, *slot;
};

static int
gate_health(void *payload, const struct stele_verify_report *report)
{
	struct gate *g = payload;

	(void)report;
	return g->c->o->health(g->c->o->health_payload, g->digest, g->slot,
			       g->c->name);
}

/* Append the entry of the move `out` describes. */
static int
journal_append(struct ctx *c, struct stele_rollout_result *out)
{
	struct stele_rollout_move m = { 0 };
	struct stele_buf *layers;
	size_t i, n = c->j->n + 1;
	struct stele_artifact a = { .name = c->name,
				    .tag = c->jtag,
				    .expect = *c->j->head ? c->j->head : NULL,
				    .artifact_type = STELE_MT_ROLLOUT_JOURNAL,
				    .layer_mt = STELE_MT_DSSE,
				    .n = n };
	int error;

	m.action = out->action;
	m.tag = out->tag;
	m.slot = out->slot;
	m.from = out->from;
	m.to = out->to;
	m.by = c->o->by && *c->o->by ? c->o->by : "unknown";
	m.now = c->o->now;
	m.allowed = out->report && out->report->allowed;
	m.checks = out->report ? out->report->n : 0;
	m.identity = out->report ? out->report->identity : NULL;
	layers = stele_xcalloc(n, sizeof(*layers));
	/* The entries as they are, byte for byte, then the new one. */
	for (i = 0; i < c->j->n; i++)
		layers[i] = c->j->e[i].envelope;
	layers[n - 1] =
		(struct stele_buf)STELE_BUF_INIT(STELE_ROLLOUT_ENTRY_MAX);
	if ((error = stele_rollout_entry_sign(&layers[n - 1], c->j, c->name, &m,
					      c->o->key)) == 0) {
		stele_digest_bytes(out->entry, layers[n - 1].ptr,
				   layers[n - 1].len);
		out->seq = c->j->n;
		a.layers = layers;
		error = stele_push_artifact(out->journal, &a, c->o->registry);
	}
	stele_buf_release(&layers[n - 1]);
	free(layers);
	if (error < 0)
		stele_error_prefix(
			error,
			"'%s' of %s now names %s, but the journal entry could not be written (the next rollout stops until the journal accounts for it)",
			out->tag, c->name, out->to);
	return error;
}

/* Verify `digest` where it lives, check health, move `tag`, record it. */
static int
move(struct ctx *c, struct stele_rollout_result *out, const char *action,
     const char *tag, const char *slot, const char *digest, int health)
{
	struct stele_verify_opts vo = { 0 };
	struct stele_push_opts po = { 0 };
	struct stele_push_tag t = { 0 };
	struct gate g = { c, digest, slot };
	int error;

	out->action = action;
	out->tag = stele_xstrdup(tag);
	out->slot = stele_xstrdup(slot);
	snprintf(out->from, sizeof(out->from), "%s", actual_tag(c, tag));
	snprintf(out->to, sizeof(out->to), "%s", digest);
	vo.policy = c->o->policy;
	vo.registry = c->o->registry;
	vo.progress = c->o->progress;
	vo.progress_payload = c->o->progress_payload;
	po.verify = &vo;
	po.registry = c->o->registry;
	t.name = c->name;
	t.tag = tag;
	t.digest = digest;
	t.expect = *out->from ? out->from : NULL;
	if (health && c->o->health) {
		t.gate = gate_health;
		t.gate_payload = &g;
	}
	stele_verify_report_free(out->report);
	out->report = NULL;
	if ((error = stele_push_tag_verified(&out->report, &t, &po)) < 0)
		return error;
	return journal_append(c, out);
}

int
stele_rollout_stage(struct stele_rollout_result *out, struct stele_image *img,
		    const struct stele_verify_opts *src, const char *name,
		    const struct stele_rollout_opts *o)
{
	struct stele_push_opts po = { 0 };
	struct stele_transfer t;
	struct stele_ref *dst = NULL;
	struct ctx c;
	const char *slot;
	char *ds = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = ctx_open(&c, name, o, 1)) < 0)
		goto out;
	if (!src || !src->policy) {
		error = stele_error_setc(
			STELE_EINVALID,
			"staging needs a policy to verify the image with");
		goto out;
	}
	/* The idle slot: the one live was not promoted from. */
	slot = c.j->live_slot && !strcmp(c.j->live_slot, c.slots[0])
		? c.slots[1]
		: c.slots[0];
	ds = stele_xasprintf("docker://%s@%s", name,
			     stele_json_str(img->desc, "digest")
				     ? stele_json_str(img->desc, "digest")
				     : img->digest);
	po.verify = src;
	po.registry = o->registry;
	if ((error = stele_ref_parse(&dst, ds, NULL)) < 0 ||
	    (error = stele_push_verified(&t, &out->report, img, dst, &po)) < 0)
		goto out;
	error = move(&c, out, "stage", slot, slot, t.digest, 0);
out:
	if (error < 0 && !out->action)
		out->action = "stage";
	stele_ref_free(dst);
	free(ds);
	ctx_release(&c);
	return error;
}

int
stele_rollout_promote(struct stele_rollout_result *out, const char *name,
		      const struct stele_rollout_opts *o)
{
	struct ctx c;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = ctx_open(&c, name, o, 1)) < 0)
		goto out;
	if (!c.j->staged_slot) {
		error = stele_error_setc(
			STELE_ENOTFOUND,
			"nothing is staged in %s since the last promote or rollback: run stele rollout stage first",
			name);
		goto out;
	}
	error = move(&c, out, "promote", c.live, c.j->staged_slot,
		     journal_tag(&c, c.j->staged_slot), 1);
out:
	if (!out->action)
		out->action = "promote";
	ctx_release(&c);
	return error;
}

int
stele_rollout_rollback(struct stele_rollout_result *out, const char *name,
		       const struct stele_rollout_opts *o)
{
	const char *target, *slot = "";
	struct ctx c;
	size_t nh;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = ctx_open(&c, name, o, 1)) < 0)
		goto out;
	nh = json_array_size(c.j->history);
	if (nh < 2) {
		error = stele_error_setc(
			STELE_ENOTFOUND,
			"%s has no earlier live digest to roll back to", name);
		goto out;
	}
	target = json_string_value(json_array_get(c.j->history, nh - 2));
	if (!strcmp(actual_tag(&c, c.slots[0]), target))
		slot = c.slots[0];
	else if (!strcmp(actual_tag(&c, c.slots[1]), target))
		slot = c.slots[1];
	error = move(&c, out, "rollback", c.live, slot, target, 1);
out:
	if (!out->action)
		out->action = "rollback";
	ctx_release(&c);
	return error;
}

int
stele_rollout_status(json_t **out, const char *name,
		     const struct stele_rollout_opts *o)
{
	json_t *st = NULL, *tags, *entries, *signers, *v;
	const char *tag;
	struct ctx c;
	size_t i, nh;
	int error;

	*out = NULL;
	if ((error = ctx_open(&c, name, o, 0)) < 0)
		goto out;
	tags = json_object();
	json_object_foreach(c.actual, tag, v) {
		const json_t *mi = json_object_get(c.j->moved, tag);
		const struct stele_rollout_entry *e;

		if (!*json_string_value(v)) {
			json_object_set_new(tags, tag, json_null());
			continue;
		}
		if (!mi) /* named by the options only, and absent */
			continue;
		e = &c.j->e[json_integer_value(mi)];
		json_object_set_new(
			tags, tag,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "digest",
				  json_string_value(v), "slot", e->slot,
				  "action", e->action, "by", e->by, "time",
				  e->time, "seq",
				  (json_int_t)json_integer_value(mi)));
	}
	entries = json_array();
	signers = json_array();
	for (i = 0; i < c.j->n; i++) {
		json_array_append(entries, c.j->e[i].statement);
		if (!json_array_size(signers) ||
		    strcmp(json_string_value(json_array_get(
				   signers, json_array_size(signers) - 1)),
			   c.j->e[i].keyid))
			json_array_append_new(signers,
					      json_string(c.j->e[i].keyid));
	}
	nh = json_array_size(c.j->history);
	st = json_pack("{s:s,s:{s:s,s:s?,s:I,s:o,s:s},s:o,s:o,s:o,s:o}",
		       "repository", name, "journal", "tag", c.jtag, "head",
		       *c.j->head ? c.j->head : NULL, "entries",
		       (json_int_t)c.j->n, "signers", signers, "checked",
		       c.pol ? "policy" : "signatures only (no --policy)",
		       "tags", tags, "staged",
		       c.j->staged_slot
			       ? json_pack("{s:s,s:s}", "slot",
					   c.j->staged_slot, "digest",
					   journal_tag(&c, c.j->staged_slot))
			       : json_null(),
		       "rollback",
		       nh >= 2 ? json_string(json_string_value(
					 json_array_get(c.j->history, nh - 2)))
			       : json_null(),
		       "entries", entries);
	if (!st) {
		error = stele_error_set("cannot build the rollout status");
		goto out;
	}
	if (!*c.j->head)
		json_object_set_new(json_object_get(st, "journal"), "head",
				    json_null());
	*out = st;
out:
	ctx_release(&c);
	return error;
}

static size_t
discard(char *buf, size_t size, size_t n, void *p)
{
	(void)buf;
	(void)p;
	return size * n;
}

int
stele_rollout_health_url(const char *url, unsigned timeout_s)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	long status = 0;
	CURLcode rc;

	if (stele_init_curl() < 0)
		return STELE_ERROR;
	if (!(h = curl_easy_init()))
		return stele_error_set("cannot start a health check of '%s'",
				       url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT,
			 (long)(timeout_s ? timeout_s : 30));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	stele_http_use_system_ca(h);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		return stele_error_setc(
			STELE_EVERIFY, "health check '%s' failed: %s", url,
			*errbuf ? errbuf : curl_easy_strerror(rc));
	if (status < 200 || status > 299)
		return stele_error_setc(
			STELE_EVERIFY,
			"health check '%s' answered %ld, not 2xx", url, status);
	return 0;
}
