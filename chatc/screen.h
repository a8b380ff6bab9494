/* SPDX-License-Identifier: ISC */
#ifndef VEIL_SCREEN_H
#define VEIL_SCREEN_H

#include <termios.h>
#include <time.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The parts of chatc's screen (ui.c): the terminal (term.c), the lines a
 * window keeps and how they wrap (sb.c), the line editor and its keys
 * (edit.c). None of them sees an event, a room or a peer: ui.c turns events
 * into lines (every peer byte escaped first, fe.h) and keys into actions.
 */

/* ---- the terminal (term.c) ---- */

#define TERM_OUT_MAX	(64 * 1024)

/* What a stretch of text looks like; colours are 1..7 (ANSI order), 0 none. */
struct tstyle {
	uint8_t		 ts_fg;
	uint8_t		 ts_bg;
	uint8_t		 ts_bold;
	uint8_t		 ts_dim;
	uint8_t		 ts_rev;
	uint8_t		 ts_ul;
};

struct vt {
	int		 t_fd;		/* output: stdout */
	int		 t_rows;
	int		 t_cols;
	int		 t_colors;	/* 0 when NO_COLOR is set or the terminal has none */
	/* terminfo strings, read by setupterm before the sandbox; NULL when absent */
	const char	*t_cup;		/* cursor_address */
	const char	*t_csr;		/* change_scroll_region */
	const char	*t_ind;		/* scroll_forward */
	const char	*t_el;		/* clr_eol */
	const char	*t_clear;	/* clear_screen */
	const char	*t_sgr0;
	const char	*t_bold;
	const char	*t_dim;
	const char	*t_rev;
	const char	*t_smul;
	const char	*t_setaf;
	const char	*t_setab;
	const char	*t_smcup;	/* the alternate screen */
	const char	*t_rmcup;
	const char	*t_bel;
	const char	*t_civis;	/* cursor off while drawing */
	const char	*t_cnorm;
	struct termios	 t_saved;
	int		 t_raw;
	char		 t_out[TERM_OUT_MAX];
	size_t		 t_outlen;
};

/*
 * Reads the terminal's description for $TERM (terminfo, through libtinfo;
 * files are read here, before the sandbox, and never again) and the
 * window size. Honours NO_COLOR. 0, or -1 with a sentence in why: no TERM,
 * an unknown one, or a terminal that cannot address the cursor.
 */
int	term_setup(struct vt *t, int fd, char *why, size_t whylen);
/* Raw input on stdin; the alternate screen, bracketed paste on. 0 or -1. */
int	term_start(struct vt *t);
/* Everything back as it was (safe twice). */
void	term_end(struct vt *t);
/* Once nothing more is drawn: what setupterm allocated is freed. */
void	term_free(struct vt *t);
/* Re-reads the window size (at least 4 x 20). */
void	term_size(struct vt *t);
void	term_put(struct vt *t, const char *s, size_t n);
void	term_puts(struct vt *t, const char *s);
void	term_flush(struct vt *t);
/* Cursor to row, col (0-based). */
void	term_move(struct vt *t, int row, int col);
/* Scrolling region rows top..bottom (0-based, inclusive); -1, -1: whole screen. */
void	term_region(struct vt *t, int top, int bottom);
/* Scrolls the region up one row (cursor on its bottom row). 0, or -1 when the terminal cannot. */
int	term_scroll(struct vt *t);
void	term_clear_eol(struct vt *t);
void	term_clear(struct vt *t);
void	term_style(struct vt *t, const struct tstyle *st);
void	term_plain(struct vt *t);
void	term_bell(struct vt *t);
void	term_cursor(struct vt *t, int on);

/* Terminal columns of a code point (wide characters take two, controls one). */
size_t	term_cp_width(uint32_t cp);
/* Columns len bytes of UTF-8 take. */
size_t	term_width(const char *s, size_t len);
/* Bytes of the longest prefix of s (whole characters) within maxcols columns. */
size_t	term_fit(const char *s, size_t len, size_t maxcols);

/* ---- the lines a window keeps (sb.c) ---- */

#define SB_MAX		2000	/* lines per window */
#define LAY_MAX		4096	/* rows one line may take */

enum sl_flag {
	SL_MENTION	= 0x01,	/* names us: highlighted */
	SL_FINAL	= 0x02,	/* said while chatc was ending: goes to stderr instead */
	SL_FOUND	= 0x04,	/* a copy shown by /lastlog */
	SL_OLD		= 0x08,	/* from the local history: dimmed */
};

struct sb_line {
	time_t		 sl_time;
	uint8_t		 sl_kind;	/* enum ui_kind (fe.h) */
	uint8_t		 sl_flags;
	uint16_t	 sl_wholen;
	uint32_t	 sl_textlen;
	/*
	 * A line of ours this run: its number (DESIGN.md n; 0: not one) and
	 * its delivery (PROTOCOL.md 2.8): k of the `of` peers it was queued
	 * for acknowledged it, `failed` were given up. The mark shows them.
	 */
	uint32_t	 sl_n;
	uint16_t	 sl_k;
	uint16_t	 sl_of;
	uint16_t	 sl_failed;
	char		 sl_data[];	/* who (escaped), NUL, text (escaped), NUL */
};

struct sb {
	struct sb_line	*sb_l[SB_MAX];	/* a ring, oldest at sb_head */
	size_t		 sb_head;
	size_t		 sb_n;
	uint64_t	 sb_first;	/* number of the oldest line kept (lines ever added - sb_n) */
};

/* Adds a line (copies who and text, both already escaped). 0 or -1 (out of memory). */
int	sb_add(struct sb *b, int kind, int flags, time_t when, const char *who,
	    const char *text);
/* Line number n (sb_first <= n < sb_first + sb_n), or NULL. */
const struct sb_line *sb_get(const struct sb *b, uint64_t n);
/* One past the newest line's number. */
uint64_t sb_end(const struct sb *b);
/* The newest line, or NULL. */
struct sb_line *sb_last(struct sb *b);
/* The newest line of ours numbered n (sl_n), and its place in *at; or NULL. */
struct sb_line *sb_mine(struct sb *b, uint32_t n, uint64_t *at);
#define SB_MARK_LEN	9	/* "[pending]", "[ 2/3   ]", "[  all  ]", "[  1/3 !]" */
/*
 * The delivery mark of line l (SB_MARK_LEN characters and a NUL into out),
 * or "" when l is not a line of ours this run.
 */
void	sb_mark(const struct sb_line *l, char out[static SB_MARK_LEN + 1]);
/* Forgets every line. */
void	sb_clear(struct sb *b);
#define SB_WHO(l)	((l)->sl_data)
#define SB_TEXT(l)	((l)->sl_data + (l)->sl_wholen + 1)

/* One row of a wrapped line: bytes [lr_from, lr_to) of its text. */
struct lay_row {
	uint32_t	 lr_from;
	uint32_t	 lr_to;
};

/*
 * Wraps text (len bytes of printable UTF-8) into rows: first columns on the
 * first row, cols on the others; breaks after a space where it can, inside a
 * word only when the word is longer than a row. Spaces at a break are
 * dropped. Returns the number of rows (>= 1; at most max, the rest cut).
 */
size_t	lay_wrap(const char *text, size_t len, size_t first, size_t cols,
	    struct lay_row *rows, size_t max);

/* 1 when text names nick as a word (ASCII, case ignored). */
int	sb_mentions(const char *text, size_t len, const char *nick);

/* ---- the line editor (edit.c) ---- */

#define ED_MAX		(64 * 1024)	/* bytes of input: a paste of 16 messages */
#define ED_HIST		200		/* lines remembered for Up/Down */
#define ED_HIST_LINE	8192		/* longer lines are not remembered */

enum key_kind {
	K_NONE = 0,
	K_TEXT,		/* k_text[0..k_len): one typed character (UTF-8) */
	K_PASTE,	/* a bracketed paste ended: ed_paste_take gives it */
	K_ENTER,
	K_TAB,
	K_BACKSPACE,
	K_DELETE,
	K_LEFT,
	K_RIGHT,
	K_UP,
	K_DOWN,
	K_HOME,
	K_END,
	K_PGUP,
	K_PGDN,
	K_WORD_LEFT,	/* Alt-B, Ctrl-Left, Alt-Left */
	K_WORD_RIGHT,	/* Alt-F, Ctrl-Right, Alt-Right */
	K_KILL_END,	/* Ctrl-K */
	K_KILL_START,	/* Ctrl-U */
	K_KILL_WORD,	/* Ctrl-W: the word before the cursor, up to a space */
	K_KILL_WORD_BACK, /* Alt-Backspace: the word before, up to punctuation */
	K_KILL_WORD_FWD, /* Alt-D */
	K_YANK,		/* Ctrl-Y */
	K_CTRL_D,
	K_CTRL_C,
	K_REDRAW,	/* Ctrl-L */
	K_WINDOW,	/* Alt-1..9, Alt-0: k_n = 1..10 */
	K_WIN_NEXT,	/* Ctrl-N */
	K_WIN_PREV,	/* Ctrl-P */
};

struct key {
	int		 k_kind;
	int		 k_n;
	uint8_t		 k_text[4];
	size_t		 k_len;
};

struct edit {
	uint8_t		 ed_buf[ED_MAX];
	size_t		 ed_len;
	size_t		 ed_cur;
	uint8_t		 ed_kill[ED_MAX];
	size_t		 ed_killlen;
	/* history: oldest at ed_hhead; ed_hpos == ed_hn while editing a new line */
	char		*ed_hist[ED_HIST];
	size_t		 ed_hhead;
	size_t		 ed_hn;
	size_t		 ed_hpos;
	char		*ed_draft;	/* the new line, kept while going through history */
	/* key decoding */
	int		 ed_esc;	/* 0, 1 after ESC, 2 in CSI, 3 after ESC O */
	char		 ed_csi[16];
	size_t		 ed_csilen;
	uint8_t		 ed_utf[4];
	size_t		 ed_utflen;
	int		 ed_in_paste;
	size_t		 ed_pend;	/* bytes of "\e[201~" matched */
	uint8_t		 ed_paste[ED_MAX];
	uint8_t		 ed_scratch[ED_MAX];	/* the rest of the line while a paste goes in */
	size_t		 ed_pastelen;
	size_t		 ed_pastecut;	/* bytes that did not fit */
};

/* Empties e (history too). */
void	ed_init(struct edit *e);
/* Frees the history and wipes every buffer. */
void	ed_free(struct edit *e);
/* Decodes one input byte: 1 with *k when a key is complete, else 0. */
int	ed_key(struct edit *e, uint8_t c, struct key *k);
/*
 * The paste that just ended, made fit for the input line: CR LF and CR are
 * LF, a tab four spaces, other controls and broken UTF-8 dropped, one final
 * newline dropped. Inserted at the cursor as far as it fits; returns the
 * bytes that did not (dropped, and said so by the caller).
 */
size_t	ed_paste_insert(struct edit *e);
/* Inserts n bytes at the cursor (all or nothing): 0 or -1 when full. */
int	ed_insert(struct edit *e, const uint8_t *p, size_t n);
/* Applies an editing key (moves, deletions, kills, yank, history). 1 if it was one. */
int	ed_apply(struct edit *e, const struct key *k);
/* Remembers line (when not empty, not a repeat of the last, not too long). */
void	ed_remember(struct edit *e, const uint8_t *p, size_t n);
/* Empties the input line (wiped), leaving history. */
void	ed_reset(struct edit *e);
/* Start of the word before the cursor (after the last space). */
size_t	ed_word_start(const struct edit *e);
/* Replaces bytes [from, ed_cur) with p[0..n): 0 or -1 when it would not fit. */
int	ed_replace(struct edit *e, size_t from, const uint8_t *p, size_t n);

#endif
