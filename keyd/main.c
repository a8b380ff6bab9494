/* SPDX-License-Identifier: ISC */
/*
 * keyd: command line, start-up and hardening. Order of start-up: not
 * dumpable and no core files; (daemon: fork, the parent waits on a pipe);
 * lock memory; home 0700, identity, known_peers (and /proc/locks, to name
 * whoever holds its lock) opened; socket directory 0700, socket 0600
 * listening; OpenSSL exercised once so nothing is loaded lazily later;
 * no_new_privs; the seccomp filter (no open, no socket, no exec from here
 * on); only then "ready" to the waiting parent.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
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
#include "life.h"
#include "sbx.h"

#ifndef VEIL_VERSION
#define VEIL_VERSION "unknown"
#endif

#define EXIT_USAGE 2

enum keyd_mode {
	MODE_SERVE, MODE_FINGERPRINT, MODE_FORGET, MODE_TRUST, MODE_LIST, MODE_STOP
};

static struct vs_identity keyd_id;	/* the seed; wiped on every exit path */

#define USAGE \
"usage: keyd [--socket PATH] [--home DIR] [--daemon]\n" \
"       keyd --stop [--socket PATH]\n" \
"       keyd --fingerprint [--home DIR]\n" \
"       keyd --list | --trust NICK=FINGERPRINT | --forget NICK|FINGERPRINT [--home DIR]\n" \
"       keyd -h | --help | --version\n"

static int usage_error(const char *, ...) __attribute__((format(printf, 1, 2)));

/* One line saying what was wrong, and where to read more: exit status 2. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keyd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'keyd --help'.\n");
	return EXIT_USAGE;
}

static void
usage(FILE *f)
{
	fprintf(f, USAGE
"\n"
"Holds your veil identity key and every session key; chatc talks to it over\n"
"a Unix socket. It never touches the network.\n"
"\n"
"  --socket PATH   socket to listen on (its directory is created 0700)\n"
"                  default: $XDG_RUNTIME_DIR/veil/keyd.sock, else\n"
"                  /tmp/veil-$UID/keyd.sock\n"
"  --home DIR      identity key and known_peers (created 0700)\n"
"                  default: $XDG_DATA_HOME/veil, else ~/.local/share/veil\n"
"  --daemon        run in the background; returns once the socket accepts\n"
"                  (already running there: says so and exits 0); from then\n"
"                  on its messages go to syslog, else to DIR/keyd.log\n"
"  --stop          stop the keyd serving the socket and wait until it has\n"
"                  ended (at most 5 s; none running is not an error)\n"
"  --fingerprint   print your fingerprint (creating the identity if needed)\n"
"  --list          print every entry of known_peers: fingerprint, status,\n"
"                  nickname, room, first met\n"
"  --trust NICK=FINGERPRINT\n"
"                  mark the key with that fingerprint verified, as NICK, in\n"
"                  every room (after comparing it with NICK out of band)\n"
"  --forget NICK|FINGERPRINT\n"
"                  drop every entry with that nickname or fingerprint\n"
"  -h, --help      this text\n"
"  --version       print the version\n"
"\n"
"example:\n"
"  keyd --daemon && chatc --room lobby --nick alice\n"
"  keyd --fingerprint            # tell your peers this, out of band\n");
}

static int
path_join(char *out, size_t cap, const char *a, const char *b)
{
	return (size_t)snprintf(out, cap, "%s%s", a, b) < cap ? 0 : -1;
}

static int
default_home(char *out, size_t cap)
{
	const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
	struct passwd *pw;

	if (x != NULL && x[0] == '/')
		return path_join(out, cap, x, "/veil");
	if (h == NULL || h[0] != '/') {
		if ((pw = getpwuid(geteuid())) == NULL || pw->pw_dir == NULL)
			return -1;
		h = pw->pw_dir;
	}
	return path_join(out, cap, h, "/.local/share/veil");
}

static int
default_socket(char *out, size_t cap)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	char tmp[64];

	if (x != NULL && x[0] == '/')
		return path_join(out, cap, x, "/veil/keyd.sock");
	(void)snprintf(tmp, sizeof(tmp), "/tmp/veil-%u", (unsigned)geteuid());
	return path_join(out, cap, tmp, "/keyd.sock");
}

static void
harden_basic(void)
{
	struct rlimit rl = { 0, 0 };

	/* Not dumpable: no ptrace by same-uid processes, no /proc/PID/mem or environ. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fprintf(stderr, "keyd: PR_SET_DUMPABLE: %s\n", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fprintf(stderr, "keyd: RLIMIT_CORE: %s\n", strerror(errno));
}

/*
 * Locked memory: everything (MCL_CURRENT | MCL_FUTURE) when RLIMIT_MEMLOCK
 * allows what keyd may need at its limits. With a smaller limit, MCL_FUTURE
 * would make later allocations fail once the limit is reached (keyd would
 * stop serving), so only the identity seed is locked, and keyd says so.
 */
#define KEYD_MEMLOCK_NEED	(128ULL * 1024 * 1024)

/* CAP_IPC_LOCK in the effective set: RLIMIT_MEMLOCK does not apply then. */
static int
can_lock_unlimited(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (d[CAP_IPC_LOCK / 32].effective & (1U << (CAP_IPC_LOCK % 32))) != 0;
}

static void
lock_memory(void)
{
	struct rlimit rl;
	char lim[32] = "unknown";

	/* Privileged (CAP_SYS_RESOURCE): no limit at all. */
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		/* Otherwise whatever the hard limit allows. */
		if (rl.rlim_cur != rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_MEMLOCK, &rl) == -1)
				(void)getrlimit(RLIMIT_MEMLOCK, &rl);
		}
		if (rl.rlim_cur == RLIM_INFINITY)
			(void)snprintf(lim, sizeof(lim), "unlimited");
		else
			(void)snprintf(lim, sizeof(lim), "%llu KiB",
			    (unsigned long long)rl.rlim_cur / 1024);
	} else
		rl.rlim_cur = 0;
	if ((rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= KEYD_MEMLOCK_NEED ||
	    can_lock_unlimited()) && mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
		return;
	fprintf(stderr, "keyd: could not lock all memory (RLIMIT_MEMLOCK is %s, keyd needs "
	    "%llu MiB): session keys could be written to swap; only the identity key is "
	    "locked. Raise the limit (ulimit -l, or LimitMEMLOCK= in the unit) to fix "
	    "this; going on.\n", lim, KEYD_MEMLOCK_NEED / (1024ULL * 1024));
	if (mlock(&keyd_id, sizeof(keyd_id)) == -1)
		fprintf(stderr, "keyd: could not lock the identity key either (mlock: %s)\n",
		    strerror(errno));
}

/*
 * Runs every primitive once, through the session engine, before the filter:
 * OpenSSL loads its configuration, providers and RNG lazily on first use,
 * and after the filter it could no longer open a file to do so. It is also a
 * self-test: keyd refuses to start with a crypto core that fails it.
 */
static int
warm_up(const struct vs_identity *id)
{
	static uint8_t b1[E2E_MAX], b2[E2E_MAX], b3[E2E_MAX];
	static struct vs_opened o;
	struct vs_identity me = *id, peer = *id;
	struct vs_session *si = NULL, *sr = NULL;
	struct vs_params pi, pr;
	struct vbuf w1, w2, w3;
	uint8_t fpr[FPR_LEN], ping[INNER_TOKEN_LEN] = { 0, 0, 0, 1 };
	char safety[SAFETY_TEXT_MAX + 1];
	int r, done = 0;

	memcpy(me.id_nick, "warmup-i", 8);
	me.id_nicklen = 8;
	memcpy(peer.id_nick, "warmup-r", 8);
	peer.id_nicklen = 8;
	memset(&pi, 0, sizeof(pi));
	pi.vp_me = &me;
	pi.vp_me_id = 1;
	pi.vp_peer_id = 2;
	pr = pi;
	pr.vp_me = &peer;
	pr.vp_me_id = 2;
	pr.vp_peer_id = 1;
	vbuf_writer(&w1, b1, sizeof(b1));
	vbuf_writer(&w2, b2, sizeof(b2));
	if ((r = vs_start(&si, &pi, &w1)) != 0 ||
	    (r = vs_accept(&sr, &pr, b1, w1.vb_len, &w2)) != 0)
		goto out;
	vbuf_writer(&w1, b1, sizeof(b1));
	if ((r = vs_handshake(si, b2, w2.vb_len, &w1, &done)) != 0 || !done)
		goto out;
	vbuf_writer(&w2, b2, sizeof(b2));
	if ((r = vs_handshake(sr, b1, w1.vb_len, &w2, &done)) != 0 || !done)
		goto out;
	vbuf_writer(&w1, b1, sizeof(b1));
	/* A PING each way: both sides take a ratchet step. */
	if ((r = vs_seal(si, IK_PING, ping, sizeof(ping), &w1)) != 0 ||
	    (r = vs_open(sr, b1, w1.vb_len, &o)) != 0)
		goto out;
	if (o.vo_kind != IK_PING || o.vo_bodylen != sizeof(ping) ||
	    memcmp(o.vo_body, ping, sizeof(ping)) != 0) {
		r = VEIL_E_CRYPTO;
		goto out;
	}
	vbuf_writer(&w3, b3, sizeof(b3));
	if ((r = vs_seal(sr, IK_PONG, ping, sizeof(ping), &w3)) != 0 ||
	    (r = vs_open(si, b3, w3.vb_len, &o)) != 0)
		goto out;
	if (o.vo_kind != IK_PONG) {
		r = VEIL_E_CRYPTO;
		goto out;
	}
	if ((r = vc_fingerprint(id->id_pub, fpr)) != 0 ||
	    (r = vc_safety_number(id->id_pub, id->id_pub, safety, sizeof(safety))) != 0)
		goto out;
	done = 0;
out:
	vs_free(si);
	vs_free(sr);
	vc_wipe(&me, sizeof(me));
	vc_wipe(&peer, sizeof(peer));
	vc_wipe(&o, sizeof(o));
	vc_wipe(b1, sizeof(b1));
	vc_wipe(b2, sizeof(b2));
	vc_wipe(b3, sizeof(b3));
	return r;
}

static int
load_identity(const char *home, int quiet_created)
{
	char path[PATH_MAX];
	int created, r;

	if ((r = keyd_private_dir(home, "home")) != 0 ||
	    (r = keyd_identity_load(home, &keyd_id, &created)) != 0)
		return r;
	if (created && !quiet_created) {
		(void)path_join(path, sizeof(path), home, "/" KEYD_IDENTITY_FILE);
		fprintf(stderr, "keyd: created a new identity in %s\n", path);
	}
	return 0;
}

static int
do_fingerprint(const char *home)
{
	uint8_t fpr[FPR_LEN];
	char text[FPR_TEXT_LEN + 1];
	int r;

	if (load_identity(home, 0) != 0)
		return 1;
	r = vc_fingerprint(keyd_id.id_pub, fpr);
	vc_wipe(&keyd_id, sizeof(keyd_id));
	if (r != 0) {
		fprintf(stderr, "keyd: fingerprint: %s\n", veil_strerror(r));
		return 1;
	}
	proto_fpr_format(fpr, text);
	printf("%s\n", text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * Opens known_peers for --list, --trust or --forget and takes its lock: at
 * once, or after saying what it waits on, for at most KEYD_FORGET_WAIT_MS.
 * 0, or non-zero having said why on stderr (nothing is open then).
 */
static int
cli_pins(const char *home, struct keyd_pins *kp)
{
	char path[PATH_MAX], who[48] = "";
	long pid;
	int r;

	if (keyd_private_dir(home, "home") != 0 ||
	    path_join(path, sizeof(path), home, "/" KEYD_PINS_FILE) != 0 ||
	    keyd_pins_open(kp, path) != 0)
		return 1;
	if ((r = keyd_pins_trylock(kp)) == VEIL_E_BUSY) {
		if ((pid = keyd_pins_holder(kp)) > 0)
			(void)snprintf(who, sizeof(who), " (pid %ld)", pid);
		fprintf(stderr, "keyd: %s is locked by another process%s; waiting up to "
		    "%d s\n", kp->kp_path, who, KEYD_FORGET_WAIT_MS / 1000);
		if ((r = keyd_pins_lock_wait(kp, KEYD_FORGET_WAIT_MS)) == VEIL_E_BUSY)
			fprintf(stderr, "keyd: %s is still locked%s after %d s; nothing "
			    "changed. Try again once that process lets go of the file.\n",
			    kp->kp_path, who, KEYD_FORGET_WAIT_MS / 1000);
	}
	if (r != 0) {
		keyd_pins_close(kp);
		return 1;
	}
	return 0;
}

static void
cli_done(struct keyd_pins *kp)
{
	keyd_pins_unlock(kp);
	keyd_pins_close(kp);
}

/* An entry's fingerprint: its own (fp:) or its key's; all zero if that fails. */
static void
cli_fpr(const struct keyd_pin *e, uint8_t fpr[static FPR_LEN])
{
	if (e->pn_byfpr)
		memcpy(fpr, e->pn_fpr, FPR_LEN);
	else if (vc_fingerprint(e->pn_key, fpr) != 0)
		memset(fpr, 0, FPR_LEN);
}

/* "in every room" or "in room 1a2b3c4d", for people. */
static void
cli_room(const struct keyd_pin *e, char *out, size_t cap)
{
	if (e->pn_anyroom)
		(void)snprintf(out, cap, "every room");
	else
		(void)snprintf(out, cap, "room %02x%02x%02x%02x", e->pn_room[0],
		    e->pn_room[1], e->pn_room[2], e->pn_room[3]);
}

static void
cli_since(int64_t t, char out[static 16])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		(void)snprintf(out, 16, "-");
}

/* One entry as a line for people: nick, fingerprint, status, room, since. */
static void
cli_describe(const struct keyd_pin *e, const char *lead)
{
	char fp[FPR_TEXT_LEN + 1], room[32], since[16];
	uint8_t fpr[FPR_LEN];

	cli_fpr(e, fpr);
	proto_fpr_format(fpr, fp);
	cli_room(e, room, sizeof(room));
	cli_since(e->pn_since, since);
	printf("%s%.*s  %s  %s, %s, since %s%s\n", lead, (int)e->pn_nicklen,
	    (const char *)e->pn_nick, fp, e->pn_status == PIN_VERIFIED ? "verified" : "pinned",
	    room, since, e->pn_byfpr ? " (by fingerprint: not met yet)" : "");
}

static int
do_list(const char *home)
{
	struct keyd_pins kp;
	size_t i;
	int r;

	if (cli_pins(home, &kp) != 0)
		return 1;
	if ((r = keyd_pins_load(&kp)) != 0) {
		fprintf(stderr, "keyd: list: %s\n", veil_strerror(r));
		cli_done(&kp);
		return 1;
	}
	if (kp.kp_n == 0)
		printf("keyd: no entries in %s\n", kp.kp_path);
	for (i = 0; i < kp.kp_n; i++)
		cli_describe(&kp.kp_ent[i], "");
	cli_done(&kp);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* What --trust and --forget changed, for the report after the write. */
struct cli_edit {
	uint8_t		 ce_fpr[FPR_LEN];
	int		 ce_has_fpr;
	const char	*ce_nick;	/* --trust: the label; --forget: the nick, or NULL */
	size_t		 ce_nicklen;
	int		 ce_set;	/* --trust: an entry became the verified one */
	struct keyd_pin	*ce_old;	/* entries dropped or replaced */
	size_t		 ce_nold;
	int		 ce_oom;
};

static void
cli_keep_old(struct cli_edit *ce, const struct keyd_pin *e)
{
	struct keyd_pin *p;

	if ((p = realloc(ce->ce_old, (ce->ce_nold + 1) * sizeof(*p))) == NULL) {
		ce->ce_oom = 1;
		return;
	}
	ce->ce_old = p;
	ce->ce_old[ce->ce_nold++] = *e;
}

/* 1 if the entry has the fingerprint of the edit. */
static int
cli_same_fpr(const struct cli_edit *ce, const struct keyd_pin *e)
{
	uint8_t fpr[FPR_LEN];

	if (!ce->ce_has_fpr)
		return 0;
	cli_fpr(e, fpr);
	return memcmp(fpr, ce->ce_fpr, FPR_LEN) == 0;
}

/*
 * --trust: the first entry of the key with that fingerprint (or an fp: entry
 * of it) becomes the one verified entry, labelled NICK in every room; the
 * key's other entries go. Other keys' entries are left alone.
 */
static enum keyd_pin_edit
cli_trust_edit(void *arg, const struct keyd_pin *e, struct keyd_pin *out)
{
	struct cli_edit *ce = arg;

	if (!cli_same_fpr(ce, e))
		return PIN_KEEP;
	cli_keep_old(ce, e);
	if (ce->ce_set)
		return PIN_DROP;
	*out = *e;
	out->pn_status = PIN_VERIFIED;
	out->pn_anyroom = 1;
	memset(out->pn_room, 0, ROOM_ID_LEN);
	memcpy(out->pn_nick, ce->ce_nick, ce->ce_nicklen);
	out->pn_nicklen = ce->ce_nicklen;
	ce->ce_set = 1;
	return PIN_REPLACE;
}

static int
do_trust(const char *home, const char *arg)
{
	struct cli_edit ce;
	struct keyd_pins kp;
	struct keyd_pin add;
	const char *eq = strchr(arg, '=');
	char fp[FPR_TEXT_LEN + 1];
	size_t changed, i;
	int r;

	memset(&ce, 0, sizeof(ce));
	ce.ce_nick = arg;
	ce.ce_nicklen = (size_t)(eq - arg);
	ce.ce_has_fpr = proto_fpr_parse(eq + 1, ce.ce_fpr) == 0;
	if (cli_pins(home, &kp) != 0)
		return 1;
	memset(&add, 0, sizeof(add));
	add.pn_byfpr = 1;
	memcpy(add.pn_fpr, ce.ce_fpr, FPR_LEN);
	add.pn_status = PIN_VERIFIED;
	add.pn_anyroom = 1;
	memcpy(add.pn_nick, ce.ce_nick, ce.ce_nicklen);
	add.pn_nicklen = ce.ce_nicklen;
	/* The entries first: an fp: entry is added only for a key never met. */
	r = keyd_pins_rewrite(&kp, cli_trust_edit, &ce, NULL, 1, &changed);
	if (r == 0 && !ce.ce_set && !ce.ce_oom)
		r = keyd_pins_rewrite(&kp, NULL, NULL, &add, 1, &changed);
	cli_done(&kp);
	if (r == 0 && ce.ce_oom)
		r = VEIL_E_ALLOC;
	proto_fpr_format(ce.ce_fpr, fp);
	if (r != 0) {
		fprintf(stderr, "keyd: trust %.*s: %s; nothing changed\n", (int)ce.ce_nicklen,
		    arg, veil_strerror(r));
		free(ce.ce_old);
		return 1;
	}
	for (i = 0; i < ce.ce_nold; i++)
		cli_describe(&ce.ce_old[i], "keyd: was: ");
	if (ce.ce_set)
		printf("keyd: %.*s (%s) is now verified, in every room\n",
		    (int)ce.ce_nicklen, arg, fp);
	else
		printf("keyd: no key with fingerprint %s met yet; %.*s will be verified "
		    "in every room from the first meeting on\n", fp, (int)ce.ce_nicklen, arg);
	free(ce.ce_old);
	return 0;
}

/* --forget: every entry labelled NICK, or with that fingerprint, goes. */
static enum keyd_pin_edit
cli_forget_edit(void *arg, const struct keyd_pin *e, struct keyd_pin *out)
{
	struct cli_edit *ce = arg;

	(void)out;
	if ((ce->ce_nick != NULL && e->pn_nicklen == ce->ce_nicklen &&
	    memcmp(e->pn_nick, ce->ce_nick, ce->ce_nicklen) == 0) || cli_same_fpr(ce, e)) {
		cli_keep_old(ce, e);
		return PIN_DROP;
	}
	return PIN_KEEP;
}

static int
do_forget(const char *home, const char *arg)
{
	struct cli_edit ce;
	struct keyd_pins kp;
	size_t changed, i;
	int r;

	memset(&ce, 0, sizeof(ce));
	ce.ce_has_fpr = proto_fpr_parse(arg, ce.ce_fpr) == 0;
	if (proto_nick_valid((const uint8_t *)arg, strlen(arg))) {
		ce.ce_nick = arg;
		ce.ce_nicklen = strlen(arg);
	}
	if (cli_pins(home, &kp) != 0)
		return 1;
	r = keyd_pins_rewrite(&kp, cli_forget_edit, &ce, NULL, 1, &changed);
	cli_done(&kp);
	if (r == 0 && ce.ce_oom)
		r = VEIL_E_ALLOC;
	if (r != 0) {
		fprintf(stderr, "keyd: forget %s: %s\n", arg, veil_strerror(r));
		free(ce.ce_old);
		return 1;
	}
	if (ce.ce_nold == 0)
		printf("keyd: no entry for %s; nothing changed\n", arg);
	for (i = 0; i < ce.ce_nold; i++)
		cli_describe(&ce.ce_old[i], "keyd: forgot ");
	free(ce.ce_old);
	return 0;
}

/*
 * The parent of --daemon: waits until the child says it is ready ('r'), or
 * that a keyd already serves the socket ('a': said on stderr; exit 0, so
 * `keyd --daemon && chatc` works every time).
 */
static int
daemon_parent(int rfd, pid_t pid)
{
	char c;
	ssize_t r;
	int st;

	do {
		r = read(rfd, &c, 1);
	} while (r == -1 && errno == EINTR);
	(void)close(rfd);
	if (r == 1 && c == 'r')
		return 0;
	/* The child failed before it was ready and said why on stderr. */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return r == 1 && c == 'a' ? 0 : 1;
}

static void tty_say(int, const char *, ...) __attribute__((format(printf, 2, 3)));

/* A daemon's last words to the terminal that started it (fd), once its stderr is the log. */
static void
tty_say(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Not dprintf: its stream asks fstat for a buffer size, which the sandbox forbids. */
	if (n > 0 && write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		return;
}

/*
 * A daemon from here on: stdin and stdout on /dev/null, stderr to syslog
 * (or HOME/keyd.log). *tty keeps the terminal for the lines due before the
 * parent returns; the caller closes it then.
 */
static int
daemon_detach(const char *home, struct keyd_log *lg, int *tty)
{
	int nul;

	*tty = -1;
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(nul, STDIN_FILENO) == -1 || dup2(nul, STDOUT_FILENO) == -1) {
		fprintf(stderr, "keyd: /dev/null: %s\n", strerror(errno));
		return -1;
	}
	if (keyd_log_open(lg, home) != 0 ||
	    (*tty = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    keyd_log_start(lg, nul) != 0) {
		fprintf(stderr, "keyd: cannot set up logging: %s\n", strerror(errno));
		if (*tty >= 0)
			(void)close(*tty);
		*tty = -1;
		(void)close(nul);
		return -1;
	}
	if (nul > STDERR_FILENO)
		(void)close(nul);
	return 0;
}

static int
do_serve(const char *home, const char *sock, int daemonize)
{
	static struct sbx_rule rules[64];
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	struct keyd_pins kp;
	struct keyd_sock ks = { -1, "", 0, 0, { 0, 0 } };
	struct keyd_log lg;
	struct keyd_ctx kc;
	int lfd = -1, pfd[2] = { -1, -1 }, tty = -1, r, rc = 1;
	size_t nrules;
	pid_t pid;

	memset(&kc, 0, sizeof(kc));
	memset(&kp, 0, sizeof(kp));
	kp.kp_fd = kp.kp_locks_fd = -1;
	if (daemonize) {
		if (pipe2(pfd, O_CLOEXEC) == -1) {
			fprintf(stderr, "keyd: pipe: %s\n", strerror(errno));
			return 1;
		}
		if ((pid = fork()) == -1) {
			fprintf(stderr, "keyd: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid != 0) {
			(void)close(pfd[1]);
			return daemon_parent(pfd[0], pid);
		}
		(void)close(pfd[0]);
		(void)setsid();
	}
	lock_memory();

	if (load_identity(home, 0) != 0 ||
	    path_join(path, sizeof(path), home, "/" KEYD_PINS_FILE) != 0 ||
	    keyd_pins_open(&kp, path) != 0)
		goto out;
	if ((r = keyd_ctx_init(&kc, &keyd_id, &kp)) != 0) {
		fprintf(stderr, "keyd: %s\n", veil_strerror(r));
		goto out;
	}
	if (strlen(sock) >= sizeof(dir)) {
		fprintf(stderr, "keyd: socket path too long\n");
		goto out;
	}
	memcpy(dir, sock, strlen(sock) + 1);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	else if (slash == dir)
		dir[1] = '\0';
	else
		memcpy(dir, ".", 2);
	if (keyd_private_dir(dir, "socket directory") != 0)
		goto out;
	if ((r = keyd_listen(sock, &lfd)) != 0) {
		/* Already running (keyd_listen said so): what --daemon was asked for. */
		if (r == VEIL_E_STATE && daemonize && write(pfd[1], "a", 1) == 1)
			rc = 0;
		goto out;
	}
	(void)keyd_sock_keep(&ks, sock);
	if ((r = warm_up(&keyd_id)) != 0) {
		fprintf(stderr, "keyd: crypto self-test failed (%s); not starting\n",
		    veil_strerror(r));
		goto out;
	}
	if (keyd_signals() != 0) {
		fprintf(stderr, "keyd: signals: %s\n", strerror(errno));
		goto out;
	}
	if (daemonize && daemon_detach(home, &lg, &tty) != 0)
		goto out;
	if ((nrules = sbx_keyd_build(rules, sizeof(rules) / sizeof(rules[0]),
	    ks.ks_dirfd)) == 0 || sbx_no_new_privs() != 0 || sbx_install(rules, nrules) != 0) {
		fprintf(stderr, "keyd: cannot install the sandbox; not starting\n");
		tty_say(tty, "keyd: cannot install the sandbox; not starting\n");
		goto out;
	}
	fprintf(stderr, "keyd: listening on %s\n", sock);
	if (daemonize) {
		tty_say(tty, "keyd: listening on %s (pid %ld); messages go to %s from now on\n",
		    sock, (long)getpid(), keyd_log_where(&lg));
		(void)close(tty);
		tty = -1;
		if (write(pfd[1], "r", 1) != 1)
			goto out;
		(void)close(pfd[1]);
		pfd[1] = -1;
	}
	if (keyd_serve(&kc, lfd) == 0)
		rc = 0;
	fprintf(stderr, "keyd: stopped\n");
out:
	/* Gone before the listener closes: a keyd starting now finds no socket to take. */
	keyd_sock_remove(&ks);
	keyd_ctx_free(&kc);
	vc_wipe(&keyd_id, sizeof(keyd_id));
	keyd_pins_close(&kp);
	if (lfd >= 0)
		(void)close(lfd);
	if (pfd[1] >= 0)
		(void)close(pfd[1]);
	if (tty >= 0)
		(void)close(tty);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",	 required_argument, NULL, 's' },
		{ "home",	 required_argument, NULL, 'H' },
		{ "daemon",	 no_argument,	    NULL, 'd' },
		{ "fingerprint", no_argument,	    NULL, 'f' },
		{ "forget",	 required_argument, NULL, 'F' },
		{ "trust",	 required_argument, NULL, 'T' },
		{ "list",	 no_argument,	    NULL, 'L' },
		{ "stop",	 no_argument,	    NULL, 'S' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ "version",	 no_argument,	    NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char home[PATH_MAX], sock[PATH_MAX];
	const char *o_home = NULL, *o_sock = NULL, *o_forget = NULL, *o_trust = NULL, *eq;
	uint8_t fpr[FPR_LEN];
	int ch, o_daemon = 0, o_fpr = 0, o_list = 0, o_stop = 0;
	enum keyd_mode mode;

	harden_basic();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': o_sock = optarg; break;
		case 'H': o_home = optarg; break;
		case 'd': o_daemon = 1; break;
		case 'f': o_fpr = 1; break;
		case 'F': o_forget = optarg; break;
		case 'T': o_trust = optarg; break;
		case 'L': o_list = 1; break;
		case 'S': o_stop = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("keyd (veil) %s\n", VEIL_VERSION); return 0;
		default:
			/* optopt names a known long option only when its value was the problem. */
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) == 0)
				return usage_error(strchr(argv[optind - 1], '=') != NULL ?
				    "option \"%s\" takes no value" : "option \"%s\" needs a value",
				    argv[optind - 1]);
			return usage_error("unknown or ambiguous option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (o_fpr + (o_forget != NULL) + (o_trust != NULL) + o_list + o_stop > 1)
		return usage_error("--fingerprint, --list, --trust, --forget and --stop do "
		    "not go together");
	mode = o_fpr ? MODE_FINGERPRINT : o_forget != NULL ? MODE_FORGET :
	    o_trust != NULL ? MODE_TRUST : o_list ? MODE_LIST : o_stop ? MODE_STOP :
	    MODE_SERVE;
	if (mode != MODE_SERVE && mode != MODE_STOP && (o_sock != NULL || o_daemon))
		return usage_error("--socket and --daemon are for the daemon, not for "
		    "--fingerprint, --list, --trust or --forget");
	if (mode == MODE_STOP && (o_daemon || o_home != NULL))
		return usage_error("--stop takes --socket only");
	if (o_forget != NULL &&
	    !proto_nick_valid((const uint8_t *)o_forget, strlen(o_forget)) &&
	    proto_fpr_parse(o_forget, fpr) != 0)
		return usage_error("\"%s\" is neither a nickname (1..%d of A-Z a-z 0-9 "
		    "_ - .) nor a fingerprint (40 hex digits, groups of 4 joined by : "
		    "or -)", o_forget, NICK_MAX);
	if (o_trust != NULL && ((eq = strchr(o_trust, '=')) == NULL ||
	    !proto_nick_valid((const uint8_t *)o_trust, (size_t)(eq - o_trust)) ||
	    proto_fpr_parse(eq + 1, fpr) != 0))
		return usage_error("--trust wants NICK=FINGERPRINT: a nickname (1..%d of "
		    "A-Z a-z 0-9 _ - .), '=', and the fingerprint NICK told you out of "
		    "band (as keyd --fingerprint prints it)", NICK_MAX);
	if (o_home != NULL) {
		if (o_home[0] == '\0' || strlen(o_home) >= sizeof(home))
			return usage_error("--home: bad path");
		memcpy(home, o_home, strlen(o_home) + 1);
	} else if (default_home(home, sizeof(home)) != 0) {
		fprintf(stderr, "keyd: cannot find a home directory; use --home DIR\n");
		return 1;
	}
	if (o_sock != NULL) {
		if (o_sock[0] == '\0' || strlen(o_sock) >= sizeof(sock))
			return usage_error("--socket: bad path");
		memcpy(sock, o_sock, strlen(o_sock) + 1);
	} else if (default_socket(sock, sizeof(sock)) != 0) {
		fprintf(stderr, "keyd: socket path too long; use --socket PATH\n");
		return 1;
	}

	switch (mode) {
	case MODE_FINGERPRINT:
		return do_fingerprint(home);
	case MODE_FORGET:
		return do_forget(home, o_forget);
	case MODE_TRUST:
		return do_trust(home, o_trust);
	case MODE_LIST:
		return do_list(home);
	case MODE_STOP:
		return keyd_stop(sock);
	case MODE_SERVE:
	default:
		return do_serve(home, sock, o_daemon);
	}
}
