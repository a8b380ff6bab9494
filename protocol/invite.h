/* SPDX-License-Identifier: ISC */
#ifndef VEIL_INVITE_H
#define VEIL_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Invite codes (PROTOCOL.md 4.1): one word carrying a room secret and the
 * relays to meet at. Text: INVITE_PREFIX then the base64url (RFC 4648 section
 * 5, no padding) of
 *
 *   u8 version (2) || u8 flags (0) || secret (32) || u8 n (1..8)
 *   || n x (str8 addr || u8 fplen (0 or 32) || fplen bytes relay key fingerprint)
 *   || check (4) = SHA-256("veil/2 invite" || every byte before)[0..4]
 *
 * addr is 1..255 bytes of printable ASCII without spaces (0x21..0x7e); the
 * codec does not parse it further (chatc does, as for --relay).
 */

#define INVITE_PREFIX		"veil:"
#define INVITE_VERSION		2
#define INVITE_SECRET_LEN	32
#define INVITE_RELAYS_MAX	8
#define INVITE_ADDR_MAX		255
#define RELAY_FP_LEN		32
#define INVITE_CHECK_LEN	4
/* The largest binary form, and its text (prefix, base64, NUL). */
#define INVITE_BIN_MAX		(2 + INVITE_SECRET_LEN + 1 + \
	INVITE_RELAYS_MAX * (1 + INVITE_ADDR_MAX + 1 + RELAY_FP_LEN) + INVITE_CHECK_LEN)
#define INVITE_TEXT_MAX		(sizeof(INVITE_PREFIX) - 1 + (INVITE_BIN_MAX * 4 + 2) / 3 + 1)

struct invite_relay {
	char		 ir_addr[INVITE_ADDR_MAX + 1];	/* NUL-terminated */
	uint8_t		 ir_fp[RELAY_FP_LEN];
	int		 ir_has_fp;
};

struct invite {
	uint8_t		 iv_secret[INVITE_SECRET_LEN];	/* a secret: wipe after use */
	size_t		 iv_nrelays;			/* 1..INVITE_RELAYS_MAX */
	struct invite_relay iv_relays[INVITE_RELAYS_MAX];
};

/*
 * Writes the code of iv (NUL-terminated) to out. Returns 0, VEIL_E_INVALID
 * for a relay count or address the format does not allow, VEIL_E_NOSPACE
 * when cap is too small (INVITE_TEXT_MAX always suffices), or VEIL_E_CRYPTO.
 * Secret bytes in scratch space are wiped.
 */
int	proto_invite_encode(const struct invite *iv, char *out, size_t cap) VEIL_WUR;

/*
 * Decodes a code. Strict: the prefix, only base64url characters, no padding,
 * the unused low bits of the last character zero, every length and count as
 * above, flags 0, nothing left over and the check bytes equal. Returns 0,
 * VEIL_E_INVALID (not a code: prefix, alphabet, padding bits, flags, address
 * bytes), VEIL_E_VERSION, VEIL_E_TRUNCATED, VEIL_E_OVERSIZE, VEIL_E_LENGTH
 * (relay count or fingerprint length), VEIL_E_TRAILING, VEIL_E_AUTH (check
 * bytes: a typo) or VEIL_E_CRYPTO. On error *iv is wiped.
 */
int	proto_invite_decode(const char *text, struct invite *iv) VEIL_WUR;

/* A sentence for a person about a decode error (never NULL). */
const char *proto_invite_strerror(int err);

#endif
