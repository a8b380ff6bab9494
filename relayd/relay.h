/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAY_H
#define VEIL_RELAY_H

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

struct relay_config {
	uint32_t	rc_max_clients;		/* --max-clients */
	uint32_t	rc_max_frame;		/* --max-frame */
	uint32_t	rc_room_size;		/* --room-size */
	uint32_t	rc_idle_ms;		/* --idle-timeout: time to JOIN */
	uint32_t	rc_keepalive_ms;	/* silence that closes a member */
	size_t		rc_out_max;		/* output queue bound per connection */
};

/* Why connections were closed; the SIGUSR1 line counts each. */
enum relay_reason {
	RELAY_R_EOF,		/* client closed */
	RELAY_R_IOERR,		/* read or write failed (reset, ...) */
	RELAY_R_MALFORMED,	/* FE_MALFORMED */
	RELAY_R_OVERSIZE,	/* FE_OVERSIZE */
	RELAY_R_ROOM_FULL,	/* FE_ROOM_FULL */
	RELAY_R_IDLE,		/* FE_TIMEOUT: no JOIN in time */
	RELAY_R_KEEPALIVE,	/* FE_TIMEOUT: member silent too long */
	RELAY_R_NOT_JOINED,	/* FE_NOT_JOINED */
	RELAY_R_REJOIN,		/* FE_REJOIN */
	RELAY_R_SLOW,		/* FE_SLOW */
	RELAY_R_SHUTDOWN,	/* FE_SHUTDOWN */
	RELAY_R_NOMEM,		/* allocation failed */
	RELAY_R_MAX
};

struct relay_stats {
	uint64_t	rs_accepted;
	uint64_t	rs_refused;		/* over --max-clients: FE_SERVER_FULL */
	uint64_t	rs_joins;
	uint64_t	rs_frames_in;
	uint64_t	rs_frames_out;
	uint64_t	rs_bytes_in;
	uint64_t	rs_bytes_out;
	uint64_t	rs_closed[RELAY_R_MAX];
	uint32_t	rs_conns;		/* open now */
	size_t		rs_rooms;		/* rooms now */
	size_t		rs_in_bufs;		/* input buffers held now */
	size_t		rs_out_bufs;		/* output queues held now */
};

struct relay;

/* Fills cfg with the documented defaults (DESIGN.md, relayd --help). */
void	relay_config_default(struct relay_config *cfg);

/*
 * Creates a relay handling descriptors 0..setsize-1 (needs getrandom, so
 * before the sandbox). Returns 0, VEIL_E_INVALID for a config out of
 * bounds, VEIL_E_ALLOC or VEIL_E_SYSTEM. Free with relay_free.
 */
int	relay_new(struct relay **rp, const struct relay_config *cfg, int setsize) VEIL_WUR;
/* Closes every descriptor the relay owns and frees it. NULL is fine. */
void	relay_free(struct relay *r);

/*
 * Parses "ADDR:PORT" (IPv4 dotted quad) or "[ADDR]:PORT" (IPv6), numeric
 * only, port 0..65535. Returns 0 or VEIL_E_INVALID.
 */
int	relay_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) VEIL_WUR;

/*
 * Binds and listens on the address, and watches it. Writes the address
 * actually bound (the real port when 0 was asked) to desc. Returns 0 or
 * VEIL_E_SYSTEM (errno set).
 */
int	relay_listen(struct relay *r, const struct sockaddr_storage *ss, socklen_t len,
	    char *desc, size_t desclen) VEIL_WUR;

/*
 * Blocks SIGTERM, SIGINT and SIGUSR1 and handles them through a signalfd:
 * the first two stop relay_run, the last prints the counters to stderr.
 * Returns 0 or VEIL_E_SYSTEM.
 */
int	relay_watch_signals(struct relay *r) VEIL_WUR;

/*
 * Adopts an already connected stream socket as a client connection (as if
 * accepted; used by the tests with socketpairs). The relay owns fd from now,
 * also on failure. Returns 0, VEIL_E_LIMIT when full, VEIL_E_INVALID,
 * VEIL_E_ALLOC.
 */
int	relay_add_conn(struct relay *r, int fd) VEIL_WUR;

/*
 * One turn of the loop: waits up to timeout_ms for events, handles them,
 * expires timeouts, closes what must close and writes queued output.
 * Returns 0 or VEIL_E_SYSTEM (epoll failed).
 */
int	relay_step(struct relay *r, int timeout_ms) VEIL_WUR;

/* Runs turns until SIGTERM or SIGINT. Returns 0 or VEIL_E_SYSTEM. */
int	relay_run(struct relay *r) VEIL_WUR;

/* Sends ERROR FE_SHUTDOWN to every connection (best effort) and closes them all. */
void	relay_shutdown(struct relay *r);

/* The counters, updated. The pointer is valid until relay_free. */
const struct relay_stats *relay_get_stats(struct relay *r);

/* Writes the counters as one line to f. Never an address, room or member id. */
void	relay_print_stats(struct relay *r, FILE *f);

#endif
