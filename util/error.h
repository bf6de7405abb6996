#ifndef STELE_UTIL_ERROR_H
#define STELE_UTIL_ERROR_H

/*
 * Error codes returned by every fallible library function: 0 on success, or
 * one of these.  The message describing the last failure is kept in a
 * thread-local slot and read with stele_error_last(), which never returns
 * NULL.
 */
enum stele_error_code {
	STELE_OK = 0,
	STELE_ERROR = -1, /* I/O, out of memory, dependency failure */
	STELE_ENOTFOUND = -2, /* a named thing does not exist */
	STELE_EINVALID = -3, /* malformed recipe, JSON, key or argument */
	STELE_EVERIFY = -4 /* digest or signature mismatch, denied */
};

#define STELE_ERROR_MAX 1024

/* Set the message; returns the code given, so `return stele_error_setc(..)`. */
int stele_error_setc(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same as stele_error_setc(STELE_ERROR, ...). */
#define stele_error_set(...) stele_error_setc(STELE_ERROR, __VA_ARGS__)
/* Append errno's text: "<msg>: <strerror>". Returns STELE_ERROR. */
int stele_error_errno(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Prefix the current message: "<prefix>: <old message>". Returns code. */
int stele_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *stele_error_last(void);
void stele_error_clear(void);

/* Adapters, one per dependency; each returns STELE_ERROR. */
struct archive;
int stele_error_archive(struct archive *a, const char *what);
int stele_error_git(const char *what);
int stele_error_ssl(const char *what);

#endif
