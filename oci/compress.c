#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "oci/compress.h"
#include "util/error.h"
#include "util/fs.h"

/*
 * gzip never depends on scheduling: block boundaries sit at fixed input
 * offsets and each block is compressed on its own, so which thread
 * compresses a block, with which (reset) compressor, cannot change its
 * bytes.  Two codecs:
 *
 * libdeflate (the default): each 1 MiB block is one whole gzip member
 * (RFC 1952 allows several; every gunzip, Go's and libarchive's readers
 * read them as one stream).  libdeflate compresses whole buffers only and
 * takes no dictionary, hence members; at 1 MiB, starting each block
 * without the previous 32 KiB costs well under 1% of size, and libdeflate
 * at level 6 still compresses better than zlib at 6.
 *
 * Stored pieces (GZIP; GZIP_WHOLE is the scheme without them, what stele
 * wrote before): a 16 KiB piece of a block whose bytes are near-uniform
 * (data already compressed, or random) and which repeats nothing is stored
 * rather than deflated.  Deflate cannot shrink such a piece (each literal
 * still costs 8 bits; libdeflate itself ends up choosing stored blocks)
 * but spends almost twice as long on it as on text, looking for matches
 * that are not there: 87 MB/s against 150 at level 3 here.  A piece is
 * stored when the chi-square statistic of the byte counts of its first
 * 2 KiB is at most 1024 and of the whole piece at most 512 (random data
 * gives 255 on average, with a spread of 23; text tens of thousands), and
 * a probe finds at most one repeat (an 8-byte string at a content-defined
 * position, one position in 16, seen again in the piece).  Consecutive
 * pieces of the same kind are one member, so a block without such a
 * piece is one member, as before.  The tests read the piece's bytes only,
 * so the output still depends on the input and the level only.  Measured
 * (CPU of libdeflate alone, bytes against whole blocks): the bench tree
 * 4.78 -> 4.34 s, 13% of the bytes stored, +0.25%; a tar of /usr/share
 * 6.6% stored, +0.05%; of /usr/lib/x86_64-linux-gnu 0.1% stored, +0.001%.
 * What is lost is mostly deflate's window across a stored run.
 *
 * zlib (what stele used before; kept so that older images rebuild to the
 * same bytes): pigz's scheme, one member; each 128 KiB block is deflated
 * with the 32 KiB of input before it as the dictionary, and a sync flush
 * ends every block on a byte boundary, so the compressed blocks
 * concatenate into one deflate stream.
 */
#define GZ_BLOCK (128 * 1024)
#define GZ_DICT (32 * 1024)
#define LD_BLOCK (1024 * 1024)
#define LD_PIECE (16 * 1024)
#define LD_SAMPLE 2048
#define LD_PIECES (LD_BLOCK / LD_PIECE)
/* In the settings the provenance records; rebuild looks for "stored". */
#define LD_STORED_SETTING "near-uniform %d-byte pieces stored"
#define GZ_HEADER 10
#define GZ_TRAILER 8
/* More threads than this only cost memory; output is the same anyway. */
#define GZ_MAX_THREADS 32

/*
 * libdeflate's default is 3, zlib's stays 6.  Measured on the bench tree
 * (20,000 files, 334 MB of tar, a third random) and on /usr/share and
 * /usr/lib/x86_64-linux-gnu, against umoci insert (Go's parallel gzip): at
 * 3 libdeflate is smaller than umoci on all three and takes half the CPU
 * time of its level 6; at 2 it is larger than umoci on /usr/share.
 */
#define LD_DEFAULT_LEVEL 3
#define ZLIB_DEFAULT_LEVEL 6
#define ZSTD_DEFAULT_LEVEL 3
/*
 * A fixed worker count, never the machine's: libzstd's multithreaded
 * (streaming) output is the same for any nbWorkers >= 1, but differs from
 * its single-threaded output (nbWorkers 0).  So the frame depends only on
 * the input, the level and the libzstd build (with ZSTD_MULTITHREAD or
 * without), never on the CPU count.  Writes always use ZSTD_e_continue and
 * only finish uses ZSTD_e_end: starting a stream with ZSTD_e_end takes a
 * one-shot path whose job split did depend on nbWorkers in some versions.
 * Three, not two: with two, the thread writing the tar waited for a free
 * job while a core sat idle (a 20,000-file zstd layer on 2 cores: 1.72 ->
 * 1.46 s, the same bytes; ~1 MiB more memory a worker).
 */
#define ZSTD_WORKERS 3
#define ZSTD_JOB_SIZE (1 << 20)

struct gz_job {
	/* GZ_DICT bytes of room for the dictionary, then the block */
	unsigned char *in;
	size_t dict_len;
	size_t len;
	int last;
	unsigned char *out;
	size_t out_len;
	size_t out_cap;
	uLong crc;
	int zerr; /* zlib's code when deflating failed, else Z_OK */
	int done; /* guarded by the compressor's lock when threaded */
};

struct gz_worker {
	struct stele_compressor *c;
	z_stream strm;
	int strm_ok;
	struct libdeflate_compressor *ld;
	struct libdeflate_compressor *ld_store; /* level 0, GZIP only */
	pthread_t thread;
	int started;
};

struct stele_compressor {
	enum stele_compression kind;
	int level;
	stele_sink_fn sink;
	void *payload;
	int error; /* sticky: once set, every call returns it */
	int finished;

	/* gzip */
	size_t block; /* input bytes per block */
	size_t dict; /* dictionary bytes before a block (zlib) */
	unsigned nthreads; /* worker threads; 0 deflates inline */
	struct gz_worker *workers;
	size_t nworkers; /* z_streams: nthreads, or 1 inline */
	struct gz_job *jobs; /* ring: block n uses jobs[n % njobs] */
	size_t njobs;
	uint64_t submitted; /* blocks handed to the workers */
	uint64_t taken; /* blocks a worker has started (lock) */
	uint64_t delivered; /* blocks given to the sink */
	uLong crc;
	uint32_t isize;
	pthread_mutex_t lock;
	pthread_cond_t work_cond;
	pthread_cond_t done_cond;
	int sync_ok;
	int stop;

	/* zstd */
	ZSTD_CCtx *zc;
	unsigned char *zout;
	size_t zout_cap;
};

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int
sink_put(struct stele_compressor *c, const void *data, size_t len)
{
	int error;

	if (!len)
		return 0;
	/* The sink sets its own message; keep its code unchanged. */
	if ((error = c->sink(c->payload, data, len)) < 0)
		return error;
	return 0;
}

/*
 * gzip
 */

static void
gz_put_header(unsigned char h[GZ_HEADER], int level)
{
	static const unsigned char hdr[GZ_HEADER] = { 0x1f, 0x8b, 8, 0, 0,
						      0,    0,    0, 0, 3 };

	memcpy(h, hdr, GZ_HEADER);
	/* XFL as gzip(1) sets it: 2 slowest level, 4 fastest */
	if (level >= 9)
		h[8] = 2;
	else if (level == 1)
		h[8] = 4;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* 8 bytes as a little-endian number, whatever the machine's order (the
 * positions a piece is probed at must not depend on it); one load where
 * the machine is little-endian. */
static uint64_t
load_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
		(uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
		(uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
		(uint64_t)p[7] << 56;
}

/* Does a piece repeat an 8-byte string (at a content-defined position)
 * more than once?  See "Stored pieces". */
static int
piece_repeats(const unsigned char *p, size_t n)
{
	uint32_t seen[4096] = { 0 }; /* position + 1 by hash */
	uint64_t v, h;
	size_t i;
	int found = 0;

	for (i = 0; i + 8 <= n; i++) {
		v = load_le64(p + i);
		h = (v * UINT64_C(0x9E3779B97F4A7C15)) >> 48;
		if (h & 15)
			continue;
		h >>= 4;
		if (seen[h]) {
			if (load_le64(p + seen[h] - 1) == v && ++found > 1)
				return 1;
		}
		seen[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* Is the chi-square statistic of p[0..n)'s byte counts at most `max`?
 * n a multiple of 4. */
static int
near_uniform(const unsigned char *p, size_t n, uint64_t max)
{
	uint32_t count[4][256];
	uint64_t sq = 0, t;
	size_t i;

	/* Four tables, so that equal neighbours do not wait on each other. */
	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i += 4) {
		count[0][p[i]]++;
		count[1][p[i + 1]]++;
		count[2][p[i + 2]]++;
		count[3][p[i + 3]]++;
	}
	for (i = 0; i < 256; i++) {
		t = (uint64_t)count[0][i] + count[1][i] + count[2][i] +
			count[3][i];
		sq += t * t;
	}
	/* n * chi-square = 256 * sum(count^2) - n^2 (never negative) */
	return 256 * sq - (uint64_t)n * n <= max * n;
}

/* Is this piece to be stored?  Only whole pieces are; the sample first,
 * so that text costs a look at 2 KiB. */
static int
piece_stored(const unsigned char *p, size_t n)
{
	return n == LD_PIECE && near_uniform(p, LD_SAMPLE, 1024) &&
		near_uniform(p, n, 512) && !piece_repeats(p, n);
}

/* Append one whole gzip member of in[0..len) to the job's output. */
static int
ld_member(struct gz_job *job, struct libdeflate_compressor *ld, int level,
	  const unsigned char *in, size_t len)
{
	unsigned char *o = job->out + job->out_len;
	size_t room = job->out_cap - job->out_len, n;

	if (room < GZ_HEADER + GZ_TRAILER)
		return -1;
	gz_put_header(o, level);
	n = libdeflate_deflate_compress(ld, in, len, o + GZ_HEADER,
					room - GZ_HEADER - GZ_TRAILER);
	if (!n)
		return -1;
	put_le32(o + GZ_HEADER + n, libdeflate_crc32(0, in, len));
	put_le32(o + GZ_HEADER + n + 4, (uint32_t)len);
	job->out_len += GZ_HEADER + n + GZ_TRAILER;
	return 0;
}

/*
 * A block as gzip members: the whole block (GZIP_WHOLE, or a block
 * without stored pieces), else one member per run of pieces of one kind.
 */
static void
ld_job_run(struct gz_worker *w, struct gz_job *job)
{
	int stored[LD_PIECES + 1];
	size_t i, n, start, end;
	int error = 0;

	job->out_len = 0;
	job->zerr = Z_OK;
	n = (job->len + LD_PIECE - 1) / LD_PIECE;
	for (i = 0; i < n; i++)
		stored[i] = w->ld_store &&
			piece_stored(job->in + i * LD_PIECE,
				     min_size(LD_PIECE,
					      job->len - i * LD_PIECE));
	if (n == 0)
		error = ld_member(job, w->ld, w->c->level, job->in, 0);
	for (start = 0; start < n && !error; start = end) {
		for (end = start + 1; end < n && stored[end] == stored[start];
		     end++)
			;
		error = ld_member(job, stored[start] ? w->ld_store : w->ld,
				  w->c->level, job->in + start * LD_PIECE,
				  min_size(job->len, end * LD_PIECE) -
					  start * LD_PIECE);
	}
	/* The bound makes this impossible; say so if it happens. */
	if (error)
		job->zerr = Z_BUF_ERROR;
}

static void
zlib_job_run(z_stream *s, struct gz_job *job)
{
	unsigned char *data = job->in + GZ_DICT;
	int flush = job->last ? Z_FINISH : Z_SYNC_FLUSH;
	int ret;

	job->crc = crc32(0L, data, (uInt)job->len);
	job->out_len = 0;
	job->zerr = Z_OK;
	if ((ret = deflateReset(s)) != Z_OK)
		goto fail;
	if (job->dict_len &&
	    (ret = deflateSetDictionary(s, data - job->dict_len,
					(uInt)job->dict_len)) != Z_OK)
		goto fail;
	s->next_in = data;
	s->avail_in = (uInt)job->len;
	for (;;) {
		if (job->out_len == job->out_cap) {
			job->out_cap *= 2;
			job->out = stele_xrealloc(job->out, job->out_cap);
		}
		s->next_out = job->out + job->out_len;
		s->avail_out = (uInt)(job->out_cap - job->out_len);
		ret = deflate(s, flush);
		job->out_len = job->out_cap - s->avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret != Z_OK)
			goto fail;
		/* Space left over means the flush is complete. */
		if (flush == Z_SYNC_FLUSH && s->avail_out != 0 &&
		    s->avail_in == 0)
			break;
	}
	return;
fail:
	job->zerr = ret == Z_OK ? Z_STREAM_ERROR : ret;
}

static void
gz_job_run(struct gz_worker *w, struct gz_job *job)
{
	if (w->ld)
		ld_job_run(w, job);
	else
		zlib_job_run(&w->strm, job);
}

static void *
gz_worker_main(void *arg)
{
	struct gz_worker *w = arg;
	struct stele_compressor *c = w->c;
	struct gz_job *job;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stop && c->taken == c->submitted)
			pthread_cond_wait(&c->work_cond, &c->lock);
		if (c->stop)
			break;
		job = &c->jobs[c->taken++ % c->njobs];
		pthread_mutex_unlock(&c->lock);

		gz_job_run(w, job);

		pthread_mutex_lock(&c->lock);
		job->done = 1;
		pthread_cond_signal(&c->done_cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static int
gz_stream_header(struct stele_compressor *c)
{
	unsigned char h[GZ_HEADER];

	gz_put_header(h, c->level);
	return sink_put(c, h, sizeof(h));
}

static int
gz_stream_trailer(struct stele_compressor *c)
{
	unsigned char t[GZ_TRAILER];

	put_le32(t, (uint32_t)c->crc);
	put_le32(t + 4, c->isize);
	return sink_put(c, t, sizeof(t));
}

static int
gz_deliver(struct stele_compressor *c, struct gz_job *job)
{
	int error;

	if (job->zerr != Z_OK)
		return stele_error_set("cannot deflate layer: %s",
				       zError(job->zerr));
	/* A libdeflate block is whole members, headers and trailers. */
	if (c->kind != STELE_COMPRESS_GZIP_ZLIB)
		return sink_put(c, job->out, job->out_len);
	if (c->delivered == 0 && (error = gz_stream_header(c)) < 0)
		return error;
	if ((error = sink_put(c, job->out, job->out_len)) < 0)
		return error;
	c->crc = crc32_combine(c->crc, job->crc, (z_off_t)job->len);
	c->isize += (uint32_t)job->len;
	if (job->last && (error = gz_stream_trailer(c)) < 0)
		return error;
	return 0;
}

/*
 * Give finished blocks to the sink, in order, from the calling thread.
 * Waits until at least `need` blocks have been delivered, then goes on
 * with the ones already done without waiting.
 */
static int
gz_drain(struct stele_compressor *c, uint64_t need)
{
	struct gz_job *job;
	int done, error;

	while (c->delivered < c->submitted) {
		job = &c->jobs[c->delivered % c->njobs];
		if (c->nthreads) {
			pthread_mutex_lock(&c->lock);
			while (!job->done && c->delivered < need)
				pthread_cond_wait(&c->done_cond, &c->lock);
			done = job->done;
			pthread_mutex_unlock(&c->lock);
		} else {
			done = job->done;
		}
		if (!done)
			break;
		if ((error = gz_deliver(c, job)) < 0)
			return error;
		c->delivered++;
	}
	return 0;
}

static struct gz_job *
gz_cur(struct stele_compressor *c)
{
	return &c->jobs[c->submitted % c->njobs];
}

static int
gz_submit(struct stele_compressor *c, int last)
{
	struct gz_job *job = gz_cur(c);

	job->last = last;
	job->done = 0;
	if (!c->nthreads) {
		gz_job_run(&c->workers[0], job);
		job->done = 1;
		c->submitted++;
	} else {
		pthread_mutex_lock(&c->lock);
		c->submitted++;
		pthread_cond_signal(&c->work_cond);
		pthread_mutex_unlock(&c->lock);
	}
	return gz_drain(c, c->delivered);
}

/* Start the next block, waiting for a free slot in the ring. */
static int
gz_next(struct stele_compressor *c)
{
	struct gz_job *prev, *job;
	int error;

	if (c->submitted - c->delivered >= c->njobs &&
	    (error = gz_drain(c, c->submitted + 1 - c->njobs)) < 0)
		return error;
	/*
	 * The previous slot stays untouched until njobs more blocks have
	 * started, so its input is still there to copy the dictionary from.
	 */
	prev = &c->jobs[(c->submitted + c->njobs - 1) % c->njobs];
	job = gz_cur(c);
	assert(prev->len == c->block);
	if (c->dict)
		memcpy(job->in, prev->in + c->dict + c->block - c->dict,
		       c->dict);
	job->dict_len = c->dict;
	job->len = 0;
	job->last = 0;
	job->done = 0;
	return 0;
}

static int
gz_write(struct stele_compressor *c, const unsigned char *p, size_t len)
{
	struct gz_job *job;
	size_t n;
	int error;

	while (len > 0) {
		job = gz_cur(c);
		/*
		 * A full block is only handed over once more input shows it
		 * is not the last one, which must end with Z_FINISH.
		 */
		if (job->len == c->block) {
			if ((error = gz_submit(c, 0)) < 0 ||
			    (error = gz_next(c)) < 0)
				return error;
			job = gz_cur(c);
		}
		n = min_size(len, c->block - job->len);
		memcpy(job->in + c->dict + job->len, p, n);
		job->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int
gz_finish(struct stele_compressor *c)
{
	int error;

	/* An empty input still makes one (empty) final block. */
	if ((error = gz_submit(c, 1)) < 0)
		return error;
	return gz_drain(c, c->submitted);
}

static void
gz_stop(struct stele_compressor *c)
{
	size_t i;

	if (c->sync_ok) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_broadcast(&c->work_cond);
		pthread_mutex_unlock(&c->lock);
	}
	for (i = 0; i < c->nworkers; i++) {
		if (c->workers[i].started)
			pthread_join(c->workers[i].thread, NULL);
		c->workers[i].started = 0;
	}
}

static void
gz_free(struct stele_compressor *c)
{
	size_t i;

	if (c->workers) {
		gz_stop(c);
		for (i = 0; i < c->nworkers; i++) {
			if (c->workers[i].strm_ok)
				deflateEnd(&c->workers[i].strm);
			libdeflate_free_compressor(c->workers[i].ld);
			libdeflate_free_compressor(c->workers[i].ld_store);
		}
		free(c->workers);
	}
	if (c->jobs) {
		for (i = 0; i < c->njobs; i++) {
			free(c->jobs[i].in);
			free(c->jobs[i].out);
		}
		free(c->jobs);
	}
	if (c->sync_ok) {
		pthread_cond_destroy(&c->done_cond);
		pthread_cond_destroy(&c->work_cond);
		pthread_mutex_destroy(&c->lock);
	}
}

static unsigned
gz_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n < 2 ? (unsigned)n : 2;
}

static int
gz_new(struct stele_compressor *c, unsigned threads)
{
	int ld = c->kind != STELE_COMPRESS_GZIP_ZLIB;
	size_t i, out_cap, bound;
	int ret;

	if (c->level == 0)
		c->level = stele_compression_level(c->kind, 0);
	/* libdeflate has 10-12 too; keep one range for both codecs. */
	if (c->level < 1 || c->level > 9)
		return stele_error_setc(STELE_EINVALID, "invalid gzip level %d",
					c->level);
	c->block = ld ? LD_BLOCK : GZ_BLOCK;
	c->dict = ld ? 0 : GZ_DICT;
	if (threads == 0)
		threads = gz_default_threads();
	if (threads > GZ_MAX_THREADS)
		threads = GZ_MAX_THREADS;
	c->nthreads = threads == 1 ? 0 : threads;
	c->nworkers = threads;
	/*
	 * Inline, a block is delivered as soon as it is submitted, so two
	 * slots (this block and the dictionary's) are enough.  Threaded,
	 * two blocks per worker keep them busy while the sink catches up.
	 */
	c->njobs = c->nthreads ? 2 * (size_t)c->nthreads + 2 : 2;
	c->crc = crc32(0L, Z_NULL, 0);

	c->workers = stele_xcalloc(c->nworkers, sizeof(*c->workers));
	for (i = 0; i < c->nworkers; i++) {
		c->workers[i].c = c;
		if (ld) {
			c->workers[i].ld =
				libdeflate_alloc_compressor(c->level);
			if (c->kind == STELE_COMPRESS_GZIP)
				c->workers[i].ld_store =
					libdeflate_alloc_compressor(0);
			if (!c->workers[i].ld ||
			    (c->kind == STELE_COMPRESS_GZIP &&
			     !c->workers[i].ld_store))
				return stele_error_set(
					"cannot start libdeflate");
			continue;
		}
		ret = deflateInit2(&c->workers[i].strm, c->level, Z_DEFLATED,
				   -15, 8, Z_DEFAULT_STRATEGY);
		if (ret != Z_OK)
			return stele_error_set("cannot start deflate: %s",
					       zError(ret));
		c->workers[i].strm_ok = 1;
	}
	if (c->kind == STELE_COMPRESS_GZIP) {
		/* At most one member per piece; a run's bound is at most the
		 * sum of its pieces'. */
		bound = libdeflate_deflate_compress_bound(c->workers[0].ld,
							  LD_PIECE);
		if (libdeflate_deflate_compress_bound(c->workers[0].ld_store,
						      LD_PIECE) > bound)
			bound = libdeflate_deflate_compress_bound(
				c->workers[0].ld_store, LD_PIECE);
		out_cap = LD_PIECES * (GZ_HEADER + GZ_TRAILER + bound);
	} else if (ld)
		out_cap = GZ_HEADER + GZ_TRAILER +
			libdeflate_deflate_compress_bound(c->workers[0].ld,
							  c->block);
	else
		out_cap = deflateBound(&c->workers[0].strm, c->block) + 64;
	c->jobs = stele_xcalloc(c->njobs, sizeof(*c->jobs));
	for (i = 0; i < c->njobs; i++) {
		c->jobs[i].in = stele_xmalloc(c->dict + c->block);
		c->jobs[i].out = stele_xmalloc(out_cap);
		c->jobs[i].out_cap = out_cap;
	}
	if (!c->nthreads)
		return 0;

	if (pthread_mutex_init(&c->lock, NULL) != 0)
		return stele_error_set("cannot create a mutex");
	if (pthread_cond_init(&c->work_cond, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		return stele_error_set("cannot create a condition variable");
	}
	if (pthread_cond_init(&c->done_cond, NULL) != 0) {
		pthread_cond_destroy(&c->work_cond);
		pthread_mutex_destroy(&c->lock);
		return stele_error_set("cannot create a condition variable");
	}
	c->sync_ok = 1;
	for (i = 0; i < c->nworkers; i++) {
		ret = pthread_create(&c->workers[i].thread, NULL,
				     gz_worker_main, &c->workers[i]);
		if (ret != 0)
			return stele_error_set("cannot start a gzip thread: %s",
					       strerror(ret));
		c->workers[i].started = 1;
	}
	return 0;
}

/*
 * zstd
 */

static int
zs_param(struct stele_compressor *c, ZSTD_cParameter p, int value,
	 const char *name)
{
	size_t r = ZSTD_CCtx_setParameter(c->zc, p, value);

	if (ZSTD_isError(r))
		return stele_error_set("cannot set zstd %s to %d: %s", name,
				       value, ZSTD_getErrorName(r));
	return 0;
}

/* Whether this libzstd compresses in jobs (built with ZSTD_MULTITHREAD):
 * the frames differ from its single-threaded ones. */
static int
zs_multithreaded(void)
{
	ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);

	return !ZSTD_isError(b.error) && b.upperBound >= ZSTD_WORKERS;
}

static int
zs_new(struct stele_compressor *c)
{
	int error;

	if (c->level == 0)
		c->level = ZSTD_DEFAULT_LEVEL;
	if (c->level < ZSTD_minCLevel() || c->level > ZSTD_maxCLevel())
		return stele_error_setc(STELE_EINVALID, "invalid zstd level %d",
					c->level);
	if (!(c->zc = ZSTD_createCCtx()))
		return stele_error_set("cannot create a zstd context");
	if ((error = zs_param(c, ZSTD_c_compressionLevel, c->level, "level")) <
		    0 ||
	    (error = zs_param(c, ZSTD_c_checksumFlag, 0, "checksum")) < 0 ||
	    (error = zs_param(c, ZSTD_c_contentSizeFlag, 0, "content size")) <
		    0)
		return error;
	/* Without ZSTD_MULTITHREAD the upper bound is 0. */
	if (zs_multithreaded() &&
	    ((error = zs_param(c, ZSTD_c_nbWorkers, ZSTD_WORKERS, "workers")) <
		     0 ||
	     /* Smaller jobs bound memory (ZSTD_JOB_SIZE each). */
	     (error = zs_param(c, ZSTD_c_jobSize, ZSTD_JOB_SIZE, "job size")) <
		     0))
		return error;
	c->zout_cap = ZSTD_CStreamOutSize();
	c->zout = stele_xmalloc(c->zout_cap);
	return 0;
}

static int
zs_write(struct stele_compressor *c, const void *data, size_t len)
{
	ZSTD_inBuffer in = { data, len, 0 };
	ZSTD_outBuffer out;
	size_t r;
	int error;

	while (in.pos < in.size) {
		out.dst = c->zout;
		out.size = c->zout_cap;
		out.pos = 0;
		r = ZSTD_compressStream2(c->zc, &out, &in, ZSTD_e_continue);
		if (ZSTD_isError(r))
			return stele_error_set("cannot compress layer: %s",
					       ZSTD_getErrorName(r));
		if ((error = sink_put(c, c->zout, out.pos)) < 0)
			return error;
	}
	return 0;
}

static int
zs_finish(struct stele_compressor *c)
{
	ZSTD_inBuffer in = { NULL, 0, 0 };
	ZSTD_outBuffer out;
	size_t r;
	int error;

	do {
		out.dst = c->zout;
		out.size = c->zout_cap;
		out.pos = 0;
		r = ZSTD_compressStream2(c->zc, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(r))
			return stele_error_set("cannot compress layer: %s",
					       ZSTD_getErrorName(r));
		if ((error = sink_put(c, c->zout, out.pos)) < 0)
			return error;
	} while (r != 0);
	return 0;
}

/*
 * Public API
 */

int
stele_compressor_new(struct stele_compressor **out, enum stele_compression kind,
		     int level, unsigned threads, stele_sink_fn sink,
		     void *payload)
{
	struct stele_compressor *c;
	int error = 0;

	assert(out && sink);
	*out = NULL;
	c = stele_xcalloc(1, sizeof(*c));
	c->kind = kind;
	c->level = level;
	c->sink = sink;
	c->payload = payload;
	switch (kind) {
	case STELE_COMPRESS_NONE: break;
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE:
	case STELE_COMPRESS_GZIP_ZLIB: error = gz_new(c, threads); break;
	case STELE_COMPRESS_ZSTD: error = zs_new(c); break;
	default:
		error = stele_error_setc(STELE_EINVALID,
					 "unknown compression %d", (int)kind);
		break;
	}
	if (error < 0) {
		stele_compressor_free(c);
		return error;
	}
	*out = c;
	return 0;
}

int
stele_compressor_write(struct stele_compressor *c, const void *data, size_t len)
{
	int error = 0;

	/* After a failure, further calls just return it (even after finish). */
	if (c->error)
		return c->error;
	assert(!c->finished);
	if (!len)
		return 0;
	switch (c->kind) {
	case STELE_COMPRESS_NONE: error = sink_put(c, data, len); break;
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE:
	case STELE_COMPRESS_GZIP_ZLIB: error = gz_write(c, data, len); break;
	case STELE_COMPRESS_ZSTD: error = zs_write(c, data, len); break;
	}
	if (error < 0)
		c->error = error;
	return error;
}

int
stele_compressor_finish(struct stele_compressor *c)
{
	int error = 0;

	if (c->error)
		return c->error;
	assert(!c->finished);
	c->finished = 1;
	switch (c->kind) {
	case STELE_COMPRESS_NONE: break;
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE:
	case STELE_COMPRESS_GZIP_ZLIB: error = gz_finish(c); break;
	case STELE_COMPRESS_ZSTD: error = zs_finish(c); break;
	}
	if (error < 0)
		c->error = error;
	return error;
}

void
stele_compressor_free(struct stele_compressor *c)
{
	if (!c)
		return;
	gz_free(c);
	ZSTD_freeCCtx(c->zc);
	free(c->zout);
	free(c);
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static char lib_zlib[64];
static char lib_zstd[64];

static void
lib_init(void)
{
	/* libdeflate has no run-time version call: the header's. */
	snprintf(lib_zlib, sizeof(lib_zlib), "zlib %s", zlibVersion());
	snprintf(lib_zstd, sizeof(lib_zstd), "zstd %s", ZSTD_versionString());
}

const char *
stele_compression_lib(enum stele_compression kind)
{
	pthread_once(&lib_once, lib_init);
	switch (kind) {
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE:
		return "libdeflate " LIBDEFLATE_VERSION_STRING;
	case STELE_COMPRESS_GZIP_ZLIB: return lib_zlib;
	case STELE_COMPRESS_ZSTD: return lib_zstd;
	default: return "";
	}
}

int
stele_compression_level(enum stele_compression kind, int level)
{
	if (level)
		return level;
	switch (kind) {
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE: return LD_DEFAULT_LEVEL;
	case STELE_COMPRESS_GZIP_ZLIB: return ZLIB_DEFAULT_LEVEL;
	case STELE_COMPRESS_ZSTD: return ZSTD_DEFAULT_LEVEL;
	default: return 0;
	}
}

char *
stele_compression_settings(enum stele_compression kind, int level)
{
	level = stele_compression_level(kind, level);
	switch (kind) {
	case STELE_COMPRESS_GZIP:
		return stele_xasprintf("level %d, a gzip member per %d-byte "
				       "block, " LD_STORED_SETTING,
				       level, LD_BLOCK, LD_PIECE);
	case STELE_COMPRESS_GZIP_WHOLE:
		return stele_xasprintf("level %d, a gzip member per %d-byte "
				       "block",
				       level, LD_BLOCK);
	case STELE_COMPRESS_GZIP_ZLIB:
		return stele_xasprintf("level %d, %d-byte blocks, %d-byte "
				       "dictionaries, sync flush",
				       level, GZ_BLOCK, GZ_DICT);
	case STELE_COMPRESS_ZSTD:
		/* The worker count is not said: the frame is the same for
		 * any (statements before this said "2 workers"). */
		if (!zs_multithreaded())
			return stele_xasprintf("level %d, single-threaded, "
					       "no checksum",
					       level);
		return stele_xasprintf("level %d, multithreaded, %d-byte "
				       "jobs, no checksum",
				       level, ZSTD_JOB_SIZE);
	default: return stele_xstrdup("");
	}
}

enum stele_compression
stele_compression_recorded(const char *suffix, const char *library,
			   const char *settings)
{
	if (suffix && !strcmp(suffix, "+zstd"))
		return STELE_COMPRESS_ZSTD;
	if (suffix && !*suffix)
		return STELE_COMPRESS_NONE;
	/* Recorded by a stele that deflated with zlib. */
	if (library && !strncmp(library, "zlib ", 5))
		return STELE_COMPRESS_GZIP_ZLIB;
	/* Recorded by a stele that deflated every block whole (settings
	 * without "stored", or none: statements before settings were). */
	if (library && !strncmp(library, "libdeflate ", 11) &&
	    (!settings || !strstr(settings, "stored")))
		return STELE_COMPRESS_GZIP_WHOLE;
	return STELE_COMPRESS_GZIP;
}

const char *
stele_compression_suffix(enum stele_compression kind)
{
	switch (kind) {
	case STELE_COMPRESS_GZIP:
	case STELE_COMPRESS_GZIP_WHOLE:
	case STELE_COMPRESS_GZIP_ZLIB: return "+gzip";
	case STELE_COMPRESS_ZSTD: return "+zstd";
	default: return "";
	}
}
