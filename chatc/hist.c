/* SPDX-License-Identifier: ISC */
/*
 * The local history: off unless chatc.conf says "history yes". Each message
 * shown (a peer's, or ours as sent) becomes a record, sealed by keyd
 * (REQ_HIST_SEAL: chatc holds no key) and appended to the history file,
 * opened before the sandbox. At start the last HIST_REPLAY records are
 * opened by keyd and shown, dimmed, in the windows of their rooms.
 *
 * File: records one after another, each u32 length (big-endian) || what
 * keyd sealed (PROTOCOL.md 3.4). Record, before sealing: u8 version (1) ||
 * u8 flags (HR_*) || u64 time (Unix seconds) || str8 room || str8 who (a
 * nick, or empty) || str16 text (1..MSG_MAX). Both layers are read
 * strictly (hist_scan, hist_decode; fuzzed: tests/fuzz/fuzz_hist.c).
 * `chatc --delete-history` removes the file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

int
hist_path(char *out, size_t outlen)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(out, outlen, "%s/veil/history", x);
	else if (h != NULL && h[0] == '/')
		n = snprintf(out, outlen, "%s/.local/state/veil/history", h);
	else
		return VEIL_E_STATE;
	return n < 0 || (size_t)n >= outlen ? VEIL_E_OVERSIZE : 0;
}

/* mkdir -p the directories above path, 0700. */
static int
hist_mkdirs(const char *path)
{
	char dir[4 * CHATC_PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, path, n + 1);
	for (i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
		dir[i] = '/';
	}
	return 0;
}

int
hist_open(struct hist *h, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(h, 0, sizeof(*h));
	h->h_fd = -1;
	snprintf(h->h_path, sizeof(h->h_path), "%s", path);
	if (hist_mkdirs(path) != 0 ||
	    (h->h_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "history %s: %s", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (fstat(h->h_fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "history %s: not a file of yours with mode 0600", path);
		(void)close(h->h_fd);
		h->h_fd = -1;
		return VEIL_E_SYSTEM;
	}
	h->h_on = 1;
	return 0;
}

void
hist_close(struct hist *h)
{
	size_t i;

	if (h->h_fd >= 0)
		(void)close(h->h_fd);
	h->h_fd = -1;
	h->h_on = 0;
	for (i = 0; i < h->h_nrec; i++) {
		OPENSSL_cleanse(h->h_rec[i].hr_text, sizeof(h->h_rec[i].hr_text));
	}
	free(h->h_rec);
	h->h_rec = NULL;
	h->h_nrec = 0;
}

/* ---- records ---- */

size_t
hist_encode(uint8_t *out, size_t cap, int flags, int64_t when, const char *room,
    const uint8_t *who, size_t wholen, const uint8_t *text, size_t textlen)
{
	size_t rl = strlen(room), n = 0, i;
	uint64_t t = (uint64_t)when;

	if (rl == 0 || rl > CHATC_ROOM_NAME_MAX || wholen > NICK_MAX || textlen == 0 ||
	    textlen > MSG_MAX || cap < 2 + 8 + 1 + rl + 1 + wholen + 2 + textlen)
		return 0;
	out[n++] = HIST_VERSION;
	out[n++] = (uint8_t)(flags & HR_ALL);
	for (i = 0; i < 8; i++)
		out[n++] = (uint8_t)(t >> (56 - 8 * i));
	out[n++] = (uint8_t)rl;
	for (i = 0; i < rl; i++)	/* bytes of a field, no terminator */
		out[n++] = (uint8_t)room[i];
	out[n++] = (uint8_t)wholen;
	if (wholen > 0)
		memcpy(out + n, who, wholen);
	n += wholen;
	out[n++] = (uint8_t)(textlen >> 8);
	out[n++] = (uint8_t)textlen;
	memcpy(out + n, text, textlen);
	return n + textlen;
}

int
hist_decode(const uint8_t *p, size_t n, struct hist_rec *rec)
{
	size_t off = 0, rl, wl, tl, i;
	uint64_t t = 0;

	memset(rec, 0, sizeof(*rec));
	if (n < 2 + 8 + 1)
		return VEIL_E_TRUNCATED;
	if (p[off++] != HIST_VERSION)
		return VEIL_E_VERSION;
	rec->hr_flags = p[off++];
	if ((rec->hr_flags & ~HR_ALL) != 0)
		return VEIL_E_INVALID;
	for (i = 0; i < 8; i++)
		t = (t << 8) | p[off++];
	if (t > (uint64_t)INT64_MAX)
		return VEIL_E_INVALID;
	rec->hr_time = (int64_t)t;
	rl = p[off++];
	if (rl == 0)
		return VEIL_E_LENGTH;
	if (n - off < rl + 1)
		return VEIL_E_TRUNCATED;
	memcpy(rec->hr_room, p + off, rl);
	rec->hr_room[rl] = '\0';
	if (memchr(rec->hr_room, '\0', rl) != NULL || !esc_utf8_valid(p + off, rl))
		return VEIL_E_INVALID;
	off += rl;
	wl = p[off++];
	if (wl > NICK_MAX)
		return VEIL_E_OVERSIZE;
	if (n - off < wl + 2)
		return VEIL_E_TRUNCATED;
	if (wl > 0 && !proto_nick_valid(p + off, wl))
		return VEIL_E_NICK;
	memcpy(rec->hr_who, p + off, wl);
	rec->hr_who[wl] = '\0';
	off += wl;
	tl = (size_t)p[off] << 8 | p[off + 1];
	off += 2;
	if (tl == 0 || tl > MSG_MAX)
		return tl == 0 ? VEIL_E_LENGTH : VEIL_E_OVERSIZE;
	if (n - off < tl)
		return VEIL_E_TRUNCATED;
	if (n - off > tl)
		return VEIL_E_TRAILING;
	memcpy(rec->hr_text, p + off, tl);
	rec->hr_textlen = tl;
	return 0;
}

int
hist_scan(const uint8_t *p, size_t n, size_t *off, const uint8_t **blob, size_t *len)
{
	uint32_t l;

	*blob = NULL;
	*len = 0;
	if (*off >= n)
		return 0;
	if (n - *off < 4)
		return VEIL_E_TRUNCATED;
	l = (uint32_t)p[*off] << 24 | (uint32_t)p[*off + 1] << 16 |
	    (uint32_t)p[*off + 2] << 8 | p[*off + 3];
	if (l <= HIST_SEALED_OVERHEAD || l > HIST_BLOB_MAX)
		return VEIL_E_LENGTH;
	if (n - *off - 4 < l)
		return VEIL_E_TRUNCATED;
	*blob = p + *off + 4;
	*len = l;
	*off += 4 + (size_t)l;
	return 1;
}

/* ---- at start ---- */

int
hist_load(struct hist *h, struct keydc *k, char *note, size_t notelen)
{
	static struct ipc_msg req;
	const struct ipc_msg *a;
	uint8_t *buf = NULL;
	const uint8_t *blob;
	size_t cap = 0, len = 0, off = 0, bl, nb = 0, first, i, bad = 0;
	size_t *offs = NULL;
	ssize_t r;
	int rc, broken = 0;

	note[0] = '\0';
	if (!h->h_on)
		return 0;
	/* The whole file (bounded): records carry no marks to find one from the end. */
	for (;;) {
		if (len == cap) {
			uint8_t *nbuf;

			if (cap >= HIST_FILE_MAX)
				break;
			cap = cap == 0 ? 65536 : 2 * cap;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				return VEIL_E_ALLOC;
			}
			buf = nbuf;
		}
		r = pread(h->h_fd, buf + len, cap - len, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if ((offs = calloc(HIST_REPLAY, sizeof(*offs))) == NULL ||
	    (h->h_rec = calloc(HIST_REPLAY, sizeof(*h->h_rec))) == NULL) {
		free(offs);
		free(buf);
		return VEIL_E_ALLOC;
	}
	/* The last HIST_REPLAY records: their offsets in a ring. */
	while ((rc = hist_scan(buf, len, &off, &blob, &bl)) == 1)
		offs[nb++ % HIST_REPLAY] = (size_t)(blob - buf) - 4;
	if (rc < 0)
		broken = 1;
	first = nb > HIST_REPLAY ? nb - HIST_REPLAY : 0;
	for (i = first; i < nb; i++) {
		size_t o = offs[i % HIST_REPLAY];

		if (hist_scan(buf, len, &o, &blob, &bl) != 1)
			continue;	/* cannot be: it was read the same way above */
		memset(&req, 0, sizeof(req));
		req.im_code = REQ_HIST_OPEN;
		req.im_blob = blob;
		req.im_bloblen = bl;
		if ((rc = keydc_call(k, &req, &a)) != 0) {
			free(offs);
			OPENSSL_cleanse(buf, len);
			free(buf);
			return rc;
		}
		if (a->im_code != ANS_HIST_OPENED ||
		    hist_decode(a->im_text, a->im_textlen, &h->h_rec[h->h_nrec]) != 0) {
			bad++;
			continue;
		}
		h->h_nrec++;
	}
	free(offs);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (bad > 0 || broken)
		snprintf(note, notelen, "history: %zu record(s) could not be read (another "
		    "identity's, or changed)%s", bad, broken ? "; the file ends in a broken "
		    "record, new ones follow it" : "");
	return 0;
}

void
hist_replay(struct client *c, struct hist *h)
{
	size_t i, j, shown = 0;
	struct ev e;

	for (i = 0; i < h->h_nrec; i++) {
		const struct hist_rec *hr = &h->h_rec[i];
		char who[ESC_MAX(NICK_MAX) + 1];

		for (j = 0; j < c->cl_nrooms; j++)
			if (strcmp(c->cl_rooms[j]->rm_name, hr->hr_room) == 0)
				break;
		if (j == c->cl_nrooms)
			continue;
		esc_text((const uint8_t *)hr->hr_who, strlen(hr->hr_who), who, sizeof(who));
		memset(&e, 0, sizeof(e));
		e.ev_kind = EV_HISTORY;
		e.ev_flags = (hr->hr_flags & HR_ACTION ? EVF_ACTION : 0) |
		    (hr->hr_flags & HR_PRIVATE ? EVF_PRIVATE : 0) |
		    (hr->hr_flags & HR_MINE ? EVF_MINE : 0);
		e.ev_time = hr->hr_time;
		e.ev_who = who;
		e.ev_text = hr->hr_text;
		e.ev_textlen = hr->hr_textlen;
		emit_event(c->cl_rooms[j], &e);
		shown++;
	}
	for (j = 0; j < c->cl_nrooms && shown > 0; j++)
		emit(c->cl_rooms[j], EV_INFO, "the lines above are from the local history "
		    "(chatc --delete-history removes it)");
	for (i = 0; i < h->h_nrec; i++)
		OPENSSL_cleanse(&h->h_rec[i], sizeof(h->h_rec[i]));
	free(h->h_rec);
	h->h_rec = NULL;
	h->h_nrec = 0;
}

/* ---- while running ---- */

void
hist_note(struct room *r, int flags, const uint8_t *who, size_t wholen,
    const uint8_t *text, size_t n)
{
	struct client *c = r->rm_cl;
	static uint8_t rec[HIST_TEXT_MAX];
	struct ipc_msg *q;
	struct kx x;
	size_t len;

	if (!c->cl_hist.h_on)
		return;
	if ((len = hist_encode(rec, sizeof(rec), flags, (int64_t)time(NULL), r->rm_name, who,
	    wholen, text, n)) == 0)
		return;
	q = client_req(c, REQ_HIST_SEAL);
	q->im_text = rec;
	q->im_textlen = len;
	memset(&x, 0, sizeof(x));
	x.kx_kind = KX_HIST;
	/* Not the room's: a history record never holds its frames back. */
	if (keydc_push(c->cl_k, q, &x, c->cl_now) != 0)
		hist_failed(c, "keyd is not keeping up");
	q->im_text = NULL;
	OPENSSL_cleanse(rec, len);
}

void
hist_failed(struct client *c, const char *why)
{
	if (c->cl_hist.h_failed++ == 0 && c->cl_nrooms > 0)
		emit(client_room(c), EV_WARN, "history: a line could not be kept (%s); "
		    "the conversation goes on, the history has a gap", why);
}

void
hist_answer(struct client *c, const struct ipc_msg *a)
{
	struct hist *h = &c->cl_hist;
	uint8_t frame[4 + HIST_BLOB_MAX];
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	size_t n;

	if (a->im_code != ANS_HIST_SEALED) {
		hist_failed(c, a->im_code == IPC_ANS_ERROR ? keyd_reason(a, why, sizeof(why)) :
		    "keyd answered something else");
		return;
	}
	if (h->h_fd < 0 || a->im_bloblen > HIST_BLOB_MAX)
		return;
	n = a->im_bloblen;
	frame[0] = (uint8_t)(n >> 24);
	frame[1] = (uint8_t)(n >> 16);
	frame[2] = (uint8_t)(n >> 8);
	frame[3] = (uint8_t)n;
	memcpy(frame + 4, a->im_blob, n);
	/* One write: appends of whole records, also with another chatc at it. */
	if (chatc_write_all(h->h_fd, frame, 4 + n) != 0)
		hist_failed(c, strerror(errno));
}

int
hist_delete(void)
{
	char path[4 * CHATC_PATH_MAX];

	if (hist_path(path, sizeof(path)) != 0) {
		fprintf(stderr, "chatc: no place for a history (neither XDG_STATE_HOME nor "
		    "HOME is set)\n");
		return 1;
	}
	if (unlink(path) == -1) {
		if (errno == ENOENT) {
			printf("chatc: there is no history at %s\n", path);
			return 0;
		}
		fprintf(stderr, "chatc: cannot delete %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("chatc: deleted the history %s\n", path);
	return 0;
}
