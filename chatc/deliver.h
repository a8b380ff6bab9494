/* SPDX-License-Identifier: ISC */
#ifndef VEIL_DELIVER_H
#define VEIL_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "fe.h"
#include "frame.h"
#include "inner.h"

/*
 * Delivery inside the encrypted channel (PROTOCOL.md 2.8), one struct dlv
 * per room: no I/O, no clock of its own. chatc tells it what happens
 * (a session with an identity is up or down, a typed line, an opened inner
 * message, the time) and it answers through struct dlv_ops (seal and send
 * this body to that identity, show this text, line n was delivered or given
 * up, a warning). The unit tests drive it with a fake clock.
 *
 * State is kept per peer identity (the 32-byte Ed25519 key keyd proved),
 * never per nickname or member id: a member that reconnects, or a relay
 * restart, finds its outstanding texts again; another key under the same
 * nickname does not.
 *
 *   - Outstanding texts: ours not yet acknowledged by that identity, seq
 *     acked+1 .. next-1, at most DLV_OUT_MAX (a WARN, and the new line is
 *     UNDELIVERED to it, when the bound is hit). At most DLV_WINDOW of them
 *     in flight: more wait until acknowledgements come (flow control).
 *   - Resend: every outstanding text goes again when a session with that
 *     identity is up again, and when a PONG shows that texts sent before its
 *     PING were lost (go-back-N: from the first unacknowledged one).
 *   - Receiving: texts are shown in the sender's order, each once, per
 *     (stream, seq); acknowledged at most DLV_ACK_MS later or every
 *     DLV_ACK_EVERY texts, and before any PONG.
 *   - Silence: a PING when a text waits DLV_ACK_WAIT_MS for its ACK or
 *     nothing was heard for DLV_IDLE_MS; no answer for DLV_SILENT_MS, or
 *     nothing heard for that long while a PING waits: WARN.
 *   - Room view: VIEW (the identities we hold a secure session with, and
 *     ours) on every change (debounced) and every DLV_VIEW_EVERY_MS; an
 *     identity that one side has and the other lacks for DLV_VIEW_GRACE_MS
 *     in a row: WARN naming it. dlv_room_code() is the short code.
 */

#define DLV_ID_LEN		ED25519_PUB_LEN	/* an identity: its Ed25519 public key */
#define DLV_PEERS_MAX		ROOM_SIZE_MAX	/* identities one room tracks */
#define DLV_OUT_MAX		1024	/* outstanding texts per identity */
#define DLV_WINDOW		64	/* texts in flight per identity */
#define DLV_ACK_MS		200	/* an ACK waits at most this long */
#define DLV_ACK_EVERY		32	/* ... or this many texts */
#define DLV_ACK_WAIT_MS		1000	/* a text unacknowledged this long: PING */
#define DLV_IDLE_MS		10000	/* nothing heard this long: PING */
#define DLV_REPING_MS		5000	/* a PING unanswered this long: another */
#define DLV_SILENT_MS		20000	/* a PING unanswered (or nothing heard) this long: WARN */
#define DLV_VIEW_DEBOUNCE_MS	2000
#define DLV_VIEW_EVERY_MS	60000
#define DLV_VIEW_GRACE_MS	10000	/* a difference of views lasting this long: WARN */
#define DLV_AWAY_MS		120000	/* an identity away this long: its texts are given up */
#define DLV_RX_STREAMS		4	/* streams remembered per identity */
#define DLV_VIEW_MAX		INNER_VIEW_MAX	/* identities in one VIEW */
#define DLV_CODE_LEN		11	/* "12345 67890" */

/* One of our lines, shared by every peer it is outstanding for. */
struct dlv_text {
	uint32_t	 dt_refs;
	uint32_t	 dt_line;	/* the line's number (DESIGN.md: n) */
	uint8_t		 dt_flags;	/* INNER_PRIVATE */
	uint16_t	 dt_to;		/* identities it was queued for */
	uint16_t	 dt_acked;	/* ... that acknowledged it */
	uint16_t	 dt_failed;	/* ... given up */
	size_t		 dt_len;
	uint8_t		 dt_text[];
};

struct dlv_rx {			/* a stream we receive from an identity */
	uint64_t	 rx_stream;
	uint32_t	 rx_last;	/* the last seq shown */
	uint32_t	 rx_unacked;	/* shown (or repeated) since the last ACK */
	int64_t		 rx_used;	/* LRU */
	int		 rx_have;
};

struct dlv_diff {		/* an identity one view has and the other lacks */
	uint8_t		 df_id[DLV_ID_LEN];
	uint8_t		 df_theirs;	/* 1: they have it, we lack it */
	int64_t		 df_since;
	int		 df_said;
	int		 df_mark;	/* scratch */
};

struct dlv_peer {
	int		 dp_used;
	uint8_t		 dp_id[DLV_ID_LEN];
	uint8_t		 dp_nick[NICK_MAX];	/* raw, for events */
	size_t		 dp_nicklen;
	char		 dp_name[PEER_NAME_MAX];	/* escaped, for lines */
	int		 dp_up;		/* a secure session now */
	int		 dp_quiet;	/* nothing unasked (VIEW, PING) until it says something */
	int64_t		 dp_down_at;	/* when it went down (dp_up 0) */
	/* Ours to it: seq acked+1 .. next-1 at dp_out[seq % DLV_OUT_MAX]. */
	struct dlv_text	**dp_out;
	uint32_t	 dp_next;	/* the seq of the next text queued */
	uint32_t	 dp_acked;	/* every seq <= this was acknowledged */
	uint32_t	 dp_sent;	/* every seq <= this was sent in this session */
	int64_t		 dp_wait_since;	/* in flight and unacknowledged since, 0 none */
	int		 dp_full_said;	/* the bound was hit (said once until it drains) */
	/* Liveness. */
	int64_t		 dp_heard;	/* the last authentic message from it */
	uint32_t	 dp_tok;	/* the last PING's token */
	uint32_t	 dp_tok_first;	/* the first unanswered PING's token */
	int64_t		 dp_ping_first;	/* the first unanswered PING, 0 none */
	int64_t		 dp_ping_last;
	uint32_t	 dp_ping_sent;	/* dp_sent when the last PING went */
	int		 dp_silent_said;
	/* Theirs to us. */
	struct dlv_rx	 dp_rx[DLV_RX_STREAMS];
	int64_t		 dp_ack_due;	/* an ACK is due then, 0 none */
	int		 dp_gap_said;
	/* Their room view. */
	int		 dp_have_view;
	size_t		 dp_nview;
	uint8_t		 dp_view[DLV_VIEW_MAX][DLV_ID_LEN];
	size_t		 dp_ndiff;
	struct dlv_diff	 dp_diff[2 * DLV_VIEW_MAX];
};

/* How the room's delivery state reaches the world (chatc's sess.c, tests). */
struct dlv_ops {
	/*
	 * Seal body as inner kind for identity p (its current session) and
	 * send it. 0, or a negative veil_err: not sent (tried again later).
	 */
	int	(*do_send)(void *arg, const struct dlv_peer *p, uint8_t kind,
		    const uint8_t *body, size_t len);
	/* A text from p, shown once and in order (flags: INNER_PRIVATE). */
	void	(*do_show)(void *arg, const struct dlv_peer *p, const uint8_t *text,
		    size_t len, uint8_t flags);
	/* Our line t was acknowledged by p (t->dt_acked counts it already). */
	void	(*do_delivered)(void *arg, const struct dlv_peer *p, const struct dlv_text *t);
	/* We gave up on line t to p; reason is one word (PROTOCOL.md 2.8). */
	void	(*do_undelivered)(void *arg, const struct dlv_peer *p,
		    const struct dlv_text *t, const char *reason);
	/* A line for the person: warn 1 (EV_WARN) or 0 (EV_INFO); text is safe to print. */
	void	(*do_say)(void *arg, int warn, const char *text);
	/* The fingerprint text (FPR_TEXT_LEN + 1) of an identity, for warnings. */
	void	(*do_fpr)(void *arg, const uint8_t id[static DLV_ID_LEN], char *out);
};

struct dlv {
	const struct dlv_ops *dl_ops;
	void		*dl_arg;
	uint8_t		 dl_room[ROOM_ID_LEN];
	uint8_t		 dl_me[DLV_ID_LEN];
	uint64_t	 dl_stream;	/* our stream in this room (random per run) */
	struct dlv_peer	*dl_p;		/* DLV_PEERS_MAX entries */
	int64_t		 dl_view_due;	/* our VIEW is due then, 0 none */
	int64_t		 dl_view_next;	/* the periodic one */
	uint32_t	 dl_tok;	/* PING tokens */
};

/*
 * Sets up d (caller-owned) for room id room, our identity me and our stream
 * (random per run, from the caller). 0 or VEIL_E_ALLOC.
 */
int	dlv_init(struct dlv *d, const struct dlv_ops *ops, void *arg,
	    const uint8_t room[static ROOM_ID_LEN], const uint8_t me[static DLV_ID_LEN],
	    uint64_t stream) VEIL_WUR;
/* Frees everything (reporting nothing: dlv_give_up first). */
void	dlv_free(struct dlv *d);

/* A new text of ours (refs 1), or NULL. dlv_text_unref frees it at 0, wiped. */
struct dlv_text *dlv_text_new(const uint8_t *p, size_t n, uint32_t line, uint8_t flags);
void	dlv_text_unref(struct dlv_text *t);

/* The tracked identity id, or NULL. */
struct dlv_peer *dlv_find(struct dlv *d, const uint8_t id[static DLV_ID_LEN]);

/*
 * A secure session with identity id (nickname nick, escaped name) is up:
 * a new one, or a new handshake with the same identity. Everything
 * outstanding to it is sent again (from the first unacknowledged text),
 * and our VIEW is due. An identity that had the same nickname with
 * another key gives up its outstanding texts (reason "identity-changed").
 * quiet (we were the responder): no VIEW or PING goes to it before it has
 * said something, so a member probing names learns nothing from the
 * session unless it speaks first (PROTOCOL.md 2.8). The peer, or NULL when
 * the table is full of identities that are up.
 */
struct dlv_peer *dlv_up(struct dlv *d, const uint8_t id[static DLV_ID_LEN],
	    const uint8_t *nick, size_t nicklen, const char *name, int quiet, int64_t now);
/* The session with id is gone (left, closed, the relay lost): texts wait. */
void	dlv_down(struct dlv *d, const uint8_t id[static DLV_ID_LEN], int64_t now);

/*
 * One of our lines for every tracked identity (up, or away for less than
 * DLV_AWAY_MS; only to would-be p with INNER_PRIVATE); sent at once where
 * the window allows. Returns the number of identities it was queued for
 * (0: the caller holds the line), or VEIL_E_ALLOC.
 */
int	dlv_line(struct dlv *d, const uint8_t *text, size_t len, uint32_t line,
	    const struct dlv_peer *only, int64_t now) VEIL_WUR;

/*
 * An authentic inner message of kind from identity id (keyd opened it and
 * checked the body's layout; gap: messages keyd saw missing before it).
 * 0, or VEIL_E_INVALID when it breaks PROTOCOL.md 2.8 (an ACK of a text
 * never sent, a VIEW without the two of us): chatc says so; nothing changed.
 */
int	dlv_open(struct dlv *d, const uint8_t id[static DLV_ID_LEN], uint8_t kind,
	    const uint8_t *body, size_t len, uint32_t gap, int64_t now) VEIL_WUR;

/*
 * The ACKs due are sent now, not at their timer: the caller has nothing
 * more to read (an idle receiver acknowledges at once; a busy one every
 * DLV_ACK_EVERY texts).
 */
void	dlv_ack_now(struct dlv *d);
/* Timers: ACKs due, PINGs, silence, VIEWs, view differences, identities away too long. */
void	dlv_tick(struct dlv *d, int64_t now);
/* The earliest time dlv_tick has something to do, or INT64_MAX. */
int64_t	dlv_next_timer(const struct dlv *d);

/* Every outstanding text of every identity is given up (reason), in line order per peer. */
void	dlv_give_up(struct dlv *d, const char *reason);
/* Outstanding texts over all identities (copies). */
size_t	dlv_outstanding(const struct dlv *d);
/* p's outstanding texts. */
uint32_t dlv_peer_outstanding(const struct dlv_peer *p);
/* p's texts in flight (sent, unacknowledged). */
uint32_t dlv_peer_inflight(const struct dlv_peer *p);
/* p's n-th outstanding text (0 oldest), or NULL. */
const struct dlv_text *dlv_peer_text(const struct dlv_peer *p, uint32_t i);

/*
 * Our room view: the distinct identities we hold a secure session with,
 * and ours, ascending (memcmp), into ids (DLV_VIEW_MAX * DLV_ID_LEN bytes).
 * Returns the count.
 */
size_t	dlv_view(const struct dlv *d, uint8_t *ids);
/*
 * The room code (PROTOCOL.md 2.8) of room and n ids (n * DLV_ID_LEN bytes,
 * ascending, distinct):
 * "DDDDD DDDDD" and a NUL into out (DLV_CODE_LEN + 1). 0, or VEIL_E_CRYPTO.
 */
int	dlv_room_code(const uint8_t room[static ROOM_ID_LEN], const uint8_t *ids, size_t n,
	    char out[static DLV_CODE_LEN + 1]) VEIL_WUR;
/* dlv_room_code of our view. */
int	dlv_code(const struct dlv *d, char out[static DLV_CODE_LEN + 1]) VEIL_WUR;

/* The fingerprint bytes of an identity (F(id), PROTOCOL.md 4). 0 or VEIL_E_CRYPTO. */
int	dlv_fpr(const uint8_t id[static DLV_ID_LEN], uint8_t fpr[static FPR_LEN]) VEIL_WUR;

#endif
