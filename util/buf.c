#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

int
stele_buf_grow(struct stele_buf *b, size_t extra)
{
	size_t need, alloc;

	if (extra > b->max || b->len > b->max - extra)
		return stele_error_setc(STELE_EINVALID,
					"data exceeds the limit of %zu bytes",
					b->max);
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	b->ptr = stele_xrealloc(b->ptr, alloc);
	b->alloc = alloc;
	return 0;
}

int
stele_buf_put(struct stele_buf *b, const void *data, size_t len)
{
	int error;

	if ((error = stele_buf_grow(b, len)) < 0)
		return error;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int
stele_buf_puts(struct stele_buf *b, const char *s)
{
	return stele_buf_put(b, s, strlen(s));
}

int
stele_buf_putc(struct stele_buf *b, char c)
{
	return stele_buf_put(b, &c, 1);
}

int
stele_buf_vprintf(struct stele_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, error;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return stele_error_set("bad format string");
	if ((error = stele_buf_grow(b, (size_t)n)) < 0)
		return error;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
stele_buf_printf(struct stele_buf *b, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = stele_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return error;
}

void
stele_buf_clear(struct stele_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void
stele_buf_release(struct stele_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

char *
stele_buf_detach(struct stele_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = stele_xcalloc(1, 1);
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}

const char *
stele_buf_cstr(const struct stele_buf *b)
{
	return b->ptr ? b->ptr : "";
}
