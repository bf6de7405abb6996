#include <stdlib.h>
#include <string.h>

#include "util/lazy.h"

#include "builder/git.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"

/*
 * Git sources, opened through libgit2: a local repository in place, a
 * remote one fetched (heads and tags) into a bare clone of its own under
 * the git cache, named by the digest of its URL.  Nothing is checked out.
 */

int
stele_git_is_spec(const char *s)
{
	const char *hash;
	char *path, *dotgit;
	int r;

	if (!strncmp(s, "git+", 4))
		return 1;
	if (!(hash = strchr(s, '#')) || strstr(s, "://"))
		return 0;
	path = stele_xstrndup(s, (size_t)(hash - s));
	dotgit = stele_path_join(path, ".git");
	r = stele_fs_exists(dotgit) || stele_fs_exists(path);
	free(dotgit);
	free(path);
	return r;
}

static int
cache_repo(git_repository **out, const char *url, const char *git_cache)
{
	char digest[STELE_DIGEST_STRLEN];
	char *dir;
	git_remote *remote = NULL;
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	char heads[] = "+refs/heads/*:refs/heads/*",
	     tags[] = "+refs/tags/*:refs/tags/*";
	char *refspecs[] = { heads, tags };
	git_strarray specs = { refspecs, 2 };
	int error = 0;

	*out = NULL;
	if (!git_cache)
		return stele_error_setc(
			STELE_EINVALID,
			"git source '%s': no git cache directory given to fetch it into",
			url);
	stele_digest_bytes(digest, url, strlen(url));
	dir = stele_xasprintf("%s/%.16s", git_cache, digest + 7);
	if (git_repository_open_bare(out, dir) < 0) {
		if ((error = stele_fs_mkdir_p(dir, 0755)) < 0)
			goto out;
		if (git_repository_init(out, dir, 1) < 0) {
			error = stele_error_git("cannot create git cache");
			goto out;
		}
	}
	if (git_remote_create_anonymous(&remote, *out, url) < 0 ||
	    git_remote_fetch(remote, &specs, &fo, NULL) < 0) {
		error = stele_error_git("cannot fetch");
		stele_error_prefix(error, "git source '%s'", url);
		git_repository_free(*out);
		*out = NULL;
	}
out:
	git_remote_free(remote);
	free(dir);
	return error;
}

static int
resolve_ref(git_commit **out, char **full, git_repository *repo,
	    const char *ref)
{
	static const char *const prefixes[] = { "", "refs/tags/", "refs/heads/",
						"refs/remotes/origin/" };
	git_object *obj = NULL;
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		char *spec = stele_xasprintf("%s%s", prefixes[i], ref);
		git_reference *gr = NULL;
		int r = git_revparse_single(&obj, repo, spec);

		if (r == 0 && git_reference_dwim(&gr, repo, spec) == 0)
			*full = stele_xstrdup(git_reference_name(gr));
		git_reference_free(gr);
		free(spec);
		if (r == 0)
			break;
	}
	if (!obj)
		return stele_error_setc(STELE_ENOTFOUND,
					"git ref '%s' cannot be resolved", ref);
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		return stele_error_setc(STELE_EINVALID,
					"git ref '%s' does not name a commit",
					ref);
	}
	git_object_free(obj);
	return 0;
}

int
stele_git_source_open(struct stele_git_source **out, const char *spec,
		      const char *git_cache)
{
	struct stele_git_source *src = stele_xcalloc(1, sizeof(*src));
	const char *hash = strrchr(spec, '#');
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	char *loc;
	int error = 0;

	*out = NULL;
	if ((error = stele_init_git()) < 0) {
		free(src);
		return error;
	}
	if (!hash || !hash[1]) {
		free(src);
		return stele_error_setc(
			STELE_EINVALID,
			"git source '%s' has no #REF (a branch, tag or commit)",
			spec);
	}
	loc = stele_xstrndup(spec, (size_t)(hash - spec));
	src->ref = stele_xstrdup(hash + 1);
	if (!strncmp(loc, "git+file://", 11)) {
		if (loc[11] != '/') {
			error = stele_error_setc(
				STELE_EINVALID,
				"git source '%s' needs an absolute path (git+file:///abs/path)",
				spec);
			goto out;
		}
		if (git_repository_open_ext(&repo, loc + 11,
					    GIT_REPOSITORY_OPEN_NO_SEARCH,
					    NULL) < 0) {
			error = stele_error_setc(STELE_ENOTFOUND,
						 "'%s' is not a git repository",
						 loc + 11);
			goto out;
		}
		src->uri = stele_xstrdup(loc);
	} else if (!strncmp(loc, "git+", 4)) {
		if ((error = cache_repo(&repo, loc + 4, git_cache)) < 0)
			goto out;
		src->uri = stele_xstrdup(loc);
	} else {
		char *abs = realpath(loc, NULL);

		if (!abs ||
		    git_repository_open_ext(&repo, abs,
					    GIT_REPOSITORY_OPEN_NO_SEARCH,
					    NULL) < 0) {
			free(abs);
			error = stele_error_setc(STELE_ENOTFOUND,
						 "'%s' is not a git repository",
						 loc);
			goto out;
		}
		src->uri = stele_xasprintf("git+file://%s", abs);
		free(abs);
	}
	if ((error = resolve_ref(&commit, &src->full_ref, repo, src->ref)) <
	    0) {
		stele_error_prefix(error, "git source '%s'", src->uri);
		goto out;
	}
	if (git_commit_tree(&tree, commit) < 0) {
		error = stele_error_git("cannot read commit tree");
		goto out;
	}
	git_oid_tostr(src->commit, sizeof(src->commit), git_commit_id(commit));
	git_oid_tostr(src->tree, sizeof(src->tree), git_tree_id(tree));
	src->commit_time = (int64_t)git_commit_time(commit);
	src->repo = repo;
	src->tree_obj = tree;
	repo = NULL;
	tree = NULL;
	*out = src;
	src = NULL;
out:
	git_commit_free(commit);
	git_tree_free(tree);
	git_repository_free(repo);
	stele_git_source_free(src);
	free(loc);
	return error;
}

void
stele_git_source_free(struct stele_git_source *src)
{
	if (!src)
		return;
	git_tree_free(src->tree_obj);
	git_repository_free(src->repo);
	free(src->uri);
	free(src->ref);
	free(src->full_ref);
	free(src);
}

int
stele_git_subtree_id(char out[41], struct stele_git_source *src,
		     const char *path)
{
	git_tree_entry *te;

	if (!*path) {
		memcpy(out, src->tree, 41);
		return 0;
	}
	if (git_tree_entry_bypath(&te, src->tree_obj, path) < 0)
		return stele_error_setc(STELE_ENOTFOUND,
					"'%s' not found at commit %s", path,
					src->commit);
	git_oid_tostr(out, 41, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return 0;
}
