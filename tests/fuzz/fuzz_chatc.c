/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: chatc's whole path from a relay frame through keyd to
 * what it shows, with real keyds. Two chatc cores, A (under test) and B (an
 * honest peer), each with its own keyd served in-process through
 * keyd_dispatch (tests/fuzz/chatc_sim.h), reach SECURE through a simulated
 * relay; then the input is a sequence of units, each one control byte, a
 * u16 length and that many bytes:
 *
 *   ctl % 10  0  the ghost (a member with no keys) broadcasts the bytes as DATA
 *             1  the ghost sends them to A alone
 *             2  the ghost sends A the last DATA payload B sent, with the
 *                bytes as (u16 offset, u8 xor) edits (a well-formed message
 *                of a session the ghost is not in)
 *             3  the ghost leaves; a new one joins
 *             4  the relay sends A an ERROR with code bytes[0]
 *             5  the relay sends A the bytes raw (any frame, or none)
 *             6  A types the bytes as a line (messages, commands)
 *             7  B types the bytes as a line
 *             8  time passes: bytes[0] * 250 ms (handshake and keepalive
 *                timeouts, reconnect backoff)
 *             9  keyd's clock jumps 700 s
 *
 * and everything runs until nothing moves after each unit. Checked after
 * every input: neither keyd ever closed a connection (a request chatc built
 * from the network that keyd refuses to read would end chatc), neither core
 * broke the IPC protocol or said ERROR, every event line is one line; and A
 * still talks to B: the session must have survived whatever the ghost did
 * (after a relay unit, 4 or 5, A is made to reconnect first: a relay may
 * lie, e.g. a LEFT for B), and a fresh line each way must be shown on the
 * other side.
 *
 * Why in-process: libFuzzer runs millions of inputs in one process; a keyd
 * per input (fork, socket, sandbox) would cost milliseconds each and leak
 * processes on a crash, while keyd_dispatch is exactly what keyd's server
 * loop calls for every whole request, with keyd's own crypto and pin store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatc_sim.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { A, B };

static struct sim S;
static int ready;
static unsigned long nth;

static void
cleanup(void)
{
	sim_free(&S);
}

static void
setup(void)
{
	static const char *const nicks[] = { "alice", "bob" };
	static char dir[PATH_MAX];
	const char *t = getenv("TMPDIR");
	struct stat st;

	/* known_peers where fsync costs nothing when we can: /dev/shm, else TMPDIR. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	(void)snprintf(dir, sizeof(dir), "%s/veil-fuzz-chatc.XXXXXX", t != NULL ? t : "/tmp");
	if (mkdtemp(dir) == NULL || sim_init(&S, 2, nicks, dir) != 0 || rmdir(dir) != 0)
		abort();
	if (atexit(cleanup) != 0)
		abort();
	ready = 1;
}

/* Says what each core showed last, and why the input fails. */
static void
fail(const char *why)
{
	size_t i, n;

	for (i = 0; i < 2; i++) {
		size_t j;

		for (j = 0; j < ROOM_SIZE_MAX; j++) {
			const struct peer *p = &S.s_m[i].sm_r.rm_peers.pt_p[j];

			if (p->pe_state != PS_FREE)
				fprintf(stderr, "%s: member %u (%s) state %d handle %u\n",
				    S.s_m[i].sm_nick, p->pe_id, p->pe_name, p->pe_state, p->pe_handle);
		}
		fprintf(stderr, "%s: relay id %u, me %u; asked %u (barriers %u), keyd queue %zu, "
		    "relay input %zu bytes\n", S.s_m[i].sm_nick, S.s_m[i].sm_mid,
		    S.s_m[i].sm_r.rm_me, S.s_m[i].sm_r.rm_npending, S.s_m[i].sm_r.rm_nbarrier,
		    keydc_pending(&S.s_m[i].sm_k),
		    S.s_m[i].sm_r.rm_rl.rl_inlen - S.s_m[i].sm_r.rm_rl.rl_used);
		n = S.s_m[i].sm_loglen;
		fprintf(stderr, "---- %s (link %d, lost %d) showed:\n%s\n", S.s_m[i].sm_nick,
		    S.s_m[i].sm_r.rm_link, S.s_m[i].sm_lost,
		    S.s_m[i].sm_log + (n > 3000 ? n - 3000 : 0));
	}
	fprintf(stderr, "fuzz_chatc: %s\n", why);
	abort();
}

static void
pump(void)
{
	if (sim_pump(&S, 400) != 0)
		fail("a keyd closed on chatc, or chatc called keyd's answers a violation");
}

/* Lets time pass in steps, pumping (pings answered, retries due, rejoins). */
static void
pass(int64_t ms)
{
	while (ms > 0) {
		int64_t step = ms > 5000 ? 5000 : ms;

		S.s_now += step;
		ms -= step;
		pump();
	}
}

static int
secure_both(void)
{
	const struct peer *pa, *pb;

	if (S.s_m[A].sm_r.rm_link != LS_JOINED || S.s_m[B].sm_r.rm_link != LS_JOINED)
		return 0;
	pa = peers_find(&S.s_m[A].sm_r.rm_peers, S.s_m[B].sm_mid);
	pb = peers_find(&S.s_m[B].sm_r.rm_peers, S.s_m[A].sm_mid);
	return pa != NULL && pb != NULL && pa->pe_state == PS_SECURE &&
	    pb->pe_state == PS_SECURE;
}

/*
 * A reconnects (the relay may have lied to it) until both are secure again:
 * the relay closes A's connection, as the loop sees an EOF. Half a frame
 * of garbage may still sit in A's input, waiting for bytes that never come.
 */
static void
heal(void)
{
	struct room *r = &S.s_m[A].sm_r;
	int i;

	for (i = 0; i < 8 && (i == 0 || !secure_both()); i++) {
		link_ended(r, LT_LOST, "connection closed", S.s_now);
		pump();
		pass(BACKOFF_MAX_MS + 1000);
	}
	if (!secure_both())
		fail("A could not get back to B");
}

/* A fresh line each way arrives. */
static void
talk(void)
{
	char line[64], want[96];

	nth++;
	snprintf(line, sizeof(line), "check %lu from alice", nth);
	snprintf(want, sizeof(want), "MSG alice %s\n", line);
	sim_say(&S, A, line);
	snprintf(line, sizeof(line), "check %lu from bob", nth);
	sim_say(&S, B, line);
	pump();
	if (!sim_has(&S, B, want))
		fail("B did not get A's line");
	snprintf(want, sizeof(want), "MSG bob %s\n", line);
	if (!sim_has(&S, A, want))
		fail("A did not get B's line");
}

/* Every event shown was one line: nothing a peer sent made a second. */
static void
check_lines(const struct sim_member *m)
{
	const char *p;

	if (m->sm_n[EV_ERROR] != 0)
		fail("ERROR shown");
	for (p = m->sm_log; *p != '\0'; p++) {
		/* Escaped: no control byte but the line ends, and each line an event. */
		if ((uint8_t)*p < 0x20 && *p != '\n')
			fail("a control byte was shown");
		if (*p == '\n' && p[1] != '\0' && memchr("SMLWIDU", p[1], 7) == NULL)
			fail("an event line was split");
	}
}

static void
edit_blob(const uint8_t *ed, size_t n, uint16_t ghost)
{
	static uint8_t blob[FRAME_MAX_LIMIT];
	size_t len = S.s_m[B].sm_lastlen, i, off;

	if (len == 0)
		return;
	memcpy(blob, S.s_m[B].sm_last, len);
	for (i = 0; i + 3 <= n; i += 3) {
		off = ((size_t)ed[i] << 8 | ed[i + 1]) % len;
		blob[off] ^= ed[i + 2];
	}
	sim_deliver(&S, &S.s_m[A], FT_DATA, ghost, S.s_m[A].sm_mid, blob, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[8192];
	uint16_t ghost;
	uint8_t ctl;
	size_t len;
	int lied = 0;

	if (!ready)
		setup();
	sim_reset(&S);
	if (sim_start(&S, A, "fuzz") != 0)
		abort();
	pump();
	if (sim_start(&S, B, "fuzz") != 0)
		abort();
	pump();
	if (!secure_both())
		fail("no session to start from");
	ghost = sim_join_ghost(&S);
	pump();
	while (size >= 3) {
		ctl = data[0];
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		switch (ctl % 10) {
		case 0:
			if (len > 0 && len <= FRAME_MAX_DEFAULT)
				sim_to_room(&S, FT_DATA, ghost, ghost, data, len);
			break;
		case 1:
			if (len > 0 && len <= FRAME_MAX_DEFAULT)
				sim_deliver(&S, &S.s_m[A], FT_DATA, ghost, S.s_m[A].sm_mid, data,
				    len);
			break;
		case 2:
			edit_blob(data, len, ghost);
			break;
		case 3:
			sim_to_room(&S, FT_LEFT, ghost, 0, NULL, 0);
			ghost = sim_join_ghost(&S);
			break;
		case 4:
			if (len > 0 && data[0] >= FE_MALFORMED && data[0] <= FE_SHUTDOWN)
				sim_deliver(&S, &S.s_m[A], FT_ERROR, MEMBER_NONE, MEMBER_NONE, data, 1);
			lied = 1;
			break;
		case 5:
			sim_deliver_raw(&S, A, data, len);
			lied = 1;
			break;
		case 6:
		case 7:
			if (len < sizeof(text)) {
				memcpy(text, data, len);
				client_on_line(&S.s_m[ctl % 10 == 6 ? A : B].sm_c, (const uint8_t *)text,
				    len);
			}
			break;
		case 8:
			pump();
			pass(len > 0 ? (int64_t)data[0] * 250 : 250);
			break;
		case 9:
			S.s_keyd_sec += 700;
			break;
		}
		data += len;
		size -= len;
		pump();
	}
	check_lines(&S.s_m[A]);
	check_lines(&S.s_m[B]);
	/* What A typed may have been a /quit: the core does not act on it, the loop would. */
	S.s_m[A].sm_c.cl_quit = QUIT_NO;
	if (lied)
		heal();
	else if (!secure_both())
		fail("a member with no keys ended A's session with B");
	talk();
	return 0;
}
