/* SPDX-License-Identifier: ISC */
/*
 * Layer 3 of PROTOCOL.md: keyd IPC messages. Every field of every code is
 * decoded with the same vbuf reader; the encoder writes the fields and then
 * runs the decoder over what it wrote, so encode can never produce a message
 * that decode would refuse (and a failed encode leaves the writer as it was).
 */
#include <string.h>

#include "err.h"
#include "ipc.h"

/* Reads a fixed 20-byte fingerprint. */
static int
ipc_get_fpr(struct vbuf *b, uint8_t fpr[static FPR_LEN])
{
	return vbuf_get_bytes(b, fpr, FPR_LEN);
}

/* str8 nick, valid per proto_nick_valid (else VEIL_E_NICK). */
static int
ipc_get_nick(struct vbuf *b, const uint8_t **nick, size_t *len)
{
	int r;

	if ((r = vbuf_get_str8(b, nick, len, NICK_MAX)) != 0)
		return r;
	return proto_nick_valid(*nick, *len) ? 0 : VEIL_E_NICK;
}

/* u32 handle, never 0 (0 means "no session" in IPC_ANS_ERROR). */
static int
ipc_get_handle(struct vbuf *b, uint32_t *h)
{
	int r;

	if ((r = vbuf_get_u32(b, h)) != 0)
		return r;
	return *h != 0 ? 0 : VEIL_E_INVALID;
}

/* str32 blob of min..E2E_MAX bytes (min is 0 or 1). */
static int
ipc_get_blob(struct vbuf *b, const uint8_t **p, size_t *n, size_t min)
{
	int r;

	if ((r = vbuf_get_str32(b, p, n, E2E_MAX)) != 0)
		return r;
	return *n >= min ? 0 : VEIL_E_LENGTH;
}

/* A member id as a relay assigns it: 1..MEMBER_MAX. */
static int
ipc_member_ok(uint16_t id)
{
	return id != MEMBER_NONE && id <= MEMBER_MAX;
}

/*
 * room[32], room_key[32], u16 me, u16 peer, u32 replaces: two distinct member
 * ids, and the handle of the session this one replaces (0: none).
 */
static int
ipc_get_route(struct vbuf *b, struct ipc_msg *m)
{
	int r;

	if ((r = vbuf_get_bytes(b, m->im_room, ROOM_ID_LEN)) != 0 ||
	    (r = vbuf_get_bytes(b, m->im_room_key, ROOM_KEY_LEN)) != 0 ||
	    (r = vbuf_get_u16(b, &m->im_me)) != 0 ||
	    (r = vbuf_get_u16(b, &m->im_peer)) != 0 ||
	    (r = vbuf_get_u32(b, &m->im_replaces)) != 0)
		return r;
	if (!ipc_member_ok(m->im_me) || !ipc_member_ok(m->im_peer) ||
	    m->im_me == m->im_peer)
		return VEIL_E_INVALID;
	return 0;
}

static int
ipc_code_is_request(uint8_t code)
{
	/* 0x07 was veil/1's REQ_REKEY. */
	return (code >= REQ_HELLO && code <= REQ_STATUS && code != 0x07) ||
	    code == REQ_HIST_SEAL || code == REQ_HIST_OPEN;
}

/* u8 version, which must be ours: nothing after it is read otherwise. */
static int
ipc_get_version(struct vbuf *b, struct ipc_msg *m)
{
	int r;

	if ((r = vbuf_get_u8(b, &m->im_version)) != 0)
		return r;
	return m->im_version == IPC_VERSION ? 0 : VEIL_E_VERSION;
}

/* A sealed history record: str32, HIST_SEALED_OVERHEAD + 1 .. HIST_BLOB_MAX bytes. */
static int
ipc_get_hist_blob(struct vbuf *b, const uint8_t **p, size_t *n)
{
	int r;

	if ((r = vbuf_get_str32(b, p, n, HIST_BLOB_MAX)) != 0)
		return r;
	return *n > HIST_SEALED_OVERHEAD ? 0 : VEIL_E_LENGTH;
}

/* A history record's text: str16, 1..HIST_TEXT_MAX bytes (opaque to keyd). */
static int
ipc_get_hist_text(struct vbuf *b, struct ipc_msg *m)
{
	int r;

	if ((r = vbuf_get_str16(b, &m->im_text, &m->im_textlen, HIST_TEXT_MAX)) != 0)
		return r;
	return m->im_textlen >= 1 ? 0 : VEIL_E_LENGTH;
}

static int
ipc_code_is_answer(uint8_t code)
{
	switch (code) {
	case ANS_HELLO:
	case ANS_HS:
	case ANS_HS_NEXT:
	case ANS_SEALED:
	case ANS_OPENED:
	case ANS_CLOSE:
	case ANS_FORGET:
	case ANS_VERIFY:
	case ANS_STATUS:
	case ANS_HIST_SEALED:
	case ANS_HIST_OPENED:
	case IPC_ANS_ERROR:
		return 1;
	}
	return 0;
}

/*
 * REQ_SEAL (sealing 1): u8 kind, str16 body; ANS_OPENED (0): u8 kind, u32
 * gap, str16 body. The body is checked against its kind exactly
 * (proto_inner_parse); REQ_SEAL takes only the kinds chatc may send
 * (proto_inner_sealable: CLOSE goes by REQ_CLOSE), else VEIL_E_TYPE.
 */
static int
ipc_get_inner(struct vbuf *b, struct ipc_msg *m, int sealing)
{
	int r;

	if ((r = vbuf_get_u8(b, &m->im_kind)) != 0)
		return r;
	if (!sealing && (r = vbuf_get_u32(b, &m->im_gap)) != 0)
		return r;
	if ((r = vbuf_get_str16(b, &m->im_text, &m->im_textlen, INNER_BODY_MAX)) != 0)
		return r;
	if (sealing && !proto_inner_sealable(m->im_kind))
		return VEIL_E_TYPE;
	return proto_inner_parse(m->im_kind, m->im_text, m->im_textlen, NULL);
}

static int
ipc_decode_request(struct vbuf *b, struct ipc_msg *m)
{
	size_t i;
	uint8_t n8;
	int r;

	switch (m->im_code) {
	case REQ_HELLO:
		if ((r = ipc_get_version(b, m)) != 0 ||
		    (r = ipc_get_nick(b, &m->im_nick, &m->im_nicklen)) != 0 ||
		    (r = vbuf_get_u8(b, &n8)) != 0)
			return r;
		if (n8 > IPC_EXPECT_MAX)
			return VEIL_E_OVERSIZE;
		m->im_count = n8;
		for (i = 0; i < m->im_count; i++) {
			struct ipc_expect *ex = &m->im_expect[i];

			if ((r = ipc_get_nick(b, &ex->ex_nick, &ex->ex_nicklen)) != 0 ||
			    (r = ipc_get_fpr(b, ex->ex_fpr)) != 0)
				return r;
		}
		return 0;
	case REQ_HS_START:
		return ipc_get_route(b, m);
	case REQ_HS_ACCEPT:
		if ((r = ipc_get_route(b, m)) != 0)
			return r;
		return ipc_get_blob(b, &m->im_blob, &m->im_bloblen, 1);
	case REQ_HS_NEXT:
	case REQ_OPEN:
		if ((r = ipc_get_handle(b, &m->im_handle)) != 0)
			return r;
		return ipc_get_blob(b, &m->im_blob, &m->im_bloblen, 1);
	case REQ_SEAL:
		if ((r = vbuf_get_u16(b, &m->im_count)) != 0)
			return r;
		if (m->im_count == 0)
			return VEIL_E_LENGTH;
		if (m->im_count > IPC_BATCH_MAX)
			return VEIL_E_OVERSIZE;
		for (i = 0; i < m->im_count; i++)
			if ((r = ipc_get_handle(b, &m->im_handles[i])) != 0)
				return r;
		return ipc_get_inner(b, m, 1);
	case REQ_CLOSE:
	case REQ_VERIFY:
		return ipc_get_handle(b, &m->im_handle);
	case REQ_FORGET:
		return ipc_get_nick(b, &m->im_nick, &m->im_nicklen);
	case REQ_STATUS:
		return 0;
	case REQ_HIST_SEAL:
		return ipc_get_hist_text(b, m);
	case REQ_HIST_OPEN:
		return ipc_get_hist_blob(b, &m->im_blob, &m->im_bloblen);
	}
	return VEIL_E_TYPE;
}

static int
ipc_safety_ok(const uint8_t *p, size_t n)
{
	size_t i;

	if (n < 1)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static int
ipc_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* A trust value: 1..TRUST_REFUSED. */
static int
ipc_trust_ok(uint8_t t)
{
	return t >= TRUST_NEW && t <= TRUST_REFUSED;
}

/*
 * ANS_HS_NEXT's trust fields once done (PROTOCOL.md 3.5): u8 trust, u8 flags,
 * u8 reason, str8 label, fpr2, each checked against the others.
 */
static int
ipc_get_trust(struct vbuf *b, struct ipc_msg *m)
{
	int r, other;

	if ((r = vbuf_get_u8(b, &m->im_trust)) != 0 ||
	    (r = vbuf_get_u8(b, &m->im_flags)) != 0 ||
	    (r = vbuf_get_u8(b, &m->im_reason)) != 0 ||
	    (r = vbuf_get_str8(b, &m->im_label, &m->im_labellen, NICK_MAX)) != 0 ||
	    (r = ipc_get_fpr(b, m->im_fpr2)) != 0)
		return r;
	if (!ipc_trust_ok(m->im_trust) || (m->im_flags & ~TF_ALL) != 0)
		return VEIL_E_INVALID;
	/* A reason exactly when refused. */
	if (m->im_trust == TRUST_REFUSED ?
	    m->im_reason < REFUSE_PIN || m->im_reason > REFUSE_SWAP : m->im_reason != 0)
		return VEIL_E_INVALID;
	/* A label exactly with KNOWN_AS. */
	if ((m->im_flags & TF_KNOWN_AS) != 0) {
		if (!proto_nick_valid(m->im_label, m->im_labellen))
			return m->im_labellen == 0 ? VEIL_E_LENGTH : VEIL_E_NICK;
	} else if (m->im_labellen != 0)
		return VEIL_E_LENGTH;
	/* Another key's fingerprint only where one is named. */
	other = m->im_reason == REFUSE_PIN || m->im_reason == REFUSE_EXPECT ||
	    m->im_reason == REFUSE_SWAP ||
	    (m->im_flags & (TF_NAME_ELSEWHERE | TF_CONTESTED)) != 0;
	if (!other && !ipc_zero(m->im_fpr2, FPR_LEN))
		return VEIL_E_INVALID;
	return 0;
}

static int
ipc_decode_answer(struct vbuf *b, struct ipc_msg *m)
{
	size_t i;
	int r;

	switch (m->im_code) {
	case ANS_HELLO:
		if ((r = ipc_get_version(b, m)) != 0 ||
		    (r = ipc_get_fpr(b, m->im_fpr)) != 0)
			return r;
		return vbuf_get_bytes(b, m->im_id, ED25519_PUB_LEN);
	case ANS_HS:
		if ((r = ipc_get_handle(b, &m->im_handle)) != 0)
			return r;
		return ipc_get_blob(b, &m->im_blob, &m->im_bloblen, 1);
	case ANS_CLOSE:
		/* Empty when there was nothing to tell the peer (no session keys yet). */
		if ((r = ipc_get_handle(b, &m->im_handle)) != 0)
			return r;
		return ipc_get_blob(b, &m->im_blob, &m->im_bloblen, 0);
	case ANS_HS_NEXT:
		/* The blob is empty when the responder has just taken HS_FIN. */
		if ((r = ipc_get_handle(b, &m->im_handle)) != 0 ||
		    (r = vbuf_get_u8(b, &m->im_done)) != 0)
			return r;
		if (m->im_done > 1)
			return VEIL_E_INVALID;
		if ((r = ipc_get_blob(b, &m->im_blob, &m->im_bloblen, 0)) != 0)
			return r;
		if (m->im_done == 0)
			return 0;
		if ((r = ipc_get_nick(b, &m->im_nick, &m->im_nicklen)) != 0 ||
		    (r = ipc_get_fpr(b, m->im_fpr)) != 0 ||
		    (r = vbuf_get_bytes(b, m->im_id, ED25519_PUB_LEN)) != 0)
			return r;
		return ipc_get_trust(b, m);
	case ANS_SEALED:
		if ((r = vbuf_get_u16(b, &m->im_count)) != 0)
			return r;
		if (m->im_count == 0)
			return VEIL_E_LENGTH;
		if (m->im_count > IPC_BATCH_MAX)
			return VEIL_E_OVERSIZE;
		for (i = 0; i < m->im_count; i++) {
			struct ipc_item *it = &m->im_items[i];

			if ((r = ipc_get_handle(b, &it->it_handle)) != 0 ||
			    (r = vbuf_get_u8(b, &it->it_status)) != 0 ||
			    (r = vbuf_get_u8(b, &it->it_flags)) != 0)
				return r;
			if (it->it_status > 127 || (it->it_flags & ~SEAL_ENDED) != 0 ||
			    ((it->it_flags & SEAL_ENDED) != 0 && it->it_status == 0))
				return VEIL_E_INVALID;
			/* A sealed item carries its message; a failed one may be empty. */
			if ((r = ipc_get_blob(b, &it->it_blob, &it->it_bloblen,
			    it->it_status == 0 ? 1 : 0)) != 0)
				return r;
		}
		return 0;
	case ANS_OPENED:
		if ((r = ipc_get_handle(b, &m->im_handle)) != 0)
			return r;
		return ipc_get_inner(b, m, 0);
	case ANS_FORGET:
		if ((r = vbuf_get_u8(b, &m->im_existed)) != 0 ||
		    (r = ipc_get_fpr(b, m->im_fpr)) != 0)
			return r;
		if (m->im_existed > 1 || (m->im_existed == 0 && !ipc_zero(m->im_fpr, FPR_LEN)))
			return VEIL_E_INVALID;
		return 0;
	case ANS_VERIFY:
		if ((r = ipc_get_nick(b, &m->im_nick, &m->im_nicklen)) != 0 ||
		    (r = ipc_get_fpr(b, m->im_fpr)) != 0 ||
		    (r = ipc_get_fpr(b, m->im_fpr2)) != 0 ||
		    (r = vbuf_get_u8(b, &m->im_trust)) != 0 ||
		    (r = vbuf_get_str8(b, &m->im_safety, &m->im_safetylen,
		    SAFETY_TEXT_MAX)) != 0)
			return r;
		if (!ipc_trust_ok(m->im_trust))
			return VEIL_E_INVALID;
		return ipc_safety_ok(m->im_safety, m->im_safetylen) ? 0 : VEIL_E_INVALID;
	case ANS_STATUS:
		return vbuf_get_u32(b, &m->im_gen);
	case ANS_HIST_SEALED:
		return ipc_get_hist_blob(b, &m->im_blob, &m->im_bloblen);
	case ANS_HIST_OPENED:
		return ipc_get_hist_text(b, m);
	case IPC_ANS_ERROR:
		if ((r = vbuf_get_u8(b, &m->im_err)) != 0 ||
		    (r = vbuf_get_u32(b, &m->im_handle)) != 0 ||
		    (r = vbuf_get_u8(b, &m->im_ended)) != 0 ||
		    (r = vbuf_get_str16(b, &m->im_text, &m->im_textlen, IPC_ERRMSG_MAX)) != 0)
			return r;
		/* Only a session can have ended. */
		if (m->im_err < 1 || m->im_err > 127 || m->im_ended > 1 ||
		    (m->im_ended == 1 && m->im_handle == 0))
			return VEIL_E_INVALID;
		return 0;
	}
	return VEIL_E_TYPE;
}

int
proto_ipc_length(const uint8_t *p, size_t n, size_t *len)
{
	uint32_t v;

	*len = 0;
	if (p == NULL || n < IPC_LEN_HDR)
		return VEIL_E_TRUNCATED;
	v = veil_get32(p);
	if (v == 0)
		return VEIL_E_LENGTH;
	if (v > IPC_MAX)
		return VEIL_E_OVERSIZE;
	*len = v;
	return 0;
}

int
proto_ipc_decode(const uint8_t *p, size_t n, int is_answer, struct ipc_msg *m)
{
	struct vbuf b;
	int r;

	memset(m, 0, sizeof(*m));
	if (n > IPC_MAX)
		return VEIL_E_OVERSIZE;
	vbuf_reader(&b, p, p == NULL ? 0 : n);
	if ((r = vbuf_get_u8(&b, &m->im_code)) != 0)
		goto fail;
	if (is_answer ? !ipc_code_is_answer(m->im_code) :
	    !ipc_code_is_request(m->im_code)) {
		r = VEIL_E_TYPE;
		goto fail;
	}
	if (is_answer)
		r = ipc_decode_answer(&b, m);
	else
		r = ipc_decode_request(&b, m);
	if (r != 0 || (r = vbuf_end(&b)) != 0)
		goto fail;
	return 0;
 fail:
	memset(m, 0, sizeof(*m));
	return r;
}

/* Writes n bytes from p, refusing a NULL pointer with a non-zero length. */
static int
ipc_put_bytes(struct vbuf *b, const uint8_t *p, size_t n)
{
	if (n > 0 && p == NULL)
		return VEIL_E_INVALID;
	return vbuf_put_bytes(b, p, n);
}

static int
ipc_put_str8(struct vbuf *b, const uint8_t *p, size_t n)
{
	if (n > 0 && p == NULL)
		return VEIL_E_INVALID;
	return vbuf_put_str8(b, p, n);
}

static int
ipc_put_str16(struct vbuf *b, const uint8_t *p, size_t n)
{
	if (n > 0 && p == NULL)
		return VEIL_E_INVALID;
	return vbuf_put_str16(b, p, n);
}

static int
ipc_put_str32(struct vbuf *b, const uint8_t *p, size_t n)
{
	if (n > 0 && p == NULL)
		return VEIL_E_INVALID;
	/*
	 * Refused here so an absurd length never reaches the writer; the
	 * decoder then checks each field's own bound.
	 */
	if (n > (E2E_MAX > HIST_BLOB_MAX ? E2E_MAX : HIST_BLOB_MAX))
		return VEIL_E_OVERSIZE;
	return vbuf_put_str32(b, p, n);
}

static int
ipc_put_route(struct vbuf *b, const struct ipc_msg *m)
{
	int r;

	if ((r = ipc_put_bytes(b, m->im_room, ROOM_ID_LEN)) != 0 ||
	    (r = ipc_put_bytes(b, m->im_room_key, ROOM_KEY_LEN)) != 0 ||
	    (r = vbuf_put_u16(b, m->im_me)) != 0 ||
	    (r = vbuf_put_u16(b, m->im_peer)) != 0 ||
	    (r = vbuf_put_u32(b, m->im_replaces)) != 0)
		return r;
	return 0;
}

/* Writes code and fields as the layout tables say; validation comes after. */
static int
ipc_put_fields(struct vbuf *b, const struct ipc_msg *m)
{
	size_t i;
	int r;

	if ((r = vbuf_put_u8(b, m->im_code)) != 0)
		return r;
	switch (m->im_code) {
	case REQ_HELLO:
		if (m->im_count > IPC_EXPECT_MAX)
			return VEIL_E_OVERSIZE;
		if ((r = vbuf_put_u8(b, m->im_version)) != 0 ||
		    (r = ipc_put_str8(b, m->im_nick, m->im_nicklen)) != 0 ||
		    (r = vbuf_put_u8(b, (uint8_t)m->im_count)) != 0)
			return r;
		for (i = 0; i < m->im_count; i++) {
			const struct ipc_expect *ex = &m->im_expect[i];

			if ((r = ipc_put_str8(b, ex->ex_nick, ex->ex_nicklen)) != 0 ||
			    (r = ipc_put_bytes(b, ex->ex_fpr, FPR_LEN)) != 0)
				return r;
		}
		return 0;
	case REQ_HS_START:
		return ipc_put_route(b, m);
	case REQ_HS_ACCEPT:
		if ((r = ipc_put_route(b, m)) != 0)
			return r;
		return ipc_put_str32(b, m->im_blob, m->im_bloblen);
	case REQ_HS_NEXT:
	case REQ_OPEN:
	case ANS_HS:
	case ANS_CLOSE:
		if ((r = vbuf_put_u32(b, m->im_handle)) != 0)
			return r;
		return ipc_put_str32(b, m->im_blob, m->im_bloblen);
	case REQ_SEAL:
		if (m->im_count > IPC_BATCH_MAX)
			return VEIL_E_OVERSIZE;
		if ((r = vbuf_put_u16(b, m->im_count)) != 0)
			return r;
		for (i = 0; i < m->im_count; i++)
			if ((r = vbuf_put_u32(b, m->im_handles[i])) != 0)
				return r;
		if ((r = vbuf_put_u8(b, m->im_kind)) != 0)
			return r;
		return ipc_put_str16(b, m->im_text, m->im_textlen);
	case REQ_CLOSE:
	case REQ_VERIFY:
		return vbuf_put_u32(b, m->im_handle);
	case REQ_FORGET:
		return ipc_put_str8(b, m->im_nick, m->im_nicklen);
	case REQ_STATUS:
		return 0;
	case REQ_HIST_SEAL:
	case ANS_HIST_OPENED:
		return ipc_put_str16(b, m->im_text, m->im_textlen);
	case REQ_HIST_OPEN:
	case ANS_HIST_SEALED:
		return ipc_put_str32(b, m->im_blob, m->im_bloblen);
	case ANS_HELLO:
		if ((r = vbuf_put_u8(b, m->im_version)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr, FPR_LEN)) != 0)
			return r;
		return ipc_put_bytes(b, m->im_id, ED25519_PUB_LEN);
	case ANS_HS_NEXT:
		if ((r = vbuf_put_u32(b, m->im_handle)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_done)) != 0 ||
		    (r = ipc_put_str32(b, m->im_blob, m->im_bloblen)) != 0)
			return r;
		if (m->im_done == 0)
			return 0;
		if ((r = ipc_put_str8(b, m->im_nick, m->im_nicklen)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr, FPR_LEN)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_id, ED25519_PUB_LEN)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_trust)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_flags)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_reason)) != 0 ||
		    (r = ipc_put_str8(b, m->im_label, m->im_labellen)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr2, FPR_LEN)) != 0)
			return r;
		return 0;
	case ANS_SEALED:
		if (m->im_count > IPC_BATCH_MAX)
			return VEIL_E_OVERSIZE;
		if ((r = vbuf_put_u16(b, m->im_count)) != 0)
			return r;
		for (i = 0; i < m->im_count; i++) {
			const struct ipc_item *it = &m->im_items[i];

			if ((r = vbuf_put_u32(b, it->it_handle)) != 0 ||
			    (r = vbuf_put_u8(b, it->it_status)) != 0 ||
			    (r = vbuf_put_u8(b, it->it_flags)) != 0 ||
			    (r = ipc_put_str32(b, it->it_blob, it->it_bloblen)) != 0)
				return r;
		}
		return 0;
	case ANS_OPENED:
		if ((r = vbuf_put_u32(b, m->im_handle)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_kind)) != 0 ||
		    (r = vbuf_put_u32(b, m->im_gap)) != 0 ||
		    (r = ipc_put_str16(b, m->im_text, m->im_textlen)) != 0)
			return r;
		return 0;
	case ANS_FORGET:
		if ((r = vbuf_put_u8(b, m->im_existed)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr, FPR_LEN)) != 0)
			return r;
		return 0;
	case ANS_VERIFY:
		if ((r = ipc_put_str8(b, m->im_nick, m->im_nicklen)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr, FPR_LEN)) != 0 ||
		    (r = ipc_put_bytes(b, m->im_fpr2, FPR_LEN)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_trust)) != 0 ||
		    (r = ipc_put_str8(b, m->im_safety, m->im_safetylen)) != 0)
			return r;
		return 0;
	case ANS_STATUS:
		return vbuf_put_u32(b, m->im_gen);
	case IPC_ANS_ERROR:
		if ((r = vbuf_put_u8(b, m->im_err)) != 0 ||
		    (r = vbuf_put_u32(b, m->im_handle)) != 0 ||
		    (r = vbuf_put_u8(b, m->im_ended)) != 0 ||
		    (r = ipc_put_str16(b, m->im_text, m->im_textlen)) != 0)
			return r;
		return 0;
	}
	return VEIL_E_TYPE;
}

int
proto_ipc_encode(struct vbuf *out, const struct ipc_msg *m)
{
	struct ipc_msg check;
	size_t start = out->vb_len, body;
	uint8_t *hdr;
	int r;

	if ((r = vbuf_reserve(out, &hdr, IPC_LEN_HDR)) != 0)
		return r;
	if ((r = ipc_put_fields(out, m)) != 0)
		goto fail;
	body = out->vb_len - start - IPC_LEN_HDR;
	if ((r = proto_ipc_decode(out->vb_wr + start + IPC_LEN_HDR, body,
	    (m->im_code & 0x80) != 0, &check)) != 0)
		goto fail;
	/* decode refused anything over IPC_MAX, so the length fits a u32. */
	veil_put32(out->vb_wr + start, (uint32_t)body);
	return 0;
 fail:
	out->vb_len = start;
	return r;
}
