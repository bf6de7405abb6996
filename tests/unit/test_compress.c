#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "oci/compress.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define BLOCK (128 * KIB)
#define LD_BLOCK MIB
#define LD_PIECE (16 * KIB)
#define OUT_MAX ((size_t)64 * MIB)

/* Chunkings: 0 ends a list, which then repeats from the start. */
static const size_t chunks_whole[] = { SIZE_MAX, 0 };
static const size_t chunks_odd[] = { 1, 7, 4093, 65537, 131071, 3, 131073,
				     300001, 0 };
static const size_t chunks_block[] = { BLOCK, 0 };
static const size_t chunks_prime[] = { 9973, 0 };

struct collect {
	struct stele_buf buf;
	size_t calls;
	size_t fail_after;	/* fail once this many bytes arrived; 0 never */
	int fail_code;
};

static int
collect_sink(void *payload, const void *data, size_t len)
{
	struct collect *col = payload;

	col->calls++;
	if (col->fail_after && col->buf.len + len >= col->fail_after)
		return stele_error_setc(col->fail_code, "sink refused");
	return stele_buf_put(&col->buf, data, len);
}

static void
collect_init(struct collect *col)
{
	struct stele_buf init = STELE_BUF_INIT(OUT_MAX);

	memset(col, 0, sizeof(*col));
	col->buf = init;
}

/* Deterministic mixed data: text-like runs, zeros and random bytes. */
static unsigned char *
make_data(size_t len, uint32_t seed)
{
	static const char *const words[] = { "usr", "lib", "x86_64", "linux",
					      "gnu", "libc.so.6", "ELF", "\n",
					      "/", "GLIBC_2.34", " " };
	unsigned char *p = stele_xmalloc(len ? len : 1);
	uint32_t x = seed ? seed : 1;
	size_t i = 0, run, j, w;
	int kind;

	while (i < len) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		kind = x % 3;
		run = 1 + (x >> 8) % (64 * KIB);
		if (run > len - i)
			run = len - i;
		for (j = 0; j < run; j++) {
			if (kind == 0) {
				p[i + j] = 0;
			} else if (kind == 1) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				p[i + j] = (unsigned char)x;
			} else {
				w = (i + j) / 5 % (sizeof(words) /
						   sizeof(words[0]));
				p[i + j] = (unsigned char)words[w][(i + j) %
					strlen(words[w])];
			}
		}
		i += run;
	}
	return p;
}

static int
compress_with(struct collect *col, enum stele_compression kind, int level,
	      unsigned threads, const unsigned char *data, size_t len,
	      const size_t *chunks)
{
	struct stele_compressor *c = NULL;
	size_t off = 0, n, k = 0;
	int error;

	if ((error = stele_compressor_new(&c, kind, level, threads,
					  collect_sink, col)) < 0)
		return error;
	while (off < len) {
		if (!chunks[k])
			k = 0;
		n = chunks[k++];
		if (n > len - off)
			n = len - off;
		if ((error = stele_compressor_write(c, data + off, n)) < 0)
			goto out;
		off += n;
	}
	error = stele_compressor_finish(c);
out:
	stele_compressor_free(c);
	return error;
}

/* zlib's gunzip, member after member; returns the number of members. */
static size_t
gunzip_members(const struct stele_buf *gz, const unsigned char *data,
	       size_t len)
{
	unsigned char *out = stele_xmalloc(len + 1);
	size_t members = 0;
	z_stream s;
	int ret;

	memset(&s, 0, sizeof(s));
	assert_int_equal(inflateInit2(&s, 16 + 15), Z_OK);
	s.next_in = (unsigned char *)gz->ptr;
	s.avail_in = (uInt)gz->len;
	s.next_out = out;
	s.avail_out = (uInt)(len + 1);
	do {
		ret = inflate(&s, Z_FINISH);
		assert_int_equal(ret, Z_STREAM_END);
		members++;
		if (s.avail_in)
			assert_int_equal(inflateReset(&s), Z_OK);
	} while (s.avail_in);
	assert_int_equal((size_t)(s.next_out - out), len);
	if (len)
		assert_memory_equal(out, data, len);
	inflateEnd(&s);
	free(out);
	return members;
}

/* The stream decompresses to `data`, in as many members as the codec makes. */
static void
check_gunzip_kind(enum stele_compression kind, const struct stele_buf *gz,
		  const unsigned char *data, size_t len)
{
	size_t members = gunzip_members(gz, data, len);

	size_t blocks = len ? (len + LD_BLOCK - 1) / LD_BLOCK : 1;

	if (kind == STELE_COMPRESS_GZIP_ZLIB)
		assert_int_equal(members, 1);
	else if (kind == STELE_COMPRESS_GZIP_WHOLE)
		assert_int_equal(members, blocks);
	else
		assert_true(members >= blocks &&
			    members <= blocks * (LD_BLOCK / LD_PIECE));
}

static void
check_unzstd(const struct stele_buf *zs, const unsigned char *data,
	     size_t len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	unsigned char *out = stele_xmalloc(len + 1);
	ZSTD_inBuffer in = { zs->ptr, zs->len, 0 };
	ZSTD_outBuffer ob = { out, len + 1, 0 };
	size_t r;

	assert_non_null(d);
	do {
		r = ZSTD_decompressStream(d, &ob, &in);
		assert_false(ZSTD_isError(r));
	} while (r != 0 && in.pos < in.size);
	assert_int_equal(r, 0);
	assert_int_equal(in.pos, in.size);
	assert_int_equal(ob.pos, len);
	if (len)
		assert_memory_equal(out, data, len);
	ZSTD_freeDCtx(d);
	free(out);
}

static double
model_chi(const unsigned char *p, size_t n)
{
	double counts[256] = { 0 }, chi = 0, e = n / 256.0;
	size_t i;

	for (i = 0; i < n; i++)
		counts[p[i]]++;
	for (i = 0; i < 256; i++)
		chi += (counts[i] - e) * (counts[i] - e) / e;
	return chi;
}

/*
 * The stored-piece rule, written from its description (oci/compress.c):
 * a whole 16 KiB piece whose byte counts have a chi-square statistic of at
 * most 1024 over its first 2 KiB and 512 over all of it, and in which at
 * most one 8-byte string at a content-defined position (the top 16 bits
 * of the multiplicative hash of the 8 bytes read as a little-endian
 * number end in four zero bits) is seen again, at the
 * last position its hash slot remembers.
 */
static int
model_stored(const unsigned char *p, size_t n)
{
	static uint32_t last[4096];
	uint64_t v, h;
	size_t i, j;
	int repeats = 0;

	if (n != LD_PIECE || model_chi(p, 2048) > 1024 || model_chi(p, n) > 512)
		return 0;
	memset(last, 0xff, sizeof(last));
	for (i = 0; i + 8 <= n; i++) {
		for (v = 0, j = 8; j-- > 0;)
			v = v << 8 | p[i + j]; /* little-endian */
		h = (v * UINT64_C(0x9E3779B97F4A7C15)) >> 48;
		if (h % 16)
			continue;
		if (last[h / 16] != UINT32_MAX &&
		    !memcmp(p + last[h / 16], p + i, 8))
			repeats++;
		last[h / 16] = (uint32_t)i;
	}
	return repeats <= 1;
}

/* One gzip member of data[0..n) by a fresh libdeflate at `level`. */
static void
reference_member(struct stele_buf *out, const unsigned char *data, size_t n,
		 int level, int hdr_level)
{
	unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	size_t cap = 2 * LD_BLOCK + 1024, got;
	unsigned char t[8], *tmp = stele_xmalloc(cap);
	struct libdeflate_compressor *ld;
	uLong crc;
	int i;

	hdr[8] = hdr_level == 9 ? 2 : hdr_level == 1 ? 4 : 0;
	assert_non_null(ld = libdeflate_alloc_compressor(level));
	got = libdeflate_deflate_compress(ld, data, n, tmp, cap);
	assert_true(got > 0);
	libdeflate_free_compressor(ld);
	crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)n);
	for (i = 0; i < 4; i++) {
		t[i] = (unsigned char)(crc >> (8 * i));
		t[4 + i] = (unsigned char)((uint32_t)n >> (8 * i));
	}
	assert_ok(stele_buf_put(out, hdr, sizeof(hdr)));
	assert_ok(stele_buf_put(out, tmp, got));
	assert_ok(stele_buf_put(out, t, sizeof(t)));
	free(tmp);
}

/*
 * An independent model of the libdeflate formats: each 1 MiB block a gzip
 * member by a fresh compressor (zlib's CRC), no threads; with `pieces`,
 * a member per run of stored (level 0) or deflated 64 KiB pieces.
 */
static void
reference_ld(struct stele_buf *out, const unsigned char *data, size_t len,
	     int level, int pieces)
{
	size_t off = 0, n, a, b;
	int st;

	do {
		n = len - off < LD_BLOCK ? len - off : LD_BLOCK;
		if (!pieces || n == 0) {
			reference_member(out, data + off, n, level, level);
			off += n;
			continue;
		}
		for (a = 0; a < n; a = b) {
			st = model_stored(data + off + a,
					  n - a < LD_PIECE ? n - a : LD_PIECE);
			for (b = a + LD_PIECE; b < n; b += LD_PIECE)
				if (model_stored(data + off + b,
						 n - b < LD_PIECE ? n - b :
								    LD_PIECE) !=
				    st)
					break;
			if (b > n)
				b = n;
			reference_member(out, data + off + a, b - a,
					 st ? 0 : level, level);
		}
		off += n;
	} while (off < len);
}

/*
 * An independent model of the zlib format: a fresh z_stream per block, no
 * threads, no reuse.  The compressor must produce exactly these bytes.
 */
static void
reference_zlib(struct stele_buf *out, const unsigned char *data, size_t len,
	       int level)
{
	unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	unsigned char *tmp;
	size_t off = 0, n, cap;
	uLong crc = crc32(0L, Z_NULL, 0);
	unsigned char t[8];
	z_stream s;
	int last, i;

	hdr[8] = level == 9 ? 2 : level == 1 ? 4 : 0;
	assert_ok(stele_buf_put(out, hdr, sizeof(hdr)));
	cap = 2 * BLOCK;
	tmp = stele_xmalloc(cap);
	do {
		n = len - off < BLOCK ? len - off : BLOCK;
		last = off + n == len;
		memset(&s, 0, sizeof(s));
		assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, -15, 8,
					      Z_DEFAULT_STRATEGY), Z_OK);
		if (off)
			assert_int_equal(deflateSetDictionary(&s,
				data + off - 32 * KIB, 32 * KIB), Z_OK);
		s.next_in = (unsigned char *)data + off;
		s.avail_in = (uInt)n;
		s.next_out = tmp;
		s.avail_out = (uInt)cap;
		assert_true(deflate(&s, last ? Z_FINISH : Z_SYNC_FLUSH) ==
			    (last ? Z_STREAM_END : Z_OK));
		assert_int_equal(s.avail_in, 0);
		assert_ok(stele_buf_put(out, tmp, cap - s.avail_out));
		deflateEnd(&s);
		crc = crc32(crc, data + off, (uInt)n);
		off += n;
	} while (off < len);
	for (i = 0; i < 4; i++) {
		t[i] = (unsigned char)(crc >> (8 * i));
		t[4 + i] = (unsigned char)((uint32_t)len >> (8 * i));
	}
	assert_ok(stele_buf_put(out, t, sizeof(t)));
	free(tmp);
}

static void
reference_gzip(enum stele_compression kind, struct stele_buf *out,
	       const unsigned char *data, size_t len, int level)
{
	if (kind == STELE_COMPRESS_GZIP_ZLIB)
		reference_zlib(out, data, len, level);
	else
		reference_ld(out, data, len, level,
			     kind == STELE_COMPRESS_GZIP);
}

static void
gzip_kind_case(enum stele_compression kind, size_t len, uint32_t seed)
{
	static const unsigned threads[] = { 1, 2, 4, 0 };
	static const size_t *const chunkings[] = { chunks_whole, chunks_odd,
						   chunks_block,
						   chunks_prime };
	unsigned char *data = make_data(len, seed);
	struct stele_buf ref = STELE_BUF_INIT(OUT_MAX);
	struct collect first, col;
	size_t t, k;
	/* The default level, against the model at the level it stands for. */
	int level = stele_compression_level(kind, 0);

	reference_gzip(kind, &ref, data, len, level);
	collect_init(&first);
	assert_ok(compress_with(&first, kind, 0, 1, data, len,
				chunks_odd));
	check_gunzip_kind(kind, &first.buf, data, len);
	assert_int_equal(first.buf.len, ref.len);
	assert_memory_equal(first.buf.ptr, ref.ptr, ref.len);
	for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		for (k = 0; k < sizeof(chunkings) / sizeof(chunkings[0]); k++) {
			collect_init(&col);
			assert_ok(compress_with(&col, kind, level,
						threads[t], data, len,
						chunkings[k]));
			assert_int_equal(col.buf.len, first.buf.len);
			assert_memory_equal(col.buf.ptr, first.buf.ptr,
					    first.buf.len);
			stele_buf_release(&col.buf);
		}
	}
	stele_buf_release(&first.buf);
	stele_buf_release(&ref);
	free(data);
}

/* The gzip schemes: the same bytes for 1, 2, 4 and the default threads. */
static void
gzip_case(size_t len, uint32_t seed)
{
	gzip_kind_case(STELE_COMPRESS_GZIP, len, seed);
	gzip_kind_case(STELE_COMPRESS_GZIP_WHOLE, len, seed);
	gzip_kind_case(STELE_COMPRESS_GZIP_ZLIB, len, seed);
}

static void
test_compress_gzip_empty(void **state)
{
	(void)state;
	gzip_case(0, 1);
}

static void
test_compress_gzip_one_byte(void **state)
{
	(void)state;
	gzip_case(1, 2);
}

static void
test_compress_gzip_exact_block(void **state)
{
	(void)state;
	gzip_case(BLOCK, 3);
}

static void
test_compress_gzip_block_plus_one(void **state)
{
	(void)state;
	gzip_case(BLOCK + 1, 4);
}

static void
test_compress_gzip_two_blocks_exact(void **state)
{
	(void)state;
	gzip_case(2 * BLOCK, 5);
}

/* libdeflate's member boundaries: exactly one, and one past it. */
static void
test_compress_gzip_member_edges(void **state)
{
	(void)state;
	gzip_case(LD_BLOCK, 13);
	gzip_case(LD_BLOCK + 1, 14);
	gzip_case(2 * LD_BLOCK - 1, 15);
}

static void
test_compress_gzip_large_mixed(void **state)
{
	(void)state;
	gzip_case(5 * MIB + 12345, 6);
}

static void
fill_random(unsigned char *p, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 7);
	}
}

/*
 * Which pieces are stored: text pieces 0-3 deflated, random 4-7 stored,
 * piece 8 (4 KiB of random bytes four times: near-uniform, but repeats)
 * deflated, random 9-63 stored: four members, each kind as the model says;
 * stored pieces cost a few bytes over their size, and the block is no
 * larger than deflating it whole.
 */
static void
test_compress_gzip_stored_pieces(void **state)
{
	unsigned char *data = stele_xmalloc(LD_BLOCK);
	struct collect col, whole;
	size_t i, text;
	struct stele_buf ref = STELE_BUF_INIT(OUT_MAX);

	(void)state;
	for (i = 0; i < 4 * LD_PIECE; i++)
		data[i] = (unsigned char)"usr/lib/x86_64 GLIBC\n"[i % 21];
	fill_random(data + 4 * LD_PIECE, 4 * LD_PIECE, 99);
	fill_random(data + 8 * LD_PIECE, 4 * KIB, 7);
	for (i = 1; i < 4; i++)
		memcpy(data + 8 * LD_PIECE + i * 4 * KIB, data + 8 * LD_PIECE,
		       4 * KIB);
	fill_random(data + 9 * LD_PIECE, LD_BLOCK - 9 * LD_PIECE, 1234);
	for (i = 0; i < LD_BLOCK / LD_PIECE; i++)
		assert_int_equal(model_stored(data + i * LD_PIECE, LD_PIECE),
				 (i >= 4 && i < 8) || i >= 9);

	collect_init(&col);
	assert_ok(compress_with(&col, STELE_COMPRESS_GZIP, 0, 2, data,
				LD_BLOCK, chunks_odd));
	assert_int_equal(gunzip_members(&col.buf, data, LD_BLOCK), 4);
	reference_gzip(STELE_COMPRESS_GZIP, &ref, data, LD_BLOCK, 3);
	assert_int_equal(col.buf.len, ref.len);
	assert_memory_equal(col.buf.ptr, ref.ptr, ref.len);
	/* Text and the repeated piece shrink; 59 stored pieces cost at most
	 * 5 bytes per stored block (up to 64 KiB - 1) and 18 per member. */
	stele_buf_clear(&ref);
	reference_member(&ref, data, 4 * LD_PIECE, 3, 3);
	text = ref.len;
	stele_buf_clear(&ref);
	reference_member(&ref, data + 8 * LD_PIECE, LD_PIECE, 3, 3);
	assert_true(ref.len < LD_PIECE / 2);
	assert_true(col.buf.len <= text + ref.len + 59 * (LD_PIECE + 2) + 36);

	collect_init(&whole);
	assert_ok(compress_with(&whole, STELE_COMPRESS_GZIP_WHOLE, 0, 2, data,
				LD_BLOCK, chunks_odd));
	assert_int_equal(gunzip_members(&whole.buf, data, LD_BLOCK), 1);
	assert_true(col.buf.len <= whole.buf.len + 3 * 18);
	stele_buf_release(&whole.buf);
	stele_buf_release(&col.buf);
	stele_buf_release(&ref);
	free(data);
}

static void
test_compress_gzip_header(void **state)
{
	static const int levels[] = { 1, 6, 9 };
	static const unsigned char xfl[] = { 4, 0, 2 };
	const unsigned char *h;
	unsigned char *data = make_data(300 * KIB, 7);
	struct stele_buf ref = STELE_BUF_INIT(OUT_MAX);
	struct collect col;
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		enum stele_compression kind = i < 3 ? STELE_COMPRESS_GZIP :
						      STELE_COMPRESS_GZIP_ZLIB;

		collect_init(&col);
		assert_ok(compress_with(&col, kind, levels[i % 3],
					2, data, 300 * KIB, chunks_odd));
		h = (const unsigned char *)col.buf.ptr;
		assert_true(col.buf.len > 18);
		assert_int_equal(h[0], 0x1f);
		assert_int_equal(h[1], 0x8b);
		assert_int_equal(h[2], 8);	/* deflate */
		assert_int_equal(h[3], 0);	/* no FNAME etc. */
		assert_int_equal(h[4] | h[5] | h[6] | h[7], 0); /* MTIME */
		assert_int_equal(h[8], xfl[i % 3]);
		assert_int_equal(h[9], 3);	/* Unix */
		/* ISIZE, when the data is one member */
		h += col.buf.len - 4;
		if (gunzip_members(&col.buf, data, 300 * KIB) == 1)
			assert_int_equal(h[0] | h[1] << 8 | h[2] << 16 |
					 (uint32_t)h[3] << 24, 300 * KIB);
		check_gunzip_kind(kind, &col.buf, data, 300 * KIB);
		stele_buf_clear(&ref);
		reference_gzip(kind, &ref, data, 300 * KIB, levels[i % 3]);
		assert_int_equal(col.buf.len, ref.len);
		assert_memory_equal(col.buf.ptr, ref.ptr, ref.len);
		stele_buf_release(&col.buf);
	}
	stele_buf_release(&ref);
	free(data);
}

static void
test_compress_gzip_bad_level(void **state)
{
	struct stele_compressor *c = (void *)&c;
	struct collect col;

	(void)state;
	collect_init(&col);
	assert_int_equal(stele_compressor_new(&c, STELE_COMPRESS_GZIP, 10, 1,
					      collect_sink, &col),
			 STELE_EINVALID);
	assert_null(c);
	assert_int_equal(stele_compressor_new(&c, STELE_COMPRESS_GZIP, -1, 2,
					      collect_sink, &col),
			 STELE_EINVALID);
	assert_int_equal(stele_compressor_new(&c, STELE_COMPRESS_ZSTD,
					      ZSTD_maxCLevel() + 1, 2,
					      collect_sink, &col),
			 STELE_EINVALID);
	assert_int_equal(stele_compressor_new(&c, (enum stele_compression)7,
					      0, 0, collect_sink, &col),
			 STELE_EINVALID);
	assert_int_equal(col.calls, 0);
}

static void
test_compress_gzip_tool_accepts(void **state)
{
	unsigned char *data = make_data(MIB + 333, 8);
	struct collect col;
	char *dir = NULL, *path, *raw, *cmd;
	int rc;

	(void)state;
	if (system("command -v gzip >/dev/null 2>&1") != 0) {
		print_message("skip: gzip is not on PATH\n");
		skip();
	}
	collect_init(&col);
	assert_ok(compress_with(&col, STELE_COMPRESS_GZIP, 0, 2, data,
				MIB + 333, chunks_odd));
	assert_ok(stele_fs_mkdtemp(&dir, getenv("TMPDIR"), "stele-test-compress"));
	path = stele_path_join(dir, "layer.gz");
	assert_ok(stele_fs_write_new(path, col.buf.ptr, col.buf.len, 0644));
	cmd = stele_xasprintf("gzip -t '%s'", path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(cmd);
	/* and gzip(1) decompresses it to the same bytes */
	raw = stele_path_join(dir, "layer");
	assert_ok(stele_fs_write_new(raw, data, MIB + 333, 0644));
	cmd = stele_xasprintf("gzip -dc '%s' | cmp -s - '%s'", path, raw);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(cmd);
	assert_ok(stele_fs_rm_rf(dir));
	free(raw);
	free(path);
	free(dir);
	stele_buf_release(&col.buf);
	free(data);
}

static void
test_compress_zstd_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, BLOCK, 3 * MIB + 17 };
	static const size_t *const chunkings[] = { chunks_odd, chunks_whole,
						   chunks_prime,
						   chunks_block };
	struct collect first, col;
	unsigned char *data;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		data = make_data(lens[i], 9 + (uint32_t)i);
		collect_init(&first);
		assert_ok(compress_with(&first, STELE_COMPRESS_ZSTD, 0, 0,
					data, lens[i], chunks_odd));
		check_unzstd(&first.buf, data, lens[i]);
		for (k = 0; k < sizeof(chunkings) / sizeof(chunkings[0]); k++) {
			collect_init(&col);
			/* threads does not matter for zstd either */
			assert_ok(compress_with(&col, STELE_COMPRESS_ZSTD, 3,
						(unsigned)k + 1, data,
						lens[i], chunkings[k]));
			assert_int_equal(col.buf.len, first.buf.len);
			assert_memory_equal(col.buf.ptr, first.buf.ptr,
					    first.buf.len);
			stele_buf_release(&col.buf);
		}
		/* zstd magic, and no content size in the frame header */
		assert_true(first.buf.len >= 6);
		assert_memory_equal(first.buf.ptr, "\x28\xb5\x2f\xfd", 4);
		assert_int_equal(ZSTD_getFrameContentSize(first.buf.ptr,
							  first.buf.len),
				 ZSTD_CONTENTSIZE_UNKNOWN);
		stele_buf_release(&first.buf);
		free(data);
	}
}

/*
 * libzstd's own multithreaded stream at the settings the provenance
 * records (level 3, no checksum, no content size, 1 MiB jobs) with
 * `workers` workers, fed in 64 KiB pieces.
 */
static void
reference_zstd(struct stele_buf *out, const unsigned char *data, size_t len,
	       int workers)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();
	unsigned char buf[1 << 16];
	ZSTD_inBuffer in;
	ZSTD_outBuffer o;
	size_t off = 0, r;

	assert_non_null(z);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z,
		ZSTD_c_compressionLevel, 3)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z,
		ZSTD_c_checksumFlag, 0)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z,
		ZSTD_c_contentSizeFlag, 0)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z,
		ZSTD_c_nbWorkers, workers)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z,
		ZSTD_c_jobSize, 1 << 20)));
	do {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		in.src = data + off;
		in.size = n;
		in.pos = 0;
		while (in.pos < in.size) {
			o.dst = buf;
			o.size = sizeof(buf);
			o.pos = 0;
			r = ZSTD_compressStream2(z, &o, &in, ZSTD_e_continue);
			assert_false(ZSTD_isError(r));
			assert_ok(stele_buf_put(out, buf, o.pos));
		}
		off += n;
	} while (off < len);
	in.src = NULL;
	in.size = in.pos = 0;
	do {
		o.dst = buf;
		o.size = sizeof(buf);
		o.pos = 0;
		r = ZSTD_compressStream2(z, &o, &in, ZSTD_e_end);
		assert_false(ZSTD_isError(r));
		assert_ok(stele_buf_put(out, buf, o.pos));
	} while (r != 0);
	ZSTD_freeCCtx(z);
}

/*
 * The zstd frame does not depend on the worker count: libzstd streaming
 * with 1, 2 or 4 workers gives stele's bytes (a machine with other CPUs,
 * or a rebuild, writes the same layer).  7 MiB: several 1 MiB jobs.
 */
static void
test_compress_zstd_any_workers(void **state)
{
	static const int workers[] = { 1, 2, 4 };
	size_t len = 7 * MIB + 4321, i;
	unsigned char *data = make_data(len, 21);
	struct collect col;

	(void)state;
	if (ZSTD_cParam_getBounds(ZSTD_c_nbWorkers).upperBound < 4)
		skip(); /* a libzstd built without ZSTD_MULTITHREAD */
	collect_init(&col);
	assert_ok(compress_with(&col, STELE_COMPRESS_ZSTD, 0, 0, data, len,
				chunks_odd));
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		struct stele_buf ref = STELE_BUF_INIT(OUT_MAX);

		reference_zstd(&ref, data, len, workers[i]);
		assert_int_equal(ref.len, col.buf.len);
		assert_memory_equal(ref.ptr, col.buf.ptr, ref.len);
		stele_buf_release(&ref);
	}
	stele_buf_release(&col.buf);
	free(data);
}

static void
test_compress_none_passthrough(void **state)
{
	unsigned char *data = make_data(400 * KIB, 10);
	struct collect col;

	(void)state;
	collect_init(&col);
	assert_ok(compress_with(&col, STELE_COMPRESS_NONE, 0, 0, data,
				400 * KIB, chunks_odd));
	assert_int_equal(col.buf.len, 400 * KIB);
	assert_memory_equal(col.buf.ptr, data, 400 * KIB);
	stele_buf_release(&col.buf);
	free(data);
}

static void
failing_sink_case(enum stele_compression kind, unsigned threads,
		  size_t fail_after)
{
	unsigned char *data = make_data(3 * MIB, 11);
	struct stele_compressor *c = NULL;
	struct collect col;
	size_t off, n = 10000;
	int error = 0;

	collect_init(&col);
	col.fail_after = fail_after;
	col.fail_code = STELE_EVERIFY;
	assert_ok(stele_compressor_new(&c, kind, 0, threads, collect_sink,
				       &col));
	for (off = 0; off < 3 * MIB && !error; off += n) {
		if (n > 3 * MIB - off)
			n = 3 * MIB - off;
		error = stele_compressor_write(c, data + off, n);
	}
	if (!error)
		error = stele_compressor_finish(c);
	assert_int_equal(error, STELE_EVERIFY);
	assert_string_equal(stele_error_last(), "sink refused");
	/* the failure is sticky: nothing more reaches the sink */
	n = col.calls;
	assert_int_equal(stele_compressor_write(c, data, 1), STELE_EVERIFY);
	assert_int_equal(stele_compressor_finish(c), STELE_EVERIFY);
	assert_int_equal(col.calls, n);
	stele_compressor_free(c);
	stele_buf_release(&col.buf);
	free(data);
}

static void
test_compress_sink_failure(void **state)
{
	(void)state;
	failing_sink_case(STELE_COMPRESS_GZIP, 1, 1);
	failing_sink_case(STELE_COMPRESS_GZIP, 1, 500 * KIB);
	failing_sink_case(STELE_COMPRESS_GZIP, 2, 1);
	failing_sink_case(STELE_COMPRESS_GZIP, 2, 500 * KIB);
	failing_sink_case(STELE_COMPRESS_GZIP, 4, 900 * KIB);
	failing_sink_case(STELE_COMPRESS_ZSTD, 0, 1);
	failing_sink_case(STELE_COMPRESS_ZSTD, 0, 200 * KIB);
	failing_sink_case(STELE_COMPRESS_NONE, 0, 100 * KIB);
}

/* Freeing without finish (an earlier error elsewhere) must not hang. */
static void
test_compress_free_unfinished(void **state)
{
	unsigned char *data = make_data(2 * MIB, 12);
	struct stele_compressor *c = NULL;
	struct collect col;

	(void)state;
	collect_init(&col);
	assert_ok(stele_compressor_new(&c, STELE_COMPRESS_GZIP, 9, 4,
				       collect_sink, &col));
	assert_ok(stele_compressor_write(c, data, 2 * MIB));
	stele_compressor_free(c);
	stele_compressor_free(NULL);
	stele_buf_release(&col.buf);
	free(data);
}

static void
test_compress_lib_and_suffix(void **state)
{
	char want[64], *s;

	(void)state;
	assert_string_equal(stele_compression_lib(STELE_COMPRESS_GZIP),
			    "libdeflate " LIBDEFLATE_VERSION_STRING);
	snprintf(want, sizeof(want), "zlib %s", zlibVersion());
	assert_string_equal(stele_compression_lib(STELE_COMPRESS_GZIP_ZLIB),
			    want);
	assert_string_equal(stele_compression_suffix(STELE_COMPRESS_GZIP_ZLIB),
			    "+gzip");
	snprintf(want, sizeof(want), "zstd %s", ZSTD_versionString());
	assert_string_equal(stele_compression_lib(STELE_COMPRESS_ZSTD), want);
	assert_string_equal(stele_compression_lib(STELE_COMPRESS_NONE), "");
	assert_string_equal(stele_compression_suffix(STELE_COMPRESS_NONE), "");
	assert_string_equal(stele_compression_suffix(STELE_COMPRESS_GZIP),
			    "+gzip");
	assert_string_equal(stele_compression_suffix(STELE_COMPRESS_ZSTD),
			    "+zstd");
	assert_int_equal(stele_compression_level(STELE_COMPRESS_GZIP, 0), 3);
	assert_int_equal(stele_compression_level(STELE_COMPRESS_GZIP_ZLIB, 0),
			 6);
	assert_int_equal(stele_compression_level(STELE_COMPRESS_ZSTD, 0), 3);
	assert_int_equal(stele_compression_level(STELE_COMPRESS_GZIP, 9), 9);
	s = stele_compression_settings(STELE_COMPRESS_GZIP, 0);
	assert_string_equal(s, "level 3, a gzip member per 1048576-byte "
			    "block, near-uniform 16384-byte pieces stored");
	free(s);
	s = stele_compression_settings(STELE_COMPRESS_GZIP_WHOLE, 0);
	assert_string_equal(s, "level 3, a gzip member per 1048576-byte block");
	free(s);
	assert_string_equal(stele_compression_lib(STELE_COMPRESS_GZIP_WHOLE),
			    "libdeflate " LIBDEFLATE_VERSION_STRING);
	assert_string_equal(stele_compression_suffix(STELE_COMPRESS_GZIP_WHOLE),
			    "+gzip");
	assert_int_equal(stele_compression_level(STELE_COMPRESS_GZIP_WHOLE, 0),
			 3);
	/* What rebuild uses, from what a provenance records. */
	assert_int_equal(stele_compression_recorded("+gzip", "libdeflate 1.14",
						    "level 3, a gzip member "
						    "per 1048576-byte block, "
						    "near-uniform 16384-byte "
						    "pieces stored"),
			 STELE_COMPRESS_GZIP);
	assert_int_equal(stele_compression_recorded("+gzip", "libdeflate 1.14",
						    "level 6, a gzip member "
						    "per 1048576-byte block"),
			 STELE_COMPRESS_GZIP_WHOLE);
	assert_int_equal(stele_compression_recorded("+gzip", "libdeflate 1.14",
						    NULL),
			 STELE_COMPRESS_GZIP_WHOLE);
	assert_int_equal(stele_compression_recorded("+gzip", "zlib 1.2.13",
						    "level 6, 131072-byte "
						    "blocks"),
			 STELE_COMPRESS_GZIP_ZLIB);
	assert_int_equal(stele_compression_recorded("+zstd", "zstd 1.5.4", ""),
			 STELE_COMPRESS_ZSTD);
	assert_int_equal(stele_compression_recorded("", "", ""),
			 STELE_COMPRESS_NONE);
	assert_int_equal(stele_compression_recorded(NULL, NULL, NULL),
			 STELE_COMPRESS_GZIP);
	s = stele_compression_settings(STELE_COMPRESS_GZIP_ZLIB, 9);
	assert_string_equal(s, "level 9, 131072-byte blocks, 32768-byte "
			    "dictionaries, sync flush");
	free(s);
	s = stele_compression_settings(STELE_COMPRESS_ZSTD, 19);
	assert_non_null(strstr(s, "level 19, "));
	free(s);
	s = stele_compression_settings(STELE_COMPRESS_NONE, 0);
	assert_string_equal(s, "");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compress_gzip_empty),
		cmocka_unit_test(test_compress_gzip_one_byte),
		cmocka_unit_test(test_compress_gzip_exact_block),
		cmocka_unit_test(test_compress_gzip_block_plus_one),
		cmocka_unit_test(test_compress_gzip_two_blocks_exact),
		cmocka_unit_test(test_compress_gzip_member_edges),
		cmocka_unit_test(test_compress_gzip_large_mixed),
		cmocka_unit_test(test_compress_gzip_stored_pieces),
		cmocka_unit_test(test_compress_gzip_header),
		cmocka_unit_test(test_compress_gzip_bad_level),
		cmocka_unit_test(test_compress_gzip_tool_accepts),
		cmocka_unit_test(test_compress_zstd_roundtrip),
		cmocka_unit_test(test_compress_zstd_any_workers),
		cmocka_unit_test(test_compress_none_passthrough),
		cmocka_unit_test(test_compress_sink_failure),
		cmocka_unit_test(test_compress_free_unfinished),
		cmocka_unit_test(test_compress_lib_and_suffix),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
