#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/root.h"
#include "tests/unit/unit.h"

/* An in-memory tree: a name is a directory or file ("" target) or a link. */
struct node {
	const char *path;
	const char *link; /* NULL: not a link */
};

static const struct node tree[] = {
	{ "etc", NULL },
	{ "etc/hostname", NULL },
	{ "abs", "/" },
	{ "rel", "../../../.." },
	{ "chain1", "chain2" },
	{ "chain2", "abs" },
	{ "a", NULL },
	{ "a/b", NULL },
	{ "a/b/up", "../.." },
	{ "a/b/etc", "/etc" },
	{ "loop1", "loop2" },
	{ "loop2", "loop1" },
	{ "self", "self" },
	{ "dotdot", "a/b/../../etc/." },
	{ "file", "etc/hostname" },
	{ "dangle", "nowhere/x" },
};

static int
lookup(void *payload, const char *rel, char **link)
{
	size_t i;

	(void)payload;
	*link = NULL;
	if (!*rel)
		return 0;
	for (i = 0; i < NELEM(tree); i++)
		if (!strcmp(tree[i].path, rel)) {
			if (!tree[i].link)
				return 0;
			*link = strdup(tree[i].link);
			return 1;
		}
	return STELE_ENOTFOUND;
}

struct rcase {
	const char *path;
	unsigned flags;
	const char *want; /* NULL: an error */
};

static const struct rcase cases[] = {
	{ "", 0, "" },
	{ "/", 0, "" },
	{ "etc/hostname", 0, "etc/hostname" },
	{ "/etc//hostname/", 0, "etc/hostname" },
	{ "abs/etc/hostname", 0, "etc/hostname" },
	{ "rel/etc/hostname", 0, "etc/hostname" },
	{ "chain1/etc", 0, "etc" },
	{ "a/b/up/etc/hostname", 0, "etc/hostname" },
	{ "a/b/etc/hostname", 0, "etc/hostname" },
	{ "../../etc", 0, "etc" },
	{ "abs/../../../etc", 0, "etc" },
	{ "dotdot/hostname", 0, "etc/hostname" },
	/* the last component is kept unless FOLLOW */
	{ "file", 0, "file" },
	{ "file", STELE_ROOT_FOLLOW, "etc/hostname" },
	{ "a/b/etc", 0, "a/b/etc" },
	{ "a/b/etc", STELE_ROOT_FOLLOW, "etc" },
	{ "abs", STELE_ROOT_FOLLOW, "" },
	/* missing components are kept as written, ".." lexically */
	{ "new/dir/../file", 0, "new/file" },
	{ "abs/new/x", 0, "new/x" },
	{ "dangle", STELE_ROOT_FOLLOW, "nowhere/x" },
	{ "dangle/y", 0, "nowhere/x/y" },
	/* loops */
	{ "loop1/x", 0, NULL },
	{ "loop1", STELE_ROOT_FOLLOW, NULL },
	{ "self/x", 0, NULL },
	{ "loop1", 0, "loop1" },
};

static void
test_root_resolve_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		char *out = NULL;
		int rc = stele_root_resolve(&out, cases[i].path, cases[i].flags,
					    lookup, NULL);

		if (!cases[i].want) {
			if (rc != STELE_EINVALID)
				fail_msg("'%s': want an error, got %d '%s'",
					 cases[i].path, rc, out ? out : "");
			assert_null(out);
			assert_non_null(strstr(stele_error_last(),
					       "too many levels"));
			continue;
		}
		if (rc < 0)
			fail_msg("'%s': %s", cases[i].path, stele_error_last());
		if (strcmp(out, cases[i].want))
			fail_msg("'%s' (flags %u): got '%s', want '%s'",
				 cases[i].path, cases[i].flags, out, cases[i].want);
		free(out);
	}
}

static void
test_root_resolve_long(void **state)
{
	size_t n = STELE_ROOT_MAX_PATH + 10, i;
	char *p = malloc(n + 1), *out = NULL;

	(void)state;
	for (i = 0; i < n; i++)
		p[i] = i % 2 ? '/' : 'x';
	p[n] = '\0';
	assert_int_equal(stele_root_resolve(&out, p, 0, lookup, NULL), STELE_EINVALID);
	assert_null(out);
	free(p);
}

/* On a real directory: absolute links and ".." never leave it. */
static void
test_root_host(void **state)
{
	char dir[] = "/tmp/stele-root-XXXXXX", *out = NULL, *p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = stele_xasprintf("%s/in", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = stele_xasprintf("%s/in/esc", dir);
	assert_int_equal(symlink("/tmp", p), 0);
	free(p);
	p = stele_xasprintf("%s/in/up", dir);
	assert_int_equal(symlink("../..", p), 0);
	free(p);
	p = stele_xasprintf("%s/in", dir);
	assert_int_equal(stele_root_host_path(&out, p, "esc/x", 0), 0);
	assert_string_equal(out + strlen(p), "/tmp/x");
	free(out);
	assert_int_equal(stele_root_host_path(&out, p, "up/up/etc/passwd", 0), 0);
	assert_string_equal(out + strlen(p), "/etc/passwd");
	free(out);
	free(p);
	stele_fs_rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_resolve_cases),
		cmocka_unit_test(test_root_resolve_long),
		cmocka_unit_test(test_root_host),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
