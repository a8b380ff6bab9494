/* SPDX-License-Identifier: ISC */
/*
 * Layer 1 of PROTOCOL.md: relay frames. Pure functions over byte buffers.
 * The order of checks is part of the contract (PROTOCOL.md 1.3): header
 * (truncated, version, type for the direction, oversize), then the payload
 * length against the input (truncated, trailing), then the per-type rules
 * (src/dst values, payload size, payload content).
 */
#include <string.h>

#include "err.h"
#include "frame.h"

/* A max_payload above the protocol's hard limit is treated as the limit. */
static uint32_t
frame_cap(uint32_t max_payload)
{
	return max_payload > FRAME_MAX_LIMIT ? FRAME_MAX_LIMIT : max_payload;
}

static int
frame_type_allowed(enum frame_dir dir, uint8_t type)
{
	if (dir == FRAME_TO_RELAY)
		return type == FT_JOIN || type == FT_DATA || type == FT_PING;
	if (dir == FRAME_TO_CLIENT)
		return type == FT_WELCOME || type == FT_JOINED ||
		    type == FT_LEFT || type == FT_DATA || type == FT_PONG ||
		    type == FT_ERROR;
	return 0;
}

static int
frame_member_id(uint16_t id)
{
	return id != MEMBER_NONE && id <= MEMBER_MAX;
}

static int
frame_dst_id(uint16_t id)
{
	return frame_member_id(id) || id == MEMBER_BCAST;
}

/*
 * WELCOME payload: u16 n || n x u16 id, exactly 2 + 2n bytes, n at most
 * ROOM_SIZE_MAX - 1 (everyone but the newcomer). Ids are 1..MEMBER_MAX,
 * distinct, and never the newcomer's own id (self).
 */
static int
frame_welcome_check(const uint8_t *p, uint32_t len, uint16_t self)
{
	uint16_t n, id;
	size_t i, j;

	if (len < 2)
		return VEIL_E_LENGTH;
	n = veil_get16(p);
	if (n > ROOM_SIZE_MAX - 1 || len != 2 + 2 * (uint32_t)n)
		return VEIL_E_LENGTH;
	for (i = 0; i < n; i++) {
		id = veil_get16(p + 2 + 2 * i);
		if (!frame_member_id(id) || id == self)
			return VEIL_E_INVALID;
		for (j = 0; j < i; j++)
			if (veil_get16(p + 2 + 2 * j) == id)
				return VEIL_E_INVALID;
	}
	return 0;
}

/* The per-type rules of PROTOCOL.md 1.2 on a header whose payload is present. */
static int
frame_rules(enum frame_dir dir, const struct frame *f)
{
	int empty_src = f->fr_src == MEMBER_NONE;
	int empty_dst = f->fr_dst == MEMBER_NONE;

	if (!frame_type_allowed(dir, f->fr_type))
		return VEIL_E_TYPE;
	if (f->fr_len > FRAME_MAX_LIMIT)
		return VEIL_E_OVERSIZE;
	if (f->fr_len > 0 && f->fr_payload == NULL)
		return VEIL_E_INVALID;

	switch (f->fr_type) {
	case FT_JOIN:
		if (!empty_src || !empty_dst)
			return VEIL_E_INVALID;
		return f->fr_len == ROOM_ID_LEN ? 0 : VEIL_E_LENGTH;
	case FT_PING:
	case FT_PONG:
		if (!empty_src || !empty_dst)
			return VEIL_E_INVALID;
		return f->fr_len == 0 ? 0 : VEIL_E_LENGTH;
	case FT_WELCOME:
		if (!empty_src || !frame_member_id(f->fr_dst))
			return VEIL_E_INVALID;
		return frame_welcome_check(f->fr_payload, f->fr_len, f->fr_dst);
	case FT_JOINED:
	case FT_LEFT:
		if (!frame_member_id(f->fr_src) || !empty_dst)
			return VEIL_E_INVALID;
		return f->fr_len == 0 ? 0 : VEIL_E_LENGTH;
	case FT_DATA:
		/* From a client src is 0 (the relay fills it in); to a client it names the sender. */
		if (dir == FRAME_TO_RELAY ? !empty_src : !frame_member_id(f->fr_src))
			return VEIL_E_INVALID;
		if (!frame_dst_id(f->fr_dst))
			return VEIL_E_INVALID;
		return f->fr_len >= 1 ? 0 : VEIL_E_LENGTH;
	case FT_ERROR:
		if (!empty_src || !empty_dst)
			return VEIL_E_INVALID;
		if (f->fr_len != 1)
			return VEIL_E_LENGTH;
		return f->fr_payload[0] >= FE_MALFORMED &&
		    f->fr_payload[0] <= FE_UNAVAILABLE ? 0 : VEIL_E_INVALID;
	}
	return VEIL_E_TYPE;
}

int
proto_frame_header(const uint8_t *p, size_t n, enum frame_dir dir,
    uint32_t max_payload, struct frame *f)
{
	uint32_t len;

	memset(f, 0, sizeof(*f));
	if (p == NULL || n < FRAME_HDR_LEN)
		return VEIL_E_TRUNCATED;
	if (p[0] != PROTO_VERSION)
		return VEIL_E_VERSION;
	if (!frame_type_allowed(dir, p[1]))
		return VEIL_E_TYPE;
	len = veil_get32(p + 6);
	if (len > frame_cap(max_payload))
		return VEIL_E_OVERSIZE;
	f->fr_type = p[1];
	f->fr_src = veil_get16(p + 2);
	f->fr_dst = veil_get16(p + 4);
	f->fr_len = len;
	return 0;
}

int
proto_frame_decode(const uint8_t *p, size_t n, enum frame_dir dir,
    uint32_t max_payload, struct frame *f)
{
	int r;

	if ((r = proto_frame_header(p, n, dir, max_payload, f)) != 0)
		return r;
	/* n >= FRAME_HDR_LEN here, so the subtraction cannot wrap. */
	if (n - FRAME_HDR_LEN < f->fr_len) {
		r = VEIL_E_TRUNCATED;
		goto fail;
	}
	if (n - FRAME_HDR_LEN > f->fr_len) {
		r = VEIL_E_TRAILING;
		goto fail;
	}
	f->fr_payload = p + FRAME_HDR_LEN;
	if ((r = frame_rules(dir, f)) != 0)
		goto fail;
	return 0;
 fail:
	memset(f, 0, sizeof(*f));
	return r;
}

int
proto_frame_encode(struct vbuf *out, enum frame_dir dir, const struct frame *f)
{
	uint8_t *w;
	int r;

	if ((r = frame_rules(dir, f)) != 0)
		return r;
	/* Reserve the whole frame first: on NOSPACE nothing is written. */
	if ((r = vbuf_reserve(out, &w, FRAME_HDR_LEN + (size_t)f->fr_len)) != 0)
		return r;
	w[0] = PROTO_VERSION;
	w[1] = f->fr_type;
	veil_put16(w + 2, f->fr_src);
	veil_put16(w + 4, f->fr_dst);
	veil_put32(w + 6, f->fr_len);
	if (f->fr_len > 0)
		memcpy(w + FRAME_HDR_LEN, f->fr_payload, f->fr_len);
	return 0;
}

int
proto_welcome_members(const struct frame *f, uint16_t *ids, size_t max, size_t *n)
{
	uint16_t count;
	size_t i;
	int r;

	*n = 0;
	if (f->fr_type != FT_WELCOME)
		return VEIL_E_TYPE;
	if (f->fr_len > 0 && f->fr_payload == NULL)
		return VEIL_E_LENGTH;
	if ((r = frame_welcome_check(f->fr_payload, f->fr_len, f->fr_dst)) != 0)
		return r;
	count = veil_get16(f->fr_payload);
	if (count > max)
		return VEIL_E_NOSPACE;
	for (i = 0; i < count; i++)
		ids[i] = veil_get16(f->fr_payload + 2 + 2 * i);
	*n = count;
	return 0;
}

const char *
proto_frame_strerror(uint8_t code)
{
	switch (code) {
	case FE_MALFORMED:	return "malformed frame";
	case FE_OVERSIZE:	return "frame larger than the relay allows";
	case FE_ROOM_FULL:	return "room is full";
	case FE_SERVER_FULL:	return "relay is full";
	case FE_TIMEOUT:	return "timed out";
	case FE_NOT_JOINED:	return "not joined to a room";
	case FE_REJOIN:		return "already joined a room";
	case FE_SLOW:		return "reader too slow; write queue full";
	case FE_SHUTDOWN:	return "relay is shutting down";
	case FE_UNAVAILABLE:	return "relay cut off from its cluster";
	}
	return "unknown relay error";
}
