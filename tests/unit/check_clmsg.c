/* SPDX-License-Identifier: ISC */
/*
 * relayd/clmsg.c, the cluster's messages (PROTOCOL.md 5.3): every type
 * encoded and decoded back, the worked example, and malformed input:
 * truncated at every length, every bit flipped, trailing bytes, counts over
 * their maximum, forbidden values. Also the room key and the subjects.
 */
#include <string.h>

#include <check.h>

#include "clmsg.h"
#include "err.h"
#include "frame.h"
#include "unit.h"

static uint8_t key[CL_KEY_LEN];
static uint8_t buf[CLM_MAX];
static struct clm m;

static void
setup(void)
{
	size_t i;

	for (i = 0; i < CL_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 1);
}

static struct clm_snap *
snap3(void)
{
	static struct clm_snap s;

	memset(&s, 0, sizeof(s));
	s.cs_epoch = 4;
	s.cs_seq = 9;
	s.cs_last = 12;
	s.cs_n = 3;
	s.cs_members[0] = (struct clm_member){ 3, 0x1111, (uint64_t)1 << 32 | 2 };
	s.cs_members[1] = (struct clm_member){ 7, 0x2222, (uint64_t)3 << 32 | 5 };
	s.cs_members[2] = (struct clm_member){ 12, 0x1111, (uint64_t)4 << 32 | 9 };
	return &s;
}

/* Every prefix is refused, every bit flip is refused or decodes to something checked. */
static void
mutate(const uint8_t *p, size_t n)
{
	uint8_t c[CLM_MAX + 1];
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		ck_assert_int_ne(clm_decode(p, i, &m), 0);
	memcpy(c, p, n);
	c[n] = 0;
	ck_assert_int_eq(clm_decode(c, n + 1, &m), VEIL_E_TRAILING);
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++) {
			memcpy(c, p, n);
			c[i] ^= (uint8_t)(1 << b);
			if (clm_decode(c, n, &m) == 0)
				ck_assert_uint_eq(m.cl_type, c[1]);
		}
}

START_TEST(test_clmsg_hb)
{
	struct vbuf b;

	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_hb(&b, 1, 2000, 0, "n1"), 0);
	ck_assert_str_eq(unit_tohex(buf, b.vb_len), "0101000000000000000100000" "7d000026e31");
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), 0);
	ck_assert_uint_eq(m.cl_type, CLM_HB);
	ck_assert_uint_eq(m.cl_nid, 1);
	ck_assert_uint_eq(m.cl_age, 2000);
	ck_assert_str_eq(m.cl_name, "n1");
	mutate(buf, b.vb_len);
	/* Names: the charset, 1..32, nothing else. */
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_hb(&b, 1, 0, 0, "a.b"), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hb(&b, 1, 0, 0, ""), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hb(&b, 1, 0, 0, "abcdefghijklmnopqrstuvwxyz0123456"), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hb(&b, 0, 0, 0, "x"), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hb(&b, 1, 0, 2, "x"), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hb(&b, 1, 0, CLM_HB_LEAVING, "abcdefghijklmnopqrstuvwxyz012345"), 0);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), 0);
	ck_assert_uint_eq(m.cl_flags, CLM_HB_LEAVING);
	buf[b.vb_len - 1] = '.';
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	/* PROTOCOL.md 5.3's CREDIT ask, byte for byte. */
	{
		uint8_t k[CL_KEY_LEN];
		size_t i;

		for (i = 0; i < CL_KEY_LEN; i++)
			k[i] = (uint8_t)(0x40 + i);
		vbuf_writer(&b, buf, sizeof(buf));
		ck_assert_int_eq(clm_put_credit(&b, k, 0x1234, CLM_C_ASK, 40, 3), 0);
		ck_assert_str_eq(unit_tohex(buf, b.vb_len), "010c"
		    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
		    "0000000000001234" "00" "00000028" "00000003");
	}
}
END_TEST

START_TEST(test_clmsg_every_type)
{
	struct clm_member mine[2] = { { 4, 0x33, 77 }, { 9, 0x33, 78 } };
	uint8_t payload[300];
	struct clm_frame f = { 1000, 7, 99, MEMBER_BCAST, 300, NULL }, g;
	struct vbuf b;
	size_t off;
	int k;

	memset(payload, 0xab, sizeof(payload));
	f.cf_payload = payload;
	for (k = 0; k < 16; k++) {
		int rc = -1;

		vbuf_writer(&b, buf, sizeof(buf));
		switch (k) {
		case 0: rc = clm_put_fence(&b, 5, 6); break;
		case 1: rc = clm_put_admit(&b, key, 5, 77); break;
		case 2: rc = clm_put_answer(&b, key, 5, 77, CLM_A_ADMITTED, 7, (uint64_t)3 << 32 | 5,
		    snap3()); break;
		case 3: rc = clm_put_answer(&b, key, 5, 78, CLM_A_FULL, 0, 0, NULL); break;
		case 4: rc = clm_put_event(&b, key, 5, 3, 5, CLM_E_JOINED, 7, 0x2222); break;
		case 5: rc = clm_put_event(&b, key, 5, 3, 6, CLM_E_LEFT, 7, (uint64_t)3 << 32 | 5); break;
		case 6: rc = clm_put_snapshot(&b, key, 5, snap3()); break;
		case 7: rc = clm_put_seq(&b, key, 5, 4, 9); break;
		case 8: rc = clm_put_resync(&b, key, 5); break;
		case 9: rc = clm_put_query(&b, key, 5, 12); break;
		case 10: rc = clm_put_state(&b, key, 0x33, 12, 0, 4, 9, mine, 2, snap3()); break;
		case 11: rc = clm_put_bye(&b, key, 5, 7, 99); break;
		case 12: rc = clm_put_data(&b, key, 5, &f); break;
		case 13:
			/* Three frames in one DATA, the last to one member. */
			rc = clm_put_data_begin(&b, key, 5);
			if (rc == 0)
				rc = clm_put_data_frame(&b, &f);
			f.cf_pseq++;
			if (rc == 0)
				rc = clm_put_data_frame(&b, &f);
			f.cf_pseq++;
			f.cf_dst = 3;
			f.cf_len = 1;
			if (rc == 0)
				rc = clm_put_data_frame(&b, &f);
			break;
		case 14: rc = clm_put_credit(&b, key, 5, CLM_C_ASK, 0x01020304, 0); break;
		case 15: rc = clm_put_credit(&b, key, 5, CLM_C_ANSWER, 0xfffffffe, 9); break;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), 0);
		if (k > 0)
			ck_assert_mem_eq(m.cl_key, key, CL_KEY_LEN);
		switch (k) {
		case 2:
			ck_assert_uint_eq(m.cl_id, 7);
			ck_assert(m.cl_has_snap);
			ck_assert_uint_eq(m.cl_snap.cs_n, 3);
			ck_assert_uint_eq(m.cl_snap.cs_members[2].cm_id, 12);
			ck_assert_uint_eq(m.cl_snap.cs_epoch, 4);
			break;
		case 4:
			/* A JOINED's stamp is the event's own (epoch, seq). */
			ck_assert_uint_eq(m.cl_node, 0x2222);
			ck_assert_uint_eq(m.cl_stamp, (uint64_t)3 << 32 | 5);
			break;
		case 7:
			ck_assert_uint_eq(m.cl_result, CLM_E_SEQ);
			ck_assert_uint_eq(m.cl_seq, 9);
			break;
		case 10:
			ck_assert_uint_eq(m.cl_nmine, 2);
			ck_assert_uint_eq(m.cl_mine[1].cm_nid, 0x33);
			ck_assert(m.cl_has_snap);
			break;
		case 12:
			ck_assert_uint_eq(m.cl_nframes, 1);
			off = 0;
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 1);
			ck_assert_uint_eq(g.cf_len, sizeof(payload));
			ck_assert_uint_eq(g.cf_pseq, 1000);
			ck_assert_uint_eq(g.cf_dst, MEMBER_BCAST);
			ck_assert_mem_eq(g.cf_payload, payload, sizeof(payload));
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 0);
			break;
		case 13:
			ck_assert_uint_eq(m.cl_nframes, 3);
			off = 0;
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 1);
			ck_assert_uint_eq(g.cf_pseq, 1000);
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 1);
			ck_assert_uint_eq(g.cf_pseq, 1001);
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 1);
			ck_assert_uint_eq(g.cf_dst, 3);
			ck_assert_uint_eq(g.cf_len, 1);
			ck_assert_int_eq(clm_data_next(&m, &off, &g), 0);
			break;
		case 14:
			/* PROTOCOL.md 5.3: 01 0c key nid kind bseq useq, 51 bytes. */
			ck_assert_uint_eq(b.vb_len, 2 + CL_KEY_LEN + 8 + 1 + 4 + 4);
			ck_assert_uint_eq(buf[1], 12);
			ck_assert_uint_eq(m.cl_flags, CLM_C_ASK);
			ck_assert_uint_eq(m.cl_bseq, 0x01020304);
			ck_assert_uint_eq(m.cl_useq, 0);
			break;
		case 15:
			ck_assert_uint_eq(m.cl_nid, 5);
			ck_assert_uint_eq(m.cl_flags, CLM_C_ANSWER);
			ck_assert_uint_eq(m.cl_bseq, 0xfffffffe);
			ck_assert_uint_eq(m.cl_useq, 9);
			break;
		default:
			break;
		}
		mutate(buf, b.vb_len);
	}
}
END_TEST

START_TEST(test_clmsg_limits)
{
	static struct clm_snap big;
	static uint8_t payload[FRAME_MAX_LIMIT + 1];
	struct clm_frame f = { 1, 7, 99, 3, FRAME_MAX_LIMIT, payload };
	struct vbuf b;
	size_t i;

	memset(payload, 1, sizeof(payload));
	/* A DATA takes frames while under CLM_BATCH, then one more of any size: no more. */
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_data_begin(&b, key, 5), 0);
	f.cf_len = CLM_BATCH - CLM_REC - 1;
	ck_assert_int_eq(clm_put_data_frame(&b, &f), 0);
	f.cf_len = FRAME_MAX_LIMIT;
	ck_assert_int_eq(clm_put_data_frame(&b, &f), 0);
	ck_assert_uint_le(b.vb_len, CLM_MAX);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), 0);
	ck_assert_int_eq(clm_put_data_frame(&b, &f), VEIL_E_NOSPACE);
	/* A frame's payload: 1 to the hard limit, src and dst in range. */
	vbuf_writer(&b, buf, sizeof(buf));
	f.cf_len = FRAME_MAX_LIMIT + 1;
	ck_assert_int_eq(clm_put_data(&b, key, 5, &f), VEIL_E_INVALID);
	vbuf_writer(&b, buf, sizeof(buf));
	f.cf_len = 0;
	ck_assert_int_eq(clm_put_data(&b, key, 5, &f), VEIL_E_INVALID);
	vbuf_writer(&b, buf, sizeof(buf));
	f.cf_len = 1;
	f.cf_src = 0;
	ck_assert_int_eq(clm_put_data(&b, key, 5, &f), VEIL_E_INVALID);
	vbuf_writer(&b, buf, sizeof(buf));
	f.cf_src = 7;
	f.cf_dst = 0;
	ck_assert_int_eq(clm_put_data(&b, key, 5, &f), VEIL_E_INVALID);
	/* A DATA with no frame, or a frame length over the limit, is refused. */
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_data_begin(&b, key, 5), 0);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	f.cf_dst = 3;
	ck_assert_int_eq(clm_put_data_frame(&b, &f), 0);
	veil_put32(buf + CLM_HDR_DATA + 16, FRAME_MAX_LIMIT + 1);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_OVERSIZE);
	veil_put32(buf + CLM_HDR_DATA + 16, 2);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_TRUNCATED);
	/* 128 members fit, distinct; a repeated id is refused either way. */
	memset(&big, 0, sizeof(big));
	big.cs_epoch = 1;
	big.cs_n = CL_MEMBERS_MAX;
	for (i = 0; i < CL_MEMBERS_MAX; i++)
		big.cs_members[i] = (struct clm_member){ (uint16_t)(i + 1), 5, 1 };
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_snapshot(&b, key, 5, &big), 0);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), 0);
	ck_assert_uint_eq(m.cl_snap.cs_n, CL_MEMBERS_MAX);
	/* Its count byte one more: over the maximum before a member is read. */
	buf[2 + CL_KEY_LEN + 8 + 4 + 4 + 1 + 2] = CL_MEMBERS_MAX + 1;
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_OVERSIZE);
	buf[2 + CL_KEY_LEN + 8 + 4 + 4 + 1 + 2] = 0xff;
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_OVERSIZE);
	big.cs_members[5].cm_id = 1;
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_snapshot(&b, key, 5, &big), VEIL_E_INVALID);
	/* An over-long input is refused before anything is read. */
	ck_assert_int_eq(clm_decode(buf, CLM_MAX + 1, &m), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(test_clmsg_bad_values)
{
	static const uint8_t bad_version[] = { 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 'x' };
	static const uint8_t bad_type[] = { 1, 13 };
	static const uint8_t zero_type[] = { 1, 0 };
	struct vbuf b;

	ck_assert_int_eq(clm_decode(bad_version, sizeof(bad_version), &m), VEIL_E_VERSION);
	ck_assert_int_eq(clm_decode(bad_type, sizeof(bad_type), &m), VEIL_E_TYPE);
	ck_assert_int_eq(clm_decode(zero_type, sizeof(zero_type), &m), VEIL_E_TYPE);
	ck_assert_int_eq(clm_decode(bad_type, 1, &m), VEIL_E_TRUNCATED);
	/* A zero node id, an event of epoch 0, an unknown kind or result. */
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_admit(&b, key, 5, 1), 0);
	memset(buf + 2 + CL_KEY_LEN, 0, 8);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_event(&b, key, 5, 0, 1, CLM_E_JOINED, 1, 2), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_event(&b, key, 5, 1, 1, CLM_E_SNAPSHOT, 1, 2), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_event(&b, key, 5, 1, 1, CLM_E_JOINED, 1, 2), 0);
	buf[2 + CL_KEY_LEN + 8 + 4 + 4] = 9;
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_answer(&b, key, 5, 1, 3, 0, 0, NULL), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_answer(&b, key, 5, 1, CLM_A_ADMITTED, 7, 1, NULL), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_hold(&b, key, 5, 1), 0);
	buf[b.vb_len - 1] = 2;
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	/* CREDIT: a kind other than ask and answer, a zero node id, one byte short or over. */
	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(clm_put_credit(&b, key, 5, 2, 1, 1), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_credit(&b, key, 0, CLM_C_ASK, 1, 1), VEIL_E_INVALID);
	ck_assert_int_eq(clm_put_credit(&b, key, 5, CLM_C_ANSWER, 1, 1), 0);
	ck_assert_int_eq(clm_decode(buf, b.vb_len - 1, &m), VEIL_E_TRUNCATED);
	buf[b.vb_len] = 0;
	ck_assert_int_eq(clm_decode(buf, b.vb_len + 1, &m), VEIL_E_TRAILING);
	buf[2 + CL_KEY_LEN + 8] = 2;
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	buf[2 + CL_KEY_LEN + 8] = 1;
	memset(buf + 2 + CL_KEY_LEN, 0, 8);
	ck_assert_int_eq(clm_decode(buf, b.vb_len, &m), VEIL_E_INVALID);
	/* A failed decode leaves nothing behind. */
	ck_assert_uint_eq(m.cl_type, 0);
	ck_assert_uint_eq(m.cl_nid, 0);
}
END_TEST

START_TEST(test_clmsg_names)
{
	uint8_t id[ROOM_ID_LEN], k[CL_KEY_LEN];
	char subj[CL_SUBJECT_MAX];

	/* The room of "lounge" (PROTOCOL.md 4) and its cluster key (5.1). */
	unit_hex("f9c5cfa5ddb7ff5d625cd7cceb1659bd6a5936cdadb617198e8a9679aaee5aeb", id,
	    sizeof(id));
	ck_assert_int_eq(clm_room_key(id, k), 0);
	clm_room_subject(k, subj);
	ck_assert_uint_eq(strlen(subj), 7 + 32);
	ck_assert_int_eq(strncmp(subj, "veil.r.", 7), 0);
	ck_assert_str_eq(subj + 7, unit_tohex(k, 16));
	/* The subject names no byte of the room id. */
	ck_assert_ptr_null(strstr(subj, unit_tohex(id, 4)));
	ck_assert_int_eq(clm_node_subject("n-1_B", subj), 0);
	ck_assert_str_eq(subj, "veil.n.n-1_B");
	ck_assert_int_eq(clm_node_subject("a.b", subj), VEIL_E_INVALID);
	ck_assert_int_eq(clm_node_subject("a>", subj), VEIL_E_INVALID);
	ck_assert_int_eq(clm_node_subject("*", subj), VEIL_E_INVALID);
}
END_TEST

Suite *suite_clmsg(void);

Suite *
suite_clmsg(void)
{
	Suite *s = suite_create("clmsg");
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_clmsg_hb);
	tcase_add_test(tc, test_clmsg_every_type);
	tcase_add_test(tc, test_clmsg_limits);
	tcase_add_test(tc, test_clmsg_bad_values);
	tcase_add_test(tc, test_clmsg_names);
	suite_add_tcase(s, tc);
	return s;
}
