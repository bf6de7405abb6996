#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/context.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

static void
put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char *p = stele_path_join(dir, rel);

	assert_ok(stele_fs_write_atomic(p, text, strlen(text), mode));
	free(p);
}

static void
mkdir_in(const char *dir, const char *rel)
{
	char *p = stele_path_join(dir, rel);

	assert_ok(stele_fs_mkdir_p(p, 0755));
	free(p);
}

static void
symlink_in(const char *dir, const char *rel, const char *target)
{
	char *p = stele_path_join(dir, rel);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* What a COPY of `rel` walks: every stat and listing below it. */
static void
walk(struct stele_context *ctx, const char *rel)
{
	struct stele_ctx_stat st;
	char **names = NULL;
	size_t n = 0, i;

	assert_ok(stele_context_stat(&st, ctx, rel));
	if (st.type == STELE_ENTRY_DIR) {
		assert_ok(stele_context_list(&names, &n, ctx, rel));
		for (i = 0; i < n; i++) {
			char *c = *rel ? stele_xasprintf("%s/%s", rel, names[i])
				       : stele_xstrdup(names[i]);

			walk(ctx, c);
			free(c);
		}
		stele_strv_free(names, n);
	}
	stele_ctx_stat_release(&st);
}

/* Every stat and listing below `rel` is the same in both contexts. */
static void
same(struct stele_context *a, struct stele_context *b, const char *rel)
{
	struct stele_ctx_stat x, y;
	char **na = NULL, **nb = NULL;
	size_t n = 0, m = 0, i;

	assert_ok(stele_context_stat(&x, a, rel));
	assert_ok(stele_context_stat(&y, b, rel));
	assert_int_equal(x.type, y.type);
	assert_int_equal(x.perm, y.perm);
	assert_int_equal(x.uid, y.uid);
	assert_int_equal(x.gid, y.gid);
	assert_int_equal(x.size, y.size);
	assert_int_equal(x.mtime, y.mtime);
	assert_int_equal(x.link_key, y.link_key);
	assert_int_equal(x.src_kind, y.src_kind);
	assert_int_equal(x.excluded, y.excluded);
	assert_true((x.link == NULL) == (y.link == NULL));
	if (x.link)
		assert_string_equal(x.link, y.link);
	assert_true((x.src == NULL) == (y.src == NULL));
	if (x.src)
		assert_string_equal(x.src, y.src);
	if (x.type == STELE_ENTRY_DIR) {
		assert_ok(stele_context_list(&na, &n, a, rel));
		assert_ok(stele_context_list(&nb, &m, b, rel));
		assert_int_equal(n, m);
		for (i = 0; i < n; i++) {
			char *c = *rel ? stele_xasprintf("%s/%s", rel, na[i])
				       : stele_xstrdup(na[i]);

			assert_string_equal(na[i], nb[i]);
			same(a, b, c);
			free(c);
		}
		stele_strv_free(na, n);
		stele_strv_free(nb, m);
	}
	stele_ctx_stat_release(&x);
	stele_ctx_stat_release(&y);
}

static void
digest(char out[STELE_DIGEST_STRLEN], struct stele_context *ctx,
       const char *rel)
{
	assert_ok(stele_context_digest_known(out, ctx, rel, NULL, NULL));
}

/*
 * A kept walk answers the key's walk: the digest is the one the tree had
 * when it was walked, byte for byte, and what was not walked is read.
 */
static void
test_builder_context_keep(void **state)
{
	struct stele_context *ctx = NULL, *fresh = NULL;
	char *dir = NULL, *p, *q;
	char before[STELE_DIGEST_STRLEN], kept[STELE_DIGEST_STRLEN];
	char after[STELE_DIGEST_STRLEN], other[STELE_DIGEST_STRLEN];
	char other2[STELE_DIGEST_STRLEN];

	(void)state;
	assert_ok(stele_fs_mkdtemp(&dir, getenv("TMPDIR"), "stele-test-ctx"));
	mkdir_in(dir, "src/a/b");
	mkdir_in(dir, "other");
	put(dir, "src/a/one", "one\n", 0644);
	put(dir, "src/a/b/two", "two\n", 0755);
	put(dir, "src/three", "three\n", 0644);
	put(dir, "other/four", "four\n", 0644);
	put(dir, ".dockerignore", "src/skip\n", 0644);
	put(dir, "src/skip", "ignored\n", 0644);
	symlink_in(dir, "src/link", "a/one");
	p = stele_path_join(dir, "src/three");
	q = stele_path_join(dir, "src/a/b/hard");
	assert_int_equal(link(p, q), 0); /* a hardlink identity to keep */
	free(p);
	free(q);
	assert_ok(stele_context_open_dir(&ctx, dir));
	assert_ok(stele_context_open_dir(&fresh, dir));

	/* What is kept is what the file system says, field by field. */
	stele_context_keep(ctx, 1);
	walk(ctx, "");
	same(ctx, fresh, "");
	stele_context_keep(ctx, 0);

	digest(before, ctx, "src");
	digest(other, ctx, "other");
	/* Walked while kept, then changed on disk: a mode, a new file, a
	 * file gone. */
	stele_context_keep(ctx, 1);
	walk(ctx, "src");
	p = stele_path_join(dir, "src/a/one");
	assert_int_equal(chmod(p, 0755), 0);
	free(p);
	put(dir, "src/a/new", "new\n", 0644);
	put(dir, "other/five", "five\n", 0644);
	digest(kept, ctx, "src");
	assert_string_equal(kept, before);
	/* Not walked while kept: read as it is now. */
	digest(other2, ctx, "other");
	assert_string_not_equal(other2, other);
	/* Off: everything is read again. */
	stele_context_keep(ctx, 0);
	digest(after, ctx, "src");
	assert_string_not_equal(after, before);
	/* On again: nothing of the last time is kept. */
	stele_context_keep(ctx, 1);
	digest(kept, ctx, "src");
	assert_string_equal(kept, after);
	stele_context_free(ctx); /* frees what is kept */
	stele_context_free(fresh);

	stele_fs_rm_rf(dir);
	free(dir);
}

/*
 * Resolving a path after its parent was (the memo) gives what resolving it
 * alone gives: plain names, links (followed within the context), dangling
 * and missing ones.
 */
static void
test_builder_context_resolve_memo(void **state)
{
	static const char *const paths[] = {
		"a/b", "a/l", "a/up", "a/abs", "a/dang", "a/none", "a/b/f",
		"a/l/f", "a/up/f", "a/none/x", "a/ign", "a/l/l2",
	};
	struct stele_context *ctx = NULL, *fresh = NULL;
	struct stele_ctx_stat st;
	char *dir = NULL, *want, *got;
	size_t i;

	(void)state;
	assert_ok(stele_fs_mkdtemp(&dir, getenv("TMPDIR"), "stele-test-ctx"));
	mkdir_in(dir, "a/b");
	put(dir, "a/b/f", "f\n", 0644);
	put(dir, ".dockerignore", "a/ign\n", 0644);
	mkdir_in(dir, "a/ign");
	symlink_in(dir, "a/l", "b");
	symlink_in(dir, "a/b/l2", "../l");
	symlink_in(dir, "a/up", "../a/b");
	symlink_in(dir, "a/abs", "/a/b");
	symlink_in(dir, "a/dang", "nothere");
	assert_ok(stele_context_open_dir(&ctx, dir));
	for (i = 0; i < NELEM(paths); i++) {
		int fe, ge;

		assert_ok(stele_context_open_dir(&fresh, dir));
		fe = stele_context_resolve(&want, fresh, paths[i]);
		/* The parent resolved just before, as a COPY walk does. */
		assert_ok(stele_context_stat(&st, ctx, "a/b/f"));
		stele_ctx_stat_release(&st);
		assert_ok(stele_context_stat(&st, ctx, "a/b"));
		stele_ctx_stat_release(&st);
		ge = stele_context_resolve(&got, ctx, paths[i]);
		assert_int_equal(ge, fe);
		if (!fe)
			assert_string_equal(got, want);
		free(want);
		free(got);
		stele_context_free(fresh);
		fresh = NULL;
	}
	stele_context_free(ctx);
	stele_fs_rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builder_context_keep),
		cmocka_unit_test(test_builder_context_resolve_memo),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
