#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/init.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/time.h"
#include "util/utf8.h"
#include "tests/unit/unit.h"

static void
test_util_time_format(void **state)
{
	char s[STELE_TIME_STRLEN];

	(void)state;
	stele_time_format(s, 0);
	assert_string_equal(s, "1970-01-01T00:00:00Z");
	stele_time_format(s, 1700000000);
	assert_string_equal(s, "2023-11-14T22:13:20Z");
	stele_time_format(s, 951782400); /* a leap day */
	assert_string_equal(s, "2000-02-29T00:00:00Z");
}

static void
test_util_time_parse(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2023-11-14T22:13:20Z", 1700000000 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "2024-01-02T03:04:05.123456789Z", 1704164645 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "9999-12-31T23:59:59Z", 253402300799 },
	};
	static const char *const bad[] = {
		"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20+01:00",
		"2023-11-14 22:13:20Z", "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z",
		"2023-04-31T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:61Z",
		"2023-11-14T22:13:20.Z", "2023-11-14T22:13:20ZZ", "+023-11-14T22:13:20Z",
		"2023-1a-14T22:13:20Z",
	};
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		t = 42;
		assert_ok(stele_time_parse(&t, good[i].s));
		if (t != good[i].t)
			fail_msg("%s: %lld, want %lld", good[i].s, (long long)t,
				 (long long)good[i].t);
	}
	for (i = 0; i < NELEM(bad); i++)
		assert_err(stele_time_parse(&t, bad[i]), STELE_EINVALID,
			   "is not a UTC time");
	assert_err(stele_time_parse(&t, NULL), STELE_EINVALID, "(none)");
}

static void
test_util_strv(void **state)
{
	char **v = NULL;
	size_t n = 0;

	(void)state;
	stele_strv_push(&v, &n, "a");
	stele_strv_take(&v, &n, stele_xstrdup("b"));
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	stele_strv_free(v, n);
	stele_strv_free(NULL, 0);
}

static void
test_util_utf8(void **state)
{
	static const unsigned char bad[][4] = {
		{ 0xC0, 0x80 },       /* overlong */
		{ 0xED, 0xA0, 0x80 }, /* a surrogate */
		{ 0xF4, 0x90, 0x80, 0x80 }, /* past U+10FFFF */
		{ 0x80 },             /* a lone continuation byte */
	};
	char out[4];
	size_t w, i;

	(void)state;
	assert_int_equal(stele_utf8_decode((const unsigned char *)"\xE2\x82\xAC",
					   3, &w), 0x20AC);
	assert_int_equal(w, 3);
	assert_int_equal(stele_utf8_decode((const unsigned char *)"\xE2\x82", 2,
					   &w), STELE_RUNE_ERROR);
	assert_int_equal(w, 1);
	for (i = 0; i < NELEM(bad); i++) {
		assert_int_equal(stele_utf8_decode(bad[i], 4, &w),
				 STELE_RUNE_ERROR);
		assert_int_equal(w, 1);
	}
	assert_int_equal(stele_utf8_encode(0x10FFFF, out), 4);
	assert_memory_equal(out, "\xF4\x8F\xBF\xBF", 4);
	assert_int_equal(stele_utf8_encode('a', out), 1);
}

/* stele_init() does not load OpenSSL's error strings; an error says its
 * reason all the same (OpenSSL loads them then). */
static void
test_util_error_ssl(void **state)
{
	(void)state;
	ERR_raise(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM);
	assert_int_equal(stele_error_ssl("cannot do it"), STELE_ERROR);
	assert_non_null(strstr(stele_error_last(), "cannot do it: error:"));
	assert_non_null(strstr(stele_error_last(), "unsupported algorithm"));
	assert_int_equal(ERR_peek_error(), 0);
	assert_int_equal(stele_error_ssl("nothing"), STELE_ERROR);
	assert_string_equal(stele_error_last(), "nothing: OpenSSL error");
}

/* stele_json_put_string writes what stele_json_emit writes for a string:
 * every byte 1..0x7f alone and in text, and UTF-8 of 2, 3 and 4 bytes
 * (U+2028, U+FFFD itself); not UTF-8 is refused. */
static void
test_util_json_string(void **state)
{
	static const char *const bad[] = { "\xff", "a\xc3", "\xc0\xaf",
					   "\xed\xa0\x80", "\xf4\x90\x80\x80" };
	char s[64];
	int c, i;

	(void)state;
	for (c = 1; c < 0x80 + 6; c++) {
		struct stele_buf a = STELE_BUF_INIT(1 << 10), b = STELE_BUF_INIT(1 << 10);
		json_t *j;

		if (c < 0x80)
			snprintf(s, sizeof(s), "x%cy%c", c, c);
		else
			snprintf(s, sizeof(s), "%s", (const char *[]){ "\xc3\xa9t\xc3\xa9",
				 "\xe2\x80\xa8", "\xef\xbf\xbd", "\xf0\x9f\x90\xb3",
				 "a\\\"/\t\x7f", "" }[c - 0x80]);
		assert_non_null(j = json_string(s));
		assert_ok(stele_json_emit(&a, j));
		assert_ok(stele_json_put_string(&b, s));
		if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len))
			fail_msg("case %d: jansson '%.*s', ours '%.*s'", c, (int)a.len,
				 a.ptr, (int)b.len, b.ptr);
		json_decref(j);
		stele_buf_release(&a);
		stele_buf_release(&b);
	}
	for (i = 0; i < (int)NELEM(bad); i++) {
		struct stele_buf b = STELE_BUF_INIT(1 << 10);

		assert_null(json_string(bad[i])); /* jansson agrees */
		assert_err(stele_json_put_string(&b, bad[i]), STELE_EINVALID, "is not UTF-8");
		stele_buf_release(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_time_format),
		cmocka_unit_test(test_util_time_parse),
		cmocka_unit_test(test_util_strv),
		cmocka_unit_test(test_util_utf8),
		cmocka_unit_test(test_util_error_ssl),
		cmocka_unit_test(test_util_json_string),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
