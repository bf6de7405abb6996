#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/fetch.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/http.h"

struct sink {
	int fd;
	uint64_t size, max;
	struct stele_sha256 h;
	const char *url, *path;
};

static int
sink_write(void *payload, const void *data, size_t n)
{
	struct sink *k = payload;

	if (k->size + n > k->max)
		return stele_error_setc(STELE_EINVALID,
					"download '%s' is larger"
					" than %llu bytes",
					k->url, (unsigned long long)k->max);
	if (stele_fs_write_all(k->fd, data, n) < 0)
		return stele_error_errno("cannot write '%s'", k->path);
	stele_sha256_update(&k->h, data, n);
	k->size += n;
	return 0;
}

int
stele_fetch_pinned(uint64_t *size, const char *url, const char *want,
		   const char *path, uint64_t max)
{
	struct sink k = { .max = max, .url = url, .path = path };
	struct stele_http_get g = { .url = url,
				    .protocols = "http,https",
				    .low_speed = 1,
				    .sink = sink_write,
				    .payload = &k };
	char got[STELE_DIGEST_STRLEN];
	int error = 0;

	*size = 0;
	if ((k.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0)
		return stele_error_errno("cannot create '%s'", path);
	if (stele_sha256_init(&k.h) < 0) {
		error = stele_error_set("cannot start a SHA-256");
		goto out;
	}
	if ((error = stele_http_get(&g)) < 0)
		goto out;
	if (g.failed)
		error = stele_error_set("cannot download '%s': %s", url, g.why);
	else if (g.status != 200)
		error = stele_error_setc(STELE_ENOTFOUND,
					 "cannot download '%s':"
					 " HTTP status %ld",
					 url, g.status);
	else if (fsync(k.fd) < 0)
		error = stele_error_errno("cannot write '%s'", path);
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
	stele_sha256_release(&k.h);
	close(k.fd);
	if (error < 0)
		unlink(path);
	return error;
}
