/* SPDX-License-Identifier: ISC */
/*
 * The parts under chatc's screen, without a terminal: wrapping (words kept
 * whole, an indent's worth of columns, wide characters, words longer than a
 * row), the scrollback ring, mentions, and the line editor's decoding: no
 * byte sequence, typed or pasted, puts a control character in the input.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "escape.h"
#include "screen.h"

/* The rows of text wrapped at first/cols, joined with '|'. */
static const char *
wrapped(const char *text, size_t first, size_t cols)
{
	static struct lay_row rows[LAY_MAX];
	static char out[1024];
	size_t n = lay_wrap(text, strlen(text), first, cols, rows, LAY_MAX), i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", i ? "|" : "",
		    (int)(rows[i].lr_to - rows[i].lr_from), text + rows[i].lr_from);
	return out;
}

START_TEST(test_wrap_words)
{
	/* chatc measures text as UTF-8 whatever LANG says (main.c). */
	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	ck_assert_str_eq(wrapped("hello world", 20, 20), "hello world");
	ck_assert_str_eq(wrapped("hello world", 5, 5), "hello|world");
	ck_assert_str_eq(wrapped("hi there you", 5, 5), "hi|there|you");
	/* A narrower first row (the prefix takes the rest), wider ones after. */
	ck_assert_str_eq(wrapped("one two three four", 4, 12), "one|two three|four");
	/* A word longer than a row is cut; spaces at a break are not drawn. */
	ck_assert_str_eq(wrapped("abcdefghij", 4, 4), "abcd|efgh|ij");
	ck_assert_str_eq(wrapped("a    b", 2, 2), "a|b");
	ck_assert_str_eq(wrapped("", 10, 10), "");
	/* Wide characters take two columns and are never split. */
	ck_assert_str_eq(wrapped("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, 4),
	    "\xe6\x97\xa5\xe6\x9c\xac|\xe8\xaa\x9e");
	ck_assert_str_eq(wrapped("\xe6\x97\xa5", 1, 1), "\xe6\x97\xa5");
}
END_TEST

START_TEST(test_wrap_bounded)
{
	static char text[3000];
	static struct lay_row rows[8];

	memset(text, 'x', sizeof(text) - 1);
	ck_assert_uint_eq(lay_wrap(text, strlen(text), 1, 1, rows, 8), 8);
	ck_assert_uint_eq(lay_wrap(text, strlen(text), 10, 0, rows, 8), 8);
	ck_assert_uint_eq(lay_wrap(text, strlen(text), 10, 10, rows, 0), 0);
}
END_TEST

START_TEST(test_sb_ring)
{
	struct sb *b = calloc(1, sizeof(*b));
	const struct sb_line *l;
	char text[32];
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < SB_MAX + 5; i++) {
		snprintf(text, sizeof(text), "line %zu", i);
		ck_assert_int_eq(sb_add(b, 0, 0, 0, i % 2 ? "bob" : NULL, text), 0);
	}
	ck_assert_uint_eq(b->sb_n, SB_MAX);
	ck_assert_uint_eq(b->sb_first, 5);
	ck_assert_ptr_null(sb_get(b, 4));
	l = sb_get(b, 5);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(SB_TEXT(l), "line 5");
	ck_assert_str_eq(SB_WHO(l), "bob");
	l = sb_get(b, sb_end(b) - 1);
	ck_assert_str_eq(SB_TEXT(l), "line 2004");
	ck_assert_str_eq(SB_WHO(sb_get(b, 6)), "");
	sb_clear(b);
	ck_assert_uint_eq(b->sb_n, 0);
	ck_assert_ptr_null(sb_get(b, sb_end(b) - 1));
	ck_assert_int_eq(sb_add(b, 0, 0, 0, NULL, "after"), 0);
	ck_assert_str_eq(SB_TEXT(sb_get(b, sb_end(b) - 1)), "after");
	sb_clear(b);
	free(b);
}
END_TEST

/*
 * Delivery marks (issue 13): the newest line of ours with a number is
 * found, every mark is SB_MARK_LEN wide, and a line that is not ours (or
 * was queued for nobody) has none.
 */
START_TEST(test_sb_marks)
{
	struct sb *b = calloc(1, sizeof(*b));
	struct sb_line *l;
	char mark[SB_MARK_LEN + 1];
	uint64_t at = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(sb_last(b));
	ck_assert_int_eq(sb_add(b, 0, 0, 0, "bob", "a peer's line"), 0);
	sb_mark(sb_last(b), mark);
	ck_assert_str_eq(mark, "");
	ck_assert_int_eq(sb_add(b, 0, 0, 0, NULL, "ours"), 0);
	l = sb_last(b);
	l->sl_n = 7;
	ck_assert_ptr_eq(sb_mine(b, 7, &at), l);
	ck_assert_uint_eq(at, 1);
	ck_assert_ptr_null(sb_mine(b, 8, &at));
	ck_assert_ptr_null(sb_mine(b, 0, &at));
	sb_mark(l, mark);
	ck_assert_str_eq(mark, "");		/* queued for nobody */
	l->sl_of = 3;
	sb_mark(l, mark);
	ck_assert_str_eq(mark, "[pending]");
	l->sl_k = 2;
	sb_mark(l, mark);
	ck_assert_str_eq(mark, "[  2/3  ]");
	l->sl_k = 3;
	sb_mark(l, mark);
	ck_assert_str_eq(mark, "[  all  ]");
	l->sl_k = 1;
	l->sl_failed = 1;
	sb_mark(l, mark);
	ck_assert_str_eq(mark, "[  1/3 !]");
	l->sl_k = 64;
	l->sl_of = 64;
	l->sl_failed = 0;
	sb_mark(l, mark);
	ck_assert_uint_eq(strlen(mark), SB_MARK_LEN);
	sb_clear(b);
	free(b);
}
END_TEST

START_TEST(test_mentions)
{
	ck_assert_int_eq(sb_mentions("hi alice", 8, "alice"), 1);
	ck_assert_int_eq(sb_mentions("ALICE: look", 11, "alice"), 1);
	ck_assert_int_eq(sb_mentions("@alice.", 7, "alice"), 1);
	ck_assert_int_eq(sb_mentions("malice", 6, "alice"), 0);
	ck_assert_int_eq(sb_mentions("alice_2 here", 12, "alice"), 0);
	ck_assert_int_eq(sb_mentions("alice-b", 7, "alice"), 0);
	ck_assert_int_eq(sb_mentions("ali", 3, "alice"), 0);
	ck_assert_int_eq(sb_mentions("", 0, "alice"), 0);
}
END_TEST

/* Feeds bytes; applies editing keys and inserts text and pastes, as the screen does. */
static void
feed(struct edit *e, const char *s, size_t n)
{
	struct key k;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ed_key(e, (uint8_t)s[i], &k))
			continue;
		if (k.k_kind == K_TEXT)
			(void)ed_insert(e, k.k_text, k.k_len);
		else if (k.k_kind == K_PASTE)
			(void)ed_paste_insert(e);
		else
			(void)ed_apply(e, &k);
	}
}

static int
clean(const struct edit *e)
{
	size_t i;

	if (!esc_utf8_valid(e->ed_buf, e->ed_len))
		return 0;
	for (i = 0; i < e->ed_len; i++)
		if ((e->ed_buf[i] < 0x20 && e->ed_buf[i] != '\n') || e->ed_buf[i] == 0x7f)
			return 0;
	/* No C1 control (U+0080..U+009F: C2 80..C2 9F). */
	for (i = 0; i + 1 < e->ed_len; i++)
		if (e->ed_buf[i] == 0xc2 && e->ed_buf[i + 1] < 0xa0)
			return 0;
	return 1;
}

START_TEST(test_edit_paste_cleaned)
{
	struct edit *e = calloc(1, sizeof(*e));
	static const char in[] = "\x1b[200~a\r\nb\rc\td\x1b]0;x\x07" "e\xc2\x9b" "f\xff" "g\n\x1b[201~";

	ck_assert_ptr_nonnull(e);
	ed_init(e);
	feed(e, in, sizeof(in) - 1);
	/* CR LF and CR are newlines, a tab four spaces, controls and broken bytes gone, no final newline. */
	ck_assert_uint_eq(e->ed_len, strlen("a\nb\nc    d]0;xefg"));
	ck_assert_mem_eq(e->ed_buf, "a\nb\nc    d]0;xefg", e->ed_len);
	ck_assert(clean(e));
	ed_free(e);
	free(e);
}
END_TEST

/* Random bytes, typed or inside a paste: the input never holds a control. */
START_TEST(test_edit_noise)
{
	struct edit *e = calloc(1, sizeof(*e));
	char buf[4096];
	unsigned int seed = 12345;
	size_t i, round;

	ck_assert_ptr_nonnull(e);
	for (round = 0; round < 200; round++) {
		ed_init(e);
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(seed >> 16);
		}
		if (round % 2)
			memcpy(buf, "\x1b[200~", 6);
		feed(e, buf, sizeof(buf));
		feed(e, "\x1b[201~", 6);
		ck_assert_msg(clean(e), "round %zu left a control in the input", round);
		ck_assert_uint_le(e->ed_cur, e->ed_len);
		ed_free(e);
	}
	free(e);
}
END_TEST

START_TEST(test_edit_words)
{
	struct edit *e = calloc(1, sizeof(*e));

	ck_assert_ptr_nonnull(e);
	ed_init(e);
	feed(e, "foo.bar baz", 11);
	feed(e, "\x1b" "b", 2);		/* Alt-B: to "baz" */
	ck_assert_uint_eq(e->ed_cur, 8);
	feed(e, "\x1b" "b", 2);		/* to "bar": punctuation ends a word */
	ck_assert_uint_eq(e->ed_cur, 4);
	feed(e, "\x1b" "f", 2);		/* Alt-F: past "bar" */
	ck_assert_uint_eq(e->ed_cur, 7);
	ck_assert_uint_eq(ed_word_start(e), 0);		/* Tab's word: from the last space */
	feed(e, "\x05", 1);
	ck_assert_uint_eq(ed_word_start(e), 8);
	ck_assert_int_eq(ed_replace(e, 8, (const uint8_t *)"quux", 4), 0);
	ck_assert_mem_eq(e->ed_buf, "foo.bar quux", 12);
	ed_free(e);
	free(e);
}
END_TEST

Suite *suite_chatc_screen(void);

Suite *
suite_chatc_screen(void)
{
	Suite *s = suite_create("chatc_screen");
	TCase *w = tcase_create("wrap");
	TCase *b = tcase_create("scrollback");
	TCase *e = tcase_create("edit");

	tcase_add_test(w, test_wrap_words);
	tcase_add_test(w, test_wrap_bounded);
	tcase_add_test(b, test_sb_ring);
	tcase_add_test(b, test_sb_marks);
	tcase_add_test(b, test_mentions);
	tcase_add_test(e, test_edit_paste_cleaned);
	tcase_add_test(e, test_edit_noise);
	tcase_add_test(e, test_edit_words);
	suite_add_tcase(s, w);
	suite_add_tcase(s, b);
	suite_add_tcase(s, e);
	return s;
}
