#ifndef STELE_REGISTRY_CLIENT_H
#define STELE_REGISTRY_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "util/buf.h"
#include "util/fs.h"

/*
 * A client of one registry host speaking the OCI distribution spec over
 * libcurl (docs/registry.md).
 *
 * Transport.  https with certificate verification, always, unless
 * `insecure` (--tls-verify=false) is set; then certificates are not
 * checked and, as skopeo does for an insecure registry, plain http is
 * tried when https cannot connect.  There is no other way to get plain
 * http: a registry on localhost is not special.  `cert_dir` (--cert-dir)
 * is read as containers-certs.d(5): every *.crt is a trusted CA (besides
 * the system's, util/http.h's struct stele_http_ca; a *.crt that does not
 * read is an error, one holding no certificate adds nothing), a *.cert
 * with its *.key is the client certificate.  Without `cert_dir`,
 * /etc/containers/certs.d/HOST is used when it exists.
 *
 * Authentication.  stele_registry_open() probes /v2/ and remembers the
 * challenge: none (anonymous), Basic (credentials sent with every request)
 * or Bearer (a token fetched from the realm for service and scope
 * "repository:REPO:pull" or ":pull,push", reused for that scope until it
 * expires, fetched again on expiry or when the registry answers 401).
 * Credentials come from `creds` ("USER:PASS"), else the auth files (see
 * registry/auth.h).  Anonymous token requests are made when there are
 * none.
 *
 * Faults.  Connection failures, resets, timeouts (no byte for `timeout_s`),
 * 5xx and 429 answers are retried `retries` times with exponential backoff
 * from `backoff_ms` (doubling, at most 8 s a wait; a 429's Retry-After is
 * honoured up to that).  Uploads to an upload session are not retried
 * request by request: the whole blob upload starts again.  Everything
 * received is capped: manifests and indexes at STELE_MANIFEST_MAX, tokens
 * and error bodies at 64 KiB, blobs at the size their descriptor gives;
 * every blob and manifest fetched by digest is hashed while it streams
 * and a mismatch is STELE_EVERIFY naming the digest (nothing is stored).
 *
 * Errors name the registry, the request and the registry's own error
 * code and message.  A 401 after authenticating is STELE_ERROR saying
 * "authentication failed" (or "authentication required" without
 * credentials); a 404 is STELE_ENOTFOUND; a digest mismatch STELE_EVERIFY.
 */

#define STELE_MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"
#define STELE_MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
/* The Accept list for manifests: OCI and Docker schema 2, images and indexes. */
#define STELE_REGISTRY_ACCEPT \
	STELE_MT_MANIFEST ", " STELE_MT_INDEX ", " STELE_MT_DOCKER_MANIFEST \
			  ", " STELE_MT_DOCKER_LIST

/* Progress of one transfer: `what` is e.g. "push sha256:…"; done/total bytes. */
typedef void (*stele_registry_progress_fn)(void *payload, const char *what,
					   uint64_t done, uint64_t total);

#define STELE_REGISTRY_NO_RETRY 0xffffffffu
/* Blobs up to this size go up in one PUT; larger ones stream in PATCHes. */
#define STELE_REGISTRY_MONOLITHIC_MAX (1u << 20)

struct stele_registry_opts {
	const char *creds; /* "USER:PASS", or NULL */
	const char *authfile; /* read alone when not NULL; else: */
	const char *const *auth_search; /* the files looked up in order,
				   NULL-terminated (registry/auth.h); NULL:
				   none */
	const char *cert_dir; /* NULL: /etc/containers/certs.d/HOST if any */
	int insecure; /* --tls-verify=false */
	unsigned retries; /* 0: 4 (five attempts in all);
				   STELE_REGISTRY_NO_RETRY: none */
	unsigned backoff_ms; /* 0: 250 */
	unsigned timeout_s; /* 0: 30 (connect, and longest stall) */
	uint64_t chunk_size; /* 0: 1 GiB: the largest PATCH of an upload */
	unsigned jobs; /* blobs moved at once by push, pull and
				   copy (registry/copy.h); 0: 4 */
	/* Called from the threads that move blobs, one call at a time. */
	stele_registry_progress_fn progress;
	void *progress_payload;
	volatile sig_atomic_t *cancel; /* set non-zero to interrupt */
	const struct stele_dirs *dirs; /* ->store: where a pull with no
				       destination writes; ->tmp: temporary
				       layouts; NULL: no store, /tmp */
};

/* Counters of one client, for summaries and tests. */
struct stele_registry_stats {
	uint64_t requests; /* HTTP requests sent (token requests too) */
	uint64_t retries; /* requests repeated after a fault */
	uint64_t tokens; /* bearer tokens fetched */
	uint64_t bytes_up, bytes_down; /* blob bytes */
};

struct stele_registry;

/*
 * Connect to `host` ("HOST[:PORT]") and probe /v2/.  `push` asks for push
 * scope in bearer tokens.  *out owned by the caller.
 */
int stele_registry_open(struct stele_registry **out, const char *host, int push,
			const struct stele_registry_opts *o);
void stele_registry_free(struct stele_registry *r);
const struct stele_registry_stats *
stele_registry_stats(const struct stele_registry *r);
/* "https" or "http": what the probe settled on (borrowed). */
const char *stele_registry_scheme(const struct stele_registry *r);
/*
 * Authenticate now (what `stele login` checks): Basic credentials or a
 * bearer token without scope must be accepted.  STELE_EINVALID when the
 * registry wants no credentials is not an error: returns 0.
 */
int stele_registry_check_auth(struct stele_registry *r);

/*
 * GET a manifest by tag or digest (`ref`) with the Accept list above,
 * into `out` (capped at STELE_MANIFEST_MAX).  `digest` is filled with the
 * sha256 of the bytes; when `ref` is a digest it must match, and when the
 * registry sends Docker-Content-Digest it must match too (STELE_EVERIFY).
 * `media_type` (may be NULL) gets the Content-Type (malloc'd).
 * STELE_ENOTFOUND for 404.
 */
int stele_registry_manifest_get(struct stele_buf *out,
				char digest[STELE_DIGEST_STRLEN],
				char **media_type, struct stele_registry *r,
				const char *repo, const char *ref);
/*
 * 1 when the registry has manifest `digest` under `ref` (a tag or the
 * digest): HEAD answers 200 with that Docker-Content-Digest; 0 otherwise.
 */
int stele_registry_manifest_has(struct stele_registry *r, const char *repo,
				const char *ref, const char *digest);
/* 1 when the registry has the blob (HEAD), 0 when not. */
int stele_registry_blob_exists(struct stele_registry *r, const char *repo,
			       const char *digest);
/*
 * Stream blob `digest` of `size` bytes into a new blob of `txn`, hashing
 * as it arrives; more bytes than `size`, fewer, or another digest is
 * STELE_EVERIFY and nothing is staged.  A transfer broken off is resumed
 * where it broke (Range; from the start when the server answers 200).
 */
int stele_registry_blob_fetch(struct stele_txn *txn, struct stele_registry *r,
			      const char *repo, const char *digest,
			      uint64_t size);
/*
 * GET blob `digest` into `out` (at most out->max bytes, else
 * STELE_EINVALID), checked against its digest (STELE_EVERIFY).  For small
 * blobs such as the rollout journal's entries.  STELE_ENOTFOUND for 404.
 */
int stele_registry_blob_get(struct stele_buf *out, struct stele_registry *r,
			    const char *repo, const char *digest);
/*
 * The referrers index of `digest` from the referrers API.  STELE_ENOTFOUND
 * when the registry has no referrers API (the caller then reads the
 * "sha256-<hex>" tag, as the distribution spec says).
 */
int stele_registry_referrers(json_t **out, struct stele_registry *r,
			     const char *repo, const char *digest);

/* The curl adapter: sets "<curl's message>" and returns STELE_ERROR. */
int stele_error_curl(int code, const char *errbuf);

#endif
