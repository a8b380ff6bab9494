/* SPDX-License-Identifier: ISC */
#include "err.h"

const char *
veil_strerror(int err)
{
	switch (err) {
	case VEIL_OK:		return "success";
	case VEIL_E_TRUNCATED:	return "truncated message";
	case VEIL_E_OVERSIZE:	return "length over its limit";
	case VEIL_E_VERSION:	return "unknown protocol version";
	case VEIL_E_TYPE:	return "unknown or unexpected message type";
	case VEIL_E_LENGTH:	return "inconsistent lengths";
	case VEIL_E_TRAILING:	return "trailing bytes after message";
	case VEIL_E_NOSPACE:	return "output buffer too small";
	case VEIL_E_INVALID:	return "invalid field value";
	case VEIL_E_CRYPTO:	return "cryptographic library failure";
	case VEIL_E_AUTH:	return "authentication failed";
	case VEIL_E_BADKEY:	return "invalid public key";
	case VEIL_E_REPLAY:	return "replayed or out-of-order message";
	case VEIL_E_STATE:	return "message not allowed in this state";
	case VEIL_E_LIMIT:	return "limit reached";
	case VEIL_E_PIN:	return "identity differs from the pinned identity";
	case VEIL_E_EXPECT:	return "identity differs from the expected fingerprint";
	case VEIL_E_NOSESSION:	return "no such session";
	case VEIL_E_SYSTEM:	return "system call failed";
	case VEIL_E_ALLOC:	return "out of memory";
	case VEIL_E_NICK:	return "nickname not allowed";
	case VEIL_E_REORDER:	return "message from an old epoch";
	case VEIL_E_BUSY:	return "busy: held by another process; try again";
	}
	return "unknown error";
}
