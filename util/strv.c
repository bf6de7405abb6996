#include <stdlib.h>

#include "util/alloc.h"
#include "util/strv.h"

void
stele_strv_take(char ***v, size_t *n, char *s)
{
	*v = stele_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

void
stele_strv_push(char ***v, size_t *n, const char *s)
{
	stele_strv_take(v, n, stele_xstrdup(s));
}

void
stele_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
