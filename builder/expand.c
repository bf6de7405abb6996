#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/expand.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * Word expansion: BuildKit's shell.Lex.ProcessWord()
 * (frontend/dockerfile/shell/lex.go), byte by byte: every character with a
 * meaning is ASCII, and other bytes are copied through unchanged.
 */

#define EXPAND_MAX ((size_t)1024 * 1024)
#define EXPAND_DEPTH 64

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

struct lexer {
	const char *s;
	size_t n, pos;
	char esc;
	stele_lookup_fn lookup;
	void *payload;
	int depth;
	int raw_quotes; /* quotes are plain characters (heredoc contents) */
	char why[512];
};

static int lex_until(struct lexer *lx, struct stele_buf *out, int stop);

static int lex_fail(struct lexer *lx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
lex_fail(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lx->why, sizeof(lx->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int
lex_peek(const struct lexer *lx)
{
	return lx->pos < lx->n ? (unsigned char)lx->s[lx->pos] : -1;
}

static int
lex_next(struct lexer *lx)
{
	int c = lex_peek(lx);

	lx->pos += c >= 0;
	return c;
}

static int
lex_put(struct lexer *lx, struct stele_buf *out, const char *s, size_t n)
{
	if (stele_buf_put(out, s, n) < 0)
		return lex_fail(lx, "%s", stele_error_last());
	return 0;
}

static int
lex_putc(struct lexer *lx, struct stele_buf *out, int c)
{
	char ch = (char)c;

	return lex_put(lx, out, &ch, 1);
}

static const char *
lex_get(const struct lexer *lx, const char *name)
{
	return lx->lookup ? lx->lookup(lx->payload, name) : NULL;
}

/*
 * A name: digits (positional), one special character, or [A-Za-z0-9_]+.
 * Go's lexer also takes non-ASCII letters; stele's names are ASCII.
 */
static void
lex_name(struct lexer *lx, struct stele_buf *name)
{
	size_t start = lx->pos;
	int c = lex_peek(lx), digits = IS_DIGIT(c);

	if (c > 0 && !digits && strchr("@*#?-$!", c))
		lx->pos++;
	else
		while ((c = lex_peek(lx)) >= 0 &&
		       (IS_DIGIT(c) || (!digits && (IS_ALPHA(c) || c == '_'))))
			lx->pos++;
	/* a name is shorter than its word, which is under the cap */
	if (stele_buf_put(name, lx->s + start, lx->pos - start) < 0)
		abort();
}

static int
lex_single(struct lexer *lx, struct stele_buf *out)
{
	int c;

	for (lx->pos++; (c = lex_next(lx)) != '\'';) {
		if (c < 0)
			return lex_fail(lx,
					"unexpected end of statement while "
					"looking for matching single-quote");
		if (lex_putc(lx, out, c) < 0)
			return -1;
	}
	return 0;
}

static int lex_dollar(struct lexer *lx, struct stele_buf *out);

/* Inside "": $ expands, the escape quotes only " $ and itself. */
static int
lex_double(struct lexer *lx, struct stele_buf *out)
{
	int c, next, error;

	for (lx->pos++; (c = lex_peek(lx)) != '"';) {
		if (c < 0)
			return lex_fail(lx,
					"unexpected end of statement while "
					"looking for matching double-quote");
		if (c == '$') {
			error = lex_dollar(lx, out);
		} else {
			lx->pos++;
			next = lex_peek(lx);
			if (c == lx->esc &&
			    (next == '"' || next == '$' || next == lx->esc))
				c = lex_next(lx);
			error = lex_putc(lx, out, c);
		}
		if (error < 0)
			return -1;
	}
	lx->pos++;
	return 0;
}

/* ${name-word} ${name:-word} ${name+word} ${name:+word} ${name?word}... */
static int
lex_modifier(struct lexer *lx, struct stele_buf *out, const char *name, int op,
	     int colon)
{
	struct stele_buf word = STELE_BUF_INIT(EXPAND_MAX);
	const char *v, *w;
	int error = -1, use;

	if (lx->depth >= EXPAND_DEPTH)
		return lex_fail(lx, "substitutions nested too deeply");
	lx->depth++;
	if (lex_until(lx, &word, '}') < 0) {
		if (lex_peek(lx) < 0)
			lex_fail(lx, "syntax error: missing '}'");
		goto out;
	}
	w = stele_buf_cstr(&word);
	v = lex_get(lx, name);
	use = v && !(colon && !*v); /* set, and for ':' also not empty */
	if (op == '?' && !use)
		lex_fail(lx, "%s: %s", name,
			 *w          ? w
				 : v ? "is not allowed to be empty"
				     : "is not allowed to be unset");
	else if (op == '?' || (op == '-' && use))
		error = lex_put(lx, out, v, strlen(v));
	else if (op == '-' || use)
		error = lex_put(lx, out, w, word.len);
	else
		error = 0;
out:
	lx->depth--;
	stele_buf_release(&word);
	return error;
}

static int
lex_dollar(struct lexer *lx, struct stele_buf *out)
{
	struct stele_buf name = STELE_BUF_INIT(lx->n + 1);
	const char *v;
	int c, colon = 0, error = -1;

	lx->pos++;
	if (lex_peek(lx) != '{') {
		lex_name(lx, &name);
		v = name.len ? lex_get(lx, name.ptr) : "$";
		error = v ? lex_put(lx, out, v, strlen(v)) : 0;
		goto out;
	}
	lx->pos++;
	if ((c = lex_peek(lx)) == '{' || c == '}' || c == ':') {
		lex_fail(lx, "syntax error: bad substitution");
		goto out;
	}
	lex_name(lx, &name);
	if ((c = lex_next(lx)) == ':') {
		colon = 1;
		c = lex_next(lx);
	}
	if (c < 0) {
		lex_fail(lx, "syntax error: missing '}'");
	} else if (c == '}' && !colon) {
		v = lex_get(lx, stele_buf_cstr(&name));
		error = v ? lex_put(lx, out, v, strlen(v)) : 0;
	} else if (strchr("+-?", c)) {
		error = lex_modifier(lx, out, stele_buf_cstr(&name), c, colon);
	} else {
		/* also ${v#pat} ${v%pat} ${v/pat/repl}: not in stele's subset */
		lex_fail(lx, "unsupported modifier (%s%c) in substitution",
			 colon ? ":" : "", c);
	}
out:
	stele_buf_release(&name);
	return error;
}

/* Process up to `stop` (-1: the end of the word). */
static int
lex_until(struct lexer *lx, struct stele_buf *out, int stop)
{
	int c, error;

	while ((c = lex_peek(lx)) >= 0 && c != stop) {
		if (c == '$') {
			error = lex_dollar(lx, out);
		} else if (c == '\'' && !lx->raw_quotes) {
			error = lex_single(lx, out);
		} else if (c == '"' && !lx->raw_quotes) {
			error = lex_double(lx, out);
		} else {
			lx->pos++;
			/* the escape quotes the next character; at the end, nothing */
			if (c == lx->esc && (c = lex_next(lx)) < 0)
				break;
			error = lex_putc(lx, out, c);
		}
		if (error < 0)
			return -1;
	}
	if (stop < 0)
		return 0;
	if (c != stop)
		return lex_fail(lx,
				"unexpected end of statement while looking "
				"for matching %c",
				stop);
	lx->pos++;
	return 0;
}

static int
expand(char **out, const char *word, char escape, int raw_quotes,
       stele_lookup_fn lookup, void *payload)
{
	struct stele_buf b = STELE_BUF_INIT(EXPAND_MAX);
	struct lexer lx;
	size_t show;

	*out = NULL;
	memset(&lx, 0, sizeof(lx));
	lx.s = word;
	lx.n = strlen(word);
	lx.esc = escape;
	lx.raw_quotes = raw_quotes;
	lx.lookup = lookup;
	lx.payload = payload;
	if (lex_until(&lx, &b, -1) < 0) {
		stele_buf_release(&b);
		show = lx.n > 128 ? 128 : lx.n;
		return stele_error_setc(STELE_EINVALID,
					"cannot expand '%.*s%s': %s", (int)show,
					word, show < lx.n ? "..." : "", lx.why);
	}
	*out = stele_buf_detach(&b);
	return 0;
}

int
stele_recipe_expand(char **out, const char *word, char escape,
		    stele_lookup_fn lookup, void *payload)
{
	return expand(out, word, escape, 0, lookup, payload);
}

int
stele_recipe_expand_raw(char **out, const char *text, stele_lookup_fn lookup,
			void *payload)
{
	return expand(out, text, '\\', 1, lookup, payload);
}
