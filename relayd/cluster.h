/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLUSTER_H
#define VEIL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clcore.h"

/*
 * relayd's link to a NATS cluster (relayd --cluster, PROTOCOL.md 5):
 * libnats, driven from relayd's own epoll loop (ev.h) through libnats'
 * event-loop adapter interface, and the cluster logic of clcore.h on top.
 * Everything that touches a file or resolves a name happens in cluster_new,
 * before the sandbox. What libnats still runs in threads (cluster.c): its
 * timers, its callbacks, one message delivery thread, and a reconnect
 * thread while the link is down.
 */

#define CLUSTER_URLS_MAX	16	/* servers in --cluster */
#define CLUSTER_OUT_HIGH	(8 * 1024 * 1024)	/* bus output queued: hold back senders */
#define CLUSTER_OUT_LOW		(1024 * 1024)	/* ... until under this */
#define CLUSTER_MSGQ_MAX	65536	/* messages between the delivery thread and the loop */

struct ev_loop;
struct cluster;

struct cluster_config {
	const char	*cc_urls;	/* --cluster: nats://ADDR:PORT[,...] (or tls://) */
	const char	*cc_node;	/* --node NAME */
	const char	*cc_creds;	/* --cluster-creds FILE, or NULL */
	const char	*cc_ca;		/* --cluster-ca FILE, or NULL (no TLS) */
	const char	*cc_tls_name;	/* --cluster-tls-name NAME, or NULL */
	uint32_t	 cc_quorum;	/* --cluster-quorum */
	uint16_t	 cc_room_size;	/* --room-size */
	uint32_t	 cc_hold_ms;	/* --stall-window */
};

/* libnats' counters, for relayd's SIGUSR1 line. */
struct cluster_stats {
	uint64_t	cls_in;		/* messages in */
	uint64_t	cls_out;	/* messages out */
	uint64_t	cls_reconnects;
	uint64_t	cls_slow;	/* slow-consumer errors (messages dropped by libnats) */
	uint64_t	cls_qdrop;	/* messages dropped: the loop's queue was full */
	int		cls_up;		/* connected now */
};

/*
 * Checks the --cluster list: 1..CLUSTER_URLS_MAX comma-separated
 * nats://ADDR:PORT or tls://ADDR:PORT with a numeric address (IPv6 in
 * brackets). Returns 0 or VEIL_E_INVALID.
 */
int	cluster_parse_urls(const char *s) VEIL_WUR;

/*
 * Reads the credentials and CA files, connects to one of the servers
 * (blocking, before the sandbox), subscribes, and attaches the connection
 * to el. local is the relay's side of the core. On failure writes why to
 * err. Returns 0, VEIL_E_INVALID (a bad file or option), VEIL_E_SYSTEM (no
 * server answered, or it refused us) or VEIL_E_ALLOC.
 */
int	cluster_new(struct cluster **clp, const struct cluster_config *cfg, struct ev_loop *el,
	    const struct clc_local *local, char *err, size_t errlen) VEIL_WUR;

/*
 * Says this node is leaving, writes what is queued (for a short while),
 * closes the link and stops libnats' threads. NULL is fine.
 */
void	cluster_free(struct cluster *cl);

/* The core, for relay.c's calls (clc_join, clc_send, ...). */
struct clc *cluster_core(struct cluster *cl);

/*
 * One turn: applies what libnats asked of the loop, runs the core's timers,
 * hands it the messages the delivery thread queued. Returns the
 * milliseconds until the next turn is needed.
 */
int	cluster_turn(struct cluster *cl, int64_t now);

/* Writes what this turn published (no need to wait for EV_WRITE). */
void	cluster_flush(struct cluster *cl);

/*
 * 1 while relayd should read no member of a room that spans nodes: the
 * link is down, or more than CLUSTER_OUT_HIGH bytes wait to go out.
 */
int	cluster_blocked(struct cluster *cl);

/* 1 when another relayd uses this --node NAME (start-up refuses to go on). */
int	cluster_name_taken(const struct cluster *cl);

void	cluster_get_stats(struct cluster *cl, struct cluster_stats *st);

#endif
