/* SPDX-License-Identifier: ISC */
/*
 * Relay frames (PROTOCOL.md section 1): round trips with the exact bytes,
 * every proper prefix truncated, oversize, trailing, version, type per
 * direction, and the per-type src/dst/length/content rules.
 */
#include <string.h>

#include <check.h>

#include "e2e.h"
#include "err.h"
#include "frame.h"
#include "unit.h"

#define MAXP	FRAME_MAX_DEFAULT

static uint8_t room[ROOM_ID_LEN];

/* Header with any version and length, then pllen payload bytes. */
static size_t
raw(uint8_t *out, uint8_t ver, uint8_t type, uint16_t src, uint16_t dst,
    uint32_t len, const uint8_t *pl, size_t pllen)
{
	out[0] = ver;
	out[1] = type;
	veil_put16(out + 2, src);
	veil_put16(out + 4, dst);
	veil_put32(out + 6, len);
	if (pllen > 0)
		memcpy(out + FRAME_HDR_LEN, pl, pllen);
	return FRAME_HDR_LEN + pllen;
}

/* A well-formed version 1 frame whose len matches its payload. */
static size_t
mk(uint8_t *out, uint8_t type, uint16_t src, uint16_t dst, const uint8_t *pl,
    size_t pllen)
{
	return raw(out, PROTO_VERSION, type, src, dst, (uint32_t)pllen, pl, pllen);
}

static int
dec(const uint8_t *p, size_t n, enum frame_dir dir)
{
	struct frame f;

	return proto_frame_decode(p, n, dir, MAXP, &f);
}

/* Encodes f, compares with the expected hex, decodes it back, compares fields. */
static void
roundtrip(enum frame_dir dir, const struct frame *f, const char *hex)
{
	uint8_t out[FRAME_HDR_LEN + 256], want[FRAME_HDR_LEN + 256];
	struct frame g;
	struct vbuf w;
	size_t n;

	n = unit_hex(hex, want, sizeof(want));
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, dir, f), 0);
	ck_assert_uint_eq(w.vb_len, n);
	ck_assert_str_eq(unit_tohex(out, n), unit_tohex(want, n));
	ck_assert_int_eq(proto_frame_decode(out, n, dir, MAXP, &g), 0);
	ck_assert_uint_eq(g.fr_type, f->fr_type);
	ck_assert_uint_eq(g.fr_src, f->fr_src);
	ck_assert_uint_eq(g.fr_dst, f->fr_dst);
	ck_assert_uint_eq(g.fr_len, f->fr_len);
	if (f->fr_len > 0) {
		ck_assert_ptr_eq(g.fr_payload, out + FRAME_HDR_LEN);
		ck_assert_mem_eq(g.fr_payload, f->fr_payload, f->fr_len);
	}
}

/* Every proper prefix of a valid frame is refused as truncated. */
static void
all_prefixes_truncated(const uint8_t *p, size_t n, enum frame_dir dir)
{
	struct frame f;
	size_t k;

	ck_assert_int_eq(proto_frame_decode(p, n, dir, MAXP, &f), 0);
	for (k = 0; k < n; k++) {
		ck_assert_msg(proto_frame_decode(p, k, dir, MAXP, &f) == VEIL_E_TRUNCATED,
		    "prefix of %zu bytes not truncated", k);
		ck_assert_uint_eq(f.fr_type, 0);
	}
}

/* One byte past the announced length is refused as trailing. */
static void
trailing(uint8_t *p, size_t n, enum frame_dir dir)
{
	ck_assert_int_eq(dec(p, n, dir), 0);
	p[n] = 0;
	ck_assert_int_eq(dec(p, n + 1, dir), VEIL_E_TRAILING);
}

/* ---- round trips ------------------------------------------------------ */

START_TEST(join_roundtrip)
{
	struct frame f = { FT_JOIN, 0, 0, ROOM_ID_LEN, room };

	roundtrip(FRAME_TO_RELAY, &f, "01 01 0000 0000 00000020"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
}
END_TEST

START_TEST(data_to_relay_roundtrip)
{
	static const uint8_t pl[3] = { 0xaa, 0xbb, 0xcc };
	struct frame f = { FT_DATA, 0, 7, 3, pl };

	roundtrip(FRAME_TO_RELAY, &f, "01 05 0000 0007 00000003 aabbcc");
}
END_TEST

START_TEST(data_to_relay_broadcast)
{
	static const uint8_t pl[1] = { 0x42 };
	struct frame f = { FT_DATA, 0, MEMBER_BCAST, 1, pl };

	roundtrip(FRAME_TO_RELAY, &f, "01 05 0000 ffff 00000001 42");
}
END_TEST

START_TEST(data_to_relay_dst_max)
{
	static const uint8_t pl[1] = { 0x42 };
	struct frame f = { FT_DATA, 0, MEMBER_MAX, 1, pl };

	roundtrip(FRAME_TO_RELAY, &f, "01 05 0000 fffe 00000001 42");
}
END_TEST

START_TEST(ping_roundtrip)
{
	struct frame f = { FT_PING, 0, 0, 0, NULL };

	roundtrip(FRAME_TO_RELAY, &f, "01 06 0000 0000 00000000");
}
END_TEST

START_TEST(welcome_roundtrip)
{
	static const uint8_t pl[] = { 0, 2, 0, 1, 0, 3 };
	struct frame f = { FT_WELCOME, 0, 4, sizeof(pl), pl };

	roundtrip(FRAME_TO_CLIENT, &f, "01 02 0000 0004 00000006 0002 0001 0003");
}
END_TEST

START_TEST(welcome_empty_room)
{
	static const uint8_t pl[] = { 0, 0 };
	struct frame f = { FT_WELCOME, 0, 1, sizeof(pl), pl };

	roundtrip(FRAME_TO_CLIENT, &f, "01 02 0000 0001 00000002 0000");
}
END_TEST

START_TEST(welcome_full_room)
{
	uint8_t pl[2 + 2 * (ROOM_SIZE_MAX - 1)], out[256];
	uint16_t ids[ROOM_SIZE_MAX];
	struct frame f = { FT_WELCOME, 0, 100, sizeof(pl), pl }, g;
	struct vbuf w;
	size_t i, n;

	veil_put16(pl, ROOM_SIZE_MAX - 1);
	for (i = 0; i < ROOM_SIZE_MAX - 1; i++)
		veil_put16(pl + 2 + 2 * i, (uint16_t)(i + 1));
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_CLIENT, &f), 0);
	ck_assert_int_eq(proto_frame_decode(out, w.vb_len, FRAME_TO_CLIENT, MAXP, &g), 0);
	ck_assert_int_eq(proto_welcome_members(&g, ids, ROOM_SIZE_MAX, &n), 0);
	ck_assert_uint_eq(n, ROOM_SIZE_MAX - 1);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(ids[i], i + 1);
}
END_TEST

START_TEST(joined_roundtrip)
{
	struct frame f = { FT_JOINED, 9, 0, 0, NULL };

	roundtrip(FRAME_TO_CLIENT, &f, "01 03 0009 0000 00000000");
}
END_TEST

START_TEST(left_roundtrip)
{
	struct frame f = { FT_LEFT, MEMBER_MAX, 0, 0, NULL };

	roundtrip(FRAME_TO_CLIENT, &f, "01 04 fffe 0000 00000000");
}
END_TEST

START_TEST(data_to_client_roundtrip)
{
	static const uint8_t pl[2] = { 0x01, 0x10 };
	struct frame f = { FT_DATA, 3, 5, 2, pl };

	roundtrip(FRAME_TO_CLIENT, &f, "01 05 0003 0005 00000002 0110");
}
END_TEST

START_TEST(data_to_client_broadcast)
{
	static const uint8_t pl[2] = { 0x01, 0x10 };
	struct frame f = { FT_DATA, 3, MEMBER_BCAST, 2, pl };

	roundtrip(FRAME_TO_CLIENT, &f, "01 05 0003 ffff 00000002 0110");
}
END_TEST

START_TEST(pong_roundtrip)
{
	struct frame f = { FT_PONG, 0, 0, 0, NULL };

	roundtrip(FRAME_TO_CLIENT, &f, "01 07 0000 0000 00000000");
}
END_TEST

START_TEST(error_roundtrip_every_code)
{
	uint8_t code, want[FRAME_HDR_LEN + 1], out[32];
	struct frame f = { FT_ERROR, 0, 0, 1, &code }, g;
	struct vbuf w;

	for (code = FE_MALFORMED; code <= FE_UNAVAILABLE; code++) {
		vbuf_writer(&w, out, sizeof(out));
		ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_CLIENT, &f), 0);
		mk(want, FT_ERROR, 0, 0, &code, 1);
		ck_assert_uint_eq(w.vb_len, sizeof(want));
		ck_assert_mem_eq(out, want, sizeof(want));
		ck_assert_int_eq(proto_frame_decode(out, w.vb_len, FRAME_TO_CLIENT, MAXP, &g), 0);
		ck_assert_uint_eq(g.fr_payload[0], code);
	}
}
END_TEST

START_TEST(data_max_payload_exact)
{
	static uint8_t buf[FRAME_HDR_LEN + FRAME_MIN_LIMIT + 1];
	static uint8_t pl[FRAME_MIN_LIMIT];
	struct frame f;
	size_t n;

	memset(pl, 0x5a, sizeof(pl));
	n = mk(buf, FT_DATA, 0, 2, pl, sizeof(pl));
	ck_assert_int_eq(proto_frame_decode(buf, n, FRAME_TO_RELAY, FRAME_MIN_LIMIT, &f), 0);
	ck_assert_uint_eq(f.fr_len, FRAME_MIN_LIMIT);
	n = mk(buf, FT_DATA, 0, 2, pl, sizeof(pl) - 1);
	ck_assert_int_eq(proto_frame_decode(buf, n, FRAME_TO_RELAY, FRAME_MIN_LIMIT - 1, &f), 0);
}
END_TEST

/* ---- truncated: every proper prefix, per type ------------------------- */

START_TEST(join_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_JOIN, 0, 0, room, ROOM_ID_LEN), FRAME_TO_RELAY);
}
END_TEST

START_TEST(data_to_relay_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_DATA, 0, 2, room, 20), FRAME_TO_RELAY);
}
END_TEST

START_TEST(ping_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_PING, 0, 0, NULL, 0), FRAME_TO_RELAY);
}
END_TEST

START_TEST(welcome_truncated)
{
	static const uint8_t pl[] = { 0, 3, 0, 1, 0, 2, 0, 3 };
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_WELCOME, 0, 4, pl, sizeof(pl)), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(joined_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_JOINED, 2, 0, NULL, 0), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(left_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_LEFT, 2, 0, NULL, 0), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(data_to_client_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_DATA, 2, MEMBER_BCAST, room, 32), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(pong_truncated)
{
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_PONG, 0, 0, NULL, 0), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(error_truncated)
{
	static const uint8_t code = FE_ROOM_FULL;
	uint8_t b[64];

	all_prefixes_truncated(b, mk(b, FT_ERROR, 0, 0, &code, 1), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(null_input_truncated)
{
	struct frame f;

	ck_assert_int_eq(proto_frame_decode(NULL, 0, FRAME_TO_RELAY, MAXP, &f), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_frame_header(NULL, 10, FRAME_TO_RELAY, MAXP, &f), VEIL_E_TRUNCATED);
}
END_TEST

/* ---- trailing ---------------------------------------------------------- */

START_TEST(join_trailing)
{
	uint8_t b[64];

	trailing(b, mk(b, FT_JOIN, 0, 0, room, ROOM_ID_LEN), FRAME_TO_RELAY);
}
END_TEST

START_TEST(data_trailing)
{
	uint8_t b[64];

	trailing(b, mk(b, FT_DATA, 0, 1, room, 5), FRAME_TO_RELAY);
}
END_TEST

START_TEST(ping_trailing)
{
	uint8_t b[64];

	trailing(b, mk(b, FT_PING, 0, 0, NULL, 0), FRAME_TO_RELAY);
}
END_TEST

START_TEST(welcome_trailing)
{
	static const uint8_t pl[] = { 0, 1, 0, 1 };
	uint8_t b[64];

	trailing(b, mk(b, FT_WELCOME, 0, 2, pl, sizeof(pl)), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(error_trailing)
{
	static const uint8_t code = FE_SLOW;
	uint8_t b[64];

	trailing(b, mk(b, FT_ERROR, 0, 0, &code, 1), FRAME_TO_CLIENT);
}
END_TEST

START_TEST(pong_trailing)
{
	uint8_t b[64];

	trailing(b, mk(b, FT_PONG, 0, 0, NULL, 0), FRAME_TO_CLIENT);
}
END_TEST

/* ---- oversize, per type: decided from the header, before the payload ---- */

static void
oversize(uint8_t type, uint16_t src, uint16_t dst, enum frame_dir dir)
{
	static uint8_t b[FRAME_HDR_LEN + 4096 + 1];
	struct frame f;

	/* Header alone, the whole frame present, and a tiny max_payload. */
	raw(b, PROTO_VERSION, type, src, dst, 4096 + 1, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, FRAME_HDR_LEN, dir, 4096, &f), VEIL_E_OVERSIZE);
	ck_assert_int_eq(proto_frame_decode(b, sizeof(b), dir, 4096, &f), VEIL_E_OVERSIZE);
	raw(b, PROTO_VERSION, type, src, dst, 1, NULL, 0);
	ck_assert_int_eq(proto_frame_decode(b, FRAME_HDR_LEN + 1, dir, 0, &f), VEIL_E_OVERSIZE);
}

START_TEST(join_oversize) { oversize(FT_JOIN, 0, 0, FRAME_TO_RELAY); } END_TEST
START_TEST(ping_oversize) { oversize(FT_PING, 0, 0, FRAME_TO_RELAY); } END_TEST
START_TEST(welcome_oversize) { oversize(FT_WELCOME, 0, 2, FRAME_TO_CLIENT); } END_TEST
START_TEST(joined_oversize) { oversize(FT_JOINED, 2, 0, FRAME_TO_CLIENT); } END_TEST
START_TEST(left_oversize) { oversize(FT_LEFT, 2, 0, FRAME_TO_CLIENT); } END_TEST
START_TEST(data_to_client_oversize) { oversize(FT_DATA, 2, 3, FRAME_TO_CLIENT); } END_TEST
START_TEST(pong_oversize) { oversize(FT_PONG, 0, 0, FRAME_TO_CLIENT); } END_TEST
START_TEST(error_oversize) { oversize(FT_ERROR, 0, 0, FRAME_TO_CLIENT); } END_TEST

/* ---- header: version, type, oversize ----------------------------------- */

START_TEST(header_exact)
{
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, PROTO_VERSION, FT_DATA, 0, 9, 1000, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f), 0);
	ck_assert_uint_eq(f.fr_type, FT_DATA);
	ck_assert_uint_eq(f.fr_dst, 9);
	ck_assert_uint_eq(f.fr_len, 1000);
	ck_assert_ptr_null(f.fr_payload);
	/* The whole frame is not there yet: decode says so. */
	ck_assert_int_eq(proto_frame_decode(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(header_truncated)
{
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;
	size_t k;

	raw(b, PROTO_VERSION, FT_PING, 0, 0, 0, NULL, 0);
	for (k = 0; k < FRAME_HDR_LEN; k++)
		ck_assert_int_eq(proto_frame_header(b, k, FRAME_TO_RELAY, MAXP, &f),
		    VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(header_oversize)
{
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, PROTO_VERSION, FT_DATA, 0, 2, MAXP + 1, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_OVERSIZE);
	ck_assert_uint_eq(f.fr_len, 0);
	raw(b, PROTO_VERSION, FT_DATA, 0, 2, MAXP, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f), 0);
}
END_TEST

START_TEST(oversize_before_payload)
{
	/* Only the header has arrived; a huge length is refused before waiting for it. */
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, PROTO_VERSION, FT_DATA, 0, 2, 0xffffffffu, NULL, 0);
	ck_assert_int_eq(proto_frame_decode(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_OVERSIZE);
	raw(b, PROTO_VERSION, FT_JOIN, 0, 0, 0x10000000u, NULL, 0);
	ck_assert_int_eq(proto_frame_decode(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(oversize_hard_limit)
{
	/* A max_payload above FRAME_MAX_LIMIT is clamped to it. */
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, PROTO_VERSION, FT_DATA, 3, 2, FRAME_MAX_LIMIT + 1, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_CLIENT, 0xffffffffu, &f),
	    VEIL_E_OVERSIZE);
	raw(b, PROTO_VERSION, FT_DATA, 3, 2, FRAME_MAX_LIMIT, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_CLIENT, 0xffffffffu, &f), 0);
}
END_TEST

START_TEST(data_oversize)
{
	static uint8_t b[FRAME_HDR_LEN + FRAME_MIN_LIMIT + 1];
	static uint8_t pl[FRAME_MIN_LIMIT + 1];
	struct frame f;
	size_t n;

	n = mk(b, FT_DATA, 0, 2, pl, sizeof(pl));
	ck_assert_int_eq(proto_frame_decode(b, n, FRAME_TO_RELAY, FRAME_MIN_LIMIT, &f),
	    VEIL_E_OVERSIZE);
	n = mk(b, FT_DATA, 4, 2, pl, sizeof(pl));
	ck_assert_int_eq(proto_frame_decode(b, n, FRAME_TO_CLIENT, FRAME_MIN_LIMIT, &f),
	    VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(bad_version)
{
	static const uint8_t vers[] = { 0, 2, 0x10, 0x81, 0xff };
	uint8_t b[64];
	size_t i, n;

	for (i = 0; i < sizeof(vers); i++) {
		n = raw(b, vers[i], FT_PING, 0, 0, 0, NULL, 0);
		ck_assert_int_eq(dec(b, n, FRAME_TO_RELAY), VEIL_E_VERSION);
		n = raw(b, vers[i], FT_PONG, 0, 0, 0, NULL, 0);
		ck_assert_int_eq(dec(b, n, FRAME_TO_CLIENT), VEIL_E_VERSION);
	}
}
END_TEST

START_TEST(bad_version_before_type_and_size)
{
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, 2, 0xee, 0, 0, 0xffffffffu, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_VERSION);
}
END_TEST

START_TEST(bad_type)
{
	static const uint8_t types[] = { 0, 9, 0x10, 0x7f, 0x80, 0xff };
	uint8_t b[64];
	size_t i, n;

	for (i = 0; i < sizeof(types); i++) {
		n = mk(b, types[i], 0, 0, NULL, 0);
		ck_assert_int_eq(dec(b, n, FRAME_TO_RELAY), VEIL_E_TYPE);
		ck_assert_int_eq(dec(b, n, FRAME_TO_CLIENT), VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(bad_type_before_size)
{
	uint8_t b[FRAME_HDR_LEN];
	struct frame f;

	raw(b, PROTO_VERSION, 0x33, 0, 0, 0xffffffffu, NULL, 0);
	ck_assert_int_eq(proto_frame_header(b, sizeof(b), FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_TYPE);
}
END_TEST

START_TEST(direction_to_relay)
{
	/* What only the relay sends is refused when a client sends it. */
	static const uint8_t types[] = { FT_WELCOME, FT_JOINED, FT_LEFT, FT_PONG, FT_ERROR };
	uint8_t b[64], hdr[FRAME_HDR_LEN];
	struct frame f;
	size_t i, n;

	for (i = 0; i < sizeof(types); i++) {
		n = mk(b, types[i], 0, 0, NULL, 0);
		ck_assert_int_eq(dec(b, n, FRAME_TO_RELAY), VEIL_E_TYPE);
		raw(hdr, PROTO_VERSION, types[i], 0, 0, 0, NULL, 0);
		ck_assert_int_eq(proto_frame_header(hdr, sizeof(hdr), FRAME_TO_RELAY, MAXP, &f),
		    VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(direction_to_client)
{
	uint8_t b[64];
	size_t n;

	n = mk(b, FT_JOIN, 0, 0, room, ROOM_ID_LEN);
	ck_assert_int_eq(dec(b, n, FRAME_TO_CLIENT), VEIL_E_TYPE);
	n = mk(b, FT_PING, 0, 0, NULL, 0);
	ck_assert_int_eq(dec(b, n, FRAME_TO_CLIENT), VEIL_E_TYPE);
}
END_TEST

START_TEST(direction_unknown)
{
	uint8_t b[64];
	size_t n;

	n = mk(b, FT_DATA, 0, 2, room, 4);
	ck_assert_int_eq(dec(b, n, (enum frame_dir)7), VEIL_E_TYPE);
}
END_TEST

/* ---- per-type rules: to the relay -------------------------------------- */

START_TEST(join_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOIN, 1, 0, room, ROOM_ID_LEN), FRAME_TO_RELAY),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(join_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOIN, 0, MEMBER_BCAST, room, ROOM_ID_LEN),
	    FRAME_TO_RELAY), VEIL_E_INVALID);
}
END_TEST

START_TEST(join_short)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOIN, 0, 0, room, ROOM_ID_LEN - 1), FRAME_TO_RELAY),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, FT_JOIN, 0, 0, NULL, 0), FRAME_TO_RELAY),
	    VEIL_E_LENGTH);
}
END_TEST

START_TEST(join_long)
{
	uint8_t b[64], pl[ROOM_ID_LEN + 1] = { 0 };

	ck_assert_int_eq(dec(b, mk(b, FT_JOIN, 0, 0, pl, sizeof(pl)), FRAME_TO_RELAY),
	    VEIL_E_LENGTH);
}
END_TEST

START_TEST(ping_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_PING, 5, 0, NULL, 0), FRAME_TO_RELAY), VEIL_E_INVALID);
}
END_TEST

START_TEST(ping_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_PING, 0, 5, NULL, 0), FRAME_TO_RELAY), VEIL_E_INVALID);
}
END_TEST

START_TEST(ping_payload)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_PING, 0, 0, room, 1), FRAME_TO_RELAY), VEIL_E_LENGTH);
}
END_TEST

START_TEST(data_to_relay_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 1, 2, room, 4), FRAME_TO_RELAY), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_DATA, MEMBER_BCAST, 2, room, 4), FRAME_TO_RELAY),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(data_to_relay_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 0, MEMBER_NONE, room, 4), FRAME_TO_RELAY),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(data_to_relay_empty)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 0, 2, NULL, 0), FRAME_TO_RELAY), VEIL_E_LENGTH);
}
END_TEST

/* ---- per-type rules: to the client ------------------------------------- */

START_TEST(welcome_bad_src)
{
	static const uint8_t pl[] = { 0, 0 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 1, 2, pl, 2), FRAME_TO_CLIENT), VEIL_E_INVALID);
}
END_TEST

START_TEST(welcome_bad_dst)
{
	static const uint8_t pl[] = { 0, 0 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, MEMBER_NONE, pl, 2), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, MEMBER_BCAST, pl, 2), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(welcome_short)
{
	static const uint8_t pl[] = { 0 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, pl, 1), FRAME_TO_CLIENT), VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, NULL, 0), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(welcome_count_mismatch)
{
	static const uint8_t more[] = { 0, 2, 0, 1 };		/* says 2, has 1 */
	static const uint8_t fewer[] = { 0, 1, 0, 1, 0, 3 };	/* says 1, has 2 */
	static const uint8_t odd[] = { 0, 1, 0, 1, 0 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, more, sizeof(more)), FRAME_TO_CLIENT),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, fewer, sizeof(fewer)), FRAME_TO_CLIENT),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, odd, sizeof(odd)), FRAME_TO_CLIENT),
	    VEIL_E_LENGTH);
}
END_TEST

START_TEST(welcome_too_many)
{
	uint8_t pl[2 + 2 * ROOM_SIZE_MAX], b[256];
	size_t i;

	veil_put16(pl, ROOM_SIZE_MAX);
	for (i = 0; i < ROOM_SIZE_MAX; i++)
		veil_put16(pl + 2 + 2 * i, (uint16_t)(i + 1));
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 200, pl, sizeof(pl)), FRAME_TO_CLIENT),
	    VEIL_E_LENGTH);
}
END_TEST

START_TEST(welcome_bad_member)
{
	static const uint8_t zero[] = { 0, 2, 0, 1, 0, 0 };
	static const uint8_t bcast[] = { 0, 1, 0xff, 0xff };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, zero, sizeof(zero)), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, bcast, sizeof(bcast)), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(welcome_duplicate_member)
{
	static const uint8_t pl[] = { 0, 3, 0, 1, 0, 5, 0, 1 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, pl, sizeof(pl)), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(welcome_self_listed)
{
	static const uint8_t pl[] = { 0, 2, 0, 1, 0, 2 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_WELCOME, 0, 2, pl, sizeof(pl)), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(joined_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOINED, 0, 0, NULL, 0), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_JOINED, MEMBER_BCAST, 0, NULL, 0), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(joined_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOINED, 3, 4, NULL, 0), FRAME_TO_CLIENT), VEIL_E_INVALID);
}
END_TEST

START_TEST(joined_payload)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_JOINED, 3, 0, room, 2), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(left_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_LEFT, 0, 0, NULL, 0), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_LEFT, MEMBER_BCAST, 0, NULL, 0), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(left_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_LEFT, 3, MEMBER_BCAST, NULL, 0), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(left_payload)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_LEFT, 3, 0, room, 1), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(data_to_client_bad_src)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 0, 2, room, 4), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_DATA, MEMBER_BCAST, 2, room, 4), FRAME_TO_CLIENT),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(data_to_client_bad_dst)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 3, 0, room, 4), FRAME_TO_CLIENT), VEIL_E_INVALID);
}
END_TEST

START_TEST(data_to_client_empty)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_DATA, 3, 2, NULL, 0), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(pong_bad_fields)
{
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_PONG, 1, 0, NULL, 0), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_PONG, 0, 1, NULL, 0), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_PONG, 0, 0, room, 1), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(error_bad_code)
{
	static const uint8_t codes[] = { 0, FE_UNAVAILABLE + 1, 0x7f, 0xff };
	uint8_t b[64];
	size_t i;

	for (i = 0; i < sizeof(codes); i++)
		ck_assert_int_eq(dec(b, mk(b, FT_ERROR, 0, 0, &codes[i], 1), FRAME_TO_CLIENT),
		    VEIL_E_INVALID);
}
END_TEST

START_TEST(error_bad_length)
{
	static const uint8_t two[] = { FE_SLOW, 0 };
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_ERROR, 0, 0, NULL, 0), FRAME_TO_CLIENT), VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, FT_ERROR, 0, 0, two, 2), FRAME_TO_CLIENT), VEIL_E_LENGTH);
}
END_TEST

START_TEST(error_bad_src_dst)
{
	static const uint8_t code = FE_SLOW;
	uint8_t b[64];

	ck_assert_int_eq(dec(b, mk(b, FT_ERROR, 1, 0, &code, 1), FRAME_TO_CLIENT), VEIL_E_INVALID);
	ck_assert_int_eq(dec(b, mk(b, FT_ERROR, 0, 1, &code, 1), FRAME_TO_CLIENT), VEIL_E_INVALID);
}
END_TEST

START_TEST(decode_error_zeroes_frame)
{
	uint8_t b[64];
	struct frame f;
	size_t n;

	n = mk(b, FT_JOIN, 0, 0, room, ROOM_ID_LEN - 1);
	memset(&f, 0xa5, sizeof(f));
	ck_assert_int_eq(proto_frame_decode(b, n, FRAME_TO_RELAY, MAXP, &f), VEIL_E_LENGTH);
	ck_assert_uint_eq(f.fr_type, 0);
	ck_assert_uint_eq(f.fr_len, 0);
	ck_assert_ptr_null(f.fr_payload);
}
END_TEST

START_TEST(bitflip_version_and_length)
{
	/* Any flipped bit in the version or length fields is refused. */
	uint8_t b[64];
	size_t n, byte;
	int bit;

	n = mk(b, FT_DATA, 0, 2, room, 16);
	for (byte = 0; byte < FRAME_HDR_LEN; byte++) {
		if (byte >= 1 && byte < 6)
			continue;
		for (bit = 0; bit < 8; bit++) {
			b[byte] ^= (uint8_t)(1 << bit);
			ck_assert_int_ne(dec(b, n, FRAME_TO_RELAY), 0);
			b[byte] ^= (uint8_t)(1 << bit);
		}
	}
	ck_assert_int_eq(dec(b, n, FRAME_TO_RELAY), 0);
}
END_TEST

/* ---- encode ------------------------------------------------------------ */

START_TEST(encode_nospace)
{
	uint8_t out[FRAME_HDR_LEN + ROOM_ID_LEN - 1];
	struct frame f = { FT_JOIN, 0, 0, ROOM_ID_LEN, room };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_exact_space)
{
	uint8_t out[FRAME_HDR_LEN + ROOM_ID_LEN];
	struct frame f = { FT_JOIN, 0, 0, ROOM_ID_LEN, room };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), 0);
	ck_assert_uint_eq(w.vb_len, sizeof(out));
}
END_TEST

START_TEST(encode_checks_rules)
{
	uint8_t out[128], code = 0;
	struct frame f = { FT_JOIN, 0, 0, ROOM_ID_LEN - 1, room };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_LENGTH);
	f = (struct frame){ FT_WELCOME, 0, 2, 0, NULL };
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_TYPE);
	f = (struct frame){ FT_DATA, 1, 2, 4, room };
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_INVALID);
	f = (struct frame){ FT_ERROR, 0, 0, 1, &code };
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_CLIENT, &f), VEIL_E_INVALID);
	f = (struct frame){ 0x42, 0, 0, 0, NULL };
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_CLIENT, &f), VEIL_E_TYPE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_null_payload)
{
	uint8_t out[128];
	struct frame f = { FT_DATA, 0, 2, 4, NULL };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_INVALID);
}
END_TEST

START_TEST(encode_oversize)
{
	static uint8_t pl[FRAME_MAX_LIMIT + 1];
	static uint8_t out[FRAME_HDR_LEN + FRAME_MAX_LIMIT + 1];
	struct frame f = { FT_DATA, 0, 2, FRAME_MAX_LIMIT + 1, pl };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), VEIL_E_OVERSIZE);
	f.fr_len = FRAME_MAX_LIMIT;
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &f), 0);
}
END_TEST

START_TEST(encode_appends)
{
	uint8_t out[64];
	struct frame ping = { FT_PING, 0, 0, 0, NULL }, f;
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &ping), 0);
	ck_assert_int_eq(proto_frame_encode(&w, FRAME_TO_RELAY, &ping), 0);
	ck_assert_uint_eq(w.vb_len, 2 * FRAME_HDR_LEN);
	ck_assert_int_eq(proto_frame_decode(out + FRAME_HDR_LEN, FRAME_HDR_LEN,
	    FRAME_TO_RELAY, MAXP, &f), 0);
	/* Two frames in one buffer are not one frame. */
	ck_assert_int_eq(proto_frame_decode(out, w.vb_len, FRAME_TO_RELAY, MAXP, &f),
	    VEIL_E_TRAILING);
}
END_TEST

/* ---- welcome members, strerror, limits --------------------------------- */

START_TEST(welcome_members_nospace)
{
	static const uint8_t pl[] = { 0, 3, 0, 1, 0, 2, 0, 3 };
	uint16_t ids[3] = { 7, 7, 7 };
	uint8_t b[64];
	struct frame f;
	size_t n = 9;

	ck_assert_int_eq(proto_frame_decode(b, mk(b, FT_WELCOME, 0, 4, pl, sizeof(pl)),
	    FRAME_TO_CLIENT, MAXP, &f), 0);
	ck_assert_int_eq(proto_welcome_members(&f, ids, 2, &n), VEIL_E_NOSPACE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(proto_welcome_members(&f, ids, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(welcome_members_wrong_type)
{
	struct frame f = { FT_JOINED, 2, 0, 0, NULL };
	uint16_t ids[4];
	size_t n = 9;

	ck_assert_int_eq(proto_welcome_members(&f, ids, 4, &n), VEIL_E_TYPE);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(welcome_members_inconsistent)
{
	static const uint8_t pl[] = { 0, 3, 0, 1 };
	struct frame f = { FT_WELCOME, 0, 2, sizeof(pl), pl };
	uint16_t ids[4];
	size_t n;

	ck_assert_int_eq(proto_welcome_members(&f, ids, 4, &n), VEIL_E_LENGTH);
}
END_TEST

START_TEST(welcome_members_null_payload)
{
	struct frame f = { FT_WELCOME, 0, 2, 4, NULL };
	uint16_t ids[4];
	size_t n = 9;

	ck_assert_int_eq(proto_welcome_members(&f, ids, 4, &n), VEIL_E_LENGTH);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(strerror_codes)
{
	uint8_t c;
	int i;

	for (c = FE_MALFORMED; c <= FE_UNAVAILABLE; c++) {
		ck_assert_ptr_nonnull(proto_frame_strerror(c));
		ck_assert_str_ne(proto_frame_strerror(c), proto_frame_strerror(0));
		for (i = FE_MALFORMED; i < c; i++)
			ck_assert_str_ne(proto_frame_strerror(c), proto_frame_strerror((uint8_t)i));
	}
	ck_assert_str_eq(proto_frame_strerror(0), proto_frame_strerror(0xff));
}
END_TEST

START_TEST(limits_consistent)
{
	/* A whole e2e DATA message fits the smallest --max-frame the relay accepts. */
	ck_assert_int_le(E2E_MAX, FRAME_MIN_LIMIT);
	ck_assert_int_le(FRAME_MIN_LIMIT, FRAME_MAX_DEFAULT);
	ck_assert_int_le(FRAME_MAX_DEFAULT, FRAME_MAX_LIMIT);
	ck_assert_int_le(2 + 2 * (ROOM_SIZE_MAX - 1), FRAME_MIN_LIMIT);
	ck_assert_int_le(ROOM_SIZE_DEFAULT, ROOM_SIZE_MAX);
}
END_TEST

Suite *suite_frame(void);

Suite *
suite_frame(void)
{
	Suite *s = suite_create("frame");
	TCase *rt = tcase_create("roundtrip");
	TCase *tr = tcase_create("truncated");
	TCase *hd = tcase_create("header");
	TCase *ru = tcase_create("rules");
	TCase *en = tcase_create("encode");
	TCase *lim = tcase_create("limits");
	size_t i;

	for (i = 0; i < sizeof(room); i++)
		room[i] = (uint8_t)i;

	tcase_add_test(rt, join_roundtrip);
	tcase_add_test(rt, data_to_relay_roundtrip);
	tcase_add_test(rt, data_to_relay_broadcast);
	tcase_add_test(rt, data_to_relay_dst_max);
	tcase_add_test(rt, ping_roundtrip);
	tcase_add_test(rt, welcome_roundtrip);
	tcase_add_test(rt, welcome_empty_room);
	tcase_add_test(rt, welcome_full_room);
	tcase_add_test(rt, joined_roundtrip);
	tcase_add_test(rt, left_roundtrip);
	tcase_add_test(rt, data_to_client_roundtrip);
	tcase_add_test(rt, data_to_client_broadcast);
	tcase_add_test(rt, pong_roundtrip);
	tcase_add_test(rt, error_roundtrip_every_code);
	tcase_add_test(rt, data_max_payload_exact);

	tcase_add_test(tr, join_truncated);
	tcase_add_test(tr, data_to_relay_truncated);
	tcase_add_test(tr, ping_truncated);
	tcase_add_test(tr, welcome_truncated);
	tcase_add_test(tr, joined_truncated);
	tcase_add_test(tr, left_truncated);
	tcase_add_test(tr, data_to_client_truncated);
	tcase_add_test(tr, pong_truncated);
	tcase_add_test(tr, error_truncated);
	tcase_add_test(tr, null_input_truncated);
	tcase_add_test(tr, join_trailing);
	tcase_add_test(tr, data_trailing);
	tcase_add_test(tr, ping_trailing);
	tcase_add_test(tr, welcome_trailing);
	tcase_add_test(tr, error_trailing);
	tcase_add_test(tr, pong_trailing);

	tcase_add_test(hd, header_exact);
	tcase_add_test(hd, header_truncated);
	tcase_add_test(hd, header_oversize);
	tcase_add_test(hd, oversize_before_payload);
	tcase_add_test(hd, oversize_hard_limit);
	tcase_add_test(hd, data_oversize);
	tcase_add_test(hd, join_oversize);
	tcase_add_test(hd, ping_oversize);
	tcase_add_test(hd, welcome_oversize);
	tcase_add_test(hd, joined_oversize);
	tcase_add_test(hd, left_oversize);
	tcase_add_test(hd, data_to_client_oversize);
	tcase_add_test(hd, pong_oversize);
	tcase_add_test(hd, error_oversize);
	tcase_add_test(hd, bad_version);
	tcase_add_test(hd, bad_version_before_type_and_size);
	tcase_add_test(hd, bad_type);
	tcase_add_test(hd, bad_type_before_size);
	tcase_add_test(hd, direction_to_relay);
	tcase_add_test(hd, direction_to_client);
	tcase_add_test(hd, direction_unknown);

	tcase_add_test(ru, join_bad_src);
	tcase_add_test(ru, join_bad_dst);
	tcase_add_test(ru, join_short);
	tcase_add_test(ru, join_long);
	tcase_add_test(ru, ping_bad_src);
	tcase_add_test(ru, ping_bad_dst);
	tcase_add_test(ru, ping_payload);
	tcase_add_test(ru, data_to_relay_bad_src);
	tcase_add_test(ru, data_to_relay_bad_dst);
	tcase_add_test(ru, data_to_relay_empty);
	tcase_add_test(ru, welcome_bad_src);
	tcase_add_test(ru, welcome_bad_dst);
	tcase_add_test(ru, welcome_short);
	tcase_add_test(ru, welcome_count_mismatch);
	tcase_add_test(ru, welcome_too_many);
	tcase_add_test(ru, welcome_bad_member);
	tcase_add_test(ru, welcome_duplicate_member);
	tcase_add_test(ru, welcome_self_listed);
	tcase_add_test(ru, joined_bad_src);
	tcase_add_test(ru, joined_bad_dst);
	tcase_add_test(ru, joined_payload);
	tcase_add_test(ru, left_bad_src);
	tcase_add_test(ru, left_bad_dst);
	tcase_add_test(ru, left_payload);
	tcase_add_test(ru, data_to_client_bad_src);
	tcase_add_test(ru, data_to_client_bad_dst);
	tcase_add_test(ru, data_to_client_empty);
	tcase_add_test(ru, pong_bad_fields);
	tcase_add_test(ru, error_bad_code);
	tcase_add_test(ru, error_bad_length);
	tcase_add_test(ru, error_bad_src_dst);
	tcase_add_test(ru, decode_error_zeroes_frame);
	tcase_add_test(ru, bitflip_version_and_length);

	tcase_add_test(en, encode_nospace);
	tcase_add_test(en, encode_exact_space);
	tcase_add_test(en, encode_checks_rules);
	tcase_add_test(en, encode_null_payload);
	tcase_add_test(en, encode_oversize);
	tcase_add_test(en, encode_appends);

	tcase_add_test(lim, welcome_members_nospace);
	tcase_add_test(lim, welcome_members_wrong_type);
	tcase_add_test(lim, welcome_members_inconsistent);
	tcase_add_test(lim, welcome_members_null_payload);
	tcase_add_test(lim, strerror_codes);
	tcase_add_test(lim, limits_consistent);

	suite_add_tcase(s, rt);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, hd);
	suite_add_tcase(s, ru);
	suite_add_tcase(s, en);
	suite_add_tcase(s, lim);
	return s;
}
