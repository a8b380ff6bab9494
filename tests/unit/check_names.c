/* SPDX-License-Identifier: ISC */
/*
 * PROTOCOL.md section 4: room id, fingerprint and safety number of the
 * worked-example identities, exactly as written in the spec.
 */
#include <string.h>

#include <check.h>

#include "client.h"
#include "crypto.h"
#include "e2e.h"
#include "unit.h"

static const char *alice_seed =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *bob_seed =
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

static void
pub_of(const char *seedhex, uint8_t pub[static ED25519_PUB_LEN])
{
	uint8_t seed[ED25519_SEED_LEN];

	ck_assert_uint_eq(unit_hex(seedhex, seed, sizeof(seed)), sizeof(seed));
	ck_assert_int_eq(vc_ed25519_public(seed, pub), 0);
}

static void
check_fpr(const char *seedhex, const char *want)
{
	uint8_t pub[ED25519_PUB_LEN], fpr[FPR_LEN], back[FPR_LEN];
	char text[FPR_TEXT_LEN + 1];

	pub_of(seedhex, pub);
	ck_assert_int_eq(vc_fingerprint(pub, fpr), 0);
	proto_fpr_format(fpr, text);
	ck_assert_str_eq(text, want);
	ck_assert_int_eq(proto_fpr_parse(text, back), 0);
	ck_assert_mem_eq(back, fpr, FPR_LEN);
}

START_TEST(test_names_fingerprint_alice)
{
	check_fpr(alice_seed, "926e:8f18:ee40:226f:7948:3cbd:3c34:3642:b48b:297b");
}
END_TEST

START_TEST(test_names_fingerprint_bob)
{
	check_fpr(bob_seed, "4db4:6876:6292:8ba7:1632:edd4:d100:4c4e:5507:3cb5");
}
END_TEST

START_TEST(test_names_safety_number)
{
	uint8_t a[ED25519_PUB_LEN], b[ED25519_PUB_LEN];
	char ab[VC_SAFETY_LEN + 1], ba[VC_SAFETY_LEN + 1];

	pub_of(alice_seed, a);
	pub_of(bob_seed, b);
	ck_assert_int_eq(vc_safety_number(a, b, ab, sizeof(ab)), 0);
	ck_assert_int_eq(vc_safety_number(b, a, ba, sizeof(ba)), 0);
	ck_assert_str_eq(ab, "26722 08434 16044 86741 49154 21994 00711 "
	    "97006 37832 77110 60539 15155 19873 48308");
	ck_assert_str_eq(ba, ab);
}
END_TEST

START_TEST(test_names_room_id)
{
	uint8_t room[ROOM_ID_LEN], want[ROOM_ID_LEN];

	unit_hex("f9c5cfa5ddb7ff5d625cd7cceb1659bd6a5936cdadb617198e8a9679aaee5aeb",
	    want, sizeof(want));
	ck_assert_int_eq(chatc_room_id("lounge", room), 0);
	ck_assert_mem_eq(room, want, ROOM_ID_LEN);
	ck_assert_int_eq(chatc_room_id("Lounge", room), 0);
	ck_assert(memcmp(room, want, ROOM_ID_LEN) != 0);
}
END_TEST

/* Section 4: the room key of "lounge", independent of its room id. */
START_TEST(test_names_room_key)
{
	uint8_t key[ROOM_KEY_LEN], want[ROOM_KEY_LEN], room[ROOM_ID_LEN];

	unit_hex("013eda434d44e769479777488d3cceca2520c91e3650b365b9a0eff4537be67c",
	    want, sizeof(want));
	ck_assert_int_eq(chatc_room_key("lounge", key), 0);
	ck_assert_mem_eq(key, want, ROOM_KEY_LEN);
	ck_assert_int_eq(chatc_room_id("lounge", room), 0);
	ck_assert(memcmp(room, key, ROOM_KEY_LEN) != 0);
	ck_assert_int_eq(chatc_room_key("Lounge", key), 0);
	ck_assert(memcmp(key, want, ROOM_KEY_LEN) != 0);
}
END_TEST

Suite *suite_names(void);

Suite *
suite_names(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("spec4");

	tcase_add_test(tc, test_names_fingerprint_alice);
	tcase_add_test(tc, test_names_fingerprint_bob);
	tcase_add_test(tc, test_names_safety_number);
	tcase_add_test(tc, test_names_room_id);
	tcase_add_test(tc, test_names_room_key);
	suite_add_tcase(s, tc);
	return s;
}
