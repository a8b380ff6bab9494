/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: --cluster-creds files (relayd/clcreds.c). Whatever
 * parses has exactly one form, with what that form needs, and an nkey's
 * public key derived; everything is freed (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clcreds.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clcreds cr;
	char err[160];

	if (clcreds_parse(&cr, data, size, err, sizeof(err)) == 0) {
		switch (cr.cc_kind) {
		case CLCREDS_JWT:
			if (cr.cc_jwt == NULL || cr.cc_seed == NULL ||
			    strlen(cr.cc_pub) != CLCREDS_PUB_LEN)
				abort();
			break;
		case CLCREDS_NKEY:
			if (cr.cc_seed == NULL || strlen(cr.cc_pub) != CLCREDS_PUB_LEN)
				abort();
			break;
		case CLCREDS_USER:
			if (cr.cc_user == NULL || cr.cc_pass == NULL || cr.cc_token != NULL)
				abort();
			break;
		case CLCREDS_TOKEN:
			if (cr.cc_token == NULL || cr.cc_user != NULL)
				abort();
			break;
		default:
			abort();
		}
	} else if (err[0] == '\0')
		abort();	/* a refusal always says why */
	clcreds_free(&cr);
	return 0;
}
