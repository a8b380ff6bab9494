/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: one cluster node's logic (relayd/clcore.c) with the
 * rest of the cluster played by the input. The input is a list of units,
 * u8 op || u16 len || len bytes: a message from the bus (op 0), time
 * passing (1: the first byte x 10 ms), a client's JOIN (2: the room is the
 * first byte), a member leaving (3), a member's frame (4). The relay side
 * checks what relay.c relies on: an admitted member's others are at most
 * ROOM_SIZE_MAX - 1 and never itself, JOINED/LEFT name ids in range, a
 * frame has a payload; and nothing leaks or crashes (ASan, LSan, UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clcore.h"
#include "clmsg.h"
#include "err.h"
#include "frame.h"

#define FZ_MEMBERS	32

struct fz_member {
	int		 used;		/* 1 pending, 2 admitted, 3 to leave */
	struct clc_room	*cr;
	uint16_t	 id;
	uint64_t	 stamp;
};

static struct fz_member fz_m[FZ_MEMBERS];
static uint64_t fz_rand = 88172645463325252ull;
static int fz_subs;

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_publish(void *arg, const char *subject, const uint8_t *p, size_t n)
{
	struct clm m;

	(void)arg;
	/* What the core sends is always well formed. */
	if (subject == NULL || clm_decode(p, n, &m) != 0)
		abort();
	return 0;
}

static int
fz_subscribe(void *arg, struct clc_room *cr)
{
	(void)arg;
	(void)cr;
	fz_subs++;
	return 0;
}

static void
fz_unsubscribe(void *arg, struct clc_room *cr)
{
	(void)arg;
	(void)cr;
	fz_subs--;
}

static uint64_t
fz_nid(void *arg)
{
	(void)arg;
	fz_rand ^= fz_rand << 13;
	fz_rand ^= fz_rand >> 7;
	fz_rand ^= fz_rand << 17;
	return fz_rand;
}

static void
fz_admitted(void *arg, void *token, struct clc_room *cr, uint16_t id, uint64_t stamp,
    const uint16_t *others, size_t n)
{
	struct fz_member *mb = token;
	size_t i;

	(void)arg;
	if (mb->used != 1 || n > ROOM_SIZE_MAX - 1 || id == 0 || id > MEMBER_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (others[i] == id || others[i] == 0 || others[i] > MEMBER_MAX)
			abort();
	mb->used = 2;
	mb->cr = cr;
	mb->id = id;
	mb->stamp = stamp;
	cr->cr_local = mb;
}

static void
fz_refused(void *arg, void *token, uint8_t code)
{
	struct fz_member *mb = token;

	(void)arg;
	if (mb->used != 1 || (code != FE_ROOM_FULL && code != FE_UNAVAILABLE))
		abort();
	memset(mb, 0, sizeof(*mb));
}

static void
fz_member(void *arg, struct clc_room *cr, uint8_t type, uint16_t id)
{
	(void)arg;
	(void)cr;
	if ((type != FT_JOINED && type != FT_LEFT) || id == 0 || id > MEMBER_MAX)
		abort();
}

static void
fz_deliver(void *arg, struct clc_room *cr, uint16_t src, uint16_t dst, const uint8_t *p,
    uint32_t len)
{
	(void)arg;
	(void)cr;
	if (src == 0 || src > MEMBER_MAX || dst == 0 || len == 0 || len > FRAME_MAX_LIMIT ||
	    p == NULL)
		abort();
}

static void
fz_end(struct clc_room *cr, uint16_t id)
{
	size_t i;

	for (i = 0; i < FZ_MEMBERS; i++)
		if (fz_m[i].used == 2 && fz_m[i].cr == cr &&
		    (id == MEMBER_BCAST || fz_m[i].id == id))
			fz_m[i].used = 3;
}

static void
fz_lost(void *arg, struct clc_room *cr, uint16_t dst)
{
	(void)arg;
	fz_end(cr, dst);
}

static void
fz_evict(void *arg, struct clc_room *cr, uint16_t id)
{
	(void)arg;
	fz_end(cr, id);
}

static void
fz_hold(void *arg, struct clc_room *cr, int delta)
{
	(void)arg;
	(void)cr;
	if (delta != 1 && delta != -1)
		abort();
}

static void
fz_reset(void *arg)
{
	(void)arg;
	memset(fz_m, 0, sizeof(fz_m));
}

/* Members marked to leave do, as relay.c's reap would, after the call that marked them. */
static void
fz_reap(struct clc *c)
{
	size_t i;

	for (i = 0; i < FZ_MEMBERS; i++)
		if (fz_m[i].used == 3) {
			clc_leave(c, fz_m[i].cr, fz_m[i].id, fz_m[i].stamp);
			memset(&fz_m[i], 0, sizeof(fz_m[i]));
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct clc_bus bus = { fz_publish, fz_subscribe, fz_unsubscribe, fz_nid,
	    NULL };
	static const struct clc_local loc = { fz_admitted, fz_refused, fz_member, fz_deliver,
	    fz_lost, fz_evict, fz_hold, fz_reset, NULL };
	struct clc_config cfg = { "fz", 4, 1, 1000 };
	uint8_t key[CL_KEY_LEN], hb[64];
	struct clc *c;
	struct vbuf b;
	int64_t now = 1000000;
	size_t off = 0, i, len;
	uint8_t op;

	memset(fz_m, 0, sizeof(fz_m));
	fz_subs = 0;
	/* The same ids every run: seeds can name this node (mkcorpus.py computes them). */
	fz_rand = 88172645463325252ull;
	if (clc_new(&c, &cfg, &bus, &loc) != 0)
		abort();
	/* Settle: its own heartbeats come back for a second (it is its only listener). */
	for (i = 0; i < 6; i++) {
		(void)clc_tick(c, now);
		vbuf_writer(&b, hb, sizeof(hb));
		if (clm_put_hb(&b, clc_nid(c), (uint32_t)(i * 250), 0, "fz") != 0)
			abort();
		clc_input(c, now, hb, b.vb_len);
		now += 250;
	}
	while (size - off >= 3) {
		op = data[off];
		len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		switch (op % 5) {
		case 0:
			clc_input(c, now, data + off, len);
			break;
		case 1:
			now += 10 * (len > 0 ? data[off] : 1);
			(void)clc_tick(c, now);
			break;
		case 2:
			for (i = 0; i < FZ_MEMBERS && fz_m[i].used != 0; i++)
				;
			if (i == FZ_MEMBERS)
				break;
			memset(key, 0, sizeof(key));
			key[0] = len > 0 ? data[off] : 0;
			fz_m[i].used = 1;
			if (clc_join(c, now, key, &fz_m[i], &fz_m[i].cr) != 0)
				memset(&fz_m[i], 0, sizeof(fz_m[i]));
			break;
		case 3:
			i = (len > 0 ? data[off] : 0) % FZ_MEMBERS;
			if (fz_m[i].used == 2)
				fz_m[i].used = 3;
			else if (fz_m[i].used == 1) {
				clc_cancel(c, fz_m[i].cr, &fz_m[i]);
				memset(&fz_m[i], 0, sizeof(fz_m[i]));
			}
			break;
		default:
			i = (len > 0 ? data[off] : 0) % FZ_MEMBERS;
			if (fz_m[i].used == 2 && len > 3)
				(void)clc_send(c, fz_m[i].cr, fz_m[i].id, fz_m[i].stamp,
				    veil_get16(data + off + 1), data + off + 3, (uint32_t)(len - 3));
			break;
		}
		fz_reap(c);
		clc_flush(c);
		off += len;
	}
	clc_free(c);
	if (fz_subs != 0)
		abort();	/* every subscription ended */
	return 0;
}
