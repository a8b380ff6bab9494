/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness, both directions of every codec:
 * - decode then encode: for every input a decoder accepts, encoding the
 *   decoded value gives back exactly the input bytes (one encoding per
 *   message, so no two byte strings mean the same thing);
 * - encode then decode: a value built from the input (counts, lengths and
 *   NULL pointers included) either is refused by the encoder, without a
 *   crash, or encodes to bytes the decoder accepts as the same value.
 * The first byte picks the codec and the direction.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "err.h"
#include "frame.h"
#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_LEN_HDR + IPC_MAX];

static void
same(const struct vbuf *w, const uint8_t *data, size_t size)
{
	if (w->vb_len != size || memcmp(w->vb_wr, data, size) != 0)
		abort();
}

static void
frame(const uint8_t *data, size_t size, enum frame_dir dir)
{
	struct frame f;
	struct vbuf w;

	if (proto_frame_decode(data, size, dir, FRAME_MAX_LIMIT, &f) != 0)
		return;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_frame_encode(&w, dir, &f) != 0)
		abort();
	same(&w, data, size);
}

static void
e2e(const uint8_t *data, size_t size)
{
	struct e2e_msg m;
	struct vbuf w;

	if (proto_e2e_decode(data, size, &m) != 0)
		return;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_e2e_encode(&w, &m) != 0)
		abort();
	same(&w, data, size);
}

static void
inner(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t bodylen;
	uint8_t kind;
	struct vbuf w;

	if (proto_inner_decode(data, size, &kind, &body, &bodylen) != 0)
		return;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_inner_encode(&w, kind, body, bodylen) != 0)
		abort();
	same(&w, data, size);
}

static void
idb(const uint8_t *data, size_t size)
{
	uint8_t again[E2E_IDB_LEN];
	const uint8_t *id, *nick;
	size_t nicklen;

	if (proto_idb_decode(data, size, &id, &nick, &nicklen) != 0)
		return;
	if (proto_idb_encode(again, id, nick, nicklen) != 0 || size != E2E_IDB_LEN ||
	    memcmp(again, data, size) != 0)
		abort();
}

static void
ipc(const uint8_t *data, size_t size, int is_answer)
{
	static struct ipc_msg m;
	struct vbuf w;

	if (proto_ipc_decode(data, size, is_answer, &m) != 0)
		return;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_ipc_encode(&w, &m) != 0 || w.vb_len != IPC_LEN_HDR + size ||
	    veil_get32(out) != size || memcmp(out + IPC_LEN_HDR, data, size) != 0)
		abort();
}

static void
fpr(const uint8_t *data, size_t size)
{
	uint8_t bin[FPR_LEN], back[FPR_LEN];
	char text[FPR_TEXT_LEN + 1];

	/* Binary -> text -> binary, and the text is the canonical form. */
	if (size != FPR_LEN)
		return;
	proto_fpr_format(data, text);
	if (strlen(text) != FPR_TEXT_LEN || proto_fpr_parse(text, bin) != 0 ||
	    memcmp(bin, data, FPR_LEN) != 0)
		abort();
	proto_fpr_format(bin, text);
	if (proto_fpr_parse(text, back) != 0 || memcmp(back, bin, FPR_LEN) != 0)
		abort();
}

/* ---- encode then decode ------------------------------------------------ */

/* Draws fields from the fuzz input; past its end every draw is zero. */
struct draw {
	const uint8_t	*d_p;
	size_t		 d_n;
};

static uint32_t
draw_uint(struct draw *d, size_t bytes)
{
	uint32_t v = 0;

	while (bytes-- > 0) {
		v = v << 8 | (d->d_n > 0 ? d->d_p[0] : 0);
		if (d->d_n > 0) {
			d->d_p++;
			d->d_n--;
		}
	}
	return v;
}

/*
 * A pointer and a length of up to max bytes. The length may claim more than
 * the input holds (then the pointer is NULL, which encoders must refuse).
 */
static const uint8_t *
draw_bytes(struct draw *d, size_t max, size_t *len)
{
	const uint8_t *p;

	*len = draw_uint(d, 2) % (max + 1);
	if (*len > d->d_n)
		return NULL;
	p = d->d_p;
	d->d_p += *len;
	d->d_n -= *len;
	return p;
}

static void
draw_copy(struct draw *d, uint8_t *to, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		to[i] = (uint8_t)draw_uint(d, 1);
}

static void
frame_enc(struct draw *d)
{
	enum frame_dir dir = draw_uint(d, 1) & 1 ? FRAME_TO_CLIENT : FRAME_TO_RELAY;
	struct frame f, g;
	struct vbuf w;
	size_t len;

	memset(&f, 0, sizeof(f));
	f.fr_type = (uint8_t)draw_uint(d, 1);
	f.fr_src = (uint16_t)draw_uint(d, 2);
	f.fr_dst = (uint16_t)draw_uint(d, 2);
	f.fr_payload = draw_bytes(d, FRAME_MAX_LIMIT + 1, &len);
	f.fr_len = (uint32_t)len;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_frame_encode(&w, dir, &f) != 0) {
		if (w.vb_len != 0)
			abort();	/* a refused encode writes nothing */
		return;
	}
	if (proto_frame_decode(out, w.vb_len, dir, FRAME_MAX_LIMIT, &g) != 0 ||
	    g.fr_type != f.fr_type || g.fr_src != f.fr_src || g.fr_dst != f.fr_dst ||
	    g.fr_len != f.fr_len || (f.fr_len > 0 &&
	    memcmp(g.fr_payload, f.fr_payload, f.fr_len) != 0))
		abort();
}

static void
e2e_enc(struct draw *d)
{
	struct e2e_msg m, g;
	struct vbuf w;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.em_type = (uint8_t)draw_uint(d, 1);
	m.em_eph = draw_bytes(d, P256_PUB_LEN, &len);
	if (len != P256_PUB_LEN)
		m.em_eph = NULL;
	m.em_hn = draw_bytes(d, E2E_HN_LEN, &len);
	if (len != E2E_HN_LEN)
		m.em_hn = NULL;
	m.em_hct = draw_bytes(d, E2E_HDR_CT_LEN, &len);
	if (len != E2E_HDR_CT_LEN)
		m.em_hct = NULL;
	m.em_ct = draw_bytes(d, E2E_MAX + 1, &m.em_ctlen);
	vbuf_writer(&w, out, sizeof(out));
	if (proto_e2e_encode(&w, &m) != 0) {
		if (w.vb_len != 0)
			abort();
		return;
	}
	if (proto_e2e_decode(out, w.vb_len, &g) != 0 || g.em_type != m.em_type ||
	    g.em_ctlen != (m.em_type == E2E_HS_INIT ? 0 : m.em_ctlen))
		abort();
	if (m.em_type == E2E_DATA && (memcmp(g.em_hn, m.em_hn, E2E_HN_LEN) != 0 ||
	    memcmp(g.em_hct, m.em_hct, E2E_HDR_CT_LEN) != 0))
		abort();
}

static void
inner_enc(struct draw *d)
{
	const uint8_t *body, *gbody;
	size_t bodylen, gbodylen;
	uint8_t kind, gkind;
	struct vbuf w;

	kind = (uint8_t)draw_uint(d, 1);
	body = draw_bytes(d, PAD_MAX, &bodylen);
	/* Every body an encoder takes is one proto_inner_parse takes too. */
	if (proto_inner_parse(kind, body, bodylen, NULL) != 0 && bodylen <= INNER_BODY_MAX) {
		vbuf_writer(&w, out, sizeof(out));
		if (proto_inner_encode(&w, kind, body, bodylen) == 0 || w.vb_len != 0)
			abort();
		return;
	}
	vbuf_writer(&w, out, sizeof(out));
	if (proto_inner_encode(&w, kind, body, bodylen) != 0) {
		if (w.vb_len != 0)
			abort();
		return;
	}
	if (w.vb_len != proto_pad_bucket(INNER_HDR_LEN + bodylen) ||
	    proto_inner_decode(out, w.vb_len, &gkind, &gbody, &gbodylen) != 0 ||
	    gkind != kind || gbodylen != bodylen ||
	    (bodylen > 0 && memcmp(gbody, body, bodylen) != 0))
		abort();
}

static void
idb_enc(struct draw *d)
{
	uint8_t id[ED25519_PUB_LEN], b[E2E_IDB_LEN];
	const uint8_t *nick, *gid, *gnick;
	size_t nicklen, gnicklen;

	draw_copy(d, id, sizeof(id));
	nick = draw_bytes(d, NICK_MAX + 2, &nicklen);
	if (proto_idb_encode(b, id, nick, nicklen) != 0)
		return;
	if (proto_idb_decode(b, sizeof(b), &gid, &gnick, &gnicklen) != 0 ||
	    memcmp(gid, id, sizeof(id)) != 0 || gnicklen != nicklen ||
	    memcmp(gnick, nick, nicklen) != 0)
		abort();
}

static void
ipc_enc(struct draw *d)
{
	static uint8_t again[IPC_LEN_HDR + IPC_MAX];
	static struct ipc_msg m, g;
	struct vbuf w;
	size_t i, n, len;

	memset(&m, 0, sizeof(m));
	m.im_code = (uint8_t)draw_uint(d, 1);
	m.im_handle = draw_uint(d, 4);
	draw_copy(d, m.im_room, sizeof(m.im_room));
	m.im_me = (uint16_t)draw_uint(d, 2);
	m.im_peer = (uint16_t)draw_uint(d, 2);
	m.im_nick = draw_bytes(d, NICK_MAX + 2, &m.im_nicklen);
	m.im_blob = draw_bytes(d, E2E_MAX + 1, &m.im_bloblen);
	m.im_text = draw_bytes(d, INNER_BODY_MAX + 1, &m.im_textlen);
	draw_copy(d, m.im_fpr, FPR_LEN);
	draw_copy(d, m.im_fpr2, FPR_LEN);
	m.im_done = (uint8_t)draw_uint(d, 1);
	m.im_trust = (uint8_t)draw_uint(d, 1);
	m.im_kind = (uint8_t)draw_uint(d, 1);
	m.im_existed = (uint8_t)draw_uint(d, 1);
	m.im_err = (uint8_t)draw_uint(d, 1);
	m.im_gap = draw_uint(d, 4);
	/* Counts may exceed the arrays: the encoder must refuse, not read past them. */
	m.im_count = (uint16_t)(draw_uint(d, 1) % (IPC_BATCH_MAX + 8));
	n = m.im_count < IPC_BATCH_MAX ? m.im_count : IPC_BATCH_MAX;
	for (i = 0; i < n; i++) {
		m.im_handles[i] = draw_uint(d, 4);
		m.im_items[i].it_handle = draw_uint(d, 4);
		m.im_items[i].it_status = (uint8_t)draw_uint(d, 1);
		m.im_items[i].it_flags = (uint8_t)draw_uint(d, 1);
		m.im_items[i].it_blob = draw_bytes(d, E2E_MAX + 1, &m.im_items[i].it_bloblen);
	}
	for (i = 0; i < n && i < IPC_EXPECT_MAX; i++) {
		m.im_expect[i].ex_nick = draw_bytes(d, NICK_MAX + 2, &m.im_expect[i].ex_nicklen);
		draw_copy(d, m.im_expect[i].ex_fpr, FPR_LEN);
	}
	m.im_safety = draw_bytes(d, SAFETY_TEXT_MAX + 2, &m.im_safetylen);
	/* veil/2's fields, drawn last so older seeds keep their meaning. */
	m.im_version = (uint8_t)draw_uint(d, 1);
	m.im_replaces = draw_uint(d, 4);
	m.im_flags = (uint8_t)draw_uint(d, 1);
	m.im_reason = (uint8_t)draw_uint(d, 1);
	m.im_label = draw_bytes(d, NICK_MAX + 2, &m.im_labellen);
	m.im_ended = (uint8_t)draw_uint(d, 1);
	m.im_gen = draw_uint(d, 4);
	vbuf_writer(&w, out, sizeof(out));
	if (proto_ipc_encode(&w, &m) != 0) {
		if (w.vb_len != 0)
			abort();
		return;
	}
	if (proto_ipc_length(out, w.vb_len, &len) != 0 || len + IPC_LEN_HDR != w.vb_len ||
	    proto_ipc_decode(out + IPC_LEN_HDR, len, (m.im_code & 0x80) != 0, &g) != 0 ||
	    g.im_code != m.im_code)
		abort();
	vbuf_writer(&w, again, sizeof(again));
	if (proto_ipc_encode(&w, &g) != 0 || w.vb_len != len + IPC_LEN_HDR ||
	    memcmp(again, out, w.vb_len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct draw d;

	if (size < 1)
		return 0;
	d.d_p = data + 1;
	d.d_n = size - 1;
	switch (data[0] % 14) {
	case 9: frame_enc(&d); break;
	case 10: e2e_enc(&d); break;
	case 11: inner_enc(&d); break;
	case 12: idb_enc(&d); break;
	case 13: ipc_enc(&d); break;
	}
	switch (data[0] % 14) {
	case 0: frame(data + 1, size - 1, FRAME_TO_RELAY); break;
	case 1: frame(data + 1, size - 1, FRAME_TO_CLIENT); break;
	case 2: e2e(data + 1, size - 1); break;
	case 3: inner(data + 1, size - 1); break;
	case 4: idb(data + 1, size - 1); break;
	case 5: e2e(data + 1, size - 1); break;
	case 6: ipc(data + 1, size - 1, 0); break;
	case 7: ipc(data + 1, size - 1, 1); break;
	case 8: fpr(data + 1, size - 1); break;
	}
	return 0;
}
