#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/lazy.h"
#include <openssl/crypto.h>

#include "registry/auth.h"
#include "registry/client_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * Registry authentication: the challenge of a 401, credentials, and bearer
 * tokens fetched from the realm and kept per scope until they expire.
 */

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * One auth-param of the challenge `h` (RFC 7235: a scheme, then name=token
 * or name="quoted-string" with \ escapes, separated by commas), looked up
 * by name without regard to case.  Only the first challenge's parameters
 * count: a token without '=' starts the next one.  The scan goes
 * parameter by parameter, so a name inside another parameter's quoted
 * value (service="x realm=y") is never taken for a parameter.
 */
char *
stele_registry__challenge_param(const char *h, const char *name)
{
	const char *p = h + strcspn(h, " \t,"), *key;
	size_t klen;

	for (;;) {
		struct stele_buf b = STELE_BUF_INIT(REG_SMALL_MAX);
		int want;

		p += strspn(p, " \t,");
		key = p;
		klen = strcspn(p, " \t,=");
		if (!*p || !klen)
			return NULL;
		p += klen;
		p += strspn(p, " \t");
		if (*p != '=')
			return NULL;
		p++;
		p += strspn(p, " \t");
		want = klen == strlen(name) && !strncasecmp(key, name, klen);
		if (*p != '"') {
			klen = strcspn(p, " \t,");
			if (want)
				return stele_xstrndup(p, klen);
			p += klen;
			continue;
		}
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			/* Past the cap the value is cut short, not refused. */
			if (want)
				(void)stele_buf_putc(&b, *p);
		}
		if (*p == '"')
			p++;
		if (want)
			return b.ptr ? stele_buf_detach(&b) : stele_xstrdup("");
	}
}

void
stele_registry__tokens_free(struct stele_registry__token *t)
{
	while (t) {
		struct stele_registry__token *next = t->next;

		free(t->scope);
		if (t->value)
			OPENSSL_cleanse(t->value, strlen(t->value));
		free(t->value);
		free(t);
		t = next;
	}
}

static char *
scope_of(const struct stele_registry *r, const struct stele_registry__req *q)
{
	if (!q->repo)
		return stele_xstrdup("");
	if (q->from)
		return stele_xasprintf("repository:%s:%s repository:%s:pull",
				       q->repo, r->push ? "pull,push" : "pull",
				       q->from);
	return stele_xasprintf("repository:%s:%s", q->repo,
			       r->push ? "pull,push" : "pull");
}

int
stele_registry__need_creds(struct stele_registry *r)
{
	int error;

	if (r->creds_looked_up)
		return 0;
	r->creds_looked_up = 1;
	if (r->o.creds)
		return stele_creds_parse(&r->creds, r->o.creds);
	error = stele_creds_lookup(&r->creds, r->host, r->o.authfile,
				   r->o.auth_search);
	return error == STELE_ENOTFOUND ? 0 : error;
}

static int
add_scope_params(struct stele_buf *url, CURL *c, const char *scope)
{
	const char *p = scope;
	int error = 0;

	while (*p && !error) {
		size_t n = strcspn(p, " ");
		char *one = stele_xstrndup(p, n);
		char *esc = curl_easy_escape(c, one, 0);

		error = stele_buf_printf(url, "&scope=%s", esc ? esc : "");
		curl_free(esc);
		free(one);
		p += n;
		while (*p == ' ')
			p++;
	}
	return error;
}

/* GET the realm for a bearer token for `scope`; caches it. */
static int
fetch_token(struct stele_registry__token **out, struct stele_registry *r,
	    const char *scope)
{
	struct stele_buf url = STELE_BUF_INIT(REG_SMALL_MAX);
	struct stele_buf body = STELE_BUF_INIT(REG_SMALL_MAX);
	struct stele_registry__req q;
	struct stele_registry__token *t = NULL;
	json_t *doc = NULL, *exp;
	const char *tok;
	char *esc = NULL;
	int error;

	*out = NULL;
	if (!r->realm || strncmp(r->realm, "http", 4))
		return stele_error_set(
			"%s: bearer challenge without a usable realm", r->host);
	if (!strncmp(r->realm, "http:", 5) && !r->o.insecure &&
	    strcmp(stele_registry_scheme(r), "http"))
		return stele_error_set(
			"%s: token realm '%s' is plain http; refusing to send credentials (use --tls-verify=false to allow)",
			r->host, r->realm);
	esc = curl_easy_escape(r->curl, r->service ? r->service : "", 0);
	if ((error = stele_buf_printf(&url, "%s%cservice=%s", r->realm,
				      strchr(r->realm, '?') ? '&' : '?',
				      esc ? esc : "")) < 0 ||
	    (error = add_scope_params(&url, r->curl, scope)) < 0)
		goto out;
	stele_registry__req_init(&q, "GET", url.ptr, NULL);
	q.flags = REQ_ABS_URL | REQ_NO_AUTH;
	q.body = &body;
	q.basic = 1;
	r->stats.tokens++;
	error = stele_registry__do(r, &q);
	if (!error && q.status == 401)
		error = stele_error_set(
			"%s: the token server rejected %s (HTTP 401 from %s)",
			r->host,
			r->creds
				? "the credentials"
				: "an anonymous request; credentials are needed (--creds, --authfile or stele login)",
			r->realm);
	else if (!error && q.status != 200)
		error = stele_registry__fail(r, &q, "token request");
	stele_registry__req_release(&q);
	if (error < 0 ||
	    (error = stele_json_parse(&doc, body.ptr, body.len,
				      "token response")) < 0)
		goto out;
	tok = stele_json_str(doc, "token");
	if (!tok || !*tok)
		tok = stele_json_str(doc, "access_token");
	if (!tok || !*tok || strpbrk(tok, "\r\n")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"%s: the token server's answer has no token", r->host);
		goto out;
	}
	t = stele_xcalloc(1, sizeof(*t));
	t->scope = stele_xstrdup(scope);
	t->value = stele_xstrdup(tok);
	exp = json_object_get(doc, "expires_in");
	/* Renew a little early; 60 s when the server does not say. */
	t->expires = now_mono() +
		(json_is_integer(exp) && json_integer_value(exp) > 0
			 ? (double)json_integer_value(exp) * 0.9
			 : 54.0);
	t->next = r->tokens;
	r->tokens = t;
	*out = t;
out:
	if (doc) {
		/* The token is a credential: do not leave it in jansson's heap. */
		json_decref(doc);
	}
	if (body.ptr)
		OPENSSL_cleanse(body.ptr, body.len);
	curl_free(esc);
	stele_buf_release(&body);
	stele_buf_release(&url);
	return error;
}

static struct stele_registry__token *
token_cached(struct stele_registry *r, const char *scope)
{
	struct stele_registry__token *t;

	for (t = r->tokens; t; t = t->next)
		if (!strcmp(t->scope, scope) && t->expires > now_mono())
			return t;
	return NULL;
}

static void
token_drop(struct stele_registry *r, const char *scope)
{
	struct stele_registry__token **pp = &r->tokens, *t;

	while ((t = *pp)) {
		if (!strcmp(t->scope, scope)) {
			*pp = t->next;
			t->next = NULL;
			stele_registry__tokens_free(t);
		} else {
			pp = &t->next;
		}
	}
}

/* Take in a 401's challenge; returns 0 to try again. */
int
stele_registry__on_challenge(struct stele_registry *r,
			     struct stele_registry__req *q, int round)
{
	const char *h = q->www_auth;
	char *scope;
	int error;

	if ((error = stele_registry__need_creds(r)) < 0)
		return error;
	if (h && !strncasecmp(h, "Bearer", 6)) {
		free(r->realm);
		free(r->service);
		r->realm = stele_registry__challenge_param(h, "realm");
		r->service = stele_registry__challenge_param(h, "service");
		r->scheme = AUTH_BEARER;
		scope = scope_of(r, q);
		token_drop(r, scope);
		free(scope);
		if (round <= 2)
			return 0;
	} else if (h && !strncasecmp(h, "Basic", 5)) {
		if (!r->creds)
			return stele_error_set(
				"%s requires authentication: no credentials for it (use --creds, --authfile or stele login)",
				r->host);
		if (r->scheme != AUTH_BASIC) {
			r->scheme = AUTH_BASIC;
			return 0;
		}
	}
	if (r->creds)
		return stele_error_set(
			"%s: authentication failed for user '%s' (%s %s: HTTP 401)",
			r->host, r->creds->user, q->method, q->path);
	return stele_error_set(
		"%s: %s %s: authentication required (HTTP 401; no credentials: use --creds, --authfile or stele login)",
		r->host, q->method, q->path);
}

int
stele_registry__bearer(const char **out, struct stele_registry *r,
		       const struct stele_registry__req *q)
{
	char *scope = scope_of(r, q);
	struct stele_registry__token *t;
	int error = 0;

	*out = NULL;
	if (!(t = token_cached(r, scope))) {
		token_drop(r, scope);
		error = fetch_token(&t, r, scope);
	}
	free(scope);
	if (!error)
		*out = t->value;
	return error;
}

int
stele_registry_check_auth(struct stele_registry *r)
{
	struct stele_registry__req q;
	struct stele_registry__token *t;
	int error = 0;

	if (r->scheme == AUTH_NONE)
		return 0;
	if (!r->creds)
		return stele_error_set(
			"%s requires authentication: no credentials given",
			r->host);
	if (r->scheme == AUTH_BEARER)
		return fetch_token(&t, r, "");
	stele_registry__req_init(&q, "GET", "/v2/", NULL);
	q.flags = REQ_NO_RETRY;
	if ((error = stele_registry__do(r, &q)) == 0 && q.status != 200)
		error = stele_registry__fail(r, &q,
					     "GET /v2/ with credentials");
	stele_registry__req_release(&q);
	return error;
}
