#define STELE_LAZY_NO_MACROS 1
#include <dlfcn.h>

#include "util/error.h"
#include "util/lazy.h"

struct stele_lazy_git stele_lazy_git_fns;
struct stele_lazy_curl stele_lazy_curl_fns;
struct stele_lazy_rpm stele_lazy_rpm_fns;

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

static int
open_lib(void **h, const char *so)
{
	/* RTLD_GLOBAL as if linked: what they load may look symbols up. */
	if (!(*h = dlopen(so, RTLD_NOW | RTLD_GLOBAL)))
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
