/* SPDX-License-Identifier: ISC */
/*
 * keyd's known_peers (pins.c) and identity file (identity.c): the version 2
 * line format (exact bytes, every malformed form), lines skipped not fatal,
 * the entry cap, no limit on the file's size, append and rewrite keeping
 * comments, the generation, edits made through another open file
 * description (what keyd --trust / --forget do to a running keyd) and the
 * lock: nothing is read or written without it, it is never waited for
 * except by keyd_pins_lock_wait (bounded), and its holder is named.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"
#include "unit.h"

static char home[PATH_MAX];
static char pinpath[PATH_MAX + 32];
static uint8_t key_a[ED25519_PUB_LEN], key_b[ED25519_PUB_LEN];

static void
setup(void)
{
	const char *t = getenv("TMPDIR");
	int i;

	(void)snprintf(home, sizeof(home), "%s/veil-pins.XXXXXX", t != NULL ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(home));
	(void)snprintf(pinpath, sizeof(pinpath), "%s/known_peers", home);
	for (i = 0; i < ED25519_PUB_LEN; i++) {
		key_a[i] = (uint8_t)(i + 1);
		key_b[i] = (uint8_t)(0xf0 ^ i);
	}
}

static void
teardown(void)
{
	char p[PATH_MAX + 32];

	(void)snprintf(p, sizeof(p), "%s/known_peers", home);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/identity", home);
	(void)unlink(p);
	(void)rmdir(home);
}

static size_t
read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
append_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define KA	"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define KB	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
#define ROOM	"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

/* Opens and takes the lock, as keyd_dispatch and the command line do. */
static void
open_locked(struct keyd_pins *kp)
{
	ck_assert_int_eq(keyd_pins_open(kp, pinpath), 0);
	ck_assert_int_eq(keyd_pins_trylock(kp), 0);
}

static void
entry(struct keyd_pin *e, const uint8_t *key, const char *nick, int verified)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->pn_key, key, ED25519_PUB_LEN);
	e->pn_status = verified ? PIN_VERIFIED : PIN_PINNED;
	memcpy(e->pn_nick, nick, strlen(nick));
	e->pn_nicklen = strlen(nick);
	e->pn_anyroom = verified;
	if (!verified)
		memset(e->pn_room, 0x5a, ROOM_ID_LEN);
	e->pn_since = 1700000000;
}

START_TEST(test_pins_append_load)
{
	struct keyd_pins kp;
	struct keyd_pin e;
	struct stat st;
	char buf[1024];

	open_locked(&kp);
	ck_assert_int_eq(stat(pinpath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 0);
	entry(&e, key_a, "alice", 0);
	ck_assert_int_eq(keyd_pins_append(&kp, &e), 0);
	entry(&e, key_b, "bob", 1);
	ck_assert_int_eq(keyd_pins_append(&kp, &e), 0);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 2);
	ck_assert_mem_eq(kp.kp_ent[0].pn_key, key_a, ED25519_PUB_LEN);
	ck_assert_int_eq(kp.kp_ent[0].pn_status, PIN_PINNED);
	ck_assert_mem_eq(kp.kp_ent[0].pn_nick, "alice", 5);
	ck_assert_int_eq(kp.kp_ent[0].pn_anyroom, 0);
	ck_assert_int_eq(kp.kp_ent[0].pn_since, 1700000000);
	ck_assert_int_eq(kp.kp_ent[1].pn_status, PIN_VERIFIED);
	ck_assert_int_eq(kp.kp_ent[1].pn_anyroom, 1);
	ck_assert_uint_eq(kp.kp_ent[1].pn_line, 3);	/* after the header line */
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "# veil known_peers: KEY STATUS NICK ROOM SINCE, one entry a line "
	    "(keyd --list shows them)\n"
	    KA " pinned alice " ROOM " 1700000000\n"
	    KB " verified bob * 1700000000\n");
}
END_TEST

START_TEST(test_pins_format_exact)
{
	struct keyd_pin e, back;
	char line[KEYD_PINS_LINE_MAX];
	const char *why;

	entry(&e, key_a, "a.b-c_9", 0);
	e.pn_since = 0;
	ck_assert_int_eq(keyd_pin_format(&e, line), 0);
	ck_assert_str_eq(line, KA " pinned a.b-c_9 " ROOM " 0");
	ck_assert_int_eq(keyd_pin_parse(line, strlen(line), &back, &why), 0);
	ck_assert_mem_eq(back.pn_key, key_a, ED25519_PUB_LEN);
	ck_assert_uint_eq(back.pn_nicklen, 7);
	/* A key known by fingerprint only. */
	memset(&e, 0, sizeof(e));
	e.pn_byfpr = 1;
	memset(e.pn_fpr, 0xab, FPR_LEN);
	e.pn_status = PIN_VERIFIED;
	e.pn_anyroom = 1;
	memcpy(e.pn_nick, "bob", 3);
	e.pn_nicklen = 3;
	ck_assert_int_eq(keyd_pin_format(&e, line), 0);
	ck_assert_str_eq(line, "fp:abababababababababababababababababababab verified bob * 0");
	ck_assert_int_eq(keyd_pin_parse(line, strlen(line), &back, &why), 0);
	ck_assert_int_eq(back.pn_byfpr, 1);
	ck_assert_mem_eq(back.pn_fpr, e.pn_fpr, FPR_LEN);
	/* What the format does not allow is not written. */
	e.pn_status = PIN_PINNED;
	ck_assert_int_eq(keyd_pin_format(&e, line), VEIL_E_INVALID);
	entry(&e, key_a, "a b", 0);
	ck_assert_int_eq(keyd_pin_format(&e, line), VEIL_E_INVALID);
	entry(&e, key_a, "alice", 0);
	e.pn_anyroom = 1;
	ck_assert_int_eq(keyd_pin_format(&e, line), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_pins_parse_malformed)
{
	static const char *bad[] = {
		"bob",							/* one field */
		KA " pinned bob " ROOM,					/* four */
		KA " pinned bob " ROOM " 0 x",				/* six */
		KA "  pinned bob " ROOM " 0",				/* two spaces */
		" " KA " pinned bob " ROOM " 0",			/* leading space */
		KA " pinned bob " ROOM " 0 ",				/* trailing space */
		KA "00 pinned bob " ROOM " 0",				/* long key */
		"0102 pinned bob " ROOM " 0",				/* short key */
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F20"
		    " pinned bob " ROOM " 0",				/* upper case */
		"fp:abab pinned bob * 0",				/* short fp */
		"fp:abababababababababababababababababababab pinned bob " ROOM " 0",
		KA " trusted bob " ROOM " 0",				/* status */
		KA " pinned b@b " ROOM " 0",				/* nick */
		KA " pinned " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " ROOM " 0",	/* 33 */
		KA " pinned bob 5a5a " " 0",				/* room */
		KA " pinned bob * 0",					/* pinned, every room */
		KA " verified bob " ROOM " 0",				/* verified, one room */
		KA " pinned bob " ROOM " -1",				/* since */
		KA " pinned bob " ROOM " 1x",
		KA " pinned bob " ROOM " 1234567890123456789",		/* 19 digits */
		("bob " KA),					/* veil/1 */
		"bob\r",
	};
	struct keyd_pin e;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(keyd_pin_parse(bad[i], strlen(bad[i]), &e, &why) ==
		    VEIL_E_INVALID, "line %zu accepted: %s", i, bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	ck_assert_int_eq(keyd_pin_parse("", 0, &e, &why), 1);
	ck_assert_int_eq(keyd_pin_parse("# x", 3, &e, &why), 1);
}
END_TEST

/*
 * Finding 3: a malformed line is skipped, never fatal; the entries around it
 * are read (and nothing refuses to write into such a file).
 */
START_TEST(test_pins_malformed_skipped)
{
	struct keyd_pins kp;
	struct keyd_pin e;
	char buf[2048];

	write_file(pinpath, "# mine\n\nbob " KA "\n" KA " pinned alice " ROOM " 5\n"
	    "junk\n" KB " verified bob * 7", 0600);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 2);
	ck_assert_uint_eq(kp.kp_ent[0].pn_line, 4);
	ck_assert_uint_eq(kp.kp_ent[1].pn_line, 6);
	ck_assert_int_eq(kp.kp_ent[1].pn_since, 7);
	entry(&e, key_b, "carol", 0);
	ck_assert_int_eq(keyd_pins_append(&kp, &e), 0);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 3);
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	/* The last line had no newline: one is added before ours. */
	ck_assert_ptr_nonnull(strstr(buf, "junk\n" KB " verified bob * 7\n" KB " pinned carol "));
}
END_TEST

/* How many times stderr (captured in path) said "skipped". */
static int
count_skipped(const char *path)
{
	char buf[8192], *p = buf;
	int n = 0;

	read_file(path, buf, sizeof(buf));
	while ((p = strstr(p, "; skipped")) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * A malformed line is said once per change of the file: keyd's own appends
 * (a flood of first contacts) do not make it say the same line again; a
 * change by someone else does.
 */
START_TEST(test_pins_malformed_said_once)
{
	char errpath[PATH_MAX + 32];
	struct keyd_pins kp;
	struct keyd_pin e;
	int fd, saved, i;

	write_file(pinpath, "junk\n" KA " pinned alice " ROOM " 5\n", 0600);
	(void)snprintf(errpath, sizeof(errpath), "%s/err", home);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	for (i = 0; i < 5; i++) {
		entry(&e, key_b, "carol", 0);
		e.pn_room[0] = (uint8_t)i;
		ck_assert_int_eq(keyd_pins_append(&kp, &e), 0);
		ck_assert_int_eq(keyd_pins_load(&kp), 0);
	}
	fflush(stderr);
	ck_assert_int_eq(count_skipped(errpath), 1);
	keyd_pins_unlock(&kp);
	append_file(pinpath, "more junk\n");
	ck_assert_int_eq(keyd_pins_trylock(&kp), 0);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	fflush(stderr);
	ck_assert_int_eq(count_skipped(errpath), 3);	/* both lines, once more */
	keyd_pins_close(&kp);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	(void)unlink(errpath);
}
END_TEST

/* A line longer than KEYD_PINS_LINE_MAX is one malformed line, not several. */
START_TEST(test_pins_long_line)
{
	static char text[200000];
	struct keyd_pins kp;
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), KA " pinned alice " ROOM " 1\n");
	memset(text + n, 'x', 150000);
	n += 150000;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\n" KB " pinned bob " ROOM " 2\n");
	write_file(pinpath, text, 0600);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 2);
	ck_assert_uint_eq(kp.kp_ent[1].pn_line, 3);
	keyd_pins_close(&kp);
}
END_TEST

/*
 * Finding 3: the file's size refuses nothing (veil/1 refused every handshake
 * past 1 MiB); at most KEYD_PINS_ENTRIES entries are read.
 */
START_TEST(test_pins_large_file)
{
	struct keyd_pins kp;
	FILE *f;
	int i;

	f = fopen(pinpath, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 40000; i++)
		fprintf(f, "# a comment line to make the file large, number %d\n", i);
	for (i = 0; i < KEYD_PINS_ENTRIES + 10; i++)
		fprintf(f, "%064x pinned n%d " ROOM " %d\n", i, i, i);
	fclose(f);
	ck_assert_int_eq(chmod(pinpath, 0600), 0);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, KEYD_PINS_ENTRIES);
	ck_assert_int_eq(kp.kp_full, 1);
	ck_assert_int_eq(kp.kp_ent[KEYD_PINS_ENTRIES - 1].pn_since, KEYD_PINS_ENTRIES - 1);
	keyd_pins_close(&kp);
}
END_TEST

static enum keyd_pin_edit
edit_drop_alice_verify_bob(void *arg, const struct keyd_pin *e, struct keyd_pin *out)
{
	(void)arg;
	if (e->pn_nicklen == 5 && memcmp(e->pn_nick, "alice", 5) == 0)
		return PIN_DROP;
	if (e->pn_nicklen == 3 && memcmp(e->pn_nick, "bob", 3) == 0) {
		*out = *e;
		out->pn_status = PIN_VERIFIED;
		out->pn_anyroom = 1;
		return PIN_REPLACE;
	}
	return PIN_KEEP;
}

/* A rewrite keeps comments, blank and malformed lines exactly; appends at the end. */
START_TEST(test_pins_rewrite)
{
	struct keyd_pins kp;
	struct keyd_pin add;
	uint32_t g;
	size_t changed;
	char buf[2048];

	write_file(pinpath, "# my peers\n\n" KA " pinned alice " ROOM " 5\n"
	    "junk line\n" KB " pinned bob " ROOM " 6", 0600);
	open_locked(&kp);
	g = keyd_pins_generation(&kp);
	entry(&add, key_a, "carol", 1);
	ck_assert_int_eq(keyd_pins_rewrite(&kp, edit_drop_alice_verify_bob, NULL, &add, 1,
	    &changed), 0);
	ck_assert_uint_eq(changed, 3);
	ck_assert_uint_ne(keyd_pins_generation(&kp), g);
	g = keyd_pins_generation(&kp);
	/* Nothing to change: nothing written, the generation stays. */
	ck_assert_int_eq(keyd_pins_rewrite(&kp, NULL, NULL, NULL, 1, &changed), 0);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(keyd_pins_generation(&kp), g);
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	ck_assert_str_eq(buf, "# my peers\n\njunk line\n" KB " verified bob * 6\n"
	    KA " verified carol * 1700000000\n");
}
END_TEST

START_TEST(test_pins_too_open_refused)
{
	struct keyd_pins kp;

	write_file(pinpath, "", 0644);
	ck_assert_int_eq(keyd_pins_open(&kp, pinpath), VEIL_E_SYSTEM);
	ck_assert_int_eq(kp.kp_fd, -1);
}
END_TEST

/*
 * The generation changes when anyone changes the file (another process's
 * write, through its own open file description), and only then.
 */
START_TEST(test_pins_generation)
{
	struct keyd_pins kp;
	uint32_t g0, g1;
	int fd;

	ck_assert_int_eq(keyd_pins_open(&kp, pinpath), 0);
	g0 = keyd_pins_generation(&kp);
	ck_assert_uint_ne(g0, 0);
	ck_assert_uint_eq(keyd_pins_generation(&kp), g0);
	fd = open(pinpath, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "# x\n", 4), 4);
	close(fd);
	g1 = keyd_pins_generation(&kp);
	ck_assert_uint_ne(g1, g0);
	ck_assert_uint_eq(keyd_pins_generation(&kp), g1);
	keyd_pins_close(&kp);
}
END_TEST

/* keyd --trust / --forget open the file themselves; the running keyd must see their edit. */
START_TEST(test_pins_concurrent_edit_seen)
{
	struct keyd_pins daemon, tool;
	struct keyd_pin e;
	size_t changed;

	open_locked(&daemon);
	entry(&e, key_a, "alice", 0);
	ck_assert_int_eq(keyd_pins_append(&daemon, &e), 0);
	entry(&e, key_b, "bob", 0);
	ck_assert_int_eq(keyd_pins_append(&daemon, &e), 0);

	/* One holder at a time, and asking does not wait. */
	ck_assert_int_eq(keyd_pins_open(&tool, pinpath), 0);
	ck_assert_int_eq(keyd_pins_trylock(&tool), VEIL_E_BUSY);
	keyd_pins_unlock(&daemon);
	ck_assert_int_eq(keyd_pins_trylock(&tool), 0);
	ck_assert_int_eq(keyd_pins_trylock(&daemon), VEIL_E_BUSY);
	ck_assert_int_eq(keyd_pins_rewrite(&tool, edit_drop_alice_verify_bob, NULL, NULL, 1,
	    &changed), 0);
	ck_assert_uint_eq(changed, 2);
	keyd_pins_close(&tool);			/* closing lets go of the lock too */

	ck_assert_int_eq(keyd_pins_trylock(&daemon), 0);
	ck_assert_int_eq(keyd_pins_load(&daemon), 0);
	ck_assert_uint_eq(daemon.kp_n, 1);
	ck_assert_int_eq(daemon.kp_ent[0].pn_status, PIN_VERIFIED);
	entry(&e, key_a, "alice", 0);
	ck_assert_int_eq(keyd_pins_append(&daemon, &e), 0);
	keyd_pins_unlock(&daemon);
	/* And the other way round: the tool sees what the daemon pinned. */
	open_locked(&tool);
	ck_assert_int_eq(keyd_pins_load(&tool), 0);
	ck_assert_uint_eq(tool.kp_n, 2);
	ck_assert_mem_eq(tool.kp_ent[1].pn_key, key_a, ED25519_PUB_LEN);
	keyd_pins_close(&tool);
	keyd_pins_close(&daemon);
}
END_TEST

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * Another process holds the lock: nothing here waits for it but
 * keyd_pins_lock_wait, and that for a bounded time; nothing is read or
 * written without the lock; /proc/locks names the holder.
 */
START_TEST(test_pins_lock_busy)
{
	struct keyd_pins kp;
	struct keyd_pin e;
	struct timespec t0;
	int lockfd, up[2], down[2], st;
	size_t changed;
	char c;
	pid_t pid;

	ck_assert_int_eq(keyd_pins_open(&kp, pinpath), 0);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The holder: locks, says so, lets go when told (at exit). */
		if ((lockfd = open(pinpath, O_RDWR)) == -1 || flock(lockfd, LOCK_EX) != 0 ||
		    write(up[1], "l", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(keyd_pins_trylock(&kp), VEIL_E_BUSY);
	ck_assert_int_lt(ms_since(&t0), 1000);
	entry(&e, key_a, "alice", 0);
	ck_assert_int_eq(keyd_pins_load(&kp), VEIL_E_STATE);
	ck_assert_int_eq(keyd_pins_append(&kp, &e), VEIL_E_STATE);
	ck_assert_int_eq(keyd_pins_rewrite(&kp, NULL, NULL, &e, 1, &changed), VEIL_E_STATE);
	if (access("/proc/locks", R_OK) == 0)
		ck_assert_int_eq(keyd_pins_holder(&kp), pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(keyd_pins_lock_wait(&kp, 200), VEIL_E_BUSY);
	ck_assert_int_ge(ms_since(&t0), 200);
	ck_assert_int_lt(ms_since(&t0), 3000);
	/* Let go while we wait: the wait ends with the lock. */
	ck_assert_int_eq(write(down[1], "u", 1), 1);
	ck_assert_int_eq(keyd_pins_lock_wait(&kp, 10000), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(keyd_pins_trylock(&kp), VEIL_E_STATE);	/* held already */
	ck_assert_int_eq(keyd_pins_append(&kp, &e), 0);
	ck_assert_int_eq(keyd_pins_load(&kp), 0);
	ck_assert_uint_eq(kp.kp_n, 1);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	keyd_pins_close(&kp);
}
END_TEST

START_TEST(test_identity_create_then_load)
{
	struct vs_identity a, b;
	char path[PATH_MAX + 16];
	uint8_t pub[ED25519_PUB_LEN];
	struct stat st;
	int created;

	ck_assert_int_eq(keyd_identity_load(home, &a, &created), 0);
	ck_assert_int_eq(created, 1);
	(void)snprintf(path, sizeof(path), "%s/identity", home);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, ED25519_SEED_LEN);
	ck_assert_int_eq(keyd_identity_load(home, &b, &created), 0);
	ck_assert_int_eq(created, 0);
	ck_assert_mem_eq(a.id_seed, b.id_seed, ED25519_SEED_LEN);
	ck_assert_mem_eq(a.id_pub, b.id_pub, ED25519_PUB_LEN);
	ck_assert_int_eq(vc_ed25519_public(a.id_seed, pub), 0);
	ck_assert_mem_eq(pub, a.id_pub, ED25519_PUB_LEN);
	vc_wipe(&a, sizeof(a));
	vc_wipe(&b, sizeof(b));
}
END_TEST

START_TEST(test_identity_too_open)
{
	struct vs_identity a;
	char path[PATH_MAX + 16];
	int created;

	ck_assert_int_eq(keyd_identity_load(home, &a, &created), 0);
	(void)snprintf(path, sizeof(path), "%s/identity", home);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(keyd_identity_load(home, &a, &created), VEIL_E_SYSTEM);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(keyd_identity_load(home, &a, &created), VEIL_E_SYSTEM);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(keyd_identity_load(home, &a, &created), 0);
	vc_wipe(&a, sizeof(a));
}
END_TEST

START_TEST(test_identity_wrong_size)
{
	struct vs_identity a;
	char path[PATH_MAX + 16];
	int created;

	(void)snprintf(path, sizeof(path), "%s/identity", home);
	write_file(path, "short", 0600);
	ck_assert_int_eq(keyd_identity_load(home, &a, &created), VEIL_E_INVALID);
	write_file(path, "0123456789abcdef0123456789abcdefX", 0600);	/* 33 bytes */
	ck_assert_int_eq(keyd_identity_load(home, &a, &created), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_private_dir)
{
	char sub[PATH_MAX + 16];
	struct stat st;

	(void)snprintf(sub, sizeof(sub), "%s/a", home);
	ck_assert_int_eq(keyd_private_dir(sub, "test"), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(chmod(sub, 0750), 0);
	ck_assert_int_eq(keyd_private_dir(sub, "test"), VEIL_E_SYSTEM);
	ck_assert_int_eq(rmdir(sub), 0);
}
END_TEST

Suite *suite_pins(void);

Suite *
suite_pins(void)
{
	Suite *s = suite_create("pins");
	TCase *tc;

	tc = tcase_create("pins");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pins_append_load);
	tcase_add_test(tc, test_pins_rewrite);
	tcase_add_test(tc, test_pins_generation);
	tcase_add_test(tc, test_pins_too_open_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pins_format_exact);
	tcase_add_test(tc, test_pins_parse_malformed);
	tcase_add_test(tc, test_pins_malformed_skipped);
	tcase_add_test(tc, test_pins_malformed_said_once);
	tcase_add_test(tc, test_pins_long_line);
	tcase_add_test(tc, test_pins_large_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pins_concurrent_edit_seen);
	tcase_add_test(tc, test_pins_lock_busy);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identity_create_then_load);
	tcase_add_test(tc, test_identity_too_open);
	tcase_add_test(tc, test_identity_wrong_size);
	tcase_add_test(tc, test_private_dir);
	suite_add_tcase(s, tc);
	return s;
}
