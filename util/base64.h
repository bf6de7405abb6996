#ifndef STELE_UTIL_BASE64_H
#define STELE_UTIL_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Standard base64 (RFC 4648 section 4, '+' and '/', '=' padding), the only
 * form cosign and containers/image write.  Encoding appends to `out`.
 */
int stele_base64_encode(struct stele_buf *out, const void *data, size_t len);

/*
 * Strict decoding of untrusted text: padded standard alphabet only, no
 * whitespace, no URL-safe characters, and canonical (the text must be
 * exactly what stele_base64_encode would write for the decoded bytes, so
 * non-zero padding bits are refused).  Appends to `out` (capped by
 * out->max).  `what` names the field in the error.  STELE_EINVALID when the
 * text is not canonical base64.
 */
int stele_base64_decode(struct stele_buf *out, const char *text, size_t len,
			const char *what);

/* The value of the hex digit `c` (either case), or -1. */
int stele_hex_digit(int c);
/* `n` bytes from the 2n hex digits at `hex`; -1 at the first that is not
 * one (a NUL included). */
int stele_hex_decode(unsigned char *out, const char *hex, size_t n);

#endif
