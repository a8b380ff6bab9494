/* SPDX-License-Identifier: ISC */
/*
 * relayd/clcore.c, the cluster's logic, with no NATS: several cores on a
 * simulated bus that keeps each publisher's order to each receiver (as
 * NATS does) and interleaves publishers at random, loses messages when
 * told, and a simulated relay on each node that checks, at every step,
 * what clients would see:
 *
 *   - member ids in a room are unique across the cluster, and a room never
 *     holds more than --room-size members at once;
 *   - every member's stream is consistent: WELCOME, then JOINED only for an
 *     id it does not know, LEFT only for one it does (so LEFT for an old
 *     holder of an id comes before JOINED for a new one), DATA only from a
 *     member it knows, and each sender's frames in order;
 *   - once quiet, every member knows exactly the room's other members.
 *
 * Owner changes (a node that dies, a node that appears, a node cut off)
 * are driven through the same checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "clcore.h"
#include "clmsg.h"
#include "err.h"
#include "frame.h"

#define SIM_NODES	6
#define SIM_MEMBERS	256
#define SIM_ROOMS	4
#define SIM_KNOWN	128
#define SIM_SENDERS	64

/*
 * Check's ck_assert marks its place with a write() to the test's parent
 * each time: in the simulation's inner loops that cost most of its time.
 * These check the same, and call Check only to fail.
 */
#define sim_assert(c, ...)	do { if (!(c)) ck_abort_msg(__VA_ARGS__); } while (0)

struct sim;
struct simnode;

struct simmsg {
	struct simmsg	*sm_next;
	size_t		 sm_len;
	uint8_t		 sm_data[];
};

/* One publisher's messages to one receiver, in order. */
struct simchan {
	struct simmsg	*sc_head;
	struct simmsg	**sc_tail;
	size_t		 sc_n;
};

struct simmember {
	int		 mb_used;
	int		 mb_state;	/* 0 pending, 1 joined, 2 gone */
	int		 mb_refused;	/* the code, once refused */
	int		 mb_kicked;	/* to leave at the end of the step */
	struct simnode	*mb_node;
	int		 mb_room;
	uint64_t	 mb_uid;
	uint16_t	 mb_id;
	uint64_t	 mb_stamp;
	struct clc_room	*mb_cr;
	uint32_t	 mb_seq;	/* frames sent */
	size_t		 mb_nknown;
	uint16_t	 mb_known[SIM_KNOWN];
	size_t		 mb_nsend;
	uint64_t	 mb_from[SIM_SENDERS];	/* sender uid -> last seq */
	uint32_t	 mb_fromseq[SIM_SENDERS];
	uint64_t	 mb_got;	/* frames received */
};

struct simnode {
	struct sim	*sn_sim;
	int		 sn_i;
	int		 sn_alive;
	int		 sn_cut;	/* partitioned: nothing in or out */
	int		 sn_resets;
	int		 sn_holds;
	struct clc	*sn_c;
	char		 sn_name[16];
	char		 sn_inbox[CL_SUBJECT_MAX];
	struct clc_room	*sn_subs[1024];
	size_t		 sn_nsubs;
	int		 sn_lost;
};

struct sim {
	int64_t		 s_now;
	unsigned int	 s_rand;
	int		 s_drop;	/* loss per 1000 deliveries */
	int		 s_room_size;
	int		 s_quorum;
	uint64_t	 s_uid;
	size_t		 s_nnodes;
	struct simnode	 s_nodes[SIM_NODES];
	struct simchan	 s_chan[SIM_NODES][SIM_NODES];
	struct simmember s_m[SIM_MEMBERS];
	uint8_t		 s_stall[SIM_NODES][SIM_NODES];	/* 1: kept, not delivered; 2: lost */
	uint64_t	 s_delivered;
	int		 s_lost_ok;	/* losses expected (drops) */
	int		 s_lazy;	/* check the rooms now and then only (long runs) */
};

static unsigned int
sim_rand(struct sim *s)
{
	s->s_rand = s->s_rand * 1103515245u + 12345u;
	return (s->s_rand >> 8) & 0xffffff;
}

static void
room_key(int room, uint8_t key[CL_KEY_LEN])
{
	memset(key, 0, CL_KEY_LEN);
	key[0] = 0x5a;
	key[1] = (uint8_t)room;
	key[31] = (uint8_t)(room * 13 + 1);
}

/* --- the bus ------------------------------------------------------------ */

static int
sn_subscribed(const struct simnode *n, const char *subject)
{
	size_t i;

	if (strcmp(subject, CLM_SUBJECT_HB) == 0 || strcmp(subject, n->sn_inbox) == 0)
		return 1;
	for (i = 0; i < n->sn_nsubs; i++)
		if (strcmp(n->sn_subs[i]->cr_subject, subject) == 0)
			return 1;
	return 0;
}

static int
bus_publish(void *arg, const char *subject, const uint8_t *p, size_t len)
{
	struct simnode *from = arg;
	struct sim *s = from->sn_sim;
	struct simmsg *m;
	size_t i;

	if (!from->sn_alive || from->sn_cut)
		return VEIL_E_SYSTEM;
	for (i = 0; i < s->s_nnodes; i++) {
		struct simnode *to = &s->s_nodes[i];
		struct simchan *ch = &s->s_chan[from->sn_i][i];

		if (!to->sn_alive || !sn_subscribed(to, subject))
			continue;
		m = malloc(sizeof(*m) + len);
		sim_assert(m != NULL, "out of memory");
		m->sm_next = NULL;
		m->sm_len = len;
		memcpy(m->sm_data, p, len);
		*ch->sc_tail = m;
		ch->sc_tail = &m->sm_next;
		ch->sc_n++;
	}
	return 0;
}

static int
bus_subscribe(void *arg, struct clc_room *cr)
{
	struct simnode *n = arg;

	sim_assert((n->sn_nsubs) < (1024), "%s >= %s", "n->sn_nsubs", "1024");
	n->sn_subs[n->sn_nsubs++] = cr;
	cr->cr_sub = n;
	return 0;
}

static void
bus_unsubscribe(void *arg, struct clc_room *cr)
{
	struct simnode *n = arg;
	size_t i;

	for (i = 0; i < n->sn_nsubs; i++) {
		if (n->sn_subs[i] == cr) {
			n->sn_subs[i] = n->sn_subs[--n->sn_nsubs];
			return;
		}
	}
	ck_abort_msg("unsubscribe of a room not subscribed");
}

static uint64_t
bus_nid(void *arg)
{
	struct simnode *n = arg;
	struct sim *s = n->sn_sim;

	return ((uint64_t)sim_rand(s) << 40) ^ ((uint64_t)sim_rand(s) << 16) ^ sim_rand(s) ^ 1;
}

static void
chan_clear(struct simchan *ch)
{
	struct simmsg *m, *next;

	for (m = ch->sc_head; m != NULL; m = next) {
		next = m->sm_next;
		free(m);
	}
	ch->sc_head = NULL;
	ch->sc_tail = &ch->sc_head;
	ch->sc_n = 0;
}

/* Delivers one message from a random non-empty channel. Returns 0 if none. */
static int
sim_deliver_one(struct sim *s)
{
	size_t nonempty = 0, pick, i, j;
	struct simchan *ch = NULL;
	struct simmsg *m;

	for (i = 0; i < s->s_nnodes; i++)
		for (j = 0; j < s->s_nnodes; j++)
			if (s->s_chan[i][j].sc_n > 0 && s->s_stall[i][j] != 1)
				nonempty++;
	if (nonempty == 0)
		return 0;
	pick = sim_rand(s) % nonempty;
	for (i = 0; i < s->s_nnodes && ch == NULL; i++)
		for (j = 0; j < s->s_nnodes && ch == NULL; j++)
			if (s->s_chan[i][j].sc_n > 0 && s->s_stall[i][j] != 1 && pick-- == 0)
				ch = &s->s_chan[i][j];
	j = (size_t)(ch - &s->s_chan[0][0]) % SIM_NODES;
	m = ch->sc_head;
	ch->sc_head = m->sm_next;
	if (ch->sc_head == NULL)
		ch->sc_tail = &ch->sc_head;
	ch->sc_n--;
	if (s->s_nodes[j].sn_alive && !s->s_nodes[j].sn_cut &&
	    s->s_stall[(size_t)(ch - &s->s_chan[0][0]) / SIM_NODES][j] == 0 &&
	    !(s->s_drop > 0 && (int)(sim_rand(s) % 1000) < s->s_drop)) {
		s->s_delivered++;
		clc_input(s->s_nodes[j].sn_c, s->s_now, m->sm_data, m->sm_len);
	}
	free(m);
	return 1;
}

/* --- the simulated relay ------------------------------------------------ */

static struct simmember *
mb_of_token(void *token)
{
	return token;
}

static int
known_has(const struct simmember *mb, uint16_t id)
{
	size_t i;

	for (i = 0; i < mb->mb_nknown; i++)
		if (mb->mb_known[i] == id)
			return 1;
	return 0;
}

static void
known_add(struct simmember *mb, uint16_t id)
{
	sim_assert(!known_has(mb, id), "JOINED %u for a member already known", id);
	sim_assert(id != mb->mb_id, "JOINED for itself");
	sim_assert((mb->mb_nknown) < (SIM_KNOWN), "%s >= %s", "mb->mb_nknown", "SIM_KNOWN");
	mb->mb_known[mb->mb_nknown++] = id;
}

static void
known_del(struct simmember *mb, uint16_t id)
{
	size_t i;

	for (i = 0; i < mb->mb_nknown; i++) {
		if (mb->mb_known[i] == id) {
			mb->mb_known[i] = mb->mb_known[--mb->mb_nknown];
			return;
		}
	}
	ck_abort_msg("LEFT %u for a member not known", id);
}

/* The room's members now, cluster-wide: ids unique, at most --room-size. */
static void
sim_check_room(struct sim *s, int room)
{
	size_t i, j, n = 0;

	for (i = 0; i < SIM_MEMBERS; i++) {
		const struct simmember *a = &s->s_m[i];

		if (!a->mb_used || a->mb_state != 1 || a->mb_room != room)
			continue;
		n++;
		for (j = i + 1; j < SIM_MEMBERS; j++) {
			const struct simmember *b = &s->s_m[j];

			if (b->mb_used && b->mb_state == 1 && b->mb_room == room)
				sim_assert(a->mb_id != b->mb_id,
				    "two members of room %d hold id %u", room, a->mb_id);
		}
	}
	sim_assert(n <= (size_t)s->s_room_size, "room %d holds %zu members, size %d",
	    room, n, s->s_room_size);
}

static void
loc_admitted(void *arg, void *token, struct clc_room *cr, uint16_t id, uint64_t stamp,
    const uint16_t *others, size_t n)
{
	struct simnode *sn = arg;
	struct simmember *mb = mb_of_token(token);
	size_t i;

	sim_assert((mb->mb_node) == (sn), "%s != %s", "mb->mb_node", "sn");
	sim_assert((mb->mb_state) == (0), "%s != %s", "mb->mb_state", "0");
	sim_assert((n) <= (ROOM_SIZE_MAX - 1), "%s > %s", "n", "ROOM_SIZE_MAX - 1");
	mb->mb_state = 1;
	mb->mb_id = id;
	mb->mb_stamp = stamp;
	mb->mb_cr = cr;
	cr->cr_local = sn;
	mb->mb_nknown = 0;
	for (i = 0; i < n; i++)
		known_add(mb, others[i]);
	sim_check_room(sn->sn_sim, mb->mb_room);
}

static void
loc_refused(void *arg, void *token, uint8_t code)
{
	struct simmember *mb = mb_of_token(token);

	(void)arg;
	sim_assert((mb->mb_state) == (0), "%s != %s", "mb->mb_state", "0");
	mb->mb_state = 2;
	mb->mb_refused = code;
	mb->mb_cr = NULL;
}

static void
loc_member(void *arg, struct clc_room *cr, uint8_t type, uint16_t id)
{
	struct simnode *sn = arg;
	struct sim *s = sn->sn_sim;
	size_t i;

	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *mb = &s->s_m[i];

		if (!mb->mb_used || mb->mb_node != sn || mb->mb_state != 1 || mb->mb_cr != cr)
			continue;
		if (type == FT_JOINED)
			known_add(mb, id);
		else
			known_del(mb, id);
	}
}

static void
mb_receive(struct simmember *mb, uint16_t src, const uint8_t *p, uint32_t len)
{
	uint64_t uid;
	uint32_t seq;
	size_t i;

	sim_assert(len == 12, "a frame of %u bytes", len);
	uid = (uint64_t)veil_get32(p) << 32 | veil_get32(p + 4);
	seq = veil_get32(p + 8);
	sim_assert(known_has(mb, src), "DATA from %u, a member not known", src);
	mb->mb_got++;
	for (i = 0; i < mb->mb_nsend; i++) {
		if (mb->mb_from[i] == uid) {
			sim_assert(seq > mb->mb_fromseq[i], "frames of one sender out of order");
			mb->mb_fromseq[i] = seq;
			return;
		}
	}
	if (mb->mb_nsend < SIM_SENDERS) {
		mb->mb_from[mb->mb_nsend] = uid;
		mb->mb_fromseq[mb->mb_nsend++] = seq;
	}
}

static void
loc_deliver(void *arg, struct clc_room *cr, uint16_t src, uint16_t dst, const uint8_t *p,
    uint32_t len)
{
	struct simnode *sn = arg;
	struct sim *s = sn->sn_sim;
	size_t i;

	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *mb = &s->s_m[i];

		if (!mb->mb_used || mb->mb_node != sn || mb->mb_state != 1 || mb->mb_cr != cr ||
		    mb->mb_kicked || (dst != MEMBER_BCAST && dst != mb->mb_id))
			continue;
		mb_receive(mb, src, p, len);
	}
}

static void
loc_lost(void *arg, struct clc_room *cr, uint16_t dst)
{
	struct simnode *sn = arg;
	struct sim *s = sn->sn_sim;
	size_t i;

	sim_assert(s->s_lost_ok, "a frame lost on a bus that loses nothing");
	sn->sn_lost++;
	/* The relay's rule: a reader that missed a frame is ended (ERROR SLOW). */
	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *mb = &s->s_m[i];

		if (mb->mb_used && mb->mb_node == sn && mb->mb_state == 1 && mb->mb_cr == cr &&
		    (dst == MEMBER_BCAST || dst == mb->mb_id))
			mb->mb_kicked = 1;
	}
}

static void
loc_evict(void *arg, struct clc_room *cr, uint16_t id)
{
	struct simnode *sn = arg;
	struct sim *s = sn->sn_sim;
	size_t i;

	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *mb = &s->s_m[i];

		if (mb->mb_used && mb->mb_node == sn && mb->mb_state == 1 && mb->mb_cr == cr &&
		    mb->mb_id == id)
			mb->mb_kicked = 1;
	}
}

static void
loc_hold(void *arg, struct clc_room *cr, int delta)
{
	struct simnode *sn = arg;

	(void)cr;
	sn->sn_holds += delta;
	sim_assert((sn->sn_holds) >= (0), "%s < %s", "sn->sn_holds", "0");
}

static void
loc_reset(void *arg)
{
	struct simnode *sn = arg;
	struct sim *s = sn->sn_sim;
	size_t i;

	sn->sn_resets++;
	sn->sn_holds = 0;
	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *mb = &s->s_m[i];

		if (mb->mb_used && mb->mb_node == sn && mb->mb_state != 2) {
			mb->mb_state = 2;
			mb->mb_refused = FE_UNAVAILABLE;
			mb->mb_cr = NULL;
		}
	}
}

/* A local member leaves, as relay.c does it: LEFT to the local others, then the core. */
static void
sim_leave(struct simmember *mb)
{
	struct sim *s = mb->mb_node->sn_sim;
	size_t i;

	sim_assert((mb->mb_state) == (1), "%s != %s", "mb->mb_state", "1");
	mb->mb_state = 2;
	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *o = &s->s_m[i];

		if (o != mb && o->mb_used && o->mb_node == mb->mb_node && o->mb_state == 1 &&
		    o->mb_cr == mb->mb_cr)
			known_del(o, mb->mb_id);
	}
	clc_leave(mb->mb_node->sn_c, mb->mb_cr, mb->mb_id, mb->mb_stamp);
	mb->mb_cr = NULL;
}

/* A local member sends a frame (broadcast, or to one member it knows). */
static void
sim_send(struct simmember *mb, int unicast)
{
	struct sim *s = mb->mb_node->sn_sim;
	uint8_t p[12];
	uint16_t dst = MEMBER_BCAST;
	size_t i;
	int rc;

	if (mb->mb_state != 1 || mb->mb_kicked)
		return;
	if (unicast && mb->mb_nknown > 0)
		dst = mb->mb_known[sim_rand(s) % mb->mb_nknown];
	veil_put32(p, (uint32_t)(mb->mb_uid >> 32));
	veil_put32(p + 4, (uint32_t)mb->mb_uid);
	veil_put32(p + 8, ++mb->mb_seq);
	/* The relay's own part: local members of the room. */
	for (i = 0; i < SIM_MEMBERS; i++) {
		struct simmember *o = &s->s_m[i];

		if (o != mb && o->mb_used && o->mb_node == mb->mb_node && o->mb_state == 1 &&
		    o->mb_cr == mb->mb_cr && !o->mb_kicked && (dst == MEMBER_BCAST || dst == o->mb_id))
			mb_receive(o, mb->mb_id, p, sizeof(p));
	}
	rc = clc_send(mb->mb_node->sn_c, mb->mb_cr, mb->mb_id, mb->mb_stamp, dst, p, sizeof(p));
	sim_assert((rc) == (0), "%s != %s", "rc", "0");
}

/* --- driving ------------------------------------------------------------ */

static void
sim_node_start(struct sim *s, size_t i)
{
	static const struct clc_bus bus0 = { bus_publish, bus_subscribe, bus_unsubscribe,
	    bus_nid, NULL };
	static const struct clc_local loc0 = { loc_admitted, loc_refused, loc_member, loc_deliver,
	    loc_lost, loc_evict, loc_hold, loc_reset, NULL };
	struct simnode *n = &s->s_nodes[i];
	struct clc_config cfg;
	struct clc_bus bus = bus0;
	struct clc_local loc = loc0;
	size_t j;

	memset(n, 0, sizeof(*n));
	n->sn_sim = s;
	n->sn_i = (int)i;
	n->sn_alive = 1;
	(void)snprintf(n->sn_name, sizeof(n->sn_name), "node%zu", i);
	ck_assert_int_eq(clm_node_subject(n->sn_name, n->sn_inbox), 0);
	for (j = 0; j < SIM_NODES; j++) {
		chan_clear(&s->s_chan[i][j]);
		chan_clear(&s->s_chan[j][i]);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.cc_name = n->sn_name;
	cfg.cc_room_size = (uint16_t)s->s_room_size;
	cfg.cc_quorum = (uint32_t)s->s_quorum;
	cfg.cc_hold_ms = 1000;
	bus.cb_arg = n;
	loc.cl_arg = n;
	ck_assert_int_eq(clc_new(&n->sn_c, &cfg, &bus, &loc), 0);
	if (i >= s->s_nnodes)
		s->s_nnodes = i + 1;
}

/* kill -9: the process and its members are gone at once. */
static void
sim_node_kill(struct sim *s, size_t i)
{
	struct simnode *n = &s->s_nodes[i];
	size_t k;

	for (k = 0; k < SIM_MEMBERS; k++) {
		struct simmember *mb = &s->s_m[k];

		if (mb->mb_used && mb->mb_node == n && mb->mb_state != 2)
			mb->mb_state = 2;
	}
	n->sn_alive = 0;
	clc_free(n->sn_c);
	n->sn_c = NULL;
	for (k = 0; k < SIM_NODES; k++) {
		chan_clear(&s->s_chan[i][k]);
		chan_clear(&s->s_chan[k][i]);
	}
}

static void
sim_init(struct sim *s, size_t nodes, int room_size, unsigned int seed)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	s->s_rand = seed;
	s->s_room_size = room_size;
	s->s_quorum = 1;
	s->s_now = 1000000;
	for (i = 0; i < SIM_NODES; i++)
		for (j = 0; j < SIM_NODES; j++)
			s->s_chan[i][j].sc_tail = &s->s_chan[i][j].sc_head;
	for (i = 0; i < nodes; i++)
		sim_node_start(s, i);
}

static void
sim_free(struct sim *s)
{
	size_t i, j;

	for (i = 0; i < s->s_nnodes; i++)
		if (s->s_nodes[i].sn_alive)
			clc_free(s->s_nodes[i].sn_c);
	for (i = 0; i < SIM_NODES; i++)
		for (j = 0; j < SIM_NODES; j++)
			chan_clear(&s->s_chan[i][j]);
}

/* One step of ms: every node ticks, messages are delivered (all, or some), kicks leave. */
static void
sim_step(struct sim *s, int ms, int all)
{
	size_t i, k;
	int n;

	s->s_now += ms;
	/* The end of the last turn: what relay.c's step ends with. */
	for (i = 0; i < s->s_nnodes; i++)
		if (s->s_nodes[i].sn_alive)
			clc_flush(s->s_nodes[i].sn_c);
	for (i = 0; i < s->s_nnodes; i++)
		if (s->s_nodes[i].sn_alive)
			(void)clc_tick(s->s_nodes[i].sn_c, s->s_now);
	if (all) {
		for (n = 0; n < 100000 && sim_deliver_one(s); n++)
			;
	} else {
		for (n = (int)(sim_rand(s) % 40); n > 0 && sim_deliver_one(s); n--)
			;
	}
	for (k = 0; k < SIM_MEMBERS; k++) {
		struct simmember *mb = &s->s_m[k];

		if (mb->mb_used && mb->mb_kicked && mb->mb_state == 1 && mb->mb_node->sn_alive)
			sim_leave(mb);
		mb->mb_kicked = 0;
	}
	if (!s->s_lazy || s->s_delivered % 64 == 0)
		for (i = 0; i < SIM_ROOMS; i++)
			sim_check_room(s, (int)i);
}

static void
sim_run(struct sim *s, int ms, int all)
{
	int t;

	for (t = 0; t < ms; t += 10)
		sim_step(s, 10, all);
}

static struct simmember *
sim_join(struct sim *s, size_t node, int room)
{
	struct simnode *n = &s->s_nodes[node];
	struct simmember *mb = NULL;
	uint8_t key[CL_KEY_LEN];
	size_t i;
	int rc;

	for (i = 0; i < SIM_MEMBERS; i++) {
		if (!s->s_m[i].mb_used || (s->s_m[i].mb_state == 2 && s->s_m[i].mb_cr == NULL)) {
			mb = &s->s_m[i];
			break;
		}
	}
	sim_assert(mb != NULL, "out of memory");
	memset(mb, 0, sizeof(*mb));
	mb->mb_used = 1;
	mb->mb_node = n;
	mb->mb_room = room;
	mb->mb_uid = ++s->s_uid;
	room_key(room, key);
	rc = clc_join(n->sn_c, s->s_now, key, mb, &mb->mb_cr);
	if (rc == VEIL_E_STATE) {
		mb->mb_state = 2;
		mb->mb_refused = FE_UNAVAILABLE;
		mb->mb_cr = NULL;
	} else
		sim_assert((rc) == (0), "%s != %s", "rc", "0");
	return mb;
}

/* Once quiet, every member knows exactly the room's other members. */
static void
sim_check_converged(struct sim *s)
{
	size_t i, j, n;

	for (i = 0; i < SIM_MEMBERS; i++) {
		const struct simmember *a = &s->s_m[i];

		if (!a->mb_used || a->mb_state != 1)
			continue;
		n = 0;
		for (j = 0; j < SIM_MEMBERS; j++) {
			const struct simmember *b = &s->s_m[j];

			if (b == a || !b->mb_used || b->mb_state != 1 || b->mb_room != a->mb_room)
				continue;
			ck_assert_msg(known_has(a, b->mb_id), "member %u of room %d does not "
			    "know member %u", a->mb_id, a->mb_room, b->mb_id);
			n++;
		}
		ck_assert_msg(a->mb_nknown == n, "member %u knows %zu, the room has %zu others",
		    a->mb_id, a->mb_nknown, n);
	}
}

static size_t
sim_count(const struct sim *s, int room, int state)
{
	size_t i, n = 0;

	for (i = 0; i < SIM_MEMBERS; i++)
		if (s->s_m[i].mb_used && s->s_m[i].mb_room == room && s->s_m[i].mb_state == state)
			n++;
	return n;
}

/* --- tests -------------------------------------------------------------- */

START_TEST(test_clcore_one_room_three_nodes)
{
	struct sim s;
	struct simmember *m[6];
	size_t i;

	sim_init(&s, 3, 16, 11);
	sim_run(&s, 1500, 1);
	for (i = 0; i < 3; i++)
		ck_assert(clc_serving(s.s_nodes[i].sn_c, s.s_now));
	for (i = 0; i < 6; i++)
		m[i] = sim_join(&s, i % 3, 0);
	sim_run(&s, 200, 1);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(m[i]->mb_state, 1);
	sim_check_converged(&s);
	/* Ids from 1 up, in admission order, as on one relay. */
	for (i = 0; i < 6; i++)
		ck_assert_uint_le(m[i]->mb_id, 6);
	for (i = 0; i < 6 * 20; i++)
		sim_send(m[i % 6], (int)(i % 3 == 0));
	sim_run(&s, 200, 1);
	for (i = 0; i < 6; i++)
		ck_assert_uint_gt(m[i]->mb_got, 0);
	/* Everyone broadcast 13 or 14 frames: each got them all from 5 others. */
	sim_leave(m[0]);
	sim_leave(m[4]);
	sim_run(&s, 200, 1);
	sim_check_converged(&s);
	sim_free(&s);
}
END_TEST

START_TEST(test_clcore_room_size_across_nodes)
{
	struct sim s;
	size_t i;

	sim_init(&s, 3, 4, 5);
	sim_run(&s, 1500, 1);
	/* Ten JOINs at once over three nodes: four places. */
	for (i = 0; i < 10; i++)
		(void)sim_join(&s, i % 3, 1);
	sim_run(&s, 500, 1);
	ck_assert_uint_eq(sim_count(&s, 1, 1), 4);
	ck_assert_uint_eq(sim_count(&s, 1, 2), 6);
	for (i = 0; i < SIM_MEMBERS; i++)
		if (s.s_m[i].mb_used && s.s_m[i].mb_state == 2)
			ck_assert_int_eq(s.s_m[i].mb_refused, FE_ROOM_FULL);
	sim_check_converged(&s);
	sim_free(&s);
}
END_TEST

static size_t
owner_of(struct sim *s, int room)
{
	uint8_t key[CL_KEY_LEN];
	size_t i;

	room_key(room, key);
	for (i = 0; i < s->s_nnodes; i++) {
		const struct clc_stats *st;

		if (!s->s_nodes[i].sn_alive)
			continue;
		st = clc_get_stats(s->s_nodes[i].sn_c, s->s_now);
		if (st->cs_owned > 0)
			return i;
	}
	return SIZE_MAX;
}

START_TEST(test_clcore_owner_dies)
{
	struct sim s;
	struct simmember *m[9], *n;
	size_t i, dead;

	sim_init(&s, 3, 16, 7);
	sim_run(&s, 1500, 1);
	for (i = 0; i < 9; i++)
		m[i] = sim_join(&s, i % 3, 2);
	sim_run(&s, 300, 1);
	sim_check_converged(&s);
	dead = owner_of(&s, 2);
	ck_assert_uint_lt(dead, 3);
	sim_node_kill(&s, dead);
	/* The others notice within CL_DEAD_MS and the new owner says LEFT for its members. */
	sim_run(&s, CL_DEAD_MS + 500, 1);
	sim_check_converged(&s);
	for (i = 0; i < 9; i++)
		if (m[i]->mb_node != &s.s_nodes[dead]) {
			ck_assert_int_eq(m[i]->mb_state, 1);
			ck_assert_uint_eq(m[i]->mb_nknown, 5);
		}
	/* Its members come back through another node, with new ids. */
	for (i = 0; i < 3; i++) {
		n = sim_join(&s, (dead + 1) % 3, 2);
		sim_run(&s, 100, 1);
		ck_assert_int_eq(n->mb_state, 1);
	}
	sim_check_converged(&s);
	for (i = 0; i < 20; i++)
		sim_send(m[(dead + 1) % 3], 0);
	sim_run(&s, 100, 1);
	sim_free(&s);
}
END_TEST

START_TEST(test_clcore_new_node_takes_over)
{
	struct sim s;
	size_t i, r;

	sim_init(&s, 2, 6, 21);
	sim_run(&s, 1500, 1);
	for (r = 0; r < SIM_ROOMS; r++)
		for (i = 0; i < 3; i++)
			(void)sim_join(&s, i % 2, (int)r);
	sim_run(&s, 300, 1);
	sim_check_converged(&s);
	/* A third node appears; some rooms move to it while JOINs keep coming. */
	sim_node_start(&s, 2);
	for (i = 0; i < 250; i++) {
		if (i % 10 == 0)
			(void)sim_join(&s, i % 3, (int)(i / 10) % SIM_ROOMS);
		sim_step(&s, 10, 0);
	}
	sim_run(&s, 500, 1);
	sim_check_converged(&s);
	for (r = 0; r < SIM_ROOMS; r++)
		ck_assert_uint_eq(sim_count(&s, (int)r, 1), 6);
	sim_free(&s);
}
END_TEST

START_TEST(test_clcore_cut_off_node_resets)
{
	struct sim s;
	struct simmember *m[6];
	size_t i;

	sim_init(&s, 3, 16, 3);
	sim_run(&s, 1500, 1);
	for (i = 0; i < 6; i++)
		m[i] = sim_join(&s, i % 3, 3);
	sim_run(&s, 300, 1);
	s.s_nodes[2].sn_cut = 1;
	/* Its own heartbeats stop coming back: it ends its members before the others count it dead. */
	sim_run(&s, CL_RESET_MS + 100, 1);
	ck_assert_int_eq(s.s_nodes[2].sn_resets, 1);
	ck_assert_int_eq(m[2]->mb_state, 2);
	ck_assert_int_eq(m[2]->mb_refused, FE_UNAVAILABLE);
	ck_assert_int_eq(m[0]->mb_state, 1);
	/* A JOIN there is refused at once (its clients go elsewhere). */
	ck_assert_int_eq(sim_join(&s, 2, 3)->mb_refused, FE_UNAVAILABLE);
	sim_run(&s, CL_DEAD_MS, 1);
	sim_check_converged(&s);
	/* Back on the bus: a new incarnation settles and serves again. */
	s.s_nodes[2].sn_cut = 0;
	sim_run(&s, CL_SETTLE_MS + 500, 1);
	ck_assert(clc_serving(s.s_nodes[2].sn_c, s.s_now));
	m[2] = sim_join(&s, 2, 3);
	sim_run(&s, 200, 1);
	ck_assert_int_eq(m[2]->mb_state, 1);
	sim_check_converged(&s);
	sim_free(&s);
}
END_TEST

START_TEST(test_clcore_quorum)
{
	struct sim s;

	sim_init(&s, 3, 16, 9);
	s.s_quorum = 2;
	sim_node_kill(&s, 0);
	sim_node_kill(&s, 1);
	sim_node_kill(&s, 2);
	sim_node_start(&s, 0);
	sim_node_start(&s, 1);
	sim_run(&s, 1500, 1);
	ck_assert(clc_serving(s.s_nodes[0].sn_c, s.s_now));
	(void)sim_join(&s, 0, 0);
	sim_run(&s, 100, 1);
	ck_assert_uint_eq(sim_count(&s, 0, 1), 1);
	/* Alone, it has no quorum: it stops, and its member goes elsewhere. */
	sim_node_kill(&s, 1);
	sim_run(&s, CL_DEAD_MS + 500, 1);
	ck_assert(!clc_serving(s.s_nodes[0].sn_c, s.s_now));
	ck_assert_uint_eq(sim_count(&s, 0, 1), 0);
	ck_assert_int_eq(s.s_nodes[0].sn_resets, 1);
	sim_free(&s);
}
END_TEST

/* Member ids go round all 65534 before one comes back; LEFT still comes first. */
START_TEST(test_clcore_id_reuse_order)
{
	struct sim s;
	struct simmember *a, *b, *x;
	unsigned int i;

	sim_init(&s, 3, 4, 17);
	sim_run(&s, 1500, 1);
	a = sim_join(&s, 0, 0);
	b = sim_join(&s, 1, 0);
	sim_run(&s, 100, 1);
	ck_assert_int_eq(a->mb_state, 1);
	ck_assert_int_eq(b->mb_state, 1);
	s.s_lazy = 1;
	for (i = 0; i < MEMBER_MAX + 3; i++) {
		/* Its BYE goes out with the next one's ADMIT. */
		x = sim_join(&s, 2 - i % 2, 0);
		sim_step(&s, 1, 1);
		sim_assert(x->mb_state == 1, "JOIN %u not admitted", i);
		sim_leave(x);
	}
	s.s_lazy = 0;
	/* a and b saw every JOINED after its id's LEFT: known_add would have failed. */
	sim_run(&s, 100, 1);
	sim_check_converged(&s);
	sim_free(&s);
}
END_TEST

/* Random churn, deaths, newcomers, interleavings; invariants at every step. */
/*
 * m broadcasts frames, a turn's worth (100) at a time, until its node's
 * readers are held back or max frames went out. Returns the frames sent.
 */
static size_t
sim_flood(struct simmember *m, size_t max)
{
	struct simnode *n = m->mb_node;
	size_t k;

	for (k = 0; k < max && n->sn_holds == 0; k++) {
		sim_send(m, 0);
		if (k % 100 == 99)
			clc_flush(n->sn_c);
	}
	clc_flush(n->sn_c);
	return k;
}

/* Where the last message of type t in channel ch is linked from, or NULL. */
static struct simmsg **
chan_last_of(struct simchan *ch, uint8_t t)
{
	struct simmsg **mp, **found = NULL;

	for (mp = &ch->sc_head; *mp != NULL; mp = &(*mp)->sm_next)
		if ((*mp)->sm_len > 1 && (*mp)->sm_data[1] == t)
			found = mp;
	return found;
}

/* Drops every message of ch from *mp on. */
static void
chan_cut(struct simchan *ch, struct simmsg **mp)
{
	struct simmsg *m, *next;

	for (m = *mp; m != NULL; m = next) {
		next = m->sm_next;
		free(m);
		ch->sc_n--;
	}
	*mp = NULL;
	ch->sc_tail = mp;
}

/*
 * PROTOCOL.md 5.9: a node publishes at most CL_WINDOW bytes of a room's
 * DATA to another node that it has not confirmed read (CREDIT); past that
 * its readers of the room wait, as under a HOLD; a lost answer is asked
 * for again; a node whose members left no longer counts; an ask finds a
 * loss at the end of a stream.
 */
START_TEST(test_clcore_credit_window)
{
	/* What 12-byte frames cost in a DATA: its record and payload. */
	const size_t per = CLM_REC + 12, window = CL_WINDOW / per;
	struct simmember *a, *b, *c2;
	struct simmsg **mp, **last, *msg;
	struct sim s;
	size_t n, total = 0;

	sim_init(&s, 2, 16, 21);
	sim_run(&s, 1500, 1);
	a = sim_join(&s, 0, 0);
	b = sim_join(&s, 1, 0);
	sim_run(&s, 200, 1);
	ck_assert_int_eq(a->mb_state, 1);
	ck_assert_int_eq(b->mb_state, 1);

	/* Nothing of node0's reaches node1: node0 stops reading after one window. */
	s.s_stall[0][1] = 1;
	n = sim_flood(a, 4 * window);
	total += n;
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);
	/* Bytes published: each turn's DATA, 100 frames and a header. */
	ck_assert_uint_ge(n * per + (n + 99) / 100 * CLM_HDR_DATA, CL_WINDOW);
	ck_assert_uint_lt(n * per + (n + 99) / 100 * CLM_HDR_DATA, CL_WINDOW + 100 * per + CLM_HDR_DATA);
	sim_run(&s, 1000, 1);
	ck_assert_uint_eq(clc_holds(a->mb_cr), 1);	/* a relay room made now counts it */
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);	/* no answer: still waiting */
	/* The bus moves again: node1 reads it all, answers, node0 reads again. */
	s.s_stall[0][1] = 0;
	sim_run(&s, 50, 1);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 0);
	ck_assert_uint_eq(clc_holds(a->mb_cr), 0);
	ck_assert_uint_eq(b->mb_got, total);

	/* The answers are lost: asked again after CL_RETRY_MS, and then answered. */
	s.s_stall[0][1] = 1;
	total += sim_flood(a, 4 * window);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);
	s.s_stall[1][0] = 2;
	s.s_stall[0][1] = 0;
	sim_run(&s, 100, 1);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);
	ck_assert_uint_eq(b->mb_got, total);
	s.s_stall[1][0] = 0;
	sim_run(&s, CL_RETRY_MS + 50, 1);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 0);

	/* The only member there leaves while node0 waits for it: node0 reads again. */
	s.s_stall[0][1] = 1;
	total += sim_flood(a, 4 * window);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);
	sim_leave(b);
	sim_run(&s, 50, 1);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 0);
	s.s_stall[0][1] = 0;
	sim_run(&s, 200, 1);

	/*
	 * The last DATA before an ask is lost: the ask finds it (5.8), and the
	 * member that should have had it is ended, as after a gap.
	 */
	c2 = sim_join(&s, 1, 0);
	sim_run(&s, 200, 1);
	ck_assert_int_eq(c2->mb_state, 1);
	sim_send(a, 0);
	sim_run(&s, 50, 1);	/* c2 has seen a's counter */
	ck_assert_uint_eq(c2->mb_got, 1);
	s.s_stall[0][1] = 1;
	s.s_lost_ok = 1;
	(void)sim_flood(a, CL_ASK_BYTES / per + 200);
	/* Nothing after the ask arrives, nor the DATA right before it. */
	mp = chan_last_of(&s.s_chan[0][1], CLM_CREDIT);
	ck_assert_ptr_nonnull(mp);
	chan_cut(&s.s_chan[0][1], &(*mp)->sm_next);
	last = chan_last_of(&s.s_chan[0][1], CLM_DATA);
	ck_assert_ptr_nonnull(last);
	ck_assert_ptr_eq(&(*last)->sm_next, mp);
	msg = *last;
	*last = msg->sm_next;
	s.s_chan[0][1].sc_n--;
	free(msg);
	for (mp = &s.s_chan[0][1].sc_head; *mp != NULL; mp = &(*mp)->sm_next)
		;
	s.s_chan[0][1].sc_tail = mp;
	s.s_stall[0][1] = 0;
	ck_assert_int_eq(s.s_nodes[1].sn_lost, 0);
	sim_run(&s, 50, 1);
	ck_assert_int_eq(s.s_nodes[1].sn_lost, 1);
	ck_assert_int_eq(c2->mb_state, 2);	/* ended (the relay: ERROR SLOW) */
	sim_free(&s);
}
END_TEST

/* The relay a full window waits for dies (kill -9): its members' node reads again. */
START_TEST(test_clcore_credit_peer_dies)
{
	struct simmember *a, *b;
	struct sim s;

	sim_init(&s, 2, 16, 23);
	sim_run(&s, 1500, 1);
	a = sim_join(&s, 0, 0);
	b = sim_join(&s, 1, 0);
	sim_run(&s, 200, 1);
	ck_assert_int_eq(b->mb_state, 1);
	s.s_stall[0][1] = 1;
	(void)sim_flood(a, 4 * (CL_WINDOW / (CLM_REC + 12)));
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 1);
	sim_node_kill(&s, 1);
	s.s_stall[0][1] = 0;
	sim_run(&s, CL_DEAD_MS + 500, 1);
	ck_assert_int_eq(s.s_nodes[0].sn_holds, 0);
	ck_assert_uint_eq(clc_holds(a->mb_cr), 0);
	ck_assert_int_eq(a->mb_state, 1);
	sim_free(&s);
}
END_TEST

static void
sim_chaos(unsigned int seed, int drop, int cuts)
{
	struct sim s;
	int64_t uncut[SIM_NODES] = { 0 };
	size_t i, k;
	int step;

	sim_init(&s, 4, 5, seed);
	s.s_drop = drop;
	s.s_lost_ok = drop > 0 || cuts;
	sim_run(&s, 1500, 1);
	for (step = 0; step < 3000; step++) {
		unsigned int r = sim_rand(&s) % 1000;

		if (r < 60) {
			i = sim_rand(&s) % s.s_nnodes;
			if (s.s_nodes[i].sn_alive)
				(void)sim_join(&s, i, (int)(sim_rand(&s) % SIM_ROOMS));
		} else if (r < 100) {
			k = sim_rand(&s) % SIM_MEMBERS;
			if (s.s_m[k].mb_used && s.s_m[k].mb_state == 1 && s.s_m[k].mb_node->sn_alive)
				sim_leave(&s.s_m[k]);
		} else if (r < 400) {
			k = sim_rand(&s) % SIM_MEMBERS;
			if (s.s_m[k].mb_used && s.s_m[k].mb_node->sn_alive)
				sim_send(&s.s_m[k], (int)(r & 1));
		} else if (r < 402 && step < 2000) {
			i = sim_rand(&s) % s.s_nnodes;
			if (s.s_nodes[i].sn_alive)
				sim_node_kill(&s, i);
			else
				sim_node_start(&s, i);
		} else if (r < 404 && cuts && step < 2000) {
			/* Cut off from the bus for 0.2 to 3 s. */
			i = sim_rand(&s) % s.s_nnodes;
			s.s_nodes[i].sn_cut = 1;
			uncut[i] = s.s_now + 200 + sim_rand(&s) % 2800;
		}
		for (i = 0; i < s.s_nnodes; i++)
			if (s.s_nodes[i].sn_cut && s.s_now >= uncut[i])
				s.s_nodes[i].sn_cut = 0;
		sim_step(&s, 10, 0);
	}
	for (i = 0; i < s.s_nnodes; i++)
		s.s_nodes[i].sn_cut = 0;
	/* Quiet, and everyone alive and back: one view per room. */
	s.s_drop = 0;
	for (i = 0; i < s.s_nnodes; i++)
		if (!s.s_nodes[i].sn_alive)
			sim_node_start(&s, i);
	sim_run(&s, CL_DEAD_MS + CL_SETTLE_MS + 2000, 1);
	sim_check_converged(&s);
	sim_free(&s);
}

START_TEST(test_clcore_chaos)
{
	sim_chaos(1000 + (unsigned int)_i, 0, 0);
}
END_TEST

START_TEST(test_clcore_chaos_lossy)
{
	sim_chaos(2000 + (unsigned int)_i, 5, 0);
}
END_TEST

START_TEST(test_clcore_chaos_cuts)
{
	sim_chaos(3000 + (unsigned int)_i, 0, 1);
}
END_TEST

Suite *suite_clcore(void);

Suite *
suite_clcore(void)
{
	Suite *s = suite_create("clcore");
	TCase *tc = tcase_create("cluster");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clcore_one_room_three_nodes);
	tcase_add_test(tc, test_clcore_room_size_across_nodes);
	tcase_add_test(tc, test_clcore_owner_dies);
	tcase_add_test(tc, test_clcore_new_node_takes_over);
	tcase_add_test(tc, test_clcore_cut_off_node_resets);
	tcase_add_test(tc, test_clcore_quorum);
	tcase_add_test(tc, test_clcore_id_reuse_order);
	tcase_add_test(tc, test_clcore_credit_window);
	tcase_add_test(tc, test_clcore_credit_peer_dies);
	tcase_add_loop_test(tc, test_clcore_chaos, 0, 10);
	tcase_add_loop_test(tc, test_clcore_chaos_lossy, 0, 10);
	tcase_add_loop_test(tc, test_clcore_chaos_cuts, 0, 10);
	suite_add_tcase(s, tc);
	return s;
}
