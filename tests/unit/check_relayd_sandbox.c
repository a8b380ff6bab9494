/* SPDX-License-Identifier: ISC */
/*
 * relayd's seccomp table, loaded by sandbox/sbx.c. Each verdict is taken in
 * a grandchild forked inside the test (never in Check's own process, which
 * needs timer_create afterwards): it installs the filter, makes one call,
 * and the test asserts on its wait status.
 */
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "sbx.h"

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

/* What relayd's loop does, all of which must survive the filter. */
static int
allowed_calls(int rfd, int wfd)
{
	struct timespec ts;
	char c = 'x', *big;
	int one = 1;

	if (write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 2;
	/* Large enough for malloc to use mmap/munmap. */
	if ((big = malloc(1 << 20)) == NULL)
		return 3;
	memset(big, 1, 1 << 20);
	free(big);
	/* setsockopt(TCP_NODELAY) on a non-socket: allowed, fails with ENOTSOCK. */
	if (setsockopt(rfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != -1 ||
	    errno != ENOTSOCK)
		return 4;
	if (close(rfd) != 0)
		return 5;
	return 0;
}

/* Forks, sandboxes the child, runs the probe; returns the wait status. */
static int
run_probe(enum probe p)
{
	int fds[2], status, rc;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (sbx_no_new_privs() != 0 ||
		    sbx_install(sbx_relayd_rules, sbx_relayd_nrules) != 0)
			_exit(100);
		probe_call(p);
		rc = allowed_calls(fds[0], fds[1]);
		_exit(rc);
	}
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

#ifndef VEIL_NO_SANDBOX

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

START_TEST(test_sandbox_table_shape)
{
	size_t i;

	/* A small, named allowlist: nothing that opens files or runs programs. */
	ck_assert_uint_gt(sbx_relayd_nrules, 0);
	ck_assert_uint_le(sbx_relayd_nrules, 24);
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
