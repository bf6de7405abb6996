#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/values.h"
#include "util/error.h"
#include "util/init.h"

static void
expect_duration(const char *s, int64_t want)
{
	const char *why = NULL;
	int64_t got = -42;

	if (stele_value_duration(&got, s, &why) < 0)
		print_error("'%s': %s\n", s, why);
	if (got != want)
		print_error("'%s': got %lld want %lld\n", s, (long long)got,
			    (long long)want);
	assert_true(got == want);
}

static void
expect_bad_duration(const char *s, const char *why_want)
{
	const char *why = NULL;
	int64_t got;

	if (stele_value_duration(&got, s, &why) == 0)
		print_error("'%s' parsed as %lld\n", s, (long long)got);
	assert_non_null(why);
	assert_string_equal(why, why_want);
}

/* Go's time.ParseDuration on the cases its own tests use. */
static void
test_values_duration(void **state)
{
	const int64_t s = 1000000000, m = 60 * s, h = 60 * m;

	(void)state;
	expect_duration("0", 0);
	expect_duration("-0", 0);
	expect_duration("+0", 0);
	expect_duration("5s", 5 * s);
	expect_duration("30s", 30 * s);
	expect_duration("1478s", 1478 * s);
	expect_duration("-5s", -5 * s);
	expect_duration("+5s", 5 * s);
	expect_duration("-0s", 0);
	expect_duration("5.0s", 5 * s);
	expect_duration("5.6s", 5 * s + 600000000);
	expect_duration("5.s", 5 * s);
	expect_duration(".5s", 500000000);
	expect_duration("1.0s", s);
	expect_duration("1.00s", s);
	expect_duration("1.004s", s + 4000000);
	expect_duration("1.0040s", s + 4000000);
	expect_duration("100.00100s", 100 * s + 1000000);
	expect_duration("10ns", 10);
	expect_duration("11us", 11000);
	expect_duration("12\xc2\xb5s", 12000);
	expect_duration("12\xce\xbcs", 12000);
	expect_duration("13ms", 13000000);
	expect_duration("14s", 14 * s);
	expect_duration("15m", 15 * m);
	expect_duration("16h", 16 * h);
	expect_duration("3h30m", 3 * h + 30 * m);
	expect_duration("10.5s4m", 4 * m + 10 * s + 500000000);
	expect_duration("-2m3.4s", -(2 * m + 3 * s + 400000000));
	expect_duration("1h2m3s4ms5us6ns", h + 2 * m + 3 * s + 4000000 + 5000 + 6);
	expect_duration("39h9m14.425s", 39 * h + 9 * m + 14 * s + 425000000);
	expect_duration("52763797000ns", 52763797000LL);
	expect_duration("0.3333333333333333333h", 20 * m);
	expect_duration("9007199254740993ns", 9007199254740993LL);
	expect_duration("9223372036854775807ns", INT64_MAX);
	expect_duration("9223372036854775.807us", INT64_MAX);
	expect_duration("9223372036854.775807ms", INT64_MAX);
	expect_duration("-9223372036854775808ns", INT64_MIN);
	expect_duration("-9223372036854775.808us", INT64_MIN);
	expect_duration("0.100000000000000000000h", 6 * m);
	expect_duration("0.830103483285477580700h",
			49 * m + 48 * s + 372539827);

	expect_bad_duration("", "invalid duration");
	expect_bad_duration("3", "missing unit in duration");
	expect_bad_duration("-", "invalid duration");
	expect_bad_duration("s", "invalid duration");
	expect_bad_duration(".", "invalid duration");
	expect_bad_duration("-.", "invalid duration");
	expect_bad_duration(".s", "invalid duration");
	expect_bad_duration("+.s", "invalid duration");
	expect_bad_duration("1d", "unknown unit in duration");
	expect_bad_duration("1s ", "unknown unit in duration");
	expect_bad_duration("\x85\x85", "invalid duration");
	expect_bad_duration("9223372036854775808ns", "invalid duration");
	expect_bad_duration("9223372036854775.808us", "invalid duration");
	expect_bad_duration("-9223372036854775809ns", "invalid duration");
	expect_bad_duration("99999999999999999999999s", "invalid duration");
	expect_bad_duration("3000000h", "invalid duration");
}

static void
test_values_int32(void **state)
{
	const char *why;
	int64_t v;

	(void)state;
	assert_int_equal(stele_value_int32(&v, "0", &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(stele_value_int32(&v, "+17", &why), 0);
	assert_int_equal(v, 17);
	assert_int_equal(stele_value_int32(&v, "-2147483648", &why), 0);
	assert_true(v == INT32_MIN);
	assert_int_equal(stele_value_int32(&v, "2147483647", &why), 0);
	assert_true(v == INT32_MAX);
	assert_int_equal(stele_value_int32(&v, "2147483648", &why), -1);
	assert_string_equal(why, "value out of range");
	assert_int_equal(stele_value_int32(&v, "99999999999999999999", &why), -1);
	assert_string_equal(why, "value out of range");
	assert_int_equal(stele_value_int32(&v, "", &why), -1);
	assert_string_equal(why, "invalid syntax");
	assert_int_equal(stele_value_int32(&v, "1_000", &why), -1);
	assert_int_equal(stele_value_int32(&v, "0x10", &why), -1);
	assert_int_equal(stele_value_int32(&v, "-", &why), -1);
}

/* "a b c": the ports a spec exposes, space-separated; NULL: an error. */
static void
expect_ports(const char *spec, const char *want)
{
	char **list = NULL, got[4096] = "";
	const char *why = NULL;
	size_t n = 0, i;
	int error = stele_value_ports(&list, &n, spec, &why);

	if (!want) {
		if (error == 0)
			print_error("'%s' accepted\n", spec);
		assert_int_equal(error, -1);
		assert_null(list);
		assert_non_null(why);
		return;
	}
	if (error < 0)
		print_error("'%s': %s\n", spec, why);
	assert_int_equal(error, 0);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, list[i]);
		free(list[i]);
	}
	free(list);
	assert_string_equal(got, want);
}

static void
test_values_ports(void **state)
{
	(void)state;
	expect_ports("80", "80/tcp");
	expect_ports("80/udp", "80/udp");
	expect_ports("80/UDP", "80/udp");
	expect_ports("80/Sctp", "80/sctp");
	expect_ports("80/", "80/tcp");
	expect_ports("0", "0/tcp");
	expect_ports("65535", "65535/tcp");
	expect_ports("8000-8002/tcp", "8000/tcp 8001/tcp 8002/tcp");
	expect_ports("8000-8000", "8000/tcp");
	expect_ports("7-7x", NULL);
	expect_ports("10-9", NULL);
	expect_ports("8080:80", "80/tcp");
	expect_ports("::80", "80/tcp");
	expect_ports("127.0.0.1:8080:80/udp", "80/udp");
	expect_ports("[::1]:8080:80", "80/tcp");
	expect_ports("::1:8080:80", "80/tcp");
	expect_ports("8000-8001:80-81", "80/tcp 81/tcp");
	expect_ports("8000-8010:80", "80/tcp");
	expect_ports("8000-8010:80-81", NULL);
	expect_ports("bad.ip:80:80", NULL);
	expect_ports("x:80", NULL);
	expect_ports("65536", NULL);
	expect_ports("-1", NULL);
	expect_ports("", NULL);
	expect_ports("/tcp", NULL);
	expect_ports("80/icmp", NULL);
	expect_ports("80/tcpudpsctp", NULL);
	expect_ports("80-", NULL);
	expect_ports("-80", NULL);
	expect_ports("1-2-3", NULL);
}

static void
expect_chmod(const char *spec, unsigned mode, int dir, unsigned want)
{
	const char *why = NULL;
	unsigned got;

	if (stele_value_chmod_check(spec, &why) < 0)
		print_error("'%s': %s\n", spec, why);
	assert_null(why);
	got = stele_value_chmod(spec, mode, dir);
	if (got != want)
		print_error("'%s' on %04o: got %04o want %04o\n", spec, mode, got,
			    want);
	assert_int_equal(got, want);
}

static void
test_values_chmod(void **state)
{
	static const char *const bad[] = {
		"", "8", "0x1", "10000", "9u+x", "u", "ux", "u+q", "u+x,", "+x,,",
		"z+x", ",u+x", "u+x g+x", NULL
	};
	const char *why;
	size_t i;

	(void)state;
	expect_chmod("0755", 0644, 0, 0755);
	expect_chmod("755", 0, 0, 0755);
	expect_chmod("7777", 0, 0, 07777);
	expect_chmod("0", 0777, 1, 0);
	expect_chmod("u+x", 0644, 0, 0744);
	expect_chmod("go-w", 0666, 0, 0644);
	expect_chmod("+x", 0644, 0, 0755);
	expect_chmod("+w", 0444, 0, 0644);
	expect_chmod("a+w", 0444, 0, 0666);
	expect_chmod("=r", 0777, 0, 0444);
	expect_chmod("u=rwx,go=rx", 0, 0, 0755);
	expect_chmod("u=rw,g=r,o=", 0777, 0, 0640);
	expect_chmod("+X", 0644, 0, 0644);
	expect_chmod("+X", 0644, 1, 0755);
	expect_chmod("+X", 0744, 0, 0755);
	expect_chmod("a-x,+X", 0744, 0, 0755);
	expect_chmod("u+s", 0755, 0, 04755);
	expect_chmod("g+s", 0755, 0, 02755);
	expect_chmod("o+s", 0755, 0, 0755);
	expect_chmod("+t", 0755, 1, 01755);
	expect_chmod("o+t", 0755, 1, 0755);
	expect_chmod("go=u", 0700, 0, 0777);
	expect_chmod("go=u-w", 0700, 0, 0755);
	expect_chmod("a-x,u+x", 0777, 0, 0766);
	expect_chmod("u-s", 04755, 0, 0755);
	expect_chmod("u=rwx", 01755, 1, 01755);
	for (i = 0; bad[i]; i++) {
		why = NULL;
		if (stele_value_chmod_check(bad[i], &why) == 0)
			print_error("'%s' accepted\n", bad[i]);
		assert_non_null(why);
	}
}

static void
test_values_mount(void **state)
{
	static const char *const bad[] = {
		"", "type=ssh", "type=nfs",
		"target=/x,mode=0700", "target=/x,sharing=shared",
		"target=/x,from=$STAGE", "target=/x,env=A", "target=/x,size=1m",
		"type=cache,target=/x,source=y", "type=secret,id=a,from=b",
		"type=cache,target=/x,colour=red",
		"type=tmpfs,target=/x,mode=0700", "type=secret",
		"type=cache,target=/x,sharing=all", "type=tmpfs,target=/x,size=lots",
		"type=cache,target=/x,size=1m", "type=cache,target=/x,required",
		"type=cache,target=/x,ro=maybe", "type=cache,target=/x,from=a",
		"type=cache,target=/x,mode=9", "type=tmpfs,target=/x,env=A",
		"type=cache,target", NULL
	};
	struct stele_mount m;
	char why[256];
	size_t i;

	(void)state;
	assert_int_equal(stele_value_mount(&m, "target=/x", why, sizeof(why)), 0);
	assert_int_equal(m.type, STELE_MOUNT_BIND);
	assert_true(m.readonly);
	assert_null(m.from);
	assert_null(m.source);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "Type=Bind,from=build,src=/out,"
		"dst=o,rw", why, sizeof(why)), 0);
	assert_int_equal(m.type, STELE_MOUNT_BIND);
	assert_false(m.readonly);
	assert_string_equal(m.from, "build");
	assert_string_equal(m.source, "/out");
	assert_string_equal(m.target, "o");
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "source=$DIR,target=/x,"
		"readonly=false", why, sizeof(why)), 0);
	assert_false(m.readonly);
	assert_string_equal(m.source, "$DIR");
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=cache,target=/x", why,
					   sizeof(why)), 0);
	assert_int_equal(m.type, STELE_MOUNT_CACHE);
	assert_string_equal(m.target, "/x");
	assert_false(m.readonly);
	assert_null(m.id);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "TYPE=Secret,id=a,required,"
		"mode=0440,uid=1,gid=2,env=E", why, sizeof(why)), 0);
	assert_int_equal(m.type, STELE_MOUNT_SECRET);
	assert_true(m.readonly && m.required);
	assert_true(m.mode == 0440 && m.uid == 1 && m.gid == 2);
	assert_string_equal(m.env, "E");
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=tmpfs,dst=/t,size=64m",
					   why, sizeof(why)), 0);
	assert_true(m.size == 64LL << 20);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=tmpfs,target=/t,size=1.5GiB",
					   why, sizeof(why)), 0);
	assert_true(m.size == 3LL << 29);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=cache,target=/x,ro", why,
					   sizeof(why)), 0);
	assert_true(m.readonly);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=cache,target=/x,"
		"readwrite=false,sharing=locked", why, sizeof(why)), 0);
	assert_true(m.readonly);
	assert_string_equal(m.sharing, "locked");
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=secret,id=a,rw=true",
					   why, sizeof(why)), 0);
	assert_false(m.readonly);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "\"type=cache\",\"target=/a,b\"",
					   why, sizeof(why)), 0);
	assert_string_equal(m.target, "/a,b");
	stele_mount_release(&m);
	/* no target: at the working directory, which the build knows */
	assert_int_equal(stele_value_mount(&m, "source=x", why, sizeof(why)), 0);
	assert_null(m.target);
	assert_int_equal(m.type, STELE_MOUNT_BIND);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=bind,from=a", why,
					   sizeof(why)), 0);
	assert_null(m.target);
	stele_mount_release(&m);
	assert_int_equal(stele_value_mount(&m, "type=cache", why, sizeof(why)),
			 0);
	assert_null(m.target);
	stele_mount_release(&m);
	for (i = 0; bad[i]; i++) {
		why[0] = '\0';
		if (stele_value_mount(&m, bad[i], why, sizeof(why)) == 0) {
			print_error("'%s' accepted\n", bad[i]);
			stele_mount_release(&m);
			fail();
		}
		assert_true(why[0] != '\0');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_duration),
		cmocka_unit_test(test_values_int32),
		cmocka_unit_test(test_values_ports),
		cmocka_unit_test(test_values_chmod),
		cmocka_unit_test(test_values_mount),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
