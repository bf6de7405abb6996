#ifndef STELE_REGISTRY_CLIENT_PRIV_H
#define STELE_REGISTRY_CLIENT_PRIV_H

/*
 * Between registry/client.c (HTTP, TLS, retries), registry/token.c
 * (challenges, credentials, bearer tokens) and registry/blobs.c.
 */

#include <pthread.h>
#include <stdint.h>

#include "registry/client.h"
#include "util/buf.h"
#include "util/http.h"
#include "util/sink.h"

#include "util/lazy.h"

#define REG_SMALL_MAX (64u << 10) /* tokens, error bodies, challenges */
/* Connections a client opens to its registry at most: requests asked at
 * once beyond that wait for one (stele_registry__prefetch). */
#define REG_CONNECTIONS_MAX 8

struct stele_creds;
struct stele_registry__kept;

struct stele_registry__token {
	char *scope;
	char *value;
	double expires; /* CLOCK_MONOTONIC seconds */
	struct stele_registry__token *next;
};

enum stele_registry__auth { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct stele_registry {
	char *host;
	char *base; /* "https://HOST" or "http://HOST" */
	struct stele_registry_opts o;
	int push;
	CURL *curl;
	CURLM *multi; /* its connections, which every request runs on */
	struct stele_registry__kept *kept; /* answers asked ahead */
	char errbuf[CURL_ERROR_SIZE];
	/* Trust (containers-certs.d(5)): the system's CAs from their hashed
	 * directory `capath`, and `ca`, the cert dir's CAs (PEM).  Without
	 * `capath`, `ca` is followed by the system bundle when it holds any
	 * (else libcurl's defaults). */
	struct stele_buf ca;
	char *capath;
	char *client_cert, *client_key;
	struct stele_creds *creds;
	int creds_looked_up;
	enum stele_registry__auth scheme;
	char *realm, *service;
	struct stele_registry__token *tokens;
	int last_transient;
	int net_failed; /* the last request got no HTTP answer */
	struct stele_registry_stats stats;
	/* Progress calls, one at a time: its own lock, or the lock of the
	 * client it was duplicated from. */
	pthread_mutex_t progress_mu;
	pthread_mutex_t *progress_lock;
};

/* A streamed response body: called only for 2xx answers. */
/* Called before a request is sent again, to start the sink over. */
typedef int (*stele_registry__reset_fn)(void *payload);

enum stele_registry__flags {
	REQ_NO_RETRY = 1 << 0, /* one attempt: upload session requests */
	REQ_NO_AUTH = 1 << 1, /* the /v2/ probe: record the challenge only */
	REQ_ABS_URL = 1 << 2 /* `path` is a whole URL (a Location) */
};

struct stele_registry__req {
	const char *method; /* GET HEAD PUT POST PATCH DELETE */
	const char *path; /* "/v2/..." or, with REQ_ABS_URL, a URL */
	const char *repo; /* scope repository (NULL: none) */
	const char *from; /* another repository to pull from (mount) */
	const char *accept;
	const char *content_type;
	const char *content_range;
	const char *if_match; /* an ETag: put only if the target still has it */
	uint64_t range_from; /* > 0: ask for the bytes from here on (206) */
	unsigned flags;
	/* Request body: memory, or `body_len` bytes of fd from `body_off`. */
	const void *data;
	int fd; /* -1 when the body is `data` */
	uint64_t body_off, body_len;
	int has_body;
	/* Response body of a 2xx answer: `body` (capped), else `sink`. */
	struct stele_buf *body;
	stele_sink_fn sink;
	stele_registry__reset_fn reset;
	void *payload;
	const char *progress_what;
	uint64_t progress_base; /* bytes of the blob sent before this request */
	uint64_t progress_total;
	int basic; /* send Basic credentials (token requests) */

	/* Filled in by stele_registry__do(). */
	long status;
	char *location; /* Location, malloc'd */
	char *digest; /* Docker-Content-Digest */
	char *ctype; /* Content-Type */
	int subject; /* OCI-Subject seen */
	char *www_auth; /* WWW-Authenticate of a 401 */
	char *crange; /* Content-Range of a 206 */
	char *etag; /* ETag */
	struct stele_buf err; /* body of a non-2xx answer (capped) */
};

void stele_registry__req_init(struct stele_registry__req *q, const char *method,
			      const char *path, const char *repo);
void stele_registry__req_release(struct stele_registry__req *q);
/*
 * Send `q` with authentication and retries; 0 when an HTTP answer came
 * (any status: the caller reads q->status), an error when none did or
 * the sink failed.
 */
int stele_registry__do(struct stele_registry *r, struct stele_registry__req *q);
/*
 * Questions asked ahead: GET or HEAD requests for `path` (with `accept`,
 * the scope of `repo`) sent at once, one attempt each, on up to
 * REG_CONNECTIONS_MAX connections, with the credentials any request gets.
 * Their answers are kept, and the next stele_registry__do() of the same
 * method, path, repository and Accept (GET/HEAD, no other option) takes
 * its answer, once, instead of sending it: the caller checks it as it
 * checks any answer.  Nothing is kept of a request that got no answer,
 * a 401, 429 or 5xx (it is sent again when asked, with its retries and
 * challenge), and any other request (a write) drops all that is kept.
 * Bodies are capped at STELE_MANIFEST_MAX.  An error only when a request
 * could not be set up (a bearer token could not be had).
 */
struct stele_registry__ask {
	const char *method; /* "GET" or "HEAD" */
	char *path; /* "/v2/...", malloc'd */
	const char *repo; /* scope repository */
	const char *accept; /* NULL: none */
};
int stele_registry__prefetch(struct stele_registry *r,
			     const struct stele_registry__ask *a, size_t n);
/*
 * stele_registry_open(), then stele_registry__prefetch() of the `n`
 * questions `a`.  Over https, when there are no credentials for the
 * registry, the probe and the questions go at once, one round trip (the
 * questions' answers kept only when the probe found an anonymous
 * registry; after a challenge they are asked again, at once, with the
 * credentials it asks for).  The caller frees `a`.
 */
int stele_registry__open_asking(struct stele_registry **out, const char *host,
				int push, const struct stele_registry_opts *o,
				const struct stele_registry__ask *a, size_t n);
/*
 * stele_registry_open() with `sys` for the system's trusted CAs in place
 * of stele_http_system_ca()'s (tests: a hashed directory of their own).
 * `sys` is read during the call (its capath copied).
 */
int stele_registry__open_ca(struct stele_registry **out, const char *host,
			    int push, const struct stele_registry_opts *o,
			    const struct stele_http_ca *sys);
/* The question stele_registry_manifest_has() ("HEAD") or
 * stele_registry_manifest_get() ("GET") asks about `ref` (registry/blobs.c). */
void stele_registry__ask_manifest(struct stele_registry__ask *a,
				  const char *method, const char *repo,
				  const char *ref);
/* The question stele_registry_referrers() asks about `digest`. */
void stele_registry__ask_referrers(struct stele_registry__ask *a,
				   const char *repo, const char *digest);
/*
 * A second client of the same registry for another thread: its own
 * connection, the same options, challenge, CA bundle, client certificate
 * and the tokens fetched so far, no probe.  Its progress calls take
 * `r`'s lock, so `r` must outlive it.  *out owned by the caller
 * (stele_registry_free); fold its stats back with
 * stele_registry__stats_add.
 */
int stele_registry__dup(struct stele_registry **out,
			const struct stele_registry *r);
void stele_registry__stats_add(struct stele_registry_stats *to,
			       const struct stele_registry_stats *from);
/* Set an error for an unexpected answer: "<host>: <what>: <status> <errors>". */
int stele_registry__fail(struct stele_registry *r,
			 const struct stele_registry__req *q, const char *what);
const char *stele_registry__host(const struct stele_registry *r);
const struct stele_registry_opts *
stele_registry__opts(const struct stele_registry *r);
struct stele_registry_stats *stele_registry__stats(struct stele_registry *r);
/* Sleep before attempt `attempt` (1, 2, ...); STELE_ERROR when cancelled. */
int stele_registry__backoff(struct stele_registry *r, unsigned attempt,
			    unsigned retry_after_s);
int stele_registry__cancelled(const struct stele_registry *r);
/* Whether an error from stele_registry__do() is worth retrying. */
int stele_registry__transient(const struct stele_registry *r);

/* registry/token.c: authentication. */
char *stele_registry__challenge_param(const char *header, const char *name);
void stele_registry__tokens_free(struct stele_registry__token *t);
/* Credentials from the options or the auth files, once. */
int stele_registry__need_creds(struct stele_registry *r);
/* A 401 (the `round`th for this request): 0 to try again, or the error. */
int stele_registry__on_challenge(struct stele_registry *r,
				 struct stele_registry__req *q, int round);
/* The bearer token for q's scope, cached or fetched (borrowed). */
int stele_registry__bearer(const char **out, struct stele_registry *r,
			   const struct stele_registry__req *q);

/*
 * The write primitives: only registry/ calls them, and only on behalf of
 * the verified push (verify/push.h), the one route to a registry write.
 */
/*
 * PUT a manifest under `ref` (tag or its digest) with Content-Type
 * `media_type`.  *has_subject (may be NULL) is set when the registry
 * answered with OCI-Subject (it keeps a referrers index itself).
 */
int stele_registry_manifest_put(struct stele_registry *r, const char *repo,
				const char *ref, const char *media_type,
				const void *data, size_t len, int *has_subject);
/*
 * The same with If-Match: `etag` when there is one (a registry that
 * honours it refuses the put with 412 when the tag moved since it was
 * read: 1 is returned then, and nothing was written).
 */
int stele_registry__manifest_put_if(struct stele_registry *r, const char *repo,
				    const char *ref, const char *media_type,
				    const void *data, size_t len,
				    const char *etag, int *has_subject);
/* Mount `digest` from repository `from` of the same registry: 1 mounted, 0 not. */
int stele_registry_blob_mount(struct stele_registry *r, const char *repo,
			      const char *from, const char *digest);
/*
 * Upload blob `digest` of `size` bytes read from `fd` (from offset 0):
 * one PUT up to STELE_REGISTRY_MONOLITHIC_MAX; above, PATCHes of at most
 * chunk_size bytes, then a PUT with the digest.
 */
int stele_registry_blob_upload(struct stele_registry *r, const char *repo,
			       const char *digest, uint64_t size, int fd);
/* Upload a small blob held in memory (one PUT), unless the registry has it. */
int stele_registry_blob_upload_bytes(struct stele_registry *r, const char *repo,
				     const void *data, size_t len);

#endif
