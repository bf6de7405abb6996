#define STELE_LAZY_NO_MACROS 1
#include <dlfcn.h>

#include "util/error.h"
#include "util/init.h"
#include "util/lazy.h"

struct stele_lazy_git stele_lazy_git_fns;
struct stele_lazy_curl stele_lazy_curl_fns;
struct stele_lazy_rpm stele_lazy_rpm_fns;
struct stele_lazy_mhd stele_lazy_mhd_fns;
struct stele_lazy_archive stele_lazy_archive_fns;

/* The sonames the build linked against (Makefile); dlopen takes them. */
#ifndef STELE_LIBGIT2_SO
#error "STELE_LIBGIT2_SO: the Makefile passes libgit2's soname"
#endif
#ifndef STELE_LIBCURL_SO
#error "STELE_LIBCURL_SO: the Makefile passes libcurl's soname"
#endif
#ifndef STELE_LIBRPMIO_SO
#error "STELE_LIBRPMIO_SO: the Makefile passes librpmio's soname"
#endif
#ifndef STELE_LIBMHD_SO
#error "STELE_LIBMHD_SO: the Makefile passes libmicrohttpd's soname"
#endif
#ifndef STELE_LIBARCHIVE_SO
#error "STELE_LIBARCHIVE_SO: the Makefile passes libarchive's soname"
#endif

static int
open_lib(void **h, const char *so)
{
	/*
	 * As if linked: RTLD_GLOBAL, as what they load may look symbols up;
	 * RTLD_LAZY, as the stele binary binds its own calls (not -z now):
	 * libcurl's 27 libraries, loaded for a registry's HEAD requests,
	 * resolve no calls into LDAP or Kerberos that stele never makes
	 * (the libraries built with BIND_NOW still bind at once).
	 */
	if (!(*h = dlopen(so, RTLD_LAZY | RTLD_GLOBAL)))
		return stele_error_set("cannot load %s: %s", so, dlerror());
	return 0;
}

/* POSIX's way to take a function from dlsym. */
#define LOAD(table, f) \
	if (!(*(void **)&(table).f = dlsym(h, #f))) \
		return stele_error_set("cannot load %s from %s", #f, so);

int
stele_lazy_git(void)
{
	const char *so = STELE_LIBGIT2_SO;
	void *h;
	int error;

	if ((error = open_lib(&h, so)) < 0)
		return error;
#define X(f) LOAD(stele_lazy_git_fns, f)
	STELE_LAZY_GIT_FNS(X)
#undef X
	return 0;
}

int
stele_lazy_curl(void)
{
	const char *so = STELE_LIBCURL_SO;
	void *h;
	int error;

	if ((error = open_lib(&h, so)) < 0)
		return error;
#define X(f) LOAD(stele_lazy_curl_fns, f)
	STELE_LAZY_CURL_FNS(X)
#undef X
	return 0;
}

int
stele_lazy_rpm(void)
{
	const char *so = STELE_LIBRPMIO_SO;
	void *h;
	int error;

	if ((error = open_lib(&h, so)) < 0)
		return error;
#define X(f) LOAD(stele_lazy_rpm_fns, f)
	STELE_LAZY_RPM_FNS(X)
#undef X
	return 0;
}

int
stele_lazy_mhd(void)
{
	const char *so = STELE_LIBMHD_SO;
	void *h;
	int error;

	if ((error = open_lib(&h, so)) < 0)
		return error;
#define X(f) LOAD(stele_lazy_mhd_fns, f)
	STELE_LAZY_MHD_FNS(X)
#undef X
	return 0;
}

int
stele_lazy_archive(void)
{
	const char *so = STELE_LIBARCHIVE_SO;
	void *h;
	int error;

	if ((error = open_lib(&h, so)) < 0)
		return error;
#define X(f) LOAD(stele_lazy_archive_fns, f)
	STELE_LAZY_ARCHIVE_FNS(X)
#undef X
	return 0;
}

struct archive *
stele_lazy_archive_read_new(void)
{
	return stele_init_archive() < 0
		? NULL
		: stele_lazy_archive_fns.archive_read_new();
}

struct archive *
stele_lazy_archive_write_new(void)
{
	return stele_init_archive() < 0
		? NULL
		: stele_lazy_archive_fns.archive_write_new();
}

struct archive_entry *
stele_lazy_archive_entry_new(void)
{
	return stele_init_archive() < 0
		? NULL
		: stele_lazy_archive_fns.archive_entry_new();
}

const char *
stele_lazy_archive_version_string(void)
{
	return stele_init_archive() < 0
		? "libarchive (not loaded)"
		: stele_lazy_archive_fns.archive_version_string();
}
