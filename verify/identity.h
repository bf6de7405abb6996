#ifndef STELE_VERIFY_IDENTITY_H
#define STELE_VERIFY_IDENTITY_H

#include <jansson.h>

/*
 * Which docker-reference a signature may name (docs/policy.md), with the
 * semantics of containers-policy.json(5) signedIdentity, so that a policy
 * means the same to stele as to skopeo and podman.
 *
 * References are compared in their normalised form, as containers/image
 * does: "app:1" is "docker.io/library/app:1", "index.docker.io/x/y" is
 * "docker.io/x/y".  A reference with neither tag nor digest is name-only.
 *
 * The image's own reference (`intended`) is what it is verified as:
 * docker://HOST/REPO:TAG (a missing tag is "latest") or @DIGEST, a store
 * NAME:TAG, or the identity recorded when a local image was signed or
 * pulled.  It may be NULL (an oci: layout with nothing recorded): then
 * only exactReference and exactRepository can match.  It is name-only
 * only when given so (--identity HOST/REPO): then the default accepts a
 * signature for any reference in that repository.
 */
struct stele_dref {
	char *name; /* HOST/PATH, normalised */
	char *tag; /* or NULL */
	char *digest; /* or NULL */
};

/*
 * Parse and normalise a docker reference NAME[:TAG][@DIGEST] (no
 * transport).  STELE_EINVALID naming `s` when it is not one.  `out` is
 * filled only on success; release it with stele_dref_release().
 */
int stele_dref_parse(struct stele_dref *out, const char *s);
void stele_dref_release(struct stele_dref *r);
/* NAME[:TAG][@DIGEST], malloc'd. */
char *stele_dref_string(const struct stele_dref *r);

enum stele_identity_type {
	STELE_ID_MATCH_REPO_DIGEST_OR_EXACT = 0, /* the default */
	STELE_ID_MATCH_REPOSITORY,
	STELE_ID_MATCH_EXACT,
	STELE_ID_EXACT_REFERENCE,
	STELE_ID_EXACT_REPOSITORY,
	STELE_ID_REMAP_IDENTITY
};

struct stele_identity {
	enum stele_identity_type type;
	char *value; /* dockerReference or dockerRepository */
	char *prefix; /* remapIdentity */
	char *signed_prefix; /* remapIdentity */
	int legacy; /* written as the old plain string */
};

/*
 * Parse `signatures.identity` of policy `path`: NULL (absent) gives
 * *out = NULL (the default); a string is the old form (a tagged reference
 * becomes exactReference, a name-only one exactRepository); an object is
 * {"type": …} with exactly the fields its type takes, each checked
 * (STELE_EINVALID naming the field).  *out owned by the caller.
 */
int stele_identity_parse(struct stele_identity **out, const json_t *v,
			 const char *path);
void stele_identity_free(struct stele_identity *id);
/* "matchRepository", "exactReference reg/app:1", ... malloc'd. */
char *stele_identity_describe(const struct stele_identity *id);

/*
 * Does a signature naming `signed_ref` satisfy `id` (NULL: the default)
 * for an image verified as `intended` (may be NULL)?  1 yes, 0 no; on 0,
 * *why (malloc'd) says why.
 */
int stele_identity_match(const struct stele_identity *id, const char *intended,
			 const char *signed_ref, char **why);

#endif
