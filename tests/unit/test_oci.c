/* Unit tests for oci/: references, layouts and transactions, layer plans. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "oci/digest.h"
#include "oci/hashpipe.h"
#include "oci/layer.h"
#include "oci/layout.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "tests/unit/unit.h"

static void
test_oci_ref_parse(void **state)
{
	struct stele_ref *r;

	(void)state;
	assert_ok(stele_ref_parse(&r, "app:1.0", "/tmp/st"));
	assert_int_equal(r->transport, STELE_REF_STORE);
	assert_string_equal(r->name, "app");
	assert_string_equal(r->tag, "1.0");
	assert_string_equal(r->refname, "app:1.0");
	assert_string_equal(r->dir, "/tmp/st");
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "team/app", "/tmp/st"));
	assert_string_equal(r->refname, "team/app:latest");
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "oci:/a/b:v1", "/tmp/st"));
	assert_int_equal(r->transport, STELE_REF_OCI);
	assert_string_equal(r->dir, "/a/b");
	assert_string_equal(r->refname, "v1");
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "oci:rel/dir", "/tmp/st"));
	assert_string_equal(r->dir, "rel/dir");
	assert_null(r->tag);
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "oci:/x@sha256:"
		"0000000000000000000000000000000000000000000000000000000000000000", "/tmp/st"));
	assert_string_equal(r->dir, "/x");
	assert_non_null(r->digest);
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "docker://127.0.0.1:5000/x/y:2", "/tmp/st"));
	assert_int_equal(r->transport, STELE_REF_DOCKER);
	assert_string_equal(r->name, "127.0.0.1:5000/x/y");
	assert_string_equal(r->tag, "2");
	stele_ref_free(r);
}

static void
test_oci_ref_docker_name(void **state)
{
	static const char *const good[][2] = {
		{ "debian", "docker.io/library/debian" },
		{ "library/alpine", "docker.io/library/alpine" },
		{ "docker.io/debian", "docker.io/library/debian" },
		{ "index.docker.io/debian", "docker.io/library/debian" },
		{ "docker.io/org/app", "docker.io/org/app" },
		{ "org/sub/app-x", "docker.io/org/sub/app-x" },
		{ "a__b.c_d--e", "docker.io/library/a__b.c_d--e" },
		{ "localhost/app", "localhost/app" },
		{ "127.0.0.1:5000/app", "127.0.0.1:5000/app" },
		{ "registry.example/x/y", "registry.example/x/y" },
	};
	static const char *const bad[] = {
		"Debian", "a/B", "-a", "a-", "a..b", "a___b", "a//b", "a/", "",
		"docker.io/", "a.", "_a", "a b", "a@b",
	};
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		assert_ok(stele_ref_docker_name(&out, good[i][0]));
		assert_string_equal(out, good[i][1]);
		free(out);
	}
	for (i = 0; i < NELEM(bad); i++) {
		if (stele_ref_docker_name(&out, bad[i]) != STELE_EINVALID)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(out);
		assert_non_null(strstr(stele_error_last(), "not a repository name"));
	}
}

static void
test_oci_ref_reject(void **state)
{
	static const char *bad[] = { "Upper:1", "app:bad tag", "app@sha256:12",
		"ftp://x/y", "oci:", "docker://noslash", "app:", "/abs:1", NULL };
	struct stele_ref *r;
	size_t i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		assert_int_equal(stele_ref_parse(&r, bad[i], "/tmp/st"), STELE_EINVALID);
		assert_null(r);
	}
	/* No store given: a store name is refused, the others still parse. */
	assert_int_equal(stele_ref_parse(&r, "app:1", NULL), STELE_EINVALID);
	assert_null(r);
	assert_non_null(strstr(stele_error_last(), "no store is given"));
	assert_ok(stele_ref_parse(&r, "oci:/a:1", NULL));
	stele_ref_free(r);
	assert_ok(stele_ref_parse(&r, "docker://h.example/a:1", NULL));
	stele_ref_free(r);
}

static void
test_oci_path_order(void **state)
{
	(void)state;
	/* Parents first, directory by directory, whiteouts first. */
	assert_true(stele_layer_path_cmp("a", "a/b") < 0);
	assert_true(stele_layer_path_cmp("a/b", "a-b") < 0);
	assert_true(stele_layer_path_cmp("a/z", "a/.wh.b") > 0);
	assert_true(stele_layer_path_cmp(".wh.x", "a") < 0);
	assert_true(stele_layer_path_cmp("B", "a") < 0);
	assert_int_equal(stele_layer_path_cmp("x/y", "x/y"), 0);
}

static char *
tmpdir(void)
{
	char *d;

	assert_ok(stele_fs_mkdtemp(&d, getenv("TMPDIR"), "stele-unit"));
	return d;
}

static void
test_oci_txn_abort_leaves_nothing(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *tmp;
	struct stele_oci *oci;
	struct stele_txn *txn;
	char dig[STELE_DIGEST_STRLEN];

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "hello", 5, dig));
	stele_txn_free(txn);
	assert_false(stele_oci_blob_exists(oci, dig));
	tmp = stele_path_join(layout, STELE_TEMP_DIR);
	assert_false(stele_fs_exists(tmp));
	/* The layout this process created is undone too. */
	assert_false(stele_fs_exists(layout));
	stele_oci_free(oci);
	free(tmp);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

static void
test_oci_txn_commit_and_tag(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	struct stele_oci *oci;
	struct stele_txn *txn;
	struct stele_buf b = STELE_BUF_INIT(1024);
	char d1[STELE_DIGEST_STRLEN], d2[STELE_DIGEST_STRLEN];
	json_t *desc, *found;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "{}", 2, d1));
	desc = stele_descriptor(STELE_MT_MANIFEST, d1, 2);
	assert_ok(stele_txn_index_add(txn, "t", desc));
	json_decref(desc);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_true(stele_oci_blob_exists(oci, d1));
	assert_ok(stele_oci_blob_read(&b, oci, d1));
	assert_int_equal(b.len, 2);
	/* Retagging replaces the entry. */
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "[]", 2, d2));
	desc = stele_descriptor(STELE_MT_MANIFEST, d2, 2);
	assert_ok(stele_txn_index_add(txn, "t", desc));
	json_decref(desc);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_ok(stele_oci_resolve(&found, oci, "t", NULL));
	assert_string_equal(stele_json_str(found, "digest"), d2);
	json_decref(found);
	assert_int_equal(stele_oci_resolve(&found, oci, "nope", NULL), STELE_ENOTFOUND);
	stele_buf_release(&b);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

/* The one entry of DIR/.stele-tmp named txn-*, or NULL. */
static char *
only_stage(const char *layout)
{
	char *tmp = stele_path_join(layout, STELE_TEMP_DIR), *found = NULL;
	DIR *dir = opendir(tmp);
	struct dirent *de;

	assert_non_null(dir);
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "txn-", 4)) {
			assert_null(found);
			found = stele_path_join(tmp, de->d_name);
		}
	closedir(dir);
	free(tmp);
	return found;
}

static void
test_oci_txn_staging_in_use(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *stage, *dead;
	char *lock;
	struct stele_oci *oci;
	struct stele_txn *txn;
	FILE *f;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	stage = only_stage(layout);
	assert_non_null(stage);
	/* Its owner holds it (another open file description conflicts). */
	assert_true(stele_oci_staging_in_use(stage));
	/* A leftover: a lock file nobody holds, or none at all. */
	dead = stele_xasprintf("%s/%s/txn-dead", layout, STELE_TEMP_DIR);
	assert_ok(stele_fs_mkdir_p(dead, 0755));
	assert_false(stele_oci_staging_in_use(dead));
	lock = stele_path_join(dead, ".lock");
	assert_non_null(f = fopen(lock, "w"));
	fclose(f);
	assert_false(stele_oci_staging_in_use(dead));
	stele_txn_free(txn);
	assert_false(stele_fs_exists(stage));
	assert_true(stele_fs_exists(dead));
	free(lock);
	free(dead);
	free(stage);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

static void
test_oci_txn_new_layout_kept_for_others(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	struct stele_oci *mine, *theirs;
	struct stele_txn *t1, *t2;
	char dig[STELE_DIGEST_STRLEN];
	json_t *desc, *found;

	(void)state;
	assert_ok(stele_oci_open(&mine, layout, 1));
	assert_true(mine->created);
	assert_ok(stele_oci_open(&theirs, layout, 1));
	assert_false(theirs->created);
	/* My failed transaction leaves the layout their live one uses. */
	assert_ok(stele_txn_begin(&t2, theirs));
	assert_ok(stele_txn_begin(&t1, mine));
	stele_txn_free(t1);
	assert_ok(stele_txn_put_blob(t2, "{}", 2, dig));
	desc = stele_descriptor(STELE_MT_MANIFEST, dig, 2);
	assert_ok(stele_txn_index_add(t2, "t", desc));
	assert_ok(stele_txn_commit(t2));
	stele_txn_free(t2);
	assert_ok(stele_oci_resolve(&found, theirs, "t", NULL));
	json_decref(found);
	stele_oci_free(mine);
	stele_oci_free(theirs);
	/* Undone when nobody was in it; a handle opened with create makes it
	 * again for its next transaction. */
	stele_fs_rm_rf(layout);
	assert_ok(stele_oci_open(&mine, layout, 1));
	assert_ok(stele_oci_open(&theirs, layout, 1));
	assert_ok(stele_txn_begin(&t1, mine));
	stele_txn_free(t1);
	assert_false(stele_fs_exists(layout));
	assert_ok(stele_txn_begin(&t2, theirs));
	assert_ok(stele_txn_put_blob(t2, "{}", 2, dig));
	assert_ok(stele_txn_index_add(t2, "t", desc));
	assert_ok(stele_txn_commit(t2));
	stele_txn_free(t2);
	assert_ok(stele_oci_resolve(&found, theirs, "t", NULL));
	json_decref(found);
	json_decref(desc);
	stele_oci_free(mine);
	stele_oci_free(theirs);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

static void
test_oci_txn_hold_blob(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *p;
	char dig[STELE_DIGEST_STRLEN];
	struct stele_oci *oci;
	struct stele_txn *txn;
	json_t *desc;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "{}", 2, dig));
	assert_ok(stele_txn_commit(txn)); /* an unreferenced blob */
	stele_txn_free(txn);
	assert_ok(stele_txn_begin(&txn, oci));
	assert_true(stele_txn_hold_blob(txn, dig));
	assert_false(stele_txn_hold_blob(txn,
		"sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	/* A prune removes it meanwhile; the commit that reuses it brings it back. */
	p = stele_oci_blob_path(oci, dig);
	assert_int_equal(unlink(p), 0);
	desc = stele_descriptor(STELE_MT_MANIFEST, dig, 2);
	assert_ok(stele_txn_index_add(txn, "t", desc));
	json_decref(desc);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_true(stele_fs_exists(p));
	free(p);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

static void
test_oci_txn_annotate_if_unchanged(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	char d1[STELE_DIGEST_STRLEN], d2[STELE_DIGEST_STRLEN];
	struct stele_oci *oci;
	struct stele_txn *txn, *slow;
	json_t *desc, *found;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "{}", 2, d1));
	desc = stele_descriptor(STELE_MT_MANIFEST, d1, 2);
	assert_ok(stele_txn_index_add(txn, "t", desc));
	json_decref(desc);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	/* Annotating t while it names d1: applied. */
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_index_annotate(txn, "t", d1, "k", "v1"));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_ok(stele_oci_resolve(&found, oci, "t", NULL));
	assert_string_equal(stele_json_str(json_object_get(found, "annotations"), "k"), "v1");
	json_decref(found);
	/* A slow writer annotates d1 while another moves t to d2: t stays d2. */
	assert_ok(stele_txn_begin(&slow, oci));
	assert_ok(stele_txn_index_annotate(slow, "t", d1, "k", "v2"));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "[]", 2, d2));
	desc = stele_descriptor(STELE_MT_MANIFEST, d2, 2);
	assert_ok(stele_txn_index_add(txn, "t", desc));
	json_decref(desc);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	assert_ok(stele_txn_commit(slow));
	stele_txn_free(slow);
	assert_ok(stele_oci_resolve(&found, oci, "t", NULL));
	assert_string_equal(stele_json_str(found, "digest"), d2);
	assert_null(stele_json_str(json_object_get(found, "annotations"), "k"));
	json_decref(found);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

static void
test_oci_blob_corrupt(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *p;
	struct stele_oci *oci;
	struct stele_txn *txn;
	struct stele_buf b = STELE_BUF_INIT(1024);
	char dig[STELE_DIGEST_STRLEN];
	FILE *f;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, "good", 4, dig));
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	p = stele_oci_blob_path(oci, dig);
	f = fopen(p, "w");
	fputs("evil", f);
	fclose(f);
	assert_int_equal(stele_oci_blob_read(&b, oci, dig), STELE_EVERIFY);
	assert_non_null(strstr(stele_error_last(), "corrupt"));
	free(p);
	stele_buf_release(&b);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
}

/* Overwrite the first bytes of a file in place (same size, same inode). */
static void
scribble(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "r+");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, strlen(bytes), f), strlen(bytes));
	assert_int_equal(fclose(f), 0);
}

/* Stage blob `dig` of `from` into a new layout at `layout`, committed. */
static int
stage_into(const char *layout, struct stele_txn *from, const char *dig)
{
	struct stele_oci *oci;
	struct stele_txn *txn;
	int error;

	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	if ((error = stele_txn_stage_from(txn, from, dig)) == 0)
		assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	stele_oci_free(oci);
	return error;
}

/* A layout "a" under `d` with blob "layer bytes" staged in *ta. */
static void
staged_blob(struct stele_oci **oa, struct stele_txn **ta, const char *d,
	    char dig[STELE_DIGEST_STRLEN])
{
	char *a = stele_path_join(d, "a");

	assert_ok(stele_oci_open(oa, a, 1));
	assert_ok(stele_txn_begin(ta, *oa));
	assert_ok(stele_txn_put_blob(*ta, "layer bytes", 11, dig));
	free(a);
}

static void
test_oci_txn_stage_from(void **state)
{
	char *d = tmpdir(), *b = stele_path_join(d, "b"),
	     *b2 = stele_path_join(d, "b2"), *src, *dst;
	struct stele_buf buf = STELE_BUF_INIT(1024);
	struct stele_oci *oa, *ob;
	struct stele_txn *ta;
	struct stat s1, s2;
	char dig[STELE_DIGEST_STRLEN];

	(void)state;
	staged_blob(&oa, &ta, d, dig);
	src = stele_txn_blob_path(ta, dig);
	/* One file system: a hard link to the staged blob. */
	assert_ok(stage_into(b, ta, dig));
	assert_ok(stele_oci_open(&ob, b, 0));
	dst = stele_oci_blob_path(ob, dig);
	assert_int_equal(stat(src, &s1), 0);
	assert_int_equal(stat(dst, &s2), 0);
	assert_true(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
	stele_oci_free(ob);
	/* A link is not read again (stele_txn_stage_file refuses this one);
	 * the layout's readers check the blob. */
	scribble(src, "LAYER");
	assert_ok(stage_into(b2, ta, dig));
	assert_ok(stele_oci_open(&ob, b2, 0));
	assert_int_equal(stele_oci_blob_read(&buf, ob, dig), STELE_EVERIFY);
	stele_oci_free(ob);
	stele_buf_release(&buf);
	stele_txn_free(ta);
	stele_oci_free(oa);
	stele_fs_rm_rf(d);
	free(dst);
	free(src);
	free(b2);
	free(b);
	free(d);
}

/* Where no link can be made, the blob is copied and verified. */
static void
test_oci_txn_stage_from_other_fs(void **state)
{
	char *d = tmpdir(), *shm = NULL, *c, *c2, *src;
	struct stele_oci *oa, *oc;
	struct stele_txn *ta;
	struct stat sd, ss;
	char dig[STELE_DIGEST_STRLEN];

	(void)state;
	if (stat("/dev/shm", &sd) < 0 || stat(d, &ss) < 0 ||
	    sd.st_dev == ss.st_dev ||
	    stele_fs_mkdtemp(&shm, "/dev/shm", "stele-unit") < 0) {
		stele_fs_rm_rf(d);
		free(d);
		print_message("skip: no /dev/shm on another file system\n");
		skip();
	}
	c = stele_path_join(shm, "c");
	c2 = stele_path_join(shm, "c2");
	staged_blob(&oa, &ta, d, dig);
	src = stele_txn_blob_path(ta, dig);
	scribble(src, "LAYER");
	assert_err(stage_into(c, ta, dig), STELE_EVERIFY, "corrupt");
	scribble(src, "layer");
	assert_ok(stage_into(c2, ta, dig));
	assert_ok(stele_oci_open(&oc, c2, 0));
	assert_true(stele_oci_blob_exists(oc, dig));
	stele_oci_free(oc);
	stele_txn_free(ta);
	stele_oci_free(oa);
	stele_fs_rm_rf(shm);
	stele_fs_rm_rf(d);
	free(src);
	free(c2);
	free(c);
	free(shm);
	free(d);
}

/* Entries as a tar reader sees them: "path type link". */
static void
list_layer(struct stele_buf *out, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		stele_buf_printf(out, "%s %o %s %lld\n", archive_entry_pathname(ae),
			archive_entry_mode(ae),
			archive_entry_hardlink(ae) ? archive_entry_hardlink(ae) :
			archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "-",
			(long long)archive_entry_mtime(ae));
	}
	archive_read_free(a);
}

static void
plan_file(struct stele_plan *p, const char *path, const char *src, uint64_t key)
{
	struct stele_plan_entry e = { 0 };
	struct stat st;

	assert_int_equal(stat(src, &st), 0);
	e.path = (char *)path;
	e.type = STELE_ENTRY_FILE;
	e.perm = 0644;
	e.mtime = 1700000000;
	e.size = (uint64_t)st.st_size;
	e.src_kind = STELE_SRC_PATH;
	e.src = (char *)src;
	e.link_key = key;
	stele_plan_add(p, &e);
}

static void
test_oci_layer_canonical(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	char *f1 = stele_path_join(d, "f1");
	struct stele_plan p = STELE_PLAN_INIT, q = STELE_PLAN_INIT;
	struct stele_plan_entry e = { 0 };
	struct stele_layer_result r1, r2;
	struct stele_layer_opts o = { 0 };
	struct stele_buf list = STELE_BUF_INIT(1 << 16);
	struct stele_oci *oci;
	struct stele_txn *txn;
	char *path;

	(void)state;
	assert_ok(stele_fs_write_atomic(f1, "data\n", 5, 0600));
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	/* Added out of order, a duplicate path replaced, two hardlinked. */
	plan_file(&p, "z/b", f1, 7);
	plan_file(&p, "z/a", f1, 7);
	e.path = (char *)"z";
	e.type = STELE_ENTRY_DIR;
	e.perm = 0755;
	e.mtime = 1700000000;
	stele_plan_add(&p, &e);
	e.path = (char *)"z/l";
	e.type = STELE_ENTRY_SYMLINK;
	e.perm = 0777;
	e.link = (char *)"a";
	stele_plan_add(&p, &e);
	plan_file(&p, "y", f1, 0);
	plan_file(&p, "y", f1, 0);
	assert_int_equal(p.n, 5);
	o.compression = STELE_COMPRESS_GZIP;
	assert_ok(stele_plan_write(&r1, &p, txn, &o));
	/* The same entries in another order give the same bytes. */
	plan_file(&q, "y", f1, 0);
	e.path = (char *)"z/l";
	stele_plan_add(&q, &e);
	plan_file(&q, "z/a", f1, 9);
	plan_file(&q, "z/b", f1, 9);
	e.path = (char *)"z";
	e.type = STELE_ENTRY_DIR;
	e.perm = 0755;
	e.link = NULL;
	stele_plan_add(&q, &e);
	assert_ok(stele_plan_write(&r2, &q, txn, &o));
	assert_string_equal(r1.digest, r2.digest);
	assert_string_equal(r1.diff_id, r2.diff_id);
	assert_string_equal(r1.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	path = stele_txn_blob_path(txn, r1.digest);
	list_layer(&list, path);
	assert_string_equal(list.ptr,
		"y 100644 - 1700000000\n"
		"z/ 40755 - 1700000000\n"
		"z/a 100644 - 1700000000\n"
		"z/b 644 z/a 1700000000\n"
		"z/l 120777 a 1700000000\n");
	free(path);
	stele_buf_release(&list);
	stele_plan_release(&p);
	stele_plan_release(&q);
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(f1);
	free(d);
}

static void
test_oci_layer_file_changed(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	char *f1 = stele_path_join(d, "f1");
	struct stele_plan p = STELE_PLAN_INIT;
	struct stele_layer_result r;
	struct stele_layer_opts o = { 0 };
	struct stele_oci *oci;
	struct stele_txn *txn;

	(void)state;
	assert_ok(stele_fs_write_atomic(f1, "data\n", 5, 0600));
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	plan_file(&p, "f", f1, 0);
	/* The file grows between planning and writing. */
	assert_ok(stele_fs_write_atomic(f1, "more data\n", 10, 0600));
	assert_int_equal(stele_plan_write(&r, &p, txn, &o), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "grew"));
	stele_plan_release(&p);
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(f1);
	free(d);
}

static void
test_oci_json_canonical(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(1024);
	json_t *v = json_pack("{s:i,s:{s:s,s:s}}", "z", 1, "a", "y", "1", "x", "2");
	json_t *bad = json_pack("{s:f}", "f", 1.5), *out;

	(void)state;
	assert_ok(stele_json_emit(&b, v));
	assert_string_equal(b.ptr, "{\"a\":{\"x\":\"2\",\"y\":\"1\"},\"z\":1}");
	assert_int_equal(stele_json_emit(&b, bad), STELE_EINVALID);
	assert_int_equal(stele_json_parse(&out, "{\"a\":1,\"a\":2}", 13, "t"),
			 STELE_EINVALID);
	assert_null(out);
	json_decref(v);
	json_decref(bad);
	stele_buf_release(&b);
}

static void
test_oci_hashpipe_same_digest(void **state)
{
	static const size_t sizes[] = { 0, 1, (1u << 20) - 1, 1u << 20,
					(1u << 20) + 1, 5u << 20 };
	size_t i, n = 5u << 20, k;
	unsigned char *data = malloc(n);

	(void)state;
	for (k = 0; k < n; k++)
		data[k] = (unsigned char)(k * 2654435761u >> 13);
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct stele_hashpipe *p;
		char want[STELE_DIGEST_STRLEN], got[STELE_DIGEST_STRLEN];
		uint64_t size = 0;
		size_t off = 0;

		stele_digest_bytes(want, data, sizes[i]);
		assert_ok(stele_hashpipe_start(&p));
		/* odd write sizes across chunk boundaries */
		while (off < sizes[i]) {
			size_t len = sizes[i] - off < 70001 ? sizes[i] - off : 70001;

			stele_hashpipe_write(p, data + off, len);
			off += len;
		}
		stele_hashpipe_finish(p, got, &size);
		assert_string_equal(got, want);
		assert_int_equal(size, sizes[i]);
	}
	/* freed without a result: no leak, no hang */
	{
		struct stele_hashpipe *p;

		assert_ok(stele_hashpipe_start(&p));
		stele_hashpipe_write(p, data, n);
		stele_hashpipe_free(p);
	}
	free(data);
}

/* What a stele_hashpipe_then_fn saw. */
struct seen {
	struct stele_buf b;
	int fail_at; /* fail on this call (1-based), 0: never */
	int calls;
};

static int
seen_then(void *payload, const void *chunk, size_t len)
{
	struct seen *s = payload;

	if (++s->calls == s->fail_at)
		return 28; /* ENOSPC, say */
	return stele_buf_put(&s->b, chunk, len) < 0 ? 12 : 0;
}

/*
 * Parts: each digest is that of its bytes alone, whether the part sits in
 * one chunk or spans several, starts a chunk or a write, is one byte or
 * follows another with no gap; the stream's own digest is unchanged, the
 * bytes reach `then` in order, and a part the stream never reaches is
 * left alone.
 */
static void
test_oci_hashpipe_parts(void **state)
{
	static const uint64_t part[][2] = {
		{ 0, 1 },	   { 1, 511 },	       { 4096, 1u << 20 },
		{ (1u << 20) + 4096, 3 }, { (2u << 20) - 7, 14 },
		{ (2u << 20) + 7, (2u << 20) + 3 }, { (5u << 20) - 1, 1 },
		{ 6u << 20, 10 } /* past the end */
	};
	size_t n = 5u << 20, k, off = 0;
	unsigned char *data = malloc(n);
	unsigned char got[NELEM(part)][STELE_SHA256_LEN], raw[STELE_SHA256_LEN];
	unsigned char untouched[STELE_SHA256_LEN];
	char want[STELE_DIGEST_STRLEN];
	struct seen seen = { STELE_BUF_INIT(8u << 20), 0, 0 };
	struct stele_hashpipe *p;
	uint64_t size;

	(void)state;
	for (k = 0; k < n; k++)
		data[k] = (unsigned char)(k * 2654435761u >> 13);
	assert_ok(stele_hashpipe_start_then(&p, seen_then, &seen));
	for (k = 0; k < NELEM(part); k++) {
		size_t to = part[k][0] < n ? (size_t)part[k][0] : n;

		memset(got[k], 0xa5, sizeof(got[k]));
		/* Added as late as allowed: just before the part's bytes. */
		while (off < to) {
			size_t len = to - off < 70001 ? to - off : 70001;

			stele_hashpipe_write(p, data + off, len);
			off += len;
		}
		assert_ok(stele_hashpipe_part(p, part[k][0], part[k][1],
					      got[k]));
	}
	/* A chunk handed over whole counts as written too. */
	{
		unsigned char *c = malloc(n - off);

		memcpy(c, data + off, n - off);
		stele_hashpipe_take(p, c, n - off);
	}
	assert_int_equal(stele_hashpipe_finish(p, want, &size), 0);
	assert_int_equal(size, n);
	{
		char all[STELE_DIGEST_STRLEN];

		stele_digest_bytes(all, data, n);
		assert_string_equal(want, all);
	}
	for (k = 0; k + 1 < NELEM(part); k++) {
		stele_sha256_raw(raw, data + part[k][0], part[k][1]);
		assert_memory_equal(got[k], raw, sizeof(raw));
	}
	memset(untouched, 0xa5, sizeof(untouched));
	assert_memory_equal(got[k], untouched, sizeof(untouched));
	assert_int_equal(seen.b.len, n);
	assert_memory_equal(seen.b.ptr, data, n);
	stele_buf_release(&seen.b);

	/* `then` fails: finish says so, the digest is still taken. */
	seen.b = (struct stele_buf)STELE_BUF_INIT(8u << 20);
	seen.fail_at = 2;
	seen.calls = 0;
	assert_ok(stele_hashpipe_start_then(&p, seen_then, &seen));
	stele_hashpipe_write(p, data, n);
	assert_int_equal(stele_hashpipe_finish(p, want, NULL), 28);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(seen.b.len, 1u << 20);
	stele_buf_release(&seen.b);

	/* Freed with parts unfinished or not started: no leak, no hang. */
	assert_ok(stele_hashpipe_start(&p));
	assert_ok(stele_hashpipe_part(p, 10, 3u << 20, got[0]));
	assert_ok(stele_hashpipe_part(p, 4u << 20, 5, got[1]));
	stele_hashpipe_write(p, data, 2u << 20);
	stele_hashpipe_free(p);
	free(data);
}

/*
 * The asynchronous blob writer stages the same blob as the plain one; a
 * write that fails on its thread (here: past RLIMIT_FSIZE) fails the
 * commit, naming the blob and the reason.
 */
static void
test_oci_blob_writer_async(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l");
	size_t n = (3u << 20) + 5, k;
	unsigned char *data = malloc(n);
	char d1[STELE_DIGEST_STRLEN], d2[STELE_DIGEST_STRLEN];
	struct stele_blob_writer *w;
	struct stele_oci *oci;
	struct stele_txn *txn;
	struct rlimit old, lim;
	uint64_t size = 0;
	void (*was)(int);

	(void)state;
	for (k = 0; k < n; k++)
		data[k] = (unsigned char)(k * 2654435761u >> 11);
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, data, n, d1));
	assert_ok(stele_txn_blob_new_async(&w, txn));
	for (k = 0; k < n; k += 99991)
		assert_ok(stele_blob_writer_write(w, data + k,
						  n - k < 99991 ? n - k : 99991));
	assert_ok(stele_blob_writer_commit(w, d2, &size));
	assert_string_equal(d1, d2);
	assert_int_equal(size, n);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1u << 20;
	was = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_ok(stele_txn_blob_new_async(&w, txn));
	assert_ok(stele_blob_writer_write(w, data, n));
	assert_err(stele_blob_writer_commit(w, d2, NULL), STELE_ERROR,
		   "File too large");
	assert_non_null(strstr(stele_error_last(), "cannot write blob"));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(layout);
	free(d);
	free(data);
}

/*
 * A layer's staged file stays open until the commit has waited for its
 * fsync (stele_txn_blob_new_async): it is never inherited by a process
 * the build starts meanwhile (a later RUN step's runtime).
 */
static void
test_oci_blob_fd_cloexec(void **state)
{
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *staged;
	char dig[STELE_DIGEST_STRLEN], link[4096];
	struct stele_blob_writer *w;
	struct stele_oci *oci;
	struct stele_txn *txn;
	struct dirent *de;
	DIR *fds;
	int found = 0;

	(void)state;
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_blob_new_async(&w, txn));
	assert_ok(stele_blob_writer_write(w, "layer", 5));
	assert_ok(stele_blob_writer_commit(w, dig, NULL));
	staged = stele_txn_blob_path(txn, dig);
	assert_non_null(fds = opendir("/proc/self/fd"));
	while ((de = readdir(fds))) {
		char *p = stele_xasprintf("/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(p, link, sizeof(link) - 1);

		free(p);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, staged))
			continue;
		found++;
		assert_true(fcntl(atoi(de->d_name), F_GETFD) & FD_CLOEXEC);
	}
	closedir(fds);
	/* Open until the commit has waited for its fsync. */
	assert_int_equal(found, 1);
	assert_ok(stele_txn_commit(txn));
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(staged);
	free(layout);
	free(d);
}

/*
 * A blob written in pieces of every size (a byte, lines, pieces that cross
 * the writer's 64 KiB gathering buffer or are larger than it) is the blob
 * written at once: same digest, size and bytes.
 */
static void
test_oci_blob_writer_pieces(void **state)
{
	static const size_t piece[] = { 1, 150, 65535, 65536, 65537, 7, 200000,
					3, 131072 };
	char *d = tmpdir(), *layout = stele_path_join(d, "l"), *p;
	size_t n = 0, k, off = 0;
	unsigned char *data;
	char d1[STELE_DIGEST_STRLEN], d2[STELE_DIGEST_STRLEN];
	struct stele_buf got = STELE_BUF_INIT(1u << 20);
	struct stele_blob_writer *w;
	struct stele_oci *oci;
	struct stele_txn *txn;
	uint64_t size = 0;

	(void)state;
	for (k = 0; k < NELEM(piece); k++)
		n += piece[k];
	data = malloc(n);
	for (k = 0; k < n; k++)
		data[k] = (unsigned char)(k * 2654435761u >> 7);
	assert_ok(stele_oci_open(&oci, layout, 1));
	assert_ok(stele_txn_begin(&txn, oci));
	assert_ok(stele_txn_put_blob(txn, data, n, d1));
	assert_ok(stele_txn_blob_new(&w, txn));
	for (k = 0; k < NELEM(piece); k++) {
		assert_ok(stele_blob_writer_write(w, data + off, piece[k]));
		off += piece[k];
	}
	assert_ok(stele_blob_writer_commit(w, d2, &size));
	assert_string_equal(d1, d2);
	assert_int_equal(size, n);
	p = stele_txn_blob_path(txn, d2);
	assert_ok(stele_fs_read(&got, p));
	assert_int_equal(got.len, n);
	assert_memory_equal(got.ptr, data, n);
	stele_buf_release(&got);
	stele_txn_free(txn);
	stele_oci_free(oci);
	stele_fs_rm_rf(d);
	free(p);
	free(data);
	free(layout);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_ref_parse),
		cmocka_unit_test(test_oci_ref_reject),
		cmocka_unit_test(test_oci_ref_docker_name),
		cmocka_unit_test(test_oci_path_order),
		cmocka_unit_test(test_oci_txn_abort_leaves_nothing),
		cmocka_unit_test(test_oci_txn_commit_and_tag),
		cmocka_unit_test(test_oci_txn_staging_in_use),
		cmocka_unit_test(test_oci_txn_new_layout_kept_for_others),
		cmocka_unit_test(test_oci_txn_hold_blob),
		cmocka_unit_test(test_oci_txn_annotate_if_unchanged),
		cmocka_unit_test(test_oci_blob_corrupt),
		cmocka_unit_test(test_oci_txn_stage_from),
		cmocka_unit_test(test_oci_txn_stage_from_other_fs),
		cmocka_unit_test(test_oci_layer_canonical),
		cmocka_unit_test(test_oci_layer_file_changed),
		cmocka_unit_test(test_oci_json_canonical),
		cmocka_unit_test(test_oci_hashpipe_same_digest),
		cmocka_unit_test(test_oci_hashpipe_parts),
		cmocka_unit_test(test_oci_blob_writer_async),
		cmocka_unit_test(test_oci_blob_fd_cloexec),
		cmocka_unit_test(test_oci_blob_writer_pieces),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
