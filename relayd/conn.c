/* SPDX-License-Identifier: ISC */
/* Per-connection frame reassembly and bounded output queue (see conn.h). */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "err.h"
#include "tls.h"

#define CONN_OUT_CHUNK	16384	/* smallest output queue */
#define CONN_IN_KEEP	64	/* free input buffers kept for reuse */
#define CONN_OUT_KEEP	64	/* free smallest queues kept; larger: fewer */

int
conn_pool_init(struct conn_pool *p, uint32_t max_frame, size_t out_max)
{
	memset(p, 0, sizeof(*p));
	if (max_frame > FRAME_MAX_LIMIT ||
	    out_max < FRAME_HDR_LEN + (size_t)max_frame ||
	    out_max > CONN_OUT_MAX - (FRAME_HDR_LEN + 1))
		return VEIL_E_INVALID;
	p->cp_max_frame = max_frame;
	p->cp_in_size = FRAME_HDR_LEN + (size_t)max_frame;
	p->cp_out_max = out_max;
	return 0;
}

static void
pool_drain(void **head, size_t *n)
{
	void *b, *next;

	for (b = *head; b != NULL; b = next) {
		memcpy(&next, b, sizeof(next));
		free(b);
	}
	*head = NULL;
	*n = 0;
}

void
conn_pool_free(struct conn_pool *p)
{
	int i;

	pool_drain(&p->cp_in_free, &p->cp_in_nfree);
	for (i = 0; i < CONN_OUT_CLASSES; i++)
		pool_drain(&p->cp_out_free[i], &p->cp_out_nfree[i]);
}

/* A buffer from a free list, or a new one of size bytes. */
static uint8_t *
pool_get(void **head, size_t *n, size_t size)
{
	void *b = *head;

	if (b != NULL) {
		memcpy(head, b, sizeof(*head));
		(*n)--;
		return b;
	}
	return malloc(size);
}

static void
pool_put(void **head, size_t *n, size_t keep, void *b)
{
	if (*n >= keep) {
		free(b);
		return;
	}
	memcpy(b, head, sizeof(*head));
	*head = b;
	(*n)++;
}

void
conn_init(struct conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->conn_fd = fd;
	c->conn_state = CONN_NEW;
}

static void
conn_in_release(struct conn_pool *p, struct conn *c)
{
	if (c->conn_in != NULL) {
		pool_put(&p->cp_in_free, &p->cp_in_nfree, CONN_IN_KEEP, c->conn_in);
		p->cp_in_live--;
	}
	c->conn_in = NULL;
	c->conn_in_len = c->conn_in_need = 0;
}

/* The size class of a queue of cap bytes (a power of two from the chunk). */
static int
out_class(size_t cap)
{
	int k = 0;

	while ((size_t)CONN_OUT_CHUNK << k < cap)
		k++;
	return k;
}

/*
 * A queue buffer of the smallest class holding n bytes. Pooled, so a busy
 * connection does not go through malloc (and mmap page faults) each turn.
 */
static uint8_t *
out_get(struct conn_pool *p, size_t n, uint32_t *cap)
{
	int k = out_class(n);
	uint8_t *b;

	*cap = (uint32_t)CONN_OUT_CHUNK << k;
	if ((b = pool_get(&p->cp_out_free[k], &p->cp_out_nfree[k], *cap)) != NULL)
		p->cp_out_live++;
	return b;
}

static void
out_put(struct conn_pool *p, uint8_t *b, uint32_t cap)
{
	int k = out_class(cap);

	/* Keep many small queues, a few large ones: the cache stays bounded. */
	pool_put(&p->cp_out_free[k], &p->cp_out_nfree[k], CONN_OUT_KEEP >> (k < 6 ? k : 6), b);
	p->cp_out_live--;
}

static void
conn_out_release(struct conn_pool *p, struct conn *c)
{
	if (c->conn_out != NULL)
		out_put(p, c->conn_out, c->conn_out_cap);
	c->conn_out = NULL;
	c->conn_out_off = c->conn_out_len = c->conn_out_cap = c->conn_out_mark = 0;
	c->conn_out_tls = 0;
}

void
conn_release(struct conn_pool *p, struct conn *c)
{
	conn_in_release(p, c);
	conn_out_release(p, c);
	c->conn_hdr_len = 0;
}

static int
conn_deliver(struct conn_pool *p, struct conn *c, const uint8_t *raw, size_t len,
    conn_frame_fn *fn, void *arg)
{
	struct frame f;
	int r;

	if ((r = proto_frame_decode(raw, len, FRAME_TO_RELAY, p->cp_max_frame, &f)) != 0)
		return r;
	return fn(arg, c, &f, raw, len);
}

/* Before JOIN nothing but a JOIN's header is worth waiting for (PROTOCOL.md 1.4). */
static int
conn_header_allowed(const struct conn *c, const struct frame *f)
{
	if (!c->conn_join_only)
		return 0;
	if (f->fr_type != FT_JOIN)
		return VEIL_E_STATE;
	return f->fr_len == ROOM_ID_LEN ? 0 : VEIL_E_LENGTH;
}

/* Starts keeping a split frame whose header (already checked) is in hdr. */
static int
conn_in_start(struct conn_pool *p, struct conn *c, const uint8_t *have, size_t n,
    size_t need)
{
	/* Fixed size from the pool, never sized by the peer's length field. */
	if ((c->conn_in = pool_get(&p->cp_in_free, &p->cp_in_nfree, p->cp_in_size)) == NULL)
		return VEIL_E_ALLOC;
	p->cp_in_live++;
	memcpy(c->conn_in, have, n);
	c->conn_in_len = (uint32_t)n;
	c->conn_in_need = (uint32_t)need;
	return 0;
}

int
conn_feed(struct conn_pool *p, struct conn *c, const uint8_t *in, size_t n,
    conn_frame_fn *fn, void *arg)
{
	struct frame f;
	size_t take, total;
	int r;

	while (n > 0) {
		if (c->conn_in != NULL) {
			/* The rest of a split frame. */
			take = c->conn_in_need - c->conn_in_len;
			if (take > n)
				take = n;
			memcpy(c->conn_in + c->conn_in_len, in, take);
			c->conn_in_len += (uint32_t)take;
			in += take;
			n -= take;
			if (c->conn_in_len < c->conn_in_need)
				return 0;
			r = conn_deliver(p, c, c->conn_in, c->conn_in_need, fn, arg);
			conn_in_release(p, c);
			if (r != 0)
				return r;
			continue;
		}
		if (c->conn_hdr_len > 0 || n < FRAME_HDR_LEN) {
			/* A header split across reads: at most 10 bytes, kept inline. */
			take = FRAME_HDR_LEN - c->conn_hdr_len;
			if (take > n)
				take = n;
			memcpy(c->conn_hdr + c->conn_hdr_len, in, take);
			c->conn_hdr_len += (uint8_t)take;
			in += take;
			n -= take;
			if (c->conn_hdr_len < FRAME_HDR_LEN)
				return 0;
			c->conn_hdr_len = 0;
			if ((r = proto_frame_header(c->conn_hdr, FRAME_HDR_LEN,
			    FRAME_TO_RELAY, p->cp_max_frame, &f)) != 0 ||
			    (r = conn_header_allowed(c, &f)) != 0)
				return r;
			if (f.fr_len == 0) {
				if ((r = conn_deliver(p, c, c->conn_hdr, FRAME_HDR_LEN,
				    fn, arg)) != 0)
					return r;
				continue;
			}
			if ((r = conn_in_start(p, c, c->conn_hdr, FRAME_HDR_LEN,
			    FRAME_HDR_LEN + (size_t)f.fr_len)) != 0)
				return r;
			continue;
		}
		/* Whole frames straight from the caller's buffer: no copy. */
		if ((r = proto_frame_header(in, n, FRAME_TO_RELAY, p->cp_max_frame, &f)) != 0 ||
		    (r = conn_header_allowed(c, &f)) != 0)
			return r;
		total = FRAME_HDR_LEN + (size_t)f.fr_len;
		if (n < total)
			return conn_in_start(p, c, in, n, total);
		if ((r = conn_deliver(p, c, in, total, fn, arg)) != 0)
			return r;
		in += total;
		n -= total;
	}
	return 0;
}

size_t
conn_queued(const struct conn *c)
{
	return (size_t)c->conn_out_len - c->conn_out_off;
}

/*
 * Walks conn_out_mark to the first frame boundary at or after the unsent
 * start. Done only when needed (compaction, a dropped queue), not per write.
 */
static void
conn_out_sync_mark(struct conn *c)
{
	while (c->conn_out_mark < c->conn_out_off)
		c->conn_out_mark += FRAME_HDR_LEN + veil_get32(c->conn_out + c->conn_out_mark + 6);
}

/* Makes room for n more bytes at the end of the queue. */
static int
conn_out_reserve(struct conn_pool *p, struct conn *c, size_t n)
{
	size_t queued = conn_queued(c);
	uint32_t cap;
	uint8_t *b;

	if (c->conn_out == NULL) {
		if ((c->conn_out = out_get(p, n, &c->conn_out_cap)) == NULL)
			return VEIL_E_ALLOC;
		c->conn_out_off = c->conn_out_len = c->conn_out_mark = 0;
		return 0;
	}
	if (c->conn_out_cap - c->conn_out_len >= n)
		return 0;
	conn_out_sync_mark(c);
	if (c->conn_out_cap - queued >= n) {
		/* Enough room once the written bytes are gone. */
		memmove(c->conn_out, c->conn_out + c->conn_out_off, queued);
	} else {
		/* Move to the next class up that holds it (bounded by cp_out_max). */
		if ((b = out_get(p, queued + n, &cap)) == NULL)
			return VEIL_E_ALLOC;
		memcpy(b, c->conn_out + c->conn_out_off, queued);
		out_put(p, c->conn_out, c->conn_out_cap);
		c->conn_out = b;
		c->conn_out_cap = cap;
	}
	c->conn_out_len = (uint32_t)queued;
	c->conn_out_mark -= c->conn_out_off;
	c->conn_out_off = 0;
	return 0;
}

static void
conn_out_put(struct conn *c, uint8_t type, uint16_t src, uint16_t dst,
    const uint8_t *payload, uint32_t len)
{
	uint8_t *w = c->conn_out + c->conn_out_len;

	w[0] = PROTO_VERSION;
	w[1] = type;
	veil_put16(w + 2, src);
	veil_put16(w + 4, dst);
	veil_put32(w + 6, len);
	if (len > 0)
		memcpy(w + FRAME_HDR_LEN, payload, len);
	c->conn_out_len += FRAME_HDR_LEN + len;
}

int
conn_queue(struct conn_pool *p, struct conn *c, uint8_t type, uint16_t src,
    uint16_t dst, const uint8_t *payload, uint32_t len)
{
	size_t total = FRAME_HDR_LEN + (size_t)len, queued = conn_queued(c);
	int r;

	if (queued > p->cp_out_max || total > p->cp_out_max - queued)
		return VEIL_E_LIMIT;
	if ((r = conn_out_reserve(p, c, total)) != 0)
		return r;
	conn_out_put(c, type, src, dst, payload, len);
	return 0;
}

int
conn_queue_error(struct conn_pool *p, struct conn *c, uint8_t code, int drop)
{
	uint32_t end;
	int r;

	if (drop && c->conn_out != NULL) {
		conn_out_sync_mark(c);
		/* The frames a TLS write holds stay: its retry must see them again. */
		for (end = c->conn_out_mark; end < c->conn_out_off + c->conn_out_tls;
		    end += FRAME_HDR_LEN + veil_get32(c->conn_out + end + 6))
			;
		if (end < c->conn_out_len)
			c->conn_out_len = end;
	}
	if ((r = conn_out_reserve(p, c, FRAME_HDR_LEN + 1)) != 0)
		return r;
	conn_out_put(c, FT_ERROR, MEMBER_NONE, MEMBER_NONE, &code, 1);
	return 0;
}

/*
 * One record per rtls_write. One that has to wait keeps its bytes (at most
 * RTLS_WRITE_MAX) in conn_out_tls until a call succeeds.
 */
static int
conn_flush_tls(struct conn *c)
{
	size_t put, n;
	int r;

	while (c->conn_out_off < c->conn_out_len) {
		n = c->conn_out_len - c->conn_out_off;
		r = rtls_write(c->conn_ssl, c->conn_out + c->conn_out_off, n, &put);
		if (r == 0) {
			c->conn_out_off += (uint32_t)put;
			c->conn_out_tls = 0;
			continue;
		}
		if (r != RTLS_WANT_WRITE && r != RTLS_WANT_READ)
			return VEIL_E_SYSTEM;
		if (n > RTLS_WRITE_MAX)
			n = RTLS_WRITE_MAX;
		if (n > c->conn_out_tls)
			c->conn_out_tls = (uint32_t)n;
		return 1;
	}
	return 0;
}

int
conn_flush(struct conn_pool *p, struct conn *c)
{
	ssize_t w;
	int r;

	if (c->conn_ssl != NULL) {
		if ((r = conn_flush_tls(c)) != 0)
			return r;
		conn_out_release(p, c);
		return 0;
	}
	while (c->conn_out_off < c->conn_out_len) {
		/* send, not write: MSG_NOSIGNAL instead of a process-wide SIGPIPE. */
		w = send(c->conn_fd, c->conn_out + c->conn_out_off,
		    c->conn_out_len - c->conn_out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return VEIL_E_SYSTEM;
		}
		c->conn_out_off += (uint32_t)w;
	}
	if (c->conn_out_off < c->conn_out_len)
		return 1;
	conn_out_release(p, c);
	return 0;
}
