/* SPDX-License-Identifier: ISC */
/*
 * relayd: the blind relay. Option parsing and start-up order: the TLS key
 * and certificate (tls.h), bind, raise the descriptor limit, then (as root)
 * chroot + drop to --user, then no_new_privs and the seccomp filter, and
 * only then the event loop.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clcore.h"
#include "clmsg.h"
#include "cluster.h"
#include "err.h"
#include "frame.h"
#include "relay.h"
#include "relayfp.h"
#include "sbx.h"
#include "tls.h"

#define RELAYD_LISTEN_DEFAULT	"127.0.0.1:7700"
#define RELAYD_USER_DEFAULT	"nobody"
#define RELAYD_CHROOT_DEFAULT	"/var/empty"
#define RELAYD_CHROOT_FALLBACK	"/run/relayd-empty"
#define RELAYD_CLIENTS_MAX	1000000
#define RELAYD_IDLE_MAX		86400
#define RELAYD_FD_SLACK		16	/* listener, epoll, signalfd, spare, stdio */
#define RELAYD_STALL_MAX	60000
#define RELAYD_SLOW_MAX		3600

static void
usage(FILE *f)
{
	fprintf(f,
"usage: relayd --key FILE [--cert FILE] [--listen ADDR:PORT] [--max-clients N]\n"
"              [--max-per-addr N] [--max-frame BYTES] [--room-size N]\n"
"              [--idle-timeout SEC] [--user NAME] [--chroot DIR]\n"
"              [--queue-soft BYTES] [--queue-hard BYTES] [--stall-window MS]\n"
"              [--slow-timeout SEC]\n"
"              [--cluster nats://ADDR:PORT[,...] --node NAME [--cluster-creds FILE]\n"
"               [--cluster-ca FILE [--cluster-tls-name NAME]] [--cluster-quorum N]]\n"
"       relayd --plaintext [same options but --key and --cert]\n"
"       relayd --gen-key FILE\n"
"       relayd --fingerprint --key FILE\n"
"       relayd -h | --help | --version\n"
"\n"
"Forwards opaque veil frames between the members of a room, over TLS 1.3.\n"
"Reads only the routing header; logs no address, room or member id.\n"
"\n"
"  --key FILE           the relay's private key (PEM, mode 0600, owned by\n"
"                       relayd's user); its fingerprint is what clients pin\n"
"  --cert FILE          certificate chain for that key (PEM, leaf first), for\n"
"                       clients that check a CA; default: a self-signed one\n"
"                       made at start-up (clients pin the key instead)\n"
"  --plaintext          no TLS: frames in the clear, for loopback tests and\n"
"                       benchmarks only; clients need --plaintext too\n"
"  --gen-key FILE       write a new ECDSA P-256 key to FILE (mode 0600; never\n"
"                       replaces a file), print its fingerprint, exit\n"
"  --fingerprint        with --key FILE: print that key's fingerprint, exit\n"
"  --listen ADDR:PORT   numeric address to listen on, IPv6 in brackets\n"
"                       ([::1]:7700); port 0 picks a free port, named on the\n"
"                       \"listening on\" line (default %s)\n"
"  --max-clients N      connections at once; one more gets ERROR server-full\n"
"                       and is closed (1..%d, default 1024)\n"
"  --max-per-addr N     connections from one source address (an IPv6 address\n"
"                       counts by its /64); one more gets ERROR server-full\n"
"                       and is closed (0..%d, default 0: no cap)\n"
"  --max-frame BYTES    largest frame payload; larger closes the connection\n"
"                       (%d..%d, default %d)\n"
"  --room-size N        members per room (2..%d, default %d)\n"
"  --idle-timeout SEC   time to send JOIN after connecting (1..%d,\n"
"                       default 10); members are closed after %d missed\n"
"                       %d-second keepalives\n"
"  --queue-soft BYTES   a member with more than this queued for it holds\n"
"                       back its room: relayd stops reading the others (TCP\n"
"                       slows whoever floods) until the queue is under a\n"
"                       quarter of it (at least %d, default %d)\n"
"  --queue-hard BYTES   a member with more than this queued is dropped with\n"
"                       ERROR slow (at least --queue-soft + %d, at most\n"
"                       %d, default %d)\n"
"  --stall-window MS    how long one member holds back its room at most;\n"
"                       after that it queues alone (0..%d, default %d)\n"
"  --slow-timeout SEC   a member that takes not one byte of its queue for SEC\n"
"                       seconds is dropped with ERROR slow (1..%d, default %d)\n"
"  --cluster URLS       join a cluster of relays over NATS: rooms span every\n"
"                       node, member ids and --room-size hold cluster-wide;\n"
"                       URLS are nats://ADDR:PORT or tls://ADDR:PORT,\n"
"                       numeric, comma-separated (up to %d); every node of a\n"
"                       cluster uses the same --key and the same limits\n"
"  --node NAME          this relay's name in the cluster, unique (1..%d of\n"
"                       A-Z a-z 0-9 _ -); it names its NATS subject\n"
"  --cluster-creds FILE how relayd logs in to NATS (mode 0600): a NATS\n"
"                       .creds file (user JWT and nkey seed), a user nkey\n"
"                       seed alone, or \"user NAME\" and \"password SECRET\"\n"
"                       lines, or a \"token SECRET\" line\n"
"  --cluster-ca FILE    TLS to NATS, the servers' certificates checked\n"
"                       against this CA file alone (PEM)\n"
"  --cluster-tls-name NAME  with --cluster-ca: the name the servers'\n"
"                       certificates must carry (default: the chain alone)\n"
"  --cluster-quorum N   serve only while N nodes (this one included) are\n"
"                       alive: set it to a majority so that a split NATS\n"
"                       cluster cannot run one room twice (1..%d, default 1)\n"
"  --user NAME          when started as root: user to run as (default %s)\n"
"  --chroot DIR         when started as root: empty directory, owned by root\n"
"                       and writable by nobody else, to chroot into (default\n"
"                       %s; if that is missing, relayd creates and uses\n"
"                       %s, 0755 root, and refuses to start\n"
"                       if it exists with other owners, modes or content)\n"
"  -h, --help           this text\n"
"  --version            print the version\n"
"\n"
"SIGUSR1 prints counters to stderr; SIGTERM or SIGINT closes every\n"
"connection and exits 0. Exit status 2 on a usage error, 1 if start-up fails.\n"
"\n"
"example:\n"
"  relayd --gen-key /var/lib/relayd/key\n"
"  relayd --key /var/lib/relayd/key --listen 0.0.0.0:7700 --max-clients 200\n",
	    RELAYD_LISTEN_DEFAULT, RELAYD_CLIENTS_MAX, RELAYD_CLIENTS_MAX,
	    FRAME_MIN_LIMIT, FRAME_MAX_LIMIT,
	    FRAME_MAX_DEFAULT, ROOM_SIZE_MAX, ROOM_SIZE_DEFAULT, RELAYD_IDLE_MAX,
	    KEEPALIVE_MISSES, KEEPALIVE_SEC, RELAYD_QUEUE_MIN, RELAYD_QUEUE_SOFT,
	    RELAYD_READ_MAX, RELAYD_QUEUE_LIMIT, RELAYD_QUEUE_HARD, RELAYD_STALL_MAX,
	    RELAYD_STALL_MS, RELAYD_SLOW_MAX, RELAYD_SLOW_SEC,
	    CLUSTER_URLS_MAX, CL_NAME_MAX, CL_NODES_MAX,
	    RELAYD_USER_DEFAULT, RELAYD_CHROOT_DEFAULT,
	    RELAYD_CHROOT_FALLBACK);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says what was wrong and returns the usage exit status, 2. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "relayd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'relayd --help'.\n");
	return 2;
}

/* Strict decimal in lo..hi: no sign, no spaces, no trailing bytes. */
static int
parse_num(const char *s, unsigned long lo, unsigned long hi, uint32_t *out)
{
	unsigned long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 10)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/*
 * The default jail: /var/empty, or else a directory we make ourselves. An
 * existing fallback is only used if it is empty (sbx_drop_root checks the
 * owner and mode).
 */
static const char *
chroot_default(void)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (stat(RELAYD_CHROOT_DEFAULT, &st) == 0 || errno != ENOENT)
		return RELAYD_CHROOT_DEFAULT;
	if (mkdir(RELAYD_CHROOT_FALLBACK, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "relayd: %s is missing and %s cannot be made: %s\n",
		    RELAYD_CHROOT_DEFAULT, RELAYD_CHROOT_FALLBACK, strerror(errno));
		return NULL;
	}
	if ((d = opendir(RELAYD_CHROOT_FALLBACK)) == NULL) {
		fprintf(stderr, "relayd: %s: %s\n", RELAYD_CHROOT_FALLBACK, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			closedir(d);
			fprintf(stderr, "relayd: %s is not empty; refusing to chroot there\n",
			    RELAYD_CHROOT_FALLBACK);
			return NULL;
		}
	}
	closedir(d);
	return RELAYD_CHROOT_FALLBACK;
}

/*
 * Descriptors 0-2 must be open before any socket is made: otherwise a
 * client connection could become stderr and receive the log lines
 * (OpenSSH sanitise_stdfd).
 */
static int
stdfds_open(void)
{
	int nullfd, fd;

	if ((nullfd = fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	while (++fd <= STDERR_FILENO)
		if (fcntl(fd, F_GETFL) == -1 && errno == EBADF &&
		    dup2(nullfd, fd) == -1)
			return -1;
	if (nullfd > STDERR_FILENO)
		close(nullfd);
	return 0;
}

/* Raises RLIMIT_NOFILE to what max_clients needs; returns the usable setsize. */
static int
raise_nofile(uint32_t max_clients)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_clients + RELAYD_FD_SLACK;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < need) {
		/* Only root may raise the hard limit; others go as far as it allows. */
		if (rl.rlim_max < need && geteuid() == 0)
			rl.rlim_max = need;
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	if (rl.rlim_cur < need)
		fprintf(stderr, "relayd: descriptor limit %llu is below --max-clients + %d; "
		    "clients past it are refused\n", (unsigned long long)rl.rlim_cur,
		    RELAYD_FD_SLACK);
	if (rl.rlim_cur > (rlim_t)RELAYD_CLIENTS_MAX + RELAYD_FD_SLACK)
		return RELAYD_CLIENTS_MAX + RELAYD_FD_SLACK;
	return (int)rl.rlim_cur;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen",		required_argument,	NULL, 'l' },
		{ "max-clients",	required_argument,	NULL, 'c' },
		{ "max-per-addr",	required_argument,	NULL, 'a' },
		{ "max-frame",		required_argument,	NULL, 'f' },
		{ "room-size",		required_argument,	NULL, 'r' },
		{ "idle-timeout",	required_argument,	NULL, 't' },
		{ "user",		required_argument,	NULL, 'u' },
		{ "chroot",		required_argument,	NULL, 'C' },
		{ "queue-soft",		required_argument,	NULL, 'q' },
		{ "queue-hard",		required_argument,	NULL, 'Q' },
		{ "stall-window",	required_argument,	NULL, 'w' },
		{ "slow-timeout",	required_argument,	NULL, 's' },
		{ "key",		required_argument,	NULL, 'k' },
		{ "cert",		required_argument,	NULL, 'x' },
		{ "plaintext",		no_argument,		NULL, 'P' },
		{ "gen-key",		required_argument,	NULL, 'g' },
		{ "fingerprint",	no_argument,		NULL, 'F' },
		{ "cluster",		required_argument,	NULL, 'N' },
		{ "node",		required_argument,	NULL, 'n' },
		{ "cluster-creds",	required_argument,	NULL, 'K' },
		{ "cluster-ca",		required_argument,	NULL, 'A' },
		{ "cluster-tls-name",	required_argument,	NULL, 'T' },
		{ "cluster-quorum",	required_argument,	NULL, 'Z' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "version",		no_argument,		NULL, 'V' },
		{ NULL,			0,			NULL, 0 },
	};
	struct relayd_config cfg;
	struct cluster_config ccfg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct relayd *r = NULL;
	const char *listen_at = RELAYD_LISTEN_DEFAULT, *user = RELAYD_USER_DEFAULT;
	const char *jail = NULL, *keyfile = NULL, *certfile = NULL, *genkey = NULL;
	char desc[80], fptext[RELAYFP_TEXT_MAX], why[256];
	uint8_t fp[RELAYFP_LEN];
	struct rtls *tls = NULL;
	uint32_t idle, v;
	int ch, setsize, rc, plaintext = 0, want_fp = 0, nopts = 0;

	if (stdfds_open() != 0)
		return 1;
	/*
	 * Nothing inherited survives: the filter allows write(), so any open
	 * file handed down would be writable by a compromised relay.
	 */
	closefrom(STDERR_FILENO + 1);
	relayd_config_default(&cfg);
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.cc_quorum = 1;
	/* Sockets use MSG_NOSIGNAL; this covers a closed stderr pipe too. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "relayd: SIGPIPE: %s\n", strerror(errno));
		return 1;
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		nopts++;
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'c':
			if (parse_num(optarg, 1, RELAYD_CLIENTS_MAX, &cfg.rc_max_clients) != 0)
				return usage_error("bad --max-clients \"%s\"", optarg);
			break;
		case 'a':
			if (parse_num(optarg, 0, RELAYD_CLIENTS_MAX, &cfg.rc_max_per_addr) != 0)
				return usage_error("bad --max-per-addr \"%s\"", optarg);
			break;
		case 'f':
			if (parse_num(optarg, FRAME_MIN_LIMIT, FRAME_MAX_LIMIT,
			    &cfg.rc_max_frame) != 0)
				return usage_error("bad --max-frame \"%s\"", optarg);
			break;
		case 'r':
			if (parse_num(optarg, 2, ROOM_SIZE_MAX, &cfg.rc_room_size) != 0)
				return usage_error("bad --room-size \"%s\"", optarg);
			break;
		case 't':
			if (parse_num(optarg, 1, RELAYD_IDLE_MAX, &idle) != 0)
				return usage_error("bad --idle-timeout \"%s\"", optarg);
			cfg.rc_idle_ms = idle * 1000;
			break;
		case 'u':
			if (*optarg == '\0')
				return usage_error("empty --user%s", "");
			user = optarg;
			break;
		case 'C':
			if (*optarg != '/')
				return usage_error("--chroot needs an absolute path, not \"%s\"",
				    optarg);
			jail = optarg;
			break;
		case 'q':
			if (parse_num(optarg, RELAYD_QUEUE_MIN, RELAYD_QUEUE_LIMIT, &v) != 0)
				return usage_error("bad --queue-soft \"%s\"", optarg);
			cfg.rc_out_soft = v;
			break;
		case 'Q':
			if (parse_num(optarg, RELAYD_QUEUE_MIN + RELAYD_READ_MAX,
			    RELAYD_QUEUE_LIMIT, &v) != 0)
				return usage_error("bad --queue-hard \"%s\"", optarg);
			cfg.rc_out_max = v;
			break;
		case 'w':
			if (parse_num(optarg, 0, RELAYD_STALL_MAX, &cfg.rc_stall_ms) != 0)
				return usage_error("bad --stall-window \"%s\"", optarg);
			break;
		case 's':
			if (parse_num(optarg, 1, RELAYD_SLOW_MAX, &v) != 0)
				return usage_error("bad --slow-timeout \"%s\"", optarg);
			cfg.rc_slow_ms = v * 1000;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'x':
			certfile = optarg;
			break;
		case 'P':
			plaintext = 1;
			break;
		case 'g':
			genkey = optarg;
			break;
		case 'F':
			want_fp = 1;
			break;
		case 'N':
			if (cluster_parse_urls(optarg) != 0)
				return usage_error("bad --cluster \"%s\" (want nats://ADDR:PORT or "
				    "tls://ADDR:PORT, numeric, comma-separated, at most %d)", optarg,
				    CLUSTER_URLS_MAX);
			ccfg.cc_urls = optarg;
			break;
		case 'n':
			if (!clm_name_ok(optarg, strlen(optarg)))
				return usage_error("bad --node \"%s\" (1 to %d of A-Z a-z 0-9 _ -)",
				    optarg, CL_NAME_MAX);
			ccfg.cc_node = optarg;
			break;
		case 'K':
			ccfg.cc_creds = optarg;
			break;
		case 'A':
			ccfg.cc_ca = optarg;
			break;
		case 'T':
			if (*optarg == '\0')
				return usage_error("empty --cluster-tls-name%s", "");
			ccfg.cc_tls_name = optarg;
			break;
		case 'Z':
			if (parse_num(optarg, 1, CL_NODES_MAX, &ccfg.cc_quorum) != 0)
				return usage_error("bad --cluster-quorum \"%s\"", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("relayd (veil) %s\n", VEIL_VERSION);
			return 0;
		default:
			/*
			 * optopt names a known long option whose value was the
			 * problem; for an unknown short one it is that letter.
			 */
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) == 0)
				return usage_error(strchr(argv[optind - 1], '=') != NULL ?
				    "option \"%s\" takes no value" : "option \"%s\" needs a value",
				    argv[optind - 1]);
			return usage_error("unknown or ambiguous option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (genkey != NULL || want_fp) {
		/* The key commands take nothing else. */
		if (genkey != NULL && nopts != 1)
			return usage_error("--gen-key FILE takes no other option%s", "");
		if (want_fp && (keyfile == NULL || nopts != 2))
			return usage_error("--fingerprint takes --key FILE and nothing else%s", "");
		if (genkey != NULL ? rtls_gen_key(genkey, fp) != 0 :
		    rtls_key_fingerprint(keyfile, fp) != 0)
			return 1;
		proto_relayfp_format(fp, fptext);
		printf("%s\n", fptext);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (plaintext && (keyfile != NULL || certfile != NULL))
		return usage_error("--plaintext takes no --key or --cert%s", "");
	if (!plaintext && keyfile == NULL)
		return usage_error("relayd speaks TLS: give it --key FILE (make one with "
		    "relayd --gen-key FILE), or --plaintext for a loopback test%s", "");
	/* A sender's read in progress is queued whole: it must fit above the soft bound. */
	if (cfg.rc_out_max < cfg.rc_out_soft + RELAYD_READ_MAX)
		return usage_error("--queue-hard %zu must be at least --queue-soft %zu + %d",
		    cfg.rc_out_max, cfg.rc_out_soft, RELAYD_READ_MAX);
	if ((ccfg.cc_urls == NULL) != (ccfg.cc_node == NULL))
		return usage_error("--cluster and --node go together%s", "");
	if (ccfg.cc_urls == NULL && (ccfg.cc_creds != NULL || ccfg.cc_ca != NULL ||
	    ccfg.cc_tls_name != NULL || ccfg.cc_quorum != 1))
		return usage_error("--cluster-creds, --cluster-ca, --cluster-tls-name and "
		    "--cluster-quorum need --cluster%s", "");
	if (ccfg.cc_tls_name != NULL && ccfg.cc_ca == NULL)
		return usage_error("--cluster-tls-name needs --cluster-ca%s", "");
	if (ccfg.cc_urls != NULL && ccfg.cc_ca == NULL && strstr(ccfg.cc_urls, "tls://") != NULL)
		return usage_error("tls:// in --cluster needs --cluster-ca FILE (the CA that "
		    "signs the NATS servers' certificates)%s", "");
	ccfg.cc_room_size = (uint16_t)cfg.rc_room_size;
	ccfg.cc_hold_ms = cfg.rc_stall_ms;
	if (relayd_parse_listen(listen_at, &ss, &sslen) != 0)
		return usage_error("bad --listen \"%s\" (want ADDR:PORT or [ADDR6]:PORT)",
		    listen_at);

	if (plaintext)
		fprintf(stderr, "relayd: plaintext mode: no TLS; for loopback tests and "
		    "benchmarks only\n");
	else {
		/* Files and libssl's set-up now: the sandbox allows neither later. */
		if (rtls_new(&tls, keyfile, certfile) != 0)
			return 1;
		cfg.rc_tls = tls;
		proto_relayfp_format(tls->rt_fp, fptext);
		fprintf(stderr, "relayd: TLS 1.3, key fingerprint %s\n", fptext);
		if (tls->rt_ktls)
			fprintf(stderr, "relayd: kTLS: asked for (the kernel has the TLS ULP); "
			    "SIGUSR1 counts the connections it took\n");
		else
			fprintf(stderr, "relayd: kTLS: off: %s%s%s; records are sealed in "
			    "user space\n",
			    tls->rt_ktls_errno == ENOTSUP ? "OpenSSL built without it" :
			    "the kernel offers no TLS ULP (setsockopt TCP_ULP \"tls\": ",
			    tls->rt_ktls_errno == ENOTSUP ? "" : strerror(tls->rt_ktls_errno),
			    tls->rt_ktls_errno == ENOTSUP ? "" : ")");
	}
	if ((setsize = raise_nofile(cfg.rc_max_clients)) < 0) {
		fprintf(stderr, "relayd: RLIMIT_NOFILE: %s\n", strerror(errno));
		return 1;
	}
	if ((rc = relayd_new(&r, &cfg, setsize)) != 0) {
		fprintf(stderr, "relayd: start-up: %s\n", veil_strerror(rc));
		rtls_free(tls);
		return 1;
	}
	if (relayd_listen(r, &ss, sslen, desc, sizeof(desc)) != 0) {
		fprintf(stderr, "relayd: cannot listen on %s: %s\n", listen_at, strerror(errno));
		goto fail;
	}
	/* Signals blocked first: libnats' threads inherit the mask, the signalfd gets them. */
	if (relayd_watch_signals(r) != 0) {
		fprintf(stderr, "relayd: signals: %s\n", strerror(errno));
		goto fail;
	}
	if (ccfg.cc_urls != NULL) {
		/* Its files, its connection and libnats' threads, before the sandbox. */
		if (relayd_cluster(r, &ccfg, why, sizeof(why)) != 0) {
			fprintf(stderr, "relayd: cluster: %s\n", why);
			goto fail;
		}
		fprintf(stderr, "relayd: cluster: node %s on %s%s%s\n", ccfg.cc_node,
		    ccfg.cc_urls, ccfg.cc_ca != NULL ? ", TLS" : "",
		    ccfg.cc_creds != NULL ? ", with credentials" : "");
	}
	if (geteuid() == 0) {
		if (jail == NULL && (jail = chroot_default()) == NULL)
			goto fail;
		if (sbx_drop_root(user, jail) != 0)
			goto fail;
	}
	if (sbx_no_new_privs() != 0 || (ccfg.cc_urls == NULL ?
	    sbx_install(sbx_relayd_rules, sbx_relayd_nrules) :
	    sbx_install_more(sbx_relayd_rules, sbx_relayd_nrules, sbx_relayd_cluster_rules,
	    sbx_relayd_cluster_nrules)) != 0)
		goto fail;

	fprintf(stderr, "relayd: listening on %s\n", desc);
	if ((rc = relayd_run(r)) != 0) {
		if (rc == VEIL_E_STATE)
			fprintf(stderr, "relayd: another relayd of the cluster is node %s; "
			    "each needs its own --node NAME\n", ccfg.cc_node);
		else
			fprintf(stderr, "relayd: event loop failed: %s\n", strerror(errno));
		goto fail;
	}
	fprintf(stderr, "relayd: shutting down\n");
	relayd_shutdown(r);
	relayd_free(r);
	rtls_free(tls);
	return 0;
 fail:
	relayd_free(r);
	rtls_free(tls);
	return 1;
}
