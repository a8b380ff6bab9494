/* SPDX-License-Identifier: ISC */
/*
 * End-to-end message framing (PROTOCOL.md section 2): message sizes per
 * type (fixed for the handshake), the header errors and their order,
 * identity blocks, padding buckets and the inner plaintext, nicknames,
 * fingerprint text.
 */
#include <string.h>

#include <check.h>

#include "e2e.h"
#include "inner.h"
#include "err.h"
#include "unit.h"

#define HS_CT		E2E_HS_CT_LEN	/* the sealed part of HS_RESP and HS_FIN */

static uint8_t eph[P256_PUB_LEN];
static uint8_t ctbuf[E2E_MAX + 64];
static uint8_t hnbuf[E2E_HN_LEN] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11 };
static uint8_t hctbuf[E2E_HDR_CT_LEN];
static uint8_t idkey[ED25519_PUB_LEN];
static uint8_t sigbytes[ED25519_SIG_LEN];

/* Builds ver || type || [eph] || [hn hct] || ct of ctlen bytes into out. */
static size_t
mk(uint8_t *out, uint8_t type, size_t ctlen)
{
	size_t n = 0;

	out[n++] = E2E_VERSION;
	out[n++] = type;
	if (type == E2E_HS_INIT || type == E2E_HS_RESP) {
		memcpy(out + n, eph, P256_PUB_LEN);
		n += P256_PUB_LEN;
	}
	if (type == E2E_DATA) {
		memcpy(out + n, hnbuf, E2E_HN_LEN);
		memset(out + n + E2E_HN_LEN, 0x22, E2E_HDR_CT_LEN);
		n += E2E_HN_LEN + E2E_HDR_CT_LEN;
	}
	memcpy(out + n, ctbuf, ctlen);
	return n + ctlen;
}

static int
dec(const uint8_t *p, size_t n)
{
	struct e2e_msg m;

	return proto_e2e_decode(p, n, &m);
}

/* Decodes p, re-encodes the result and expects the same bytes. */
static void
roundtrip(const uint8_t *p, size_t n, uint8_t type)
{
	static uint8_t out[E2E_MAX];
	struct e2e_msg m;
	struct vbuf w;

	ck_assert_int_eq(proto_e2e_decode(p, n, &m), 0);
	ck_assert_uint_eq(m.em_type, type);
	ck_assert_int_eq(proto_e2e_peek_type(p, n), type);
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_e2e_encode(&w, &m), 0);
	ck_assert_uint_eq(w.vb_len, n);
	ck_assert_mem_eq(out, p, n);
}

static void
all_prefixes_truncated(const uint8_t *p, size_t n)
{
	struct e2e_msg m;
	size_t k;

	ck_assert_int_eq(proto_e2e_decode(p, n, &m), 0);
	for (k = 0; k < n; k++) {
		ck_assert_msg(proto_e2e_decode(p, k, &m) == VEIL_E_TRUNCATED,
		    "prefix of %zu bytes not truncated", k);
		ck_assert_uint_eq(m.em_type, 0);
		ck_assert_ptr_null(m.em_ct);
	}
}

/* ---- messages ---------------------------------------------------------- */

START_TEST(hs_init_roundtrip)
{
	uint8_t b[128];
	struct e2e_msg m;
	size_t n = mk(b, E2E_HS_INIT, 0);

	ck_assert_uint_eq(n, 67);
	roundtrip(b, n, E2E_HS_INIT);
	ck_assert_int_eq(proto_e2e_decode(b, n, &m), 0);
	ck_assert_ptr_eq(m.em_eph, b + 2);
	ck_assert_ptr_null(m.em_ct);
	ck_assert_uint_eq(m.em_ctlen, 0);
}
END_TEST

START_TEST(hs_resp_roundtrip)
{
	uint8_t b[256];
	struct e2e_msg m;
	size_t n;

	n = mk(b, E2E_HS_RESP, HS_CT);
	ck_assert_uint_eq(n, 212);
	ck_assert_uint_eq(n, E2E_HS_RESP_LEN);
	roundtrip(b, n, E2E_HS_RESP);
	ck_assert_int_eq(proto_e2e_decode(b, n, &m), 0);
	ck_assert_ptr_eq(m.em_eph, b + 2);
	ck_assert_ptr_eq(m.em_ct, b + 2 + P256_PUB_LEN);
	ck_assert_uint_eq(m.em_ctlen, 145);
}
END_TEST

START_TEST(hs_fin_roundtrip)
{
	uint8_t b[256];
	size_t n;

	n = mk(b, E2E_HS_FIN, HS_CT);
	ck_assert_uint_eq(n, 147);
	ck_assert_uint_eq(n, E2E_HS_FIN_LEN);
	roundtrip(b, n, E2E_HS_FIN);
	/* One identity block and one signature, sealed: whatever the nickname. */
	ck_assert_uint_eq(E2E_IDB_LEN, 65);
	ck_assert_uint_eq(HS_CT, E2E_IDB_LEN + ED25519_SIG_LEN + AEAD_TAG_LEN);
}
END_TEST

START_TEST(hs_confirm_is_gone)
{
	/* veil/1's fourth message is an unknown type in veil/2. */
	uint8_t b[128];

	b[0] = E2E_VERSION;
	b[1] = 4;
	memset(b + 2, 0, 80);
	ck_assert_int_eq(dec(b, 82), VEIL_E_TYPE);
}
END_TEST

START_TEST(data_roundtrip_every_bucket)
{
	static uint8_t b[E2E_MAX];
	struct e2e_msg m;
	size_t bucket, n;

	for (bucket = PAD_MIN; bucket <= PAD_MAX; bucket *= 2) {
		n = mk(b, E2E_DATA, bucket + AEAD_TAG_LEN);
		roundtrip(b, n, E2E_DATA);
		ck_assert_int_eq(proto_e2e_decode(b, n, &m), 0);
		ck_assert_ptr_eq(m.em_hn, b + 2);
		ck_assert_ptr_eq(m.em_hct, b + 2 + E2E_HN_LEN);
		ck_assert_uint_eq(m.em_hct[0], 0x22);
		ck_assert_ptr_eq(m.em_ct, b + E2E_DATA_HDR_LEN);
		ck_assert_uint_eq(m.em_ctlen, bucket + AEAD_TAG_LEN);
	}
	ck_assert_uint_eq(n, E2E_MAX);
}
END_TEST

START_TEST(data_exact_bytes)
{
	uint8_t b[256], want[256];
	struct e2e_msg m;
	struct vbuf w;
	size_t n;

	memset(ctbuf, 0xcd, PAD_MIN + AEAD_TAG_LEN);
	memset(hctbuf, 0xab, sizeof(hctbuf));
	m = (struct e2e_msg){ .em_type = E2E_DATA, .em_hn = hnbuf, .em_hct = hctbuf,
	    .em_ct = ctbuf, .em_ctlen = PAD_MIN + AEAD_TAG_LEN };
	vbuf_writer(&w, b, sizeof(b));
	ck_assert_int_eq(proto_e2e_encode(&w, &m), 0);
	n = unit_hex("0210 111111111111111111111111", want, sizeof(want));
	memset(want + n, 0xab, E2E_HDR_CT_LEN);
	n += E2E_HDR_CT_LEN;
	ck_assert_uint_eq(n, E2E_DATA_HDR_LEN);
	ck_assert_uint_eq(w.vb_len, E2E_DATA_MIN);
	ck_assert_mem_eq(b, want, n);
	/* No header nonce or sealed header: refused. */
	m.em_hct = NULL;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, E2E_DATA_MIN);
	ck_assert_mem_eq(b + n, ctbuf, PAD_MIN + AEAD_TAG_LEN);
}
END_TEST

START_TEST(hs_init_truncated)
{
	uint8_t b[128];

	all_prefixes_truncated(b, mk(b, E2E_HS_INIT, 0));
}
END_TEST

START_TEST(hs_resp_truncated)
{
	uint8_t b[256];

	all_prefixes_truncated(b, mk(b, E2E_HS_RESP, HS_CT));
}
END_TEST

START_TEST(hs_fin_truncated)
{
	uint8_t b[256];

	all_prefixes_truncated(b, mk(b, E2E_HS_FIN, HS_CT));
}
END_TEST

START_TEST(data_truncated)
{
	uint8_t b[256];

	all_prefixes_truncated(b, mk(b, E2E_DATA, PAD_MIN + AEAD_TAG_LEN));
}
END_TEST

START_TEST(oversize)
{
	static uint8_t b[E2E_MAX + 64];
	size_t n;

	n = mk(b, E2E_DATA, PAD_MAX + AEAD_TAG_LEN);
	b[n] = 0;
	ck_assert_int_eq(dec(b, n + 1), VEIL_E_OVERSIZE);
	/* The overall cap comes before the version check. */
	b[0] = 9;
	ck_assert_int_eq(dec(b, n + 1), VEIL_E_OVERSIZE);
}
END_TEST

/* Any type grown past E2E_MAX is oversize before anything else is looked at. */
static void
oversize_type(uint8_t type)
{
	static uint8_t b[E2E_MAX + 1];

	memset(b, 0, sizeof(b));
	b[0] = E2E_VERSION;
	b[1] = type;
	b[2] = 0x04;
	ck_assert_int_eq(dec(b, sizeof(b)), VEIL_E_OVERSIZE);
}

START_TEST(hs_init_oversize) { oversize_type(E2E_HS_INIT); } END_TEST
START_TEST(hs_resp_oversize) { oversize_type(E2E_HS_RESP); } END_TEST
START_TEST(hs_fin_oversize) { oversize_type(E2E_HS_FIN); } END_TEST
START_TEST(data_oversize) { oversize_type(E2E_DATA); } END_TEST

START_TEST(hs_resp_trailing)
{
	uint8_t b[256];

	ck_assert_int_eq(dec(b, mk(b, E2E_HS_RESP, HS_CT + 1)), VEIL_E_TRAILING);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_RESP, HS_CT + 40)), VEIL_E_TRAILING);
}
END_TEST

START_TEST(hs_fin_trailing)
{
	uint8_t b[256];

	ck_assert_int_eq(dec(b, mk(b, E2E_HS_FIN, HS_CT + 1)), VEIL_E_TRAILING);
}
END_TEST

/*
 * PROTOCOL.md 2, "Header errors": each condition gives its error, in the
 * order of the table (the first that applies decides).
 */
START_TEST(header_errors_mapped)
{
	static uint8_t b[E2E_MAX + 8];
	size_t n;

	/* Over E2E_MAX: OVERSIZE, before the version is looked at. */
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(dec(b, E2E_MAX + 1), VEIL_E_OVERSIZE);
	/* Nothing at all: TRUNCATED. */
	ck_assert_int_eq(dec(b, 0), VEIL_E_TRUNCATED);
	/* A version other than 2, even veil/1's: VERSION, from one byte on. */
	n = mk(b, E2E_HS_INIT, 0);
	b[0] = 1;
	ck_assert_int_eq(dec(b, n), VEIL_E_VERSION);
	ck_assert_int_eq(dec(b, 1), VEIL_E_VERSION);
	b[0] = E2E_VERSION;
	/* The version alone: TRUNCATED. */
	ck_assert_int_eq(dec(b, 1), VEIL_E_TRUNCATED);
	/* An unknown type (veil/1's HS_CONFIRM included): TYPE. */
	b[1] = 4;
	ck_assert_int_eq(dec(b, n), VEIL_E_TYPE);
	/* A handshake message shorter than its fixed length: TRUNCATED; longer: TRAILING. */
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_INIT, 0) - 1), VEIL_E_TRUNCATED);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_INIT, 1)), VEIL_E_TRAILING);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_RESP, HS_CT) - 1), VEIL_E_TRUNCATED);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_RESP, HS_CT + 1)), VEIL_E_TRAILING);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_FIN, HS_CT) - 1), VEIL_E_TRUNCATED);
	ck_assert_int_eq(dec(b, mk(b, E2E_HS_FIN, HS_CT + 1)), VEIL_E_TRAILING);
	/* DATA: below 183 bytes TRUNCATED; not a bucket plus tag LENGTH. */
	ck_assert_int_eq(dec(b, mk(b, E2E_DATA, PAD_MIN + AEAD_TAG_LEN) - 1),
	    VEIL_E_TRUNCATED);
	ck_assert_int_eq(dec(b, mk(b, E2E_DATA, PAD_MIN + AEAD_TAG_LEN + 1)), VEIL_E_LENGTH);
	/* Lengths before content: a bad point prefix is INVALID only at the right length. */
	n = mk(b, E2E_HS_RESP, HS_CT + 1);
	b[2] = 0x02;
	ck_assert_int_eq(dec(b, n), VEIL_E_TRAILING);
	ck_assert_int_eq(dec(b, n - 1), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_init_trailing)
{
	uint8_t b[128];

	ck_assert_int_eq(dec(b, mk(b, E2E_HS_INIT, 1)), VEIL_E_TRAILING);
}
END_TEST


START_TEST(data_not_a_bucket)
{
	static uint8_t b[E2E_MAX];
	static const size_t bad[] = { 65, 100, 127, 129, 200, 1000, 2049, 4095 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(dec(b, mk(b, E2E_DATA, bad[i] + AEAD_TAG_LEN)), VEIL_E_LENGTH);
	/* A bucket without its tag is not a bucket plus tag. */
	ck_assert_int_eq(dec(b, mk(b, E2E_DATA, 128)), VEIL_E_LENGTH);
	ck_assert_int_eq(dec(b, mk(b, E2E_DATA, 64)), VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(bad_version)
{
	uint8_t b[128];
	size_t n = mk(b, E2E_HS_INIT, 0);

	b[0] = 0;
	ck_assert_int_eq(dec(b, n), VEIL_E_VERSION);
	b[0] = 1;		/* veil/1 */
	ck_assert_int_eq(dec(b, n), VEIL_E_VERSION);
	b[0] = 3;
	ck_assert_int_eq(dec(b, n), VEIL_E_VERSION);
	ck_assert_int_eq(dec(b, 1), VEIL_E_VERSION);
	ck_assert_int_eq(proto_e2e_peek_type(b, n), VEIL_E_VERSION);
	b[0] = 0xff;
	ck_assert_int_eq(dec(b, n), VEIL_E_VERSION);
}
END_TEST

START_TEST(bad_type)
{
	static const uint8_t types[] = { 0, 4, 5, 15, 17, 0x81, 0xff };
	uint8_t b[128];
	size_t i, n = mk(b, E2E_HS_INIT, 0);

	for (i = 0; i < sizeof(types); i++) {
		b[1] = types[i];
		ck_assert_int_eq(dec(b, n), VEIL_E_TYPE);
		ck_assert_int_eq(dec(b, 2), VEIL_E_TYPE);
		/* peek hands back the raw type byte; the caller dispatches on it. */
		ck_assert_int_eq(proto_e2e_peek_type(b, n), types[i]);
	}
}
END_TEST

START_TEST(hs_init_compressed_point)
{
	uint8_t b[128];
	size_t n = mk(b, E2E_HS_INIT, 0);
	struct e2e_msg m;

	b[2] = 0x02;
	ck_assert_int_eq(proto_e2e_decode(b, n, &m), VEIL_E_INVALID);
	ck_assert_ptr_null(m.em_eph);
	b[2] = 0x00;
	ck_assert_int_eq(dec(b, n), VEIL_E_INVALID);
}
END_TEST

START_TEST(hs_resp_compressed_point)
{
	uint8_t b[256];
	size_t n = mk(b, E2E_HS_RESP, HS_CT);

	b[2] = 0x03;
	ck_assert_int_eq(dec(b, n), VEIL_E_INVALID);
}
END_TEST

START_TEST(peek_type)
{
	uint8_t b[4] = { E2E_VERSION, E2E_DATA, 0, 0 };

	ck_assert_int_eq(proto_e2e_peek_type(b, 2), E2E_DATA);
	ck_assert_int_eq(proto_e2e_peek_type(b, 1), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_e2e_peek_type(b, 0), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_e2e_peek_type(NULL, 4), VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(decode_error_zeroes_msg)
{
	uint8_t b[256];
	struct e2e_msg m;
	size_t n = mk(b, E2E_HS_RESP, HS_CT + 1);

	memset(&m, 0xa5, sizeof(m));
	ck_assert_int_ne(proto_e2e_decode(b, n, &m), 0);
	ck_assert_uint_eq(m.em_type, 0);
	ck_assert_ptr_null(m.em_eph);
	ck_assert_ptr_null(m.em_ct);
	ck_assert_uint_eq(m.em_ctlen, 0);
}
END_TEST

START_TEST(bitflip_header)
{
	/* Every flipped bit of version or type turns DATA into something refused. */
	static uint8_t b[E2E_MAX];
	size_t n = mk(b, E2E_DATA, 256 + AEAD_TAG_LEN);
	int byte, bit;

	for (byte = 0; byte < 2; byte++)
		for (bit = 0; bit < 8; bit++) {
			b[byte] ^= (uint8_t)(1 << bit);
			ck_assert_int_ne(dec(b, n), 0);
			b[byte] ^= (uint8_t)(1 << bit);
		}
	ck_assert_int_eq(dec(b, n), 0);
}
END_TEST

START_TEST(encode_data_sizes)
{
	/* The encoder refuses a ciphertext that is not a bucket plus tag, either side. */
	static uint8_t out[2 * E2E_MAX];
	struct e2e_msg m = { .em_type = E2E_DATA, .em_hn = hnbuf, .em_hct = hctbuf,
	    .em_ct = ctbuf };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	m.em_ctlen = PAD_MAX + AEAD_TAG_LEN + 1;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_OVERSIZE);
	m.em_ctlen = 2 * PAD_MAX + AEAD_TAG_LEN;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_OVERSIZE);
	m.em_ctlen = PAD_MIN + AEAD_TAG_LEN - 1;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TRUNCATED);
	m.em_ctlen = PAD_MIN;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TRUNCATED);
	ck_assert_uint_eq(w.vb_len, 0);
	m.em_ctlen = PAD_MAX + AEAD_TAG_LEN;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), 0);
	ck_assert_uint_eq(w.vb_len, E2E_MAX);
}
END_TEST

START_TEST(encode_nospace)
{
	uint8_t out[66];
	struct e2e_msg m = { .em_type = E2E_HS_INIT, .em_eph = eph };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(encode_checks_rules)
{
	uint8_t out[512], bad[P256_PUB_LEN] = { 0x02 };
	struct e2e_msg m = { .em_type = E2E_HS_RESP, .em_eph = eph, .em_ct = ctbuf,
	    .em_ctlen = HS_CT + 1 };
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TRAILING);
	m.em_ctlen = HS_CT - 1;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TRUNCATED);
	m.em_ctlen = HS_CT;
	m.em_eph = bad;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_INVALID);
	m.em_eph = NULL;
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_INVALID);
	m = (struct e2e_msg){ .em_type = E2E_DATA, .em_hn = hnbuf, .em_hct = hctbuf,
	    .em_ct = ctbuf, .em_ctlen = 100 };
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_LENGTH);
	m = (struct e2e_msg){ .em_type = E2E_HS_FIN, .em_ct = NULL, .em_ctlen = HS_CT };
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_INVALID);
	m = (struct e2e_msg){ .em_type = 4, .em_ct = ctbuf, .em_ctlen = 80 };
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TYPE);
	m = (struct e2e_msg){ .em_type = 9 };
	ck_assert_int_eq(proto_e2e_encode(&w, &m), VEIL_E_TYPE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

/* ---- identity blocks -------------------------------------------------- */

START_TEST(idb_exact_bytes)
{
	uint8_t out[E2E_IDB_LEN], want[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nl;

	memset(out, 0xaa, sizeof(out));
	memset(want, 0, sizeof(want));
	unit_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "03 626f62", want, sizeof(want));
	ck_assert_int_eq(proto_idb_encode(out, idkey, (const uint8_t *)"bob", 3), 0);
	ck_assert_mem_eq(out, want, E2E_IDB_LEN);	/* padded with zeros to 65 */
	ck_assert_int_eq(proto_idb_decode(out, sizeof(out), &id, &nick, &nl), 0);
	ck_assert_ptr_eq(id, out);
	ck_assert_ptr_eq(nick, out + ED25519_PUB_LEN + 1);
	ck_assert_uint_eq(nl, 3);
}
END_TEST

START_TEST(idb_every_nick_length_same_size)
{
	uint8_t out[E2E_IDB_LEN], nick[NICK_MAX];
	const uint8_t *id, *nk;
	size_t len, nl;

	memset(nick, 'n', sizeof(nick));
	for (len = 1; len <= NICK_MAX; len++) {
		ck_assert_int_eq(proto_idb_encode(out, idkey, nick, len), 0);
		ck_assert_int_eq(proto_idb_decode(out, E2E_IDB_LEN, &id, &nk, &nl), 0);
		ck_assert_uint_eq(nl, len);
		ck_assert_mem_eq(nk, nick, len);
		ck_assert_mem_eq(id, idkey, ED25519_PUB_LEN);
	}
}
END_TEST

START_TEST(idb_wrong_length)
{
	uint8_t out[E2E_IDB_LEN + 1];
	const uint8_t *id, *nick;
	size_t nl, n;

	ck_assert_int_eq(proto_idb_encode(out, idkey, (const uint8_t *)"carol", 5), 0);
	out[E2E_IDB_LEN] = 0;
	for (n = 0; n <= E2E_IDB_LEN + 1; n++) {
		if (n == E2E_IDB_LEN)
			continue;
		ck_assert_int_eq(proto_idb_decode(out, n, &id, &nick, &nl), VEIL_E_LENGTH);
		ck_assert_ptr_null(id);
		ck_assert_ptr_null(nick);
		ck_assert_uint_eq(nl, 0);
	}
	ck_assert_int_eq(proto_idb_decode(NULL, E2E_IDB_LEN, &id, &nick, &nl), VEIL_E_LENGTH);
}
END_TEST

START_TEST(idb_bad_nick_length)
{
	uint8_t b[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nl;

	memset(b, 0, sizeof(b));
	ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl), VEIL_E_INVALID);
	b[ED25519_PUB_LEN] = NICK_MAX + 1;
	ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl), VEIL_E_INVALID);
	b[ED25519_PUB_LEN] = 0xff;
	ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl), VEIL_E_INVALID);
	ck_assert_ptr_null(id);
}
END_TEST

START_TEST(idb_bad_nick_bytes)
{
	uint8_t b[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nl;

	ck_assert_int_eq(proto_idb_encode(b, idkey, (const uint8_t *)"alice", 5), 0);
	b[ED25519_PUB_LEN + 1 + 2] = ' ';
	ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl), VEIL_E_NICK);
	/* A length that takes in the zero padding: a NUL is no nick byte. */
	ck_assert_int_eq(proto_idb_encode(b, idkey, (const uint8_t *)"alice", 5), 0);
	b[ED25519_PUB_LEN] = 6;
	ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl), VEIL_E_NICK);
}
END_TEST

START_TEST(idb_padding_not_zero)
{
	uint8_t b[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nl, i;

	/* Every padding byte: one encoding per identity, nothing hidden in it. */
	for (i = ED25519_PUB_LEN + 1 + 3; i < E2E_IDB_LEN; i++) {
		ck_assert_int_eq(proto_idb_encode(b, idkey, (const uint8_t *)"bob", 3), 0);
		b[i] = 0x01;
		ck_assert_int_eq(proto_idb_decode(b, sizeof(b), &id, &nick, &nl),
		    VEIL_E_INVALID);
		ck_assert_ptr_null(nick);
	}
}
END_TEST

START_TEST(idb_encode_refuses)
{
	uint8_t out[E2E_IDB_LEN], nick[NICK_MAX + 1];

	memset(nick, 'a', sizeof(nick));
	ck_assert_int_eq(proto_idb_encode(out, idkey, nick, 0), VEIL_E_NICK);
	ck_assert_int_eq(proto_idb_encode(out, idkey, nick, NICK_MAX + 1), VEIL_E_NICK);
	ck_assert_int_eq(proto_idb_encode(out, idkey, (const uint8_t *)"a/b", 3), VEIL_E_NICK);
	ck_assert_int_eq(proto_idb_encode(out, idkey, NULL, 3), VEIL_E_NICK);
}
END_TEST

/* ---- padding ----------------------------------------------------------- */

START_TEST(pad_bucket_boundaries)
{
	static const size_t tab[][2] = {
		{ 0, 64 }, { 1, 64 }, { 63, 64 }, { 64, 64 }, { 65, 128 },
		{ 128, 128 }, { 129, 256 }, { 256, 256 }, { 257, 512 },
		{ 512, 512 }, { 513, 1024 }, { 1024, 1024 }, { 1025, 2048 },
		{ 2048, 2048 }, { 2049, 4096 }, { 4096, 4096 }, { 4097, 0 },
		{ 100000, 0 }, { (size_t)-1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		ck_assert_msg(proto_pad_bucket(tab[i][0]) == tab[i][1],
		    "bucket(%zu) = %zu, want %zu", tab[i][0], proto_pad_bucket(tab[i][0]),
		    tab[i][1]);
}
END_TEST

/*
 * A TEXT body of bodylen bytes (INNER_TEXT_HDR_LEN + text): stream
 * 0x0102030405060708, seq 1, no flags, text 'x's.
 */
static const uint8_t *
text_body(void)
{
	static uint8_t b[2 * PAD_MAX];

	memset(b, 'x', sizeof(b));
	unit_hex("0102030405060708 00000001 00", b, INNER_TEXT_HDR_LEN);
	return b;
}

/* Encodes a TEXT body of bodylen bytes and returns the encoded (bucket) size. */
static size_t
text_size(size_t bodylen)
{
	static uint8_t out[PAD_MAX];
	const uint8_t *in = text_body(), *body;
	uint8_t kind;
	size_t len;
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, in, bodylen), 0);
	ck_assert_int_eq(proto_inner_decode(out, w.vb_len, &kind, &body, &len), 0);
	ck_assert_uint_eq(kind, IK_TEXT);
	ck_assert_uint_eq(len, bodylen);
	ck_assert_ptr_eq(body, out + INNER_HDR_LEN);
	return w.vb_len;
}

START_TEST(pad_body_61_fits_64)
{
	ck_assert_uint_eq(text_size(INNER_TEXT_HDR_LEN + 1), 64);
	ck_assert_uint_eq(text_size(61), 64);
}
END_TEST

START_TEST(pad_body_62_needs_128)
{
	ck_assert_uint_eq(text_size(62), 128);
	ck_assert_uint_eq(text_size(125), 128);
}
END_TEST

START_TEST(pad_every_bucket_edge)
{
	size_t bucket;

	for (bucket = 128; bucket <= PAD_MAX; bucket *= 2) {
		if (bucket - INNER_HDR_LEN <= INNER_BODY_MAX)
			ck_assert_uint_eq(text_size(bucket - INNER_HDR_LEN), bucket);
		ck_assert_uint_eq(text_size(bucket / 2 - INNER_HDR_LEN + 1), bucket);
	}
}
END_TEST

START_TEST(pad_text_4000_fits_4096)
{
	ck_assert_uint_eq(text_size(INNER_TEXT_HDR_LEN + MSG_MAX), PAD_MAX);
}
END_TEST

START_TEST(pad_text_4001_refused)
{
	static uint8_t out[2 * PAD_MAX];
	const uint8_t *in = text_body();
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, in, 4094), VEIL_E_OVERSIZE);
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, in, 4093), VEIL_E_OVERSIZE);
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, in, INNER_BODY_MAX + 1),
	    VEIL_E_OVERSIZE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(inner_text_exact_bytes)
{
	uint8_t out[PAD_MIN], want[PAD_MIN], body[INNER_TEXT_HDR_LEN + 2];
	struct vbuf w;

	memset(out, 0xaa, sizeof(out));
	memset(want, 0, sizeof(want));
	unit_hex("01 000f 0102030405060708 00000001 00 6869", want, sizeof(want));
	unit_hex("0102030405060708 00000001 00 6869", body, sizeof(body));
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, body, sizeof(body)), 0);
	ck_assert_uint_eq(w.vb_len, PAD_MIN);
	ck_assert_mem_eq(out, want, PAD_MIN);	/* padding written as zeros */
}
END_TEST

START_TEST(inner_text_empty_refused)
{
	uint8_t out[PAD_MIN];
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, text_body(), 0), VEIL_E_LENGTH);
	/* The header alone: no text. */
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, text_body(), INNER_TEXT_HDR_LEN),
	    VEIL_E_LENGTH);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(inner_rekey_kinds_refused)
{
	/* veil/1's REKEY_INIT / REKEY_RESP (2, 3): gone, whatever the body. */
	uint8_t in[128] = { 2, 0, P256_PUB_LEN }, out[256], kind;
	const uint8_t *body;
	size_t bodylen;
	struct vbuf w;
	uint8_t k;

	memcpy(in + INNER_HDR_LEN, eph, P256_PUB_LEN);
	for (k = 2; k <= 3; k++) {
		in[0] = k;
		ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
		    VEIL_E_TYPE);
		vbuf_writer(&w, out, sizeof(out));
		ck_assert_int_eq(proto_inner_encode(&w, k, eph, P256_PUB_LEN), VEIL_E_TYPE);
		ck_assert_uint_eq(w.vb_len, 0);
	}
}
END_TEST

START_TEST(inner_close_roundtrip)
{
	uint8_t out[PAD_MIN], want[PAD_MIN] = { IK_CLOSE, 0, 0 }, kind;
	const uint8_t *body;
	size_t bodylen;
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_CLOSE, NULL, 0), 0);
	ck_assert_uint_eq(w.vb_len, PAD_MIN);
	ck_assert_mem_eq(out, want, PAD_MIN);
	ck_assert_int_eq(proto_inner_decode(out, w.vb_len, &kind, &body, &bodylen), 0);
	ck_assert_uint_eq(kind, IK_CLOSE);
	ck_assert_uint_eq(bodylen, 0);
}
END_TEST

START_TEST(inner_close_with_body)
{
	uint8_t out[PAD_MIN] = { IK_CLOSE, 0, 1, 'x' }, kind;
	const uint8_t *body;
	size_t bodylen;
	struct vbuf w;

	ck_assert_int_eq(proto_inner_decode(out, sizeof(out), &kind, &body, &bodylen),
	    VEIL_E_LENGTH);
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_CLOSE, (const uint8_t *)"x", 1),
	    VEIL_E_LENGTH);
}
END_TEST

START_TEST(inner_bad_kind)
{
	static const uint8_t kinds[] = { 0, 2, 3, 9, 0x10, 0xff };
	uint8_t in[PAD_MIN] = { 0, 0, 4, 0, 0, 0, 1 }, out[PAD_MIN], kind;
	const uint8_t *body;
	size_t i, bodylen;
	struct vbuf w;

	for (i = 0; i < sizeof(kinds); i++) {
		in[0] = kinds[i];
		ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
		    VEIL_E_TYPE);
		vbuf_writer(&w, out, sizeof(out));
		ck_assert_int_eq(proto_inner_encode(&w, kinds[i], in + 3, 4), VEIL_E_TYPE);
	}
}
END_TEST

START_TEST(inner_nonzero_padding)
{
	uint8_t out[128], kind;
	const uint8_t *body;
	size_t bodylen, i, n = INNER_TEXT_HDR_LEN + 5;
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, text_body(), n), 0);
	for (i = INNER_HDR_LEN + n; i < PAD_MIN; i++) {
		out[i] = 0x01;
		ck_assert_int_eq(proto_inner_decode(out, PAD_MIN, &kind, &body, &bodylen),
		    VEIL_E_INVALID);
		ck_assert_ptr_null(body);
		out[i] = 0;
	}
	ck_assert_int_eq(proto_inner_decode(out, PAD_MIN, &kind, &body, &bodylen), 0);
}
END_TEST

START_TEST(inner_len_past_bucket)
{
	uint8_t in[PAD_MIN], kind;
	const uint8_t *body;
	size_t bodylen;

	memset(in, 0, sizeof(in));
	in[0] = IK_TEXT;
	unit_hex("0102030405060708 00000001 00", in + INNER_HDR_LEN, INNER_TEXT_HDR_LEN);
	veil_put16(in + 1, PAD_MIN - INNER_HDR_LEN + 1);
	ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
	    VEIL_E_LENGTH);
	veil_put16(in + 1, 0xffff);
	ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
	    VEIL_E_LENGTH);
	veil_put16(in + 1, PAD_MIN - INNER_HDR_LEN);	/* exactly fills it: fine */
	memset(in + INNER_HDR_LEN + INNER_TEXT_HDR_LEN, 'y',
	    PAD_MIN - INNER_HDR_LEN - INNER_TEXT_HDR_LEN);
	ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen), 0);
}
END_TEST

START_TEST(inner_not_a_bucket)
{
	static uint8_t in[2 * PAD_MAX];
	static const size_t bad[] = { 0, 3, 63, 65, 96, 100, 4095, 4097, 8192 };
	uint8_t kind;
	const uint8_t *body;
	size_t i, bodylen;

	in[0] = IK_PING;
	veil_put16(in + 1, INNER_TOKEN_LEN);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(proto_inner_decode(in, bad[i], &kind, &body, &bodylen),
		    VEIL_E_LENGTH);
	ck_assert_int_eq(proto_inner_decode(NULL, PAD_MIN, &kind, &body, &bodylen),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(proto_inner_decode(in, PAD_MIN, &kind, &body, &bodylen), 0);
}
END_TEST

START_TEST(inner_padding_not_minimal)
{
	/* A PING padded to 128 instead of 64 is refused: only one encoding. */
	uint8_t in[128] = { IK_PING, 0, 4, 0, 0, 0, 7 }, kind;
	const uint8_t *body;
	size_t bodylen;

	ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(proto_inner_decode(in, PAD_MIN, &kind, &body, &bodylen), 0);
}
END_TEST

START_TEST(inner_text_over_max_in_bucket)
{
	/* 4001..4080 bytes of text would fit the 4096 bucket but are over MSG_MAX. */
	static uint8_t in[PAD_MAX];
	uint8_t kind;
	const uint8_t *body;
	size_t bodylen;

	in[0] = IK_TEXT;
	veil_put16(in + 1, INNER_BODY_MAX + 1);
	memcpy(in + INNER_HDR_LEN, text_body(), INNER_BODY_MAX + 1);
	ck_assert_int_eq(proto_inner_decode(in, sizeof(in), &kind, &body, &bodylen),
	    VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(inner_encode_null_body)
{
	uint8_t out[PAD_MAX];
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, NULL, 20), VEIL_E_INVALID);
	ck_assert_int_eq(proto_inner_encode(&w, IK_PING, NULL, INNER_TOKEN_LEN),
	    VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(inner_encode_nospace)
{
	uint8_t out[PAD_MIN - 1];
	struct vbuf w;

	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_encode(&w, IK_TEXT, text_body(), 20), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

/* ---- inner kinds' bodies (inner.c) --------------------------------------- */

static int
parse_hex(uint8_t kind, const char *hex, struct inner_msg *m)
{
	static uint8_t b[INNER_VIEW_LEN_MAX + 64];
	size_t n = 0;
	const char *p;

	for (p = hex; *p != '\0'; p++)
		if (proto_hex_digit(*p) >= 0)
			n++;
	unit_hex(hex, b, n / 2);
	return proto_inner_parse(kind, b, n / 2, m);
}

START_TEST(inner_kinds_exact)
{
	struct inner_msg m;

	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000002 01 41", &m), 0);
	ck_assert_uint_eq(m.in_kind, IK_TEXT);
	ck_assert(m.in_stream == 0x0102030405060708ULL);
	ck_assert_uint_eq(m.in_seq, 2);
	ck_assert_uint_eq(m.in_flags, INNER_PRIVATE);
	ck_assert_uint_eq(m.in_textlen, 1);
	ck_assert_uint_eq(m.in_text[0], 'A');
	ck_assert_int_eq(parse_hex(IK_ACK, "0102030405060708 0000002a", &m), 0);
	ck_assert_uint_eq(m.in_seq, 42);
	ck_assert_int_eq(parse_hex(IK_ACK, "0102030405060708 00000000", &m), 0);
	ck_assert_int_eq(parse_hex(IK_PING, "deadbeef", &m), 0);
	ck_assert_uint_eq(m.in_seq, 0xdeadbeef);
	ck_assert_int_eq(parse_hex(IK_PONG, "00000000", &m), 0);
	ck_assert_int_eq(proto_inner_parse(IK_CLOSE, NULL, 0, &m), 0);
	ck_assert_uint_eq(m.in_kind, IK_CLOSE);
}
END_TEST

START_TEST(inner_kinds_malformed)
{
	struct inner_msg m;

	/* TEXT: seq 0, an unknown flag, no text, a short header. */
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000000 00 41", &m),
	    VEIL_E_INVALID);
	ck_assert_uint_eq(m.in_kind, 0);
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000001 04 41", &m),
	    VEIL_E_INVALID);
	/* FIRST (0x02) and PRIVATE together are fine (PROTOCOL.md 2.8). */
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000001 03 41", &m), 0);
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000001 80 41", &m),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 00000001 00", &m),
	    VEIL_E_LENGTH);
	ck_assert_int_eq(parse_hex(IK_TEXT, "0102030405060708 0000", &m), VEIL_E_LENGTH);
	/* ACK, PING, PONG: one length each. */
	ck_assert_int_eq(parse_hex(IK_ACK, "0102030405060708 000000", &m), VEIL_E_LENGTH);
	ck_assert_int_eq(parse_hex(IK_ACK, "0102030405060708 0000000100", &m), VEIL_E_LENGTH);
	ck_assert_int_eq(parse_hex(IK_PING, "000001", &m), VEIL_E_LENGTH);
	ck_assert_int_eq(parse_hex(IK_PONG, "0000000100", &m), VEIL_E_LENGTH);
	ck_assert_int_eq(proto_inner_parse(IK_PING, NULL, 0, &m), VEIL_E_LENGTH);
	/* CLOSE: empty. */
	ck_assert_int_eq(parse_hex(IK_CLOSE, "00", &m), VEIL_E_LENGTH);
	/* Unknown kinds, veil/1's rekey kinds included. */
	ck_assert_int_eq(parse_hex(0, "00000001", &m), VEIL_E_TYPE);
	ck_assert_int_eq(parse_hex(2, "00000001", &m), VEIL_E_TYPE);
	ck_assert_int_eq(parse_hex(3, "00000001", &m), VEIL_E_TYPE);
	ck_assert_int_eq(parse_hex(9, "00000001", &m), VEIL_E_TYPE);
}
END_TEST

/* A VIEW of n ids, id i all bytes base + i (ascending), into b; its length. */
static size_t
view_body(uint8_t *b, size_t n, uint8_t base)
{
	size_t i;

	b[0] = (uint8_t)n;
	for (i = 0; i < n; i++)
		memset(b + 1 + i * ED25519_PUB_LEN, base + (int)i, ED25519_PUB_LEN);
	return 1 + n * ED25519_PUB_LEN;
}

START_TEST(inner_view_rules)
{
	static uint8_t b[INNER_VIEW_LEN_MAX + ED25519_PUB_LEN], out[INNER_VIEW_LEN_MAX];
	struct inner_msg m;
	struct vbuf w;
	size_t n;

	n = view_body(b, 1, 0);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), 0);
	ck_assert_uint_eq(m.in_nview, 1);
	ck_assert_ptr_eq(m.in_view, b + 1);
	n = view_body(b, INNER_VIEW_MAX, 1);
	ck_assert_uint_eq(n, INNER_VIEW_LEN_MAX);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), 0);
	ck_assert_uint_eq(m.in_nview, INNER_VIEW_MAX);
	/* Rebuilt byte for byte. */
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_build(&w, &m), 0);
	ck_assert_uint_eq(w.vb_len, n);
	ck_assert_mem_eq(out, b, n);
	/* 65 ids, 0 ids. */
	n = view_body(b, INNER_VIEW_MAX + 1, 1);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), VEIL_E_INVALID);
	b[0] = 0;
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, 1, &m), VEIL_E_INVALID);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, 0, &m), VEIL_E_LENGTH);
	/* n says 2, 1 or 3 ids follow; a partial id. */
	n = view_body(b, 2, 1);
	b[0] = 3;
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), VEIL_E_LENGTH);
	b[0] = 1;
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), VEIL_E_LENGTH);
	b[0] = 2;
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n - 1, &m), VEIL_E_LENGTH);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), 0);
	/* Descending, and a duplicate: refused. */
	memset(b + 1, 9, ED25519_PUB_LEN);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), VEIL_E_INVALID);
	memset(b + 1, 2, ED25519_PUB_LEN);
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), VEIL_E_INVALID);
	/* Equal except in the last byte: order is memcmp's. */
	b[ED25519_PUB_LEN] = 1;
	ck_assert_int_eq(proto_inner_parse(IK_VIEW, b, n, &m), 0);
	ck_assert_uint_eq(m.in_kind, IK_VIEW);
}
END_TEST

START_TEST(inner_build_checks)
{
	static uint8_t big[MSG_MAX + 1];
	uint8_t out[INNER_BODY_MAX + 1];
	struct inner_msg m;
	struct vbuf w;

	memset(&m, 0, sizeof(m));
	m.in_kind = IK_TEXT;
	m.in_stream = 7;
	m.in_seq = 1;
	m.in_text = (const uint8_t *)"hello";
	m.in_textlen = 5;
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_build(&w, &m), 0);
	ck_assert_uint_eq(w.vb_len, INNER_TEXT_HDR_LEN + 5);
	/* A bad one leaves nothing behind, not even the text. */
	m.in_flags = 0x04;
	ck_assert_int_eq(proto_inner_build(&w, &m), VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, INNER_TEXT_HDR_LEN + 5);
	ck_assert_ptr_null(memmem(out + w.vb_len, sizeof(out) - w.vb_len, "hello", 5));
	m.in_flags = 0;
	m.in_seq = 0;
	ck_assert_int_eq(proto_inner_build(&w, &m), VEIL_E_INVALID);
	m.in_seq = 1;
	/* The text must be as long as it says (the builder copies, then checks). */
	memset(big, 'x', sizeof(big));
	m.in_text = big;
	m.in_textlen = MSG_MAX + 1;
	vbuf_writer(&w, out, sizeof(out));
	ck_assert_int_eq(proto_inner_build(&w, &m), VEIL_E_OVERSIZE);
	m.in_kind = 3;
	ck_assert_int_eq(proto_inner_build(&w, &m), VEIL_E_TYPE);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_int_eq(proto_inner_sealable(IK_TEXT), 1);
	ck_assert_int_eq(proto_inner_sealable(IK_VIEW), 1);
	ck_assert_int_eq(proto_inner_sealable(IK_CLOSE), 0);
	ck_assert_int_eq(proto_inner_sealable(2), 0);
}
END_TEST

/* ---- nicknames ---------------------------------------------------------- */

static int
nick(const char *s)
{
	return proto_nick_valid((const uint8_t *)s, strlen(s));
}

START_TEST(nick_lengths)
{
	uint8_t n[NICK_MAX + 1];

	memset(n, 'a', sizeof(n));
	ck_assert_int_eq(proto_nick_valid(n, 0), 0);
	ck_assert_int_eq(proto_nick_valid(n, 1), 1);
	ck_assert_int_eq(proto_nick_valid(n, NICK_MAX), 1);
	ck_assert_int_eq(proto_nick_valid(n, NICK_MAX + 1), 0);
	ck_assert_int_eq(proto_nick_valid(NULL, 3), 0);
}
END_TEST

START_TEST(nick_allowed_chars)
{
	ck_assert_int_eq(nick("abcdefghijklmnopqrstuvwxyz"), 1);
	ck_assert_int_eq(nick("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 1);
	ck_assert_int_eq(nick("0123456789"), 1);
	ck_assert_int_eq(nick("a_b.c-d"), 1);
	ck_assert_int_eq(nick("-"), 1);
	ck_assert_int_eq(nick("."), 1);
	ck_assert_int_eq(nick("_"), 1);
}
END_TEST

START_TEST(nick_bad_chars)
{
	static const char *bad[] = { "a b", "a/b", "a:b", "a@b", "a\tb", "a\nb",
	    "a\x1b[31m", "a\x7f", "a+b", "a=b", "a,b", "a\\b", "a'b", "a\"b", "*", "" };
	uint8_t withnul[3] = { 'a', 0, 'b' };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(nick(bad[i]) == 0, "nick %zu accepted", i);
	ck_assert_int_eq(proto_nick_valid(withnul, 3), 0);
}
END_TEST

START_TEST(nick_utf8_refused)
{
	ck_assert_int_eq(nick("caf\xc3\xa9"), 0);		/* é */
	ck_assert_int_eq(nick("\xe2\x80\xae" "abc"), 0);	/* right-to-left override */
	ck_assert_int_eq(nick("\xc2\x85"), 0);			/* C1 NEL */
	ck_assert_int_eq(nick("a\xff"), 0);
}
END_TEST

/* ---- fingerprints ------------------------------------------------------- */

static const char fpr_text[] = "0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:4567";
static const char fpr_hex[] = "00112233445566778899aabbccddeeff01234567";

START_TEST(fpr_format_exact)
{
	uint8_t fpr[FPR_LEN];
	char out[FPR_TEXT_LEN + 1];

	unit_hex(fpr_hex, fpr, sizeof(fpr));
	memset(out, 'X', sizeof(out));
	proto_fpr_format(fpr, out);
	ck_assert_str_eq(out, fpr_text);
	ck_assert_uint_eq(strlen(out), FPR_TEXT_LEN);
}
END_TEST

START_TEST(fpr_parse_colon)
{
	uint8_t fpr[FPR_LEN];

	ck_assert_int_eq(proto_fpr_parse(fpr_text, fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), fpr_hex);
}
END_TEST

START_TEST(fpr_parse_dash)
{
	uint8_t fpr[FPR_LEN];

	ck_assert_int_eq(proto_fpr_parse("0011-2233-4455-6677-8899-aabb-ccdd-eeff-0123-4567",
	    fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), fpr_hex);
}
END_TEST

START_TEST(fpr_parse_bare)
{
	uint8_t fpr[FPR_LEN];

	ck_assert_int_eq(proto_fpr_parse(fpr_hex, fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), fpr_hex);
}
END_TEST

START_TEST(fpr_parse_upper_and_mixed_case)
{
	uint8_t fpr[FPR_LEN];

	ck_assert_int_eq(proto_fpr_parse("0011:2233:4455:6677:8899:AABB:CCDD:EEFF:0123:4567",
	    fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), fpr_hex);
	ck_assert_int_eq(proto_fpr_parse("00112233445566778899AaBbCcDdEeFf01234567", fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), fpr_hex);
}
END_TEST

START_TEST(fpr_format_parse_roundtrip)
{
	uint8_t fpr[FPR_LEN], back[FPR_LEN];
	char out[FPR_TEXT_LEN + 1];
	int v;

	for (v = 0; v < 256; v += 0x55) {
		memset(fpr, v, sizeof(fpr));
		fpr[0] = (uint8_t)~v;
		proto_fpr_format(fpr, out);
		ck_assert_int_eq(proto_fpr_parse(out, back), 0);
		ck_assert_mem_eq(fpr, back, FPR_LEN);
	}
}
END_TEST

START_TEST(fpr_parse_wrong_length)
{
	static const char *bad[] = {
		"",
		"00112233445566778899aabbccddeeff0123456",		/* 39 */
		"00112233445566778899aabbccddeeff012345678",		/* 41 */
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:456",	/* 48 */
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:45678",	/* 50 */
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123",
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:4567:",
		"00112233445566778899aabbccddeeff0123456700112233",
	};
	uint8_t fpr[FPR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(proto_fpr_parse(bad[i], fpr) == VEIL_E_INVALID, "accepted %s", bad[i]);
}
END_TEST

START_TEST(fpr_parse_bad_digit)
{
	static const char *bad[] = {
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:456g",
		"g0112233445566778899aabbccddeeff01234567",
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123: 567",
		"0x112233445566778899aabbccddeeff01234567",
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:\303\25167",
	};
	uint8_t fpr[FPR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(proto_fpr_parse(bad[i], fpr) == VEIL_E_INVALID, "accepted %s", bad[i]);
}
END_TEST

START_TEST(fpr_parse_bad_separators)
{
	static const char *bad[] = {
		"0011:2233-4455:6677:8899:aabb:ccdd:eeff:0123:4567",	/* mixed */
		"0011 2233 4455 6677 8899 aabb ccdd eeff 0123 4567",	/* spaces */
		"0011.2233.4455.6677.8899.aabb.ccdd.eeff.0123.4567",
		"001:12233:4455:6677:8899:aabb:ccdd:eeff:0123:4567",	/* misplaced */
		"00112:233:4455:6677:8899:aabb:ccdd:eeff:0123:4567",
		"0011::233:4455:6677:8899:aabb:ccdd:eeff:0123:4567",
		"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:4567\n",
		" 0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:4567",
	};
	uint8_t fpr[FPR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(proto_fpr_parse(bad[i], fpr) == VEIL_E_INVALID, "accepted %s", bad[i]);
}
END_TEST

START_TEST(fpr_parse_failure_zeroes)
{
	static const uint8_t zero[FPR_LEN];
	uint8_t fpr[FPR_LEN];

	memset(fpr, 0xee, sizeof(fpr));
	ck_assert_int_eq(proto_fpr_parse("0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:456z",
	    fpr), VEIL_E_INVALID);
	ck_assert_mem_eq(fpr, zero, FPR_LEN);
	memset(fpr, 0xee, sizeof(fpr));
	ck_assert_int_eq(proto_fpr_parse(NULL, fpr), VEIL_E_INVALID);
	ck_assert_mem_eq(fpr, zero, FPR_LEN);
}
END_TEST

Suite *suite_e2e(void);

Suite *
suite_e2e(void)
{
	Suite *s = suite_create("e2e");
	TCase *msg = tcase_create("message");
	TCase *hs = tcase_create("idb");
	TCase *pad = tcase_create("padding");
	TCase *nk = tcase_create("nick");
	TCase *fp = tcase_create("fingerprint");
	size_t i;

	memset(eph, 0x11, sizeof(eph));
	eph[0] = 0x04;
	for (i = 0; i < sizeof(ctbuf); i++)
		ctbuf[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(idkey); i++)
		idkey[i] = (uint8_t)i;
	memset(sigbytes, 0x5e, sizeof(sigbytes));

	tcase_add_test(msg, hs_init_roundtrip);
	tcase_add_test(msg, hs_resp_roundtrip);
	tcase_add_test(msg, hs_fin_roundtrip);
	tcase_add_test(msg, hs_confirm_is_gone);
	tcase_add_test(msg, data_roundtrip_every_bucket);
	tcase_add_test(msg, data_exact_bytes);
	tcase_add_test(msg, hs_init_truncated);
	tcase_add_test(msg, hs_resp_truncated);
	tcase_add_test(msg, hs_fin_truncated);
	tcase_add_test(msg, data_truncated);
	tcase_add_test(msg, oversize);
	tcase_add_test(msg, hs_resp_oversize);
	tcase_add_test(msg, hs_init_oversize);

	tcase_add_test(msg, data_oversize);
	tcase_add_test(msg, hs_fin_oversize);
	tcase_add_test(msg, hs_init_trailing);
	tcase_add_test(msg, hs_resp_trailing);
	tcase_add_test(msg, hs_fin_trailing);
	tcase_add_test(msg, header_errors_mapped);
	tcase_add_test(msg, data_not_a_bucket);
	tcase_add_test(msg, bad_version);
	tcase_add_test(msg, bad_type);
	tcase_add_test(msg, hs_init_compressed_point);
	tcase_add_test(msg, hs_resp_compressed_point);
	tcase_add_test(msg, peek_type);
	tcase_add_test(msg, decode_error_zeroes_msg);
	tcase_add_test(msg, bitflip_header);
	tcase_add_test(msg, encode_nospace);
	tcase_add_test(msg, encode_data_sizes);
	tcase_add_test(msg, encode_checks_rules);

	tcase_add_test(hs, idb_exact_bytes);
	tcase_add_test(hs, idb_every_nick_length_same_size);
	tcase_add_test(hs, idb_wrong_length);
	tcase_add_test(hs, idb_bad_nick_length);
	tcase_add_test(hs, idb_bad_nick_bytes);
	tcase_add_test(hs, idb_padding_not_zero);
	tcase_add_test(hs, idb_encode_refuses);

	tcase_add_test(pad, pad_bucket_boundaries);
	tcase_add_test(pad, pad_body_61_fits_64);
	tcase_add_test(pad, pad_body_62_needs_128);
	tcase_add_test(pad, pad_every_bucket_edge);
	tcase_add_test(pad, pad_text_4000_fits_4096);
	tcase_add_test(pad, pad_text_4001_refused);
	tcase_add_test(pad, inner_text_exact_bytes);
	tcase_add_test(pad, inner_text_empty_refused);
	tcase_add_test(pad, inner_rekey_kinds_refused);
	tcase_add_test(pad, inner_kinds_exact);
	tcase_add_test(pad, inner_kinds_malformed);
	tcase_add_test(pad, inner_view_rules);
	tcase_add_test(pad, inner_build_checks);
	tcase_add_test(pad, inner_close_roundtrip);
	tcase_add_test(pad, inner_close_with_body);
	tcase_add_test(pad, inner_bad_kind);
	tcase_add_test(pad, inner_nonzero_padding);
	tcase_add_test(pad, inner_len_past_bucket);
	tcase_add_test(pad, inner_not_a_bucket);
	tcase_add_test(pad, inner_padding_not_minimal);
	tcase_add_test(pad, inner_text_over_max_in_bucket);
	tcase_add_test(pad, inner_encode_nospace);
	tcase_add_test(pad, inner_encode_null_body);

	tcase_add_test(nk, nick_lengths);
	tcase_add_test(nk, nick_allowed_chars);
	tcase_add_test(nk, nick_bad_chars);
	tcase_add_test(nk, nick_utf8_refused);

	tcase_add_test(fp, fpr_format_exact);
	tcase_add_test(fp, fpr_parse_colon);
	tcase_add_test(fp, fpr_parse_dash);
	tcase_add_test(fp, fpr_parse_bare);
	tcase_add_test(fp, fpr_parse_upper_and_mixed_case);
	tcase_add_test(fp, fpr_format_parse_roundtrip);
	tcase_add_test(fp, fpr_parse_wrong_length);
	tcase_add_test(fp, fpr_parse_bad_digit);
	tcase_add_test(fp, fpr_parse_bad_separators);
	tcase_add_test(fp, fpr_parse_failure_zeroes);

	suite_add_tcase(s, msg);
	suite_add_tcase(s, hs);
	suite_add_tcase(s, pad);
	suite_add_tcase(s, nk);
	suite_add_tcase(s, fp);
	return s;
}
