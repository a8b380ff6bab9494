/* SPDX-License-Identifier: ISC */
/*
 * Peer bytes to terminal-safe text. A hostile peer must not be able to move
 * the cursor, change the title, rewrite earlier lines, or make two different
 * messages look the same: every control is shown as a visible escape, the
 * backslash itself is escaped, and broken UTF-8 becomes U+FFFD.
 */
#include <stdio.h>
#include <string.h>

#include "escape.h"

size_t
esc_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;
	uint32_t c;

	if (n == 0) {
		*cp = 0;
		return 0;
	}
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (b == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* overlong */
		else if (b == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		*cp = 1;		/* stray continuation, C0/C1 lead, F5..FF */
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*cp = i;	/* the maximal subpart that was valid so far */
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return need + 1;
}

int
esc_utf8_valid(const uint8_t *p, size_t n)
{
	size_t off = 0, k;
	uint32_t cp;

	while (off < n) {
		if ((k = esc_utf8_next(p + off, n - off, &cp)) == 0)
			return 0;
		off += k;
	}
	return 1;
}

static int
esc_bidi(uint32_t cp)
{
	/* Unicode's whole Bidi_Control set: marks (ALM, LRM, RLM) reorder too. */
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
esc_text(const uint8_t *in, size_t n, char *out, size_t cap)
{
	static const char repl[] = "\xef\xbf\xbd";
	size_t off = 0, len = 0, k, plen;
	char piece[8];
	const char *src;
	uint32_t cp;

	if (cap == 0)
		return 0;
	while (off < n) {
		k = esc_utf8_next(in + off, n - off, &cp);
		src = piece;
		if (k == 0) {
			src = repl;
			plen = 3;
			k = cp;
		} else if (cp == '\\') {
			src = "\\\\";
			plen = 2;
		} else if (cp == '\n') {
			src = "\\n";
			plen = 2;
		} else if (cp == '\t') {
			src = "\\t";
			plen = 2;
		} else if (cp == '\r') {
			src = "\\r";
			plen = 2;
		} else if (cp < 0x20 || cp == 0x7f) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", (unsigned int)cp);
		} else if ((cp >= 0x80 && cp <= 0x9f) || esc_bidi(cp) ||
		    cp == 0x2028 || cp == 0x2029) {
			/* C1, direction controls, and the Unicode line and paragraph
			 * separators (a line splitter may take them for a new event). */
			plen = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", (unsigned int)cp);
		} else {
			src = (const char *)in + off;
			plen = k;
		}
		if (cap - 1 - len < plen)
			break;
		memcpy(out + len, src, plen);
		len += plen;
		off += k;
	}
	out[len] = '\0';
	return len;
}

size_t
esc_columns(const char *s, size_t n)
{
	size_t i, cols = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}
