/*
 * Recipes: stele_recipe_parse() on the input as a Dockerfile, then
 * stele_recipe_expand() on every word, flag and pair it kept, as a build
 * does; and the expander alone on the whole input as one word, with both
 * escape characters.
 */
#include "builder/recipe.h"
#include "tests/fuzz/fuzz.h"

/* Some names are set (one with spaces and quotes), one is empty. */
static const char *
lookup(void *payload, const char *name)
{
	(void)payload;
	if (!strcmp(name, "A") || !strcmp(name, "HOME"))
		return "/root dir";
	if (!strcmp(name, "B"))
		return "'\"$A\\";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

static void
expand(const char *word, char escape)
{
	char *out = NULL;

	if (word && stele_recipe_expand(&out, word, escape, lookup, NULL) == 0)
		free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_recipe *r = NULL;
	char *word;
	size_t i, j;

	if (stele_recipe_parse(&r, "Recipe", (const char *)data, size) == 0) {
		for (i = 0; i < r->ninstrs; i++) {
			const struct stele_instr *in = &r->instrs[i];

			(void)stele_instr_flag(in, "from");
			for (j = 0; j < in->nargs; j++)
				expand(in->args[j], r->escape);
			for (j = 0; j < in->nflags; j++)
				expand(in->flags[j].value, r->escape);
			for (j = 0; j < in->npairs; j++) {
				expand(in->pairs[j].key, r->escape);
				expand(in->pairs[j].value, r->escape);
			}
			expand(in->raw, r->escape);
		}
		stele_recipe_free(r);
	}
	word = fuzz_cstr(data, size);
	expand(word, '\\');
	expand(word, '`');
	free(word);
	return 0;
}
