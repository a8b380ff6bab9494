/* SPDX-License-Identifier: ISC */
/* Invite codes, PROTOCOL.md 4.1 (see invite.h). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "invite.h"

#define CHECK_LABEL	"veil/2 invite"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
invite_check(const uint8_t *p, size_t n, uint8_t out[static INVITE_CHECK_LEN])
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, CHECK_LABEL, sizeof(CHECK_LABEL) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, p, n) == 1 &&
	    EVP_DigestFinal_ex(ctx, d, &dlen) == 1 && dlen >= INVITE_CHECK_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return VEIL_E_CRYPTO;
	memcpy(out, d, INVITE_CHECK_LEN);
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

static int
invite_addr_ok(const char *a, size_t n)
{
	size_t i;

	if (n == 0 || n > INVITE_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x21 || (unsigned char)a[i] > 0x7e)
			return 0;
	return 1;
}

int
proto_invite_encode(const struct invite *iv, char *out, size_t cap)
{
	uint8_t bin[INVITE_BIN_MAX];
	struct vbuf w;
	size_t i, o, need, len;
	uint32_t v;
	int r;

	if (cap > 0)
		out[0] = '\0';
	if (iv->iv_nrelays == 0 || iv->iv_nrelays > INVITE_RELAYS_MAX)
		return VEIL_E_INVALID;
	vbuf_writer(&w, bin, sizeof(bin));
	if ((r = vbuf_put_u8(&w, INVITE_VERSION)) != 0 || (r = vbuf_put_u8(&w, 0)) != 0 ||
	    (r = vbuf_put_bytes(&w, iv->iv_secret, INVITE_SECRET_LEN)) != 0 ||
	    (r = vbuf_put_u8(&w, (uint8_t)iv->iv_nrelays)) != 0)
		goto out;
	for (i = 0; i < iv->iv_nrelays; i++) {
		const struct invite_relay *ir = &iv->iv_relays[i];

		len = strnlen(ir->ir_addr, sizeof(ir->ir_addr));
		if (!invite_addr_ok(ir->ir_addr, len)) {
			r = VEIL_E_INVALID;
			goto out;
		}
		if ((r = vbuf_put_str8(&w, ir->ir_addr, len)) != 0 ||
		    (r = vbuf_put_u8(&w, ir->ir_has_fp ? RELAY_FP_LEN : 0)) != 0 ||
		    (ir->ir_has_fp && (r = vbuf_put_bytes(&w, ir->ir_fp, RELAY_FP_LEN)) != 0))
			goto out;
	}
	if (w.vb_cap - w.vb_len < INVITE_CHECK_LEN) {
		r = VEIL_E_NOSPACE;
		goto out;
	}
	if ((r = invite_check(bin, w.vb_len, bin + w.vb_len)) != 0)
		goto out;
	w.vb_len += INVITE_CHECK_LEN;

	need = sizeof(INVITE_PREFIX) - 1 + (w.vb_len * 4 + 2) / 3 + 1;
	if (cap < need) {
		r = VEIL_E_NOSPACE;
		goto out;
	}
	memcpy(out, INVITE_PREFIX, sizeof(INVITE_PREFIX) - 1);
	o = sizeof(INVITE_PREFIX) - 1;
	for (i = 0; i < w.vb_len; i += 3) {
		v = (uint32_t)bin[i] << 16;
		if (i + 1 < w.vb_len)
			v |= (uint32_t)bin[i + 1] << 8;
		if (i + 2 < w.vb_len)
			v |= bin[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		if (i + 1 < w.vb_len)
			out[o++] = b64url[v >> 6 & 63];
		if (i + 2 < w.vb_len)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	r = 0;
 out:
	OPENSSL_cleanse(bin, sizeof(bin));
	if (r != 0 && cap > 0)
		OPENSSL_cleanse(out, cap);
	return r;
}

/* base64url without padding into bin; the unused bits must be zero. */
static int
invite_unbase64(const char *s, size_t n, uint8_t *bin, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	*outlen = 0;
	if (n % 4 == 1)
		return VEIL_E_INVALID;
	if ((n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return VEIL_E_OVERSIZE;
	for (i = 0; i < n; i++) {
		if ((v = proto_b64_value(s[i], 1)) < 0)
			return VEIL_E_INVALID;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* One encoding per code: the left-over bits of the last character are zero. */
	if (acc != 0)
		return VEIL_E_INVALID;
	*outlen = o;
	return 0;
}

int
proto_invite_decode(const char *text, struct invite *iv)
{
	uint8_t bin[INVITE_BIN_MAX], check[INVITE_CHECK_LEN];
	const uint8_t *p;
	struct vbuf rd;
	uint8_t ver, flags, n, fplen;
	size_t len, binlen, i, plen = sizeof(INVITE_PREFIX) - 1;
	int r;

	memset(iv, 0, sizeof(*iv));
	if (text == NULL || strncmp(text, INVITE_PREFIX, plen) != 0)
		return VEIL_E_INVALID;
	len = strnlen(text + plen, INVITE_TEXT_MAX);
	if (len >= INVITE_TEXT_MAX - plen)
		return VEIL_E_OVERSIZE;
	if ((r = invite_unbase64(text + plen, len, bin, sizeof(bin), &binlen)) != 0)
		goto out;
	if (binlen < INVITE_CHECK_LEN) {
		r = VEIL_E_TRUNCATED;
		goto out;
	}
	vbuf_reader(&rd, bin, binlen - INVITE_CHECK_LEN);
	if ((r = vbuf_get_u8(&rd, &ver)) != 0)
		goto out;
	if (ver != INVITE_VERSION) {
		r = VEIL_E_VERSION;
		goto out;
	}
	if ((r = vbuf_get_u8(&rd, &flags)) != 0)
		goto out;
	if (flags != 0) {
		r = VEIL_E_INVALID;
		goto out;
	}
	if ((r = vbuf_get_bytes(&rd, iv->iv_secret, INVITE_SECRET_LEN)) != 0 ||
	    (r = vbuf_get_u8(&rd, &n)) != 0)
		goto out;
	if (n == 0 || n > INVITE_RELAYS_MAX) {
		r = VEIL_E_LENGTH;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct invite_relay *ir = &iv->iv_relays[i];

		if ((r = vbuf_get_str8(&rd, &p, &len, INVITE_ADDR_MAX)) != 0)
			goto out;
		if (!invite_addr_ok((const char *)p, len)) {
			r = VEIL_E_INVALID;
			goto out;
		}
		memcpy(ir->ir_addr, p, len);
		ir->ir_addr[len] = '\0';
		if ((r = vbuf_get_u8(&rd, &fplen)) != 0)
			goto out;
		if (fplen != 0 && fplen != RELAY_FP_LEN) {
			r = VEIL_E_LENGTH;
			goto out;
		}
		if (fplen != 0 && (r = vbuf_get_bytes(&rd, ir->ir_fp, RELAY_FP_LEN)) != 0)
			goto out;
		ir->ir_has_fp = fplen != 0;
	}
	iv->iv_nrelays = n;
	if ((r = vbuf_end(&rd)) != 0 ||
	    (r = invite_check(bin, binlen - INVITE_CHECK_LEN, check)) != 0)
		goto out;
	if (memcmp(check, bin + binlen - INVITE_CHECK_LEN, INVITE_CHECK_LEN) != 0)
		r = VEIL_E_AUTH;
 out:
	OPENSSL_cleanse(bin, sizeof(bin));
	if (r != 0)
		OPENSSL_cleanse(iv, sizeof(*iv));
	return r;
}

const char *
proto_invite_strerror(int err)
{
	switch (err) {
	case VEIL_E_INVALID:
		return "not a veil invite code (it starts \"veil:\" and holds only letters, "
		    "digits, - and _)";
	case VEIL_E_VERSION:
		return "an invite code of another veil version";
	case VEIL_E_TRUNCATED:
		return "the invite code is cut short; copy all of it";
	case VEIL_E_OVERSIZE:
	case VEIL_E_TRAILING:
		return "the invite code is too long; copy exactly one code";
	case VEIL_E_AUTH:
		return "the invite code has a typo (its check digits do not match)";
	case VEIL_E_LENGTH:
		return "the invite code is malformed";
	}
	return veil_strerror(err);
}
