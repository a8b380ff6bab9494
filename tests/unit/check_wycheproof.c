/* SPDX-License-Identifier: ISC */
/*
 * keyd/crypto.c against Project Wycheproof (C2SP/wycheproof), read from
 * unit_vectors_dir() with jansson. Our subset (see the README in that
 * folder): every ECDH case on P-256 with raw and with DER public keys,
 * AES-GCM with 256-bit keys, 96-bit IVs and 128-bit tags, HKDF-SHA256 and
 * Ed25519. Every case must agree with its expected result; "acceptable"
 * cases may go either way, but a key we accept must still give the
 * expected secret. One test per file; each prints its tally. When the
 * folder is absent the tests say so and pass: the known answers typed into
 * check_crypto.c still run everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "err.h"
#include "unit.h"

enum wp_result { WP_VALID, WP_INVALID, WP_ACCEPTABLE };

struct wp_tally {
	const char	*wt_file;
	size_t		 wt_total, wt_agree;
	size_t		 wt_n[3];		/* by enum wp_result */
	char		 wt_bad[256];		/* tcIds that disagreed, for the message */
};

/* The parsed file, or NULL when the vectors folder is absent (test skipped). */
static json_t *
wp_load(const char *file)
{
	const char *dir = unit_vectors_dir();
	char path[4096];
	json_error_t err;
	json_t *root;

	if (dir == NULL) {
		printf("wycheproof %s: vectors folder absent (set VEIL_VECTORS), "
		    "suite skipped\n", file);
		return NULL;
	}
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, file),
	    (int)sizeof(path));
	root = json_load_file(path, 0, &err);
	ck_assert_msg(root != NULL, "%s: %s line %d", path, err.text, err.line);
	ck_assert(json_is_array(json_object_get(root, "testGroups")));
	return root;
}

static const char *
wp_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	ck_assert_msg(s != NULL, "field %s missing", key);
	return s;
}

/* Hex field decoded into a fresh allocation (test data, not a peer's). */
static uint8_t *
wp_hex(json_t *obj, const char *key, size_t *len)
{
	const char *s = wp_str(obj, key);
	size_t max = strlen(s) / 2 + 1;
	uint8_t *p = malloc(max);

	ck_assert_ptr_nonnull(p);
	*len = unit_hex(s, p, max);
	return p;
}

static enum wp_result
wp_result(json_t *test)
{
	const char *r = wp_str(test, "result");

	if (strcmp(r, "valid") == 0)
		return WP_VALID;
	if (strcmp(r, "invalid") == 0)
		return WP_INVALID;
	ck_assert_str_eq(r, "acceptable");
	return WP_ACCEPTABLE;
}

/*
 * Records one case. accepted: we took the input and produced an answer;
 * correct: that answer was the expected one (only looked at if accepted).
 */
static void
wp_record(struct wp_tally *t, json_t *test, int accepted, int correct)
{
	enum wp_result want = wp_result(test);
	int agree;
	size_t n;

	switch (want) {
	case WP_VALID:
		agree = accepted && correct;
		break;
	case WP_INVALID:
		agree = !accepted;
		break;
	default:
		agree = !accepted || correct;
		break;
	}
	t->wt_total++;
	t->wt_n[want]++;
	if (agree) {
		t->wt_agree++;
		return;
	}
	n = strlen(t->wt_bad);
	if (n + 12 < sizeof(t->wt_bad))
		snprintf(t->wt_bad + n, sizeof(t->wt_bad) - n, " %lld",
		    (long long)json_integer_value(json_object_get(test, "tcId")));
}

static void
wp_finish(struct wp_tally *t, size_t expect_total)
{
	printf("wycheproof %s: %zu/%zu agree (%zu valid, %zu invalid, %zu acceptable)\n",
	    t->wt_file, t->wt_agree, t->wt_total, t->wt_n[WP_VALID],
	    t->wt_n[WP_INVALID], t->wt_n[WP_ACCEPTABLE]);
	fflush(stdout);
	ck_assert_msg(t->wt_total == expect_total, "%s: %zu cases read, %zu expected",
	    t->wt_file, t->wt_total, expect_total);
	ck_assert_msg(t->wt_agree == t->wt_total, "%s: disagree on tcId%s",
	    t->wt_file, t->wt_bad);
}

/* Big-endian hex of at most 33 bytes (a leading 00 allowed) as a 32-byte scalar. */
static int
wp_scalar(json_t *test, uint8_t d[static 32])
{
	size_t n, skip = 0;
	uint8_t *p = wp_hex(test, "private", &n);
	int ok;

	while (n - skip > 32 && p[skip] == 0)
		skip++;
	ok = n - skip <= 32;
	if (ok) {
		memset(d, 0, 32);
		memcpy(d + 32 - (n - skip), p + skip, n - skip);
	}
	vc_wipe(p, n);
	free(p);
	return ok;
}

/*
 * One ECDH case with the peer's point already extracted (NULL: refused
 * before our check). Returns through wp_record.
 */
static void
wp_ecdh_case(struct wp_tally *t, json_t *test, const uint8_t *point, size_t len)
{
	EVP_PKEY *priv = NULL, *peer = NULL;
	uint8_t d[32], pub[65], z[32], *shared;
	size_t sharedlen;
	int accepted = 0, correct = 0;

	ck_assert_msg(wp_scalar(test, d), "tcId %lld: private key too long",
	    (long long)json_integer_value(json_object_get(test, "tcId")));
	ck_assert_int_eq(vc_p256_from_scalar(d, &priv, pub), 0);
	vc_wipe(d, sizeof(d));
	shared = wp_hex(test, "shared", &sharedlen);
	if (point != NULL && vc_p256_peer(point, len, &peer) == 0 &&
	    vc_ecdh(priv, peer, z) == 0) {
		accepted = 1;
		correct = sharedlen == 32 && memcmp(z, shared, 32) == 0;
	}
	wp_record(t, test, accepted, correct);
	free(shared);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(priv);
}

START_TEST(test_wycheproof_ecdh_secp256r1_ecpoint)
{
	struct wp_tally t = { .wt_file = "ecdh_secp256r1_ecpoint_test.json" };
	json_t *root, *group, *test;
	uint8_t *point;
	size_t gi, ti, len;

	if ((root = wp_load(t.wt_file)) == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		ck_assert_str_eq(wp_str(group, "curve"), "secp256r1");
		ck_assert_str_eq(wp_str(group, "encoding"), "ecpoint");
		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			point = wp_hex(test, "public", &len);
			wp_ecdh_case(&t, test, point, len);
			free(point);
		}
	}
	json_decref(root);
	wp_finish(&t, 355);
}
END_TEST

START_TEST(test_wycheproof_ecdh_secp256r1_spki)
{
	struct wp_tally t = { .wt_file = "ecdh_secp256r1_test.json" };
	json_t *root, *group, *test;
	EVP_PKEY *spki;
	const unsigned char *p;
	uint8_t *der, point[133];
	char gname[64];
	size_t gi, ti, len, plen, glen;
	int ok, explicit;

	if ((root = wp_load(t.wt_file)) == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		ck_assert_str_eq(wp_str(group, "curve"), "secp256r1");
		ck_assert_str_eq(wp_str(group, "encoding"), "asn");
		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			/*
			 * What keyd would do with a certificate-style key: parse the
			 * SubjectPublicKeyInfo whole, require an EC key on the named
			 * P-256 group, take its point and put that through our check.
			 * Explicit curve parameters are refused even when OpenSSL
			 * matches them to P-256 (RFC 5480 allows named curves only):
			 * Wycheproof gives the same explicit-parameter key as invalid
			 * in one case (359) and acceptable in another (362).
			 */
			der = wp_hex(test, "public", &len);
			p = der;
			spki = d2i_PUBKEY(NULL, &p, (long)len);
			ok = spki != NULL && p == der + len &&
			    EVP_PKEY_is_a(spki, "EC") &&
			    EVP_PKEY_get_int_param(spki,
			    OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS,
			    &explicit) == 1 && explicit == 0 &&
			    EVP_PKEY_get_utf8_string_param(spki,
			    OSSL_PKEY_PARAM_GROUP_NAME, gname, sizeof(gname), &glen) == 1 &&
			    strcmp(gname, "prime256v1") == 0 &&
			    EVP_PKEY_get_octet_string_param(spki,
			    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
			    &plen) == 1;
			wp_ecdh_case(&t, test, ok ? point : NULL, ok ? plen : 0);
			EVP_PKEY_free(spki);
			free(der);
			ERR_clear_error();
		}
	}
	json_decref(root);
	wp_finish(&t, 612);
}
END_TEST

START_TEST(test_wycheproof_aes_gcm)
{
	struct wp_tally t = { .wt_file = "aes_gcm_test.json" };
	json_t *root, *group, *test;
	uint8_t *key, *iv, *aad, *msg, *ct, *tag, *want, *got, *out;
	size_t gi, ti, keylen, ivlen, aadlen, msglen, ctlen, taglen, i;
	int accepted, correct;

	if ((root = wp_load(t.wt_file)) == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		if (json_integer_value(json_object_get(group, "keySize")) != 256 ||
		    json_integer_value(json_object_get(group, "ivSize")) != 96 ||
		    json_integer_value(json_object_get(group, "tagSize")) != 128)
			continue;
		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			key = wp_hex(test, "key", &keylen);
			iv = wp_hex(test, "iv", &ivlen);
			aad = wp_hex(test, "aad", &aadlen);
			msg = wp_hex(test, "msg", &msglen);
			ct = wp_hex(test, "ct", &ctlen);
			tag = wp_hex(test, "tag", &taglen);
			ck_assert_uint_eq(keylen, 32);
			ck_assert_uint_eq(ivlen, 12);
			ck_assert_uint_eq(taglen, 16);
			ck_assert_uint_eq(ctlen, msglen);
			want = malloc(ctlen + 16);
			got = malloc(ctlen + 16);
			out = malloc(msglen + 1);
			ck_assert(want != NULL && got != NULL && out != NULL);
			memcpy(want, ct, ctlen);
			memcpy(want + ctlen, tag, 16);

			/* Open decides; a valid case must also seal to the same bytes. */
			memset(out, 0xa5, msglen + 1);
			accepted = vc_aead_open(key, iv, aad, aadlen, want, ctlen + 16,
			    out) == 0;
			correct = accepted && memcmp(out, msg, msglen) == 0 &&
			    vc_aead_seal(key, iv, aad, aadlen, msg, msglen, got) == 0 &&
			    memcmp(got, want, ctlen + 16) == 0;
			if (!accepted)
				for (i = 0; i < msglen; i++)
					ck_assert_msg(out[i] == 0, "refused but not wiped");
			wp_record(&t, test, accepted, correct);
			free(key);
			free(iv);
			free(aad);
			free(msg);
			free(ct);
			free(tag);
			free(want);
			free(got);
			free(out);
		}
	}
	json_decref(root);
	wp_finish(&t, 66);
}
END_TEST

START_TEST(test_wycheproof_hkdf_sha256)
{
	struct wp_tally t = { .wt_file = "hkdf_sha256_test.json" };
	json_t *root, *group, *test;
	uint8_t *ikm, *salt, *info, *okm, *out;
	size_t gi, ti, ikmlen, saltlen, infolen, okmlen, size;
	int accepted;

	if ((root = wp_load(t.wt_file)) == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			ikm = wp_hex(test, "ikm", &ikmlen);
			salt = wp_hex(test, "salt", &saltlen);
			info = wp_hex(test, "info", &infolen);
			okm = wp_hex(test, "okm", &okmlen);
			size = (size_t)json_integer_value(json_object_get(test, "size"));
			ck_assert(size <= 65536);
			out = malloc(size + 1);
			ck_assert_ptr_nonnull(out);
			accepted = vc_hkdf(salt, saltlen, ikm, ikmlen, info, infolen, out,
			    size) == 0;
			wp_record(&t, test, accepted,
			    okmlen == size && memcmp(out, okm, size) == 0);
			free(ikm);
			free(salt);
			free(info);
			free(okm);
			free(out);
		}
	}
	json_decref(root);
	wp_finish(&t, 86);
}
END_TEST

START_TEST(test_wycheproof_ed25519)
{
	struct wp_tally t = { .wt_file = "ed25519_test.json" };
	json_t *root, *group, *test;
	uint8_t *pk, *msg, *sig;
	size_t gi, ti, pklen, msglen, siglen;
	int accepted;

	if ((root = wp_load(t.wt_file)) == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		pk = wp_hex(json_object_get(group, "publicKey"), "pk", &pklen);
		ck_assert_uint_eq(pklen, 32);
		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			msg = wp_hex(test, "msg", &msglen);
			sig = wp_hex(test, "sig", &siglen);
			/* Our interface takes exactly 64 bytes: any other length is refused. */
			accepted = siglen == 64 &&
			    vc_ed25519_verify(pk, msg, msglen, sig) == 0;
			wp_record(&t, test, accepted, 1);
			free(msg);
			free(sig);
		}
		free(pk);
	}
	json_decref(root);
	wp_finish(&t, 151);
}
END_TEST

Suite *suite_wycheproof(void);

Suite *
suite_wycheproof(void)
{
	Suite *s = suite_create("wycheproof");
	TCase *tc = tcase_create("vectors");

	/* Hundreds of scalar multiplications per file: well over Check's 4 s default. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wycheproof_ecdh_secp256r1_ecpoint);
	tcase_add_test(tc, test_wycheproof_ecdh_secp256r1_spki);
	tcase_add_test(tc, test_wycheproof_aes_gcm);
	tcase_add_test(tc, test_wycheproof_hkdf_sha256);
	tcase_add_test(tc, test_wycheproof_ed25519);
	suite_add_tcase(s, tc);
	return s;
}
