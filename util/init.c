#include <pthread.h>

#include <curl/curl.h>
#include <git2.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "util/error.h"
#include "util/init.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Written once under `once`, read after it: pthread_once orders both. */
static const char *failed;

static void
init_once(void)
{
	if (sodium_init() < 0)
		failed = "libsodium";
	else if (git_libgit2_init() < 0)
		failed = "libgit2";
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		failed = "libcurl";
	else if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL))
		failed = "OpenSSL";
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
