/* SPDX-License-Identifier: ISC */
/*
 * The end-to-end protocol engine: PROTOCOL.md section 2 as a state machine
 * over byte buffers. Handshake (2.2), then data messages under the Double
 * Ratchet with header encryption, stepped lazily at send time (2.3). No I/O,
 * no clock. Every key is wiped as soon as it has been replaced or used up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#ifdef VEIL_KEYLOG
#include <limits.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#endif

#include "crypto.h"
#include "err.h"
#include "inner.h"
#include "ipc.h"
#include "session.h"

#define PROTOCOL_NAME	"veil/2 P-256 HKDF-SHA256 AES-256-GCM Ed25519"
#define LBL_HS_RI	"veil/2 handshake r->i"
#define LBL_HS_IR	"veil/2 handshake i->r"
#define LBL_ROOT	"veil/2 root"
#define LBL_CK_R0	"veil/2 chain r0"
#define LBL_HK_R0	"veil/2 header r0"
#define LBL_NHK_I	"veil/2 header i1"
#define LBL_NHK_R	"veil/2 header r1"
#define LBL_STEP	"veil/2 ratchet step"
#define LBL_SIG_I	"veil/2 signature initiator"
#define LBL_SIG_R	"veil/2 signature responder"
#define SIG_LBL_LEN	(sizeof(LBL_SIG_I) - 1)

#define ECDH_LEN	32
#define STEP_OKM_LEN	(3 * HASH_LEN)	/* rk' || ck || nhk */
#define HDR_AD_LEN	(2 + ROOM_ID_LEN + 2 + 2)
#define BODY_AD_LEN	(E2E_DATA_HDR_LEN + ROOM_ID_LEN + 2 + 2)

enum vs_state {
	VS_S_DEAD = 0,		/* keys wiped; calloc'd memory starts here too */
	VS_S_WAIT_RESP,		/* initiator: HS_INIT sent */
	VS_S_WAIT_FIN,		/* responder: HS_RESP sent */
	VS_S_OPEN,		/* handshake done: data and rekey */
};

struct vs_session {
	int			 ss_state;
	int			 ss_initiator;	/* handshake role; kept across rekeys */

	/* Parameters (vs_params). */
	const struct vs_identity *ss_me;
	uint8_t			 ss_room[ROOM_ID_LEN];
	uint8_t			 ss_room_key[ROOM_KEY_LEN];	/* until the session keys */
	uint16_t		 ss_me_id;
	uint16_t		 ss_peer_id;
	const uint8_t		*ss_eph;	/* next fixed scalar (tests) */
	size_t			 ss_neph;	/* fixed scalars left */
	const uint8_t		*ss_hn;		/* next fixed header nonce (tests) */
	size_t			 ss_nhn;	/* fixed header nonces left */

	/* Handshake only; wiped when the handshake ends. */
	EVP_PKEY		*ss_hs_priv;	/* our ephemeral, until ECDH */
	uint8_t			 ss_h[HASH_LEN];	/* running transcript hash */
	uint8_t			 ss_ss[ECDH_LEN];	/* ECDH secret, until prk */
	uint8_t			 ss_k_r[AEAD_KEY_LEN];
	uint8_t			 ss_k_i[AEAD_KEY_LEN];

	/* The peer, once its signature proved it. */
	uint8_t			 ss_peer_pub[ED25519_PUB_LEN];
	uint8_t			 ss_peer_nick[NICK_MAX];
	size_t			 ss_peer_nicklen;

	/*
	 * Established: the Double Ratchet (PROTOCOL.md 2.3). Our ratchet key
	 * (the responder's is e_R until its first step), the peer's, the root,
	 * the sending chain and its header keys, the receiving chain and its
	 * header keys (the previous one only to tell a late message).
	 */
	uint8_t			 ss_rk[HASH_LEN];
	EVP_PKEY		*ss_dhs;
	uint8_t			 ss_dhs_pub[P256_PUB_LEN];
	uint8_t			 ss_dhr[P256_PUB_LEN];
	EVP_PKEY		*ss_dhr_key;	/* ss_dhr, checked and imported once */
	uint8_t			 ss_cks[HASH_LEN];
	uint8_t			 ss_hks[HASH_LEN];
	uint8_t			 ss_nhks[HASH_LEN];
	uint8_t			 ss_ckr[HASH_LEN];
	uint8_t			 ss_hkr[HASH_LEN];
	uint8_t			 ss_nhkr[HASH_LEN];
	uint8_t			 ss_phkr[HASH_LEN];
	uint32_t		 ss_ns;		/* messages sent in the sending chain */
	uint32_t		 ss_pn;		/* ... in the one before */
	uint32_t		 ss_nr;		/* next n expected in the receiving chain */
	int			 ss_has_dhr;
	int			 ss_has_cks;
	int			 ss_has_ckr;	/* also: ss_hkr is set */
	int			 ss_has_phkr;
	int			 ss_step_due;	/* a peer key came since ss_dhs was made */
	unsigned		 ss_auth_fail;
};

#ifdef VEIL_KEYLOG
/*
 * Test builds only (make KEYLOG=1 adds -DVEIL_KEYLOG; a normal build has
 * none of this, not even the environment variable). Every secret the engine
 * derives is written as one "LABEL HEX" line to the inherited descriptor
 * named by VEIL_KEYLOG_FD, so that tests/e2e/t_hygiene_keys.sh can look for
 * each of them in keyd's memory once the session is gone. write(2) only
 * (keyd's seccomp filter allows it); the line and scalar copies are wiped.
 */
static int vs_keylog_fd = -2;	/* -2: VEIL_KEYLOG_FD not read yet, -1: off */

static void
vs_keylog(const char *label, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char line[32 + 1 + 2 * HASH_LEN + 1];
	const char *e;
	char *end;
	size_t i, len;
	long v;

	if (vs_keylog_fd == -2) {
		vs_keylog_fd = -1;
		if ((e = getenv("VEIL_KEYLOG_FD")) != NULL && *e != '\0') {
			v = strtol(e, &end, 10);
			if (*end == '\0' && v >= 0 && v <= INT_MAX)
				vs_keylog_fd = (int)v;
		}
	}
	len = strlen(label);
	if (vs_keylog_fd < 0 || len > 32 || n > HASH_LEN)
		return;
	memcpy(line, label, len);
	line[len++] = ' ';
	for (i = 0; i < n; i++) {
		line[len++] = hx[p[i] >> 4];
		line[len++] = hx[p[i] & 15];
	}
	line[len++] = '\n';
	if (write(vs_keylog_fd, line, len) != (ssize_t)len)
		vs_keylog_fd = -1;
	vc_wipe(line, sizeof(line));
}

/* The private scalar of one of our ephemerals. */
static void
vs_keylog_pkey(const char *label, const EVP_PKEY *pk)
{
	uint8_t d[P256_SCALAR_LEN];
	BIGNUM *bn = NULL;

	if (pk != NULL && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 &&
	    BN_bn2binpad(bn, d, sizeof(d)) == (int)sizeof(d))
		vs_keylog(label, d, sizeof(d));
	vc_wipe(d, sizeof(d));
	BN_clear_free(bn);
}
/*
 * The header keys by the role they hold now: logged again whenever a role
 * changes, so that the last one of each label is what a live session keeps.
 */
static void
vs_keylog_roles(const struct vs_session *s)
{
	if (s->ss_has_cks)
		vs_keylog("hks", s->ss_hks, HASH_LEN);
	vs_keylog("nhks", s->ss_nhks, HASH_LEN);
	if (s->ss_has_ckr)
		vs_keylog("hkr", s->ss_hkr, HASH_LEN);
	vs_keylog("nhkr", s->ss_nhkr, HASH_LEN);
	if (s->ss_has_phkr)
		vs_keylog("phkr", s->ss_phkr, HASH_LEN);
}
#define VS_KEYLOG(label, p, n)		vs_keylog((label), (p), (n))
#define VS_KEYLOG_PKEY(label, pk)	vs_keylog_pkey((label), (pk))
#define VS_KEYLOG_ROLES(s)		vs_keylog_roles(s)
#else
#define VS_KEYLOG(label, p, n)		((void)0)
#define VS_KEYLOG_PKEY(label, pk)	((void)0)
#define VS_KEYLOG_ROLES(s)		((void)0)
#endif

static int
vs_room(const struct vbuf *b, size_t n)
{
	return b != NULL && b->vb_wr != NULL && b->vb_len <= b->vb_cap &&
	    b->vb_cap - b->vb_len >= n;
}

/* Wipes every key and leaves the session dead. */
static void
vs_kill(struct vs_session *s)
{
	EVP_PKEY_free(s->ss_hs_priv);
	EVP_PKEY_free(s->ss_dhs);
	EVP_PKEY_free(s->ss_dhr_key);
	vc_wipe(s, sizeof(*s));
	s->ss_state = VS_S_DEAD;
}

/* Our next ephemeral: the next fixed scalar (tests), else a random one. */
static int
vs_new_eph(struct vs_session *s, EVP_PKEY **priv, uint8_t pub[static P256_PUB_LEN])
{
	int r;

	if (s->ss_eph != NULL && s->ss_neph > 0) {
		r = vc_p256_from_scalar(s->ss_eph, priv, pub);
		s->ss_eph += P256_SCALAR_LEN;
		s->ss_neph--;
	} else
		r = vc_p256_generate(priv, pub);
	if (r == 0)
		VS_KEYLOG_PKEY("eph", *priv);
	return r;
}

/* ECDH of our private key with the peer's encoded public key. */
static int
vs_dh(EVP_PKEY *priv, const uint8_t *peerpub, uint8_t out[static ECDH_LEN])
{
	EVP_PKEY *peer = NULL;
	int r;

	if ((r = vc_p256_peer(peerpub, P256_PUB_LEN, &peer)) == 0)
		r = vc_ecdh(priv, peer, out);
	EVP_PKEY_free(peer);
	return r;
}

/*
 * HKDF-Extract(salt = the transcript hash now, IKM = ss || room_key): h2 for
 * prk_hs, h5 for prk. Without the room name (the relay knows only the room
 * id) nobody can derive the handshake keys, even with one of the ephemerals.
 */
static int
vs_extract_ss(const struct vs_session *s, uint8_t prk[static HASH_LEN])
{
	uint8_t ikm[ECDH_LEN + ROOM_KEY_LEN];
	int r;

	memcpy(ikm, s->ss_ss, ECDH_LEN);
	memcpy(ikm + ECDH_LEN, s->ss_room_key, ROOM_KEY_LEN);
	r = vc_hkdf_extract(s->ss_h, HASH_LEN, ikm, sizeof(ikm), prk);
	vc_wipe(ikm, sizeof(ikm));
	return r;
}

/*
 * The ratchet's starting state from prk = HKDF-Extract(h5, ss || room_key)
 * (PROTOCOL.md 2.3): rk0, the responder's first sending chain ck_r0 and its
 * header key hk_r0 (no DH yet: the responder's ratchet key is e_R, which the
 * initiator holds as the peer's), and the header keys of each side's first
 * DH chain. The initiator steps first. Wipes ss and the room key.
 */
static int
vs_establish_keys(struct vs_session *s)
{
	uint8_t prk[HASH_LEN], ck0[HASH_LEN], hk0[HASH_LEN], nhk_i[HASH_LEN];
	uint8_t nhk_r[HASH_LEN];
	int r;

	if ((r = vs_extract_ss(s, prk)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_ROOT, s->ss_rk, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_CK_R0, ck0, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_HK_R0, hk0, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_NHK_I, nhk_i, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_NHK_R, nhk_r, HASH_LEN)) != 0)
		goto out;
	VS_KEYLOG("prk", prk, HASH_LEN);
	VS_KEYLOG("rk", s->ss_rk, HASH_LEN);
	VS_KEYLOG("ck_r0", ck0, HASH_LEN);
	VS_KEYLOG("hk_r0", hk0, HASH_LEN);
	VS_KEYLOG("nhk_i", nhk_i, HASH_LEN);
	VS_KEYLOG("nhk_r", nhk_r, HASH_LEN);
	if (s->ss_initiator) {
		memcpy(s->ss_ckr, ck0, HASH_LEN);
		memcpy(s->ss_hkr, hk0, HASH_LEN);
		memcpy(s->ss_nhkr, nhk_r, HASH_LEN);
		memcpy(s->ss_nhks, nhk_i, HASH_LEN);
		s->ss_has_ckr = 1;
		s->ss_step_due = 1;
	} else {
		memcpy(s->ss_cks, ck0, HASH_LEN);
		memcpy(s->ss_hks, hk0, HASH_LEN);
		memcpy(s->ss_nhks, nhk_r, HASH_LEN);
		memcpy(s->ss_nhkr, nhk_i, HASH_LEN);
		s->ss_has_cks = 1;
	}
	VS_KEYLOG_ROLES(s);
 out:
	vc_wipe(s->ss_ss, sizeof(s->ss_ss));
	vc_wipe(s->ss_room_key, sizeof(s->ss_room_key));
	vc_wipe(prk, sizeof(prk));
	vc_wipe(ck0, sizeof(ck0));
	vc_wipe(hk0, sizeof(hk0));
	vc_wipe(nhk_i, sizeof(nhk_i));
	vc_wipe(nhk_r, sizeof(nhk_r));
	return r;
}

/* h1 = H(H(PROTOCOL_NAME) || room || u16 mI || u16 mR || e_I). */
static int
vs_transcript_start(struct vs_session *s, const uint8_t e_i[static P256_PUB_LEN])
{
	uint8_t buf[ROOM_ID_LEN + 4 + P256_PUB_LEN];
	uint16_t mi = s->ss_initiator ? s->ss_me_id : s->ss_peer_id;
	uint16_t mr = s->ss_initiator ? s->ss_peer_id : s->ss_me_id;
	int r;

	memcpy(buf, s->ss_room, ROOM_ID_LEN);
	veil_put16(buf + ROOM_ID_LEN, mi);
	veil_put16(buf + ROOM_ID_LEN + 2, mr);
	memcpy(buf + ROOM_ID_LEN + 4, e_i, P256_PUB_LEN);
	if ((r = vc_sha256((const uint8_t *)PROTOCOL_NAME, sizeof(PROTOCOL_NAME) - 1,
	    s->ss_h)) != 0)
		return r;
	return vc_mix(s->ss_h, buf, sizeof(buf));
}

/*
 * After h2: ss = ECDH, prk_hs = Extract(h2, ss), k_r, k_i. The initiator's
 * ephemeral is freed; the responder's e_R becomes its first ratchet key
 * (ss_dhs), wiped at its first ratchet step. The initiator keeps e_R as the
 * peer's ratchet key.
 */
static int
vs_hs_keys(struct vs_session *s, const uint8_t *peerpub)
{
	uint8_t prk[HASH_LEN];
	int r;

	r = vs_dh(s->ss_hs_priv, peerpub, s->ss_ss);
	if (s->ss_initiator) {
		EVP_PKEY_free(s->ss_hs_priv);
		memcpy(s->ss_dhr, peerpub, P256_PUB_LEN);
		s->ss_has_dhr = 1;
	} else
		s->ss_dhs = s->ss_hs_priv;	/* its public half: vs_accept */
	s->ss_hs_priv = NULL;
	if (r != 0)
		return r;
	VS_KEYLOG("ecdh_hs", s->ss_ss, ECDH_LEN);
	if ((r = vs_extract_ss(s, prk)) == 0 &&
	    (r = vc_hkdf_expand(prk, LBL_HS_RI, s->ss_k_r, AEAD_KEY_LEN)) == 0)
		r = vc_hkdf_expand(prk, LBL_HS_IR, s->ss_k_i, AEAD_KEY_LEN);
	if (r == 0) {
		VS_KEYLOG("prk_hs", prk, HASH_LEN);
		VS_KEYLOG("k_r", s->ss_k_r, AEAD_KEY_LEN);
		VS_KEYLOG("k_i", s->ss_k_i, AEAD_KEY_LEN);
	}
	vc_wipe(prk, sizeof(prk));
	return r;
}

/* Ed25519 over label || the transcript hash now (h3 for sig_R, h5 for sig_I). */
static int
vs_sign(const struct vs_session *s, const char *label, uint8_t sig[static ED25519_SIG_LEN])
{
	uint8_t msg[SIG_LBL_LEN + HASH_LEN];

	memcpy(msg, label, SIG_LBL_LEN);
	memcpy(msg + SIG_LBL_LEN, s->ss_h, HASH_LEN);
	return vc_ed25519_sign(s->ss_me->id_seed, msg, sizeof(msg), sig);
}

static int
vs_verify_sig(const struct vs_session *s, const char *label,
    const uint8_t pub[static ED25519_PUB_LEN], const uint8_t sig[static ED25519_SIG_LEN])
{
	uint8_t msg[SIG_LBL_LEN + HASH_LEN];

	memcpy(msg, label, SIG_LBL_LEN);
	memcpy(msg + SIG_LBL_LEN, s->ss_h, HASH_LEN);
	return vc_ed25519_verify(pub, msg, sizeof(msg), sig);
}

/* Checks vs_params and copies them into a new session. */
static int
vs_new(struct vs_session **sp, const struct vs_params *p, int initiator)
{
	struct vs_session *s;

	if (p == NULL || p->vp_me == NULL)
		return VEIL_E_INVALID;
	if (!proto_nick_valid(p->vp_me->id_nick, p->vp_me->id_nicklen))
		return VEIL_E_NICK;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VEIL_E_ALLOC;
	s->ss_initiator = initiator;
	s->ss_me = p->vp_me;
	memcpy(s->ss_room, p->vp_room, ROOM_ID_LEN);
	memcpy(s->ss_room_key, p->vp_room_key, ROOM_KEY_LEN);
	s->ss_me_id = p->vp_me_id;
	s->ss_peer_id = p->vp_peer_id;
	s->ss_eph = p->vp_eph;
	s->ss_neph = p->vp_eph != NULL ? p->vp_neph : 0;
	s->ss_hn = p->vp_hn;
	s->ss_nhn = p->vp_hn != NULL ? p->vp_nhn : 0;
	*sp = s;
	return 0;
}

/*
 * The sealed part of HS_RESP or HS_FIN: our identity block, then our
 * signature over label || the transcript hash with that block mixed in (h3
 * for the responder, h5 for the initiator), sealed with key under ad at n0.
 * Mixes the block into the transcript; returns the signature in sig.
 */
static int
vs_hs_seal(struct vs_session *s, const char *label, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t ad[static HASH_LEN], uint8_t sig[static ED25519_SIG_LEN],
    uint8_t ct[static E2E_HS_CT_LEN])
{
	uint8_t pt[E2E_HS_PT_LEN], n0[AEAD_NONCE_LEN];
	int r;

	memset(n0, 0, sizeof(n0));
	if ((r = proto_idb_encode(pt, s->ss_me->id_pub, s->ss_me->id_nick,
	    s->ss_me->id_nicklen)) == 0 &&
	    (r = vc_mix(s->ss_h, pt, E2E_IDB_LEN)) == 0 &&
	    (r = vs_sign(s, label, sig)) == 0) {
		memcpy(pt + E2E_IDB_LEN, sig, ED25519_SIG_LEN);
		r = vc_aead_seal(key, n0, ad, HASH_LEN, pt, sizeof(pt), ct);
	}
	vc_wipe(pt, sizeof(pt));
	return r;
}

/*
 * The peer's sealed part: opens it with key under ad, decodes the identity
 * block exactly, mixes it into the transcript and verifies the signature
 * under label. Only then is the peer's identity kept: nothing of a claim
 * that is not proven stays in the session.
 */
static int
vs_hs_open(struct vs_session *s, const char *label, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t ad[static HASH_LEN], const struct e2e_msg *m,
    uint8_t sig[static ED25519_SIG_LEN])
{
	uint8_t pt[E2E_HS_PT_LEN], n0[AEAD_NONCE_LEN];
	const uint8_t *id, *nick;
	size_t nicklen;
	int r;

	memset(n0, 0, sizeof(n0));
	if (m->em_ctlen != E2E_HS_CT_LEN)
		return VEIL_E_LENGTH;
	if ((r = vc_aead_open(key, n0, ad, HASH_LEN, m->em_ct, m->em_ctlen, pt)) != 0 ||
	    (r = proto_idb_decode(pt, E2E_IDB_LEN, &id, &nick, &nicklen)) != 0 ||
	    (r = vc_mix(s->ss_h, pt, E2E_IDB_LEN)) != 0)
		goto out;
	memcpy(sig, pt + E2E_IDB_LEN, ED25519_SIG_LEN);
	if ((r = vs_verify_sig(s, label, id, sig)) != 0)
		goto out;
	memcpy(s->ss_peer_pub, id, ED25519_PUB_LEN);
	memcpy(s->ss_peer_nick, nick, nicklen);
	s->ss_peer_nicklen = nicklen;
 out:
	vc_wipe(pt, sizeof(pt));
	return r;
}

int
vs_start(struct vs_session **sp, const struct vs_params *p, struct vbuf *out)
{
	struct vs_session *s = NULL;
	struct e2e_msg m;
	uint8_t e_i[P256_PUB_LEN];
	int r;

	if (sp == NULL)
		return VEIL_E_INVALID;
	*sp = NULL;
	if (p == NULL || p->vp_me == NULL || out == NULL)
		return VEIL_E_INVALID;
	if (!vs_room(out, E2E_HS_INIT_LEN))
		return VEIL_E_NOSPACE;
	if ((r = vs_new(&s, p, 1)) != 0)
		return r;
	memset(&m, 0, sizeof(m));
	m.em_type = E2E_HS_INIT;
	m.em_eph = e_i;
	if ((r = vs_new_eph(s, &s->ss_hs_priv, e_i)) != 0 ||
	    (r = vs_transcript_start(s, e_i)) != 0 ||
	    (r = proto_e2e_encode(out, &m)) != 0) {
		vs_free(s);
		return r;
	}
	s->ss_state = VS_S_WAIT_RESP;
	*sp = s;
	return 0;
}

/*
 * Responder, HS_INIT in hand. Nothing is looked up here (no identity is
 * known yet): the responder proves its own key at once, so that the
 * initiator can check it before revealing anything.
 */
int
vs_accept(struct vs_session **sp, const struct vs_params *p, const uint8_t *init,
    size_t len, struct vbuf *out)
{
	struct vs_session *s = NULL;
	struct e2e_msg m, o;
	EVP_PKEY *peer = NULL;
	uint8_t e_r[P256_PUB_LEN], ct[E2E_HS_CT_LEN], sig[ED25519_SIG_LEN];
	uint8_t h2[HASH_LEN];
	int r;

	if (sp == NULL)
		return VEIL_E_INVALID;
	*sp = NULL;
	if (p == NULL || p->vp_me == NULL || init == NULL || out == NULL)
		return VEIL_E_INVALID;
	if ((r = proto_e2e_decode(init, len, &m)) != 0)
		return r;
	if (m.em_type != E2E_HS_INIT)
		return VEIL_E_TYPE;
	/* Validate e_I before anything else. */
	if ((r = vc_p256_peer(m.em_eph, P256_PUB_LEN, &peer)) != 0)
		return r;
	EVP_PKEY_free(peer);
	if (!vs_room(out, E2E_HS_RESP_LEN))
		return VEIL_E_NOSPACE;
	if ((r = vs_new(&s, p, 0)) != 0)
		return r;
	if ((r = vs_new_eph(s, &s->ss_hs_priv, e_r)) != 0 ||
	    (r = vs_transcript_start(s, m.em_eph)) != 0 ||
	    (r = vc_mix(s->ss_h, e_r, P256_PUB_LEN)) != 0 ||		/* h2 */
	    (r = vs_hs_keys(s, m.em_eph)) != 0)
		goto fail;
	memcpy(s->ss_dhs_pub, e_r, P256_PUB_LEN);
	memcpy(h2, s->ss_h, HASH_LEN);
	/* h3 = H(h2 || idb_R), sig_R over it, sealed under h2; then h4. */
	if ((r = vs_hs_seal(s, LBL_SIG_R, s->ss_k_r, h2, sig, ct)) != 0 ||
	    (r = vc_mix(s->ss_h, sig, ED25519_SIG_LEN)) != 0)		/* h4 */
		goto fail;
	memset(&o, 0, sizeof(o));
	o.em_type = E2E_HS_RESP;
	o.em_eph = e_r;
	o.em_ct = ct;
	o.em_ctlen = sizeof(ct);
	if ((r = proto_e2e_encode(out, &o)) != 0)
		goto fail;
	/* k_r has sealed its one message. */
	vc_wipe(s->ss_k_r, sizeof(s->ss_k_r));
	s->ss_state = VS_S_WAIT_FIN;
	*sp = s;
	return 0;
 fail:
	vs_free(s);
	return r;
}

/*
 * Initiator, HS_RESP in hand: the responder's proof (AEAD under h2, identity
 * block, sig_R over h3), and only then our own identity in HS_FIN.
 */
static int
vs_on_resp(struct vs_session *s, const struct e2e_msg *m, struct vbuf *out)
{
	uint8_t ct[E2E_HS_CT_LEN], sig[ED25519_SIG_LEN], h2[HASH_LEN], h4[HASH_LEN];
	struct e2e_msg o;
	int r;

	if ((r = vc_mix(s->ss_h, m->em_eph, P256_PUB_LEN)) != 0 ||	/* h2 */
	    (r = vs_hs_keys(s, m->em_eph)) != 0)
		return r;
	memcpy(h2, s->ss_h, HASH_LEN);
	if ((r = vs_hs_open(s, LBL_SIG_R, s->ss_k_r, h2, m, sig)) != 0 ||	/* h3 */
	    (r = vc_mix(s->ss_h, sig, ED25519_SIG_LEN)) != 0)		/* h4 */
		return r;
	/* Proven: the responder holds id_R, ss and the room key. Now us. */
	memcpy(h4, s->ss_h, HASH_LEN);
	if ((r = vs_hs_seal(s, LBL_SIG_I, s->ss_k_i, h4, sig, ct)) != 0)	/* h5 */
		return r;
	memset(&o, 0, sizeof(o));
	o.em_type = E2E_HS_FIN;
	o.em_ct = ct;
	o.em_ctlen = sizeof(ct);
	return proto_e2e_encode(out, &o);
}

/* Responder, HS_FIN in hand: the initiator's proof (AEAD under h4, sig_I over h5). */
static int
vs_on_fin(struct vs_session *s, const struct e2e_msg *m)
{
	uint8_t sig[ED25519_SIG_LEN], h4[HASH_LEN];

	memcpy(h4, s->ss_h, HASH_LEN);
	return vs_hs_open(s, LBL_SIG_I, s->ss_k_i, h4, m, sig);		/* h5 */
}

int
vs_handshake(struct vs_session *s, const uint8_t *in, size_t len, struct vbuf *out,
    int *done)
{
	struct e2e_msg m;
	size_t at;
	int r, type, want;

	if (done != NULL)
		*done = 0;
	if (s == NULL || in == NULL || done == NULL)
		return VEIL_E_INVALID;
	at = out != NULL ? out->vb_len : 0;
	switch (s->ss_state) {
	case VS_S_WAIT_RESP:
		want = E2E_HS_RESP;
		if (!vs_room(out, E2E_HS_FIN_LEN))
			return VEIL_E_NOSPACE;
		break;
	case VS_S_WAIT_FIN:
		want = E2E_HS_FIN;
		break;
	default:
		return VEIL_E_STATE;
	}
	/*
	 * The state decides by the type byte alone: a message of another known
	 * type (replayed, reflected, late) changes nothing. Everything else that
	 * fails ends the handshake, a wrong length of the expected type included.
	 */
	type = proto_e2e_peek_type(in, len);
	if (type == E2E_HS_INIT || type == E2E_HS_RESP || type == E2E_HS_FIN ||
	    type == E2E_DATA) {
		if (type != want)
			return VEIL_E_STATE;
	}
	if ((r = proto_e2e_decode(in, len, &m)) != 0)
		goto fail;
	r = want == E2E_HS_RESP ? vs_on_resp(s, &m, out) : vs_on_fin(s, &m);
	if (r != 0 || (r = vs_establish_keys(s)) != 0)
		goto fail;
	vc_wipe(s->ss_k_r, sizeof(s->ss_k_r));
	vc_wipe(s->ss_k_i, sizeof(s->ss_k_i));
	vc_wipe(s->ss_h, sizeof(s->ss_h));
	s->ss_state = VS_S_OPEN;
	*done = 1;
	return 0;
 fail:
	if (out != NULL && out->vb_len > at) {
		vc_wipe(out->vb_wr + at, out->vb_len - at);
		out->vb_len = at;
	}
	vs_kill(s);
	return r;
}

const uint8_t *
vs_peer_id(const struct vs_session *s)
{
	if (s == NULL || s->ss_state != VS_S_OPEN)
		return NULL;
	return s->ss_peer_pub;
}

const uint8_t *
vs_peer_nick(const struct vs_session *s, size_t *len)
{
	if (len != NULL)
		*len = 0;
	if (s == NULL || s->ss_state != VS_S_OPEN)
		return NULL;
	if (len != NULL)
		*len = s->ss_peer_nicklen;
	return s->ss_peer_nick;
}

int
vs_alive(const struct vs_session *s)
{
	return s != NULL && s->ss_state != VS_S_DEAD;
}

/* ad_h = 02 10 || room || u16 sender || u16 recipient. */
static void
vs_hdr_ad(const struct vs_session *s, int sending, uint8_t ad[static HDR_AD_LEN])
{
	ad[0] = E2E_VERSION;
	ad[1] = E2E_DATA;
	memcpy(ad + 2, s->ss_room, ROOM_ID_LEN);
	veil_put16(ad + 2 + ROOM_ID_LEN, sending ? s->ss_me_id : s->ss_peer_id);
	veil_put16(ad + 2 + ROOM_ID_LEN + 2, sending ? s->ss_peer_id : s->ss_me_id);
}

/* ad_b = 02 10 || hn || hct || room || u16 sender || u16 recipient. */
static void
vs_body_ad(const struct vs_session *s, const uint8_t hn[static E2E_HN_LEN],
    const uint8_t hct[static E2E_HDR_CT_LEN], int sending, uint8_t ad[static BODY_AD_LEN])
{
	ad[0] = E2E_VERSION;
	ad[1] = E2E_DATA;
	memcpy(ad + 2, hn, E2E_HN_LEN);
	memcpy(ad + 2 + E2E_HN_LEN, hct, E2E_HDR_CT_LEN);
	memcpy(ad + E2E_DATA_HDR_LEN, s->ss_room, ROOM_ID_LEN);
	veil_put16(ad + E2E_DATA_HDR_LEN + ROOM_ID_LEN, sending ? s->ss_me_id : s->ss_peer_id);
	veil_put16(ad + E2E_DATA_HDR_LEN + ROOM_ID_LEN + 2,
	    sending ? s->ss_peer_id : s->ss_me_id);
}

/*
 * KDF_RK: prk = Extract(salt = rk, IKM = dh); Expand(prk, "veil/2 ratchet
 * step", 96) = rk' || ck || nhk. rk is replaced in place (the caller's copy).
 */
static int
vs_kdf_rk(uint8_t rk[static HASH_LEN], const uint8_t dh[static ECDH_LEN],
    uint8_t ck[static HASH_LEN], uint8_t nhk[static HASH_LEN])
{
	uint8_t prk[HASH_LEN], okm[STEP_OKM_LEN];
	int r;

	if ((r = vc_hkdf_extract(rk, HASH_LEN, dh, ECDH_LEN, prk)) == 0 &&
	    (r = vc_hkdf_expand(prk, LBL_STEP, okm, sizeof(okm))) == 0) {
		memcpy(rk, okm, HASH_LEN);
		memcpy(ck, okm + HASH_LEN, HASH_LEN);
		memcpy(nhk, okm + 2 * HASH_LEN, HASH_LEN);
		VS_KEYLOG("rk", rk, HASH_LEN);
		VS_KEYLOG("ck", ck, HASH_LEN);
	}
	vc_wipe(prk, sizeof(prk));
	vc_wipe(okm, sizeof(okm));
	return r;
}

/*
 * Our ratchet step, due at this send: a fresh ratchet key (the old private
 * key freed, which clears it), rk, CKs, nhk = KDF_RK(rk, ECDH(new, DHr)),
 * HKs = NHKs, NHKs = nhk, PN = Ns, Ns = 0. On error nothing has changed.
 */
static int
vs_step_send(struct vs_session *s)
{
	uint8_t pub[P256_PUB_LEN], dh[ECDH_LEN], rk[HASH_LEN], ck[HASH_LEN];
	uint8_t nhk[HASH_LEN];
	EVP_PKEY *priv = NULL;
	int r;

	if (!s->ss_has_dhr)
		return VEIL_E_STATE;
	/* The initiator's e_R, until its first receive step imports a key. */
	if (s->ss_dhr_key == NULL &&
	    (r = vc_p256_peer(s->ss_dhr, P256_PUB_LEN, &s->ss_dhr_key)) != 0)
		return r;
	memcpy(rk, s->ss_rk, HASH_LEN);
	if ((r = vs_new_eph(s, &priv, pub)) != 0 ||
	    (r = vc_ecdh(priv, s->ss_dhr_key, dh)) != 0 ||
	    (r = vs_kdf_rk(rk, dh, ck, nhk)) != 0)
		goto out;
	VS_KEYLOG("ecdh_step", dh, ECDH_LEN);
	EVP_PKEY_free(s->ss_dhs);
	s->ss_dhs = priv;
	priv = NULL;
	memcpy(s->ss_dhs_pub, pub, P256_PUB_LEN);
	memcpy(s->ss_rk, rk, HASH_LEN);
	memcpy(s->ss_cks, ck, HASH_LEN);
	memcpy(s->ss_hks, s->ss_nhks, HASH_LEN);
	memcpy(s->ss_nhks, nhk, HASH_LEN);
	s->ss_has_cks = 1;
	s->ss_pn = s->ss_ns;
	s->ss_ns = 0;
	s->ss_step_due = 0;
	VS_KEYLOG_ROLES(s);
 out:
	EVP_PKEY_free(priv);
	vc_wipe(dh, sizeof(dh));
	vc_wipe(rk, sizeof(rk));
	vc_wipe(ck, sizeof(ck));
	vc_wipe(nhk, sizeof(nhk));
	return r;
}

/*
 * Random header nonces, drawn from the DRBG 64 at a time: one RAND_bytes of
 * 12 bytes costs as much as the rest of a seal. Nonces are public; each is
 * handed out once (the pool is refilled, never reread).
 */
#define VS_HN_POOL	64
static uint8_t	vs_hn_pool[VS_HN_POOL * E2E_HN_LEN];
static size_t	vs_hn_left;

/* The next header nonce: a fixed one (tests), else 12 random bytes. */
static int
vs_header_nonce(struct vs_session *s, uint8_t hn[static E2E_HN_LEN])
{
	int r;

	if (s->ss_hn != NULL && s->ss_nhn > 0) {
		memcpy(hn, s->ss_hn, E2E_HN_LEN);
		s->ss_hn += E2E_HN_LEN;
		s->ss_nhn--;
		return 0;
	}
	if (vs_hn_left == 0) {
		if ((r = vc_random(vs_hn_pool, sizeof(vs_hn_pool))) != 0)
			return r;
		vs_hn_left = VS_HN_POOL;
	}
	vs_hn_left--;
	memcpy(hn, vs_hn_pool + vs_hn_left * E2E_HN_LEN, E2E_HN_LEN);
	memset(vs_hn_pool + vs_hn_left * E2E_HN_LEN, 0, E2E_HN_LEN);
	return 0;
}

/* The body nonce of message n: 00000000 00000000 || u32 n. */
static void
vs_body_nonce(uint8_t nb[static AEAD_NONCE_LEN], uint32_t n)
{
	memset(nb, 0, AEAD_NONCE_LEN);
	veil_put32(nb + AEAD_NONCE_LEN - 4, n);
}

/*
 * Seals one inner message and appends it to out, taking our ratchet step
 * first if one is due. The caller has checked the kind, the body, the
 * limit and the room in out; any error here is fatal (keys may have moved).
 */
static int
vs_seal_inner(struct vs_session *s, uint8_t kind, const uint8_t *body, size_t bodylen,
    struct vbuf *out)
{
	uint8_t pt[PAD_MAX], ct[PAD_MAX + AEAD_TAG_LEN], mk[AEAD_KEY_LEN];
	uint8_t hdr[E2E_HDR_PT_LEN], hct[E2E_HDR_CT_LEN], hn[E2E_HN_LEN];
	uint8_t nb[AEAD_NONCE_LEN], adh[HDR_AD_LEN], adb[BODY_AD_LEN];
	struct e2e_msg m;
	struct vbuf w;
	int r;

	if (s->ss_step_due && (r = vs_step_send(s)) != 0)
		goto out;
	if (!s->ss_has_cks || s->ss_ns == UINT32_MAX) {
		r = VEIL_E_STATE;
		goto out;
	}
	vbuf_writer(&w, pt, sizeof(pt));
	if ((r = proto_inner_encode(&w, kind, body, bodylen)) != 0 ||
	    (r = vc_ratchet(s->ss_cks, mk)) != 0 ||
	    (r = vs_header_nonce(s, hn)) != 0)
		goto out;
	VS_KEYLOG("mk_send", mk, AEAD_KEY_LEN);
	VS_KEYLOG("ck_send", s->ss_cks, HASH_LEN);
	memcpy(hdr, s->ss_dhs_pub, P256_PUB_LEN);
	veil_put32(hdr + P256_PUB_LEN, s->ss_pn);
	veil_put32(hdr + P256_PUB_LEN + 4, s->ss_ns);
	vs_hdr_ad(s, 1, adh);
	if ((r = vc_aead_seal(s->ss_hks, hn, adh, sizeof(adh), hdr, sizeof(hdr), hct)) != 0)
		goto out;
	vs_body_nonce(nb, s->ss_ns);
	vs_body_ad(s, hn, hct, 1, adb);
	if ((r = vc_aead_seal(mk, nb, adb, sizeof(adb), pt, w.vb_len, ct)) != 0)
		goto out;
	memset(&m, 0, sizeof(m));
	m.em_type = E2E_DATA;
	m.em_hn = hn;
	m.em_hct = hct;
	m.em_ct = ct;
	m.em_ctlen = w.vb_len + AEAD_TAG_LEN;
	if ((r = proto_e2e_encode(out, &m)) != 0)
		goto out;
	s->ss_ns++;
 out:
	vc_wipe(mk, sizeof(mk));
	vc_wipe(pt, sizeof(pt));
	vc_wipe(hdr, sizeof(hdr));
	return r;
}

static size_t
vs_sealed_len(size_t bodylen)
{
	return E2E_DATA_HDR_LEN + proto_pad_bucket(INNER_HDR_LEN + bodylen) + AEAD_TAG_LEN;
}

int
vs_seal(struct vs_session *s, uint8_t kind, const uint8_t *body, size_t len,
    struct vbuf *out)
{
	int r;

	if (s == NULL || out == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if (!proto_inner_sealable(kind))
		return VEIL_E_TYPE;
	if ((r = proto_inner_parse(kind, body, len, NULL)) != 0)
		return r;
	/* A step, when due, starts a new chain: the limit is per chain. */
	if (!s->ss_step_due && s->ss_ns >= VS_HARD_LIMIT)
		return VEIL_E_LIMIT;
	if (!vs_room(out, vs_sealed_len(len)))
		return VEIL_E_NOSPACE;
	if ((r = vs_seal_inner(s, kind, body, len, out)) != 0) {
		vs_kill(s);
		return r;
	}
	return 0;
}

/*
 * A message refused before its body authenticated: nothing changes, but a
 * bad tag (or a header only a holder of the header key could seal that
 * does not fit) counts towards VS_MAX_AUTH_FAIL.
 */
static int
vs_refuse(struct vs_session *s, int r, int counted)
{
	if (counted && ++s->ss_auth_fail >= VS_MAX_AUTH_FAIL)
		vs_kill(s);
	return r;
}

/* The work of one vs_open on copies; committed only once the body is authentic. */
struct vs_rx {
	uint8_t		 rx_hdr[E2E_HDR_PT_LEN];
	uint8_t		 rx_rk[HASH_LEN];
	uint8_t		 rx_ck[HASH_LEN];
	uint8_t		 rx_nhk[HASH_LEN];
	uint8_t		 rx_mk[AEAD_KEY_LEN];
	uint8_t		 rx_dh[ECDH_LEN];
	uint8_t		 rx_pt[PAD_MAX];
	uint32_t	 rx_pn;
	uint32_t	 rx_n;
	uint32_t	 rx_gap;
	EVP_PKEY	*rx_peer;	/* a new chain's dh, imported (owned until committed) */
	int		 rx_new;	/* the header opened under NHKr: the peer stepped */
	int		 rx_fatal;	/* a primitive failed: the session ends */
};

/*
 * Opens the header with HKr, else NHKr (a new chain), else the previous
 * HKr (a late message: VEIL_E_REORDER); then checks it against the state
 * and ratchets copies to the message key. 0, or the refusal (nothing
 * changed; vs_refuse counted what needs counting).
 */
static int
vs_open_header(struct vs_session *s, const struct e2e_msg *m, struct vs_rx *x)
{
	uint8_t adh[HDR_AD_LEN];
	const uint8_t *dh;
	uint32_t i;
	int r;

	vs_hdr_ad(s, 0, adh);
	if (s->ss_has_ckr && vc_aead_open(s->ss_hkr, m->em_hn, adh, sizeof(adh), m->em_hct,
	    E2E_HDR_CT_LEN, x->rx_hdr) == 0)
		x->rx_new = 0;
	else if (vc_aead_open(s->ss_nhkr, m->em_hn, adh, sizeof(adh), m->em_hct,
	    E2E_HDR_CT_LEN, x->rx_hdr) == 0)
		x->rx_new = 1;
	else if (s->ss_has_phkr && vc_aead_open(s->ss_phkr, m->em_hn, adh, sizeof(adh),
	    m->em_hct, E2E_HDR_CT_LEN, x->rx_hdr) == 0)
		return vs_refuse(s, VEIL_E_REORDER, 0);
	else
		return vs_refuse(s, VEIL_E_AUTH, 1);
	dh = x->rx_hdr;
	x->rx_pn = veil_get32(x->rx_hdr + P256_PUB_LEN);
	x->rx_n = veil_get32(x->rx_hdr + P256_PUB_LEN + 4);
	if (!x->rx_new) {
		/* The current chain: its key, a counter not yet seen, a bounded gap. */
		if (!vc_equal(dh, s->ss_dhr, P256_PUB_LEN) && s->ss_has_dhr)
			return vs_refuse(s, VEIL_E_INVALID, 1);
		if (x->rx_n < s->ss_nr)
			return vs_refuse(s, VEIL_E_REPLAY, 0);
		if (x->rx_n - s->ss_nr > VS_MAX_SKIP)
			return vs_refuse(s, VEIL_E_LIMIT, 0);
		x->rx_gap = x->rx_n - s->ss_nr;
		memcpy(x->rx_ck, s->ss_ckr, HASH_LEN);
	} else {
		/*
		 * A new chain: a key other than the last, valid; the messages of
		 * the chain before that never came (pn - Nr, bounded); a ratchet
		 * key of ours to do the ECDH with (the initiator has none before
		 * its first send, and a correct peer steps only after it).
		 */
		if (s->ss_has_dhr && vc_equal(dh, s->ss_dhr, P256_PUB_LEN))
			return vs_refuse(s, VEIL_E_INVALID, 1);
		if (s->ss_dhs == NULL)
			return vs_refuse(s, VEIL_E_STATE, 1);
		if (x->rx_pn < s->ss_nr)
			return vs_refuse(s, VEIL_E_INVALID, 1);
		if (x->rx_pn - s->ss_nr > VS_MAX_SKIP || x->rx_n > VS_MAX_SKIP)
			return vs_refuse(s, VEIL_E_LIMIT, 0);
		if ((r = vc_p256_peer(dh, P256_PUB_LEN, &x->rx_peer)) != 0)
			return vs_refuse(s, r, 1);
		x->rx_gap = x->rx_pn - s->ss_nr + x->rx_n;
		memcpy(x->rx_rk, s->ss_rk, HASH_LEN);
		if ((r = vc_ecdh(s->ss_dhs, x->rx_peer, x->rx_dh)) != 0 ||
		    (r = vs_kdf_rk(x->rx_rk, x->rx_dh, x->rx_ck, x->rx_nhk)) != 0) {
			x->rx_fatal = 1;
			return r;
		}
		VS_KEYLOG("ecdh_step", x->rx_dh, ECDH_LEN);
	}
	/* n - Nr + 1 steps of the chain (n + 1 of a new one): at most VS_MAX_SKIP + 1. */
	for (i = 0; i <= x->rx_n - (x->rx_new ? 0 : s->ss_nr); i++) {
		if ((r = vc_ratchet(x->rx_ck, x->rx_mk)) != 0) {
			x->rx_fatal = 1;
			return r;
		}
		VS_KEYLOG("mk_recv", x->rx_mk, AEAD_KEY_LEN);
		VS_KEYLOG("ck_recv", x->rx_ck, HASH_LEN);
	}
	return 0;
}

int
vs_open(struct vs_session *s, const uint8_t *in, size_t len, struct vs_opened *res)
{
	struct vs_rx x;
	struct e2e_msg m;
	uint8_t nb[AEAD_NONCE_LEN], adb[BODY_AD_LEN], kind;
	const uint8_t *body;
	size_t bodylen;
	int r;

	if (res != NULL)
		memset(res, 0, offsetof(struct vs_opened, vo_body));
	if (s == NULL || in == NULL || res == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if ((r = proto_e2e_decode(in, len, &m)) != 0)
		return r;
	if (m.em_type != E2E_DATA)
		return VEIL_E_TYPE;
	if (m.em_ctlen < AEAD_TAG_LEN || m.em_ctlen - AEAD_TAG_LEN > sizeof(x.rx_pt))
		return VEIL_E_LENGTH;

	memset(&x, 0, sizeof(x));
	if ((r = vs_open_header(s, &m, &x)) != 0) {
		if (x.rx_fatal)
			goto fatal;
		goto refused;	/* the VS_MAX_AUTH_FAIL-th counted one killed it */
	}
	vs_body_nonce(nb, x.rx_n);
	vs_body_ad(s, m.em_hn, m.em_hct, 0, adb);
	r = vc_aead_open(x.rx_mk, nb, adb, sizeof(adb), m.em_ct, m.em_ctlen, x.rx_pt);
	if (r == VEIL_E_AUTH) {
		(void)vs_refuse(s, r, 1);
		goto refused;
	}
	if (r != 0)
		goto fatal;
	/* Authentic from here on: a malformed inner message is the peer's fault. */
	if ((r = proto_inner_decode(x.rx_pt, m.em_ctlen - AEAD_TAG_LEN, &kind, &body,
	    &bodylen)) != 0)
		goto fatal;

	/* Commit the copies. */
	if (x.rx_new) {
		if (s->ss_has_ckr) {
			memcpy(s->ss_phkr, s->ss_hkr, HASH_LEN);
			s->ss_has_phkr = 1;
		}
		memcpy(s->ss_hkr, s->ss_nhkr, HASH_LEN);
		memcpy(s->ss_nhkr, x.rx_nhk, HASH_LEN);
		memcpy(s->ss_rk, x.rx_rk, HASH_LEN);
		memcpy(s->ss_dhr, x.rx_hdr, P256_PUB_LEN);
		EVP_PKEY_free(s->ss_dhr_key);
		s->ss_dhr_key = x.rx_peer;
		x.rx_peer = NULL;
		s->ss_has_dhr = 1;
		s->ss_has_ckr = 1;
		s->ss_step_due = 1;
		VS_KEYLOG_ROLES(s);
	}
	memcpy(s->ss_ckr, x.rx_ck, HASH_LEN);
	s->ss_nr = x.rx_n + 1;
	res->vo_gap = x.rx_gap;
	res->vo_kind = kind;
	memcpy(res->vo_body, body, bodylen);
	res->vo_bodylen = bodylen;
	vc_wipe(&x, sizeof(x));
	if (kind == IK_CLOSE)
		vs_kill(s);
	return 0;
 refused:
	EVP_PKEY_free(x.rx_peer);
	vc_wipe(&x, sizeof(x));
	return r;
 fatal:
	EVP_PKEY_free(x.rx_peer);
	vc_wipe(&x, sizeof(x));
	memset(res, 0, offsetof(struct vs_opened, vo_body));
	vs_kill(s);
	return r;
}

int
vs_close(struct vs_session *s, struct vbuf *out)
{
	int r;

	if (s == NULL || out == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if (!vs_room(out, vs_sealed_len(0)))
		return VEIL_E_NOSPACE;
	r = vs_seal_inner(s, IK_CLOSE, NULL, 0, out);
	vs_kill(s);
	return r;
}

void
vs_free(struct vs_session *s)
{
	if (s == NULL)
		return;
	vs_kill(s);
	free(s);
}

int
vs_copy(const struct vs_session *s, int mirror, struct vs_session **out)
{
	struct vs_session *c;

	if (out == NULL)
		return VEIL_E_INVALID;
	*out = NULL;
	if (s == NULL || s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return VEIL_E_ALLOC;
	memcpy(c, s, sizeof(*c));
	c->ss_dhs = NULL;
	c->ss_dhr_key = NULL;
	c->ss_eph = NULL;
	c->ss_neph = 0;
	c->ss_hn = NULL;
	c->ss_nhn = 0;
	if (s->ss_dhs != NULL && (c->ss_dhs = EVP_PKEY_dup(s->ss_dhs)) == NULL) {
		vs_free(c);
		return VEIL_E_CRYPTO;
	}
	if (mirror) {
		/* What s sends, seen as received: the keys swap sides. */
		c->ss_me_id = s->ss_peer_id;
		c->ss_peer_id = s->ss_me_id;
		memcpy(c->ss_ckr, s->ss_cks, HASH_LEN);
		memcpy(c->ss_hkr, s->ss_hks, HASH_LEN);
		memcpy(c->ss_nhkr, s->ss_nhks, HASH_LEN);
		memcpy(c->ss_cks, s->ss_ckr, HASH_LEN);
		memcpy(c->ss_hks, s->ss_hkr, HASH_LEN);
		memcpy(c->ss_nhks, s->ss_nhkr, HASH_LEN);
		memcpy(c->ss_dhr, s->ss_dhs_pub, P256_PUB_LEN);
		c->ss_has_phkr = 0;
		c->ss_has_ckr = s->ss_has_cks;
		c->ss_has_cks = s->ss_has_ckr;
		c->ss_has_dhr = 1;
		c->ss_nr = s->ss_ns;
		c->ss_ns = s->ss_nr;
		c->ss_step_due = 0;
	}
	*out = c;
	return 0;
}
