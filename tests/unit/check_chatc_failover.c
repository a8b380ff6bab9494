/* SPDX-License-Identifier: ISC */
/*
 * chatc's relay list (PROTOCOL.md 5.7): --relay a,b,c parsed strictly, and
 * link.c's failover along it. Every failure moves on to the next relay at
 * once until the whole list failed in a row, then the backoff; a room we
 * were in is joined again through the next relay no sooner than
 * FAILOVER_MS after its loss; a relay that did not resolve is skipped; one
 * relay behaves as before lists (backoff, same relay). Numeric addresses
 * only: nothing here asks DNS or opens a socket.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "client.h"
#include "err.h"
#include "invite.h"

static char evlog[4096];

static void
record(void *arg, const struct ev *e)
{
	size_t n = strlen(evlog);

	(void)arg;
	if ((e->ev_kind == EV_WARN || e->ev_kind == EV_NOTE) && n < sizeof(evlog) - 1)
		snprintf(evlog + n, sizeof(evlog) - n, "%s\n", e->ev_line);
}

static struct chatc_opts O;
static struct client C;
static struct room R;
static struct relay_ep E[CHATC_RELAYS_MAX];

static int
parse(const char *list, size_t *n)
{
	char err[256];

	return chatc_relays_parse(list, E, n, err, sizeof(err));
}

/* A room with no relay yet, at time 0. */
static void
room_new(void)
{
	uint8_t fpr[FPR_LEN] = { 0 };
	struct fe fe = { record, NULL };
	struct chatc_room cr;

	evlog[0] = '\0';
	memset(&O, 0, sizeof(O));
	memset(&cr, 0, sizeof(cr));
	cr.cr_derived = 1;
	snprintf(cr.cr_label, sizeof(cr.cr_label), "lounge");
	client_init(&C, &O, NULL, &fe, 1, fpr, 42);
	ck_assert_int_eq(rm_init(&R, &C, &cr, "unused", 0), 0);
}

/* A room on list, resolved, at time 0. */
static void
room_on(const char *list)
{
	char err[256];
	size_t n;

	room_new();
	ck_assert_int_eq(parse(list, &n), 0);
	ck_assert_int_eq(link_relays(&R, E, n, err, sizeof(err)), 0);
}

/* The room joins where it is now, at now, as member 7. */
static void
joined(int64_t now)
{
	ck_assert(link_wants_connect(&R, now));
	link_connecting(&R, now);
	rl_attach(&R.rm_rl, -1);	/* in memory: JOIN stays queued */
	link_connected(&R, now);
	ck_assert_int_eq(R.rm_link, LS_JOINING);
	link_joined(&R, 7, now);
}

/* The link we were in breaks at now (a kill -9 of the relay, or ERROR UNAVAILABLE). */
static void
broken(int64_t now)
{
	link_ended(&R, LT_LOST, "relay cut off from its cluster", now);
	ck_assert(link_drained(&R));
	link_lost(&R, now);
	ck_assert_int_eq(R.rm_link, LS_WAIT);
}

START_TEST(test_relays_parse)
{
	size_t n;

	ck_assert_int_eq(parse("a.example:7700", &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(E[0].re_addr, "a.example:7700");
	ck_assert_str_eq(E[0].re_host, "a.example");
	ck_assert_str_eq(E[0].re_port, "7700");
	ck_assert_ptr_null(E[0].re_ai);
	ck_assert_int_eq(parse("a:1,[::1]:2,10.0.0.3:65535", &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(E[1].re_host, "::1");
	ck_assert_str_eq(E[1].re_port, "2");
	ck_assert_str_eq(E[2].re_addr, "10.0.0.3:65535");
	ck_assert_int_eq(parse("a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8", &n), 0);
	ck_assert_uint_eq(n, CHATC_RELAYS_MAX);
}
END_TEST

START_TEST(test_relays_parse_bad)
{
	static const char *const bad[] = {
		"", ",", "a:1,", ",a:1", "a:1,,b:2", "a:1, b:2", "a:1,b", "a:1,b:0",
		"a:1,b:65536", "a:1,[::1]2", "a:1,b:2\t", "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9",
		"a:1;b:2", "a\x7f:1",
	};
	char err[256];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(chatc_relays_parse(bad[i], E, &n, err, sizeof(err)) ==
		    VEIL_E_INVALID, "\"%s\" accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "\"%s\": no reason", bad[i]);
	}
	/* Over-long: one address longer than any host name. */
	{
		char big[600];

		memset(big, 'h', sizeof(big));
		memcpy(big + sizeof(big) - 6, ":7700", 6);
		ck_assert_int_eq(parse(big, &n), VEIL_E_INVALID);
	}
}
END_TEST

START_TEST(test_opts_relay_list)
{
	char *argv[] = { "chatc", "--room", "r", "--nick", "a", "--relay",
	    "127.0.0.1:1,[::1]:2", NULL };
	char err[256];

	ck_assert_int_eq(chatc_opts_parse(7, argv, &O, err, sizeof(err)), 0);
	ck_assert_uint_eq(O.co_nrelays, 2);
	ck_assert_str_eq(O.co_relay, "127.0.0.1:1");
	ck_assert_str_eq(O.co_host, "127.0.0.1");
	ck_assert_str_eq(O.co_port, "1");
	ck_assert_str_eq(O.co_relays[1].re_host, "::1");
	argv[6] = "127.0.0.1:1,nope";
	ck_assert_int_eq(chatc_opts_parse(7, argv, &O, err, sizeof(err)), VEIL_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "nope"));
}
END_TEST

START_TEST(test_failover_connect_failures)
{
	int64_t now = 1000;

	room_on("127.0.0.1:1,127.0.0.2:2,127.0.0.3:3");
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	ck_assert_str_eq(R.rm_host, "127.0.0.1");
	ck_assert_ptr_eq(R.rm_rl.rl_ai, R.rm_eps[0].re_ai);
	/* The whole list at once... */
	link_connecting(&R, now);
	link_connect_failed(&R, ECONNREFUSED, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.2:2");
	ck_assert_ptr_eq(R.rm_rl.rl_ai, R.rm_eps[1].re_ai);
	ck_assert_int_eq(R.rm_next_try, now);
	link_connecting(&R, now);
	link_connect_failed(&R, ECONNREFUSED, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.3:3");
	ck_assert_int_eq(R.rm_next_try, now);
	/* ...then a backoff, from the first again. */
	link_connecting(&R, now);
	link_connect_failed(&R, ETIMEDOUT, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	ck_assert_int_ge(R.rm_next_try, now + BACKOFF_FIRST_MS / 2);
	ck_assert_int_le(R.rm_next_try, now + BACKOFF_FIRST_MS);
	ck_assert(!link_wants_connect(&R, now));
	/* Said once, not per relay. */
	ck_assert_ptr_nonnull(strstr(evlog, "cannot reach the relay at 127.0.0.1:1"));
	ck_assert_ptr_null(strstr(evlog, "127.0.0.2:2"));
	now = R.rm_next_try;
	link_connecting(&R, now);
	link_connect_failed(&R, ECONNREFUSED, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.2:2");
	ck_assert_int_eq(R.rm_next_try, now);
	/* Joined through the second: the next loss starts a new round from there. */
	joined(now);
	ck_assert_uint_eq(R.rm_round, 0);
	ck_assert_uint_eq(R.rm_tries, 0);
	rm_free(&R);
	ck_assert_ptr_null(R.rm_rl.rl_ai);
	ck_assert_uint_eq(R.rm_neps, 0);
}
END_TEST

START_TEST(test_failover_after_loss)
{
	int64_t now = 5000;

	room_on("127.0.0.1:1,127.0.0.2:2,127.0.0.3:3");
	joined(now);
	now += 60000;
	broken(now);
	/* The next relay, not before the cluster counted our old id out. */
	ck_assert_str_eq(R.rm_relay, "127.0.0.2:2");
	ck_assert_int_eq(R.rm_next_try, now + FAILOVER_MS);
	ck_assert(!link_wants_connect(&R, now + FAILOVER_MS - 1));
	ck_assert_uint_eq(R.rm_me, 0);
	ck_assert_ptr_nonnull(strstr(evlog, "lost the relay at 127.0.0.1:1 (relay cut off "
	    "from its cluster); joining through 127.0.0.2:2 in 2.5 s"));
	/* That one is gone too: the third at once (already 2.5 s after the loss). */
	now += FAILOVER_MS;
	link_connecting(&R, now);
	link_connect_failed(&R, ECONNREFUSED, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.3:3");
	ck_assert_int_eq(R.rm_next_try, now);
	joined(now);
	ck_assert_ptr_nonnull(strstr(evlog, "in the room at 127.0.0.3:3 again"));
	/* Lost before WELCOME (a JOIN refused by a cut-off relay): the next at once. */
	now += 1000;
	broken(now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	now += FAILOVER_MS;
	link_connecting(&R, now);
	rl_attach(&R.rm_rl, -1);
	link_connected(&R, now);
	link_ended(&R, LT_LOST, "relay cut off from its cluster", now);
	link_lost(&R, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.2:2");
	ck_assert_int_eq(R.rm_next_try, now);
	rm_free(&R);
}
END_TEST

START_TEST(test_failover_skips_unresolved)
{
	int64_t now = 0;

	room_on("127.0.0.1:1,127.0.0.2:2,127.0.0.3:3");
	/* As link_relays leaves one whose name did not resolve. */
	ck_assert_int_eq(R.rm_eps[1].re_own, 1);
	freeaddrinfo(R.rm_eps[1].re_ai);
	R.rm_eps[1].re_ai = NULL;
	R.rm_eps[1].re_own = 0;
	joined(now);
	broken(now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.3:3");
	rm_free(&R);
}
END_TEST

START_TEST(test_single_relay_unchanged)
{
	int64_t now = 0;

	room_on("127.0.0.1:1");
	joined(now);
	broken(now);
	/* One relay: the same one, after the usual backoff, not FAILOVER_MS. */
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	ck_assert_int_le(R.rm_next_try, now + BACKOFF_FIRST_MS);
	ck_assert_ptr_nonnull(strstr(evlog, "lost the relay at 127.0.0.1:1; reconnecting"));
	link_connecting(&R, R.rm_next_try);
	link_connect_failed(&R, ECONNREFUSED, R.rm_next_try);
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	rm_free(&R);
}
END_TEST

START_TEST(test_failover_pins)
{
	int64_t now = 0;

	room_on("127.0.0.1:1,127.0.0.2:2");
	/* As an invite code pins: the first relay's key, not the second's. */
	E[0].re_has_pin = 1;
	memset(E[0].re_pin, 0xa1, sizeof(E[0].re_pin));
	E[0].re_pin_from = "the invite code";
	link_relays_free(&R);
	{
		char err[256];

		ck_assert_int_eq(link_relays(&R, E, 2, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(R.rm_has_pin, 1);
	ck_assert_uint_eq(R.rm_pin[0], 0xa1);
	ck_assert_str_eq(R.rm_pin_from, "the invite code");
	joined(now);
	broken(now);
	/* Each relay with its own pin, or none (then a CA or known_relays). */
	ck_assert_str_eq(R.rm_relay, "127.0.0.2:2");
	ck_assert_int_eq(R.rm_has_pin, 0);
	ck_assert_ptr_null(R.rm_pin_from);
	now += FAILOVER_MS;
	link_connecting(&R, now);
	link_connect_failed(&R, ECONNREFUSED, now);
	ck_assert_str_eq(R.rm_relay, "127.0.0.1:1");
	ck_assert_int_eq(R.rm_has_pin, 1);
	ck_assert_uint_eq(R.rm_pin[31], 0xa1);
	rm_free(&R);
}
END_TEST

/*
 * Addresses borrowed from the client's cache (rooms.c): link_relays looks
 * nothing up for them, and neither it nor rm_free frees them.
 */
START_TEST(test_borrowed_addresses)
{
	struct addrinfo hints, *a1, *a2;
	size_t n;
	int64_t now = 0;

	room_new();
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	ck_assert_int_eq(getaddrinfo("127.0.0.5", "5", &hints, &a1), 0);
	ck_assert_int_eq(getaddrinfo("127.0.0.6", "6", &hints, &a2), 0);
	/* Names that would not resolve: only the borrowed addresses can be used. */
	ck_assert_int_eq(parse("nowhere.invalid:5,nowhere.invalid:6", &n), 0);
	E[0].re_ai = a1;
	E[1].re_ai = a2;
	{
		char err[256];

		ck_assert_int_eq(link_relays(&R, E, n, err, sizeof(err)), 0);
	}
	ck_assert_ptr_eq(R.rm_rl.rl_ai, a1);
	ck_assert_int_eq(R.rm_eps[0].re_own, 0);
	joined(now);
	broken(now);
	ck_assert_ptr_eq(R.rm_rl.rl_ai, a2);
	rm_free(&R);
	ck_assert_ptr_null(R.rm_rl.rl_ai);
	/* Still the cache's: valid, freed by their owner (valgrind/ASan would see a double free). */
	ck_assert_int_eq(a1->ai_socktype, SOCK_STREAM);
	freeaddrinfo(a1);
	freeaddrinfo(a2);
}
END_TEST

/* An invite code for relays a (and b, if not NULL), no keys, its secret filled with fill. */
static void
code_for(char *code, size_t cap, int fill, const char *a, const char *b)
{
	static struct invite iv;

	memset(&iv, 0, sizeof(iv));
	memset(iv.iv_secret, fill, sizeof(iv.iv_secret));
	iv.iv_nrelays = b != NULL ? 2 : 1;
	snprintf(iv.iv_relays[0].ir_addr, sizeof(iv.iv_relays[0].ir_addr), "%s", a);
	if (b != NULL)
		snprintf(iv.iv_relays[1].ir_addr, sizeof(iv.iv_relays[1].ir_addr), "%s", b);
	ck_assert_int_eq(proto_invite_encode(&iv, code, cap), 0);
}

/*
 * client_join: each room gets its code's relays, their addresses borrowed
 * from the client's cache (one lookup per relay, before the sandbox); at
 * run time only relays already looked up are used, the others said and
 * left out, and a room with none is refused with the reason.
 */
START_TEST(test_client_join_relays)
{
	static char code[INVITE_TEXT_MAX];
	char *argv[] = { "chatc", "--room", "x", "--nick", "a", "--plaintext", NULL };
	uint8_t fpr[FPR_LEN] = { 0 };
	struct fe fe = { record, NULL };
	struct room *r;
	char err[512];
	size_t i;

	evlog[0] = '\0';
	ck_assert_int_eq(chatc_opts_parse(6, argv, &O, err, sizeof(err)), 0);
	client_init(&C, &O, NULL, &fe, 1, fpr, 42);
	C.cl_may_resolve = 1;
	code_for(code, sizeof(code), 1, "127.0.0.1:5", "127.0.0.1:6");
	ck_assert_int_eq(client_join(&C, code, strlen(code), 1, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(C.cl_nrelays, 2);
	r = C.cl_rooms[0];
	ck_assert_uint_eq(r->rm_neps, 2);
	ck_assert_ptr_eq(r->rm_rl.rl_ai, C.cl_relays[0].cy_ai);
	ck_assert_ptr_eq(r->rm_eps[1].re_ai, C.cl_relays[1].cy_ai);
	ck_assert_int_eq(r->rm_eps[0].re_own, 0);
	/* After start-up (the sandbox): 6 is known, 7 is not. */
	C.cl_may_resolve = 0;
	code_for(code, sizeof(code), 2, "127.0.0.1:7", "127.0.0.1:6");
	ck_assert_int_eq(client_join(&C, code, strlen(code), 1, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(C.cl_nrelays, 2);
	r = C.cl_rooms[1];
	ck_assert_uint_eq(r->rm_neps, 1);
	ck_assert_str_eq(r->rm_relay, "127.0.0.1:6");
	ck_assert_ptr_eq(r->rm_rl.rl_ai, C.cl_relays[1].cy_ai);
	ck_assert_ptr_nonnull(strstr(evlog, "cannot reach relay 127.0.0.1:7 from here"));
	code_for(code, sizeof(code), 3, "127.0.0.1:8", NULL);
	ck_assert_int_eq(client_join(&C, code, strlen(code), 1, 0, err, sizeof(err)),
	    VEIL_E_SYSTEM);
	ck_assert_msg(strstr(err, "cannot reach relay 127.0.0.1:8 from here") != NULL, "%s", err);
	ck_assert_uint_eq(C.cl_nrooms, 2);
	/* Rooms gone first (their addresses were borrowed), then the cache. */
	for (i = 0; i < C.cl_nrooms; i++) {
		rm_free(C.cl_rooms[i]);
		free(C.cl_rooms[i]);
	}
	C.cl_nrooms = 0;
	client_free_relays(&C);
	ck_assert_uint_eq(C.cl_nrelays, 0);
}
END_TEST

/* --join CODE: every relay of the code, each with its key; --relay overrides them all. */
START_TEST(test_join_code_relays)
{
	static struct invite iv;
	static char code[INVITE_TEXT_MAX];
	static struct chatc_room cr;
	char *argv[] = { "chatc", "--join", code, "--nick", "a", NULL, NULL, NULL };
	char err[256];

	memset(&iv, 0, sizeof(iv));
	memset(iv.iv_secret, 7, sizeof(iv.iv_secret));
	iv.iv_nrelays = 3;
	snprintf(iv.iv_relays[0].ir_addr, sizeof(iv.iv_relays[0].ir_addr), "relay1.example:7700");
	snprintf(iv.iv_relays[1].ir_addr, sizeof(iv.iv_relays[1].ir_addr), "[2001:db8::2]:7701");
	snprintf(iv.iv_relays[2].ir_addr, sizeof(iv.iv_relays[2].ir_addr), "10.0.0.3:7702");
	iv.iv_relays[0].ir_has_fp = iv.iv_relays[2].ir_has_fp = 1;
	memset(iv.iv_relays[0].ir_fp, 0x11, RELAY_FP_LEN);
	memset(iv.iv_relays[2].ir_fp, 0x33, RELAY_FP_LEN);
	ck_assert_int_eq(proto_invite_encode(&iv, code, sizeof(code)), 0);
	ck_assert_int_eq(chatc_opts_parse(5, argv, &O, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&O, &cr, err, sizeof(err)), 0);
	/* The room's list: --relay's (the default) is left alone. */
	ck_assert_uint_eq(O.co_nrelays, 1);
	ck_assert_uint_eq(cr.cr_neps, 3);
	ck_assert_str_eq(O.co_relay, "relay1.example:7700");
	ck_assert_str_eq(cr.cr_eps[0].re_addr, "relay1.example:7700");
	ck_assert_str_eq(cr.cr_eps[1].re_host, "2001:db8::2");
	ck_assert_str_eq(cr.cr_eps[1].re_port, "7701");
	ck_assert_str_eq(cr.cr_eps[2].re_addr, "10.0.0.3:7702");
	ck_assert_int_eq(cr.cr_eps[0].re_has_pin, 1);
	ck_assert_int_eq(cr.cr_eps[1].re_has_pin, 0);
	ck_assert_int_eq(cr.cr_eps[2].re_has_pin, 1);
	ck_assert_uint_eq(cr.cr_eps[2].re_pin[0], 0x33);
	ck_assert_str_eq(cr.cr_eps[2].re_pin_from, "the invite code");
	ck_assert_ptr_null(cr.cr_eps[0].re_ai);
	ck_assert_int_eq(cr.cr_has_pin, 1);
	ck_assert_uint_eq(cr.cr_pin[0], 0x11);
	/* rm_init copies the list into the room: its own, nothing shared. */
	{
		uint8_t fpr[FPR_LEN] = { 0 };
		struct fe fe = { record, NULL };

		memset(&O, 0, sizeof(O));
		client_init(&C, &O, NULL, &fe, 1, fpr, 42);
		ck_assert_int_eq(rm_init(&R, &C, &cr, cr.cr_relay, 0), 0);
		ck_assert_str_eq(R.rm_epbuf[2].re_addr, "10.0.0.3:7702");
		ck_assert_ptr_ne(R.rm_epbuf[2].re_addr, cr.cr_eps[2].re_addr);
		ck_assert_str_eq(R.rm_relay, "relay1.example:7700");
		ck_assert_int_eq(R.rm_has_pin, 1);
		rm_free(&R);
	}
	/* --relay names others: the code's relays and keys are not used. */
	argv[5] = "--relay";
	argv[6] = "127.0.0.1:1,127.0.0.1:2";
	ck_assert_int_eq(chatc_opts_parse(7, argv, &O, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&O, &cr, err, sizeof(err)), 0);
	ck_assert_uint_eq(cr.cr_neps, 2);
	ck_assert_str_eq(cr.cr_eps[1].re_addr, "127.0.0.1:2");
	ck_assert_int_eq(cr.cr_eps[0].re_has_pin, 0);
	ck_assert_int_eq(cr.cr_has_pin, 0);
	/* --relay-fp with them: it pins every relay of the list (one cluster key). */
	argv[5] = "--relay-fp";
	argv[6] = "SHA256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
	ck_assert_int_eq(chatc_opts_parse(7, argv, &O, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&O, &cr, err, sizeof(err)), 0);
	ck_assert_uint_eq(cr.cr_neps, 3);
	ck_assert_int_eq(cr.cr_eps[1].re_has_pin, 1);
	ck_assert_uint_eq(cr.cr_eps[1].re_pin[1], 1);
	ck_assert_str_eq(cr.cr_eps[1].re_pin_from, "--relay-fp");
	ck_assert_str_eq(cr.cr_eps[0].re_pin_from, "--relay-fp");
	argv[5] = "--relay";
	argv[6] = "127.0.0.1:1,127.0.0.1:2";
	/* A relay of the code that is not HOST:PORT: refused, named. */
	snprintf(iv.iv_relays[1].ir_addr, sizeof(iv.iv_relays[1].ir_addr), "no-port");
	ck_assert_int_eq(proto_invite_encode(&iv, code, sizeof(code)), 0);
	ck_assert_int_eq(chatc_opts_parse(5, argv, &O, err, sizeof(err)), 0);
	ck_assert_int_eq(chatc_room_setup(&O, &cr, err, sizeof(err)), VEIL_E_INVALID);
	ck_assert_msg(strstr(err, "no-port") != NULL, "%s", err);
}
END_TEST

Suite *suite_chatc_failover(void);

Suite *
suite_chatc_failover(void)
{
	Suite *s = suite_create("chatc_failover");
	TCase *p = tcase_create("parse");
	TCase *f = tcase_create("failover");

	tcase_add_test(p, test_relays_parse);
	tcase_add_test(p, test_relays_parse_bad);
	tcase_add_test(p, test_opts_relay_list);
	tcase_add_test(f, test_failover_connect_failures);
	tcase_add_test(f, test_failover_after_loss);
	tcase_add_test(f, test_failover_skips_unresolved);
	tcase_add_test(f, test_single_relay_unchanged);
	tcase_add_test(f, test_failover_pins);
	tcase_add_test(f, test_borrowed_addresses);
	tcase_add_test(f, test_client_join_relays);
	tcase_add_test(p, test_join_code_relays);
	suite_add_tcase(s, p);
	suite_add_tcase(s, f);
	return s;
}
