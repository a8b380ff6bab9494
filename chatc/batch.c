/* SPDX-License-Identifier: ISC */
/*
 * The --batch event lines of DESIGN.md: SECURE, MSG, LEFT, WARN, ERROR, one
 * per line, first word naming it. Peer bytes are escaped here, so a message
 * can never forge a second event line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "err.h"

/* Appends s (n bytes) if it fits entirely. */
static void
ev_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len < cap && cap - *len > n) {
		memcpy(out + *len, s, n);
		*len += n;
	}
	out[*len] = '\0';
}

static void
ev_put_esc(char *out, size_t cap, size_t *len, const uint8_t *p, size_t n)
{
	if (*len < cap)
		*len += esc_text(p, n, out + *len, cap - *len);
}

static size_t
ev_end(char *out, size_t cap, size_t len)
{
	/* Room for the newline is always kept: cut the escaped text if need be. */
	if (len + 2 > cap)
		len = cap - 2;
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

size_t
ev_secure(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
    const uint8_t fpr[static FPR_LEN], uint8_t trust)
{
	char ftext[FPR_TEXT_LEN + 1];
	const char *t = chatc_trust_name(trust);
	size_t len = 0;

	if (cap < 2)
		return 0;
	proto_fpr_format(fpr, ftext);
	ev_put(out, cap - 1, &len, "SECURE ", 7);
	ev_put_esc(out, cap - 1, &len, nick, nicklen);
	ev_put(out, cap - 1, &len, " ", 1);
	ev_put(out, cap - 1, &len, ftext, strlen(ftext));
	ev_put(out, cap - 1, &len, " ", 1);
	ev_put(out, cap - 1, &len, t, strlen(t));
	return ev_end(out, cap, len);
}

size_t
ev_msg(char *out, size_t cap, const uint8_t *nick, size_t nicklen,
    const uint8_t *text, size_t textlen)
{
	size_t len = 0;

	if (cap < 2)
		return 0;
	ev_put(out, cap - 1, &len, "MSG ", 4);
	ev_put_esc(out, cap - 1, &len, nick, nicklen);
	ev_put(out, cap - 1, &len, " ", 1);
	ev_put_esc(out, cap - 1, &len, text, textlen);
	return ev_end(out, cap, len);
}

size_t
ev_left(char *out, size_t cap, const uint8_t *nick, size_t nicklen)
{
	size_t len = 0;

	if (cap < 2)
		return 0;
	ev_put(out, cap - 1, &len, "LEFT ", 5);
	ev_put_esc(out, cap - 1, &len, nick, nicklen);
	return ev_end(out, cap, len);
}

size_t
ev_line(char *out, size_t cap, const char *word, const char *text)
{
	size_t len = 0, i, n = strlen(text);

	if (cap < 2)
		return 0;
	ev_put(out, cap - 1, &len, word, strlen(word));
	ev_put(out, cap - 1, &len, " ", 1);
	/* Our own text too: a newline in it would split the event. */
	for (i = 0; i < n && len + 2 < cap; i++)
		out[len++] = (text[i] == '\n' || text[i] == '\r') ? ' ' : text[i];
	out[len] = '\0';
	return ev_end(out, cap, len);
}

int
chatc_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VEIL_E_SYSTEM;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}
