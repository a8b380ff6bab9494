/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: end-to-end message framing, the padded inner
 * plaintext, the handshake identity blocks, nicknames and fingerprint text
 * (PROTOCOL.md 2). Accepted inputs are checked against the size rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "inner.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
message(const uint8_t *data, size_t size)
{
	struct e2e_msg m;
	int t;

	t = proto_e2e_peek_type(data, size);
	if (proto_e2e_decode(data, size, &m) != 0) {
		if (m.em_type != 0 || m.em_ct != NULL || m.em_eph != NULL)
			abort();
		return;
	}
	if (t != m.em_type || size > E2E_MAX)
		abort();
	if ((m.em_type == E2E_HS_INIT || m.em_type == E2E_HS_RESP) &&
	    (m.em_eph == NULL || m.em_eph[0] != 0x04))
		abort();
	if (m.em_type == E2E_DATA &&
	    proto_pad_bucket(m.em_ctlen - AEAD_TAG_LEN) != m.em_ctlen - AEAD_TAG_LEN)
		abort();
	/* Handshake messages have one size each. */
	if ((m.em_type == E2E_HS_INIT && size != E2E_HS_INIT_LEN) ||
	    (m.em_type == E2E_HS_RESP && size != E2E_HS_RESP_LEN) ||
	    (m.em_type == E2E_HS_FIN && size != E2E_HS_FIN_LEN))
		abort();
}

static void
inner(const uint8_t *data, size_t size)
{
	struct inner_msg im;
	const uint8_t *body;
	size_t bodylen, i;
	uint8_t kind;

	if (size > 0)
		(void)proto_inner_parse(data[0], data + 1, size - 1, &im);
	if (proto_inner_decode(data, size, &kind, &body, &bodylen) != 0)
		return;
	if (proto_pad_bucket(INNER_HDR_LEN + bodylen) != size || body != data + INNER_HDR_LEN)
		abort();
	for (i = INNER_HDR_LEN + bodylen; i < size; i++)
		if (data[i] != 0)
			abort();
	/* Its body holds its kind's layout exactly (PROTOCOL.md 2.3, inner kinds). */
	if (proto_inner_parse(kind, body, bodylen, &im) != 0 || im.in_kind != kind)
		abort();
	if (kind == IK_TEXT && (im.in_textlen < 1 || im.in_textlen > MSG_MAX ||
	    im.in_seq == 0 || im.in_text != body + INNER_TEXT_HDR_LEN))
		abort();
}

static void
idb(const uint8_t *data, size_t size)
{
	uint8_t again[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nicklen;

	if (proto_idb_decode(data, size, &id, &nick, &nicklen) != 0) {
		if (id != NULL || nick != NULL || nicklen != 0)
			abort();
		return;
	}
	if (!proto_nick_valid(nick, nicklen) || id != data || size != E2E_IDB_LEN ||
	    nick != data + ED25519_PUB_LEN + 1)
		abort();
	/* One encoding per identity: encoding it again gives the same bytes. */
	if (proto_idb_encode(again, id, nick, nicklen) != 0 ||
	    memcmp(again, data, E2E_IDB_LEN) != 0)
		abort();
}

static void
text(const uint8_t *data, size_t size)
{
	uint8_t fpr[FPR_LEN], back[FPR_LEN];
	char out[FPR_TEXT_LEN + 1];
	char *s;

	(void)proto_nick_valid(data, size);
	if (size > 128)
		return;
	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (proto_fpr_parse(s, fpr) == 0) {
		proto_fpr_format(fpr, out);
		if (proto_fpr_parse(out, back) != 0 || memcmp(fpr, back, FPR_LEN) != 0)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	message(data, size);
	inner(data, size);
	idb(data, size);
	if (size > E2E_IDB_LEN)
		idb(data, E2E_IDB_LEN);
	text(data, size);
	return 0;
}
