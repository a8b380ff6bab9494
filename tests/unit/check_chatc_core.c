/* SPDX-License-Identifier: ISC */
/*
 * chatc's core with everything in memory (tests/fuzz/chatc_sim.h): real
 * keyds served in-process, a simulated relay. Two honest members reach
 * SECURE and talk; a hostile member (no core behind it) sends every kind of
 * blob a peer can (oversize, truncated, each type with wrong lengths,
 * unknown types and versions, well-formed garbage) and the relay every
 * oddity it can (errors, odd WELCOME / JOINED / LEFT, frames from members
 * never announced): no keyd request is ever malformed (keyd would close the
 * connection: chatc's end), the honest pair keeps talking, and the hostile
 * member at worst ends its own session with a WARN naming it. Events come
 * out in frame order (a member's last message before its LEFT), answers
 * about members that left are dropped (and their sessions closed in keyd),
 * and every line that does not leave is reported "not sent".
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../fuzz/chatc_sim.h"

static struct sim S;
static char dir[64];
static const char *const nicks[] = { "alice", "bob", "carol" };

enum { A, B, C };

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/veil-core-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(sim_init(&S, 3, nicks, dir), 0);
	rmdir(dir);
	sim_reset(&S);
}

static void
teardown(void)
{
	sim_free(&S);
}

/* alice then bob in the room, both SECURE. */
static void
pair(void)
{
	ck_assert_int_eq(sim_start(&S, A, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_JOINED);
	ck_assert_int_eq(sim_start(&S, B, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_msg(sim_has(&S, A, "SECURE bob "), "alice: %s", S.s_m[A].sm_log);
	ck_assert_msg(sim_has(&S, B, "SECURE alice "), "bob: %s", S.s_m[B].sm_log);
}

/* alice and bob still talk both ways (tag makes each check's lines unique). */
static void
still_talking(const char *tag)
{
	char line[128], want[160];

	snprintf(line, sizeof(line), "alice says %s", tag);
	sim_say(&S, A, line);
	snprintf(line, sizeof(line), "bob says %s", tag);
	sim_say(&S, B, line);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	snprintf(want, sizeof(want), "MSG alice alice says %s\n", tag);
	ck_assert_msg(sim_has(&S, B, want), "bob lost alice after %s: %s\n--- alice: %s", tag,
	    S.s_m[B].sm_log, S.s_m[A].sm_log);
	snprintf(want, sizeof(want), "MSG bob bob says %s\n", tag);
	ck_assert_msg(sim_has(&S, A, want), "alice lost bob after %s: %s", tag,
	    S.s_m[A].sm_log);
}

START_TEST(test_core_pair_talks)
{
	pair();
	still_talking("hello");
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_MSG], 1);
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_WARN], 0);
	ck_assert_uint_eq(S.s_m[B].sm_n[EV_WARN], 0);
	/* Pipelined: many lines at once, every one delivered in order. */
	for (int i = 0; i < 300; i++) {
		char l[32];

		snprintf(l, sizeof(l), "burst %03d", i);
		sim_say(&S, A, l);
		/* Back-pressure as the loop applies it: input waits while keyd is busy. */
		while (keydc_busy(&S.s_m[A].sm_k))
			ck_assert_int_eq(sim_pump(&S, 1), 0);
	}
	ck_assert_int_eq(sim_pump(&S, 1000), 0);
	ck_assert(sim_has(&S, B, "MSG alice burst 000\n"));
	ck_assert(sim_has(&S, B, "MSG alice burst 299\n"));
	ck_assert_ptr_nonnull(strstr(S.s_m[B].sm_log, "burst 298\nMSG alice burst 299\n"));
	ck_assert_uint_eq(S.s_m[B].sm_n[EV_MSG], 301);
}
END_TEST

/* Item 1 of issue 11: one DATA of 4,123+ bytes starting 01 01 ended every chatc. */
START_TEST(test_core_oversize_hs_init)
{
	static uint8_t big[FRAME_MAX_DEFAULT];
	uint16_t x;

	pair();
	x = sim_join_ghost(&S);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	memset(big, 0x04, sizeof(big));
	big[0] = 1;
	big[1] = 1;
	sim_to_room(&S, FT_DATA, x, x, big, E2E_MAX + 1);
	sim_to_room(&S, FT_DATA, x, x, big, sizeof(big));
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_msg(sim_has(&S, A, "WARN rejected message from member 3: "),
	    "%s", S.s_m[A].sm_log);
	ck_assert(sim_has(&S, B, "WARN rejected message from member 3: "));
	still_talking("after the oversize HS_INIT");
}
END_TEST

/* Every e2e type (and unknown ones) at every length that matters, from a member never secure. */
START_TEST(test_core_every_blob_shape)
{
	static uint8_t blob[FRAME_MAX_DEFAULT];
	static const size_t lens[] = {
		1, 2, 3, 10, 66, 67, 68, 2 + 50, 2 + 81, 2 + 82, 2 + 114, 2 + 145, 2 + 146,
		2 + 79, 2 + 80, 2 + 81, 10 + 64 + 16, 10 + 96 + 16, 10 + 4096 + 16, E2E_MAX,
		E2E_MAX + 1, 8192, sizeof(blob),
	};
	static const uint8_t types[] = { 0, 1, 2, 3, 4, 5, 15, 16, 17, 0xff };
	uint16_t x;
	size_t i, j;

	pair();
	x = sim_join_ghost(&S);
	for (i = 0; i < sizeof(types); i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			memset(blob, (int)(i * 31 + j), sizeof(blob));
			blob[0] = E2E_VERSION;
			if (lens[j] > 1)
				blob[1] = types[i];
			if (lens[j] > 2)
				blob[2] = 0x04;		/* passes the SEC1 prefix check */
			sim_to_room(&S, FT_DATA, x, x, blob, lens[j]);
			ck_assert_int_eq(sim_pump(&S, 100), 0);
		}
		/* A wrong version, too. */
		blob[0] = 2;
		sim_to_room(&S, FT_DATA, x, x, blob, 67);
		ck_assert_int_eq(sim_pump(&S, 100), 0);
	}
	still_talking("after every shape");
	/* The ghost's session (if it ever got one) is the only casualty. */
	ck_assert(sim_has(&S, A, "WARN ignoring member 3 from now on"));
}
END_TEST

/* Blobs of a secure peer's own session, bit-flipped and replayed by the relay. */
START_TEST(test_core_tampered_from_peer)
{
	static uint8_t blob[FRAME_MAX_LIMIT];
	size_t n, i;

	pair();
	sim_say(&S, B, "original");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	n = S.s_m[B].sm_lastlen;
	memcpy(blob, S.s_m[B].sm_last, n);
	for (i = 0; i < n; i += 7) {
		blob[i] ^= 0x20;
		sim_deliver(&S, &S.s_m[A], FT_DATA, S.s_m[B].sm_mid, S.s_m[A].sm_mid, blob, n);
		blob[i] ^= 0x20;
		ck_assert_int_eq(sim_pump(&S, 100), 0);
	}
	/* Replayed as is. */
	sim_deliver(&S, &S.s_m[A], FT_DATA, S.s_m[B].sm_mid, S.s_m[A].sm_mid, blob, n);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_MSG], 1);
	ck_assert(sim_has(&S, A, "WARN rejected message from bob: "));
	still_talking("after tampering");
}
END_TEST

/* The relay's oddities: none ends chatc; a malformed frame or ERROR means reconnecting. */
START_TEST(test_core_relay_oddities)
{
	uint8_t welcome[6] = { 0, 2, 0, 1, 0, 2 }, err[1];
	uint8_t hs[67];
	uint16_t x;
	int code;

	pair();
	/* A JOINED for our own id, a LEFT for nobody, a second WELCOME, a PONG. */
	sim_deliver(&S, &S.s_m[A], FT_JOINED, S.s_m[A].sm_mid, 0, NULL, 0);
	sim_deliver(&S, &S.s_m[A], FT_LEFT, 999, 0, NULL, 0);
	sim_deliver(&S, &S.s_m[A], FT_WELCOME, 0, S.s_m[A].sm_mid == 1 ? 7 : 1, welcome, 6);
	sim_deliver(&S, &S.s_m[A], FT_PONG, 0, 0, NULL, 0);
	/* DATA from a member never announced: a handshake start is answered, the rest ignored. */
	memset(hs, 0x04, sizeof(hs));
	hs[0] = 1;
	hs[1] = 16;
	sim_deliver(&S, &S.s_m[A], FT_DATA, 500, S.s_m[A].sm_mid, hs, sizeof(hs));
	hs[1] = 1;
	sim_deliver(&S, &S.s_m[A], FT_DATA, 501, S.s_m[A].sm_mid, hs, sizeof(hs));
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	still_talking("after odd frames");
	/* A JOINED for an id already in the room: the old member left, a new one came. */
	x = sim_join_ghost(&S);
	sim_deliver(&S, &S.s_m[A], FT_JOINED, x, 0, NULL, 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	still_talking("after a repeated JOINED");
	/* Every ERROR code: alice reconnects, runs a fresh handshake, and talks again. */
	for (code = FE_MALFORMED; code <= FE_SHUTDOWN; code++) {
		char tag[32];

		err[0] = (uint8_t)code;
		sim_deliver(&S, &S.s_m[A], FT_ERROR, 0, 0, err, 1);
		ck_assert_int_eq(sim_pump(&S, 100), 0);
		ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_WAIT);
		S.s_now += BACKOFF_MAX_MS;
		ck_assert_int_eq(sim_pump(&S, 200), 0);
		ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_JOINED);
		snprintf(tag, sizeof(tag), "after ERROR %d", code);
		still_talking(tag);
	}
	ck_assert_msg(sim_has(&S, A, "WARN relay sim:1 refused us: room is full; retrying"),
	    "%s", S.s_m[A].sm_log);
	ck_assert(sim_has(&S, A, "WARN lost the relay at sim:1; reconnecting (relay is "));
}
END_TEST

/* Bytes that are not a frame: the connection is dropped and made again. */
START_TEST(test_core_relay_garbage)
{
	static const uint8_t junk[] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };

	pair();
	sim_deliver_raw(&S, A, junk, sizeof(junk));
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_WAIT);
	ck_assert(sim_has(&S, A, "WARN lost the relay at sim:1; reconnecting (unknown protocol "
	    "version)"));
	S.s_now += BACKOFF_MAX_MS;
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	still_talking("after garbage from the relay");
}
END_TEST

/* bob's last message and his LEFT in one read: the message shows first. */
START_TEST(test_core_left_after_last_message)
{
	const char *m, *l;

	pair();
	sim_say(&S, B, "last words");
	/* bob's keyd seals, the relay takes the frame; then bob goes, before alice runs. */
	ck_assert_int_eq(client_step(&S.s_m[B].sm_c, S.s_now), 0);
	sim_keyd(&S, &S.s_m[B]);
	ck_assert_int_eq(client_step(&S.s_m[B].sm_c, S.s_now), 0);
	(void)sim_relay(&S, &S.s_m[B]);
	sim_leave(&S, B);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	m = strstr(S.s_m[A].sm_log, "MSG bob last words\n");
	l = strstr(S.s_m[A].sm_log, "LEFT bob\n");
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(l);
	ck_assert(m < l);
}
END_TEST

/* bob leaves while alice's HS_START for him is still asked: the new keyd session is closed. */
START_TEST(test_core_stale_answer_closed)
{
	ck_assert_int_eq(sim_start(&S, B, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_int_eq(sim_start(&S, A, "lobby"), 0);
	/* alice joins (WELCOME lists bob): HS_START asked, not answered yet. */
	ck_assert(sim_connect(&S, A));
	(void)sim_relay(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_nbarrier, 1);
	/* The relay drops alice (keepalives) before keyd answers. */
	link_ended(&S.s_m[A].sm_r, LT_LOST, "test", S.s_now);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_DRAINING);	/* waits for the answer */
	sim_keyd(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_WAIT);
	sim_keyd(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	sim_keyd(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_uint_eq(keydc_pending(&S.s_m[A].sm_k), 0);
	ck_assert_uint_eq(keyd_conn_nsessions(S.s_m[A].sm_kconn), 0);
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_npending, 0);
}
END_TEST

/* A line sealed for bob whose frame never left: "not sent to bob", and counted. */
START_TEST(test_core_unwritten_reported)
{
	uint8_t slow[1] = { FE_SLOW };

	pair();
	sim_say(&S, A, "queued but never written");
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	sim_keyd(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_uint_gt(S.s_m[A].sm_r.rm_rl.rl_outlen, 0);
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_wqlen, 1);
	sim_deliver(&S, &S.s_m[A], FT_ERROR, 0, 0, slow, 1);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_WAIT);
	ck_assert_msg(sim_has(&S, A, "WARN not sent to bob (relay connection lost): queued but "
	    "never written\n"), "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 1);
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_wqlen, 0);
	/* Written lines are forgotten, not reported. */
	S.s_now += BACKOFF_MAX_MS;
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	still_talking("after SLOW");
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_wqlen, 0);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 1);
}
END_TEST

/* Lines typed alone are held, in order, and go once bob is secure; the hold bound says "not sent". */
START_TEST(test_core_hold)
{
	char l[32];
	int i;

	ck_assert_int_eq(sim_start(&S, A, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	for (i = 0; i < HOLD_MAX + 2; i++) {
		snprintf(l, sizeof(l), "held %02d", i);
		sim_say(&S, A, l);
	}
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_hold.hq_count, HOLD_MAX);
	ck_assert(sim_has(&S, A, "WARN not sent (no secure session yet): held 64\n"));
	ck_assert(sim_has(&S, A, "WARN not sent (no secure session yet): held 65\n"));
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 2);
	ck_assert_int_eq(sim_start(&S, B, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 1000), 0);
	ck_assert_uint_eq(S.s_m[A].sm_r.rm_hold.hq_count, 0);
	ck_assert_ptr_nonnull(strstr(S.s_m[B].sm_log, "MSG alice held 00\nMSG alice held 01\n"));
	ck_assert(sim_has(&S, B, "MSG alice held 63\n"));
	ck_assert_uint_eq(S.s_m[B].sm_n[EV_MSG], HOLD_MAX);
	/* Held at the end: each reported, in order. */
	sim_leave(&S, B);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	sim_say(&S, A, "late one");
	sim_say(&S, A, "late two");
	tx_held_notsent(&S.s_m[A].sm_r, "test end");
	ck_assert_ptr_nonnull(strstr(S.s_m[A].sm_log, "WARN not sent (test end): late one\n"
	    "WARN not sent (test end): late two\n"));
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 4);
}
END_TEST

/* /rekey, /verify and /who through the core. */
START_TEST(test_core_commands)
{
	pair();
	sim_say(&S, A, "/rekey");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(sim_has(&S, A, "WARN rekeyed with bob (epoch 1)"));
	ck_assert(sim_has(&S, B, "WARN rekeyed with alice (epoch 1)"));
	sim_say(&S, A, "/verify bob");
	sim_say(&S, A, "/who");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(sim_has(&S, A, "INFO safety number with bob: "));
	ck_assert(sim_has(&S, A, "INFO room lobby; you are alice "));
	still_talking("after the commands");
}
END_TEST

/* Three members, one leaves and comes back under a new id. */
START_TEST(test_core_three)
{
	pair();
	ck_assert_int_eq(sim_start(&S, C, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert(sim_has(&S, A, "SECURE carol "));
	ck_assert(sim_has(&S, C, "SECURE alice "));
	ck_assert(sim_has(&S, C, "SECURE bob "));
	sim_leave(&S, C);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(sim_has(&S, A, "LEFT carol"));
	ck_assert_int_eq(sim_start(&S, C, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_SECURE], 2 + 0 + 1);
	sim_say(&S, C, "carol is back");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(sim_has(&S, A, "MSG carol carol is back"));
	ck_assert(sim_has(&S, B, "MSG carol carol is back"));
}
END_TEST

Suite *suite_chatc_core(void);

Suite *
suite_chatc_core(void)
{
	Suite *s = suite_create("chatc_core");
	TCase *t = tcase_create("core");
	TCase *h = tcase_create("hostile");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_set_timeout(h, 20);
	tcase_add_test(t, test_core_pair_talks);
	tcase_add_test(t, test_core_left_after_last_message);
	tcase_add_test(t, test_core_stale_answer_closed);
	tcase_add_test(t, test_core_unwritten_reported);
	tcase_add_test(t, test_core_hold);
	tcase_add_test(t, test_core_commands);
	tcase_add_test(t, test_core_three);
	tcase_add_test(h, test_core_oversize_hs_init);
	tcase_add_test(h, test_core_every_blob_shape);
	tcase_add_test(h, test_core_tampered_from_peer);
	tcase_add_test(h, test_core_relay_oddities);
	tcase_add_test(h, test_core_relay_garbage);
	suite_add_tcase(s, t);
	suite_add_tcase(s, h);
	return s;
}
