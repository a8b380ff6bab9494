/* SPDX-License-Identifier: ISC */
/*
 * The loop that ties chatc together: one ppoll over the input (terminal or
 * batch lines), the keyd socket and each room's relay socket. It moves
 * bytes, hands decoded frames, keyd answers and typed lines to the core,
 * and applies back-pressure: input and frames wait while keyd has
 * KEYDC_SOFT requests in flight or the relay backlog is high. It never
 * waits on keyd or a relay; only the ending does, bounded, to hand over
 * what is queued. Losing keyd is the one fatal error: nothing can be
 * opened or sealed without it.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "client.h"
#include "err.h"

static volatile sig_atomic_t g_quit_sig;
static volatile sig_atomic_t g_winch;
static struct batch_in g_in;

void
client_signal(int sig)
{
	if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_quit_sig = sig;
}

int64_t
chatc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
client_init(struct client *c, const struct chatc_opts *o, struct keydc *k,
    const struct fe *fe, int batch, const uint8_t myfpr[static FPR_LEN], uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	c->cl_o = o;
	c->cl_k = k;
	c->cl_fe = *fe;
	c->cl_batch = batch;
	memcpy(c->cl_myfpr, myfpr, FPR_LEN);
	c->cl_rand = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
	c->cl_now = chatc_now_ms();
}

void
client_set_me(struct client *c, const uint8_t fpr[static FPR_LEN],
    const uint8_t id[static ED25519_PUB_LEN])
{
	size_t i;

	memcpy(c->cl_myfpr, fpr, FPR_LEN);
	memcpy(c->cl_myid, id, ED25519_PUB_LEN);
	for (i = 0; i < c->cl_nrooms; i++)
		memcpy(c->cl_rooms[i]->rm_dlv.dl_me, id, ED25519_PUB_LEN);
}

int
client_add_room(struct client *c, struct room *r)
{
	if (c->cl_nrooms >= CHATC_ROOMS_MAX)
		return VEIL_E_LIMIT;
	r->rm_idx = c->cl_nrooms;
	c->cl_rooms[c->cl_nrooms++] = r;
	if (c->cl_nrooms > 1)
		c->cl_multi = 1;
	return 0;
}

struct room *
client_room(struct client *c)
{
	return c->cl_rooms[c->cl_cur < c->cl_nrooms ? c->cl_cur : 0];
}

struct ipc_msg *
client_req(struct client *c, uint8_t code)
{
	memset(&c->cl_req, 0, sizeof(c->cl_req));
	c->cl_req.im_code = code;
	return &c->cl_req;
}

uint64_t
client_rand(struct client *c)
{
	/* xorshift64*: spreads retries of many clients; nothing secret depends on it. */
	c->cl_rand ^= c->cl_rand >> 12;
	c->cl_rand ^= c->cl_rand << 25;
	c->cl_rand ^= c->cl_rand >> 27;
	return c->cl_rand * 0x2545f4914f6cdd1dULL;
}

/* ANS_STATUS: when known_peers changed since the last one, every room hears of it. */
static void
client_on_status(struct client *c, const struct ipc_msg *a)
{
	size_t i;

	c->cl_status_asked = 0;
	if (a->im_code != ANS_STATUS)
		return;
	if (c->cl_pins_gen != 0 && a->im_gen != c->cl_pins_gen)
		for (i = 0; i < c->cl_nrooms; i++)
			sess_pins_changed(c->cl_rooms[i]);
	c->cl_pins_gen = a->im_gen;
}

/* REQ_STATUS every STATUS_POLL_MS, one at a time, when keyd keeps up. */
static void
client_poll_status(struct client *c, int64_t now)
{
	struct ipc_msg *q;
	struct kx x;

	if (c->cl_status_asked || now < c->cl_status_at || keydc_busy(c->cl_k))
		return;
	c->cl_status_at = now + STATUS_POLL_MS;
	q = client_req(c, REQ_STATUS);
	memset(&x, 0, sizeof(x));
	x.kx_kind = KX_STATUS;
	if (keydc_push(c->cl_k, q, &x, now) == 0)
		c->cl_status_asked = 1;
}

int64_t
client_next_timer(const struct client *c)
{
	return c->cl_status_asked ? INT64_MAX : c->cl_status_at;
}

void
client_on_answer(struct client *c, struct kx *x, const struct ipc_msg *a, int64_t now)
{
	struct room *r;

	if (x->kx_kind == KX_STATUS) {
		client_on_status(c, a);
		return;
	}
	if (x->kx_kind == KX_HIST) {
		hist_answer(c, a);
		return;
	}
	r = x->kx_room != 0 ? rm_by_serial(c, x->kx_room) : NULL;
	if (r == NULL) {
		/* Its room is gone: a session keyd made for it is of no use. */
		if (x->kx_free != NULL && x->kx_data != NULL)
			x->kx_free(x->kx_data);
		x->kx_data = NULL;
		return;
	}
	r->rm_npending--;
	if (sess_barrier(x->kx_kind))
		r->rm_nbarrier--;
	sess_answer(r, x, a, now);
	if (x->kx_free != NULL && x->kx_data != NULL)
		x->kx_free(x->kx_data);
	x->kx_data = NULL;
}

/* ---- the loop's parts ---- */

/* Applies every answer keyd has sent so far. 0, or a negative veil_err: keyd broke PROTOCOL.md 3. */
static int
client_answers(struct client *c, int64_t now)
{
	const struct ipc_msg *a;
	struct kx x;
	int rc;

	while ((rc = keydc_next(c->cl_k, &x, &a, now)) == 1)
		client_on_answer(c, &x, a, now);
	return rc;
}

static void
client_connect(struct room *r, int64_t now)
{
	int rc = rl_connect_start(&r->rm_rl), e = errno;

	if (rc == VEIL_E_SYSTEM) {
		link_connect_failed(r, e, now);
		return;
	}
	link_connecting(r, now);
	if (rc == 0)
		link_tcp_up(r, now);
}

/* Frames already read, as far as the room can take them now. */
static void
client_frames(struct room *r, int64_t now)
{
	struct frame f;
	int rc;

	while (r->rm_link == LS_JOINING || r->rm_link == LS_JOINED ||
	    r->rm_link == LS_DRAINING) {
		if ((rc = rl_peek(&r->rm_rl, &f)) == 0)
			break;
		if (rc < 0) {
			/* A TLS record where a frame belongs: a relay that wants TLS. */
			link_ended(r, LT_LOST, r->rm_me == 0 && r->rm_rl.rl_ssl == NULL &&
			    r->rm_rl.rl_inlen > 0 && (r->rm_rl.rl_in[0] == 0x15 ||
			    r->rm_rl.rl_in[0] == 0x16) ? "the relay answered in TLS: drop "
			    "--plaintext" : veil_strerror(rc), now);
			break;
		}
		if (!rm_can_take(r, &f))
			break;
		if (rl_next(&r->rm_rl, &f) != 1)
			break;
		rm_on_frame(r, &f, now);
	}
}

int
client_step(struct client *c, int64_t now)
{
	size_t i;
	int rc;

	c->cl_now = now;
	if ((rc = client_answers(c, now)) < 0)
		return rc;
	if (!c->cl_final)
		client_poll_status(c, now);
	for (i = 0; i < c->cl_nrooms; i++) {
		struct room *r = c->cl_rooms[i];

		link_tick(r, now);
		if (link_wants_connect(r, now))
			client_connect(r, now);
		if (r->rm_link == LS_JOINED)
			sess_timeouts(r, now);
		client_frames(r, now);
		if (link_drained(r))
			link_lost(r, now);
		tx_sync(r, now);
		tx_drain_hold(r);
	}
	return 0;
}

static int
client_relay_up(const struct room *r)
{
	return r->rm_link == LS_JOINING || r->rm_link == LS_JOINED;
}

/* Input waits inside libssl (poll cannot see it) and the backlog takes it. */
static int
client_relay_pending(const struct room *r)
{
	const struct rl_conn *rl = &r->rm_rl;

	return client_relay_up(r) && rl_pending(rl) &&
	    rl->rl_inlen - rl->rl_used + RL_READ_CHUNK < RL_IN_MAX;
}

/* Writes what the room's relay takes; a failure ends the connection. */
static void
client_flush_relay(struct room *r, int64_t now)
{
	if (!client_relay_up(r) || r->rm_rl.rl_outlen == 0)
		return;
	if (rl_flush(&r->rm_rl) != 0)
		link_ended(r, LT_LOST, "write failed", now);
}

/* Our lines not yet acknowledged by peers that are here now. */
static size_t
client_unacked_here(const struct client *c)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->cl_nrooms; i++) {
		const struct dlv *d = &c->cl_rooms[i]->rm_dlv;

		for (j = 0; j < DLV_PEERS_MAX; j++)
			if (d->dl_p[j].dp_used && d->dl_p[j].dp_up)
				n += dlv_peer_outstanding(&d->dl_p[j]);
	}
	return n;
}

void
client_leave(struct client *c, int64_t now)
{
	size_t n;

	if (c->cl_leaving != 0 || (n = client_unacked_here(c)) == 0) {
		c->cl_quit = QUIT_USER;
		return;
	}
	c->cl_leaving = now;
	emit(client_room(c), EV_INFO, "leaving: waiting up to %d s for %zu line(s) to be "
	    "acknowledged%s", QUIT_WAIT_MS / 1000, n, c->cl_batch ? "" :
	    " (/quit or Ctrl-C again to leave now)");
}

/*
 * Input may be read: keyd's queue and every relay backlog have room, and no
 * peer that is here has more than TX_PENDING_HIGH of our lines waiting for
 * its window (a paste goes at the pace of its acknowledgements; typing by
 * hand never gets there).
 */
static int
client_input_ok(const struct client *c)
{
	size_t i;

	/* Leaving: a script's lines after /quit are not read; a person may /quit again. */
	if (keydc_busy(c->cl_k) || (c->cl_leaving != 0 && c->cl_batch))
		return 0;
	for (i = 0; i < c->cl_nrooms; i++)
		if (c->cl_rooms[i]->rm_rl.rl_outlen >= RL_OUT_HIGH ||
		    tx_pending(c->cl_rooms[i]) >= TX_PENDING_HIGH)
			return 0;
	return 1;
}

/* Batch input: whole lines, while keyd and the relays keep up. */
static void
client_batch_lines(struct client *c, int64_t now)
{
	const uint8_t *line;
	size_t len, i;
	int k;

	while (c->cl_quit == QUIT_NO && client_input_ok(c) &&
	    (k = batch_in_next(&g_in, &line, &len)) != 0) {
		if (k == 1)
			client_on_line(c, line, len);
		else
			client_on_overlong(c, len);
		/* Requests go out as they come, so keyd works while we read on. */
		if (c->cl_k->kc_outlen >= RL_FLUSH_AT && keydc_flush(c->cl_k) != 0)
			break;		/* the loop finds keyd gone */
		/*
		 * Frames out as we go, not in one burst at the end: a burst
		 * larger than the relay's per-member bound would get the
		 * receiver dropped as a slow reader.
		 */
		for (i = 0; i < c->cl_nrooms; i++)
			if (c->cl_rooms[i]->rm_rl.rl_outlen >= RL_FLUSH_AT)
				client_flush_relay(c->cl_rooms[i], now);
	}
}

/*
 * Typed keys: lines go to the core as they are entered, while keyd and the
 * relay keep up; keys read past that wait in g_keys for the next turn.
 */
static uint8_t g_keys[512];
static size_t g_nkeys;

/* Lines the screen has for the core, as far as keyd and the relay keep up. */
static void
client_ui_lines(struct client *c, struct ui *u)
{
	const uint8_t *line;
	size_t len;

	while (c->cl_quit == QUIT_NO && client_input_ok(c) && ui_line(u, &line, &len))
		client_on_line(c, line, len);
}

static void
client_keys(struct client *c, struct ui *u, int rd)
{
	size_t i = 0;
	ssize_t n;

	if (rd && g_nkeys == 0) {
		n = read(STDIN_FILENO, g_keys, sizeof(g_keys));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {		/* the terminal went away */
			c->cl_quit = QUIT_HUP;
			return;
		}
		g_nkeys = (size_t)n;
	}
	client_ui_lines(c, u);
	while (i < g_nkeys && c->cl_quit == QUIT_NO && client_input_ok(c) && !ui_pending(u)) {
		switch (ui_key(u, g_keys[i++])) {
		case UIK_LINE:
			client_ui_lines(c, u);
			break;
		case UIK_QUIT:
			client_leave(c, chatc_now_ms());
			break;
		}
	}
	memmove(g_keys, g_keys + i, g_nkeys - i);
	OPENSSL_cleanse(g_keys + g_nkeys - i, i);
	g_nkeys -= i;
}

/* When waiting at the end of input stops: EOF_HOLD_WAIT_MS without progress. */
static int64_t
client_eof_deadline(const struct client *c)
{
	int64_t from = c->cl_eof_at > c->cl_progress_at ? c->cl_eof_at : c->cl_progress_at;

	return from + EOF_HOLD_WAIT_MS;
}

/*
 * Batch input ended: done once every line was acknowledged by every peer
 * it went to and handed to the relay, unless lines are still held and a
 * session may still come up; waiting ends after EOF_HOLD_WAIT_MS without a
 * line delivered (what is left ends UNDELIVERED), or with --give-up as long
 * as that allows.
 */
static int
client_eof_done(struct client *c, int64_t now)
{
	size_t i, held = 0, out = 0;
	int prospect = 0;

	if (!batch_in_done(&g_in) || keydc_pending(c->cl_k) > 0)
		return 0;
	for (i = 0; i < c->cl_nrooms; i++) {
		struct room *r = c->cl_rooms[i];

		if (client_relay_up(r) && r->rm_rl.rl_outlen > 0)
			return 0;
		held += r->rm_hold.hq_count;
		out += dlv_outstanding(&r->rm_dlv);
		prospect |= rm_has_prospect(r, now);
	}
	if ((held == 0 || !prospect) && out == 0)
		return 1;
	if (c->cl_o->co_give_up > 0)
		return 0;
	return now >= client_eof_deadline(c);
}

/* ---- ending ---- */

/*
 * Until keyd has answered everything asked (answers applied as usual),
 * bounded by keyd's timeout. 0, or -1 when keyd is gone.
 */
static int
client_settle(struct client *c)
{
	struct keydc *k = c->cl_k;
	struct pollfd pfd;
	int64_t now;
	int rd;

	while (keydc_pending(k) > 0 && !k->kc_mem) {
		now = c->cl_now = chatc_now_ms();
		if (keydc_flush(k) != 0 || client_answers(c, now) < 0)
			return -1;
		if (keydc_pending(k) == 0)
			break;
		if (now >= keydc_deadline(k))
			return -1;
		pfd.fd = k->kc_fd;
		pfd.events = POLLIN | (k->kc_outlen > 0 ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			return -1;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			rd = keydc_read(k);
			if (client_answers(c, chatc_now_ms()) < 0 || rd != 0)
				return -1;
		}
	}
	return 0;
}

/* Everything queued reaches the relay (bounded), then an orderly close. */
static void
client_close_relay(struct room *r)
{
	struct rl_conn *rl = &r->rm_rl;
	struct pollfd pfd;
	uint8_t junk[4096];
	int64_t end;

	if (client_relay_up(r) && rl->rl_fd != -1) {
		end = chatc_now_ms() + 5000;
		while (rl->rl_outlen > 0 && chatc_now_ms() < end) {
			if (rl_flush(rl) != 0 || rl->rl_outlen == 0)
				break;
			pfd.fd = rl->rl_fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
		}
		/* close_notify first: one try, never waited for. */
		if (rl->rl_ssl != NULL && rl->rl_tls_up)
			(void)SSL_shutdown(rl->rl_ssl);
		(void)shutdown(rl->rl_fd, SHUT_WR);
		end = chatc_now_ms() + 2000;
		pfd.fd = rl->rl_fd;
		pfd.events = POLLIN;
		while (chatc_now_ms() < end && poll(&pfd, 1, 100) >= 0) {
			if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
			    read(rl->rl_fd, junk, sizeof(junk)) <= 0)
				break;
		}
	}
	rl_close(rl);
}

static int
client_finish(struct client *c, struct ui *u, const char *keyd_lost)
{
	const char *why = c->cl_quit == QUIT_GAVEUP ? "gave up waiting for the room" :
	    c->cl_quit == QUIT_RELAY_KEY ? "the relay is not the one pinned" :
	    keyd_lost != NULL ? "keyd is gone" : "no secure session yet";
	size_t i, j;
	int rc;

	/*
	 * Keys typed before a signal, still waiting for keyd to keep up: their
	 * lines go in (and are sent or reported) like any other.
	 */
	if (u != NULL && g_quit_sig != 0 && keyd_lost == NULL) {
		const uint8_t *line;
		size_t len;

		for (i = 0; i < g_nkeys; i++)
			(void)ui_key(u, g_keys[i]);
		while (ui_line(u, &line, &len))
			client_on_line(c, line, len);
	}
	OPENSSL_cleanse(g_keys, sizeof(g_keys));
	g_nkeys = 0;
	c->cl_final = 1;
	for (i = 0; i < c->cl_nrooms; i++) {
		tx_held_notsent(c->cl_rooms[i], why);
		/* Not acknowledged by now: UNDELIVERED, per peer (DESIGN.md). */
		tx_give_up(c->cl_rooms[i], c->cl_quit == QUIT_GAVEUP ? "give-up" :
		    keyd_lost != NULL ? "keyd-lost" : "exit");
	}
	if (keyd_lost == NULL && client_settle(c) != 0)
		keyd_lost = "connection closed or no answer";
	if (keyd_lost == NULL) {
		for (i = 0; i < c->cl_nrooms; i++) {
			struct room *r = c->cl_rooms[i];

			for (j = 0; j < ROOM_SIZE_MAX; j++) {
				struct peer *p = &r->rm_peers.pt_p[j];

				if (p->pe_state != PS_FREE)
					sess_close(r, p, r->rm_link == LS_JOINED);
			}
		}
		if (client_settle(c) != 0)
			keyd_lost = "connection closed or no answer";
	}
	if (keyd_lost != NULL) {
		for (i = 0; i < c->cl_nrooms; i++)
			rl_close(&c->cl_rooms[i]->rm_rl);
		emit(client_room(c), EV_ERROR, "lost keyd (%s); nothing more is sent",
		    keyd_lost);
	} else
		for (i = 0; i < c->cl_nrooms; i++)
			client_close_relay(c->cl_rooms[i]);
	if (u != NULL)
		ui_close(u);
	if (keyd_lost != NULL || c->cl_quit == QUIT_RELAY_KEY)
		rc = CHATC_EXIT_ERROR;
	else if (c->cl_quit == QUIT_GAVEUP)
		rc = CHATC_EXIT_GAVEUP;
	else
		rc = c->cl_notsent > 0 || c->cl_undelivered > 0 ? CHATC_EXIT_NOTSENT :
		    CHATC_EXIT_OK;
	return rc;
}

/* ---- the loop ---- */

static int
min_timeout(int64_t now, int64_t at, int cur)
{
	int64_t d = at - now;

	if (d < 0)
		d = 0;
	return d < cur ? (int)d : cur;
}

int
client_run(struct client *c, struct ui *u)
{
	struct pollfd pfd[2 + CHATC_ROOMS_MAX];
	struct keydc *k = c->cl_k;
	const char *lost = NULL;
	struct timespec ts;
	sigset_t empty;
	int64_t now;
	size_t i;
	int rc, tmo, rd;

	sigemptyset(&empty);
	batch_in_init(&g_in);
	for (i = 0; i < c->cl_nrooms; i++)
		emit_status(c->cl_rooms[i]);
	for (;;) {
		now = chatc_now_ms();
		if (g_quit_sig != 0)
			c->cl_quit = g_quit_sig == SIGHUP ? QUIT_HUP : QUIT_USER;
		if (g_winch) {
			g_winch = 0;
			ui_resize(u);
		}
		if (c->cl_leaving != 0 && (client_unacked_here(c) == 0 ||
		    now - c->cl_leaving >= QUIT_WAIT_MS))
			c->cl_quit = QUIT_USER;
		if (c->cl_quit != QUIT_NO)
			break;
		if (now >= keydc_deadline(k)) {
			lost = "no answer";
			break;
		}
		if ((rc = client_step(c, now)) < 0) {
			lost = veil_strerror(rc);
			break;
		}
		if (c->cl_quit != QUIT_NO)
			break;
		if (u == NULL)
			client_batch_lines(c, now);
		else if (g_nkeys > 0 || ui_pending(u))
			client_keys(c, u, 0);
		if (c->cl_quit != QUIT_NO)
			break;
		if (keydc_flush(k) != 0) {
			lost = "connection closed";
			break;
		}
		for (i = 0; i < c->cl_nrooms; i++)
			client_flush_relay(c->cl_rooms[i], now);
		if (u == NULL && client_eof_done(c, now)) {
			c->cl_quit = QUIT_USER;
			break;
		}

		tmo = min_timeout(now, keydc_deadline(k), 1000);
		tmo = min_timeout(now, client_next_timer(c), tmo);
		for (i = 0; i < c->cl_nrooms; i++) {
			tmo = min_timeout(now, link_next_timer(c->cl_rooms[i]), tmo);
			tmo = min_timeout(now, dlv_next_timer(&c->cl_rooms[i]->rm_dlv), tmo);
		}
		if (u == NULL && batch_in_done(&g_in))
			tmo = min_timeout(now, client_eof_deadline(c), tmo);
		if (c->cl_leaving != 0)
			tmo = min_timeout(now, c->cl_leaving + QUIT_WAIT_MS, tmo);
		pfd[0].fd = -1;
		if (client_input_ok(c) && (u != NULL ? g_nkeys == 0 && !ui_pending(u) :
		    !g_in.bi_eof && !batch_in_pending(&g_in)))
			pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = k->kc_fd;
		pfd[1].events = POLLIN | (k->kc_outlen > 0 ? POLLOUT : 0);
		for (i = 0; i < c->cl_nrooms; i++) {
			struct room *r = c->cl_rooms[i];
			struct rl_conn *rl = &r->rm_rl;
			struct pollfd *p = &pfd[2 + i];

			p->fd = -1;
			p->events = 0;
			if (r->rm_link == LS_CONNECTING) {
				p->fd = rl->rl_fd;
				p->events = POLLOUT;
			} else if (r->rm_link == LS_TLS && !rl->rl_tls_up) {
				/* The handshake waits for one direction; the key check, for a timer. */
				p->fd = rl->rl_fd;
				p->events = rl->rl_tls_want == RL_WANT_READ ? POLLIN : POLLOUT;
			} else if (client_relay_up(r)) {
				p->fd = rl->rl_fd;
				/* A full backlog waits for keyd: reading more would spin. */
				if (rl->rl_inlen - rl->rl_used + RL_READ_CHUNK < RL_IN_MAX)
					p->events |= POLLIN;
				/* Records libssl read already: poll cannot see them. */
				if (client_relay_pending(r))
					tmo = 0;
				if (rl->rl_outlen > 0 || rl->rl_tls_want == RL_WANT_WRITE)
					p->events |= POLLOUT;
			}
		}
		for (i = 0; i < 2 + c->cl_nrooms; i++)
			pfd[i].revents = 0;
		ts.tv_sec = tmo / 1000;
		ts.tv_nsec = (long)(tmo % 1000) * 1000000L;
		if (ppoll(pfd, 2 + c->cl_nrooms, &ts, &empty) < 0) {
			if (errno == EINTR)
				continue;
			lost = "poll failed";
			break;
		}
		now = c->cl_now = chatc_now_ms();
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* The answers already read count, even when keyd went after them. */
			rd = keydc_read(k);
			if ((rc = client_answers(c, now)) < 0) {
				lost = veil_strerror(rc);
				break;
			}
			if (rd != 0) {
				lost = "connection closed";
				break;
			}
		}
		for (i = 0; i < c->cl_nrooms; i++) {
			struct room *r = c->cl_rooms[i];
			short rev = pfd[2 + i].revents;

			if (pfd[2 + i].fd == -1 || (rev == 0 && !client_relay_pending(r)))
				continue;
			if (r->rm_link == LS_CONNECTING) {
				if ((rc = rl_connect_done(&r->rm_rl)) == 0)
					link_tcp_up(r, now);
				else if (rc < 0)
					link_connect_failed(r, errno, now);
				continue;
			}
			if (r->rm_link == LS_TLS) {
				link_tls_event(r, now);
				continue;
			}
			/* A read that had to write first (a KeyUpdate answer) goes on. */
			if ((rev & POLLOUT) && r->rm_rl.rl_tls_want == RL_WANT_WRITE)
				rev |= POLLIN;
			if ((rev & (POLLIN | POLLHUP | POLLERR)) || client_relay_pending(r)) {
				if ((rd = rl_read(&r->rm_rl)) != 0)
					link_ended(r, LT_LOST, rd == VEIL_E_ALLOC ? "out of memory" :
					    r->rm_me == 0 && r->rm_rl.rl_ssl == NULL &&
					    r->rm_rl.rl_inlen == 0 ? "connection closed without a "
					    "word: a relay that speaks TLS? drop --plaintext" :
					    "connection closed", now);
			}
			if ((rev & POLLOUT) && client_relay_up(r))
				client_flush_relay(r, now);
		}
		if (pfd[0].fd != -1 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (u != NULL)
				client_keys(c, u, 1);
			else if (batch_in_read(&g_in, STDIN_FILENO) == 1 && c->cl_eof_at == 0)
				c->cl_eof_at = chatc_now_ms();
		}
	}
	return client_finish(c, u, lost);
}
