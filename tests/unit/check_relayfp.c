/* SPDX-License-Identifier: ISC */
/*
 * protocol/relayfp.c: relay key fingerprints (PROTOCOL.md 1.0) and their
 * text form. Known answers computed independently (Python: hashlib and
 * base64), a round trip of every byte value, and a parser that takes one
 * spelling only.
 */
#include <string.h>

#include <check.h>

#include "err.h"
#include "relayfp.h"
#include "unit.h"

START_TEST(test_relayfp_known)
{
	/* SHA-256("abc"), the FIPS 180-2 vector, as a fingerprint. */
	static const char want[] = "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";
	uint8_t fp[RELAYFP_LEN], back[RELAYFP_LEN];
	char text[RELAYFP_TEXT_MAX];

	ck_assert_int_eq(proto_relayfp_of_spki((const uint8_t *)"abc", 3, fp), 0);
	ck_assert_str_eq(unit_tohex(fp, sizeof(fp)),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	proto_relayfp_format(fp, text);
	ck_assert_str_eq(text, want);
	ck_assert_uint_eq(strlen(text), RELAYFP_TEXT_LEN);
	ck_assert_int_eq(proto_relayfp_parse(want, back), 0);
	ck_assert(proto_relayfp_equal(fp, back));
	/* PROTOCOL.md 1.0's example: the P-256 key whose point is G. */
	{
		uint8_t spki[91];

		ck_assert_uint_eq(unit_hex(
		    "3059301306072a8648ce3d020106082a8648ce3d03010703420004"
		    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
		    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
		    spki, sizeof(spki)), sizeof(spki));
		ck_assert_int_eq(proto_relayfp_of_spki(spki, sizeof(spki), fp), 0);
		proto_relayfp_format(fp, text);
		ck_assert_str_eq(text, "SHA256:XNJS+wzokyQ2+vjM0QQJgbie5K1rn+niorfnGqyyfNM");
	}
	/* All zeros and all ones. */
	memset(fp, 0, sizeof(fp));
	proto_relayfp_format(fp, text);
	ck_assert_str_eq(text, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	memset(fp, 0xff, sizeof(fp));
	proto_relayfp_format(fp, text);
	ck_assert_str_eq(text, "SHA256://////////////////////////////////////////8");
	ck_assert_int_eq(proto_relayfp_of_spki(NULL, 0, fp), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_relayfp_roundtrip)
{
	uint8_t fp[RELAYFP_LEN], back[RELAYFP_LEN];
	char text[RELAYFP_TEXT_MAX];
	int i, j;

	for (i = 0; i < 256; i++) {
		for (j = 0; j < RELAYFP_LEN; j++)
			fp[j] = (uint8_t)(i * 31 + j * 7 + (i ^ j));
		proto_relayfp_format(fp, text);
		ck_assert_uint_eq(strlen(text), RELAYFP_TEXT_LEN);
		ck_assert_int_eq(proto_relayfp_parse(text, back), 0);
		ck_assert_mem_eq(fp, back, RELAYFP_LEN);
		back[i % RELAYFP_LEN] ^= 1;
		ck_assert(!proto_relayfp_equal(fp, back));
	}
}
END_TEST

START_TEST(test_relayfp_strict)
{
	static const char *bad[] = {
		"",
		"SHA256:",
		"sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",	/* prefix case */
		"SHA-256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
		"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",		/* no prefix */
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa",	/* 42 */
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",	/* padding */
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa00",	/* 44 */
		"SHA256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",	/* base64url */
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1",	/* unused bits */
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa3",
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0\n",
		" SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
		"SHA256: ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAF a0",
	};
	uint8_t fp[RELAYFP_LEN], zero[RELAYFP_LEN] = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(fp, 0xee, sizeof(fp));
		ck_assert_msg(proto_relayfp_parse(bad[i], fp) == VEIL_E_INVALID, "accepted %s", bad[i]);
		ck_assert_mem_eq(fp, zero, RELAYFP_LEN);
	}
	ck_assert_int_eq(proto_relayfp_parse(NULL, fp), VEIL_E_INVALID);
}
END_TEST

Suite *suite_relayfp(void);

Suite *
suite_relayfp(void)
{
	Suite *s = suite_create("relayfp");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_relayfp_known);
	tcase_add_test(tc, test_relayfp_roundtrip);
	tcase_add_test(tc, test_relayfp_strict);
	suite_add_tcase(s, tc);
	return s;
}
