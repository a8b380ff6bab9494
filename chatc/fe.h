/* SPDX-License-Identifier: ISC */
#ifndef VEIL_FE_H
#define VEIL_FE_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "escape.h"
#include "frame.h"

/*
 * chatc's front-ends and the events that feed them. The core (rooms,
 * sessions, keyd calls: client.h) never prints: it hands each event to one
 * front-end, the interactive screen (ui.c) or the --batch writer (batch.c).
 * Nothing here sees a room, a peer or a session: only what an event says.
 * Data flows one way, core -> event -> front-end (irssi's core and fe-text
 * joined by signals; WeeChat's core and gui/).
 */

#define PEER_NAME_MAX	(ESC_MAX(NICK_MAX) + 16)	/* escaped nick, or "member N" */
#define CHATC_UI_WINS	10	/* windows the screen has: Alt-1..9, Alt-0 */
#define EV_LINE_MAX	(16 + ESC_MAX(NICK_MAX) + ESC_MAX(MSG_MAX) + 256)

enum ev_kind {
	EV_SECURE = 1,	/* ev_who, ev_nick, ev_fpr, ev_trust: a session is up */
	EV_MSG,		/* ev_who, ev_nick, ev_text: a peer's message (raw bytes) */
	EV_MINE,	/* ev_text, ev_n, ev_of: a line of ours, queued for ev_of peers */
	EV_HELD,	/* ev_text, ev_n: a line of ours held until a session is secure */
	EV_LEFT,	/* ev_who, ev_nick: a peer we knew left */
	EV_INFO,	/* ev_line: an answer to a command */
	EV_WARN,	/* ev_line: a rejected frame, a gap, a rekey, a line not sent, ... */
	EV_ALERT,	/* ev_line: an identity refused (loud) */
	EV_ERROR,	/* ev_line: fatal; chatc ends */
	EV_NOTE,	/* ev_line: routine (a rekey, a reconnect): the status line, not a warning */
	EV_CLEAR,	/* /clear: the room's window forgets its lines */
	EV_LASTLOG,	/* /lastlog: ev_text (raw, typed by us) to look for in the window */
	EV_FOCUS,	/* the room typed lines go to is ev_room now (/win, /join) */
	EV_PART,	/* we left room ev_room: the rooms after it move down one */
	EV_HISTORY,	/* a line of the local history: ev_time, ev_who (escaped), ev_text, ev_flags */
	EV_STATUS,	/* ev_status: what the status line shows for the room */
	EV_DELIVERED,	/* ev_who, ev_nick, ev_n, ev_k of ev_of: ev_nick acknowledged line ev_n */
	EV_UNDELIVERED,	/* ev_who, ev_nick, ev_n, ev_line (the reason): given up */
};

/* A room's link to its relay, as the status line shows it. */
enum ev_link {
	LINK_CONNECTING = 1,	/* first connect under way */
	LINK_JOINING,		/* connected, JOIN sent */
	LINK_JOINED,
	LINK_RETRYING,		/* waiting to try again: st_why says why */
};

enum ev_peer_state {
	EVP_HS = 1,		/* handshake under way */
	EVP_SECURE,
	EVP_REFUSED,		/* identity refused by keyd */
	EVP_IGNORED,		/* too many bad messages: ignored until it rejoins */
	EVP_DEAD,		/* no session (failed, closed) */
};

struct ev_peer {
	char		 ep_name[PEER_NAME_MAX];	/* escaped */
	int		 ep_state;			/* enum ev_peer_state */
	uint8_t		 ep_trust;			/* EVP_SECURE: enum ipc_trust */
};

struct ev_status {
	char		 st_room[ESC_MAX(64) + 1];	/* the room's name, escaped (cut) */
	int		 st_link;		/* enum ev_link */
	char		 st_why[96];		/* LINK_RETRYING: what the last try met */
	unsigned int	 st_tries;		/* LINK_RETRYING: failed tries in a row */
	size_t		 st_held;		/* lines held for a secure session */
	size_t		 st_pending;		/* our lines not yet acknowledged by all */
	size_t		 st_npeers;
	struct ev_peer	 st_peers[ROOM_SIZE_MAX];
};

/*
 * One event. Pointers are valid during the call only. ev_who and ev_line
 * are safe to print (peer bytes in them are escaped); ev_nick and ev_text
 * are raw, and the front-end escapes them.
 */
/* What kind of message an EV_MSG / EV_MINE is (ev_flags). */
#define EVF_ACTION	0x01	/* "/me does something" */
#define EVF_PRIVATE	0x02	/* for one peer only (/msg); ev_who names the other side */
#define EVF_MINE	0x04	/* EV_HISTORY: a line of ours */

struct ev {
	int			 ev_kind;
	int			 ev_flags;	/* EVF_* for EV_MSG, EV_MINE */
	size_t			 ev_room;	/* which room (index in the client's list) */
	const char		*ev_rname;	/* its name, escaped */
	int			 ev_multi;	/* more than one room was joined in this run */
	int			 ev_final;	/* said while chatc is ending */
	const char		*ev_who;
	const uint8_t		*ev_nick;
	size_t			 ev_nicklen;
	const uint8_t		*ev_fpr;	/* FPR_LEN bytes */
	uint8_t			 ev_trust;
	const uint8_t		*ev_text;
	size_t			 ev_textlen;
	const char		*ev_line;
	const struct ev_status	*ev_status;
	int64_t			 ev_time;	/* EV_HISTORY: when it was said (Unix seconds) */
	uint32_t		 ev_n;		/* EV_MINE, EV_HELD, EV_(UN)DELIVERED: the line number */
	unsigned int		 ev_k;		/* EV_DELIVERED: peers that acknowledged it */
	unsigned int		 ev_of;		/* EV_MINE, EV_DELIVERED: peers it was queued for */
	unsigned int		 ev_failed;	/* EV_(UN)DELIVERED: peers given up */
};

/* Where the core's events go. */
struct fe {
	void		(*fe_event)(void *arg, const struct ev *e);
	void		*fe_arg;
};

/* "new", "pinned", "expected", "verified", "refused" or "?". */
const char *chatc_trust_name(uint8_t trust);

/* Writes all n bytes to fd (retrying short writes). 0 or VEIL_E_SYSTEM. */
int	chatc_write_all(int fd, const void *p, size_t n);

/* ---- the --batch front-end (batch.c) ---- */

/*
 * Batch event lines, newline included, NUL-terminated; each returns the
 * length. cap >= EV_LINE_MAX always suffices. Peer bytes are escaped here.
 */
size_t	ev_secure(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
	    const uint8_t fpr[static FPR_LEN], uint8_t trust);
size_t	ev_msg(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
	    const uint8_t *text, size_t textlen);
size_t	ev_left(char *out, size_t cap, const uint8_t *nick, size_t nicklen);
/* "DELIVERED nick n" / "UNDELIVERED nick n reason" (reason NULL: DELIVERED). */
size_t	ev_delivery(char *out, size_t cap, const uint8_t *nick, size_t nicklen, uint32_t n,
	    const char *reason);
/* "WARN text" / "ERROR text": text is ours (already escaped where needed). */
size_t	ev_line(char *out, size_t cap, const char *word, const char *text);

/*
 * The batch front-end (a struct fe's fe_event; arg unused): SECURE, MSG,
 * LEFT, DELIVERED, UNDELIVERED, WARN (also for EV_ALERT) and ERROR lines on
 * stdout; on stderr EV_INFO as it is and EV_NOTE as "INFO text"; EV_MINE,
 * EV_HELD and EV_STATUS show nothing.
 */
void	batch_event(void *arg, const struct ev *e);

#define BATCH_IN_CAP	65536

/* Batch input: one message per line, split out of what stdin gives. */
struct batch_in {
	uint8_t		 bi_buf[BATCH_IN_CAP];
	size_t		 bi_off;
	size_t		 bi_len;
	size_t		 bi_skip;	/* bytes of an over-long line dropped so far */
	int		 bi_eof;
};

/* Empties b. */
void	batch_in_init(struct batch_in *b);
/*
 * One read from fd into b. 0, or 1 at end of input (bi_eof set; a read
 * error counts as the end). EINTR / EAGAIN read nothing and return 0.
 */
int	batch_in_read(struct batch_in *b, int fd);
/*
 * The next input line: 1 with *line / *len (pointing into b, without the
 * newline; valid until the next batch_in_read), 2 with *len = the length of
 * a line longer than the buffer (its bytes are gone), 0 when no whole line
 * waits. At end of input a last line without a newline is returned too.
 */
int	batch_in_next(struct batch_in *b, const uint8_t **line, size_t *len);
/* 1 when batch_in_next has something now. */
int	batch_in_pending(const struct batch_in *b);
/* 1 when input ended and every line was taken. */
int	batch_in_done(const struct batch_in *b);

/* ---- the interactive screen (ui.c) ---- */

struct ui;

enum ui_kind {
	UI_MSG,		/* who = escaped nick, text = escaped text */
	UI_MINE,	/* our own message as sent */
	UI_ACTION,	/* "/me" from a peer */
	UI_MINE_ACTION,
	UI_PRIV_IN,	/* for us only */
	UI_PRIV_OUT,	/* ours, for one peer only: who */
	UI_HELD,	/* ours, held until a session is secure */
	UI_SECURE,
	UI_LEFT,
	UI_INFO,
	UI_WARN,
	UI_ALERT,	/* loud from here on: identity refusals */
	UI_ERROR,
};

/*
 * Reads the terminal's description (terminfo: files are read now, before
 * the sandbox), puts it in raw mode on the alternate screen and draws the
 * screen; nick is ours (for mentions); colour 0: none (chatc.conf), as with
 * NO_COLOR. 0, or VEIL_E_SYSTEM with a sentence
 * in why (no TERM, an unknown or too dumb terminal: use --batch).
 */
int	ui_open(struct ui **u, const char *nick, int colour, char *why, size_t whylen) VEIL_WUR;
/*
 * Gives the terminal back (safe twice), prints every window's lines on the
 * normal screen so the conversation stays, then writes to stderr every line
 * shown with ev_final set (what chatc said while ending: lines not sent,
 * the ERROR).
 */
void	ui_close(struct ui *u);
/* Re-reads the window size and redraws everything. */
void	ui_resize(struct ui *u);
/* The screen as a front-end (a struct fe's fe_event; arg is the struct ui). */
void	ui_event(void *arg, const struct ev *e);

enum ui_key_result {
	UIK_NONE,	/* nothing for the core */
	UIK_LINE,	/* lines wait: take them with ui_line */
	UIK_QUIT,	/* Ctrl-C, or Ctrl-D on an empty line */
};
/* Feeds one input byte. */
int	ui_key(struct ui *u, uint8_t c);
/*
 * The next line for the core (a message or a command, as if typed; a
 * message too long for one has been split, and a line of a multi-line
 * paste that starts with '/' comes as "//..."): 1 with *line / *len (valid
 * until the next call), 0 when none waits.
 */
int	ui_line(struct ui *u, const uint8_t **line, size_t *len);
/* 1 when ui_line has something. */
int	ui_pending(const struct ui *u);

/* The commands' names for Tab (cmd.c): the i-th, or NULL past the last. */
const char *chatc_cmd_name(size_t i);

#endif
