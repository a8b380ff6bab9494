/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: chatc's escaping of peer text (chatc/escape.c), the last
 * step before a peer's nickname or message reaches the terminal. Whatever the
 * input, the output must be valid UTF-8 with no C0 byte, no DEL, no C1 code
 * point and no bidi control (Bidi_Control: marks, embeddings, overrides,
 * isolates); valid text without specials must pass unchanged; a short
 * buffer must get a prefix of the full output that ends on a piece boundary. esc_utf8_valid and esc_utf8_next are checked
 * against an independent decoder written from RFC 3629 here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * RFC 3629 section 4, table form: length of the well-formed sequence at p,
 * code point in *cp; 0 when ill-formed.
 */
static size_t
ref_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t need, i;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		need = 1;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		need = 2;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		need = 3;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need + 1;
}

static int
ref_valid(const uint8_t *p, size_t n)
{
	size_t off = 0, k;
	uint32_t cp;

	while (off < n) {
		if ((k = ref_next(p + off, n - off, &cp)) == 0)
			return 0;
		off += k;
	}
	return 1;
}

/*
 * A code point the escaping must never let through as itself: C0, DEL, C1
 * Unicode's whole Bidi_Control set (ALM, LRM, RLM, the embeddings and
 * overrides, the isolates), and the line and paragraph separators.
 */
static int
forbidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x2028 || cp == 0x2029;
}

/* Valid UTF-8 with nothing esc_text rewrites (backslash included). */
static int
plain(const uint8_t *p, size_t n)
{
	size_t off = 0, k;
	uint32_t cp;

	while (off < n) {
		if ((k = ref_next(p + off, n - off, &cp)) == 0 || forbidden(cp) || cp == '\\')
			return 0;
		off += k;
	}
	return 1;
}

static void
check_output(const uint8_t *in, size_t n, const char *out, size_t len, int whole)
{
	const uint8_t *o = (const uint8_t *)out;
	size_t off = 0, k, cols = 0;
	uint32_t cp;

	if (len > ESC_MAX(n) - 1 || out[len] != '\0' || memchr(out, '\0', len) != NULL)
		abort();
	while (off < len) {
		if ((k = ref_next(o + off, len - off, &cp)) == 0 || forbidden(cp))
			abort();
		off += k;
		cols++;
	}
	if (esc_columns(out, len) != cols)
		abort();
	if (whole && plain(in, n) && (len != n || memcmp(in, out, n) != 0))
		abort();
}

static void
check_next(const uint8_t *p, size_t n)
{
	uint32_t cp, rcp = 0;
	size_t k, rk;

	k = esc_utf8_next(p, n, &cp);
	rk = ref_next(p, n, &rcp);
	if (k != rk || (k != 0 && cp != rcp))
		abort();
	/* The maximal invalid subpart: at least 1, never past the input. */
	if (k == 0 && (cp < 1 || cp > 3 || cp > n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *full, *part;
	size_t len, plen, cap, i;

	if (esc_utf8_valid(data, size) != ref_valid(data, size))
		abort();
	for (i = 0; i < size && i < 64; i++)
		check_next(data + i, size - i);
	if ((full = malloc(ESC_MAX(size))) == NULL)
		return 0;
	/* A canary after a too-short buffer: esc_text must not write there. */
	if ((part = malloc(ESC_MAX(size) + 1)) == NULL) {
		free(full);
		return 0;
	}
	len = esc_text(data, size, full, ESC_MAX(size));
	check_output(data, size, full, len, 1);
	/* The capacity for the short run comes from the input too. */
	cap = size > 0 ? (size_t)data[0] % ESC_MAX(size) + 1 : 1;
	part[cap] = 0x5a;
	plen = esc_text(data, size, part, cap);
	if (plen >= cap || plen > len || memcmp(part, full, plen) != 0 || part[plen] != '\0' ||
	    part[cap] != 0x5a)
		abort();
	/* Stopped at a piece boundary: the next piece would not have fitted. */
	if (plen < len && cap - 1 - plen >= 6)
		abort();
	check_output(data, size, part, plen, plen == len);
	if (esc_text(data, size, part, 0) != 0 || part[cap] != 0x5a)
		abort();
	free(part);
	free(full);
	return 0;
}
