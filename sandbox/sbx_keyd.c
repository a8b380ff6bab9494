/* SPDX-License-Identifier: ISC */
/*
 * keyd's seccomp allowlist, loaded by sbx_install() once keyd is listening,
 * has its identity in memory and known_peers open, and has run every OpenSSL
 * primitive once. Anything not listed kills the process (sbx.c). Not listed,
 * on purpose: open/openat (no new files: known_peers is reached through the
 * fd opened before), socket/connect/bind (no network, no new sockets),
 * execve/execveat, ptrace, fork/clone, unlink, chmod, setuid and friends.
 * Found with strace -f on a full run (handshake, seal, open, rekey, close,
 * forget, verify, disconnects, SIGTERM).
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
	{ "poll", SBX_ALLOW, 0, { { 0 } } },		/* libc may map ppoll to poll */
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
	{ "pwrite64", SBX_ALLOW, 0, { { 0 } } },	/* append a pin, rewrite on forget */
	{ "ftruncate", SBX_ALLOW, 0, { { 0 } } },	/* shorten after forget */
	{ "fsync", SBX_ALLOW, 0, { { 0 } } },		/* a pin must survive a crash */

	/* Memory (malloc, OpenSSL): never executable. */
	{ "brk", SBX_ALLOW, 0, { { 0 } } },
	{ "mmap", SBX_ALLOW, 1, { ARG_NOBITS(2, PROT_EXEC) } },
	{ "mprotect", SBX_ALLOW, 1, { ARG_NOBITS(2, PROT_EXEC) } },	/* malloc arenas */
	{ "munmap", SBX_ALLOW, 0, { { 0 } } },
	{ "mremap", SBX_ALLOW, 0, { { 0 } } },		/* realloc of large blocks */
	{ "madvise", SBX_ALLOW, 0, { { 0 } } },	/* free() trims */

	/* OpenSSL's RNG (ephemeral keys) and the session clock (rekey timer). */
	{ "getrandom", SBX_ALLOW, 0, { { 0 } } },
	{ "clock_gettime", SBX_ALLOW, 0, { { 0 } } },	/* when the vDSO is not used */
	{ "getpid", SBX_ALLOW, 0, { { 0 } } },		/* OpenSSL's fork check */
	{ "futex", SBX_ALLOW, 0, { { 0 } } },		/* OpenSSL's locks (uncontended) */

	/* Signals and exit. */
	{ "rt_sigreturn", SBX_ALLOW, 0, { { 0 } } },	/* return from the SIGTERM handler */
	{ "rt_sigprocmask", SBX_ALLOW, 0, { { 0 } } },	/* libc around abort/exit */
	{ "exit_group", SBX_ALLOW, 0, { { 0 } } },
	{ "exit", SBX_ALLOW, 0, { { 0 } } },
};

const size_t sbx_keyd_nrules = sizeof(sbx_keyd_rules) / sizeof(sbx_keyd_rules[0]);
