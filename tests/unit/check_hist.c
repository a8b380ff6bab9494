/* SPDX-License-Identifier: ISC */
/*
 * keyd's side of the local history: the HIST_SEAL / HIST_OPEN requests
 * (codec, every length bound) and keyd/hist.c: a record opens only under the
 * identity that sealed it, and not once a bit of it changed or it was cut.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"
#include "err.h"
#include "hist.h"
#include "ipc.h"

static struct vs_identity id1, id2;

static void
identities(void)
{
	memset(&id1, 0, sizeof(id1));
	memset(&id2, 0, sizeof(id2));
	memset(id1.id_seed, 0x11, sizeof(id1.id_seed));
	memset(id2.id_seed, 0x22, sizeof(id2.id_seed));
}

START_TEST(test_hist_ipc_codec)
{
	static uint8_t wbuf[IPC_LEN_HDR + IPC_MAX], blob[HIST_BLOB_MAX + 1];
	static struct ipc_msg m, d;
	struct vbuf w;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.im_code = REQ_HIST_SEAL;
	m.im_text = (const uint8_t *)"record";
	m.im_textlen = 6;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), 0);
	/* u32 len || 0c || str16 "record" */
	ck_assert_uint_eq(w.vb_len, 4 + 1 + 2 + 6);
	ck_assert_int_eq(proto_ipc_length(wbuf, w.vb_len, &len), 0);
	ck_assert_int_eq(proto_ipc_decode(wbuf + 4, len, 0, &d), 0);
	ck_assert_uint_eq(d.im_code, REQ_HIST_SEAL);
	ck_assert_mem_eq(d.im_text, "record", 6);
	/* A request is not an answer, and the other way round. */
	ck_assert_int_ne(proto_ipc_decode(wbuf + 4, len, 1, &d), 0);
	/* Empty text, and text over HIST_TEXT_MAX. */
	m.im_textlen = 0;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_LENGTH);
	m.im_text = blob;
	m.im_textlen = HIST_TEXT_MAX + 1;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	/* HIST_OPEN: a blob longer than the overhead and at most HIST_BLOB_MAX. */
	memset(&m, 0, sizeof(m));
	m.im_code = REQ_HIST_OPEN;
	m.im_blob = blob;
	m.im_bloblen = HIST_SEALED_OVERHEAD;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_LENGTH);
	m.im_bloblen = HIST_BLOB_MAX + 1;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), VEIL_E_OVERSIZE);
	m.im_bloblen = HIST_BLOB_MAX;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), 0);
	/* The answers. */
	memset(&m, 0, sizeof(m));
	m.im_code = ANS_HIST_SEALED;
	m.im_blob = blob;
	m.im_bloblen = 40;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), 0);
	ck_assert_int_eq(proto_ipc_length(wbuf, w.vb_len, &len), 0);
	ck_assert_int_eq(proto_ipc_decode(wbuf + 4, len, 1, &d), 0);
	ck_assert_uint_eq(d.im_bloblen, 40);
	/* One byte more than the fields: trailing. */
	wbuf[3]++;
	ck_assert_int_eq(proto_ipc_decode(wbuf + 4, len + 1, 1, &d), VEIL_E_TRAILING);
	memset(&m, 0, sizeof(m));
	m.im_code = ANS_HIST_OPENED;
	m.im_text = (const uint8_t *)"x";
	m.im_textlen = 1;
	vbuf_writer(&w, wbuf, sizeof(wbuf));
	ck_assert_int_eq(proto_ipc_encode(&w, &m), 0);
}
END_TEST

START_TEST(test_hist_keyd_seal_open)
{
	static uint8_t sealed[HIST_BLOB_MAX], again[HIST_BLOB_MAX], out[HIST_TEXT_MAX];
	size_t n, n2, on, i;

	identities();
	ck_assert_int_eq(keyd_hist_seal(&id1, (const uint8_t *)"a record", 8, sealed,
	    sizeof(sealed), &n), 0);
	ck_assert_uint_eq(n, 8 + HIST_SEALED_OVERHEAD);
	ck_assert(memmem(sealed, n, "a record", 8) == NULL);
	/* A fresh nonce each time: the same text never seals the same. */
	ck_assert_int_eq(keyd_hist_seal(&id1, (const uint8_t *)"a record", 8, again,
	    sizeof(again), &n2), 0);
	ck_assert(memcmp(sealed, again, n) != 0);
	ck_assert_int_eq(keyd_hist_open(&id1, sealed, n, out, sizeof(out), &on), 0);
	ck_assert_uint_eq(on, 8);
	ck_assert_mem_eq(out, "a record", 8);
	/* Another identity's key: not ours. */
	ck_assert_int_eq(keyd_hist_open(&id2, sealed, n, out, sizeof(out), &on), VEIL_E_AUTH);
	/* Every bit flipped, every cut: refused. */
	for (i = 0; i < n * 8; i++) {
		sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_ne(keyd_hist_open(&id1, sealed, n, out, sizeof(out), &on), 0);
		sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (i = 0; i < n; i++)
		ck_assert_int_ne(keyd_hist_open(&id1, sealed, i, out, sizeof(out), &on), 0);
	/* Bounds. */
	ck_assert_int_eq(keyd_hist_seal(&id1, out, 0, sealed, sizeof(sealed), &n), VEIL_E_INVALID);
	ck_assert_int_eq(keyd_hist_seal(&id1, out, HIST_TEXT_MAX + 1, sealed, sizeof(sealed),
	    &n), VEIL_E_INVALID);
	ck_assert_int_eq(keyd_hist_open(&id1, sealed, HIST_BLOB_MAX + 1, out, sizeof(out), &on),
	    VEIL_E_LENGTH);
}
END_TEST

Suite *suite_hist(void);

Suite *
suite_hist(void)
{
	Suite *s = suite_create("hist");
	TCase *k = tcase_create("keyd");

	tcase_add_test(k, test_hist_ipc_codec);
	tcase_add_test(k, test_hist_keyd_seal_open);
	suite_add_tcase(s, k);
	return s;
}
