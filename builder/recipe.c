#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "builder/heredoc.h"
#include "builder/recipe.h"
#include "builder/values.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

/*
 * The parser follows BuildKit's frontend/dockerfile/parser (line joining,
 * directives, flags, word splitting) and instructions/parse.go (argument
 * checks); the expander (builder/expand.c) follows
 * frontend/dockerfile/shell/lex.go.  Where those work rune by rune, this
 * works byte by byte: every character with a meaning is ASCII, and other
 * bytes are copied through unchanged.
 */

#define RECIPE_MAX ((size_t)1024 * 1024)
#define RECIPE_LINE_MAX ((size_t)64 * 1024)

/* Go's unicode.IsSpace on ASCII, BuildKit's reWhitespace, Go regexp's \s */
#define IS_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define IS_HSPACE(c) (IS_SPACE(c) && (c) != '\n')
#define IS_RESPACE(c) (IS_SPACE(c) && (c) != '\v')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define TO_LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 'a' : (c))

/*
 * How arguments are split (BuildKit's line parsers): 'w' on whitespace,
 * quotes meaning nothing; 'q' into words that keep their quotes; 'l' a JSON
 * array, else 'w'; 'j' a JSON array, else the whole text; 'r' the whole
 * text; 'h' (HEALTHCHECK) a first word, then 'j'; 'o' (ONBUILD) an
 * instruction.  `min` arguments are required; `one`: exactly one.
 */
struct keyword {
	const char *name;
	int kind; /* enum stele_instr_kind */
	char shape, min, one;
	const char *flags[8]; /* "?name": boolean; "*name": repeatable */
};

static const struct keyword keywords[] = {
	{ "FROM", STELE_I_FROM, 'w', 0, 0, { "platform" } },
	{ "ARG", STELE_I_ARG, 'q', 1, 0, { NULL } },
	{ "ENV", STELE_I_ENV, 'q', 1, 0, { NULL } },
	{ "LABEL", STELE_I_LABEL, 'q', 1, 0, { NULL } },
	{ "WORKDIR", STELE_I_WORKDIR, 'r', 1, 1, { NULL } },
	{ "USER", STELE_I_USER, 'r', 1, 1, { NULL } },
	{ "COPY",
	  STELE_I_COPY,
	  'l',
	  2,
	  0,
	  { "from", "chown", "chmod", "?link", "*exclude", "?parents" } },
	{ "ADD",
	  STELE_I_ADD,
	  'l',
	  2,
	  0,
	  { "chown", "chmod", "?link", "?unpack", "checksum", "?keep-git-dir",
	    "*exclude" } },
	{ "RUN", STELE_I_RUN, 'j', 1, 0, { "network", "security", "*mount" } },
	{ "ENTRYPOINT", STELE_I_ENTRYPOINT, 'j', 1, 0, { NULL } },
	{ "CMD", STELE_I_CMD, 'j', 1, 0, { NULL } },
	{ "EXPOSE", STELE_I_EXPOSE, 'w', 1, 0, { NULL } },
	{ "STOPSIGNAL", STELE_I_STOPSIGNAL, 'r', 1, 1, { NULL } },
	{ "SHELL", STELE_I_SHELL, 'j', 1, 0, { NULL } },
	{ "VOLUME", STELE_I_VOLUME, 'l', 1, 0, { NULL } },
	{ "HEALTHCHECK",
	  STELE_I_HEALTHCHECK,
	  'h',
	  1,
	  0,
	  { "interval", "timeout", "start-period", "start-interval",
	    "retries" } },
	{ "ONBUILD", STELE_I_ONBUILD, 'o', 1, 0, { NULL } },
	{ "MAINTAINER", STELE_I_MAINTAINER, 'r', 1, 1, { NULL } },
};

struct parser {
	struct stele_recipe *r;
	size_t alloc; /* of r->instrs */
	int dir_done; /* directives are only read before anything else */
	int dir_seen; /* bit per directive name */
	int seen_from;
	int trigger; /* parsing an ONBUILD trigger from a base image */
	int syntax; /* BuildKit's parser only (stele_recipe_parse_syntax) */
};

struct strv {
	char **v;
	size_t n;
};

int
stele_recipe_error(const struct stele_recipe *r, int line, const char *kw,
		   const char *fmt, ...)
{
	char msg[STELE_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (kw)
		return stele_error_setc(STELE_EINVALID, "%s:%d: %s: %s",
					r->path, line, kw, msg);
	return stele_error_setc(STELE_EINVALID, "%s:%d: %s", r->path, line,
				msg);
}

/* The parser's short names for it. */
#define perr stele_recipe_error
#define ierr(p, in, ...) perr((p)->r, (in)->line, (in)->keyword, __VA_ARGS__)

/* Case-insensitive ASCII comparison of s[0..n) with a NUL-terminated word. */
static int
ascii_ieq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!word[i] || TO_LOWER(s[i]) != TO_LOWER(word[i]))
			return 0;
	return word[n] == '\0';
}

/* Appends that cannot exceed the cap by construction; OOM is fatal. */
static void
xput(struct stele_buf *b, const char *s, size_t n)
{
	if (stele_buf_put(b, s, n) < 0)
		abort();
}

static void
xputc(struct stele_buf *b, char c)
{
	xput(b, &c, 1);
}

static void
strv_push(struct strv *sv, char *s)
{
	stele_strv_take(&sv->v, &sv->n, s);
}

static void
strv_release(struct strv *sv)
{
	stele_strv_free(sv->v, sv->n);
	sv->v = NULL;
	sv->n = 0;
}

static void
ltrim(const char **s, size_t *n)
{
	while (*n && IS_SPACE(**s)) {
		(*s)++;
		(*n)--;
	}
}

/* reWhitespace.Split(s, -1) on trimmed text: quotes mean nothing here. */
static void
split_ws(struct strv *out, const char *s, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && IS_HSPACE(s[i]))
			i++;
		for (start = i; i < n && !IS_HSPACE(s[i]); i++)
			;
		if (i > start)
			strv_push(out, stele_xstrndup(s + start, i - start));
	}
}

static void
word_end(struct strv *out, struct stele_buf *w, int *blank_ok)
{
	if (*blank_ok || w->len)
		strv_push(out, stele_xstrndup(stele_buf_cstr(w), w->len));
	stele_buf_clear(w);
	*blank_ok = 0;
}

/*
 * BuildKit's parseWords(): split on unquoted whitespace, keeping quotes and
 * escapes; only a trailing escape is dropped.
 */
static void
parse_words(struct strv *out, const char *s, size_t n, char esc)
{
	struct stele_buf w = STELE_BUF_INIT(RECIPE_MAX);
	int in_word = 0, blank_ok = 0;
	char c, quote = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (!in_word && IS_SPACE(c))
			continue;
		in_word = 1;
		if (!quote) {
			if (IS_SPACE(c)) {
				word_end(out, &w, &blank_ok);
				in_word = 0;
				continue;
			}
			if (c == '\'' || c == '"') {
				quote = c;
				blank_ok = 1;
			} else if (c == esc) {
				if (i + 1 == n)
					continue;
				xputc(&w, c);
				c = s[++i];
			}
		} else if (c == quote) {
			quote = 0;
		} else if (c == esc && quote != '\'') {
			if (i + 1 == n) {
				quote = 0;
				continue;
			}
			xputc(&w, c);
			c = s[++i];
		}
		xputc(&w, c);
	}
	if (in_word)
		word_end(out, &w, &blank_ok);
	stele_buf_release(&w);
}

/*
 * BuildKit's extractBuilderFlags(): leading words that start with "--",
 * quotes removed and escapes applied; a bare "--" ends them.  Returns the
 * offset of the arguments.
 */
static size_t
extract_flags(struct strv *out, const char *s, size_t n, char esc)
{
	struct stele_buf w = STELE_BUF_INIT(RECIPE_MAX);
	int in_word = 0, blank_ok = 0;
	char c, quote = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (!in_word) {
			if (IS_SPACE(c))
				continue;
			if (c != '-' || i + 1 == n || s[i + 1] != '-')
				break;
			in_word = 1;
		}
		if (!quote && IS_SPACE(c)) {
			in_word = 0;
			if (w.len == 2 && !memcmp(w.ptr, "--", 2))
				break;
			word_end(out, &w, &blank_ok);
			continue;
		}
		if (!quote && (c == '\'' || c == '"')) {
			quote = c;
			blank_ok = 1;
			continue;
		}
		if (quote && c == quote) {
			quote = 0;
			continue;
		}
		if (c == esc) {
			if (i + 1 == n) {
				quote = 0;
				continue;
			}
			c = s[++i];
		}
		xputc(&w, c);
	}
	if (in_word && !(w.len == 2 && !memcmp(w.ptr, "--", 2)))
		word_end(out, &w, &blank_ok);
	stele_buf_release(&w);
	return i;
}

/*
 * BuildKit's BFlags: `--name=value`; a boolean also `--name` alone and
 * true/false in any case (stored as "true"/"false"); a repeatable flag
 * may come again; any other twice is an error.
 */
static int
check_flags(const struct parser *p, struct stele_instr *in,
	    const struct keyword *kw, struct strv *words)
{
	const char *name, *eq, *spec = NULL, *v;
	size_t i, j, len;
	char type;

	in->flags = stele_xcalloc(words->n, sizeof(*in->flags));
	for (i = 0; i < words->n; i++) {
		name = words->v[i] + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (p->syntax) {
			in->flags[in->nflags].word = stele_xstrdup(words->v[i]);
			in->flags[in->nflags].name = stele_xstrndup(name, len);
			in->flags[in->nflags++].value =
				stele_xstrdup(eq ? eq + 1 : "");
			continue;
		}
		for (j = 0, spec = NULL; kw->flags[j] && !spec; j++) {
			const char *f = kw->flags[j] +
				(kw->flags[j][0] == '?' ||
				 kw->flags[j][0] == '*');

			if (strlen(f) == len && !memcmp(f, name, len))
				spec = kw->flags[j];
		}
		if (!spec)
			return ierr(p, in, "unknown flag '--%.*s'", (int)len,
				    name);
		type = spec[0] == '?' || spec[0] == '*' ? spec[0] : 's';
		for (j = 0; j < in->nflags && type != '*'; j++)
			if (!strncmp(in->flags[j].name, name, len) &&
			    !in->flags[j].name[len])
				return ierr(p, in, "duplicate flag '--%.*s'",
					    (int)len, name);
		if ((!eq && type != '?') || (eq && type == '?' && !eq[1]))
			return ierr(p, in, "missing a value on flag '--%.*s'",
				    (int)len, name);
		v = eq ? eq + 1 : "true";
		if (type == '?' && ascii_ieq(v, strlen(v), "true"))
			v = "true";
		else if (type == '?' && ascii_ieq(v, strlen(v), "false"))
			v = "false";
		else if (type == '?')
			return ierr(p, in,
				    "expecting boolean value for flag "
				    "'--%.*s', not: %s",
				    (int)len, name, v);
		in->flags[in->nflags].word = stele_xstrdup(words->v[i]);
		in->flags[in->nflags].name = stele_xstrndup(name, len);
		in->flags[in->nflags++].value = stele_xstrdup(v);
	}
	return 0;
}

/*
 * BuildKit's parseJSON(): 1 when `s` is a JSON array of strings (exec
 * form), 0 when it is not JSON at all (shell form); an array holding
 * anything but strings is an error.
 */
static int
parse_json(const struct parser *p, struct stele_instr *in, const char *text,
	   struct strv *out)
{
	const char *why;
	json_error_t jerr;
	json_t *v, *e;
	size_t i;

	if (text[0] != '[' ||
	    !(v = json_loads(text, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
			     &jerr)))
		return 0;
	for (i = 0; i < json_array_size(v); i++) {
		e = json_array_get(v, i);
		why = !json_is_string(e)
			? "when using JSON array syntax, "
			  "arrays must be comprised of strings only"
			: memchr(json_string_value(e), '\0',
				 json_string_length(e))
			? "NUL character in JSON string"
			: NULL;
		if (why) {
			json_decref(v);
			strv_release(out);
			return ierr(p, in, "%s", why);
		}
		strv_push(out, stele_xstrdup(json_string_value(e)));
	}
	json_decref(v);
	return 1;
}

/*
 * RUN --security: BuildKit's values are sandbox (the default, what stele
 * always does) and insecure, which stele does not grant.
 */
static int
check_security(const struct parser *p, const struct stele_instr *in)
{
	const char *v = stele_instr_flag(in, "security");

	if (!v || !strcmp(v, "sandbox"))
		return 0;
	if (!strcmp(v, "insecure"))
		return ierr(p, in,
			    "--security=insecure is not supported: "
			    "steps run with Docker's default capabilities and "
			    "no new privileges, never privileged");
	return ierr(p, in, "security '%s' is not valid (sandbox or insecure)",
		    v);
}

/* RUN --mount: each one as BuildKit reads it (builder/values.h). */
static int
check_mounts(const struct parser *p, const struct stele_instr *in)
{
	struct stele_mount m;
	const char *v;
	char why[256];
	size_t i;

	for (i = 0; (v = stele_instr_flag_nth(in, "mount", i)); i++) {
		if (stele_value_mount(&m, v, why, sizeof(why)) < 0)
			return ierr(p, in, "--mount=%s: %s", v, why);
		stele_mount_release(&m);
	}
	return 0;
}

/* BuildKit's parseSourcesAndDest: files are written, never heredocs. */
static int
check_heredoc_dest(const struct parser *p, const struct stele_instr *in)
{
	struct stele_heredoc h;

	if (!stele_heredoc_word(&h, in->args[in->nargs - 1]))
		return 0;
	stele_heredoc_release(&h);
	return ierr(p, in, "%s cannot accept a heredoc as a destination",
		    in->keyword);
}

/* BuildKit lowercases the name, then wants ^[a-z][a-z0-9-_.]*$ */
static int
check_stage_name(char *name)
{
	char *c;

	for (c = name; *c; c++)
		if (!IS_ALPHA(*c) &&
		    (c == name ||
		     (!IS_DIGIT(*c) && *c != '-' && *c != '_' && *c != '.')))
			return -1;
	for (c = name; *c; c++)
		*c = (char)TO_LOWER(*c);
	return *name ? 0 : -1;
}

static void
pair_push(struct stele_instr *in, size_t *alloc, char *key, char *value)
{
	if (in->npairs == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 4;
		in->pairs =
			stele_xrealloc(in->pairs, *alloc * sizeof(*in->pairs));
	}
	in->pairs[in->npairs].key = key;
	in->pairs[in->npairs++].value = value;
}

/*
 * ARG name[=default]..., and ENV and LABEL (BuildKit's parseNameVal):
 * key=value..., or the legacy `key value with spaces` when the first word
 * has no '='.  Each word is split at its first '='.
 */
static int
parse_pairs(const struct parser *p, struct stele_instr *in)
{
	const char *s = in->raw, *a;
	size_t i, k, alloc = 0;
	char *eq;

	if (in->kind != STELE_I_ARG && !strchr(in->args[0], '=')) {
		for (k = 0; s[k] && !IS_HSPACE(s[k]); k++)
			;
		for (i = k; s[i] && IS_HSPACE(s[i]); i++)
			;
		if (!s[i])
			return ierr(p, in, "must have two arguments");
		pair_push(in, &alloc, stele_xstrndup(s, k),
			  stele_xstrdup(s + i));
		return 0;
	}
	for (i = 0; i < in->nargs; i++) {
		a = in->args[i];
		if (!(eq = strchr(a, '=')) && in->kind != STELE_I_ARG)
			return ierr(p, in,
				    "syntax error - can't find = in '%s'."
				    " Must be of the form: name=value",
				    a);
		if (eq == a && !p->syntax)
			return ierr(p, in, "names can not be blank");
		pair_push(in, &alloc,
			  eq ? stele_xstrndup(a, (size_t)(eq - a))
			     : stele_xstrdup(a),
			  eq ? stele_xstrdup(eq + 1) : NULL);
	}
	return 0;
}

/* BuildKit's parseVolume: each path trimmed, none empty. */
static int
check_volumes(const struct parser *p, struct stele_instr *in)
{
	size_t i, n;
	char *v, *t;

	for (i = 0; i < in->nargs; i++) {
		v = in->args[i];
		for (t = v; IS_SPACE(*t); t++)
			;
		memmove(v, t, strlen(t) + 1);
		for (n = strlen(v); n && IS_SPACE(v[n - 1]); n--)
			v[n - 1] = '\0';
		if (!*v)
			return ierr(p, in,
				    "VOLUME specified can not be an "
				    "empty string");
	}
	return 0;
}

/*
 * BuildKit's parseHealthcheck: NONE takes nothing (and its flags are not
 * read); CMD needs a command; durations are Go durations, 0 or at least
 * 1ms; retries a non-negative 32-bit integer.
 */
static int
check_health(const struct parser *p, struct stele_instr *in)
{
	static const char *const names[] = { "interval", "timeout",
					     "start-period", "start-interval",
					     "retries" };
	const char *v, *why;
	int64_t d;
	size_t f;

	if (!strcmp(in->args[0], "NONE"))
		return in->nargs == 1
			? 0
			: ierr(p, in, "HEALTHCHECK NONE takes no arguments");
	if (strcmp(in->args[0], "CMD"))
		return ierr(p, in, "unknown type '%s' in HEALTHCHECK (try CMD)",
			    in->args[0]);
	if (in->nargs < 2)
		return ierr(p, in, "missing command after HEALTHCHECK CMD");
	for (f = 0; f < STELE_HEALTH_NFIELDS; f++) {
		if (!(v = stele_instr_flag(in, names[f])) || !*v)
			continue;
		if (f == STELE_HEALTH_RETRIES) {
			if (stele_value_int32(&d, v, &why) < 0)
				return ierr(p, in, "invalid --retries '%s': %s",
					    v, why);
			if (d < 0)
				return ierr(p, in,
					    "--retries cannot be negative"
					    " (%lld)",
					    (long long)d);
		} else {
			if (stele_value_duration(&d, v, &why) < 0)
				return ierr(p, in, "invalid --%s '%s': %s",
					    names[f], v, why);
			if (d != 0 && d < 1000000)
				return ierr(p, in,
					    "--%s cannot be less than "
					    "1ms",
					    names[f]);
		}
		in->health[f] = d;
	}
	return 0;
}

static const struct keyword *
keyword_find(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (ascii_ieq(s, n, keywords[i].name))
			return &keywords[i];
	return NULL;
}

/*
 * HEALTHCHECK's first word is its type, the rest a command in exec or
 * shell form (BuildKit's parseHealthConfig, then parseMaybeJSON).
 */
static int
split_health(const struct parser *p, struct stele_instr *in, struct strv *args)
{
	const char *s = in->raw, *rest;
	size_t k, i;
	char *typ;
	int json;

	for (k = 0; s[k] && !IS_SPACE(s[k]); k++)
		;
	if (!k)
		return 0;
	typ = stele_xstrndup(s, k);
	/* the type is upper-cased by BuildKit's instruction parser */
	for (i = 0; typ[i] && !p->syntax; i++)
		typ[i] = (char)(typ[i] >= 'a' && typ[i] <= 'z'
					? typ[i] - 'a' + 'A'
					: typ[i]);
	strv_push(args, typ);
	for (rest = s + k; IS_SPACE(*rest); rest++)
		;
	if ((json = parse_json(p, in, rest, args)) < 0)
		return json;
	in->json_form = json;
	if (!json && *rest)
		strv_push(args, stele_xstrdup(rest));
	return 0;
}

static int parse_one(struct parser *p, struct stele_instr *in, const char *s,
		     size_t n, int line);

/*
 * ONBUILD's trigger is an instruction of its own, checked now (BuildKit
 * checks it only when a child image runs it; a trigger that can never run
 * is better refused where it is written).
 */
static int
parse_onbuild(struct parser *p, struct stele_instr *in)
{
	const struct keyword *kw;
	size_t k;

	if (!in->raw[0])
		return 0; /* syntax only: `ONBUILD` alone */
	for (k = 0; in->raw[k] && !IS_HSPACE(in->raw[k]); k++)
		;
	kw = keyword_find(in->raw, k);
	if (p->syntax)
		goto sub;
	if (kw && kw->kind == STELE_I_ONBUILD)
		return ierr(p, in,
			    "chaining ONBUILD via `ONBUILD ONBUILD` "
			    "isn't allowed");
	if (kw && (kw->kind == STELE_I_FROM || kw->kind == STELE_I_MAINTAINER))
		return ierr(p, in, "%s isn't allowed as an ONBUILD trigger",
			    kw->name);
sub:
	in->sub = stele_xcalloc(1, sizeof(*in->sub));
	return parse_one(p, in->sub, in->raw, strlen(in->raw), in->line);
}

static int
parse_args(struct parser *p, struct stele_instr *in, const struct keyword *kw)
{
	struct strv args = { NULL, 0 };
	size_t n = strlen(in->raw);
	int k = in->kind, error = 0;

	if ((kw->shape == 'l' || kw->shape == 'j') &&
	    (error = parse_json(p, in, in->raw, &args)) < 0)
		return error;
	in->json_form = error;
	if (kw->shape == 'h' && (error = split_health(p, in, &args)) < 0)
		return error;
	if (kw->shape == 'w' || (kw->shape == 'l' && !in->json_form))
		split_ws(&args, in->raw, n);
	else if (kw->shape == 'q')
		parse_words(&args, in->raw, n, p->r->escape);
	else if ((kw->shape == 'j' || kw->shape == 'r' || kw->shape == 'o') &&
		 !in->json_form && n)
		strv_push(&args, stele_xstrdup(in->raw));
	in->args = args.v;
	in->nargs = args.n;

	if (p->syntax) {
		/* only what BuildKit's line parsers check */
		error = 0;
		if (kw->shape == 'q' && k != STELE_I_ARG && in->nargs)
			error = parse_pairs(p, in);
		if (!error && k == STELE_I_ONBUILD)
			error = parse_onbuild(p, in);
		return error;
	}
	if (kw->one && in->nargs != 1)
		return ierr(p, in, "requires exactly one argument");
	/* `CMD []` clears the command; an empty shell form means nothing */
	if (in->nargs < (size_t)kw->min &&
	    !(in->json_form && (k == STELE_I_CMD || k == STELE_I_ENTRYPOINT)))
		return ierr(p, in, "requires at least %s",
			    kw->min == 2 ? "two arguments" : "one argument");
	if (k == STELE_I_SHELL && !in->json_form)
		return ierr(p, in, "requires the arguments to be in JSON form");
	if (k == STELE_I_FROM && in->nargs == 3 &&
	    ascii_ieq(in->args[1], strlen(in->args[1]), "as")) {
		if (check_stage_name(in->args[2]) < 0)
			return ierr(p, in,
				    "invalid name for build stage: '%s',"
				    " name can't start with a number or contain"
				    " symbols",
				    in->args[2]);
	} else if (k == STELE_I_FROM && in->nargs != 1) {
		return ierr(p, in, "requires either one or three arguments");
	}
	if (kw->shape == 'q' && (error = parse_pairs(p, in)) < 0)
		return error;
	if (k == STELE_I_VOLUME && (error = check_volumes(p, in)) < 0)
		return error;
	if (k == STELE_I_HEALTHCHECK && (error = check_health(p, in)) < 0)
		return error;
	if (k == STELE_I_ONBUILD)
		return parse_onbuild(p, in);
	if ((k == STELE_I_COPY || k == STELE_I_ADD) &&
	    (error = check_heredoc_dest(p, in)) < 0)
		return error;
	if (k == STELE_I_RUN &&
	    ((error = check_security(p, in)) < 0 ||
	     (error = check_mounts(p, in)) < 0))
		return error;
	return 0;
}

/* One logical line: keyword, flags, then the instruction's own syntax. */
static int
parse_one(struct parser *p, struct stele_instr *in, const char *s, size_t n,
	  int line)
{
	struct strv flags = { NULL, 0 };
	const struct keyword *kw;
	const char *raw;
	size_t k, len;
	int error;

	ltrim(&s, &n);
	while (n && IS_SPACE(s[n - 1]))
		n--;
	for (k = 0; k < n && !IS_HSPACE(s[k]); k++)
		;
	if (!(kw = keyword_find(s, k)))
		return perr(p->r, line, NULL, "unknown instruction '%.*s'",
			    (int)k, s);
	in->kind = (enum stele_instr_kind)kw->kind;
	in->keyword = kw->name;
	in->line = line;
	in->text = stele_xstrndup(s, n);
	raw = s + k;
	len = n - k;
	ltrim(&raw, &len);
	k = extract_flags(&flags, raw, len, p->r->escape);
	raw += k;
	len -= k;
	ltrim(&raw, &len);
	in->raw = stele_xstrndup(raw, len);
	if ((error = check_flags(p, in, kw, &flags)) == 0)
		error = parse_args(p, in, kw);
	strv_release(&flags);
	return error;
}

static int
parse_instr(struct parser *p, const char *s, size_t n, int line)
{
	struct stele_instr *in;
	int error;

	if (p->r->ninstrs == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 16;
		p->r->instrs =
			stele_xrealloc(p->r->instrs, p->alloc * sizeof(*in));
	}
	in = &p->r->instrs[p->r->ninstrs++];
	memset(in, 0, sizeof(*in));
	if ((error = parse_one(p, in, s, n, line)) < 0 || p->trigger ||
	    p->syntax)
		return error;
	if (in->kind == STELE_I_FROM)
		p->seen_from = 1;
	else if (in->kind != STELE_I_ARG && !p->seen_from)
		return ierr(p, in, "only ARG may come before the first FROM");
	return 0;
}

/*
 * Parser directives, BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
 * for escape, syntax and check, are read only before anything else: the
 * first line that is not one (a comment, a blank line, an instruction) ends
 * them.  Returns 1 for a directive line, 0 otherwise.
 */
static int
parse_directive(struct parser *p, const char *s, size_t n, int line)
{
	static const char *const names[] = { "escape", "syntax", "check" };
	size_t i = 1, k, v, e;
	int which;

	if (!n || s[0] != '#')
		goto done;
	for (; i < n && IS_SPACE(s[i]); i++)
		;
	for (k = i; k < n && (IS_ALPHA(s[k]) || (k > i && IS_DIGIT(s[k]))); k++)
		;
	for (v = k; v < n && IS_RESPACE(s[v]); v++)
		;
	if (k == i || v + 1 >= n || s[v] != '=')
		goto done;
	for (which = 2; which >= 0 && !ascii_ieq(s + i, k - i, names[which]);)
		which--;
	if (which < 0)
		goto done;
	for (e = n; e > v + 1 && IS_RESPACE(s[e - 1]); e--)
		;
	for (v++; v < e && IS_RESPACE(s[v]); v++)
		;
	if (v == e) {
		/* only spaces after '=': the regexp leaves the last as value */
		v = n - 1;
		e = n;
	}
	if (p->dir_seen & (1 << which))
		return perr(p->r, line, NULL,
			    "only one %s parser directive "
			    "can be used",
			    names[which]);
	p->dir_seen |= 1 << which;
	if (which == 0 && (e - v != 1 || (s[v] != '`' && s[v] != '\\')))
		return perr(p->r, line, NULL,
			    "invalid escape token '%.*s' "
			    "does not match ` or \\",
			    (int)(e - v), s + v);
	if (which == 0)
		p->r->escape = s[v];
	if (which == 1) {
		p->r->syntax = stele_xstrndup(s + v, e - v);
		p->r->syntax_line = line;
	} else if (which == 2) {
		p->r->check = stele_xstrndup(s + v, e - v);
	}
	return 1;
done:
	p->dir_done = 1;
	return 0;
}

struct reader {
	const char *p, *end;
	int line;
};

/* The next line with its line ending, as heredoc contents keep it. */
static int
raw_line(struct reader *rd, const char **s, size_t *n)
{
	const char *nl;

	if (rd->p >= rd->end)
		return 0;
	nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
	*s = rd->p;
	rd->p = nl ? nl + 1 : rd->end;
	*n = (size_t)(rd->p - *s);
	rd->line++;
	return 1;
}

/* The next line without its line ending ("\r\n" and any trailing "\r"). */
static int
next_line(struct reader *rd, const char **s, size_t *n)
{
	if (!raw_line(rd, s, n))
		return 0;
	if (*n && (*s)[*n - 1] == '\n')
		(*n)--;
	while (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

/*
 * After an instruction that can hold heredocs (BuildKit's
 * canContainHeredoc: RUN, COPY, ADD in shell form, also as an ONBUILD
 * trigger), each heredoc of its line takes the lines that follow, up to
 * its terminator.
 */
static int
read_heredocs(struct parser *p, struct reader *rd, struct stele_instr *top,
	      const char *line)
{
	struct stele_instr *in = top->sub ? top->sub : top;
	const char *s, *t;
	size_t i, n, m;
	int done;

	if ((in->kind != STELE_I_RUN && in->kind != STELE_I_COPY &&
	     in->kind != STELE_I_ADD) ||
	    in->json_form || !strstr(line, "<<"))
		return 0;
	stele_heredoc_scan(&in->heredocs, &in->nheredocs, line);
	for (i = 0; i < in->nheredocs; i++) {
		struct stele_buf c = STELE_BUF_INIT(RECIPE_MAX);
		struct stele_heredoc *h = &in->heredocs[i];

		for (done = 0; !done && raw_line(rd, &s, &n);) {
			for (t = s, m = n;
			     m && (t[m - 1] == '\n' || t[m - 1] == '\r'); m--)
				;
			for (; h->chomp && m && *t == '\t'; t++, m--)
				;
			if (m == strlen(h->name) && !memcmp(t, h->name, m))
				done = 1;
			else
				xput(&c, s, n);
		}
		h->content = stele_buf_detach(&c);
		if (!done)
			return ierr(p, top, "unterminated heredoc '%s'",
				    h->name);
	}
	return 0;
}

/*
 * BuildKit's lineContinuationRegex, `([^E])E[ \t]*$|^E[ \t]*$`: an escape
 * at the end of the line (spaces and tabs after it allowed) that is not
 * itself escaped.  Strips it and returns 1.
 */
static int
trim_continuation(const char *s, size_t *n, char esc)
{
	size_t m = *n;

	while (m && (s[m - 1] == ' ' || s[m - 1] == '\t'))
		m--;
	if (!m || s[m - 1] != esc || (m >= 2 && s[m - 2] == esc))
		return 0;
	*n = m - 1;
	return 1;
}

static int
check_lines(const struct stele_recipe *r, const char *text, size_t len)
{
	const char *s = text, *end = text + len, *nl;
	size_t n;
	int line;

	for (line = 1; s < end; line++, s = nl ? nl + 1 : end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl ? nl : end) - s);
		if (n > RECIPE_LINE_MAX)
			return perr(r, line, NULL, "line longer than %zu bytes",
				    RECIPE_LINE_MAX);
		if (memchr(s, '\0', n))
			return perr(r, line, NULL, "NUL byte in recipe");
	}
	return 0;
}

/* What BuildKit's initOnBuildTriggers and parseOnBuild allow. */
static int
check_trigger(const struct parser *p)
{
	const struct stele_instr *in = &p->r->instrs[0];

	if (p->r->ninstrs != 1)
		return stele_error_setc(STELE_EINVALID,
					"%s: an ONBUILD trigger"
					" must be a single instruction",
					p->r->path);
	if (in->kind == STELE_I_FROM || in->kind == STELE_I_ONBUILD ||
	    in->kind == STELE_I_MAINTAINER)
		return ierr(p, in, "%s isn't allowed as an ONBUILD trigger",
			    in->keyword);
	return 0;
}

static int
parse_lines(struct parser *p, const char *text, size_t len)
{
	struct stele_buf line = STELE_BUF_INIT(RECIPE_MAX);
	struct reader rd = { text, text + len, 0 };
	const char *s, *t;
	size_t n, m;
	int start, cont, error = 0;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		rd.p += 3;
	while (!error && next_line(&rd, &s, &n)) {
		start = rd.line;
		ltrim(&s, &n);
		if (!p->dir_done &&
		    (error = parse_directive(p, s, n, start)) != 0) {
			error = error < 0 ? error : 0;
			continue;
		}
		cont = trim_continuation(s, &n, p->r->escape);
		if ((n && s[0] == '#') || (!cont && !n))
			continue;
		stele_buf_clear(&line);
		xput(&line, s, n);
		/* comment and blank lines inside a continuation are skipped */
		while (cont && next_line(&rd, &s, &n)) {
			t = s;
			m = n;
			ltrim(&t, &m);
			if (!m || *t == '#')
				continue;
			cont = trim_continuation(s, &n, p->r->escape);
			xput(&line, s, n);
		}
		error = parse_instr(p, stele_buf_cstr(&line), line.len, start);
		if (!error)
			error = read_heredocs(p, &rd,
					      &p->r->instrs[p->r->ninstrs - 1],
					      stele_buf_cstr(&line));
	}
	stele_buf_release(&line);
	if (!error && !p->r->ninstrs)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: file with no instructions",
					 p->r->path);
	else if (!error && p->trigger)
		error = check_trigger(p);
	else if (!error && !p->seen_from && !p->syntax)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: no FROM instruction", p->r->path);
	return error;
}

enum parse_mode { PARSE_RECIPE, PARSE_TRIGGER, PARSE_SYNTAX };

static int
parse_text(struct stele_recipe **out, const char *path, const char *text,
	   size_t len, enum parse_mode mode)
{
	struct parser p;
	int error;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.trigger = mode == PARSE_TRIGGER;
	p.syntax = mode == PARSE_SYNTAX;
	p.r = stele_xcalloc(1, sizeof(*p.r));
	p.r->path = stele_xstrdup(path);
	p.r->escape = '\\';
	if (len > RECIPE_MAX)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: recipe larger "
					 "than %zu bytes",
					 path, RECIPE_MAX);
	else if ((error = check_lines(p.r, text, len)) == 0)
		error = parse_lines(&p, text, len);
	if (error < 0) {
		stele_recipe_free(p.r);
		return error;
	}
	*out = p.r;
	return 0;
}

int
stele_recipe_parse(struct stele_recipe **out, const char *path,
		   const char *text, size_t len)
{
	return parse_text(out, path, text, len, PARSE_RECIPE);
}

int
stele_recipe_parse_syntax(struct stele_recipe **out, const char *path,
			  const char *text, size_t len)
{
	return parse_text(out, path, text, len, PARSE_SYNTAX);
}

int
stele_recipe_parse_trigger(struct stele_recipe **out, const char *path,
			   const char *text, size_t len)
{
	return parse_text(out, path, text, len, PARSE_TRIGGER);
}

static void
instr_release(struct stele_instr *in)
{
	size_t j;

	for (j = 0; j < in->nflags; j++) {
		free(in->flags[j].word);
		free(in->flags[j].name);
		free(in->flags[j].value);
	}
	for (j = 0; j < in->nargs; j++)
		free(in->args[j]);
	for (j = 0; j < in->npairs; j++) {
		free(in->pairs[j].key);
		free(in->pairs[j].value);
	}
	free(in->flags);
	free(in->args);
	free(in->pairs);
	free(in->text);
	free(in->raw);
	for (j = 0; j < in->nheredocs; j++)
		stele_heredoc_release(&in->heredocs[j]);
	free(in->heredocs);
	if (in->sub) {
		instr_release(in->sub);
		free(in->sub);
	}
}

void
stele_recipe_free(struct stele_recipe *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ninstrs; i++)
		instr_release(&r->instrs[i]);
	free(r->instrs);
	free(r->syntax);
	free(r->check);
	free(r->path);
	free(r);
}

const char *
stele_instr_flag_nth(const struct stele_instr *in, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, name) && !n--)
			return in->flags[i].value;
	return NULL;
}

int
stele_instr_flag_true(const struct stele_instr *in, const char *name)
{
	const char *v = stele_instr_flag(in, name);

	return v && !strcmp(v, "true");
}

const char *
stele_instr_flag(const struct stele_instr *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, name))
			return in->flags[i].value;
	return NULL;
}
