/* GETs outside a registry (http.h). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
	else
		stele_http_use_system_ca(c);
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

static int
hashed_name(const char *s)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return 0;
	if (s[8] != '.' || !s[9])
		return 0;
	for (i = 9; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
stele_http_ca_dir_hashed(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (!dir || !(d = opendir(dir)))
		return 0;
	while (!found && (de = readdir(d)))
		found = hashed_name(de->d_name);
	closedir(d);
	return found;
}

static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static struct stele_http_ca system_ca;

static void
system_ca_find(void)
{
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	system_ca.bundle =
		v->cainfo ? v->cainfo : "/etc/ssl/certs/ca-certificates.crt";
	/* Another TLS library may read the whole directory: no gain. */
	system_ca.capath = v->ssl_version &&
			!strncmp(v->ssl_version, "OpenSSL/", 8) &&
			stele_http_ca_dir_hashed(v->capath)
		? v->capath
		: NULL;
}

void
stele_http_system_ca(struct stele_http_ca *out)
{
	pthread_once(&system_once, system_ca_find);
	*out = system_ca;
}

void
stele_http_trust_ca_dir(void *curl, const char *capath)
{
	/* Not the bundle, whole, for each connection. */
	if (capath) {
		curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(curl, CURLOPT_CAPATH, capath);
	}
}

void
stele_http_use_system_ca(void *curl)
{
	struct stele_http_ca sys;

	stele_http_system_ca(&sys);
	stele_http_trust_ca_dir(curl, sys.capath);
}
