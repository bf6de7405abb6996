#ifndef STELE_UTIL_INIT_H
#define STELE_UTIL_INIT_H

/*
 * The library's initialisation, in three steps, each done once (under
 * pthread_once: a second call, from any thread, costs a load and returns
 * the first call's result).
 *
 * stele_init(): libsodium (sodium_init) and OpenSSL (its error strings
 * are loaded when an error is first put into words), what
 * every command needs.  Call it first: stele's main() does, and so does
 * every unit test binary and fuzz target.
 *
 * stele_init_git(): stele_init(), then libgit2 (git_libgit2_init, which
 * parses the system's CA certificates); stele_init_curl(): stele_init(),
 * then libcurl (curl_global_init).  They are left to first use, so that a
 * command that needs neither (verify, sign) does not pay for them: the
 * library's entry points that use libgit2 (git sources) or libcurl
 * (registry clients, pinned downloads, rollout health checks) call them
 * before their first call into it, on the thread that is about to use it.
 *
 * The library's entry points that need a dependency (key and secret
 * functions too) call the step they need, so a caller that forgets is
 * still correct.  Each returns 0, or STELE_ERROR naming the dependency
 * that failed (then every later call fails the same way).  Nothing is
 * undone at exit: the dependencies' memory goes with the process.
 */
int stele_init(void);
int stele_init_git(void);
int stele_init_curl(void);
/*
 * Start stele_init_curl() on a thread of its own, for a caller that will
 * need libcurl soon and has other work first (reading and verifying an
 * image before a push): loading libcurl and the 27 libraries it brings
 * takes milliseconds of CPU, which a second core spends meanwhile.
 * stele_init_curl() waits for that thread to finish (joins it), so the
 * thread alone loads libcurl.  stele_init_curl_join() waits for the thread;
 * call it before the process exits (a library loading while another
 * thread exits is undefined).
 * When no thread can be started, nothing is: the first use loads libcurl.
 */
void stele_init_curl_start(void);
void stele_init_curl_join(void);
int stele_init_rpm(void);
/* libmicrohttpd (the admission server's, deploy/serve.c) and libarchive
 * (util/lazy.h's constructors call it), loaded on first use likewise. */
int stele_init_mhd(void);
int stele_init_archive(void);

#endif
