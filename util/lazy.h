#ifndef STELE_UTIL_LAZY_H
#define STELE_UTIL_LAZY_H

/*
 * libgit2, libcurl and librpmio, loaded when first needed (dlopen), not at start:
 * with what they bring in (TLS, SSH, LDAP, Kerberos, ...) they were two
 * thirds of the shared libraries every command loaded, half of the
 * start-up of one that uses neither (verify, sign).
 *
 * Include this header instead of <git2.h>, <curl/curl.h> and <rpm/rpmver.h>: every
 * function of theirs that stele calls is listed below and becomes a call
 * through a table that stele_lazy_git() / stele_lazy_curl() fill (from
 * util/init.c's stele_init_git() / stele_init_curl(), which each entry
 * point using them calls first; stele_init_rpm() likewise).  A function not listed does not link:
 * add it to the list.  Types, constants and macros are the libraries' own.
 */

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <git2.h>
#include <rpm/rpmver.h>

#define STELE_LAZY_GIT_FNS(X) \
	X(git_blob_free) \
	X(git_blob_lookup) \
	X(git_blob_rawcontent) \
	X(git_blob_rawsize) \
	X(git_commit_free) \
	X(git_commit_id) \
	X(git_commit_time) \
	X(git_commit_tree) \
	X(git_error_last) \
	X(git_libgit2_init) \
	X(git_object_free) \
	X(git_object_peel) \
	X(git_oid_fromstr) \
	X(git_oid_tostr) \
	X(git_reference_dwim) \
	X(git_reference_free) \
	X(git_reference_name) \
	X(git_remote_create_anonymous) \
	X(git_remote_fetch) \
	X(git_remote_free) \
	X(git_remote_lookup) \
	X(git_remote_url) \
	X(git_repository_free) \
	X(git_repository_init) \
	X(git_repository_open_bare) \
	X(git_repository_open_ext) \
	X(git_revparse_single) \
	X(git_tree_entry_byindex) \
	X(git_tree_entry_bypath) \
	X(git_tree_entry_filemode) \
	X(git_tree_entry_free) \
	X(git_tree_entry_id) \
	X(git_tree_entry_name) \
	X(git_tree_entry_type) \
	X(git_tree_entrycount) \
	X(git_tree_free) \
	X(git_tree_id) \
	X(git_tree_lookup)

#define STELE_LAZY_CURL_FNS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_reset) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_version_info)

/* librpmio: only rpm's version comparison, for scanning rpm images. */
#define STELE_LAZY_RPM_FNS(X) \
	X(rpmverCmp) \
	X(rpmverFree) \
	X(rpmverParse)

#define STELE_LAZY_MEMBER(f) __typeof__(f) *f;
struct stele_lazy_git {
	STELE_LAZY_GIT_FNS(STELE_LAZY_MEMBER)
};
struct stele_lazy_curl {
	STELE_LAZY_CURL_FNS(STELE_LAZY_MEMBER)
};
struct stele_lazy_rpm {
	STELE_LAZY_RPM_FNS(STELE_LAZY_MEMBER)
};
#undef STELE_LAZY_MEMBER

/* Filled once, then only read (see util/init.c). */
extern struct stele_lazy_git stele_lazy_git_fns;
extern struct stele_lazy_curl stele_lazy_curl_fns;
extern struct stele_lazy_rpm stele_lazy_rpm_fns;

/*
 * Load the library (its soname as the build found it) and every function
 * listed: 0, or STELE_ERROR naming the library and what dlopen/dlsym
 * said.  Not thread-safe: util/init.c calls them under pthread_once.
 */
int stele_lazy_git(void);
int stele_lazy_curl(void);
int stele_lazy_rpm(void);

#ifndef STELE_LAZY_NO_MACROS
/* curl.h's type-checking macros, where it was included first. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define git_blob_free (stele_lazy_git_fns.git_blob_free)
#define git_blob_lookup (stele_lazy_git_fns.git_blob_lookup)
#define git_blob_rawcontent (stele_lazy_git_fns.git_blob_rawcontent)
#define git_blob_rawsize (stele_lazy_git_fns.git_blob_rawsize)
#define git_commit_free (stele_lazy_git_fns.git_commit_free)
#define git_commit_id (stele_lazy_git_fns.git_commit_id)
#define git_commit_time (stele_lazy_git_fns.git_commit_time)
#define git_commit_tree (stele_lazy_git_fns.git_commit_tree)
#define git_error_last (stele_lazy_git_fns.git_error_last)
#define git_libgit2_init (stele_lazy_git_fns.git_libgit2_init)
#define git_object_free (stele_lazy_git_fns.git_object_free)
#define git_object_peel (stele_lazy_git_fns.git_object_peel)
#define git_oid_fromstr (stele_lazy_git_fns.git_oid_fromstr)
#define git_oid_tostr (stele_lazy_git_fns.git_oid_tostr)
#define git_reference_dwim (stele_lazy_git_fns.git_reference_dwim)
#define git_reference_free (stele_lazy_git_fns.git_reference_free)
#define git_reference_name (stele_lazy_git_fns.git_reference_name)
#define git_remote_create_anonymous (stele_lazy_git_fns.git_remote_create_anonymous)
#define git_remote_fetch (stele_lazy_git_fns.git_remote_fetch)
#define git_remote_free (stele_lazy_git_fns.git_remote_free)
#define git_remote_lookup (stele_lazy_git_fns.git_remote_lookup)
#define git_remote_url (stele_lazy_git_fns.git_remote_url)
#define git_repository_free (stele_lazy_git_fns.git_repository_free)
#define git_repository_init (stele_lazy_git_fns.git_repository_init)
#define git_repository_open_bare (stele_lazy_git_fns.git_repository_open_bare)
#define git_repository_open_ext (stele_lazy_git_fns.git_repository_open_ext)
#define git_revparse_single (stele_lazy_git_fns.git_revparse_single)
#define git_tree_entry_byindex (stele_lazy_git_fns.git_tree_entry_byindex)
#define git_tree_entry_bypath (stele_lazy_git_fns.git_tree_entry_bypath)
#define git_tree_entry_filemode (stele_lazy_git_fns.git_tree_entry_filemode)
#define git_tree_entry_free (stele_lazy_git_fns.git_tree_entry_free)
#define git_tree_entry_id (stele_lazy_git_fns.git_tree_entry_id)
#define git_tree_entry_name (stele_lazy_git_fns.git_tree_entry_name)
#define git_tree_entry_type (stele_lazy_git_fns.git_tree_entry_type)
#define git_tree_entrycount (stele_lazy_git_fns.git_tree_entrycount)
#define git_tree_free (stele_lazy_git_fns.git_tree_free)
#define git_tree_id (stele_lazy_git_fns.git_tree_id)
#define git_tree_lookup (stele_lazy_git_fns.git_tree_lookup)
#define curl_easy_cleanup (stele_lazy_curl_fns.curl_easy_cleanup)
#define curl_easy_escape (stele_lazy_curl_fns.curl_easy_escape)
#define curl_easy_getinfo (stele_lazy_curl_fns.curl_easy_getinfo)
#define curl_easy_init (stele_lazy_curl_fns.curl_easy_init)
#define curl_easy_perform (stele_lazy_curl_fns.curl_easy_perform)
#define curl_easy_reset (stele_lazy_curl_fns.curl_easy_reset)
#define curl_easy_setopt (stele_lazy_curl_fns.curl_easy_setopt)
#define curl_easy_strerror (stele_lazy_curl_fns.curl_easy_strerror)
#define curl_free (stele_lazy_curl_fns.curl_free)
#define curl_global_init (stele_lazy_curl_fns.curl_global_init)
#define curl_slist_append (stele_lazy_curl_fns.curl_slist_append)
#define curl_slist_free_all (stele_lazy_curl_fns.curl_slist_free_all)
#define curl_version_info (stele_lazy_curl_fns.curl_version_info)
#define rpmverCmp (stele_lazy_rpm_fns.rpmverCmp)
#define rpmverFree (stele_lazy_rpm_fns.rpmverFree)
#define rpmverParse (stele_lazy_rpm_fns.rpmverParse)
#endif

#endif
