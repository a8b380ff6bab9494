/* SPDX-License-Identifier: ISC */
#ifndef VEIL_E2E_H
#define VEIL_E2E_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Layer 2 of PROTOCOL.md: end-to-end messages, opaque to the relay. */

#define E2E_VERSION		2	/* veil/2: every layer-2 message starts with it */
#define P256_PUB_LEN		65	/* uncompressed SEC1 point: 04 || X || Y */
#define P256_SCALAR_LEN		32
#define ED25519_PUB_LEN		32
#define ED25519_SEED_LEN	32
#define ED25519_SIG_LEN		64
#define AEAD_KEY_LEN		32
#define AEAD_NONCE_LEN		12
#define AEAD_TAG_LEN		16
#define HASH_LEN		32
#define ROOM_KEY_LEN		32	/* from the room secret (PROTOCOL.md 4); never sent */
#define FPR_LEN			20	/* fingerprint bytes; text form in proto_fpr_format */
#define FPR_TEXT_LEN		49	/* 10 groups of 4 hex digits joined by ':' */
#define NICK_MAX		32
#define MSG_MAX			4000	/* bytes of UTF-8 text in one message */
#define PAD_MIN			64	/* smallest padding bucket */
#define PAD_MAX			4096	/* largest padding bucket */
#define INNER_HDR_LEN		3	/* kind u8, len u16 */
/*
 * DATA (PROTOCOL.md 2.3): ver, type, the header nonce in the clear, the
 * encrypted header (the sender's ratchet key, u32 pn, u32 n) and its tag,
 * then the body: one padding bucket and its tag.
 */
#define E2E_HN_LEN		12				/* header nonce */
#define E2E_HDR_PT_LEN		(P256_PUB_LEN + 4 + 4)		/* 73 */
#define E2E_HDR_CT_LEN		(E2E_HDR_PT_LEN + AEAD_TAG_LEN)	/* 89 */
#define E2E_DATA_HDR_LEN	(2 + E2E_HN_LEN + E2E_HDR_CT_LEN)	/* 103 */
#define E2E_DATA_MIN		(E2E_DATA_HDR_LEN + PAD_MIN + AEAD_TAG_LEN)	/* 183 */
#define E2E_MAX			(E2E_DATA_HDR_LEN + PAD_MAX + AEAD_TAG_LEN)	/* 4215 */

/*
 * Handshake sizes (PROTOCOL.md 2.2): every one is fixed, so the relay learns
 * nothing from them. An identity block is the key, the nickname's length,
 * the nickname and zero bytes up to NICK_MAX; the sealed part of HS_RESP and
 * HS_FIN is an identity block and a signature.
 */
#define E2E_IDB_LEN		(ED25519_PUB_LEN + 1 + NICK_MAX)	/* 65 */
#define E2E_HS_PT_LEN		(E2E_IDB_LEN + ED25519_SIG_LEN)		/* 129 */
#define E2E_HS_CT_LEN		(E2E_HS_PT_LEN + AEAD_TAG_LEN)		/* 145 */
#define E2E_HS_INIT_LEN		(2 + P256_PUB_LEN)			/* 67 */
#define E2E_HS_RESP_LEN		(2 + P256_PUB_LEN + E2E_HS_CT_LEN)	/* 212 */
#define E2E_HS_FIN_LEN		(2 + E2E_HS_CT_LEN)			/* 147 */

enum e2e_type {
	E2E_HS_INIT	= 1,	/* ver type eph(65) */
	E2E_HS_RESP	= 2,	/* ver type eph(65) ct(idb, sig) */
	E2E_HS_FIN	= 3,	/* ver type ct(idb, sig) */
	E2E_DATA	= 16,	/* ver type hn hct(hdr) ct(padded inner) */
};

struct e2e_msg {
	uint8_t		 em_type;
	const uint8_t	*em_eph;	/* HS_INIT, HS_RESP: P256_PUB_LEN bytes */
	const uint8_t	*em_hn;		/* DATA: E2E_HN_LEN bytes, the header nonce */
	const uint8_t	*em_hct;	/* DATA: E2E_HDR_CT_LEN bytes, the sealed header */
	const uint8_t	*em_ct;		/* RESP, FIN, DATA: ciphertext || tag */
	size_t		 em_ctlen;
};

/*
 * Decodes one end-to-end message of exactly n bytes, checking in the order of
 * PROTOCOL.md 2 (first failure decides): n over E2E_MAX VEIL_E_OVERSIZE;
 * n < 1 VEIL_E_TRUNCATED; version not E2E_VERSION VEIL_E_VERSION; n < 2
 * VEIL_E_TRUNCATED; unknown type VEIL_E_TYPE; HS_INIT, HS_RESP, HS_FIN
 * shorter than their fixed length VEIL_E_TRUNCATED, longer VEIL_E_TRAILING;
 * DATA shorter than E2E_DATA_MIN VEIL_E_TRUNCATED, a ciphertext that is
 * not a padding bucket + tag VEIL_E_LENGTH; an ephemeral key not starting
 * with 04 VEIL_E_INVALID. Pointers in *m point into p. On error *m is zeroed.
 */
int	proto_e2e_decode(const uint8_t *p, size_t n, struct e2e_msg *m) VEIL_WUR;

/* Encodes *m, checking the same rules. */
int	proto_e2e_encode(struct vbuf *out, const struct e2e_msg *m) VEIL_WUR;

/* The type byte of an encoded message, or a negative veil_err (version, truncated). */
int	proto_e2e_peek_type(const uint8_t *p, size_t n);

/*
 * Identity block (inside HS_RESP and HS_FIN, PROTOCOL.md 2.2), exactly
 * E2E_IDB_LEN bytes: id(32) || u8 nicklen || nick || zero bytes to NICK_MAX.
 * encode checks the nick (proto_nick_valid: VEIL_E_NICK) and writes all 65
 * bytes. decode takes exactly E2E_IDB_LEN bytes (else VEIL_E_LENGTH): nicklen
 * 0 or over NICK_MAX VEIL_E_INVALID, a nick byte outside the rule
 * VEIL_E_NICK, a padding byte not zero VEIL_E_INVALID; *id and *nick point
 * into p, all cleared on error.
 */
int	proto_idb_encode(uint8_t out[static E2E_IDB_LEN],
	    const uint8_t id[static ED25519_PUB_LEN], const uint8_t *nick,
	    size_t nicklen) VEIL_WUR;
int	proto_idb_decode(const uint8_t *p, size_t n, const uint8_t **id,
	    const uint8_t **nick, size_t *nicklen) VEIL_WUR;

/* Smallest padding bucket (64, 128, ..., 4096) holding need bytes; 0 if none. */
size_t	proto_pad_bucket(size_t need);

/*
 * Inner plaintext: kind u8 || len u16 || body || zero bytes up to the bucket.
 * encode writes exactly proto_pad_bucket(3 + bodylen) bytes. decode requires
 * n to be a bucket, len to fit, the body to suit the kind exactly
 * (proto_inner_parse, inner.h) and every padding byte to be zero. n must be
 * the smallest bucket that holds 3 + len (one encoding per plaintext).
 * Errors: VEIL_E_LENGTH (sizes), VEIL_E_INVALID (non-zero padding) and those
 * of proto_inner_parse (VEIL_E_TYPE for a kind, ...).
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
