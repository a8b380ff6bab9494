/* SPDX-License-Identifier: ISC */
/*
 * keyd IPC (PROTOCOL.md section 3): every request and answer code round
 * trips, every proper prefix is truncated, a trailing byte is refused; then
 * the per-code field rules, the length prefix, limits and the encoder.
 */
#include <string.h>

#include <check.h>

#include "err.h"
#include "ipc.h"
#include "unit.h"

#define OK(x)	ck_assert_int_eq((x), 0)

static uint8_t blob[E2E_MAX + 1];
/* A TEXT body of any length over 13 once set up: the header is 't' x 12, flags 0. */
static uint8_t text[INNER_BODY_MAX + 1];
static uint8_t view1[1 + ED25519_PUB_LEN] = { 1 };
static uint8_t fpr_a[FPR_LEN], fpr_b[FPR_LEN];
static const uint8_t *const nick_alice = (const uint8_t *)"alice";
static const uint8_t *const nick_bob = (const uint8_t *)"bob";
static const uint8_t *const safety = (const uint8_t *)"12345 67890 12345 67890 12345 67890";

/* The sample messages: one (or more) valid message per code. */
enum sample {
	S_HELLO, S_HELLO_NOEXP, S_HS_START, S_HS_ACCEPT, S_HS_NEXT, S_SEAL, S_OPEN,
	S_CLOSE, S_FORGET, S_VERIFY, S_STATUS,
	A_HELLO, A_HS, A_HS_NEXT0, A_HS_NEXT1, A_HS_NEXT_REFUSED, A_HS_NEXT_KNOWN,
	A_SEALED, A_OPENED_TEXT, A_OPENED_PING, A_OPENED_VIEW,
	A_OPENED_CLOSED, A_CLOSE, A_CLOSE_EMPTY, A_FORGET, A_FORGET_NONE,
	A_VERIFY, A_STATUS, A_ERROR,
};

static void
sample(enum sample s, struct ipc_msg *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	switch (s) {
	case S_HELLO:
		m->im_code = REQ_HELLO;
		m->im_version = IPC_VERSION;
		m->im_nick = nick_alice;
		m->im_nicklen = 5;
		m->im_count = 2;
		m->im_expect[0].ex_nick = nick_bob;
		m->im_expect[0].ex_nicklen = 3;
		memcpy(m->im_expect[0].ex_fpr, fpr_a, FPR_LEN);
		m->im_expect[1].ex_nick = (const uint8_t *)"carol.x-y_z";
		m->im_expect[1].ex_nicklen = 11;
		memcpy(m->im_expect[1].ex_fpr, fpr_b, FPR_LEN);
		break;
	case S_HELLO_NOEXP:
		m->im_code = REQ_HELLO;
		m->im_version = IPC_VERSION;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		break;
	case S_HS_START:
	case S_HS_ACCEPT:
		m->im_code = s == S_HS_START ? REQ_HS_START : REQ_HS_ACCEPT;
		for (i = 0; i < ROOM_ID_LEN; i++)
			m->im_room[i] = (uint8_t)(0xa0 + i);
		for (i = 0; i < ROOM_KEY_LEN; i++)
			m->im_room_key[i] = (uint8_t)(0x40 + i);
		m->im_me = 1;
		m->im_peer = MEMBER_MAX;
		if (s == S_HS_ACCEPT) {
			m->im_replaces = 0x0a0b0c0d;
			m->im_blob = blob;
			m->im_bloblen = 67;
		}
		break;
	case S_HS_NEXT:
	case S_OPEN:
		m->im_code = s == S_HS_NEXT ? REQ_HS_NEXT : REQ_OPEN;
		m->im_handle = 0x01020304;
		m->im_blob = blob;
		m->im_bloblen = s == S_HS_NEXT ? 147 : 90;
		break;
	case S_SEAL:
		m->im_code = REQ_SEAL;
		m->im_count = 3;
		m->im_handles[0] = 1;
		m->im_handles[1] = 2;
		m->im_handles[2] = 0xffffffff;
		m->im_kind = IK_TEXT;
		m->im_text = text;
		m->im_textlen = 24;
		break;
	case S_CLOSE:
	case S_VERIFY:
		m->im_code = s == S_CLOSE ? REQ_CLOSE : REQ_VERIFY;
		m->im_handle = 77;
		break;
	case S_FORGET:
		m->im_code = REQ_FORGET;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		break;
	case S_STATUS:
		m->im_code = REQ_STATUS;
		break;
	case A_HELLO:
		m->im_code = ANS_HELLO;
		m->im_version = IPC_VERSION;
		memcpy(m->im_fpr, fpr_a, FPR_LEN);
		break;
	case A_HS:
	case A_CLOSE:
	case A_CLOSE_EMPTY:
		m->im_code = s == A_HS ? ANS_HS : ANS_CLOSE;
		m->im_handle = 5;
		m->im_blob = blob;
		m->im_bloblen = s == A_CLOSE_EMPTY ? 0 : 90;
		break;
	case A_HS_NEXT0:
		m->im_code = ANS_HS_NEXT;
		m->im_handle = 5;
		m->im_blob = blob;
		m->im_bloblen = 147;
		break;
	case A_HS_NEXT1:
		m->im_code = ANS_HS_NEXT;
		m->im_handle = 5;
		m->im_done = 1;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		memcpy(m->im_fpr, fpr_b, FPR_LEN);
		m->im_trust = TRUST_EXPECTED;
		break;
	case A_HS_NEXT_REFUSED:
		/* The initiator refused: its HS_FIN must go all the same. */
		m->im_code = ANS_HS_NEXT;
		m->im_handle = 6;
		m->im_done = 1;
		m->im_blob = blob;
		m->im_bloblen = 147;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		memcpy(m->im_fpr, fpr_b, FPR_LEN);
		m->im_trust = TRUST_REFUSED;
		m->im_reason = REFUSE_PIN;
		memcpy(m->im_fpr2, fpr_a, FPR_LEN);
		break;
	case A_HS_NEXT_KNOWN:
		m->im_code = ANS_HS_NEXT;
		m->im_handle = 7;
		m->im_done = 1;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		memcpy(m->im_fpr, fpr_b, FPR_LEN);
		m->im_trust = TRUST_PINNED;
		m->im_flags = TF_KNOWN_AS | TF_NAME_ELSEWHERE;
		m->im_label = (const uint8_t *)"robert";
		m->im_labellen = 6;
		memcpy(m->im_fpr2, fpr_a, FPR_LEN);
		break;
	case A_SEALED:
		m->im_code = ANS_SEALED;
		m->im_count = 3;
		m->im_items[0] = (struct ipc_item){ 1, 0, 0, blob, 90 };
		m->im_items[1] = (struct ipc_item){ 2, (uint8_t)-VEIL_E_NOSESSION, 0, NULL, 0 };
		m->im_items[2] = (struct ipc_item){ 3, 0, 0, blob, 154 };
		break;
	case A_OPENED_TEXT:
		m->im_code = ANS_OPENED;
		m->im_handle = 9;
		m->im_kind = OPEN_TEXT;
		m->im_gap = 3;
		m->im_text = text;
		m->im_textlen = 20;
		break;
	case A_OPENED_PING:
		m->im_code = ANS_OPENED;
		m->im_handle = 9;
		m->im_kind = OPEN_PING;
		m->im_text = text;
		m->im_textlen = INNER_TOKEN_LEN;
		break;
	case A_OPENED_VIEW:
		m->im_code = ANS_OPENED;
		m->im_handle = 9;
		m->im_kind = OPEN_VIEW;
		m->im_text = view1;
		m->im_textlen = sizeof(view1);
		break;
	case A_OPENED_CLOSED:
		m->im_code = ANS_OPENED;
		m->im_handle = 9;
		m->im_kind = OPEN_CLOSED;
		break;
	case A_FORGET:
		m->im_code = ANS_FORGET;
		m->im_existed = 1;
		memcpy(m->im_fpr, fpr_b, FPR_LEN);
		break;
	case A_FORGET_NONE:
		m->im_code = ANS_FORGET;
		break;
	case A_VERIFY:
		m->im_code = ANS_VERIFY;
		m->im_nick = nick_bob;
		m->im_nicklen = 3;
		memcpy(m->im_fpr, fpr_b, FPR_LEN);
		memcpy(m->im_fpr2, fpr_a, FPR_LEN);
		m->im_trust = TRUST_VERIFIED;
		m->im_safety = safety;
		m->im_safetylen = strlen((const char *)safety);
		break;
	case A_STATUS:
		m->im_code = ANS_STATUS;
		m->im_gen = 0x01020304;
		break;
	case A_ERROR:
		m->im_code = IPC_ANS_ERROR;
		m->im_err = (uint8_t)-VEIL_E_AUTH;
		m->im_handle = 12;
		m->im_ended = 1;
		m->im_text = (const uint8_t *)"open failed: bad tag";
		m->im_textlen = 20;
		break;
	}
}

static uint8_t out[IPC_LEN_HDR + IPC_MAX];

/* Encodes sample s into out; returns the whole length (prefix included). */
static size_t
enc(enum sample s)
{
	struct ipc_msg m;
	struct vbuf w;

	sample(s, &m);
	vbuf_writer(&w, out, sizeof(out));
	OK(proto_ipc_encode(&w, &m));
	return w.vb_len;
}

static int
is_answer(enum sample s)
{
	return s >= A_HELLO;
}

static void
check_roundtrip(enum sample s)
{
	static uint8_t again[IPC_LEN_HDR + IPC_MAX];
	struct ipc_msg m, want;
	struct vbuf w;
	size_t n = enc(s), len;

	OK(proto_ipc_length(out, n, &len));
	ck_assert_uint_eq(len, n - IPC_LEN_HDR);
	OK(proto_ipc_decode(out + IPC_LEN_HDR, len, is_answer(s), &m));
	sample(s, &want);
	ck_assert_uint_eq(m.im_code, want.im_code);
	ck_assert_uint_eq(out[IPC_LEN_HDR], want.im_code);
	ck_assert_uint_eq(m.im_handle, want.im_handle);
	ck_assert_uint_eq(m.im_count, want.im_count);
	ck_assert_uint_eq(m.im_nicklen, want.im_nicklen);
	ck_assert_uint_eq(m.im_bloblen, want.im_bloblen);
	ck_assert_uint_eq(m.im_textlen, want.im_textlen);
	ck_assert_mem_eq(m.im_fpr, want.im_fpr, FPR_LEN);
	ck_assert_mem_eq(m.im_room, want.im_room, ROOM_ID_LEN);
	ck_assert_mem_eq(m.im_room_key, want.im_room_key, ROOM_KEY_LEN);
	ck_assert_uint_eq(m.im_version, want.im_version);
	ck_assert_uint_eq(m.im_replaces, want.im_replaces);
	ck_assert_uint_eq(m.im_trust, want.im_trust);
	ck_assert_uint_eq(m.im_flags, want.im_flags);
	ck_assert_uint_eq(m.im_reason, want.im_reason);
	ck_assert_uint_eq(m.im_labellen, want.im_labellen);
	ck_assert_mem_eq(m.im_fpr2, want.im_fpr2, FPR_LEN);
	ck_assert_uint_eq(m.im_ended, want.im_ended);
	ck_assert_uint_eq(m.im_gen, want.im_gen);
	ck_assert_uint_eq(m.im_kind, want.im_kind);
	/* Re-encoding the decoded message gives the same bytes. */
	vbuf_writer(&w, again, sizeof(again));
	OK(proto_ipc_encode(&w, &m));
	ck_assert_uint_eq(w.vb_len, n);
	ck_assert_mem_eq(again, out, n);
}

static void
check_truncated(enum sample s)
{
	struct ipc_msg m;
	size_t n = enc(s) - IPC_LEN_HDR, k, len;

	for (k = 0; k < n; k++) {
		ck_assert_msg(proto_ipc_decode(out + IPC_LEN_HDR, k, is_answer(s), &m) ==
		    VEIL_E_TRUNCATED, "prefix of %zu bytes not truncated", k);
		ck_assert_uint_eq(m.im_code, 0);
	}
	for (k = 0; k < IPC_LEN_HDR; k++)
		ck_assert_int_eq(proto_ipc_length(out, k, &len), VEIL_E_TRUNCATED);
}

static void
check_trailing(enum sample s)
{
	size_t n = enc(s) - IPC_LEN_HDR;
	struct ipc_msg m;

	out[IPC_LEN_HDR + n] = 0;
	ck_assert_int_eq(proto_ipc_decode(out + IPC_LEN_HDR, n + 1, is_answer(s), &m),
	    VEIL_E_TRAILING);
	ck_assert_uint_eq(m.im_code, 0);
}

#define PER_SAMPLE(name, s) \
	START_TEST(name##_roundtrip) { check_roundtrip(s); } END_TEST \
	START_TEST(name##_truncated) { check_truncated(s); } END_TEST \
	START_TEST(name##_trailing) { check_trailing(s); } END_TEST

PER_SAMPLE(req_hello, S_HELLO)
PER_SAMPLE(req_hello_no_expect, S_HELLO_NOEXP)
PER_SAMPLE(req_hs_start, S_HS_START)
PER_SAMPLE(req_hs_accept, S_HS_ACCEPT)
PER_SAMPLE(req_hs_next, S_HS_NEXT)
PER_SAMPLE(req_seal, S_SEAL)
PER_SAMPLE(req_open, S_OPEN)
PER_SAMPLE(req_close, S_CLOSE)
PER_SAMPLE(req_forget, S_FORGET)
PER_SAMPLE(req_verify, S_VERIFY)
PER_SAMPLE(req_status, S_STATUS)
PER_SAMPLE(ans_hello, A_HELLO)
PER_SAMPLE(ans_hs, A_HS)
PER_SAMPLE(ans_hs_next_pending, A_HS_NEXT0)
PER_SAMPLE(ans_hs_next_done, A_HS_NEXT1)
PER_SAMPLE(ans_hs_next_refused, A_HS_NEXT_REFUSED)
PER_SAMPLE(ans_hs_next_known, A_HS_NEXT_KNOWN)
PER_SAMPLE(ans_sealed, A_SEALED)
PER_SAMPLE(ans_opened_text, A_OPENED_TEXT)
PER_SAMPLE(ans_opened_ping, A_OPENED_PING)
PER_SAMPLE(ans_opened_view, A_OPENED_VIEW)
PER_SAMPLE(ans_opened_closed, A_OPENED_CLOSED)
PER_SAMPLE(ans_close, A_CLOSE)
PER_SAMPLE(ans_close_empty, A_CLOSE_EMPTY)
PER_SAMPLE(ans_forget, A_FORGET)
PER_SAMPLE(ans_forget_none, A_FORGET_NONE)
PER_SAMPLE(ans_verify, A_VERIFY)
PER_SAMPLE(ans_status, A_STATUS)
PER_SAMPLE(ans_error, A_ERROR)

/* ---- exact bytes -------------------------------------------------------- */

static void
expect_hex(enum sample s, const char *hex)
{
	uint8_t want[512];
	size_t n = enc(s), wn;

	wn = unit_hex(hex, want, sizeof(want));
	ck_assert_str_eq(unit_tohex(out, n), unit_tohex(want, wn));
}

START_TEST(hello_exact_bytes)
{
	/* The version first: a client of another release is told so, not misread. */
	expect_hex(S_HELLO_NOEXP, "00000007 01 02 03 626f62 00");
}
END_TEST

START_TEST(hs_start_exact_bytes)
{
	/* room, then room_key (PROTOCOL.md 3.4), the member ids, replaces. */
	expect_hex(S_HS_START, "00000049 02"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f 0001 fffe"
	    "00000000");
}
END_TEST

START_TEST(hs_accept_exact_bytes)
{
	size_t i;

	for (i = 0; i < 67; i++)
		blob[i] = (uint8_t)i;
	expect_hex(S_HS_ACCEPT, "00000090 03"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f 0001 fffe"
	    "0a0b0c0d 00000043 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142");
}
END_TEST

START_TEST(seal_exact_bytes)
{
	unit_hex("0000000000000007 00000001 00 68656c6c6f20776f726c64", text, 24);
	expect_hex(S_SEAL, "0000002a 05 0003 00000001 00000002 ffffffff 01 0018"
	    "0000000000000007 00000001 00 68656c6c6f20776f726c64");
}
END_TEST

START_TEST(error_exact_bytes)
{
	expect_hex(A_ERROR, "0000001d ff 0a 0000000c 01 0014"
	    "6f70656e206661696c65643a2062616420746167");
}
END_TEST

START_TEST(hs_next_done_exact_bytes)
{
	expect_hex(A_HS_NEXT1, "0000003a 84 00000005 01 00000000 03 626f62"
	    "2222222222222222222222222222222222222222 03 00 00 00"
	    "0000000000000000000000000000000000000000");
}
END_TEST

START_TEST(hs_next_refused_exact_bytes)
{
	size_t i;

	for (i = 0; i < 147; i++)
		blob[i] = (uint8_t)i;
	expect_hex(A_HS_NEXT_REFUSED, "000000cd 84 00000006 01 00000093"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	    "808182838485868788898a8b8c8d8e8f909192"
	    "03 626f62 2222222222222222222222222222222222222222 05 00 01 00"
	    "1111111111111111111111111111111111111111");
}
END_TEST

START_TEST(status_exact_bytes)
{
	expect_hex(S_STATUS, "00000001 0b");
	expect_hex(A_STATUS, "00000005 8b 01020304");
}
END_TEST

/* ---- raw builders for invalid messages ---------------------------------- */

static uint8_t rb[IPC_MAX + 16];
static struct vbuf rw;

static void
raw(uint8_t code)
{
	vbuf_writer(&rw, rb, sizeof(rb));
	OK(vbuf_put_u8(&rw, code));
}

static int
raw_dec(int answer)
{
	struct ipc_msg m;
	int r = proto_ipc_decode(rb, rw.vb_len, answer, &m);

	if (r != 0)
		ck_assert_uint_eq(m.im_code, 0);
	return r;
}

static void
put_nick(const char *s)
{
	OK(vbuf_put_str8(&rw, s, strlen(s)));
}

static void
put_fpr(const uint8_t *f)
{
	OK(vbuf_put_bytes(&rw, f, FPR_LEN));
}

/* An identity key (ANS_HELLO, ANS_HS_NEXT): any 32 bytes. */
static void
put_id(void)
{
	static const uint8_t id[ED25519_PUB_LEN] = { 0x1d };

	OK(vbuf_put_bytes(&rw, id, sizeof(id)));
}

static void
put_route(uint16_t me, uint16_t peer)
{
	OK(vbuf_put_bytes(&rw, fpr_a, FPR_LEN));
	OK(vbuf_put_bytes(&rw, fpr_a, ROOM_ID_LEN - FPR_LEN));
	OK(vbuf_put_bytes(&rw, fpr_b, FPR_LEN));		/* room_key */
	OK(vbuf_put_bytes(&rw, fpr_b, ROOM_KEY_LEN - FPR_LEN));
	OK(vbuf_put_u16(&rw, me));
	OK(vbuf_put_u16(&rw, peer));
	OK(vbuf_put_u32(&rw, 0));			/* replaces */
}

static void
raw_hello(void)
{
	raw(REQ_HELLO);
	OK(vbuf_put_u8(&rw, IPC_VERSION));
}

/* ---- request field rules ------------------------------------------------ */

START_TEST(hello_bad_nick)
{
	raw_hello();
	put_nick("al ice");
	OK(vbuf_put_u8(&rw, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_NICK);
	raw_hello();
	put_nick("");
	OK(vbuf_put_u8(&rw, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_NICK);
}
END_TEST

START_TEST(hello_nick_oversize)
{
	raw_hello();
	put_nick("abcdefghijabcdefghijabcdefghijabc");	/* 33 */
	OK(vbuf_put_u8(&rw, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(hello_expect_bad_nick)
{
	raw_hello();
	put_nick("alice");
	OK(vbuf_put_u8(&rw, 1));
	put_nick("b\xc3\xb6");
	put_fpr(fpr_a);
	ck_assert_int_eq(raw_dec(0), VEIL_E_NICK);
}
END_TEST

START_TEST(hello_expect_max)
{
	int i;

	raw_hello();
	put_nick("alice");
	OK(vbuf_put_u8(&rw, IPC_EXPECT_MAX));
	for (i = 0; i < IPC_EXPECT_MAX; i++) {
		put_nick("bob");
		put_fpr(fpr_b);
	}
	ck_assert_int_eq(raw_dec(0), 0);
}
END_TEST

START_TEST(hello_expect_oversize)
{
	int i;

	raw_hello();
	put_nick("alice");
	OK(vbuf_put_u8(&rw, IPC_EXPECT_MAX + 1));
	for (i = 0; i < IPC_EXPECT_MAX + 1; i++) {
		put_nick("bob");
		put_fpr(fpr_b);
	}
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

/* Another version: refused at its first byte, whatever follows. */
START_TEST(hello_version)
{
	raw(REQ_HELLO);
	OK(vbuf_put_u8(&rw, 1));
	put_nick("alice");
	OK(vbuf_put_u8(&rw, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_VERSION);
	raw(REQ_HELLO);
	OK(vbuf_put_u8(&rw, 3));
	ck_assert_int_eq(raw_dec(0), VEIL_E_VERSION);
	raw(REQ_HELLO);
	ck_assert_int_eq(raw_dec(0), VEIL_E_TRUNCATED);
	raw(ANS_HELLO);
	OK(vbuf_put_u8(&rw, 1));
	put_fpr(fpr_a);
	put_id();
	ck_assert_int_eq(raw_dec(1), VEIL_E_VERSION);
}
END_TEST

START_TEST(hs_start_same_member)
{
	raw(REQ_HS_START);
	put_route(3, 3);
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_start_member_zero)
{
	raw(REQ_HS_START);
	put_route(0, 3);
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
	raw(REQ_HS_START);
	put_route(3, 0);
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_start_member_broadcast)
{
	raw(REQ_HS_START);
	put_route(MEMBER_BCAST, 3);
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
	raw(REQ_HS_ACCEPT);
	put_route(3, MEMBER_BCAST);
	OK(vbuf_put_str32(&rw, blob, 67));
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
}
END_TEST

START_TEST(handle_zero)
{
	static const uint8_t codes[] = { REQ_CLOSE, REQ_VERIFY };
	size_t i;

	for (i = 0; i < sizeof(codes); i++) {
		raw(codes[i]);
		OK(vbuf_put_u32(&rw, 0));
		ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
	}
	raw(REQ_OPEN);
	OK(vbuf_put_u32(&rw, 0));
	OK(vbuf_put_str32(&rw, blob, 90));
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
}
END_TEST

START_TEST(blob_empty_in_request)
{
	raw(REQ_HS_NEXT);
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_str32(&rw, blob, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_LENGTH);
	raw(REQ_OPEN);
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_str32(&rw, blob, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_LENGTH);
	raw(REQ_HS_ACCEPT);
	put_route(1, 2);
	OK(vbuf_put_str32(&rw, blob, 0));
	ck_assert_int_eq(raw_dec(0), VEIL_E_LENGTH);
}
END_TEST

START_TEST(blob_max)
{
	raw(REQ_OPEN);
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_str32(&rw, blob, E2E_MAX));
	ck_assert_int_eq(raw_dec(0), 0);
}
END_TEST

START_TEST(blob_oversize)
{
	raw(REQ_OPEN);
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_str32(&rw, blob, E2E_MAX + 1));
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(blob_huge_length)
{
	/* A u32 length near 2^32 is refused as oversize, not read past. */
	raw(REQ_HS_NEXT);
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_u32(&rw, 0xffffffff));
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

static void
put_seal(uint16_t n, size_t textlen)
{
	uint16_t i;

	raw(REQ_SEAL);
	OK(vbuf_put_u16(&rw, n));
	for (i = 0; i < n; i++)
		OK(vbuf_put_u32(&rw, (uint32_t)i + 1));
	OK(vbuf_put_u8(&rw, IK_TEXT));
	OK(vbuf_put_str16(&rw, text, textlen));
}

START_TEST(seal_no_handles)
{
	put_seal(0, 5);
	ck_assert_int_eq(raw_dec(0), VEIL_E_LENGTH);
}
END_TEST

START_TEST(seal_batch_max)
{
	struct ipc_msg m;

	put_seal(IPC_BATCH_MAX, 20);
	OK(proto_ipc_decode(rb, rw.vb_len, 0, &m));
	ck_assert_uint_eq(m.im_count, IPC_BATCH_MAX);
	ck_assert_uint_eq(m.im_handles[IPC_BATCH_MAX - 1], IPC_BATCH_MAX);
}
END_TEST

START_TEST(seal_batch_oversize)
{
	put_seal(IPC_BATCH_MAX + 1, 5);
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
	put_seal(0xffff, 0);
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(seal_empty_text)
{
	put_seal(1, 0);
	ck_assert_int_eq(raw_dec(0), VEIL_E_LENGTH);
}
END_TEST

START_TEST(seal_text_max)
{
	put_seal(1, INNER_BODY_MAX);
	ck_assert_int_eq(raw_dec(0), 0);
}
END_TEST

START_TEST(seal_text_oversize)
{
	put_seal(1, INNER_BODY_MAX + 1);
	ck_assert_int_eq(raw_dec(0), VEIL_E_OVERSIZE);
}
END_TEST

/* REQ_SEAL with kind k and n bytes of body at p: what decode says. */
static int
seal_kind(uint8_t k, const uint8_t *p, size_t n)
{
	raw(REQ_SEAL);
	OK(vbuf_put_u16(&rw, 1));
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_u8(&rw, k));
	OK(vbuf_put_str16(&rw, p, n));
	return raw_dec(0);
}

/* keyd seals only the kinds chatc may send, each body checked exactly. */
START_TEST(seal_kind_rules)
{
	static const uint8_t zero[INNER_ACK_LEN + 1];

	ck_assert_int_eq(seal_kind(IK_PING, zero, INNER_TOKEN_LEN), 0);
	ck_assert_int_eq(seal_kind(IK_PONG, zero, INNER_TOKEN_LEN), 0);
	ck_assert_int_eq(seal_kind(IK_ACK, zero, INNER_ACK_LEN), 0);
	ck_assert_int_eq(seal_kind(IK_VIEW, view1, sizeof(view1)), 0);
	ck_assert_int_eq(seal_kind(IK_PING, zero, INNER_TOKEN_LEN + 1), VEIL_E_LENGTH);
	ck_assert_int_eq(seal_kind(IK_ACK, zero, INNER_ACK_LEN - 1), VEIL_E_LENGTH);
	ck_assert_int_eq(seal_kind(IK_VIEW, zero, 1), VEIL_E_INVALID);
	/* CLOSE goes by REQ_CLOSE; 2 and 3 were veil/1's rekey; 0 and 9 unknown. */
	ck_assert_int_eq(seal_kind(IK_CLOSE, zero, 0), VEIL_E_TYPE);
	ck_assert_int_eq(seal_kind(2, zero, 0), VEIL_E_TYPE);
	ck_assert_int_eq(seal_kind(3, zero, 0), VEIL_E_TYPE);
	ck_assert_int_eq(seal_kind(0, zero, INNER_TOKEN_LEN), VEIL_E_TYPE);
	ck_assert_int_eq(seal_kind(9, zero, INNER_TOKEN_LEN), VEIL_E_TYPE);
	/* A TEXT with seq 0 or an unknown flag. */
	text[11] = 0;
	text[12] = 0;
	ck_assert_int_eq(seal_kind(IK_TEXT, text, 20), 0);
	memset(text + 8, 0, 4);
	ck_assert_int_eq(seal_kind(IK_TEXT, text, 20), VEIL_E_INVALID);
	text[11] = 1;
	text[12] = 4;
	ck_assert_int_eq(seal_kind(IK_TEXT, text, 20), VEIL_E_INVALID);
	text[12] = INNER_FIRST | INNER_PRIVATE;
	ck_assert_int_eq(seal_kind(IK_TEXT, text, 20), 0);
	text[12] = 0;
}
END_TEST

START_TEST(seal_handle_zero)
{
	raw(REQ_SEAL);
	OK(vbuf_put_u16(&rw, 2));
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_u32(&rw, 0));
	OK(vbuf_put_str16(&rw, text, 3));
	ck_assert_int_eq(raw_dec(0), VEIL_E_INVALID);
}
END_TEST

START_TEST(forget_bad_nick)
{
	raw(REQ_FORGET);
	put_nick("../etc");
	ck_assert_int_eq(raw_dec(0), VEIL_E_NICK);
}
END_TEST

/* ---- answer field rules ------------------------------------------------- */

static void
put_trust(uint8_t trust, uint8_t flags, uint8_t reason, const char *label,
    const uint8_t *fpr2)
{
	static const uint8_t zero[FPR_LEN];

	OK(vbuf_put_u8(&rw, trust));
	OK(vbuf_put_u8(&rw, flags));
	OK(vbuf_put_u8(&rw, reason));
	OK(vbuf_put_str8(&rw, label, strlen(label)));
	put_fpr(fpr2 != NULL ? fpr2 : zero);
}

static void
put_hs_next(uint8_t done, int with_identity, uint8_t trust)
{
	raw(ANS_HS_NEXT);
	OK(vbuf_put_u32(&rw, 4));
	OK(vbuf_put_u8(&rw, done));
	OK(vbuf_put_str32(&rw, blob, 147));
	if (with_identity) {
		put_nick("bob");
		put_fpr(fpr_b);
		put_id();
		put_trust(trust, 0, trust == TRUST_REFUSED ? REFUSE_OWN_NAME : 0, "", NULL);
	}
}

/* A done ANS_HS_NEXT with the given trust fields. */
static int
hs_next_with(uint8_t trust, uint8_t flags, uint8_t reason, const char *label,
    const uint8_t *fpr2)
{
	raw(ANS_HS_NEXT);
	OK(vbuf_put_u32(&rw, 4));
	OK(vbuf_put_u8(&rw, 1));
	OK(vbuf_put_str32(&rw, blob, 0));
	put_nick("bob");
	put_fpr(fpr_b);
	put_id();
	put_trust(trust, flags, reason, label, fpr2);
	return raw_dec(1);
}

START_TEST(hs_next_done_bad)
{
	put_hs_next(2, 1, TRUST_NEW);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_next_pending_with_identity)
{
	put_hs_next(0, 1, TRUST_NEW);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TRAILING);
}
END_TEST

START_TEST(hs_next_done_without_identity)
{
	put_hs_next(1, 0, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(hs_next_trust_values)
{
	uint8_t t;

	for (t = TRUST_NEW; t <= TRUST_REFUSED; t++) {
		put_hs_next(1, 1, t);
		ck_assert_int_eq(raw_dec(1), 0);
	}
	put_hs_next(1, 1, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_hs_next(1, 1, TRUST_REFUSED + 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_next_flags)
{
	uint8_t bit;

	ck_assert_int_eq(hs_next_with(TRUST_VERIFIED, TF_SELF, 0, "", NULL), 0);
	ck_assert_int_eq(hs_next_with(TRUST_NEW, TF_NOT_PINNED | TF_CONTESTED, 0, "", fpr_a), 0);
	for (bit = 0x20; bit != 0; bit <<= 1)
		ck_assert_int_eq(hs_next_with(TRUST_NEW, bit, 0, "", NULL), VEIL_E_INVALID);
}
END_TEST

/* A reason exactly when refused, and one of the four. */
START_TEST(hs_next_reason)
{
	uint8_t r;

	for (r = REFUSE_PIN; r <= REFUSE_SWAP; r++)
		ck_assert_int_eq(hs_next_with(TRUST_REFUSED, 0, r, "",
		    r == REFUSE_OWN_NAME ? NULL : fpr_a), 0);
	ck_assert_int_eq(hs_next_with(TRUST_REFUSED, 0, 0, "", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(hs_next_with(TRUST_REFUSED, 0, REFUSE_SWAP + 1, "", NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, 0, REFUSE_PIN, "", fpr_a), VEIL_E_INVALID);
}
END_TEST

/* A label exactly with KNOWN_AS, and a nickname. */
START_TEST(hs_next_label)
{
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, TF_KNOWN_AS, 0, "robert", NULL), 0);
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, TF_KNOWN_AS, 0, "", NULL), VEIL_E_LENGTH);
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, 0, 0, "robert", NULL), VEIL_E_LENGTH);
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, TF_KNOWN_AS, 0, "rob ert", NULL),
	    VEIL_E_NICK);
	ck_assert_int_eq(hs_next_with(TRUST_PINNED, TF_KNOWN_AS, 0,
	    "abcdefghijabcdefghijabcdefghijabc", NULL), VEIL_E_OVERSIZE);
}
END_TEST

/* The other fingerprint only where a reason or flag names another key. */
START_TEST(hs_next_fpr2)
{
	ck_assert_int_eq(hs_next_with(TRUST_NEW, 0, 0, "", fpr_a), VEIL_E_INVALID);
	ck_assert_int_eq(hs_next_with(TRUST_NEW, TF_NAME_ELSEWHERE, 0, "", fpr_a), 0);
	ck_assert_int_eq(hs_next_with(TRUST_REFUSED, 0, REFUSE_OWN_NAME, "", fpr_a),
	    VEIL_E_INVALID);
	ck_assert_int_eq(hs_next_with(TRUST_REFUSED, 0, REFUSE_EXPECT, "", fpr_a), 0);
}
END_TEST

START_TEST(hs_answer_empty_blob)
{
	raw(ANS_HS);
	OK(vbuf_put_u32(&rw, 4));
	OK(vbuf_put_str32(&rw, blob, 0));
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
}
END_TEST

static void
put_sealed(uint16_t n, uint8_t status, uint8_t flags, size_t bloblen)
{
	uint16_t i;

	raw(ANS_SEALED);
	OK(vbuf_put_u16(&rw, n));
	for (i = 0; i < n; i++) {
		OK(vbuf_put_u32(&rw, (uint32_t)i + 1));
		OK(vbuf_put_u8(&rw, status));
		OK(vbuf_put_u8(&rw, flags));
		OK(vbuf_put_str32(&rw, blob, bloblen));
	}
}

START_TEST(sealed_no_items)
{
	put_sealed(0, 0, 0, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
}
END_TEST

START_TEST(sealed_batch_max)
{
	/* The largest answer there is: every item a full-size DATA message. */
	put_sealed(IPC_BATCH_MAX, 0, 0, E2E_MAX);
	ck_assert_uint_le(rw.vb_len, IPC_MAX);
	ck_assert_int_eq(raw_dec(1), 0);
}
END_TEST

START_TEST(sealed_batch_oversize)
{
	put_sealed(IPC_BATCH_MAX + 1, 0, 0, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(sealed_ok_needs_blob)
{
	put_sealed(1, 0, 0, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
}
END_TEST

START_TEST(sealed_failed_item_empty)
{
	put_sealed(2, (uint8_t)-VEIL_E_LIMIT, 0, 0);
	ck_assert_int_eq(raw_dec(1), 0);
}
END_TEST

START_TEST(sealed_bad_status)
{
	put_sealed(1, 128, 0, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_sealed(1, 0xff, 0, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(sealed_bad_flags)
{
	put_sealed(1, 0, 0x04, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	/* 0x01 was veil/1's REKEY_DUE. */
	put_sealed(1, 0, 0x01, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_sealed(1, 0, 0x81, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	/* ENDED only with a failure: a sealed message cannot have ended its session. */
	put_sealed(1, 0, SEAL_ENDED, 90);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_sealed(1, (uint8_t)-VEIL_E_CRYPTO, SEAL_ENDED, 0);
	ck_assert_int_eq(raw_dec(1), 0);
}
END_TEST

static void
put_opened_raw(uint8_t kind, const uint8_t *body, size_t bodylen)
{
	raw(ANS_OPENED);
	OK(vbuf_put_u32(&rw, 8));
	OK(vbuf_put_u8(&rw, kind));
	OK(vbuf_put_u32(&rw, 1));
	OK(vbuf_put_str16(&rw, body, bodylen));
}

static void
put_opened(uint8_t kind, size_t bodylen)
{
	put_opened_raw(kind, text, bodylen);
}

START_TEST(opened_bad_kind)
{
	put_opened(0, INNER_TOKEN_LEN);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TYPE);
	put_opened(2, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TYPE);
	put_opened(3, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TYPE);
	put_opened(IK_VIEW + 1, INNER_TOKEN_LEN);
	ck_assert_int_eq(raw_dec(1), VEIL_E_TYPE);
}
END_TEST

START_TEST(opened_text_empty)
{
	put_opened(OPEN_TEXT, 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
	put_opened(OPEN_TEXT, INNER_TEXT_HDR_LEN);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
}
END_TEST

START_TEST(opened_text_max)
{
	put_opened(OPEN_TEXT, INNER_BODY_MAX);
	ck_assert_int_eq(raw_dec(1), 0);
}
END_TEST

START_TEST(opened_text_oversize)
{
	put_opened(OPEN_TEXT, INNER_BODY_MAX + 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_OVERSIZE);
}
END_TEST

/* Each control kind has one length. */
START_TEST(opened_control_lengths)
{
	put_opened(OPEN_PING, INNER_TOKEN_LEN);
	ck_assert_int_eq(raw_dec(1), 0);
	put_opened(OPEN_PONG, INNER_TOKEN_LEN - 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
	put_opened(OPEN_ACK, INNER_ACK_LEN);
	ck_assert_int_eq(raw_dec(1), 0);
	put_opened(OPEN_ACK, INNER_ACK_LEN + 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
	put_opened_raw(OPEN_VIEW, view1, sizeof(view1));
	ck_assert_int_eq(raw_dec(1), 0);
	put_opened_raw(OPEN_VIEW, view1, sizeof(view1) - 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
}
END_TEST

START_TEST(opened_closed_with_content)
{
	put_opened(OPEN_CLOSED, 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_LENGTH);
	put_opened(OPEN_CLOSED, 0);
	ck_assert_int_eq(raw_dec(1), 0);
}
END_TEST

START_TEST(forget_existed_bad)
{
	raw(ANS_FORGET);
	OK(vbuf_put_u8(&rw, 2));
	put_fpr(fpr_a);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(forget_none_with_fpr)
{
	raw(ANS_FORGET);
	OK(vbuf_put_u8(&rw, 0));
	put_fpr(fpr_a);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

static void
put_verify_trust(const char *nick, uint8_t trust, const char *safe, size_t safelen)
{
	raw(ANS_VERIFY);
	put_nick(nick);
	put_fpr(fpr_a);
	put_fpr(fpr_b);
	OK(vbuf_put_u8(&rw, trust));
	OK(vbuf_put_str8(&rw, safe, safelen));
}

static void
put_verify(const char *nick, const char *safe, size_t safelen)
{
	put_verify_trust(nick, TRUST_PINNED, safe, safelen);
}

START_TEST(verify_trust_values)
{
	uint8_t t;

	for (t = TRUST_NEW; t <= TRUST_REFUSED; t++) {
		put_verify_trust("bob", t, "1", 1);
		ck_assert_int_eq(raw_dec(1), 0);
	}
	put_verify_trust("bob", 0, "1", 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_verify_trust("bob", TRUST_REFUSED + 1, "1", 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(verify_bad_nick)
{
	put_verify("b b", "1234", 4);
	ck_assert_int_eq(raw_dec(1), VEIL_E_NICK);
}
END_TEST

START_TEST(verify_safety_nonprintable)
{
	put_verify("bob", "12\x1b[2J", 6);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_verify("bob", "12\x7f", 3);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_verify("bob", "12\xc3\xa9", 4);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(verify_safety_empty)
{
	put_verify("bob", "", 0);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(verify_safety_limits)
{
	char s[SAFETY_TEXT_MAX + 1];

	memset(s, '7', sizeof(s));
	put_verify("bob", s, SAFETY_TEXT_MAX);
	ck_assert_int_eq(raw_dec(1), 0);
	put_verify("bob", s, SAFETY_TEXT_MAX + 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_OVERSIZE);
}
END_TEST

static void
put_error_ended(uint8_t err, uint32_t handle, uint8_t ended, size_t msglen)
{
	static uint8_t msg[IPC_ERRMSG_MAX + 1];

	memset(msg, 'e', sizeof(msg));
	raw(IPC_ANS_ERROR);
	OK(vbuf_put_u8(&rw, err));
	OK(vbuf_put_u32(&rw, handle));
	OK(vbuf_put_u8(&rw, ended));
	OK(vbuf_put_str16(&rw, msg, msglen));
}

static void
put_error(uint8_t err, size_t msglen)
{
	put_error_ended(err, 0, 0, msglen);
}

/* ended is 0 or 1, and 1 only for a session (a handle). */
START_TEST(error_ended)
{
	put_error_ended(13, 4, 1, 3);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error_ended(13, 4, 0, 3);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error_ended(13, 4, 2, 3);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_error_ended(13, 0, 1, 3);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(error_code_range)
{
	put_error(1, 3);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error(127, 3);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error(0, 3);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
	put_error(128, 3);
	ck_assert_int_eq(raw_dec(1), VEIL_E_INVALID);
}
END_TEST

START_TEST(error_message_limits)
{
	put_error(5, 0);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error(5, IPC_ERRMSG_MAX);
	ck_assert_int_eq(raw_dec(1), 0);
	put_error(5, IPC_ERRMSG_MAX + 1);
	ck_assert_int_eq(raw_dec(1), VEIL_E_OVERSIZE);
}
END_TEST

/* ---- codes and directions ----------------------------------------------- */

START_TEST(unknown_request_code)
{
	static const uint8_t codes[] = { 0x00, REQ_HIST_OPEN + 1, 0x3f, 0x40, 0x7f, 0x80 };
	size_t i;

	for (i = 0; i < sizeof(codes); i++) {
		raw(codes[i]);
		OK(vbuf_put_u32(&rw, 1));
		ck_assert_int_eq(raw_dec(0), VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(unknown_answer_code)
{
	static const uint8_t codes[] = { 0x00, 0x80, 0x83, ANS_HIST_OPENED + 1, 0xc0, 0xfe };
	size_t i;

	for (i = 0; i < sizeof(codes); i++) {
		raw(codes[i]);
		OK(vbuf_put_u32(&rw, 1));
		ck_assert_int_eq(raw_dec(1), VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(request_as_answer)
{
	enum sample s;
	struct ipc_msg m;
	size_t n;

	for (s = S_HELLO; s <= S_STATUS; s++) {
		n = enc(s);
		ck_assert_int_eq(proto_ipc_decode(out + IPC_LEN_HDR, n - IPC_LEN_HDR, 1, &m),
		    VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(answer_as_request)
{
	enum sample s;
	struct ipc_msg m;
	size_t n;

	for (s = A_HELLO; s <= A_ERROR; s++) {
		n = enc(s);
		ck_assert_int_eq(proto_ipc_decode(out + IPC_LEN_HDR, n - IPC_LEN_HDR, 0, &m),
		    VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(answer_codes_are_request_or_0x80)
{
	/* Every answer but the error is its request's code with the high bit set. */
	ck_assert_int_eq(ANS_HELLO, REQ_HELLO | 0x80);
	ck_assert_int_eq(ANS_HS, REQ_HS_START | 0x80);
	ck_assert_int_eq(ANS_HS_NEXT, REQ_HS_NEXT | 0x80);
	ck_assert_int_eq(ANS_SEALED, REQ_SEAL | 0x80);
	ck_assert_int_eq(ANS_OPENED, REQ_OPEN | 0x80);
	ck_assert_int_eq(ANS_CLOSE, REQ_CLOSE | 0x80);
	ck_assert_int_eq(ANS_FORGET, REQ_FORGET | 0x80);
	ck_assert_int_eq(ANS_VERIFY, REQ_VERIFY | 0x80);
	ck_assert_int_eq(ANS_STATUS, REQ_STATUS | 0x80);
}
END_TEST

START_TEST(empty_body)
{
	struct ipc_msg m;

	ck_assert_int_eq(proto_ipc_decode(out, 0, 0, &m), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_ipc_decode(NULL, 0, 1, &m), VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(decode_oversize)
{
	struct ipc_msg m;

	memset(rb, 0, sizeof(rb));
	rb[0] = REQ_CLOSE;
	ck_assert_int_eq(proto_ipc_decode(rb, IPC_MAX + 1, 0, &m), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(decode_error_zeroes_msg)
{
	struct ipc_msg m;
	size_t n = enc(S_HELLO);

	memset(&m, 0xa5, sizeof(m));
	ck_assert_int_eq(proto_ipc_decode(out + IPC_LEN_HDR, n - IPC_LEN_HDR - 1, 0, &m),
	    VEIL_E_TRUNCATED);
	ck_assert_uint_eq(m.im_code, 0);
	ck_assert_ptr_null(m.im_nick);
	ck_assert_uint_eq(m.im_count, 0);
	ck_assert_ptr_null(m.im_expect[0].ex_nick);
}
END_TEST

/* ---- length prefix ------------------------------------------------------ */

START_TEST(length_exact)
{
	uint8_t p[4] = { 0, 0, 0, 1 };
	size_t len = 9;

	OK(proto_ipc_length(p, 4, &len));
	ck_assert_uint_eq(len, 1);
	veil_put32(p, IPC_MAX);
	OK(proto_ipc_length(p, 4, &len));
	ck_assert_uint_eq(len, IPC_MAX);
}
END_TEST

START_TEST(length_zero)
{
	uint8_t p[4] = { 0, 0, 0, 0 };
	size_t len = 9;

	ck_assert_int_eq(proto_ipc_length(p, 4, &len), VEIL_E_LENGTH);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(length_oversize)
{
	uint8_t p[4];
	size_t len = 9;

	veil_put32(p, IPC_MAX + 1);
	ck_assert_int_eq(proto_ipc_length(p, 4, &len), VEIL_E_OVERSIZE);
	ck_assert_uint_eq(len, 0);
	veil_put32(p, 0xffffffff);
	ck_assert_int_eq(proto_ipc_length(p, 4, &len), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(length_truncated)
{
	uint8_t p[4] = { 0, 0, 0, 5 };
	size_t len, k;

	for (k = 0; k < 4; k++)
		ck_assert_int_eq(proto_ipc_length(p, k, &len), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_ipc_length(NULL, 4, &len), VEIL_E_TRUNCATED);
}
END_TEST

/* ---- encoder ------------------------------------------------------------ */

START_TEST(encode_nospace)
{
	uint8_t small[40];
	struct ipc_msg m;
	struct vbuf w;

	sample(S_HS_START, &m);		/* 4 + 73 bytes */
	vbuf_writer(&w, small, sizeof(small));
	OK(vbuf_put_u8(&w, 0xee));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 1);
	vbuf_writer(&w, small, 3);
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_nospace_every_code)
{
	/* Every message, cut off at every capacity: NOSPACE and nothing left. */
	static uint8_t small[IPC_LEN_HDR + 1024];
	struct ipc_msg m;
	struct vbuf w;
	enum sample s;
	size_t n, cap;

	for (s = S_HELLO; s <= A_ERROR; s++) {
		n = enc(s);
		ck_assert_uint_le(n, sizeof(small));
		sample(s, &m);
		for (cap = 0; cap < n; cap++) {
			vbuf_writer(&w, small, cap);
			ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_NOSPACE);
			ck_assert_uint_eq(w.vb_len, 0);
		}
		vbuf_writer(&w, small, n);
		OK(proto_ipc_encode(&w, &m));
		ck_assert_mem_eq(small, out, n);
	}
}
END_TEST

START_TEST(encode_refuses_invalid)
{
	uint8_t buf[256];
	struct ipc_msg m;
	struct vbuf w;

	vbuf_writer(&w, buf, sizeof(buf));
	sample(S_HS_START, &m);
	m.im_peer = m.im_me;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	sample(S_HELLO, &m);
	m.im_expect[1].ex_nick = (const uint8_t *)"x y";
	m.im_expect[1].ex_nicklen = 3;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_NICK);
	sample(A_HS_NEXT1, &m);
	m.im_trust = 7;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	sample(S_SEAL, &m);
	m.im_textlen = 0;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_LENGTH);
	sample(A_ERROR, &m);
	m.im_err = 0;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, 0);		/* nothing left behind */
}
END_TEST

START_TEST(encode_unknown_code)
{
	uint8_t buf[64];
	struct ipc_msg m;
	struct vbuf w;

	memset(&m, 0, sizeof(m));
	m.im_code = 0x42;
	vbuf_writer(&w, buf, sizeof(buf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_TYPE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_null_pointers)
{
	uint8_t buf[512];
	struct ipc_msg m;
	struct vbuf w;

	vbuf_writer(&w, buf, sizeof(buf));
	sample(S_OPEN, &m);
	m.im_blob = NULL;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	sample(S_FORGET, &m);
	m.im_nick = NULL;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	sample(S_SEAL, &m);
	m.im_text = NULL;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_counts_over_arrays)
{
	uint8_t buf[512];
	struct ipc_msg m;
	struct vbuf w;

	vbuf_writer(&w, buf, sizeof(buf));
	sample(S_SEAL, &m);
	m.im_count = IPC_BATCH_MAX + 1;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	sample(A_SEALED, &m);
	m.im_count = 0xffff;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	sample(S_HELLO, &m);
	m.im_count = IPC_EXPECT_MAX + 1;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	sample(A_HS, &m);
	m.im_bloblen = (size_t)1 << 33;
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_appends)
{
	uint8_t buf[256];
	struct ipc_msg a, b, m;
	struct vbuf w;
	size_t len1, len2;

	sample(S_CLOSE, &a);
	sample(A_FORGET, &b);
	vbuf_writer(&w, buf, sizeof(buf));
	OK(proto_ipc_encode(&w, &a));
	OK(proto_ipc_encode(&w, &b));
	OK(proto_ipc_length(buf, w.vb_len, &len1));
	OK(proto_ipc_decode(buf + IPC_LEN_HDR, len1, 0, &m));
	ck_assert_uint_eq(m.im_code, REQ_CLOSE);
	OK(proto_ipc_length(buf + IPC_LEN_HDR + len1, w.vb_len - IPC_LEN_HDR - len1, &len2));
	ck_assert_uint_eq(IPC_LEN_HDR + len1 + IPC_LEN_HDR + len2, w.vb_len);
	OK(proto_ipc_decode(buf + 2 * IPC_LEN_HDR + len1, len2, 1, &m));
	ck_assert_uint_eq(m.im_code, ANS_FORGET);
	ck_assert_mem_eq(m.im_fpr, fpr_b, FPR_LEN);
}
END_TEST

START_TEST(hello_expect_pointers)
{
	struct ipc_msg m;
	size_t n = enc(S_HELLO);

	OK(proto_ipc_decode(out + IPC_LEN_HDR, n - IPC_LEN_HDR, 0, &m));
	ck_assert_uint_eq(m.im_count, 2);
	ck_assert_uint_eq(m.im_expect[1].ex_nicklen, 11);
	ck_assert_mem_eq(m.im_expect[1].ex_nick, "carol.x-y_z", 11);
	ck_assert_mem_eq(m.im_expect[0].ex_fpr, fpr_a, FPR_LEN);
	ck_assert_mem_eq(m.im_expect[1].ex_fpr, fpr_b, FPR_LEN);
	/* Pointers point into the input, not into copies. */
	ck_assert(m.im_nick > out && m.im_nick < out + n);
}
END_TEST

START_TEST(sealed_item_fields)
{
	struct ipc_msg m;
	size_t n = enc(A_SEALED);

	OK(proto_ipc_decode(out + IPC_LEN_HDR, n - IPC_LEN_HDR, 1, &m));
	ck_assert_uint_eq(m.im_count, 3);
	ck_assert_uint_eq(m.im_items[1].it_status, -VEIL_E_NOSESSION);
	ck_assert_uint_eq(m.im_items[1].it_bloblen, 0);
	ck_assert_uint_eq(m.im_items[2].it_flags, 0);
	ck_assert_uint_eq(m.im_items[2].it_bloblen, 154);
	ck_assert_mem_eq(m.im_items[2].it_blob, blob, 154);
}
END_TEST

Suite *suite_ipc(void);

#define ADD_SAMPLE(tc, name) do { \
	tcase_add_test(tc, name##_roundtrip); \
	tcase_add_test(tc, name##_truncated); \
	tcase_add_test(tc, name##_trailing); \
} while (0)

Suite *
suite_ipc(void)
{
	Suite *s = suite_create("ipc");
	TCase *rq = tcase_create("requests");
	TCase *an = tcase_create("answers");
	TCase *ex = tcase_create("exact");
	TCase *rr = tcase_create("request_rules");
	TCase *ar = tcase_create("answer_rules");
	TCase *cd = tcase_create("codes");
	TCase *en = tcase_create("encode");
	size_t i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i ^ 0x5a);
	memset(text, 't', sizeof(text));
	text[INNER_TEXT_HDR_LEN - 1] = 0;	/* flags */
	memset(fpr_a, 0x11, sizeof(fpr_a));
	memset(fpr_b, 0x22, sizeof(fpr_b));

	ADD_SAMPLE(rq, req_hello);
	ADD_SAMPLE(rq, req_hello_no_expect);
	ADD_SAMPLE(rq, req_hs_start);
	ADD_SAMPLE(rq, req_hs_accept);
	ADD_SAMPLE(rq, req_hs_next);
	ADD_SAMPLE(rq, req_seal);
	ADD_SAMPLE(rq, req_open);
	ADD_SAMPLE(rq, req_close);
	ADD_SAMPLE(rq, req_forget);
	ADD_SAMPLE(rq, req_verify);
	ADD_SAMPLE(rq, req_status);
	ADD_SAMPLE(an, ans_hello);
	ADD_SAMPLE(an, ans_hs);
	ADD_SAMPLE(an, ans_hs_next_pending);
	ADD_SAMPLE(an, ans_hs_next_done);
	ADD_SAMPLE(an, ans_hs_next_refused);
	ADD_SAMPLE(an, ans_hs_next_known);
	ADD_SAMPLE(an, ans_sealed);
	ADD_SAMPLE(an, ans_opened_text);
	ADD_SAMPLE(an, ans_opened_ping);
	ADD_SAMPLE(an, ans_opened_view);
	ADD_SAMPLE(an, ans_opened_closed);
	ADD_SAMPLE(an, ans_close);
	ADD_SAMPLE(an, ans_close_empty);
	ADD_SAMPLE(an, ans_forget);
	ADD_SAMPLE(an, ans_forget_none);
	ADD_SAMPLE(an, ans_verify);
	ADD_SAMPLE(an, ans_status);
	ADD_SAMPLE(an, ans_error);

	tcase_add_test(ex, hello_exact_bytes);
	tcase_add_test(ex, hs_start_exact_bytes);
	tcase_add_test(ex, hs_accept_exact_bytes);
	tcase_add_test(ex, seal_exact_bytes);
	tcase_add_test(ex, error_exact_bytes);
	tcase_add_test(ex, hs_next_done_exact_bytes);
	tcase_add_test(ex, hs_next_refused_exact_bytes);
	tcase_add_test(ex, status_exact_bytes);
	tcase_add_test(ex, hello_expect_pointers);
	tcase_add_test(ex, sealed_item_fields);

	tcase_add_test(rr, hello_bad_nick);
	tcase_add_test(rr, hello_nick_oversize);
	tcase_add_test(rr, hello_expect_bad_nick);
	tcase_add_test(rr, hello_expect_max);
	tcase_add_test(rr, hello_expect_oversize);
	tcase_add_test(rr, hello_version);
	tcase_add_test(rr, hs_start_same_member);
	tcase_add_test(rr, hs_start_member_zero);
	tcase_add_test(rr, hs_start_member_broadcast);
	tcase_add_test(rr, handle_zero);
	tcase_add_test(rr, blob_empty_in_request);
	tcase_add_test(rr, blob_max);
	tcase_add_test(rr, blob_oversize);
	tcase_add_test(rr, blob_huge_length);
	tcase_add_test(rr, seal_no_handles);
	tcase_add_test(rr, seal_batch_max);
	tcase_add_test(rr, seal_batch_oversize);
	tcase_add_test(rr, seal_empty_text);
	tcase_add_test(rr, seal_kind_rules);
	tcase_add_test(rr, seal_text_max);
	tcase_add_test(rr, seal_text_oversize);
	tcase_add_test(rr, seal_handle_zero);
	tcase_add_test(rr, forget_bad_nick);

	tcase_add_test(ar, hs_next_done_bad);
	tcase_add_test(ar, hs_next_pending_with_identity);
	tcase_add_test(ar, hs_next_done_without_identity);
	tcase_add_test(ar, hs_next_trust_values);
	tcase_add_test(ar, hs_next_flags);
	tcase_add_test(ar, hs_next_reason);
	tcase_add_test(ar, hs_next_label);
	tcase_add_test(ar, hs_next_fpr2);
	tcase_add_test(ar, hs_answer_empty_blob);
	tcase_add_test(ar, sealed_no_items);
	tcase_add_test(ar, sealed_batch_max);
	tcase_add_test(ar, sealed_batch_oversize);
	tcase_add_test(ar, sealed_ok_needs_blob);
	tcase_add_test(ar, sealed_failed_item_empty);
	tcase_add_test(ar, sealed_bad_status);
	tcase_add_test(ar, sealed_bad_flags);
	tcase_add_test(ar, opened_bad_kind);
	tcase_add_test(ar, opened_text_empty);
	tcase_add_test(ar, opened_text_max);
	tcase_add_test(ar, opened_text_oversize);
	tcase_add_test(ar, opened_control_lengths);
	tcase_add_test(ar, opened_closed_with_content);
	tcase_add_test(ar, forget_existed_bad);
	tcase_add_test(ar, forget_none_with_fpr);
	tcase_add_test(ar, verify_bad_nick);
	tcase_add_test(ar, verify_safety_nonprintable);
	tcase_add_test(ar, verify_safety_empty);
	tcase_add_test(ar, verify_safety_limits);
	tcase_add_test(ar, verify_trust_values);
	tcase_add_test(ar, error_code_range);
	tcase_add_test(ar, error_message_limits);
	tcase_add_test(ar, error_ended);

	tcase_add_test(cd, unknown_request_code);
	tcase_add_test(cd, unknown_answer_code);
	tcase_add_test(cd, request_as_answer);
	tcase_add_test(cd, answer_as_request);
	tcase_add_test(cd, answer_codes_are_request_or_0x80);
	tcase_add_test(cd, empty_body);
	tcase_add_test(cd, decode_oversize);
	tcase_add_test(cd, decode_error_zeroes_msg);
	tcase_add_test(cd, length_exact);
	tcase_add_test(cd, length_zero);
	tcase_add_test(cd, length_oversize);
	tcase_add_test(cd, length_truncated);

	tcase_add_test(en, encode_nospace);
	tcase_add_test(en, encode_nospace_every_code);
	tcase_add_test(en, encode_refuses_invalid);
	tcase_add_test(en, encode_unknown_code);
	tcase_add_test(en, encode_null_pointers);
	tcase_add_test(en, encode_counts_over_arrays);
	tcase_add_test(en, encode_appends);

	suite_add_tcase(s, rq);
	suite_add_tcase(s, an);
	suite_add_tcase(s, ex);
	suite_add_tcase(s, rr);
	suite_add_tcase(s, ar);
	suite_add_tcase(s, cd);
	suite_add_tcase(s, en);
	return s;
}
