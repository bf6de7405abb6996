#include <stdlib.h>
#include <string.h>

#include "builder/heredoc.h"
#include "util/buf.h"
#include "util/fs.h"

/* Go's regexp \s, and unicode.IsSpace on ASCII */
#define IS_RESPACE(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\f' || (c) == '\r')
#define IS_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

static void
xput(struct stele_buf *b, const char *s, size_t n)
{
	if (stele_buf_put(b, s, n) < 0)
		abort();
}

/*
 * NAME as BuildKit's lexer reads it without raw quotes: quotes removed,
 * the escape ('\\', whatever the recipe's escape) quoting the next
 * character.  0 when it is one word (*quoted: a quote was removed), -1
 * when it is not (unquoted space, unterminated quote, empty).
 */
static int
unquote(char **out, int *quoted, const char *s)
{
	struct stele_buf b = STELE_BUF_INIT((size_t)1 << 20);
	char q = 0;

	*quoted = 0;
	for (; *s; s++) {
		if (!q && IS_SPACE(*s))
			break;
		if (!q && (*s == '\'' || *s == '"')) {
			q = *s;
			*quoted = 1;
			continue;
		}
		if (q && *s == q) {
			q = 0;
			continue;
		}
		if (*s == '\\' && q != '\'' && s[1]) {
			/* inside "", only " $ and \ are escaped */
			if (!q || s[1] == '"' || s[1] == '$' || s[1] == '\\')
				s++;
		} else if (*s == '\\' && q != '\'') {
			continue; /* a trailing escape is dropped */
		}
		xput(&b, s, 1);
	}
	if (q || *s || !b.len) {
		stele_buf_release(&b);
		return -1;
	}
	*out = stele_buf_detach(&b);
	return 0;
}

int
stele_heredoc_word(struct stele_heredoc *out, const char *w)
{
	const char *p = w;
	unsigned long fd = 0;
	int chomp = 0, quoted;
	char *name;

	memset(out, 0, sizeof(*out));
	for (; IS_DIGIT(*p); p++)
		fd = fd < 100000 ? fd * 10 + (unsigned long)(*p - '0') : fd;
	if (p[0] != '<' || p[1] != '<')
		return 0;
	p += 2;
	if (*p == '-') {
		chomp = 1;
		p++;
	}
	while (IS_RESPACE(*p))
		p++;
	if (!*p || strchr(p, '<') || unquote(&name, &quoted, p) < 0)
		return 0;
	out->name = name;
	out->chomp = chomp;
	out->expand = !quoted;
	out->fd = (unsigned)fd;
	return 1;
}

/*
 * The end of the `${` at s[i] (after its '}'), or 0 when it has none:
 * BuildKit's lexer then fails, and the line has no heredocs.
 */
static size_t
skip_braces(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
			depth++;
			i++;
		} else if (s[i] == '}' && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

void
stele_heredoc_scan(struct stele_heredoc **out, size_t *n, const char *s)
{
	size_t i = 0, len = strlen(s), start, alloc = 0;
	struct stele_heredoc h;
	char q, *word;

	*out = NULL;
	*n = 0;
	while (i < len) {
		for (; i < len && IS_SPACE(s[i]); i++)
			;
		for (start = i; i < len && !IS_SPACE(s[i]);) {
			if (s[i] == '\\') {
				i += 1 + (i + 1 < len);
			} else if (s[i] == '\'' || s[i] == '"') {
				for (q = s[i++]; i < len && s[i] != q; i++)
					if (q == '"' && s[i] == '\\' &&
					    i + 1 < len)
						i++;
				if (i >= len)
					goto fail; /* unterminated quote */
				i++;
			} else if (s[i] == '$' && i + 1 < len &&
				   s[i + 1] == '{') {
				if (!(i = skip_braces(s, len, i)))
					goto fail;
			} else if (s[i] == '<' && i + 1 < len &&
				   s[i + 1] == '<') {
				for (i += 2; i < len && IS_SPACE(s[i]); i++)
					;
			} else {
				i++;
			}
		}
		word = stele_xstrndup(s + start, i - start);
		if (stele_heredoc_word(&h, word)) {
			if (*n == alloc) {
				alloc = alloc ? alloc * 2 : 2;
				*out = stele_xrealloc(*out,
						      alloc * sizeof(**out));
			}
			(*out)[(*n)++] = h;
		}
		free(word);
	}
	return;
fail:
	while (*n)
		stele_heredoc_release(&(*out)[--*n]);
	free(*out);
	*out = NULL;
}

char *
stele_heredoc_chomp(const char *c)
{
	struct stele_buf b = STELE_BUF_INIT((size_t)-1);
	char *r;
	int bol = 1;

	for (; *c; c++) {
		if (bol && *c == '\t')
			continue;
		bol = *c == '\n';
		xput(&b, c, 1);
	}
	r = stele_buf_detach(&b);
	return r ? r : stele_xstrdup("");
}

void
stele_heredoc_release(struct stele_heredoc *h)
{
	free(h->name);
	free(h->content);
	h->name = h->content = NULL;
}
