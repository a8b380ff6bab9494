/* SPDX-License-Identifier: ISC */
/*
 * relayd's seccomp table, loaded by sandbox/sbx.c. Each verdict is taken in
 * a grandchild forked inside the test (never in Check's own process, which
 * needs timer_create afterwards): it installs the filter, makes one call,
 * and the test asserts on its wait status.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "relay.h"
#include "sbx.h"
#include "tls.h"

enum probe {
	P_ALLOWED,		/* only what relayd does in its loop */
	P_EXECVE,
	P_OPENAT,
	P_SOCKET,
	P_PTRACE,
	P_CONNECT,
	P_SETSOCKOPT_OTHER,	/* setsockopt, but not TCP_NODELAY */
	P_MMAP_EXEC,		/* mmap with PROT_EXEC */
};

/* Runs in the grandchild, after the filter: returns only if the call was allowed. */
static void
probe_call(enum probe p)
{
	static char *const argv[] = { "true", NULL };
	int one = 1, sv[2] = { -1, -1 };

	switch (p) {
	case P_ALLOWED:
		break;
	case P_EXECVE:
		execve("/bin/true", argv, NULL);
		break;
	case P_OPENAT:
		(void)!openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
		break;
	case P_SOCKET:
		(void)!socket(AF_INET, SOCK_STREAM, 0);
		break;
	case P_PTRACE:
		(void)!ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case P_CONNECT:
		(void)!connect(0, NULL, 0);
		break;
	case P_SETSOCKOPT_OTHER:
		(void)!setsockopt(0, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		break;
	case P_MMAP_EXEC:
		(void)!mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	}
	(void)sv;
}

/* Descriptors made before the filter, as relayd makes its own before. */
struct fds {
	int	f_rfd, f_wfd;	/* a pipe */
	int	f_listen;	/* a listening TCP socket with one connection pending */
	int	f_peer;		/* that connection's client end */
	int	f_ep;		/* an epoll set watching f_rfd */
};

static void
fds_open(struct fds *f)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	socklen_t len = sizeof(sin);
	int p[2];

	memset(&sin, 0, sizeof(sin));
	memset(&ev, 0, sizeof(ev));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(pipe(p), 0);
	f->f_rfd = p[0];
	f->f_wfd = p[1];
	ck_assert_int_ne(f->f_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), -1);
	ck_assert_int_eq(bind(f->f_listen, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(f->f_listen, 4), 0);
	ck_assert_int_eq(getsockname(f->f_listen, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(f->f_peer = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(f->f_peer, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_ne(f->f_ep = epoll_create1(EPOLL_CLOEXEC), -1);
	ev.events = EPOLLIN;
	ev.data.fd = f->f_rfd;
	ck_assert_int_eq(epoll_ctl(f->f_ep, EPOLL_CTL_ADD, f->f_rfd, &ev), 0);
}

static void
fds_close(struct fds *f)
{
	close(f->f_rfd);
	close(f->f_wfd);
	close(f->f_listen);
	close(f->f_peer);
	close(f->f_ep);
}

/* What relayd's loop does, all of which must survive the filter. */
static int
allowed_calls(const struct fds *f)
{
	struct sockaddr_storage ss;
	struct epoll_event ev, got[4];
	struct timespec ts;
	socklen_t sslen = sizeof(ss);
	char c = 'x', *big;
	int one = 1, fd;

	if (write(f->f_wfd, &c, 1) != 1 || read(f->f_rfd, &c, 1) != 1)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 2;
	/* Large enough for malloc to use mmap/munmap. */
	if ((big = malloc(1 << 20)) == NULL)
		return 3;
	memset(big, 1, 1 << 20);
	free(big);
	/* setsockopt(TCP_NODELAY) on a non-socket: allowed, fails with ENOTSOCK. */
	if (setsockopt(f->f_rfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != -1 ||
	    errno != ENOTSOCK)
		return 4;
	/* What kTLS would need: the ULP, the keys, control records. */
	if (setsockopt(f->f_rfd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) != -1 ||
	    errno != ENOTSOCK ||
	    setsockopt(f->f_rfd, SOL_TLS, 1, &one, sizeof(one)) != -1 || errno != ENOTSOCK ||
	    sendmsg(f->f_rfd, NULL, 0) != -1 || recvmsg(f->f_rfd, NULL, 0) != -1)
		return 9;
	/* libssl's random generators: a fork check, and a reseed from the kernel. */
	if (getpid() <= 0 || getrandom(&c, 1, 0) != 1 || RAND_poll() != 1)
		return 10;
	/* accept4 with the peer's address (--max-per-addr). */
	if ((fd = accept4(f->f_listen, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1 || ss.ss_family != AF_INET)
		return 6;
	/* A sender held back: no events at all, then reading again. */
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = f->f_rfd;
	if (epoll_ctl(f->f_ep, EPOLL_CTL_MOD, f->f_rfd, &ev) != 0 ||
	    epoll_wait(f->f_ep, got, 4, 0) != 0)
		return 7;
	ev.events = EPOLLIN | EPOLLOUT;
	if (epoll_ctl(f->f_ep, EPOLL_CTL_MOD, f->f_rfd, &ev) != 0)
		return 8;
	if (close(fd) != 0 || close(f->f_rfd) != 0)
		return 5;
	return 0;
}

/* Forks, sandboxes the child, runs the probe; returns the wait status. */
static int
run_probe(enum probe p)
{
	struct fds f;
	int status, rc;
	pid_t pid;

	fds_open(&f);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* libssl's generators set up before the filter, as rtls_new does. */
		if (RAND_poll() != 1 || sbx_no_new_privs() != 0 ||
		    sbx_install(sbx_relayd_rules, sbx_relayd_nrules) != 0)
			_exit(100);
		probe_call(p);
		rc = allowed_calls(&f);
		_exit(rc);
	}
	fds_close(&f);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

#ifndef VEIL_NO_SANDBOX
/*
 * A relay over TLS and a libssl client, both made before the filter, in
 * one process: the handshake, a JOIN and its WELCOME, a KeyUpdate, the
 * close, all under relayd's filter. Returns 0 or the step that failed.
 */
static int
tls_under_filter(void)
{
	static const uint8_t alpn[] = "\x06" RTLS_ALPN;
	struct relayd_config cfg;
	struct relayd *r = NULL;
	struct rtls *t = NULL;
	EVP_PKEY *key;
	SSL_CTX *cctx;
	SSL *cli;
	uint8_t join[FRAME_HDR_LEN + ROOM_ID_LEN], in[64];
	size_t n = 0, got;
	int sv[2], i, rc, done = 0;

	signal(SIGPIPE, SIG_IGN);
	if ((key = EVP_EC_gen("P-256")) == NULL || rtls_new_pkey(&t, key) != 0)
		return 20;
	relayd_config_default(&cfg);
	cfg.rc_tls = t;
	if (relayd_new(&r, &cfg, 64) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0 ||
	    relayd_add_conn(r, sv[0], NULL, 0) != 0 ||
	    (cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_alpn_protos(cctx, alpn, sizeof(alpn) - 1) != 0 ||
	    (cli = SSL_new(cctx)) == NULL || SSL_set_fd(cli, sv[1]) != 1)
		return 21;
	SSL_set_connect_state(cli);
	memset(join, 0, sizeof(join));
	join[0] = PROTO_VERSION;
	join[1] = FT_JOIN;
	veil_put32(join + 6, ROOM_ID_LEN);
	if (sbx_no_new_privs() != 0 || sbx_install(sbx_relayd_rules, sbx_relayd_nrules) != 0)
		return 22;
	for (i = 0; i < 100 && !done; i++) {
		if ((rc = SSL_do_handshake(cli)) == 1)
			done = 1;
		else if (SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ)
			return 23;
		if (relayd_step(r, 5) != 0)
			return 24;
	}
	if (!done || SSL_key_update(cli, SSL_KEY_UPDATE_REQUESTED) != 1 ||
	    SSL_write_ex(cli, join, sizeof(join), &got) != 1)
		return 25;
	for (i = 0; i < 100 && n < FRAME_HDR_LEN + 2; i++) {
		if (relayd_step(r, 5) != 0)
			return 26;
		if (SSL_read_ex(cli, in + n, sizeof(in) - n, &got) == 1)
			n += got;
	}
	if (n != FRAME_HDR_LEN + 2 || in[1] != FT_WELCOME ||
	    relayd_get_stats(r)->rs_tls_ok != 1)
		return 27;
	(void)SSL_shutdown(cli);
	for (i = 0; i < 20 && relayd_get_stats(r)->rs_conns != 0; i++)
		if (relayd_step(r, 5) != 0)
			return 28;
	if (relayd_get_stats(r)->rs_conns != 0)
		return 29;
	SSL_free(cli);
	SSL_CTX_free(cctx);
	relayd_free(r);
	rtls_free(t);
	EVP_PKEY_free(key);
	close(sv[1]);
	return 0;
}

static void
assert_killed(enum probe p)
{
	int status = run_probe(p);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "probe %d: wanted death by SIGSYS, got status 0x%x", (int)p, status);
}

START_TEST(test_sandbox_allowed)
{
	int status = run_probe(P_ALLOWED);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "allowed calls: status 0x%x", status);
}
END_TEST

START_TEST(test_sandbox_execve)
{
	assert_killed(P_EXECVE);
}
END_TEST

START_TEST(test_sandbox_openat)
{
	assert_killed(P_OPENAT);
}
END_TEST

START_TEST(test_sandbox_socket)
{
	assert_killed(P_SOCKET);
}
END_TEST

START_TEST(test_sandbox_ptrace)
{
	assert_killed(P_PTRACE);
}
END_TEST

START_TEST(test_sandbox_connect)
{
	assert_killed(P_CONNECT);
}
END_TEST

START_TEST(test_sandbox_arguments_narrow)
{
	/* The argument filters matter: same syscalls, other arguments. */
	assert_killed(P_SETSOCKOPT_OTHER);
	assert_killed(P_MMAP_EXEC);
}
END_TEST

START_TEST(test_sandbox_tls)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(tls_under_filter());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "TLS under the filter: status 0x%x", status);
}
END_TEST

START_TEST(test_sandbox_table_shape)
{
	size_t i;

	/* A small, named allowlist: nothing that opens files or runs programs. */
	ck_assert_uint_gt(sbx_relayd_nrules, 0);
	ck_assert_uint_le(sbx_relayd_nrules, 28);
	for (i = 0; i < sbx_relayd_nrules; i++) {
		ck_assert_ptr_nonnull(sbx_relayd_rules[i].sr_name);
		ck_assert_str_ne(sbx_relayd_rules[i].sr_name, "open");
		ck_assert_str_ne(sbx_relayd_rules[i].sr_name, "openat");
		ck_assert_str_ne(sbx_relayd_rules[i].sr_name, "execve");
		ck_assert_str_ne(sbx_relayd_rules[i].sr_name, "socket");
		ck_assert_str_ne(sbx_relayd_rules[i].sr_name, "ptrace");
		ck_assert_uint_le(sbx_relayd_rules[i].sr_nargs, SBX_MAX_ARGS);
	}
}
END_TEST

#else /* VEIL_NO_SANDBOX */

START_TEST(test_sandbox_compiled_out)
{
	/* The switch really switches it off: a forbidden call survives. */
	int status = run_probe(P_OPENAT);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "SANDBOX=0 build: status 0x%x", status);
}
END_TEST

#endif /* VEIL_NO_SANDBOX */

Suite *suite_relayd_sandbox(void);

Suite *
suite_relayd_sandbox(void)
{
	Suite *s = suite_create("relayd_sandbox");
	TCase *tc = tcase_create("verdicts");

#ifndef VEIL_NO_SANDBOX
	tcase_add_test(tc, test_sandbox_allowed);
	tcase_add_test(tc, test_sandbox_tls);
	tcase_add_test(tc, test_sandbox_execve);
	tcase_add_test(tc, test_sandbox_openat);
	tcase_add_test(tc, test_sandbox_socket);
	tcase_add_test(tc, test_sandbox_ptrace);
	tcase_add_test(tc, test_sandbox_connect);
	tcase_add_test(tc, test_sandbox_arguments_narrow);
	tcase_add_test(tc, test_sandbox_table_shape);
#else
	tcase_add_test(tc, test_sandbox_compiled_out);
#endif
	suite_add_tcase(s, tc);
	return s;
}
