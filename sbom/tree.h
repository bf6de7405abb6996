#ifndef STELE_SBOM_TREE_H
#define STELE_SBOM_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "oci/image.h"
#include "util/buf.h"
#include "util/limits.h"

/*
 * Internal to sbom/: the final tree of an image as its layers are streamed
 * (no file is written anywhere): one node per path, with what a regular
 * file hashes to and, for the few paths that hold package databases and
 * os-release, the bytes themselves (capped).
 */
enum stele_sbom__ntype {
	STELE_SBOM__FILE,
	STELE_SBOM__DIR,
	STELE_SBOM__LINK,
	STELE_SBOM__OTHER
};

struct stele_sbom__node {
	char *path; /* clean, relative, no trailing slash */
	char *link; /* symlink target */
	struct stele_buf *content; /* captured bytes (database paths only) */
	uint64_t size;
	uint32_t layer;
	uint8_t type;
	uint8_t owned;
	unsigned char sha256[32], md5[16], sha1[20];
};

struct stele_sbom__tree {
	struct stele_sbom__node **slots;
	size_t cap, n, used; /* used counts tombstones too */
	uint64_t captured; /* bytes of captured content alive */
};

void stele_sbom__tree_init(struct stele_sbom__tree *t);
void stele_sbom__tree_release(struct stele_sbom__tree *t);
/* Borrowed node, or NULL. */
struct stele_sbom__node *stele_sbom__tree_get(const struct stele_sbom__tree *t,
					      const char *path);
/* Insert (taking n), replacing and freeing a node at the same path. */
void stele_sbom__tree_put(struct stele_sbom__tree *t,
			  struct stele_sbom__node *n);
void stele_sbom__tree_del(struct stele_sbom__tree *t, const char *path);
void stele_sbom__node_free(struct stele_sbom__node *n);
/* Iterate: *i starts at 0; NULL at the end.  No put/del while iterating
 * (deleting the node just returned is allowed). */
struct stele_sbom__node *stele_sbom__tree_next(const struct stele_sbom__tree *t,
					       size_t *i);
/*
 * The node `path` names once symlinks in the tree are followed (every
 * component, the last one too when `follow_last`), at most 40 links, never
 * above the root; NULL when nothing is there.  *via (may be NULL) is set
 * to 1 when a symlink was followed.
 */
struct stele_sbom__node *stele_sbom__resolve(const struct stele_sbom__tree *t,
					     const char *path, int follow_last,
					     int *via);

/* Is this path one whose bytes are kept (a database or os-release)? */
int stele_sbom__captured_path(const char *path);
/* Does this path hold a package list (status, status.d/X, apk installed)? */
int stele_sbom__pkgdb_path(const char *path);

/*
 * Stream layer `i` of `img` into the tree, applying its whiteouts.
 * *db_changed is set when a package list was written or removed.
 */
int stele_sbom__layer_read(struct stele_sbom__tree *t,
			   const struct stele_image *img, size_t i,
			   const struct stele_limits *limits, int *db_changed);

#endif
