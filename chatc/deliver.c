/* SPDX-License-Identifier: ISC */
/*
 * Delivery inside the encrypted channel: acknowledgements, resends, flow
 * control, silence and the room view (deliver.h, PROTOCOL.md 2.8). Pure
 * logic: the time comes in, bodies to seal and lines to show go out through
 * struct dlv_ops.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "deliver.h"
#include "err.h"

#define ROOM_CODE_LABEL	"veil/2 room code"
#define FPR_HASH_LABEL	"veil/2 fingerprint"
#define FPR_HASH_ITER	5200

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

struct dlv_text *
dlv_text_new(const uint8_t *p, size_t n, uint32_t line, uint8_t flags)
{
	struct dlv_text *t;

	if (n == 0 || n > MSG_MAX || (t = calloc(1, sizeof(*t) + n)) == NULL)
		return NULL;
	t->dt_refs = 1;
	t->dt_line = line;
	t->dt_flags = flags;
	t->dt_len = n;
	memcpy(t->dt_text, p, n);
	return t;
}

void
dlv_text_unref(struct dlv_text *t)
{
	if (t == NULL || --t->dt_refs > 0)
		return;
	OPENSSL_cleanse(t->dt_text, t->dt_len);
	free(t);
}

int
dlv_init(struct dlv *d, const struct dlv_ops *ops, void *arg,
    const uint8_t room[static ROOM_ID_LEN], const uint8_t me[static DLV_ID_LEN],
    uint64_t stream)
{
	memset(d, 0, sizeof(*d));
	if ((d->dl_p = calloc(DLV_PEERS_MAX, sizeof(*d->dl_p))) == NULL)
		return VEIL_E_ALLOC;
	d->dl_ops = ops;
	d->dl_arg = arg;
	memcpy(d->dl_room, room, ROOM_ID_LEN);
	memcpy(d->dl_me, me, DLV_ID_LEN);
	d->dl_stream = stream;
	return 0;
}

/* p's outstanding texts are dropped (unreferenced), reporting nothing. */
static void
dlv_peer_clear(struct dlv_peer *p)
{
	uint32_t s;

	if (p->dp_out != NULL) {
		for (s = p->dp_acked + 1; s != p->dp_next; s++)
			dlv_text_unref(p->dp_out[s % DLV_OUT_MAX]);
		free(p->dp_out);
	}
	memset(p, 0, sizeof(*p));
}

void
dlv_free(struct dlv *d)
{
	size_t i;

	if (d->dl_p == NULL)
		return;
	for (i = 0; i < DLV_PEERS_MAX; i++)
		dlv_peer_clear(&d->dl_p[i]);
	free(d->dl_p);
	d->dl_p = NULL;
}

struct dlv_peer *
dlv_find(struct dlv *d, const uint8_t id[static DLV_ID_LEN])
{
	size_t i;

	for (i = 0; i < DLV_PEERS_MAX; i++)
		if (d->dl_p[i].dp_used &&
		    CRYPTO_memcmp(d->dl_p[i].dp_id, id, DLV_ID_LEN) == 0)
			return &d->dl_p[i];
	return NULL;
}

static void
dlv_say(struct dlv *d, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dlv_say(struct dlv *d, int warn, const char *fmt, ...)
{
	char line[EV_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->dl_ops->do_say(d->dl_arg, warn, line);
}

uint32_t
dlv_peer_outstanding(const struct dlv_peer *p)
{
	return p->dp_next - 1 - p->dp_acked;
}

uint32_t
dlv_peer_inflight(const struct dlv_peer *p)
{
	return p->dp_sent - p->dp_acked;
}

const struct dlv_text *
dlv_peer_text(const struct dlv_peer *p, uint32_t i)
{
	if (i >= dlv_peer_outstanding(p))
		return NULL;
	return p->dp_out[(p->dp_acked + 1 + i) % DLV_OUT_MAX];
}

size_t
dlv_outstanding(const struct dlv *d)
{
	size_t i, n = 0;

	for (i = 0; i < DLV_PEERS_MAX; i++)
		if (d->dl_p[i].dp_used)
			n += dlv_peer_outstanding(&d->dl_p[i]);
	return n;
}

/* Gives up every outstanding text of p (reason), oldest first. */
static void
dlv_peer_give_up(struct dlv *d, struct dlv_peer *p, const char *reason)
{
	struct dlv_text *t;

	while (p->dp_acked + 1 != p->dp_next) {
		p->dp_acked++;
		t = p->dp_out[p->dp_acked % DLV_OUT_MAX];
		p->dp_out[p->dp_acked % DLV_OUT_MAX] = NULL;
		t->dt_failed++;
		d->dl_ops->do_undelivered(d->dl_arg, p, t, reason);
		dlv_text_unref(t);
	}
	p->dp_sent = p->dp_acked;
	p->dp_wait_since = 0;
	p->dp_full_said = 0;
}

void
dlv_give_up(struct dlv *d, const char *reason)
{
	size_t i;

	for (i = 0; i < DLV_PEERS_MAX; i++)
		if (d->dl_p[i].dp_used)
			dlv_peer_give_up(d, &d->dl_p[i], reason);
}

/* Seals and sends one TEXT of p's (seq s). 0 or the do_send error. */
static int
dlv_send_text(struct dlv *d, struct dlv_peer *p, uint32_t s)
{
	const struct dlv_text *t = p->dp_out[s % DLV_OUT_MAX];
	uint8_t body[INNER_TEXT_HDR_LEN + MSG_MAX];
	uint8_t flags = t->dt_flags & INNER_PRIVATE;
	int rc;

	if (s == p->dp_acked + 1)
		flags |= INNER_FIRST;
	put_u64(body, d->dl_stream);
	put_u32(body + 8, s);
	body[12] = flags;
	memcpy(body + INNER_TEXT_HDR_LEN, t->dt_text, t->dt_len);
	rc = d->dl_ops->do_send(d->dl_arg, p, IK_TEXT, body, INNER_TEXT_HDR_LEN + t->dt_len);
	OPENSSL_cleanse(body, INNER_TEXT_HDR_LEN + t->dt_len);
	return rc;
}

/* Sends what p's window allows. */
static void
dlv_pump(struct dlv *d, struct dlv_peer *p, int64_t now)
{
	while (p->dp_up && p->dp_sent + 1 != p->dp_next &&
	    p->dp_sent - p->dp_acked < DLV_WINDOW) {
		if (dlv_send_text(d, p, p->dp_sent + 1) != 0)
			break;		/* keyd or the relay is full: the next tick tries again */
		if (p->dp_sent == p->dp_acked)
			p->dp_wait_since = now;
		p->dp_sent++;
	}
}

static void
dlv_view_changed(struct dlv *d, int64_t now)
{
	if (d->dl_view_due == 0)
		d->dl_view_due = now + DLV_VIEW_DEBOUNCE_MS;
}

/* A free entry for id: a free one, else the one away the longest (its texts given up). */
static struct dlv_peer *
dlv_new_peer(struct dlv *d, const uint8_t id[static DLV_ID_LEN])
{
	struct dlv_peer *p = NULL;
	size_t i;

	for (i = 0; i < DLV_PEERS_MAX && p == NULL; i++)
		if (!d->dl_p[i].dp_used)
			p = &d->dl_p[i];
	for (i = 0; i < DLV_PEERS_MAX && p == NULL; i++) {
		struct dlv_peer *q = &d->dl_p[i];

		if (!q->dp_up && (p == NULL || q->dp_down_at < p->dp_down_at))
			p = q;
	}
	if (p == NULL)
		return NULL;
	if (p->dp_used) {
		dlv_peer_give_up(d, p, "left");
		dlv_peer_clear(p);
	}
	if ((p->dp_out = calloc(DLV_OUT_MAX, sizeof(struct dlv_text *))) == NULL)
		return NULL;
	p->dp_used = 1;
	memcpy(p->dp_id, id, DLV_ID_LEN);
	p->dp_next = 1;
	return p;
}

struct dlv_peer *
dlv_up(struct dlv *d, const uint8_t id[static DLV_ID_LEN], const uint8_t *nick,
    size_t nicklen, const char *name, int quiet, int64_t now)
{
	struct dlv_peer *p = dlv_find(d, id);
	size_t i;

	if (nicklen > NICK_MAX)
		nicklen = NICK_MAX;
	/* Never to another key under the same nickname: the old one's texts end here. */
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		struct dlv_peer *q = &d->dl_p[i];

		if (!q->dp_used || q == p || q->dp_nicklen != nicklen ||
		    memcmp(q->dp_nick, nick, nicklen) != 0 || q->dp_up)
			continue;
		dlv_peer_give_up(d, q, "identity-changed");
		dlv_peer_clear(q);
	}
	if (p == NULL && (p = dlv_new_peer(d, id)) == NULL)
		return NULL;
	memcpy(p->dp_nick, nick, nicklen);
	p->dp_nicklen = nicklen;
	snprintf(p->dp_name, sizeof(p->dp_name), "%s", name);
	p->dp_up = 1;
	p->dp_quiet = quiet;
	p->dp_down_at = 0;
	p->dp_heard = now;
	p->dp_ping_first = 0;
	p->dp_silent_said = 0;
	p->dp_ack_due = 0;
	/* The new session has carried nothing yet: everything unacknowledged goes again. */
	p->dp_sent = p->dp_acked;
	p->dp_wait_since = 0;
	p->dp_have_view = 0;
	p->dp_ndiff = 0;
	dlv_pump(d, p, now);
	dlv_view_changed(d, now);
	return p;
}

void
dlv_down(struct dlv *d, const uint8_t id[static DLV_ID_LEN], int64_t now)
{
	struct dlv_peer *p = dlv_find(d, id);

	if (p == NULL || !p->dp_up)
		return;
	p->dp_up = 0;
	p->dp_down_at = now;
	p->dp_ping_first = 0;
	p->dp_ack_due = 0;
	p->dp_have_view = 0;
	p->dp_ndiff = 0;
	dlv_view_changed(d, now);
}

/* Queues t for p: 1 queued, 0 not (the bound: said, and t is undelivered to p). */
static int
dlv_queue(struct dlv *d, struct dlv_peer *p, struct dlv_text *t, int64_t now)
{
	if (dlv_peer_outstanding(p) >= DLV_OUT_MAX) {
		if (!p->dp_full_said)
			dlv_say(d, 1, "%u lines to %s are waiting for its acknowledgement; "
			    "new lines are not queued for it until some are delivered",
			    (unsigned int)DLV_OUT_MAX, p->dp_name);
		p->dp_full_said = 1;
		t->dt_to++;
		t->dt_failed++;
		d->dl_ops->do_undelivered(d->dl_arg, p, t, "queue-full");
		return 0;
	}
	t->dt_refs++;
	t->dt_to++;
	p->dp_out[p->dp_next % DLV_OUT_MAX] = t;
	p->dp_next++;
	dlv_pump(d, p, now);
	return 1;
}

int
dlv_line(struct dlv *d, const uint8_t *text, size_t len, uint32_t line,
    const struct dlv_peer *only, int64_t now)
{
	struct dlv_text *t;
	size_t i;
	int n = 0;

	if ((t = dlv_text_new(text, len, line, only != NULL ? INNER_PRIVATE : 0)) == NULL)
		return VEIL_E_ALLOC;
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		struct dlv_peer *p = &d->dl_p[i];

		if (!p->dp_used || (only != NULL && p != only))
			continue;
		if (!p->dp_up && now - p->dp_down_at >= DLV_AWAY_MS)
			continue;
		(void)dlv_queue(d, p, t, now);
		n++;
	}
	dlv_text_unref(t);
	return n;
}

/* ---- receiving ---- */

/*
 * Sends p's due ACKs (one per stream with something to acknowledge; with
 * all, every stream: before a PONG, so that a lost ACK costs no resend).
 */
static void
dlv_send_acks(struct dlv *d, struct dlv_peer *p, int all)
{
	uint8_t body[INNER_ACK_LEN];
	size_t i;

	for (i = 0; i < DLV_RX_STREAMS; i++) {
		struct dlv_rx *x = &p->dp_rx[i];

		if (!x->rx_have || (x->rx_unacked == 0 && !all))
			continue;
		put_u64(body, x->rx_stream);
		put_u32(body + 8, x->rx_last);
		if (d->dl_ops->do_send(d->dl_arg, p, IK_ACK, body, sizeof(body)) != 0)
			return;		/* due again at the next tick */
		x->rx_unacked = 0;
	}
	p->dp_ack_due = 0;
}

void
dlv_ack_now(struct dlv *d)
{
	size_t i;

	for (i = 0; i < DLV_PEERS_MAX; i++)
		if (d->dl_p[i].dp_used && d->dl_p[i].dp_up && d->dl_p[i].dp_ack_due != 0)
			dlv_send_acks(d, &d->dl_p[i], 0);
}

static void
dlv_ack_later(struct dlv *d, struct dlv_peer *p, struct dlv_rx *x, int64_t now)
{
	x->rx_unacked++;
	if (x->rx_unacked >= DLV_ACK_EVERY)
		dlv_send_acks(d, p, 0);
	else if (p->dp_ack_due == 0)
		p->dp_ack_due = now + DLV_ACK_MS;
}

/* The stream entry of p for stream, or a new one when create (the least used one goes). */
static struct dlv_rx *
dlv_rx_find(struct dlv_peer *p, uint64_t stream, int create, int64_t now)
{
	struct dlv_rx *x = NULL;
	size_t i;

	for (i = 0; i < DLV_RX_STREAMS; i++)
		if (p->dp_rx[i].rx_have && p->dp_rx[i].rx_stream == stream)
			return &p->dp_rx[i];
	if (!create)
		return NULL;
	for (i = 0; i < DLV_RX_STREAMS; i++)
		if (x == NULL || !p->dp_rx[i].rx_have ||
		    (x->rx_have && p->dp_rx[i].rx_used < x->rx_used))
			x = &p->dp_rx[i];
	memset(x, 0, sizeof(*x));
	x->rx_have = 1;
	x->rx_stream = stream;
	x->rx_used = now;
	return x;
}

static int
dlv_on_text(struct dlv *d, struct dlv_peer *p, const uint8_t *b, size_t n, int64_t now)
{
	uint64_t stream;
	uint32_t seq;
	uint8_t flags;
	struct dlv_rx *x;

	if (n <= INNER_TEXT_HDR_LEN || n > INNER_TEXT_HDR_LEN + MSG_MAX)
		return VEIL_E_INVALID;
	stream = get_u64(b);
	seq = get_u32(b + 8);
	flags = b[12];
	if (seq == 0 || (flags & ~INNER_FLAGS_ALL) != 0)
		return VEIL_E_INVALID;
	if ((x = dlv_rx_find(p, stream, 0, now)) == NULL) {
		if (!(flags & INNER_FIRST)) {
			/* Earlier texts of a stream we never met were lost: it sends them again. */
			if (!p->dp_gap_said)
				dlv_say(d, 1, "a message from %s is missing (dropped by the "
				    "relay?); later ones wait until it is sent again", p->dp_name);
			p->dp_gap_said = 1;
			return 0;
		}
		x = dlv_rx_find(p, stream, 1, now);
		x->rx_last = seq - 1;
	}
	x->rx_used = now;
	if (seq <= x->rx_last) {
		/* A resend of what we showed: its ACK was lost. Acknowledged again, not shown. */
		dlv_ack_later(d, p, x, now);
		return 0;
	}
	if (seq != x->rx_last + 1) {
		if (!(flags & INNER_FIRST)) {
			if (!p->dp_gap_said)
				dlv_say(d, 1, "%u message(s) from %s missing (dropped by the "
				    "relay?); later ones wait until they are sent again",
				    (unsigned int)(seq - x->rx_last - 1), p->dp_name);
			p->dp_gap_said = 1;
			return 0;
		}
		/* The sender holds an ACK of ours (another chatc of this identity) up to here. */
	}
	p->dp_gap_said = 0;
	x->rx_last = seq;
	d->dl_ops->do_show(d->dl_arg, p, b + INNER_TEXT_HDR_LEN, n - INNER_TEXT_HDR_LEN,
	    flags & INNER_PRIVATE);
	dlv_ack_later(d, p, x, now);
	return 0;
}

static int
dlv_on_ack(struct dlv *d, struct dlv_peer *p, const uint8_t *b, size_t n, int64_t now)
{
	uint32_t upto;
	struct dlv_text *t;

	if (n != INNER_ACK_LEN)
		return VEIL_E_INVALID;
	if (get_u64(b) != d->dl_stream)
		return 0;	/* of an earlier run's stream, never ours now */
	upto = get_u32(b + 8);
	if (upto >= p->dp_next)
		return VEIL_E_INVALID;	/* acknowledges what was never sent */
	if (upto <= p->dp_acked)
		return 0;		/* a repeat */
	while (p->dp_acked != upto) {
		p->dp_acked++;
		t = p->dp_out[p->dp_acked % DLV_OUT_MAX];
		p->dp_out[p->dp_acked % DLV_OUT_MAX] = NULL;
		t->dt_acked++;
		d->dl_ops->do_delivered(d->dl_arg, p, t);
		dlv_text_unref(t);
	}
	if (p->dp_sent < p->dp_acked)
		p->dp_sent = p->dp_acked;
	p->dp_wait_since = p->dp_sent != p->dp_acked ? now : 0;
	p->dp_full_said = 0;
	/* Progress answers a PING as well as a PONG does. */
	if (p->dp_ping_first != 0 && p->dp_silent_said)
		dlv_say(d, 0, "%s answers again", p->dp_name);
	if (p->dp_ping_first != 0)
		p->dp_ping_first = p->dp_ping_last;
	p->dp_silent_said = 0;
	dlv_pump(d, p, now);
	return 0;
}

static void
dlv_on_pong(struct dlv *d, struct dlv_peer *p, uint32_t tok, int64_t now)
{
	uint32_t lost;

	if (p->dp_ping_first == 0 || tok - p->dp_tok_first > p->dp_tok - p->dp_tok_first)
		return;		/* not a PING of the ones outstanding */
	if (p->dp_silent_said)
		dlv_say(d, 0, "%s answers again", p->dp_name);
	p->dp_silent_said = 0;
	if (tok != p->dp_tok) {
		p->dp_tok_first = tok + 1;
		p->dp_ping_first = p->dp_ping_last;
		return;
	}
	p->dp_ping_first = 0;
	/* Its ACKs go before its PONG: texts sent before the PING and not acknowledged are lost. */
	if (p->dp_ping_sent > p->dp_acked && p->dp_ping_sent <= p->dp_sent) {
		lost = p->dp_ping_sent - p->dp_acked;
		dlv_say(d, 1, "%u message(s) to %s were not acknowledged (dropped by the "
		    "relay?); sending again", (unsigned int)lost, p->dp_name);
		p->dp_sent = p->dp_acked;
		p->dp_wait_since = 0;
		dlv_pump(d, p, now);
	}
}

/* 1 when the ids (n of them, DLV_ID_LEN each) are ascending and distinct. */
static int
dlv_sorted(const uint8_t *ids, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (memcmp(ids + (i - 1) * DLV_ID_LEN, ids + i * DLV_ID_LEN, DLV_ID_LEN) >= 0)
			return 0;
	return 1;
}

static int
dlv_has(const uint8_t *ids, size_t n, const uint8_t *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(ids + i * DLV_ID_LEN, id, DLV_ID_LEN) == 0)
			return 1;
	return 0;
}

static void dlv_compare_now(struct dlv *, struct dlv_peer *, int64_t);
static void dlv_send_view(struct dlv *, const struct dlv_peer *);

static int
dlv_on_view(struct dlv *d, struct dlv_peer *p, const uint8_t *b, size_t n, int64_t now)
{
	size_t k;

	if (n < 1 || b[0] == 0 || b[0] > DLV_VIEW_MAX || n != 1 + (size_t)b[0] * DLV_ID_LEN)
		return VEIL_E_INVALID;
	k = b[0];
	if (!dlv_sorted((b + 1), k) ||
	    !dlv_has((b + 1), k, p->dp_id))
		return VEIL_E_INVALID;
	memcpy(p->dp_view, b + 1, k * DLV_ID_LEN);
	p->dp_nview = k;
	p->dp_have_view = 1;
	dlv_compare_now(d, p, now);
	return 0;
}

int
dlv_open(struct dlv *d, const uint8_t id[static DLV_ID_LEN], uint8_t kind,
    const uint8_t *body, size_t len, uint32_t gap, int64_t now)
{
	struct dlv_peer *p = dlv_find(d, id);

	(void)gap;
	if (p == NULL || !p->dp_up)
		return VEIL_E_STATE;
	p->dp_heard = now;
	if (p->dp_quiet) {
		/* It spoke first: our view goes to it now. */
		p->dp_quiet = 0;
		dlv_send_view(d, p);
	}
	switch (kind) {
	case IK_TEXT:
		return dlv_on_text(d, p, body, len, now);
	case IK_ACK:
		return dlv_on_ack(d, p, body, len, now);
	case IK_PING:
		if (len != INNER_TOKEN_LEN)
			return VEIL_E_INVALID;
		dlv_send_acks(d, p, 1);
		(void)d->dl_ops->do_send(d->dl_arg, p, IK_PONG, body, len);
		return 0;
	case IK_PONG:
		if (len != INNER_TOKEN_LEN)
			return VEIL_E_INVALID;
		dlv_on_pong(d, p, get_u32(body), now);
		return 0;
	case IK_VIEW:
		return dlv_on_view(d, p, body, len, now);
	default:
		return VEIL_E_TYPE;
	}
}

/* ---- the room view ---- */

static int
dlv_idcmp(const void *a, const void *b)
{
	return memcmp(a, b, DLV_ID_LEN);
}

size_t
dlv_view(const struct dlv *d, uint8_t *ids)
{
	size_t i, n = 0;

	memcpy(ids + DLV_ID_LEN * n++, d->dl_me, DLV_ID_LEN);
	for (i = 0; i < DLV_PEERS_MAX && n < DLV_VIEW_MAX; i++) {
		const struct dlv_peer *p = &d->dl_p[i];

		if (p->dp_used && p->dp_up && !dlv_has(ids, n,
		    p->dp_id))
			memcpy(ids + DLV_ID_LEN * n++, p->dp_id, DLV_ID_LEN);
	}
	qsort(ids, n, DLV_ID_LEN, dlv_idcmp);
	return n;
}

int
dlv_room_code(const uint8_t room[static ROOM_ID_LEN], const uint8_t *ids,
    size_t n, char out[static DLV_CODE_LEN + 1])
{
	uint8_t h[32];
	unsigned int hl = 0;
	uint64_t v;
	EVP_MD_CTX *c;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, ROOM_CODE_LABEL, strlen(ROOM_CODE_LABEL)) == 1 &&
	    EVP_DigestUpdate(c, room, ROOM_ID_LEN) == 1 &&
	    (n == 0 || EVP_DigestUpdate(c, ids, n * DLV_ID_LEN) == 1) &&
	    EVP_DigestFinal_ex(c, h, &hl) == 1 && hl == sizeof(h);
	EVP_MD_CTX_free(c);
	if (!ok)
		return VEIL_E_CRYPTO;
	v = (uint64_t)get_u32(h) << 32 | get_u32(h + 4);
	v %= 10000000000ULL;
	snprintf(out, DLV_CODE_LEN + 1, "%05u %05u", (unsigned int)(v / 100000),
	    (unsigned int)(v % 100000));
	return 0;
}

int
dlv_code(const struct dlv *d, char out[static DLV_CODE_LEN + 1])
{
	uint8_t ids[DLV_VIEW_MAX * DLV_ID_LEN];
	size_t n = dlv_view(d, ids);

	return dlv_room_code(d->dl_room, ids, n, out);
}

int
dlv_fpr(const uint8_t id[static DLV_ID_LEN], uint8_t fpr[static FPR_LEN])
{
	uint8_t f[64];
	unsigned int fl;
	EVP_MD_CTX *c;
	int i, ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	fl = 0;
	ok = EVP_DigestInit_ex(c, EVP_sha512(), NULL) == 1 &&
	    EVP_DigestUpdate(c, FPR_HASH_LABEL, strlen(FPR_HASH_LABEL)) == 1 &&
	    EVP_DigestUpdate(c, id, DLV_ID_LEN) == 1 &&
	    EVP_DigestFinal_ex(c, f, &fl) == 1 && fl == sizeof(f);
	for (i = 1; ok && i < FPR_HASH_ITER; i++) {
		fl = 0;
		ok = EVP_DigestInit_ex(c, EVP_sha512(), NULL) == 1 &&
		    EVP_DigestUpdate(c, f, sizeof(f)) == 1 &&
		    EVP_DigestUpdate(c, id, DLV_ID_LEN) == 1 &&
		    EVP_DigestFinal_ex(c, f, &fl) == 1 && fl == sizeof(f);
	}
	EVP_MD_CTX_free(c);
	if (!ok)
		return VEIL_E_CRYPTO;
	memcpy(fpr, f, FPR_LEN);
	return 0;
}

/* Sends our VIEW to `only`, or to every peer that is up and not quiet. */
static void
dlv_send_view(struct dlv *d, const struct dlv_peer *only)
{
	uint8_t ids[DLV_VIEW_MAX * DLV_ID_LEN], body[1 + DLV_VIEW_MAX * DLV_ID_LEN];
	size_t i, n = dlv_view(d, ids);

	body[0] = (uint8_t)n;
	memcpy(body + 1, ids, n * DLV_ID_LEN);
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		const struct dlv_peer *p = &d->dl_p[i];

		if (p->dp_used && p->dp_up && !p->dp_quiet && (only == NULL || only == p))
			(void)d->dl_ops->do_send(d->dl_arg, p, IK_VIEW, body, 1 + n * DLV_ID_LEN);
	}
}

/* Adds or keeps (marks) one difference of p's view. */
static void
dlv_diff_mark(struct dlv_peer *p, const uint8_t *id, int theirs, int64_t now)
{
	size_t i;

	for (i = 0; i < p->dp_ndiff; i++)
		if (p->dp_diff[i].df_theirs == theirs &&
		    memcmp(p->dp_diff[i].df_id, id, DLV_ID_LEN) == 0) {
			p->dp_diff[i].df_mark = 1;
			return;
		}
	if (p->dp_ndiff == 2 * DLV_VIEW_MAX)
		return;
	memcpy(p->dp_diff[p->dp_ndiff].df_id, id, DLV_ID_LEN);
	p->dp_diff[p->dp_ndiff].df_theirs = (uint8_t)theirs;
	p->dp_diff[p->dp_ndiff].df_since = now;
	p->dp_diff[p->dp_ndiff].df_said = 0;
	p->dp_diff[p->dp_ndiff++].df_mark = 1;
}

/*
 * Compares p's view with ours. A difference counts from when it appeared;
 * one that lasts DLV_VIEW_GRACE_MS (churn settles well within that: a
 * handshake and a debounced VIEW) is said once, naming every identity
 * that differs for that long.
 */
static void
dlv_compare(struct dlv *d, struct dlv_peer *p, const uint8_t *ids, size_t n,
    int64_t now)
{
	char fp[FPR_TEXT_LEN + 1], has[2][DLV_VIEW_MAX * (FPR_TEXT_LEN + 2) + 1];
	size_t i, j, nsay = 0, settled = 0, len[2] = { 0, 0 };

	for (i = 0; i < p->dp_ndiff; i++)
		p->dp_diff[i].df_mark = 0;
	if (p->dp_have_view) {
		for (i = 0; i < p->dp_nview; i++)
			if (!dlv_has(ids, n, p->dp_view[i]))
				dlv_diff_mark(p, p->dp_view[i], 1, now);
		for (i = 0; i < n; i++)
			if (!dlv_has(p->dp_view[0], p->dp_nview, ids + i * DLV_ID_LEN))
				dlv_diff_mark(p, ids + i * DLV_ID_LEN, 0, now);
	}
	for (i = j = 0; i < p->dp_ndiff; i++) {
		if (!p->dp_diff[i].df_mark) {
			settled += p->dp_diff[i].df_said;	/* settled */
			continue;
		}
		p->dp_diff[j++] = p->dp_diff[i];
	}
	p->dp_ndiff = j;
	if (settled > 0 && j == 0)
		dlv_say(d, 0, "the room looks the same to %s as to you again", p->dp_name);
	has[0][0] = has[1][0] = '\0';
	for (i = 0; i < p->dp_ndiff; i++) {
		struct dlv_diff *f = &p->dp_diff[i];

		if (now - f->df_since < DLV_VIEW_GRACE_MS)
			continue;
		if (!f->df_said)
			nsay++;
		f->df_said = 1;
		d->dl_ops->do_fpr(d->dl_arg, f->df_id, fp);
		len[f->df_theirs] += (size_t)snprintf(has[f->df_theirs] + len[f->df_theirs],
		    sizeof(has[0]) - len[f->df_theirs], "%s%s",
		    len[f->df_theirs] > 0 ? ", " : "", fp);
	}
	if (nsay == 0)
		return;
	dlv_say(d, 1, "the room looks different to %s than to you (the relay may be hiding "
	    "members from each other): %s%s%s%s%s%s; compare room codes (/verify)", p->dp_name,
	    len[1] > 0 ? p->dp_name : "", len[1] > 0 ? " holds a session with " : "", has[1],
	    len[1] > 0 && len[0] > 0 ? "; " : "",
	    len[0] > 0 ? "you hold one that it lacks with " : "", has[0]);
}

static void
dlv_compare_now(struct dlv *d, struct dlv_peer *p, int64_t now)
{
	uint8_t ids[DLV_VIEW_MAX * DLV_ID_LEN];
	size_t n = dlv_view(d, ids);

	dlv_compare(d, p, ids, n, now);
}

void
dlv_tick(struct dlv *d, int64_t now)
{
	uint8_t ids[DLV_VIEW_MAX * DLV_ID_LEN], body[INNER_TOKEN_LEN];
	size_t i, n = 0;

	if (d->dl_view_due != 0 && now >= d->dl_view_due) {
		d->dl_view_due = 0;
		d->dl_view_next = now + DLV_VIEW_EVERY_MS;
		dlv_send_view(d, NULL);
	} else if (d->dl_view_next != 0 && now >= d->dl_view_next) {
		d->dl_view_next = now + DLV_VIEW_EVERY_MS;
		dlv_send_view(d, NULL);
	}
	n = dlv_view(d, ids);
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		struct dlv_peer *p = &d->dl_p[i];

		if (!p->dp_used)
			continue;
		if (!p->dp_up) {
			if (now - p->dp_down_at >= DLV_AWAY_MS && dlv_peer_outstanding(p) > 0)
				dlv_peer_give_up(d, p, "left");
			continue;
		}
		if (p->dp_ack_due != 0 && now >= p->dp_ack_due)
			dlv_send_acks(d, p, 0);
		dlv_pump(d, p, now);
		/*
		 * Silence: a PING waits for an answer (another every
		 * DLV_REPING_MS) since DLV_SILENT_MS, or nothing at all was
		 * heard for that long while one waits.
		 */
		if (p->dp_ping_first != 0 && !p->dp_silent_said &&
		    (now - p->dp_ping_first >= DLV_SILENT_MS ||
		    now - p->dp_heard >= DLV_SILENT_MS)) {
			int64_t since = p->dp_heard < p->dp_ping_first ? p->dp_heard :
			    p->dp_ping_first;

			p->dp_silent_said = 1;
			dlv_say(d, 1, "%s silent for %d s while the relay says it is here (the "
			    "relay may be dropping our messages)", p->dp_name,
			    (int)((now - since) / 1000));
		}
		if ((p->dp_ping_first == 0 &&
		    ((p->dp_wait_since != 0 && now - p->dp_wait_since >= DLV_ACK_WAIT_MS) ||
		    (now - p->dp_heard >= DLV_IDLE_MS && !p->dp_quiet))) ||
		    (p->dp_ping_first != 0 && now - p->dp_ping_last >= DLV_REPING_MS)) {
			uint32_t tok;

			/* Below 2^31: chatc's /rekey PINGs use the tokens above. */
			if (++d->dl_tok >= 0x80000000u)
				d->dl_tok = 1;
			tok = d->dl_tok;

			put_u32(body, tok);
			if (d->dl_ops->do_send(d->dl_arg, p, IK_PING, body, sizeof(body)) == 0) {
				if (p->dp_ping_first == 0) {
					p->dp_ping_first = now;
					p->dp_tok_first = tok;
				}
				p->dp_tok = tok;
				p->dp_ping_last = now;
				p->dp_ping_sent = p->dp_sent;
			}
		}
		dlv_compare(d, p, ids, n, now);
	}
}

int64_t
dlv_next_timer(const struct dlv *d)
{
	int64_t t = INT64_MAX;
	size_t i, j;

#define DLV_MIN(x)	do { if ((x) < t) t = (x); } while (0)
	if (d->dl_view_due != 0)
		DLV_MIN(d->dl_view_due);
	if (d->dl_view_next != 0)
		DLV_MIN(d->dl_view_next);
	for (i = 0; i < DLV_PEERS_MAX; i++) {
		const struct dlv_peer *p = &d->dl_p[i];

		if (!p->dp_used)
			continue;
		if (!p->dp_up) {
			if (dlv_peer_outstanding(p) > 0)
				DLV_MIN(p->dp_down_at + DLV_AWAY_MS);
			continue;
		}
		if (p->dp_ack_due != 0)
			DLV_MIN(p->dp_ack_due);
		if (p->dp_ping_first == 0) {
			if (p->dp_wait_since != 0)
				DLV_MIN(p->dp_wait_since + DLV_ACK_WAIT_MS);
			if (!p->dp_quiet)
				DLV_MIN(p->dp_heard + DLV_IDLE_MS);
		} else {
			DLV_MIN(p->dp_ping_last + DLV_REPING_MS);
			if (!p->dp_silent_said) {
				DLV_MIN(p->dp_ping_first + DLV_SILENT_MS);
				DLV_MIN(p->dp_heard + DLV_SILENT_MS);
			}
		}
		for (j = 0; j < p->dp_ndiff; j++)
			if (!p->dp_diff[j].df_said)
				DLV_MIN(p->dp_diff[j].df_since + DLV_VIEW_GRACE_MS);
	}
#undef DLV_MIN
	return t;
}
