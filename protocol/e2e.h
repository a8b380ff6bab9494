/* SPDX-License-Identifier: ISC */
#ifndef VEIL_E2E_H
#define VEIL_E2E_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Layer 2 of PROTOCOL.md: end-to-end messages, opaque to the relay. */

#define E2E_VERSION		1
#define P256_PUB_LEN		65	/* uncompressed SEC1 point: 04 || X || Y */
#define P256_SCALAR_LEN		32
#define ED25519_PUB_LEN		32
#define ED25519_SEED_LEN	32
#define ED25519_SIG_LEN		64
#define AEAD_KEY_LEN		32
#define AEAD_NONCE_LEN		12
#define AEAD_TAG_LEN		16
#define HASH_LEN		32
#define ROOM_KEY_LEN		32	/* SHA-256("veil/1 room key" || room name) */
#define FPR_LEN			20	/* fingerprint bytes; text form in proto_fpr_format */
#define FPR_TEXT_LEN		49	/* 10 groups of 4 hex digits joined by ':' */
#define NICK_MAX		32
#define MSG_MAX			4000	/* bytes of UTF-8 text in one message */
#define E2E_DATA_HDR_LEN	10	/* ver, type, epoch u32, ctr u32 */
#define PAD_MIN			64	/* smallest padding bucket */
#define PAD_MAX			4096	/* largest padding bucket */
#define INNER_HDR_LEN		3	/* kind u8, len u16 */
#define E2E_MAX			(E2E_DATA_HDR_LEN + PAD_MAX + AEAD_TAG_LEN)

enum e2e_type {
	E2E_HS_INIT	= 1,	/* ver type eph(65) */
	E2E_HS_RESP	= 2,	/* ver type eph(65) ct(id, nick) */
	E2E_HS_FIN	= 3,	/* ver type ct(id, nick, sig) */
	E2E_HS_CONFIRM	= 4,	/* ver type ct(sig) */
	E2E_DATA	= 16,	/* ver type epoch ctr ct(padded inner) */
};

/* Kinds of the padded plaintext inside an E2E_DATA message. */
enum inner_kind {
	IK_TEXT		= 1,	/* body: 1..MSG_MAX bytes of UTF-8 */
	IK_REKEY_INIT	= 2,	/* body: a fresh P-256 public key (65) */
	IK_REKEY_RESP	= 3,	/* body: a fresh P-256 public key (65) */
	IK_CLOSE	= 4,	/* body: empty; the sender ends the session */
};

struct e2e_msg {
	uint8_t		 em_type;
	const uint8_t	*em_eph;	/* HS_INIT, HS_RESP: P256_PUB_LEN bytes */
	uint32_t	 em_epoch;	/* DATA */
	uint32_t	 em_ctr;	/* DATA */
	const uint8_t	*em_ct;		/* RESP, FIN, CONFIRM, DATA: ciphertext || tag */
	size_t		 em_ctlen;
};

/*
 * Decodes one end-to-end message of exactly n bytes. Checks version, type,
 * and that the ciphertext length is one the type allows (PROTOCOL.md): RESP,
 * FIN and CONFIRM have fixed ranges, DATA exactly a padding bucket + tag.
 * Pointers in *m point into p. On error *m is zeroed.
 */
int	proto_e2e_decode(const uint8_t *p, size_t n, struct e2e_msg *m) VEIL_WUR;

/* Encodes *m, checking the same rules. */
int	proto_e2e_encode(struct vbuf *out, const struct e2e_msg *m) VEIL_WUR;

/* The type byte of an encoded message, or a negative veil_err (version, truncated). */
int	proto_e2e_peek_type(const uint8_t *p, size_t n);

/*
 * Handshake identity plaintexts (inside RESP and FIN): id(32) || u8 nicklen ||
 * nick [|| sig(64) when with_sig]. Nick checked by proto_nick_valid
 * (VEIL_E_NICK; over NICK_MAX VEIL_E_OVERSIZE on decode). decode with
 * with_sig needs sig non-NULL; without, *sig (if sig is given) is NULL.
 */
int	proto_hs_id_encode(struct vbuf *out, const uint8_t id[static ED25519_PUB_LEN],
	    const uint8_t *nick, size_t nicklen, const uint8_t *sig) VEIL_WUR;
int	proto_hs_id_decode(const uint8_t *p, size_t n, int with_sig,
	    const uint8_t **id, const uint8_t **nick, size_t *nicklen,
	    const uint8_t **sig) VEIL_WUR;

/* Smallest padding bucket (64, 128, ..., 4096) holding need bytes; 0 if none. */
size_t	proto_pad_bucket(size_t need);

/*
 * Inner plaintext: kind u8 || len u16 || body || zero bytes up to the bucket.
 * encode writes exactly proto_pad_bucket(3 + bodylen) bytes. decode requires
 * n to be a bucket, len to fit, the body to suit the kind (TEXT 1..MSG_MAX,
 * REKEY_* exactly 65, CLOSE 0) and every padding byte to be zero. n must be
 * the smallest bucket that holds 3 + len (one encoding per plaintext).
 * Errors: VEIL_E_LENGTH (sizes), VEIL_E_TYPE (kind), VEIL_E_OVERSIZE (text
 * over MSG_MAX), VEIL_E_INVALID (non-zero padding).
 */
int	proto_inner_encode(struct vbuf *out, uint8_t kind, const uint8_t *body,
	    size_t bodylen) VEIL_WUR;
int	proto_inner_decode(const uint8_t *p, size_t n, uint8_t *kind,
	    const uint8_t **body, size_t *bodylen) VEIL_WUR;

/* 1 if nick is 1..NICK_MAX bytes of [A-Za-z0-9_.-], else 0. */
int	proto_nick_valid(const uint8_t *nick, size_t n);

/*
 * Fingerprint text: 40 lowercase hex digits of the FPR_LEN bytes in groups of
 * four joined by ':' (FPR_TEXT_LEN chars + NUL written to out).
 * parse accepts that form, or groups joined by '-', or 40 bare hex digits,
 * either case; VEIL_E_INVALID otherwise.
 */
void	proto_fpr_format(const uint8_t fpr[static FPR_LEN], char out[static FPR_TEXT_LEN + 1]);
int	proto_fpr_parse(const char *text, uint8_t fpr[static FPR_LEN]) VEIL_WUR;

/* The value of one hex digit (either case), or -1 if c is not one. */
int	proto_hex_digit(char c);

#endif
