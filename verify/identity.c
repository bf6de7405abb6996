#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/identity.h"

/* The distribution reference grammar's limits. */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static int
alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		(c >= 'A' && c <= 'Z');
}

/* host[:port]: DNS labels joined by dots, an optional decimal port. */
static int
domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n, i, j, start = 0;

	if (!hn)
		return 0;
	if (colon) {
		if (colon + 1 == s + n)
			return 0;
		for (i = hn + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
	}
	for (i = 0; i <= hn; i++) {
		if (i < hn && s[i] != '.')
			continue;
		if (i == start || !alnum(s[start]) || !alnum(s[i - 1]))
			return 0;
		for (j = start; j < i; j++)
			if (!alnum(s[j]) && s[j] != '-')
				return 0;
		start = i + 1;
	}
	return 1;
}

static int
path_ok(const char *s, size_t n)
{
	size_t start = 0, i;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!stele_ref_component_ok(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
tag_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > TAG_MAX_LEN || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static int
invalid(const char *s, const char *why)
{
	return stele_error_setc(STELE_EINVALID,
				"'%s' is not a docker reference: %s", s, why);
}

int
stele_dref_parse(struct stele_dref *out, const char *s)
{
	const char *at = strchr(s, '@'), *end, *slash, *colon, *first;
	char *name = NULL, *domain = NULL, *rest = NULL;
	size_t n, fn;

	memset(out, 0, sizeof(*out));
	if (!*s)
		return invalid(s, "it is empty");
	if (strstr(s, "://"))
		return invalid(s, "give HOST/REPO[:TAG], without a transport");
	end = at ? at : s + strlen(s);
	slash = memrchr(s, '/', (size_t)(end - s));
	colon = memrchr(s, ':', (size_t)(end - s));
	if (colon && slash && colon < slash)
		colon = NULL;
	n = (size_t)((colon ? colon : end) - s);
	if (!n || n > NAME_MAX_LEN)
		return invalid(s, "the name is empty or too long");
	if (colon) {
		char *tag =
			stele_xstrndup(colon + 1, (size_t)(end - colon - 1));

		if (!tag_ok(tag)) {
			free(tag);
			return invalid(s, "a malformed tag");
		}
		out->tag = tag;
	}
	if (at) {
		if (stele_digest_validate(at + 1) < 0) {
			stele_dref_release(out);
			return invalid(
				s, "a malformed digest (want sha256:<64 hex>)");
		}
		out->digest = stele_xstrdup(at + 1);
	}
	/* The first component is a host when it looks like one. */
	first = memchr(s, '/', n);
	fn = first ? (size_t)(first - s) : 0;
	if (first &&
	    (memchr(s, '.', fn) || memchr(s, ':', fn) ||
	     (fn == 9 && !strncmp(s, "localhost", 9)) ||
	     strcspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < fn)) {
		domain = stele_xstrndup(s, fn);
		rest = stele_xstrndup(first + 1, n - fn - 1);
	} else {
		domain = stele_xstrdup("docker.io");
		rest = stele_xstrndup(s, n);
	}
	if (!domain_ok(domain, strlen(domain)) ||
	    !path_ok(rest, strlen(rest)) ||
	    (strlen(rest) == 64 && strspn(rest, "0123456789abcdef") == 64)) {
		free(domain);
		free(rest);
		stele_dref_release(out);
		return invalid(
			s,
			"a malformed host or repository (lowercase letters, digits and . _ - separators)");
	}
	if (!strcmp(domain, "index.docker.io")) {
		free(domain);
		domain = stele_xstrdup("docker.io");
	}
	if (!strcmp(domain, "docker.io") && !strchr(rest, '/'))
		name = stele_xasprintf("%s/library/%s", domain, rest);
	else
		name = stele_xasprintf("%s/%s", domain, rest);
	free(domain);
	free(rest);
	out->name = name;
	return 0;
}

void
stele_dref_release(struct stele_dref *r)
{
	free(r->name);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *
stele_dref_string(const struct stele_dref *r)
{
	return stele_xasprintf("%s%s%s%s%s", r->name, r->tag ? ":" : "",
			       r->tag ? r->tag : "", r->digest ? "@" : "",
			       r->digest ? r->digest : "");
}

static int
name_only(const struct stele_dref *r)
{
	return !r->tag && !r->digest;
}

static int
same_string(const struct stele_dref *a, const struct stele_dref *b)
{
	char *x = stele_dref_string(a), *y = stele_dref_string(b);
	int same = !strcmp(x, y);

	free(x);
	free(y);
	return same;
}

/* ---- the policy's identity ---- */

static const char *const type_names[] = {
	"matchRepoDigestOrExact", "matchRepository", "matchExact",
	"exactReference",         "exactRepository", "remapIdentity"
};

void
stele_identity_free(struct stele_identity *id)
{
	if (!id)
		return;
	free(id->value);
	free(id->prefix);
	free(id->signed_prefix);
	free(id);
}

static int
field_error(const char *path, const char *field, const char *type,
	    const char *why)
{
	return stele_error_setc(
		STELE_EINVALID,
		"policy '%s': signatures.identity.%s (type %s) %s", path, field,
		type, why);
}

/* A reference field: must parse; `want_name_only` 1 for a repository,
 * 0 for a reference with a tag or digest. */
static int
ref_field(char **out, const json_t *obj, const char *field, const char *type,
	  int want_name_only, const char *path)
{
	const json_t *v = json_object_get(obj, field);
	struct stele_dref r;
	int error, no;

	if (!v)
		return field_error(path, field, type, "is required");
	if (!json_is_string(v))
		return field_error(path, field, type, "must be a string");
	if ((error = stele_dref_parse(&r, json_string_value(v))) < 0)
		return stele_error_prefix(error,
					  "policy '%s': signatures.identity.%s",
					  path, field);
	no = name_only(&r);
	stele_dref_release(&r);
	if (want_name_only && !no)
		return field_error(
			path, field, type,
			"must be a repository, without tag or digest");
	if (!want_name_only && no)
		return field_error(
			path, field, type,
			"must have a tag or a digest (use exactRepository for a repository)");
	*out = stele_xstrdup(json_string_value(v));
	return 0;
}

/*
 * remapIdentity prefixes: a host[:port], or a repository namespace or
 * repository written in full (normalising must not change it: the
 * prefix is matched against normalised names).
 */
static int
prefix_field(char **out, const json_t *obj, const char *field, const char *path)
{
	const json_t *v = json_object_get(obj, field);
	const char *s, *slash;
	size_t hn;
	int ok;

	if (!v)
		return field_error(path, field, "remapIdentity", "is required");
	if (!json_is_string(v))
		return field_error(path, field, "remapIdentity",
				   "must be a string");
	s = json_string_value(v);
	slash = strchr(s, '/');
	hn = slash ? (size_t)(slash - s) : strlen(s);
	/* Not normalised: "docker.io/library" is a namespace, not a name. */
	ok = domain_ok(s, hn) &&
		(memchr(s, '.', hn) || memchr(s, ':', hn) ||
		 (hn == 9 && !strncmp(s, "localhost", 9))) &&
		(!slash || path_ok(slash + 1, strlen(slash + 1))) &&
		strlen(s) <= NAME_MAX_LEN;
	if (!ok)
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': signatures.identity.%s '%s' (type remapIdentity) must be a host[:port], a repository namespace or a repository, written in full (e.g. docker.io/library/busybox)",
			path, field, s);
	*out = stele_xstrdup(s);
	return 0;
}

static int
only_fields(const json_t *v, const char *const *allowed, const char *type,
	    const char *path)
{
	const char *k = stele_json_unknown_key(v, allowed);

	if (k)
		return stele_error_setc(
			STELE_EINVALID,
			"policy '%s': unknown key '%s' in signatures.identity (type %s)",
			path, k, type);
	return 0;
}

int
stele_identity_parse(struct stele_identity **out, const json_t *v,
		     const char *path)
{
	static const char *const just_type[] = { "type", NULL };
	static const char *const exact_ref[] = { "type", "dockerReference",
						 NULL };
	static const char *const exact_repo[] = { "type", "dockerRepository",
						  NULL };
	static const char *const remap[] = { "type", "prefix", "signedPrefix",
					     NULL };
	struct stele_identity *id;
	const char *type;
	size_t t;
	int error = 0;

	*out = NULL;
	if (!v)
		return 0;
	id = stele_xcalloc(1, sizeof(*id));
	if (json_is_string(v)) {
		/* The old form: the exact docker-reference signatures name. */
		struct stele_dref r;

		if ((error = stele_dref_parse(&r, json_string_value(v))) < 0) {
			stele_error_prefix(error,
					   "policy '%s': signatures.identity",
					   path);
			goto out;
		}
		id->legacy = 1;
		id->type = name_only(&r) ? STELE_ID_EXACT_REPOSITORY
					 : STELE_ID_EXACT_REFERENCE;
		id->value = stele_xstrdup(json_string_value(v));
		stele_dref_release(&r);
		goto out;
	}
	if (!json_is_object(v) || !(type = stele_json_str(v, "type"))) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': signatures.identity must be an object with a \"type\" (matchRepoDigestOrExact, matchRepository, matchExact, exactReference, exactRepository, remapIdentity)",
			path);
		goto out;
	}
	for (t = 0; t < sizeof(type_names) / sizeof(*type_names); t++)
		if (!strcmp(type, type_names[t]))
			break;
	if (t == sizeof(type_names) / sizeof(*type_names)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"policy '%s': signatures.identity.type '%s' is not one of matchRepoDigestOrExact, matchRepository, matchExact, exactReference, exactRepository, remapIdentity",
			path, type);
		goto out;
	}
	id->type = (enum stele_identity_type)t;
	switch (id->type) {
	case STELE_ID_EXACT_REFERENCE:
		if ((error = only_fields(v, exact_ref, type, path)) == 0)
			error = ref_field(&id->value, v, "dockerReference",
					  type, 0, path);
		break;
	case STELE_ID_EXACT_REPOSITORY:
		if ((error = only_fields(v, exact_repo, type, path)) == 0)
			error = ref_field(&id->value, v, "dockerRepository",
					  type, 1, path);
		break;
	case STELE_ID_REMAP_IDENTITY:
		if ((error = only_fields(v, remap, type, path)) == 0 &&
		    (error = prefix_field(&id->prefix, v, "prefix", path)) == 0)
			error = prefix_field(&id->signed_prefix, v,
					     "signedPrefix", path);
		break;
	default: error = only_fields(v, just_type, type, path); break;
	}
out:
	if (error < 0)
		stele_identity_free(id);
	else
		*out = id;
	return error;
}

char *
stele_identity_describe(const struct stele_identity *id)
{
	if (!id)
		return stele_xstrdup("matchRepoDigestOrExact (default)");
	if (id->type == STELE_ID_REMAP_IDENTITY)
		return stele_xasprintf("remapIdentity %s -> %s", id->prefix,
				       id->signed_prefix);
	return stele_xasprintf("%s%s%s%s", type_names[id->type],
			       id->value ? " " : "", id->value ? id->value : "",
			       id->legacy ? " (old string form)" : "");
}

/* ---- matching ---- */

static int no(char **why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
no(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		abort();
	va_end(ap);
	return 0;
}

/* matchRepoDigestOrExact of signature `s` for image `i`. */
static int
repo_digest_or_exact(const struct stele_dref *i, const struct stele_dref *s,
		     const char *signed_ref, const char *intended, char **why)
{
	/* Only --identity HOST/REPO names a repository alone (a docker://
	 * image without tag is :latest): any signature in it counts. */
	if (name_only(i)) {
		if (!strcmp(i->name, s->name))
			return 1;
		return no(why, "signed for repository '%s', not '%s'", s->name,
			  i->name);
	}
	if (name_only(s))
		return no(
			why,
			"signed for '%s', a repository without tag or digest, not for '%s' (matchRepository accepts such signatures, as cosign makes them)",
			signed_ref, intended);
	if (i->tag) {
		if (same_string(i, s))
			return 1;
		return no(why, "signed for '%s', not for '%s'", signed_ref,
			  intended);
	}
	/* By digest: any tag of the repository (the digest is what is signed). */
	if (!strcmp(i->name, s->name))
		return 1;
	return no(
		why,
		"signed for repository '%s', not '%s' (the image is verified as %s)",
		s->name, i->name, intended);
}

/*
 * remapIdentity: when the image's repository is `prefix` or under it
 * (the next character is '/'), `prefix` is replaced by `signed_prefix`
 * before matching as matchRepoDigestOrExact.
 */
static int
remap(struct stele_dref *out, const struct stele_identity *id,
      const struct stele_dref *i)
{
	size_t n = strlen(id->prefix);
	char *s, *full;
	int error;

	if (strncmp(i->name, id->prefix, n) ||
	    (i->name[n] && i->name[n] != '/')) {
		s = stele_dref_string(i);
		error = stele_dref_parse(out, s);
		free(s);
		return error;
	}
	full = stele_dref_string(i);
	s = stele_xasprintf("%s%s", id->signed_prefix, full + n);
	error = stele_dref_parse(out, s);
	free(s);
	free(full);
	return error;
}

int
stele_identity_match(const struct stele_identity *id, const char *intended,
		     const char *signed_ref, char **why)
{
	enum stele_identity_type t =
		id ? id->type : STELE_ID_MATCH_REPO_DIGEST_OR_EXACT;
	struct stele_dref s = { 0 }, i = { 0 }, p = { 0 }, m = { 0 };
	int ok = 0;

	*why = NULL;
	if (!signed_ref || stele_dref_parse(&s, signed_ref) < 0)
		return no(why,
			  "signed for '%s', which is not a docker reference",
			  signed_ref ? signed_ref : "(none)");
	if (t == STELE_ID_EXACT_REFERENCE || t == STELE_ID_EXACT_REPOSITORY) {
		/* Checked when the policy was parsed. */
		if (stele_dref_parse(&p, id->value) < 0)
			abort();
		if (t == STELE_ID_EXACT_REFERENCE)
			ok = !name_only(&s) && same_string(&p, &s)
				? 1
				: no(why,
				     "signed for '%s', not for '%s' (exactReference)",
				     signed_ref, id->value);
		else
			ok = !strcmp(p.name, s.name)
				? 1
				: no(why,
				     "signed for repository '%s', not '%s' (exactRepository)",
				     s.name, p.name);
		goto out;
	}
	if (!intended) {
		ok = no(why,
			"signed for '%s', but the image has no known identity (an oci: layout signed or pulled without one): give --identity REF, or a policy identity of type exactReference or exactRepository",
			signed_ref);
		goto out;
	}
	if (stele_dref_parse(&i, intended) < 0) {
		ok = no(why,
			"the image is verified as '%s', which is not a docker reference",
			intended);
		goto out;
	}
	switch (t) {
	case STELE_ID_MATCH_REPOSITORY:
		ok = !strcmp(i.name, s.name)
			? 1
			: no(why,
			     "signed for repository '%s', not '%s' (matchRepository)",
			     s.name, i.name);
		break;
	case STELE_ID_MATCH_EXACT:
		ok = !name_only(&i) && !name_only(&s) && same_string(&i, &s)
			? 1
			: no(why,
			     "signed for '%s', not exactly '%s' (matchExact)",
			     signed_ref, intended);
		break;
	case STELE_ID_REMAP_IDENTITY:
		if (remap(&m, id, &i) < 0) {
			ok = no(why,
				"'%s' remapped by %s -> %s is not a docker reference",
				intended, id->prefix, id->signed_prefix);
			break;
		}
		{
			char *ms = stele_dref_string(&m);

			ok = repo_digest_or_exact(&m, &s, signed_ref, ms, why);
			free(ms);
		}
		break;
	default:
		ok = repo_digest_or_exact(&i, &s, signed_ref, intended, why);
		break;
	}
out:
	stele_dref_release(&m);
	stele_dref_release(&p);
	stele_dref_release(&i);
	stele_dref_release(&s);
	return ok;
}
