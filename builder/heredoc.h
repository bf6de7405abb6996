#ifndef STELE_BUILDER_HEREDOC_H
#define STELE_BUILDER_HEREDOC_H

#include <stddef.h>

/*
 * Heredocs in RUN, COPY and ADD (and ONBUILD of those), as BuildKit reads
 * them (frontend/dockerfile/parser: heredocsFromLine, ParseHeredoc).
 *
 * On an instruction's line (keyword and flags included, exec form
 * excluded), the words are split on unquoted whitespace with quotes and
 * escapes kept and `<<` glued to the spaces after it; a word
 * `[FD]<<[-][spaces]NAME` is a heredoc when NAME, quotes removed, is one
 * word without '<'.  Its content is the lines after the instruction, up to
 * a line equal to NAME (for `<<-`, after removing leading tabs).  A line
 * whose words cannot be lexed (an unterminated quote or `${`) has no
 * heredocs, as in BuildKit.
 */
struct stele_heredoc {
	char *name; /* the terminator, quotes removed */
	char *content; /* the lines as written, each with its line ending */
	int chomp; /* `<<-`: leading tabs go from each line (not for RUN
			  with a command around it, where the shell does it) */
	int expand; /* the name had no quotes: COPY expands variables */
	unsigned fd; /* `3<<EOF` */
};

/*
 * Is `word` a heredoc word?  1 and *out filled (name malloc'd, content
 * NULL), or 0.  Never fails.
 */
int stele_heredoc_word(struct stele_heredoc *out, const char *word);

/*
 * The heredoc words of a line, in order: *out malloc'd array of *n
 * entries (names malloc'd, contents NULL).  The line is capped by the
 * parser (64 KiB), so is their number; each then takes at least one line
 * of the recipe, so their contents together are no larger than it.
 */
void stele_heredoc_scan(struct stele_heredoc **out, size_t *n,
			const char *line);

/* BuildKit's ChompHeredocContent: leading tabs off every line; malloc'd. */
char *stele_heredoc_chomp(const char *content);

void stele_heredoc_release(struct stele_heredoc *h);

#endif
