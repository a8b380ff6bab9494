/* SPDX-License-Identifier: ISC */
/*
 * chatc's state machine. Blobs go between the relay and keyd untouched:
 * chatc decides only where a blob goes (which keyd request, which member)
 * from its type byte and the sender's state, and what to show. Nothing is
 * ever sent to a member before keyd reports its session secure, and nothing
 * at all to a member whose identity keyd refused.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

#define IN_CAP		65536

struct client {
	const struct chatc_opts *c_o;
	uint8_t		 c_room[ROOM_ID_LEN];
	uint8_t		 c_room_key[ROOM_KEY_LEN];	/* from the name; never to the relay */
	uint8_t		 c_myfpr[FPR_LEN];
	struct keydc	*c_k;
	struct rl_conn	*c_r;
	struct ui	*c_ui;
	struct peers	 c_peers;
	struct holdq	 c_hold;
	uint16_t	 c_me;		/* our member id, 0 until WELCOME */
	int64_t		 c_lost_since;	/* start of the current (re)connect cycle, 0 if none */
	int64_t		 c_next_try;
	int		 c_backoff;
	int		 c_ever_joined;
	int		 c_said_unreachable;
	int64_t		 c_last_rx;
	int64_t		 c_last_ping;
	int64_t		 c_join_sent;
	int		 c_eof;
	int64_t		 c_eof_at;
	int		 c_quit;
	uint8_t		 c_in[IN_CAP];
	size_t		 c_inoff;
	size_t		 c_inlen;
	size_t		 c_skip;	/* bytes of an over-long line dropped so far */
	char		 c_ev[EV_LINE_MAX];
	char		 c_esc[ESC_MAX(MSG_MAX)];
	struct ipc_msg	 c_req;
};

static struct client g_client;
static volatile sig_atomic_t g_quit_sig;
static volatile sig_atomic_t g_winch;

void
client_signal(int sig)
{
	if (sig == SIGWINCH)
		g_winch = 1;
	else
		g_quit_sig = sig;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---- */

static void
out_batch(struct client *c, size_t n)
{
	/* A reader that went away is not a reason to stop talking securely. */
	(void)chatc_write_all(STDOUT_FILENO, c->c_ev, n);
}

static void update_status(struct client *c);

static void
out_secure(struct client *c, const struct peer *p)
{
	char fpr[FPR_TEXT_LEN + 1], text[160];

	if (c->c_ui == NULL) {
		out_batch(c, ev_secure(c->c_ev, sizeof(c->c_ev), p->pe_nick, p->pe_nicklen,
		    p->pe_fpr, p->pe_trust));
		return;
	}
	proto_fpr_format(p->pe_fpr, fpr);
	snprintf(text, sizeof(text), "secure session; fingerprint %s (%s)", fpr,
	    chatc_trust_name(p->pe_trust));
	ui_add(c->c_ui, UI_SECURE, p->pe_name, text);
	update_status(c);
}

static void
out_msg(struct client *c, const struct peer *p, const uint8_t *text, size_t n)
{
	if (c->c_ui == NULL) {
		out_batch(c, ev_msg(c->c_ev, sizeof(c->c_ev), p->pe_nick, p->pe_nicklen,
		    text, n));
		return;
	}
	esc_text(text, n, c->c_esc, sizeof(c->c_esc));
	ui_add(c->c_ui, UI_MSG, p->pe_name, c->c_esc);
}

static void
out_left(struct client *c, const struct peer *p)
{
	if (c->c_ui == NULL) {
		out_batch(c, ev_left(c->c_ev, sizeof(c->c_ev), p->pe_nick, p->pe_nicklen));
		return;
	}
	ui_add(c->c_ui, UI_LEFT, p->pe_name, "left");
}

static void out_text(struct client *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* WARN / ALERT / ERROR lines go to stdout in batch mode, INFO to stderr. */
static void
out_text(struct client *c, int kind, const char *fmt, ...)
{
	char text[EV_LINE_MAX - 16];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->c_ui != NULL) {
		ui_add(c->c_ui, kind, NULL, text);
		return;
	}
	switch (kind) {
	case UI_INFO:
		n = strlen(text);
		text[n < sizeof(text) - 1 ? n : n - 1] = '\n';
		(void)chatc_write_all(STDERR_FILENO, text, n < sizeof(text) - 1 ? n + 1 : n);
		break;
	case UI_ERROR:
		out_batch(c, ev_line(c->c_ev, sizeof(c->c_ev), "ERROR", text));
		break;
	default:
		out_batch(c, ev_line(c->c_ev, sizeof(c->c_ev), "WARN", text));
		break;
	}
}

static void client_die(struct client *, const char *, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Fatal: ERROR line, terminal restored, exit 1. Nothing more is sent. */
static void
client_die(struct client *c, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->c_ui != NULL) {
		ui_add(c->c_ui, UI_ERROR, NULL, text);
		ui_close(c->c_ui);
		c->c_ui = NULL;
		(void)chatc_write_all(STDERR_FILENO, "chatc: ", 7);
		(void)chatc_write_all(STDERR_FILENO, text, strlen(text));
		(void)chatc_write_all(STDERR_FILENO, "\n", 1);
	} else
		out_batch(c, ev_line(c->c_ev, sizeof(c->c_ev), "ERROR", text));
	holdq_clear(&c->c_hold);
	_exit(1);
}

static const char *
keyd_reason(const struct ipc_msg *a, char *buf, size_t cap)
{
	if (a->im_textlen > 0) {
		esc_text(a->im_text, a->im_textlen, buf, cap);
		return buf;
	}
	return veil_strerror(-(int)a->im_err);
}

static void
update_status(struct client *c)
{
	char peers[1024], one[ESC_MAX(NICK_MAX) + 32];
	const char *relay;
	size_t i, len = 0;

	if (c->c_ui == NULL)
		return;
	peers[0] = '\0';
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &c->c_peers.pt_p[i];
		int n;

		switch (p->pe_state) {
		case PS_SECURE:
			n = snprintf(one, sizeof(one), "%s%s(%s)", len ? " " : "", p->pe_name,
			    chatc_trust_name(p->pe_trust));
			break;
		case PS_HS:
		case PS_WAIT:
			n = snprintf(one, sizeof(one), "%s%s(...)", len ? " " : "", p->pe_name);
			break;
		case PS_REFUSED:
			n = snprintf(one, sizeof(one), "%s%s(REFUSED)", len ? " " : "", p->pe_name);
			break;
		default:
			continue;
		}
		if (n < 0 || (size_t)n >= sizeof(peers) - len)
			break;
		memcpy(peers + len, one, (size_t)n + 1);
		len += (size_t)n;
	}
	if (c->c_r->rl_fd == -1)
		relay = c->c_ever_joined ? "reconnecting" : "connecting";
	else
		relay = c->c_me != 0 ? "connected" : "joining";
	ui_status(c->c_ui, len ? peers : "nobody yet", relay);
}

/* ---- keyd ---- */

static const struct ipc_msg *
kcall(struct client *c)
{
	const struct ipc_msg *a;
	int r;

	if ((r = keydc_call(c->c_k, &c->c_req, &a)) != 0)
		client_die(c, "lost keyd (%s); nothing more is sent",
		    r == VEIL_E_SYSTEM ? "connection closed or no answer" : veil_strerror(r));
	return a;
}

static void
req_init(struct client *c, uint8_t code)
{
	struct ipc_msg *m = &c->c_req;

	/* Only the scalar part: the arrays are set by whoever uses them. */
	m->im_code = code;
	m->im_handle = 0;
	m->im_blob = NULL;
	m->im_bloblen = 0;
	m->im_text = NULL;
	m->im_textlen = 0;
	m->im_nick = NULL;
	m->im_nicklen = 0;
	m->im_count = 0;
}

/* Closes a keyd session nobody else will hear about (no CLOSE blob sent). */
static void
close_handle(struct client *c, uint32_t handle)
{
	if (handle == 0)
		return;
	req_init(c, REQ_CLOSE);
	c->c_req.im_handle = handle;
	(void)kcall(c);
}

/* Closes p's keyd session, if any; its CLOSE blob is sent when send_close. */
static void
close_session(struct client *c, struct peer *p, int send_close)
{
	const struct ipc_msg *a;

	close_handle(c, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	if (p->pe_handle == 0)
		return;
	req_init(c, REQ_CLOSE);
	c->c_req.im_handle = p->pe_handle;
	a = kcall(c);
	p->pe_handle = 0;
	if (send_close && a->im_code == ANS_CLOSE && a->im_bloblen > 0 &&
	    c->c_r->rl_fd != -1 &&
	    rl_send(c->c_r, FT_DATA, p->pe_id, a->im_blob, a->im_bloblen) != 0)
		out_text(c, UI_WARN, "could not tell %s the session ended", p->pe_name);
}

/* ---- relay ---- */

static void
send_blob(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	int r;

	if (n == 0 || p->pe_state == PS_REFUSED)
		return;
	if ((r = rl_send(c->c_r, FT_DATA, p->pe_id, blob, n)) != 0)
		out_text(c, UI_WARN, "not sent to %s: %s", p->pe_name,
		    r == VEIL_E_LIMIT ? "the relay is not keeping up" : veil_strerror(r));
}

static void
rl_lost(struct client *c, const char *why)
{
	size_t i;
	int64_t now = now_ms();

	out_text(c, UI_WARN, "lost the relay at %s; reconnecting (%s)", c->c_o->co_relay, why);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &c->c_peers.pt_p[i];

		if (p->pe_state == PS_FREE)
			continue;
		close_session(c, p, 0);
		peers_del(p);
	}
	rl_close(c->c_r);
	c->c_me = 0;
	if (c->c_lost_since == 0) {
		c->c_lost_since = now;
		c->c_backoff = BACKOFF_FIRST_MS;
	}
	c->c_next_try = now + c->c_backoff;
	update_status(c);
}

static void
rl_try(struct client *c)
{
	int64_t now = now_ms(), left;
	int e;

	left = RECONNECT_GIVEUP_MS - (now - c->c_lost_since);
	if (left <= 0)
		client_die(c, "relay %s unreachable (gave up after %d s)", c->c_o->co_relay,
		    RECONNECT_GIVEUP_MS / 1000);
	if (rl_connect(c->c_r, left < CONNECT_TIMEOUT_MS ? (int)left :
	    CONNECT_TIMEOUT_MS) != 0) {
		e = errno;
		if (!c->c_ever_joined && !c->c_said_unreachable) {
			out_text(c, UI_WARN, "cannot reach the relay at %s (%s); retrying",
			    c->c_o->co_relay, strerror(e));
			c->c_said_unreachable = 1;
		}
		c->c_next_try = now_ms() + c->c_backoff;
		c->c_backoff = c->c_backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		    c->c_backoff * 2;
		return;
	}
	if (rl_send(c->c_r, FT_JOIN, MEMBER_NONE, c->c_room, ROOM_ID_LEN) != 0) {
		rl_close(c->c_r);
		client_die(c, "cannot encode JOIN");
	}
	c->c_join_sent = c->c_last_rx = c->c_last_ping = now_ms();
	c->c_backoff = c->c_backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->c_backoff * 2;
	update_status(c);
}

/* ---- handshakes ---- */

static void
hs_refused(struct client *c, struct peer *p, const struct ipc_msg *a)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	int err = -(int)a->im_err;

	keyd_reason(a, why, sizeof(why));
	/*
	 * Whatever went wrong, this handshake is over: a tampered or replayed
	 * step must not leave a half-open session that could be finished later.
	 */
	close_session(c, p, 0);
	if (err == VEIL_E_PIN || err == VEIL_E_EXPECT) {
		out_text(c, UI_ALERT, "%s", why);
		p->pe_state = PS_REFUSED;
	} else {
		out_text(c, UI_WARN, "handshake with %s failed: %s", p->pe_name, why);
		p->pe_state = PS_DEAD;
	}
	update_status(c);
}

static void
hs_start(struct client *c, struct peer *p)
{
	const struct ipc_msg *a;

	p->pe_initiator = 1;
	req_init(c, REQ_HS_START);
	memcpy(c->c_req.im_room, c->c_room, ROOM_ID_LEN);
	memcpy(c->c_req.im_room_key, c->c_room_key, ROOM_KEY_LEN);
	c->c_req.im_me = c->c_me;
	c->c_req.im_peer = p->pe_id;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		hs_refused(c, p, a);
		p->pe_state = p->pe_state == PS_REFUSED ? PS_REFUSED : PS_DEAD;
		return;
	}
	p->pe_state = PS_HS;
	p->pe_handle = a->im_handle;
	p->pe_hs_at = now_ms();
	send_blob(c, p, a->im_blob, a->im_bloblen);
}

static void send_text(struct client *c, const uint8_t *text, size_t n);

static void
drain_hold(struct client *c)
{
	const uint8_t *p;
	size_t n;

	while (peers_count(&c->c_peers, PS_SECURE) > 0 && holdq_peek(&c->c_hold, &p, &n)) {
		send_text(c, p, n);
		holdq_pop(&c->c_hold);
	}
}

/*
 * HS_INIT from a peer whose session is secure here: it lost its side (a
 * handshake that failed only at its end, after a tampered HS_CONFIRM) and
 * starts again. Answered in a second keyd session; the secure one stays in
 * use until the new one completes, so an HS_INIT replayed by the relay
 * leaves nothing changed.
 */
static void
on_hs_restart(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	const struct ipc_msg *a;

	close_handle(c, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	req_init(c, REQ_HS_ACCEPT);
	memcpy(c->c_req.im_room, c->c_room, ROOM_ID_LEN);
	memcpy(c->c_req.im_room_key, c->c_room_key, ROOM_KEY_LEN);
	c->c_req.im_me = c->c_me;
	c->c_req.im_peer = p->pe_id;
	c->c_req.im_blob = blob;
	c->c_req.im_bloblen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		out_text(c, UI_WARN, "new handshake from %s refused: %s; the session "
		    "stays as it was", p->pe_name, keyd_reason(a, why, sizeof(why)));
		return;
	}
	p->pe_hs_handle = a->im_handle;
	send_blob(c, p, a->im_blob, a->im_bloblen);
}

/* The HS_FIN of a restart: the new session replaces the old one. */
static void
on_hs_restart_next(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	const struct ipc_msg *a;
	uint32_t old;

	req_init(c, REQ_HS_NEXT);
	c->c_req.im_handle = p->pe_hs_handle;
	c->c_req.im_blob = blob;
	c->c_req.im_bloblen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		keyd_reason(a, why, sizeof(why));
		close_handle(c, p->pe_hs_handle);
		p->pe_hs_handle = 0;
		if (-(int)a->im_err == VEIL_E_PIN || -(int)a->im_err == VEIL_E_EXPECT) {
			/* Someone else's identity under this member id: stop talking to it. */
			out_text(c, UI_ALERT, "%s", why);
			close_session(c, p, 0);
			p->pe_state = PS_REFUSED;
			update_status(c);
		} else
			out_text(c, UI_WARN, "new handshake from %s failed: %s; the session "
			    "stays as it was", p->pe_name, why);
		return;
	}
	if (a->im_done && (a->im_nicklen != p->pe_nicklen ||
	    CRYPTO_memcmp(a->im_nick, p->pe_nick, p->pe_nicklen) != 0 ||
	    CRYPTO_memcmp(a->im_fpr, p->pe_fpr, FPR_LEN) != 0)) {
		/*
		 * A restart recovers the same peer; anyone else under this
		 * member id (the relay playing a new member) does not get to
		 * take over the session. Nothing is sent: no HS_CONFIRM.
		 */
		close_handle(c, p->pe_hs_handle);
		p->pe_hs_handle = 0;
		out_text(c, UI_WARN, "new handshake from %s came with another identity; "
		    "refused, the session stays as it was", p->pe_name);
		return;
	}
	send_blob(c, p, a->im_blob, a->im_bloblen);
	if (!a->im_done)
		return;
	old = p->pe_handle;
	p->pe_handle = p->pe_hs_handle;
	p->pe_hs_handle = 0;
	peers_set_nick(p, a->im_nick, a->im_nicklen);
	memcpy(p->pe_fpr, a->im_fpr, FPR_LEN);
	p->pe_trust = a->im_trust;
	p->pe_epoch = 0;
	/* The answer is used up: the old session can go now, silently. */
	close_handle(c, old);
	out_secure(c, p);
	drain_hold(c);
}

static void
on_hs_init(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	const struct ipc_msg *a;

	if (p->pe_state == PS_SECURE) {
		on_hs_restart(c, p, blob, n);
		return;
	}
	if (p->pe_state != PS_WAIT && p->pe_state != PS_DEAD) {
		out_text(c, UI_WARN, "unexpected handshake start from %s; ignored", p->pe_name);
		return;
	}
	close_handle(c, p->pe_hs_handle);
	p->pe_hs_handle = 0;
	req_init(c, REQ_HS_ACCEPT);
	memcpy(c->c_req.im_room, c->c_room, ROOM_ID_LEN);
	memcpy(c->c_req.im_room_key, c->c_room_key, ROOM_KEY_LEN);
	c->c_req.im_me = c->c_me;
	c->c_req.im_peer = p->pe_id;
	c->c_req.im_blob = blob;
	c->c_req.im_bloblen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		hs_refused(c, p, a);
		return;
	}
	p->pe_state = PS_HS;
	p->pe_handle = a->im_handle;
	p->pe_initiator = 0;
	p->pe_hs_at = now_ms();
	send_blob(c, p, a->im_blob, a->im_bloblen);
	update_status(c);
}

static void
on_hs_next(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	const struct ipc_msg *a;

	if (p->pe_state == PS_SECURE && p->pe_hs_handle != 0) {
		on_hs_restart_next(c, p, blob, n);
		return;
	}
	if (p->pe_state != PS_HS) {
		out_text(c, UI_WARN, "unexpected handshake message from %s; ignored", p->pe_name);
		return;
	}
	req_init(c, REQ_HS_NEXT);
	c->c_req.im_handle = p->pe_handle;
	c->c_req.im_blob = blob;
	c->c_req.im_bloblen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR && -(int)a->im_err == VEIL_E_STATE) {
		/*
		 * Not this step's message (our own reflected back, a replay, a
		 * late one): keyd refused it without touching the handshake
		 * (PROTOCOL.md 2.5), so the real one can still finish it;
		 * HS_TIMEOUT_MS bounds the wait.
		 */
		out_text(c, UI_WARN, "unexpected handshake message from %s; ignored", p->pe_name);
		return;
	}
	if (a->im_code == IPC_ANS_ERROR) {
		hs_refused(c, p, a);
		return;
	}
	send_blob(c, p, a->im_blob, a->im_bloblen);
	if (!a->im_done)
		return;
	peers_set_nick(p, a->im_nick, a->im_nicklen);
	memcpy(p->pe_fpr, a->im_fpr, FPR_LEN);
	p->pe_trust = a->im_trust;
	p->pe_state = PS_SECURE;
	out_secure(c, p);
	drain_hold(c);
}

/* ---- data ---- */

static void
on_open(struct client *c, struct peer *p, const uint8_t *blob, size_t n)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	const struct ipc_msg *a;

	if (p->pe_state != PS_SECURE) {
		out_text(c, UI_WARN, "rejected message from %s: no secure session", p->pe_name);
		return;
	}
	req_init(c, REQ_OPEN);
	c->c_req.im_handle = p->pe_handle;
	c->c_req.im_blob = blob;
	c->c_req.im_bloblen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		out_text(c, UI_WARN, "rejected message from %s: %s", p->pe_name,
		    keyd_reason(a, why, sizeof(why)));
		if (-(int)a->im_err == VEIL_E_NOSESSION) {
			p->pe_state = PS_DEAD;
			p->pe_handle = 0;
		}
		return;
	}
	if (a->im_gap > 0)
		out_text(c, UI_WARN, "%u message(s) from %s missing (dropped by the relay?)",
		    (unsigned int)a->im_gap, p->pe_name);
	switch (a->im_kind) {
	case OPEN_TEXT:
		out_msg(c, p, a->im_text, a->im_textlen);
		break;
	case OPEN_REKEY:
		/*
		 * A REKEY_INIT (answered here) or REKEY_RESP comes in epoch e and
		 * moves the session to e + 1. A colliding REKEY_INIT that keyd
		 * ignores looks the same; the epoch check keeps it to one line.
		 */
		send_blob(c, p, a->im_blob, a->im_bloblen);
		if (a->im_epoch != UINT32_MAX && a->im_epoch + 1 > p->pe_epoch) {
			p->pe_epoch = a->im_epoch + 1;
			out_text(c, UI_WARN, "rekeyed with %s (epoch %u)", p->pe_name,
			    (unsigned int)p->pe_epoch);
		}
		break;
	case OPEN_RESEND:
		/*
		 * The peer is already in the next epoch but its answer to our
		 * REKEY_INIT was lost: this message is gone; keyd sealed our
		 * REKEY_INIT again so that the peer sends its answer again.
		 */
		send_blob(c, p, a->im_blob, a->im_bloblen);
		out_text(c, UI_WARN, "a message from %s could not be read yet (rekey answer "
		    "lost); rekey sent again", p->pe_name);
		break;
	case OPEN_CLOSED:
		/* keyd wiped the session; the relay's LEFT follows. */
		p->pe_handle = 0;
		p->pe_state = PS_DEAD;
		if (p->pe_had_nick)
			out_left(c, p);
		p->pe_had_nick = 0;
		update_status(c);
		break;
	}
}

static void
on_data(struct client *c, uint16_t src, const uint8_t *blob, size_t n)
{
	struct peer *p = peers_find(&c->c_peers, src);
	int t = proto_e2e_peek_type(blob, n);

	if (p == NULL) {
		/* A member the relay never announced: only a handshake start is welcome. */
		if (t != E2E_HS_INIT || src == c->c_me ||
		    (p = peers_add(&c->c_peers, src, PS_WAIT)) == NULL)
			return;
	}
	if (p->pe_state == PS_REFUSED)
		return;
	switch (t) {
	case E2E_HS_INIT:
		on_hs_init(c, p, blob, n);
		break;
	case E2E_HS_RESP:
	case E2E_HS_FIN:
	case E2E_HS_CONFIRM:
		on_hs_next(c, p, blob, n);
		break;
	case E2E_DATA:
		on_open(c, p, blob, n);
		break;
	default:
		out_text(c, UI_WARN, "rejected message from %s: %s", p->pe_name,
		    veil_strerror(t < 0 ? t : VEIL_E_TYPE));
		break;
	}
}

/*
 * A handshake whose other side failed says nothing more (an initiator whose
 * HS_FIN was refused waits for an HS_CONFIRM that never comes): after
 * HS_TIMEOUT_MS it has failed here too, so /rekey can start a fresh one.
 */
static void
hs_timeouts(struct client *c, int64_t now)
{
	size_t i;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &c->c_peers.pt_p[i];

		if (p->pe_state != PS_HS || now - p->pe_hs_at < HS_TIMEOUT_MS)
			continue;
		close_session(c, p, 0);
		p->pe_state = PS_DEAD;
		out_text(c, UI_WARN, "handshake with %s timed out%s", p->pe_name,
		    p->pe_initiator ? "; /rekey starts a new one" : "");
		update_status(c);
	}
}

static void
peer_gone(struct client *c, struct peer *p)
{
	close_session(c, p, 0);
	if (p->pe_had_nick)
		out_left(c, p);
	peers_del(p);
	update_status(c);
}

static void
on_frame(struct client *c, const struct frame *f)
{
	uint16_t ids[ROOM_SIZE_MAX];
	struct peer *p;
	size_t i, n;

	c->c_last_rx = now_ms();
	if (f->fr_type == FT_ERROR) {
		uint8_t code = f->fr_len > 0 ? f->fr_payload[0] : 0;

		if (code == FE_ROOM_FULL || code == FE_SERVER_FULL)
			client_die(c, "relay %s refused us: %s", c->c_o->co_relay,
			    proto_frame_strerror(code));
		rl_lost(c, proto_frame_strerror(code));
		return;
	}
	if (c->c_me == 0) {
		if (f->fr_type != FT_WELCOME)
			return;
		if (proto_welcome_members(f, ids, ROOM_SIZE_MAX, &n) != 0 ||
		    f->fr_dst == MEMBER_NONE || f->fr_dst > MEMBER_MAX) {
			rl_lost(c, "malformed WELCOME");
			return;
		}
		c->c_me = f->fr_dst;
		c->c_lost_since = 0;
		c->c_backoff = BACKOFF_FIRST_MS;
		c->c_ever_joined = 1;
		c->c_said_unreachable = 0;
		update_status(c);
		for (i = 0; i < n; i++) {
			if (ids[i] == c->c_me || peers_find(&c->c_peers, ids[i]) != NULL)
				continue;
			if ((p = peers_add(&c->c_peers, ids[i], PS_HS)) != NULL)
				hs_start(c, p);
		}
		update_status(c);
		return;
	}
	switch (f->fr_type) {
	case FT_JOINED:
		if (f->fr_src == c->c_me)
			break;
		if ((p = peers_find(&c->c_peers, f->fr_src)) != NULL)
			peer_gone(c, p);
		if (peers_add(&c->c_peers, f->fr_src, PS_WAIT) == NULL)
			out_text(c, UI_WARN, "too many members; ignoring member %u",
			    (unsigned int)f->fr_src);
		update_status(c);
		break;
	case FT_LEFT:
		if ((p = peers_find(&c->c_peers, f->fr_src)) != NULL)
			peer_gone(c, p);
		break;
	case FT_DATA:
		on_data(c, f->fr_src, f->fr_payload, f->fr_len);
		break;
	default:
		break;		/* PONG, or a second WELCOME: nothing to do */
	}
}

/* ---- sending ---- */

static void
send_text(struct client *c, const uint8_t *text, size_t n)
{
	const struct ipc_msg *a;
	struct peer *p;
	uint32_t rekey[IPC_BATCH_MAX];
	size_t i, nrekey = 0;
	uint16_t cnt = 0;

	req_init(c, REQ_SEAL);
	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (c->c_peers.pt_p[i].pe_state == PS_SECURE && cnt < IPC_BATCH_MAX)
			c->c_req.im_handles[cnt++] = c->c_peers.pt_p[i].pe_handle;
	if (cnt == 0) {
		if (holdq_push(&c->c_hold, text, n) != 0) {
			esc_text(text, n, c->c_esc, sizeof(c->c_esc));
			out_text(c, UI_WARN, "not sent (no secure session yet): %s", c->c_esc);
		} else if (c->c_ui != NULL)
			out_text(c, UI_INFO, "held until a session is secure");
		return;
	}
	c->c_req.im_count = cnt;
	c->c_req.im_text = text;
	c->c_req.im_textlen = n;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		char why[ESC_MAX(IPC_ERRMSG_MAX)];

		out_text(c, UI_WARN, "not sent: %s", keyd_reason(a, why, sizeof(why)));
		return;
	}
	for (i = 0; i < a->im_count; i++) {
		const struct ipc_item *it = &a->im_items[i];

		if ((p = peers_by_handle(&c->c_peers, it->it_handle)) == NULL)
			continue;
		if (it->it_status != 0) {
			out_text(c, UI_WARN, "not sent to %s: %s", p->pe_name,
			    veil_strerror(-(int)it->it_status));
			continue;
		}
		send_blob(c, p, it->it_blob, it->it_bloblen);
		if ((it->it_flags & SEAL_REKEY_DUE) && nrekey < IPC_BATCH_MAX)
			rekey[nrekey++] = it->it_handle;
	}
	if (c->c_ui != NULL) {
		esc_text(text, n, c->c_esc, sizeof(c->c_esc));
		ui_add(c->c_ui, UI_MINE, NULL, c->c_esc);
	}
	/* The answer's blobs are used up: now the rekeys may reuse the buffer. */
	for (i = 0; i < nrekey; i++) {
		if ((p = peers_by_handle(&c->c_peers, rekey[i])) == NULL)
			continue;
		req_init(c, REQ_REKEY);
		c->c_req.im_handle = rekey[i];
		a = kcall(c);
		if (a->im_code == ANS_REKEY)
			send_blob(c, p, a->im_blob, a->im_bloblen);
	}
}

static void
cmd_rekey(struct client *c)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	const struct ipc_msg *a;
	size_t i, n = 0;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &c->c_peers.pt_p[i];

		if (p->pe_state == PS_DEAD && p->pe_initiator && c->c_me != 0) {
			/*
			 * Our handshake failed: a fresh one, from the start. Only
			 * the initiator starts again, so the two never collide.
			 */
			n++;
			out_text(c, UI_WARN, "new handshake with %s", p->pe_name);
			hs_start(c, p);
			update_status(c);
			continue;
		}
		if (p->pe_state != PS_SECURE)
			continue;
		n++;
		out_text(c, UI_WARN, "rekeying with %s", p->pe_name);
		req_init(c, REQ_REKEY);
		c->c_req.im_handle = p->pe_handle;
		a = kcall(c);
		if (a->im_code == IPC_ANS_ERROR && -(int)a->im_err == VEIL_E_STATE) {
			/*
			 * keyd refuses only while the peer's own rekey is half
			 * done (we answered it, no message of the new epoch yet):
			 * fresh keys are already on their way, and a lost message
			 * of that exchange is resent (PROTOCOL.md 2.4).
			 */
			out_text(c, UI_WARN, "a rekey with %s is already under way", p->pe_name);
		} else if (a->im_code == IPC_ANS_ERROR)
			out_text(c, UI_WARN, "rekey with %s failed: %s", p->pe_name,
			    keyd_reason(a, why, sizeof(why)));
		else
			send_blob(c, p, a->im_blob, a->im_bloblen);
	}
	if (n == 0)
		out_text(c, UI_INFO, "no secure session to rekey");
}

static void
verify_one(struct client *c, struct peer *p)
{
	char why[ESC_MAX(IPC_ERRMSG_MAX)], safety[ESC_MAX(SAFETY_TEXT_MAX)];
	char fp[FPR_TEXT_LEN + 1], fm[FPR_TEXT_LEN + 1];
	const struct ipc_msg *a;

	req_init(c, REQ_VERIFY);
	c->c_req.im_handle = p->pe_handle;
	a = kcall(c);
	if (a->im_code == IPC_ANS_ERROR) {
		out_text(c, UI_WARN, "verify %s failed: %s", p->pe_name,
		    keyd_reason(a, why, sizeof(why)));
		return;
	}
	esc_text(a->im_safety, a->im_safetylen, safety, sizeof(safety));
	proto_fpr_format(a->im_fpr, fp);
	proto_fpr_format(a->im_fpr2, fm);
	out_text(c, UI_INFO, "safety number with %s: %s", p->pe_name, safety);
	out_text(c, UI_INFO, "  %s's fingerprint: %s (%s)", p->pe_name, fp,
	    chatc_trust_name(p->pe_trust));
	out_text(c, UI_INFO, "  your fingerprint: %s", fm);
	out_text(c, UI_INFO, "  compare them out of band (read them aloud); "
	    "a mismatch means someone is in the middle");
}

static void
cmd_verify(struct client *c, const struct line *l)
{
	struct peer *p;
	size_t i, n = 0;

	if (l->ln_arg != NULL) {
		if ((p = peers_by_nick(&c->c_peers, l->ln_arg, l->ln_arglen)) == NULL) {
			esc_text(l->ln_arg, l->ln_arglen, c->c_esc, sizeof(c->c_esc));
			out_text(c, UI_INFO, "no secure session with %s", c->c_esc);
			return;
		}
		verify_one(c, p);
		return;
	}
	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (c->c_peers.pt_p[i].pe_state == PS_SECURE) {
			verify_one(c, &c->c_peers.pt_p[i]);
			n++;
		}
	if (n == 0)
		out_text(c, UI_INFO, "no secure session to verify yet");
}

static void
cmd_who(struct client *c)
{
	char fpr[FPR_TEXT_LEN + 1], room[ESC_MAX(256)];
	size_t i, n = 0;

	proto_fpr_format(c->c_myfpr, fpr);
	esc_text((const uint8_t *)c->c_o->co_room, strnlen(c->c_o->co_room, 256), room,
	    sizeof(room));
	out_text(c, UI_INFO, "room %s; you are %s (%s)", room, c->c_o->co_nick, fpr);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &c->c_peers.pt_p[i];

		switch (p->pe_state) {
		case PS_SECURE:
			proto_fpr_format(p->pe_fpr, fpr);
			out_text(c, UI_INFO, "  %s %s %s", p->pe_name, fpr,
			    chatc_trust_name(p->pe_trust));
			break;
		case PS_WAIT:
		case PS_HS:
			out_text(c, UI_INFO, "  %s: handshake in progress", p->pe_name);
			break;
		case PS_REFUSED:
			out_text(c, UI_INFO, "  %s: REFUSED (identity mismatch)", p->pe_name);
			break;
		case PS_DEAD:
			out_text(c, UI_INFO, "  %s: no session", p->pe_name);
			break;
		default:
			continue;
		}
		n++;
	}
	if (n == 0)
		out_text(c, UI_INFO, "  nobody else is here");
	if (c->c_hold.hq_count > 0)
		out_text(c, UI_INFO, "  %zu line(s) held until a session is secure",
		    c->c_hold.hq_count);
}

static void
cmd_help(struct client *c)
{
	out_text(c, UI_INFO, "/who            who is here and how they are trusted");
	out_text(c, UI_INFO, "/verify [NICK]  safety number and both fingerprints");
	out_text(c, UI_INFO, "/rekey          fresh key exchange with every peer now");
	out_text(c, UI_INFO, "/quit           leave (also Ctrl-C)");
	out_text(c, UI_INFO, "//text          send a line that starts with /");
}

static void
handle_line(struct client *c, const uint8_t *p, size_t n)
{
	struct line l;

	chatc_line_parse(p, n, &l);
	switch (l.ln_kind) {
	case LINE_EMPTY:
		break;
	case LINE_TEXT:
		send_text(c, l.ln_text, l.ln_len);
		break;
	case LINE_TOOLONG:
		out_text(c, UI_WARN, "line too long (%zu bytes, max %d); not sent", l.ln_len,
		    MSG_MAX);
		break;
	case LINE_BADUTF8:
		out_text(c, UI_WARN, "line is not valid UTF-8; not sent");
		break;
	case LINE_UNKNOWN:
		esc_text(l.ln_text, l.ln_len, c->c_esc, sizeof(c->c_esc));
		out_text(c, UI_WARN, "unknown command %s (try /help; // sends a leading /); "
		    "not sent", c->c_esc);
		break;
	case LINE_CMD:
		switch (l.ln_cmd) {
		case CMD_HELP:
			cmd_help(c);
			break;
		case CMD_WHO:
			cmd_who(c);
			break;
		case CMD_VERIFY:
			cmd_verify(c, &l);
			break;
		case CMD_REKEY:
			cmd_rekey(c);
			break;
		case CMD_QUIT:
			c->c_quit = 1;
			break;
		}
		break;
	}
}

/* Batch input: whole lines out of c_in, while the relay keeps up. */
static void
process_input(struct client *c)
{
	uint8_t *p, *nl;
	size_t avail;

	while (!c->c_quit && c->c_r->rl_outlen < RL_OUT_HIGH) {
		p = c->c_in + c->c_inoff;
		avail = c->c_inlen - c->c_inoff;
		if (avail == 0)
			break;
		nl = memchr(p, '\n', avail);
		if (c->c_skip > 0) {
			if (nl == NULL) {
				c->c_skip += avail;
				c->c_inoff = c->c_inlen = 0;
				if (!c->c_eof)
					break;
				nl = p;		/* EOF ends the over-long line */
			}
			c->c_skip += (size_t)(nl - p);
			out_text(c, UI_WARN, "line too long (%zu bytes, max %d); not sent",
			    c->c_skip, MSG_MAX);
			c->c_skip = 0;
			if (c->c_inlen > 0)
				c->c_inoff += (size_t)(nl - p) + 1;
			continue;
		}
		if (nl == NULL) {
			if (c->c_eof) {
				handle_line(c, p, avail);
				c->c_inoff = c->c_inlen;
			} else if (c->c_inoff == 0 && c->c_inlen == IN_CAP) {
				c->c_skip = avail;
				c->c_inoff = c->c_inlen = 0;
			}
			break;
		}
		handle_line(c, p, (size_t)(nl - p));
		c->c_inoff += (size_t)(nl - p) + 1;
		/*
		 * Out as we go, not in one burst at the end: a burst larger
		 * than the relay's per-member bound would get the receiver
		 * dropped as a slow reader. A failure shows in the main loop.
		 */
		if (c->c_r->rl_fd != -1 && c->c_r->rl_outlen >= RL_FLUSH_AT &&
		    rl_flush(c->c_r) != 0)
			break;
	}
	if (c->c_inoff == c->c_inlen)
		c->c_inoff = c->c_inlen = 0;
}

static int
input_pending(const struct client *c)
{
	return c->c_inlen > c->c_inoff &&
	    memchr(c->c_in + c->c_inoff, '\n', c->c_inlen - c->c_inoff) != NULL;
}

static void
read_input(struct client *c)
{
	const uint8_t *line;
	size_t len;
	ssize_t n;
	uint8_t kb[512];
	ssize_t i;

	if (c->c_ui != NULL) {
		n = read(STDIN_FILENO, kb, sizeof(kb));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {		/* the terminal went away */
			c->c_quit = 2;
			return;
		}
		for (i = 0; i < n && !c->c_quit; i++) {
			switch (ui_key(c->c_ui, kb[i], &line, &len)) {
			case UIK_LINE:
				handle_line(c, line, len);
				break;
			case UIK_QUIT:
				c->c_quit = 1;
				break;
			}
		}
		return;
	}
	if (c->c_inoff > 0) {
		memmove(c->c_in, c->c_in + c->c_inoff, c->c_inlen - c->c_inoff);
		c->c_inlen -= c->c_inoff;
		c->c_inoff = 0;
	}
	n = read(STDIN_FILENO, c->c_in + c->c_inlen, IN_CAP - c->c_inlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->c_eof = 1;
		c->c_eof_at = now_ms();
	} else
		c->c_inlen += (size_t)n;
	process_input(c);
}

/* ---- leaving ---- */

static int
finish(struct client *c)
{
	struct pollfd pfd;
	uint8_t junk[4096];
	const uint8_t *p;
	size_t i, n;
	int64_t end;

	while (holdq_peek(&c->c_hold, &p, &n)) {
		esc_text(p, n, c->c_esc, sizeof(c->c_esc));
		out_text(c, UI_WARN, "not sent (no secure session yet): %s", c->c_esc);
		holdq_pop(&c->c_hold);
	}
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *pe = &c->c_peers.pt_p[i];

		if (pe->pe_state != PS_FREE)
			close_session(c, pe, pe->pe_state == PS_SECURE);
	}
	if (c->c_r->rl_fd != -1) {
		/* Everything queued reaches the relay, then an orderly close. */
		end = now_ms() + 5000;
		while (c->c_r->rl_outlen > 0 && now_ms() < end) {
			if (rl_flush(c->c_r) != 0)
				break;
			if (c->c_r->rl_outlen == 0)
				break;
			pfd.fd = c->c_r->rl_fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
		}
		(void)shutdown(c->c_r->rl_fd, SHUT_WR);
		end = now_ms() + 2000;
		pfd.fd = c->c_r->rl_fd;
		pfd.events = POLLIN;
		while (now_ms() < end && poll(&pfd, 1, 100) >= 0) {
			if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
			    read(c->c_r->rl_fd, junk, sizeof(junk)) <= 0)
				break;
		}
		rl_close(c->c_r);
	}
	holdq_clear(&c->c_hold);
	if (c->c_ui != NULL) {
		ui_close(c->c_ui);
		c->c_ui = NULL;
	}
	OPENSSL_cleanse(c->c_room_key, sizeof(c->c_room_key));
	return 0;
}

/* ---- the loop ---- */

/*
 * Held lines at EOF are worth waiting for only while a session may still come
 * up: the relay is not (re)joined yet, or some handshake is under way.
 */
static int
hold_has_prospect(const struct client *c)
{
	return c->c_me == 0 || peers_count(&c->c_peers, PS_WAIT) > 0 ||
	    peers_count(&c->c_peers, PS_HS) > 0;
}

static int
min_timeout(int64_t now, int64_t at, int cur)
{
	int64_t d = at - now;

	if (d < 0)
		d = 0;
	return d < cur ? (int)d : cur;
}

int
client_run(const struct chatc_opts *o, const uint8_t room[static ROOM_ID_LEN],
    const uint8_t myfpr[static FPR_LEN], struct keydc *k, struct rl_conn *r,
    struct ui *u)
{
	struct client *c = &g_client;
	struct pollfd pfd[3];
	struct frame f;
	sigset_t empty;
	struct timespec ts;
	int64_t now;
	int rc, tmo;

	memset(c, 0, sizeof(*c));
	c->c_o = o;
	memcpy(c->c_room, room, ROOM_ID_LEN);
	if ((rc = chatc_room_key(o->co_room, c->c_room_key)) != 0)
		return rc;
	memcpy(c->c_myfpr, myfpr, FPR_LEN);
	c->c_k = k;
	c->c_r = r;
	c->c_ui = u;
	peers_init(&c->c_peers);
	holdq_init(&c->c_hold);
	c->c_lost_since = now_ms();
	c->c_backoff = BACKOFF_FIRST_MS;
	c->c_next_try = c->c_lost_since;
	sigemptyset(&empty);
	update_status(c);

	for (;;) {
		now = now_ms();
		if (g_quit_sig != 0)
			c->c_quit = g_quit_sig == SIGHUP ? 2 : 1;
		if (g_winch) {
			g_winch = 0;
			if (c->c_ui != NULL)
				ui_resize(c->c_ui);
		}
		if (c->c_quit)
			return finish(c);
		if (c->c_r->rl_fd == -1 && now >= c->c_next_try) {
			rl_try(c);
			now = now_ms();
		}
		if (c->c_r->rl_fd != -1) {
			if (c->c_me == 0 && now - c->c_join_sent > KEEPALIVE_SEC * 1000) {
				rl_lost(c, "no WELCOME");
				continue;
			}
			if (now - c->c_last_rx >= KEEPALIVE_MISSES * KEEPALIVE_SEC * 1000) {
				rl_lost(c, "keepalives unanswered");
				continue;
			}
			if (c->c_me != 0)
				hs_timeouts(c, now);
			if (c->c_me != 0 && now - c->c_last_ping >= KEEPALIVE_SEC * 1000) {
				if (rl_send(c->c_r, FT_PING, MEMBER_NONE, NULL, 0) == 0)
					c->c_last_ping = now;
			}
			if (c->c_r->rl_outlen > 0 && rl_flush(c->c_r) != 0) {
				rl_lost(c, "write failed");
				continue;
			}
		}
		if (c->c_ui == NULL && (input_pending(c) || c->c_eof))
			process_input(c);
		if (c->c_eof && c->c_inlen == c->c_inoff && c->c_r->rl_outlen == 0 &&
		    (c->c_hold.hq_count == 0 || !hold_has_prospect(c) ||
		    now - c->c_eof_at >= EOF_HOLD_WAIT_MS))
			return finish(c);

		tmo = 1000;
		if (c->c_r->rl_fd == -1)
			tmo = min_timeout(now, c->c_next_try, tmo);
		else if (c->c_me != 0)
			tmo = min_timeout(now, c->c_last_ping + KEEPALIVE_SEC * 1000, tmo);
		if (c->c_eof && c->c_hold.hq_count > 0)
			tmo = min_timeout(now, c->c_eof_at + EOF_HOLD_WAIT_MS, tmo);

		pfd[0].fd = (!c->c_eof && c->c_r->rl_outlen < RL_OUT_HIGH &&
		    !input_pending(c)) ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = c->c_r->rl_fd;
		pfd[1].events = POLLIN | (c->c_r->rl_outlen > 0 ? POLLOUT : 0);
		pfd[2].fd = c->c_k->kc_fd;
		pfd[2].events = POLLIN;
		pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
		ts.tv_sec = tmo / 1000;
		ts.tv_nsec = (long)(tmo % 1000) * 1000000L;
		rc = ppoll(pfd, 3, &ts, &empty);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			client_die(c, "poll: %s", strerror(errno));
		}
		if (pfd[2].revents != 0)
			client_die(c, "lost keyd (connection closed); nothing more is sent");
		if (pfd[1].fd != -1 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			int rd = rl_read(c->c_r), nf = 0;

			/*
			 * Keep taking bytes off the socket between frames: keyd
			 * opens one at a time, and the relay must not see us lag.
			 * Frames already read are handled even after EOF.
			 */
			while (c->c_r->rl_fd != -1 && (rc = rl_next(c->c_r, &f)) == 1) {
				on_frame(c, &f);
				if (++nf % 32 == 0 && rd == 0 && c->c_r->rl_fd != -1)
					rd = rl_read(c->c_r);
			}
			if (c->c_r->rl_fd != -1 && rc < 0) {
				rl_lost(c, veil_strerror(rc));
				continue;
			}
			if (c->c_r->rl_fd != -1 && rd != 0) {
				rl_lost(c, rd == VEIL_E_ALLOC ? "out of memory" : "connection closed");
				continue;
			}
		}
		if (c->c_r->rl_fd != -1 && c->c_r->rl_outlen > 0 && rl_flush(c->c_r) != 0) {
			rl_lost(c, "write failed");
			continue;
		}
		if (pfd[0].fd != -1 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			read_input(c);
	}
}
