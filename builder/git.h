#ifndef STELE_BUILDER_GIT_H
#define STELE_BUILDER_GIT_H

#include <stdint.h>

/*
 * Git sources.  `spec` is "git+file:///abs#REF", "git+SCHEME://HOST/REPO#REF"
 * (fetched into a bare clone under `git_cache`, one per URL; with
 * git_cache NULL such a source is STELE_EINVALID), or "PATH#REF" for a
 * local repository.  The ref (branch, tag, full ref or commit id) is
 * resolved to a commit.
 */
struct stele_git_source {
	char *uri; /* normalised, without "#REF" (git+file:///abs) */
	char *ref; /* as asked */
	char *full_ref; /* the reference it resolved through (refs/tags/v1),
			     NULL for a commit id */
	char commit[41];
	char tree[41];
	int64_t commit_time;
	void *repo; /* git_repository */
	void *tree_obj; /* git_tree */
};

/* 1 when `s` looks like a git source spec (git+..., or PATH#REF where
 * PATH is a git repository). */
int stele_git_is_spec(const char *s);
int stele_git_source_open(struct stele_git_source **out, const char *spec,
			  const char *git_cache);
void stele_git_source_free(struct stele_git_source *src);
/* The id of the tree at `path` ("" = root) in the source, or ENOTFOUND. */
int stele_git_subtree_id(char out[41], struct stele_git_source *src,
			 const char *path);

#endif
