/* SPDX-License-Identifier: ISC */
/*
 * keyd's socket and event loop: one non-blocking Unix stream socket, ppoll,
 * at most KEYD_MAX_CLIENTS connections. Each client has an input buffer,
 * filled by one read per wake-up: KEYD_IN_BASE bytes, or exactly the size of
 * the request it starts with when that is larger (the announced length is
 * checked against IPC_MAX before anything is allocated, and against
 * KEYD_IN_BASE before HELLO: no request but HELLO is due then, and a HELLO
 * is far smaller). Every whole request it holds is served, up to KEYD_BURST
 * per loop turn, and their answers go out with one write. At most one burst
 * of answers is queued: while it is, nothing more is read or served for that
 * client, so its output queue is bounded by KEYD_OUT_CAP and a client that
 * does not read its answers stalls only itself. Every request is wiped from
 * the buffer once served, every answer once written or queued.
 *
 * Nothing here waits on anything but ppoll (and, once a turn, the fsync of
 * pins written in it, after its answers went out). A request that needs
 * known_peers while another process holds its lock (keyd_dispatch says
 * KEYD_WAIT) stays in its client's buffer, untouched, and that client is
 * neither read nor served until it is tried again KEYD_LOCK_RETRY_MS later,
 * until keyd_dispatch answers it (VEIL_E_BUSY once KEYD_LOCK_WAIT_MS are
 * over). Every other client is served meanwhile.
 *
 * Slots (PROTOCOL.md 3.3): a connection that has not said HELLO within
 * KEYD_HELLO_MS is closed, and at most KEYD_MAX_NOHELLO of them are kept:
 * a new connection beyond that, or one that finds every slot taken, closes
 * the oldest of them. None is closed for a newer one before keyd has polled
 * it once, so a client that sends HELLO right after connecting is served
 * however fast others connect. When all slots belong to clients that said
 * HELLO, a process holding more than KEYD_FAIR_SHARE of them loses its least
 * recently active one to a newcomer from another process; otherwise the
 * newcomer is closed. A client that said HELLO is never closed for being
 * idle: a chatc alone in a room asks for nothing for as long as it likes.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

#define KEYD_BURST	16	/* requests served per client per loop turn */
#define KEYD_IN_BASE	16384	/* a client's input buffer: a burst of usual requests */
#define KEYD_OUT_BATCH	65536	/* answers gathered before they must be written */
#define KEYD_OUT_CAP	(KEYD_OUT_BATCH + KEYD_ANS_MAX)	/* one more answer past it */
#define KEYD_LOCK_RETRY_MS 20	/* a request put off for known_peers is tried again */
#define KEYD_NOTE_MS	10000	/* one stderr line of a kind per this, the rest counted */

struct client {
	struct keyd_conn	*cl_conn;
	uint8_t			*cl_in;		/* received, not yet served; NULL before the first read */
	size_t			 cl_incap;	/* KEYD_IN_BASE, or one checked request's size */
	size_t			 cl_inlen;
	uint8_t			*cl_out;	/* the unsent rest of one burst of answers */
	size_t			 cl_outlen;
	size_t			 cl_outoff;
	int			 cl_fd;
	pid_t			 cl_pid;	/* SO_PEERCRED at accept; 0 when unknown */
	uint64_t		 cl_turn;	/* the loop turn it was accepted in */
	uint64_t		 cl_since;	/* ms: accepted (HELLO deadline, who is oldest) */
	uint64_t		 cl_active;	/* ms: accepted or last request served */
	uint64_t		 cl_retry;	/* ms: the request put off is tried again; 0 none */
};

/* Kinds of operational lines, each limited to one per KEYD_NOTE_MS. */
enum srv_note_kind {
	NOTE_LATE,	/* closed: no HELLO in time */
	NOTE_OLDEST,	/* closed: the oldest without HELLO, for a newer one */
	NOTE_SHARE,	/* closed: a slot of a process over its share, for a newcomer */
	NOTE_FULL,	/* a newcomer closed: every slot taken */
	NOTE_KINDS
};

struct srv_note {
	uint64_t		 nt_last;
	unsigned long		 nt_quiet;	/* lines not shown since nt_last */
	int			 nt_said;
};

struct srv {
	struct client		 sv_cls[KEYD_MAX_CLIENTS];
	size_t			 sv_n;		/* clients */
	uint64_t		 sv_now;	/* ms (CLOCK_MONOTONIC), this turn */
	uint64_t		 sv_turn;
	struct srv_note		 sv_notes[NOTE_KINDS];
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

static uint64_t
srv_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One operational line on stderr. A local process can make keyd close
 * connections as fast as it opens them: one line of each kind per
 * KEYD_NOTE_MS, and the next says how many were not shown.
 */
static void __attribute__((format(printf, 3, 4)))
srv_note(struct srv *sv, enum srv_note_kind kind, const char *fmt, ...)
{
	struct srv_note *nt = &sv->sv_notes[kind];
	char line[256];
	va_list ap;

	if (nt->nt_said && sv->sv_now - nt->nt_last < KEYD_NOTE_MS) {
		nt->nt_quiet++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (nt->nt_quiet > 0)
		fprintf(stderr, "keyd: %s (and %lu more like it since the last such line)\n",
		    line, nt->nt_quiet);
	else
		fprintf(stderr, "keyd: %s\n", line);
	nt->nt_said = 1;
	nt->nt_last = sv->sv_now;
	nt->nt_quiet = 0;
}

static void
client_close(struct srv *sv, struct client *cl)
{
	if (cl->cl_fd < 0)
		return;
	(void)close(cl->cl_fd);
	keyd_conn_free(cl->cl_conn);	/* every session of this client is wiped */
	if (cl->cl_in != NULL) {
		vc_wipe(cl->cl_in, cl->cl_inlen);	/* the rest was wiped when served */
		free(cl->cl_in);
	}
	if (cl->cl_out != NULL) {
		vc_wipe(cl->cl_out, cl->cl_outlen);
		free(cl->cl_out);
	}
	memset(cl, 0, sizeof(*cl));
	cl->cl_fd = -1;
	sv->sv_n--;
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

/* Sends a burst of answers, queueing whatever the socket does not take now. */
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
 * Moves the input buffer to a new one of cap bytes (cap >= cl_inlen),
 * wiping the old one. 0, or -1 when out of memory (the old one is kept).
 */
static int
client_resize(struct client *cl, size_t cap)
{
	uint8_t *p;

	if ((p = malloc(cap)) == NULL)
		return -1;
	if (cl->cl_in != NULL) {
		memcpy(p, cl->cl_in, cl->cl_inlen);
		vc_wipe(cl->cl_in, cl->cl_inlen);
		free(cl->cl_in);
	}
	cl->cl_in = p;
	cl->cl_incap = cap;
	return 0;
}

/*
 * The request starting at off in the input buffer: 1 when it is all there
 * (*len = its body length), 0 when more must be read, -1 when its length
 * prefix is refused (0, or over IPC_MAX).
 */
static int
client_front(const struct client *cl, size_t off, size_t *len)
{
	size_t have = cl->cl_inlen - off;

	if (have < IPC_LEN_HDR)
		return 0;
	if (proto_ipc_length(cl->cl_in + off, IPC_LEN_HDR, len) != 0)
		return -1;
	return have - IPC_LEN_HDR >= *len ? 1 : 0;
}

/*
 * Work without waiting: a whole (or refused) request buffered, no answer
 * queued, none put off for known_peers.
 */
static int
client_ready(const struct client *cl)
{
	size_t len;

	return cl->cl_fd >= 0 && cl->cl_out == NULL && cl->cl_retry == 0 &&
	    client_front(cl, 0, &len) != 0;
}

/*
 * The buffer size the request at the front of the input buffer needs:
 * KEYD_IN_BASE, or its whole size when larger. -1 when its announced length
 * is refused: over IPC_MAX, or before HELLO over KEYD_IN_BASE (only HELLO
 * may come first, and a HELLO is far smaller: no large buffer for a
 * stranger).
 */
static int
client_need(const struct client *cl, size_t *need)
{
	size_t len;

	*need = KEYD_IN_BASE;
	if (cl->cl_inlen < IPC_LEN_HDR)
		return 0;
	if (proto_ipc_length(cl->cl_in, IPC_LEN_HDR, &len) != 0)
		return -1;
	if (IPC_LEN_HDR + len > KEYD_IN_BASE) {
		if (!keyd_conn_hello(cl->cl_conn))
			return -1;
		*need = IPC_LEN_HDR + len;
	}
	return 0;
}

/*
 * One read into the input buffer, which holds no whole request. The buffer is
 * first made large enough for the request it starts with, whose announced
 * length is checked (client_need) before anything is allocated, and again
 * once the read brought it. Returns 1 when bytes came, 0 when there were
 * none (EAGAIN), -1 to close the client (gone, a refused length, or out of
 * memory).
 */
static int
client_fill(struct client *cl)
{
	size_t need;
	ssize_t r;

	if (client_need(cl, &need) != 0)
		return -1;
	if (cl->cl_incap < need && client_resize(cl, need) != 0)
		return -1;
	/* Not whole, so cl_inlen < need <= cl_incap: there is room. */
	for (;;) {
		r = read(cl->cl_fd, cl->cl_in + cl->cl_inlen, cl->cl_incap - cl->cl_inlen);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return -1;
		cl->cl_inlen += (size_t)r;
		return client_need(cl, &need) != 0 ? -1 : 1;
	}
}

/*
 * Serves a client that is readable, has a whole request buffered, or has
 * one put off whose time to try again has come: one read when none is
 * buffered, then up to KEYD_BURST whole requests (each wiped from the buffer
 * once served), whose answers go out in one write. A request put off for
 * known_peers (KEYD_WAIT) stays at the front of the buffer as it was and
 * ends the burst. The partial request left over moves to the front of the
 * buffer, and a buffer grown for one large request goes back to KEYD_IN_BASE
 * when what is left fits. ans holds KEYD_OUT_CAP bytes. Returns 0 to keep
 * the client, -1 to close it (gone, malformed, or out of memory); the
 * answers to the requests before a malformed one are still sent.
 */
static int
client_serve(struct srv *sv, struct keyd_ctx *kc, struct client *cl, uint8_t *ans)
{
	struct vbuf out;
	size_t off = 0, anslen = 0, len = 0, rem, keep;
	int served = 0, whole, d = 0, r;

	if ((whole = client_front(cl, 0, &len)) == 0 && (r = client_fill(cl)) <= 0)
		return r;
	cl->cl_retry = 0;
	while (served < KEYD_BURST && anslen <= KEYD_OUT_BATCH) {
		if ((whole = client_front(cl, off, &len)) <= 0)
			break;
		/* anslen <= KEYD_OUT_BATCH: one whole answer still fits. */
		vbuf_writer(&out, ans + anslen, KEYD_ANS_MAX);
		d = keyd_dispatch(kc, cl->cl_conn, cl->cl_in + off + IPC_LEN_HDR, len,
		    sv->sv_now, &out);
		if (d == KEYD_WAIT) {
			/* Nothing was done: it stays, and so do the requests after it. */
			cl->cl_retry = sv->sv_now + KEYD_LOCK_RETRY_MS;
			d = 0;
			break;
		}
		/* A REQ_SEAL holds plaintext. */
		vc_wipe(cl->cl_in + off, IPC_LEN_HDR + len);
		off += IPC_LEN_HDR + len;
		if (d == KEYD_ANSWER_CLOSE)
			anslen += out.vb_len;	/* its last answer, then it goes */
		if (d != 0)
			break;	/* malformed or out of order: no answer, the client goes */
		anslen += out.vb_len;
		served++;
		cl->cl_active = sv->sv_now;
	}
	rem = cl->cl_inlen - off;
	if (off > 0 && rem > 0) {
		memmove(cl->cl_in, cl->cl_in + off, rem);
		/* [off, inlen) held what is now [0, rem): wipe what memmove left. */
		keep = rem > off ? rem : off;
		vc_wipe(cl->cl_in + keep, cl->cl_inlen - keep);
	}
	cl->cl_inlen = rem;
	/* Out of memory here only keeps the larger buffer. */
	if (cl->cl_incap > KEYD_IN_BASE && rem <= KEYD_IN_BASE)
		(void)client_resize(cl, KEYD_IN_BASE);
	r = 0;
	if (anslen > 0) {
		r = client_answer(cl, ans, anslen);
		vc_wipe(ans, anslen);
	}
	return r != 0 || d != 0 || whole < 0 ? -1 : 0;
}

/*
 * The oldest client without HELLO that keyd has polled at least once (it
 * was accepted in an earlier turn), or -1. *nohello counts all of them.
 */
static int
srv_oldest_nohello(const struct srv *sv, size_t *nohello)
{
	const struct client *cl;
	int i, best = -1;

	*nohello = 0;
	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		cl = &sv->sv_cls[i];
		if (cl->cl_fd < 0 || keyd_conn_hello(cl->cl_conn))
			continue;
		(*nohello)++;
		if (cl->cl_turn < sv->sv_turn &&
		    (best < 0 || cl->cl_since < sv->sv_cls[best].cl_since))
			best = i;
	}
	return best;
}

/*
 * Every slot is taken by clients that said HELLO. The process (other than
 * pid, and known) holding the most slots, if it holds more than
 * KEYD_FAIR_SHARE: its least recently active client, and *held its count.
 * Else -1.
 */
static int
srv_over_share(const struct srv *sv, pid_t pid, size_t *held)
{
	const struct client *a, *b;
	size_t most = 0, n;
	pid_t hog = 0;
	int i, j, best = -1;

	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		a = &sv->sv_cls[i];
		if (a->cl_fd < 0 || a->cl_pid <= 0 || a->cl_pid == pid || a->cl_pid == hog)
			continue;
		for (n = 0, j = 0; j < KEYD_MAX_CLIENTS; j++)
			if (sv->sv_cls[j].cl_fd >= 0 && sv->sv_cls[j].cl_pid == a->cl_pid)
				n++;
		if (n > most) {
			most = n;
			hog = a->cl_pid;
		}
	}
	*held = most;
	if (most <= KEYD_FAIR_SHARE)
		return -1;
	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		b = &sv->sv_cls[i];
		if (b->cl_fd >= 0 && b->cl_pid == hog &&
		    (best < 0 || b->cl_active < sv->sv_cls[best].cl_active))
			best = i;
	}
	return best;
}

static void
srv_accept(struct srv *sv, int lfd)
{
	struct ucred cred;
	struct client *cl;
	socklen_t clen;
	size_t nohello, held;
	int i, fd, victim;

	for (;;) {
		victim = -1;
		if ((i = srv_oldest_nohello(sv, &nohello)) >= 0 &&
		    (nohello >= KEYD_MAX_NOHELLO || sv->sv_n >= KEYD_MAX_CLIENTS))
			victim = i;
		/* Only ones not yet polled could make room: they get their turn first. */
		if (victim < 0 && nohello > 0 &&
		    (nohello >= KEYD_MAX_NOHELLO || sv->sv_n >= KEYD_MAX_CLIENTS))
			return;
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
		if (victim >= 0) {
			cl = &sv->sv_cls[victim];
			srv_note(sv, NOTE_OLDEST, "%zu connections without HELLO; closed the "
			    "oldest (pid %ld, %llu ms old) for a new one (pid %ld)", nohello,
			    (long)cl->cl_pid, (unsigned long long)(sv->sv_now - cl->cl_since),
			    (long)cred.pid);
			client_close(sv, cl);
		} else if (sv->sv_n >= KEYD_MAX_CLIENTS) {
			if ((victim = srv_over_share(sv, cred.pid, &held)) < 0) {
				srv_note(sv, NOTE_FULL, "all %d slots are taken by clients that "
				    "said HELLO, none of them over a share of %d; closed a new "
				    "connection (pid %ld)", KEYD_MAX_CLIENTS, KEYD_FAIR_SHARE,
				    (long)cred.pid);
				(void)close(fd);
				continue;
			}
			cl = &sv->sv_cls[victim];
			srv_note(sv, NOTE_SHARE, "all %d slots are taken; pid %ld holds %zu, "
			    "over a share of %d: closed its least active one for a new "
			    "connection (pid %ld)", KEYD_MAX_CLIENTS, (long)cl->cl_pid, held,
			    KEYD_FAIR_SHARE, (long)cred.pid);
			client_close(sv, cl);
		}
		for (i = 0; i < KEYD_MAX_CLIENTS; i++)
			if (sv->sv_cls[i].cl_fd < 0)
				break;
		cl = &sv->sv_cls[i];
		memset(cl, 0, sizeof(*cl));
		cl->cl_fd = -1;
		if ((cl->cl_conn = keyd_conn_new()) == NULL) {
			(void)close(fd);
			continue;
		}
		cl->cl_fd = fd;
		cl->cl_pid = cred.pid;
		cl->cl_turn = sv->sv_turn;
		cl->cl_since = cl->cl_active = sv->sv_now;
		sv->sv_n++;
	}
}

/* Closes every connection whose HELLO is overdue. */
static void
srv_expire(struct srv *sv)
{
	struct client *cl;
	int i;

	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		cl = &sv->sv_cls[i];
		if (cl->cl_fd < 0 || keyd_conn_hello(cl->cl_conn) ||
		    sv->sv_now - cl->cl_since < KEYD_HELLO_MS)
			continue;
		srv_note(sv, NOTE_LATE, "closed a connection (pid %ld) that did not say "
		    "HELLO within %d ms", (long)cl->cl_pid, KEYD_HELLO_MS);
		client_close(sv, cl);
	}
}

/* ms until something is due without any fd waking us, or -1 for none. */
static long long
srv_timeout(const struct srv *sv)
{
	const struct client *cl;
	long long t = -1, due;
	uint64_t at;
	int i;

	for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
		cl = &sv->sv_cls[i];
		if (cl->cl_fd < 0)
			continue;
		at = UINT64_MAX;
		/* Requests left from a burst: the socket may never wake us for them. */
		if (client_ready(cl))
			at = sv->sv_now;
		else if (cl->cl_retry != 0 && cl->cl_out == NULL)
			at = cl->cl_retry;
		if (!keyd_conn_hello(cl->cl_conn) && cl->cl_since + KEYD_HELLO_MS < at)
			at = cl->cl_since + KEYD_HELLO_MS;
		if (at == UINT64_MAX)
			continue;
		due = at > sv->sv_now ? (long long)(at - sv->sv_now) : 0;
		if (t < 0 || due < t)
			t = due;
	}
	return t;
}

int
keyd_serve(struct keyd_ctx *kc, int lfd)
{
	struct pollfd pfd[1 + KEYD_MAX_CLIENTS];
	int idx[1 + KEYD_MAX_CLIENTS];
	struct timespec ts;
	struct srv *sv;
	long long t;
	size_t i;
	nfds_t n;
	uint8_t *ans;
	int rc = 0, ready;

	if ((ans = malloc(KEYD_OUT_CAP)) == NULL)
		return VEIL_E_ALLOC;
	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		free(ans);
		return VEIL_E_ALLOC;
	}
	for (i = 0; i < KEYD_MAX_CLIENTS; i++)
		sv->sv_cls[i].cl_fd = -1;
	while (!keyd_stop) {
		sv->sv_now = srv_ms();
		sv->sv_turn++;
		n = 0;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < KEYD_MAX_CLIENTS; i++) {
			struct client *cl = &sv->sv_cls[i];

			if (cl->cl_fd < 0)
				continue;
			pfd[n].fd = cl->cl_fd;
			/* A client whose request is put off is not read meanwhile. */
			pfd[n].events = cl->cl_out != NULL ? POLLOUT :
			    cl->cl_retry != 0 ? 0 : POLLIN;
			idx[n++] = (int)i;
		}
		if ((t = srv_timeout(sv)) >= 0) {
			ts.tv_sec = (time_t)(t / 1000);
			ts.tv_nsec = (long)(t % 1000) * 1000000L;
		}
		ready = ppoll(pfd, n, t >= 0 ? &ts : NULL, &keyd_waitmask);
		if (ready == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "keyd: poll: %s\n", strerror(errno));
			rc = VEIL_E_SYSTEM;
			break;
		}
		sv->sv_now = srv_ms();
		for (i = 1; i < n; i++) {
			struct client *cl = &sv->sv_cls[idx[i]];
			short re = pfd[i].revents;
			int bad = 0;

			if ((re & POLLOUT) != 0 && client_flush(cl) != 0)
				bad = 1;
			if (!bad && cl->cl_out == NULL) {
				if (cl->cl_retry != 0) {
					if (sv->sv_now >= cl->cl_retry &&
					    client_serve(sv, kc, cl, ans) != 0)
						bad = 1;
				} else if (((re & (POLLIN | POLLHUP | POLLERR)) != 0 ||
				    client_ready(cl)) && client_serve(sv, kc, cl, ans) != 0)
					bad = 1;
			}
			if (!bad && (re & (POLLERR | POLLNVAL)) != 0)
				bad = 1;
			/* Not read while put off: its hang-up would wake us again and again. */
			if (!bad && cl->cl_retry != 0 && (re & POLLHUP) != 0)
				bad = 1;
			if (bad)
				client_close(sv, cl);
		}
		if ((pfd[0].revents & POLLIN) != 0)
			srv_accept(sv, lfd);
		srv_expire(sv);
		/*
		 * Pins written this turn reach the disk only now, after the
		 * answers: how long that takes shows on no answer.
		 */
		(void)keyd_pins_sync(kc->kc_pins);
	}
	for (i = 0; i < KEYD_MAX_CLIENTS; i++)
		client_close(sv, &sv->sv_cls[i]);
	(void)keyd_pins_sync(kc->kc_pins);
	vc_wipe(ans, KEYD_OUT_CAP);
	free(ans);
	free(sv);
	return rc;
}
