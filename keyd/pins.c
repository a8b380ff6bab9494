/* SPDX-License-Identifier: ISC */
/*
 * Pinned peer identities, HOME/known_peers (PROTOCOL.md 4; like ssh's
 * known_hosts, but keyed by identity key, the nickname only a label): one
 * "KEY STATUS NICK ROOM SINCE" line per entry. The sandbox forbids opening
 * files once keyd has started, so the file is opened once, O_RDWR|O_CREAT,
 * and every operation works on that fd under flock(LOCK_EX): re-read it with
 * pread, change it with pwrite/ftruncate, unlock. `keyd --trust` and
 * `--forget` edit the same file in place with the same discipline (never by
 * rename, which would leave the running keyd holding the old inode), so each
 * side always sees the other's last change.
 *
 * A malformed line never makes a lookup fail: it is reported with its line
 * number and skipped (failing closed on it would let one bad line refuse
 * every handshake). Nor does the file's size: at most KEYD_PINS_ENTRIES
 * entries are read, line by line.
 *
 * The lock is taken by the caller, and never with a call that waits: any
 * process of this uid may hold it for as long as it likes, and the daemon's
 * event loop must not stop for it (keyd_dispatch tries LOCK_NB and puts the
 * request off; the command line tries again for a bounded time).
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

#define PIN_LOCK_TRY_MS	20	/* keyd_pins_lock_wait: between two tries */
#define PIN_CHUNK	65536	/* keyd_pins_load reads this much at a time */
#define PIN_FP_PREFIX	"fp:"
#define PIN_HEADER	"# veil known_peers: KEY STATUS NICK ROOM SINCE, one entry " \
			"a line (keyd --list shows them)\n"
#define PROC_LOCKS	"/proc/locks"

static void pins_stat(struct keyd_pins *, int);

int
keyd_pins_open(struct keyd_pins *kp, const char *path)
{
	struct stat st;
	int r;

	memset(kp, 0, sizeof(*kp));
	kp->kp_fd = kp->kp_locks_fd = -1;
	if ((kp->kp_path = strdup(path)) == NULL ||
	    (kp->kp_ent = calloc(KEYD_PINS_ENTRIES, sizeof(*kp->kp_ent))) == NULL ||
	    (kp->kp_prov = calloc(KEYD_PROV_MAX, sizeof(*kp->kp_prov))) == NULL) {
		keyd_pins_close(kp);
		return VEIL_E_ALLOC;
	}
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
	kp->kp_gen = 1;
	pins_stat(kp, 0);
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
	free(kp->kp_ent);
	free(kp->kp_prov);
	kp->kp_path = NULL;
	kp->kp_ent = NULL;
	kp->kp_prov = NULL;
	kp->kp_n = 0;
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

/*
 * Looks at the file: another inode, size, mtime or ctime than last time (or
 * bump: we wrote it) is a new generation.
 */
static void
pins_stat(struct keyd_pins *kp, int bump)
{
	struct stat st;
	int64_t v[6];

	if (fstat(kp->kp_fd, &st) == -1) {
		if (bump)
			kp->kp_gen++;
		return;
	}
	v[0] = (int64_t)st.st_ino;
	v[1] = (int64_t)st.st_size;
	v[2] = (int64_t)st.st_mtim.tv_sec;
	v[3] = (int64_t)st.st_mtim.tv_nsec;
	v[4] = (int64_t)st.st_ctim.tv_sec;
	v[5] = (int64_t)st.st_ctim.tv_nsec;
	if (bump || memcmp(v, kp->kp_st, sizeof(v)) != 0) {
		/* Never 0: a client may start from 0 to mean "not asked yet". */
		if (++kp->kp_gen == 0)
			kp->kp_gen = 1;
		memcpy(kp->kp_st, v, sizeof(v));
	}
}

uint32_t
keyd_pins_generation(struct keyd_pins *kp)
{
	pins_stat(kp, 0);
	return kp->kp_gen;
}

/* n lowercase hex digits at p into out (n / 2 bytes); 0 or -1. */
static int
pins_hex(const char *p, size_t n, uint8_t *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return -1;
	for (i = 0; i < n / 2; i++) {
		hi = proto_hex_digit(p[2 * i]);
		lo = proto_hex_digit(p[2 * i + 1]);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void
pins_tohex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
}

int
keyd_pin_parse(const char *line, size_t len, struct keyd_pin *e, const char **why)
{
	const char *f[5], *end = line + len, *sp;
	size_t fl[5], i, pl = sizeof(PIN_FP_PREFIX) - 1;
	int64_t v = 0;

	*why = NULL;
	memset(e, 0, sizeof(*e));
	if (len == 0 || line[0] == '#')
		return 1;
	/* Exactly five fields, one space between each. */
	for (i = 0; i < 5; i++) {
		f[i] = line;
		sp = i < 4 ? memchr(line, ' ', (size_t)(end - line)) : NULL;
		fl[i] = sp != NULL ? (size_t)(sp - line) : (size_t)(end - line);
		if (fl[i] == 0 || (i < 4 && sp == NULL) ||
		    (i == 4 && memchr(line, ' ', fl[i]) != NULL)) {
			*why = "not KEY STATUS NICK ROOM SINCE";
			return VEIL_E_INVALID;
		}
		line += fl[i] + 1;
	}
	if (fl[0] == pl + 2 * FPR_LEN && memcmp(f[0], PIN_FP_PREFIX, pl) == 0) {
		if (pins_hex(f[0] + pl, 2 * FPR_LEN, e->pn_fpr) != 0)
			goto badkey;
		e->pn_byfpr = 1;
	} else if (fl[0] != 2 * ED25519_PUB_LEN ||
	    pins_hex(f[0], 2 * ED25519_PUB_LEN, e->pn_key) != 0)
		goto badkey;
	if (fl[1] == 6 && memcmp(f[1], "pinned", 6) == 0)
		e->pn_status = PIN_PINNED;
	else if (fl[1] == 8 && memcmp(f[1], "verified", 8) == 0)
		e->pn_status = PIN_VERIFIED;
	else {
		*why = "status is neither pinned nor verified";
		return VEIL_E_INVALID;
	}
	if (!proto_nick_valid((const uint8_t *)f[2], fl[2])) {
		*why = "not a nickname (1..32 of A-Z a-z 0-9 _ - .)";
		return VEIL_E_INVALID;
	}
	memcpy(e->pn_nick, f[2], fl[2]);
	e->pn_nicklen = fl[2];
	if (fl[3] == 1 && f[3][0] == '*')
		e->pn_anyroom = 1;
	else if (fl[3] != 2 * ROOM_ID_LEN || pins_hex(f[3], 2 * ROOM_ID_LEN, e->pn_room) != 0) {
		*why = "room is neither * nor 64 lowercase hex digits";
		return VEIL_E_INVALID;
	}
	if (fl[4] > 18) {
		*why = "since is not a number of seconds";
		return VEIL_E_INVALID;
	}
	for (i = 0; i < fl[4]; i++) {
		if (f[4][i] < '0' || f[4][i] > '9') {
			*why = "since is not a number of seconds";
			return VEIL_E_INVALID;
		}
		v = v * 10 + (f[4][i] - '0');
	}
	e->pn_since = v;
	/* Verified is for every room; a key known by fingerprint only is verified. */
	if ((e->pn_status == PIN_VERIFIED) != e->pn_anyroom ||
	    (e->pn_byfpr && e->pn_status != PIN_VERIFIED)) {
		*why = "verified entries (and only they) have room *, and fp: ones are verified";
		return VEIL_E_INVALID;
	}
	return 0;
 badkey:
	*why = "key is neither 64 nor fp: and 40 lowercase hex digits";
	return VEIL_E_INVALID;
}

int
keyd_pin_format(const struct keyd_pin *e, char out[static KEYD_PINS_LINE_MAX])
{
	char key[sizeof(PIN_FP_PREFIX) + 2 * ED25519_PUB_LEN];
	char room[2 * ROOM_ID_LEN + 1];
	size_t pl = sizeof(PIN_FP_PREFIX) - 1;
	int n;

	out[0] = '\0';
	if (!proto_nick_valid(e->pn_nick, e->pn_nicklen) || e->pn_since < 0 ||
	    (e->pn_status != PIN_PINNED && e->pn_status != PIN_VERIFIED) ||
	    (e->pn_status == PIN_VERIFIED) != e->pn_anyroom ||
	    (e->pn_byfpr && e->pn_status != PIN_VERIFIED))
		return VEIL_E_INVALID;
	if (e->pn_byfpr) {
		memcpy(key, PIN_FP_PREFIX, pl);
		pins_tohex(e->pn_fpr, FPR_LEN, key + pl);
		key[pl + 2 * FPR_LEN] = '\0';
	} else {
		pins_tohex(e->pn_key, ED25519_PUB_LEN, key);
		key[2 * ED25519_PUB_LEN] = '\0';
	}
	if (e->pn_anyroom)
		memcpy(room, "*", 2);
	else {
		pins_tohex(e->pn_room, ROOM_ID_LEN, room);
		room[2 * ROOM_ID_LEN] = '\0';
	}
	n = snprintf(out, KEYD_PINS_LINE_MAX, "%s %s %.*s %s %lld", key,
	    e->pn_status == PIN_VERIFIED ? "verified" : "pinned", (int)e->pn_nicklen,
	    (const char *)e->pn_nick, room, (long long)e->pn_since);
	return n > 0 && n < KEYD_PINS_LINE_MAX ? 0 : VEIL_E_INVALID;
}

/* One line of the file (without its newline) during a load. */
static void
pins_take_line(struct keyd_pins *kp, const char *line, size_t len, int toolong,
    size_t lineno, int say)
{
	struct keyd_pin e;
	const char *why = NULL;

	if (toolong)
		why = "line too long";
	else if (keyd_pin_parse(line, len, &e, &why) == 1)
		return;
	if (why != NULL) {
		if (say)
			fprintf(stderr, "keyd: %s:%zu: %s; skipped\n", kp->kp_path, lineno, why);
		return;
	}
	if (kp->kp_n >= KEYD_PINS_ENTRIES) {
		if (say && !kp->kp_full)
			fprintf(stderr, "keyd: %s:%zu: more than %d entries; this one and the "
			    "rest are ignored (keyd --forget some)\n", kp->kp_path, lineno,
			    KEYD_PINS_ENTRIES);
		kp->kp_full = 1;
		return;
	}
	e.pn_line = lineno;
	kp->kp_ent[kp->kp_n++] = e;
}

int
keyd_pins_load(struct keyd_pins *kp)
{
	static char chunk[PIN_CHUNK];
	char line[KEYD_PINS_LINE_MAX];
	size_t len = 0, lineno = 0, i, seg;
	const char *p, *nl;
	off_t off = 0;
	ssize_t r;
	int toolong = 0, say;

	kp->kp_n = 0;
	kp->kp_full = 0;
	if (!kp->kp_locked)
		return VEIL_E_STATE;
	pins_stat(kp, 0);
	say = !kp->kp_said || kp->kp_said_gen != kp->kp_gen;
	for (;;) {
		r = pread(kp->kp_fd, chunk, sizeof(chunk), off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fprintf(stderr, "keyd: cannot read %s: %s\n", kp->kp_path, strerror(errno));
			kp->kp_n = 0;
			return VEIL_E_SYSTEM;
		}
		if (r == 0)
			break;
		off += r;
		for (i = 0; i < (size_t)r; i += seg) {
			p = chunk + i;
			nl = memchr(p, '\n', (size_t)r - i);
			seg = nl != NULL ? (size_t)(nl - p) : (size_t)r - i;
			if (!toolong && len + seg <= sizeof(line)) {
				memcpy(line + len, p, seg);
				len += seg;
			} else
				toolong = 1;
			if (nl == NULL)
				break;
			seg++;	/* the newline */
			pins_take_line(kp, line, len, toolong, ++lineno, say);
			len = 0;
			toolong = 0;
		}
	}
	if (len > 0 || toolong)
		pins_take_line(kp, line, len, toolong, ++lineno, say);
	kp->kp_said = 1;
	kp->kp_said_gen = kp->kp_gen;
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

/* The file's size and whether it ends in a newline (or is empty). */
static int
pins_end(struct keyd_pins *kp, off_t *size, int *nl)
{
	char c;
	ssize_t r;

	*nl = 1;
	if ((*size = lseek(kp->kp_fd, 0, SEEK_END)) == (off_t)-1) {
		fprintf(stderr, "keyd: %s: %s\n", kp->kp_path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (*size == 0)
		return 0;
	do {
		r = pread(kp->kp_fd, &c, 1, *size - 1);
	} while (r == -1 && errno == EINTR);
	if (r != 1) {
		fprintf(stderr, "keyd: cannot read %s: %s\n", kp->kp_path,
		    r == 0 ? "file shrank" : strerror(errno));
		return VEIL_E_SYSTEM;
	}
	*nl = c == '\n';
	return 0;
}

int
keyd_pins_append(struct keyd_pins *kp, const struct keyd_pin *e)
{
	char buf[sizeof(PIN_HEADER) + 1 + KEYD_PINS_LINE_MAX + 1];
	char line[KEYD_PINS_LINE_MAX];
	size_t n = 0;
	off_t size;
	int nl, r, said;

	if (!kp->kp_locked)
		return VEIL_E_STATE;
	/* Malformed lines said at this generation stay said: an append changes none. */
	pins_stat(kp, 0);
	said = kp->kp_said && kp->kp_said_gen == kp->kp_gen;
	if ((r = keyd_pin_format(e, line)) != 0 || (r = pins_end(kp, &size, &nl)) != 0)
		return r;
	if (size == 0) {
		memcpy(buf, PIN_HEADER, sizeof(PIN_HEADER) - 1);
		n = sizeof(PIN_HEADER) - 1;
	} else if (!nl)
		buf[n++] = '\n';
	memcpy(buf + n, line, strlen(line));
	n += strlen(line);
	buf[n++] = '\n';
	if ((r = pins_write_at(kp, buf, n, size)) != 0)
		return r;
	kp->kp_dirty = 1;
	pins_stat(kp, 1);
	if (said)
		kp->kp_said_gen = kp->kp_gen;
	return 0;
}

/* Reads the whole file, for a rewrite (the command line; rare in the daemon). */
static int
pins_read_all(struct keyd_pins *kp, char **out, size_t *outlen)
{
	size_t len, got = 0;
	off_t end;
	ssize_t r;
	char *buf;

	*out = NULL;
	*outlen = 0;
	if ((end = lseek(kp->kp_fd, 0, SEEK_END)) == (off_t)-1) {
		fprintf(stderr, "keyd: %s: %s\n", kp->kp_path, strerror(errno));
		return VEIL_E_SYSTEM;
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

/* A growing output buffer for a rewrite. */
struct pins_out {
	char	*po_p;
	size_t	 po_len;
	size_t	 po_cap;
};

static int
pins_put(struct pins_out *o, const char *p, size_t n)
{
	size_t cap;
	char *q;

	if (n == 0)
		return 0;
	if (o->po_cap - o->po_len < n) {
		cap = o->po_cap * 2 + n + 256;
		if ((q = realloc(o->po_p, cap)) == NULL)
			return VEIL_E_ALLOC;
		o->po_p = q;
		o->po_cap = cap;
	}
	memcpy(o->po_p + o->po_len, p, n);
	o->po_len += n;
	return 0;
}

static int
pins_put_entry(struct pins_out *o, const struct keyd_pin *e)
{
	char line[KEYD_PINS_LINE_MAX];
	int r;

	if ((r = keyd_pin_format(e, line)) != 0 ||
	    (r = pins_put(o, line, strlen(line))) != 0)
		return r;
	return pins_put(o, "\n", 1);
}

int
keyd_pins_rewrite(struct keyd_pins *kp, keyd_pin_edit_fn fn, void *arg,
    const struct keyd_pin *add, int sync, size_t *changed)
{
	struct pins_out o = { NULL, 0, 0 };
	struct keyd_pin e, rep;
	const char *why, *ln, *nl;
	size_t len, off = 0, linelen, n = 0;
	char *buf = NULL;
	int r;

	*changed = 0;
	if (!kp->kp_locked)
		return VEIL_E_STATE;
	if ((r = pins_read_all(kp, &buf, &len)) != 0)
		return r;
	if (len == 0 && add != NULL && (r = pins_put(&o, PIN_HEADER,
	    sizeof(PIN_HEADER) - 1)) != 0)
		goto out;
	while (off < len) {
		ln = buf + off;
		nl = memchr(ln, '\n', len - off);
		linelen = nl != NULL ? (size_t)(nl - ln) : len - off;
		off += linelen + (nl != NULL);
		if (linelen <= KEYD_PINS_LINE_MAX && fn != NULL &&
		    keyd_pin_parse(ln, linelen, &e, &why) == 0) {
			memset(&rep, 0, sizeof(rep));
			switch (fn(arg, &e, &rep)) {
			case PIN_DROP:
				n++;
				continue;
			case PIN_REPLACE:
				n++;
				if ((r = pins_put_entry(&o, &rep)) != 0)
					goto out;
				continue;
			case PIN_KEEP:
				break;
			}
		}
		/* Kept as it was, a missing last newline added. */
		if ((r = pins_put(&o, ln, linelen)) != 0 || (r = pins_put(&o, "\n", 1)) != 0)
			goto out;
	}
	if (add != NULL) {
		n++;
		if ((r = pins_put_entry(&o, add)) != 0)
			goto out;
	}
	if (n == 0)
		goto out;
	if ((r = pins_write_at(kp, o.po_p != NULL ? o.po_p : "", o.po_len, 0)) != 0)
		goto out;
	if (ftruncate(kp->kp_fd, (off_t)o.po_len) == -1) {
		fprintf(stderr, "keyd: cannot rewrite %s: %s\n", kp->kp_path, strerror(errno));
		r = VEIL_E_SYSTEM;
		goto out;
	}
	*changed = n;
	kp->kp_dirty = 1;
	pins_stat(kp, 1);
	if (sync)
		r = keyd_pins_sync(kp);
 out:
	free(buf);
	free(o.po_p);
	return r;
}

int
keyd_pins_sync(struct keyd_pins *kp)
{
	if (!kp->kp_dirty || kp->kp_fd < 0)
		return 0;
	kp->kp_dirty = 0;
	if (fsync(kp->kp_fd) == -1) {
		fprintf(stderr, "keyd: fsync %s: %s\n", kp->kp_path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	return 0;
}
