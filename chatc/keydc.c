/* SPDX-License-Identifier: ISC */
/*
 * The keyd IPC client: one request, one answer, in order, over the Unix
 * socket. chatc never holds a secret: every blob it sends keyd is opaque and
 * every answer is checked to be the one the request calls for (OpenSSH's
 * mm_request_receive_expect).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "err.h"

int
keydc_connect(struct keydc *k, const char *path)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, e;

	k->kc_fd = -1;
	k->kc_timeout_ms = KEYDC_TIMEOUT_MS;
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
	k->kc_fd = fd;
	return 0;
}

/*
 * keyd answers at once; one that says nothing for kc_timeout_ms is as
 * good as gone (killed by its own sandbox, stopped), and chatc must not
 * hang on it with the user's terminal.
 */
static int
keydc_read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
	struct pollfd pfd;
	ssize_t r;
	int pr;

	while (n > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		pr = poll(&pfd, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return VEIL_E_SYSTEM;
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VEIL_E_SYSTEM;
		p += r;
		n -= (size_t)r;
	}
	return 0;
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
	return req == REQ_HS_NEXT || req == REQ_OPEN || req == REQ_REKEY || req == REQ_CLOSE;
}

int
keydc_call(struct keydc *k, const struct ipc_msg *req, const struct ipc_msg **ans)
{
	struct vbuf b;
	size_t len;
	int r;

	*ans = NULL;
	if (k->kc_fd == -1)
		return VEIL_E_SYSTEM;
	vbuf_writer(&b, k->kc_tx, sizeof(k->kc_tx));
	if ((r = proto_ipc_encode(&b, req)) != 0)
		return r;
	r = chatc_write_all(k->kc_fd, k->kc_tx, b.vb_len);
	/* Message text passed through this buffer: do not leave it behind. */
	memset(k->kc_tx, 0, b.vb_len);
	if (r != 0)
		return VEIL_E_SYSTEM;
	if ((r = keydc_read_full(k->kc_fd, k->kc_rx, IPC_LEN_HDR, k->kc_timeout_ms)) != 0)
		return r;
	if ((r = proto_ipc_length(k->kc_rx, IPC_LEN_HDR, &len)) != 0)
		return r;
	if ((r = keydc_read_full(k->kc_fd, k->kc_rx + IPC_LEN_HDR, len, k->kc_timeout_ms)) != 0)
		return r;
	if ((r = proto_ipc_decode(k->kc_rx + IPC_LEN_HDR, len, 1, &k->kc_ans)) != 0)
		return r;
	if (k->kc_ans.im_code != keydc_answer_code(req->im_code) &&
	    k->kc_ans.im_code != IPC_ANS_ERROR)
		return VEIL_E_TYPE;
	/* An answer about another session than the one asked about is keyd confused. */
	if (k->kc_ans.im_code != IPC_ANS_ERROR && keydc_names_handle(req->im_code) &&
	    k->kc_ans.im_handle != req->im_handle)
		return VEIL_E_INVALID;
	*ans = &k->kc_ans;
	return 0;
}

void
keydc_close(struct keydc *k)
{
	if (k->kc_fd != -1)
		close(k->kc_fd);
	k->kc_fd = -1;
}
