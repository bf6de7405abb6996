#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sbom/sbom.h"
#include "sbom/tree.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

static void
pkgs_free(struct stele_sbom__pkgs *ps)
{
	while (ps->n)
		stele_sbom__pkg_release(&ps->v[--ps->n]);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static const char status_ok[] =
	"Package: libc6\n"
	"Status: install ok installed\n"
	"Architecture: amd64\n"
	"Multi-Arch: same\n"
	"Source: glibc\n"
	"Version: 2.36-9+deb12u4\n"
	"Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
	"Description: GNU C Library: Shared libraries\n"
	" Contains the standard libraries.\n"
	" .\n"
	" More.\n"
	"Homepage: https://www.gnu.org/software/libc/libc.html\n"
	"\n"
	"Package: gone\n"
	"Status: deinstall ok config-files\n"
	"Architecture: amd64\n"
	"Version: 1.0\n"
	"\n"
	"Package: never\n"
	"Status: install ok not-installed\n"
	"\n"
	"Package: libgcc-s1\n"
	"Status: install ok installed\n"
	"Architecture: amd64\n"
	"Source: gcc-12 (12.2.0-14)\n"
	"Version: 1:12.2.0-14\n"
	"\n";

static void
test_sbom_dpkg_status(void **state)
{
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	char *purl;

	(void)state;
	assert_ok(stele_sbom__dpkg_status(&ps, status_ok, strlen(status_ok),
					  "var/lib/dpkg/status"));
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.v[0].name, "libc6");
	assert_string_equal(ps.v[0].version, "2.36-9+deb12u4");
	assert_string_equal(ps.v[0].arch, "amd64");
	assert_string_equal(ps.v[0].source, "glibc");
	assert_string_equal(ps.v[0].source_version, "2.36-9+deb12u4");
	assert_string_equal(ps.v[0].url, "https://www.gnu.org/software/libc/libc.html");
	assert_string_equal(ps.v[1].name, "libgcc-s1");
	assert_string_equal(ps.v[1].source, "gcc-12");
	assert_string_equal(ps.v[1].source_version, "12.2.0-14");
	purl = stele_sbom__purl(&ps.v[0], "debian", "debian-12");
	assert_string_equal(purl, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4"
			    "?arch=amd64&distro=debian-12&upstream=glibc");
	free(purl);
	purl = stele_sbom__purl(&ps.v[1], "debian", NULL);
	assert_string_equal(purl, "pkg:deb/debian/libgcc-s1@1%3A12.2.0-14"
			    "?arch=amd64&upstream=gcc-12%4012.2.0-14");
	free(purl);
	pkgs_free(&ps);
}

/* Every malformed status is refused, naming the file and line. */
static void
test_sbom_dpkg_rejects(void **state)
{
	static const struct { const char *in, *msg; } bad[] = {
		{ "Package: a\nVersion: 1\nnot a field\n", "line 3: not a 'Field: value'" },
		{ " continued\nPackage: a\n", "line 1: a continuation line" },
		{ "Version: 1\nStatus: install ok installed\n\n", "without a Package" },
		{ "Package: a\nPackage: b\nVersion: 1\n", "'Package' appears twice" },
		{ "Package: a\nStatus: install ok installed\n\n", "has no Version" },
		{ "Package: a\nVersion: 1 2\n", "malformed Version" },
		{ "Package: A_B\nVersion: 1\n", "not a Debian package name" },
		{ "Package: a\nVersion: 1\nArchitecture: x/y\n", "malformed Architecture" },
		{ "Package: a\nVersion: 1\nStatus: installed\n", "malformed Status" },
		{ "Package: a\nVersion: 1\nSource: b (1\n", "malformed Source" },
		{ "Package: a\nVersion: 1\nSource: b/c\n", "malformed Source" },
		{ "Package: a\nVersion: 1\nVersion: 2\n", "appears twice" },
		{ "Package: a\nVersion: 1\nArchitecture: amd64\n\n"
		  "Package: a\nVersion: 1\nArchitecture: amd64\n", NULL },
	};
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc = stele_sbom__dpkg_status(&ps, bad[i].in, strlen(bad[i].in),
						 "var/lib/dpkg/status");

		if (!bad[i].msg) {
			/* Duplicates are refused later, over all databases. */
			assert_int_equal(rc, 0);
			pkgs_free(&ps);
			continue;
		}
		if (rc != STELE_EINVALID)
			fail_msg("case %zu accepted", i);
		if (!strstr(stele_error_last(), bad[i].msg) ||
		    !strstr(stele_error_last(), "var/lib/dpkg/status"))
			fail_msg("case %zu: '%s'", i, stele_error_last());
		assert_int_equal(ps.n, 0);
	}
	/* A NUL byte. */
	assert_int_equal(stele_sbom__dpkg_status(&ps, "Package: a\0x\n", 12, "s"),
			 STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "NUL"));
	pkgs_free(&ps);
}

struct owned {
	char paths[8][64];
	char sums[8][64];
	size_t pkg[8];
	size_t n;
};

static int
own_cb(void *payload, size_t pkg, const char *path, const char *sum)
{
	struct owned *o = payload;

	assert_true(o->n < 8);
	snprintf(o->paths[o->n], 64, "%s", path);
	snprintf(o->sums[o->n], 64, "%s", sum ? sum : "-");
	o->pkg[o->n++] = pkg;
	return 0;
}

static const char apk_ok[] =
	"C:Q1abc=\n"
	"P:musl\n"
	"V:1.2.5-r0\n"
	"A:x86_64\n"
	"S:383152\n"
	"L:MIT\n"
	"o:musl\n"
	"c:4fe5ec52\n"
	"F:lib\n"
	"R:ld-musl-x86_64.so.1\n"
	"a:0:0:755\n"
	"Z:Q1vXSXGuhBPKKbOKnI6JdTSNBWTSk=\n"
	"R:libc.musl-x86_64.so.1\n"
	"\n"
	"P:busybox-binsh\n"
	"V:1.36.1-r29\n"
	"A:x86_64\n"
	"L:GPL-2.0-only\n"
	"o:busybox\n"
	"U:https://busybox.net/\n"
	"F:bin\n"
	"R:sh\n"
	"\n";

static void
test_sbom_apk(void **state)
{
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	struct owned o;
	char *purl;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_ok(stele_sbom__apk_installed(&ps, apk_ok, strlen(apk_ok),
					    "lib/apk/db/installed", own_cb, &o));
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.v[0].name, "musl");
	assert_string_equal(ps.v[0].version, "1.2.5-r0");
	assert_string_equal(ps.v[0].license, "MIT");
	assert_string_equal(ps.v[0].commit, "4fe5ec52");
	assert_string_equal(ps.v[1].source, "busybox");
	assert_int_equal(o.n, 3);
	assert_string_equal(o.paths[0], "lib/ld-musl-x86_64.so.1");
	assert_string_equal(o.sums[0], "Q1vXSXGuhBPKKbOKnI6JdTSNBWTSk=");
	assert_string_equal(o.paths[1], "lib/libc.musl-x86_64.so.1");
	assert_string_equal(o.sums[1], "-");
	assert_string_equal(o.paths[2], "bin/sh");
	assert_int_equal(o.pkg[2], 1);
	purl = stele_sbom__purl(&ps.v[1], "alpine", "alpine-3.20.3");
	assert_string_equal(purl, "pkg:apk/alpine/busybox-binsh@1.36.1-r29"
			    "?arch=x86_64&distro=alpine-3.20.3&upstream=busybox");
	free(purl);
	pkgs_free(&ps);
}

static void
test_sbom_apk_rejects(void **state)
{
	static const struct { const char *in, *msg; } bad[] = {
		{ "P:a\nV:1\nnonsense\n", "line 3: not a 'K:value'" },
		{ "V:1\n\n", "without a valid P: name" },
		{ "P:a b\nV:1\n", "without a valid P: name" },
		{ "P:a\n\n", "has no V: version" },
		{ "P:a\nV:1;rm\n", "malformed V: version" },
		{ "P:a\nV:1\nP:b\n", "field 'P' appears twice" },
		{ "P:a\nV:1\nR:file\n", "a file (R:) before its directory" },
		{ "P:a\nV:1\nA:x y\n", "malformed A: architecture" },
	};
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (stele_sbom__apk_installed(&ps, bad[i].in, strlen(bad[i].in),
					      "lib/apk/db/installed", NULL,
					      NULL) != STELE_EINVALID)
			fail_msg("case %zu accepted", i);
		if (!strstr(stele_error_last(), bad[i].msg))
			fail_msg("case %zu: '%s'", i, stele_error_last());
		assert_int_equal(ps.n, 0);
	}
	pkgs_free(&ps);
}

/* A huge database: more packages than the cap. */
static void
test_sbom_too_many(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(64u << 20);
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	size_t i;

	(void)state;
	for (i = 0; i <= STELE_SBOM_PKGS_MAX; i++)
		stele_buf_printf(&b, "P:p%zu\nV:1\n\n", i);
	assert_int_equal(stele_sbom__apk_installed(&ps, b.ptr, b.len, "installed",
						   NULL, NULL), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "more than"));
	assert_int_equal(ps.n, 0);
	pkgs_free(&ps);
	stele_buf_release(&b);
}

static struct stele_sbom__node *
node(const char *path, int type, const char *link)
{
	struct stele_sbom__node *n = stele_xcalloc(1, sizeof(*n));

	n->path = stele_xstrdup(path);
	n->type = (uint8_t)type;
	n->link = link ? stele_xstrdup(link) : NULL;
	return n;
}

/* Symlinks resolve as in the container: merged /usr, absolute targets,
 * "..", loops. */
static void
test_sbom_tree_resolve(void **state)
{
	struct stele_sbom__tree t;
	struct stele_sbom__node *n;
	char name[32];
	int via, i;

	(void)state;
	stele_sbom__tree_init(&t);
	stele_sbom__tree_put(&t, node("bin", STELE_SBOM__LINK, "usr/bin"));
	stele_sbom__tree_put(&t, node("usr", STELE_SBOM__DIR, NULL));
	stele_sbom__tree_put(&t, node("usr/bin", STELE_SBOM__DIR, NULL));
	stele_sbom__tree_put(&t, node("usr/bin/ls", STELE_SBOM__FILE, NULL));
	stele_sbom__tree_put(&t, node("usr/bin/abs", STELE_SBOM__LINK, "/usr/bin/ls"));
	stele_sbom__tree_put(&t, node("usr/bin/up", STELE_SBOM__LINK, "../../../usr/bin/ls"));
	stele_sbom__tree_put(&t, node("loop", STELE_SBOM__LINK, "loop"));
	n = stele_sbom__resolve(&t, "bin/ls", 0, &via);
	assert_non_null(n);
	assert_string_equal(n->path, "usr/bin/ls");
	assert_int_equal(via, 1);
	n = stele_sbom__resolve(&t, "usr/bin/ls", 0, &via);
	assert_non_null(n);
	assert_int_equal(via, 0);
	n = stele_sbom__resolve(&t, "bin/abs", 1, NULL);
	assert_non_null(n);
	assert_string_equal(n->path, "usr/bin/ls");
	n = stele_sbom__resolve(&t, "bin/up", 1, NULL);
	assert_non_null(n);
	assert_string_equal(n->path, "usr/bin/ls");
	n = stele_sbom__resolve(&t, "bin/abs", 0, NULL);
	assert_non_null(n);
	assert_int_equal(n->type, STELE_SBOM__LINK);
	assert_null(stele_sbom__resolve(&t, "loop/x", 1, NULL));
	assert_null(stele_sbom__resolve(&t, "nothing/x", 1, NULL));
	/* Grow, delete, iterate. */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f/%d", i);
		stele_sbom__tree_put(&t, node(name, STELE_SBOM__FILE, NULL));
	}
	for (i = 0; i < 3000; i += 2) {
		snprintf(name, sizeof(name), "f/%d", i);
		stele_sbom__tree_del(&t, name);
	}
	assert_int_equal(t.n, 7 + 1500);
	assert_null(stele_sbom__tree_get(&t, "f/0"));
	assert_non_null(stele_sbom__tree_get(&t, "f/1"));
	stele_sbom__tree_release(&t);
}

static void
test_sbom_paths(void **state)
{
	(void)state;
	assert_true(stele_sbom__pkgdb_path("var/lib/dpkg/status"));
	assert_true(stele_sbom__pkgdb_path("var/lib/dpkg/status.d/libc6"));
	assert_false(stele_sbom__pkgdb_path("var/lib/dpkg/status.d/libc6.md5sums"));
	assert_false(stele_sbom__pkgdb_path("var/lib/dpkg/status.d/a/b"));
	assert_true(stele_sbom__pkgdb_path("lib/apk/db/installed"));
	assert_true(stele_sbom__captured_path("var/lib/dpkg/info/libc6:amd64.list"));
	assert_true(stele_sbom__captured_path("var/lib/dpkg/status.d/libc6.md5sums"));
	assert_false(stele_sbom__captured_path("var/lib/dpkg/info/libc6.postinst"));
	assert_true(stele_sbom__captured_path("etc/os-release"));
	assert_int_equal(stele_sbom_format_parse("spdx"), STELE_SBOM_SPDX);
	assert_int_equal(stele_sbom_format_parse("spdxjson"), STELE_SBOM_SPDX);
	assert_int_equal(stele_sbom_format_parse("cyclonedx"), STELE_SBOM_CYCLONEDX);
	assert_int_equal(stele_sbom_format_parse("xml"), -1);
	assert_string_equal(stele_sbom_predicate(STELE_SBOM_SPDX),
			    "https://spdx.dev/Document");
	assert_string_equal(stele_sbom_predicate(STELE_SBOM_CYCLONEDX),
			    "https://cyclonedx.org/bom");
}

/* ---- rpm ---- */

struct rhdr {
	unsigned char index[16 * 16];
	char data[512];
	uint32_t il, dl;
};

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
rtag(struct rhdr *h, uint32_t tag, uint32_t type, const void *val,
     size_t len, uint32_t count)
{
	unsigned char *e = h->index + 16 * h->il++;

	while (type == 4 && h->dl % 4)
		h->data[h->dl++] = 0;
	put32(e, tag);
	put32(e + 4, type);
	put32(e + 8, h->dl);
	put32(e + 12, count);
	memcpy(h->data + h->dl, val, len);
	h->dl += (uint32_t)len;
}

/* An rpmdb.sqlite with one Packages row holding `blob`; *len bytes. */
static unsigned char *
rpmdb(const void *blob, size_t blen, sqlite3_int64 *len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char *out;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE Packages (hnum INTEGER "
		"PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)", NULL, NULL, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO Packages(blob) "
		"VALUES (?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	out = sqlite3_serialize(db, "main", len, 0);
	sqlite3_close(db);
	return out;
}

static int
rpm_parse(const struct rhdr *h, size_t cut, struct stele_sbom__pkgs *ps)
{
	unsigned char blob[8 + sizeof(h->index) + sizeof(h->data)];
	size_t blen = 8 + 16 * (size_t)h->il + h->dl;
	sqlite3_int64 len;
	unsigned char *db;
	int rc;

	put32(blob, h->il);
	put32(blob + 4, h->dl);
	memcpy(blob + 8, h->index, 16 * (size_t)h->il);
	memcpy(blob + 8 + 16 * (size_t)h->il, h->data, h->dl);
	db = rpmdb(blob, blen - cut, &len);
	rc = stele_sbom__rpm_sqlite(ps, db, (size_t)len, "var/lib/rpm/rpmdb.sqlite",
				    NULL, NULL);
	sqlite3_free(db);
	return rc;
}

static void
rpm_good(struct rhdr *h)
{
	uint32_t epoch = 0;

	memset(h, 0, sizeof(*h));
	rtag(h, 1000, 6, "bash", 5, 1);
	rtag(h, 1001, 6, "5.2.26", 7, 1);
	rtag(h, 1002, 6, "1.el10", 7, 1);
	put32((unsigned char *)&epoch, 2);
	rtag(h, 1003, 4, &epoch, 4, 1);
	rtag(h, 1022, 6, "x86_64", 7, 1);
	rtag(h, 1044, 6, "bash-5.2.26-1.el10.src.rpm", 27, 1);
}

static void
test_sbom_rpm(void **state)
{
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	struct rhdr h;
	char *purl;

	(void)state;
	rpm_good(&h);
	assert_ok(rpm_parse(&h, 0, &ps));
	assert_int_equal(ps.n, 1);
	assert_string_equal(ps.v[0].name, "bash");
	assert_string_equal(ps.v[0].version, "2:5.2.26-1.el10");
	assert_string_equal(ps.v[0].source, "bash");
	assert_string_equal(ps.v[0].source_version, "2:5.2.26-1.el10");
	purl = stele_sbom__purl(&ps.v[0], "rhel", "rhel-10.0");
	assert_string_equal(purl, "pkg:rpm/rhel/bash@5.2.26-1.el10"
			    "?arch=x86_64&distro=rhel-10.0&epoch=2");
	free(purl);
	pkgs_free(&ps);
}

/* Headers that lie about their bounds, and databases that are not rpm's. */
static void
test_sbom_rpm_rejects(void **state)
{
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	struct rhdr h;
	sqlite3_int64 len;
	unsigned char *db;

	(void)state;
	/* One byte short of what il and dl say. */
	rpm_good(&h);
	assert_int_equal(rpm_parse(&h, 1, &ps), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "not a well-formed rpm header"));
	/* An offset past the data. */
	rpm_good(&h);
	put32(h.index + 8, 4000);
	assert_int_equal(rpm_parse(&h, 0, &ps), STELE_EINVALID);
	/* A string that runs off the end (no NUL). */
	rpm_good(&h);
	h.data[h.dl - 1] = 'x';
	assert_int_equal(rpm_parse(&h, 0, &ps), STELE_EINVALID);
	/* The name as an integer. */
	rpm_good(&h);
	put32(h.index + 4, 4);
	assert_int_equal(rpm_parse(&h, 0, &ps), STELE_EINVALID);
	/* No name at all; a name with a slash. */
	rpm_good(&h);
	put32(h.index, 999);
	assert_int_equal(rpm_parse(&h, 0, &ps), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "malformed name"));
	rpm_good(&h);
	memcpy(h.data, "ba/h", 4);
	assert_int_equal(rpm_parse(&h, 0, &ps), STELE_EINVALID);
	assert_int_equal(ps.n, 0);
	/* Not sqlite; sqlite without a Packages table. */
	assert_int_equal(stele_sbom__rpm_sqlite(&ps, "hello", 5, "x", NULL, NULL),
			 STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "not an sqlite database"));
	{
		sqlite3 *d;

		assert_int_equal(sqlite3_open(":memory:", &d), SQLITE_OK);
		sqlite3_exec(d, "CREATE TABLE t(x)", NULL, NULL, NULL);
		db = sqlite3_serialize(d, "main", &len, 0);
		sqlite3_close(d);
	}
	assert_int_equal(stele_sbom__rpm_sqlite(&ps, db, (size_t)len, "x", NULL,
						NULL), STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "not an rpm database"));
	sqlite3_free(db);
	pkgs_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbom_dpkg_status),
		cmocka_unit_test(test_sbom_dpkg_rejects),
		cmocka_unit_test(test_sbom_apk),
		cmocka_unit_test(test_sbom_apk_rejects),
		cmocka_unit_test(test_sbom_too_many),
		cmocka_unit_test(test_sbom_tree_resolve),
		cmocka_unit_test(test_sbom_paths),
		cmocka_unit_test(test_sbom_rpm),
		cmocka_unit_test(test_sbom_rpm_rejects),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
