/* SPDX-License-Identifier: ISC */
/*
 * The end-to-end protocol engine: PROTOCOL.md section 2 as a state machine
 * over byte buffers. Handshake (2.2), data messages with a symmetric ratchet
 * per direction (2.3), rekey inside the session (2.4). No I/O; the only clock
 * is vp_now. Every key is wiped as soon as it has been replaced or used up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#ifdef VEIL_KEYLOG
#include <limits.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#endif

#include "crypto.h"
#include "err.h"
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
/* A sealed REKEY_INIT / REKEY_RESP: header, 3 + 65 bytes padded to 128, tag. */
#define REKEY_MSG_LEN	(E2E_DATA_HDR_LEN + 128 + AEAD_TAG_LEN)

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
	uint64_t		(*ss_now)(void);

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
	struct vs_chain		 ss_pend;	/* next epoch's receive chain (rekey responder) */
	int			 ss_has_pend;
	/*
	 * Rekey responder, while ss_has_pend: the e'_A we answered and the
	 * exact sealed REKEY_RESP, re-sent as is if that REKEY_INIT comes again.
	 */
	uint8_t			 ss_resp_peer[P256_PUB_LEN];
	uint8_t			 ss_resp[REKEY_MSG_LEN];
	EVP_PKEY		*ss_rk_priv;	/* our REKEY_INIT ephemeral while it waits */
	uint8_t			 ss_rk_pub[P256_PUB_LEN];	/* ... and its public key */
	uint64_t		 ss_rk_sealed;	/* texts sealed since REKEY_INIT last went */
	uint64_t		 ss_rk_refused;	/* epoch+1 messages refused while it waits */
	uint64_t		 ss_epoch_t0;	/* when the send epoch began */
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

static uint64_t
vs_monotonic(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec;
}

static uint64_t
vs_time(const struct vs_session *s)
{
	return s->ss_now != NULL ? s->ss_now() : vs_monotonic();
}

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
	EVP_PKEY_free(s->ss_rk_priv);
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
	s->ss_now = p->vp_now;
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
	s->ss_epoch_t0 = vs_time(s);
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
vs_seal(struct vs_session *s, const uint8_t *text, size_t len, struct vbuf *out,
    uint8_t *flags)
{
	uint64_t now;
	int r;

	if (flags != NULL)
		*flags = 0;
	if (s == NULL || out == NULL || flags == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if (text == NULL || len == 0)
		return VEIL_E_INVALID;
	if (len > MSG_MAX)
		return VEIL_E_OVERSIZE;
	if (s->ss_send.ch_next >= VS_HARD_LIMIT)
		return VEIL_E_LIMIT;
	if (!vs_room(out, vs_sealed_len(len)))
		return VEIL_E_NOSPACE;
	if ((r = vs_seal_inner(s, IK_TEXT, text, len, out)) != 0) {
		vs_kill(s);
		return r;
	}
	now = vs_time(s);
	if (s->ss_rk_priv != NULL) {
		/* Ours waits for its answer: every VS_REKEY_RETRY texts, send it again. */
		if (++s->ss_rk_sealed % VS_REKEY_RETRY == 0)
			*flags |= SEAL_REKEY_DUE;
	} else if (s->ss_send.ch_next >= VS_REKEY_MSGS ||
	    (now >= s->ss_epoch_t0 && now - s->ss_epoch_t0 >= VS_REKEY_SEC))
		*flags |= SEAL_REKEY_DUE;
	return 0;
}

/*
 * prk' = Extract(root, ECDH(e'_A, e'_B)); replaces root and returns the two
 * new chain keys. Wipes the ECDH secret and prk'.
 */
static int
vs_rekey_derive(struct vs_session *s, EVP_PKEY *priv, const uint8_t *peerpub,
    uint8_t ck_ir[static HASH_LEN], uint8_t ck_ri[static HASH_LEN])
{
	uint8_t dh[ECDH_LEN], prk[HASH_LEN], root[HASH_LEN];
	int r;

	if ((r = vs_dh(priv, peerpub, dh)) == 0 &&
	    (r = vc_hkdf_extract(s->ss_root, HASH_LEN, dh, ECDH_LEN, prk)) == 0 &&
	    (r = vs_chains(prk, root, ck_ir, ck_ri)) == 0)
		memcpy(s->ss_root, root, HASH_LEN);
	if (r == 0)
		VS_KEYLOG("ecdh_rekey", dh, ECDH_LEN);
	vc_wipe(dh, sizeof(dh));
	vc_wipe(prk, sizeof(prk));
	vc_wipe(root, sizeof(root));
	return r;
}

/* Replaces a chain with a new epoch's key (the old key is overwritten). */
static void
vs_chain_set(struct vs_chain *ch, const uint8_t ck[static HASH_LEN], uint32_t epoch)
{
	memcpy(ch->ch_ck, ck, HASH_LEN);
	ch->ch_epoch = epoch;
	ch->ch_next = 0;
}

/* Our pending REKEY_INIT is over (answered, abandoned): wipe its key. */
static void
vs_rk_drop(struct vs_session *s)
{
	EVP_PKEY_free(s->ss_rk_priv);
	s->ss_rk_priv = NULL;
	vc_wipe(s->ss_rk_pub, sizeof(s->ss_rk_pub));
	s->ss_rk_sealed = s->ss_rk_refused = 0;
}

/* The peer's REKEY_INIT (already committed): answer in this epoch, then switch send. */
static int
vs_rekey_answer(struct vs_session *s, const uint8_t *peerpub, struct vbuf *reply)
{
	uint8_t pub[P256_PUB_LEN], ck_ir[HASH_LEN], ck_ri[HASH_LEN];
	EVP_PKEY *priv = NULL;
	size_t at = reply->vb_len;
	int r;

	if (s->ss_send.ch_epoch == UINT32_MAX || s->ss_recv.ch_epoch == UINT32_MAX)
		return VEIL_E_LIMIT;
	/* A colliding REKEY_INIT of ours is abandoned (we are the handshake responder). */
	vs_rk_drop(s);
	if ((r = vs_new_eph(s, &priv, pub)) != 0 ||
	    (r = vs_rekey_derive(s, priv, peerpub, ck_ir, ck_ri)) != 0 ||
	    (r = vs_seal_inner(s, IK_REKEY_RESP, pub, sizeof(pub), reply)) != 0)
		goto out;
	if (reply->vb_len - at != REKEY_MSG_LEN) {
		r = VEIL_E_CRYPTO;
		goto out;
	}
	/* Kept until the peer's first epoch+1 message: a lost RESP is sent again. */
	memcpy(s->ss_resp, reply->vb_wr + at, REKEY_MSG_LEN);
	memcpy(s->ss_resp_peer, peerpub, P256_PUB_LEN);
	vs_chain_set(&s->ss_send, s->ss_initiator ? ck_ir : ck_ri, s->ss_send.ch_epoch + 1);
	vs_chain_set(&s->ss_pend, s->ss_initiator ? ck_ri : ck_ir, s->ss_recv.ch_epoch + 1);
	s->ss_has_pend = 1;
	s->ss_epoch_t0 = vs_time(s);
 out:
	EVP_PKEY_free(priv);
	vc_wipe(ck_ir, sizeof(ck_ir));
	vc_wipe(ck_ri, sizeof(ck_ri));
	return r;
}

/* The answer to our REKEY_INIT: both directions move to the next epoch. */
static int
vs_rekey_finish(struct vs_session *s, const uint8_t *peerpub)
{
	uint8_t ck_ir[HASH_LEN], ck_ri[HASH_LEN];
	int r;

	r = vs_rekey_derive(s, s->ss_rk_priv, peerpub, ck_ir, ck_ri);
	vs_rk_drop(s);
	if (r == 0) {
		vs_chain_set(&s->ss_send, s->ss_initiator ? ck_ir : ck_ri,
		    s->ss_send.ch_epoch + 1);
		vs_chain_set(&s->ss_recv, s->ss_initiator ? ck_ri : ck_ir,
		    s->ss_recv.ch_epoch + 1);
		s->ss_epoch_t0 = vs_time(s);
	}
	vc_wipe(ck_ir, sizeof(ck_ir));
	vc_wipe(ck_ri, sizeof(ck_ri));
	return r;
}

/*
 * Our REKEY_INIT once more, with the same e'_A, sealed afresh (next counter,
 * current send epoch). The caller has checked the room in out.
 */
static int
vs_rekey_again(struct vs_session *s, struct vbuf *out)
{
	int r;

	if ((r = vs_seal_inner(s, IK_REKEY_INIT, s->ss_rk_pub, P256_PUB_LEN, out)) != 0) {
		vs_kill(s);
		return r;
	}
	s->ss_rk_sealed = 0;
	return 0;
}

/*
 * A message of the epoch after ours while our REKEY_INIT waits: the peer
 * answered it, but its REKEY_RESP did not arrive. The message cannot be
 * opened (it is not even looked at); the first such one, and every
 * VS_REKEY_RETRY-th after it, gets our REKEY_INIT again in reply
 * (OPEN_RESEND), so the peer sends its REKEY_RESP again. The others are
 * VEIL_E_STATE. A forgery can only cause a retransmission, at this rate.
 */
static int
vs_open_ahead(struct vs_session *s, struct vs_opened *res, struct vbuf *reply)
{
	int r;

	if (s->ss_rk_refused % VS_REKEY_RETRY != 0) {
		s->ss_rk_refused++;
		return VEIL_E_STATE;
	}
	if (!vs_room(reply, REKEY_MSG_LEN))
		return VEIL_E_NOSPACE;
	if ((r = vs_rekey_again(s, reply)) != 0)
		return r;
	s->ss_rk_refused++;
	res->vo_kind = OPEN_RESEND;
	res->vo_epoch = s->ss_recv.ch_epoch + 1;
	return 0;
}

int
vs_open(struct vs_session *s, const uint8_t *in, size_t len, struct vs_opened *res,
    struct vbuf *reply)
{
	struct vs_chain tmp, *ch;
	struct e2e_msg m;
	uint8_t pt[PAD_MAX], mk[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[DATA_AD_LEN];
	const uint8_t *body;
	size_t bodylen, ptlen;
	uint64_t i, steps;
	uint8_t kind;
	int r, pend;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (s == NULL || in == NULL || res == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN)
		return VEIL_E_STATE;
	if ((r = proto_e2e_decode(in, len, &m)) != 0)
		return r;
	if (m.em_type != E2E_DATA)
		return VEIL_E_TYPE;
	if (m.em_epoch == s->ss_recv.ch_epoch) {
		ch = &s->ss_recv;
		pend = 0;
	} else if (s->ss_has_pend && m.em_epoch == s->ss_pend.ch_epoch) {
		ch = &s->ss_pend;
		pend = 1;
	} else if (m.em_epoch < s->ss_recv.ch_epoch)
		return VEIL_E_REORDER;
	else if (s->ss_rk_priv != NULL && m.em_epoch - 1 == s->ss_recv.ch_epoch)
		return vs_open_ahead(s, res, reply);
	else
		return VEIL_E_STATE;
	if (m.em_ctr < ch->ch_next)
		return VEIL_E_REPLAY;
	if (m.em_ctr - ch->ch_next > VS_MAX_SKIP)
		return VEIL_E_LIMIT;
	if (m.em_ctlen < AEAD_TAG_LEN || m.em_ctlen - AEAD_TAG_LEN > sizeof(pt))
		return VEIL_E_LENGTH;
	ptlen = m.em_ctlen - AEAD_TAG_LEN;

	/* Work on a copy of the chain: a forgery must not move it. */
	tmp = *ch;
	steps = m.em_ctr - ch->ch_next + 1;
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
	if (kind == IK_REKEY_RESP && s->ss_rk_priv == NULL) {
		r = VEIL_E_STATE;
		goto fatal;
	}
	if (kind == IK_REKEY_INIT && (s->ss_initiator == 0 || s->ss_rk_priv == NULL ||
	    s->ss_has_pend) && !vs_room(reply, REKEY_MSG_LEN)) {
		/* Nothing committed yet: the caller may retry with room. */
		vc_wipe(&tmp, sizeof(tmp));
		vc_wipe(pt, sizeof(pt));
		return VEIL_E_NOSPACE;
	}

	/* Commit the receive chain. */
	res->vo_epoch = m.em_epoch;
	res->vo_gap = (uint32_t)(m.em_ctr - ch->ch_next);
	memcpy(ch->ch_ck, tmp.ch_ck, HASH_LEN);
	ch->ch_next = (uint64_t)m.em_ctr + 1;
	vc_wipe(&tmp, sizeof(tmp));
	if (pend) {
		/* The peer has switched: the old receive chain and the kept RESP go. */
		s->ss_recv = s->ss_pend;
		vc_wipe(&s->ss_pend, sizeof(s->ss_pend));
		s->ss_has_pend = 0;
		vc_wipe(s->ss_resp, sizeof(s->ss_resp));
		vc_wipe(s->ss_resp_peer, sizeof(s->ss_resp_peer));
	}

	switch (kind) {
	case IK_TEXT:
		res->vo_kind = OPEN_TEXT;
		memcpy(res->vo_text, body, bodylen);
		res->vo_textlen = bodylen;
		break;
	case IK_CLOSE:
		vs_kill(s);
		res->vo_kind = OPEN_CLOSED;
		break;
	case IK_REKEY_INIT:
		/* Unless we answer it below, it changes no key. */
		res->vo_kind = OPEN_REKEY_SAME;
		if (s->ss_has_pend) {
			/*
			 * The REKEY_INIT we answered, again: our REKEY_RESP was
			 * lost. The same bytes once more (same counter, no new
			 * nonce); nothing else changes. Any other key is a second
			 * rekey before the first finished: not from a sane peer.
			 */
			if (!vc_equal(body, s->ss_resp_peer, P256_PUB_LEN)) {
				r = VEIL_E_STATE;
				goto fatal;
			}
			if ((r = vbuf_put_bytes(reply, s->ss_resp, REKEY_MSG_LEN)) != 0)
				goto fatal;
			break;
		}
		/* Collision: the handshake initiator's own rekey wins. */
		if (s->ss_initiator && s->ss_rk_priv != NULL)
			break;
		if ((r = vs_rekey_answer(s, body, reply)) != 0)
			goto fatal;
		res->vo_kind = OPEN_REKEY;
		res->vo_epoch = s->ss_send.ch_epoch;
		break;
	case IK_REKEY_RESP:
		if ((r = vs_rekey_finish(s, body)) != 0)
			goto fatal;
		res->vo_kind = OPEN_REKEY;
		res->vo_epoch = s->ss_send.ch_epoch;
		break;
	default:
		r = VEIL_E_TYPE;
		goto fatal;
	}
	vc_wipe(pt, sizeof(pt));
	return 0;
 fatal:
	vc_wipe(&tmp, sizeof(tmp));
	vc_wipe(pt, sizeof(pt));
	vc_wipe(mk, sizeof(mk));
	memset(res, 0, sizeof(*res));
	vs_kill(s);
	return r;
}

int
vs_rekey(struct vs_session *s, struct vbuf *out)
{
	uint8_t pub[P256_PUB_LEN];
	int r;

	if (s == NULL || out == NULL)
		return VEIL_E_INVALID;
	if (s->ss_state != VS_S_OPEN || s->ss_has_pend)
		return VEIL_E_STATE;
	if (s->ss_send.ch_epoch == UINT32_MAX)
		return VEIL_E_LIMIT;
	if (!vs_room(out, REKEY_MSG_LEN))
		return VEIL_E_NOSPACE;
	if (s->ss_rk_priv != NULL)
		return vs_rekey_again(s, out);
	if ((r = vs_new_eph(s, &s->ss_rk_priv, pub)) != 0 ||
	    (r = vs_seal_inner(s, IK_REKEY_INIT, pub, sizeof(pub), out)) != 0) {
		vs_kill(s);
		return r;
	}
	memcpy(s->ss_rk_pub, pub, P256_PUB_LEN);
	s->ss_rk_sealed = s->ss_rk_refused = 0;
	return 0;
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
