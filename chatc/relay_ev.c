/* SPDX-License-Identifier: ISC */
/*
 * What relay frames mean for a room. Blobs go between the relay and keyd
 * untouched: chatc decides only where a blob goes (which keyd request for
 * which member) from its type byte and the sender's state, and every blob
 * is checked against PROTOCOL.md 2 (proto_e2e_decode: E2E_MAX, the type's
 * allowed lengths) before any request is built, so nothing a member sends
 * can make a request keyd refuses to read. No frame ends chatc: a member's
 * worst is to end its own session, a relay's to make us reconnect.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "err.h"

int
rm_can_take(const struct room *r, const struct frame *f)
{
	if (r->rm_nbarrier > 0 || keydc_busy(r->rm_cl->cl_k))
		return 0;
	if (f->fr_type == FT_DATA || f->fr_type == FT_PONG)
		return 1;
	/* A LEFT after a member's last message shows after that message. */
	return r->rm_npending == 0;
}

static void
rm_on_data(struct room *r, uint16_t src, const uint8_t *blob, size_t n, int64_t now)
{
	struct peer *p = peers_find(&r->rm_peers, src);
	struct e2e_msg m;
	char why[96];
	int rc;

	if (src == r->rm_me)
		return;		/* our own, reflected: nothing for us */
	rc = proto_e2e_decode(blob, n, &m);
	if (p == NULL) {
		/* A member the relay never announced: only a handshake start is welcome. */
		if (rc != 0 || m.em_type != E2E_HS_INIT ||
		    (p = peers_add(&r->rm_peers, src, PS_WAIT)) == NULL)
			return;
		p->pe_hs_at = now;
	}
	if (p->pe_state == PS_REFUSED || p->pe_state == PS_IGNORED)
		return;
	if (rc != 0) {
		snprintf(why, sizeof(why), "%s (%zu bytes)", veil_strerror(rc), n);
		sess_reject(r, p, why);
		return;
	}
	sess_on_message(r, p, &m, blob, n, now);
}

static void
rm_on_welcome(struct room *r, const struct frame *f, int64_t now)
{
	uint16_t ids[ROOM_SIZE_MAX];
	struct peer *p;
	size_t i, n;

	if (r->rm_link != LS_JOINING)
		return;
	if (proto_welcome_members(f, ids, ROOM_SIZE_MAX, &n) != 0) {
		link_ended(r, LT_LOST, "malformed WELCOME", now);
		return;
	}
	link_joined(r, f->fr_dst, now);
	for (i = 0; i < n; i++) {
		if (ids[i] == r->rm_me || peers_find(&r->rm_peers, ids[i]) != NULL)
			continue;
		if ((p = peers_add(&r->rm_peers, ids[i], PS_HS)) != NULL)
			sess_hs_start(r, p, now);
	}
	emit_status(r);
}

void
rm_on_frame(struct room *r, const struct frame *f, int64_t now)
{
	struct peer *p;
	uint8_t code;

	r->rm_last_rx = now;
	if (f->fr_type == FT_ERROR) {
		/* The relay's own reason beats what the socket said after it. */
		code = f->fr_len > 0 ? f->fr_payload[0] : 0;
		r->rm_trouble = code == FE_ROOM_FULL ? LT_ROOM_FULL :
		    code == FE_SERVER_FULL ? LT_SERVER_FULL : LT_LOST;
		snprintf(r->rm_why, sizeof(r->rm_why), "%s", proto_frame_strerror(code));
		link_ended(r, r->rm_trouble, r->rm_why, now);
		return;
	}
	if (r->rm_me == 0) {
		if (f->fr_type == FT_WELCOME)
			rm_on_welcome(r, f, now);
		return;
	}
	switch (f->fr_type) {
	case FT_JOINED:
		if (f->fr_src == r->rm_me)
			break;
		/* An id seen again is a new member: the old one left (PROTOCOL.md 1.4). */
		if ((p = peers_find(&r->rm_peers, f->fr_src)) != NULL)
			sess_gone(r, p);
		if ((p = peers_add(&r->rm_peers, f->fr_src, PS_WAIT)) == NULL)
			emit(r, EV_WARN, "too many members; ignoring member %u",
			    (unsigned int)f->fr_src);
		else
			p->pe_hs_at = now;
		emit_status(r);
		break;
	case FT_LEFT:
		if ((p = peers_find(&r->rm_peers, f->fr_src)) != NULL)
			sess_gone(r, p);
		break;
	case FT_DATA:
		rm_on_data(r, f->fr_src, f->fr_payload, f->fr_len, now);
		break;
	default:
		break;		/* PONG, or a second WELCOME: nothing to do */
	}
}
