/* SPDX-License-Identifier: ISC */
/* chatc/escape.c: what a peer's bytes look like on our terminal. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "escape.h"

/* Escapes a byte string (n bytes) into a static buffer. */
static const char *
esc(const char *in, size_t n)
{
	static char out[ESC_MAX(512)];
	size_t len;

	ck_assert_uint_le(n, 512);
	len = esc_text((const uint8_t *)in, n, out, sizeof(out));
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_uint_le(len + 1, ESC_MAX(n));
	return out;
}

#define ESC(lit)	esc((lit), sizeof(lit) - 1)
#define FFFD		"\xef\xbf\xbd"

START_TEST(test_escape_plain)
{
	ck_assert_str_eq(ESC("hello, world 123 ~!@#$%^&*()"), "hello, world 123 ~!@#$%^&*()");
	ck_assert_str_eq(ESC(""), "");
}
END_TEST

START_TEST(test_escape_c0_every)
{
	char in[1], want[8];
	int c;

	for (c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		if (c == '\n')
			strcpy(want, "\\n");
		else if (c == '\t')
			strcpy(want, "\\t");
		else if (c == '\r')
			strcpy(want, "\\r");
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		ck_assert_str_eq(esc(in, 1), want);
	}
}
END_TEST

START_TEST(test_escape_nul_inside)
{
	ck_assert_str_eq(esc("a\0b", 3), "a\\x00b");
}
END_TEST

START_TEST(test_escape_del)
{
	ck_assert_str_eq(ESC("x\x7fy"), "x\\x7fy");
}
END_TEST

START_TEST(test_escape_backslash)
{
	ck_assert_str_eq(ESC("a\\b"), "a\\\\b");
	/* The text "\x1b" typed by a peer must not look like an ESC byte. */
	ck_assert_str_eq(ESC("\\x1b"), "\\\\x1b");
	ck_assert_str_eq(ESC("\x1b"), "\\x1b");	/* the real ESC byte: one backslash */
	ck_assert_str_eq(ESC("\\n"), "\\\\n");
}
END_TEST

START_TEST(test_escape_csi)
{
	ck_assert_str_eq(ESC("\x1b[2J\x1b[1;1H\x1b[31mred\x1b[0m"),
	    "\\x1b[2J\\x1b[1;1H\\x1b[31mred\\x1b[0m");
	/* Cursor-up + erase line: an attempt to rewrite an earlier message. */
	ck_assert_str_eq(ESC("\x1b[A\x1b[2K"), "\\x1b[A\\x1b[2K");
}
END_TEST

START_TEST(test_escape_osc)
{
	/* Window title and OSC 52 clipboard writes, BEL- and ST-terminated. */
	ck_assert_str_eq(ESC("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
	ck_assert_str_eq(ESC("\x1b]52;c;aGk=\x1b\\"), "\\x1b]52;c;aGk=\\x1b\\\\");
}
END_TEST

START_TEST(test_escape_c1_utf8)
{
	char in[2], want[8];
	unsigned int cp;

	for (cp = 0x80; cp <= 0x9f; cp++) {
		in[0] = (char)(0xc0 | (cp >> 6));
		in[1] = (char)(0x80 | (cp & 0x3f));
		snprintf(want, sizeof(want), "\\u%04x", cp);
		ck_assert_str_eq(esc(in, 2), want);
	}
	/* U+009B is the 8-bit CSI: "\u009b2J" must not clear anything. */
	ck_assert_str_eq(ESC("\xc2\x9b" "2J"), "\\u009b2J");
	/* U+00A0 is past C1 and passes. */
	ck_assert_str_eq(ESC("\xc2\xa0"), "\xc2\xa0");
}
END_TEST

START_TEST(test_escape_c1_raw_bytes)
{
	/* A bare 0x9b is not UTF-8: replaced, never sent to the terminal. */
	ck_assert_str_eq(ESC("\x9b" "2J"), FFFD "2J");
	ck_assert_str_eq(ESC("\x85"), FFFD);
}
END_TEST

START_TEST(test_escape_bidi)
{
	ck_assert_str_eq(ESC("abc\xe2\x80\xae" "def"), "abc\\u202edef");
	ck_assert_str_eq(ESC("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
	/* The marks are Bidi_Control too: RLM/LRM/ALM can reorder what is shown. */
	ck_assert_str_eq(ESC("a\xe2\x80\x8f" "1"), "a\\u200f1");
	ck_assert_str_eq(ESC("\xe2\x80\x8e"), "\\u200e");
	ck_assert_str_eq(ESC("\xd8\x9c"), "\\u061c");
	/* Neighbours stay as they are. */
	ck_assert_str_eq(ESC("\xe2\x80\x8d"), "\xe2\x80\x8d");
}
END_TEST

START_TEST(test_escape_overlong)
{
	ck_assert_str_eq(ESC("\xc0\xaf"), FFFD FFFD);		/* '/' in 2 bytes */
	ck_assert_str_eq(ESC("\xc1\xbf"), FFFD FFFD);
	ck_assert_str_eq(ESC("\xe0\x80\xaf"), FFFD FFFD FFFD);
	ck_assert_str_eq(ESC("\xf0\x80\x80\xaf"), FFFD FFFD FFFD FFFD);
	ck_assert_str_eq(ESC("\xe0\x9f\xbf"), FFFD FFFD FFFD);	/* U+07FF in 3 */
}
END_TEST

START_TEST(test_escape_surrogates)
{
	ck_assert_str_eq(ESC("\xed\xa0\x80"), FFFD FFFD FFFD);	/* U+D800 */
	ck_assert_str_eq(ESC("\xed\xbf\xbf"), FFFD FFFD FFFD);	/* U+DFFF */
	ck_assert_str_eq(ESC("\xed\x9f\xbf"), "\xed\x9f\xbf");	/* U+D7FF is fine */
}
END_TEST

START_TEST(test_escape_truncated)
{
	/* A cut sequence is one replacement (its maximal subpart). */
	ck_assert_str_eq(ESC("ab\xe6\x97"), "ab" FFFD);
	ck_assert_str_eq(ESC("\xe6\x97" "A"), FFFD "A");
	ck_assert_str_eq(ESC("\xf0\x9f\x9a"), FFFD);
	ck_assert_str_eq(ESC("\xc3"), FFFD);
	ck_assert_str_eq(ESC("\xc3\x1b"), FFFD "\\x1b");
}
END_TEST

START_TEST(test_escape_above_max)
{
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD);	/* U+110000 */
	ck_assert_str_eq(ESC("\xf5\x80\x80\x80"), FFFD FFFD FFFD FFFD);
	ck_assert_str_eq(ESC("\xf8\x88\x80\x80\x80"), FFFD FFFD FFFD FFFD FFFD);
	ck_assert_str_eq(ESC("\xfe\xff"), FFFD FFFD);
	ck_assert_str_eq(ESC("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
}
END_TEST

START_TEST(test_escape_stray_continuation)
{
	ck_assert_str_eq(ESC("a\x80" "b\xbf"), "a" FFFD "b" FFFD);
}
END_TEST

START_TEST(test_escape_valid_multibyte)
{
	static const char text[] = "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	    "\xf0\x9f\x9a\x80 \xce\xb5\xce\xbb \xd1\x80\xd1\x83 \xd8\xb9";

	ck_assert_str_eq(ESC(text), text);
}
END_TEST

START_TEST(test_escape_worst_case_fits)
{
	static char in[512], out[ESC_MAX(512)];
	size_t len;

	memset(in, 0x01, sizeof(in));
	len = esc_text((const uint8_t *)in, sizeof(in), out, sizeof(out));
	ck_assert_uint_eq(len, 4 * sizeof(in));
	ck_assert_uint_eq(strlen(out), len);
}
END_TEST

START_TEST(test_escape_small_cap)
{
	char out[8];
	size_t len;

	/* Stops at the last whole escape that fits; always NUL-terminated. */
	memset(out, 'Z', sizeof(out));
	len = esc_text((const uint8_t *)"ab\x1b" "cd", 5, out, 5);
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq(out, "ab");
	len = esc_text((const uint8_t *)"\xe6\x97\xa5", 3, out, 3);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(esc_text((const uint8_t *)"x", 1, out, 0), 0);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"", 0), 1);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"h\xc3\xa9", 3), 1);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"\xf0\x9f\x9a\x80", 4), 1);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"\xf0\x9f\x9a", 3), 0);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"\xc0\x80", 2), 0);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3), 0);
	ck_assert_int_eq(esc_utf8_valid((const uint8_t *)"\xff", 1), 0);
}
END_TEST

START_TEST(test_utf8_next)
{
	uint32_t cp;

	ck_assert_uint_eq(esc_utf8_next((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x20ac);
	ck_assert_uint_eq(esc_utf8_next((const uint8_t *)"\xe2\x82", 2, &cp), 0);
	ck_assert_uint_eq(cp, 2);	/* maximal invalid subpart */
	ck_assert_uint_eq(esc_utf8_next((const uint8_t *)"\xe2\x41", 2, &cp), 0);
	ck_assert_uint_eq(cp, 1);
}
END_TEST

START_TEST(test_columns)
{
	ck_assert_uint_eq(esc_columns("abc", 3), 3);
	ck_assert_uint_eq(esc_columns("\xc3\xa9\xe6\x97\xa5", 5), 2);
}
END_TEST

START_TEST(test_escape_line_separators)
{
	/* U+2028 / U+2029 would split a batch line for Unicode-aware readers. */
	const char in[] = "a\xe2\x80\xa8SECURE mallory x new\xe2\x80\xa9" "b";
	char out[256];

	esc_text((const uint8_t *)in, sizeof(in) - 1, out, sizeof(out));
	ck_assert_str_eq(out, "a\\u2028SECURE mallory x new\\u2029b");
}
END_TEST

Suite *suite_escape(void);

Suite *
suite_escape(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("esc_text");
	TCase *bad = tcase_create("invalid_utf8");
	TCase *lim = tcase_create("limits");

	tcase_add_test(tc, test_escape_plain);
	tcase_add_test(tc, test_escape_c0_every);
	tcase_add_test(tc, test_escape_nul_inside);
	tcase_add_test(tc, test_escape_del);
	tcase_add_test(tc, test_escape_backslash);
	tcase_add_test(tc, test_escape_csi);
	tcase_add_test(tc, test_escape_osc);
	tcase_add_test(tc, test_escape_c1_utf8);
	tcase_add_test(tc, test_escape_c1_raw_bytes);
	tcase_add_test(tc, test_escape_bidi);
	tcase_add_test(tc, test_escape_line_separators);
	tcase_add_test(tc, test_escape_valid_multibyte);
	tcase_add_test(bad, test_escape_overlong);
	tcase_add_test(bad, test_escape_surrogates);
	tcase_add_test(bad, test_escape_truncated);
	tcase_add_test(bad, test_escape_above_max);
	tcase_add_test(bad, test_escape_stray_continuation);
	tcase_add_test(bad, test_utf8_valid);
	tcase_add_test(bad, test_utf8_next);
	tcase_add_test(lim, test_escape_worst_case_fits);
	tcase_add_test(lim, test_escape_small_cap);
	tcase_add_test(lim, test_columns);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, lim);
	return s;
}
