/* SPDX-License-Identifier: ISC */
/*
 * The cluster's logic (clcore.h, PROTOCOL.md 5). Three parts, each a set of
 * functions over one struct:
 *
 *   nodes	heartbeats in, liveness, the owner of a room (rendezvous
 *		hashing over the eligible nodes), this node's own standing
 *		(serving, fenced, reset);
 *   owner	a room's table of members as its owner keeps it: admissions,
 *		ids, the events every view applies, the collection that
 *		rebuilds the table when the owner changes;
 *   view	a room's membership as a node with local members sees it:
 *		events applied in the owner's order, JOINED/LEFT for the local
 *		members, frames from other nodes held until their sender's
 *		JOINED and dropped after its LEFT.
 *
 * Callbacks into the relay (struct clc_local) never call back into this
 * file, except clc_hold, which touches no list being walked.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clcore.h"
#include "err.h"
#include "frame.h"
#include "hash.h"

#define CL_BUCKETS_MIN	64
#define CL_BYES		8	/* BYEs a view remembers */
#define CL_UNACKED	16	/* our BYEs not yet confirmed, per view */
#define CL_BATCHES	16	/* DATA messages being filled at once (one per room) */
#define CL_PAST		8	/* own earlier incarnations remembered */

/* This node's standing. */
enum clc_phase {
	CP_START,	/* never served yet: JOINs wait */
	CP_UP,		/* served at least once since the last reset */
	CP_DOWN,	/* reset: JOINs refused until eligible again */
};

enum clc_vstate {
	V_NEW,		/* no membership yet: the ADMIT answer brings it */
	V_SYNCED,	/* (epoch, seq) applied */
	V_RESYNC,	/* a gap: waiting for a snapshot */
};

enum clc_ostate {
	O_COLLECTING,
	O_OWNER,
};

struct clc_node {
	uint64_t	cn_nid;
	int64_t		cn_heard;	/* last heartbeat */
	int64_t		cn_dead_at;	/* declared dead (remembered until CL_TOMB_MS) */
	uint32_t	cn_age;		/* its age in that heartbeat */
	uint8_t		cn_dead;
	char		cn_name[CL_NAME_MAX + 1];
	char		cn_subject[CL_SUBJECT_MAX];	/* its inbox */
};

struct clc_vmember {
	uint16_t	vm_id;
	uint8_t		vm_local;	/* admitted here, the relay holds it */
	uint64_t	vm_nid;
	uint64_t	vm_stamp;
};

/* A CREDIT ask of ours (PROTOCOL.md 5.9): our pseqs then, and bytes sent by then. */
struct clc_ask {
	uint32_t	ca_bseq;
	uint32_t	ca_useq;
	uint64_t	ca_sent;
};

/* A node with members in a view (or a HOLD, or frames) and its counters. */
struct clc_peer {
	uint64_t	cp_nid;
	uint16_t	cp_n;		/* its members in the view */
	uint8_t		cp_bseen;	/* a broadcast seen from it */
	uint8_t		cp_useen;	/* a unicast seen from it */
	uint8_t		cp_hold;	/* it holds the room back */
	uint32_t	cp_bseq;	/* its last broadcast sequence number */
	uint32_t	cp_useq;	/* its last unicast to us */
	uint32_t	cp_out;		/* our last unicast to it */
	int64_t		cp_hold_until;
	/* Our DATA to it (5.9): the room waits while CL_WINDOW bytes are unconfirmed. */
	uint8_t		cp_full;	/* its window is full: the room's readers wait */
	uint8_t		cp_nask;
	uint64_t	cp_sent;	/* bytes of DATA it gets, published */
	uint64_t	cp_acked;	/* ... confirmed read */
	uint64_t	cp_asked;	/* ... when we last asked */
	int64_t		cp_ask_at;
	struct clc_ask	cp_ask[CL_ASKS];	/* unanswered, oldest first */
};

struct clc_pend {
	struct clc_pend	*pd_next;
	void		*pd_token;
	uint32_t	 pd_req;
	uint64_t	 pd_to;		/* the node asked, 0: to ask */
	int64_t		 pd_sent;
};

struct clc_qev {
	uint64_t	qe_owner;
	uint64_t	qe_stamp;
	uint64_t	qe_node;
	uint32_t	qe_epoch;
	uint32_t	qe_seq;
	uint16_t	qe_id;
	uint8_t		qe_kind;
};

struct clc_held {
	struct clc_held	*hd_next;
	uint64_t	 hd_nid;
	uint64_t	 hd_stamp;
	uint16_t	 hd_src;
	uint16_t	 hd_dst;
	uint32_t	 hd_len;
	uint8_t		 hd_data[];
};

struct clc_view {
	uint8_t		 v_state;	/* enum clc_vstate */
	uint8_t		 v_holding;	/* we announced HOLD on */
	uint8_t		 v_waiting;	/* a LEFT waits for its BYE */
	uint8_t		 v_force;	/* ... no longer */
	uint8_t		 v_byei;
	int8_t		 v_batch;	/* the DATA being filled for it, -1: none */
	uint64_t	 v_owner;
	uint32_t	 v_epoch;
	uint32_t	 v_seq;
	uint16_t	 v_last;
	uint16_t	 v_n;
	uint16_t	 v_cap;
	uint16_t	 v_npeers;
	uint16_t	 v_peercap;
	uint16_t	 v_qn;
	uint16_t	 v_wait_id;
	uint32_t	 v_bseq;	/* our last broadcast sequence number */
	uint32_t	 v_nlocal;	/* members the relay holds */
	uint32_t	 v_npend;
	uint16_t	 v_nholds;	/* peers holding the room back */
	uint16_t	 v_nfull;	/* peers whose window is full */
	uint64_t	 v_wait_stamp;
	int64_t		 v_wait_until;
	int64_t		 v_resync_at;	/* last RESYNC sent */
	struct clc_vmember *v_m;	/* v_n of them, ids ascending */
	struct clc_peer	*v_peers;
	struct clc_pend	*v_pend;
	struct clc_qev	*v_q;		/* CL_QUEUE_MAX, allocated when first needed */
	struct clc_held	*v_held;
	struct clc_held	**v_heldtail;
	size_t		 v_heldbytes;
	uint16_t	 v_bye_id[CL_BYES];
	uint64_t	 v_bye_stamp[CL_BYES];
	/* Our BYEs, sent again until the owner's LEFT (or a snapshot) confirms them. */
	uint16_t	 v_nun;
	uint16_t	 v_un_id[CL_UNACKED];
	uint8_t		 v_un_tries[CL_UNACKED];
	uint64_t	 v_un_stamp[CL_UNACKED];
	int64_t		 v_un_sent[CL_UNACKED];
};

struct clc_omember {
	uint16_t	om_id;
	uint64_t	om_nid;
	uint64_t	om_stamp;
	uint32_t	om_req;		/* the ADMIT that got it (answers a repeat alike) */
	int64_t		om_prov;	/* from an old table, its node unknown: dropped then */
};

struct clc_oreq {
	uint64_t	oq_nid;
	uint32_t	oq_req;
	uint8_t		oq_type;	/* CLM_ADMIT or CLM_RESYNC */
};

/* A collection in progress (PROTOCOL.md 5.5). */
struct clc_coll {
	uint32_t	co_round;
	int64_t		co_sent;
	uint32_t	co_gepoch;	/* the highest epoch reported */
	uint16_t	co_glast;	/* the highest last id reported */
	uint16_t	co_nwait;
	uint16_t	co_ntold;
	uint16_t	co_nq;
	uint64_t	co_wait[CL_NODES_MAX];	/* asked, no answer yet */
	uint64_t	co_told[CL_NODES_MAX];	/* answered */
	struct clc_oreq	co_q[CL_QUEUE_MAX];	/* requests waiting for the end */
};

struct clc_own {
	uint8_t		 o_state;	/* enum clc_ostate */
	uint32_t	 o_epoch;
	uint32_t	 o_seq;
	uint16_t	 o_cursor;
	uint16_t	 o_n;
	uint16_t	 o_cap;
	uint16_t	 o_mcap;	/* entries o_m has room for */
	int64_t		 o_empty;	/* empty since, 0: not empty */
	int64_t		 o_last_ev;	/* the last event, 0: SEQ sent twice since */
	uint16_t	 o_nprov;	/* members from an old table whose node is unknown */
	uint8_t		 o_seqs;	/* SEQs sent since it */
	struct clc_omember *o_m;	/* o_n of them, ids ascending */
	struct clc_coll	*o_coll;
};

/*
 * A DATA message being filled: this turn's frames of one room for one
 * subject, in the order they came (PROTOCOL.md 5.6), published when the
 * turn ends (clc_flush), when a frame of that room goes elsewhere, or
 * before anything else of the room's (a BYE, a HOLD).
 */
struct clc_batch {
	struct clc_room	*bt_cr;		/* NULL: free */
	uint64_t	 bt_to;		/* the node of a unicast, 0: the room's subject */
	uint64_t	 bt_used;	/* when taken, for taking the oldest */
	struct vbuf	 bt_b;
	uint8_t		*bt_buf;	/* CLM_MAX bytes, kept */
	char		 bt_subject[CL_SUBJECT_MAX];
};

struct clc {
	char		 c_name[CL_NAME_MAX + 1];
	char		 c_inbox[CL_SUBJECT_MAX];
	uint16_t	 c_room_size;
	uint32_t	 c_quorum;
	uint32_t	 c_hold_ms;
	struct clc_bus	 c_bus;
	struct clc_local c_loc;
	uint64_t	 c_nid;
	uint64_t	 c_past[CL_PAST];
	uint8_t		 c_pasti;
	uint8_t		 c_phase;	/* enum clc_phase */
	uint8_t		 c_leaving;
	uint8_t		 c_dupname;
	uint8_t		 c_started;	/* clc_tick ran once */
	int64_t		 c_now;
	int64_t		 c_heard;	/* own heartbeat last back, 0: never */
	int64_t		 c_echo_since;	/* own heartbeats back without a gap since */
	uint32_t	 c_heard_age;
	int64_t		 c_unserving;	/* up but not serving since, 0: serving */
	int64_t		 c_next_hb;
	int64_t		 c_next_scan;
	uint32_t	 c_req;
	uint32_t	 c_round;
	size_t		 c_nnodes;
	struct clc_node	 c_nodes[CL_NODES_MAX];
	struct clc_room	**c_buckets;
	size_t		 c_nbuckets;
	size_t		 c_nrooms;
	struct clc_room	*c_rooms;
	uint64_t	 c_hkey[2];
	struct clc_stats c_stats;
	struct clc_batch c_batch[CL_BATCHES];
	uint64_t	 c_batches;	/* batches taken so far */
	uint16_t	 c_others[CL_MEMBERS_MAX];
	struct clm	 c_msg;		/* the message being handled */
	struct clm_snap	 c_snap;	/* a snapshot being built */
	uint8_t		 c_buf[CLM_MAX];
};

/* The rendezvous hash's key: public, the same on every node. */
static const uint8_t clc_hrw_key[16] = "veil-cluster-hrw";

static int64_t	clc_age(const struct clc *);
static void	own_node_dead(struct clc *, struct clc_room *, uint64_t);
static void	view_node_dead(struct clc *, struct clc_room *, uint64_t);
static void	view_drain(struct clc *, struct clc_room *);
static void	view_release(struct clc *, struct clc_room *);
static void	room_maybe_free(struct clc *, struct clc_room *);
static void	own_serve(struct clc *, struct clc_room *, uint8_t, uint64_t, uint32_t);

/* --- the bus ------------------------------------------------------------ */

static void
clc_publish(struct clc *c, const char *subject, const struct vbuf *b)
{
	if (c->c_bus.cb_publish(c->c_bus.cb_arg, subject, b->vb_wr, b->vb_len) != 0)
		c->c_stats.cs_pub_failed++;
}

static void
clc_writer(struct clc *c, struct vbuf *b)
{
	vbuf_writer(b, c->c_buf, sizeof(c->c_buf));
}

static const char *node_inbox(struct clc *, uint64_t);
static struct clc_peer *peer_find(struct clc_view *, uint64_t);

/*
 * Asks p whether it has read our DATA of the room so far (PROTOCOL.md
 * 5.9): on its inbox, after that DATA (one publisher's order).
 */
static void
credit_ask(struct clc *c, struct clc_room *cr, struct clc_peer *p)
{
	struct clc_view *v = cr->cr_view;
	const char *subject;
	struct vbuf b;

	if ((subject = node_inbox(c, p->cp_nid)) == NULL)
		return;
	clc_writer(c, &b);
	if (clm_put_credit(&b, cr->cr_key, c->c_nid, CLM_C_ASK, v->v_bseq, p->cp_out) != 0)
		return;
	clc_publish(c, subject, &b);
	if (p->cp_nask == CL_ASKS)
		memmove(&p->cp_ask[0], &p->cp_ask[1], (CL_ASKS - 1) * sizeof(p->cp_ask[0]));
	else
		p->cp_nask++;
	p->cp_ask[p->cp_nask - 1].ca_bseq = v->v_bseq;
	p->cp_ask[p->cp_nask - 1].ca_useq = p->cp_out;
	p->cp_ask[p->cp_nask - 1].ca_sent = p->cp_sent;
	p->cp_asked = p->cp_sent;
	p->cp_ask_at = c->c_now;
}

/* The room's readers wait while p's window is full (like one more HOLD). */
static void
credit_check(struct clc *c, struct clc_room *cr, struct clc_peer *p)
{
	struct clc_view *v = cr->cr_view;
	int full = p->cp_n > 0 && p->cp_sent - p->cp_acked >= CL_WINDOW;

	if (full == p->cp_full)
		return;
	p->cp_full = (uint8_t)full;
	if (full) {
		c->c_stats.cs_credit_waits++;
		if (v->v_nfull++ == 0 && cr->cr_local != NULL)
			c->c_loc.cl_hold(c->c_loc.cl_arg, cr, 1);
	} else if (--v->v_nfull == 0 && cr->cr_local != NULL)
		c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
}

/* p no longer gets the room's DATA (no members left, or dead): its count ends. */
static void
credit_forget(struct clc *c, struct clc_room *cr, struct clc_peer *p)
{
	p->cp_sent = p->cp_acked = p->cp_asked = 0;
	p->cp_nask = 0;
	credit_check(c, cr, p);
}

/* n bytes of DATA published for p. */
static void
credit_sent(struct clc *c, struct clc_room *cr, struct clc_peer *p, size_t n)
{
	p->cp_sent += n;
	if (p->cp_sent - p->cp_asked >= CL_ASK_BYTES)
		credit_ask(c, cr, p);
	credit_check(c, cr, p);
}

static void
batch_flush(struct clc *c, struct clc_batch *bt)
{
	struct clc_room *cr = bt->bt_cr;
	struct clc_view *v;
	struct clc_peer *p;
	uint16_t i;

	if (cr == NULL)
		return;
	v = cr->cr_view;
	if (v != NULL)
		v->v_batch = -1;
	bt->bt_cr = NULL;
	if (c->c_bus.cb_publish(c->c_bus.cb_arg, bt->bt_subject, bt->bt_b.vb_wr,
	    bt->bt_b.vb_len) != 0) {
		c->c_stats.cs_pub_failed++;
		return;
	}
	c->c_stats.cs_data_out++;
	if (v == NULL)
		return;
	if (bt->bt_to != 0) {
		if ((p = peer_find(v, bt->bt_to)) != NULL && p->cp_n > 0)
			credit_sent(c, cr, p, bt->bt_b.vb_len);
		return;
	}
	for (i = 0; i < v->v_npeers; i++)
		if (v->v_peers[i].cp_n > 0)
			credit_sent(c, cr, &v->v_peers[i], bt->bt_b.vb_len);
}

/* Publishes the room's frames now: what comes next of it goes after them. */
static void
room_flush(struct clc *c, struct clc_room *cr)
{
	if (cr->cr_view != NULL && cr->cr_view->v_batch >= 0)
		batch_flush(c, &c->c_batch[cr->cr_view->v_batch]);
}

void
clc_flush(struct clc *c)
{
	size_t i;

	for (i = 0; i < CL_BATCHES; i++)
		batch_flush(c, &c->c_batch[i]);
}

/* --- nodes -------------------------------------------------------------- */

static struct clc_node *
node_find(struct clc *c, uint64_t nid)
{
	size_t i;

	for (i = 0; i < c->c_nnodes; i++)
		if (c->c_nodes[i].cn_nid == nid)
			return &c->c_nodes[i];
	return NULL;
}

static int
node_live(struct clc *c, uint64_t nid)
{
	struct clc_node *n;

	if (nid == c->c_nid)
		return 1;
	return (n = node_find(c, nid)) != NULL && !n->cn_dead;
}

/* The inbox subject of node nid (this one's included), or NULL. */
static const char *
node_inbox(struct clc *c, uint64_t nid)
{
	struct clc_node *n;

	if (nid == c->c_nid)
		return c->c_inbox;
	if ((n = node_find(c, nid)) == NULL || n->cn_dead)
		return NULL;
	return n->cn_subject;
}

static int
node_eligible(const struct clc_node *n)
{
	return !n->cn_dead && n->cn_age >= CL_SETTLE_MS;
}

/* This node's own heartbeat says it is settled and comes back in time. */
static int
self_eligible(const struct clc *c, int64_t now)
{
	return !c->c_leaving && c->c_heard != 0 && now - c->c_heard <= CL_FENCE_MS &&
	    c->c_heard_age >= CL_SETTLE_MS;
}

static uint32_t
clc_eligible_count(const struct clc *c, int64_t now)
{
	uint32_t k = self_eligible(c, now) ? 1 : 0;
	size_t i;

	for (i = 0; i < c->c_nnodes; i++)
		if (c->c_nodes[i].cn_nid != c->c_nid && node_eligible(&c->c_nodes[i]))
			k++;
	return k;
}

int
clc_serving(const struct clc *c, int64_t now)
{
	return self_eligible(c, now) && clc_eligible_count(c, now) >= c->c_quorum;
}

static uint64_t
hrw_score(const uint8_t key[CL_KEY_LEN], const char *name)
{
	uint8_t in[CL_KEY_LEN + CL_NAME_MAX + 1];
	uint64_t k[2];
	size_t n = strlen(name);

	relay_hash_key(k, clc_hrw_key);
	memcpy(in, key, CL_KEY_LEN);
	memcpy(in + CL_KEY_LEN, name, n + 1);	/* hashed without its NUL */
	return relay_siphash(k, in, CL_KEY_LEN + n);
}

/* Does (s1, name1, nid1) outrank (s2, name2, nid2)? */
static int
hrw_better(uint64_t s1, const char *name1, uint64_t nid1, uint64_t s2, const char *name2,
    uint64_t nid2)
{
	int d;

	if (s1 != s2)
		return s1 > s2;
	if ((d = strcmp(name1, name2)) != 0)
		return d > 0;
	return nid1 > nid2;
}

/*
 * The owner of the room key by this node's knowledge: the eligible node
 * (this one only while serving) with the highest score. 0 if none.
 */
static uint64_t
clc_winner(struct clc *c, const uint8_t key[CL_KEY_LEN])
{
	const char *bname = NULL;
	uint64_t best = 0, bs = 0, s;
	size_t i;

	if (clc_serving(c, c->c_now)) {
		best = c->c_nid;
		bs = hrw_score(key, c->c_name);
		bname = c->c_name;
	}
	for (i = 0; i < c->c_nnodes; i++) {
		const struct clc_node *n = &c->c_nodes[i];

		if (n->cn_nid == c->c_nid || !node_eligible(n))
			continue;
		s = hrw_score(key, n->cn_name);
		if (best == 0 || hrw_better(s, n->cn_name, n->cn_nid, bs, bname, best)) {
			best = n->cn_nid;
			bs = s;
			bname = n->cn_name;
		}
	}
	return best;
}

static void
node_dead(struct clc *c, struct clc_node *n)
{
	struct clc_room *cr, *next;
	uint64_t nid = n->cn_nid;

	n->cn_dead = 1;
	n->cn_dead_at = c->c_now;
	c->c_stats.cs_deaths++;
	for (cr = c->c_rooms; cr != NULL; cr = next) {
		next = cr->cr_lnext;
		if (cr->cr_own != NULL)
			own_node_dead(c, cr, nid);
		if (cr->cr_view != NULL)
			view_node_dead(c, cr, nid);
		room_maybe_free(c, cr);
	}
}

/* Room in the table for one more node: forget the oldest dead one. */
static struct clc_node *
node_slot(struct clc *c)
{
	size_t i, old = SIZE_MAX;

	if (c->c_nnodes < CL_NODES_MAX)
		return &c->c_nodes[c->c_nnodes++];
	for (i = 0; i < c->c_nnodes; i++)
		if (c->c_nodes[i].cn_dead && (old == SIZE_MAX ||
		    c->c_nodes[i].cn_dead_at < c->c_nodes[old].cn_dead_at))
			old = i;
	return old == SIZE_MAX ? NULL : &c->c_nodes[old];
}

static int
clc_past(const struct clc *c, uint64_t nid)
{
	size_t i;

	for (i = 0; i < CL_PAST; i++)
		if (c->c_past[i] == nid)
			return 1;
	return 0;
}

static void
clc_fence(struct clc *c, const char *name, uint64_t nid)
{
	char subject[CL_SUBJECT_MAX];
	struct vbuf b;

	if (clm_node_subject(name, subject) != 0)
		return;
	clc_writer(c, &b);
	if (clm_put_fence(&b, nid, c->c_nid) == 0)
		clc_publish(c, subject, &b);
}

static void
node_hb(struct clc *c, const struct clm *m)
{
	struct clc_node *n;
	size_t i;

	if (m->cl_nid == c->c_nid) {
		if (c->c_heard == 0 || c->c_now - c->c_heard > CL_FENCE_MS)
			c->c_echo_since = c->c_now;
		c->c_heard = c->c_now;
		c->c_heard_age = m->cl_age;
		return;
	}
	if (clc_past(c, m->cl_nid))
		return;
	if ((n = node_find(c, m->cl_nid)) != NULL && n->cn_dead) {
		/* A node we declared dead speaks: it must start afresh. */
		clc_fence(c, m->cl_name, m->cl_nid);
		return;
	}
	if (n == NULL) {
		if (strcmp(m->cl_name, c->c_name) == 0) {
			/* Another relayd with our --node NAME: the younger one gives way. */
			if ((int64_t)m->cl_age >= clc_age(c))
				c->c_dupname = 1;
			return;
		}
		/* A new incarnation of a node: the old one is dead at once. */
		for (i = 0; i < c->c_nnodes; i++)
			if (!c->c_nodes[i].cn_dead &&
			    strcmp(c->c_nodes[i].cn_name, m->cl_name) == 0)
				node_dead(c, &c->c_nodes[i]);
		if ((n = node_slot(c)) == NULL)
			return;
		memset(n, 0, sizeof(*n));
		n->cn_nid = m->cl_nid;
		memcpy(n->cn_name, m->cl_name, (size_t)m->cl_namelen + 1);
		if (clm_node_subject(n->cn_name, n->cn_subject) != 0)
			return;
	}
	n->cn_heard = c->c_now;
	n->cn_age = m->cl_age;
	if (m->cl_flags & CLM_HB_LEAVING)
		node_dead(c, n);
}

/* --- rooms -------------------------------------------------------------- */

static struct clc_room **
room_slot(struct clc *c, const uint8_t key[CL_KEY_LEN])
{
	return &c->c_buckets[relay_siphash(c->c_hkey, key, CL_KEY_LEN) & (c->c_nbuckets - 1)];
}

static struct clc_room *
room_find(struct clc *c, const uint8_t key[CL_KEY_LEN])
{
	struct clc_room *cr;

	for (cr = *room_slot(c, key); cr != NULL; cr = cr->cr_next)
		if (memcmp(cr->cr_key, key, CL_KEY_LEN) == 0)
			return cr;
	return NULL;
}

static void
room_grow(struct clc *c)
{
	struct clc_room **nb, *cr;
	size_t n = c->c_nbuckets * 2, i;

	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of room pointers */
	if (c->c_nrooms < c->c_nbuckets || n > SIZE_MAX / sizeof(*nb) ||
	    (nb = calloc(n, sizeof(*nb))) == NULL)	/* NOLINT(bugprone-sizeof-expression) */
		return;
	free(c->c_buckets);
	c->c_buckets = nb;
	c->c_nbuckets = n;
	for (i = 0; i < n; i++)
		nb[i] = NULL;
	for (cr = c->c_rooms; cr != NULL; cr = cr->cr_lnext) {
		struct clc_room **s = room_slot(c, cr->cr_key);

		cr->cr_next = *s;
		*s = cr;
	}
}

static void
room_subscribe(struct clc *c, struct clc_room *cr)
{
	if (!cr->cr_subscribed && c->c_bus.cb_subscribe(c->c_bus.cb_arg, cr) == 0)
		cr->cr_subscribed = 1;
}

static struct clc_room *
room_get(struct clc *c, const uint8_t key[CL_KEY_LEN])
{
	struct clc_room *cr, **s;

	if ((cr = room_find(c, key)) != NULL)
		return cr;
	if ((cr = calloc(1, sizeof(*cr))) == NULL)
		return NULL;
	memcpy(cr->cr_key, key, CL_KEY_LEN);
	clm_room_subject(key, cr->cr_subject);
	s = room_slot(c, key);
	cr->cr_next = *s;
	*s = cr;
	cr->cr_lnext = c->c_rooms;
	if (c->c_rooms != NULL)
		c->c_rooms->cr_lprev = cr;
	c->c_rooms = cr;
	c->c_nrooms++;
	room_grow(c);
	room_subscribe(c, cr);
	return cr;
}

static void
room_free(struct clc *c, struct clc_room *cr)
{
	struct clc_room **pp;

	if (cr->cr_subscribed)
		c->c_bus.cb_unsubscribe(c->c_bus.cb_arg, cr);
	for (pp = room_slot(c, cr->cr_key); *pp != NULL; pp = &(*pp)->cr_next) {
		if (*pp == cr) {
			*pp = cr->cr_next;
			break;
		}
	}
	if (cr->cr_lprev != NULL)
		cr->cr_lprev->cr_lnext = cr->cr_lnext;
	else
		c->c_rooms = cr->cr_lnext;
	if (cr->cr_lnext != NULL)
		cr->cr_lnext->cr_lprev = cr->cr_lprev;
	c->c_nrooms--;
	free(cr);
}

/* --- views: members and peers ------------------------------------------- */

static int
vm_index(const struct clc_view *v, uint16_t id)
{
	int lo = 0, hi = (int)v->v_n - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (v->v_m[mid].vm_id == id)
			return mid;
		if (v->v_m[mid].vm_id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static struct clc_peer *
peer_find(struct clc_view *v, uint64_t nid)
{
	uint16_t i;

	for (i = 0; i < v->v_npeers; i++)
		if (v->v_peers[i].cp_nid == nid)
			return &v->v_peers[i];
	return NULL;
}

static struct clc_peer *
peer_get(struct clc_view *v, uint64_t nid)
{
	struct clc_peer *p;
	uint16_t cap;

	if ((p = peer_find(v, nid)) != NULL)
		return p;
	if (v->v_npeers >= CL_NODES_MAX)
		return NULL;
	if (v->v_npeers == v->v_peercap) {
		cap = v->v_peercap == 0 ? 4 : (uint16_t)(2 * v->v_peercap);
		if ((p = calloc(cap, sizeof(*p))) == NULL)
			return NULL;
		if (v->v_npeers > 0)
			memcpy(p, v->v_peers, v->v_npeers * sizeof(*p));
		free(v->v_peers);
		v->v_peers = p;
		v->v_peercap = cap;
	}
	p = &v->v_peers[v->v_npeers++];
	memset(p, 0, sizeof(*p));
	p->cp_nid = nid;
	return p;
}

/* Forgets a peer that has no members, HOLD or counters worth keeping. */
static void
peer_tidy(struct clc_view *v, struct clc_peer *p)
{
	if (p->cp_n > 0 || p->cp_hold || p->cp_full)
		return;
	/* Its counters go too: a later frame starts a new count. */
	*p = v->v_peers[--v->v_npeers];
}

static int
view_add(struct clc *c, struct clc_room *cr, uint16_t id, uint64_t nid, uint64_t stamp)
{
	struct clc_view *v = cr->cr_view;
	struct clc_vmember *nm;
	struct clc_peer *p;
	int i, lo;

	if (v->v_n >= CL_MEMBERS_MAX)
		return VEIL_E_LIMIT;
	if (v->v_n == v->v_cap) {
		uint16_t cap = v->v_cap == 0 ? 4 : (uint16_t)(2 * v->v_cap);

		if (cap > CL_MEMBERS_MAX)
			cap = CL_MEMBERS_MAX;
		if ((nm = calloc(cap, sizeof(*nm))) == NULL)
			return VEIL_E_ALLOC;
		if (v->v_n > 0)
			memcpy(nm, v->v_m, v->v_n * sizeof(*nm));
		free(v->v_m);
		v->v_m = nm;
		v->v_cap = cap;
	}
	for (lo = 0; lo < v->v_n && v->v_m[lo].vm_id < id; lo++)
		;
	for (i = v->v_n; i > lo; i--)
		v->v_m[i] = v->v_m[i - 1];
	v->v_m[lo].vm_id = id;
	v->v_m[lo].vm_nid = nid;
	v->v_m[lo].vm_stamp = stamp;
	v->v_m[lo].vm_local = 0;
	v->v_n++;
	if (nid != c->c_nid && (p = peer_get(v, nid)) != NULL)
		p->cp_n++;
	if (cr->cr_local != NULL)
		c->c_loc.cl_member(c->c_loc.cl_arg, cr, FT_JOINED, id);
	return 0;
}

/*
 * Removes member i: the local members hear LEFT, or if it is one of them,
 * the relay ends it (the owner no longer has it).
 */
static void
view_del(struct clc *c, struct clc_room *cr, int i, int emit)
{
	struct clc_view *v = cr->cr_view;
	struct clc_vmember m = v->v_m[i];
	struct clc_peer *p;

	memmove(&v->v_m[i], &v->v_m[i + 1], (size_t)(v->v_n - i - 1) * sizeof(v->v_m[0]));
	v->v_n--;
	if (m.vm_nid != c->c_nid && (p = peer_find(v, m.vm_nid)) != NULL && p->cp_n > 0) {
		if (--p->cp_n == 0)
			credit_forget(c, cr, p);
		peer_tidy(v, p);
	}
	if (!emit || cr->cr_local == NULL)
		return;
	if (m.vm_local)
		c->c_loc.cl_evict(c->c_loc.cl_arg, cr, m.vm_id);
	else
		c->c_loc.cl_member(c->c_loc.cl_arg, cr, FT_LEFT, m.vm_id);
}

static void
view_bye_note(struct clc_view *v, uint16_t id, uint64_t stamp)
{
	v->v_bye_id[v->v_byei] = id;
	v->v_bye_stamp[v->v_byei] = stamp;
	v->v_byei = (uint8_t)((v->v_byei + 1) % CL_BYES);
}

static int
view_byed(const struct clc_view *v, uint16_t id, uint64_t stamp)
{
	size_t i;

	for (i = 0; i < CL_BYES; i++)
		if (v->v_bye_id[i] == id && v->v_bye_stamp[i] == stamp)
			return 1;
	return 0;
}

static void
view_held_free(struct clc_view *v)
{
	struct clc_held *h, *next;

	for (h = v->v_held; h != NULL; h = next) {
		next = h->hd_next;
		free(h);
	}
	v->v_held = NULL;
	v->v_heldtail = &v->v_held;
	v->v_heldbytes = 0;
}

static struct clc_view *
view_get(struct clc *c, struct clc_room *cr)
{
	struct clc_view *v;

	(void)c;
	if (cr->cr_view != NULL)
		return cr->cr_view;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->v_state = V_NEW;
	v->v_heldtail = &v->v_held;
	v->v_batch = -1;
	cr->cr_view = v;
	return v;
}

static void
view_free(struct clc *c, struct clc_room *cr)
{
	struct clc_view *v = cr->cr_view;
	struct clc_pend *pd, *next;
	uint16_t i;

	if (v == NULL)
		return;
	room_flush(c, cr);
	for (i = 0; i < v->v_npeers; i++)
		if (v->v_peers[i].cp_hold && cr->cr_local != NULL)
			c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
	if (v->v_nfull > 0 && cr->cr_local != NULL)
		c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
	for (pd = v->v_pend; pd != NULL; pd = next) {
		next = pd->pd_next;
		free(pd);
	}
	view_held_free(v);
	free(v->v_m);
	free(v->v_peers);
	free(v->v_q);
	free(v);
	cr->cr_view = NULL;
}

/* Frees the room when nothing here needs it any more. */
static void
room_maybe_free(struct clc *c, struct clc_room *cr)
{
	if (cr->cr_view != NULL && cr->cr_view->v_nlocal == 0 && cr->cr_view->v_npend == 0 &&
	    cr->cr_view->v_nun == 0)
		view_free(c, cr);
	if (cr->cr_view == NULL && cr->cr_own == NULL)
		room_free(c, cr);
}

static uint64_t
view_now(const struct clc_view *v)
{
	return (uint64_t)v->v_epoch << 32 | v->v_seq;
}

/* Asks the owner (the winner by our knowledge) for the whole membership. */
static void
view_resync(struct clc *c, struct clc_room *cr, int now_anyway)
{
	struct clc_view *v = cr->cr_view;
	const char *to;
	uint64_t w;
	struct vbuf b;

	if (v->v_state == V_SYNCED && !now_anyway)
		v->v_state = V_RESYNC;
	if (v->v_resync_at != 0 && c->c_now - v->v_resync_at < CL_RETRY_MS)
		return;
	if ((w = clc_winner(c, cr->cr_key)) == 0 || (to = node_inbox(c, w)) == NULL)
		return;
	clc_writer(c, &b);
	if (clm_put_resync(&b, cr->cr_key, c->c_nid) != 0)
		return;
	v->v_resync_at = c->c_now;
	c->c_stats.cs_resyncs++;
	clc_publish(c, to, &b);
}

static void
view_send_admit(struct clc *c, struct clc_room *cr, struct clc_pend *pd, uint64_t to)
{
	const char *subject;
	struct vbuf b;

	pd->pd_sent = c->c_now;
	pd->pd_to = 0;
	if (to == 0 || (subject = node_inbox(c, to)) == NULL)
		return;
	clc_writer(c, &b);
	if (clm_put_admit(&b, cr->cr_key, c->c_nid, pd->pd_req) != 0)
		return;
	pd->pd_to = to;
	clc_publish(c, subject, &b);
}

static void
view_send_bye(struct clc *c, struct clc_room *cr, uint16_t id, uint64_t stamp)
{
	struct vbuf b;

	room_flush(c, cr);	/* the member's last frames before its BYE (5.6) */
	clc_writer(c, &b);
	if (clm_put_bye(&b, cr->cr_key, c->c_nid, id, stamp) == 0)
		clc_publish(c, cr->cr_subject, &b);
}

/* A BYE for one of ours: sent until the owner confirms it. */
static void
view_bye_out(struct clc *c, struct clc_room *cr, uint16_t id, uint64_t stamp)
{
	struct clc_view *v = cr->cr_view;
	uint16_t k;

	view_send_bye(c, cr, id, stamp);
	for (k = 0; k < v->v_nun; k++)
		if (v->v_un_id[k] == id && v->v_un_stamp[k] == stamp)
			return;
	if (v->v_nun == CL_UNACKED) {
		/* The oldest one goes unconfirmed. */
		memmove(&v->v_un_id[0], &v->v_un_id[1], (CL_UNACKED - 1) * sizeof(v->v_un_id[0]));
		memmove(&v->v_un_stamp[0], &v->v_un_stamp[1],
		    (CL_UNACKED - 1) * sizeof(v->v_un_stamp[0]));
		memmove(&v->v_un_tries[0], &v->v_un_tries[1],
		    (CL_UNACKED - 1) * sizeof(v->v_un_tries[0]));
		memmove(&v->v_un_sent[0], &v->v_un_sent[1],
		    (CL_UNACKED - 1) * sizeof(v->v_un_sent[0]));
		v->v_nun--;
	}
	k = v->v_nun++;
	v->v_un_id[k] = id;
	v->v_un_stamp[k] = stamp;
	v->v_un_tries[k] = 1;
	v->v_un_sent[k] = c->c_now;
}

static void
view_un_del(struct clc_view *v, uint16_t k)
{
	v->v_nun--;
	v->v_un_id[k] = v->v_un_id[v->v_nun];
	v->v_un_stamp[k] = v->v_un_stamp[v->v_nun];
	v->v_un_tries[k] = v->v_un_tries[v->v_nun];
	v->v_un_sent[k] = v->v_un_sent[v->v_nun];
}

/* The owner's LEFT for (id, stamp), or a snapshot without it: confirmed. */
static void
view_un_ack(struct clc_view *v, uint16_t id, uint64_t stamp, const struct clm_snap *s)
{
	uint16_t k;
	size_t j;
	int listed;

	for (k = 0; k < v->v_nun; ) {
		if (s != NULL) {
			listed = 0;
			for (j = 0; j < s->cs_n; j++)
				if (s->cs_members[j].cm_id == v->v_un_id[k] &&
				    s->cs_members[j].cm_stamp == v->v_un_stamp[k])
					listed = 1;
			if (!listed) {
				view_un_del(v, k);
				continue;
			}
		} else if (v->v_un_id[k] == id && v->v_un_stamp[k] == stamp) {
			view_un_del(v, k);
			continue;
		}
		k++;
	}
}

/* Members of this node the owner lists but the relay does not hold: given back. */
static void
view_ghosts(struct clc *c, struct clc_room *cr)
{
	struct clc_view *v = cr->cr_view;
	int i;

	if (v->v_npend != 0)
		return;
	for (i = 0; i < v->v_n; ) {
		struct clc_vmember m = v->v_m[i];

		if (m.vm_nid != c->c_nid || m.vm_local) {
			i++;
			continue;
		}
		view_bye_out(c, cr, m.vm_id, m.vm_stamp);
		view_bye_note(v, m.vm_id, m.vm_stamp);
		view_del(c, cr, i, 1);
	}
}

/* Replaces the membership with snap (the owner's at (epoch, seq)): LEFT first, then JOINED. */
static void
view_snapshot(struct clc *c, struct clc_room *cr, uint64_t owner, const struct clm_snap *s)
{
	struct clc_view *v = cr->cr_view;
	size_t k;
	int i;

	for (i = 0; i < v->v_n; ) {
		const struct clc_vmember *m = &v->v_m[i];
		int keep = 0;

		for (k = 0; k < s->cs_n; k++) {
			if (s->cs_members[k].cm_id == m->vm_id) {
				keep = s->cs_members[k].cm_nid == m->vm_nid &&
				    s->cs_members[k].cm_stamp == m->vm_stamp;
				break;
			}
		}
		if (keep)
			i++;
		else
			view_del(c, cr, i, 1);
	}
	for (k = 0; k < s->cs_n; k++) {
		const struct clm_member *sm = &s->cs_members[k];

		if (vm_index(v, sm->cm_id) >= 0 || view_byed(v, sm->cm_id, sm->cm_stamp))
			continue;
		(void)view_add(c, cr, sm->cm_id, sm->cm_nid, sm->cm_stamp);
	}
	view_un_ack(v, 0, 0, s);
	v->v_owner = owner;
	v->v_epoch = s->cs_epoch;
	v->v_seq = s->cs_seq;
	v->v_last = s->cs_last;
	v->v_state = V_SYNCED;
	v->v_resync_at = 0;
	v->v_waiting = 0;
	v->v_force = 0;
	view_ghosts(c, cr);
	view_drain(c, cr);
	view_release(c, cr);
}

/* Applies one event in order. Returns 1 if it must wait for a BYE. */
static int
view_apply(struct clc *c, struct clc_room *cr, const struct clc_qev *e)
{
	struct clc_view *v = cr->cr_view;
	int i;

	if (e->qe_kind == CLM_E_JOINED) {
		if ((i = vm_index(v, e->qe_id)) >= 0)
			view_del(c, cr, i, 1);
		if (!view_byed(v, e->qe_id, e->qe_stamp))
			(void)view_add(c, cr, e->qe_id, e->qe_node, e->qe_stamp);
		v->v_last = e->qe_id;
	} else if (view_un_ack(v, e->qe_id, e->qe_stamp, NULL),
	    (i = vm_index(v, e->qe_id)) >= 0 && v->v_m[i].vm_stamp == e->qe_stamp) {
		const struct clc_vmember *m = &v->v_m[i];

		/* Its node's BYE follows its last frames: wait for it (5.6). */
		if (!v->v_force && !m->vm_local && m->vm_nid != c->c_nid &&
		    node_live(c, m->vm_nid) && !view_byed(v, m->vm_id, m->vm_stamp)) {
			v->v_waiting = 1;
			v->v_wait_id = m->vm_id;
			v->v_wait_stamp = m->vm_stamp;
			v->v_wait_until = c->c_now + CL_BYE_WAIT_MS;
			return 1;
		}
		view_del(c, cr, i, 1);
	}
	v->v_force = 0;
	v->v_owner = e->qe_owner;
	v->v_seq = e->qe_seq;
	return 0;
}

/* Applies the queued events that are next in order; a gap asks for a snapshot. */
static void
view_drain(struct clc *c, struct clc_room *cr)
{
	struct clc_view *v = cr->cr_view;
	int changed = 0;

	while (v->v_qn > 0 && v->v_state == V_SYNCED && !v->v_waiting) {
		const struct clc_qev *e = &v->v_q[0];

		if (e->qe_epoch < v->v_epoch ||
		    (e->qe_epoch == v->v_epoch && e->qe_seq <= v->v_seq)) {
			/* Old news. */
		} else if (e->qe_epoch == v->v_epoch && e->qe_seq == v->v_seq + 1) {
			if (view_apply(c, cr, e) != 0)
				break;
			changed = 1;
		} else {
			view_resync(c, cr, 0);
			break;
		}
		memmove(&v->v_q[0], &v->v_q[1], (size_t)(v->v_qn - 1) * sizeof(v->v_q[0]));
		v->v_qn--;
	}
	if (changed)
		view_release(c, cr);
}

static void
view_queue(struct clc *c, struct clc_room *cr, const struct clc_qev *e)
{
	struct clc_view *v = cr->cr_view;
	int i;

	if (v->v_q == NULL && (v->v_q = calloc(CL_QUEUE_MAX, sizeof(*v->v_q))) == NULL) {
		view_resync(c, cr, 0);
		return;
	}
	if (v->v_qn >= CL_QUEUE_MAX) {
		/* Too far behind: the snapshot will say it all. */
		v->v_qn = 0;
		view_resync(c, cr, 0);
		return;
	}
	/* In (epoch, seq) order: one owner's events come in order, others' are older. */
	for (i = v->v_qn; i > 0; i--) {
		const struct clc_qev *q = &v->v_q[i - 1];

		if (q->qe_epoch < e->qe_epoch ||
		    (q->qe_epoch == e->qe_epoch && q->qe_seq <= e->qe_seq))
			break;
		v->v_q[i] = v->v_q[i - 1];
	}
	v->v_q[i] = *e;
	v->v_qn++;
}

static void
view_event(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_view *v = cr->cr_view;
	struct clc_qev e;

	if (v == NULL || !node_live(c, m->cl_owner))
		return;
	if (m->cl_result == CLM_E_SNAPSHOT) {
		if (v->v_state == V_NEW || m->cl_epoch > v->v_epoch ||
		    (m->cl_epoch == v->v_epoch && m->cl_seq >= v->v_seq))
			view_snapshot(c, cr, m->cl_owner, &m->cl_snap);
		return;
	}
	if (m->cl_result == CLM_E_SEQ) {
		/* The owner is ahead and nothing more is coming: ask for the rest. */
		if (v->v_state == V_SYNCED && !v->v_waiting && v->v_qn == 0 &&
		    (m->cl_epoch > v->v_epoch || (m->cl_epoch == v->v_epoch && m->cl_seq > v->v_seq)))
			view_resync(c, cr, 1);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.qe_owner = m->cl_owner;
	e.qe_epoch = m->cl_epoch;
	e.qe_seq = m->cl_seq;
	e.qe_kind = m->cl_result;
	e.qe_id = m->cl_id;
	e.qe_stamp = m->cl_stamp;
	e.qe_node = m->cl_node;
	if (v->v_state == V_SYNCED &&
	    (e.qe_epoch < v->v_epoch || (e.qe_epoch == v->v_epoch && e.qe_seq <= v->v_seq)))
		return;
	if (v->v_state == V_SYNCED && !v->v_waiting && v->v_qn == 0 &&
	    e.qe_epoch == v->v_epoch && e.qe_seq == v->v_seq + 1) {
		if (view_apply(c, cr, &e) == 0) {
			view_release(c, cr);
			return;
		}
	}
	view_queue(c, cr, &e);
	view_drain(c, cr);
}

static void
view_bye(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_view *v = cr->cr_view;
	int i;

	if (v == NULL || m->cl_nid == c->c_nid)
		return;
	view_bye_note(v, m->cl_id, m->cl_stamp);
	if ((i = vm_index(v, m->cl_id)) >= 0 && v->v_m[i].vm_stamp == m->cl_stamp &&
	    v->v_m[i].vm_nid == m->cl_nid)
		view_del(c, cr, i, 1);
	if (v->v_waiting && v->v_wait_id == m->cl_id && v->v_wait_stamp == m->cl_stamp) {
		v->v_waiting = 0;
		view_drain(c, cr);
	}
	view_release(c, cr);
}

/* What to do with a frame from a remote member: 1 deliver, 0 hold, -1 drop. */
static int
view_gate(struct clc *c, const struct clc_view *v, uint64_t nid, uint16_t src, uint64_t stamp)
{
	int i;

	if (!node_live(c, nid))
		return -1;
	if (v->v_state != V_SYNCED)
		return 0;
	if ((i = vm_index(v, src)) >= 0 && v->v_m[i].vm_stamp == stamp && v->v_m[i].vm_nid == nid)
		return 1;
	/* Admitted after what we have applied: its JOINED is on its way. */
	if (stamp > view_now(v) && !view_byed(v, src, stamp))
		return 0;
	return -1;
}

/* Delivers or drops the held frames whose sender's fate is now known, in order. */
static void
view_release(struct clc *c, struct clc_room *cr)
{
	struct clc_view *v = cr->cr_view;
	struct clc_held **hp = &v->v_held, *h;
	int g;

	v->v_heldtail = &v->v_held;
	while ((h = *hp) != NULL) {
		if ((g = view_gate(c, v, h->hd_nid, h->hd_src, h->hd_stamp)) == 0) {
			v->v_heldtail = &h->hd_next;
			hp = &h->hd_next;
			continue;
		}
		*hp = h->hd_next;
		v->v_heldbytes -= h->hd_len;
		if (g > 0 && cr->cr_local != NULL)
			c->c_loc.cl_deliver(c->c_loc.cl_arg, cr, h->hd_src, h->hd_dst, h->hd_data,
			    h->hd_len);
		else if (g < 0)
			c->c_stats.cs_dropped++;
		free(h);
	}
}

/* One frame from another node (5.6, 5.8). */
static void
view_frame(struct clc *c, struct clc_room *cr, uint64_t nid, struct clc_peer *p,
    const struct clm_frame *f)
{
	struct clc_view *v = cr->cr_view;
	struct clc_held *h;
	int g, lost = 0;

	if (p != NULL) {
		/*
		 * Each sender numbers what it publishes, from 1 whenever it
		 * starts counting afresh: any other gap is a frame the bus lost.
		 */
		if (f->cf_dst == MEMBER_BCAST) {
			lost = p->cp_bseen && f->cf_pseq != p->cp_bseq + 1 && f->cf_pseq != 1;
			p->cp_bseq = f->cf_pseq;
			p->cp_bseen = 1;
		} else {
			lost = p->cp_useen && f->cf_pseq != p->cp_useq + 1 && f->cf_pseq != 1;
			p->cp_useq = f->cf_pseq;
			p->cp_useen = 1;
		}
	}
	if (lost) {
		c->c_stats.cs_lost++;
		if (cr->cr_local != NULL)
			c->c_loc.cl_lost(c->c_loc.cl_arg, cr, f->cf_dst);
	}
	g = v->v_held != NULL ? 0 : view_gate(c, v, nid, f->cf_src, f->cf_stamp);
	if (g > 0) {
		if (cr->cr_local != NULL)
			c->c_loc.cl_deliver(c->c_loc.cl_arg, cr, f->cf_src, f->cf_dst, f->cf_payload,
			    f->cf_len);
		return;
	}
	if (g < 0) {
		c->c_stats.cs_dropped++;
		return;
	}
	/* Held (5.6), behind any frame held before it. */
	if (v->v_heldbytes + f->cf_len > CL_HELD_MAX ||
	    (h = malloc(sizeof(*h) + f->cf_len)) == NULL) {
		c->c_stats.cs_lost++;
		if (cr->cr_local != NULL)
			c->c_loc.cl_lost(c->c_loc.cl_arg, cr, f->cf_dst);
		return;
	}
	h->hd_next = NULL;
	h->hd_nid = nid;
	h->hd_stamp = f->cf_stamp;
	h->hd_src = f->cf_src;
	h->hd_dst = f->cf_dst;
	h->hd_len = f->cf_len;
	memcpy(h->hd_data, f->cf_payload, f->cf_len);
	*v->v_heldtail = h;
	v->v_heldtail = &h->hd_next;
	v->v_heldbytes += f->cf_len;
	c->c_stats.cs_held++;
	view_release(c, cr);
}

static void
view_data(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clm_frame f;
	struct clc_peer *p;
	size_t off = 0;

	if (cr->cr_view == NULL || m->cl_nid == c->c_nid)
		return;
	p = peer_get(cr->cr_view, m->cl_nid);
	while (clm_data_next(m, &off, &f) && cr->cr_view != NULL)
		view_frame(c, cr, m->cl_nid, p, &f);
}

static void
view_hold(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_view *v = cr->cr_view;
	struct clc_peer *p;

	if (v == NULL || m->cl_nid == c->c_nid || !node_live(c, m->cl_nid) ||
	    (p = peer_get(v, m->cl_nid)) == NULL)
		return;
	if (m->cl_flags) {
		p->cp_hold_until = c->c_now + c->c_hold_ms + CL_HOLD_SLACK_MS;
		if (p->cp_hold)
			return;
		p->cp_hold = 1;
		v->v_nholds++;
		if (cr->cr_local != NULL)
			c->c_loc.cl_hold(c->c_loc.cl_arg, cr, 1);
	} else if (p->cp_hold) {
		p->cp_hold = 0;
		v->v_nholds--;
		if (cr->cr_local != NULL)
			c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
		peer_tidy(v, p);
	}
}

/*
 * CREDIT (5.9). An ask: everything its sender published before it has
 * reached us or never will (one publisher's order), so a number short of
 * the asked one is a loss at the end of a stream (5.8), and the answer
 * echoes the numbers. An answer: the node has read what we had sent when
 * we asked.
 */
static void
view_credit(struct clc *c, const struct clm *m)
{
	struct clc_room *cr = room_find(c, m->cl_key);
	struct clc_view *v = cr != NULL ? cr->cr_view : NULL;
	struct clc_peer *p = v != NULL ? peer_find(v, m->cl_nid) : NULL;
	const char *subject;
	struct vbuf b;
	uint8_t i, k;

	if (m->cl_nid == c->c_nid || !node_live(c, m->cl_nid))
		return;
	if (m->cl_flags == CLM_C_ASK) {
		if (p != NULL && ((m->cl_bseq != 0 && p->cp_bseen && p->cp_bseq != m->cl_bseq) ||
		    (m->cl_useq != 0 && p->cp_useen && p->cp_useq != m->cl_useq))) {
			c->c_stats.cs_lost++;
			if (cr->cr_local != NULL)
				c->c_loc.cl_lost(c->c_loc.cl_arg, cr, MEMBER_BCAST);
		}
		if (p != NULL) {
			if (m->cl_bseq != 0 && p->cp_bseen)
				p->cp_bseq = m->cl_bseq;
			if (m->cl_useq != 0 && p->cp_useen)
				p->cp_useq = m->cl_useq;
		}
		if ((subject = node_inbox(c, m->cl_nid)) == NULL)
			return;
		clc_writer(c, &b);
		if (clm_put_credit(&b, m->cl_key, c->c_nid, CLM_C_ANSWER, m->cl_bseq,
		    m->cl_useq) == 0)
			clc_publish(c, subject, &b);
		return;
	}
	if (p == NULL)
		return;
	for (i = 0; i < p->cp_nask; i++)
		if (p->cp_ask[i].ca_bseq == m->cl_bseq && p->cp_ask[i].ca_useq == m->cl_useq)
			break;
	if (i == p->cp_nask)
		return;	/* not ours, or answered already */
	if (p->cp_ask[i].ca_sent > p->cp_acked)
		p->cp_acked = p->cp_ask[i].ca_sent;
	k = (uint8_t)(i + 1);
	memmove(&p->cp_ask[0], &p->cp_ask[k], (size_t)(p->cp_nask - k) * sizeof(p->cp_ask[0]));
	p->cp_nask = (uint8_t)(p->cp_nask - k);
	credit_check(c, cr, p);
}

static struct clc_pend *
view_pend_find(struct clc_view *v, uint32_t req, struct clc_pend ***pp)
{
	struct clc_pend **p;

	for (p = &v->v_pend; *p != NULL; p = &(*p)->pd_next) {
		if ((*p)->pd_req == req) {
			*pp = p;
			return *p;
		}
	}
	return NULL;
}

static void
view_answer(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_view *v = cr->cr_view;
	struct clc_pend *pd, **pp = NULL;
	void *token;
	size_t n = 0;
	int i, k;

	pd = v != NULL ? view_pend_find(v, m->cl_req, &pp) : NULL;
	if (pd == NULL || pd->pd_to != m->cl_owner) {
		/*
		 * Given up, or answered by an owner we no longer ask: give the
		 * place back, unless it is one we hold (a repeated answer).
		 */
		if (m->cl_result == CLM_A_ADMITTED && (v == NULL ||
		    (i = vm_index(v, m->cl_id)) < 0 || !v->v_m[i].vm_local ||
		    v->v_m[i].vm_stamp != m->cl_stamp))
			view_send_bye(c, cr, m->cl_id, m->cl_stamp);
		return;
	}
	if (m->cl_result == CLM_A_RETRY) {
		pd->pd_to = 0;
		pd->pd_sent = c->c_now;
		return;
	}
	token = pd->pd_token;
	if (m->cl_result == CLM_A_ADMITTED) {
		/*
		 * The owner's events up to this admission came first (5.4);
		 * if they did not, its snapshot stands in for them.
		 */
		if (v->v_state != V_SYNCED || m->cl_snap.cs_epoch > v->v_epoch ||
		    (m->cl_snap.cs_epoch == v->v_epoch && m->cl_snap.cs_seq > v->v_seq))
			view_snapshot(c, cr, m->cl_owner, &m->cl_snap);
		if ((i = vm_index(v, m->cl_id)) < 0 || v->v_m[i].vm_stamp != m->cl_stamp ||
		    v->v_m[i].vm_nid != c->c_nid || v->v_n > ROOM_SIZE_MAX) {
			/* A newer owner does not list it: give it back, ask again. */
			view_send_bye(c, cr, m->cl_id, m->cl_stamp);
			pd->pd_req = ++c->c_req;
			view_send_admit(c, cr, pd, clc_winner(c, cr->cr_key));
			return;
		}
		v->v_m[i].vm_local = 1;
		v->v_nlocal++;
	}
	/* (pp may have moved: find it again) */
	(void)view_pend_find(v, pd->pd_req, &pp);
	*pp = pd->pd_next;
	free(pd);
	v->v_npend--;
	if (m->cl_result == CLM_A_FULL) {
		c->c_loc.cl_refused(c->c_loc.cl_arg, token, FE_ROOM_FULL);
		view_ghosts(c, cr);
		return;
	}
	i = vm_index(v, m->cl_id);
	for (k = 0; k < v->v_n; k++)
		if (k != i)
			c->c_others[n++] = v->v_m[k].vm_id;
	c->c_loc.cl_admitted(c->c_loc.cl_arg, token, cr, m->cl_id, m->cl_stamp, c->c_others, n);
	view_ghosts(c, cr);
}

/* A node died: what waited on it goes on. */
static void
view_node_dead(struct clc *c, struct clc_room *cr, uint64_t nid)
{
	struct clc_view *v = cr->cr_view;
	struct clc_held **hp, *h;
	struct clc_pend *pd;
	struct clc_peer *p;
	int i;

	for (pd = v->v_pend; pd != NULL; pd = pd->pd_next)
		if (pd->pd_to == nid)
			view_send_admit(c, cr, pd, clc_winner(c, cr->cr_key));
	for (hp = &v->v_held; (h = *hp) != NULL; ) {
		if (h->hd_nid != nid) {
			hp = &h->hd_next;
			continue;
		}
		*hp = h->hd_next;
		v->v_heldbytes -= h->hd_len;
		free(h);
	}
	for (v->v_heldtail = &v->v_held; *v->v_heldtail != NULL;
	    v->v_heldtail = &(*v->v_heldtail)->hd_next)
		;
	if ((p = peer_find(v, nid)) != NULL) {
		credit_forget(c, cr, p);
		if (p->cp_hold) {
			p->cp_hold = 0;
			v->v_nholds--;
			if (cr->cr_local != NULL)
				c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
		}
		peer_tidy(v, p);
	}
	if (v->v_waiting && (i = vm_index(v, v->v_wait_id)) >= 0 && v->v_m[i].vm_nid == nid) {
		v->v_waiting = 0;
		v->v_force = 1;
		view_drain(c, cr);
	}
	/* Its owner died: the next one rebuilds the table, and this asks it to. */
	if (v->v_owner == nid)
		view_resync(c, cr, 1);
}

/* --- owners ------------------------------------------------------------- */

static int
om_index(const struct clc_own *o, uint16_t id)
{
	int lo = 0, hi = (int)o->o_n - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (o->o_m[mid].om_id == id)
			return mid;
		if (o->o_m[mid].om_id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int
om_insert(struct clc_own *o, const struct clc_omember *m)
{
	int i, lo;

	struct clc_omember *nm;
	uint16_t cap;

	if (o->o_n >= CL_MEMBERS_MAX)
		return VEIL_E_LIMIT;
	if (o->o_n == o->o_mcap) {
		cap = o->o_mcap == 0 ? 4 : (uint16_t)(2 * o->o_mcap);
		if (cap > CL_MEMBERS_MAX)
			cap = CL_MEMBERS_MAX;
		if ((nm = calloc(cap, sizeof(*nm))) == NULL)
			return VEIL_E_ALLOC;
		if (o->o_n > 0)
			memcpy(nm, o->o_m, o->o_n * sizeof(*nm));
		free(o->o_m);
		o->o_m = nm;
		o->o_mcap = cap;
	}
	for (lo = 0; lo < o->o_n && o->o_m[lo].om_id < m->om_id; lo++)
		;
	for (i = o->o_n; i > lo; i--)
		o->o_m[i] = o->o_m[i - 1];
	o->o_m[lo] = *m;
	o->o_n++;
	return 0;
}

static void
om_remove(struct clc *c, struct clc_own *o, int i)
{
	if (o->o_m[i].om_prov != 0 && o->o_nprov > 0)
		o->o_nprov--;
	memmove(&o->o_m[i], &o->o_m[i + 1], (size_t)(o->o_n - i - 1) * sizeof(o->o_m[0]));
	if (--o->o_n == 0)
		o->o_empty = c->c_now;
}

static void
own_snap(struct clc *c, const struct clc_own *o, struct clm_snap *s)
{
	uint16_t i;

	memset(s, 0, offsetof(struct clm_snap, cs_members));
	(void)c;
	s->cs_epoch = o->o_epoch;
	s->cs_seq = o->o_seq;
	s->cs_last = o->o_cursor == 1 ? 0 : (uint16_t)(o->o_cursor - 1);
	s->cs_n = o->o_n;
	for (i = 0; i < o->o_n; i++) {
		s->cs_members[i].cm_id = o->o_m[i].om_id;
		s->cs_members[i].cm_nid = o->o_m[i].om_nid;
		s->cs_members[i].cm_stamp = o->o_m[i].om_stamp;
	}
}

static void
own_event(struct clc *c, struct clc_room *cr, uint8_t kind, uint16_t id, uint64_t arg)
{
	struct clc_own *o = cr->cr_own;
	struct vbuf b;

	clc_writer(c, &b);
	if (clm_put_event(&b, cr->cr_key, c->c_nid, o->o_epoch, o->o_seq, kind, id, arg) == 0)
		clc_publish(c, cr->cr_subject, &b);
	o->o_last_ev = c->c_now;
	o->o_seqs = 0;
}

/* Answers an ADMIT: FULL or RETRY. */
static void
own_answer(struct clc *c, const uint8_t key[CL_KEY_LEN], uint64_t to, uint32_t req,
    uint8_t result)
{
	const char *subject;
	struct vbuf b;

	if ((subject = node_inbox(c, to)) == NULL)
		return;
	clc_writer(c, &b);
	if (clm_put_answer(&b, key, c->c_nid, req, result, 0, 0, NULL) == 0)
		clc_publish(c, subject, &b);
}

/* Answers an ADMIT with the place given, and the table as it is now. */
static void
own_admitted(struct clc *c, struct clc_room *cr, uint64_t to, uint32_t req, uint16_t id,
    uint64_t stamp)
{
	const char *subject;
	struct vbuf b;

	if ((subject = node_inbox(c, to)) == NULL)
		return;
	own_snap(c, cr->cr_own, &c->c_snap);
	clc_writer(c, &b);
	if (clm_put_answer(&b, cr->cr_key, c->c_nid, req, CLM_A_ADMITTED, id, stamp,
	    &c->c_snap) == 0)
		clc_publish(c, subject, &b);
}

/* A member leaves the table: the next event says so. */
static void
own_drop(struct clc *c, struct clc_room *cr, int i)
{
	struct clc_own *o = cr->cr_own;
	uint16_t id = o->o_m[i].om_id;
	uint64_t stamp = o->o_m[i].om_stamp;

	om_remove(c, o, i);
	o->o_seq++;
	own_event(c, cr, CLM_E_LEFT, id, stamp);
}

static void
own_free(struct clc_room *cr)
{
	struct clc_own *o = cr->cr_own;

	if (o == NULL)
		return;
	free(o->o_coll);
	free(o->o_m);
	free(o);
	cr->cr_own = NULL;
}

/* Gives up the room: what waited for the table is told to ask again. */
static void
own_release(struct clc *c, struct clc_room *cr)
{
	struct clc_own *o = cr->cr_own;
	struct clc_coll *co;
	uint16_t i;

	if (o == NULL)
		return;
	if ((co = o->o_coll) != NULL)
		for (i = 0; i < co->co_nq; i++)
			if (co->co_q[i].oq_type == CLM_ADMIT)
				own_answer(c, cr->cr_key, co->co_q[i].oq_nid, co->co_q[i].oq_req,
				    CLM_A_RETRY);
	own_free(cr);
}

static int
coll_has(const uint64_t *set, uint16_t n, uint64_t nid)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (set[i] == nid)
			return 1;
	return 0;
}

static void
coll_del(uint64_t *set, uint16_t *n, uint64_t nid)
{
	uint16_t i;

	for (i = 0; i < *n; i++) {
		if (set[i] == nid) {
			set[i] = set[--*n];
			return;
		}
	}
}

static void
coll_query(struct clc *c, struct clc_room *cr, uint64_t nid)
{
	struct clc_coll *co = cr->cr_own->o_coll;
	const char *subject;
	struct vbuf b;

	if ((subject = node_inbox(c, nid)) == NULL)
		return;
	clc_writer(c, &b);
	if (clm_put_query(&b, cr->cr_key, c->c_nid, co->co_round) == 0)
		clc_publish(c, subject, &b);
}

/* The table is whole: a new epoch starts with its snapshot. */
static void
own_finish(struct clc *c, struct clc_room *cr)
{
	struct clc_own *o = cr->cr_own;
	struct clc_coll *co = o->o_coll;
	struct clc_oreq q[CL_QUEUE_MAX];
	struct vbuf b;
	uint16_t nq = co->co_nq, i;

	o->o_epoch = (co->co_gepoch > o->o_epoch ? co->co_gepoch : o->o_epoch) + 1;
	o->o_seq = 0;
	o->o_cursor = co->co_glast >= MEMBER_MAX ? 1 : (uint16_t)(co->co_glast + 1);
	o->o_state = O_OWNER;
	o->o_empty = o->o_n == 0 ? c->c_now : 0;
	o->o_cap = c->c_room_size;
	memcpy(q, co->co_q, nq * sizeof(q[0]));
	free(co);
	o->o_coll = NULL;
	c->c_stats.cs_takeovers++;
	own_snap(c, o, &c->c_snap);
	clc_writer(c, &b);
	if (clm_put_snapshot(&b, cr->cr_key, c->c_nid, &c->c_snap) == 0)
		clc_publish(c, cr->cr_subject, &b);
	o->o_last_ev = c->c_now;
	o->o_seqs = 0;
	for (i = 0; i < nq && cr->cr_own != NULL; i++)
		own_serve(c, cr, q[i].oq_type, q[i].oq_nid, q[i].oq_req);
}

/* This node becomes the room's owner: first it asks every node what it has (5.5). */
static int
own_collect(struct clc *c, struct clc_room *cr)
{
	struct clc_own *o;
	struct clc_coll *co;
	size_t i;

	if ((o = cr->cr_own) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			return VEIL_E_ALLOC;
		cr->cr_own = o;
	}
	if ((co = calloc(1, sizeof(*co))) == NULL) {
		own_free(cr);
		return VEIL_E_ALLOC;
	}
	o->o_state = O_COLLECTING;
	o->o_coll = co;
	o->o_n = 0;
	o->o_nprov = 0;
	co->co_round = ++c->c_round;
	co->co_sent = c->c_now;
	co->co_wait[co->co_nwait++] = c->c_nid;
	for (i = 0; i < c->c_nnodes && co->co_nwait < CL_NODES_MAX; i++)
		if (c->c_nodes[i].cn_nid != c->c_nid && node_eligible(&c->c_nodes[i]))
			co->co_wait[co->co_nwait++] = c->c_nodes[i].cn_nid;
	room_subscribe(c, cr);
	for (i = 0; i < co->co_nwait; i++)
		coll_query(c, cr, co->co_wait[i]);
	return 0;
}

/* Takes one node's part of the state (5.5). */
static void
own_state(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_own *o = cr->cr_own;
	struct clc_coll *co;
	struct clc_omember om;
	size_t k;
	int i;

	if (o == NULL || (co = o->o_coll) == NULL || m->cl_req != co->co_round ||
	    !coll_has(co->co_wait, co->co_nwait, m->cl_nid))
		return;
	if (m->cl_result != 0) {
		/* It knows of a better owner: step back, and let the requests go there. */
		own_release(c, cr);
		return;
	}
	coll_del(co->co_wait, &co->co_nwait, m->cl_nid);
	if (co->co_ntold < CL_NODES_MAX)
		co->co_told[co->co_ntold++] = m->cl_nid;
	if (m->cl_epoch > co->co_gepoch)
		co->co_gepoch = m->cl_epoch;
	if (m->cl_last > co->co_glast)
		co->co_glast = m->cl_last;
	/* Its own word on its members replaces what an old table said of them. */
	for (i = 0; i < o->o_n; ) {
		if (o->o_m[i].om_nid == m->cl_nid)
			om_remove(c, o, i);
		else
			i++;
	}
	for (k = 0; k < m->cl_nmine; k++) {
		memset(&om, 0, sizeof(om));
		om.om_id = m->cl_mine[k].cm_id;
		om.om_nid = m->cl_nid;
		om.om_stamp = m->cl_mine[k].cm_stamp;
		if (om_index(o, om.om_id) < 0)
			(void)om_insert(o, &om);
	}
	if (m->cl_has_snap) {
		const struct clm_snap *s = &m->cl_snap;

		if (s->cs_epoch > co->co_gepoch)
			co->co_gepoch = s->cs_epoch;
		if (s->cs_last > co->co_glast)
			co->co_glast = s->cs_last;
		for (k = 0; k < s->cs_n; k++) {
			const struct clm_member *sm = &s->cs_members[k];

			/* Nodes that answered speak for themselves; dead ones have none. */
			if (coll_has(co->co_told, co->co_ntold, sm->cm_nid) ||
			    !node_live(c, sm->cm_nid) || om_index(o, sm->cm_id) >= 0)
				continue;
			memset(&om, 0, sizeof(om));
			om.om_id = sm->cm_id;
			om.om_nid = sm->cm_nid;
			om.om_stamp = sm->cm_stamp;
			if (node_find(c, sm->cm_nid) == NULL && sm->cm_nid != c->c_nid)
				om.om_prov = c->c_now + CL_DEAD_MS;
			if (om_insert(o, &om) == 0 && om.om_prov != 0)
				o->o_nprov++;
			/* A node we did not ask has members: ask it too. */
			if (om.om_prov == 0 && !coll_has(co->co_wait, co->co_nwait, sm->cm_nid) &&
			    co->co_nwait < CL_NODES_MAX) {
				co->co_wait[co->co_nwait++] = sm->cm_nid;
				coll_query(c, cr, sm->cm_nid);
			}
		}
	}
	if (co->co_nwait == 0)
		own_finish(c, cr);
}

/* An ADMIT or a RESYNC the owner can answer now. */
static void
own_serve(struct clc *c, struct clc_room *cr, uint8_t type, uint64_t nid, uint32_t req)
{
	struct clc_own *o = cr->cr_own;
	struct clc_omember om;
	const char *subject;
	struct vbuf b;
	uint16_t id;
	int i;

	if (!node_live(c, nid))
		return;
	if (type == CLM_RESYNC) {
		if ((subject = node_inbox(c, nid)) == NULL)
			return;
		own_snap(c, o, &c->c_snap);
		clc_writer(c, &b);
		if (clm_put_snapshot(&b, cr->cr_key, c->c_nid, &c->c_snap) == 0)
			clc_publish(c, subject, &b);
		return;
	}
	/* The same request again (its answer was lost): the same answer. */
	for (i = 0; i < o->o_n; i++) {
		if (o->o_m[i].om_nid == nid && o->o_m[i].om_req == req && req != 0) {
			own_admitted(c, cr, nid, req, o->o_m[i].om_id, o->o_m[i].om_stamp);
			return;
		}
	}
	if (o->o_n >= o->o_cap) {
		own_answer(c, cr->cr_key, nid, req, CLM_A_FULL);
		return;
	}
	/* From the cursor on, the first id not in use (room.c's rule, PROTOCOL.md 1.4). */
	id = o->o_cursor;
	while (om_index(o, id) >= 0)
		id = id == MEMBER_MAX ? 1 : (uint16_t)(id + 1);
	memset(&om, 0, sizeof(om));
	om.om_id = id;
	om.om_nid = nid;
	om.om_req = req;
	o->o_seq++;
	om.om_stamp = (uint64_t)o->o_epoch << 32 | o->o_seq;
	if (om_insert(o, &om) != 0) {
		o->o_seq--;
		own_answer(c, cr->cr_key, nid, req, CLM_A_RETRY);
		return;
	}
	o->o_cursor = id == MEMBER_MAX ? 1 : (uint16_t)(id + 1);
	o->o_empty = 0;
	c->c_stats.cs_admits++;
	/* The event first, then the answer: the requester sees them in this order (5.4). */
	own_event(c, cr, CLM_E_JOINED, id, nid);
	own_admitted(c, cr, nid, req, id, om.om_stamp);
}

static void
own_request(struct clc *c, const struct clm *m)
{
	struct clc_room *cr;
	struct clc_coll *co;

	if (!node_live(c, m->cl_nid) || node_inbox(c, m->cl_nid) == NULL)
		return;
	cr = room_find(c, m->cl_key);
	if (cr == NULL || cr->cr_own == NULL) {
		/* Not ours (yet): the winner starts a collection, anyone else says retry. */
		if (!clc_serving(c, c->c_now) || clc_winner(c, m->cl_key) != c->c_nid) {
			if (m->cl_type == CLM_ADMIT)
				own_answer(c, m->cl_key, m->cl_nid, m->cl_req, CLM_A_RETRY);
			return;
		}
		if ((cr = room_get(c, m->cl_key)) == NULL)
			return;
		if (own_collect(c, cr) != 0) {
			room_maybe_free(c, cr);
			return;
		}
	}
	if (cr->cr_own->o_state == O_OWNER) {
		own_serve(c, cr, m->cl_type, m->cl_nid, m->cl_req);
		return;
	}
	co = cr->cr_own->o_coll;
	if (co->co_nq >= CL_QUEUE_MAX) {
		if (m->cl_type == CLM_ADMIT)
			own_answer(c, cr->cr_key, m->cl_nid, m->cl_req, CLM_A_RETRY);
		return;
	}
	co->co_q[co->co_nq].oq_type = m->cl_type;
	co->co_q[co->co_nq].oq_nid = m->cl_nid;
	co->co_q[co->co_nq].oq_req = m->cl_req;
	co->co_nq++;
}

static void
own_bye(struct clc *c, struct clc_room *cr, const struct clm *m)
{
	struct clc_own *o = cr->cr_own;
	int i;

	if (o == NULL || (i = om_index(o, m->cl_id)) < 0 || o->o_m[i].om_nid != m->cl_nid ||
	    o->o_m[i].om_stamp != m->cl_stamp)
		return;
	if (o->o_state == O_OWNER)
		own_drop(c, cr, i);
	else
		om_remove(c, o, i);
}

static void
own_node_dead(struct clc *c, struct clc_room *cr, uint64_t nid)
{
	struct clc_own *o = cr->cr_own;
	struct clc_coll *co = o->o_coll;
	uint16_t k;
	int i;

	for (i = 0; i < o->o_n; ) {
		if (o->o_m[i].om_nid != nid) {
			i++;
			continue;
		}
		if (o->o_state == O_OWNER)
			own_drop(c, cr, i);
		else
			om_remove(c, o, i);
	}
	if (co == NULL)
		return;
	for (k = 0; k < co->co_nq; ) {
		if (co->co_q[k].oq_nid == nid)
			co->co_q[k] = co->co_q[--co->co_nq];
		else
			k++;
	}
	if (coll_has(co->co_wait, co->co_nwait, nid)) {
		coll_del(co->co_wait, &co->co_nwait, nid);
		if (co->co_nwait == 0)
			own_finish(c, cr);
	}
}

/* A QUERY: this node's part of the room's state, for the node collecting it (5.5). */
static void
on_query(struct clc *c, const struct clm *m)
{
	struct clc_room *cr;
	struct clc_view *v;
	struct clc_pend *pd;
	struct clm_member mine[CL_MEMBERS_MAX];
	const struct clm_snap *table = NULL;
	const char *subject;
	struct vbuf b;
	uint64_t w;
	size_t n = 0;
	uint16_t i;

	if (!node_live(c, m->cl_nid) || (subject = node_inbox(c, m->cl_nid)) == NULL)
		return;
	w = clc_winner(c, m->cl_key);
	clc_writer(c, &b);
	if (w != m->cl_nid) {
		if (clm_put_state(&b, m->cl_key, c->c_nid, m->cl_req, w != 0 ? w : c->c_nid,
		    0, 0, NULL, 0, NULL) == 0)
			clc_publish(c, subject, &b);
		return;
	}
	cr = room_find(c, m->cl_key);
	if (cr != NULL && cr->cr_own != NULL && m->cl_nid != c->c_nid) {
		/* Hand over: the table goes with the answer, and this node owns it no more. */
		if (cr->cr_own->o_state == O_OWNER) {
			own_snap(c, cr->cr_own, &c->c_snap);
			table = &c->c_snap;
		}
		own_release(c, cr);
		clc_writer(c, &b);
	}
	v = cr != NULL ? cr->cr_view : NULL;
	if (v != NULL)
		for (i = 0; i < v->v_n; i++)
			if (v->v_m[i].vm_local) {
				mine[n].cm_id = v->v_m[i].vm_id;
				mine[n].cm_nid = c->c_nid;
				mine[n].cm_stamp = v->v_m[i].vm_stamp;
				n++;
			}
	if (clm_put_state(&b, m->cl_key, c->c_nid, m->cl_req, 0, v != NULL ? v->v_epoch : 0,
	    v != NULL ? v->v_last : 0, mine, n, table) == 0)
		clc_publish(c, subject, &b);
	/* What we asked of anyone else, we now ask of it (it holds them till it is done). */
	if (v != NULL)
		for (pd = v->v_pend; pd != NULL; pd = pd->pd_next)
			if (pd->pd_to != m->cl_nid)
				view_send_admit(c, cr, pd, m->cl_nid);
	if (cr != NULL)
		room_maybe_free(c, cr);
}

/* --- this node ----------------------------------------------------------- */

/*
 * The age a heartbeat carries: how long this node has heard its own
 * heartbeats without a gap (5.2), so that it owns nothing before it has
 * listened to the others for CL_SETTLE_MS, after a start or a cut alike.
 */
static int64_t
clc_age(const struct clc *c)
{
	if (c->c_heard == 0 || c->c_now - c->c_heard > CL_FENCE_MS)
		return 0;
	return c->c_now - c->c_echo_since;
}

static void
clc_publish_hb(struct clc *c, uint8_t flags)
{
	int64_t age = clc_age(c);
	struct vbuf b;

	clc_writer(c, &b);
	if (clm_put_hb(&b, c->c_nid, age > UINT32_MAX ? UINT32_MAX : (uint32_t)age, flags,
	    c->c_name) == 0)
		clc_publish(c, CLM_SUBJECT_HB, &b);
}

static void
clc_free_rooms(struct clc *c)
{
	struct clc_room *cr, *next;

	for (cr = c->c_rooms; cr != NULL; cr = next) {
		next = cr->cr_lnext;
		view_free(c, cr);
		own_free(cr);
		room_free(c, cr);
	}
	clc_flush(c);
}

/*
 * This node lost the cluster (5.7): every member and JOIN ends, and a new
 * incarnation starts, which must settle before it serves again.
 */
static void
clc_reset(struct clc *c)
{
	c->c_loc.cl_reset(c->c_loc.cl_arg);
	clc_free_rooms(c);
	c->c_past[c->c_pasti] = c->c_nid;
	c->c_pasti = (uint8_t)((c->c_pasti + 1) % CL_PAST);
	do
		c->c_nid = c->c_bus.cb_nid(c->c_bus.cb_arg);
	while (c->c_nid == 0 || clc_past(c, c->c_nid));
	c->c_heard = 0;
	c->c_echo_since = 0;
	c->c_heard_age = 0;
	c->c_phase = CP_DOWN;
	c->c_unserving = 0;
	c->c_next_hb = c->c_now;
	c->c_stats.cs_resets++;
}

static void
clc_scan_view(struct clc *c, struct clc_room *cr, int serving)
{
	struct clc_view *v = cr->cr_view;
	struct clc_pend *pd;
	uint16_t i;

	/* A JOIN is asked for only once this node serves (settled, heard by all). */
	for (pd = v->v_pend; pd != NULL && serving; pd = pd->pd_next)
		if (c->c_now - pd->pd_sent >= (pd->pd_to == 0 ? CL_BACKOFF_MS : CL_RETRY_MS))
			view_send_admit(c, cr, pd, clc_winner(c, cr->cr_key));
	if (v->v_state == V_RESYNC || (v->v_state == V_SYNCED && !node_live(c, v->v_owner)))
		view_resync(c, cr, v->v_state == V_SYNCED);
	for (i = 0; i < v->v_nun; ) {
		if (c->c_now - v->v_un_sent[i] < CL_RETRY_MS) {
			i++;
			continue;
		}
		if (v->v_un_tries[i] >= CL_BYE_TRIES) {
			view_un_del(v, i);
			continue;
		}
		v->v_un_tries[i]++;
		v->v_un_sent[i] = c->c_now;
		view_send_bye(c, cr, v->v_un_id[i], v->v_un_stamp[i]);
		i++;
	}
	if (v->v_waiting && c->c_now >= v->v_wait_until) {
		v->v_waiting = 0;
		v->v_force = 1;
		view_drain(c, cr);
	}
	/* A full window whose answer was lost: ask again (5.9). */
	for (i = 0; v->v_nfull > 0 && i < v->v_npeers; i++) {
		struct clc_peer *p = &v->v_peers[i];

		if (p->cp_full && c->c_now - p->cp_ask_at >= CL_RETRY_MS)
			credit_ask(c, cr, p);
	}
	for (i = 0; v->v_nholds > 0 && i < v->v_npeers; ) {
		struct clc_peer *p = &v->v_peers[i];

		if (p->cp_hold && c->c_now >= p->cp_hold_until) {
			p->cp_hold = 0;
			v->v_nholds--;
			if (cr->cr_local != NULL)
				c->c_loc.cl_hold(c->c_loc.cl_arg, cr, -1);
			if (p->cp_n == 0) {
				peer_tidy(v, p);
				continue;
			}
		}
		i++;
	}
}

static void
clc_scan_own(struct clc *c, struct clc_room *cr)
{
	struct clc_own *o = cr->cr_own;
	struct clc_coll *co = o->o_coll;
	uint16_t k;
	int i;

	if (co != NULL) {
		if (c->c_now - co->co_sent >= CL_COLLECT_MS) {
			co->co_sent = c->c_now;
			for (k = 0; k < co->co_nwait; k++)
				coll_query(c, cr, co->co_wait[k]);
		}
		return;
	}
	/* A last event the bus lost shows as a SEQ ahead of the views (5.8). */
	if (o->o_last_ev != 0 && c->c_now - o->o_last_ev >= (o->o_seqs == 0 ? CL_SEQ_MS :
	    CL_SEQ2_MS)) {
		struct vbuf b;

		clc_writer(c, &b);
		if (clm_put_seq(&b, cr->cr_key, c->c_nid, o->o_epoch, o->o_seq) == 0)
			clc_publish(c, cr->cr_subject, &b);
		if (++o->o_seqs >= 2)
			o->o_last_ev = 0;
	}
	for (i = 0; o->o_nprov > 0 && i < o->o_n; ) {
		if (o->o_m[i].om_prov != 0 && c->c_now >= o->o_m[i].om_prov) {
			o->o_nprov--;
			o->o_m[i].om_prov = 0;
			if (node_find(c, o->o_m[i].om_nid) == NULL) {
				own_drop(c, cr, i);
				continue;
			}
		}
		i++;
	}
	if (o->o_n == 0 && cr->cr_view == NULL && o->o_empty != 0 &&
	    c->c_now - o->o_empty >= CL_KEEP_MS)
		own_free(cr);
}

static void
clc_scan(struct clc *c)
{
	struct clc_room *cr, *next;
	int serving = clc_serving(c, c->c_now);

	for (cr = c->c_rooms; cr != NULL; cr = next) {
		next = cr->cr_lnext;
		room_subscribe(c, cr);
		if (cr->cr_view != NULL)
			clc_scan_view(c, cr, serving);
		if (cr->cr_own != NULL)
			clc_scan_own(c, cr);
		room_maybe_free(c, cr);
	}
}

int
clc_tick(struct clc *c, int64_t now)
{
	size_t i;
	int64_t t;

	c->c_now = now;
	if (!c->c_started) {
		c->c_started = 1;
		c->c_next_hb = now;
	}
	if (clc_serving(c, now)) {
		c->c_phase = CP_UP;
		c->c_unserving = 0;
	} else if (c->c_phase == CP_UP) {
		if (c->c_unserving == 0)
			c->c_unserving = now;
		else if (now - c->c_unserving >= CL_RESET_MS - CL_FENCE_MS)
			clc_reset(c);
	}
	if (now >= c->c_next_hb && !c->c_leaving) {
		clc_publish_hb(c, 0);
		c->c_next_hb = now + CL_HB_MS;
	}
	for (i = 0; i < c->c_nnodes; ) {
		struct clc_node *n = &c->c_nodes[i];

		/* Only silence we listened to counts: not while we were cut off ourselves. */
		if (!n->cn_dead && n->cn_nid != c->c_nid && clc_age(c) > 0 &&
		    now - (n->cn_heard > c->c_echo_since ? n->cn_heard : c->c_echo_since) >
		    CL_DEAD_MS)
			node_dead(c, n);
		if (n->cn_dead && now - n->cn_dead_at > CL_TOMB_MS) {
			*n = c->c_nodes[--c->c_nnodes];
			continue;
		}
		i++;
	}
	if (now >= c->c_next_scan) {
		clc_scan(c);
		c->c_next_scan = now + CL_SCAN_MS;
	}
	t = (c->c_nrooms > 0 && c->c_next_scan < c->c_next_hb ? c->c_next_scan :
	    c->c_next_hb) - now;
	return t < 0 ? 0 : t > CL_HB_MS ? CL_HB_MS : (int)t;
}

void
clc_input(struct clc *c, int64_t now, const uint8_t *p, size_t n)
{
	struct clm *m = &c->c_msg;
	struct clc_room *cr;

	c->c_now = now;
	if (clm_decode(p, n, m) != 0) {
		c->c_stats.cs_bad++;
		return;
	}
	if (m->cl_type == CLM_DATA)
		c->c_stats.cs_data_in++;
	switch (m->cl_type) {
	case CLM_HB:
		node_hb(c, m);
		return;
	case CLM_FENCE:
		/* Declared dead by another node: it no longer counts our members. */
		if (m->cl_nid == c->c_nid && c->c_phase == CP_UP)
			clc_reset(c);
		return;
	case CLM_ADMIT:
	case CLM_RESYNC:
		own_request(c, m);
		return;
	case CLM_QUERY:
		on_query(c, m);
		return;
	case CLM_CREDIT:
		view_credit(c, m);
		return;
	default:
		break;
	}
	/* The rest is about a room we have. */
	if ((cr = room_find(c, m->cl_key)) == NULL) {
		if (m->cl_type == CLM_ANSWER && m->cl_result == CLM_A_ADMITTED) {
			/* A JOIN given up long ago: the place goes back. */
			char subject[CL_SUBJECT_MAX];
			struct vbuf b;

			clm_room_subject(m->cl_key, subject);
			clc_writer(c, &b);
			if (clm_put_bye(&b, m->cl_key, c->c_nid, m->cl_id, m->cl_stamp) == 0)
				clc_publish(c, subject, &b);
		}
		return;
	}
	switch (m->cl_type) {
	case CLM_ANSWER:
		view_answer(c, cr, m);
		break;
	case CLM_EVENT:
		view_event(c, cr, m);
		break;
	case CLM_STATE:
		own_state(c, cr, m);
		break;
	case CLM_BYE:
		own_bye(c, cr, m);
		view_bye(c, cr, m);
		break;
	case CLM_DATA:
		view_data(c, cr, m);
		return;
	case CLM_HOLD:
		view_hold(c, cr, m);
		return;
	default:
		return;
	}
	room_maybe_free(c, cr);
}

int
clc_join(struct clc *c, int64_t now, const uint8_t key[static CL_KEY_LEN], void *token,
    struct clc_room **crp)
{
	struct clc_room *cr;
	struct clc_view *v;
	struct clc_pend *pd;

	*crp = NULL;
	c->c_now = now;
	if (c->c_phase == CP_DOWN || c->c_leaving ||
	    (c->c_phase == CP_UP && !clc_serving(c, now)))
		return VEIL_E_STATE;
	if ((cr = room_get(c, key)) == NULL)
		return VEIL_E_ALLOC;
	if ((v = view_get(c, cr)) == NULL || (pd = calloc(1, sizeof(*pd))) == NULL) {
		room_maybe_free(c, cr);
		return VEIL_E_ALLOC;
	}
	pd->pd_token = token;
	pd->pd_req = ++c->c_req;
	pd->pd_next = v->v_pend;
	v->v_pend = pd;
	v->v_npend++;
	if (clc_serving(c, now))
		view_send_admit(c, cr, pd, clc_winner(c, key));
	*crp = cr;
	return 0;
}

void
clc_cancel(struct clc *c, struct clc_room *cr, void *token)
{
	struct clc_view *v = cr->cr_view;
	struct clc_pend **pp, *pd;

	if (v == NULL)
		return;
	for (pp = &v->v_pend; (pd = *pp) != NULL; pp = &pd->pd_next) {
		if (pd->pd_token == token) {
			*pp = pd->pd_next;
			free(pd);
			v->v_npend--;
			break;
		}
	}
	view_ghosts(c, cr);
	room_maybe_free(c, cr);
}

void
clc_leave(struct clc *c, struct clc_room *cr, uint16_t id, uint64_t stamp)
{
	struct clc_view *v = cr->cr_view;
	int i;

	if (v == NULL)
		return;
	if (v->v_nlocal > 0)
		v->v_nlocal--;
	if ((i = vm_index(v, id)) >= 0 && v->v_m[i].vm_stamp == stamp && v->v_m[i].vm_local) {
		view_del(c, cr, i, 0);
		view_bye_note(v, id, stamp);
		view_bye_out(c, cr, id, stamp);
	}
	if (v->v_nlocal == 0) {
		/* The relay frees its room now: nothing more goes to it. */
		if (v->v_holding)
			clc_hold(c, cr, 0);
		cr->cr_local = NULL;
	}
	room_maybe_free(c, cr);
}

uint16_t
clc_holds(const struct clc_room *cr)
{
	const struct clc_view *v = cr->cr_view;

	return v == NULL ? 0 : (uint16_t)(v->v_nholds + (v->v_nfull > 0 ? 1 : 0));
}

int
clc_spans(const struct clc_room *cr)
{
	const struct clc_view *v = cr->cr_view;
	uint16_t i;

	if (v == NULL)
		return 0;
	for (i = 0; i < v->v_npeers; i++)
		if (v->v_peers[i].cp_n > 0)
			return 1;
	return 0;
}

int
clc_send(struct clc *c, struct clc_room *cr, uint16_t src, uint64_t stamp, uint16_t dst,
    const uint8_t *p, uint32_t len)
{
	struct clc_view *v = cr->cr_view;
	struct clc_batch *bt = NULL;
	struct clc_peer *peer = NULL;
	struct clm_frame f;
	const char *subject;
	size_t i, k;
	int j, r;

	if (v == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	if (dst == MEMBER_BCAST) {
		if (!clc_spans(cr))
			return 0;
		subject = cr->cr_subject;
	} else {
		if ((j = vm_index(v, dst)) < 0 || v->v_m[j].vm_nid == c->c_nid ||
		    (subject = node_inbox(c, v->v_m[j].vm_nid)) == NULL ||
		    (peer = peer_find(v, v->v_m[j].vm_nid)) == NULL)
			return 0;
	}
	f.cf_src = src;
	f.cf_stamp = stamp;
	f.cf_dst = dst;
	f.cf_len = len;
	f.cf_payload = p;
	/* The room's DATA being filled takes it if it goes to the same place and has room. */
	if (v->v_batch >= 0) {
		bt = &c->c_batch[v->v_batch];
		if (strcmp(bt->bt_subject, subject) != 0 ||
		    bt->bt_b.vb_len - CLM_HDR_DATA >= CLM_BATCH) {
			batch_flush(c, bt);
			bt = NULL;
		}
	}
	/*
	 * Numbered once what came before it is published: a CREDIT ask
	 * there names only numbers already sent (5.9).
	 */
	f.cf_pseq = peer == NULL ? ++v->v_bseq : ++peer->cp_out;
	if (bt == NULL) {
		/* A free one, or the oldest, published to make room. */
		for (i = 0, k = 0; i < CL_BATCHES; i++) {
			if (c->c_batch[i].bt_cr == NULL) {
				k = i;
				break;
			}
			if (c->c_batch[i].bt_used < c->c_batch[k].bt_used)
				k = i;
		}
		bt = &c->c_batch[k];
		batch_flush(c, bt);
		if (bt->bt_buf == NULL && (bt->bt_buf = malloc(CLM_MAX)) == NULL)
			return VEIL_E_ALLOC;
		vbuf_writer(&bt->bt_b, bt->bt_buf, CLM_MAX);
		if ((r = clm_put_data_begin(&bt->bt_b, cr->cr_key, c->c_nid)) != 0)
			return r;
		bt->bt_cr = cr;
		bt->bt_to = peer == NULL ? 0 : peer->cp_nid;
		bt->bt_used = ++c->c_batches;
		memcpy(bt->bt_subject, subject, strlen(subject) + 1);
		v->v_batch = (int8_t)k;
	}
	return clm_put_data_frame(&bt->bt_b, &f);
}

void
clc_hold(struct clc *c, struct clc_room *cr, int on)
{
	struct clc_view *v = cr->cr_view;
	struct vbuf b;

	if (v == NULL)
		return;
	if (on)
		v->v_holding = 1;
	else
		v->v_holding = 0;
	if (!clc_spans(cr))
		return;
	room_flush(c, cr);
	clc_writer(c, &b);
	if (clm_put_hold(&b, cr->cr_key, c->c_nid, on) == 0)
		clc_publish(c, cr->cr_subject, &b);
}

void
clc_leaving(struct clc *c)
{
	c->c_leaving = 1;
	clc_publish_hb(c, CLM_HB_LEAVING);
}

int
clc_name_taken(const struct clc *c)
{
	return c->c_dupname;
}

uint64_t
clc_nid(const struct clc *c)
{
	return c->c_nid;
}

const struct clc_stats *
clc_get_stats(struct clc *c, int64_t now)
{
	struct clc_room *cr;
	size_t i;

	c->c_stats.cs_nodes = self_eligible(c, now) ? 1 : 0;
	for (i = 0; i < c->c_nnodes; i++)
		if (!c->c_nodes[i].cn_dead && c->c_nodes[i].cn_nid != c->c_nid)
			c->c_stats.cs_nodes++;
	c->c_stats.cs_owned = 0;
	for (cr = c->c_rooms; cr != NULL; cr = cr->cr_lnext)
		if (cr->cr_own != NULL && cr->cr_own->o_state == O_OWNER)
			c->c_stats.cs_owned++;
	return &c->c_stats;
}

int
clc_new(struct clc **cp, const struct clc_config *cfg, const struct clc_bus *bus,
    const struct clc_local *local)
{
	struct clc *c;
	uint64_t k[2];
	uint8_t key[16];

	*cp = NULL;
	if (cfg->cc_name == NULL || !clm_name_ok(cfg->cc_name, strlen(cfg->cc_name)) ||
	    cfg->cc_room_size < 2 || cfg->cc_room_size > ROOM_SIZE_MAX || cfg->cc_quorum == 0 ||
	    cfg->cc_quorum > CL_NODES_MAX)
		return VEIL_E_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return VEIL_E_ALLOC;
	memcpy(c->c_name, cfg->cc_name, strlen(cfg->cc_name) + 1);
	if (clm_node_subject(c->c_name, c->c_inbox) != 0) {
		free(c);
		return VEIL_E_INVALID;
	}
	c->c_room_size = cfg->cc_room_size;
	c->c_quorum = cfg->cc_quorum;
	c->c_hold_ms = cfg->cc_hold_ms;
	c->c_bus = *bus;
	c->c_loc = *local;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of room pointers */
	if ((c->c_buckets = calloc(CL_BUCKETS_MIN, sizeof(*c->c_buckets))) == NULL) {
		free(c);
		return VEIL_E_ALLOC;
	}
	c->c_nbuckets = CL_BUCKETS_MIN;
	/* The room table's hash key: unpredictable, like relayd's other tables. */
	k[0] = bus->cb_nid(bus->cb_arg);
	k[1] = bus->cb_nid(bus->cb_arg);
	memcpy(key, k, sizeof(key));
	relay_hash_key(c->c_hkey, key);
	memset(key, 0, sizeof(key));
	do
		c->c_nid = bus->cb_nid(bus->cb_arg);
	while (c->c_nid == 0);
	c->c_phase = CP_START;
	*cp = c;
	return 0;
}

void
clc_free(struct clc *c)
{
	size_t i;

	if (c == NULL)
		return;
	clc_free_rooms(c);
	for (i = 0; i < CL_BATCHES; i++)
		free(c->c_batch[i].bt_buf);
	free(c->c_buckets);
	free(c);
}
