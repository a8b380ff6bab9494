/* SPDX-License-Identifier: ISC */
/*
 * Per-member state, the bounded hold queue for lines typed before any
 * session is secure, and the classification of typed lines.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

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
	default:
		return "?";
	}
}
