/* SPDX-License-Identifier: ISC */
/*
 * The interactive screen, termios + ANSI (no curses: no terminfo files to
 * read after the sandbox, and every byte written is ours to check).
 * Layout: a scrolling message area (a scroll region), a status line, and the
 * input line at the bottom. Output never lands on the input line: each new
 * message scrolls the region and the input line is redrawn after it.
 * Everything shown that came from a peer was escaped by the caller.
 * Each line of ours carries a mark of its delivery (PROTOCOL.md 2.8):
 * [pending] until acknowledged, [ k/n   ] while k of the n peers it went
 * to acknowledged it, [  all  ] when all did, a '!' once one was given up;
 * the mark is rewritten in place (and the screen redrawn when it shows).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "fe.h"
#include "err.h"

#define UI_HIST		1000		/* lines kept for redraws */
#define UI_IN_MAX	8192		/* input bytes; over MSG_MAX is refused on Enter */
#define UI_OUT_MAX	(64 * 1024)
#define UI_EPILOGUE	(64 * 1024)	/* what chatc said while ending, for stderr */
#define UI_MARK_LEN	9		/* "[pending]" */
#define UI_MINE_MAX	256		/* our lines whose mark can still change */

struct ui_mine {
	uint32_t	 um_n;		/* the line's number */
	uint64_t	 um_seq;	/* its place in the history (u_hseq when added) */
	size_t		 um_mark;	/* offset of the mark in the history line */
};

struct ui {
	struct termios	 u_saved;
	int		 u_raw;
	int		 u_rows;
	int		 u_cols;
	char		 u_room[ESC_MAX(64)];
	char		 u_nick[NICK_MAX + 1];
	char		 u_peers[1024];
	char		 u_relay[160];
	char		*u_hist[UI_HIST];
	size_t		 u_hhead;
	size_t		 u_hcount;
	uint8_t		 u_in[UI_IN_MAX];
	size_t		 u_inlen;
	size_t		 u_cur;		/* byte offset of the cursor in u_in */
	uint8_t		 u_line[UI_IN_MAX];
	uint8_t		 u_utf[4];	/* a multi-byte character being typed */
	size_t		 u_utflen;
	int		 u_esc;		/* 0, 1 after ESC, 2 in CSI, 3 after ESC O */
	char		 u_csi[8];
	size_t		 u_csilen;
	char		 u_out[UI_OUT_MAX];
	size_t		 u_outlen;
	char		 u_text[ESC_MAX(MSG_MAX)];	/* a peer's text, escaped */
	char		 u_epi[UI_EPILOGUE];
	size_t		 u_epilen;
	uint64_t	 u_hseq;	/* lines added to the history so far */
	struct ui_mine	 u_mine[UI_MINE_MAX];
	size_t		 u_mnext;	/* the slot the next line of ours takes */
	size_t		 u_pending;	/* EV_STATUS: our lines not yet acknowledged */
};

static struct ui g_ui;

static void
ui_flush(struct ui *u)
{
	/* A terminal that is gone (EIO) is noticed on the input side. */
	(void)chatc_write_all(STDOUT_FILENO, u->u_out, u->u_outlen);
	u->u_outlen = 0;
}

static void
ui_put(struct ui *u, const char *s, size_t n)
{
	if (UI_OUT_MAX - u->u_outlen < n)
		ui_flush(u);
	if (n > UI_OUT_MAX) {
		(void)chatc_write_all(STDOUT_FILENO, s, n);
		return;
	}
	memcpy(u->u_out + u->u_outlen, s, n);
	u->u_outlen += n;
}

static void ui_printf(struct ui *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
ui_printf(struct ui *u, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		ui_put(u, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void
ui_winsize(struct ui *u)
{
	struct winsize ws;

	u->u_rows = 24;
	u->u_cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		u->u_rows = ws.ws_row;
		u->u_cols = ws.ws_col;
	}
	if (u->u_rows < 4)
		u->u_rows = 4;
	if (u->u_cols < 20)
		u->u_cols = 20;
}

/* Terminal columns of one code point: wide CJK and emoji take two. */
static size_t
ui_cp_width(uint32_t cp)
{
	int w = wcwidth((wchar_t)cp);

	return w < 0 ? 1 : (size_t)w;
}

/* Columns that len bytes of UTF-8 take (escaped text is plain ASCII). */
static size_t
ui_cols(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0, k, cols = 0;
	uint32_t cp;

	while (off < len) {
		if ((k = esc_utf8_next(p + off, len - off, &cp)) == 0) {
			k = cp;
			cp = 0xfffd;
		}
		cols += ui_cp_width(cp);
		off += k;
	}
	return cols;
}

/* Bytes of the longest prefix of s that fits in maxcols columns. */
static size_t
ui_cut(const char *s, size_t len, size_t maxcols)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0, k, cols = 0, w;
	uint32_t cp;

	while (off < len) {
		if ((k = esc_utf8_next(p + off, len - off, &cp)) == 0) {
			k = cp;
			cp = 0xfffd;
		}
		w = ui_cp_width(cp);
		if (cols + w > maxcols)
			break;
		cols += w;
		off += k;
	}
	return off;
}

static void
ui_draw_status(struct ui *u)
{
	char line[2048];
	size_t n, cols = (size_t)u->u_cols, w;
	int k;

	k = snprintf(line, sizeof(line), " #%s | %s | %s | relay %s", u->u_room, u->u_nick,
	    u->u_peers, u->u_relay);
	n = k < 0 ? 0 : (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1;
	n = ui_cut(line, n, cols);
	w = ui_cols(line, n);
	ui_printf(u, "\x1b[%d;1H\x1b[0m\x1b[7m\x1b[2K", u->u_rows - 1);
	ui_put(u, line, n);
	for (; w < cols; w++)
		ui_put(u, " ", 1);
	ui_put(u, "\x1b[0m", 4);
}

static void
ui_draw_input(struct ui *u)
{
	char vis[ESC_MAX(UI_IN_MAX)];
	const char *in = (const char *)u->u_in;
	size_t width, from, cols = 0, w, k, vlen, nbytes;
	uint32_t cp;

	/*
	 * Only the part around the cursor fits: walk back from the cursor over
	 * whole characters while they fit, then show what fits from there. The
	 * input is valid UTF-8 without controls (ui_key lets nothing else in),
	 * so escaping it changes nothing but is cheap insurance.
	 */
	width = (size_t)u->u_cols - 3;
	from = u->u_cur;
	while (from > 0) {
		k = from - 1;
		while (k > 0 && (u->u_in[k] & 0xc0) == 0x80)
			k--;
		w = esc_utf8_next(u->u_in + k, from - k, &cp) == 0 ? 1 : ui_cp_width(cp);
		if (cols + w > width)
			break;
		cols += w;
		from = k;
	}
	nbytes = ui_cut(in + from, u->u_inlen - from, width);
	vlen = esc_text(u->u_in + from, nbytes, vis, sizeof(vis));
	ui_printf(u, "\x1b[%d;1H\x1b[0m\x1b[2K> ", u->u_rows);
	ui_put(u, vis, ui_cut(vis, vlen, width));
	ui_printf(u, "\x1b[%d;%zuH", u->u_rows, cols + 3);
}

static void
ui_scroll_in(struct ui *u, const char *line)
{
	ui_printf(u, "\x1b[%d;1H\n", u->u_rows - 2);
	ui_put(u, line, strlen(line));
	ui_put(u, "\x1b[0m", 4);
}

static void
ui_redraw(struct ui *u)
{
	size_t i, show, first;

	ui_printf(u, "\x1b[0m\x1b[r\x1b[2J\x1b[1;%dr", u->u_rows - 2);
	show = u->u_hcount < (size_t)u->u_rows ? u->u_hcount : (size_t)u->u_rows;
	first = u->u_hhead + u->u_hcount - show;
	for (i = 0; i < show; i++)
		ui_scroll_in(u, u->u_hist[(first + i) % UI_HIST]);
	ui_draw_status(u);
	ui_draw_input(u);
	ui_flush(u);
}

int
ui_open(struct ui **up, const char *room, const char *nick)
{
	struct ui *u = &g_ui;
	struct termios t;

	memset(u, 0, sizeof(*u));
	*up = NULL;
	if (tcgetattr(STDIN_FILENO, &u->u_saved) == -1)
		return VEIL_E_SYSTEM;
	t = u->u_saved;
	t.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		return VEIL_E_SYSTEM;
	u->u_raw = 1;
	esc_text((const uint8_t *)room, strnlen(room, 64), u->u_room, sizeof(u->u_room));
	snprintf(u->u_nick, sizeof(u->u_nick), "%s", nick);
	snprintf(u->u_peers, sizeof(u->u_peers), "nobody yet");
	snprintf(u->u_relay, sizeof(u->u_relay), "connecting");
	ui_winsize(u);
	ui_put(u, "\x1b[?1049h", 8);
	ui_redraw(u);
	*up = u;
	ui_add(u, UI_INFO, NULL, "type a message and press Enter; /help lists the commands");
	return 0;
}

void
ui_close(struct ui *u)
{
	size_t i;

	if (u == NULL || !u->u_raw)
		return;
	ui_put(u, "\x1b[0m\x1b[r\x1b[?1049l", 15);
	ui_flush(u);
	(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &u->u_saved);
	u->u_raw = 0;
	for (i = 0; i < UI_HIST; i++) {
		free(u->u_hist[i]);
		u->u_hist[i] = NULL;
	}
	memset(u->u_in, 0, sizeof(u->u_in));
	memset(u->u_line, 0, sizeof(u->u_line));
	/* The alternate screen is gone: what chatc said while ending must not be. */
	(void)chatc_write_all(STDERR_FILENO, u->u_epi, u->u_epilen);
	u->u_epilen = 0;
}

static int
ui_nick_colour(const char *who)
{
	uint32_t h = 2166136261u;

	for (; *who != '\0'; who++)
		h = (h ^ (unsigned char)*who) * 16777619u;
	return 31 + (int)(h % 6);
}

/* The mark of a line of ours: k of n acknowledged, failed given up. */
static void
ui_mark(char out[static UI_MARK_LEN + 1], unsigned int k, unsigned int n,
    unsigned int failed)
{
	if (failed > 0)
		snprintf(out, UI_MARK_LEN + 1, "[%3u/%-2u!]", k % 1000, n % 100);
	else if (k == 0)
		snprintf(out, UI_MARK_LEN + 1, "[pending]");
	else if (k >= n)
		snprintf(out, UI_MARK_LEN + 1, "[  all  ]");
	else
		snprintf(out, UI_MARK_LEN + 1, "[%3u/%-3u]", k % 1000, n % 1000);
}

static void ui_add_mark(struct ui *, int, const char *, const char *, const char *,
    size_t *);

void
ui_add(struct ui *u, int kind, const char *who, const char *text)
{
	ui_add_mark(u, kind, who, text, NULL, NULL);
}

/*
 * Adds a line; mark (UI_MARK_LEN characters, UI_MINE only) goes after the
 * nickname, and *markoff (if not NULL) says where, in the history line.
 */
static void
ui_add_mark(struct ui *u, int kind, const char *who, const char *text, const char *dmark,
    size_t *markoff)
{
	char stamp[8], head[ESC_MAX(NICK_MAX) + 64];
	const char *style = "", *mark = "";
	struct tm tmv;
	time_t t = time(NULL);
	size_t len;
	char *line;

	if (u == NULL || !u->u_raw)
		return;
	if (localtime_r(&t, &tmv) == NULL)
		memset(&tmv, 0, sizeof(tmv));
	snprintf(stamp, sizeof(stamp), "%02d:%02d", tmv.tm_hour, tmv.tm_min);
	switch (kind) {
	case UI_MSG:
		snprintf(head, sizeof(head), "\x1b[2m%s\x1b[0m \x1b[1;%dm<%s>\x1b[0m ", stamp,
		    ui_nick_colour(who != NULL ? who : ""), who != NULL ? who : "?");
		break;
	case UI_MINE:
		snprintf(head, sizeof(head), "\x1b[2m%s\x1b[0m \x1b[1m<%s>\x1b[0m %s%s", stamp,
		    u->u_nick, dmark != NULL ? dmark : "", dmark != NULL ? " " : "");
		if (markoff != NULL && dmark != NULL)
			*markoff = strlen(head) - strlen(dmark) - 1;
		break;
	case UI_SECURE:
		style = "\x1b[32m";
		mark = "** ";
		break;
	case UI_LEFT:
		style = "\x1b[2m";
		mark = "<- ";
		break;
	case UI_INFO:
		style = "\x1b[36m";
		mark = "-- ";
		break;
	case UI_WARN:
		style = "\x1b[33m";
		mark = "!! ";
		break;
	default:		/* UI_ALERT, UI_ERROR: loud */
		style = "\x1b[1;97;41m";
		mark = "!!! ";
		ui_put(u, "\a", 1);
		break;
	}
	if (kind != UI_MSG && kind != UI_MINE)
		snprintf(head, sizeof(head), "\x1b[2m%s\x1b[0m %s%s%s%s", stamp, style, mark,
		    who != NULL ? who : "", who != NULL ? " " : "");
	len = strlen(head) + strlen(text) + 1;
	if ((line = malloc(len)) == NULL)
		return;
	snprintf(line, len, "%s%s", head, text);
	if (u->u_hcount == UI_HIST) {
		free(u->u_hist[u->u_hhead]);
		u->u_hist[u->u_hhead] = NULL;
		u->u_hhead = (u->u_hhead + 1) % UI_HIST;
		u->u_hcount--;
	}
	u->u_hist[(u->u_hhead + u->u_hcount) % UI_HIST] = line;
	u->u_hcount++;
	u->u_hseq++;
	ui_scroll_in(u, line);
	ui_draw_status(u);
	ui_draw_input(u);
	ui_flush(u);
}

void
ui_status(struct ui *u, const char *peers, const char *relay)
{
	if (u == NULL || !u->u_raw)
		return;
	snprintf(u->u_peers, sizeof(u->u_peers), "%s", peers);
	snprintf(u->u_relay, sizeof(u->u_relay), "%s", relay);
	ui_draw_status(u);
	ui_draw_input(u);
	ui_flush(u);
}

/* A line of ours (escaped text), number n, queued for `of` peers. */
static void
ui_add_mine(struct ui *u, uint32_t n, unsigned int of, const char *text)
{
	char mark[UI_MARK_LEN + 1];
	struct ui_mine *m;
	size_t off = 0;

	if (u == NULL || !u->u_raw)
		return;
	ui_mark(mark, 0, of, 0);
	ui_add_mark(u, UI_MINE, NULL, text, mark, &off);
	m = &u->u_mine[u->u_mnext];
	u->u_mnext = (u->u_mnext + 1) % UI_MINE_MAX;
	m->um_n = n;
	m->um_seq = u->u_hseq - 1;
	m->um_mark = off;
}

/* Line n's mark changed: rewritten in its history line, redrawn if on the screen. */
static void
ui_remark(struct ui *u, uint32_t n, unsigned int k, unsigned int of, unsigned int failed)
{
	char mark[UI_MARK_LEN + 1], *line;
	uint64_t first;
	size_t i, rows;
	struct ui_mine *m;

	if (u == NULL || !u->u_raw)
		return;
	first = u->u_hseq - u->u_hcount;
	rows = u->u_rows > 2 ? (size_t)u->u_rows - 2 : 0;
	for (i = 0; i < UI_MINE_MAX; i++) {
		m = &u->u_mine[i];
		if (m->um_n != n || m->um_seq < first || m->um_seq >= u->u_hseq)
			continue;
		line = u->u_hist[(u->u_hhead + (size_t)(m->um_seq - first)) % UI_HIST];
		if (line == NULL || strlen(line) < m->um_mark + UI_MARK_LEN)
			return;
		ui_mark(mark, k, of, failed);
		if (memcmp(line + m->um_mark, mark, UI_MARK_LEN) == 0)
			return;
		memcpy(line + m->um_mark, mark, UI_MARK_LEN);
		if (m->um_seq + rows >= u->u_hseq)
			ui_redraw(u);
		return;
	}
}

void
ui_resize(struct ui *u)
{
	if (u == NULL || !u->u_raw)
		return;
	ui_winsize(u);
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

/* The status line from a room's status event. */
static void
ui_show_status(struct ui *u, const struct ev_status *st)
{
	char peers[1024], one[PEER_NAME_MAX + 32], relay[160];
	size_t i, len = 0;
	int n;

	peers[0] = '\0';
	for (i = 0; i < st->st_npeers; i++) {
		const struct ev_peer *ep = &st->st_peers[i];

		switch (ep->ep_state) {
		case EVP_SECURE:
			n = snprintf(one, sizeof(one), "%s%s(%s)", len ? " " : "", ep->ep_name,
			    chatc_trust_name(ep->ep_trust));
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
		if (n < 0 || (size_t)n >= sizeof(peers) - len)
			break;
		memcpy(peers + len, one, (size_t)n + 1);
		len += (size_t)n;
	}
	switch (st->st_link) {
	case LINK_JOINED:
		snprintf(relay, sizeof(relay), "connected");
		break;
	case LINK_JOINING:
		snprintf(relay, sizeof(relay), "joining");
		break;
	case LINK_RETRYING:
		snprintf(relay, sizeof(relay), "retrying: %s (%u)", st->st_why, st->st_tries);
		break;
	default:
		snprintf(relay, sizeof(relay), "connecting");
		break;
	}
	if (st->st_held > 0 && len + 32 < sizeof(peers))
		len += (size_t)snprintf(peers + len, sizeof(peers) - len, "%s%zu held",
		    len ? " | " : "", st->st_held);
	if (st->st_pending > 0 && len + 48 < sizeof(peers))
		len += (size_t)snprintf(peers + len, sizeof(peers) - len,
		    "%s%zu unacknowledged (/status)", len ? " | " : "", st->st_pending);
	ui_status(u, len ? peers : "nobody yet", relay);
}

void
ui_event(void *arg, const struct ev *e)
{
	struct ui *u = arg;
	char text[FPR_TEXT_LEN + 64], fpr[FPR_TEXT_LEN + 1];

	if (u == NULL)
		return;
	switch (e->ev_kind) {
	case EV_SECURE:
		proto_fpr_format(e->ev_fpr, fpr);
		snprintf(text, sizeof(text), "secure session; fingerprint %s (%s)", fpr,
		    chatc_trust_name(e->ev_trust));
		ui_add(u, UI_SECURE, e->ev_who, text);
		break;
	case EV_MSG:
		esc_text(e->ev_text, e->ev_textlen, u->u_text, sizeof(u->u_text));
		ui_add(u, UI_MSG, e->ev_who, u->u_text);
		break;
	case EV_MINE:
		esc_text(e->ev_text, e->ev_textlen, u->u_text, sizeof(u->u_text));
		ui_add_mine(u, e->ev_n, e->ev_of, u->u_text);
		break;
	case EV_DELIVERED:
		ui_remark(u, e->ev_n, e->ev_k, e->ev_of, e->ev_failed);
		break;
	case EV_UNDELIVERED:
		ui_remark(u, e->ev_n, e->ev_k, e->ev_of, e->ev_failed);
		snprintf(u->u_text, sizeof(u->u_text), "line %u not delivered to %s (%s)",
		    (unsigned int)e->ev_n, e->ev_who, e->ev_line);
		ui_add(u, UI_WARN, NULL, u->u_text);
		if (e->ev_final)
			ui_epilogue(u, u->u_text);
		break;
	case EV_HELD:
		ui_add(u, UI_INFO, NULL, "held until a session is secure");
		break;
	case EV_LEFT:
		ui_add(u, UI_LEFT, e->ev_who, "left");
		break;
	case EV_INFO:
		ui_add(u, UI_INFO, NULL, e->ev_line);
		break;
	case EV_WARN:
	case EV_ALERT:
	case EV_ERROR:
		ui_add(u, e->ev_kind == EV_WARN ? UI_WARN : e->ev_kind == EV_ALERT ?
		    UI_ALERT : UI_ERROR, NULL, e->ev_line);
		if (e->ev_final)
			ui_epilogue(u, e->ev_line);
		break;
	case EV_STATUS:
		ui_show_status(u, e->ev_status);
		break;
	}
}

/* ---- line editing ---- */

static size_t
ui_prev_cp(const struct ui *u, size_t off)
{
	if (off == 0 || off > sizeof(u->u_in))
		return 0;
	off--;
	while (off > 0 && (u->u_in[off] & 0xc0) == 0x80)
		off--;
	return off;
}

static size_t
ui_next_cp(const struct ui *u, size_t off)
{
	if (off >= u->u_inlen)
		return u->u_inlen;
	off++;
	while (off < u->u_inlen && (u->u_in[off] & 0xc0) == 0x80)
		off++;
	return off;
}

static void
ui_delete(struct ui *u, size_t from, size_t to)
{
	memmove(u->u_in + from, u->u_in + to, u->u_inlen - to);
	u->u_inlen -= to - from;
	memset(u->u_in + u->u_inlen, 0, to - from);
	if (u->u_cur > to)
		u->u_cur -= to - from;
	else if (u->u_cur > from)
		u->u_cur = from;
}

static void
ui_insert(struct ui *u, const uint8_t *p, size_t n)
{
	if (UI_IN_MAX - u->u_inlen < n) {
		ui_put(u, "\a", 1);
		return;
	}
	memmove(u->u_in + u->u_cur + n, u->u_in + u->u_cur, u->u_inlen - u->u_cur);
	memcpy(u->u_in + u->u_cur, p, n);
	u->u_inlen += n;
	u->u_cur += n;
}

static void
ui_csi(struct ui *u, char final)
{
	if (final == 'C')
		u->u_cur = ui_next_cp(u, u->u_cur);
	else if (final == 'D')
		u->u_cur = ui_prev_cp(u, u->u_cur);
	else if (final == 'H')
		u->u_cur = 0;
	else if (final == 'F')
		u->u_cur = u->u_inlen;
	else if (final == '~' && u->u_csilen == 1) {
		if (u->u_csi[0] == '3' && u->u_cur < u->u_inlen)
			ui_delete(u, u->u_cur, ui_next_cp(u, u->u_cur));
		else if (u->u_csi[0] == '1' || u->u_csi[0] == '7')
			u->u_cur = 0;
		else if (u->u_csi[0] == '4' || u->u_csi[0] == '8')
			u->u_cur = u->u_inlen;
	}
}

int
ui_key(struct ui *u, uint8_t c, const uint8_t **line, size_t *len)
{
	uint32_t cp;
	size_t k;

	*line = NULL;
	*len = 0;
	if (u->u_esc == 1) {
		u->u_esc = c == '[' ? 2 : c == 'O' ? 3 : 0;
		u->u_csilen = 0;
		return UIK_NONE;
	}
	if (u->u_esc == 2) {
		if (c >= 0x40 && c <= 0x7e) {
			u->u_esc = 0;
			ui_csi(u, (char)c);
			goto redraw;
		}
		if (u->u_csilen < sizeof(u->u_csi))
			u->u_csi[u->u_csilen++] = (char)c;
		return UIK_NONE;
	}
	if (u->u_esc == 3) {
		u->u_esc = 0;
		u->u_csilen = 0;
		ui_csi(u, (char)c);
		goto redraw;
	}
	if (c >= 0x80) {
		if (u->u_utflen == 0 && (c & 0xc0) == 0x80)
			return UIK_NONE;	/* stray continuation byte */
		u->u_utf[u->u_utflen++] = c;
		k = esc_utf8_next(u->u_utf, u->u_utflen, &cp);
		if (k == u->u_utflen) {
			ui_insert(u, u->u_utf, k);
			u->u_utflen = 0;
			goto redraw;
		}
		/* Incomplete so far, or invalid: wait, or drop what was typed. */
		if (k == 0 && (cp < u->u_utflen || u->u_utflen == 4))
			u->u_utflen = 0;
		return UIK_NONE;
	}
	u->u_utflen = 0;
	switch (c) {
	case 0x1b:
		u->u_esc = 1;
		return UIK_NONE;
	case 0x03:		/* Ctrl-C */
		return UIK_QUIT;
	case 0x04:		/* Ctrl-D */
		if (u->u_inlen == 0)
			return UIK_QUIT;
		if (u->u_cur < u->u_inlen)
			ui_delete(u, u->u_cur, ui_next_cp(u, u->u_cur));
		break;
	case '\r':
	case '\n':
		memcpy(u->u_line, u->u_in, u->u_inlen);
		*line = u->u_line;
		*len = u->u_inlen;
		memset(u->u_in, 0, u->u_inlen);
		u->u_inlen = u->u_cur = 0;
		ui_draw_input(u);
		ui_flush(u);
		return UIK_LINE;
	case 0x7f:
	case 0x08:
		if (u->u_cur > 0)
			ui_delete(u, ui_prev_cp(u, u->u_cur), u->u_cur);
		break;
	case 0x15:		/* Ctrl-U */
		ui_delete(u, 0, u->u_cur);
		break;
	case 0x17:		/* Ctrl-W */
		k = u->u_cur;
		while (k > 0 && u->u_in[k - 1] == ' ')
			k--;
		while (k > 0 && u->u_in[k - 1] != ' ')
			k--;
		ui_delete(u, k, u->u_cur);
		break;
	case 0x01:
		u->u_cur = 0;
		break;
	case 0x05:
		u->u_cur = u->u_inlen;
		break;
	case 0x02:
		u->u_cur = ui_prev_cp(u, u->u_cur);
		break;
	case 0x06:
		u->u_cur = ui_next_cp(u, u->u_cur);
		break;
	case 0x0c:
		ui_redraw(u);
		return UIK_NONE;
	default:
		if (c < 0x20)
			return UIK_NONE;
		ui_insert(u, &c, 1);
		break;
	}
redraw:
	ui_draw_input(u);
	ui_flush(u);
	return UIK_NONE;
}
