/* SPDX-License-Identifier: ISC */
/*
 * keyd's request table (dispatch.c), driven in-process with encoded requests:
 * state rules (HELLO first, once, of our IPC version), malformed requests
 * closing the connection, per-connection handles, batch seal, the trust of
 * PROTOCOL.md 4 decided once a handshake is proven (pins by key, labels per
 * room, verified entries, --expect, our own key and name, the pin budget),
 * a refusal that looks the same on the wire, replacements, forget, verify
 * with the current trust, status, the session cap, errors that say whether
 * the session ended (and never name a handle), and a request put off (not
 * half done) while another process holds known_peers. Each "keyd" here is
 * one keyd_ctx with its own identity and known_peers; each "connection" one
 * keyd_conn.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"
#include "unit.h"

struct tkeyd {
	char			 tk_home[PATH_MAX];
	struct vs_identity	 tk_id;
	struct keyd_pins	 tk_pins;
	struct keyd_ctx		 tk_ctx;
};

static uint8_t reqbuf[KEYD_ANS_MAX];
static uint8_t ansbuf[KEYD_ANS_MAX];
static struct ipc_msg req, ans;
static uint8_t room[ROOM_ID_LEN];
static uint8_t room_key_flip;	/* XORed into the responder's room key */
static uint32_t replaces;	/* REQ_HS_ACCEPT's replaces field, for the next one */
static uint64_t fake_now = 1000;	/* keyd's monotonic seconds */

static uint64_t
test_now(void)
{
	return fake_now;
}

static void
tk_init(struct tkeyd *k)
{
	const char *t = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	int created;

	memset(k, 0, sizeof(*k));
	(void)snprintf(k->tk_home, sizeof(k->tk_home), "%s/veil-disp.XXXXXX",
	    t != NULL ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(k->tk_home));
	ck_assert_int_eq(keyd_identity_load(k->tk_home, &k->tk_id, &created), 0);
	(void)snprintf(path, sizeof(path), "%s/known_peers", k->tk_home);
	ck_assert_int_eq(keyd_pins_open(&k->tk_pins, path), 0);
	ck_assert_int_eq(keyd_ctx_init(&k->tk_ctx, &k->tk_id, &k->tk_pins), 0);
	k->tk_ctx.kc_now = test_now;
	memset(room, 0x5a, sizeof(room));
	fake_now = 1000;
	replaces = 0;
}

static void
tk_free(struct tkeyd *k)
{
	char path[PATH_MAX + 32];

	keyd_ctx_free(&k->tk_ctx);
	keyd_pins_close(&k->tk_pins);
	vc_wipe(&k->tk_id, sizeof(k->tk_id));
	(void)snprintf(path, sizeof(path), "%s/known_peers", k->tk_home);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/identity", k->tk_home);
	(void)unlink(path);
	(void)rmdir(k->tk_home);
}

/*
 * Sends req (already filled; it stays encoded in reqbuf, reqlen bytes of
 * body) and decodes the answer into ans. A KEYD_WAIT leaves no answer.
 */
static size_t reqlen;

static int
dispatch_again(struct tkeyd *k, struct keyd_conn *c, uint64_t now_ms)
{
	struct vbuf out;
	size_t len;
	int r;

	vbuf_writer(&out, ansbuf, sizeof(ansbuf));
	r = keyd_dispatch(&k->tk_ctx, c, reqbuf + IPC_LEN_HDR, reqlen, now_ms, &out);
	if (r == KEYD_WAIT)
		ck_assert_uint_eq(out.vb_len, 0);
	if (r != 0)
		return r;
	ck_assert_int_eq(proto_ipc_length(ansbuf, out.vb_len, &len), 0);
	ck_assert_uint_eq(len + IPC_LEN_HDR, out.vb_len);
	ck_assert_int_eq(proto_ipc_decode(ansbuf + IPC_LEN_HDR, len, 1, &ans), 0);
	return 0;
}

static int
call_at(struct tkeyd *k, struct keyd_conn *c, uint64_t now_ms)
{
	struct vbuf w;

	vbuf_writer(&w, reqbuf, sizeof(reqbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &req), 0);
	ck_assert_int_eq(proto_ipc_length(reqbuf, w.vb_len, &reqlen), 0);
	ck_assert_uint_eq(reqlen + IPC_LEN_HDR, w.vb_len);
	memset(&req, 0, sizeof(req));
	return dispatch_again(k, c, now_ms);
}

static int
call(struct tkeyd *k, struct keyd_conn *c)
{
	return call_at(k, c, 1000);
}

/*
 * The entries of known_peers labelled nick (any room), under the lock as
 * keyd_dispatch takes it: how many, and the key of the first in pub.
 */
static int
pin_lookup(struct tkeyd *k, const char *nick, uint8_t pub[static ED25519_PUB_LEN],
    int *found)
{
	const struct keyd_pin *e;
	size_t i;
	int r;

	*found = 0;
	memset(pub, 0, ED25519_PUB_LEN);
	ck_assert_int_eq(keyd_pins_trylock(&k->tk_pins), 0);
	r = keyd_pins_load(&k->tk_pins);
	for (i = 0; r == 0 && i < k->tk_pins.kp_n; i++) {
		e = &k->tk_pins.kp_ent[i];
		if (e->pn_nicklen != strlen(nick) || memcmp(e->pn_nick, nick, e->pn_nicklen) != 0)
			continue;
		if ((*found)++ == 0)
			memcpy(pub, e->pn_key, ED25519_PUB_LEN);
	}
	keyd_pins_unlock(&k->tk_pins);
	return r;
}

/* Entries in known_peers. */
static size_t
pin_count(struct tkeyd *k)
{
	size_t n;

	ck_assert_int_eq(keyd_pins_trylock(&k->tk_pins), 0);
	ck_assert_int_eq(keyd_pins_load(&k->tk_pins), 0);
	n = k->tk_pins.kp_n;
	keyd_pins_unlock(&k->tk_pins);
	return n;
}

/* known_peers as it is on disk. */
static void
pin_file(struct tkeyd *k, char *buf, size_t cap)
{
	char path[PATH_MAX + 32];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/known_peers", k->tk_home);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	n = read(fd, buf, cap - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
}

/* Appends text to known_peers, as a person or keyd --trust would edit it. */
static void
pin_edit(struct tkeyd *k, const char *text)
{
	char path[PATH_MAX + 32];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/known_peers", k->tk_home);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
hello(struct tkeyd *k, struct keyd_conn *c, const char *nick)
{
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)nick;
	req.im_nicklen = strlen(nick);
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HELLO);
}

static void
hello_expect(struct tkeyd *k, struct keyd_conn *c, const char *nick, const char *enick,
    const uint8_t fpr[static FPR_LEN])
{
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)nick;
	req.im_nicklen = strlen(nick);
	req.im_count = 1;
	req.im_expect[0].ex_nick = (const uint8_t *)enick;
	req.im_expect[0].ex_nicklen = strlen(enick);
	memcpy(req.im_expect[0].ex_fpr, fpr, FPR_LEN);
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HELLO);
}

static uint32_t
hs_start(struct tkeyd *k, struct keyd_conn *c, uint8_t *blob, size_t *len)
{
	req.im_code = REQ_HS_START;
	memcpy(req.im_room, room, ROOM_ID_LEN);
	memset(req.im_room_key, 0x24, ROOM_KEY_LEN);
	req.im_me = 1;
	req.im_peer = 2;
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HS);
	memcpy(blob, ans.im_blob, ans.im_bloblen);
	*len = ans.im_bloblen;
	return ans.im_handle;
}

static uint32_t
hs_accept(struct tkeyd *k, struct keyd_conn *c, uint8_t *blob, size_t *len)
{
	req.im_code = REQ_HS_ACCEPT;
	memcpy(req.im_room, room, ROOM_ID_LEN);
	memset(req.im_room_key, 0x24 ^ room_key_flip, ROOM_KEY_LEN);
	req.im_me = 2;
	req.im_peer = 1;
	req.im_replaces = replaces;
	req.im_blob = blob;
	req.im_bloblen = *len;
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HS);
	memcpy(blob, ans.im_blob, ans.im_bloblen);
	*len = ans.im_bloblen;
	return ans.im_handle;
}

/* One HS_NEXT; the answer stays in ans (ANS_HS_NEXT or IPC_ANS_ERROR). */
static void
hs_next(struct tkeyd *k, struct keyd_conn *c, uint32_t h, uint8_t *blob, size_t *len)
{
	req.im_code = REQ_HS_NEXT;
	req.im_handle = h;
	req.im_blob = blob;
	req.im_bloblen = *len;
	ck_assert_int_eq(call(k, c), 0);
	if (ans.im_code == ANS_HS_NEXT) {
		memcpy(blob, ans.im_blob, ans.im_bloblen);
		*len = ans.im_bloblen;
	}
}

/* What one side's last ANS_HS_NEXT said (ans is overwritten by the next call). */
struct hs_said {
	uint8_t		 hs_code;
	uint8_t		 hs_err;
	uint8_t		 hs_done;
	uint8_t		 hs_trust;
	uint8_t		 hs_flags;
	uint8_t		 hs_reason;
	char		 hs_nick[NICK_MAX + 1];
	char		 hs_label[NICK_MAX + 1];
	uint8_t		 hs_fpr[FPR_LEN];
	uint8_t		 hs_fpr2[FPR_LEN];
	size_t		 hs_bloblen;
};

static struct hs_said said_i, said_r;	/* of the last handshake() */

static void
hs_keep(struct hs_said *h)
{
	memset(h, 0, sizeof(*h));
	h->hs_code = ans.im_code;
	h->hs_err = ans.im_err;
	if (ans.im_code != ANS_HS_NEXT)
		return;
	h->hs_done = ans.im_done;
	h->hs_trust = ans.im_trust;
	h->hs_flags = ans.im_flags;
	h->hs_reason = ans.im_reason;
	memcpy(h->hs_nick, ans.im_nick, ans.im_nicklen);
	memcpy(h->hs_label, ans.im_label, ans.im_labellen);
	memcpy(h->hs_fpr, ans.im_fpr, FPR_LEN);
	memcpy(h->hs_fpr2, ans.im_fpr2, FPR_LEN);
	h->hs_bloblen = ans.im_bloblen;
}

/*
 * Full handshake between connection ci of keyd ki (initiator) and cr of kr:
 * HS_INIT, HS_RESP, HS_FIN. Returns 0 when both sides answered ANS_HS_NEXT
 * done (trusts in *trust_i, *trust_r, all of it in said_i, said_r; a refused
 * side has trust TRUST_REFUSED), -1 when one answered IPC_ANS_ERROR (left in
 * ans). The initiator's HS_FIN goes to the responder whatever it decided.
 */
static int
handshake(struct tkeyd *ki, struct keyd_conn *ci, struct tkeyd *kr, struct keyd_conn *cr,
    uint32_t *hi, uint32_t *hr, uint8_t *trust_i, uint8_t *trust_r)
{
	static uint8_t blob[E2E_MAX];
	size_t len;

	*trust_i = *trust_r = 0;
	memset(&said_i, 0, sizeof(said_i));
	memset(&said_r, 0, sizeof(said_r));
	*hi = hs_start(ki, ci, blob, &len);
	ck_assert_uint_eq(len, E2E_HS_INIT_LEN);
	*hr = hs_accept(kr, cr, blob, &len);
	ck_assert_uint_eq(len, E2E_HS_RESP_LEN);
	hs_next(ki, ci, *hi, blob, &len);		/* HS_RESP -> HS_FIN, done */
	hs_keep(&said_i);
	if (ans.im_code != ANS_HS_NEXT)
		return -1;
	ck_assert_uint_eq(ans.im_done, 1);
	ck_assert_uint_eq(ans.im_bloblen, E2E_HS_FIN_LEN);
	*trust_i = ans.im_trust;
	hs_next(kr, cr, *hr, blob, &len);		/* HS_FIN, done */
	hs_keep(&said_r);
	if (ans.im_code != ANS_HS_NEXT)
		return -1;
	ck_assert_uint_eq(ans.im_done, 1);
	ck_assert_uint_eq(ans.im_bloblen, 0);
	*trust_r = ans.im_trust;
	return 0;
}

static void
fpr_of(struct tkeyd *k, uint8_t fpr[static FPR_LEN])
{
	ck_assert_int_eq(vc_fingerprint(k->tk_id.id_pub, fpr), 0);
}

/* req's body: a TEXT of stream 0x0102030405060708, seq 1, no flags, text t. */
static uint8_t text_body[INNER_BODY_MAX];

static void
set_text(const char *t)
{
	struct inner_msg im;
	struct vbuf w;

	memset(&im, 0, sizeof(im));
	im.in_kind = IK_TEXT;
	im.in_stream = 0x0102030405060708ULL;
	im.in_seq = 1;
	im.in_text = (const uint8_t *)t;
	im.in_textlen = strlen(t);
	vbuf_writer(&w, text_body, sizeof(text_body));
	ck_assert_int_eq(proto_inner_build(&w, &im), 0);
	req.im_kind = IK_TEXT;
	req.im_text = text_body;
	req.im_textlen = w.vb_len;
}

/* ans holds a TEXT whose text is t. */
static void
is_text(const char *t)
{
	struct inner_msg im;

	ck_assert_uint_eq(ans.im_kind, OPEN_TEXT);
	ck_assert_int_eq(proto_inner_parse(ans.im_kind, ans.im_text, ans.im_textlen, &im), 0);
	ck_assert_uint_eq(im.in_textlen, strlen(t));
	ck_assert_mem_eq(im.in_text, t, strlen(t));
}

START_TEST(test_hello_answers_fingerprint)
{
	struct tkeyd k;
	struct keyd_conn *c;
	uint8_t fpr[FPR_LEN];

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	fpr_of(&k, fpr);
	ck_assert_mem_eq(ans.im_fpr, fpr, FPR_LEN);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

START_TEST(test_hello_required_first)
{
	static const uint8_t codes[] = { REQ_HS_START, REQ_HS_NEXT, REQ_SEAL, REQ_OPEN,
	    REQ_CLOSE, REQ_FORGET, REQ_VERIFY, REQ_STATUS };
	static const uint8_t blob[] = { 1, 1 };
	struct tkeyd k;
	struct keyd_conn *c;
	size_t i;

	tk_init(&k);
	for (i = 0; i < sizeof(codes); i++) {
		c = keyd_conn_new();
		req.im_code = codes[i];
		memcpy(req.im_room, room, ROOM_ID_LEN);
		req.im_me = 1;
		req.im_peer = 2;
		req.im_handle = 1;
		req.im_handles[0] = 1;
		req.im_count = 1;
		set_text("hi");
		req.im_blob = blob;
		req.im_bloblen = sizeof(blob);
		req.im_nick = (const uint8_t *)"bob";
		req.im_nicklen = 3;
		ck_assert_msg(call(&k, c) == KEYD_CLOSE, "code 0x%02x served before HELLO",
		    codes[i]);
		keyd_conn_free(c);
	}
	tk_free(&k);
}
END_TEST

START_TEST(test_hello_twice)
{
	struct tkeyd k;
	struct keyd_conn *c;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)"mallory";
	req.im_nicklen = 7;
	ck_assert_int_eq(call(&k, c), KEYD_CLOSE);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

START_TEST(test_malformed_closes)
{
	static const uint8_t bad[][8] = {
		{ 0x00 },			/* code 0 */
		{ 0x81, 0, 0, 0, 0 },		/* an answer code as a request */
		{ 0x7f },			/* unknown request */
		{ REQ_OPEN, 0, 0, 0, 1 },	/* truncated: no blob */
		{ REQ_CLOSE, 0, 0, 0, 1, 0 },	/* trailing byte */
		{ REQ_CLOSE, 0, 0, 0, 0 },	/* handle 0 */
		{ 0x07, 0, 0, 0, 1 },		/* veil/1's REQ_REKEY: gone */
	};
	static const size_t badlen[] = { 1, 5, 1, 5, 6, 5, 5 };
	struct tkeyd k;
	struct keyd_conn *c;
	struct vbuf out;
	size_t i;

	tk_init(&k);
	for (i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++) {
		c = keyd_conn_new();
		hello(&k, c, "alice");
		vbuf_writer(&out, ansbuf, sizeof(ansbuf));
		ck_assert_msg(keyd_dispatch(&k.tk_ctx, c, bad[i], badlen[i], 1000, &out) ==
		    KEYD_CLOSE, "malformed request %zu answered", i);
		ck_assert_uint_eq(out.vb_len, 0);
		keyd_conn_free(c);
	}
	tk_free(&k);
}
END_TEST

START_TEST(test_unknown_handle)
{
	struct tkeyd k;
	struct keyd_conn *c;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	req.im_code = REQ_CLOSE;
	req.im_handle = 99;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_NOSESSION);
	ck_assert_uint_eq(ans.im_handle, 99);
	ck_assert_uint_gt(ans.im_textlen, 0);
	/* The connection lives on. */
	req.im_code = REQ_CLOSE;
	req.im_handle = 98;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_handle, 98);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

START_TEST(test_other_connection_handle)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd k;
	struct keyd_conn *a, *b;
	uint32_t h;
	size_t len;

	tk_init(&k);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&k, a, "alice");
	hello(&k, b, "bob");
	h = hs_start(&k, a, blob, &len);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	/* b names a's handle: unknown there. */
	req.im_code = REQ_CLOSE;
	req.im_handle = h;
	ck_assert_int_eq(call(&k, b), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_NOSESSION);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = h;
	set_text("steal");
	ck_assert_int_eq(call(&k, b), 0);
	ck_assert_uint_eq(ans.im_code, ANS_SEALED);
	ck_assert_uint_eq(ans.im_items[0].it_status, -VEIL_E_NOSESSION);
	ck_assert_uint_eq(ans.im_items[0].it_bloblen, 0);
	/* a's session is untouched. */
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	req.im_code = REQ_CLOSE;
	req.im_handle = h;
	ck_assert_int_eq(call(&k, a), 0);
	ck_assert_uint_eq(ans.im_code, ANS_CLOSE);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 0);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&k);
}
END_TEST

START_TEST(test_handles_never_reused)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd k;
	struct keyd_conn *c;
	uint32_t h1, h2;
	size_t len;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	h1 = hs_start(&k, c, blob, &len);
	req.im_code = REQ_CLOSE;
	req.im_handle = h1;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_CLOSE);
	h2 = hs_start(&k, c, blob, &len);
	ck_assert_uint_ne(h1, h2);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

START_TEST(test_handshake_two_connections)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, fa[FPR_LEN], fb[FPR_LEN];
	char safety_a[SAFETY_TEXT_MAX + 1];
	uint32_t hi, hr;
	size_t len;

	tk_init(&ka);
	tk_init(&kb);
	fpr_of(&ka, fa);
	fpr_of(&kb, fb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(tr, TRUST_NEW);
	/* Each side names the other, proven: nick and fingerprint, nothing else. */
	ck_assert_str_eq(said_i.hs_nick, "bob");
	ck_assert_mem_eq(said_i.hs_fpr, fb, FPR_LEN);
	ck_assert_str_eq(said_r.hs_nick, "alice");
	ck_assert_mem_eq(said_r.hs_fpr, fa, FPR_LEN);
	ck_assert_uint_eq(said_i.hs_flags, 0);
	ck_assert_uint_eq(said_i.hs_reason, 0);
	ck_assert_str_eq(said_i.hs_label, "");

	/* A message each way. */
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hi;
	set_text("hello bob");
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_code, ANS_SEALED);
	ck_assert_uint_eq(ans.im_items[0].it_status, 0);
	len = ans.im_items[0].it_bloblen;
	memcpy(blob, ans.im_items[0].it_blob, len);
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_code, ANS_OPENED);
	is_text("hello bob");
	/* The same blob again is a replay: refused, the session lives on. */
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_REPLAY);
	ck_assert_uint_eq(keyd_conn_nsessions(b), 1);

	/* Both sides compute the same safety number. */
	req.im_code = REQ_VERIFY;
	req.im_handle = hi;
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_code, ANS_VERIFY);
	ck_assert_mem_eq(ans.im_fpr, fb, FPR_LEN);
	ck_assert_mem_eq(ans.im_fpr2, fa, FPR_LEN);
	ck_assert_uint_eq(ans.im_trust, TRUST_PINNED);	/* new then, pinned now */
	ck_assert_uint_eq(ans.im_safetylen, 83);
	memcpy(safety_a, ans.im_safety, ans.im_safetylen);
	safety_a[ans.im_safetylen] = '\0';
	req.im_code = REQ_VERIFY;
	req.im_handle = hr;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_code, ANS_VERIFY);
	ck_assert_mem_eq(ans.im_nick, "alice", 5);
	ck_assert_mem_eq(ans.im_fpr, fa, FPR_LEN);
	ck_assert_uint_eq(ans.im_safetylen, strlen(safety_a));
	ck_assert_mem_eq(ans.im_safety, safety_a, strlen(safety_a));

	/* bob answers (his first ratchet step), then alice again (hers). */
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hr;
	set_text("hello alice");
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_items[0].it_status, 0);
	ck_assert_uint_eq(ans.im_items[0].it_flags, 0);
	len = ans.im_items[0].it_bloblen;
	memcpy(blob, ans.im_items[0].it_blob, len);
	req.im_code = REQ_OPEN;
	req.im_handle = hi;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&ka, a), 0);
	is_text("hello alice");
	ck_assert_uint_eq(ans.im_gap, 0);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hi;
	set_text("after a step");
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_items[0].it_status, 0);
	len = ans.im_items[0].it_bloblen;
	memcpy(blob, ans.im_items[0].it_blob, len);
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	is_text("after a step");

	/* Close: bob sees OPEN_CLOSED and his session is wiped. */
	req.im_code = REQ_CLOSE;
	req.im_handle = hi;
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_code, ANS_CLOSE);
	len = ans.im_bloblen;
	memcpy(blob, ans.im_blob, len);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 0);
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_kind, OPEN_CLOSED);
	ck_assert_uint_eq(keyd_conn_nsessions(b), 0);

	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_handshake_pinned_second_time)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_int_eq(pin_lookup(&ka, "bob", got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(got, kb.tk_id.id_pub, ED25519_PUB_LEN);
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_PINNED);
	ck_assert_uint_eq(tr, TRUST_PINNED);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * The room key of REQ_HS_START / REQ_HS_ACCEPT reaches the engine: with
 * different ones the initiator's HS_NEXT fails (VEIL_E_AUTH at HS_RESP), and
 * nothing is pinned on either side.
 */
START_TEST(test_handshake_room_key_mismatch)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	room_key_flip = 0x01;
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), -1);
	room_key_flip = 0;
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_AUTH);
	ck_assert_int_eq(pin_lookup(&ka, "bob", got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(pin_lookup(&kb, "alice", got, &found), 0);
	ck_assert_int_eq(found, 0);
	/* The same keyds with the same room key: first contact. */
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(tr, TRUST_NEW);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * Another key claims a nick pinned in this room: REFUSED (PIN), with both
 * fingerprints, decided at alice's side only once mallory has proven her key
 * (finding 2: never on a claim). The wire is what a new contact gets: alice
 * still sends her HS_FIN, of the same size; the refusal is local, the
 * session gone, and nothing is written to known_peers.
 */
START_TEST(test_handshake_changed_identity_refused)
{
	struct tkeyd ka, kb, km;
	struct keyd_conn *a, *b, *m;
	uint8_t ti, tr, fb[FPR_LEN], fm[FPR_LEN];
	char before[4096], after[4096];
	uint32_t hi, hr;

	tk_init(&ka);
	tk_init(&kb);
	tk_init(&km);
	fpr_of(&kb, fb);
	fpr_of(&km, fm);
	a = keyd_conn_new();
	b = keyd_conn_new();
	m = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	hello(&km, m, "bob");		/* another key claiming to be bob */
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	pin_file(&ka, before, sizeof(before));
	ck_assert_int_eq(handshake(&ka, a, &km, m, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(said_i.hs_code, ANS_HS_NEXT);
	ck_assert_uint_eq(said_i.hs_done, 1);
	ck_assert_uint_eq(ti, TRUST_REFUSED);
	ck_assert_uint_eq(said_i.hs_reason, REFUSE_PIN);
	ck_assert_mem_eq(said_i.hs_fpr, fm, FPR_LEN);	/* the one offered */
	ck_assert_mem_eq(said_i.hs_fpr2, fb, FPR_LEN);	/* the one pinned */
	ck_assert_uint_eq(said_i.hs_bloblen, E2E_HS_FIN_LEN);
	/* mallory completed (she cannot tell); alice's refused session is gone. */
	ck_assert_uint_eq(tr, TRUST_NEW);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hi;
	set_text("x");
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_items[0].it_status, -VEIL_E_NOSESSION);
	pin_file(&ka, after, sizeof(after));
	ck_assert_str_eq(before, after);
	keyd_conn_free(a);
	keyd_conn_free(b);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&kb);
	tk_free(&km);
}
END_TEST

/*
 * Pin probing (finding 2): whether alice knew "bob" or not, what goes back on
 * the wire after mallory's HS_RESP is the same: one HS_FIN of 147 bytes.
 */
START_TEST(test_refusal_wire_same_as_new)
{
	struct tkeyd ka, kb, km, kn;
	struct keyd_conn *a, *b, *m, *an;
	uint8_t ti, tr;
	uint32_t hi, hr;
	struct hs_said refused, fresh;

	tk_init(&ka);
	tk_init(&kb);
	tk_init(&km);
	tk_init(&kn);
	a = keyd_conn_new();
	an = keyd_conn_new();
	b = keyd_conn_new();
	m = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kn, an, "alice");	/* an alice who never met bob */
	hello(&kb, b, "bob");
	hello(&km, m, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_int_eq(handshake(&ka, a, &km, m, &hi, &hr, &ti, &tr), 0);
	refused = said_i;
	ck_assert_int_eq(handshake(&kn, an, &km, m, &hi, &hr, &ti, &tr), 0);
	fresh = said_i;
	ck_assert_uint_eq(refused.hs_trust, TRUST_REFUSED);
	ck_assert_uint_eq(fresh.hs_trust, TRUST_NEW);
	ck_assert_uint_eq(refused.hs_code, fresh.hs_code);
	ck_assert_uint_eq(refused.hs_done, fresh.hs_done);
	ck_assert_uint_eq(refused.hs_bloblen, fresh.hs_bloblen);
	keyd_conn_free(a);
	keyd_conn_free(an);
	keyd_conn_free(b);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&kb);
	tk_free(&km);
	tk_free(&kn);
}
END_TEST

START_TEST(test_handshake_expect)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, fb[FPR_LEN], got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&kb);
	fpr_of(&kb, fb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello_expect(&ka, a, "alice", "bob", fb);
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_EXPECTED);
	ck_assert_uint_eq(tr, TRUST_NEW);
	/* Pinned as well, since it was new. */
	ck_assert_int_eq(pin_lookup(&ka, "bob", got, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_handshake_expect_mismatch)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, wrong[FPR_LEN], fb[FPR_LEN], got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&kb);
	fpr_of(&kb, fb);
	memset(wrong, 0xab, sizeof(wrong));
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello_expect(&ka, a, "alice", "bob", wrong);
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_REFUSED);
	ck_assert_uint_eq(said_i.hs_reason, REFUSE_EXPECT);
	ck_assert_mem_eq(said_i.hs_fpr, fb, FPR_LEN);
	ck_assert_mem_eq(said_i.hs_fpr2, wrong, FPR_LEN);
	/* Nothing pinned for a refused peer. */
	ck_assert_int_eq(pin_lookup(&ka, "bob", got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 0);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/* ---- trust (PROTOCOL.md 4) ---- */

START_TEST(test_hello_version)
{
	/* veil/1's HELLO "bob" with no --expect: its first byte is the nick's length. */
	static const uint8_t v1[] = { REQ_HELLO, 3, 'b', 'o', 'b', 0 };
	static const uint8_t v3[] = { REQ_HELLO, 3, 3, 'b', 'o', 'b', 0 };
	struct tkeyd k;
	struct keyd_conn *c;
	struct vbuf out;
	char msg[IPC_ERRMSG_MAX + 1];
	size_t len;

	tk_init(&k);
	c = keyd_conn_new();
	vbuf_writer(&out, ansbuf, sizeof(ansbuf));
	ck_assert_int_eq(keyd_dispatch(&k.tk_ctx, c, v1, sizeof(v1), 1000, &out),
	    KEYD_ANSWER_CLOSE);
	ck_assert_int_eq(proto_ipc_length(ansbuf, out.vb_len, &len), 0);
	ck_assert_int_eq(proto_ipc_decode(ansbuf + IPC_LEN_HDR, len, 1, &ans), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_VERSION);
	ck_assert_uint_eq(ans.im_ended, 0);
	memcpy(msg, ans.im_text, ans.im_textlen);
	msg[ans.im_textlen] = '\0';
	ck_assert_ptr_nonnull(strstr(msg, "version"));
	ck_assert_int_eq(keyd_conn_hello(c), 0);
	keyd_conn_free(c);
	c = keyd_conn_new();
	vbuf_writer(&out, ansbuf, sizeof(ansbuf));
	ck_assert_int_eq(keyd_dispatch(&k.tk_ctx, c, v3, sizeof(v3), 1000, &out),
	    KEYD_ANSWER_CLOSE);
	keyd_conn_free(c);
	/* Ours: answered with our version. */
	c = keyd_conn_new();
	hello(&k, c, "bob");
	ck_assert_uint_eq(ans.im_version, IPC_VERSION);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

/*
 * Finding 6: another key using our own nickname is refused plainly
 * (OWN_NAME) and written nowhere, whichever side starts; a second chatc of
 * our own (same keyd, same key, same nick) is VERIFIED, SELF.
 */
START_TEST(test_own_name)
{
	struct tkeyd ka, km;
	struct keyd_conn *a, *a2, *m;
	uint8_t ti, tr, got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&km);
	a = keyd_conn_new();
	a2 = keyd_conn_new();
	m = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&ka, a2, "alice");
	hello(&km, m, "alice");
	ck_assert_int_eq(handshake(&ka, a, &km, m, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_REFUSED);
	ck_assert_uint_eq(said_i.hs_reason, REFUSE_OWN_NAME);
	ck_assert_int_eq(handshake(&km, m, &ka, a, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(tr, TRUST_REFUSED);
	ck_assert_uint_eq(said_r.hs_reason, REFUSE_OWN_NAME);
	ck_assert_int_eq(pin_lookup(&ka, "alice", got, &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(handshake(&ka, a, &ka, a2, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_VERIFIED);
	ck_assert_uint_eq(tr, TRUST_VERIFIED);
	ck_assert_uint_eq(said_i.hs_flags, TF_SELF);
	ck_assert_uint_eq(said_r.hs_flags, TF_SELF);
	ck_assert_uint_eq(pin_count(&ka), 0);
	keyd_conn_free(a);
	keyd_conn_free(a2);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&km);
}
END_TEST

/* Finding 6: a known key under a new name is PINNED and says which name it had. */
START_TEST(test_known_as)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b, *b2;
	uint8_t ti, tr;
	uint32_t hi, hr;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	b2 = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	hello(&kb, b2, "robert");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_int_eq(handshake(&ka, a, &kb, b2, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_PINNED);
	ck_assert_uint_eq(said_i.hs_flags, TF_KNOWN_AS);
	ck_assert_str_eq(said_i.hs_label, "bob");
	ck_assert_str_eq(said_i.hs_nick, "robert");
	ck_assert_uint_eq(pin_count(&ka), 1);
	keyd_conn_free(a);
	keyd_conn_free(b);
	keyd_conn_free(b2);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * Finding 6: one nickname, two keys, two rooms (two communities): no alarm,
 * a first contact that says the name is someone else's elsewhere. In the
 * room where a name is pinned, another key under it is refused.
 */
START_TEST(test_name_per_room)
{
	struct tkeyd ka, k1, k2;
	struct keyd_conn *a, *b1, *b2;
	uint8_t ti, tr, f1[FPR_LEN], got[ED25519_PUB_LEN];
	uint32_t hi, hr;
	int found;

	tk_init(&ka);
	tk_init(&k1);
	tk_init(&k2);
	fpr_of(&k1, f1);
	a = keyd_conn_new();
	b1 = keyd_conn_new();
	b2 = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&k1, b1, "bob");
	hello(&k2, b2, "bob");
	ck_assert_int_eq(handshake(&ka, a, &k1, b1, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	room[0] ^= 1;				/* another room */
	ck_assert_int_eq(handshake(&ka, a, &k2, b2, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(said_i.hs_flags, TF_NAME_ELSEWHERE);
	ck_assert_mem_eq(said_i.hs_fpr2, f1, FPR_LEN);
	ck_assert_int_eq(handshake(&ka, a, &k2, b2, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_PINNED);
	ck_assert_uint_eq(said_i.hs_flags, 0);
	/* Here "bob" is the second key's: the first one is refused in this room. */
	ck_assert_int_eq(handshake(&ka, a, &k1, b1, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_REFUSED);
	ck_assert_uint_eq(said_i.hs_reason, REFUSE_PIN);
	ck_assert_int_eq(pin_lookup(&ka, "bob", got, &found), 0);
	ck_assert_int_eq(found, 2);
	keyd_conn_free(a);
	keyd_conn_free(b1);
	keyd_conn_free(b2);
	tk_free(&ka);
	tk_free(&k1);
	tk_free(&k2);
}
END_TEST

/* The hex form of a fingerprint for a known_peers line. */
static void
fp_hex(const uint8_t fpr[static FPR_LEN], char out[static 2 * FPR_LEN + 1])
{
	snprintf(out, 2 * FPR_LEN + 1, "%s", unit_tohex(fpr, FPR_LEN));
}

/*
 * keyd --trust by fingerprint for a key not met yet (an fp: entry): the key
 * is VERIFIED in any room from its first meeting, and its line becomes the
 * key's; another key under that name is refused in every room.
 */
START_TEST(test_verified_by_fingerprint)
{
	struct tkeyd ka, kb, km;
	struct keyd_conn *a, *b, *m;
	uint8_t ti, tr, fb[FPR_LEN];
	char line[256], hex[2 * FPR_LEN + 1], file[4096];
	uint32_t hi, hr;

	tk_init(&ka);
	tk_init(&kb);
	tk_init(&km);
	fpr_of(&kb, fb);
	fp_hex(fb, hex);
	(void)snprintf(line, sizeof(line), "fp:%s verified bob * 0\n", hex);
	pin_edit(&ka, line);
	a = keyd_conn_new();
	b = keyd_conn_new();
	m = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	hello(&km, m, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_VERIFIED);
	ck_assert_uint_eq(said_i.hs_flags, 0);
	pin_file(&ka, file, sizeof(file));
	ck_assert_ptr_null(strstr(file, "fp:"));
	ck_assert_ptr_nonnull(strstr(file, unit_tohex(kb.tk_id.id_pub, ED25519_PUB_LEN)));
	ck_assert_ptr_nonnull(strstr(file, " verified bob * "));
	room[3] ^= 1;
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_VERIFIED);
	ck_assert_int_eq(handshake(&ka, a, &km, m, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_REFUSED);
	ck_assert_uint_eq(said_i.hs_reason, REFUSE_PIN);
	ck_assert_mem_eq(said_i.hs_fpr2, fb, FPR_LEN);
	keyd_conn_free(a);
	keyd_conn_free(b);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&kb);
	tk_free(&km);
}
END_TEST

/*
 * Finding 3: a malformed line (a veil/1 one, garbage, a too long one) does
 * not stop anything: it is skipped, the handshake decides on the rest.
 */
START_TEST(test_malformed_line_skipped)
{
	static char junk[1024];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr;
	uint32_t hi, hr;

	tk_init(&ka);
	tk_init(&kb);
	pin_edit(&ka, "# a comment\n\nbob 0011223344556677889900112233445566778899001122334455"
	    "66778899aabb\nnot a line at all\n");
	memset(junk, 'x', sizeof(junk) - 2);
	junk[sizeof(junk) - 2] = '\n';
	pin_edit(&ka, junk);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_PINNED);
	ck_assert_uint_eq(pin_count(&ka), 1);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * Finding 3: a flood of first contacts (a member rejoining with ever new
 * keys). The first KEYD_PIN_BURST are pinned, then the budget is empty: the
 * next contacts still get their sessions (NEW, NOT_PINNED), the store does
 * not grow. One more pin per KEYD_PIN_EVERY seconds. A name claimed by two
 * keys not pinned is CONTESTED and pinned to neither.
 */
START_TEST(test_pin_budget)
{
	struct tkeyd ka, kf, kc, km;
	struct keyd_conn *a, *f, *c, *m;
	uint8_t ti, tr, fc[FPR_LEN], got[ED25519_PUB_LEN];
	char nick[16];
	uint32_t hi, hr;
	int i, found;

	tk_init(&ka);
	a = keyd_conn_new();
	hello(&ka, a, "alice");
	for (i = 0; i < KEYD_PIN_BURST + 6; i++) {
		tk_init(&kf);
		f = keyd_conn_new();
		(void)snprintf(nick, sizeof(nick), "flood%d", i);
		hello(&kf, f, nick);
		ck_assert_int_eq(handshake(&ka, a, &kf, f, &hi, &hr, &ti, &tr), 0);
		ck_assert_uint_eq(ti, TRUST_NEW);
		ck_assert_uint_eq(said_i.hs_flags, i < KEYD_PIN_BURST ? 0 : TF_NOT_PINNED);
		keyd_conn_free(f);
		tk_free(&kf);
	}
	ck_assert_uint_eq(pin_count(&ka), KEYD_PIN_BURST);
	/* Budget empty: carol and a second key as carol, neither pinned. */
	tk_init(&kc);
	tk_init(&km);
	fpr_of(&kc, fc);
	c = keyd_conn_new();
	m = keyd_conn_new();
	hello(&kc, c, "carol");
	hello(&km, m, "carol");
	ck_assert_int_eq(handshake(&ka, a, &kc, c, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(said_i.hs_flags, TF_NOT_PINNED);
	ck_assert_int_eq(handshake(&ka, a, &km, m, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(said_i.hs_flags, TF_CONTESTED | TF_NOT_PINNED);
	ck_assert_mem_eq(said_i.hs_fpr2, fc, FPR_LEN);
	/* Time passes, the budget refills: still, a contested name is nobody's. */
	tk_init(&kf);		/* (dave's keyd, below; tk_init sets the clock back) */
	fake_now += 10 * KEYD_PIN_EVERY;
	ck_assert_int_eq(handshake(&ka, a, &kc, c, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(said_i.hs_flags, TF_CONTESTED | TF_NOT_PINNED);
	ck_assert_int_eq(pin_lookup(&ka, "carol", got, &found), 0);
	ck_assert_int_eq(found, 0);
	/* A name nobody contests gets one of the new pins. */
	f = keyd_conn_new();
	hello(&kf, f, "dave");
	ck_assert_int_eq(handshake(&ka, a, &kf, f, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(said_i.hs_flags, 0);
	ck_assert_uint_eq(pin_count(&ka), KEYD_PIN_BURST + 1);
	keyd_conn_free(f);
	tk_free(&kf);
	keyd_conn_free(a);
	keyd_conn_free(c);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&kc);
	tk_free(&km);
}
END_TEST

/* The store is full (KEYD_PINS_ENTRIES entries): contacts go on, unpinned. */
START_TEST(test_pins_cap)
{
	static char buf[KEYD_PINS_ENTRIES * 180];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr;
	uint32_t hi, hr;
	size_t off = 0;
	int i;

	tk_init(&ka);
	tk_init(&kb);
	for (i = 0; i < KEYD_PINS_ENTRIES + 1; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%064x pinned p%d %064x 0\n", i, i, 7);
	pin_edit(&ka, buf);
	ck_assert_uint_eq(pin_count(&ka), KEYD_PINS_ENTRIES);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	ck_assert_uint_eq(said_i.hs_flags, TF_NOT_PINNED);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * A replacement (a new handshake on the member id of a live session) that
 * proves another key is REFUSED (SWAP) and writes nothing; one that proves
 * the same key and nick is accepted as usual (finding 7).
 */
START_TEST(test_replacement)
{
	struct tkeyd ka, kb, km;
	struct keyd_conn *a, *b, *m;
	uint8_t ti, tr, fb[FPR_LEN];
	char before[4096], after[4096];
	uint32_t hi, hr, hold;

	tk_init(&ka);
	tk_init(&kb);
	tk_init(&km);
	fpr_of(&kb, fb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	m = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	hello(&km, m, "mallory");
	ck_assert_int_eq(handshake(&kb, b, &ka, a, &hi, &hold, &ti, &tr), 0);
	pin_file(&ka, before, sizeof(before));
	replaces = hold;
	ck_assert_int_eq(handshake(&km, m, &ka, a, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(tr, TRUST_REFUSED);
	ck_assert_uint_eq(said_r.hs_reason, REFUSE_SWAP);
	ck_assert_mem_eq(said_r.hs_fpr2, fb, FPR_LEN);
	pin_file(&ka, after, sizeof(after));
	ck_assert_str_eq(before, after);
	replaces = hold;
	ck_assert_int_eq(handshake(&kb, b, &ka, a, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(tr, TRUST_PINNED);
	replaces = 0;
	keyd_conn_free(a);
	keyd_conn_free(b);
	keyd_conn_free(m);
	tk_free(&ka);
	tk_free(&kb);
	tk_free(&km);
}
END_TEST

static uint32_t
status(struct tkeyd *k, struct keyd_conn *c)
{
	req.im_code = REQ_STATUS;
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_STATUS);
	return ans.im_gen;
}

static uint8_t
verify_trust(struct tkeyd *k, struct keyd_conn *c, uint32_t h)
{
	req.im_code = REQ_VERIFY;
	req.im_handle = h;
	ck_assert_int_eq(call(k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_VERIFY);
	return ans.im_trust;
}

/*
 * A running client sees keyd --trust / --forget: the generation of
 * known_peers changes with the file (whoever wrote it), and VERIFY answers
 * the trust as it is now. A session that would now be refused is wiped.
 */
START_TEST(test_status_and_current_trust)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, ff[FPR_LEN];
	char line[256], hex[2 * FPR_LEN + 1];
	uint32_t hi, hr, g0, g1, g2;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	g0 = status(&ka, a);
	ck_assert_uint_eq(status(&ka, a), g0);
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	g1 = status(&ka, a);
	ck_assert_uint_ne(g1, g0);		/* keyd pinned bob */
	ck_assert_uint_eq(verify_trust(&ka, a, hi), TRUST_PINNED);
	/* keyd --trust bob=<bob's>, as another process would write it. */
	(void)snprintf(line, sizeof(line), "%s verified bob * 0\n",
	    unit_tohex(kb.tk_id.id_pub, ED25519_PUB_LEN));
	pin_edit(&ka, line);
	g2 = status(&ka, a);
	ck_assert_uint_ne(g2, g1);
	ck_assert_uint_eq(verify_trust(&ka, a, hi), TRUST_VERIFIED);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	/* Now "bob" verified for another key: this session would be refused. */
	memset(ff, 0x5c, sizeof(ff));
	fp_hex(ff, hex);
	(void)snprintf(line, sizeof(line), "fp:%s verified bob * 0\n", hex);
	pin_edit(&ka, line);
	ck_assert_uint_ne(status(&ka, a), g2);
	/* Its own verified entry still comes first (rule 3 before rule 5). */
	ck_assert_uint_eq(verify_trust(&ka, a, hi), TRUST_VERIFIED);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_verify_refused_wipes)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, ff[FPR_LEN];
	char line[256], hex[2 * FPR_LEN + 1];
	uint32_t hi, hr;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	memset(ff, 0x5c, sizeof(ff));
	fp_hex(ff, hex);
	(void)snprintf(line, sizeof(line), "fp:%s verified bob * 0\n", hex);
	pin_edit(&ka, line);
	ck_assert_uint_eq(verify_trust(&ka, a, hi), TRUST_REFUSED);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 0);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

/*
 * Errors say whether the session ended, and never name the handle (an
 * internal number, finding 7): the answer's handle field is for chatc.
 */
START_TEST(test_error_ended_no_handle)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	char msg[IPC_ERRMSG_MAX + 1];
	uint8_t ti, tr;
	uint32_t hi, hr;
	size_t len;
	int i;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	req.im_code = REQ_VERIFY;
	req.im_handle = 4242;
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_NOSESSION);
	ck_assert_uint_eq(ans.im_ended, 1);
	memcpy(msg, ans.im_text, ans.im_textlen);
	msg[ans.im_textlen] = '\0';
	ck_assert_ptr_null(strstr(msg, "4242"));
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hi;
	set_text("x");
	ck_assert_int_eq(call(&ka, a), 0);
	len = ans.im_items[0].it_bloblen;
	memcpy(blob, ans.im_items[0].it_blob, len);
	blob[len - 1] ^= 1;
	for (i = 1; i <= VS_MAX_AUTH_FAIL; i++) {
		req.im_code = REQ_OPEN;
		req.im_handle = hr;
		req.im_blob = blob;
		req.im_bloblen = len;
		ck_assert_int_eq(call(&kb, b), 0);
		ck_assert_uint_eq(ans.im_err, -VEIL_E_AUTH);
		ck_assert_uint_eq(ans.im_ended, i == VS_MAX_AUTH_FAIL);
		memcpy(msg, ans.im_text, ans.im_textlen);
		msg[ans.im_textlen] = '\0';
		ck_assert_msg(strstr(msg, "session 1") == NULL && strstr(msg, "session 2") == NULL,
		    "%s", msg);
	}
	ck_assert_uint_eq(keyd_conn_nsessions(b), 0);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_batch_seal)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b[3];
	uint32_t hi[3], hr[3];
	uint8_t ti, tr;
	static const char *nicks[] = { "bob", "carol", "dave" };
	static uint8_t sealed[3][E2E_MAX];
	size_t sealedlen[3];
	int i;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	hello(&ka, a, "alice");
	for (i = 0; i < 3; i++) {
		b[i] = keyd_conn_new();
		hello(&kb, b[i], nicks[i]);
		ck_assert_int_eq(handshake(&ka, a, &kb, b[i], &hi[i], &hr[i], &ti, &tr), 0);
	}
	req.im_code = REQ_SEAL;
	req.im_count = 4;
	req.im_handles[0] = hi[0];
	req.im_handles[1] = 4242;		/* unknown: its own status, others go on */
	req.im_handles[2] = hi[1];
	req.im_handles[3] = hi[2];
	set_text("to everyone");
	ck_assert_int_eq(call(&ka, a), 0);
	ck_assert_uint_eq(ans.im_code, ANS_SEALED);
	ck_assert_uint_eq(ans.im_count, 4);
	ck_assert_uint_eq(ans.im_items[1].it_handle, 4242);
	ck_assert_uint_eq(ans.im_items[1].it_status, -VEIL_E_NOSESSION);
	for (i = 0; i < 3; i++) {
		const struct ipc_item *it = &ans.im_items[i == 0 ? 0 : i + 1];

		ck_assert_uint_eq(it->it_handle, hi[i]);
		ck_assert_uint_eq(it->it_status, 0);
		memcpy(sealed[i], it->it_blob, it->it_bloblen);
		sealedlen[i] = it->it_bloblen;
	}
	/* Each recipient opens its own; nobody can open another's. */
	for (i = 0; i < 3; i++) {
		memcpy(blob, sealed[i], sealedlen[i]);
		req.im_code = REQ_OPEN;
		req.im_handle = hr[i];
		req.im_blob = blob;
		req.im_bloblen = sealedlen[i];
		ck_assert_int_eq(call(&kb, b[i]), 0);
		ck_assert_uint_eq(ans.im_code, ANS_OPENED);
		is_text("to everyone");
	}
	memcpy(blob, sealed[0], sealedlen[0]);
	req.im_code = REQ_OPEN;
	req.im_handle = hr[1];
	req.im_blob = blob;
	req.im_bloblen = sealedlen[0];
	ck_assert_int_eq(call(&kb, b[1]), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	keyd_conn_free(a);
	for (i = 0; i < 3; i++)
		keyd_conn_free(b[i]);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_seal_before_handshake)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd k;
	struct keyd_conn *c;
	uint32_t h;
	size_t len;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	h = hs_start(&k, c, blob, &len);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = h;
	set_text("early");
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_items[0].it_status, -VEIL_E_STATE);
	ck_assert_uint_eq(ans.im_items[0].it_bloblen, 0);
	req.im_code = REQ_VERIFY;
	req.im_handle = h;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_STATE);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

/*
 * A client cannot drop a pin through keyd: REQ_FORGET is not served (the
 * connection is closed without an answer) and the pin stays, so a chatc that
 * was taken over cannot clear the way for a man in the middle. Only
 * `keyd --forget` (a rewrite of the file) removes it.
 */
static enum keyd_pin_edit
drop_bob(void *arg, const struct keyd_pin *e, struct keyd_pin *out)
{
	(void)arg;
	(void)out;
	return e->pn_nicklen == 3 && memcmp(e->pn_nick, "bob", 3) == 0 ? PIN_DROP : PIN_KEEP;
}

START_TEST(test_forget)
{
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr, fb[FPR_LEN], pub[ED25519_PUB_LEN];
	uint32_t hi, hr;
	size_t changed;
	int found;

	tk_init(&ka);
	tk_init(&kb);
	fpr_of(&kb, fb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	req.im_code = REQ_FORGET;
	req.im_nick = (const uint8_t *)"bob";
	req.im_nicklen = 3;
	ck_assert_int_eq(call(&ka, a), KEYD_CLOSE);
	keyd_conn_free(a);
	ck_assert_int_eq(pin_lookup(&ka, "bob", pub, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_mem_eq(pub, kb.tk_id.id_pub, ED25519_PUB_LEN);
	/* Still pinned: a second contact is PINNED, not NEW. */
	a = keyd_conn_new();
	hello(&ka, a, "alice");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_PINNED);
	/* keyd --forget's path still works, and the next contact is first contact. */
	ck_assert_int_eq(keyd_pins_trylock(&ka.tk_pins), 0);
	ck_assert_int_eq(keyd_pins_rewrite(&ka.tk_pins, drop_bob, NULL, NULL, 1, &changed), 0);
	keyd_pins_unlock(&ka.tk_pins);
	ck_assert_uint_eq(changed, 1);
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	ck_assert_uint_eq(ti, TRUST_NEW);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_session_limit)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd k;
	struct keyd_conn *c;
	size_t len;
	int i;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	for (i = 0; i < KEYD_MAX_SESSIONS; i++)
		(void)hs_start(&k, c, blob, &len);
	ck_assert_uint_eq(keyd_conn_nsessions(c), KEYD_MAX_SESSIONS);
	req.im_code = REQ_HS_START;
	memcpy(req.im_room, room, ROOM_ID_LEN);
	req.im_me = 1;
	req.im_peer = 2;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_LIMIT);
	ck_assert_uint_eq(keyd_conn_nsessions(c), KEYD_MAX_SESSIONS);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

/* Saved HS_NEXT requests (server.c keeps a put-off request as it is). */
static uint8_t saved[3][KEYD_ANS_MAX];
static size_t savedlen[3];

static void
save_req(int i)
{
	savedlen[i] = reqlen;
	memcpy(saved[i], reqbuf, IPC_LEN_HDR + reqlen);
}

static int
again(struct tkeyd *k, struct keyd_conn *c, int i, uint64_t now_ms)
{
	reqlen = savedlen[i];
	memcpy(reqbuf, saved[i], IPC_LEN_HDR + reqlen);
	return dispatch_again(k, c, now_ms);
}

/* Starts a handshake a -> b; req holds alice's HS_NEXT, encoded and saved as i. */
static void
hs_to_next(struct tkeyd *ka, struct keyd_conn *a, struct tkeyd *kb, struct keyd_conn *b,
    int i, uint32_t *hi, uint32_t *hr)
{
	static uint8_t blob[E2E_MAX];
	struct vbuf w;
	size_t len;

	*hi = hs_start(ka, a, blob, &len);
	*hr = hs_accept(kb, b, blob, &len);
	req.im_code = REQ_HS_NEXT;
	req.im_handle = *hi;
	req.im_blob = blob;
	req.im_bloblen = len;
	vbuf_writer(&w, reqbuf, sizeof(reqbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &req), 0);
	ck_assert_int_eq(proto_ipc_length(reqbuf, w.vb_len, &reqlen), 0);
	memset(&req, 0, sizeof(req));
	save_req(i);
}

/*
 * Another process holds known_peers' lock: HS_NEXT is put off (KEYD_WAIT,
 * no answer) until KEYD_LOCK_WAIT_MS after it first was, then refused with
 * VEIL_E_BUSY naming the file and the holder; one pipelined behind it is
 * refused at once, one that comes KEYD_LOCK_FRESH_MS later waits afresh. Either way the
 * session is exactly as it was: once the lock is free, the same request goes
 * through and the handshake completes. Requests that do not touch the pins
 * are served meanwhile, and keyd never keeps the lock.
 */
START_TEST(test_hs_next_pins_busy)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b, *a2;
	char path[PATH_MAX + 32], msg[IPC_ERRMSG_MAX + 1], pid[32];
	uint32_t hi, hr, hi2, hr2;
	size_t len;
	int lockfd;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	a2 = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	hs_to_next(&ka, a, &kb, b, 1, &hi2, &hr2);
	hs_to_next(&ka, a, &kb, b, 0, &hi, &hr);

	(void)snprintf(path, sizeof(path), "%s/known_peers", ka.tk_home);
	lockfd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(lockfd, 0);
	ck_assert_int_eq(flock(lockfd, LOCK_EX | LOCK_NB), 0);

	ck_assert_int_eq(again(&ka, a, 0, 10000), KEYD_WAIT);
	ck_assert_int_eq(again(&ka, a, 0, 12999), KEYD_WAIT);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 2);
	/* What does not touch the pins is served meanwhile. */
	hello(&ka, a2, "alice2");
	(void)hs_start(&ka, a2, blob, &len);
	/* The wait is over: refused, with a reason a person can act on. */
	ck_assert_int_eq(again(&ka, a, 0, 10000 + KEYD_LOCK_WAIT_MS), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_BUSY);
	ck_assert_uint_eq(ans.im_handle, hi);
	memcpy(msg, ans.im_text, ans.im_textlen);
	msg[ans.im_textlen] = '\0';
	ck_assert_ptr_nonnull(strstr(msg, path));
	ck_assert_ptr_nonnull(strstr(msg, "locked by another process"));
	ck_assert_ptr_nonnull(strstr(msg, "unchanged"));
	if (access("/proc/locks", R_OK) == 0) {
		(void)snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
		ck_assert_msg(strstr(msg, pid) != NULL, "holder not named: %s", msg);
	}
	ck_assert_uint_eq(keyd_conn_nsessions(a), 2);
	/* Pipelined behind it: refused at once, not after a wait of its own. */
	ck_assert_int_eq(again(&ka, a, 1, 13000 + KEYD_LOCK_FRESH_MS - 1), 0);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_BUSY);
	ck_assert_uint_eq(ans.im_handle, hi2);
	/* Later, a request waits afresh. */
	ck_assert_int_eq(again(&ka, a, 1, 13000 + KEYD_LOCK_FRESH_MS), KEYD_WAIT);
	ck_assert_int_eq(again(&ka, a, 1,
	    13000 + KEYD_LOCK_FRESH_MS + KEYD_LOCK_WAIT_MS - 1), KEYD_WAIT);

	/* Free again: the very same HS_NEXT is taken, as if nothing had happened. */
	ck_assert_int_eq(flock(lockfd, LOCK_UN), 0);
	ck_assert_int_eq(again(&ka, a, 0, 30000), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HS_NEXT);
	ck_assert_uint_eq(ans.im_done, 1);
	ck_assert_uint_eq(ans.im_trust, TRUST_NEW);
	len = ans.im_bloblen;
	memcpy(blob, ans.im_blob, len);			/* HS_FIN for bob */
	hs_next(&kb, b, hr, blob, &len);
	ck_assert_uint_eq(ans.im_code, ANS_HS_NEXT);
	ck_assert_uint_eq(ans.im_done, 1);
	/* Having had the lock, the next request that finds it taken waits afresh. */
	ck_assert_int_eq(flock(lockfd, LOCK_EX | LOCK_NB), 0);	/* keyd let go of it */
	ck_assert_int_eq(again(&ka, a, 1, 30001), KEYD_WAIT);
	ck_assert_int_eq(flock(lockfd, LOCK_UN), 0);
	ck_assert_int_eq(again(&ka, a, 1, 30002), 0);
	ck_assert_uint_eq(ans.im_code, ANS_HS_NEXT);
	close(lockfd);
	keyd_conn_free(a);
	keyd_conn_free(a2);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_hs_next_after_done)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr;
	uint32_t hi, hr;
	size_t len = 67;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	memset(blob, 1, len);
	hs_next(&ka, a, hi, blob, &len);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_STATE);
	ck_assert_uint_eq(keyd_conn_nsessions(a), 1);
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_open_tampered)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd ka, kb;
	struct keyd_conn *a, *b;
	uint8_t ti, tr;
	uint32_t hi, hr;
	size_t len;

	tk_init(&ka);
	tk_init(&kb);
	a = keyd_conn_new();
	b = keyd_conn_new();
	hello(&ka, a, "alice");
	hello(&kb, b, "bob");
	ck_assert_int_eq(handshake(&ka, a, &kb, b, &hi, &hr, &ti, &tr), 0);
	req.im_code = REQ_SEAL;
	req.im_count = 1;
	req.im_handles[0] = hi;
	set_text("integrity");
	ck_assert_int_eq(call(&ka, a), 0);
	len = ans.im_items[0].it_bloblen;
	memcpy(blob, ans.im_items[0].it_blob, len);
	blob[len - 1] ^= 0x01;			/* flip a tag bit */
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_AUTH);
	ck_assert_uint_eq(ans.im_handle, hr);
	/* Rejected, never shown, and the session survives for the real one. */
	blob[len - 1] ^= 0x01;
	req.im_code = REQ_OPEN;
	req.im_handle = hr;
	req.im_blob = blob;
	req.im_bloblen = len;
	ck_assert_int_eq(call(&kb, b), 0);
	ck_assert_uint_eq(ans.im_code, ANS_OPENED);
	is_text("integrity");
	keyd_conn_free(a);
	keyd_conn_free(b);
	tk_free(&ka);
	tk_free(&kb);
}
END_TEST

START_TEST(test_close_pending_handshake)
{
	static uint8_t blob[E2E_MAX];
	struct tkeyd k;
	struct keyd_conn *c;
	uint32_t h;
	size_t len;

	tk_init(&k);
	c = keyd_conn_new();
	hello(&k, c, "alice");
	h = hs_start(&k, c, blob, &len);
	req.im_code = REQ_CLOSE;
	req.im_handle = h;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, ANS_CLOSE);
	ck_assert_uint_eq(ans.im_handle, h);
	ck_assert_uint_eq(ans.im_bloblen, 0);	/* nothing to tell a peer yet */
	ck_assert_uint_eq(keyd_conn_nsessions(c), 0);
	req.im_code = REQ_CLOSE;
	req.im_handle = h;
	ck_assert_int_eq(call(&k, c), 0);
	ck_assert_uint_eq(ans.im_code, IPC_ANS_ERROR);
	ck_assert_uint_eq(ans.im_err, -VEIL_E_NOSESSION);
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

/* kB of "Locked:" of the /proc/self/smaps mapping that holds p; -1 if none. */
static long
locked_kb(const void *p)
{
	char line[512];
	unsigned long lo, hi, a = (unsigned long)(uintptr_t)p;
	long kb = -1;
	int in = 0;
	FILE *f;

	if ((f = fopen("/proc/self/smaps", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ':') != NULL &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "Locked: %ld kB", &kb) == 1)
			break;
	}
	(void)fclose(f);
	return kb;
}

/*
 * A connection holds a copy of the identity seed (for its sessions' Ed25519
 * signatures): its memory is locked by itself, so the seed stays out of swap
 * even when keyd could not mlockall (a small RLIMIT_MEMLOCK), as keyd's
 * warning promises ("only the identity key is locked").
 */
#ifdef __SANITIZE_ADDRESS__
#define UNIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif

START_TEST(test_conn_memory_locked)
{
	struct rlimit rl;
	struct tkeyd k;
	struct keyd_conn *c;

#ifdef UNIT_ASAN
	/* ASan replaces mlock/mlockall with no-ops (locking its shadow would be ruinous). */
	fprintf(stderr, "test_conn_memory_locked: AddressSanitizer build, mlock is a no-op; skipped\n");
	return;
#endif
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (geteuid() != 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 64 * 1024) {
		fprintf(stderr, "test_conn_memory_locked: RLIMIT_MEMLOCK too small; skipped\n");
		return;
	}
	tk_init(&k);
	c = keyd_conn_new();
	ck_assert_ptr_nonnull(c);
	hello(&k, c, "alice");
	ck_assert_msg(locked_kb(c) > 0, "connection memory (with the seed) not locked: %ld kB",
	    locked_kb(c));
	keyd_conn_free(c);
	tk_free(&k);
}
END_TEST

Suite *suite_dispatch(void);

Suite *
suite_dispatch(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc;

	tc = tcase_create("state");
	tcase_add_test(tc, test_hello_answers_fingerprint);
	tcase_add_test(tc, test_hello_version);
	tcase_add_test(tc, test_hello_required_first);
	tcase_add_test(tc, test_hello_twice);
	tcase_add_test(tc, test_malformed_closes);
	suite_add_tcase(s, tc);

	tc = tcase_create("handles");
	tcase_add_test(tc, test_unknown_handle);
	tcase_add_test(tc, test_other_connection_handle);
	tcase_add_test(tc, test_handles_never_reused);
	tcase_add_test(tc, test_seal_before_handshake);
	tcase_add_test(tc, test_hs_next_after_done);
	tcase_add_test(tc, test_hs_next_pins_busy);
	tcase_add_test(tc, test_close_pending_handshake);
	tcase_add_test(tc, test_conn_memory_locked);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_add_test(tc, test_handshake_two_connections);
	tcase_add_test(tc, test_handshake_pinned_second_time);
	tcase_add_test(tc, test_handshake_room_key_mismatch);
	tcase_add_test(tc, test_handshake_changed_identity_refused);
	tcase_add_test(tc, test_refusal_wire_same_as_new);
	tcase_add_test(tc, test_handshake_expect);
	tcase_add_test(tc, test_handshake_expect_mismatch);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_open_tampered);
	tcase_add_test(tc, test_error_ended_no_handle);
	suite_add_tcase(s, tc);

	tc = tcase_create("trust");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_own_name);
	tcase_add_test(tc, test_known_as);
	tcase_add_test(tc, test_name_per_room);
	tcase_add_test(tc, test_verified_by_fingerprint);
	tcase_add_test(tc, test_malformed_line_skipped);
	tcase_add_test(tc, test_pin_budget);
	tcase_add_test(tc, test_pins_cap);
	tcase_add_test(tc, test_replacement);
	tcase_add_test(tc, test_status_and_current_trust);
	tcase_add_test(tc, test_verify_refused_wipes);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_batch_seal);
	tcase_add_test(tc, test_session_limit);
	suite_add_tcase(s, tc);
	return s;
}
