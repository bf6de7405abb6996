#include <sodium.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

int
stele_base64_encode(struct stele_buf *out, const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64_VARIANT);
	int error;

	/* n counts the terminating NUL; the buffer keeps one anyway. */
	if ((error = stele_buf_grow(out, n)) < 0)
		return error;
	sodium_bin2base64(out->ptr + out->len, n, data, len, B64_VARIANT);
	out->len += n - 1;
	return 0;
}

int
stele_base64_decode(struct stele_buf *out, const char *text, size_t len,
		    const char *what)
{
	size_t max = len / 4 * 3, got = 0, start = out->len;
	const char *end = NULL;
	struct stele_buf again = STELE_BUF_INIT(len + 8);
	int error;

	if (len % 4 != 0)
		return stele_error_setc(
			STELE_EINVALID,
			"%s is not padded standard base64 (length %zu)", what,
			len);
	if (len && text[len - 1] == '=')
		max -= (len > 1 && text[len - 2] == '=') ? 2 : 1;
	if ((error = stele_buf_grow(out, max)) < 0)
		return stele_error_prefix(error, "%s", what);
	if (sodium_base642bin((unsigned char *)out->ptr + start, max, text, len,
			      NULL, &got, &end, B64_VARIANT) != 0 ||
	    end != text + len)
		return stele_error_setc(STELE_EINVALID,
					"%s is not valid standard base64",
					what);
	/* Canonical: re-encoding must give back the very same text. */
	if ((error = stele_base64_encode(&again, out->ptr + start, got)) < 0 ||
	    again.len != len || memcmp(again.ptr, text, len) != 0) {
		stele_buf_release(&again);
		return stele_error_setc(STELE_EINVALID,
					"%s is not canonical base64", what);
	}
	stele_buf_release(&again);
	out->len = start + got;
	out->ptr[out->len] = '\0';
	return 0;
}

int
stele_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
stele_hex_decode(unsigned char *out, const char *hex, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = stele_hex_digit(hex[2 * i])) < 0 ||
		    (lo = stele_hex_digit(hex[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
