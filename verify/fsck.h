#ifndef STELE_VERIFY_FSCK_H
#define STELE_VERIFY_FSCK_H

#include <jansson.h>

/*
 * Checking an OCI image layout: every blob re-hashed against its name,
 * every reference (index.json, image indexes, manifests: config, layers,
 * subject) resolvable, nothing dangling, no ref name on two index.json
 * entries (kind "duplicate", subject the name); unreferenced blobs and leftover
 * temporary files reported.  With `prune`, the safe repairs are made:
 * temporary files and unreferenced blobs are removed (under the layout's
 * lock).  A corrupt blob or a dangling reference is never "repaired".
 */
struct stele_fsck_report {
	json_t *problems; /* [{"kind","subject","reason"}] */
	json_t *unreferenced; /* blob digests */
	json_t *temp; /* temporary paths */
	size_t blobs; /* blobs checked */
	size_t removed; /* with prune */
};

int stele_fsck(struct stele_fsck_report *out, const char *dir, int prune);
void stele_fsck_report_release(struct stele_fsck_report *r);

#endif
