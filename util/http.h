#ifndef STELE_UTIL_HTTP_H
#define STELE_UTIL_HTTP_H

#include "util/sink.h"

/*
 * One GET of a URL outside a registry (ADD --checksum downloads,
 * vulnerability database sources), with the same transfer rules for all:
 * only `protocols` ("https" or "http,https"), redirects too (at most 5),
 * a 30 s connect timeout, a transfer under `low_speed` bytes/s for 60 s
 * fails, User-Agent "stele".  Proxies come from libcurl's usual
 * environment variables.  The body goes to `sink` in order; a negative
 * return from it (its message set) stops the transfer.
 */
#define STELE_HTTP_WHY_MAX 256

struct stele_http_get {
	const char *url;
	const char *protocols;
	const char *cacert; /* a CA bundle (PEM) to trust, besides libcurl's
			       CA directory (the system's, hashed); NULL:
			       the system's (struct stele_http_ca) */
	long low_speed;
	int fail_on_error; /* an HTTP status of 400 or more is a failure */
	stele_sink_fn sink;
	void *payload;
	/* Filled in: */
	int failed; /* the transfer failed: `why` says how */
	char why[STELE_HTTP_WHY_MAX];
	long status; /* the last response's HTTP status */
};

/*
 * Run `g`: 0 when it ran (g->failed and g->status say how it went), the
 * sink's code when it stopped the transfer, STELE_ERROR when libcurl
 * cannot start.
 */
int stele_http_get(struct stele_http_get *g);

/*
 * Where the system's trusted CAs are, for libcurl.  `capath`: libcurl's CA
 * directory (curl_version_info(), /etc/ssl/certs on Debian, which
 * update-ca-certificates fills from the same certificates as the bundle)
 * when it is OpenSSL's hashed directory (stele_http_ca_dir_hashed) and
 * libcurl's TLS is OpenSSL: a chain's CA is then read from it when the
 * chain names it, and nothing up front.  Else NULL: the system's CAs are
 * the bundle, `bundle` (libcurl's, or Debian's path), parsed whole every
 * time a TLS connection starts (~25 ms of CPU).  Trusting `capath` alone
 * (CURLOPT_CAINFO NULL, CURLOPT_CAPATH `capath`) is trusting the system's
 * CAs.  Both strings borrowed from libcurl (or static).  Looked up once
 * a process.  Call after stele_init_curl().
 */
struct stele_http_ca {
	const char *capath;
	const char *bundle;
};

void stele_http_system_ca(struct stele_http_ca *out);
/* Make libcurl handle `curl` (a CURL *) trust the CAs of the hashed
 * directory `capath` (CURLOPT_CAINFO NULL, CURLOPT_CAPATH `capath`); NULL:
 * leave the handle as it is. */
void stele_http_trust_ca_dir(void *curl, const char *capath);
/* Make libcurl handle `curl` (a CURL *) trust the system's CAs as
 * stele_http_system_ca says, through their hashed directory when there is
 * one; else it keeps libcurl's defaults (the bundle). */
void stele_http_use_system_ca(void *curl);
/*
 * 1 when directory `dir` holds a name OpenSSL's hashed lookup reads (a
 * certificate's: eight lowercase hex digits, '.', digits, as `openssl
 * rehash` makes them); 0 when not, or when `dir` is NULL or unreadable.
 */
int stele_http_ca_dir_hashed(const char *dir);

#endif
