/* SPDX-License-Identifier: ISC */
/*
 * The --batch front-end: the event lines of DESIGN.md (SECURE, MSG, LEFT,
 * DELIVERED, UNDELIVERED, WARN, ERROR), one per line, first word naming it, and the input side,
 * one message per line. Peer bytes are escaped here, so a message can never
 * forge a second event line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"
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
ev_delivery(char *out, size_t cap, const uint8_t *nick, size_t nicklen, uint32_t n,
    const char *reason)
{
	char num[16];
	size_t len = 0;

	if (cap < 2)
		return 0;
	if (reason == NULL)
		ev_put(out, cap - 1, &len, "DELIVERED ", 10);
	else
		ev_put(out, cap - 1, &len, "UNDELIVERED ", 12);
	ev_put_esc(out, cap - 1, &len, nick, nicklen);
	snprintf(num, sizeof(num), " %u", (unsigned int)n);
	ev_put(out, cap - 1, &len, num, strlen(num));
	if (reason != NULL) {
		ev_put(out, cap - 1, &len, " ", 1);
		ev_put(out, cap - 1, &len, reason, strlen(reason));
	}
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

/*
 * "#<room> " once more than one room was joined in this run (DESIGN.md),
 * else nothing: the room's name, escaped, one word (a space as \x20).
 * Returns its length.
 */
static size_t
batch_prefix(const struct ev *e, char *out, size_t cap)
{
	const char *p = e->ev_rname != NULL ? e->ev_rname : "";
	size_t n = 0;

	out[0] = '\0';
	if (!e->ev_multi || cap < 8)
		return 0;
	out[n++] = '#';
	for (; *p != '\0' && n + 6 < cap; p++) {
		if (*p == ' ') {
			memcpy(out + n, "\\x20", 4);
			n += 4;
		} else
			out[n++] = *p;
	}
	out[n++] = ' ';
	out[n] = '\0';
	return n;
}

void
batch_event(void *arg, const struct ev *e)
{
	static char buf[ESC_MAX(64) * 2 + 16 + EV_LINE_MAX];
	char *line;
	size_t n, pre, cap;

	(void)arg;
	pre = batch_prefix(e, buf, ESC_MAX(64) * 2 + 16);
	line = buf + pre;
	cap = sizeof(buf) - pre;
	switch (e->ev_kind) {
	case EV_SECURE:
		n = ev_secure(line, cap, e->ev_nick, e->ev_nicklen, e->ev_fpr,
		    e->ev_trust);
		break;
	case EV_MSG:
		n = ev_msg(line, cap, e->ev_nick, e->ev_nicklen, e->ev_text,
		    e->ev_textlen);
		break;
	case EV_LEFT:
		n = ev_left(line, cap, e->ev_nick, e->ev_nicklen);
		break;
	case EV_DELIVERED:
	case EV_UNDELIVERED:
		n = ev_delivery(line, cap, e->ev_nick, e->ev_nicklen, e->ev_n,
		    e->ev_kind == EV_DELIVERED ? NULL : e->ev_line);
		break;
	case EV_WARN:
	case EV_ALERT:
		n = ev_line(line, cap, "WARN", e->ev_line);
		break;
	case EV_ERROR:
		n = ev_line(line, cap, "ERROR", e->ev_line);
		break;
	case EV_INFO:
		/* Answers to commands: for the person running the script, not its parser. */
		n = strlen(e->ev_line);
		if (n > cap - 2)
			n = cap - 2;
		memcpy(line, e->ev_line, n);
		line[n++] = '\n';
		(void)chatc_write_all(STDERR_FILENO, buf, pre + n);
		return;
	case EV_NOTE:
		/*
		 * Routine (rekeyed, reconnecting, back in the room): nothing a
		 * script has to act on, so not on stdout, but there to read.
		 */
		n = ev_line(line, cap, "INFO", e->ev_line);
		(void)chatc_write_all(STDERR_FILENO, buf, pre + n);
		return;
	default:
		return;		/* EV_MINE, EV_HELD, EV_STATUS: nothing to say */
	}
	/* A reader that went away is not a reason to stop talking securely. */
	(void)chatc_write_all(STDOUT_FILENO, buf, pre + n);
}

void
batch_in_init(struct batch_in *b)
{
	memset(b, 0, sizeof(*b));
}

int
batch_in_read(struct batch_in *b, int fd)
{
	ssize_t n;

	if (b->bi_eof)
		return 1;
	if (b->bi_off > 0) {
		memmove(b->bi_buf, b->bi_buf + b->bi_off, b->bi_len - b->bi_off);
		b->bi_len -= b->bi_off;
		b->bi_off = 0;
	}
	if (b->bi_len == sizeof(b->bi_buf))
		return 0;	/* a whole buffer without a newline: batch_in_next drops it */
	n = read(fd, b->bi_buf + b->bi_len, sizeof(b->bi_buf) - b->bi_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		b->bi_eof = 1;
		return 1;
	}
	b->bi_len += (size_t)n;
	return 0;
}

int
batch_in_next(struct batch_in *b, const uint8_t **line, size_t *len)
{
	uint8_t *p = b->bi_buf + b->bi_off, *nl;
	size_t avail = b->bi_len - b->bi_off, n;

	*line = NULL;
	*len = 0;
	for (;;) {
		if (avail == 0) {
			b->bi_off = b->bi_len = 0;
			if (b->bi_skip > 0 && b->bi_eof) {
				/* EOF ends the over-long line. */
				*len = b->bi_skip;
				b->bi_skip = 0;
				return 2;
			}
			return 0;
		}
		nl = memchr(p, '\n', avail);
		if (b->bi_skip > 0) {
			if (nl == NULL) {
				b->bi_skip += avail;
				b->bi_off = b->bi_len = 0;
				if (!b->bi_eof)
					return 0;
				*len = b->bi_skip;
				b->bi_skip = 0;
				return 2;
			}
			*len = b->bi_skip + (size_t)(nl - p);
			b->bi_skip = 0;
			b->bi_off += (size_t)(nl - p) + 1;
			return 2;
		}
		if (nl == NULL) {
			if (b->bi_eof) {
				*line = p;
				*len = avail;
				b->bi_off = b->bi_len;
				return 1;
			}
			if (b->bi_off == 0 && b->bi_len == sizeof(b->bi_buf)) {
				/* Longer than the buffer: counted, not kept. */
				b->bi_skip = avail;
				b->bi_off = b->bi_len = 0;
			}
			return 0;
		}
		n = (size_t)(nl - p);
		*line = p;
		*len = n;
		b->bi_off += n + 1;
		return 1;
	}
}

int
batch_in_pending(const struct batch_in *b)
{
	if (b->bi_len > b->bi_off &&
	    memchr(b->bi_buf + b->bi_off, '\n', b->bi_len - b->bi_off) != NULL)
		return 1;
	return b->bi_eof && (b->bi_len > b->bi_off || b->bi_skip > 0);
}

int
batch_in_done(const struct batch_in *b)
{
	return b->bi_eof && b->bi_len == b->bi_off && b->bi_skip == 0;
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
