/* SPDX-License-Identifier: ISC */
/*
 * chatc's side of the relay link (chatc/tls.c, chatc/net.c; PROTOCOL.md
 * 1.0): the known_relays parser, then the whole check against a relayd in
 * the same process over a socketpair: a pin, trust on first use (pinned,
 * then known, then a changed key refused, a held lock waited for by the
 * caller), --forget-relay, the file modes refused, and the first-use path
 * run under chatc's seccomp filter (flock, pread, pwrite, fsync on the
 * descriptor opened before it).
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "client.h"
#include "err.h"
#include "relay.h"
#include "relayfp.h"
#include "sbx.h"
#include "tls.h"

static const char fp_a[] = "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";
static const char fp_b[] = "SHA256:XNJS+wzokyQ2+vjM0QQJgbie5K1rn+niorfnGqyyfNM";

START_TEST(test_known_find)
{
	static const char text[] =
	    "127.0.0.1:77 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01T00:00:00Z\n"
	    "garbage line\n"
	    "\n"
	    "[::1]:7700 SHA256:XNJS+wzokyQ2+vjM0QQJgbie5K1rn+niorfnGqyyfNM 2026-01-02T00:00:00Z\n"
	    "relay.example:7700 SHA256:XNJS+wzokyQ2+vjM0QQJgbie5K1rn+niorfnGqyyfNM 2026-01-02T00:00:00Z\r\n"
	    "127.0.0.1:7700 SHA256:XNJS+wzokyQ2+vjM0QQJgbie5K1rn+niorfnGqyyfNM 2026-01-03T00:00:00Z";
	uint8_t fp[RELAYFP_LEN], a[RELAYFP_LEN], b[RELAYFP_LEN];
	unsigned int line = 0, bad = 0;

	ck_assert_int_eq(proto_relayfp_parse(fp_a, a), 0);
	ck_assert_int_eq(proto_relayfp_parse(fp_b, b), 0);
	ck_assert_int_eq(ctls_kr_find(text, strlen(text), "127.0.0.1:77", fp, &line, &bad), 1);
	ck_assert(proto_relayfp_equal(fp, a));
	ck_assert_uint_eq(line, 1);
	ck_assert_uint_eq(bad, 0);
	/* A prefix of another address is not that address; the last line lacks its newline. */
	ck_assert_int_eq(ctls_kr_find(text, strlen(text), "127.0.0.1:7700", fp, &line, &bad), 1);
	ck_assert(proto_relayfp_equal(fp, b));
	ck_assert_uint_eq(line, 6);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(ctls_kr_find(text, strlen(text), "[::1]:7700", fp, &line, &bad), 1);
	ck_assert_uint_eq(line, 4);
	/* A CR before the newline: that line does not parse, so it pins nothing. */
	ck_assert_int_eq(ctls_kr_find(text, strlen(text), "relay.example:7700", fp, &line, &bad), 0);
	ck_assert_int_eq(ctls_kr_find(text, strlen(text), "127.0.0.1:7", fp, &line, &bad), 0);
	ck_assert_int_eq(ctls_kr_find("", 0, "x:1", fp, &line, &bad), 0);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_known_find_malformed)
{
	static const char *bad_lines[] = {
		"h:1 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",			/* no date */
		"h:1 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01T00:00:00Z x",
		"h:1  SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01T00:00:00Z",
		"h:1 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1 2026-01-01T00:00:00Z",
		"h:1 sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01T00:00:00Z",
		" SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01T00:00:00Z",
		"h:1 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 2026-01-01 00:00:0",
	};
	uint8_t fp[RELAYFP_LEN];
	unsigned int line, bad;
	size_t i;

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		ck_assert_msg(ctls_kr_find(bad_lines[i], strlen(bad_lines[i]), "h:1", fp, &line,
		    &bad) == 0, "line %zu matched", i);
		ck_assert_uint_eq(bad, 1);
	}
}
END_TEST

/* ---- the whole check, against a relay in this process ---------------- */

static char tmpdir[64];
static EVP_PKEY *relay_key;

struct link {
	struct rtls	*l_tls;
	struct relayd	*l_relay;
	struct rl_conn	 l_rl;
};

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(tmpdir, "/tmp/veil-known.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(setenv("XDG_DATA_HOME", tmpdir, 1), 0);
	if (relay_key == NULL)
		ck_assert_ptr_nonnull(relay_key = EVP_EC_gen("P-256"));
}

static void
teardown(void)
{
	char cmd[128];

	ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir), (int)sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
	unsetenv("XDG_DATA_HOME");
}

static void
relay_up(struct link *l, EVP_PKEY *key)
{
	struct relayd_config cfg;

	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(rtls_new_pkey(&l->l_tls, key), 0);
	relayd_config_default(&cfg);
	cfg.rc_tls = l->l_tls;
	ck_assert_int_eq(relayd_new(&l->l_relay, &cfg, 64), 0);
	rl_init(&l->l_rl);
}

static void
relay_down(struct link *l)
{
	rl_close(&l->l_rl);
	relayd_free(l->l_relay);
	rtls_free(l->l_tls);
}

/* A new connection from chatc's side (net.c) to the relay, handshake done: 0, or the failure. */
static int
dial(struct link *l, struct ctls *t)
{
	char why[256];
	int sv[2], i, rc = RL_WANT_WRITE;

	rl_close(&l->l_rl);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0 ||
	    relayd_add_conn(l->l_relay, sv[0], NULL, 0) != 0)
		return -100;
	rl_attach(&l->l_rl, sv[1]);
	if (rl_tls_start(&l->l_rl, t->ct_ctx, "127.0.0.1") != 0)
		return -101;
	for (i = 0; i < 200 && (rc == RL_WANT_READ || rc == RL_WANT_WRITE); i++) {
		rc = rl_tls_step(&l->l_rl, why, sizeof(why));
		if (relayd_step(l->l_relay, 2) != 0)
			return -102;
	}
	return rc;
}

static void
opts(struct chatc_opts *o, const char *pin)
{
	memset(o, 0, sizeof(*o));
	if (pin != NULL) {
		ck_assert_int_eq(proto_relayfp_parse(pin, o->co_relay_fp), 0);
		o->co_has_fp = 1;
	}
}

static void
room_for(struct room *r, const struct chatc_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->rm_relay = "127.0.0.1:7700";
	r->rm_host = "127.0.0.1";
	if (o->co_has_fp) {
		r->rm_has_pin = 1;
		memcpy(r->rm_pin, o->co_relay_fp, RELAYFP_LEN);
		r->rm_pin_from = "--relay-fp";
	}
}

/* ctls_check on the link; returns the verdict, *how the kind of acceptance. */
static int
check(struct ctls *t, struct link *l, const struct room *r, int *how, char *where,
    size_t wherelen)
{
	uint8_t fp[RELAYFP_LEN], want[RELAYFP_LEN];
	char why[512];

	ck_assert_int_eq(dial(l, t), 0);
	return ctls_check(t, l->l_rl.rl_ssl, r, fp, want, how, where, wherelen, why,
	    sizeof(why));
}

START_TEST(test_known_pin)
{
	char text[RELAYFP_TEXT_MAX], where[256];
	struct chatc_opts o;
	struct ctls t;
	struct room r;
	struct link l;
	int how;

	relay_up(&l, relay_key);
	proto_relayfp_format(l.l_tls->rt_fp, text);
	opts(&o, text);
	room_for(&r, &o);
	ck_assert_int_eq(ctls_init(&t, &o, where, sizeof(where)), 0);
	/* With a pin no file is touched. */
	ck_assert_int_eq(t.ct_krfd, -1);
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_OK);
	ck_assert_int_eq(how, RA_PINNED);
	r.rm_pin[3] ^= 1;
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_MISMATCH);
	ck_assert_str_eq(where, "--relay-fp");
	ctls_free(&t);
	relay_down(&l);
}
END_TEST

START_TEST(test_known_tofu)
{
	char where[4200], path[4200], line[256];
	struct chatc_opts o;
	struct ctls t;
	struct room r;
	struct link l, other;
	struct stat st;
	EVP_PKEY *k2;
	FILE *f;
	int how, fd;

	relay_up(&l, relay_key);
	opts(&o, NULL);
	room_for(&r, &o);
	ck_assert_int_eq(ctls_init(&t, &o, where, sizeof(where)), 0);
	ck_assert_int_ne(t.ct_krfd, -1);
	ck_assert_int_eq(snprintf(path, sizeof(path), "%s/veil/known_relays", tmpdir) > 0, 1);
	ck_assert_str_eq(t.ct_krpath, path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	*strrchr(path, '/') = '\0';
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	path[strlen(path)] = '/';
	/* First use: pinned. Then: known. */
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_OK);
	ck_assert_int_eq(how, RA_NEW);
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_OK);
	ck_assert_int_eq(how, RA_KNOWN);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_ptr_null(fgets(line + 100, sizeof(line) - 100, f));
	fclose(f);
	ck_assert_int_eq(strncmp(line, "127.0.0.1:7700 SHA256:", 22), 0);
	/* Another key on that address: refused, naming the line. */
	ck_assert_ptr_nonnull(k2 = EVP_EC_gen("P-256"));
	relay_up(&other, k2);
	ck_assert_int_eq(check(&t, &other, &r, &how, where, sizeof(where)), CT_MISMATCH);
	ck_assert_ptr_nonnull(strstr(where, "known_relays line 1"));
	/* The lock held by someone else: busy, asked again later. */
	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_BUSY);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_int_eq(check(&t, &l, &r, &how, where, sizeof(where)), CT_OK);
	close(fd);
	/* --forget-relay: the next connection pins what it finds. */
	ck_assert_int_eq(ctls_forget("127.0.0.1:7700"), 0);
	ck_assert_int_eq(check(&t, &other, &r, &how, where, sizeof(where)), CT_OK);
	ck_assert_int_eq(how, RA_NEW);
	ctls_free(&t);
	relay_down(&other);
	relay_down(&l);
	EVP_PKEY_free(k2);
}
END_TEST

START_TEST(test_known_modes)
{
	char err[4200], path[4200], dir[4200];
	struct chatc_opts o;
	struct ctls t;

	opts(&o, NULL);
	ck_assert_int_eq(ctls_init(&t, &o, err, sizeof(err)), 0);
	ctls_free(&t);
	ck_assert_int_eq(snprintf(dir, sizeof(dir), "%s/veil", tmpdir) > 0, 1);
	ck_assert_int_eq(snprintf(path, sizeof(path), "%s/known_relays", dir) > 0, 1);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(ctls_init(&t, &o, err, sizeof(err)), VEIL_E_SYSTEM);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	ctls_free(&t);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chmod(dir, 0750), 0);
	ck_assert_int_eq(ctls_init(&t, &o, err, sizeof(err)), VEIL_E_SYSTEM);
	ck_assert_ptr_nonnull(strstr(err, "mode 0700"));
	ctls_free(&t);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* A private CA file that is not one: refused at start. */
	o.co_relay_ca = path;
	ck_assert_int_eq(ctls_init(&t, &o, err, sizeof(err)), VEIL_E_SYSTEM);
	ck_assert_ptr_nonnull(strstr(err, "--relay-ca"));
	ctls_free(&t);
	ERR_clear_error();
}
END_TEST

#ifndef VEIL_NO_SANDBOX
/*
 * The first-use path under chatc's filter, in a child: everything opened
 * before it, as chatc's main does; then two handshakes over the given
 * sockets (the relay runs in the parent), the lookup, the pin written,
 * and the second connection finding it. Returns 0 or the failing step.
 */
static int
tofu_sandboxed(const int fds[2])
{
	char why[4200];
	struct chatc_opts o;
	struct ctls t;
	struct room r;
	struct rl_conn rl;
	struct pollfd pfd;
	uint8_t fp[RELAYFP_LEN], want[RELAYFP_LEN];
	int how, i, j, rc;

	opts(&o, NULL);
	room_for(&r, &o);
	rl_init(&rl);
	if (ctls_init(&t, &o, why, sizeof(why)) != 0)
		return 10;
	if (sbx_no_new_privs() != 0 || sbx_install(sbx_chatc_rules, sbx_chatc_nrules) != 0)
		return 11;
	for (i = 0; i < 2; i++) {
		rl_attach(&rl, fds[i]);
		if (rl_tls_start(&rl, t.ct_ctx, "127.0.0.1") != 0)
			return 12 + 10 * i;
		rc = RL_WANT_WRITE;
		for (j = 0; j < 500 && (rc == RL_WANT_READ || rc == RL_WANT_WRITE); j++) {
			if ((rc = rl_tls_step(&rl, why, sizeof(why))) == RL_WANT_READ) {
				pfd.fd = fds[i];
				pfd.events = POLLIN;
				(void)poll(&pfd, 1, 20);
			}
		}
		if (rc != 0)
			return 13 + 10 * i;
		if (ctls_check(&t, rl.rl_ssl, &r, fp, want, &how, why, sizeof(why), why,
		    sizeof(why)) != CT_OK || how != (i == 0 ? RA_NEW : RA_KNOWN))
			return 14 + 10 * i;
		rl_close(&rl);
	}
	return 0;
}

START_TEST(test_known_sandboxed)
{
	struct link l;
	int sv[2][2], fds[2], st = 0, i;
	pid_t pid;

	relay_up(&l, relay_key);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), 0);
		ck_assert_int_eq(relayd_add_conn(l.l_relay, sv[i][0], NULL, 0), 0);
		fds[i] = sv[i][1];
	}
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(tofu_sandboxed(fds));
	for (i = 0; i < 1000 && waitpid(pid, &st, WNOHANG) == 0; i++)
		ck_assert_int_eq(relayd_step(l.l_relay, 10), 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "first use under chatc's filter: status 0x%x", st);
	close(fds[0]);
	close(fds[1]);
	relay_down(&l);
}
END_TEST
#endif

Suite *suite_relay_known(void);

Suite *
suite_relay_known(void)
{
	Suite *s = suite_create("relay_known");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_known_find);
	tcase_add_test(tc, test_known_find_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_known_pin);
	tcase_add_test(tc, test_known_tofu);
	tcase_add_test(tc, test_known_modes);
#ifndef VEIL_NO_SANDBOX
	tcase_add_test(tc, test_known_sandboxed);
#endif
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
