/* SPDX-License-Identifier: ISC */
/*
 * keyd's known_peers (pins.c) and identity file (identity.c): first contact,
 * same key, changed key refused, forget, the file format, edits made through
 * another open file description (what `keyd --forget` does to a running keyd)
 * and the lock: nothing is read or written without it, it is never waited
 * for except by keyd_pins_lock_wait (bounded), and its holder is named.
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

#define N(s) (const uint8_t *)(s), strlen(s)

/* Opens and takes the lock, as keyd_dispatch and `keyd --forget` do. */
static void
open_locked(struct keyd_pins *kp)
{
	ck_assert_int_eq(keyd_pins_open(kp, pinpath), 0);
	ck_assert_int_eq(keyd_pins_trylock(kp), 0);
}

START_TEST(test_pins_new)
{
	struct keyd_pins kp;
	uint8_t got[ED25519_PUB_LEN];
	struct stat st;
	int found = 7;

	open_locked(&kp);
	ck_assert_int_eq(stat(pinpath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alice"), got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alice"), got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(got, key_a, ED25519_PUB_LEN);
	/* Nick match is exact: neither a prefix nor another case. */
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alic"), got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("Alice"), got, &found), 0);
	ck_assert_int_eq(found, 0);
	keyd_pins_close(&kp);
}
END_TEST

START_TEST(test_pins_same_key)
{
	struct keyd_pins kp;
	char buf[512];

	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), 0);
	keyd_pins_close(&kp);
	/* Pinned once, not twice. */
	ck_assert_uint_eq(read_file(pinpath, buf, sizeof(buf)), 5 + 1 + 64 + 1);
}
END_TEST

START_TEST(test_pins_changed_refused)
{
	struct keyd_pins kp;
	uint8_t old[ED25519_PUB_LEN], got[ED25519_PUB_LEN];
	int found;

	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_add(&kp, N("bob"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_add(&kp, N("bob"), key_b, old), VEIL_E_PIN);
	ck_assert_mem_eq(old, key_a, ED25519_PUB_LEN);
	/* Never silently re-pinned. */
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("bob"), got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(got, key_a, ED25519_PUB_LEN);
	keyd_pins_close(&kp);
}
END_TEST

START_TEST(test_pins_forget)
{
	struct keyd_pins kp;
	uint8_t old[ED25519_PUB_LEN], got[ED25519_PUB_LEN];
	int existed, found;
	char buf[512];

	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_add(&kp, N("bob"), key_b, NULL), 0);
	ck_assert_int_eq(keyd_pins_forget(&kp, N("alice"), &existed, old), 0);
	ck_assert_int_eq(existed, 1);
	ck_assert_mem_eq(old, key_a, ED25519_PUB_LEN);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alice"), got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("bob"), got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(keyd_pins_forget(&kp, N("alice"), &existed, old), 0);
	ck_assert_int_eq(existed, 0);
	/* After forget a new key may be pinned. */
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_b, NULL), 0);
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "bob f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeef\n"
	    "alice f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8e9eaebecedeeef\n");
}
END_TEST

START_TEST(test_pins_format_exact)
{
	struct keyd_pins kp;
	char buf[512];

	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_add(&kp, N("a.b-c_9"), key_a, NULL), 0);
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "a.b-c_9 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
}
END_TEST

START_TEST(test_pins_format_comments_kept)
{
	struct keyd_pins kp;
	uint8_t old[ED25519_PUB_LEN], got[ED25519_PUB_LEN];
	int existed, found;
	char buf[1024];

	/* Hand-written: a comment, a blank line, upper-case hex, no final newline. */
	write_file(pinpath, "# my peers\n\nbob "
	    "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF", 0600);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("bob"), got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(got, key_b, ED25519_PUB_LEN);
	ck_assert_int_eq(keyd_pins_add(&kp, N("carol"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_forget(&kp, N("bob"), &existed, old), 0);
	ck_assert_int_eq(existed, 1);
	keyd_pins_close(&kp);
	read_file(pinpath, buf, sizeof(buf));
	ck_assert_str_eq(buf, "# my peers\n\n"
	    "carol 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
}
END_TEST

START_TEST(test_pins_format_malformed)
{
	static const char *bad[] = {
		"bob\n",					/* no key */
		"bob 0102\n",					/* short key */
		"bob 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2000\n",
		"bob 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz\n",
		"b@b 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n",
		" bob 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n",
		"bob  0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n",
	};
	struct keyd_pins kp;
	uint8_t got[ED25519_PUB_LEN];
	size_t i;
	int found;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(pinpath, bad[i], 0600);
		open_locked(&kp);
		ck_assert_msg(keyd_pins_lookup(&kp, N("alice"), got, &found) == VEIL_E_INVALID,
		    "line %zu accepted", i);
		/* Nothing is written into a file keyd cannot read. */
		ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), VEIL_E_INVALID);
		keyd_pins_close(&kp);
	}
}
END_TEST

START_TEST(test_pins_oversize)
{
	struct keyd_pins kp;
	uint8_t got[ED25519_PUB_LEN];
	int fd, found;

	fd = open(pinpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, KEYD_PINS_MAX + 1), 0);
	close(fd);
	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alice"), got, &found), VEIL_E_OVERSIZE);
	keyd_pins_close(&kp);
}
END_TEST

START_TEST(test_pins_bad_nick)
{
	struct keyd_pins kp;
	uint8_t got[ED25519_PUB_LEN];
	int found;

	open_locked(&kp);
	ck_assert_int_eq(keyd_pins_add(&kp, N("a b"), key_a, NULL), VEIL_E_NICK);
	ck_assert_int_eq(keyd_pins_add(&kp, N(""), key_a, NULL), VEIL_E_NICK);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("x\ny"), got, &found), VEIL_E_NICK);
	keyd_pins_close(&kp);
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

/* `keyd --forget` opens the file itself; the running keyd must see its edit. */
START_TEST(test_pins_concurrent_edit_seen)
{
	struct keyd_pins daemon, tool;
	uint8_t old[ED25519_PUB_LEN], got[ED25519_PUB_LEN];
	int existed, found;

	open_locked(&daemon);
	ck_assert_int_eq(keyd_pins_add(&daemon, N("alice"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_add(&daemon, N("bob"), key_b, NULL), 0);

	/* One holder at a time, and asking does not wait. */
	ck_assert_int_eq(keyd_pins_open(&tool, pinpath), 0);
	ck_assert_int_eq(keyd_pins_trylock(&tool), VEIL_E_BUSY);
	keyd_pins_unlock(&daemon);
	ck_assert_int_eq(keyd_pins_trylock(&tool), 0);
	ck_assert_int_eq(keyd_pins_trylock(&daemon), VEIL_E_BUSY);
	ck_assert_int_eq(keyd_pins_forget(&tool, N("alice"), &existed, old), 0);
	ck_assert_int_eq(existed, 1);
	keyd_pins_close(&tool);			/* closing lets go of the lock too */

	ck_assert_int_eq(keyd_pins_trylock(&daemon), 0);
	ck_assert_int_eq(keyd_pins_lookup(&daemon, N("alice"), got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(keyd_pins_add(&daemon, N("alice"), key_b, NULL), 0);
	keyd_pins_unlock(&daemon);
	/* And the other way round: the tool sees what the daemon pinned. */
	open_locked(&tool);
	ck_assert_int_eq(keyd_pins_lookup(&tool, N("alice"), got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(got, key_b, ED25519_PUB_LEN);
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
	struct timespec t0;
	uint8_t got[ED25519_PUB_LEN];
	int lockfd, found, up[2], down[2], st;
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
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("alice"), got, &found), VEIL_E_STATE);
	ck_assert_int_eq(keyd_pins_add(&kp, N("alice"), key_a, NULL), VEIL_E_STATE);
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
	ck_assert_int_eq(keyd_pins_add(&kp, N("carol"), key_a, NULL), 0);
	ck_assert_int_eq(keyd_pins_lookup(&kp, N("carol"), got, &found), 0);
	ck_assert_int_eq(found, 1);
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
	tcase_add_test(tc, test_pins_new);
	tcase_add_test(tc, test_pins_same_key);
	tcase_add_test(tc, test_pins_changed_refused);
	tcase_add_test(tc, test_pins_forget);
	tcase_add_test(tc, test_pins_bad_nick);
	tcase_add_test(tc, test_pins_too_open_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pins_format_exact);
	tcase_add_test(tc, test_pins_format_comments_kept);
	tcase_add_test(tc, test_pins_format_malformed);
	tcase_add_test(tc, test_pins_oversize);
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
