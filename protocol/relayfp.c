/* SPDX-License-Identifier: ISC */
/* Relay key fingerprints and their text form, PROTOCOL.md 1.0 (see relayfp.h). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "relayfp.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
proto_relayfp_of_spki(const uint8_t *der, size_t len, uint8_t fp[static RELAYFP_LEN])
{
	unsigned int n = 0;

	memset(fp, 0, RELAYFP_LEN);
	if (der == NULL || len == 0)
		return VEIL_E_INVALID;
	if (EVP_Digest(der, len, fp, &n, EVP_sha256(), NULL) != 1 || n != RELAYFP_LEN) {
		memset(fp, 0, RELAYFP_LEN);
		return VEIL_E_CRYPTO;
	}
	return 0;
}

void
proto_relayfp_format(const uint8_t fp[static RELAYFP_LEN], char out[static RELAYFP_TEXT_MAX])
{
	size_t i, o = sizeof(RELAYFP_PREFIX) - 1;
	uint32_t v;

	memcpy(out, RELAYFP_PREFIX, o);
	/* 30 bytes in ten groups of three, then two bytes as three characters. */
	for (i = 0; i + 3 <= RELAYFP_LEN; i += 3) {
		v = (uint32_t)fp[i] << 16 | (uint32_t)fp[i + 1] << 8 | fp[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	v = (uint32_t)fp[i] << 16 | (uint32_t)fp[i + 1] << 8;
	out[o++] = b64[v >> 18 & 63];
	out[o++] = b64[v >> 12 & 63];
	out[o++] = b64[v >> 6 & 63];
	out[o] = '\0';
}

int
proto_relayfp_parse(const char *s, uint8_t fp[static RELAYFP_LEN])
{
	size_t plen = sizeof(RELAYFP_PREFIX) - 1, i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	memset(fp, 0, RELAYFP_LEN);
	if (s == NULL || strncmp(s, RELAYFP_PREFIX, plen) != 0 ||
	    strnlen(s, RELAYFP_TEXT_MAX) != RELAYFP_TEXT_LEN)
		return VEIL_E_INVALID;
	s += plen;
	for (i = 0; i < RELAYFP_B64_LEN; i++) {
		if ((v = proto_b64_value(s[i], 0)) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			fp[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* 43 characters carry 258 bits: the last two must be zero. */
	if (acc != 0 || o != RELAYFP_LEN)
		goto bad;
	return 0;
 bad:
	memset(fp, 0, RELAYFP_LEN);
	return VEIL_E_INVALID;
}

int
proto_relayfp_equal(const uint8_t a[static RELAYFP_LEN], const uint8_t b[static RELAYFP_LEN])
{
	return CRYPTO_memcmp(a, b, RELAYFP_LEN) == 0;
}
