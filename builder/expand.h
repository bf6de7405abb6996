#ifndef STELE_BUILDER_EXPAND_H
#define STELE_BUILDER_EXPAND_H

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

/*
 * The same substitutions over a COPY/ADD heredoc's content (BuildKit's
 * ExpandRaw): quotes are plain characters, '\\' escapes whatever the
 * recipe's escape is.
 */
int stele_recipe_expand_raw(char **out, const char *text,
			    stele_lookup_fn lookup, void *payload);

#endif
