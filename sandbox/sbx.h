/* SPDX-License-Identifier: ISC */
#ifndef VEIL_SBX_H
#define VEIL_SBX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Privilege dropping and seccomp policies. Each process has one flat,
 * ordered table (sbx_relayd.c, sbx_keyd.c, sbx_chatc.c) and sbx.c loads it:
 * architecture check, the table's entries, default SCMP_ACT_KILL_PROCESS.
 * Built with -DVEIL_NO_SANDBOX (make SANDBOX=0, for sanitizers and valgrind)
 * sbx_install() does nothing and says so on stderr.
 */

#define SBX_ALLOW	0		/* sr_errno value meaning "allow" */
#define SBX_MAX_ARGS	3

struct sbx_arg {
	unsigned int	sa_index;	/* argument number, 0..5 */
	int		sa_op;		/* enum scmp_compare */
	uint64_t	sa_value;
	uint64_t	sa_mask;	/* for SCMP_CMP_MASKED_EQ, else 0 */
};

struct sbx_rule {
	const char	*sr_name;	/* syscall name, resolved with seccomp_syscall_resolve_name */
	int		 sr_errno;	/* SBX_ALLOW, or fail with this errno */
	unsigned int	 sr_nargs;
	struct sbx_arg	 sr_args[SBX_MAX_ARGS];
};

/* The tables; each file defines its role's table and its length. */
extern const struct sbx_rule sbx_relayd_rules[];
extern const size_t sbx_relayd_nrules;
/* What relayd --cluster adds for libnats (sbx_relayd.c). */
extern const struct sbx_rule sbx_relayd_cluster_rules[];
extern const size_t sbx_relayd_cluster_nrules;
extern const struct sbx_rule sbx_keyd_rules[];
extern const size_t sbx_keyd_nrules;
/*
 * keyd's table plus, when sockdir_fd >= 0, the two calls that take its socket
 * away at exit, allowed on that one directory descriptor only (fstatat,
 * unlinkat). Writes them to out; returns their number, 0 when cap is too small.
 */
#define SBX_KEYD_EXTRA	2
size_t	sbx_keyd_build(struct sbx_rule *out, size_t cap, int sockdir_fd);
extern const struct sbx_rule sbx_chatc_rules[];
extern const size_t sbx_chatc_nrules;

/*
 * Root only: chroot(dir) + chdir("/"), setgroups(0), setresgid/setresuid to
 * user. Returns 0 or VEIL_E_SYSTEM with a message on stderr.
 */
int	sbx_drop_root(const char *user, const char *dir) VEIL_WUR;
/* prctl(PR_SET_NO_NEW_PRIVS, 1). */
int	sbx_no_new_privs(void) VEIL_WUR;
/*
 * Loads a filter built from one table (after sbx_no_new_privs), e.g.
 * sbx_install(sbx_relayd_rules, sbx_relayd_nrules). Each program links only
 * its own table. Returns 0 or VEIL_E_SYSTEM with a message on stderr.
 */
int	sbx_install(const struct sbx_rule *rules, size_t nrules) VEIL_WUR;
/*
 * The same with a second table's entries too (relayd --cluster: its own
 * table and what libnats needs). The filter covers every thread of the
 * process (SECCOMP_FILTER_FLAG_TSYNC), those started before it included.
 */
int	sbx_install_more(const struct sbx_rule *rules, size_t nrules,
	    const struct sbx_rule *more, size_t nmore) VEIL_WUR;

#endif
