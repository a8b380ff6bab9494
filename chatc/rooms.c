/* SPDX-License-Identifier: ISC */
/*
 * Rooms joined and left (--join, --room, /join, /part). Each room borrows
 * its relay's addresses from the client, looked up once per relay before
 * the sandbox (which allows no name lookup later): /join reaches the
 * relays known at start. Leaving a room is leaving it for good:
 * nothing of it is said in silence (held lines, lines still sealing or
 * queued are reported not sent), its sessions are closed, and keyd answers
 * still on their way for it find no room (client_on_answer drops them).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

/*
 * The addresses of ep (its HOST:PORT), from the client's cache, looked up
 * and cached now if allowed; NULL with the reason in err.
 */
static struct addrinfo *
join_relay(struct client *c, const struct relay_ep *ep, char *err, size_t errlen)
{
	struct chatc_relay *cy;
	struct rl_conn rl;
	char why[160];
	size_t i;

	for (i = 0; i < c->cl_nrelays; i++)
		if (strcmp(c->cl_relays[i].cy_addr, ep->re_addr) == 0)
			return c->cl_relays[i].cy_ai;
	if (!c->cl_may_resolve) {
		snprintf(err, errlen, "cannot reach relay %s from here: chatc looks relays up "
		    "at start only (the sandbox allows no lookup later); give this room "
		    "with --join or --room, or in chatc.conf", ep->re_addr);
		return NULL;
	}
	if (c->cl_nrelays >= sizeof(c->cl_relays) / sizeof(c->cl_relays[0])) {
		snprintf(err, errlen, "too many relays");
		return NULL;
	}
	rl_init(&rl);
	if (rl_resolve(&rl, ep->re_host, ep->re_port, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "relay %s unreachable: %s", ep->re_addr, why);
		rl_free(&rl);
		return NULL;
	}
	cy = &c->cl_relays[c->cl_nrelays++];
	snprintf(cy->cy_addr, sizeof(cy->cy_addr), "%s", ep->re_addr);
	cy->cy_ai = rl.rl_ai;
	return cy->cy_ai;
}

/*
 * Gives each relay of cr its addresses from the client's cache (join_relay)
 * and keeps only those that have them, in order: one not usable is said
 * (on stderr before the sandbox, else in *skipped) and left out. 0, or
 * VEIL_E_SYSTEM with the (first) reason in err when none is usable.
 */
static int
join_relays(struct client *c, struct chatc_room *cr, char *skipped, size_t skiplen,
    char *err, size_t errlen)
{
	char why[512];
	size_t i, k = 0;

	if (skiplen > 0)
		skipped[0] = '\0';
	err[0] = '\0';
	for (i = 0; i < cr->cr_neps; i++) {
		struct relay_ep *ep = &cr->cr_eps[i];

		if ((ep->re_ai = join_relay(c, ep, why, sizeof(why))) == NULL) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s", why);
			if (cr->cr_neps > 1 && c->cl_may_resolve)
				fprintf(stderr, "chatc: %s; not used\n", why);
			else if (cr->cr_neps > 1 && skiplen > 0 && skipped[0] == '\0')
				snprintf(skipped, skiplen, "%s", why);
			continue;
		}
		ep->re_own = 0;
		if (k != i)
			cr->cr_eps[k] = *ep;
		k++;
	}
	cr->cr_neps = k;
	return k > 0 ? 0 : VEIL_E_SYSTEM;
}

int
client_join(struct client *c, const char *text, size_t n, int code, int64_t now,
    char *err, size_t errlen)
{
	static struct chatc_room cr;
	char skipped[512];
	struct room *r;
	size_t i;
	int rc;

	if ((rc = chatc_room_from(c->cl_o, text, n, code, &cr, err, errlen)) != 0)
		return rc;
	for (i = 0; i < c->cl_nrooms; i++)
		if (CRYPTO_memcmp(c->cl_rooms[i]->rm_id, cr.cr_id, ROOM_ID_LEN) == 0) {
			OPENSSL_cleanse(&cr, sizeof(cr));
			c->cl_cur = i;
			emit_plain(c->cl_rooms[i], EV_FOCUS, NULL, 0);
			return 0;
		}
	r = NULL;
	if (c->cl_nrooms >= CHATC_ROOMS_MAX) {
		snprintf(err, errlen, "already in %d rooms, the most one chatc sits in; /part "
		    "one first", CHATC_ROOMS_MAX);
		rc = VEIL_E_LIMIT;
	} else if ((rc = join_relays(c, &cr, skipped, sizeof(skipped), err, errlen)) == 0 &&
	    (r = malloc(sizeof(*r))) == NULL) {
		snprintf(err, errlen, "cannot join: out of memory");
		rc = VEIL_E_ALLOC;
	}
	if (r != NULL) {
		rc = rm_init(r, c, &cr, cr.cr_relay, now);
		r->rm_alloc = 1;
		/* Every relay kept has its addresses (borrowed): nothing is looked up. */
		if (rc == 0)
			rc = link_relays(r, r->rm_epbuf, cr.cr_neps, err, errlen);
		if (rc == 0 && (rc = client_add_room(c, r)) != 0)
			snprintf(err, errlen, "cannot join: %s", veil_strerror(rc));
		if (rc != 0) {
			rm_free(r);
			OPENSSL_cleanse(r, sizeof(*r));
			free(r);
		} else {
			c->cl_cur = r->rm_idx;
			emit_status(r);
			emit_plain(r, EV_FOCUS, NULL, 0);
			if (!c->cl_may_resolve)
				client_warn_short(r);	/* at start: once the screen is up */
			if (skipped[0] != '\0')
				emit(r, EV_WARN, "%s; not used", skipped);
		}
	}
	OPENSSL_cleanse(&cr, sizeof(cr));
	return rc;
}

void
client_free_relays(struct client *c)
{
	size_t i;

	for (i = 0; i < c->cl_nrelays; i++) {
		if (c->cl_relays[i].cy_ai != NULL)
			freeaddrinfo(c->cl_relays[i].cy_ai);
		c->cl_relays[i].cy_ai = NULL;
	}
	c->cl_nrelays = 0;
}

void
client_warn_short(struct room *r)
{
	if (r->rm_short > 0)
		emit(r, EV_WARN, "room name is short (%zu bytes): anyone who guesses it "
		    "can join, and the relay can try names offline; chatc --new-room makes an "
		    "invite code", r->rm_short);
}

void
client_part(struct client *c, size_t idx)
{
	struct room *r;
	size_t i, j;

	if (idx >= c->cl_nrooms)
		return;
	r = c->cl_rooms[idx];
	if (c->cl_nrooms == 1) {
		emit(r, EV_INFO, "this is the only room; /quit leaves it");
		return;
	}
	/*
	 * What leaves with it is said: held lines not sent, lines not yet
	 * acknowledged undelivered (reason "part").
	 */
	tx_held_notsent(r, "you left the room");
	tx_give_up(r, "part");
	for (j = 0; j < ROOM_SIZE_MAX; j++) {
		struct peer *p = &r->rm_peers.pt_p[j];

		if (p->pe_state != PS_FREE) {
			sess_close(r, p, 0);
			peers_del(p);
		}
	}
	rl_close(&r->rm_rl);
	emit_plain(r, EV_PART, NULL, 0);
	for (i = idx; i + 1 < c->cl_nrooms; i++) {
		c->cl_rooms[i] = c->cl_rooms[i + 1];
		c->cl_rooms[i]->rm_idx = i;
	}
	c->cl_nrooms--;
	c->cl_rooms[c->cl_nrooms] = NULL;
	if (c->cl_cur > idx || c->cl_cur >= c->cl_nrooms)
		c->cl_cur = c->cl_cur > 0 ? c->cl_cur - 1 : 0;
	if (r->rm_alloc) {
		rm_free(r);
		OPENSSL_cleanse(r, sizeof(*r));
		free(r);
	} else
		rm_free(r);
	emit_plain(client_room(c), EV_FOCUS, NULL, 0);
}
