/* SPDX-License-Identifier: ISC */
/*
 * keyd's seccomp table (sandbox/sbx_keyd.c). A filter installed in Check's
 * own test child breaks Check (it calls timer_create afterwards), so each
 * test forks, sandboxes the grandchild, makes one call there and asserts on
 * the wait status: killed by SIGSYS for what keyd must never do, a clean
 * exit 0 for what its loop needs. Built with VEIL_NO_SANDBOX (SANDBOX=0) the
 * filters are compiled out and these tests are left out.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "sbx.h"

#ifndef VEIL_NO_SANDBOX

enum probe {
	P_ALLOWED, P_EXECVE, P_OPENAT, P_SOCKET, P_PTRACE, P_CONNECT, P_MMAP_EXEC,
	P_GETSOCKOPT_OTHER, P_FORK, P_UNLINK,
};

/* Runs in the sandboxed grandchild; returns only if the call was allowed. */
static void
probe_run(enum probe p, int pinfd, int sv)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	struct sockaddr_un sun;
	struct timespec ts;
	char buf[16];
	void *m;
	int v;
	socklen_t vl = sizeof(v);

	switch (p) {
	case P_ALLOWED:
		/* The calls keyd's loop and pins make, on fds opened before. */
		if (write(sv, "ping", 4) != 4 || flock(pinfd, LOCK_EX) != 0 ||
		    pwrite(pinfd, "x", 1, 0) != 1 || pread(pinfd, buf, 1, 0) != 1 ||
		    lseek(pinfd, 0, SEEK_END) != 1 || ftruncate(pinfd, 0) != 0 ||
		    fsync(pinfd) != 0 || flock(pinfd, LOCK_UN) != 0)
			_exit(3);
		m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
		/* A connection's own pages, locked (dispatch.c); mlock may be refused by the limit. */
		if (m == MAP_FAILED || (mlock(m, 4096) != 0 && errno != ENOMEM &&
		    errno != EPERM && errno != EAGAIN) || munmap(m, 1 << 20) != 0)
			_exit(4);
		free(malloc(4 << 20));	/* mmap'd by malloc */
		if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || geteuid() == (uid_t)-2 ||
		    syscall(SYS_getrandom, buf, sizeof(buf), 0) != (long)sizeof(buf))
			_exit(5);
		if (getsockopt(sv, SOL_SOCKET, SO_PEERCRED, buf, &vl) != 0 && vl == 0)
			_exit(6);
		(void)close(sv);
		_exit(0);
	case P_EXECVE:
		syscall(SYS_execve, "/bin/true", argv, NULL);
		break;
	case P_OPENAT:
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
		break;
	case P_SOCKET:
		syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		break;
	case P_PTRACE:
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case P_CONNECT:
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		syscall(SYS_connect, sv, &sun, sizeof(sun));
		break;
	case P_MMAP_EXEC:
		syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case P_GETSOCKOPT_OTHER:
		syscall(SYS_getsockopt, sv, SOL_SOCKET, SO_TYPE, &v, &vl);
		break;
	case P_FORK:
		syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		break;
	case P_UNLINK:
		syscall(SYS_unlinkat, AT_FDCWD, "/nonexistent-veil", 0);
		break;
	}
}

/* Forks, sandboxes the child with keyd's table, runs the probe; wait status. */
static int
probe(enum probe p)
{
	char path[] = "/tmp/veil-sbx-XXXXXX";
	int pinfd, sv[2], st;
	pid_t pid;

	pinfd = mkstemp(path);
	ck_assert_int_ge(pinfd, 0);
	(void)unlink(path);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sbx_no_new_privs() != 0 || sbx_install(sbx_keyd_rules, sbx_keyd_nrules) != 0)
			_exit(2);
		probe_run(p, pinfd, sv[0]);
		_exit(1);	/* a forbidden call returned instead of killing */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(pinfd);
	close(sv[0]);
	close(sv[1]);
	return st;
}

#define ASSERT_SIGSYS(st) do {							\
	int st_ = (st);								\
	ck_assert_msg(WIFSIGNALED(st_) && WTERMSIG(st_) == SIGSYS,		\
	    "not killed by SIGSYS (status 0x%x, exit %d)", st_,			\
	    WIFEXITED(st_) ? WEXITSTATUS(st_) : -1);				\
} while (0)

START_TEST(test_sbx_keyd_allowed)
{
	int st = probe(P_ALLOWED);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "allowed calls failed (status 0x%x, exit %d, signal %d)", st,
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
END_TEST

START_TEST(test_sbx_keyd_execve)	{ ASSERT_SIGSYS(probe(P_EXECVE)); }	END_TEST
START_TEST(test_sbx_keyd_openat)	{ ASSERT_SIGSYS(probe(P_OPENAT)); }	END_TEST
START_TEST(test_sbx_keyd_socket)	{ ASSERT_SIGSYS(probe(P_SOCKET)); }	END_TEST
START_TEST(test_sbx_keyd_ptrace)	{ ASSERT_SIGSYS(probe(P_PTRACE)); }	END_TEST
START_TEST(test_sbx_keyd_connect)	{ ASSERT_SIGSYS(probe(P_CONNECT)); }	END_TEST
START_TEST(test_sbx_keyd_mmap_exec)	{ ASSERT_SIGSYS(probe(P_MMAP_EXEC)); }	END_TEST
START_TEST(test_sbx_keyd_getsockopt_other) { ASSERT_SIGSYS(probe(P_GETSOCKOPT_OTHER)); } END_TEST
START_TEST(test_sbx_keyd_fork)		{ ASSERT_SIGSYS(probe(P_FORK)); }	END_TEST
START_TEST(test_sbx_keyd_unlink)	{ ASSERT_SIGSYS(probe(P_UNLINK)); }	END_TEST

#endif /* VEIL_NO_SANDBOX */

Suite *suite_keyd_sandbox(void);

Suite *
suite_keyd_sandbox(void)
{
	Suite *s = suite_create("keyd_sandbox");
#ifndef VEIL_NO_SANDBOX
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, test_sbx_keyd_allowed);
	tcase_add_test(tc, test_sbx_keyd_execve);
	tcase_add_test(tc, test_sbx_keyd_openat);
	tcase_add_test(tc, test_sbx_keyd_socket);
	tcase_add_test(tc, test_sbx_keyd_ptrace);
	tcase_add_test(tc, test_sbx_keyd_connect);
	tcase_add_test(tc, test_sbx_keyd_mmap_exec);
	tcase_add_test(tc, test_sbx_keyd_getsockopt_other);
	tcase_add_test(tc, test_sbx_keyd_fork);
	tcase_add_test(tc, test_sbx_keyd_unlink);
	suite_add_tcase(s, tc);
#endif
	return s;
}
