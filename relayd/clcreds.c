/* SPDX-License-Identifier: ISC */
/*
 * --cluster-creds files (clcreds.h). Line by line, each line bounded before
 * it is looked at; a secret is copied once, into memory wiped at the end.
 * nkeys: base32 (RFC 4648, no padding) of a prefix, the key and a
 * CRC-16/XMODEM of both, little-endian, as github.com/nats-io/nkeys writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clcreds.h"
#include "err.h"

#define NKEY_PREFIX_SEED	(18 << 3)	/* 'S' */
#define NKEY_PREFIX_USER	(20 << 3)	/* 'U' */
#define NKEY_SEED_RAW		36		/* 2 prefix bytes, 32 key bytes, 2 CRC */
#define NKEY_PUB_RAW		35		/* 1 prefix byte, 32 key bytes, 2 CRC */

static const char b32_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static uint16_t
crc16_xmodem(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* Decodes exactly n characters into out (outlen bytes); unused bits must be zero. */
static int
b32_decode(const char *s, size_t n, uint8_t *out, size_t outlen)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;
	const char *q;

	if (n * 5 / 8 != outlen)
		return VEIL_E_INVALID;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || (q = strchr(b32_alpha, s[i])) == NULL)
			return VEIL_E_INVALID;
		acc = (acc << 5) | (uint32_t)(q - b32_alpha);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc == 0 ? 0 : VEIL_E_INVALID;
}

static void
b32_encode(const uint8_t *p, size_t n, char *out)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alpha[(acc >> bits) & 31];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b32_alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

int
clcreds_nkey_public(const char *seed, char pub[static CLCREDS_PUB_LEN + 1])
{
	uint8_t raw[NKEY_SEED_RAW], out[NKEY_PUB_RAW];
	EVP_PKEY *k = NULL;
	size_t len = 32;
	uint16_t crc;
	int rc = VEIL_E_INVALID;

	pub[0] = '\0';
	if (seed == NULL || strlen(seed) != CLCREDS_SEED_LEN ||
	    b32_decode(seed, CLCREDS_SEED_LEN, raw, sizeof(raw)) != 0)
		goto out;
	crc = crc16_xmodem(raw, NKEY_SEED_RAW - 2);
	if ((raw[0] & 0xf8) != NKEY_PREFIX_SEED ||
	    (uint8_t)(((raw[0] & 7) << 5) | (raw[1] >> 3)) != NKEY_PREFIX_USER ||
	    (raw[1] & 7) != 0 || raw[NKEY_SEED_RAW - 2] != (uint8_t)crc ||
	    raw[NKEY_SEED_RAW - 1] != (uint8_t)(crc >> 8))
		goto out;
	rc = VEIL_E_CRYPTO;
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32)) == NULL ||
	    EVP_PKEY_get_raw_public_key(k, out + 1, &len) != 1 || len != 32)
		goto out;
	out[0] = NKEY_PREFIX_USER;
	crc = crc16_xmodem(out, NKEY_PUB_RAW - 2);
	out[NKEY_PUB_RAW - 2] = (uint8_t)crc;
	out[NKEY_PUB_RAW - 1] = (uint8_t)(crc >> 8);
	b32_encode(out, sizeof(out), pub);
	rc = strlen(pub) == CLCREDS_PUB_LEN ? 0 : VEIL_E_CRYPTO;
 out:
	EVP_PKEY_free(k);
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static char *
dup_n(const char *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
free_secret(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
clcreds_free(struct clcreds *cr)
{
	free_secret(&cr->cc_jwt);
	free_secret(&cr->cc_seed);
	free_secret(&cr->cc_user);
	free_secret(&cr->cc_pass);
	free_secret(&cr->cc_token);
	memset(cr, 0, sizeof(*cr));
}

/* A "-----BEGIN ...-----" or "-----END ...-----" line, as nsc writes them. */
static int
creds_marker(const char *p, size_t n, const char *what)
{
	size_t w = strlen(what);

	return n >= 6 + w && memcmp(p, "---", 3) == 0 && memcmp(p + n - 3, "---", 3) == 0 &&
	    memmem(p, n, what, w) != NULL;
}

static int
creds_token_ok(const char *p, size_t n, const char *extra)
{
	size_t i;

	if (n == 0 || n > CLCREDS_VALUE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr(extra, c) != NULL) || c == '\0')
			return 0;
	}
	return 1;
}

/* A seed must be a user seed whose public key can be derived. */
static int
creds_seed(struct clcreds *cr, const char *p, size_t n)
{
	char seed[CLCREDS_SEED_LEN + 1];
	int rc;

	if (n != CLCREDS_SEED_LEN)
		return VEIL_E_INVALID;
	memcpy(seed, p, n);
	seed[n] = '\0';
	rc = clcreds_nkey_public(seed, cr->cc_pub);
	if (rc == 0 && (cr->cc_seed = dup_n(seed, n)) == NULL)
		rc = VEIL_E_ALLOC;
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
}

int
clcreds_parse(struct clcreds *cr, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	enum { S_ANY, S_JWT, S_JWT_END, S_SEED, S_SEED_END } st = S_ANY;
	const char *s = (const char *)p, *line, *nl, *val;
	size_t len, vlen, lineno = 0, off = 0;
	int form = 0;	/* 1: creds blocks, 2: keyword lines, 3: a bare seed */
	int rc = 0;

	memset(cr, 0, sizeof(*cr));
	(void)snprintf(err, errlen, "no credentials found");
	if (n > CLCREDS_MAX) {
		(void)snprintf(err, errlen, "larger than %d bytes", CLCREDS_MAX);
		return VEIL_E_OVERSIZE;
	}
	while (off < n) {
		line = s + off;
		nl = memchr(line, '\n', n - off);
		len = nl != NULL ? (size_t)(nl - line) : n - off;
		off += len + (nl != NULL ? 1 : 0);
		lineno++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (memchr(line, '\0', len) != NULL)
			goto bad;
		switch (st) {
		case S_JWT:
		case S_SEED:
			if (len == 0)
				continue;
			if (st == S_JWT) {
				if (cr->cc_jwt != NULL || !creds_token_ok(line, len, "-_.="))
					goto bad;
				if ((cr->cc_jwt = dup_n(line, len)) == NULL)
					return VEIL_E_ALLOC;
			} else if (cr->cc_seed != NULL || (rc = creds_seed(cr, line, len)) != 0) {
				if (cr->cc_seed == NULL && rc == VEIL_E_ALLOC)
					return rc;
				goto bad;
			}
			st = st == S_JWT ? S_JWT_END : S_SEED_END;
			continue;
		case S_JWT_END:
		case S_SEED_END:
			if (len == 0)
				continue;
			if (!creds_marker(line, len, "END"))
				goto bad;
			st = S_ANY;
			continue;
		case S_ANY:
			break;
		}
		if (len == 0 || (form != 1 && line[0] == '#'))
			continue;
		if (creds_marker(line, len, "BEGIN")) {
			if (form > 1)
				goto bad;
			form = 1;
			if (memmem(line, len, "JWT", 3) != NULL && cr->cc_jwt == NULL)
				st = S_JWT;
			else if (memmem(line, len, "SEED", 4) != NULL && cr->cc_seed == NULL)
				st = S_SEED;
			else
				goto bad;
			continue;
		}
		if (form == 1)
			continue;	/* nsc's banner between the blocks */
		if (len == CLCREDS_SEED_LEN && line[0] == 'S' && line[1] == 'U' &&
		    memchr(line, ' ', len) == NULL) {
			if (form != 0 || (rc = creds_seed(cr, line, len)) != 0) {
				if (form == 0 && rc == VEIL_E_ALLOC)
					return rc;
				goto bad;
			}
			form = 3;
			continue;
		}
		if (form == 3 || (val = memchr(line, ' ', len)) == NULL)
			goto bad;
		form = 2;
		vlen = len - (size_t)(val - line) - 1;
		val++;
		if ((size_t)(val - 1 - line) == 4 && memcmp(line, "user", 4) == 0 &&
		    cr->cc_user == NULL && creds_token_ok(val, vlen, "-_.@")) {
			if ((cr->cc_user = dup_n(val, vlen)) == NULL)
				return VEIL_E_ALLOC;
		} else if ((size_t)(val - 1 - line) == 8 && memcmp(line, "password", 8) == 0 &&
		    cr->cc_pass == NULL && vlen > 0 && vlen <= CLCREDS_VALUE_MAX) {
			if ((cr->cc_pass = dup_n(val, vlen)) == NULL)
				return VEIL_E_ALLOC;
		} else if ((size_t)(val - 1 - line) == 5 && memcmp(line, "token", 5) == 0 &&
		    cr->cc_token == NULL && vlen > 0 && vlen <= CLCREDS_VALUE_MAX) {
			if ((cr->cc_token = dup_n(val, vlen)) == NULL)
				return VEIL_E_ALLOC;
		} else
			goto bad;
	}
	if (st != S_ANY) {
		(void)snprintf(err, errlen, "line %zu: a block is not closed", lineno);
		return VEIL_E_INVALID;
	}
	if (form == 1 && cr->cc_jwt != NULL && cr->cc_seed != NULL)
		cr->cc_kind = CLCREDS_JWT;
	else if (form == 3)
		cr->cc_kind = CLCREDS_NKEY;
	else if (form == 2 && cr->cc_user != NULL && cr->cc_pass != NULL && cr->cc_token == NULL)
		cr->cc_kind = CLCREDS_USER;
	else if (form == 2 && cr->cc_token != NULL && cr->cc_user == NULL && cr->cc_pass == NULL)
		cr->cc_kind = CLCREDS_TOKEN;
	else {
		(void)snprintf(err, errlen, form == 1 ? "a user JWT and its nkey seed are both "
		    "needed" : form == 2 ? "give user and password, or a token alone" :
		    "no credentials found");
		return VEIL_E_INVALID;
	}
	err[0] = '\0';
	return 0;
 bad:
	(void)snprintf(err, errlen, "line %zu is not understood", lineno);
	return VEIL_E_INVALID;
}
