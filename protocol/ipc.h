/* SPDX-License-Identifier: ISC */
#ifndef VEIL_IPC_H
#define VEIL_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"
#include "frame.h"
#include "inner.h"

/*
 * Layer 3 of PROTOCOL.md: keyd IPC over the Unix socket.
 * Every message: u32 len || u8 code || fields, len = 1 + size of fields,
 * 1 <= len <= IPC_MAX. Requests have codes 0x01..0x3f; the answer to request
 * X has code X | 0x80; IPC_ANS_ERROR (0xff) can answer any request.
 */

#define IPC_VERSION	2		/* first field of HELLO and ANS_HELLO */
#define IPC_LEN_HDR	4
#define IPC_MAX		(512 * 1024)
#define IPC_BATCH_MAX	ROOM_SIZE_MAX	/* handles in one REQ_SEAL */
#define IPC_EXPECT_MAX	16		/* --expect pairs in one REQ_HELLO */
#define IPC_ERRMSG_MAX	512
#define SAFETY_TEXT_MAX	96
#define HIST_TEXT_MAX	8192	/* a history record's plaintext (chatc's, opaque to keyd) */
#define HIST_SEALED_OVERHEAD 28	/* nonce[12] || ciphertext || tag[16] */
#define HIST_BLOB_MAX	(HIST_TEXT_MAX + HIST_SEALED_OVERHEAD)

enum ipc_code {
	REQ_HELLO	= 0x01,	/* u8 version, str8 nick, u8 n, n x (str8 nick, fpr[20]) */
	REQ_HS_START	= 0x02,	/* room[32], room_key[32], u16 me, u16 peer, u32 replaces */
	REQ_HS_ACCEPT	= 0x03,	/* room[32], room_key[32], u16 me, u16 peer, u32 replaces,
				   str32 blob (HS_INIT) */
	REQ_HS_NEXT	= 0x04,	/* u32 handle, str32 blob */
	REQ_SEAL	= 0x05,	/* u16 n, n x u32 handle, u8 kind, str16 body */
	REQ_OPEN	= 0x06,	/* u32 handle, str32 blob */
	/* 0x07: veil/1's REQ_REKEY, gone (the ratchet steps by itself) */
	REQ_CLOSE	= 0x08,	/* u32 handle */
	REQ_FORGET	= 0x09,	/* str8 nick */
	REQ_VERIFY	= 0x0a,	/* u32 handle */
	REQ_STATUS	= 0x0b,	/* no fields */
	REQ_HIST_SEAL	= 0x0c,	/* str16 text (a history record, 1..HIST_TEXT_MAX) */
	REQ_HIST_OPEN	= 0x0d,	/* str32 blob (1+HIST_SEALED_OVERHEAD..HIST_BLOB_MAX) */

	ANS_HELLO	= 0x81,	/* u8 version, fpr[20] (this user's fingerprint), id[32]
				   (its identity key) */
	ANS_HS		= 0x82,	/* u32 handle, str32 blob; answers HS_START and HS_ACCEPT */
	ANS_HS_NEXT	= 0x84,	/* u32 handle, u8 done, str32 blob, if done: str8 nick,
				   fpr[20], id[32], u8 trust, u8 flags, u8 reason,
				   str8 label, fpr2[20] */
	ANS_SEALED	= 0x85,	/* u16 n, n x (u32 handle, u8 status, u8 flags, str32 blob) */
	ANS_OPENED	= 0x86,	/* u32 handle, u8 kind, u32 gap, str16 body */
	/* 0x87: veil/1's ANS_REKEY, gone */
	ANS_CLOSE	= 0x88,	/* u32 handle, str32 blob (IK_CLOSE message to send) */
	ANS_FORGET	= 0x89,	/* u8 existed, fpr[20] (zero if not) */
	ANS_VERIFY	= 0x8a,	/* str8 nick, fpr[20] peer, fpr[20] mine, u8 trust, str8 safety */
	ANS_STATUS	= 0x8b,	/* u32 generation of known_peers */
	ANS_HIST_SEALED	= 0x8c,	/* str32 blob */
	ANS_HIST_OPENED	= 0x8d,	/* str16 text */
	IPC_ANS_ERROR	= 0xff,	/* u8 err (= -veil_err), u32 handle (0 if none), u8 ended,
				   str16 message */
};

/* The trust keyd gives a peer's proven identity (PROTOCOL.md 3.5, 4). */
enum ipc_trust {
	TRUST_NEW	= 1,	/* first contact */
	TRUST_PINNED	= 2,	/* met before: a pin of that key */
	TRUST_EXPECTED	= 3,	/* matched an --expect fingerprint */
	TRUST_VERIFIED	= 4,	/* marked verified (keyd --trust), or our own key */
	TRUST_REFUSED	= 5,	/* refused: the session is gone (reason says why) */
};

/* Flags beside the trust: each is something to tell the person. */
enum ipc_trust_flags {
	TF_KNOWN_AS	 = 0x01,	/* the key is known under another label (in label) */
	TF_NAME_ELSEWHERE = 0x02,	/* the nick labels another key in another room (fpr2) */
	TF_CONTESTED	 = 0x04,	/* the nick labels another new key in this room (fpr2) */
	TF_NOT_PINNED	 = 0x08,	/* a first contact not written (pin budget used up) */
	TF_SELF		 = 0x10,	/* our own key: another chatc of ours */
};
#define TF_ALL		0x1f

/* Why a peer was refused (trust TRUST_REFUSED). */
enum ipc_refusal {
	REFUSE_PIN	= 1,	/* the nick belongs to another key here (fpr2) */
	REFUSE_EXPECT	= 2,	/* --expect names another fingerprint (fpr2) */
	REFUSE_OWN_NAME	= 3,	/* another key uses our own nickname */
	REFUSE_SWAP	= 4,	/* a replacement proved another identity than the
				   session it replaces (fpr2: the old one's) */
};

enum ipc_seal_flags {
	/* 0x01: veil/1's SEAL_REKEY_DUE, gone */
	SEAL_ENDED	= 0x02,	/* with a failed status: the error ended the session */
};

/*
 * The kind of ANS_OPENED: the inner kind opened (inner.h), its body checked
 * by keyd exactly (proto_inner_parse).
 */
enum ipc_open_kind {
	OPEN_TEXT	= IK_TEXT,	/* body: stream, seq, flags, text */
	OPEN_CLOSED	= IK_CLOSE,	/* the peer closed the session; keyd wiped it */
	OPEN_ACK	= IK_ACK,	/* body: stream, upto */
	OPEN_PING	= IK_PING,	/* body: token; answer with a PONG */
	OPEN_PONG	= IK_PONG,	/* body: token */
	OPEN_VIEW	= IK_VIEW,	/* body: n, n ids */
};

struct ipc_item {			/* one entry of ANS_SEALED */
	uint32_t	 it_handle;
	uint8_t		 it_status;	/* 0, or -veil_err for this handle */
	uint8_t		 it_flags;	/* enum ipc_seal_flags */
	const uint8_t	*it_blob;
	size_t		 it_bloblen;
};

struct ipc_expect {			/* one --expect pair of REQ_HELLO */
	const uint8_t	*ex_nick;
	size_t		 ex_nicklen;
	uint8_t		 ex_fpr[FPR_LEN];
};

/* Every field any message has; which ones are used depends on im_code. */
struct ipc_msg {
	uint8_t		 im_code;
	uint8_t		 im_version;	/* REQ_HELLO, ANS_HELLO */
	uint32_t	 im_handle;
	uint8_t		 im_room[ROOM_ID_LEN];
	uint8_t		 im_room_key[ROOM_KEY_LEN];	/* REQ_HS_START, REQ_HS_ACCEPT: a secret */
	uint16_t	 im_me;
	uint16_t	 im_peer;
	uint32_t	 im_replaces;	/* REQ_HS_START, REQ_HS_ACCEPT: handle or 0 */
	const uint8_t	*im_nick;
	size_t		 im_nicklen;
	const uint8_t	*im_blob;
	size_t		 im_bloblen;
	/*
	 * REQ_SEAL, ANS_OPENED: the inner body of kind im_kind (inner.h);
	 * REQ_HIST_SEAL: the history record;
	 * IPC_ANS_ERROR: the error message.
	 */
	const uint8_t	*im_text;
	size_t		 im_textlen;
	uint8_t		 im_fpr[FPR_LEN];
	uint8_t		 im_fpr2[FPR_LEN];	/* ANS_VERIFY: ours; ANS_HS_NEXT: the other key */
	/* ANS_HELLO: our identity key; ANS_HS_NEXT (done): the peer's (public keys) */
	uint8_t		 im_id[ED25519_PUB_LEN];
	uint8_t		 im_done;
	uint8_t		 im_trust;
	uint8_t		 im_flags;	/* ANS_HS_NEXT: enum ipc_trust_flags */
	uint8_t		 im_reason;	/* ANS_HS_NEXT: enum ipc_refusal, 0 unless refused */
	const uint8_t	*im_label;	/* ANS_HS_NEXT: the known label with TF_KNOWN_AS */
	size_t		 im_labellen;
	uint8_t		 im_kind;	/* REQ_SEAL, ANS_OPENED: enum inner_kind */
	uint8_t		 im_existed;
	uint8_t		 im_err;
	uint8_t		 im_ended;	/* IPC_ANS_ERROR: the session is gone */
	uint32_t	 im_gap;
	uint32_t	 im_gen;	/* ANS_STATUS */
	uint16_t	 im_count;	/* handles in REQ_SEAL, items, expects */
	uint32_t	 im_handles[IPC_BATCH_MAX];
	struct ipc_item	 im_items[IPC_BATCH_MAX];
	struct ipc_expect im_expect[IPC_EXPECT_MAX];
	const uint8_t	*im_safety;
	size_t		 im_safetylen;
};

/*
 * Reads the u32 length prefix at p (n >= 4, else VEIL_E_TRUNCATED) and checks
 * 1 <= len <= IPC_MAX (VEIL_E_OVERSIZE / VEIL_E_LENGTH). *len excludes the prefix.
 */
int	proto_ipc_length(const uint8_t *p, size_t n, size_t *len) VEIL_WUR;

/*
 * Decodes one message body (the code byte and its fields, without the length
 * prefix) of exactly n bytes. is_answer selects which codes are allowed:
 * requests (0) or answers (1). Lengths, counts, nicknames, kinds and trust
 * values are all checked (PROTOCOL.md 3: a bad nickname is VEIL_E_NICK, a
 * handle of 0 outside IPC_ANS_ERROR VEIL_E_INVALID); leftovers give
 * VEIL_E_TRAILING. A HELLO or ANS_HELLO whose version is not IPC_VERSION is
 * VEIL_E_VERSION, found before anything after it is read. Pointers in *m
 * point into p. On error *m is zeroed.
 */
int	proto_ipc_decode(const uint8_t *p, size_t n, int is_answer,
	    struct ipc_msg *m) VEIL_WUR;

/*
 * Encodes *m with its length prefix, checking the same rules as decode (it
 * decodes what it wrote). On any error nothing is left in out.
 */
int	proto_ipc_encode(struct vbuf *out, const struct ipc_msg *m) VEIL_WUR;

#endif
