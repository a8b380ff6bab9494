/* SPDX-License-Identifier: ISC */
#ifndef VEIL_ERR_H
#define VEIL_ERR_H

/*
 * One error space for the whole project (OpenSSH ssherr.h style).
 * Library functions return 0 on success or one of these negative codes;
 * callers chain: if ((r = a()) != 0 || (r = b()) != 0) goto out;
 */
enum veil_err {
	VEIL_OK              = 0,
	VEIL_E_TRUNCATED     = -1,	/* input ended before a field it announced */
	VEIL_E_OVERSIZE      = -2,	/* a length exceeds its hard maximum */
	VEIL_E_VERSION       = -3,	/* unknown protocol version */
	VEIL_E_TYPE          = -4,	/* unknown or misplaced message type */
	VEIL_E_LENGTH        = -5,	/* lengths disagree with each other */
	VEIL_E_TRAILING      = -6,	/* bytes left over after the last field */
	VEIL_E_NOSPACE       = -7,	/* output buffer too small */
	VEIL_E_INVALID       = -8,	/* a field holds a value the spec forbids */
	VEIL_E_CRYPTO        = -9,	/* an OpenSSL call failed */
	VEIL_E_AUTH          = -10,	/* authentication failed (tag, signature) */
	VEIL_E_BADKEY        = -11,	/* peer public key refused (not on curve, ...) */
	VEIL_E_REPLAY        = -12,	/* counter not greater than the last accepted */
	VEIL_E_STATE         = -13,	/* message not allowed in this state */
	VEIL_E_LIMIT         = -14,	/* a counter or resource limit was reached */
	VEIL_E_PIN           = -15,	/* peer identity differs from the pinned one */
	VEIL_E_EXPECT        = -16,	/* peer identity differs from --expect */
	VEIL_E_NOSESSION     = -17,	/* unknown session handle */
	VEIL_E_SYSTEM        = -18,	/* a system call failed; see errno */
	VEIL_E_ALLOC         = -19,	/* out of memory */
	VEIL_E_NICK          = -20,	/* nickname not allowed */
	VEIL_E_REORDER       = -21,	/* frame from an epoch already left behind */
	VEIL_E_BUSY          = -22,	/* a resource is held elsewhere: try again later */
};

/* Returns a static, human-readable string for a veil_err code. Never NULL. */
const char *veil_strerror(int err);

#endif
