/*
 * Recipes: stele_recipe_parse() on the input as a Dockerfile, then
 * stele_recipe_expand() on every word, flag and pair it kept (ONBUILD
 * triggers included) and stele_recipe_expand_raw() on every heredoc, as a
 * build does; the input as an ONBUILD trigger from a base image's config
 * (stele_recipe_parse_trigger); the input at BuildKit's parser level
 * (stele_recipe_parse_syntax); and the expander alone on the whole input
 * as one word, with both escape characters.
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

static void
use_instr(const struct stele_instr *in, char escape)
{
	char *out = NULL;
	size_t j;

	(void)stele_instr_flag(in, "from");
	(void)stele_instr_flag_nth(in, "exclude", 1);
	(void)stele_instr_flag_true(in, "link");
	for (j = 0; j < in->nargs; j++)
		expand(in->args[j], escape);
	for (j = 0; j < in->nflags; j++)
		expand(in->flags[j].value, escape);
	for (j = 0; j < in->npairs; j++) {
		expand(in->pairs[j].key, escape);
		expand(in->pairs[j].value, escape);
	}
	expand(in->raw, escape);
	for (j = 0; j < in->nheredocs; j++)
		if (in->heredocs[j].content &&
		    stele_recipe_expand_raw(&out, in->heredocs[j].content, lookup,
					    NULL) == 0)
			free(out);
	if (in->sub)
		use_instr(in->sub, escape);
}

static void
use_recipe(struct stele_recipe *r)
{
	size_t i;

	for (i = 0; i < r->ninstrs; i++)
		use_instr(&r->instrs[i], r->escape);
	stele_recipe_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_recipe *r = NULL;
	char *word;

	if (stele_recipe_parse(&r, "Recipe", (const char *)data, size) == 0)
		use_recipe(r);
	if (stele_recipe_parse_trigger(&r, "ONBUILD trigger", (const char *)data,
				       size) == 0)
		use_recipe(r);
	if (stele_recipe_parse_syntax(&r, "Recipe", (const char *)data,
				      size) == 0)
		use_recipe(r);
	word = fuzz_cstr(data, size);
	expand(word, '\\');
	expand(word, '`');
	free(word);
	return 0;
}
