/* SPDX-License-Identifier: ISC */
/*
 * chatc's seccomp policy, installed once start-up is over: keyd's socket is
 * connected, the relay address resolved, the time zone loaded and the
 * terminal in raw mode. From then on chatc talks (stdin, stdout, keyd, the
 * relay), reconnects to the relay (new TCP sockets only, TLS over them),
 * and draws. It can
 * open no file, create no Unix or raw socket, exec nothing, trace nothing.
 * Anything not listed kills the process (sbx.c's default).
 *
 * The screen adds nothing here: the terminal's description is read from
 * terminfo by setupterm (libtinfo) before the filter, and afterwards only
 * its strings are formatted (tiparm, in memory) and written with write(2);
 * keys are read with read(2); the size with TIOCGWINSZ; the terminal given
 * back with TCSETSW. The curses screen and input layers, which would want
 * more (sigaction for their own handlers, select, re-reading terminfo), are
 * not used.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <seccomp.h>

#include "sbx.h"

#define ALLOW(name)	{ name, SBX_ALLOW, 0, { { 0, 0, 0, 0 } } }
#define ARG_EQ(i, v)	{ (i), SCMP_CMP_EQ, (uint64_t)(v), 0 }
#define ARG_MASK(i, m, v) { (i), SCMP_CMP_MASKED_EQ, (uint64_t)(v), (uint64_t)(m) }

const struct sbx_rule sbx_chatc_rules[] = {
	/* I/O on the descriptors it already has and the relay socket. */
	ALLOW("read"),
	ALLOW("write"),
	ALLOW("close"),
	ALLOW("poll"),
	ALLOW("ppoll"),
	/*
	 * Reconnecting to the relay: TCP over IPv4 or IPv6, nothing else. The
	 * protocol too (0 or IPPROTO_TCP): SOCK_STREAM alone also admits SCTP
	 * and MPTCP, kernel code chatc has no use for.
	 */
	{ "socket", SBX_ALLOW, 3, { ARG_EQ(0, AF_INET), ARG_MASK(1, 0xf, SOCK_STREAM),
	    ARG_EQ(2, 0) } },
	{ "socket", SBX_ALLOW, 3, { ARG_EQ(0, AF_INET), ARG_MASK(1, 0xf, SOCK_STREAM),
	    ARG_EQ(2, IPPROTO_TCP) } },
	{ "socket", SBX_ALLOW, 3, { ARG_EQ(0, AF_INET6), ARG_MASK(1, 0xf, SOCK_STREAM),
	    ARG_EQ(2, 0) } },
	{ "socket", SBX_ALLOW, 3, { ARG_EQ(0, AF_INET6), ARG_MASK(1, 0xf, SOCK_STREAM),
	    ARG_EQ(2, IPPROTO_TCP) } },
	ALLOW("connect"),
	{ "getsockopt", SBX_ALLOW, 2, { ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_ERROR) } },
	{ "setsockopt", SBX_ALLOW, 2, { ARG_EQ(1, IPPROTO_TCP), ARG_EQ(2, TCP_NODELAY) } },
	ALLOW("shutdown"),
	/* The screen: window size, and putting the terminal back at exit. */
	{ "ioctl", SBX_ALLOW, 2, { ARG_EQ(0, STDOUT_FILENO), ARG_EQ(1, TIOCGWINSZ) } },
	{ "ioctl", SBX_ALLOW, 2, { ARG_EQ(0, STDIN_FILENO), ARG_EQ(1, TCSETSW) } },
	{ "ioctl", SBX_ALLOW, 2, { ARG_EQ(0, STDIN_FILENO), ARG_EQ(1, TCGETS) } },	/* tcsetattr reads back */
	/*
	 * TLS to the relay (chatc/tls.c, PROTOCOL.md 1.0; the context, CA
	 * store and generators are set up before the filter). libssl's
	 * random generators call getpid() before every output to notice a
	 * fork, and reseed from getrandom() now and then. Records use the
	 * socket's read and write.
	 */
	ALLOW("getpid"),
	ALLOW("getrandom"),
	/*
	 * known_relays, the relay keys pinned on first use: opened before the
	 * filter, then only this descriptor is used. flock (LOCK_NB only: the
	 * loop never waits; another chatc may be pinning too), pread of the
	 * whole file, pwrite of one new line at its end, fsync so a pin
	 * survives a crash. No other file can be reached: open is not allowed.
	 */
	ALLOW("flock"),
	ALLOW("pread64"),
	ALLOW("pwrite64"),
	ALLOW("fsync"),
	/* Clocks (usually the vDSO, but not always). */
	ALLOW("clock_gettime"),
	ALLOW("gettimeofday"),
	ALLOW("time"),
	/* Memory, never executable. */
	ALLOW("brk"),
	{ "mmap", SBX_ALLOW, 1, { ARG_MASK(2, PROT_EXEC, 0) } },
	{ "mprotect", SBX_ALLOW, 1, { ARG_MASK(2, PROT_EXEC, 0) } },
	ALLOW("munmap"),
	ALLOW("mremap"),
	ALLOW("madvise"),
	/* Signals and leaving. */
	ALLOW("rt_sigreturn"),
	ALLOW("rt_sigprocmask"),
	ALLOW("restart_syscall"),
	/* libcrypto's exit handlers take a lock (uncontended: one thread). */
	{ "futex", SBX_ALLOW, 1, { ARG_MASK(1, 0x7f, 1) } },	/* FUTEX_WAKE[_PRIVATE] */
	ALLOW("exit_group"),
	ALLOW("exit"),
};

const size_t sbx_chatc_nrules = sizeof(sbx_chatc_rules) / sizeof(sbx_chatc_rules[0]);
