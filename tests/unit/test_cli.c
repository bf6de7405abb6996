/*
 * cli/env.c and cli/tty.c: the environment read in one place, and the
 * passphrase sources.  Environments are tables, not this process's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/env.h"
#include "cli/tty.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

/* The environment the test sets: NULL-terminated NAME, VALUE pairs. */
static const char *const *table;

static const char *
table_get(const char *name)
{
	size_t i;

	for (i = 0; table[i]; i += 2)
		if (!strcmp(table[i], name))
			return table[i + 1];
	return NULL;
}

static void
load(struct cli_env *e, const char *const *t)
{
	table = t;
	cli_env_load(e, table_get);
}

static void
test_cli_env_defaults(void **state)
{
	static const char *const t[] = { "HOME", "/h", NULL };
	struct cli_env e;

	(void)state;
	load(&e, t);
	assert_string_equal(e.store, "/h/.local/share/stele/store");
	assert_string_equal(e.cache, "/h/.cache/stele/build-cache");
	assert_string_equal(e.git_cache, "/h/.cache/stele/git");
	assert_string_equal(e.tmp, "/tmp");
	assert_string_equal(e.authfile, "/h/.config/containers/auth.json");
	assert_string_equal(e.auth_search[0], "/h/.config/containers/auth.json");
	assert_string_equal(e.auth_search[1], "/h/.docker/config.json");
	assert_null(e.auth_search[2]);
	assert_null(e.epoch);
	assert_null(e.password);
	assert_int_equal(e.quiet, 0);
	assert_int_equal(e.registry_timeout_s, 0);
	assert_null(e.registry_mirrors);
	cli_env_release(&e);
}

static void
test_cli_env_xdg(void **state)
{
	static const char *const t[] = {
		"HOME", "/h", "XDG_DATA_HOME", "/d", "XDG_CACHE_HOME", "/c",
		"XDG_RUNTIME_DIR", "/run/u", "TMPDIR", "/t", "STELE_QUIET", "",
		"STELE_REGISTRY_TIMEOUT", "7", "STELE_REGISTRY_BACKOFF_MS", "x1",
		"STELE_REGISTRY_MIRRORS", "docker.io=127.0.0.1:5000", NULL
	};
	struct cli_env e;

	(void)state;
	load(&e, t);
	assert_string_equal(e.store, "/d/stele/store");
	assert_string_equal(e.cache, "/c/stele/build-cache");
	assert_string_equal(e.git_cache, "/c/stele/git");
	assert_string_equal(e.tmp, "/t");
	assert_string_equal(e.authfile, "/run/u/containers/auth.json");
	assert_string_equal(e.auth_search[0], "/run/u/containers/auth.json");
	assert_string_equal(e.auth_search[1], "/h/.config/containers/auth.json");
	assert_string_equal(e.auth_search[2], "/h/.docker/config.json");
	assert_null(e.auth_search[3]);
	assert_int_equal(e.quiet, 1);
	assert_int_equal(e.registry_timeout_s, 7);
	assert_string_equal(e.registry_mirrors, "docker.io=127.0.0.1:5000");
	/* Not a number: the default, as before. */
	assert_int_equal(e.registry_backoff_ms, 0);
	cli_env_release(&e);
}

static void
test_cli_env_overrides(void **state)
{
	static const char *const t[] = {
		"XDG_DATA_HOME", "/d", "XDG_CACHE_HOME", "/c",
		"STELE_STORE", "/s", "STELE_CACHE", "/bc", "STELE_GIT_CACHE", "/g",
		"REGISTRY_AUTH_FILE", "/a.json", "XDG_RUNTIME_DIR", "/run/u",
		"TMPDIR", "", NULL
	};
	struct cli_env e;

	(void)state;
	load(&e, t);
	assert_string_equal(e.store, "/s");
	assert_string_equal(e.cache, "/bc");
	assert_string_equal(e.git_cache, "/g");
	/* Empty is unset; no $HOME is /root. */
	assert_string_equal(e.tmp, "/tmp");
	assert_string_equal(e.authfile, "/a.json");
	assert_string_equal(e.auth_search[0], "/a.json");
	assert_string_equal(e.auth_search[1], "/run/u/containers/auth.json");
	assert_string_equal(e.auth_search[2], "/root/.config/containers/auth.json");
	assert_string_equal(e.auth_search[3], "/root/.docker/config.json");
	assert_null(e.auth_search[4]);
	cli_env_release(&e);
}

static void
test_cli_env_epoch(void **state)
{
	static const char *bad[] = { "", "-1", "+5", " 5", "5 ", "1e9", "0x10",
		"253402300800", "99999999999999999999", "12a" };
	const char *t[] = { "SOURCE_DATE_EPOCH", NULL, NULL };
	struct cli_env e;
	int64_t v;
	size_t i;
	int has;

	(void)state;
	load(&e, t);
	assert_ok(cli_env_epoch(&has, &v, &e));
	assert_int_equal(has, 0);
	cli_env_release(&e);
	t[1] = "1700000000";
	load(&e, t);
	assert_ok(cli_env_epoch(&has, &v, &e));
	assert_int_equal(has, 1);
	assert_int_equal(v, 1700000000);
	cli_env_release(&e);
	t[1] = "253402300799";
	load(&e, t);
	assert_ok(cli_env_epoch(&has, &v, &e));
	assert_int_equal(v, 253402300799LL);
	cli_env_release(&e);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		t[1] = bad[i];
		load(&e, t);
		assert_err(cli_env_epoch(&has, &v, &e), STELE_EINVALID,
			   "invalid SOURCE_DATE_EPOCH");
		assert_int_equal(has, 0);
		cli_env_release(&e);
	}
}

static void
test_cli_passphrase_sources(void **state)
{
	struct stele_secret *p = NULL;
	char *dir = NULL, *f, *big, *fbig;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&dir, getenv("TMPDIR"), "stele-unit"));
	f = stele_path_join(dir, "pass");
	fbig = stele_path_join(dir, "big");
	assert_ok(stele_fs_write_new(f, "first line\r\nsecond\n", 19, 0600));
	/* The file wins over the environment; its first line only. */
	assert_ok(cli_passphrase_from(&p, f, "from env", NULL, 0));
	assert_int_equal(p->len, 10);
	assert_memory_equal(p->ptr, "first line", 10);
	stele_secret_free(p);
	assert_ok(cli_passphrase_from(&p, NULL, "from env", NULL,
				      CLI_TTY_CONFIRM));
	assert_int_equal(p->len, 8);
	assert_memory_equal(p->ptr, "from env", 8);
	stele_secret_free(p);
	assert_ok(cli_passphrase_from(&p, NULL, "", NULL, 0));
	assert_int_equal(p->len, 0);
	stele_secret_free(p);
	assert_err(cli_passphrase_from(&p, "/nonexistent/x", NULL, NULL, 0),
		   STELE_ERROR, "cannot open passphrase file");
	assert_null(p);
	/* Capped, from either source. */
	big = malloc(CLI_PASS_MAX + 2);
	memset(big, 'x', CLI_PASS_MAX + 1);
	big[CLI_PASS_MAX + 1] = '\0';
	assert_err(cli_passphrase_from(&p, NULL, big, NULL, 0),
		   STELE_EINVALID, "STELE_PASSWORD is longer than 1024 bytes");
	assert_null(p);
	assert_ok(stele_fs_write_new(fbig, big, CLI_PASS_MAX + 1, 0600));
	assert_err(cli_passphrase_from(&p, fbig, NULL, NULL, 0),
		   STELE_EINVALID, "is longer than 1024 bytes");
	assert_null(p);
	stele_fs_rm_rf(dir);
	free(big);
	free(fbig);
	free(f);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_env_defaults),
		cmocka_unit_test(test_cli_env_xdg),
		cmocka_unit_test(test_cli_env_overrides),
		cmocka_unit_test(test_cli_env_epoch),
		cmocka_unit_test(test_cli_passphrase_sources),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
