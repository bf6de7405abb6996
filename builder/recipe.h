#ifndef STELE_BUILDER_RECIPE_H
#define STELE_BUILDER_RECIPE_H

#include <stddef.h>

/*
 * Recipes in Dockerfile syntax (docs/recipes.md lists the subset).
 *
 * stele_recipe_parse() does the syntactic work only: directives (`# escape=`),
 * comments, line continuations, instruction keywords, flags, JSON (exec) form,
 * word splitting that keeps quotes, and key=value pairs.  Variable
 * substitution needs build-time values, so it is done later by
 * stele_recipe_expand() on the raw words kept here.
 *
 * Every error is STELE_EINVALID with a message "FILE:LINE: INSTR: reason"
 * (e.g. "Recipe:3: COPY: requires at least two arguments").
 */

enum stele_instr_kind {
	STELE_I_FROM,
	STELE_I_ARG,
	STELE_I_ENV,
	STELE_I_LABEL,
	STELE_I_WORKDIR,
	STELE_I_USER,
	STELE_I_COPY,
	STELE_I_ADD,
	STELE_I_RUN,
	STELE_I_ENTRYPOINT,
	STELE_I_CMD,
	STELE_I_EXPOSE,
	STELE_I_STOPSIGNAL,
	STELE_I_SHELL
};

struct stele_flag {
	char *name;  /* without the leading "--", e.g. "from" */
	char *value; /* after '='; "" for a flag given without a value */
};

struct stele_pair {
	char *key;   /* raw (quotes kept) */
	char *value; /* raw; NULL for `ARG NAME` without a default */
};

struct stele_instr {
	enum stele_instr_kind kind;
	const char *keyword; /* upper-case keyword, static string ("COPY") */
	int line;            /* 1-based line of the keyword */
	char *text;          /* whole instruction, continuations joined with
				a space, leading/trailing space trimmed */
	struct stele_flag *flags;
	size_t nflags;
	int json_form;       /* 1: args came from a JSON array (exec form) */
	char **args;         /* JSON form: decoded strings; otherwise the words
				split on unquoted whitespace, quotes kept */
	size_t nargs;
	char *raw;           /* the text after keyword and flags (shell form of
				RUN/CMD/ENTRYPOINT uses this verbatim) */
	struct stele_pair *pairs; /* ENV, LABEL, ARG */
	size_t npairs;
};

struct stele_recipe {
	char *path;          /* as given, used in every error message */
	char escape;         /* '\\' or '`' */
	struct stele_instr *instrs;
	size_t ninstrs;
};

/*
 * Parse recipe text.  `path` names the file in errors.  *out owned by caller.
 * Checks per instruction: known keyword (ONBUILD, HEALTHCHECK, VOLUME,
 * MAINTAINER and anything else are errors naming the keyword), argument
 * count, allowed flags (FROM: platform; COPY: from, chown, chmod; ADD: chown,
 * chmod; RUN: network), `FROM image [AS name]` shape, the first instruction
 * other than ARG must be FROM, and heredocs (`<<EOF`) are refused.
 */
int stele_recipe_parse(struct stele_recipe **out, const char *path,
		       const char *text, size_t len);
void stele_recipe_free(struct stele_recipe *r);

/* Value of a flag or NULL; borrowed. */
const char *stele_instr_flag(const struct stele_instr *in, const char *name);

/*
 * Variable lookup for expansion: return the value (borrowed) or NULL when
 * unset.
 */
typedef const char *(*stele_lookup_fn)(void *payload, const char *name);

/*
 * Docker's word processing: quote removal and substitution of $VAR, ${VAR},
 * ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, ${VAR:?msg} (error),
 * with `escape` escaping the next character outside single quotes.  Unset
 * variables expand to "".  *out is malloc'd.  Errors (unterminated quote or
 * brace, bad substitution) are STELE_EINVALID naming the word; the caller
 * prefixes file:line.
 */
int stele_recipe_expand(char **out, const char *word, char escape,
			stele_lookup_fn lookup, void *payload);

#endif
