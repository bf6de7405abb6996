#ifndef STELE_BUILDER_RECIPE_H
#define STELE_BUILDER_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "builder/expand.h"
#include "builder/heredoc.h"

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
	STELE_I_SHELL,
	STELE_I_VOLUME,
	STELE_I_HEALTHCHECK,
	STELE_I_ONBUILD,
	STELE_I_MAINTAINER
};

/* HEALTHCHECK durations (nanoseconds, 0: unset) and retries, by index. */
enum stele_health_field {
	STELE_HEALTH_INTERVAL,
	STELE_HEALTH_TIMEOUT,
	STELE_HEALTH_START_PERIOD,
	STELE_HEALTH_START_INTERVAL,
	STELE_HEALTH_RETRIES,
	STELE_HEALTH_NFIELDS
};

struct stele_flag {
	char *word; /* as written, quotes removed: "--link", "--from=x" */
	char *name; /* without the leading "--", e.g. "from" */
	char *value; /* after '='; "" for a flag given without a value */
};

struct stele_pair {
	char *key; /* raw (quotes kept) */
	char *value; /* raw; NULL for `ARG NAME` without a default */
};

struct stele_instr {
	enum stele_instr_kind kind;
	const char *keyword; /* upper-case keyword, static string ("COPY") */
	int line; /* 1-based line of the keyword */
	char *text; /* whole instruction, continuations joined with
				a space, leading/trailing space trimmed */
	struct stele_flag *flags;
	size_t nflags;
	int json_form; /* 1: args came from a JSON array (exec form) */
	char **args; /* JSON form: decoded strings; otherwise the words
				split on unquoted whitespace, quotes kept */
	size_t nargs;
	char *raw; /* the text after keyword and flags (shell form of
				RUN/CMD/ENTRYPOINT uses this verbatim) */
	struct stele_pair *pairs; /* ENV, LABEL, ARG */
	size_t npairs;
	/*
	 * HEALTHCHECK: args[0] is the type, "NONE" or "CMD" (upper-cased),
	 * args[1...] the command (one string in shell form); the flags'
	 * values, checked and converted as BuildKit does.
	 */
	int64_t health[STELE_HEALTH_NFIELDS];
	/* ONBUILD: the trigger, parsed as an instruction of its own (same
	   line); its `text` is what the image config records. */
	struct stele_instr *sub;
	/* RUN, COPY, ADD in shell form: heredocs (builder/heredoc.h) in the
	   order of the line, with their contents */
	struct stele_heredoc *heredocs;
	size_t nheredocs;
};

struct stele_recipe {
	char *path; /* as given, used in every error message */
	char escape; /* '\\' or '`' */
	char *syntax; /* `# syntax=` value or NULL (never run) */
	int syntax_line;
	char *check; /* `# check=` value or NULL */
	struct stele_instr *instrs;
	size_t ninstrs;
};

/*
 * Parse recipe text.  `path` names the file in errors.  *out owned by caller.
 * Checks per instruction: known keyword (anything else is an error naming
 * it), argument count, allowed flags (FROM: platform; COPY: from, chown,
 * chmod, link; ADD: chown, chmod, link, unpack; RUN: network; HEALTHCHECK:
 * interval, timeout, start-period, start-interval, retries; boolean flags
 * as BuildKit reads them), `FROM image [AS name]` shape,
 * the first instruction other than ARG must be FROM, HEALTHCHECK's type,
 * durations and retries, ONBUILD's trigger (parsed as an instruction; not
 * ONBUILD, FROM or MAINTAINER).  Heredocs of RUN, COPY and ADD are read
 * with their contents (builder/heredoc.h); a heredoc never ended is an
 * error, and so is a heredoc as the destination of COPY or ADD.
 */
int stele_recipe_parse(struct stele_recipe **out, const char *path,
		       const char *text, size_t len);

/*
 * BuildKit's parser alone (frontend/dockerfile/parser), without the checks
 * its instruction parser (instructions/parse.go) and stele_recipe_parse()
 * add: any --flag is kept (name and value as written, value "" without
 * '='), argument counts, FROM's shape, HEALTHCHECK's type (left as written)
 * and values, ONBUILD's trigger keyword, VOLUME, heredoc destinations,
 * RUN --mount/--security and the place of FROM are not checked.  Lines,
 * directives, comments, continuations, heredocs, JSON form, word
 * splitting and ENV/LABEL pairs (with their errors) are as in
 * stele_recipe_parse(); an unknown instruction is still an error (BuildKit's
 * parser keeps it without arguments).  Not for building: it lets stele's
 * syntax be compared with BuildKit's parser tests
 * (tests/unit/test_buildkit_parser.c).
 */
int stele_recipe_parse_syntax(struct stele_recipe **out, const char *path,
			      const char *text, size_t len);

/*
 * Parse one ONBUILD trigger recorded in a base image's config, as BuildKit
 * does: a recipe of its own (default escape, no FROM) holding exactly one
 * instruction, which may not be FROM, ONBUILD or MAINTAINER.  Errors name
 * `path` (e.g. "ONBUILD trigger") and the trigger's own line.
 */
int stele_recipe_parse_trigger(struct stele_recipe **out, const char *path,
			       const char *text, size_t len);
void stele_recipe_free(struct stele_recipe *r);
/*
 * Set the error "PATH:LINE: KW: message" (without KW when it is NULL) for
 * recipe `r`, as the parser and the checker word them; returns
 * STELE_EINVALID.
 */
int stele_recipe_error(const struct stele_recipe *r, int line, const char *kw,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Value of a flag (the first, if repeated) or NULL; borrowed.  Boolean
   flags hold "true" or "false". */
const char *stele_instr_flag(const struct stele_instr *in, const char *name);
/* The n-th value (from 0) of a repeatable flag, or NULL. */
const char *stele_instr_flag_nth(const struct stele_instr *in, const char *name,
				 size_t n);
/* 1 when a boolean flag was given as true. */
int stele_instr_flag_true(const struct stele_instr *in, const char *name);

#endif
