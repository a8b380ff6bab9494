/* SPDX-License-Identifier: ISC */
/*
 * The generic sandbox loader: privilege dropping and one libseccomp filter
 * built from one flat table (sbx_relayd.c, sbx_keyd.c, sbx_chatc.c).
 * Order, as in OpenSSH's ssh_sandbox_child and OpenSMTPD: chroot/chdir,
 * setgroups, setresgid/setresuid (sbx_drop_root), then no_new_privs, then
 * the filter (sbx_install).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef VEIL_NO_SANDBOX
#include <seccomp.h>
#endif

#include "err.h"
#include "sbx.h"

int
sbx_drop_root(const char *user, const char *dir)
{
	struct passwd *pw;
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd;

	if (user == NULL || dir == NULL || *user == '\0' || *dir != '/') {
		fprintf(stderr, "sandbox: need a user name and an absolute chroot directory\n");
		return VEIL_E_SYSTEM;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "sandbox: dropping root needs root\n");
		return VEIL_E_SYSTEM;
	}
	/* Resolve the user before chroot: /etc/passwd is not inside it. */
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "sandbox: unknown user \"%s\"\n", user);
		return VEIL_E_SYSTEM;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0) {
		fprintf(stderr, "sandbox: user \"%s\" is root; refusing\n", user);
		return VEIL_E_SYSTEM;
	}
	/*
	 * The jail must be a directory only root can change (OpenSSH's
	 * safe_path rule), or the unprivileged process could plant files in it.
	 * It is checked through a descriptor and entered through that same
	 * descriptor (fchdir, then chroot(".")), so nobody can swap the path
	 * between the check and the chroot.
	 */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		fprintf(stderr, "sandbox: chroot directory %s: %s\n", dir, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		fprintf(stderr, "sandbox: chroot directory %s must be a directory owned by "
		    "root and not writable by group or others\n", dir);
		(void)close(fd);
		return VEIL_E_SYSTEM;
	}
#ifdef VEIL_NO_SANDBOX
	/*
	 * Sanitizer and valgrind builds only: LeakSanitizer reads /proc at
	 * exit, which an empty chroot does not have. The uid drop stays.
	 */
	fprintf(stderr, "sandbox: chroot skipped (SANDBOX=0 build)\n");
#else
	if (fchdir(fd) == -1 || chroot(".") == -1 || chdir("/") == -1) {
		fprintf(stderr, "sandbox: chroot %s: %s\n", dir, strerror(errno));
		(void)close(fd);
		return VEIL_E_SYSTEM;
	}
#endif
	(void)close(fd);
	if (setgroups(0, NULL) == -1) {
		fprintf(stderr, "sandbox: setgroups: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (setresgid(gid, gid, gid) == -1) {
		fprintf(stderr, "sandbox: setresgid: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (setresuid(uid, uid, uid) == -1) {
		fprintf(stderr, "sandbox: setresuid: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	/* Paranoia (OpenSSH permanently_set_uid): root must be gone for good. */
	if (setuid(0) != -1 || setgid(0) != -1 || geteuid() != uid || getegid() != gid) {
		fprintf(stderr, "sandbox: privileges could be regained; refusing to run\n");
		return VEIL_E_SYSTEM;
	}
	return 0;
}

int
sbx_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		fprintf(stderr, "sandbox: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return VEIL_E_SYSTEM;
	}
	return 0;
}

#ifdef VEIL_NO_SANDBOX

int
sbx_install_more(const struct sbx_rule *rules, size_t nrules, const struct sbx_rule *more,
    size_t nmore)
{
	(void)rules;
	(void)nrules;
	(void)more;
	(void)nmore;
	fprintf(stderr, "sandbox compiled out (SANDBOX=0 build)\n");
	return 0;
}

int
sbx_install(const struct sbx_rule *rules, size_t nrules)
{
	return sbx_install_more(rules, nrules, NULL, 0);
}

#else /* VEIL_NO_SANDBOX */

#ifdef VEIL_SANDBOX_DEBUG
/*
 * Debug builds (-DVEIL_SANDBOX_DEBUG) trap instead of killing and name the
 * syscall, like OpenSSH's SANDBOX_SECCOMP_FILTER_DEBUG. Never in a release:
 * the handler runs in the sandboxed process. Only async-signal-safe calls.
 */
static void
sbx_debug_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char msg[64] = "sandbox: denied syscall ";
	size_t n = strlen(msg);
	char digits[12];
	size_t d = 0;
	unsigned int nr = (unsigned int)si->si_syscall;

	(void)sig;
	(void)ctx;
	do {
		digits[d++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr != 0 && d < sizeof(digits));
	while (d > 0 && n < sizeof(msg) - 2)
		msg[n++] = digits[--d];
	msg[n++] = '\n';
	(void)!write(STDERR_FILENO, msg, n);
	_exit(126);
}
#endif

static int
sbx_arch_ok(uint32_t arch)
{
	/* The tables are written for these two; anything else is refused. */
	return arch == SCMP_ARCH_X86_64 || arch == SCMP_ARCH_AARCH64;
}

/* Adds one table's entries to the filter. Returns 0 or VEIL_E_SYSTEM. */
static int
sbx_add_rules(scmp_filter_ctx ctx, const struct sbx_rule *rules, size_t nrules)
{
	struct scmp_arg_cmp cmp[SBX_MAX_ARGS];
	unsigned int i;
	uint32_t act;
	size_t k;
	int nr, rc;

	for (k = 0; k < nrules; k++) {
		const struct sbx_rule *r = &rules[k];

		if (r->sr_name == NULL || r->sr_nargs > SBX_MAX_ARGS || r->sr_errno < 0) {
			fprintf(stderr, "sandbox: bad table entry %zu\n", k);
			return VEIL_E_SYSTEM;
		}
		nr = seccomp_syscall_resolve_name(r->sr_name);
		/* Not a syscall on this architecture (e.g. open on aarch64): skip. */
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		memset(cmp, 0, sizeof(cmp));
		for (i = 0; i < r->sr_nargs; i++) {
			const struct sbx_arg *a = &r->sr_args[i];

			if (a->sa_index > 5) {
				fprintf(stderr, "sandbox: bad argument index in entry %s\n",
				    r->sr_name);
				return VEIL_E_SYSTEM;
			}
			cmp[i].arg = a->sa_index;
			cmp[i].op = (enum scmp_compare)a->sa_op;
			if (cmp[i].op == SCMP_CMP_MASKED_EQ) {
				cmp[i].datum_a = a->sa_mask;
				cmp[i].datum_b = a->sa_value;
			} else
				cmp[i].datum_a = a->sa_value;
		}
		act = r->sr_errno == SBX_ALLOW ? SCMP_ACT_ALLOW :
		    SCMP_ACT_ERRNO((uint16_t)r->sr_errno);
		if ((rc = seccomp_rule_add_array(ctx, act, nr, r->sr_nargs, cmp)) != 0) {
			fprintf(stderr, "sandbox: rule for %s: %s\n", r->sr_name, strerror(-rc));
			return VEIL_E_SYSTEM;
		}
	}
	return 0;
}

int
sbx_install(const struct sbx_rule *rules, size_t nrules)
{
	return sbx_install_more(rules, nrules, NULL, 0);
}

int
sbx_install_more(const struct sbx_rule *rules, size_t nrules, const struct sbx_rule *more,
    size_t nmore)
{
	scmp_filter_ctx ctx;
	uint32_t arch;
	int rc, ret = VEIL_E_SYSTEM;

	if ((rules == NULL && nrules != 0) || (more == NULL && nmore != 0))
		return VEIL_E_SYSTEM;
	arch = seccomp_arch_native();
	if (!sbx_arch_ok(arch)) {
		fprintf(stderr, "sandbox: unsupported architecture 0x%x; refusing to run "
		    "without a filter\n", arch);
		return VEIL_E_SYSTEM;
	}
#ifdef VEIL_SANDBOX_DEBUG
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sbx_debug_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1) {
			fprintf(stderr, "sandbox: sigaction SIGSYS: %s\n", strerror(errno));
			return VEIL_E_SYSTEM;
		}
	}
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL) {
#else
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
#endif
		fprintf(stderr, "sandbox: seccomp_init failed\n");
		return VEIL_E_SYSTEM;
	}
	/*
	 * Only the native architecture: a syscall made through another ABI
	 * (i386 int 0x80, x32) kills the whole process, not one thread.
	 */
	if (seccomp_arch_exist(ctx, arch) != 0 &&
	    (rc = seccomp_arch_add(ctx, arch)) != 0) {
		fprintf(stderr, "sandbox: seccomp_arch_add: %s\n", strerror(-rc));
		goto out;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0) {
		fprintf(stderr, "sandbox: seccomp_attr_set BADARCH: %s\n", strerror(-rc));
		goto out;
	}
	/*
	 * Every thread, also those a library started before (libnats'):
	 * a filter on the calling thread alone would leave them unconfined.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		fprintf(stderr, "sandbox: seccomp_attr_set TSYNC: %s\n", strerror(-rc));
		goto out;
	}
	if (sbx_add_rules(ctx, rules, nrules) != 0 || sbx_add_rules(ctx, more, nmore) != 0)
		goto out;
	if ((rc = seccomp_load(ctx)) != 0) {
		fprintf(stderr, "sandbox: seccomp_load: %s\n", strerror(-rc));
		goto out;
	}
	ret = 0;
out:
	seccomp_release(ctx);
	return ret;
}

#endif /* VEIL_NO_SANDBOX */
