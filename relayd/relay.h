/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAYD_H
#define VEIL_RELAYD_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

/*
 * The relay server: one epoll loop (ev.h) over listening sockets, client
 * connections (conn.h) and a signalfd; rooms from room.h. It reads only the
 * routing header of each frame, and the room id of a JOIN.
 */

/*
 * Flow control (PROTOCOL.md 1.4). A reader whose queue passes rc_out_soft
 * blocks: the other members of its room are read no more (TCP pushes back
 * on them) until its queue is under a quarter of rc_out_soft, or for at
 * most rc_stall_ms; then it is released and queues alone. A reader is
 * dropped (FE_SLOW) only past rc_out_max, or when its output has waited
 * rc_slow_ms with no byte written. A sender's read in progress is queued
 * whole, so rc_out_max should leave RELAYD_READ_MAX above rc_out_soft (the
 * command line insists; relayd_new does not, for the tests).
 */
#define RELAYD_READ_MAX		(256 * 1024)	/* one read() from a client, at most */
#define RELAYD_QUEUE_SOFT	(256 * 1024)	/* --queue-soft default */
#define RELAYD_QUEUE_HARD	(4 * 1024 * 1024) /* --queue-hard default */
#define RELAYD_QUEUE_LIMIT	(15 * 1024 * 1024) /* the largest --queue-hard */
#define RELAYD_QUEUE_MIN	(16 * 1024)	/* the smallest --queue-soft */
#define RELAYD_STALL_MS		1000		/* --stall-window default */
#define RELAYD_SLOW_SEC		15		/* --slow-timeout default */

struct rtls;
struct cluster_config;

struct relayd_config {
	uint32_t	rc_max_clients;		/* --max-clients */
	uint32_t	rc_max_frame;		/* --max-frame */
	uint32_t	rc_room_size;		/* --room-size */
	uint32_t	rc_idle_ms;		/* --idle-timeout: time to JOIN */
	uint32_t	rc_keepalive_ms;	/* silence that closes a member */
	uint32_t	rc_linger_ms;		/* time to deliver a last ERROR */
	uint32_t	rc_stall_ms;		/* --stall-window */
	uint32_t	rc_slow_ms;		/* --slow-timeout */
	uint32_t	rc_max_per_addr;	/* --max-per-addr, 0: no cap */
	size_t		rc_out_soft;		/* --queue-soft */
	size_t		rc_out_max;		/* --queue-hard: output queue bound */
	struct rtls	*rc_tls;		/* TLS (tls.h), borrowed: outlives the
						   relay; NULL: --plaintext */
};

/* Why connections were closed; the SIGUSR1 line counts each. */
enum relayd_reason {
	RELAYD_R_EOF,		/* client closed */
	RELAYD_R_IOERR,		/* read or write failed (reset, ...) */
	RELAYD_R_MALFORMED,	/* FE_MALFORMED */
	RELAYD_R_OVERSIZE,	/* FE_OVERSIZE */
	RELAYD_R_ROOM_FULL,	/* FE_ROOM_FULL */
	RELAYD_R_IDLE,		/* FE_TIMEOUT: no JOIN in time */
	RELAYD_R_KEEPALIVE,	/* FE_TIMEOUT: member silent too long */
	RELAYD_R_NOT_JOINED,	/* FE_NOT_JOINED */
	RELAYD_R_REJOIN,		/* FE_REJOIN */
	RELAYD_R_SLOW,		/* FE_SLOW: queue past --queue-hard */
	RELAYD_R_STALLED,	/* FE_SLOW: nothing written for --slow-timeout */
	RELAYD_R_SHUTDOWN,	/* FE_SHUTDOWN */
	RELAYD_R_NOMEM,		/* allocation failed */
	RELAYD_R_TLS,		/* TLS failed: handshake, record or alert */
	RELAYD_R_UNAVAILABLE,	/* FE_UNAVAILABLE: cut off from the cluster */
	RELAYD_R_LOST,		/* FE_SLOW: a frame for it was lost on the bus */
	RELAYD_R_MAX
};

struct relayd_stats {
	uint64_t	rs_accepted;
	uint64_t	rs_refused;		/* over --max-clients: FE_SERVER_FULL */
	uint64_t	rs_refused_addr;	/* over --max-per-addr: FE_SERVER_FULL */
	uint64_t	rs_blocked;		/* readers that passed --queue-soft */
	uint64_t	rs_released;		/* ... and were still over it after the window */
	uint64_t	rs_paused;		/* senders whose reading was paused */
	uint64_t	rs_joins;
	uint64_t	rs_frames_in;
	uint64_t	rs_frames_out;
	uint64_t	rs_bytes_in;
	uint64_t	rs_bytes_out;
	uint64_t	rs_tls_ok;		/* TLS handshakes finished */
	uint64_t	rs_tls_failed;		/* ... refused or broken off by the peer (not
						   those --idle-timeout closes: idle_timeout) */
	uint64_t	rs_ktls_tx;		/* connections whose sending kTLS took over */
	uint64_t	rs_ktls_rx;		/* ... whose receiving kTLS took over */
	uint64_t	rs_bus_in;		/* frames from members on other nodes */
	uint64_t	rs_bus_out;		/* frames published for members on other nodes */
	uint64_t	rs_closed[RELAYD_R_MAX];
	uint32_t	rs_conns;		/* open now */
	size_t		rs_rooms;		/* rooms now */
	size_t		rs_in_bufs;		/* input buffers held now */
	size_t		rs_out_bufs;		/* output queues held now */
};

struct relayd;

/* Fills cfg with the documented defaults (DESIGN.md, relayd --help). */
void	relayd_config_default(struct relayd_config *cfg);

/*
 * Creates a relay handling descriptors 0..setsize-1 (needs getrandom, so
 * before the sandbox). With cfg->rc_tls every connection speaks TLS; the
 * process must ignore SIGPIPE (libssl writes with write()). Returns 0, VEIL_E_INVALID for a config out of
 * bounds, VEIL_E_ALLOC or VEIL_E_SYSTEM. Free with relayd_free.
 */
int	relayd_new(struct relayd **rp, const struct relayd_config *cfg, int setsize) VEIL_WUR;
/* Closes every descriptor the relay owns and frees it. NULL is fine. */
void	relayd_free(struct relayd *r);

/*
 * Parses "ADDR:PORT" (IPv4 dotted quad) or "[ADDR]:PORT" (IPv6), numeric
 * only, port 0..65535. Returns 0 or VEIL_E_INVALID.
 */
int	relayd_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) VEIL_WUR;

/*
 * Binds and listens on the address, and watches it. Writes the address
 * actually bound (the real port when 0 was asked) to desc. Returns 0 or
 * VEIL_E_SYSTEM (errno set).
 */
int	relayd_listen(struct relayd *r, const struct sockaddr_storage *ss, socklen_t len,
	    char *desc, size_t desclen) VEIL_WUR;

/*
 * Blocks SIGTERM, SIGINT and SIGUSR1 and handles them through a signalfd:
 * the first two stop relayd_run, the last prints the counters to stderr.
 * Returns 0 or VEIL_E_SYSTEM.
 */
int	relayd_watch_signals(struct relayd *r) VEIL_WUR;

/*
 * Adopts an already connected stream socket as a client connection, as if
 * accepted from the peer address sa (salen bytes; NULL: unknown, never
 * counted for --max-per-addr). Used by the tests with socketpairs. The
 * relay owns fd from now, also on failure. Returns 0, VEIL_E_LIMIT when
 * refused over a cap (ERROR SERVER_FULL sent, or over TLS a fatal alert),
 * VEIL_E_INVALID, VEIL_E_ALLOC, VEIL_E_SYSTEM.
 */
int	relayd_add_conn(struct relayd *r, int fd, const struct sockaddr *sa,
	    socklen_t salen) VEIL_WUR;

/*
 * One turn of the loop: waits up to timeout_ms for events, handles them,
 * expires timeouts, closes what must close and writes queued output.
 * Returns 0 or VEIL_E_SYSTEM (epoll failed).
 */
int	relayd_step(struct relayd *r, int timeout_ms) VEIL_WUR;

/*
 * Joins the NATS cluster cfg names (cluster.h): from now on rooms span the
 * cluster's nodes (PROTOCOL.md 5). Before the sandbox: it reads files and
 * connects. On failure says why in err. Returns 0 or cluster_new's error.
 */
int	relayd_cluster(struct relayd *r, const struct cluster_config *cfg, char *err,
	    size_t errlen) VEIL_WUR;

/*
 * Runs turns until SIGTERM or SIGINT. Returns 0, VEIL_E_SYSTEM, or
 * VEIL_E_STATE when another relayd of the cluster uses this --node NAME.
 */
int	relayd_run(struct relayd *r) VEIL_WUR;

/* Sends ERROR FE_SHUTDOWN to every connection (best effort) and closes them all. */
void	relayd_shutdown(struct relayd *r);

/* The counters, updated. The pointer is valid until relayd_free. */
const struct relayd_stats *relayd_get_stats(struct relayd *r);

/* Writes the counters as one line to f. Never an address, room or member id. */
void	relayd_print_stats(struct relayd *r, FILE *f);

#endif
