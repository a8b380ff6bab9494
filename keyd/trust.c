/* SPDX-License-Identifier: ISC */
/*
 * What a peer's proven identity is trusted as (PROTOCOL.md 4, "Trust"). Pins
 * are keyed by identity key; a nickname is only a label, scoped to the room
 * it was met in, except for entries the user marked verified (keyd --trust),
 * which hold in every room. The rules, first that applies:
 *
 *   1. --expect NICK=FP for the claimed nick: the fingerprint matches,
 *      EXPECTED; else REFUSED (EXPECT).
 *   2. our own key: VERIFIED, SELF (another chatc of ours).
 *   3. the key is verified (or an "fp:" entry names its fingerprint):
 *      VERIFIED, KNOWN_AS when it is verified under another label.
 *   4. the nick is ours: REFUSED (OWN_NAME).
 *   5. the nick labels a verified entry of another key, or a pinned one of
 *      another key in this room: REFUSED (PIN): a changed identity is a
 *      hard refusal, never a silent re-pin.
 *   6. the key is pinned (in any room): PINNED, KNOWN_AS when its label
 *      differs; its label is added for this room if it has none here.
 *   7. otherwise NEW, with NAME_ELSEWHERE (the nick labels another key in
 *      another room) and CONTESTED (the nick labels another key met here
 *      but not pinned); written as pinned when the budget allows and the
 *      name is not contested, else kept provisional in memory (NOT_PINNED).
 *
 * Nothing here is ever asked about an identity that has not proven its key:
 * keyd's dispatch calls it only once the session engine has verified the
 * peer's signature. A refusal writes nothing. Before the initiator's HS_FIN
 * goes out, the decision costs the same whatever it decides.
 *
 * The budget (KEYD_PIN_BURST pins at once, one more per KEYD_PIN_EVERY
 * seconds, and never past KEYD_PINS_ENTRIES) bounds what a member who
 * rejoins with ever new keys can write: the store stays bounded, and the
 * contacts that find no budget still get their sessions (provisional, LRU of
 * KEYD_PROV_MAX). A contested name is pinned to neither key, so a flood of
 * provisional keys cannot take a name from an honest one either.
 */
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

/* What one pass over the entries found about the claim. */
struct trust_scan {
	const struct keyd_pin	*ts_verified;	/* the key's verified entry (or fp:) */
	const struct keyd_pin	*ts_room;	/* the key's pinned entry in this room */
	const struct keyd_pin	*ts_any;	/* the key's first pinned entry */
	const struct keyd_pin	*ts_taken_ver;	/* the nick, verified for another key */
	const struct keyd_pin	*ts_taken_room;	/* the nick, pinned here for another key */
	const struct keyd_pin	*ts_elsewhere;	/* the nick, pinned elsewhere for another */
	int			 ts_byfpr;	/* ts_verified is an fp: entry */
};

static int
trust_nick_is(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void
trust_scan(const struct keyd_pins *kp, const struct keyd_claim *cl, struct trust_scan *ts)
{
	const struct keyd_pin *e;
	int same, named, here;
	size_t i;

	memset(ts, 0, sizeof(*ts));
	for (i = 0; i < kp->kp_n; i++) {
		e = &kp->kp_ent[i];
		/* Public values: no need for constant-time comparisons. */
		same = e->pn_byfpr ? memcmp(e->pn_fpr, cl->cl_fpr, FPR_LEN) == 0 :
		    memcmp(e->pn_key, cl->cl_key, ED25519_PUB_LEN) == 0;
		named = trust_nick_is(e->pn_nick, e->pn_nicklen, cl->cl_nick, cl->cl_nicklen);
		here = !e->pn_anyroom && memcmp(e->pn_room, cl->cl_room, ROOM_ID_LEN) == 0;
		if (same && e->pn_status == PIN_VERIFIED) {
			if (ts->ts_verified == NULL || (ts->ts_byfpr && !e->pn_byfpr)) {
				ts->ts_verified = e;
				ts->ts_byfpr = e->pn_byfpr;
			}
		} else if (same) {
			if (here && ts->ts_room == NULL)
				ts->ts_room = e;
			if (ts->ts_any == NULL)
				ts->ts_any = e;
		} else if (named && e->pn_status == PIN_VERIFIED) {
			if (ts->ts_taken_ver == NULL)
				ts->ts_taken_ver = e;
		} else if (named && here) {
			if (ts->ts_taken_room == NULL)
				ts->ts_taken_room = e;
		} else if (named && ts->ts_elsewhere == NULL)
			ts->ts_elsewhere = e;
	}
}

/* ---- provisional contacts (memory only) ---- */

/* The provisional contact of another key labelled nick in this room, or NULL. */
static const struct keyd_prov *
prov_contested(const struct keyd_pins *kp, const struct keyd_claim *cl)
{
	const struct keyd_prov *pv;
	size_t i;

	for (i = 0; i < KEYD_PROV_MAX; i++) {
		pv = &kp->kp_prov[i];
		if (pv->pv_used != 0 &&
		    memcmp(pv->pv_room, cl->cl_room, ROOM_ID_LEN) == 0 &&
		    trust_nick_is(pv->pv_nick, pv->pv_nicklen, cl->cl_nick, cl->cl_nicklen) &&
		    memcmp(pv->pv_key, cl->cl_key, ED25519_PUB_LEN) != 0)
			return pv;
	}
	return NULL;
}

/* Remembers (key, nick, room), replacing the least recently used slot. */
static void
prov_put(struct keyd_pins *kp, const struct keyd_claim *cl)
{
	struct keyd_prov *pv, *best = NULL;
	size_t i;

	for (i = 0; i < KEYD_PROV_MAX; i++) {
		pv = &kp->kp_prov[i];
		if (pv->pv_used != 0 && memcmp(pv->pv_room, cl->cl_room, ROOM_ID_LEN) == 0 &&
		    memcmp(pv->pv_key, cl->cl_key, ED25519_PUB_LEN) == 0) {
			best = pv;
			break;
		}
		if (best == NULL || pv->pv_used < best->pv_used)
			best = pv;
	}
	memcpy(best->pv_key, cl->cl_key, ED25519_PUB_LEN);
	memcpy(best->pv_room, cl->cl_room, ROOM_ID_LEN);
	memcpy(best->pv_nick, cl->cl_nick, cl->cl_nicklen);
	best->pv_nicklen = cl->cl_nicklen;
	best->pv_used = ++kp->kp_prov_tick;
}

/* The key is pinned now: its provisional record in this room goes. */
static void
prov_drop(struct keyd_pins *kp, const struct keyd_claim *cl)
{
	struct keyd_prov *pv;
	size_t i;

	for (i = 0; i < KEYD_PROV_MAX; i++) {
		pv = &kp->kp_prov[i];
		if (pv->pv_used != 0 && memcmp(pv->pv_room, cl->cl_room, ROOM_ID_LEN) == 0 &&
		    memcmp(pv->pv_key, cl->cl_key, ED25519_PUB_LEN) == 0)
			memset(pv, 0, sizeof(*pv));
	}
}

/* ---- the budget ---- */

/*
 * One pin from the budget, if it has one and the store has room: a token
 * bucket of KEYD_PIN_BURST, one token more every KEYD_PIN_EVERY seconds.
 */
static int
budget_take(struct keyd_pins *kp, uint64_t now)
{
	uint64_t k;

	if (!kp->kp_budget_set) {
		kp->kp_tokens = KEYD_PIN_BURST;
		kp->kp_refill = now;
		kp->kp_budget_set = 1;
	}
	if (now > kp->kp_refill && (k = (now - kp->kp_refill) / KEYD_PIN_EVERY) > 0) {
		kp->kp_tokens = k >= KEYD_PIN_BURST ? KEYD_PIN_BURST :
		    kp->kp_tokens + (unsigned int)k > KEYD_PIN_BURST ? KEYD_PIN_BURST :
		    kp->kp_tokens + (unsigned int)k;
		kp->kp_refill += k * KEYD_PIN_EVERY;
	}
	if (kp->kp_n >= KEYD_PINS_ENTRIES || kp->kp_full || kp->kp_tokens == 0)
		return 0;
	kp->kp_tokens--;
	return 1;
}

/* ---- writes a decision implies ---- */

static void
trust_entry(struct keyd_pin *e, const struct keyd_claim *cl, int64_t since)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->pn_key, cl->cl_key, ED25519_PUB_LEN);
	e->pn_status = PIN_PINNED;
	memcpy(e->pn_nick, cl->cl_nick, cl->cl_nicklen);
	e->pn_nicklen = cl->cl_nicklen;
	memcpy(e->pn_room, cl->cl_room, ROOM_ID_LEN);
	e->pn_since = since;
}

/*
 * Records a key that is not refused and not verified: its label for this
 * room when it is pinned elsewhere, or a first pin, as the budget allows;
 * else a provisional record (*notpinned).
 */
static int
trust_record(struct keyd_pins *kp, const struct keyd_claim *cl, const struct trust_scan *ts,
    int contested, uint64_t now, int64_t wall, int *notpinned)
{
	struct keyd_pin e;
	int r;

	*notpinned = 0;
	if (ts->ts_room != NULL)
		return 0;
	if (contested || !budget_take(kp, now)) {
		/* A key pinned elsewhere keeps that; only a first contact is at stake. */
		if (ts->ts_any == NULL) {
			prov_put(kp, cl);
			*notpinned = 1;
		}
		return 0;
	}
	trust_entry(&e, cl, ts->ts_any != NULL ? ts->ts_any->pn_since : wall);
	if ((r = keyd_pins_append(kp, &e)) != 0)
		return r;
	prov_drop(kp, cl);
	return 0;
}

/* keyd_pins_rewrite: an fp: entry of this fingerprint becomes the key's. */
static enum keyd_pin_edit
trust_fp_to_key(void *arg, const struct keyd_pin *e, struct keyd_pin *out)
{
	const struct keyd_claim *cl = arg;

	if (!e->pn_byfpr || memcmp(e->pn_fpr, cl->cl_fpr, FPR_LEN) != 0)
		return PIN_KEEP;
	*out = *e;
	out->pn_byfpr = 0;
	memset(out->pn_fpr, 0, FPR_LEN);
	memcpy(out->pn_key, cl->cl_key, ED25519_PUB_LEN);
	return PIN_REPLACE;
}

static void
trust_label(struct keyd_verdict *v, const struct keyd_pin *e, const struct keyd_claim *cl)
{
	if (trust_nick_is(e->pn_nick, e->pn_nicklen, cl->cl_nick, cl->cl_nicklen))
		return;
	v->kv_flags |= TF_KNOWN_AS;
	memcpy(v->kv_label, e->pn_nick, e->pn_nicklen);
	v->kv_labellen = e->pn_nicklen;
}

int
keyd_trust_decide(struct keyd_pins *kp, const struct keyd_claim *cl, int flags,
    uint64_t now, int64_t wall, struct keyd_verdict *v)
{
	int commit = (flags & KEYD_TRUST_COMMIT) != 0;
	const struct keyd_prov *pv = NULL;
	const struct keyd_pin *other = NULL;
	const uint8_t *otherkey = NULL;
	struct keyd_claim edit = *cl;
	struct trust_scan ts;
	uint8_t fpr[FPR_LEN];
	size_t i, changed;
	int r, notpinned = 0;

	memset(v, 0, sizeof(*v));
	if ((r = keyd_pins_load(kp)) != 0)
		return r;
	trust_scan(kp, cl, &ts);

	if (cl->cl_nexpect > 0) {
		v->kv_trust = TRUST_REFUSED;
		v->kv_reason = REFUSE_EXPECT;
		memcpy(v->kv_fpr2, cl->cl_expect[0], FPR_LEN);
		for (i = 0; i < cl->cl_nexpect; i++) {
			if (vc_equal(cl->cl_expect[i], cl->cl_fpr, FPR_LEN)) {
				memset(v, 0, sizeof(*v));
				v->kv_trust = TRUST_EXPECTED;
				break;
			}
		}
		if (v->kv_trust == TRUST_EXPECTED && commit && ts.ts_verified == NULL &&
		    (r = trust_record(kp, cl, &ts, 0, now, wall, &notpinned)) != 0)
			goto fail;
	} else if (memcmp(cl->cl_key, cl->cl_me, ED25519_PUB_LEN) == 0) {
		v->kv_trust = TRUST_VERIFIED;
		v->kv_flags = TF_SELF;
	} else if (ts.ts_verified != NULL) {
		v->kv_trust = TRUST_VERIFIED;
		trust_label(v, ts.ts_verified, cl);
		if (commit && ts.ts_byfpr && (r = keyd_pins_rewrite(kp, trust_fp_to_key,
		    &edit, NULL, 0, &changed)) != 0)
			goto fail;
	} else if (trust_nick_is(cl->cl_nick, cl->cl_nicklen, cl->cl_me_nick,
	    cl->cl_me_nicklen)) {
		v->kv_trust = TRUST_REFUSED;
		v->kv_reason = REFUSE_OWN_NAME;
	} else if ((other = ts.ts_taken_ver != NULL ? ts.ts_taken_ver : ts.ts_taken_room) != NULL) {
		v->kv_trust = TRUST_REFUSED;
		v->kv_reason = REFUSE_PIN;
		if (other->pn_byfpr)
			memcpy(v->kv_fpr2, other->pn_fpr, FPR_LEN);
		else
			otherkey = other->pn_key;
	} else if (ts.ts_room != NULL || ts.ts_any != NULL) {
		v->kv_trust = TRUST_PINNED;
		trust_label(v, ts.ts_room != NULL ? ts.ts_room : ts.ts_any, cl);
		if (commit && (r = trust_record(kp, cl, &ts, 0, now, wall, &notpinned)) != 0)
			goto fail;
	} else {
		v->kv_trust = TRUST_NEW;
		if (ts.ts_elsewhere != NULL) {
			v->kv_flags |= TF_NAME_ELSEWHERE;
			otherkey = ts.ts_elsewhere->pn_key;
		}
		if ((pv = prov_contested(kp, cl)) != NULL) {
			v->kv_flags |= TF_CONTESTED;
			otherkey = pv->pv_key;
		}
		if (commit && (r = trust_record(kp, cl, &ts, pv != NULL, now, wall,
		    &notpinned)) != 0)
			goto fail;
	}
	if (notpinned)
		v->kv_flags |= TF_NOT_PINNED;
	/*
	 * Before a message on the wire, one fingerprint afresh whatever was
	 * decided (our own key's when none is named): the answer takes as long
	 * for a refusal as for a new contact, so its timing does not tell what
	 * we know.
	 */
	if ((flags & KEYD_TRUST_UNIFORM) != 0)
		r = vc_fingerprint_fresh(otherkey != NULL ? otherkey : cl->cl_me, fpr);
	else
		r = otherkey != NULL ? vc_fingerprint(otherkey, fpr) : 0;
	if (r != 0)
		goto fail;
	if (otherkey != NULL)
		memcpy(v->kv_fpr2, fpr, FPR_LEN);
	return 0;
 fail:
	memset(v, 0, sizeof(*v));
	return r;
}
