/* SPDX-License-Identifier: ISC */
/*
 * Layer 2 of PROTOCOL.md: end-to-end message framing, the handshake identity
 * blocks, the padded inner plaintext, nicknames and fingerprint text.
 * Only lengths and framing are checked here; keyd/session.c does the crypto.
 */
#include <string.h>

#include "err.h"
#include "e2e.h"
#include "inner.h"

#define E2E_HDR_LEN	2			/* ver, type */
#define SEC1_UNCOMPRESSED 0x04

/* 1 if n is exactly one of the padding buckets 64, 128, ..., 4096. */
static int
e2e_is_bucket(size_t n)
{
	return n >= PAD_MIN && n <= PAD_MAX && (n & (n - 1)) == 0;
}

/*
 * Ciphertext length rules per type (PROTOCOL.md 2, header errors): the
 * sealed part of HS_RESP and HS_FIN has one length, shorter is a truncated
 * message and longer has bytes left over; DATA must be exactly a bucket plus
 * the tag.
 */
static int
e2e_ct_check(uint8_t type, size_t ctlen)
{
	switch (type) {
	case E2E_HS_RESP:
	case E2E_HS_FIN:
		if (ctlen < E2E_HS_CT_LEN)
			return VEIL_E_TRUNCATED;
		return ctlen > E2E_HS_CT_LEN ? VEIL_E_TRAILING : 0;
	case E2E_DATA:
		if (ctlen < PAD_MIN + AEAD_TAG_LEN)
			return VEIL_E_TRUNCATED;
		if (ctlen > PAD_MAX + AEAD_TAG_LEN)
			return VEIL_E_OVERSIZE;
		return e2e_is_bucket(ctlen - AEAD_TAG_LEN) ? 0 : VEIL_E_LENGTH;
	}
	return VEIL_E_TYPE;
}

static int
e2e_type_known(uint8_t type)
{
	return type == E2E_HS_INIT || type == E2E_HS_RESP || type == E2E_HS_FIN ||
	    type == E2E_DATA;
}

int
proto_e2e_peek_type(const uint8_t *p, size_t n)
{
	if (p == NULL || n < 1)
		return VEIL_E_TRUNCATED;
	if (p[0] != E2E_VERSION)
		return VEIL_E_VERSION;
	if (n < E2E_HDR_LEN)
		return VEIL_E_TRUNCATED;
	return p[1];
}

int
proto_e2e_decode(const uint8_t *p, size_t n, struct e2e_msg *m)
{
	struct vbuf b;
	int r;

	memset(m, 0, sizeof(*m));
	if (n > E2E_MAX)
		return VEIL_E_OVERSIZE;
	if ((r = proto_e2e_peek_type(p, n)) < 0)
		return r;
	if (!e2e_type_known(p[1]))
		return VEIL_E_TYPE;
	vbuf_reader(&b, p + E2E_HDR_LEN, n - E2E_HDR_LEN);
	m->em_type = p[1];
	if (m->em_type == E2E_HS_INIT || m->em_type == E2E_HS_RESP) {
		if ((r = vbuf_get_ref(&b, &m->em_eph, P256_PUB_LEN)) != 0)
			goto fail;
	}
	if (m->em_type == E2E_DATA) {
		if ((r = vbuf_get_ref(&b, &m->em_hn, E2E_HN_LEN)) != 0 ||
		    (r = vbuf_get_ref(&b, &m->em_hct, E2E_HDR_CT_LEN)) != 0)
			goto fail;
	}
	if (m->em_type == E2E_HS_INIT) {
		if ((r = vbuf_end(&b)) != 0)
			goto fail;
	} else {
		vbuf_get_rest(&b, &m->em_ct, &m->em_ctlen);
		if ((r = e2e_ct_check(m->em_type, m->em_ctlen)) != 0)
			goto fail;
	}
	/* Lengths first, then content: the point's prefix. */
	if (m->em_eph != NULL && m->em_eph[0] != SEC1_UNCOMPRESSED) {
		r = VEIL_E_INVALID;
		goto fail;
	}
	return 0;
 fail:
	memset(m, 0, sizeof(*m));
	return r;
}

int
proto_e2e_encode(struct vbuf *out, const struct e2e_msg *m)
{
	size_t need = E2E_HDR_LEN;
	uint8_t *w;
	int r;

	if (!e2e_type_known(m->em_type))
		return VEIL_E_TYPE;
	if (m->em_type == E2E_HS_INIT || m->em_type == E2E_HS_RESP) {
		if (m->em_eph == NULL || m->em_eph[0] != SEC1_UNCOMPRESSED)
			return VEIL_E_INVALID;
		need += P256_PUB_LEN;
	}
	if (m->em_type == E2E_DATA) {
		if (m->em_hn == NULL || m->em_hct == NULL)
			return VEIL_E_INVALID;
		need += E2E_HN_LEN + E2E_HDR_CT_LEN;
	}
	if (m->em_type != E2E_HS_INIT) {
		if ((r = e2e_ct_check(m->em_type, m->em_ctlen)) != 0)
			return r;
		if (m->em_ct == NULL)
			return VEIL_E_INVALID;
		need += m->em_ctlen;
	}
	/* Reserve everything first: on NOSPACE nothing is written. */
	if ((r = vbuf_reserve(out, &w, need)) != 0)
		return r;
	*w++ = E2E_VERSION;
	*w++ = m->em_type;
	if (m->em_type == E2E_HS_INIT || m->em_type == E2E_HS_RESP) {
		memcpy(w, m->em_eph, P256_PUB_LEN);
		w += P256_PUB_LEN;
	}
	if (m->em_type == E2E_DATA) {
		memcpy(w, m->em_hn, E2E_HN_LEN);
		memcpy(w + E2E_HN_LEN, m->em_hct, E2E_HDR_CT_LEN);
		w += E2E_HN_LEN + E2E_HDR_CT_LEN;
	}
	if (m->em_type != E2E_HS_INIT)
		memcpy(w, m->em_ct, m->em_ctlen);
	return 0;
}

int
proto_idb_encode(uint8_t out[static E2E_IDB_LEN], const uint8_t id[static ED25519_PUB_LEN],
    const uint8_t *nick, size_t nicklen)
{
	if (!proto_nick_valid(nick, nicklen))
		return VEIL_E_NICK;
	memcpy(out, id, ED25519_PUB_LEN);
	out[ED25519_PUB_LEN] = (uint8_t)nicklen;
	memcpy(out + ED25519_PUB_LEN + 1, nick, nicklen);
	memset(out + ED25519_PUB_LEN + 1 + nicklen, 0, NICK_MAX - nicklen);
	return 0;
}

int
proto_idb_decode(const uint8_t *p, size_t n, const uint8_t **id, const uint8_t **nick,
    size_t *nicklen)
{
	const uint8_t *nk;
	uint8_t pad = 0;
	size_t len, i;

	*id = NULL;
	*nick = NULL;
	*nicklen = 0;
	if (p == NULL || n != E2E_IDB_LEN)
		return VEIL_E_LENGTH;
	len = p[ED25519_PUB_LEN];
	nk = p + ED25519_PUB_LEN + 1;
	if (len == 0 || len > NICK_MAX)
		return VEIL_E_INVALID;
	if (!proto_nick_valid(nk, len))
		return VEIL_E_NICK;
	/* One encoding per identity: the padding is zero. */
	for (i = len; i < NICK_MAX; i++)
		pad |= nk[i];
	if (pad != 0)
		return VEIL_E_INVALID;
	*id = p;
	*nick = nk;
	*nicklen = len;
	return 0;
}

size_t
proto_pad_bucket(size_t need)
{
	size_t bucket;

	for (bucket = PAD_MIN; bucket <= PAD_MAX; bucket *= 2)
		if (need <= bucket)
			return bucket;
	return 0;
}

int
proto_inner_encode(struct vbuf *out, uint8_t kind, const uint8_t *body,
    size_t bodylen)
{
	size_t bucket;
	uint8_t *w;
	int r;

	if (bodylen > 0 && body == NULL)
		return VEIL_E_INVALID;
	if ((r = proto_inner_parse(kind, body, bodylen, NULL)) != 0)
		return r;
	/* bodylen <= INNER_BODY_MAX here, so 3 + bodylen always has a bucket. */
	if ((bucket = proto_pad_bucket(INNER_HDR_LEN + bodylen)) == 0)
		return VEIL_E_OVERSIZE;
	if ((r = vbuf_reserve(out, &w, bucket)) != 0)
		return r;
	w[0] = kind;
	veil_put16(w + 1, (uint16_t)bodylen);
	if (bodylen > 0)
		memcpy(w + INNER_HDR_LEN, body, bodylen);
	memset(w + INNER_HDR_LEN + bodylen, 0, bucket - INNER_HDR_LEN - bodylen);
	return 0;
}

int
proto_inner_decode(const uint8_t *p, size_t n, uint8_t *kind,
    const uint8_t **body, size_t *bodylen)
{
	uint8_t nonzero = 0;
	size_t len, i;
	int r;

	*kind = 0;
	*body = NULL;
	*bodylen = 0;
	if (p == NULL || !e2e_is_bucket(n))
		return VEIL_E_LENGTH;
	len = veil_get16(p + 1);
	/* n >= PAD_MIN > INNER_HDR_LEN, so the subtraction cannot wrap. */
	if (len > n - INNER_HDR_LEN)
		return VEIL_E_LENGTH;
	if ((r = proto_inner_parse(p[0], p + INNER_HDR_LEN, len, NULL)) != 0)
		return r;
	/* Only the smallest bucket is canonical: anything else would be a covert channel. */
	if (proto_pad_bucket(INNER_HDR_LEN + len) != n)
		return VEIL_E_LENGTH;
	for (i = INNER_HDR_LEN + len; i < n; i++)
		nonzero |= p[i];
	if (nonzero != 0)
		return VEIL_E_INVALID;
	*kind = p[0];
	*body = p + INNER_HDR_LEN;
	*bodylen = len;
	return 0;
}

int
proto_nick_valid(const uint8_t *nick, size_t n)
{
	size_t i;
	uint8_t c;

	if (nick == NULL || n < 1 || n > NICK_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = nick[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

void
proto_fpr_format(const uint8_t fpr[static FPR_LEN], char out[static FPR_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < FPR_LEN; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ':';
		out[o++] = hex[fpr[i] >> 4];
		out[o++] = hex[fpr[i] & 0x0f];
	}
	out[o] = '\0';
}

int
proto_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
proto_fpr_parse(const char *text, uint8_t fpr[static FPR_LEN])
{
	size_t len, i, digits = 0;
	char sep = '\0';
	int v, hi = 0;

	memset(fpr, 0, FPR_LEN);
	if (text == NULL)
		return VEIL_E_INVALID;
	len = strnlen(text, FPR_TEXT_LEN + 1);
	if (len == 2 * FPR_LEN)
		sep = '\0';
	else if (len == FPR_TEXT_LEN && (text[4] == ':' || text[4] == '-'))
		sep = text[4];
	else
		return VEIL_E_INVALID;
	for (i = 0; i < len; i++) {
		/* With separators, positions 4, 9, 14, ... hold exactly sep, and only they. */
		if (sep != '\0' && i % 5 == 4) {
			if (text[i] != sep)
				goto bad;
			continue;
		}
		if ((v = proto_hex_digit(text[i])) < 0)
			goto bad;
		if (digits % 2 == 0)
			hi = v;
		else
			fpr[digits / 2] = (uint8_t)(hi << 4 | v);
		digits++;
	}
	if (digits != 2 * FPR_LEN)
		goto bad;
	return 0;
 bad:
	memset(fpr, 0, FPR_LEN);
	return VEIL_E_INVALID;
}
