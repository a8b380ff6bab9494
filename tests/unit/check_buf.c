/* SPDX-License-Identifier: ISC */
#include <string.h>

#include <check.h>

#include "buf.h"
#include "err.h"

START_TEST(test_buf_roundtrip)
{
	uint8_t mem[64], v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;
	size_t n;
	struct vbuf w, r;

	vbuf_writer(&w, mem, sizeof(mem));
	ck_assert_int_eq(vbuf_put_u8(&w, 0xab), 0);
	ck_assert_int_eq(vbuf_put_u16(&w, 0x1234), 0);
	ck_assert_int_eq(vbuf_put_u32(&w, 0xdeadbeef), 0);
	ck_assert_int_eq(vbuf_put_u64(&w, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(vbuf_put_str8(&w, "veil", 4), 0);
	ck_assert_uint_eq(w.vb_len, 1 + 2 + 4 + 8 + 1 + 4);
	ck_assert_int_eq(mem[1], 0x12);	/* big-endian */

	vbuf_reader(&r, mem, w.vb_len);
	ck_assert_int_eq(vbuf_get_u8(&r, &v8), 0);
	ck_assert_int_eq(vbuf_get_u16(&r, &v16), 0);
	ck_assert_int_eq(vbuf_get_u32(&r, &v32), 0);
	ck_assert_int_eq(vbuf_get_u64(&r, &v64), 0);
	ck_assert_int_eq(vbuf_get_str8(&r, &p, &n, 32), 0);
	ck_assert_int_eq(vbuf_end(&r), 0);
	ck_assert_uint_eq(v8, 0xab);
	ck_assert_uint_eq(v16, 0x1234);
	ck_assert_uint_eq(v32, 0xdeadbeef);
	ck_assert(v64 == 0x0102030405060708ULL);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(p, "veil", 4);
}
END_TEST

START_TEST(test_buf_truncated)
{
	const uint8_t in[3] = { 1, 2, 3 };
	struct vbuf r;
	uint32_t v = 99;

	vbuf_reader(&r, in, sizeof(in));
	ck_assert_int_eq(vbuf_get_u32(&r, &v), VEIL_E_TRUNCATED);
	ck_assert_uint_eq(v, 0);		/* out-param cleared */
	ck_assert_uint_eq(vbuf_left(&r), 3);	/* position unchanged */
}
END_TEST

START_TEST(test_buf_str_oversize_before_truncated)
{
	/* Announces 200 bytes, max 32: oversize wins, checked before what is left. */
	const uint8_t in[2] = { 200, 'x' };
	const uint8_t *p;
	size_t n;
	struct vbuf r;

	vbuf_reader(&r, in, sizeof(in));
	ck_assert_int_eq(vbuf_get_str8(&r, &p, &n, 32), VEIL_E_OVERSIZE);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(vbuf_left(&r), 2);
}
END_TEST

START_TEST(test_buf_str32_huge_length)
{
	/* A length near 2^32 must not wrap any arithmetic. */
	const uint8_t in[5] = { 0xff, 0xff, 0xff, 0xff, 0 };
	const uint8_t *p;
	size_t n;
	struct vbuf r;

	vbuf_reader(&r, in, sizeof(in));
	ck_assert_int_eq(vbuf_get_str32(&r, &p, &n, SIZE_MAX), VEIL_E_TRUNCATED);
	vbuf_reader(&r, in, sizeof(in));
	ck_assert_int_eq(vbuf_get_str32(&r, &p, &n, 1024), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(test_buf_trailing)
{
	const uint8_t in[2] = { 1, 2 };
	struct vbuf r;
	uint8_t v;

	vbuf_reader(&r, in, sizeof(in));
	ck_assert_int_eq(vbuf_get_u8(&r, &v), 0);
	ck_assert_int_eq(vbuf_end(&r), VEIL_E_TRAILING);
}
END_TEST

START_TEST(test_buf_nospace)
{
	uint8_t mem[5];
	struct vbuf w;

	vbuf_writer(&w, mem, sizeof(mem));
	ck_assert_int_eq(vbuf_put_u32(&w, 1), 0);
	ck_assert_int_eq(vbuf_put_u16(&w, 1), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 4);
	/* A string that does not fit leaves nothing behind, not even its length. */
	ck_assert_int_eq(vbuf_put_str8(&w, "ab", 2), VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 4);
}
END_TEST

START_TEST(test_buf_exact)
{
	uint8_t mem[4];
	struct vbuf w;

	vbuf_writer(&w, mem, sizeof(mem));
	ck_assert_int_eq(vbuf_put_u32(&w, 7), 0);
	ck_assert_uint_eq(w.vb_len, sizeof(mem));
}
END_TEST

Suite *suite_buf(void);

Suite *
suite_buf(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("getput");
	TCase *lim = tcase_create("limits");

	tcase_add_test(tc, test_buf_roundtrip);
	tcase_add_test(lim, test_buf_truncated);
	tcase_add_test(lim, test_buf_str_oversize_before_truncated);
	tcase_add_test(lim, test_buf_str32_huge_length);
	tcase_add_test(lim, test_buf_trailing);
	tcase_add_test(lim, test_buf_nospace);
	tcase_add_test(lim, test_buf_exact);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, lim);
	return s;
}
