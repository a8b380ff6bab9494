/* SPDX-License-Identifier: ISC */
/*
 * A room's link to its relay: when to try connecting, what a failure means
 * and how long to wait before the next try (capped exponential backoff with
 * jitter, for as long as the user stays), keepalives, and --give-up. The
 * socket calls are the loop's (client.c); here only the decisions. A relay
 * that is unreachable, full or drops us is a state to show (the status line,
 * and one WARN each time the state changes), never a reason to exit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "err.h"

/* The next try after a failure: half the backoff, plus up to half again at random. */
static void
link_retry(struct room *r, int64_t now)
{
	uint64_t half = (uint64_t)r->rm_backoff / 2;

	r->rm_tries++;
	r->rm_link = LS_WAIT;
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
		emit(r, EV_WARN, "cannot reach the relay at %s (%s); retrying", r->rm_relay,
		    r->rm_why);
		r->rm_said = LT_UNREACHABLE;
	}
	link_retry(r, now);
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

	switch (r->rm_trouble) {
	case LT_ROOM_FULL:
	case LT_SERVER_FULL:
		if (r->rm_said != r->rm_trouble)
			emit(r, EV_WARN, "relay %s refused us: %s; retrying until a place frees",
			    r->rm_relay, r->rm_why);
		break;
	default:
		r->rm_trouble = LT_LOST;
		if (r->rm_me != 0)
			emit(r, EV_WARN, "lost the relay at %s; reconnecting (%s)", r->rm_relay,
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
	if (r->rm_me != 0)
		r->rm_unjoined_since = now;
	r->rm_me = 0;
	link_retry(r, now);
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
		emit(r, EV_WARN, "in the room at %s again (after %u failed %s)", r->rm_relay,
		    r->rm_tries, r->rm_tries == 1 ? "try" : "tries");
	r->rm_ever_joined = 1;
	r->rm_said = r->rm_trouble = LT_NONE;
	r->rm_why[0] = '\0';
	r->rm_tries = 0;
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
