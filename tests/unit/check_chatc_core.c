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
 *
 * veil/2 (issue 12): trust shown only after proof, refusals said plainly
 * with both fingerprints and what to do (never --forget first), picked up
 * again after keyd --trust without a restart (REQ_STATUS), crossing
 * handshake starts settled by member id, a session keyd ended recovered by
 * a new handshake, a lost HS_FIN mended by the responder's timeout,
 * "rekeyed" only when keys changed, and no internal handle in any line.
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
	/* Finding 7: keyd's session handles are nobody's business. */
	for (size_t i = 0; i < S.s_n; i++)
		ck_assert_msg(S.s_m[i].sm_log == NULL || strstr(S.s_m[i].sm_log, "handle") == NULL,
		    "member %zu names a handle: %s", i, S.s_m[i].sm_log);
}

/* How many lines of member i's log contain needle. */
static unsigned int
lines_with(size_t i, const char *needle)
{
	const char *p = S.s_m[i].sm_log;
	unsigned int n = 0;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p = strchr(p, '\n');
	}
	return n;
}

/* Member i's peer entry for member j (by member id), or NULL. */
static struct peer *
peer_of(size_t i, size_t j)
{
	return peers_find(&S.s_m[i].sm_r.rm_peers, S.s_m[j].sm_mid);
}

/* Member i (not started) gets another identity: seed bytes from x. */
static void
new_identity(size_t i, uint8_t x)
{
	struct sim_member *m = &S.s_m[i];
	size_t k;

	ck_assert(!m->sm_on);
	for (k = 0; k < ED25519_SEED_LEN; k++)
		m->sm_id.id_seed[k] = (uint8_t)(x + 3 * k);
	ck_assert_int_eq(vc_ed25519_public(m->sm_id.id_seed, m->sm_id.id_pub), 0);
	keyd_ctx_free(&m->sm_kctx);
	ck_assert_int_eq(keyd_ctx_init(&m->sm_kctx, &m->sm_id, &m->sm_pins), 0);
	m->sm_kctx.kc_now = sim_keyd_now;
}

/* The fingerprint text of member i's identity. */
static void
fpr_of(size_t i, char out[static FPR_TEXT_LEN + 1])
{
	uint8_t f[FPR_LEN];

	ck_assert_int_eq(vc_fingerprint(S.s_m[i].sm_id.id_pub, f), 0);
	proto_fpr_format(f, out);
}

/* What keyd --trust NICK=FP does for a key never met: a verified fp: entry. */
static void
trust_at(size_t i, const char *nick, size_t j)
{
	struct keyd_pins *kp = &S.s_m[i].sm_pins;
	struct keyd_pin e;

	memset(&e, 0, sizeof(e));
	e.pn_byfpr = 1;
	ck_assert_int_eq(vc_fingerprint(S.s_m[j].sm_id.id_pub, e.pn_fpr), 0);
	e.pn_status = PIN_VERIFIED;
	e.pn_anyroom = 1;
	memcpy(e.pn_nick, nick, strlen(nick));
	e.pn_nicklen = strlen(nick);
	ck_assert_int_eq(keyd_pins_trylock(kp), 0);
	ck_assert_int_eq(keyd_pins_append(kp, &e), 0);
	keyd_pins_unlock(kp);
}

/* Time passes (REQ_STATUS polls, timeouts) and everyone runs. */
static void
later(int64_t ms)
{
	S.s_now += ms;
	ck_assert_int_eq(sim_pump(&S, 200), 0);
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
	ck_assert(sim_has(&S, A, "INFO lost the relay at sim:1; reconnecting (relay is "));
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
	ck_assert(sim_has(&S, A, "INFO lost the relay at sim:1; reconnecting (unknown protocol "
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

/*
 * A line sealed for bob whose frame never left (the relay dropped us):
 * it stays outstanding, goes again after the new handshake with the same
 * identity, and is shown once and DELIVERED (issue 13; it was "not sent"
 * before acknowledgements).
 */
START_TEST(test_core_unwritten_resent)
{
	uint8_t slow[1] = { FE_SLOW };

	pair();
	sim_say(&S, A, "queued but never written");
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	sim_keyd(&S, &S.s_m[A]);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_uint_gt(S.s_m[A].sm_r.rm_rl.rl_outlen, 0);
	sim_deliver(&S, &S.s_m[A], FT_ERROR, 0, 0, slow, 1);
	ck_assert_int_eq(client_step(&S.s_m[A].sm_c, S.s_now), 0);
	ck_assert_int_eq(S.s_m[A].sm_r.rm_link, LS_WAIT);
	ck_assert_uint_eq(dlv_outstanding(&S.s_m[A].sm_r.rm_dlv), 1);
	S.s_now += BACKOFF_MAX_MS;
	ck_assert_int_eq(sim_pump(&S, 400), 0);
	ck_assert_msg(sim_has(&S, B, "MSG alice queued but never written\n"), "%s",
	    S.s_m[B].sm_log);
	ck_assert_uint_eq(S.s_m[B].sm_n[EV_MSG], 1);
	/* Acknowledged within DLV_ACK_MS. */
	S.s_now += DLV_ACK_MS;
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert_msg(sim_has(&S, A, "DELIVERED bob 1\n"), "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 0);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_undelivered, 0);
	still_talking("after SLOW");
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
	/*
	 * Typed after bob left: queued for bob (he may come back, PROTOCOL.md
	 * 2.8), and given up at the end: each reported, in order.
	 */
	sim_leave(&S, B);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	sim_say(&S, A, "late one");
	sim_say(&S, A, "late two");
	tx_held_notsent(&S.s_m[A].sm_r, "test end");
	tx_give_up(&S.s_m[A].sm_r, "test-end");
	ck_assert_msg(strstr(S.s_m[A].sm_log, "UNDELIVERED bob 67 test-end\n"
	    "UNDELIVERED bob 68 test-end\n") != NULL, "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_notsent, 2);
	ck_assert_uint_eq(S.s_m[A].sm_c.cl_undelivered, 2);
}
END_TEST

/* /rekey, /verify and /who through the core. */
START_TEST(test_core_commands)
{
	pair();
	sim_say(&S, A, "/rekey");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	/* A PING: its PONG completes a round trip of the ratchet; only alice asked. */
	ck_assert(sim_has(&S, A, "INFO rekeyed with bob\n"));
	ck_assert_uint_eq(lines_with(B, "rekey"), 0);
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

/*
 * Finding 2 and 6: bob comes back with another key. alice refuses it
 * plainly, naming both fingerprints and keyd --trust (never --forget), and
 * sends it nothing; keyd --trust at alice is picked up without a restart
 * (REQ_STATUS): a new handshake, SECURE verified, and they talk. First
 * contacts that keyd then pins are no news (no second SECURE line).
 */
START_TEST(test_core_refused_then_trusted)
{
	char old[FPR_TEXT_LEN + 1], fresh[FPR_TEXT_LEN + 1], want[256];

	pair();
	fpr_of(B, old);
	later(STATUS_POLL_MS);
	later(STATUS_POLL_MS);
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_SECURE], 1);	/* new, then pinned: no news */
	sim_leave(&S, B);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	new_identity(B, 0x77);
	fpr_of(B, fresh);
	ck_assert_int_eq(sim_start(&S, B, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	snprintf(want, sizeof(want), "WARN refused bob: the key that answers as bob "
	    "(fingerprint %s) is not the one you know as bob (fingerprint %s)", fresh, old);
	ck_assert_msg(sim_has(&S, A, want), "%s", S.s_m[A].sm_log);
	snprintf(want, sizeof(want), "keyd --trust bob=%s\n", fresh);
	ck_assert_ptr_nonnull(strstr(S.s_m[A].sm_log, want));
	ck_assert_ptr_null(strstr(S.s_m[A].sm_log, "forget"));
	ck_assert_int_eq(peer_of(A, B)->pe_state, PS_REFUSED);
	/* bob's side saw a complete handshake (the wire shows no refusal): his second. */
	ck_assert_uint_eq(lines_with(B, "SECURE alice "), 2);
	sim_say(&S, B, "to a refusing alice");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(!sim_has(&S, A, "MSG bob to a refusing alice"));
	/* Polls while nothing changes: the refusal is not said again. */
	later(STATUS_POLL_MS);
	ck_assert_uint_eq(lines_with(A, "WARN refused bob"), 1);

	trust_at(A, "bob", B);
	later(STATUS_POLL_MS);
	ck_assert_msg(sim_has(&S, A, "INFO keyd's known_peers changed: checking bob again"),
	    "%s", S.s_m[A].sm_log);
	snprintf(want, sizeof(want), "SECURE bob %s verified\n", fresh);
	ck_assert_msg(sim_has(&S, A, want), "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(lines_with(B, "SECURE alice "), 3);	/* replaced in place */
	still_talking("after keyd --trust");
}
END_TEST

/*
 * keyd --trust of a peer already secure, while chatc runs: the next
 * REQ_STATUS sees known_peers change, VERIFY says the trust now, and a new
 * SECURE line shows it (the session stays: no new handshake).
 */
START_TEST(test_core_trust_refreshed)
{
	char fb[FPR_TEXT_LEN + 1], want[128];

	pair();
	fpr_of(B, fb);
	later(STATUS_POLL_MS);
	trust_at(A, "bob", B);
	later(STATUS_POLL_MS);
	snprintf(want, sizeof(want), "SECURE bob %s verified\n", fb);
	ck_assert_msg(sim_has(&S, A, want), "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(lines_with(A, "SECURE bob "), 2);
	ck_assert_uint_eq(lines_with(B, "SECURE alice "), 1);
	ck_assert_int_eq(peer_of(A, B)->pe_trust, TRUST_VERIFIED);
	later(STATUS_POLL_MS);
	ck_assert_uint_eq(lines_with(A, "SECURE bob "), 2);	/* said once */
	still_talking("after the trust changed");
}
END_TEST

/*
 * Finding 6: carol uses alice's nickname with her own key: refused plainly
 * at alice and not pinned; alice's second window (her own key, another
 * nick) is her own: verified, said as such.
 */
START_TEST(test_core_own_name_and_self)
{
	char cf[FPR_TEXT_LEN + 1], af[FPR_TEXT_LEN + 1], want[256];

	ck_assert_int_eq(sim_start(&S, A, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	snprintf(S.s_m[C].sm_nick, sizeof(S.s_m[C].sm_nick), "alice");
	ck_assert_int_eq(sim_start(&S, C, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	fpr_of(C, cf);
	fpr_of(A, af);
	snprintf(want, sizeof(want), "WARN refused alice: another key (fingerprint %s) uses "
	    "your own nickname (yours is %s)", cf, af);
	ck_assert_msg(sim_has(&S, A, want), "%s", S.s_m[A].sm_log);
	ck_assert_uint_eq(S.s_m[A].sm_n[EV_SECURE], 0);
	sim_leave(&S, C);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(!sim_has(&S, A, "LEFT alice"));	/* never shown secure: no LEFT */
	/* carol again with alice's key as "alice2": another chatc of alice's. */
	snprintf(S.s_m[C].sm_nick, sizeof(S.s_m[C].sm_nick), "alice2");
	memcpy(S.s_m[C].sm_id.id_seed, S.s_m[A].sm_id.id_seed, ED25519_SEED_LEN);
	new_identity(C, 0);
	memcpy(S.s_m[C].sm_id.id_seed, S.s_m[A].sm_id.id_seed, ED25519_SEED_LEN);
	ck_assert_int_eq(vc_ed25519_public(S.s_m[C].sm_id.id_seed, S.s_m[C].sm_id.id_pub), 0);
	keyd_ctx_free(&S.s_m[C].sm_kctx);
	ck_assert_int_eq(keyd_ctx_init(&S.s_m[C].sm_kctx, &S.s_m[C].sm_id, &S.s_m[C].sm_pins),
	    0);
	S.s_m[C].sm_kctx.kc_now = sim_keyd_now;
	ck_assert_int_eq(sim_start(&S, C, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	snprintf(want, sizeof(want), "SECURE alice2 %s verified\n", af);
	ck_assert_msg(sim_has(&S, A, want), "%s", S.s_m[A].sm_log);
	ck_assert(sim_has(&S, A, "INFO alice2 is your own key (another chatc of yours)"));
}
END_TEST

/* Both start a handshake at once (/rekey after a failure): the lower member id stays initiator. */
START_TEST(test_core_crossing_starts)
{
	struct peer *pa, *pb;

	pair();
	pa = peer_of(A, B);
	pb = peer_of(B, A);
	sess_close(&S.s_m[A].sm_r, pa, 0);
	pa->pe_state = PS_DEAD;
	sess_close(&S.s_m[B].sm_r, pb, 0);
	pb->pe_state = PS_DEAD;
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	sim_say(&S, A, "/rekey");
	sim_say(&S, B, "/rekey");
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert_msg(lines_with(A, "SECURE bob ") == 2, "%s", S.s_m[A].sm_log);
	ck_assert_msg(lines_with(B, "SECURE alice ") == 2, "%s", S.s_m[B].sm_log);
	ck_assert_ptr_null(strstr(S.s_m[A].sm_log, "failed"));
	ck_assert_ptr_null(strstr(S.s_m[B].sm_log, "failed"));
	ck_assert_ptr_null(strstr(S.s_m[B].sm_log, "unexpected"));
	/* alice has the lower id: hers is the handshake that survived. */
	ck_assert_int_lt(S.s_m[A].sm_mid, S.s_m[B].sm_mid);
	ck_assert_int_eq(peer_of(A, B)->pe_initiator, 1);
	ck_assert_int_eq(peer_of(B, A)->pe_initiator, 0);
	ck_assert_uint_eq(keyd_conn_nsessions(S.s_m[A].sm_kconn), 1);
	ck_assert_uint_eq(keyd_conn_nsessions(S.s_m[B].sm_kconn), 1);
	still_talking("after crossing starts");
}
END_TEST

/*
 * A session keyd ends on an error (16 bad tags: someone on the path
 * tampers) is said once, without a handle, and a new handshake mends it
 * (bob still holds his end: the new one replaces it).
 */
START_TEST(test_core_ended_session_restarts)
{
	static uint8_t blob[FRAME_MAX_LIMIT];
	size_t n;
	int i;

	pair();
	sim_say(&S, B, "original");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	n = S.s_m[B].sm_lastlen;
	memcpy(blob, S.s_m[B].sm_last, n);
	/* Later counters (not replays), each with a bad tag. */
	for (i = 0; i < VS_MAX_AUTH_FAIL; i++) {
		blob[9] = (uint8_t)(S.s_m[B].sm_last[9] + 1 + i);
		sim_deliver(&S, &S.s_m[A], FT_DATA, S.s_m[B].sm_mid, S.s_m[A].sm_mid, blob, n);
	}
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert_msg(sim_has(&S, A, "WARN the session with bob ended ("), "%s",
	    S.s_m[A].sm_log);
	ck_assert(strstr(S.s_m[A].sm_log, "); starting a new handshake\n") != NULL);
	ck_assert_uint_eq(lines_with(A, "SECURE bob "), 2);
	ck_assert_uint_eq(lines_with(B, "SECURE alice "), 2);
	still_talking("after the session ended");
}
END_TEST

/*
 * HS_FIN lost: bob (initiator) is secure, alice never is. bob's text is
 * answered by nothing; alice's handshake times out and she starts a new
 * one, which bob's chatc takes as a replacement: both talk again.
 */
START_TEST(test_core_lost_hs_fin)
{
	ck_assert_int_eq(sim_start(&S, A, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	S.s_drop_type = E2E_HS_FIN;
	ck_assert_int_eq(sim_start(&S, B, "lobby"), 0);
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert_uint_eq(S.s_drop_type, 0);	/* it was lost */
	ck_assert(sim_has(&S, B, "SECURE alice "));
	ck_assert(!sim_has(&S, A, "SECURE bob "));
	sim_say(&S, B, "into the void");
	ck_assert_int_eq(sim_pump(&S, 100), 0);
	ck_assert(sim_has(&S, A, "WARN rejected message from member 2: no secure session"));
	later(HS_TIMEOUT_MS);
	ck_assert_msg(sim_has(&S, A, "WARN handshake with member 2 timed out; starting a "
	    "new handshake"), "%s", S.s_m[A].sm_log);
	ck_assert(sim_has(&S, A, "SECURE bob "));
	ck_assert_uint_eq(lines_with(B, "SECURE alice "), 2);
	still_talking("after a lost HS_FIN");
}
END_TEST

/* Both /rekey at once: each side says "rekeyed" once, when its PONG came back. */
START_TEST(test_core_rekey_collision_said_once)
{
	pair();
	sim_say(&S, A, "/rekey");
	sim_say(&S, B, "/rekey");
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	still_talking("after colliding rekeys");
	ck_assert_msg(lines_with(A, "rekeyed with bob") == 1, "%s", S.s_m[A].sm_log);
	ck_assert_msg(lines_with(B, "rekeyed with alice") == 1, "%s", S.s_m[B].sm_log);
	sim_say(&S, A, "/rekey");
	ck_assert_int_eq(sim_pump(&S, 200), 0);
	ck_assert_uint_eq(lines_with(A, "rekeyed with bob"), 2);
	ck_assert_uint_eq(lines_with(B, "rekeyed with alice"), 1);
	still_talking("after the second rekey");
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
	tcase_add_test(t, test_core_unwritten_resent);
	tcase_add_test(t, test_core_hold);
	tcase_add_test(t, test_core_commands);
	tcase_add_test(t, test_core_three);
	tcase_add_test(t, test_core_refused_then_trusted);
	tcase_add_test(t, test_core_own_name_and_self);
	tcase_add_test(t, test_core_trust_refreshed);
	tcase_add_test(t, test_core_crossing_starts);
	tcase_add_test(t, test_core_ended_session_restarts);
	tcase_add_test(t, test_core_lost_hs_fin);
	tcase_add_test(t, test_core_rekey_collision_said_once);
	tcase_add_test(h, test_core_oversize_hs_init);
	tcase_add_test(h, test_core_every_blob_shape);
	tcase_add_test(h, test_core_tampered_from_peer);
	tcase_add_test(h, test_core_relay_oddities);
	tcase_add_test(h, test_core_relay_garbage);
	suite_add_tcase(s, t);
	suite_add_tcase(s, h);
	return s;
}
