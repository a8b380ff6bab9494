/* SPDX-License-Identifier: ISC */
/*
 * fwd: the smallest C program that does relayd's job, as a reference point
 * for `make bench` ("the machine's limit for this job"). It speaks the relay
 * frames of PROTOCOL.md section 1 (JOIN, WELCOME, JOINED, LEFT, DATA unicast
 * and broadcast) over one level-triggered epoll loop and nothing more: no
 * limits besides a bounded write queue, no sandbox, no keepalives.
 *
 * What makes it cheap, and what relayd is measured against:
 *  - one shared read buffer; a connection owns heap memory only while it
 *    holds a partial frame or unsent output (output buffers come from a small
 *    pool and go back to it once drained), so an idle member costs its struct
 *    and its room slot;
 *  - epoll interest is changed only when a socket starts or stops needing
 *    EPOLLOUT, not on every write;
 *  - output produced while handling one batch of events is appended to each
 *    destination's queue and flushed with one write() per destination at the
 *    end of the batch, not one write() per frame.
 *
 * fwd [--listen 127.0.0.1:PORT]   (PORT 0 = ephemeral; prints the one chosen)
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "frame.h"

#define FWD_RDBUF	((size_t)256 * 1024)
#define FWD_QMAX	((size_t)8 * 1024 * 1024)	/* a slower reader is dropped */
#define FWD_ROOMS	4096			/* hash buckets (power of two) */
#define FWD_EVENTS	256
#define FWD_MAXFRAME	FRAME_MAX_LIMIT
#define FWD_OUTBUF	((size_t)256 * 1024)	/* pooled: one turn of fan-out fits */
#define FWD_POOL	64

struct fwd_room;

struct fwd_conn {
	int		 c_fd;
	uint16_t	 c_id;		/* member id, 0 until joined */
	uint8_t		 c_dirty;	/* on the flush list */
	uint8_t		 c_dead;
	uint8_t		 c_wantout;	/* EPOLLOUT registered */
	struct fwd_room	*c_room;
	uint8_t		*c_in;		/* partial frame carried over, or NULL */
	size_t		 c_inlen;
	uint8_t		*c_out;		/* unsent output, or NULL */
	size_t		 c_outlen;
	size_t		 c_outoff;
	size_t		 c_outcap;
	struct fwd_conn	*c_next_dirty;
};

struct fwd_room {
	uint8_t		 r_id[ROOM_ID_LEN];
	struct fwd_room	*r_next;
	uint16_t	 r_n;
	uint16_t	 r_next_id;
	struct fwd_conn	*r_members[ROOM_SIZE_MAX];
};

static int		 fwd_ep = -1;
static struct fwd_room	*fwd_rooms[FWD_ROOMS];
static struct fwd_conn	*fwd_dirty;
static uint8_t		 fwd_rd[FWD_RDBUF + FWD_MAXFRAME + FRAME_HDR_LEN];
static uint8_t		*fwd_pool[FWD_POOL];
static int		 fwd_npool;

static uint8_t *
fwd_buf_get(void)
{
	return fwd_npool > 0 ? fwd_pool[--fwd_npool] : malloc(FWD_OUTBUF);
}

static void
fwd_buf_put(uint8_t *b, size_t cap)
{
	if (b != NULL && cap == FWD_OUTBUF && fwd_npool < FWD_POOL)
		fwd_pool[fwd_npool++] = b;
	else
		free(b);
}

static unsigned
fwd_room_hash(const uint8_t id[ROOM_ID_LEN])
{
	uint32_t h;

	memcpy(&h, id, sizeof(h));	/* room ids are digests: any 4 bytes do */
	return h & (FWD_ROOMS - 1);
}

/* Appends n bytes to c's output queue and puts c on the flush list. */
/* Puts c on the list handled after this batch (flush, or close if dead). */
static void
fwd_mark(struct fwd_conn *c)
{
	if (!c->c_dirty) {
		c->c_dirty = 1;
		c->c_next_dirty = fwd_dirty;
		fwd_dirty = c;
	}
}

static void
fwd_queue(struct fwd_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *out = c->c_out, *nb;
	size_t cap;

	if (c->c_dead || n == 0)
		return;
	if (out == NULL) {
		/* Empty queue: a pooled buffer (or a larger one for a huge first write). */
		for (cap = FWD_OUTBUF; cap < n; cap *= 2)
			;
		out = cap == FWD_OUTBUF ? fwd_buf_get() : malloc(cap);
		if (out == NULL)
			goto dead;
		c->c_out = out;
		c->c_outcap = cap;
		c->c_outlen = c->c_outoff = 0;
	} else if (c->c_outlen + n > c->c_outcap) {
		if (c->c_outlen - c->c_outoff + n > FWD_QMAX)
			goto dead;	/* this reader is too slow */
		if (c->c_outoff > 0) {
			memmove(out, out + c->c_outoff, c->c_outlen - c->c_outoff);
			c->c_outlen -= c->c_outoff;
			c->c_outoff = 0;
		}
		for (cap = c->c_outcap; cap < c->c_outlen + n; cap *= 2)
			;
		if (cap != c->c_outcap) {
			if ((nb = realloc(out, cap)) == NULL)
				goto dead;
			c->c_out = out = nb;
			c->c_outcap = cap;
		}
	}
	memcpy(out + c->c_outlen, p, n);
	c->c_outlen += n;
	fwd_mark(c);
	return;
dead:
	c->c_dead = 1;
	fwd_mark(c);
}

static void
fwd_queue_hdr(struct fwd_conn *c, uint8_t type, uint16_t src, uint16_t dst,
    const uint8_t *payload, uint32_t len)
{
	uint8_t h[FRAME_HDR_LEN];

	h[0] = PROTO_VERSION;
	h[1] = type;
	veil_put16(h + 2, src);
	veil_put16(h + 4, dst);
	veil_put32(h + 6, len);
	fwd_queue(c, h, sizeof(h));
	if (len > 0)
		fwd_queue(c, payload, len);
}

static void
fwd_leave(struct fwd_conn *c)
{
	struct fwd_room *r = c->c_room, **rp;
	uint16_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->r_n; i++)
		if (r->r_members[i] == c)
			break;
	if (i < r->r_n) {
		r->r_members[i] = r->r_members[--r->r_n];
		r->r_members[r->r_n] = NULL;
	}
	c->c_room = NULL;
	for (i = 0; i < r->r_n; i++)
		fwd_queue_hdr(r->r_members[i], FT_LEFT, c->c_id, MEMBER_NONE, NULL, 0);
	if (r->r_n == 0) {
		for (rp = &fwd_rooms[fwd_room_hash(r->r_id)]; *rp != r; rp = &(*rp)->r_next)
			;
		*rp = r->r_next;
		free(r);
	}
}

static void
fwd_join(struct fwd_conn *c, const uint8_t *id)
{
	struct fwd_room *r;
	unsigned h = fwd_room_hash(id);
	uint8_t w[2 + 2 * ROOM_SIZE_MAX];
	uint16_t i;

	for (r = fwd_rooms[h]; r != NULL; r = r->r_next)
		if (memcmp(r->r_id, id, ROOM_ID_LEN) == 0)
			break;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			c->c_dead = 1;
			return;
		}
		memcpy(r->r_id, id, ROOM_ID_LEN);
		r->r_next = fwd_rooms[h];
		fwd_rooms[h] = r;
	}
	if (r->r_n == ROOM_SIZE_MAX || r->r_next_id == MEMBER_MAX) {
		uint8_t code = FE_ROOM_FULL;

		fwd_queue_hdr(c, FT_ERROR, MEMBER_NONE, MEMBER_NONE, &code, 1);
		c->c_dead = 1;
		return;
	}
	c->c_id = ++r->r_next_id;
	c->c_room = r;
	veil_put16(w, r->r_n);
	for (i = 0; i < r->r_n; i++) {
		veil_put16(w + 2 + 2 * (size_t)i, r->r_members[i]->c_id);
		fwd_queue_hdr(r->r_members[i], FT_JOINED, c->c_id, MEMBER_NONE, NULL, 0);
	}
	fwd_queue_hdr(c, FT_WELCOME, MEMBER_NONE, c->c_id, w, 2u + 2u * r->r_n);
	r->r_members[r->r_n++] = c;
}

/* Handles one whole frame from c (p: header + payload, already bounds-checked). */
static void
fwd_frame(struct fwd_conn *c, uint8_t *p, uint32_t len)
{
	struct fwd_room *r;
	uint16_t dst, i;

	switch (p[1]) {
	case FT_JOIN:
		if (c->c_room != NULL || len != ROOM_ID_LEN) {
			c->c_dead = 1;
			return;
		}
		fwd_join(c, p + FRAME_HDR_LEN);
		return;
	case FT_DATA:
		if ((r = c->c_room) == NULL) {
			c->c_dead = 1;
			return;
		}
		veil_put16(p + 2, c->c_id);	/* the relay sets src */
		dst = veil_get16(p + 4);
		for (i = 0; i < r->r_n; i++) {
			struct fwd_conn *m = r->r_members[i];

			if (m == c || (dst != MEMBER_BCAST && m->c_id != dst))
				continue;
			fwd_queue(m, p, FRAME_HDR_LEN + (size_t)len);
		}
		return;
	case FT_PING:
		fwd_queue_hdr(c, FT_PONG, MEMBER_NONE, MEMBER_NONE, NULL, 0);
		return;
	default:
		c->c_dead = 1;
	}
}

static void
fwd_read(struct fwd_conn *c)
{
	size_t have = 0, off = 0, need;
	ssize_t n;
	uint32_t len;

	if (c->c_inlen > 0) {
		memcpy(fwd_rd, c->c_in, c->c_inlen);
		have = c->c_inlen;
		free(c->c_in);
		c->c_in = NULL;
		c->c_inlen = 0;
	}
	n = read(c->c_fd, fwd_rd + have, FWD_RDBUF);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		c->c_dead = 1;
		return;
	}
	if (n > 0)
		have += (size_t)n;
	while (!c->c_dead && have - off >= FRAME_HDR_LEN) {
		uint8_t *p = fwd_rd + off;

		len = veil_get32(p + 6);
		if (p[0] != PROTO_VERSION || len > FWD_MAXFRAME) {
			c->c_dead = 1;
			return;
		}
		need = FRAME_HDR_LEN + (size_t)len;
		if (have - off < need)
			break;
		fwd_frame(c, p, len);
		off += need;
	}
	if (!c->c_dead && off < have) {
		if ((c->c_in = malloc(have - off)) == NULL) {
			c->c_dead = 1;
			return;
		}
		memcpy(c->c_in, fwd_rd + off, have - off);
		c->c_inlen = have - off;
	}
}

static void
fwd_close(struct fwd_conn *c)
{
	fwd_leave(c);
	close(c->c_fd);
	free(c->c_in);
	fwd_buf_put(c->c_out, c->c_outcap);
	free(c);
}

/* Writes what c has queued; keeps EPOLLOUT armed only while output remains. */
static void
fwd_flush(struct fwd_conn *c)
{
	struct epoll_event ev;
	ssize_t n;
	int want_out;

	while (!c->c_dead && c->c_outoff < c->c_outlen) {
		n = write(c->c_fd, c->c_out + c->c_outoff, c->c_outlen - c->c_outoff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->c_dead = 1;
			break;
		}
		c->c_outoff += (size_t)n;
	}
	if (c->c_dead)
		return;
	want_out = c->c_outoff < c->c_outlen;
	if (!want_out) {
		/* Idle members hold no output memory. */
		fwd_buf_put(c->c_out, c->c_outcap);
		c->c_out = NULL;
		c->c_outlen = c->c_outoff = c->c_outcap = 0;
	}
	if (want_out == c->c_wantout)
		return;
	c->c_wantout = (uint8_t)want_out;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
	ev.data.ptr = c;
	if (epoll_ctl(fwd_ep, EPOLL_CTL_MOD, c->c_fd, &ev) != 0)
		c->c_dead = 1;
}

static void
fwd_accept(int lfd)
{
	struct epoll_event ev;
	struct fwd_conn *c;
	int fd, one = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->c_fd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(fwd_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
		}
	}
}

static int
fwd_listen(const char *spec)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char host[64];
	const char *colon;
	long port;
	int fd, one = 1;

	if ((colon = strrchr(spec, ':')) == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
		return -1;	/* loopback only */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 4096) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	fprintf(stderr, "fwd: listening on %s:%u\n", host, ntohs(sa.sin_port));
	return fd;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[FWD_EVENTS], ev;
	const char *spec = "127.0.0.1:0";
	int lfd, i, n;

	if (argc == 3 && strcmp(argv[1], "--listen") == 0)
		spec = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: fwd [--listen 127.0.0.1:PORT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if ((lfd = fwd_listen(spec)) < 0) {
		fprintf(stderr, "fwd: cannot listen on %s\n", spec);
		return 1;
	}
	if ((fwd_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(fwd_ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		return 1;
	for (;;) {
		n = epoll_wait(fwd_ep, evs, FWD_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct fwd_conn *c = evs[i].data.ptr;

			if (c == NULL) {
				fwd_accept(lfd);
				continue;
			}
			if (c->c_dead)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				fwd_read(c);
			if (c->c_dead || (evs[i].events & EPOLLOUT))
				fwd_mark(c);
		}
		/* One write per destination for everything this batch produced. */
		while (fwd_dirty != NULL) {
			struct fwd_conn *c = fwd_dirty;

			fwd_dirty = c->c_next_dirty;
			c->c_dirty = 0;
			if (!c->c_dead)
				fwd_flush(c);
			if (c->c_dead)
				fwd_close(c);	/* may queue LEFT: loop picks it up */
		}
	}
}
