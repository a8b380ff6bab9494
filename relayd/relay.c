/* SPDX-License-Identifier: ISC */
/*
 * relayd's server: accepts, reads frames, routes them between the members
 * of a room, enforces the limits. One turn of the loop (relayd_step): epoll
 * events (reads queue output on the recipients, problems only mark a
 * connection), timeouts, then closes and writes until nothing is left, so
 * a broadcast never waits on any one reader and each socket gets one
 * write() per turn with every frame queued for it. Flow control (relay.h)
 * costs the common case one comparison per frame queued; the rest runs
 * only while some reader's queue is past the soft bound.
 *
 * Over TLS (tls.h) a connection first runs its handshake, which has no
 * frames and so no ERROR to send; it counts against every cap and
 * --idle-timeout like any new connection. Its SSL object is made at its
 * first byte, so a connection that never speaks costs only its struct.
 * libssl may hold bytes already read from the socket, which epoll cannot
 * see: such a connection goes on r_pending and is read again next turn.
 *
 * In a cluster (--cluster, cluster.h, PROTOCOL.md 5) a JOIN waits for the
 * room's owner, somewhere on the bus, to give its member id; meanwhile the
 * connection is not read. JOINED and LEFT of members on other nodes come
 * from the core (clcore.h); frames go to the bus when the room spans nodes
 * and come from it through the same relayd_send, so flow control, the
 * queue bounds and the order of frames hold as on one relay. A room held
 * back by a reader on another node (a HOLD) counts as a blocking reader.
 */
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clcore.h"
#include "clmsg.h"
#include "cluster.h"
#include "conn.h"
#include "err.h"
#include "ev.h"
#include "frame.h"
#include "relay.h"
#include "room.h"
#include "tls.h"

#define RELAYD_RBUF_SIZE	RELAYD_READ_MAX	/* one read() takes up to this */
#define RELAYD_ACCEPT_BATCH	64		/* accepts per readiness event */
#define RELAYD_MAX_LISTEN	4
#define RELAYD_STOP		VEIL_E_STATE	/* frame handler: stop parsing */

/* Which links of a connection a list uses. */
enum relayd_links {
	RELAYD_L_TIME,		/* conn_time */
	RELAYD_L_WAIT,		/* conn_wait */
	RELAYD_L_BLOCK,		/* conn_block */
};

struct relayd_list {
	struct conn	*rl_first;
	struct conn	*rl_last;
	int		 rl_links;	/* enum relayd_links */
};

struct relayd {
	struct relayd_config	 r_cfg;
	struct ev_loop		*r_ev;
	struct conn_pool	 r_pool;
	struct room_table	 r_rooms;
	struct addr_table	 r_addrs;	/* --max-per-addr (empty without it) */
	uint8_t			*r_rbuf;
	int			 r_lfd[RELAYD_MAX_LISTEN];
	int			 r_nlisten;
	int			 r_sigfd;
	int			 r_spare;	/* reserved fd for EMFILE */
	int			 r_stop;
	struct relayd_list	 r_new;		/* not joined, by accept time */
	struct relayd_list	 r_live;	/* joined, least recently heard first */
	struct relayd_list	 r_drain;	/* closed, last frames still going out */
	struct relayd_list	 r_wait;	/* output waiting, least recent progress first */
	struct relayd_list	 r_block;	/* blocking readers, oldest first */
	size_t			 r_low;		/* low-water mark: rc_out_soft / 4 */
	struct conn		*r_dirty;	/* output queued this turn */
	struct conn		*r_closing;	/* to close at the end of the turn */
	struct conn		*r_pending;	/* input held inside libssl */
	struct relayd_stats	 r_stats;
	int64_t			 r_now;		/* this turn's clock, once read */
	int			 r_now_ok;	/* r_now read in this turn */
	struct cluster		*r_cl;		/* --cluster, or NULL */
	struct clc		*r_clc;		/* its core */
	int			 r_clblocked;	/* the bus takes nothing now (cluster_blocked) */
	int			 r_cltimeout;	/* ms until the cluster's next turn */
};

static void	relayd_drained(struct relayd *, struct conn *);
static void	relayd_mark(struct relayd *, struct conn *, enum relayd_reason, uint8_t);

void
relayd_config_default(struct relayd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));	/* rc_tls NULL: plaintext until main sets it */
	cfg->rc_max_clients = 1024;
	cfg->rc_max_frame = FRAME_MAX_DEFAULT;
	cfg->rc_room_size = ROOM_SIZE_DEFAULT;
	cfg->rc_idle_ms = 10 * 1000;
	cfg->rc_keepalive_ms = KEEPALIVE_MISSES * KEEPALIVE_SEC * 1000;
	cfg->rc_linger_ms = 5 * 1000;
	cfg->rc_stall_ms = RELAYD_STALL_MS;
	cfg->rc_slow_ms = RELAYD_SLOW_SEC * 1000;
	cfg->rc_max_per_addr = 0;
	cfg->rc_out_soft = RELAYD_QUEUE_SOFT;
	cfg->rc_out_max = RELAYD_QUEUE_HARD;
}

static int64_t
relayd_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC through the vDSO cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The clock for this turn: read once, at the first need, so a turn costs at
 * most one clock_gettime however many events it handles.
 */
static int64_t
relayd_clock(struct relayd *r)
{
	if (!r->r_now_ok) {
		r->r_now = relayd_now();
		r->r_now_ok = 1;
	}
	return r->r_now;
}

static struct conn_links *
list_links(const struct relayd_list *l, struct conn *c)
{
	switch (l->rl_links) {
	case RELAYD_L_WAIT:
		return &c->conn_wait;
	case RELAYD_L_BLOCK:
		return &c->conn_block;
	default:
		return &c->conn_time;
	}
}

/* Doubly linked lists, ordered by a time: new entries go last. */
static void
list_append(struct relayd_list *l, struct conn *c)
{
	struct conn_links *k = list_links(l, c);

	k->cl_next = NULL;
	k->cl_prev = l->rl_last;
	if (l->rl_last != NULL)
		list_links(l, l->rl_last)->cl_next = c;
	else
		l->rl_first = c;
	l->rl_last = c;
}

static void
list_remove(struct relayd_list *l, struct conn *c)
{
	struct conn_links *k = list_links(l, c);

	if (k->cl_prev != NULL)
		list_links(l, k->cl_prev)->cl_next = k->cl_next;
	else
		l->rl_first = k->cl_next;
	if (k->cl_next != NULL)
		list_links(l, k->cl_next)->cl_prev = k->cl_prev;
	else
		l->rl_last = k->cl_prev;
	k->cl_prev = k->cl_next = NULL;
}

/* Moves c to the end of l (its time was just renewed). */
static void
list_touch(struct relayd_list *l, struct conn *c)
{
	if (l->rl_last != c) {
		list_remove(l, c);
		list_append(l, c);
	}
}

static struct relayd_list *
relayd_list_of(struct relayd *r, const struct conn *c)
{
	if (c->conn_state == CONN_NEW)
		return &r->r_new;
	if (c->conn_state == CONN_JOINED)
		return &r->r_live;
	return NULL;
}

/*
 * Sets c's epoll interest from its state: reading unless held back, writing
 * while output waits. A handshake waits for one direction only, and so
 * does a TLS read that must first write (its socket full): reading on
 * then would only spin.
 */
static int
relayd_arm(struct relayd *r, struct conn *c)
{
	int mask;

	if (c->conn_tls == CONN_TLS_HANDSHAKE)
		mask = c->conn_tls_want;
	else if (c->conn_tls_want == EV_WRITE)
		mask = EV_WRITE;
	else
		mask = (c->conn_rd_off ? 0 : EV_READ) | (c->conn_want_out ? EV_WRITE : 0);
	return ev_set_mask(r->r_ev, c->conn_fd, mask);
}

/* Puts c on the list of connections to read next turn (input inside libssl). */
static void
relayd_pend(struct relayd *r, struct conn *c)
{
	if (c->conn_pending)
		return;
	c->conn_pending = 1;
	c->conn_pendlink = r->r_pending;
	r->r_pending = c;
}

static void
relayd_unpend(struct relayd *r, struct conn *c)
{
	struct conn **pp;

	if (!c->conn_pending)
		return;
	for (pp = &r->r_pending; *pp != NULL; pp = &(*pp)->conn_pendlink) {
		if (*pp == c) {
			*pp = c->conn_pendlink;
			break;
		}
	}
	c->conn_pendlink = NULL;
	c->conn_pending = 0;
}

/*
 * Is c held back: is another member of its room blocking (on this node or,
 * in a cluster, another), or is the room on the bus and the bus full?
 */
static int
relayd_held(const struct relayd *r, const struct conn *c)
{
	const struct room *room = c->conn_room;

	if (room == NULL)
		return 0;
	if (room->room_nblock > c->conn_blocking)
		return 1;
	return r->r_clblocked && room->room_cl != NULL && clc_spans(room->room_cl);
}

/* Reads c again (if nothing holds it back any more). */
static void
relayd_resume(struct relayd *r, struct conn *c)
{
	if (!c->conn_rd_off || relayd_held(r, c) || c->conn_state != CONN_JOINED)
		return;
	c->conn_rd_off = 0;
	/* Its silence while we did not read it was ours: the keepalive starts anew. */
	c->conn_seen_ms = relayd_clock(r);
	list_touch(&r->r_live, c);
	if (relayd_arm(r, c) != 0) {
		relayd_mark(r, c, RELAYD_R_IOERR, 0);
		return;
	}
	/* What libssl read before it was held back: epoll will not say so. */
	if (c->conn_ssl != NULL && rtls_pending(c->conn_ssl))
		relayd_pend(r, c);
}

/*
 * c's queue passed the soft bound: its room's other members are no longer
 * read (each when it next has input; relayd_conn_event), so TCP holds back
 * whoever floods, until c drains or its stall window ends.
 */
static void
relayd_block(struct relayd *r, struct conn *c)
{
	struct room *room = c->conn_room;

	c->conn_blocking = 1;
	c->conn_block_ms = relayd_clock(r);
	list_append(&r->r_block, c);
	room->room_nblock++;
	r->r_stats.rs_blocked++;
	/* The first reader here to hold it back: the other nodes hold it back too. */
	if (room->room_cl != NULL && room->room_nblock - room->room_nremote == 1)
		clc_hold(r->r_clc, room->room_cl, 1);
}

/* The members not held any more read again. */
static void
relayd_room_resume(struct relayd *r, struct room *room)
{
	int i;

	for (i = 0; i < room->room_n; i++)
		relayd_resume(r, room->room_members[i].rm_data);
}

/* c no longer holds its room back; released: its stall window ran out. */
static void
relayd_unblock(struct relayd *r, struct conn *c, int released)
{
	struct room *room = c->conn_room;

	if (released)
		c->conn_released = 1;
	if (!c->conn_blocking)
		return;
	c->conn_blocking = 0;
	list_remove(&r->r_block, c);
	room->room_nblock--;
	if (room->room_cl != NULL && room->room_nblock == room->room_nremote)
		clc_hold(r->r_clc, room->room_cl, 0);
	if (room->room_nblock > 1)
		return;
	relayd_room_resume(r, room);
}

/*
 * Marks c for closing at the end of the turn, with ERROR code queued as its
 * last frame (0: none). Its queue is dropped first for a stalled reader.
 * It holds no one back from now on.
 */
static void
relayd_mark(struct relayd *r, struct conn *c, enum relayd_reason why, uint8_t code)
{
	struct relayd_list *l;

	if (c->conn_state >= CONN_CLOSING)
		return;
	if ((l = relayd_list_of(r, c)) != NULL)
		list_remove(l, c);
	if (c->conn_want_out) {
		list_remove(&r->r_wait, c);
		c->conn_want_out = 0;
	}
	c->conn_state = CONN_CLOSING;
	c->conn_reason = (uint8_t)why;
	c->conn_released = 0;
	relayd_unpend(r, c);
	if (c->conn_blocking)
		relayd_unblock(r, c, 0);
	/* Before its handshake a TLS connection has no way to carry a frame. */
	if (c->conn_tls == CONN_TLS_HANDSHAKE)
		code = 0;
	/* Best effort: without memory for it the connection just closes. */
	if (code != 0 && conn_queue_error(&r->r_pool, c, code,
	    why == RELAYD_R_SLOW || why == RELAYD_R_STALLED) != 0)
		c->conn_reason = RELAYD_R_NOMEM;
	c->conn_closelink = r->r_closing;
	r->r_closing = c;
}

static void
relayd_dirty(struct relayd *r, struct conn *c)
{
	if (c->conn_dirty)
		return;
	c->conn_dirty = 1;
	c->conn_link = r->r_dirty;
	r->r_dirty = c;
}

/*
 * Queues a frame for c. Past the soft bound c blocks its room's senders;
 * past the hard bound c is disconnected, never the sender.
 */
static void
relayd_send(struct relayd *r, struct conn *c, uint8_t type, uint16_t src, uint16_t dst,
    const uint8_t *payload, uint32_t len)
{
	int rc;

	if (c->conn_state >= CONN_CLOSING)
		return;
	rc = conn_queue(&r->r_pool, c, type, src, dst, payload, len);
	if (rc == VEIL_E_LIMIT) {
		relayd_mark(r, c, RELAYD_R_SLOW, FE_SLOW);
		return;
	}
	if (rc != 0) {
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
		return;
	}
	r->r_stats.rs_frames_out++;
	relayd_dirty(r, c);
	/* The only test the common case pays: is the queue past the soft bound? */
	if (conn_queued(c) > r->r_cfg.rc_out_soft && !c->conn_blocking &&
	    !c->conn_released && c->conn_room != NULL)
		relayd_block(r, c);
}

/* c joined room as member id: it is told who is there, and read from now on. */
static void
relayd_joined(struct relayd *r, struct conn *c, struct room *room, uint16_t id)
{
	list_remove(&r->r_new, c);
	c->conn_state = CONN_JOINED;
	c->conn_join_only = 0;
	c->conn_room = room;
	c->conn_member = id;
	c->conn_seen_ms = relayd_clock(r);
	list_append(&r->r_live, c);
	r->r_stats.rs_joins++;
}

static void
relayd_welcome(struct relayd *r, struct conn *c, const uint16_t *ids, size_t n)
{
	uint8_t welcome[2 + 2 * ROOM_SIZE_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		veil_put16(welcome + 2 + 2 * i, ids[i]);
	veil_put16(welcome, (uint16_t)n);
	relayd_send(r, c, FT_WELCOME, MEMBER_NONE, c->conn_member, welcome, 2 + 2 * (uint32_t)n);
}

/*
 * A JOIN in a cluster: the room's owner is asked for a place (PROTOCOL.md
 * 5.4); c is not read until it answers (relayd_cl_admitted, _refused).
 */
static int
relayd_cl_join(struct relayd *r, struct conn *c, const struct frame *f)
{
	uint8_t key[CL_KEY_LEN];
	struct clc_room *cr;
	int rc;

	if (clm_room_key(f->fr_payload, key) != 0) {
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
		return RELAYD_STOP;
	}
	rc = clc_join(r->r_clc, relayd_clock(r), key, c, &cr);
	memset(key, 0, sizeof(key));
	if (rc == VEIL_E_STATE) {
		relayd_mark(r, c, RELAYD_R_UNAVAILABLE, FE_UNAVAILABLE);
		return RELAYD_STOP;
	}
	if (rc != 0) {
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
		return RELAYD_STOP;
	}
	c->conn_clroom = cr;
	c->conn_rd_off = 1;
	if (relayd_arm(r, c) != 0) {
		relayd_mark(r, c, RELAYD_R_IOERR, 0);
		return RELAYD_STOP;
	}
	return 0;
}

static int
relayd_join(struct relayd *r, struct conn *c, const struct frame *f)
{
	uint16_t ids[ROOM_SIZE_MAX];
	struct room *room;
	struct conn *o;
	uint16_t id;
	size_t n = 0;
	int rc, i;

	if (c->conn_state == CONN_JOINED) {
		relayd_mark(r, c, RELAYD_R_REJOIN, FE_REJOIN);
		return RELAYD_STOP;
	}
	if (r->r_cl != NULL)
		return relayd_cl_join(r, c, f);
	rc = room_join(&r->r_rooms, f->fr_payload, c, &room, &id);
	if (rc == VEIL_E_LIMIT) {
		relayd_mark(r, c, RELAYD_R_ROOM_FULL, FE_ROOM_FULL);
		return RELAYD_STOP;
	}
	if (rc != 0) {
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
		return RELAYD_STOP;
	}
	relayd_joined(r, c, room, id);
	for (i = 0; i < room->room_n; i++)
		if (room->room_members[i].rm_id != id)
			ids[n++] = room->room_members[i].rm_id;
	relayd_welcome(r, c, ids, n);
	for (i = 0; i < room->room_n; i++) {
		o = room->room_members[i].rm_data;
		if (o != c)
			relayd_send(r, o, FT_JOINED, id, MEMBER_NONE, NULL, 0);
	}
	return c->conn_state == CONN_CLOSING ? RELAYD_STOP : 0;
}

/* conn_frame_fn: what a frame from a client means. */
static int
relayd_frame(void *arg, struct conn *c, const struct frame *f, const uint8_t *raw,
    size_t rawlen)
{
	struct relayd *r = arg;
	struct room *room;
	struct conn *o = NULL;
	int i;

	(void)raw;
	(void)rawlen;
	if (c->conn_state >= CONN_CLOSING)
		return RELAYD_STOP;
	r->r_stats.rs_frames_in++;
	if (f->fr_type == FT_JOIN)
		return relayd_join(r, c, f);
	if (c->conn_state != CONN_JOINED) {
		relayd_mark(r, c, RELAYD_R_NOT_JOINED, FE_NOT_JOINED);
		return RELAYD_STOP;
	}
	room = c->conn_room;
	switch (f->fr_type) {
	case FT_PING:
		relayd_send(r, c, FT_PONG, MEMBER_NONE, MEMBER_NONE, NULL, 0);
		break;
	case FT_DATA:
		if (f->fr_dst == MEMBER_BCAST) {
			for (i = 0; i < room->room_n; i++) {
				o = room->room_members[i].rm_data;
				if (o != c)
					relayd_send(r, o, FT_DATA, c->conn_member,
					    MEMBER_BCAST, f->fr_payload, f->fr_len);
			}
		} else {
			/* Gone already: dropped; the sender gets (or got) LEFT. */
			o = room_member_data(room, f->fr_dst);
			if (o != NULL && o != c)
				relayd_send(r, o, FT_DATA, c->conn_member, f->fr_dst,
				    f->fr_payload, f->fr_len);
		}
		/* Members on other nodes: clc_send knows whether there are any, and dst. */
		if (room->room_cl != NULL && (f->fr_dst == MEMBER_BCAST || o == NULL) &&
		    clc_send(r->r_clc, room->room_cl, c->conn_member, c->conn_stamp, f->fr_dst,
		    f->fr_payload, f->fr_len) == 0)
			r->r_stats.rs_bus_out++;
		break;
	default:
		/* proto_frame_decode admits nothing else towards the relay. */
		relayd_mark(r, c, RELAYD_R_MALFORMED, FE_MALFORMED);
		return RELAYD_STOP;
	}
	return c->conn_state == CONN_CLOSING ? RELAYD_STOP : 0;
}


/*
 * Decrypts what c has into the read buffer: what the socket holds now, up
 * to the buffer's size, with one recv() for it (read-ahead) and none after
 * the last record. Returns the bytes; *end is -1, or RELAYD_R_EOF,
 * RELAYD_R_IOERR or RELAYD_R_TLS (c to be closed once they are parsed).
 */
static size_t
relayd_read_tls(struct relayd *r, struct conn *c, size_t max, int *end)
{
	size_t total = 0, got;
	uint8_t want = 0;
	int rc;

	*end = -1;
	do {
		rc = rtls_read(c->conn_ssl, r->r_rbuf + total, max - total, &got);
		if (rc != 0)
			break;
		total += got;
	} while (total < max && rtls_pending(c->conn_ssl));
	if (rc == RTLS_WANT_WRITE)
		want = EV_WRITE;	/* a KeyUpdate answer waits for room in the socket */
	else if (rc == RTLS_EOF)
		*end = RELAYD_R_EOF;
	else if (rc == VEIL_E_SYSTEM)
		*end = RELAYD_R_IOERR;
	else if (rc < 0)
		*end = RELAYD_R_TLS;
	if (want != c->conn_tls_want) {
		c->conn_tls_want = want;
		if (relayd_arm(r, c) != 0)
			*end = RELAYD_R_IOERR;
	}
	return total;
}

/* The handshake's next step; once done, frames flow. */
static void
relayd_handshake(struct relayd *r, struct conn *c)
{
	int rc, tx, rx;
	uint8_t want;

	if (c->conn_ssl == NULL && (c->conn_ssl = rtls_conn_new(r->r_cfg.rc_tls,
	    c->conn_fd)) == NULL) {
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
		return;
	}
	rc = rtls_accept(c->conn_ssl);
	if (rc < 0) {
		r->r_stats.rs_tls_failed++;
		relayd_mark(r, c, rc == VEIL_E_AUTH ? RELAYD_R_TLS : RELAYD_R_IOERR, 0);
		return;
	}
	want = rc == RTLS_WANT_WRITE ? EV_WRITE : EV_READ;
	if (rc == 0) {
		c->conn_tls = CONN_TLS_OPEN;
		r->r_stats.rs_tls_ok++;
		rtls_conn_ktls(c->conn_ssl, &tx, &rx);
		r->r_stats.rs_ktls_tx += (uint64_t)tx;
		r->r_stats.rs_ktls_rx += (uint64_t)rx;
		want = 0;
	}
	if (want != c->conn_tls_want || rc == 0) {
		c->conn_tls_want = want;
		if (relayd_arm(r, c) != 0) {
			relayd_mark(r, c, RELAYD_R_IOERR, 0);
			return;
		}
	}
	/* A JOIN sent right behind the client's Finished may be read already. */
	if (rc == 0 && rtls_pending(c->conn_ssl))
		relayd_pend(r, c);
}

/* Reads c (unless held back) and hands what came to conn_feed. */
static void
relayd_input(struct relayd *r, struct conn *c)
{
	size_t max = RELAYD_RBUF_SIZE;
	uint64_t frames;
	ssize_t n;
	int rc, end = -1;

	/*
	 * Held back by a blocking reader: stop reading (TCP then pushes back
	 * on the sender) until relayd_unblock resumes it. Once EV_READ is off,
	 * a readable event is a hang-up or an error: read that.
	 */
	if (!c->conn_rd_off && relayd_held(r, c)) {
		c->conn_rd_off = 1;
		r->r_stats.rs_paused++;
		if (relayd_arm(r, c) != 0)
			relayd_mark(r, c, RELAYD_R_IOERR, 0);
		return;
	}
	/*
	 * In a cluster a JOIN waits for its owner's answer with the connection
	 * unread, so nothing past it is read before: JOIN is all it may send.
	 */
	if (r->r_cl != NULL && c->conn_join_only)
		max = FRAME_HDR_LEN + ROOM_ID_LEN - (c->conn_in != NULL ? c->conn_in_len :
		    c->conn_hdr_len);
	if (c->conn_ssl != NULL) {
		n = (ssize_t)relayd_read_tls(r, c, max, &end);
		if (n == 0) {
			if (end >= 0)
				relayd_mark(r, c, end, 0);
			return;
		}
	} else {
		n = read(c->conn_fd, r->r_rbuf, max);
		if (n == 0) {
			relayd_mark(r, c, RELAYD_R_EOF, 0);
			return;
		}
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				relayd_mark(r, c, RELAYD_R_IOERR, 0);
			return;
		}
	}
	r->r_stats.rs_bytes_in += (uint64_t)n;
	frames = r->r_stats.rs_frames_in;
	rc = conn_feed(&r->r_pool, c, r->r_rbuf, (size_t)n, relayd_frame, r);
	if (r->r_stats.rs_frames_in != frames && c->conn_state == CONN_JOINED) {
		/*
		 * Only a whole frame is a sign of life, never bytes trickling in
		 * (PROTOCOL.md 1.4). Keep the list in last-heard order.
		 */
		c->conn_seen_ms = relayd_clock(r);
		list_touch(&r->r_live, c);
	}
	if (rc == 0 && end >= 0)
		relayd_mark(r, c, end, 0);
	if (c->conn_state == CONN_CLOSING)
		return;
	if (rc == 0) {
		if (c->conn_ssl != NULL && rtls_pending(c->conn_ssl))
			relayd_pend(r, c);
		return;
	}
	if (rc == VEIL_E_OVERSIZE)
		relayd_mark(r, c, RELAYD_R_OVERSIZE, FE_OVERSIZE);
	else if (rc == VEIL_E_STATE)	/* conn_feed: not a JOIN before JOIN */
		relayd_mark(r, c, RELAYD_R_NOT_JOINED, FE_NOT_JOINED);
	else if (rc == VEIL_E_ALLOC)
		relayd_mark(r, c, RELAYD_R_NOMEM, 0);
	else
		relayd_mark(r, c, RELAYD_R_MALFORMED, FE_MALFORMED);
}

static void
relayd_conn_event(struct ev_loop *el, int fd, void *data, int mask)
{
	struct relayd *r = ev_user(el);
	struct conn *c = data;

	(void)fd;
	/* Draining: only writing (hang-ups and errors show up as write failures). */
	if (c->conn_state == CONN_DRAINING) {
		relayd_dirty(r, c);
		return;
	}
	if (c->conn_state == CONN_CLOSING)
		return;
	if (c->conn_tls == CONN_TLS_HANDSHAKE) {
		relayd_handshake(r, c);
		return;
	}
	if (mask & EV_WRITE) {
		relayd_dirty(r, c);
		/* A read inside TLS waited for exactly this. */
		if (c->conn_tls_want == EV_WRITE)
			mask |= EV_READ;
	}
	if (mask & EV_READ)
		relayd_input(r, c);
}

/* The connections libssl holds input for: read as if epoll had said so. */
static void
relayd_pending(struct relayd *r)
{
	struct conn *list = r->r_pending, *c;

	r->r_pending = NULL;
	while ((c = list) != NULL) {
		list = c->conn_pendlink;
		c->conn_pendlink = NULL;
		c->conn_pending = 0;
		if (c->conn_state >= CONN_CLOSING || c->conn_rd_off)
			continue;
		relayd_input(r, c);
	}
}

/*
 * Tells a connection over a cap why, and closes it: none waits in the
 * backlog. Both caps answer SERVER_FULL (PROTOCOL.md 1.4); counted apart.
 * Over TLS, where no frame can go before a handshake we will not spend on
 * it, the answer is a fatal internal_error alert in the clear (1.0).
 */
static void
relayd_refuse(struct relayd *r, int fd, uint64_t *counter)
{
	uint8_t f[FRAME_HDR_LEN + 1] = { PROTO_VERSION, FT_ERROR, 0, 0, 0, 0, 0, 0, 0, 1,
	    FE_SERVER_FULL };

	if (r->r_cfg.rc_tls != NULL)
		(void)!send(fd, rtls_refusal, sizeof(rtls_refusal), MSG_NOSIGNAL | MSG_DONTWAIT);
	else
		(void)!send(fd, f, sizeof(f), MSG_NOSIGNAL | MSG_DONTWAIT);
	/*
	 * A ClientHello (or JOIN) already here would make close() send a
	 * reset, which can destroy the answer before the client reads it.
	 */
	(void)!recv(fd, r->r_rbuf, RELAYD_RBUF_SIZE, MSG_DONTWAIT);
	close(fd);
	(*counter)++;
}

static int
relayd_adopt(struct relayd *r, int fd, struct addr_entry *from)
{
	struct conn *c;
	int rc;

	if ((c = malloc(sizeof(*c))) == NULL) {
		addr_release(&r->r_addrs, from);
		close(fd);
		return VEIL_E_ALLOC;
	}
	conn_init(c, fd);
	c->conn_join_only = 1;
	if (r->r_cfg.rc_tls != NULL) {
		c->conn_tls = CONN_TLS_HANDSHAKE;
		c->conn_tls_want = EV_READ;
	}
	c->conn_addr = from;
	c->conn_seen_ms = relayd_clock(r);
	if ((rc = ev_add(r->r_ev, fd, EV_READ, relayd_conn_event, c)) != 0) {
		addr_release(&r->r_addrs, from);
		free(c);
		close(fd);
		return rc;
	}
	list_append(&r->r_new, c);
	r->r_stats.rs_conns++;
	r->r_stats.rs_accepted++;
	return 0;
}

/*
 * Takes fd (peer address sa, or NULL) as a client within the caps, or
 * refuses it. Returns 0, VEIL_E_LIMIT (refused), VEIL_E_ALLOC or
 * VEIL_E_SYSTEM; fd is the relay's in every case.
 */
static int
relayd_admit(struct relayd *r, int fd, const struct sockaddr *sa, socklen_t salen)
{
	uint8_t key[ADDR_KEY_LEN];
	struct addr_entry *from = NULL;
	int rc;

	if (r->r_stats.rs_conns >= r->r_cfg.rc_max_clients) {
		relayd_refuse(r, fd, &r->r_stats.rs_refused);
		return VEIL_E_LIMIT;
	}
	/* Without a cap no address is even looked at. */
	if (r->r_cfg.rc_max_per_addr != 0 && addr_key(sa, salen, key) == 0) {
		rc = addr_take(&r->r_addrs, key, r->r_cfg.rc_max_per_addr, &from);
		memset(key, 0, sizeof(key));
		if (rc == VEIL_E_LIMIT) {
			relayd_refuse(r, fd, &r->r_stats.rs_refused_addr);
			return rc;
		}
		if (rc != 0) {
			close(fd);
			return rc;
		}
	}
	return relayd_adopt(r, fd, from);
}

int
relayd_add_conn(struct relayd *r, int fd, const struct sockaddr *sa, socklen_t salen)
{
	if (fd < 0 || fd >= ev_setsize(r->r_ev)) {
		if (fd >= 0)
			close(fd);
		return VEIL_E_INVALID;
	}
	return relayd_admit(r, fd, sa, salen);
}

static void
relayd_accept_event(struct ev_loop *el, int lfd, void *data, int mask)
{
	struct relayd *r = ev_user(el);
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, i, one = 1;

	(void)data;
	(void)mask;
	for (i = 0; i < RELAYD_ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && r->r_spare != -1) {
				/* Out of descriptors: use the spare to refuse one, re-arm it. */
				close(r->r_spare);
				if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
					relayd_refuse(r, fd, &r->r_stats.rs_refused);
				r->r_spare = dup(lfd);
			}
			return;
		}
		if (fd >= ev_setsize(r->r_ev)) {
			relayd_refuse(r, fd, &r->r_stats.rs_refused);
			continue;
		}
		/* Chat frames are small and interactive: no Nagle delay. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)relayd_admit(r, fd, (struct sockaddr *)&ss, sslen);
	}
	memset(&ss, 0, sizeof(ss));
}

static void
relayd_signal_event(struct ev_loop *el, int fd, void *data, int mask)
{
	struct relayd *r = ev_user(el);
	struct signalfd_siginfo si;

	(void)data;
	(void)mask;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			relayd_print_stats(r, stderr);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			r->r_stop = 1;
	}
}

static void
relayd_timeouts(struct relayd *r)
{
	int64_t now = relayd_clock(r);
	struct conn *c;

	/* A reader blocking for its whole stall window lets its room go on. */
	while ((c = r->r_block.rl_first) != NULL &&
	    now - c->conn_block_ms >= (int64_t)r->r_cfg.rc_stall_ms) {
		r->r_stats.rs_released++;
		relayd_unblock(r, c, 1);
	}
	while ((c = r->r_new.rl_first) != NULL &&
	    now - c->conn_seen_ms >= (int64_t)r->r_cfg.rc_idle_ms)
		relayd_mark(r, c, RELAYD_R_IDLE, FE_TIMEOUT);
	while ((c = r->r_live.rl_first) != NULL &&
	    now - c->conn_seen_ms >= (int64_t)r->r_cfg.rc_keepalive_ms) {
		if (c->conn_rd_off) {
			/* Not silent: not read. Held back for a stall window at most. */
			c->conn_seen_ms = now;
			list_touch(&r->r_live, c);
			continue;
		}
		relayd_mark(r, c, RELAYD_R_KEEPALIVE, FE_TIMEOUT);
	}
	/* Output waiting with not one byte written for --slow-timeout. */
	while ((c = r->r_wait.rl_first) != NULL &&
	    now - c->conn_wait_ms >= (int64_t)r->r_cfg.rc_slow_ms)
		relayd_mark(r, c, RELAYD_R_STALLED, FE_SLOW);
	while ((c = r->r_drain.rl_first) != NULL &&
	    now - c->conn_seen_ms >= (int64_t)r->r_cfg.rc_linger_ms)
		relayd_drained(r, c);
}

/* Lowers *t to the time left until first's deadline (start + span). */
static void
relayd_deadline(const struct conn *first, int64_t start, uint32_t span, int64_t now,
    int64_t *t)
{
	int64_t d;

	if (first == NULL)
		return;
	d = start + span - now;
	if (d < *t)
		*t = d;
}

/* Milliseconds until the next timeout, at most a minute. */
static int
relayd_next_timeout(struct relayd *r)
{
	int64_t now = relayd_now(), t = 60 * 1000;
	const struct conn *c;

	if (r->r_pending != NULL)
		return 0;
	if ((c = r->r_new.rl_first) != NULL)
		relayd_deadline(c, c->conn_seen_ms, r->r_cfg.rc_idle_ms, now, &t);
	if ((c = r->r_live.rl_first) != NULL)
		relayd_deadline(c, c->conn_seen_ms, r->r_cfg.rc_keepalive_ms, now, &t);
	if ((c = r->r_drain.rl_first) != NULL)
		relayd_deadline(c, c->conn_seen_ms, r->r_cfg.rc_linger_ms, now, &t);
	if ((c = r->r_wait.rl_first) != NULL)
		relayd_deadline(c, c->conn_wait_ms, r->r_cfg.rc_slow_ms, now, &t);
	if ((c = r->r_block.rl_first) != NULL)
		relayd_deadline(c, c->conn_block_ms, r->r_cfg.rc_stall_ms, now, &t);
	if (r->r_cl != NULL && r->r_cltimeout < t)
		t = r->r_cltimeout;
	return t < 0 ? 0 : (int)t;
}

static void
relayd_flush_one(struct relayd *r, struct conn *c)
{
	size_t before = conn_queued(c), wrote;
	int rc, want;

	rc = conn_flush(&r->r_pool, c);
	wrote = before - conn_queued(c);
	r->r_stats.rs_bytes_out += wrote;
	if (c->conn_state == CONN_DRAINING) {
		if (rc != 1)
			relayd_drained(r, c);
		return;
	}
	if (c->conn_state == CONN_CLOSING)
		return;
	if (rc < 0) {
		relayd_mark(r, c, RELAYD_R_IOERR, 0);
		return;
	}
	/* Under the low-water mark: it holds no one back, and may block again. */
	if ((c->conn_blocking | c->conn_released) != 0 && conn_queued(c) < r->r_low) {
		c->conn_released = 0;
		relayd_unblock(r, c, 0);
		if (c->conn_state == CONN_CLOSING)	/* its epoll update failed */
			return;
	}
	want = rc == 1;
	if (want) {
		/* The wait list is ordered by the last write that moved anything. */
		if (!c->conn_want_out || wrote > 0) {
			c->conn_wait_ms = relayd_clock(r);
			if (c->conn_want_out)
				list_touch(&r->r_wait, c);
			else
				list_append(&r->r_wait, c);
		}
	} else if (c->conn_want_out)
		list_remove(&r->r_wait, c);
	if (want != c->conn_want_out) {
		c->conn_want_out = (uint8_t)want;
		if (relayd_arm(r, c) != 0)
			relayd_mark(r, c, RELAYD_R_IOERR, 0);
	}
}

static void
relayd_flush_dirty(struct relayd *r)
{
	struct conn *c;

	while ((c = r->r_dirty) != NULL) {
		r->r_dirty = c->conn_link;
		c->conn_link = NULL;
		c->conn_dirty = 0;
		relayd_flush_one(r, c);
	}
}

static void
relayd_undirty(struct relayd *r, struct conn *c)
{
	struct conn **pp;

	if (!c->conn_dirty)
		return;
	for (pp = &r->r_dirty; *pp != NULL; pp = &(*pp)->conn_link) {
		if (*pp == c) {
			*pp = c->conn_link;
			break;
		}
	}
	c->conn_link = NULL;
	c->conn_dirty = 0;
}

/* Closes c's descriptor and frees it; it must be on no list. */
static void
relayd_close_fd(struct relayd *r, struct conn *c)
{
	/*
	 * Unread input would make close() send a reset, which can destroy
	 * the ERROR frame before the client reads it.
	 */
	if (c->conn_reason != RELAYD_R_EOF && c->conn_reason != RELAYD_R_IOERR)
		(void)!recv(c->conn_fd, r->r_rbuf, RELAYD_RBUF_SIZE, MSG_DONTWAIT);
	/* close_notify, unless the link itself failed. */
	rtls_conn_free(c->conn_ssl, c->conn_reason != RELAYD_R_IOERR &&
	    c->conn_reason != RELAYD_R_TLS);
	c->conn_ssl = NULL;
	relayd_unpend(r, c);
	ev_del(r->r_ev, c->conn_fd);
	close(c->conn_fd);
	addr_release(&r->r_addrs, c->conn_addr);
	conn_release(&r->r_pool, c);
	r->r_stats.rs_conns--;
	free(c);
}

/* A draining connection is done: written out, failed or out of time. */
static void
relayd_drained(struct relayd *r, struct conn *c)
{
	list_remove(&r->r_drain, c);
	relayd_undirty(r, c);
	relayd_close_fd(r, c);
}

/*
 * Closes the marked connections; their rooms hear LEFT. One whose last
 * frames (its ERROR) do not fit in the socket now lingers for a while,
 * writing only: a slow reader still learns why it was dropped.
 */
static void
relayd_reap(struct relayd *r)
{
	struct room *room;
	struct conn *c, *o;
	size_t before;
	int i;

	while ((c = r->r_closing) != NULL) {
		r->r_closing = c->conn_closelink;
		c->conn_closelink = NULL;
		if ((room = c->conn_room) != NULL) {
			for (i = 0; i < room->room_n; i++) {
				o = room->room_members[i].rm_data;
				if (o != c)
					relayd_send(r, o, FT_LEFT, c->conn_member,
					    MEMBER_NONE, NULL, 0);
			}
			/* The other nodes hear it from the core (a BYE, then the owner's LEFT). */
			if (room->room_cl != NULL)
				clc_leave(r->r_clc, room->room_cl, c->conn_member, c->conn_stamp);
			(void)room_leave(&r->r_rooms, room, c->conn_member);
			c->conn_room = NULL;
		} else if (c->conn_clroom != NULL) {
			/* A JOIN still with its owner: the place, if given, goes back. */
			if (c->conn_cladmitted)
				clc_leave(r->r_clc, c->conn_clroom, c->conn_member, c->conn_stamp);
			else
				clc_cancel(r->r_clc, c->conn_clroom, c);
			c->conn_clroom = NULL;
		}
		relayd_undirty(r, c);
		r->r_stats.rs_closed[c->conn_reason]++;
		if (conn_queued(c) > 0) {
			before = conn_queued(c);
			if (conn_flush(&r->r_pool, c) == 1 && !r->r_stop &&
			    ev_set_mask(r->r_ev, c->conn_fd, EV_WRITE) == 0) {
				r->r_stats.rs_bytes_out += before - conn_queued(c);
				c->conn_state = CONN_DRAINING;
				c->conn_seen_ms = relayd_clock(r);
				list_append(&r->r_drain, c);
				continue;
			}
			r->r_stats.rs_bytes_out += before - conn_queued(c);
		}
		relayd_close_fd(r, c);
	}
}

/* The cluster's part of a turn: its timers and messages, then the bus's state. */
static void
relayd_cl_turn(struct relayd *r)
{
	struct conn *c, *next;
	int was = r->r_clblocked;

	r->r_cltimeout = cluster_turn(r->r_cl, relayd_clock(r));
	r->r_clblocked = cluster_blocked(r->r_cl);
	if (was && !r->r_clblocked)
		for (c = r->r_live.rl_first; c != NULL; c = next) {
			next = c->conn_time.cl_next;
			relayd_resume(r, c);
		}
}

/* --- the cluster's calls (struct clc_local) ------------------------------ */

/* The owner gave c's JOIN a place: c joins as id, told about the others. */
static void
relayd_cl_admitted(void *arg, void *token, struct clc_room *cr, uint16_t id, uint64_t stamp,
    const uint16_t *others, size_t n)
{
	struct relayd *r = arg;
	struct conn *c = token;
	struct room *room;
	int rc;

	c->conn_member = id;
	c->conn_stamp = stamp;
	if (c->conn_state != CONN_NEW) {
		/* Closing already: relayd_reap gives the place back. */
		c->conn_cladmitted = 1;
		return;
	}
	rc = room_insert(&r->r_rooms, cr->cr_key, id, c, &room);
	if (rc != 0) {
		c->conn_cladmitted = 1;
		relayd_mark(r, c, rc == VEIL_E_ALLOC ? RELAYD_R_NOMEM : RELAYD_R_UNAVAILABLE,
		    rc == VEIL_E_ALLOC ? 0 : FE_UNAVAILABLE);
		return;
	}
	c->conn_clroom = NULL;
	room->room_cl = cr;
	cr->cr_local = room;
	/* A room new here: what already holds it back (PROTOCOL.md 5.9) counts. */
	if (room->room_n == 1 && room->room_nremote == 0) {
		room->room_nremote = clc_holds(cr);
		room->room_nblock = (uint16_t)(room->room_nblock + room->room_nremote);
	}
	relayd_joined(r, c, room, id);
	/* The others here heard JOINED from the core already (clcore.h). */
	relayd_welcome(r, c, others, n);
	relayd_resume(r, c);
}

static void
relayd_cl_refused(void *arg, void *token, uint8_t code)
{
	struct relayd *r = arg;
	struct conn *c = token;

	c->conn_clroom = NULL;
	relayd_mark(r, c, code == FE_ROOM_FULL ? RELAYD_R_ROOM_FULL : RELAYD_R_UNAVAILABLE, code);
}

static void
relayd_cl_member(void *arg, struct clc_room *cr, uint8_t type, uint16_t id)
{
	struct relayd *r = arg;
	struct room *room = cr->cr_local;
	int i;

	for (i = 0; room != NULL && i < room->room_n; i++)
		relayd_send(r, room->room_members[i].rm_data, type, id, MEMBER_NONE, NULL, 0);
}

static void
relayd_cl_deliver(void *arg, struct clc_room *cr, uint16_t src, uint16_t dst,
    const uint8_t *p, uint32_t len)
{
	struct relayd *r = arg;
	struct room *room = cr->cr_local;
	struct conn *o;
	int i;

	if (room == NULL)
		return;
	r->r_stats.rs_bus_in++;
	if (dst != MEMBER_BCAST) {
		if ((o = room_member_data(room, dst)) != NULL)
			relayd_send(r, o, FT_DATA, src, dst, p, len);
		return;
	}
	for (i = 0; i < room->room_n; i++)
		relayd_send(r, room->room_members[i].rm_data, FT_DATA, src, dst, p, len);
}

/* Frames for them were lost on the bus: like a reader relayd cannot serve, ended. */
static void
relayd_cl_lost(void *arg, struct clc_room *cr, uint16_t dst)
{
	struct relayd *r = arg;
	struct room *room = cr->cr_local;
	struct conn *o;
	int i;

	for (i = 0; room != NULL && i < room->room_n; i++) {
		o = room->room_members[i].rm_data;
		if (dst == MEMBER_BCAST || o->conn_member == dst)
			relayd_mark(r, o, RELAYD_R_LOST, FE_SLOW);
	}
}

static void
relayd_cl_evict(void *arg, struct clc_room *cr, uint16_t id)
{
	struct relayd *r = arg;
	struct conn *o;

	if (cr->cr_local != NULL && (o = room_member_data(cr->cr_local, id)) != NULL)
		relayd_mark(r, o, RELAYD_R_UNAVAILABLE, FE_UNAVAILABLE);
}

/* A node holds the room back (PROTOCOL.md 5.9): like one more blocking reader. */
static void
relayd_cl_hold(void *arg, struct clc_room *cr, int delta)
{
	struct relayd *r = arg;
	struct room *room = cr->cr_local;

	if (room == NULL || (delta < 0 && room->room_nremote == 0))
		return;
	room->room_nremote = (uint16_t)(room->room_nremote + delta);
	room->room_nblock = (uint16_t)(room->room_nblock + delta);
	if (delta < 0 && room->room_nblock <= 1)
		relayd_room_resume(r, room);
}

/* This node lost the cluster: every member goes elsewhere (PROTOCOL.md 5.7). */
static void
relayd_cl_reset(void *arg)
{
	struct relayd *r = arg;
	struct conn *c, *next;
	struct room *room;

	for (c = r->r_new.rl_first; c != NULL; c = next) {
		next = c->conn_time.cl_next;
		if (c->conn_clroom != NULL) {
			c->conn_clroom = NULL;
			relayd_mark(r, c, RELAYD_R_UNAVAILABLE, FE_UNAVAILABLE);
		}
	}
	for (c = r->r_live.rl_first; c != NULL; c = next) {
		next = c->conn_time.cl_next;
		if ((room = c->conn_room) != NULL) {
			room->room_cl = NULL;
			room->room_nblock = (uint16_t)(room->room_nblock - room->room_nremote);
			room->room_nremote = 0;
		}
		relayd_mark(r, c, RELAYD_R_UNAVAILABLE, FE_UNAVAILABLE);
	}
	/* Closing ones that still had a JOIN out: their places are gone with the rest. */
	for (c = r->r_closing; c != NULL; c = c->conn_closelink) {
		c->conn_clroom = NULL;
		if (c->conn_room != NULL)
			c->conn_room->room_cl = NULL;
	}
}

int
relayd_cluster(struct relayd *r, const struct cluster_config *cfg, char *err, size_t errlen)
{
	struct clc_local local;
	int rc;

	memset(&local, 0, sizeof(local));
	local.cl_admitted = relayd_cl_admitted;
	local.cl_refused = relayd_cl_refused;
	local.cl_member = relayd_cl_member;
	local.cl_deliver = relayd_cl_deliver;
	local.cl_lost = relayd_cl_lost;
	local.cl_evict = relayd_cl_evict;
	local.cl_hold = relayd_cl_hold;
	local.cl_reset = relayd_cl_reset;
	local.cl_arg = r;
	if ((rc = cluster_new(&r->r_cl, cfg, r->r_ev, &local, err, errlen)) != 0)
		return rc;
	r->r_clc = cluster_core(r->r_cl);
	return 0;
}

int
relayd_step(struct relayd *r, int timeout_ms)
{
	int rc;

	r->r_now_ok = 0;	/* the wait may have been long */
	if ((rc = ev_poll(r->r_ev, timeout_ms)) < 0)
		return rc;
	if (r->r_cl != NULL)
		relayd_cl_turn(r);
	relayd_pending(r);
	relayd_timeouts(r);
	/* Closing queues LEFT on others; writing can fail and mark more. */
	do {
		relayd_reap(r);
		relayd_flush_dirty(r);
	} while (r->r_closing != NULL);
	if (r->r_cl != NULL)
		cluster_flush(r->r_cl);
	r->r_now_ok = 0;
	return 0;
}

int
relayd_run(struct relayd *r)
{
	int rc;

	while (!r->r_stop) {
		if ((rc = relayd_step(r, relayd_next_timeout(r))) != 0)
			return rc;
		if (r->r_cl != NULL && cluster_name_taken(r->r_cl))
			return VEIL_E_STATE;
	}
	return 0;
}

void
relayd_shutdown(struct relayd *r)
{
	int i;

	while (r->r_new.rl_first != NULL)
		relayd_mark(r, r->r_new.rl_first, RELAYD_R_SHUTDOWN, FE_SHUTDOWN);
	while (r->r_live.rl_first != NULL)
		relayd_mark(r, r->r_live.rl_first, RELAYD_R_SHUTDOWN, FE_SHUTDOWN);
	r->r_stop = 1;		/* nothing lingers now */
	relayd_reap(r);
	while (r->r_drain.rl_first != NULL)
		relayd_drained(r, r->r_drain.rl_first);
	r->r_dirty = NULL;
	for (i = 0; i < r->r_nlisten; i++) {
		ev_del(r->r_ev, r->r_lfd[i]);
		close(r->r_lfd[i]);
	}
	r->r_nlisten = 0;
}

int
relayd_new(struct relayd **rp, const struct relayd_config *cfg, int setsize)
{
	struct relayd *r;
	uint8_t key[16];
	int rc;

	*rp = NULL;
	if (cfg->rc_max_frame < FRAME_MIN_LIMIT || cfg->rc_max_frame > FRAME_MAX_LIMIT ||
	    cfg->rc_room_size < 2 || cfg->rc_room_size > ROOM_SIZE_MAX ||
	    cfg->rc_max_clients == 0 || setsize <= 0 || cfg->rc_slow_ms == 0 ||
	    cfg->rc_out_soft == 0 || cfg->rc_out_soft > cfg->rc_out_max)
		return VEIL_E_INVALID;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return VEIL_E_ALLOC;
	r->r_cfg = *cfg;
	r->r_low = cfg->rc_out_soft / 4;
	r->r_new.rl_links = r->r_live.rl_links = r->r_drain.rl_links = RELAYD_L_TIME;
	r->r_wait.rl_links = RELAYD_L_WAIT;
	r->r_block.rl_links = RELAYD_L_BLOCK;
	r->r_sigfd = -1;
	r->r_spare = -1;
	if ((rc = conn_pool_init(&r->r_pool, cfg->rc_max_frame, cfg->rc_out_max)) != 0) {
		free(r);
		return rc;
	}
	/* The room hash key must be unpredictable to clients. */
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		free(r);
		return VEIL_E_SYSTEM;
	}
	rc = room_table_init(&r->r_rooms, cfg->rc_room_size, key);
	if (rc == 0 && getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		rc = VEIL_E_SYSTEM;
	if (rc == 0 && (rc = addr_table_init(&r->r_addrs, key)) != 0)
		room_table_free(&r->r_rooms);
	memset(key, 0, sizeof(key));
	if (rc != 0) {
		free(r);
		return rc;
	}
	if ((r->r_rbuf = malloc(RELAYD_RBUF_SIZE)) == NULL) {
		relayd_free(r);
		return VEIL_E_ALLOC;
	}
	if ((r->r_ev = ev_create(setsize)) == NULL) {
		relayd_free(r);
		return VEIL_E_SYSTEM;
	}
	ev_set_user(r->r_ev, r);
	*rp = r;
	return 0;
}

void
relayd_free(struct relayd *r)
{
	if (r == NULL)
		return;
	if (r->r_ev != NULL)
		relayd_shutdown(r);
	cluster_free(r->r_cl);
	r->r_cl = NULL;
	r->r_clc = NULL;
	if (r->r_sigfd != -1)
		close(r->r_sigfd);
	if (r->r_spare != -1)
		close(r->r_spare);
	ev_free(r->r_ev);
	conn_pool_free(&r->r_pool);
	room_table_free(&r->r_rooms);
	addr_table_free(&r->r_addrs);
	free(r->r_rbuf);
	free(r);
}

int
relayd_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *end;
	unsigned long p = 0;
	size_t hl;
	int v6 = 0;

	memset(ss, 0, sizeof(*ss));
	*len = 0;
	if (s == NULL)
		return VEIL_E_INVALID;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return VEIL_E_INVALID;
		hl = (size_t)(end - (s + 1));
		port = end + 2;
		s++;
		v6 = 1;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return VEIL_E_INVALID;
		hl = (size_t)(end - s);
		port = end + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return VEIL_E_INVALID;
	memcpy(host, s, hl);
	host[hl] = '\0';
	/* Strict decimal port: digits only, no sign, no leading junk. */
	if (*port == '\0' || strlen(port) > 5)
		return VEIL_E_INVALID;
	for (end = port; *end != '\0'; end++) {
		if (*end < '0' || *end > '9')
			return VEIL_E_INVALID;
		p = p * 10 + (unsigned long)(*end - '0');
	}
	if (p > 65535)
		return VEIL_E_INVALID;
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return VEIL_E_INVALID;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return VEIL_E_INVALID;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)p);
	*len = sizeof(*sin);
	return 0;
}

int
relayd_listen(struct relayd *r, const struct sockaddr_storage *ss, socklen_t len,
    char *desc, size_t desclen)
{
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	char host[INET6_ADDRSTRLEN];
	int fd, one = 1, rc, saved;
	uint16_t port;

	memset(&got, 0, sizeof(got));
	if (r->r_nlisten >= RELAYD_MAX_LISTEN) {
		errno = EMFILE;
		return VEIL_E_SYSTEM;
	}
	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return VEIL_E_SYSTEM;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    listen(fd, SOMAXCONN) == -1 ||
	    getsockname(fd, (struct sockaddr *)&got, &gotlen) == -1)
		goto fail;
	if (got.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&got;

		if (inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)) == NULL)
			goto fail;
		port = ntohs(s6->sin6_port);
		rc = snprintf(desc, desclen, "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&got;

		if (inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)) == NULL)
			goto fail;
		port = ntohs(s4->sin_port);
		rc = snprintf(desc, desclen, "%s:%u", host, port);
	}
	if (rc < 0 || (size_t)rc >= desclen) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (ev_add(r->r_ev, fd, EV_READ, relayd_accept_event, NULL) != 0)
		goto fail;
	/* A descriptor kept in reserve so EMFILE can still refuse politely. */
	if (r->r_spare == -1 && (r->r_spare = dup(fd)) == -1) {
		ev_del(r->r_ev, fd);
		goto fail;
	}
	r->r_lfd[r->r_nlisten++] = fd;
	return 0;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return VEIL_E_SYSTEM;
}

int
relayd_watch_signals(struct relayd *r)
{
	sigset_t set;

	if (sigemptyset(&set) == -1 || sigaddset(&set, SIGTERM) == -1 ||
	    sigaddset(&set, SIGINT) == -1 || sigaddset(&set, SIGUSR1) == -1 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return VEIL_E_SYSTEM;
	if ((r->r_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return VEIL_E_SYSTEM;
	if (ev_add(r->r_ev, r->r_sigfd, EV_READ, relayd_signal_event, NULL) != 0) {
		close(r->r_sigfd);
		r->r_sigfd = -1;
		return VEIL_E_SYSTEM;
	}
	return 0;
}

const struct relayd_stats *
relayd_get_stats(struct relayd *r)
{
	r->r_stats.rs_rooms = r->r_rooms.rt_count;
	r->r_stats.rs_in_bufs = r->r_pool.cp_in_live;
	r->r_stats.rs_out_bufs = r->r_pool.cp_out_live;
	return &r->r_stats;
}

void
relayd_print_stats(struct relayd *r, FILE *f)
{
	const struct relayd_stats *s = relayd_get_stats(r);
	const uint64_t *c = s->rs_closed;

	fprintf(f, "relayd: stats: connections=%" PRIu32 " accepted=%" PRIu64
	    " refused_full=%" PRIu64 " refused_per_addr=%" PRIu64
	    " rooms=%zu joins=%" PRIu64
	    " frames_in=%" PRIu64 " frames_out=%" PRIu64
	    " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
	    " flow: blocked=%" PRIu64 " released=%" PRIu64 " paused=%" PRIu64
	    " tls: handshakes_ok=%" PRIu64 " handshakes_failed=%" PRIu64
	    " ktls_tx=%" PRIu64 " ktls_rx=%" PRIu64
	    " closed: eof=%" PRIu64 " io_error=%" PRIu64 " malformed=%" PRIu64
	    " oversize=%" PRIu64 " room_full=%" PRIu64 " idle_timeout=%" PRIu64
	    " keepalive=%" PRIu64 " not_joined=%" PRIu64 " rejoin=%" PRIu64
	    " slow=%" PRIu64 " stalled=%" PRIu64 " shutdown=%" PRIu64
	    " nomem=%" PRIu64 " tls=%" PRIu64 "\n",
	    s->rs_conns, s->rs_accepted, s->rs_refused, s->rs_refused_addr,
	    s->rs_rooms, s->rs_joins,
	    s->rs_frames_in, s->rs_frames_out, s->rs_bytes_in, s->rs_bytes_out,
	    s->rs_blocked, s->rs_released, s->rs_paused,
	    s->rs_tls_ok, s->rs_tls_failed, s->rs_ktls_tx, s->rs_ktls_rx,
	    c[RELAYD_R_EOF], c[RELAYD_R_IOERR], c[RELAYD_R_MALFORMED], c[RELAYD_R_OVERSIZE],
	    c[RELAYD_R_ROOM_FULL], c[RELAYD_R_IDLE], c[RELAYD_R_KEEPALIVE],
	    c[RELAYD_R_NOT_JOINED], c[RELAYD_R_REJOIN], c[RELAYD_R_SLOW],
	    c[RELAYD_R_STALLED], c[RELAYD_R_SHUTDOWN], c[RELAYD_R_NOMEM], c[RELAYD_R_TLS]);
	if (r->r_cl != NULL) {
		const struct clc_stats *cs = clc_get_stats(r->r_clc, relayd_now());
		struct cluster_stats ls;

		cluster_get_stats(r->r_cl, &ls);
		fprintf(f, "relayd: cluster: up=%d nodes=%" PRIu64 " owned=%" PRIu64
		    " admits=%" PRIu64 " takeovers=%" PRIu64 " deaths=%" PRIu64
		    " resets=%" PRIu64 " resyncs=%" PRIu64 " frames_bus_in=%" PRIu64
		    " frames_bus_out=%" PRIu64 " data_msgs_in=%" PRIu64
		    " data_msgs_out=%" PRIu64 " held=%" PRIu64 " dropped=%" PRIu64
		    " lost=%" PRIu64 " msgs_in=%" PRIu64 " msgs_out=%" PRIu64
		    " publish_failed=%" PRIu64 " malformed=%" PRIu64 " reconnects=%" PRIu64
		    " slow_consumer=%" PRIu64 " queue_dropped=%" PRIu64
		    " credit_waits=%" PRIu64 " closed: unavailable=%" PRIu64 " lost=%" PRIu64 "\n",
		    ls.cls_up, cs->cs_nodes, cs->cs_owned, cs->cs_admits, cs->cs_takeovers,
		    cs->cs_deaths, cs->cs_resets, cs->cs_resyncs, s->rs_bus_in, s->rs_bus_out,
		    cs->cs_data_in, cs->cs_data_out, cs->cs_held, cs->cs_dropped, cs->cs_lost,
		    ls.cls_in, ls.cls_out,
		    cs->cs_pub_failed, cs->cs_bad, ls.cls_reconnects, ls.cls_slow, ls.cls_qdrop,
		    cs->cs_credit_waits, c[RELAYD_R_UNAVAILABLE], c[RELAYD_R_LOST]);
	}
}
