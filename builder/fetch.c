#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/lazy.h"

#include "builder/fetch.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"

struct sink {
	int fd;
	uint64_t size, max;
	struct stele_sha256 h;
	int too_big, failed;
};

static size_t
sink_write(char *data, size_t one, size_t n, void *payload)
{
	struct sink *k = payload;

	n *= one;
	if (k->size + n > k->max) {
		k->too_big = 1;
		return 0;
	}
	if (stele_fs_write_all(k->fd, data, n) < 0) {
		k->failed = errno ? errno : EIO;
		return 0;
	}
	stele_sha256_update(&k->h, data, n);
	k->size += n;
	return n;
}

int
stele_fetch_pinned(uint64_t *size, const char *url, const char *want,
		   const char *path, uint64_t max)
{
	char errbuf[CURL_ERROR_SIZE] = "", got[STELE_DIGEST_STRLEN];
	struct sink k;
	CURL *c = NULL;
	CURLcode rc;
	long status = 0;
	int error = 0;

	*size = 0;
	if ((error = stele_init_curl()) < 0)
		return error;
	memset(&k, 0, sizeof(k));
	k.max = max;
	if ((k.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0)
		return stele_error_errno("cannot create '%s'", path);
	if (stele_sha256_init(&k.h) < 0) {
		error = stele_error_set("cannot start a SHA-256");
		goto out;
	}
	if (!(c = curl_easy_init())) {
		error = stele_error_set("cannot initialise libcurl");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "stele");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (k.too_big) {
		error = stele_error_setc(STELE_EINVALID,
					 "download '%s' is larger"
					 " than %llu bytes",
					 url, (unsigned long long)max);
	} else if (k.failed) {
		errno = k.failed;
		error = stele_error_errno("cannot write '%s'", path);
	} else if (rc != CURLE_OK) {
		error = stele_error_set("cannot download '%s': %s", url,
					*errbuf ? errbuf
						: curl_easy_strerror(rc));
	} else if (status != 200) {
		error = stele_error_setc(STELE_ENOTFOUND,
					 "cannot download '%s':"
					 " HTTP status %ld",
					 url, status);
	} else if (fsync(k.fd) < 0) {
		error = stele_error_errno("cannot write '%s'", path);
	}
	if (error < 0)
		goto out;
	stele_sha256_final(&k.h, got);
	if (strcmp(got, want)) {
		error = stele_error_setc(STELE_EVERIFY,
					 "download '%s' has "
					 "digest %s, not %s (--checksum)",
					 url, got, want);
		goto out;
	}
	*size = k.size;
out:
	if (c)
		curl_easy_cleanup(c);
	stele_sha256_release(&k.h);
	close(k.fd);
	if (error < 0)
		unlink(path);
	return error;
}
