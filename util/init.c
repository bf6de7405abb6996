#include <pthread.h>
#include <stdio.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "util/error.h"
#include "util/init.h"
#include "util/lazy.h"

/*
 * Three once-only steps: what every command needs, then libgit2 and
 * libcurl on first use (libgit2's initialisation parses the system's CA
 * certificates, half of the start-up of a command that never fetches).
 * Each result is written once under its `once`, read after it:
 * pthread_once orders both.
 */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_once_t rpm_once = PTHREAD_ONCE_INIT;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static pthread_once_t archive_once = PTHREAD_ONCE_INIT;
static const char *failed;
static int git_failed, curl_failed, rpm_failed, mhd_failed, archive_failed;
static char git_why[256], curl_why[256], rpm_why[256], mhd_why[256],
	archive_why[256];

static void
init_once(void)
{
	if (sodium_init() < 0)
		failed = "libsodium";
	else if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL))
		failed = "OpenSSL";
}

/* The message of a failed step, kept for every later call. */
static void
keep(char *why, size_t n, const char *msg)
{
	snprintf(why, n, "%s", msg);
}

static void
git_init_once(void)
{
	if (stele_lazy_git() < 0)
		keep(git_why, sizeof(git_why), stele_error_last());
	else if (git_libgit2_init() < 0)
		keep(git_why, sizeof(git_why), "cannot initialise libgit2");
	git_failed = git_why[0] != '\0';
}

static void
curl_init_once(void)
{
	if (stele_lazy_curl() < 0)
		keep(curl_why, sizeof(curl_why), stele_error_last());
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		keep(curl_why, sizeof(curl_why), "cannot initialise libcurl");
	curl_failed = curl_why[0] != '\0';
}

/* librpmio's version comparison needs no initialisation of its own. */
static void
rpm_init_once(void)
{
	if (stele_lazy_rpm() < 0)
		keep(rpm_why, sizeof(rpm_why), stele_error_last());
	rpm_failed = rpm_why[0] != '\0';
}

static void
mhd_init_once(void)
{
	if (stele_lazy_mhd() < 0)
		keep(mhd_why, sizeof(mhd_why), stele_error_last());
	mhd_failed = mhd_why[0] != '\0';
}

static void
archive_init_once(void)
{
	if (stele_lazy_archive() < 0)
		keep(archive_why, sizeof(archive_why), stele_error_last());
	archive_failed = archive_why[0] != '\0';
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

int
stele_init_git(void)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&git_once, git_init_once) != 0)
		return stele_error_set("cannot initialise libgit2");
	if (git_failed)
		return stele_error_set("%s", git_why);
	return 0;
}

int
stele_init_curl(void)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&curl_once, curl_init_once) != 0)
		return stele_error_set("cannot initialise libcurl");
	if (curl_failed)
		return stele_error_set("%s", curl_why);
	return 0;
}

int
stele_init_rpm(void)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&rpm_once, rpm_init_once) != 0)
		return stele_error_set("cannot initialise librpmio");
	if (rpm_failed)
		return stele_error_set("%s", rpm_why);
	return 0;
}

int
stele_init_mhd(void)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&mhd_once, mhd_init_once) != 0)
		return stele_error_set("cannot load libmicrohttpd");
	if (mhd_failed)
		return stele_error_set("%s", mhd_why);
	return 0;
}

int
stele_init_archive(void)
{
	int error;

	if ((error = stele_init()) < 0)
		return error;
	if (pthread_once(&archive_once, archive_init_once) != 0)
		return stele_error_set("cannot load libarchive");
	if (archive_failed)
		return stele_error_set("%s", archive_why);
	return 0;
}
