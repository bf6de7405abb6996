#include <pthread.h>
#include <stdio.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "util/error.h"
#include "util/init.h"
#include "util/lazy.h"

/*
 * Once-only steps: what every command needs, then each dependency loaded
 * on first use (libgit2's initialisation parses the system's CA
 * certificates, half of the start-up of a command that never fetches).
 * Each result is written once under its `once`, read after it:
 * pthread_once orders both.
 */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failed;

/* A dependency's step: `why` is its failure, kept for every later call;
 * `what` is said when pthread_once itself fails. */
struct dep {
	pthread_once_t once;
	const char *what;
	char why[256];
};
static struct dep git_dep = { PTHREAD_ONCE_INIT, "cannot initialise libgit2" };
static struct dep curl_dep = { PTHREAD_ONCE_INIT, "cannot initialise libcurl" };
static struct dep rpm_dep = { PTHREAD_ONCE_INIT, "cannot initialise librpmio" };
static struct dep mhd_dep = { PTHREAD_ONCE_INIT, "cannot load libmicrohttpd" };
static struct dep archive_dep = { PTHREAD_ONCE_INIT, "cannot load libarchive" };

static void
init_once(void)
{
	if (sodium_init() < 0)
		failed = "libsodium";
	/* Its error strings are not loaded here (0.3 ms, every command):
	 * OpenSSL loads them when an error is first put into words. */
	else if (!OPENSSL_init_crypto(0, NULL))
		failed = "OpenSSL";
}

/* Keep the message of a failed step. */
static void
keep(struct dep *d, const char *msg)
{
	snprintf(d->why, sizeof(d->why), "%s", msg);
}

static void
git_init_once(void)
{
	if (stele_lazy_git() < 0)
		keep(&git_dep, stele_error_last());
	else if (git_libgit2_init() < 0)
		keep(&git_dep, "cannot initialise libgit2");
}

static void
curl_init_once(void)
{
	if (stele_lazy_curl() < 0)
		keep(&curl_dep, stele_error_last());
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		keep(&curl_dep, "cannot initialise libcurl");
}

/* librpmio's version comparison needs no initialisation of its own. */
static void
rpm_init_once(void)
{
	if (stele_lazy_rpm() < 0)
		keep(&rpm_dep, stele_error_last());
}

static void
mhd_init_once(void)
{
	if (stele_lazy_mhd() < 0)
		keep(&mhd_dep, stele_error_last());
}

static void
archive_init_once(void)
{
	if (stele_lazy_archive() < 0)
		keep(&archive_dep, stele_error_last());
}

int
stele_init(void)
{
	if (pthread_once(&once, init_once) != 0)
		return stele_error_set("cannot initialise the library");
	if (failed)
		return stele_error_set("cannot initialise %s", failed);
	return 0;
}

/* stele_init(), then the step of `d`. */
static int
dep_init(struct dep *d, void (*step)(void))
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&d->once, step) != 0)
		return stele_error_set("%s", d->what);
	if (d->why[0])
		return stele_error_set("%s", d->why);
	return 0;
}

int
stele_init_git(void)
{
	return dep_init(&git_dep, git_init_once);
}

/* The thread stele_init_curl_start() started, joined once, under curl_mu. */
static pthread_mutex_t curl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t curl_thread;
static int curl_started;
static _Thread_local int curl_preloading;

static void *
curl_preload(void *unused)
{
	(void)unused;
	curl_preloading = 1;
	stele_init_curl();
	return NULL;
}

void
stele_init_curl_start(void)
{
	if (stele_init() < 0)
		return;
	pthread_mutex_lock(&curl_mu);
	if (!curl_started &&
	    pthread_create(&curl_thread, NULL, curl_preload, NULL) == 0)
		curl_started = 1;
	pthread_mutex_unlock(&curl_mu);
}

void
stele_init_curl_join(void)
{
	pthread_mutex_lock(&curl_mu);
	if (curl_started) {
		pthread_join(curl_thread, NULL);
		curl_started = 0;
	}
	pthread_mutex_unlock(&curl_mu);
}

int
stele_init_curl(void)
{
	/* A thread loading it already: wait for it rather than race it. */
	if (!curl_preloading)
		stele_init_curl_join();
	return dep_init(&curl_dep, curl_init_once);
}

int
stele_init_rpm(void)
{
	return dep_init(&rpm_dep, rpm_init_once);
}

int
stele_init_mhd(void)
{
	return dep_init(&mhd_dep, mhd_init_once);
}

int
stele_init_archive(void)
{
	return dep_init(&archive_dep, archive_init_once);
}
