/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: end-to-end messages as keyd's session engine
 * (keyd/session.c) opens them, handshakes included. Two identities with
 * fixed seeds and fixed ephemeral scalars make every handshake the same, so
 * the messages recorded once at start-up (the three handshake messages, and
 * a pool of sealed DATA messages each way) fit the fresh sessions built for
 * every input. The first input byte picks the mode:
 *
 *   0  vs_accept of the rest as HS_INIT (bob, responder)
 *   1  vs_handshake of the rest by alice waiting for HS_RESP
 *   2  vs_handshake of the rest by bob waiting for HS_FIN
 *   3  vs_handshake of the rest by alice, done (she took HS_RESP), bob waiting
 *   4  vs_open of the rest by bob, then by alice, on established sessions
 *   5  a script over an established pair (see script()): recorded messages
 *      opened in any order, mutated ones, live seals, rekeys, clock jumps
 *
 * Checked: the error contract of session.h (every error outside the list
 * of refusals kills the session; those may too once the message has
 * authenticated: a REKEY_INIT out of turn is fatal VEIL_E_STATE), a mutated
 * or truncated recorded message never opens (OPEN_RESEND, which opens
 * nothing and only sends our pending REKEY_INIT again, may answer any
 * message of the next epoch), an unmodified one opens to the text it was
 * sealed from, outputs never exceed their sizes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "e2e.h"
#include "err.h"
#include "ipc.h"
#include "session.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NEPH	8
#define NPOOL	10

struct peer {
	struct vs_identity	 id;
	struct vs_params	 p;
	struct vs_session	*s;
	uint8_t			 eph[NEPH][P256_SCALAR_LEN];
};

struct rec {
	uint8_t		 b[E2E_MAX];
	size_t		 n;
	uint8_t		 kind;		/* expected vo_kind */
	char		 text[MSG_MAX];
	size_t		 textlen;
};

static struct peer A, B;		/* alice (member 2, initiator), bob (member 1) */
static struct rec hs[3];		/* INIT, RESP, FIN */
static struct rec pool_ab[NPOOL], pool_ba[NPOOL];	/* sealed by alice / by bob */
static size_t npool_ab, npool_ba;
static uint64_t fake_now;
static int ready;
/*
 * The sessions of the last input are reused when they went through only
 * refusals that session.h promises leave a session as it was (a fresh
 * handshake costs milliseconds): steps says how far their handshake got,
 * dirty that something may have changed them since.
 */
static int steps, dirty = 1;

static uint64_t
fuzz_now(void)
{
	return fake_now;
}

static void
peer_init(struct peer *pp, uint8_t seed0, const char *nick, uint16_t me, uint16_t peer,
    uint8_t ephbyte)
{
	size_t i;

	memset(pp, 0, sizeof(*pp));
	for (i = 0; i < ED25519_SEED_LEN; i++)
		pp->id.id_seed[i] = (uint8_t)(seed0 + i);
	if (vc_ed25519_public(pp->id.id_seed, pp->id.id_pub) != 0)
		abort();
	pp->id.id_nicklen = strlen(nick);
	memcpy(pp->id.id_nick, nick, pp->id.id_nicklen);
	for (i = 0; i < NEPH; i++)
		memset(pp->eph[i], ephbyte + (int)i, P256_SCALAR_LEN);
	pp->p.vp_me = &pp->id;
	memset(pp->p.vp_room, 0x5a, ROOM_ID_LEN);
	memset(pp->p.vp_room_key, 0x3c, ROOM_KEY_LEN);
	pp->p.vp_me_id = me;
	pp->p.vp_peer_id = peer;
	pp->p.vp_eph = &pp->eph[0][0];
	pp->p.vp_neph = NEPH;
	pp->p.vp_now = fuzz_now;
}

static void
reset(void)
{
	vs_free(A.s);
	vs_free(B.s);
	A.s = B.s = NULL;
	fake_now = 1000;
	steps = 0;
	dirty = 0;
}


/*
 * Runs the handshake as recorded: 1 alice sent HS_INIT, 2 bob answered, 3
 * alice took HS_RESP (done, HS_FIN written), 4 bob took HS_FIN (done).
 */
static void
handshake(int upto)
{
	uint8_t buf[E2E_MAX];
	struct vbuf w;
	int done = -1;

	vbuf_writer(&w, buf, sizeof(buf));
	if (vs_start(&A.s, &A.p, &w) != 0 || w.vb_len != hs[0].n ||
	    (ready && memcmp(buf, hs[0].b, w.vb_len) != 0))
		abort();
	if (upto < 2)
		return;
	vbuf_writer(&w, buf, sizeof(buf));
	if (vs_accept(&B.s, &B.p, hs[0].b, hs[0].n, &w) != 0 || w.vb_len != hs[1].n)
		abort();
	if (upto < 3)
		return;
	vbuf_writer(&w, buf, sizeof(buf));
	if (vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done) != 0 || done != 1 ||
	    w.vb_len != hs[2].n)
		abort();
	if (upto < 4)
		return;
	vbuf_writer(&w, buf, sizeof(buf));
	if (vs_handshake(B.s, hs[2].b, hs[2].n, &w, &done) != 0 || done != 1 ||
	    w.vb_len != 0)
		abort();
}

/* Sessions that got through n handshake steps, reused when clean. */
static void
pair(int n)
{
	if (steps == n && !dirty)
		return;
	reset();
	handshake(n);
	steps = n;
}

/* The first handshake, recording its three messages. */
static void
record_handshake(void)
{
	struct vbuf w;
	int done = -1;

	vbuf_writer(&w, hs[0].b, sizeof(hs[0].b));
	if (vs_start(&A.s, &A.p, &w) != 0)
		abort();
	hs[0].n = w.vb_len;
	vbuf_writer(&w, hs[1].b, sizeof(hs[1].b));
	if (vs_accept(&B.s, &B.p, hs[0].b, hs[0].n, &w) != 0)
		abort();
	hs[1].n = w.vb_len;
	vbuf_writer(&w, hs[2].b, sizeof(hs[2].b));
	if (vs_handshake(A.s, hs[1].b, hs[1].n, &w, &done) != 0 || done != 1)
		abort();
	hs[2].n = w.vb_len;
	vbuf_writer(&w, hs[0].b + hs[0].n, 0);
	if (vs_handshake(B.s, hs[2].b, hs[2].n, &w, &done) != 0 || done != 1)
		abort();
}

static void
rec_text(struct peer *pp, struct rec *r, size_t len, char fill)
{
	struct vbuf w;
	uint8_t flags;
	size_t i;

	for (i = 0; i < len; i++)
		r->text[i] = (char)(fill + (char)(i % 26));
	r->textlen = len;
	r->kind = OPEN_TEXT;
	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_seal(pp->s, (const uint8_t *)r->text, len, &w, &flags) != 0)
		abort();
	r->n = w.vb_len;
}

static void
rec_rekey(struct peer *pp, struct rec *r)
{
	struct vbuf w;

	r->kind = OPEN_REKEY;
	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_rekey(pp->s, &w) != 0)
		abort();
	r->n = w.vb_len;
}

/* pp opens the recorded REKEY_INIT init; its REKEY_RESP goes to r. */
static void
rec_answer(struct peer *pp, const struct rec *init, struct rec *r)
{
	static struct vs_opened o;
	struct vbuf w;

	r->kind = OPEN_REKEY;
	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_open(pp->s, init->b, init->n, &o, &w) != 0 || o.vo_kind != OPEN_REKEY ||
	    w.vb_len == 0)
		abort();
	r->n = w.vb_len;
}

static void
rec_close(struct peer *pp, struct rec *r)
{
	struct vbuf w;

	r->kind = OPEN_CLOSED;
	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_close(pp->s, &w) != 0)
		abort();
	r->n = w.vb_len;
}

/*
 * The pools: texts of several padding buckets, a rekey in the middle, texts
 * after it (still in epoch 0 until the answer comes), and a CLOSE last; bob
 * starts a rekey, then answers alice's (a collision: the handshake
 * initiator's rekey wins), so its later texts need that answer opened. Each
 * side seals its pool into the same fresh established pair, so every
 * recorded message opens on a fresh pair as long as the opener got there.
 */
static void
setup(void)
{
	peer_init(&A, 0x00, "alice", 2, 1, 0x11);
	peer_init(&B, 0x20, "bob", 1, 2, 0x61);
	fake_now = 1000;
	record_handshake();
	npool_ab = 0;
	rec_text(&A, &pool_ab[npool_ab++], 5, 'a');
	rec_text(&A, &pool_ab[npool_ab++], 1, 'b');
	rec_text(&A, &pool_ab[npool_ab++], 300, 'c');
	rec_text(&A, &pool_ab[npool_ab++], MSG_MAX, 'd');
	rec_rekey(&A, &pool_ab[npool_ab++]);
	rec_text(&A, &pool_ab[npool_ab++], 61, 'e');
	rec_text(&A, &pool_ab[npool_ab++], 62, 'f');
	rec_close(&A, &pool_ab[npool_ab++]);
	npool_ba = 0;
	rec_text(&B, &pool_ba[npool_ba++], 3, 'g');
	rec_rekey(&B, &pool_ba[npool_ba++]);
	rec_answer(&B, &pool_ab[4], &pool_ba[npool_ba++]);
	rec_text(&B, &pool_ba[npool_ba++], 125, 'h');
	rec_text(&B, &pool_ba[npool_ba++], 2000, 'i');
	rec_close(&B, &pool_ba[npool_ba++]);
	reset();
	ready = 1;
}

/*
 * Refusals after which session.h promises the session is still usable: the
 * decode errors (OVERSIZE and TRAILING among them: proto_e2e_decode returns
 * those too, and vs_open passes every decode error through unchanged), then
 * the state and counter checks.
 */
static int
keeps_alive(int r)
{
	switch (r) {
	case VEIL_E_OVERSIZE:
	case VEIL_E_TRAILING:
	case VEIL_E_VERSION:
	case VEIL_E_TYPE:
	case VEIL_E_LENGTH:
	case VEIL_E_TRUNCATED:
	case VEIL_E_INVALID:
	case VEIL_E_REORDER:
	case VEIL_E_REPLAY:
	case VEIL_E_LIMIT:
	case VEIL_E_STATE:
	case VEIL_E_NOSPACE:
		return 1;
	default:
		return 0;
	}
}

/*
 * One vs_open with its contract checked. want (if not NULL) is the recorded
 * message in, unmodified; mutated says in is a changed copy of a recorded
 * message and so must not open. Returns vs_open's result.
 */
static int
open_one(struct peer *pp, const uint8_t *in, size_t n, const struct rec *want, int mutated,
    int *auth_fails)
{
	static struct vs_opened o;
	uint8_t reply[E2E_MAX];
	struct vbuf w;
	int alive, r;

	alive = vs_alive(pp->s);
	vbuf_writer(&w, reply, sizeof(reply));
	r = vs_open(pp->s, in, n, &o, &w);
	if (r == 0 || r == VEIL_E_AUTH || r == VEIL_E_NOSPACE || !keeps_alive(r) ||
	    vs_alive(pp->s) != alive)
		dirty = 1;
	if (w.vb_len > sizeof(reply))
		abort();
	if (r == 0 && o.vo_kind == OPEN_RESEND) {
		/*
		 * Not opened: a message of the next epoch while our REKEY_INIT
		 * waits (forged ones too) gets that REKEY_INIT again as reply.
		 */
		if (!alive || !vs_alive(pp->s) || o.vo_textlen != 0 ||
		    w.vb_len != E2E_DATA_HDR_LEN + 128 + AEAD_TAG_LEN)
			abort();
		return 0;
	}
	if (r == 0) {
		if (!alive || mutated)
			abort();
		if (o.vo_kind == OPEN_TEXT && (o.vo_textlen < 1 || o.vo_textlen > MSG_MAX))
			abort();
		if (o.vo_kind != OPEN_REKEY && o.vo_kind != OPEN_REKEY_SAME && w.vb_len != 0)
			abort();
		if (o.vo_kind == OPEN_CLOSED && vs_alive(pp->s))
			abort();
		/* A recorded rekey message may change keys or (seen before) none. */
		if (want != NULL && (o.vo_kind != want->kind && !(want->kind == OPEN_REKEY &&
		    o.vo_kind == OPEN_REKEY_SAME)))
			abort();
		if (want != NULL && want->kind == OPEN_TEXT && (o.vo_textlen != want->textlen ||
		    memcmp(o.vo_text, want->text, want->textlen) != 0))
			abort();
		return 0;
	}
	if (!alive) {
		if (r != VEIL_E_STATE)
			abort();
		return r;
	}
	if (r == VEIL_E_AUTH) {
		if (++*auth_fails >= VS_MAX_AUTH_FAIL ? vs_alive(pp->s) : !vs_alive(pp->s))
			abort();
	} else if (!keeps_alive(r) && vs_alive(pp->s)) {
		abort();
	}
	return r;
}

static void
hs_step(struct peer *pp, const uint8_t *in, size_t n)
{
	uint8_t out[E2E_MAX];
	struct vbuf w;
	int alive, done = 0, r;

	alive = vs_alive(pp->s);
	vbuf_writer(&w, out, sizeof(out));
	r = vs_handshake(pp->s, in, n, &w, &done);
	if (r != VEIL_E_STATE || !alive)
		dirty = 1;
	if (r == VEIL_E_STATE && alive && !vs_alive(pp->s))
		abort();
	if (r != 0 && r != VEIL_E_STATE && vs_alive(pp->s))
		abort();
	if (r != 0 && w.vb_len != 0 && vs_alive(pp->s))
		abort();
	if (r == 0 && (done ? vs_peer_id(pp->s) == NULL : vs_peer_id(pp->s) != NULL))
		abort();
}

/* A live seal from one side, opened by the other. */
static void
live_text(struct peer *from, struct peer *to, uint8_t len, int *auth_fails)
{
	uint8_t text[256], buf[E2E_MAX], flags = 0;
	struct rec want;
	struct vbuf w;
	int r;

	memset(text, 'z', sizeof(text));
	vbuf_writer(&w, buf, sizeof(buf));
	r = vs_seal(from->s, text, (size_t)len + 1, &w, &flags);
	if (r != 0) {
		if (r != VEIL_E_STATE && r != VEIL_E_LIMIT)
			abort();
		return;
	}
	want.kind = OPEN_TEXT;
	want.textlen = (size_t)len + 1;
	memcpy(want.text, text, want.textlen);
	(void)open_one(to, buf, w.vb_len, &want, 0, auth_fails);
}

/* A live rekey: from starts it, to answers, from takes the answer. */
static void
live_rekey(struct peer *from, struct peer *to, int *af_from, int *af_to)
{
	uint8_t init[E2E_MAX], resp[E2E_MAX];
	struct vs_opened *o;
	struct vbuf w, rw;
	int r;

	vbuf_writer(&w, init, sizeof(init));
	if ((r = vs_rekey(from->s, &w)) != 0) {
		if (r != VEIL_E_STATE)
			abort();
		return;
	}
	if ((o = malloc(sizeof(*o))) == NULL)
		return;
	vbuf_writer(&rw, resp, sizeof(resp));
	r = vs_open(to->s, init, w.vb_len, o, &rw);
	if (r == VEIL_E_AUTH)
		++*af_to;
	if (r == 0 && rw.vb_len > 0 && vs_open(from->s, resp, rw.vb_len, o, NULL) == VEIL_E_AUTH)
		++*af_from;
	free(o);
}

/*
 * Mode 5: each op byte (low 3 bits the operation, the rest its argument):
 *   0  bob opens alice's recorded message arg
 *   1  alice opens bob's recorded message arg
 *   2  bob opens alice's recorded message arg with a change taken from the
 *      next 3 bytes: u16 offset (modulo the length), then an XOR byte (0:
 *      cut the message at the offset instead)
 *   3  the same from bob to alice
 *   4  a live text of arg + 1 bytes from alice to bob (arg bit 4: bob to alice)
 *   5  a live rekey started by alice (arg bit 0: by bob)
 *   6  the clock jumps by arg * 64 seconds
 *   7  bob (arg bit 0: alice) gets the recorded handshake message arg
 */
static void
script(const uint8_t *p, size_t n)
{
	uint8_t msg[E2E_MAX];
	int af_a = 0, af_b = 0;
	const struct rec *rc;
	size_t i = 0, off;
	uint8_t op, arg;

	while (i < n) {
		op = p[i] & 7;
		arg = p[i] >> 3;
		i++;
		switch (op) {
		case 0:
			rc = &pool_ab[arg % npool_ab];
			(void)open_one(&B, rc->b, rc->n, rc, 0, &af_b);
			break;
		case 1:
			rc = &pool_ba[arg % npool_ba];
			(void)open_one(&A, rc->b, rc->n, rc, 0, &af_a);
			break;
		case 2:
		case 3:
			if (n - i < 3)
				return;
			rc = op == 2 ? &pool_ab[arg % npool_ab] : &pool_ba[arg % npool_ba];
			memcpy(msg, rc->b, rc->n);
			off = (((size_t)p[i] << 8) | p[i + 1]) % rc->n;
			if (p[i + 2] != 0)
				msg[off] ^= p[i + 2];
			(void)open_one(op == 2 ? &B : &A, msg, p[i + 2] != 0 ? rc->n : off, NULL, 1,
			    op == 2 ? &af_b : &af_a);
			i += 3;
			break;
		case 4:
			if (arg & 0x10)
				live_text(&B, &A, (uint8_t)(arg << 3), &af_a);
			else
				live_text(&A, &B, (uint8_t)(arg << 3), &af_b);
			break;
		case 5:
			if (arg & 1)
				live_rekey(&B, &A, &af_b, &af_a);
			else
				live_rekey(&A, &B, &af_a, &af_b);
			break;
		case 6:
			fake_now += (uint64_t)arg * 64;
			dirty = 1;
			break;
		default:
			hs_step(arg & 1 ? &A : &B, hs[(arg >> 1) % 3].b, hs[(arg >> 1) % 3].n);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[E2E_MAX];
	struct vbuf w;
	int af_a = 0, af_b = 0, r;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		reset();
		vbuf_writer(&w, out, sizeof(out));
		r = vs_accept(&B.s, &B.p, data + 1, size - 1, &w);
		if ((r == 0) != (B.s != NULL) || (r != 0 && w.vb_len != 0))
			abort();
		if (r == 0)
			hs_step(&B, hs[2].b, hs[2].n);
		dirty = 1;
		break;
	case 1:
		pair(1);
		hs_step(&A, data + 1, size - 1);
		break;
	case 2:
		pair(2);
		hs_step(&B, data + 1, size - 1);
		break;
	case 3:
		pair(3);
		hs_step(&A, data + 1, size - 1);
		break;
	case 4:
		pair(4);
		hs_step(&B, data + 1, size - 1);
		(void)open_one(&B, data + 1, size - 1, NULL, 0, &af_b);
		(void)open_one(&A, data + 1, size - 1, NULL, 0, &af_a);
		break;
	default:
		pair(4);
		dirty = 1;
		script(data + 1, size - 1);
		break;
	}
	return 0;
}
