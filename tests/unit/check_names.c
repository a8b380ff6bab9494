/* SPDX-License-Identifier: ISC */
/*
 * PROTOCOL.md section 4: fingerprint and safety number of the
 * worked-example identities, and the room chatc joins from a name or an
 * invite code, exactly as written in the spec.
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

/* Section 4.2: chatc --room lounge --plaintext joins the room id and key of the spec's worked values. */
START_TEST(test_names_room_from_name)
{
	static char *argv[] = { "chatc", "--room", "lounge", "--nick", "a", "--plaintext",
	    NULL };
	uint8_t want_id[ROOM_ID_LEN], want_key[ROOM_KEY_LEN];
	static struct chatc_opts o;
	struct chatc_room cr;
	char err[256];

	unit_hex("5499aaf74f191ed0e59a49eb02409a7203e5054755485850e09319349ffd11f5",
	    want_id, sizeof(want_id));
	unit_hex("bec2c8121586909850e6a19a070591de6e637796dadb00030625cea263b2d1ff",
	    want_key, sizeof(want_key));
	ck_assert_int_eq(chatc_opts_parse(6, argv, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&o, &cr, err, sizeof(err)), 0);
	ck_assert_mem_eq(cr.cr_id, want_id, ROOM_ID_LEN);
	ck_assert_mem_eq(cr.cr_key, want_key, ROOM_KEY_LEN);
	ck_assert_uint_eq(cr.cr_short, 6);
}
END_TEST

/* Section 4.1: chatc --join of the spec's invite joins its room, at its relay. */
START_TEST(test_names_room_from_invite)
{
	static char *argv[] = { "chatc", "--join", "veil:AgAAAQIDBAUGBwgJCgsMDQ4PEBESExQV"
	    "FhcYGRobHB0eHwEOMTI3LjAuMC4xOjc3MDAATvjduA", "--nick", "a", NULL };
	uint8_t want_id[ROOM_ID_LEN], want_key[ROOM_KEY_LEN];
	static struct chatc_opts o;
	struct chatc_room cr;
	char err[256];

	unit_hex("ecc280cb88483cdd56c03845abadc673dae1cd4f0211c36164fbc2af16686eb7",
	    want_id, sizeof(want_id));
	unit_hex("09d7f4ddd764a81d9ebfd8fab0f4e41c9395ce06328e92a6be7aadbeee95cdb0",
	    want_key, sizeof(want_key));
	ck_assert_int_eq(chatc_opts_parse(5, argv, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&o, &cr, err, sizeof(err)), 0);
	ck_assert_mem_eq(cr.cr_id, want_id, ROOM_ID_LEN);
	ck_assert_mem_eq(cr.cr_key, want_key, ROOM_KEY_LEN);
	ck_assert_str_eq(o.co_relay, "127.0.0.1:7700");
	ck_assert_str_eq(cr.cr_label, "invite ecc280cb");
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
	tcase_add_test(tc, test_names_room_from_name);
	tcase_add_test(tc, test_names_room_from_invite);
	suite_add_tcase(s, tc);
	return s;
}
