/* SPDX-License-Identifier: ISC */
/*
 * The bodies of the inner kinds of a DATA message (PROTOCOL.md 2.3, "Inner
 * kinds"), checked exactly: one encoding per message, nothing left over.
 */
#include <string.h>

#include "err.h"
#include "inner.h"

int
proto_inner_sealable(uint8_t kind)
{
	return kind == IK_TEXT || kind == IK_ACK || kind == IK_PING ||
	    kind == IK_PONG || kind == IK_VIEW;
}

static int
inner_parse_text(struct vbuf *b, size_t bodylen, struct inner_msg *m)
{
	int r;

	if (bodylen <= INNER_TEXT_HDR_LEN)
		return VEIL_E_LENGTH;
	if (bodylen > INNER_BODY_MAX)
		return VEIL_E_OVERSIZE;
	if ((r = vbuf_get_u64(b, &m->in_stream)) != 0 ||
	    (r = vbuf_get_u32(b, &m->in_seq)) != 0 ||
	    (r = vbuf_get_u8(b, &m->in_flags)) != 0)
		return r;
	if (m->in_seq == 0 || (m->in_flags & ~INNER_FLAGS_ALL) != 0)
		return VEIL_E_INVALID;
	vbuf_get_rest(b, &m->in_text, &m->in_textlen);
	return 0;
}

static int
inner_parse_view(struct vbuf *b, size_t bodylen, struct inner_msg *m)
{
	const uint8_t *prev = NULL, *id;
	size_t i;
	int r;

	if (bodylen < 1 || (bodylen - 1) % ED25519_PUB_LEN != 0)
		return VEIL_E_LENGTH;
	if ((r = vbuf_get_u8(b, &m->in_nview)) != 0)
		return r;
	if (m->in_nview < 1 || m->in_nview > INNER_VIEW_MAX)
		return VEIL_E_INVALID;
	if (bodylen - 1 != (size_t)m->in_nview * ED25519_PUB_LEN)
		return VEIL_E_LENGTH;
	m->in_view = b->vb_rd + b->vb_off;
	for (i = 0; i < m->in_nview; i++) {
		if ((r = vbuf_get_ref(b, &id, ED25519_PUB_LEN)) != 0)
			return r;
		/* Ascending and distinct: one encoding per set. */
		if (prev != NULL && memcmp(prev, id, ED25519_PUB_LEN) >= 0)
			return VEIL_E_INVALID;
		prev = id;
	}
	return 0;
}

int
proto_inner_parse(uint8_t kind, const uint8_t *body, size_t bodylen,
    struct inner_msg *m)
{
	struct inner_msg tmp;
	struct vbuf b;
	int r;

	if (m == NULL)
		m = &tmp;
	memset(m, 0, sizeof(*m));
	if (body == NULL && bodylen > 0)
		return VEIL_E_INVALID;
	vbuf_reader(&b, body, bodylen);
	switch (kind) {
	case IK_TEXT:
		r = inner_parse_text(&b, bodylen, m);
		break;
	case IK_CLOSE:
		r = bodylen == 0 ? 0 : VEIL_E_LENGTH;
		break;
	case IK_ACK:
		if (bodylen != INNER_ACK_LEN)
			return VEIL_E_LENGTH;
		if ((r = vbuf_get_u64(&b, &m->in_stream)) == 0)
			r = vbuf_get_u32(&b, &m->in_seq);
		break;
	case IK_PING:
	case IK_PONG:
		r = bodylen == INNER_TOKEN_LEN ? vbuf_get_u32(&b, &m->in_seq) : VEIL_E_LENGTH;
		break;
	case IK_VIEW:
		r = inner_parse_view(&b, bodylen, m);
		break;
	default:
		r = VEIL_E_TYPE;
		break;
	}
	if (r == 0)
		r = vbuf_end(&b);
	if (r != 0) {
		memset(m, 0, sizeof(*m));
		return r;
	}
	m->in_kind = kind;
	return 0;
}

static int
inner_put(struct vbuf *b, const struct inner_msg *m)
{
	int r;

	switch (m->in_kind) {
	case IK_TEXT:
		if (m->in_textlen > 0 && m->in_text == NULL)
			return VEIL_E_INVALID;
		if ((r = vbuf_put_u64(b, m->in_stream)) != 0 ||
		    (r = vbuf_put_u32(b, m->in_seq)) != 0 ||
		    (r = vbuf_put_u8(b, m->in_flags)) != 0)
			return r;
		return vbuf_put_bytes(b, m->in_text, m->in_textlen);
	case IK_CLOSE:
		return 0;
	case IK_ACK:
		if ((r = vbuf_put_u64(b, m->in_stream)) != 0)
			return r;
		return vbuf_put_u32(b, m->in_seq);
	case IK_PING:
	case IK_PONG:
		return vbuf_put_u32(b, m->in_seq);
	case IK_VIEW:
		if (m->in_nview > 0 && m->in_view == NULL)
			return VEIL_E_INVALID;
		if ((r = vbuf_put_u8(b, m->in_nview)) != 0)
			return r;
		return vbuf_put_bytes(b, m->in_view, (size_t)m->in_nview * ED25519_PUB_LEN);
	}
	return VEIL_E_TYPE;
}

int
proto_inner_build(struct vbuf *out, const struct inner_msg *m)
{
	size_t at;
	int r;

	if (out == NULL || m == NULL)
		return VEIL_E_INVALID;
	at = out->vb_len;
	if ((r = inner_put(out, m)) == 0)
		r = proto_inner_parse(m->in_kind, out->vb_wr + at, out->vb_len - at, NULL);
	if (r != 0 && out->vb_wr != NULL && out->vb_len >= at) {
		/* A text is plaintext: nothing of it stays behind. */
		memset(out->vb_wr + at, 0, out->vb_len - at);
		out->vb_len = at;
	}
	return r;
}
