/* SPDX-License-Identifier: ISC */
/*
 * keyd's life around its loop: --stop, the socket taken away at exit, and a
 * daemon's lines going to syslog (or a file) instead of the terminal that
 * started it.
 *
 * Logging does not use syslog(3): once the sandbox is in place glibc's
 * syslog would, after any failed send (syslogd restarted), close its socket
 * and open a new one, which the filter kills keyd for. Here the datagram
 * socket is connected once, before the sandbox, and each line is one
 * write(2) on it: a line that cannot be sent is lost, never fatal. stderr
 * itself is replaced by a stream that writes there (glibc lets a program
 * assign stderr), so every fprintf(stderr, ...) in keyd is routed without
 * touching it, and descriptor 2 points at /dev/null.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "life.h"

int
keyd_sock_keep(struct keyd_sock *ks, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/'), *name = slash != NULL ? slash + 1 : path;
	struct stat st;
	size_t dl;

	memset(ks, 0, sizeof(*ks));
	ks->ks_dirfd = -1;
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else {
		dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= sizeof(dir))
			return VEIL_E_SYSTEM;
		memcpy(dir, path, dl);
		dir[dl] = '\0';
	}
	if (strlen(name) == 0 || strlen(name) >= sizeof(ks->ks_name))
		return VEIL_E_SYSTEM;
	if ((ks->ks_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "keyd: %s: %s; the socket will stay behind at exit\n", dir,
		    strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (fstatat(ks->ks_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "keyd: %s is not the socket just bound; it will stay behind "
		    "at exit\n", path);
		(void)close(ks->ks_dirfd);
		ks->ks_dirfd = -1;
		return VEIL_E_SYSTEM;
	}
	memcpy(ks->ks_name, name, strlen(name) + 1);
	ks->ks_dev = st.st_dev;
	ks->ks_ino = st.st_ino;
	ks->ks_ctime = st.st_ctim;
	return 0;
}

void
keyd_sock_remove(struct keyd_sock *ks)
{
	struct stat st;

	if (ks->ks_dirfd < 0)
		return;
	/*
	 * Only our own: a keyd started while this one was ending has bound a
	 * new socket under the same name (it found ours unanswered).
	 */
	if (fstatat(ks->ks_dirfd, ks->ks_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == ks->ks_dev && st.st_ino == ks->ks_ino &&
	    st.st_ctim.tv_sec == ks->ks_ctime.tv_sec &&
	    st.st_ctim.tv_nsec == ks->ks_ctime.tv_nsec && unlinkat(ks->ks_dirfd, ks->ks_name, 0) == -1)
		fprintf(stderr, "keyd: cannot remove the socket %s: %s\n", ks->ks_name,
		    strerror(errno));
	(void)close(ks->ks_dirfd);
	ks->ks_dirfd = -1;
}

/* ---- --stop ---- */

/* Waits up to ms for pid to end: 1 gone, 0 still there. pidfd when the kernel has it. */
static int
stop_wait(pid_t pid, int pidfd, int ms)
{
	struct pollfd pfd;
	struct timespec ts = { 0, 20 * 1000000L };
	int waited = 0;

	if (pidfd >= 0) {
		pfd.fd = pidfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		while (poll(&pfd, 1, ms) == -1 && errno == EINTR)
			;
		return (pfd.revents & POLLIN) != 0;
	}
	/* Not our child: init reaps it, so it is gone once kill finds nothing. */
	while (kill(pid, 0) == 0 || errno == EPERM) {
		if (waited >= ms)
			return 0;
		(void)nanosleep(&ts, NULL);
		waited += 20;
	}
	return 1;
}

int
keyd_stop(const char *sock)
{
	struct sockaddr_un sun;
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	int s, pidfd, e, sent;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "keyd: socket path %s is too long\n", sock);
		return 1;
	}
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "keyd: socket: %s\n", strerror(errno));
		return 1;
	}
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		(void)close(s);
		if (e == ENOENT || e == ECONNREFUSED) {
			printf("keyd: no keyd is running on %s; nothing to stop\n", sock);
			return 0;
		}
		fprintf(stderr, "keyd: cannot reach %s: %s\n", sock, strerror(e));
		return 1;
	}
	/* The listener's credentials, taken when it listened: who serves this socket. */
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == -1 || uc.pid <= 0) {
		fprintf(stderr, "keyd: cannot tell which process serves %s: %s\n", sock,
		    strerror(errno));
		(void)close(s);
		return 1;
	}
	if (uc.uid != geteuid()) {
		fprintf(stderr, "keyd: %s is served by uid %u, not by you; not stopping it\n",
		    sock, (unsigned int)uc.uid);
		(void)close(s);
		return 1;
	}
	/*
	 * A pidfd taken while our connection still holds the listener's
	 * process in place names that process, not a later one with its pid.
	 */
	pidfd = (int)syscall(SYS_pidfd_open, uc.pid, 0);
	if (pidfd >= 0)
		sent = (int)syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) == 0;
	else
		sent = kill(uc.pid, SIGTERM) == 0;
	e = errno;
	(void)close(s);
	if (!sent) {
		fprintf(stderr, "keyd: cannot signal keyd (pid %ld): %s\n", (long)uc.pid,
		    strerror(e));
		if (pidfd >= 0)
			(void)close(pidfd);
		return 1;
	}
	if (!stop_wait(uc.pid, pidfd, KEYD_STOP_WAIT_MS)) {
		fprintf(stderr, "keyd: keyd (pid %ld) on %s has not ended after %d s\n",
		    (long)uc.pid, sock, KEYD_STOP_WAIT_MS / 1000);
		if (pidfd >= 0)
			(void)close(pidfd);
		return 1;
	}
	if (pidfd >= 0)
		(void)close(pidfd);
	printf("keyd: stopped keyd (pid %ld) on %s\n", (long)uc.pid, sock);
	return 0;
}

/* ---- a daemon's lines ---- */

int
keyd_log_open(struct keyd_log *lg, const char *home)
{
	struct sockaddr_un sun;
	int fd;

	memset(lg, 0, sizeof(*lg));
	lg->lg_fd = -1;
	lg->lg_pid = getpid();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, _PATH_LOG, sizeof(_PATH_LOG));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			lg->lg_fd = fd;
			lg->lg_syslog = 1;
			return 0;
		}
		(void)close(fd);
	}
	if ((size_t)snprintf(lg->lg_path, sizeof(lg->lg_path), "%s/%s", home,
	    KEYD_LOG_FILE) >= sizeof(lg->lg_path)) {
		fprintf(stderr, "keyd: home path too long for %s\n", KEYD_LOG_FILE);
		return VEIL_E_SYSTEM;
	}
	if ((fd = open(lg->lg_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "keyd: no syslog, and cannot open %s: %s\n", lg->lg_path,
		    strerror(errno));
		return VEIL_E_SYSTEM;
	}
	lg->lg_fd = fd;
	return 0;
}

const char *
keyd_log_where(const struct keyd_log *lg)
{
	return lg->lg_syslog ? "syslog" : lg->lg_path;
}

/* One whole line out: a syslog record, or a time-stamped line of the file. */
static void
log_emit(struct keyd_log *lg, const char *text)
{
	char rec[KEYD_LOG_LINE + 96], stamp[40];
	struct timespec ts;
	struct tm tmv;
	int n;

	/* The tag says it is keyd already. */
	if (strncmp(text, "keyd: ", 6) == 0)
		text += 6;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || localtime_r(&ts.tv_sec, &tmv) == NULL ||
	    strftime(stamp, sizeof(stamp), lg->lg_syslog ? "%b %e %H:%M:%S" :
	    "%Y-%m-%dT%H:%M:%S%z", &tmv) == 0)
		stamp[0] = '\0';
	if (lg->lg_syslog)
		n = snprintf(rec, sizeof(rec), "<%d>%s keyd[%ld]: %s%s", LOG_DAEMON | LOG_NOTICE,
		    stamp, (long)lg->lg_pid, text, lg->lg_cut ? " [cut]" : "");
	else
		n = snprintf(rec, sizeof(rec), "%s keyd[%ld]: %s%s\n", stamp, (long)lg->lg_pid,
		    text, lg->lg_cut ? " [cut]" : "");
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(rec))
		n = (int)sizeof(rec) - 1;
	/* Lost if it cannot go now: a line is never worth blocking or dying for. */
	if (write(lg->lg_fd, rec, (size_t)n) != n)
		lg->lg_lost++;
}

static ssize_t
log_write(void *cookie, const char *buf, size_t n)
{
	struct keyd_log *lg = cookie;
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			lg->lg_line[lg->lg_len] = '\0';
			log_emit(lg, lg->lg_line);
			lg->lg_len = 0;
			lg->lg_cut = 0;
		} else if (lg->lg_len < KEYD_LOG_LINE)
			lg->lg_line[lg->lg_len++] = buf[i] == '\t' || (unsigned char)buf[i] >= 0x20 ?
			    buf[i] : '?';
		else
			lg->lg_cut = 1;
	}
	return (ssize_t)n;
}

int
keyd_log_start(struct keyd_log *lg, int nul)
{
	cookie_io_functions_t io = { NULL, log_write, NULL, NULL };
	FILE *f;

	/* The time zone now: localtime_r reads no file after the first time. */
	tzset();
	if ((f = fopencookie(lg, "w", io)) == NULL)
		return VEIL_E_SYSTEM;
	if (setvbuf(f, NULL, _IOLBF, 0) != 0 || dup2(nul, STDERR_FILENO) == -1) {
		(void)fclose(f);
		return VEIL_E_SYSTEM;
	}
	(void)fflush(stderr);
	stderr = f;
	return 0;
}
