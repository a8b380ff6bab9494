/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLCREDS_H
#define VEIL_CLCREDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * relayd --cluster-creds FILE: how relayd proves itself to NATS. The file
 * is read once, before the sandbox, and holds one of:
 *
 *   - a NATS credentials file as nsc writes it: a user JWT and its nkey
 *     seed, each between "-----BEGIN ...-----" and "-----END ...-----"
 *     lines (decentralized JWT authentication);
 *   - one line with a user nkey seed ("SU" and 56 more base32 letters):
 *     nkey authentication, the public key derived from it;
 *   - keyword lines, "user NAME" and "password SECRET", or "token SECRET";
 *     empty lines and lines starting with '#' are skipped.
 *
 * Pure: the parser works on the file's bytes (tests, fuzz_clcreds.c).
 */

#define CLCREDS_MAX		16384	/* the largest file relayd reads */
#define CLCREDS_SEED_LEN	58	/* an encoded nkey seed */
#define CLCREDS_PUB_LEN		56	/* an encoded public nkey */
#define CLCREDS_VALUE_MAX	4096	/* a JWT, user, password or token */

enum clcreds_kind {
	CLCREDS_NONE,
	CLCREDS_JWT,		/* cc_jwt + cc_seed */
	CLCREDS_NKEY,		/* cc_seed, cc_pub */
	CLCREDS_USER,		/* cc_user + cc_pass */
	CLCREDS_TOKEN,		/* cc_token */
};

struct clcreds {
	int	 cc_kind;	/* enum clcreds_kind */
	char	*cc_jwt;
	char	*cc_seed;
	char	 cc_pub[CLCREDS_PUB_LEN + 1];
	char	*cc_user;
	char	*cc_pass;
	char	*cc_token;
};

/*
 * Parses the n bytes of a credentials file into *cr (zeroed first).
 * Returns 0; VEIL_E_INVALID with a message naming the line in err (a
 * malformed line, a bad seed, a mix of forms, nothing usable);
 * VEIL_E_OVERSIZE (over CLCREDS_MAX); VEIL_E_ALLOC. Free with
 * clcreds_free, also after a failure.
 */
int	clcreds_parse(struct clcreds *cr, const uint8_t *p, size_t n, char *err,
	    size_t errlen) VEIL_WUR;

/* Wipes the secrets and frees them. */
void	clcreds_free(struct clcreds *cr);

/*
 * The public key of an encoded user nkey seed (SU...), encoded (U...).
 * Returns 0, VEIL_E_INVALID (not a user seed: bad length, alphabet, prefix
 * or checksum) or VEIL_E_CRYPTO.
 */
int	clcreds_nkey_public(const char *seed, char pub[static CLCREDS_PUB_LEN + 1]) VEIL_WUR;

#endif
