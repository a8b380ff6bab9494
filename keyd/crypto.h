/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CRYPTO_H
#define VEIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "e2e.h"

/*
 * The cryptographic core used by keyd, over OpenSSL 3 EVP interfaces only.
 * Every function returns 0 or a negative veil_err; every EVP return is
 * checked. Secret outputs are wiped on failure. Fixed sizes are [static N].
 */

/* P-256: generate an ephemeral key; *priv is owned by the caller (EVP_PKEY_free). */
int	vc_p256_generate(EVP_PKEY **priv, uint8_t pub[static P256_PUB_LEN]) VEIL_WUR;
/* P-256 key from a fixed big-endian scalar (tests, worked examples). */
int	vc_p256_from_scalar(const uint8_t scalar[static P256_SCALAR_LEN],
	    EVP_PKEY **priv, uint8_t pub[static P256_PUB_LEN]) VEIL_WUR;
/*
 * A peer's public key from len bytes of uncompressed SEC1 point. Refuses
 * anything else: wrong length or prefix, not on the curve, the point at
 * infinity (VEIL_E_BADKEY). *peer is owned by the caller.
 */
int	vc_p256_peer(const uint8_t *pub, size_t len, EVP_PKEY **peer) VEIL_WUR;
/*
 * ECDH: the 32-byte x coordinate of priv * peer. peer must come from
 * vc_p256_peer (which checked the point) or vc_p256_*; a key on another
 * group is refused (VEIL_E_BADKEY). out is zeroed on failure.
 */
int	vc_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[static 32]) VEIL_WUR;

/*
 * HKDF-SHA256 (RFC 5869). outlen 1..255 * 32 (0: VEIL_E_INVALID, more:
 * VEIL_E_OVERSIZE, out untouched); a failed derivation wipes out. An empty
 * salt is 32 zero bytes.
 * Extract is HMAC-SHA256 via EVP_MAC (OpenSSL 3.0's EVP_KDF HKDF does not
 * cleanse its copy of the salt, and our salts can be secret); expand is
 * EVP_KDF "HKDF" in expand-only mode. vc_hkdf_expand takes a NUL-terminated
 * label as info (NULL: empty).
 */
int	vc_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
	    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen) VEIL_WUR;
int	vc_hkdf_extract(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
	    size_t ikmlen, uint8_t prk[static HASH_LEN]) VEIL_WUR;
int	vc_hkdf_expand(const uint8_t prk[static HASH_LEN], const char *info,
	    uint8_t *out, size_t outlen) VEIL_WUR;

/*
 * AES-256-GCM with a 96-bit nonce and 128-bit tag. seal writes ptlen + 16
 * bytes to out. open needs ctlen >= 16 (else VEIL_E_TRUNCATED), writes
 * ctlen - 16 bytes, and on a bad tag returns VEIL_E_AUTH with out wiped.
 * out may equal the input (in place).
 */
int	vc_aead_seal(const uint8_t key[static AEAD_KEY_LEN],
	    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
	    const uint8_t *pt, size_t ptlen, uint8_t *out) VEIL_WUR;
int	vc_aead_open(const uint8_t key[static AEAD_KEY_LEN],
	    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
	    const uint8_t *ct, size_t ctlen, uint8_t *out) VEIL_WUR;
/* Nonce for counter c of epoch e: 00000000 || u32be e || u32be c. */
void	vc_nonce(uint8_t nonce[static AEAD_NONCE_LEN], uint32_t epoch, uint32_t ctr);

/* Ed25519 (RFC 8032): new random seed and its public key. */
int	vc_ed25519_generate(uint8_t seed[static ED25519_SEED_LEN],
	    uint8_t pub[static ED25519_PUB_LEN]) VEIL_WUR;
int	vc_ed25519_public(const uint8_t seed[static ED25519_SEED_LEN],
	    uint8_t pub[static ED25519_PUB_LEN]) VEIL_WUR;
int	vc_ed25519_sign(const uint8_t seed[static ED25519_SEED_LEN],
	    const uint8_t *msg, size_t len, uint8_t sig[static ED25519_SIG_LEN]) VEIL_WUR;
/*
 * 0 if sig is a valid, canonical signature of msg by pub; VEIL_E_AUTH if not
 * (S >= L, a bad point, or pub of small order, which no secret key is behind).
 */
int	vc_ed25519_verify(const uint8_t pub[static ED25519_PUB_LEN],
	    const uint8_t *msg, size_t len, const uint8_t sig[static ED25519_SIG_LEN]) VEIL_WUR;

/* SHA-256 of data. */
int	vc_sha256(const uint8_t *data, size_t len, uint8_t out[static HASH_LEN]) VEIL_WUR;
/* Transcript step: h = SHA-256(h || data). */
int	vc_mix(uint8_t h[static HASH_LEN], const uint8_t *data, size_t len) VEIL_WUR;

/*
 * Symmetric ratchet step (PROTOCOL.md): from chain key ck derive the message
 * key mk and replace ck with the next chain key; the old ck is wiped.
 */
int	vc_ratchet(uint8_t ck[static HASH_LEN], uint8_t mk[static AEAD_KEY_LEN]) VEIL_WUR;

/*
 * Identity hash F(id), PROTOCOL.md 4: d_0 = SHA-512("veil/2 fingerprint" ||
 * id), d_i = SHA-512(d_{i-1} || id) for i = 1..5199, F = d_5199 (64 bytes).
 * Recent results are cached (public data). 0 or VEIL_E_CRYPTO / _ALLOC with
 * f zeroed.
 */
#define VC_IDHASH_LEN		64
#define VC_IDHASH_ITERATIONS	5200
int	vc_identity_hash(const uint8_t pub[static ED25519_PUB_LEN],
	    uint8_t f[static VC_IDHASH_LEN]) VEIL_WUR;
/* Fingerprint of an identity key: the first FPR_LEN bytes of F(id). */
int	vc_fingerprint(const uint8_t pub[static ED25519_PUB_LEN],
	    uint8_t fpr[static FPR_LEN]) VEIL_WUR;
/*
 * The same, always computed (the cache neither read nor filled): it costs
 * the same every time, for work whose timing must not tell anything.
 */
int	vc_fingerprint_fresh(const uint8_t pub[static ED25519_PUB_LEN],
	    uint8_t fpr[static FPR_LEN]) VEIL_WUR;
/*
 * One identity's digits: VC_DIGIT_GROUPS groups of 5 decimal digits, group i
 * the big-endian 40-bit integer F[5i..5i+5] mod 100000, zero-padded, joined
 * by single spaces: VC_DIGITS_LEN chars + NUL (VEIL_E_NOSPACE if outlen is
 * smaller).
 */
#define VC_DIGIT_GROUPS	7
#define VC_DIGITS_LEN	(VC_DIGIT_GROUPS * 6 - 1)
int	vc_identity_digits(const uint8_t pub[static ED25519_PUB_LEN], char *out,
	    size_t outlen) VEIL_WUR;
/*
 * Safety number of two identities, the same whichever order they are given:
 * the digits of both (vc_identity_digits), the one that sorts first (strcmp)
 * first, joined by a space: VC_SAFETY_LEN (83) chars + NUL. VEIL_E_NOSPACE if
 * outlen < VC_SAFETY_LEN + 1. Each half depends on one key only, so matching
 * it is a second preimage (about 2^116 x 5200 hashes), not a birthday search.
 */
#define VC_SAFETY_LEN	(2 * VC_DIGITS_LEN + 1)
int	vc_safety_number(const uint8_t a[static ED25519_PUB_LEN],
	    const uint8_t b[static ED25519_PUB_LEN], char *out, size_t outlen) VEIL_WUR;

/* n bytes from OpenSSL's DRBG (seeded before keyd's sandbox); 0 or VEIL_E_CRYPTO. */
int	vc_random(uint8_t *p, size_t n) VEIL_WUR;
/* Constant-time equality: 1 if equal, 0 if not. */
int	vc_equal(const void *a, const void *b, size_t n);
/* Wipes n bytes (OPENSSL_cleanse). */
void	vc_wipe(void *p, size_t n);

#endif
