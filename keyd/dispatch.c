/* SPDX-License-Identifier: ISC */
/*
 * Every request keyd serves, in one table (OpenSSH monitor.c style):
 * {code, flags, handler}. A code that is not listed, a request that does not
 * decode, a request before HELLO or a second HELLO gets no answer at all: the
 * connection is closed (KEYD_CLOSE). A request about a session that fails
 * gets IPC_ANS_ERROR with the code, the handle and a message, and the
 * connection lives on.
 *
 * Sessions belong to the connection that made them: a handle is looked up
 * only in that connection's table, handles come from a per-connection
 * counter and are never reused, and every session is vs_free'd (wiped) when
 * its connection goes away.
 *
 * keyd is not an oracle: it signs only the transcripts its own session engine
 * builds, seals only text into sessions that finished a verified handshake,
 * and never writes a secret key into an answer.
 *
 * Trust is decided here, and only on proof: once the engine says a handshake
 * is done, the peer has proven its key (its signature verified), and only
 * then is known_peers consulted (trust.c). The decision is local: the
 * initiator's HS_FIN goes out whatever it is, and a refused session is wiped
 * before the answer that says so.
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "err.h"
#include "hist.h"
#include "keyd.h"

#define KD_NEED_HELLO	0x01	/* only after this connection's HELLO */
#define KD_ONCE		0x02	/* at most once per connection (HELLO) */
#define KD_PINS		0x04	/* reads or writes known_peers: under its lock */

struct keyd_expect {
	uint8_t		 ke_nick[NICK_MAX];
	size_t		 ke_nicklen;
	uint8_t		 ke_fpr[FPR_LEN];
};

struct keyd_sess {
	uint32_t		 ks_handle;
	struct vs_session	*ks_vs;
	struct vs_params	 ks_params;	/* kept: the engine may refer to it */
	uint32_t		 ks_replaces;	/* the session this one may replace, or 0 */
	int			 ks_done;
	/* Once done: the proven peer and what it is trusted as. */
	uint8_t			 ks_nick[NICK_MAX];
	size_t			 ks_nicklen;
	uint8_t			 ks_peer_fpr[FPR_LEN];
	uint8_t			 ks_trust;	/* enum ipc_trust */
};

struct keyd_conn {
	int			 kn_hello;
	struct vs_identity	 kn_id;		/* seed copy + this connection's nick */
	size_t			 kn_nexpect;
	struct keyd_expect	 kn_expect[IPC_EXPECT_MAX];
	uint32_t		 kn_next_handle;
	size_t			 kn_nsess;
	uint64_t		 kn_wait_end;	/* ms: put-off requests refused from then; 0 none */
	struct keyd_sess	*kn_sess[KEYD_MAX_SESSIONS];
};

/* A failed request about a session: code, handle, whether it ended, message. */
struct keyd_fail {
	uint32_t	 kf_handle;
	int		 kf_ended;
	char		 kf_msg[IPC_ERRMSG_MAX];
};

typedef int (*keyd_handler)(struct keyd_ctx *, struct keyd_conn *,
    const struct ipc_msg *, struct ipc_msg *, struct keyd_fail *);

struct keyd_req {
	uint8_t		 kr_code;
	unsigned int	 kr_flags;
	keyd_handler	 kr_handler;
};

/* ---- connections and sessions ---- */

/*
 * A connection holds a copy of the identity seed (kn_id, for its sessions'
 * signatures). It gets pages of its own, locked when RLIMIT_MEMLOCK allows,
 * so the seed stays out of swap even when keyd could not lock all of its
 * memory (main.c: "only the identity key is locked"). Anonymous pages come
 * zeroed.
 */
struct keyd_conn *
keyd_conn_new(void)
{
	struct keyd_conn *c;
	void *p;

	p = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, sizeof(*c));	/* best effort: keyd said so at start-up */
	c = p;
	c->kn_next_handle = 1;
	return c;
}

static void
sess_free(struct keyd_sess *s)
{
	if (s == NULL)
		return;
	vs_free(s->ks_vs);
	vc_wipe(s, sizeof(*s));
	free(s);
}

void
keyd_conn_free(struct keyd_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < KEYD_MAX_SESSIONS; i++)
		sess_free(c->kn_sess[i]);
	vc_wipe(c, sizeof(*c));
	(void)munmap(c, sizeof(*c));
}

size_t
keyd_conn_nsessions(const struct keyd_conn *c)
{
	return c->kn_nsess;
}

int
keyd_conn_hello(const struct keyd_conn *c)
{
	return c->kn_hello;
}

static struct keyd_sess *
sess_find(struct keyd_conn *c, uint32_t handle, size_t *slot)
{
	size_t i;

	for (i = 0; i < KEYD_MAX_SESSIONS; i++) {
		if (c->kn_sess[i] != NULL && c->kn_sess[i]->ks_handle == handle) {
			if (slot != NULL)
				*slot = i;
			return c->kn_sess[i];
		}
	}
	return NULL;
}

static void
sess_drop(struct keyd_conn *c, struct keyd_sess *s)
{
	size_t i;

	for (i = 0; i < KEYD_MAX_SESSIONS; i++) {
		if (c->kn_sess[i] == s) {
			c->kn_sess[i] = NULL;
			c->kn_nsess--;
			break;
		}
	}
	sess_free(s);
}

/*
 * The message for a session error: words for a person, never a key and
 * never the handle (an internal number; the answer carries it for chatc).
 */
static void
sess_fail(struct keyd_fail *f, uint32_t handle, int err, const char *what, int ended)
{
	f->kf_handle = handle;
	f->kf_ended = ended;
	(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "%s failed: %s%s", what,
	    veil_strerror(err), ended ? "; session ended" : "");
}

/*
 * After an engine error: the message, and the session wiped at once if the
 * engine says it is dead (vs_alive); errors that leave it usable keep it.
 */
static int
sess_error(struct keyd_conn *c, struct keyd_sess *s, struct keyd_fail *f,
    uint32_t handle, int err, const char *what)
{
	int dead = !vs_alive(s->ks_vs);

	sess_fail(f, handle, err, what, dead);
	if (dead)
		sess_drop(c, s);
	return err;
}

/* A scratch area for one blob of the answer being built. */
static void
scratch_writer(struct keyd_ctx *kc, struct vbuf *b, size_t cap)
{
	vbuf_writer(b, kc->kc_scratch + kc->kc_used, cap);
	kc->kc_used += cap;
}

static int
sess_new(struct keyd_conn *c, const struct ipc_msg *q,
    struct keyd_sess **out, struct keyd_fail *f)
{
	struct keyd_sess *s;
	size_t i;

	*out = NULL;
	f->kf_handle = 0;
	if (c->kn_nsess >= KEYD_MAX_SESSIONS || c->kn_next_handle == 0) {
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
		    "too many sessions on this connection (at most %d)", KEYD_MAX_SESSIONS);
		return VEIL_E_LIMIT;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "out of memory");
		return VEIL_E_ALLOC;
	}
	s->ks_handle = c->kn_next_handle++;
	s->ks_replaces = q->im_replaces;
	s->ks_params.vp_me = &c->kn_id;
	memcpy(s->ks_params.vp_room, q->im_room, ROOM_ID_LEN);
	memcpy(s->ks_params.vp_room_key, q->im_room_key, ROOM_KEY_LEN);
	s->ks_params.vp_me_id = q->im_me;
	s->ks_params.vp_peer_id = q->im_peer;
	for (i = 0; i < KEYD_MAX_SESSIONS; i++) {
		if (c->kn_sess[i] == NULL) {
			c->kn_sess[i] = s;
			c->kn_nsess++;
			break;
		}
	}
	*out = s;
	return 0;
}

static struct keyd_sess *
sess_lookup(struct keyd_conn *c, uint32_t handle, struct keyd_fail *f)
{
	struct keyd_sess *s;

	if ((s = sess_find(c, handle, NULL)) == NULL) {
		f->kf_handle = handle;
		f->kf_ended = 1;
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
		    "no such session on this connection (it ended, or never began)");
	}
	return s;
}

/* ---- handlers, in code order ---- */

static int
req_hello(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	size_t i;

	(void)f;
	memcpy(c->kn_id.id_seed, kc->kc_id->id_seed, ED25519_SEED_LEN);
	memcpy(c->kn_id.id_pub, kc->kc_id->id_pub, ED25519_PUB_LEN);
	memcpy(c->kn_id.id_nick, q->im_nick, q->im_nicklen);
	c->kn_id.id_nicklen = q->im_nicklen;
	for (i = 0; i < q->im_count && i < IPC_EXPECT_MAX; i++) {
		memcpy(c->kn_expect[i].ke_nick, q->im_expect[i].ex_nick,
		    q->im_expect[i].ex_nicklen);
		c->kn_expect[i].ke_nicklen = q->im_expect[i].ex_nicklen;
		memcpy(c->kn_expect[i].ke_fpr, q->im_expect[i].ex_fpr, FPR_LEN);
	}
	c->kn_nexpect = i;
	c->kn_hello = 1;
	a->im_code = ANS_HELLO;
	a->im_version = IPC_VERSION;
	memcpy(a->im_fpr, kc->kc_fpr, FPR_LEN);
	memcpy(a->im_id, kc->kc_id->id_pub, ED25519_PUB_LEN);
	return 0;
}

static int
hs_begin(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f, int accept)
{
	struct keyd_sess *s;
	struct vbuf out;
	int r;

	if ((r = sess_new(c, q, &s, f)) != 0)
		return r;
	scratch_writer(kc, &out, E2E_MAX);
	r = accept ? vs_accept(&s->ks_vs, &s->ks_params, q->im_blob, q->im_bloblen, &out) :
	    vs_start(&s->ks_vs, &s->ks_params, &out);
	/* The engine has its own copy of the room key (wiped once established). */
	vc_wipe(s->ks_params.vp_room_key, sizeof(s->ks_params.vp_room_key));
	if (r != 0) {
		f->kf_handle = 0;
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "%s failed: %s",
		    accept ? "handshake accept" : "handshake start", veil_strerror(r));
		sess_drop(c, s);
		return r;
	}
	a->im_code = ANS_HS;
	a->im_handle = s->ks_handle;
	a->im_blob = out.vb_wr;
	a->im_bloblen = out.vb_len;
	return 0;
}

static int
req_hs_start(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	return hs_begin(kc, c, q, a, f, 0);
}

static int
req_hs_accept(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	return hs_begin(kc, c, q, a, f, 1);
}

/* Our --expect fingerprints for nick, into the claim. */
static void
claim_expects(const struct keyd_conn *c, const uint8_t *nick, size_t nicklen,
    struct keyd_claim *cl)
{
	size_t i;

	cl->cl_nexpect = 0;
	for (i = 0; i < c->kn_nexpect; i++) {
		const struct keyd_expect *e = &c->kn_expect[i];

		if (e->ke_nicklen == nicklen && memcmp(e->ke_nick, nick, nicklen) == 0)
			cl->cl_expect[cl->cl_nexpect++] = e->ke_fpr;
	}
}

/* The proven peer of a done session, as a claim for trust.c. */
static void
claim_of(const struct keyd_conn *c, const struct keyd_sess *s, struct keyd_claim *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->cl_key = vs_peer_id(s->ks_vs);
	cl->cl_fpr = s->ks_peer_fpr;
	cl->cl_nick = s->ks_nick;
	cl->cl_nicklen = s->ks_nicklen;
	cl->cl_room = s->ks_params.vp_room;
	cl->cl_me = c->kn_id.id_pub;
	cl->cl_me_nick = c->kn_id.id_nick;
	cl->cl_me_nicklen = c->kn_id.id_nicklen;
	claim_expects(c, s->ks_nick, s->ks_nicklen, cl);
}

static uint64_t
ctx_now(const struct keyd_ctx *kc)
{
	struct timespec ts;

	if (kc->kc_now != NULL)
		return kc->kc_now();
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec;
}

/*
 * A replacement (HS_START / HS_ACCEPT naming a session it may replace) must
 * prove the same key and nickname as the session it replaces, or the relay
 * could swap a known peer for a stranger under one member id: REFUSED (SWAP),
 * and nothing written. 1 when refused here (*v filled), else 0.
 */
static int
sess_swapped(struct keyd_conn *c, const struct keyd_sess *s, struct keyd_verdict *v)
{
	const struct keyd_sess *old;
	const uint8_t *k_old, *k_new;

	if (s->ks_replaces == 0 || s->ks_replaces == s->ks_handle ||
	    (old = sess_find(c, s->ks_replaces, NULL)) == NULL || !old->ks_done ||
	    (k_old = vs_peer_id(old->ks_vs)) == NULL || (k_new = vs_peer_id(s->ks_vs)) == NULL)
		return 0;
	if (vc_equal(k_old, k_new, ED25519_PUB_LEN) && old->ks_nicklen == s->ks_nicklen &&
	    vc_equal(old->ks_nick, s->ks_nick, s->ks_nicklen))
		return 0;
	memset(v, 0, sizeof(*v));
	v->kv_trust = TRUST_REFUSED;
	v->kv_reason = REFUSE_SWAP;
	memcpy(v->kv_fpr2, old->ks_peer_fpr, FPR_LEN);
	return 1;
}

static int
req_hs_next(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	struct keyd_verdict v;
	struct keyd_claim cl;
	const uint8_t *nick;
	struct keyd_sess *s;
	struct vbuf out;
	uint8_t *copy;
	size_t nicklen;
	int done = 0, r;

	if ((s = sess_lookup(c, q->im_handle, f)) == NULL)
		return VEIL_E_NOSESSION;
	if (s->ks_done) {
		sess_fail(f, q->im_handle, VEIL_E_STATE, "handshake step", 0);
		return VEIL_E_STATE;
	}
	scratch_writer(kc, &out, E2E_MAX);
	if ((r = vs_handshake(s->ks_vs, q->im_blob, q->im_bloblen, &out, &done)) != 0)
		return sess_error(c, s, f, q->im_handle, r, "handshake");
	a->im_code = ANS_HS_NEXT;
	a->im_handle = s->ks_handle;
	a->im_blob = out.vb_wr;
	a->im_bloblen = out.vb_len;
	if (!done)
		return 0;
	/* Proven now, and only now: who it is, and what we trust it as. */
	if ((nick = vs_peer_nick(s->ks_vs, &nicklen)) == NULL || nicklen > NICK_MAX) {
		r = VEIL_E_STATE;
		goto fail;
	}
	memcpy(s->ks_nick, nick, nicklen);
	s->ks_nicklen = nicklen;
	/* No fingerprint, no decision: an all-zero one must never match an --expect. */
	if ((r = vc_fingerprint(vs_peer_id(s->ks_vs), s->ks_peer_fpr)) != 0)
		goto fail;
	if (!sess_swapped(c, s, &v)) {
		claim_of(c, s, &cl);
		/* The initiator's HS_FIN waits for this answer: uniform cost then. */
		if ((r = keyd_trust_decide(kc->kc_pins, &cl, KEYD_TRUST_COMMIT |
		    (out.vb_len > 0 ? KEYD_TRUST_UNIFORM : 0), ctx_now(kc),
		    (int64_t)time(NULL), &v)) != 0)
			goto fail;
	}
	s->ks_done = 1;
	s->ks_trust = v.kv_trust;
	/* The answer outlives a refused session: its strings go to the scratch area. */
	copy = kc->kc_scratch + kc->kc_used;
	kc->kc_used += 2 * NICK_MAX;
	memcpy(copy, s->ks_nick, s->ks_nicklen);
	memcpy(copy + NICK_MAX, v.kv_label, v.kv_labellen);
	a->im_done = 1;
	a->im_nick = copy;
	a->im_nicklen = s->ks_nicklen;
	memcpy(a->im_fpr, s->ks_peer_fpr, FPR_LEN);
	memcpy(a->im_id, vs_peer_id(s->ks_vs), ED25519_PUB_LEN);
	a->im_trust = v.kv_trust;
	a->im_flags = v.kv_flags;
	a->im_reason = v.kv_reason;
	a->im_label = copy + NICK_MAX;
	a->im_labellen = v.kv_labellen;
	memcpy(a->im_fpr2, v.kv_fpr2, FPR_LEN);
	/* Refused: the session goes now; the blob (our HS_FIN) must still be sent. */
	if (v.kv_trust == TRUST_REFUSED)
		sess_drop(c, s);
	return 0;
fail:
	/* Completed by the engine but not decided: the session must go. */
	sess_fail(f, q->im_handle, r, "handshake", 1);
	sess_drop(c, s);
	return r;
}

static int
req_seal(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	struct keyd_sess *s;
	struct ipc_item *it;
	struct vbuf out;
	uint16_t i;
	int r;

	(void)f;
	a->im_code = ANS_SEALED;
	a->im_count = q->im_count;
	for (i = 0; i < q->im_count && i < IPC_BATCH_MAX; i++) {
		it = &a->im_items[i];
		it->it_handle = q->im_handles[i];
		if ((s = sess_find(c, q->im_handles[i], NULL)) == NULL) {
			it->it_status = (uint8_t)-VEIL_E_NOSESSION;
			continue;
		}
		if (!s->ks_done) {
			it->it_status = (uint8_t)-VEIL_E_STATE;
			continue;
		}
		scratch_writer(kc, &out, E2E_MAX);
		r = vs_seal(s->ks_vs, q->im_kind, q->im_text, q->im_textlen, &out);
		if (r != 0) {
			it->it_status = (uint8_t)-r;
			if (!vs_alive(s->ks_vs)) {
				it->it_flags = SEAL_ENDED;
				sess_drop(c, s);
			}
			continue;
		}
		it->it_blob = out.vb_wr;
		it->it_bloblen = out.vb_len;
	}
	return 0;
}

/* A session that finished its handshake: 0, VEIL_E_NOSESSION or VEIL_E_STATE. */
static int
sess_ready(struct keyd_conn *c, uint32_t handle, struct keyd_fail *f, const char *what,
    struct keyd_sess **out)
{
	struct keyd_sess *s;

	if ((*out = sess_lookup(c, handle, f)) == NULL)
		return VEIL_E_NOSESSION;
	s = *out;
	if (!s->ks_done) {
		*out = NULL;
		f->kf_handle = handle;
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
		    "%s: the session has not finished its handshake", what);
		return VEIL_E_STATE;
	}
	return 0;
}

static int
req_open(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	struct vs_opened *o = kc->kc_opened;
	struct keyd_sess *s;
	int r;

	(void)kc;
	if ((r = sess_ready(c, q->im_handle, f, "open", &s)) != 0)
		return r;
	if ((r = vs_open(s->ks_vs, q->im_blob, q->im_bloblen, o)) != 0)
		return sess_error(c, s, f, q->im_handle, r, "message rejected; open");
	a->im_code = ANS_OPENED;
	a->im_handle = q->im_handle;
	a->im_kind = o->vo_kind;
	a->im_gap = o->vo_gap;
	a->im_text = o->vo_body;
	a->im_textlen = o->vo_bodylen;
	if (o->vo_kind == OPEN_CLOSED)
		sess_drop(c, s);	/* the peer ended it: wipe now */
	return 0;
}

static int
req_close(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	struct keyd_sess *s;
	struct vbuf out;
	int r = 0;

	if ((s = sess_lookup(c, q->im_handle, f)) == NULL)
		return VEIL_E_NOSESSION;
	scratch_writer(kc, &out, E2E_MAX);
	/* A handshake not yet done has nothing to tell the peer: just wipe it. */
	if (s->ks_done && vs_alive(s->ks_vs) && (r = vs_close(s->ks_vs, &out)) != 0)
		sess_fail(f, q->im_handle, r, "close", 1);
	sess_drop(c, s);
	if (r != 0)
		return r;
	a->im_code = ANS_CLOSE;
	a->im_handle = q->im_handle;
	a->im_blob = out.vb_wr;
	a->im_bloblen = out.vb_len;
	return 0;
}

/*
 * The safety number and the trust as it is now (known_peers may have changed
 * since the handshake: keyd --trust, --forget). A session that would now be
 * refused is wiped (answered with trust REFUSED): chatc then runs a new
 * handshake, which says why.
 */
static int
req_verify(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	char *safety = (char *)kc->kc_scratch + kc->kc_used;
	uint8_t *nick = kc->kc_scratch + kc->kc_used + SAFETY_TEXT_MAX + 1;
	struct keyd_verdict v;
	struct keyd_claim cl;
	const uint8_t *peer;
	struct keyd_sess *s;
	int r;

	if ((r = sess_ready(c, q->im_handle, f, "verify", &s)) != 0)
		return r;
	kc->kc_used += SAFETY_TEXT_MAX + 1 + NICK_MAX;
	if ((peer = vs_peer_id(s->ks_vs)) == NULL) {
		r = VEIL_E_STATE;
		goto fail;
	}
	claim_of(c, s, &cl);
	if ((r = vc_safety_number(kc->kc_id->id_pub, peer, safety,
	    SAFETY_TEXT_MAX + 1)) != 0 ||
	    (r = keyd_trust_decide(kc->kc_pins, &cl, 0, ctx_now(kc), (int64_t)time(NULL),
	    &v)) != 0)
		goto fail;
	s->ks_trust = v.kv_trust;
	memcpy(nick, s->ks_nick, s->ks_nicklen);
	a->im_code = ANS_VERIFY;
	a->im_nick = nick;
	a->im_nicklen = s->ks_nicklen;
	memcpy(a->im_fpr, s->ks_peer_fpr, FPR_LEN);
	memcpy(a->im_fpr2, kc->kc_fpr, FPR_LEN);
	a->im_trust = v.kv_trust;
	a->im_safety = (const uint8_t *)safety;
	a->im_safetylen = strlen(safety);
	if (v.kv_trust == TRUST_REFUSED)
		sess_drop(c, s);
	return 0;
fail:
	f->kf_handle = q->im_handle;
	(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "verify failed: %s", veil_strerror(r));
	return r;
}

/* The generation of known_peers: a client polls it to see keyd --trust / --forget. */
static int
req_status(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	(void)c;
	(void)q;
	(void)f;
	a->im_code = ANS_STATUS;
	a->im_gen = keyd_pins_generation(kc->kc_pins);
	return 0;
}

/* chatc's history: sealed and opened with a key chatc never sees (hist.c). */
static int
req_hist_seal(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	uint8_t *out = kc->kc_scratch + kc->kc_used;
	size_t n;
	int r;

	(void)c;
	if ((r = keyd_hist_seal(kc->kc_id, q->im_text, q->im_textlen, out, HIST_BLOB_MAX,
	    &n)) != 0) {
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "history: %s", veil_strerror(r));
		return r;
	}
	kc->kc_used += n;
	a->im_code = ANS_HIST_SEALED;
	a->im_blob = out;
	a->im_bloblen = n;
	return 0;
}

static int
req_hist_open(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	uint8_t *out = kc->kc_scratch + kc->kc_used;
	size_t n;
	int r;

	(void)c;
	if ((r = keyd_hist_open(kc->kc_id, q->im_blob, q->im_bloblen, out, HIST_TEXT_MAX,
	    &n)) != 0) {
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "history: %s", veil_strerror(r));
		return r;
	}
	kc->kc_used += n;
	a->im_code = ANS_HIST_OPENED;
	a->im_text = out;
	a->im_textlen = n;
	return 0;
}

static const struct keyd_req keyd_reqs[] = {
	{ REQ_HELLO,	 KD_ONCE,	req_hello },
	{ REQ_HS_START,	 KD_NEED_HELLO,	req_hs_start },
	{ REQ_HS_ACCEPT, KD_NEED_HELLO,	req_hs_accept },
	{ REQ_HS_NEXT,	 KD_NEED_HELLO | KD_PINS, req_hs_next },
	{ REQ_SEAL,	 KD_NEED_HELLO,	req_seal },
	{ REQ_OPEN,	 KD_NEED_HELLO,	req_open },
	{ REQ_CLOSE,	 KD_NEED_HELLO,	req_close },
	/*
	 * No REQ_FORGET: dropping a pin is for `keyd --forget`, run on purpose
	 * (SECURITY.md). Served here, it would let a compromised chatc, which
	 * cannot open known_peers itself, erase a pin for good and have the next
	 * man in the middle pinned as "new".
	 */
	{ REQ_VERIFY,	 KD_NEED_HELLO | KD_PINS, req_verify },
	{ REQ_STATUS,	 KD_NEED_HELLO,	req_status },
	{ REQ_HIST_SEAL, KD_NEED_HELLO,	req_hist_seal },
	{ REQ_HIST_OPEN, KD_NEED_HELLO,	req_hist_open },
};

/* ---- the dispatcher ---- */

int
keyd_ctx_init(struct keyd_ctx *kc, struct vs_identity *id, struct keyd_pins *pins)
{
	int r;

	memset(kc, 0, sizeof(*kc));
	kc->kc_id = id;
	kc->kc_pins = pins;
	if ((r = vc_fingerprint(id->id_pub, kc->kc_fpr)) != 0)
		return r;
	kc->kc_scratch = calloc(1, KEYD_SCRATCH);
	kc->kc_req = calloc(1, sizeof(*kc->kc_req));
	kc->kc_ans = calloc(1, sizeof(*kc->kc_ans));
	kc->kc_opened = calloc(1, sizeof(*kc->kc_opened));
	if (kc->kc_scratch == NULL || kc->kc_req == NULL || kc->kc_ans == NULL ||
	    kc->kc_opened == NULL) {
		keyd_ctx_free(kc);
		return VEIL_E_ALLOC;
	}
	return 0;
}

void
keyd_ctx_free(struct keyd_ctx *kc)
{
	if (kc->kc_scratch != NULL)
		vc_wipe(kc->kc_scratch, KEYD_SCRATCH);
	if (kc->kc_opened != NULL)
		vc_wipe(kc->kc_opened, sizeof(*kc->kc_opened));
	free(kc->kc_scratch);
	free(kc->kc_req);
	free(kc->kc_ans);
	free(kc->kc_opened);
	kc->kc_scratch = NULL;
	kc->kc_req = kc->kc_ans = NULL;
	kc->kc_opened = NULL;
}

static int
answer_error(struct vbuf *out, int err, const struct keyd_fail *f)
{
	struct ipc_msg e;

	memset(&e, 0, sizeof(e));
	e.im_code = IPC_ANS_ERROR;
	e.im_err = (uint8_t)(err < 0 && err > -128 ? -err : -VEIL_E_SYSTEM);
	e.im_handle = f->kf_handle;
	e.im_ended = f->kf_handle != 0 && f->kf_ended;
	e.im_text = (const uint8_t *)f->kf_msg;
	e.im_textlen = strnlen(f->kf_msg, sizeof(f->kf_msg));
	if (e.im_textlen > IPC_ERRMSG_MAX)
		e.im_textlen = IPC_ERRMSG_MAX;
	out->vb_len = 0;
	return proto_ipc_encode(out, &e);
}

/*
 * known_peers stayed locked by someone else: the request was not served. The
 * message says so in words a person can act on, and so does one line on
 * stderr; the handle lets the client tell which session it was.
 */
static void
busy_fail(struct keyd_ctx *kc, const struct ipc_msg *q, struct keyd_fail *f)
{
	char who[48] = "";
	long pid;

	if ((pid = keyd_pins_holder(kc->kc_pins)) > 0)
		(void)snprintf(who, sizeof(who), " (pid %ld)", pid);
	f->kf_handle = q->im_handle;
	(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "%s is locked by another "
	    "process%s: after %d s of waiting this request was not served and the "
	    "session is unchanged; send it again, and if this goes on, find what "
	    "holds the file", kc->kc_pins->kp_path, who, KEYD_LOCK_WAIT_MS / 1000);
	fprintf(stderr, "keyd: %s is locked by another process%s; a request "
	    "waited %d s and was refused (VEIL_E_BUSY)\n", kc->kc_pins->kp_path, who,
	    KEYD_LOCK_WAIT_MS / 1000);
}

/*
 * Wipes what one OPEN left in *o: the fields before the body and the body as
 * far as vo_bodylen, which is all vs_open writes (it copies the body and sets
 * vo_bodylen together). *o is all zero again, as keyd_ctx_init left it.
 */
static void
opened_wipe(struct vs_opened *o)
{
	size_t n = o->vo_bodylen < INNER_BODY_MAX ? o->vo_bodylen : INNER_BODY_MAX;

	vc_wipe(o, offsetof(struct vs_opened, vo_body) + n);
}

/*
 * Clears what a handler may have set in the answer: the fields before the
 * handle array, the items it counted and the safety text. Handlers set no
 * other field of an answer (im_handles and im_expect are request fields), so
 * *a is all zero again, as keyd_ctx_init left it. Answers hold pointers into
 * the scratch area and public values only: no wipe needed.
 */
static void
answer_clear(struct ipc_msg *a)
{
	size_t n = a->im_count < IPC_BATCH_MAX ? a->im_count : IPC_BATCH_MAX;

	memset(a, 0, offsetof(struct ipc_msg, im_handles));
	memset(a->im_items, 0, n * sizeof(a->im_items[0]));
	a->im_safety = NULL;
	a->im_safetylen = 0;
}

/*
 * known_peers is locked by someone else at now: KEYD_WAIT while the request
 * may still wait (see keyd.h), else 0 (refuse it).
 */
static int
busy_wait(struct keyd_conn *c, uint64_t now)
{
	if (c->kn_wait_end == 0 || now >= c->kn_wait_end + KEYD_LOCK_FRESH_MS)
		c->kn_wait_end = now + KEYD_LOCK_WAIT_MS;
	return now < c->kn_wait_end ? KEYD_WAIT : 0;
}

int
keyd_dispatch(struct keyd_ctx *kc, struct keyd_conn *c, const uint8_t *body, size_t n,
    uint64_t now_ms, struct vbuf *out)
{
	const struct keyd_req *kr = NULL;
	struct ipc_msg *q = kc->kc_req, *a = kc->kc_ans;
	struct keyd_fail f;
	size_t i;
	int r, locked = 0;

	out->vb_len = 0;
	if ((r = proto_ipc_decode(body, n, 0, q)) != 0) {
		/* A HELLO of another version is told so before the connection goes. */
		if (r == VEIL_E_VERSION && n >= 2 && body[0] == REQ_HELLO && !c->kn_hello) {
			f.kf_handle = 0;
			f.kf_ended = 0;
			(void)snprintf(f.kf_msg, sizeof(f.kf_msg), "keyd speaks IPC version "
			    "%d, this client version %u: use a chatc of keyd's release",
			    IPC_VERSION, (unsigned)body[1]);
			if (answer_error(out, VEIL_E_VERSION, &f) == 0)
				return KEYD_ANSWER_CLOSE;
		}
		return KEYD_CLOSE;
	}
	for (i = 0; i < sizeof(keyd_reqs) / sizeof(keyd_reqs[0]); i++) {
		if (keyd_reqs[i].kr_code == q->im_code) {
			kr = &keyd_reqs[i];
			break;
		}
	}
	if (kr == NULL ||
	    ((kr->kr_flags & KD_NEED_HELLO) != 0 && !c->kn_hello) ||
	    ((kr->kr_flags & KD_ONCE) != 0 && c->kn_hello))
		return KEYD_CLOSE;
	/* *a is all zero here (calloc, then answer_clear); f holds no message. */
	f.kf_handle = 0;
	f.kf_ended = 0;
	f.kf_msg[0] = '\0';
	kc->kc_used = 0;
	/*
	 * The lock before the handler, never inside the engine: a request that
	 * cannot have it leaves no half-done step behind.
	 */
	if ((kr->kr_flags & KD_PINS) != 0) {
		if ((r = keyd_pins_trylock(kc->kc_pins)) == VEIL_E_BUSY &&
		    busy_wait(c, now_ms) == KEYD_WAIT)
			return KEYD_WAIT;
		if (r == 0)
			c->kn_wait_end = 0;	/* the next one that finds it taken waits afresh */
		else if (r == VEIL_E_BUSY)
			busy_fail(kc, q, &f);
		else {
			f.kf_handle = q->im_handle;
			(void)snprintf(f.kf_msg, sizeof(f.kf_msg), "cannot lock %s: %s",
			    kc->kc_pins->kp_path, veil_strerror(r));
		}
		locked = r == 0;
	} else
		r = 0;
	if (r == 0 && (r = kr->kr_handler(kc, c, q, a, &f)) == 0 &&
	    (r = proto_ipc_encode(out, a)) != 0) {
		/* Our own answer broke a rule of the codec: a bug, but say so. */
		f.kf_handle = a->im_handle;
		(void)snprintf(f.kf_msg, sizeof(f.kf_msg), "keyd could not encode its "
		    "answer: %s", veil_strerror(r));
	}
	if (locked)
		keyd_pins_unlock(kc->kc_pins);
	if (r != 0)
		r = answer_error(out, r, &f);
	/* Plaintext and blobs of this answer live only in out now. */
	vc_wipe(kc->kc_scratch, kc->kc_used);
	opened_wipe(kc->kc_opened);
	kc->kc_used = 0;
	answer_clear(a);
	/*
	 * *q only points into body (the caller wipes it) and holds no secret;
	 * proto_ipc_decode zeroes it before the next request.
	 */
	return r == 0 ? 0 : KEYD_CLOSE;
}
