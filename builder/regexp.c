#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "builder/regexp.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/utf8.h"

/*
 * The Go regexp that moby/patternmatcher makes of a .dockerignore pattern,
 * compiled straight from the pattern into a token program and run as a set
 * of states.  The translation lets regexp syntax through: '^' is an anchor,
 * classes and escapes such as \d, \b or [[:digit:]] keep their regexp
 * meaning, '|' and "{n,m}" stay alternation and repetition, and "**" becomes
 * ".*", which stops at a newline.  We follow all of it except alternation,
 * repetition, \p classes, \Q quoting and '*' or '?' inside brackets, which
 * are rejected rather than matched differently: a file is never silently
 * kept or dropped where Docker would not.  A regexp that Go cannot compile
 * fails in Docker when it is first used; here it fails at compile time.
 */

/* Matcher states kept on the stack before falling back to the heap. */
#define STACK_STATES 256

enum tok_kind {
	TOK_LIT, /* one rune */
	TOK_ONE, /* '?': [^/] */
	TOK_CLASS, /* [...], \d and friends */
	TOK_STAR, /* '*': [^/]* */
	TOK_DIRS, /* "**" inside a pattern: any directories, or none */
	TOK_ANYSTAR, /* "**" at the end: .* */
	TOK_BOL, /* '^' or \A: start of the path */
	TOK_EOT, /* \z: end of the path */
	TOK_WORDB, /* \b: ASCII word boundary */
	TOK_NWORDB /* \B: not a word boundary */
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

struct stele_regexp_item {
	unsigned char set; /* SET_NONE: the range lo..hi */
	unsigned char negated;
	uint32_t lo, hi;
};

struct stele_regexp_tok {
	unsigned char kind;
	unsigned char negated; /* TOK_CLASS */
	uint32_t rune; /* TOK_LIT */
	size_t first, count; /* TOK_CLASS: items[first .. first+count) */
};

struct compiler {
	struct stele_regexp *re;
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

static struct stele_regexp_tok *
add_tok(struct compiler *c, enum tok_kind kind)
{
	struct stele_regexp *re = c->re;
	struct stele_regexp_tok *t;

	if (re->ntoks == c->atoks) {
		c->atoks = c->atoks ? 2 * c->atoks : 16;
		re->toks = stele_xrealloc(re->toks, c->atoks * sizeof(*t));
	}
	t = &re->toks[re->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = (unsigned char)kind;
	return t;
}

static void
add_item(struct compiler *c, enum set_kind set, int negated, uint32_t lo,
	 uint32_t hi)
{
	struct stele_regexp *re = c->re;
	struct stele_regexp_item *it;

	if (re->nitems == c->aitems) {
		c->aitems = c->aitems ? 2 * c->aitems : 16;
		re->items = stele_xrealloc(re->items, c->aitems * sizeof(*it));
	}
	it = &re->items[re->nitems++];
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

/* \d \s \w and their negations, valid inside and outside classes. */
static enum set_kind
perl_set(unsigned char ch, int *negated)
{
	*negated = ch == 'D' || ch == 'S' || ch == 'W';
	switch (ch) {
	case 'd':
	case 'D': return SET_DIGIT;
	case 's':
	case 'S': return SET_PERLSPACE;
	case 'w':
	case 'W': return SET_WORD;
	default: return SET_NONE;
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
		if ((v = stele_hex_digit(c->p[i])) < 0)
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
		     p[c->pos] <= '7';
		     k++)
			r = r * 8 + (uint32_t)(p[c->pos++] - '0');
		*out = r;
		return 0;
	case 'x':
		if (c->pos < c->n && p[c->pos] == '{')
			return hex_braces(c, out);
		if (c->pos + 2 > c->n || (x = stele_hex_digit(p[c->pos])) < 0 ||
		    (y = stele_hex_digit(p[c->pos + 1])) < 0)
			return fail(c, "invalid escape sequence");
		c->pos += 2;
		*out = (uint32_t)(x * 16 + y);
		return 0;
	case 'a': *out = '\a'; return 0;
	case 'f': *out = '\f'; return 0;
	case 'n': *out = '\n'; return 0;
	case 'r': *out = '\r'; return 0;
	case 't': *out = '\t'; return 0;
	case 'v': *out = '\v'; return 0;
	default: return fail(c, "invalid or unsupported escape sequence");
	}
}

/* A backslash sequence outside a class: a set or one literal rune. */
static int
escape_atom(struct compiler *c)
{
	enum set_kind set;
	struct stele_regexp_tok *t;
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
			c->re->has_eot = 1;
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
		case 'P': return fail(c, "unicode classes are not supported");
		default: break;
		}
		if ((set = perl_set(c->p[c->pos], &neg)) != SET_NONE) {
			c->pos++;
			t = add_tok(c, TOK_CLASS);
			t->first = c->re->nitems;
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
	r = stele_utf8_decode(c->p + c->pos, c->n - c->pos, &w);
	if (r == '*' || r == '?')
		/* moby rewrites these into "[^/]" inside the class */
		return fail(c,
			    "unescaped '*' or '?' inside [...] "
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
	{ "alnum", SET_ALNUM }, { "alpha", SET_ALPHA },
	{ "ascii", SET_ASCII }, { "blank", SET_BLANK },
	{ "cntrl", SET_CNTRL }, { "digit", SET_DIGIT },
	{ "graph", SET_GRAPH }, { "lower", SET_LOWER },
	{ "print", SET_PRINT }, { "punct", SET_PUNCT },
	{ "space", SET_SPACE }, { "upper", SET_UPPER },
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
	size_t first_item = c->re->nitems;
	enum set_kind set;
	struct stele_regexp_tok *t;
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
		if (p[c->pos] == '[' && c->pos + 1 < c->n &&
		    p[c->pos + 1] == ':') {
			if ((k = named_class(c)) < 0)
				return -1;
			if (k > 0)
				continue;
		}
		if (p[c->pos] == '\\' && c->pos + 1 < c->n) {
			if (p[c->pos + 1] == 'p' || p[c->pos + 1] == 'P')
				return fail(
					c, "unicode classes are not supported");
			if ((set = perl_set(p[c->pos + 1], &neg)) != SET_NONE) {
				add_item(c, set, neg, 0, 0);
				c->pos += 2;
				continue;
			}
		}
		if (class_char(c, &lo) < 0)
			return -1;
		hi = lo;
		if (c->pos + 1 < c->n && p[c->pos] == '-' &&
		    p[c->pos + 1] != ']') {
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
	t->count = c->re->nitems - first_item;
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

/*
 * The longest run of literal tokens, as UTF-8 bytes: a path (or any of its
 * prefixes) without them cannot match, which spares most "**" patterns the
 * state machine.  Runes that decoding never yields (U+FFFD stands for any
 * invalid byte; surrogates) break a run.
 */
static void
find_needle(struct stele_regexp *re)
{
	char run[sizeof(re->needle)];
	size_t i, len = 0;
	uint32_t r;

	for (i = 0; i <= re->ntoks; i++) {
		r = i < re->ntoks && re->toks[i].kind == TOK_LIT
			? re->toks[i].rune
			: STELE_RUNE_ERROR;
		if (r == STELE_RUNE_ERROR || (r >= 0xD800 && r <= 0xDFFF) ||
		    len + 4 > sizeof(run)) {
			if (len > re->needle_len) {
				memcpy(re->needle, run, len);
				re->needle_len = len;
			}
			len = 0;
			if (r == STELE_RUNE_ERROR ||
			    (r >= 0xD800 && r <= 0xDFFF))
				continue;
		}
		len += stele_utf8_encode(r, run + len);
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

int
stele_regexp_compile(struct stele_regexp *re, const char *pattern, size_t len,
		     const char **why)
{
	struct compiler c = { re,  (const unsigned char *)pattern, len, 0, 0, 0,
			      NULL };
	size_t w;
	uint32_t r;
	int error = 0;

	assert(re && (pattern || len == 0) && why);
	memset(re, 0, sizeof(*re));
	while (!error && c.pos < c.n) {
		r = stele_utf8_decode(c.p + c.pos, c.n - c.pos, &w);
		if (r == '*') {
			c.pos++;
			if (c.pos < c.n && c.p[c.pos] == '*') {
				c.pos++;
				if (c.pos < c.n && c.p[c.pos] == '/')
					c.pos++;
				add_tok(&c,
					c.pos == c.n ? TOK_ANYSTAR : TOK_DIRS);
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
			error = fail(&c,
				     "'|' is a regexp alternation in "
				     "Docker's matcher (write \\| for a "
				     "literal bar)");
		} else if (r == '{' && is_repeat(c.p + c.pos, c.n - c.pos)) {
			error = fail(&c,
				     "'{n,m}' is a regexp repetition in "
				     "Docker's matcher (write \\{ for a "
				     "literal brace)");
		} else {
			c.pos += w;
			add_tok(&c, TOK_LIT)->rune = r;
		}
	}
	*why = c.why;
	if (error) {
		stele_regexp_release(re);
		return -1;
	}
	find_needle(re);
	return 0;
}

/* ---- matching ---- */

static int
in_set(enum set_kind set, uint32_t r)
{
	int digit = r >= '0' && r <= '9', lower = r >= 'a' && r <= 'z',
	    upper = r >= 'A' && r <= 'Z';

	switch (set) {
	case SET_DIGIT: return digit;
	case SET_PERLSPACE:
		return r == '\t' || r == '\n' || r == '\f' || r == '\r' ||
			r == ' ';
	case SET_WORD: return digit || lower || upper || r == '_';
	case SET_ALNUM: return digit || lower || upper;
	case SET_ALPHA: return lower || upper;
	case SET_ASCII: return r <= 0x7F;
	case SET_BLANK: return r == '\t' || r == ' ';
	case SET_CNTRL: return r <= 0x1F || r == 0x7F;
	case SET_GRAPH: return r >= '!' && r <= '~';
	case SET_LOWER: return lower;
	case SET_PRINT: return r >= ' ' && r <= '~';
	case SET_PUNCT:
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') ||
			(r >= '[' && r <= '`') || (r >= '{' && r <= '~');
	case SET_SPACE: return (r >= '\t' && r <= '\r') || r == ' ';
	case SET_UPPER: return upper;
	case SET_XDIGIT:
		return digit || (r >= 'a' && r <= 'f') ||
			(r >= 'A' && r <= 'F');
	default: return 0;
	}
}

static int
class_match(const struct stele_regexp *re, const struct stele_regexp_tok *t,
	    uint32_t r)
{
	const struct stele_regexp_item *it;
	size_t i;
	int m;

	for (i = 0; i < t->count; i++) {
		it = &re->items[t->first + i];
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
closure(const struct stele_regexp *re, unsigned char *st, int at_start,
	int at_end, int boundary)
{
	size_t i;

	for (i = 0; i < re->ntoks; i++) {
		if (!st[i])
			continue;
		switch (re->toks[i].kind) {
		case TOK_STAR:
		case TOK_DIRS:
		case TOK_ANYSTAR: st[i + 1] = 1; break;
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
		default: break;
		}
	}
}

/* Move every live state over rune r; returns whether any state survives. */
static int
step(const struct stele_regexp *re, const unsigned char *cur,
     unsigned char *nxt, uint32_t r)
{
	size_t nt = re->ntoks, nstates = 2 * (nt + 1), i;
	const struct stele_regexp_tok *t;
	int live = 0;

	memset(nxt, 0, nstates);
	for (i = 0; i < nt; i++) {
		t = &re->toks[i];
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
			if (class_match(re, t, r))
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
		default: break;
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
accepts(const struct stele_regexp *re, const unsigned char *cur,
	unsigned char *scratch, int at_start, int prev_word)
{
	size_t nstates = 2 * (re->ntoks + 1);

	if (cur[re->ntoks] || !re->has_eot)
		return cur[re->ntoks];
	memcpy(scratch, cur, nstates);
	closure(re, scratch, at_start, 1, prev_word);
	return scratch[re->ntoks];
}

/*
 * The anchored regexp, run as a set of states over the runes of s: state i
 * is "before token i", state nt+1+i is "inside the .* of TOK_DIRS i".
 * With `prefixes`, s[0..j) for each '/' at j is tried in the same pass, for
 * the parent directories.  Linear in the path times the pattern; nothing
 * recurses.
 */
int
stele_regexp_match(const struct stele_regexp *re, const char *str, size_t n,
		   int prefixes)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char stackbuf[3 * STACK_STATES], *heap = NULL, *cur, *nxt,
						  *tmp;
	size_t nstates = 2 * (re->ntoks + 1), pos = 0, w = 0;
	int live = 1, prev_word = 0, next_word, result = 0;
	uint32_t r = 0;

	if (re->needle_len &&
	    !contains((const char *)s, n, re->needle, re->needle_len))
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
		r = stele_utf8_decode(s, n, &w);
	next_word = n > 0 && is_word(r);
	cur[0] = 1;
	closure(re, cur, 1, n == 0, prev_word != next_word);
	while (live && pos < n) {
		if (prefixes && r == '/' &&
		    accepts(re, cur, nxt + nstates, pos == 0, prev_word)) {
			result = 1;
			break;
		}
		live = step(re, cur, nxt, r);
		pos += w;
		prev_word = is_word(r);
		if (pos < n)
			r = stele_utf8_decode(s + pos, n - pos, &w);
		next_word = pos < n && is_word(r);
		closure(re, nxt, 0, pos == n, prev_word != next_word);
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (!result)
		result = live && pos == n && cur[re->ntoks];
	free(heap);
	return result;
}

void
stele_regexp_release(struct stele_regexp *re)
{
	if (!re)
		return;
	free(re->toks);
	free(re->items);
	memset(re, 0, sizeof(*re));
}
