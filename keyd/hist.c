/* SPDX-License-Identifier: ISC */
/* chatc's history records, sealed and opened with a key chatc never sees (hist.h). */
#include <string.h>

#include <openssl/rand.h>

#include "crypto.h"
#include "err.h"
#include "hist.h"

static int
hist_key(const struct vs_identity *id, uint8_t hk[static AEAD_KEY_LEN])
{
	static const uint8_t zero[HASH_LEN];

	return vc_hkdf(zero, sizeof(zero), id->id_seed, ED25519_SEED_LEN,
	    (const uint8_t *)HIST_KEY_LABEL, strlen(HIST_KEY_LABEL), hk, AEAD_KEY_LEN);
}

int
keyd_hist_seal(const struct vs_identity *id, const uint8_t *text, size_t n, uint8_t *out,
    size_t cap, size_t *outlen)
{
	uint8_t hk[AEAD_KEY_LEN];
	int r;

	*outlen = 0;
	if (n == 0 || n > HIST_TEXT_MAX || cap < n + HIST_SEALED_OVERHEAD)
		return VEIL_E_INVALID;
	/* Random nonces: far fewer than 2^32 records are ever sealed under one key. */
	if (RAND_bytes(out, AEAD_NONCE_LEN) != 1)
		return VEIL_E_CRYPTO;
	if ((r = hist_key(id, hk)) == 0)
		r = vc_aead_seal(hk, out, (const uint8_t *)HIST_AD, strlen(HIST_AD), text, n,
		    out + AEAD_NONCE_LEN);
	vc_wipe(hk, sizeof(hk));
	if (r != 0) {
		vc_wipe(out, cap);
		return r;
	}
	*outlen = n + HIST_SEALED_OVERHEAD;
	return 0;
}

int
keyd_hist_open(const struct vs_identity *id, const uint8_t *blob, size_t n, uint8_t *out,
    size_t cap, size_t *outlen)
{
	uint8_t hk[AEAD_KEY_LEN];
	int r;

	*outlen = 0;
	if (n <= HIST_SEALED_OVERHEAD || n > HIST_BLOB_MAX)
		return VEIL_E_LENGTH;
	if (cap < n - HIST_SEALED_OVERHEAD)
		return VEIL_E_INVALID;
	if ((r = hist_key(id, hk)) == 0)
		r = vc_aead_open(hk, blob, (const uint8_t *)HIST_AD, strlen(HIST_AD),
		    blob + AEAD_NONCE_LEN, n - AEAD_NONCE_LEN, out);
	vc_wipe(hk, sizeof(hk));
	if (r != 0)
		return r;
	*outlen = n - HIST_SEALED_OVERHEAD;
	return 0;
}
