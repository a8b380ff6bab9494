/* SPDX-License-Identifier: ISC */
/*
 * relayd/clcreds.c, --cluster-creds files: the three forms, nkey seeds
 * against the nkeys reference pair (nats.c README), and files that must be
 * refused with the line named.
 */
#include <string.h>

#include <check.h>

#include "clcreds.h"
#include "err.h"

/* github.com/nats-io/nats.c README, "NKey": a user seed and its public key. */
#define SEED	"SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
#define PUB	"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"

static int
parse(struct clcreds *cr, const char *text, char *err, size_t errlen)
{
	return clcreds_parse(cr, (const uint8_t *)text, strlen(text), err, errlen);
}

START_TEST(test_clcreds_nkey_public)
{
	char pub[CLCREDS_PUB_LEN + 1], seed[] = SEED;

	ck_assert_int_eq(clcreds_nkey_public(SEED, pub), 0);
	ck_assert_str_eq(pub, PUB);
	/* A typo: the checksum catches it. */
	seed[10] = seed[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(clcreds_nkey_public(seed, pub), VEIL_E_INVALID);
	ck_assert_str_eq(pub, "");
	/* Not a user seed, the wrong length, lowercase. */
	ck_assert_int_eq(clcreds_nkey_public(PUB, pub), VEIL_E_INVALID);
	ck_assert_int_eq(clcreds_nkey_public("SUACSSL3", pub), VEIL_E_INVALID);
	ck_assert_int_eq(clcreds_nkey_public("suacssl3uahudxkfsnvuzrf5uhpmwz6bfdtj7m6usdxiednppqyyycu3vy",
	    pub), VEIL_E_INVALID);
	/* An operator seed (SO...) with a valid checksum is still not a user's. */
	ck_assert_int_eq(clcreds_nkey_public("SOACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCRECA",
	    pub), VEIL_E_INVALID);
}
END_TEST

START_TEST(test_clcreds_forms)
{
	static const char creds[] =
	    "-----BEGIN NATS USER JWT-----\n"
	    "eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJ4In0.c2ln\n"
	    "------END NATS USER JWT------\n"
	    "\n"
	    "************************* IMPORTANT *************************\n"
	    "NKEY Seed printed below can be used to sign and prove identity.\n"
	    "\n"
	    "-----BEGIN USER NKEY SEED-----\n"
	    SEED "\n"
	    "------END USER NKEY SEED------\n"
	    "\n"
	    "*************************************************************\n";
	struct clcreds cr;
	char err[128];

	ck_assert_int_eq(parse(&cr, creds, err, sizeof(err)), 0);
	ck_assert_int_eq(cr.cc_kind, CLCREDS_JWT);
	ck_assert_str_eq(cr.cc_jwt, "eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJ4In0.c2ln");
	ck_assert_str_eq(cr.cc_seed, SEED);
	ck_assert_str_eq(cr.cc_pub, PUB);
	clcreds_free(&cr);
	ck_assert_ptr_null(cr.cc_seed);

	ck_assert_int_eq(parse(&cr, SEED "\n", err, sizeof(err)), 0);
	ck_assert_int_eq(cr.cc_kind, CLCREDS_NKEY);
	ck_assert_str_eq(cr.cc_pub, PUB);
	clcreds_free(&cr);

	ck_assert_int_eq(parse(&cr, "# the relays' login\nuser relay\npassword s3cret with spaces\r\n",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(cr.cc_kind, CLCREDS_USER);
	ck_assert_str_eq(cr.cc_user, "relay");
	ck_assert_str_eq(cr.cc_pass, "s3cret with spaces");
	clcreds_free(&cr);

	ck_assert_int_eq(parse(&cr, "token abc123", err, sizeof(err)), 0);
	ck_assert_int_eq(cr.cc_kind, CLCREDS_TOKEN);
	ck_assert_str_eq(cr.cc_token, "abc123");
	clcreds_free(&cr);
}
END_TEST

START_TEST(test_clcreds_refused)
{
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "", "no credentials found" },
		{ "\n# nothing\n", "no credentials found" },
		{ "user relay\n", "give user and password, or a token alone" },
		{ "user relay\npassword x\ntoken y\n", "give user and password, or a token alone" },
		{ "user relay\nuser other\n", "line 2 is not understood" },
		{ "user re lay\n", "line 1 is not understood" },
		{ "username relay\n", "line 1 is not understood" },
		{ "password\n", "line 1 is not understood" },
		{ SEED "\n" SEED "\n", "line 2 is not understood" },
		{ SEED "\nuser x\n", "line 2 is not understood" },
		{ "-----BEGIN NATS USER JWT-----\njwt\n------END NATS USER JWT------\n",
		    "a user JWT and its nkey seed are both needed" },
		{ "-----BEGIN NATS USER JWT-----\njwt\n", "line 2: a block is not closed" },
		{ "-----BEGIN NATS USER JWT-----\nj w t\n", "line 2 is not understood" },
		{ "-----BEGIN USER NKEY SEED-----\nSUACSSL3\n", "line 2 is not understood" },
		{ "-----BEGIN USER NKEY SEED-----\n" PUB "\n", "line 2 is not understood" },
		{ "-----BEGIN SOMETHING-----\n", "line 1 is not understood" },
		{ "user relay\n-----BEGIN NATS USER JWT-----\n", "line 2 is not understood" },
	};
	struct clcreds cr;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(&cr, bad[i].text, err, sizeof(err)) == VEIL_E_INVALID,
		    "case %zu accepted", i);
		ck_assert_msg(strcmp(err, bad[i].err) == 0, "case %zu: \"%s\"", i, err);
		clcreds_free(&cr);
	}
	/* A NUL inside, and a file too large. */
	ck_assert_int_eq(clcreds_parse(&cr, (const uint8_t *)"user a\0b\npassword c\n", 19, err,
	    sizeof(err)), VEIL_E_INVALID);
	clcreds_free(&cr);
	{
		static uint8_t big[CLCREDS_MAX + 1];

		memset(big, '#', sizeof(big));
		ck_assert_int_eq(clcreds_parse(&cr, big, sizeof(big), err, sizeof(err)),
		    VEIL_E_OVERSIZE);
		clcreds_free(&cr);
	}
}
END_TEST

Suite *suite_clcreds(void);

Suite *
suite_clcreds(void)
{
	Suite *s = suite_create("clcreds");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_clcreds_nkey_public);
	tcase_add_test(tc, test_clcreds_forms);
	tcase_add_test(tc, test_clcreds_refused);
	suite_add_tcase(s, tc);
	return s;
}
