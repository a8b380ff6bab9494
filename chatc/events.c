/* SPDX-License-Identifier: ISC */
/*
 * The events the core hands to its front-end (fe.h): one struct ev per
 * thing a person should see, built from the room's state and passed on at
 * once. Text the core writes (WARN, INFO, ...) names members by pe_name,
 * which is escaped; a peer's nick and message go raw in their own fields
 * and the front-end escapes them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "err.h"

static void
emit_ev(struct room *r, struct ev *e)
{
	struct client *c = r->rm_cl;

	e->ev_room = r->rm_idx;
	e->ev_rname = r->rm_ename;
	e->ev_multi = c->cl_multi;
	e->ev_final = c->cl_final;
	if (c->cl_fe.fe_event != NULL)
		c->cl_fe.fe_event(c->cl_fe.fe_arg, e);
}

void
emit_event(struct room *r, struct ev *e)
{
	emit_ev(r, e);
}

void
emit(struct room *r, int kind, const char *fmt, ...)
{
	static char text[EV_LINE_MAX];
	struct ev e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.ev_kind = kind;
	e.ev_line = text;
	emit_ev(r, &e);
}

static void
emit_peer(struct room *r, int kind, const struct peer *p, struct ev *e)
{
	e->ev_kind = kind;
	e->ev_who = p->pe_name;
	e->ev_nick = p->pe_nick;
	e->ev_nicklen = p->pe_nicklen;
	e->ev_fpr = p->pe_fpr;
	e->ev_trust = p->pe_trust;
	emit_ev(r, e);
}

void
emit_secure(struct room *r, const struct peer *p)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	emit_peer(r, EV_SECURE, p, &e);
	emit_status(r);
}

/*
 * "/me TEXT" is an action: a convention of the text, so any client shows
 * it readably (PROTOCOL.md has no field for it). The flag says so; the text
 * stays whole (--batch prints it as it came).
 */
static int
emit_flags(const uint8_t *text, size_t n)
{
	return n > 4 && memcmp(text, "/me ", 4) == 0 ? EVF_ACTION : 0;
}

void
emit_left(struct room *r, const struct peer *p)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	emit_peer(r, EV_LEFT, p, &e);
}

void
emit_mine(struct room *r, int kind, const char *to, const uint8_t *text, size_t n,
    uint32_t num, unsigned int of)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	e.ev_kind = kind;
	e.ev_text = text;
	e.ev_textlen = n;
	e.ev_flags = emit_flags(text, n) | (to != NULL ? EVF_PRIVATE : 0);
	e.ev_who = to;
	e.ev_n = num;
	e.ev_of = of;
	emit_ev(r, &e);
	if (kind == EV_MINE)
		hist_note(r, HR_MINE | (e.ev_flags & EVF_ACTION ? HR_ACTION : 0) |
		    (to != NULL ? HR_PRIVATE : 0), (const uint8_t *)to,
		    to != NULL ? strlen(to) : 0, text, n);
}

void
emit_text(struct room *r, const char *who, const uint8_t *nick, size_t nicklen,
    const uint8_t *text, size_t n, int priv)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	e.ev_kind = EV_MSG;
	e.ev_who = who;
	e.ev_nick = nick;
	e.ev_nicklen = nicklen;
	e.ev_text = text;
	e.ev_textlen = n;
	e.ev_flags = emit_flags(text, n) | (priv ? EVF_PRIVATE : 0);
	emit_ev(r, &e);
	hist_note(r, (e.ev_flags & EVF_ACTION ? HR_ACTION : 0) | (priv ? HR_PRIVATE : 0),
	    nick, nicklen, text, n);
}

void
emit_delivery(struct room *r, int kind, const struct dlv_peer *dp,
    const struct dlv_text *t, const char *reason)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	e.ev_kind = kind;
	e.ev_who = dp->dp_name;
	e.ev_nick = dp->dp_nick;
	e.ev_nicklen = dp->dp_nicklen;
	e.ev_n = t->dt_line;
	e.ev_k = t->dt_acked;
	e.ev_of = t->dt_to;
	e.ev_failed = t->dt_failed;
	e.ev_line = reason;
	emit_ev(r, &e);
	/* The status line counts what is not yet delivered to all. */
	if (kind == EV_UNDELIVERED || t->dt_acked + t->dt_failed == t->dt_to)
		emit_status(r);
}

void
emit_notsent(struct room *r, const char *to, const char *why, const uint8_t *text,
    size_t n)
{
	static char esc[ESC_MAX(MSG_MAX)];

	esc_text(text, n, esc, sizeof(esc));
	r->rm_cl->cl_notsent++;
	emit(r, EV_WARN, "not sent%s%s (%s): %s", to != NULL ? " to " : "",
	    to != NULL ? to : "", why, esc);
}

static int
emit_peer_state(int st)
{
	switch (st) {
	case PS_WAIT:
	case PS_HS:
		return EVP_HS;
	case PS_SECURE:
		return EVP_SECURE;
	case PS_REFUSED:
		return EVP_REFUSED;
	case PS_IGNORED:
		return EVP_IGNORED;
	default:
		return EVP_DEAD;
	}
}

void
emit_status(struct room *r)
{
	struct ev_status *st = &r->rm_view;
	struct ev e;
	size_t i;

	memset(st, 0, sizeof(*st));
	snprintf(st->st_room, sizeof(st->st_room), "%s", r->rm_ename);
	switch (r->rm_link) {
	case LS_JOINED:
		st->st_link = LINK_JOINED;
		break;
	case LS_JOINING:
		st->st_link = LINK_JOINING;
		break;
	default:
		st->st_link = r->rm_trouble == LT_NONE ? LINK_CONNECTING : LINK_RETRYING;
		break;
	}
	snprintf(st->st_why, sizeof(st->st_why), "%s", r->rm_why);
	st->st_tries = r->rm_tries;
	st->st_held = r->rm_hold.hq_count;
	st->st_pending = dlv_outstanding(&r->rm_dlv);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &r->rm_peers.pt_p[i];
		struct ev_peer *ep;

		/* A member that left its session (closed, failed) is not shown. */
		if (p->pe_state == PS_FREE || p->pe_state == PS_DEAD)
			continue;
		ep = &st->st_peers[st->st_npeers++];
		snprintf(ep->ep_name, sizeof(ep->ep_name), "%s", p->pe_name);
		ep->ep_state = emit_peer_state(p->pe_state);
		ep->ep_trust = p->pe_trust;
	}
	memset(&e, 0, sizeof(e));
	e.ev_kind = EV_STATUS;
	e.ev_status = st;
	emit_ev(r, &e);
}

void
emit_plain(struct room *r, int kind, const uint8_t *text, size_t n)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	e.ev_kind = kind;
	e.ev_text = text;
	e.ev_textlen = n;
	emit_ev(r, &e);
}

const char *
keyd_reason(const struct ipc_msg *a, char *buf, size_t cap)
{
	if (a->im_textlen > 0) {
		esc_text(a->im_text, a->im_textlen, buf, cap);
		return buf;
	}
	return veil_strerror(-(int)a->im_err);
}
