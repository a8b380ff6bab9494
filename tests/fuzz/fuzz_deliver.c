/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: chatc's delivery state (chatc/deliver.c) under a hostile
 * peer. The input is a script: each step is an op byte and its operands.
 *
 *   0 kind len(u16) body   the peer's authentic inner message of that kind
 *                          (keyd checked nothing here: any kind, any bytes)
 *   1 ms(u8)               time passes (x 100 ms) and dlv_tick runs
 *   2                      we type a line
 *   3                      the peer's session goes down / comes up again
 *   4                      the receiver has nothing more to read (dlv_ack_now)
 *
 * After every step: nothing crashed, at most DLV_OUT_MAX lines outstanding
 * and DLV_WINDOW in flight, every TEXT we sealed had a seq one above an
 * acknowledged one or a sent one, what is shown from one stream goes up
 * strictly (each (stream, seq) once, in order) while the peer used no more
 * streams than deliver.c remembers (a peer that uses more can have its own
 * old texts shown again: nothing it could not send anew), and each line of
 * ours is DELIVERED or UNDELIVERED at most once, and only lines we typed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX	4096

static uint32_t g_lines;
static uint8_t g_done[LINES_MAX + 1];	/* 1 delivered, 2 undelivered, 3 not queued */
#define STREAMS_SEEN	16

static struct {
	uint64_t	 stream;
	uint32_t	 last;		/* the last seq shown, 0 none */
} g_seen[STREAMS_SEEN];
static size_t g_nseen;
static int g_many;		/* more streams than deliver.c remembers */
static uint64_t g_cur_stream;	/* of the TEXT being opened */
static uint32_t g_cur_seq;

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
op_send(void *arg, const struct dlv_peer *p, uint8_t kind, const uint8_t *body, size_t len)
{
	(void)arg;
	if (!p->dp_up || len > INNER_BODY_MAX)
		abort();
	/* What we seal must pass keyd's exact check. */
	if (proto_inner_parse(kind, body, len, NULL) != 0)
		abort();
	return 0;
}

static void
op_show(void *arg, const struct dlv_peer *p, const uint8_t *text, size_t len, uint8_t flags)
{
	size_t i;

	(void)arg;
	(void)p;
	(void)text;
	(void)flags;
	if (len == 0 || len > MSG_MAX)
		abort();
	for (i = 0; i < g_nseen && g_seen[i].stream != g_cur_stream; i++)
		;
	if (i == g_nseen) {
		if (g_nseen == STREAMS_SEEN) {
			g_many = 1;
			return;
		}
		g_seen[g_nseen].stream = g_cur_stream;
		g_seen[g_nseen++].last = 0;
		if (g_nseen > DLV_RX_STREAMS)
			g_many = 1;
	}
	if (!g_many && g_cur_seq <= g_seen[i].last)
		abort();	/* shown twice, or out of order */
	g_seen[i].last = g_cur_seq;
}

static void
op_delivered(void *arg, const struct dlv_peer *p, const struct dlv_text *t)
{
	(void)arg;
	(void)p;
	if (t->dt_line == 0 || t->dt_line > g_lines || g_done[t->dt_line] != 0)
		abort();
	g_done[t->dt_line] = 1;
}

static void
op_undelivered(void *arg, const struct dlv_peer *p, const struct dlv_text *t,
    const char *reason)
{
	(void)arg;
	(void)p;
	if (t->dt_line == 0 || t->dt_line > g_lines || g_done[t->dt_line] != 0 ||
	    reason == NULL || strchr(reason, ' ') != NULL)
		abort();
	g_done[t->dt_line] = 2;
}

static void
op_say(void *arg, int warn, const char *text)
{
	(void)arg;
	(void)warn;
	if (strchr(text, '\n') != NULL)
		abort();
}

static void
op_fpr(void *arg, const uint8_t id[static DLV_ID_LEN], char *out)
{
	(void)arg;
	memcpy(out, "fp-", 3);
	out[3] = (char)('a' + id[0] % 26);
	out[4] = '\0';
}

static const struct dlv_ops ops = {
	op_send, op_show, op_delivered, op_undelivered, op_say, op_fpr,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t room[ROOM_ID_LEN] = { 1 };
	uint8_t me[DLV_ID_LEN], peer[DLV_ID_LEN];
	struct dlv d;
	struct dlv_peer *p;
	int64_t now = 1000;
	size_t i = 0, len;
	int up = 1;

	memset(me, 0x11, sizeof(me));
	memset(peer, 0x22, sizeof(peer));
	g_lines = 0;
	memset(g_done, 0, sizeof(g_done));
	g_nseen = 0;
	g_many = 0;
	if (dlv_init(&d, &ops, NULL, room, me, 0x0102030405060708ULL) != 0)
		return 0;
	if (dlv_up(&d, peer, (const uint8_t *)"mallory", 7, "mallory", 0, now) == NULL)
		abort();
	while (i < size) {
		switch (data[i++] % 5) {
		case 0:
			if (size - i < 3)
				goto out;
			len = (size_t)data[i + 1] << 8 | data[i + 2];
			if (len > size - i - 3)
				len = size - i - 3;
			if (len >= INNER_TEXT_HDR_LEN) {
				g_cur_stream = be64(data + i + 3);
				g_cur_seq = be32(data + i + 11);
			}
			(void)dlv_open(&d, peer, data[i], data + i + 3, len, 0, now);
			i += 3 + len;
			break;
		case 1:
			if (i < size)
				now += 100 * (int64_t)data[i++];
			dlv_tick(&d, now);
			break;
		case 2:
			/*
			 * Not queued (0): the peer has been away DLV_AWAY_MS
			 * already, chatc holds the line; nothing to report here.
			 */
			if (g_lines < LINES_MAX &&
			    dlv_line(&d, (const uint8_t *)"x", 1, ++g_lines, NULL, now) == 0)
				g_done[g_lines] = 3;
			break;
		case 3:
			if (up)
				dlv_down(&d, peer, now);
			else if (dlv_up(&d, peer, (const uint8_t *)"mallory", 7, "mallory",
			    (int)(now & 1), now) == NULL)
				abort();
			up = !up;
			break;
		case 4:
			dlv_ack_now(&d);
			break;
		}
		if ((p = dlv_find(&d, peer)) != NULL &&
		    (dlv_peer_outstanding(p) > DLV_OUT_MAX || dlv_peer_inflight(p) > DLV_WINDOW ||
		    dlv_peer_inflight(p) > dlv_peer_outstanding(p)))
			abort();
	}
out:
	dlv_give_up(&d, "exit");
	if (dlv_outstanding(&d) != 0)
		abort();
	for (i = 1; i <= g_lines; i++)
		if (g_done[i] == 0 && (p = dlv_find(&d, peer)) != NULL)
			abort();	/* every line typed ends one way or the other */
	dlv_free(&d);
	return 0;
}
