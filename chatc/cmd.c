/* SPDX-License-Identifier: ISC */
/*
 * Typed lines: what a line is (a message, a command, or something refused
 * with the reason), and the commands. A message goes to tx.c; commands ask
 * keyd through sess.c and answer with EV_INFO lines. Lines go to the room
 * the user is in (client_room).
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "err.h"

static const struct {
	const char	*name;
	int		 cmd;
	int		 takes_arg;
} line_cmds[] = {
	{ "help",	CMD_HELP,	0 },
	{ "who",	CMD_WHO,	0 },
	{ "verify",	CMD_VERIFY,	1 },
	{ "rekey",	CMD_REKEY,	0 },
	{ "status",	CMD_STATUS,	0 },
	{ "quit",	CMD_QUIT,	0 },
};

void
chatc_line_parse(const uint8_t *p, size_t n, struct line *l)
{
	size_t i, w, a;

	memset(l, 0, sizeof(*l));
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		l->ln_kind = LINE_EMPTY;
		return;
	}
	if (p[0] == '/' && !(n >= 2 && p[1] == '/')) {
		for (w = 1; w < n && p[w] != ' '; w++)
			;
		for (a = w; a < n && p[a] == ' '; a++)
			;
		while (n > a && p[n - 1] == ' ')
			n--;
		l->ln_kind = LINE_UNKNOWN;
		l->ln_text = p;
		l->ln_len = w;
		for (i = 0; i < sizeof(line_cmds) / sizeof(line_cmds[0]); i++) {
			if (strlen(line_cmds[i].name) != w - 1 ||
			    memcmp(line_cmds[i].name, p + 1, w - 1) != 0)
				continue;
			if (a < n && !line_cmds[i].takes_arg)
				return;		/* "/quit now": not a command we know */
			l->ln_kind = LINE_CMD;
			l->ln_cmd = line_cmds[i].cmd;
			if (a < n) {
				l->ln_arg = p + a;
				l->ln_arglen = n - a;
			}
			return;
		}
		return;
	}
	if (p[0] == '/') {	/* "//x": the text "/x" */
		p++;
		n--;
	}
	l->ln_text = p;
	l->ln_len = n;
	if (n > MSG_MAX)
		l->ln_kind = LINE_TOOLONG;
	else if (!esc_utf8_valid(p, n))
		l->ln_kind = LINE_BADUTF8;
	else
		l->ln_kind = LINE_TEXT;
}

static void
cmd_help(struct room *r)
{
	emit(r, EV_INFO, "/who            who is here and how they are trusted");
	emit(r, EV_INFO, "/verify [NICK]  safety number and both fingerprints");
	emit(r, EV_INFO, "/rekey          fresh keys with every peer now (a ratchet round "
	    "trip); a new handshake with those whose failed or was refused");
	emit(r, EV_INFO, "/status         your lines not yet acknowledged, per peer");
	emit(r, EV_INFO, "/quit           leave (also Ctrl-C)");
	emit(r, EV_INFO, "//text          send a line that starts with /");
}

static void
cmd_who(struct room *r)
{
	char fpr[FPR_TEXT_LEN + 1], name[ESC_MAX(256)];
	size_t i, n = 0;

	proto_fpr_format(r->rm_cl->cl_myfpr, fpr);
	esc_text((const uint8_t *)r->rm_name, strnlen(r->rm_name, 256), name, sizeof(name));
	emit(r, EV_INFO, "room %s; you are %s (%s)", name, r->rm_cl->cl_o->co_nick, fpr);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		const struct peer *p = &r->rm_peers.pt_p[i];

		switch (p->pe_state) {
		case PS_SECURE:
			proto_fpr_format(p->pe_fpr, fpr);
			emit(r, EV_INFO, "  %s %s %s", p->pe_name, fpr,
			    chatc_trust_name(p->pe_trust));
			break;
		case PS_WAIT:
		case PS_HS:
			emit(r, EV_INFO, "  %s: handshake in progress", p->pe_name);
			break;
		case PS_REFUSED:
			proto_fpr_format(p->pe_fpr, fpr);
			emit(r, EV_INFO, "  %s %s REFUSED (%s)", p->pe_name, fpr,
			    p->pe_ref_reason == REFUSE_EXPECT ? "not the --expect fingerprint" :
			    p->pe_ref_reason == REFUSE_OWN_NAME ? "another key with your nickname" :
			    "another key is known under that name");
			break;
		case PS_IGNORED:
			emit(r, EV_INFO, "  %s: ignored (too many bad messages)", p->pe_name);
			break;
		case PS_DEAD:
			emit(r, EV_INFO, "  %s: no session", p->pe_name);
			break;
		default:
			continue;
		}
		n++;
	}
	if (n == 0)
		emit(r, EV_INFO, "  nobody else is here");
	if (r->rm_hold.hq_count > 0)
		emit(r, EV_INFO, "  %zu line(s) held until a session is secure",
		    r->rm_hold.hq_count);
	if (r->rm_link != LS_JOINED)
		emit(r, EV_INFO, "  not in the room: %s", r->rm_why[0] != '\0' ? r->rm_why :
		    "connecting");
}

/* The room code (PROTOCOL.md 2.8) of the members we hold a session with. */
static void
cmd_room_code(struct room *r)
{
	uint8_t ids[DLV_VIEW_MAX * DLV_ID_LEN];
	char code[DLV_CODE_LEN + 1];
	size_t n = dlv_view(&r->rm_dlv, ids);

	if (dlv_code(&r->rm_dlv, code) != 0)
		return;
	emit(r, EV_INFO, "room code: %s (you and %zu member(s) you hold a secure session "
	    "with: the same for everyone exactly when all see the same members)", code,
	    n - 1);
}

static void
cmd_verify(struct room *r, const struct line *l)
{
	char esc[ESC_MAX(MSG_MAX)];
	struct peer *p;
	size_t i, n = 0;

	if (l->ln_arg != NULL) {
		if ((p = peers_by_nick(&r->rm_peers, l->ln_arg, l->ln_arglen)) == NULL) {
			esc_text(l->ln_arg, l->ln_arglen, esc, sizeof(esc));
			emit(r, EV_INFO, "no secure session with %s", esc);
			return;
		}
		sess_verify(r, p);
		return;
	}
	for (i = 0; i < ROOM_SIZE_MAX; i++)
		if (r->rm_peers.pt_p[i].pe_state == PS_SECURE) {
			sess_verify(r, &r->rm_peers.pt_p[i]);
			n++;
		}
	if (n == 0)
		emit(r, EV_INFO, "no secure session to verify yet");
	cmd_room_code(r);
}

static void
cmd_rekey(struct room *r)
{
	uint8_t tok[INNER_TOKEN_LEN];
	size_t i, n = 0;
	int rc;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if ((p->pe_state == PS_DEAD || p->pe_state == PS_IGNORED ||
		    p->pe_state == PS_REFUSED) && r->rm_link == LS_JOINED) {
			/*
			 * No session: a fresh handshake, from the start. Either
			 * side may start one; if both do at once, the lower
			 * member id stays initiator (PROTOCOL.md 2.1).
			 */
			n++;
			emit(r, EV_WARN, "new handshake with %s", p->pe_name);
			p->pe_bad = 0;
			p->pe_restarts = 0;
			sess_hs_start(r, p, r->rm_cl->cl_now);
			emit_status(r);
			continue;
		}
		if (p->pe_state != PS_SECURE)
			continue;
		n++;
		/*
		 * The ratchet steps by itself at every change of speaker; a
		 * PING makes this side step now and its PONG the peer
		 * (PROTOCOL.md 2.3): "rekeyed" once the PONG is back.
		 */
		emit(r, EV_WARN, "rekeying with %s", p->pe_name);
		/* Tokens of deliver.c's PINGs stay below 2^31: these are above. */
		if (++r->rm_token == 0 || r->rm_token < 0x80000000u)
			r->rm_token = 0x80000000u;
		p->pe_rekey_token = r->rm_token;
		veil_put32(tok, r->rm_token);
		if ((rc = sess_seal(r, p, IK_PING, tok, sizeof(tok))) != 0)
			emit(r, EV_WARN, "rekey with %s failed: cannot ask keyd (%s)", p->pe_name,
			    veil_strerror(rc));
	}
	if (n == 0)
		emit(r, EV_INFO, "no secure session to rekey");
}

void
client_on_line(struct client *c, const uint8_t *p, size_t n)
{
	struct room *r = client_room(c);
	char esc[ESC_MAX(64)];
	struct line l;

	chatc_line_parse(p, n, &l);
	switch (l.ln_kind) {
	case LINE_EMPTY:
		break;
	case LINE_TEXT:
		tx_line(r, l.ln_text, l.ln_len, ++c->cl_lines);
		break;
	case LINE_TOOLONG:
		c->cl_lines++;
		c->cl_notsent++;
		emit(r, EV_WARN, "line too long (%zu bytes, max %d); not sent", l.ln_len, MSG_MAX);
		break;
	case LINE_BADUTF8:
		c->cl_lines++;
		c->cl_notsent++;
		emit(r, EV_WARN, "line is not valid UTF-8; not sent");
		break;
	case LINE_UNKNOWN:
		c->cl_notsent++;
		esc_text(l.ln_text, l.ln_len < 64 ? l.ln_len : 64, esc, sizeof(esc));
		emit(r, EV_WARN, "unknown command %s (try /help; // sends a leading /); not sent",
		    esc);
		break;
	case LINE_CMD:
		switch (l.ln_cmd) {
		case CMD_HELP:
			cmd_help(r);
			break;
		case CMD_WHO:
			cmd_who(r);
			break;
		case CMD_VERIFY:
			cmd_verify(r, &l);
			break;
		case CMD_REKEY:
			cmd_rekey(r);
			break;
		case CMD_STATUS:
			tx_status(r);
			break;
		case CMD_QUIT:
			client_leave(c, c->cl_now);
			break;
		}
		break;
	}
}

void
client_on_overlong(struct client *c, size_t n)
{
	c->cl_lines++;
	c->cl_notsent++;
	emit(client_room(c), EV_WARN, "line too long (%zu bytes, max %d); not sent", n,
	    MSG_MAX);
}
