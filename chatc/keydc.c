/* SPDX-License-Identifier: ISC */
/*
 * The keyd IPC client, asynchronous: requests are encoded into one output
 * buffer and written as the socket takes them, so several are in flight at
 * once; keyd answers a connection's requests strictly in order (PROTOCOL.md
 * 3.3), so a FIFO of contexts (struct kx) says what each answer is for.
 * chatc never holds a secret: every blob it sends keyd is opaque, and every
 * answer is checked to be the one its request calls for (OpenSSH's
 * mm_request_receive_expect). The loop never waits on keyd: only the
 * start-up HELLO does (keydc_call).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

/* The largest request chatc sends: SEAL with a full batch and a full body. */
#define KEYDC_REQ_MAX	(IPC_LEN_HDR + 64 + IPC_BATCH_MAX * 4 + E2E_MAX + 1 + INNER_BODY_MAX)

static void
keydc_reset(struct keydc *k)
{
	k->kc_fd = -1;
	k->kc_mem = 0;
	k->kc_timeout_ms = KEYDC_TIMEOUT_MS;
	k->kc_outlen = 0;
	k->kc_inlen = 0;
	k->kc_used = 0;
	k->kc_qhead = 0;
	k->kc_qlen = 0;
	k->kc_head_at = 0;
}

int
keydc_connect(struct keydc *k, const char *path)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, e;

	keydc_reset(k);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return VEIL_E_SYSTEM;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return VEIL_E_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return VEIL_E_SYSTEM;
	}
	/*
	 * Only our own uid's keyd: whoever listens there gets every line we
	 * type and decides what SECURE says. Under /tmp another user can make
	 * that directory first and listen in it.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
	    clen != sizeof(cred) || cred.uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return VEIL_E_SYSTEM;
	}
	keydc_attach(k, fd);
	return 0;
}

void
keydc_attach(struct keydc *k, int fd)
{
	int fl;

	keydc_reset(k);
	k->kc_fd = fd;
	k->kc_mem = fd == -1;
	/* Before the sandbox: fcntl is not allowed after it. */
	if (fd != -1 && (fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The one answer code each request allows (besides IPC_ANS_ERROR). */
static uint8_t
keydc_answer_code(uint8_t req)
{
	return req == REQ_HS_START || req == REQ_HS_ACCEPT ? ANS_HS : (uint8_t)(req | 0x80);
}

/* Requests whose answer repeats the request's session handle. */
static int
keydc_names_handle(uint8_t req)
{
	return req == REQ_HS_NEXT || req == REQ_OPEN || req == REQ_CLOSE;
}

int
keydc_push(struct keydc *k, const struct ipc_msg *req, const struct kx *x, int64_t now)
{
	struct vbuf b;
	struct kx *q;
	size_t ncap;
	uint8_t *n;
	int r;

	if (!k->kc_mem && k->kc_fd == -1)
		return VEIL_E_SYSTEM;
	if (k->kc_qlen >= KEYDC_QMAX)
		return VEIL_E_LIMIT;
	if (k->kc_outcap - k->kc_outlen < KEYDC_REQ_MAX) {
		if (KEYDC_OUT_MAX - k->kc_outlen < KEYDC_REQ_MAX)
			return VEIL_E_LIMIT;
		ncap = k->kc_outcap == 0 ? 65536 : k->kc_outcap;
		while (ncap - k->kc_outlen < KEYDC_REQ_MAX)
			ncap *= 2;
		/* Grown by hand, not realloc: the old buffer may hold plaintext. */
		if ((n = malloc(ncap)) == NULL)
			return VEIL_E_ALLOC;
		if (k->kc_outlen > 0)
			memcpy(n, k->kc_out, k->kc_outlen);
		if (k->kc_out != NULL) {
			OPENSSL_cleanse(k->kc_out, k->kc_outcap);
			free(k->kc_out);
		}
		k->kc_out = n;
		k->kc_outcap = ncap;
	}
	vbuf_writer(&b, k->kc_out + k->kc_outlen, k->kc_outcap - k->kc_outlen);
	if ((r = proto_ipc_encode(&b, req)) != 0)
		return r;
	k->kc_outlen += b.vb_len;
	if (k->kc_qlen == 0)
		k->kc_head_at = now;
	q = &k->kc_q[(k->kc_qhead + k->kc_qlen) % KEYDC_QMAX];
	*q = *x;
	q->kx_req = req->im_code;
	/*
	 * The session a request is about (VERIFY's answer does not repeat it;
	 * a SEAL for one session, a PING or PONG, names it in its item).
	 */
	if (keydc_names_handle(req->im_code) || req->im_code == REQ_VERIFY)
		q->kx_handle = req->im_handle;
	else if (req->im_code == REQ_SEAL && req->im_count == 1)
		q->kx_handle = req->im_handles[0];
	else
		q->kx_handle = 0;
	k->kc_qlen++;
	return 0;
}

size_t
keydc_pending(const struct keydc *k)
{
	return k->kc_qlen;
}

int
keydc_busy(const struct keydc *k)
{
	return k->kc_qlen >= KEYDC_SOFT;
}

/* Drops n bytes from the front of the output, wiping what they held. */
static void
keydc_drop_out(struct keydc *k, size_t n)
{
	memmove(k->kc_out, k->kc_out + n, k->kc_outlen - n);
	/* Message text and room keys passed through here: do not leave them behind. */
	OPENSSL_cleanse(k->kc_out + k->kc_outlen - n, n);
	k->kc_outlen -= n;
}

int
keydc_flush(struct keydc *k)
{
	ssize_t w;

	if (k->kc_mem)
		return 0;
	if (k->kc_fd == -1)
		return VEIL_E_SYSTEM;
	while (k->kc_outlen > 0) {
		w = write(k->kc_fd, k->kc_out, k->kc_outlen);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return VEIL_E_SYSTEM;
		keydc_drop_out(k, (size_t)w);
	}
	return 0;
}

/* Forgets the answer handed out last (wiping it: it may hold plaintext). */
static void
keydc_drop_in(struct keydc *k)
{
	size_t n = k->kc_used;

	if (n == 0)
		return;
	memmove(k->kc_in, k->kc_in + n, k->kc_inlen - n);
	OPENSSL_cleanse(k->kc_in + k->kc_inlen - n, n);
	k->kc_inlen -= n;
	k->kc_used = 0;
	memset(&k->kc_ans, 0, sizeof(k->kc_ans));
}

int
keydc_read(struct keydc *k)
{
	ssize_t r;

	if (k->kc_mem)
		return 0;
	if (k->kc_fd == -1)
		return VEIL_E_SYSTEM;
	keydc_drop_in(k);
	if (k->kc_inlen == sizeof(k->kc_in))
		return 0;	/* a whole answer of IPC_MAX waits to be taken */
	r = read(k->kc_fd, k->kc_in + k->kc_inlen, sizeof(k->kc_in) - k->kc_inlen);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0)
		return VEIL_E_SYSTEM;
	k->kc_inlen += (size_t)r;
	return 0;
}

int
keydc_feed(struct keydc *k, const uint8_t *p, size_t n)
{
	keydc_drop_in(k);
	if (sizeof(k->kc_in) - k->kc_inlen < n)
		return VEIL_E_OVERSIZE;
	memcpy(k->kc_in + k->kc_inlen, p, n);
	k->kc_inlen += n;
	return 0;
}

void
keydc_took(struct keydc *k, size_t n)
{
	if (n > k->kc_outlen)
		n = k->kc_outlen;
	if (n > 0)
		keydc_drop_out(k, n);
}

int
keydc_next(struct keydc *k, struct kx *x, const struct ipc_msg **ans, int64_t now)
{
	const struct kx *q;
	size_t len;
	int r;

	*ans = NULL;
	keydc_drop_in(k);
	if (k->kc_inlen < IPC_LEN_HDR)
		return 0;
	if ((r = proto_ipc_length(k->kc_in, k->kc_inlen, &len)) != 0)
		return r;
	if (k->kc_inlen - IPC_LEN_HDR < len)
		return 0;
	/* keyd speaks only when asked. */
	if (k->kc_qlen == 0)
		return VEIL_E_STATE;
	if ((r = proto_ipc_decode(k->kc_in + IPC_LEN_HDR, len, 1, &k->kc_ans)) != 0)
		return r;
	k->kc_used = IPC_LEN_HDR + len;
	q = &k->kc_q[k->kc_qhead];
	if (k->kc_ans.im_code != keydc_answer_code(q->kx_req) &&
	    k->kc_ans.im_code != IPC_ANS_ERROR)
		return VEIL_E_TYPE;
	/* An answer about another session than the one asked about is keyd confused. */
	if (k->kc_ans.im_code != IPC_ANS_ERROR && keydc_names_handle(q->kx_req) &&
	    k->kc_ans.im_handle != q->kx_handle)
		return VEIL_E_INVALID;
	*x = *q;
	memset(&k->kc_q[k->kc_qhead], 0, sizeof(k->kc_q[k->kc_qhead]));
	k->kc_qhead = (k->kc_qhead + 1) % KEYDC_QMAX;
	k->kc_qlen--;
	/* The next one's wait starts now: keyd may take a while over one request. */
	k->kc_head_at = now;
	*ans = &k->kc_ans;
	return 1;
}

int64_t
keydc_deadline(const struct keydc *k)
{
	if (k->kc_qlen == 0)
		return INT64_MAX;
	return k->kc_head_at + k->kc_timeout_ms;
}

int
keydc_call(struct keydc *k, const struct ipc_msg *req, const struct ipc_msg **ans)
{
	struct pollfd pfd;
	struct kx x;
	int64_t now;
	int r, pr, tmo;

	*ans = NULL;
	memset(&x, 0, sizeof(x));
	x.kx_kind = KX_HELLO;
	now = chatc_now_ms();
	if (k->kc_qlen != 0 || k->kc_mem)
		return VEIL_E_STATE;
	if ((r = keydc_push(k, req, &x, now)) != 0)
		return r;
	for (;;) {
		if ((r = keydc_flush(k)) != 0)
			goto fail;
		if ((r = keydc_next(k, &x, ans, now)) != 0) {
			if (r == 1)
				return 0;
			goto fail;
		}
		now = chatc_now_ms();
		if (now >= keydc_deadline(k)) {
			r = VEIL_E_SYSTEM;
			goto fail;
		}
		tmo = (int)(keydc_deadline(k) - now);
		pfd.fd = k->kc_fd;
		pfd.events = POLLIN | (k->kc_outlen > 0 ? POLLOUT : 0);
		pfd.revents = 0;
		pr = poll(&pfd, 1, tmo);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = VEIL_E_SYSTEM;
			goto fail;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
		    (r = keydc_read(k)) != 0)
			goto fail;
	}
 fail:
	/* Whatever was asked is void: the connection is not usable any more. */
	keydc_close(k);
	return r;
}

void
keydc_close(struct keydc *k)
{
	struct kx *q;

	while (k->kc_qlen > 0) {
		q = &k->kc_q[k->kc_qhead];
		if (q->kx_free != NULL && q->kx_data != NULL)
			q->kx_free(q->kx_data);
		memset(q, 0, sizeof(*q));
		k->kc_qhead = (k->kc_qhead + 1) % KEYDC_QMAX;
		k->kc_qlen--;
	}
	if (k->kc_fd != -1)
		close(k->kc_fd);
	k->kc_fd = -1;
	k->kc_mem = 0;
	if (k->kc_out != NULL) {
		OPENSSL_cleanse(k->kc_out, k->kc_outcap);
		free(k->kc_out);
	}
	k->kc_out = NULL;
	k->kc_outcap = k->kc_outlen = 0;
	OPENSSL_cleanse(k->kc_in, k->kc_inlen);
	k->kc_inlen = k->kc_used = 0;
}
