/* SPDX-License-Identifier: ISC */
/*
 * A room's state: the member table, the bounded hold queue for lines typed
 * before any session is secure, and the room's own life (id, key, relay
 * connection, lookups). Only data here: what frames and answers do to it is
 * relay_ev.c, sess.c and tx.c; its link to the relay is link.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

void
holdq_init(struct holdq *q)
{
	memset(q, 0, sizeof(*q));
}

int
holdq_push(struct holdq *q, const uint8_t *p, size_t n)
{
	size_t slot;

	if (n == 0 || n > MSG_MAX)
		return VEIL_E_INVALID;
	if (q->hq_count >= HOLD_MAX)
		return VEIL_E_LIMIT;
	slot = (q->hq_head + q->hq_count) % HOLD_MAX;
	memcpy(q->hq_buf[slot], p, n);
	q->hq_len[slot] = (uint16_t)n;
	q->hq_count++;
	return 0;
}

int
holdq_peek(const struct holdq *q, const uint8_t **p, size_t *n)
{
	if (q->hq_count == 0) {
		*p = NULL;
		*n = 0;
		return 0;
	}
	*p = q->hq_buf[q->hq_head];
	*n = q->hq_len[q->hq_head];
	return 1;
}

void
holdq_pop(struct holdq *q)
{
	if (q->hq_count == 0)
		return;
	OPENSSL_cleanse(q->hq_buf[q->hq_head], q->hq_len[q->hq_head]);
	q->hq_len[q->hq_head] = 0;
	q->hq_n[q->hq_head] = 0;
	q->hq_head = (q->hq_head + 1) % HOLD_MAX;
	q->hq_count--;
}

void
holdq_clear(struct holdq *q)
{
	OPENSSL_cleanse(q, sizeof(*q));
	holdq_init(q);
}

void
peers_init(struct peers *t)
{
	memset(t, 0, sizeof(*t));
}

struct peer *
peers_find(struct peers *t, uint16_t id)
{
	size_t i;

	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (t->pt_p[i].pe_state != PS_FREE && t->pt_p[i].pe_id == id)
			return &t->pt_p[i];
	return NULL;
}

struct peer *
peers_find_gen(struct peers *t, uint16_t id, uint32_t gen)
{
	struct peer *p = peers_find(t, id);

	return p != NULL && p->pe_gen == gen ? p : NULL;
}

struct peer *
peers_by_handle(struct peers *t, uint32_t handle)
{
	size_t i;

	if (handle == 0)
		return NULL;
	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (t->pt_p[i].pe_state != PS_FREE && t->pt_p[i].pe_handle == handle)
			return &t->pt_p[i];
	return NULL;
}

struct peer *
peers_by_nick(struct peers *t, const uint8_t *nick, size_t n)
{
	size_t i;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &t->pt_p[i];

		if (p->pe_state == PS_SECURE && p->pe_nicklen == n &&
		    memcmp(p->pe_nick, nick, n) == 0)
			return p;
	}
	return NULL;
}

struct peer *
peers_add(struct peers *t, uint16_t id, int st)
{
	struct peer *p;
	size_t i;

	if ((p = peers_find(t, id)) != NULL)
		return p;
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		p = &t->pt_p[i];
		if (p->pe_state != PS_FREE)
			continue;
		memset(p, 0, sizeof(*p));
		p->pe_state = st;
		p->pe_id = id;
		/* Never 0, so a context of "no member" never matches. */
		if (++t->pt_gen == 0)
			t->pt_gen = 1;
		p->pe_gen = t->pt_gen;
		snprintf(p->pe_name, sizeof(p->pe_name), "member %u", (unsigned int)id);
		return p;
	}
	return NULL;
}

void
peers_set_nick(struct peer *p, const uint8_t *nick, size_t n)
{
	if (n > NICK_MAX)
		n = NICK_MAX;
	memcpy(p->pe_nick, nick, n);
	p->pe_nicklen = n;
	p->pe_had_nick = 1;
	esc_text(nick, n, p->pe_name, sizeof(p->pe_name));
}

void
peers_del(struct peer *p)
{
	memset(p, 0, sizeof(*p));
}

size_t
peers_count(const struct peers *t, int st)
{
	size_t i, n = 0;

	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (t->pt_p[i].pe_state == st)
			n++;
	return n;
}

const char *
chatc_trust_name(uint8_t trust)
{
	switch (trust) {
	case TRUST_NEW:
		return "new";
	case TRUST_PINNED:
		return "pinned";
	case TRUST_EXPECTED:
		return "expected";
	case TRUST_VERIFIED:
		return "verified";
	case TRUST_REFUSED:
		return "refused";
	default:
		return "?";
	}
}

int
rm_init(struct room *r, struct client *c, const struct chatc_room *cr, const char *relay,
    int64_t now)
{
	memset(r, 0, sizeof(*r));
	rl_init(&r->rm_rl);
	peers_init(&r->rm_peers);
	holdq_init(&r->rm_hold);
	r->rm_cl = c;
	snprintf(r->rm_namebuf, sizeof(r->rm_namebuf), "%s", cr->cr_label);
	r->rm_name = r->rm_namebuf;
	esc_text((const uint8_t *)r->rm_name, strnlen(r->rm_name, 64), r->rm_ename,
	    sizeof(r->rm_ename));
	snprintf(r->rm_relaybuf, sizeof(r->rm_relaybuf), "%s", relay);
	r->rm_relay = r->rm_relaybuf;
	r->rm_short = cr->cr_short;
	memcpy(r->rm_id, cr->cr_id, ROOM_ID_LEN);
	memcpy(r->rm_key, cr->cr_key, ROOM_KEY_LEN);
	r->rm_derived = cr->cr_derived;
	memcpy(r->rm_salt_fp, cr->cr_salt_fp, sizeof(r->rm_salt_fp));
	memcpy(r->rm_secret_name, cr->cr_name, sizeof(r->rm_secret_name));
	snprintf(r->rm_hostbuf, sizeof(r->rm_hostbuf), "%s", cr->cr_host);
	r->rm_host = r->rm_hostbuf;
	if (cr->cr_has_pin) {
		r->rm_has_pin = 1;
		memcpy(r->rm_pin, cr->cr_pin, sizeof(r->rm_pin));
		r->rm_pin_from = cr->cr_pin_from;
	}
	/* Its own copy of its relays, for link_relays (nothing shared between rooms). */
	if (cr->cr_neps <= CHATC_RELAYS_MAX)
		memcpy(r->rm_epbuf, cr->cr_eps, cr->cr_neps * sizeof(r->rm_epbuf[0]));
	if (++c->cl_serial == 0)
		c->cl_serial = 1;
	r->rm_serial = c->cl_serial;
	r->rm_link = LS_WAIT;
	r->rm_backoff = BACKOFF_FIRST_MS;
	r->rm_next_try = now;
	r->rm_unjoined_since = now;
	/* Before the sandbox: a stream id no other run of ours will use. */
	if (getrandom(&r->rm_stream, sizeof(r->rm_stream), 0) !=
	    (ssize_t)sizeof(r->rm_stream))
		return VEIL_E_CRYPTO;
	return dlv_init(&r->rm_dlv, &tx_dlv_ops, r, r->rm_id, c->cl_myid, r->rm_stream);
}

void
rm_free(struct room *r)
{
	dlv_free(&r->rm_dlv);
	holdq_clear(&r->rm_hold);
	link_relays_free(r);	/* only what it resolved: borrowed addresses stay */
	if (r->rm_ai_borrowed)
		r->rm_rl.rl_ai = NULL;	/* the client's, freed once by its owner */
	rl_free(&r->rm_rl);
	OPENSSL_cleanse(r->rm_key, sizeof(r->rm_key));
	OPENSSL_cleanse(r->rm_secret_name, sizeof(r->rm_secret_name));
}

struct room *
rm_by_serial(struct client *c, uint32_t serial)
{
	size_t i;

	for (i = 0; i < c->cl_nrooms; i++)
		if (c->cl_rooms[i]->rm_serial == serial)
			return c->cl_rooms[i];
	return NULL;
}

int
rm_has_prospect(const struct room *r, int64_t now)
{
	size_t i;

	if (r->rm_link != LS_JOINED || r->rm_nbarrier > 0)
		return 1;
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &r->rm_peers.pt_p[i];

		/* A member that joined and never starts its handshake is no prospect for long. */
		if (p->pe_state == PS_HS ||
		    (p->pe_state == PS_WAIT && now - p->pe_hs_at < HS_TIMEOUT_MS))
			return 1;
	}
	return 0;
}
