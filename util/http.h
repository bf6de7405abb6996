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
	const char *cacert; /* a CA bundle (PEM) to trust; NULL: the system's */
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

#endif
