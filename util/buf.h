#ifndef STELE_UTIL_BUF_H
#define STELE_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer with a mandatory cap (`max`): an append that would
 * grow it past the cap fails with STELE_EINVALID and leaves it unchanged.
 * `ptr` is always NUL-terminated when non-NULL.  Release with
 * stele_buf_release(); stele_buf_detach() hands the memory to the caller.
 * Out of memory aborts (util/alloc.h): the cap is the only error.
 */
struct stele_buf {
	char *ptr;
	size_t len;
	size_t alloc;
	size_t max;
};

#define STELE_BUF_INIT(cap) \
	{ \
		NULL, 0, 0, (cap) \
	}

int stele_buf_grow(struct stele_buf *b, size_t extra);
int stele_buf_put(struct stele_buf *b, const void *data, size_t len);
int stele_buf_puts(struct stele_buf *b, const char *s);
int stele_buf_putc(struct stele_buf *b, char c);
int stele_buf_printf(struct stele_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int stele_buf_vprintf(struct stele_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void stele_buf_clear(struct stele_buf *b);
void stele_buf_release(struct stele_buf *b);
char *stele_buf_detach(struct stele_buf *b);
/* A NUL-terminated string, "" when empty; borrowed. */
const char *stele_buf_cstr(const struct stele_buf *b);

#endif
