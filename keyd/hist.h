/* SPDX-License-Identifier: ISC */
#ifndef VEIL_KEYD_HIST_H
#define VEIL_KEYD_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"
#include "session.h"

/*
 * chatc's local history, sealed and opened here so that chatc holds no key
 * (PROTOCOL.md 3.4, HIST_SEAL / HIST_OPEN). The key is derived from the
 * identity seed under its own label: hk = HKDF-SHA256(salt = 32 zero bytes,
 * IKM = seed, info = "veil/1 history key"), made for each request and wiped.
 * A record is nonce[12] (random) || AES-256-GCM(hk, nonce, ad =
 * "veil/1 history", text) || tag[16]. keyd reads nothing in the text.
 */

#define HIST_KEY_LABEL	"veil/1 history key"
#define HIST_AD		"veil/1 history"

/*
 * Seals n bytes (1..HIST_TEXT_MAX) into out (cap >= n + HIST_SEALED_OVERHEAD),
 * *outlen its length. 0, VEIL_E_INVALID (length) or VEIL_E_CRYPTO.
 */
int	keyd_hist_seal(const struct vs_identity *id, const uint8_t *text, size_t n,
	    uint8_t *out, size_t cap, size_t *outlen) VEIL_WUR;
/*
 * Opens a sealed record into out (cap >= n - HIST_SEALED_OVERHEAD): 0 with
 * *outlen, VEIL_E_LENGTH (too short or long), VEIL_E_AUTH (not ours, or
 * changed: out wiped) or VEIL_E_CRYPTO.
 */
int	keyd_hist_open(const struct vs_identity *id, const uint8_t *blob, size_t n,
	    uint8_t *out, size_t cap, size_t *outlen) VEIL_WUR;

#endif
