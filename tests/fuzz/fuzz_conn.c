/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: relayd's per-connection state machine (relayd/conn.c),
 * in-process, no sockets. The input after two control bytes is the byte
 * stream a client sends; it is fed in chunks whose sizes come from the
 * control bytes, so frames and headers split across reads in every way.
 * Each frame delivered is echoed into the connection's output queue; between
 * chunks a write of some bytes is accounted the way conn_flush does
 * (conn_out_off moves on). When the queue is full, ERROR is queued with the
 * unstarted frames dropped, as relay.c does for a stalled reader.
 *
 * Checked: every delivered frame is exactly the next bytes of the stream;
 * chunked feeding delivers the same frames and ends with the same result as
 * one whole feed; the bytes the peer receives are the echoed frames, whole,
 * in order (a dropped tail cut at a frame boundary, never inside a frame
 * already started), then ERROR; pool buffers all come back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "err.h"
#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF		FRAME_MIN_LIMIT
/* Over two 16 KiB queue classes: growth and compaction are both reached. */
#define OUT_MAX		(9 * (FRAME_HDR_LEN + MAXF))
#define WIRE_MAX	(1024 * 1024)

struct run {
	const uint8_t	*r_in;		/* the whole stream */
	size_t		 r_off;		/* stream bytes delivered as frames so far */
	size_t		 r_nframes;
	int		 r_echo;	/* echo frames into the output queue */
	int		 r_errored;	/* ERROR queued: nothing more is queued */
	uint8_t		*r_expect;	/* every echoed frame, as queued */
	size_t		 r_expect_len;
	size_t		 r_drop_at;	/* wire bytes written when ERROR was queued */
};

static struct conn_pool pool;
static int ready;
static uint8_t expect_buf[WIRE_MAX], wire[WIRE_MAX];
static size_t wire_len;

static int
on_frame(void *arg, struct conn *c, const struct frame *f, const uint8_t *raw,
    size_t rawlen)
{
	struct run *r = arg;
	size_t total = FRAME_HDR_LEN + (size_t)f->fr_len;
	uint8_t *w;
	int e;

	if (rawlen != total || f->fr_len > MAXF || memcmp(raw, r->r_in + r->r_off, rawlen) != 0)
		abort();
	r->r_off += rawlen;
	r->r_nframes++;
	if (!r->r_echo || r->r_errored)
		return 0;
	e = conn_queue(&pool, c, f->fr_type, 7, f->fr_dst, f->fr_payload, f->fr_len);
	if (e == VEIL_E_LIMIT) {
		if (conn_queue_error(&pool, c, 9, 1) != 0)
			abort();
		r->r_errored = 1;
		r->r_drop_at = wire_len;
		return VEIL_E_LIMIT;
	}
	if (e != 0 || conn_queued(c) > OUT_MAX || r->r_expect_len + total > WIRE_MAX)
		abort();
	w = r->r_expect + r->r_expect_len;
	w[0] = PROTO_VERSION;
	w[1] = f->fr_type;
	veil_put16(w + 2, 7);
	veil_put16(w + 4, f->fr_dst);
	veil_put32(w + 6, f->fr_len);
	memcpy(w + FRAME_HDR_LEN, f->fr_payload, f->fr_len);
	r->r_expect_len += total;
	return 0;
}

/* "Writes" up to n queued bytes to the peer, as conn_flush accounts a send. */
static void
drain(struct conn *c, size_t n)
{
	size_t q = conn_queued(c);

	if (n > q)
		n = q;
	if (n == 0)
		return;
	if (wire_len + n > WIRE_MAX)
		abort();
	memcpy(wire + wire_len, c->conn_out + c->conn_out_off, n);
	wire_len += n;
	c->conn_out_off += (uint32_t)n;
}

/* The wire must be the echoed frames, or a frame-aligned prefix and ERROR. */
static void
check_wire(const struct run *r)
{
	static const uint8_t err[FRAME_HDR_LEN + 1] = { PROTO_VERSION, FT_ERROR, 0, 0, 0, 0,
	    0, 0, 0, 1, 9 };
	size_t cut, off = 0;

	if (!r->r_errored) {
		if (wire_len != r->r_expect_len || memcmp(wire, r->r_expect, wire_len) != 0)
			abort();
		return;
	}
	if (wire_len < sizeof(err) || memcmp(wire + wire_len - sizeof(err), err, sizeof(err)))
		abort();
	cut = wire_len - sizeof(err);
	if (cut > r->r_expect_len || memcmp(wire, r->r_expect, cut) != 0 || cut < r->r_drop_at)
		abort();
	/* cut must be a frame boundary of the echoed stream. */
	while (off < cut)
		off += FRAME_HDR_LEN + veil_get32(r->r_expect + off + 6);
	if (off != cut)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, part;
	struct conn c;
	size_t off = 0, k, step;
	uint8_t a, b;
	int r1, r2 = 0;

	if (!ready) {
		if (conn_pool_init(&pool, MAXF, OUT_MAX) != 0)
			abort();
		ready = 1;
	}
	if (size < 2)
		return 0;
	a = data[0];
	b = data[1];
	data += 2;
	size -= 2;

	/* Reference: the whole stream in one read, nothing echoed. */
	memset(&whole, 0, sizeof(whole));
	whole.r_in = data;
	conn_init(&c, -1);
	r1 = conn_feed(&pool, &c, data, size, on_frame, &whole);
	conn_release(&pool, &c);

	/* Chunks of 1 + (a + i * b) % 257 bytes, echoing, writing b * 37 between. */
	memset(&part, 0, sizeof(part));
	part.r_in = data;
	part.r_echo = 1;
	part.r_expect = expect_buf;
	wire_len = 0;
	conn_init(&c, -1);
	for (k = 0; off < size; k++) {
		step = 1 + ((size_t)a + k * b) % 257;
		if (step > size - off)
			step = size - off;
		r2 = conn_feed(&pool, &c, data + off, step, on_frame, &part);
		off += step;
		if (r2 != 0)
			break;
		drain(&c, (size_t)b * 37);
	}
	drain(&c, conn_queued(&c));
	check_wire(&part);
	conn_release(&pool, &c);
	if (pool.cp_in_live != 0 || pool.cp_out_live != 0)
		abort();
	conn_pool_free(&pool);

	/*
	 * Same frames, same verdict: unless the echo filled the queue (which
	 * stops the chunked run early), both runs saw the same frames.
	 */
	if (!part.r_errored) {
		if (part.r_nframes != whole.r_nframes || part.r_off != whole.r_off)
			abort();
		if ((r1 == 0) != (r2 == 0 && off == size))
			abort();
		if (r1 != 0 && r1 != r2)
			abort();
	}
	return 0;
}
