#ifndef STELE_REGISTRY_AUTH_H
#define STELE_REGISTRY_AUTH_H

/*
 * Registry credentials in the auth files podman, skopeo and docker share:
 *   {"auths": {"HOST[:PORT]": {"auth": "<base64 of USER:PASS>"}}}
 * A key may also be written "https://HOST/..." (docker's legacy form).
 *
 * Which files: the caller says (stele's CLI: --authfile alone when
 * given; otherwise $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/
 * auth.json, ~/.config/containers/auth.json and ~/.docker/config.json,
 * and login writes to the first of the three that applies: cli/env.h).
 * Files are capped at 1 MiB and parsed strictly; they are written
 * atomically with mode 0600, other entries and keys kept.
 */

#define STELE_AUTHFILE_MAX (1u << 20)
#define STELE_CRED_MAX 4096

/*
 * A user name and a password.  The library's own (from stele_creds_parse
 * and stele_creds_lookup) are NUL-terminated strings in sodium memory,
 * which stele_creds_free() wipes and frees; one a caller fills in itself
 * (for stele_authfile_store) stays the caller's.
 */
struct stele_creds {
	char *user;
	char *pass;
};

void stele_creds_free(struct stele_creds *c);
/* Split "USER:PASS" (--creds); STELE_EINVALID without a ':' or user. */
int stele_creds_parse(struct stele_creds **out, const char *s);
/*
 * Find credentials for `host`: in `authfile` alone when it is not NULL
 * (a missing file is an error); otherwise in the first file of `search`
 * (NULL-terminated; NULL: none) that exists and has an entry for it.
 * STELE_ENOTFOUND when no file has them; STELE_EINVALID when a file is
 * malformed (naming it).
 */
int stele_creds_lookup(struct stele_creds **out, const char *host,
		       const char *authfile, const char *const *search);
/* Store credentials for `host` in the auth file `path` (0600). */
int stele_authfile_store(const char *path, const char *host,
			 const struct stele_creds *c);
/*
 * Remove `host`'s entry (or every entry when host is NULL).
 * STELE_ENOTFOUND when there was none.
 */
int stele_authfile_remove(const char *path, const char *host);

#endif
