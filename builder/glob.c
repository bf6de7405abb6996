#include <assert.h>
#include <string.h>

#include "builder/glob.h"
#include "util/utf8.h"

/*
 * Go's filepath.Match: a pattern is split into chunks at unbracketed '*',
 * each chunk is matched greedily at the leftmost place that works, and the
 * whole pattern is checked for syntax even when the name fails early, so a
 * malformed pattern is reported whatever the name.
 */

/* getEsc: one possibly escaped character of a class. */
static int
get_esc(const unsigned char *c, size_t cn, size_t *ci, uint32_t *out)
{
	size_t i = *ci, w;
	uint32_t r;

	if (i >= cn || c[i] == '-' || c[i] == ']')
		return -1;
	if (c[i] == '\\' && ++i >= cn)
		return -1;
	r = stele_utf8_decode(c + i, cn - i, &w);
	if (r == STELE_RUNE_ERROR && w == 1)
		return -1;
	i += w;
	if (i >= cn)
		return -1;
	*out = r;
	*ci = i;
	return 0;
}

/*
 * matchChunk: does chunk match the start of s?  1 with *used bytes of s
 * consumed, 0 no, -1 malformed.  After a mismatch the chunk is still
 * parsed to the end so that syntax errors are always found.
 */
static int
match_chunk(const unsigned char *c, size_t cn, const unsigned char *s,
	    size_t sn, int bang, size_t *used)
{
	size_t ci = 0, si = 0, w;
	int failed = 0, negated, match, nrange;
	uint32_t r, lo, hi;

	while (ci < cn) {
		if (si == sn)
			failed = 1;
		switch (c[ci]) {
		case '[':
			r = 0;
			if (!failed) {
				r = stele_utf8_decode(s + si, sn - si, &w);
				si += w;
			}
			ci++;
			negated = ci < cn &&
				(c[ci] == '^' || (bang && c[ci] == '!'));
			if (negated)
				ci++;
			match = 0;
			nrange = 0;
			for (;;) {
				if (ci < cn && c[ci] == ']' && nrange > 0) {
					ci++;
					break;
				}
				if (get_esc(c, cn, &ci, &lo) < 0)
					return -1;
				hi = lo;
				if (c[ci] == '-') {
					ci++;
					if (get_esc(c, cn, &ci, &hi) < 0)
						return -1;
				}
				if (lo <= r && r <= hi)
					match = 1;
				nrange++;
			}
			if (match == negated)
				failed = 1;
			break;
		case '?':
			if (!failed) {
				if (s[si] == '/')
					failed = 1;
				stele_utf8_decode(s + si, sn - si, &w);
				si += w;
			}
			ci++;
			break;
		case '\\':
			if (++ci == cn)
				return -1;
			/* fall through */
		default:
			if (!failed) {
				if (c[ci] != s[si])
					failed = 1;
				si++;
			}
			ci++;
			break;
		}
	}
	if (failed)
		return 0;
	*used = si;
	return 1;
}

/* scanChunk: the next run of non-'*' pattern, after any leading stars. */
static void
scan_chunk(const unsigned char **p, size_t *pn, int *star,
	   const unsigned char **chunk, size_t *cn)
{
	const unsigned char *s = *p;
	size_t n = *pn, i;
	int inrange = 0;

	*star = 0;
	while (n > 0 && *s == '*') {
		s++;
		n--;
		*star = 1;
	}
	for (i = 0; i < n && (s[i] != '*' || inrange); i++) {
		if (s[i] == '\\') {
			if (i + 1 < n)
				i++;
		} else if (s[i] == '[') {
			inrange = 1;
		} else if (s[i] == ']') {
			inrange = 0;
		}
	}
	*chunk = s;
	*cn = i;
	*p = s + i;
	*pn = n - i;
}

static int
glob(const unsigned char *p, size_t pn, const unsigned char *s, size_t sn,
     int bang)
{
	const unsigned char *chunk;
	size_t cn, used, i;
	int star, r, found;

	while (pn > 0) {
		scan_chunk(&p, &pn, &star, &chunk, &cn);
		if (star && cn == 0)
			return memchr(s, '/', sn) == NULL;
		r = match_chunk(chunk, cn, s, sn, bang, &used);
		/* the last chunk must use up the name */
		if (r == 1 && (used == sn || pn > 0)) {
			s += used;
			sn -= used;
			continue;
		}
		if (r < 0)
			return -1;
		found = 0;
		for (i = 0; star && !found && i < sn && s[i] != '/'; i++) {
			r = match_chunk(chunk, cn, s + i + 1, sn - i - 1, bang,
					&used);
			if (r < 0)
				return -1;
			if (r == 1 && (pn > 0 || used == sn - i - 1)) {
				s += i + 1 + used;
				sn -= i + 1 + used;
				found = 1;
			}
		}
		if (found)
			continue;
		/* a miss is only reported for a well-formed pattern */
		while (pn > 0) {
			scan_chunk(&p, &pn, &star, &chunk, &cn);
			if (match_chunk(chunk, cn, s, 0, bang, &used) < 0)
				return -1;
		}
		return 0;
	}
	return sn == 0;
}

int
stele_glob_match(const char *pattern, const char *name)
{
	assert(pattern && name);
	return glob((const unsigned char *)pattern, strlen(pattern),
		    (const unsigned char *)name, strlen(name), 1);
}

int
stele_glob_has_meta(const char *s)
{
	assert(s);
	return strpbrk(s, "*?[") != NULL;
}

int
stele_glob_valid(const char *pattern, size_t len)
{
	assert(pattern || len == 0);
	return glob((const unsigned char *)pattern, len,
		    (const unsigned char *)".", 1, 0) >= 0;
}
