#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/root.h"

/* Drop the last component of the resolved prefix (never above the root). */
static void
pop(struct stele_buf *r)
{
	while (r->len && r->ptr[r->len - 1] != '/')
		r->len--;
	if (r->len)
		r->len--;
	if (r->ptr)
		r->ptr[r->len] = '\0';
}

/*
 * `rest` holds what is left to walk; a link's target is put in front of it.
 * The resolved prefix only ever grows by a component that the lookup said
 * is not a link (or by a link in last position without FOLLOW), so every
 * lookup sees a path without links among its parents.
 */
int
stele_root_resolve(char **out, const char *path, unsigned flags,
		   stele_root_lookup_fn lookup, void *payload)
{
	struct stele_buf res = STELE_BUF_INIT(STELE_ROOT_MAX_PATH);
	char *rest = NULL, *link = NULL;
	size_t pos = 0;
	int hops = 0, missing = 0, error = 0;

	*out = NULL;
	if (strlen(path) > STELE_ROOT_MAX_PATH) {
		error = stele_error_setc(
			STELE_EINVALID, "path '%.64s…' is longer than %d bytes",
			path, STELE_ROOT_MAX_PATH);
		goto out;
	}
	rest = stele_xstrdup(path);
	if ((error = stele_buf_put(&res, "", 0)) < 0)
		goto out;
	while (rest[pos]) {
		size_t n, mark = res.len;
		int last, r;

		while (rest[pos] == '/')
			pos++;
		n = strcspn(rest + pos, "/");
		if (!n)
			break;
		last = !rest[pos + n] ||
			!rest[pos + n + strspn(rest + pos + n, "/")];
		if (n == 1 && rest[pos] == '.') {
			pos += n;
			continue;
		}
		if (n == 2 && rest[pos] == '.' && rest[pos + 1] == '.') {
			pop(&res);
			pos += n;
			continue;
		}
		if ((res.len && (error = stele_buf_putc(&res, '/')) < 0) ||
		    (error = stele_buf_put(&res, rest + pos, n)) < 0) {
			stele_error_setc(
				STELE_EINVALID,
				"path '%s' is longer than %d bytes once resolved",
				path, STELE_ROOT_MAX_PATH);
			goto out;
		}
		pos += n;
		if (missing)
			continue;
		r = lookup(payload, res.ptr, &link);
		if (r == STELE_ENOTFOUND) {
			missing = 1;
			continue;
		}
		if (r < 0) {
			error = r;
			goto out;
		}
		if (r == 0 || (last && !(flags & STELE_ROOT_FOLLOW)))
			goto next;
		if (++hops > STELE_ROOT_MAX_LINKS) {
			error = stele_error_setc(
				STELE_EINVALID,
				"too many levels of symbolic links resolving '%s'",
				path);
			goto out;
		}
		/* Splice the target in front of what is left. */
		{
			char *spliced =
				stele_xasprintf("%s/%s", link, rest + pos);

			if (strlen(spliced) > STELE_ROOT_MAX_PATH) {
				free(spliced);
				error = stele_error_setc(
					STELE_EINVALID,
					"path '%s' is longer than %d bytes once "
					"resolved",
					path, STELE_ROOT_MAX_PATH);
				goto out;
			}
			free(rest);
			rest = spliced;
			pos = 0;
		}
		if (link[0] == '/')
			mark = 0;
		res.len = mark;
		res.ptr[res.len] = '\0';
	next:
		free(link);
		link = NULL;
	}
	*out = stele_buf_detach(&res);
	if (!*out)
		*out = stele_xstrdup("");
out:
	free(link);
	free(rest);
	stele_buf_release(&res);
	return error;
}

int
stele_root_lookup_host(void *payload, const char *rel, char **link)
{
	const char *root = payload;
	char *full = stele_path_join(root, rel);
	char buf[4096];
	struct stat st;
	ssize_t n;
	int error = 0;

	*link = NULL;
	if (lstat(full, &st) < 0) {
		error = errno == ENOENT || errno == ENOTDIR
			? STELE_ENOTFOUND
			: stele_error_errno("cannot stat '%s'", full);
	} else if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(full, buf, sizeof(buf) - 1)) < 0) {
			error = stele_error_errno("cannot read link '%s'",
						  full);
		} else {
			*link = stele_xstrndup(buf, (size_t)n);
			error = 1;
		}
	}
	free(full);
	return error;
}

int
stele_root_host_path(char **out, const char *root, const char *path,
		     unsigned flags)
{
	char *rel;
	int error;

	*out = NULL;
	if ((error = stele_root_resolve(&rel, path, flags,
					stele_root_lookup_host, (void *)root)) <
	    0)
		return error;
	*out = stele_path_join(root, rel);
	free(rel);
	return 0;
}
