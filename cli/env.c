#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/env.h"
#include "util/error.h"
#include "util/fs.h"

/* The variable's value, or NULL when it is unset or empty. */
static const char *
var(cli_getenv_fn get, const char *name)
{
	const char *s = get(name);

	return s && *s ? s : NULL;
}

/*
 * $`over` when set; else $`xdg_var`/`sub` when set; else
 * ~/`home_rel`/`sub` (either variable may be NULL): the one copy of the
 * XDG base directory fallback.
 */
static char *
xdg_path(cli_getenv_fn get, const char *over, const char *xdg_var,
	 const char *home_rel, const char *sub)
{
	const char *s, *h;

	if (over && (s = var(get, over)))
		return stele_xstrdup(s);
	if (xdg_var && (s = var(get, xdg_var)))
		return stele_xasprintf("%s/%s", s, sub);
	h = var(get, "HOME");
	return stele_xasprintf("%s/%s/%s", h ? h : "/root", home_rel, sub);
}

static unsigned long long
num(cli_getenv_fn get, const char *name)
{
	const char *s = var(get, name);
	unsigned long long v;
	char *end;

	if (!s)
		return 0;
	v = strtoull(s, &end, 10);
	return *end || v > (1ull << 40) ? 0 : v;
}

void
cli_env_load(struct cli_env *e, cli_getenv_fn get)
{
	const char *s;
	size_t n = 0;

	memset(e, 0, sizeof(*e));
	e->store = xdg_path(get, "STELE_STORE", "XDG_DATA_HOME", ".local/share",
			    "stele/store");
	e->cache = xdg_path(get, "STELE_CACHE", "XDG_CACHE_HOME", ".cache",
			    "stele/build-cache");
	e->git_cache = xdg_path(get, "STELE_GIT_CACHE", "XDG_CACHE_HOME",
				".cache", "stele/git");
	e->tmp = stele_xstrdup((s = var(get, "TMPDIR")) ? s : "/tmp");
	/* Reading: every file that may hold credentials; writing: the
	 * first of them, or podman's choice without XDG_RUNTIME_DIR. */
	if ((s = var(get, "REGISTRY_AUTH_FILE")))
		e->auth_search[n++] = stele_xstrdup(s);
	if ((s = var(get, "XDG_RUNTIME_DIR")))
		e->auth_search[n++] =
			stele_xasprintf("%s/containers/auth.json", s);
	e->auth_search[n++] =
		xdg_path(get, NULL, NULL, ".config", "containers/auth.json");
	e->auth_search[n++] =
		xdg_path(get, NULL, NULL, ".docker", "config.json");
	e->authfile = stele_xstrdup(e->auth_search[0]);
	e->dirs.store = e->store;
	e->dirs.tmp = e->tmp;
	e->dirs.cache = e->cache;
	e->dirs.git_cache = e->git_cache;
	e->epoch = get("SOURCE_DATE_EPOCH");
	e->password = get("STELE_PASSWORD");
	e->user = var(get, "USER");
	e->quiet = get("STELE_QUIET") != NULL;
	e->registry_mirrors = var(get, "STELE_REGISTRY_MIRRORS");
	e->registry_backoff_ms = num(get, "STELE_REGISTRY_BACKOFF_MS");
	e->registry_timeout_s = num(get, "STELE_REGISTRY_TIMEOUT");
	e->registry_chunk_size = num(get, "STELE_REGISTRY_CHUNK_SIZE");
}

void
cli_env_release(struct cli_env *e)
{
	size_t i;

	free(e->store);
	free(e->cache);
	free(e->git_cache);
	free(e->tmp);
	free(e->authfile);
	for (i = 0; e->auth_search[i]; i++)
		free(e->auth_search[i]);
	memset(e, 0, sizeof(*e));
}

const struct cli_env *
cli_env(void)
{
	/* main() is single-threaded when it first asks. */
	static struct cli_env env;
	static int loaded;

	if (!loaded) {
		cli_env_load(&env, cli_env_value);
		loaded = 1;
	}
	return &env;
}

int
cli_env_epoch(int *has, int64_t *out, const struct cli_env *e)
{
	const char *s = e->epoch;
	char *end;
	long long v;

	*has = 0;
	*out = 0;
	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v < 0 ||
	    v > 253402300799LL)
		return stele_error_setc(
			STELE_EINVALID,
			"invalid SOURCE_DATE_EPOCH '%s' (want seconds since 1970 as a decimal integer)",
			s);
	*has = 1;
	*out = v;
	return 0;
}

const char *
cli_env_value(const char *name)
{
	return getenv(name);
}
