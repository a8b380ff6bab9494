/* SPDX-License-Identifier: ISC */
/*
 * relayd/conn.c (frame reassembly, bounded output queue) and the state
 * machine of relayd/relay.c driven through socketpairs: no network, the
 * relay's own loop turned by relayd_step().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "addr.h"
#include "conn.h"
#include "err.h"
#include "ev.h"
#include "frame.h"
#include "relay.h"

#define MAXF	FRAME_MIN_LIMIT		/* small --max-frame for the tests */

/* ---- conn.c on its own ---------------------------------------------- */

struct seen {
	int		n;
	uint8_t		type[16];
	uint16_t	dst[16];
	uint32_t	len[16];
	uint8_t		first[16];	/* first payload byte */
	int		stop_at;	/* return an error at this frame (1-based) */
};

static int
collect(void *arg, struct conn *c, const struct frame *f, const uint8_t *raw, size_t rawlen)
{
	struct seen *s = arg;

	(void)c;
	ck_assert_uint_eq(rawlen, FRAME_HDR_LEN + f->fr_len);
	ck_assert_uint_eq(raw[1], f->fr_type);
	ck_assert_int_lt(s->n, 16);
	s->type[s->n] = f->fr_type;
	s->dst[s->n] = f->fr_dst;
	s->len[s->n] = f->fr_len;
	s->first[s->n] = f->fr_len > 0 ? f->fr_payload[0] : 0;
	s->n++;
	return s->n == s->stop_at ? VEIL_E_STATE : 0;
}

/* Writes one client->relay frame at p; returns its size. */
static size_t
put_frame(uint8_t *p, uint8_t type, uint16_t dst, uint32_t len, uint8_t fill)
{
	p[0] = PROTO_VERSION;
	p[1] = type;
	veil_put16(p + 2, 0);
	veil_put16(p + 4, dst);
	veil_put32(p + 6, len);
	memset(p + FRAME_HDR_LEN, fill, len);
	return FRAME_HDR_LEN + len;
}

START_TEST(test_conn_many_per_read)
{
	static uint8_t in[3 * (FRAME_HDR_LEN + MAXF)];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };
	size_t n = 0;

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, -1);
	n += put_frame(in + n, FT_JOIN, 0, ROOM_ID_LEN, 0xaa);
	n += put_frame(in + n, FT_DATA, MEMBER_BCAST, MAXF, 0xbb);
	n += put_frame(in + n, FT_PING, 0, 0, 0);
	n += put_frame(in + n, FT_DATA, 7, 1, 0xcc);
	ck_assert_int_eq(conn_feed(&p, &c, in, n, collect, &s), 0);
	ck_assert_int_eq(s.n, 4);
	ck_assert_uint_eq(s.type[0], FT_JOIN);
	ck_assert_uint_eq(s.type[1], FT_DATA);
	ck_assert_uint_eq(s.len[1], MAXF);
	ck_assert_uint_eq(s.first[1], 0xbb);
	ck_assert_uint_eq(s.type[2], FT_PING);
	ck_assert_uint_eq(s.dst[3], 7);
	/* Whole frames are parsed in place: no buffer was taken. */
	ck_assert_uint_eq(p.cp_in_live, 0);
	ck_assert_ptr_null(c.conn_in);
	conn_release(&p, &c);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_split_every_byte)
{
	uint8_t in[2 * FRAME_HDR_LEN + ROOM_ID_LEN + 100];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };
	size_t n = 0, i;

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, -1);
	n += put_frame(in + n, FT_JOIN, 0, ROOM_ID_LEN, 0x11);
	n += put_frame(in + n, FT_DATA, 3, 100, 0x22);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(conn_feed(&p, &c, in + i, 1, collect, &s), 0);
		/* Nothing delivered before the last byte of a frame. */
		if (i < FRAME_HDR_LEN + ROOM_ID_LEN - 1)
			ck_assert_int_eq(s.n, 0);
		/* A buffer only while a payload is in flight. */
		if (i == FRAME_HDR_LEN + ROOM_ID_LEN - 1 || i == n - 1)
			ck_assert_uint_eq(p.cp_in_live, 0);
	}
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.first[0], 0x11);
	ck_assert_uint_eq(s.len[1], 100);
	ck_assert_uint_eq(s.first[1], 0x22);
	ck_assert_uint_eq(p.cp_in_live, 0);
	/* The buffer went back to the pool, not to malloc. */
	ck_assert_uint_eq(p.cp_in_nfree, 1);
	conn_release(&p, &c);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_split_odd_chunks)
{
	static uint8_t in[5 * (FRAME_HDR_LEN + 1000)];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };
	size_t n = 0, i, step;
	int k;

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	for (k = 0; k < 5; k++)
		n += put_frame(in + n, FT_DATA, MEMBER_BCAST, 1000, (uint8_t)(0x30 + k));
	/* Chunk sizes that land on every kind of boundary. */
	for (step = 3; step < 2100; step += 371) {
		conn_init(&c, -1);
		memset(&s, 0, sizeof(s));
		for (i = 0; i < n; i += step)
			ck_assert_int_eq(conn_feed(&p, &c, in + i, n - i < step ? n - i : step,
			    collect, &s), 0);
		ck_assert_int_eq(s.n, 5);
		for (k = 0; k < 5; k++)
			ck_assert_uint_eq(s.first[k], 0x30 + k);
		conn_release(&p, &c);
	}
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_oversize_before_allocation)
{
	uint8_t hdr[FRAME_HDR_LEN];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, -1);
	/* Only the header arrives, announcing one byte too many. */
	put_frame(hdr, FT_DATA, MEMBER_BCAST, 0, 0);
	veil_put32(hdr + 6, MAXF + 1);
	ck_assert_int_eq(conn_feed(&p, &c, hdr, sizeof(hdr), collect, &s), VEIL_E_OVERSIZE);
	ck_assert_uint_eq(p.cp_in_live, 0);
	ck_assert_uint_eq(p.cp_in_nfree, 0);
	ck_assert_ptr_null(c.conn_in);
	conn_release(&p, &c);

	/* Same, the header split in two reads, and a 4 GiB announcement. */
	conn_init(&c, -1);
	veil_put32(hdr + 6, 0xffffffffU);
	ck_assert_int_eq(conn_feed(&p, &c, hdr, 4, collect, &s), 0);
	ck_assert_int_eq(conn_feed(&p, &c, hdr + 4, 6, collect, &s), VEIL_E_OVERSIZE);
	ck_assert_uint_eq(p.cp_in_live, 0);
	ck_assert_int_eq(s.n, 0);
	conn_release(&p, &c);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_exact_max)
{
	static uint8_t in[FRAME_HDR_LEN + MAXF];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, -1);
	put_frame(in, FT_DATA, 2, MAXF, 0x5a);
	ck_assert_int_eq(conn_feed(&p, &c, in, 100, collect, &s), 0);
	ck_assert_uint_eq(p.cp_in_live, 1);
	ck_assert_int_eq(conn_feed(&p, &c, in + 100, sizeof(in) - 100, collect, &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.len[0], MAXF);
	ck_assert_uint_eq(p.cp_in_live, 0);
	conn_release(&p, &c);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_garbage)
{
	uint8_t in[64];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);

	conn_init(&c, -1);
	memcpy(in, "GET / HTTP/1.1\r\n\r\n", 18);
	ck_assert_int_eq(conn_feed(&p, &c, in, 18, collect, &s), VEIL_E_VERSION);
	conn_release(&p, &c);

	/* A frame type only the relay sends. */
	conn_init(&c, -1);
	put_frame(in, FT_WELCOME, 1, 2, 0);
	ck_assert_int_eq(conn_feed(&p, &c, in, FRAME_HDR_LEN + 2, collect, &s), VEIL_E_TYPE);
	conn_release(&p, &c);

	/* JOIN with a 31-byte room id. */
	conn_init(&c, -1);
	put_frame(in, FT_JOIN, 0, ROOM_ID_LEN - 1, 0);
	ck_assert_int_ne(conn_feed(&p, &c, in, FRAME_HDR_LEN + ROOM_ID_LEN - 1, collect, &s), 0);
	conn_release(&p, &c);

	/* DATA with src set by the client, DATA to member 0, empty DATA. */
	conn_init(&c, -1);
	put_frame(in, FT_DATA, 2, 4, 0);
	veil_put16(in + 2, 5);
	ck_assert_int_ne(conn_feed(&p, &c, in, FRAME_HDR_LEN + 4, collect, &s), 0);
	conn_release(&p, &c);
	conn_init(&c, -1);
	put_frame(in, FT_DATA, 0, 4, 0);
	ck_assert_int_ne(conn_feed(&p, &c, in, FRAME_HDR_LEN + 4, collect, &s), 0);
	conn_release(&p, &c);
	conn_init(&c, -1);
	put_frame(in, FT_DATA, 2, 0, 0);
	ck_assert_int_ne(conn_feed(&p, &c, in, FRAME_HDR_LEN, collect, &s), 0);
	conn_release(&p, &c);

	/* PING with a payload. */
	conn_init(&c, -1);
	put_frame(in, FT_PING, 0, 1, 0);
	ck_assert_int_ne(conn_feed(&p, &c, in, FRAME_HDR_LEN + 1, collect, &s), 0);
	conn_release(&p, &c);

	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(p.cp_in_live, 0);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_handler_stops)
{
	uint8_t in[3 * FRAME_HDR_LEN];
	struct conn_pool p;
	struct conn c;
	struct seen s = { 0 };
	size_t n = 0;

	ck_assert_int_eq(conn_pool_init(&p, MAXF, 4 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, -1);
	n += put_frame(in + n, FT_PING, 0, 0, 0);
	n += put_frame(in + n, FT_PING, 0, 0, 0);
	n += put_frame(in + n, FT_PING, 0, 0, 0);
	s.stop_at = 2;
	ck_assert_int_eq(conn_feed(&p, &c, in, n, collect, &s), VEIL_E_STATE);
	ck_assert_int_eq(s.n, 2);
	conn_release(&p, &c);
	conn_pool_free(&p);
}
END_TEST

START_TEST(test_conn_queue_bound)
{
	static uint8_t payload[MAXF];
	struct conn_pool p;
	struct conn c;
	size_t bound = 3 * (FRAME_HDR_LEN + MAXF) + 100;
	int i;

	ck_assert_int_eq(conn_pool_init(&p, MAXF, bound), 0);
	conn_init(&c, -1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(conn_queue(&p, &c, FT_DATA, 1, 2, payload, MAXF), 0);
	ck_assert_uint_eq(conn_queued(&c), 3 * (FRAME_HDR_LEN + MAXF));
	/* The fourth would pass the bound: refused whole, nothing queued. */
	ck_assert_int_eq(conn_queue(&p, &c, FT_DATA, 1, 2, payload, MAXF), VEIL_E_LIMIT);
	ck_assert_uint_eq(conn_queued(&c), 3 * (FRAME_HDR_LEN + MAXF));
	/* Small frames still fit up to the bound exactly. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(conn_queue(&p, &c, FT_PONG, 0, 0, NULL, 0), 0);
	ck_assert_uint_eq(conn_queued(&c), bound);
	ck_assert_int_eq(conn_queue(&p, &c, FT_PONG, 0, 0, NULL, 0), VEIL_E_LIMIT);
	ck_assert_uint_eq(conn_queued(&c), bound);
	ck_assert_uint_eq(p.cp_out_live, 1);
	conn_release(&p, &c);
	ck_assert_uint_eq(p.cp_out_live, 0);
	conn_pool_free(&p);
	ck_assert_int_eq(conn_pool_init(&p, MAXF, FRAME_HDR_LEN + MAXF - 1), VEIL_E_INVALID);
}
END_TEST

/* Reads everything the relay side wrote to fd (non-blocking) into buf. */
static size_t
drain(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = recv(fd, buf + n, cap - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	return n;
}

START_TEST(test_conn_flush_and_error_keep_sync)
{
	static uint8_t payload[MAXF], got[1 << 20];
	struct conn_pool p;
	struct conn c;
	struct frame f;
	int sv[2], snd = 4096, i, rc, frames = 0, errors = 0;
	size_t n, off;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)), 0);
	ck_assert_int_eq(conn_pool_init(&p, MAXF, 64 * (FRAME_HDR_LEN + MAXF)), 0);
	conn_init(&c, sv[0]);
	for (i = 0; i < 8; i++) {
		memset(payload, 'a' + i, sizeof(payload));
		ck_assert_int_eq(conn_queue(&p, &c, FT_DATA, 1, MEMBER_BCAST, payload, MAXF), 0);
	}
	/* The socket takes only part: a frame is left half written. */
	ck_assert_int_eq(conn_flush(&p, &c), 1);
	ck_assert_uint_gt(conn_queued(&c), 0);
	/* A stalled reader: drop what has not started, keep the half frame. */
	ck_assert_int_eq(conn_queue_error(&p, &c, FE_SLOW, 1), 0);
	n = 0;
	for (i = 0; i < 1000 && (rc = conn_flush(&p, &c)) != 0; i++) {
		ck_assert_int_eq(rc, 1);
		n += drain(sv[1], got + n, sizeof(got) - n);
	}
	ck_assert_int_eq(conn_flush(&p, &c), 0);
	ck_assert_uint_eq(p.cp_out_live, 0);
	n += drain(sv[1], got + n, sizeof(got) - n);
	/* What arrived parses as whole frames, ending with ERROR FE_SLOW. */
	for (off = 0; off < n; off += FRAME_HDR_LEN + f.fr_len) {
		ck_assert_int_eq(proto_frame_header(got + off, n - off, FRAME_TO_CLIENT,
		    MAXF, &f), 0);
		ck_assert_int_eq(proto_frame_decode(got + off, FRAME_HDR_LEN + f.fr_len,
		    FRAME_TO_CLIENT, MAXF, &f), 0);
		if (f.fr_type == FT_ERROR) {
			ck_assert_uint_eq(f.fr_payload[0], FE_SLOW);
			errors++;
		} else
			frames++;
	}
	ck_assert_uint_eq(off, n);
	ck_assert_int_eq(errors, 1);
	ck_assert_int_ge(frames, 1);
	ck_assert_int_lt(frames, 8);
	conn_release(&p, &c);
	conn_pool_free(&p);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- the relay's state machine over socketpairs ------------------------ */

struct tc {
	int	fd;
	uint8_t	buf[1 << 17];
	size_t	n;
};

static struct relayd *
mkrelay(uint32_t room_size, uint32_t max_clients, size_t out_max)
{
	struct relayd_config cfg;
	struct relayd *r;

	relayd_config_default(&cfg);
	cfg.rc_max_frame = MAXF;
	cfg.rc_room_size = room_size;
	cfg.rc_max_clients = max_clients;
	cfg.rc_idle_ms = 150;
	cfg.rc_keepalive_ms = 300;
	cfg.rc_linger_ms = 1000;
	cfg.rc_stall_ms = 100;
	cfg.rc_slow_ms = 2000;
	if (out_max != 0) {
		/* The hard bound; senders are held back from half of it. */
		cfg.rc_out_max = out_max;
		cfg.rc_out_soft = out_max / 2;
	}
	ck_assert_int_eq(relayd_new(&r, &cfg, 1024), 0);
	return r;
}

static struct tc *
tc_new(struct relayd *r)
{
	struct tc *t = calloc(1, sizeof(*t));
	int sv[2];

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	t->fd = sv[1];
	ck_assert_int_eq(relayd_add_conn(r, sv[0], NULL, 0), 0);
	return t;
}

/*
 * The same over TCP loopback, with small buffers on both sides: a reader
 * that stops reading fills them quickly and for good (a Unix socketpair
 * still takes a small frame after the queue stalls).
 */
static struct tc *
tc_new_tcp(struct relayd *r)
{
	struct tc *t = calloc(1, sizeof(*t));
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, s, small = 4096;

	ck_assert_ptr_nonnull(t);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), -1);
	ck_assert_int_eq(setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(connect(t->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS, 1);
	ck_assert_int_ne(s = accept4(l, NULL, NULL, SOCK_NONBLOCK), -1);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	close(l);
	ck_assert_int_eq(relayd_add_conn(r, s, NULL, 0), 0);
	return t;
}

static void
tc_free(struct tc *t)
{
	close(t->fd);
	free(t);
}

static void
tc_send(struct tc *t, uint8_t type, uint16_t dst, const void *payload, uint32_t len)
{
	uint8_t b[FRAME_HDR_LEN + MAXF];

	ck_assert_uint_le(len, MAXF);
	b[0] = PROTO_VERSION;
	b[1] = type;
	veil_put16(b + 2, 0);
	veil_put16(b + 4, dst);
	veil_put32(b + 6, len);
	if (len > 0)
		memcpy(b + FRAME_HDR_LEN, payload, len);
	ck_assert_int_eq(send(t->fd, b, FRAME_HDR_LEN + len, MSG_NOSIGNAL),
	    (ssize_t)(FRAME_HDR_LEN + len));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Turns the relay until t has a whole frame (1, decoded into f and copied to
 * payload), the relay closed it (0) or ms passed (-1).
 */
static int
tc_next(struct relayd *r, struct tc *t, struct frame *f, uint8_t *payload, int ms)
{
	int64_t end = now_ms() + ms;
	struct frame h;
	size_t total;
	ssize_t got;
	int eof = 0;

	for (;;) {
		if (t->n >= FRAME_HDR_LEN) {
			ck_assert_int_eq(proto_frame_header(t->buf, t->n, FRAME_TO_CLIENT,
			    FRAME_MAX_LIMIT, &h), 0);
			total = FRAME_HDR_LEN + h.fr_len;
			if (t->n >= total) {
				/* Everything the relay sends must pass the client decoder. */
				ck_assert_int_eq(proto_frame_decode(t->buf, total,
				    FRAME_TO_CLIENT, FRAME_MAX_LIMIT, f), 0);
				if (payload != NULL)
					memcpy(payload, f->fr_payload, f->fr_len);
				f->fr_payload = payload;
				memmove(t->buf, t->buf + total, t->n - total);
				t->n -= total;
				return 1;
			}
		}
		if (eof)
			return 0;
		if (now_ms() > end)
			return -1;
		ck_assert_int_eq(relayd_step(r, 5), 0);
		while (t->n < sizeof(t->buf)) {
			got = recv(t->fd, t->buf + t->n, sizeof(t->buf) - t->n, MSG_DONTWAIT);
			if (got > 0) {
				t->n += (size_t)got;
				continue;
			}
			if (got == 0 || errno != EAGAIN)
				eof = 1;
			break;
		}
	}
}

static void
tc_expect(struct relayd *r, struct tc *t, uint8_t type, uint16_t src, uint16_t dst)
{
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;

	ck_assert_int_eq(tc_next(r, t, &f, payload, 1000), 1);
	ck_assert_uint_eq(f.fr_type, type);
	ck_assert_uint_eq(f.fr_src, src);
	ck_assert_uint_eq(f.fr_dst, dst);
}

/* Expects ERROR code (possibly after other frames) and then the close. */
static void
tc_expect_error(struct relayd *r, struct tc *t, uint8_t code)
{
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;
	int rc;

	while ((rc = tc_next(r, t, &f, payload, 1000)) == 1 && f.fr_type != FT_ERROR)
		;
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(f.fr_len, 1);
	ck_assert_uint_eq(payload[0], code);
	ck_assert_int_eq(tc_next(r, t, &f, payload, 1000), 0);
}

/* Joins room and checks WELCOME: returns the member id given. */
static uint16_t
tc_join(struct relayd *r, struct tc *t, const uint8_t *room, uint16_t nothers)
{
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;

	tc_send(t, FT_JOIN, 0, room, ROOM_ID_LEN);
	ck_assert_int_eq(tc_next(r, t, &f, payload, 1000), 1);
	ck_assert_uint_eq(f.fr_type, FT_WELCOME);
	ck_assert_uint_eq(veil_get16(payload), nothers);
	return f.fr_dst;
}

static const uint8_t room_a[ROOM_ID_LEN] = { 'a' };
static const uint8_t room_b[ROOM_ID_LEN] = { 'b' };

START_TEST(test_relay_join_route_leave)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r), *c = tc_new(r), *x = tc_new(r);
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;
	uint16_t ids[4];
	size_t n;

	ck_assert_uint_eq(tc_join(r, a, room_a, 0), 1);
	ck_assert_uint_eq(tc_join(r, b, room_a, 1), 2);
	tc_expect(r, a, FT_JOINED, 2, 0);
	ck_assert_uint_eq(tc_join(r, x, room_b, 0), 1);	/* another room: own ids */
	tc_send(c, FT_JOIN, 0, room_a, ROOM_ID_LEN);
	ck_assert_int_eq(tc_next(r, c, &f, payload, 1000), 1);
	ck_assert_uint_eq(f.fr_type, FT_WELCOME);
	ck_assert_uint_eq(f.fr_dst, 3);
	ck_assert_int_eq(proto_welcome_members(&f, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 1);
	ck_assert_uint_eq(ids[1], 2);
	tc_expect(r, a, FT_JOINED, 3, 0);
	tc_expect(r, b, FT_JOINED, 3, 0);

	/* Broadcast: everyone but the sender, src rewritten. */
	tc_send(a, FT_DATA, MEMBER_BCAST, "hello", 5);
	ck_assert_int_eq(tc_next(r, b, &f, payload, 1000), 1);
	ck_assert_uint_eq(f.fr_type, FT_DATA);
	ck_assert_uint_eq(f.fr_src, 1);
	ck_assert_uint_eq(f.fr_dst, MEMBER_BCAST);
	ck_assert_mem_eq(payload, "hello", 5);
	tc_expect(r, c, FT_DATA, 1, MEMBER_BCAST);
	/* Unicast: only the addressee. */
	tc_send(c, FT_DATA, 2, "x", 1);
	tc_expect(r, b, FT_DATA, 3, 2);
	/* To a member that does not exist: silently dropped. */
	tc_send(c, FT_DATA, 9, "y", 1);
	tc_send(a, FT_PING, 0, NULL, 0);
	tc_expect(r, a, FT_PONG, 0, 0);
	/* a got nothing from the unicasts; x, in room b, got nothing at all. */
	ck_assert_int_eq(tc_next(r, a, &f, payload, 50), -1);
	ck_assert_int_eq(tc_next(r, x, &f, payload, 50), -1);

	/* b leaves: LEFT to a and c; its id is not reused. */
	tc_free(b);
	tc_expect(r, a, FT_LEFT, 2, 0);
	tc_expect(r, c, FT_LEFT, 2, 0);
	b = tc_new(r);
	ck_assert_uint_eq(tc_join(r, b, room_a, 2), 4);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_rooms, 2);
	tc_free(x);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	for (n = 0; n < 10; n++)
		ck_assert_int_eq(relayd_step(r, 5), 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_rooms, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 0);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_data_before_join)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r);

	tc_send(a, FT_DATA, MEMBER_BCAST, "early", 5);
	tc_expect_error(r, a, FE_NOT_JOINED);
	tc_send(b, FT_PING, 0, NULL, 0);
	tc_expect_error(r, b, FE_NOT_JOINED);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_NOT_JOINED], 2);
	tc_free(a);
	tc_free(b);
	relayd_free(r);
}
END_TEST

/*
 * Before JOIN a header is judged on its own: a DATA announcing a full frame
 * gets NOT_JOINED at once (not TIMEOUT once the idle time is over), and no
 * input buffer is taken for a payload that would be refused anyway; a JOIN
 * announcing anything but 32 bytes is MALFORMED at once too.
 */
START_TEST(test_relay_header_before_join)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r);
	uint8_t h[FRAME_HDR_LEN] = { PROTO_VERSION, FT_DATA, 0, 0, 0xff, 0xff };

	veil_put32(h + 6, MAXF);
	ck_assert_int_eq(send(a->fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(relayd_step(r, 50), 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_in_bufs, 0);
	tc_expect_error(r, a, FE_NOT_JOINED);
	h[1] = FT_JOIN;
	veil_put16(h + 4, 0);
	veil_put32(h + 6, 1000);
	ck_assert_int_eq(send(b->fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(relayd_step(r, 50), 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_in_bufs, 0);
	tc_expect_error(r, b, FE_MALFORMED);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_NOT_JOINED], 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_IDLE], 0);
	tc_free(a);
	tc_free(b);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_second_join)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r);

	ck_assert_uint_eq(tc_join(r, a, room_a, 0), 1);
	ck_assert_uint_eq(tc_join(r, b, room_a, 1), 2);
	tc_expect(r, a, FT_JOINED, 2, 0);
	tc_send(b, FT_JOIN, 0, room_b, ROOM_ID_LEN);
	tc_expect_error(r, b, FE_REJOIN);
	/* The room saw it leave. */
	tc_expect(r, a, FT_LEFT, 2, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_rooms, 1);
	tc_free(a);
	tc_free(b);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_room_full)
{
	struct relayd *r = mkrelay(2, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r), *c = tc_new(r);

	tc_join(r, a, room_a, 0);
	tc_join(r, b, room_a, 1);
	tc_send(c, FT_JOIN, 0, room_a, ROOM_ID_LEN);
	tc_expect_error(r, c, FE_ROOM_FULL);
	tc_expect(r, a, FT_JOINED, 2, 0);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_oversize_and_garbage)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r), *b = tc_new(r), *c = tc_new(r);
	uint8_t hdr[FRAME_HDR_LEN] = { PROTO_VERSION, FT_DATA, 0, 0, 0xff, 0xff };

	tc_join(r, a, room_a, 0);
	tc_join(r, b, room_a, 1);
	tc_expect(r, a, FT_JOINED, 2, 0);
	veil_put32(hdr + 6, MAXF + 1);
	ck_assert_int_eq(send(b->fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	tc_expect_error(r, b, FE_OVERSIZE);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_in_bufs, 0);
	tc_expect(r, a, FT_LEFT, 2, 0);
	ck_assert_int_eq(send(c->fd, "\x02garbage", 8, 0), 8);
	ck_assert_int_eq(send(c->fd, "\x02garbage", 8, 0), 8);
	tc_expect_error(r, c, FE_MALFORMED);
	/* a is fine. */
	tc_send(a, FT_PING, 0, NULL, 0);
	tc_expect(r, a, FT_PONG, 0, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_OVERSIZE], 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_MALFORMED], 1);
	tc_free(a);
	tc_free(b);
	tc_free(c);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_timeouts)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *idle = tc_new(r), *m = tc_new(r), *live = tc_new(r);
	int64_t t0 = now_ms();
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f = { 0 };
	int i;

	/* Half-open: never joins, closed after the idle timeout (150 ms). */
	tc_join(r, m, room_a, 0);
	tc_join(r, live, room_a, 1);
	tc_expect(r, m, FT_JOINED, 2, 0);
	tc_expect_error(r, idle, FE_TIMEOUT);
	ck_assert_int_ge(now_ms() - t0, 140);
	/* Joined: m is silent, live pings; m goes after the keepalive (300 ms). */
	for (i = 0; i < 20 && f.fr_type != FT_LEFT; i++) {
		tc_send(live, FT_PING, 0, NULL, 0);
		while (tc_next(r, live, &f, payload, 60) == 1 && f.fr_type != FT_LEFT)
			ck_assert_uint_eq(f.fr_type, FT_PONG);
	}
	/* live, pinging every 60 ms, outlived m. */
	ck_assert_uint_eq(f.fr_type, FT_LEFT);
	ck_assert_uint_eq(f.fr_src, 1);
	tc_expect_error(r, m, FE_TIMEOUT);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_IDLE], 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_KEEPALIVE], 1);
	tc_free(idle);
	tc_free(m);
	tc_free(live);
	relayd_free(r);
}
END_TEST

/*
 * Only whole frames are signs of life: a member trickling bytes that never
 * make a frame is closed after the keepalive time (600 ms here) from its
 * last whole frame, while one whose PINGs arrive a byte at a time, each
 * completed in time, stays.
 */
START_TEST(test_relay_trickle)
{
	struct relayd_config cfg;
	struct relayd *r;
	struct tc *drip, *slowping, *live;
	uint8_t hdr[FRAME_HDR_LEN] = { PROTO_VERSION, FT_DATA, 0, 0, 0, 3 };
	uint8_t ping[FRAME_HDR_LEN] = { PROTO_VERSION, FT_PING };
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;
	int64_t t0, took = 0;
	size_t i = 0, j = 0;

	relayd_config_default(&cfg);
	cfg.rc_max_frame = MAXF;
	cfg.rc_keepalive_ms = 600;
	ck_assert_int_eq(relayd_new(&r, &cfg, 1024), 0);
	drip = tc_new(r);
	slowping = tc_new(r);
	live = tc_new(r);
	veil_put32(hdr + 6, 100);
	tc_join(r, drip, room_a, 0);
	tc_join(r, slowping, room_a, 1);
	tc_join(r, live, room_a, 2);
	t0 = now_ms();
	while (now_ms() - t0 < 2000) {
		/* drip: a byte of a DATA frame (100-byte payload) per turn. */
		if (took == 0) {
			if (i < sizeof(hdr))
				ck_assert_int_eq(send(drip->fd, hdr + i, 1, MSG_NOSIGNAL), 1);
			else
				(void)send(drip->fd, "x", 1, MSG_NOSIGNAL);
			i++;
		}
		/* slowping: two bytes of a PING per turn, a whole PING per 5. */
		ck_assert_int_eq(send(slowping->fd, ping + j++ % FRAME_HDR_LEN, 1, 0), 1);
		ck_assert_int_eq(send(slowping->fd, ping + j++ % FRAME_HDR_LEN, 1, 0), 1);
		tc_send(live, FT_PING, 0, NULL, 0);
		while (tc_next(r, live, &f, payload, 20) == 1) {
			if (f.fr_type == FT_PONG)
				continue;
			/* Only drip goes. */
			ck_assert_uint_eq(f.fr_type, FT_LEFT);
			ck_assert_uint_eq(f.fr_src, 1);
			ck_assert_int_eq(took, 0);
			took = now_ms() - t0;
		}
	}
	/* 600 ms after its JOIN, although its bytes came in all the while. */
	ck_assert_int_ge(took, 580);
	ck_assert_int_lt(took, 1500);
	ck_assert_uint_gt(i, 20);
	tc_expect_error(r, drip, FE_TIMEOUT);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_KEEPALIVE], 1);
	/* slowping outlived several keepalive periods and gets its PONGs. */
	while (tc_next(r, slowping, &f, payload, 50) == 1)
		ck_assert_uint_ne(f.fr_type, FT_ERROR);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	tc_free(drip);
	tc_free(slowping);
	tc_free(live);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_stalled_reader)
{
	/* Queue bound: 4 frames of MAXF. */
	struct relayd *r = mkrelay(16, 16, 4 * (FRAME_HDR_LEN + MAXF));
	struct tc *a = tc_new(r), *b = tc_new(r), *stall = tc_new(r);
	static uint8_t big[MAXF], payload[FRAME_MAX_LIMIT];
	struct frame f;
	int i, got = 0, left = 0, rc;

	tc_join(r, a, room_a, 0);
	tc_join(r, b, room_a, 1);
	tc_join(r, stall, room_a, 2);
	tc_expect(r, a, FT_JOINED, 2, 0);
	tc_expect(r, a, FT_JOINED, 3, 0);
	tc_expect(r, b, FT_JOINED, 3, 0);
	/* stall never reads; b keeps up; a never waits. */
	for (i = 0; i < 200; i++) {
		memset(big, i, sizeof(big));
		tc_send(a, FT_DATA, MEMBER_BCAST, big, sizeof(big));
		while ((rc = tc_next(r, b, &f, payload, 1000)) == 1 && f.fr_type == FT_LEFT)
			left++;
		ck_assert_msg(rc == 1, "b lost at %d: rc %d, slow %d, eof %d, io %d", i, rc,
		    (int)relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW],
		    (int)relayd_get_stats(r)->rs_closed[RELAYD_R_EOF],
		    (int)relayd_get_stats(r)->rs_closed[RELAYD_R_IOERR]);
		ck_assert_uint_eq(f.fr_type, FT_DATA);
		ck_assert_uint_eq(payload[0], (uint8_t)i);
		got++;
	}
	ck_assert_int_eq(got, 200);
	if (left == 0)
		tc_expect(r, b, FT_LEFT, 3, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW], 1);
	/*
	 * The stalled reader, out of the room, reads at last: whole frames in
	 * order (its queue was cut at a frame boundary), then ERROR FE_SLOW,
	 * which the relay kept trying to deliver, then the end.
	 */
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 3);	/* still draining */
	got = 0;
	while ((rc = tc_next(r, stall, &f, payload, 1000)) == 1 && f.fr_type == FT_DATA) {
		ck_assert_uint_eq(payload[0], (uint8_t)got);
		got++;
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(f.fr_type, FT_ERROR);
	ck_assert_uint_eq(payload[0], FE_SLOW);
	ck_assert_int_eq(tc_next(r, stall, &f, payload, 1000), 0);
	ck_assert_int_gt(got, 0);
	ck_assert_int_lt(got, 200);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	tc_free(a);
	tc_free(b);
	tc_free(stall);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_stalled_reader_never_reads)
{
	struct relayd *r = mkrelay(16, 16, 2 * (FRAME_HDR_LEN + MAXF));
	struct tc *a = tc_new(r), *stall = tc_new_tcp(r);
	static uint8_t big[MAXF], payload[FRAME_MAX_LIMIT];
	struct frame f;
	int64_t t0;
	int i, rc;

	tc_join(r, a, room_a, 0);
	tc_join(r, stall, room_a, 1);
	tc_expect(r, a, FT_JOINED, 2, 0);
	for (i = 0; i < 300; i++) {
		tc_send(a, FT_DATA, MEMBER_BCAST, big, sizeof(big));
		if ((rc = tc_next(r, a, &f, payload, 5)) == 1)
			break;
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(f.fr_type, FT_LEFT);
	ck_assert_uint_eq(f.fr_src, 2);
	/* Lingering to deliver FE_SLOW, then given up on after rc_linger_ms. */
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	t0 = now_ms();
	while (relayd_get_stats(r)->rs_conns == 2 && now_ms() - t0 < 3000) {
		/* a stays alive (keepalive is 300 ms here). */
		tc_send(a, FT_PING, 0, NULL, 0);
		tc_expect(r, a, FT_PONG, 0, 0);
		ck_assert_int_eq(relayd_step(r, 50), 0);
	}
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 1);
	ck_assert_int_ge(now_ms() - t0, 800);
	/* a never noticed. */
	tc_send(a, FT_PING, 0, NULL, 0);
	tc_expect(r, a, FT_PONG, 0, 0);
	tc_free(a);
	tc_free(stall);
	relayd_free(r);
}
END_TEST

/* ---- flow control ------------------------------------------------------ */

static struct relayd *
mkflow(size_t soft, size_t hard, uint32_t stall_ms, uint32_t slow_ms, uint32_t keepalive_ms)
{
	struct relayd_config cfg;
	struct relayd *r;

	relayd_config_default(&cfg);
	cfg.rc_max_frame = MAXF;
	cfg.rc_out_soft = soft;
	cfg.rc_out_max = hard;
	cfg.rc_stall_ms = stall_ms;
	cfg.rc_slow_ms = slow_ms;
	cfg.rc_keepalive_ms = keepalive_ms;
	cfg.rc_linger_ms = 200;
	ck_assert_int_eq(relayd_new(&r, &cfg, 1024), 0);
	return r;
}

/* A socketpair whose relay side has a small send buffer: the relay's queue, not the kernel's, fills. */
static struct tc *
tc_new_small(struct relayd *r)
{
	struct tc *t = calloc(1, sizeof(*t));
	int sv[2], small = 4096;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	t->fd = sv[1];
	ck_assert_int_eq(relayd_add_conn(r, sv[0], NULL, 0), 0);
	return t;
}

/* A sender with a backlog of DATA frames to dst, numbered from 0 in their first 4 bytes. */
struct pump {
	uint8_t		*p_buf;
	size_t		 p_len;
	size_t		 p_off;
};

static void
pump_init(struct pump *p, int nframes, uint32_t size, uint16_t dst)
{
	uint8_t *w;
	int i;

	p->p_len = (size_t)nframes * (FRAME_HDR_LEN + size);
	ck_assert_ptr_nonnull(p->p_buf = malloc(p->p_len));
	p->p_off = 0;
	for (i = 0, w = p->p_buf; i < nframes; i++, w += FRAME_HDR_LEN + size) {
		put_frame(w, FT_DATA, dst, size, (uint8_t)i);
		veil_put32(w + FRAME_HDR_LEN, (uint32_t)i);
	}
}

/* Writes what the socket takes now; 1 when all is sent. */
static int
pump_run(struct pump *p, struct tc *t)
{
	ssize_t w;

	while (p->p_off < p->p_len) {
		w = send(t->fd, p->p_buf + p->p_off, p->p_len - p->p_off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		p->p_off += (size_t)w;
	}
	return p->p_off == p->p_len;
}

/*
 * Reads at most max bytes for t (no relay turn) and counts the DATA frames
 * in it, which must be numbered *next, *next + 1, ... Returns 0, or -1 once
 * the relay closed t.
 */
static int
take_data(struct tc *t, size_t max, uint32_t *next, int *errcode)
{
	struct frame f;
	size_t total;
	ssize_t got;

	if (max > sizeof(t->buf) - t->n)
		max = sizeof(t->buf) - t->n;
	got = recv(t->fd, t->buf + t->n, max, MSG_DONTWAIT);
	if (got == 0 || (got < 0 && errno != EAGAIN))
		return -1;
	if (got > 0)
		t->n += (size_t)got;
	while (t->n >= FRAME_HDR_LEN) {
		ck_assert_int_eq(proto_frame_header(t->buf, t->n, FRAME_TO_CLIENT,
		    FRAME_MAX_LIMIT, &f), 0);
		total = FRAME_HDR_LEN + f.fr_len;
		if (t->n < total)
			break;
		ck_assert_int_eq(proto_frame_decode(t->buf, total, FRAME_TO_CLIENT,
		    FRAME_MAX_LIMIT, &f), 0);
		if (f.fr_type == FT_DATA) {
			ck_assert_uint_eq(veil_get32(f.fr_payload), *next);
			(*next)++;
		} else if (f.fr_type == FT_ERROR && errcode != NULL)
			*errcode = f.fr_payload[0];
		memmove(t->buf, t->buf + total, t->n - total);
		t->n -= total;
	}
	return 0;
}

/*
 * A sender far faster than its reader: the reader's queue passes the soft
 * bound, the sender is not read until it drains, and every frame arrives,
 * in order, without the reader ever being dropped.
 */
START_TEST(test_relay_backpressure)
{
	/* The hard bound leaves room for one read of the sender (256 KiB). */
	struct relayd *r = mkflow(16384, 512 * 1024, 5000, 5000, 5000);
	struct tc *a = tc_new(r), *b = tc_new_small(r);
	struct pump p;
	uint32_t next = 0;
	int64_t t0 = now_ms();
	const int n = 4000;	/* 4 MB: 8 times the hard bound */

	tc_join(r, a, room_a, 0);
	tc_join(r, b, room_a, 1);
	tc_expect(r, a, FT_JOINED, 2, 0);
	pump_init(&p, n, 1000, 2);
	while (next < (uint32_t)n && now_ms() - t0 < 5000) {
		(void)pump_run(&p, a);
		ck_assert_int_eq(relayd_step(r, 1), 0);
		/* b reads slowly: 8 KB a turn. */
		ck_assert_int_eq(take_data(b, 8192, &next, NULL), 0);
	}
	ck_assert_uint_eq(next, n);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW], 0);
	ck_assert_uint_ge(relayd_get_stats(r)->rs_blocked, 1);
	ck_assert_uint_ge(relayd_get_stats(r)->rs_paused, 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_released, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	free(p.p_buf);
	tc_free(a);
	tc_free(b);
	relayd_free(r);
}
END_TEST

/*
 * A reader that never reads holds its room back for the stall window only
 * (200 ms): then the sender is read again, the others get everything, and
 * the stalled one is dropped (FE_SLOW) when its queue passes the hard bound.
 */
START_TEST(test_relay_stall_window)
{
	struct relayd *r = mkflow(16384, 512 * 1024, 200, 5000, 5000);
	struct tc *a = tc_new(r), *b = tc_new(r), *s = tc_new_tcp(r);
	struct pump p;
	uint32_t next = 0, was = 0, snext = 0;
	int64_t t0 = now_ms(), last = 0, gap = 0, now;
	int code = 0;
	const int n = 2000;	/* 2 MB */

	tc_join(r, a, room_a, 0);
	tc_join(r, b, room_a, 1);
	tc_join(r, s, room_a, 2);
	tc_expect(r, a, FT_JOINED, 2, 0);
	tc_expect(r, a, FT_JOINED, 3, 0);
	tc_expect(r, b, FT_JOINED, 3, 0);
	pump_init(&p, n, 1000, MEMBER_BCAST);
	last = now_ms();
	while (next < (uint32_t)n && now_ms() - t0 < 4000) {
		(void)pump_run(&p, a);
		ck_assert_int_eq(relayd_step(r, 1), 0);
		ck_assert_int_eq(take_data(b, sizeof(b->buf), &next, NULL), 0);
		now = now_ms();
		if (next != was) {
			if (now - last > gap)
				gap = now - last;
			last = now;
			was = next;
		}
	}
	ck_assert_uint_eq(next, n);
	/* b waited for the stall window once, not more. */
	ck_assert_int_ge(gap, 150);
	ck_assert_int_lt(gap, 1000);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_released, 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW], 1);
	/* s, reading at last, gets whole frames in order, then FE_SLOW. */
	while (take_data(s, sizeof(s->buf), &snext, &code) == 0 && now_ms() - t0 < 6000)
		ck_assert_int_eq(relayd_step(r, 1), 0);
	ck_assert_int_eq(code, FE_SLOW);
	ck_assert_uint_gt(snext, 0);
	ck_assert_uint_lt(snext, n);
	free(p.p_buf);
	tc_free(a);
	tc_free(b);
	tc_free(s);
	relayd_free(r);
}
END_TEST

/*
 * Under the hard bound, a reader whose output does not move for
 * --slow-timeout (500 ms here) is dropped (FE_SLOW, counted as stalled);
 * one that reads a little now and then is not.
 */
START_TEST(test_relay_no_progress)
{
	struct relayd *r = mkflow(16384, 8 << 20, 50, 500, 5000);
	struct tc *a = tc_new(r), *s = tc_new_tcp(r), *dawdle = tc_new_small(r);
	struct pump p;
	uint32_t dnext = 0;
	int64_t t0, gone = 0;
	uint8_t payload[FRAME_MAX_LIMIT];
	struct frame f;
	int rc;

	tc_join(r, a, room_a, 0);
	tc_join(r, s, room_a, 1);
	tc_join(r, dawdle, room_a, 2);
	tc_expect(r, a, FT_JOINED, 2, 0);
	tc_expect(r, a, FT_JOINED, 3, 0);
	pump_init(&p, 300, 1000, MEMBER_BCAST);
	t0 = now_ms();
	while (!pump_run(&p, a) && now_ms() - t0 < 2000) {
		ck_assert_int_eq(relayd_step(r, 1), 0);
		(void)take_data(dawdle, 4096, &dnext, NULL);
	}
	ck_assert_int_eq(pump_run(&p, a), 1);
	t0 = now_ms();
	while (now_ms() - t0 < 1500) {
		ck_assert_int_eq(relayd_step(r, 20), 0);
		/* dawdle takes 2 KB every 20 ms: slow, but moving. */
		ck_assert_int_eq(take_data(dawdle, 2048, &dnext, NULL), 0);
		tc_send(a, FT_PING, 0, NULL, 0);
		while ((rc = tc_next(r, a, &f, payload, 0)) == 1)
			if (f.fr_type == FT_LEFT) {
				ck_assert_uint_eq(f.fr_src, 2);
				gone = now_ms() - t0;
			}
	}
	ck_assert_int_ge(gone, 400);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_STALLED], 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW], 0);
	/* a and dawdle are still there (s's last ERROR has lingered out). */
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	ck_assert_uint_gt(dnext, 0);
	free(p.p_buf);
	tc_free(a);
	tc_free(s);
	tc_free(dawdle);
	relayd_free(r);
}
END_TEST

/*
 * A sender held back by a blocking reader is not silent: it is not read.
 * Held for longer than the keepalive (stall window 800 ms, keepalive
 * 300 ms), it is not closed for it.
 */
START_TEST(test_relay_held_keepalive)
{
	struct relayd *r = mkflow(16384, 1 << 20, 800, 5000, 300);
	struct tc *a = tc_new(r), *s = tc_new_tcp(r);
	struct pump p;
	int64_t t0;

	tc_join(r, a, room_a, 0);
	tc_join(r, s, room_a, 1);
	tc_expect(r, a, FT_JOINED, 2, 0);
	pump_init(&p, 600, 1000, 2);
	t0 = now_ms();
	while (relayd_get_stats(r)->rs_paused == 0 && now_ms() - t0 < 2000) {
		(void)pump_run(&p, a);
		ck_assert_int_eq(relayd_step(r, 1), 0);
	}
	ck_assert_uint_eq(relayd_get_stats(r)->rs_paused, 1);
	/* a is not read meanwhile; s PINGs (but never reads). */
	t0 = now_ms();
	while (now_ms() - t0 < 700) {
		tc_send(s, FT_PING, 0, NULL, 0);
		ck_assert_int_eq(relayd_step(r, 50), 0);
	}
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_KEEPALIVE], 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_released, 0);
	/* Released, a is read again, its keepalive starting anew. */
	while (relayd_get_stats(r)->rs_released == 0 && now_ms() - t0 < 2000) {
		tc_send(s, FT_PING, 0, NULL, 0);
		ck_assert_int_eq(relayd_step(r, 50), 0);
	}
	ck_assert_uint_eq(relayd_get_stats(r)->rs_released, 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_closed[RELAYD_R_KEEPALIVE], 0);
	free(p.p_buf);
	tc_free(a);
	tc_free(s);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_server_full)
{
	struct relayd *r = mkrelay(16, 2, 0);
	struct tc *a = tc_new(r), *b = tc_new(r);
	uint8_t buf[64];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(relayd_add_conn(r, sv[0], NULL, 0), VEIL_E_LIMIT);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), FRAME_HDR_LEN + 1);
	ck_assert_uint_eq(buf[1], FT_ERROR);
	ck_assert_uint_eq(buf[FRAME_HDR_LEN], FE_SERVER_FULL);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 0);
	close(sv[1]);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_refused, 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 2);
	tc_free(a);
	tc_free(b);
	relayd_free(r);
}
END_TEST

/*
 * Random traffic against tiny bounds: clients joining two small rooms,
 * broadcasting and sending to each other, reading a little, a lot or not at
 * all for a while, leaving at any point, so senders are held back and let
 * go, readers block, are released and dropped in every order. What each
 * client reads must stay whole frames; from each sender, broadcasts arrive
 * without a gap and unicasts in order; JOINED and LEFT alternate per id;
 * the only ERROR is SLOW. At the end every connection, room and buffer is
 * gone. (Under `make sanitize`, ASan watches the lists and queues.)
 */
#define RND_CLIENTS	10
#define RND_STEPS	30000

struct rnd_client {
	struct tc	*rc_t;
	int		 rc_room;	/* 0, 1 */
	int		 rc_joined;
	int		 rc_stalled;	/* not reading for now */
	uint16_t	 rc_id;
	uint32_t	 rc_bseq;	/* broadcasts sent */
	uint32_t	 rc_useq;	/* unicasts sent */
	uint8_t		 rc_out[1 << 16];	/* frames not yet taken by the socket */
	size_t		 rc_outlen;
	uint8_t		 rc_in[MEMBER_MAX + 1];	/* 1 = that id is in my room */
	uint32_t	 rc_bnext[MEMBER_MAX + 1];	/* next broadcast due (0: none seen) */
	uint32_t	 rc_ulast[MEMBER_MAX + 1];	/* last unicast seen + 1 */
};

static uint32_t rnd_state;

static uint32_t
rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static void
rnd_flush(struct rnd_client *c)
{
	ssize_t w;

	if (c->rc_outlen == 0)
		return;
	w = send(c->rc_t->fd, c->rc_out, c->rc_outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0) {
		memmove(c->rc_out, c->rc_out + w, c->rc_outlen - (size_t)w);
		c->rc_outlen -= (size_t)w;
	}
}

static void
rnd_queue(struct rnd_client *c, uint8_t type, uint16_t dst, const uint8_t *p, uint32_t len)
{
	uint8_t *w;

	if (sizeof(c->rc_out) - c->rc_outlen < FRAME_HDR_LEN + len)
		return;		/* it is flooding enough */
	w = c->rc_out + c->rc_outlen;
	w[0] = PROTO_VERSION;
	w[1] = type;
	veil_put16(w + 2, 0);
	veil_put16(w + 4, dst);
	veil_put32(w + 6, len);
	if (len > 0)
		memcpy(w + FRAME_HDR_LEN, p, len);
	c->rc_outlen += FRAME_HDR_LEN + len;
}

static void
rnd_drop(struct rnd_client *c)
{
	tc_free(c->rc_t);
	memset(c, 0, sizeof(*c));
}

/* Reads up to max bytes for c and checks every whole frame; 0 once closed. */
static int
rnd_read(struct rnd_client *c, size_t max)
{
	struct tc *t = c->rc_t;
	struct frame f;
	uint32_t k;
	size_t total, i, n;
	ssize_t got;
	int closed = 0;

	if (max > sizeof(t->buf) - t->n)
		max = sizeof(t->buf) - t->n;
	got = recv(t->fd, t->buf + t->n, max, MSG_DONTWAIT);
	if (got == 0 || (got < 0 && errno != EAGAIN))
		closed = 1;
	if (got > 0)
		t->n += (size_t)got;
	while (t->n >= FRAME_HDR_LEN) {
		ck_assert_int_eq(proto_frame_header(t->buf, t->n, FRAME_TO_CLIENT,
		    FRAME_MAX_LIMIT, &f), 0);
		total = FRAME_HDR_LEN + f.fr_len;
		if (t->n < total)
			break;
		ck_assert_int_eq(proto_frame_decode(t->buf, total, FRAME_TO_CLIENT,
		    FRAME_MAX_LIMIT, &f), 0);
		switch (f.fr_type) {
		case FT_WELCOME:
			ck_assert(!c->rc_joined);
			c->rc_joined = 1;
			c->rc_id = f.fr_dst;
			n = veil_get16(f.fr_payload);
			for (i = 0; i < n; i++)
				c->rc_in[veil_get16(f.fr_payload + 2 + 2 * i)] = 1;
			break;
		case FT_JOINED:
			ck_assert_uint_eq(c->rc_in[f.fr_src], 0);
			c->rc_in[f.fr_src] = 1;
			break;
		case FT_LEFT:
			ck_assert_uint_eq(c->rc_in[f.fr_src], 1);
			c->rc_in[f.fr_src] = 0;
			break;
		case FT_DATA:
			ck_assert(c->rc_joined);
			ck_assert_uint_eq(c->rc_in[f.fr_src], 1);
			k = veil_get32(f.fr_payload);
			if (f.fr_dst == MEMBER_BCAST) {
				/* From the first one seen on, none missing. */
				if (c->rc_bnext[f.fr_src] != 0)
					ck_assert_uint_eq(k + 1, c->rc_bnext[f.fr_src]);
				c->rc_bnext[f.fr_src] = k + 2;
			} else {
				ck_assert_uint_eq(f.fr_dst, c->rc_id);
				ck_assert_uint_gt(k + 1, c->rc_ulast[f.fr_src]);
				c->rc_ulast[f.fr_src] = k + 1;
			}
			break;
		case FT_PONG:
			break;
		case FT_ERROR:
			ck_assert_uint_eq(f.fr_payload[0], FE_SLOW);
			break;
		default:
			ck_abort_msg("type %u", f.fr_type);
		}
		memmove(t->buf, t->buf + total, t->n - total);
		t->n -= total;
	}
	return !closed;
}

START_TEST(test_relay_random)
{
	static struct rnd_client cl[RND_CLIENTS];
	static const uint8_t rooms[2][ROOM_ID_LEN] = { { 'x' }, { 'y' } };
	struct relayd *r = mkflow(8192, 64 * 1024, 1, 50, 60000);
	uint8_t payload[3000];
	struct rnd_client *c;
	uint32_t op, len;
	uint16_t dst;
	int step, i, any;

	rnd_state = 0x5eed;
	memset(cl, 0, sizeof(cl));
	memset(payload, 0x5a, sizeof(payload));
	for (step = 0; step < RND_STEPS; step++) {
		c = &cl[rnd(RND_CLIENTS)];
		op = rnd(100);
		if (c->rc_t == NULL) {
			if (op < 30) {
				c->rc_t = rnd(2) ? tc_new_small(r) : tc_new(r);
				c->rc_room = (int)rnd(2);
				rnd_queue(c, FT_JOIN, 0, rooms[c->rc_room], ROOM_ID_LEN);
				rnd_flush(c);
			}
		} else if (op < 45 && c->rc_joined) {
			len = 4 + rnd(sizeof(payload) - 4);
			if (rnd(3) != 0) {
				veil_put32(payload, c->rc_bseq++);
				rnd_queue(c, FT_DATA, MEMBER_BCAST, payload, len);
			} else {
				/* To someone in the room, or to an id that is not (dropped). */
				dst = (uint16_t)(1 + rnd(12));
				veil_put32(payload, c->rc_useq++);
				rnd_queue(c, FT_DATA, dst, payload, len);
			}
		} else if (op < 80) {
			if (!c->rc_stalled && !rnd_read(c, rnd(2) ? 65536 : 1 + rnd(2048)))
				rnd_drop(c);
		} else if (op < 90) {
			c->rc_stalled = !c->rc_stalled;
		} else if (op < 93) {
			rnd_drop(c);
		} else if (op < 95 && c->rc_joined) {
			rnd_queue(c, FT_PING, 0, NULL, 0);
		}
		for (i = 0; i < RND_CLIENTS; i++)
			if (cl[i].rc_t != NULL)
				rnd_flush(&cl[i]);
		ck_assert_int_eq(relayd_step(r, 0), 0);
	}
	/* Every path was taken. */
	ck_assert_uint_gt(relayd_get_stats(r)->rs_paused, 0);
	ck_assert_uint_gt(relayd_get_stats(r)->rs_released, 0);
	ck_assert_uint_gt(relayd_get_stats(r)->rs_closed[RELAYD_R_SLOW] +
	    relayd_get_stats(r)->rs_closed[RELAYD_R_STALLED], 0);
	/* Everyone reads what is left, then goes. */
	for (i = 0; i < 200; i++) {
		any = 0;
		for (step = 0; step < RND_CLIENTS; step++) {
			c = &cl[step];
			if (c->rc_t == NULL)
				continue;
			rnd_flush(c);
			if (!rnd_read(c, 65536))
				rnd_drop(c);
			else
				any = 1;
		}
		ck_assert_int_eq(relayd_step(r, 1), 0);
		if (!any)
			break;
	}
	for (i = 0; i < RND_CLIENTS; i++)
		if (cl[i].rc_t != NULL)
			rnd_drop(&cl[i]);
	for (i = 0; i < 500 && relayd_get_stats(r)->rs_conns > 0; i++)
		ck_assert_int_eq(relayd_step(r, 2), 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_conns, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_rooms, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_in_bufs, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_out_bufs, 0);
	relayd_free(r);
}
END_TEST

/* ---- --max-per-addr ------------------------------------------------------ */

static socklen_t
mk4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin->sin_addr), 1);
	return sizeof(*sin);
}

static socklen_t
mk6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

START_TEST(test_addr_keys)
{
	struct sockaddr_storage ss;
	uint8_t a[ADDR_KEY_LEN], b[ADDR_KEY_LEN];
	socklen_t len;

	/* IPv4: the address, whatever the port. */
	len = mk4(&ss, "192.0.2.7");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, a), 0);
	((struct sockaddr_in *)&ss)->sin_port = htons(1);
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, b), 0);
	ck_assert_mem_eq(a, b, ADDR_KEY_LEN);
	len = mk4(&ss, "192.0.2.8");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, b), 0);
	ck_assert_int_ne(memcmp(a, b, ADDR_KEY_LEN), 0);
	/* IPv4-mapped IPv6 is the IPv4 address. */
	len = mk6(&ss, "::ffff:192.0.2.7");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, b), 0);
	ck_assert_mem_eq(a, b, ADDR_KEY_LEN);
	/* IPv6: the /64. */
	len = mk6(&ss, "2001:db8:0:1::1");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, a), 0);
	len = mk6(&ss, "2001:db8:0:1:ffff:ffff:ffff:fffe");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, b), 0);
	ck_assert_mem_eq(a, b, ADDR_KEY_LEN);
	len = mk6(&ss, "2001:db8:0:2::1");
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len, b), 0);
	ck_assert_int_ne(memcmp(a, b, ADDR_KEY_LEN), 0);
	/* Short, other families, NULL: refused, key zeroed. */
	memset(a, 0xaa, sizeof(a));
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, len - 1, a), VEIL_E_INVALID);
	ck_assert_uint_eq(a[0], 0);
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(addr_key((struct sockaddr *)&ss, sizeof(ss), a), VEIL_E_INVALID);
	ck_assert_int_eq(addr_key(NULL, 0, a), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_addr_take_release)
{
	static const uint8_t k16[16] = { 1, 2, 3 };
	static struct addr_entry *held[3000];
	struct addr_table t;
	struct addr_entry *e, *e2;
	uint8_t key[ADDR_KEY_LEN];
	int i;

	ck_assert_int_eq(addr_table_init(&t, k16), 0);
	memset(key, 0, sizeof(key));
	key[0] = 4;
	key[1] = 10;
	ck_assert_int_eq(addr_take(&t, key, 2, &e), 0);
	ck_assert_int_eq(addr_take(&t, key, 2, &e2), 0);
	ck_assert_ptr_eq(e, e2);
	ck_assert_uint_eq(e->ae_count, 2);
	ck_assert_int_eq(addr_take(&t, key, 2, &e2), VEIL_E_LIMIT);
	ck_assert_ptr_null(e2);
	ck_assert_uint_eq(t.at_count, 1);
	addr_release(&t, e);
	ck_assert_int_eq(addr_take(&t, key, 2, &e2), 0);
	addr_release(&t, e2);
	addr_release(&t, e);
	ck_assert_uint_eq(t.at_count, 0);
	addr_release(&t, NULL);
	/* Many addresses: the table grows, each entry goes with its last connection. */
	for (i = 0; i < 3000; i++) {
		veil_put32(key + 1, (uint32_t)i);
		ck_assert_int_eq(addr_take(&t, key, 1, &held[i]), 0);
	}
	ck_assert_uint_eq(t.at_count, 3000);
	ck_assert_uint_ge(t.at_nbuckets, 2048);
	for (i = 0; i < 3000; i++) {
		veil_put32(key + 1, (uint32_t)i);
		ck_assert_int_eq(addr_take(&t, key, 1, &e), VEIL_E_LIMIT);
	}
	for (i = 0; i < 3000; i++)
		addr_release(&t, held[i]);
	ck_assert_uint_eq(t.at_count, 0);
	addr_table_free(&t);
}
END_TEST

/* A client of the relay from a made-up address (a socketpair underneath). */
static struct tc *
tc_new_from(struct relayd *r, const struct sockaddr_storage *ss, socklen_t len, int *rc)
{
	struct tc *t = calloc(1, sizeof(*t));
	int sv[2];

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	t->fd = sv[1];
	*rc = relayd_add_conn(r, sv[0], (const struct sockaddr *)ss, len);
	return t;
}

START_TEST(test_relay_max_per_addr)
{
	struct relayd_config cfg;
	struct relayd *r;
	struct sockaddr_storage ss;
	struct tc *t[4], *other, *v6[3];
	socklen_t len;
	int i, rc;

	relayd_config_default(&cfg);
	cfg.rc_max_frame = MAXF;
	cfg.rc_max_per_addr = 3;
	ck_assert_int_eq(relayd_new(&r, &cfg, 1024), 0);
	len = mk4(&ss, "198.51.100.1");
	for (i = 0; i < 3; i++) {
		t[i] = tc_new_from(r, &ss, len, &rc);
		ck_assert_int_eq(rc, 0);
	}
	/* Joined or not, three are open: the fourth is refused, SERVER_FULL. */
	tc_join(r, t[0], room_a, 0);
	t[3] = tc_new_from(r, &ss, len, &rc);
	ck_assert_int_eq(rc, VEIL_E_LIMIT);
	tc_expect_error(r, t[3], FE_SERVER_FULL);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_refused_addr, 1);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_refused, 0);
	/* Another address is not affected. */
	len = mk4(&ss, "198.51.100.2");
	other = tc_new_from(r, &ss, len, &rc);
	ck_assert_int_eq(rc, 0);
	/* One goes: its place is free again. */
	tc_free(t[1]);
	for (i = 0; i < 20 && relayd_get_stats(r)->rs_conns == 4; i++)
		ck_assert_int_eq(relayd_step(r, 10), 0);
	len = mk4(&ss, "198.51.100.1");
	tc_free(t[3]);
	t[3] = tc_new_from(r, &ss, len, &rc);
	ck_assert_int_eq(rc, 0);
	/* IPv6 by /64: three hosts of one /64 share its three places. */
	for (i = 0; i < 3; i++) {
		len = mk6(&ss, i == 0 ? "2001:db8::1" : i == 1 ? "2001:db8::2" : "2001:db8::3");
		v6[i] = tc_new_from(r, &ss, len, &rc);
		ck_assert_int_eq(rc, 0);
	}
	len = mk6(&ss, "2001:db8::4");
	tc_free(other);
	other = tc_new_from(r, &ss, len, &rc);
	ck_assert_int_eq(rc, VEIL_E_LIMIT);
	/* Unknown addresses (NULL) are never counted. */
	tc_free(other);
	other = tc_new_from(r, NULL, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(relayd_get_stats(r)->rs_refused_addr, 2);
	tc_free(other);
	for (i = 0; i < 4; i++)
		if (i != 1)
			tc_free(t[i]);
	for (i = 0; i < 3; i++)
		tc_free(v6[i]);
	relayd_free(r);
}
END_TEST

START_TEST(test_relay_parse_listen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ck_assert_int_eq(relayd_parse_listen("127.0.0.1:7700", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(relayd_parse_listen("[::1]:0", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(relayd_parse_listen("0.0.0.0:65535", &ss, &len), 0);
	ck_assert_int_eq(relayd_parse_listen("127.0.0.1:65536", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("127.0.0.1:", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("127.0.0.1:-1", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("127.0.0.1", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("::1:7700", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("[::1]7700", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("[127.0.0.1]:7700", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen("localhost:7700", &ss, &len), VEIL_E_INVALID);
	ck_assert_int_eq(relayd_parse_listen(":7700", &ss, &len), VEIL_E_INVALID);
}
END_TEST

/* ---- ev.c ----------------------------------------------------------- */

struct evseen {
	int	calls;
	int	last_fd;
	int	last_mask;
	int	del_fd;		/* removed by the first callback */
};

static void
ev_cb(struct ev_loop *el, int fd, void *data, int mask)
{
	struct evseen *s = data;

	s->calls++;
	s->last_fd = fd;
	s->last_mask = mask;
	if (s->del_fd >= 0) {
		ev_del(el, s->del_fd);
		s->del_fd = -1;
	}
}

START_TEST(test_ev_range_and_dispatch)
{
	struct ev_loop *el = ev_create(64);
	struct evseen s = { 0, -1, 0, -1 };
	int p1[2], p2[2];

	ck_assert_ptr_nonnull(el);
	ck_assert_ptr_null(ev_create(0));
	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	ck_assert_int_lt(p2[1], 64);
	/* Out of range, empty or unknown masks: refused, never indexed. */
	ck_assert_int_eq(ev_add(el, -1, EV_READ, ev_cb, &s), VEIL_E_INVALID);
	ck_assert_int_eq(ev_add(el, 64, EV_READ, ev_cb, &s), VEIL_E_INVALID);
	ck_assert_int_eq(ev_add(el, 1 << 30, EV_READ, ev_cb, &s), VEIL_E_INVALID);
	ck_assert_int_eq(ev_add(el, p1[0], EV_NONE, ev_cb, &s), VEIL_E_INVALID);
	ck_assert_int_eq(ev_add(el, p1[0], 4, ev_cb, &s), VEIL_E_INVALID);
	ck_assert_int_eq(ev_set_mask(el, 64, EV_READ), VEIL_E_INVALID);
	ck_assert_int_eq(ev_set_mask(el, p1[0], EV_READ), VEIL_E_INVALID);	/* not watched */
	ev_del(el, -5);
	ev_del(el, 1000);

	ck_assert_int_eq(ev_add(el, p1[0], EV_READ, ev_cb, &s), 0);
	ck_assert_int_eq(ev_add(el, p2[0], EV_READ, ev_cb, &s), 0);
	ck_assert_int_eq(ev_poll(el, 0), 0);
	ck_assert_int_eq(write(p1[1], "x", 1), 1);
	ck_assert_int_eq(ev_poll(el, 1000), 1);
	ck_assert_int_eq(s.last_fd, p1[0]);
	ck_assert_int_eq(s.last_mask, EV_READ);
	/* Both ready; the first callback removes the other: it is skipped. */
	ck_assert_int_eq(write(p2[1], "y", 1), 1);
	s.calls = 0;
	s.del_fd = s.last_fd == p1[0] ? p2[0] : p1[0];
	ck_assert_int_eq(ev_poll(el, 1000), 1);
	ck_assert_int_eq(s.calls, 1);
	/* Write interest. */
	ck_assert_int_eq(ev_add(el, p2[1], EV_WRITE, ev_cb, &s), 0);
	ck_assert_int_eq(ev_set_mask(el, p1[0], EV_NONE), 0);
	s.calls = 0;
	ck_assert_int_ge(ev_poll(el, 1000), 1);
	ck_assert_int_eq(s.last_mask & EV_WRITE, EV_WRITE);
	ev_free(el);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}
END_TEST

START_TEST(test_relay_stats_line)
{
	struct relayd *r = mkrelay(16, 16, 0);
	struct tc *a = tc_new(r);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	tc_join(r, a, room_a, 0);
	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	relayd_print_stats(r, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(strstr(text, "relayd: stats: connections=1 accepted=1 "));
	ck_assert_ptr_nonnull(strstr(text, " rooms=1 joins=1 "));
	ck_assert_ptr_nonnull(strstr(text, " slow=0 stalled=0 "));
	ck_assert_ptr_nonnull(strstr(text, " refused_full=0 refused_per_addr=0 "));
	ck_assert_ptr_nonnull(strstr(text, " flow: blocked=0 released=0 paused=0 tls: "
	    "handshakes_ok=0 handshakes_failed=0 ktls_tx=0 ktls_rx=0 closed: "));
	ck_assert_ptr_nonnull(strstr(text, " nomem=0 tls=0\n"));
	/* One line; the room id ('a', then zeros) appears in no form. */
	ck_assert_ptr_eq(strchr(text, '\n'), text + len - 1);
	ck_assert_ptr_null(strstr(text, "61000000"));
	free(text);
	tc_free(a);
	relayd_free(r);
}
END_TEST

Suite *suite_relay_conn(void);

Suite *
suite_relay_conn(void)
{
	Suite *s = suite_create("relay_conn");
	TCase *tc;

	tc = tcase_create("conn_feed");
	tcase_add_test(tc, test_conn_many_per_read);
	tcase_add_test(tc, test_conn_split_every_byte);
	tcase_add_test(tc, test_conn_split_odd_chunks);
	tcase_add_test(tc, test_conn_exact_max);
	tcase_add_test(tc, test_conn_garbage);
	tcase_add_test(tc, test_conn_handler_stops);
	suite_add_tcase(s, tc);

	tc = tcase_create("conn_queue");
	tcase_add_test(tc, test_conn_queue_bound);
	tcase_add_test(tc, test_conn_flush_and_error_keep_sync);
	suite_add_tcase(s, tc);

	tc = tcase_create("relay");
	tcase_add_test(tc, test_relay_join_route_leave);
	tcase_add_test(tc, test_relay_data_before_join);
	tcase_add_test(tc, test_relay_header_before_join);
	tcase_add_test(tc, test_relay_second_join);
	tcase_add_test(tc, test_relay_room_full);
	tcase_add_test(tc, test_relay_oversize_and_garbage);
	tcase_add_test(tc, test_relay_stalled_reader);
	tcase_add_test(tc, test_relay_stalled_reader_never_reads);
	tcase_add_test(tc, test_relay_server_full);
	tcase_add_test(tc, test_relay_parse_listen);
	tcase_add_test(tc, test_relay_stats_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("flow");
	tcase_add_test(tc, test_relay_backpressure);
	tcase_add_test(tc, test_relay_stall_window);
	tcase_add_test(tc, test_relay_no_progress);
	tcase_add_test(tc, test_relay_held_keepalive);
	tcase_add_test(tc, test_relay_random);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("addr");
	tcase_add_test(tc, test_addr_keys);
	tcase_add_test(tc, test_addr_take_release);
	tcase_add_test(tc, test_relay_max_per_addr);
	suite_add_tcase(s, tc);

	tc = tcase_create("ev");
	tcase_add_test(tc, test_ev_range_and_dispatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_conn_oversize_before_allocation);
	tcase_add_test(tc, test_relay_timeouts);
	tcase_add_test(tc, test_relay_trickle);
	suite_add_tcase(s, tc);
	return s;
}
