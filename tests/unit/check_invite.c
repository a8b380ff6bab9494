/* SPDX-License-Identifier: ISC */
/*
 * PROTOCOL.md 4.1: invite codes (protocol/invite.c) and the room id and key
 * they give (chatc/roomkey.c); 4.2: room names stretched with Argon2id.
 * Known answers come from an independent Python computation (hashlib, hmac,
 * argon2-cffi); the malformed cases are named as the codec tests elsewhere:
 * truncated, oversize, trailing, and every one-character mutation.
 */
#include <string.h>

#include <check.h>

#include <openssl/evp.h>

#include "err.h"
#include "invite.h"
#include "roomkey.h"
#include "unit.h"

#define CODE1	"veil:AgAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHwEOMTI3LjAuMC4xOjc3MDAATvjduA"
#define CODE2	"veil:AgAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHwIWcmVsYXkuZXhhbXBsZS5vcmc6Nz" \
		"cwMCAgISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-PwpbOjoxXTo3NzAxAAJ3BvY"

static void
secret_00_1f(uint8_t s[static INVITE_SECRET_LEN])
{
	size_t i;

	for (i = 0; i < INVITE_SECRET_LEN; i++)
		s[i] = (uint8_t)i;
}

static void
one_relay(struct invite *iv)
{
	memset(iv, 0, sizeof(*iv));
	secret_00_1f(iv->iv_secret);
	iv->iv_nrelays = 1;
	strcpy(iv->iv_relays[0].ir_addr, "127.0.0.1:7700");
}

START_TEST(test_invite_encode_known)
{
	struct invite iv;
	char out[INVITE_TEXT_MAX];
	size_t i;

	one_relay(&iv);
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), 0);
	ck_assert_str_eq(out, CODE1);
	iv.iv_nrelays = 2;
	strcpy(iv.iv_relays[0].ir_addr, "relay.example.org:7700");
	iv.iv_relays[0].ir_has_fp = 1;
	for (i = 0; i < RELAY_FP_LEN; i++)
		iv.iv_relays[0].ir_fp[i] = (uint8_t)(32 + i);
	strcpy(iv.iv_relays[1].ir_addr, "[::1]:7701");
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), 0);
	ck_assert_str_eq(out, CODE2);
}
END_TEST

START_TEST(test_invite_decode_known)
{
	uint8_t secret[INVITE_SECRET_LEN];
	struct invite iv;
	size_t i;

	secret_00_1f(secret);
	ck_assert_int_eq(proto_invite_decode(CODE2, &iv), 0);
	ck_assert_mem_eq(iv.iv_secret, secret, INVITE_SECRET_LEN);
	ck_assert_uint_eq(iv.iv_nrelays, 2);
	ck_assert_str_eq(iv.iv_relays[0].ir_addr, "relay.example.org:7700");
	ck_assert_int_eq(iv.iv_relays[0].ir_has_fp, 1);
	for (i = 0; i < RELAY_FP_LEN; i++)
		ck_assert_uint_eq(iv.iv_relays[0].ir_fp[i], 32 + i);
	ck_assert_str_eq(iv.iv_relays[1].ir_addr, "[::1]:7701");
	ck_assert_int_eq(iv.iv_relays[1].ir_has_fp, 0);
}
END_TEST

START_TEST(test_invite_roundtrip_limits)
{
	struct invite iv, back;
	char out[INVITE_TEXT_MAX];
	size_t i;

	memset(&iv, 0, sizeof(iv));
	memset(iv.iv_secret, 0xa5, sizeof(iv.iv_secret));
	iv.iv_nrelays = INVITE_RELAYS_MAX;
	for (i = 0; i < INVITE_RELAYS_MAX; i++) {
		memset(iv.iv_relays[i].ir_addr, 'a' + (int)i, INVITE_ADDR_MAX);
		iv.iv_relays[i].ir_has_fp = 1;
		memset(iv.iv_relays[i].ir_fp, (int)i, RELAY_FP_LEN);
	}
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out) + 1, INVITE_TEXT_MAX);
	ck_assert_int_eq(proto_invite_encode(&iv, out, INVITE_TEXT_MAX - 1), VEIL_E_NOSPACE);
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), 0);
	ck_assert_int_eq(proto_invite_decode(out, &back), 0);
	ck_assert_mem_eq(&back, &iv, sizeof(iv));
}
END_TEST

START_TEST(test_invite_encode_invalid)
{
	struct invite iv;
	char out[INVITE_TEXT_MAX];

	one_relay(&iv);
	iv.iv_nrelays = 0;
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), VEIL_E_INVALID);
	iv.iv_nrelays = INVITE_RELAYS_MAX + 1;
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), VEIL_E_INVALID);
	one_relay(&iv);
	strcpy(iv.iv_relays[0].ir_addr, "a b:1");
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), VEIL_E_INVALID);
	iv.iv_relays[0].ir_addr[0] = '\0';
	ck_assert_int_eq(proto_invite_encode(&iv, out, sizeof(out)), VEIL_E_INVALID);
}
END_TEST

/* Builds a code from raw bytes (the check bytes computed by the encoder's rule). */
static void
code_of(const uint8_t *bin, size_t n, int fix_check, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t buf[INVITE_BIN_MAX + 8];
	size_t i, o = 5;
	uint32_t v;

	ck_assert_uint_le(n + 4, sizeof(buf));
	memcpy(buf, bin, n);
	if (fix_check) {
		/* The check bytes, by the definition in PROTOCOL.md 4.1. */
		uint8_t d[32];
		unsigned int dl = 0;
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
		ck_assert_int_eq(EVP_DigestUpdate(c, "veil/2 invite", 13), 1);
		ck_assert_int_eq(EVP_DigestUpdate(c, bin, n), 1);
		ck_assert_int_eq(EVP_DigestFinal_ex(c, d, &dl), 1);
		EVP_MD_CTX_free(c);
		memcpy(buf + n, d, 4);
		n += 4;
	}
	memcpy(out, "veil:", 5);
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)buf[i] << 16 | (i + 1 < n ? (uint32_t)buf[i + 1] << 8 : 0) |
		    (i + 2 < n ? buf[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
}

/* The binary of CODE1 without its check: 2 + 32 + 1 + (1 + 14) + 1 bytes. */
static size_t
bin1(uint8_t *b)
{
	size_t n = 0;

	b[n++] = 2;
	b[n++] = 0;
	secret_00_1f(b + n);
	n += 32;
	b[n++] = 1;
	b[n++] = 14;
	memcpy(b + n, "127.0.0.1:7700", 14);
	n += 14;
	b[n++] = 0;
	return n;
}

START_TEST(test_invite_decode_fields)
{
	uint8_t b[INVITE_BIN_MAX];
	char code[INVITE_TEXT_MAX + 16];
	struct invite iv;
	size_t n;

	n = bin1(b);
	code_of(b, n, 1, code);
	ck_assert_str_eq(code, CODE1);
	b[0] = 1;				/* version */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_VERSION);
	n = bin1(b);
	b[1] = 1;				/* flags */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	n = bin1(b);
	b[34] = 0;				/* no relay */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_LENGTH);
	b[34] = INVITE_RELAYS_MAX + 1;
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_LENGTH);
	n = bin1(b);
	b[n - 1] = 5;				/* fingerprint length */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_LENGTH);
	n = bin1(b);
	b[36 + 3] = ' ';			/* a space in the address */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	n = bin1(b);
	b[35] = 0;				/* empty address */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	n = bin1(b);
	b[n++] = 0;				/* trailing */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_TRAILING);
	n = bin1(b) - 1;			/* truncated */
	code_of(b, n, 1, code);
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_TRUNCATED);
	n = bin1(b);
	code_of(b, n, 0, code);			/* no check bytes at all */
	ck_assert_int_ne(proto_invite_decode(code, &iv), 0);
	ck_assert_int_eq(proto_invite_decode("veil:AgA", &iv), VEIL_E_TRUNCATED);
	ck_assert_int_eq(proto_invite_decode("veil:", &iv), VEIL_E_TRUNCATED);
}
END_TEST

START_TEST(test_invite_decode_text)
{
	char code[sizeof(CODE1) + 8];
	struct invite iv;

	ck_assert_int_eq(proto_invite_decode(NULL, &iv), VEIL_E_INVALID);
	ck_assert_int_eq(proto_invite_decode("", &iv), VEIL_E_INVALID);
	ck_assert_int_eq(proto_invite_decode(&CODE1[5], &iv), VEIL_E_INVALID);	/* no prefix */
	ck_assert_int_eq(proto_invite_decode("Veil:AgA", &iv), VEIL_E_INVALID);
	strcpy(code, CODE1);
	strcat(code, "=");				/* padding */
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	strcpy(code, CODE1);
	code[10] = '+';					/* base64, not base64url */
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	strcpy(code, CODE1);
	ck_assert_uint_eq(strlen(code + 5) % 4, 2);
	strcat(code, "AAA");				/* 4n + 1 characters: no whole byte */
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
	strcpy(code, CODE1);
	strcat(code, "A");				/* one byte more than the fields */
	ck_assert_int_ne(proto_invite_decode(code, &iv), 0);
	/* The last character carries 4 unused bits: "A" -> "B" sets one. */
	strcpy(code, CODE1);
	ck_assert_int_eq(code[strlen(code) - 1], 'A');
	code[strlen(code) - 1] = 'B';
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_INVALID);
}
END_TEST

/* Every one-character change and every truncation is refused, never accepted. */
START_TEST(test_invite_mutations)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char code[sizeof(CODE2)];
	struct invite iv;
	size_t i, j, n = strlen(CODE2);

	for (i = 5; i < n; i++) {
		for (j = 0; j < sizeof(alpha) - 1; j++) {
			if (alpha[j] == CODE2[i])
				continue;
			memcpy(code, CODE2, sizeof(code));
			code[i] = alpha[j];
			ck_assert_int_ne(proto_invite_decode(code, &iv), 0);
		}
	}
	for (i = 0; i < n; i++) {
		memcpy(code, CODE2, sizeof(code));
		code[i] = '\0';
		ck_assert_int_ne(proto_invite_decode(code, &iv), 0);
	}
}
END_TEST

START_TEST(test_invite_oversize)
{
	static char code[INVITE_TEXT_MAX + 64];
	struct invite iv;

	memcpy(code, "veil:", 5);
	memset(code + 5, 'A', sizeof(code) - 6);
	code[sizeof(code) - 1] = '\0';
	ck_assert_int_eq(proto_invite_decode(code, &iv), VEIL_E_OVERSIZE);
}
END_TEST

START_TEST(test_roomkey_secret)
{
	uint8_t s[INVITE_SECRET_LEN], room[ROOM_ID_LEN], key[ROOMKEY_LEN], want[32];

	secret_00_1f(s);
	ck_assert_int_eq(roomkey_from_secret(s, room, key), 0);
	unit_hex("ecc280cb88483cdd56c03845abadc673dae1cd4f0211c36164fbc2af16686eb7", want, 32);
	ck_assert_mem_eq(room, want, 32);
	unit_hex("09d7f4ddd764a81d9ebfd8fab0f4e41c9395ce06328e92a6be7aadbeee95cdb0", want, 32);
	ck_assert_mem_eq(key, want, 32);
}
END_TEST

START_TEST(test_roomkey_name)
{
	uint8_t relay[RELAY_ID_LEN], room[ROOM_ID_LEN], key[ROOMKEY_LEN], want[32];
	uint8_t room2[ROOM_ID_LEN], key2[ROOMKEY_LEN];

	memset(relay, 0, sizeof(relay));
	ck_assert_int_eq(roomkey_from_name("lounge", relay, room, key), 0);
	unit_hex("5499aaf74f191ed0e59a49eb02409a7203e5054755485850e09319349ffd11f5", want, 32);
	ck_assert_mem_eq(room, want, 32);
	unit_hex("bec2c8121586909850e6a19a070591de6e637796dadb00030625cea263b2d1ff", want, 32);
	ck_assert_mem_eq(key, want, 32);
	/* Salted per relay: another relay key, another room. */
	relay[0] = 1;
	ck_assert_int_eq(roomkey_from_name("lounge", relay, room2, key2), 0);
	ck_assert(memcmp(room, room2, 32) != 0 && memcmp(key, key2, 32) != 0);
	ck_assert_int_eq(roomkey_from_name("", relay, room2, key2), VEIL_E_INVALID);
}
END_TEST

Suite *suite_invite(void);

Suite *
suite_invite(void)
{
	Suite *s = suite_create("invite");
	TCase *tc = tcase_create("codec");
	TCase *tk = tcase_create("roomkey");

	tcase_add_test(tc, test_invite_encode_known);
	tcase_add_test(tc, test_invite_decode_known);
	tcase_add_test(tc, test_invite_roundtrip_limits);
	tcase_add_test(tc, test_invite_encode_invalid);
	tcase_add_test(tc, test_invite_decode_fields);
	tcase_add_test(tc, test_invite_decode_text);
	tcase_add_test(tc, test_invite_mutations);
	tcase_add_test(tc, test_invite_oversize);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tk, 30);
	tcase_add_test(tk, test_roomkey_secret);
	tcase_add_test(tk, test_roomkey_name);
	suite_add_tcase(s, tk);
	return s;
}
