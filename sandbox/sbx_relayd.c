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
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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
	/*
	 * kTLS (rare: only when the start-up probe found the kernel's TLS ULP,
	 * which this project's CI kernel lacks). After a handshake libssl
	 * attaches the ULP (TCP_ULP "tls") and hands the kernel the record
	 * keys (level SOL_TLS: TLS_TX, TLS_RX, and newer OpenSSL
	 * TLS_RX_EXPECT_NO_PAD); records other than application data (alerts,
	 * KeyUpdate) then go out with sendmsg and a TLS_SET_RECORD_TYPE
	 * control message, and come in with recvmsg. All on sockets relayd
	 * already holds; none can open anything.
	 */
	{ "setsockopt", SBX_ALLOW, 2, {
		{ 1, SCMP_CMP_EQ, IPPROTO_TCP, 0 },
		{ 2, SCMP_CMP_EQ, TCP_ULP, 0 } } },
	{ "setsockopt", SBX_ALLOW, 1, {
		{ 1, SCMP_CMP_EQ, SOL_TLS, 0 } } },
	ALLOW("sendmsg"),
	ALLOW("recvmsg"),
	/* Frames in (read), the signalfd (read), draining before close (recvfrom). */
	ALLOW("read"),
	ALLOW("recvfrom"),
	/*
	 * Frames out: send(MSG_NOSIGNAL) is sendto; stderr lines are write, and
	 * so are TLS records (libssl's socket BIO uses read and write; SIGPIPE
	 * is ignored).
	 */
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
	/*
	 * TLS (relayd/tls.c; everything that opens a file is done before the
	 * filter). OpenSSL 3's random generators call getpid() before every
	 * output to notice a fork (openssl_get_fork_id), and reseed from
	 * getrandom() every few minutes of use (with GRND_NONBLOCK never
	 * asked: the pool is seeded by then). Nothing else is new: records go
	 * through read() and write() on the connection's socket.
	 */
	ALLOW("getpid"),
	ALLOW("getrandom"),
	/* The end (single-threaded: exit_group only). */
	ALLOW("exit_group"),
};

const size_t sbx_relayd_nrules = sizeof(sbx_relayd_rules) / sizeof(sbx_relayd_rules[0]);

/*
 * relayd --cluster adds these, for libnats (relayd/cluster.c). Its threads
 * (timers, callbacks, message delivery) start before the filter, which
 * covers them too (TSYNC); its socket is read and written from relayd's
 * loop with the calls above. What is new is what threads need at all, and
 * what its reconnect thread does while the link is down: a new TCP
 * connection to one of the numeric --cluster addresses (getaddrinfo on a
 * numeric address makes no system call), with a blocking TLS handshake on
 * it when --cluster-ca is set (read, write, getrandom: above). A
 * compromised relayd could use socket and connect to reach any TCP
 * service: the cost of a bus that survives a server's death. Still no
 * file, no other socket family, no new process, no executable memory.
 * Found with strace -f over tests/e2e/t_cluster.sh (servers killed,
 * the link cut, TLS and credentials).
 */
#define CLONE_THREAD_FLAGS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
				 CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | \
				 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

const struct sbx_rule sbx_relayd_cluster_rules[] = {
	/*
	 * A thread, never a process: glibc's pthread_create tries clone3
	 * first, whose flags sit in memory a filter cannot read, so clone3
	 * fails with ENOSYS and glibc falls back to clone, allowed only with
	 * exactly the flags of a new thread (no fork, no namespaces).
	 */
	{ "clone3", ENOSYS, 0, { { 0, 0, 0, 0 } } },
	{ "clone", SBX_ALLOW, 1, {
		{ 0, SCMP_CMP_EQ, CLONE_THREAD_FLAGS, 0 } } },
	/*
	 * Dropping root (setresuid) in a process with threads: glibc makes
	 * every thread switch too, with a signal whose handler may still be
	 * returning in a libnats thread when the filter lands. rt_sigreturn
	 * only returns from a handler; relayd itself still installs none.
	 */
	ALLOW("rt_sigreturn"),
	/*
	 * A stop (SIGSTOP and SIGCONT, a debugger attaching) interrupts
	 * libnats' timed waits (futex, poll); the kernel resumes them with
	 * restart_syscall, the same call with what is left of its time.
	 */
	ALLOW("restart_syscall"),
	/* A new thread registers itself; signals are masked around its start and end. */
	ALLOW("rseq"),
	ALLOW("set_robust_list"),
	ALLOW("rt_sigprocmask"),
	/* Its stack: mapped PROT_NONE, then made writable; never executable. */
	{ "mprotect", SBX_ALLOW, 1, {
		{ 2, SCMP_CMP_MASKED_EQ, 0, PROT_EXEC } } },
	/* libnats grows buffers with realloc: a large block moves (no MREMAP_FIXED). */
	{ "mremap", SBX_ALLOW, 1, {
		{ 3, SCMP_CMP_EQ, MREMAP_MAYMOVE, 0 } } },
	/*
	 * Mutexes and condition variables between the threads (timed waits
	 * for libnats' timers; pthread_join waits on a shared futex): all on
	 * relayd's own memory, it has no shared mapping.
	 */
	ALLOW("futex"),
	/* The reconnect thread yields between servers; a thread ends with exit. */
	ALLOW("sched_yield"),
	ALLOW("exit"),
	/* Reconnecting: a TCP socket over IPv4 or IPv6, nothing else. */
	{ "socket", SBX_ALLOW, 3, {
		{ 0, SCMP_CMP_EQ, AF_INET, 0 },
		{ 1, SCMP_CMP_EQ, SOCK_STREAM, 0 },
		{ 2, SCMP_CMP_EQ, IPPROTO_TCP, 0 } } },
	{ "socket", SBX_ALLOW, 3, {
		{ 0, SCMP_CMP_EQ, AF_INET6, 0 },
		{ 1, SCMP_CMP_EQ, SOCK_STREAM, 0 },
		{ 2, SCMP_CMP_EQ, IPPROTO_TCP, 0 } } },
	/* A non-blocking connect, waited for with poll, its result read. */
	ALLOW("connect"),
	{ "fcntl", SBX_ALLOW, 1, {
		{ 1, SCMP_CMP_EQ, F_GETFL, 0 } } },
	{ "fcntl", SBX_ALLOW, 1, {
		{ 1, SCMP_CMP_EQ, F_SETFL, 0 } } },
	ALLOW("poll"),
	ALLOW("ppoll"),
	{ "getsockopt", SBX_ALLOW, 2, {
		{ 1, SCMP_CMP_EQ, SOL_SOCKET, 0 },
		{ 2, SCMP_CMP_EQ, SO_ERROR, 0 } } },
	/* libnats' socket options (TCP_NODELAY is above). */
	{ "setsockopt", SBX_ALLOW, 2, {
		{ 1, SCMP_CMP_EQ, SOL_SOCKET, 0 },
		{ 2, SCMP_CMP_EQ, SO_REUSEADDR, 0 } } },
	{ "setsockopt", SBX_ALLOW, 2, {
		{ 1, SCMP_CMP_EQ, SOL_SOCKET, 0 },
		{ 2, SCMP_CMP_EQ, SO_LINGER, 0 } } },
	/* A dead link is shut down before it is closed. */
	ALLOW("shutdown"),
};

const size_t sbx_relayd_cluster_nrules =
    sizeof(sbx_relayd_cluster_rules) / sizeof(sbx_relayd_cluster_rules[0]);
