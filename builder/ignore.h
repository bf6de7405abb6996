#ifndef STELE_BUILDER_IGNORE_H
#define STELE_BUILDER_IGNORE_H

#include <stddef.h>

/*
 * .dockerignore with Docker's meaning (moby/patternmatcher): one pattern a
 * line, '#' comments and blank lines skipped, surrounding whitespace trimmed,
 * each pattern cleaned like Go's filepath.Clean with a leading '/' dropped,
 * '!' negates, "**" matches any number of directories, the last matching
 * pattern wins, and a path is excluded when it or any parent directory is
 * excluded by the last matching pattern.
 */
struct stele_ignore;

int stele_ignore_parse(struct stele_ignore **out, const char *data, size_t len,
		       const char *what);
/* NULL-safe. 1 when `path` (relative, slash-separated, no leading "/" or
 * "./") is excluded, else 0. */
int stele_ignore_match(const struct stele_ignore *ig, const char *path);
void stele_ignore_free(struct stele_ignore *ig);
/* NULL-safe. 1 when some pattern is an exception ("!..."): an excluded
 * directory may then still hold included paths and must be walked. */
int stele_ignore_has_exceptions(const struct stele_ignore *ig);

#endif
