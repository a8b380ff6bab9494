/* SPDX-License-Identifier: ISC */
/*
 * chatc's side of the local history (chatc/hist.c): the record and file
 * formats, round trips, and every malformed form refused (truncated,
 * trailing, a length past its bound, another version, unknown flags, a bad
 * nick, a time past INT64_MAX).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "client.h"
#include "err.h"

START_TEST(test_hist_record)
{
	static uint8_t rec[HIST_TEXT_MAX], bad[HIST_TEXT_MAX];
	struct hist_rec hr;
	size_t n, i;

	n = hist_encode(rec, sizeof(rec), HR_MINE | HR_PRIVATE, 1700000000, "lobby",
	    (const uint8_t *)"bob", 3, (const uint8_t *)"hello", 5);
	ck_assert_uint_eq(n, 2 + 8 + 1 + 5 + 1 + 3 + 2 + 5);
	ck_assert_int_eq(hist_decode(rec, n, &hr), 0);
	ck_assert_int_eq(hr.hr_time, 1700000000);
	ck_assert_uint_eq(hr.hr_flags, HR_MINE | HR_PRIVATE);
	ck_assert_str_eq(hr.hr_room, "lobby");
	ck_assert_str_eq(hr.hr_who, "bob");
	ck_assert_uint_eq(hr.hr_textlen, 5);
	/* Cut anywhere: refused; one byte more: trailing. */
	for (i = 0; i < n; i++)
		ck_assert_int_ne(hist_decode(rec, i, &hr), 0);
	memcpy(bad, rec, n);
	bad[n] = 0;
	ck_assert_int_eq(hist_decode(bad, n + 1, &hr), VEIL_E_TRAILING);
	/* Another version, unknown flags, a bad nick, an empty room. */
	memcpy(bad, rec, n);
	bad[0] = 2;
	ck_assert_int_eq(hist_decode(bad, n, &hr), VEIL_E_VERSION);
	memcpy(bad, rec, n);
	bad[1] = 0x80;
	ck_assert_int_eq(hist_decode(bad, n, &hr), VEIL_E_INVALID);
	memcpy(bad, rec, n);
	bad[2 + 8 + 1 + 5 + 1] = '!';
	ck_assert_int_eq(hist_decode(bad, n, &hr), VEIL_E_NICK);
	memcpy(bad, rec, n);
	bad[2 + 8] = 0;
	ck_assert_int_eq(hist_decode(bad, n, &hr), VEIL_E_LENGTH);
	/* A time past INT64_MAX. */
	memcpy(bad, rec, n);
	bad[2] = 0x80;
	ck_assert_int_eq(hist_decode(bad, n, &hr), VEIL_E_INVALID);
	/* What does not fit a record is not encoded. */
	ck_assert_uint_eq(hist_encode(rec, sizeof(rec), 0, 0, "", NULL, 0,
	    (const uint8_t *)"x", 1), 0);
	ck_assert_uint_eq(hist_encode(rec, sizeof(rec), 0, 0, "r", NULL, 0,
	    (const uint8_t *)"x", 0), 0);
	ck_assert_uint_eq(hist_encode(rec, 10, 0, 0, "r", NULL, 0, (const uint8_t *)"x", 1), 0);
}
END_TEST

START_TEST(test_hist_file_frames)
{
	uint8_t file[256];
	const uint8_t *blob;
	size_t off = 0, len, i;

	memset(file, 0xaa, sizeof(file));
	/* Two records of 40 and 29 bytes, then a cut one. */
	file[0] = 0; file[1] = 0; file[2] = 0; file[3] = 40;
	file[44] = 0; file[45] = 0; file[46] = 0; file[47] = 29;
	file[77] = 0; file[78] = 0; file[79] = 0; file[80] = 99;
	ck_assert_int_eq(hist_scan(file, 81 + 50, &off, &blob, &len), 1);
	ck_assert_uint_eq(len, 40);
	ck_assert_ptr_eq(blob, file + 4);
	ck_assert_int_eq(hist_scan(file, 81 + 50, &off, &blob, &len), 1);
	ck_assert_uint_eq(len, 29);
	ck_assert_int_eq(hist_scan(file, 81 + 50, &off, &blob, &len), VEIL_E_TRUNCATED);
	off = 0;
	ck_assert_int_eq(hist_scan(file, 44, &off, &blob, &len), 1);
	ck_assert_int_eq(hist_scan(file, 44, &off, &blob, &len), 0);	/* the end */
	/* A length of 28 or less, or over HIST_BLOB_MAX, is broken. */
	file[3] = 28;
	off = 0;
	ck_assert_int_eq(hist_scan(file, sizeof(file), &off, &blob, &len), VEIL_E_LENGTH);
	file[0] = 0x7f;
	off = 0;
	ck_assert_int_eq(hist_scan(file, sizeof(file), &off, &blob, &len), VEIL_E_LENGTH);
	for (i = 1; i < 4; i++) {
		off = 0;
		ck_assert_int_eq(hist_scan(file, i, &off, &blob, &len), VEIL_E_TRUNCATED);
	}
}
END_TEST

Suite *suite_chatc_hist(void);

Suite *
suite_chatc_hist(void)
{
	Suite *s = suite_create("chatc_hist");
	TCase *c = tcase_create("records");

	tcase_add_test(c, test_hist_record);
	tcase_add_test(c, test_hist_file_frames);
	suite_add_tcase(s, c);
	return s;
}
