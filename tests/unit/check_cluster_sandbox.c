/* SPDX-License-Identifier: ISC */
/*
 * relayd --cluster's seccomp table (sbx_relayd.c's second table), with the
 * cluster code linked: what libnats needs passes, what it does not is still
 * killed, also from a thread started before the filter (TSYNC); and a real
 * libnats connection to a fake NATS server, cut by the server, reconnects
 * under the filter (a new thread, a socket, a connect). Each verdict is
 * taken in a child forked inside the test, as in check_relayd_sandbox.c.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "cluster.h"
#include "relay.h"
#include "sbx.h"

#ifndef VEIL_NO_SANDBOX

static int
cluster_filter(void)
{
	if (sbx_no_new_privs() != 0 ||
	    sbx_install_more(sbx_relayd_rules, sbx_relayd_nrules, sbx_relayd_cluster_rules,
	    sbx_relayd_cluster_nrules) != 0)
		return -1;
	return 0;
}

static void *
thread_nothing(void *arg)
{
	return arg;
}

/* What libnats does after the filter, all of which must pass. Returns 0 or the failed step. */
static int
cluster_allowed(void)
{
	struct sockaddr_in sin;
	socklen_t len;
	struct pollfd pfd;
	pthread_t t;
	void *ret;
	int s, err = 0, fl;

	/* A thread (clone3 refused with ENOSYS, glibc falls back to clone), joined. */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 1;
	if (pthread_create(&t, NULL, thread_nothing, &err) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != &err)
		return 2;
	/* A non-blocking TCP connect to a listener made before, as a reconnect does. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)strtol(getenv("CLSBX_PORT"), NULL, 10));
	if ((s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == -1 ||
	    (fl = fcntl(s, F_GETFL)) == -1 || fcntl(s, F_SETFL, fl | O_NONBLOCK) == -1)
		return 5;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno != EINPROGRESS)
		return 6;
	pfd.fd = s;
	pfd.events = POLLOUT;
	len = sizeof(err);
	if (poll(&pfd, 1, 1000) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
	    err != 0)
		return 7;
	fl = 1;
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &fl, sizeof(fl)) != 0 ||
	    shutdown(s, SHUT_RDWR) != 0 || close(s) != 0)
		return 8;
	return 0;
}

enum cprobe {
	C_ALLOWED,
	C_UNIX_SOCKET,
	C_UDP_SOCKET,
	C_FORK,
	C_OPENAT,
	C_EXECVE,
	C_MPROTECT_EXEC,
	C_SETSOCKOPT_OTHER,
	C_THREAD_OPENAT,	/* from a thread started before the filter */
};

static pthread_mutex_t go_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *
thread_openat(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&go_mu);
	while (!go)
		pthread_cond_wait(&go_cv, &go_mu);
	pthread_mutex_unlock(&go_mu);
	(void)!openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
	return NULL;
}

static int
run_cprobe(enum cprobe p)
{
	static char *const argv[] = { "true", NULL };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char num[16];
	pthread_t t;
	int status, l, one = 1;
	pid_t pid;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	(void)snprintf(num, sizeof(num), "%u", ntohs(sin.sin_port));
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		(void)setenv("CLSBX_PORT", num, 1);
		/*
		 * A thread before the filter, as relayd's libnats threads are:
		 * glibc sets up its thread signals (rt_sigaction) with the first.
		 */
		if (pthread_create(&t, NULL, thread_nothing, NULL) != 0 ||
		    pthread_join(t, NULL) != 0)
			_exit(102);
		if (p == C_THREAD_OPENAT && pthread_create(&t, NULL, thread_openat, NULL) != 0)
			_exit(101);
		if (cluster_filter() != 0)
			_exit(100);
		switch (p) {
		case C_ALLOWED:
			_exit(cluster_allowed());
		case C_UNIX_SOCKET:
			(void)!socket(AF_UNIX, SOCK_STREAM, 0);
			break;
		case C_UDP_SOCKET:
			(void)!socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
			break;
		case C_FORK:
			if (fork() == 0)
				_exit(0);
			break;
		case C_OPENAT:
			(void)!openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
			break;
		case C_EXECVE:
			execve("/bin/true", argv, NULL);
			break;
		case C_MPROTECT_EXEC:
			(void)!mprotect(&one, 1, PROT_READ | PROT_EXEC);
			break;
		case C_SETSOCKOPT_OTHER:
			(void)!setsockopt(l, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
			break;
		case C_THREAD_OPENAT:
			pthread_mutex_lock(&go_mu);
			go = 1;
			pthread_cond_signal(&go_cv);
			pthread_mutex_unlock(&go_mu);
			(void)pthread_join(t, NULL);
			break;
		}
		_exit(0);
	}
	close(l);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(test_cluster_sandbox_allowed)
{
	int status = run_cprobe(C_ALLOWED);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "what libnats does: status 0x%x", status);
}
END_TEST

START_TEST(test_cluster_sandbox_killed)
{
	static const enum cprobe killed[] = { C_UNIX_SOCKET, C_UDP_SOCKET, C_FORK, C_OPENAT,
	    C_EXECVE, C_MPROTECT_EXEC, C_SETSOCKOPT_OTHER, C_THREAD_OPENAT };
	size_t i;
	int status;

	for (i = 0; i < sizeof(killed) / sizeof(killed[0]); i++) {
		status = run_cprobe(killed[i]);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		    "probe %d: wanted death by SIGSYS, got status 0x%x", (int)killed[i], status);
	}
}
END_TEST

START_TEST(test_cluster_sandbox_table_shape)
{
	size_t i;

	ck_assert_uint_le(sbx_relayd_cluster_nrules, 24);
	for (i = 0; i < sbx_relayd_cluster_nrules; i++) {
		const struct sbx_rule *r = &sbx_relayd_cluster_rules[i];

		ck_assert_str_ne(r->sr_name, "open");
		ck_assert_str_ne(r->sr_name, "openat");
		ck_assert_str_ne(r->sr_name, "execve");
		ck_assert_str_ne(r->sr_name, "execveat");
		ck_assert_str_ne(r->sr_name, "ptrace");
		ck_assert_str_ne(r->sr_name, "fork");
		ck_assert_str_ne(r->sr_name, "vfork");
		/* Narrowed by their arguments, every one. */
		if (strcmp(r->sr_name, "socket") == 0 || strcmp(r->sr_name, "clone") == 0 ||
		    strcmp(r->sr_name, "mprotect") == 0 || strcmp(r->sr_name, "setsockopt") == 0 ||
		    strcmp(r->sr_name, "fcntl") == 0)
			ck_assert_uint_gt(r->sr_nargs, 0);
	}
}
END_TEST

/* --- a fake NATS server that cuts the first connection ------------------ */

static const char fake_info[] = "INFO {\"server_id\":\"fake\",\"version\":\"2.9.10\","
    "\"go\":\"go1.19\",\"host\":\"127.0.0.1\",\"port\":4222,\"headers\":true,"
    "\"max_payload\":1048576,\"proto\":1}\r\n";

/* Reads from s until the text seen so far holds want (or 5 s pass). */
static int
fake_wait_for(int s, const char *want, char *acc, size_t cap, size_t *len)
{
	struct pollfd pfd = { s, POLLIN, 0 };
	ssize_t r;
	int t;

	for (t = 0; t < 100; t++) {
		acc[*len] = '\0';
		if (strstr(acc, want) != NULL)
			return 0;
		if (poll(&pfd, 1, 50) != 1)
			continue;
		if ((r = read(s, acc + *len, cap - 1 - *len)) <= 0)
			return -1;
		*len += (size_t)r;
		if (*len >= cap - 512) {
			/* Keep the tail only. */
			memmove(acc, acc + *len - 512, 512);
			*len = 512;
		}
	}
	return -1;
}

/* Two connections: the first is handshaken and cut, the second must come back with SUBs. */
static int
fake_nats(int l)
{
	char acc[8192];
	size_t len;
	int k, s;

	struct pollfd pfd = { l, POLLIN, 0 };

	for (k = 0; k < 2; k++) {
		if (poll(&pfd, 1, 10000) != 1 || (s = accept(l, NULL, NULL)) == -1)
			return 10 + k;
		len = 0;
		if (write(s, fake_info, sizeof(fake_info) - 1) != (ssize_t)(sizeof(fake_info) - 1) ||
		    fake_wait_for(s, "PING\r\n", acc, sizeof(acc), &len) != 0 ||
		    write(s, "PONG\r\n", 6) != 6)
			return 20 + k;
		/* Its subscriptions, heartbeat and inbox. */
		if (fake_wait_for(s, "SUB veil.n.sbx", acc, sizeof(acc), &len) != 0)
			return 30 + k;
		if (k == 0) {
			close(s);
			continue;
		}
		/* Back, with everything: answer its PINGs for a moment, then done. */
		len = 0;
		if (write(s, "PING\r\n", 6) != 6)
			return 41;
		if (fake_wait_for(s, "PONG\r\n", acc, sizeof(acc), &len) != 0)
			return 40;
		close(s);
	}
	return 0;
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The relay side: joins the fake server, sandboxed, and waits for the reconnect. */
static int
relay_side(int port)
{
	struct relayd_config cfg;
	struct cluster_config ccfg;
	struct relayd *r = NULL;
	char urls[64], err[256];
	int64_t end;

	signal(SIGPIPE, SIG_IGN);
	relayd_config_default(&cfg);
	if (relayd_new(&r, &cfg, 256) != 0)
		return 50;
	(void)snprintf(urls, sizeof(urls), "nats://127.0.0.1:%d", port);
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.cc_urls = urls;
	ccfg.cc_node = "sbx";
	ccfg.cc_quorum = 1;
	ccfg.cc_room_size = (uint16_t)cfg.rc_room_size;
	ccfg.cc_hold_ms = cfg.rc_stall_ms;
	if (relayd_cluster(r, &ccfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "relayd_cluster: %s\n", err);
		return 51;
	}
	if (cluster_filter() != 0)
		return 52;
	/* Runs until the test ends it; the fake server says whether it came back. */
	end = ms_now() + 15000;
	while (ms_now() < end)
		if (relayd_step(r, 50) != 0)
			return 53;
	return 0;
}

START_TEST(test_cluster_sandbox_reconnect)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, status, srv;
	pid_t server, relay;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	server = fork();
	ck_assert_int_ne(server, -1);
	if (server == 0)
		_exit(fake_nats(l));
	close(l);
	relay = fork();
	ck_assert_int_ne(relay, -1);
	if (relay == 0) {
		alarm(20);
		_exit(relay_side(ntohs(sin.sin_port)));
	}
	ck_assert_int_eq(waitpid(server, &srv, 0), server);
	(void)kill(relay, SIGKILL);
	ck_assert_int_eq(waitpid(relay, &status, 0), relay);
	/* Alive until now, and not killed by the filter on the way. */
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the relay ended before the test did: status 0x%x (SIGSYS is %d)", status, SIGSYS);
	ck_assert_msg(WIFEXITED(srv) && WEXITSTATUS(srv) == 0,
	    "the fake server: status 0x%x (the relay did not come back)", srv);
}
END_TEST

#endif /* VEIL_NO_SANDBOX */

Suite *suite_cluster_sandbox(void);

Suite *
suite_cluster_sandbox(void)
{
	Suite *s = suite_create("cluster_sandbox");
	TCase *tc = tcase_create("verdicts");

	tcase_set_timeout(tc, 30);
#ifndef VEIL_NO_SANDBOX
	tcase_add_test(tc, test_cluster_sandbox_allowed);
	tcase_add_test(tc, test_cluster_sandbox_killed);
	tcase_add_test(tc, test_cluster_sandbox_table_shape);
	tcase_add_test(tc, test_cluster_sandbox_reconnect);
#endif
	suite_add_tcase(s, tc);
	return s;
}
