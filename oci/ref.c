#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/fs.h"

void
stele_ref_free(struct stele_ref *r)
{
	if (!r)
		return;
	free(r->dir);
	free(r->name);
	free(r->tag);
	free(r->digest);
	free(r->refname);
	free(r);
}

static int
valid_tag(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' ||
		      (i > 0 && (c == '.' || c == '-'))))
			return 0;
	}
	return 1;
}

static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/' ||
		      (c == ':' && strchr(s + i + 1, '/'))))
			return 0;
	}
	return s[0] != '/' && s[n - 1] != '/';
}

/* Split "rest[:tag][@digest]" where rest may hold ':' before the last '/'. */
static int
split_name(struct stele_ref *r, const char *s, const char *full)
{
	const char *at = strchr(s, '@'), *colon, *slash;
	char *base;

	if (at) {
		if (stele_digest_validate(at + 1) < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"invalid digest in image reference '%s'", full);
		r->digest = stele_xstrdup(at + 1);
		base = stele_xstrndup(s, (size_t)(at - s));
	} else {
		base = stele_xstrdup(s);
	}
	slash = strrchr(base, '/');
	colon = strrchr(base, ':');
	if (colon && (!slash || colon > slash)) {
		r->tag = stele_xstrdup(colon + 1);
		r->name = stele_xstrndup(base, (size_t)(colon - base));
		free(base);
		if (!valid_tag(r->tag))
			return stele_error_setc(
				STELE_EINVALID,
				"invalid tag '%s' in image reference '%s'",
				r->tag, full);
	} else {
		r->name = base;
	}
	if (!valid_name(r->name))
		return stele_error_setc(
			STELE_EINVALID,
			"invalid image name '%s' in '%s' (lowercase letters, digits, '.', '_', '-', '/')",
			r->name, full);
	return 0;
}

int
stele_ref_parse(struct stele_ref **out, const char *s, const char *store)
{
	struct stele_ref *r = stele_xcalloc(1, sizeof(*r));
	int error = 0;

	*out = NULL;
	if (!strncmp(s, "oci:", 4)) {
		const char *p = s + 4, *at = strchr(p, '@');
		/* The tag follows the last ':' that comes after the last '/'. */
		const char *slash = strrchr(p, '/');
		const char *colon = strchr(slash ? slash : p, ':');

		r->transport = STELE_REF_OCI;
		if (at) {
			if ((error = stele_digest_validate(at + 1)) < 0) {
				stele_error_setc(
					STELE_EINVALID,
					"invalid digest in image reference '%s'",
					s);
				goto out;
			}
			r->digest = stele_xstrdup(at + 1);
			r->dir = stele_xstrndup(p, (size_t)(at - p));
		} else if (colon) {
			r->dir = stele_xstrndup(p, (size_t)(colon - p));
			r->tag = stele_xstrdup(colon + 1);
			if (!*r->tag || strlen(r->tag) > 255) {
				error = stele_error_setc(
					STELE_EINVALID,
					"invalid tag in image reference '%s'",
					s);
				goto out;
			}
		} else {
			r->dir = stele_xstrdup(p);
		}
		if (!*r->dir) {
			error = stele_error_setc(
				STELE_EINVALID,
				"image reference '%s' names no directory", s);
			goto out;
		}
		if (r->tag)
			r->refname = stele_xstrdup(r->tag);
	} else if (!strncmp(s, "docker://", 9)) {
		r->transport = STELE_REF_DOCKER;
		if ((error = split_name(r, s + 9, s)) < 0)
			goto out;
		if (!strchr(r->name, '/')) {
			error = stele_error_setc(
				STELE_EINVALID,
				"registry reference '%s' needs HOST/REPO", s);
			goto out;
		}
	} else if (strstr(s, "://") || strchr(s, ':') == s) {
		error = stele_error_setc(
			STELE_EINVALID,
			"unknown transport in image reference '%s' (use oci:, docker:// or NAME:TAG)",
			s);
		goto out;
	} else {
		r->transport = STELE_REF_STORE;
		if ((error = split_name(r, s, s)) < 0)
			goto out;
		if (!store) {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s' names an image in the local store, and no store is given here (use oci:DIR or docker://)",
				s);
			goto out;
		}
		r->dir = stele_xstrdup(store);
		if (!r->tag && !r->digest)
			r->tag = stele_xstrdup("latest");
		if (r->tag)
			r->refname = stele_xasprintf("%s:%s", r->name, r->tag);
	}
	*out = r;
	r = NULL;
out:
	stele_ref_free(r);
	return error;
}

int
stele_ref_component_ok(const char *c, size_t n)
{
	size_t i = 0, run;

	while (i < n) {
		if (!((c[i] >= 'a' && c[i] <= 'z') ||
		      (c[i] >= '0' && c[i] <= '9')))
			return 0;
		while (i < n &&
		       ((c[i] >= 'a' && c[i] <= 'z') ||
			(c[i] >= '0' && c[i] <= '9')))
			i++;
		if (i == n)
			return 1;
		for (run = 0; i + run < n && c[i + run] == '-'; run++)
			;
		if (run)
			i += run;
		else if (c[i] == '_' && i + 1 < n && c[i + 1] == '_')
			i += 2;
		else if (c[i] == '.' || c[i] == '_')
			i++;
		else
			return 0;
		if (i == n)
			return 0;
	}
	return n > 0;
}

int
stele_ref_docker_name(char **out, const char *name)
{
	struct stele_ref r = { 0 };
	const char *repo = name, *p, *host = "docker.io";
	char *h = NULL;
	size_t n;

	*out = NULL;
	r.transport = STELE_REF_STORE;
	r.name = (char *)name;
	if (stele_ref_is_registry(&r)) {
		n = strcspn(name, "/");
		h = stele_xstrndup(name, n);
		repo = name + n + 1;
		host = h;
		if (!strcmp(h, "index.docker.io"))
			host = "docker.io";
	}
	for (p = repo;; p += n + 1) {
		n = strcspn(p, "/");
		if (!stele_ref_component_ok(p, n)) {
			free(h);
			return stele_error_setc(
				STELE_EINVALID,
				"'%s' is not a "
				"repository name Docker accepts (lower-case letters "
				"and digits, separated by '.', '_' or '-')",
				name);
		}
		if (!p[n])
			break;
	}
	*out = !strcmp(host, "docker.io") && !strchr(repo, '/')
		? stele_xasprintf("docker.io/library/%s", repo)
		: stele_xasprintf("%s/%s", host, repo);
	free(h);
	return 0;
}

char *
stele_ref_string(const struct stele_ref *r)
{
	const char *sep = r->digest ? "@" : r->tag ? ":" : "";
	const char *suf = r->digest ? r->digest : r->tag ? r->tag : "";

	switch (r->transport) {
	case STELE_REF_OCI:
		return stele_xasprintf("oci:%s%s%s", r->dir, sep, suf);
	case STELE_REF_DOCKER:
		return stele_xasprintf("docker://%s%s%s", r->name, sep, suf);
	default: return stele_xasprintf("%s%s%s", r->name, sep, suf);
	}
}

int
stele_ref_is_registry(const struct stele_ref *r)
{
	const char *n = r->name ? r->name : "";
	size_t first = strcspn(n, "/");

	if (r->transport == STELE_REF_DOCKER)
		return 1;
	if (r->transport != STELE_REF_STORE || !n[first])
		return 0;
	return memchr(n, '.', first) || memchr(n, ':', first) ||
		(first == 9 && !strncmp(n, "localhost", 9));
}
