#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "oci/compress.h"
#include "oci/diffid.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

#define MIB (1024 * 1024)

static const unsigned char hdr[8] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 };

/* Mixed data: runs of text, zeros and random bytes (xorshift). */
static unsigned char *
make_data(size_t len, uint32_t seed)
{
	unsigned char *p = stele_xmalloc(len ? len : 1);
	uint32_t x = seed;
	size_t i = 0, run, j;
	int kind;

	while (i < len) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		kind = x % 3;
		run = 1 + (x >> 8) % 200000;
		if (run > len - i)
			run = len - i;
		for (j = 0; j < run; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[i + j] = kind == 0 ? 0 : kind == 1 ? (unsigned char)x :
				(unsigned char)("usr/lib/x86_64 "[(i + j) % 15]);
		}
		i += run;
	}
	return p;
}

static int
sink(void *payload, const void *data, size_t len)
{
	return stele_buf_put(payload, data, len);
}

static void
compress(struct stele_buf *out, enum stele_compression kind,
	 const unsigned char *data, size_t len)
{
	struct stele_compressor *c = NULL;
	struct stele_buf init = STELE_BUF_INIT((size_t)256 * MIB);

	*out = init;
	assert_ok(stele_compressor_new(&c, kind, 0, 2, sink, out));
	assert_ok(stele_compressor_write(c, data, len));
	assert_ok(stele_compressor_finish(c));
	stele_compressor_free(c);
}

/* stele_diffid_read over `blob` with `threads`. */
static void
read_blob(char digest[STELE_DIGEST_STRLEN], char diff[STELE_DIGEST_STRLEN],
	  const void *blob, size_t len, int gzip, unsigned threads)
{
	char path[] = "/tmp/stele-test-diffid-XXXXXX";
	uint64_t size = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_ok(stele_fs_write_all(fd, blob, len));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_ok(stele_diffid_read(digest, diff, &size, fd, "sha256:test",
				    gzip, threads));
	close(fd);
	assert_int_equal(size, len);
}

/* Every thread count gives the blob's digest, and `want` (NULL: not a
 * valid stream) as the diff_id. */
static void
check_all(const void *blob, size_t len, const unsigned char *want,
	  size_t want_len, int gzip)
{
	static const unsigned threads[] = { 1, 2, 3, 4, 0 };
	char digest[STELE_DIGEST_STRLEN], diff[STELE_DIGEST_STRLEN];
	char bd[STELE_DIGEST_STRLEN], wd[STELE_DIGEST_STRLEN];
	size_t i;

	stele_digest_bytes(bd, blob, len);
	if (want)
		stele_digest_bytes(wd, want, want_len);
	for (i = 0; i < NELEM(threads); i++) {
		read_blob(digest, diff, blob, len, gzip, threads[i]);
		assert_string_equal(digest, bd);
		if (want)
			assert_string_equal(diff, wd);
		else
			assert_string_equal(diff, "");
	}
}

/* stele's layers: a member per MiB, inflated in pieces. */
static void
test_diffid_members(void **state)
{
	static const size_t sizes[] = { 1, MIB - 1, MIB, MIB + 1, 3 * MIB,
					(size_t)37 * MIB + 12345 };
	struct stele_buf z;
	unsigned char *data;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(sizes); i++) {
		data = make_data(sizes[i], 7 + (uint32_t)i);
		compress(&z, STELE_COMPRESS_GZIP, data, sizes[i]);
		check_all(z.ptr, z.len, data, sizes[i], 1);
		stele_buf_release(&z);
		free(data);
	}
}

/*
 * Small members, grouped into pieces (at most 4, or up to 1 MiB in):
 * 20 MiB of zeros (a member of about 1 KiB per MiB, 4 MiB inflated a
 * piece), then 16 KiB pieces of random bytes and text in turn (stored and
 * deflated runs, a member each).
 */
static void
test_diffid_small_members(void **state)
{
	size_t len = (size_t)40 * MIB, i;
	unsigned char *data = stele_xcalloc(1, len);
	uint32_t x = 11;
	struct stele_buf z;

	(void)state;
	for (i = 20 * MIB; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (i / 16384) % 2 ? (unsigned char)x
					  : (unsigned char)"usr/lib "[i % 8];
	}
	compress(&z, STELE_COMPRESS_GZIP, data, len);
	/* Many more members than blocks: 20 of zeros, a run each after. */
	assert_true(z.len > 10 * MIB && z.len < 30 * MIB);
	check_all(z.ptr, z.len, data, len, 1);
	stele_buf_release(&z);
	free(data);
}

/* One long member (zlib): no header to cut at; read as one stream. */
static void
test_diffid_one_member(void **state)
{
	size_t len = (size_t)24 * MIB;
	unsigned char *data = make_data(len, 99);
	struct stele_buf z;

	(void)state;
	compress(&z, STELE_COMPRESS_GZIP_ZLIB, data, len);
	check_all(z.ptr, z.len, data, len, 1);
	stele_buf_release(&z);
	free(data);
}

/*
 * Member headers' bytes inside the data: random data is stored as it is,
 * so each is a false cut, whose piece does not inflate; the answer is
 * still the sequential reader's.
 */
static void
test_diffid_false_cuts(void **state)
{
	size_t len = (size_t)9 * MIB, i;
	unsigned char *data = stele_xmalloc(len);
	uint32_t x = 5;
	struct stele_buf z;

	(void)state;
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (unsigned char)x;
	}
	for (i = 1; i < 40; i++)
		memcpy(data + i * 229373, hdr, sizeof(hdr));
	compress(&z, STELE_COMPRESS_GZIP, data, len);
	check_all(z.ptr, z.len, data, len, 1);
	stele_buf_release(&z);
	free(data);
}

/* Damage anywhere: the digest is the bytes', the diff_id unreadable. */
static void
test_diffid_damaged(void **state)
{
	size_t len = (size_t)6 * MIB + 777;
	unsigned char *data = make_data(len, 3), *bad;
	struct stele_buf z;
	size_t at[4];
	size_t i;

	(void)state;
	compress(&z, STELE_COMPRESS_GZIP, data, len);
	at[0] = 20;			/* first member's deflate data */
	at[1] = z.len / 2;		/* a middle member */
	at[2] = z.len - 3;		/* the last member's size */
	at[3] = z.len - 6;		/* the last member's CRC */
	bad = stele_xmalloc(z.len + 16);
	for (i = 0; i < NELEM(at); i++) {
		memcpy(bad, z.ptr, z.len);
		bad[at[i]] ^= 0x55;
		check_all(bad, z.len, NULL, 0, 1);
	}
	/* Truncated: in the middle, and short of the last trailer byte. */
	check_all(z.ptr, z.len / 3, NULL, 0, 1);
	check_all(z.ptr, z.len - 1, NULL, 0, 1);
	/* Trailing bytes, garbage or a header's first bytes. */
	memcpy(bad, z.ptr, z.len);
	memcpy(bad + z.len, "garbage", 7);
	check_all(bad, z.len + 7, NULL, 0, 1);
	memcpy(bad + z.len, hdr, sizeof(hdr));
	check_all(bad, z.len + sizeof(hdr), NULL, 0, 1);
	/* Not gzip at all, and empty. */
	check_all(data, MIB, NULL, 0, 1);
	check_all("", 0, NULL, 0, 1);
	free(bad);
	stele_buf_release(&z);
	free(data);
}

/* Other codecs (libarchive): zstd and uncompressed. */
static void
test_diffid_other(void **state)
{
	size_t len = (size_t)5 * MIB + 3;
	unsigned char *data = make_data(len, 11);
	struct stele_buf z;

	(void)state;
	compress(&z, STELE_COMPRESS_ZSTD, data, len);
	check_all(z.ptr, z.len, data, len, 0);
	check_all(z.ptr, z.len - 1, NULL, 0, 0);
	stele_buf_release(&z);
	check_all(data, len, data, len, 0);
	free(data);
}

/* A blob that cannot be read is an error naming it. */
static void
test_diffid_unreadable(void **state)
{
	char digest[STELE_DIGEST_STRLEN], diff[STELE_DIGEST_STRLEN];
	uint64_t size;
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_true(fd >= 0);
	assert_err(stele_diffid_read(digest, diff, &size, fd, "sha256:dir", 1,
				     2), STELE_ERROR, "cannot read blob sha256:dir");
	assert_err(stele_diffid_read(digest, diff, &size, fd, "sha256:dir", 0,
				     2), STELE_ERROR, "cannot read blob sha256:dir");
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diffid_members),
		cmocka_unit_test(test_diffid_small_members),
		cmocka_unit_test(test_diffid_one_member),
		cmocka_unit_test(test_diffid_false_cuts),
		cmocka_unit_test(test_diffid_damaged),
		cmocka_unit_test(test_diffid_other),
		cmocka_unit_test(test_diffid_unreadable),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
