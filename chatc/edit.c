/* SPDX-License-Identifier: ISC */
/*
 * The input line: keys decoded from what the terminal sends (xterm's CSI
 * and SS3 sequences, ESC as the meta prefix, bracketed paste), and the
 * editing readline users expect (Ctrl-A/E/B/F/K/U/W/Y/D, Alt-B/F/D,
 * Alt-Backspace, Ctrl-Left/Right, Home/End, Delete, Up/Down through the
 * lines sent before). Only printable characters enter the line: a typed
 * control is a key or nothing, broken UTF-8 is dropped; a paste keeps its
 * newlines (the screen asks before sending several lines). Everything
 * typed is wiped when it leaves.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "escape.h"
#include "screen.h"

#define PASTE_START	"200~"
#define PASTE_END	"\x1b[201~"

void
ed_init(struct edit *e)
{
	memset(e, 0, sizeof(*e));
}

static void
ed_hist_free(struct edit *e)
{
	size_t i;

	for (i = 0; i < ED_HIST; i++) {
		if (e->ed_hist[i] != NULL) {
			OPENSSL_cleanse(e->ed_hist[i], strlen(e->ed_hist[i]));
			free(e->ed_hist[i]);
			e->ed_hist[i] = NULL;
		}
	}
	if (e->ed_draft != NULL) {
		OPENSSL_cleanse(e->ed_draft, strlen(e->ed_draft));
		free(e->ed_draft);
		e->ed_draft = NULL;
	}
}

void
ed_free(struct edit *e)
{
	ed_hist_free(e);
	OPENSSL_cleanse(e, sizeof(*e));
}

void
ed_reset(struct edit *e)
{
	OPENSSL_cleanse(e->ed_buf, e->ed_len);
	e->ed_len = e->ed_cur = 0;
	e->ed_hpos = e->ed_hn;
}

/* ---- decoding ---- */

static int
ed_done(struct key *k, int kind)
{
	k->k_kind = kind;
	return 1;
}

/* A CSI parameter: decimal digits, at most 3 of them; -1 otherwise. */
static int
ed_param(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 3 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	return i == 0 ? -1 : v;
}

/* A CSI sequence (parameters in ed_csi) ending with final. */
static int
ed_csi(struct edit *e, char final, struct key *k)
{
	const char *p = e->ed_csi;
	int mod = 0;
	const char *semi = strchr(p, ';');

	/* "1;5C": modifier 5 is Ctrl, 3 Alt, 2 Shift. */
	if (semi != NULL)
		mod = ed_param(semi + 1);
	switch (final) {
	case 'A':
		return ed_done(k, K_UP);
	case 'B':
		return ed_done(k, K_DOWN);
	case 'C':
		return ed_done(k, mod == 5 || mod == 3 ? K_WORD_RIGHT : K_RIGHT);
	case 'D':
		return ed_done(k, mod == 5 || mod == 3 ? K_WORD_LEFT : K_LEFT);
	case 'H':
		return ed_done(k, K_HOME);
	case 'F':
		return ed_done(k, K_END);
	case '~':
		switch (ed_param(p)) {
		case 1:
		case 7:
			return ed_done(k, K_HOME);
		case 4:
		case 8:
			return ed_done(k, K_END);
		case 3:
			return ed_done(k, K_DELETE);
		case 5:
			return ed_done(k, K_PGUP);
		case 6:
			return ed_done(k, K_PGDN);
		case 200:
			e->ed_in_paste = 1;
			e->ed_pend = 0;
			e->ed_pastelen = e->ed_pastecut = 0;
			return 0;
		default:
			return 0;
		}
	default:
		return 0;	/* a key we do not use */
	}
}

/* After ESC: Alt-<c>, or the start of a sequence. */
static int
ed_meta(struct edit *e, uint8_t c, struct key *k)
{
	e->ed_esc = 0;
	switch (c) {
	case '[':
		e->ed_esc = 2;
		e->ed_csilen = 0;
		e->ed_csi[0] = '\0';
		return 0;
	case 'O':
		e->ed_esc = 3;
		return 0;
	case 'b':
	case 'B':
		return ed_done(k, K_WORD_LEFT);
	case 'f':
	case 'F':
		return ed_done(k, K_WORD_RIGHT);
	case 'd':
	case 'D':
		return ed_done(k, K_KILL_WORD_FWD);
	case 0x7f:
	case 0x08:
		return ed_done(k, K_KILL_WORD_BACK);
	case 0x1b:
		e->ed_esc = 1;	/* ESC ESC: the second one starts over */
		return 0;
	default:
		if (c >= '0' && c <= '9') {
			k->k_n = c == '0' ? 10 : c - '0';
			return ed_done(k, K_WINDOW);
		}
		return 0;
	}
}

/* A byte inside a bracketed paste: kept until ESC [ 2 0 1 ~. */
static int
ed_paste_byte(struct edit *e, uint8_t c, struct key *k)
{
	static const char end[] = PASTE_END;
	size_t i;

	if ((char)c == end[e->ed_pend]) {
		if (++e->ed_pend == sizeof(end) - 1) {
			e->ed_in_paste = 0;
			e->ed_pend = 0;
			return ed_done(k, K_PASTE);
		}
		return 0;
	}
	/* What looked like the end was not: those bytes are the paste's. */
	for (i = 0; i < e->ed_pend; i++) {
		if (e->ed_pastelen < sizeof(e->ed_paste))
			e->ed_paste[e->ed_pastelen++] = (uint8_t)end[i];
		else
			e->ed_pastecut++;
	}
	e->ed_pend = 0;
	if ((char)c == end[0]) {
		e->ed_pend = 1;
		return 0;
	}
	if (e->ed_pastelen < sizeof(e->ed_paste))
		e->ed_paste[e->ed_pastelen++] = c;
	else
		e->ed_pastecut++;
	return 0;
}

int
ed_key(struct edit *e, uint8_t c, struct key *k)
{
	uint32_t cp;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (e->ed_in_paste)
		return ed_paste_byte(e, c, k);
	if (e->ed_esc == 1)
		return ed_meta(e, c, k);
	if (e->ed_esc == 2) {
		if (c >= 0x40 && c <= 0x7e) {
			e->ed_esc = 0;
			return ed_csi(e, (char)c, k);
		}
		if (e->ed_csilen + 1 < sizeof(e->ed_csi)) {
			e->ed_csi[e->ed_csilen++] = (char)c;
			e->ed_csi[e->ed_csilen] = '\0';
		}
		return 0;
	}
	if (e->ed_esc == 3) {
		e->ed_esc = 0;
		e->ed_csilen = 0;
		e->ed_csi[0] = '\0';
		/* rxvt's Ctrl-arrows are ESC O c / ESC O d. */
		if (c == 'c')
			return ed_done(k, K_WORD_RIGHT);
		if (c == 'd')
			return ed_done(k, K_WORD_LEFT);
		return ed_csi(e, (char)c, k);
	}
	if (c >= 0x80) {
		if (e->ed_utflen == 0 && (c & 0xc0) == 0x80)
			return 0;	/* a stray continuation byte */
		e->ed_utf[e->ed_utflen++] = c;
		n = esc_utf8_next(e->ed_utf, e->ed_utflen, &cp);
		if (n == e->ed_utflen) {
			e->ed_utflen = 0;
			/* C1 controls are not text. */
			if (cp >= 0x80 && cp < 0xa0)
				return 0;
			memcpy(k->k_text, e->ed_utf, n);
			k->k_len = n;
			return ed_done(k, K_TEXT);
		}
		/* Incomplete so far, or broken: wait, or drop what came. */
		if (n == 0 && (cp < e->ed_utflen || e->ed_utflen == 4))
			e->ed_utflen = 0;
		return 0;
	}
	e->ed_utflen = 0;
	switch (c) {
	case 0x1b:
		e->ed_esc = 1;
		return 0;
	case '\r':
	case '\n':
		return ed_done(k, K_ENTER);
	case '\t':
		return ed_done(k, K_TAB);
	case 0x7f:
	case 0x08:
		return ed_done(k, K_BACKSPACE);
	case 0x01:
		return ed_done(k, K_HOME);
	case 0x05:
		return ed_done(k, K_END);
	case 0x02:
		return ed_done(k, K_LEFT);
	case 0x06:
		return ed_done(k, K_RIGHT);
	case 0x0b:
		return ed_done(k, K_KILL_END);
	case 0x15:
		return ed_done(k, K_KILL_START);
	case 0x17:
		return ed_done(k, K_KILL_WORD);
	case 0x19:
		return ed_done(k, K_YANK);
	case 0x04:
		return ed_done(k, K_CTRL_D);
	case 0x03:
		return ed_done(k, K_CTRL_C);
	case 0x0c:
		return ed_done(k, K_REDRAW);
	case 0x0e:
		return ed_done(k, K_WIN_NEXT);
	case 0x10:
		return ed_done(k, K_WIN_PREV);
	default:
		if (c < 0x20)
			return 0;
		k->k_text[0] = c;
		k->k_len = 1;
		return ed_done(k, K_TEXT);
	}
}

/* ---- editing ---- */

static size_t
ed_prev(const struct edit *e, size_t off)
{
	if (off == 0 || off > ED_MAX)
		return 0;
	off--;
	while (off > 0 && off < ED_MAX && (e->ed_buf[off] & 0xc0) == 0x80)
		off--;
	return off;
}

static size_t
ed_next(const struct edit *e, size_t off)
{
	if (off >= e->ed_len)
		return e->ed_len;
	off++;
	while (off < e->ed_len && (e->ed_buf[off] & 0xc0) == 0x80)
		off++;
	return off;
}

int
ed_insert(struct edit *e, const uint8_t *p, size_t n)
{
	if (ED_MAX - e->ed_len < n)
		return -1;
	memmove(e->ed_buf + e->ed_cur + n, e->ed_buf + e->ed_cur, e->ed_len - e->ed_cur);
	memcpy(e->ed_buf + e->ed_cur, p, n);
	e->ed_len += n;
	e->ed_cur += n;
	return 0;
}

/* Removes [from, to); with kill set, the bytes go to the kill buffer (for Ctrl-Y). */
static void
ed_cut(struct edit *e, size_t from, size_t to, int kill)
{
	if (to <= from)
		return;
	if (kill) {
		memcpy(e->ed_kill, e->ed_buf + from, to - from);
		e->ed_killlen = to - from;
	}
	memmove(e->ed_buf + from, e->ed_buf + to, e->ed_len - to);
	e->ed_len -= to - from;
	OPENSSL_cleanse(e->ed_buf + e->ed_len, to - from);
	if (e->ed_cur > to)
		e->ed_cur -= to - from;
	else if (e->ed_cur > from)
		e->ed_cur = from;
}

int
ed_replace(struct edit *e, size_t from, const uint8_t *p, size_t n)
{
	size_t old = e->ed_cur - from;

	if (from > e->ed_cur || ED_MAX - (e->ed_len - old) < n)
		return -1;
	ed_cut(e, from, e->ed_cur, 0);
	return ed_insert(e, p, n);
}

static int
ed_space(uint8_t c)
{
	return c == ' ' || c == '\n';
}

/* A word for Alt-B/F/D and Alt-Backspace: letters and digits (any non-ASCII byte counts). */
static int
ed_alnum(uint8_t c)
{
	return c >= 0x80 || isalnum(c);
}

static size_t
ed_word_left(const struct edit *e, size_t off)
{
	while (off > 0 && !ed_alnum(e->ed_buf[off - 1]))
		off--;
	while (off > 0 && ed_alnum(e->ed_buf[off - 1]))
		off--;
	return off;
}

static size_t
ed_word_right(const struct edit *e, size_t off)
{
	while (off < e->ed_len && !ed_alnum(e->ed_buf[off]))
		off++;
	while (off < e->ed_len && ed_alnum(e->ed_buf[off]))
		off++;
	return off;
}

size_t
ed_word_start(const struct edit *e)
{
	size_t off = e->ed_cur;

	while (off > 0 && !ed_space(e->ed_buf[off - 1]))
		off--;
	return off;
}

/* Replaces the line with s (history). */
static void
ed_set(struct edit *e, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	OPENSSL_cleanse(e->ed_buf, e->ed_len);
	if (n > ED_MAX)
		n = ED_MAX;
	if (n > 0)
		memcpy(e->ed_buf, s, n);
	e->ed_len = e->ed_cur = n;
}

static char *
ed_dup(const struct edit *e)
{
	char *s = malloc(e->ed_len + 1);

	if (s != NULL) {
		memcpy(s, e->ed_buf, e->ed_len);
		s[e->ed_len] = '\0';
	}
	return s;
}

static void
ed_history(struct edit *e, int up)
{
	if (up) {
		if (e->ed_hpos == 0)
			return;
		if (e->ed_hpos == e->ed_hn) {
			free(e->ed_draft);
			e->ed_draft = ed_dup(e);
		}
		e->ed_hpos--;
		ed_set(e, e->ed_hist[(e->ed_hhead + e->ed_hpos) % ED_HIST]);
		return;
	}
	if (e->ed_hpos >= e->ed_hn)
		return;
	e->ed_hpos++;
	if (e->ed_hpos == e->ed_hn) {
		ed_set(e, e->ed_draft);
		if (e->ed_draft != NULL) {
			OPENSSL_cleanse(e->ed_draft, strlen(e->ed_draft));
			free(e->ed_draft);
			e->ed_draft = NULL;
		}
	} else
		ed_set(e, e->ed_hist[(e->ed_hhead + e->ed_hpos) % ED_HIST]);
}

void
ed_remember(struct edit *e, const uint8_t *p, size_t n)
{
	const char *last;
	char *s;
	size_t slot;

	e->ed_hpos = e->ed_hn;
	if (n == 0 || n > ED_HIST_LINE || memchr(p, '\0', n) != NULL)
		return;
	if (e->ed_hn > 0) {
		last = e->ed_hist[(e->ed_hhead + e->ed_hn - 1) % ED_HIST];
		if (strlen(last) == n && memcmp(last, p, n) == 0)
			return;
	}
	if ((s = malloc(n + 1)) == NULL)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (e->ed_hn == ED_HIST) {
		slot = e->ed_hhead;
		OPENSSL_cleanse(e->ed_hist[slot], strlen(e->ed_hist[slot]));
		free(e->ed_hist[slot]);
		e->ed_hist[slot] = s;
		e->ed_hhead = (e->ed_hhead + 1) % ED_HIST;
	} else {
		e->ed_hist[(e->ed_hhead + e->ed_hn) % ED_HIST] = s;
		e->ed_hn++;
	}
	e->ed_hpos = e->ed_hn;
}

int
ed_apply(struct edit *e, const struct key *k)
{
	size_t to;

	switch (k->k_kind) {
	case K_LEFT:
		e->ed_cur = ed_prev(e, e->ed_cur);
		break;
	case K_RIGHT:
		e->ed_cur = ed_next(e, e->ed_cur);
		break;
	case K_HOME:
		e->ed_cur = 0;
		break;
	case K_END:
		e->ed_cur = e->ed_len;
		break;
	case K_WORD_LEFT:
		e->ed_cur = ed_word_left(e, e->ed_cur);
		break;
	case K_WORD_RIGHT:
		e->ed_cur = ed_word_right(e, e->ed_cur);
		break;
	case K_BACKSPACE:
		ed_cut(e, ed_prev(e, e->ed_cur), e->ed_cur, 0);
		break;
	case K_DELETE:
	case K_CTRL_D:
		ed_cut(e, e->ed_cur, ed_next(e, e->ed_cur), 0);
		break;
	case K_KILL_END:
		ed_cut(e, e->ed_cur, e->ed_len, 1);
		break;
	case K_KILL_START:
		ed_cut(e, 0, e->ed_cur, 1);
		break;
	case K_KILL_WORD:
		/* Ctrl-W as in a shell: back over spaces, then to the previous space. */
		to = e->ed_cur;
		while (to > 0 && ed_space(e->ed_buf[to - 1]))
			to--;
		while (to > 0 && !ed_space(e->ed_buf[to - 1]))
			to--;
		ed_cut(e, to, e->ed_cur, 1);
		break;
	case K_KILL_WORD_BACK:
		ed_cut(e, ed_word_left(e, e->ed_cur), e->ed_cur, 1);
		break;
	case K_KILL_WORD_FWD:
		ed_cut(e, e->ed_cur, ed_word_right(e, e->ed_cur), 1);
		break;
	case K_YANK:
		if (e->ed_killlen > 0 && ed_insert(e, e->ed_kill, e->ed_killlen) != 0)
			return -1;
		break;
	case K_UP:
		ed_history(e, 1);
		break;
	case K_DOWN:
		ed_history(e, 0);
		break;
	default:
		return 0;
	}
	return 1;
}

size_t
ed_paste_insert(struct edit *e)
{
	const uint8_t *p = e->ed_paste;
	size_t n = e->ed_pastelen, i = 0, k, lost = e->ed_pastecut, tail, cap, at;
	uint32_t cp;

	/* The rest of the line steps aside; the paste goes in cleaned; it comes back. */
	tail = e->ed_len - e->ed_cur;
	memcpy(e->ed_scratch, e->ed_buf + e->ed_cur, tail);
	cap = ED_MAX - tail;
	at = e->ed_cur;
	while (i < n) {
		if (p[i] == '\r' || p[i] == '\n') {
			k = p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
			/* One final newline is the end of the last line copied, not a new one. */
			if (i + k < n) {
				if (at + 1 > cap)
					break;
				e->ed_buf[at++] = '\n';
			}
			i += k;
			continue;
		}
		if (p[i] == '\t') {
			if (at + 4 > cap)
				break;
			memcpy(e->ed_buf + at, "    ", 4);
			at += 4;
			i++;
			continue;
		}
		if ((k = esc_utf8_next(p + i, n - i, &cp)) == 0) {
			i += cp;	/* broken UTF-8: dropped */
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			i += k;		/* other controls: dropped */
			continue;
		}
		if (at + k > cap)
			break;
		memcpy(e->ed_buf + at, p + i, k);
		at += k;
		i += k;
	}
	lost += n - i;
	memcpy(e->ed_buf + at, e->ed_scratch, tail);
	e->ed_len = at + tail;
	e->ed_cur = at;
	OPENSSL_cleanse(e->ed_scratch, tail);
	OPENSSL_cleanse(e->ed_paste, sizeof(e->ed_paste));
	e->ed_pastelen = e->ed_pastecut = 0;
	return lost;
}
