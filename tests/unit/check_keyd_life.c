/* SPDX-License-Identifier: ISC */
/*
 * keyd/life.c: the socket taken away at exit only when it is still the one
 * bound (and, under keyd's filter, through its directory's descriptor only),
 * and a daemon's stderr turned into syslog records or time-stamped file
 * lines, one per line.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "life.h"
#include "sbx.h"

static char dir[64];
static char path[128];

/* A fresh directory with a socket bound at dir/k.sock; returns the socket. */
static int
bound(void)
{
	struct sockaddr_un sun;
	int s;

	snprintf(dir, sizeof(dir), "/tmp/veil-life-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return s;
}

static void
cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

START_TEST(test_sock_removed)
{
	struct keyd_sock ks;
	int s = bound();

	ck_assert_int_eq(keyd_sock_keep(&ks, path), 0);
	ck_assert_int_ge(ks.ks_dirfd, 0);
	ck_assert_str_eq(ks.ks_name, "k.sock");
	keyd_sock_remove(&ks);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(ks.ks_dirfd, -1);
	keyd_sock_remove(&ks);		/* twice: nothing */
	close(s);
	cleanup();
}
END_TEST

/* A keyd started while this one ended bound its own socket there: it stays. */
START_TEST(test_sock_replaced_stays)
{
	struct sockaddr_un sun;
	struct keyd_sock ks;
	int s = bound(), s2;

	ck_assert_int_eq(keyd_sock_keep(&ks, path), 0);
	ck_assert_int_eq(unlink(path), 0);
	close(s);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(s2, 0);
	ck_assert_int_eq(bind(s2, (struct sockaddr *)&sun, sizeof(sun)), 0);
	keyd_sock_remove(&ks);
	ck_assert_int_eq(access(path, F_OK), 0);
	close(s2);
	cleanup();
}
END_TEST

/* A path that is not a socket is not kept (nothing would be removed at exit). */
START_TEST(test_sock_keep_not_socket)
{
	struct keyd_sock ks;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/veil-life-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.sock", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_ne(keyd_sock_keep(&ks, path), 0);
	ck_assert_int_eq(ks.ks_dirfd, -1);
	keyd_sock_remove(&ks);
	ck_assert_int_eq(access(path, F_OK), 0);
	cleanup();
}
END_TEST

/* Reads what the test wrote to stderr, through the log, from fd. */
static size_t
slurp(int fd, char *buf, size_t cap)
{
	ssize_t n;
	size_t len = 0;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

START_TEST(test_log_file_lines)
{
	static struct keyd_log lgs;
	struct keyd_log *lg = &lgs;
	char buf[4096], want[64], big[KEYD_LOG_LINE + 100];
	int p[2], nul = open("/dev/null", O_RDWR);

	ck_assert_ptr_nonnull(lg);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(nul, 0);
	lg->lg_fd = p[1];
	lg->lg_pid = 4242;
	ck_assert_int_eq(keyd_log_start(lg, nul), 0);
	fprintf(stderr, "keyd: one\nkeyd: two");
	fprintf(stderr, " halves\x1b[2J\n");
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	fputs(big, stderr);
	fflush(stderr);
	close(p[1]);
	slurp(p[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), " keyd[4242]: one\n");
	ck_assert_msg(strstr(buf, want) != NULL, "log: %s", buf);
	/* A line written in two pieces is one line; controls never reach the file. */
	ck_assert_msg(strstr(buf, " keyd[4242]: two halves?[2J\n") != NULL, "log: %s", buf);
	ck_assert_msg(strstr(buf, "[cut]\n") != NULL, "log: %s", buf);
	/* Nothing is left on descriptor 2 but /dev/null. */
	ck_assert_int_eq(write(STDERR_FILENO, "x", 1), 1);
	close(p[0]);
}
END_TEST

START_TEST(test_log_syslog_records)
{
	static struct keyd_log lgs;
	struct keyd_log *lg = &lgs;
	char rec[1024];
	int sv[2], nul = open("/dev/null", O_RDWR);
	ssize_t n;

	ck_assert_ptr_nonnull(lg);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	lg->lg_fd = sv[1];
	lg->lg_syslog = 1;
	lg->lg_pid = 77;
	ck_assert_int_eq(keyd_log_start(lg, nul), 0);
	ck_assert_str_eq(keyd_log_where(lg), "syslog");
	fprintf(stderr, "keyd: first\nkeyd: second\n");
	n = recv(sv[0], rec, sizeof(rec) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	rec[n] = '\0';
	/* <daemon.notice>Mmm dd hh:mm:ss keyd[pid]: text, one record per line, no newline. */
	ck_assert_msg(strncmp(rec, "<29>", 4) == 0, "record: %s", rec);
	ck_assert_msg(strstr(rec, " keyd[77]: first") != NULL && strchr(rec, '\n') == NULL,
	    "record: %s", rec);
	n = recv(sv[0], rec, sizeof(rec) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	rec[n] = '\0';
	ck_assert_msg(strstr(rec, " keyd[77]: second") != NULL, "record: %s", rec);
	close(sv[0]);
}
END_TEST

#ifndef VEIL_NO_SANDBOX
/*
 * Under keyd's filter built for the socket's directory: removing the socket
 * works; unlinkat through any other descriptor, or by path, kills.
 */
static int
sandboxed_remove(int how)
{
	static struct sbx_rule rules[64];
	struct keyd_sock ks;
	size_t n;
	int s = bound(), st, other;
	pid_t pid;

	ck_assert_int_eq(keyd_sock_keep(&ks, path), 0);
	other = open("/tmp", O_PATH | O_DIRECTORY);
	ck_assert_int_ge(other, 0);
	n = sbx_keyd_build(rules, sizeof(rules) / sizeof(rules[0]), ks.ks_dirfd);
	ck_assert_uint_eq(n, sbx_keyd_nrules + SBX_KEYD_EXTRA);
	ck_assert_uint_eq(sbx_keyd_build(rules, sbx_keyd_nrules + 1, ks.ks_dirfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sbx_no_new_privs() != 0 || sbx_install(rules, n) != 0)
			_exit(2);
		if (how == 0) {
			keyd_sock_remove(&ks);
			_exit(0);
		}
		if (how == 1)
			syscall(SYS_unlinkat, other, "veil-nonexistent", 0);
		else
			syscall(SYS_unlinkat, AT_FDCWD, path, 0);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(other);
	close(s);
	return st;
}

START_TEST(test_sbx_remove_allowed)
{
	int st = sandboxed_remove(0);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	ck_assert_int_eq(access(path, F_OK), -1);
	cleanup();
}
END_TEST

START_TEST(test_sbx_remove_elsewhere)
{
	int st = sandboxed_remove(1);

	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
	st = sandboxed_remove(2);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
	ck_assert_int_eq(access(path, F_OK), 0);
	cleanup();
}
END_TEST
#endif

Suite *suite_keyd_life(void);

Suite *
suite_keyd_life(void)
{
	Suite *s = suite_create("keyd_life");
	TCase *k = tcase_create("socket");
	TCase *l = tcase_create("log");

	tcase_add_test(k, test_sock_removed);
	tcase_add_test(k, test_sock_replaced_stays);
	tcase_add_test(k, test_sock_keep_not_socket);
#ifndef VEIL_NO_SANDBOX
	tcase_add_test(k, test_sbx_remove_allowed);
	tcase_add_test(k, test_sbx_remove_elsewhere);
#endif
	tcase_add_test(l, test_log_file_lines);
	tcase_add_test(l, test_log_syslog_records);
	suite_add_tcase(s, k);
	suite_add_tcase(s, l);
	return s;
}
