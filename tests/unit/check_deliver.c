/* SPDX-License-Identifier: ISC */
/*
 * chatc/deliver.c: acknowledgements, resends, flow control, silence and the
 * room view, with up to four members joined by a fake network (a FIFO per
 * pair, as the relay keeps order) that can drop what a test says, and a
 * fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "deliver.h"
#include "err.h"
#include "unit.h"

/* PROTOCOL.md 2.8's worked example, computed independently (Python hashlib). */
#define ROOM_CODE_EXAMPLE	"86612 41079"
#define ROOM_CODE_EXAMPLE2	"03177 44420"
#define FPR_ZERO_ID		"6bb64848ee1c2dec06a3fcfafaa10c1227dd5584"

#define NODES	4
#define QMAX	65536
#define LOGMAX	8192

struct node {
	struct dlv	 n_d;
	int		 n_i;
	uint8_t		 n_id[DLV_ID_LEN];
	char		 n_nick[8];
	int		 n_link[NODES];	/* a session with node j is up */
	/* What it showed, in order: "from:text". */
	char		*n_shown[LOGMAX];
	size_t		 n_nshown;
	/* Our lines acknowledged / given up: per peer node, the line numbers. */
	uint32_t	 n_deliv[NODES][LOGMAX];
	size_t		 n_ndeliv[NODES];
	uint32_t	 n_undeliv[NODES][LOGMAX];
	char		 n_reason[NODES][32];
	size_t		 n_nundeliv[NODES];
	unsigned int	 n_warns;
	unsigned int	 n_infos;
	char		 n_last[EV_LINE_MAX];
	char		 n_lastwarn[EV_LINE_MAX];
	unsigned int	 n_sent[16];	/* by kind */
};

struct nmsg {
	int		 m_from, m_to;
	uint8_t		 m_kind;
	size_t		 m_len;
	uint8_t		 m_body[INNER_TEXT_HDR_LEN + MSG_MAX];
};

static struct node g_n[NODES];
static struct nmsg *g_q;
static size_t g_qh, g_qn;
static int g_drop[NODES][NODES];	/* drop everything from i to j */
static int g_drop_text_once[NODES][NODES];	/* drop the next TEXT from i to j */
static int g_hold;			/* keep messages queued (a stalled link) */
static int64_t g_now;

static int
node_of_id(const uint8_t *id)
{
	int i;

	for (i = 0; i < NODES; i++)
		if (memcmp(g_n[i].n_id, id, DLV_ID_LEN) == 0)
			return i;
	return -1;
}

static int
op_send(void *arg, const struct dlv_peer *p, uint8_t kind, const uint8_t *body, size_t len)
{
	struct node *n = arg;
	int to = node_of_id(p->dp_id);
	struct nmsg *m;

	ck_assert_int_ge(to, 0);
	ck_assert(n->n_link[to]);
	ck_assert_uint_le(len, sizeof(m->m_body));
	n->n_sent[kind]++;
	if (g_drop[n->n_i][to])
		return 0;
	if (kind == IK_TEXT && g_drop_text_once[n->n_i][to]) {
		g_drop_text_once[n->n_i][to] = 0;
		return 0;
	}
	ck_assert_uint_lt(g_qn, QMAX);
	m = &g_q[(g_qh + g_qn++) % QMAX];
	m->m_from = n->n_i;
	m->m_to = to;
	m->m_kind = kind;
	m->m_len = len;
	memcpy(m->m_body, body, len);
	return 0;
}

static void
op_show(void *arg, const struct dlv_peer *p, const uint8_t *text, size_t len, uint8_t flags)
{
	struct node *n = arg;
	char buf[MSG_MAX + 16];

	(void)flags;
	ck_assert_uint_lt(n->n_nshown, LOGMAX);
	snprintf(buf, sizeof(buf), "%d:%.*s", node_of_id(p->dp_id), (int)len, (const char *)text);
	n->n_shown[n->n_nshown++] = strdup(buf);
}

static void
op_delivered(void *arg, const struct dlv_peer *p, const struct dlv_text *t)
{
	struct node *n = arg;
	int j = node_of_id(p->dp_id);

	ck_assert_uint_lt(n->n_ndeliv[j], LOGMAX);
	n->n_deliv[j][n->n_ndeliv[j]++] = t->dt_line;
}

static void
op_undelivered(void *arg, const struct dlv_peer *p, const struct dlv_text *t,
    const char *reason)
{
	struct node *n = arg;
	int j = node_of_id(p->dp_id);

	ck_assert_uint_lt(n->n_nundeliv[j], LOGMAX);
	n->n_undeliv[j][n->n_nundeliv[j]++] = t->dt_line;
	snprintf(n->n_reason[j], sizeof(n->n_reason[j]), "%s", reason);
}

static void
op_say(void *arg, int warn, const char *text)
{
	struct node *n = arg;

	if (warn) {
		n->n_warns++;
		snprintf(n->n_lastwarn, sizeof(n->n_lastwarn), "%s", text);
	} else
		n->n_infos++;
	snprintf(n->n_last, sizeof(n->n_last), "%s", text);
}

static void
op_fpr(void *arg, const uint8_t id[static DLV_ID_LEN], char *out)
{
	(void)arg;
	snprintf(out, FPR_TEXT_LEN + 1, "fp-%s", unit_tohex(id, 4));
}

static const struct dlv_ops ops = {
	op_send, op_show, op_delivered, op_undelivered, op_say, op_fpr,
};

static const uint8_t room[ROOM_ID_LEN] = { 0x52 };

static void
net_setup(void)
{
	int i;

	memset(g_n, 0, sizeof(g_n));
	memset(g_drop, 0, sizeof(g_drop));
	memset(g_drop_text_once, 0, sizeof(g_drop_text_once));
	g_hold = 0;
	if (g_q == NULL)
		g_q = calloc(QMAX, sizeof(*g_q));
	ck_assert_ptr_nonnull(g_q);
	g_qh = g_qn = 0;
	g_now = 1000000;
	for (i = 0; i < NODES; i++) {
		struct node *n = &g_n[i];

		n->n_i = i;
		memset(n->n_id, 0x10 * (i + 1), DLV_ID_LEN);
		snprintf(n->n_nick, sizeof(n->n_nick), "n%d", i);
		ck_assert_int_eq(dlv_init(&n->n_d, &ops, n, room, n->n_id,
		    0x1111111111111111ULL * (uint64_t)(i + 1)), 0);
	}
}

static void
net_teardown(void)
{
	size_t i, j;

	for (i = 0; i < NODES; i++) {
		dlv_free(&g_n[i].n_d);
		for (j = 0; j < g_n[i].n_nshown; j++)
			free(g_n[i].n_shown[j]);
	}
	g_qh = g_qn = 0;
}

/* A session between i and j comes up on both sides. */
static void
link_up(int i, int j)
{
	g_n[i].n_link[j] = g_n[j].n_link[i] = 1;
	ck_assert_ptr_nonnull(dlv_up(&g_n[i].n_d, g_n[j].n_id, (const uint8_t *)g_n[j].n_nick,
	    strlen(g_n[j].n_nick), g_n[j].n_nick, 0, g_now));
	ck_assert_ptr_nonnull(dlv_up(&g_n[j].n_d, g_n[i].n_id, (const uint8_t *)g_n[i].n_nick,
	    strlen(g_n[i].n_nick), g_n[i].n_nick, 1, g_now));
}

/* The session goes away on both sides; what is on the wire between them is lost. */
static void
link_down(int i, int j)
{
	size_t k, keep = 0;

	g_n[i].n_link[j] = g_n[j].n_link[i] = 0;
	dlv_down(&g_n[i].n_d, g_n[j].n_id, g_now);
	dlv_down(&g_n[j].n_d, g_n[i].n_id, g_now);
	for (k = 0; k < g_qn; k++) {
		struct nmsg *m = &g_q[(g_qh + k) % QMAX];

		if ((m->m_from == i && m->m_to == j) || (m->m_from == j && m->m_to == i))
			continue;
		if (keep != k)
			g_q[(g_qh + keep) % QMAX] = *m;
		keep++;
	}
	g_qn = keep;
}

/* Delivers what is queued, in order, until nothing is left (or g_hold). */
static void
net_run(void)
{
	while (g_qn > 0 && !g_hold) {
		struct nmsg m = g_q[g_qh];

		g_qh = (g_qh + 1) % QMAX;
		g_qn--;
		if (!g_n[m.m_to].n_link[m.m_from])
			continue;
		ck_assert_int_eq(dlv_open(&g_n[m.m_to].n_d, g_n[m.m_from].n_id, m.m_kind,
		    m.m_body, m.m_len, 0, g_now), 0);
	}
}

/* Time passes in steps of ms, every node ticking and the network running. */
static void
net_wait(int64_t total, int64_t step)
{
	int64_t end = g_now + total;
	int i;

	net_run();
	while (g_now < end) {
		g_now += step;
		for (i = 0; i < NODES; i++)
			dlv_tick(&g_n[i].n_d, g_now);
		net_run();
	}
}

static void
say(int i, uint32_t line)
{
	char text[32];

	snprintf(text, sizeof(text), "line %u", (unsigned int)line);
	ck_assert_int_ge(dlv_line(&g_n[i].n_d, (const uint8_t *)text, strlen(text), line,
	    NULL, g_now), 0);
}

/* Node i showed exactly the lines 1..n of node from, in order, once each. */
static void
check_shown(int i, int from, uint32_t n)
{
	char want[64];
	size_t k, got = 0;

	for (k = 0; k < g_n[i].n_nshown; k++) {
		if (atoi(g_n[i].n_shown[k]) != from)
			continue;
		got++;
		snprintf(want, sizeof(want), "%d:line %zu", from, got);
		ck_assert_str_eq(g_n[i].n_shown[k], want);
	}
	ck_assert_uint_eq(got, n);
}

/* Node i's lines 1..n were each acknowledged once by node j, in order. */
static void
check_delivered(int i, int j, uint32_t n)
{
	size_t k;

	ck_assert_uint_eq(g_n[i].n_ndeliv[j], n);
	for (k = 0; k < n; k++)
		ck_assert_uint_eq(g_n[i].n_deliv[j][k], k + 1);
}

START_TEST(test_deliver_basic)
{
	struct dlv_peer *p;
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= 3; l++)
		say(0, l);
	net_run();
	check_shown(1, 0, 3);
	/* Acknowledged within DLV_ACK_MS, not at once. */
	ck_assert_uint_eq(g_n[0].n_ndeliv[1], 0);
	p = dlv_find(&g_n[0].n_d, g_n[1].n_id);
	ck_assert_uint_eq(dlv_peer_outstanding(p), 3);
	ck_assert_uint_eq(dlv_peer_inflight(p), 3);
	ck_assert_int_le(dlv_next_timer(&g_n[1].n_d), g_now + DLV_ACK_MS);
	net_wait(DLV_ACK_MS, DLV_ACK_MS);
	check_delivered(0, 1, 3);
	ck_assert_uint_eq(dlv_peer_outstanding(p), 0);
	ck_assert_uint_eq(dlv_outstanding(&g_n[0].n_d), 0);
	ck_assert_uint_eq(g_n[1].n_sent[IK_ACK], 1);
	/* Nothing was said and nothing was given up. */
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns, 0);
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_ack_now)
{
	net_setup();
	link_up(0, 1);
	say(0, 1);
	net_run();
	ck_assert_uint_eq(g_n[1].n_sent[IK_ACK], 0);
	/* The receiver has nothing more to read: it acknowledges before the timer. */
	dlv_ack_now(&g_n[1].n_d);
	ck_assert_uint_eq(g_n[1].n_sent[IK_ACK], 1);
	net_run();
	check_delivered(0, 1, 1);
	dlv_ack_now(&g_n[1].n_d);
	ck_assert_uint_eq(g_n[1].n_sent[IK_ACK], 1);	/* nothing new: nothing sent */
	net_teardown();
}
END_TEST

START_TEST(test_deliver_ack_every)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= DLV_ACK_EVERY; l++)
		say(0, l);
	net_run();
	/* The 32nd text is acknowledged with the others at once, no timer. */
	check_delivered(0, 1, DLV_ACK_EVERY);
	ck_assert_uint_eq(g_n[1].n_sent[IK_ACK], 1);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_window)
{
	struct dlv_peer *p;
	uint32_t l;

	net_setup();
	link_up(0, 1);
	g_hold = 1;	/* B reads nothing: a slow receiver */
	for (l = 1; l <= 300; l++)
		say(0, l);
	p = dlv_find(&g_n[0].n_d, g_n[1].n_id);
	/* Flow control: only the window is in flight, the rest waits at the sender. */
	ck_assert_uint_eq(g_n[0].n_sent[IK_TEXT], DLV_WINDOW);
	ck_assert_uint_eq(dlv_peer_inflight(p), DLV_WINDOW);
	ck_assert_uint_eq(dlv_peer_outstanding(p), 300);
	g_hold = 0;
	net_wait(3000, 50);
	check_shown(1, 0, 300);
	check_delivered(0, 1, 300);
	ck_assert_uint_eq(g_n[0].n_sent[IK_TEXT], 300);	/* nothing sent twice */
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns, 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_resend_after_reconnect)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= 3; l++)
		say(0, l);
	net_run();		/* shown, not yet acknowledged */
	check_shown(1, 0, 3);
	for (l = 4; l <= 6; l++)
		say(0, l);
	link_down(0, 1);	/* 4..6 and the ACK of 1..3 are lost with the link */
	for (l = 7; l <= 8; l++)
		say(0, l);	/* typed while B is away: queued for it */
	ck_assert_uint_eq(dlv_outstanding(&g_n[0].n_d), 8);
	net_wait(5000, 100);
	link_up(0, 1);		/* a new handshake with the same identity */
	net_wait(1000, 100);
	/* Each shown exactly once, in order; every line acknowledged once. */
	check_shown(1, 0, 8);
	check_delivered(0, 1, 8);
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_lost_ack)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= 5; l++)
		say(0, l);
	g_drop[1][0] = 1;	/* B's ACKs are lost */
	net_wait(DLV_ACK_MS, DLV_ACK_MS);
	g_drop[1][0] = 0;
	/* A PINGs after DLV_ACK_WAIT_MS; B answers ACK then PONG; nothing resent. */
	net_wait(DLV_ACK_WAIT_MS + 500, 100);
	check_delivered(0, 1, 5);
	check_shown(1, 0, 5);
	ck_assert_uint_eq(g_n[0].n_sent[IK_TEXT], 5);
	ck_assert_uint_ge(g_n[0].n_sent[IK_PING], 1);
	ck_assert_uint_eq(g_n[0].n_warns, 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_lost_last)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= 4; l++)
		say(0, l);
	g_drop_text_once[0][1] = 1;
	say(0, 5);		/* the last of the burst is dropped */
	net_run();
	check_shown(1, 0, 4);
	/* Found by the PING after DLV_ACK_WAIT_MS: reported and sent again. */
	net_wait(DLV_ACK_WAIT_MS + 1000, 100);
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "1 message(s) to n1 were not "
	    "acknowledged"));
	check_shown(1, 0, 5);
	check_delivered(0, 1, 5);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_lost_middle)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	for (l = 1; l <= 2; l++)
		say(0, l);
	g_drop_text_once[0][1] = 1;
	for (l = 3; l <= 10; l++)
		say(0, l);	/* 3 is dropped; 4..10 wait at B, not shown out of order */
	net_run();
	check_shown(1, 0, 2);
	ck_assert_uint_eq(g_n[1].n_warns, 1);	/* B says one is missing, once */
	net_wait(DLV_ACK_WAIT_MS + 1000, 100);
	check_shown(1, 0, 10);
	check_delivered(0, 1, 10);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_first_flag)
{
	uint8_t body[INNER_TEXT_HDR_LEN + 8];
	struct node *b;
	uint32_t l;

	net_setup();
	link_up(0, 1);
	b = &g_n[1];
	/* A stream B never met, not marked FIRST: its start was lost; not shown. */
	memset(body, 0, sizeof(body));
	memset(body, 0x77, 8);
	body[11] = 5;
	memcpy(body + INNER_TEXT_HDR_LEN, "line 5!!", 8);
	ck_assert_int_eq(dlv_open(&b->n_d, g_n[0].n_id, IK_TEXT, body, sizeof(body), 0, g_now), 0);
	ck_assert_uint_eq(b->n_nshown, 0);
	ck_assert_uint_eq(b->n_warns, 1);
	/* Marked FIRST (every earlier one acknowledged): a fresh receiver starts there. */
	body[12] = INNER_FIRST;
	ck_assert_int_eq(dlv_open(&b->n_d, g_n[0].n_id, IK_TEXT, body, sizeof(body), 0, g_now), 0);
	ck_assert_uint_eq(b->n_nshown, 1);
	/* The same again: a repeat, not shown twice. */
	ck_assert_int_eq(dlv_open(&b->n_d, g_n[0].n_id, IK_TEXT, body, sizeof(body), 0, g_now), 0);
	ck_assert_uint_eq(b->n_nshown, 1);
	/* A's real stream is a second one; both are remembered. */
	for (l = 1; l <= 3; l++)
		say(0, l);
	net_run();
	ck_assert_uint_eq(b->n_nshown, 4);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_silence_drop_all)
{
	int64_t start;

	net_setup();
	link_up(0, 1);
	net_wait(3000, 100);
	/* Everything from A to B is dropped; the relay still lists both. */
	g_drop[0][1] = 1;
	start = g_now;
	say(0, 1);
	/* The idle side finds it 20 s after it last heard anything: its PING got no PONG. */
	while (g_n[1].n_warns == 0 && g_now - start < 60000)
		net_wait(100, 100);
	ck_assert_int_le(g_now - start, 20000);
	ck_assert_ptr_nonnull(strstr(g_n[1].n_lastwarn, "n0 silent for 2"));
	/* The talking side 20 s after the PING that followed its line by 1 s. */
	while (g_n[0].n_warns == 0 && g_now - start < 60000)
		net_wait(100, 100);
	ck_assert_int_le(g_now - start, DLV_ACK_WAIT_MS + DLV_SILENT_MS + 100);
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "n1 silent for 20 s while the relay "
	    "says it is here"));
	/* Said once, not again every tick. */
	net_wait(30000, 500);
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	/* It heals: answered again, the line delivered. */
	g_drop[0][1] = 0;
	net_wait(DLV_REPING_MS + 1000, 100);
	check_shown(1, 0, 1);
	check_delivered(0, 1, 1);
	ck_assert_uint_eq(g_n[0].n_infos, 1);	/* "n1 answers again" */
	ck_assert_uint_eq(g_n[0].n_warns, 2);	/* and the line was lost */
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "1 message(s) to n1 were not"));
	net_teardown();
}
END_TEST

START_TEST(test_deliver_silence_idle_side)
{
	int64_t start;

	net_setup();
	link_up(0, 1);
	net_wait(4000, 100);
	/* Nobody types; A to B drops everything: B's keepalive PINGs find it. */
	g_drop[0][1] = 1;
	start = g_now;
	while (g_n[0].n_warns == 0 && g_n[1].n_warns == 0 && g_now - start < 60000)
		net_wait(100, 100);
	ck_assert_int_le(g_now - start, 30000);
	ck_assert_uint_eq(g_n[1].n_warns, 1);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_no_false_silence)
{
	uint32_t l = 0;
	int64_t start;

	net_setup();
	link_up(0, 1);
	link_up(0, 2);
	link_up(1, 2);
	start = g_now;
	/* Five minutes of an honest relay: a line now and then, long pauses. */
	while (g_now - start < 300000) {
		if ((g_now / 100) % 137 == 0)
			say(0, ++l);
		net_wait(100, 100);
	}
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns + g_n[2].n_warns, 0);
	check_shown(1, 0, l);
	check_shown(2, 0, l);
	check_delivered(0, 1, l);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_bound)
{
	struct dlv_peer *p;
	uint32_t l;

	net_setup();
	link_up(0, 1);
	g_drop[0][1] = 1;
	for (l = 1; l <= DLV_OUT_MAX + 3; l++)
		say(0, l);
	p = dlv_find(&g_n[0].n_d, g_n[1].n_id);
	ck_assert_uint_eq(dlv_peer_outstanding(p), DLV_OUT_MAX);
	/* Said once; each line over the bound is undelivered to B at once. */
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "1024 lines to n1 are waiting"));
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 3);
	ck_assert_uint_eq(g_n[0].n_undeliv[1][0], DLV_OUT_MAX + 1);
	ck_assert_str_eq(g_n[0].n_reason[1], "queue-full");
	ck_assert_uint_eq(dlv_peer_text(p, 0)->dt_line, 1);
	ck_assert_ptr_null(dlv_peer_text(p, DLV_OUT_MAX));
	net_teardown();
}
END_TEST

START_TEST(test_deliver_give_up)
{
	uint32_t l;

	net_setup();
	link_up(0, 1);
	link_up(0, 2);
	g_drop[0][2] = 1;
	for (l = 1; l <= 4; l++)
		say(0, l);
	net_wait(DLV_ACK_MS, DLV_ACK_MS);
	check_delivered(0, 1, 4);
	dlv_give_up(&g_n[0].n_d, "exit");
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 0);
	ck_assert_uint_eq(g_n[0].n_nundeliv[2], 4);
	for (l = 0; l < 4; l++)
		ck_assert_uint_eq(g_n[0].n_undeliv[2][l], l + 1);
	ck_assert_str_eq(g_n[0].n_reason[2], "exit");
	ck_assert_uint_eq(dlv_outstanding(&g_n[0].n_d), 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_away)
{
	net_setup();
	link_up(0, 1);
	link_down(0, 1);
	say(0, 1);
	net_wait(DLV_AWAY_MS - 1000, 1000);
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 0);
	net_wait(2000, 1000);
	ck_assert_uint_eq(g_n[0].n_nundeliv[1], 1);
	ck_assert_str_eq(g_n[0].n_reason[1], "left");
	/* Away that long: new lines are not queued for it. */
	say(0, 2);
	ck_assert_uint_eq(dlv_outstanding(&g_n[0].n_d), 0);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_identity_changed)
{
	struct node *a;
	uint8_t other[DLV_ID_LEN];

	net_setup();
	a = &g_n[0];
	link_up(0, 1);
	g_drop[0][1] = 1;
	say(0, 1);
	link_down(0, 1);
	/* Another key under n1's nickname: n1's line is not for it. */
	memset(other, 0x99, sizeof(other));
	ck_assert_ptr_nonnull(dlv_up(&a->n_d, other, (const uint8_t *)"n1", 2, "n1", 0, g_now));
	ck_assert_uint_eq(a->n_nundeliv[1], 1);
	ck_assert_str_eq(a->n_reason[1], "identity-changed");
	ck_assert_ptr_null(dlv_find(&a->n_d, g_n[1].n_id));
	ck_assert_uint_eq(a->n_sent[IK_TEXT], 1);	/* not sent to the other key */
	net_teardown();
}
END_TEST

START_TEST(test_deliver_malformed)
{
	uint8_t b[1 + 3 * DLV_ID_LEN];
	struct dlv *d;

	net_setup();
	link_up(0, 1);
	say(0, 1);
	d = &g_n[0].n_d;
	/* An ACK of a text never sent. */
	memset(b, 0, sizeof(b));
	b[0] = 0x11; memset(b, 0x11, 8);
	b[11] = 2;
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_ACK, b, INNER_ACK_LEN, 0, g_now),
	    VEIL_E_INVALID);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_ACK, b, INNER_ACK_LEN - 1, 0, g_now),
	    VEIL_E_INVALID);
	/* An ACK of another stream (an earlier run of ours): ignored. */
	b[0] = 0x12;
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_ACK, b, INNER_ACK_LEN, 0, g_now), 0);
	/* TEXT: seq 0, unknown flags, empty, oversize. */
	memset(b, 0, sizeof(b));
	b[12] = INNER_FIRST;
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_TEXT, b, INNER_TEXT_HDR_LEN + 1, 0, g_now),
	    VEIL_E_INVALID);
	b[11] = 1;
	b[12] = 0x04;
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_TEXT, b, INNER_TEXT_HDR_LEN + 1, 0, g_now),
	    VEIL_E_INVALID);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_TEXT, b, INNER_TEXT_HDR_LEN, 0, g_now),
	    VEIL_E_INVALID);
	/* PING and PONG of the wrong length. */
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_PING, b, 5, 0, g_now), VEIL_E_INVALID);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_PONG, b, 3, 0, g_now), VEIL_E_INVALID);
	/* VIEW: empty, count and length disagree, unsorted, without its sender. */
	b[0] = 0;
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_VIEW, b, 1, 0, g_now), VEIL_E_INVALID);
	b[0] = 2;
	memcpy(b + 1, g_n[1].n_id, DLV_ID_LEN);
	memcpy(b + 1 + DLV_ID_LEN, g_n[0].n_id, DLV_ID_LEN);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_VIEW, b, 1 + DLV_ID_LEN, 0, g_now),
	    VEIL_E_INVALID);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_VIEW, b, 1 + 2 * DLV_ID_LEN, 0, g_now),
	    VEIL_E_INVALID);
	memcpy(b + 1, g_n[0].n_id, DLV_ID_LEN);
	memcpy(b + 1 + DLV_ID_LEN, g_n[2].n_id, DLV_ID_LEN);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_VIEW, b, 1 + 2 * DLV_ID_LEN, 0, g_now),
	    VEIL_E_INVALID);
	memcpy(b + 1 + DLV_ID_LEN, g_n[1].n_id, DLV_ID_LEN);
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, IK_VIEW, b, 1 + 2 * DLV_ID_LEN, 0, g_now), 0);
	/* Unknown kinds; an identity with no session. */
	ck_assert_int_eq(dlv_open(d, g_n[1].n_id, 2, b, 0, 0, g_now), VEIL_E_TYPE);
	ck_assert_int_eq(dlv_open(d, g_n[3].n_id, IK_PING, b, 4, 0, g_now), VEIL_E_STATE);
	/* None of it disturbed delivery. */
	net_wait(DLV_ACK_MS, DLV_ACK_MS);
	check_delivered(0, 1, 1);
	net_teardown();
}
END_TEST

/* Runs until every node has sent its VIEW and compared for longer than the grace. */
static void
settle(void)
{
	net_wait(DLV_VIEW_DEBOUNCE_MS + DLV_VIEW_GRACE_MS + 1000, 100);
}

START_TEST(test_deliver_view_same)
{
	char c0[DLV_CODE_LEN + 1], c1[DLV_CODE_LEN + 1], c2[DLV_CODE_LEN + 1];

	net_setup();
	link_up(0, 1);
	link_up(0, 2);
	link_up(1, 2);
	settle();
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns + g_n[2].n_warns, 0);
	ck_assert_uint_ge(g_n[0].n_sent[IK_VIEW], 2);
	ck_assert_int_eq(dlv_code(&g_n[0].n_d, c0), 0);
	ck_assert_int_eq(dlv_code(&g_n[1].n_d, c1), 0);
	ck_assert_int_eq(dlv_code(&g_n[2].n_d, c2), 0);
	ck_assert_str_eq(c0, c1);
	ck_assert_str_eq(c0, c2);
	ck_assert_uint_eq(strlen(c0), DLV_CODE_LEN);
	/* Sent again every minute. */
	net_wait(DLV_VIEW_EVERY_MS, 1000);
	ck_assert_uint_ge(g_n[0].n_sent[IK_VIEW], 4);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_quiet_responder)
{
	net_setup();
	/* 1 answered 0's handshake: it sends nothing unasked until 0 speaks. */
	g_drop[0][1] = 1;
	link_up(0, 1);
	net_wait(DLV_IDLE_MS * 3, 500);
	ck_assert_uint_eq(g_n[1].n_sent[IK_VIEW] + g_n[1].n_sent[IK_PING], 0);
	ck_assert_uint_ge(g_n[0].n_sent[IK_VIEW], 1);
	ck_assert_uint_ge(g_n[0].n_sent[IK_PING], 1);
	/* ... the initiator, whose PINGs go unanswered, warns. */
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	/* Once 0 is heard, 1 sends its view too. */
	g_drop[0][1] = 0;
	net_wait(DLV_REPING_MS + DLV_VIEW_DEBOUNCE_MS + 500, 100);
	ck_assert_uint_ge(g_n[1].n_sent[IK_VIEW], 1);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_view_split)
{
	char c0[DLV_CODE_LEN + 1], c1[DLV_CODE_LEN + 1], c2[DLV_CODE_LEN + 1];
	char fp2[32];

	net_setup();
	/* The relay hides 0 and 2 from each other; 1 sees both. */
	link_up(0, 1);
	link_up(1, 2);
	net_wait(DLV_VIEW_DEBOUNCE_MS + DLV_VIEW_GRACE_MS - 1000, 100);
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns + g_n[2].n_warns, 0);
	net_wait(2000, 100);
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	ck_assert_uint_eq(g_n[2].n_warns, 1);
	ck_assert_uint_eq(g_n[1].n_warns, 2);	/* one about each of them */
	snprintf(fp2, sizeof(fp2), "fp-%s", unit_tohex(g_n[2].n_id, 4));
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "the room looks different to n1"));
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, "n1 holds a session with "));
	ck_assert_ptr_nonnull(strstr(g_n[0].n_lastwarn, fp2));
	ck_assert_int_eq(dlv_code(&g_n[0].n_d, c0), 0);
	ck_assert_int_eq(dlv_code(&g_n[1].n_d, c1), 0);
	ck_assert_int_eq(dlv_code(&g_n[2].n_d, c2), 0);
	ck_assert_str_ne(c0, c1);
	ck_assert_str_ne(c0, c2);
	ck_assert_str_ne(c1, c2);
	/* Not said again while it lasts. */
	net_wait(DLV_VIEW_EVERY_MS + 1000, 500);
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	/* Mended: said once more, as information. */
	link_up(0, 2);
	settle();
	ck_assert_uint_eq(g_n[0].n_warns, 1);
	ck_assert_ptr_nonnull(strstr(g_n[0].n_last, "looks the same to n1 as to you again"));
	ck_assert_int_eq(dlv_code(&g_n[0].n_d, c0), 0);
	ck_assert_int_eq(dlv_code(&g_n[2].n_d, c2), 0);
	ck_assert_str_eq(c0, c2);
	net_teardown();
}
END_TEST

START_TEST(test_deliver_view_churn)
{
	int64_t start;
	int k = 0;

	net_setup();
	link_up(0, 1);
	link_up(0, 2);
	link_up(1, 2);
	start = g_now;
	/*
	 * Five minutes of honest churn: member 3 joins and leaves over and
	 * over, its handshakes completing up to 1.5 s apart with each member.
	 */
	while (g_now - start < 300000) {
		link_up(3, 0);
		net_wait(500 + 100 * (k % 3), 100);
		link_up(3, 1);
		net_wait(1000, 100);
		link_up(3, 2);
		net_wait(2000 + 1000 * (k % 5), 100);
		link_down(3, 1);
		net_wait(300, 100);
		link_down(3, 0);
		link_down(3, 2);
		net_wait(1000 + 700 * (k % 4), 100);
		k++;
	}
	ck_assert_uint_eq(g_n[0].n_warns + g_n[1].n_warns + g_n[2].n_warns +
	    g_n[3].n_warns, 0);
	net_teardown();
}
END_TEST

/*
 * The worked example of PROTOCOL.md 2.8: room id 00 01 .. 1f, three
 * identities 11.., 22.., 33.. (32 bytes each) ascending.
 */
START_TEST(test_deliver_room_code_example)
{
	uint8_t r[ROOM_ID_LEN], ids[3 * DLV_ID_LEN];
	char code[DLV_CODE_LEN + 1];
	size_t i;

	for (i = 0; i < ROOM_ID_LEN; i++)
		r[i] = (uint8_t)i;
	memset(ids, 0x11, DLV_ID_LEN);
	memset(ids + DLV_ID_LEN, 0x22, DLV_ID_LEN);
	memset(ids + 2 * DLV_ID_LEN, 0x33, DLV_ID_LEN);
	ck_assert_int_eq(dlv_room_code(r, ids, 3, code), 0);
	ck_assert_str_eq(code, ROOM_CODE_EXAMPLE);
	/* One member fewer: another code. */
	ck_assert_int_eq(dlv_room_code(r, ids, 2, code), 0);
	ck_assert_str_eq(code, ROOM_CODE_EXAMPLE2);
}
END_TEST

START_TEST(test_deliver_fpr)
{
	uint8_t id[DLV_ID_LEN], fpr[FPR_LEN];

	/* F(id) as PROTOCOL.md 4 defines it (keyd's crypto.c computes the same). */
	memset(id, 0, sizeof(id));
	ck_assert_int_eq(dlv_fpr(id, fpr), 0);
	ck_assert_str_eq(unit_tohex(fpr, FPR_LEN), FPR_ZERO_ID);
}
END_TEST

Suite *suite_deliver(void);

Suite *
suite_deliver(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc;

	tc = tcase_create("delivery");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_deliver_basic);
	tcase_add_test(tc, test_deliver_ack_now);
	tcase_add_test(tc, test_deliver_ack_every);
	tcase_add_test(tc, test_deliver_window);
	tcase_add_test(tc, test_deliver_resend_after_reconnect);
	tcase_add_test(tc, test_deliver_lost_ack);
	tcase_add_test(tc, test_deliver_lost_last);
	tcase_add_test(tc, test_deliver_lost_middle);
	tcase_add_test(tc, test_deliver_first_flag);
	suite_add_tcase(s, tc);

	tc = tcase_create("silence");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_deliver_silence_drop_all);
	tcase_add_test(tc, test_deliver_silence_idle_side);
	tcase_add_test(tc, test_deliver_no_false_silence);
	suite_add_tcase(s, tc);

	tc = tcase_create("view");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_deliver_view_same);
	tcase_add_test(tc, test_deliver_view_split);
	tcase_add_test(tc, test_deliver_quiet_responder);
	tcase_add_test(tc, test_deliver_view_churn);
	tcase_add_test(tc, test_deliver_room_code_example);
	tcase_add_test(tc, test_deliver_fpr);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_deliver_bound);
	tcase_add_test(tc, test_deliver_give_up);
	tcase_add_test(tc, test_deliver_away);
	tcase_add_test(tc, test_deliver_identity_changed);
	tcase_add_test(tc, test_deliver_malformed);
	suite_add_tcase(s, tc);
	return s;
}
