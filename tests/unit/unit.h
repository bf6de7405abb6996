#ifndef STELE_TESTS_UNIT_H
#define STELE_TESTS_UNIT_H

/*
 * What every unit test binary starts with: cmocka and its prerequisites,
 * and the assertions that print the library's error message when a call
 * fails (as libgit2's cl_git_pass does).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"

/* `expr` returns 0 (or any non-negative value). */
#define assert_ok(expr) do { \
	int rc_ = (expr); \
	if (rc_ < 0) \
		fail_msg("%s: %d: %s", #expr, rc_, stele_error_last()); \
} while (0)

/* `expr` fails with `code` and a message containing `text`. */
#define assert_err(expr, code, text) do { \
	int rc_ = (expr); \
	if (rc_ != (code) || !strstr(stele_error_last(), (text))) \
		fail_msg("%s: got %d '%s', want %d '%s'", #expr, rc_, \
			 stele_error_last(), (code), (text)); \
} while (0)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
