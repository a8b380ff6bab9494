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
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
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
	struct keyd_ctx		*ks_ctx;
	struct keyd_conn	*ks_conn;
	int			 ks_done;
	uint8_t			 ks_trust;	/* enum ipc_trust, set by the verify callback */
	int			 ks_pin_new;	/* no pin yet: pin when the handshake completes */
	/* What the verify callback saw, for the answer or the refusal message. */
	int			 ks_have_peer;
	uint8_t			 ks_nick[NICK_MAX];
	size_t			 ks_nicklen;
	uint8_t			 ks_peer_fpr[FPR_LEN];
	uint8_t			 ks_other_fpr[FPR_LEN];	/* pinned or expected */
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

/* A failed request about a session: code, handle, message. */
struct keyd_fail {
	uint32_t	 kf_handle;
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

/* 0, or VEIL_E_CRYPTO with fpr zeroed (callers that decide on it fail closed). */
static int
fpr_text(const uint8_t pub[static ED25519_PUB_LEN], uint8_t fpr[static FPR_LEN],
    char out[static FPR_TEXT_LEN + 1])
{
	int r;

	if ((r = vc_fingerprint(pub, fpr)) != 0)
		memset(fpr, 0, FPR_LEN);
	proto_fpr_format(fpr, out);
	return r;
}

/*
 * The engine calls this once the peer's identity and nick are decrypted, and
 * before this side reveals anything more. Pins first (a changed identity is a
 * hard refusal even when an --expect would match), then --expect.
 */
static int
sess_verify(void *arg, const uint8_t *nick, size_t nicklen,
    const uint8_t id[static ED25519_PUB_LEN])
{
	struct keyd_sess *s = arg;
	struct keyd_conn *c = s->ks_conn;
	uint8_t pinned[ED25519_PUB_LEN];
	int found, has = 0, match = 0, r;
	char t[FPR_TEXT_LEN + 1];
	size_t i;

	if (nicklen > NICK_MAX)
		return VEIL_E_NICK;
	memcpy(s->ks_nick, nick, nicklen);
	s->ks_nicklen = nicklen;
	/* No fingerprint, no decision: an all-zero one must never match an --expect. */
	if ((r = fpr_text(id, s->ks_peer_fpr, t)) != 0)
		return r;
	s->ks_have_peer = 1;
	if ((r = keyd_pins_lookup(s->ks_ctx->kc_pins, nick, nicklen, pinned, &found)) != 0)
		return r;
	if (found && !vc_equal(pinned, id, ED25519_PUB_LEN)) {
		(void)fpr_text(pinned, s->ks_other_fpr, t);	/* for the message only */
		return VEIL_E_PIN;
	}
	for (i = 0; i < c->kn_nexpect; i++) {
		const struct keyd_expect *e = &c->kn_expect[i];

		if (e->ke_nicklen != nicklen || memcmp(e->ke_nick, nick, nicklen) != 0)
			continue;
		has = 1;
		if (vc_equal(e->ke_fpr, s->ks_peer_fpr, FPR_LEN))
			match = 1;
		else
			memcpy(s->ks_other_fpr, e->ke_fpr, FPR_LEN);
	}
	if (has && !match)
		return VEIL_E_EXPECT;
	s->ks_trust = has ? TRUST_EXPECTED : found ? TRUST_PINNED : TRUST_NEW;
	s->ks_pin_new = !found;
	return 0;
}

/* The refusal / failure message for a session error: never a key. */
static void
sess_fail(struct keyd_fail *f, const struct keyd_sess *s, uint32_t handle, int err,
    const char *what, int ended)
{
	char nick[NICK_MAX + 1], peer[FPR_TEXT_LEN + 1], other[FPR_TEXT_LEN + 1];

	f->kf_handle = handle;
	if (s != NULL && s->ks_have_peer && (err == VEIL_E_PIN || err == VEIL_E_EXPECT)) {
		memcpy(nick, s->ks_nick, s->ks_nicklen);
		nick[s->ks_nicklen] = '\0';
		proto_fpr_format(s->ks_peer_fpr, peer);
		proto_fpr_format(s->ks_other_fpr, other);
		if (err == VEIL_E_PIN)
			(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
			    "identity of %s changed: pinned %s, offered %s; refused (this "
			    "may be an attack). If %s really has a new key, check the new "
			    "fingerprint with them, then run: keyd --forget %s",
			    nick, other, peer, nick, nick);
		else
			(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
			    "identity of %s does not match --expect: expected %s, offered "
			    "%s; refused", nick, other, peer);
		return;
	}
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

	sess_fail(f, s, handle, err, what, dead);
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
sess_new(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
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
	s->ks_ctx = kc;
	s->ks_conn = c;
	s->ks_params.vp_me = &c->kn_id;
	memcpy(s->ks_params.vp_room, q->im_room, ROOM_ID_LEN);
	memcpy(s->ks_params.vp_room_key, q->im_room_key, ROOM_KEY_LEN);
	s->ks_params.vp_me_id = q->im_me;
	s->ks_params.vp_peer_id = q->im_peer;
	s->ks_params.vp_verify = sess_verify;
	s->ks_params.vp_arg = s;
	s->ks_params.vp_now = kc->kc_now;
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
		(void)snprintf(f->kf_msg, sizeof(f->kf_msg),
		    "no session %u on this connection", (unsigned)handle);
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
	memcpy(a->im_fpr, kc->kc_fpr, FPR_LEN);
	return 0;
}

static int
hs_begin(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f, int accept)
{
	struct keyd_sess *s;
	struct vbuf out;
	int r;

	if ((r = sess_new(kc, c, q, &s, f)) != 0)
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

static int
req_hs_next(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	uint8_t old[ED25519_PUB_LEN];
	char t[FPR_TEXT_LEN + 1];
	const uint8_t *peer, *nick;
	struct keyd_sess *s;
	struct vbuf out;
	size_t nicklen;
	int done = 0, r;

	if ((s = sess_lookup(c, q->im_handle, f)) == NULL)
		return VEIL_E_NOSESSION;
	if (s->ks_done) {
		sess_fail(f, NULL, q->im_handle, VEIL_E_STATE, "handshake step", 0);
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
	if ((peer = vs_peer_id(s->ks_vs)) == NULL ||
	    (nick = vs_peer_nick(s->ks_vs, &nicklen)) == NULL || !s->ks_have_peer) {
		r = VEIL_E_STATE;
		goto fail;
	}
	/* First contact is pinned only now that the peer proved its key. */
	if (s->ks_pin_new &&
	    (r = keyd_pins_add(kc->kc_pins, nick, nicklen, peer, old)) != 0) {
		if (r == VEIL_E_PIN)
			(void)fpr_text(old, s->ks_other_fpr, t);	/* for the message only */
		goto fail;
	}
	s->ks_done = 1;
	a->im_done = 1;
	a->im_nick = s->ks_nick;
	a->im_nicklen = s->ks_nicklen;
	memcpy(a->im_fpr, s->ks_peer_fpr, FPR_LEN);
	a->im_trust = s->ks_trust;
	return 0;
fail:
	/* Completed by the engine but refused here: the session must go. */
	sess_fail(f, s, q->im_handle, r, "handshake", 1);
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
		r = vs_seal(s->ks_vs, q->im_text, q->im_textlen, &out, &it->it_flags);
		if (r != 0) {
			it->it_status = (uint8_t)-r;
			it->it_flags = 0;
			if (!vs_alive(s->ks_vs))
				sess_drop(c, s);
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
		    "%s: session %u has not finished its handshake", what, (unsigned)handle);
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
	struct vbuf reply;
	int r;

	if ((r = sess_ready(c, q->im_handle, f, "open", &s)) != 0)
		return r;
	scratch_writer(kc, &reply, E2E_MAX);
	if ((r = vs_open(s->ks_vs, q->im_blob, q->im_bloblen, o, &reply)) != 0)
		return sess_error(c, s, f, q->im_handle, r, "message rejected; open");
	a->im_code = ANS_OPENED;
	a->im_handle = q->im_handle;
	a->im_kind = o->vo_kind;
	a->im_epoch = o->vo_epoch;
	a->im_gap = o->vo_gap;
	if (o->vo_kind == OPEN_TEXT) {
		a->im_text = o->vo_text;
		a->im_textlen = o->vo_textlen;
	}
	a->im_blob = reply.vb_wr;
	a->im_bloblen = reply.vb_len;
	if (o->vo_kind == OPEN_CLOSED)
		sess_drop(c, s);	/* the peer ended it: wipe now */
	return 0;
}

static int
req_rekey(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	struct keyd_sess *s;
	struct vbuf out;
	int r;

	if ((r = sess_ready(c, q->im_handle, f, "rekey", &s)) != 0)
		return r;
	scratch_writer(kc, &out, E2E_MAX);
	if ((r = vs_rekey(s->ks_vs, &out)) != 0)
		return sess_error(c, s, f, q->im_handle, r, "rekey");
	a->im_code = ANS_REKEY;
	a->im_handle = q->im_handle;
	a->im_blob = out.vb_wr;
	a->im_bloblen = out.vb_len;
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
		sess_fail(f, s, q->im_handle, r, "close", 1);
	sess_drop(c, s);
	if (r != 0)
		return r;
	a->im_code = ANS_CLOSE;
	a->im_handle = q->im_handle;
	a->im_blob = out.vb_wr;
	a->im_bloblen = out.vb_len;
	return 0;
}

static int
req_verify(struct keyd_ctx *kc, struct keyd_conn *c, const struct ipc_msg *q,
    struct ipc_msg *a, struct keyd_fail *f)
{
	char *safety = (char *)kc->kc_scratch + kc->kc_used;
	const uint8_t *peer;
	struct keyd_sess *s;
	int r;

	if ((r = sess_ready(c, q->im_handle, f, "verify", &s)) != 0)
		return r;
	kc->kc_used += SAFETY_TEXT_MAX + 1;
	if ((peer = vs_peer_id(s->ks_vs)) == NULL) {
		r = VEIL_E_STATE;
		goto fail;
	}
	if ((r = vc_safety_number(kc->kc_id->id_pub, peer, safety,
	    SAFETY_TEXT_MAX + 1)) != 0)
		goto fail;
	a->im_code = ANS_VERIFY;
	a->im_nick = s->ks_nick;
	a->im_nicklen = s->ks_nicklen;
	memcpy(a->im_fpr, s->ks_peer_fpr, FPR_LEN);
	memcpy(a->im_fpr2, kc->kc_fpr, FPR_LEN);
	a->im_safety = (const uint8_t *)safety;
	a->im_safetylen = strlen(safety);
	return 0;
fail:
	f->kf_handle = q->im_handle;
	(void)snprintf(f->kf_msg, sizeof(f->kf_msg), "verify failed: %s", veil_strerror(r));
	return r;
}

static const struct keyd_req keyd_reqs[] = {
	{ REQ_HELLO,	 KD_ONCE,	req_hello },
	{ REQ_HS_START,	 KD_NEED_HELLO,	req_hs_start },
	{ REQ_HS_ACCEPT, KD_NEED_HELLO,	req_hs_accept },
	{ REQ_HS_NEXT,	 KD_NEED_HELLO | KD_PINS, req_hs_next },
	{ REQ_SEAL,	 KD_NEED_HELLO,	req_seal },
	{ REQ_OPEN,	 KD_NEED_HELLO,	req_open },
	{ REQ_REKEY,	 KD_NEED_HELLO,	req_rekey },
	{ REQ_CLOSE,	 KD_NEED_HELLO,	req_close },
	/*
	 * No REQ_FORGET: dropping a pin is for `keyd --forget`, run on purpose
	 * (SECURITY.md). Served here, it would let a compromised chatc, which
	 * cannot open known_peers itself, erase a pin for good and have the next
	 * man in the middle pinned as "new".
	 */
	{ REQ_VERIFY,	 KD_NEED_HELLO,	req_verify },
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
	    "process%s: after %d s of waiting this handshake step was not taken and "
	    "session %u is unchanged; send it again, and if this goes on, find what "
	    "holds the file", kc->kc_pins->kp_path, who, KEYD_LOCK_WAIT_MS / 1000,
	    (unsigned)q->im_handle);
	fprintf(stderr, "keyd: %s is locked by another process%s; a handshake step "
	    "waited %d s and was refused (VEIL_E_BUSY)\n", kc->kc_pins->kp_path, who,
	    KEYD_LOCK_WAIT_MS / 1000);
}

/*
 * Wipes what one OPEN left in *o: the fields before the text and the text as
 * far as vo_textlen, which is all vs_open writes (it copies the text and sets
 * vo_textlen together). *o is all zero again, as keyd_ctx_init left it.
 */
static void
opened_wipe(struct vs_opened *o)
{
	size_t n = o->vo_textlen < MSG_MAX ? o->vo_textlen : MSG_MAX;

	vc_wipe(o, offsetof(struct vs_opened, vo_text) + n);
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
	if (proto_ipc_decode(body, n, 0, q) != 0)
		return KEYD_CLOSE;
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
