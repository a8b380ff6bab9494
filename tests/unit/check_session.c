/* SPDX-License-Identifier: ISC */
/*
 * The end-to-end engine (keyd/session.c): two sessions in-process talking to
 * each other, and an attacker in between that flips, truncates, replays,
 * reorders, reflects and swaps keys. Every refusal is checked together with
 * what it must leave behind (session alive or dead, nothing written).
 */
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

#define NEPH	8
#define MSGBUF	E2E_MAX

struct peer {
	struct vs_identity	 id;
	struct vs_params	 p;
	struct vs_session	*s;
	uint8_t			 eph[NEPH][P256_SCALAR_LEN];
};

struct msg {
	uint8_t		 b[MSGBUF];
	size_t		 n;
};

static struct peer A, B;		/* alice (member 2, initiator), bob (member 1) */

static void
peer_init(struct peer *pp, uint8_t seed0, const char *nick, uint16_t me, uint16_t peer,
    uint8_t ephbyte)
{
	size_t i;

	memset(pp, 0, sizeof(*pp));
	for (i = 0; i < ED25519_SEED_LEN; i++)
		pp->id.id_seed[i] = (uint8_t)(seed0 + i);
	ck_assert_int_eq(vc_ed25519_public(pp->id.id_seed, pp->id.id_pub), 0);
	pp->id.id_nicklen = strlen(nick);
	memcpy(pp->id.id_nick, nick, pp->id.id_nicklen);
	for (i = 0; i < NEPH; i++)
		memset(pp->eph[i], ephbyte + (int)i, P256_SCALAR_LEN);
	pp->p.vp_me = &pp->id;
	memset(pp->p.vp_room, 0x5a, ROOM_ID_LEN);
	memset(pp->p.vp_room_key, 0x3c, ROOM_KEY_LEN);
	pp->p.vp_me_id = me;
	pp->p.vp_peer_id = peer;
	pp->p.vp_eph = &pp->eph[0][0];
	pp->p.vp_neph = NEPH;
}

static void
setup(void)
{
	peer_init(&A, 0x00, "alice", 2, 1, 0x11);
	peer_init(&B, 0x20, "bob", 1, 2, 0x61);
}

static void
teardown(void)
{
	vs_free(A.s);
	vs_free(B.s);
	A.s = B.s = NULL;
}

static void
wr(struct vbuf *w, struct msg *m)
{
	m->n = 0;
	vbuf_writer(w, m->b, sizeof(m->b));
}

/*
 * The three handshake messages; returns them for replay tests. Neither side
 * knows who the other is before the other's signature proved it.
 */
static void
handshake(struct peer *i, struct peer *r, struct msg hs[3])
{
	struct msg tmp[3];
	struct vbuf w;
	int done = -1;

	if (hs == NULL)
		hs = tmp;
	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_start(&i->s, &i->p, &w), 0);
	hs[0].n = w.vb_len;
	ck_assert_uint_eq(hs[0].n, E2E_HS_INIT_LEN);
	wr(&w, &hs[1]);
	ck_assert_int_eq(vs_accept(&r->s, &r->p, hs[0].b, hs[0].n, &w), 0);
	hs[1].n = w.vb_len;
	ck_assert_uint_eq(hs[1].n, E2E_HS_RESP_LEN);
	ck_assert_ptr_null(vs_peer_id(r->s));
	ck_assert_ptr_null(vs_peer_id(i->s));
	wr(&w, &hs[2]);
	ck_assert_int_eq(vs_handshake(i->s, hs[1].b, hs[1].n, &w, &done), 0);
	ck_assert_int_eq(done, 1);
	hs[2].n = w.vb_len;
	ck_assert_uint_eq(hs[2].n, E2E_HS_FIN_LEN);
	ck_assert_ptr_nonnull(vs_peer_id(i->s));
	ck_assert_ptr_null(vs_peer_id(r->s));
	wr(&w, &tmp[0]);
	done = -1;
	ck_assert_int_eq(vs_handshake(r->s, hs[2].b, hs[2].n, &w, &done), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_uint_eq(w.vb_len, 0);
}

/* TEXT bodies of the tests: stream 0x5354524541, seq counting per process. */
static uint32_t text_seq;

static size_t
text_body(uint8_t *b, const uint8_t *text, size_t len)
{
	struct inner_msg im;
	struct vbuf w;

	memset(&im, 0, sizeof(im));
	im.in_kind = IK_TEXT;
	im.in_stream = 0x5354524541ULL;
	im.in_seq = ++text_seq;
	im.in_text = text;
	im.in_textlen = len;
	vbuf_writer(&w, b, INNER_BODY_MAX);
	ck_assert_int_eq(proto_inner_build(&w, &im), 0);
	return w.vb_len;
}

/* vs_seal of a TEXT of text (len bytes) into w. */
static int
seal_text(struct vs_session *s, const uint8_t *text, size_t len, struct vbuf *w)
{
	uint8_t b[INNER_BODY_MAX];
	size_t n = text_body(b, text, len);

	return vs_seal(s, IK_TEXT, b, n, w);
}

static void
seal(struct peer *pp, const char *text, struct msg *m)
{
	struct vbuf w;

	wr(&w, m);
	ck_assert_int_eq(seal_text(pp->s, (const uint8_t *)text, strlen(text), &w), 0);
	m->n = w.vb_len;
}

/* A PING of token t from pp. */
static void
seal_ping(struct peer *pp, uint32_t t, struct msg *m)
{
	uint8_t b[INNER_TOKEN_LEN];
	struct vbuf w;

	veil_put32(b, t);
	wr(&w, m);
	ck_assert_int_eq(vs_seal(pp->s, IK_PING, b, sizeof(b), &w), 0);
	m->n = w.vb_len;
}

static void
open_text(struct peer *pp, const struct msg *m, const char *want, uint32_t gap)
{
	struct inner_msg im;
	struct vs_opened o;

	ck_assert_int_eq(vs_open(pp->s, m->b, m->n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, OPEN_TEXT);
	ck_assert_int_eq(proto_inner_parse(o.vo_kind, o.vo_body, o.vo_bodylen, &im), 0);
	ck_assert_uint_eq(im.in_textlen, strlen(want));
	ck_assert_mem_eq(im.in_text, want, im.in_textlen);
	ck_assert_uint_eq(o.vo_gap, gap);
}

static int
open_rc(struct peer *pp, const struct msg *m)
{
	struct vs_opened o;

	return vs_open(pp->s, m->b, m->n, &o);
}

/* What s (an attacker's copy) makes of m: 1 if it reads want, 0 if it cannot. */
static int
reads(struct vs_session *s, const struct msg *m, const char *want)
{
	struct inner_msg im;
	struct vs_opened o;

	if (vs_open(s, m->b, m->n, &o) != 0)
		return 0;
	ck_assert_int_eq(proto_inner_parse(o.vo_kind, o.vo_body, o.vo_bodylen, &im), 0);
	ck_assert_uint_eq(im.in_textlen, strlen(want));
	ck_assert_mem_eq(im.in_text, want, im.in_textlen);
	return 1;
}

/* ---- handshake ---- */

START_TEST(test_hs_success)
{
	size_t n;

	handshake(&A, &B, NULL);
	ck_assert_mem_eq(vs_peer_id(A.s), B.id.id_pub, ED25519_PUB_LEN);
	ck_assert_mem_eq(vs_peer_id(B.s), A.id.id_pub, ED25519_PUB_LEN);
	ck_assert_mem_eq(vs_peer_nick(A.s, &n), "bob", 3);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(vs_peer_nick(B.s, &n), "alice", 5);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(vs_alive(A.s), 1);
	ck_assert_int_eq(vs_alive(B.s), 1);
}
END_TEST

START_TEST(test_hs_other_direction)
{
	struct msg m;

	/* bob joins after alice this time: bob initiates. */
	A.p.vp_me_id = 1;
	A.p.vp_peer_id = 2;
	B.p.vp_me_id = 2;
	B.p.vp_peer_id = 1;
	handshake(&B, &A, NULL);
	seal(&A, "from the responder", &m);
	open_text(&B, &m, "from the responder", 0);
	seal(&B, "from the initiator", &m);
	open_text(&A, &m, "from the initiator", 0);
}
END_TEST

START_TEST(test_hs_random_ephemerals_differ)
{
	struct msg m1, m2;
	struct vs_session *s1 = NULL, *s2 = NULL;
	struct vbuf w;

	A.p.vp_eph = NULL;
	wr(&w, &m1);
	ck_assert_int_eq(vs_start(&s1, &A.p, &w), 0);
	m1.n = w.vb_len;
	wr(&w, &m2);
	ck_assert_int_eq(vs_start(&s2, &A.p, &w), 0);
	m2.n = w.vb_len;
	ck_assert_uint_eq(m1.n, m2.n);
	ck_assert(memcmp(m1.b, m2.b, m1.n) != 0);
	vs_free(s1);
	vs_free(s2);
}
END_TEST

START_TEST(test_hs_fixed_ephemerals_deterministic)
{
	struct msg h1[3], h2[3];
	int k;

	handshake(&A, &B, h1);
	teardown();
	handshake(&A, &B, h2);
	for (k = 0; k < 3; k++) {
		ck_assert_uint_eq(h1[k].n, h2[k].n);
		ck_assert_mem_eq(h1[k].b, h2[k].b, h1[k].n);
	}
}
END_TEST

START_TEST(test_hs_eph_exhausted_goes_random)
{
	struct msg m1, m2;
	struct vs_session *s1 = NULL, *s2 = NULL;
	struct vbuf w;

	A.p.vp_neph = 0;	/* a pointer with no scalars behind it: random */
	wr(&w, &m1);
	ck_assert_int_eq(vs_start(&s1, &A.p, &w), 0);
	m1.n = w.vb_len;
	wr(&w, &m2);
	ck_assert_int_eq(vs_start(&s2, &A.p, &w), 0);
	m2.n = w.vb_len;
	ck_assert(memcmp(m1.b, m2.b, m1.n) != 0);
	vs_free(s1);
	vs_free(s2);
}
END_TEST

/*
 * Finding 5: every handshake message has one size, whatever the nicknames:
 * the relay learns nothing from them.
 */
START_TEST(test_hs_sizes_independent_of_nick)
{
	struct msg shortest[3], longest[3];
	int k;

	A.id.id_nicklen = 1;
	B.id.id_nicklen = 1;
	handshake(&A, &B, shortest);
	teardown();
	memset(A.id.id_nick, 'a', NICK_MAX);
	A.id.id_nicklen = NICK_MAX;
	memset(B.id.id_nick, 'b', NICK_MAX);
	B.id.id_nicklen = NICK_MAX;
	handshake(&A, &B, longest);
	for (k = 0; k < 3; k++)
		ck_assert_uint_eq(shortest[k].n, longest[k].n);
	ck_assert_uint_eq(longest[1].n, 212);
	ck_assert_uint_eq(longest[2].n, 147);
}
END_TEST

/* Flips every bit of handshake message k and feeds each mutant to a fresh session. */
static void
hs_flip_all(int k)
{
	struct msg hs[3], mut, out;
	struct vs_session *s;
	struct vbuf w;
	size_t bit;
	int done, r;

	handshake(&A, &B, hs);
	teardown();
	for (bit = 0; bit < hs[k].n * 8; bit++) {
		struct msg pre[3];

		/* Rebuild the receiver in the state just before message k. */
		wr(&w, &pre[0]);
		ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
		pre[0].n = w.vb_len;
		if (k == 2) {
			wr(&w, &pre[1]);
			ck_assert_int_eq(vs_accept(&B.s, &B.p, pre[0].b, pre[0].n, &w), 0);
		}
		s = (k == 2) ? B.s : A.s;
		mut = hs[k];
		mut.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		wr(&w, &out);
		done = 7;
		r = vs_handshake(s, mut.b, mut.n, &w, &done);
		ck_assert_msg(r != 0, "bit %zu of handshake message %d accepted", bit, k + 1);
		ck_assert_int_eq(done, 0);
		ck_assert_uint_eq(w.vb_len, 0);
		ck_assert_ptr_null(vs_peer_id(s));
		teardown();
	}
}

START_TEST(test_hs_tampered_resp)
{
	hs_flip_all(1);
}
END_TEST

START_TEST(test_hs_tampered_fin)
{
	hs_flip_all(2);
}
END_TEST

START_TEST(test_hs_truncated)
{
	struct msg hs[3], out;
	struct vbuf w;
	size_t n;
	int done, k;

	handshake(&A, &B, hs);
	teardown();
	for (k = 1; k < 3; k++) {
		for (n = 0; n < hs[k].n; n++) {
			struct msg pre[2];

			wr(&w, &pre[0]);
			ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
			pre[0].n = w.vb_len;
			if (k == 2) {
				wr(&w, &pre[1]);
				ck_assert_int_eq(vs_accept(&B.s, &B.p, pre[0].b, pre[0].n, &w), 0);
			}
			wr(&w, &out);
			ck_assert_int_ne(vs_handshake(k == 2 ? B.s : A.s, hs[k].b, n, &w,
			    &done), 0);
			ck_assert_uint_eq(w.vb_len, 0);
			teardown();
		}
	}
}
END_TEST

/*
 * Finding 7 (2.2 vs 2.5): the state decides by the type byte alone. Another
 * handshake type (any length) changes nothing; the expected type with a
 * wrong length, or another version, ends the handshake.
 */
START_TEST(test_hs_wrong_length_of_expected_type)
{
	struct msg hs[3], out, odd;
	struct vbuf w;
	int done;

	handshake(&A, &B, hs);
	teardown();
	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	wr(&w, &hs[1]);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, hs[0].b, E2E_HS_INIT_LEN, &w), 0);
	hs[1].n = w.vb_len;
	/* An HS_FIN of a wrong length to alice, who waits for HS_RESP: out of turn. */
	odd = hs[2];
	odd.n = 100;
	wr(&w, &out);
	ck_assert_int_eq(vs_handshake(A.s, odd.b, odd.n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_alive(A.s), 1);
	/* An HS_RESP one byte short: the message she waits for, broken. */
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n - 1, &w, &done), VEIL_E_TRUNCATED);
	ck_assert_int_eq(vs_alive(A.s), 0);
	ck_assert_uint_eq(w.vb_len, 0);
	/* veil/1's version byte on the expected type ends it too. */
	teardown();
	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	wr(&w, &hs[1]);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, hs[0].b, E2E_HS_INIT_LEN, &w), 0);
	hs[1].n = w.vb_len;
	hs[1].b[0] = 1;
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done), VEIL_E_VERSION);
	ck_assert_int_eq(vs_alive(A.s), 0);
}
END_TEST

START_TEST(test_hs_accept_bad_init)
{
	struct msg hs[3], out;
	struct vs_session *s = (struct vs_session *)&out;
	struct vbuf w;

	handshake(&A, &B, hs);
	/* Not on the curve: change the last byte of Y. */
	hs[0].b[66] ^= 1;
	wr(&w, &out);
	ck_assert_int_eq(vs_accept(&s, &B.p, hs[0].b, hs[0].n, &w), VEIL_E_BADKEY);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(w.vb_len, 0);
	hs[0].b[66] ^= 1;
	/* Compressed prefix. */
	hs[0].b[2] = 0x02;
	ck_assert_int_ne(vs_accept(&s, &B.p, hs[0].b, hs[0].n, &w), 0);
	ck_assert_ptr_null(s);
	/* Not an HS_INIT at all. */
	ck_assert_int_eq(vs_accept(&s, &B.p, hs[1].b, hs[1].n, &w), VEIL_E_TYPE);
	ck_assert_ptr_null(s);
	ck_assert_int_ne(vs_accept(&s, &B.p, hs[0].b, 66, &w), 0);
	ck_assert_int_ne(vs_accept(&s, &B.p, hs[0].b, 0, &w), 0);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_hs_accept_infinity_refused)
{
	uint8_t init[67];
	struct vs_session *s = NULL;
	struct msg out;
	struct vbuf w;

	memset(init, 0, sizeof(init));
	init[0] = E2E_VERSION;
	init[1] = E2E_HS_INIT;
	init[2] = 4;
	wr(&w, &out);
	ck_assert_int_ne(vs_accept(&s, &B.p, init, sizeof(init), &w), 0);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

/* The relay swaps e_I for its own key: bob answers a key alice never made. */
START_TEST(test_hs_swapped_init_ephemeral)
{
	struct msg init, resp, fin;
	uint8_t scalar[P256_SCALAR_LEN], e_m[P256_PUB_LEN];
	EVP_PKEY *m = NULL;
	struct vbuf w;
	int done;

	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	memset(scalar, 0x77, sizeof(scalar));
	ck_assert_int_eq(vc_p256_from_scalar(scalar, &m, e_m), 0);
	EVP_PKEY_free(m);
	memcpy(init.b + 2, e_m, P256_PUB_LEN);
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_ptr_null(vs_peer_id(A.s));	/* nothing of bob's identity was kept */
}
END_TEST

/*
 * The key schedule of PROTOCOL.md 2.2 as an attacker runs it, from what it
 * sees and what it holds: h2, k_r, k_i.
 */
struct mitm_keys {
	uint8_t	h2[HASH_LEN], k_r[32], k_i[32];
};

static void
mitm_schedule(const uint8_t room[ROOM_ID_LEN], const uint8_t room_key[ROOM_KEY_LEN],
    uint16_t mi, uint16_t mr,
    const uint8_t *e_i, const uint8_t *e_r, EVP_PKEY *priv, const uint8_t *peer_pub,
    struct mitm_keys *k)
{
	static const char name[] = "veil/2 P-256 HKDF-SHA256 AES-256-GCM Ed25519";
	uint8_t buf[ROOM_ID_LEN + 4 + P256_PUB_LEN], ss[32 + ROOM_KEY_LEN], prk[32];
	EVP_PKEY *peer = NULL;

	ck_assert_int_eq(vc_sha256((const uint8_t *)name, sizeof(name) - 1, k->h2), 0);
	memcpy(buf, room, ROOM_ID_LEN);
	veil_put16(buf + ROOM_ID_LEN, mi);
	veil_put16(buf + ROOM_ID_LEN + 2, mr);
	memcpy(buf + ROOM_ID_LEN + 4, e_i, P256_PUB_LEN);
	ck_assert_int_eq(vc_mix(k->h2, buf, sizeof(buf)), 0);
	ck_assert_int_eq(vc_mix(k->h2, e_r, P256_PUB_LEN), 0);
	ck_assert_int_eq(vc_p256_peer(peer_pub, P256_PUB_LEN, &peer), 0);
	ck_assert_int_eq(vc_ecdh(priv, peer, ss), 0);
	EVP_PKEY_free(peer);
	memcpy(ss + 32, room_key, ROOM_KEY_LEN);
	ck_assert_int_eq(vc_hkdf_extract(k->h2, HASH_LEN, ss, sizeof(ss), prk), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 handshake r->i", k->k_r, 32), 0);
	ck_assert_int_eq(vc_hkdf_expand(prk, "veil/2 handshake i->r", k->k_i, 32), 0);
}

/*
 * The sealed part an attacker makes: the identity block of (id, nick) and a
 * signature with seed under label over H(h || block); sealed with key under
 * h at n0. *hnext gets H(H(h || block) || sig).
 */
static void
mitm_seal(const uint8_t key[32], const uint8_t h[HASH_LEN], const uint8_t id[32],
    const char *nick, const uint8_t seed[32], const char *label, uint8_t ct[E2E_HS_CT_LEN],
    uint8_t hnext[HASH_LEN])
{
	uint8_t pt[E2E_HS_PT_LEN], hx[HASH_LEN], msg[26 + HASH_LEN], n0[12];

	memset(n0, 0, sizeof(n0));
	ck_assert_int_eq(proto_idb_encode(pt, id, (const uint8_t *)nick, strlen(nick)), 0);
	memcpy(hx, h, HASH_LEN);
	ck_assert_int_eq(vc_mix(hx, pt, E2E_IDB_LEN), 0);
	memcpy(msg, label, 26);
	memcpy(msg + 26, hx, HASH_LEN);
	ck_assert_int_eq(vc_ed25519_sign(seed, msg, sizeof(msg), pt + E2E_IDB_LEN), 0);
	ck_assert_int_eq(vc_mix(hx, pt + E2E_IDB_LEN, ED25519_SIG_LEN), 0);
	if (hnext != NULL)
		memcpy(hnext, hx, HASH_LEN);
	ck_assert_int_eq(vc_aead_seal(key, n0, h, HASH_LEN, pt, sizeof(pt), ct), 0);
}

/* 1 if needle occurs in hay. */
static int
contains(const uint8_t *hay, size_t n, const void *needle, size_t len)
{
	size_t i;

	for (i = 0; i + len <= n; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return 1;
	return 0;
}

/*
 * Different room keys (a relay that does not know the room secret, or a
 * member of another room with the same id): the initiator fails at HS_RESP
 * with VEIL_E_AUTH before trusting or revealing anything; the responder's
 * identity is not in clear on the wire either.
 */
START_TEST(test_hs_room_key_mismatch)
{
	struct msg init, resp, fin;
	struct vbuf w;
	int done = -1;

	B.p.vp_room_key[7] ^= 0x01;
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	ck_assert(!contains(resp.b, resp.n, B.id.id_pub, ED25519_PUB_LEN));
	ck_assert(!contains(resp.b, resp.n, "bob", 3));
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), VEIL_E_AUTH);
	ck_assert_int_eq(done, 0);
	ck_assert_uint_eq(w.vb_len, 0);		/* no HS_FIN: alice revealed nothing */
	ck_assert_int_eq(vs_alive(A.s), 0);
	ck_assert_ptr_null(vs_peer_id(A.s));	/* and learnt nothing of bob */
}
END_TEST

/*
 * The relay as a member it invented, without the room secret: it runs the
 * key schedule with everything it sees (room id, member ids, both
 * ephemerals, its own private key) and a wrong room key. As responder to
 * alice it cannot make an HS_RESP she accepts; as initiator to bob it
 * cannot read bob's HS_RESP.
 */
START_TEST(test_hs_relay_without_room_name)
{
	struct msg init, resp, fin;
	uint8_t sc[P256_SCALAR_LEN], e_m[P256_PUB_LEN], guess[ROOM_KEY_LEN], seed[32];
	uint8_t pt[E2E_HS_PT_LEN], ct[E2E_HS_CT_LEN], n0[12], blob[E2E_HS_RESP_LEN];
	struct mitm_keys k;
	EVP_PKEY *m = NULL;
	struct e2e_msg em;
	struct vbuf w;
	int done;

	memset(n0, 0, sizeof(n0));
	memset(sc, 0x77, sizeof(sc));
	memset(seed, 0x99, sizeof(seed));
	memset(guess, 0, sizeof(guess));	/* anything but the real one */
	ck_assert_int_eq(vc_p256_from_scalar(sc, &m, e_m), 0);

	/* Relay -> alice: a fake "eve" with a key of its own, properly signed. */
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	mitm_schedule(A.p.vp_room, guess, 2, 1, init.b + 2, e_m, m, init.b + 2, &k);
	{
		uint8_t id_m[32];

		ck_assert_int_eq(vc_ed25519_public(seed, id_m), 0);
		mitm_seal(k.k_r, k.h2, id_m, "eve", seed, "veil/2 signature responder", ct,
		    NULL);
	}
	blob[0] = E2E_VERSION;
	blob[1] = E2E_HS_RESP;
	memcpy(blob + 2, e_m, P256_PUB_LEN);
	memcpy(blob + 2 + P256_PUB_LEN, ct, sizeof(ct));
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, blob, sizeof(blob), &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_ptr_null(vs_peer_id(A.s));

	/* Relay -> bob: a fake newcomer; bob's answer stays unreadable. */
	blob[0] = E2E_VERSION;
	blob[1] = E2E_HS_INIT;
	memcpy(blob + 2, e_m, P256_PUB_LEN);
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, blob, 2 + P256_PUB_LEN, &w), 0);
	resp.n = w.vb_len;
	ck_assert_int_eq(proto_e2e_decode(resp.b, resp.n, &em), 0);
	mitm_schedule(B.p.vp_room, guess, 2, 1, e_m, em.em_eph, m, em.em_eph, &k);
	ck_assert_int_eq(vc_aead_open(k.k_r, n0, k.h2, 32, em.em_ct, em.em_ctlen, pt),
	    VEIL_E_AUTH);
	/* With the right room key the same computation reads it (the test can fail). */
	mitm_schedule(B.p.vp_room, B.p.vp_room_key, 2, 1, e_m, em.em_eph, m, em.em_eph, &k);
	ck_assert_int_eq(vc_aead_open(k.k_r, n0, k.h2, 32, em.em_ct, em.em_ctlen, pt), 0);
	ck_assert_mem_eq(pt, B.id.id_pub, ED25519_PUB_LEN);
	EVP_PKEY_free(m);
}
END_TEST

/*
 * A full man in the middle who knows the room secret: mallory swaps e_I for
 * her own and relays bob's (real, pinned) identity and signature to alice,
 * re-encrypted. bob signed a transcript with mallory's ephemeral in it, so
 * alice's check of sig_R fails at HS_RESP: she never reveals herself.
 */
START_TEST(test_hs_full_mitm_detected)
{
	struct msg init, resp, resp2, fin;
	uint8_t sc[P256_SCALAR_LEN], e_m[P256_PUB_LEN], e_i[P256_PUB_LEN], e_r[P256_PUB_LEN];
	uint8_t pt[E2E_HS_PT_LEN], ct[E2E_HS_CT_LEN], n0[12];
	struct mitm_keys ka, kb;	/* mallory<->alice, mallory<->bob */
	EVP_PKEY *m = NULL;
	struct e2e_msg em, out;
	struct vbuf w;
	int done;

	memset(n0, 0, sizeof(n0));
	memset(sc, 0x77, sizeof(sc));
	ck_assert_int_eq(vc_p256_from_scalar(sc, &m, e_m), 0);

	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	memcpy(e_i, init.b + 2, P256_PUB_LEN);
	memcpy(init.b + 2, e_m, P256_PUB_LEN);		/* to bob: mallory's key */
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	ck_assert_int_eq(proto_e2e_decode(resp.b, resp.n, &em), 0);
	memcpy(e_r, em.em_eph, P256_PUB_LEN);

	/* Mallory reads bob's identity block and signature, and seals them for alice. */
	mitm_schedule(A.p.vp_room, A.p.vp_room_key, 2, 1, e_m, e_r, m, e_r, &kb);
	ck_assert_int_eq(vc_aead_open(kb.k_r, n0, kb.h2, 32, em.em_ct, em.em_ctlen, pt), 0);
	ck_assert_mem_eq(pt, B.id.id_pub, ED25519_PUB_LEN);
	mitm_schedule(A.p.vp_room, A.p.vp_room_key, 2, 1, e_i, e_m, m, e_i, &ka);
	ck_assert_int_eq(vc_aead_seal(ka.k_r, n0, ka.h2, 32, pt, sizeof(pt), ct), 0);
	memset(&out, 0, sizeof(out));
	out.em_type = E2E_HS_RESP;
	out.em_eph = e_m;
	out.em_ct = ct;
	out.em_ctlen = sizeof(ct);
	wr(&w, &resp2);
	ck_assert_int_eq(proto_e2e_encode(&w, &out), 0);
	resp2.n = w.vb_len;
	/* Alice opens it (mallory has the keys) but sig_R is over another h3. */
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp2.b, resp2.n, &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);			/* no HS_FIN, nothing revealed */
	ck_assert_ptr_null(vs_peer_id(A.s));
	ck_assert_int_eq(vs_alive(A.s), 0);
	EVP_PKEY_free(m);
}
END_TEST

/*
 * Finding 2: mallory (who knows the room secret) answers alice as "bob" with
 * bob's real public key but without bob's private key. In veil/1 alice
 * decided trust on that claim, then revealed herself and signed a transcript
 * naming bob's key, before the proof came in HS_CONFIRM. Here the claim
 * comes with its proof (sig_R): she refuses it at once (VEIL_E_AUTH), writes
 * nothing (no HS_FIN: no identity, no signature), and keeps nothing of it.
 * What happens next cannot tell mallory whether alice knew "bob".
 */
START_TEST(test_hs_impersonated_responder_refused)
{
	struct msg init, resp, fin;
	uint8_t sc[P256_SCALAR_LEN], e_m[P256_PUB_LEN], ct[E2E_HS_CT_LEN], seed_m[32];
	struct mitm_keys k;
	EVP_PKEY *m = NULL;
	struct e2e_msg o;
	struct vbuf w;
	int done;

	memset(sc, 0x42, sizeof(sc));
	memset(seed_m, 0x99, sizeof(seed_m));
	ck_assert_int_eq(vc_p256_from_scalar(sc, &m, e_m), 0);
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	mitm_schedule(A.p.vp_room, A.p.vp_room_key, 2, 1, init.b + 2, e_m, m, init.b + 2, &k);
	/* bob's key, signed with mallory's: the claim without its proof. */
	mitm_seal(k.k_r, k.h2, B.id.id_pub, "bob", seed_m, "veil/2 signature responder", ct,
	    NULL);
	memset(&o, 0, sizeof(o));
	o.em_type = E2E_HS_RESP;
	o.em_eph = e_m;
	o.em_ct = ct;
	o.em_ctlen = sizeof(ct);
	wr(&w, &resp);
	ck_assert_int_eq(proto_e2e_encode(&w, &o), 0);
	resp.n = w.vb_len;
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), VEIL_E_AUTH);
	ck_assert_int_eq(done, 0);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_int_eq(vs_alive(A.s), 0);
	ck_assert_ptr_null(vs_peer_id(A.s));
	/* The control: her own key, properly signed, is accepted (the test can fail). */
	teardown();
	peer_init(&A, 0x00, "alice", 2, 1, 0x11);
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	mitm_schedule(A.p.vp_room, A.p.vp_room_key, 2, 1, init.b + 2, e_m, m, init.b + 2, &k);
	{
		uint8_t id_m[32];

		ck_assert_int_eq(vc_ed25519_public(seed_m, id_m), 0);
		mitm_seal(k.k_r, k.h2, id_m, "bob", seed_m, "veil/2 signature responder", ct,
		    NULL);
	}
	wr(&w, &resp);
	ck_assert_int_eq(proto_e2e_encode(&w, &o), 0);
	resp.n = w.vb_len;
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_uint_eq(w.vb_len, E2E_HS_FIN_LEN);
	EVP_PKEY_free(m);
}
END_TEST

/* Mallory starts a handshake to bob claiming alice's key: sig_I gives her away. */
START_TEST(test_hs_impersonated_initiator_refused)
{
	struct msg init, resp, fin, out;
	uint8_t sc[P256_SCALAR_LEN], e_m[P256_PUB_LEN], pt[E2E_HS_PT_LEN], ct[E2E_HS_CT_LEN];
	uint8_t n0[12], seed_m[32], h4[HASH_LEN];
	struct mitm_keys k;
	EVP_PKEY *m = NULL;
	struct e2e_msg em, o;
	struct vbuf w;
	int done;

	memset(n0, 0, sizeof(n0));
	memset(sc, 0x43, sizeof(sc));
	memset(seed_m, 0x98, sizeof(seed_m));
	ck_assert_int_eq(vc_p256_from_scalar(sc, &m, e_m), 0);
	init.b[0] = E2E_VERSION;
	init.b[1] = E2E_HS_INIT;
	memcpy(init.b + 2, e_m, P256_PUB_LEN);
	init.n = 67;
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	ck_assert_int_eq(proto_e2e_decode(resp.b, resp.n, &em), 0);
	mitm_schedule(B.p.vp_room, B.p.vp_room_key, 2, 1, e_m, em.em_eph, m, em.em_eph, &k);
	ck_assert_int_eq(vc_aead_open(k.k_r, n0, k.h2, 32, em.em_ct, em.em_ctlen, pt), 0);
	/* h4 = H(H(h2 || idb_R) || sig_R), as bob has it. */
	memcpy(h4, k.h2, HASH_LEN);
	ck_assert_int_eq(vc_mix(h4, pt, E2E_IDB_LEN), 0);
	ck_assert_int_eq(vc_mix(h4, pt + E2E_IDB_LEN, ED25519_SIG_LEN), 0);
	mitm_seal(k.k_i, h4, A.id.id_pub, "alice", seed_m, "veil/2 signature initiator", ct,
	    NULL);
	memset(&o, 0, sizeof(o));
	o.em_type = E2E_HS_FIN;
	o.em_ct = ct;
	o.em_ctlen = sizeof(ct);
	wr(&w, &fin);
	ck_assert_int_eq(proto_e2e_encode(&w, &o), 0);
	fin.n = w.vb_len;
	wr(&w, &out);
	ck_assert_int_eq(vs_handshake(B.s, fin.b, fin.n, &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_ptr_null(vs_peer_id(B.s));
	ck_assert_int_eq(vs_alive(B.s), 0);
	EVP_PKEY_free(m);
}
END_TEST

START_TEST(test_hs_wrong_room)
{
	struct msg init, resp, fin;
	struct vbuf w;
	int done;

	B.p.vp_room[31] ^= 1;
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

static void
hs_member_mismatch(uint16_t bme, uint16_t bpeer)
{
	struct msg init, resp, fin;
	struct vbuf w;
	int done;

	B.p.vp_me_id = bme;
	B.p.vp_peer_id = bpeer;
	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	wr(&w, &resp);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, init.b, init.n, &w), 0);
	resp.n = w.vb_len;
	wr(&w, &fin);
	ck_assert_int_eq(vs_handshake(A.s, resp.b, resp.n, &w, &done), VEIL_E_AUTH);
	ck_assert_uint_eq(w.vb_len, 0);
}

START_TEST(test_hs_wrong_member_id)
{
	hs_member_mismatch(1, 3);	/* bob thinks alice is member 3 */
}
END_TEST

START_TEST(test_hs_swapped_member_ids)
{
	hs_member_mismatch(2, 1);
}
END_TEST

START_TEST(test_hs_replayed_messages)
{
	struct msg hs[3], out, m;
	struct vbuf w;
	int done = 7;

	handshake(&A, &B, hs);
	wr(&w, &out);
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_handshake(A.s, hs[0].b, hs[0].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_handshake(B.s, hs[2].b, hs[2].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_handshake(B.s, hs[0].b, hs[0].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(done, 0);
	ck_assert_uint_eq(w.vb_len, 0);
	/* Refused without harm: both still talk. */
	seal(&A, "still here", &m);
	open_text(&B, &m, "still here", 0);
	seal(&B, "me too", &m);
	open_text(&A, &m, "me too", 0);
}
END_TEST

START_TEST(test_hs_replay_mid_handshake)
{
	struct msg hs[3], out;
	struct vbuf w;
	int done;

	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	hs[0].n = w.vb_len;
	wr(&w, &hs[1]);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, hs[0].b, hs[0].n, &w), 0);
	hs[1].n = w.vb_len;
	/* Bob's own RESP reflected back to him; alice's INIT again. */
	wr(&w, &out);
	ck_assert_int_eq(vs_handshake(B.s, hs[1].b, hs[1].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_handshake(B.s, hs[0].b, hs[0].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_alive(B.s), 1);
	/* Alice's own INIT reflected back to her. */
	ck_assert_int_eq(vs_handshake(A.s, hs[0].b, hs[0].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_alive(A.s), 1);
	wr(&w, &hs[2]);
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done), 0);
	hs[2].n = w.vb_len;
	/* Her HS_FIN reflected back to her: she is done, it changes nothing. */
	wr(&w, &out);
	ck_assert_int_eq(vs_handshake(A.s, hs[2].b, hs[2].n, &w, &done), VEIL_E_STATE);
	ck_assert_int_eq(vs_handshake(B.s, hs[2].b, hs[2].n, &w, &done), 0);
	ck_assert_int_eq(done, 1);
}
END_TEST

START_TEST(test_hs_nospace_then_retry)
{
	struct msg hs[3];
	uint8_t small[E2E_HS_FIN_LEN - 1];
	struct vbuf w;
	int done;

	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	hs[0].n = w.vb_len;
	wr(&w, &hs[1]);
	ck_assert_int_eq(vs_accept(&B.s, &B.p, hs[0].b, hs[0].n, &w), 0);
	hs[1].n = w.vb_len;
	vbuf_writer(&w, small, sizeof(small));
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done), VEIL_E_NOSPACE);
	ck_assert_int_eq(vs_alive(A.s), 1);
	wr(&w, &hs[2]);
	ck_assert_int_eq(vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done), 0);
	hs[2].n = w.vb_len;
	wr(&w, &hs[0]);
	ck_assert_int_eq(vs_handshake(B.s, hs[2].b, hs[2].n, &w, &done), 0);
	ck_assert_int_eq(done, 1);
}
END_TEST

START_TEST(test_hs_start_args)
{
	struct vs_session *s = (struct vs_session *)&s;
	uint8_t small[66];
	struct msg m;
	struct vbuf w;

	vbuf_writer(&w, small, sizeof(small));
	ck_assert_int_eq(vs_start(&s, &A.p, &w), VEIL_E_NOSPACE);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(vs_start(&s, NULL, &w), VEIL_E_INVALID);
	ck_assert_int_eq(vs_start(NULL, &A.p, &w), VEIL_E_INVALID);
	A.id.id_nicklen = 0;
	wr(&w, &m);
	ck_assert_int_eq(vs_start(&s, &A.p, &w), VEIL_E_NICK);
	A.id.id_nicklen = 5;
	A.id.id_nick[1] = ' ';
	ck_assert_int_eq(vs_start(&s, &A.p, &w), VEIL_E_NICK);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(w.vb_len, 0);
}
END_TEST

START_TEST(test_hs_data_before_done)
{
	struct msg init, m;
	struct vs_opened o;
	struct vbuf w;

	wr(&w, &init);
	ck_assert_int_eq(vs_start(&A.s, &A.p, &w), 0);
	init.n = w.vb_len;
	wr(&w, &m);
	ck_assert_int_eq(seal_text(A.s, (const uint8_t *)"x", 1, &w), VEIL_E_STATE);
	ck_assert_int_eq(vs_close(A.s, &w), VEIL_E_STATE);
	ck_assert_int_eq(vs_open(A.s, init.b, init.n, &o), VEIL_E_STATE);
	ck_assert_int_eq(vs_copy(A.s, 0, &B.s), VEIL_E_STATE);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_int_eq(vs_alive(A.s), 1);
	ck_assert_ptr_null(vs_peer_id(A.s));
}
END_TEST

START_TEST(test_hs_message_to_open_refused)
{
	struct msg hs[3], m;

	handshake(&A, &B, hs);
	ck_assert_int_eq(open_rc(&A, &hs[1]), VEIL_E_TYPE);
	ck_assert_int_eq(open_rc(&B, &hs[0]), VEIL_E_TYPE);
	seal(&A, "ok", &m);
	open_text(&B, &m, "ok", 0);
}
END_TEST

/* ---- data ---- */

START_TEST(test_data_in_order_a_to_b)
{
	char text[32];
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i < 50; i++) {
		snprintf(text, sizeof(text), "message %d", i);
		seal(&A, text, &m);
		open_text(&B, &m, text, 0);
	}
}
END_TEST

START_TEST(test_data_in_order_b_to_a)
{
	char text[32];
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i < 50; i++) {
		snprintf(text, sizeof(text), "reply %d", i);
		seal(&B, text, &m);
		open_text(&A, &m, text, 0);
	}
}
END_TEST

START_TEST(test_data_interleaved)
{
	struct msg m1, m2, m3;

	handshake(&A, &B, NULL);
	seal(&A, "a1", &m1);
	seal(&B, "b1", &m2);
	seal(&A, "a2", &m3);
	open_text(&A, &m2, "b1", 0);
	open_text(&B, &m1, "a1", 0);
	open_text(&B, &m3, "a2", 0);
}
END_TEST

START_TEST(test_data_binary_and_max_text)
{
	uint8_t text[MSG_MAX];
	struct inner_msg im;
	struct vs_opened o;
	struct msg m;
	struct vbuf w;
	size_t i;

	handshake(&A, &B, NULL);
	for (i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)i;
	wr(&w, &m);
	ck_assert_int_eq(seal_text(A.s, text, MSG_MAX, &w), 0);
	m.n = w.vb_len;
	ck_assert_uint_eq(m.n, E2E_MAX);
	ck_assert_int_eq(vs_open(B.s, m.b, m.n, &o), 0);
	ck_assert_int_eq(proto_inner_parse(o.vo_kind, o.vo_body, o.vo_bodylen, &im), 0);
	ck_assert_uint_eq(im.in_textlen, MSG_MAX);
	ck_assert_mem_eq(im.in_text, text, MSG_MAX);
}
END_TEST

START_TEST(test_data_text_length_limits)
{
	static uint8_t body[INNER_BODY_MAX + 1];
	struct msg m;
	struct vbuf w;

	handshake(&A, &B, NULL);
	memset(body, 'x', sizeof(body));
	memset(body, 0, INNER_TEXT_HDR_LEN);
	body[INNER_TEXT_HDR_LEN - 2] = 1;	/* seq 1 */
	wr(&w, &m);
	ck_assert_int_eq(vs_seal(A.s, IK_TEXT, body, INNER_BODY_MAX + 1, &w), VEIL_E_OVERSIZE);
	ck_assert_int_eq(vs_seal(A.s, IK_TEXT, body, INNER_TEXT_HDR_LEN, &w), VEIL_E_LENGTH);
	ck_assert_int_eq(vs_seal(A.s, IK_TEXT, body, 0, &w), VEIL_E_LENGTH);
	ck_assert_int_eq(vs_seal(A.s, IK_TEXT, NULL, 20, &w), VEIL_E_INVALID);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_int_eq(vs_alive(A.s), 1);
	ck_assert_int_eq(vs_seal(A.s, IK_TEXT, body, INNER_BODY_MAX, &w), 0);
	/* Nothing was consumed by the refusals: the next message shows no gap. */
	wr(&w, &m);
	seal(&A, "fine", &m);
	ck_assert_int_eq(open_rc(&B, &m), 0);
}
END_TEST

START_TEST(test_data_nospace_unchanged)
{
	uint8_t small[200];
	struct msg m;
	struct vbuf w;
	char big[70];

	handshake(&A, &B, NULL);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vbuf_writer(&w, small, sizeof(small));
	/* 69 bytes of text need the 128 bucket: 247 bytes, more than 200. */
	ck_assert_int_eq(seal_text(A.s, (const uint8_t *)big, strlen(big), &w),
	    VEIL_E_NOSPACE);
	ck_assert_uint_eq(w.vb_len, 0);
	seal(&A, big, &m);
	ck_assert_uint_eq(m.n, E2E_DATA_HDR_LEN + 128 + AEAD_TAG_LEN);
	open_text(&B, &m, big, 0);
}
END_TEST

START_TEST(test_data_every_bit_flip)
{
	struct msg m, mut;
	size_t bit, nbits, used = 0;
	int r;

	handshake(&A, &B, NULL);
	seal(&A, "hello", &m);
	open_text(&B, &m, "hello", 0);
	nbits = m.n * 8;
	for (bit = 0; bit < nbits; bit++) {
		if (used == VS_MAX_AUTH_FAIL - 1) {
			/* Stay below the failure limit: start over. */
			teardown();
			handshake(&A, &B, NULL);
			used = 0;
		}
		seal(&A, "hello", &m);
		mut = m;
		mut.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = open_rc(&B, &mut);
		ck_assert_msg(r != 0, "bit %zu accepted", bit);
		used++;
		ck_assert_int_eq(vs_alive(B.s), 1);
		open_text(&B, &m, "hello", 0);
	}
}
END_TEST

START_TEST(test_data_truncated_and_extended)
{
	struct msg m, mut;
	size_t n;

	handshake(&A, &B, NULL);
	seal(&A, "hello", &m);
	for (n = 0; n < m.n; n++) {
		mut = m;
		mut.n = n;
		ck_assert_int_ne(open_rc(&B, &mut), 0);
	}
	mut = m;
	mut.b[m.n] = 0;
	mut.n = m.n + 1;
	ck_assert_int_ne(open_rc(&B, &mut), 0);
	open_text(&B, &m, "hello", 0);
}
END_TEST

START_TEST(test_data_replay)
{
	struct msg m;

	handshake(&A, &B, NULL);
	seal(&A, "once", &m);
	open_text(&B, &m, "once", 0);
	ck_assert_int_eq(open_rc(&B, &m), VEIL_E_REPLAY);
	ck_assert_int_eq(open_rc(&B, &m), VEIL_E_REPLAY);
	ck_assert_int_eq(vs_alive(B.s), 1);
	seal(&A, "twice", &m);
	open_text(&B, &m, "twice", 0);
}
END_TEST

START_TEST(test_data_reorder)
{
	struct msg m0, m1, m2;

	handshake(&A, &B, NULL);
	seal(&A, "zero", &m0);
	seal(&A, "one", &m1);
	seal(&A, "two", &m2);
	open_text(&B, &m1, "one", 1);		/* m0 reported missing */
	ck_assert_int_eq(open_rc(&B, &m0), VEIL_E_REPLAY);
	open_text(&B, &m2, "two", 0);
}
END_TEST

START_TEST(test_data_gap_reported)
{
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i < 5; i++)
		seal(&A, "lost", &m);
	seal(&A, "found", &m);
	open_text(&B, &m, "found", 5);
	seal(&A, "next", &m);
	open_text(&B, &m, "next", 0);
}
END_TEST

START_TEST(test_data_gap_max_skip)
{
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i <= VS_MAX_SKIP; i++)
		seal(&A, "dropped", &m);
	open_text(&B, &m, "dropped", VS_MAX_SKIP);
}
END_TEST

START_TEST(test_data_gap_over_max_skip)
{
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i <= VS_MAX_SKIP + 1; i++)
		seal(&A, "dropped", &m);
	ck_assert_int_eq(open_rc(&B, &m), VEIL_E_LIMIT);
	ck_assert_int_eq(vs_alive(B.s), 1);
}
END_TEST

START_TEST(test_data_reflected)
{
	struct msg m;

	struct msg mb;

	handshake(&A, &B, NULL);
	seal(&A, "to bob", &m);
	seal(&B, "to alice", &mb);
	/* Same epoch and counter as what each side expects next: only keys differ. */
	ck_assert_int_eq(open_rc(&A, &m), VEIL_E_AUTH);
	ck_assert_int_eq(open_rc(&B, &mb), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(A.s), 1);
	ck_assert_int_eq(vs_alive(B.s), 1);
	open_text(&B, &m, "to bob", 0);
	open_text(&A, &mb, "to alice", 0);
}
END_TEST

START_TEST(test_data_keys_differ_per_direction)
{
	struct msg ma, mb;

	handshake(&A, &B, NULL);
	seal(&A, "same text", &ma);
	seal(&B, "same text", &mb);
	ck_assert_uint_eq(ma.n, mb.n);
	/* Same length and plaintext: nothing else in common. */
	ck_assert(memcmp(ma.b + 2, mb.b + 2, ma.n - 2) != 0);
	/* And each side opens only the other's. */
	ck_assert_int_eq(open_rc(&A, &ma), VEIL_E_AUTH);
	open_text(&B, &ma, "same text", 0);
	open_text(&A, &mb, "same text", 0);
}
END_TEST

START_TEST(test_data_other_session_refused)
{
	struct peer C;
	struct msg m;

	handshake(&A, &B, NULL);
	/* A second pair in another room with the same identities and ephemerals. */
	peer_init(&C, 0x00, "alice", 2, 1, 0x11);
	C.p.vp_room[0] ^= 0xff;
	{
		struct peer D;
		struct msg hs[3];

		peer_init(&D, 0x20, "bob", 1, 2, 0x61);
		D.p.vp_room[0] ^= 0xff;
		handshake(&C, &D, hs);
		seal(&C, "other room", &m);
		ck_assert_int_eq(open_rc(&B, &m), VEIL_E_AUTH);
		open_text(&D, &m, "other room", 0);
		vs_free(C.s);
		vs_free(D.s);
	}
}
END_TEST

START_TEST(test_data_padding_buckets)
{
	static const size_t buckets[] = { 64, 128, 256, 512, 1024, 2048, 4096 };
	uint8_t text[MSG_MAX];
	struct msg m;
	struct vbuf w;
	size_t len, want, k;

	handshake(&A, &B, NULL);
	memset(text, 'p', sizeof(text));
	for (len = 1; len <= MSG_MAX; len++) {
		for (k = 0; k < 7 && buckets[k] < INNER_HDR_LEN + INNER_TEXT_HDR_LEN + len; k++)
			;
		ck_assert_uint_lt(k, 7);
		want = E2E_DATA_HDR_LEN + buckets[k] + AEAD_TAG_LEN;
		wr(&w, &m);
		ck_assert_int_eq(seal_text(A.s, text, len, &w), 0);
		ck_assert_msg(w.vb_len == want, "len %zu sealed to %zu, want %zu", len,
		    w.vb_len, want);
	}
}
END_TEST

START_TEST(test_data_padding_hides_length)
{
	struct msg m1, m48;
	char t48[49];

	handshake(&A, &B, NULL);
	memset(t48, 'q', 48);
	t48[48] = '\0';
	seal(&A, "a", &m1);
	seal(&A, t48, &m48);
	ck_assert_uint_eq(m1.n, m48.n);
	ck_assert_uint_eq(m1.n, E2E_DATA_MIN);
	open_text(&B, &m1, "a", 0);
	open_text(&B, &m48, t48, 0);
}
END_TEST

START_TEST(test_data_auth_fail_limit)
{
	struct msg m, mut;
	int i;

	handshake(&A, &B, NULL);
	seal(&A, "hi", &m);
	mut = m;
	mut.b[m.n - 1] ^= 0x80;
	for (i = 1; i < VS_MAX_AUTH_FAIL; i++) {
		ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
		ck_assert_int_eq(vs_alive(B.s), 1);
	}
	ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(B.s), 0);
	ck_assert_int_eq(open_rc(&B, &m), VEIL_E_STATE);
	ck_assert_ptr_null(vs_peer_id(B.s));
}
END_TEST

START_TEST(test_data_auth_fail_below_limit_survives)
{
	struct msg m, mut;
	int i;

	handshake(&A, &B, NULL);
	seal(&A, "hi", &m);
	mut = m;
	mut.b[20] ^= 4;
	for (i = 1; i < VS_MAX_AUTH_FAIL; i++)
		ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
	open_text(&B, &m, "hi", 0);
}
END_TEST

/* ---- the ratchet (PROTOCOL.md 2.3) ---- */

/* Alternating speakers: every change of speaker is a step, both roots agree. */
START_TEST(test_ratchet_alternating)
{
	char text[32];
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	for (i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "turn %d", i);
		if (i % 2 == 0) {
			seal(&A, text, &m);
			open_text(&B, &m, text, 0);
		} else {
			seal(&B, text, &m);
			open_text(&A, &m, text, 0);
		}
	}
	/* A burst each way, then alternating again. */
	for (i = 0; i < 5; i++) {
		seal(&B, "burst", &m);
		open_text(&A, &m, "burst", 0);
	}
	for (i = 0; i < 5; i++) {
		seal(&A, "burst", &m);
		open_text(&B, &m, "burst", 0);
	}
}
END_TEST

/* The responder may speak first, on its chain r0 (no DH yet). */
START_TEST(test_ratchet_responder_first)
{
	struct msg m;

	handshake(&A, &B, NULL);
	seal(&B, "bob first", &m);
	open_text(&A, &m, "bob first", 0);
	seal(&B, "bob again", &m);
	open_text(&A, &m, "bob again", 0);
	seal(&A, "alice", &m);
	open_text(&B, &m, "alice", 0);
	seal(&B, "bob third", &m);
	open_text(&A, &m, "bob third", 0);
}
END_TEST

/* A lost message: shown as the gap of the next one, in the same chain or the next. */
START_TEST(test_ratchet_lost_messages)
{
	struct msg m, lost;

	handshake(&A, &B, NULL);
	seal(&A, "a0", &m);
	open_text(&B, &m, "a0", 0);
	seal(&A, "a1 lost", &lost);
	seal(&A, "a2", &m);
	open_text(&B, &m, "a2", 1);
	/* Bob answers; his first message of the new chain is lost. */
	seal(&B, "b0 lost", &lost);
	seal(&B, "b1", &m);
	open_text(&A, &m, "b1", 1);
	/* Alice steps; two of hers lost, and the tail of her previous chain. */
	seal(&A, "a3", &m);
	open_text(&B, &m, "a3", 0);
	seal(&A, "a4 lost", &lost);
	seal(&B, "b2", &m);
	open_text(&A, &m, "b2", 0);
	seal(&A, "a5 lost", &lost);
	seal(&A, "a6 lost", &lost);
	seal(&A, "a7", &m);
	/* a4 (end of alice's previous chain: pn - Nr = 1) + a5, a6 (n = 2). */
	open_text(&B, &m, "a7", 3);
	/* a6 of the current chain, late: a replay now, refused without effect. */
	ck_assert_int_eq(open_rc(&B, &lost), VEIL_E_REPLAY);
	seal(&B, "b3", &m);
	open_text(&A, &m, "b3", 0);
}
END_TEST

/* A message of a chain two steps back opens under no key we keep. */
START_TEST(test_ratchet_late_message_refused)
{
	struct msg m, late, late2;

	handshake(&A, &B, NULL);
	seal(&A, "a0", &m);
	open_text(&B, &m, "a0", 0);
	seal(&A, "a1 late", &late);
	seal(&B, "b0", &m);
	open_text(&A, &m, "b0", 0);
	seal(&A, "a2", &m);		/* alice's next chain: a1 never came */
	open_text(&B, &m, "a2", 1);
	/* a1 now: its header opens only under the previous header key. */
	ck_assert_int_eq(open_rc(&B, &late), VEIL_E_REORDER);
	ck_assert_int_eq(vs_alive(B.s), 1);
	late2 = late;
	seal(&B, "b1", &m);
	open_text(&A, &m, "b1", 0);
	seal(&A, "a3", &m);
	open_text(&B, &m, "a3", 0);
	/* Two chains back: no key left for it; a bad tag, counted. */
	ck_assert_int_eq(open_rc(&B, &late2), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(B.s), 1);
}
END_TEST

/* A new chain whose previous one lost more than VS_MAX_SKIP: refused, nothing changed. */
START_TEST(test_ratchet_gap_over_max_skip_new_chain)
{
	struct msg m;
	int i;

	handshake(&A, &B, NULL);
	seal(&A, "a0", &m);
	open_text(&B, &m, "a0", 0);
	seal(&B, "b0", &m);
	open_text(&A, &m, "b0", 0);
	for (i = 0; i <= VS_MAX_SKIP; i++)
		seal(&B, "lost", &m);
	/* Bob's chain ends at 1026 messages, alice has 1: pn - Nr = 1025. */
	seal(&A, "a1", &m);
	open_text(&B, &m, "a1", 0);
	seal(&B, "b new chain", &m);
	ck_assert_int_eq(open_rc(&A, &m), VEIL_E_LIMIT);
	ck_assert_int_eq(vs_alive(A.s), 1);
}
END_TEST

/* Per-message erasure: a message key opens its message once; the next needs the next. */
START_TEST(test_ratchet_body_bound_to_header)
{
	struct msg m0, m1, mix;

	handshake(&A, &B, NULL);
	seal(&A, "repeat", &m0);
	seal(&A, "repeat", &m1);
	ck_assert_uint_eq(m0.n, m1.n);
	ck_assert(memcmp(m0.b + 2, m1.b + 2, m0.n - 2) != 0);
	/* m1's header on m0's body: the body's tag covers the header, refused. */
	mix = m0;
	memcpy(mix.b, m1.b, E2E_DATA_HDR_LEN);
	ck_assert_int_eq(open_rc(&B, &mix), VEIL_E_AUTH);
	/* m0's header on m1's body: the key of n = 0 on the body of n = 1. */
	mix = m1;
	memcpy(mix.b, m0.b, E2E_DATA_HDR_LEN);
	ck_assert_int_eq(open_rc(&B, &mix), VEIL_E_AUTH);
	open_text(&B, &m0, "repeat", 0);
	open_text(&B, &m1, "repeat", 0);
}
END_TEST

/*
 * Header privacy: two messages of the same length share nothing on the wire
 * beyond version, type and length; no counter, no key, no step shows. With
 * fixed header nonces, equal messages still differ by their keys.
 */
START_TEST(test_ratchet_header_unlinkable)
{
	struct msg m[4];
	size_t i, j, k, same;

	handshake(&A, &B, NULL);
	seal(&A, "same", &m[0]);
	seal(&A, "same", &m[1]);
	open_text(&B, &m[0], "same", 0);
	open_text(&B, &m[1], "same", 0);
	seal(&B, "same", &m[2]);	/* a step on bob's side */
	seal(&B, "same", &m[3]);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(m[i].n, m[0].n);
		ck_assert_uint_eq(m[i].b[0], E2E_VERSION);
		ck_assert_uint_eq(m[i].b[1], E2E_DATA);
	}
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++) {
			for (same = 0, k = 2; k < E2E_DATA_HDR_LEN; k++)
				same += m[i].b[k] == m[j].b[k];
			/* About 101 / 256 equal bytes by chance; a counter would show more. */
			ck_assert_msg(same < 8, "messages %zu and %zu share %zu header bytes",
			    i, j, same);
		}
}
END_TEST

/* A header that opens under the current key but names another ratchet key. */
START_TEST(test_ratchet_malformed_headers)
{
	uint8_t hn[2][E2E_HN_LEN];
	struct msg m, m2;
	int i;

	/* Fixed header nonces on alice's side: two messages, same nonce. */
	for (i = 0; i < 2; i++)
		memset(hn[i], 0x77, E2E_HN_LEN);
	A.p.vp_hn = &hn[0][0];
	A.p.vp_nhn = 2;
	handshake(&A, &B, NULL);
	seal(&A, "one", &m);
	seal(&A, "two", &m2);
	ck_assert_mem_eq(m.b + 2, m2.b + 2, E2E_HN_LEN);
	/* Each bit of the header nonce and of the sealed header: AUTH, counted, no change. */
	for (i = 0; i < 8; i++) {
		struct msg mut = m;

		mut.b[2 + (i * 13) % (E2E_HN_LEN + E2E_HDR_CT_LEN)] ^= (uint8_t)(1u << i);
		ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
	}
	open_text(&B, &m, "one", 0);
	open_text(&B, &m2, "two", 0);
	ck_assert_int_eq(vs_alive(B.s), 1);
}
END_TEST

/* Too many bad headers end the session, like bad tags. */
START_TEST(test_ratchet_header_failures_counted)
{
	struct msg m, mut;
	int i;

	handshake(&A, &B, NULL);
	seal(&A, "hi", &m);
	mut = m;
	mut.b[2] ^= 1;		/* the header nonce */
	for (i = 1; i < VS_MAX_AUTH_FAIL; i++)
		ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(B.s), 1);
	ck_assert_int_eq(open_rc(&B, &mut), VEIL_E_AUTH);
	ck_assert_int_eq(vs_alive(B.s), 0);
}
END_TEST

/* Kinds: every sealable kind goes through; CLOSE and the rest are not sealed. */
START_TEST(test_ratchet_kinds)
{
	uint8_t ack[INNER_ACK_LEN], view[1 + ED25519_PUB_LEN];
	struct vs_opened o;
	struct msg m;
	struct vbuf w;

	handshake(&A, &B, NULL);
	seal_ping(&A, 0x01020304, &m);
	ck_assert_int_eq(vs_open(B.s, m.b, m.n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, IK_PING);
	ck_assert_uint_eq(o.vo_bodylen, INNER_TOKEN_LEN);
	ck_assert_uint_eq(veil_get32(o.vo_body), 0x01020304);
	memset(ack, 0, sizeof(ack));
	ack[11] = 9;
	wr(&w, &m);
	ck_assert_int_eq(vs_seal(B.s, IK_ACK, ack, sizeof(ack), &w), 0);
	m.n = w.vb_len;
	ck_assert_int_eq(vs_open(A.s, m.b, m.n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, IK_ACK);
	ck_assert_mem_eq(o.vo_body, ack, sizeof(ack));
	memset(view, 0x42, sizeof(view));
	view[0] = 1;
	wr(&w, &m);
	ck_assert_int_eq(vs_seal(A.s, IK_VIEW, view, sizeof(view), &w), 0);
	m.n = w.vb_len;
	ck_assert_int_eq(vs_open(B.s, m.b, m.n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, IK_VIEW);
	/* Not sealed, nothing written, session unchanged. */
	wr(&w, &m);
	ck_assert_int_eq(vs_seal(A.s, IK_CLOSE, NULL, 0, &w), VEIL_E_TYPE);
	ck_assert_int_eq(vs_seal(A.s, 2, view, P256_PUB_LEN, &w), VEIL_E_TYPE);
	ck_assert_int_eq(vs_seal(A.s, IK_PING, ack, 3, &w), VEIL_E_LENGTH);
	view[0] = 2;
	ck_assert_int_eq(vs_seal(A.s, IK_VIEW, view, sizeof(view), &w), VEIL_E_LENGTH);
	ck_assert_uint_eq(w.vb_len, 0);
	seal(&A, "still", &m);
	open_text(&B, &m, "still", 0);
}
END_TEST

/* VS_HARD_LIMIT messages per chain; a step starts a new chain. */
START_TEST(test_hard_limit)
{
	struct msg m;
	struct vbuf w;
	uint32_t i;

	handshake(&A, &B, NULL);
	seal(&A, "a", &m);
	open_text(&B, &m, "a", 0);
	for (i = 1; i < VS_HARD_LIMIT; i++) {
		wr(&w, &m);
		ck_assert_int_eq(seal_text(A.s, (const uint8_t *)"h", 1, &w), 0);
	}
	wr(&w, &m);
	ck_assert_int_eq(seal_text(A.s, (const uint8_t *)"h", 1, &w), VEIL_E_LIMIT);
	ck_assert_int_eq(vs_seal(A.s, IK_PING, (const uint8_t *)"1234", 4, &w), VEIL_E_LIMIT);
	ck_assert_uint_eq(w.vb_len, 0);
	ck_assert_int_eq(vs_alive(A.s), 1);
	/* Bob answers: alice's next message starts a new chain, and goes. */
	seal(&B, "b", &m);
	open_text(&A, &m, "b", 0);
	seal(&A, "after the step", &m);
	/* Bob lost 65535 of alice's: over the bound, refused without effect. */
	ck_assert_int_eq(open_rc(&B, &m), VEIL_E_LIMIT);
	/* A close still goes at the limit. */
	teardown();
	setup();
	handshake(&A, &B, NULL);
	for (i = 0; i < VS_HARD_LIMIT; i++) {
		wr(&w, &m);
		ck_assert_int_eq(seal_text(A.s, (const uint8_t *)"h", 1, &w), 0);
	}
	wr(&w, &m);
	ck_assert_int_eq(vs_close(A.s, &w), 0);
}
END_TEST

/*
 * State compromise (issue 17): an attacker holds a full copy of alice's
 * session state at time t (vs_copy: every key, her ratchet private key
 * included). It reads what was still to come in the chains it holds, up to
 * the next change of speaker, and nothing after one round trip, in both
 * directions.
 */
START_TEST(test_ratchet_state_compromise)
{
	struct vs_session *eve_rx, *eve_tx;
	struct msg m;

	handshake(&A, &B, NULL);
	seal(&A, "a0", &m);
	open_text(&B, &m, "a0", 0);
	seal(&B, "b0", &m);
	open_text(&A, &m, "b0", 0);
	seal(&A, "a1", &m);
	open_text(&B, &m, "a1", 0);

	/* t: alice is speaking; eve copies her state. */
	ck_assert_int_eq(vs_copy(A.s, 0, &eve_rx), 0);	/* opens what bob sends */
	ck_assert_int_eq(vs_copy(A.s, 1, &eve_tx), 0);	/* opens what alice sends */

	/* Alice goes on in the same chain: eve reads it (CKs was in the copy). */
	seal(&A, "a2 same turn", &m);
	ck_assert(reads(eve_tx, &m, "a2 same turn"));
	open_text(&B, &m, "a2 same turn", 0);
	seal(&A, "a3 same turn", &m);
	ck_assert(reads(eve_tx, &m, "a3 same turn"));
	open_text(&B, &m, "a3 same turn", 0);

	/*
	 * Change of speaker: bob steps with a fresh key, but against alice's
	 * ratchet key, whose private half eve holds: she reads bob's turn too.
	 */
	seal(&B, "b1 next turn", &m);
	ck_assert(reads(eve_rx, &m, "b1 next turn"));
	open_text(&A, &m, "b1 next turn", 0);
	seal(&B, "b2 next turn", &m);
	ck_assert(reads(eve_rx, &m, "b2 next turn"));
	open_text(&A, &m, "b2 next turn", 0);

	/*
	 * Alice speaks again: her step uses a fresh private key and bob's new
	 * public one; eve has neither private half. From here on she reads
	 * nothing, in either direction.
	 */
	seal(&A, "a4 healed", &m);
	ck_assert(!reads(eve_tx, &m, "a4 healed"));
	ck_assert(!reads(eve_rx, &m, "a4 healed"));
	open_text(&B, &m, "a4 healed", 0);
	seal(&A, "a5 healed", &m);
	ck_assert(!reads(eve_tx, &m, "a5 healed"));
	open_text(&B, &m, "a5 healed", 0);
	seal(&B, "b3 healed", &m);
	ck_assert(!reads(eve_rx, &m, "b3 healed"));
	ck_assert(!reads(eve_tx, &m, "b3 healed"));
	open_text(&A, &m, "b3 healed", 0);
	seal(&A, "a6 healed", &m);
	ck_assert(!reads(eve_tx, &m, "a6 healed"));
	open_text(&B, &m, "a6 healed", 0);
	vs_free(eve_rx);
	vs_free(eve_tx);

	/*
	 * The other direction: eve copies bob's state while bob is listening
	 * (his step is due, his chain not started). She reads what alice sends
	 * until bob speaks, bob's own next turn (it is due against alice's key
	 * eve cannot use: she does not read it), and nothing after alice's
	 * answer.
	 */
	seal(&A, "a7", &m);
	open_text(&B, &m, "a7", 0);
	ck_assert_int_eq(vs_copy(B.s, 0, &eve_rx), 0);	/* opens what alice sends */
	ck_assert_int_eq(vs_copy(B.s, 1, &eve_tx), 0);	/* opens what bob sends */
	seal(&A, "a8 same turn", &m);
	ck_assert(reads(eve_rx, &m, "a8 same turn"));
	open_text(&B, &m, "a8 same turn", 0);
	seal(&B, "b4 fresh step", &m);
	ck_assert(!reads(eve_tx, &m, "b4 fresh step"));
	open_text(&A, &m, "b4 fresh step", 0);
	/* Alice's answer is against bob's fresh key: unreadable. */
	seal(&A, "a9 healed", &m);
	ck_assert(!reads(eve_rx, &m, "a9 healed"));
	open_text(&B, &m, "a9 healed", 0);
	seal(&B, "b5 healed", &m);
	ck_assert(!reads(eve_tx, &m, "b5 healed"));
	open_text(&A, &m, "b5 healed", 0);
	vs_free(eve_rx);
	vs_free(eve_tx);
}
END_TEST

/* ---- close and lifetime ---- */

START_TEST(test_close)
{
	struct msg c, m;
	struct vs_opened o;
	struct vbuf w;

	handshake(&A, &B, NULL);
	wr(&w, &c);
	ck_assert_int_eq(vs_close(A.s, &w), 0);
	c.n = w.vb_len;
	ck_assert_uint_eq(c.n, E2E_DATA_MIN);
	ck_assert_int_eq(vs_alive(A.s), 0);
	wr(&w, &m);
	ck_assert_int_eq(seal_text(A.s, (const uint8_t *)"x", 1, &w), VEIL_E_STATE);
	ck_assert_int_eq(vs_close(A.s, &w), VEIL_E_STATE);
	ck_assert_int_eq(vs_open(B.s, c.b, c.n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, OPEN_CLOSED);
	ck_assert_uint_eq(o.vo_bodylen, 0);
	ck_assert_int_eq(vs_alive(B.s), 0);
	ck_assert_ptr_null(vs_peer_id(B.s));
	ck_assert_int_eq(vs_open(B.s, c.b, c.n, &o), VEIL_E_STATE);
}
END_TEST

START_TEST(test_close_after_steps)
{
	struct msg c, m;
	struct vs_opened o;
	struct vbuf w;

	handshake(&A, &B, NULL);
	seal(&A, "a", &m);
	open_text(&B, &m, "a", 0);
	seal(&B, "b", &m);
	open_text(&A, &m, "b", 0);
	wr(&w, &c);
	ck_assert_int_eq(vs_close(B.s, &w), 0);
	c.n = w.vb_len;
	ck_assert_int_eq(vs_open(A.s, c.b, c.n, &o), 0);
	ck_assert_uint_eq(o.vo_kind, OPEN_CLOSED);
	ck_assert_int_eq(vs_alive(A.s), 0);
}
END_TEST

START_TEST(test_free_null_and_dead)
{
	struct msg hs[3];

	vs_free(NULL);
	ck_assert_int_eq(vs_alive(NULL), 0);
	ck_assert_ptr_null(vs_peer_id(NULL));
	handshake(&A, &B, hs);
	vs_free(B.s);
	B.s = NULL;
}
END_TEST

START_TEST(test_null_arguments)
{
	struct msg m;
	struct vs_opened o;
	struct vbuf w;
	int done;

	handshake(&A, &B, NULL);
	wr(&w, &m);
	ck_assert_int_eq(vs_seal(NULL, IK_PING, (const uint8_t *)"xxxx", 4, &w), VEIL_E_INVALID);
	ck_assert_int_eq(vs_seal(A.s, IK_PING, (const uint8_t *)"xxxx", 4, NULL), VEIL_E_INVALID);
	ck_assert_int_eq(vs_open(NULL, m.b, 1, &o), VEIL_E_INVALID);
	ck_assert_int_eq(vs_open(A.s, m.b, 1, NULL), VEIL_E_INVALID);
	ck_assert_int_eq(vs_handshake(NULL, m.b, 1, &w, &done), VEIL_E_INVALID);
	ck_assert_int_eq(vs_copy(NULL, 0, NULL), VEIL_E_INVALID);
	ck_assert_int_eq(vs_close(NULL, &w), VEIL_E_INVALID);
	ck_assert_int_eq(vs_alive(A.s), 1);
}
END_TEST

START_TEST(test_hs_max_nick)
{
	struct msg hs[3], m;
	size_t n;

	memset(A.id.id_nick, 'a', NICK_MAX);
	A.id.id_nicklen = NICK_MAX;
	memset(B.id.id_nick, 'b', NICK_MAX);
	B.id.id_nicklen = NICK_MAX;
	handshake(&A, &B, hs);
	vs_peer_nick(A.s, &n);
	ck_assert_uint_eq(n, NICK_MAX);
	vs_peer_nick(B.s, &n);
	ck_assert_uint_eq(n, NICK_MAX);
	seal(&B, "long names", &m);
	open_text(&A, &m, "long names", 0);
}
END_TEST

Suite *suite_session(void);

Suite *
suite_session(void)
{
	Suite *s = suite_create("session");
	TCase *hs = tcase_create("handshake");
	TCase *data = tcase_create("data");
	TCase *rk = tcase_create("ratchet");
	TCase *life = tcase_create("lifetime");

	tcase_add_checked_fixture(hs, setup, teardown);
	tcase_add_checked_fixture(data, setup, teardown);
	tcase_add_checked_fixture(rk, setup, teardown);
	tcase_add_checked_fixture(life, setup, teardown);
	tcase_set_timeout(hs, 60);
	tcase_set_timeout(data, 60);
	tcase_set_timeout(rk, 60);
	tcase_set_timeout(life, 60);

	tcase_add_test(hs, test_hs_success);
	tcase_add_test(hs, test_hs_other_direction);
	tcase_add_test(hs, test_hs_random_ephemerals_differ);
	tcase_add_test(hs, test_hs_fixed_ephemerals_deterministic);
	tcase_add_test(hs, test_hs_eph_exhausted_goes_random);
	tcase_add_test(hs, test_hs_sizes_independent_of_nick);
	tcase_add_test(hs, test_hs_tampered_resp);
	tcase_add_test(hs, test_hs_tampered_fin);
	tcase_add_test(hs, test_hs_truncated);
	tcase_add_test(hs, test_hs_wrong_length_of_expected_type);
	tcase_add_test(hs, test_hs_accept_bad_init);
	tcase_add_test(hs, test_hs_accept_infinity_refused);
	tcase_add_test(hs, test_hs_swapped_init_ephemeral);
	tcase_add_test(hs, test_hs_full_mitm_detected);
	tcase_add_test(hs, test_hs_room_key_mismatch);
	tcase_add_test(hs, test_hs_relay_without_room_name);
	tcase_add_test(hs, test_hs_impersonated_responder_refused);
	tcase_add_test(hs, test_hs_impersonated_initiator_refused);
	tcase_add_test(hs, test_hs_wrong_room);
	tcase_add_test(hs, test_hs_wrong_member_id);
	tcase_add_test(hs, test_hs_swapped_member_ids);
	tcase_add_test(hs, test_hs_replayed_messages);
	tcase_add_test(hs, test_hs_replay_mid_handshake);
	tcase_add_test(hs, test_hs_nospace_then_retry);
	tcase_add_test(hs, test_hs_start_args);
	tcase_add_test(hs, test_hs_data_before_done);
	tcase_add_test(hs, test_hs_message_to_open_refused);
	tcase_add_test(hs, test_hs_max_nick);
	suite_add_tcase(s, hs);

	tcase_add_test(data, test_data_in_order_a_to_b);
	tcase_add_test(data, test_data_in_order_b_to_a);
	tcase_add_test(data, test_data_interleaved);
	tcase_add_test(data, test_data_binary_and_max_text);
	tcase_add_test(data, test_data_text_length_limits);
	tcase_add_test(data, test_data_nospace_unchanged);
	tcase_add_test(data, test_data_every_bit_flip);
	tcase_add_test(data, test_data_truncated_and_extended);
	tcase_add_test(data, test_data_replay);
	tcase_add_test(data, test_data_reorder);
	tcase_add_test(data, test_data_gap_reported);
	tcase_add_test(data, test_data_gap_max_skip);
	tcase_add_test(data, test_data_gap_over_max_skip);
	tcase_add_test(data, test_data_reflected);
	tcase_add_test(data, test_data_keys_differ_per_direction);
	tcase_add_test(data, test_data_other_session_refused);
	tcase_add_test(data, test_data_padding_buckets);
	tcase_add_test(data, test_data_padding_hides_length);
	tcase_add_test(data, test_data_auth_fail_limit);
	tcase_add_test(data, test_data_auth_fail_below_limit_survives);
	suite_add_tcase(s, data);

	tcase_add_test(rk, test_ratchet_alternating);
	tcase_add_test(rk, test_ratchet_responder_first);
	tcase_add_test(rk, test_ratchet_lost_messages);
	tcase_add_test(rk, test_ratchet_late_message_refused);
	tcase_add_test(rk, test_ratchet_gap_over_max_skip_new_chain);
	tcase_add_test(rk, test_ratchet_body_bound_to_header);
	tcase_add_test(rk, test_ratchet_header_unlinkable);
	tcase_add_test(rk, test_ratchet_malformed_headers);
	tcase_add_test(rk, test_ratchet_header_failures_counted);
	tcase_add_test(rk, test_ratchet_kinds);
	tcase_add_test(rk, test_ratchet_state_compromise);
	tcase_add_test(rk, test_hard_limit);
	suite_add_tcase(s, rk);

	tcase_add_test(life, test_close);
	tcase_add_test(life, test_close_after_steps);
	tcase_add_test(life, test_free_null_and_dead);
	tcase_add_test(life, test_null_arguments);
	suite_add_tcase(s, life);
	return s;
}
