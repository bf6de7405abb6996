/*
 * The least a libcurl program can do for a re-push: ask the registry the
 * questions that prove an image and its referrer present, all at once, on
 * one multi handle, and exit (no image read, no TLS attempt, no cleanup).
 * bench/registry.sh times it beside `stele push` and `skopeo copy` of an
 * image already there: the floor any client built on libcurl stands on.
 * Not part of stele; built by the bench with the same libcurl.
 * Usage: curlfloor URL...   (HEAD each, accepting OCI manifests and
 * indexes as stele does; exit 0 when every one answers 200)
 */
#include <curl/curl.h>

#define MAX_URLS 8

int
main(int argc, char **argv)
{
	CURL *e[MAX_URLS];
	CURLM *m;
	struct curl_slist *accept = NULL;
	long code = 0;
	int i, n = argc - 1, running = 1, bad = 0;

	if (n < 1 || n > MAX_URLS || !(m = curl_multi_init()))
		return 2;
	accept = curl_slist_append(
		accept,
		"Accept: application/vnd.oci.image.manifest.v1+json, "
		"application/vnd.oci.image.index.v1+json");
	for (i = 0; i < n; i++) {
		if (!(e[i] = curl_easy_init()))
			return 2;
		curl_easy_setopt(e[i], CURLOPT_URL, argv[i + 1]);
		curl_easy_setopt(e[i], CURLOPT_NOBODY, 1L);
		curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, accept);
		curl_multi_add_handle(m, e[i]);
	}
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return 2;
		if (running &&
		    curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			return 2;
	}
	for (i = 0; i < n; i++) {
		curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &code);
		bad |= code != 200;
	}
	return bad;
}
