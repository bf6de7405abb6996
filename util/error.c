#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/lazy.h"
#include <openssl/err.h>

#include "util/error.h"

static _Thread_local char error_msg[STELE_ERROR_MAX];

static void error_vset(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static void
error_vset(const char *fmt, va_list ap)
{
	vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
}

int
stele_error_setc(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	return code;
}

int
stele_error_errno(const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	len = strlen(error_msg);
	snprintf(error_msg + len, sizeof(error_msg) - len, ": %s",
		 strerror(saved));
	return STELE_ERROR;
}

int
stele_error_prefix(int code, const char *fmt, ...)
{
	char old[STELE_ERROR_MAX];
	size_t len;
	va_list ap;

	memcpy(old, error_msg, sizeof(old));
	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	len = strlen(error_msg);
	if (old[0] && len + 2 < sizeof(error_msg)) {
		size_t room = sizeof(error_msg) - len - 3, n = strlen(old);

		memcpy(error_msg + len, ": ", 2);
		if (n > room)
			n = room;
		memcpy(error_msg + len + 2, old, n);
		error_msg[len + 2 + n] = '\0';
	}
	return code;
}

const char *
stele_error_last(void)
{
	return error_msg[0] ? error_msg : "unknown error";
}

void
stele_error_clear(void)
{
	error_msg[0] = '\0';
}

int
stele_error_archive(struct archive *a, const char *what)
{
	const char *m = a ? archive_error_string(a) : NULL;

	return stele_error_set("%s: %s", what, m ? m : "libarchive error");
}

int
stele_error_git(const char *what)
{
	const git_error *e = git_error_last();

	return stele_error_set("%s: %s", what,
			       e && e->message ? e->message : "libgit2 error");
}

int
stele_error_ssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (!e)
		return stele_error_set("%s: OpenSSL error", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return stele_error_set("%s: %s", what, buf);
}
