#ifndef STELE_UTIL_ROOT_H
#define STELE_UTIL_ROOT_H

/*
 * Resolving a path inside a root, as the kernel's openat2(RESOLVE_IN_ROOT)
 * or a chroot would: component by component, symbolic links followed with
 * absolute targets starting again at the root, and ".." never climbing
 * above it.  Every path that comes from a recipe, an archive or an image
 * goes through here before it meets a file system (a build context, a
 * stage's root, a git tree), so a hostile tree can at most point inside
 * itself.  Never resolve such a path by string concatenation.
 *
 * The resolver is independent of what holds the tree: a lookup callback
 * says whether a name exists and whether it is a link.
 */

/*
 * Look up `rel` (relative to the root, no "." or ".." components, no
 * symlink among its parents): 0 when it exists and is not a symbolic link;
 * 1 when it is one, with *link set to its target (malloc'd, the caller
 * frees); STELE_ENOTFOUND when it does not exist (or a parent is not a
 * directory); another negative code (message set) on failure.  "" is the
 * root itself.
 */
typedef int (*stele_root_lookup_fn)(void *payload, const char *rel,
				    char **link);

enum stele_root_flags {
	STELE_ROOT_FOLLOW = 1 << 0 /* follow a link in the last component */
};

#define STELE_ROOT_MAX_LINKS 40
#define STELE_ROOT_MAX_PATH 16384

/*
 * Resolve `path` (relative or absolute: both start at the root) inside the
 * root.  *out (malloc'd) is relative, slash-separated, without "." or ".."
 * and without symbolic links in any component but the last (and not in the
 * last either with STELE_ROOT_FOLLOW, unless it dangles); "" is the root.
 * Components after a missing one are kept as written (".." applied
 * lexically), so a path about to be created resolves too.
 * Errors: STELE_EINVALID for a link loop (more than STELE_ROOT_MAX_LINKS
 * links) or a path longer than STELE_ROOT_MAX_PATH, naming `path`; any
 * error of the lookup.
 */
int stele_root_resolve(char **out, const char *path, unsigned flags,
		       stele_root_lookup_fn lookup, void *payload);

/* The lookup for a host directory: payload is the root's path (const
 * char *).  Uses lstat/readlink on ROOT/rel, which is safe because `rel`
 * holds no link among its parents. */
int stele_root_lookup_host(void *root, const char *rel, char **link);

/* Resolve `path` inside the host directory `root`; *out is ROOT/resolved
 * (malloc'd), to hand to lstat, open or opendir. */
int stele_root_host_path(char **out, const char *root, const char *path,
			 unsigned flags);

#endif
