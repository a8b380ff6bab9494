/* SPDX-License-Identifier: ISC */
/*
 * The NATS link (cluster.h). libnats is told to use relayd's loop
 * (natsOptions_SetEventLoop): its socket is read and written by the loop's
 * thread, in natsConnection_ProcessReadEvent/ProcessWriteEvent, and what
 * it publishes goes out once per turn (cluster_flush). It still runs, in
 * threads of its own: a timer thread (PING to the server), a callback
 * thread (disconnected, reconnected, errors), a garbage-collector thread,
 * one message delivery thread (natsOptions_UseGlobalMessageDelivery, pool
 * size 1: every subscription's messages in the order they were read), and
 * while the link is down a reconnect thread. All but the last start here,
 * before the sandbox. They reach the loop through a mutex-guarded queue
 * and an eventfd; the adapter callbacks they call only record what libnats
 * wants, and the loop's thread applies it to epoll.
 *
 * Nothing resolves a name after start-up: the server addresses are
 * numeric, servers the cluster announces are ignored, and TLS trusts the
 * CA file named, loaded here, and nothing from the system's store.
 */
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include <openssl/crypto.h>

#include "clcreds.h"
#include "clmsg.h"
#include "cluster.h"
#include "err.h"
#include "ev.h"
#include "relay.h"

#define CLUSTER_IOBUF		(128 * 1024)	/* libnats' read and write buffers */
#define CLUSTER_RECONNECT_MS	100		/* between rounds of the server list */
#define CLUSTER_PING_MS		1000		/* libnats' PING to its server */
#define CLUSTER_CONNECT_MS	2000		/* one connection attempt */
#define CLUSTER_LEAVE_MS	300		/* writing the last messages at exit */

/* What libnats asked of the loop, written by any thread. */
struct cluster_ad {
	pthread_mutex_t	 ad_mu;
	int		 ad_fd;		/* the socket, -1: none */
	int		 ad_want;	/* EV_READ | EV_WRITE */
	unsigned int	 ad_gen;	/* attaches so far: a new socket, maybe the same number */
	/* The loop's thread only: what epoll has. */
	int		 ad_reg;
	unsigned int	 ad_reggen;
};

struct cluster {
	struct ev_loop	*cl_ev;
	natsOptions	*cl_opts;
	natsConnection	*cl_nc;
	natsSubscription *cl_sub_hb;
	natsSubscription *cl_sub_inbox;
	struct clc	*cl_core;
	struct clcreds	 cl_creds;
	char		*cl_urls[CLUSTER_URLS_MAX];
	int		 cl_nurls;
	int		 cl_efd;
	int		 cl_blocked;
	pthread_t	 cl_main;
	struct cluster_ad cl_ad;
	pthread_mutex_t	 cl_qmu;
	natsMsg		**cl_q;		/* a ring of CLUSTER_MSGQ_MAX */
	size_t		 cl_qhead;
	size_t		 cl_qn;
	_Atomic uint64_t cl_self;	/* this node's incarnation, for the echo filter */
	_Atomic int	 cl_up;
	_Atomic uint64_t cl_slow;
	_Atomic uint64_t cl_qdrop;
	_Atomic uint64_t cl_reconnects;
	uint64_t	 cl_in;
	uint64_t	 cl_out;
};

/* --- the server list ---------------------------------------------------- */

/* Splits "nats://A:P,tls://B:P" into checked copies. */
static int
cluster_urls(const char *s, char **out, int *n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *p = s, *end, *hp;
	char one[128];
	size_t l;
	int k = 0;

	*n = 0;
	if (s == NULL || *s == '\0')
		return VEIL_E_INVALID;
	for (;;) {
		end = strchr(p, ',');
		l = end != NULL ? (size_t)(end - p) : strlen(p);
		if (l == 0 || l >= sizeof(one) || k >= CLUSTER_URLS_MAX)
			goto bad;
		memcpy(one, p, l);
		one[l] = '\0';
		if (strncmp(one, "nats://", 7) == 0 || strncmp(one, "tls://", 6) == 0)
			hp = strstr(one, "://") + 3;
		else
			goto bad;
		/* Numeric only, as --listen: no name is ever resolved. */
		if (relayd_parse_listen(hp, &ss, &len) != 0)
			goto bad;
		if (out != NULL && (out[k] = strdup(one)) == NULL)
			goto bad;
		k++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*n = k;
	return 0;
 bad:
	while (out != NULL && k > 0)
		free(out[--k]);
	return VEIL_E_INVALID;
}

int
cluster_parse_urls(const char *s)
{
	int n;

	return cluster_urls(s, NULL, &n);
}

/* --- threads to the loop ------------------------------------------------ */

static void
cluster_wake(struct cluster *cl)
{
	uint64_t one = 1;

	(void)!write(cl->cl_efd, &one, sizeof(one));
}

/* From a libnats thread, the loop must look; from the loop's, it will. */
static void
cluster_wake_other(struct cluster *cl)
{
	if (!pthread_equal(pthread_self(), cl->cl_main))
		cluster_wake(cl);
}

/* The delivery thread: queue it for the loop (our own broadcasts come back: not those). */
static void
cluster_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct cluster *cl = closure;
	const uint8_t *d = (const uint8_t *)natsMsg_GetData(msg);
	int n = natsMsg_GetDataLength(msg), wake;
	const uint8_t *nid;
	uint64_t v = 0;
	int i;

	(void)nc;
	(void)sub;
	if (d != NULL && n >= CLM_HDR_DATA && d[0] == CLM_VERSION && d[1] == CLM_DATA) {
		nid = d + 2 + CL_KEY_LEN;
		for (i = 0; i < 8; i++)
			v = v << 8 | nid[i];
		if (v == atomic_load(&cl->cl_self)) {
			natsMsg_Destroy(msg);
			return;
		}
	}
	pthread_mutex_lock(&cl->cl_qmu);
	if (cl->cl_qn == CLUSTER_MSGQ_MAX) {
		pthread_mutex_unlock(&cl->cl_qmu);
		natsMsg_Destroy(msg);
		atomic_fetch_add(&cl->cl_qdrop, 1);
		return;
	}
	cl->cl_q[(cl->cl_qhead + cl->cl_qn) % CLUSTER_MSGQ_MAX] = msg;
	wake = cl->cl_qn++ == 0;
	pthread_mutex_unlock(&cl->cl_qmu);
	if (wake)
		cluster_wake(cl);
}

static void
cluster_on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	struct cluster *cl = closure;

	(void)nc;
	(void)sub;
	if (err == NATS_SLOW_CONSUMER)
		atomic_fetch_add(&cl->cl_slow, 1);
	cluster_wake(cl);
}

static void
cluster_on_down(natsConnection *nc, void *closure)
{
	struct cluster *cl = closure;

	(void)nc;
	atomic_store(&cl->cl_up, 0);
	cluster_wake(cl);
}

static void
cluster_on_up(natsConnection *nc, void *closure)
{
	struct cluster *cl = closure;

	(void)nc;
	atomic_fetch_add(&cl->cl_reconnects, 1);
	atomic_store(&cl->cl_up, 1);
	cluster_wake(cl);
}

/* --- the event-loop adapter (libnats' side) ------------------------------ */

static natsStatus
cluster_ad_attach(void **userData, void *loop, natsConnection *nc, natsSock fd)
{
	struct cluster *cl = loop;

	(void)nc;
	pthread_mutex_lock(&cl->cl_ad.ad_mu);
	cl->cl_ad.ad_fd = fd;
	cl->cl_ad.ad_want = EV_READ;
	cl->cl_ad.ad_gen++;
	pthread_mutex_unlock(&cl->cl_ad.ad_mu);
	*userData = cl;
	cluster_wake_other(cl);
	return NATS_OK;
}

static natsStatus
cluster_ad_mask(struct cluster *cl, int bit, bool add)
{
	pthread_mutex_lock(&cl->cl_ad.ad_mu);
	if (add)
		cl->cl_ad.ad_want |= bit;
	else
		cl->cl_ad.ad_want &= ~bit;
	pthread_mutex_unlock(&cl->cl_ad.ad_mu);
	cluster_wake_other(cl);
	return NATS_OK;
}

static natsStatus
cluster_ad_read(void *userData, bool add)
{
	return cluster_ad_mask(userData, EV_READ, add);
}

static natsStatus
cluster_ad_write(void *userData, bool add)
{
	return cluster_ad_mask(userData, EV_WRITE, add);
}

static natsStatus
cluster_ad_detach(void *userData)
{
	struct cluster *cl = userData;

	pthread_mutex_lock(&cl->cl_ad.ad_mu);
	cl->cl_ad.ad_fd = -1;
	cl->cl_ad.ad_want = 0;
	cl->cl_ad.ad_gen++;
	pthread_mutex_unlock(&cl->cl_ad.ad_mu);
	cluster_wake_other(cl);
	return NATS_OK;
}

/* --- the event-loop adapter (the loop's side) ---------------------------- */

static void
cluster_fd_event(struct ev_loop *el, int fd, void *data, int mask)
{
	struct cluster *cl = data;

	(void)el;
	(void)fd;
	if (mask & EV_READ)
		natsConnection_ProcessReadEvent(cl->cl_nc);
	if (mask & EV_WRITE)
		natsConnection_ProcessWriteEvent(cl->cl_nc);
}

static void
cluster_efd_event(struct ev_loop *el, int fd, void *data, int mask)
{
	uint64_t v;

	(void)el;
	(void)data;
	(void)mask;
	(void)!read(fd, &v, sizeof(v));
}

/* Puts what libnats wants into epoll. */
static void
cluster_apply(struct cluster *cl)
{
	struct cluster_ad *ad = &cl->cl_ad;
	unsigned int gen;
	int fd, want;

	pthread_mutex_lock(&ad->ad_mu);
	fd = ad->ad_fd;
	want = ad->ad_want;
	gen = ad->ad_gen;
	pthread_mutex_unlock(&ad->ad_mu);
	if (ad->ad_reg >= 0 && (ad->ad_reg != fd || ad->ad_reggen != gen)) {
		/* libnats closed it: the slot may belong to a client by now. */
		if (ev_owner(cl->cl_ev, ad->ad_reg) == cl)
			ev_del(cl->cl_ev, ad->ad_reg);
		ad->ad_reg = -1;
	}
	if (fd < 0)
		return;
	if (ad->ad_reg < 0) {
		if (ev_add(cl->cl_ev, fd, EV_READ, cluster_fd_event, cl) != 0)
			return;
		ad->ad_reg = fd;
		ad->ad_reggen = gen;
	}
	/* A failure means the socket is gone already: libnats is about to notice. */
	if (ev_set_mask(cl->cl_ev, fd, want) != 0)
		return;
}

/* --- the bus, for the core ---------------------------------------------- */

static int
cluster_publish(void *arg, const char *subject, const uint8_t *p, size_t n)
{
	struct cluster *cl = arg;

	if (natsConnection_Publish(cl->cl_nc, subject, p, (int)n) != NATS_OK)
		return VEIL_E_SYSTEM;
	cl->cl_out++;
	return 0;
}

static int
cluster_subscribe(void *arg, struct clc_room *cr)
{
	struct cluster *cl = arg;
	natsSubscription *sub = NULL;

	if (natsConnection_Subscribe(&sub, cl->cl_nc, cr->cr_subject, cluster_msg, cl) != NATS_OK)
		return VEIL_E_SYSTEM;
	cr->cr_sub = sub;
	return 0;
}

static void
cluster_unsubscribe(void *arg, struct clc_room *cr)
{
	natsSubscription *sub = cr->cr_sub;

	(void)arg;
	if (sub == NULL)
		return;
	(void)natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	cr->cr_sub = NULL;
}

static uint64_t
cluster_nid(void *arg)
{
	uint64_t v = 0;

	(void)arg;
	while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		;
	return v;
}

/* --- credentials -------------------------------------------------------- */

static natsStatus
cluster_jwt_cb(char **jwt, char **errtxt, void *closure)
{
	struct cluster *cl = closure;

	(void)errtxt;
	if ((*jwt = strdup(cl->cl_creds.cc_jwt)) == NULL)
		return NATS_NO_MEMORY;
	return NATS_OK;
}

static natsStatus
cluster_sig_cb(char **errtxt, unsigned char **sig, int *siglen, const char *nonce, void *closure)
{
	struct cluster *cl = closure;

	(void)errtxt;
	return nats_Sign(cl->cl_creds.cc_seed, nonce, sig, siglen);
}

/* Reads FILE: a regular file nobody else may read, at most CLCREDS_MAX bytes. */
static int
cluster_read_creds(struct cluster *cl, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t r;
	char why[128];
	int fd, rc = VEIL_E_INVALID;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "--cluster-creds %s: %s", path, strerror(errno));
		return VEIL_E_INVALID;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "--cluster-creds %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		(void)snprintf(err, errlen, "--cluster-creds %s: mode %04o lets others read it "
		    "(chmod 600)", path, (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > CLCREDS_MAX) {
		(void)snprintf(err, errlen, "--cluster-creds %s: larger than %d bytes", path,
		    CLCREDS_MAX);
		goto out;
	}
	if ((buf = malloc(CLCREDS_MAX + 1)) == NULL) {
		rc = VEIL_E_ALLOC;
		goto out;
	}
	while (got <= CLCREDS_MAX && (r = read(fd, buf + got, CLCREDS_MAX + 1 - got)) > 0)
		got += (size_t)r;
	if ((rc = clcreds_parse(&cl->cl_creds, buf, got, why, sizeof(why))) != 0)
		(void)snprintf(err, errlen, "--cluster-creds %s: %s", path, why);
 out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, CLCREDS_MAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

/* --- set-up ------------------------------------------------------------- */

/*
 * TLS to NATS trusting the CA file only. libnats' context loads the
 * default verify paths, which OpenSSL takes from SSL_CERT_FILE and
 * SSL_CERT_DIR: pointed at the CA file and at no directory while it does,
 * the system store is not trusted, and no certificate directory is ever
 * opened later (the sandbox forbids it).
 */
static natsStatus
cluster_tls(natsOptions *o, const struct cluster_config *cfg)
{
	char *oldf = getenv("SSL_CERT_FILE"), *oldd = getenv("SSL_CERT_DIR");
	natsStatus s;

	if (oldf != NULL && (oldf = strdup(oldf)) == NULL)
		return NATS_NO_MEMORY;
	if (oldd != NULL && (oldd = strdup(oldd)) == NULL) {
		free(oldf);
		return NATS_NO_MEMORY;
	}
	if (setenv("SSL_CERT_FILE", cfg->cc_ca, 1) != 0 || setenv("SSL_CERT_DIR", "", 1) != 0)
		s = NATS_SYS_ERROR;
	else if ((s = natsOptions_SetSecure(o, true)) == NATS_OK)
		s = natsOptions_LoadCATrustedCertificates(o, cfg->cc_ca);
	if (oldf != NULL)
		(void)setenv("SSL_CERT_FILE", oldf, 1);
	else
		(void)unsetenv("SSL_CERT_FILE");
	if (oldd != NULL)
		(void)setenv("SSL_CERT_DIR", oldd, 1);
	else
		(void)unsetenv("SSL_CERT_DIR");
	free(oldf);
	free(oldd);
	if (s == NATS_OK && cfg->cc_tls_name != NULL)
		s = natsOptions_SetExpectedHostname(o, cfg->cc_tls_name);
	return s;
}

static natsStatus
cluster_options(struct cluster *cl, const struct cluster_config *cfg)
{
	const char *urls[CLUSTER_URLS_MAX];
	natsOptions *o;
	natsStatus s;
	char name[16 + CL_NAME_MAX];
	int i;

	if ((s = natsOptions_Create(&cl->cl_opts)) != NATS_OK)
		return s;
	o = cl->cl_opts;
	(void)snprintf(name, sizeof(name), "relayd %s", cfg->cc_node);
	for (i = 0; i < cl->cl_nurls; i++)
		urls[i] = cl->cl_urls[i];
	if ((s = natsOptions_SetServers(o, urls, cl->cl_nurls)) != NATS_OK ||
	    (s = natsOptions_SetName(o, name)) != NATS_OK ||
	    (s = natsOptions_SetIgnoreDiscoveredServers(o, true)) != NATS_OK ||
	    /* In the order given: an operator lists a node's nearest server first. */
	    (s = natsOptions_SetNoRandomize(o, true)) != NATS_OK ||
	    (s = natsOptions_SetAllowReconnect(o, true)) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, CLUSTER_RECONNECT_MS)) != NATS_OK ||
	    (s = natsOptions_SetReconnectJitter(o, CLUSTER_RECONNECT_MS / 2,
	    CLUSTER_RECONNECT_MS)) != NATS_OK ||
	    /* Nothing is kept for after a reconnect: stale frames would only be lost later. */
	    (s = natsOptions_SetReconnectBufSize(o, 0)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, CLUSTER_CONNECT_MS)) != NATS_OK ||
	    (s = natsOptions_SetPingInterval(o, CLUSTER_PING_MS)) != NATS_OK ||
	    (s = natsOptions_SetMaxPingsOut(o, 2)) != NATS_OK ||
	    (s = natsOptions_SetIOBufSize(o, CLUSTER_IOBUF)) != NATS_OK ||
	    (s = natsOptions_SetSendAsap(o, true)) != NATS_OK ||
	    (s = natsOptions_UseGlobalMessageDelivery(o, true)) != NATS_OK ||
	    (s = natsOptions_SetMaxPendingMsgs(o, CLUSTER_MSGQ_MAX)) != NATS_OK ||
	    (s = natsOptions_SetNoEcho(o, false)) != NATS_OK ||
	    (s = natsOptions_SetEventLoop(o, cl, cluster_ad_attach, cluster_ad_read,
	    cluster_ad_write, cluster_ad_detach)) != NATS_OK ||
	    (s = natsOptions_SetErrorHandler(o, cluster_on_error, cl)) != NATS_OK ||
	    (s = natsOptions_SetDisconnectedCB(o, cluster_on_down, cl)) != NATS_OK ||
	    (s = natsOptions_SetClosedCB(o, cluster_on_down, cl)) != NATS_OK ||
	    (s = natsOptions_SetReconnectedCB(o, cluster_on_up, cl)) != NATS_OK)
		return s;
	switch (cl->cl_creds.cc_kind) {
	case CLCREDS_JWT:
		s = natsOptions_SetUserCredentialsCallbacks(o, cluster_jwt_cb, cl, cluster_sig_cb, cl);
		break;
	case CLCREDS_NKEY:
		s = natsOptions_SetNKey(o, cl->cl_creds.cc_pub, cluster_sig_cb, cl);
		break;
	case CLCREDS_USER:
		s = natsOptions_SetUserInfo(o, cl->cl_creds.cc_user, cl->cl_creds.cc_pass);
		break;
	case CLCREDS_TOKEN:
		s = natsOptions_SetToken(o, cl->cl_creds.cc_token);
		break;
	default:
		break;
	}
	if (s == NATS_OK && cfg->cc_ca != NULL)
		s = cluster_tls(o, cfg);
	return s;
}

static int
cluster_init(struct cluster *cl, const struct cluster_config *cfg, struct ev_loop *el,
    const struct clc_local *local, char *err, size_t errlen)
{
	struct clc_config ccfg;
	struct clc_bus bus;
	char inbox[CL_SUBJECT_MAX];
	natsStatus s;
	int rc;

	if (cluster_urls(cfg->cc_urls, cl->cl_urls, &cl->cl_nurls) != 0) {
		(void)snprintf(err, errlen, "bad --cluster \"%s\"", cfg->cc_urls);
		return VEIL_E_INVALID;
	}
	if (clm_node_subject(cfg->cc_node, inbox) != 0) {
		(void)snprintf(err, errlen, "bad --node \"%s\" (1 to %d of A-Z a-z 0-9 _ -)",
		    cfg->cc_node, CL_NAME_MAX);
		return VEIL_E_INVALID;
	}
	if (cfg->cc_creds != NULL &&
	    (rc = cluster_read_creds(cl, cfg->cc_creds, err, errlen)) != 0)
		return rc;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of message pointers */
	if ((cl->cl_q = calloc(CLUSTER_MSGQ_MAX, sizeof(*cl->cl_q))) == NULL)
		return VEIL_E_ALLOC;
	if ((cl->cl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    ev_add(el, cl->cl_efd, EV_READ, cluster_efd_event, cl) != 0) {
		(void)snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	/*
	 * libnats' threads share a few malloc arenas: glibc then never reads
	 * the CPU count (sched_getaffinity) to size more, after the sandbox.
	 */
	(void)mallopt(M_ARENA_MAX, 4);
	if ((s = nats_Open(-1)) != NATS_OK) {
		(void)snprintf(err, errlen, "libnats: %s", natsStatus_GetText(s));
		return VEIL_E_SYSTEM;
	}
	if ((s = nats_SetMessageDeliveryPoolSize(1)) != NATS_OK ||
	    (s = cluster_options(cl, cfg)) != NATS_OK) {
		(void)snprintf(err, errlen, "NATS options: %s (%s)", natsStatus_GetText(s),
		    nats_GetLastError(NULL));
		return VEIL_E_INVALID;
	}
	memset(&bus, 0, sizeof(bus));
	bus.cb_publish = cluster_publish;
	bus.cb_subscribe = cluster_subscribe;
	bus.cb_unsubscribe = cluster_unsubscribe;
	bus.cb_nid = cluster_nid;
	bus.cb_arg = cl;
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.cc_name = cfg->cc_node;
	ccfg.cc_room_size = cfg->cc_room_size;
	ccfg.cc_quorum = cfg->cc_quorum;
	ccfg.cc_hold_ms = cfg->cc_hold_ms;
	if ((rc = clc_new(&cl->cl_core, &ccfg, &bus, local)) != 0)
		return rc;
	atomic_store(&cl->cl_self, clc_nid(cl->cl_core));
	if ((s = natsConnection_Connect(&cl->cl_nc, cl->cl_opts)) != NATS_OK) {
		(void)snprintf(err, errlen, "no NATS server of --cluster answered: %s (%s)",
		    natsStatus_GetText(s), nats_GetLastError(NULL));
		return VEIL_E_SYSTEM;
	}
	atomic_store(&cl->cl_up, 1);
	/* The delivery thread starts with the first subscription: before the sandbox. */
	if ((s = natsConnection_Subscribe(&cl->cl_sub_hb, cl->cl_nc, CLM_SUBJECT_HB, cluster_msg,
	    cl)) != NATS_OK ||
	    (s = natsConnection_Subscribe(&cl->cl_sub_inbox, cl->cl_nc, inbox, cluster_msg,
	    cl)) != NATS_OK) {
		(void)snprintf(err, errlen, "NATS subscribe: %s", natsStatus_GetText(s));
		return VEIL_E_SYSTEM;
	}
	cluster_apply(cl);
	err[0] = '\0';
	return 0;
}

int
cluster_new(struct cluster **clp, const struct cluster_config *cfg, struct ev_loop *el,
    const struct clc_local *local, char *err, size_t errlen)
{
	struct cluster *cl;
	int rc;

	*clp = NULL;
	(void)snprintf(err, errlen, "out of memory");
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return VEIL_E_ALLOC;
	cl->cl_ev = el;
	cl->cl_efd = -1;
	cl->cl_ad.ad_fd = -1;
	cl->cl_ad.ad_reg = -1;
	cl->cl_main = pthread_self();
	pthread_mutex_init(&cl->cl_ad.ad_mu, NULL);
	pthread_mutex_init(&cl->cl_qmu, NULL);
	if ((rc = cluster_init(cl, cfg, el, local, err, errlen)) != 0) {
		cluster_free(cl);
		return rc;
	}
	*clp = cl;
	return 0;
}

/* Writes what is queued, for CLUSTER_LEAVE_MS at most (exit only: it blocks). */
static void
cluster_drain_out(struct cluster *cl)
{
	struct timespec t0, t1;
	struct pollfd pfd;
	long ms = 0;

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&cl->cl_up) && natsConnection_Buffered(cl->cl_nc) > 0 &&
	    ms < CLUSTER_LEAVE_MS) {
		natsConnection_ProcessWriteEvent(cl->cl_nc);
		pthread_mutex_lock(&cl->cl_ad.ad_mu);
		pfd.fd = cl->cl_ad.ad_fd;
		pthread_mutex_unlock(&cl->cl_ad.ad_mu);
		if (pfd.fd < 0)
			break;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		(void)poll(&pfd, 1, 20);
		(void)clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	}
}

void
cluster_free(struct cluster *cl)
{
	int i;

	if (cl == NULL)
		return;
	if (cl->cl_nc != NULL && cl->cl_core != NULL)
		clc_leaving(cl->cl_core);
	clc_free(cl->cl_core);
	cl->cl_core = NULL;
	if (cl->cl_nc != NULL) {
		cluster_drain_out(cl);
		if (cl->cl_sub_hb != NULL)
			natsSubscription_Destroy(cl->cl_sub_hb);
		if (cl->cl_sub_inbox != NULL)
			natsSubscription_Destroy(cl->cl_sub_inbox);
		natsConnection_Close(cl->cl_nc);
		natsConnection_Destroy(cl->cl_nc);
	}
	if (cl->cl_ad.ad_reg >= 0 && ev_owner(cl->cl_ev, cl->cl_ad.ad_reg) == cl)
		ev_del(cl->cl_ev, cl->cl_ad.ad_reg);
	natsOptions_Destroy(cl->cl_opts);
	/*
	 * The library stays open: its final clean-up (nats_Close) frees
	 * OpenSSL's table of compression methods, which OpenSSL 3 frees again
	 * at exit (libnats 3.4). Its threads end with the process.
	 */
	if (cl->cl_q != NULL) {
		while (cl->cl_qn > 0) {
			natsMsg_Destroy(cl->cl_q[cl->cl_qhead]);
			cl->cl_qhead = (cl->cl_qhead + 1) % CLUSTER_MSGQ_MAX;
			cl->cl_qn--;
		}
		free(cl->cl_q);
	}
	if (cl->cl_efd != -1) {
		ev_del(cl->cl_ev, cl->cl_efd);
		close(cl->cl_efd);
	}
	for (i = 0; i < cl->cl_nurls; i++)
		free(cl->cl_urls[i]);
	clcreds_free(&cl->cl_creds);
	pthread_mutex_destroy(&cl->cl_ad.ad_mu);
	pthread_mutex_destroy(&cl->cl_qmu);
	free(cl);
}

struct clc *
cluster_core(struct cluster *cl)
{
	return cl->cl_core;
}

int
cluster_turn(struct cluster *cl, int64_t now)
{
	natsMsg *msg;
	size_t n;
	int buffered, t;

	cluster_apply(cl);
	t = clc_tick(cl->cl_core, now);
	/* The messages queued when the turn began; later ones wait for the next. */
	pthread_mutex_lock(&cl->cl_qmu);
	n = cl->cl_qn;
	pthread_mutex_unlock(&cl->cl_qmu);
	while (n-- > 0) {
		pthread_mutex_lock(&cl->cl_qmu);
		msg = cl->cl_q[cl->cl_qhead];
		cl->cl_qhead = (cl->cl_qhead + 1) % CLUSTER_MSGQ_MAX;
		cl->cl_qn--;
		pthread_mutex_unlock(&cl->cl_qmu);
		cl->cl_in++;
		clc_input(cl->cl_core, now, (const uint8_t *)natsMsg_GetData(msg),
		    (size_t)natsMsg_GetDataLength(msg));
		natsMsg_Destroy(msg);
	}
	atomic_store(&cl->cl_self, clc_nid(cl->cl_core));
	buffered = natsConnection_Buffered(cl->cl_nc);
	if (!atomic_load(&cl->cl_up) || buffered > CLUSTER_OUT_HIGH)
		cl->cl_blocked = 1;
	else if (buffered < CLUSTER_OUT_LOW)
		cl->cl_blocked = 0;
	return t;
}

void
cluster_flush(struct cluster *cl)
{
	int want;

	/* The turn's frames, one DATA per room and destination. */
	clc_flush(cl->cl_core);
	pthread_mutex_lock(&cl->cl_ad.ad_mu);
	want = cl->cl_ad.ad_fd >= 0 ? cl->cl_ad.ad_want : 0;
	pthread_mutex_unlock(&cl->cl_ad.ad_mu);
	if (want & EV_WRITE)
		natsConnection_ProcessWriteEvent(cl->cl_nc);
	cluster_apply(cl);
}

int
cluster_blocked(struct cluster *cl)
{
	return cl->cl_blocked;
}

int
cluster_name_taken(const struct cluster *cl)
{
	return clc_name_taken(cl->cl_core);
}

void
cluster_get_stats(struct cluster *cl, struct cluster_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->cls_in = cl->cl_in;
	st->cls_out = cl->cl_out;
	st->cls_reconnects = atomic_load(&cl->cl_reconnects);
	st->cls_slow = atomic_load(&cl->cl_slow);
	st->cls_qdrop = atomic_load(&cl->cl_qdrop);
	st->cls_up = atomic_load(&cl->cl_up);
}
