/* Fetching a vulnerability database's sources over HTTPS (update.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/http.h"
#include "util/init.h"
#include "util/time.h"
#include "vuln/update.h"
#include "vuln/vuln_int.h"

struct sink {
	int fd;
	unsigned long long n;
	const char *url, *path;
};

static int
sink_write(void *payload, const void *p, size_t len)
{
	struct sink *s = payload;

	if (s->n + len > STELE_VULN_DOWNLOAD_MAX)
		return stele_error_setc(
			STELE_EINVALID, "%s: larger than %llu bytes", s->url,
			(unsigned long long)STELE_VULN_DOWNLOAD_MAX);
	if (stele_fs_write_all(s->fd, p, len) < 0)
		return stele_error_errno("cannot write '%s'", s->path);
	s->n += len;
	return 0;
}

/* GET `url` (HTTPS only, redirects too) into the new file `path`. */
static int
fetch(const char *url, const char *path, const char *cacert)
{
	struct sink s = { .url = url, .path = path };
	/* A stalled transfer: under 1 kB/s for a minute. */
	struct stele_http_get g = { .url = url,
				    .protocols = "https",
				    .cacert = cacert,
				    .low_speed = 1024,
				    .fail_on_error = 1,
				    .sink = sink_write,
				    .payload = &s };
	int error;

	if ((s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) <
	    0)
		return stele_error_errno("cannot create '%s'", path);
	if ((error = stele_http_get(&g)) == 0 && g.failed)
		error = stele_error_set("cannot fetch %s: %s", url, g.why);
	if (close(s.fd) < 0 && !error)
		error = stele_error_errno("cannot write '%s'", path);
	return error;
}

/* An entry's path as one file name: refused with "..", absolute or too
 * long; '/' becomes '_', and a leading '.' (the walker skips those) too. */
static char *
flat_name(const char *name)
{
	size_t i, n = strlen(name);
	char *out;

	if (!n || n > 255 || name[0] == '/' || !strcmp(name, "..") ||
	    !strncmp(name, "../", 3) || strstr(name, "/../") ||
	    (n >= 3 && !strcmp(name + n - 3, "/..")))
		return NULL;
	out = stele_xstrdup(name);
	for (i = 0; i < n; i++)
		if (out[i] == '/')
			out[i] = '_';
	if (out[0] == '.')
		out[0] = '_';
	return out;
}

static int
is_zip(const char *path)
{
	unsigned char m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd >= 0 && read(fd, m, 4) == 4)
		r = m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4;
	if (fd >= 0)
		close(fd);
	return r;
}

/* The *.json entries of a zip, each written into the directory `dst`. */
struct unzip {
	size_t *count;
	const char *dst, *url;
};

static int
unzip_entry(void *payload, const char *name, const struct stele_buf *data)
{
	struct unzip *u = payload;
	char *flat = flat_name(name), *out;
	int fd, error = 0;

	if (!flat)
		return stele_error_setc(
			STELE_EINVALID,
			"%s: entry '%s' is not a plain relative name", u->url,
			name);
	out = stele_path_join(u->dst, flat);
	free(flat);
	if (*u->count >= STELE_VULN_FILES_MAX)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: more than %d records", u->url,
					 STELE_VULN_FILES_MAX);
	else if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644)) < 0)
		error = errno == EEXIST
			? stele_error_setc(STELE_EINVALID,
					   "%s: entry '%s' is there twice",
					   u->url, name)
			: stele_error_errno("cannot create '%s'", out);
	else {
		if (stele_fs_write_all(fd, data->ptr, data->len) < 0)
			error = stele_error_errno("cannot write '%s'", out);
		if (close(fd) < 0 && !error)
			error = stele_error_errno("cannot write '%s'", out);
		if (!error)
			(*u->count)++;
	}
	free(out);
	return error;
}

/* DB/<host and path of the URL, sanitized>. */
static char *
source_name(const char *url)
{
	char *s = stele_xstrdup(url + 8), *p;

	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '_';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

/* Fetch source `i` into tmp/new-i. */
static int
fetch_source(size_t *count, const char *tmp, size_t i, const char *url,
	     const char *cacert)
{
	char *dl = stele_xasprintf("%s/download-%zu", tmp, i);
	char *dst = stele_xasprintf("%s/new-%zu", tmp, i), *one = NULL;
	int error;

	if ((error = stele_fs_mkdir_p(dst, 0755)) < 0 ||
	    (error = fetch(url, dl, cacert)) < 0)
		goto out;
	if (is_zip(dl)) {
		struct unzip u = { count, dst, url };

		error = stele_vuln__zip_each(dl, url, unzip_entry, &u);
	} else {
		struct stat st;

		one = stele_path_join(dst, "source.json");
		if (stat(dl, &st) == 0 &&
		    st.st_size > (off_t)STELE_VULN_FILE_MAX)
			error = stele_error_setc(STELE_EINVALID,
						 "%s: larger than %u bytes",
						 url, STELE_VULN_FILE_MAX);
		else if (rename(dl, one) < 0)
			error = stele_error_errno("cannot rename '%s'", dl);
		else
			(*count)++;
	}
out:
	unlink(dl);
	free(one);
	free(dst);
	free(dl);
	return error;
}

int
stele_vuln_db_update(size_t *nfiles, const char *dir,
		     const struct stele_vuln_update_opts *o)
{
	char **names = NULL, *tmp = NULL, *stamp = NULL, *oldstamp = NULL;
	char t[STELE_TIME_STRLEN], *json = NULL;
	int *swapped = NULL, had_stamp = 0, error = 0;
	struct stele_vuln_db *db = NULL;
	size_t i, count = 0;

	if (nfiles)
		*nfiles = 0;
	if (!o->nurls || o->nurls > STELE_VULN_SOURCES_MAX)
		return stele_error_setc(STELE_EINVALID,
					"give 1 to %d source URLs",
					STELE_VULN_SOURCES_MAX);
	for (i = 0; i < o->nurls; i++)
		if (strncmp(o->urls[i], "https://", 8) || !o->urls[i][8])
			return stele_error_setc(
				STELE_EINVALID,
				"'%s' is not an https:// URL: sources are fetched over HTTPS only",
				o->urls[i]);
	if ((error = stele_init_curl()) < 0)
		return error;
	names = stele_xcalloc(o->nurls, sizeof(*names));
	swapped = stele_xcalloc(o->nurls, sizeof(*swapped));
	for (i = 0; i < o->nurls; i++)
		names[i] = source_name(o->urls[i]);
	if ((error = stele_fs_mkdir_p(dir, 0755)) < 0 ||
	    (error = stele_fs_mkdtemp(&tmp, dir, ".stele-update")) < 0)
		goto out;
	for (i = 0; i < o->nurls; i++)
		if ((error = fetch_source(&count, tmp, i, o->urls[i],
					  o->cacert)) < 0)
			goto out;
	/* Everything is here: put each source in place, keeping the old. */
	stamp = stele_path_join(dir, "stele-db.json");
	oldstamp = stele_path_join(tmp, "old-stele-db.json");
	if (rename(stamp, oldstamp) == 0)
		had_stamp = 1;
	for (i = 0; i < o->nurls; i++) {
		char *target = stele_path_join(dir, names[i]);
		char *old = stele_xasprintf("%s/old-%zu", tmp, i);
		char *src = stele_xasprintf("%s/new-%zu", tmp, i);

		if (rename(target, old) == 0)
			swapped[i] = 2;
		if (rename(src, target) < 0)
			error = stele_error_errno("cannot put '%s' in place",
						  target);
		else
			swapped[i] |= 1;
		free(src);
		free(old);
		free(target);
		if (error < 0)
			goto out;
	}
	stele_time_format(t, o->now);
	json = stele_xasprintf("{\"updated\":\"%s\"}\n", t);
	if ((error = stele_fs_write_atomic(stamp, json, strlen(json), 0644)) <
		    0 ||
	    (error = stele_vuln_db_open(&db, dir, NULL)) < 0)
		goto out;
	if (nfiles)
		*nfiles = count;
out:
	if (error < 0 && tmp) {
		/* Put back what was there. */
		for (i = 0; i < o->nurls; i++) {
			char *target = stele_path_join(dir, names[i]);
			char *old = stele_xasprintf("%s/old-%zu", tmp, i);

			if (swapped[i] & 1)
				stele_fs_rm_rf(target);
			if (swapped[i] & 2)
				rename(old, target);
			free(old);
			free(target);
		}
		if (stamp) {
			unlink(stamp);
			if (had_stamp)
				rename(oldstamp, stamp);
		}
		/* The old sources' index is stale now: the next open rebuilds
		 * it from what was put back. */
	}
	stele_fs_tmp_free(tmp);
	stele_vuln_db_free(db);
	for (i = 0; names && i < o->nurls; i++)
		free(names[i]);
	free(names);
	free(swapped);
	free(json);
	free(oldstamp);
	free(stamp);
	return error;
}
