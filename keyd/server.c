/* SPDX-License-Identifier: ISC */
/*
 * keyd's socket and event loop: one non-blocking Unix stream socket, ppoll,
 * at most KEYD_MAX_CLIENTS connections. Each client has an input buffer that
 * first holds the 4-byte length, then exactly the announced body (checked
 * against IPC_MAX before anything is allocated), and at most one pending
 * answer: while an answer is queued nothing more is read from that client,
 * so its output queue is bounded by one answer (KEYD_ANS_MAX) and a client
 * that does not read its answers stalls only itself.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

#define KEYD_BURST	16	/* requests served per client per loop turn */

struct client {
	struct keyd_conn	*cl_conn;
	size_t			 cl_hdrlen;
	uint8_t			*cl_body;	/* exactly cl_bodylen bytes once the length is known */
	size_t			 cl_bodylen;
	size_t			 cl_bodygot;
	uint8_t			*cl_out;	/* the unsent rest of one answer */
	size_t			 cl_outlen;
	size_t			 cl_outoff;
	int			 cl_fd;
	uint8_t			 cl_hdr[IPC_LEN_HDR];
};

static volatile sig_atomic_t keyd_stop;
static sigset_t keyd_waitmask;		/* the mask ppoll waits with */

static void
keyd_on_signal(int sig)
{
	(void)sig;
	keyd_stop = 1;
}

int
keyd_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return VEIL_E_SYSTEM;
	sa.sa_handler = keyd_on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &block, &keyd_waitmask) == -1)
		return VEIL_E_SYSTEM;
	/* Blocked everywhere except inside ppoll: no lost wake-up. */
	sigdelset(&keyd_waitmask, SIGTERM);
	sigdelset(&keyd_waitmask, SIGINT);
	return 0;
}

int
keyd_listen(const char *path, int *fd)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int s;

	*fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "keyd: socket path %s is too long (at most %zu bytes)\n",
		    path, sizeof(sun.sun_path) - 1);
		return VEIL_E_SYSTEM;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	/* Someone answering there already? Then we must not take it over. */
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "keyd: socket: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		(void)close(s);
		fprintf(stderr, "keyd: keyd is already running on %s\n", path);
		return VEIL_E_STATE;
	}
	(void)close(s);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "keyd: %s exists and is not a socket; refusing to "
			    "replace it\n", path);
			return VEIL_E_SYSTEM;
		}
		/* A socket nobody answers on: left by a keyd that died. */
		if (unlink(path) == -1) {
			fprintf(stderr, "keyd: cannot remove stale socket %s: %s\n", path,
			    strerror(errno));
			return VEIL_E_SYSTEM;
		}
		fprintf(stderr, "keyd: replaced stale socket %s\n", path);
	} else if (errno != ENOENT) {
		fprintf(stderr, "keyd: %s: %s\n", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "keyd: socket: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	/* The socket is created 0600: no window in which others may connect. */
	old = umask(0177);
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		fprintf(stderr, "keyd: bind %s: %s\n", path, strerror(errno));
		(void)close(s);
		return VEIL_E_SYSTEM;
	}
	umask(old);
	if (chmod(path, 0600) == -1 || listen(s, SOMAXCONN) == -1) {
		fprintf(stderr, "keyd: listen %s: %s\n", path, strerror(errno));
		(void)close(s);
		(void)unlink(path);
		return VEIL_E_SYSTEM;
	}
	*fd = s;
	return 0;
}

static void
client_close(struct client *cl)
{
	if (cl->cl_fd < 0)
		return;
	(void)close(cl->cl_fd);
	keyd_conn_free(cl->cl_conn);	/* every session of this client is wiped */
	if (cl->cl_body != NULL) {
		vc_wipe(cl->cl_body, cl->cl_bodylen);
		free(cl->cl_body);
	}
	if (cl->cl_out != NULL) {
		vc_wipe(cl->cl_out, cl->cl_outlen);
		free(cl->cl_out);
	}
	memset(cl, 0, sizeof(*cl));
	cl->cl_fd = -1;
}

/* Writes what it can; 0, or -1 when the client is gone. */
static int
client_flush(struct client *cl)
{
	ssize_t w;

	while (cl->cl_outoff < cl->cl_outlen) {
		w = write(cl->cl_fd, cl->cl_out + cl->cl_outoff, cl->cl_outlen - cl->cl_outoff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		cl->cl_outoff += (size_t)w;
	}
	vc_wipe(cl->cl_out, cl->cl_outlen);
	free(cl->cl_out);
	cl->cl_out = NULL;
	cl->cl_outlen = cl->cl_outoff = 0;
	return 0;
}

/* Sends an answer, queueing whatever the socket does not take now. */
static int
client_answer(struct client *cl, const uint8_t *p, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = write(cl->cl_fd, p + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	if (off == n)
		return 0;
	if ((cl->cl_out = malloc(n - off)) == NULL)
		return -1;
	memcpy(cl->cl_out, p + off, n - off);
	cl->cl_outlen = n - off;
	cl->cl_outoff = 0;
	return 0;
}

/*
 * Reads and serves requests. Returns 0 to keep the client, -1 to close it
 * (gone, malformed, or out of memory).
 */
static int
client_read(struct keyd_ctx *kc, struct client *cl, uint8_t *ans)
{
	struct vbuf out;
	size_t len;
	ssize_t r;
	int served = 0, d;

	while (cl->cl_out == NULL && served < KEYD_BURST) {
		if (cl->cl_hdrlen < IPC_LEN_HDR) {
			r = read(cl->cl_fd, cl->cl_hdr + cl->cl_hdrlen,
			    IPC_LEN_HDR - cl->cl_hdrlen);
		} else {
			r = read(cl->cl_fd, cl->cl_body + cl->cl_bodygot,
			    cl->cl_bodylen - cl->cl_bodygot);
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return -1;
		if (cl->cl_hdrlen < IPC_LEN_HDR) {
			cl->cl_hdrlen += (size_t)r;
			if (cl->cl_hdrlen < IPC_LEN_HDR)
				continue;
			/* Length checked against IPC_MAX before any allocation. */
			if (proto_ipc_length(cl->cl_hdr, IPC_LEN_HDR, &len) != 0)
				return -1;
			if ((cl->cl_body = malloc(len)) == NULL)
				return -1;
			cl->cl_bodylen = len;
			cl->cl_bodygot = 0;
			continue;
		}
		cl->cl_bodygot += (size_t)r;
		if (cl->cl_bodygot < cl->cl_bodylen)
			continue;
		vbuf_writer(&out, ans, KEYD_ANS_MAX);
		d = keyd_dispatch(kc, cl->cl_conn, cl->cl_body, cl->cl_bodylen, &out);
		vc_wipe(cl->cl_body, cl->cl_bodylen);
		free(cl->cl_body);
		cl->cl_body = NULL;
		cl->cl_bodylen = cl->cl_bodygot = cl->cl_hdrlen = 0;
		if (d != 0)
			return -1;	/* malformed or out of order: no answer */
		r = client_answer(cl, ans, out.vb_len);
		vc_wipe(ans, out.vb_len);
		if (r != 0)
			return -1;
		served++;
	}
	return 0;
}

static void
keyd_accept(int lfd, struct client *cls, size_t *nclients)
{
	struct ucred cred;
	socklen_t clen;
	size_t i;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fprintf(stderr, "keyd: accept: %s\n", strerror(errno));
			return;
		}
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
		    clen != sizeof(cred) || cred.uid != geteuid()) {
			/* Another user's process: closed without a word. */
			fprintf(stderr, "keyd: refused a connection from uid %ld\n",
			    clen == sizeof(cred) ? (long)cred.uid : -1L);
			(void)close(fd);
			continue;
		}
		if (*nclients >= KEYD_MAX_CLIENTS) {
			fprintf(stderr, "keyd: %d clients already; closed a new one\n",
			    KEYD_MAX_CLIENTS);
			(void)close(fd);
			continue;
		}
		for (i = 0; i < KEYD_MAX_CLIENTS; i++)
			if (cls[i].cl_fd < 0)
				break;
		memset(&cls[i], 0, sizeof(cls[i]));
		if ((cls[i].cl_conn = keyd_conn_new()) == NULL) {
			(void)close(fd);
			cls[i].cl_fd = -1;
			continue;
		}
		cls[i].cl_fd = fd;
		(*nclients)++;
	}
}

int
keyd_serve(struct keyd_ctx *kc, int lfd)
{
	struct client cls[KEYD_MAX_CLIENTS];
	struct pollfd pfd[1 + KEYD_MAX_CLIENTS];
	int idx[1 + KEYD_MAX_CLIENTS];
	size_t i, nclients = 0;
	nfds_t n;
	uint8_t *ans;
	int rc = 0, ready;

	if ((ans = malloc(KEYD_ANS_MAX)) == NULL)
		return VEIL_E_ALLOC;
	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		memset(&cls[i], 0, sizeof(cls[i]));
		cls[i].cl_fd = -1;
	}
	while (!keyd_stop) {
		n = 0;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
			if (cls[i].cl_fd < 0)
				continue;
			pfd[n].fd = cls[i].cl_fd;
			pfd[n].events = cls[i].cl_out != NULL ? POLLOUT : POLLIN;
			idx[n++] = (int)i;
		}
		ready = ppoll(pfd, n, NULL, &keyd_waitmask);
		if (ready == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "keyd: poll: %s\n", strerror(errno));
			rc = VEIL_E_SYSTEM;
			break;
		}
		for (i = 1; i < n; i++) {
			struct client *cl = &cls[idx[i]];
			int bad = 0;

			if (pfd[i].revents == 0)
				continue;
			if ((pfd[i].revents & POLLOUT) != 0 && client_flush(cl) != 0)
				bad = 1;
			if (!bad && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
			    cl->cl_out == NULL && client_read(kc, cl, ans) != 0)
				bad = 1;
			if (!bad && (pfd[i].revents & (POLLERR | POLLNVAL)) != 0)
				bad = 1;
			if (bad) {
				client_close(cl);
				nclients--;
			}
		}
		if ((pfd[0].revents & POLLIN) != 0)
			keyd_accept(lfd, cls, &nclients);
	}
	for (i = 0; i < KEYD_MAX_CLIENTS; i++)
		client_close(&cls[i]);
	vc_wipe(ans, KEYD_ANS_MAX);
	free(ans);
	return rc;
}
