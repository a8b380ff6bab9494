/* SPDX-License-Identifier: ISC */
/*
 * The relay connection: non-blocking TCP, a reassembly buffer that holds at
 * most one maximal frame, and a bounded output backlog. The address is
 * resolved once, before the sandbox; reconnecting only needs socket+connect.
 */
#include <sys/socket.h>
#include <sys/types.h>

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

static int64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
net_try(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t sl;
	int fd, e = 0, one = 1, pr;

	if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			pr = poll(&pfd, 1, timeout_ms);
		while (pr == -1 && errno == EINTR);
		if (pr == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (pr < 0)
			goto fail;
		sl = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			goto fail;
		if (e != 0) {
			errno = e;
			goto fail;
		}
	}
	/* Small frames, interactive: no Nagle delay. Failing here is harmless. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
rl_connect(struct rl_conn *r, int timeout_ms)
{
	const struct addrinfo *ai;
	int64_t end = net_now_ms() + timeout_ms, left;
	int fd, e = ECONNREFUSED;

	rl_close(r);
	for (ai = r->rl_ai; ai != NULL; ai = ai->ai_next) {
		left = end - net_now_ms();
		if (left <= 0) {
			e = ETIMEDOUT;
			break;
		}
		if ((fd = net_try(ai, (int)left)) != -1) {
			r->rl_fd = fd;
			return 0;
		}
		e = errno;
	}
	errno = e;
	return VEIL_E_SYSTEM;
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

	if (r->rl_fd == -1)
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
	return 0;
}

int
rl_flush(struct rl_conn *r)
{
	ssize_t w;

	if (r->rl_fd == -1)
		return VEIL_E_SYSTEM;
	while (r->rl_outlen > 0) {
		w = write(r->rl_fd, r->rl_out, r->rl_outlen);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return VEIL_E_SYSTEM;
		memmove(r->rl_out, r->rl_out + w, r->rl_outlen - (size_t)w);
		r->rl_outlen -= (size_t)w;
	}
	return 0;
}

int
rl_read(struct rl_conn *r)
{
	size_t ncap;
	ssize_t n;
	uint8_t *p;

	if (r->rl_fd == -1)
		return VEIL_E_SYSTEM;
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
rl_next(struct rl_conn *r, struct frame *f)
{
	const uint8_t *p = r->rl_in + r->rl_used;
	size_t avail = r->rl_inlen - r->rl_used, total;
	int rc;

	memset(f, 0, sizeof(*f));
	if (avail < FRAME_HDR_LEN)
		return 0;
	if ((rc = proto_frame_header(p, avail, FRAME_TO_CLIENT, FRAME_MAX_LIMIT, f)) != 0)
		return rc;
	total = FRAME_HDR_LEN + (size_t)f->fr_len;
	if (avail < total)
		return 0;
	if ((rc = proto_frame_decode(p, total, FRAME_TO_CLIENT, FRAME_MAX_LIMIT, f)) != 0)
		return rc;
	/* Consumed now; the bytes stay in place until the next rl_read. */
	r->rl_used += total;
	return 1;
}

void
rl_close(struct rl_conn *r)
{
	if (r->rl_fd != -1)
		close(r->rl_fd);
	r->rl_fd = -1;
	r->rl_inlen = 0;
	r->rl_used = 0;
	r->rl_outlen = 0;
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
