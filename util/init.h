#ifndef STELE_UTIL_INIT_H
#define STELE_UTIL_INIT_H

/*
 * The library's one initialisation: libsodium (sodium_init), libgit2
 * (git_libgit2_init), libcurl (curl_global_init, which is not thread-safe
 * in the libcurl versions we support) and OpenSSL's error strings.
 *
 * Call it once, before anything else and before any thread is started:
 * stele's main() does, and so does every unit test binary and fuzz
 * target.  It runs its work under pthread_once, so a second call (from any
 * thread) costs a load and returns the first call's result; the library's
 * entry points that need a dependency (key and secret functions, git
 * sources, registry clients) call it too, so a caller that forgets is
 * still correct.  Returns 0, or STELE_ERROR naming the dependency that
 * failed (then every later call fails the same way).  Nothing is undone at
 * exit: the dependencies' memory goes with the process.
 */
int stele_init(void);

#endif
