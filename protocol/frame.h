/* SPDX-License-Identifier: ISC */
#ifndef VEIL_FRAME_H
#define VEIL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Layer 1 of PROTOCOL.md: relay frames (client <-> relayd). */

#define PROTO_VERSION		1
#define FRAME_HDR_LEN		10	/* ver u8, type u8, src u16, dst u16, len u32 */
#define FRAME_MAX_DEFAULT	16384	/* default --max-frame (payload bytes) */
#define FRAME_MAX_LIMIT		65536	/* no --max-frame may exceed this */
#define FRAME_MIN_LIMIT		4608	/* nor go below what a full data message needs */
#define ROOM_ID_LEN		32
#define ROOM_SIZE_DEFAULT	16
#define ROOM_SIZE_MAX		64	/* hard limit on --room-size */
#define MEMBER_NONE		0x0000	/* "the relay" / unused field */
#define MEMBER_BCAST		0xffff	/* dst: every other member of the room */
#define MEMBER_MAX		0xfffe	/* highest assignable member id */
#define KEEPALIVE_SEC		15	/* client sends PING at least this often */
#define KEEPALIVE_MISSES	3	/* relay closes a member silent this many intervals */

enum frame_type {
	FT_JOIN		= 1,	/* c->r: payload = room id (32) */
	FT_WELCOME	= 2,	/* r->c: dst = your id; payload = u16 n, n x u16 member ids */
	FT_JOINED	= 3,	/* r->c: src = the member who joined; empty */
	FT_LEFT		= 4,	/* r->c: src = the member who left; empty */
	FT_DATA		= 5,	/* both: opaque payload, dst = member or MEMBER_BCAST */
	FT_PING		= 6,	/* c->r: empty */
	FT_PONG		= 7,	/* r->c: empty */
	FT_ERROR	= 8,	/* r->c: payload = u8 error code; the relay then closes */
};

enum frame_error {
	FE_MALFORMED	= 1,	/* a frame broke PROTOCOL.md */
	FE_OVERSIZE	= 2,	/* payload over --max-frame */
	FE_ROOM_FULL	= 3,	/* room already has --room-size members */
	FE_SERVER_FULL	= 4,	/* relay already has --max-clients connections */
	FE_TIMEOUT	= 5,	/* no JOIN within --idle-timeout, or keepalives missed */
	FE_NOT_JOINED	= 6,	/* DATA or PING before JOIN */
	FE_REJOIN	= 7,	/* a second JOIN on one connection */
	FE_SLOW		= 8,	/* write queue passed its bound */
	FE_SHUTDOWN	= 9,	/* relay is shutting down */
	FE_UNAVAILABLE	= 10,	/* relay cut off from its cluster: join through another */
};

enum frame_dir {
	FRAME_TO_RELAY,		/* what relayd accepts from a client */
	FRAME_TO_CLIENT,	/* what a client accepts from relayd */
};

struct frame {
	uint8_t		 fr_type;
	uint16_t	 fr_src;
	uint16_t	 fr_dst;
	uint32_t	 fr_len;	/* payload length */
	const uint8_t	*fr_payload;	/* points into the decoded input */
};

/*
 * Parses only the 10-byte header at p (n >= FRAME_HDR_LEN needed, else
 * VEIL_E_TRUNCATED) and checks version, type for this direction, and
 * fr_len <= max_payload (VEIL_E_OVERSIZE; a max_payload above FRAME_MAX_LIMIT
 * counts as FRAME_MAX_LIMIT). Lets a stream reader learn how many bytes to
 * wait for before anything is allocated. fr_payload is left NULL.
 */
int	proto_frame_header(const uint8_t *p, size_t n, enum frame_dir dir,
	    uint32_t max_payload, struct frame *f) VEIL_WUR;

/*
 * Decodes exactly one whole frame of n bytes: the header as above, then the
 * per-type rules of PROTOCOL.md (fixed payload sizes, which src/dst values
 * are allowed). Bytes past the announced length give VEIL_E_TRAILING.
 * On error *f is zeroed.
 */
int	proto_frame_decode(const uint8_t *p, size_t n, enum frame_dir dir,
	    uint32_t max_payload, struct frame *f) VEIL_WUR;

/* Encodes header + payload. Checks the same per-type rules as decode. */
int	proto_frame_encode(struct vbuf *out, enum frame_dir dir,
	    const struct frame *f) VEIL_WUR;

/*
 * Reads the member ids out of a decoded FT_WELCOME payload into ids (at most
 * max of them) and sets *n. VEIL_E_LENGTH when the payload is inconsistent,
 * VEIL_E_INVALID for a bad id, VEIL_E_TYPE if f is not a WELCOME,
 * VEIL_E_NOSPACE (and *n = 0) when there are more than max ids.
 */
int	proto_welcome_members(const struct frame *f, uint16_t *ids, size_t max,
	    size_t *n) VEIL_WUR;

/* Human-readable text for an enum frame_error code. Never NULL. */
const char *proto_frame_strerror(uint8_t code);

#endif
