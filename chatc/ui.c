/* SPDX-License-Identifier: ISC */
/*
 * The interactive screen: one window per room, each with its scrollback;
 * a status line; the input line. Layout, top to bottom: the current
 * window's messages (a scrolling region), the status line, the input.
 *
 * It is a front-end (fe.h): events come in, lines typed go out to the core
 * (ui_line), and nothing here sees a room, a peer or a session. Every byte
 * that came from a peer is escaped (esc_text) before it is kept, so what is
 * drawn is escaped text and terminfo's own strings (term.c), nothing else.
 *
 * Keys: the editing ones of edit.c; Enter sends (a paste of several lines,
 * or a line longer than a message, only after a second Enter: then each line
 * goes as a message, a long one split at spaces; any other key goes back to
 * editing, nothing is lost); Tab completes commands and nicks; PgUp/PgDn
 * scroll; Alt-1..9 and Ctrl-N/P switch windows (as /win N); Ctrl-L redraws;
 * Ctrl-C, or Ctrl-D on an empty line, quits.
 *
 * On the way out the screen is given back and the conversation printed on
 * the normal screen (every window, the current one last), so /quit or an
 * error does not take it away; what chatc said while ending goes to stderr.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "fe.h"
#include "screen.h"

#define UI_WINS		CHATC_UI_WINS
#define UI_EPILOGUE	(64 * 1024)	/* what chatc said while ending, for stderr */
#define UI_OUTBOX	(ED_MAX + ED_MAX / 8 + 64)	/* lines for the core, "\n" between */
#define UI_NAMES	64		/* nicks kept per window, for Tab */
#define UI_CMD_MAX	(MSG_MAX + 64)	/* a command line longer than this is kept, not sent */

enum ui_confirm {
	UC_NONE = 0,
	UC_LINES,	/* several lines (a paste) */
	UC_LONG,	/* one line longer than a message */
};

struct ui_win {
	int		 w_used;
	char		 w_name[ESC_MAX(64) + 1];
	struct sb	 w_sb;
	/* The view: follow the end, or the bottom screen row is row w_row of line w_line. */
	int		 w_follow;
	uint64_t	 w_line;
	size_t		 w_row;
	unsigned int	 w_new;		/* lines added below the view */
	int		 w_act;		/* 0, 1 new lines, 2 a mention (other windows) */
	char		 w_peers[1024];	/* the status line's part for this room */
	char		 w_link[160];
	char		 w_names[UI_NAMES][NICK_MAX + 1];
	size_t		 w_nnames;
};

struct ui {
	struct vt	 u_t;
	struct edit	 u_ed;
	char		 u_nick[NICK_MAX + 1];
	struct ui_win	 u_w[UI_WINS];
	size_t		 u_cur;		/* the window shown */
	int		 u_confirm;	/* enum ui_confirm */
	size_t		 u_confirm_n;	/* messages it would send */
	int		 u_last_tab;	/* the last key was Tab: the next cycles */
	size_t		 u_tab_from;	/* where the word being completed starts */
	size_t		 u_tab_i;	/* the match shown */
	char		 u_tab_word[64];
	char		 u_note[EV_LINE_MAX + 8];	/* the last routine event */
	char		 u_outbox[UI_OUTBOX];
	size_t		 u_outlen;
	size_t		 u_outpos;
	uint8_t		 u_line[UI_CMD_MAX + 2];	/* the line handed out by ui_line */
	char		 u_text[ESC_MAX(MSG_MAX)];	/* a peer's text, escaped */
	char		 u_epi[UI_EPILOGUE];
	size_t		 u_epilen;
	struct lay_row	 u_rows[LAY_MAX];
};

static struct ui g_ui;

static const struct tstyle st_plain = { 0, 0, 0, 0, 0, 0 };
static const struct tstyle st_dim = { 0, 0, 0, 1, 0, 0 };
static const struct tstyle st_status = { 0, 0, 0, 0, 1, 0 };

/* ---- lines: what each kind looks like ---- */

static uint8_t
ui_nick_colour(const char *who)
{
	uint32_t h = 2166136261u;

	for (; *who != '\0'; who++)
		h = (h ^ (unsigned char)*who) * 16777619u;
	return (uint8_t)(1 + h % 6);	/* red .. cyan */
}

/* The tag between the time and the text ("<bob> ", "!! "), its style, the text's style. */
static void
ui_tag(const struct ui *u, const struct sb_line *l, char *tag, size_t cap,
    struct tstyle *ts, struct tstyle *xs)
{
	const char *who = SB_WHO(l);
	char mark[SB_MARK_LEN + 2];

	sb_mark(l, mark);
	if (mark[0] != '\0')
		strcat(mark, " ");
	*ts = st_plain;
	*xs = st_plain;
	switch (l->sl_kind) {
	case UI_MSG:
		snprintf(tag, cap, "<%s> ", who);
		ts->ts_fg = ui_nick_colour(who);
		ts->ts_bold = 1;
		if (l->sl_flags & SL_MENTION) {
			ts->ts_rev = 1;
			xs->ts_bold = 1;
		}
		break;
	case UI_MINE:
		snprintf(tag, cap, "<%s> %s", u->u_nick, mark);
		ts->ts_bold = 1;
		break;
	case UI_ACTION:
		snprintf(tag, cap, "* %s ", who);
		ts->ts_fg = ui_nick_colour(who);
		if (l->sl_flags & SL_MENTION)
			ts->ts_rev = 1;
		break;
	case UI_MINE_ACTION:
		snprintf(tag, cap, "* %s %s", u->u_nick, mark);
		ts->ts_bold = 1;
		break;
	case UI_PRIV_IN:
		snprintf(tag, cap, "[%s -> you] ", who);
		ts->ts_fg = 5;
		ts->ts_bold = 1;
		break;
	case UI_PRIV_OUT:
		snprintf(tag, cap, "[you -> %s] %s", who, mark);
		ts->ts_fg = 5;
		ts->ts_bold = 1;
		break;
	case UI_SECURE:
		snprintf(tag, cap, "** %s ", who);
		ts->ts_fg = xs->ts_fg = 2;
		break;
	case UI_LEFT:
		snprintf(tag, cap, "<- %s ", who);
		*ts = *xs = st_dim;
		break;
	case UI_HELD:
		snprintf(tag, cap, "<%s> (held until a session is secure) ", u->u_nick);
		*ts = *xs = st_dim;
		break;
	case UI_INFO:
		snprintf(tag, cap, "-- ");
		ts->ts_fg = xs->ts_fg = 6;
		break;
	case UI_WARN:
		snprintf(tag, cap, "!! ");
		ts->ts_fg = xs->ts_fg = 3;
		break;
	default:		/* UI_ALERT, UI_ERROR: loud */
		snprintf(tag, cap, "!!! ");
		ts->ts_fg = 7;
		ts->ts_bg = 1;
		ts->ts_bold = 1;
		xs->ts_bold = 1;
		break;
	}
	if (l->sl_flags & SL_FOUND)
		ts->ts_ul = 1;
	if (l->sl_flags & SL_OLD) {
		ts->ts_dim = xs->ts_dim = 1;
		ts->ts_rev = 0;
	}
}

static void
ui_stamp(time_t t, char out[8])
{
	struct tm tmv;

	if (localtime_r(&t, &tmv) == NULL)
		memset(&tmv, 0, sizeof(tmv));
	snprintf(out, 8, "%02u:%02u ", (unsigned int)tmv.tm_hour % 24,
	    (unsigned int)tmv.tm_min % 60);
}

/* Columns of the prefix (time and tag), and the indent of the rows after the first. */
static size_t
ui_prefix(const struct ui *u, const struct sb_line *l, char *stamp, char *tag, size_t tagcap,
    struct tstyle *ts, struct tstyle *xs, size_t *indent)
{
	size_t w, cols = (size_t)u->u_t.t_cols;

	ui_stamp(l->sl_time, stamp);
	ui_tag(u, l, tag, tagcap, ts, xs);
	w = 6 + term_width(tag, strlen(tag));
	if (w > cols / 2)
		w = cols / 2;
	*indent = w;
	return w;
}

/* Wraps line l for the window width: rows in u->u_rows; their number. */
static size_t
ui_layout(struct ui *u, const struct sb_line *l)
{
	char stamp[8], tag[ESC_MAX(NICK_MAX) + 32];
	struct tstyle ts, xs;
	size_t indent, first, cols = (size_t)u->u_t.t_cols;

	first = ui_prefix(u, l, stamp, tag, sizeof(tag), &ts, &xs, &indent);
	first = first < cols ? cols - first : 1;
	return lay_wrap(SB_TEXT(l), l->sl_textlen, first, cols - indent, u->u_rows, LAY_MAX);
}

/* Draws row r of line l (laid out in u_rows) at the cursor's row, column 0. */
static void
ui_draw_row(struct ui *u, const struct sb_line *l, size_t r)
{
	struct vt *t = &u->u_t;
	char stamp[8], tag[ESC_MAX(NICK_MAX) + 32];
	struct tstyle ts, xs;
	size_t indent, pw, n, i, cols = (size_t)t->t_cols, used = 0;
	const char *text = SB_TEXT(l);

	pw = ui_prefix(u, l, stamp, tag, sizeof(tag), &ts, &xs, &indent);
	if (r == 0) {
		term_style(t, &st_dim);
		term_puts(t, stamp);
		term_style(t, &ts);
		n = term_fit(tag, strlen(tag), pw > 6 ? pw - 6 : 0);
		term_put(t, tag, n);
		used = 6 + term_width(tag, n);
	} else {
		term_plain(t);
		for (i = 0; i < indent; i++)
			term_put(t, " ", 1);
		used = indent;
	}
	term_style(t, &xs);
	n = u->u_rows[r].lr_to - u->u_rows[r].lr_from;
	n = term_fit(text + u->u_rows[r].lr_from, n, used < cols ? cols - used : 0);
	term_put(t, text + u->u_rows[r].lr_from, n);
	term_plain(t);
	term_clear_eol(t);
}

/* ---- windows and the view ---- */

static struct ui_win *
ui_win(struct ui *u, size_t room)
{
	struct ui_win *w;

	if (room >= UI_WINS)
		room = UI_WINS - 1;
	w = &u->u_w[room];
	if (!w->w_used) {
		w->w_used = 1;
		w->w_follow = 1;
		snprintf(w->w_name, sizeof(w->w_name), "%zu", room + 1);
		snprintf(w->w_peers, sizeof(w->w_peers), "nobody yet");
		snprintf(w->w_link, sizeof(w->w_link), "connecting");
	}
	return w;
}

static int
ui_msg_rows(const struct ui *u)
{
	return u->u_t.t_rows - 2;
}

/* Walks the view (line, row) by delta rows (negative: up); 1 when it hit the end. */
static int
ui_walk(struct ui *u, struct ui_win *w, long delta)
{
	const struct sb_line *l;
	size_t nrows;
	uint64_t first = w->w_sb.sb_first, end = sb_end(&w->w_sb);

	if (w->w_line < first) {
		w->w_line = first;
		w->w_row = 0;
	}
	while (delta < 0) {
		if ((long)w->w_row >= -delta) {
			w->w_row -= (size_t)-delta;
			return 0;
		}
		delta += (long)w->w_row + 1;
		if (w->w_line == first) {
			w->w_row = 0;
			return 0;
		}
		w->w_line--;
		if ((l = sb_get(&w->w_sb, w->w_line)) == NULL)
			return 0;
		w->w_row = ui_layout(u, l) - 1;
	}
	while (delta > 0) {
		if ((l = sb_get(&w->w_sb, w->w_line)) == NULL)
			return 1;
		nrows = ui_layout(u, l);
		if (w->w_row + (size_t)delta < nrows) {
			w->w_row += (size_t)delta;
			return 0;
		}
		delta -= (long)(nrows - w->w_row);
		if (w->w_line + 1 >= end) {
			w->w_row = nrows - 1;
			return 1;
		}
		w->w_line++;
		w->w_row = 0;
	}
	return 0;
}

/* The view's bottom as (line, row): the last row of the last line when following. */
static int
ui_bottom(struct ui *u, struct ui_win *w, uint64_t *line, size_t *row)
{
	const struct sb_line *l;

	if (w->w_sb.sb_n == 0)
		return 0;
	if (w->w_follow || w->w_line < w->w_sb.sb_first || w->w_line >= sb_end(&w->w_sb)) {
		*line = sb_end(&w->w_sb) - 1;
		l = sb_get(&w->w_sb, *line);
		*row = ui_layout(u, l) - 1;
		return 1;
	}
	*line = w->w_line;
	*row = w->w_row;
	return 1;
}

static void
ui_draw_messages(struct ui *u)
{
	struct ui_win *w = ui_win(u, u->u_cur);
	struct vt *t = &u->u_t;
	int rows = ui_msg_rows(u), y;
	const struct sb_line *l;
	uint64_t line;
	size_t row, nrows;

	/* From the bottom row up: line by line, each one's rows in reverse. */
	y = rows - 1;
	if (ui_bottom(u, w, &line, &row)) {
		for (;;) {
			if ((l = sb_get(&w->w_sb, line)) == NULL)
				break;
			nrows = ui_layout(u, l);
			if (row >= nrows)
				row = nrows - 1;
			for (;;) {
				term_move(t, y, 0);
				ui_draw_row(u, l, row);
				if (--y < 0 || row == 0)
					break;
				row--;
			}
			if (y < 0 || line == w->w_sb.sb_first)
				break;
			line--;
			row = SIZE_MAX;
		}
	}
	for (; y >= 0; y--) {
		term_move(t, y, 0);
		term_plain(t);
		term_clear_eol(t);
	}
}

static void
ui_draw_status(struct ui *u)
{
	struct vt *t = &u->u_t;
	struct ui_win *w = ui_win(u, u->u_cur);
	char line[4096], part[160];
	size_t len = 0, i, n, cols = (size_t)t->t_cols, wd;
	int k;

	line[0] = '\0';
	for (i = 0; i < UI_WINS; i++) {
		const struct ui_win *x = &u->u_w[i];

		if (!x->w_used)
			continue;
		if (i == u->u_cur)
			k = snprintf(part, sizeof(part), "[%zu:%s]", i + 1, x->w_name);
		else
			k = snprintf(part, sizeof(part), "%zu:%s%s", i + 1, x->w_name,
			    x->w_act == 2 ? "!" : x->w_act == 1 ? "+" : "");
		if (k > 0 && (size_t)k < sizeof(line) - len - 2) {
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", part);
		}
	}
	k = snprintf(line + len, sizeof(line) - len, " | %s | %s | relay %s", u->u_nick,
	    w->w_peers, w->w_link);
	if (k > 0)
		len += (size_t)k < sizeof(line) - len ? (size_t)k : sizeof(line) - len - 1;
	if (!w->w_follow) {
		if (w->w_new > 0)
			k = snprintf(line + len, sizeof(line) - len, " | -- more, %u new: PgDn --",
			    w->w_new);
		else
			k = snprintf(line + len, sizeof(line) - len, " | -- more: PgDn --");
		if (k > 0)
			len += (size_t)k < sizeof(line) - len ? (size_t)k : sizeof(line) - len - 1;
	}
	if (u->u_note[0] != '\0') {
		k = snprintf(line + len, sizeof(line) - len, " | %s", u->u_note);
		if (k > 0)
			len += (size_t)k < sizeof(line) - len ? (size_t)k : sizeof(line) - len - 1;
	}
	n = term_fit(line, len, cols);
	wd = term_width(line, n);
	term_move(t, t->t_rows - 2, 0);
	term_style(t, &st_status);
	term_put(t, line, n);
	for (; wd < cols; wd++)
		term_put(t, " ", 1);
	term_plain(t);
}

/*
 * The input line, the part around the cursor. Each character is drawn as
 * esc_text shows it (the input holds only printable characters, but an
 * invisible one, a direction mark say, is shown as its escape); a newline
 * of a paste as a reversed arrow.
 */
static void
ui_draw_input(struct ui *u)
{
	static const char nl_mark[] = "\xe2\x86\xb5";	/* U+21B5 */
	struct vt *t = &u->u_t;
	const struct edit *e = &u->u_ed;
	const char *prompt = u->u_confirm != UC_NONE ? "send? " : "> ";
	char one[ESC_MAX(4)];
	size_t width, from, k, w, cols = 0, off, pl = strlen(prompt), used;
	uint32_t cp;

	width = (size_t)t->t_cols - pl - 1;
	from = e->ed_cur;
	/* Back from the cursor over whole characters while they fit. */
	while (from > 0) {
		k = from - 1;
		while (k > 0 && (e->ed_buf[k] & 0xc0) == 0x80)
			k--;
		if (e->ed_buf[k] == '\n')
			w = 1;
		else {
			esc_text(e->ed_buf + k, from - k, one, sizeof(one));
			w = term_width(one, strlen(one));
		}
		if (cols + w > width)
			break;
		cols += w;
		from = k;
	}
	term_move(t, t->t_rows - 1, 0);
	term_style(t, u->u_confirm != UC_NONE ? &st_status : &st_plain);
	term_puts(t, prompt);
	term_plain(t);
	used = 0;
	for (off = from; off < e->ed_len;) {
		if ((k = esc_utf8_next(e->ed_buf + off, e->ed_len - off, &cp)) == 0)
			k = 1;
		if (e->ed_buf[off] == '\n') {
			if (used + 1 > width)
				break;
			term_style(t, &st_status);
			term_put(t, nl_mark, sizeof(nl_mark) - 1);
			term_plain(t);
			used++;
		} else {
			esc_text(e->ed_buf + off, k, one, sizeof(one));
			w = term_width(one, strlen(one));
			if (used + w > width)
				break;
			term_puts(t, one);
			used += w;
		}
		off += k;
	}
	term_clear_eol(t);
	term_move(t, t->t_rows - 1, (int)(pl + cols));
}

static void
ui_redraw(struct ui *u)
{
	struct vt *t = &u->u_t;

	term_cursor(t, 0);
	term_plain(t);
	term_region(t, -1, -1);
	term_clear(t);
	term_region(t, 0, ui_msg_rows(u) - 1);
	ui_draw_messages(u);
	ui_draw_status(u);
	ui_draw_input(u);
	term_cursor(t, 1);
	term_flush(t);
}

/* Status and input again (after the message area changed), and out. */
static void
ui_finish(struct ui *u)
{
	ui_draw_status(u);
	ui_draw_input(u);
	term_cursor(&u->u_t, 1);
	term_flush(&u->u_t);
}

/* A new last line of the shown window: scrolled in at the bottom when following. */
static void
ui_show_new(struct ui *u, struct ui_win *w)
{
	struct vt *t = &u->u_t;
	const struct sb_line *l = sb_get(&w->w_sb, sb_end(&w->w_sb) - 1);
	size_t n, r;
	int bottom = ui_msg_rows(u) - 1;

	if (l == NULL)
		return;
	if (!w->w_follow) {
		w->w_new++;
		ui_finish(u);
		return;
	}
	n = ui_layout(u, l);
	term_cursor(t, 0);
	if (t->t_csr == NULL || n > (size_t)ui_msg_rows(u)) {
		ui_draw_messages(u);
	} else {
		for (r = 0; r < n; r++) {
			term_move(t, bottom, 0);
			if (term_scroll(t) != 0)
				break;
			term_move(t, bottom, 0);
			ui_draw_row(u, l, r);
		}
	}
	ui_finish(u);
}

/*
 * Adds a line to room's window and shows it; n and of: a line of ours
 * (number n, queued for `of` peers) whose delivery mark it carries, or 0.
 */
static void
ui_add_line_mark(struct ui *u, size_t room, int kind, int flags, time_t when,
    const char *who, const char *text, uint32_t n, unsigned int of)
{
	struct ui_win *w = ui_win(u, room);
	struct sb_line *l;

	if (sb_add(&w->w_sb, kind, flags, when, who, text) != 0)
		return;
	if (n != 0 && of > 0 && (l = sb_last(&w->w_sb)) != NULL) {
		l->sl_n = n;
		l->sl_of = (uint16_t)(of > UINT16_MAX ? UINT16_MAX : of);
	}
	if (flags & SL_OLD) {
		/* The past: no bell, no activity. */
		if (room == u->u_cur)
			ui_show_new(u, w);
		return;
	}
	if (room != u->u_cur) {
		if (kind == UI_MSG || kind == UI_ACTION || kind == UI_PRIV_IN)
			w->w_act = (flags & SL_MENTION) || kind == UI_PRIV_IN ? 2 :
			    w->w_act > 1 ? 2 : 1;
		if ((flags & SL_MENTION) || kind == UI_PRIV_IN || kind >= UI_ALERT)
			term_bell(&u->u_t);
		ui_finish(u);
		return;
	}
	if ((flags & SL_MENTION) || kind >= UI_ALERT)
		term_bell(&u->u_t);
	ui_show_new(u, w);
}

static void
ui_add_line_at(struct ui *u, size_t room, int kind, int flags, time_t when, const char *who,
    const char *text)
{
	ui_add_line_mark(u, room, kind, flags, when, who, text, 0, 0);
}

/*
 * Line n of ours changed delivery (k of `of` acknowledged it, failed given
 * up): its mark is rewritten, and redrawn if it is on the screen.
 */
static void
ui_remark(struct ui *u, size_t room, uint32_t n, unsigned int k, unsigned int of,
    unsigned int failed)
{
	struct ui_win *w = ui_win(u, room);
	struct sb_line *l;
	uint64_t at, line = 0;
	size_t row = 0, rows;

	if ((l = sb_mine(&w->w_sb, n, &at)) == NULL)
		return;
	l->sl_k = (uint16_t)(k > UINT16_MAX ? UINT16_MAX : k);
	l->sl_of = (uint16_t)(of > UINT16_MAX ? UINT16_MAX : of);
	l->sl_failed = (uint16_t)(failed > UINT16_MAX ? UINT16_MAX : failed);
	if (room != u->u_cur)
		return;
	/* On the screen: between the bottom line and a screenful above it. */
	if (!ui_bottom(u, w, &line, &row))
		return;
	rows = (size_t)ui_msg_rows(u);
	if (at <= line && line - at < rows) {
		ui_draw_messages(u);
		ui_finish(u);
	}
}

static void
ui_add_line(struct ui *u, size_t room, int kind, int flags, const char *who, const char *text)
{
	ui_add_line_at(u, room, kind, flags, time(NULL), who, text);
}

/* ---- opening and closing ---- */

int
ui_open(struct ui **up, const char *nick, int colour, char *why, size_t whylen)
{
	struct ui *u = &g_ui;

	*up = NULL;
	memset(u, 0, sizeof(*u));
	if (term_setup(&u->u_t, STDOUT_FILENO, why, whylen) != 0)
		return VEIL_E_SYSTEM;
	if (!colour)
		u->u_t.t_colors = 0;
	ed_init(&u->u_ed);
	snprintf(u->u_nick, sizeof(u->u_nick), "%s", nick);
	if (term_start(&u->u_t) != 0) {
		snprintf(why, whylen, "cannot put the terminal in raw mode");
		return VEIL_E_SYSTEM;
	}
	(void)ui_win(u, 0);
	*up = u;
	ui_redraw(u);
	ui_add_line(u, 0, UI_INFO, 0, NULL, "type a message and press Enter; /help lists the "
	    "commands, PgUp/PgDn scroll, Tab completes");
	return 0;
}

/* One line of the transcript: as on the screen, unwrapped (the terminal wraps it). */
static void
ui_print_line(struct ui *u, const struct sb_line *l)
{
	struct vt *t = &u->u_t;
	char stamp[8], tag[ESC_MAX(NICK_MAX) + 32];
	struct tstyle ts, xs;
	size_t indent;

	(void)ui_prefix(u, l, stamp, tag, sizeof(tag), &ts, &xs, &indent);
	term_style(t, &st_dim);
	term_puts(t, stamp);
	term_style(t, &ts);
	term_puts(t, tag);
	term_style(t, &xs);
	term_put(t, SB_TEXT(l), l->sl_textlen);
	term_plain(t);
	term_put(t, "\n", 1);
}

/* Every window's lines on the normal screen, the shown one last. */
static void
ui_transcript(struct ui *u)
{
	struct vt *t = &u->u_t;
	const struct sb_line *l;
	size_t i, k, nwin = 0;
	uint64_t n;

	for (i = 0; i < UI_WINS; i++)
		nwin += u->u_w[i].w_used && u->u_w[i].w_sb.sb_n > 0;
	for (k = 0; k <= UI_WINS; k++) {
		/* The shown window last: it stays on the screen. */
		i = k < UI_WINS ? k : u->u_cur;
		if (k < UI_WINS && i == u->u_cur)
			continue;
		if (i >= UI_WINS || !u->u_w[i].w_used || u->u_w[i].w_sb.sb_n == 0)
			continue;
		if (nwin > 1) {
			term_style(t, &st_status);
			term_puts(t, "-- ");
			term_puts(t, u->u_w[i].w_name);
			term_puts(t, " --");
			term_plain(t);
			term_put(t, "\n", 1);
		}
		for (n = u->u_w[i].w_sb.sb_first; n < sb_end(&u->u_w[i].w_sb); n++) {
			l = sb_get(&u->u_w[i].w_sb, n);
			/* Said while ending: stderr has it. A /lastlog copy: a repeat. */
			if (l != NULL && !(l->sl_flags & (SL_FINAL | SL_FOUND)))
				ui_print_line(u, l);
		}
	}
	term_flush(t);
}

void
ui_close(struct ui *u)
{
	size_t i;

	if (u == NULL || !u->u_t.t_raw)
		return;
	term_end(&u->u_t);
	ui_transcript(u);
	for (i = 0; i < UI_WINS; i++)
		sb_clear(&u->u_w[i].w_sb);
	ed_free(&u->u_ed);
	OPENSSL_cleanse(u->u_outbox, sizeof(u->u_outbox));
	OPENSSL_cleanse(u->u_line, sizeof(u->u_line));
	/* What chatc said while ending: on stderr, after the transcript. */
	(void)chatc_write_all(STDERR_FILENO, u->u_epi, u->u_epilen);
	u->u_epilen = 0;
	term_free(&u->u_t);
}

void
ui_resize(struct ui *u)
{
	if (u == NULL || !u->u_t.t_raw)
		return;
	term_size(&u->u_t);
	ui_redraw(u);
}

/* Keeps "chatc: text" for stderr once the screen is closed. */
static void
ui_epilogue(struct ui *u, const char *text)
{
	size_t n = strlen(text);

	if (UI_EPILOGUE - u->u_epilen < n + 8)
		return;
	memcpy(u->u_epi + u->u_epilen, "chatc: ", 7);
	memcpy(u->u_epi + u->u_epilen + 7, text, n);
	u->u_epi[u->u_epilen + 7 + n] = '\n';
	u->u_epilen += n + 8;
}

/* ---- events ---- */

/* A room's status: its part of the status line, and the nicks for Tab. */
static void
ui_show_status(struct ui *u, size_t room, const struct ev_status *st)
{
	struct ui_win *w = ui_win(u, room);
	char one[PEER_NAME_MAX + 32];
	size_t i, len = 0;
	int n;

	if (st->st_room[0] != '\0')
		snprintf(w->w_name, sizeof(w->w_name), "%s", st->st_room);
	w->w_peers[0] = '\0';
	w->w_nnames = 0;
	for (i = 0; i < st->st_npeers; i++) {
		const struct ev_peer *ep = &st->st_peers[i];

		switch (ep->ep_state) {
		case EVP_SECURE:
			n = snprintf(one, sizeof(one), "%s%s(%s)", len ? " " : "", ep->ep_name,
			    chatc_trust_name(ep->ep_trust));
			/* A nick is one word of safe characters: it completes as it is. */
			if (w->w_nnames < UI_NAMES && strncmp(ep->ep_name, "member ", 7) != 0)
				snprintf(w->w_names[w->w_nnames++], NICK_MAX + 1, "%s",
				    ep->ep_name);
			break;
		case EVP_HS:
			n = snprintf(one, sizeof(one), "%s%s(...)", len ? " " : "", ep->ep_name);
			break;
		case EVP_REFUSED:
			n = snprintf(one, sizeof(one), "%s%s(REFUSED)", len ? " " : "",
			    ep->ep_name);
			break;
		case EVP_IGNORED:
			n = snprintf(one, sizeof(one), "%s%s(ignored)", len ? " " : "",
			    ep->ep_name);
			break;
		default:
			continue;
		}
		if (n < 0 || (size_t)n >= sizeof(w->w_peers) - len)
			break;
		memcpy(w->w_peers + len, one, (size_t)n + 1);
		len += (size_t)n;
	}
	if (st->st_held > 0 && len + 32 < sizeof(w->w_peers))
		len += (size_t)snprintf(w->w_peers + len, sizeof(w->w_peers) - len,
		    "%s%zu held", len ? " | " : "", st->st_held);
	if (st->st_pending > 0 && len + 48 < sizeof(w->w_peers))
		len += (size_t)snprintf(w->w_peers + len, sizeof(w->w_peers) - len,
		    "%s%zu unacknowledged (/status)", len ? " | " : "", st->st_pending);
	if (len == 0)
		snprintf(w->w_peers, sizeof(w->w_peers), "nobody yet");
	switch (st->st_link) {
	case LINK_JOINED:
		snprintf(w->w_link, sizeof(w->w_link), "connected");
		break;
	case LINK_JOINING:
		snprintf(w->w_link, sizeof(w->w_link), "joining");
		break;
	case LINK_RETRYING:
		snprintf(w->w_link, sizeof(w->w_link), "retrying: %s (%u)", st->st_why,
		    st->st_tries);
		break;
	default:
		snprintf(w->w_link, sizeof(w->w_link), "connecting");
		break;
	}
	ui_finish(u);
}

/* /lastlog: the shown window's lines that contain what was asked (ASCII case ignored). */
static void
ui_lastlog(struct ui *u, size_t room, const uint8_t *pat, size_t patlen)
{
	struct ui_win *w = ui_win(u, room);
	char want[ESC_MAX(256)], head[ESC_MAX(256) + 64];
	const struct sb_line *l;
	uint64_t n, end = sb_end(&w->w_sb), found[100];
	size_t nf = 0, wl, i, j, total = 0;

	wl = esc_text(pat, patlen < 256 ? patlen : 256, want, sizeof(want));
	for (n = w->w_sb.sb_first; n < end; n++) {
		l = sb_get(&w->w_sb, n);
		if (l == NULL || (l->sl_flags & SL_FOUND))
			continue;
		for (i = 0; wl > 0 && i + wl <= l->sl_textlen; i++) {
			for (j = 0; j < wl; j++)
				if (tolower((unsigned char)SB_TEXT(l)[i + j]) !=
				    tolower((unsigned char)want[j]))
					break;
			if (j == wl)
				break;
		}
		if (wl > 0 && i + wl > l->sl_textlen)
			continue;
		total++;
		found[nf++ % 100] = n;
	}
	snprintf(head, sizeof(head), "lastlog \"%s\": %zu line(s)%s", want, total,
	    total > 100 ? ", the last 100:" : total > 0 ? ":" : "");
	ui_add_line(u, room, UI_INFO, SL_FOUND, NULL, head);
	/* Copies: the scrollback lines themselves may go before these are read. */
	for (i = nf > 100 ? nf - 100 : 0; i < nf; i++) {
		char copy_who[ESC_MAX(NICK_MAX) + 1], *text;

		if ((l = sb_get(&w->w_sb, found[i % 100])) == NULL)
			continue;
		snprintf(copy_who, sizeof(copy_who), "%s", SB_WHO(l));
		if ((text = strdup(SB_TEXT(l))) == NULL)
			continue;
		if (sb_add(&w->w_sb, l->sl_kind, (l->sl_flags & SL_MENTION) | SL_FOUND,
		    l->sl_time, copy_who, text) == 0 && room == u->u_cur)
			ui_show_new(u, w);
		free(text);
	}
}

static void
ui_focus(struct ui *u, size_t room)
{
	struct ui_win *w;

	if (room >= UI_WINS)
		return;
	w = ui_win(u, room);
	u->u_cur = room;
	w->w_act = 0;
	ui_redraw(u);
}

/* Room room was left: its window goes, the ones after it move down one. */
static void
ui_part(struct ui *u, size_t room)
{
	size_t i;

	if (room >= UI_WINS)
		return;
	sb_clear(&u->u_w[room].w_sb);
	for (i = room; i + 1 < UI_WINS; i++)
		u->u_w[i] = u->u_w[i + 1];
	memset(&u->u_w[UI_WINS - 1], 0, sizeof(u->u_w[UI_WINS - 1]));
	if (u->u_cur > room)
		u->u_cur--;
	if (u->u_cur >= UI_WINS || !u->u_w[u->u_cur].w_used)
		u->u_cur = 0;
	ui_redraw(u);
}

/* Escaped ev_text into u_text ("/me " off an action); 1 when it names us. */
static int
ui_text(struct ui *u, const struct ev *e)
{
	size_t skip = (e->ev_flags & EVF_ACTION) && e->ev_textlen > 4 ? 4 : 0;

	esc_text(e->ev_text + skip, e->ev_textlen - skip, u->u_text, sizeof(u->u_text));
	return sb_mentions(u->u_text, strlen(u->u_text), u->u_nick);
}

void
ui_event(void *arg, const struct ev *e)
{
	struct ui *u = arg;
	char text[FPR_TEXT_LEN + 64], fpr[FPR_TEXT_LEN + 1];
	struct ui_win *w;
	size_t room;
	int fl, kind;

	if (u == NULL || !u->u_t.t_raw)
		return;
	room = e->ev_room < UI_WINS ? e->ev_room : UI_WINS - 1;
	fl = e->ev_final ? SL_FINAL : 0;
	switch (e->ev_kind) {
	case EV_SECURE:
		proto_fpr_format(e->ev_fpr, fpr);
		snprintf(text, sizeof(text), "secure session; fingerprint %s (%s)", fpr,
		    chatc_trust_name(e->ev_trust));
		ui_add_line(u, room, UI_SECURE, fl, e->ev_who, text);
		break;
	case EV_MSG:
		if (ui_text(u, e))
			fl |= SL_MENTION;
		kind = (e->ev_flags & EVF_PRIVATE) ? UI_PRIV_IN :
		    (e->ev_flags & EVF_ACTION) ? UI_ACTION : UI_MSG;
		ui_add_line(u, room, kind, fl, e->ev_who, u->u_text);
		break;
	case EV_MINE:
		(void)ui_text(u, e);
		kind = (e->ev_flags & EVF_PRIVATE) ? UI_PRIV_OUT :
		    (e->ev_flags & EVF_ACTION) ? UI_MINE_ACTION : UI_MINE;
		ui_add_line_mark(u, room, kind, fl, time(NULL), e->ev_who, u->u_text, e->ev_n,
		    e->ev_of);
		break;
	case EV_DELIVERED:
		ui_remark(u, room, e->ev_n, e->ev_k, e->ev_of, e->ev_failed);
		break;
	case EV_UNDELIVERED:
		ui_remark(u, room, e->ev_n, e->ev_k, e->ev_of, e->ev_failed);
		snprintf(u->u_text, sizeof(u->u_text), "line %u not delivered to %s (%s)",
		    (unsigned int)e->ev_n, e->ev_who, e->ev_line);
		ui_add_line(u, room, UI_WARN, fl, NULL, u->u_text);
		if (e->ev_final)
			ui_epilogue(u, u->u_text);
		break;
	case EV_HELD:
		(void)ui_text(u, e);
		ui_add_line(u, room, UI_HELD, fl, NULL, u->u_text);
		break;
	case EV_LEFT:
		ui_add_line(u, room, UI_LEFT, fl, e->ev_who, "left");
		break;
	case EV_INFO:
		ui_add_line(u, room, UI_INFO, fl, NULL, e->ev_line);
		break;
	case EV_WARN:
	case EV_ALERT:
	case EV_ERROR:
		ui_add_line(u, room, e->ev_kind == EV_WARN ? UI_WARN : e->ev_kind == EV_ALERT ?
		    UI_ALERT : UI_ERROR, fl, NULL, e->ev_line);
		if (e->ev_final)
			ui_epilogue(u, e->ev_line);
		break;
	case EV_NOTE:
		ui_stamp(time(NULL), text);
		snprintf(u->u_note, sizeof(u->u_note), "%s%s", text, e->ev_line);
		ui_finish(u);
		break;
	case EV_CLEAR:
		w = ui_win(u, room);
		sb_clear(&w->w_sb);
		w->w_follow = 1;
		w->w_new = 0;
		if (room == u->u_cur)
			ui_redraw(u);
		break;
	case EV_LASTLOG:
		ui_lastlog(u, room, e->ev_text, e->ev_textlen);
		break;
	case EV_FOCUS:
		ui_focus(u, room);
		break;
	case EV_PART:
		ui_part(u, room);
		break;
	case EV_HISTORY:
		(void)ui_text(u, e);
		if (e->ev_flags & EVF_MINE)
			kind = (e->ev_flags & EVF_PRIVATE) ? UI_PRIV_OUT :
			    (e->ev_flags & EVF_ACTION) ? UI_MINE_ACTION : UI_MINE;
		else
			kind = (e->ev_flags & EVF_PRIVATE) ? UI_PRIV_IN :
			    (e->ev_flags & EVF_ACTION) ? UI_ACTION : UI_MSG;
		ui_add_line_at(u, room, kind, fl | SL_OLD, (time_t)e->ev_time, e->ev_who,
		    u->u_text);
		break;
	case EV_STATUS:
		ui_show_status(u, room, e->ev_status);
		break;
	}
}

/* ---- typed lines to the core ---- */

/* Appends one line for the core to the outbox. */
static void
ui_out(struct ui *u, const uint8_t *p, size_t n, int literal)
{
	size_t need = n + 2 + (literal ? 1 : 0);

	if (UI_OUTBOX - u->u_outlen < need)
		return;		/* cannot happen: the outbox holds a whole input line and more */
	if (literal && n > 0 && p[0] == '/')
		u->u_outbox[u->u_outlen++] = '/';
	memcpy(u->u_outbox + u->u_outlen, p, n);
	u->u_outlen += n;
	u->u_outbox[u->u_outlen++] = '\n';
}

/*
 * Where a text longer than a message is cut: at the last space within
 * MSG_MAX bytes (*skip = 1: that space goes), else after the last whole
 * character that fits.
 */
static size_t
ui_cut(const uint8_t *p, size_t n, size_t *skip)
{
	size_t k;

	*skip = 0;
	if (n <= MSG_MAX)
		return n;
	for (k = MSG_MAX; k > MSG_MAX / 2; k--)
		if (p[k] == ' ') {
			*skip = 1;
			return k;
		}
	k = MSG_MAX;
	while (k > 0 && (p[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* Messages one line of text makes. */
static size_t
ui_count_parts(const uint8_t *p, size_t n)
{
	size_t parts = 0, k, skip;

	do {
		k = ui_cut(p, n, &skip);
		p += k + skip;
		n -= k + skip;
		parts++;
	} while (n > 0);
	return parts;
}

/* A command (not "//"): the core's to read, whole. */
static int
ui_is_cmd(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == '/' && !(n > 1 && p[1] == '/');
}

/* "/join veil:..." (any case, any spaces): a command that carries a room's secret. */
static int
ui_is_join_code(const uint8_t *p, size_t n)
{
	static const char join[] = "/join", code[] = "veil:";
	size_t i = sizeof(join) - 1;

	if (n <= i || strncasecmp((const char *)p, join, i) != 0 || p[i] != ' ')
		return 0;
	while (i < n && p[i] == ' ')
		i++;
	return n - i >= sizeof(code) - 1 && memcmp(p + i, code, sizeof(code) - 1) == 0;
}

/* The input goes out: each line a message (split when long), or one command. */
static void
ui_submit(struct ui *u)
{
	struct edit *e = &u->u_ed;
	const uint8_t *p = e->ed_buf, *nl;
	size_t n = e->ed_len, len, k, skip, nlines = 0;
	int multi = memchr(p, '\n', n) != NULL;

	if (!multi && ui_is_cmd(p, n)) {
		ui_out(u, p, n, 0);
		/* An invite code is the room's secret: not kept for Up. */
		if (!ui_is_join_code(p, n))
			ed_remember(e, p, n);
		ed_reset(e);
		return;
	}
	ed_remember(e, p, n);
	while (n > 0 || nlines == 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		nlines++;
		/* "//x" typed on one line means "/x": the user's own escape. */
		if (!multi && len >= 2 && p[0] == '/' && p[1] == '/') {
			p++;
			len--;
			n--;
		}
		while (len > 0) {
			k = ui_cut(p, len, &skip);
			ui_out(u, p, k, 1);
			p += k + skip;
			n -= k + skip;
			len -= k + skip;
		}
		if (nl == NULL)
			break;
		p++;
		n--;
	}
	ed_reset(e);
}

/* Enter: at once, or after saying what a second Enter will send. */
static void
ui_enter(struct ui *u)
{
	struct edit *e = &u->u_ed;
	const uint8_t *p = e->ed_buf, *nl;
	size_t n = e->ed_len, msgs = 0, lines = 0, len;
	char say[160];

	if (u->u_confirm != UC_NONE) {
		u->u_confirm = UC_NONE;
		ui_submit(u);
		return;
	}
	if (n == 0)
		return;
	if (memchr(p, '\n', n) == NULL && ui_is_cmd(p, n)) {
		if (n > UI_CMD_MAX) {
			ui_add_line(u, u->u_cur, UI_WARN, 0, NULL, "that command is too long; "
			    "it is still in the input line");
			return;
		}
		ui_submit(u);
		return;
	}
	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		msgs += len > 0 ? ui_count_parts(p, len) : 0;
		lines++;
		if (nl == NULL)
			break;
		p = nl + 1;
		n -= len + 1;
	}
	if (lines > 1) {
		snprintf(say, sizeof(say), "%zu lines: Enter sends them as %zu message%s; any "
		    "other key goes back to editing", lines, msgs, msgs == 1 ? "" : "s");
		u->u_confirm = UC_LINES;
	} else if (msgs > 1) {
		snprintf(say, sizeof(say), "that line is %zu bytes, more than a message holds "
		    "(%d): Enter sends it as %zu messages; any other key goes back to editing",
		    e->ed_len, MSG_MAX, msgs);
		u->u_confirm = UC_LONG;
	} else {
		ui_submit(u);
		return;
	}
	u->u_confirm_n = msgs;
	ui_add_line(u, u->u_cur, UI_INFO, 0, NULL, say);
}

int
ui_line(struct ui *u, const uint8_t **line, size_t *len)
{
	const char *p, *nl;
	size_t n;

	*line = NULL;
	*len = 0;
	if (u == NULL || u->u_outpos >= u->u_outlen) {
		if (u != NULL) {
			OPENSSL_cleanse(u->u_outbox, u->u_outlen);
			u->u_outlen = u->u_outpos = 0;
		}
		return 0;
	}
	p = u->u_outbox + u->u_outpos;
	nl = memchr(p, '\n', u->u_outlen - u->u_outpos);
	n = nl != NULL ? (size_t)(nl - p) : u->u_outlen - u->u_outpos;
	if (n > sizeof(u->u_line))
		n = sizeof(u->u_line);
	OPENSSL_cleanse(u->u_line, sizeof(u->u_line));
	memcpy(u->u_line, p, n);
	u->u_outpos += n + 1;
	*line = u->u_line;
	*len = n;
	return 1;
}

int
ui_pending(const struct ui *u)
{
	return u != NULL && u->u_outpos < u->u_outlen;
}

/* ---- keys ---- */

static void ui_command(struct ui *, const char *, ...) __attribute__((format(printf, 2, 3)));

/* A line for the core that the screen makes from a key (Alt-2: "/win 2"). */
static void
ui_command(struct ui *u, const char *fmt, ...)
{
	char cmd[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(cmd))
		ui_out(u, (const uint8_t *)cmd, (size_t)n, 0);
}

static void
ui_scroll(struct ui *u, int up)
{
	struct ui_win *w = ui_win(u, u->u_cur);
	long page = ui_msg_rows(u) - 1;
	uint64_t line, minl;
	size_t row, minr;

	if (page < 1)
		page = 1;
	if (!ui_bottom(u, w, &line, &row))
		return;
	/* The highest the bottom may go: the first line's first row at the top. */
	w->w_line = w->w_sb.sb_first;
	w->w_row = 0;
	if (ui_walk(u, w, (long)ui_msg_rows(u) - 1)) {
		w->w_follow = 1;	/* it all fits: nothing to scroll */
		ui_redraw(u);
		return;
	}
	minl = w->w_line;
	minr = w->w_row;
	w->w_line = line;
	w->w_row = row;
	if (up) {
		(void)ui_walk(u, w, -page);
		if (w->w_line < minl || (w->w_line == minl && w->w_row < minr)) {
			w->w_line = minl;
			w->w_row = minr;
		}
		w->w_follow = 0;
	} else if (!w->w_follow && ui_walk(u, w, page)) {
		w->w_follow = 1;
		w->w_new = 0;
	}
	ui_redraw(u);
}

/* Tab: the next command (at the start of the line) or nick matching the word. */
static void
ui_complete(struct ui *u)
{
	struct edit *e = &u->u_ed;
	struct ui_win *w = ui_win(u, u->u_cur);
	const char *cands[UI_NAMES + 64], *c;
	char repl[NICK_MAX + 64];
	size_t from, wl, nc = 0, i, tries;
	int cmd;

	if (!u->u_last_tab) {
		from = ed_word_start(e);
		wl = e->ed_cur - from;
		if (wl >= sizeof(u->u_tab_word))
			return;
		memcpy(u->u_tab_word, e->ed_buf + from, wl);
		u->u_tab_word[wl] = '\0';
		u->u_tab_from = from;
		u->u_tab_i = SIZE_MAX;
	}
	from = u->u_tab_from;
	wl = strlen(u->u_tab_word);
	cmd = from == 0 && wl > 0 && u->u_tab_word[0] == '/';
	if (cmd) {
		for (i = 0; (c = chatc_cmd_name(i)) != NULL && nc < 64; i++)
			cands[nc++] = c;
	} else
		for (i = 0; i < w->w_nnames; i++)
			cands[nc++] = w->w_names[i];
	for (tries = 0; tries < nc; tries++) {
		u->u_tab_i = u->u_tab_i == SIZE_MAX ? 0 : (u->u_tab_i + 1) % nc;
		c = cands[u->u_tab_i];
		if (strncasecmp(c, u->u_tab_word + cmd, wl - (size_t)cmd) != 0)
			continue;
		if (cmd)
			snprintf(repl, sizeof(repl), "/%s ", c);
		else
			snprintf(repl, sizeof(repl), "%s%s", c, from == 0 ? ": " : " ");
		/* The text after the word stays; the word and what Tab added before go. */
		(void)ed_replace(e, from, (const uint8_t *)repl, strlen(repl));
		u->u_last_tab = 1;
		return;
	}
	term_bell(&u->u_t);
}

int
ui_key(struct ui *u, uint8_t c)
{
	struct edit *e = &u->u_ed;
	struct key k;
	size_t lost;
	char say[96];
	int was_tab;

	if (!ed_key(e, c, &k))
		return UIK_NONE;
	was_tab = u->u_last_tab;
	u->u_last_tab = 0;
	if (u->u_confirm != UC_NONE && k.k_kind != K_ENTER) {
		/* Not confirmed: the text stays for editing; the key does what it does. */
		u->u_confirm = UC_NONE;
		ui_add_line(u, u->u_cur, UI_INFO, 0, NULL, "not sent; still in the input line");
	}
	switch (k.k_kind) {
	case K_TEXT:
		if (ed_insert(e, k.k_text, k.k_len) != 0)
			term_bell(&u->u_t);
		break;
	case K_PASTE:
		if ((lost = ed_paste_insert(e)) > 0) {
			snprintf(say, sizeof(say), "the input line is full: %zu byte(s) of the "
			    "paste did not fit and were left out", lost);
			ui_add_line(u, u->u_cur, UI_WARN, 0, NULL, say);
		}
		break;
	case K_ENTER:
		ui_enter(u);
		break;
	case K_TAB:
		u->u_last_tab = was_tab;
		ui_complete(u);
		break;
	case K_CTRL_C:
		return UIK_QUIT;
	case K_CTRL_D:
		if (e->ed_len == 0)
			return UIK_QUIT;
		(void)ed_apply(e, &k);
		break;
	case K_PGUP:
	case K_PGDN:
		ui_scroll(u, k.k_kind == K_PGUP);
		return UIK_NONE;
	case K_WINDOW:
		ui_command(u, "/win %d", k.k_n);
		break;
	case K_WIN_NEXT:
		ui_command(u, "/win next");
		break;
	case K_WIN_PREV:
		ui_command(u, "/win prev");
		break;
	case K_REDRAW:
		ui_redraw(u);
		return UIK_NONE;
	default:
		if (ed_apply(e, &k) < 0)
			term_bell(&u->u_t);
		break;
	}
	ui_draw_input(u);
	term_flush(&u->u_t);
	return ui_pending(u) ? UIK_LINE : UIK_NONE;
}
