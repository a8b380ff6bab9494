/* SPDX-License-Identifier: ISC */
/*
 * relayd's TLS 1.3 server side (see tls.h). Start-up: the key (file checks
 * as keyd's identity: ours, mode 0600), the certificate (a chain from a file
 * or one made here), the context, a kTLS probe and a self-test handshake.
 * Per connection: thin wrappers that turn SSL_get_error into the few cases
 * relay.c acts on, with the error queue cleared around every call so one
 * connection's failure never shows up as another's.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "err.h"
#include "relayfp.h"
#include "tls.h"

#define RTLS_KEY_MAX		(64 * 1024)	/* a PEM private key file, at most */
#define RTLS_CERT_DAYS		36525		/* self-signed: valid for 100 years */
#define RTLS_CN			"veil relay"
#define RTLS_GROUPS		"X25519:P-256"
#define RTLS_SELFTEST_TURNS	64

/* TLSPlaintext: alert(21), legacy version 3.3, length 2, fatal(2), internal_error(80). */
const uint8_t rtls_refusal[RTLS_REFUSAL_LEN] = { 21, 3, 3, 0, 2, 2, 80 };

/*
 * libssl's set-up, with no clean-up at exit: OPENSSL_cleanup would run
 * under the sandbox and wait on a lock it never made (futex, which the
 * filter does not allow). The kernel frees everything at exit anyway.
 * Reads OpenSSL's configuration file, so before the sandbox.
 */
static int
rtls_init(void)
{
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		fprintf(stderr, "relayd: cannot initialise libssl\n");
		return VEIL_E_CRYPTO;
	}
	return 0;
}

/* The first OpenSSL error, for a start-up message. */
static const char *
rtls_errstr(void)
{
	static char buf[256];
	unsigned long e = ERR_peek_error();

	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* Never asks for a passphrase: relayd starts unattended. */
static int
rtls_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The key file: ours, a regular file, no group or other bits (like keyd's identity). */
static int
rtls_key_file_ok(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "relayd: key %s: %s\n", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "relayd: key %s is not a regular file\n", path);
		return VEIL_E_SYSTEM;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr, "relayd: key %s is owned by uid %u, not by relayd's uid %u\n",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return VEIL_E_SYSTEM;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "relayd: permissions %04o for key %s are too open; chmod 600 it\n",
		    (unsigned)(st.st_mode & 07777), path);
		return VEIL_E_SYSTEM;
	}
	if (st.st_size <= 0 || st.st_size > RTLS_KEY_MAX) {
		fprintf(stderr, "relayd: key %s is empty or too large\n", path);
		return VEIL_E_INVALID;
	}
	return 0;
}

/* Loads a PEM private key from path, after the file checks. */
static int
rtls_load_key(const char *path, EVP_PKEY **out)
{
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	BIO *bio = NULL;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		fprintf(stderr, "relayd: key %s: %s\n", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if ((r = rtls_key_file_ok(fd, path)) != 0) {
		close(fd);
		return r;
	}
	if ((buf = OPENSSL_secure_malloc(RTLS_KEY_MAX)) == NULL) {
		close(fd);
		return VEIL_E_ALLOC;
	}
	while (got < RTLS_KEY_MAX) {
		n = read(fd, buf + got, RTLS_KEY_MAX - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = VEIL_E_INVALID;
	if (got == 0 || got >= RTLS_KEY_MAX)
		fprintf(stderr, "relayd: key %s is empty or too large\n", path);
	else if ((bio = BIO_new_mem_buf(buf, (int)got)) == NULL)
		r = VEIL_E_ALLOC;
	else if ((*out = PEM_read_bio_PrivateKey(bio, NULL, rtls_no_pass, NULL)) == NULL)
		fprintf(stderr, "relayd: key %s: not an unencrypted PEM private key (%s)\n",
		    path, rtls_errstr());
	else
		r = 0;
	BIO_free(bio);
	OPENSSL_secure_clear_free(buf, RTLS_KEY_MAX);
	return r;
}

static int
rtls_pkey_fp(EVP_PKEY *key, uint8_t fp[static RELAYFP_LEN])
{
	unsigned char *der = NULL;
	int len, r;

	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		return VEIL_E_CRYPTO;
	r = proto_relayfp_of_spki(der, (size_t)len, fp);
	OPENSSL_free(der);
	return r;
}

int
rtls_key_fingerprint(const char *path, uint8_t fp[static RELAYFP_LEN])
{
	EVP_PKEY *key;
	int r;

	memset(fp, 0, RELAYFP_LEN);
	if ((r = rtls_init()) != 0 || (r = rtls_load_key(path, &key)) != 0)
		return r;
	r = rtls_pkey_fp(key, fp);
	EVP_PKEY_free(key);
	return r;
}

int
rtls_gen_key(const char *path, uint8_t fp[static RELAYFP_LEN])
{
	EVP_PKEY *key;
	BIO *mem = NULL;
	char *pem;
	long len;
	ssize_t w;
	size_t off = 0;
	int fd = -1, r = VEIL_E_CRYPTO, made = 0;

	memset(fp, 0, RELAYFP_LEN);
	if (rtls_init() != 0)
		return VEIL_E_CRYPTO;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		fprintf(stderr, "relayd: cannot make a P-256 key: %s\n", rtls_errstr());
		return VEIL_E_CRYPTO;
	}
	if ((mem = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(mem, &pem)) <= 0 ||
	    rtls_pkey_fp(key, fp) != 0) {
		fprintf(stderr, "relayd: cannot encode the key: %s\n", rtls_errstr());
		goto out;
	}
	/* O_EXCL: an existing key (perhaps pinned by many) is never replaced. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "relayd: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (refusing to replace a key)" : "");
		r = VEIL_E_SYSTEM;
		goto out;
	}
	made = 1;
	while (off < (size_t)len) {
		w = write(fd, pem + off, (size_t)len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != (size_t)len || fsync(fd) == -1) {
		fprintf(stderr, "relayd: writing %s: %s\n", path, strerror(errno));
		r = VEIL_E_SYSTEM;
		goto out;
	}
	r = 0;
 out:
	if (fd != -1 && close(fd) == -1 && r == 0) {
		fprintf(stderr, "relayd: writing %s: %s\n", path, strerror(errno));
		r = VEIL_E_SYSTEM;
	}
	if (r != 0) {
		if (made)
			(void)unlink(path);
		memset(fp, 0, RELAYFP_LEN);
	}
	BIO_free(mem);		/* secure memory: cleansed when freed */
	EVP_PKEY_free(key);
	return r;
}

/* A certificate for key, signed by itself: subject and issuer "CN=veil relay". */
static X509 *
rtls_self_signed(EVP_PKEY *key)
{
	const EVP_MD *md = EVP_sha256();
	uint8_t serial[16];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *x;
	int ok;

	/* Ed25519 and Ed448 sign the message itself, with no separate digest. */
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		md = NULL;
	if ((x = X509_new()) == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
		X509_free(x);
		return NULL;
	}
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);	/* positive, 16 bytes */
	ok = X509_set_version(x, X509_VERSION_3) == 1 &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_time_adj_ex(X509_getm_notAfter(x), RTLS_CERT_DAYS, 0, NULL) != NULL &&
	    (name = X509_get_subject_name(x)) != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)RTLS_CN, -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, name) == 1 &&
	    X509_set_pubkey(x, key) == 1 &&
	    X509_sign(x, key, md) > 0;
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * ALPN: a client that names protocols must name ours (RFC 7301 says to end
 * the handshake otherwise); one that names none is served.
 */
static int
rtls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x06" RTLS_ALPN;
	unsigned char *sel = NULL;
	unsigned char sellen = 0;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, &sellen, ours, sizeof(ours) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

int
rtls_ktls_probe(void)
{
	int fd, e;

#ifdef OPENSSL_NO_KTLS
	return ENOTSUP;
#endif
	/*
	 * The ULP is looked up before the socket state is checked: a missing
	 * one gives ENOENT, a present one ENOTCONN on an unconnected socket.
	 */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == 0)
		e = 0;
	else
		e = errno == ENOTCONN ? 0 : errno;
	close(fd);
	return e;
}

/* The context for key and its certificate (chain); the kTLS decision is t's. */
static int
rtls_ctx(struct rtls *t, EVP_PKEY *key, const char *certfile)
{
	SSL_CTX *ctx;
	X509 *x = NULL, *leaf;
	uint64_t opts;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		fprintf(stderr, "relayd: TLS context: %s\n", rtls_errstr());
		return VEIL_E_CRYPTO;
	}
	t->rt_ctx = ctx;
	opts = SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF;
	if (t->rt_ktls)
		opts |= SSL_OP_ENABLE_KTLS;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, RTLS_GROUPS) != 1 ||
	    SSL_CTX_set_num_tickets(ctx, 0) != 1 ||
	    SSL_CTX_set_max_early_data(ctx, 0) != 1 ||
	    SSL_CTX_set_recv_max_early_data(ctx, 0) != 1) {
		fprintf(stderr, "relayd: TLS settings: %s\n", rtls_errstr());
		return VEIL_E_CRYPTO;
	}
	SSL_CTX_set_options(ctx, opts);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/*
	 * Buffers only while bytes are in flight (an idle connection keeps
	 * none); a write may end after any record and resume from a queue
	 * that moved (relayd compacts it).
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One recv() takes what the socket has, not one record header at a time. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, rtls_alpn, NULL);
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		fprintf(stderr, "relayd: TLS key: %s\n", rtls_errstr());
		return VEIL_E_INVALID;
	}
	if (certfile != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
			fprintf(stderr, "relayd: certificate %s: %s\n", certfile, rtls_errstr());
			return VEIL_E_INVALID;
		}
		leaf = SSL_CTX_get0_certificate(ctx);
		if (leaf != NULL && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
			fprintf(stderr, "relayd: warning: certificate %s has expired; "
			    "clients that check it against a CA will refuse it\n", certfile);
	} else {
		if ((x = rtls_self_signed(key)) == NULL ||
		    SSL_CTX_use_certificate(ctx, x) != 1) {
			fprintf(stderr, "relayd: self-signed certificate: %s\n", rtls_errstr());
			X509_free(x);
			return VEIL_E_CRYPTO;
		}
		X509_free(x);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "relayd: certificate %s does not carry the key given by --key\n",
		    certfile != NULL ? certfile : "(self-signed)");
		ERR_clear_error();
		return VEIL_E_INVALID;
	}
	return 0;
}

/* Runs the two handshakes in turn until both are done; 0 or VEIL_E_CRYPTO. */
static int
rtls_selftest_run(SSL *srv, SSL *cli)
{
	uint8_t b = 0x5a, got = 0;
	size_t n = 0;
	int i, sd = 0, cd = 0, rc = 0;

	for (i = 0; i < RTLS_SELFTEST_TURNS && !(sd && cd); i++) {
		if (!cd && (rc = SSL_do_handshake(cli)) != 1 &&
		    SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ)
			return VEIL_E_CRYPTO;
		cd = cd || rc == 1;
		if (!sd) {
			rc = rtls_accept(srv);
			if (rc < 0)
				return VEIL_E_CRYPTO;
			sd = rc == 0;
		}
	}
	if (!(sd && cd) || SSL_write_ex(cli, &b, 1, &n) != 1 || n != 1)
		return VEIL_E_CRYPTO;
	if (rtls_read(srv, &got, 1, &n) != 0 || n != 1 || got != b)
		return VEIL_E_CRYPTO;
	return 0;
}

/*
 * One handshake with ourselves over a socketpair: proves the key and
 * certificate work together, and makes libssl fetch every algorithm and
 * seed its generators now, before the sandbox.
 */
static int
rtls_selftest(struct rtls *t)
{
	SSL_CTX *cctx = NULL;
	SSL *srv = NULL, *cli = NULL;
	uint8_t b[32];
	int sv[2] = { -1, -1 }, r = VEIL_E_CRYPTO;

	if (RAND_bytes(b, sizeof(b)) != 1 || RAND_priv_bytes(b, sizeof(b)) != 1)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
		r = VEIL_E_SYSTEM;
		goto out;
	}
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION) != 1 ||
	    (cli = SSL_new(cctx)) == NULL || SSL_set_fd(cli, sv[1]) != 1 ||
	    SSL_set_alpn_protos(cli, (const unsigned char *)"\x06" RTLS_ALPN, 7) != 0 ||
	    (srv = rtls_conn_new(t, sv[0])) == NULL)
		goto out;
	SSL_set_connect_state(cli);
	r = rtls_selftest_run(srv, cli);
 out:
	if (r != 0)
		fprintf(stderr, "relayd: TLS self-test failed: %s\n", rtls_errstr());
	SSL_free(cli);
	if (srv != NULL)
		rtls_conn_free(srv, 0);
	SSL_CTX_free(cctx);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	OPENSSL_cleanse(b, sizeof(b));
	ERR_clear_error();
	return r;
}

static int
rtls_setup(struct rtls **tp, EVP_PKEY *key, const char *certfile)
{
	struct rtls *t;
	int r;

	*tp = NULL;
	if ((r = rtls_init()) != 0)
		return r;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return VEIL_E_ALLOC;
	t->rt_ktls_errno = rtls_ktls_probe();
	t->rt_ktls = t->rt_ktls_errno == 0;
	if ((r = rtls_pkey_fp(key, t->rt_fp)) != 0 ||
	    (r = rtls_ctx(t, key, certfile)) != 0 ||
	    (r = rtls_selftest(t)) != 0) {
		rtls_free(t);
		return r;
	}
	*tp = t;
	return 0;
}

int
rtls_new(struct rtls **tp, const char *keyfile, const char *certfile)
{
	EVP_PKEY *key;
	int r;

	*tp = NULL;
	if ((r = rtls_init()) != 0 || (r = rtls_load_key(keyfile, &key)) != 0)
		return r;
	r = rtls_setup(tp, key, certfile);
	EVP_PKEY_free(key);
	return r;
}

int
rtls_new_pkey(struct rtls **tp, void *pkey)
{
	return rtls_setup(tp, pkey, NULL);
}

void
rtls_free(struct rtls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->rt_ctx);
	free(t);
}

struct ssl_st *
rtls_conn_new(struct rtls *t, int fd)
{
	SSL *ssl;

	if ((ssl = SSL_new(t->rt_ctx)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void
rtls_conn_free(struct ssl_st *ssl, int notify)
{
	if (ssl == NULL)
		return;
	/* One try at close_notify; a full socket or a broken link just closes. */
	if (notify && SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
}

/* What SSL_get_error says about a call that did not succeed. */
static int
rtls_why(SSL *ssl, int ret)
{
	int sys = errno, e, r;

	e = SSL_get_error(ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		r = RTLS_WANT_READ;
		break;
	case SSL_ERROR_WANT_WRITE:
		r = RTLS_WANT_WRITE;
		break;
	case SSL_ERROR_ZERO_RETURN:
		r = RTLS_EOF;
		break;
	case SSL_ERROR_SYSCALL:
		/* With SSL_OP_IGNORE_UNEXPECTED_EOF a bare FIN is ZERO_RETURN. */
		r = VEIL_E_SYSTEM;
		errno = sys;
		break;
	default:
		r = VEIL_E_AUTH;
		break;
	}
	ERR_clear_error();
	return r;
}

int
rtls_accept(struct ssl_st *ssl)
{
	int ret;

	ERR_clear_error();
	if ((ret = SSL_do_handshake(ssl)) == 1)
		return 0;
	ret = rtls_why(ssl, ret);
	/* The peer went away mid-handshake: a failed handshake all the same. */
	return ret == RTLS_EOF ? VEIL_E_SYSTEM : ret;
}

int
rtls_read(struct ssl_st *ssl, uint8_t *buf, size_t cap, size_t *got)
{
	int ret;

	*got = 0;
	ERR_clear_error();
	if ((ret = SSL_read_ex(ssl, buf, cap, got)) == 1)
		return 0;
	*got = 0;
	return rtls_why(ssl, ret);
}

int
rtls_write(struct ssl_st *ssl, const uint8_t *buf, size_t len, size_t *put)
{
	int ret;

	*put = 0;
	if (len > RTLS_WRITE_MAX)
		len = RTLS_WRITE_MAX;
	ERR_clear_error();
	if ((ret = SSL_write_ex(ssl, buf, len, put)) == 1)
		return 0;
	*put = 0;
	ret = rtls_why(ssl, ret);
	return ret == RTLS_EOF ? VEIL_E_SYSTEM : ret;
}

int
rtls_pending(const struct ssl_st *ssl)
{
	return SSL_has_pending(ssl);
}

void
rtls_conn_ktls(struct ssl_st *ssl, int *tx, int *rx)
{
	*tx = *rx = 0;
#ifndef OPENSSL_NO_KTLS
	*tx = BIO_get_ktls_send(SSL_get_wbio(ssl)) > 0;
	*rx = BIO_get_ktls_recv(SSL_get_rbio(ssl)) > 0;
#else
	(void)ssl;
#endif
}
