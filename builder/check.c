#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/build.h"
#include "builder/context.h"
#include "builder/recipe.h"
#include "builder/values.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

#define RECIPE_MAX ((size_t)1 << 20)

/*
 * `stele build --check`: the recipe as far as it can be known without its
 * build arguments' effects, its bases or its context.  A value holding a
 * variable is left to the build.
 */

#define cerr(r, in, ...) \
	stele_recipe_error((r), (in)->line, (in)->keyword, __VA_ARGS__)

static int
literal(const char *s)
{
	return s && !strchr(s, '$');
}

static int
check_instr(const struct stele_recipe *r, const struct stele_instr *in)
{
	const char *v = NULL, *why;
	char **ports;
	size_t i, n;

	switch (in->kind) {
	case STELE_I_RUN:
		v = stele_instr_flag(in, "network");
		if (v && strcmp(v, "none") && strcmp(v, "host") &&
		    strcmp(v, "default"))
			return cerr(r, in,
				    "--network: want none or host, not "
				    "'%s'",
				    v);
		return 0;
	case STELE_I_COPY:
	case STELE_I_ADD:
		v = stele_instr_flag(in, "chmod");
		if (v && literal(v) && stele_value_chmod_check(v, &why) < 0)
			return cerr(r, in, "--chmod: invalid mode '%s' (%s)", v,
				    why);
		v = stele_instr_flag(in, "checksum");
		if (v && in->nargs != 2)
			return cerr(r, in, "%s",
				    "--checksum can't be specified "
				    "for multiple sources");
		if (v && literal(in->args[0]) &&
		    !stele_value_is_git_url(in->args[0]) &&
		    strncmp(in->args[0], "http://", 7) &&
		    strncmp(in->args[0], "https://", 8))
			return cerr(r, in,
				    "--checksum requires a git or http(s) "
				    "source, not '%s'",
				    in->args[0]);
		for (i = 0; i + 1 < in->nargs; i++) {
			const char *a = in->args[i];

			if (!literal(a) || stele_value_is_git_url(a) ||
			    !stele_value_is_url(a))
				continue;
			if (in->kind == STELE_I_ADD && !v)
				return cerr(
					r, in,
					"'%s': a download must be "
					"pinned: ADD --checksum=sha256:<hex "
					"of the file> URL DEST (or a git URL "
					"with #REF, pinned by its commit)",
					a);
		}
		return 0;
	case STELE_I_EXPOSE:
		for (i = 0; i < in->nargs; i++) {
			if (!literal(in->args[i]))
				continue;
			if (stele_value_ports(&ports, &n, in->args[i], &why) <
			    0)
				return cerr(r, in, "invalid port '%s': %s",
					    in->args[i], why);
			stele_strv_free(ports, n);
		}
		return 0;
	case STELE_I_STOPSIGNAL:
		if (literal(in->args[0]) && !stele_value_signal(in->args[0]))
			return cerr(r, in, "invalid signal '%s'", in->args[0]);
		return 0;
	case STELE_I_ONBUILD: return check_instr(r, in->sub);
	default: return 0;
	}
}

int
stele_build_check(size_t *nstages, const struct stele_build_opts *o)
{
	struct stele_buf text = STELE_BUF_INIT(RECIPE_MAX);
	struct stele_recipe *r = NULL;
	char *path;
	size_t i, n = 0;
	int error, found = 0;

	*nstages = 0;
	if (!o->recipe && stele_git_is_spec(o->context))
		return stele_error_setc(
			STELE_EINVALID,
			"--check reads a recipe "
			"file: give -f FILE (a git source is not resolved)");
	path = o->recipe ? stele_xstrdup(o->recipe)
			 : stele_path_join(o->context, "Dockerfile");
	if ((error = stele_fs_read(&text, path)) < 0) {
		error = stele_error_prefix(error, "cannot read recipe '%s'",
					   path);
		goto out;
	}
	if ((error = stele_recipe_parse(&r, path, text.ptr ? text.ptr : "",
					text.len)) < 0)
		goto out;
	if (r->syntax && o->progress) {
		char msg[512];

		snprintf(
			msg, sizeof(msg),
			"warning: %s:%d: the syntax directive"
			" '%.200s' is not run: stele reads the recipe itself, as"
			" Dockerfile syntax 1",
			r->path, r->syntax_line, r->syntax);
		o->progress(o->progress_payload, msg);
	}
	for (i = 0; i < r->ninstrs && !error; i++) {
		const struct stele_instr *in = &r->instrs[i];

		if (in->kind == STELE_I_FROM) {
			n++;
			found |= o->target && in->nargs == 3 &&
				!strcasecmp(in->args[2], o->target);
		}
		error = check_instr(r, in);
	}
	if (!error && o->target && !found)
		error = stele_error_setc(STELE_EINVALID,
					 "%s: target stage '%s' "
					 "not found",
					 path, o->target);
	if (!error)
		*nstages = n;
out:
	stele_recipe_free(r);
	stele_buf_release(&text);
	free(path);
	return error;
}
