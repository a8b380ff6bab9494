/* SPDX-License-Identifier: ISC */
/*
 * A session with one member, as keyd runs it (PROTOCOL.md 2): each step is
 * a request now and an answer later. The request records in its struct kx
 * which member (id and incarnation) and which handle it was about; the
 * answer is applied only if that still holds (a member may have left, a
 * handshake timed out, a restart replaced the session meanwhile), and a
 * session keyd opened for a request whose member is gone is closed again.
 * Nothing is ever sent to a member before keyd reports its session secure,
 * and nothing at all to a member whose identity keyd refused.
 *
 * The handshake has three messages (PROTOCOL.md 2.2): the initiator is done
 * when keyd has read HS_RESP (its answer carries HS_FIN, sent whatever the
 * trust), the responder when keyd has read HS_FIN. keyd decides the trust
 * only once the peer has proven its key, and says it in the same answer:
 * SECURE with new / pinned / expected / verified, or REFUSED (keyd has
 * already wiped the session) with the reason and both fingerprints, and
 * flags that are each a plain line for the person. Either side may start a
 * handshake again (a failure, a session that ended on an error, a refused
 * peer after keyd --trust); when two HS_INITs cross, the member with the
 * lower member id stays initiator (PROTOCOL.md 2.1).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

int
sess_barrier(int kind)
{
	return kind == KX_HS_START || kind == KX_HS_ACCEPT || kind == KX_HS_RESTART ||
	    kind == KX_HS_NEXT || kind == KX_HS_RESTART_NEXT;
}

void
sess_kx(struct kx *x, const struct room *r, const struct peer *p, int kind)
{
	memset(x, 0, sizeof(*x));
	x->kx_kind = (uint8_t)kind;
	x->kx_room = r->rm_serial;
	if (p != NULL) {
		x->kx_peer = p->pe_id;
		x->kx_gen = p->pe_gen;
	}
}

int
sess_ask(struct room *r, const struct ipc_msg *req, struct kx *x)
{
	int rc;

	if ((rc = keydc_push(r->rm_cl->cl_k, req, x, r->rm_cl->cl_now)) != 0)
		return rc;
	r->rm_npending++;
	if (sess_barrier(x->kx_kind))
		r->rm_nbarrier++;
	return 0;
}

/* A request whose room key was copied in: the copy is wiped once encoded. */
static int
sess_ask_hs(struct room *r, struct ipc_msg *req, struct kx *x)
{
	int rc = sess_ask(r, req, x);

	OPENSSL_cleanse(req->im_room_key, sizeof(req->im_room_key));
	return rc;
}

/* HS_START / HS_ACCEPT for p: the room's part of the request. */
static struct ipc_msg *
sess_hs_req(struct room *r, const struct peer *p, uint8_t code, uint32_t replaces)
{
	struct ipc_msg *q = client_req(r->rm_cl, code);

	memcpy(q->im_room, r->rm_id, ROOM_ID_LEN);
	memcpy(q->im_room_key, r->rm_key, ROOM_KEY_LEN);
	q->im_me = r->rm_me;
	q->im_peer = p->pe_id;
	q->im_replaces = replaces;
	return q;
}

/* A keyd session nobody will hear about (no CLOSE blob sent). */
static void
sess_drop_handle(struct room *r, uint32_t handle)
{
	struct ipc_msg *q;
	struct kx x;

	if (handle == 0)
		return;
	q = client_req(r->rm_cl, REQ_CLOSE);
	q->im_handle = handle;
	sess_kx(&x, r, NULL, KX_CLOSE);
	if (sess_ask(r, q, &x) != 0)
		return;		/* not queued (keyd's queue full): keyd wipes it when we go */
}

int
sess_send(struct room *r, const struct peer *p, const uint8_t *blob, size_t n)
{
	int rc;

	if (n == 0 || p->pe_state == PS_REFUSED || p->pe_state == PS_IGNORED)
		return 0;
	if ((rc = rl_send(&r->rm_rl, FT_DATA, p->pe_id, blob, n)) != 0)
		emit(r, EV_WARN, "not sent to %s: %s", p->pe_name,
		    rc == VEIL_E_LIMIT ? "the relay is not keeping up" :
		    rc == VEIL_E_STATE ? "no relay connection" : veil_strerror(rc));
	return rc;
}

void
sess_close(struct room *r, struct peer *p, int send_close)
{
	struct ipc_msg *q;
	struct kx x;

	sess_drop_handle(r, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	if (p->pe_handle == 0)
		return;
	if (!send_close || p->pe_state != PS_SECURE) {
		sess_drop_handle(r, p->pe_handle);
		p->pe_handle = 0;
		return;
	}
	q = client_req(r->rm_cl, REQ_CLOSE);
	q->im_handle = p->pe_handle;
	sess_kx(&x, r, p, KX_CLOSE_SEND);
	if (sess_ask(r, q, &x) != 0)
		emit(r, EV_WARN, "could not tell %s the session ended", p->pe_name);
	p->pe_handle = 0;
}

void
sess_gone(struct room *r, struct peer *p)
{
	sess_close(r, p, 0);
	if (p->pe_had_nick)
		emit_left(r, p);
	peers_del(p);
	emit_status(r);
}

/*
 * One more message from p that could not even be asked about (malformed,
 * or not a step its state allows); PEER_BAD_MAX in a row and p is ignored
 * until it rejoins (or our /rekey starts over with it).
 */
static void
sess_bad(struct room *r, struct peer *p)
{
	if (++p->pe_bad < PEER_BAD_MAX || p->pe_state == PS_IGNORED)
		return;
	sess_close(r, p, 0);
	p->pe_state = PS_IGNORED;
	emit(r, EV_WARN, "ignoring %s from now on: %u bad messages in a row; its session "
	    "(if any) is ended", p->pe_name, p->pe_bad);
	emit_status(r);
}

void
sess_reject(struct room *r, struct peer *p, const char *why)
{
	emit(r, EV_WARN, "rejected message from %s: %s", p->pe_name, why);
	sess_bad(r, p);
}

/* Our request about p could not be queued: p's handshake is over. */
static void
sess_ask_failed(struct room *r, struct peer *p, int rc)
{
	emit(r, EV_WARN, "handshake with %s failed: cannot ask keyd (%s)", p->pe_name,
	    veil_strerror(rc));
	sess_close(r, p, 0);
	p->pe_state = PS_DEAD;
	emit_status(r);
}

/*
 * A failure of p's session or handshake that a new handshake may mend
 * (said: what happened, for the WARN): one is started here at most
 * HS_AUTO_RESTARTS times in a row (a success starts the count again), so a
 * member that never completes costs a bounded number of tries; after that
 * /rekey starts one.
 */
static void
sess_retry(struct room *r, struct peer *p, const char *said)
{
	if (r->rm_link == LS_JOINED && p->pe_restarts < HS_AUTO_RESTARTS) {
		p->pe_restarts++;
		emit(r, EV_WARN, "%s; starting a new handshake", said);
		sess_hs_start(r, p, r->rm_cl->cl_now);
	} else {
		sess_close(r, p, 0);
		p->pe_state = PS_DEAD;
		emit(r, EV_WARN, "%s; /rekey starts a new handshake", said);
	}
	emit_status(r);
}

/*
 * keyd refused a handshake step (not its trust: a broken or unproven
 * message, PROTOCOL.md 2.5): this handshake is over. A failed proof is no
 * claim about anyone: a warning naming the member, no alarm.
 */
static void
sess_hs_failed(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)], said[ESC_MAX(IPC_ERRMSG_MAX) + PEER_NAME_MAX + 32];

	keyd_reason(a, why, sizeof(why));
	/* A tampered or replayed step must not leave a half-open session to finish later. */
	if (a->im_ended)
		p->pe_handle = 0;	/* keyd wiped it */
	sess_close(r, p, 0);
	p->pe_state = PS_DEAD;
	snprintf(said, sizeof(said), "handshake with %s failed: %s", p->pe_name, why);
	sess_retry(r, p, said);
}

void
sess_hs_start(struct room *r, struct peer *p, int64_t now)
{
	struct ipc_msg *q;
	struct kx x;
	int rc;

	sess_close(r, p, 0);
	q = sess_hs_req(r, p, REQ_HS_START, 0);
	p->pe_state = PS_HS;
	p->pe_handle = 0;
	p->pe_initiator = 1;
	p->pe_hs_at = now;
	sess_kx(&x, r, p, KX_HS_START);
	if ((rc = sess_ask_hs(r, q, &x)) != 0)
		sess_ask_failed(r, p, rc);
}

/*
 * keyd ended p's session on an error (PROTOCOL.md 2.1, recovery): it is
 * wiped there; nothing more is sent on it, and a new handshake begins.
 */
void
sess_ended(struct room *r, struct peer *p, const char *why)
{
	char said[ESC_MAX(IPC_ERRMSG_MAX) + PEER_NAME_MAX + 32];

	p->pe_handle = 0;
	snprintf(said, sizeof(said), "the session with %s ended (%s)", p->pe_name, why);
	sess_retry(r, p, said);
}

/* ---- what keyd decided about a proven identity ---- */

/* The nick of a peer keyd refused: its name from now on, but no LEFT for it later. */
static void
sess_name_refused(struct peer *p, const struct ipc_msg *a)
{
	int had = p->pe_had_nick;

	peers_set_nick(p, a->im_nick, a->im_nicklen);
	p->pe_had_nick = had;
}

/*
 * A refusal (trust REFUSED: keyd wiped the session, nothing is sent to p):
 * said once per key and reason, plainly, with both fingerprints and what to
 * do. Never "forget" first: the refused key may be the impostor.
 */
static void
sess_refused(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	char fp[FPR_TEXT_LEN + 1], other[FPR_TEXT_LEN + 1], mine[FPR_TEXT_LEN + 1];
	int said = p->pe_ref_reason == a->im_reason &&
	    CRYPTO_memcmp(p->pe_ref_fpr, a->im_fpr, FPR_LEN) == 0;

	p->pe_handle = 0;
	p->pe_state = PS_REFUSED;
	sess_name_refused(p, a);
	memcpy(p->pe_fpr, a->im_fpr, FPR_LEN);
	memcpy(p->pe_ref_fpr, a->im_fpr, FPR_LEN);
	p->pe_ref_reason = a->im_reason;
	p->pe_trust = TRUST_REFUSED;
	emit_status(r);
	if (said)
		return;
	proto_fpr_format(a->im_fpr, fp);
	proto_fpr_format(a->im_fpr2, other);
	proto_fpr_format(r->rm_cl->cl_myfpr, mine);
	switch (a->im_reason) {
	case REFUSE_EXPECT:
		emit(r, EV_ALERT, "refused %s: its key (fingerprint %s) is not the one --expect "
		    "names (%s); nothing is sent to it. Check the fingerprint you were given; "
		    "if %s really has this key, compare fingerprints out of band, then start "
		    "chatc with --expect %s=%s", p->pe_name, fp, other, p->pe_name, p->pe_name,
		    fp);
		break;
	case REFUSE_OWN_NAME:
		emit(r, EV_ALERT, "refused %s: another key (fingerprint %s) uses your own "
		    "nickname (yours is %s); nothing is sent to it. Someone else calls itself "
		    "by your name here", p->pe_name, fp, mine);
		break;
	default:	/* REFUSE_PIN */
		emit(r, EV_ALERT, "refused %s: the key that answers as %s (fingerprint %s) is "
		    "not the one you know as %s (fingerprint %s); nothing is sent to it. "
		    "Someone may be impersonating %s. If %s really has a new key, compare "
		    "fingerprints out of band, then: keyd --trust %s=%s", p->pe_name,
		    p->pe_name, fp, p->pe_name, other, p->pe_name, p->pe_name, p->pe_name, fp);
		break;
	}
}

/* The flags beside an accepted identity, each a plain line (PROTOCOL.md 4). */
static void
sess_trust_notes(struct room *r, const struct peer *p, const struct ipc_msg *a)
{
	char fp[FPR_TEXT_LEN + 1], other[FPR_TEXT_LEN + 1], label[ESC_MAX(NICK_MAX)];

	proto_fpr_format(a->im_fpr, fp);
	proto_fpr_format(a->im_fpr2, other);
	esc_text(a->im_label, a->im_labellen, label, sizeof(label));
	if (a->im_flags & TF_SELF)
		emit(r, EV_INFO, "%s is your own key (another chatc of yours)", p->pe_name);
	if (a->im_flags & TF_KNOWN_AS)
		emit(r, EV_WARN, "%s (fingerprint %s) is the key you know as %s", p->pe_name,
		    fp, label);
	if (a->im_flags & TF_CONTESTED)
		emit(r, EV_WARN, "another new key (fingerprint %s) also calls itself %s in this "
		    "room; neither is remembered under that name: compare fingerprints out of "
		    "band before you trust either", other, p->pe_name);
	if (a->im_flags & TF_NAME_ELSEWHERE)
		emit(r, EV_INFO, "%s here (fingerprint %s) is not the %s you know from another "
		    "room (fingerprint %s); nicknames belong to their room", p->pe_name, fp,
		    p->pe_name, other);
	if (a->im_flags & TF_NOT_PINNED)
		emit(r, EV_INFO, "%s is not remembered: keyd met too many new keys lately; it "
		    "counts as new again next time", p->pe_name);
}

/* p's session is secure now with what a says (ANS_HS_NEXT, done). */
static void
sess_secure(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	peers_set_nick(p, a->im_nick, a->im_nicklen);
	memcpy(p->pe_fpr, a->im_fpr, FPR_LEN);
	p->pe_trust = a->im_trust;
	p->pe_flags = a->im_flags;
	p->pe_state = PS_SECURE;
	p->pe_restarts = 0;
	p->pe_bad = 0;
	p->pe_ref_reason = 0;
	memset(p->pe_ref_fpr, 0, FPR_LEN);
	memcpy(p->pe_idk, a->im_id, sizeof(p->pe_idk));
	emit_secure(r, p);
	sess_trust_notes(r, p, a);
	tx_secure(r, p, r->rm_cl->cl_now);
}

/*
 * The trust of a secure session asked again (VERIFY): keyd's known_peers
 * may have changed (keyd --trust, --forget). A first contact that is now
 * pinned is no change worth a line; anything else is a new SECURE line. A
 * refusal means keyd wiped the session: a new handshake says why.
 */
static void
sess_trust_now(struct room *r, struct peer *p, uint8_t trust)
{
	if (trust == p->pe_trust || (p->pe_trust == TRUST_NEW && trust == TRUST_PINNED))
		return;
	if (trust == TRUST_REFUSED) {
		p->pe_handle = 0;
		emit(r, EV_WARN, "keyd no longer accepts the key of %s (known_peers changed); "
		    "nothing more is sent to it, a new handshake says why", p->pe_name);
		sess_hs_start(r, p, r->rm_cl->cl_now);
		emit_status(r);
		return;
	}
	p->pe_trust = trust;
	emit_secure(r, p);
}

void
sess_pins_changed(struct room *r)
{
	size_t i;

	if (r->rm_link != LS_JOINED)
		return;
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];
		struct ipc_msg *q;
		struct kx x;

		if (p->pe_state == PS_SECURE) {
			q = client_req(r->rm_cl, REQ_VERIFY);
			q->im_handle = p->pe_handle;
			sess_kx(&x, r, p, KX_TRUST);
			if (sess_ask(r, q, &x) != 0)
				continue;	/* keyd's queue is full: the next change asks again */
		} else if (p->pe_state == PS_REFUSED) {
			emit(r, EV_INFO, "keyd's known_peers changed: checking %s again",
			    p->pe_name);
			p->pe_bad = 0;
			sess_hs_start(r, p, r->rm_cl->cl_now);
			emit_status(r);
		}
	}
}

/* ---- messages from members ---- */

/*
 * HS_INIT from a peer whose session is secure here: it lost its side (a
 * handshake that failed only at its end, a lost HS_FIN, a session keyd
 * ended there) and starts again. Answered in a second keyd session that
 * names the old one (replaces); the secure one stays in use until the new
 * one completes, and keyd accepts the new one only with the same identity
 * and nickname, so an HS_INIT replayed by the relay, or someone else under
 * this member id, changes nothing.
 */
static void
sess_on_restart(struct room *r, struct peer *p, const uint8_t *blob, size_t n)
{
	struct ipc_msg *q;
	struct kx x;
	int rc;

	sess_drop_handle(r, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	q = sess_hs_req(r, p, REQ_HS_ACCEPT, p->pe_handle);
	q->im_blob = blob;
	q->im_bloblen = n;
	sess_kx(&x, r, p, KX_HS_RESTART);
	if ((rc = sess_ask_hs(r, q, &x)) != 0)
		emit(r, EV_WARN, "new handshake from %s refused: cannot ask keyd (%s); the "
		    "session stays as it was", p->pe_name, veil_strerror(rc));
}

static void
sess_on_hs_init(struct room *r, struct peer *p, const uint8_t *blob, size_t n,
    int64_t now)
{
	struct ipc_msg *q;
	struct kx x;
	int rc;

	switch (p->pe_state) {
	case PS_SECURE:
		sess_on_restart(r, p, blob, n);
		return;
	case PS_HS:
		if (p->pe_initiator) {
			/*
			 * Our HS_INIT and theirs crossed: the lower member id
			 * stays initiator (PROTOCOL.md 2.1). If that is us,
			 * theirs is dropped (they drop theirs and answer ours);
			 * else ours goes.
			 */
			if (r->rm_me < p->pe_id)
				return;
		} else {
			/*
			 * They started again before finishing the one we answer
			 * (it failed or timed out at their end): the new one
			 * counts, but as many in a row as a flood of bad
			 * messages gets the member ignored.
			 */
			sess_bad(r, p);
			if (p->pe_state == PS_IGNORED)
				return;
		}
		sess_close(r, p, 0);
		break;
	case PS_WAIT:
	case PS_DEAD:
		break;
	default:
		return;		/* refused, ignored: nothing is answered */
	}
	sess_drop_handle(r, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	q = sess_hs_req(r, p, REQ_HS_ACCEPT, 0);
	q->im_blob = blob;
	q->im_bloblen = n;
	/* PS_HS from now: a second HS_INIT before the answer is not this step's. */
	p->pe_state = PS_HS;
	p->pe_handle = 0;
	p->pe_initiator = 0;
	p->pe_hs_at = now;
	sess_kx(&x, r, p, KX_HS_ACCEPT);
	if ((rc = sess_ask_hs(r, q, &x)) != 0)
		sess_ask_failed(r, p, rc);
}

static void
sess_on_hs_next(struct room *r, struct peer *p, const uint8_t *blob, size_t n)
{
	struct ipc_msg *q;
	struct kx x;
	int rc, restart = p->pe_state == PS_SECURE && p->pe_hs_handle != 0;

	if (!restart && (p->pe_state != PS_HS || p->pe_handle == 0)) {
		emit(r, EV_WARN, "unexpected handshake message from %s; ignored", p->pe_name);
		sess_bad(r, p);
		return;
	}
	q = client_req(r->rm_cl, REQ_HS_NEXT);
	q->im_handle = restart ? p->pe_hs_handle : p->pe_handle;
	q->im_blob = blob;
	q->im_bloblen = n;
	sess_kx(&x, r, p, restart ? KX_HS_RESTART_NEXT : KX_HS_NEXT);
	if ((rc = sess_ask(r, q, &x)) == 0)
		return;
	if (restart)
		emit(r, EV_WARN, "new handshake from %s failed: cannot ask keyd (%s); the "
		    "session stays as it was", p->pe_name, veil_strerror(rc));
	else
		sess_ask_failed(r, p, rc);
}

static void
sess_on_data(struct room *r, struct peer *p, const uint8_t *blob, size_t n)
{
	struct ipc_msg *q;
	struct kx x;
	int rc;

	if (p->pe_state != PS_SECURE) {
		/*
		 * A member that thinks it has a session we do not hold (our
		 * handshake failed or timed out, its HS_FIN was lost): nothing
		 * is answered; a handshake timeout and restart mend it.
		 */
		sess_reject(r, p, "no secure session");
		return;
	}
	q = client_req(r->rm_cl, REQ_OPEN);
	q->im_handle = p->pe_handle;
	q->im_blob = blob;
	q->im_bloblen = n;
	sess_kx(&x, r, p, KX_OPEN);
	if ((rc = sess_ask(r, q, &x)) != 0)
		emit(r, EV_WARN, "rejected message from %s: cannot ask keyd (%s)", p->pe_name,
		    veil_strerror(rc));
}

void
sess_on_message(struct room *r, struct peer *p, const struct e2e_msg *m,
    const uint8_t *blob, size_t n, int64_t now)
{
	switch (m->em_type) {
	case E2E_HS_INIT:
		sess_on_hs_init(r, p, blob, n, now);
		break;
	case E2E_HS_RESP:
	case E2E_HS_FIN:
		sess_on_hs_next(r, p, blob, n);
		break;
	case E2E_DATA:
		sess_on_data(r, p, blob, n);
		break;
	default:
		sess_reject(r, p, veil_strerror(VEIL_E_TYPE));
		break;
	}
}

void
sess_timeouts(struct room *r, int64_t now)
{
	size_t i;

	/*
	 * A handshake whose other side failed or went quiet says nothing more
	 * (a responder whose HS_FIN was lost, or refused by keyd as unproven,
	 * waits for nothing): after HS_TIMEOUT_MS it has failed here too, and
	 * a new one is started (either side may).
	 */
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		char said[PEER_NAME_MAX + 32];

		if (p->pe_state != PS_HS || now - p->pe_hs_at < HS_TIMEOUT_MS)
			continue;
		snprintf(said, sizeof(said), "handshake with %s timed out", p->pe_name);
		sess_retry(r, p, said);
	}
}

int
sess_seal(struct room *r, struct peer *p, uint8_t kind, const uint8_t *body, size_t len)
{
	struct ipc_msg *q = client_req(r->rm_cl, REQ_SEAL);
	struct kx x;
	int rc;

	q->im_count = 1;
	q->im_handles[0] = p->pe_handle;
	q->im_kind = kind;
	q->im_text = body;
	q->im_textlen = len;
	sess_kx(&x, r, p, KX_CTRL);
	x.kx_handle = p->pe_handle;
	rc = sess_ask(r, q, &x);
	q->im_text = NULL;
	return rc;
}

void
sess_verify(struct room *r, struct peer *p)
{
	struct ipc_msg *q = client_req(r->rm_cl, REQ_VERIFY);
	struct kx x;
	int rc;

	q->im_handle = p->pe_handle;
	sess_kx(&x, r, p, KX_VERIFY);
	if ((rc = sess_ask(r, q, &x)) != 0)
		emit(r, EV_WARN, "verify %s failed: cannot ask keyd (%s)", p->pe_name,
		    veil_strerror(rc));
}

/* ---- answers ---- */

/* A new session keyd made for a request that no longer applies: closed again. */
static void
sess_stale(struct room *r, const struct ipc_msg *a)
{
	if (a->im_code == ANS_HS)
		sess_drop_handle(r, a->im_handle);
}

/* An error answer about p's current session: 1 when it ended it (handled). */
static int
sess_error_ended(struct room *r, struct peer *p, uint32_t handle, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];

	if (a->im_code != IPC_ANS_ERROR || !a->im_ended || p->pe_state != PS_SECURE ||
	    p->pe_handle != handle)
		return 0;
	sess_ended(r, p, keyd_reason(a, why, sizeof(why)));
	return 1;
}

/* Our HS_INIT (HS_START) or HS_RESP (HS_ACCEPT), or their refusal. */
static void
sess_ans_hs(struct room *r, struct peer *p, const struct ipc_msg *a, int64_t now)
{
	if (a->im_code == IPC_ANS_ERROR) {
		sess_hs_failed(r, p, a);
		return;
	}
	p->pe_handle = a->im_handle;
	p->pe_hs_at = now;
	(void)sess_send(r, p, a->im_blob, a->im_bloblen);
	emit_status(r);
}

static void
sess_ans_hs_next(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	if (a->im_code == IPC_ANS_ERROR && -(int)a->im_err == VEIL_E_STATE) {
		/*
		 * Not this step's message (our own reflected back, a replay, a
		 * late one): keyd refused it without touching the handshake
		 * (PROTOCOL.md 2.5), so the real one can still finish it;
		 * HS_TIMEOUT_MS bounds the wait.
		 */
		emit(r, EV_WARN, "unexpected handshake message from %s; ignored", p->pe_name);
		sess_bad(r, p);
		return;
	}
	if (a->im_code == IPC_ANS_ERROR) {
		sess_hs_failed(r, p, a);
		return;
	}
	/* HS_FIN goes out whatever keyd decided: the wire never shows a refusal. */
	(void)sess_send(r, p, a->im_blob, a->im_bloblen);
	if (!a->im_done)
		return;
	if (a->im_trust == TRUST_REFUSED)
		sess_refused(r, p, a);
	else
		sess_secure(r, p, a);
}

static void
sess_ans_restart(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];

	if (a->im_code == IPC_ANS_ERROR) {
		emit(r, EV_WARN, "new handshake from %s refused: %s; the session stays as it "
		    "was", p->pe_name, keyd_reason(a, why, sizeof(why)));
		sess_bad(r, p);
		return;
	}
	p->pe_hs_handle = a->im_handle;
	(void)sess_send(r, p, a->im_blob, a->im_bloblen);
}

/* The HS_FIN of a restart: the new session replaces the old one. */
static void
sess_ans_restart_next(struct room *r, struct peer *p, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)], fp[FPR_TEXT_LEN + 1], old[FPR_TEXT_LEN + 1];
	uint32_t was;

	if (a->im_code == IPC_ANS_ERROR) {
		keyd_reason(a, why, sizeof(why));
		if (!a->im_ended)
			sess_drop_handle(r, p->pe_hs_handle);
		p->pe_hs_handle = 0;
		emit(r, EV_WARN, "new handshake from %s failed: %s; the session stays as it was",
		    p->pe_name, why);
		sess_bad(r, p);
		return;
	}
	if (!a->im_done)
		return;
	if (a->im_trust == TRUST_REFUSED) {
		p->pe_hs_handle = 0;	/* keyd wiped it */
		if (a->im_reason == REFUSE_SWAP) {
			/*
			 * A restart recovers the same peer; anyone else under this
			 * member id (the relay playing a new member) does not get
			 * to take over the session, nor a pin.
			 */
			proto_fpr_format(a->im_fpr, fp);
			proto_fpr_format(a->im_fpr2, old);
			emit(r, EV_WARN, "new handshake from %s proved another identity "
			    "(fingerprint %s, not %s); refused, the session stays as it was",
			    p->pe_name, fp, old);
			sess_bad(r, p);
			return;
		}
		/* The same peer, refused now (known_peers changed): the old session goes too. */
		sess_close(r, p, 0);
		sess_refused(r, p, a);
		return;
	}
	if (a->im_nicklen != p->pe_nicklen ||
	    CRYPTO_memcmp(a->im_nick, p->pe_nick, p->pe_nicklen) != 0 ||
	    CRYPTO_memcmp(a->im_fpr, p->pe_fpr, FPR_LEN) != 0) {
		/* keyd compares them already (REFUSE_SWAP); this is the second look. */
		sess_drop_handle(r, p->pe_hs_handle);
		p->pe_hs_handle = 0;
		emit(r, EV_WARN, "new handshake from %s came with another identity; refused, "
		    "the session stays as it was", p->pe_name);
		return;
	}
	was = p->pe_handle;
	p->pe_handle = p->pe_hs_handle;
	p->pe_hs_handle = 0;
	/* The answer is used up: the old session can go now, silently. */
	sess_drop_handle(r, was);
	sess_secure(r, p, a);
}

/* The answer to an OPEN made on handle (p's session then). */
static void
sess_ans_open(struct room *r, struct peer *p, uint32_t handle, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	struct inner_msg im;
	int current = p->pe_handle == handle && p->pe_state == PS_SECURE;

	if (a->im_code == IPC_ANS_ERROR) {
		if (sess_error_ended(r, p, handle, a))
			return;
		/*
		 * Not counted as bad: a well-formed message keyd cannot open
		 * (tampered, replayed, of a past epoch) may be the relay's doing
		 * or a late duplicate, and the session lives on.
		 */
		emit(r, EV_WARN, "rejected message from %s: %s", p->pe_name,
		    keyd_reason(a, why, sizeof(why)));
		return;
	}
	p->pe_bad = 0;
	if (a->im_gap > 0)
		emit(r, EV_WARN, "%u message(s) from %s missing (dropped by the relay?)",
		    (unsigned int)a->im_gap, p->pe_name);
	/* keyd checked the body against its kind exactly. */
	if (proto_inner_parse(a->im_kind, a->im_text, a->im_textlen, &im) != 0)
		return;
	switch (a->im_kind) {
	case OPEN_TEXT:
	case OPEN_ACK:
	case OPEN_PING:
	case OPEN_PONG:
	case OPEN_VIEW:
		/*
		 * Their meaning is deliver.c's (PROTOCOL.md 2.8): texts shown
		 * once and in order, acknowledgements, PING answered with the
		 * ACKs due and a PONG (sealing it takes our ratchet step), VIEW.
		 * A late message of a session just replaced is still the same
		 * identity's.
		 */
		if (p->pe_state != PS_SECURE)
			break;
		if (a->im_kind == OPEN_PONG && p->pe_rekey_token != 0 &&
		    im.in_seq == p->pe_rekey_token) {
			/* Our /rekey's PING came back: a round trip of the ratchet (2.1). */
			p->pe_rekey_token = 0;
			emit(r, EV_NOTE, "rekeyed with %s", p->pe_name);
			break;
		}
		if (dlv_open(&r->rm_dlv, p->pe_idk, a->im_kind, a->im_text, a->im_textlen,
		    a->im_gap, r->rm_cl->cl_now) == VEIL_E_INVALID)
			emit(r, EV_WARN, "message from %s breaks the delivery rules "
			    "(PROTOCOL.md 2.8); ignored", p->pe_name);
		break;
	case OPEN_CLOSED:
		/* keyd wiped the session; the relay's LEFT follows. */
		if (!current)
			break;
		p->pe_handle = 0;
		p->pe_state = PS_DEAD;
		if (p->pe_had_nick)
			emit_left(r, p);
		p->pe_had_nick = 0;
		emit_status(r);
		break;
	}
}

/* An inner message of ours, sealed for p: it goes to p. */
static void
sess_ans_ctrl(struct room *r, struct peer *p, uint32_t handle, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	const struct ipc_item *it = &a->im_items[0];

	if (a->im_code == ANS_SEALED && a->im_count == 1 && it->it_handle == handle) {
		if (it->it_status == 0) {
			(void)sess_send(r, p, it->it_blob, it->it_bloblen);
			return;
		}
		if (it->it_flags & SEAL_ENDED)
			sess_ended(r, p, veil_strerror(-(int)it->it_status));
		else if (p->pe_rekey_token != 0)
			emit(r, EV_WARN, "rekey with %s failed: %s", p->pe_name,
			    veil_strerror(-(int)it->it_status));
		return;
	}
	if (sess_error_ended(r, p, handle, a))
		return;
	/* A text not sealed stays outstanding: deliver.c sends it again. */
	if (a->im_code == IPC_ANS_ERROR)
		emit(r, EV_WARN, "keyd did not seal a message for %s: %s", p->pe_name,
		    keyd_reason(a, why, sizeof(why)));
}

static void
sess_ans_verify(struct room *r, struct peer *p, uint32_t handle, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)], safety[ESC_MAX(SAFETY_TEXT_MAX)];
	char fp[FPR_TEXT_LEN + 1], fm[FPR_TEXT_LEN + 1];

	if (a->im_code == IPC_ANS_ERROR) {
		if (!sess_error_ended(r, p, handle, a))
			emit(r, EV_WARN, "verify %s failed: %s", p->pe_name,
			    keyd_reason(a, why, sizeof(why)));
		return;
	}
	esc_text(a->im_safety, a->im_safetylen, safety, sizeof(safety));
	proto_fpr_format(a->im_fpr, fp);
	proto_fpr_format(a->im_fpr2, fm);
	emit(r, EV_INFO, "safety number with %s: %s", p->pe_name, safety);
	emit(r, EV_INFO, "  %s's fingerprint: %s (%s)", p->pe_name, fp,
	    chatc_trust_name(a->im_trust));
	emit(r, EV_INFO, "  your fingerprint: %s", fm);
	emit(r, EV_INFO, "  read the safety number aloud with %s (in person, or on a call "
	    "you trust): the same on both sides, or someone is in the middle. Then: "
	    "keyd --trust %s=%s", p->pe_name, p->pe_name, fp);
	if (p->pe_state == PS_SECURE && p->pe_handle == handle)
		sess_trust_now(r, p, a->im_trust);
}

/* VERIFY asked because known_peers changed: only the trust matters. */
static void
sess_ans_trust(struct room *r, struct peer *p, uint32_t handle, const struct ipc_msg *a)
{
	if (p->pe_state != PS_SECURE || p->pe_handle != handle)
		return;
	if (a->im_code == IPC_ANS_ERROR) {
		(void)sess_error_ended(r, p, handle, a);
		return;
	}
	sess_trust_now(r, p, a->im_trust);
}

/* The CLOSE blob of a session we end goes to its member (even one that left the table). */
static void
sess_ans_close_send(struct room *r, const struct kx *x, const struct ipc_msg *a)
{
	struct peer *p;
	char name[PEER_NAME_MAX];

	if (a->im_code != ANS_CLOSE || a->im_bloblen == 0 || !r->rm_rl.rl_open)
		return;
	if (rl_send(&r->rm_rl, FT_DATA, x->kx_peer, a->im_blob, a->im_bloblen) == 0)
		return;
	if ((p = peers_find_gen(&r->rm_peers, x->kx_peer, x->kx_gen)) != NULL)
		snprintf(name, sizeof(name), "%s", p->pe_name);
	else
		snprintf(name, sizeof(name), "member %u", (unsigned int)x->kx_peer);
	emit(r, EV_WARN, "could not tell %s the session ended", name);
}

void
sess_answer(struct room *r, const struct kx *x, const struct ipc_msg *a, int64_t now)
{
	struct peer *p = peers_find_gen(&r->rm_peers, x->kx_peer, x->kx_gen);

	switch (x->kx_kind) {
	case KX_HS_START:
		if (p == NULL || p->pe_state != PS_HS || p->pe_handle != 0 || !p->pe_initiator)
			sess_stale(r, a);
		else
			sess_ans_hs(r, p, a, now);
		break;
	case KX_HS_ACCEPT:
		if (p == NULL || p->pe_state != PS_HS || p->pe_handle != 0 || p->pe_initiator)
			sess_stale(r, a);
		else
			sess_ans_hs(r, p, a, now);
		break;
	case KX_HS_RESTART:
		if (p == NULL || p->pe_state != PS_SECURE || p->pe_hs_handle != 0)
			sess_stale(r, a);
		else
			sess_ans_restart(r, p, a);
		break;
	case KX_HS_NEXT:
		/* Moved on meanwhile (timed out, gone): the handle was closed then. */
		if (p != NULL && p->pe_state == PS_HS && p->pe_handle == x->kx_handle)
			sess_ans_hs_next(r, p, a);
		break;
	case KX_HS_RESTART_NEXT:
		if (p != NULL && p->pe_state == PS_SECURE && p->pe_hs_handle == x->kx_handle)
			sess_ans_restart_next(r, p, a);
		break;
	case KX_OPEN:
		if (p != NULL)
			sess_ans_open(r, p, x->kx_handle, a);
		else if (a->im_code == ANS_OPENED && a->im_kind == OPEN_TEXT)
			emit(r, EV_WARN, "a message from member %u came after it left; not shown",
			    (unsigned int)x->kx_peer);
		break;
	case KX_CTRL:
		if (p != NULL && p->pe_state == PS_SECURE && p->pe_handle == x->kx_handle)
			sess_ans_ctrl(r, p, x->kx_handle, a);
		break;
	case KX_VERIFY:
		if (p != NULL)
			sess_ans_verify(r, p, x->kx_handle, a);
		break;
	case KX_TRUST:
		if (p != NULL)
			sess_ans_trust(r, p, x->kx_handle, a);
		break;
	case KX_CLOSE_SEND:
		sess_ans_close_send(r, x, a);
		break;
	default:
		break;		/* KX_CLOSE: nothing to do */
	}
}
