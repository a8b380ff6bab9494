/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: the cluster's messages (relayd/clmsg.c, PROTOCOL.md
 * 5.3). A message the decoder accepts must encode back to exactly the same
 * bytes (one encoding per message, and no encoder refuses what a decoder
 * takes); a refused one leaves nothing behind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clmsg.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[CLM_MAX];
static struct clm m;

static int
encode(struct vbuf *b, const struct clm *d)
{
	const struct clm_snap *snap = d->cl_has_snap ? &d->cl_snap : NULL;

	switch (d->cl_type) {
	case CLM_HB:
		return clm_put_hb(b, d->cl_nid, d->cl_age, d->cl_flags, d->cl_name);
	case CLM_FENCE:
		return clm_put_fence(b, d->cl_nid, d->cl_owner);
	case CLM_ADMIT:
		return clm_put_admit(b, d->cl_key, d->cl_nid, d->cl_req);
	case CLM_ANSWER:
		return clm_put_answer(b, d->cl_key, d->cl_owner, d->cl_req, d->cl_result, d->cl_id,
		    d->cl_stamp, snap);
	case CLM_EVENT:
		switch (d->cl_result) {
		case CLM_E_JOINED:
			return clm_put_event(b, d->cl_key, d->cl_owner, d->cl_epoch, d->cl_seq,
			    CLM_E_JOINED, d->cl_id, d->cl_node);
		case CLM_E_LEFT:
			return clm_put_event(b, d->cl_key, d->cl_owner, d->cl_epoch, d->cl_seq,
			    CLM_E_LEFT, d->cl_id, d->cl_stamp);
		case CLM_E_SNAPSHOT:
			return clm_put_snapshot(b, d->cl_key, d->cl_owner, snap);
		default:
			return clm_put_seq(b, d->cl_key, d->cl_owner, d->cl_epoch, d->cl_seq);
		}
	case CLM_RESYNC:
		return clm_put_resync(b, d->cl_key, d->cl_nid);
	case CLM_QUERY:
		return clm_put_query(b, d->cl_key, d->cl_nid, d->cl_req);
	case CLM_STATE:
		if (d->cl_result == 1)
			return clm_put_state(b, d->cl_key, d->cl_nid, d->cl_req, d->cl_owner, 0, 0,
			    NULL, 0, NULL);
		return clm_put_state(b, d->cl_key, d->cl_nid, d->cl_req, 0, d->cl_epoch,
		    d->cl_last, d->cl_mine, d->cl_nmine, snap);
	case CLM_BYE:
		return clm_put_bye(b, d->cl_key, d->cl_nid, d->cl_id, d->cl_stamp);
	case CLM_DATA: {
		struct clm_frame f;
		size_t off = 0, n = 0;
		int r;

		if ((r = clm_put_data_begin(b, d->cl_key, d->cl_nid)) != 0)
			return r;
		while (clm_data_next(d, &off, &f)) {
			if ((r = clm_put_data_frame(b, &f)) != 0)
				return r;
			n++;
		}
		return n == d->cl_nframes ? 0 : VEIL_E_LENGTH;
	}
	case CLM_HOLD:
		return clm_put_hold(b, d->cl_key, d->cl_nid, d->cl_flags);
	case CLM_CREDIT:
		return clm_put_credit(b, d->cl_key, d->cl_nid, d->cl_flags, d->cl_bseq, d->cl_useq);
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vbuf b;

	if (clm_decode(data, size, &m) != 0) {
		if (m.cl_type != 0 || m.cl_nid != 0 || m.cl_frames != NULL || m.cl_has_snap)
			abort();	/* nothing left behind */
		return 0;
	}
	vbuf_writer(&b, out, sizeof(out));
	if (encode(&b, &m) != 0 || b.vb_len != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
