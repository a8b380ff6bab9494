/* SPDX-License-Identifier: ISC */
#ifndef VEIL_ROOMKEY_H
#define VEIL_ROOMKEY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "invite.h"

/*
 * The room id (sent in JOIN) and the room key (mixed into every handshake,
 * never sent) of PROTOCOL.md 4.1 and 4.2, from an invite code's secret or
 * from a room name. Both are computed before the sandbox.
 */

#define ROOMKEY_LEN		32
#define RELAY_ID_LEN		RELAY_FP_LEN
#define ROOM_NAME_SHORT		16	/* a name shorter than this gets a warning */
#define ROOM_NAME_MAX		255	/* --room NAME: 1..255 bytes */
/* Argon2id parameters for room names (RFC 9106's second recommended option, p = 1). */
#define ROOM_ARGON2_T		3
#define ROOM_ARGON2_M_KIB	65536
#define ROOM_ARGON2_P		1

/*
 * prk = HKDF-Extract(salt = "veil/2 room", IKM = secret); room =
 * HKDF-Expand(prk, "veil/2 room id", 32); key = HKDF-Expand(prk, "veil/2 room
 * key", 32). Returns 0 or VEIL_E_CRYPTO (outputs zeroed).
 */
int	roomkey_from_secret(const uint8_t secret[static INVITE_SECRET_LEN],
	    uint8_t room[static ROOM_ID_LEN], uint8_t key[static ROOMKEY_LEN]) VEIL_WUR;

/*
 * secret = Argon2id(name, salt = SHA-256("veil/2 room salt" || relay_id)[0..16],
 * t, m, p as above, 32 bytes), then roomkey_from_secret. relay_id is the
 * relay key fingerprint, or 32 zero bytes over a plaintext link. name is
 * 1..255 bytes. Returns 0, VEIL_E_INVALID (empty or over-long name),
 * VEIL_E_ALLOC (Argon2 memory) or VEIL_E_CRYPTO.
 */
int	roomkey_from_name(const char *name, const uint8_t relay_id[static RELAY_ID_LEN],
	    uint8_t room[static ROOM_ID_LEN], uint8_t key[static ROOMKEY_LEN]) VEIL_WUR;

/* A fresh random room secret (getrandom). 0 or VEIL_E_SYSTEM. */
int	roomkey_new_secret(uint8_t secret[static INVITE_SECRET_LEN]) VEIL_WUR;

#endif
