/* SPDX-License-Identifier: ISC */
/*
 * The terminal under chatc's screen: what it can do comes from terminfo
 * (libtinfo, ncurses' terminal database layer), read once before the
 * sandbox; after that only its strings are used, through tiparm, which
 * formats in memory. No curses window, no curses input: what is written is
 * ours (terminfo's strings for $TERM, and text that was escaped), what is
 * read is parsed by edit.c. Output is gathered and written in one go.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>
#include <term.h>

#include "escape.h"
#include "fe.h"
#include "screen.h"

/* xterm's bracketed paste (not in terminfo); terminals without it ignore both. */
#define PASTE_ON	"\x1b[?2004h"
#define PASTE_OFF	"\x1b[?2004l"

static const char *
term_cap(const char *name)
{
	char *s = tigetstr(name);

	/* (char *)-1: not a string capability. */
	return s == NULL || (intptr_t)s == -1 || *s == '\0' ? NULL : s;
}

int
term_setup(struct vt *t, int fd, char *why, size_t whylen)
{
	const char *tn = getenv("TERM"), *nc = getenv("NO_COLOR");
	int err = 0, n;

	memset(t, 0, sizeof(*t));
	t->t_fd = fd;
	if (tn == NULL || *tn == '\0') {
		snprintf(why, whylen, "TERM is not set");
		return -1;
	}
	if (setupterm(NULL, fd, &err) != OK) {
		snprintf(why, whylen, "no terminfo description for TERM=%.40s", tn);
		return -1;
	}
	t->t_cup = term_cap("cup");
	t->t_csr = term_cap("csr");
	t->t_ind = term_cap("ind");
	t->t_el = term_cap("el");
	t->t_clear = term_cap("clear");
	t->t_sgr0 = term_cap("sgr0");
	t->t_bold = term_cap("bold");
	t->t_dim = term_cap("dim");
	t->t_rev = term_cap("rev");
	t->t_smul = term_cap("smul");
	t->t_setaf = term_cap("setaf");
	t->t_setab = term_cap("setab");
	t->t_smcup = term_cap("smcup");
	t->t_rmcup = term_cap("rmcup");
	t->t_bel = term_cap("bel");
	t->t_civis = term_cap("civis");
	t->t_cnorm = term_cap("cnorm");
	if (t->t_cup == NULL || t->t_el == NULL || tigetflag("hc") > 0) {
		snprintf(why, whylen, "TERM=%.40s cannot place the cursor", tn);
		return -1;
	}
	n = tigetnum("colors");
	/* https://no-color.org: present and not empty. */
	t->t_colors = (nc != NULL && *nc != '\0') || t->t_setaf == NULL || n < 8 ? 0 : n;
	term_size(t);
	return 0;
}

void
term_size(struct vt *t)
{
	struct winsize ws;

	t->t_rows = 24;
	t->t_cols = 80;
	if (ioctl(t->t_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		t->t_rows = ws.ws_row;
		t->t_cols = ws.ws_col;
	}
	if (t->t_rows < 4)
		t->t_rows = 4;
	if (t->t_cols < 20)
		t->t_cols = 20;
}

void
term_flush(struct vt *t)
{
	/* A terminal that is gone (EIO) is noticed on the input side. */
	(void)chatc_write_all(t->t_fd, t->t_out, t->t_outlen);
	t->t_outlen = 0;
}

void
term_put(struct vt *t, const char *s, size_t n)
{
	if (TERM_OUT_MAX - t->t_outlen < n)
		term_flush(t);
	if (n > TERM_OUT_MAX) {
		(void)chatc_write_all(t->t_fd, s, n);
		return;
	}
	memcpy(t->t_out + t->t_outlen, s, n);
	t->t_outlen += n;
}

void
term_puts(struct vt *t, const char *s)
{
	if (s != NULL)
		term_put(t, s, strlen(s));
}

int
term_start(struct vt *t)
{
	struct termios r;

	if (tcgetattr(STDIN_FILENO, &t->t_saved) == -1)
		return -1;
	r = t->t_saved;
	r.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	r.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	r.c_cflag |= CS8;
	r.c_cc[VMIN] = 1;
	r.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &r) == -1)
		return -1;
	t->t_raw = 1;
	term_puts(t, t->t_smcup);
	term_puts(t, PASTE_ON);
	term_flush(t);
	return 0;
}

void
term_free(struct vt *t)
{
	(void)t;
	/* setupterm's own allocation: freed in memory only, no file involved. */
	if (cur_term != NULL)
		(void)del_curterm(cur_term);
}

void
term_end(struct vt *t)
{
	if (!t->t_raw)
		return;
	term_puts(t, t->t_sgr0);
	term_region(t, -1, -1);
	term_cursor(t, 1);
	term_puts(t, PASTE_OFF);
	term_puts(t, t->t_rmcup);
	term_flush(t);
	(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t->t_saved);
	t->t_raw = 0;
}

void
term_move(struct vt *t, int row, int col)
{
	term_puts(t, tiparm(t->t_cup, row, col));
}

void
term_region(struct vt *t, int top, int bottom)
{
	if (t->t_csr == NULL)
		return;
	if (top < 0)
		term_puts(t, tiparm(t->t_csr, 0, t->t_rows - 1));
	else
		term_puts(t, tiparm(t->t_csr, top, bottom));
}

int
term_scroll(struct vt *t)
{
	if (t->t_csr == NULL)
		return -1;
	term_puts(t, t->t_ind != NULL ? t->t_ind : "\n");
	return 0;
}

void
term_clear_eol(struct vt *t)
{
	term_puts(t, t->t_el);
}

void
term_clear(struct vt *t)
{
	int r;

	if (t->t_clear != NULL) {
		term_puts(t, t->t_clear);
		return;
	}
	for (r = 0; r < t->t_rows; r++) {
		term_move(t, r, 0);
		term_clear_eol(t);
	}
}

void
term_plain(struct vt *t)
{
	term_puts(t, t->t_sgr0);
}

void
term_style(struct vt *t, const struct tstyle *st)
{
	term_puts(t, t->t_sgr0);
	if (st->ts_bold)
		term_puts(t, t->t_bold);
	if (st->ts_dim)
		term_puts(t, t->t_dim);
	if (st->ts_rev)
		term_puts(t, t->t_rev);
	if (st->ts_ul)
		term_puts(t, t->t_smul);
	if (t->t_colors > 0 && st->ts_fg > 0)
		term_puts(t, tiparm(t->t_setaf, st->ts_fg));
	if (t->t_colors > 0 && st->ts_bg > 0 && t->t_setab != NULL)
		term_puts(t, tiparm(t->t_setab, st->ts_bg));
}

void
term_bell(struct vt *t)
{
	term_puts(t, t->t_bel);
}

void
term_cursor(struct vt *t, int on)
{
	term_puts(t, on ? t->t_cnorm : t->t_civis);
}

size_t
term_cp_width(uint32_t cp)
{
	int w = wcwidth((wchar_t)cp);

	return w < 0 ? 1 : (size_t)w;
}

size_t
term_width(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0, k, cols = 0;
	uint32_t cp;

	while (off < len) {
		if ((k = esc_utf8_next(p + off, len - off, &cp)) == 0) {
			k = cp;
			cp = 0xfffd;
		}
		cols += term_cp_width(cp);
		off += k;
	}
	return cols;
}

size_t
term_fit(const char *s, size_t len, size_t maxcols)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0, k, cols = 0, w;
	uint32_t cp;

	while (off < len) {
		if ((k = esc_utf8_next(p + off, len - off, &cp)) == 0) {
			k = cp;
			cp = 0xfffd;
		}
		w = term_cp_width(cp);
		if (cols + w > maxcols)
			break;
		cols += w;
		off += k;
	}
	return off;
}
