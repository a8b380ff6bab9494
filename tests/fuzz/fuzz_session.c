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
 *      of several ratchet chains opened in any order (new chains, current
 *      ones, late, replayed, with gaps), mutated ones (header nonce, sealed
 *      header, body), live seals of every kind, both ways
 *
 * Checked: the error contract of session.h (a refusal that must leave the
 * session as it was does, except that the counted ones may end it at
 * VS_MAX_AUTH_FAIL; every other error ends it), a mutated or truncated
 * recorded message never opens, an unmodified one opens to the kind and
 * body it was sealed from, outputs never exceed their sizes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "e2e.h"
#include "err.h"
#include "inner.h"
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
	uint8_t		 body[INNER_BODY_MAX];
	size_t		 bodylen;
};

static struct peer A, B;		/* alice (member 2, initiator), bob (member 1) */
static struct rec hs[3];		/* INIT, RESP, FIN */
static struct rec pool_ab[NPOOL], pool_ba[NPOOL];	/* sealed by alice / by bob */
static size_t npool_ab, npool_ba;
static int ready;
/*
 * The sessions of the last input are reused when they went through only
 * refusals that session.h promises leave a session as it was (a fresh
 * handshake costs milliseconds): steps says how far their handshake got,
 * dirty that something may have changed them since.
 */
static int steps, dirty = 1;

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
}

static void
reset(void)
{
	vs_free(A.s);
	vs_free(B.s);
	A.s = B.s = NULL;
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

/* A TEXT body of len bytes of text (stream 7, seq), fill letters. */
static void
rec_body(struct rec *r, size_t len, char fill, uint32_t seq)
{
	struct inner_msg im;
	struct vbuf w;
	char text[MSG_MAX];
	size_t i;

	for (i = 0; i < len; i++)
		text[i] = (char)(fill + (char)(i % 26));
	memset(&im, 0, sizeof(im));
	im.in_kind = IK_TEXT;
	im.in_stream = 7;
	im.in_seq = seq;
	im.in_text = (const uint8_t *)text;
	im.in_textlen = len;
	vbuf_writer(&w, r->body, sizeof(r->body));
	if (proto_inner_build(&w, &im) != 0)
		abort();
	r->bodylen = w.vb_len;
	r->kind = IK_TEXT;
}

static void
rec_seal(struct peer *pp, struct rec *r)
{
	struct vbuf w;

	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_seal(pp->s, r->kind, r->body, r->bodylen, &w) != 0)
		abort();
	r->n = w.vb_len;
}

static void
rec_text(struct peer *pp, struct rec *r, size_t len, char fill)
{
	static uint32_t seq;

	rec_body(r, len, fill, ++seq);
	rec_seal(pp, r);
}

static void
rec_ping(struct peer *pp, struct rec *r, uint32_t token)
{
	r->kind = IK_PING;
	veil_put32(r->body, token);
	r->bodylen = INNER_TOKEN_LEN;
	rec_seal(pp, r);
}

/* pp opens r, as recorded: the pools are made by a pair that talks. */
static void
rec_open(struct peer *pp, const struct rec *r)
{
	static struct vs_opened o;

	if (vs_open(pp->s, r->b, r->n, &o) != 0 || o.vo_kind != r->kind)
		abort();
}

static void
rec_close(struct peer *pp, struct rec *r)
{
	struct vbuf w;

	r->kind = IK_CLOSE;
	r->bodylen = 0;
	vbuf_writer(&w, r->b, sizeof(r->b));
	if (vs_close(pp->s, &w) != 0)
		abort();
	r->n = w.vb_len;
}

/*
 * The pools, from one conversation with fixed ratchet scalars (so a fresh
 * pair that opens and seals the same way gets the same keys): alice's first
 * chain (texts of several buckets), bob's answer on his chain r0 and then
 * his first step, alice's second chain, bob's second, CLOSEs last. Messages
 * of three chains each way: a script can open them as they came, out of
 * turn, late or twice.
 */
static void
setup(void)
{
	struct rec *a = pool_ab, *b = pool_ba;

	peer_init(&A, 0x00, "alice", 2, 1, 0x11);
	peer_init(&B, 0x20, "bob", 1, 2, 0x61);
	record_handshake();
	rec_text(&B, &b[0], 3, 'g');		/* bob's chain r0 */
	rec_text(&A, &a[0], 5, 'a');		/* alice's first step */
	rec_text(&A, &a[1], 1, 'b');
	rec_text(&A, &a[2], 300, 'c');
	rec_open(&A, &b[0]);
	rec_open(&B, &a[0]);
	rec_open(&B, &a[1]);
	rec_open(&B, &a[2]);
	rec_text(&B, &b[1], 125, 'h');		/* bob's first step */
	rec_ping(&B, &b[2], 0x01020304);
	rec_open(&A, &b[1]);
	rec_open(&A, &b[2]);
	rec_text(&A, &a[3], MSG_MAX, 'd');	/* alice's second step */
	rec_text(&A, &a[4], 61, 'e');
	rec_open(&B, &a[3]);
	rec_open(&B, &a[4]);
	rec_text(&B, &b[3], 2000, 'i');		/* bob's second step */
	rec_open(&A, &b[3]);
	rec_text(&A, &a[5], 62, 'f');		/* alice's third */
	rec_close(&A, &a[6]);
	rec_close(&B, &b[4]);
	npool_ab = 7;
	npool_ba = 5;
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
	case VEIL_E_BADKEY:
		return 1;
	default:
		return 0;
	}
}

/* Refusals counted towards VS_MAX_AUTH_FAIL (session.h): they may end the session. */
static int
counted(int r)
{
	return r == VEIL_E_AUTH || r == VEIL_E_INVALID || r == VEIL_E_BADKEY ||
	    r == VEIL_E_STATE;
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
	int alive, r;

	alive = vs_alive(pp->s);
	r = vs_open(pp->s, in, n, &o);
	if (r == 0 || counted(r) || !keeps_alive(r) || vs_alive(pp->s) != alive)
		dirty = 1;
	if (r == 0) {
		if (!alive || mutated)
			abort();
		if (o.vo_bodylen > INNER_BODY_MAX ||
		    proto_inner_parse(o.vo_kind, o.vo_body, o.vo_bodylen, NULL) != 0)
			abort();
		if (o.vo_kind == IK_CLOSE && vs_alive(pp->s))
			abort();
		if (o.vo_kind != IK_CLOSE && !vs_alive(pp->s))
			abort();
		if (want != NULL && (o.vo_kind != want->kind || o.vo_bodylen != want->bodylen ||
		    memcmp(o.vo_body, want->body, want->bodylen) != 0))
			abort();
		return 0;
	}
	if (!alive) {
		if (r != VEIL_E_STATE)
			abort();
		return r;
	}
	if (counted(r)) {
		/*
		 * Counted (INVALID and BADKEY may also be uncounted decode
		 * refusals, so this count is at least the session's): it ends
		 * only at the VS_MAX_AUTH_FAIL-th.
		 */
		if (++*auth_fails < VS_MAX_AUTH_FAIL && !vs_alive(pp->s))
			abort();
	} else if (!keeps_alive(r) && vs_alive(pp->s)) {
		abort();
	} else if (keeps_alive(r) && !vs_alive(pp->s)) {
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

/* A live TEXT (or, kind bit, PING) from one side, opened by the other. */
static void
live_msg(struct peer *from, struct peer *to, uint8_t len, int ping, int *auth_fails)
{
	uint8_t buf[E2E_MAX];
	struct rec want;
	struct vbuf w;
	int r;

	if (ping) {
		want.kind = IK_PING;
		veil_put32(want.body, len);
		want.bodylen = INNER_TOKEN_LEN;
	} else
		rec_body(&want, (size_t)len + 1, 'z', 1);
	vbuf_writer(&w, buf, sizeof(buf));
	r = vs_seal(from->s, want.kind, want.body, want.bodylen, &w);
	if (r != 0) {
		/* A dead session, or the chain's limit; a failed step would end it. */
		if (r != VEIL_E_STATE && r != VEIL_E_LIMIT && vs_alive(from->s))
			abort();
		dirty = 1;
		return;
	}
	dirty = 1;
	if (w.vb_len > sizeof(buf) || w.vb_len < E2E_DATA_MIN)
		abort();
	(void)open_one(to, buf, w.vb_len, &want, 0, auth_fails);
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
 *   5  a live PING from alice to bob (arg bit 0: bob to alice)
 *   6  bob opens alice's recorded message arg twice (a replay)
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
				live_msg(&B, &A, (uint8_t)(arg << 3), 0, &af_a);
			else
				live_msg(&A, &B, (uint8_t)(arg << 3), 0, &af_b);
			break;
		case 5:
			if (arg & 1)
				live_msg(&B, &A, arg, 1, &af_a);
			else
				live_msg(&A, &B, arg, 1, &af_b);
			break;
		case 6:
			rc = &pool_ab[arg % npool_ab];
			if (open_one(&B, rc->b, rc->n, rc, 0, &af_b) == 0 && rc->kind != IK_CLOSE &&
			    open_one(&B, rc->b, rc->n, rc, 0, &af_b) != VEIL_E_REPLAY)
				abort();
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
