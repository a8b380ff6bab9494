/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLIENT_H
#define VEIL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "deliver.h"
#include "e2e.h"
#include "escape.h"
#include "fe.h"
#include "frame.h"
#include "invite.h"
#include "ipc.h"
#include "roomkey.h"

/*
 * chatc's core: no terminal, no printing. Data flows one way:
 *
 *   relay frames (net.c) --> rm_on_frame (relay_ev.c) --+
 *   typed lines (cmd.c, tx.c) ---------------------------+--> requests to keyd
 *   keyd answers (keydc.c) --> client_on_answer ---------+    (keydc.c, queued)
 *        |                      (sess.c, tx.c, cmd.c)
 *        +--> room and session state (room.c) --> events (events.c) --> fe.h
 *
 * The room is the unit: a struct room owns its member table, the sessions
 * with each member, the hold queue, its relay connection (link.c) and its
 * room id and key. The client is a list of rooms (one for now) plus the one
 * keyd connection. keyd is asked asynchronously: requests are queued and
 * pipelined, keyd answers them in order, and each answer comes back with
 * the context its request left (struct kx), checked against the state of
 * the moment (a member may have left meanwhile).
 *
 * Prefixes: rm_ a room, peers_ its member table, holdq_ its hold queue,
 * link_ its relay connection's life, sess_ a session with one member, tx_
 * our lines on their way out, cmd_ typed commands, emit_ events, keydc_ the
 * keyd client, rl_ the relay socket, client_ the whole.
 */

#define CHATC_RELAY_DEFAULT	"127.0.0.1:7700"
#define CHATC_HOST_MAX		255
#define CHATC_PATH_MAX		108	/* sun_path */
#define CHATC_ROOMS_MAX		1	/* rooms one chatc sits in (issue 16: more) */
#define HOLD_MAX		64	/* lines held before the first secure session */
#define LINE_MAX_IN		(MSG_MAX + 2)	/* "//" + MSG_MAX bytes */
#define BACKOFF_FIRST_MS	200
#define BACKOFF_MAX_MS		10000	/* retries go on for as long as the user stays */
#define CONNECT_TIMEOUT_MS	3000
#define EOF_HOLD_WAIT_MS	8000	/* EOF with held lines: wait at most this long for a peer */
#define QUIT_WAIT_MS		3000	/* /quit: wait at most this long for acknowledgements */
#define HS_TIMEOUT_MS		15000	/* a handshake not done by then has failed */
#define HS_AUTO_RESTARTS	1	/* fresh handshakes started unasked after a failure */
#define STATUS_POLL_MS		2000	/* REQ_STATUS: keyd --trust / --forget since? */
#define GIVE_UP_MAX		(7 * 24 * 3600)	/* --give-up SEC, at most a week */
#define PEER_BAD_MAX		32	/* bad messages in a row: the member is ignored */
#define RL_OUT_HIGH		(256 * 1024)	/* stop reading input above this backlog */
#define RL_FLUSH_AT		4096	/* write to the relay as soon as this much waits */
#define TX_PENDING_HIGH		256	/* our lines waiting for a peer's window: input waits */
#define RL_OUT_MAX		(16 * 1024 * 1024)
/*
 * relayd drops a member whose queue passes its bound, so chatc takes frames
 * off the socket as they come and keeps its own backlog while keyd opens
 * them: a burst from a fast sender waits here, not at the relay.
 */
#define RL_IN_MAX		(16 * 1024 * 1024)
#define RL_READ_CHUNK		65536
#define KEYDC_TIMEOUT_MS	10000	/* the oldest request unanswered this long: keyd is lost */
#define KEYDC_QMAX		4096	/* requests in flight, at most */
#define KEYDC_SOFT		64	/* in flight before input and frames wait */
#define KEYDC_OUT_MAX		(4 * 1024 * 1024)

/* Exit statuses (chatc --help, chatc.1). */
#define CHATC_EXIT_OK		0
#define CHATC_EXIT_ERROR	1	/* ERROR: keyd lost, a start-up failure */
#define CHATC_EXIT_USAGE	2
#define CHATC_EXIT_NOTSENT	3	/* some line was not sent (each said so) */
#define CHATC_EXIT_GAVEUP	4	/* --give-up: SEC seconds without the room */

/* ---- options.c ---- */

struct chatc_expect {
	char		 ce_nick[NICK_MAX + 1];
	uint8_t		 ce_fpr[FPR_LEN];
};

struct chatc_opts {
	const char	*co_room;	/* --room NAME (a passphrase room), or NULL */
	const char	*co_join;	/* --join CODE (an invite code), or NULL */
	int		 co_new_room;	/* --new-room: print an invite code and exit */
	const char	*co_relay_arg;	/* --relay as given, or NULL */
	const char	*co_relay_fp;	/* --relay-fp as given (--new-room), or NULL */
	const char	*co_nick;
	char		 co_relay[CHATC_HOST_MAX + 16];	/* as given: HOST:PORT */
	char		 co_host[CHATC_HOST_MAX + 1];
	char		 co_port[8];
	char		 co_keyd[CHATC_PATH_MAX];
	struct chatc_expect co_expect[IPC_EXPECT_MAX];
	size_t		 co_nexpect;
	int		 co_give_up;	/* seconds without the room before giving up; 0 never */
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

/* The usage text (every flag, its default, the exit statuses, an example). */
const char *chatc_usage(void);

/*
 * --new-room: the invite code (PROTOCOL.md 4.1) of a fresh room secret, for
 * the relays of --relay (a comma-separated list, default CHATC_RELAY_DEFAULT)
 * with the relay key fingerprints of --relay-fp (a comma-separated list of
 * 64 hex digits, one per relay; none by default), into out (INVITE_TEXT_MAX).
 * 0, VEIL_E_INVALID with a reason in err (a usage error), or another
 * veil_err (no randomness).
 */
int	chatc_new_room(const struct chatc_opts *o, char *out, size_t cap, char *err,
	    size_t errlen) VEIL_WUR;

/* The room chatc joins, from --join or --room (chatc_room_setup). */
struct chatc_room {
	uint8_t		 cr_id[ROOM_ID_LEN];	/* sent in JOIN */
	uint8_t		 cr_key[ROOM_KEY_LEN];	/* a secret: mixed into handshakes */
	char		 cr_label[64];	/* what the screen and /who call it */
	size_t		 cr_short;	/* --room NAME shorter than ROOM_NAME_SHORT: its length */
};

/*
 * The room of --join CODE (its secret; its first relay unless --relay was
 * given, written into o's co_relay/co_host/co_port) or --room NAME
 * (Argon2id over the name, salted with the relay id: 32 zero bytes until
 * relay links have keys, issue 14). Before the sandbox (Argon2id takes
 * 64 MiB for a moment). 0, VEIL_E_INVALID with a reason in err (a bad
 * code: a usage error), or another veil_err (err says it).
 */
int	chatc_room_setup(struct chatc_opts *o, struct chatc_room *cr, char *err,
	    size_t errlen) VEIL_WUR;

/* ---- typed lines (cmd.c) ---- */

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
	CMD_STATUS,
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

/* ---- the hold queue (room.c) ---- */

struct holdq {
	uint8_t		 hq_buf[HOLD_MAX][MSG_MAX];
	uint16_t	 hq_len[HOLD_MAX];
	uint32_t	 hq_n[HOLD_MAX];	/* the line's number (client's cl_lines) */
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

/* ---- members (room.c) ---- */

enum peer_state {
	PS_FREE = 0,
	PS_WAIT,		/* joined after us: its HS_INIT is due */
	PS_HS,			/* handshake running (pe_handle 0 while HS_START is asked) */
	PS_SECURE,		/* session up, pe_nick/pe_fpr/pe_trust valid */
	PS_REFUSED,		/* keyd refused its identity: never send to it */
	PS_DEAD,		/* handshake failed or session closed */
	PS_IGNORED,		/* PEER_BAD_MAX bad messages in a row: ignored until it rejoins */
};

struct peer {
	int		 pe_state;
	uint16_t	 pe_id;
	uint32_t	 pe_gen;	/* this incarnation of the member id (ids are reused) */
	uint32_t	 pe_handle;	/* 0 = none */
	int		 pe_had_nick;
	uint8_t		 pe_nick[NICK_MAX];
	size_t		 pe_nicklen;
	char		 pe_name[PEER_NAME_MAX];	/* escaped nick, or "member N" */
	uint8_t		 pe_fpr[FPR_LEN];
	uint8_t		 pe_trust;
	uint8_t		 pe_flags;	/* enum ipc_trust_flags of the last decision */
	/* PS_REFUSED: what keyd refused (so the same refusal is said once). */
	uint8_t		 pe_ref_fpr[FPR_LEN];
	uint8_t		 pe_ref_reason;
	unsigned int	 pe_restarts;	/* handshakes started unasked since the last success */
	uint8_t		 pe_idk[ED25519_PUB_LEN];	/* PS_SECURE: its identity key */
	uint32_t	 pe_rekey_token;	/* our /rekey PING awaiting its PONG, 0 = none */
	/*
	 * A fresh handshake this peer started while our session with it is
	 * secure (it lost its side): 0 = none. The old session stays in use
	 * until this one completes, so a replayed HS_INIT changes nothing.
	 */
	uint32_t	 pe_hs_handle;
	int		 pe_initiator;	/* we sent the HS_INIT of the current handshake */
	int64_t		 pe_hs_at;	/* when the handshake (PS_HS) began */
	unsigned int	 pe_bad;	/* bad messages in a row */
};

struct peers {
	struct peer	 pt_p[ROOM_SIZE_MAX];
	uint32_t	 pt_gen;	/* the last pe_gen handed out */
};

/* Empties the table (caller-owned storage). */
void	peers_init(struct peers *t);
/* The peer with member id, or NULL. */
struct peer *peers_find(struct peers *t, uint16_t id);
/* The peer with member id in incarnation gen, or NULL (it left meanwhile). */
struct peer *peers_find_gen(struct peers *t, uint16_t id, uint32_t gen);
/* The peer with this session handle (pe_handle), or NULL. */
struct peer *peers_by_handle(struct peers *t, uint32_t handle);
/* The secure peer with this nickname, or NULL. */
struct peer *peers_by_nick(struct peers *t, const uint8_t *nick, size_t n);
/*
 * Adds member id in state st with a new pe_gen (an existing entry is
 * returned as is); NULL when full.
 */
struct peer *peers_add(struct peers *t, uint16_t id, int st);
/* Sets the nick (and pe_name) of p. */
void	peers_set_nick(struct peer *p, const uint8_t *nick, size_t n);
/* Forgets p. */
void	peers_del(struct peer *p);
/* Number of peers in state st. */
size_t	peers_count(const struct peers *t, int st);

/* ---- the keyd client (keydc.c) ---- */

/* What an answer is for: set by whoever asks, used when the answer comes. */
enum kx_kind {
	KX_HELLO = 1,
	KX_HS_START,		/* our HS_INIT to a member who was there before us */
	KX_HS_ACCEPT,		/* our HS_RESP to a member's HS_INIT */
	KX_HS_RESTART,		/* HS_ACCEPT of a new HS_INIT while the session is secure */
	KX_HS_NEXT,		/* the next handshake step */
	KX_HS_RESTART_NEXT,	/* the next step of a restart (pe_hs_handle) */
	KX_OPEN,
	KX_CTRL,		/* an inner message sealed for kx_peer: its blob goes there */
	KX_CLOSE,		/* a session we drop: nothing to do with the answer */
	KX_CLOSE_SEND,		/* a session we end: its CLOSE blob goes to the member */
	KX_VERIFY,
	KX_TRUST,		/* VERIFY after keyd's pins changed: the trust now */
	KX_STATUS,		/* REQ_STATUS (the client's, kx_room 0) */
};

/* The context of one request in flight. */
struct kx {
	uint8_t		 kx_kind;	/* enum kx_kind */
	uint8_t		 kx_req;	/* the request code (set by keydc_push) */
	uint32_t	 kx_handle;	/* the session the request is about (set by keydc_push) */
	uint32_t	 kx_room;	/* rm_serial of the room asking, 0 for none */
	uint16_t	 kx_peer;	/* member id */
	uint32_t	 kx_gen;	/* the member's pe_gen when asked */
	void		*kx_data;	/* owned; freed with kx_free when not taken */
	void		(*kx_free)(void *);
};

struct keydc {
	int		 kc_fd;		/* -1: closed, or memory only (tests) */
	int		 kc_mem;	/* no socket: requests are taken, answers fed */
	int		 kc_timeout_ms;	/* the oldest request unanswered this long: lost */
	uint8_t		*kc_out;	/* encoded requests not yet written */
	size_t		 kc_outlen;
	size_t		 kc_outcap;
	uint8_t		 kc_in[IPC_LEN_HDR + IPC_MAX];	/* answers read, not yet taken */
	size_t		 kc_inlen;
	size_t		 kc_used;	/* bytes of the answer last handed out */
	struct kx	 kc_q[KEYDC_QMAX];	/* contexts, oldest at kc_qhead */
	size_t		 kc_qhead;
	size_t		 kc_qlen;
	int64_t		 kc_head_at;	/* when the oldest request became the oldest */
	struct ipc_msg	 kc_ans;
};

/*
 * Connects to keyd's socket at path (blocking, at start-up) and makes it
 * non-blocking. 0, or VEIL_E_SYSTEM with errno set (ENOENT / ECONNREFUSED:
 * keyd is not running; EPERM: what listens there runs as another uid,
 * SO_PEERCRED).
 */
int	keydc_connect(struct keydc *k, const char *path) VEIL_WUR;
/*
 * Uses fd (connected, made non-blocking here) as the keyd connection; fd -1
 * keeps everything in memory: requests stay in kc_out for the caller to
 * take (keydc_take), answers come from keydc_feed. For tests and fuzzing.
 */
void	keydc_attach(struct keydc *k, int fd);
/*
 * Encodes req and queues it with its context x (copied; kx_req and
 * kx_handle are filled in), now being the time. 0; VEIL_E_LIMIT when the
 * queue or the buffer is full; an encode error (the request breaks
 * PROTOCOL.md 3). On any error nothing is queued and x->kx_data is left to
 * the caller.
 */
int	keydc_push(struct keydc *k, const struct ipc_msg *req, const struct kx *x,
	    int64_t now) VEIL_WUR;
/* Requests in flight. */
size_t	keydc_pending(const struct keydc *k);
/* 1 when KEYDC_SOFT requests are in flight: input and frames wait. */
int	keydc_busy(const struct keydc *k);
/* Writes what it can. 0, or VEIL_E_SYSTEM when keyd is gone. */
int	keydc_flush(struct keydc *k) VEIL_WUR;
/* Reads what is there. 0, or VEIL_E_SYSTEM on EOF or an error. */
int	keydc_read(struct keydc *k) VEIL_WUR;
/*
 * The next answer, in request order: 1 with *ans (valid until the next
 * call) and *x (the request's context, now the caller's: its kx_data too),
 * 0 when no whole answer is there yet, or a negative veil_err when keyd
 * broke PROTOCOL.md 3 (an answer nobody asked for, the answer to another
 * request, about another handle, undecodable): keyd counts as lost.
 * IPC_ANS_ERROR is an answer like any other; the caller looks at im_code.
 */
int	keydc_next(struct keydc *k, struct kx *x, const struct ipc_msg **ans,
	    int64_t now) VEIL_WUR;
/* When the oldest request counts as unanswered (keyd lost), or INT64_MAX. */
int64_t	keydc_deadline(const struct keydc *k);
/*
 * Memory mode: the caller took (and served) the first n bytes of the queued
 * requests in kc_out[0..kc_outlen); they are wiped and dropped.
 */
void	keydc_took(struct keydc *k, size_t n);
/* Memory mode: appends answer bytes. 0 or VEIL_E_OVERSIZE. */
int	keydc_feed(struct keydc *k, const uint8_t *p, size_t n) VEIL_WUR;
/*
 * Start-up only: sends req and waits for its answer (*ans valid until the
 * next call): 0, or a negative veil_err when keyd is gone or silent for
 * kc_timeout_ms (VEIL_E_SYSTEM) or broke the protocol.
 */
int	keydc_call(struct keydc *k, const struct ipc_msg *req,
	    const struct ipc_msg **ans) VEIL_WUR;
/* Frees every context still queued, closes the socket (keyd then wipes our sessions). */
void	keydc_close(struct keydc *k);

/* ---- relay connection (net.c) ---- */

struct addrinfo;

struct rl_conn {
	int		 rl_fd;		/* -1 when not connected (or memory only) */
	int		 rl_open;	/* frames may be queued */
	struct addrinfo	*rl_ai;		/* resolved before the sandbox */
	const struct addrinfo *rl_try;	/* the address being tried */
	uint8_t		*rl_in;		/* frames read, not yet all taken */
	size_t		 rl_incap;
	size_t		 rl_inlen;
	size_t		 rl_used;	/* bytes at the front already taken */
	uint8_t		*rl_out;
	size_t		 rl_outlen;
	size_t		 rl_outcap;
	uint64_t	 rl_queued;	/* bytes queued since the connection began */
	uint64_t	 rl_written;	/* of which written */
};

/* Not connected, nothing resolved, empty buffers. */
void	rl_init(struct rl_conn *r);
/* getaddrinfo(host, port), TCP. 0 or VEIL_E_SYSTEM with a reason in err. */
int	rl_resolve(struct rl_conn *r, const char *host, const char *port,
	    char *err, size_t errlen) VEIL_WUR;
/*
 * Starts a non-blocking connect to the first resolved address: 0 when
 * connected at once, 1 when under way (wait for POLLOUT on rl_fd, then
 * rl_connect_done), or VEIL_E_SYSTEM with errno when every address failed.
 */
int	rl_connect_start(struct rl_conn *r) VEIL_WUR;
/*
 * After POLLOUT on a connect under way: 0 connected, 1 under way again
 * (the next address), VEIL_E_SYSTEM with errno when none is left.
 */
int	rl_connect_done(struct rl_conn *r) VEIL_WUR;
/*
 * Uses fd (connected) as the relay connection; fd -1 keeps it in memory:
 * frames stay in rl_out for the caller (rl_wrote). For tests and fuzzing.
 */
void	rl_attach(struct rl_conn *r, int fd);
/* Queues one frame to the relay. 0, VEIL_E_STATE (not open), VEIL_E_LIMIT (backlog full) or an encode error. */
int	rl_send(struct rl_conn *r, uint8_t type, uint16_t dst,
	    const uint8_t *payload, size_t len) VEIL_WUR;
/* Writes what it can. 0, or VEIL_E_SYSTEM when the connection is gone. */
int	rl_flush(struct rl_conn *r) VEIL_WUR;
/* Drops n written bytes from the front of the output (rl_flush, or a test). */
void	rl_wrote(struct rl_conn *r, size_t n);
/*
 * Reads what is there (up to RL_IN_MAX waiting in all). 0, or
 * VEIL_E_SYSTEM on EOF / error (frames already read can still be taken),
 * VEIL_E_ALLOC when the buffer cannot grow.
 */
int	rl_read(struct rl_conn *r) VEIL_WUR;
/* Memory mode: appends bytes as if read. 0, VEIL_E_LIMIT or VEIL_E_ALLOC. */
int	rl_feed(struct rl_conn *r, const uint8_t *p, size_t n) VEIL_WUR;
/*
 * The next whole frame from the input, left there: 1 with *f (pointing into
 * the buffer, valid until the next read), 0 when more bytes are needed, or
 * a negative veil_err for a frame that breaks PROTOCOL.md.
 */
int	rl_peek(const struct rl_conn *r, struct frame *f) VEIL_WUR;
/* rl_peek, and the frame is taken. */
int	rl_next(struct rl_conn *r, struct frame *f) VEIL_WUR;
/* Closes the connection and drops both buffers' contents. */
void	rl_close(struct rl_conn *r);
/* rl_close, then frees the buffers and the resolved addresses. */
void	rl_free(struct rl_conn *r);

/* ---- rooms (room.c, link.c, relay_ev.c) ---- */

enum link_state {
	LS_WAIT = 1,		/* not connected; next try at rm_next_try */
	LS_CONNECTING,		/* connect under way */
	LS_JOINING,		/* JOIN sent, no WELCOME yet */
	LS_JOINED,		/* in the room as rm_me */
	LS_DRAINING,		/* the connection ended: frames read are taken, then it is lost */
};

enum link_trouble {		/* why the last try failed; one WARN per change */
	LT_NONE = 0,
	LT_UNREACHABLE,
	LT_SERVER_FULL,
	LT_ROOM_FULL,
	LT_LOST,
};

struct client;

struct room {
	struct client	*rm_cl;
	uint32_t	 rm_serial;	/* never reused in one run; keyd answers name it */
	size_t		 rm_idx;	/* index in the client's list (events) */
	const char	*rm_name;	/* what people see it called (no secret) */
	const char	*rm_relay;	/* "HOST:PORT" as given */
	uint8_t		 rm_id[ROOM_ID_LEN];
	uint8_t		 rm_key[ROOM_KEY_LEN];	/* from the secret; never to the relay */
	struct rl_conn	 rm_rl;
	struct peers	 rm_peers;
	struct holdq	 rm_hold;
	/* The relay link (link.c). */
	int		 rm_link;	/* enum link_state */
	int		 rm_trouble;	/* enum link_trouble of the last failure */
	int		 rm_said;	/* the trouble last reported with a WARN */
	char		 rm_why[96];	/* what the last failure said */
	char		 rm_label[64];	/* rm_name's storage */
	unsigned int	 rm_tries;	/* failures in a row */
	int		 rm_ever_joined;
	uint16_t	 rm_me;		/* our member id, 0 until WELCOME */
	int		 rm_backoff;
	int64_t		 rm_next_try;
	int64_t		 rm_connect_end;
	int64_t		 rm_join_sent;
	int64_t		 rm_last_rx;
	int64_t		 rm_last_ping;
	int64_t		 rm_unjoined_since;	/* not in the room since, 0 when in it */
	/* keyd requests in flight for this room. */
	uint32_t	 rm_npending;
	uint32_t	 rm_nbarrier;	/* handshake steps: frames wait for their answers */
	uint64_t	 rm_stream;	/* our TEXTs' stream: random per run (PROTOCOL.md 2.3) */
	uint32_t	 rm_token;	/* the last /rekey PING token we used */
	struct dlv	 rm_dlv;	/* what each peer identity acknowledged (tx.c) */
	struct ev_status rm_view;	/* scratch for the status event */
};

/*
 * Sets up r (caller-owned storage) for the room cr (id and key copied; its
 * label is what people see) on relay ("HOST:PORT", for messages; the
 * addresses are resolved into rm_rl by the caller). The room starts in
 * LS_WAIT with a try due now. 0.
 */
int	rm_init(struct room *r, struct client *c, const struct chatc_room *cr,
	    const char *relay, int64_t now) VEIL_WUR;
/* Wipes the room key and hold queue and frees the buffers (rl_free too). */
void	rm_free(struct room *r);
/* The room with this serial, or NULL (parted meanwhile). */
struct room *rm_by_serial(struct client *c, uint32_t serial);
/*
 * A session may still come up: not in the room yet, or a handshake under
 * way (or due from a member that joined less than HS_TIMEOUT_MS ago). Held
 * lines are worth waiting for only then.
 */
int	rm_has_prospect(const struct room *r, int64_t now);

/*
 * 1 when rm_on_frame can take f now: no handshake step of the room is
 * being asked (its answer decides how the next frames are read) and keyd's
 * queue is not full; membership changes and relay errors wait, in addition,
 * until every earlier message of the room is answered, so events come out
 * in the order the frames came in.
 */
int	rm_can_take(const struct room *r, const struct frame *f);
/*
 * One frame from the relay (decoded). Nothing a frame holds ends chatc: the
 * worst a member can do is end its own session (a WARN naming it), the
 * worst a relay can do is make us reconnect.
 */
void	rm_on_frame(struct room *r, const struct frame *f, int64_t now);

/* Timers of the link: connect, join and keepalive timeouts, pings, --give-up. */
void	link_tick(struct room *r, int64_t now);
/* 1 when a connect try is due (LS_WAIT and its time has come). */
int	link_wants_connect(const struct room *r, int64_t now);
/* A connect try began (LS_CONNECTING); it must end by rm_connect_end. */
void	link_connecting(struct room *r, int64_t now);
/* The connection is up: JOIN is queued (LS_JOINING). */
void	link_connected(struct room *r, int64_t now);
/* The connect try failed with errno err: retry after a backoff. */
void	link_connect_failed(struct room *r, int err, int64_t now);
/*
 * The connection ended (why: the error, for the user): LS_DRAINING, so the
 * frames already read are still taken; link_drained finishes the loss.
 */
void	link_ended(struct room *r, int trouble, const char *why, int64_t now);
/* 1 when a draining link has nothing left to take: call link_lost. */
int	link_drained(const struct room *r);
/*
 * The room lost its relay: lines whose frames did not leave are reported,
 * every session is dropped, a retry is scheduled (LS_WAIT).
 */
void	link_lost(struct room *r, int64_t now);
/* WELCOME as member me (LS_JOINED). */
void	link_joined(struct room *r, uint16_t me, int64_t now);
/* The earliest time link_tick or a retry has something to do, or INT64_MAX. */
int64_t	link_next_timer(const struct room *r);

/* ---- sessions with members (sess.c) ---- */

/*
 * 1 for the kinds that are handshake steps: while one is asked, the room's
 * next frames wait for its answer (rm_can_take).
 */
int	sess_barrier(int kind);
/* Asks keyd; on success the room counts the request in flight. 0 or a negative veil_err. */
int	sess_ask(struct room *r, const struct ipc_msg *req, struct kx *x) VEIL_WUR;
/* The context of a request about p (p may be NULL). */
void	sess_kx(struct kx *x, const struct room *r, const struct peer *p, int kind);
/* HS_START towards p (PS_HS, we initiate): we are the newcomer, or start again. */
void	sess_hs_start(struct room *r, struct peer *p, int64_t now);
/*
 * keyd's known_peers changed (keyd --trust, --forget): the trust of every
 * secure session is asked again, and every refused peer gets a new handshake.
 */
void	sess_pins_changed(struct room *r);
/* One checked end-to-end message from p (proto_e2e_decode accepted it). */
void	sess_on_message(struct room *r, struct peer *p, const struct e2e_msg *m,
	    const uint8_t *blob, size_t n, int64_t now);
/* A message from p refused here: a WARN naming it; too many in a row and p is ignored. */
void	sess_reject(struct room *r, struct peer *p, const char *why);
/* Closes p's keyd sessions (no more sends); its CLOSE blob is sent when send_close. */
void	sess_close(struct room *r, struct peer *p, int send_close);
/* p left (or is replaced): sessions closed, LEFT shown if we knew it, entry freed. */
void	sess_gone(struct room *r, struct peer *p);
/*
 * keyd ended p's session on an error (IPC_ANS_ERROR ended, SEAL_ENDED; why
 * is escaped): said once, and a new handshake starts (PROTOCOL.md 2.1).
 */
void	sess_ended(struct room *r, struct peer *p, const char *why);
/* Handshakes not done within HS_TIMEOUT_MS have failed (a new one starts, bounded). */
void	sess_timeouts(struct room *r, int64_t now);
/*
 * Seals one inner message (kind and body, PROTOCOL.md 2.3) for p alone and
 * sends it when keyd answers (kind KX_CTRL). 0, or the error of asking keyd
 * (nothing asked). /rekey sends a PING: sealing it makes keyd take a
 * ratchet step if one is due, and the PONG that answers it completes a
 * round trip.
 */
int	sess_seal(struct room *r, struct peer *p, uint8_t kind, const uint8_t *body,
	    size_t len) VEIL_WUR;
/* VERIFY for p. */
void	sess_verify(struct room *r, struct peer *p);
/* Queues blob as DATA to p; a failure is a WARN. 0 or the rl_send error. */
int	sess_send(struct room *r, const struct peer *p, const uint8_t *blob, size_t n);
/* keyd's answer to a request of sess.c (kinds HS_*, OPEN, CTRL, CLOSE*, VERIFY). */
void	sess_answer(struct room *r, const struct kx *x, const struct ipc_msg *a,
	    int64_t now);

/* ---- our lines on their way out (tx.c) ---- */

/* rm_dlv's operations: seal and send for a peer identity, events. */
extern const struct dlv_ops tx_dlv_ops;
/*
 * A typed line (1..MSG_MAX bytes of UTF-8), number n: queued for every peer
 * identity deliver.c tracks (sent as the window allows, until each
 * acknowledges it or it is given up), or held until a session is secure
 * (or refused with "not sent" when the hold queue is full).
 */
void	tx_line(struct room *r, const uint8_t *text, size_t len, uint32_t n);
/* Held lines go to deliver.c once it tracks a peer identity. */
void	tx_drain_hold(struct room *r);
/* p's session is secure (new or again): deliver.c sends it what is outstanding. */
void	tx_secure(struct room *r, const struct peer *p, int64_t now);
/* Sessions that ended are down in deliver.c too; then its timers (dlv_tick). */
void	tx_sync(struct room *r, int64_t now);
/* Every held line is reported not sent (why), in order, and wiped. */
void	tx_held_notsent(struct room *r, const char *why);
/* Lines queued for a peer that is up but not sent yet (its window is full), at most. */
size_t	tx_pending(const struct room *r);
/* /status: what is outstanding, per peer, and the room code. */
void	tx_status(struct room *r);
/* Every outstanding line is given up (UNDELIVERED with reason). */
void	tx_give_up(struct room *r, const char *reason);

/* ---- events (events.c) ---- */

void	emit(struct room *r, int kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	emit_secure(struct room *r, const struct peer *p);
void	emit_msg(struct room *r, const struct peer *p, const uint8_t *text, size_t n);
void	emit_left(struct room *r, const struct peer *p);
/* EV_MINE (queued for `to` peers) or EV_HELD with our own text, line number num. */
void	emit_mine(struct room *r, int kind, const uint8_t *text, size_t n, uint32_t num,
	    unsigned int to);
/* A peer's text (EV_MSG) by its escaped name and raw nick; priv: /msg to us alone. */
void	emit_text(struct room *r, const char *who, const uint8_t *nick, size_t nicklen,
	    const uint8_t *text, size_t n, int priv);
/* EV_DELIVERED or EV_UNDELIVERED (reason) of our line t to dp. */
void	emit_delivery(struct room *r, int kind, const struct dlv_peer *dp,
	    const struct dlv_text *t, const char *reason);
/* "not sent[ to NAME] (why): <escaped text>", and the client counts a line not sent. */
void	emit_notsent(struct room *r, const char *to, const char *why, const uint8_t *text,
	    size_t n);
/* The room's status line (EV_STATUS) from its current state. */
void	emit_status(struct room *r);
/* The reason keyd gave in an IPC_ANS_ERROR, escaped, into buf. */
const char *keyd_reason(const struct ipc_msg *a, char *buf, size_t cap);

/* ---- the client (client.c) ---- */

enum client_quit {
	QUIT_NO = 0,
	QUIT_USER,		/* /quit, Ctrl-C, SIGINT/TERM, end of input */
	QUIT_HUP,		/* the terminal went away */
	QUIT_GAVEUP,		/* --give-up */
	QUIT_KEYD,		/* keyd lost: fatal */
};

struct client {
	const struct chatc_opts *cl_o;
	struct keydc	*cl_k;
	struct fe	 cl_fe;
	int		 cl_batch;
	uint8_t		 cl_myfpr[FPR_LEN];
	uint8_t		 cl_myid[ED25519_PUB_LEN];	/* our identity key (ANS_HELLO) */
	struct room	*cl_rooms[CHATC_ROOMS_MAX];
	size_t		 cl_nrooms;
	uint32_t	 cl_serial;	/* the last rm_serial handed out */
	uint32_t	 cl_lines;	/* messages read so far (DESIGN.md: n) */
	uint32_t	 cl_notsent;	/* lines (or copies of one) reported not sent */
	uint32_t	 cl_undelivered;	/* copies of lines reported UNDELIVERED */
	int64_t		 cl_progress_at;	/* the last DELIVERED */
	int64_t		 cl_leaving;	/* /quit or Ctrl-C with lines unacknowledged: since, 0 */
	int		 cl_quit;	/* enum client_quit */
	int		 cl_final;	/* ending: events carry ev_final */
	int64_t		 cl_eof_at;	/* batch input ended, 0 before */
	int64_t		 cl_now;	/* the time of the current step */
	int64_t		 cl_status_at;	/* the next REQ_STATUS is due (0: now) */
	int		 cl_status_asked;	/* one REQ_STATUS in flight */
	uint32_t	 cl_pins_gen;	/* the generation of known_peers last seen, 0 none */
	uint64_t	 cl_rand;	/* retry jitter (not a secret) */
	struct ipc_msg	 cl_req;	/* the request being built */
};

/*
 * Prepares c (caller-owned) with its options, keyd connection (HELLO done)
 * and front-end; seed feeds the retry jitter. No room yet.
 */
void	client_init(struct client *c, const struct chatc_opts *o, struct keydc *k,
	    const struct fe *fe, int batch, const uint8_t myfpr[static FPR_LEN],
	    uint64_t seed);
/* Our fingerprint and identity key (ANS_HELLO), for the client and every room. */
void	client_set_me(struct client *c, const uint8_t fpr[static FPR_LEN],
	    const uint8_t id[static ED25519_PUB_LEN]);
/* Adds r (initialised with rm_init for c) to the client's rooms. 0 or VEIL_E_LIMIT. */
int	client_add_room(struct client *c, struct room *r) VEIL_WUR;
/* The room typed lines go to. */
struct room *client_room(struct client *c);
/* A request of our own, cleared: code set, every pointer and count empty. */
struct ipc_msg *client_req(struct client *c, uint8_t code);
/*
 * The person asked to leave (/quit, Ctrl-C): at once when every line was
 * acknowledged by the peers that are here, else once they are or after
 * QUIT_WAIT_MS (the rest ends UNDELIVERED); asked again: at once. A
 * script's input is not read meanwhile.
 */
void	client_leave(struct client *c, int64_t now);
/* A typed line (a message or a command), without its newline. */
void	client_on_line(struct client *c, const uint8_t *p, size_t n);
/* A batch input line longer than the input buffer: refused, its length said. */
void	client_on_overlong(struct client *c, size_t n);
/* keyd's answer to the request whose context is x; x->kx_data is taken. */
void	client_on_answer(struct client *c, struct kx *x, const struct ipc_msg *a,
	    int64_t now);
/*
 * Everything the core does without new input: keyd's answers so far, then
 * per room the link's timers (a connect try when one is due), handshake
 * timeouts, the frames already read as far as the room can take them, a
 * drained link's loss, held lines. 0, or a negative veil_err when keyd
 * broke PROTOCOL.md 3 (keyd is lost). The loop's heart; tests and the fuzz
 * harness call it with everything in memory.
 */
int	client_step(struct client *c, int64_t now) VEIL_WUR;
/* When the next REQ_STATUS is due (the loop's timeout), or INT64_MAX. */
int64_t	client_next_timer(const struct client *c);
/* Next pseudo-random number (retry jitter). */
uint64_t client_rand(struct client *c);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t	chatc_now_ms(void);

/*
 * Runs chatc after start-up: c has its room(s) and its keyd connection (the
 * room's relay resolved), u is the screen or NULL for batch mode. Returns
 * the exit status (CHATC_EXIT_*).
 */
int	client_run(struct client *c, struct ui *u);
/* Asks the main loop to stop (signal-safe): quit on SIGINT/TERM/HUP, resize on SIGWINCH. */
void	client_signal(int sig);

#endif
