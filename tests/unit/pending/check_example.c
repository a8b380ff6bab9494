/* SPDX-License-Identifier: ISC */
/*
 * The worked example of PROTOCOL.md section 2.7 (veil/2), both ways:
 *  - a reference computation, written straight from the text of sections
 *    2.2-2.4 with the crypto primitives and hand-built bytes (no codec, no
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
#include "ipc.h"
#include "session.h"
#include "unit.h"

#include "example_vectors.h"

#define PROTOCOL_NAME	"veil/2 P-256 HKDF-SHA256 AES-256-GCM Ed25519"
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
 * One data message by hand: ratchet ck once (ck is replaced by the next chain
 * key), seal kind/body at epoch/ctr from member "from" to member "to".
 */
static void
ref_data(const char *dir, uint8_t ck[32], const uint8_t room[32], uint16_t from,
    uint16_t to, uint32_t epoch, uint32_t ctr, uint8_t kind, const void *body,
    size_t len)
{
	static char names[8][6][24];
	static int used;
	uint8_t out[64], nonce[12], ad[46], padded[128], ct[144], msg[154];
	size_t padlen = 3 + len <= 64 ? 64 : 128;
	char (*nm)[24];

	ck_assert_int_lt(used, 8);
	ck_assert_uint_le(3 + len, 128);
	nm = names[used++];
	ck_assert_int_eq(vc_hkdf_expand(ck, "veil/2 ratchet", out, 64), 0);
	memset(nonce, 0, 4);			/* 00000000 || epoch || ctr */
	veil_put32(nonce + 4, epoch);
	veil_put32(nonce + 8, ctr);
	ad[0] = 0x02;
	ad[1] = 0x10;
	veil_put32(ad + 2, epoch);
	veil_put32(ad + 6, ctr);
	memcpy(ad + 10, room, 32);
	veil_put16(ad + 42, from);
	veil_put16(ad + 44, to);
	memset(padded, 0, sizeof(padded));
	padded[0] = kind;
	veil_put16(padded + 1, (uint16_t)len);
	memcpy(padded + 3, body, len);
	ck_assert_int_eq(vc_aead_seal(out, nonce, ad, sizeof(ad), padded, padlen, ct), 0);
	memcpy(msg, ad, 10);
	memcpy(msg + 10, ct, padlen + 16);
	snprintf(nm[0], 24, "mk_%s", dir);
	snprintf(nm[1], 24, "ck_%s_next", dir);
	snprintf(nm[2], 24, "nonce_%s", dir);
	snprintf(nm[3], 24, "ad_%s", dir);
	snprintf(nm[4], 24, "padded_%s", dir);
	snprintf(nm[5], 24, "data_%s", dir);
	put(nm[0], out, 32);
	put(nm[1], out + 32, 32);
	put(nm[2], nonce, 12);
	put(nm[3], ad, 46);
	put(nm[4], padded, padlen);
	put(nm[5], msg, 10 + padlen + 16);
	memcpy(ck, out + 32, 32);
	vc_wipe(out, sizeof(out));
}

/* Section 2.4: alice rekeys after the first message each way. */
static void
ref_rekey(const uint8_t room[32], uint8_t root[32], uint8_t ck_ir[32], uint8_t ck_ri[32])
{
	uint8_t sa[32], sb[32], ea[65], eb[65], dh[32], dh2[32], prk[32];
	EVP_PKEY *pa = NULL, *pb = NULL, *peer = NULL;

	ck_assert_int_eq(vc_sha256((const uint8_t *)"veil example rekey e'_A", 23, sa), 0);
	ck_assert_int_eq(vc_sha256((const uint8_t *)"veil example rekey e'_B", 23, sb), 0);
	put("scalar_rekey_A", sa, 32);
	put("scalar_rekey_B", sb, 32);
	ck_assert_int_eq(vc_p256_from_scalar(sa, &pa, ea), 0);
	ck_assert_int_eq(vc_p256_from_scalar(sb, &pb, eb), 0);
	put("rekey_A", ea, 65);
	put("rekey_B", eb, 65);
	/* REKEY_INIT: alice's second message, epoch 0 ctr 1; REKEY_RESP: bob's. */
	ref_data("rk_init", ck_ir, room, 2, 1, 0, 1, IK_REKEY_INIT, ea, 65);
	ref_data("rk_resp", ck_ri, room, 1, 2, 0, 1, IK_REKEY_RESP, eb, 65);
	ck_assert_int_eq(vc_p256_peer(eb, 65, &peer), 0);
	ck_assert_int_eq(vc_ecdh(pa, peer, dh), 0);
	EVP_PKEY_free(peer);
	peer = NULL;
	ck_assert_int_eq(vc_p256_peer(ea, 65, &peer), 0);
	ck_assert_int_eq(vc_ecdh(pb, peer, dh2), 0);
	EVP_PKEY_free(peer);
	ck_assert_mem_eq(dh, dh2, 32);
	put("rekey_dh", dh, 32);
	ck_assert_int_eq(vc_hkdf_extract(root, 32, dh, 32, prk), 0);
	put("rekey_prk", prk, 32);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 root", root, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 chain i->r", ck_ir, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 chain r->i", ck_ri, 32), 0);
	put("root_1", root, 32);
	put("ck_ir_1", ck_ir, 32);
	put("ck_ri_1", ck_ri, 32);
	/* The first message of epoch 1, alice to bob. */
	ref_data("ab_1", ck_ir, room, 2, 1, 1, 0, IK_TEXT, "rekeyed", 7);
	EVP_PKEY_free(pa);
	EVP_PKEY_free(pb);
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
	uint8_t buf[XV_LEN], ct[XV_LEN], sig_i[64], sig_r[64], prk[32], root[32];
	uint8_t ck_ir[32], ck_ri[32], n0[12], idb[65], pt[129], u16[2];
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

	/* Session keys from prk = Extract(h5, ss || room_key). */
	ck_assert_int_eq(vc_hkdf_extract(h, 32, ikm, 64, prk), 0);
	put("prk", prk, 32);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 root", root, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 chain i->r", ck_ir, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 chain r->i", ck_ri, 32), 0);
	put("root", root, 32);
	put("ck_ir", ck_ir, 32);
	put("ck_ri", ck_ri, 32);

	/* First data message each way, then a rekey and one message in epoch 1. */
	ref_data("ab", ck_ir, room, 2, 1, 0, 0, IK_TEXT, "hello bob", 9);
	ref_data("ba", ck_ri, room, 1, 2, 0, 0, IK_TEXT, "hi alice", 8);
	ref_rekey(room, root, ck_ir, ck_ri);

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

START_TEST(test_example_session_keys)
{
	uint8_t ck_ir[32], ck_ri[32];

	ref_compute();
	same("prk");
	same("root");
	same("ck_ir");
	same("ck_ri");
	table("ck_ir", ck_ir, 32);
	table("ck_ri", ck_ri, 32);
	ck_assert(memcmp(ck_ir, ck_ri, 32) != 0);
}
END_TEST

START_TEST(test_example_ratchet_matches_vc_ratchet)
{
	uint8_t ck[32], mk[32], want[32];

	ref_compute();
	table("ck_ir", ck, 32);
	ck_assert_int_eq(vc_ratchet(ck, mk), 0);
	table("mk_ab", want, 32);
	ck_assert_mem_eq(mk, want, 32);
	table("ck_ab_next", want, 32);
	ck_assert_mem_eq(ck, want, 32);
	table("ck_ri", ck, 32);
	ck_assert_int_eq(vc_ratchet(ck, mk), 0);
	table("mk_ba", want, 32);
	ck_assert_mem_eq(mk, want, 32);
}
END_TEST

START_TEST(test_example_data_values)
{
	ref_compute();
	same("mk_ab");
	same("nonce_ab");
	same("ad_ab");
	same("padded_ab");
	same("data_ab");
	same("mk_ba");
	same("nonce_ba");
	same("ad_ba");
	same("padded_ba");
	same("data_ba");
}
END_TEST

START_TEST(test_example_rekey_values)
{
	ref_compute();
	same("rekey_A");
	same("rekey_B");
	same("padded_rk_init");
	same("data_rk_init");
	same("nonce_rk_resp");
	same("ad_rk_resp");
	same("padded_rk_resp");
	same("data_rk_resp");
	same("rekey_dh");
	same("rekey_prk");
	same("root_1");
	same("ck_ir_1");
	same("ck_ri_1");
	same("data_ab_1");
}
END_TEST

START_TEST(test_example_rekey_chain_fresh)
{
	uint8_t a[32], b[32];

	/* The new chains share nothing with the old ones. */
	table("ck_ir", a, 32);
	table("ck_ir_1", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
	table("root", a, 32);
	table("root_1", b, 32);
	ck_assert(memcmp(a, b, 32) != 0);
}
END_TEST

START_TEST(test_example_padded_decodes)
{
	uint8_t p[64];
	const uint8_t *body;
	size_t n, len;
	uint8_t kind;

	n = table("padded_ab", p, sizeof(p));
	ck_assert_int_eq(proto_inner_decode(p, n, &kind, &body, &len), 0);
	ck_assert_uint_eq(kind, IK_TEXT);
	ck_assert_uint_eq(len, 9);
	ck_assert_mem_eq(body, "hello bob", 9);
}
END_TEST

/* ---- the session engine reproduces the wire bytes ---- */

struct xside {
	struct vs_identity	 id;
	struct vs_params	 p;
	uint8_t			 sc[2][32];	/* handshake, then rekey */
	struct vs_session	*s;
};

static void
side(struct xside *x, const char *seed, const char *nick, uint16_t me, uint16_t peer,
    const char *scalar, const char *rekey_scalar)
{
	memset(x, 0, sizeof(*x));
	table(seed, x->id.id_seed, 32);
	ck_assert_int_eq(vc_ed25519_public(x->id.id_seed, x->id.id_pub), 0);
	x->id.id_nicklen = strlen(nick);
	memcpy(x->id.id_nick, nick, x->id.id_nicklen);
	table(scalar, x->sc[0], 32);
	table(rekey_scalar, x->sc[1], 32);
	x->p.vp_me = &x->id;
	table("room", x->p.vp_room, 32);
	table("room_key", x->p.vp_room_key, 32);
	x->p.vp_me_id = me;
	x->p.vp_peer_id = peer;
	x->p.vp_eph = &x->sc[0][0];
	x->p.vp_neph = 2;
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

/*
 * Runs the engines up to step (1..9) and checks each message on the way.
 * The sessions stay in pa->s / pb->s (the caller frees them): the sides live
 * in the caller's storage because the sessions keep pointers into them.
 */
static void
engine_go(int steps, struct xside *pa, struct xside *pb)
{
	uint8_t m[XV_LEN * 20];
	struct vs_opened o;
	struct vbuf w, rep;
	uint8_t flags, rb[8];
	int done;

	side(pa, "seed_alice", "alice", 2, 1, "scalar_e_I", "scalar_rekey_A");
	side(pb, "seed_bob", "bob", 1, 2, "scalar_e_R", "scalar_rekey_B");
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
	if (steps >= 5) {
		vbuf_writer(&w, m + 1000, sizeof(m) - 1000);
		ck_assert_int_eq(vs_seal(pa->s, (const uint8_t *)"hello bob", 9, &w, &flags), 0);
		wire("data_ab", &w);
		vbuf_writer(&rep, rb, sizeof(rb));
		ck_assert_int_eq(vs_open(pb->s, w.vb_wr, w.vb_len, &o, &rep), 0);
		ck_assert_uint_eq(o.vo_kind, OPEN_TEXT);
		ck_assert_uint_eq(o.vo_textlen, 9);
		ck_assert_mem_eq(o.vo_text, "hello bob", 9);
	}
	if (steps >= 6) {
		vbuf_writer(&w, m + 2000, sizeof(m) - 2000);
		ck_assert_int_eq(vs_seal(pb->s, (const uint8_t *)"hi alice", 8, &w, &flags), 0);
		wire("data_ba", &w);
		vbuf_writer(&rep, rb, sizeof(rb));
		ck_assert_int_eq(vs_open(pa->s, w.vb_wr, w.vb_len, &o, &rep), 0);
		ck_assert_uint_eq(o.vo_textlen, 8);
		ck_assert_mem_eq(o.vo_text, "hi alice", 8);
	}
	if (steps >= 7) {
		uint8_t rk[256];

		vbuf_writer(&w, m + 3000, sizeof(m) - 3000);
		ck_assert_int_eq(vs_rekey(pa->s, &w), 0);
		wire("data_rk_init", &w);
		vbuf_writer(&rep, rk, sizeof(rk));
		ck_assert_int_eq(vs_open(pb->s, w.vb_wr, w.vb_len, &o, &rep), 0);
		ck_assert_uint_eq(o.vo_kind, OPEN_REKEY);
		ck_assert_uint_eq(o.vo_epoch, 1);
		wire("data_rk_resp", &rep);
		if (steps >= 8) {
			vbuf_writer(&w, m + 3500, sizeof(m) - 3500);
			ck_assert_int_eq(vs_open(pa->s, rep.vb_wr, rep.vb_len, &o, &w), 0);
			ck_assert_uint_eq(o.vo_kind, OPEN_REKEY);
			ck_assert_uint_eq(o.vo_epoch, 1);
			ck_assert_uint_eq(w.vb_len, 0);
		}
	}
	if (steps >= 9) {
		vbuf_writer(&w, m + 4000, sizeof(m) - 4000);
		ck_assert_int_eq(vs_seal(pa->s, (const uint8_t *)"rekeyed", 7, &w, &flags), 0);
		wire("data_ab_1", &w);
		vbuf_writer(&rep, rb, sizeof(rb));
		ck_assert_int_eq(vs_open(pb->s, w.vb_wr, w.vb_len, &o, &rep), 0);
		ck_assert_uint_eq(o.vo_kind, OPEN_TEXT);
		ck_assert_uint_eq(o.vo_epoch, 1);
		ck_assert_mem_eq(o.vo_text, "rekeyed", 7);
	}
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
 * An authentic message alice never would send: sealed by hand with the
 * example's chain key ck_ab_next (alice's ctr 1, epoch 0) around padded.
 */
static size_t
forge_ab1(const uint8_t *padded, size_t padlen, uint8_t *msg)
{
	uint8_t ck[32], out[64], nonce[12], ad[46];

	table("ck_ab_next", ck, 32);
	table("room", ad + 10, 32);
	ck_assert_int_eq(vc_hkdf_expand(ck, "veil/2 ratchet", out, 64), 0);
	vc_nonce(nonce, 0, 1);
	ad[0] = 0x02;
	ad[1] = 0x10;
	veil_put32(ad + 2, 0);
	veil_put32(ad + 6, 1);
	veil_put16(ad + 42, 2);
	veil_put16(ad + 44, 1);
	memcpy(msg, ad, 10);
	ck_assert_int_eq(vc_aead_seal(out, nonce, ad, sizeof(ad), padded, padlen, msg + 10), 0);
	return 10 + padlen + 16;
}

/* Bob, after the first message each way, opens a forged authentic message. */
static void
authentic_but_wrong(const uint8_t *padded, size_t padlen, int want)
{
	struct xside a, b;
	uint8_t msg[300], rb[300];
	struct vs_opened o;
	struct vbuf rep;
	size_t n;

	engine_go(6, &a, &b);
	n = forge_ab1(padded, padlen, msg);
	vbuf_writer(&rep, rb, sizeof(rb));
	ck_assert_int_eq(vs_open(b.s, msg, n, &o, &rep), want);
	ck_assert_int_eq(vs_alive(b.s), want == 0);
	ck_assert_uint_eq(rep.vb_len, 0);
	vs_free(a.s);
	vs_free(b.s);
}

START_TEST(test_example_forged_text_opens)
{
	uint8_t p[64];

	/* The forging helper itself is right: a well-formed TEXT opens. */
	memset(p, 0, sizeof(p));
	p[0] = IK_TEXT;
	p[2] = 2;
	p[3] = 'o';
	p[4] = 'k';
	authentic_but_wrong(p, sizeof(p), 0);
}
END_TEST

START_TEST(test_example_authentic_bad_padding)
{
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	p[0] = IK_TEXT;
	p[2] = 2;
	p[3] = 'o';
	p[4] = 'k';
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

	memset(p, 0, sizeof(p));
	p[0] = IK_TEXT;
	p[2] = 9;
	memcpy(p + 3, "hello bob", 9);
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

START_TEST(test_example_authentic_bad_rekey_key)
{
	uint8_t p[128];

	memset(p, 0, sizeof(p));
	p[0] = IK_REKEY_INIT;
	p[2] = 65;
	p[3] = 0x04;
	memset(p + 4, 0xff, 64);	/* coordinates beyond the field: not a point */
	authentic_but_wrong(p, sizeof(p), VEIL_E_BADKEY);
}
END_TEST

START_TEST(test_example_authentic_unsolicited_rekey_resp)
{
	uint8_t p[128];

	memset(p, 0, sizeof(p));
	p[0] = IK_REKEY_RESP;
	p[2] = 65;
	table("rekey_A", p + 3, 65);
	authentic_but_wrong(p, sizeof(p), VEIL_E_STATE);
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

START_TEST(test_example_engine_rekey_init)
{
	engine_run(7);
}
END_TEST

START_TEST(test_example_engine_rekey_resp)
{
	engine_run(8);
}
END_TEST

START_TEST(test_example_engine_epoch_1)
{
	engine_run(9);
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
	tcase_add_test(r, test_example_session_keys);
	tcase_add_test(r, test_example_ratchet_matches_vc_ratchet);
	tcase_add_test(r, test_example_data_values);
	tcase_add_test(r, test_example_padded_decodes);
	tcase_add_test(r, test_example_rekey_values);
	tcase_add_test(r, test_example_rekey_chain_fresh);
	suite_add_tcase(s, r);
	tcase_add_test(e, test_example_engine_hs_init);
	tcase_add_test(e, test_example_engine_hs_resp);
	tcase_add_test(e, test_example_engine_hs_fin);
	tcase_add_test(e, test_example_engine_hs_done);
	tcase_add_test(e, test_example_engine_data_alice);
	tcase_add_test(e, test_example_engine_data_bob);
	tcase_add_test(e, test_example_engine_rekey_init);
	tcase_add_test(e, test_example_engine_rekey_resp);
	tcase_add_test(e, test_example_engine_epoch_1);
	tcase_add_test(e, test_example_decodes);
	tcase_add_test(e, test_example_forged_text_opens);
	tcase_add_test(e, test_example_authentic_bad_padding);
	tcase_add_test(e, test_example_authentic_not_smallest_bucket);
	tcase_add_test(e, test_example_authentic_unknown_kind);
	tcase_add_test(e, test_example_authentic_bad_rekey_key);
	tcase_add_test(e, test_example_authentic_unsolicited_rekey_resp);
	suite_add_tcase(s, e);
	return s;
}
