#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/error.h"
#include "util/time.h"

void
stele_time_format(char out[STELE_TIME_STRLEN], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, STELE_TIME_STRLEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, STELE_TIME_STRLEN, "1970-01-01T00:00:00Z");
}

/* n decimal digits at s, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int
stele_time_parse(int64_t *out, const char *s)
{
	static const char mdays[] = { 31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, leap;
	int64_t era, yoe, doy, doe;
	const char *p;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		goto bad;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		goto bad;
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (mo == 2 && d == 29 && !leap)
		goto bad;
	p = s + 19;
	if (*p == '.' && p[1] >= '0' && p[1] <= '9')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (strcmp(p, "Z"))
		goto bad;
	/* days from the civil date (proleptic Gregorian), no time zone */
	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
bad:
	return stele_error_setc(
		STELE_EINVALID,
		"'%.64s' is not a UTC time like 2026-01-02T03:04:05Z",
		s ? s : "(none)");
}
