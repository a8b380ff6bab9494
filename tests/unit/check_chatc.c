/* SPDX-License-Identifier: ISC */
/*
 * chatc's pure parts: options and usage errors, rooms from invite codes
 * and names, typed-line
 * classification (length limit, "//", commands), the hold queue bound, batch
 * event lines, the peer table, frame reassembly from the relay socket and the
 * keyd client's answer checks.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/crypto.h>

#include "client.h"
#include "err.h"
#include "unit.h"

#define FPR_A	"0123:4567:89ab:cdef:0123:4567:89ab:cdef:0123:4567"

static struct chatc_opts opts;
static char err[256];

/* Parses a NULL-terminated argument list (argv[0] added). */
static int
parse(const char *first, ...)
{
	char *argv[64];
	const char *a;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)(uintptr_t)"chatc";
	va_start(ap, first);
	for (a = first; a != NULL && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[argc] = NULL;
	return chatc_opts_parse(argc, argv, &opts, err, sizeof(err));
}

/* ---- options ---- */

START_TEST(test_opts_minimal_defaults)
{
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	ck_assert_int_eq(parse("--room", "lobby", "--nick", "alice", NULL), 0);
	ck_assert_str_eq(opts.co_room, "lobby");
	ck_assert_str_eq(opts.co_nick, "alice");
	ck_assert_str_eq(opts.co_relay, "127.0.0.1:7700");
	ck_assert_str_eq(opts.co_host, "127.0.0.1");
	ck_assert_str_eq(opts.co_port, "7700");
	ck_assert_str_eq(opts.co_keyd, "/run/user/4242/veil/keyd.sock");
	ck_assert_int_eq(opts.co_batch, 0);
	ck_assert_uint_eq(opts.co_nexpect, 0);
}
END_TEST

START_TEST(test_opts_keyd_default_without_xdg)
{
	char want[64];

	unsetenv("XDG_RUNTIME_DIR");
	snprintf(want, sizeof(want), "/tmp/veil-%u/keyd.sock", (unsigned int)getuid());
	ck_assert_int_eq(parse("--room", "r", "--nick", "n", NULL), 0);
	ck_assert_str_eq(opts.co_keyd, want);
}
END_TEST

START_TEST(test_opts_all)
{
	ck_assert_int_eq(parse("--room=lobby", "--nick", "bob_2.x-y", "--relay", "[::1]:9000",
	    "--keyd", "/tmp/k.sock", "--expect", "alice=" FPR_A,
	    "--expect=carol=0123456789ABCDEF0123456789abcdef01234567", "--batch", NULL), 0);
	ck_assert_str_eq(opts.co_host, "::1");
	ck_assert_str_eq(opts.co_port, "9000");
	ck_assert_str_eq(opts.co_keyd, "/tmp/k.sock");
	ck_assert_int_eq(opts.co_batch, 1);
	ck_assert_uint_eq(opts.co_nexpect, 2);
	ck_assert_str_eq(opts.co_expect[0].ce_nick, "alice");
	ck_assert_str_eq(unit_tohex(opts.co_expect[0].ce_fpr, FPR_LEN),
	    "0123456789abcdef0123456789abcdef01234567");
	ck_assert_str_eq(opts.co_expect[1].ce_nick, "carol");
}
END_TEST

START_TEST(test_opts_help_version)
{
	ck_assert_int_eq(parse("--help", NULL), 0);
	ck_assert_int_eq(opts.co_help, 1);
	ck_assert_int_eq(parse("--version", NULL), 0);
	ck_assert_int_eq(opts.co_version, 1);
	/* The usage names every flag and its default, and gives an example. */
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "--room"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "--expect"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "--batch"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "--keyd"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "127.0.0.1:7700"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "example"));
}
END_TEST

START_TEST(test_opts_missing_required)
{
	ck_assert_int_eq(parse("--nick", "alice", NULL), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--room"));
	ck_assert_int_eq(parse("--room", "lobby", NULL), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--nick"));
	ck_assert_int_eq(parse(NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "", "--nick", "a", NULL), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_opts_bad_nick)
{
	static const char *const bad[] = {
		"", "has space", "a/b", "semi;colon", "caf\xc3\xa9", "tab\t",
		"abcdefghijklmnopqrstuvwxyz0123456", "\x1b[31m", "a=b",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse("--room", "r", "--nick", bad[i], NULL) == VEIL_E_INVALID,
		    "nick #%zu accepted", i);
	ck_assert_int_eq(parse("--room", "r", "--nick", "abcdefghijklmnopqrstuvwxyz012345",
	    NULL), 0);	/* exactly 32 */
	ck_assert_int_eq(parse("--room", "r", "--nick", "A.b-c_9", NULL), 0);
}
END_TEST

START_TEST(test_opts_bad_expect)
{
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect", "bob", NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect", "bob=1234", NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect",
	    "bob=0123:4567:89ab:cdef:0123:4567:89ab:cdef:0123:456g", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect", "=" FPR_A, NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect", "b b=" FPR_A, NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--expect", "bob=" FPR_A,
	    "--expect", "bob=" FPR_A, NULL), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_opts_too_many_expect)
{
	char *argv[6 + 2 * (IPC_EXPECT_MAX + 1)];
	static char pairs[IPC_EXPECT_MAX + 1][80];
	int argc = 0, i;

	argv[argc++] = (char *)(uintptr_t)"chatc";
	argv[argc++] = (char *)(uintptr_t)"--room";
	argv[argc++] = (char *)(uintptr_t)"r";
	argv[argc++] = (char *)(uintptr_t)"--nick";
	argv[argc++] = (char *)(uintptr_t)"me";
	for (i = 0; i <= IPC_EXPECT_MAX; i++) {
		snprintf(pairs[i], sizeof(pairs[i]), "peer%d=%s", i, FPR_A);
		argv[argc++] = (char *)(uintptr_t)"--expect";
		argv[argc++] = pairs[i];
	}
	ck_assert_int_eq(chatc_opts_parse(argc - 2, argv, &opts, err, sizeof(err)), 0);
	ck_assert_uint_eq(opts.co_nexpect, IPC_EXPECT_MAX);
	ck_assert_int_eq(chatc_opts_parse(argc, argv, &opts, err, sizeof(err)),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(test_opts_bad_relay)
{
	static const char *const bad[] = {
		"localhost", "host:", ":7700", "host:0", "host:65536", "host:77a",
		"::1:7700", "[::1]7700", "[::1]:", "host:-1", "host:+80",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse("--room", "r", "--nick", "a", "--relay", bad[i], NULL) ==
		    VEIL_E_INVALID, "relay %s accepted", bad[i]);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--relay", "relay.example:65535",
	    NULL), 0);
	ck_assert_str_eq(opts.co_host, "relay.example");
	ck_assert_str_eq(opts.co_port, "65535");
}
END_TEST

START_TEST(test_opts_unknown_and_stray)
{
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--colour", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "extra", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--batch=yes", NULL),
	    VEIL_E_INVALID);
	ck_assert_int_eq(parse("-r", "x", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--", NULL), VEIL_E_INVALID);
}
END_TEST

/* getopt_long: unique prefixes, -h, and one line that says what was wrong. */
START_TEST(test_opts_abbrev_and_errors)
{
	ck_assert_int_eq(parse("--ro", "lobby", "--ni", "alice", "--ba", "--gi=5", NULL), 0);
	ck_assert_str_eq(opts.co_room, "lobby");
	ck_assert_str_eq(opts.co_nick, "alice");
	ck_assert_int_eq(opts.co_batch, 1);
	ck_assert_int_eq(opts.co_give_up, 5);
	ck_assert_int_eq(parse("-h", NULL), 0);
	ck_assert_int_eq(opts.co_help, 1);
	ck_assert_int_eq(parse("--he", NULL), 0);
	ck_assert_int_eq(opts.co_help, 1);
	ck_assert_int_eq(parse("--vers", NULL), 0);
	ck_assert_int_eq(opts.co_version, 1);

	ck_assert_int_eq(parse("--r", "x", "--nick", "a", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "ambiguous option \"--r\"");
	ck_assert_int_eq(parse("--room", "r", "--nick", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "--nick needs a value");
	ck_assert_int_eq(parse("--room", "r", "--ni", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "--nick needs a value");
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--batch=yes", NULL),
	    VEIL_E_INVALID);
	ck_assert_str_eq(err, "--batch takes no value");
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--colour", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "unknown option \"--colour\"");
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "-x", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "unknown option \"-x\"");
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "stray", NULL), VEIL_E_INVALID);
	ck_assert_str_eq(err, "unexpected argument \"stray\"");
	/* One line: the caller adds "Try 'chatc --help'." and nothing more. */
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_opts_give_up)
{
	static const char *const bad[] = { "0", "-1", "", "1x", " 5", "5 ", "0x10", "604801",
	    "99999999999999999999", "+3" };
	size_t i;

	ck_assert_int_eq(parse("--room", "r", "--nick", "a", NULL), 0);
	ck_assert_int_eq(opts.co_give_up, 0);		/* default: never */
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--give-up", "30", NULL), 0);
	ck_assert_int_eq(opts.co_give_up, 30);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--give-up=604800", NULL), 0);
	ck_assert_int_eq(opts.co_give_up, GIVE_UP_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse("--room", "r", "--nick", "a", "--give-up", bad[i], NULL) ==
		    VEIL_E_INVALID, "--give-up %s accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "--give-up"));
	}
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--give-up", NULL), VEIL_E_INVALID);
	/* The usage says what it does and what every exit status means. */
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "--give-up SEC"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "exit status"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "3 some line not sent"));
	ck_assert_ptr_nonnull(strstr(chatc_usage(), "4 gave up"));
}
END_TEST

START_TEST(test_opts_keyd_too_long)
{
	char path[200];

	memset(path, 'k', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--keyd", path, NULL),
	    VEIL_E_INVALID);
}
END_TEST

START_TEST(test_opts_join_room_new_room)
{
	/* --join and --room, mixed, in order; --new-room alone with its relays. */
	ck_assert_int_eq(parse("--join", "veil:x", "--nick", "a", NULL), 0);
	ck_assert_str_eq(opts.co_join, "veil:x");
	ck_assert_ptr_null(opts.co_relay_arg);
	ck_assert_int_eq(parse("--join", "veil:x", "--room", "r", "--nick", "a", NULL), 0);
	ck_assert_uint_eq(opts.co_nrooms, 2);
	ck_assert_int_eq(opts.co_rooms[0].ra_code, 1);
	ck_assert_str_eq(opts.co_rooms[1].ra_text, "r");
	ck_assert_int_eq(opts.co_rooms[1].ra_code, 0);
	ck_assert_int_eq(parse("--join", "", "--nick", "a", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--nick", "a", NULL), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--new-room"));
	ck_assert_int_eq(parse("--new-room", NULL), 0);
	ck_assert_int_eq(opts.co_new_room, 1);
	ck_assert_int_eq(parse("--new-room", "--relay", "a:1,b:2", "--relay-fp",
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,"
	    "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL), 0);
	ck_assert_int_eq(parse("--new-room", "--nick", "a", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--new-room", "--room", "r", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--relay-fp", "00", NULL),
	    VEIL_E_INVALID);
	/* A list to fail over along (check_chatc_failover). */
	ck_assert_int_eq(parse("--room", "r", "--nick", "a", "--relay", "a:1,b:2", NULL), 0);
	ck_assert_uint_eq(opts.co_nrelays, 2);
	/* 255 bytes of room name at most (Argon2id's input, PROTOCOL.md 4.2). */
	{
		char big[300];

		memset(big, 'n', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ck_assert_int_eq(parse("--room", big, "--nick", "a", NULL), VEIL_E_INVALID);
		big[255] = '\0';
		ck_assert_int_eq(parse("--room", big, "--nick", "a", NULL), 0);
	}
}
END_TEST

/* --new-room's code decodes to its relays; --join of it finds the same room. */
START_TEST(test_new_room_and_join)
{
	static struct invite iv;
	static char code[INVITE_TEXT_MAX], code2[INVITE_TEXT_MAX];
	struct chatc_room a, b;

	ck_assert_int_eq(parse("--new-room", "--relay", "relay.example:7700,[::1]:9",
	    "--relay-fp", "SHA256:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8", NULL), 0);		/* one fingerprint for two relays: chatc_new_room says so */
	ck_assert_int_eq(chatc_new_room(&opts, code, sizeof(code), err, sizeof(err)),
	    VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--relay-fp"));
	ck_assert_int_eq(parse("--new-room", "--relay", "relay.example:7700,[::1]:9", NULL), 0);
	ck_assert_int_eq(chatc_new_room(&opts, code, sizeof(code), err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_new_room(&opts, code2, sizeof(code2), err, sizeof(err)), 0);
	ck_assert_str_ne(code, code2);		/* a fresh secret each time */
	ck_assert_int_eq(proto_invite_decode(code, &iv), 0);
	ck_assert_uint_eq(iv.iv_nrelays, 2);
	ck_assert_str_eq(iv.iv_relays[0].ir_addr, "relay.example:7700");
	ck_assert_str_eq(iv.iv_relays[1].ir_addr, "[::1]:9");
	ck_assert_int_eq(iv.iv_relays[0].ir_has_fp, 0);
	ck_assert_int_eq(parse("--new-room", "--relay", "a:1", "--relay-fp",
	    "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", NULL), 0);
	ck_assert_int_eq(chatc_new_room(&opts, code2, sizeof(code2), err, sizeof(err)),
	    VEIL_E_INVALID);	/* one spelling: relayd --fingerprint's */
	ck_assert_ptr_nonnull(strstr(err, "SHA256:"));
	ck_assert_int_eq(parse("--new-room", "--relay", "a:1", "--relay-fp", "SHA256:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8", NULL), 0);
	ck_assert_int_eq(chatc_new_room(&opts, code2, sizeof(code2), err, sizeof(err)), 0);
	ck_assert_int_eq(proto_invite_decode(code2, &iv), 0);
	ck_assert_int_eq(iv.iv_relays[0].ir_has_fp, 1);
	ck_assert_uint_eq(iv.iv_relays[0].ir_fp[10], 0xaa);
	/* --join of it pins that key; --relay-fp instead overrides the code's. */
	ck_assert_int_eq(parse("--join", code2, "--nick", "a", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.cr_has_pin, 1);
	ck_assert_mem_eq(a.cr_pin, iv.iv_relays[0].ir_fp, RELAYFP_LEN);
	ck_assert_int_eq(parse("--join", code2, "--nick", "a", "--relay-fp",
	    "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(opts.co_has_fp, 1);
	ck_assert_int_eq(a.cr_has_pin, 1);
	ck_assert_mem_eq(a.cr_pin, opts.co_relay_fp, RELAYFP_LEN);
	ck_assert_str_eq(a.cr_pin_from, "--relay-fp");
	/* --relay names another relay: the code's key is not for it. */
	ck_assert_int_eq(parse("--join", code2, "--nick", "a", "--relay", "b:2", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.cr_has_pin, 0);
	ck_assert_int_eq(parse("--new-room", "--relay", "nocolon", NULL), 0);
	ck_assert_int_eq(chatc_new_room(&opts, code2, sizeof(code2), err, sizeof(err)),
	    VEIL_E_INVALID);

	/* --join: the room of the secret, the code's first relay unless --relay. */
	ck_assert_int_eq(parse("--join", code, "--nick", "a", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(opts.co_relay, "relay.example:7700");
	ck_assert_str_eq(opts.co_host, "relay.example");
	ck_assert_str_eq(opts.co_port, "7700");
	ck_assert_uint_eq(a.cr_short, 0);
	ck_assert_int_eq(strncmp(a.cr_label, "invite ", 7), 0);
	ck_assert_int_eq(proto_invite_decode(code, &iv), 0);
	ck_assert_int_eq(roomkey_from_secret(iv.iv_secret, b.cr_id, b.cr_key), 0);
	ck_assert_mem_eq(a.cr_id, b.cr_id, ROOM_ID_LEN);
	ck_assert_mem_eq(a.cr_key, b.cr_key, ROOM_KEY_LEN);
	ck_assert_int_eq(parse("--join", code, "--nick", "a", "--relay", "10.0.0.1:1", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(opts.co_relay, "10.0.0.1:1");
	/* A typo is a usage error that says so. */
	code[12] = code[12] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(parse("--join", code, "--nick", "a", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "not a veil invite code"));
	OPENSSL_cleanse(&iv, sizeof(iv));
}
END_TEST

/*
 * --room NAME: Argon2id over the name salted with the relay's key
 * (roomkey_from_name): zeros over --plaintext, --relay-fp's key, or left for
 * link.c until TLS proves a key; short names flagged.
 */
START_TEST(test_room_from_name)
{
	static const uint8_t zero[RELAY_ID_LEN];
	struct chatc_room a, b;

	ck_assert_int_eq(parse("--room", "lobby", "--nick", "a", "--plaintext", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(a.cr_short, 5);
	ck_assert_str_eq(a.cr_label, "lobby");
	ck_assert_int_eq(a.cr_derived, 1);
	ck_assert_int_eq(roomkey_from_name("lobby", zero, b.cr_id, b.cr_key), 0);
	ck_assert_mem_eq(a.cr_id, b.cr_id, ROOM_ID_LEN);
	ck_assert_mem_eq(a.cr_key, b.cr_key, ROOM_KEY_LEN);
	ck_assert_int_eq(parse("--room", "lobby", "--nick", "a", "--relay-fp", "SHA256:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8", NULL),
	    0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.cr_derived, 1);
	ck_assert_int_eq(roomkey_from_name("lobby", opts.co_relay_fp, b.cr_id, b.cr_key), 0);
	ck_assert_mem_eq(a.cr_id, b.cr_id, ROOM_ID_LEN);
	ck_assert_mem_eq(a.cr_salt_fp, opts.co_relay_fp, RELAYFP_LEN);
	ck_assert_int_eq(parse("--room", "a long enough passphrase", "--nick", "a", NULL), 0);
	ck_assert_int_eq(chatc_room_setup(&opts, &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(a.cr_short, 0);
	ck_assert_int_eq(a.cr_derived, 0);	/* after the TLS handshake */
	ck_assert_str_eq(a.cr_name, "a long enough passphrase");
}
END_TEST

/* ---- typed lines ---- */

static struct line ln;

static void
lp(const char *s, size_t n)
{
	chatc_line_parse((const uint8_t *)s, n, &ln);
}

#define LP(lit)	lp((lit), sizeof(lit) - 1)

START_TEST(test_line_text)
{
	LP("hello");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, 5);
	ck_assert_mem_eq(ln.ln_text, "hello", 5);
	LP("hello\r");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, 5);
	LP("");
	ck_assert_int_eq(ln.ln_kind, LINE_EMPTY);
	LP("\r");
	ck_assert_int_eq(ln.ln_kind, LINE_EMPTY);
	LP("not /a command");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
}
END_TEST

START_TEST(test_line_double_slash)
{
	LP("//who");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, 4);
	ck_assert_mem_eq(ln.ln_text, "/who", 4);
	LP("//");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, 1);
	ck_assert_mem_eq(ln.ln_text, "/", 1);
	LP("///x");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_mem_eq(ln.ln_text, "//x", 3);
}
END_TEST

START_TEST(test_line_commands)
{
	LP("/help");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_HELP);
	LP("/who");
	ck_assert_int_eq(ln.ln_cmd, CMD_WHO);
	LP("/rekey");
	ck_assert_int_eq(ln.ln_cmd, CMD_REKEY);
	LP("/quit");
	ck_assert_int_eq(ln.ln_cmd, CMD_QUIT);
	LP("/quit  ");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_QUIT);
	LP("/verify");
	ck_assert_int_eq(ln.ln_cmd, CMD_VERIFY);
	ck_assert_ptr_null(ln.ln_arg);
	LP("/verify  bob ");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_VERIFY);
	ck_assert_uint_eq(ln.ln_arglen, 3);
	ck_assert_mem_eq(ln.ln_arg, "bob", 3);
	/* Issue 16: arguments, any case, and usage errors. */
	LP("/ReKey bob");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_REKEY);
	ck_assert_mem_eq(ln.ln_arg, "bob", 3);
	LP("/HELP verify");
	ck_assert_int_eq(ln.ln_cmd, CMD_HELP);
	ck_assert_mem_eq(ln.ln_arg, "verify", 6);
	LP("/who x");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	LP("/msg bob hello there");
	ck_assert_int_eq(ln.ln_cmd, CMD_MSG);
	ck_assert_uint_eq(ln.ln_arglen, 15);
	LP("/me");
	ck_assert_int_eq(ln.ln_kind, LINE_USAGE);
	ck_assert_int_eq(ln.ln_cmd, CMD_ME);
	LP("/clear all");
	ck_assert_int_eq(ln.ln_kind, LINE_USAGE);
	LP("/Status");
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_STATUS);
}
END_TEST

START_TEST(test_line_unknown_command)
{
	LP("/nope");
	ck_assert_int_eq(ln.ln_kind, LINE_UNKNOWN);
	LP("/");
	ck_assert_int_eq(ln.ln_kind, LINE_UNKNOWN);
	LP("/quit now");		/* a quit message (issue 16) */
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_QUIT);
	ck_assert_mem_eq(ln.ln_arg, "now", 3);
	LP("/WHO");			/* case does not matter (issue 16) */
	ck_assert_int_eq(ln.ln_kind, LINE_CMD);
	ck_assert_int_eq(ln.ln_cmd, CMD_WHO);
	LP("/whois");
	ck_assert_int_eq(ln.ln_kind, LINE_UNKNOWN);
}
END_TEST

START_TEST(test_line_length_limit)
{
	static char buf[MSG_MAX + 8];

	memset(buf, 'a', sizeof(buf));
	lp(buf, MSG_MAX);
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, MSG_MAX);
	lp(buf, MSG_MAX + 1);
	ck_assert_int_eq(ln.ln_kind, LINE_TOOLONG);
	ck_assert_uint_eq(ln.ln_len, MSG_MAX + 1);
	/* "//" + 3999: 4000 bytes of text once the escape is taken off. */
	buf[0] = buf[1] = '/';
	lp(buf, MSG_MAX + 1);
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	ck_assert_uint_eq(ln.ln_len, MSG_MAX);
	lp(buf, MSG_MAX + 2);
	ck_assert_int_eq(ln.ln_kind, LINE_TOOLONG);
	/* Multi-byte: 2000 x "é" is 4000 bytes; one more byte is too long. */
	for (size_t i = 0; i < MSG_MAX; i += 2) {
		buf[i] = (char)0xc3;
		buf[i + 1] = (char)0xa9;
	}
	lp(buf, MSG_MAX);
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
	buf[MSG_MAX] = 'x';
	lp(buf, MSG_MAX + 1);
	ck_assert_int_eq(ln.ln_kind, LINE_TOOLONG);
}
END_TEST

START_TEST(test_line_bad_utf8)
{
	LP("caf\xc3");
	ck_assert_int_eq(ln.ln_kind, LINE_BADUTF8);
	LP("\xc0\xaf");
	ck_assert_int_eq(ln.ln_kind, LINE_BADUTF8);
	LP("caf\xc3\xa9");
	ck_assert_int_eq(ln.ln_kind, LINE_TEXT);
}
END_TEST

/* ---- hold queue ---- */

static struct holdq hq;

START_TEST(test_holdq_bound)
{
	const uint8_t *p;
	char line[16];
	size_t n, i;

	holdq_init(&hq);
	for (i = 0; i < HOLD_MAX; i++) {
		snprintf(line, sizeof(line), "line %zu", i);
		ck_assert_int_eq(holdq_push(&hq, (const uint8_t *)line, strlen(line)), 0);
	}
	ck_assert_int_eq(holdq_push(&hq, (const uint8_t *)"one more", 8), VEIL_E_LIMIT);
	ck_assert_uint_eq(hq.hq_count, HOLD_MAX);
	for (i = 0; i < HOLD_MAX; i++) {
		snprintf(line, sizeof(line), "line %zu", i);
		ck_assert_int_eq(holdq_peek(&hq, &p, &n), 1);
		ck_assert_uint_eq(n, strlen(line));
		ck_assert_mem_eq(p, line, n);
		holdq_pop(&hq);
	}
	ck_assert_int_eq(holdq_peek(&hq, &p, &n), 0);
	ck_assert_ptr_null(p);
	holdq_pop(&hq);		/* empty: no-op */
	ck_assert_uint_eq(hq.hq_count, 0);
}
END_TEST

START_TEST(test_holdq_wrap_and_clear)
{
	const uint8_t *p;
	size_t n, i;

	holdq_init(&hq);
	for (i = 0; i < 3 * HOLD_MAX; i++) {
		uint8_t b = (uint8_t)('a' + i % 26);

		ck_assert_int_eq(holdq_push(&hq, &b, 1), 0);
		ck_assert_int_eq(holdq_peek(&hq, &p, &n), 1);
		ck_assert_int_eq(*p, b);
		holdq_pop(&hq);
	}
	ck_assert_int_eq(holdq_push(&hq, (const uint8_t *)"kept", 4), 0);
	holdq_clear(&hq);
	ck_assert_uint_eq(hq.hq_count, 0);
	ck_assert_int_eq(holdq_peek(&hq, &p, &n), 0);
}
END_TEST

START_TEST(test_holdq_lengths)
{
	static uint8_t big[MSG_MAX + 1];
	const uint8_t *p;
	size_t n;

	holdq_init(&hq);
	ck_assert_int_eq(holdq_push(&hq, big, 0), VEIL_E_INVALID);
	ck_assert_int_eq(holdq_push(&hq, big, MSG_MAX + 1), VEIL_E_INVALID);
	memset(big, 'm', sizeof(big));
	ck_assert_int_eq(holdq_push(&hq, big, MSG_MAX), 0);
	ck_assert_int_eq(holdq_peek(&hq, &p, &n), 1);
	ck_assert_uint_eq(n, MSG_MAX);
	ck_assert_mem_eq(p, big, MSG_MAX);
}
END_TEST

/* ---- events ---- */

static char ev[EV_LINE_MAX];

START_TEST(test_ev_secure)
{
	uint8_t fpr[FPR_LEN];
	size_t n;

	unit_hex("0123456789abcdef0123456789abcdef01234567", fpr, sizeof(fpr));
	n = ev_secure(ev, sizeof(ev), (const uint8_t *)"bob", 3, fpr, TRUST_NEW);
	ck_assert_str_eq(ev, "SECURE bob " FPR_A " new\n");
	ck_assert_uint_eq(n, strlen(ev));
	ev_secure(ev, sizeof(ev), (const uint8_t *)"bob", 3, fpr, TRUST_PINNED);
	ck_assert_str_eq(ev, "SECURE bob " FPR_A " pinned\n");
	ev_secure(ev, sizeof(ev), (const uint8_t *)"bob", 3, fpr, TRUST_EXPECTED);
	ck_assert_str_eq(ev, "SECURE bob " FPR_A " expected\n");
}
END_TEST

START_TEST(test_ev_msg_escaped)
{
	static const char text[] = "hi\nSECURE mallory 0000 pinned\x1b[2J\\";

	ev_msg(ev, sizeof(ev), (const uint8_t *)"bob", 3, (const uint8_t *)text,
	    sizeof(text) - 1);
	ck_assert_str_eq(ev, "MSG bob hi\\nSECURE mallory 0000 pinned\\x1b[2J\\\\\n");
	/* One event, one line. */
	ck_assert_ptr_eq(strchr(ev, '\n'), ev + strlen(ev) - 1);
	ev_msg(ev, sizeof(ev), (const uint8_t *)"bob", 3, (const uint8_t *)"caf\xc3\xa9 \xff", 7);
	ck_assert_str_eq(ev, "MSG bob caf\xc3\xa9 \xef\xbf\xbd\n");
}
END_TEST

START_TEST(test_ev_msg_worst_case_fits)
{
	static uint8_t text[MSG_MAX];
	size_t n;

	memset(text, 0x01, sizeof(text));
	n = ev_msg(ev, sizeof(ev), (const uint8_t *)"abcdefghijklmnopqrstuvwxyz012345", 32,
	    text, sizeof(text));
	ck_assert_uint_eq(n, 4 + 32 + 1 + 4 * MSG_MAX + 1);
	ck_assert_int_eq(ev[n - 1], '\n');
}
END_TEST

START_TEST(test_ev_left_warn_error)
{
	ev_left(ev, sizeof(ev), (const uint8_t *)"carol", 5);
	ck_assert_str_eq(ev, "LEFT carol\n");
	ev_line(ev, sizeof(ev), "WARN", "line too long (4001 bytes, max 4000); not sent");
	ck_assert_str_eq(ev, "WARN line too long (4001 bytes, max 4000); not sent\n");
	ev_line(ev, sizeof(ev), "ERROR", "two\nlines\r");
	ck_assert_str_eq(ev, "ERROR two lines \n");
}
END_TEST

START_TEST(test_ev_small_cap)
{
	char small[12];
	size_t n;

	n = ev_msg(small, sizeof(small), (const uint8_t *)"bob", 3,
	    (const uint8_t *)"a long message", 14);
	ck_assert_uint_eq(n, strlen(small));
	ck_assert_uint_lt(n, sizeof(small));
	ck_assert_int_eq(small[n - 1], '\n');
	ck_assert_uint_eq(ev_line(small, 1, "WARN", "x"), 0);
}
END_TEST

/* ---- peers ---- */

static struct peers pt;

START_TEST(test_peers_table)
{
	struct peer *p, *q;
	size_t i;

	peers_init(&pt);
	ck_assert_ptr_null(peers_find(&pt, 5));
	p = peers_add(&pt, 5, PS_WAIT);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->pe_name, "member 5");
	ck_assert_ptr_eq(peers_add(&pt, 5, PS_HS), p);	/* existing entry as is */
	ck_assert_int_eq(p->pe_state, PS_WAIT);
	p->pe_handle = 77;
	p->pe_state = PS_SECURE;
	peers_set_nick(p, (const uint8_t *)"bob", 3);
	ck_assert_str_eq(p->pe_name, "bob");
	ck_assert_ptr_eq(peers_by_handle(&pt, 77), p);
	ck_assert_ptr_null(peers_by_handle(&pt, 0));
	ck_assert_ptr_eq(peers_by_nick(&pt, (const uint8_t *)"bob", 3), p);
	ck_assert_ptr_null(peers_by_nick(&pt, (const uint8_t *)"bo", 2));
	ck_assert_uint_eq(peers_count(&pt, PS_SECURE), 1);
	for (i = 1; i < ROOM_SIZE_MAX; i++)
		ck_assert_ptr_nonnull(peers_add(&pt, (uint16_t)(100 + i), PS_WAIT));
	ck_assert_ptr_null(peers_add(&pt, 999, PS_WAIT));	/* full */
	peers_del(p);
	ck_assert_ptr_null(peers_find(&pt, 5));
	ck_assert_ptr_null(peers_by_handle(&pt, 77));
	q = peers_add(&pt, 999, PS_WAIT);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->pe_handle, 0);
	ck_assert_int_eq(q->pe_had_nick, 0);
}
END_TEST

START_TEST(test_trust_names)
{
	ck_assert_str_eq(chatc_trust_name(TRUST_NEW), "new");
	ck_assert_str_eq(chatc_trust_name(TRUST_PINNED), "pinned");
	ck_assert_str_eq(chatc_trust_name(TRUST_EXPECTED), "expected");
	ck_assert_str_eq(chatc_trust_name(TRUST_VERIFIED), "verified");
	ck_assert_str_eq(chatc_trust_name(TRUST_REFUSED), "refused");
	ck_assert_str_eq(chatc_trust_name(0), "?");
}
END_TEST

/* ---- relay frames from a socket ---- */

static struct rl_conn rl;

static size_t
mkframe(uint8_t *out, size_t cap, uint8_t type, uint16_t src, uint16_t dst,
    const uint8_t *payload, size_t len)
{
	struct frame f;
	struct vbuf b;

	memset(&f, 0, sizeof(f));
	f.fr_type = type;
	f.fr_src = src;
	f.fr_dst = dst;
	f.fr_len = (uint32_t)len;
	f.fr_payload = payload;
	vbuf_writer(&b, out, cap);
	ck_assert_int_eq(proto_frame_encode(&b, FRAME_TO_CLIENT, &f), 0);
	return b.vb_len;
}

START_TEST(test_relay_reassembly)
{
	static uint8_t wire[8192];
	uint8_t welcome[6] = { 0, 2, 0, 3, 0, 4 }, blob[3000];
	struct frame f;
	size_t n = 0, off;
	int sv[2], got = 0, r;

	memset(blob, 0xab, sizeof(blob));
	n += mkframe(wire + n, sizeof(wire) - n, FT_WELCOME, 0, 7, welcome, sizeof(welcome));
	n += mkframe(wire + n, sizeof(wire) - n, FT_DATA, 3, 7, blob, sizeof(blob));
	n += mkframe(wire + n, sizeof(wire) - n, FT_LEFT, 4, 0, NULL, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rl_init(&rl);
	rl_attach(&rl, sv[0]);
	/* Byte by byte at first, then in odd chunks: frames come out whole. */
	for (off = 0; off < n; ) {
		size_t chunk = off < 40 ? 1 : 777;

		if (chunk > n - off)
			chunk = n - off;
		ck_assert_int_eq(write(sv[1], wire + off, chunk), (ssize_t)chunk);
		off += chunk;
		ck_assert_int_eq(rl_read(&rl), 0);
		while ((r = rl_next(&rl, &f)) == 1) {
			switch (got++) {
			case 0:
				ck_assert_int_eq(f.fr_type, FT_WELCOME);
				ck_assert_uint_eq(f.fr_dst, 7);
				break;
			case 1:
				ck_assert_int_eq(f.fr_type, FT_DATA);
				ck_assert_uint_eq(f.fr_src, 3);
				ck_assert_uint_eq(f.fr_len, sizeof(blob));
				ck_assert_mem_eq(f.fr_payload, blob, sizeof(blob));
				break;
			case 2:
				ck_assert_int_eq(f.fr_type, FT_LEFT);
				ck_assert_uint_eq(f.fr_src, 4);
				break;
			}
		}
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(got, 3);
	close(sv[1]);
	ck_assert_int_eq(rl_read(&rl), VEIL_E_SYSTEM);	/* EOF: the relay is gone */
	rl_free(&rl);
	ck_assert_int_eq(rl.rl_fd, -1);
	ck_assert_ptr_null(rl.rl_in);
}
END_TEST

START_TEST(test_relay_malformed)
{
	uint8_t bad[FRAME_HDR_LEN] = { 9, FT_PONG, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t join[FRAME_HDR_LEN] = { 1, FT_JOIN, 0, 0, 0, 0, 0, 0, 0, 32 };
	struct frame f;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rl_init(&rl);
	rl_attach(&rl, sv[0]);
	ck_assert_int_eq(write(sv[1], bad, sizeof(bad)), (ssize_t)sizeof(bad));
	ck_assert_int_eq(rl_read(&rl), 0);
	ck_assert_int_lt(rl_next(&rl, &f), 0);	/* version 9 */
	rl_free(&rl);
	close(sv[1]);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rl_init(&rl);
	rl_attach(&rl, sv[0]);
	/* A client-only type coming from the relay is refused. */
	ck_assert_int_eq(write(sv[1], join, sizeof(join)), (ssize_t)sizeof(join));
	ck_assert_int_eq(rl_read(&rl), 0);
	ck_assert_int_lt(rl_next(&rl, &f), 0);
	rl_free(&rl);
	close(sv[1]);
}
END_TEST

START_TEST(test_relay_send_queue)
{
	static uint8_t room[ROOM_ID_LEN], got[64];
	uint8_t blob[5] = { 1, 2, 3, 4, 5 };
	int sv[2];

	rl_init(&rl);
	ck_assert_int_eq(rl_send(&rl, FT_PING, 0, NULL, 0), VEIL_E_STATE);	/* closed */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rl_init(&rl);
	rl_attach(&rl, sv[0]);
	memset(room, 0x5a, sizeof(room));
	ck_assert_int_eq(rl_send(&rl, FT_JOIN, MEMBER_NONE, room, sizeof(room)), 0);
	ck_assert_int_eq(rl_send(&rl, FT_DATA, 9, blob, sizeof(blob)), 0);
	/* Frames the relay would refuse are not queued. */
	ck_assert_int_ne(rl_send(&rl, FT_DATA, MEMBER_NONE, blob, sizeof(blob)), 0);
	ck_assert_int_ne(rl_send(&rl, FT_JOIN, MEMBER_NONE, room, 31), 0);
	ck_assert_int_ne(rl_send(&rl, FT_WELCOME, 1, NULL, 0), 0);
	ck_assert_uint_eq(rl.rl_outlen, 2 * FRAME_HDR_LEN + 32 + 5);
	ck_assert_uint_eq(rl.rl_queued, 2 * FRAME_HDR_LEN + 32 + 5);
	ck_assert_uint_eq(rl.rl_written, 0);
	ck_assert_int_eq(rl_flush(&rl), 0);
	ck_assert_uint_eq(rl.rl_outlen, 0);
	/* The counters say which queued bytes have left. */
	ck_assert_uint_eq(rl.rl_written, rl.rl_queued);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 2 * FRAME_HDR_LEN + 32 + 5);
	ck_assert_str_eq(unit_tohex(got, FRAME_HDR_LEN), "01010000000000000020");
	ck_assert_str_eq(unit_tohex(got + FRAME_HDR_LEN + 32, FRAME_HDR_LEN + 5),
	    "0105000000090000000501020304" "05");
	rl_free(&rl);
	close(sv[1]);
}
END_TEST

/* ---- keyd client ---- */

static struct keydc kc;

/* Writes an answer as the fake keyd (the other end of the socketpair). */
static void
fake_answer(int fd, const struct ipc_msg *m)
{
	static uint8_t buf[4096];
	struct vbuf b;

	vbuf_writer(&b, buf, sizeof(buf));
	ck_assert_int_eq(proto_ipc_encode(&b, m), 0);
	ck_assert_int_eq(write(fd, buf, b.vb_len), (ssize_t)b.vb_len);
}

/* Reads one whole request as the fake keyd; its code. */
static int
fake_request(int fd, struct ipc_msg *m)
{
	static uint8_t buf[IPC_LEN_HDR + 8192];
	size_t len;

	ck_assert_int_eq(read(fd, buf, IPC_LEN_HDR), IPC_LEN_HDR);
	ck_assert_int_eq(proto_ipc_length(buf, IPC_LEN_HDR, &len), 0);
	ck_assert_uint_le(len, sizeof(buf) - IPC_LEN_HDR);
	ck_assert_int_eq(read(fd, buf + IPC_LEN_HDR, len), (ssize_t)len);
	ck_assert_int_eq(proto_ipc_decode(buf + IPC_LEN_HDR, len, 0, m), 0);
	return m->im_code;
}

/* The next answer, waiting for it (the socket is non-blocking). */
static int
next_answer(struct kx *x, const struct ipc_msg **a)
{
	int r, tries;

	for (tries = 0; tries < 200; tries++) {
		if ((r = keydc_next(&kc, x, a, 0)) != 0)
			return r;
		ck_assert_int_eq(keydc_read(&kc), 0);
		if ((r = keydc_next(&kc, x, a, 0)) != 0)
			return r;
		usleep(5000);
	}
	return 0;
}

static void
kx_of(struct kx *x, int kind, uint16_t peer)
{
	memset(x, 0, sizeof(*x));
	x->kx_kind = (uint8_t)kind;
	x->kx_room = 1;
	x->kx_peer = peer;
}

/* Three requests in flight at once; answers come back in order, each with its context. */
START_TEST(test_keydc_pipelined)
{
	static struct ipc_msg req, ans, got;
	const struct ipc_msg *a;
	uint8_t blob[67];
	struct kx x;
	int sv[2];

	memset(blob, 0x04, sizeof(blob));
	blob[0] = 1;
	blob[1] = 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keydc_attach(&kc, sv[0]);
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_HS_ACCEPT;
	memset(req.im_room, 7, ROOM_ID_LEN);
	req.im_me = 1;
	req.im_peer = 2;
	req.im_blob = blob;
	req.im_bloblen = sizeof(blob);
	kx_of(&x, KX_HS_ACCEPT, 2);
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 1000), 0);
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_CLOSE;
	req.im_handle = 42;
	kx_of(&x, KX_CLOSE_SEND, 3);
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 1000), 0);
	kx_of(&x, KX_CLOSE, 4);
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 1000), 0);
	ck_assert_uint_eq(keydc_pending(&kc), 3);
	ck_assert_int_eq(keydc_busy(&kc), 0);
	/* The oldest has kc_timeout_ms from when it was asked. */
	ck_assert_int_eq(keydc_deadline(&kc), 1000 + KEYDC_TIMEOUT_MS);
	ck_assert_int_eq(keydc_flush(&kc), 0);
	ck_assert_uint_eq(kc.kc_outlen, 0);
	/* keyd sees them in order. */
	ck_assert_int_eq(fake_request(sv[1], &got), REQ_HS_ACCEPT);
	ck_assert_int_eq(fake_request(sv[1], &got), REQ_CLOSE);
	ck_assert_int_eq(fake_request(sv[1], &got), REQ_CLOSE);
	/* Nothing answered yet. */
	ck_assert_int_eq(keydc_read(&kc), 0);
	ck_assert_int_eq(keydc_next(&kc, &x, &a, 0), 0);

	/* HS_ACCEPT is answered by ANS_HS. */
	memset(&ans, 0, sizeof(ans));
	ans.im_code = ANS_HS;
	ans.im_handle = 42;
	ans.im_blob = blob;
	ans.im_bloblen = sizeof(blob);
	fake_answer(sv[1], &ans);
	/* An error answer is an answer. */
	memset(&ans, 0, sizeof(ans));
	ans.im_code = IPC_ANS_ERROR;
	ans.im_err = (uint8_t)-VEIL_E_STATE;
	ans.im_text = (const uint8_t *)"session exists";
	ans.im_textlen = 14;
	fake_answer(sv[1], &ans);
	ck_assert_int_eq(next_answer(&x, &a), 1);
	ck_assert_int_eq(x.kx_kind, KX_HS_ACCEPT);
	ck_assert_int_eq(x.kx_peer, 2);
	ck_assert_int_eq(a->im_code, ANS_HS);
	ck_assert_uint_eq(a->im_handle, 42);
	ck_assert_int_eq(next_answer(&x, &a), 1);
	ck_assert_int_eq(x.kx_kind, KX_CLOSE_SEND);
	ck_assert_uint_eq(x.kx_handle, 42);
	ck_assert_int_eq(a->im_code, IPC_ANS_ERROR);
	ck_assert_int_eq(-(int)a->im_err, VEIL_E_STATE);
	ck_assert_uint_eq(keydc_pending(&kc), 1);
	/* The last one's wait starts when the one before it was answered. */
	ck_assert_int_eq(keydc_deadline(&kc), 0 + KEYDC_TIMEOUT_MS);
	memset(&ans, 0, sizeof(ans));
	ans.im_code = ANS_CLOSE;
	ans.im_handle = 42;
	ans.im_blob = blob;
	ans.im_bloblen = sizeof(blob);
	fake_answer(sv[1], &ans);
	ck_assert_int_eq(next_answer(&x, &a), 1);
	ck_assert_int_eq(x.kx_kind, KX_CLOSE);
	ck_assert_int_eq(a->im_code, ANS_CLOSE);
	ck_assert_uint_eq(keydc_pending(&kc), 0);
	ck_assert_int_eq(keydc_deadline(&kc), INT64_MAX);
	keydc_close(&kc);
	ck_assert_int_eq(kc.kc_fd, -1);
	close(sv[1]);
}
END_TEST

/* One request answered with ans: what keydc_next says. */
static int
answer_case(uint8_t code, uint32_t handle, const struct ipc_msg *ans, int push)
{
	static struct ipc_msg req;
	const struct ipc_msg *a;
	struct kx x;
	int sv[2], r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keydc_attach(&kc, sv[0]);
	memset(&req, 0, sizeof(req));
	req.im_code = code;
	req.im_handle = handle;
	kx_of(&x, KX_CLOSE_SEND, 3);
	if (push) {
		ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), 0);
		ck_assert_int_eq(keydc_flush(&kc), 0);
	}
	fake_answer(sv[1], ans);
	r = next_answer(&x, &a);
	keydc_close(&kc);
	close(sv[1]);
	return r;
}

START_TEST(test_keydc_wrong_answers)
{
	static struct ipc_msg ans;
	uint8_t blob[67];

	memset(blob, 0x04, sizeof(blob));
	memset(&ans, 0, sizeof(ans));
	ans.im_code = ANS_CLOSE;
	ans.im_handle = 42;
	ans.im_blob = blob;
	ans.im_bloblen = sizeof(blob);
	ck_assert_int_eq(answer_case(REQ_CLOSE, 42, &ans, 1), 1);
	/* The answer to some other request is refused. */
	ck_assert_int_eq(answer_case(REQ_VERIFY, 42, &ans, 1), VEIL_E_TYPE);
	/* An answer about another session is refused. */
	ck_assert_int_eq(answer_case(REQ_CLOSE, 41, &ans, 1), VEIL_E_INVALID);
	/* An answer nobody asked for is refused. */
	ck_assert_int_eq(answer_case(REQ_CLOSE, 42, &ans, 0), VEIL_E_STATE);
}
END_TEST

START_TEST(test_keydc_limits)
{
	static struct ipc_msg req;
	static uint8_t big[E2E_MAX + 1];
	struct kx x;
	size_t i, before;

	keydc_attach(&kc, -1);		/* memory only */
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_CLOSE;
	req.im_handle = 9;
	kx_of(&x, KX_CLOSE, 3);
	for (i = 0; i < KEYDC_QMAX; i++) {
		ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), 0);
		ck_assert_int_eq(keydc_busy(&kc), i + 1 >= KEYDC_SOFT);
	}
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), VEIL_E_LIMIT);
	ck_assert_uint_eq(keydc_pending(&kc), KEYDC_QMAX);
	keydc_close(&kc);
	/* A request PROTOCOL.md 3 forbids is refused by the encoder, and nothing is queued. */
	keydc_attach(&kc, -1);
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_OPEN;
	req.im_handle = 9;
	req.im_blob = big;
	req.im_bloblen = sizeof(big);
	before = kc.kc_outlen;
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), VEIL_E_OVERSIZE);
	ck_assert_uint_eq(kc.kc_outlen, before);
	ck_assert_uint_eq(keydc_pending(&kc), 0);
	req.im_bloblen = E2E_MAX;
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), 0);
	keydc_close(&kc);
}
END_TEST

/* Memory mode, as the tests and the fuzz harness drive the core. */
START_TEST(test_keydc_memory)
{
	static struct ipc_msg req, ans, got;
	static uint8_t wire[256];
	const struct ipc_msg *a;
	struct vbuf b;
	struct kx x;
	size_t len;

	keydc_attach(&kc, -1);
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_CLOSE;
	req.im_handle = 5;
	kx_of(&x, KX_CLOSE, 0);
	ck_assert_int_eq(keydc_push(&kc, &req, &x, 0), 0);
	ck_assert_int_eq(keydc_flush(&kc), 0);		/* nothing to write to */
	ck_assert_str_eq(unit_tohex(kc.kc_out, kc.kc_outlen), "000000050800000005");
	ck_assert_int_eq(proto_ipc_length(kc.kc_out, kc.kc_outlen, &len), 0);
	ck_assert_int_eq(proto_ipc_decode(kc.kc_out + IPC_LEN_HDR, len, 0, &got), 0);
	keydc_took(&kc, IPC_LEN_HDR + len);
	ck_assert_uint_eq(kc.kc_outlen, 0);
	memset(&ans, 0, sizeof(ans));
	ans.im_code = ANS_CLOSE;
	ans.im_handle = 5;
	vbuf_writer(&b, wire, sizeof(wire));
	ck_assert_int_eq(proto_ipc_encode(&b, &ans), 0);
	/* Byte by byte: nothing until it is whole. */
	for (len = 0; len + 1 < b.vb_len; len++) {
		ck_assert_int_eq(keydc_feed(&kc, wire + len, 1), 0);
		ck_assert_int_eq(keydc_next(&kc, &x, &a, 0), 0);
	}
	ck_assert_int_eq(keydc_feed(&kc, wire + len, 1), 0);
	ck_assert_int_eq(keydc_next(&kc, &x, &a, 0), 1);
	ck_assert_int_eq(a->im_code, ANS_CLOSE);
	ck_assert_int_eq(x.kx_kind, KX_CLOSE);
	ck_assert_int_eq(keydc_next(&kc, &x, &a, 0), 0);
	keydc_close(&kc);
}
END_TEST

START_TEST(test_keydc_call_and_gone)
{
	static struct ipc_msg req, ans, got;
	const struct ipc_msg *a;
	int sv[2];
	pid_t pid;

	/* The start-up call: one request, its answer (keyd in a child). */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		if (fake_request(sv[1], &got) != REQ_HELLO)
			_exit(1);
		memset(&ans, 0, sizeof(ans));
		ans.im_code = ANS_HELLO;
		ans.im_version = IPC_VERSION;
		memset(ans.im_fpr, 0xab, FPR_LEN);
		fake_answer(sv[1], &ans);
		_exit(0);
	}
	close(sv[1]);
	keydc_attach(&kc, sv[0]);
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)"alice";
	req.im_nicklen = 5;
	ck_assert_int_eq(keydc_call(&kc, &req, &a), 0);
	ck_assert_int_eq(a->im_code, ANS_HELLO);
	ck_assert_int_eq(a->im_fpr[0], 0xab);
	/* keyd gone: reading says so, and so does a call. */
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(keydc_read(&kc), VEIL_E_SYSTEM);
	ck_assert_int_eq(keydc_call(&kc, &req, &a), VEIL_E_SYSTEM);
	ck_assert_int_eq(kc.kc_fd, -1);
	keydc_close(&kc);
}
END_TEST

START_TEST(test_keydc_garbage_length)
{
	uint8_t huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	const struct ipc_msg *a;
	struct kx x;

	keydc_attach(&kc, -1);
	ck_assert_int_eq(keydc_feed(&kc, huge, sizeof(huge)), 0);
	ck_assert_int_lt(keydc_next(&kc, &x, &a, 0), 0);	/* never waits for 2 GB */
	keydc_close(&kc);
}
END_TEST

START_TEST(test_keydc_silent)
{
	static struct ipc_msg req;
	const struct ipc_msg *a;
	uint8_t half[2] = { 0, 0 };
	int sv[2];

	/* keyd alive but mute (stopped, or stuck): lost after the timeout. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keydc_attach(&kc, sv[0]);
	kc.kc_timeout_ms = 100;
	memset(&req, 0, sizeof(req));
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)"alice";
	req.im_nicklen = 5;
	ck_assert_int_eq(keydc_call(&kc, &req, &a), VEIL_E_SYSTEM);
	/* Half a length prefix, then nothing. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv + 0), 0);
	keydc_attach(&kc, sv[0]);
	kc.kc_timeout_ms = 100;
	ck_assert_int_eq(write(sv[1], half, sizeof(half)), 2);
	ck_assert_int_eq(keydc_call(&kc, &req, &a), VEIL_E_SYSTEM);
	keydc_close(&kc);
	close(sv[1]);
}
END_TEST

START_TEST(test_keydc_connect_missing)
{
	ck_assert_int_eq(keydc_connect(&kc, "/nonexistent/veil/keyd.sock"), VEIL_E_SYSTEM);
	ck_assert_int_eq(kc.kc_fd, -1);
}
END_TEST

/* A listening Unix socket at path, made by the calling process. */
static int
listen_at(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 4) == -1)
		return -1;
	return fd;
}

/*
 * Whatever listens on the path must run as our uid: another user who made
 * /tmp/veil-UID first would otherwise read every line and fake SECURE.
 */
START_TEST(test_keydc_connect_peer_uid)
{
	char dir[] = "/tmp/veil-chatc-test.XXXXXX", path[128], ok;
	int lfd, pfd[2], st;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	/* Our own listener: accepted. */
	snprintf(path, sizeof(path), "%s/mine.sock", dir);
	ck_assert_int_ge(lfd = listen_at(path), 0);
	ck_assert_int_eq(keydc_connect(&kc, path), 0);
	ck_assert_int_ge(kc.kc_fd, 0);
	keydc_close(&kc);
	close(lfd);
	unlink(path);
	if (geteuid() != 0) {
		/* Another uid needs root to play; the check above still ran. */
		rmdir(dir);
		return;
	}
	/* nobody's listener: refused, nothing kept open. */
	snprintf(path, sizeof(path), "%s/other.sock", dir);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0 ||
		    listen_at(path) < 0)
			_exit(1);
		(void)!write(pfd[1], "r", 1);
		alarm(10);	/* gone even if an assertion below stops the test */
		pause();
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &ok, 1), 1);
	close(pfd[0]);
	errno = 0;
	st = keydc_connect(&kc, path);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(st, VEIL_E_SYSTEM);
	ck_assert_int_eq(kc.kc_fd, -1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *suite_chatc(void);

Suite *
suite_chatc(void)
{
	Suite *s = suite_create("chatc");
	TCase *o = tcase_create("options");
	TCase *l = tcase_create("lines");
	TCase *h = tcase_create("holdq");
	TCase *e = tcase_create("events");
	TCase *p = tcase_create("peers");
	TCase *n = tcase_create("relay");
	TCase *k = tcase_create("keydc");

	tcase_add_test(o, test_opts_minimal_defaults);
	tcase_add_test(o, test_opts_keyd_default_without_xdg);
	tcase_add_test(o, test_opts_all);
	tcase_add_test(o, test_opts_help_version);
	tcase_add_test(o, test_opts_missing_required);
	tcase_add_test(o, test_opts_bad_nick);
	tcase_add_test(o, test_opts_bad_expect);
	tcase_add_test(o, test_opts_too_many_expect);
	tcase_add_test(o, test_opts_bad_relay);
	tcase_add_test(o, test_opts_unknown_and_stray);
	tcase_add_test(o, test_opts_abbrev_and_errors);
	tcase_add_test(o, test_opts_give_up);
	tcase_add_test(o, test_opts_keyd_too_long);
	tcase_add_test(o, test_opts_join_room_new_room);
	tcase_add_test(o, test_new_room_and_join);
	tcase_add_test(o, test_room_from_name);
	tcase_add_test(l, test_line_text);
	tcase_add_test(l, test_line_double_slash);
	tcase_add_test(l, test_line_commands);
	tcase_add_test(l, test_line_unknown_command);
	tcase_add_test(l, test_line_length_limit);
	tcase_add_test(l, test_line_bad_utf8);
	tcase_add_test(h, test_holdq_bound);
	tcase_add_test(h, test_holdq_wrap_and_clear);
	tcase_add_test(h, test_holdq_lengths);
	tcase_add_test(e, test_ev_secure);
	tcase_add_test(e, test_ev_msg_escaped);
	tcase_add_test(e, test_ev_msg_worst_case_fits);
	tcase_add_test(e, test_ev_left_warn_error);
	tcase_add_test(e, test_ev_small_cap);
	tcase_add_test(p, test_peers_table);
	tcase_add_test(p, test_trust_names);
	tcase_add_test(n, test_relay_reassembly);
	tcase_add_test(n, test_relay_malformed);
	tcase_add_test(n, test_relay_send_queue);
	tcase_add_test(k, test_keydc_pipelined);
	tcase_add_test(k, test_keydc_wrong_answers);
	tcase_add_test(k, test_keydc_limits);
	tcase_add_test(k, test_keydc_memory);
	tcase_add_test(k, test_keydc_call_and_gone);
	tcase_add_test(k, test_keydc_garbage_length);
	tcase_add_test(k, test_keydc_silent);
	tcase_add_test(k, test_keydc_connect_missing);
	tcase_add_test(k, test_keydc_connect_peer_uid);
	suite_add_tcase(s, o);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	suite_add_tcase(s, e);
	suite_add_tcase(s, p);
	suite_add_tcase(s, n);
	suite_add_tcase(s, k);
	return s;
}
