/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CONN_H
#define VEIL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"

/*
 * One relayd connection: frame reassembly on input, a bounded output queue,
 * no I/O policy (relay.c decides what frames mean). Buffers exist only while
 * data is in flight and come from a pool shared by all connections, so an
 * idle connection costs only its struct.
 *
 * Input: bytes are parsed in place from the caller's read buffer; only the
 * tail of a frame split across reads is copied, into a pool buffer of
 * FRAME_HDR_LEN + max_frame bytes taken once the header has been checked
 * (so an oversize announcement is refused before anything is allocated).
 * Output: frames are appended to one contiguous queue per connection, so
 * many frames leave in one write(); past the bound the caller disconnects.
 *
 * Over TLS (conn_ssl set) the same queue goes through rtls_write (tls.h)
 * one record at a time; relay.c runs the handshake and the reads.
 */

#define CONN_OUT_CLASSES	11	/* output queues: 16 KiB << 0..10 */
#define CONN_OUT_MAX		(16u << 20)	/* hence the largest queue bound */

struct conn_pool {
	uint32_t	 cp_max_frame;	/* payload bytes, --max-frame */
	size_t		 cp_in_size;	/* FRAME_HDR_LEN + cp_max_frame */
	size_t		 cp_out_max;	/* bound on queued output per connection */
	void		*cp_in_free;	/* free lists, linked through the buffers */
	size_t		 cp_in_nfree;
	/* Output queues come in power-of-two sizes, one free list per size. */
	void		*cp_out_free[CONN_OUT_CLASSES];
	size_t		 cp_out_nfree[CONN_OUT_CLASSES];
	size_t		 cp_in_live;	/* buffers held by connections (tests, stats) */
	size_t		 cp_out_live;
};

/* The TLS side of a connection. */
enum conn_tls {
	CONN_TLS_NONE,		/* plaintext (--plaintext) */
	CONN_TLS_HANDSHAKE,	/* handshake not finished: no frame in or out yet */
	CONN_TLS_OPEN,		/* frames flow inside TLS */
};

enum conn_state {
	CONN_NEW,		/* accepted, not joined */
	CONN_JOINED,
	CONN_CLOSING,		/* marked; relay.c closes it at the end of the turn */
	CONN_DRAINING,		/* out of its room, writing its last frames, then closed */
};

struct addr_entry;
struct clc_room;
struct room;
struct conn;
struct ssl_st;

/* Links of one of relay.c's lists. */
struct conn_links {
	struct conn	*cl_prev;
	struct conn	*cl_next;
};

struct conn {
	int		 conn_fd;
	uint8_t		 conn_state;	/* enum conn_state */
	uint8_t		 conn_reason;	/* why it is closing (relay.c's enum) */
	uint8_t		 conn_hdr_len;	/* bytes of a split header in conn_hdr */
	uint8_t		 conn_want_out;	/* EV_WRITE registered, on relay.c's wait list */
	uint8_t		 conn_dirty;	/* on the relay's flush list */
	uint8_t		 conn_join_only; /* only a JOIN header is accepted (relay.c, pre-JOIN) */
	uint8_t		 conn_blocking;	/* queue past the soft bound: its room's senders wait */
	uint8_t		 conn_released;	/* blocked for the whole stall window: not again
					   until its queue is under the low-water mark */
	uint8_t		 conn_rd_off;	/* EV_READ removed: held back by a blocking reader */
	uint8_t		 conn_tls;	/* enum conn_tls */
	uint8_t		 conn_tls_want;	/* EV_READ or EV_WRITE: what a handshake or a
					   read inside TLS waits for (0: nothing) */
	uint8_t		 conn_pending;	/* on relay.c's list of input held inside libssl */
	uint8_t		 conn_cladmitted; /* cluster: admitted while closing (conn_clroom) */
	uint8_t		 conn_hdr[FRAME_HDR_LEN];
	uint16_t	 conn_member;
	uint32_t	 conn_in_len;	/* bytes of a split frame in conn_in */
	uint32_t	 conn_in_need;	/* its full size */
	uint8_t		*conn_in;
	uint8_t		*conn_out;
	uint32_t	 conn_out_off;	/* first unsent byte */
	uint32_t	 conn_out_len;	/* end of queued bytes */
	uint32_t	 conn_out_cap;
	uint32_t	 conn_out_mark;	/* a frame boundary (walked up to off lazily) */
	uint32_t	 conn_out_tls;	/* bytes from off on that a TLS write holds and
					   must be retried with (never dropped) */
	struct ssl_st	*conn_ssl;	/* the TLS connection, or NULL */
	struct room	*conn_room;
	struct clc_room	*conn_clroom;	/* cluster: the room of a JOIN its owner has not
					   answered (or of one admitted while closing) */
	uint64_t	 conn_stamp;	/* cluster: its admission (PROTOCOL.md 5.4) */
	struct addr_entry *conn_addr;	/* relay.c's count of its source address, or NULL */
	struct conn_links conn_time;	/* relay.c's timeout lists (new, live, drain) */
	struct conn_links conn_wait;	/* relay.c's wait list (output stuck) */
	struct conn_links conn_block;	/* relay.c's list of blocking readers */
	struct conn	*conn_link;	/* relay.c's flush list */
	struct conn	*conn_closelink; /* relay.c's close list */
	struct conn	*conn_pendlink;	/* relay.c's list of input held inside libssl */
	int64_t		 conn_seen_ms;	/* last whole frame (joined) or accept time */
	int64_t		 conn_wait_ms;	/* last write progress while output waits */
	int64_t		 conn_block_ms;	/* when it started blocking */
};

/*
 * Called for each whole, decoded frame. raw/rawlen are the frame's bytes,
 * valid only during the call. Return 0 to go on, or a negative value to stop
 * parsing (conn_feed then returns it).
 */
typedef int conn_frame_fn(void *arg, struct conn *c, const struct frame *f,
    const uint8_t *raw, size_t rawlen);

/*
 * Sets up a pool for payloads up to max_frame and output queues bounded by
 * out_max bytes (at least one largest frame, at most CONN_OUT_MAX minus
 * one ERROR frame). Returns 0 or VEIL_E_INVALID.
 */
int	conn_pool_init(struct conn_pool *p, uint32_t max_frame, size_t out_max) VEIL_WUR;
/* Frees the cached buffers (connections must have released theirs). */
void	conn_pool_free(struct conn_pool *p);

/* Initialises c for descriptor fd, state CONN_NEW, no buffers. */
void	conn_init(struct conn *c, int fd);
/* Returns c's buffers to the pool (c can then be freed). */
void	conn_release(struct conn_pool *p, struct conn *c);

/*
 * Parses n bytes of input: every complete frame goes to fn, a split tail is
 * kept. Returns 0; a proto_frame_header/decode error (the connection is
 * broken: VEIL_E_OVERSIZE for a header announcing more than max_frame, any
 * other code for a malformed frame); VEIL_E_ALLOC; or fn's return value.
 * While conn_join_only is set, a header is refused at once, before its
 * payload is waited for or a buffer taken: VEIL_E_STATE for any type but
 * FT_JOIN, VEIL_E_LENGTH for a JOIN not announcing ROOM_ID_LEN bytes.
 */
int	conn_feed(struct conn_pool *p, struct conn *c, const uint8_t *in, size_t n,
	    conn_frame_fn *fn, void *arg) VEIL_WUR;

/*
 * Appends one frame (header from the arguments, len payload bytes) to c's
 * output queue. No checks on the fields: the caller builds valid frames.
 * Returns 0, VEIL_E_LIMIT when it would pass the bound (nothing queued), or
 * VEIL_E_ALLOC.
 */
int	conn_queue(struct conn_pool *p, struct conn *c, uint8_t type, uint16_t src,
	    uint16_t dst, const uint8_t *payload, uint32_t len) VEIL_WUR;

/*
 * Queues ERROR(code) as the last frame c will get. With drop, the queued
 * frames not yet started are discarded first (a stalled reader); a frame
 * partly written, or partly handed to a TLS write that must be retried, is
 * kept whole so the stream stays in sync. Ignores the bound. Returns 0 or
 * VEIL_E_ALLOC.
 */
int	conn_queue_error(struct conn_pool *p, struct conn *c, uint8_t code, int drop) VEIL_WUR;

/* Bytes queued and not yet written. */
size_t	conn_queued(const struct conn *c);

/*
 * Writes as much of the queue as the socket takes (through TLS when
 * conn_ssl is set); releases the buffer once empty. Returns 0 (all
 * written), 1 (some left: wait for EV_WRITE) or VEIL_E_SYSTEM (the
 * connection is dead: errno from send, or a TLS failure).
 */
int	conn_flush(struct conn_pool *p, struct conn *c) VEIL_WUR;

#endif
