/* SPDX-License-Identifier: ISC */
#ifndef VEIL_IPC_H
#define VEIL_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"
#include "frame.h"

/*
 * Layer 3 of PROTOCOL.md: keyd IPC over the Unix socket.
 * Every message: u32 len || u8 code || fields, len = 1 + size of fields,
 * 1 <= len <= IPC_MAX. Requests have codes 0x01..0x3f; the answer to request
 * X has code X | 0x80; IPC_ANS_ERROR (0xff) can answer any request.
 */

#define IPC_LEN_HDR	4
#define IPC_MAX		(512 * 1024)
#define IPC_BATCH_MAX	ROOM_SIZE_MAX	/* handles in one REQ_SEAL */
#define IPC_EXPECT_MAX	16		/* --expect pairs in one REQ_HELLO */
#define IPC_ERRMSG_MAX	512
#define SAFETY_TEXT_MAX	96

enum ipc_code {
	REQ_HELLO	= 0x01,	/* str8 nick, u8 n, n x (str8 nick, fpr[20]) */
	REQ_HS_START	= 0x02,	/* room[32], room_key[32], u16 me, u16 peer */
	REQ_HS_ACCEPT	= 0x03,	/* room[32], room_key[32], u16 me, u16 peer,
				   str32 blob (HS_INIT) */
	REQ_HS_NEXT	= 0x04,	/* u32 handle, str32 blob */
	REQ_SEAL	= 0x05,	/* u16 n, n x u32 handle, str16 text */
	REQ_OPEN	= 0x06,	/* u32 handle, str32 blob */
	REQ_REKEY	= 0x07,	/* u32 handle */
	REQ_CLOSE	= 0x08,	/* u32 handle */
	REQ_FORGET	= 0x09,	/* str8 nick */
	REQ_VERIFY	= 0x0a,	/* u32 handle */

	ANS_HELLO	= 0x81,	/* fpr[20] (this user's fingerprint) */
	ANS_HS		= 0x82,	/* u32 handle, str32 blob; answers HS_START and HS_ACCEPT */
	ANS_HS_NEXT	= 0x84,	/* u32 handle, u8 done, str32 blob,
				   if done: str8 nick, fpr[20], u8 trust */
	ANS_SEALED	= 0x85,	/* u16 n, n x (u32 handle, u8 status, u8 flags, str32 blob) */
	ANS_OPENED	= 0x86,	/* u32 handle, u8 kind, u32 epoch, u32 gap, str16 text, str32 reply */
	ANS_REKEY	= 0x87,	/* u32 handle, str32 blob */
	ANS_CLOSE	= 0x88,	/* u32 handle, str32 blob (IK_CLOSE message to send) */
	ANS_FORGET	= 0x89,	/* u8 existed, fpr[20] (zero if not) */
	ANS_VERIFY	= 0x8a,	/* str8 nick, fpr[20] peer, fpr[20] mine, str8 safety */
	IPC_ANS_ERROR	= 0xff,	/* u8 err (= -veil_err), u32 handle (0 if none), str16 message */
};

enum ipc_trust {
	TRUST_NEW	= 1,	/* first contact: pinned now */
	TRUST_PINNED	= 2,	/* matched the pinned identity */
	TRUST_EXPECTED	= 3,	/* matched an --expect fingerprint */
};

enum ipc_seal_flags {
	SEAL_REKEY_DUE	= 0x01,	/* N messages or T minutes passed: send REQ_REKEY */
};

enum ipc_open_kind {
	OPEN_TEXT	= 1,	/* text holds the message */
	OPEN_REKEY	= 2,	/* a rekey step; reply (if not empty) goes back to the peer */
	OPEN_CLOSED	= 3,	/* the peer closed the session; keyd wiped it */
	OPEN_RESEND	= 4,	/* not opened: of the epoch after ours, and our REKEY_INIT
				   is unanswered (its RESP was lost); reply holds our
				   REKEY_INIT again, to send to the peer (PROTOCOL.md 2.4) */
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
	uint32_t	 im_handle;
	uint8_t		 im_room[ROOM_ID_LEN];
	uint8_t		 im_room_key[ROOM_KEY_LEN];	/* REQ_HS_START, REQ_HS_ACCEPT: a secret */
	uint16_t	 im_me;
	uint16_t	 im_peer;
	const uint8_t	*im_nick;
	size_t		 im_nicklen;
	const uint8_t	*im_blob;
	size_t		 im_bloblen;
	const uint8_t	*im_text;	/* REQ_SEAL, ANS_OPENED; error message for IPC_ANS_ERROR */
	size_t		 im_textlen;
	uint8_t		 im_fpr[FPR_LEN];
	uint8_t		 im_fpr2[FPR_LEN];
	uint8_t		 im_done;
	uint8_t		 im_trust;
	uint8_t		 im_kind;
	uint8_t		 im_existed;
	uint8_t		 im_err;
	uint32_t	 im_epoch;
	uint32_t	 im_gap;
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
 * VEIL_E_TRAILING. Pointers in *m point into p. On error *m is zeroed.
 */
int	proto_ipc_decode(const uint8_t *p, size_t n, int is_answer,
	    struct ipc_msg *m) VEIL_WUR;

/*
 * Encodes *m with its length prefix, checking the same rules as decode (it
 * decodes what it wrote). On any error nothing is left in out.
 */
int	proto_ipc_encode(struct vbuf *out, const struct ipc_msg *m) VEIL_WUR;

#endif
