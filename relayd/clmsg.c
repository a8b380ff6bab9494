/* SPDX-License-Identifier: ISC */
/*
 * Cluster messages (clmsg.h, PROTOCOL.md 5.3). The decoder reads the
 * version and type first, then the fields in order, each bounded before
 * use; counts are checked against CL_MEMBERS_MAX before any member is
 * read, and nothing is allocated from a count.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>

#include "clmsg.h"
#include "err.h"

static const char clm_room_label[] = "veil/2 cluster room";

int
clm_name_ok(const char *name, size_t len)
{
	size_t i;

	if (name == NULL || len == 0 || len > CL_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
clm_member_ok(uint16_t id)
{
	return id != MEMBER_NONE && id <= MEMBER_MAX;
}

/* Header: version, type, and the room key for the types that name a room. */
static int
clm_put_head(struct vbuf *b, uint8_t type, const uint8_t *key)
{
	int r;

	if ((r = vbuf_put_u8(b, CLM_VERSION)) != 0 || (r = vbuf_put_u8(b, type)) != 0)
		return r;
	return key != NULL ? vbuf_put_bytes(b, key, CL_KEY_LEN) : 0;
}

static int
clm_snap_check(const struct clm_snap *s)
{
	size_t i, j;

	if (s->cs_epoch == 0 || s->cs_n > CL_MEMBERS_MAX ||
	    (s->cs_last != 0 && !clm_member_ok(s->cs_last)))
		return VEIL_E_INVALID;
	for (i = 0; i < s->cs_n; i++) {
		const struct clm_member *m = &s->cs_members[i];

		if (!clm_member_ok(m->cm_id) || m->cm_nid == 0 || m->cm_stamp == 0)
			return VEIL_E_INVALID;
		for (j = 0; j < i; j++)
			if (s->cs_members[j].cm_id == m->cm_id)
				return VEIL_E_INVALID;
	}
	return 0;
}

/* The members of a snapshot or table: u8 n, n x (id, nid, stamp). */
static int
clm_put_members(struct vbuf *b, const struct clm_snap *s)
{
	size_t i;
	int r;

	if ((r = vbuf_put_u16(b, s->cs_last)) != 0 ||
	    (r = vbuf_put_u8(b, (uint8_t)s->cs_n)) != 0)
		return r;
	for (i = 0; i < s->cs_n; i++) {
		if ((r = vbuf_put_u16(b, s->cs_members[i].cm_id)) != 0 ||
		    (r = vbuf_put_u64(b, s->cs_members[i].cm_nid)) != 0 ||
		    (r = vbuf_put_u64(b, s->cs_members[i].cm_stamp)) != 0)
			return r;
	}
	return 0;
}

static int
clm_get_members(struct vbuf *b, struct clm_snap *s)
{
	uint8_t n;
	size_t i;
	int r;

	if ((r = vbuf_get_u16(b, &s->cs_last)) != 0 || (r = vbuf_get_u8(b, &n)) != 0)
		return r;
	if (n > CL_MEMBERS_MAX)
		return VEIL_E_OVERSIZE;
	/* What is left must hold them all before one is read. */
	if (vbuf_left(b) / 18 < n)
		return VEIL_E_TRUNCATED;
	s->cs_n = n;
	for (i = 0; i < n; i++) {
		if ((r = vbuf_get_u16(b, &s->cs_members[i].cm_id)) != 0 ||
		    (r = vbuf_get_u64(b, &s->cs_members[i].cm_nid)) != 0 ||
		    (r = vbuf_get_u64(b, &s->cs_members[i].cm_stamp)) != 0)
			return r;
	}
	return clm_snap_check(s);
}

int
clm_put_hb(struct vbuf *b, uint64_t nid, uint32_t age, uint8_t flags, const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	int r;

	if (nid == 0 || (flags & ~CLM_HB_LEAVING) != 0 || !clm_name_ok(name, len))
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_HB, NULL)) != 0 || (r = vbuf_put_u64(b, nid)) != 0 ||
	    (r = vbuf_put_u32(b, age)) != 0 || (r = vbuf_put_u8(b, flags)) != 0)
		return r;
	return vbuf_put_str8(b, name, len);
}

int
clm_put_fence(struct vbuf *b, uint64_t nid, uint64_t by)
{
	int r;

	if (nid == 0 || by == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_FENCE, NULL)) != 0 || (r = vbuf_put_u64(b, nid)) != 0)
		return r;
	return vbuf_put_u64(b, by);
}

int
clm_put_admit(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid, uint32_t req)
{
	int r;

	if (nid == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_ADMIT, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0)
		return r;
	return vbuf_put_u32(b, req);
}

int
clm_put_answer(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
    uint32_t req, uint8_t result, uint16_t id, uint64_t stamp, const struct clm_snap *snap)
{
	int r;

	if (owner == 0 || result > CLM_A_RETRY ||
	    (result == CLM_A_ADMITTED && (snap == NULL || !clm_member_ok(id) || stamp == 0 ||
	    clm_snap_check(snap) != 0)))
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_ANSWER, key)) != 0 || (r = vbuf_put_u64(b, owner)) != 0 ||
	    (r = vbuf_put_u32(b, req)) != 0 || (r = vbuf_put_u8(b, result)) != 0)
		return r;
	if (result != CLM_A_ADMITTED)
		return 0;
	if ((r = vbuf_put_u16(b, id)) != 0 || (r = vbuf_put_u64(b, stamp)) != 0 ||
	    (r = vbuf_put_u32(b, snap->cs_epoch)) != 0 || (r = vbuf_put_u32(b, snap->cs_seq)) != 0)
		return r;
	return clm_put_members(b, snap);
}

int
clm_put_event(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
    uint32_t epoch, uint32_t seq, uint8_t kind, uint16_t id, uint64_t arg)
{
	int r;

	if (owner == 0 || epoch == 0 || (kind != CLM_E_JOINED && kind != CLM_E_LEFT) ||
	    !clm_member_ok(id) || arg == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_EVENT, key)) != 0 || (r = vbuf_put_u64(b, owner)) != 0 ||
	    (r = vbuf_put_u32(b, epoch)) != 0 || (r = vbuf_put_u32(b, seq)) != 0 ||
	    (r = vbuf_put_u8(b, kind)) != 0 || (r = vbuf_put_u16(b, id)) != 0)
		return r;
	return vbuf_put_u64(b, arg);
}

int
clm_put_seq(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner, uint32_t epoch,
    uint32_t seq)
{
	int r;

	if (owner == 0 || epoch == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_EVENT, key)) != 0 || (r = vbuf_put_u64(b, owner)) != 0 ||
	    (r = vbuf_put_u32(b, epoch)) != 0 || (r = vbuf_put_u32(b, seq)) != 0)
		return r;
	return vbuf_put_u8(b, CLM_E_SEQ);
}

int
clm_put_snapshot(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t owner,
    const struct clm_snap *snap)
{
	int r;

	if (owner == 0 || clm_snap_check(snap) != 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_EVENT, key)) != 0 || (r = vbuf_put_u64(b, owner)) != 0 ||
	    (r = vbuf_put_u32(b, snap->cs_epoch)) != 0 ||
	    (r = vbuf_put_u32(b, snap->cs_seq)) != 0 ||
	    (r = vbuf_put_u8(b, CLM_E_SNAPSHOT)) != 0)
		return r;
	return clm_put_members(b, snap);
}

int
clm_put_resync(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid)
{
	int r;

	if (nid == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_RESYNC, key)) != 0)
		return r;
	return vbuf_put_u64(b, nid);
}

int
clm_put_query(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
    uint32_t round)
{
	int r;

	if (nid == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_QUERY, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0)
		return r;
	return vbuf_put_u32(b, round);
}

int
clm_put_state(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
    uint32_t round, uint64_t winner, uint32_t epoch, uint16_t last,
    const struct clm_member *mine, size_t nmine, const struct clm_snap *table)
{
	size_t i, j;
	int r;

	if (nid == 0 || nmine > CL_MEMBERS_MAX || (nmine > 0 && mine == NULL) ||
	    (last != 0 && !clm_member_ok(last)) || (table != NULL && clm_snap_check(table) != 0))
		return VEIL_E_INVALID;
	for (i = 0; i < nmine; i++) {
		if (!clm_member_ok(mine[i].cm_id) || mine[i].cm_stamp == 0)
			return VEIL_E_INVALID;
		for (j = 0; j < i; j++)
			if (mine[j].cm_id == mine[i].cm_id)
				return VEIL_E_INVALID;
	}
	if ((r = clm_put_head(b, CLM_STATE, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0 ||
	    (r = vbuf_put_u32(b, round)) != 0 || (r = vbuf_put_u8(b, winner != 0)) != 0)
		return r;
	if (winner != 0)
		return vbuf_put_u64(b, winner);
	if ((r = vbuf_put_u32(b, epoch)) != 0 || (r = vbuf_put_u16(b, last)) != 0 ||
	    (r = vbuf_put_u8(b, (uint8_t)nmine)) != 0)
		return r;
	for (i = 0; i < nmine; i++)
		if ((r = vbuf_put_u16(b, mine[i].cm_id)) != 0 ||
		    (r = vbuf_put_u64(b, mine[i].cm_stamp)) != 0)
			return r;
	if ((r = vbuf_put_u8(b, table != NULL)) != 0 || table == NULL)
		return r;
	if ((r = vbuf_put_u32(b, table->cs_epoch)) != 0 ||
	    (r = vbuf_put_u32(b, table->cs_seq)) != 0)
		return r;
	return clm_put_members(b, table);
}

int
clm_put_bye(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid, uint16_t id,
    uint64_t stamp)
{
	int r;

	if (nid == 0 || !clm_member_ok(id) || stamp == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_BYE, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0 ||
	    (r = vbuf_put_u16(b, id)) != 0)
		return r;
	return vbuf_put_u64(b, stamp);
}

int
clm_put_data_begin(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid)
{
	int r;

	if (nid == 0 || b->vb_len != 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_DATA, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0)
		return r;
	return vbuf_put_u16(b, 0);
}

static int
clm_frame_ok(const struct clm_frame *f)
{
	return clm_member_ok(f->cf_src) && f->cf_stamp != 0 &&
	    (clm_member_ok(f->cf_dst) || f->cf_dst == MEMBER_BCAST) && f->cf_len > 0 &&
	    f->cf_len <= FRAME_MAX_LIMIT;
}

int
clm_put_data_frame(struct vbuf *b, const struct clm_frame *f)
{
	uint8_t *n = b->vb_wr + CLM_HDR_DATA - 2;
	int r;

	if (b->vb_len < CLM_HDR_DATA || b->vb_wr[1] != CLM_DATA || !clm_frame_ok(f) ||
	    veil_get16(n) == 0xffff)
		return VEIL_E_INVALID;
	if (b->vb_len - CLM_HDR_DATA + CLM_REC + (size_t)f->cf_len > CLM_DATA_MAX ||
	    b->vb_cap - b->vb_len < CLM_REC + (size_t)f->cf_len)
		return VEIL_E_NOSPACE;
	if ((r = vbuf_put_u32(b, f->cf_pseq)) != 0 || (r = vbuf_put_u16(b, f->cf_src)) != 0 ||
	    (r = vbuf_put_u64(b, f->cf_stamp)) != 0 || (r = vbuf_put_u16(b, f->cf_dst)) != 0 ||
	    (r = vbuf_put_u32(b, f->cf_len)) != 0 ||
	    (r = vbuf_put_bytes(b, f->cf_payload, f->cf_len)) != 0)
		return r;
	veil_put16(n, (uint16_t)(veil_get16(n) + 1));
	return 0;
}

int
clm_put_data(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid,
    const struct clm_frame *f)
{
	int r;

	if ((r = clm_put_data_begin(b, key, nid)) != 0)
		return r;
	return clm_put_data_frame(b, f);
}

/* Reads one frame record. */
static int
clm_get_frame(struct vbuf *b, struct clm_frame *f)
{
	int r;

	if ((r = vbuf_get_u32(b, &f->cf_pseq)) != 0 || (r = vbuf_get_u16(b, &f->cf_src)) != 0 ||
	    (r = vbuf_get_u64(b, &f->cf_stamp)) != 0 || (r = vbuf_get_u16(b, &f->cf_dst)) != 0 ||
	    (r = vbuf_get_u32(b, &f->cf_len)) != 0)
		return r;
	/* The length against its maximum first, then against what is left. */
	if (f->cf_len > FRAME_MAX_LIMIT)
		return VEIL_E_OVERSIZE;
	if ((r = vbuf_get_ref(b, &f->cf_payload, f->cf_len)) != 0)
		return r;
	return clm_frame_ok(f) ? 0 : VEIL_E_INVALID;
}

int
clm_data_next(const struct clm *m, size_t *off, struct clm_frame *f)
{
	struct vbuf b;

	memset(f, 0, sizeof(*f));
	if (m->cl_type != CLM_DATA || *off >= m->cl_frameslen)
		return 0;
	vbuf_reader(&b, m->cl_frames + *off, m->cl_frameslen - *off);
	if (clm_get_frame(&b, f) != 0)
		return 0;	/* cannot happen: clm_decode checked them all */
	*off += b.vb_off;
	return 1;
}

int
clm_put_hold(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid, int on)
{
	int r;

	if (nid == 0)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_HOLD, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0)
		return r;
	return vbuf_put_u8(b, on ? 1 : 0);
}

int
clm_put_credit(struct vbuf *b, const uint8_t key[static CL_KEY_LEN], uint64_t nid, uint8_t kind,
    uint32_t bseq, uint32_t useq)
{
	int r;

	if (nid == 0 || kind > CLM_C_ANSWER)
		return VEIL_E_INVALID;
	if ((r = clm_put_head(b, CLM_CREDIT, key)) != 0 || (r = vbuf_put_u64(b, nid)) != 0 ||
	    (r = vbuf_put_u8(b, kind)) != 0 || (r = vbuf_put_u32(b, bseq)) != 0)
		return r;
	return vbuf_put_u32(b, useq);
}

/* The fields after the room key, per type. */
static int
clm_get_body(struct vbuf *b, struct clm *m)
{
	const uint8_t *p;
	size_t n, i, j;
	uint8_t u8, has;
	int r;

	switch (m->cl_type) {
	case CLM_ADMIT:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u32(b, &m->cl_req)) != 0)
			return r;
		return m->cl_nid != 0 ? 0 : VEIL_E_INVALID;
	case CLM_ANSWER:
		if ((r = vbuf_get_u64(b, &m->cl_owner)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_req)) != 0 ||
		    (r = vbuf_get_u8(b, &m->cl_result)) != 0)
			return r;
		if (m->cl_owner == 0 || m->cl_result > CLM_A_RETRY)
			return VEIL_E_INVALID;
		if (m->cl_result != CLM_A_ADMITTED)
			return 0;
		if ((r = vbuf_get_u16(b, &m->cl_id)) != 0 ||
		    (r = vbuf_get_u64(b, &m->cl_stamp)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_snap.cs_epoch)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_snap.cs_seq)) != 0 ||
		    (r = clm_get_members(b, &m->cl_snap)) != 0)
			return r;
		m->cl_has_snap = 1;
		return clm_member_ok(m->cl_id) && m->cl_stamp != 0 ? 0 : VEIL_E_INVALID;
	case CLM_EVENT:
		if ((r = vbuf_get_u64(b, &m->cl_owner)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_epoch)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_seq)) != 0 ||
		    (r = vbuf_get_u8(b, &m->cl_result)) != 0)
			return r;
		if (m->cl_owner == 0 || m->cl_epoch == 0)
			return VEIL_E_INVALID;
		if (m->cl_result == CLM_E_SNAPSHOT) {
			m->cl_snap.cs_epoch = m->cl_epoch;
			m->cl_snap.cs_seq = m->cl_seq;
			m->cl_has_snap = 1;
			return clm_get_members(b, &m->cl_snap);
		}
		if (m->cl_result == CLM_E_SEQ)
			return 0;
		if (m->cl_result != CLM_E_JOINED && m->cl_result != CLM_E_LEFT)
			return VEIL_E_INVALID;
		if ((r = vbuf_get_u16(b, &m->cl_id)) != 0 || (r = vbuf_get_u64(b, &m->cl_stamp)) != 0)
			return r;
		if (!clm_member_ok(m->cl_id) || m->cl_stamp == 0)
			return VEIL_E_INVALID;
		if (m->cl_result == CLM_E_JOINED) {
			m->cl_node = m->cl_stamp;
			m->cl_stamp = (uint64_t)m->cl_epoch << 32 | m->cl_seq;
		}
		return 0;
	case CLM_RESYNC:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0)
			return r;
		return m->cl_nid != 0 ? 0 : VEIL_E_INVALID;
	case CLM_QUERY:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u32(b, &m->cl_req)) != 0)
			return r;
		return m->cl_nid != 0 ? 0 : VEIL_E_INVALID;
	case CLM_STATE:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_req)) != 0 ||
		    (r = vbuf_get_u8(b, &m->cl_result)) != 0)
			return r;
		if (m->cl_nid == 0 || m->cl_result > 1)
			return VEIL_E_INVALID;
		if (m->cl_result == 1) {
			if ((r = vbuf_get_u64(b, &m->cl_owner)) != 0)
				return r;
			return m->cl_owner != 0 ? 0 : VEIL_E_INVALID;
		}
		if ((r = vbuf_get_u32(b, &m->cl_epoch)) != 0 ||
		    (r = vbuf_get_u16(b, &m->cl_last)) != 0 || (r = vbuf_get_u8(b, &u8)) != 0)
			return r;
		if (m->cl_last != 0 && !clm_member_ok(m->cl_last))
			return VEIL_E_INVALID;
		if (u8 > CL_MEMBERS_MAX)
			return VEIL_E_OVERSIZE;
		if (vbuf_left(b) / 10 < u8)
			return VEIL_E_TRUNCATED;
		m->cl_nmine = u8;
		for (i = 0; i < u8; i++) {
			struct clm_member *cm = &m->cl_mine[i];

			if ((r = vbuf_get_u16(b, &cm->cm_id)) != 0 ||
			    (r = vbuf_get_u64(b, &cm->cm_stamp)) != 0)
				return r;
			cm->cm_nid = m->cl_nid;
			if (!clm_member_ok(cm->cm_id) || cm->cm_stamp == 0)
				return VEIL_E_INVALID;
			for (j = 0; j < i; j++)
				if (m->cl_mine[j].cm_id == cm->cm_id)
					return VEIL_E_INVALID;
		}
		if ((r = vbuf_get_u8(b, &has)) != 0)
			return r;
		if (has > 1)
			return VEIL_E_INVALID;
		if (has == 0)
			return 0;
		if ((r = vbuf_get_u32(b, &m->cl_snap.cs_epoch)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_snap.cs_seq)) != 0 ||
		    (r = clm_get_members(b, &m->cl_snap)) != 0)
			return r;
		m->cl_has_snap = 1;
		return 0;
	case CLM_BYE:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u16(b, &m->cl_id)) != 0 ||
		    (r = vbuf_get_u64(b, &m->cl_stamp)) != 0)
			return r;
		return m->cl_nid != 0 && clm_member_ok(m->cl_id) && m->cl_stamp != 0 ?
		    0 : VEIL_E_INVALID;
	case CLM_DATA: {
		struct clm_frame f;
		uint16_t k;

		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 ||
		    (r = vbuf_get_u16(b, &m->cl_nframes)) != 0)
			return r;
		if (m->cl_nid == 0 || m->cl_nframes == 0)
			return VEIL_E_INVALID;
		if (vbuf_left(b) > CLM_DATA_MAX)
			return VEIL_E_OVERSIZE;
		/* Every frame checked now: clm_data_next cannot fail later. */
		m->cl_frames = b->vb_rd + b->vb_off;
		n = b->vb_off;
		for (k = 0; k < m->cl_nframes; k++)
			if ((r = clm_get_frame(b, &f)) != 0)
				return r;
		m->cl_frameslen = b->vb_off - n;
		(void)p;
		return 0;
	}
	case CLM_HOLD:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u8(b, &m->cl_flags)) != 0)
			return r;
		return m->cl_nid != 0 && m->cl_flags <= 1 ? 0 : VEIL_E_INVALID;
	case CLM_CREDIT:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u8(b, &m->cl_flags)) != 0 ||
		    (r = vbuf_get_u32(b, &m->cl_bseq)) != 0 || (r = vbuf_get_u32(b, &m->cl_useq)) != 0)
			return r;
		return m->cl_nid != 0 && m->cl_flags <= CLM_C_ANSWER ? 0 : VEIL_E_INVALID;
	default:
		return VEIL_E_TYPE;
	}
}

static int
clm_get(struct vbuf *b, struct clm *m)
{
	const uint8_t *name;
	uint8_t ver;
	size_t n;
	int r;

	if ((r = vbuf_get_u8(b, &ver)) != 0 || (r = vbuf_get_u8(b, &m->cl_type)) != 0)
		return r;
	if (ver != CLM_VERSION)
		return VEIL_E_VERSION;
	switch (m->cl_type) {
	case CLM_HB:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u32(b, &m->cl_age)) != 0 ||
		    (r = vbuf_get_u8(b, &m->cl_flags)) != 0 ||
		    (r = vbuf_get_str8(b, &name, &n, CL_NAME_MAX)) != 0)
			return r;
		if (m->cl_nid == 0 || (m->cl_flags & ~CLM_HB_LEAVING) != 0 ||
		    !clm_name_ok((const char *)name, n))
			return VEIL_E_INVALID;
		memcpy(m->cl_name, name, n);
		m->cl_name[n] = '\0';
		m->cl_namelen = (uint8_t)n;
		return 0;
	case CLM_FENCE:
		if ((r = vbuf_get_u64(b, &m->cl_nid)) != 0 || (r = vbuf_get_u64(b, &m->cl_owner)) != 0)
			return r;
		return m->cl_nid != 0 && m->cl_owner != 0 ? 0 : VEIL_E_INVALID;
	case CLM_ADMIT: case CLM_ANSWER: case CLM_EVENT: case CLM_RESYNC: case CLM_QUERY:
	case CLM_STATE: case CLM_BYE: case CLM_DATA: case CLM_HOLD: case CLM_CREDIT:
		if ((r = vbuf_get_bytes(b, m->cl_key, CL_KEY_LEN)) != 0)
			return r;
		return clm_get_body(b, m);
	default:
		return VEIL_E_TYPE;
	}
}

int
clm_decode(const uint8_t *p, size_t n, struct clm *m)
{
	struct vbuf b;
	int r;

	memset(m, 0, offsetof(struct clm, cl_mine));
	if (n > CLM_MAX)
		return VEIL_E_OVERSIZE;	/* only DATA can be long, and never this long */
	vbuf_reader(&b, p, n);
	if ((r = clm_get(&b, m)) == 0)
		r = vbuf_end(&b);
	if (r != 0)
		memset(m, 0, offsetof(struct clm, cl_mine));
	return r;
}

int
clm_room_key(const uint8_t id[static ROOM_ID_LEN], uint8_t key[static CL_KEY_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, clm_room_label, sizeof(clm_room_label) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, id, ROOM_ID_LEN) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == CL_KEY_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(key, 0, CL_KEY_LEN);
	return ok ? 0 : VEIL_E_CRYPTO;
}

void
clm_room_subject(const uint8_t key[static CL_KEY_LEN], char out[static CL_SUBJECT_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o;

	memcpy(out, "veil.r.", 7);
	o = 7;
	for (i = 0; i < 16; i++) {
		out[o++] = hex[key[i] >> 4];
		out[o++] = hex[key[i] & 0x0f];
	}
	out[o] = '\0';
}

int
clm_node_subject(const char *name, char out[static CL_SUBJECT_MAX])
{
	size_t len = name != NULL ? strlen(name) : 0;

	out[0] = '\0';
	if (!clm_name_ok(name, len))
		return VEIL_E_INVALID;
	memcpy(out, "veil.n.", 7);
	memcpy(out + 7, name, len + 1);
	return 0;
}
