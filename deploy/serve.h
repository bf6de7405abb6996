#ifndef STELE_DEPLOY_SERVE_H
#define STELE_DEPLOY_SERVE_H

#include <stddef.h>

#include "deploy/admission.h"

/*
 * The admission webhook's HTTPS server (libmicrohttpd, TLS through
 * GnuTLS), docs/deploy.md:
 *
 *   POST /validate   an AdmissionReview v1 (deploy/admission.h): 200 with
 *                    the review, 400 with a text reason for a request
 *                    that is not one, 413 above STELE_ADMISSION_MAX_BODY,
 *                    500 when the review could not run
 *   POST /flagger    a Flagger webhook payload (deploy/admission.h,
 *                    stele_admission_flagger): 200 with the verdict when
 *                    every image passes, 403 with it when one does not,
 *                    400 with a text reason for a payload that is not
 *                    one, 413, 500 as above
 *   GET  /healthz    200 "ok"
 *
 * Anything else is 404 (405 for another method on /validate or /flagger).  Requests
 * are served by a pool of threads; each connection times out after 10 s
 * idle (the API server's default webhook timeout).
 */
struct stele_serve_opts {
	const char *address; /* IPv4 or IPv6 address to listen on ("::1",
				    no brackets) */
	unsigned port;
	const char *cert_pem; /* the certificate chain, PEM, NUL-terminated */
	const char *key_pem; /* its private key, PEM, NUL-terminated */
	unsigned threads; /* 0: 2 */
};

struct stele_serve;

/* Start serving `adm` (borrowed: outlives the server).  STELE_EINVALID
 * for a bad address, STELE_ERROR when the server cannot start (the port
 * taken, a certificate or key GnuTLS refuses). */
int stele_serve_start(struct stele_serve **out, struct stele_admission *adm,
		      const struct stele_serve_opts *o);
/* Stop (in-flight requests finish) and free; accepts NULL. */
void stele_serve_stop(struct stele_serve *s);

#endif
