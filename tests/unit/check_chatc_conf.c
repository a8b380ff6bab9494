/* SPDX-License-Identifier: ISC */
/*
 * chatc.conf (chatc/conf.c): every keyword, in any case, "=" and quotes,
 * comments and CR LF; malformed input refused with its line number
 * (unknown keyword, missing or bad value, a one-time keyword given twice,
 * too many, too long, NUL, control characters, not UTF-8, an unterminated
 * quote, a file over the bound); and the file under the flags
 * (chatc_opts_finish).
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "client.h"
#include "err.h"

#define FPR_A	"0123456789abcdef0123456789abcdef01234567"

static struct chatc_conf cf;
static char err[256];

static int
conf(const char *text)
{
	return chatc_conf_parse(text, strlen(text), &cf, err, sizeof(err));
}

START_TEST(test_conf_all_keywords)
{
	ck_assert_int_eq(conf(
	    "# chatc.conf\n"
	    "\n"
	    "nick alice\n"
	    "RELAY = relay.example:7700\r\n"
	    "  room lobby\n"
	    "room \"  spaced room  \"\n"
	    "Room=dev # not a comment: part of the name\n"
	    "expect bob=" FPR_A "\n"
	    "expect carol=" FPR_A "\n"
	    "keyd /run/user/1/veil/keyd.sock\n"
	    "give-up 30\n"
	    "colour no\n"
	    "history yes\n"
	    "join veil:AAAAAAAA\n"
	    "\t# indented comment\n"
	    "relay-less-line-at-end-without-newline-is-fine-too"), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 16: unknown keyword \"relay-less-line-at-end-without-n\"");
	ck_assert_int_eq(conf(
	    "nick alice\n"
	    "RELAY = relay.example:7700\r\n"
	    "  room lobby\n"
	    "room \"  spaced room  \"\n"
	    "Room=dev # not a comment: part of the name\n"
	    "expect bob=" FPR_A "\n"
	    "keyd /run/user/1/veil/keyd.sock\n"
	    "give-up 30\n"
	    "color off\n"
	    "history yes\n"
	    "join veil:AAAAAAAA"), 0);
	ck_assert_str_eq(cf.cf_nick, "alice");
	ck_assert_str_eq(cf.cf_relay, "relay.example:7700");
	ck_assert_uint_eq(cf.cf_nrooms, 3);
	ck_assert_str_eq(cf.cf_rooms[0], "lobby");
	ck_assert_str_eq(cf.cf_rooms[1], "  spaced room  ");
	ck_assert_str_eq(cf.cf_rooms[2], "dev # not a comment: part of the name");
	ck_assert_uint_eq(cf.cf_nexpect, 1);
	ck_assert_str_eq(cf.cf_expect[0].ce_nick, "bob");
	ck_assert_str_eq(cf.cf_keyd, "/run/user/1/veil/keyd.sock");
	ck_assert_int_eq(cf.cf_give_up, 30);
	ck_assert_int_eq(cf.cf_colour, 0);
	ck_assert_int_eq(cf.cf_history, 1);
	ck_assert_uint_eq(cf.cf_njoins, 1);
	/* Empty, and comments only. */
	ck_assert_int_eq(conf(""), 0);
	ck_assert_int_eq(cf.cf_colour, -1);
	ck_assert_int_eq(conf("# nothing\n\n   \n"), 0);
	ck_assert_uint_eq(cf.cf_nrooms, 0);
}
END_TEST

/* Each bad line is refused, naming its line (the second of each file). */
START_TEST(test_conf_malformed)
{
	static const struct {
		const char	*body;
		const char	*want;
	} bad[] = {
		{ "nickname alice", "unknown keyword \"nickname\"" },
		{ "nick", "no value" },
		{ "nick   ", "no value" },
		{ "nick =", "no value" },
		{ "nick bad!nick", "nick: 1..32 of" },
		{ "nick aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "nick: 1..32 of" },
		{ "relay localhost", "relay: want HOST:PORT" },
		{ "relay host:0", "relay: want HOST:PORT" },
		{ "relay a:1,", "relay: want HOST:PORT" },
		{ "relay a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", "relay: want HOST:PORT" },
		{ "expect bob", "expect wants NICK=FINGERPRINT" },
		{ "expect bob=nothex", "expect: bad fingerprint for bob" },
		{ "expect b!b=" FPR_A, "expect: bad nickname" },
		{ "keyd relative/path", "keyd: an absolute path" },
		{ "give-up 0", "give-up: seconds" },
		{ "give-up 10x", "give-up: seconds" },
		{ "give-up -5", "give-up: seconds" },
		{ "give-up 604801", "give-up: seconds" },
		{ "colour maybe", "colour: yes or no" },
		{ "history 1", "history: yes or no" },
		{ "join lobby", "join: an invite code" },
		{ "room \"unterminated", "a quoted value ends with its quote" },
		{ "room \"a\"b\"", "a quoted value ends with its quote" },
		{ "room \"\"", "no value" },
		{ "room a\x01" "b", "a control character" },
		{ "room a\x1b[2Jb", "a control character" },
		{ "room \xff\xfe", "not UTF-8" },
		{ "room \xc0\xaf", "not UTF-8" },
	};
	char text[512], want[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# first\n%s\nroom x\n", bad[i].body);
		ck_assert_msg(conf(text) == VEIL_E_INVALID, "accepted: %s", bad[i].body);
		snprintf(want, sizeof(want), "line 2: %s", bad[i].want);
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: said \"%s\"",
		    bad[i].body, err);
		ck_assert_ptr_null(strchr(err, '\n'));
	}
}
END_TEST

START_TEST(test_conf_limits)
{
	static char big[CONF_MAX + 2];
	char text[4096];
	size_t i, n = 0;

	/* One-time keywords twice: the error names both lines. */
	ck_assert_int_eq(conf("nick a\n# x\nnick b\n"), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 3: nick given again (first on line 1)");
	ck_assert_int_eq(conf("colour yes\ncolor no\n"), VEIL_E_INVALID);
	/* Too many rooms and expectations. */
	for (i = 0; i <= CHATC_ROOMS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "room r%zu\n", i);
	ck_assert_int_eq(conf(text), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 11: room: at most 10 rooms (room and join lines)");
	n = 0;
	for (i = 0; i <= IPC_EXPECT_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "expect n%zu=%s\n", i, FPR_A);
	ck_assert_int_eq(conf(text), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 17: expect: at most 16");
	ck_assert_int_eq(conf("expect b=" FPR_A "\nexpect b=" FPR_A "\n"), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 2: expect: b given twice");
	/* A line over CONF_LINE_MAX, a NUL, a room name over 255 bytes, a file over CONF_MAX. */
	memset(big, 'x', CONF_LINE_MAX + 10);
	memcpy(big, "room ", 5);
	big[CONF_LINE_MAX + 10] = '\0';
	ck_assert_int_eq(conf(big), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 1: longer than 1024 bytes");
	big[300] = '\0';
	ck_assert_int_eq(conf(big), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 1: room: a name of 1 to 255 bytes");
	ck_assert_int_eq(chatc_conf_parse("nick a\nro\0m x\n", 13, &cf, err, sizeof(err)),
	    VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 2: a NUL byte");
	memset(big, '#', sizeof(big));
	ck_assert_int_eq(chatc_conf_parse(big, CONF_MAX + 1, &cf, err, sizeof(err)),
	    VEIL_E_INVALID);
	ck_assert_int_eq(chatc_conf_parse(big, CONF_MAX, &cf, err, sizeof(err)),
	    VEIL_E_INVALID);	/* one 64 KiB comment line: too long a line */
}
END_TEST

static struct chatc_opts opts;

static int
parse(const char *first, ...)
{
	char *argv[32];
	const char *a;
	va_list ap;
	int argc = 0, rc;

	argv[argc++] = (char *)(uintptr_t)"chatc";
	va_start(ap, first);
	for (a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[argc] = NULL;
	if ((rc = chatc_opts_flags(argc, argv, &opts, err, sizeof(err))) != 0)
		return rc;
	return chatc_opts_finish(&opts, &cf, err, sizeof(err));
}

/* The file fills in, the flags win, a list of flags replaces the file's. */
START_TEST(test_conf_under_flags)
{
	ck_assert_int_eq(conf("nick filenick\nrelay 10.0.0.1:7000\nroom a\nroom b\n"
	    "expect bob=" FPR_A "\nkeyd /k.sock\ncolour no\n"), 0);
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(opts.co_nick, "filenick");
	ck_assert_str_eq(opts.co_relay, "10.0.0.1:7000");
	ck_assert_uint_eq(opts.co_nrooms, 2);
	ck_assert_str_eq(opts.co_room, "a");
	ck_assert_str_eq(opts.co_keyd, "/k.sock");
	ck_assert_uint_eq(opts.co_nexpect, 1);
	ck_assert_int_eq(opts.co_colour, 0);
	ck_assert_int_eq(parse("--nick", "flagnick", "--room", "c", "--relay", "[::1]:1",
	    "--expect", "bob=" FPR_A "ff", NULL), VEIL_E_INVALID);
	ck_assert_int_eq(parse("--nick", "flagnick", "--room", "c", "--relay", "[::1]:1",
	    "--expect", "carol=" FPR_A, NULL), 0);
	ck_assert_str_eq(opts.co_nick, "flagnick");
	ck_assert_str_eq(opts.co_relay, "[::1]:1");
	ck_assert_uint_eq(opts.co_nrooms, 1);
	ck_assert_str_eq(opts.co_room, "c");
	ck_assert_uint_eq(opts.co_nexpect, 2);	/* carol from the flag, bob from the file */
	ck_assert_str_eq(opts.co_expect[0].ce_nick, "carol");
	ck_assert_str_eq(opts.co_expect[1].ce_nick, "bob");
	/* Nothing in the file and no flag: what is required says where it may come from. */
	ck_assert_int_eq(conf(""), 0);
	ck_assert_int_eq(parse("--nick", "a", NULL), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "--join CODE or --room NAME is required, or room "
	    "or join in chatc.conf"));
	/* relay: one, or a cluster's list (as --relay); --relay-fp then pins each. */
	ck_assert_int_eq(conf("nick n\nroom r\nrelay 10.0.0.1:1,[::1]:2\n"
	    "relay-fp SHA256:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8\n"), 0);
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_uint_eq(opts.co_nrelays, 2);
	ck_assert_str_eq(opts.co_relays[1].re_host, "::1");
	{
		static struct chatc_room cr;

		ck_assert_int_eq(chatc_room_setup(&opts, &cr, err, sizeof(err)), 0);
		ck_assert_uint_eq(cr.cr_neps, 2);
		ck_assert_int_eq(cr.cr_eps[1].re_has_pin, 1);
		ck_assert_uint_eq(cr.cr_eps[1].re_pin[1], 0x11);
		ck_assert_str_eq(cr.cr_eps[1].re_pin_from, "--relay-fp");
	}
	ck_assert_int_eq(parse("--relay", "10.0.0.9:9", NULL), 0);
	ck_assert_uint_eq(opts.co_nrelays, 1);
	ck_assert_str_eq(opts.co_relay, "10.0.0.9:9");
	/* relay-fp: as --relay-fp, unless a flag says how to trust the relay. */
	ck_assert_int_eq(conf("nick n\nroom r\nrelay-fp SHA256:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8\n"), 0);
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_int_eq(opts.co_has_fp, 1);
	ck_assert_uint_eq(opts.co_relay_fp[1], 0x11);
	ck_assert_int_eq(parse("--plaintext", NULL), 0);
	ck_assert_int_eq(opts.co_has_fp, 0);
	ck_assert_int_eq(conf("relay-fp 00112233\n"), VEIL_E_INVALID);
	ck_assert_str_eq(err, "line 1: relay-fp: want SHA256: and 43 base64 characters, as "
	    "relayd --fingerprint prints");
	/* room and join lines are joined in the order of the file. */
	ck_assert_int_eq(conf("nick n\nroom a\njoin veil:AAAAAAAA\nroom b\n"), 0);
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_uint_eq(opts.co_nrooms, 3);
	ck_assert_int_eq(opts.co_rooms[1].ra_code, 1);
	ck_assert_str_eq(opts.co_rooms[1].ra_text, "veil:AAAAAAAA");
	ck_assert_str_eq(opts.co_rooms[2].ra_text, "b");
	ck_assert_str_eq(opts.co_join, "veil:AAAAAAAA");
	ck_assert_str_eq(opts.co_room, "a");
}
END_TEST

START_TEST(test_conf_read_file)
{
	char dir[] = "/tmp/veil-conf-XXXXXX", path[64];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/chatc.conf", dir);
	/* Absent: fine unless asked for by name. */
	ck_assert_int_eq(chatc_conf_read(path, 0, &cf, err, sizeof(err)), 0);
	ck_assert_int_ne(chatc_conf_read(path, 1, &cf, err, sizeof(err)), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("nick alice\nroom lobby\nbogus 1\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chatc_conf_read(path, 0, &cf, err, sizeof(err)), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "chatc.conf line 3: unknown keyword \"bogus\""));
	/* Writable by others: refused, whatever it says. */
	ck_assert_int_eq(chmod(path, 0622), 0);
	ck_assert_int_ne(chatc_conf_read(path, 0, &cf, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "only you may write"));
	unlink(path);
	rmdir(dir);
	/* The default place. */
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	ck_assert_int_eq(chatc_conf_default(path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/cfg/veil/chatc.conf");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/x", 1);
	ck_assert_int_eq(chatc_conf_default(path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/home/x/.config/veil/chatc.conf");
}
END_TEST

Suite *suite_chatc_conf(void);

Suite *
suite_chatc_conf(void)
{
	Suite *s = suite_create("chatc_conf");
	TCase *p = tcase_create("parse");
	TCase *l = tcase_create("limits");
	TCase *o = tcase_create("options");

	tcase_add_test(p, test_conf_all_keywords);
	tcase_add_test(p, test_conf_malformed);
	tcase_add_test(l, test_conf_limits);
	tcase_add_test(o, test_conf_under_flags);
	tcase_add_test(o, test_conf_read_file);
	suite_add_tcase(s, p);
	suite_add_tcase(s, l);
	suite_add_tcase(s, o);
	return s;
}
