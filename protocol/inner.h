/* SPDX-License-Identifier: ISC */
#ifndef VEIL_INNER_H
#define VEIL_INNER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"

/*
 * The bodies of the inner kinds (PROTOCOL.md 2.3, "Inner kinds"): what a
 * DATA message carries once opened. keyd checks every body exactly on SEAL
 * and on OPEN; chatc gives them their meaning. All integers big-endian.
 */

enum inner_kind {
	IK_TEXT		= 1,	/* u64 stream || u32 seq || u8 flags || text */
	/* 2, 3: veil/1's REKEY_INIT / REKEY_RESP, refused (VEIL_E_TYPE) */
	IK_CLOSE	= 4,	/* empty; the sender ends the session */
	IK_ACK		= 5,	/* u64 stream || u32 upto */
	IK_PING		= 6,	/* u32 token: answer at once with a PONG */
	IK_PONG		= 7,	/* u32 token */
	IK_VIEW		= 8,	/* u8 n || n x id(32), ascending (memcmp), distinct */
};

#define INNER_TEXT_HDR_LEN	13	/* stream u64, seq u32, flags u8 */
#define INNER_BODY_MAX		(INNER_TEXT_HDR_LEN + MSG_MAX)	/* 4013 */
#define INNER_ACK_LEN		12
#define INNER_TOKEN_LEN		4
#define INNER_VIEW_MAX		64	/* ids in one VIEW (ROOM_SIZE_MAX) */
#define INNER_VIEW_LEN_MAX	(1 + INNER_VIEW_MAX * ED25519_PUB_LEN)	/* 2049 */

/* TEXT flags; every other bit must be 0. */
#define INNER_PRIVATE		0x01	/* /msg: sent to this peer only */
#define INNER_FIRST		0x02	/* every earlier seq was acknowledged (PROTOCOL.md 2.8) */
#define INNER_FLAGS_ALL		0x03

/* One inner message, parsed; which fields are used depends on in_kind. */
struct inner_msg {
	uint8_t		 in_kind;
	uint8_t		 in_flags;	/* TEXT */
	uint8_t		 in_nview;	/* VIEW: ids at in_view */
	uint32_t	 in_seq;	/* TEXT: seq; ACK: upto; PING, PONG: token */
	uint64_t	 in_stream;	/* TEXT, ACK */
	const uint8_t	*in_text;	/* TEXT: 1..MSG_MAX bytes */
	size_t		 in_textlen;
	const uint8_t	*in_view;	/* VIEW: in_nview x ED25519_PUB_LEN bytes */
};

/*
 * Checks one body of bodylen bytes against its kind, exactly: TEXT 14..4013
 * bytes (a text of 1..MSG_MAX), seq not 0, flags within INNER_FLAGS_ALL;
 * CLOSE empty; ACK 12; PING, PONG 4; VIEW 1 + 32n with 1 <= n <= 64, the ids
 * ascending and distinct. Errors: VEIL_E_TYPE (unknown kind, 2 and 3
 * included), VEIL_E_LENGTH (a size), VEIL_E_OVERSIZE (a text over MSG_MAX),
 * VEIL_E_INVALID (seq 0, a flag, n, order). On success *m (if not NULL)
 * holds the fields, pointing into body; on error it is zeroed.
 */
int	proto_inner_parse(uint8_t kind, const uint8_t *body, size_t bodylen,
	    struct inner_msg *m) VEIL_WUR;

/*
 * Appends the body of *m (by in_kind) to out, checked by the same rules
 * (it parses what it wrote); on any error nothing is left in out.
 */
int	proto_inner_build(struct vbuf *out, const struct inner_msg *m) VEIL_WUR;

/* 1 if chatc may ask keyd to seal this kind (TEXT, ACK, PING, PONG, VIEW), else 0. */
int	proto_inner_sealable(uint8_t kind);

#endif
