/* SPDX-License-Identifier: ISC */
/*
 * load: one load client for `make bench`, speaking each server's own wire
 * protocol over TCP with no client library, so every server gets the same
 * traffic from the same code:
 *
 *   veil   relay frames of PROTOCOL.md section 1 (relayd, bench/fwd)
 *   nats   the NATS text protocol (CONNECT, SUB, PUB, MSG, PING/PONG)
 *   mqtt   MQTT 3.1.1, QoS 0 (CONNECT, SUBSCRIBE, PUBLISH, PINGREQ)
 *   redis  RESP pub/sub (SUBSCRIBE, PUBLISH, PING)
 *
 * Modes (each prints one line of key=value pairs on stdout):
 *   load tput    --proto P --port N --receivers R [--secs S] [--pid PID]
 *       one sender, R receivers on one room/subject, 256-byte payloads, a
 *       window of frames in flight per receiver; delivered frames/s and the
 *       server's CPU (utime+stime of /proc/PID/stat) per delivered frame.
 *   load lat     --proto P --port N [--rate F] [--secs S] [--pid PID]
 *       one sender, one receiver, F frames/s from a timerfd; one-way latency
 *       (send timestamp in the payload, same clock) median and p99, and the
 *       server's CPU per frame from schedstat (nanoseconds, every thread).
 *   load flood   --proto P --port N [--frames F] [--pid PID]
 *       one sender (a child process) writes F frames of 256 bytes, one
 *       write() each, blocking, as fast as it can; one receiver reads as
 *       fast as this one thread can. Frames delivered per second over the
 *       whole transfer, frames lost (never delivered), out of sequence, and
 *       the server's CPU per frame.
 *   load idle    --proto P --port N --conns C --pid PID
 *       C connections that join/subscribe and then stay idle; the server's
 *       RSS growth per connection.
 *   load hs      --proto veil|nats --port N [--secs S] [--pid PID]
 *       (with --tls 1) full TLS handshakes, one after another, each on a
 *       new connection closed once it is done: handshakes/s, and the
 *       server's CPU per handshake (schedstat, nanoseconds).
 *
 * --tls 1 puts every connection under TLS 1.3 (libssl, no certificate
 * check, ALPN veil/1 for veil); for nats the client reads the server's INFO
 * line first and then starts TLS, as NATS does (nats-server 2.9 has no
 * TLS-first handshake). The same client code then runs over TLS for every
 * server.
 *   load freeport             prints a free loopback TCP port
 *   load wait    --port N     exits 0 once 127.0.0.1:N accepts (10 s max)
 *
 * A relay cluster (issue 15): --port A,B,C puts the sender on A and the
 * receivers in turn on B, C, A, ... (idle: the connections in turn on
 * each), and --pid P,Q,... sums the CPU time and RSS of every process
 * named (the nodes and the NATS servers).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "frame.h"

#define LD_PAYLOAD	256
#define LD_WINDOW	256		/* frames in flight per receiver */
#define LD_BATCH	32		/* frames per sender write */
#define LD_RXBUF	((size_t)512 * 1024)
#define LD_IDLE_RXBUF	2048
#define LD_CHUNK	100		/* idle connections opened per step (mosquitto listens with a backlog of 100) */
#define LD_MAXRECV	64

enum ld_proto { P_VEIL, P_NATS, P_MQTT, P_REDIS };
enum ld_kind { K_OTHER, K_DATA, K_READY, K_PING };

struct ld_conn {
	int		 c_fd;
	int		 c_recv;	/* subscribes (receiver) or publishes (sender) */
	int		 c_ready;
	uint16_t	 c_id;		/* veil member id from WELCOME */
	uint8_t		*c_in;
	size_t		 c_inlen;
	size_t		 c_incap;
	uint8_t		*c_out;
	size_t		 c_outlen;
	size_t		 c_outoff;
	size_t		 c_outcap;
	uint64_t	 c_rx;		/* data messages received */
	uint64_t	 c_bad;		/* out of sequence or wrong length */
	uint32_t	 c_mask;	/* events registered with epoll */
	SSL		*c_ssl;		/* --tls 1, else NULL */
};

#define LD_MAXPORTS	8
#define LD_MAXPIDS	16

static enum ld_proto	 ld_proto;
static int		 ld_port;
static int		 ld_ports[LD_MAXPORTS];	/* --ports: the sender's first */
static int		 ld_nports;
static int		 ld_pids[LD_MAXPIDS];	/* --pids */
static int		 ld_npids;
static int		 ld_ep = -1;
static char		 ld_topic[64];
static uint8_t		 ld_room[ROOM_ID_LEN];
static uint64_t		*ld_lat;	/* latency samples (lat mode) */
static size_t		 ld_nlat, ld_maxlat;
static int		 ld_record;
static uint64_t		 ld_bad;	/* summed over closed connections */
static int		 ld_tls;	/* --tls 1 */
static SSL_CTX		*ld_sslctx;

/* CPU time (user + system) of this process so far, in ns. */
static uint64_t
ld_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	    ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t
ld_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
ld_die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/*
 * Field `field` (1-based, counted after the ")" that ends comm, where the
 * state is field 3) of a /proc/PID/stat line; 0 if it is missing.
 */
static uint64_t
ld_stat_field(const char *buf, int field)
{
	const char *p = strrchr(buf, ')');
	char *end;
	unsigned long long v;
	int f;

	if (p == NULL)
		return 0;
	p++;
	for (f = 3; f < field && *p != '\0'; f++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	return (end == p || errno != 0) ? 0 : (uint64_t)v;
}

/*
 * utime + stime of a process (every thread), in clock ticks; 0 if it cannot
 * be read. *user gets utime alone.
 */
static uint64_t
ld_cpu_ticks(int pid, uint64_t *user)
{
	char path[64], buf[1024];
	uint64_t ut, st;
	ssize_t n;
	int fd;

	*user = 0;
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	ut = ld_stat_field(buf, 14);
	st = ld_stat_field(buf, 15);
	*user = ut;
	return ut + st;
}

/*
 * CPU time of a process in nanoseconds, every thread, from schedstat (exact,
 * where utime/stime come in clock ticks); 0 if it cannot be read.
 */
static uint64_t
ld_cpu_ns(int pid)
{
	char path[96], buf[128], *end;
	struct dirent *de;
	uint64_t sum = 0;
	ssize_t n;
	DIR *d;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", pid, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		sum += strtoull(buf, &end, 10);
	}
	closedir(d);
	return sum;
}

/* Resident set size of a process in bytes; 0 if it cannot be read. */
static uint64_t
ld_rss(int pid)
{
	char path[64], line[256], *end;
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			errno = 0;
			kb = strtoull(line + 6, &end, 10);
			if (end == line + 6 || errno != 0)
				kb = 0;
			break;
		}
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* The sums over --pids (or --pid). */
static uint64_t
ld_cpu_ticks_all(uint64_t *user)
{
	uint64_t sum = 0, u;
	int i;

	*user = 0;
	for (i = 0; i < ld_npids; i++) {
		sum += ld_cpu_ticks(ld_pids[i], &u);
		*user += u;
	}
	return sum;
}

static uint64_t
ld_cpu_ns_all(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < ld_npids; i++)
		sum += ld_cpu_ns(ld_pids[i]);
	return sum;
}

static uint64_t
ld_rss_all(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < ld_npids; i++)
		sum += ld_rss(ld_pids[i]);
	return sum;
}

/* The port for a sender, or for the k-th receiver (several: in turn after the first). */
static int
ld_port_for(int recv, size_t k)
{
	if (ld_nports <= 1 || !recv)
		return ld_port;
	return ld_ports[(1 + k) % (size_t)ld_nports];
}

/* "1,2,3" into out (at most max numbers). Returns the count, 0 if malformed. */
static int
ld_list(const char *s, int *out, int max)
{
	char *end;
	long v;
	int n = 0;

	while (*s != '\0' && n < max) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (end == s || errno != 0 || v <= 0 || v > 4194304)
			return 0;
		out[n++] = (int)v;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return 0;
		s = end + 1;
	}
	return 0;
}

static int
ld_connect(int port, int block)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!block && fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * NATS over TLS: the server's INFO line comes in the clear, then the TLS
 * handshake. Reads it byte by byte (blocking) so nothing of TLS is taken.
 */
static int
ld_nats_info(int fd)
{
	char ch = 0, prev = 0;
	size_t n = 0;

	while (n < 4096) {
		if (read(fd, &ch, 1) != 1)
			return -1;
		n++;
		if (prev == '\r' && ch == '\n')
			return 0;
		prev = ch;
	}
	return -1;
}

/* TLS on a connected, blocking socket: the handshake done, or NULL. */
static SSL *
ld_tls_up(int fd)
{
	SSL *ssl;

	if (ld_proto == P_NATS && ld_nats_info(fd) != 0)
		return NULL;
	if ((ssl = SSL_new(ld_sslctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	return ssl;
}

/* Connects c to port (and starts TLS with --tls 1); non-blocking unless block. */
static int
ld_conn_connect(struct ld_conn *c, int port, int block)
{
	if ((c->c_fd = ld_connect(port, ld_tls ? 1 : block)) < 0)
		return -1;
	if (!ld_tls)
		return 0;
	if ((c->c_ssl = ld_tls_up(c->c_fd)) == NULL)
		return -1;
	if (!block && fcntl(c->c_fd, F_SETFL, O_NONBLOCK) != 0)
		return -1;
	return 0;
}

/*
 * write() or SSL_write: bytes written, 0 when the socket is full (errno
 * EAGAIN), -1 on an error.
 */
static ssize_t
ld_io_write(struct ld_conn *c, const uint8_t *p, size_t n)
{
	size_t put;
	ssize_t w;
	int e;

	if (c->c_ssl == NULL) {
		do
			w = write(c->c_fd, p, n);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno == EAGAIN)
			return 0;
		return w;
	}
	if (SSL_write_ex(c->c_ssl, p, n, &put) == 1)
		return (ssize_t)put;
	e = SSL_get_error(c->c_ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		errno = EAGAIN;
		return 0;
	}
	return -1;
}

/* read() or SSL_read: bytes, 0 on EOF, -1 with errno (EAGAIN: nothing now). */
static ssize_t
ld_io_read(struct ld_conn *c, uint8_t *p, size_t n)
{
	size_t got;
	ssize_t r;
	int e;

	if (c->c_ssl == NULL) {
		do
			r = read(c->c_fd, p, n);
		while (r < 0 && errno == EINTR);
		return r;
	}
	if (SSL_read_ex(c->c_ssl, p, n, &got) == 1)
		return (ssize_t)got;
	e = SSL_get_error(c->c_ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = EPIPE;
	return -1;
}

/* Queues n bytes for c and writes as much as the socket takes now. */
static int
ld_send(struct ld_conn *c, const uint8_t *p, size_t n)
{
	ssize_t w;
	size_t cap;
	uint8_t *nb;

	if (c->c_outoff == c->c_outlen) {
		c->c_outoff = c->c_outlen = 0;
		while (n > 0) {
			if ((w = ld_io_write(c, p, n)) < 0)
				return -1;
			if (w == 0)
				break;
			p += w;
			n -= (size_t)w;
		}
		if (n == 0)
			return 0;
	}
	if (c->c_outlen + n > c->c_outcap) {
		cap = c->c_outcap ? c->c_outcap : 4096;
		while (cap < c->c_outlen + n)
			cap *= 2;
		if ((nb = realloc(c->c_out, cap)) == NULL)
			return -1;
		c->c_out = nb;
		c->c_outcap = cap;
	}
	memcpy(c->c_out + c->c_outlen, p, n);
	c->c_outlen += n;
	return 0;
}

static int
ld_flush(struct ld_conn *c)
{
	ssize_t w;

	while (c->c_outoff < c->c_outlen) {
		if ((w = ld_io_write(c, c->c_out + c->c_outoff, c->c_outlen - c->c_outoff)) < 0)
			return -1;
		if (w == 0)
			return 0;
		c->c_outoff += (size_t)w;
	}
	return 0;
}

static int
ld_pending(const struct ld_conn *c)
{
	return c->c_outoff < c->c_outlen;
}

/* ---- wire formats --------------------------------------------------- */

static int
ld_mqtt_remlen(struct vbuf *b, size_t len)
{
	int r = 0;

	do {
		uint8_t d = len % 128;

		len /= 128;
		if (len > 0)
			d |= 0x80;
		if ((r = vbuf_put_u8(b, d)) != 0)
			return r;
	} while (len > 0);
	return 0;
}

static int
ld_put_str(struct vbuf *b, const char *s)
{
	return vbuf_put_bytes(b, s, strlen(s));
}

/* What a new connection sends: join / connect + subscribe or a ping. */
static int
ld_hello(struct ld_conn *c, const char *topic, const uint8_t *room, unsigned cid)
{
	uint8_t buf[512];
	char line[160], id[32];
	struct vbuf b;
	size_t tl = strlen(topic);
	int r = 0;

	vbuf_writer(&b, buf, sizeof(buf));
	switch (ld_proto) {
	case P_VEIL:
		if ((r = vbuf_put_u8(&b, PROTO_VERSION)) != 0 ||
		    (r = vbuf_put_u8(&b, FT_JOIN)) != 0 ||
		    (r = vbuf_put_u16(&b, MEMBER_NONE)) != 0 ||
		    (r = vbuf_put_u16(&b, MEMBER_NONE)) != 0 ||
		    (r = vbuf_put_u32(&b, ROOM_ID_LEN)) != 0 ||
		    (r = vbuf_put_bytes(&b, room, ROOM_ID_LEN)) != 0)
			return r;
		break;
	case P_NATS:
		if ((r = ld_put_str(&b, "CONNECT {\"verbose\":false,\"pedantic\":false,"
		    "\"echo\":false}\r\n")) != 0)
			return r;
		if (c->c_recv) {
			snprintf(line, sizeof(line), "SUB %s 1\r\n", topic);
			if ((r = ld_put_str(&b, line)) != 0)
				return r;
		}
		if ((r = ld_put_str(&b, "PING\r\n")) != 0)
			return r;
		break;
	case P_MQTT:
		snprintf(id, sizeof(id), "b%d-%u", (int)getpid(), cid);
		/* CONNECT: "MQTT", level 4, clean session, keepalive 0 (none). */
		if ((r = vbuf_put_u8(&b, 0x10)) != 0 ||
		    (r = ld_mqtt_remlen(&b, 10 + 2 + strlen(id))) != 0 ||
		    (r = vbuf_put_u16(&b, 4)) != 0 ||
		    (r = ld_put_str(&b, "MQTT")) != 0 ||
		    (r = vbuf_put_u8(&b, 4)) != 0 ||
		    (r = vbuf_put_u8(&b, 0x02)) != 0 ||
		    (r = vbuf_put_u16(&b, 0)) != 0 ||
		    (r = vbuf_put_u16(&b, (uint16_t)strlen(id))) != 0 ||
		    (r = ld_put_str(&b, id)) != 0)
			return r;
		if (c->c_recv) {
			if ((r = vbuf_put_u8(&b, 0x82)) != 0 ||
			    (r = ld_mqtt_remlen(&b, 2 + 2 + tl + 1)) != 0 ||
			    (r = vbuf_put_u16(&b, 1)) != 0 ||
			    (r = vbuf_put_u16(&b, (uint16_t)tl)) != 0 ||
			    (r = ld_put_str(&b, topic)) != 0 ||
			    (r = vbuf_put_u8(&b, 0)) != 0)
				return r;
		} else if ((r = vbuf_put_u8(&b, 0xc0)) != 0 ||
		    (r = vbuf_put_u8(&b, 0)) != 0)
			return r;
		break;
	case P_REDIS:
		if (c->c_recv)
			snprintf(line, sizeof(line), "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n",
			    tl, topic);
		else
			snprintf(line, sizeof(line), "*1\r\n$4\r\nPING\r\n");
		if ((r = ld_put_str(&b, line)) != 0)
			return r;
		break;
	}
	return ld_send(c, buf, b.vb_len);
}

/*
 * The message a sender publishes, payload zeroed; *payload_off is where the
 * LD_PAYLOAD bytes start (timestamp and sequence are patched in per send).
 */
static size_t
ld_template(uint8_t *buf, size_t cap, uint16_t dst, size_t *payload_off)
{
	struct vbuf b;
	char line[160];
	size_t tl = strlen(ld_topic);
	int r = 0;

	vbuf_writer(&b, buf, cap);
	switch (ld_proto) {
	case P_VEIL:
		r = vbuf_put_u8(&b, PROTO_VERSION);
		if (r == 0)
			r = vbuf_put_u8(&b, FT_DATA);
		if (r == 0)
			r = vbuf_put_u16(&b, MEMBER_NONE);
		if (r == 0)
			r = vbuf_put_u16(&b, dst);
		if (r == 0)
			r = vbuf_put_u32(&b, LD_PAYLOAD);
		break;
	case P_NATS:
		snprintf(line, sizeof(line), "PUB %s %d\r\n", ld_topic, LD_PAYLOAD);
		r = ld_put_str(&b, line);
		break;
	case P_MQTT:
		r = vbuf_put_u8(&b, 0x30);
		if (r == 0)
			r = ld_mqtt_remlen(&b, 2 + tl + LD_PAYLOAD);
		if (r == 0)
			r = vbuf_put_u16(&b, (uint16_t)tl);
		if (r == 0)
			r = ld_put_str(&b, ld_topic);
		break;
	case P_REDIS:
		snprintf(line, sizeof(line), "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%d\r\n",
		    tl, ld_topic, LD_PAYLOAD);
		r = ld_put_str(&b, line);
		break;
	}
	*payload_off = b.vb_len;
	if (r == 0) {
		uint8_t *p;

		r = vbuf_reserve(&b, &p, LD_PAYLOAD);
		if (r == 0)
			memset(p, 0, LD_PAYLOAD);
	}
	if (r == 0 && (ld_proto == P_NATS || ld_proto == P_REDIS))
		r = ld_put_str(&b, "\r\n");
	if (r != 0) {
		fprintf(stderr, "load: message template does not fit\n");
		exit(1);
	}
	return b.vb_len;
}

static const uint8_t *
ld_crlf(const uint8_t *p, size_t n)
{
	const uint8_t *e;

	while (n >= 2 && (e = memchr(p, '\r', n - 1)) != NULL) {
		if (e[1] == '\n')
			return e;
		n -= (size_t)(e + 1 - p);
		p = e + 1;
	}
	return NULL;
}

/* A decimal from [p, e); -1 if it is not one. */
static long
ld_num(const uint8_t *p, const uint8_t *e)
{
	long v = 0;

	if (p >= e || e - p > 9)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* One RESP element that is not an array: bulk, integer, simple, error. */
static int
ld_resp_elem(const uint8_t *p, size_t n, size_t *used, const uint8_t **s, size_t *sl)
{
	const uint8_t *e;
	long len;

	if ((e = ld_crlf(p, n)) == NULL)
		return n > 1024 ? -1 : 0;
	*s = p + 1;
	*sl = (size_t)(e - p - 1);
	if (p[0] != '$') {
		if (p[0] == '-')
			fprintf(stderr, "load: redis: %.*s\n", (int)(e - p - 1), (const char *)(p + 1));
		*used = (size_t)(e - p) + 2;
		return p[0] == '-' ? -1 : 1;
	}
	if ((len = ld_num(p + 1, e)) < 0)
		return -1;
	if (n - (size_t)(e + 2 - p) < (size_t)len + 2)
		return 0;
	*s = e + 2;
	*sl = (size_t)len;
	*used = (size_t)(e + 2 - p) + (size_t)len + 2;
	return 1;
}

/*
 * Splits the next whole message off c's input: 1 with *used, *kind and the
 * data payload; 0 when more bytes are needed; -1 on anything unexpected.
 */
static int
ld_next(struct ld_conn *c, const uint8_t *p, size_t n, size_t *used,
    enum ld_kind *kind, const uint8_t **pl, size_t *pllen)
{
	const uint8_t *e, *s[3] = { NULL, NULL, NULL };
	size_t sl[3] = { 0, 0, 0 }, off, u, rem = 0;
	long cnt, len;
	int i, r;

	*kind = K_OTHER;
	switch (ld_proto) {
	case P_VEIL:
		if (n < FRAME_HDR_LEN)
			return 0;
		len = (long)veil_get32(p + 6);
		if (p[0] != PROTO_VERSION || len > FRAME_MAX_LIMIT)
			return -1;
		if (n < FRAME_HDR_LEN + (size_t)len)
			return 0;
		*used = FRAME_HDR_LEN + (size_t)len;
		if (p[1] == FT_DATA) {
			*kind = K_DATA;
			*pl = p + FRAME_HDR_LEN;
			*pllen = (size_t)len;
		} else if (p[1] == FT_WELCOME) {
			*kind = K_READY;
			c->c_id = veil_get16(p + 4);
		} else if (p[1] == FT_ERROR) {
			uint8_t code = len > 0 ? p[FRAME_HDR_LEN] : 0;

			fprintf(stderr, "load: relay closed us: ERROR %u (%s)\n",
			    (unsigned)code, proto_frame_strerror(code));
			return -1;
		}
		return 1;
	case P_NATS:
		if ((e = ld_crlf(p, n)) == NULL)
			return n > 4096 ? -1 : 0;
		*used = (size_t)(e - p) + 2;
		if (n >= 4 && memcmp(p, "MSG ", 4) == 0) {
			const uint8_t *sp = e;

			while (sp > p && sp[-1] != ' ')
				sp--;
			if ((len = ld_num(sp, e)) < 0)
				return -1;
			if (n - *used < (size_t)len + 2)
				return 0;
			*kind = K_DATA;
			*pl = p + *used;
			*pllen = (size_t)len;
			*used += (size_t)len + 2;
		} else if (e - p == 4 && memcmp(p, "PING", 4) == 0)
			*kind = K_PING;
		else if (e - p == 4 && memcmp(p, "PONG", 4) == 0)
			*kind = K_READY;
		else if (p[0] == '-') {
			fprintf(stderr, "load: nats: %.*s\n", (int)(e - p), (const char *)p);
			return -1;
		}
		return 1;
	case P_MQTT:
		for (i = 0, off = 1; ; i++, off++) {
			if (off >= n)
				return 0;
			if (i == 4)
				return -1;
			rem |= (size_t)(p[off] & 0x7f) << (7 * i);
			if (!(p[off] & 0x80))
				break;
		}
		off++;
		if (n - off < rem)
			return 0;
		*used = off + rem;
		switch (p[0] >> 4) {
		case 2:		/* CONNACK */
			if (rem != 2 || p[off + 1] != 0)
				return -1;
			break;
		case 3:		/* PUBLISH */
			if (rem < 2 || (len = veil_get16(p + off)) > (long)rem - 2)
				return -1;
			u = 2 + (size_t)len + (((p[0] >> 1) & 3) ? 2 : 0);
			if (u > rem)
				return -1;
			*kind = K_DATA;
			*pl = p + off + u;
			*pllen = rem - u;
			break;
		case 9:		/* SUBACK */
			if (rem != 3 || p[off + 2] == 0x80)
				return -1;
			*kind = K_READY;
			break;
		case 13:	/* PINGRESP */
			*kind = K_READY;
			break;
		}
		return 1;
	case P_REDIS:
		if (n < 1)
			return 0;
		if (p[0] != '*') {
			if ((r = ld_resp_elem(p, n, used, &s[0], &sl[0])) <= 0)
				return r;
			if (p[0] == '+')
				*kind = K_READY;
			return 1;
		}
		if ((e = ld_crlf(p, n)) == NULL)
			return n > 64 ? -1 : 0;
		if ((cnt = ld_num(p + 1, e)) < 0 || cnt > 8)
			return -1;
		off = (size_t)(e - p) + 2;
		for (i = 0; i < cnt; i++) {
			const uint8_t *x;
			size_t xl;

			if ((r = ld_resp_elem(p + off, n - off, &u, &x, &xl)) <= 0)
				return r;
			if (i < 3) {
				s[i] = x;
				sl[i] = xl;
			}
			off += u;
		}
		*used = off;
		if (cnt == 3 && sl[0] == 7 && memcmp(s[0], "message", 7) == 0) {
			*kind = K_DATA;
			*pl = s[2];
			*pllen = sl[2];
		} else if (cnt == 3 && sl[0] == 9 && memcmp(s[0], "subscribe", 9) == 0)
			*kind = K_READY;
		return 1;
	}
	return -1;
}

/* Reads what c has and handles every whole message; -1 on error or EOF. */
static int
ld_read(struct ld_conn *c)
{
	const uint8_t *pl = NULL;
	enum ld_kind kind;
	size_t off = 0, used, pllen = 0;
	ssize_t n;
	uint64_t now = 0, ts;
	int r;

	n = ld_io_read(c, c->c_in + c->c_inlen, c->c_incap - c->c_inlen);
	if (n == 0) {
		fprintf(stderr, "load: server closed a connection\n");
		return -1;
	}
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	c->c_inlen += (size_t)n;
	while ((r = ld_next(c, c->c_in + off, c->c_inlen - off, &used, &kind,
	    &pl, &pllen)) == 1) {
		off += used;
		switch (kind) {
		case K_DATA:
			/* Every receiver must see 0, 1, 2, ... at full length. */
			if (pllen != LD_PAYLOAD)
				c->c_bad++;
			else {
				memcpy(&ts, pl + 8, sizeof(ts));
				if (ts != c->c_rx)
					c->c_bad++;
			}
			c->c_rx++;
			if (ld_record && pllen >= 8 && ld_nlat < ld_maxlat) {
				if (now == 0)
					now = ld_now();
				memcpy(&ts, pl, sizeof(ts));
				ld_lat[ld_nlat++] = now > ts ? now - ts : 0;
			}
			break;
		case K_READY:
			c->c_ready = 1;
			break;
		case K_PING:
			if (ld_send(c, (const uint8_t *)"PONG\r\n", 6) != 0)
				return -1;
			break;
		case K_OTHER:
			break;
		}
	}
	if (r < 0) {
		fprintf(stderr, "load: unexpected bytes from the server\n");
		return -1;
	}
	if (off > 0) {
		memmove(c->c_in, c->c_in + off, c->c_inlen - off);
		c->c_inlen -= off;
	}
	if (c->c_inlen == c->c_incap) {
		fprintf(stderr, "load: message larger than the input buffer\n");
		return -1;
	}
	/* What libssl holds already: epoll will not say so. */
	if (c->c_ssl != NULL && SSL_has_pending(c->c_ssl))
		return ld_read(c);
	return 0;
}

static void
ld_watch(struct ld_conn *c, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (ld_pending(c) ? EPOLLOUT : 0u);
	ev.data.ptr = c;
	if (op == EPOLL_CTL_MOD && ev.events == c->c_mask)
		return;
	if (epoll_ctl(ld_ep, op, c->c_fd, &ev) != 0)
		ld_die("epoll_ctl");
	c->c_mask = ev.events;
}

/* One epoll round: reads, flushes; timeout in ms. */
static void
ld_poll(int timeout)
{
	struct epoll_event evs[128];
	int i, n;

	n = epoll_wait(ld_ep, evs, 128, timeout);
	if (n < 0 && errno != EINTR)
		ld_die("epoll_wait");
	for (i = 0; i < n; i++) {
		struct ld_conn *c = evs[i].data.ptr;

		if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && ld_read(c) != 0)
			exit(1);
		if (ld_pending(c) && ld_flush(c) != 0)
			ld_die("write");
		ld_watch(c, EPOLL_CTL_MOD);
	}
}

static void
ld_conn_init(struct ld_conn *c, int recv, size_t incap)
{
	uint8_t *in;

	if ((in = malloc(incap)) == NULL)
		ld_die("malloc");
	memset(c, 0, sizeof(*c));
	c->c_fd = -1;	/* NOLINT(clang-analyzer-unix.Malloc): cs[i] aliasing, a false positive */
	c->c_recv = recv;
	c->c_incap = incap;
	c->c_in = in;
}

static void
ld_conn_free(struct ld_conn *c)
{
	ld_bad += c->c_bad;
	SSL_free(c->c_ssl);
	c->c_ssl = NULL;
	if (c->c_fd >= 0)
		close(c->c_fd);
	free(c->c_in);
	free(c->c_out);
	c->c_fd = -1;
	c->c_in = c->c_out = NULL;
}

/* Opens, says hello, waits until every connection is ready (5 s max). */
static void
ld_open(struct ld_conn *cs, size_t n, int block_first)
{
	uint64_t end;
	size_t i, ready;

	size_t k = 0;

	for (i = 0; i < n; i++) {
		if (ld_conn_connect(&cs[i], ld_port_for(cs[i].c_recv, cs[i].c_recv ? k++ : 0),
		    0) != 0)
			ld_die("connect");
		ld_watch(&cs[i], EPOLL_CTL_ADD);
		if (ld_hello(&cs[i], ld_topic, ld_room, (unsigned)i) != 0)
			ld_die("hello");
		ld_watch(&cs[i], EPOLL_CTL_MOD);
		/* veil: receivers join before the sender, which then knows their ids */
		if (block_first && i + 1 < n) {
			end = ld_now() + 5000000000u;
			while (!cs[i].c_ready && ld_now() < end)
				ld_poll(10);
		}
	}
	end = ld_now() + 5000000000u;
	for (;;) {
		for (i = 0, ready = 0; i < n; i++)
			ready += cs[i].c_ready != 0;
		if (ready == n)
			return;
		if (ld_now() > end) {
			fprintf(stderr, "load: only %zu of %zu connections ready\n", ready, n);
			exit(1);
		}
		ld_poll(10);
	}
}

static void
ld_names(void)
{
	size_t i;

	snprintf(ld_topic, sizeof(ld_topic), "bench.%d.%" PRIu64, (int)getpid(),
	    ld_now() % 1000000u);
	for (i = 0; i < ROOM_ID_LEN; i++)
		ld_room[i] = (uint8_t)ld_topic[i % strlen(ld_topic)] ^ (uint8_t)i;
}

/* tput: delivered frames/s and server CPU per delivered frame. */
static int
ld_tput(int nrecv, double secs, int pid)
{
	struct ld_conn cs[LD_MAXRECV + 1], *snd;
	uint8_t tmpl[1024], *batch;
	size_t tl, poff, i, k, can;
	uint64_t sent = 0, seq = 0, minrx, rx0 = 0, rx1, t0 = 0, t1, tick0 = 0, tick1;
	uint64_t user0 = 0, user1, self0 = 0, self1;
	uint64_t start, warm_end, end;
	double warm = secs > 2 ? 0.5 : 0.25;
	int measuring = 0;

	if (nrecv < 1 || nrecv > LD_MAXRECV)
		return 2;
	for (i = 0; i <= (size_t)nrecv; i++)	/* receivers, then the sender */
		ld_conn_init(&cs[i], i < (size_t)nrecv, LD_RXBUF);
	snd = &cs[nrecv];
	ld_open(cs, (size_t)nrecv + 1, ld_proto == P_VEIL);
	tl = ld_template(tmpl, sizeof(tmpl),
	    nrecv == 1 ? cs[0].c_id : MEMBER_BCAST, &poff);
	if ((batch = malloc(tl * LD_BATCH)) == NULL)
		ld_die("malloc");
	for (k = 0; k < LD_BATCH; k++)
		memcpy(batch + k * tl, tmpl, tl);

	start = ld_now();
	warm_end = start + (uint64_t)(warm * 1e9);
	end = warm_end + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t now = ld_now();

		if (!measuring && now >= warm_end) {
			for (i = 0, rx0 = 0; i < (size_t)nrecv; i++)
				rx0 += cs[i].c_rx;
			tick0 = ld_cpu_ticks_all(&user0);
			self0 = ld_self_cpu();
			t0 = ld_now();
			measuring = 1;
		}
		if (now >= end)
			break;
		minrx = cs[0].c_rx;
		for (i = 1; i < (size_t)nrecv; i++)
			if (cs[i].c_rx < minrx)
				minrx = cs[i].c_rx;
		if (!ld_pending(snd) && sent - minrx < LD_WINDOW) {
			can = LD_WINDOW - (size_t)(sent - minrx);
			if (can > LD_BATCH)
				can = LD_BATCH;
			for (k = 0; k < can; k++) {
				memcpy(batch + k * tl + poff, &now, sizeof(now));
				memcpy(batch + k * tl + poff + 8, &seq, sizeof(seq));
				seq++;
			}
			sent += can;
			if (ld_send(snd, batch, can * tl) != 0)
				ld_die("send");
			ld_watch(snd, EPOLL_CTL_MOD);
			ld_poll(0);
		} else
			ld_poll(1);
	}
	tick1 = ld_cpu_ticks_all(&user1);
	self1 = ld_self_cpu();
	t1 = ld_now();
	for (i = 0, rx1 = 0; i < (size_t)nrecv; i++)
		rx1 += cs[i].c_rx;
	printf("fps=%.0f", (double)(rx1 - rx0) * 1e9 / (double)(t1 - t0));
	if (pid > 0 && rx1 > rx0) {
		printf(" cpu_us=%.3f", (double)(tick1 - tick0) * 1e6 /
		    (double)sysconf(_SC_CLK_TCK) / (double)(rx1 - rx0));
		if (tick1 > tick0)
			printf(" user_pct=%.0f", 100.0 * (double)(user1 - user0) /
			    (double)(tick1 - tick0));
		printf(" busy_pct=%.0f", 100.0 * (double)(tick1 - tick0) * 1e9 /
		    (double)sysconf(_SC_CLK_TCK) / (double)(t1 - t0));
	}
	for (i = 0; i <= (size_t)nrecv; i++)
		ld_conn_free(&cs[i]);
	printf(" load_pct=%.0f sent=%" PRIu64 " bad=%" PRIu64 "\n",
	    100.0 * (double)(self1 - self0) / (double)(t1 - t0), sent, ld_bad);
	free(batch);
	return 0;
}

static int
ld_cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* lat: one-way latency at a fixed rate, one sender and one receiver. */
static int
ld_latency(double rate, double secs, int pid)
{
	struct ld_conn cs[2];
	struct itimerspec its;
	struct epoll_event ev;
	uint8_t tmpl[1024];
	size_t tl, poff;
	uint64_t seq = 0, exp, now, start, warm_end, end, lost;
	uint64_t cpu0 = 0, cpu1 = 0, seq0 = 0, seq1 = 0;
	size_t i50, i99;
	long period;
	int tfd;

	if (rate < 1 || rate > 1e6)
		return 2;
	ld_conn_init(&cs[0], 1, LD_RXBUF);
	ld_conn_init(&cs[1], 0, LD_RXBUF);
	ld_open(cs, 2, ld_proto == P_VEIL);
	tl = ld_template(tmpl, sizeof(tmpl), cs[0].c_id, &poff);
	ld_maxlat = (size_t)(rate * secs * 1.2) + 1024;
	if ((ld_lat = calloc(ld_maxlat, sizeof(*ld_lat))) == NULL)
		ld_die("calloc");

	period = (long)(1e9 / rate);
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		ld_die("timerfd_create");
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = period;
	its.it_value.tv_nsec = period;
	if (timerfd_settime(tfd, 0, &its, NULL) != 0)
		ld_die("timerfd_settime");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ld_ep, EPOLL_CTL_ADD, tfd, &ev) != 0)
		ld_die("epoll_ctl");

	start = ld_now();
	warm_end = start + 300000000u;
	end = warm_end + (uint64_t)(secs * 1e9);
	for (;;) {
		struct epoll_event evs[8];
		int i, n;

		now = ld_now();
		if (!ld_record && now >= warm_end) {
			cpu0 = ld_cpu_ns_all();
			seq0 = seq;
		}
		ld_record = now >= warm_end;
		if (now >= end) {
			cpu1 = ld_cpu_ns_all();
			seq1 = seq;
			break;
		}
		n = epoll_wait(ld_ep, evs, 8, 10);
		for (i = 0; i < n; i++) {
			struct ld_conn *c = evs[i].data.ptr;

			if (c != NULL) {
				if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
				    ld_read(c) != 0)
					exit(1);
				if (ld_pending(c) && ld_flush(c) != 0)
					ld_die("write");
				ld_watch(c, EPOLL_CTL_MOD);
				continue;
			}
			if (read(tfd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp))
				continue;
			/* A late tick sends what it owes, each with its own stamp. */
			while (exp-- > 0) {
				now = ld_now();
				memcpy(tmpl + poff, &now, sizeof(now));
				memcpy(tmpl + poff + 8, &seq, sizeof(seq));
				seq++;
				if (ld_send(&cs[1], tmpl, tl) != 0)
					ld_die("send");
			}
			ld_watch(&cs[1], EPOLL_CTL_MOD);
		}
	}
	/* Let what is in flight arrive, but record nothing new after the end. */
	its.it_interval.tv_nsec = its.it_value.tv_nsec = 0;
	(void)timerfd_settime(tfd, 0, &its, NULL);
	end = ld_now() + 100000000u;
	while (ld_now() < end && cs[0].c_rx < seq)
		ld_poll(5);
	close(tfd);
	if (ld_nlat == 0) {
		fprintf(stderr, "load: no latency samples\n");
		exit(1);
	}
	qsort(ld_lat, ld_nlat, sizeof(*ld_lat), ld_cmp64);
	i50 = ld_nlat / 2;
	i99 = ld_nlat * 99 / 100;
	lost = seq - cs[0].c_rx;
	ld_conn_free(&cs[0]);
	ld_conn_free(&cs[1]);
	printf("p50_us=%.1f p99_us=%.1f n=%zu lost=%" PRIu64 " bad=%" PRIu64,
	    (double)ld_lat[i50] / 1e3, (double)ld_lat[i99] / 1e3, ld_nlat, lost, ld_bad);
	/* Frames sent in the window (all delivered but the last few in flight). */
	if (pid > 0 && cpu1 > cpu0 && seq1 > seq0)
		printf(" cpu_ns=%.0f", (double)(cpu1 - cpu0) / (double)(seq1 - seq0));
	printf("\n");
	free(ld_lat);
	return 0;
}

/*
 * The flood's sender, in a child process: nframes frames, one write() each,
 * on a blocking socket, so TCP (and the server) set its pace. Never returns.
 */
static void
ld_flood_send(struct ld_conn *c, const uint8_t *tmpl, size_t tl, size_t poff,
    uint64_t nframes)
{
	uint8_t frame[1024];
	uint64_t k, now;
	size_t off;
	ssize_t w;

	if (fcntl(c->c_fd, F_SETFL, 0) != 0)
		_exit(1);
	memcpy(frame, tmpl, tl);
	for (k = 0; k < nframes; k++) {
		now = ld_now();
		memcpy(frame + poff, &now, sizeof(now));
		memcpy(frame + poff + 8, &k, sizeof(k));
		/* Over TLS: one record per frame, as one write per frame without. */
		for (off = 0; off < tl; off += (size_t)w)
			if ((w = ld_io_write(c, frame + off, tl - off)) <= 0)
				_exit(1);
	}
	/* Stay connected until the parent has read what it will get. */
	pause();
	_exit(0);
}

/* flood: one write per frame against one receiver reading flat out. */
static int
ld_flood(uint64_t nframes, int pid)
{
	struct ld_conn cs[2];
	uint8_t tmpl[1024];
	size_t tl, poff;
	uint64_t t0, t_last = 0, last_rx = 0, cpu0, cpu1, idle_since;
	pid_t child;
	int status;

	ld_conn_init(&cs[0], 1, LD_RXBUF);
	ld_conn_init(&cs[1], 0, LD_RXBUF);
	ld_open(cs, 2, ld_proto == P_VEIL);
	tl = ld_template(tmpl, sizeof(tmpl), cs[0].c_id, &poff);
	/* The sender's socket is the child's alone from here. */
	if (epoll_ctl(ld_ep, EPOLL_CTL_DEL, cs[1].c_fd, NULL) != 0)
		ld_die("epoll_ctl");
	cpu0 = ld_cpu_ns_all();
	t0 = ld_now();
	if ((child = fork()) < 0)
		ld_die("fork");
	if (child == 0) {
		close(cs[0].c_fd);
		ld_flood_send(&cs[1], tmpl, tl, poff, nframes);
	}
	close(cs[1].c_fd);
	cs[1].c_fd = -1;
	SSL_free(cs[1].c_ssl);		/* the child's copy carries on */
	cs[1].c_ssl = NULL;
	/* Read until every frame is in, or nothing came for 2 s (frames lost). */
	idle_since = ld_now();
	while (cs[0].c_rx < nframes) {
		ld_poll(50);
		if (cs[0].c_rx != last_rx) {
			last_rx = cs[0].c_rx;
			t_last = idle_since = ld_now();
		} else if (ld_now() - idle_since > 2000000000u)
			break;
	}
	cpu1 = ld_cpu_ns_all();
	kill(child, SIGTERM);
	(void)waitpid(child, &status, 0);
	if (t_last <= t0) {
		fprintf(stderr, "load: flood: nothing delivered\n");
		exit(1);
	}
	printf("fps=%.0f lost=%" PRIu64 " bad=%" PRIu64 " frames=%" PRIu64,
	    (double)cs[0].c_rx * 1e9 / (double)(t_last - t0), nframes - cs[0].c_rx,
	    cs[0].c_bad, nframes);
	if (pid > 0 && cpu1 > cpu0 && cs[0].c_rx > 0)
		printf(" cpu_ns=%.0f", (double)(cpu1 - cpu0) / (double)cs[0].c_rx);
	printf("\n");
	ld_conn_free(&cs[0]);
	ld_conn_free(&cs[1]);
	return 0;
}

/* idle: RSS growth of the server per idle, joined connection. */
static int
ld_idle(size_t nconn, int pid)
{
	struct ld_conn *cs;
	uint64_t rss0, rss1, end;
	size_t i, j, base, ready;
	char topic[64];
	uint8_t room[ROOM_ID_LEN];

	if (pid <= 0 || nconn == 0)
		return 2;
	if ((cs = calloc(nconn, sizeof(*cs))) == NULL)
		ld_die("calloc");
	rss0 = ld_rss_all();
	for (base = 0; base < nconn; base += LD_CHUNK) {
		size_t top = base + LD_CHUNK < nconn ? base + LD_CHUNK : nconn;

		for (i = base; i < top; i++) {
			/* rooms of ten, like a small group chat */
			snprintf(topic, sizeof(topic), "idle.%d.%zu", (int)getpid(), i / 10);
			for (j = 0; j < ROOM_ID_LEN; j++)
				room[j] = (uint8_t)topic[j % strlen(topic)] ^ (uint8_t)(j * 7);
			ld_conn_init(&cs[i], 1, LD_IDLE_RXBUF);
			if (ld_conn_connect(&cs[i], ld_ports[i % (size_t)ld_nports], 0) != 0)
				ld_die("connect");
			ld_watch(&cs[i], EPOLL_CTL_ADD);
			if (ld_hello(&cs[i], topic, room, (unsigned)i) != 0)
				ld_die("hello");
			ld_watch(&cs[i], EPOLL_CTL_MOD);
		}
		end = ld_now() + 10000000000u;
		for (;;) {
			for (i = base, ready = 0; i < top; i++)
				ready += cs[i].c_ready != 0;
			if (ready == top - base)
				break;
			if (ld_now() > end) {
				fprintf(stderr, "load: idle: only %zu of %zu ready\n",
				    base + ready, nconn);
				exit(1);
			}
			ld_poll(10);
		}
	}
	/* Let the server settle (JOINED announcements, lazy frees). */
	end = ld_now() + 300000000u;
	while (ld_now() < end)
		ld_poll(10);
	rss1 = ld_rss_all();
	printf("b_per_conn=%.0f rss0=%" PRIu64 " rss1=%" PRIu64 " conns=%zu\n",
	    ((double)rss1 - (double)rss0) / (double)nconn, rss0, rss1, nconn);
	for (i = 0; i < nconn; i++)
		ld_conn_free(&cs[i]);
	free(cs);
	return 0;
}

/*
 * hs: full TLS handshakes one after another on new connections, each closed
 * once done; the rate and the server's CPU per handshake.
 */
static int
ld_hs(double secs, int pid)
{
	uint64_t t0, t1, end, n = 0, cpu0, cpu1, self0, self1;
	SSL *ssl;
	int fd;

	if (!ld_tls)
		return 2;
	cpu0 = ld_cpu_ns(pid);
	self0 = ld_self_cpu();
	t0 = ld_now();
	end = t0 + (uint64_t)(secs * 1e9);
	while (ld_now() < end) {
		if ((fd = ld_connect(ld_port, 1)) < 0)
			ld_die("connect");
		if ((ssl = ld_tls_up(fd)) == NULL) {
			fprintf(stderr, "load: hs: handshake %" PRIu64 " failed\n", n);
			exit(1);
		}
		SSL_free(ssl);
		close(fd);
		n++;
	}
	t1 = ld_now();
	cpu1 = ld_cpu_ns(pid);
	self1 = ld_self_cpu();
	printf("hs_s=%.0f n=%" PRIu64, (double)n * 1e9 / (double)(t1 - t0), n);
	if (pid > 0 && cpu1 > cpu0)
		printf(" cpu_us=%.1f busy_pct=%.0f", (double)(cpu1 - cpu0) / 1e3 / (double)n,
		    100.0 * (double)(cpu1 - cpu0) / (double)(t1 - t0));
	printf(" load_pct=%.0f\n", 100.0 * (double)(self1 - self0) / (double)(t1 - t0));
	return 0;
}

static int
ld_freeport(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		ld_die("freeport");
	printf("%u\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

static int
ld_wait(void)
{
	uint64_t end = ld_now() + 10000000000u;
	struct timespec ts = { 0, 20000000 };
	int fd;

	while (ld_now() < end) {
		if ((fd = ld_connect(ld_port, 1)) >= 0) {
			close(fd);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	return 1;
}

/* A whole-string number from an argument; exits on anything else. */
static double
ld_arg(const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0) {
		fprintf(stderr, "load: not a number: %s\n", v);
		exit(2);
	}
	return d;
}

static int
ld_usage(void)
{
	fprintf(stderr,
	    "usage: load tput --proto veil|nats|mqtt|redis --port N --receivers R [--secs S] [--pid PID]\n"
	    "       load lat  --proto P --port N [--rate F] [--secs S] [--pid PID]\n"
	    "       load flood --proto P --port N [--frames F] [--pid PID]\n"
	    "       load idle --proto P --port N --conns C --pid PID\n"
	    "       load hs --proto veil|nats --port N [--secs S] [--pid PID] --tls 1\n"
	    "       (every mode but hs: --tls 0|1, default 0)\n"
	    "       load freeport | load wait --port N\n"
	    "       (a cluster: --port A,B,... and --pid P,Q,...)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	const char *mode, *proto = "veil";
	double secs = 2, rate = 10000;
	long recv = 1, conns = 10000, pid = 0, frames = 300000;
	int i;

	if (argc < 2)
		return ld_usage();
	mode = argv[1];
	for (i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--proto") == 0)
			proto = v;
		else if (strcmp(k, "--port") == 0) {
			if ((ld_nports = ld_list(v, ld_ports, LD_MAXPORTS)) == 0)
				return ld_usage();
			ld_port = ld_ports[0];
		}
		else if (strcmp(k, "--receivers") == 0)
			recv = (long)ld_arg(v);
		else if (strcmp(k, "--secs") == 0)
			secs = ld_arg(v);
		else if (strcmp(k, "--rate") == 0)
			rate = ld_arg(v);
		else if (strcmp(k, "--conns") == 0)
			conns = (long)ld_arg(v);
		else if (strcmp(k, "--pid") == 0) {
			if ((ld_npids = ld_list(v, ld_pids, LD_MAXPIDS)) == 0)
				return ld_usage();
			pid = ld_pids[0];
		}
		else if (strcmp(k, "--frames") == 0)
			frames = (long)ld_arg(v);
		else if (strcmp(k, "--tls") == 0)
			ld_tls = ld_arg(v) != 0;
		else
			return ld_usage();
	}
	if (i != argc)
		return ld_usage();
	if (strcmp(mode, "freeport") == 0)
		return ld_freeport();
	if (ld_port <= 0 || ld_port > 65535)
		return ld_usage();
	if (strcmp(mode, "wait") == 0)
		return ld_wait();
	if (strcmp(proto, "veil") == 0)
		ld_proto = P_VEIL;
	else if (strcmp(proto, "nats") == 0)
		ld_proto = P_NATS;
	else if (strcmp(proto, "mqtt") == 0)
		ld_proto = P_MQTT;
	else if (strcmp(proto, "redis") == 0)
		ld_proto = P_REDIS;
	else
		return ld_usage();
	if (secs <= 0 || secs > 60 || conns < 1 || conns > 100000 || frames < 1 ||
	    frames > 100000000)
		return ld_usage();

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ld_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		ld_die("epoll_create1");
	if (ld_tls) {
		/* Any certificate: the bench measures the link, not its trust. */
		if ((ld_sslctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    SSL_CTX_set_min_proto_version(ld_sslctx, TLS1_3_VERSION) != 1 ||
		    (ld_proto == P_VEIL && SSL_CTX_set_alpn_protos(ld_sslctx,
		    (const unsigned char *)"\x06veil/1", 7) != 0))
			ld_die("TLS context");
		SSL_CTX_set_verify(ld_sslctx, SSL_VERIFY_NONE, NULL);
		/* One read() per readiness event, as without TLS (ld_read drains the rest). */
		SSL_CTX_set_read_ahead(ld_sslctx, 1);
		SSL_CTX_set_mode(ld_sslctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	}
	ld_names();
	if (strcmp(mode, "tput") == 0)
		return ld_tput((int)recv, secs, (int)pid);
	if (strcmp(mode, "lat") == 0)
		return ld_latency(rate, secs, (int)pid);
	if (strcmp(mode, "flood") == 0)
		return ld_flood((uint64_t)frames, (int)pid);
	if (strcmp(mode, "idle") == 0)
		return ld_idle((size_t)conns, (int)pid);
	if (strcmp(mode, "hs") == 0)
		return ld_hs(secs, (int)pid);
	return ld_usage();
}
