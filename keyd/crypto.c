/* SPDX-License-Identifier: ISC */
/*
 * The cryptographic core: P-256 ECDH, HKDF-SHA256, AES-256-GCM, Ed25519 and
 * SHA-256 over OpenSSL 3 EVP interfaces, plus the veil constructions built on
 * them (ratchet step, nonce, fingerprint, safety number). See crypto.h for
 * the contracts and PROTOCOL.md for where each one is used.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "err.h"

#define P256_GROUP		"prime256v1"
#define HKDF_MAX_OUT		(255 * HASH_LEN)
#define RATCHET_INFO		"veil/2 ratchet"
#define FPR_LABEL		"veil/2 fingerprint"
#define SAFETY_GROUPS		(2 * VC_DIGIT_GROUPS)
_Static_assert(VC_SAFETY_LEN == SAFETY_GROUPS * 6 - 1, "safety number text length");
_Static_assert(5 * VC_DIGIT_GROUPS <= VC_IDHASH_LEN, "digit groups within the identity hash");
_Static_assert(FPR_LEN <= VC_IDHASH_LEN, "fingerprint within the identity hash");

/*
 * Algorithms fetched once and kept for the life of the process: fetching is
 * a provider lookup that costs more than a short AEAD or HKDF call. keyd is
 * single-threaded; a lost race in a threaded caller would only leak one
 * reference, never hand out a bad pointer.
 */
static EVP_CIPHER	*vc_gcm;
static EVP_KDF		*vc_kdf;
static EVP_MD		*vc_md;
static EVP_MD		*vc_md512;
static EVP_MAC		*vc_hmac;

static const EVP_CIPHER *
vc_gcm_get(void)
{
	if (vc_gcm == NULL)
		vc_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	return vc_gcm;
}

static EVP_KDF *
vc_kdf_get(void)
{
	if (vc_kdf == NULL)
		vc_kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	return vc_kdf;
}

static EVP_MAC *
vc_hmac_get(void)
{
	if (vc_hmac == NULL)
		vc_hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	return vc_hmac;
}

static const EVP_MD *
vc_md_get(void)
{
	if (vc_md == NULL)
		vc_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return vc_md;
}

static const EVP_MD *
vc_md512_get(void)
{
	if (vc_md512 == NULL)
		vc_md512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	return vc_md512;
}

int
vc_random(uint8_t *p, size_t n)
{
	if (n > INT_MAX)
		return VEIL_E_OVERSIZE;
	if (n == 0)
		return 0;
	if (RAND_bytes(p, (int)n) != 1) {
		vc_wipe(p, n);
		return VEIL_E_CRYPTO;
	}
	return 0;
}

void
vc_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

int
vc_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- P-256 ---- */

/* The key's public point as 65 bytes of uncompressed SEC1. */
static int
vc_p256_pub(EVP_PKEY *pkey, uint8_t pub[static P256_PUB_LEN])
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    P256_PUB_LEN, &len) != 1 || len != P256_PUB_LEN || pub[0] != 0x04) {
		memset(pub, 0, P256_PUB_LEN);
		return VEIL_E_CRYPTO;
	}
	return 0;
}

int
vc_p256_generate(EVP_PKEY **priv, uint8_t pub[static P256_PUB_LEN])
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int r = VEIL_E_CRYPTO;

	*priv = NULL;
	memset(pub, 0, P256_PUB_LEN);
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return VEIL_E_CRYPTO;
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_group_name(ctx, P256_GROUP) != 1 ||
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		goto out;
	if ((r = vc_p256_pub(pkey, pub)) != 0)
		goto out;
	*priv = pkey;
	pkey = NULL;
	r = 0;
 out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	if (r != 0)
		ERR_clear_error();
	return r;
}

/*
 * The public point d * G of a scalar. EVP_PKEY_fromdata does not derive it
 * in OpenSSL 3.0, and decoding a DER ECPrivateKey (which would) leaves
 * copies of the scalar in freed decoder buffers; so one multiplication with
 * the (non-deprecated) EC_POINT interface, the scalar in a secure BIGNUM.
 * Fails with VEIL_E_BADKEY unless 0 < d < n.
 */
static int
vc_p256_scalar_pub(const BIGNUM *d, uint8_t pub[static P256_PUB_LEN])
{
	EC_GROUP *group;
	EC_POINT *q = NULL;
	BN_CTX *bctx = NULL;
	int r = VEIL_E_CRYPTO;

	if ((group = EC_GROUP_new_by_curve_name_ex(NULL, NULL,
	    NID_X9_62_prime256v1)) == NULL)
		return VEIL_E_CRYPTO;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
		r = VEIL_E_BADKEY;
		goto out;
	}
	if ((bctx = BN_CTX_secure_new()) == NULL || (q = EC_POINT_new(group)) == NULL) {
		r = VEIL_E_ALLOC;
		goto out;
	}
	if (EC_POINT_mul(group, q, d, NULL, NULL, bctx) != 1 ||
	    EC_POINT_point2oct(group, q, POINT_CONVERSION_UNCOMPRESSED, pub,
	    P256_PUB_LEN, bctx) != P256_PUB_LEN)
		goto out;
	r = 0;
 out:
	EC_POINT_clear_free(q);
	BN_CTX_free(bctx);
	EC_GROUP_free(group);
	return r;
}

int
vc_p256_from_scalar(const uint8_t scalar[static P256_SCALAR_LEN],
    EVP_PKEY **priv, uint8_t pub[static P256_PUB_LEN])
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	int r;

	*priv = NULL;
	memset(pub, 0, P256_PUB_LEN);
	r = VEIL_E_ALLOC;
	/* A secure BIGNUM makes the builder put it in the cleansed block. */
	if ((d = BN_secure_new()) == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	r = VEIL_E_CRYPTO;
	if (BN_bin2bn(scalar, P256_SCALAR_LEN, d) == NULL)
		goto out;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if ((r = vc_p256_scalar_pub(d, pub)) != 0)
		goto out;
	r = VEIL_E_CRYPTO;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    P256_GROUP, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    P256_PUB_LEN) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	/* Full check: 0 < d < n and pub == d * G. */
	r = VEIL_E_BADKEY;
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_check(cctx) != 1)
		goto out;
	*priv = pkey;
	pkey = NULL;
	r = 0;
 out:
	if (r != 0) {
		memset(pub, 0, P256_PUB_LEN);
		ERR_clear_error();
	}
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return r;
}

int
vc_p256_peer(const uint8_t *pub, size_t len, EVP_PKEY **peer)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	char group[] = P256_GROUP;
	uint8_t point[P256_PUB_LEN];
	int r = VEIL_E_BADKEY;

	*peer = NULL;
	/* Uncompressed only: 04 || X || Y. Compressed, hybrid, infinity refused here. */
	if (pub == NULL || len != P256_PUB_LEN || pub[0] != 0x04)
		return VEIL_E_BADKEY;
	memcpy(point, pub, sizeof(point));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		r = VEIL_E_CRYPTO;
		goto out;
	}
	/* Decoding already refuses points off the curve; the check makes it explicit. */
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/*
	 * The quick check: not infinity, coordinates below p, on the curve.
	 * The full EVP_PKEY_public_check adds n * Q == O, which on P-256
	 * (prime order, cofactor 1) holds for every point that passed the
	 * rest, at the cost of a scalar multiplication (this function took
	 * 64 us with it, 32 us without), once per handshake and rekey.
	 */
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(cctx) != 1)
		goto out;
	*peer = pkey;
	pkey = NULL;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

int
vc_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[static 32])
{
	EVP_PKEY_CTX *ctx;
	uint8_t z[64];
	size_t zlen = sizeof(z);
	int r = VEIL_E_CRYPTO;

	memset(out, 0, 32);
	if (priv == NULL || peer == NULL)
		return VEIL_E_INVALID;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL)
		return VEIL_E_CRYPTO;
	if (EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	/*
	 * The peer's point was checked by vc_p256_peer; no second public
	 * check (a scalar multiplication) here. The group must still match:
	 * a peer on another curve or of another type is refused.
	 */
	if (EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1) {
		r = VEIL_E_BADKEY;
		goto out;
	}
	if (EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32)
		goto out;
	memcpy(out, z, 32);
	r = 0;
 out:
	vc_wipe(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	if (r != 0)
		ERR_clear_error();
	return r;
}

/* ---- HKDF-SHA256 ---- */

/*
 * HKDF-Expand through EVP_KDF "HKDF" in expand-only mode; prk is the key
 * parameter, which the provider copies and cleanses when freed.
 */
static int
vc_expand(const uint8_t prk[static HASH_LEN], const uint8_t *info, size_t infolen,
    uint8_t *out, size_t outlen)
{
	/* OSSL_PARAM wants non-const pointers; these are only read. */
	OSSL_PARAM params[5], *p = params;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	char digest[] = "SHA256";
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, r = VEIL_E_CRYPTO;

	if (out == NULL || outlen == 0 || (info == NULL && infolen > 0))
		return VEIL_E_INVALID;
	if (outlen > HKDF_MAX_OUT)
		return VEIL_E_OVERSIZE;
	if ((kdf = vc_kdf_get()) == NULL)
		return VEIL_E_CRYPTO;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	/* The params only point at the caller's bytes: no copy of ours to cleanse. */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)prk, HASH_LEN); /* NOLINT(performance-no-int-to-ptr): drops const */
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, infolen); /* NOLINT(performance-no-int-to-ptr) */
	*p = OSSL_PARAM_construct_end();
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		return VEIL_E_ALLOC;
	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		r = 0;
	EVP_KDF_CTX_free(kctx);
	if (r != 0) {
		vc_wipe(out, outlen);
		ERR_clear_error();
	}
	return r;
}

/*
 * HKDF-Extract is HMAC-SHA256(key = salt, ikm), done with EVP_MAC "HMAC"
 * rather than EVP_KDF "HKDF": OpenSSL 3.0's HKDF frees its copy of the
 * salt without cleansing it, and veil's salts are secrets (the root key
 * in a rekey, PROTOCOL.md 2.4). The HMAC provider cleanses its key copy.
 */
int
vc_hkdf_extract(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
    size_t ikmlen, uint8_t prk[static HASH_LEN])
{
	/* RFC 5869: an absent salt is HashLen zero bytes. */
	static const uint8_t zeros[HASH_LEN];
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	char digest[] = "SHA256";
	size_t len = 0;
	int r = VEIL_E_CRYPTO;

	if ((salt == NULL && saltlen > 0) || (ikm == NULL && ikmlen > 0))
		return VEIL_E_INVALID;
	if (saltlen == 0) {
		salt = zeros;
		saltlen = sizeof(zeros);
	}
	if ((mac = vc_hmac_get()) == NULL)
		return VEIL_E_CRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mctx = EVP_MAC_CTX_new(mac)) == NULL)
		return VEIL_E_ALLOC;
	if (EVP_MAC_init(mctx, salt, saltlen, params) != 1 ||
	    (ikmlen > 0 && EVP_MAC_update(mctx, ikm, ikmlen) != 1) ||
	    EVP_MAC_final(mctx, prk, &len, HASH_LEN) != 1 || len != HASH_LEN)
		goto out;
	r = 0;
 out:
	EVP_MAC_CTX_free(mctx);
	if (r != 0) {
		vc_wipe(prk, HASH_LEN);
		ERR_clear_error();
	}
	return r;
}

int
vc_hkdf_expand(const uint8_t prk[static HASH_LEN], const char *info,
    uint8_t *out, size_t outlen)
{
	return vc_expand(prk, (const uint8_t *)info, info != NULL ? strlen(info) : 0,
	    out, outlen);
}

int
vc_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
	uint8_t prk[HASH_LEN];
	int r;

	/* Refuse before any work, with the errors expand would give. */
	if (out == NULL || outlen == 0 || (info == NULL && infolen > 0))
		return VEIL_E_INVALID;
	if (outlen > HKDF_MAX_OUT)
		return VEIL_E_OVERSIZE;
	if ((r = vc_hkdf_extract(salt, saltlen, ikm, ikmlen, prk)) == 0)
		r = vc_expand(prk, info, infolen, out, outlen);
	vc_wipe(prk, sizeof(prk));
	return r;
}

/* ---- AES-256-GCM ---- */

int
vc_aead_seal(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	int n, r = VEIL_E_CRYPTO;

	if (out == NULL || (ad == NULL && adlen > 0) || (pt == NULL && ptlen > 0))
		return VEIL_E_INVALID;
	/* EVP lengths are int; the tag must fit after the ciphertext. */
	if (adlen > INT_MAX || ptlen > INT_MAX - AEAD_TAG_LEN)
		return VEIL_E_OVERSIZE;
	if ((cipher = vc_gcm_get()) == NULL)
		return VEIL_E_CRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	/* GCM's default IV length is 12 bytes, AEAD_NONCE_LEN. */
	if (EVP_EncryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1)
		goto out;
	if (adlen > 0 && (EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)adlen) != 1 ||
	    n != (int)adlen))
		goto out;
	if (ptlen > 0 && (EVP_EncryptUpdate(ctx, out, &n, pt, (int)ptlen) != 1 ||
	    n != (int)ptlen))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + ptlen, &n) != 1 || n != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
	    out + ptlen) != 1)
		goto out;
	r = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (r != 0) {
		vc_wipe(out, ptlen + AEAD_TAG_LEN);
		ERR_clear_error();
	}
	return r;
}

int
vc_aead_open(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	uint8_t tag[AEAD_TAG_LEN], fin[AEAD_TAG_LEN];
	size_t ptlen;
	int n, r = VEIL_E_CRYPTO;

	if ((ad == NULL && adlen > 0) || (ct == NULL && ctlen > 0))
		return VEIL_E_INVALID;
	if (ctlen < AEAD_TAG_LEN)
		return VEIL_E_TRUNCATED;
	ptlen = ctlen - AEAD_TAG_LEN;
	if (out == NULL && ptlen > 0)
		return VEIL_E_INVALID;
	if (adlen > INT_MAX || ptlen > INT_MAX)
		return VEIL_E_OVERSIZE;
	if ((cipher = vc_gcm_get()) == NULL)
		return VEIL_E_CRYPTO;
	/* Copied first: with out == ct the tag bytes stay, but keep it obvious. */
	memcpy(tag, ct + ptlen, AEAD_TAG_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	if (EVP_DecryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	if (adlen > 0 && (EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)adlen) != 1 ||
	    n != (int)adlen))
		goto out;
	if (ptlen > 0 && (EVP_DecryptUpdate(ctx, out, &n, ct, (int)ptlen) != 1 ||
	    n != (int)ptlen))
		goto out;
	/* The tag is compared (in constant time) here; a mismatch is not an error of ours. */
	if (EVP_DecryptFinal_ex(ctx, fin, &n) != 1) {
		r = VEIL_E_AUTH;
		goto out;
	}
	if (n != 0)
		goto out;
	r = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (r != 0) {
		if (out != NULL)
			vc_wipe(out, ptlen);
		ERR_clear_error();
	}
	return r;
}

void
vc_nonce(uint8_t nonce[static AEAD_NONCE_LEN], uint32_t epoch, uint32_t ctr)
{
	memset(nonce, 0, 4);
	nonce[4] = (uint8_t)(epoch >> 24);
	nonce[5] = (uint8_t)(epoch >> 16);
	nonce[6] = (uint8_t)(epoch >> 8);
	nonce[7] = (uint8_t)epoch;
	nonce[8] = (uint8_t)(ctr >> 24);
	nonce[9] = (uint8_t)(ctr >> 16);
	nonce[10] = (uint8_t)(ctr >> 8);
	nonce[11] = (uint8_t)ctr;
}

/* ---- Ed25519 ---- */

int
vc_ed25519_public(const uint8_t seed[static ED25519_SEED_LEN],
    uint8_t pub[static ED25519_PUB_LEN])
{
	EVP_PKEY *pkey;
	size_t len = ED25519_PUB_LEN;
	int r = VEIL_E_CRYPTO;

	memset(pub, 0, ED25519_PUB_LEN);
	if ((pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed,
	    ED25519_SEED_LEN)) == NULL)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
	    len != ED25519_PUB_LEN) {
		memset(pub, 0, ED25519_PUB_LEN);
		goto out;
	}
	r = 0;
 out:
	/* Frees the expanded secret key with a cleanse. */
	EVP_PKEY_free(pkey);
	if (r != 0)
		ERR_clear_error();
	return r;
}

int
vc_ed25519_generate(uint8_t seed[static ED25519_SEED_LEN],
    uint8_t pub[static ED25519_PUB_LEN])
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	size_t slen = ED25519_SEED_LEN, plen = ED25519_PUB_LEN;
	int r = VEIL_E_CRYPTO;

	memset(pub, 0, ED25519_PUB_LEN);
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL)) == NULL)
		return VEIL_E_CRYPTO;
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1 ||
	    EVP_PKEY_get_raw_private_key(pkey, seed, &slen) != 1 ||
	    slen != ED25519_SEED_LEN ||
	    EVP_PKEY_get_raw_public_key(pkey, pub, &plen) != 1 ||
	    plen != ED25519_PUB_LEN)
		goto out;
	r = 0;
 out:
	if (r != 0) {
		vc_wipe(seed, ED25519_SEED_LEN);
		memset(pub, 0, ED25519_PUB_LEN);
		ERR_clear_error();
	}
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
vc_ed25519_sign(const uint8_t seed[static ED25519_SEED_LEN],
    const uint8_t *msg, size_t len, uint8_t sig[static ED25519_SIG_LEN])
{
	static const uint8_t empty[1];
	EVP_PKEY *pkey;
	EVP_MD_CTX *mctx = NULL;
	size_t siglen = ED25519_SIG_LEN;
	int r = VEIL_E_CRYPTO;

	memset(sig, 0, ED25519_SIG_LEN);
	if (msg == NULL && len > 0)
		return VEIL_E_INVALID;
	if ((pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed,
	    ED25519_SEED_LEN)) == NULL)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = VEIL_E_ALLOC;
		goto out;
	}
	/* Pure Ed25519: no digest, one-shot. */
	if (EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(mctx, sig, &siglen, msg != NULL ? msg : empty, len) != 1 ||
	    siglen != ED25519_SIG_LEN) {
		memset(sig, 0, ED25519_SIG_LEN);
		goto out;
	}
	r = 0;
 out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	if (r != 0)
		ERR_clear_error();
	return r;
}

/*
 * 1 if pub encodes a point of small order (8P = O), with either sign bit:
 * no secret key is behind it, and with the identity any message "verifies"
 * under R = O, S = 0. The y values of the eight points plus the
 * non-canonical p and p + 1 (the table libsodium's has_small_order uses;
 * each entry re-checked with [8]P = O before it was typed in here).
 */
static int
vc_ed25519_small_order(const uint8_t pub[static ED25519_PUB_LEN])
{
	static const uint8_t ys[][ED25519_PUB_LEN] = {
		{ 0 },						/* y = 0, order 4 */
		{ 1 },						/* y = 1, identity */
		{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
		  0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
		  0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },	/* order 8 */
		{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
		  0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
		  0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },	/* order 8 */
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p - 1, order 2 */
		{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p = 0 */
		{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p + 1 = 1 */
	};
	uint8_t y[ED25519_PUB_LEN];
	size_t i;

	memcpy(y, pub, sizeof(y));
	y[ED25519_PUB_LEN - 1] &= 0x7f;		/* the sign of x */
	for (i = 0; i < sizeof(ys) / sizeof(ys[0]); i++)
		if (memcmp(y, ys[i], sizeof(y)) == 0)	/* public: no need for constant time */
			return 1;
	return 0;
}

int
vc_ed25519_verify(const uint8_t pub[static ED25519_PUB_LEN],
    const uint8_t *msg, size_t len, const uint8_t sig[static ED25519_SIG_LEN])
{
	static const uint8_t empty[1];
	EVP_PKEY *pkey;
	EVP_MD_CTX *mctx = NULL;
	int r = VEIL_E_CRYPTO;

	if (msg == NULL && len > 0)
		return VEIL_E_INVALID;
	if (vc_ed25519_small_order(pub))
		return VEIL_E_AUTH;
	/* Any 32 bytes are taken here; a non-point fails the verification. */
	if ((pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
	    ED25519_PUB_LEN)) == NULL)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = VEIL_E_ALLOC;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1)
		goto out;
	/*
	 * 1 is a good signature; 0 a bad one, negative a malformed one (bad
	 * point, s >= L): all refusals of the signature, not failures of ours.
	 */
	r = EVP_DigestVerify(mctx, sig, ED25519_SIG_LEN,
	    msg != NULL ? msg : empty, len) == 1 ? 0 : VEIL_E_AUTH;
 out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	if (r != 0)
		ERR_clear_error();
	return r;
}

/* ---- SHA-256 and the constructions on it ---- */

int
vc_sha256(const uint8_t *data, size_t len, uint8_t out[static HASH_LEN])
{
	static const uint8_t empty[1];
	const EVP_MD *md;
	unsigned int olen = 0;

	if (data == NULL && len > 0)
		return VEIL_E_INVALID;
	if ((md = vc_md_get()) == NULL)
		return VEIL_E_CRYPTO;
	if (EVP_Digest(data != NULL ? data : empty, len, out, &olen, md, NULL) != 1 ||
	    olen != HASH_LEN) {
		memset(out, 0, HASH_LEN);
		ERR_clear_error();
		return VEIL_E_CRYPTO;
	}
	return 0;
}

/* SHA-256 of a || b || c into out (out may alias an input). */
static int
vc_sha256_cat(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    const uint8_t *c, size_t clen, uint8_t out[static HASH_LEN])
{
	const EVP_MD *md;
	EVP_MD_CTX *mctx;
	uint8_t d[HASH_LEN];
	unsigned int olen = 0;
	int r = VEIL_E_CRYPTO;

	if ((md = vc_md_get()) == NULL)
		return VEIL_E_CRYPTO;
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	if (EVP_DigestInit_ex2(mctx, md, NULL) != 1 ||
	    (alen > 0 && EVP_DigestUpdate(mctx, a, alen) != 1) ||
	    (blen > 0 && EVP_DigestUpdate(mctx, b, blen) != 1) ||
	    (clen > 0 && EVP_DigestUpdate(mctx, c, clen) != 1) ||
	    EVP_DigestFinal_ex(mctx, d, &olen) != 1 || olen != HASH_LEN)
		goto out;
	memcpy(out, d, HASH_LEN);
	r = 0;
 out:
	/* Transcript hashes feed key derivation: treat them as secrets. */
	vc_wipe(d, sizeof(d));
	EVP_MD_CTX_free(mctx);
	if (r != 0)
		ERR_clear_error();
	return r;
}

int
vc_mix(uint8_t h[static HASH_LEN], const uint8_t *data, size_t len)
{
	if (data == NULL && len > 0)
		return VEIL_E_INVALID;
	return vc_sha256_cat(h, HASH_LEN, data, len, NULL, 0, h);
}

int
vc_ratchet(uint8_t ck[static HASH_LEN], uint8_t mk[static AEAD_KEY_LEN])
{
	uint8_t okm[AEAD_KEY_LEN + HASH_LEN];
	int r;

	if ((r = vc_hkdf_expand(ck, RATCHET_INFO, okm, sizeof(okm))) != 0) {
		vc_wipe(mk, AEAD_KEY_LEN);
		return r;
	}
	memcpy(mk, okm, AEAD_KEY_LEN);
	memcpy(ck, okm + AEAD_KEY_LEN, HASH_LEN);	/* overwrites the old ck */
	vc_wipe(okm, sizeof(okm));
	return 0;
}

/*
 * The identity hash of one public key: 5200 chained SHA-512 (PROTOCOL.md 4).
 * Public data; the last VC_IDHASH_CACHE results are kept, so a peer met again
 * costs one comparison instead of 5200 hashes (keyd is single-threaded).
 */
#define VC_IDHASH_CACHE	32

static struct {
	uint8_t		pub[ED25519_PUB_LEN];
	uint8_t		f[VC_IDHASH_LEN];
	int		used;
} vc_idcache[VC_IDHASH_CACHE];
static size_t vc_idcache_next;

static int
vc_identity_hash_compute(const uint8_t pub[static ED25519_PUB_LEN],
    uint8_t f[static VC_IDHASH_LEN])
{
	const EVP_MD *md;
	EVP_MD_CTX *mctx;
	unsigned int olen;
	int i, r = VEIL_E_CRYPTO;

	if ((md = vc_md512_get()) == NULL)
		return VEIL_E_CRYPTO;
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_ALLOC;
	olen = 0;
	if (EVP_DigestInit_ex2(mctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(mctx, FPR_LABEL, strlen(FPR_LABEL)) != 1 ||
	    EVP_DigestUpdate(mctx, pub, ED25519_PUB_LEN) != 1 ||
	    EVP_DigestFinal_ex(mctx, f, &olen) != 1 || olen != VC_IDHASH_LEN)
		goto out;
	for (i = 1; i < VC_IDHASH_ITERATIONS; i++) {
		olen = 0;
		if (EVP_DigestInit_ex2(mctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(mctx, f, VC_IDHASH_LEN) != 1 ||
		    EVP_DigestUpdate(mctx, pub, ED25519_PUB_LEN) != 1 ||
		    EVP_DigestFinal_ex(mctx, f, &olen) != 1 || olen != VC_IDHASH_LEN)
			goto out;
	}
	r = 0;
 out:
	EVP_MD_CTX_free(mctx);
	if (r != 0) {
		memset(f, 0, VC_IDHASH_LEN);
		ERR_clear_error();
	}
	return r;
}

int
vc_identity_hash(const uint8_t pub[static ED25519_PUB_LEN], uint8_t f[static VC_IDHASH_LEN])
{
	size_t i;
	int r;

	for (i = 0; i < VC_IDHASH_CACHE; i++) {
		if (vc_idcache[i].used &&
		    memcmp(vc_idcache[i].pub, pub, ED25519_PUB_LEN) == 0) {
			memcpy(f, vc_idcache[i].f, VC_IDHASH_LEN);
			return 0;
		}
	}
	if ((r = vc_identity_hash_compute(pub, f)) != 0)
		return r;
	i = vc_idcache_next;
	vc_idcache_next = (vc_idcache_next + 1) % VC_IDHASH_CACHE;
	memcpy(vc_idcache[i].pub, pub, ED25519_PUB_LEN);
	memcpy(vc_idcache[i].f, f, VC_IDHASH_LEN);
	vc_idcache[i].used = 1;
	return 0;
}

int
vc_fingerprint(const uint8_t pub[static ED25519_PUB_LEN],
    uint8_t fpr[static FPR_LEN])
{
	uint8_t f[VC_IDHASH_LEN];
	int r;

	if ((r = vc_identity_hash(pub, f)) != 0) {
		memset(fpr, 0, FPR_LEN);
		return r;
	}
	memcpy(fpr, f, FPR_LEN);
	return 0;
}

int
vc_fingerprint_fresh(const uint8_t pub[static ED25519_PUB_LEN],
    uint8_t fpr[static FPR_LEN])
{
	uint8_t f[VC_IDHASH_LEN];
	int r;

	if ((r = vc_identity_hash_compute(pub, f)) != 0) {
		memset(fpr, 0, FPR_LEN);
		return r;
	}
	memcpy(fpr, f, FPR_LEN);
	return 0;
}

/* Writes 5 * VC_DIGIT_GROUPS digits of f in groups of 5, each followed by sep. */
static void
vc_digits(const uint8_t f[static VC_IDHASH_LEN], char *out, int last)
{
	uint64_t v;
	size_t i, j;

	/* Group i: f[5i..5i+5] as a big-endian 40-bit integer, mod 100000, %05. */
	for (i = 0; i < VC_DIGIT_GROUPS; i++) {
		v = 0;
		for (j = 0; j < 5; j++)
			v = v << 8 | f[5 * i + j];
		v %= 100000;
		for (j = 5; j-- > 0; v /= 10)
			out[6 * i + j] = (char)('0' + v % 10);
		out[6 * i + 5] = last && i + 1 == VC_DIGIT_GROUPS ? '\0' : ' ';
	}
}

int
vc_identity_digits(const uint8_t pub[static ED25519_PUB_LEN], char *out, size_t outlen)
{
	uint8_t f[VC_IDHASH_LEN];
	int r;

	if (out == NULL)
		return VEIL_E_INVALID;
	if (outlen < VC_DIGITS_LEN + 1)
		return VEIL_E_NOSPACE;
	if ((r = vc_identity_hash(pub, f)) != 0) {
		out[0] = '\0';
		return r;
	}
	vc_digits(f, out, 1);
	return 0;
}

int
vc_safety_number(const uint8_t a[static ED25519_PUB_LEN],
    const uint8_t b[static ED25519_PUB_LEN], char *out, size_t outlen)
{
	char da[VC_DIGITS_LEN + 1], db[VC_DIGITS_LEN + 1];
	int r;

	if (out == NULL)
		return VEIL_E_INVALID;
	if (outlen < VC_SAFETY_LEN + 1)
		return VEIL_E_NOSPACE;
	out[0] = '\0';
	if ((r = vc_identity_digits(a, da, sizeof(da))) != 0 ||
	    (r = vc_identity_digits(b, db, sizeof(db))) != 0)
		return r;
	/* Public values: the order does not need to be hidden. */
	if (strcmp(da, db) > 0)
		(void)snprintf(out, outlen, "%s %s", db, da);
	else
		(void)snprintf(out, outlen, "%s %s", da, db);
	return 0;
}
