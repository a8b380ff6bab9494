/* SPDX-License-Identifier: ISC */
/*
 * relayd's seccomp allowlist, loaded by sbx_install() after start-up (the
 * sockets, epoll set, signalfd and RLIMIT_NOFILE are all in place by then).
 * Anything not listed kills the process: no open/openat, no execve, no
 * socket/connect/bind, no ptrace, no file system at all. Signals never run
 * a handler (SIGTERM/SIGINT/SIGUSR1 are read from a signalfd, SIGPIPE is
 * ignored), so rt_sigreturn is not needed. Found with strace -f over the
 * e2e scenarios; the entries never seen there are marked "rare".
 */
#include <sys/mman.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <seccomp.h>

#include "sbx.h"

#define ALLOW(name)	{ name, SBX_ALLOW, 0, { { 0, 0, 0, 0 } } }

const struct sbx_rule sbx_relayd_rules[] = {
	/* The event loop. epoll_pwait: what glibc uses on aarch64. */
	ALLOW("epoll_wait"),
	ALLOW("epoll_pwait"),
	/* Adding, re-arming (EPOLLOUT on a full socket) and removing fds. */
	ALLOW("epoll_ctl"),
	/* New clients; the listener is non-blocking, flags come from accept4. */
	ALLOW("accept4"),
	/* Only TCP_NODELAY on accepted sockets. */
	{ "setsockopt", SBX_ALLOW, 2, {
		{ 1, SCMP_CMP_EQ, IPPROTO_TCP, 0 },
		{ 2, SCMP_CMP_EQ, TCP_NODELAY, 0 } } },
	/* Frames in (read), the signalfd (read), draining before close (recvfrom). */
	ALLOW("read"),
	ALLOW("recvfrom"),
	/* Frames out: send(MSG_NOSIGNAL) is sendto; stderr lines are write. */
	ALLOW("sendto"),
	ALLOW("write"),
	/* Closing connections; dup (rare) re-arms the spare fd used on EMFILE. */
	ALLOW("close"),
	ALLOW("dup"),
	/* Timeouts (rare: normally the vDSO answers without a syscall). */
	ALLOW("clock_gettime"),
	/*
	 * malloc/free of pooled buffers and rooms: never executable memory.
	 * madvise (glibc trimming a heap) is rare. relayd never calls realloc,
	 * so no mremap.
	 */
	ALLOW("brk"),
	{ "mmap", SBX_ALLOW, 1, {
		{ 2, SCMP_CMP_MASKED_EQ, 0, PROT_EXEC } } },
	ALLOW("munmap"),
	ALLOW("madvise"),
	/* The end (single-threaded: exit_group only). */
	ALLOW("exit_group"),
};

const size_t sbx_relayd_nrules = sizeof(sbx_relayd_rules) / sizeof(sbx_relayd_rules[0]);
