/* SPDX-License-Identifier: ISC */
/*
 * Our lines on their way out, and the rule that none is lost without a
 * word. A typed line goes to the room's delivery state (deliver.c,
 * PROTOCOL.md 2.8): queued per peer identity, sealed as a TEXT for each as
 * the window allows, sent again after a reconnect, a new handshake or a
 * loss, until that identity acknowledges it (DELIVERED) or we give up on
 * it (UNDELIVERED, with the reason: chatc ends, --give-up, the identity
 * changed or stayed away, the queue is full). Before any peer is known the
 * line is held (bounded) until a session is secure, or reported "not
 * sent".
 *
 * The struct dlv_ops below join deliver.c to the room: a body to seal goes
 * to keyd for that identity's current session (sess_seal), what deliver.c
 * shows or says becomes an event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

/* The secure member with identity id (the first, if it is here twice), or NULL. */
static struct peer *
tx_peer_of(struct room *r, const uint8_t id[static DLV_ID_LEN])
{
	size_t i;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if (p->pe_state == PS_SECURE && p->pe_handle != 0 &&
		    CRYPTO_memcmp(p->pe_idk, id, DLV_ID_LEN) == 0)
			return p;
	}
	return NULL;
}

/*
 * Seals body for every secure session with identity dp (one, unless that
 * person's key is here twice: another chatc of theirs, or of ours): 0 when
 * at least one SEAL was asked.
 */
static int
tx_dlv_send(void *arg, const struct dlv_peer *dp, uint8_t kind, const uint8_t *body,
    size_t len)
{
	struct room *r = arg;
	size_t i;
	int rc = VEIL_E_STATE;

	if (r->rm_link != LS_JOINED || !r->rm_rl.rl_open)
		return VEIL_E_STATE;
	/* Texts wait in deliver.c while keyd or the relay is behind (flow control). */
	if (kind == IK_TEXT && (keydc_busy(r->rm_cl->cl_k) ||
	    r->rm_rl.rl_outlen >= RL_OUT_HIGH))
		return VEIL_E_LIMIT;
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if (p->pe_state == PS_SECURE && p->pe_handle != 0 &&
		    CRYPTO_memcmp(p->pe_idk, dp->dp_id, DLV_ID_LEN) == 0 &&
		    sess_seal(r, p, kind, body, len) == 0)
			rc = 0;
	}
	return rc;
}

static void
tx_dlv_show(void *arg, const struct dlv_peer *dp, const uint8_t *text, size_t len,
    uint8_t flags)
{
	struct room *r = arg;

	emit_text(r, dp->dp_name, dp->dp_nick, dp->dp_nicklen, text, len,
	    (flags & INNER_PRIVATE) != 0);
}

static void
tx_dlv_delivered(void *arg, const struct dlv_peer *dp, const struct dlv_text *t)
{
	struct room *r = arg;

	r->rm_cl->cl_progress_at = r->rm_cl->cl_now;
	emit_delivery(r, EV_DELIVERED, dp, t, NULL);
}

static void
tx_dlv_undelivered(void *arg, const struct dlv_peer *dp, const struct dlv_text *t,
    const char *reason)
{
	struct room *r = arg;

	r->rm_cl->cl_undelivered++;
	emit_delivery(r, EV_UNDELIVERED, dp, t, reason);
}

static void
tx_dlv_say(void *arg, int warn, const char *text)
{
	emit(arg, warn ? EV_WARN : EV_INFO, "%s", text);
}

static void
tx_dlv_fpr(void *arg, const uint8_t id[static DLV_ID_LEN], char *out)
{
	uint8_t fpr[FPR_LEN];

	(void)arg;
	if (dlv_fpr(id, fpr) != 0) {
		snprintf(out, FPR_TEXT_LEN + 1, "(unknown)");
		return;
	}
	proto_fpr_format(fpr, out);
}

const struct dlv_ops tx_dlv_ops = {
	tx_dlv_send, tx_dlv_show, tx_dlv_delivered, tx_dlv_undelivered, tx_dlv_say,
	tx_dlv_fpr,
};

void
tx_line(struct room *r, const uint8_t *text, size_t len, uint32_t num)
{
	struct holdq *q = &r->rm_hold;
	int n = 0;

	/* Behind the lines still held, so they leave in the order typed. */
	if (q->hq_count == 0 &&
	    (n = dlv_line(&r->rm_dlv, text, len, num, NULL, r->rm_cl->cl_now)) != 0) {
		if (n < 0)
			emit_notsent(r, NULL, veil_strerror(n), text, len);
		else
			emit_mine(r, EV_MINE, NULL, text, len, num, (unsigned int)n);
		emit_status(r);
		return;
	}
	if (holdq_push(q, text, len) != 0) {
		emit_notsent(r, NULL, "no secure session yet", text, len);
		return;
	}
	q->hq_n[(q->hq_head + q->hq_count - 1) % HOLD_MAX] = num;
	emit_mine(r, EV_HELD, NULL, text, len, num, 0);
	emit_status(r);
}

void
tx_line_to(struct room *r, const struct peer *p, const uint8_t *text, size_t len,
    uint32_t num)
{
	const struct dlv_peer *dp;
	int n;

	/*
	 * Queued at once, not held: its one recipient is secure now. (Lines
	 * held for the room may leave after it; /msg never waits for them.)
	 */
	if ((dp = dlv_find(&r->rm_dlv, p->pe_idk)) == NULL) {
		emit_notsent(r, p->pe_name, "no secure session with it in this room", text,
		    len);
		return;
	}
	n = dlv_line(&r->rm_dlv, text, len, num, dp, r->rm_cl->cl_now);
	if (n <= 0)
		emit_notsent(r, p->pe_name, n < 0 ? veil_strerror(n) :
		    "no secure session with it in this room", text, len);
	else
		emit_mine(r, EV_MINE, p->pe_name, text, len, num, (unsigned int)n);
	emit_status(r);
}

void
tx_drain_hold(struct room *r)
{
	struct holdq *q = &r->rm_hold;
	const uint8_t *p;
	size_t n, before = q->hq_count;
	int k;

	while (holdq_peek(q, &p, &n)) {
		k = dlv_line(&r->rm_dlv, p, n, q->hq_n[q->hq_head], NULL, r->rm_cl->cl_now);
		if (k == 0)
			break;		/* nobody to send it to yet */
		if (k < 0)
			emit_notsent(r, NULL, veil_strerror(k), p, n);
		else
			emit_mine(r, EV_MINE, NULL, p, n, q->hq_n[q->hq_head], (unsigned int)k);
		holdq_pop(q);
	}
	if (q->hq_count != before)
		emit_status(r);
}

void
tx_sync(struct room *r, int64_t now)
{
	struct dlv *d = &r->rm_dlv;
	struct frame f;
	size_t i;

	/* A session that is gone (left, closed, refused, the relay lost) is down here too. */
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		struct dlv_peer *dp = &d->dl_p[i];

		if (dp->dp_used && dp->dp_up && tx_peer_of(r, dp->dp_id) == NULL)
			dlv_down(d, dp->dp_id, now);
	}
	dlv_tick(d, now);
	/* Nothing more to open now: what was shown is acknowledged at once. */
	if (r->rm_npending == 0 && rl_peek(&r->rm_rl, &f) == 0)
		dlv_ack_now(d);
}

void
tx_secure(struct room *r, const struct peer *p, int64_t now)
{
	if (dlv_up(&r->rm_dlv, p->pe_idk, p->pe_nick, p->pe_nicklen, p->pe_name,
	    !p->pe_initiator, now) == NULL)
		emit(r, EV_WARN, "no room to track what %s acknowledges (%d identities); "
		    "nothing is sent to it", p->pe_name, DLV_PEERS_MAX);
	tx_drain_hold(r);
}

void
tx_held_notsent(struct room *r, const char *why)
{
	const uint8_t *p;
	size_t n;

	if (r->rm_hold.hq_count == 0)
		return;
	while (holdq_peek(&r->rm_hold, &p, &n)) {
		emit_notsent(r, NULL, why, p, n);
		holdq_pop(&r->rm_hold);
	}
	emit_status(r);
}

size_t
tx_pending(const struct room *r)
{
	const struct dlv *d = &r->rm_dlv;
	size_t i, n = 0;

	for (i = 0; i < DLV_PEERS_MAX; i++) {
		const struct dlv_peer *dp = &d->dl_p[i];

		if (dp->dp_used && dp->dp_up && dlv_peer_outstanding(dp) -
		    dlv_peer_inflight(dp) > n)
			n = dlv_peer_outstanding(dp) - dlv_peer_inflight(dp);
	}
	return n;
}

void
tx_status(struct room *r)
{
	const struct dlv *d = &r->rm_dlv;
	char lines[128];
	size_t i, len, n = 0;
	char code[DLV_CODE_LEN + 1];

	for (i = 0; i < DLV_PEERS_MAX; i++) {
		const struct dlv_peer *dp = &d->dl_p[i];
		uint32_t out, k;

		if (!dp->dp_used || (out = dlv_peer_outstanding(dp)) == 0)
			continue;
		n++;
		len = 0;
		lines[0] = '\0';
		for (k = 0; k < out && k < 8 && len < sizeof(lines) - 16; k++)
			len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%u",
			    k > 0 ? ", " : "", (unsigned int)dlv_peer_text(dp, k)->dt_line);
		if (out > 8)
			snprintf(lines + len, sizeof(lines) - len, ", ...");
		if (dp->dp_up)
			emit(r, EV_INFO, "  %s: %u line(s) not yet acknowledged (%s), %u in "
			    "flight", dp->dp_name, (unsigned int)out, lines,
			    (unsigned int)dlv_peer_inflight(dp));
		else
			emit(r, EV_INFO, "  %s: %u line(s) not yet acknowledged (%s); away for "
			    "%lld s, given up after %d s", dp->dp_name, (unsigned int)out, lines,
			    (long long)((r->rm_cl->cl_now - dp->dp_down_at) / 1000),
			    DLV_AWAY_MS / 1000);
	}
	if (n == 0)
		emit(r, EV_INFO, "every line you sent was acknowledged by everyone it went to");
	for (i = 0; i < DLV_PEERS_MAX; i++)
		if (d->dl_p[i].dp_used && d->dl_p[i].dp_up && d->dl_p[i].dp_silent_said)
			emit(r, EV_INFO, "  %s is silent (no answer to our PING)",
			    d->dl_p[i].dp_name);
	if (r->rm_hold.hq_count > 0)
		emit(r, EV_INFO, "  %zu line(s) held until a session is secure",
		    r->rm_hold.hq_count);
	if (dlv_code(d, code) == 0)
		emit(r, EV_INFO, "room code: %s (/verify)", code);
}

void
tx_give_up(struct room *r, const char *reason)
{
	dlv_give_up(&r->rm_dlv, reason);
}
