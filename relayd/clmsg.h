/* SPDX-License-Identifier: ISC */
#ifndef VEIL_CLMSG_H
#define VEIL_CLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"

/*
 * The messages relayd nodes exchange over NATS (PROTOCOL.md 5.3): pure
 * encoders and one strict decoder, no I/O. Every message is u8 version,
 * u8 type, then the type's fields; the decoder checks every length against
 * its maximum before use, every value against the spec, and refuses bytes
 * left over. Nothing here ever holds a room id: rooms are named by their
 * cluster key (clm_room_key), nodes by a random 64-bit incarnation id.
 */

#define CLM_VERSION	1
#define CL_KEY_LEN	32		/* a room's cluster key: SHA-256 */
#define CL_NAME_MAX	32		/* --node NAME: 1..32 of [A-Za-z0-9_-] */
#define CL_MEMBERS_MAX	128		/* members in one snapshot or table */
#define CL_SUBJECT_MAX	48		/* "veil.r." + 32 hex, or "veil.n." + name */
#define CLM_HDR_DATA	(2 + CL_KEY_LEN + 8 + 2)	/* DATA before its frames */
#define CLM_REC		(4 + 2 + 8 + 2 + 4)		/* before each frame's payload */
#define CLM_BATCH	(64 * 1024)	/* a DATA takes more frames only while under this */
#define CLM_DATA_MAX	(CLM_BATCH + CLM_REC + FRAME_MAX_LIMIT)	/* frames in one DATA */
#define CLM_MAX		(CLM_HDR_DATA + CLM_DATA_MAX)	/* the largest message */

enum clm_type {
	CLM_HB		= 1,	/* veil.hb: a node is alive */
	CLM_FENCE	= 2,	/* node inbox: "this incarnation of you is dead to me" */
	CLM_ADMIT	= 3,	/* owner inbox: a place for a new member, please */
	CLM_ANSWER	= 4,	/* requester inbox: the owner's answer to ADMIT */
	CLM_EVENT	= 5,	/* room subject (or RESYNC answer): a membership change */
	CLM_RESYNC	= 6,	/* owner inbox: send me the room's whole membership */
	CLM_QUERY	= 7,	/* node inbox: a new owner collects the room's state */
	CLM_STATE	= 8,	/* collector inbox: one node's part of that state */
	CLM_BYE		= 9,	/* room subject: a member of the sender left */
	CLM_DATA	= 10,	/* room subject (broadcast) or node inbox (unicast): frames */
	CLM_HOLD	= 11,	/* room subject: the sender's readers hold the room back */
	CLM_CREDIT	= 12,	/* node inbox: "have you read my DATA up to here?", and yes */
};

enum clm_credit {
	CLM_C_ASK	= 0,	/* from a DATA sender: its last pseqs for the room */
	CLM_C_ANSWER	= 1,	/* from its receiver: read up to them */
};

enum clm_answer {
	CLM_A_ADMITTED	= 0,
	CLM_A_FULL	= 1,	/* --room-size members already */
	CLM_A_RETRY	= 2,	/* not the owner (yet): ask again */
};

enum clm_event {
	CLM_E_JOINED	= 1,
	CLM_E_LEFT	= 2,
	CLM_E_SNAPSHOT	= 3,
	CLM_E_SEQ	= 4,	/* nothing new: the owner's (epoch, seq), after its last event */
};

#define CLM_HB_LEAVING	0x01	/* HB flag: the node is shutting down */

/* A member as a snapshot or a table lists it. */
struct clm_member {
	uint16_t	cm_id;
	uint64_t	cm_nid;		/* the node it is connected to */
	uint64_t	cm_stamp;	/* epoch << 32 | seq of its admission */
};

/* One frame of a DATA message. */
struct clm_frame {
	uint32_t	 cf_pseq;	/* the sender node's count (PROTOCOL.md 5.8) */
	uint16_t	 cf_src;
	uint64_t	 cf_stamp;	/* src's admission */
	uint16_t	 cf_dst;	/* a member, or MEMBER_BCAST */
	uint32_t	 cf_len;
	const uint8_t	*cf_payload;
};

/* A room's whole membership at (epoch, seq). */
struct clm_snap {
	uint32_t		cs_epoch;
	uint32_t		cs_seq;
	uint16_t		cs_last;	/* the last member id handed out, or 0 */
	uint16_t		cs_n;
	struct clm_member	cs_members[CL_MEMBERS_MAX];
};

/* One decoded message. Which fields are set depends on cl_type (clmsg.c). */
struct clm {
	uint8_t		 cl_type;
	uint8_t		 cl_key[CL_KEY_LEN];	/* the room (all but HB, FENCE) */
	uint64_t	 cl_nid;	/* the sender (FENCE: the node told it is dead) */
	uint64_t	 cl_owner;	/* ANSWER, EVENT: the owner; FENCE: the sender;
					   STATE: the winner named by a conflict */
	uint32_t	 cl_req;	/* ADMIT, ANSWER: request number; QUERY, STATE: round */
	uint32_t	 cl_epoch;	/* EVENT; STATE: the reporter's view */
	uint32_t	 cl_seq;	/* EVENT */
	uint32_t	 cl_age;	/* HB: milliseconds since this incarnation began */
	uint8_t		 cl_flags;	/* HB flags; HOLD: 1 on, 0 off; CREDIT: enum clm_credit */
	uint8_t		 cl_result;	/* ANSWER: enum clm_answer; EVENT: enum clm_event;
					   STATE: 0 ok, 1 conflict */
	uint16_t	 cl_id;		/* ANSWER, EVENT JOINED/LEFT, BYE: the member */
	uint16_t	 cl_last;	/* STATE: the reporter's last id seen */
	uint64_t	 cl_stamp;	/* ANSWER, EVENT, BYE: the member's stamp (an
					   EVENT JOINED: epoch << 32 | seq of the event) */
	uint64_t	 cl_node;	/* EVENT JOINED: the member's node */
	uint32_t	 cl_bseq;	/* CREDIT: the last pseq broadcast in the room, */
	uint32_t	 cl_useq;	/* ... and sent to the asked node alone (0: none) */
	uint8_t		 cl_namelen;	/* HB */
	char		 cl_name[CL_NAME_MAX + 1];
	uint16_t	 cl_nframes;	/* DATA: its frames (clm_data_next), */
	const uint8_t	*cl_frames;	/* checked, pointing into the input */
	size_t		 cl_frameslen;
	uint16_t	 cl_nmine;	/* STATE: the reporter's own members, */
	uint8_t		 cl_has_snap;	/* ANSWER ADMITTED, EVENT SNAPSHOT, STATE: cl_snap */
	/*
	 * The large parts last: clm_decode clears only what comes before
	 * (a message is decoded for every one received), and these hold
	 * exactly as many entries as the counts above say.
	 */
	struct clm_member cl_mine[CL_MEMBERS_MAX];	/* cm_nid: the reporter */
	struct clm_snap	 cl_snap;
};

/*
 * Decodes exactly one message of n bytes into *m (every field before
 * cl_mine cleared first, and again on failure; the arrays hold what the
 * counts say): VEIL_E_TRUNCATED, VEIL_E_VERSION, VEIL_E_TYPE,
 * VEIL_E_OVERSIZE (a count or payload over its maximum), VEIL_E_INVALID (a
 * field the spec forbids: a zero node id, a bad member id or name, a
 * repeated member), VEIL_E_TRAILING, or 0. cl_payload points into p.
 */
int	clm_decode(const uint8_t *p, size_t n, struct clm *m) VEIL_WUR;

/*
 * DATA's frames one by one: *off starts at 0. Returns 1 with the next in
 * *f (pointing into the decoded input), 0 after the last.
 */
int	clm_data_next(const struct clm *m, size_t *off, struct clm_frame *f);

/*
 * Encoders: append one message to the writer b. They check what the
 * decoder checks (so no node sends what another refuses) and return 0,
 * VEIL_E_INVALID or VEIL_E_NOSPACE.
 */
int	clm_put_hb(struct vbuf *b, uint64_t nid, uint32_t age, uint8_t flags,
	    const char *name) VEIL_WUR;
int	clm_put_fence(struct vbuf *b, uint64_t nid, uint64_t by) VEIL_WUR;
int	clm_put_admit(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    uint32_t req) VEIL_WUR;
/* snap only for CLM_A_ADMITTED (then id, stamp too); NULL otherwise. */
int	clm_put_answer(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
	    uint32_t req, uint8_t result, uint16_t id, uint64_t stamp,
	    const struct clm_snap *snap) VEIL_WUR;
/* JOINED: id, nid (its node); LEFT: id, stamp. */
int	clm_put_event(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
	    uint32_t epoch, uint32_t seq, uint8_t kind, uint16_t id, uint64_t arg) VEIL_WUR;
int	clm_put_seq(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
	    uint32_t epoch, uint32_t seq) VEIL_WUR;
int	clm_put_snapshot(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
	    const struct clm_snap *snap) VEIL_WUR;
int	clm_put_resync(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid) VEIL_WUR;
int	clm_put_query(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    uint32_t round) VEIL_WUR;
/* A conflict names winner, mine and table are NULL; otherwise table may be NULL. */
int	clm_put_state(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    uint32_t round, uint64_t winner, uint32_t epoch, uint16_t last,
	    const struct clm_member *mine, size_t nmine, const struct clm_snap *table) VEIL_WUR;
int	clm_put_bye(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    uint16_t id, uint64_t stamp) VEIL_WUR;
/*
 * A DATA message: clm_put_data_begin, then clm_put_data_frame once per
 * frame (at least once; VEIL_E_NOSPACE past CLM_MAX). clm_put_data is one
 * frame at once.
 */
int	clm_put_data_begin(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid) VEIL_WUR;
int	clm_put_data_frame(struct vbuf *b, const struct clm_frame *f) VEIL_WUR;
int	clm_put_data(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    const struct clm_frame *f) VEIL_WUR;
int	clm_put_hold(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    int on) VEIL_WUR;
/* kind: enum clm_credit. */
int	clm_put_credit(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
	    uint8_t kind, uint32_t bseq, uint32_t useq) VEIL_WUR;

/* 1 if name is a valid --node NAME (1..CL_NAME_MAX of [A-Za-z0-9_-]). */
int	clm_name_ok(const char *name, size_t len);

/*
 * The cluster key of a room: SHA-256("veil/2 cluster room" || room id).
 * Returns 0 or VEIL_E_CRYPTO.
 */
int	clm_room_key(const uint8_t id[static ROOM_ID_LEN], uint8_t key[static CL_KEY_LEN]) VEIL_WUR;

/* "veil.r." and the first 16 bytes of key in lowercase hex, NUL-terminated. */
void	clm_room_subject(const uint8_t key[static CL_KEY_LEN], char out[static CL_SUBJECT_MAX]);
/* "veil.n." and the node's name. Returns 0 or VEIL_E_INVALID (a bad name). */
int	clm_node_subject(const char *name, char out[static CL_SUBJECT_MAX]) VEIL_WUR;

#define CLM_SUBJECT_HB	"veil.hb"

#endif
