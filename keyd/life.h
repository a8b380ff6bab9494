/* SPDX-License-Identifier: ISC */
#ifndef VEIL_KEYD_LIFE_H
#define VEIL_KEYD_LIFE_H

#include <sys/types.h>

#include <time.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sbx.h"

/*
 * keyd's life around its loop (life.c): stopping a running keyd (--stop),
 * taking its socket away when it ends, and where its lines go once it is a
 * daemon (syslog, else a file: never a terminal). Everything that opens
 * something does so before the sandbox; what runs after it uses only the
 * descriptors kept here, and the calls sbx_keyd_build allows on them.
 */

#define KEYD_STOP_WAIT_MS	5000	/* keyd --stop waits this long for keyd to end */
#define KEYD_LOG_FILE		"keyd.log"	/* in the home, when there is no syslog */
#define KEYD_LOG_LINE		480	/* longer lines are cut (syslog's own limit is larger) */

/* The socket keyd listens on, as it was bound: removed at exit only if it is still that one. */
struct keyd_sock {
	int		 ks_dirfd;	/* its directory (O_PATH), -1: nothing kept */
	char		 ks_name[108];	/* its name in that directory */
	dev_t		 ks_dev;
	ino_t		 ks_ino;
	struct timespec	 ks_ctime;	/* an inode number can come back; this with it cannot */
};

/*
 * After keyd_listen bound path: opens its directory and records the socket
 * file (device, inode). 0, or VEIL_E_SYSTEM with a message on stderr (the
 * socket then stays at exit, as before).
 */
int	keyd_sock_keep(struct keyd_sock *ks, const char *path);
/*
 * Removes the socket if the file at its name is still the one bound (a keyd
 * started after this one has its own), then closes the directory. Uses
 * only fstatat and unlinkat on ks_dirfd, which the sandbox allows. Safe on a
 * struct that kept nothing, and twice.
 */
void	keyd_sock_remove(struct keyd_sock *ks);

/*
 * keyd --stop: asks the keyd serving sock to end (SIGTERM to the process
 * SO_PEERCRED names, only if it runs as this uid) and waits until it has,
 * at most KEYD_STOP_WAIT_MS. Says what happened on stdout (done, nothing
 * running) or stderr (failure). Returns the exit status: 0 stopped or not
 * running, 1 otherwise.
 */
int	keyd_stop(const char *sock);

/* Where a daemon's lines go (struct members private to life.c). */
struct keyd_log {
	int		 lg_fd;		/* -1 none */
	int		 lg_syslog;	/* lg_fd is a datagram socket connected to syslog */
	pid_t		 lg_pid;
	char		 lg_line[KEYD_LOG_LINE + 1];
	size_t		 lg_len;
	int		 lg_cut;	/* the line being gathered was too long */
	unsigned long	 lg_lost;	/* lines syslog would not take */
	char		 lg_path[4096];	/* the file, for messages */
};

/*
 * Before the sandbox: connects to syslog (/dev/log, a datagram socket), or
 * when there is none opens HOME/keyd.log (0600, appended to). 0, or
 * VEIL_E_SYSTEM with a message on stderr.
 */
int	keyd_log_open(struct keyd_log *lg, const char *home) VEIL_WUR;
/*
 * From now on every line written to stderr goes to lg, one syslog record
 * (or one file line, time-stamped) per line; stderr's own descriptor is
 * pointed at /dev/null (nul), so nothing reaches the terminal any more.
 * Before the sandbox. 0 or VEIL_E_SYSTEM.
 */
int	keyd_log_start(struct keyd_log *lg, int nul) VEIL_WUR;
/* "syslog" or the file's path, for the last line on the terminal. */
const char *keyd_log_where(const struct keyd_log *lg);

#endif
