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
#include "relayfp.h"

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
 * keyd client, rl_ the relay socket, ctls_ the TLS link's trust (tls.c:
 * what the relay must prove, known_relays), client_ the whole.
 */

#define CHATC_RELAY_DEFAULT	"127.0.0.1:7700"
#define CHATC_HOST_MAX		255
#define CHATC_PATH_MAX		108	/* sun_path */
#define CHATC_ROOMS_MAX		CHATC_UI_WINS	/* rooms one chatc sits in: a window each */
#define CHATC_ROOM_NAME_MAX	255	/* bytes of a room's name */
#define HOLD_MAX		64	/* lines held before the first secure session */
#define LINE_MAX_IN		(MSG_MAX + 2)	/* "//" + MSG_MAX bytes */
#define BACKOFF_FIRST_MS	200
#define BACKOFF_MAX_MS		10000	/* retries go on for as long as the user stays */
#define CONNECT_TIMEOUT_MS	3000
#define CHATC_RELAYS_MAX	8	/* --relay a,b,...: as many as an invite code */
/*
 * Several relays (a cluster, PROTOCOL.md 5.7): after losing a room we were
 * in, the next relay is tried this long after the loss, when every node has
 * counted our old member id out; the others see LEFT before JOINED.
 */
#define FAILOVER_MS		2500
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

#define KR_LOCK_WAIT_MS		2000	/* known_relays locked this long: retry the link later */
#define KR_LOCK_POLL_MS		20
#define KR_MAX			(1024 * 1024)	/* known_relays, at most */

/* ---- options.c ---- */

struct chatc_expect {
	char		 ce_nick[NICK_MAX + 1];
	uint8_t		 ce_fpr[FPR_LEN];
};

struct addrinfo;

/*
 * One relay of a room's list (--relay's, or its invite code's), in the
 * order given (link.c fails over along it).
 */
struct relay_ep {
	char		 re_addr[CHATC_HOST_MAX + 16];	/* as given: HOST:PORT */
	char		 re_host[CHATC_HOST_MAX + 1];
	char		 re_port[8];
	struct addrinfo	*re_ai;		/* resolved before the sandbox; NULL: not usable */
	int		 re_own;	/* re_ai resolved by link_relays (else the client's) */
	int		 re_has_pin;	/* its key is pinned (PROTOCOL.md 1.0): re_pin */
	uint8_t		 re_pin[RELAYFP_LEN];
	const char	*re_pin_from;	/* "--relay-fp" or "the invite code" */
};

/* A room to join at start: --room NAME or --join CODE. */
struct chatc_roomarg {
	const char	*ra_text;
	int		 ra_code;	/* 1: an invite code; 0: a room name */
};

struct chatc_opts {
	const char	*co_room;	/* the first --room NAME (a passphrase room), or NULL */
	const char	*co_join;	/* the first --join CODE (an invite code), or NULL */
	struct chatc_roomarg co_rooms[CHATC_ROOMS_MAX];	/* --room and --join, in order */
	size_t		 co_nrooms;
	int		 co_new_room;	/* --new-room: print an invite code and exit */
	const char	*co_relay_arg;	/* --relay as given, or NULL */
	const char	*co_relay_fp_arg;	/* --relay-fp as given, or NULL */
	const char	*co_nick;
	char		 co_relay[CHATC_HOST_MAX + 16];	/* as given: HOST:PORT (the first) */
	char		 co_host[CHATC_HOST_MAX + 1];
	char		 co_port[8];
	struct relay_ep	 co_relays[CHATC_RELAYS_MAX];	/* every relay of --relay */
	size_t		 co_nrelays;
	char		 co_keyd[CHATC_PATH_MAX];
	struct chatc_expect co_expect[IPC_EXPECT_MAX];
	size_t		 co_nexpect;
	int		 co_give_up;	/* seconds without the room before giving up; 0 never */
	int		 co_plaintext;	/* --plaintext: no TLS (PROTOCOL.md 1.0) */
	int		 co_has_fp;	/* one --relay-fp given to join: co_relay_fp */
	uint8_t		 co_relay_fp[RELAYFP_LEN];
	const char	*co_relay_ca;	/* --relay-ca FILE, or NULL: the system's store */
	const char	*co_forget;	/* --forget-relay HOST:PORT: edit known_relays, exit */
	int		 co_batch;
	int		 co_colour;	/* 0: chatc.conf said colour no */
	int		 co_history;	/* chatc.conf said history yes */
	int		 co_delete_history;	/* --delete-history */
	const char	*co_config;	/* --config FILE */
	const char	*co_keyd_arg;	/* --keyd as given, or NULL */
	int		 co_help;
	int		 co_version;
};

/* ---- chatc.conf (conf.c) ---- */

#define CONF_MAX		(64 * 1024)	/* bytes of chatc.conf */
#define CONF_LINE_MAX		1024

/* What chatc.conf says (empty strings, 0 counts, -1 for a yes/no not given). */
struct chatc_conf {
	char		 cf_path[CHATC_PATH_MAX * 4];
	char		 cf_nick[NICK_MAX + 1];
	char		 cf_relay[CONF_LINE_MAX];	/* as --relay: one, or a list */
	char		 cf_relay_fp[RELAYFP_TEXT_MAX + 1];	/* as --relay-fp, one */
	char		 cf_keyd[CHATC_PATH_MAX];
	char		 cf_rooms[CHATC_ROOMS_MAX][CHATC_ROOM_NAME_MAX + 1];
	size_t		 cf_nrooms;
	char		 cf_joins[CHATC_ROOMS_MAX][CONF_LINE_MAX];	/* invite codes */
	size_t		 cf_njoins;
	uint8_t		 cf_seq[CHATC_ROOMS_MAX];	/* room (0) and join (1) lines, in order */
	struct chatc_expect cf_expect[IPC_EXPECT_MAX];
	size_t		 cf_nexpect;
	int		 cf_give_up;
	int		 cf_colour;
	int		 cf_history;
};

/*
 * Parses the text of a chatc.conf (len bytes, at most CONF_MAX) into *cf.
 * Returns 0, or VEIL_E_INVALID with "line N: what" in err (one line).
 */
int	chatc_conf_parse(const char *text, size_t len, struct chatc_conf *cf, char *err,
	    size_t errlen) VEIL_WUR;
/*
 * Reads and parses path: 0 (also when it does not exist and must_exist is
 * 0: *cf is empty then), or a negative veil_err with "PATH line N: what" or
 * "PATH: what" in err. A file others may write is refused.
 */
int	chatc_conf_read(const char *path, int must_exist, struct chatc_conf *cf, char *err,
	    size_t errlen) VEIL_WUR;
/* $XDG_CONFIG_HOME/veil/chatc.conf, else ~/.config/veil/chatc.conf. 0 or a negative veil_err. */
int	chatc_conf_default(char *out, size_t outlen) VEIL_WUR;

/*
 * The flags alone into *o (nothing required, no defaults yet). 0, or
 * VEIL_E_INVALID with a one-line reason in err (the caller prints it and
 * "Try 'chatc --help'." and exits 2).
 */
int	chatc_opts_flags(int argc, char *const argv[], struct chatc_opts *o,
	    char *err, size_t errlen) VEIL_WUR;
/*
 * What cf says (or NULL) under the flags, then the defaults (the relay; the
 * env gives keyd's socket), then what is required. *cf must outlive *o.
 * Errors as chatc_opts_flags. Nothing to check after --help / --version.
 */
int	chatc_opts_finish(struct chatc_opts *o, const struct chatc_conf *cf, char *err,
	    size_t errlen) VEIL_WUR;
/* chatc_opts_flags then chatc_opts_finish without a file. */
int	chatc_opts_parse(int argc, char *const argv[], struct chatc_opts *o,
	    char *err, size_t errlen) VEIL_WUR;
/*
 * "NICK=FINGERPRINT" into list[n], refusing a nick already in list[0..n).
 * 0 or VEIL_E_INVALID with the reason ("expect: ...") in err.
 */
int	chatc_expect_parse(const char *v, struct chatc_expect *list, size_t n, char *err,
	    size_t errlen) VEIL_WUR;
/* 1 when nick is in list[0..n). */
int	chatc_expect_known(const struct chatc_expect *list, size_t n, const char *nick);

/*
 * Splits "HOST:PORT" or "[V6ADDR]:PORT" (port 1..65535) into host and port.
 * Returns 0 or VEIL_E_INVALID.
 */
int	chatc_split_hostport(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen) VEIL_WUR;
/*
 * Parses a comma-separated list of HOST:PORT (1..CHATC_RELAYS_MAX, each as
 * chatc_split_hostport takes it) into eps[0..*n), re_ai NULL. Returns 0, or
 * VEIL_E_INVALID with a one-line reason in err.
 */
int	chatc_relays_parse(const char *list, struct relay_ep eps[static CHATC_RELAYS_MAX],
	    size_t *n, char *err, size_t errlen) VEIL_WUR;

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

/* A room chatc joins, from an invite code or a room name (chatc_room_from). */
struct chatc_room {
	uint8_t		 cr_id[ROOM_ID_LEN];	/* sent in JOIN */
	uint8_t		 cr_key[ROOM_KEY_LEN];	/* a secret: mixed into handshakes */
	char		 cr_label[CHATC_ROOM_NAME_MAX + 1];	/* what the screen and /who call it */
	size_t		 cr_short;	/* a room name shorter than ROOM_NAME_SHORT: its length */
	char		 cr_name[ROOM_NAME_MAX + 1];	/* a room name (a secret), or "" for a code */
	int		 cr_derived;	/* cr_id, cr_key hold the room (else: after TLS) */
	uint8_t		 cr_salt_fp[RELAYFP_LEN];	/* the relay_id they were salted with */
	int		 cr_has_pin;	/* the relay's key is pinned (--relay-fp, the code): */
	uint8_t		 cr_pin[RELAYFP_LEN];
	const char	*cr_pin_from;	/* "--relay-fp" or "the invite code" */
	char		 cr_relay[CHATC_HOST_MAX + 16];	/* HOST:PORT of its first relay */
	char		 cr_host[CHATC_HOST_MAX + 1];
	char		 cr_port[8];
	/*
	 * Its relays, to fail over along (PROTOCOL.md 5.7): the invite code's,
	 * each with the code's key for it, or --relay's (--relay-fp pins them
	 * all); cr_relay, cr_host, cr_port and cr_has_pin are the first's.
	 */
	struct relay_ep	 cr_eps[CHATC_RELAYS_MAX];
	size_t		 cr_neps;
};

/*
 * The room of an invite code (code 1: its secret; its relays and their
 * keys unless --relay was given) or of a room name (code 0: Argon2id over
 * the name, salted with the relay's key: done here over --plaintext or with
 * --relay-fp, else cr_derived is 0 and link.c derives the room once TLS has
 * proven the key, before JOIN; the relays of --relay or the default), into
 * *cr (cr_eps, re_ai NULL). --relay-fp pins the key of every relay of the
 * room. text is
 * n bytes, not necessarily terminated. 0, VEIL_E_INVALID with a reason in
 * err (a bad code or name: a usage error at start), or another veil_err
 * (err says it). cr is wiped on failure.
 */
int	chatc_room_from(const struct chatc_opts *o, const char *text, size_t n, int code,
	    struct chatc_room *cr, char *err, size_t errlen) VEIL_WUR;

/*
 * The first room of the command line (chatc_room_from), its relay also
 * written into o's co_relay/co_host/co_port. 0 or as chatc_room_from.
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
	LINE_USAGE,		/* a command with an argument it does not take, or without one it needs */
};

enum line_cmd {
	CMD_HELP = 1,
	CMD_WHO,
	CMD_VERIFY,
	CMD_REKEY,
	CMD_QUIT,
	CMD_CLEAR,
	CMD_LASTLOG,
	CMD_WIN,
	CMD_ME,
	CMD_MSG,
	CMD_STATUS,
	CMD_JOIN,
	CMD_PART,
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
	KX_HIST,		/* a history record sealed: appended to the file (hist.c) */
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
struct ssl_st;
struct ssl_ctx_st;

/* rl_tls_step and rl_read's wishes besides 0 and veil_err codes. */
#define RL_WANT_READ		1
#define RL_WANT_WRITE		2

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
	struct ssl_st	*rl_ssl;	/* TLS over rl_fd, or NULL (plaintext, memory) */
	int		 rl_tls_want;	/* RL_WANT_*: what the handshake, or a read
					   that must first write, waits for */
	int		 rl_tls_up;	/* handshake finished: frames go through TLS */
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
/*
 * Starts TLS on the connected socket (PROTOCOL.md 1.0): SNI and the name or
 * address to check a CA chain against come from host. 0, or VEIL_E_ALLOC.
 */
int	rl_tls_start(struct rl_conn *r, struct ssl_ctx_st *ctx, const char *host) VEIL_WUR;
/*
 * One step of the handshake: 0 done, RL_WANT_READ, RL_WANT_WRITE,
 * VEIL_E_LIMIT (the relay refused us before the handshake: its over-cap
 * alert), VEIL_E_AUTH (TLS failed: why says how), or VEIL_E_SYSTEM (the
 * connection failed or closed).
 */
int	rl_tls_step(struct rl_conn *r, char *why, size_t whylen) VEIL_WUR;
/* 1 when bytes read from the socket wait inside libssl (poll cannot see them). */
int	rl_pending(const struct rl_conn *r);
/* Closes the connection and drops both buffers' contents. */
void	rl_close(struct rl_conn *r);
/* rl_close, then frees the buffers and the resolved addresses. */
void	rl_free(struct rl_conn *r);

/* ---- rooms (room.c, link.c, relay_ev.c) ---- */

enum link_state {
	LS_WAIT = 1,		/* not connected; next try at rm_next_try */
	LS_CONNECTING,		/* connect under way */
	LS_TLS,			/* TLS handshake, then the relay's key checked (tls.c) */
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
	LT_TLS,			/* the TLS handshake failed, or known_relays was locked */
};

/* How the relay's key was accepted (PROTOCOL.md 1.0), rm_relay_auth. */
enum relay_auth {
	RA_NONE = 0,		/* not yet, or --plaintext */
	RA_PINNED,		/* equal to the pin (--relay-fp, an invite code) */
	RA_CA,			/* a CA chain for the host name */
	RA_KNOWN,		/* equal to known_relays' entry */
	RA_NEW,			/* first use: now in known_relays */
};

struct client;

struct room {
	struct client	*rm_cl;
	uint32_t	 rm_serial;	/* never reused in one run; keyd answers name it */
	uint32_t	 rm_token;	/* the last /rekey PING token we used */
	size_t		 rm_idx;	/* index in the client's list (events) */
	const char	*rm_name;	/* what people see it called: rm_namebuf (no secret) */
	const char	*rm_relay;	/* "HOST:PORT": rm_relaybuf */
	const char	*rm_host;	/* its HOST (rm_hostbuf): SNI, and the name a CA chain must match */
	char		 rm_namebuf[CHATC_ROOM_NAME_MAX + 1];
	char		 rm_relaybuf[CHATC_HOST_MAX + 16];
	char		 rm_hostbuf[CHATC_HOST_MAX + 1];
	size_t		 rm_short;	/* a room name shorter than ROOM_NAME_SHORT: its length */
	char		 rm_ename[ESC_MAX(64) + 1];	/* the name for events: escaped, cut */
	int		 rm_ai_borrowed;	/* rm_rl.rl_ai is the client's: not freed here */
	struct relay_ep	 rm_epbuf[CHATC_RELAYS_MAX];	/* its own copy of its relays */
	int		 rm_alloc;	/* malloc'd: client_part frees it */
	/*
	 * The relays to fail over along (link_relays: rm_epbuf), or none
	 * (rm_neps 0: rm_relay and rm_rl's addresses are the caller's).
	 * rm_ep is the one in use, rm_round how many failed in a row since
	 * the last backoff.
	 */
	struct relay_ep	*rm_eps;
	size_t		 rm_neps;
	size_t		 rm_ep;
	size_t		 rm_round;
	/*
	 * The relay's key (PROTOCOL.md 1.0). rm_pin: what it must be, from
	 * --relay-fp or (veil/2) the invite code's fp for this relay, set
	 * before the first connect; rm_pin_from names the source for
	 * messages. rm_relay_fp: the fingerprint proven on the current link
	 * (zeros over --plaintext), the relay_id that salts room names
	 * (roomkey_from_name), valid once rm_relay_auth != RA_NONE.
	 */
	int		 rm_has_pin;
	uint8_t		 rm_pin[RELAYFP_LEN];
	const char	*rm_pin_from;
	uint8_t		 rm_relay_fp[RELAYFP_LEN];
	int		 rm_relay_auth;	/* enum relay_auth */
	int64_t		 rm_auth_next;	/* LS_TLS, handshake done: next try of the pin lock */
	/*
	 * A room known by name (--room) is salted with the relay's key
	 * (PROTOCOL.md 4): rm_secret_name keeps the name until the link has
	 * proven a key, rm_derived says rm_id/rm_key hold the room derived
	 * with rm_salt_fp. Wiped by rm_free.
	 */
	char		 rm_secret_name[ROOM_NAME_MAX + 1];
	int		 rm_derived;
	uint8_t		 rm_salt_fp[RELAYFP_LEN];
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
	struct dlv	 rm_dlv;	/* what each peer identity acknowledged (tx.c) */
	struct ev_status rm_view;	/* scratch for the status event */
};

/*
 * Sets up r (caller-owned storage) for the room cr (id and key copied; its
 * label is what people see) on relay ("HOST:PORT", copied, for messages:
 * cr's first relay if it has any). cr's relays are copied into rm_epbuf
 * for link_relays, which gives the room its addresses (else they are put
 * into rm_rl by the caller, or borrowed: rm_ai_borrowed). The room starts
 * in LS_WAIT with a try due now. 0.
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

/*
 * The relays r fails over along (PROTOCOL.md 5.7), eps[0..n) copied into
 * r's rm_epbuf (eps may be rm_epbuf itself). One whose re_ai is set keeps
 * those addresses, borrowed (the client's cache: rooms.c), never freed
 * here; the others are resolved here, before the sandbox (one that does
 * not resolve is said on stderr and skipped). The first usable becomes
 * r's. 0, or VEIL_E_SYSTEM with a reason in err when none is usable.
 */
int	link_relays(struct room *r, const struct relay_ep *eps, size_t n, char *err,
	    size_t errlen) VEIL_WUR;
/* Frees the addresses link_relays resolved, not borrowed ones (rm_free calls it). */
void	link_relays_free(struct room *r);
/* Timers of the link: connect, join and keepalive timeouts, pings, --give-up. */
void	link_tick(struct room *r, int64_t now);
/* 1 when a connect try is due (LS_WAIT and its time has come). */
int	link_wants_connect(const struct room *r, int64_t now);
/* A connect try began (LS_CONNECTING); it must end by rm_connect_end. */
void	link_connecting(struct room *r, int64_t now);
/* The connection is up: JOIN is queued (LS_JOINING). */
void	link_connected(struct room *r, int64_t now);
/*
 * The connect try failed with errno err: retry after a backoff (with
 * several relays, the next one at once, and a backoff once all failed).
 */
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
 * every session is dropped, a retry is scheduled (LS_WAIT): with several
 * relays, through the next one, FAILOVER_MS after losing a room we were in.
 */
void	link_lost(struct room *r, int64_t now);
/* WELCOME as member me (LS_JOINED). */
void	link_joined(struct room *r, uint16_t me, int64_t now);
/*
 * The TCP connection is up: TLS starts (LS_TLS), or over --plaintext JOIN
 * is queued at once (link_connected).
 */
void	link_tcp_up(struct room *r, int64_t now);
/*
 * The socket is ready for what the handshake waits for, or a pin lock try
 * is due: the next handshake step, then the relay's key checked; on
 * success link_connected. A failure retries after a backoff; a key that
 * is not the one pinned ends chatc (QUIT_RELAY_KEY).
 */
void	link_tls_event(struct room *r, int64_t now);
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
/*
 * A line for member p only (/msg; p secure): queued for p's identity alone
 * (TEXT flag INNER_PRIVATE), never held; shown as ours with EVF_PRIVATE.
 */
void	tx_line_to(struct room *r, const struct peer *p, const uint8_t *text, size_t len,
	    uint32_t n);
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
/*
 * EV_MINE (queued for `of` peers) or EV_HELD with our own text, line number
 * num; to: the one member it went to (/msg), or NULL.
 */
void	emit_mine(struct room *r, int kind, const char *to, const uint8_t *text, size_t n,
	    uint32_t num, unsigned int of);
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
/* e as an event of room r (ev_room and the rest filled in here). */
void	emit_event(struct room *r, struct ev *e);
/* An event with nothing but its kind (EV_CLEAR, EV_FOCUS), or with ev_text (EV_LASTLOG). */
void	emit_plain(struct room *r, int kind, const uint8_t *text, size_t n);
/* The reason keyd gave in an IPC_ANS_ERROR, escaped, into buf. */
const char *keyd_reason(const struct ipc_msg *a, char *buf, size_t cap);

/* ---- the local history (hist.c) ---- */

#define HIST_VERSION		1
#define HIST_REPLAY		500	/* records shown at start, the last ones */
#define HIST_FILE_MAX		(64 * 1024 * 1024)	/* read at most this much of it */

enum hist_flag {
	HR_MINE		= 0x01,
	HR_ACTION	= 0x02,
	HR_PRIVATE	= 0x04,
	HR_ALL		= 0x07,
};

struct hist_rec {
	int64_t		 hr_time;
	uint8_t		 hr_flags;
	char		 hr_room[CHATC_ROOM_NAME_MAX + 1];
	char		 hr_who[NICK_MAX + 1];
	uint8_t		 hr_text[MSG_MAX];
	size_t		 hr_textlen;
};

struct hist {
	int		 h_on;
	int		 h_fd;		/* opened before the sandbox, appended to */
	char		 h_path[4 * CHATC_PATH_MAX];
	unsigned int	 h_failed;	/* records that could not be kept */
	struct hist_rec	*h_rec;		/* opened at start, shown by hist_replay */
	size_t		 h_nrec;
};

/* $XDG_STATE_HOME/veil/history, else ~/.local/state/veil/history. 0 or a negative veil_err. */
int	hist_path(char *out, size_t outlen) VEIL_WUR;
/* Before the sandbox: creates (0600, its directory 0700) or opens path to append. */
int	hist_open(struct hist *h, const char *path, char *err, size_t errlen) VEIL_WUR;
void	hist_close(struct hist *h);
/*
 * A record's plaintext into out: its length, or 0 when a field is out of
 * bounds or cap too small.
 */
size_t	hist_encode(uint8_t *out, size_t cap, int flags, int64_t when, const char *room,
	    const uint8_t *who, size_t wholen, const uint8_t *text, size_t textlen);
/* A record's plaintext, strictly: 0, or a negative veil_err (*rec zeroed). */
int	hist_decode(const uint8_t *p, size_t n, struct hist_rec *rec) VEIL_WUR;
/*
 * The next sealed record of the file's bytes p[0..n) from *off: 1 with
 * *blob / *len (and *off moved past it), 0 at the end, or a negative
 * veil_err for a broken length or a record cut short.
 */
int	hist_scan(const uint8_t *p, size_t n, size_t *off, const uint8_t **blob,
	    size_t *len) VEIL_WUR;
/*
 * Start-up, after HELLO: keyd opens the last HIST_REPLAY records (one call
 * each). 0 (a sentence in note when some could not be read), or keyd's
 * failure.
 */
int	hist_load(struct hist *h, struct keydc *k, char *note, size_t notelen) VEIL_WUR;
/* The loaded records as EV_HISTORY events to the rooms they belong to; then forgotten. */
void	hist_replay(struct client *c, struct hist *h);
/* A message shown (HR_* flags, who raw): sealed by keyd and appended, when the history is on. */
void	hist_note(struct room *r, int flags, const uint8_t *who, size_t wholen,
	    const uint8_t *text, size_t n);
/* keyd's answer to a REQ_HIST_SEAL. */
void	hist_answer(struct client *c, const struct ipc_msg *a);
/* A record not kept: one WARN per run. */
void	hist_failed(struct client *c, const char *why);
/* chatc --delete-history: removes the file. The exit status. */
int	hist_delete(void);

/* ---- the client (client.c) ---- */

enum client_quit {
	QUIT_NO = 0,
	QUIT_USER,		/* /quit, Ctrl-C, SIGINT/TERM, end of input */
	QUIT_HUP,		/* the terminal went away */
	QUIT_GAVEUP,		/* --give-up */
	QUIT_KEYD,		/* keyd lost: fatal */
	QUIT_RELAY_KEY,		/* the relay's key is not the one pinned: fatal */
};

/* ---- the TLS link's trust (tls.c) ---- */

/*
 * chatc's side of PROTOCOL.md 1.0: the TLS client context (CA store loaded
 * before the sandbox) and the known_relays file (opened before the
 * sandbox; after it, only flock, pread, pwrite and fsync on that
 * descriptor).
 */
struct ctls {
	struct ssl_ctx_st *ct_ctx;
	int		 ct_ca;		/* a CA store is loaded: the CA rule applies */
	int		 ct_krfd;	/* known_relays, or -1 (a pin was given) */
	char		 ct_krpath[4096];
	int		 ct_kr_warned;	/* a line that does not parse was reported */
};

/* What ctls_check decided. */
enum ctls_verdict {
	CT_OK = 0,		/* accepted: *how says why (enum relay_auth) */
	CT_MISMATCH,		/* another key than the one pinned: want, where */
	CT_CAFAIL,		/* a chain from a CA that fails (expired, another host), or
				   any chain --relay-ca does not vouch for: why */
	CT_BUSY,		/* known_relays is locked by another process: try again */
	CT_FAIL,		/* no certificate, or known_relays unusable: why */
};

/*
 * Sets up t before the sandbox for o: the context (TLS 1.3, ALPN veil/1,
 * no tickets), the CA store (--relay-ca FILE, else the system's, when
 * there is one) unless a pin is given, and known_relays (created 0600 in a
 * 0700 directory; looser modes are refused) unless a pin is given.
 * Returns 0, or VEIL_E_SYSTEM / VEIL_E_CRYPTO with a reason in err.
 */
int	ctls_init(struct ctls *t, const struct chatc_opts *o, char *err, size_t errlen) VEIL_WUR;
/* Frees the context, closes known_relays. */
void	ctls_free(struct ctls *t);
/* The default known_relays path ($XDG_DATA_HOME/veil, else ~/.local/share/veil). */
int	ctls_known_relays_path(char *out, size_t outlen) VEIL_WUR;
/*
 * Checks the key of ssl's relay (hostport as given) in PROTOCOL.md 1.0's
 * order: the pin (r's), a CA chain for the host, known_relays. *fp gets
 * the key's fingerprint; on CT_MISMATCH want the pinned one and where
 * ("--relay-fp", "known_relays line N", ...). emits nothing.
 */
int	ctls_check(struct ctls *t, struct ssl_st *ssl, const struct room *r,
	    uint8_t fp[static RELAYFP_LEN], uint8_t want[static RELAYFP_LEN], int *how,
	    char *where, size_t wherelen, char *why, size_t whylen) VEIL_WUR;
/*
 * Looks hostport up in the known_relays text buf (len bytes): 1 found (*fp,
 * *lineno from 1), 0 not. *bad gets the number of the first line that does
 * not parse ("HOST:PORT SHA256:... YYYY-MM-DDTHH:MM:SSZ"), or 0.
 */
int	ctls_kr_find(const char *buf, size_t len, const char *hostport,
	    uint8_t fp[static RELAYFP_LEN], unsigned int *lineno, unsigned int *bad);
/*
 * chatc --forget-relay HOST:PORT: removes its lines from known_relays (the
 * file locked, rewritten in place). Returns the exit status; says what it
 * did on stdout, or why not on stderr.
 */
int	ctls_forget(const char *hostport);

/* A relay some room is on, and its addresses. */
struct chatc_relay {
	char		 cy_addr[CHATC_HOST_MAX + 16];	/* HOST:PORT */
	struct addrinfo	*cy_ai;
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
	size_t		 cl_cur;	/* the room typed lines go to (index in cl_rooms) */
	uint32_t	 cl_lines;	/* messages read so far (DESIGN.md: n) */
	uint32_t	 cl_notsent;	/* lines (or copies of one) reported not sent */
	uint32_t	 cl_undelivered;	/* copies of lines reported UNDELIVERED */
	int64_t		 cl_progress_at;	/* the last DELIVERED */
	int64_t		 cl_leaving;	/* /quit or Ctrl-C with lines unacknowledged: since, 0 */
	int		 cl_quit;	/* enum client_quit */
	int		 cl_multi;	/* more than one room was joined: events name theirs */
	/*
	 * The relays' addresses, resolved before the sandbox (each relay of a
	 * room borrows them).
	 */
	struct chatc_relay cl_relays[CHATC_ROOMS_MAX * CHATC_RELAYS_MAX];
	size_t		 cl_nrelays;
	int		 cl_may_resolve;	/* before the sandbox: a new relay may be looked up */
	struct hist	 cl_hist;
	int		 cl_final;	/* ending: events carry ev_final */
	int64_t		 cl_eof_at;	/* batch input ended, 0 before */
	int64_t		 cl_now;	/* the time of the current step */
	int64_t		 cl_status_at;	/* the next REQ_STATUS is due (0: now) */
	int		 cl_status_asked;	/* one REQ_STATUS in flight */
	uint32_t	 cl_pins_gen;	/* the generation of known_peers last seen, 0 none */
	uint64_t	 cl_rand;	/* retry jitter (not a secret) */
	struct ipc_msg	 cl_req;	/* the request being built */
	struct ctls	*cl_tls;	/* the TLS link, or NULL: --plaintext (or memory) */
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
/*
 * Joins a room (rooms.c), at start (--room, --join) and with /join: the
 * room of an invite code (code 1) or of a room name (code 0), text being n
 * bytes, becomes a new room (allocated) and the current one; already in
 * it: it becomes the current one. Its relay's addresses are the client's
 * (cl_relays); a relay not among them is looked up only while
 * cl_may_resolve (before the sandbox). 0, or a negative veil_err with the
 * reason in err (VEIL_E_INVALID: a bad code or name).
 */
int	client_join(struct client *c, const char *text, size_t n, int code, int64_t now,
	    char *err, size_t errlen) VEIL_WUR;
/* Frees the relays' addresses (cl_relays), once every room is gone. */
void	client_free_relays(struct client *c);
/* A WARN in r if its name is short enough to guess (say it once the screen is up). */
void	client_warn_short(struct room *r);
/*
 * /part: leaves room idx (allocated by client_join or not: alloc says):
 * lines held or still on their way reported not sent, sessions closed, the
 * relay connection closed, the front-end told (EV_PART), the rest of the
 * rooms moved down one. The last room cannot be left (/quit does that).
 */
void	client_part(struct client *c, size_t idx);
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
