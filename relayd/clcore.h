/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLCORE_H
#define VEIL_CLCORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clmsg.h"

/*
 * The cluster's logic (PROTOCOL.md 5), without I/O: which nodes are alive,
 * which node owns each room (rendezvous hashing over the live nodes), the
 * owner's admissions and member ids, each node's view of a room's
 * membership, the hand-over when an owner changes, and the rules that keep
 * a room's frames and JOINED/LEFT in the order one relay gives them. It is
 * driven by decoded bus messages and a clock; it publishes through
 * struct clc_bus and talks to the relay through struct clc_local. The
 * tests run several of these against a simulated bus (check_clcore.c);
 * cluster.c connects one to NATS.
 *
 * Times are milliseconds of CLOCK_MONOTONIC. Nothing here logs a room key,
 * a member id or an address.
 */

#define CL_HB_MS	250	/* a heartbeat this often */
#define CL_SETTLE_MS	1000	/* heartbeating this long before owning or admitting */
#define CL_FENCE_MS	750	/* own heartbeat not back this long: admit nothing */
#define CL_RESET_MS	1000	/* ... this long: end every member, start afresh */
#define CL_DEAD_MS	2000	/* another node silent this long is dead */
#define CL_RETRY_MS	500	/* an unanswered ADMIT or RESYNC is sent again */
#define CL_COLLECT_MS	1000	/* an unanswered QUERY is sent again */
#define CL_BACKOFF_MS	100	/* after a RETRY answer or a conflict */
#define CL_BYE_WAIT_MS	1000	/* a LEFT waits this long for its node's BYE */
#define CL_KEEP_MS	10000	/* an owner keeps an empty room this long */
#define CL_SEQ_MS	300	/* a room's SEQ this long after its last event ... */
#define CL_SEQ2_MS	2000	/* ... and again this long after */
#define CL_BYE_TRIES	20	/* a BYE the owner has not confirmed is sent again */
#define CL_TOMB_MS	60000	/* a dead incarnation is remembered this long */
#define CL_SCAN_MS	50	/* the room timers' granularity */
#define CL_NODES_MAX	64	/* nodes, live and remembered dead */
#define CL_QUEUE_MAX	256	/* events or requests queued per room */
#define CL_HELD_MAX	(256 * 1024)	/* bytes of DATA held per room (gating) */
#define CL_HOLD_SLACK_MS 500	/* a remote HOLD ends --stall-window plus this after it began */
#define CL_WINDOW	(1024 * 1024)	/* DATA bytes of a room sent to a node, not yet confirmed read */
#define CL_ASK_BYTES	(CL_WINDOW / 4)	/* a CREDIT ask after this many more */
#define CL_ASKS		8		/* asks a sender keeps per node and room */

struct clc;
struct clc_room;

struct clc_config {
	const char	*cc_name;	/* --node NAME */
	uint16_t	 cc_room_size;	/* --room-size: the owner's cap */
	uint32_t	 cc_quorum;	/* --cluster-quorum: live nodes needed to serve */
	uint32_t	 cc_hold_ms;	/* --stall-window */
};

/* The bus (cluster.c: NATS; the tests: a simulation). */
struct clc_bus {
	/* Publishes n bytes on subject. 0, or negative: not sent (counted, and lost). */
	int	(*cb_publish)(void *arg, const char *subject, const uint8_t *p, size_t n);
	/* Starts or stops the subscription to cr's room subject (cr->cr_subject). */
	int	(*cb_subscribe)(void *arg, struct clc_room *cr);
	void	(*cb_unsubscribe)(void *arg, struct clc_room *cr);
	/* A new random incarnation id, never 0. */
	uint64_t (*cb_nid)(void *arg);
	void	*cb_arg;
};

/*
 * The relay's side (relay.c). token is the relay's pending connection;
 * cr->cr_local its struct room once a member is admitted.
 */
struct clc_local {
	/* A pending JOIN got id and stamp; others are the room's other members. */
	void	(*cl_admitted)(void *arg, void *token, struct clc_room *cr, uint16_t id,
		    uint64_t stamp, const uint16_t *others, size_t n);
	/* A pending JOIN was refused: FE_ROOM_FULL or FE_UNAVAILABLE. */
	void	(*cl_refused)(void *arg, void *token, uint8_t code);
	/* Tell every local member of cr: FT_JOINED or FT_LEFT for id. */
	void	(*cl_member)(void *arg, struct clc_room *cr, uint8_t type, uint16_t id);
	/* A frame from a member on another node, for dst (or MEMBER_BCAST). */
	void	(*cl_deliver)(void *arg, struct clc_room *cr, uint16_t src, uint16_t dst,
		    const uint8_t *p, uint32_t len);
	/* Frames for dst (MEMBER_BCAST: every local member) were lost on the bus. */
	void	(*cl_lost)(void *arg, struct clc_room *cr, uint16_t dst);
	/* The owner no longer lists local member id: end it (FE_UNAVAILABLE). */
	void	(*cl_evict)(void *arg, struct clc_room *cr, uint16_t id);
	/*
	 * Another node's readers started (+1) or stopped (-1) holding cr
	 * back; or this node's DATA to another filled its credit window (+1)
	 * or has room again (-1) (PROTOCOL.md 5.9). Either way: one more
	 * (one fewer) reason not to read cr's members.
	 */
	void	(*cl_hold)(void *arg, struct clc_room *cr, int delta);
	/*
	 * This node lost the cluster: end every member and pending JOIN with
	 * FE_UNAVAILABLE and forget every struct clc_room (all are freed).
	 */
	void	(*cl_reset)(void *arg);
	void	*cl_arg;
};

/* One room as the core knows it; relay.c reads these fields only. */
struct clc_room {
	uint8_t		 cr_key[CL_KEY_LEN];
	char		 cr_subject[CL_SUBJECT_MAX];
	void		*cr_sub;	/* the bus's subscription */
	void		*cr_local;	/* relay.c's struct room, or NULL */
	/* The core's own (clcore.c). */
	struct clc_room	*cr_next;	/* hash chain */
	struct clc_room	*cr_lnext;	/* list of all rooms */
	struct clc_room	*cr_lprev;
	struct clc_view	*cr_view;	/* local members or JOINs: NULL if none */
	struct clc_own	*cr_own;	/* owner or collecting: NULL if neither */
	uint8_t		 cr_subscribed;
};

/* Counters for relayd's SIGUSR1 line. */
struct clc_stats {
	uint64_t	cs_nodes;	/* live nodes now, this one included */
	uint64_t	cs_owned;	/* rooms this node owns now */
	uint64_t	cs_admits;	/* admissions this node made as owner */
	uint64_t	cs_takeovers;	/* collections finished */
	uint64_t	cs_deaths;	/* other nodes declared dead */
	uint64_t	cs_resets;	/* times this node lost the cluster */
	uint64_t	cs_resyncs;	/* views that asked for a snapshot */
	uint64_t	cs_lost;	/* frames detected lost on the bus */
	uint64_t	cs_held;	/* frames held until their sender's JOINED */
	uint64_t	cs_dropped;	/* frames from members already gone */
	uint64_t	cs_pub_failed;	/* publishes the bus refused */
	uint64_t	cs_bad;		/* messages that failed to decode */
	uint64_t	cs_data_out;	/* DATA messages published (frames: the relay counts them) */
	uint64_t	cs_data_in;	/* DATA messages from other nodes decoded */
	uint64_t	cs_credit_waits; /* times a room's readers waited for a node's CREDIT */
};

/*
 * A core for node cfg->cc_name (checked: clm_name_ok). Its first
 * incarnation id comes from bus->cb_nid. Returns 0, VEIL_E_INVALID or
 * VEIL_E_ALLOC. Free with clc_free.
 */
int	clc_new(struct clc **cp, const struct clc_config *cfg, const struct clc_bus *bus,
	    const struct clc_local *local) VEIL_WUR;
/* Frees every room (unsubscribing) and the core. NULL is fine. */
void	clc_free(struct clc *c);

/* Handles one message from the bus (any subject). Malformed ones are counted. */
void	clc_input(struct clc *c, int64_t now, const uint8_t *p, size_t n);

/*
 * Heartbeats, deaths, retries, expiries. Call it every loop turn, before
 * the turn's messages. Returns the milliseconds until it wants to run again.
 */
int	clc_tick(struct clc *c, int64_t now);

/*
 * A client sent JOIN for the room whose cluster key is key: asks its owner
 * for a place. Sets *crp (the room, to pass to clc_cancel). Returns 0 (the
 * answer comes through cl_admitted or cl_refused), VEIL_E_STATE (this node
 * is cut off from the cluster: refuse with FE_UNAVAILABLE now) or
 * VEIL_E_ALLOC.
 */
int	clc_join(struct clc *c, int64_t now, const uint8_t key[static CL_KEY_LEN], void *token,
	    struct clc_room **crp) VEIL_WUR;
/* The pending JOIN token gave up (closed): its place, if granted, is given back. */
void	clc_cancel(struct clc *c, struct clc_room *cr, void *token);
/*
 * Local member id (admitted with stamp) left: the other nodes are told.
 * The relay has told its own members already. cr may be freed.
 */
void	clc_leave(struct clc *c, struct clc_room *cr, uint16_t id, uint64_t stamp);

/*
 * A frame from local member src (stamp) for dst (MEMBER_BCAST: everyone),
 * for the members on other nodes, if any: added to the DATA message being
 * filled for the room and that destination (published by clc_flush, or
 * sooner). Returns 0, or VEIL_E_ALLOC.
 */
int	clc_send(struct clc *c, struct clc_room *cr, uint16_t src, uint64_t stamp, uint16_t dst,
	    const uint8_t *p, uint32_t len) VEIL_WUR;

/*
 * (clc_send: once CL_WINDOW bytes of the room's DATA to another node are
 * not confirmed read, cl_hold(+1) until they are; PROTOCOL.md 5.9.)
 *
 * Publishes the frames clc_send gathered this turn (one DATA message per
 * room and destination). Call it at the end of every turn.
 */
void	clc_flush(struct clc *c);

/*
 * What holds cr back now (remote HOLDs, and 1 for a full credit window):
 * for a relay room made after they began (cl_hold told nobody then).
 */
uint16_t clc_holds(const struct clc_room *cr);

/* 1 if members of cr are on other nodes. */
int	clc_spans(const struct clc_room *cr);

/* This node's readers of cr started (on) or stopped holding the room back. */
void	clc_hold(struct clc *c, struct clc_room *cr, int on);

/*
 * This node is leaving (SIGTERM): one heartbeat says so, and the others
 * treat it as dead at once.
 */
void	clc_leaving(struct clc *c);

/* 1 while this node admits (settled, its heartbeats coming back, quorum met). */
int	clc_serving(const struct clc *c, int64_t now);

/* 1 once another node was heard using this node's --node NAME. */
int	clc_name_taken(const struct clc *c);

/* This node's current incarnation id (for the bus's echo filter). */
uint64_t clc_nid(const struct clc *c);

const struct clc_stats *clc_get_stats(struct clc *c, int64_t now);

#endif
