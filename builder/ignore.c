#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/glob.h"
#include "builder/ignore.h"
#include "builder/regexp.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/utf8.h"

/*
 * .dockerignore patterns go through moby/patternmatcher, which does NOT use
 * filepath.Match to match: it only calls it to reject malformed patterns
 * (stele_glob_valid), then translates the pattern into a Go regexp
 * (builder/regexp.h).  Patterns with no wildcard are compared as plain
 * strings, prefixes or suffixes instead.  A pattern Docker would match
 * differently is rejected with STELE_EINVALID at parse time.
 */

/* bufio.Scanner's token limit: Docker fails on a longer line. */
#define IGNORE_LINE_MAX 65535

enum ptype {
	PT_EXACT, /* path == pattern */
	PT_PREFIX, /* "lit**": path starts with "lit" */
	PT_SUFFIX, /* "**lit": path ends with "lit"; see pattern_match() */
	PT_REGEXP /* builder/regexp.h */
};

struct ignore_pattern {
	char *text; /* cleaned, without the leading '!'; may hold NULs */
	size_t len;
	int exclusion;
	enum ptype type;
	struct stele_regexp re; /* PT_REGEXP */
};

struct stele_ignore {
	struct ignore_pattern *pats;
	size_t npats, alloc;
};

/* unicode.IsSpace */
static int
is_space(uint32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000: return 1;
	default: return r >= 0x2000 && r <= 0x200A;
	}
}

/* strings.TrimSpace: narrows [*a, *b) of s. */
static void
trim_space(const unsigned char *s, size_t *a, size_t *b)
{
	size_t w, start;
	uint32_t r;

	while (*a < *b) {
		r = stele_utf8_decode(s + *a, *b - *a, &w);
		if (!is_space(r))
			break;
		*a += w;
	}
	while (*a < *b) {
		/* utf8.DecodeLastRune: back up to a rune start, at most 4 */
		start = *b - 1;
		while (start > *a && *b - start < 4 &&
		       (s[start] & 0xC0) == 0x80)
			start--;
		r = stele_utf8_decode(s + start, *b - start, &w);
		if (start + w != *b || !is_space(r))
			break;
		*b = start;
	}
}

/*
 * Go's path.Clean: the shortest equivalent path, "." for nothing.  The
 * result is never longer than the input, so n + 2 bytes always suffice.
 */
static char *
go_clean(const char *s, size_t n, size_t *outlen)
{
	char *out = stele_xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	int rooted = n > 0 && s[0] == '/';

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (s[r] == '/') {
			r++;
		} else if (s[r] == '.' && (r + 1 == n || s[r + 1] == '/')) {
			r++;
		} else if (s[r] == '.' && s[r + 1] == '.' &&
			   (r + 2 == n || s[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && s[r] != '/'; r++)
				out[w++] = s[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	*outlen = w;
	return out;
}

/* ---- moby/patternmatcher's translation ---- */

static size_t
bom_len(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0;
}

/*
 * Pattern.compile's choice of matcher.  text/scanner skips a leading BOM,
 * so the "first character" test does too; the suffix and prefix that are
 * compared later are still cut from the raw pattern, as moby does.
 */
static enum ptype
detect_type(const unsigned char *p, size_t n)
{
	enum ptype t = PT_EXACT;
	size_t pos = bom_len(p, n), w, i;
	uint32_t r;

	for (i = 0; pos < n; i++) {
		r = stele_utf8_decode(p + pos, n - pos, &w);
		pos += w;
		if (r == '*') {
			if (pos < n && p[pos] == '*') {
				pos++;
				if (pos < n && p[pos] == '/')
					pos++;
				if (pos == n)
					t = t == PT_EXACT ? PT_PREFIX
							  : PT_REGEXP;
				else
					t = PT_REGEXP;
				if (i == 0)
					t = PT_SUFFIX;
			} else {
				t = PT_REGEXP;
			}
		} else if (r == '?' || r == '[' || r == ']') {
			t = PT_REGEXP;
		} else if (r == '\\' && pos < n) {
			stele_utf8_decode(p + pos, n - pos, &w);
			pos += w;
			t = PT_REGEXP;
		}
	}
	return t;
}

static int
pattern_match(const struct ignore_pattern *pat, const char *s, size_t n)
{
	const char *suf;
	size_t k;

	switch (pat->type) {
	case PT_EXACT: return n == pat->len && memcmp(s, pat->text, n) == 0;
	case PT_PREFIX:
		k = pat->len - 2;
		return n >= k && memcmp(s, pat->text, k) == 0;
	case PT_SUFFIX:
		suf = pat->text + 2;
		k = pat->len - 2;
		if (n >= k && memcmp(s + n - k, suf, k) == 0)
			return 1;
		/* a suffix "/foo" also matches "foo" itself */
		return k > 0 && suf[0] == '/' && n == k - 1 &&
			memcmp(s, suf + 1, n) == 0;
	case PT_REGEXP:
	default: return stele_regexp_match(&pat->re, s, n, 0);
	}
}

/* Each ancestor of the path: "a", "a/b" for parent "a/b". */
static int
parent_match(const struct ignore_pattern *pat, const char *dir, size_t n)
{
	size_t j;

	for (j = 0; j <= n; j++)
		if ((j == n || dir[j] == '/') && pattern_match(pat, dir, j))
			return 1;
	return 0;
}

int
stele_ignore_match(const struct stele_ignore *ig, const char *path)
{
	const struct ignore_pattern *pat;
	size_t n, k, dlen, i;
	int matched = 0, m, has_parent, prefixes;
	char *dir;

	if (!ig || !path || ig->npats == 0)
		return 0;
	n = strlen(path);
	/* filepath.Dir */
	for (k = n; k > 0 && path[k - 1] != '/'; k--)
		;
	dir = go_clean(path, k, &dlen);
	has_parent = !(dlen == 1 && dir[0] == '.');
	/* in a clean path the ancestors are the prefixes before each '/' */
	prefixes = has_parent && k > 0 && dlen == k - 1 &&
		memcmp(dir, path, dlen) == 0;
	for (i = 0; i < ig->npats; i++) {
		pat = &ig->pats[i];
		/* a pattern that cannot change the answer is skipped */
		if (pat->exclusion != matched)
			continue;
		if (pat->type == PT_REGEXP && (prefixes || !has_parent)) {
			m = stele_regexp_match(&pat->re, path, n, prefixes);
		} else {
			m = pattern_match(pat, path, n);
			if (!m && has_parent)
				m = parent_match(pat, dir, dlen);
		}
		if (m)
			matched = !pat->exclusion;
	}
	free(dir);
	return matched;
}

/* ---- parsing ---- */

static void
pattern_release(struct ignore_pattern *pat)
{
	free(pat->text);
	stele_regexp_release(&pat->re);
}

static int
bad_line(const char *what, size_t lineno, const char *why,
	 const unsigned char *s, size_t n)
{
	return stele_error_setc(STELE_EINVALID, "%s:%zu: %s in pattern '%.*s'",
				what, lineno, why, (int)(n > 200 ? 200 : n),
				(const char *)s);
}

/*
 * ignorefile.ReadAll for one line: a BOM on the first line, a CR and
 * surrounding white space go, '#' lines are comments, and the rest is "!"
 * (if negated) + Clean(pattern) less one leading '/'.  NULL for no pattern.
 */
static char *
readall_line(const unsigned char *s, size_t n, size_t lineno, size_t *len)
{
	size_t a = 0, b, cn, off, w = 0;
	char *buf, *cl;
	int invert;

	if (lineno == 1)
		a = bom_len(s, n);
	if (n > a && s[n - 1] == '\r')
		n--;
	if (n > a && s[a] == '#')
		return NULL;
	b = n;
	trim_space(s, &a, &b);
	if (a == b)
		return NULL;
	invert = s[a] == '!';
	if (invert) {
		a++;
		trim_space(s, &a, &b);
	}
	buf = stele_xmalloc(b - a + 3);
	if (invert)
		buf[w++] = '!';
	if (a < b) {
		cl = go_clean((const char *)s + a, b - a, &cn);
		off = cn > 1 && cl[0] == '/';
		memcpy(buf + w, cl + off, cn - off);
		w += cn - off;
		free(cl);
	}
	*len = w;
	return buf;
}

/*
 * One line, through ReadAll and then PatternMatcher.New, which trims and
 * cleans a second time before it splits off the '!'.
 */
static int
parse_line(struct stele_ignore *ig, const unsigned char *s, size_t n,
	   const char *what, size_t lineno)
{
	struct ignore_pattern pat;
	size_t a, b, cn, bom;
	const char *why = NULL;
	char *buf, *cl;

	if (!(buf = readall_line(s, n, lineno, &b)))
		return 0;
	a = 0;
	trim_space((const unsigned char *)buf, &a, &b);
	if (a == b) {
		free(buf);
		return 0;
	}
	cl = go_clean(buf + a, b - a, &cn);
	free(buf);
	memset(&pat, 0, sizeof(pat));
	if (cl[0] == '!') {
		if (cn == 1) {
			free(cl);
			return stele_error_setc(
				STELE_EINVALID,
				"%s:%zu: illegal exclusion pattern: \"!\"",
				what, lineno);
		}
		memmove(cl, cl + 1, cn);
		cn--;
		pat.exclusion = 1;
	}
	pat.text = cl;
	pat.len = cn;
	/* New() only asks filepath.Match whether the pattern is well formed */
	if (!stele_glob_valid(cl, cn)) {
		why = "syntax error";
	} else {
		pat.type = detect_type((const unsigned char *)cl, cn);
		bom = bom_len((const unsigned char *)cl, cn);
		if (pat.type == PT_REGEXP)
			stele_regexp_compile(&pat.re, cl + bom, cn - bom, &why);
	}
	if (why) {
		pattern_release(&pat);
		return bad_line(what, lineno, why, s, n);
	}
	if (ig->npats == ig->alloc) {
		ig->alloc = ig->alloc ? 2 * ig->alloc : 16;
		ig->pats = stele_xrealloc(ig->pats, ig->alloc * sizeof(pat));
	}
	ig->pats[ig->npats++] = pat;
	return 0;
}

int
stele_ignore_parse(struct stele_ignore **out, const char *data, size_t len,
		   const char *what)
{
	struct stele_ignore *ig;
	const char *nl;
	size_t off, n, next, lineno = 0;
	int error = 0;

	assert(out && (data || len == 0));
	*out = NULL;
	if (!what)
		what = ".dockerignore";
	ig = stele_xcalloc(1, sizeof(*ig));
	for (off = 0; off < len; off = next) {
		nl = memchr(data + off, '\n', len - off);
		n = nl ? (size_t)(nl - (data + off)) : len - off;
		next = off + n + (nl != NULL);
		lineno++;
		if (n > IGNORE_LINE_MAX) {
			error = stele_error_setc(STELE_EINVALID,
						 "%s:%zu: line too long", what,
						 lineno);
			break;
		}
		error = parse_line(ig, (const unsigned char *)data + off, n,
				   what, lineno);
		if (error < 0)
			break;
	}
	if (error < 0) {
		stele_ignore_free(ig);
		return error;
	}
	*out = ig;
	return 0;
}

void
stele_ignore_free(struct stele_ignore *ig)
{
	size_t i;

	if (!ig)
		return;
	for (i = 0; i < ig->npats; i++)
		pattern_release(&ig->pats[i]);
	free(ig->pats);
	free(ig);
}

int
stele_ignore_has_exceptions(const struct stele_ignore *ig)
{
	size_t i;

	for (i = 0; ig && i < ig->npats; i++)
		if (ig->pats[i].exclusion)
			return 1;
	return 0;
}
