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
struct ev {
	int			 ev_kind;
	size_t			 ev_room;	/* which room (index in the client's list) */
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
	uint32_t		 ev_n;		/* EV_MINE, EV_HELD, EV_(UN)DELIVERED: the line number */
	unsigned int		 ev_k;		/* EV_DELIVERED: peers that acknowledged it */
	unsigned int		 ev_of;		/* EV_MINE, EV_DELIVERED: peers it was queued for */
	unsigned int		 ev_failed;	/* EV_(UN)DELIVERED: peers given up */
	int			 ev_private;	/* EV_MSG: sent to us alone (/msg) */
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
 * stdout, EV_INFO on stderr; EV_MINE, EV_HELD and EV_STATUS show nothing.
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
	UI_SECURE,
	UI_LEFT,
	UI_INFO,
	UI_WARN,
	UI_ALERT,	/* loud: identity refusals */
	UI_ERROR,
};

/* Puts the terminal in raw mode and draws the screen. 0 or VEIL_E_SYSTEM. */
int	ui_open(struct ui **u, const char *room, const char *nick) VEIL_WUR;
/*
 * Restores the terminal (safe to call twice, and after a hang-up), then
 * writes to stderr every line shown with ev_final set (what chatc said
 * while ending: lines not sent, the ERROR), so they outlive the screen.
 */
void	ui_close(struct ui *u);
/* Adds one line to the message area; who may be NULL. */
void	ui_add(struct ui *u, int kind, const char *who, const char *text);
/* Replaces the status line's peer list (already escaped) and relay state. */
void	ui_status(struct ui *u, const char *peers, const char *relay);
/* Re-reads the window size and redraws everything. */
void	ui_resize(struct ui *u);
/* The screen as a front-end (a struct fe's fe_event; arg is the struct ui). */
void	ui_event(void *arg, const struct ev *e);

enum ui_key_result {
	UIK_NONE,	/* nothing finished */
	UIK_LINE,	/* a line was entered: *line, *len */
	UIK_QUIT,	/* Ctrl-C, or Ctrl-D on an empty line */
};
/*
 * Feeds one input byte. On UIK_LINE *line points at the entered bytes
 * (valid until the next call).
 */
int	ui_key(struct ui *u, uint8_t c, const uint8_t **line, size_t *len);

#endif
