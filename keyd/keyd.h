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
 * disk), pins.c (known_peers), dispatch.c (every request keyd serves, one
 * table), server.c (socket and event loop), main.c (command line, start-up,
 * hardening, sandbox).
 */

#define KEYD_MAX_CLIENTS	32	/* connections at once (server.c: who gets a slot) */
#define KEYD_MAX_NOHELLO	8	/* of them, at most this many before their HELLO */
#define KEYD_HELLO_MS		5000	/* a connection's HELLO is due this long after accept */
#define KEYD_FAIR_SHARE		8	/* slots one process keeps when all are taken */
#define KEYD_LOCK_WAIT_MS	3000	/* a request waits this long for known_peers */
#define KEYD_LOCK_FRESH_MS	1000	/* ... refused at once for this long after */
#define KEYD_MAX_SESSIONS	256	/* per connection; more: VEIL_E_LIMIT */
#define KEYD_PINS_MAX		(1024L * 1024)	/* known_peers larger than this is refused */
#define KEYD_IDENTITY_FILE	"identity"
#define KEYD_PINS_FILE		"known_peers"
#define KEYD_FORGET_WAIT_MS	5000	/* keyd --forget waits this long for the lock */

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
 * known_peers: one line per pin, "NICK HEX64\n" (NICK as proto_nick_valid,
 * HEX64 the lowercase hex of the 32-byte Ed25519 public key). Blank lines and
 * lines starting with '#' are kept as they are. The file is opened once
 * (before the sandbox); every lookup, add or forget runs under the caller's
 * flock(LOCK_EX) on it, re-reads the whole file with pread, and writes with
 * pwrite/ftruncate/fsync on the same fd, so a concurrent `keyd --forget`
 * (same discipline) is always seen. Nothing here waits for the lock except
 * keyd_pins_lock_wait, which the daemon never calls.
 */
struct keyd_pins {
	int		 kp_fd;
	char		*kp_path;	/* for messages; owned */
	int		 kp_locked;	/* we hold the flock */
	int		 kp_locks_fd;	/* /proc/locks, or -1: who holds the lock */
	unsigned int	 kp_dev_major;	/* the file, as /proc/locks names it */
	unsigned int	 kp_dev_minor;
	unsigned long long kp_ino;
};

/*
 * Opens (creating, 0600) path, and /proc/locks when it can (for
 * keyd_pins_holder). Refuses a file with group/other bits. Returns 0 or
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
 * Looks nick up: *found = 1 and pub filled when pinned, else *found = 0.
 * The caller holds the lock (else VEIL_E_STATE, nothing read).
 * Returns 0, VEIL_E_SYSTEM (I/O), VEIL_E_INVALID (a malformed line) or
 * VEIL_E_OVERSIZE (file over KEYD_PINS_MAX).
 */
int	keyd_pins_lookup(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
	    uint8_t pub[static ED25519_PUB_LEN], int *found) VEIL_WUR;
/*
 * Pins nick to pub if it has no pin (appends a line, fsync). 0 also when the
 * same key is already pinned; VEIL_E_PIN when another key is, with that key
 * in old (if old is not NULL). Errors as lookup.
 */
int	keyd_pins_add(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
	    const uint8_t pub[static ED25519_PUB_LEN],
	    uint8_t old[ED25519_PUB_LEN]) VEIL_WUR;
/*
 * Removes nick's pin, rewriting the file in place. *existed = 1 and old
 * filled with the forgotten key, or *existed = 0. Errors as lookup.
 */
int	keyd_pins_forget(struct keyd_pins *kp, const uint8_t *nick, size_t nicklen,
	    int *existed, uint8_t old[static ED25519_PUB_LEN]) VEIL_WUR;

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
