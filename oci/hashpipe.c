#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "oci/hashpipe.h"
#include "util/error.h"
#include "util/fs.h"

#define CHUNK (1u << 20)
#define QUEUE 4

/* A stretch of the stream hashed on its own too (stele_hashpipe_part). */
struct part {
	uint64_t off, end;
	unsigned char *out;
	struct stele_sha256 h;
};

struct stele_hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct stele_sha256 h;
	char *queue[QUEUE];
	size_t qlen[QUEUE];
	unsigned char qmine[QUEUE]; /* the pipe's CHUNK (kept), or taken */
	size_t head, count; /* ring of full chunks */
	/* Hashed chunks of the pipe's, for the writer to fill again (lock):
	 * no allocation, no fresh pages per chunk. */
	char *spare[QUEUE + 1];
	size_t nspare;
	char *cur; /* being filled by the writer */
	size_t used;
	int done; /* no more chunks will come */
	stele_hashpipe_then_fn then;
	void *then_payload;
	int then_error; /* the thread's, read after the join */
	/* parts[first, nparts) have not been started (lock): the thread
	 * takes them in order, the writer appends and compacts. */
	struct part *parts;
	size_t first, nparts, aparts;
	/* The thread's own: the part being hashed, the stream bytes hashed. */
	struct part part;
	int in_part;
	uint64_t pos;
};

/* The parts that overlap the chunk at p->pos, on the thread. */
static void
hash_parts(struct stele_hashpipe *p, const char *chunk, size_t len)
{
	uint64_t end = p->pos + len, at = p->pos, n;
	struct part *pt = &p->part;
	int next;

	while (at < end) {
		if (!p->in_part) {
			/* Taken out of the array: the writer may move that. */
			pthread_mutex_lock(&p->mu);
			next = p->first < p->nparts &&
				p->parts[p->first].off < end;
			if (next)
				*pt = p->parts[p->first++];
			pthread_mutex_unlock(&p->mu);
			if (!next)
				break;
			p->in_part = 1;
			if (at < pt->off)
				at = pt->off;
		}
		n = (pt->end < end ? pt->end : end) - at;
		stele_sha256_update(&pt->h, chunk + (at - p->pos), (size_t)n);
		at += n;
		if (at == pt->end) {
			stele_sha256_final_raw(&pt->h, pt->out);
			p->in_part = 0;
		}
	}
	p->pos = end;
}

static void *
run(void *arg)
{
	struct stele_hashpipe *p = arg;

	for (;;) {
		char *chunk;
		size_t len;

		pthread_mutex_lock(&p->mu);
		while (!p->count && !p->done)
			pthread_cond_wait(&p->cond, &p->mu);
		if (!p->count) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		chunk = p->queue[p->head];
		len = p->qlen[p->head];
		pthread_mutex_unlock(&p->mu);
		stele_sha256_update(&p->h, chunk, len);
		hash_parts(p, chunk, len);
		if (p->then && !p->then_error)
			p->then_error = p->then(p->then_payload, chunk, len);
		pthread_mutex_lock(&p->mu);
		if (p->qmine[p->head] && p->nspare < QUEUE + 1)
			p->spare[p->nspare++] = chunk;
		else
			free(chunk);
		p->head = (p->head + 1) % QUEUE;
		p->count--;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->mu);
	}
}

int
stele_hashpipe_start(struct stele_hashpipe **out)
{
	return stele_hashpipe_start_then(out, NULL, NULL);
}

int
stele_hashpipe_start_then(struct stele_hashpipe **out,
			  stele_hashpipe_then_fn then, void *payload)
{
	struct stele_hashpipe *p = stele_xcalloc(1, sizeof(*p));
	int error;

	*out = NULL;
	p->then = then;
	p->then_payload = payload;
	if ((error = stele_sha256_init(&p->h)) < 0) {
		free(p);
		return error;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->cur = stele_xmalloc(CHUNK);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		stele_sha256_release(&p->h);
		free(p->cur);
		free(p);
		return stele_error_set("cannot start a hashing thread");
	}
	*out = p;
	return 0;
}

/* Queue a chunk; when it is the pipe's own, return a spare one (or a new
 * one) to fill next. */
static char *
enqueue(struct stele_hashpipe *p, char *chunk, size_t len, int mine)
{
	char *next = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->count == QUEUE)
		pthread_cond_wait(&p->cond, &p->mu);
	p->queue[(p->head + p->count) % QUEUE] = chunk;
	p->qlen[(p->head + p->count) % QUEUE] = len;
	p->qmine[(p->head + p->count) % QUEUE] = (unsigned char)mine;
	p->count++;
	if (mine && p->nspare)
		next = p->spare[--p->nspare];
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return mine && !next ? stele_xmalloc(CHUNK) : next;
}

static void
push(struct stele_hashpipe *p)
{
	p->cur = enqueue(p, p->cur, p->used, 1);
	p->used = 0;
}

void
stele_hashpipe_take(struct stele_hashpipe *p, void *chunk, size_t len)
{
	if (p->used)
		push(p);
	enqueue(p, chunk, len, 0);
}

void
stele_hashpipe_write(struct stele_hashpipe *p, const void *data, size_t len)
{
	const char *d = data;

	while (len) {
		size_t n = CHUNK - p->used < len ? CHUNK - p->used : len;

		memcpy(p->cur + p->used, d, n);
		p->used += n;
		d += n;
		len -= n;
		if (p->used == CHUNK)
			push(p);
	}
}

int
stele_hashpipe_part(struct stele_hashpipe *p, uint64_t off, uint64_t len,
		    unsigned char out[STELE_SHA256_LEN])
{
	struct part pt = { off, off + len, out, { NULL, 0 } };
	int error;

	assert(len > 0);
	if ((error = stele_sha256_init(&pt.h)) < 0)
		return error;
	pthread_mutex_lock(&p->mu);
	assert(p->nparts == 0 || p->parts[p->nparts - 1].end <= off);
	if (p->nparts == p->aparts && p->first > 0) {
		/* Finished parts go: the array holds those in flight. */
		memmove(p->parts, p->parts + p->first,
			(p->nparts - p->first) * sizeof(*p->parts));
		p->nparts -= p->first;
		p->first = 0;
	}
	if (p->nparts == p->aparts) {
		p->aparts = p->aparts ? 2 * p->aparts : 64;
		p->parts =
			stele_xrealloc(p->parts, p->aparts * sizeof(*p->parts));
	}
	p->parts[p->nparts++] = pt;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void
stop(struct stele_hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p->cur);
	while (p->nspare)
		free(p->spare[--p->nspare]);
	/* Parts the stream did not reach (or not to their end). */
	if (p->in_part)
		stele_sha256_release(&p->part.h);
	for (; p->first < p->nparts; p->first++)
		stele_sha256_release(&p->parts[p->first].h);
	free(p->parts);
}

int
stele_hashpipe_finish(struct stele_hashpipe *p, char out[STELE_DIGEST_STRLEN],
		      uint64_t *size)
{
	int then_error;

	if (p->used)
		push(p);
	stop(p);
	if (size)
		*size = p->h.size;
	stele_sha256_final(&p->h, out);
	then_error = p->then_error;
	free(p);
	return then_error;
}

void
stele_hashpipe_free(struct stele_hashpipe *p)
{
	size_t i;

	if (!p)
		return;
	stop(p);
	for (i = 0; i < p->count; i++)
		free(p->queue[(p->head + i) % QUEUE]);
	stele_sha256_release(&p->h);
	free(p);
}
