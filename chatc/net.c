/* SPDX-License-Identifier: ISC */
/*
 * The relay connection: non-blocking TCP (connect included: the loop never
 * waits on it), TLS over it unless --plaintext (the handshake non-blocking
 * too; tls.c decides whether the key is the relay's), a reassembly buffer,
 * and a bounded output backlog whose byte counters tell which queued frames
 * have left. The address is resolved once, before the sandbox;
 * reconnecting only needs socket+connect.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "err.h"

void
rl_init(struct rl_conn *r)
{
	memset(r, 0, sizeof(*r));
	r->rl_fd = -1;
}

int
rl_resolve(struct rl_conn *r, const char *host, const char *port, char *err,
    size_t errlen)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &r->rl_ai)) != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		r->rl_ai = NULL;
		return VEIL_E_SYSTEM;
	}
	return 0;
}

/*
 * Starts a non-blocking connect to ai: 0 connected, 1 under way, -1 failed
 * (errno). *fdp gets the socket unless it failed.
 */
static int
net_start(const struct addrinfo *ai, int *fdp)
{
	int fd, e, one = 1;

	*fdp = -1;
	if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Small frames, interactive: no Nagle delay. Failing here is harmless. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*fdp = fd;
		return 0;
	}
	if (errno == EINPROGRESS) {
		*fdp = fd;
		return 1;
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Tries rl_try and the addresses after it until one connects or is under way. */
static int
net_try_from(struct rl_conn *r)
{
	int e = ECONNREFUSED, rc, fd;

	for (; r->rl_try != NULL; r->rl_try = r->rl_try->ai_next) {
		if ((rc = net_start(r->rl_try, &fd)) >= 0) {
			r->rl_fd = fd;
			r->rl_open = rc == 0;
			return rc;
		}
		e = errno;
	}
	errno = e;
	return VEIL_E_SYSTEM;
}

int
rl_connect_start(struct rl_conn *r)
{
	rl_close(r);
	r->rl_try = r->rl_ai;
	if (r->rl_try == NULL) {
		errno = EDESTADDRREQ;
		return VEIL_E_SYSTEM;
	}
	return net_try_from(r);
}

int
rl_connect_done(struct rl_conn *r)
{
	socklen_t sl = sizeof(int);
	int e = 0;

	if (r->rl_fd == -1 || r->rl_try == NULL) {
		errno = ENOTCONN;
		return VEIL_E_SYSTEM;
	}
	if (getsockopt(r->rl_fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
		e = errno;
	if (e == 0) {
		r->rl_open = 1;
		return 0;
	}
	close(r->rl_fd);
	r->rl_fd = -1;
	r->rl_try = r->rl_try->ai_next;
	if (net_try_from(r) == VEIL_E_SYSTEM) {
		/* The first address's error says most: a refusal, a timeout. */
		errno = e;
		return VEIL_E_SYSTEM;
	}
	return r->rl_open ? 0 : 1;
}

void
rl_attach(struct rl_conn *r, int fd)
{
	rl_close(r);
	r->rl_fd = fd;
	r->rl_open = 1;
}

int
rl_send(struct rl_conn *r, uint8_t type, uint16_t dst, const uint8_t *payload,
    size_t len)
{
	struct frame f;
	struct vbuf b;
	size_t need = FRAME_HDR_LEN + len, ncap;
	uint8_t *n;
	int rc;

	if (!r->rl_open)
		return VEIL_E_STATE;
	if (len > FRAME_MAX_LIMIT)
		return VEIL_E_OVERSIZE;
	if (RL_OUT_MAX - r->rl_outlen < need)
		return VEIL_E_LIMIT;
	if (r->rl_outcap - r->rl_outlen < need) {
		ncap = r->rl_outcap == 0 ? 65536 : r->rl_outcap;
		while (ncap - r->rl_outlen < need)
			ncap *= 2;
		if ((n = realloc(r->rl_out, ncap)) == NULL)
			return VEIL_E_ALLOC;
		r->rl_out = n;
		r->rl_outcap = ncap;
	}
	memset(&f, 0, sizeof(f));
	f.fr_type = type;
	f.fr_src = MEMBER_NONE;
	f.fr_dst = dst;
	f.fr_len = (uint32_t)len;
	f.fr_payload = payload;
	vbuf_writer(&b, r->rl_out + r->rl_outlen, r->rl_outcap - r->rl_outlen);
	if ((rc = proto_frame_encode(&b, FRAME_TO_RELAY, &f)) != 0)
		return rc;
	r->rl_outlen += b.vb_len;
	r->rl_queued += b.vb_len;
	return 0;
}

int
rl_tls_start(struct rl_conn *r, struct ssl_ctx_st *ctx, const char *host)
{
	char name[CHATC_HOST_MAX + 1];
	uint8_t a[16];
	SSL *ssl;
	int ok;

	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, r->rl_fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return VEIL_E_ALLOC;
	}
	SSL_set_connect_state(ssl);
	/* An address is checked as one (iPAddress), a name as a name, with SNI. */
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
	else
		/* A copy: the macro casts its argument to (void *); libssl copies it too. */
		ok = (size_t)snprintf(name, sizeof(name), "%s", host) < sizeof(name) &&
		    SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, host) == 1;
	if (!ok) {
		SSL_free(ssl);
		ERR_clear_error();
		return VEIL_E_ALLOC;
	}
	r->rl_ssl = ssl;
	r->rl_tls_up = 0;
	r->rl_tls_want = RL_WANT_WRITE;
	return 0;
}

/* The reason of libssl's first queued error, for the user; the queue is cleared. */
static void
rl_tls_why(char *why, size_t whylen)
{
	const char *s = ERR_reason_error_string(ERR_peek_error());

	snprintf(why, whylen, "%s", s != NULL ? s : "TLS failure");
	ERR_clear_error();
}

int
rl_tls_step(struct rl_conn *r, char *why, size_t whylen)
{
	unsigned long e;
	int rc, err;

	if (whylen > 0)
		why[0] = '\0';
	ERR_clear_error();
	if ((rc = SSL_do_handshake(r->rl_ssl)) == 1) {
		r->rl_tls_up = 1;
		r->rl_tls_want = 0;
		return 0;
	}
	err = SSL_get_error(r->rl_ssl, rc);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		r->rl_tls_want = err == SSL_ERROR_WANT_READ ? RL_WANT_READ : RL_WANT_WRITE;
		return r->rl_tls_want;
	}
	if (err == SSL_ERROR_SSL) {
		/* relayd over a cap: internal_error in the clear (PROTOCOL.md 1.0). */
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_INTERNAL_ERROR) {
			snprintf(why, whylen, "%s", proto_frame_strerror(FE_SERVER_FULL));
			ERR_clear_error();
			return VEIL_E_LIMIT;
		}
		rl_tls_why(why, whylen);
		return VEIL_E_AUTH;
	}
	snprintf(why, whylen, "%s", err == SSL_ERROR_ZERO_RETURN || errno == 0 ?
	    "connection closed during the TLS handshake" : strerror(errno));
	ERR_clear_error();
	return VEIL_E_SYSTEM;
}

int
rl_pending(const struct rl_conn *r)
{
	return r->rl_ssl != NULL && r->rl_tls_up && SSL_has_pending(r->rl_ssl);
}

/* rl_flush through TLS: a record per call, until the socket is full. */
static int
rl_flush_tls(struct rl_conn *r)
{
	size_t put;
	int rc, err;

	while (r->rl_outlen > 0) {
		ERR_clear_error();
		if ((rc = SSL_write_ex(r->rl_ssl, r->rl_out, r->rl_outlen, &put)) == 1) {
			rl_wrote(r, put);
			continue;
		}
		err = SSL_get_error(r->rl_ssl, rc);
		ERR_clear_error();
		/* Retried with the same bytes first (and maybe more), wherever they moved. */
		if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
			return 0;
		return VEIL_E_SYSTEM;
	}
	return 0;
}

int
rl_flush(struct rl_conn *r)
{
	ssize_t w;

	if (!r->rl_open)
		return VEIL_E_SYSTEM;
	if (r->rl_fd == -1)
		return 0;	/* memory only: the caller takes rl_out */
	if (r->rl_ssl != NULL)
		return r->rl_tls_up ? rl_flush_tls(r) : 0;
	while (r->rl_outlen > 0) {
		w = write(r->rl_fd, r->rl_out, r->rl_outlen);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return VEIL_E_SYSTEM;
		rl_wrote(r, (size_t)w);
	}
	return 0;
}

void
rl_wrote(struct rl_conn *r, size_t n)
{
	if (n > r->rl_outlen)
		n = r->rl_outlen;
	memmove(r->rl_out, r->rl_out + n, r->rl_outlen - n);
	r->rl_outlen -= n;
	r->rl_written += n;
}

/* Room for at least RL_READ_CHUNK more input bytes, within RL_IN_MAX. */
static int
rl_in_room(struct rl_conn *r)
{
	size_t ncap;
	uint8_t *p;

	if (r->rl_used > 0 && (r->rl_used == r->rl_inlen ||
	    r->rl_incap - r->rl_inlen < RL_READ_CHUNK)) {
		memmove(r->rl_in, r->rl_in + r->rl_used, r->rl_inlen - r->rl_used);
		r->rl_inlen -= r->rl_used;
		r->rl_used = 0;
	}
	if (r->rl_incap - r->rl_inlen < RL_READ_CHUNK && r->rl_incap < RL_IN_MAX) {
		ncap = r->rl_incap == 0 ? 2 * RL_READ_CHUNK : 2 * r->rl_incap;
		if (ncap > RL_IN_MAX)
			ncap = RL_IN_MAX;
		if ((p = realloc(r->rl_in, ncap)) == NULL)
			return VEIL_E_ALLOC;
		r->rl_in = p;
		r->rl_incap = ncap;
	}
	return 0;
}

int
rl_feed(struct rl_conn *r, const uint8_t *p, size_t n)
{
	int rc;

	while (n > 0) {
		size_t k;

		if ((rc = rl_in_room(r)) != 0)
			return rc;
		if (r->rl_inlen == r->rl_incap)
			return VEIL_E_LIMIT;
		k = r->rl_incap - r->rl_inlen < n ? r->rl_incap - r->rl_inlen : n;
		memcpy(r->rl_in + r->rl_inlen, p, k);
		r->rl_inlen += k;
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * rl_read through TLS: every record the socket holds, as far as the
 * backlog takes them (what stays inside libssl is rl_pending's).
 */
static int
rl_read_tls(struct rl_conn *r)
{
	size_t got;
	int rc, err;

	r->rl_tls_want = 0;
	for (;;) {
		if ((rc = rl_in_room(r)) != 0)
			return rc;
		if (r->rl_inlen == r->rl_incap)
			return 0;
		ERR_clear_error();
		rc = SSL_read_ex(r->rl_ssl, r->rl_in + r->rl_inlen, r->rl_incap - r->rl_inlen,
		    &got);
		if (rc == 1) {
			r->rl_inlen += got;
			continue;
		}
		err = SSL_get_error(r->rl_ssl, rc);
		ERR_clear_error();
		if (err == SSL_ERROR_WANT_READ)
			return 0;
		if (err == SSL_ERROR_WANT_WRITE) {
			/* A KeyUpdate answer waits for room in the socket. */
			r->rl_tls_want = RL_WANT_WRITE;
			return 0;
		}
		return VEIL_E_SYSTEM;	/* close_notify, EOF, or a TLS failure */
	}
}

int
rl_read(struct rl_conn *r)
{
	ssize_t n;
	int rc;

	if (r->rl_fd == -1)
		return VEIL_E_SYSTEM;
	if (r->rl_ssl != NULL)
		return r->rl_tls_up ? rl_read_tls(r) : 0;
	if ((rc = rl_in_room(r)) != 0)
		return rc;
	if (r->rl_inlen == r->rl_incap)
		return 0;	/* our backlog is full: the relay's bound decides */
	n = read(r->rl_fd, r->rl_in + r->rl_inlen, r->rl_incap - r->rl_inlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return VEIL_E_SYSTEM;
	r->rl_inlen += (size_t)n;
	return 0;
}

int
rl_peek(const struct rl_conn *r, struct frame *f)
{
	size_t avail = r->rl_inlen - r->rl_used, total;
	const uint8_t *p;
	int rc;

	memset(f, 0, sizeof(*f));
	if (r->rl_in == NULL || avail < FRAME_HDR_LEN)
		return 0;
	p = r->rl_in + r->rl_used;
	if ((rc = proto_frame_header(p, avail, FRAME_TO_CLIENT, FRAME_MAX_LIMIT, f)) != 0)
		return rc;
	total = FRAME_HDR_LEN + (size_t)f->fr_len;
	if (avail < total)
		return 0;
	if ((rc = proto_frame_decode(p, total, FRAME_TO_CLIENT, FRAME_MAX_LIMIT, f)) != 0)
		return rc;
	return 1;
}

int
rl_next(struct rl_conn *r, struct frame *f)
{
	int rc;

	if ((rc = rl_peek(r, f)) == 1)
		/* Taken now; the bytes stay in place until the next read. */
		r->rl_used += FRAME_HDR_LEN + (size_t)f->fr_len;
	return rc;
}

void
rl_close(struct rl_conn *r)
{
	if (r->rl_ssl != NULL) {
		SSL_free(r->rl_ssl);
		ERR_clear_error();
	}
	r->rl_ssl = NULL;
	r->rl_tls_up = 0;
	r->rl_tls_want = 0;
	if (r->rl_fd != -1)
		close(r->rl_fd);
	r->rl_fd = -1;
	r->rl_open = 0;
	r->rl_try = NULL;
	r->rl_inlen = 0;
	r->rl_used = 0;
	r->rl_outlen = 0;
	r->rl_queued = 0;
	r->rl_written = 0;
}

void
rl_free(struct rl_conn *r)
{
	rl_close(r);
	free(r->rl_out);
	r->rl_out = NULL;
	r->rl_outcap = 0;
	free(r->rl_in);
	r->rl_in = NULL;
	r->rl_incap = 0;
	if (r->rl_ai != NULL)
		freeaddrinfo(r->rl_ai);
	r->rl_ai = NULL;
}
