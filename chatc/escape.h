/* SPDX-License-Identifier: ISC */
#ifndef VEIL_ESCAPE_H
#define VEIL_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Making peer bytes safe for a terminal. Every byte that came from a peer
 * (a nickname, a message) goes through esc_text before it is written.
 */

/* Output size that always suffices for n input bytes (NUL included). */
#define ESC_MAX(n)	(4 * (size_t)(n) + 1)

/*
 * Writes a printable, unambiguous form of in[0..n) to out (cap bytes, always
 * NUL-terminated when cap > 0) and returns its length without the NUL.
 * Valid UTF-8 text passes through unchanged, except:
 *   backslash          -> "\\"
 *   newline, tab, CR   -> "\n", "\t", "\r"
 *   other C0, DEL      -> "\xNN" (so ESC becomes "\x1b")
 *   C1 (U+0080..009F)  -> "\uNNNN"
 *   Unicode's Bidi_Control set (U+061C, U+200E, U+200F, U+202A..202E,
 *   U+2066..2069) and the line/paragraph separators U+2028, U+2029 -> "\uNNNN"
 *   invalid UTF-8 (overlong, surrogate, > U+10FFFF, truncated, stray
 *   continuation) -> U+FFFD, one per maximal invalid subpart.
 * When cap < ESC_MAX(n) the output stops at the last whole piece that fits.
 */
size_t	esc_text(const uint8_t *in, size_t n, char *out, size_t cap);

/*
 * Length of the valid UTF-8 sequence starting at p (1..4), with the code
 * point in *cp; or 0 when the bytes there are not valid UTF-8, with *cp set
 * to the length of the maximal invalid subpart (at least 1).
 */
size_t	esc_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

/* 1 when all n bytes are valid UTF-8 (RFC 3629), else 0. */
int	esc_utf8_valid(const uint8_t *p, size_t n);

/* Terminal columns esc_text's output of in[0..n) takes (one per code point). */
size_t	esc_columns(const char *s, size_t n);

#endif
