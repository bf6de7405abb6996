#ifndef STELE_UTIL_LAZY_H
#define STELE_UTIL_LAZY_H

/*
 * libgit2, libcurl, librpmio, libmicrohttpd and libarchive, loaded when
 * first needed (dlopen), not at start: with what they bring in (TLS, SSH,
 * LDAP, Kerberos; GnuTLS, p11-kit, GMP for libmicrohttpd; libxml2, ICU and
 * libstdc++ for libarchive) they were most of the shared libraries every
 * command loaded, and most of the start-up of one that uses none of them
 * (verify, sign, a re-push before it needs libcurl).
 *
 * Include this header instead of <git2.h>, <curl/curl.h>, <rpm/rpmver.h>,
 * <microhttpd.h>, <archive.h> and <archive_entry.h>: every function of
 * theirs that stele calls is listed below and becomes a call through a
 * table that stele_lazy_git() / stele_lazy_curl() / stele_lazy_rpm() /
 * stele_lazy_mhd() / stele_lazy_archive() fill (from util/init.c's
 * stele_init_git() / stele_init_curl() / stele_init_rpm() /
 * stele_init_mhd() / stele_init_archive(), which each entry point using
 * them calls first).  libarchive's are called on an object one of its
 * constructors made (archive_read_new, archive_write_new,
 * archive_entry_new) or archive_version_string(): those four load it
 * themselves (stele_lazy_archive_*), so its users need not.  A function
 * not listed does not link:
 * add it to the list.  Types, constants and macros are the libraries' own.
 */

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <git2.h>
#include <rpm/rpmver.h>
#include <microhttpd.h>
#include <archive.h>
#include <archive_entry.h>

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
	X(curl_multi_add_handle) \
	X(curl_multi_cleanup) \
	X(curl_multi_info_read) \
	X(curl_multi_init) \
	X(curl_multi_perform) \
	X(curl_multi_poll) \
	X(curl_multi_remove_handle) \
	X(curl_multi_setopt) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_version_info)

/* librpmio: only rpm's version comparison, for scanning rpm images. */
#define STELE_LAZY_RPM_FNS(X) \
	X(rpmverCmp) \
	X(rpmverFree) \
	X(rpmverParse)

#define STELE_LAZY_MHD_FNS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_destroy_response) \
	X(MHD_queue_response) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon)

#define STELE_LAZY_ARCHIVE_FNS(X) \
	X(archive_entry_atime) \
	X(archive_entry_atime_is_set) \
	X(archive_entry_atime_nsec) \
	X(archive_entry_clear) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_hardlink_utf8) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_is_set) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_pathname_utf8) \
	X(archive_entry_perm) \
	X(archive_entry_rdev) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_hardlink) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_rdev) \
	X(archive_entry_set_size) \
	X(archive_entry_set_symlink) \
	X(archive_entry_set_uid) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_sparse_count) \
	X(archive_entry_symlink) \
	X(archive_entry_symlink_utf8) \
	X(archive_entry_uid) \
	X(archive_errno) \
	X(archive_error_string) \
	X(archive_filter_bytes) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open) \
	X(archive_read_open_fd) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_none) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_raw) \
	X(archive_read_support_format_tar) \
	X(archive_read_support_format_zip) \
	X(archive_set_error) \
	X(archive_version_string) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_bytes_per_block) \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_options)

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
struct stele_lazy_mhd {
	STELE_LAZY_MHD_FNS(STELE_LAZY_MEMBER)
};
struct stele_lazy_archive {
	STELE_LAZY_ARCHIVE_FNS(STELE_LAZY_MEMBER)
};
#undef STELE_LAZY_MEMBER

/* Filled once, then only read (see util/init.c). */
extern struct stele_lazy_git stele_lazy_git_fns;
extern struct stele_lazy_curl stele_lazy_curl_fns;
extern struct stele_lazy_rpm stele_lazy_rpm_fns;
extern struct stele_lazy_mhd stele_lazy_mhd_fns;
extern struct stele_lazy_archive stele_lazy_archive_fns;

/*
 * Load the library (its soname as the build found it) and every function
 * listed: 0, or STELE_ERROR naming the library and what dlopen/dlsym
 * said.  Not thread-safe: util/init.c calls them under pthread_once.
 */
int stele_lazy_git(void);
int stele_lazy_curl(void);
int stele_lazy_rpm(void);
int stele_lazy_mhd(void);
int stele_lazy_archive(void);

/*
 * libarchive's constructors and version, loading it first (through
 * stele_init_archive()): NULL (the version: a string saying so) when it
 * cannot be loaded, with the reason in stele_error_last().
 */
struct archive *stele_lazy_archive_read_new(void);
struct archive *stele_lazy_archive_write_new(void);
struct archive_entry *stele_lazy_archive_entry_new(void);
const char *stele_lazy_archive_version_string(void);

#ifndef STELE_LAZY_NO_MACROS
/* curl.h's type-checking macros, where it was included first. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
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
#define git_remote_create_anonymous \
	(stele_lazy_git_fns.git_remote_create_anonymous)
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
#define curl_multi_add_handle (stele_lazy_curl_fns.curl_multi_add_handle)
#define curl_multi_cleanup (stele_lazy_curl_fns.curl_multi_cleanup)
#define curl_multi_info_read (stele_lazy_curl_fns.curl_multi_info_read)
#define curl_multi_init (stele_lazy_curl_fns.curl_multi_init)
#define curl_multi_perform (stele_lazy_curl_fns.curl_multi_perform)
#define curl_multi_poll (stele_lazy_curl_fns.curl_multi_poll)
#define curl_multi_remove_handle (stele_lazy_curl_fns.curl_multi_remove_handle)
#define curl_multi_setopt (stele_lazy_curl_fns.curl_multi_setopt)
#define curl_slist_append (stele_lazy_curl_fns.curl_slist_append)
#define curl_slist_free_all (stele_lazy_curl_fns.curl_slist_free_all)
#define curl_version_info (stele_lazy_curl_fns.curl_version_info)
#define rpmverCmp (stele_lazy_rpm_fns.rpmverCmp)
#define rpmverFree (stele_lazy_rpm_fns.rpmverFree)
#define rpmverParse (stele_lazy_rpm_fns.rpmverParse)
#define archive_entry_atime (stele_lazy_archive_fns.archive_entry_atime)
#define archive_entry_atime_is_set \
	(stele_lazy_archive_fns.archive_entry_atime_is_set)
#define archive_entry_atime_nsec \
	(stele_lazy_archive_fns.archive_entry_atime_nsec)
#define archive_entry_clear (stele_lazy_archive_fns.archive_entry_clear)
#define archive_entry_filetype (stele_lazy_archive_fns.archive_entry_filetype)
#define archive_entry_free (stele_lazy_archive_fns.archive_entry_free)
#define archive_entry_gid (stele_lazy_archive_fns.archive_entry_gid)
#define archive_entry_hardlink (stele_lazy_archive_fns.archive_entry_hardlink)
#define archive_entry_hardlink_utf8 \
	(stele_lazy_archive_fns.archive_entry_hardlink_utf8)
#define archive_entry_mtime (stele_lazy_archive_fns.archive_entry_mtime)
#define archive_entry_mtime_is_set \
	(stele_lazy_archive_fns.archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec \
	(stele_lazy_archive_fns.archive_entry_mtime_nsec)
#define archive_entry_new stele_lazy_archive_entry_new
#define archive_entry_pathname (stele_lazy_archive_fns.archive_entry_pathname)
#define archive_entry_pathname_utf8 \
	(stele_lazy_archive_fns.archive_entry_pathname_utf8)
#define archive_entry_perm (stele_lazy_archive_fns.archive_entry_perm)
#define archive_entry_rdev (stele_lazy_archive_fns.archive_entry_rdev)
#define archive_entry_set_filetype \
	(stele_lazy_archive_fns.archive_entry_set_filetype)
#define archive_entry_set_gid (stele_lazy_archive_fns.archive_entry_set_gid)
#define archive_entry_set_hardlink \
	(stele_lazy_archive_fns.archive_entry_set_hardlink)
#define archive_entry_set_mtime (stele_lazy_archive_fns.archive_entry_set_mtime)
#define archive_entry_set_pathname \
	(stele_lazy_archive_fns.archive_entry_set_pathname)
#define archive_entry_set_perm (stele_lazy_archive_fns.archive_entry_set_perm)
#define archive_entry_set_rdev (stele_lazy_archive_fns.archive_entry_set_rdev)
#define archive_entry_set_size (stele_lazy_archive_fns.archive_entry_set_size)
#define archive_entry_set_symlink \
	(stele_lazy_archive_fns.archive_entry_set_symlink)
#define archive_entry_set_uid (stele_lazy_archive_fns.archive_entry_set_uid)
#define archive_entry_size (stele_lazy_archive_fns.archive_entry_size)
#define archive_entry_size_is_set \
	(stele_lazy_archive_fns.archive_entry_size_is_set)
#define archive_entry_sparse_count \
	(stele_lazy_archive_fns.archive_entry_sparse_count)
#define archive_entry_symlink (stele_lazy_archive_fns.archive_entry_symlink)
#define archive_entry_symlink_utf8 \
	(stele_lazy_archive_fns.archive_entry_symlink_utf8)
#define archive_entry_uid (stele_lazy_archive_fns.archive_entry_uid)
#define archive_errno (stele_lazy_archive_fns.archive_errno)
#define archive_error_string (stele_lazy_archive_fns.archive_error_string)
#define archive_filter_bytes (stele_lazy_archive_fns.archive_filter_bytes)
#define archive_read_data (stele_lazy_archive_fns.archive_read_data)
#define archive_read_data_block (stele_lazy_archive_fns.archive_read_data_block)
#define archive_read_free (stele_lazy_archive_fns.archive_read_free)
#define archive_read_new stele_lazy_archive_read_new
#define archive_read_next_header \
	(stele_lazy_archive_fns.archive_read_next_header)
#define archive_read_open (stele_lazy_archive_fns.archive_read_open)
#define archive_read_open_fd (stele_lazy_archive_fns.archive_read_open_fd)
#define archive_read_open_filename \
	(stele_lazy_archive_fns.archive_read_open_filename)
#define archive_read_support_filter_all \
	(stele_lazy_archive_fns.archive_read_support_filter_all)
#define archive_read_support_filter_gzip \
	(stele_lazy_archive_fns.archive_read_support_filter_gzip)
#define archive_read_support_filter_none \
	(stele_lazy_archive_fns.archive_read_support_filter_none)
#define archive_read_support_filter_zstd \
	(stele_lazy_archive_fns.archive_read_support_filter_zstd)
#define archive_read_support_format_raw \
	(stele_lazy_archive_fns.archive_read_support_format_raw)
#define archive_read_support_format_tar \
	(stele_lazy_archive_fns.archive_read_support_format_tar)
#define archive_read_support_format_zip \
	(stele_lazy_archive_fns.archive_read_support_format_zip)
#define archive_set_error (stele_lazy_archive_fns.archive_set_error)
#define archive_version_string stele_lazy_archive_version_string
#define archive_write_close (stele_lazy_archive_fns.archive_write_close)
#define archive_write_data (stele_lazy_archive_fns.archive_write_data)
#define archive_write_free (stele_lazy_archive_fns.archive_write_free)
#define archive_write_header (stele_lazy_archive_fns.archive_write_header)
#define archive_write_new stele_lazy_archive_write_new
#define archive_write_open (stele_lazy_archive_fns.archive_write_open)
#define archive_write_set_bytes_in_last_block \
	(stele_lazy_archive_fns.archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block \
	(stele_lazy_archive_fns.archive_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted \
	(stele_lazy_archive_fns.archive_write_set_format_pax_restricted)
#define archive_write_set_options \
	(stele_lazy_archive_fns.archive_write_set_options)
#define MHD_add_response_header (stele_lazy_mhd_fns.MHD_add_response_header)
#define MHD_create_response_from_buffer \
	(stele_lazy_mhd_fns.MHD_create_response_from_buffer)
#define MHD_destroy_response (stele_lazy_mhd_fns.MHD_destroy_response)
#define MHD_queue_response (stele_lazy_mhd_fns.MHD_queue_response)
#define MHD_start_daemon (stele_lazy_mhd_fns.MHD_start_daemon)
#define MHD_stop_daemon (stele_lazy_mhd_fns.MHD_stop_daemon)
#endif

#endif
