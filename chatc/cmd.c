/* SPDX-License-Identifier: ISC */
/*
 * Typed lines: what a line is (a message, a command, or something refused
 * with the reason), and the commands, one table: name (matched regardless
 * of case), whether it takes an argument, its usage and help. A message goes
 * to tx.c; commands ask keyd through sess.c and answer with EV_INFO lines,
 * or tell the front-end what to show (EV_CLEAR, EV_LASTLOG, EV_FOCUS). Lines
 * go to the room the user is in (client_room).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

enum cmd_arg {
	ARG_NONE,	/* "/clear now" is a usage error */
	ARG_OPT,
	ARG_NEED,
};

static const struct cmd_def {
	const char	*cd_name;
	int		 cd_cmd;
	int		 cd_arg;	/* enum cmd_arg */
	const char	*cd_usage;
	const char	*cd_what;
	const char	*cd_more;	/* /help NAME: further lines, '\n' between */
} line_cmds[] = {
	{ "help", CMD_HELP, ARG_OPT, "/help [COMMAND]", "the commands, or one of them",
	    NULL },
	{ "who", CMD_WHO, ARG_OPT, "/who [NICK]", "who is here and how they are trusted",
	    "With NICK: that member's fingerprint, trust and session." },
	{ "verify", CMD_VERIFY, ARG_OPT, "/verify [NICK]",
	    "safety number and both fingerprints",
	    "Read them to the other person out of band (in person, on a call);\n"
	    "if they differ, someone is in the middle. Without NICK: everyone\n"
	    "secure in this room." },
	{ "rekey", CMD_REKEY, ARG_OPT, "/rekey [NICK]", "fresh keys with every peer now",
	    "The keys change by themselves at every change of speaker (a ratchet\n"
	    "step); /rekey makes a round trip of them now. With NICK: with that\n"
	    "peer only. A peer whose handshake failed or was refused gets a new\n"
	    "handshake instead. \"rekeyed\" is said once the round trip is back." },
	{ "me", CMD_ME, ARG_NEED, "/me TEXT", "say what you do: * alice TEXT",
	    "Sent as the message \"/me TEXT\"; chatc shows it as an action." },
	{ "msg", CMD_MSG, ARG_NEED, "/msg NICK TEXT", "a message for one peer only",
	    "Sealed for NICK alone and sent to no one else in the room. The\n"
	    "relay sees that one member got a message and the others did not." },
	{ "clear", CMD_CLEAR, ARG_NONE, "/clear", "empty this window", NULL },
	{ "lastlog", CMD_LASTLOG, ARG_NEED, "/lastlog TEXT",
	    "the lines of this window that contain TEXT",
	    "Case is ignored; the last 100 matches are shown below." },
	{ "win", CMD_WIN, ARG_OPT, "/win [N|next|prev]", "go to window N (also Alt-N)",
	    "Lines typed go to the room of the window shown." },
	{ "status", CMD_STATUS, ARG_NONE, "/status", "every room: its relay, members and "
	    "held lines; this room: your lines not yet acknowledged",
	    "Per peer: the numbers of your lines it has not acknowledged, how many\n"
	    "are in flight, and whether it answers; then the room code." },
	{ "join", CMD_JOIN, ARG_NEED, "/join CODE|NAME", "join another room, in a new window",
	    "An invite code (veil:...) or a room name; same nick, and each room\n"
	    "has its own sessions. Up to 10 rooms. A relay chatc did not reach at\n"
	    "start cannot be looked up now: give such a room on the command line." },
	{ "part", CMD_PART, ARG_NONE, "/part", "leave this room (not the last one)",
	    "Lines held or still on their way are reported not sent." },
	{ "quit", CMD_QUIT, ARG_OPT, "/quit [MESSAGE]", "leave (also Ctrl-C)",
	    "MESSAGE, if given, is said in every room first." },
};

#define NCMDS	(sizeof(line_cmds) / sizeof(line_cmds[0]))

const char *
chatc_cmd_name(size_t i)
{
	return i < NCMDS ? line_cmds[i].cd_name : NULL;
}

static const struct cmd_def *
cmd_find(const uint8_t *name, size_t n)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strlen(line_cmds[i].cd_name) == n &&
		    strncasecmp(line_cmds[i].cd_name, (const char *)name, n) == 0)
			return &line_cmds[i];
	return NULL;
}

void
chatc_line_parse(const uint8_t *p, size_t n, struct line *l)
{
	const struct cmd_def *cd;
	size_t w, a;

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
		if ((cd = cmd_find(p + 1, w - 1)) == NULL)
			return;
		l->ln_cmd = cd->cd_cmd;
		if (a < n) {
			l->ln_arg = p + a;
			l->ln_arglen = n - a;
		}
		if ((cd->cd_arg == ARG_NONE && a < n) || (cd->cd_arg == ARG_NEED && a >= n))
			l->ln_kind = LINE_USAGE;
		else
			l->ln_kind = LINE_CMD;
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

/* The argument, escaped, for messages. */
static const char *
cmd_arg_esc(const struct line *l, char *buf, size_t cap)
{
	esc_text(l->ln_arg, l->ln_arglen < 64 ? l->ln_arglen : 64, buf, cap);
	return buf;
}

static void
cmd_help(struct room *r, const struct line *l)
{
	const struct cmd_def *cd;
	const char *p, *nl;
	char esc[ESC_MAX(64)];
	size_t i;

	if (l->ln_arg == NULL) {
		for (i = 0; i < NCMDS; i++)
			emit(r, EV_INFO, "%-20s %s", line_cmds[i].cd_usage, line_cmds[i].cd_what);
		emit(r, EV_INFO, "%-20s %s", "//text", "send a line that starts with /");
		emit(r, EV_INFO, "commands may be typed in any case; /help COMMAND tells more");
		return;
	}
	if ((cd = cmd_find(l->ln_arg + (l->ln_arg[0] == '/'),
	    l->ln_arglen - (l->ln_arg[0] == '/'))) == NULL) {
		emit(r, EV_INFO, "no command %s; /help lists them", cmd_arg_esc(l, esc,
		    sizeof(esc)));
		return;
	}
	emit(r, EV_INFO, "%s: %s", cd->cd_usage, cd->cd_what);
	for (p = cd->cd_more; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		emit(r, EV_INFO, "  %.*s", (int)(nl != NULL ? (size_t)(nl - p) : strlen(p)), p);
	}
}

static void
cmd_who_one(struct room *r, const struct peer *p)
{
	char fpr[FPR_TEXT_LEN + 1];

	switch (p->pe_state) {
	case PS_SECURE:
		proto_fpr_format(p->pe_fpr, fpr);
		emit(r, EV_INFO, "  %s %s %s", p->pe_name, fpr, chatc_trust_name(p->pe_trust));
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
		break;
	}
}

/* A member by nick (any state where its nick is known), or NULL. */
static struct peer *
cmd_peer(struct room *r, const uint8_t *nick, size_t n)
{
	size_t i;

	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if (p->pe_state != PS_FREE && p->pe_had_nick && p->pe_nicklen == n &&
		    memcmp(p->pe_nick, nick, n) == 0)
			return p;
	}
	return NULL;
}

static void
cmd_who(struct room *r, const struct line *l)
{
	char fpr[FPR_TEXT_LEN + 1], name[ESC_MAX(256)], esc[ESC_MAX(64)];
	const struct peer *p;
	size_t i, n = 0;

	if (l->ln_arg != NULL) {
		if ((p = cmd_peer(r, l->ln_arg, l->ln_arglen)) == NULL)
			emit(r, EV_INFO, "nobody called %s here", cmd_arg_esc(l, esc, sizeof(esc)));
		else
			cmd_who_one(r, p);
		return;
	}
	proto_fpr_format(r->rm_cl->cl_myfpr, fpr);
	esc_text((const uint8_t *)r->rm_name, strnlen(r->rm_name, 256), name, sizeof(name));
	emit(r, EV_INFO, "room %s; you are %s (%s)", name, r->rm_cl->cl_o->co_nick, fpr);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		p = &r->rm_peers.pt_p[i];
		if (p->pe_state == PS_FREE)
			continue;
		cmd_who_one(r, p);
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
cmd_status(struct client *c, struct room *r)
{
	char name[ESC_MAX(64)];
	size_t i;

	for (i = 0; i < c->cl_nrooms; i++) {
		const struct room *x = c->cl_rooms[i];

		esc_text((const uint8_t *)x->rm_name, strnlen(x->rm_name, 64), name, sizeof(name));
		emit(r, EV_INFO, "%s%zu: %s on %s: %s; %zu secure, %zu held%s", i == c->cl_cur ?
		    "*" : " ", i + 1, name, x->rm_relay, x->rm_link == LS_JOINED ? "in the room" :
		    x->rm_why[0] != '\0' ? x->rm_why : "connecting",
		    peers_count(&x->rm_peers, PS_SECURE), x->rm_hold.hq_count,
		    x->rm_tries > 0 ? " (retrying)" : "");
	}
	/* This room's lines not yet acknowledged, per peer, and its room code. */
	tx_status(r);
}

static void
cmd_verify(struct room *r, const struct line *l)
{
	char esc[ESC_MAX(64)];
	struct peer *p;
	size_t i, n = 0;

	if (l->ln_arg != NULL) {
		if ((p = peers_by_nick(&r->rm_peers, l->ln_arg, l->ln_arglen)) == NULL) {
			emit(r, EV_INFO, "no secure session with %s", cmd_arg_esc(l, esc,
			    sizeof(esc)));
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
cmd_rekey(struct room *r, const struct line *l)
{
	char esc[ESC_MAX(64)];
	uint8_t tok[INNER_TOKEN_LEN];
	size_t i, n = 0;
	int rc;

	if (l->ln_arg != NULL && cmd_peer(r, l->ln_arg, l->ln_arglen) == NULL) {
		emit(r, EV_INFO, "nobody called %s here", cmd_arg_esc(l, esc, sizeof(esc)));
		return;
	}
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		struct peer *p = &r->rm_peers.pt_p[i];

		if (l->ln_arg != NULL && (p->pe_nicklen != l->ln_arglen ||
		    memcmp(p->pe_nick, l->ln_arg, l->ln_arglen) != 0))
			continue;
		if ((p->pe_state == PS_DEAD || p->pe_state == PS_IGNORED ||
		    p->pe_state == PS_REFUSED) && r->rm_link == LS_JOINED) {
			/*
			 * No session: a fresh handshake, from the start. Either
			 * side may start one; if both do at once, the lower
			 * member id stays initiator (PROTOCOL.md 2.1).
			 */
			n++;
			emit(r, EV_INFO, "new handshake with %s", p->pe_name);
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
		emit(r, EV_INFO, "rekeying with %s", p->pe_name);
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

/* A message made by a command (/me, /msg, /quit's): checked like a typed line. 1 if it may go. */
static int
cmd_text_ok(struct client *c, struct room *r, const uint8_t *p, size_t n)
{
	if (n > MSG_MAX) {
		c->cl_notsent++;
		emit(r, EV_WARN, "line too long (%zu bytes, max %d); not sent", n, MSG_MAX);
		return 0;
	}
	if (!esc_utf8_valid(p, n)) {
		c->cl_notsent++;
		emit(r, EV_WARN, "line is not valid UTF-8; not sent");
		return 0;
	}
	return 1;
}

/* /me TEXT: the message "/me TEXT" (chatc shows it as an action: events.c). */
static void
cmd_me(struct client *c, struct room *r, const struct line *l)
{
	uint8_t buf[MSG_MAX + 1];
	size_t n = 4 + l->ln_arglen;

	c->cl_lines++;
	if (l->ln_arg == NULL || n > MSG_MAX) {
		c->cl_notsent++;
		emit(r, EV_WARN, "line too long (%zu bytes, max %d); not sent", n, MSG_MAX);
		return;
	}
	/* Bytes, not a string: no terminator is wanted. */
	buf[0] = '/';
	buf[1] = 'm';
	buf[2] = 'e';
	buf[3] = ' ';
	memcpy(buf + 4, l->ln_arg, l->ln_arglen);
	if (cmd_text_ok(c, r, buf, n))
		tx_line(r, buf, n, c->cl_lines);
	OPENSSL_cleanse(buf, n);
}

/*
 * /msg NICK TEXT: queued for that one peer identity alone, TEXT flag
 * INNER_PRIVATE set (PROTOCOL.md 2.3), so its chatc shows it as private;
 * shown here as ours to it. The flag is the sender's word: the receiver
 * cannot prove how many copies were sealed.
 */
static void
cmd_msg(struct client *c, struct room *r, const struct line *l)
{
	const uint8_t *a = l->ln_arg, *text;
	char esc[ESC_MAX(64)];
	size_t nl, tl;
	struct peer *p;

	for (nl = 0; nl < l->ln_arglen && a[nl] != ' '; nl++)
		;
	for (text = a + nl, tl = l->ln_arglen - nl; tl > 0 && *text == ' '; text++, tl--)
		;
	if (tl == 0) {
		c->cl_notsent++;
		emit(r, EV_WARN, "usage: /msg NICK TEXT; nothing to send");
		return;
	}
	c->cl_lines++;
	if (!cmd_text_ok(c, r, text, tl))
		return;
	if ((p = peers_by_nick(&r->rm_peers, a, nl)) == NULL) {
		esc_text(a, nl < 64 ? nl : 64, esc, sizeof(esc));
		emit_notsent(r, esc, "no secure session with it in this room", text, tl);
		return;
	}
	tx_line_to(r, p, text, tl, c->cl_lines);
}

/* /quit [MESSAGE]: said in every room, then chatc ends (after it went). */
static void
cmd_quit(struct client *c, const struct line *l)
{
	size_t i;

	if (l->ln_arg != NULL) {
		c->cl_lines++;
		for (i = 0; i < c->cl_nrooms; i++)
			if (cmd_text_ok(c, c->cl_rooms[i], l->ln_arg, l->ln_arglen))
				tx_line(c->cl_rooms[i], l->ln_arg, l->ln_arglen, c->cl_lines);
	}
	client_leave(c, c->cl_now);
}

/* /win N, /win next, /win prev: the room typed lines go to; the screen shows its window. */
/* /join CODE (an invite code, by its prefix) or /join NAME. */
static void
cmd_join(struct client *c, struct room *r, const struct line *l)
{
	size_t plen = sizeof(INVITE_PREFIX) - 1;
	char err[256];
	int code = l->ln_arglen > plen && memcmp(l->ln_arg, INVITE_PREFIX, plen) == 0;

	if (client_join(c, (const char *)l->ln_arg, l->ln_arglen, code, c->cl_now, err,
	    sizeof(err)) != 0) {
		char esc[ESC_MAX(sizeof(err))];

		esc_text((const uint8_t *)err, strlen(err), esc, sizeof(esc));
		emit(r, EV_INFO, "cannot join: %s", esc);
		return;
	}
}

static void
cmd_win(struct client *c, const struct line *l)
{
	struct room *r = client_room(c);
	char esc[ESC_MAX(64)];
	size_t n = c->cl_nrooms, to;
	unsigned long v = 0;
	size_t i;

	if (l->ln_arg == NULL) {
		emit(r, EV_INFO, "you are in window %zu of %zu", c->cl_cur + 1, n);
		return;
	}
	if (l->ln_arglen == 4 && strncasecmp((const char *)l->ln_arg, "next", 4) == 0)
		to = (c->cl_cur + 1) % n;
	else if (l->ln_arglen == 4 && strncasecmp((const char *)l->ln_arg, "prev", 4) == 0)
		to = (c->cl_cur + n - 1) % n;
	else {
		for (i = 0; i < l->ln_arglen && i < 3; i++) {
			if (l->ln_arg[i] < '0' || l->ln_arg[i] > '9')
				break;
			v = v * 10 + (unsigned long)(l->ln_arg[i] - '0');
		}
		if (i == 0 || i != l->ln_arglen || v == 0 || v > n) {
			emit(r, EV_INFO, "no window %s (there %s %zu)", cmd_arg_esc(l, esc,
			    sizeof(esc)), n == 1 ? "is" : "are", n);
			return;
		}
		to = v - 1;
	}
	c->cl_cur = to;
	emit_plain(client_room(c), EV_FOCUS, NULL, 0);
}

void
client_on_line(struct client *c, const uint8_t *p, size_t n)
{
	struct room *r = client_room(c);
	const struct cmd_def *cd;
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
	case LINE_USAGE:
		c->cl_notsent++;
		cd = cmd_find(l.ln_text + 1, l.ln_len - 1);
		emit(r, EV_WARN, "usage: %s; not sent", cd != NULL ? cd->cd_usage : "?");
		break;
	case LINE_CMD:
		switch (l.ln_cmd) {
		case CMD_HELP:
			cmd_help(r, &l);
			break;
		case CMD_WHO:
			cmd_who(r, &l);
			break;
		case CMD_VERIFY:
			cmd_verify(r, &l);
			break;
		case CMD_REKEY:
			cmd_rekey(r, &l);
			break;
		case CMD_ME:
			cmd_me(c, r, &l);
			break;
		case CMD_MSG:
			cmd_msg(c, r, &l);
			break;
		case CMD_STATUS:
			cmd_status(c, r);
			break;
		case CMD_QUIT:
			cmd_quit(c, &l);
			break;
		case CMD_CLEAR:
			emit_plain(r, EV_CLEAR, NULL, 0);
			break;
		case CMD_LASTLOG:
			emit_plain(r, EV_LASTLOG, l.ln_arg, l.ln_arglen);
			break;
		case CMD_WIN:
			cmd_win(c, &l);
			break;
		case CMD_JOIN:
			cmd_join(c, r, &l);
			break;
		case CMD_PART:
			client_part(c, c->cl_cur);
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
