/* SPDX-License-Identifier: ISC */
/*
 * keyd's seccomp allowlist, loaded by sbx_install() once keyd is listening,
 * has its identity in memory and known_peers open, and has run every OpenSSL
 * primitive once. Anything not listed kills the process (sbx.c). Not listed,
 * on purpose: open/openat (no new files: known_peers is reached through the
 * fd opened before), socket/connect/bind (no network, no new sockets),
 * execve/execveat, ptrace, fork/clone, unlink, chmod, setuid and friends.
 * Found with strace -f on a full run (handshakes, seal of 64 handles, open,
 * rekey, close, forget, verify, 34 clients, an oversize request, SIGTERM):
 * accept4 brk close exit_group flock fsync ftruncate futex geteuid getpid
 * getsockopt lseek mmap munmap newfstatat ppoll pread64 pwrite64 read
 * rt_sigreturn write; plus the few glibc and OpenSSL fall back on (vDSO-less clock,
 * DRBG reseed, large realloc and free).
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include <seccomp.h>

#include "sbx.h"

/* Argument filters, as struct sbx_arg: index, op, value, mask. */
#define ARG_EQ(i, v)		{ (i), SCMP_CMP_EQ, (uint64_t)(v), 0 }
#define ARG_NOBITS(i, bits)	{ (i), SCMP_CMP_MASKED_EQ, 0, (uint64_t)(bits) }

const struct sbx_rule sbx_keyd_rules[] = {
	/* The event loop. */
	{ "ppoll", SBX_ALLOW, 0, { { 0 } } },		/* waits; SIGTERM taken only here */
	{ "read", SBX_ALLOW, 0, { { 0 } } },		/* client requests */
	{ "write", SBX_ALLOW, 0, { { 0 } } },		/* answers; stderr lines */
	{ "close", SBX_ALLOW, 0, { { 0 } } },		/* a client goes away */
	/* New clients, only in the form keyd asks for (non-blocking, cloexec). */
	{ "accept4", SBX_ALLOW, 1,
	    { ARG_EQ(3, SOCK_NONBLOCK | SOCK_CLOEXEC) } },
	/* SO_PEERCRED, and nothing else, on an accepted socket. */
	{ "getsockopt", SBX_ALLOW, 2,
	    { ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_PEERCRED) } },
	{ "geteuid", SBX_ALLOW, 0, { { 0 } } },	/* the uid peers must have */

	/* known_peers, through the fd opened before the filter. */
	{ "flock", SBX_ALLOW, 0, { { 0 } } },		/* every read/modify under LOCK_EX */
	{ "lseek", SBX_ALLOW, 0, { { 0 } } },		/* its size */
	{ "pread64", SBX_ALLOW, 0, { { 0 } } },	/* re-read it whole each time */
	{ "pwrite64", SBX_ALLOW, 0, { { 0 } } },	/* append a pin, rewrite on --trust */
	{ "ftruncate", SBX_ALLOW, 0, { { 0 } } },	/* shorten after a rewrite */
	{ "fsync", SBX_ALLOW, 0, { { 0 } } },		/* a pin must survive a crash */
	/*
	 * Its generation (REQ_STATUS): has someone changed it? glibc's fstat is
	 * newfstatat(fd, "", AT_EMPTY_PATH); the flag is all that can be pinned
	 * down (a path is not an argument seccomp can see), and it opens nothing.
	 */
	{ "fstat", SBX_ALLOW, 0, { { 0 } } },
	{ "newfstatat", SBX_ALLOW, 1, { ARG_EQ(3, AT_EMPTY_PATH) } },

	/* Memory (malloc, OpenSSL): never executable. */
	{ "brk", SBX_ALLOW, 0, { { 0 } } },
	{ "mmap", SBX_ALLOW, 1, { ARG_NOBITS(2, PROT_EXEC) } },
	{ "munmap", SBX_ALLOW, 0, { { 0 } } },		/* free() of large blocks */
	{ "mremap", SBX_ALLOW, 0, { { 0 } } },		/* realloc() of large blocks (OpenSSL) */
	{ "madvise", SBX_ALLOW, 0, { { 0 } } },	/* free() may return pages */
	{ "mlock", SBX_ALLOW, 0, { { 0 } } },		/* a new connection's pages (its seed copy) */

	/* OpenSSL's RNG (ephemeral keys) and the session clock (rekey timer). */
	{ "getrandom", SBX_ALLOW, 0, { { 0 } } },	/* DRBG reseeds, seeded before */
	{ "clock_gettime", SBX_ALLOW, 0, { { 0 } } },	/* when the vDSO is not used */
	{ "getpid", SBX_ALLOW, 0, { { 0 } } },		/* OpenSSL's fork check, each RAND call */
	{ "futex", SBX_ALLOW, 0, { { 0 } } },		/* OpenSSL's once/locks, at exit */

	/* Signals and exit. */
	{ "rt_sigreturn", SBX_ALLOW, 0, { { 0 } } },	/* return from the SIGTERM handler */
	{ "exit_group", SBX_ALLOW, 0, { { 0 } } },
};

const size_t sbx_keyd_nrules = sizeof(sbx_keyd_rules) / sizeof(sbx_keyd_rules[0]);

/*
 * Taking the socket away at exit (keyd/life.c, keyd_sock_remove): the file
 * is checked to be still the one keyd bound, then unlinked, both by name in
 * its directory through a descriptor opened before the filter. The filter
 * allows the two calls on that descriptor only: the directory is keyd's own
 * (0700, checked at start), so the most a compromised keyd could do with
 * them is remove files there, which it could do before the filter anyway;
 * no other path can be named (an absolute name would need AT_FDCWD or
 * another descriptor, and unlink/rename are not allowed at all).
 */
size_t
sbx_keyd_build(struct sbx_rule *out, size_t cap, int sockdir_fd)
{
	const struct sbx_rule extra[SBX_KEYD_EXTRA] = {
		{ "newfstatat", SBX_ALLOW, 1, { ARG_EQ(0, sockdir_fd) } },
		{ "unlinkat", SBX_ALLOW, 2, { ARG_EQ(0, sockdir_fd), ARG_EQ(2, 0) } },
	};
	size_t n = sbx_keyd_nrules, i;

	if (cap < n + SBX_KEYD_EXTRA)
		return 0;
	for (i = 0; i < n; i++)
		out[i] = sbx_keyd_rules[i];
	if (sockdir_fd < 0)
		return n;
	for (i = 0; i < SBX_KEYD_EXTRA; i++)
		out[n++] = extra[i];
	return n;
}
