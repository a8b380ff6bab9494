/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAYFP_H
#define VEIL_RELAYFP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Relay key fingerprints (PROTOCOL.md 1.0): SHA-256 of the DER
 * SubjectPublicKeyInfo of the relay's TLS key, 32 bytes (RELAY_FP_LEN, as
 * in invite.h). Text form, as ssh writes host key fingerprints:
 * "SHA256:" then the 32 bytes in base64 (RFC 4648 section 4 alphabet), no
 * padding: 43 characters, 50 in all.
 */

#define RELAYFP_LEN		32
#define RELAYFP_PREFIX		"SHA256:"
#define RELAYFP_B64_LEN		43
#define RELAYFP_TEXT_LEN	(sizeof(RELAYFP_PREFIX) - 1 + RELAYFP_B64_LEN)
#define RELAYFP_TEXT_MAX	(RELAYFP_TEXT_LEN + 1)	/* with the NUL */

/* The fingerprint of a DER SubjectPublicKeyInfo. Returns 0 or VEIL_E_CRYPTO. */
int	proto_relayfp_of_spki(const uint8_t *der, size_t len,
	    uint8_t fp[static RELAYFP_LEN]) VEIL_WUR;

/* Writes the text form of fp, NUL-terminated. Cannot fail. */
void	proto_relayfp_format(const uint8_t fp[static RELAYFP_LEN],
	    char out[static RELAYFP_TEXT_MAX]);

/*
 * Parses the text form: exactly the prefix and 43 characters of the
 * alphabet, the unused low bits of the last one zero (one spelling per
 * fingerprint), nothing before or after. Returns 0 or VEIL_E_INVALID
 * (fp zeroed).
 */
int	proto_relayfp_parse(const char *s, uint8_t fp[static RELAYFP_LEN]) VEIL_WUR;

/* Constant-time equality of two fingerprints: 1 if equal, else 0. */
int	proto_relayfp_equal(const uint8_t a[static RELAYFP_LEN],
	    const uint8_t b[static RELAYFP_LEN]);

#endif
