/* SPDX-License-Identifier: ISC */
/*
 * chatc's seccomp table (sandbox/sbx_chatc.c). As for the other tables, each
 * test forks, sandboxes the child with chatc's policy, makes one call there
 * and asserts on the wait status: SIGSYS for what chatc must never do after
 * start-up (exec, open files, trace, Unix/UDP/raw sockets, listen, terminal
 * injection, executable memory), a clean exit 0 for what talking and
 * reconnecting need. Built with VEIL_NO_SANDBOX the filter is compiled out,
 * and the one test left checks that a forbidden call then survives.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "sbx.h"

enum probe {
	P_ALLOWED, P_EXECVE, P_OPENAT, P_OPEN, P_PTRACE, P_SOCKET_UNIX, P_SOCKET_UDP,
	P_SOCKET_RAW, P_SOCKET_NETLINK, P_BIND, P_LISTEN, P_SENDTO, P_SETSOCKOPT_OTHER,
	P_GETSOCKOPT_OTHER, P_IOCTL_TIOCSTI, P_IOCTL_TCSETS_OUT, P_MMAP_EXEC,
	P_MPROTECT_EXEC, P_FORK, P_KILL, P_SOCKET_SCTP,
};

/* A TCP port on 127.0.0.1 nobody listens on (bound, never listened, closed). */
static uint16_t
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Runs in the sandboxed child; returns only if the call was allowed. */
static void
probe_run(enum probe p, int sv, uint16_t port)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	struct sockaddr_in sin;
	struct pollfd pfd;
	struct timespec ts;
	struct winsize ws;
	struct termios t;
	char buf[16], c = 'x';
	socklen_t sl;
	void *m;
	int fd, e, one = 1;
	sigset_t set;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	memset(&t, 0, sizeof(t));
	switch (p) {
	case P_ALLOWED:
		/* keyd and the terminal: descriptors opened before the filter. */
		if (write(sv, "ping", 4) != 4 || read(sv, buf, 4) != 4)
			_exit(3);
		pfd.fd = sv;
		pfd.events = POLLIN;
		ts.tv_sec = 0;
		ts.tv_nsec = 1000;
		sigemptyset(&set);
		if (ppoll(&pfd, 1, &ts, &set) < 0 || poll(&pfd, 1, 0) < 0 ||
		    clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || time(NULL) == (time_t)-1 ||
		    sigprocmask(SIG_BLOCK, &set, NULL) != 0)
			_exit(4);
		/* Reconnecting to the relay, as net.c does it. */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(5);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			_exit(6);	/* nobody listens there */
		(void)poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 1000);
		sl = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0 ||
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			_exit(7);
		(void)shutdown(fd, SHUT_WR);
		(void)close(fd);
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd >= 0)
			(void)close(fd);
		/* The screen (ENOTTY here is fine: the call was allowed). */
		(void)ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
		if (ioctl(STDIN_FILENO, TCGETS, &t) == 0)
			(void)ioctl(STDIN_FILENO, TCSETSW, &t);
		/* Memory. */
		m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
		if (m == MAP_FAILED || mprotect(m, 4096, PROT_READ) != 0 ||
		    munmap(m, 1 << 20) != 0)
			_exit(8);
		free(malloc(4 << 20));
		free(realloc(malloc(100), 8 << 20));
		(void)close(sv);
		_exit(0);
	case P_EXECVE:
		syscall(SYS_execve, "/bin/true", argv, NULL);
		break;
	case P_OPENAT:
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
		break;
	case P_OPEN:
#ifdef SYS_open
		syscall(SYS_open, "/etc/hostname", O_RDONLY);
#else
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
#endif
		break;
	case P_PTRACE:
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case P_SOCKET_UNIX:
		syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		break;
	case P_SOCKET_UDP:
		syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		break;
	case P_SOCKET_RAW:
		syscall(SYS_socket, AF_INET6, SOCK_RAW, IPPROTO_TCP);
		break;
	case P_SOCKET_SCTP:
		/* A stream socket, but not TCP (132 = IPPROTO_SCTP). */
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 132);
		break;
	case P_SOCKET_NETLINK:
		syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0);
		break;
	case P_BIND:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_port = 0;
		syscall(SYS_bind, fd, &sin, sizeof(sin));
		break;
	case P_LISTEN:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		syscall(SYS_listen, fd, 1);
		break;
	case P_SENDTO:
		syscall(SYS_sendto, sv, &c, 1, 0, NULL, 0);
		break;
	case P_SETSOCKOPT_OTHER:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		break;
	case P_GETSOCKOPT_OTHER:
		sl = sizeof(e);
		syscall(SYS_getsockopt, sv, SOL_SOCKET, SO_PEERCRED, buf, &sl);
		break;
	case P_IOCTL_TIOCSTI:
		/* Pushing bytes into the terminal's input: the classic escape. */
		syscall(SYS_ioctl, STDIN_FILENO, TIOCSTI, &c);
		break;
	case P_IOCTL_TCSETS_OUT:
		syscall(SYS_ioctl, STDOUT_FILENO, TCSETS, &t);
		break;
	case P_MMAP_EXEC:
		syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case P_MPROTECT_EXEC:
		m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		syscall(SYS_mprotect, m, 4096, PROT_READ | PROT_EXEC);
		break;
	case P_FORK:
		syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		break;
	case P_KILL:
		syscall(SYS_kill, getppid(), 0);
		break;
	}
}

/* Forks, sandboxes the child with chatc's table, runs the probe; wait status. */
static int
probe(enum probe p)
{
	uint16_t port = closed_port();
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* The peer end echoes one "ping" back before the child reads it. */
	ck_assert_int_eq(write(sv[1], "pong", 4), 4);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sbx_no_new_privs() != 0 ||
		    sbx_install(sbx_chatc_rules, sbx_chatc_nrules) != 0)
			_exit(2);
		probe_run(p, sv[0], port);
		_exit(1);	/* a forbidden call returned instead of killing */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(sv[0]);
	close(sv[1]);
	return st;
}

#ifndef VEIL_NO_SANDBOX

#define ASSERT_SIGSYS(st) do {							\
	int st_ = (st);								\
	ck_assert_msg(WIFSIGNALED(st_) && WTERMSIG(st_) == SIGSYS,		\
	    "not killed by SIGSYS (status 0x%x, exit %d)", st_,			\
	    WIFEXITED(st_) ? WEXITSTATUS(st_) : -1);				\
} while (0)

START_TEST(test_sbx_chatc_allowed)
{
	int st = probe(P_ALLOWED);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "allowed calls failed (status 0x%x, exit %d, signal %d)", st,
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
END_TEST

START_TEST(test_sbx_chatc_execve)	{ ASSERT_SIGSYS(probe(P_EXECVE)); }	END_TEST
START_TEST(test_sbx_chatc_openat)	{ ASSERT_SIGSYS(probe(P_OPENAT)); }	END_TEST
START_TEST(test_sbx_chatc_open)		{ ASSERT_SIGSYS(probe(P_OPEN)); }	END_TEST
START_TEST(test_sbx_chatc_ptrace)	{ ASSERT_SIGSYS(probe(P_PTRACE)); }	END_TEST
START_TEST(test_sbx_chatc_socket_unix)	{ ASSERT_SIGSYS(probe(P_SOCKET_UNIX)); } END_TEST
START_TEST(test_sbx_chatc_socket_udp)	{ ASSERT_SIGSYS(probe(P_SOCKET_UDP)); }	END_TEST
START_TEST(test_sbx_chatc_socket_raw)	{ ASSERT_SIGSYS(probe(P_SOCKET_RAW)); }	END_TEST
START_TEST(test_sbx_chatc_socket_netlink) { ASSERT_SIGSYS(probe(P_SOCKET_NETLINK)); } END_TEST
START_TEST(test_sbx_chatc_bind)		{ ASSERT_SIGSYS(probe(P_BIND)); }	END_TEST
START_TEST(test_sbx_chatc_listen)	{ ASSERT_SIGSYS(probe(P_LISTEN)); }	END_TEST
START_TEST(test_sbx_chatc_sendto)	{ ASSERT_SIGSYS(probe(P_SENDTO)); }	END_TEST
START_TEST(test_sbx_chatc_setsockopt_other) { ASSERT_SIGSYS(probe(P_SETSOCKOPT_OTHER)); } END_TEST
START_TEST(test_sbx_chatc_getsockopt_other) { ASSERT_SIGSYS(probe(P_GETSOCKOPT_OTHER)); } END_TEST
START_TEST(test_sbx_chatc_tiocsti)	{ ASSERT_SIGSYS(probe(P_IOCTL_TIOCSTI)); } END_TEST
START_TEST(test_sbx_chatc_tcsets_out)	{ ASSERT_SIGSYS(probe(P_IOCTL_TCSETS_OUT)); } END_TEST
START_TEST(test_sbx_chatc_mmap_exec)	{ ASSERT_SIGSYS(probe(P_MMAP_EXEC)); }	END_TEST
START_TEST(test_sbx_chatc_mprotect_exec) { ASSERT_SIGSYS(probe(P_MPROTECT_EXEC)); } END_TEST
START_TEST(test_sbx_chatc_fork)		{ ASSERT_SIGSYS(probe(P_FORK)); }	END_TEST
START_TEST(test_sbx_chatc_kill)		{ ASSERT_SIGSYS(probe(P_KILL)); }	END_TEST
START_TEST(test_sbx_chatc_socket_sctp)	{ ASSERT_SIGSYS(probe(P_SOCKET_SCTP)); } END_TEST

#else /* VEIL_NO_SANDBOX */

START_TEST(test_sbx_chatc_compiled_out)
{
	int st = probe(P_SOCKET_UNIX);

	/* The build switch, not a run-time option, turns the filter off. */
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
	    "with the sandbox compiled out a Unix socket should be allowed (status 0x%x)", st);
}
END_TEST

#endif /* VEIL_NO_SANDBOX */

Suite *suite_chatc_sandbox(void);

Suite *
suite_chatc_sandbox(void)
{
	Suite *s = suite_create("chatc_sandbox");
	TCase *tc = tcase_create("filter");

#ifndef VEIL_NO_SANDBOX
	tcase_add_test(tc, test_sbx_chatc_allowed);
	tcase_add_test(tc, test_sbx_chatc_execve);
	tcase_add_test(tc, test_sbx_chatc_openat);
	tcase_add_test(tc, test_sbx_chatc_open);
	tcase_add_test(tc, test_sbx_chatc_ptrace);
	tcase_add_test(tc, test_sbx_chatc_socket_unix);
	tcase_add_test(tc, test_sbx_chatc_socket_udp);
	tcase_add_test(tc, test_sbx_chatc_socket_raw);
	tcase_add_test(tc, test_sbx_chatc_socket_netlink);
	tcase_add_test(tc, test_sbx_chatc_bind);
	tcase_add_test(tc, test_sbx_chatc_listen);
	tcase_add_test(tc, test_sbx_chatc_sendto);
	tcase_add_test(tc, test_sbx_chatc_setsockopt_other);
	tcase_add_test(tc, test_sbx_chatc_getsockopt_other);
	tcase_add_test(tc, test_sbx_chatc_tiocsti);
	tcase_add_test(tc, test_sbx_chatc_tcsets_out);
	tcase_add_test(tc, test_sbx_chatc_mmap_exec);
	tcase_add_test(tc, test_sbx_chatc_mprotect_exec);
	tcase_add_test(tc, test_sbx_chatc_fork);
	tcase_add_test(tc, test_sbx_chatc_kill);
	tcase_add_test(tc, test_sbx_chatc_socket_sctp);
#else
	tcase_add_test(tc, test_sbx_chatc_compiled_out);
#endif
	suite_add_tcase(s, tc);
	return s;
}
