/* SPDX-License-Identifier: ISC */
/*
 * What a window keeps: up to SB_MAX lines, oldest dropped first, each with
 * its time, kind and flags and two escaped strings (who, text); and how a
 * line wraps into rows: after a space where it can, inside a word only when
 * the word is longer than a row. Everything stored was escaped by the
 * caller (esc_text), so it is printable UTF-8 without controls, and rows
 * are cut only between whole characters.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "screen.h"

int
sb_add(struct sb *b, int kind, int flags, time_t when, const char *who, const char *text)
{
	size_t wl = who != NULL ? strlen(who) : 0, tl = strlen(text), slot;
	struct sb_line *l;

	if (wl > UINT16_MAX)
		wl = UINT16_MAX;
	if (tl > UINT32_MAX - 1)
		return -1;
	if ((l = malloc(sizeof(*l) + wl + tl + 2)) == NULL)
		return -1;
	l->sl_time = when;
	l->sl_kind = (uint8_t)kind;
	l->sl_flags = (uint8_t)flags;
	l->sl_wholen = (uint16_t)wl;
	l->sl_textlen = (uint32_t)tl;
	l->sl_n = 0;
	l->sl_k = l->sl_of = l->sl_failed = 0;
	if (wl > 0)
		memcpy(l->sl_data, who, wl);
	l->sl_data[wl] = '\0';
	memcpy(l->sl_data + wl + 1, text, tl + 1);
	if (b->sb_n == SB_MAX) {
		free(b->sb_l[b->sb_head]);
		b->sb_l[b->sb_head] = NULL;
		b->sb_head = (b->sb_head + 1) % SB_MAX;
		b->sb_n--;
		b->sb_first++;
	}
	slot = (b->sb_head + b->sb_n) % SB_MAX;
	b->sb_l[slot] = l;
	b->sb_n++;
	return 0;
}

const struct sb_line *
sb_get(const struct sb *b, uint64_t n)
{
	if (n < b->sb_first || n - b->sb_first >= b->sb_n)
		return NULL;
	return b->sb_l[(b->sb_head + (size_t)(n - b->sb_first)) % SB_MAX];
}

uint64_t
sb_end(const struct sb *b)
{
	return b->sb_first + b->sb_n;
}

struct sb_line *
sb_last(struct sb *b)
{
	return b->sb_n > 0 ? b->sb_l[(b->sb_head + b->sb_n - 1) % SB_MAX] : NULL;
}

struct sb_line *
sb_mine(struct sb *b, uint32_t n, uint64_t *at)
{
	size_t i;
	struct sb_line *l;

	if (n == 0)
		return NULL;
	for (i = b->sb_n; i > 0; i--) {
		l = b->sb_l[(b->sb_head + i - 1) % SB_MAX];
		if (l->sl_n == n) {
			*at = b->sb_first + i - 1;
			return l;
		}
	}
	return NULL;
}

void
sb_mark(const struct sb_line *l, char out[static SB_MARK_LEN + 1])
{
	unsigned int k = l->sl_k % 100, of = l->sl_of % 100;

	if (l->sl_n == 0 || l->sl_of == 0)
		out[0] = '\0';
	else if (l->sl_failed > 0)
		snprintf(out, SB_MARK_LEN + 1, "[%3u/%-2u!]", k, of);
	else if (l->sl_k == 0)
		snprintf(out, SB_MARK_LEN + 1, "[pending]");
	else if (l->sl_k >= l->sl_of)
		snprintf(out, SB_MARK_LEN + 1, "[  all  ]");
	else
		snprintf(out, SB_MARK_LEN + 1, "[%3u/%-3u]", k, of);
}

void
sb_clear(struct sb *b)
{
	size_t i;

	for (i = 0; i < SB_MAX; i++) {
		free(b->sb_l[i]);
		b->sb_l[i] = NULL;
	}
	b->sb_first += b->sb_n;
	b->sb_head = 0;
	b->sb_n = 0;
}

size_t
lay_wrap(const char *text, size_t len, size_t first, size_t cols, struct lay_row *rows,
    size_t max)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t n = 0, pos = 0, start, used, brk, k, w, avail = first;
	uint32_t cp;

	if (max == 0)
		return 0;
	if (cols == 0)
		cols = 1;
	if (len == 0) {
		rows[0].lr_from = rows[0].lr_to = 0;
		return 1;
	}
	while (pos < len && n < max) {
		start = pos;
		used = 0;
		brk = 0;
		while (pos < len) {
			if ((k = esc_utf8_next(p + pos, len - pos, &cp)) == 0) {
				k = cp;
				cp = 0xfffd;
			}
			w = term_cp_width(cp);
			if (used + w > avail && pos > start)
				break;
			used += w;
			pos += k;
			if (cp == ' ')
				brk = pos;
			if (used >= avail && pos < len && p[pos] != ' ')
				break;
		}
		rows[n].lr_from = (uint32_t)start;
		if (pos < len && brk > start && p[pos] != ' ') {
			/* Back to the last space: the word goes whole to the next row. */
			pos = brk;
		}
		rows[n].lr_to = (uint32_t)pos;
		/* Spaces at the end of a row are not drawn; the next row starts after them. */
		while (rows[n].lr_to > rows[n].lr_from && p[rows[n].lr_to - 1] == ' ')
			rows[n].lr_to--;
		while (pos < len && p[pos] == ' ')
			pos++;
		n++;
		avail = cols;
	}
	return n;
}

static int
sb_word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

int
sb_mentions(const char *text, size_t len, const char *nick)
{
	size_t nl = strlen(nick), i, j;

	if (nl == 0 || nl > len)
		return 0;
	for (i = 0; i + nl <= len; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)text[i + j]) != tolower((unsigned char)nick[j]))
				break;
		if (j < nl)
			continue;
		if ((i == 0 || !sb_word_char((unsigned char)text[i - 1])) &&
		    (i + nl == len || !sb_word_char((unsigned char)text[i + nl])))
			return 1;
	}
	return 0;
}
