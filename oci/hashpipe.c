#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "oci/hashpipe.h"
#include "util/error.h"
#include "util/fs.h"

#define CHUNK (1u << 20)
#define QUEUE 4

struct stele_hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct stele_sha256 h;
	char *queue[QUEUE];
	size_t qlen[QUEUE];
	size_t head, count; /* ring of full chunks */
	char *cur; /* being filled by the writer */
	size_t used;
	int done; /* no more chunks will come */
};

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
		free(chunk);
		pthread_mutex_lock(&p->mu);
		p->head = (p->head + 1) % QUEUE;
		p->count--;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->mu);
	}
}

int
stele_hashpipe_start(struct stele_hashpipe **out)
{
	struct stele_hashpipe *p = stele_xcalloc(1, sizeof(*p));
	int error;

	*out = NULL;
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

static void
enqueue(struct stele_hashpipe *p, char *chunk, size_t len)
{
	pthread_mutex_lock(&p->mu);
	while (p->count == QUEUE)
		pthread_cond_wait(&p->cond, &p->mu);
	p->queue[(p->head + p->count) % QUEUE] = chunk;
	p->qlen[(p->head + p->count) % QUEUE] = len;
	p->count++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

static void
push(struct stele_hashpipe *p)
{
	enqueue(p, p->cur, p->used);
	p->cur = stele_xmalloc(CHUNK);
	p->used = 0;
}

void
stele_hashpipe_take(struct stele_hashpipe *p, void *chunk, size_t len)
{
	if (p->used)
		push(p);
	enqueue(p, chunk, len);
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
}

void
stele_hashpipe_finish(struct stele_hashpipe *p, char out[STELE_DIGEST_STRLEN],
		      uint64_t *size)
{
	if (p->used)
		push(p);
	stop(p);
	if (size)
		*size = p->h.size;
	stele_sha256_final(&p->h, out);
	free(p);
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
