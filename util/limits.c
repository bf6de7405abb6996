#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/limits.h"

uint64_t
stele_limits_size(const struct stele_limits *l)
{
	return l && l->max_size ? l->max_size : STELE_LIMIT_SIZE_DEFAULT;
}

uint64_t
stele_limits_entries(const struct stele_limits *l)
{
	return l && l->max_entries ? l->max_entries
				   : STELE_LIMIT_ENTRIES_DEFAULT;
}

uint64_t
stele_limits_name_bytes(const struct stele_limits *l)
{
	uint64_t n = stele_limits_entries(l);

	if (n > UINT64_MAX / STELE_NAME_BYTES_PER_ENTRY)
		return UINT64_MAX;
	return n * STELE_NAME_BYTES_PER_ENTRY;
}

const char *
stele_limits_fmt(char buf[32], uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	int u = -1;
	uint64_t v = bytes;

	while (v && !(v & 1023) && u < 5) {
		v >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, 32, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(buf, 32, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

int
stele_limits_parse_size(uint64_t *out, const char *s)
{
	const char *p = s;
	uint64_t v = 0;
	int shift = 0;

	*out = 0;
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0': break;
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	case 't':
	case 'T': shift = 40; break;
	default: goto bad;
	}
	if (*p && p[1] && strcmp(p + 1, "iB") && strcmp(p + 1, "B"))
		goto bad;
	if (!v || (shift && v > (UINT64_MAX >> shift)))
		goto bad;
	*out = v << shift;
	return 0;
bad:
	return stele_error_setc(
		STELE_EINVALID,
		"invalid size '%s' (a number with an optional K, M, G or T)",
		s);
}
