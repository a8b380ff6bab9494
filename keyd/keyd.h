/* SPDX-License-Identifier: ISC */
#ifndef VEIL_KEYD_H
#define VEIL_KEYD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "e2e.h"
#include "ipc.h"
#include "session.h"

/*
 * keyd, the per-user key holder. Files: identity.c (the Ed25519 seed on
 * disk), pins.c (known_peers, the file), trust.c (what a proven identity is
 * trusted as: the rules of PROTOCOL.md 4, provisional contacts, the pin
 * budget), dispatch.c (every request keyd serves, one table), server.c
 * (socket and event loop), main.c (command line, start-up, hardening,
 * sandbox).
 */

#define KEYD_MAX_CLIENTS	32	/* connections at once (server.c: who gets a slot) */
#define KEYD_MAX_NOHELLO	8	/* of them, at most this many before their HELLO */
#define KEYD_HELLO_MS		5000	/* a connection's HELLO is due this long after accept */
#define KEYD_FAIR_SHARE		8	/* slots one process keeps when all are taken */
#define KEYD_LOCK_WAIT_MS	3000	/* a request waits this long for known_peers */
#define KEYD_LOCK_FRESH_MS	1000	/* ... refused at once for this long after */
#define KEYD_MAX_SESSIONS	256	/* per connection; more: VEIL_E_LIMIT */
#define KEYD_PINS_ENTRIES	4096	/* entries of known_peers read; no pin written past it */
#define KEYD_PINS_LINE_MAX	256	/* a longer line of known_peers is malformed */
#define KEYD_PROV_MAX		1024	/* provisional contacts kept in memory (LRU) */
#define KEYD_PIN_BURST		64	/* pins written at once from a full budget ... */
#define KEYD_PIN_EVERY		30	/* ... then one more per this many seconds */
#define KEYD_IDENTITY_FILE	"identity"
#define KEYD_PINS_FILE		"known_peers"
#define KEYD_FORGET_WAIT_MS	5000	/* keyd --list/--trust/--forget wait this long for the lock */

/* ---- identity.c ---- */

/*
 * Loads HOME/identity (exactly ED25519_SEED_LEN raw bytes, mode 0600, owned
 * by this uid), or creates it when absent (O_CREAT|O_EXCL, written, fsync'd)
 * and sets *created. A file with group/other permission bits is refused with
 * a message naming it. Fills id->id_seed and id->id_pub; the caller wipes
 * the seed (vc_wipe) when done. Returns 0 or a negative veil_err, with a
 * message on stderr.
 */
int	keyd_identity_load(const char *home, struct vs_identity *id, int *created) VEIL_WUR;

/*
 * Checks an open file is a regular file owned by this uid with no
 * group/other bits; prints ssh's "permissions 0644 for 'PATH' are too open"
 * otherwise. Returns 0 or VEIL_E_SYSTEM.
 */
int	keyd_file_private(int fd, const char *path) VEIL_WUR;

/*
 * mkdir -p with mode 0700 for missing components, then checks the last one
 * is a directory owned by this uid without group/other access. what names
 * it in messages ("home", "socket directory"). Returns 0 or VEIL_E_SYSTEM.
 */
int	keyd_private_dir(const char *path, const char *what) VEIL_WUR;

/* ---- pins.c ---- */

/*
 * known_peers (PROTOCOL.md 4), one entry per line:
 *     KEY STATUS NICK ROOM SINCE
 * KEY is 64 lowercase hex digits (an Ed25519 public key) or "fp:" and 40 (a
 * key known only by its fingerprint, from keyd --trust); STATUS "pinned" or
 * "verified"; NICK the label (nick rule); ROOM the 64-hex room id the label
 * belongs to, or "*" (verified entries: every room); SINCE decimal unix
 * seconds of the first meeting. Blank lines and lines starting with '#' are
 * kept as they are. A malformed line is reported (path:LINE: why; skipped)
 * once per change of the file, and skipped: a lookup never fails because of
 * one. At most KEYD_PINS_ENTRIES entries are read; the file's size is no
 * reason to refuse anything.
 *
 * The file is opened once (before the sandbox); every operation runs under
 * the caller's flock(LOCK_EX) on it, re-reads it with pread, and writes with
 * pwrite (and ftruncate) on the same fd, so a concurrent keyd --trust or
 * --forget (same discipline) is always seen. Nothing here waits for the lock
 * except keyd_pins_lock_wait, which the daemon never calls.
 */
enum keyd_pin_status {
	PIN_PINNED	= 1,	/* first contact, trusted on first use */
	PIN_VERIFIED	= 2,	/* marked verified by keyd --trust (every room) */
};

struct keyd_pin {
	uint8_t		 pn_key[ED25519_PUB_LEN];	/* unless pn_byfpr */
	uint8_t		 pn_fpr[FPR_LEN];		/* pn_byfpr: "fp:" entries */
	int		 pn_byfpr;
	int		 pn_status;			/* enum keyd_pin_status */
	uint8_t		 pn_nick[NICK_MAX];
	size_t		 pn_nicklen;
	uint8_t		 pn_room[ROOM_ID_LEN];		/* unless pn_anyroom */
	int		 pn_anyroom;			/* ROOM "*" */
	int64_t		 pn_since;
	size_t		 pn_line;			/* where it was read (messages) */
};

/* A contact met but not written (pin budget used up, or its name contested). */
struct keyd_prov {
	uint8_t		 pv_key[ED25519_PUB_LEN];
	uint8_t		 pv_nick[NICK_MAX];
	size_t		 pv_nicklen;
	uint8_t		 pv_room[ROOM_ID_LEN];
	uint64_t	 pv_used;	/* LRU order; 0: free slot */
};

struct keyd_pins {
	int		 kp_fd;
	char		*kp_path;	/* for messages; owned */
	int		 kp_locked;	/* we hold the flock */
	int		 kp_locks_fd;	/* /proc/locks, or -1: who holds the lock */
	unsigned int	 kp_dev_major;	/* the file, as /proc/locks names it */
	unsigned int	 kp_dev_minor;
	unsigned long long kp_ino;
	/* The last keyd_pins_load: KEYD_PINS_ENTRIES slots, kp_n used; owned. */
	struct keyd_pin	*kp_ent;
	size_t		 kp_n;
	int		 kp_full;	/* more entries than KEYD_PINS_ENTRIES were there */
	/* Generation: bumped when fstat shows another file, or after our write. */
	uint32_t	 kp_gen;
	int64_t		 kp_st[6];	/* ino, size, mtime s, ns, ctime s, ns: last seen */
	uint32_t	 kp_said_gen;	/* malformed lines were reported at this one */
	int		 kp_said;
	int		 kp_dirty;	/* written, not yet fsync'd (keyd_pins_sync) */
	/* trust.c: provisional contacts and the pin budget (the daemon's memory). */
	struct keyd_prov *kp_prov;	/* KEYD_PROV_MAX slots; owned */
	uint64_t	 kp_prov_tick;
	unsigned int	 kp_tokens;
	uint64_t	 kp_refill;	/* monotonic s: the budget was last topped up */
	int		 kp_budget_set;
};

/*
 * Opens (creating, 0600) path, and /proc/locks when it can (for
 * keyd_pins_holder), and allocates the entry and provisional tables.
 * Refuses a file with group/other bits. Returns 0, VEIL_E_ALLOC, or
 * VEIL_E_SYSTEM with a message on stderr.
 */
int	keyd_pins_open(struct keyd_pins *kp, const char *path) VEIL_WUR;
/* Closes (which drops the lock) and frees; safe on a zeroed or closed struct. */
void	keyd_pins_close(struct keyd_pins *kp);
/*
 * Takes the lock without waiting: 0; VEIL_E_BUSY when another open file of
 * known_peers holds it (nothing is printed: the caller decides what to say);
 * VEIL_E_STATE when we hold it already; VEIL_E_SYSTEM with a message.
 */
int	keyd_pins_trylock(struct keyd_pins *kp) VEIL_WUR;
/*
 * For the command line, never the daemon's loop: tries the lock every 20 ms
 * for up to ms milliseconds (sleeping in between). Returns as trylock.
 */
int	keyd_pins_lock_wait(struct keyd_pins *kp, unsigned int ms) VEIL_WUR;
/* Drops the lock if we hold it. */
void	keyd_pins_unlock(struct keyd_pins *kp);
/*
 * The pid /proc/locks gives for the flock someone holds on known_peers, or 0
 * when it cannot tell (no /proc, another pid namespace, no lock). For
 * messages only: the holder may have gone by the time it is printed.
 */
long	keyd_pins_holder(struct keyd_pins *kp);
/*
 * The generation of known_peers: a counter that changes whenever the file
 * does (fstat shows another inode, size, mtime or ctime), or keyd wrote it.
 * No lock needed (it only looks). Starts at 1.
 */
uint32_t keyd_pins_generation(struct keyd_pins *kp);
/*
 * Reads the whole file into kp_ent / kp_n (at most KEYD_PINS_ENTRIES; kp_full
 * when there were more). A malformed line is reported on stderr ("PATH:LINE:
 * why; skipped") once per change of the file (keyd's own appends change no
 * line: they do not count) and skipped; the entries past the cap are
 * reported likewise. The caller holds the lock (else VEIL_E_STATE).
 * Returns 0, or VEIL_E_SYSTEM / VEIL_E_ALLOC (I/O, memory) with kp_n = 0.
 */
int	keyd_pins_load(struct keyd_pins *kp) VEIL_WUR;
/*
 * Appends one entry (a "# ..." header first when the file is empty). Under
 * the lock. The write is not fsync'd here: keyd_pins_sync does it, after the
 * answers of the loop turn are out (so the time a pin takes to write shows
 * on no answer). Bumps the generation. 0, VEIL_E_STATE, VEIL_E_INVALID (a
 * field out of the format) or VEIL_E_SYSTEM.
 */
int	keyd_pins_append(struct keyd_pins *kp, const struct keyd_pin *e) VEIL_WUR;
/*
 * What keyd_pins_rewrite does with one entry: KEEP it, DROP it, or write
 * *out in its place (REPLACE).
 */
enum keyd_pin_edit { PIN_KEEP, PIN_DROP, PIN_REPLACE };
typedef enum keyd_pin_edit (*keyd_pin_edit_fn)(void *arg, const struct keyd_pin *e,
    struct keyd_pin *out);
/*
 * Rewrites the file in place (pwrite, ftruncate; never by rename, which would
 * leave a running keyd with the old inode): every entry goes through fn;
 * comments, blank and malformed lines stay as they are; then add (if not
 * NULL) is appended. *changed counts entries dropped or replaced, plus one
 * for add. Under the lock; fsync'd at once when sync, else left to
 * keyd_pins_sync. Bumps the generation when anything changed. 0 or
 * VEIL_E_STATE / _SYSTEM / _ALLOC / _INVALID.
 */
int	keyd_pins_rewrite(struct keyd_pins *kp, keyd_pin_edit_fn fn, void *arg,
	    const struct keyd_pin *add, int sync, size_t *changed) VEIL_WUR;
/* fsync after writes (no lock needed). 0, or VEIL_E_SYSTEM with a message. */
int	keyd_pins_sync(struct keyd_pins *kp);
/*
 * One entry as its known_peers line (no newline; NUL-terminated in out,
 * which has KEYD_PINS_LINE_MAX bytes). 0 or VEIL_E_INVALID.
 */
int	keyd_pin_format(const struct keyd_pin *e, char out[static KEYD_PINS_LINE_MAX]) VEIL_WUR;
/*
 * Parses one line (without its newline) into *e. 0; 1 for a blank or '#'
 * line (nothing in *e); VEIL_E_INVALID with *why set to a static reason.
 */
int	keyd_pin_parse(const char *line, size_t len, struct keyd_pin *e,
	    const char **why) VEIL_WUR;

/* ---- trust.c ---- */

/* A peer's proven identity and what it claims, with what this side knows. */
struct keyd_claim {
	const uint8_t		*cl_key;	/* the proven Ed25519 key */
	const uint8_t		*cl_fpr;	/* its fingerprint, FPR_LEN */
	const uint8_t		*cl_nick;	/* the nickname it claims */
	size_t			 cl_nicklen;
	const uint8_t		*cl_room;	/* the room id, ROOM_ID_LEN */
	const uint8_t		*cl_me;		/* our own key */
	const uint8_t		*cl_me_nick;	/* this connection's nickname */
	size_t			 cl_me_nicklen;
	/* --expect of this connection for cl_nick: 0 none, else the fingerprints. */
	size_t			 cl_nexpect;
	const uint8_t		*cl_expect[IPC_EXPECT_MAX];
};

struct keyd_verdict {
	uint8_t		 kv_trust;	/* enum ipc_trust */
	uint8_t		 kv_flags;	/* enum ipc_trust_flags */
	uint8_t		 kv_reason;	/* enum ipc_refusal, 0 unless refused */
	uint8_t		 kv_label[NICK_MAX];	/* with TF_KNOWN_AS */
	size_t		 kv_labellen;
	uint8_t		 kv_fpr2[FPR_LEN];	/* the other key's, where one is named */
};

/*
 * What a proven identity is trusted as (PROTOCOL.md 4, "Trust"): the first
 * rule that applies of --expect, our own key, verified, our own nickname,
 * the nickname taken by another key, pinned, new. Reads known_peers (the
 * caller holds the lock) and keyd's provisional contacts. flags:
 *  - KEYD_TRUST_COMMIT: record what the decision implies: a new contact
 *    pinned when the budget (KEYD_PIN_BURST, one more per KEYD_PIN_EVERY s
 *    of now, fewer than KEYD_PINS_ENTRIES) allows and its name is not
 *    contested, else kept provisional (TF_NOT_PINNED); a pinned key's label
 *    added for this room; an "fp:" entry replaced by the key it names. A
 *    refusal records nothing. Without it (re-checking a live session)
 *    nothing is written.
 *  - KEYD_TRUST_UNIFORM: the decision is followed by a message on the wire
 *    (the initiator's HS_FIN), so its cost must not depend on the outcome:
 *    one other identity's fingerprint is computed afresh whether one is
 *    needed or not (without it, only when needed, from the cache).
 * now is monotonic seconds, wall unix seconds (SINCE of a new entry). 0, or
 * a negative veil_err (I/O, crypto) with *v zeroed.
 */
#define KEYD_TRUST_COMMIT	0x01
#define KEYD_TRUST_UNIFORM	0x02
int	keyd_trust_decide(struct keyd_pins *kp, const struct keyd_claim *cl, int flags,
	    uint64_t now, int64_t wall, struct keyd_verdict *v) VEIL_WUR;

/* ---- dispatch.c ---- */

/* Shared by every connection: this user's identity and pins. */
struct keyd_ctx {
	struct vs_identity	*kc_id;		/* seed + pub; nick unused here */
	uint8_t			 kc_fpr[FPR_LEN];
	struct keyd_pins	*kc_pins;
	uint64_t		(*kc_now)(void);	/* NULL = CLOCK_MONOTONIC (tests) */
	uint8_t			*kc_scratch;	/* KEYD_SCRATCH bytes, blobs of one answer */
	struct ipc_msg		*kc_req;	/* decoded request, reused */
	struct ipc_msg		*kc_ans;	/* answer being built, reused */
	struct vs_opened	*kc_opened;	/* plaintext of one OPEN, wiped after */
	size_t			 kc_used;	/* scratch bytes to wipe after the answer */
};

#define KEYD_SCRATCH	(IPC_BATCH_MAX * E2E_MAX + 2 * E2E_MAX)
#define KEYD_ANS_MAX	(IPC_LEN_HDR + IPC_MAX)

struct keyd_conn;

/* Allocates the context's buffers. Returns 0 or VEIL_E_ALLOC. */
int	keyd_ctx_init(struct keyd_ctx *kc, struct vs_identity *id,
	    struct keyd_pins *pins) VEIL_WUR;
/* Wipes and frees the context's buffers (not the identity or pins). */
void	keyd_ctx_free(struct keyd_ctx *kc);

/* A new connection state (no HELLO yet); NULL when out of memory. */
struct keyd_conn *keyd_conn_new(void);
/* vs_free's every session of the connection, wipes and frees it; NULL is fine. */
void	keyd_conn_free(struct keyd_conn *c);
/* Live sessions held by the connection. */
size_t	keyd_conn_nsessions(const struct keyd_conn *c);
/* 1 once the connection's HELLO was served, else 0. */
int	keyd_conn_hello(const struct keyd_conn *c);

/*
 * Serves one request: body is one message without its length prefix
 * (n bytes, as delimited by proto_ipc_length). On return 0 the answer
 * (with its length prefix) is in out, which must have KEYD_ANS_MAX bytes of
 * capacity; errors about a session are answers too (IPC_ANS_ERROR).
 * Returns KEYD_CLOSE when the request is malformed or not allowed in the
 * connection's state: the caller closes the connection without an answer.
 * A first HELLO of another IPC version (VEIL_E_VERSION) is the exception:
 * KEYD_ANSWER_CLOSE, with IPC_ANS_ERROR in out, to send before closing.
 *
 * A request that reads or writes known_peers (HS_NEXT) is served only under
 * its lock, taken without waiting before anything else is done. When
 * another process holds it, the request is put off: KEYD_WAIT, nothing done
 * (no answer, no session touched; the caller keeps the request and calls
 * again later with the same bytes). From KEYD_LOCK_WAIT_MS after the
 * connection's first put-off request it is answered IPC_ANS_ERROR
 * VEIL_E_BUSY instead (naming the file, and the holder's pid when
 * /proc/locks tells it; the session still unchanged; one line on stderr),
 * and so is at once every later one of the connection that finds the lock
 * taken within KEYD_LOCK_FRESH_MS after that: requests pipelined behind a
 * refused one have waited as long. After that, or once a request had the
 * lock, the next that finds it taken waits afresh. now_ms is a monotonic
 * clock in milliseconds.
 */
#define KEYD_CLOSE	(-100)
#define KEYD_WAIT	(-101)
#define KEYD_ANSWER_CLOSE (-102)
int	keyd_dispatch(struct keyd_ctx *kc, struct keyd_conn *c, const uint8_t *body,
	    size_t n, uint64_t now_ms, struct vbuf *out) VEIL_WUR;

/* ---- server.c ---- */

/*
 * Prepares the listening socket at path: refuses when a keyd already answers
 * there ("keyd is already running on PATH"), replaces a stale socket, binds
 * with mode 0600 and listens, non-blocking. *fd gets the socket. Returns 0
 * or a negative veil_err with a message on stderr.
 */
int	keyd_listen(const char *path, int *fd) VEIL_WUR;

/*
 * Before the sandbox: ignores SIGPIPE, installs the SIGTERM/SIGINT handler
 * and blocks both (keyd_serve takes them only inside ppoll). 0 or
 * VEIL_E_SYSTEM.
 */
int	keyd_signals(void) VEIL_WUR;

/*
 * Runs the event loop on the listening socket lfd until SIGTERM or SIGINT
 * (keyd_signals() must have run).
 * Returns 0 on a clean stop, VEIL_E_SYSTEM when the loop itself fails.
 */
int	keyd_serve(struct keyd_ctx *kc, int lfd) VEIL_WUR;

#endif
