/* SPDX-License-Identifier: ISC */
/*
 * The worked example of PROTOCOL.md section 2.7 (veil/2), both ways:
 *  - a reference computation, written straight from the text of sections
 *    2.2-2.3 with the crypto primitives and hand-built bytes (no codec, no
 *    session engine), must give every value of tests/unit/example_vectors.h;
 *  - two session engines with the same identities and ephemeral scalars must
 *    put exactly those bytes on the wire, and open each other's messages.
 * With VEIL_PRINT_EXAMPLE=1 the reference computation prints the values in
 * the header's format (that is how example_vectors.h and the PROTOCOL.md
 * text were made): VEIL_PRINT_EXAMPLE=1 CK_FORK=no CK_RUN_CASE=reference
 * build/unit-tests example (without CK_FORK=no every test prints a copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"
#include "e2e.h"
#include "err.h"
#include "inner.h"
#include "ipc.h"
#include "session.h"
#include "unit.h"

#include "example_vectors.h"

#define PROTOCOL_NAME	"veil/2 P-256 HKDF-SHA256 AES-256-GCM Ed25519"
#define EX_STREAM_ALICE	0x616c696365000001ULL	/* "alice" 00 00 01 */
#define EX_STREAM_BOB	0x626f620000000001ULL	/* "bob" 00 00 00 00 01 */
#define XV_MAX		128
#define XV_LEN		256

struct xv {
	const char	*name;
	uint8_t		 b[XV_LEN];
	size_t		 n;
};

static struct xv ref[XV_MAX];
static size_t nref;

static void
put(const char *name, const uint8_t *p, size_t n)
{
	ck_assert_uint_lt(nref, XV_MAX);
	ck_assert_uint_le(n, XV_LEN);
	ref[nref].name = name;
	memcpy(ref[nref].b, p, n);
	ref[nref].n = n;
	nref++;
}

/* The value called name in the table (hex decoded into out); aborts if absent. */
static size_t
table(const char *name, uint8_t *out, size_t max)
{
	size_t i;

	for (i = 0; i < sizeof(example_vectors) / sizeof(example_vectors[0]); i++)
		if (strcmp(example_vectors[i].name, name) == 0)
			return unit_hex(example_vectors[i].hex, out, max);
	ck_abort_msg("no value %s in example_vectors.h", name);
	return 0;
}

static const struct xv *
refval(const char *name)
{
	size_t i;

	for (i = 0; i < nref; i++)
		if (strcmp(ref[i].name, name) == 0)
			return &ref[i];
	ck_abort_msg("no reference value %s", name);
	return NULL;
}

/* Asserts that the reference value name equals the table's. */
static void
same(const char *name)
{
	uint8_t want[XV_LEN];
	const struct xv *v = refval(name);
	size_t n = table(name, want, sizeof(want));

	ck_assert_msg(n == v->n, "%s: %zu bytes, table has %zu", name, v->n, n);
	ck_assert_msg(memcmp(v->b, want, n) == 0, "%s differs: %s", name,
	    unit_tohex(v->b, v->n));
}

static void
cat(uint8_t *dst, size_t *off, const void *p, size_t n)
{
	ck_assert_uint_le(*off + n, XV_LEN);
	memcpy(dst + *off, p, n);
	*off += n;
}

/*
 * One ratchet step by hand (2.3): a fresh ratchet key from the scalar named
 * "scalar_<dir>" = SHA-256(label), dh_out = ECDH(it, peer), then
 * rk, ck, nhk = KDF_RK(rk, dh_out). Returns the new key pair in *priv / pub.
 */
static void
ref_step(const char *dir, const char *label, const uint8_t peer_pub[65], uint8_t rk[32],
    uint8_t ck[32], uint8_t nhk[32], uint8_t pub[65])
{
	static char names[4][7][24];
	static int used;
	uint8_t sc[32], dh[32], prk[32], okm[96];
	EVP_PKEY *priv = NULL, *peer = NULL;
	char (*nm)[24];

	ck_assert_int_lt(used, 4);
	nm = names[used++];
	ck_assert_int_eq(vc_sha256((const uint8_t *)label, strlen(label), sc), 0);
	ck_assert_int_eq(vc_p256_from_scalar(sc, &priv, pub), 0);
	ck_assert_int_eq(vc_p256_peer(peer_pub, 65, &peer), 0);
	ck_assert_int_eq(vc_ecdh(priv, peer, dh), 0);
	ck_assert_int_eq(vc_hkdf_extract(rk, 32, dh, 32, prk), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 ratchet step", okm, 96), 0);
	memcpy(rk, okm, 32);
	memcpy(ck, okm + 32, 32);
	memcpy(nhk, okm + 64, 32);
	snprintf(nm[0], 24, "scalar_%s", dir);
	snprintf(nm[1], 24, "dh_%s", dir);
	snprintf(nm[2], 24, "ecdh_%s", dir);
	snprintf(nm[3], 24, "rk_%s", dir);
	snprintf(nm[4], 24, "ck_%s", dir);
	snprintf(nm[5], 24, "nhk_%s", dir);
	put(nm[0], sc, 32);
	put(nm[1], pub, 65);
	put(nm[2], dh, 32);
	put(nm[3], rk, 32);
	put(nm[4], ck, 32);
	put(nm[5], nhk, 32);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
}

/*
 * One DATA message by hand (2.3): mk, ck = KDF_CK(ck); the header dh || pn
 * || n sealed under hk with the header nonce SHA-256(hn_label)[0..12]; the
 * body, a TEXT of stream / seq, sealed under mk.
 */
static void
ref_msg(const char *dir, const char *hn_label, const uint8_t room[32], uint16_t from,
    uint16_t to, const uint8_t hk[32], uint8_t ck[32], const uint8_t dh[65], uint32_t pn,
    uint32_t n, uint64_t stream, uint32_t seq, const char *text)
{
	static char names[4][10][24];
	static int used;
	uint8_t out[64], hn[32], hdr[73], adh[38], hct[89], nb[12], adb[139];
	uint8_t body[64], padded[64], ct[80], msg[183];
	size_t blen = 13 + strlen(text);
	char (*nm)[24];

	ck_assert_int_lt(used, 4);
	ck_assert_uint_le(3 + blen, 64);
	nm = names[used++];
	ck_assert_int_eq(vc_hkdf_expand(ck, "veil/2 ratchet", out, 64), 0);
	ck_assert_int_eq(vc_sha256((const uint8_t *)hn_label, strlen(hn_label), hn), 0);
	memcpy(hdr, dh, 65);
	veil_put32(hdr + 65, pn);
	veil_put32(hdr + 69, n);
	adh[0] = 0x02;
	adh[1] = 0x10;
	memcpy(adh + 2, room, 32);
	veil_put16(adh + 34, from);
	veil_put16(adh + 36, to);
	ck_assert_int_eq(vc_aead_seal(hk, hn, adh, sizeof(adh), hdr, sizeof(hdr), hct), 0);
	memset(nb, 0, 12);
	veil_put32(nb + 8, n);
	adb[0] = 0x02;
	adb[1] = 0x10;
	memcpy(adb + 2, hn, 12);
	memcpy(adb + 14, hct, 89);
	memcpy(adb + 103, room, 32);
	veil_put16(adb + 135, from);
	veil_put16(adb + 137, to);
	veil_put32(body, (uint32_t)(stream >> 32));
	veil_put32(body + 4, (uint32_t)stream);
	veil_put32(body + 8, seq);
	body[12] = 0;
	memcpy(body + 13, text, strlen(text));
	memset(padded, 0, sizeof(padded));
	padded[0] = 1;		/* TEXT */
	veil_put16(padded + 1, (uint16_t)blen);
	memcpy(padded + 3, body, blen);
	ck_assert_int_eq(vc_aead_seal(out, nb, adb, sizeof(adb), padded, 64, ct), 0);
	memcpy(msg, adb, 103);
	memcpy(msg + 103, ct, 80);
	snprintf(nm[0], 24, "mk_%s", dir);
	snprintf(nm[1], 24, "ck_%s_next", dir);
	snprintf(nm[2], 24, "hn_%s", dir);
	snprintf(nm[3], 24, "hdr_%s", dir);
	snprintf(nm[4], 24, "ad_h_%s", dir);
	snprintf(nm[5], 24, "hct_%s", dir);
	snprintf(nm[6], 24, "nb_%s", dir);
	snprintf(nm[7], 24, "ad_b_%s", dir);
	snprintf(nm[8], 24, "padded_%s", dir);
	snprintf(nm[9], 24, "data_%s", dir);
	put(nm[0], out, 32);
	put(nm[1], out + 32, 32);
	put(nm[2], hn, 12);
	put(nm[3], hdr, 73);
	put(nm[4], adh, 38);
	put(nm[5], hct, 89);
	put(nm[6], nb, 12);
	put(nm[7], adb, 139);
	put(nm[8], padded, 64);
	put(nm[9], msg, 183);
	memcpy(ck, out + 32, 32);
	vc_wipe(out, sizeof(out));
}

/*
 * The ratchet (2.3) from prk: alice sends (her first step, against e_R),
 * bob answers (his step, against alice's key), alice answers (her second
 * step, against bob's): two changes of speaker, three steps.
 */
static void
ref_ratchet(const uint8_t prk[32], const uint8_t room[32], const uint8_t e_r[65])
{
	uint8_t rk[32], ck_r0[32], hk_r0[32], nhk_i[32], nhk_r[32];
	uint8_t ck[32], nhk_a1[32], nhk_b1[32], nhk_a2[32], a1[65], b1[65], a2[65];

	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 root", rk, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 chain r0", ck_r0, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 header r0", hk_r0, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 header i1", nhk_i, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 header r1", nhk_r, 32), 0);
	put("rk0", rk, 32);
	put("ck_r0", ck_r0, 32);
	put("hk_r0", hk_r0, 32);
	put("nhk_i", nhk_i, 32);
	put("nhk_r", nhk_r, 32);
	/* 4. alice -> bob: her first step; header key nhk_i. */
	ref_step("ab", "veil example ratchet alice 1", e_r, rk, ck, nhk_a1, a1);
	ref_msg("ab", "veil example hn 1", room, 2, 1, nhk_i, ck, a1, 0, 0,
	    EX_STREAM_ALICE, 1, "hello bob");
	/* 5. bob -> alice: his first step (chain r0 unused: pn 0); header key nhk_r. */
	ref_step("ba", "veil example ratchet bob 1", a1, rk, ck, nhk_b1, b1);
	ref_msg("ba", "veil example hn 2", room, 1, 2, nhk_r, ck, b1, 0, 0,
	    EX_STREAM_BOB, 1, "hi alice");
	/* 6. alice -> bob: her second step (1 sent before: pn 1); header key nhk_ab. */
	ref_step("ab2", "veil example ratchet alice 2", b1, rk, ck, nhk_a2, a2);
	ref_msg("ab2", "veil example hn 3", room, 2, 1, nhk_a1, ck, a2, 1, 0,
	    EX_STREAM_ALICE, 2, "how are you");
	vc_wipe(rk, sizeof(rk));
	vc_wipe(ck, sizeof(ck));
}

/*
 * An identity block by hand (2.2): key, nick length, nick, zeros to 65
 * bytes.
 */
static void
ref_idb(uint8_t out[65], const uint8_t id[32], const char *nick)
{
	memset(out, 0, 65);
	memcpy(out, id, 32);
	out[32] = (uint8_t)strlen(nick);
	memcpy(out + 33, nick, strlen(nick));
}

/* Sections 2.2 and 2.3 (and 4's room derivation), by hand with the primitives. */
static void
ref_compute(void)
{
	static const char lbl_i[] = "veil/2 signature initiator";
	static const char lbl_r[] = "veil/2 signature responder";
	uint8_t seed_a[32], seed_b[32], id_a[32], id_b[32], room[32], sc_i[32], sc_r[32];
	uint8_t e_i[65], e_r[65], h[32], h2[32], h4[32], ss[32], ss2[32], prk_hs[32];
	uint8_t k_r[32], k_i[32], secret[32], rprk[32];
	uint8_t buf[XV_LEN], ct[XV_LEN], sig_i[64], sig_r[64], prk[32];
	uint8_t n0[12], idb[65], pt[129], u16[2];
	uint8_t signed_msg[26 + 32], room_key[32], ikm[64];
	size_t off, i;
	EVP_PKEY *pi = NULL, *pr = NULL, *peer = NULL;

	if (nref > 0)
		return;
	for (i = 0; i < 32; i++) {
		seed_a[i] = (uint8_t)i;
		seed_b[i] = (uint8_t)(0x20 + i);
	}
	ck_assert_int_eq(vc_ed25519_public(seed_a, id_a), 0);
	ck_assert_int_eq(vc_ed25519_public(seed_b, id_b), 0);
	put("seed_alice", seed_a, 32);
	put("id_alice", id_a, 32);
	put("seed_bob", seed_b, 32);
	put("id_bob", id_b, 32);
	/* The room secret, then room and room key as section 4 derives them. */
	ck_assert_int_eq(vc_sha256((const uint8_t *)"veil worked example room", 24, secret), 0);
	put("room_secret", secret, 32);
	ck_assert_int_eq(vc_hkdf_extract((const uint8_t *)"veil/2 room", 11, secret, 32,
	    rprk), 0);
	ck_assert_int_eq(vc_hkdf_expand(rprk, "veil/2 room id", room, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(rprk, "veil/2 room key", room_key, 32), 0);
	vc_wipe(rprk, sizeof(rprk));
	put("room", room, 32);
	put("room_key", room_key, 32);
	ck_assert_int_eq(vc_sha256((const uint8_t *)"veil example e_I", 16, sc_i), 0);
	ck_assert_int_eq(vc_sha256((const uint8_t *)"veil example e_R", 16, sc_r), 0);
	put("scalar_e_I", sc_i, 32);
	put("scalar_e_R", sc_r, 32);
	ck_assert_int_eq(vc_p256_from_scalar(sc_i, &pi, e_i), 0);
	ck_assert_int_eq(vc_p256_from_scalar(sc_r, &pr, e_r), 0);
	put("e_I", e_i, 65);
	put("e_R", e_r, 65);

	/* HS_INIT */
	buf[0] = 0x02;
	buf[1] = 0x01;
	memcpy(buf + 2, e_i, 65);
	put("hs_init", buf, 67);

	/* Transcript h0..h2: alice is member 2 (initiator), bob member 1. */
	ck_assert_int_eq(vc_sha256((const uint8_t *)PROTOCOL_NAME, strlen(PROTOCOL_NAME), h), 0);
	put("h0", h, 32);
	off = 0;
	cat(buf, &off, h, 32);
	cat(buf, &off, room, 32);
	veil_put16(u16, 2);
	cat(buf, &off, u16, 2);
	veil_put16(u16, 1);
	cat(buf, &off, u16, 2);
	cat(buf, &off, e_i, 65);
	ck_assert_int_eq(vc_sha256(buf, off, h), 0);
	put("h1", h, 32);
	off = 0;
	cat(buf, &off, h, 32);
	cat(buf, &off, e_r, 65);
	ck_assert_int_eq(vc_sha256(buf, off, h), 0);
	put("h2", h, 32);
	memcpy(h2, h, 32);

	/* ss both ways, the x coordinate. */
	ck_assert_int_eq(vc_p256_peer(e_r, 65, &peer), 0);
	ck_assert_int_eq(vc_ecdh(pi, peer, ss), 0);
	EVP_PKEY_free(peer);
	peer = NULL;
	ck_assert_int_eq(vc_p256_peer(e_i, 65, &peer), 0);
	ck_assert_int_eq(vc_ecdh(pr, peer, ss2), 0);
	EVP_PKEY_free(peer);
	ck_assert_mem_eq(ss, ss2, 32);
	put("ss", ss, 32);
	memcpy(ikm, ss, 32);
	memcpy(ikm + 32, room_key, 32);
	ck_assert_int_eq(vc_hkdf_extract(h, 32, ikm, 64, prk_hs), 0);
	put("prk_hs", prk_hs, 32);
	ck_assert_int_eq(vc_hkdf_expand(prk_hs, "veil/2 handshake r->i", k_r, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk_hs, "veil/2 handshake i->r", k_i, 32), 0);
	put("k_r", k_r, 32);
	put("k_i", k_i, 32);
	memset(n0, 0, 12);

	/* HS_RESP: h3 = H(h2 || idb_R), sig_R over it, AEAD(k_r, n0, h2, idb_R || sig_R). */
	ref_idb(idb, id_b, "bob");
	put("idb_R", idb, 65);
	off = 0;
	cat(buf, &off, h, 32);
	cat(buf, &off, idb, 65);
	ck_assert_int_eq(vc_sha256(buf, off, h), 0);
	put("h3", h, 32);
	memcpy(signed_msg, lbl_r, 26);
	memcpy(signed_msg + 26, h, 32);
	put("signed_responder", signed_msg, sizeof(signed_msg));
	ck_assert_int_eq(vc_ed25519_sign(seed_b, signed_msg, sizeof(signed_msg), sig_r), 0);
	put("sig_R", sig_r, 64);
	memcpy(pt, idb, 65);
	memcpy(pt + 65, sig_r, 64);
	put("resp_plaintext", pt, 129);
	ck_assert_int_eq(vc_aead_seal(k_r, n0, h2, 32, pt, 129, ct), 0);
	put("resp_ciphertext", ct, 145);
	off = 0;
	cat(buf, &off, "\x02\x02", 2);
	cat(buf, &off, e_r, 65);
	cat(buf, &off, ct, 145);
	put("hs_resp", buf, off);

	/* HS_FIN: h4 = H(h3 || sig_R), h5 = H(h4 || idb_I), sig_I over h5, sealed under h4. */
	off = 0;
	cat(buf, &off, h, 32);
	cat(buf, &off, sig_r, 64);
	ck_assert_int_eq(vc_sha256(buf, off, h), 0);
	put("h4", h, 32);
	memcpy(h4, h, 32);
	ref_idb(idb, id_a, "alice");
	put("idb_I", idb, 65);
	off = 0;
	cat(buf, &off, h, 32);
	cat(buf, &off, idb, 65);
	ck_assert_int_eq(vc_sha256(buf, off, h), 0);
	put("h5", h, 32);
	memcpy(signed_msg, lbl_i, 26);
	memcpy(signed_msg + 26, h, 32);
	put("signed_initiator", signed_msg, sizeof(signed_msg));
	ck_assert_int_eq(vc_ed25519_sign(seed_a, signed_msg, sizeof(signed_msg), sig_i), 0);
	put("sig_I", sig_i, 64);
	memcpy(pt, idb, 65);
	memcpy(pt + 65, sig_i, 64);
	put("fin_plaintext", pt, 129);
	ck_assert_int_eq(vc_aead_seal(k_i, n0, h4, 32, pt, 129, ct), 0);
	put("fin_ciphertext", ct, 145);
	buf[0] = 0x02;
	buf[1] = 0x03;
	memcpy(buf + 2, ct, 145);
	put("hs_fin", buf, 147);

	/* The ratchet's start from prk = Extract(h5, ss || room_key), then three messages. */
	ck_assert_int_eq(vc_hkdf_extract(h, 32, ikm, 64, prk), 0);
	put("prk", prk, 32);
	ref_ratchet(prk, room, e_r);

	EVP_PKEY_free(pi);
	EVP_PKEY_free(pr);

	if (getenv("VEIL_PRINT_EXAMPLE") != NULL) {
		printf("/* SPDX-License-Identifier: ISC */\n"
		    "/* Generated by VEIL_PRINT_EXAMPLE=1 unit-tests example; see check_example.c. */\n"
		    "#ifndef VEIL_EXAMPLE_VECTORS_H\n#define VEIL_EXAMPLE_VECTORS_H\n\n"
		    "static const struct {\n\tconst char\t*name;\n\tconst char\t*hex;\n"
		    "} example_vectors[] = {\n");
		for (i = 0; i < nref; i++)
			printf("\t{ \"%s\",\n\t  \"%s\" },\n", ref[i].name,
			    unit_tohex(ref[i].b, ref[i].n));
		printf("};\n\n#endif\n");
	}
}

/* ---- the reference computation against the table ---- */

START_TEST(test_example_table_complete)
{
	size_t i, ntab = sizeof(example_vectors) / sizeof(example_vectors[0]);

	ref_compute();
	ck_assert_uint_eq(ntab, nref);
	for (i = 0; i < nref; i++)
		same(ref[i].name);
}
END_TEST

START_TEST(test_example_identities)
{
	uint8_t seed[32], pub[32], want[32];

	ref_compute();
	same("id_alice");
	same("id_bob");
	table("seed_alice", seed, 32);
	ck_assert_int_eq(vc_ed25519_public(seed, pub), 0);
	table("id_alice", want, 32);
	ck_assert_mem_eq(pub, want, 32);
	ck_assert_uint_eq(seed[0], 0x00);
	ck_assert_uint_eq(seed[31], 0x1f);
}
END_TEST

START_TEST(test_example_room_and_ephemerals)
{
	ref_compute();
	same("room_secret");
	same("room");
	same("room_key");
	same("scalar_e_I");
	same("scalar_e_R");
	same("e_I");
	same("e_R");
	same("hs_init");
}
END_TEST

START_TEST(test_example_transcript)
{
	ref_compute();
	same("h0");
	same("h1");
	same("h2");
	same("h3");
	same("h4");
	same("h5");
}
END_TEST

START_TEST(test_example_handshake_keys)
{
	ref_compute();
	same("ss");
	same("prk_hs");
	same("k_r");
	same("k_i");
}
END_TEST

START_TEST(test_example_signatures)
{
	uint8_t id[32], msg[58], sig[64];

	ref_compute();
	same("sig_I");
	same("sig_R");
	/* They verify, and not under the other label. */
	table("id_alice", id, 32);
	table("signed_initiator", msg, sizeof(msg));
	table("sig_I", sig, 64);
	ck_assert_int_eq(vc_ed25519_verify(id, msg, sizeof(msg), sig), 0);
	table("signed_responder", msg, sizeof(msg));
	ck_assert_int_eq(vc_ed25519_verify(id, msg, sizeof(msg), sig), VEIL_E_AUTH);
	table("id_bob", id, 32);
	table("sig_R", sig, 64);
	ck_assert_int_eq(vc_ed25519_verify(id, msg, sizeof(msg), sig), 0);
}
END_TEST

START_TEST(test_example_handshake_ciphertexts)
{
	ref_compute();
	same("idb_R");
	same("idb_I");
	same("resp_plaintext");
	same("resp_ciphertext");
	same("fin_plaintext");
	same("fin_ciphertext");
	same("hs_resp");
	same("hs_fin");
}
END_TEST

START_TEST(test_example_ratchet_start)
{
	uint8_t a[32], b[32];

	ref_compute();
	same("prk");
	same("rk0");
	same("ck_r0");
	same("hk_r0");
	same("nhk_i");
	same("nhk_r");
	table("nhk_i", a, 32);
	table("nhk_r", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
}
END_TEST

START_TEST(test_example_ratchet_matches_vc_ratchet)
{
	uint8_t ck[32], mk[32], want[32];

	ref_compute();
	table("ck_ab", ck, 32);
	ck_assert_int_eq(vc_ratchet(ck, mk), 0);
	table("mk_ab", want, 32);
	ck_assert_mem_eq(mk, want, 32);
	table("ck_ab_next", want, 32);
	ck_assert_mem_eq(ck, want, 32);
	table("ck_ba", ck, 32);
	ck_assert_int_eq(vc_ratchet(ck, mk), 0);
	table("mk_ba", want, 32);
	ck_assert_mem_eq(mk, want, 32);
}
END_TEST

START_TEST(test_example_steps)
{
	static const char *const dirs[] = { "ab", "ba", "ab2" };
	char name[24];
	size_t i, k;
	static const char *const what[] = { "scalar", "dh", "ecdh", "rk", "ck", "nhk" };

	ref_compute();
	for (i = 0; i < 3; i++)
		for (k = 0; k < 6; k++) {
			snprintf(name, sizeof(name), "%s_%s", what[k], dirs[i]);
			same(name);
		}
}
END_TEST

START_TEST(test_example_data_values)
{
	static const char *const dirs[] = { "ab", "ba", "ab2" };
	static const char *const what[] = { "mk", "hn", "hdr", "ad_h", "hct", "nb", "ad_b",
	    "padded", "data" };
	char name[24];
	size_t i, k;

	ref_compute();
	for (i = 0; i < 3; i++)
		for (k = 0; k < sizeof(what) / sizeof(what[0]); k++) {
			snprintf(name, sizeof(name), "%s_%s", what[k], dirs[i]);
			same(name);
		}
}
END_TEST

START_TEST(test_example_padded_decodes)
{
	struct inner_msg im;
	uint8_t p[64];
	const uint8_t *body;
	size_t n, len;
	uint8_t kind;

	n = table("padded_ab", p, sizeof(p));
	ck_assert_int_eq(proto_inner_decode(p, n, &kind, &body, &len), 0);
	ck_assert_uint_eq(kind, IK_TEXT);
	ck_assert_uint_eq(len, INNER_TEXT_HDR_LEN + 9);
	ck_assert_int_eq(proto_inner_parse(kind, body, len, &im), 0);
	ck_assert(im.in_stream == EX_STREAM_ALICE);
	ck_assert_uint_eq(im.in_seq, 1);
	ck_assert_uint_eq(im.in_flags, 0);
	ck_assert_mem_eq(im.in_text, "hello bob", 9);
}
END_TEST

START_TEST(test_example_keys_fresh)
{
	uint8_t a[32], b[32];

	/* Each step gives a root and chains that share nothing with the last. */
	table("rk0", a, 32);
	table("rk_ab", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
	table("rk_ba", a, 32);
	ck_assert(memcmp(a, b, 32) != 0);
	table("ck_ab", a, 32);
	table("ck_ab2", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
	/* Same length, same kind: the headers share nothing a counter would show. */
	table("nhk_ab", a, 32);
	table("nhk_ab2", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
	{
		uint8_t h1[E2E_HDR_CT_LEN], h2[E2E_HDR_CT_LEN];

		table("hct_ab", h1, sizeof(h1));
		table("hct_ab2", h2, sizeof(h2));
		ck_assert(memcmp(h1, h2, sizeof(h1)) != 0);
	}
}
END_TEST

/* ---- the session engine reproduces the wire bytes ---- */

struct xside {
	struct vs_identity	 id;
	struct vs_params	 p;
	uint8_t			 sc[3][32];	/* handshake, then ratchet steps */
	uint8_t			 hn[2][12];	/* header nonces */
	struct vs_session	*s;
};

static void
side(struct xside *x, const char *seed, const char *nick, uint16_t me, uint16_t peer,
    const char *scalar, const char *r1, const char *r2, const char *hn1, const char *hn2)
{
	memset(x, 0, sizeof(*x));
	table(seed, x->id.id_seed, 32);
	ck_assert_int_eq(vc_ed25519_public(x->id.id_seed, x->id.id_pub), 0);
	x->id.id_nicklen = strlen(nick);
	memcpy(x->id.id_nick, nick, x->id.id_nicklen);
	table(scalar, x->sc[0], 32);
	table(r1, x->sc[1], 32);
	x->p.vp_neph = 2;
	if (r2 != NULL) {
		table(r2, x->sc[2], 32);
		x->p.vp_neph = 3;
	}
	table(hn1, x->hn[0], 12);
	x->p.vp_nhn = 1;
	if (hn2 != NULL) {
		table(hn2, x->hn[1], 12);
		x->p.vp_nhn = 2;
	}
	x->p.vp_me = &x->id;
	table("room", x->p.vp_room, 32);
	table("room_key", x->p.vp_room_key, 32);
	x->p.vp_me_id = me;
	x->p.vp_peer_id = peer;
	x->p.vp_eph = &x->sc[0][0];
	x->p.vp_hn = &x->hn[0][0];
}

static void
wire(const char *name, const struct vbuf *w)
{
	uint8_t want[XV_LEN];
	size_t n = table(name, want, sizeof(want));

	ck_assert_msg(w->vb_len == n, "%s: engine wrote %zu bytes, table %zu", name,
	    w->vb_len, n);
	ck_assert_msg(memcmp(w->vb_wr, want, n) == 0, "%s: engine wrote %s", name,
	    unit_tohex(w->vb_wr, w->vb_len));
}

/* The example's TEXT body: stream, seq, no flags, text. */
static size_t
ex_body(uint8_t *b, uint64_t stream, uint32_t seq, const char *text)
{
	struct inner_msg im;
	struct vbuf w;

	memset(&im, 0, sizeof(im));
	im.in_kind = IK_TEXT;
	im.in_stream = stream;
	im.in_seq = seq;
	im.in_text = (const uint8_t *)text;
	im.in_textlen = strlen(text);
	vbuf_writer(&w, b, INNER_BODY_MAX);
	ck_assert_int_eq(proto_inner_build(&w, &im), 0);
	return w.vb_len;
}

/* from seals name's TEXT (stream, seq, text); to opens it and sees it, gap 0. */
static void
engine_msg(struct xside *from, struct xside *to, const char *name, uint64_t stream,
    uint32_t seq, const char *text, uint8_t *m, size_t cap)
{
	uint8_t b[INNER_BODY_MAX];
	struct inner_msg im;
	struct vs_opened o;
	struct vbuf w;
	size_t n = ex_body(b, stream, seq, text);

	vbuf_writer(&w, m, cap);
	ck_assert_int_eq(vs_seal(from->s, IK_TEXT, b, n, &w), 0);
	wire(name, &w);
	ck_assert_int_eq(vs_open(to->s, w.vb_wr, w.vb_len, &o), 0);
	ck_assert_uint_eq(o.vo_kind, OPEN_TEXT);
	ck_assert_uint_eq(o.vo_gap, 0);
	ck_assert_int_eq(proto_inner_parse(o.vo_kind, o.vo_body, o.vo_bodylen, &im), 0);
	ck_assert(im.in_stream == stream);
	ck_assert_uint_eq(im.in_seq, seq);
	ck_assert_uint_eq(im.in_textlen, strlen(text));
	ck_assert_mem_eq(im.in_text, text, strlen(text));
}

/*
 * Runs the engines up to step (1..7) and checks each message on the way.
 * The sessions stay in pa->s / pb->s (the caller frees them): the sides live
 * in the caller's storage because the sessions keep pointers into them.
 */
static void
engine_go(int steps, struct xside *pa, struct xside *pb)
{
	uint8_t m[XV_LEN * 20];
	struct vbuf w;
	int done;

	side(pa, "seed_alice", "alice", 2, 1, "scalar_e_I", "scalar_ab", "scalar_ab2",
	    "hn_ab", "hn_ab2");
	side(pb, "seed_bob", "bob", 1, 2, "scalar_e_R", "scalar_ba", NULL, "hn_ba", NULL);
	vbuf_writer(&w, m, sizeof(m));
	ck_assert_int_eq(vs_start(&pa->s, &pa->p, &w), 0);
	wire("hs_init", &w);
	if (steps >= 2) {
		struct vbuf r;

		vbuf_writer(&r, m + 100, sizeof(m) - 100);
		ck_assert_int_eq(vs_accept(&pb->s, &pb->p, m, w.vb_len, &r), 0);
		wire("hs_resp", &r);
		w = r;
	}
	if (steps >= 3) {
		struct vbuf r;

		vbuf_writer(&r, m + 400, sizeof(m) - 400);
		ck_assert_int_eq(vs_handshake(pa->s, w.vb_wr, w.vb_len, &r, &done), 0);
		ck_assert_int_eq(done, 1);		/* alice: bob proved his key */
		wire("hs_fin", &r);
		w = r;
	}
	if (steps >= 4) {
		struct vbuf r;

		vbuf_writer(&r, m + 700, sizeof(m) - 700);
		ck_assert_int_eq(vs_handshake(pb->s, w.vb_wr, w.vb_len, &r, &done), 0);
		ck_assert_int_eq(done, 1);		/* bob: alice proved hers */
		ck_assert_uint_eq(r.vb_len, 0);
	}
	if (steps >= 5)
		engine_msg(pa, pb, "data_ab", EX_STREAM_ALICE, 1, "hello bob", m + 1000,
		    sizeof(m) - 1000);
	if (steps >= 6)
		engine_msg(pb, pa, "data_ba", EX_STREAM_BOB, 1, "hi alice", m + 2000,
		    sizeof(m) - 2000);
	if (steps >= 7)
		engine_msg(pa, pb, "data_ab2", EX_STREAM_ALICE, 2, "how are you", m + 3000,
		    sizeof(m) - 3000);
}

static void
engine_run(int steps)
{
	struct xside a, b;

	engine_go(steps, &a, &b);
	vs_free(a.s);
	vs_free(b.s);
}

/*
 * An authentic message alice never would send: sealed by hand as her n = 1
 * in her first chain (key ck_ab_next, header key nhk_i, her ratchet key
 * dh_ab, a header nonce of 12 bytes 0x55) around padded.
 */
static size_t
forge(const uint8_t dh[65], uint32_t pn, uint32_t n, const uint8_t *padded, size_t padlen,
    uint8_t *msg)
{
	uint8_t ck[32], out[64], hk[32], hn[12], hdr[73], adh[38], nb[12], adb[139];
	uint8_t room[32];

	table("ck_ab_next", ck, 32);
	table("nhk_i", hk, 32);
	table("room", room, 32);
	memcpy(hdr, dh, 65);
	veil_put32(hdr + 65, pn);
	veil_put32(hdr + 69, n);
	memset(hn, 0x55, sizeof(hn));
	ck_assert_int_eq(vc_hkdf_expand(ck, "veil/2 ratchet", out, 64), 0);
	adh[0] = 0x02;
	adh[1] = 0x10;
	memcpy(adh + 2, room, 32);
	veil_put16(adh + 34, 2);
	veil_put16(adh + 36, 1);
	msg[0] = 0x02;
	msg[1] = 0x10;
	memcpy(msg + 2, hn, 12);
	ck_assert_int_eq(vc_aead_seal(hk, hn, adh, sizeof(adh), hdr, sizeof(hdr), msg + 14), 0);
	memcpy(adb, msg, 103);
	memcpy(adb + 103, room, 32);
	veil_put16(adb + 135, 2);
	veil_put16(adb + 137, 1);
	memset(nb, 0, sizeof(nb));
	veil_put32(nb + 8, n);
	ck_assert_int_eq(vc_aead_seal(out, nb, adb, sizeof(adb), padded, padlen, msg + 103), 0);
	return 103 + padlen + 16;
}

static size_t
forge_ab1(const uint8_t *padded, size_t padlen, uint8_t *msg)
{
	uint8_t dh[65];

	table("dh_ab", dh, 65);
	return forge(dh, 0, 1, padded, padlen, msg);
}

/*
 * Headers that open under alice's header key but break 2.3 (step 3): bob,
 * after her first message, refuses each without any change, counting the
 * forged ones; the real next message still opens.
 */
START_TEST(test_example_forged_headers)
{
	struct xside a, b;
	uint8_t msg[400], p[64], dh[65];
	struct vs_opened o;
	size_t n;

	memset(p, 0, sizeof(p));
	engine_go(5, &a, &b);
	/* Another ratchet key in the current chain: counted. */
	table("dh_ba", dh, 65);
	n = forge(dh, 0, 1, p, sizeof(p), msg);
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), VEIL_E_INVALID);
	/* n = 0 again: a replay; n = 1 + 1025: past VS_MAX_SKIP. Not counted. */
	table("dh_ab", dh, 65);
	n = forge(dh, 0, 0, p, sizeof(p), msg);
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), VEIL_E_REPLAY);
	n = forge(dh, 0, 1 + VS_MAX_SKIP + 1, p, sizeof(p), msg);
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), VEIL_E_LIMIT);
	/* The right header around a body sealed under another key: AUTH. */
	n = forge(dh, 0, 1, p, sizeof(p), msg);
	msg[103] ^= 1;
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(b.s), 1);
	/* Nothing changed: alice's real next message opens, no gap. */
	{
		uint8_t body[INNER_BODY_MAX], m[E2E_MAX];
		struct vbuf w;
		size_t bl = ex_body(body, EX_STREAM_ALICE, 2, "still here");

		vbuf_writer(&w, m, sizeof(m));
		ck_assert_int_eq(vs_seal(a.s, IK_TEXT, body, bl, &w), 0);
		ck_assert_int_eq(vs_open(b.s, m, w.vb_len, &o), 0);
		ck_assert_uint_eq(o.vo_gap, 0);
	}
	/* Counted ones end the session at VS_MAX_AUTH_FAIL: 2 so far. */
	table("dh_ba", dh, 65);
	for (n = 2; n < VS_MAX_AUTH_FAIL - 1; n++) {
		size_t k = forge(dh, 0, 2, p, sizeof(p), msg);

		ck_assert_int_eq(vs_open(b.s, msg, k, &o), VEIL_E_INVALID);
		ck_assert_int_eq(vs_alive(b.s), 1);
	}
	n = forge(dh, 0, 2, p, sizeof(p), msg);
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), VEIL_E_INVALID);
	ck_assert_int_eq(vs_alive(b.s), 0);
	vs_free(a.s);
	vs_free(b.s);
}
END_TEST

/* Bob, after alice's first message, opens a forged authentic message. */
static void
authentic_but_wrong(const uint8_t *padded, size_t padlen, int want)
{
	struct xside a, b;
	uint8_t msg[400];
	struct vs_opened o;
	size_t n;

	engine_go(5, &a, &b);
	n = forge_ab1(padded, padlen, msg);
	ck_assert_int_eq(vs_open(b.s, msg, n, &o), want);
	ck_assert_int_eq(vs_alive(b.s), want == 0);
	vs_free(a.s);
	vs_free(b.s);
}

/* A padded TEXT: seq 1 of some stream, text t, into a bucket of padlen. */
static void
padded_text(uint8_t *p, size_t padlen, const char *t)
{
	memset(p, 0, padlen);
	p[0] = IK_TEXT;
	veil_put16(p + 1, (uint16_t)(INNER_TEXT_HDR_LEN + strlen(t)));
	p[3 + 11] = 1;			/* seq 1 */
	memcpy(p + 3 + INNER_TEXT_HDR_LEN, t, strlen(t));
}

START_TEST(test_example_forged_text_opens)
{
	uint8_t p[64];

	/* The forging helper itself is right: a well-formed TEXT opens. */
	padded_text(p, sizeof(p), "ok");
	authentic_but_wrong(p, sizeof(p), 0);
}
END_TEST

START_TEST(test_example_authentic_bad_padding)
{
	uint8_t p[64];

	padded_text(p, sizeof(p), "ok");
	p[63] = 1;		/* a padding byte that is not zero */
	authentic_but_wrong(p, sizeof(p), VEIL_E_INVALID);
}
END_TEST

/*
 * Finding 7: the bucket must be the smallest that holds the plaintext. An
 * authentic 9-byte text padded to 128 bytes (an implementation that pads
 * otherwise) is refused as malformed, and, being authentic, ends the session
 * (PROTOCOL.md 2.3): the rule is stated, not left to guess.
 */
START_TEST(test_example_authentic_not_smallest_bucket)
{
	uint8_t p[128];

	padded_text(p, sizeof(p), "hello bob");
	authentic_but_wrong(p, sizeof(p), VEIL_E_LENGTH);
}
END_TEST

START_TEST(test_example_authentic_unknown_kind)
{
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	p[0] = 9;
	authentic_but_wrong(p, sizeof(p), VEIL_E_TYPE);
}
END_TEST

/* The inner body's layout is checked exactly, on an authentic message too. */
START_TEST(test_example_authentic_bad_body)
{
	uint8_t p[64];

	padded_text(p, sizeof(p), "ok");
	p[3 + 12] = 0x80;	/* an unknown TEXT flag */
	authentic_but_wrong(p, sizeof(p), VEIL_E_INVALID);
	padded_text(p, sizeof(p), "ok");
	p[3 + 11] = 0;		/* seq 0 */
	authentic_but_wrong(p, sizeof(p), VEIL_E_INVALID);
	memset(p, 0, sizeof(p));
	p[0] = IK_PING;
	p[2] = 3;		/* a 3-byte PING */
	authentic_but_wrong(p, sizeof(p), VEIL_E_LENGTH);
	memset(p, 0, sizeof(p));
	p[0] = IK_CLOSE;
	p[2] = 1;		/* a CLOSE with a body */
	authentic_but_wrong(p, sizeof(p), VEIL_E_LENGTH);
}
END_TEST

/* veil/1's REKEY_INIT, authentic: an unknown kind now; the session ends. */
START_TEST(test_example_authentic_rekey_kind)
{
	uint8_t p[128];

	memset(p, 0, sizeof(p));
	p[0] = 2;
	p[2] = 65;
	table("dh_ba", p + 3, 65);
	authentic_but_wrong(p, sizeof(p), VEIL_E_TYPE);
}
END_TEST

START_TEST(test_example_engine_hs_init)
{
	engine_run(1);
}
END_TEST

START_TEST(test_example_engine_hs_resp)
{
	engine_run(2);
}
END_TEST

START_TEST(test_example_engine_hs_fin)
{
	engine_run(3);
}
END_TEST

START_TEST(test_example_engine_hs_done)
{
	engine_run(4);
}
END_TEST

START_TEST(test_example_engine_data_alice)
{
	engine_run(5);
}
END_TEST

START_TEST(test_example_engine_data_bob)
{
	engine_run(6);
}
END_TEST

START_TEST(test_example_engine_data_alice_again)
{
	engine_run(7);
}
END_TEST

START_TEST(test_example_decodes)
{
	uint8_t msg[XV_LEN];
	struct e2e_msg m;
	size_t n;

	n = table("hs_resp", msg, sizeof(msg));
	ck_assert_uint_eq(n, E2E_HS_RESP_LEN);
	ck_assert_int_eq(proto_e2e_decode(msg, n, &m), 0);
	ck_assert_uint_eq(m.em_type, E2E_HS_RESP);
	n = table("hs_fin", msg, sizeof(msg));
	ck_assert_uint_eq(n, E2E_HS_FIN_LEN);
	ck_assert_int_eq(proto_e2e_decode(msg, n, &m), 0);
	ck_assert_uint_eq(m.em_type, E2E_HS_FIN);
	n = table("data_ba", msg, sizeof(msg));
	ck_assert_int_eq(proto_e2e_decode(msg, n, &m), 0);
	ck_assert_uint_eq(m.em_type, E2E_DATA);
	ck_assert_uint_eq(m.em_ctlen, 80);
	ck_assert_uint_eq(n, E2E_DATA_MIN);
	{
		uint8_t hn[E2E_HN_LEN];

		table("hn_ba", hn, sizeof(hn));
		ck_assert_mem_eq(m.em_hn, hn, E2E_HN_LEN);
	}
}
END_TEST

Suite *suite_example(void);

Suite *
suite_example(void)
{
	Suite *s = suite_create("example");
	TCase *r = tcase_create("reference");
	TCase *e = tcase_create("engine");

	tcase_add_test(r, test_example_table_complete);
	tcase_add_test(r, test_example_identities);
	tcase_add_test(r, test_example_room_and_ephemerals);
	tcase_add_test(r, test_example_transcript);
	tcase_add_test(r, test_example_handshake_keys);
	tcase_add_test(r, test_example_signatures);
	tcase_add_test(r, test_example_handshake_ciphertexts);
	tcase_add_test(r, test_example_ratchet_start);
	tcase_add_test(r, test_example_ratchet_matches_vc_ratchet);
	tcase_add_test(r, test_example_steps);
	tcase_add_test(r, test_example_data_values);
	tcase_add_test(r, test_example_padded_decodes);
	tcase_add_test(r, test_example_keys_fresh);
	suite_add_tcase(s, r);
	tcase_add_test(e, test_example_engine_hs_init);
	tcase_add_test(e, test_example_engine_hs_resp);
	tcase_add_test(e, test_example_engine_hs_fin);
	tcase_add_test(e, test_example_engine_hs_done);
	tcase_add_test(e, test_example_engine_data_alice);
	tcase_add_test(e, test_example_engine_data_bob);
	tcase_add_test(e, test_example_engine_data_alice_again);
	tcase_add_test(e, test_example_decodes);
	tcase_add_test(e, test_example_forged_text_opens);
	tcase_add_test(e, test_example_authentic_bad_padding);
	tcase_add_test(e, test_example_authentic_not_smallest_bucket);
	tcase_add_test(e, test_example_authentic_unknown_kind);
	tcase_add_test(e, test_example_authentic_bad_body);
	tcase_add_test(e, test_example_forged_headers);
	tcase_add_test(e, test_example_authentic_rekey_kind);
	suite_add_tcase(s, e);
	return s;
}
