/* SPDX-License-Identifier: ISC */
/*
 * chatc's screen (chatc/ui.c) on a pseudo-terminal, TERM=xterm: line
 * editing that is UTF-8 aware, the readline keys, history, Tab completion,
 * bracketed paste and the confirmation before several lines or an over-long
 * one go out (split, never thrown away), controls never entering the input,
 * the input line redrawn after every message, scrollback and /lastlog,
 * mentions, NO_COLOR, resize, and the conversation printed when the screen
 * closes.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <check.h>

#include "client.h"
#include "screen.h"

static int master = -1;
static struct ui *u;
static char screen[1 << 20];
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

static int
has(const char *s)
{
	return memmem(screen, screenlen, s, strlen(s)) != NULL;
}

/* A pty as this test child's stdin and stdout, 30 x 200 (lines checked do not wrap). */
static void
pty(void)
{
	struct winsize ws = { .ws_row = 30, .ws_col = 200 };
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
}

static void
open_ui(void)
{
	char why[128];

	ck_assert_msg(ui_open(&u, "alice", 1, why, sizeof(why)) == 0, "ui_open: %s", why);
	ck_assert_ptr_nonnull(u);
	drain();
}

/* Check forks each test. */
static void
setup(void)
{
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	pty();
	open_ui();
}

static void
teardown(void)
{
	ui_close(u);
	u = NULL;
	close(master);
}

/* Feeds bytes; the last result. */
static int
keys(const char *s, size_t n)
{
	int r = UIK_NONE;
	size_t i;

	for (i = 0; i < n; i++) {
		r = ui_key(u, (uint8_t)s[i]);
		drain();
	}
	return r;
}

#define KEYS(lit)	keys((lit), sizeof(lit) - 1)

/* The next line for the core must be exactly want. */
static void
line_is(const char *want, size_t wantlen)
{
	const uint8_t *line;
	size_t len;

	ck_assert_int_eq(ui_line(u, &line, &len), 1);
	ck_assert_msg(len == wantlen && memcmp(line, want, len) == 0,
	    "line '%.*s' (%zu), wanted '%s'", (int)(len < 80 ? len : 80), (const char *)line,
	    len, want);
}

#define LINE(lit)	line_is((lit), sizeof(lit) - 1)
/* Enter, and the one line that goes out is lit. */
#define ENTER(lit)	do {						\
	ck_assert_int_eq(KEYS("\r"), UIK_LINE);				\
	LINE(lit);							\
	ck_assert_int_eq(ui_pending(u), 0);				\
} while (0)

static void
event(int kind, const char *who, const char *text)
{
	struct ev e;

	memset(&e, 0, sizeof(e));
	e.ev_kind = kind;
	e.ev_who = who;
	if (who != NULL) {
		e.ev_nick = (const uint8_t *)who;
		e.ev_nicklen = strlen(who);
	}
	if (kind == EV_MSG || kind == EV_MINE || kind == EV_LASTLOG || kind == EV_HELD) {
		e.ev_text = (const uint8_t *)text;
		e.ev_textlen = strlen(text);
	} else
		e.ev_line = text;
	ui_event(u, &e);
	drain();
}

/* A status event naming secure peers (for the status line and Tab). */
static void
status(const char *const *names, size_t n)
{
	static struct ev_status st;
	struct ev e;
	size_t i;

	memset(&st, 0, sizeof(st));
	snprintf(st.st_room, sizeof(st.st_room), "lobby");
	st.st_link = LINK_JOINED;
	for (i = 0; i < n; i++) {
		snprintf(st.st_peers[i].ep_name, sizeof(st.st_peers[i].ep_name), "%s", names[i]);
		st.st_peers[i].ep_state = EVP_SECURE;
		st.st_peers[i].ep_trust = TRUST_PINNED;
	}
	st.st_npeers = n;
	memset(&e, 0, sizeof(e));
	e.ev_kind = EV_STATUS;
	e.ev_status = &st;
	ui_event(u, &e);
	drain();
}

START_TEST(test_ui_plain_line)
{
	ck_assert_int_eq(KEYS("hello world"), UIK_NONE);
	ENTER("hello world");
	/* The input is empty again: Enter sends nothing. */
	ck_assert_int_eq(KEYS("\r"), UIK_NONE);
	/* "//x" is the text "/x", handed on as the core reads it. */
	KEYS("//x");
	ENTER("//x");
	/* A command goes whole. */
	KEYS("/who bob");
	ENTER("/who bob");
}
END_TEST

START_TEST(test_ui_backspace_utf8)
{
	/* "héllo 日本" then two backspaces take off "本" and "日", whole. */
	KEYS("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac\x7f\x7f");
	ENTER("h\xc3\xa9llo ");
	KEYS("a\xc3\xa9\x08");	/* Ctrl-H works too */
	ENTER("a");
}
END_TEST

START_TEST(test_ui_arrows_insert)
{
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

START_TEST(test_ui_kill_and_yank)
{
	KEYS("first second third\x17");			/* Ctrl-W */
	ENTER("first second ");
	KEYS("one two\x1b[D\x1b[D\x15");		/* Ctrl-U: to the cursor */
	ENTER("wo");
	KEYS("keep this and cut\x1b" "b\x1b" "b\x0b");	/* Alt-B twice, Ctrl-K */
	KEYS("\x01\x19");				/* Ctrl-A, Ctrl-Y: yank it */
	ENTER("and cutkeep this ");
	/* Ctrl-Left / Ctrl-Right (xterm), Alt-D, Alt-Backspace. */
	KEYS("alpha beta gamma\x1b[1;5D\x1b[1;5D\x1b" "d");
	ENTER("alpha  gamma");
	KEYS("one two-three\x1b\x7f");
	ENTER("one two-");
	KEYS("x y z\x1b[1;5D\x1b[1;5D\x1b[1;5C" "!");
	ENTER("x y! z");
}
END_TEST

START_TEST(test_ui_history)
{
	KEYS("first");
	ENTER("first");
	KEYS("second");
	ENTER("second");
	KEYS("draft");
	KEYS("\x1b[A");		/* Up: second, the draft kept */
	KEYS("\x1b[A");		/* Up: first */
	KEYS("\x1b[A");		/* nothing older: stays */
	ENTER("first");
	/* History is first, second, first: Up, Up, Down is the last "first". */
	KEYS("\x1b[A\x1b[A\x1b[B");
	ENTER("first");
	KEYS("new\x1b[A\x1b[B");	/* Up then Down: the draft comes back */
	ENTER("new");
	/* An invite code (a room's secret) is sent but not kept; a room name is. */
	KEYS("/JOIN  veil:AAAA");
	ENTER("/JOIN  veil:AAAA");
	KEYS("\x1b[A");
	ENTER("new");
	KEYS("/join lounge");
	ENTER("/join lounge");
	KEYS("\x1b[A");
	ENTER("/join lounge");
}
END_TEST

START_TEST(test_ui_complete)
{
	static const char *const names[] = { "bob", "Bobby", "carol" };

	status(names, 3);
	/* A nick at the start of the line gets ": ", cycling on Tab. */
	KEYS("bo\t");
	KEYS("\r");
	LINE("bob: ");
	KEYS("bo\t\t");
	ENTER("Bobby: ");
	KEYS("bo\t\t\t");
	ENTER("bob: ");
	/* Inside the line: a space; the text after the cursor stays. */
	KEYS("hi car and\x1b[D\x1b[D\x1b[D\x1b[D\t");
	ENTER("hi carol  and");
	/* Commands at the start, case ignored. */
	KEYS("/VER\t");
	ENTER("/verify ");
	/* No match: a bell, nothing changed. */
	KEYS("zz\t");
	ck_assert(has("\a"));
	ENTER("zz");
}
END_TEST

START_TEST(test_ui_controls_never_enter)
{
	/* BEL, a CSI sequence, stray continuation and broken UTF-8, C1 (U+009B). */
	KEYS("a\x07" "b\x1b[31m" "c\x80" "d\xc3" "e\xe6\x97" "f\xc2\x9b" "g");
	ENTER("abcdefg");
}
END_TEST

START_TEST(test_ui_quit_keys)
{
	ck_assert_int_eq(KEYS("\x03"), UIK_QUIT);		/* Ctrl-C */
	ck_assert_int_eq(KEYS("\x04"), UIK_QUIT);		/* Ctrl-D, empty line */
	KEYS("ab\x1b[D");
	ck_assert_int_eq(KEYS("\x04"), UIK_NONE);		/* Ctrl-D deletes under the cursor */
	ENTER("a");
}
END_TEST

/* A paste of several lines waits for a second Enter; each line is a message, never a command. */
START_TEST(test_ui_paste_lines)
{
	const uint8_t *line;
	size_t len;

	ck_assert_int_eq(KEYS("\x1b[200~one\r\ntwo\n/quit\tx\x1b[2Jz\n\x1b[201~"), UIK_NONE);
	ck_assert_int_eq(ui_pending(u), 0);		/* nothing went yet */
	ck_assert_int_eq(KEYS("\r"), UIK_NONE);
	ck_assert(has("3 lines: Enter sends them as 3 messages"));
	ck_assert_int_eq(ui_pending(u), 0);
	ck_assert_int_eq(KEYS("\r"), UIK_LINE);
	LINE("one");
	LINE("two");
	/* "/quit" pasted is text: "//quit"; a tab is spaces, ESC and what it started dropped. */
	LINE("//quit    x[2Jz");
	ck_assert_int_eq(ui_line(u, &line, &len), 0);
	/* Any other key than Enter: back to editing, the text kept. */
	KEYS("\x1b[200~a\nb\x1b[201~\r");
	ck_assert_int_eq(KEYS("X"), UIK_NONE);
	ck_assert(has("not sent; still in the input line"));
	ck_assert_int_eq(KEYS("\r"), UIK_NONE);		/* asks again */
	ck_assert_int_eq(KEYS("\r"), UIK_LINE);
	LINE("a");
	LINE("bX");
}
END_TEST

/* A bracketed paste on one line is just text: Enter sends it at once. */
START_TEST(test_ui_paste_one_line)
{
	KEYS("say: \x1b[200~pasted text\n\x1b[201~");
	ENTER("say: pasted text");
	/* What looks like the paste's end but is not stays in it. */
	KEYS("\x1b[200~a\x1b[20b\x1b[201~");
	ENTER("a[20b");
}
END_TEST

/* Over a message: split at spaces on a second Enter, or kept; never lost. */
START_TEST(test_ui_long_line)
{
	static char big[9000];
	const uint8_t *line;
	size_t len, i, total = 0;

	for (i = 0; i + 5 < sizeof(big); i += 5)
		memcpy(big + i, "word ", 5);
	big[i] = '\0';
	keys(big, strlen(big));
	ck_assert_int_eq(KEYS("\r"), UIK_NONE);
	ck_assert(has("more than a message holds (4000): Enter sends it as 3 messages"));
	ck_assert_int_eq(KEYS("\r"), UIK_LINE);
	for (i = 0; ui_line(u, &line, &len); i++) {
		ck_assert_uint_le(len, MSG_MAX);
		/* Cut at a space, which goes: every piece starts with a whole word. */
		ck_assert_mem_eq(line, "word", 4);
		total += len;
	}
	ck_assert_uint_eq(i, 3);
	ck_assert_uint_eq(total + 2, strlen(big));
}
END_TEST

START_TEST(test_ui_input_bound)
{
	static char big[ED_MAX + 10];

	/* Filled by a paste (typing 64 KiB key by key takes a while). */
	memset(big, 'x', sizeof(big));
	KEYS("\x1b[200~");
	keys(big, ED_MAX);
	KEYS("\x1b[201~");
	ck_assert_int_eq(KEYS("y"), UIK_NONE);
	ck_assert(has("\a"));
	/* A paste that does not fit: what fits goes in, the rest is said. */
	KEYS("\x1b[200~more\x1b[201~");
	ck_assert(has("4 byte(s) of the paste did not fit"));
}
END_TEST

START_TEST(test_ui_message_keeps_input)
{
	const char *last;

	KEYS("half typed");
	event(EV_MSG, "bob", "incoming \x1b[2J text");
	/* Escaped before it reached the screen, then the input was redrawn. */
	ck_assert(has("<bob>"));
	ck_assert(has("incoming \\x1b[2J text"));
	ck_assert(!has("\x1b[2J"));
	last = memmem(screen, screenlen, "half typed", 10);
	ck_assert_ptr_nonnull(last);
	ck_assert(last > (const char *)memmem(screen, screenlen, "incoming", 8));
	ENTER("half typed");
}
END_TEST

START_TEST(test_ui_mention)
{
	event(EV_MSG, "bob", "nothing for you");
	ck_assert(!has("\a"));
	event(EV_MSG, "bob", "hey Alice, look");
	ck_assert(has("\a"));
	event(EV_MSG, "bob", "malice is no mention");
	ck_assert(!has("\a"));
}
END_TEST

START_TEST(test_ui_scrollback)
{
	char text[64];
	int i;

	for (i = 1; i <= 60; i++) {
		snprintf(text, sizeof(text), "message number %d", i);
		event(EV_MSG, "bob", text);
	}
	ck_assert(!has("message number 30"));
	KEYS("\x1b[5~");			/* PgUp */
	ck_assert(has("-- more: PgDn --"));
	ck_assert(has("message number 30"));
	ck_assert(!has("message number 60"));
	event(EV_MSG, "bob", "while scrolled up");	/* the view stays */
	ck_assert(has("-- more, 1 new: PgDn --"));
	ck_assert(!has("while scrolled up"));
	KEYS("\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~");	/* to the top, not past it */
	ck_assert(has("message number 1"));
	KEYS("\x1b[6~\x1b[6~\x1b[6~\x1b[6~\x1b[6~\x1b[6~\x1b[6~");
	ck_assert(has("while scrolled up"));
	ck_assert(!has("-- more"));
	/* /lastlog, as the core asks for it: the matching lines, copied below. */
	event(EV_LASTLOG, NULL, "NUMBER 4");
	ck_assert(has("lastlog \"NUMBER 4\": 11 line(s):"));
	ck_assert(has("message number 45"));
}
END_TEST

START_TEST(test_ui_status_and_resize)
{
	static const char *const names[] = { "bob" };
	struct winsize ws = { .ws_row = 10, .ws_col = 30 };

	status(names, 1);
	ck_assert(has("[1:lobby] | alice | bob(pinned) | relay connected"));
	/* A routine event goes to the status line. */
	event(EV_NOTE, NULL, "rekeyed with bob (epoch 1)");
	ck_assert(has("rekeyed with bob"));
	ck_assert_int_eq(ioctl(STDIN_FILENO, TIOCSWINSZ, &ws), 0);
	ui_resize(u);
	drain();
	/* Scroll region rows 1..8, status on row 9, input on row 10. */
	ck_assert(has("\x1b[1;8r"));
	ck_assert(has("\x1b[9;1H"));
	ck_assert(has("\x1b[10;1H"));
}
END_TEST

START_TEST(test_ui_colours)
{
	char c;

	event(EV_WARN, NULL, "a warning");
	ck_assert(has("\x1b[33m"));		/* yellow */
	ui_close(u);
	close(master);
	setenv("NO_COLOR", "1", 1);
	pty();
	open_ui();
	event(EV_WARN, NULL, "a warning");
	ck_assert_msg(has("!! "), "screen: %s", screen);
	ck_assert(has("a warning"));
	ck_assert(!has("\x1b[33m"));
	event(EV_MSG, "bob", "hello");
	for (c = '0'; c <= '9'; c++) {		/* no colour at all (setaf, setab) */
		char fg[] = { '\x1b', '[', '3', c, 'm', '\0' }, bg[] = { '\x1b', '[', '4', c, 'm', '\0' };

		ck_assert(!has(fg));
		ck_assert(!has(bg));
	}
}
END_TEST

START_TEST(test_ui_dumb_terminal)
{
	struct ui *v = NULL;
	char why[128];

	ui_close(u);
	setenv("TERM", "dumb", 1);
	ck_assert_int_ne(ui_open(&v, "alice", 1, why, sizeof(why)), 0);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(why, "cannot place the cursor"));
	unsetenv("TERM");
	ck_assert_int_ne(ui_open(&v, "alice", 1, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "TERM is not set");
}
END_TEST

START_TEST(test_ui_close_restores)
{
	struct termios t;
	const char *back, *kept;

	event(EV_MSG, "bob", "said before the end");
	ck_assert_int_eq(tcgetattr(STDIN_FILENO, &t), 0);
	ck_assert_uint_eq(t.c_lflag & ECHO, 0);		/* raw while open */
	ui_close(u);
	drain();
	back = memmem(screen, screenlen, "\x1b[?1049l", 8);	/* main screen back */
	ck_assert_ptr_nonnull(back);
	/* ... and then the conversation, so it does not vanish. */
	kept = memmem(screen, screenlen, "said before the end", 19);
	ck_assert_ptr_nonnull(kept);
	ck_assert(kept > back);
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
	tcase_add_test(tc, test_ui_kill_and_yank);
	tcase_add_test(tc, test_ui_history);
	tcase_add_test(tc, test_ui_complete);
	tcase_add_test(tc, test_ui_controls_never_enter);
	tcase_add_test(tc, test_ui_quit_keys);
	tcase_add_test(tc, test_ui_paste_lines);
	tcase_add_test(tc, test_ui_paste_one_line);
	tcase_add_test(tc, test_ui_long_line);
	tcase_add_test(tc, test_ui_input_bound);
	tcase_add_test(tc, test_ui_message_keeps_input);
	tcase_add_test(tc, test_ui_mention);
	tcase_add_test(tc, test_ui_scrollback);
	tcase_add_test(tc, test_ui_status_and_resize);
	tcase_add_test(tc, test_ui_colours);
	tcase_add_test(tc, test_ui_dumb_terminal);
	tcase_add_test(tc, test_ui_close_restores);
	suite_add_tcase(s, tc);
	return s;
}
