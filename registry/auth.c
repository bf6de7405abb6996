#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "registry/auth.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"

/* A NUL-terminated copy of s[0..n) in sodium memory, or NULL. */
static char *
secret_strndup(const char *s, size_t n)
{
	char *p = sodium_malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void
stele_creds_free(struct stele_creds *c)
{
	if (!c)
		return;
	sodium_free(c->user); /* wipes */
	sodium_free(c->pass);
	free(c);
}

static int
creds_split(struct stele_creds **out, const char *s, size_t len,
	    const char *what)
{
	const char *colon = memchr(s, ':', len);
	struct stele_creds *c;
	int error;

	*out = NULL;
	if ((error = stele_init()) < 0)
		return error;
	if (len > STELE_CRED_MAX || !colon || colon == s ||
	    memchr(s, '\0', len) || memchr(s, '\n', len) ||
	    memchr(s, '\r', len))
		return stele_error_setc(STELE_EINVALID,
					"%s: want USER:PASSWORD", what);
	c = stele_xcalloc(1, sizeof(*c));
	c->user = secret_strndup(s, (size_t)(colon - s));
	c->pass = secret_strndup(colon + 1, len - (size_t)(colon + 1 - s));
	if (!c->user || !c->pass) {
		stele_creds_free(c);
		return stele_error_set("cannot allocate secure memory");
	}
	*out = c;
	return 0;
}

int
stele_creds_parse(struct stele_creds **out, const char *s)
{
	return creds_split(out, s, strlen(s), "--creds");
}

/* "HOST", "https://HOST/v1/", "HOST/ns": does the key name `host`? */
static int
key_matches(const char *key, const char *host)
{
	size_t n;

	if (!strncmp(key, "https://", 8))
		key += 8;
	else if (!strncmp(key, "http://", 7))
		key += 7;
	n = strcspn(key, "/");
	return n == strlen(host) && !strncmp(key, host, n);
}

static int
load_file(json_t **out, const char *path)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_AUTHFILE_MAX);
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, path)) == 0) {
		error = stele_json_parse(out, b.ptr, b.len, path);
		if (!error && !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			error = stele_error_setc(
				STELE_EINVALID,
				"auth file '%s' is not a JSON object", path);
		}
	}
	if (b.ptr)
		OPENSSL_cleanse(b.ptr, b.len);
	stele_buf_release(&b);
	return error;
}

static int
lookup_in(struct stele_creds **out, const char *path, const char *host)
{
	struct stele_buf raw = STELE_BUF_INIT(STELE_CRED_MAX);
	json_t *doc = NULL, *e;
	const char *k, *a;
	int error;

	*out = NULL;
	if ((error = load_file(&doc, path)) < 0)
		return error;
	error = STELE_ENOTFOUND;
	json_object_foreach(json_object_get(doc, "auths"), k, e) {
		if (!key_matches(k, host) || !(a = stele_json_str(e, "auth")) ||
		    !*a)
			continue;
		if ((error = stele_base64_decode(&raw, a, strlen(a), "auth")) ==
		    0)
			error = creds_split(out, raw.ptr, raw.len, path);
		if (error)
			stele_error_prefix(error, "auth file '%s', entry '%s'",
					   path, k);
		break;
	}
	if (raw.ptr)
		OPENSSL_cleanse(raw.ptr, raw.len);
	stele_buf_release(&raw);
	json_decref(doc);
	return error;
}

int
stele_creds_lookup(struct stele_creds **out, const char *host,
		   const char *authfile, const char *const *search)
{
	size_t i;
	int error = STELE_ENOTFOUND;

	*out = NULL;
	if (authfile)
		error = lookup_in(out, authfile, host);
	for (i = 0;
	     !authfile && search && search[i] && error == STELE_ENOTFOUND; i++)
		if (stele_fs_exists(search[i]))
			error = lookup_in(out, search[i], host);
	if (error == STELE_ENOTFOUND)
		stele_error_setc(error, "no credentials for %s", host);
	return error;
}

static int
save(const char *path, json_t *doc)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_AUTHFILE_MAX);
	char *dir = stele_xstrdup(path), *slash = strrchr(dir, '/');
	int error = 0;

	if (slash && slash != dir) {
		*slash = '\0';
		error = stele_fs_mkdir_p(dir, 0700);
	}
	/* Indented as podman writes it; the file is for people too. */
	if (!error) {
		char *s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);

		if (!s)
			error = stele_error_set("cannot serialise '%s'", path);
		else
			error = stele_buf_puts(&b, s);
		if (s) {
			OPENSSL_cleanse(s, strlen(s));
			free(s);
		}
	}
	if (!error)
		error = stele_buf_putc(&b, '\n');
	if (!error)
		error = stele_fs_write_atomic(path, b.ptr, b.len, 0600);
	if (b.ptr)
		OPENSSL_cleanse(b.ptr, b.len);
	stele_buf_release(&b);
	free(dir);
	return error;
}

static int
load_or_new(json_t **doc, const char *path)
{
	int error = load_file(doc, path);

	if (error == STELE_ENOTFOUND) {
		*doc = json_object();
		error = 0;
	}
	if (!error && !json_is_object(json_object_get(*doc, "auths")))
		json_object_set_new(*doc, "auths", json_object());
	return error;
}

int
stele_authfile_store(const char *path, const char *host,
		     const struct stele_creds *c)
{
	struct stele_buf raw = STELE_BUF_INIT(2 * STELE_CRED_MAX + 2);
	struct stele_buf b64 = STELE_BUF_INIT(4 * STELE_CRED_MAX);
	json_t *doc = NULL, *auths;
	int error;

	if ((error = load_or_new(&doc, path)) < 0 ||
	    (error = stele_buf_printf(&raw, "%s:%s", c->user, c->pass)) < 0 ||
	    (error = stele_base64_encode(&b64, raw.ptr, raw.len)) < 0)
		goto out;
	auths = json_object_get(doc, "auths");
	json_object_set_new(auths, host, json_pack("{s:s}", "auth", b64.ptr));
	error = save(path, doc);
out:
	if (raw.ptr)
		OPENSSL_cleanse(raw.ptr, raw.len);
	if (b64.ptr)
		OPENSSL_cleanse(b64.ptr, b64.len);
	stele_buf_release(&raw);
	stele_buf_release(&b64);
	json_decref(doc);
	return error;
}

int
stele_authfile_remove(const char *path, const char *host)
{
	json_t *doc = NULL, *auths, *e;
	const char *k;
	void *tmp;
	int error, removed = 0;

	if ((error = load_file(&doc, path)) < 0) {
		if (error == STELE_ENOTFOUND)
			stele_error_setc(
				error,
				"not logged in to %s (no auth file '%s')",
				host ? host : "any registry", path);
		goto out;
	}
	auths = json_object_get(doc, "auths");
	json_object_foreach_safe(auths, tmp, k, e) {
		if (!host || key_matches(k, host)) {
			json_object_del(auths, k);
			removed++;
		}
	}
	if (!removed && host) {
		error = stele_error_setc(
			STELE_ENOTFOUND,
			"not logged in to %s (no entry in '%s')", host, path);
		goto out;
	}
	error = save(path, doc);
out:
	json_decref(doc);
	return error;
}
