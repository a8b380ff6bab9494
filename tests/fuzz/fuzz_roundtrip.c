/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: for every input a decoder accepts, encoding the decoded
 * value gives back exactly the input bytes (one encoding per message, so no
 * two byte strings mean the same thing). The first byte picks the codec.
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
hs_id(const uint8_t *data, size_t size, int with_sig)
{
	const uint8_t *id, *nick, *sig;
	size_t nicklen;
	struct vbuf w;

	if (proto_hs_id_decode(data, size, with_sig, &id, &nick, &nicklen, &sig) != 0)
		return;
	vbuf_writer(&w, out, sizeof(out));
	if (proto_hs_id_encode(&w, id, nick, nicklen, with_sig ? sig : NULL) != 0)
		abort();
	same(&w, data, size);
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 9) {
	case 0: frame(data + 1, size - 1, FRAME_TO_RELAY); break;
	case 1: frame(data + 1, size - 1, FRAME_TO_CLIENT); break;
	case 2: e2e(data + 1, size - 1); break;
	case 3: inner(data + 1, size - 1); break;
	case 4: hs_id(data + 1, size - 1, 0); break;
	case 5: hs_id(data + 1, size - 1, 1); break;
	case 6: ipc(data + 1, size - 1, 0); break;
	case 7: ipc(data + 1, size - 1, 1); break;
	case 8: fpr(data + 1, size - 1); break;
	}
	return 0;
}
