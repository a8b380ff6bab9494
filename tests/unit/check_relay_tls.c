/* SPDX-License-Identifier: ISC */
/*
 * relayd over TLS (relayd/tls.c and the TLS paths of relay.c and conn.c),
 * driven through socketpairs with a libssl client in the test: the
 * handshake and what is refused before it, frames both ways (records that
 * split frames, frames that fill several records), a KeyUpdate, a reader
 * dropped in the middle of a TLS write, the key file and certificate
 * checks. The relay's own loop is turned by relayd_step().
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "err.h"
#include "frame.h"
#include "relay.h"
#include "relayfp.h"
#include "tls.h"

#define MAXF	FRAME_MAX_DEFAULT

static EVP_PKEY *test_key;	/* one P-256 key for the whole suite */

static void
tls_setup(void)
{
	/* libssl writes with write(): a closed peer must not end the test. */
	signal(SIGPIPE, SIG_IGN);
	if (test_key == NULL)
		ck_assert_ptr_nonnull(test_key = EVP_EC_gen("P-256"));
}

struct fx {
	struct rtls	*t;
	struct relayd	*r;
};

static void
fx_init(struct fx *x, uint32_t max_clients, uint32_t idle_ms, size_t out_max)
{
	struct relayd_config cfg;

	tls_setup();
	ck_assert_int_eq(rtls_new_pkey(&x->t, test_key), 0);
	relayd_config_default(&cfg);
	cfg.rc_max_clients = max_clients;
	cfg.rc_idle_ms = idle_ms;
	cfg.rc_linger_ms = 2000;
	cfg.rc_tls = x->t;
	if (out_max != 0) {
		cfg.rc_out_max = out_max;
		cfg.rc_out_soft = out_max / 2;
		cfg.rc_stall_ms = 50;
	}
	ck_assert_int_eq(relayd_new(&x->r, &cfg, 1024), 0);
}

static void
fx_free(struct fx *x)
{
	relayd_free(x->r);
	rtls_free(x->t);
}

/* A test client: its end of the socketpair and its SSL. */
struct cl {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	uint8_t		 in[4 * (FRAME_HDR_LEN + MAXF)];
	size_t		 inlen;
	int		 closed;	/* EOF or TLS error seen */
};

static SSL_CTX *
client_ctx(int max_version, const char *alpn)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	unsigned char proto[32];
	size_t n = strlen(alpn);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
	if (n > 0) {
		ck_assert_uint_lt(n, sizeof(proto));
		proto[0] = (unsigned char)n;
		memcpy(proto + 1, alpn, n);
		ck_assert_int_eq(SSL_CTX_set_alpn_protos(ctx, proto, (unsigned int)n + 1), 0);
	}
	return ctx;
}

/* A client connected to the relay; no handshake yet. */
static struct cl *
cl_new_opt(struct fx *x, int max_version, const char *alpn, int sndbuf)
{
	struct cl *c = calloc(1, sizeof(*c));
	int sv[2];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	if (sndbuf > 0) {
		ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf)), 0);
		ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf,
		    sizeof(sndbuf)), 0);
	}
	c->fd = sv[1];
	c->ctx = client_ctx(max_version, alpn);
	ck_assert_ptr_nonnull(c->ssl = SSL_new(c->ctx));
	ck_assert_int_eq(SSL_set_fd(c->ssl, c->fd), 1);
	SSL_set_connect_state(c->ssl);
	ck_assert_int_eq(relayd_add_conn(x->r, sv[0], NULL, 0), 0);
	return c;
}

static void
cl_free(struct cl *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
	ERR_clear_error();
}

/* Turns both sides until the client's handshake ends: 1 done, 0 failed. */
static int
cl_handshake(struct fx *x, struct cl *c)
{
	int i, rc, e;

	for (i = 0; i < 200; i++) {
		ERR_clear_error();
		rc = SSL_do_handshake(c->ssl);
		if (rc == 1)
			return 1;
		e = SSL_get_error(c->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return 0;
		ck_assert_int_eq(relayd_step(x->r, 5), 0);
	}
	ck_abort_msg("handshake never ended");
	return 0;
}

static struct cl *
cl_connect(struct fx *x)
{
	struct cl *c = cl_new_opt(x, TLS1_3_VERSION, RTLS_ALPN, 0);

	ck_assert_int_eq(cl_handshake(x, c), 1);
	return c;
}

static void
cl_write(struct fx *x, struct cl *c, const uint8_t *p, size_t n)
{
	size_t put;
	int i, rc;

	for (i = 0; n > 0 && i < 10000; i++) {
		ERR_clear_error();
		rc = SSL_write_ex(c->ssl, p, n, &put);
		if (rc == 1) {
			p += put;
			n -= put;
			continue;
		}
		ck_assert_int_eq(SSL_get_error(c->ssl, rc), SSL_ERROR_WANT_WRITE);
		ck_assert_int_eq(relayd_step(x->r, 1), 0);
	}
	ck_assert_uint_eq(n, 0);
}

static void
cl_frame(struct fx *x, struct cl *c, uint8_t type, uint16_t dst, const void *payload,
    uint32_t len)
{
	static uint8_t b[FRAME_HDR_LEN + MAXF];

	ck_assert_uint_le(len, MAXF);
	b[0] = PROTO_VERSION;
	b[1] = type;
	veil_put16(b + 2, 0);
	veil_put16(b + 4, dst);
	veil_put32(b + 6, len);
	if (len > 0)
		memcpy(b + FRAME_HDR_LEN, payload, len);
	cl_write(x, c, b, FRAME_HDR_LEN + len);
}

/* Reads what the client can get now into c->in (no relay turn). */
static void
cl_pull(struct cl *c)
{
	size_t got;
	int rc, e;

	while (!c->closed && c->inlen < sizeof(c->in)) {
		ERR_clear_error();
		rc = SSL_read_ex(c->ssl, c->in + c->inlen, sizeof(c->in) - c->inlen, &got);
		if (rc == 1) {
			c->inlen += got;
			continue;
		}
		e = SSL_get_error(c->ssl, rc);
		if (e != SSL_ERROR_WANT_READ)
			c->closed = 1;
		break;
	}
}

/*
 * The next frame for the client, turning the relay until it comes: its
 * type, src, dst, payload length; the payload is copied to pl (cap bytes).
 */
static int
cl_recv(struct fx *x, struct cl *c, uint16_t *src, uint16_t *dst, uint8_t *pl, size_t cap,
    uint32_t *len)
{
	uint32_t n;
	int i, type;

	for (i = 0; i < 2000; i++) {
		cl_pull(c);
		if (c->inlen >= FRAME_HDR_LEN) {
			n = veil_get32(c->in + 6);
			if (c->inlen >= FRAME_HDR_LEN + n) {
				type = c->in[1];
				if (src != NULL)
					*src = veil_get16(c->in + 2);
				if (dst != NULL)
					*dst = veil_get16(c->in + 4);
				if (len != NULL)
					*len = n;
				if (pl != NULL) {
					ck_assert_uint_le(n, cap);
					memcpy(pl, c->in + FRAME_HDR_LEN, n);
				}
				memmove(c->in, c->in + FRAME_HDR_LEN + n,
				    c->inlen - FRAME_HDR_LEN - n);
				c->inlen -= FRAME_HDR_LEN + n;
				return type;
			}
		}
		if (c->closed)
			return -1;
		ck_assert_int_eq(relayd_step(x->r, 2), 0);
	}
	ck_abort_msg("no frame");
	return -1;
}

static int
cl_expect(struct fx *x, struct cl *c, int type, uint16_t *src)
{
	uint16_t s, d;
	uint32_t n;
	int t = cl_recv(x, c, &s, &d, NULL, 0, &n);

	ck_assert_int_eq(t, type);
	if (src != NULL)
		*src = s;
	return d;
}

static uint16_t
cl_join(struct fx *x, struct cl *c, uint8_t tag)
{
	uint8_t room[ROOM_ID_LEN];
	uint8_t welcome[2 + 2 * 64];
	uint16_t src, dst;
	uint32_t n;

	memset(room, 0, sizeof(room));
	room[0] = tag;
	cl_frame(x, c, FT_JOIN, 0, room, sizeof(room));
	ck_assert_int_eq(cl_recv(x, c, &src, &dst, welcome, sizeof(welcome), &n), FT_WELCOME);
	return dst;
}

/* Turns the relay until the client's end sees EOF (or n turns pass): 1 if closed. */
static int
cl_closed(struct fx *x, struct cl *c, int turns)
{
	int i;

	for (i = 0; i < turns; i++) {
		cl_pull(c);
		if (c->closed)
			return 1;
		ck_assert_int_eq(relayd_step(x->r, 5), 0);
	}
	return 0;
}

/*
 * For a peer that never ran its handshake: turns the relay until the
 * socket shows the close (or n turns pass). Returns the bytes that came
 * before it, or -1 if it never closed.
 */
static ssize_t
raw_closed(struct fx *x, int fd, int turns)
{
	uint8_t b[4096];
	ssize_t n, total = 0;
	int i;

	for (i = 0; i < turns; i++) {
		while ((n = read(fd, b, sizeof(b))) > 0)
			total += n;
		if (n == 0 || (n == -1 && errno != EAGAIN))
			return total;
		ck_assert_int_eq(relayd_step(x->r, 5), 0);
	}
	return -1;
}

START_TEST(test_tls_join_route_leave)
{
	struct fx x;
	struct cl *a, *b;
	uint8_t pl[64], fpspki[RELAYFP_LEN];
	unsigned char *der = NULL;
	uint16_t ida, idb, src, dst;
	uint32_t n;
	X509 *peer;
	int len;
	const struct relayd_stats *st;

	fx_init(&x, 16, 5000, 0);
	a = cl_connect(&x);
	b = cl_connect(&x);
	/* The relay presents the key whose fingerprint it reports. */
	ck_assert_ptr_nonnull(peer = SSL_get1_peer_certificate(a->ssl));
	ck_assert_int_gt(len = i2d_PUBKEY(X509_get0_pubkey(peer), &der), 0);
	ck_assert_int_eq(proto_relayfp_of_spki(der, (size_t)len, fpspki), 0);
	ck_assert(proto_relayfp_equal(fpspki, x.t->rt_fp));
	OPENSSL_free(der);
	X509_free(peer);
	ck_assert_int_eq(SSL_version(a->ssl), TLS1_3_VERSION);
	ida = cl_join(&x, a, 1);
	idb = cl_join(&x, b, 1);
	ck_assert_int_eq(cl_expect(&x, a, FT_JOINED, &src), MEMBER_NONE);
	ck_assert_uint_eq(src, idb);
	cl_frame(&x, b, FT_DATA, ida, "hello", 5);
	ck_assert_int_eq(cl_recv(&x, a, &src, &dst, pl, sizeof(pl), &n), FT_DATA);
	ck_assert_uint_eq(src, idb);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(pl, "hello", 5);
	cl_frame(&x, a, FT_PING, 0, NULL, 0);
	cl_expect(&x, a, FT_PONG, NULL);
	/* close_notify from b: a hears LEFT. */
	ck_assert_int_le(SSL_shutdown(b->ssl), 1);
	cl_expect(&x, a, FT_LEFT, &src);
	ck_assert_uint_eq(src, idb);
	st = relayd_get_stats(x.r);
	ck_assert_uint_eq(st->rs_tls_ok, 2);
	ck_assert_uint_eq(st->rs_tls_failed, 0);
	ck_assert_uint_eq(st->rs_closed[RELAYD_R_EOF], 1);
	cl_free(a);
	cl_free(b);
	fx_free(&x);
}
END_TEST

START_TEST(test_tls_garbage_and_old_versions)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fx x;
	struct cl *a, *g, *old, *alpn, *noalpn;
	uint16_t src;
	int sv[2];
	const struct relayd_stats *st;

	fx_init(&x, 16, 5000, 0);
	a = cl_connect(&x);
	cl_join(&x, a, 1);
	/* Plaintext, or a relay frame, where a ClientHello belongs: closed, no reply. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(relayd_add_conn(x.r, sv[0], NULL, 0), 0);
	ck_assert_int_eq(write(sv[1], http, sizeof(http) - 1), (ssize_t)sizeof(http) - 1);
	g = calloc(1, sizeof(*g));
	ck_assert_ptr_nonnull(g);
	g->fd = sv[1];
	for (int i = 0; i < 50; i++) {
		uint8_t b[64];
		ssize_t n;

		ck_assert_int_eq(relayd_step(x.r, 2), 0);
		n = read(g->fd, b, sizeof(b));
		if (n >= 0) {
			/* At most an alert record, never a frame. */
			ck_assert(n == 0 || b[0] == 21);
			if (n == 0)
				break;
		}
	}
	close(g->fd);
	free(g);
	/* TLS 1.2 at most: refused (TLS 1.3 only, so no renegotiation either). */
	old = cl_new_opt(&x, TLS1_2_VERSION, RTLS_ALPN, 0);
	ck_assert_int_eq(cl_handshake(&x, old), 0);
	/* ALPN naming only another protocol: refused (RFC 7301). */
	alpn = cl_new_opt(&x, TLS1_3_VERSION, "http/1.1", 0);
	ck_assert_int_eq(cl_handshake(&x, alpn), 0);
	/* No ALPN at all: served. */
	noalpn = cl_new_opt(&x, TLS1_3_VERSION, "", 0);
	ck_assert_int_eq(cl_handshake(&x, noalpn), 1);
	/* The member in its room never noticed. */
	cl_frame(&x, a, FT_PING, 0, NULL, 0);
	cl_expect(&x, a, FT_PONG, &src);
	st = relayd_get_stats(x.r);
	ck_assert_uint_eq(st->rs_tls_ok, 2);
	ck_assert_uint_eq(st->rs_tls_failed, 3);
	ck_assert_uint_eq(st->rs_closed[RELAYD_R_TLS], 3);
	ck_assert_uint_eq(st->rs_conns, 2);
	cl_free(old);
	cl_free(alpn);
	cl_free(noalpn);
	cl_free(a);
	fx_free(&x);
}
END_TEST

START_TEST(test_tls_handshake_timeout)
{
	struct fx x;
	struct cl *slow, *a;
	uint8_t hello[4096];
	ssize_t n;
	int sv[2], i;
	const struct relayd_stats *st;

	fx_init(&x, 16, 200, 0);
	/* The first bytes of a ClientHello, and nothing more: closed at --idle-timeout. */
	slow = cl_new_opt(&x, TLS1_3_VERSION, RTLS_ALPN, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Capture a real ClientHello from a second SSL over a private pair. */
	{
		SSL *h = SSL_new(slow->ctx);

		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(SSL_set_fd(h, sv[0]), 1);
		SSL_set_connect_state(h);
		ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
		ck_assert_int_le(SSL_do_handshake(h), 0);
		ck_assert_int_gt(n = read(sv[1], hello, sizeof(hello)), 20);
		SSL_free(h);
		ERR_clear_error();
	}
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(write(slow->fd, hello, 20), 20);
	/* A connection that never speaks at all costs no SSL object. */
	a = cl_new_opt(&x, TLS1_3_VERSION, RTLS_ALPN, 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(relayd_step(x.r, 5), 0);
	st = relayd_get_stats(x.r);
	ck_assert_uint_eq(st->rs_conns, 2);
	/* Both closed after 200 ms, with not one byte (nothing can carry a frame). */
	ck_assert_int_eq(raw_closed(&x, slow->fd, 200), 0);
	ck_assert_int_eq(raw_closed(&x, a->fd, 200), 0);
	st = relayd_get_stats(x.r);
	ck_assert_uint_eq(st->rs_closed[RELAYD_R_IDLE], 2);
	ck_assert_uint_eq(st->rs_conns, 0);
	ck_assert_uint_eq(st->rs_tls_ok, 0);
	ck_assert_uint_eq(st->rs_out_bufs, 0);
	cl_free(slow);
	cl_free(a);
	fx_free(&x);
}
END_TEST

START_TEST(test_tls_server_full)
{
	struct fx x;
	struct cl *a;
	uint8_t b[64];
	int sv[2];
	ssize_t n;

	fx_init(&x, 1, 5000, 0);
	a = cl_connect(&x);
	/* Over the cap: a fatal internal_error alert in the clear, then the close. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(relayd_add_conn(x.r, sv[0], NULL, 0), VEIL_E_LIMIT);
	n = read(sv[1], b, sizeof(b));
	ck_assert_int_eq(n, RTLS_REFUSAL_LEN);
	ck_assert_mem_eq(b, rtls_refusal, RTLS_REFUSAL_LEN);
	ck_assert_uint_eq(b[0], 21);	/* alert */
	ck_assert_uint_eq(b[5], 2);	/* fatal */
	ck_assert_uint_eq(b[6], 80);	/* internal_error */
	ck_assert_int_eq(read(sv[1], b, sizeof(b)), 0);
	close(sv[1]);
	ck_assert_uint_eq(relayd_get_stats(x.r)->rs_refused, 1);
	cl_free(a);
	fx_free(&x);
}
END_TEST

START_TEST(test_tls_records_and_frames)
{
	static uint8_t big[MAXF], got[MAXF], burst[8 * (FRAME_HDR_LEN + 100)];
	struct fx x;
	struct cl *a, *b;
	uint16_t ida, src;
	uint32_t n;
	size_t off = 0;
	int i, k;

	fx_init(&x, 16, 5000, 0);
	a = cl_connect(&x);
	b = cl_connect(&x);
	ida = cl_join(&x, a, 2);
	cl_join(&x, b, 2);
	cl_expect(&x, a, FT_JOINED, NULL);
	/* Largest frames: each fills more than one record; many in one write. */
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	for (k = 0; k < 6; k++) {
		big[0] = (uint8_t)k;
		cl_frame(&x, b, FT_DATA, ida, big, MAXF);
	}
	for (k = 0; k < 6; k++) {
		ck_assert_int_eq(cl_recv(&x, a, &src, NULL, got, sizeof(got), &n), FT_DATA);
		ck_assert_uint_eq(n, MAXF);
		ck_assert_uint_eq(got[0], k);
		ck_assert_mem_eq(got + 1, big + 1, MAXF - 1);
	}
	/* Many small frames in one record, then a frame cut across two records. */
	for (k = 0; k < 8; k++) {
		burst[off] = PROTO_VERSION;
		burst[off + 1] = FT_DATA;
		veil_put16(burst + off + 2, 0);
		veil_put16(burst + off + 4, MEMBER_BCAST);
		veil_put32(burst + off + 6, 100);
		memset(burst + off + FRAME_HDR_LEN, 'a' + k, 100);
		off += FRAME_HDR_LEN + 100;
	}
	cl_write(&x, b, burst, off);
	cl_write(&x, b, burst, 37);
	cl_write(&x, b, burst + 37, 110 - 37);
	for (k = 0; k < 9; k++) {
		ck_assert_int_eq(cl_recv(&x, a, &src, NULL, got, sizeof(got), &n), FT_DATA);
		ck_assert_uint_eq(n, 100);
		ck_assert_uint_eq(got[0], 'a' + (k % 8));
	}
	/* A KeyUpdate asking for one back: both directions go on. */
	ck_assert_int_eq(SSL_key_update(b->ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	cl_frame(&x, b, FT_DATA, ida, "after", 5);
	ck_assert_int_eq(cl_recv(&x, a, &src, NULL, got, sizeof(got), &n), FT_DATA);
	ck_assert_mem_eq(got, "after", 5);
	cl_frame(&x, b, FT_PING, 0, NULL, 0);
	cl_expect(&x, b, FT_PONG, NULL);
	ck_assert_uint_eq(relayd_get_stats(x.r)->rs_in_bufs, 0);
	cl_free(a);
	cl_free(b);
	fx_free(&x);
}
END_TEST

/*
 * A reader that stops reading while the relay is in the middle of a TLS
 * write (its socket full): when it is dropped, what stays queued must start
 * with the bytes that write holds, or the record stream breaks. It then
 * reads frames whole and in order, then ERROR SLOW.
 */
START_TEST(test_tls_slow_reader_drop)
{
	static uint8_t blob[2000], got[MAXF];
	struct fx x;
	struct cl *a, *s;
	uint16_t ids, src;
	uint32_t n, next = 0;
	int k, type, left = 0;

	fx_init(&x, 16, 5000, 64 * 1024);
	a = cl_connect(&x);
	s = cl_new_opt(&x, TLS1_3_VERSION, RTLS_ALPN, 4096);
	ck_assert_int_eq(cl_handshake(&x, s), 1);
	cl_join(&x, a, 3);
	ids = cl_join(&x, s, 3);
	cl_expect(&x, a, FT_JOINED, NULL);
	memset(blob, 0x33, sizeof(blob));
	for (k = 0; k < 2000 && !left; k++) {
		veil_put32(blob, (uint32_t)k);
		cl_frame(&x, a, FT_DATA, MEMBER_BCAST, blob, sizeof(blob));
		ck_assert_int_eq(relayd_step(x.r, 0), 0);
		cl_pull(a);
		/* a hears LEFT for s once s is dropped. */
		if (a->inlen >= FRAME_HDR_LEN && a->in[1] == FT_LEFT &&
		    veil_get16(a->in + 2) == ids)
			left = 1;
	}
	ck_assert_msg(left, "the stalled reader was never dropped");
	ck_assert_uint_eq(relayd_get_stats(x.r)->rs_closed[RELAYD_R_SLOW] +
	    relayd_get_stats(x.r)->rs_closed[RELAYD_R_STALLED], 1);
	/* Now s reads: whole frames in order, then ERROR SLOW, then the end. */
	for (;;) {
		type = cl_recv(&x, s, &src, NULL, got, sizeof(got), &n);
		ck_assert_int_ne(type, -1);
		if (type == FT_ERROR) {
			ck_assert_uint_eq(n, 1);
			ck_assert_uint_eq(got[0], FE_SLOW);
			break;
		}
		ck_assert_int_eq(type, FT_DATA);
		ck_assert_uint_eq(n, sizeof(blob));
		ck_assert_uint_eq(veil_get32(got), next);
		next++;
	}
	ck_assert_uint_gt(next, 0);
	ck_assert(cl_closed(&x, s, 500));
	cl_free(a);
	cl_free(s);
	fx_free(&x);
}
END_TEST

/* ---- key files and certificates ------------------------------------- */

static char tmpdir[64];

static void
mktmp(void)
{
	strcpy(tmpdir, "/tmp/veil-tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rmtmp(void)
{
	char cmd[128];

	ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir), (int)sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
}

static void
path(char *out, size_t cap, const char *name)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/%s", tmpdir, name), (int)cap);
}

START_TEST(test_tls_gen_key)
{
	uint8_t fp[RELAYFP_LEN], fp2[RELAYFP_LEN], zero[RELAYFP_LEN] = { 0 };
	char k[128];
	struct rtls *t;
	struct stat st;

	tls_setup();
	mktmp();
	path(k, sizeof(k), "key");
	ck_assert_int_eq(rtls_gen_key(k, fp), 0);
	ck_assert_int_eq(stat(k, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert(!proto_relayfp_equal(fp, zero));
	ck_assert_int_eq(rtls_key_fingerprint(k, fp2), 0);
	ck_assert(proto_relayfp_equal(fp, fp2));
	/* Never replaced. */
	ck_assert_int_eq(rtls_gen_key(k, fp2), VEIL_E_SYSTEM);
	ck_assert(proto_relayfp_equal(fp2, zero));
	ck_assert_int_eq(rtls_key_fingerprint(k, fp2), 0);
	ck_assert(proto_relayfp_equal(fp, fp2));
	/* The context from that file carries that fingerprint. */
	ck_assert_int_eq(rtls_new(&t, k, NULL), 0);
	ck_assert(proto_relayfp_equal(t->rt_fp, fp));
	rtls_free(t);
	/* Too open: refused. */
	ck_assert_int_eq(chmod(k, 0640), 0);
	ck_assert_int_eq(rtls_key_fingerprint(k, fp2), VEIL_E_SYSTEM);
	ck_assert_int_eq(rtls_new(&t, k, NULL), VEIL_E_SYSTEM);
	ck_assert_ptr_null(t);
	rmtmp();
}
END_TEST

static void
write_file(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(test_tls_bad_keys)
{
	uint8_t fp[RELAYFP_LEN];
	char k[128], e[128];
	BIO *b;
	FILE *f;

	tls_setup();
	mktmp();
	path(k, sizeof(k), "junk");
	write_file(k, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", 0600);
	ck_assert_int_eq(rtls_key_fingerprint(k, fp), VEIL_E_INVALID);
	path(k, sizeof(k), "empty");
	write_file(k, "", 0600);
	ck_assert_int_eq(rtls_key_fingerprint(k, fp), VEIL_E_INVALID);
	path(k, sizeof(k), "missing");
	ck_assert_int_eq(rtls_key_fingerprint(k, fp), VEIL_E_SYSTEM);
	/* An encrypted key: refused, never a passphrase prompt. */
	path(e, sizeof(e), "enc");
	ck_assert_ptr_nonnull(f = fopen(e, "w"));
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	ck_assert_ptr_nonnull(b = BIO_new_fp(f, BIO_NOCLOSE));
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(b, test_key, EVP_aes_256_cbc(), NULL, 0,
	    NULL, (void *)"pass"), 1);
	BIO_free(b);
	fclose(f);
	ck_assert_int_eq(rtls_key_fingerprint(e, fp), VEIL_E_INVALID);
	/* A directory, a symlink: refused. */
	ck_assert_int_eq(rtls_key_fingerprint(tmpdir, fp), VEIL_E_SYSTEM);
	path(k, sizeof(k), "link");
	ck_assert_int_eq(symlink(e, k), 0);
	ck_assert_int_eq(rtls_key_fingerprint(k, fp), VEIL_E_SYSTEM);
	ERR_clear_error();
	rmtmp();
}
END_TEST

/* A certificate for key, signed by signer (issuer name iss), valid for an hour. */
static X509 *
mkcert(EVP_PKEY *key, EVP_PKEY *signer, const char *cn, const char *iss, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n;

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	n = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	n = X509_NAME_new();
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)iss, -1, -1, 0), 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	X509_NAME_free(n);
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	ck_assert_int_gt(X509_sign(x, signer, EVP_sha256()), 0);
	return x;
}

START_TEST(test_tls_cert_chain)
{
	EVP_PKEY *ca, *other;
	X509 *leaf, *root;
	char k[128], c[128], bad[128];
	struct rtls *t;
	FILE *f;
	BIO *b;

	tls_setup();
	mktmp();
	ck_assert_ptr_nonnull(ca = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(other = EVP_EC_gen("P-256"));
	path(k, sizeof(k), "key");
	ck_assert_ptr_nonnull(f = fopen(k, "w"));
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	ck_assert_ptr_nonnull(b = BIO_new_fp(f, BIO_NOCLOSE));
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, test_key, NULL, NULL, 0, NULL, NULL), 1);
	BIO_free(b);
	fclose(f);
	root = mkcert(ca, ca, "test ca", "test ca", 1);
	leaf = mkcert(test_key, ca, "relay.example", "test ca", 0);
	path(c, sizeof(c), "chain.pem");
	ck_assert_ptr_nonnull(f = fopen(c, "w"));
	ck_assert_int_eq(PEM_write_X509(f, leaf), 1);
	ck_assert_int_eq(PEM_write_X509(f, root), 1);
	fclose(f);
	/* The chain for our key: served, and the fingerprint is the key's. */
	ck_assert_int_eq(rtls_new(&t, k, c), 0);
	{
		uint8_t fp[RELAYFP_LEN];

		ck_assert_int_eq(rtls_key_fingerprint(k, fp), 0);
		ck_assert(proto_relayfp_equal(fp, t->rt_fp));
	}
	rtls_free(t);
	/* A certificate for another key: refused at start-up. */
	X509_free(leaf);
	leaf = mkcert(other, ca, "relay.example", "test ca", 0);
	path(bad, sizeof(bad), "other.pem");
	ck_assert_ptr_nonnull(f = fopen(bad, "w"));
	ck_assert_int_eq(PEM_write_X509(f, leaf), 1);
	fclose(f);
	ck_assert_int_eq(rtls_new(&t, k, bad), VEIL_E_INVALID);
	ck_assert_ptr_null(t);
	/* Not a certificate at all. */
	write_file(bad, "junk\n", 0644);
	ck_assert_int_eq(rtls_new(&t, k, bad), VEIL_E_INVALID);
	X509_free(leaf);
	X509_free(root);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(other);
	ERR_clear_error();
	rmtmp();
}
END_TEST

START_TEST(test_tls_ktls_probe)
{
	int e = rtls_ktls_probe();

	/* Either available (0) or an errno; this CI kernel has no TLS ULP (ENOENT). */
	ck_assert_int_ge(e, 0);
	if (e != 0)
		ck_assert(e == ENOENT || e == ENOTSUP || e == EPERM || e == EOPNOTSUPP);
}
END_TEST

Suite *suite_relay_tls(void);

Suite *
suite_relay_tls(void)
{
	Suite *s = suite_create("relay_tls");
	TCase *tc;

	tc = tcase_create("link");
	tcase_add_test(tc, test_tls_join_route_leave);
	tcase_add_test(tc, test_tls_records_and_frames);
	tcase_add_test(tc, test_tls_slow_reader_drop);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_test(tc, test_tls_garbage_and_old_versions);
	tcase_add_test(tc, test_tls_handshake_timeout);
	tcase_add_test(tc, test_tls_server_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_tls_gen_key);
	tcase_add_test(tc, test_tls_bad_keys);
	tcase_add_test(tc, test_tls_cert_chain);
	tcase_add_test(tc, test_tls_ktls_probe);
	suite_add_tcase(s, tc);
	return s;
}
