/* SPDX-License-Identifier: ISC */
#ifndef VEIL_SESSION_H
#define VEIL_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"
#include "frame.h"
#include "inner.h"

/*
 * The end-to-end protocol of PROTOCOL.md layer 2, as a pure state machine:
 * no I/O, no files, no clock. The handshake (2.2), then the Double Ratchet
 * with header encryption, stepped lazily at send time (2.3). Two sessions
 * talking in-process reproduce the worked example byte for byte.
 * All functions return 0 or a negative veil_err.
 *
 * Errors that leave the session exactly as it was (it can be used again):
 *  - VEIL_E_STATE: a call or a message the current state does not allow
 *    (vs_seal before the handshake is done, a replayed handshake message,
 *    any call on a dead session);
 *  - argument errors found before anything changes: VEIL_E_INVALID (NULL),
 *    VEIL_E_TYPE (a kind vs_seal does not seal), the errors of
 *    proto_inner_parse for a body, VEIL_E_NOSPACE (out has less free room
 *    than the message needs), VEIL_E_LIMIT from vs_seal at VS_HARD_LIMIT
 *    messages in one sending chain (vs_close still works);
 *  - on vs_open, every refusal of a message whose body did not
 *    authenticate: decode errors (VEIL_E_VERSION, _TYPE, _LENGTH,
 *    _TRUNCATED, _INVALID); VEIL_E_REORDER (a header of the previous
 *    receiving chain: a late message), VEIL_E_REPLAY (a number already
 *    seen), VEIL_E_LIMIT (a gap over VS_MAX_SKIP); and, counted, VEIL_E_AUTH
 *    (no header key opens the header, or the body's tag is bad) and the
 *    refusals of a header that opened but does not fit the state
 *    (VEIL_E_INVALID, VEIL_E_BADKEY, VEIL_E_STATE): the VS_MAX_AUTH_FAIL-th
 *    counted one kills the session.
 * Any other error kills the session: its keys are wiped at once, vs_alive()
 * returns 0 and every later call fails with VEIL_E_STATE. A session also dies
 * normally after vs_close and after opening the peer's CLOSE.
 */

#define VS_HARD_LIMIT	65536		/* messages per sending chain (and header key) */
#define VS_MAX_SKIP	1024		/* largest gap vs_open ratchets across */
#define VS_MAX_AUTH_FAIL 16		/* failed opens before the session is killed */

/* This user's identity; the seed lives in locked memory owned by keyd. */
struct vs_identity {
	uint8_t		id_seed[ED25519_SEED_LEN];
	uint8_t		id_pub[ED25519_PUB_LEN];
	uint8_t		id_nick[NICK_MAX];
	size_t		id_nicklen;
};

struct vs_params {
	const struct vs_identity *vp_me;
	uint8_t		 vp_room[ROOM_ID_LEN];
	/*
	 * The room key (PROTOCOL.md 4, from the room secret), mixed into both
	 * handshake extracts (PROTOCOL.md 2.2): the relay, which sees only the
	 * room id, cannot derive the handshake keys. A secret: wiped once
	 * established.
	 */
	uint8_t		 vp_room_key[ROOM_KEY_LEN];
	uint16_t	 vp_me_id;		/* our member id (relay-assigned) */
	uint16_t	 vp_peer_id;		/* the peer's member id */
	/*
	 * Tests only: vp_neph fixed P-256 scalars of P256_SCALAR_LEN bytes each,
	 * back to back at vp_eph (big-endian, 1 <= k < n). Each key this side
	 * makes takes the next one in this order: the handshake ephemeral (e_I
	 * or e_R), then one per ratchet step it takes (at a send, PROTOCOL.md
	 * 2.3). Likewise vp_nhn fixed header nonces of E2E_HN_LEN bytes at vp_hn,
	 * one per DATA message sealed. Once used up, or with a NULL pointer or a
	 * count of 0, they are random. The arrays must outlive the session.
	 */
	const uint8_t	*vp_eph;
	size_t		 vp_neph;		/* scalars at vp_eph */
	const uint8_t	*vp_hn;
	size_t		 vp_nhn;		/* header nonces at vp_hn */
};

struct vs_session;

/* One opened DATA message. vo_body is last: vs_open writes vo_bodylen bytes of it. */
struct vs_opened {
	uint8_t		vo_kind;		/* enum inner_kind */
	uint32_t	vo_gap;			/* messages of the peer's never seen before it */
	size_t		vo_bodylen;
	uint8_t		vo_body[INNER_BODY_MAX];	/* checked by proto_inner_parse */
};

/*
 * vs_params is copied; vp_me and vp_eph are kept by pointer and must outlive
 * the session. Output messages are appended to out / reply (vbuf
 * writers). On error vs_start and vs_accept leave *s NULL and free all.
 */

/* Initiator: a new session and its HS_INIT message written to out. */
int	vs_start(struct vs_session **s, const struct vs_params *p, struct vbuf *out) VEIL_WUR;
/* Responder: a new session from the peer's HS_INIT; HS_RESP written to out. */
int	vs_accept(struct vs_session **s, const struct vs_params *p,
	    const uint8_t *init, size_t len, struct vbuf *out) VEIL_WUR;
/*
 * Next handshake step (PROTOCOL.md 2.2). The initiator takes HS_RESP: it
 * opens it, decodes the responder's identity block and verifies sig_R; only
 * once that proof holds does it write HS_FIN (E2E_HS_FIN_LEN bytes, so out
 * needs that much room) and become established (*done = 1). The responder
 * takes HS_FIN: it opens it and verifies sig_I, writes nothing and is
 * established (*done = 1). No trust decision is made here: the peer's proven
 * identity is then in vs_peer_id / vs_peer_nick, and the caller decides
 * (pins, --expect) and vs_free's a session it refuses, after sending what was
 * written (the wire is the same whatever it decides). A handshake message of
 * another type than the state expects (replayed, reflected) and any call once
 * done: VEIL_E_STATE, nothing changed. Anything else that fails, the expected
 * type with a wrong length included, ends the session, nothing written.
 */
int	vs_handshake(struct vs_session *s, const uint8_t *in, size_t len,
	    struct vbuf *out, int *done) VEIL_WUR;

/*
 * Peer identity (ED25519_PUB_LEN bytes) and nickname once the handshake is
 * done, that is once the peer has proven them; NULL before, and once the
 * session is dead. Owned by the session.
 */
const uint8_t *vs_peer_id(const struct vs_session *s);
const uint8_t *vs_peer_nick(const struct vs_session *s, size_t *len);

/*
 * Seals one inner message of kind TEXT, ACK, PING, PONG or VIEW (else
 * VEIL_E_TYPE) whose body proto_inner_parse accepts (else its error), and
 * appends it to out. VEIL_E_LIMIT once VS_HARD_LIMIT messages went in the
 * current sending chain. None of these change the session.
 */
int	vs_seal(struct vs_session *s, uint8_t kind, const uint8_t *body, size_t len,
	    struct vbuf *out) VEIL_WUR;
/*
 * Opens one DATA message into *res: its kind, its body (checked exactly) and
 * vo_gap, how many of the peer's messages were never seen before it. An
 * authentic message that is malformed inside (padding, kind, body) ends the
 * session. IK_CLOSE: the peer closed; the session is dead.
 */
int	vs_open(struct vs_session *s, const uint8_t *in, size_t len,
	    struct vs_opened *res) VEIL_WUR;
/* Writes a sealed IK_CLOSE message; the session is dead afterwards. */
int	vs_close(struct vs_session *s, struct vbuf *out) VEIL_WUR;

/*
 * Tests only (check_session's state-compromise test): a full copy of s's
 * state, as an attacker who read keyd's memory at this moment holds it:
 * every key, the ratchet private key included. With mirror set, the copy
 * has the sending and receiving halves swapped, so that vs_open on it opens
 * what s sends, as far as the keys it holds allow. 0, VEIL_E_STATE (s not
 * established) or VEIL_E_ALLOC / VEIL_E_CRYPTO; *out is freed with vs_free.
 */
int	vs_copy(const struct vs_session *s, int mirror, struct vs_session **out) VEIL_WUR;

/* 1 while the session can still be used, 0 once it is dead (keys wiped). */
int	vs_alive(const struct vs_session *s);

/* Wipes every key and frees; NULL is fine. */
void	vs_free(struct vs_session *s);

#endif
