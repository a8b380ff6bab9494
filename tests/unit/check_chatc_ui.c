/* SPDX-License-Identifier: ISC */
/*
 * chatc's screen (chatc/ui.c) on a pseudo-terminal: line editing that is
 * UTF-8 aware (backspace removes a whole character, arrows move by
 * characters), Ctrl-U / Ctrl-W, Ctrl-C and Ctrl-D, controls and broken UTF-8
 * never entering the input, the input bound, and the input line redrawn
 * after every message so incoming text never breaks it.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <check.h>

#include "client.h"

static int master = -1;
static struct ui *u;
static char screen[1 << 16];
static size_t screenlen;

/* Reads what the screen wrote so far (the pty must not fill up). */
static void
drain(void)
{
	ssize_t n;

	screenlen = 0;
	while ((n = read(master, screen + screenlen, sizeof(screen) - 1 - screenlen)) > 0)
		screenlen += (size_t)n;
	screen[screenlen] = '\0';
}

/* Check forks each test: the pty becomes this child's stdin and stdout. */
static void
setup(void)
{
	struct winsize ws = { .ws_row = 20, .ws_col = 60 };
	int slave;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	ck_assert_int_ge(dup2(slave, STDIN_FILENO), 0);
	ck_assert_int_ge(dup2(slave, STDOUT_FILENO), 0);
	close(slave);
	ck_assert_int_eq(fcntl(master, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(ui_open(&u, "lobby", "alice"), 0);
	ck_assert_ptr_nonnull(u);
	drain();
}

static void
teardown(void)
{
	ui_close(u);
	u = NULL;
	close(master);
}

/* Feeds bytes; returns the last result, the entered line in line and len. */
static int
keys(const char *s, size_t n, const uint8_t **line, size_t *len)
{
	int r = UIK_NONE;
	size_t i;

	for (i = 0; i < n; i++) {
		r = ui_key(u, (uint8_t)s[i], line, len);
		if (r != UIK_NONE && i + 1 < n)
			ck_abort_msg("key %zu of %zu finished early (%d)", i, n, r);
		drain();
	}
	return r;
}

#define KEYS(lit)	keys((lit), sizeof(lit) - 1, &line, &len)

/* Enter, and the line must be exactly want. */
static void
enter_expect(const char *want, size_t wantlen)
{
	const uint8_t *line;
	size_t len;

	ck_assert_int_eq(KEYS("\r"), UIK_LINE);
	ck_assert_uint_eq(len, wantlen);
	ck_assert_mem_eq(line, want, wantlen);
}

#define ENTER(lit)	enter_expect((lit), sizeof(lit) - 1)

START_TEST(test_ui_plain_line)
{
	const uint8_t *line;
	size_t len;

	ck_assert_int_eq(KEYS("hello world"), UIK_NONE);
	ENTER("hello world");
	/* The input is empty again. */
	ENTER("");
}
END_TEST

START_TEST(test_ui_backspace_utf8)
{
	const uint8_t *line;
	size_t len;

	/* "héllo 日本" then two backspaces take off "本" and "日", whole. */
	KEYS("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac\x7f\x7f");
	ENTER("h\xc3\xa9llo ");
	KEYS("\xc3\xa9\x08");	/* Ctrl-H works too */
	ENTER("");
}
END_TEST

START_TEST(test_ui_arrows_insert)
{
	const uint8_t *line;
	size_t len;

	/* Left twice over a 3-byte character, insert, Home, insert, End. */
	KEYS("ab\xe2\x82\xac" "c" "\x1b[D\x1b[D" "X" "\x1b[H" "<" "\x1b[F" ">");
	ENTER("<abX\xe2\x82\xac" "c>");
	/* Right at the end stays put; Delete under the cursor. */
	KEYS("xyz\x1b[C\x1b[D\x1b[D\x1b[3~");
	ENTER("xz");
	/* SS3 forms (ESC O D) and Ctrl-A / Ctrl-E / Ctrl-B / Ctrl-F. */
	KEYS("12\x1bOD" "a" "\x01" "b" "\x05" "c" "\x02" "d" "\x06" "e");
	ENTER("b1a2dce");
}
END_TEST

START_TEST(test_ui_ctrl_u_w)
{
	const uint8_t *line;
	size_t len;

	KEYS("first second third\x17");
	ENTER("first second ");
	KEYS("one two\x1b[D\x1b[D\x15");	/* Ctrl-U kills up to the cursor */
	ENTER("wo");
}
END_TEST

START_TEST(test_ui_controls_never_enter)
{
	const uint8_t *line;
	size_t len;

	/* BEL, a lone ESC sequence, stray continuation and broken UTF-8. */
	KEYS("a\x07" "b\x1b[31m" "c\x80" "d\xc3" "e\xe6\x97" "f\x0b" "g");
	ENTER("abcdefg");
}
END_TEST

START_TEST(test_ui_quit_keys)
{
	const uint8_t *line;
	size_t len;

	ck_assert_int_eq(KEYS("\x03"), UIK_QUIT);		/* Ctrl-C */
	ck_assert_int_eq(KEYS("\x04"), UIK_QUIT);		/* Ctrl-D, empty line */
	KEYS("ab\x1b[D");
	ck_assert_int_eq(KEYS("\x04"), UIK_NONE);		/* Ctrl-D deletes under the cursor */
	ENTER("a");
}
END_TEST

START_TEST(test_ui_input_bound)
{
	const uint8_t *line;
	size_t len, i;

	/* 8192 bytes fit (over MSG_MAX: the client refuses it with a WARN); more rings. */
	for (i = 0; i < 8192; i++) {
		ck_assert_int_eq(ui_key(u, 'x', &line, &len), UIK_NONE);
		drain();
	}
	ck_assert_int_eq(ui_key(u, 'y', &line, &len), UIK_NONE);
	drain();
	ck_assert_ptr_nonnull(memchr(screen, '\a', screenlen));
	ck_assert_int_eq(ui_key(u, '\r', &line, &len), UIK_LINE);
	ck_assert_uint_eq(len, 8192);
	ck_assert_ptr_null(memchr(line, 'y', len));
}
END_TEST

START_TEST(test_ui_message_keeps_input)
{
	const uint8_t *line;
	size_t len;
	char *last;

	KEYS("half typed");
	ui_add(u, UI_MSG, "bob", "incoming \\x1b[2J text");
	drain();
	/* The message went into the scroll region, then the input was redrawn. */
	ck_assert_ptr_nonnull(strstr(screen, "<bob>"));
	ck_assert_ptr_nonnull(strstr(screen, "incoming \\x1b[2J text"));
	last = strstr(screen, "> half typed");
	ck_assert_ptr_nonnull(last);
	ck_assert(last > strstr(screen, "incoming"));
	/* Only our own escape sequences reach the terminal: no clear screen. */
	ck_assert_ptr_null(strstr(screen, "\x1b[2J"));
	ENTER("half typed");
}
END_TEST

START_TEST(test_ui_status_and_resize)
{
	struct winsize ws = { .ws_row = 10, .ws_col = 30 };

	ui_status(u, "bob(pinned)", "connected");
	drain();
	ck_assert_ptr_nonnull(strstr(screen, "#lobby | alice | bob(pinned) | relay connected"));
	ck_assert_int_eq(ioctl(STDIN_FILENO, TIOCSWINSZ, &ws), 0);
	ui_resize(u);
	drain();
	/* Scroll region rows 1..8, status on row 9, input on row 10. */
	ck_assert_ptr_nonnull(strstr(screen, "\x1b[1;8r"));
	ck_assert_ptr_nonnull(strstr(screen, "\x1b[9;1H"));
	ck_assert_ptr_nonnull(strstr(screen, "\x1b[10;1H"));
}
END_TEST

START_TEST(test_ui_close_restores)
{
	struct termios t;

	ck_assert_int_eq(tcgetattr(STDIN_FILENO, &t), 0);
	ck_assert_uint_eq(t.c_lflag & ECHO, 0);		/* raw while open */
	ui_close(u);
	drain();
	ck_assert_ptr_nonnull(strstr(screen, "\x1b[?1049l"));	/* main screen back */
	ck_assert_int_eq(tcgetattr(STDIN_FILENO, &t), 0);
	ck_assert_uint_ne(t.c_lflag & ECHO, 0);
	ck_assert_uint_ne(t.c_lflag & ICANON, 0);
	ui_close(u);		/* twice is harmless */
}
END_TEST

Suite *suite_chatc_ui(void);

Suite *
suite_chatc_ui(void)
{
	Suite *s = suite_create("chatc_ui");
	TCase *tc = tcase_create("screen");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ui_plain_line);
	tcase_add_test(tc, test_ui_backspace_utf8);
	tcase_add_test(tc, test_ui_arrows_insert);
	tcase_add_test(tc, test_ui_ctrl_u_w);
	tcase_add_test(tc, test_ui_controls_never_enter);
	tcase_add_test(tc, test_ui_quit_keys);
	tcase_add_test(tc, test_ui_input_bound);
	tcase_add_test(tc, test_ui_message_keeps_input);
	tcase_add_test(tc, test_ui_status_and_resize);
	tcase_add_test(tc, test_ui_close_restores);
	suite_add_tcase(s, tc);
	return s;
}
