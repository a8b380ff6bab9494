/* SPDX-License-Identifier: ISC */
/*
 * Our lines on their way out, and the rule that none is lost without a
 * word. A line is sealed by keyd for every member whose session is secure
 * (one SEAL for the room), or held until one is. Each sealed copy is queued
 * to the relay and remembered until the socket has taken all of its bytes:
 * a copy keyd refused, one the relay queue would not take, one still in
 * the queue when the connection ends, and a held line still held when chatc
 * ends, are each reported as "not sent", naming the line (and the member),
 * in the order they were typed. What the relay does with a frame once
 * written is for end-to-end acknowledgements to tell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

/* One typed line, shared by the SEAL asking for it and the copies queued. */
struct tx_text {
	uint32_t	 tt_refs;
	uint32_t	 tt_n;		/* the line's number */
	int		 tt_mine;	/* shown as ours (once, whichever SEAL went first) */
	size_t		 tt_len;
	uint8_t		 tt_text[];
};

struct tx_to {			/* a member a SEAL was asked for */
	uint32_t	 to_handle;
	uint16_t	 to_id;
	uint32_t	 to_gen;
};

struct tx_seal {		/* kx_data of KX_SEAL */
	struct tx_text	*ts_text;
	size_t		 ts_n;
	struct tx_to	 ts_to[IPC_BATCH_MAX];
};

struct tx_wait {		/* a sealed copy queued to the relay */
	uint64_t	 tw_end;	/* rl_queued just after it */
	struct tx_text	*tw_text;
	char		 tw_name[PEER_NAME_MAX];
};

static struct tx_text *
tx_text_new(const uint8_t *p, size_t n, uint32_t num)
{
	struct tx_text *t;

	if ((t = malloc(sizeof(*t) + n)) == NULL)
		return NULL;
	t->tt_refs = 1;
	t->tt_n = num;
	t->tt_mine = 0;
	t->tt_len = n;
	memcpy(t->tt_text, p, n);
	return t;
}

static void
tx_text_unref(struct tx_text *t)
{
	if (t == NULL || --t->tt_refs > 0)
		return;
	OPENSSL_cleanse(t->tt_text, t->tt_len);
	free(t);
}

void
tx_seal_free(void *data)
{
	struct tx_seal *s = data;

	if (s == NULL)
		return;
	tx_text_unref(s->ts_text);
	free(s);
}

/*
 * One SEAL of t as TEXT seq for every secure member whose next seq is seq
 * (marked in done): the body is the same for all of them. Any failure is a
 * "not sent". 1 if a SEAL went to keyd.
 */
static int
tx_seal_seq(struct room *r, struct tx_text *t, uint32_t seq, uint8_t done[ROOM_SIZE_MAX])
{
	struct ipc_msg *q = client_req(r->rm_cl, REQ_SEAL);
	uint8_t body[INNER_BODY_MAX];
	struct inner_msg im;
	struct tx_seal *s;
	struct vbuf w;
	struct kx x;
	size_t i;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		emit_notsent(r, NULL, "out of memory", t->tt_text, t->tt_len);
		return 0;
	}
	s->ts_text = t;
	t->tt_refs++;
	for (i = 0; i < ROOM_SIZE_MAX && s->ts_n < IPC_BATCH_MAX; i++) {
		const struct peer *p = &r->rm_peers.pt_p[i];

		if (done[i] || p->pe_state != PS_SECURE || p->pe_tx_seq + 1 != seq)
			continue;
		done[i] = 1;
		s->ts_to[s->ts_n].to_handle = p->pe_handle;
		s->ts_to[s->ts_n].to_id = p->pe_id;
		s->ts_to[s->ts_n].to_gen = p->pe_gen;
		q->im_handles[s->ts_n++] = p->pe_handle;
	}
	memset(&im, 0, sizeof(im));
	im.in_kind = IK_TEXT;
	im.in_stream = r->rm_stream;
	im.in_seq = seq;
	im.in_text = t->tt_text;
	im.in_textlen = t->tt_len;
	vbuf_writer(&w, body, sizeof(body));
	if ((rc = proto_inner_build(&w, &im)) == 0) {
		q->im_count = (uint16_t)s->ts_n;
		q->im_kind = IK_TEXT;
		q->im_text = body;
		q->im_textlen = w.vb_len;
		sess_kx(&x, r, NULL, KX_SEAL);
		x.kx_data = s;
		x.kx_free = tx_seal_free;
		rc = sess_ask(r, q, &x);
		q->im_text = NULL;
	}
	OPENSSL_cleanse(body, sizeof(body));
	if (rc != 0) {
		emit_notsent(r, NULL, rc == VEIL_E_LIMIT ? "keyd is not keeping up" :
		    veil_strerror(rc), t->tt_text, t->tt_len);
		tx_seal_free(s);
		return 0;
	}
	for (i = 0; i < s->ts_n; i++) {
		struct peer *p = peers_find_gen(&r->rm_peers, s->ts_to[i].to_id,
		    s->ts_to[i].to_gen);

		if (p != NULL)
			p->pe_tx_seq = seq;
	}
	return 1;
}

/*
 * Asks keyd to seal the line for every secure member, as a TEXT of our
 * stream with the next seq of each (PROTOCOL.md 2.3): one SEAL per distinct
 * seq, which is one SEAL unless members came at different times.
 */
static void
tx_seal(struct room *r, const uint8_t *text, size_t len, uint32_t num)
{
	uint8_t done[ROOM_SIZE_MAX];
	struct tx_text *t;
	size_t i, n = 0;

	if ((t = tx_text_new(text, len, num)) == NULL) {
		emit_notsent(r, NULL, "out of memory", text, len);
		return;
	}
	memset(done, 0, sizeof(done));
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &r->rm_peers.pt_p[i];

		if (done[i] || p->pe_state != PS_SECURE)
			continue;
		if (p->pe_tx_seq == UINT32_MAX) {
			done[i] = 1;
			emit_notsent(r, p->pe_name, "too many lines", text, len);
			continue;
		}
		n += (size_t)tx_seal_seq(r, t, p->pe_tx_seq + 1, done);
	}
	if (n == 0 && peers_count(&r->rm_peers, PS_SECURE) == 0)
		emit_notsent(r, NULL, "no secure session", text, len);
	tx_text_unref(t);
}

void
tx_line(struct room *r, const uint8_t *text, size_t len, uint32_t num)
{
	struct holdq *q = &r->rm_hold;

	/* Behind the lines still held, so they leave in the order typed. */
	if (peers_count(&r->rm_peers, PS_SECURE) > 0 && q->hq_count == 0 &&
	    !keydc_busy(r->rm_cl->cl_k)) {
		tx_seal(r, text, len, num);
		return;
	}
	if (holdq_push(q, text, len) != 0) {
		emit_notsent(r, NULL, peers_count(&r->rm_peers, PS_SECURE) > 0 ?
		    "too many lines waiting for keyd" : "no secure session yet", text, len);
		return;
	}
	q->hq_n[(q->hq_head + q->hq_count - 1) % HOLD_MAX] = num;
	if (peers_count(&r->rm_peers, PS_SECURE) == 0) {
		emit_mine(r, EV_HELD, text, len);
		emit_status(r);
	}
}

void
tx_drain_hold(struct room *r)
{
	struct holdq *q = &r->rm_hold;
	const uint8_t *p;
	size_t n, before = q->hq_count;

	while (peers_count(&r->rm_peers, PS_SECURE) > 0 && !keydc_busy(r->rm_cl->cl_k) &&
	    holdq_peek(q, &p, &n)) {
		tx_seal(r, p, n, q->hq_n[q->hq_head]);
		holdq_pop(q);
	}
	if (q->hq_count != before)
		emit_status(r);
}

/* Remembers a copy of t queued to the relay, until the socket has taken it. */
static void
tx_wait_push(struct room *r, struct tx_text *t, const char *name)
{
	struct tx_wait *w;
	size_t ncap;

	if (r->rm_wqhead > 0 && r->rm_wqhead + r->rm_wqlen == r->rm_wqcap) {
		memmove(r->rm_wq, r->rm_wq + r->rm_wqhead, r->rm_wqlen * sizeof(*r->rm_wq));
		r->rm_wqhead = 0;
	}
	if (r->rm_wqhead + r->rm_wqlen == r->rm_wqcap) {
		ncap = r->rm_wqcap == 0 ? 64 : 2 * r->rm_wqcap;
		if ((w = reallocarray(r->rm_wq, ncap, sizeof(*w))) == NULL)
			return;		/* it leaves unwatched: nothing worse than before */
		r->rm_wq = w;
		r->rm_wqcap = ncap;
	}
	w = &r->rm_wq[r->rm_wqhead + r->rm_wqlen++];
	w->tw_end = r->rm_rl.rl_queued;
	w->tw_text = t;
	t->tt_refs++;
	snprintf(w->tw_name, sizeof(w->tw_name), "%s", name);
}

void
tx_answer(struct room *r, const struct kx *x, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)], name[PEER_NAME_MAX];
	struct tx_seal *s = x->kx_data;
	struct tx_text *t = s->ts_text;
	struct peer *p;
	struct tx_to ended[IPC_BATCH_MAX];
	const char *ended_why[IPC_BATCH_MAX];
	size_t i, nended = 0, sent = 0;
	int rc;

	if (a->im_code == IPC_ANS_ERROR) {
		emit_notsent(r, NULL, keyd_reason(a, why, sizeof(why)), t->tt_text, t->tt_len);
		tx_seal_free(s);
		return;
	}
	for (i = 0; i < a->im_count && i < s->ts_n; i++) {
		const struct ipc_item *it = &a->im_items[i];
		const struct tx_to *to = &s->ts_to[i];

		p = peers_find_gen(&r->rm_peers, to->to_id, to->to_gen);
		if (p != NULL)
			snprintf(name, sizeof(name), "%s", p->pe_name);
		else
			snprintf(name, sizeof(name), "member %u", (unsigned int)to->to_id);
		/* keyd answers item by item in the order asked; anything else is not a copy of ours. */
		if (it->it_handle != to->to_handle) {
			emit_notsent(r, name, "keyd answered for another session", t->tt_text,
			    t->tt_len);
			continue;
		}
		if (it->it_status != 0) {
			emit_notsent(r, name, veil_strerror(-(int)it->it_status), t->tt_text,
			    t->tt_len);
			/* keyd ended that session on the error: once every copy is said. */
			if ((it->it_flags & SEAL_ENDED) && nended < IPC_BATCH_MAX) {
				ended[nended] = *to;
				ended_why[nended++] = veil_strerror(-(int)it->it_status);
			}
			continue;
		}
		if (p == NULL || p->pe_state != PS_SECURE || p->pe_handle != to->to_handle) {
			emit_notsent(r, name, p == NULL ? "it left" : "its session ended",
			    t->tt_text, t->tt_len);
			continue;
		}
		if ((rc = rl_send(&r->rm_rl, FT_DATA, p->pe_id, it->it_blob,
		    it->it_bloblen)) != 0) {
			emit_notsent(r, name, rc == VEIL_E_LIMIT ? "the relay is not keeping up" :
			    rc == VEIL_E_STATE ? "no relay connection" : veil_strerror(rc),
			    t->tt_text, t->tt_len);
			continue;
		}
		tx_wait_push(r, t, name);
		sent++;
	}
	for (; i < s->ts_n; i++) {
		snprintf(name, sizeof(name), "member %u", (unsigned int)s->ts_to[i].to_id);
		emit_notsent(r, name, "keyd did not seal it", t->tt_text, t->tt_len);
	}
	if (sent > 0 && !t->tt_mine) {
		t->tt_mine = 1;
		emit_mine(r, EV_MINE, t->tt_text, t->tt_len);
	}
	for (i = 0; i < nended; i++) {
		p = peers_find_gen(&r->rm_peers, ended[i].to_id, ended[i].to_gen);
		if (p != NULL && p->pe_state == PS_SECURE && p->pe_handle == ended[i].to_handle)
			sess_ended(r, p, ended_why[i]);
	}
	tx_seal_free(s);
}

void
tx_written(struct room *r)
{
	struct tx_wait *w;

	while (r->rm_wqlen > 0) {
		w = &r->rm_wq[r->rm_wqhead];
		if (w->tw_end > r->rm_rl.rl_written)
			break;
		tx_text_unref(w->tw_text);
		memset(w, 0, sizeof(*w));
		r->rm_wqhead++;
		r->rm_wqlen--;
	}
	if (r->rm_wqlen == 0)
		r->rm_wqhead = 0;
}

void
tx_unwritten(struct room *r, const char *why)
{
	struct tx_wait *w;

	tx_written(r);
	while (r->rm_wqlen > 0) {
		w = &r->rm_wq[r->rm_wqhead];
		if (why != NULL)
			emit_notsent(r, w->tw_name, why, w->tw_text->tt_text,
			    w->tw_text->tt_len);
		tx_text_unref(w->tw_text);
		memset(w, 0, sizeof(*w));
		r->rm_wqhead++;
		r->rm_wqlen--;
	}
	r->rm_wqhead = 0;
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

void
tx_seal_lost(struct client *c, const char *why)
{
	const struct keydc *k = c->cl_k;
	const struct tx_seal *s;
	const struct kx *x;
	struct room *r;
	size_t i;

	for (i = 0; i < k->kc_qlen; i++) {
		x = &k->kc_q[(k->kc_qhead + i) % KEYDC_QMAX];
		if (x->kx_kind != KX_SEAL || (s = x->kx_data) == NULL ||
		    (r = rm_by_serial(c, x->kx_room)) == NULL)
			continue;
		emit_notsent(r, NULL, why, s->ts_text->tt_text, s->ts_text->tt_len);
	}
}
