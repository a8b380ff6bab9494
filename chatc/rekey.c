/* SPDX-License-Identifier: ISC */
/*
 * When chatc asks keyd for a rekey, and the echoes a rekey leaves.
 *
 * keyd flags SEAL_REKEY_DUE when a rekey is due, and again after every
 * VS_REKEY_RETRY-th message while our REKEY_INIT is unanswered, so that a
 * REKEY_INIT the relay dropped is sent again (PROTOCOL.md 2.4). That counts
 * messages, not time: in a burst chatc seals hundreds of lines (pipelined)
 * within one round trip, and answering every flag sent the peer a pile of
 * REKEY_INITs it had no chance to answer yet. The peer answers each copy
 * with the same REKEY_RESP bytes (as it must: it cannot tell a copy from a
 * lost original), and every copy after the first reaches us once we are in
 * the new epoch: refused as "message from an old epoch", a warning about a
 * peer who had sent nothing. So:
 *
 *  - a REKEY_INIT is sent again only once REKEY_RESEND_MS have passed since
 *    the last one (a round trip, with margin): a burst asks once;
 *  - the copies sent anyway (a slow peer) are counted, and when the
 *    exchange completes that many refusals of an old epoch's message from
 *    that peer, within REKEY_RESEND_MS, are its answers to them arriving
 *    late: expected, not shown. Any further one is a warning as before, so a
 *    relay replaying old messages is still reported (at most as many as we
 *    sent copies, right after a rekey, go unsaid; all are refused).
 */
#include "client.h"

int
rekey_may_send(const struct peer *p, int kind, int64_t now)
{
	if (p->pe_rekey_at == 0 || p->pe_epoch != p->pe_rekey_epoch)
		return 1;	/* no exchange of ours under way */
	/* /rekey is the user's: always, but counted like any copy. */
	return kind == KX_REKEY_CMD || now - p->pe_rekey_at >= REKEY_RESEND_MS;
}

void
rekey_sent(struct peer *p, int64_t now)
{
	if (p->pe_rekey_at != 0 && p->pe_epoch == p->pe_rekey_epoch)
		p->pe_rekey_copies++;
	else
		p->pe_rekey_copies = 0;
	p->pe_rekey_at = now;
	p->pe_rekey_epoch = p->pe_epoch;
}

void
rekey_epoch(struct peer *p, int64_t now)
{
	if (p->pe_rekey_at != 0 && p->pe_epoch != p->pe_rekey_epoch) {
		p->pe_rekey_echoes = p->pe_rekey_copies;
		p->pe_rekey_echo_end = now + REKEY_RESEND_MS;
		p->pe_rekey_copies = 0;
		p->pe_rekey_at = 0;
	}
}

int
rekey_echo(struct peer *p, int64_t now)
{
	if (p->pe_rekey_echoes == 0 || now > p->pe_rekey_echo_end)
		return 0;
	p->pe_rekey_echoes--;
	return 1;
}

void
rekey_reset(struct peer *p)
{
	p->pe_rekey_at = 0;
	p->pe_rekey_epoch = 0;
	p->pe_rekey_copies = 0;
	p->pe_rekey_echoes = 0;
	p->pe_rekey_echo_end = 0;
}
