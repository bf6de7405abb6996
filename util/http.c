/* GETs outside a registry (http.h). */
#include <stdio.h>

#include "util/lazy.h"

#include "util/error.h"
#include "util/http.h"
#include "util/init.h"

struct tee {
	struct stele_http_get *g;
	int error;
};

static size_t
body(char *data, size_t one, size_t n, void *payload)
{
	struct tee *t = payload;

	n *= one;
	if ((t->error = t->g->sink(t->g->payload, data, n)) < 0)
		return 0;
	return n;
}

int
stele_http_get(struct stele_http_get *g)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct tee t = { g, 0 };
	CURL *c;
	CURLcode rc;
	int error;

	g->failed = 0;
	g->why[0] = '\0';
	g->status = 0;
	if ((error = stele_init_curl()) < 0)
		return error;
	if (!(c = curl_easy_init()))
		return stele_error_set("cannot initialise libcurl");
	curl_easy_setopt(c, CURLOPT_URL, g->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, g->protocols);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, g->protocols);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, g->fail_on_error ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, g->low_speed);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "stele");
	if (g->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, g->cacert);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	curl_easy_cleanup(c);
	if (t.error < 0)
		return t.error;
	if (rc != CURLE_OK) {
		g->failed = 1;
		snprintf(g->why, sizeof(g->why), "%s",
			 *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	return 0;
}
