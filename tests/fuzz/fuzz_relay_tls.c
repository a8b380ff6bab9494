/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: relayd's TLS-facing code of its own (relay.c's
 * handshake, read and close paths around libssl, conn.c's TLS writes,
 * tls.c's wrappers), the whole relay in-process behind a socketpair, its
 * loop turned by relayd_step. The first byte picks what the peer is:
 *
 *   0  a client sending the input raw from its first byte (mutated
 *      ClientHellos, garbage, a relay frame in the clear);
 *   1  a real libssl client that finishes the handshake, then sends the
 *      input inside TLS (relay frames, split across records as the
 *      control bytes say);
 *   2  the same client, then the input raw on the socket after the
 *      handshake (records that are not records, alerts, ...).
 *
 * Checked: nothing crashes, leaks or trips a sanitizer; the relay never
 * holds more than the one connection, and never writes a byte that is not
 * part of a TLS record (the peer's bytes are parsed as records); once the
 * peer has closed, the relay closes too, with every buffer back.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "err.h"
#include "relay.h"
#include "tls.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rtls *tls;
static SSL_CTX *cctx;

static void
setup(void)
{
	EVP_PKEY *key;

	signal(SIGPIPE, SIG_IGN);
	if ((key = EVP_EC_gen("P-256")) == NULL || rtls_new_pkey(&tls, key) != 0)
		abort();
	EVP_PKEY_free(key);
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_alpn_protos(cctx, (const unsigned char *)"\x06" RTLS_ALPN, 7) != 0)
		abort();
}

/*
 * What the relay wrote: must parse as TLS records (a partial one may wait
 * for more). Keeps the undecided tail in *st.
 */
struct rec_state {
	uint8_t		 rs_hdr[5];
	size_t		 rs_hlen;
	size_t		 rs_left;	/* body bytes still due */
};

static void
check_records(struct rec_state *st, const uint8_t *p, size_t n)
{
	size_t take;

	while (n > 0) {
		if (st->rs_left > 0) {
			take = n < st->rs_left ? n : st->rs_left;
			st->rs_left -= take;
			p += take;
			n -= take;
			continue;
		}
		st->rs_hdr[st->rs_hlen++] = *p++;
		n--;
		if (st->rs_hlen < 5)
			continue;
		/*
		 * An alert sent before any version is agreed carries the
		 * version the peer's ClientHello claimed (libssl echoes it,
		 * 00 00 included); every other record says 3.x.
		 */
		if (st->rs_hdr[0] < 20 || st->rs_hdr[0] > 23 ||
		    (st->rs_hdr[1] != 3 && st->rs_hdr[0] != 21))
			abort();
		st->rs_left = (size_t)st->rs_hdr[3] << 8 | st->rs_hdr[4];
		if (st->rs_left == 0 || st->rs_left > 16384 + 256)
			abort();
		st->rs_hlen = 0;
	}
}

/* Reads (raw) what the relay sent; 1 once the relay has closed. */
static int
drain_raw(int fd, struct rec_state *st)
{
	uint8_t b[16384];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		check_records(st, b, (size_t)n);
	return n == 0 || (n == -1 && errno != EAGAIN);
}

/* Reads through TLS what the relay sent; 1 once it has closed. */
static int
drain_tls(SSL *ssl)
{
	uint8_t b[16384];
	size_t got;
	int rc, e;

	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_read_ex(ssl, b, sizeof(b), &got)) == 1)
			continue;
		e = SSL_get_error(ssl, rc);
		ERR_clear_error();
		return e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
	}
}

static void
turn(struct relayd *r, int n)
{
	while (n-- > 0)
		if (relayd_step(r, 0) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relayd_config cfg;
	struct rec_state st;
	struct relayd *r = NULL;
	SSL *cli = NULL;
	size_t off = 2, chunk, put;
	int sv[2], mode, i, rc, done = 0, closed = 0;
	uint8_t split;

	if (tls == NULL)
		setup();
	if (size < 2)
		return 0;
	mode = data[0] % 3;
	split = data[1];
	memset(&st, 0, sizeof(st));
	relayd_config_default(&cfg);
	cfg.rc_tls = tls;
	cfg.rc_max_clients = 4;
	if (relayd_new(&r, &cfg, 64) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	if (relayd_add_conn(r, sv[0], NULL, 0) != 0)
		abort();
	if (mode != 0) {
		if ((cli = SSL_new(cctx)) == NULL || SSL_set_fd(cli, sv[1]) != 1)
			abort();
		SSL_set_connect_state(cli);
		for (i = 0; i < 64 && !done; i++) {
			ERR_clear_error();
			if ((rc = SSL_do_handshake(cli)) == 1)
				done = 1;
			else if (SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ)
				abort();	/* our own client against our own relay */
			turn(r, 1);
		}
		if (!done)
			abort();
	}
	while (off < size && !closed) {
		chunk = 1 + (split % 64) * 97;
		split = (uint8_t)(split * 73 + 41);
		if (chunk > size - off)
			chunk = size - off;
		if (mode == 1) {
			ERR_clear_error();
			if (SSL_write_ex(cli, data + off, chunk, &put) != 1)
				break;		/* the relay closed on us */
		} else if (write(sv[1], data + off, chunk) < 0)
			break;
		off += chunk;
		turn(r, 2);
		closed = mode == 1 ? drain_tls(cli) : drain_raw(sv[1], &st);
		if (relayd_get_stats(r)->rs_conns > 1)
			abort();
	}
	/* The peer goes: the relay must let go of it and of every buffer. */
	if (cli != NULL)
		(void)SSL_shutdown(cli);
	close(sv[1]);
	turn(r, 4);
	if (relayd_get_stats(r)->rs_conns != 0 || relayd_get_stats(r)->rs_in_bufs != 0 ||
	    relayd_get_stats(r)->rs_out_bufs != 0)
		abort();
	SSL_free(cli);
	relayd_free(r);
	ERR_clear_error();
	return 0;
}
