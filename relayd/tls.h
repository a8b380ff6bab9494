/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAYD_TLS_H
#define VEIL_RELAYD_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "relayfp.h"

/*
 * relayd's TLS 1.3 server side (libssl), PROTOCOL.md 1.0. Everything that
 * touches a file (the key, a certificate chain, OpenSSL's configuration) and
 * every lazy initialisation of libssl happens in rtls_new, before the
 * sandbox; afterwards a connection needs only its socket, the heap and
 * getrandom (sandbox/sbx_relayd.c says why each call is allowed).
 *
 * The relay's identity is its key: the fingerprint is SHA-256 of the key's
 * SubjectPublicKeyInfo (relayfp.h), so a self-signed certificate made at
 * start-up and a CA-issued chain for the same key pin the same.
 */

struct ssl_st;
struct ssl_ctx_st;

/* Results of the per-connection calls besides 0 and negative veil_err codes. */
#define RTLS_WANT_READ		1	/* wait until the socket is readable */
#define RTLS_WANT_WRITE		2	/* wait until the socket is writable */
#define RTLS_EOF		3	/* the peer closed (close_notify or TCP FIN) */

/*
 * rtls_write hands over at most this many bytes per call: one record, so a
 * write that has to wait holds at most that much of the caller's queue.
 */
#define RTLS_WRITE_MAX		16384

/* The ALPN protocol name a client may offer (any other list is refused). */
#define RTLS_ALPN		"veil/1"

/* A fatal internal_error alert, in the clear: what a refused connection gets. */
#define RTLS_REFUSAL_LEN	7
extern const uint8_t rtls_refusal[RTLS_REFUSAL_LEN];

struct rtls {
	struct ssl_ctx_st *rt_ctx;
	uint8_t		 rt_fp[RELAYFP_LEN];	/* the key's fingerprint */
	int		 rt_ktls;		/* kTLS asked of OpenSSL */
	int		 rt_ktls_errno;		/* else why not: the probe's errno, or 0 */
};

/*
 * Creates a new ECDSA P-256 key in path (PEM, PKCS#8, mode 0600; refuses an
 * existing file) and returns its fingerprint. Returns 0, VEIL_E_SYSTEM or
 * VEIL_E_CRYPTO, with a message on stderr; nothing is left behind on failure.
 */
int	rtls_gen_key(const char *path, uint8_t fp[static RELAYFP_LEN]) VEIL_WUR;

/*
 * The fingerprint of the private key in path (any type OpenSSL loads; the
 * file must be ours, mode 0600 or tighter, not encrypted). Returns 0,
 * VEIL_E_SYSTEM, VEIL_E_INVALID or VEIL_E_CRYPTO, with a message on stderr.
 */
int	rtls_key_fingerprint(const char *path, uint8_t fp[static RELAYFP_LEN]) VEIL_WUR;

/*
 * Builds the server context from the key in keyfile and, when certfile is
 * not NULL, the chain in certfile (leaf first, PEM; its leaf must carry the
 * key); otherwise a self-signed certificate is made in memory. TLS 1.3 only,
 * no tickets, no resumption, no 0-RTT, groups X25519 and P-256. Probes the
 * kernel for kTLS and asks OpenSSL for it when present. Runs one handshake
 * with itself over a socketpair so that all of libssl's lazy set-up is done
 * before the sandbox. Returns 0, VEIL_E_SYSTEM, VEIL_E_INVALID,
 * VEIL_E_CRYPTO or VEIL_E_ALLOC, with a message on stderr. Free with
 * rtls_free.
 */
int	rtls_new(struct rtls **tp, const char *keyfile, const char *certfile) VEIL_WUR;

/*
 * The same from a key already in memory, with a self-signed certificate
 * (tests and the fuzz harness). pkey is an EVP_PKEY *; it is not taken.
 */
int	rtls_new_pkey(struct rtls **tp, void *pkey) VEIL_WUR;

/* Frees the context. NULL is fine. */
void	rtls_free(struct rtls *t);

/*
 * Whether this kernel offers kTLS: 0 if setsockopt(TCP_ULP, "tls") finds
 * the ULP, else the errno that says why not (ENOENT: no TLS ULP).
 */
int	rtls_ktls_probe(void);

/* A server-side connection on fd (non-blocking), or NULL. Free with rtls_conn_free. */
struct ssl_st *rtls_conn_new(struct rtls *t, int fd);

/*
 * Frees a connection. With notify, first tries once to send close_notify
 * (only after a finished handshake; never waits).
 */
void	rtls_conn_free(struct ssl_st *ssl, int notify);

/*
 * One step of the handshake. Returns 0 (finished), RTLS_WANT_READ,
 * RTLS_WANT_WRITE, VEIL_E_AUTH (the peer broke TLS or offered nothing we
 * accept) or VEIL_E_SYSTEM (the socket failed, or the peer went away).
 */
int	rtls_accept(struct ssl_st *ssl) VEIL_WUR;

/*
 * Reads decrypted bytes into buf (cap > 0). Returns 0 with *got > 0,
 * RTLS_WANT_READ, RTLS_WANT_WRITE (a KeyUpdate answer is waiting for the
 * socket), RTLS_EOF, VEIL_E_AUTH (a bad record or message) or VEIL_E_SYSTEM.
 */
int	rtls_read(struct ssl_st *ssl, uint8_t *buf, size_t cap, size_t *got) VEIL_WUR;

/*
 * Writes up to RTLS_WRITE_MAX bytes of buf. Returns 0 with *put > 0,
 * RTLS_WANT_WRITE or RTLS_WANT_READ (call again with the same bytes, the
 * buffer may have moved, and more may follow them), VEIL_E_AUTH or
 * VEIL_E_SYSTEM.
 */
int	rtls_write(struct ssl_st *ssl, const uint8_t *buf, size_t len, size_t *put) VEIL_WUR;

/* 1 if bytes read from the socket wait inside libssl (epoll cannot tell). */
int	rtls_pending(const struct ssl_st *ssl);

/* Whether kTLS carries the connection's sending (*tx) and receiving (*rx). */
void	rtls_conn_ktls(struct ssl_st *ssl, int *tx, int *rx);

#endif
