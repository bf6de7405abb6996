#ifndef STELE_CLI_ENV_H
#define STELE_CLI_ENV_H

#include <stdint.h>

#include "util/fs.h"

/*
 * The environment, read in one place: every variable stele honours is
 * read here and nowhere else (the library reads none; it is given these
 * values as options).  The XDG fallbacks are written once:
 *
 *   store      $STELE_STORE, else $XDG_DATA_HOME/stele/store, else
 *              ~/.local/share/stele/store
 *   cache      $STELE_CACHE, else $XDG_CACHE_HOME/stele/build-cache,
 *              else ~/.cache/stele/build-cache
 *   git_cache  $STELE_GIT_CACHE, else $XDG_CACHE_HOME/stele/git, else
 *              ~/.cache/stele/git
 *   tmp        $TMPDIR, else /tmp
 *   authfile   where login and logout write: $REGISTRY_AUTH_FILE, else
 *              $XDG_RUNTIME_DIR/containers/auth.json, else
 *              ~/.config/containers/auth.json (podman's choice)
 *   auth_search  what credentials are looked up in, in order: the three
 *              above that are set, then ~/.docker/config.json
 *
 * A variable set to the empty string counts as unset (except
 * STELE_PASSWORD, where empty is an empty passphrase); ~ is $HOME, else
 * /root.
 */
struct cli_env {
	char *store;
	char *cache;
	char *git_cache;
	char *tmp;
	char *authfile;
	char *auth_search[5]; /* NULL-terminated */
	const char *epoch; /* $SOURCE_DATE_EPOCH as set, or NULL */
	const char *password; /* $STELE_PASSWORD as set, or NULL */
	const char *user; /* $USER, or NULL */
	int quiet; /* $STELE_QUIET set: no progress */
	const char *registry_mirrors; /* $STELE_REGISTRY_MIRRORS: build's
				     HOST=MIRROR,… (cmd_build.c), or NULL */
	/* Test knobs for the registry client (cli/cli_registry.h); 0 when
	 * unset or not a decimal number up to 2^40. */
	unsigned long long registry_backoff_ms, registry_timeout_s,
		registry_chunk_size;
	struct stele_dirs dirs; /* store, tmp, cache, git_cache above */
};

typedef const char *(*cli_getenv_fn)(const char *name);

/* The environment of this process, read at the first call; borrowed. */
const struct cli_env *cli_env(void);
/* Fill `e` from `get` (getenv, or a test's table); release with
 * cli_env_release(). */
void cli_env_load(struct cli_env *e, cli_getenv_fn get);
void cli_env_release(struct cli_env *e);

/*
 * The build epoch from $SOURCE_DATE_EPOCH: *has is 0 when it is unset;
 * STELE_EINVALID, naming the variable and its value, when it is not a
 * decimal number of seconds from 0 to 253402300799 (9999-12-31).
 */
int cli_env_epoch(int *has, int64_t *out, const struct cli_env *e);

/* A variable the user names on the command line (--build-arg NAME). */
const char *cli_env_value(const char *name);

#endif
