/* SPDX-License-Identifier: ISC */
/*
 * A room's link to its relay: when to try connecting, what a failure means
 * and how long to wait before the next try (capped exponential backoff with
 * jitter, for as long as the user stays), the TLS handshake and the check
 * of the relay's key (PROTOCOL.md 1.0; tls.c judges), keepalives, and
 * --give-up. The socket calls are the loop's (client.c); here only the
 * decisions. A relay that is unreachable, full or drops us is a state to
 * show (the status line, and one WARN each time the state changes), never a
 * reason to exit; a relay whose key is not the one pinned is: chatc sends
 * it nothing and ends, as ssh does.
 *
 * With several relays (a cluster, PROTOCOL.md 5.7) every failure moves on
 * to the next relay of the list, at once, and the backoff starts only once
 * the whole list failed in a row; a room we were in is joined again through
 * the next relay FAILOVER_MS after its loss, once the cluster counted our
 * old member id out, and the handshakes start afresh there.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

/* Makes relay i of the list the room's: its name, its addresses, its pin. */
static void
link_use(struct room *r, size_t i)
{
	const struct relay_ep *ep = &r->rm_eps[i];

	r->rm_ep = i;
	r->rm_relay = ep->re_addr;
	r->rm_host = ep->re_host;
	r->rm_rl.rl_ai = ep->re_ai;
	r->rm_rl.rl_try = NULL;
	r->rm_has_pin = ep->re_has_pin;
	memcpy(r->rm_pin, ep->re_pin, sizeof(r->rm_pin));
	r->rm_pin_from = ep->re_pin_from;
}

/* The relay after the current one that resolved (the current one if alone). */
static size_t
link_next_ep(const struct room *r)
{
	size_t i, k;

	for (k = 1; k < r->rm_neps; k++) {
		i = (r->rm_ep + k) % r->rm_neps;
		if (r->rm_eps[i].re_ai != NULL)
			return i;
	}
	return r->rm_ep;
}

int
link_relays(struct room *r, const struct relay_ep *eps, size_t n, char *err,
    size_t errlen)
{
	struct relay_ep *ep;
	struct addrinfo hints;
	size_t i, first = n;
	int rc;

	if (n == 0 || n > CHATC_RELAYS_MAX) {
		snprintf(err, errlen, "no relay");
		return VEIL_E_SYSTEM;
	}
	link_relays_free(r);
	rl_close(&r->rm_rl);
	if (r->rm_rl.rl_ai != NULL && !r->rm_ai_borrowed)
		freeaddrinfo(r->rm_rl.rl_ai);
	r->rm_rl.rl_ai = NULL;
	r->rm_rl.rl_try = NULL;
	r->rm_ai_borrowed = 0;
	if (eps != r->rm_epbuf)
		memcpy(r->rm_epbuf, eps, n * sizeof(r->rm_epbuf[0]));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < n; i++) {
		ep = &r->rm_epbuf[i];
		ep->re_own = 0;
		/* Borrowed (the client's cache): used as it is, freed by its owner. */
		if (ep->re_ai != NULL) {
			if (first == n)
				first = i;
			continue;
		}
		if ((rc = getaddrinfo(ep->re_host, ep->re_port, &hints, &ep->re_ai)) != 0) {
			ep->re_ai = NULL;
			snprintf(err, errlen, "%s", gai_strerror(rc));
			if (n > 1)
				fprintf(stderr, "chatc: relay %s: %s; not used\n", ep->re_addr,
				    err);
			continue;
		}
		ep->re_own = 1;
		if (first == n)
			first = i;
	}
	r->rm_eps = r->rm_epbuf;
	r->rm_neps = n;
	if (first == n) {
		link_relays_free(r);
		return VEIL_E_SYSTEM;
	}
	r->rm_round = 0;
	link_use(r, first);
	return 0;
}

void
link_relays_free(struct room *r)
{
	size_t i;

	if (r->rm_neps == 0)
		return;
	rl_close(&r->rm_rl);
	r->rm_rl.rl_ai = NULL;
	r->rm_rl.rl_try = NULL;
	for (i = 0; i < r->rm_neps; i++) {
		if (r->rm_eps[i].re_own && r->rm_eps[i].re_ai != NULL)
			freeaddrinfo(r->rm_eps[i].re_ai);
		r->rm_eps[i].re_ai = NULL;
		r->rm_eps[i].re_own = 0;
	}
	r->rm_eps = NULL;
	r->rm_neps = 0;
}

/*
 * The next try after a failure: half the backoff, plus up to half again at
 * random. With several relays, the next relay instead, at once, until all
 * failed in a row.
 */
static void
link_retry(struct room *r, int64_t now)
{
	uint64_t half = (uint64_t)r->rm_backoff / 2;
	size_t next;

	r->rm_tries++;
	r->rm_link = LS_WAIT;
	if (r->rm_neps > 1 && (next = link_next_ep(r)) != r->rm_ep) {
		link_use(r, next);
		if (++r->rm_round < r->rm_neps) {
			r->rm_next_try = now;
			emit_status(r);
			return;
		}
	}
	r->rm_round = 0;
	r->rm_next_try = now + (int64_t)(half + client_rand(r->rm_cl) % (half + 1));
	r->rm_backoff = r->rm_backoff > BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : 2 * r->rm_backoff;
	emit_status(r);
}

int
link_wants_connect(const struct room *r, int64_t now)
{
	return r->rm_link == LS_WAIT && now >= r->rm_next_try;
}

void
link_connecting(struct room *r, int64_t now)
{
	r->rm_link = LS_CONNECTING;
	r->rm_connect_end = now + CONNECT_TIMEOUT_MS;
}

void
link_connected(struct room *r, int64_t now)
{
	int rc;

	if ((rc = rl_send(&r->rm_rl, FT_JOIN, MEMBER_NONE, r->rm_id, ROOM_ID_LEN)) != 0) {
		rl_close(&r->rm_rl);
		r->rm_trouble = LT_LOST;
		snprintf(r->rm_why, sizeof(r->rm_why), "cannot queue JOIN: %s",
		    veil_strerror(rc));
		link_retry(r, now);
		return;
	}
	r->rm_link = LS_JOINING;
	r->rm_join_sent = r->rm_last_rx = r->rm_last_ping = now;
	emit_status(r);
}

void
link_connect_failed(struct room *r, int err, int64_t now)
{
	rl_close(&r->rm_rl);
	r->rm_trouble = LT_UNREACHABLE;
	snprintf(r->rm_why, sizeof(r->rm_why), "%s", strerror(err));
	if (r->rm_said != LT_UNREACHABLE) {
		/* After a loss, part of a routine reconnect; before we ever joined, news. */
		emit(r, r->rm_ever_joined ? EV_NOTE : EV_WARN, "cannot reach the relay at %s "
		    "(%s); retrying", r->rm_relay, r->rm_why);
		r->rm_said = LT_UNREACHABLE;
	}
	link_retry(r, now);
}

/* A try that failed at the TLS layer: retried after a backoff, said once per change. */
static void
link_tls_failed(struct room *r, int trouble, const char *why, int64_t now)
{
	rl_close(&r->rm_rl);
	r->rm_trouble = trouble;
	snprintf(r->rm_why, sizeof(r->rm_why), "%s", why);
	if (r->rm_said != trouble) {
		if (trouble == LT_SERVER_FULL)
			emit(r, EV_WARN, "relay %s refused us: %s; retrying until a place frees",
			    r->rm_relay, r->rm_why);
		else
			emit(r, EV_WARN, "no TLS link with the relay at %s (%s)%s; retrying",
			    r->rm_relay, r->rm_why, strstr(r->rm_why, "wrong version") != NULL ||
			    strstr(r->rm_why, "packet length") != NULL ?
			    " (a relay without TLS? only relayd --plaintext with chatc --plaintext"
			    " talk without it)" : "");
		r->rm_said = trouble;
	}
	link_retry(r, now);
}

void
link_tcp_up(struct room *r, int64_t now)
{
	struct ctls *t = r->rm_cl->cl_tls;

	memset(r->rm_relay_fp, 0, sizeof(r->rm_relay_fp));
	r->rm_relay_auth = RA_NONE;
	if (t == NULL) {
		link_connected(r, now);		/* --plaintext */
		return;
	}
	if (rl_tls_start(&r->rm_rl, t->ct_ctx, r->rm_host) != 0) {
		link_tls_failed(r, LT_TLS, "out of memory", now);
		return;
	}
	r->rm_link = LS_TLS;
	r->rm_connect_end = now + CONNECT_TIMEOUT_MS;
	r->rm_auth_next = 0;
	link_tls_event(r, now);		/* the ClientHello goes out now */
}

/* Not the relay we were told of: nothing is sent to it, and chatc ends. */
static void
link_refuse(struct room *r, const char *why)
{
	struct client *c = r->rm_cl;

	rl_close(&r->rm_rl);
	r->rm_link = LS_WAIT;
	r->rm_next_try = INT64_MAX;
	r->rm_trouble = LT_TLS;
	snprintf(r->rm_why, sizeof(r->rm_why), "%s", why);
	if (c->cl_quit == QUIT_NO)
		c->cl_quit = QUIT_RELAY_KEY;
}

/*
 * A room known by name is salted with the relay's proven key (PROTOCOL.md
 * 4): derived at the first link, and again only if a CA-vouched relay
 * changed its key (a pinned one cannot). Argon2id stalls the loop for a
 * moment, once. 0 or a veil_err.
 */
static int
link_name_room(struct room *r, const uint8_t fp[static RELAYFP_LEN])
{
	int e;

	if (r->rm_secret_name[0] == '\0' ||
	    (r->rm_derived && CRYPTO_memcmp(r->rm_salt_fp, fp, RELAYFP_LEN) == 0))
		return 0;
	e = roomkey_from_name(r->rm_secret_name, fp, r->rm_id, r->rm_key);
	if (e != 0) {
		r->rm_derived = 0;
		return e;
	}
	memcpy(r->rm_salt_fp, fp, RELAYFP_LEN);
	r->rm_derived = 1;
	return 0;
}

/* The handshake is done: is this the relay's key (tls.c, PROTOCOL.md 1.0)? */
static void
link_tls_auth(struct room *r, int64_t now)
{
	char where[4200], why[4200], got[RELAYFP_TEXT_MAX], pinned[RELAYFP_TEXT_MAX];
	uint8_t fp[RELAYFP_LEN], want[RELAYFP_LEN];
	int how, v;

	v = ctls_check(r->rm_cl->cl_tls, r->rm_rl.rl_ssl, r, fp, want, &how, where,
	    sizeof(where), why, sizeof(why));
	proto_relayfp_format(fp, got);
	proto_relayfp_format(want, pinned);
	switch (v) {
	case CT_OK:
		break;
	case CT_BUSY:
		/* known_relays is another chatc's for a moment: never waited for here. */
		if (now >= r->rm_connect_end) {
			link_tls_failed(r, LT_TLS, "known_relays stayed locked by another process",
			    now);
			return;
		}
		r->rm_auth_next = now + KR_LOCK_POLL_MS;
		return;
	case CT_MISMATCH:
		emit(r, EV_ERROR, "the relay at %s presented the key %s, but %s pins %s: "
		    "refusing it; someone on the path may be posing as the relay. If the "
		    "relay's key really changed, ask its operator for the new fingerprint "
		    "and run chatc with --relay-fp NEW%s%s", r->rm_relay, got, where, pinned,
		    r->rm_has_pin ? "" : ", or chatc --forget-relay ",
		    r->rm_has_pin ? "" : r->rm_relay);
		link_refuse(r, "the relay's key is not the one pinned");
		return;
	case CT_CAFAIL:
		emit(r, EV_ERROR, "the relay at %s presented a certificate that does not check "
		    "out (%s): refusing it. Its key is %s; if you know that is the relay's "
		    "key, run chatc with --relay-fp %s", r->rm_relay, why, got, got);
		link_refuse(r, "the relay's certificate does not check out");
		return;
	default:
		link_tls_failed(r, LT_TLS, why, now);
		return;
	}
	memcpy(r->rm_relay_fp, fp, sizeof(r->rm_relay_fp));
	r->rm_relay_auth = how;
	if (link_name_room(r, fp) != 0) {
		link_tls_failed(r, LT_TLS, "cannot derive the room from its name (out of "
		    "memory?)", now);
		return;
	}
	if (how == RA_NEW)
		emit(r, EV_WARN, "first connection to the relay at %s: its key %s is now pinned "
		    "in %s; compare it with what the relay's operator says", r->rm_relay, got,
		    r->rm_cl->cl_tls->ct_krpath);
	if (why[0] != '\0')
		emit(r, EV_WARN, "%s", why);
	link_connected(r, now);
}

void
link_tls_event(struct room *r, int64_t now)
{
	char why[256];
	int rc;

	if (r->rm_link != LS_TLS)
		return;
	if (!r->rm_rl.rl_tls_up) {
		rc = rl_tls_step(&r->rm_rl, why, sizeof(why));
		if (rc == RL_WANT_READ || rc == RL_WANT_WRITE)
			return;
		if (rc < 0) {
			link_tls_failed(r, rc == VEIL_E_LIMIT ? LT_SERVER_FULL : LT_TLS, why, now);
			return;
		}
	}
	link_tls_auth(r, now);
}

void
link_ended(struct room *r, int trouble, const char *why, int64_t now)
{
	(void)now;
	if (r->rm_link != LS_JOINING && r->rm_link != LS_JOINED)
		return;
	r->rm_link = LS_DRAINING;
	r->rm_trouble = trouble;
	if (why != r->rm_why)
		snprintf(r->rm_why, sizeof(r->rm_why), "%s", why);
}

int
link_drained(const struct room *r)
{
	struct frame f;

	/* A frame that breaks PROTOCOL.md ends what can be taken, too. */
	return r->rm_link == LS_DRAINING && r->rm_npending == 0 && rl_peek(&r->rm_rl, &f) != 1;
}

void
link_lost(struct room *r, int64_t now)
{
	size_t i;
	int was_in;

	switch (r->rm_trouble) {
	case LT_ROOM_FULL:
	case LT_SERVER_FULL:
		if (r->rm_said != r->rm_trouble)
			emit(r, EV_WARN, "relay %s refused us: %s; retrying until a place frees",
			    r->rm_relay, r->rm_why);
		break;
	default:
		r->rm_trouble = LT_LOST;
		/* Routine: lines it cost are reported one by one below. */
		if (r->rm_me != 0 && r->rm_neps > 1 && link_next_ep(r) != r->rm_ep)
			emit(r, EV_NOTE, "lost the relay at %s (%s); joining through %s in "
			    "%d.%d s", r->rm_relay, r->rm_why, r->rm_eps[link_next_ep(r)].re_addr,
			    FAILOVER_MS / 1000, FAILOVER_MS % 1000 / 100);
		else if (r->rm_me != 0)
			emit(r, EV_NOTE, "lost the relay at %s; reconnecting (%s)", r->rm_relay,
			    r->rm_why);
		else if (r->rm_said != LT_LOST)
			emit(r, EV_WARN, "relay %s ended the connection before we joined (%s); "
			    "retrying", r->rm_relay, r->rm_why);
		break;
	}
	r->rm_said = r->rm_trouble;
	/* Lines on their way stay outstanding: sent again after the next handshakes. */
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if (p->pe_state == PS_FREE)
			continue;
		sess_close(r, p, 0);
		peers_del(p);
	}
	rl_close(&r->rm_rl);
	was_in = r->rm_me != 0;
	if (was_in)
		r->rm_unjoined_since = now;
	r->rm_me = 0;
	link_retry(r, now);
	/* Our old id must be gone everywhere before the new one shows (PROTOCOL.md 5.7). */
	if (was_in && r->rm_neps > 1 && r->rm_next_try < now + FAILOVER_MS)
		r->rm_next_try = now + FAILOVER_MS;
}

void
link_joined(struct room *r, uint16_t me, int64_t now)
{
	r->rm_me = me;
	r->rm_link = LS_JOINED;
	r->rm_unjoined_since = 0;
	r->rm_last_rx = now;
	r->rm_backoff = BACKOFF_FIRST_MS;
	if (r->rm_said != LT_NONE)
		emit(r, EV_NOTE, "in the room at %s again (after %u failed %s)", r->rm_relay,
		    r->rm_tries, r->rm_tries == 1 ? "try" : "tries");
	r->rm_ever_joined = 1;
	r->rm_said = r->rm_trouble = LT_NONE;
	r->rm_why[0] = '\0';
	r->rm_tries = 0;
	r->rm_round = 0;
	emit_status(r);
}

void
link_tick(struct room *r, int64_t now)
{
	struct client *c = r->rm_cl;
	int64_t gu = (int64_t)c->cl_o->co_give_up * 1000;

	switch (r->rm_link) {
	case LS_CONNECTING:
		if (now >= r->rm_connect_end)
			link_connect_failed(r, ETIMEDOUT, now);
		break;
	case LS_TLS:
		if (r->rm_rl.rl_tls_up && now >= r->rm_auth_next)
			link_tls_event(r, now);		/* the pin lock, again */
		else if (!r->rm_rl.rl_tls_up && now >= r->rm_connect_end)
			link_tls_failed(r, LT_TLS, "TLS handshake timed out", now);
		break;
	case LS_JOINING:
		if (now - r->rm_join_sent > KEEPALIVE_SEC * 1000)
			link_ended(r, LT_LOST, "no WELCOME", now);
		break;
	case LS_JOINED:
		if (now - r->rm_last_rx >= KEEPALIVE_MISSES * KEEPALIVE_SEC * 1000) {
			link_ended(r, LT_LOST, "keepalives unanswered", now);
			break;
		}
		if (now - r->rm_last_ping >= KEEPALIVE_SEC * 1000 &&
		    rl_send(&r->rm_rl, FT_PING, MEMBER_NONE, NULL, 0) == 0)
			r->rm_last_ping = now;
		break;
	}
	if (gu > 0 && r->rm_link != LS_JOINED && r->rm_unjoined_since != 0 &&
	    now - r->rm_unjoined_since >= gu && c->cl_quit == QUIT_NO) {
		emit(r, EV_WARN, "giving up: not in the room at %s for %d s (%s)", r->rm_relay,
		    c->cl_o->co_give_up, r->rm_why[0] != '\0' ? r->rm_why : "no answer yet");
		c->cl_quit = QUIT_GAVEUP;
	}
}

int64_t
link_next_timer(const struct room *r)
{
	int64_t t = INT64_MAX, gu = (int64_t)r->rm_cl->cl_o->co_give_up * 1000;

	switch (r->rm_link) {
	case LS_WAIT:
		t = r->rm_next_try;
		break;
	case LS_CONNECTING:
		t = r->rm_connect_end;
		break;
	case LS_TLS:
		t = r->rm_rl.rl_tls_up ? r->rm_auth_next : r->rm_connect_end;
		break;
	case LS_JOINING:
		t = r->rm_join_sent + KEEPALIVE_SEC * 1000 + 1;
		break;
	case LS_JOINED:
		t = r->rm_last_ping + KEEPALIVE_SEC * 1000;
		if (r->rm_last_rx + KEEPALIVE_MISSES * KEEPALIVE_SEC * 1000 < t)
			t = r->rm_last_rx + KEEPALIVE_MISSES * KEEPALIVE_SEC * 1000;
		break;
	}
	if (gu > 0 && r->rm_link != LS_JOINED && r->rm_unjoined_since != 0 &&
	    r->rm_unjoined_since + gu < t)
		t = r->rm_unjoined_since + gu;
	return t;
}
