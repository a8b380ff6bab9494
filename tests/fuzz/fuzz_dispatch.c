/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: keyd requests as keyd sees them. Two keyds (fixed
 * identities, their own known_peers files, unlinked as soon as open)
 * each serve two connections through keyd_dispatch (keyd/dispatch.c), the
 * way server.c does once a whole request has been read. The four
 * connections are endpoints 0..3: A0, B0, A1, B1 (bit 0 the keyd, bit 1 the
 * connection). The input is a sequence of units, each one control byte and
 * one length-prefixed IPC request:
 *
 *   ctl bits 0-1  the endpoint the request goes to
 *   ctl bit 2     splice: if the request decodes, its blob is replaced by
 *                 the last blob endpoint (ctl >> 4) & 3 was answered (a
 *                 handshake message or a sealed message), so keyds really
 *                 talk through the fuzzer without it guessing ECDH outputs
 *                 or tags; A0 and A1 talking makes one identity under two
 *                 nicknames (pins refusing a changed key), an endpoint
 *                 spliced from itself a reflection
 *   ctl bit 3     after the request, both keyds' clock jumps by 700 seconds
 *                 (veil/1's rekey timer; now only keyd's pin lock waits see it)
 *   ctl bit 6     before the request, "another process" takes or lets go of
 *                 the lock on this keyd's known_peers (a second open file)
 *   ctl bit 7     before the request, the millisecond clock server.c passes
 *                 jumps by KEYD_LOCK_WAIT_MS (a request put off is refused)
 *
 * A request keyd refuses with KEYD_CLOSE (or answers with KEYD_ANSWER_CLOSE)
 * closes the connection, as server.c does; the next unit goes to a new
 * connection. Checked on every answer: it is one whole IPC message that
 * decodes as an answer, its code is the request's answer code or
 * IPC_ANS_ERROR, and neither keyd's identity seed appears in it; a
 * connection never holds more than KEYD_MAX_SESSIONS; a refusal in
 * ANS_HS_NEXT has wiped its session. While the lock is taken: KEYD_WAIT
 * comes only for a request that needs known_peers (HS_NEXT, VERIFY), with
 * no answer and the connection's sessions as they were, and such a request
 * that is answered is answered VEIL_E_BUSY, nothing changed. keyd never
 * keeps the lock past a request.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <sys/file.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fkeyd {
	struct vs_identity	 fk_id;
	struct keyd_pins	 fk_pins;
	struct keyd_ctx		 fk_ctx;
	char			 fk_path[PATH_MAX];
	int			 fk_other;	/* another open file of known_peers */
	int			 fk_held;	/* ... holding its lock */
};

struct endpoint {
	struct fkeyd		*ep_keyd;
	struct keyd_conn	*ep_conn;
	uint8_t			 ep_blob[E2E_MAX];	/* last blob answered */
	size_t			 ep_bloblen;
};

static struct fkeyd K[2];
static struct endpoint E[4];
static char home[PATH_MAX];
static uint8_t reqbuf[KEYD_ANS_MAX], ansbuf[KEYD_ANS_MAX];
static struct ipc_msg q, a;
static uint64_t fake_now, fake_ms;
static int ready;

static uint64_t
fuzz_now(void)
{
	return fake_now;
}

static void
cleanup(void)
{
	int i;

	for (i = 0; i < 4; i++)
		keyd_conn_free(E[i].ep_conn);
	for (i = 0; i < 2; i++) {
		(void)close(K[i].fk_other);
		keyd_ctx_free(&K[i].fk_ctx);
		keyd_pins_close(&K[i].fk_pins);
		vc_wipe(&K[i].fk_id, sizeof(K[i].fk_id));
	}
}

/* known_peers where fsync costs nothing when we can: /dev/shm, else TMPDIR. */
static void
setup(void)
{
	const char *t = getenv("TMPDIR");
	struct stat st;
	size_t i;
	int k;

	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	(void)snprintf(home, sizeof(home), "%s/veil-fuzz.XXXXXX", t != NULL ? t : "/tmp");
	if (mkdtemp(home) == NULL)
		abort();
	for (k = 0; k < 2; k++) {
		for (i = 0; i < ED25519_SEED_LEN; i++)
			K[k].fk_id.id_seed[i] = (uint8_t)(0x40 * k + 3 * i + 1);
		if (vc_ed25519_public(K[k].fk_id.id_seed, K[k].fk_id.id_pub) != 0)
			abort();
		(void)snprintf(K[k].fk_path, sizeof(K[k].fk_path), "%s/known_peers_%c", home,
		    'a' + k);
		if (keyd_pins_open(&K[k].fk_pins, K[k].fk_path) != 0 ||
		    keyd_ctx_init(&K[k].fk_ctx, &K[k].fk_id, &K[k].fk_pins) != 0 ||
		    (K[k].fk_other = open(K[k].fk_path, O_RDWR | O_CLOEXEC)) == -1)
			abort();
		K[k].fk_ctx.kc_now = fuzz_now;
	}
	/*
	 * pins.c works on the open descriptor only (the path is for messages):
	 * the files go at once, so a crash or a kill leaves nothing behind.
	 */
	for (k = 0; k < 2; k++)
		if (unlink(K[k].fk_path) != 0)
			abort();
	if (rmdir(home) != 0)
		abort();
	for (k = 0; k < 4; k++)
		E[k].ep_keyd = &K[k & 1];
	if (atexit(cleanup) != 0)
		abort();
	ready = 1;
}

/* Every input starts from empty known_peers and new connections. */
static void
reset(void)
{
	int k;

	fake_now = 5000;
	fake_ms = 1000;
	for (k = 0; k < 2; k++) {
		if (K[k].fk_held && flock(K[k].fk_other, LOCK_UN) != 0)
			abort();
		K[k].fk_held = 0;
		if (ftruncate(K[k].fk_pins.kp_fd, 0) != 0)
			abort();
		/* Nor anything keyd remembers of earlier inputs: provisional contacts, budget. */
		memset(K[k].fk_pins.kp_prov, 0, KEYD_PROV_MAX * sizeof(*K[k].fk_pins.kp_prov));
		K[k].fk_pins.kp_prov_tick = 0;
		K[k].fk_pins.kp_budget_set = 0;
	}
	for (k = 0; k < 4; k++) {
		keyd_conn_free(E[k].ep_conn);
		if ((E[k].ep_conn = keyd_conn_new()) == NULL)
			abort();
		E[k].ep_bloblen = 0;
	}
}

static int
contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	return n >= m && memmem(hay, n, needle, m) != NULL;
}

/* Checks the answer to a request with code code and keeps its blob. */
static void
check_answer(struct endpoint *e, uint8_t code, const uint8_t *ans, size_t n)
{
	const uint8_t *blob = NULL;
	size_t len, bloblen = 0;

	if (proto_ipc_length(ans, n, &len) != 0 || len + IPC_LEN_HDR != n ||
	    proto_ipc_decode(ans + IPC_LEN_HDR, len, 1, &a) != 0)
		abort();
	if (a.im_code != IPC_ANS_ERROR &&
	    a.im_code != (code == REQ_HS_ACCEPT ? ANS_HS : (code | 0x80)))
		abort();
	if (contains(ans, n, K[0].fk_id.id_seed, ED25519_SEED_LEN) ||
	    contains(ans, n, K[1].fk_id.id_seed, ED25519_SEED_LEN))
		abort();
	if (keyd_conn_nsessions(e->ep_conn) > KEYD_MAX_SESSIONS)
		abort();
	if (a.im_code == ANS_SEALED && a.im_count > 0) {
		blob = a.im_items[0].it_blob;
		bloblen = a.im_items[0].it_bloblen;
	} else if (a.im_code != IPC_ANS_ERROR && a.im_code != ANS_VERIFY &&
	    a.im_code != ANS_HELLO && a.im_code != ANS_FORGET) {
		blob = a.im_blob;
		bloblen = a.im_bloblen;
	}
	if (bloblen > sizeof(e->ep_blob))
		abort();
	if (bloblen > 0) {
		memcpy(e->ep_blob, blob, bloblen);
		e->ep_bloblen = bloblen;
	}
}

/* "Another process" takes or lets go of keyd k's known_peers lock. */
static void
toggle_lock(struct fkeyd *k)
{
	if (flock(k->fk_other, (k->fk_held ? LOCK_UN : LOCK_EX) | LOCK_NB) != 0)
		abort();	/* keyd never keeps it between requests */
	k->fk_held = !k->fk_held;
}

/* One request body of n bytes to endpoint e, its blob from src if not NULL. */
static void
request(struct endpoint *e, const struct endpoint *src, const uint8_t *body, size_t n)
{
	struct fkeyd *k = e->ep_keyd;
	struct vbuf w, out;
	size_t len, nsess;
	uint8_t code;
	int r;

	if (src != NULL && proto_ipc_decode(body, n, 0, &q) == 0) {
		q.im_blob = src->ep_blob;
		q.im_bloblen = src->ep_bloblen;
		vbuf_writer(&w, reqbuf, sizeof(reqbuf));
		if (proto_ipc_encode(&w, &q) == 0 &&
		    proto_ipc_length(reqbuf, w.vb_len, &len) == 0) {
			body = reqbuf + IPC_LEN_HDR;
			n = len;
		}
	}
	memset(&q, 0, sizeof(q));
	code = n > 0 ? body[0] : 0;
	nsess = keyd_conn_nsessions(e->ep_conn);
	vbuf_writer(&out, ansbuf, sizeof(ansbuf));
	r = keyd_dispatch(&k->fk_ctx, e->ep_conn, body, n, fake_ms, &out);
	if (k->fk_pins.kp_locked)
		abort();
	if (r == KEYD_WAIT) {
		/* Put off: nothing done, nothing answered; server.c keeps it. */
		if (!k->fk_held || (code != REQ_HS_NEXT && code != REQ_VERIFY) ||
		    out.vb_len != 0 || keyd_conn_nsessions(e->ep_conn) != nsess)
			abort();
		return;
	}
	if (r == KEYD_ANSWER_CLOSE) {
		/* A HELLO of another version: told so, then closed. */
		if (code != REQ_HELLO || out.vb_len > sizeof(ansbuf))
			abort();
		check_answer(e, code, ansbuf, out.vb_len);
		if (a.im_code != IPC_ANS_ERROR || a.im_err != (uint8_t)-VEIL_E_VERSION)
			abort();
		r = KEYD_CLOSE;
	}
	if (r == KEYD_CLOSE) {
		/* server.c closes the connection; the client may come back. */
		keyd_conn_free(e->ep_conn);
		if ((e->ep_conn = keyd_conn_new()) == NULL)
			abort();
		return;
	}
	if (r != 0 || out.vb_len > sizeof(ansbuf))
		abort();
	check_answer(e, code, ansbuf, out.vb_len);
	/* Under someone else's lock a handshake step or verify is refused, never taken. */
	if (k->fk_held && (code == REQ_HS_NEXT || code == REQ_VERIFY) &&
	    (a.im_code != IPC_ANS_ERROR || a.im_err != (uint8_t)-VEIL_E_BUSY ||
	    keyd_conn_nsessions(e->ep_conn) != nsess))
		abort();
	/* A refused peer: its session is gone before the answer says so. */
	if (a.im_code == ANS_HS_NEXT && a.im_done && a.im_trust == TRUST_REFUSED &&
	    keyd_conn_nsessions(e->ep_conn) + 1 != nsess)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t ctl;

	if (!ready)
		setup();
	reset();
	while (size > 1) {
		ctl = data[0];
		data++;
		size--;
		if (proto_ipc_length(data, size, &len) != 0 || size - IPC_LEN_HDR < len)
			break;
		if (ctl & 0x40)
			toggle_lock(E[ctl & 3].ep_keyd);
		if (ctl & 0x80)
			fake_ms += KEYD_LOCK_WAIT_MS;
		request(&E[ctl & 3], (ctl & 4) != 0 ? &E[(ctl >> 4) & 3] : NULL,
		    data + IPC_LEN_HDR, len);
		data += IPC_LEN_HDR + len;
		size -= IPC_LEN_HDR + len;
		if (ctl & 8)
			fake_now += 700;
	}
	return 0;
}
