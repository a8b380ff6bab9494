/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLIENT_H
#define VEIL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"
#include "escape.h"
#include "frame.h"
#include "ipc.h"

/*
 * chatc: one module, one file per role. options.c parses the command line,
 * net.c owns the relay connection, keydc.c the keyd IPC client, peers.c the
 * per-member sessions and the hold queue, batch.c the event lines, ui.c the
 * interactive screen and client.c the state machine that ties them together.
 */

#define CHATC_RELAY_DEFAULT	"127.0.0.1:7700"
#define CHATC_HOST_MAX		255
#define CHATC_PATH_MAX		108	/* sun_path */
#define HOLD_MAX		64	/* lines held before the first secure session */
#define LINE_MAX_IN		(MSG_MAX + 2)	/* "//" + MSG_MAX bytes */
#define EV_LINE_MAX		(16 + ESC_MAX(NICK_MAX) + ESC_MAX(MSG_MAX) + 64)
#define BACKOFF_FIRST_MS	200
#define BACKOFF_MAX_MS		5000
#define RECONNECT_GIVEUP_MS	30000
#define CONNECT_TIMEOUT_MS	3000
#define EOF_HOLD_WAIT_MS	8000	/* EOF with held lines: wait at most this long for a peer */
#define HS_TIMEOUT_MS		15000	/* a handshake not done by then has failed */
#define RL_OUT_HIGH		(256 * 1024)	/* stop reading input above this backlog */
#define RL_FLUSH_AT		4096	/* write to the relay as soon as this much waits */
#define RL_OUT_MAX		(16 * 1024 * 1024)
/*
 * relayd drops a member whose queue passes its bound (256 KiB), so chatc
 * takes frames off the socket as they come and keeps its own backlog while
 * keyd opens them: a burst from a fast sender waits here, not at the relay.
 */
#define RL_IN_MAX		(16 * 1024 * 1024)
#define RL_READ_CHUNK	65536
#define KEYDC_TIMEOUT_MS	10000	/* keyd silent this long counts as lost */

/* ---- options.c ---- */

struct chatc_expect {
	char		 ce_nick[NICK_MAX + 1];
	uint8_t		 ce_fpr[FPR_LEN];
};

struct chatc_opts {
	const char	*co_room;
	const char	*co_nick;
	char		 co_relay[CHATC_HOST_MAX + 16];	/* as given: HOST:PORT */
	char		 co_host[CHATC_HOST_MAX + 1];
	char		 co_port[8];
	char		 co_keyd[CHATC_PATH_MAX];
	struct chatc_expect co_expect[IPC_EXPECT_MAX];
	size_t		 co_nexpect;
	int		 co_batch;
	int		 co_help;
	int		 co_version;
};

/*
 * Parses argv into *o (defaults filled in; env gives the keyd socket path).
 * Returns 0, or VEIL_E_INVALID with a one-line reason in err (the caller
 * prints it with the usage and exits 2). --help / --version set co_help /
 * co_version and skip the required-option checks.
 */
int	chatc_opts_parse(int argc, char *const argv[], struct chatc_opts *o,
	    char *err, size_t errlen) VEIL_WUR;

/*
 * Splits "HOST:PORT" or "[V6ADDR]:PORT" (port 1..65535) into host and port.
 * Returns 0 or VEIL_E_INVALID.
 */
int	chatc_split_hostport(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen) VEIL_WUR;

/* The default keyd socket path (DESIGN.md) into out; 0 or VEIL_E_OVERSIZE. */
int	chatc_default_keyd(char *out, size_t outlen) VEIL_WUR;

/* The usage text (every flag, its default, an example). */
const char *chatc_usage(void);

/* Room id = SHA-256("veil/1 room id" || name). 0 or VEIL_E_CRYPTO. */
int	chatc_room_id(const char *name, uint8_t out[static ROOM_ID_LEN]) VEIL_WUR;
/*
 * Room key = SHA-256("veil/1 room key" || name), mixed into every handshake
 * (PROTOCOL.md 2.2); never sent to the relay. 0 or VEIL_E_CRYPTO.
 */
int	chatc_room_key(const char *name, uint8_t out[static ROOM_KEY_LEN]) VEIL_WUR;

/* ---- input lines (peers.c) ---- */

enum line_kind {
	LINE_EMPTY,		/* nothing to do */
	LINE_TEXT,		/* lc_text/lc_len: a message to send */
	LINE_CMD,		/* lc_cmd, lc_arg/lc_arglen */
	LINE_UNKNOWN,		/* a /word that is no command */
	LINE_TOOLONG,		/* lc_len: the text's length, over MSG_MAX */
	LINE_BADUTF8,		/* not valid UTF-8 */
};

enum line_cmd {
	CMD_HELP = 1,
	CMD_WHO,
	CMD_VERIFY,
	CMD_REKEY,
	CMD_QUIT,
};

struct line {
	int		 ln_kind;
	int		 ln_cmd;
	const uint8_t	*ln_text;
	size_t		 ln_len;
	const uint8_t	*ln_arg;	/* CMD_VERIFY's nick, or NULL */
	size_t		 ln_arglen;
};

/*
 * Classifies one typed line (without its newline; a trailing CR is dropped).
 * "//x" is the text "/x"; "/cmd [arg]" a command. Pointers point into p.
 */
void	chatc_line_parse(const uint8_t *p, size_t n, struct line *l);

/* ---- the hold queue (peers.c) ---- */

struct holdq {
	uint8_t		 hq_buf[HOLD_MAX][MSG_MAX];
	uint16_t	 hq_len[HOLD_MAX];
	size_t		 hq_head;
	size_t		 hq_count;
};

/* Empties q (caller-owned storage; nothing is allocated). */
void	holdq_init(struct holdq *q);
/* Appends a copy of 1..MSG_MAX bytes: 0, VEIL_E_LIMIT when full, VEIL_E_INVALID on a bad length. */
int	holdq_push(struct holdq *q, const uint8_t *p, size_t n) VEIL_WUR;
/* Points *p at the oldest line (valid until the next push): 1, or 0 when empty. */
int	holdq_peek(const struct holdq *q, const uint8_t **p, size_t *n);
/* Drops the oldest line (wiping it). */
void	holdq_pop(struct holdq *q);
/* Wipes every line. */
void	holdq_clear(struct holdq *q);

/* ---- peers (peers.c) ---- */

enum peer_state {
	PS_FREE = 0,
	PS_WAIT,		/* joined after us: its HS_INIT is due */
	PS_HS,			/* handshake running, pe_handle valid */
	PS_SECURE,		/* session up, pe_nick/pe_fpr/pe_trust valid */
	PS_REFUSED,		/* keyd refused its identity: never send to it */
	PS_DEAD,		/* handshake failed or session closed */
};

struct peer {
	int		 pe_state;
	uint16_t	 pe_id;
	uint32_t	 pe_handle;	/* 0 = none */
	int		 pe_had_nick;
	uint8_t		 pe_nick[NICK_MAX];
	size_t		 pe_nicklen;
	char		 pe_name[ESC_MAX(NICK_MAX) + 16];	/* escaped nick, or "member N" */
	uint8_t		 pe_fpr[FPR_LEN];
	uint8_t		 pe_trust;
	uint32_t	 pe_epoch;
	/*
	 * A fresh handshake this peer started while our session with it is
	 * secure (it lost its side): 0 = none. The old session stays in use
	 * until this one completes, so a replayed HS_INIT changes nothing.
	 */
	uint32_t	 pe_hs_handle;
	int		 pe_initiator;	/* we sent the HS_INIT (PROTOCOL.md 2.1) */
	int64_t		 pe_hs_at;	/* when the handshake (PS_HS) began */
};

struct peers {
	struct peer	 pt_p[ROOM_SIZE_MAX];
};

/* Empties the table (caller-owned storage). */
void	peers_init(struct peers *t);
/* The peer with member id, or NULL. */
struct peer *peers_find(struct peers *t, uint16_t id);
/* The peer with this session handle, or NULL. */
struct peer *peers_by_handle(struct peers *t, uint32_t handle);
/* The secure peer with this nickname, or NULL. */
struct peer *peers_by_nick(struct peers *t, const uint8_t *nick, size_t n);
/* Adds member id in state st (an existing entry is returned as is); NULL when full. */
struct peer *peers_add(struct peers *t, uint16_t id, int st);
/* Sets the nick (and pe_name) of p. */
void	peers_set_nick(struct peer *p, const uint8_t *nick, size_t n);
/* Forgets p. */
void	peers_del(struct peer *p);
/* Number of peers in state st. */
size_t	peers_count(const struct peers *t, int st);
/* "new", "pinned", "expected" or "?". */
const char *chatc_trust_name(uint8_t trust);

/* ---- events (batch.c) ---- */

/*
 * Batch event lines, newline included, NUL-terminated; each returns the
 * length. cap >= EV_LINE_MAX always suffices. Peer bytes are escaped here.
 */
size_t	ev_secure(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
	    const uint8_t fpr[static FPR_LEN], uint8_t trust);
size_t	ev_msg(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
	    const uint8_t *text, size_t textlen);
size_t	ev_left(char *out, size_t cap, const uint8_t *nick, size_t nicklen);
/* "WARN text" / "ERROR text": text is ours (already escaped where needed). */
size_t	ev_line(char *out, size_t cap, const char *word, const char *text);
/* Writes all n bytes to fd (retrying short writes). 0 or VEIL_E_SYSTEM. */
int	chatc_write_all(int fd, const void *p, size_t n);

/* ---- keyd client (keydc.c) ---- */

struct keydc {
	int		 kc_fd;
	int		 kc_timeout_ms;	/* an answer later than this: keyd is lost */
	uint8_t		 kc_tx[IPC_LEN_HDR + 64 + IPC_BATCH_MAX * 4 + E2E_MAX + MSG_MAX];
	uint8_t		 kc_rx[IPC_LEN_HDR + IPC_MAX];
	struct ipc_msg	 kc_ans;
};

/*
 * Connects to keyd's socket at path (blocking) and sets kc_timeout_ms to
 * KEYDC_TIMEOUT_MS. 0, or VEIL_E_SYSTEM with errno set (ENOENT /
 * ECONNREFUSED: keyd is not running; EPERM: what listens there runs as
 * another uid, SO_PEERCRED).
 */
int	keydc_connect(struct keydc *k, const char *path) VEIL_WUR;
/*
 * Sends req and waits for its answer; *ans points at the decoded answer
 * (valid until the next call): either req's answer code or IPC_ANS_ERROR,
 * the caller looks at im_code. Returns a negative veil_err when keyd is gone
 * or silent for kc_timeout_ms (VEIL_E_SYSTEM), or answered something else
 * (VEIL_E_TYPE, VEIL_E_INVALID for another handle, decode errors).
 */
int	keydc_call(struct keydc *k, const struct ipc_msg *req,
	    const struct ipc_msg **ans) VEIL_WUR;
/* Closes the socket (keyd then wipes every session of this client). */
void	keydc_close(struct keydc *k);

/* ---- relay connection (net.c) ---- */

struct addrinfo;

struct rl_conn {
	int		 rl_fd;		/* -1 when not connected */
	struct addrinfo	*rl_ai;		/* resolved before the sandbox */
	uint8_t		*rl_in;		/* frames read, not yet all taken */
	size_t		 rl_incap;
	size_t		 rl_inlen;
	size_t		 rl_used;	/* bytes at the front already taken */
	uint8_t		*rl_out;
	size_t		 rl_outlen;
	size_t		 rl_outcap;
};

/* Not connected, nothing resolved, empty buffers. */
void	rl_init(struct rl_conn *r);
/* getaddrinfo(host, port), TCP. 0 or VEIL_E_SYSTEM with a reason in err. */
int	rl_resolve(struct rl_conn *r, const char *host, const char *port,
	    char *err, size_t errlen) VEIL_WUR;
/*
 * Connects to the first resolved address that answers within timeout_ms in
 * all. 0, or VEIL_E_SYSTEM with errno set.
 */
int	rl_connect(struct rl_conn *r, int timeout_ms) VEIL_WUR;
/* Queues one frame to the relay. 0, VEIL_E_LIMIT (backlog full) or an encode error. */
int	rl_send(struct rl_conn *r, uint8_t type, uint16_t dst,
	    const uint8_t *payload, size_t len) VEIL_WUR;
/* Writes what it can. 0, or VEIL_E_SYSTEM when the connection is gone. */
int	rl_flush(struct rl_conn *r) VEIL_WUR;
/*
 * Reads what is there (up to RL_IN_MAX waiting in all). 0, or
 * VEIL_E_SYSTEM on EOF / error (frames already read can still be taken),
 * VEIL_E_ALLOC when the buffer cannot grow.
 */
int	rl_read(struct rl_conn *r) VEIL_WUR;
/*
 * The next whole frame from the input: 1 with *f (pointing into the buffer,
 * valid until the next call), 0 when more bytes are needed, or a negative
 * veil_err for a frame that breaks PROTOCOL.md.
 */
int	rl_next(struct rl_conn *r, struct frame *f) VEIL_WUR;
/* Closes the connection and drops both buffers' contents. */
void	rl_close(struct rl_conn *r);
/* rl_close, then frees the output buffer and the resolved addresses. */
void	rl_free(struct rl_conn *r);

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
/* Restores the terminal (safe to call twice, and after a hang-up). */
void	ui_close(struct ui *u);
/* Adds one line to the message area; who may be NULL. */
void	ui_add(struct ui *u, int kind, const char *who, const char *text);
/* Replaces the status line's peer list (already escaped) and relay state. */
void	ui_status(struct ui *u, const char *peers, const char *relay);
/* Re-reads the window size and redraws everything. */
void	ui_resize(struct ui *u);

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

/* ---- the state machine (client.c) ---- */

struct client;

/*
 * Runs chatc after start-up: k is connected and said HELLO, r resolved,
 * u the screen or NULL for batch mode. Returns the exit status.
 */
int	client_run(const struct chatc_opts *o, const uint8_t room[static ROOM_ID_LEN],
	    const uint8_t myfpr[static FPR_LEN], struct keydc *k, struct rl_conn *r,
	    struct ui *u);
/* Asks the main loop to stop (signal-safe): quit = 1 on SIGINT/TERM/HUP, resize on SIGWINCH. */
void	client_signal(int sig);

#endif
