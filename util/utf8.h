#ifndef STELE_UTIL_UTF8_H
#define STELE_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* What decoding yields for an invalid or short sequence (Go's RuneError). */
#define STELE_RUNE_ERROR 0xFFFDu

/*
 * Go's utf8.DecodeRune over s[0..n), n >= 1: the first rune and its width
 * in *width.  An invalid or short sequence (overlong forms, surrogates,
 * anything past U+10FFFF) is STELE_RUNE_ERROR with width 1.
 */
uint32_t stele_utf8_decode(const unsigned char *s, size_t n, size_t *width);
/* The UTF-8 bytes of r (<= 0x10FFFF) into out, which holds 4; their count. */
size_t stele_utf8_encode(uint32_t r, char *out);

#endif
