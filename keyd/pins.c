/* SPDX-License-Identifier: ISC */
/*
 * Pinned peer identities, HOME/known_peers (like ssh's known_hosts): one
 * "NICK HEX64" line per peer. The sandbox forbids opening files once keyd
 * has started, so the file is opened once, O_RDWR|O_CREAT, and every
 * operation works on that fd under flock(LOCK_EX): re-read it whole with
 * pread, change it with pwrite/ftruncate, fsync, unlock. `keyd --forget`
 * edits the same file in place with the same discipline (never by rename,
 * which would leave the running keyd holding the old inode), so each side
 * always sees the other's last change.
 *
 * The lock is taken by the caller, and never with a call that waits: any
 * process of this uid may hold it for as long as it likes, and the daemon's
 * event loop must not stop for it (keyd_dispatch tries LOCK_NB and puts the
 * request off; `keyd --forget` tries again for a bounded time).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

#define PIN_HEX_LEN	((size_t)ED25519_PUB_LEN * 2)
#define PIN_LINE_MAX	(NICK_MAX + 1 + PIN_HEX_LEN + 1)
#define PIN_LOCK_TRY_MS	20	/* keyd_pins_lock_wait: between two tries */
#define PROC_LOCKS	"/proc/locks"

int
keyd_pins_open(struct keyd_pins *kp, const char *path)
{
	struct stat st;
	int r;

	kp->kp_fd = kp->kp_locks_fd = -1;
	kp->kp_locked = 0;
	if ((kp->kp_path = strdup(path)) == NULL)
		return VEIL_E_ALLOC;
	kp->kp_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (kp->kp_fd == -1) {
		fprintf(stderr, "keyd: cannot open %s: %s\n", path, strerror(errno));
		keyd_pins_close(kp);
		return VEIL_E_SYSTEM;
	}
	if ((r = keyd_file_private(kp->kp_fd, path)) != 0) {
		keyd_pins_close(kp);
		return r;
	}
	/*
	 * Only to name the holder of a lock in messages: opened now, since the
	 * sandbox allows no open later. Without it messages just name no pid.
	 */
	if (fstat(kp->kp_fd, &st) == 0) {
		kp->kp_dev_major = major(st.st_dev);
		kp->kp_dev_minor = minor(st.st_dev);
		kp->kp_ino = (unsigned long long)st.st_ino;
		kp->kp_locks_fd = open(PROC_LOCKS, O_RDONLY | O_CLOEXEC);
	}
	return 0;
}

void
keyd_pins_close(struct keyd_pins *kp)
{
	if (kp->kp_fd >= 0)
		(void)close(kp->kp_fd);
	if (kp->kp_locks_fd >= 0)
		(void)close(kp->kp_locks_fd);
	kp->kp_fd = kp->kp_locks_fd = -1;
	kp->kp_locked = 0;
	free(kp->kp_path);
	kp->kp_path = NULL;
}

int
keyd_pins_trylock(struct keyd_pins *kp)
{
	if (kp->kp_locked)
		return VEIL_E_STATE;
	while (flock(kp->kp_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return VEIL_E_BUSY;
		if (errno != EINTR) {
			fprintf(stderr, "keyd: flock %s: %s\n", kp->kp_path, strerror(errno));
			return VEIL_E_SYSTEM;
		}
	}
	kp->kp_locked = 1;
	return 0;
}

int
keyd_pins_lock_wait(struct keyd_pins *kp, unsigned int ms)
{
	struct timespec ts = { 0, PIN_LOCK_TRY_MS * 1000L * 1000 };
	unsigned int waited = 0;
	int r;

	while ((r = keyd_pins_trylock(kp)) == VEIL_E_BUSY && waited < ms) {
		(void)nanosleep(&ts, NULL);
		waited += PIN_LOCK_TRY_MS;
	}
	return r;
}

void
keyd_pins_unlock(struct keyd_pins *kp)
{
	if (!kp->kp_locked)
		return;
	(void)flock(kp->kp_fd, LOCK_UN);
	kp->kp_locked = 0;
}

/*
 * One line of /proc/locks (without its newline; cut into fields here): the
 * pid when it is a flock held (not waited for: "->") on our file, else 0.
 * The form is "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE START END",
 * device numbers in hex.
 */
static long
pins_locks_line(const struct keyd_pins *kp, char *ln)
{
	char want[64], *f[6], *save = NULL, *end;
	long pid;
	int i;

	for (i = 0; i < 6; i++)
		if ((f[i] = strtok_r(i == 0 ? ln : NULL, " \t", &save)) == NULL)
			return 0;
	if (strcmp(f[1], "FLOCK") != 0)
		return 0;
	errno = 0;
	pid = strtol(f[4], &end, 10);
	if (errno != 0 || end == f[4] || *end != '\0' || pid <= 0)
		return 0;
	(void)snprintf(want, sizeof(want), "%02x:%02x:%llu", kp->kp_dev_major,
	    kp->kp_dev_minor, kp->kp_ino);
	return strcmp(f[5], want) == 0 ? pid : 0;
}

long
keyd_pins_holder(struct keyd_pins *kp)
{
	char buf[4096 + 1], *ln, *nl;
	size_t have = 0, used;
	off_t off = 0;
	ssize_t r;
	long pid = 0;

	if (kp->kp_locks_fd < 0)
		return 0;
	/* Line by line, a buffer at a time: the table may be long. */
	for (;;) {
		r = pread(kp->kp_locks_fd, buf + have, sizeof(buf) - 1 - have, off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += r;
		have += (size_t)r;
		buf[have] = '\0';
		for (ln = buf; pid == 0 && (nl = strchr(ln, '\n')) != NULL; ln = nl + 1) {
			*nl = '\0';
			pid = pins_locks_line(kp, ln);
		}
		if (pid != 0)
			break;
		used = (size_t)(ln - buf);
		if (used == 0) {
			have = 0;	/* a line longer than the buffer: not one of ours */
			continue;
		}
		memmove(buf, ln, have - used);
		have -= used;
	}
	return pid;
}

/* Reads the whole file (size found with lseek: no fstat needed). */
static int
pins_read(struct keyd_pins *kp, char **out, size_t *outlen)
{
	off_t end;
	size_t len, got = 0;
	ssize_t r;
	char *buf;

	*out = NULL;
	*outlen = 0;
	if ((end = lseek(kp->kp_fd, 0, SEEK_END)) == (off_t)-1) {
		fprintf(stderr, "keyd: %s: %s\n", kp->kp_path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (end > KEYD_PINS_MAX) {
		fprintf(stderr, "keyd: %s is larger than %ld bytes; refusing it\n",
		    kp->kp_path, KEYD_PINS_MAX);
		return VEIL_E_OVERSIZE;
	}
	len = (size_t)end;
	if ((buf = malloc(len + 1)) == NULL)
		return VEIL_E_ALLOC;
	while (got < len) {
		r = pread(kp->kp_fd, buf + got, len - got, (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "keyd: cannot read %s: %s\n", kp->kp_path,
			    r == 0 ? "file shrank" : strerror(errno));
			free(buf);
			return VEIL_E_SYSTEM;
		}
		got += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int
pins_write_at(struct keyd_pins *kp, const char *p, size_t n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		w = pwrite(kp->kp_fd, p, n, off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "keyd: cannot write %s: %s\n", kp->kp_path,
			    strerror(errno));
			return VEIL_E_SYSTEM;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/*
 * Parses one line (without its newline). *skip = 1 for a blank or '#' line.
 * Otherwise the nick and key are returned.
 */
static int
pins_parse_line(const char *line, size_t len, int *skip, const char **nick,
    size_t *nicklen, uint8_t pub[static ED25519_PUB_LEN])
{
	const char *sp;
	size_t i;
	int hi, lo;

	*skip = 0;
	if (len == 0 || line[0] == '#') {
		*skip = 1;
		return 0;
	}
	if ((sp = memchr(line, ' ', len)) == NULL)
		return VEIL_E_INVALID;
	*nick = line;
	*nicklen = (size_t)(sp - line);
	if (!proto_nick_valid((const uint8_t *)line, *nicklen))
		return VEIL_E_INVALID;
	if (len - *nicklen - 1 != PIN_HEX_LEN)
		return VEIL_E_INVALID;
	for (i = 0; i < ED25519_PUB_LEN; i++) {
		hi = proto_hex_digit(sp[1 + i * 2]);
		lo = proto_hex_digit(sp[2 + i * 2]);
		if (hi < 0 || lo < 0)
			return VEIL_E_INVALID;
		pub[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Finds nick in buf. *found, pub, and the byte range [*start, *end) of its
 * line including the newline. Any malformed line fails the whole file.
 */
static int
pins_find(const struct keyd_pins *kp, const char *buf, size_t len, const uint8_t *nick,
    size_t nicklen, int *found, uint8_t pub[static ED25519_PUB_LEN], size_t *start,
    size_t *end)
{
	const char *ln, *nl, *lnick;
	size_t off = 0, linelen, lnicklen, lineno = 0;
	uint8_t k[ED25519_PUB_LEN];
	int skip;

	*found = 0;
	while (off < len) {
		lineno++;
		ln = buf + off;
		nl = memchr(ln, '\n', len - off);
		linelen = nl == NULL ? len - off : (size_t)(nl - ln);
		if (pins_parse_line(ln, linelen, &skip, &lnick, &lnicklen, k) != 0) {
			fprintf(stderr, "keyd: %s line %zu is not \"NICK HEX64\"; fix or "
			    "remove it\n", kp->kp_path, lineno);
			return VEIL_E_INVALID;
		}
		if (!skip && !*found && lnicklen == nicklen &&
		    memcmp(lnick, nick, nicklen) == 0) {
			*found = 1;
			memcpy(pub, k, ED25519_PUB_LEN);
			*start = off;
			*end = off + linelen + (nl != NULL);
		}
		off += linelen + (nl != NULL);
	}
	return 0;
}

int
keyd_pins_lookup(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
    uint8_t pub[static ED25519_PUB_LEN], int *found)
{
	size_t len, s, e;
	char *buf;
	int r;

	*found = 0;
	memset(pub, 0, ED25519_PUB_LEN);
	if (!proto_nick_valid(nick, nicklen))
		return VEIL_E_NICK;
	if (!kp->kp_locked)
		return VEIL_E_STATE;
	if ((r = pins_read(kp, &buf, &len)) == 0) {
		r = pins_find(kp, buf, len, nick, nicklen, found, pub, &s, &e);
		free(buf);
	}
	return r;
}

int
keyd_pins_add(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
    const uint8_t pub[static ED25519_PUB_LEN], uint8_t old[ED25519_PUB_LEN])
{
	char line[1 + PIN_LINE_MAX + 1], *buf = NULL;
	uint8_t have[ED25519_PUB_LEN];
	size_t len, s, e, n = 0, i;
	int found, r;

	if (old != NULL)
		memset(old, 0, ED25519_PUB_LEN);
	if (!proto_nick_valid(nick, nicklen))
		return VEIL_E_NICK;
	if (!kp->kp_locked)
		return VEIL_E_STATE;
	if ((r = pins_read(kp, &buf, &len)) != 0)
		goto out;
	if ((r = pins_find(kp, buf, len, nick, nicklen, &found, have, &s, &e)) != 0)
		goto out;
	if (found) {
		if (!vc_equal(have, pub, ED25519_PUB_LEN)) {
			if (old != NULL)
				memcpy(old, have, ED25519_PUB_LEN);
			r = VEIL_E_PIN;
		}
		goto out;
	}
	if (len > 0 && buf[len - 1] != '\n')
		line[n++] = '\n';
	memcpy(line + n, nick, nicklen);
	n += nicklen;
	line[n++] = ' ';
	for (i = 0; i < ED25519_PUB_LEN; i++) {
		line[n++] = "0123456789abcdef"[pub[i] >> 4];
		line[n++] = "0123456789abcdef"[pub[i] & 15];
	}
	line[n++] = '\n';
	if ((r = pins_write_at(kp, line, n, (off_t)len)) != 0)
		goto out;
	if (fsync(kp->kp_fd) == -1) {
		fprintf(stderr, "keyd: fsync %s: %s\n", kp->kp_path, strerror(errno));
		r = VEIL_E_SYSTEM;
	}
out:
	free(buf);
	return r;
}

int
keyd_pins_forget(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
    int *existed, uint8_t old[static ED25519_PUB_LEN])
{
	uint8_t k[ED25519_PUB_LEN];
	size_t len, s, e;
	char *buf = NULL;
	int found, r;

	*existed = 0;
	memset(old, 0, ED25519_PUB_LEN);
	if (!proto_nick_valid(nick, nicklen))
		return VEIL_E_NICK;
	if (!kp->kp_locked)
		return VEIL_E_STATE;
	if ((r = pins_read(kp, &buf, &len)) != 0)
		goto out;
	if ((r = pins_find(kp, buf, len, nick, nicklen, &found, old, &s, &e)) != 0 ||
	    !found)
		goto out;
	*existed = 1;
	/* Drop that line and any later duplicate of it (hand-edited files). */
	do {
		memmove(buf + s, buf + e, len - e);
		len -= e - s;
		if ((r = pins_find(kp, buf, len, nick, nicklen, &found, k, &s, &e)) != 0)
			goto out;
	} while (found);
	if ((r = pins_write_at(kp, buf, len, 0)) != 0)
		goto out;
	if (ftruncate(kp->kp_fd, (off_t)len) == -1 || fsync(kp->kp_fd) == -1) {
		fprintf(stderr, "keyd: cannot rewrite %s: %s\n", kp->kp_path, strerror(errno));
		r = VEIL_E_SYSTEM;
	}
out:
	free(buf);
	return r;
}
