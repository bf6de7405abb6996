#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ignore.h"
#include "util/error.h"
#include "util/fs.h"

/*
 * Two matchers live here.
 *
 * stele_glob_match() is Go's filepath.Match: a pattern is split into chunks
 * at unbracketed '*', each chunk is matched greedily at the leftmost place
 * that works, and the whole pattern is checked for syntax even when the
 * name fails early, so a malformed pattern is reported whatever the name.
 *
 * .dockerignore patterns go through moby/patternmatcher, which does NOT use
 * filepath.Match to match: it only calls it to reject malformed patterns,
 * then translates the pattern into a Go regexp.  That translation lets
 * regexp syntax through: '^' is an anchor, classes and escapes such as \d,
 * \b or [[:digit:]] keep their regexp meaning, '|' and "{n,m}" stay
 * alternation and repetition, and "**" becomes ".*", which stops at a
 * newline.  Patterns with no wildcard are compared as plain strings,
 * prefixes or suffixes instead.  We follow all of it except alternation,
 * repetition, \p classes, \Q quoting and '*' or '?' inside brackets, which
 * are rejected with STELE_EINVALID rather than matched differently: a file
 * is never silently kept or dropped where Docker would not.  A regexp that
 * Go cannot compile fails in Docker when it is first used; here it fails
 * at parse time.
 */

/* bufio.Scanner's token limit: Docker fails on a longer line. */
#define IGNORE_LINE_MAX 65535
#define RUNE_ERROR 0xFFFDu
/* Matcher states kept on the stack before falling back to the heap. */
#define STACK_STATES 256

enum ptype {
	PT_EXACT,  /* path == pattern */
	PT_PREFIX, /* "lit**": path starts with "lit" */
	PT_SUFFIX, /* "**lit": path ends with "lit"; see pattern_match() */
	PT_REGEXP  /* the token program below */
};

enum tok_kind {
	TOK_LIT,     /* one rune */
	TOK_ONE,     /* '?': [^/] */
	TOK_CLASS,   /* [...], \d and friends */
	TOK_STAR,    /* '*': [^/]* */
	TOK_DIRS,    /* "**" inside a pattern: any directories, or none */
	TOK_ANYSTAR, /* "**" at the end: .* */
	TOK_BOL,     /* '^' or \A: start of the path */
	TOK_EOT,     /* \z: end of the path */
	TOK_WORDB,   /* \b: ASCII word boundary */
	TOK_NWORDB   /* \B: not a word boundary */
};

/* Named sets, as Go's regexp defines them (ASCII only). */
enum set_kind {
	SET_NONE,
	SET_DIGIT,
	SET_PERLSPACE,
	SET_WORD,
	SET_ALNUM,
	SET_ALPHA,
	SET_ASCII,
	SET_BLANK,
	SET_CNTRL,
	SET_GRAPH,
	SET_LOWER,
	SET_PRINT,
	SET_PUNCT,
	SET_SPACE,
	SET_UPPER,
	SET_XDIGIT
};

struct class_item {
	unsigned char set; /* SET_NONE: the range lo..hi */
	unsigned char negated;
	uint32_t lo, hi;
};

struct tok {
	unsigned char kind;
	unsigned char negated; /* TOK_CLASS */
	uint32_t rune;         /* TOK_LIT */
	size_t first, count;   /* TOK_CLASS: items[first .. first+count) */
};

struct ignore_pattern {
	char *text; /* cleaned, without the leading '!'; may hold NULs */
	size_t len;
	int exclusion;
	enum ptype type;
	struct tok *toks;
	size_t ntoks;
	struct class_item *items;
	size_t nitems;
	int has_eot; /* a \z token: a prefix ends differently from its path */
	char needle[16]; /* UTF-8 of literal tokens every match contains */
	size_t needle_len;
};

struct stele_ignore {
	struct ignore_pattern *pats;
	size_t npats, alloc;
};

/* Go's utf8.DecodeRune: an invalid or short sequence is RUNE_ERROR, width 1. */
static uint32_t
utf8_decode(const unsigned char *s, size_t n, size_t *width)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t r;

	*width = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		r = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		r = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		r = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return RUNE_ERROR;
	}
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return RUNE_ERROR;
	r = (r << 6) | (s[1] & 0x3F);
	for (i = 2; i <= need; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return RUNE_ERROR;
		r = (r << 6) | (s[i] & 0x3F);
	}
	*width = need + 1;
	return r;
}

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
	case 0x3000:
		return 1;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

/* strings.TrimSpace: narrows [*a, *b) of s. */
static void
trim_space(const unsigned char *s, size_t *a, size_t *b)
{
	size_t w, start;
	uint32_t r;

	while (*a < *b) {
		r = utf8_decode(s + *a, *b - *a, &w);
		if (!is_space(r))
			break;
		*a += w;
	}
	while (*a < *b) {
		/* utf8.DecodeLastRune: back up to a rune start, at most 4 */
		start = *b - 1;
		while (start > *a && *b - start < 4 && (s[start] & 0xC0) == 0x80)
			start--;
		r = utf8_decode(s + start, *b - start, &w);
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

/* ---- Go's filepath.Match ---- */

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
	r = utf8_decode(c + i, cn - i, &w);
	if (r == RUNE_ERROR && w == 1)
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
				r = utf8_decode(s + si, sn - si, &w);
				si += w;
			}
			ci++;
			negated = ci < cn && (c[ci] == '^' || (bang && c[ci] == '!'));
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
				utf8_decode(s + si, sn - si, &w);
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
		r = utf8_decode(p + pos, n - pos, &w);
		pos += w;
		if (r == '*') {
			if (pos < n && p[pos] == '*') {
				pos++;
				if (pos < n && p[pos] == '/')
					pos++;
				if (pos == n)
					t = t == PT_EXACT ? PT_PREFIX : PT_REGEXP;
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
			utf8_decode(p + pos, n - pos, &w);
			pos += w;
			t = PT_REGEXP;
		}
	}
	return t;
}

struct compiler {
	struct ignore_pattern *pat;
	const unsigned char *p;
	size_t n, pos;
	size_t atoks, aitems;
	const char *why;
};

static int
fail(struct compiler *c, const char *why)
{
	c->why = why;
	return -1;
}

static struct tok *
add_tok(struct compiler *c, enum tok_kind kind)
{
	struct ignore_pattern *pat = c->pat;
	struct tok *t;

	if (pat->ntoks == c->atoks) {
		c->atoks = c->atoks ? 2 * c->atoks : 16;
		pat->toks = stele_xrealloc(pat->toks, c->atoks * sizeof(*t));
	}
	t = &pat->toks[pat->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = (unsigned char)kind;
	return t;
}

static void
add_item(struct compiler *c, enum set_kind set, int negated, uint32_t lo,
	 uint32_t hi)
{
	struct ignore_pattern *pat = c->pat;
	struct class_item *it;

	if (pat->nitems == c->aitems) {
		c->aitems = c->aitems ? 2 * c->aitems : 16;
		pat->items = stele_xrealloc(pat->items, c->aitems * sizeof(*it));
	}
	it = &pat->items[pat->nitems++];
	it->set = (unsigned char)set;
	it->negated = (unsigned char)negated;
	it->lo = lo;
	it->hi = hi;
}

static int
is_alnum(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

static int
unhex(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* \d \s \w and their negations, valid inside and outside classes. */
static enum set_kind
perl_set(unsigned char ch, int *negated)
{
	*negated = ch == 'D' || ch == 'S' || ch == 'W';
	switch (ch) {
	case 'd':
	case 'D':
		return SET_DIGIT;
	case 's':
	case 'S':
		return SET_PERLSPACE;
	case 'w':
	case 'W':
		return SET_WORD;
	default:
		return SET_NONE;
	}
}

/* "\\x{10FFFF}": moby leaves braces unescaped, so this form works too. */
static int
hex_braces(struct compiler *c, uint32_t *out)
{
	size_t i = c->pos + 1, nhex = 0;
	uint32_t r = 0;
	int v;

	for (; i < c->n && c->p[i] != '}'; i++, nhex++) {
		if ((v = unhex(c->p[i])) < 0)
			return fail(c, "invalid escape sequence");
		r = r * 16 + (uint32_t)v;
		if (r > 0x10FFFF)
			return fail(c, "invalid escape sequence");
	}
	if (i >= c->n || nhex == 0)
		return fail(c, "invalid escape sequence");
	c->pos = i + 1;
	*out = r;
	return 0;
}

/*
 * regexp/syntax parseEscape, c->pos just past the backslash: ASCII
 * punctuation is itself, then C escapes, octal and hex.  The characters
 * after "\x" or an octal digit (hex digits, braces) are not rewritten by
 * moby, so the regexp sees them as they are in the pattern.  Anything else fails to compile in Docker.
 */
static int
regex_escape(struct compiler *c, uint32_t *out)
{
	const unsigned char *p = c->p;
	unsigned char ch;
	int k, x, y;
	uint32_t r;

	if (c->pos >= c->n)
		return fail(c, "trailing backslash");
	ch = p[c->pos];
	if (ch >= 0x80)
		return fail(c, "invalid escape sequence");
	c->pos++;
	if (!is_alnum(ch)) {
		*out = ch;
		return 0;
	}
	switch (ch) {
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
		if (c->pos >= c->n || p[c->pos] < '0' || p[c->pos] > '7')
			return fail(c, "backreferences are not supported");
		/* fall through */
	case '0':
		r = (uint32_t)(ch - '0');
		for (k = 1; k < 3 && c->pos < c->n && p[c->pos] >= '0' &&
			    p[c->pos] <= '7'; k++)
			r = r * 8 + (uint32_t)(p[c->pos++] - '0');
		*out = r;
		return 0;
	case 'x':
		if (c->pos < c->n && p[c->pos] == '{')
			return hex_braces(c, out);
		if (c->pos + 2 > c->n || (x = unhex(p[c->pos])) < 0 ||
		    (y = unhex(p[c->pos + 1])) < 0)
			return fail(c, "invalid escape sequence");
		c->pos += 2;
		*out = (uint32_t)(x * 16 + y);
		return 0;
	case 'a':
		*out = '\a';
		return 0;
	case 'f':
		*out = '\f';
		return 0;
	case 'n':
		*out = '\n';
		return 0;
	case 'r':
		*out = '\r';
		return 0;
	case 't':
		*out = '\t';
		return 0;
	case 'v':
		*out = '\v';
		return 0;
	default:
		return fail(c, "invalid or unsupported escape sequence");
	}
}

/* A backslash sequence outside a class: a set or one literal rune. */
static int
escape_atom(struct compiler *c)
{
	enum set_kind set;
	struct tok *t;
	uint32_t r;
	int neg;

	if (c->pos < c->n) {
		switch (c->p[c->pos]) {
		case 'A':
			c->pos++;
			add_tok(c, TOK_BOL);
			return 0;
		case 'z':
			c->pos++;
			add_tok(c, TOK_EOT);
			c->pat->has_eot = 1;
			return 0;
		case 'b':
			c->pos++;
			add_tok(c, TOK_WORDB);
			return 0;
		case 'B':
			c->pos++;
			add_tok(c, TOK_NWORDB);
			return 0;
		case 'p':
		case 'P':
			return fail(c, "unicode classes are not supported");
		default:
			break;
		}
		if ((set = perl_set(c->p[c->pos], &neg)) != SET_NONE) {
			c->pos++;
			t = add_tok(c, TOK_CLASS);
			t->first = c->pat->nitems;
			t->count = 1;
			add_item(c, set, neg, 0, 0);
			return 0;
		}
	}
	if (regex_escape(c, &r) < 0)
		return -1;
	add_tok(c, TOK_LIT)->rune = r;
	return 0;
}

/* One class member or range end, as parseClassChar reads it. */
static int
class_char(struct compiler *c, uint32_t *out)
{
	size_t w;
	uint32_t r;

	if (c->pos >= c->n)
		return fail(c, "missing closing ]");
	r = utf8_decode(c->p + c->pos, c->n - c->pos, &w);
	if (r == '*' || r == '?')
		/* moby rewrites these into "[^/]" inside the class */
		return fail(c, "unescaped '*' or '?' inside [...] "
			       "is mistranslated by Docker");
	if (r == '\\') {
		c->pos++;
		return regex_escape(c, out);
	}
	c->pos += w;
	*out = r;
	return 0;
}

static const struct {
	const char *name;
	enum set_kind set;
} posix_sets[] = {
	{ "alnum", SET_ALNUM }, { "alpha", SET_ALPHA }, { "ascii", SET_ASCII },
	{ "blank", SET_BLANK }, { "cntrl", SET_CNTRL }, { "digit", SET_DIGIT },
	{ "graph", SET_GRAPH }, { "lower", SET_LOWER }, { "print", SET_PRINT },
	{ "punct", SET_PUNCT }, { "space", SET_SPACE }, { "upper", SET_UPPER },
	{ "word", SET_WORD },   { "xdigit", SET_XDIGIT },
};

/*
 * "[:name:]" at c->pos.  Like Go, the closing ":]" is searched for in the
 * rest of the pattern; 1 when a set was added, 0 when '[' is a literal.
 */
static int
named_class(struct compiler *c)
{
	const unsigned char *p = c->p + c->pos, *q;
	size_t n = c->n - c->pos, j, len, i;
	int neg;

	for (j = 2; j + 1 < n; j++)
		if (p[j] == ':' && p[j + 1] == ']')
			break;
	if (j + 1 >= n)
		return 0;
	q = p + 2;
	len = j - 2;
	neg = len > 0 && q[0] == '^';
	if (neg) {
		q++;
		len--;
	}
	for (i = 0; i < sizeof(posix_sets) / sizeof(posix_sets[0]); i++) {
		if (strlen(posix_sets[i].name) == len &&
		    memcmp(posix_sets[i].name, q, len) == 0) {
			add_item(c, posix_sets[i].set, neg, 0, 0);
			c->pos += j + 2;
			return 1;
		}
	}
	return fail(c, "invalid character class");
}

/* A regexp class; c->pos is just past '['. */
static int
parse_class(struct compiler *c)
{
	const unsigned char *p = c->p;
	size_t first_item = c->pat->nitems;
	enum set_kind set;
	struct tok *t;
	int negated = 0, first = 1, neg, k;
	uint32_t lo, hi;

	if (c->pos < c->n && p[c->pos] == '^') {
		negated = 1;
		c->pos++;
	}
	for (;;) {
		if (c->pos >= c->n)
			return fail(c, "missing closing ]");
		if (p[c->pos] == ']' && !first) {
			c->pos++;
			break;
		}
		first = 0;
		if (p[c->pos] == '[' && c->pos + 1 < c->n && p[c->pos + 1] == ':') {
			if ((k = named_class(c)) < 0)
				return -1;
			if (k > 0)
				continue;
		}
		if (p[c->pos] == '\\' && c->pos + 1 < c->n) {
			if (p[c->pos + 1] == 'p' || p[c->pos + 1] == 'P')
				return fail(c, "unicode classes are not supported");
			if ((set = perl_set(p[c->pos + 1], &neg)) != SET_NONE) {
				add_item(c, set, neg, 0, 0);
				c->pos += 2;
				continue;
			}
		}
		if (class_char(c, &lo) < 0)
			return -1;
		hi = lo;
		if (c->pos + 1 < c->n && p[c->pos] == '-' && p[c->pos + 1] != ']') {
			c->pos++;
			if (class_char(c, &hi) < 0)
				return -1;
			if (hi < lo)
				return fail(c, "invalid character class range");
		}
		add_item(c, SET_NONE, 0, lo, hi);
	}
	t = add_tok(c, TOK_CLASS);
	t->negated = (unsigned char)negated;
	t->first = first_item;
	t->count = c->pat->nitems - first_item;
	return 0;
}

/* Does "{...}" at p parse as a regexp repetition (parseRepeat)? */
static int
is_repeat(const unsigned char *p, size_t n)
{
	size_t i = 1, k;
	int part;

	for (part = 0; part < 2; part++) {
		k = i;
		if (i < n && p[i] == '0' && i + 1 < n && p[i + 1] >= '0' &&
		    p[i + 1] <= '9')
			return 0; /* no leading zeros */
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == k && !(part == 1 && i < n && p[i] == '}'))
			return 0;
		if (i < n && p[i] == '}')
			return 1;
		if (part == 1 || i >= n || p[i] != ',')
			return 0;
		i++;
	}
	return 0;
}

static size_t
utf8_encode(uint32_t r, char *out)
{
	if (r < 0x80) {
		out[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		out[0] = (char)(0xC0 | (r >> 6));
		out[1] = (char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		out[0] = (char)(0xE0 | (r >> 12));
		out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		out[2] = (char)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (r >> 18));
	out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
	out[3] = (char)(0x80 | (r & 0x3F));
	return 4;
}

/*
 * The longest run of literal tokens, as UTF-8 bytes: a path (or any of its
 * prefixes) without them cannot match, which spares most "**" patterns the
 * state machine.  Runes that decoding never yields (U+FFFD stands for any
 * invalid byte; surrogates) break a run.
 */
static void
find_needle(struct ignore_pattern *pat)
{
	char run[sizeof(pat->needle)];
	size_t i, len = 0;
	uint32_t r;

	for (i = 0; i <= pat->ntoks; i++) {
		r = i < pat->ntoks && pat->toks[i].kind == TOK_LIT ?
			    pat->toks[i].rune : RUNE_ERROR;
		if (r == RUNE_ERROR || (r >= 0xD800 && r <= 0xDFFF) ||
		    len + 4 > sizeof(run)) {
			if (len > pat->needle_len) {
				memcpy(pat->needle, run, len);
				pat->needle_len = len;
			}
			len = 0;
			if (r == RUNE_ERROR || (r >= 0xD800 && r <= 0xDFFF))
				continue;
		}
		len += utf8_encode(r, run + len);
	}
}

static int
contains(const char *s, size_t n, const char *needle, size_t len)
{
	const char *p = s, *end = s + n;

	while (len <= (size_t)(end - p) &&
	       (p = memchr(p, needle[0], (size_t)(end - p) - len + 1))) {
		if (memcmp(p, needle, len) == 0)
			return 1;
		p++;
	}
	return 0;
}

static int
compile(struct ignore_pattern *pat, const char **why)
{
	struct compiler c = { pat, (const unsigned char *)pat->text, pat->len,
			      0, 0, 0, NULL };
	size_t w;
	uint32_t r;
	int error = 0;

	c.pos = bom_len(c.p, c.n);
	while (!error && c.pos < c.n) {
		r = utf8_decode(c.p + c.pos, c.n - c.pos, &w);
		if (r == '*') {
			c.pos++;
			if (c.pos < c.n && c.p[c.pos] == '*') {
				c.pos++;
				if (c.pos < c.n && c.p[c.pos] == '/')
					c.pos++;
				add_tok(&c, c.pos == c.n ? TOK_ANYSTAR : TOK_DIRS);
			} else {
				add_tok(&c, TOK_STAR);
			}
		} else if (r == '?') {
			c.pos++;
			add_tok(&c, TOK_ONE);
		} else if (r == '\\') {
			c.pos++;
			error = escape_atom(&c);
		} else if (r == '[') {
			c.pos++;
			error = parse_class(&c);
		} else if (r == '^') {
			c.pos++;
			add_tok(&c, TOK_BOL);
		} else if (r == '|') {
			/*
			 * moby's escape bitmap was meant to hold ".+()|{}$",
			 * but the bits for '|', '{' and '}' are shifted out
			 * of a byte, so those reach the regexp unescaped.
			 */
			error = fail(&c, "'|' is a regexp alternation in "
					 "Docker's matcher (write \\| for a "
					 "literal bar)");
		} else if (r == '{' && is_repeat(c.p + c.pos, c.n - c.pos)) {
			error = fail(&c, "'{n,m}' is a regexp repetition in "
					 "Docker's matcher (write \\{ for a "
					 "literal brace)");
		} else {
			c.pos += w;
			add_tok(&c, TOK_LIT)->rune = r;
		}
	}
	*why = c.why;
	if (!error)
		find_needle(pat);
	return error;
}

/* ---- matching ---- */

static int
in_set(enum set_kind set, uint32_t r)
{
	int digit = r >= '0' && r <= '9', lower = r >= 'a' && r <= 'z',
	    upper = r >= 'A' && r <= 'Z';

	switch (set) {
	case SET_DIGIT:
		return digit;
	case SET_PERLSPACE:
		return r == '\t' || r == '\n' || r == '\f' || r == '\r' ||
		       r == ' ';
	case SET_WORD:
		return digit || lower || upper || r == '_';
	case SET_ALNUM:
		return digit || lower || upper;
	case SET_ALPHA:
		return lower || upper;
	case SET_ASCII:
		return r <= 0x7F;
	case SET_BLANK:
		return r == '\t' || r == ' ';
	case SET_CNTRL:
		return r <= 0x1F || r == 0x7F;
	case SET_GRAPH:
		return r >= '!' && r <= '~';
	case SET_LOWER:
		return lower;
	case SET_PRINT:
		return r >= ' ' && r <= '~';
	case SET_PUNCT:
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') ||
		       (r >= '[' && r <= '`') || (r >= '{' && r <= '~');
	case SET_SPACE:
		return (r >= '\t' && r <= '\r') || r == ' ';
	case SET_UPPER:
		return upper;
	case SET_XDIGIT:
		return digit || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F');
	default:
		return 0;
	}
}

static int
class_match(const struct ignore_pattern *pat, const struct tok *t, uint32_t r)
{
	const struct class_item *it;
	size_t i;
	int m;

	for (i = 0; i < t->count; i++) {
		it = &pat->items[t->first + i];
		if (it->set == SET_NONE)
			m = it->lo <= r && r <= it->hi;
		else
			m = in_set((enum set_kind)it->set, r) != it->negated;
		if (m)
			return !t->negated;
	}
	return t->negated;
}

static int
is_word(uint32_t r)
{
	return in_set(SET_WORD, r);
}

/*
 * Follow the empty-width moves, which only go forward.  The assertions see
 * whether this is the start or the end of the path and whether the runes
 * on either side differ in being word characters.
 */
static void
closure(const struct ignore_pattern *pat, unsigned char *st, int at_start,
	int at_end, int boundary)
{
	size_t i;

	for (i = 0; i < pat->ntoks; i++) {
		if (!st[i])
			continue;
		switch (pat->toks[i].kind) {
		case TOK_STAR:
		case TOK_DIRS:
		case TOK_ANYSTAR:
			st[i + 1] = 1;
			break;
		case TOK_BOL:
			if (at_start)
				st[i + 1] = 1;
			break;
		case TOK_EOT:
			if (at_end)
				st[i + 1] = 1;
			break;
		case TOK_WORDB:
			if (boundary)
				st[i + 1] = 1;
			break;
		case TOK_NWORDB:
			if (!boundary)
				st[i + 1] = 1;
			break;
		default:
			break;
		}
	}
}

/* Move every live state over rune r; returns whether any state survives. */
static int
step(const struct ignore_pattern *pat, const unsigned char *cur,
     unsigned char *nxt, uint32_t r)
{
	size_t nt = pat->ntoks, nstates = 2 * (nt + 1), i;
	const struct tok *t;
	int live = 0;

	memset(nxt, 0, nstates);
	for (i = 0; i < nt; i++) {
		t = &pat->toks[i];
		if (t->kind == TOK_DIRS && cur[nt + 1 + i]) {
			if (r != '\n')
				nxt[nt + 1 + i] = 1;
			if (r == '/')
				nxt[i + 1] = 1;
		}
		if (!cur[i])
			continue;
		switch (t->kind) {
		case TOK_LIT:
			if (r == t->rune)
				nxt[i + 1] = 1;
			break;
		case TOK_ONE:
			if (r != '/')
				nxt[i + 1] = 1;
			break;
		case TOK_CLASS:
			if (class_match(pat, t, r))
				nxt[i + 1] = 1;
			break;
		case TOK_STAR:
			if (r != '/')
				nxt[i] = 1;
			break;
		case TOK_ANYSTAR:
			if (r != '\n')
				nxt[i] = 1;
			break;
		case TOK_DIRS:
			if (r != '\n')
				nxt[nt + 1 + i] = 1;
			if (r == '/')
				nxt[i + 1] = 1;
			break;
		default:
			break;
		}
	}
	for (i = 0; i < nstates && !live; i++)
		live = nxt[i];
	return live;
}

/*
 * Whether the states in cur, at position pos, accept the prefix s[0..pos)
 * as a whole string: only a \z needs a second look, as a '/' after the
 * prefix and the end of the string are both non-word characters.
 */
static int
accepts(const struct ignore_pattern *pat, const unsigned char *cur,
	unsigned char *scratch, int at_start, int prev_word)
{
	size_t nstates = 2 * (pat->ntoks + 1);

	if (cur[pat->ntoks] || !pat->has_eot)
		return cur[pat->ntoks];
	memcpy(scratch, cur, nstates);
	closure(pat, scratch, at_start, 1, prev_word);
	return scratch[pat->ntoks];
}

/*
 * The anchored regexp, run as a set of states over the runes of s: state i
 * is "before token i", state nt+1+i is "inside the .* of TOK_DIRS i".
 * With `prefixes`, s[0..j) for each '/' at j is tried in the same pass, for
 * the parent directories.  Linear in the path times the pattern; nothing
 * recurses.
 */
static int
regexp_match(const struct ignore_pattern *pat, const unsigned char *s,
	     size_t n, int prefixes)
{
	unsigned char stackbuf[3 * STACK_STATES], *heap = NULL, *cur, *nxt, *tmp;
	size_t nstates = 2 * (pat->ntoks + 1), pos = 0, w = 0;
	int live = 1, prev_word = 0, next_word, result = 0;
	uint32_t r = 0;

	if (pat->needle_len &&
	    !contains((const char *)s, n, pat->needle, pat->needle_len))
		return 0;
	if (nstates <= STACK_STATES) {
		memset(stackbuf, 0, 3 * nstates);
		cur = stackbuf;
	} else {
		heap = stele_xcalloc(3, nstates);
		cur = heap;
	}
	nxt = cur + nstates;
	if (n > 0)
		r = utf8_decode(s, n, &w);
	next_word = n > 0 && is_word(r);
	cur[0] = 1;
	closure(pat, cur, 1, n == 0, prev_word != next_word);
	while (live && pos < n) {
		if (prefixes && r == '/' &&
		    accepts(pat, cur, nxt + nstates, pos == 0, prev_word)) {
			result = 1;
			break;
		}
		live = step(pat, cur, nxt, r);
		pos += w;
		prev_word = is_word(r);
		if (pos < n)
			r = utf8_decode(s + pos, n - pos, &w);
		next_word = pos < n && is_word(r);
		closure(pat, nxt, 0, pos == n, prev_word != next_word);
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (!result)
		result = live && pos == n && cur[pat->ntoks];
	free(heap);
	return result;
}

static int
pattern_match(const struct ignore_pattern *pat, const char *s, size_t n)
{
	const char *suf;
	size_t k;

	switch (pat->type) {
	case PT_EXACT:
		return n == pat->len && memcmp(s, pat->text, n) == 0;
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
	default:
		return regexp_match(pat, (const unsigned char *)s, n, 0);
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
			m = regexp_match(pat, (const unsigned char *)path, n,
					 prefixes);
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
	free(pat->toks);
	free(pat->items);
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
	size_t a, b, cn;
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
			return stele_error_setc(STELE_EINVALID,
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
	if (glob((const unsigned char *)cl, cn, (const unsigned char *)".", 1,
		 0) < 0) {
		why = "syntax error";
	} else {
		pat.type = detect_type((const unsigned char *)cl, cn);
		if (pat.type == PT_REGEXP)
			compile(&pat, &why);
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
				"%s:%zu: line too long", what, lineno);
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
