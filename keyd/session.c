/* SPDX-License-Identifier: ISC */
/*
 * The end-to-end protocol engine: PROTOCOL.md section 2 as a state machine
 * over byte buffers. Handshake (2.2), data messages with a symmetric ratchet
 * per direction (2.3), rekey inside the session (2.4). No I/O; the only clock
 * is vp_now. Every key is wiped as soon as it has been replaced or used up.
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
#define LBL_CK_IR	"veil/2 chain i->r"
#define LBL_CK_RI	"veil/2 chain r->i"
#define LBL_SIG_I	"veil/2 signature initiator"
#define LBL_SIG_R	"veil/2 signature responder"
#define SIG_LBL_LEN	(sizeof(LBL_SIG_I) - 1)

#define ECDH_LEN	32
#define DATA_AD_LEN	(E2E_DATA_HDR_LEN + ROOM_ID_LEN + 2 + 2)

enum vs_state {
	VS_S_DEAD = 0,		/* keys wiped; calloc'd memory starts here too */
	VS_S_WAIT_RESP,		/* initiator: HS_INIT sent */
	VS_S_WAIT_FIN,		/* responder: HS_RESP sent */
	VS_S_OPEN,		/* handshake done: data and rekey */
};

/* One direction's chain: the key for the next step, its epoch and counter. */
struct vs_chain {
	uint8_t		 ch_ck[HASH_LEN];
	uint32_t	 ch_epoch;
	uint64_t	 ch_next;	/* send: counter of the next message; recv: lowest acceptable */
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

	/* Established. */
	uint8_t			 ss_root[HASH_LEN];
	struct vs_chain		 ss_send;
	struct vs_chain		 ss_recv;
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
#define VS_KEYLOG(label, p, n)		vs_keylog((label), (p), (n))
#define VS_KEYLOG_PKEY(label, pk)	vs_keylog_pkey((label), (pk))
#else
#define VS_KEYLOG(label, p, n)		((void)0)
#define VS_KEYLOG_PKEY(label, pk)	((void)0)
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

/* root, ck_ir, ck_ri from prk (handshake: prk of h4; rekey: prk'). */
static int
vs_chains(const uint8_t prk[static HASH_LEN], uint8_t root[static HASH_LEN],
    uint8_t ck_ir[static HASH_LEN], uint8_t ck_ri[static HASH_LEN])
{
	int r;

	if ((r = vc_hkdf_expand(prk, LBL_ROOT, root, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_CK_IR, ck_ir, HASH_LEN)) != 0 ||
	    (r = vc_hkdf_expand(prk, LBL_CK_RI, ck_ri, HASH_LEN)) != 0) {
		vc_wipe(root, HASH_LEN);
		vc_wipe(ck_ir, HASH_LEN);
		vc_wipe(ck_ri, HASH_LEN);
		return r;
	}
	VS_KEYLOG("prk", prk, HASH_LEN);
	VS_KEYLOG("root", root, HASH_LEN);
	VS_KEYLOG("ck_ir", ck_ir, HASH_LEN);
	VS_KEYLOG("ck_ri", ck_ri, HASH_LEN);
	return 0;
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
 * Installs the first epoch's chains from prk = HKDF-Extract(h5, ss ||
 * room_key), by handshake role, and wipes ss and the room key.
 */
static int
vs_establish_keys(struct vs_session *s)
{
	uint8_t prk[HASH_LEN], ck_ir[HASH_LEN], ck_ri[HASH_LEN];
	int r;

	if ((r = vs_extract_ss(s, prk)) == 0 &&
	    (r = vs_chains(prk, s->ss_root, ck_ir, ck_ri)) == 0) {
		memcpy(s->ss_send.ch_ck, s->ss_initiator ? ck_ir : ck_ri, HASH_LEN);
		memcpy(s->ss_recv.ch_ck, s->ss_initiator ? ck_ri : ck_ir, HASH_LEN);
		s->ss_send.ch_epoch = s->ss_recv.ch_epoch = 0;
		s->ss_send.ch_next = s->ss_recv.ch_next = 0;
	}
	vc_wipe(s->ss_ss, sizeof(s->ss_ss));
	vc_wipe(s->ss_room_key, sizeof(s->ss_room_key));
	vc_wipe(prk, sizeof(prk));
	vc_wipe(ck_ir, sizeof(ck_ir));
	vc_wipe(ck_ri, sizeof(ck_ri));
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

/* After h2: ss = ECDH, prk_hs = Extract(h2, ss), k_r, k_i. Frees our ephemeral. */
static int
vs_hs_keys(struct vs_session *s, const uint8_t *peerpub)
{
	uint8_t prk[HASH_LEN];
	int r;

	r = vs_dh(s->ss_hs_priv, peerpub, s->ss_ss);
	EVP_PKEY_free(s->ss_hs_priv);
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

/* ad = 01 10 || u32 epoch || u32 ctr || room || u16 sender || u16 recipient. */
static void
vs_data_ad(const struct vs_session *s, uint32_t epoch, uint32_t ctr, int sending,
    uint8_t ad[static DATA_AD_LEN])
{
	ad[0] = E2E_VERSION;
	ad[1] = E2E_DATA;
	veil_put32(ad + 2, epoch);
	veil_put32(ad + 6, ctr);
	memcpy(ad + E2E_DATA_HDR_LEN, s->ss_room, ROOM_ID_LEN);
	veil_put16(ad + E2E_DATA_HDR_LEN + ROOM_ID_LEN,
	    sending ? s->ss_me_id : s->ss_peer_id);
	veil_put16(ad + E2E_DATA_HDR_LEN + ROOM_ID_LEN + 2,
	    sending ? s->ss_peer_id : s->ss_me_id);
}

/*
 * Seals one inner message with the send chain and appends it to out. The
 * caller has checked the room in out; any error here is fatal (the chain may
 * have moved).
 */
static int
vs_seal_inner(struct vs_session *s, uint8_t kind, const uint8_t *body, size_t bodylen,
    struct vbuf *out)
{
	uint8_t pt[PAD_MAX], ct[PAD_MAX + AEAD_TAG_LEN], mk[AEAD_KEY_LEN];
	uint8_t nonce[AEAD_NONCE_LEN], ad[DATA_AD_LEN];
	uint32_t epoch = s->ss_send.ch_epoch, ctr;
	struct e2e_msg m;
	struct vbuf w;
	int r;

	if (s->ss_send.ch_next >= UINT32_MAX)
		return VEIL_E_LIMIT;
	ctr = (uint32_t)s->ss_send.ch_next;
	vbuf_writer(&w, pt, sizeof(pt));
	if ((r = proto_inner_encode(&w, kind, body, bodylen)) != 0 ||
	    (r = vc_ratchet(s->ss_send.ch_ck, mk)) != 0)
		goto out;
	VS_KEYLOG("mk_send", mk, AEAD_KEY_LEN);
	VS_KEYLOG("ck_send", s->ss_send.ch_ck, HASH_LEN);
	vc_nonce(nonce, epoch, ctr);
	vs_data_ad(s, epoch, ctr, 1, ad);
	if ((r = vc_aead_seal(mk, nonce, ad, sizeof(ad), pt, w.vb_len, ct)) != 0)
		goto out;
	memset(&m, 0, sizeof(m));
	m.em_type = E2E_DATA;
	m.em_epoch = epoch;
	m.em_ctr = ctr;
	m.em_ct = ct;
	m.em_ctlen = w.vb_len + AEAD_TAG_LEN;
	if ((r = proto_e2e_encode(out, &m)) != 0)
		goto out;
	s->ss_send.ch_next++;
 out:
	vc_wipe(mk, sizeof(mk));
	vc_wipe(pt, sizeof(pt));
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
	if (s->ss_send.ch_next >= VS_HARD_LIMIT)
		return VEIL_E_LIMIT;
	if (!vs_room(out, vs_sealed_len(len)))
		return VEIL_E_NOSPACE;
	if ((r = vs_seal_inner(s, kind, body, len, out)) != 0) {
		vs_kill(s);
		return r;
	}
	return 0;
}

int
vs_open(struct vs_session *s, const uint8_t *in, size_t len, struct vs_opened *res)
{
	struct vs_chain tmp;
	struct e2e_msg m;
	uint8_t pt[PAD_MAX], mk[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[DATA_AD_LEN];
	const uint8_t *body;
	size_t bodylen, ptlen;
	uint64_t i, steps;
	uint8_t kind;
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
	if (m.em_epoch < s->ss_recv.ch_epoch)
		return VEIL_E_REORDER;
	if (m.em_epoch != s->ss_recv.ch_epoch)
		return VEIL_E_STATE;
	if (m.em_ctr < s->ss_recv.ch_next)
		return VEIL_E_REPLAY;
	if (m.em_ctr - s->ss_recv.ch_next > VS_MAX_SKIP)
		return VEIL_E_LIMIT;
	if (m.em_ctlen < AEAD_TAG_LEN || m.em_ctlen - AEAD_TAG_LEN > sizeof(pt))
		return VEIL_E_LENGTH;
	ptlen = m.em_ctlen - AEAD_TAG_LEN;

	/* Work on a copy of the chain: a forgery must not move it. */
	tmp = s->ss_recv;
	steps = m.em_ctr - s->ss_recv.ch_next + 1;
	for (i = 0; i < steps; i++) {
		if ((r = vc_ratchet(tmp.ch_ck, mk)) != 0)
			goto fatal;
		VS_KEYLOG("mk_recv", mk, AEAD_KEY_LEN);
		VS_KEYLOG("ck_recv", tmp.ch_ck, HASH_LEN);
	}
	vc_nonce(nonce, m.em_epoch, m.em_ctr);
	vs_data_ad(s, m.em_epoch, m.em_ctr, 0, ad);
	r = vc_aead_open(mk, nonce, ad, sizeof(ad), m.em_ct, m.em_ctlen, pt);
	vc_wipe(mk, sizeof(mk));
	if (r == VEIL_E_AUTH) {
		vc_wipe(&tmp, sizeof(tmp));
		if (++s->ss_auth_fail >= VS_MAX_AUTH_FAIL)
			vs_kill(s);
		return r;
	}
	if (r != 0)
		goto fatal;
	/* Authentic from here on: a malformed inner message is the peer's fault. */
	if ((r = proto_inner_decode(pt, ptlen, &kind, &body, &bodylen)) != 0)
		goto fatal;

	/* Commit the receive chain. */
	res->vo_gap = (uint32_t)(m.em_ctr - s->ss_recv.ch_next);
	memcpy(s->ss_recv.ch_ck, tmp.ch_ck, HASH_LEN);
	s->ss_recv.ch_next = (uint64_t)m.em_ctr + 1;
	vc_wipe(&tmp, sizeof(tmp));
	res->vo_kind = kind;
	memcpy(res->vo_body, body, bodylen);
	res->vo_bodylen = bodylen;
	if (kind == IK_CLOSE)
		vs_kill(s);
	vc_wipe(pt, sizeof(pt));
	return 0;
 fatal:
	vc_wipe(&tmp, sizeof(tmp));
	vc_wipe(pt, sizeof(pt));
	vc_wipe(mk, sizeof(mk));
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
