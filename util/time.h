#ifndef STELE_UTIL_TIME_H
#define STELE_UTIL_TIME_H

#include <stdint.h>

/*
 * Times as stele writes and reads them: RFC 3339 in UTC,
 * "2026-01-02T03:04:05Z".  Nothing here reads the clock or the time zone.
 */

/* Bytes of a formatted time, with its NUL. */
#define STELE_TIME_STRLEN 32

/*
 * `t` (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ"; a time gmtime cannot
 * represent is written as the epoch, "1970-01-01T00:00:00Z".
 */
void stele_time_format(char out[STELE_TIME_STRLEN], int64_t t);
/*
 * "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (years 0000-9999; the fraction, which
 * OSV and other tools write, is dropped) to Unix seconds.  Anything else,
 * NULL included (a time zone offset, a day past its month's end, a missing
 * 'Z'), is STELE_EINVALID naming the string.
 */
int stele_time_parse(int64_t *out, const char *s);

#endif
