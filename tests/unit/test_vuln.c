#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <spawn.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "signer/dsse.h"
#include "verify/policy.h"
#include "vuln/scan.h"
#include "vuln/vex.h"
#include "vuln/version.h"
#include "vuln/vuln.h"
#include "tests/unit/unit.h"

extern char **environ;

static int
cmp(enum stele_vuln_scheme sc, const char *a, const char *b)
{
	int r;

	assert_ok(stele_vuln_version_cmp(&r, sc, a, b));
	return r;
}

/* dpkg --compare-versions A OP B: 1 true, 0 false, -1 cannot run */
static int
dpkg_says(const char *a, const char *op, const char *b)
{
	char *argv[] = { (char *)"dpkg", (char *)"--compare-versions", (char *)a, (char *)op,
			 (char *)b, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	/* dpkg warns on stderr about versions not starting with a digit
	 * (and compares them all the same): keep the test output quiet. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "dpkg", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st) == 0 ? 1 : WEXITSTATUS(st) == 1 ? 0 : -1;
}

static uint64_t rng = 0x5eed5eedULL;

static size_t
pick(size_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (size_t)(rng % n);
}

static void
gen_version(char *buf, size_t len)
{
	static const char *const ep[] = { "", "", "", "0:", "1:", "2:", "10:" };
	static const char *const up[] = {
		"1.0", "1.0~rc1", "1.0~rc2", "1.0~", "1.0~~", "1.0+dfsg",
		"1.0+dfsg1", "1.0a", "1.00", "1.0.1", "1.01", "0.9", "10",
		"9", "1.0+b1", "2.36", "2.36+git20230101", "1.0.dfsg",
		"3.0.11", "3.0.2", "1:1.0", "1.0-1", "a1.0", "1.0~beta",
		"5.2.15", "5.2.15+~cs1", "1.2.13.dfsg", "0"
	};
	static const char *const rev[] = {
		"", "", "-1", "-2", "-1~bpo1", "-1+deb12u5", "-1+deb12u15",
		"-0", "-1.1", "-1~deb12u1", "-9+deb12u14", "-1ubuntu1",
		"-1+b1", "-10", "-a", "-1~"
	};

	snprintf(buf, len, "%s%s%s", ep[pick(sizeof(ep) / sizeof(*ep))],
		 up[pick(sizeof(up) / sizeof(*up))],
		 rev[pick(sizeof(rev) / sizeof(*rev))]);
}

/* dpkg's comparison through libdpkg agrees with dpkg itself on 600
 * generated pairs (epochs, ~, +, revisions). */
static void
test_vuln_dpkg_agrees(void **state)
{
	char a[64], b[64];
	int i, n = 0, ours, lt, eq, theirs;

	(void)state;
	if (dpkg_says("1", "lt", "2") != 1)
		skip();
	for (i = 0; i < 600; i++) {
		gen_version(a, sizeof(a));
		gen_version(b, sizeof(b));
		ours = cmp(STELE_VULN_DEB, a, b);
		lt = dpkg_says(a, "lt", b);
		eq = dpkg_says(a, "eq", b);
		assert_true(lt >= 0 && eq >= 0);
		theirs = lt ? -1 : eq ? 0 : 1;
		if (ours != theirs)
			fail_msg("'%s' vs '%s': stele %d, dpkg %d", a, b, ours,
				 theirs);
		n++;
	}
	print_message("dpkg agreement: %d of %d pairs\n", n, 600);
}

static void
gen_rpm_version(char *buf, size_t len)
{
	static const char *const ep[] = { "", "", "", "0:", "1:", "2:", "10:" };
	static const char *const ver[] = {
		"1.0", "1.0~rc1", "1.0~rc2", "1.0~", "1.0~~", "1.0^git1",
		"1.0^git2", "1.0^", "1.0~rc1^git1", "1.0a", "1.0b", "1.a",
		"1.00", "1.0.1", "1.01", "0.9", "10", "9", "2.34", "2.34.1",
		"1_0", "1.0.0", "a", "1.0+x", "3.0.7", "3.0.07", "1.2.11^20240101git"
	};
	static const char *const rel[] = {
		"", "", "-1", "-2", "-1.el9", "-1.el9_4", "-1.el9_4.2", "-10.el9",
		"-1~beta", "-1^p1", "-1.fc40", "-0", "-27.el9", "-1a"
	};

	snprintf(buf, len, "%s%s%s", ep[pick(sizeof(ep) / sizeof(*ep))],
		 ver[pick(sizeof(ver) / sizeof(*ver))],
		 rel[pick(sizeof(rel) / sizeof(*rel))]);
}

/*
 * The rpm command's own ordering of the pairs in `path` ("A B" a line),
 * -1, 0 or 1 each into `out`, through its Lua rpm.vercmp(): one rpm
 * process for all of them.  0, or -1 when rpm cannot run.
 */
static int
rpm_says(const char *path, int *out, size_t n)
{
	char cmd[512];
	FILE *f;
	size_t i = 0;

	snprintf(cmd, sizeof(cmd),
		 "rpm --eval \"%%{lua: for l in io.lines('%s') do "
		 "local i = l:find(' ', 1, true) "
		 "io.write(rpm.vercmp(l:sub(1, i - 1), l:sub(i + 1)), ' ') end}\" 2>/dev/null",
		 path);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (i < n && fscanf(f, "%d", &out[i]) == 1)
		i++;
	if (pclose(f) != 0 || i != n)
		return -1;
	return 0;
}

/* librpm's ordering (through librpmio, as stele scans) agrees with the rpm
 * command on 600 generated pairs (epochs, ~, ^, letters, dots, releases),
 * and is antisymmetric. */
static void
test_vuln_rpm_agrees(void **state)
{
	enum { N = 600 };
	static char a[N][64], b[N][64];
	char path[] = "/tmp/stele-rpmpairs-XXXXXX";
	int theirs[N], ours, rev, fd, i, differ = 0;
	FILE *f;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	for (i = 0; i < N; i++) {
		gen_rpm_version(a[i], sizeof(a[i]));
		gen_rpm_version(b[i], sizeof(b[i]));
		/* Some equal pairs: the same, or with epoch 0 spelt out. */
		if (i % 10 == 0)
			memcpy(b[i], a[i], sizeof(b[i]));
		else if (i % 10 == 1 && !strchr(a[i], ':'))
			snprintf(b[i], sizeof(b[i]), "0:%s", a[i]);
		fprintf(f, "%s %s\n", a[i], b[i]);
	}
	assert_int_equal(fclose(f), 0);
	if (rpm_says(path, theirs, N) < 0) {
		unlink(path);
		skip();
	}
	unlink(path);
	for (i = 0; i < N; i++) {
		ours = cmp(STELE_VULN_RPM, a[i], b[i]);
		rev = cmp(STELE_VULN_RPM, b[i], a[i]);
		if (ours != theirs[i])
			fail_msg("'%s' vs '%s': stele %d, rpm %d", a[i], b[i],
				 ours, theirs[i]);
		assert_int_equal(rev, -ours);
		differ += ours != 0;
	}
	/* The generator is not degenerate: most pairs differ, some do not. */
	assert_true(differ > N / 2 && differ < N);
	print_message("rpm agreement: %d of %d pairs (%d unequal)\n", N, N, differ);
}

static void
test_vuln_rpm_known(void **state)
{
	int r;

	(void)state;
	assert_int_equal(cmp(STELE_VULN_RPM, "1.0~rc1-1", "1.0-1"), -1);
	assert_int_equal(cmp(STELE_VULN_RPM, "1.0^git1-1", "1.0-1"), 1);
	assert_int_equal(cmp(STELE_VULN_RPM, "1.0^git1-1", "1.0.1-1"), -1);
	assert_int_equal(cmp(STELE_VULN_RPM, "1:0.9-1", "2.0-1"), 1);
	assert_int_equal(cmp(STELE_VULN_RPM, "0:1.0-1", "1.0-1"), 0);
	assert_int_equal(cmp(STELE_VULN_RPM, "1.0a-1", "1.0-1"), 1);
	assert_int_equal(cmp(STELE_VULN_RPM, "2.34-100.el9_4.2", "2.34-100.el9_4.10"), -1);
	assert_int_equal(cmp(STELE_VULN_RPM, "3.0.7-27.el9", "3.0.7-27.el9_4"), -1);
	assert_int_equal(cmp(STELE_VULN_RPM, "1.01-1", "1.1-1"), 0);
	/* librpm 4.18: no release orders before a release. */
	assert_int_equal(cmp(STELE_VULN_RPM, "1.0", "1.0-5"), -1);
	assert_int_equal(stele_vuln_version_cmp(&r, STELE_VULN_RPM, "", "1.0"),
			 STELE_EINVALID);
	assert_int_equal(r, 0);
}

static void
test_vuln_dpkg_known(void **state)
{
	(void)state;
	assert_int_equal(cmp(STELE_VULN_DEB, "1.0~rc1", "1.0"), -1);
	assert_int_equal(cmp(STELE_VULN_DEB, "1:0.9", "2.0"), 1);
	assert_int_equal(cmp(STELE_VULN_DEB, "1.0+deb12u5", "1.0+deb12u15"), -1);
	assert_int_equal(cmp(STELE_VULN_DEB, "1.0-1", "1.0-1~bpo1"), 1);
	assert_int_equal(cmp(STELE_VULN_DEB, "0:1.0", "1.0"), 0);
	assert_int_equal(cmp(STELE_VULN_DEB, " 1.0 ", "1.0"), 0);
	assert_int_equal(cmp(STELE_VULN_DEB, "1.0-0", "1.0"), 0);
}

static void
test_vuln_dpkg_invalid(void **state)
{
	static const char *const bad[] = {
		"", "   ", "1.0 1", ":1.0", "x:1.0", "-1:1.0", "1:",
		"1.0-", "-1", "99999999999:1.0"
	};
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (stele_vuln_version_cmp(&r, STELE_VULN_DEB, bad[i], "1") !=
		    STELE_EINVALID)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(stele_vuln_version_cmp(&r, STELE_VULN_DEB,
			"1", bad[i]), STELE_EINVALID);
	}
}

/* apk: each list is in ascending order. */
static void
test_vuln_apk_order(void **state)
{
	static const char *const asc[] = {
		"0.9", "1.0_alpha", "1.0_alpha2", "1.0_beta", "1.0_pre1",
		"1.0_rc1", "1.0", "1.0-r1", "1.0-r2", "1.0-r10", "1.0_cvs",
		"1.0_svn", "1.0_git20240101", "1.0_hg", "1.0_p1", "1.0_p2",
		"1.0a", "1.0b", "1.0.1_rc1", "1.0.1", "1.0.2", "1.0.10",
		"1.1", "1.10", "2", "2.0.0", "3.0.11-r0", "3.0.11-r1",
		"3.0.12-r0", "10.0"
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(asc) / sizeof(*asc); i++) {
		for (j = 0; j < sizeof(asc) / sizeof(*asc); j++) {
			int want = i < j ? -1 : i > j, got;

			got = cmp(STELE_VULN_APK, asc[i], asc[j]);
			if (got != want)
				fail_msg("apk '%s' vs '%s': %d, want %d",
					 asc[i], asc[j], got, want);
		}
	}
	assert_int_equal(cmp(STELE_VULN_APK, "1.0~abc123-r1", "1.0-r1"), 0);
	assert_int_equal(cmp(STELE_VULN_APK, "1.01", "1.1"), -1);
	assert_int_equal(cmp(STELE_VULN_APK, "1.001", "1.01"), -1);
}

static void
test_vuln_apk_invalid(void **state)
{
	static const char *const bad[] = {
		"", "a1", "1.", "1..2", "1.0_foo", "1.0-r", "1.0-rx",
		"1.0-r1-r2", "1.0 ", "1.0~xyz.1", "1.0ab"
	};
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (stele_vuln_version_cmp(&r, STELE_VULN_APK, bad[i], "1") !=
		    STELE_EINVALID)
			fail_msg("apk '%s' accepted", bad[i]);
}

static void
test_vuln_cvss(void **state)
{
	static const struct { const char *v; int s; } ok[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 55 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 100 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 61 },
		{ "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:P", 75 },
	};
	static const char *const bad[] = {
		"CVSS:2.0/AV:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:", "CVSS:3.1/AVN"
	};
	size_t i;
	int s;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		assert_ok(stele_vuln_cvss3(&s, ok[i].v));
		if (s != ok[i].s)
			fail_msg("%s: %d, want %d", ok[i].v, s, ok[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(stele_vuln_cvss3(&s, bad[i]), STELE_EINVALID);
}

static void
test_vuln_severity(void **state)
{
	struct stele_vuln_finding f;

	(void)state;
	assert_int_equal(stele_vuln_severity_parse("none"), STELE_SEV_NONE);
	assert_int_equal(stele_vuln_severity_parse("HIGH"), STELE_SEV_HIGH);
	assert_int_equal(stele_vuln_severity_parse("unknown"), -1);
	assert_int_equal(stele_vuln_severity_parse("severe"), -1);
	memset(&f, 0, sizeof(f));
	f.severity = STELE_SEV_LOW;
	f.status = STELE_VULN_NOT_FIXED;
	assert_true(stele_vuln_denied(&f, STELE_SEV_NONE, 0));
	assert_false(stele_vuln_denied(&f, STELE_SEV_NONE, 1));
	assert_false(stele_vuln_denied(&f, STELE_SEV_LOW, 0));
	f.status = STELE_VULN_FIXED;
	assert_true(stele_vuln_denied(&f, STELE_SEV_NEGLIGIBLE, 1));
	f.severity = STELE_SEV_UNKNOWN;
	assert_true(stele_vuln_denied(&f, STELE_SEV_HIGH, 0));
	assert_false(stele_vuln_denied(&f, STELE_SEV_CRITICAL, 0));
}

/* A database in a temporary directory. */
static char *
db_dir(void)
{
	char *dir = NULL;

	assert_ok(stele_fs_mkdtemp(&dir, "/tmp", "stele-test-vuln"));
	return dir;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char *p = stele_path_join(dir, name);
	char *slash = strrchr(p, '/');

	*slash = '\0';
	assert_ok(stele_fs_mkdir_p(p, 0755));
	*slash = '/';
	assert_ok(stele_fs_write_atomic(p, text, strlen(text), 0644));
	free(p);
}

static const char osv_fixed_newer[] =
	"{\"id\":\"DSA-1\",\"modified\":\"2026-01-02T03:04:05.123Z\","
	"\"summary\":\"s\",\"affected\":[{\"package\":{\"ecosystem\":"
	"\"Debian:12\",\"name\":\"openssl\"},\"ranges\":[{\"type\":"
	"\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	"\"3.0.13-1~deb12u1\"}]}]}],\"severity\":[{\"type\":\"CVSS_V3\","
	"\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]}";
static const char osv_fixed_older[] =
	"{\"id\":\"DSA-2\",\"modified\":\"2025-01-01T00:00:00Z\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":"
	"\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
	"[{\"introduced\":\"0\"},{\"fixed\":\"3.0.9-1\"}]}],"
	"\"ecosystem_specific\":{\"urgency\":\"high\"}}]}";
static const char osv_other_eco[] =
	"{\"id\":\"DSA-3\",\"modified\":\"2025-01-01T00:00:00Z\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:11\",\"name\":"
	"\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
	"[{\"introduced\":\"0\"},{\"fixed\":\"9\"}]}]}]}";
static const char osv_last_affected[] =
	"{\"id\":\"OSV-4\",\"modified\":\"2025-01-01T00:00:00Z\","
	"\"database_specific\":{\"severity\":\"CRITICAL\"},"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":"
	"\"glibc\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
	"[{\"introduced\":\"2.30\"},{\"last_affected\":\"2.36-9+deb12u4\"}]}]}]}";
static const char tracker[] =
	"{\"zlib\":{\"CVE-2023-45853\":{\"releases\":{\"bookworm\":"
	"{\"status\":\"open\",\"urgency\":\"unimportant\",\"nodsa_reason\":"
	"\"ignored\"}}}},\"bash\":{\"CVE-1\":{\"releases\":{\"bookworm\":"
	"{\"status\":\"resolved\",\"fixed_version\":\"0\",\"urgency\":"
	"\"low\"}}}},\"tar\":{\"CVE-2\":{\"releases\":{\"bookworm\":"
	"{\"status\":\"open\",\"urgency\":\"low**\"},\"sid\":{\"status\":"
	"\"open\"}}}}}";

static void
sbom_init(struct stele_sbom *s, struct stele_sbom_pkg *p, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->distro_id = (char *)"debian";
	s->distro_version = (char *)"12";
	s->pkgs = p;
	s->npkgs = n;
}

static void
pkg_init(struct stele_sbom_pkg *p, const char *name, const char *src,
	 const char *srcver)
{
	memset(p, 0, sizeof(*p));
	p->type = "deb";
	p->name = (char *)name;
	p->version = (char *)srcver;
	p->source = (char *)src;
	p->source_version = (char *)srcver;
}

static void
test_vuln_db_match(void **state)
{
	struct stele_sbom_pkg p[4];
	struct stele_sbom s;
	struct stele_vuln_db *db = NULL;
	struct stele_vuln_report *r = NULL;
	struct stele_buf js = STELE_BUF_INIT(1 << 20);
	char *dir = db_dir();
	int rebuilt;

	(void)state;
	put(dir, "osv/Debian/DSA-1.json", osv_fixed_newer);
	put(dir, "osv/Debian/DSA-2.json", osv_fixed_older);
	put(dir, "osv/Debian/DSA-3.json", osv_other_eco);
	put(dir, "osv/Debian/OSV-4.json", osv_last_affected);
	put(dir, "debian/tracker.json", tracker);
	put(dir, "README", "not json, ignored");
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 1);
	assert_int_equal(stele_vuln_db_updated(db), 1767323045);
	pkg_init(&p[0], "libssl3", "openssl", "3.0.11-1~deb12u2");
	pkg_init(&p[1], "libc6", "glibc", "2.36-9+deb12u4");
	pkg_init(&p[2], "zlib1g", "zlib", "1:1.2.13.dfsg-1");
	pkg_init(&p[3], "tar", "tar", "1.34+dfsg-1.2+deb12u1");
	sbom_init(&s, p, 4);
	assert_ok(stele_vuln_match(&r, db, &s));
	assert_string_equal(r->ecosystem, "Debian:12");
	assert_int_equal(r->n, 4);
	/* worst first, then by id; DSA-2 (fixed before) and DSA-3 (another
	 * release) do not match */
	assert_string_equal(r->v[0].id, "DSA-1");
	assert_string_equal(r->v[0].fixed, "3.0.13-1~deb12u1");
	assert_string_equal(r->v[0].severity_from, "cvss");
	assert_int_equal(r->v[0].severity, STELE_SEV_CRITICAL);
	assert_int_equal(r->v[0].cvss10, 98);
	assert_string_equal(r->v[1].id, "OSV-4");
	assert_int_equal(r->v[1].severity, STELE_SEV_CRITICAL);
	assert_string_equal(r->v[1].severity_from, "vendor");
	assert_int_equal(r->v[1].status, STELE_VULN_NOT_FIXED);
	assert_null(r->v[1].fixed);
	assert_string_equal(r->v[2].id, "CVE-2");
	assert_int_equal(r->v[2].severity, STELE_SEV_LOW);
	assert_string_equal(r->v[3].id, "CVE-2023-45853");
	assert_int_equal(r->v[3].status, STELE_VULN_WONT_FIX);
	assert_int_equal(r->v[3].severity, STELE_SEV_NEGLIGIBLE);
	assert_ok(stele_vuln_report_json(&js, r));
	assert_non_null(strstr(stele_buf_cstr(&js),
		"\"fixed\":\"3.0.13-1~deb12u1\""));
	stele_vuln_report_free(r);
	r = NULL;
	stele_vuln_db_free(db);
	db = NULL;

	/* warm: the index is used as it is */
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 0);
	stele_vuln_db_free(db);
	db = NULL;

	/* a changed source rebuilds it; stele-db.json gives the time */
	put(dir, "stele-db.json", "{\"updated\":\"2026-11-29T00:00:00Z\"}");
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 1);
	assert_int_equal(stele_vuln_db_updated(db), 1795910400);
	stele_vuln_db_free(db);
	db = NULL;

	/* a version the scheme refuses is an error naming the record */
	put(dir, "osv/Debian/DSA-5.json",
	    "{\"id\":\"DSA-5\",\"modified\":\"2025-01-01T00:00:00Z\","
	    "\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":"
	    "\"tar\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
	    "[{\"introduced\":\"0\"},{\"fixed\":\"1.0-\"}]}]}]}");
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(stele_vuln_match(&r, db, &s), STELE_EINVALID);
	assert_null(r);
	assert_non_null(strstr(stele_error_last(), "DSA-5"));
	stele_vuln_db_free(db);
	stele_buf_release(&js);
	assert_ok(stele_fs_rm_rf(dir));
	free(dir);
}

/*
 * A source rewritten in place with the same size, its modification time
 * set back as `touch -d` or `tar` would, still rebuilds the index: the
 * check covers the change time (and the inode), not only size and mtime.
 */
static void
test_vuln_db_same_size_edit(void **state)
{
	static const char fixed_older[] = "3.0.10-1~deb12u1";
	struct stele_sbom_pkg p[1];
	struct stele_sbom s;
	struct stele_vuln_db *db = NULL;
	struct stele_vuln_report *r = NULL;
	struct timespec tick = { 0, 50 * 1000 * 1000 }, times[2];
	struct stat st;
	char *dir = db_dir(), *path, *text, *at;
	int rebuilt, fd;

	(void)state;
	put(dir, "osv/Debian/DSA-1.json", osv_fixed_newer);
	path = stele_path_join(dir, "osv/Debian/DSA-1.json");
	pkg_init(&p[0], "libssl3", "openssl", "3.0.11-1~deb12u2");
	sbom_init(&s, p, 1);
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 1);
	assert_ok(stele_vuln_match(&r, db, &s));
	assert_int_equal(r->n, 1);
	stele_vuln_report_free(r);
	r = NULL;
	stele_vuln_db_free(db);
	db = NULL;

	/* the same bytes' length, a fixed version now older than the
	 * installed one; written into the same inode after a clock tick,
	 * then the old mtime put back */
	text = stele_xstrdup(osv_fixed_newer);
	at = strstr(text, "3.0.13-1~deb12u1");
	assert_non_null(at);
	memcpy(at, fixed_older, strlen(fixed_older));
	assert_int_equal(stat(path, &st), 0);
	nanosleep(&tick, NULL);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_ok(stele_fs_write_all(fd, text, strlen(text)));
	assert_int_equal(close(fd), 0);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_nsec, times[1].tv_nsec);
	assert_int_equal((long long)st.st_size, (long long)strlen(text));

	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 1);
	assert_ok(stele_vuln_match(&r, db, &s));
	assert_int_equal(r->n, 0);
	stele_vuln_report_free(r);
	stele_vuln_db_free(db);
	db = NULL;
	/* and then it is current again */
	assert_ok(stele_vuln_db_open(&db, dir, &rebuilt));
	assert_int_equal(rebuilt, 0);
	stele_vuln_db_free(db);
	free(text);
	free(path);
	assert_ok(stele_fs_rm_rf(dir));
	free(dir);
}

/* Every malformed source is refused, naming the file. */
static void
test_vuln_db_malformed(void **state)
{
	static const char *const bad[] = {
		"[]", "{\"id\":\"X\"}",
		"{\"id\":\"X\",\"modified\":\"yesterday\"}",
		"{\"id\":\"X\",\"modified\":\"2025-01-01T00:00:00+01:00\"}",
		"{\"id\":\"X\",\"modified\":\"2025-01-01T00:00:00Z\",\"affected\":{}}",
		"{\"id\":\"X\",\"modified\":\"2025-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"name\":\"a\"}}]}",
		"{\"id\":\"X\",\"modified\":\"2025-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},\"ranges\":[{\"type\":\"ECOSYSTEM\"}]}]}",
		"{\"id\":\"X\",\"modified\":\"2025-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]}]}]}",
		"{\"id\":\"X\",\"id\":\"Y\",\"modified\":\"2025-01-01T00:00:00Z\"}",
		"{\"a\":1}",
		"{\"a\":{\"CVE-1\":{}}}",
		"{\"a\":{\"CVE-1\":{\"releases\":{\"bookworm\":{}}}}}",
		"{\"a\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"status\":\"resolved\"}}}}}",
		"{\"a\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"status\":\"weird\"}}}}}",
		"{not json",
	};
	struct stele_vuln_db *db = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *dir = db_dir();

		put(dir, "x/bad.json", bad[i]);
		if (stele_vuln_db_open(&db, dir, NULL) != STELE_EINVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_null(db);
		assert_non_null(strstr(stele_error_last(), "bad.json"));
		assert_ok(stele_fs_rm_rf(dir));
		free(dir);
	}
	{
		char *dir = db_dir();

		put(dir, "stele-db.json", "{\"updated\":\"2026\"}");
		assert_int_equal(stele_vuln_db_open(&db, dir, NULL),
				 STELE_EINVALID);
		assert_ok(stele_fs_rm_rf(dir));
		free(dir);
	}
	assert_int_equal(stele_vuln_db_open(&db, "/nonexistent/db", NULL),
			 STELE_ENOTFOUND);
}

static int
policy(struct stele_policy **p, const char *vulns)
{
	char *j = stele_xasprintf("{\"signatures\":{\"threshold\":0},"
		"\"vulnerabilities\":%s}", vulns);
	int error = stele_policy_parse(p, j, strlen(j), "/etc/stele/prod.json");

	free(j);
	return error;
}

/* The policy's vulnerabilities section, parsed strictly. */
static void
test_vuln_policy(void **state)
{
	static const char *const bad[] = {
		"{}", "[]", "{\"db\":\"db\"}",
		"{\"maxSeverity\":\"high\"}",
		"{\"db\":\"\",\"maxSeverity\":\"high\"}",
		"{\"db\":1,\"maxSeverity\":\"high\"}",
		"{\"db\":\"db\",\"maxSeverity\":\"severe\"}",
		"{\"db\":\"db\",\"maxSeverity\":\"unknown\"}",
		"{\"db\":\"db\",\"maxSeverity\":3}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"fixableOnly\":1}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"maxDbAgeHours\":0}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"maxDbAgeHours\":\"24\"}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"maxDbAgeHours\":-1}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"maxDBAgeHours\":24}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vexKeys\":[]}",
	};
	struct stele_policy *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (policy(&p, bad[i]) != STELE_EINVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_null(p);
		assert_non_null(strstr(stele_error_last(), "vulnerabilities"));
	}
	assert_ok(policy(&p, "{\"db\":\"vulndb\",\"maxSeverity\":\"none\","
		  "\"maxDbAgeHours\":24,\"fixableOnly\":true}"));
	assert_string_equal(p->vuln_db, "/etc/stele/vulndb");
	assert_int_equal(p->vuln_max, STELE_SEV_NONE);
	assert_int_equal(p->vuln_fixable_only, 1);
	assert_int_equal(p->vuln_max_db_age, 24 * 3600);
	stele_policy_free(p);
	assert_ok(policy(&p, "{\"db\":\"/srv/db\",\"maxSeverity\":\"HIGH\"}"));
	assert_string_equal(p->vuln_db, "/srv/db");
	assert_int_equal(p->vuln_max, STELE_SEV_HIGH);
	assert_int_equal(p->vuln_max_db_age, 0);
	assert_true(p->nwarnings >= 1);
	stele_policy_free(p);
}

/* A policy with one key, "ci", and a vulnerabilities section. */
static int
policy_keyed(struct stele_policy **p, const char *vulns)
{
	struct stele_buf pem = STELE_BUF_INIT(1 << 16);
	struct stele_seckey *k = NULL;
	json_t *js;
	char *enc, *j;
	int error;

	assert_ok(stele_seckey_generate(&k));
	assert_ok(stele_pubkey_pem(&pem, &k->pub));
	js = json_stringn(pem.ptr, pem.len);
	enc = json_dumps(js, JSON_ENCODE_ANY);
	j = stele_xasprintf("{\"keys\":{\"ci\":{\"pem\":%s}},\"signatures\":"
		"{\"threshold\":0},\"vulnerabilities\":%s}", enc, vulns);
	error = stele_policy_parse(p, j, strlen(j), "/etc/stele/prod.json");
	free(j);
	free(enc);
	json_decref(js);
	stele_buf_release(&pem);
	stele_seckey_free(k);
	return error;
}

/* requireSignedScan, scanKeys, maxScanAgeHours, vexKeys, vex. */
static void
test_vuln_policy_signed(void **state)
{
	static const char *const bad[] = {
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"ci\"]}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"maxScanAgeHours\":24}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":\"yes\",\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":24}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":false,\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":24}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"scanKeys\":[\"ci\"]}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"maxScanAgeHours\":2}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"nobody\"],\"maxScanAgeHours\":24}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[],\"maxScanAgeHours\":24}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":\"ci\",\"maxScanAgeHours\":24}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":0}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":\"24\"}",
		"{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":24,\"maxScanAge\":1}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vexKeys\":[\"nobody\"]}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vexKeys\":[]}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vex\":[\"v.dsse\"]}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vexKeys\":[\"ci\"],\"vex\":\"v.dsse\"}",
		"{\"db\":\"db\",\"maxSeverity\":\"high\",\"vexKeys\":[\"ci\"],\"vex\":[1]}",
		"{\"db\":\"\",\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],\"maxScanAgeHours\":24}",
	};
	struct stele_policy *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (policy_keyed(&p, bad[i]) != STELE_EINVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_null(p);
		assert_non_null(strstr(stele_error_last(), "vulnerabilities"));
	}
	assert_ok(policy_keyed(&p, "{\"maxSeverity\":\"none\","
		"\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],"
		"\"maxScanAgeHours\":12,\"vexKeys\":[\"ci\"],"
		"\"vex\":[\"v.dsse\",\"/srv/vex/w.dsse\"]}"));
	assert_null(p->vuln_db);
	assert_true(p->vuln_signed_scan);
	assert_int_equal(p->nvuln_scan_keys, 1);
	assert_string_equal(p->vuln_scan_keys[0], "ci");
	assert_int_equal(p->vuln_max_scan_age, 12 * 3600);
	assert_int_equal(p->nvuln_vex_keys, 1);
	assert_int_equal(p->nvuln_vex, 2);
	assert_string_equal(p->vuln_vex[0], "/etc/stele/v.dsse");
	assert_string_equal(p->vuln_vex[1], "/srv/vex/w.dsse");
	stele_policy_free(p);
	assert_ok(policy_keyed(&p, "{\"db\":\"db\",\"maxSeverity\":\"low\","
		"\"requireSignedScan\":true,\"scanKeys\":[\"ci\"],"
		"\"maxScanAgeHours\":1}"));
	assert_string_equal(p->vuln_db, "/etc/stele/db");
	assert_true(p->vuln_signed_scan);
	stele_policy_free(p);
}

/* A report of one finding, CVE-1 in libssl3 (purl with qualifiers). */
static void
vex_report(struct stele_vuln_report *r, struct stele_sbom *s,
	   struct stele_sbom_pkg *p, struct stele_vuln_finding *f)
{
	pkg_init(p, "libssl3", "openssl", "3.0.11-1");
	p->purl = (char *)"pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12";
	sbom_init(s, p, 1);
	memset(r, 0, sizeof(*r));
	memset(f, 0, sizeof(*f));
	f->id = stele_xstrdup("CVE-1");
	r->sbom = s;
	r->v = f;
	r->n = 1;
}

static void
vex_clear(struct stele_vuln_finding *f)
{
	free(f->vex_status);
	free(f->vex_justification);
	free(f->vex_doc);
	f->vex_status = f->vex_justification = f->vex_doc = NULL;
	f->suppressed = 0;
	f->vex_time = 0;
}

static int
vex_signed(struct stele_vuln_report *r, const struct stele_seckey *k,
	   const struct stele_pubkey *trust, const char *type, const char *doc)
{
	struct stele_buf env = STELE_BUF_INIT(1 << 20);
	const struct stele_pubkey *keys[1];
	int error;

	keys[0] = trust;
	assert_ok(stele_dsse_sign(&env, k, type, doc, strlen(doc)));
	error = stele_vuln_vex_apply(r, env.ptr, env.len, "vex.json", keys, 1);
	stele_buf_release(&env);
	return error;
}

#define VEXDOC(stmts) "{\"@context\":\"https://openvex.dev/ns/v0.2.0\"," \
	"\"@id\":\"https://example.com/v1\",\"timestamp\":" \
	"\"2026-01-01T00:00:00Z\",\"statements\":[" stmts "]}"
#define STMT(vuln, prod, status, ts) "{\"vulnerability\":" vuln "," \
	"\"products\":[{\"@id\":\"" prod "\"}],\"status\":\"" status "\"," \
	"\"justification\":\"component_not_present\"" ts "}"

/* OpenVEX: matching by name or alias and purl, latest wins, only a
 * trusted signature over an openvex payload, every malformed form. */
static void
test_vuln_vex(void **state)
{
	static const char *const bad[] = {
		"[]", "{\"@id\":\"x\",\"statements\":[]}",
		"{\"@context\":\"https://example.com\",\"@id\":\"x\",\"statements\":[]}",
		"{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"statements\":[]}",
		"{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"@id\":\"x\"}",
		"{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"@id\":\"x\",\"timestamp\":\"today\",\"statements\":[]}",
		VEXDOC(STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3", "gone", "")),
		VEXDOC(STMT("{}", "pkg:deb/debian/libssl3", "fixed", "")),
		VEXDOC(STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3", "fixed", ",\"timestamp\":\"2026\"")),
		VEXDOC("{\"vulnerability\":{\"name\":\"CVE-1\"},\"products\":[],\"status\":\"not_affected\"}"),
	};
	struct stele_seckey *k = NULL, *other = NULL;
	struct stele_vuln_report r;
	struct stele_vuln_finding f;
	struct stele_sbom_pkg p;
	struct stele_sbom s;
	size_t i;

	(void)state;
	assert_ok(stele_seckey_generate(&k));
	assert_ok(stele_seckey_generate(&other));
	vex_report(&r, &s, &p, &f);
	/* by alias, purl without version or qualifiers */
	assert_ok(vex_signed(&r, k, &k->pub, STELE_VEX_PAYLOAD, VEXDOC(STMT(
		"{\"name\":\"DSA-1\",\"aliases\":[\"CVE-1\"]}",
		"pkg:deb/debian/libssl3", "not_affected", ""))));
	assert_true(f.suppressed);
	assert_string_equal(f.vex_status, "not_affected");
	assert_string_equal(f.vex_justification, "component_not_present");
	assert_string_equal(f.vex_doc, "https://example.com/v1");
	assert_false(stele_vuln_denied(&f, STELE_SEV_NONE, 0));
	/* a later "affected" undoes it; an earlier "fixed" does not redo it */
	assert_ok(vex_signed(&r, k, &k->pub, STELE_VEX_PAYLOAD, VEXDOC(STMT(
		"{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3@3.0.11-1",
		"affected", ",\"timestamp\":\"2026-02-01T00:00:00Z\""))));
	assert_false(f.suppressed);
	assert_ok(vex_signed(&r, k, &k->pub, STELE_VEX_PAYLOAD, VEXDOC(STMT(
		"{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3", "fixed", ""))));
	assert_false(f.suppressed);
	vex_clear(&f);
	/* another version, another package, another CVE: nothing */
	assert_ok(vex_signed(&r, k, &k->pub, STELE_VEX_PAYLOAD, VEXDOC(
		STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3@3.0.12-1", "fixed", "") ","
		STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/openssl", "fixed", "") ","
		STMT("{\"name\":\"CVE-2\"}", "pkg:deb/debian/libssl3", "fixed", ""))));
	assert_false(f.suppressed);
	assert_null(f.vex_status);
	/* not signed by a trusted key; another payload type */
	assert_int_equal(vex_signed(&r, other, &k->pub, STELE_VEX_PAYLOAD,
		VEXDOC(STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3",
			    "fixed", ""))), STELE_EVERIFY);
	assert_int_equal(vex_signed(&r, k, &k->pub, STELE_PAYLOAD_INTOTO,
		VEXDOC(STMT("{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3",
			    "fixed", ""))), STELE_EINVALID);
	assert_false(f.suppressed);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (vex_signed(&r, k, &k->pub, STELE_VEX_PAYLOAD, bad[i]) !=
		    STELE_EINVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(stele_error_last(), "vex.json"));
		assert_false(f.suppressed);
	}
	assert_int_equal(stele_vuln_vex_apply(&r, "{}", 2, "vex.json",
		(const struct stele_pubkey *const[]){ &k->pub }, 1), STELE_EINVALID);
	vex_clear(&f);
	free(f.id);
	stele_seckey_free(k);
	stele_seckey_free(other);
}

/* `s` with the first `from` replaced by `to` (malloc'd); fails the test
 * when `from` is not there. */
static char *
replaced(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	if (!at)
		fail_msg("'%s' is not in %s", from, s);
	return stele_xasprintf("%.*s%s%s", (int)(at - s), s, to,
			       at + strlen(from));
}

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A signed scan's statement: written, read back, every malformed form
 * refused naming it; OpenVEX from an attestation's statement. */
static void
test_vuln_scan(void **state)
{
	static const char *const bad[][2] = {
		{ "attestation/vuln/v1", "attestation/vuln/v2" },
		{ "\"_type\":\"https://in-toto.io/Statement/v1\"",
		  "\"_type\":\"https://example.com/Statement\"" },
		{ "\"sha256\":\"aaaa", "\"sha256\":\"bbbb" },
		{ "\"image\":\"sha256:aaaa", "\"image\":\"sha256:bbbb" },
		{ "\"scanStartedOn\":\"2026-11-29T10:00:00Z\"",
		  "\"scanStartedOn\":\"2026-11-29T12:00:00Z\"" },
		{ "\"scanFinishedOn\":\"2026-11-29T11:00:00Z\"",
		  "\"scanFinishedOn\":\"yesterday\"" },
		{ "\"status\":\"fixed\"", "\"status\":\"open\"" },
		{ "\"severity\":\"high\"", "\"severity\":\"none\"" },
		{ "\"fixed\":\"3.0.11-2\",", "" },
		{ "\"installed\":\"3.0.11-1\",", "" },
		{ "\"cvss10\":75", "\"cvss10\":\"75\"" },
		{ "\"findings\":[", "\"findings\":{" },
		{ "\"packages\":1", "\"packages\":-1" },
		{ "\"severitySource\":\"cvss\"", "\"severitySource\":\"nvd\"" },
	};
	struct stele_buf st = STELE_BUF_INIT(1 << 20);
	struct stele_vuln_scan_info info = { 0 };
	static const char *const params[] = { "--db=db" };
	struct stele_vuln_scan *sc = NULL;
	struct stele_vuln_report r;
	struct stele_vuln_finding f;
	struct stele_sbom_pkg p;
	struct stele_sbom s;
	const struct stele_vuln_finding *g;
	json_t *doc = NULL;
	char *st0;
	size_t i;

	(void)state;
	vex_report(&r, &s, &p, &f);
	snprintf(s.image, sizeof(s.image), "%s", DIGEST_A);
	r.ecosystem = (char *)"Debian:12";
	r.npkgs = 1;
	r.db_updated = 1764403200;	/* 2025-11-29T08:00:00Z */
	f.package = (char *)"openssl";
	f.installed = (char *)"3.0.11-1";
	f.fixed = (char *)"3.0.11-2";
	f.status = STELE_VULN_FIXED;
	f.severity = STELE_SEV_HIGH;
	f.severity_from = "cvss";
	f.cvss10 = 75;
	info.name = "registry.example/app";
	info.version = "1.0";
	info.db = "/srv/vulndb";
	info.parameters = params;
	info.nparameters = 1;
	info.started = 1795946400;	/* 2026-11-29T10:00:00Z */
	info.finished = 1795950000;
	assert_ok(stele_vuln_scan_statement(&st, &r, &info));
	st0 = stele_xstrndup(st.ptr, st.len);
	assert_non_null(strstr(st0, "\"predicateType\":\"" STELE_VULN_PREDICATE "\""));
	assert_non_null(strstr(st0, "\"db\":{\"uri\":\"/srv/vulndb\",\"version\":\"2025-11-29T08:00:00Z\"}"));
	assert_non_null(strstr(st0, "\"uri\":\"pkg:generic/stele@1.0\""));
	assert_ok(stele_vuln_scan_parse(&sc, st.ptr, st.len, DIGEST_A, "scan"));
	assert_int_equal(sc->started, info.started);
	assert_int_equal(sc->finished, info.finished);
	assert_int_equal(sc->db_updated, r.db_updated);
	assert_string_equal(sc->db, "/srv/vulndb");
	assert_string_equal(sc->version, "1.0");
	assert_string_equal(sc->report->ecosystem, "Debian:12");
	assert_int_equal(sc->report->n, 1);
	g = &sc->report->v[0];
	assert_string_equal(g->id, "CVE-1");
	assert_string_equal(g->package, "openssl");
	assert_string_equal(g->installed, "3.0.11-1");
	assert_string_equal(g->fixed, "3.0.11-2");
	assert_int_equal(g->status, STELE_VULN_FIXED);
	assert_int_equal(g->severity, STELE_SEV_HIGH);
	assert_int_equal(g->cvss10, 75);
	assert_false(g->suppressed);
	assert_string_equal(sc->sbom->pkgs[g->pkg].name, "libssl3");
	assert_string_equal(sc->sbom->pkgs[g->pkg].purl, p.purl);
	assert_int_equal(stele_vuln_report_find(sc->report, "CVE-1", "libssl3"), 0);
	assert_int_equal(stele_vuln_report_find(sc->report, "CVE-1", "openssl"), -1);
	assert_int_equal(stele_vuln_report_find(sc->report, "CVE-2", "libssl3"), -1);
	/* the same report again: identical bytes */
	stele_buf_clear(&st);
	assert_ok(stele_vuln_scan_statement(&st, sc->report, &info));
	assert_int_equal(st.len, strlen(st0));
	assert_memory_equal(st.ptr, st0, st.len);
	/* OpenVEX from a statement suppresses the read-back finding */
	assert_int_equal(stele_vuln_vex_statement(&doc, st0, strlen(st0), "att"),
			 STELE_EINVALID);
	assert_non_null(strstr(stele_error_last(), "att: predicate type"));
	{
		const char *vs = "{\"_type\":\"https://in-toto.io/Statement/v1\","
			"\"predicateType\":\"https://openvex.dev/ns/v0.2.0\","
			"\"subject\":[],\"predicate\":" VEXDOC(STMT(
			"{\"name\":\"CVE-1\"}", "pkg:deb/debian/libssl3",
			"not_affected", "")) "}";

		assert_ok(stele_vuln_vex_statement(&doc, vs, strlen(vs), "att"));
		assert_ok(stele_vuln_vex_apply_doc(sc->report, doc, "att"));
		assert_true(sc->report->v[0].suppressed);
		json_decref(doc);
	}
	stele_vuln_scan_free(sc);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *b = replaced(st0, bad[i][0], bad[i][1]);

		sc = NULL;
		if (stele_vuln_scan_parse(&sc, b, strlen(b), DIGEST_A,
					  "scan.json") != STELE_EINVALID)
			fail_msg("accepted: %s -> %s", bad[i][0], bad[i][1]);
		assert_null(sc);
		assert_non_null(strstr(stele_error_last(), "scan.json"));
		free(b);
	}
	free(st0);
	stele_buf_release(&st);
	free(f.id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vuln_dpkg_known),
		cmocka_unit_test(test_vuln_dpkg_invalid),
		cmocka_unit_test(test_vuln_dpkg_agrees),
		cmocka_unit_test(test_vuln_rpm_known),
		cmocka_unit_test(test_vuln_rpm_agrees),
		cmocka_unit_test(test_vuln_apk_order),
		cmocka_unit_test(test_vuln_apk_invalid),
		cmocka_unit_test(test_vuln_cvss),
		cmocka_unit_test(test_vuln_severity),
		cmocka_unit_test(test_vuln_db_match),
		cmocka_unit_test(test_vuln_db_same_size_edit),
		cmocka_unit_test(test_vuln_db_malformed),
		cmocka_unit_test(test_vuln_policy),
		cmocka_unit_test(test_vuln_policy_signed),
		cmocka_unit_test(test_vuln_vex),
		cmocka_unit_test(test_vuln_scan),
	};

	stele_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
