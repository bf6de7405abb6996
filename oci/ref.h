#ifndef STELE_OCI_REF_H
#define STELE_OCI_REF_H

#include <stddef.h>

/*
 * Image references, in the containers-transports syntax:
 *   oci:DIR[:TAG|@DIGEST]          an OCI image layout
 *   docker://HOST/REPO[:TAG][@DIGEST]  a registry
 *   NAME[:TAG][@DIGEST]            the local store: the OCI layout
 *                                  `store` given to stele_ref_parse()
 *                                  (stele's CLI: $STELE_STORE, else
 *                                  $XDG_DATA_HOME/stele/store, else
 *                                  ~/.local/share/stele/store; cli/env.h)
 * A digest always wins over a tag.
 */
enum stele_transport { STELE_REF_STORE, STELE_REF_OCI, STELE_REF_DOCKER };

struct stele_ref {
	enum stele_transport transport;
	char *dir; /* layout directory (STORE, OCI) */
	char *name; /* STORE: the name; DOCKER: HOST/REPO; OCI: NULL */
	char *tag; /* may be NULL */
	char *digest; /* may be NULL */
	char *refname; /* the index.json ref.name: STORE "name:tag",
			  OCI the tag; NULL when no tag */
};

/*
 * Parse `s`.  `store` is the local store's directory (copied into ->dir
 * for a NAME[:TAG] reference); NULL: such a reference is STELE_EINVALID.
 */
int stele_ref_parse(struct stele_ref **out, const char *s, const char *store);
void stele_ref_free(struct stele_ref *r);
/* Whether the reference names a registry image: docker://…, or a store
 * name whose first component is a host (has a '.' or ':', or localhost),
 * as Docker reads `FROM HOST/REPO…`. */
int stele_ref_is_registry(const struct stele_ref *r);
/*
 * The registry image Docker means by a store name (distribution's
 * ParseNormalizedNamed): `name` (no tag or digest) whose first component
 * is a host (as stele_ref_is_registry) is on that host; any other is on
 * docker.io, and a single component is under library/ ("debian" ->
 * "docker.io/library/debian", "library/alpine" ->
 * "docker.io/library/alpine"); "docker.io/debian" and
 * "index.docker.io/debian" are "docker.io/library/debian" too.
 * *out malloc'd "HOST/REPO".  STELE_EINVALID (naming `name`) when a
 * repository component is not what Docker accepts: lower-case letters
 * and digits, separated by '.', '_', "__" or '-' runs.
 */
int stele_ref_docker_name(char **out, const char *name);
/* A repository path component of `n` bytes as distribution's grammar has
 * it: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
int stele_ref_component_ok(const char *c, size_t n);
/* Human form: "oci:DIR:TAG", "name:tag", ...; malloc'd. */
char *stele_ref_string(const struct stele_ref *r);

#endif
