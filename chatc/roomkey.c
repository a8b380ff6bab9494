/* SPDX-License-Identifier: ISC */
/* Room ids and room keys from secrets and names (see roomkey.h). */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "err.h"
#include "roomkey.h"

#define ROOM_SALT	"veil/2 room"
#define LBL_ROOM_ID	"veil/2 room id"
#define LBL_ROOM_KEY	"veil/2 room key"
#define LBL_NAME_SALT	"veil/2 room salt"
#define NAME_SALT_LEN	16
#define NAME_MAX_LEN	255

/* HKDF-SHA256 in one mode: extract (info NULL) or expand (salt NULL). */
static int
roomkey_hkdf(int mode, const uint8_t *key, size_t keylen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t *out, size_t outlen)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf;
	int ok = 0;

	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL)) == NULL)
		return VEIL_E_CRYPTO;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return VEIL_E_CRYPTO;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	/* The params only point at the caller's bytes (casts drop const). */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)key, keylen); /* NOLINT(performance-no-int-to-ptr) */
	if (salt != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)salt, saltlen); /* NOLINT(performance-no-int-to-ptr) */
	if (info != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, strlen(info)); /* NOLINT(performance-no-int-to-ptr) */
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, outlen, params) == 1;
	EVP_KDF_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(out, outlen);
		return VEIL_E_CRYPTO;
	}
	return 0;
}

int
roomkey_from_secret(const uint8_t secret[static INVITE_SECRET_LEN],
    uint8_t room[static ROOM_ID_LEN], uint8_t key[static ROOMKEY_LEN])
{
	uint8_t prk[32];
	int r;

	if ((r = roomkey_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, secret, INVITE_SECRET_LEN,
	    (const uint8_t *)ROOM_SALT, sizeof(ROOM_SALT) - 1, NULL, prk, sizeof(prk))) == 0 &&
	    (r = roomkey_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, sizeof(prk), NULL, 0,
	    LBL_ROOM_ID, room, ROOM_ID_LEN)) == 0)
		r = roomkey_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, sizeof(prk), NULL, 0,
		    LBL_ROOM_KEY, key, ROOMKEY_LEN);
	OPENSSL_cleanse(prk, sizeof(prk));
	if (r != 0) {
		OPENSSL_cleanse(room, ROOM_ID_LEN);
		OPENSSL_cleanse(key, ROOMKEY_LEN);
	}
	return r;
}

int
roomkey_from_name(const char *name, const uint8_t relay_id[static RELAY_ID_LEN],
    uint8_t room[static ROOM_ID_LEN], uint8_t key[static ROOMKEY_LEN])
{
	uint8_t salt[32], secret[INVITE_SECRET_LEN];
	unsigned int slen = 0;
	EVP_MD_CTX *md;
	size_t n;
	int r, ok;

	memset(room, 0, ROOM_ID_LEN);
	memset(key, 0, ROOMKEY_LEN);
	if (name == NULL || (n = strnlen(name, NAME_MAX_LEN + 1)) == 0 || n > NAME_MAX_LEN)
		return VEIL_E_INVALID;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_CRYPTO;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, LBL_NAME_SALT, sizeof(LBL_NAME_SALT) - 1) == 1 &&
	    EVP_DigestUpdate(md, relay_id, RELAY_ID_LEN) == 1 &&
	    EVP_DigestFinal_ex(md, salt, &slen) == 1 && slen == sizeof(salt);
	EVP_MD_CTX_free(md);
	if (!ok)
		return VEIL_E_CRYPTO;
	/* libargon2 wipes its working memory before freeing it. */
	r = argon2id_hash_raw(ROOM_ARGON2_T, ROOM_ARGON2_M_KIB, ROOM_ARGON2_P, name, n,
	    salt, NAME_SALT_LEN, secret, sizeof(secret));
	if (r != ARGON2_OK) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return r == ARGON2_MEMORY_ALLOCATION_ERROR ? VEIL_E_ALLOC : VEIL_E_CRYPTO;
	}
	r = roomkey_from_secret(secret, room, key);
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

int
roomkey_new_secret(uint8_t secret[static INVITE_SECRET_LEN])
{
	ssize_t n;

	do
		n = getrandom(secret, INVITE_SECRET_LEN, 0);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)INVITE_SECRET_LEN ? 0 : VEIL_E_SYSTEM;
}
