/* SPDX-License-Identifier: ISC */
/*
 * chatc in a bottle, for fuzz_chatc and check_chatc_core: a relay with one
 * room, and up to SIM_MAX chatc cores (everything of chatc but the loop's
 * system calls: client_step, the rooms, sessions, events), each with a real
 * keyd serving its requests in-process through keyd_dispatch, the function
 * keyd's server.c calls for every whole request, on its own identity and
 * known_peers file. No sockets, no threads: sim_now is the time. Every frame
 * a core queues goes through the simulated relay, which routes as relayd
 * does (PROTOCOL.md 1.4); a test or the fuzzer adds frames of its own
 * (sim_inject) from members that have no core behind them.
 *
 * What each core shows is kept as --batch lines (sim_has) and counted.
 * A request keyd refuses to read (KEYD_CLOSE), or an answer the core calls
 * a protocol violation, marks the member keyd-lost: for chatc that is the
 * end, so a test or the fuzzer treats it as a failure.
 */
#ifndef VEIL_CHATC_SIM_H
#define VEIL_CHATC_SIM_H

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "err.h"
#include "keyd.h"

#define SIM_MAX		4
#define SIM_LOG_MAX	(1024 * 1024)
#define SIM_START_MS	100000

struct sim_member {
	char		 sm_nick[NICK_MAX + 1];
	struct chatc_opts sm_o;
	struct client	 sm_c;
	struct room	 sm_r;
	struct keydc	 sm_k;
	struct vs_identity sm_id;
	struct keyd_pins sm_pins;
	struct keyd_ctx	 sm_kctx;
	struct keyd_conn *sm_kconn;
	char		 sm_pinpath[PATH_MAX];
	int		 sm_on;		/* started */
	uint16_t	 sm_mid;	/* member id at the relay, 0 when not in the room */
	int		 sm_lost;	/* keyd lost: chatc would have ended */
	uint8_t		 sm_last[FRAME_MAX_LIMIT];	/* last DATA payload it sent */
	size_t		 sm_lastlen;
	char		*sm_log;	/* what it showed, as --batch lines */
	size_t		 sm_loglen;
	unsigned int	 sm_n[EV_UNDELIVERED + 1];	/* events shown, by kind */
};

struct sim {
	struct sim_member s_m[SIM_MAX];
	size_t		 s_n;
	int64_t		 s_now;
	uint16_t	 s_next_id;
	uint64_t	 s_keyd_sec;
	/* The relay loses the next DATA whose e2e type is s_drop_type (0: none). */
	uint8_t		 s_drop_type;
	uint8_t		 s_ans[KEYD_ANS_MAX];
	uint8_t		 s_frame[FRAME_HDR_LEN + FRAME_MAX_LIMIT];
};

static struct sim *sim_keyd_clock;

static inline uint64_t
sim_keyd_now(void)
{
	return sim_keyd_clock != NULL ? sim_keyd_clock->s_keyd_sec : 0;
}

static inline void
sim_event(void *arg, const struct ev *e)
{
	static char line[EV_LINE_MAX];
	struct sim_member *m = arg;
	size_t n = 0;

	if (e->ev_kind >= 1 && e->ev_kind <= EV_UNDELIVERED)
		m->sm_n[e->ev_kind]++;
	switch (e->ev_kind) {
	case EV_SECURE:
		n = ev_secure(line, sizeof(line), e->ev_nick, e->ev_nicklen, e->ev_fpr,
		    e->ev_trust);
		break;
	case EV_MSG:
		n = ev_msg(line, sizeof(line), e->ev_nick, e->ev_nicklen, e->ev_text,
		    e->ev_textlen);
		break;
	case EV_LEFT:
		n = ev_left(line, sizeof(line), e->ev_nick, e->ev_nicklen);
		break;
	case EV_DELIVERED:
	case EV_UNDELIVERED:
		n = ev_delivery(line, sizeof(line), e->ev_nick, e->ev_nicklen, e->ev_n,
		    e->ev_kind == EV_DELIVERED ? NULL : e->ev_line);
		break;
	case EV_WARN:
	case EV_ALERT:
		n = ev_line(line, sizeof(line), "WARN", e->ev_line);
		break;
	case EV_ERROR:
		n = ev_line(line, sizeof(line), "ERROR", e->ev_line);
		break;
	case EV_INFO:
	case EV_NOTE:
		n = ev_line(line, sizeof(line), "INFO", e->ev_line);
		break;
	default:
		return;
	}
	if (SIM_LOG_MAX - m->sm_loglen <= n)
		m->sm_loglen = 0;	/* the oldest goes: only the recent past is asked about */
	memcpy(m->sm_log + m->sm_loglen, line, n);
	m->sm_loglen += n;
	m->sm_log[m->sm_loglen] = '\0';
}

/* 1 when member i showed a line starting with prefix (a whole --batch line). */
static inline int
sim_has(const struct sim *s, size_t i, const char *prefix)
{
	const char *p = s->s_m[i].sm_log;
	size_t n = strlen(prefix);

	if (p == NULL)
		return 0;
	for (; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, n) == 0)
			return 1;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return 0;
}

/*
 * Sets up n members named by nicks: identities from fixed seeds, known_peers
 * files under dir (opened, then unlinked: pins.c keeps only the descriptor).
 * 0, or -1 with the reason on stderr.
 */
static inline int
sim_init(struct sim *s, size_t n, const char *const nicks[], const char *dir)
{
	size_t i, k;

	memset(s, 0, sizeof(*s));
	if (n > SIM_MAX)
		return -1;
	s->s_n = n;
	s->s_keyd_sec = 5000;
	sim_keyd_clock = s;
	for (i = 0; i < n; i++) {
		struct sim_member *m = &s->s_m[i];

		snprintf(m->sm_nick, sizeof(m->sm_nick), "%s", nicks[i]);
		for (k = 0; k < ED25519_SEED_LEN; k++)
			m->sm_id.id_seed[k] = (uint8_t)(0x31 * (i + 1) + 7 * k);
		if (vc_ed25519_public(m->sm_id.id_seed, m->sm_id.id_pub) != 0)
			return -1;
		snprintf(m->sm_pinpath, sizeof(m->sm_pinpath), "%s/known_peers_%zu", dir, i);
		if (keyd_pins_open(&m->sm_pins, m->sm_pinpath) != 0 ||
		    keyd_ctx_init(&m->sm_kctx, &m->sm_id, &m->sm_pins) != 0 ||
		    unlink(m->sm_pinpath) != 0) {
			fprintf(stderr, "sim: cannot set up keyd %zu in %s\n", i, dir);
			return -1;
		}
		m->sm_kctx.kc_now = sim_keyd_now;
		if ((m->sm_log = malloc(SIM_LOG_MAX + 1)) == NULL)
			return -1;
		m->sm_log[0] = '\0';
	}
	return 0;
}

/* Ends a member's core (as if chatc was gone; its keyd connection too). */
static inline void
sim_stop(struct sim *s, size_t i)
{
	struct sim_member *m = &s->s_m[i];

	if (!m->sm_on)
		return;
	keydc_close(&m->sm_k);
	rm_free(&m->sm_r);
	keyd_conn_free(m->sm_kconn);
	m->sm_kconn = NULL;
	m->sm_on = 0;
}

static inline void
sim_free(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->s_n; i++) {
		struct sim_member *m = &s->s_m[i];

		sim_stop(s, i);
		keyd_ctx_free(&m->sm_kctx);
		keyd_pins_close(&m->sm_pins);
		vc_wipe(&m->sm_id, sizeof(m->sm_id));
		free(m->sm_log);
		m->sm_log = NULL;
	}
	sim_keyd_clock = NULL;
}

/* Every member out, known_peers emptied, the clock back to the start. */
static inline void
sim_reset(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->s_n; i++) {
		struct sim_member *m = &s->s_m[i];

		sim_stop(s, i);
		if (ftruncate(m->sm_pins.kp_fd, 0) != 0)
			abort();
		m->sm_mid = 0;
		m->sm_lost = 0;
		m->sm_lastlen = 0;
		m->sm_loglen = 0;
		m->sm_log[0] = '\0';
		memset(m->sm_n, 0, sizeof(m->sm_n));
	}
	s->s_now = SIM_START_MS;
	s->s_next_id = 0;
	s->s_drop_type = 0;
	s->s_keyd_sec = 5000;
}

/* Serves every whole request member m's core queued, as keyd's server.c does. */
static inline void
sim_keyd(struct sim *s, struct sim_member *m)
{
	struct vbuf out;
	size_t len;
	int r;

	while (!m->sm_lost && m->sm_k.kc_outlen >= IPC_LEN_HDR) {
		if (proto_ipc_length(m->sm_k.kc_out, m->sm_k.kc_outlen, &len) != 0 ||
		    m->sm_k.kc_outlen - IPC_LEN_HDR < len) {
			m->sm_lost = 1;		/* chatc wrote something that is no request */
			return;
		}
		vbuf_writer(&out, s->s_ans, sizeof(s->s_ans));
		r = keyd_dispatch(&m->sm_kctx, m->sm_kconn, m->sm_k.kc_out + IPC_LEN_HDR, len,
		    (uint64_t)s->s_now, &out);
		/* Nobody else locks the simulation's known_peers: never put off. */
		if (r == KEYD_WAIT) {
			m->sm_lost = 1;
			return;
		}
		keydc_took(&m->sm_k, IPC_LEN_HDR + len);
		if (r != 0 || keydc_feed(&m->sm_k, s->s_ans, out.vb_len) != 0) {
			m->sm_lost = 1;		/* keyd closed the connection: chatc's fault */
			return;
		}
	}
}

/* Starts member i's core: HELLO to its keyd, the room, then the relay (sim_pump). */
static inline int
sim_start(struct sim *s, size_t i, const char *room)
{
	static const uint8_t nofpr[FPR_LEN];
	static const struct fe nofe;
	struct sim_member *m = &s->s_m[i];
	struct chatc_room cr;
	uint8_t secret[INVITE_SECRET_LEN];
	const struct ipc_msg *a;
	struct ipc_msg *hello;
	struct fe fe;
	struct kx x;

	if (m->sm_on)
		return 0;
	memset(&m->sm_o, 0, sizeof(m->sm_o));
	m->sm_o.co_room = room;
	m->sm_o.co_nick = m->sm_nick;
	m->sm_o.co_batch = 1;
	snprintf(m->sm_o.co_relay, sizeof(m->sm_o.co_relay), "sim:1");
	if ((m->sm_kconn = keyd_conn_new()) == NULL)
		return -1;
	keydc_attach(&m->sm_k, -1);
	fe = nofe;
	fe.fe_event = sim_event;
	fe.fe_arg = m;
	memset(&x, 0, sizeof(x));
	client_init(&m->sm_c, &m->sm_o, &m->sm_k, &fe, 1, nofpr, (uint64_t)i + 1);
	hello = client_req(&m->sm_c, REQ_HELLO);
	hello->im_version = IPC_VERSION;
	hello->im_nick = (const uint8_t *)m->sm_nick;
	hello->im_nicklen = strlen(m->sm_nick);
	x.kx_kind = KX_HELLO;
	if (keydc_push(&m->sm_k, hello, &x, s->s_now) != 0)
		return -1;
	sim_keyd(s, m);
	if (keydc_next(&m->sm_k, &x, &a, s->s_now) != 1 || a->im_code != ANS_HELLO)
		return -1;
	client_set_me(&m->sm_c, a->im_fpr, a->im_id);
	/* The room's secret from its name, without Argon2id's 64 MiB: a simulation. */
	memset(&cr, 0, sizeof(cr));
	memset(secret, 0, sizeof(secret));
	memcpy(secret, room, strnlen(room, sizeof(secret)));
	if (roomkey_from_secret(secret, cr.cr_id, cr.cr_key) != 0)
		return -1;
	snprintf(cr.cr_label, sizeof(cr.cr_label), "%s", room);
	if (rm_init(&m->sm_r, &m->sm_c, &cr, m->sm_o.co_relay, s->s_now) != 0 ||
	    client_add_room(&m->sm_c, &m->sm_r) != 0)
		return -1;
	m->sm_on = 1;
	return 0;
}

/* Delivers one frame to member m (as relayd writes it). */
static inline void
sim_deliver(struct sim *s, struct sim_member *m, uint8_t type, uint16_t src, uint16_t dst,
    const uint8_t *p, size_t n)
{
	struct frame f;
	struct vbuf b;

	if (!m->sm_on || !m->sm_r.rm_rl.rl_open || m->sm_r.rm_link == LS_DRAINING)
		return;
	memset(&f, 0, sizeof(f));
	f.fr_type = type;
	f.fr_src = src;
	f.fr_dst = dst;
	f.fr_len = (uint32_t)n;
	f.fr_payload = p;
	vbuf_writer(&b, s->s_frame, sizeof(s->s_frame));
	if (proto_frame_encode(&b, FRAME_TO_CLIENT, &f) != 0)
		abort();
	if (rl_feed(&m->sm_r.rm_rl, s->s_frame, b.vb_len) != 0)
		abort();
}

/* Raw bytes to member i as if from the relay (a relay that breaks the rules). */
static inline void
sim_deliver_raw(struct sim *s, size_t i, const uint8_t *p, size_t n)
{
	struct sim_member *m = &s->s_m[i];

	if (!m->sm_on || !m->sm_r.rm_rl.rl_open || m->sm_r.rm_link == LS_DRAINING)
		return;
	if (rl_feed(&m->sm_r.rm_rl, p, n) != 0)
		abort();
}

/* A frame from the relay to every member in the room but the one with id skip. */
static inline void
sim_to_room(struct sim *s, uint8_t type, uint16_t src, uint16_t skip, const uint8_t *p,
    size_t n)
{
	size_t i;

	for (i = 0; i < s->s_n; i++)
		if (s->s_m[i].sm_mid != 0 && s->s_m[i].sm_mid != skip)
			sim_deliver(s, &s->s_m[i], type, src,
			    type == FT_DATA ? MEMBER_BCAST : MEMBER_NONE, p, n);
}

/* A member with no core behind it joins (the fuzzer speaks for it): its id. */
static inline uint16_t
sim_join_ghost(struct sim *s)
{
	uint16_t id = ++s->s_next_id;

	sim_to_room(s, FT_JOINED, id, 0, NULL, 0);
	return id;
}

/* What the relay does with the frames member m queued. */
static inline int
sim_relay(struct sim *s, struct sim_member *m)
{
	struct rl_conn *rl = &m->sm_r.rm_rl;
	uint8_t welcome[2 + 2 * ROOM_SIZE_MAX];
	struct frame f;
	size_t used = 0, total, i, nw;
	int moved = 0;

	if (!m->sm_on || !rl->rl_open)
		return 0;
	while (rl->rl_outlen - used >= FRAME_HDR_LEN) {
		if (proto_frame_header(rl->rl_out + used, rl->rl_outlen - used, FRAME_TO_RELAY,
		    FRAME_MAX_LIMIT, &f) != 0)
			abort();	/* chatc sent what relayd would refuse */
		total = FRAME_HDR_LEN + f.fr_len;
		if (rl->rl_outlen - used < total)
			break;
		if (proto_frame_decode(rl->rl_out + used, total, FRAME_TO_RELAY, FRAME_MAX_LIMIT,
		    &f) != 0)
			abort();
		used += total;
		moved = 1;
		switch (f.fr_type) {
		case FT_JOIN:
			if (m->sm_mid != 0)
				break;
			m->sm_mid = ++s->s_next_id;
			for (i = 0, nw = 0; i < s->s_n; i++)
				if (s->s_m[i].sm_mid != 0 && &s->s_m[i] != m) {
					welcome[2 + 2 * nw] = (uint8_t)(s->s_m[i].sm_mid >> 8);
					welcome[3 + 2 * nw] = (uint8_t)s->s_m[i].sm_mid;
					nw++;
				}
			welcome[0] = (uint8_t)(nw >> 8);
			welcome[1] = (uint8_t)nw;
			sim_deliver(s, m, FT_WELCOME, MEMBER_NONE, m->sm_mid, welcome, 2 + 2 * nw);
			sim_to_room(s, FT_JOINED, m->sm_mid, m->sm_mid, NULL, 0);
			break;
		case FT_PING:
			sim_deliver(s, m, FT_PONG, MEMBER_NONE, MEMBER_NONE, NULL, 0);
			break;
		case FT_DATA:
			if (m->sm_mid == 0)
				break;
			if (s->s_drop_type != 0 && f.fr_len > 1 &&
			    f.fr_payload[1] == s->s_drop_type) {
				s->s_drop_type = 0;
				break;
			}
			memcpy(m->sm_last, f.fr_payload, f.fr_len);
			m->sm_lastlen = f.fr_len;
			if (f.fr_dst == MEMBER_BCAST) {
				sim_to_room(s, FT_DATA, m->sm_mid, m->sm_mid, f.fr_payload, f.fr_len);
				break;
			}
			for (i = 0; i < s->s_n; i++)
				if (s->s_m[i].sm_mid == f.fr_dst && &s->s_m[i] != m)
					sim_deliver(s, &s->s_m[i], FT_DATA, m->sm_mid, f.fr_dst,
					    f.fr_payload, f.fr_len);
			break;
		}
	}
	rl_wrote(rl, used);
	return moved;
}

/* Member i leaves (its core goes away; the others see LEFT). */
static inline void
sim_leave(struct sim *s, size_t i)
{
	struct sim_member *m = &s->s_m[i];
	uint16_t id = m->sm_mid;

	sim_stop(s, i);
	m->sm_mid = 0;
	if (id != 0)
		sim_to_room(s, FT_LEFT, id, id, NULL, 0);
}

/* Connects member i's room to the relay when its try is due (JOIN queued): 1 if so. */
static inline int
sim_connect(struct sim *s, size_t i)
{
	struct sim_member *m = &s->s_m[i];

	if (!m->sm_on || !link_wants_connect(&m->sm_r, s->s_now))
		return 0;
	/* The old connection is over at the relay too. */
	if (m->sm_mid != 0) {
		sim_to_room(s, FT_LEFT, m->sm_mid, m->sm_mid, NULL, 0);
		m->sm_mid = 0;
	}
	rl_attach(&m->sm_r.rm_rl, -1);
	link_connecting(&m->sm_r, s->s_now);
	link_connected(&m->sm_r, s->s_now);
	return 1;
}

/*
 * Runs every core, its keyd and the relay until nothing moves (or rounds
 * pass). A core whose relay link ended is disconnected at the relay (LEFT
 * to the others) and reconnected when its retry is due. Returns the number
 * of members whose keyd was lost (0 is the only good answer).
 */
static inline int
sim_pump(struct sim *s, int rounds)
{
	size_t i;
	int moved, lost = 0, r;

	for (r = 0; r < rounds; r++) {
		moved = 0;
		for (i = 0; i < s->s_n; i++) {
			struct sim_member *m = &s->s_m[i];
			size_t kout, rout, rin;

			if (!m->sm_on || m->sm_lost)
				continue;
			if (sim_connect(s, i))
				moved = 1;
			rin = m->sm_r.rm_rl.rl_inlen - m->sm_r.rm_rl.rl_used;
			if (client_step(&m->sm_c, s->s_now) < 0)
				m->sm_lost = 1;
			/* The relay saw the connection go: the member left. */
			if (m->sm_mid != 0 && m->sm_r.rm_link != LS_JOINING &&
			    m->sm_r.rm_link != LS_JOINED && m->sm_r.rm_link != LS_DRAINING) {
				sim_to_room(s, FT_LEFT, m->sm_mid, m->sm_mid, NULL, 0);
				m->sm_mid = 0;
				moved = 1;
			}
			kout = m->sm_k.kc_outlen;
			sim_keyd(s, m);
			rout = m->sm_r.rm_rl.rl_outlen;
			moved |= sim_relay(s, m);
			if (kout != 0 || rout != 0 ||
			    rin != m->sm_r.rm_rl.rl_inlen - m->sm_r.rm_rl.rl_used)
				moved = 1;
		}
		if (!moved)
			break;
	}
	for (i = 0; i < s->s_n; i++)
		lost += s->s_m[i].sm_lost;
	return lost;
}

/* Member i types a line. */
static inline void
sim_say(struct sim *s, size_t i, const char *text)
{
	client_on_line(&s->s_m[i].sm_c, (const uint8_t *)text, strlen(text));
}

#endif
