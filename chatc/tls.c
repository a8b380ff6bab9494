/* SPDX-License-Identifier: ISC */
/*
 * What the relay must prove on the TLS link, PROTOCOL.md 1.0: its key equal
 * to the pin (--relay-fp, an invite code), else a chain from a CA for the
 * host, else the key known_relays holds for HOST:PORT (trust on first use,
 * like ssh's known_hosts). Everything that opens a file (OpenSSL's
 * configuration, the CA store, known_relays) happens in ctls_init, before
 * the sandbox; afterwards known_relays is only flock'ed, pread, pwritten and
 * fsync'ed through the descriptor kept open. The lock is never waited for
 * in the loop: a try that finds it held says so, and the link tries again.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "client.h"
#include "err.h"
#include "relayfp.h"

#define CTLS_GROUPS		"X25519:P-256"
#define CTLS_ALPN		"\x06" "veil/1"
#define KR_SINCE_LEN		20	/* YYYY-MM-DDTHH:MM:SSZ */
#define KR_FORGET_WAIT_S	5

static int ctls_fail(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));

static int
ctls_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return VEIL_E_SYSTEM;
}

int
ctls_known_relays_path(char *out, size_t outlen)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(out, outlen, "%s/veil/known_relays", x);
	else {
		if (home == NULL || home[0] != '/') {
			if ((pw = getpwuid(geteuid())) == NULL || pw->pw_dir == NULL)
				return VEIL_E_SYSTEM;
			home = pw->pw_dir;
		}
		n = snprintf(out, outlen, "%s/.local/share/veil/known_relays", home);
	}
	if (n < 0 || (size_t)n >= outlen)
		return VEIL_E_OVERSIZE;
	return 0;
}

/*
 * The directory of known_relays: missing components are made 0700 (as keyd
 * makes its home); the last must be ours with no group or other bits.
 */
static int
kr_dir(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t len, i;
	char *slash;

	if ((len = strlen(path)) >= sizeof(buf))
		return ctls_fail(err, errlen, "known_relays path too long");
	memcpy(buf, path, len + 1);
	if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
		return ctls_fail(err, errlen, "bad known_relays path %s", path);
	*slash = '\0';
	len = strlen(buf);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST)
			return ctls_fail(err, errlen, "cannot create %s: %s", buf, strerror(errno));
		buf[i] = i == len ? '\0' : '/';
	}
	if (lstat(buf, &st) == -1)
		return ctls_fail(err, errlen, "%s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return ctls_fail(err, errlen, "%s must be a directory owned by uid %u with mode "
		    "0700 (it is owned by uid %u, mode %04o); fix it or set XDG_DATA_HOME",
		    buf, (unsigned)geteuid(), (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Opens (creating) known_relays: a regular file of ours, mode 0600 or tighter. */
static int
kr_open(const char *path, int create, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	if (create && kr_dir(path, err, errlen) != 0)
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd == -1) {
		e = errno;
		(void)ctls_fail(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		(void)ctls_fail(err, errlen, "%s must be a regular file owned by uid %u with "
		    "mode 0600 (it is mode %04o); chmod 600 it", path, (unsigned)geteuid(),
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int
ctls_init(struct ctls *t, const struct chatc_opts *o, char *err, size_t errlen)
{
	const char *cafile;
	uint8_t b[16];
	SSL_CTX *ctx;

	memset(t, 0, sizeof(*t));
	t->ct_krfd = -1;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ctls_fail(err, errlen, "cannot make a TLS context");
	t->ct_ctx = ctx;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, CTLS_GROUPS) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)CTLS_ALPN,
	    sizeof(CTLS_ALPN) - 1) != 0)
		return ctls_fail(err, errlen, "TLS settings refused");
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* The key is judged after the handshake, in order (ctls_check). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!o->co_has_fp) {
		/*
		 * One PEM file, loaded now: a hashed directory would be read
		 * lazily, during a handshake, where no file can be opened.
		 */
		if (o->co_relay_ca != NULL) {
			if (SSL_CTX_load_verify_file(ctx, o->co_relay_ca) != 1)
				return ctls_fail(err, errlen, "--relay-ca %s: %s", o->co_relay_ca,
				    ERR_reason_error_string(ERR_peek_error()) != NULL ?
				    ERR_reason_error_string(ERR_peek_error()) : "no certificate");
			t->ct_ca = 1;
		} else {
			if ((cafile = getenv(X509_get_default_cert_file_env())) == NULL)
				cafile = X509_get_default_cert_file();
			t->ct_ca = access(cafile, R_OK) == 0 &&
			    SSL_CTX_load_verify_file(ctx, cafile) == 1;
			ERR_clear_error();
			/* Trust on first use when no CA vouches for the relay. */
			if (ctls_known_relays_path(t->ct_krpath, sizeof(t->ct_krpath)) != 0)
				return ctls_fail(err, errlen, "no path for known_relays: set "
				    "XDG_DATA_HOME or HOME, or give --relay-fp");
			if ((t->ct_krfd = kr_open(t->ct_krpath, 1, err, errlen)) == -1)
				return VEIL_E_SYSTEM;
		}
	}
	/* libssl's generators seeded now; later they only reseed (getrandom). */
	if (RAND_bytes(b, sizeof(b)) != 1 || RAND_priv_bytes(b, sizeof(b)) != 1)
		return ctls_fail(err, errlen, "no randomness for TLS");
	return 0;
}

void
ctls_free(struct ctls *t)
{
	SSL_CTX_free(t->ct_ctx);
	t->ct_ctx = NULL;
	if (t->ct_krfd != -1)
		close(t->ct_krfd);
	t->ct_krfd = -1;
}

/* The fingerprint of the leaf certificate ssl's peer sent. */
static int
peer_fp(SSL *ssl, uint8_t fp[static RELAYFP_LEN])
{
	unsigned char *der = NULL;
	X509 *x;
	int len, r;

	if ((x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    (len = i2d_PUBKEY(X509_get0_pubkey(x), &der)) <= 0) {
		ERR_clear_error();
		return VEIL_E_AUTH;
	}
	r = proto_relayfp_of_spki(der, (size_t)len, fp);
	OPENSSL_free(der);
	return r;
}

/* The whole file (at most KR_MAX bytes), NUL-terminated; the caller frees it. */
static int
kr_read(int fd, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	ssize_t n;
	char *buf, *nb;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(cap + 1)) == NULL)
		return VEIL_E_ALLOC;
	for (;;) {
		if (len == cap) {
			if (cap >= KR_MAX) {
				free(buf);
				return VEIL_E_OVERSIZE;
			}
			cap *= 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return VEIL_E_ALLOC;
			}
			buf = nb;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return VEIL_E_SYSTEM;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * One line "HOST:PORT FP SINCE" (without its newline) into its address
 * (pointer and length) and fingerprint. 0, or VEIL_E_INVALID.
 */
static int
kr_parse_line(const char *p, size_t n, const char **addr, size_t *alen,
    uint8_t fp[static RELAYFP_LEN])
{
	char fptext[RELAYFP_TEXT_MAX];
	const char *sp1, *sp2, *end = p + n;

	if ((sp1 = memchr(p, ' ', n)) == NULL || sp1 == p ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL ||
	    (size_t)(sp2 - sp1 - 1) != RELAYFP_TEXT_LEN ||
	    (size_t)(end - sp2 - 1) != KR_SINCE_LEN || memchr(sp2 + 1, ' ', KR_SINCE_LEN) != NULL)
		return VEIL_E_INVALID;
	memcpy(fptext, sp1 + 1, RELAYFP_TEXT_LEN);
	fptext[RELAYFP_TEXT_LEN] = '\0';
	if (proto_relayfp_parse(fptext, fp) != 0)
		return VEIL_E_INVALID;
	*addr = p;
	*alen = (size_t)(sp1 - p);
	return 0;
}

int
ctls_kr_find(const char *buf, size_t len, const char *hostport, uint8_t fp[static RELAYFP_LEN],
    unsigned int *lineno, unsigned int *bad)
{
	size_t hl = strlen(hostport), n, alen;
	const char *p = buf, *end = buf + len, *nl, *addr;
	uint8_t f[RELAYFP_LEN];
	unsigned int line = 0;

	*bad = 0;
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && kr_parse_line(p, n, &addr, &alen, f) != 0) {
			if (*bad == 0)
				*bad = line;
		} else if (n > 0 && alen == hl && memcmp(addr, hostport, hl) == 0) {
			memcpy(fp, f, RELAYFP_LEN);
			*lineno = line;
			return 1;
		}
		p += n + (nl != NULL);
	}
	return 0;
}

/* Appends hostport's line at offset off (after a newline if the file lacks its last). */
static int
kr_append(int fd, const char *buf, size_t len, const char *hostport,
    const uint8_t fp[static RELAYFP_LEN])
{
	char line[CHATC_HOST_MAX + 16 + RELAYFP_TEXT_MAX + KR_SINCE_LEN + 4];
	char fptext[RELAYFP_TEXT_MAX], since[KR_SINCE_LEN + 1];
	struct tm tm;
	time_t now = time(NULL);
	size_t off = 0;
	ssize_t w;
	int n;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm) != KR_SINCE_LEN)
		return VEIL_E_SYSTEM;
	proto_relayfp_format(fp, fptext);
	n = snprintf(line, sizeof(line), "%s%s %s %s\n",
	    len > 0 && buf[len - 1] != '\n' ? "\n" : "", hostport, fptext, since);
	if (n < 0 || (size_t)n >= sizeof(line))
		return VEIL_E_OVERSIZE;
	while (off < (size_t)n) {
		w = pwrite(fd, line + off, (size_t)n - off, (off_t)(len + off));
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return VEIL_E_SYSTEM;
		off += (size_t)w;
	}
	return fsync(fd) == 0 ? 0 : VEIL_E_SYSTEM;
}

/* Trust on first use through known_relays (the file locked meanwhile). */
static int
kr_check(struct ctls *t, const char *hostport, const uint8_t fp[static RELAYFP_LEN],
    uint8_t want[static RELAYFP_LEN], int *how, char *where, size_t wherelen,
    char *why, size_t whylen)
{
	unsigned int line = 0, bad = 0;
	char *buf = NULL;
	size_t len = 0;
	int rc, v;

	if (flock(t->ct_krfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK || errno == EINTR)
			return CT_BUSY;
		snprintf(why, whylen, "cannot lock %s: %s", t->ct_krpath, strerror(errno));
		return CT_FAIL;
	}
	if ((rc = kr_read(t->ct_krfd, &buf, &len)) != 0) {
		snprintf(why, whylen, "cannot read %s: %s", t->ct_krpath,
		    rc == VEIL_E_OVERSIZE ? "over 1 MiB" : veil_strerror(rc));
		v = CT_FAIL;
	} else if (ctls_kr_find(buf, len, hostport, want, &line, &bad)) {
		if (proto_relayfp_equal(fp, want)) {
			*how = RA_KNOWN;
			v = CT_OK;
		} else {
			snprintf(where, wherelen, "%s line %u", t->ct_krpath, line);
			v = CT_MISMATCH;
		}
	} else if ((rc = kr_append(t->ct_krfd, buf, len, hostport, fp)) != 0) {
		snprintf(why, whylen, "cannot write %s: %s", t->ct_krpath, veil_strerror(rc));
		v = CT_FAIL;
	} else {
		*how = RA_NEW;
		v = CT_OK;
	}
	if (v == CT_OK && bad != 0 && !t->ct_kr_warned) {
		/* Said once: the caller shows why on success. */
		snprintf(why, whylen, "%s line %u is not HOST:PORT SHA256:... SINCE; ignored",
		    t->ct_krpath, bad);
		t->ct_kr_warned = 1;
	}
	free(buf);
	(void)flock(t->ct_krfd, LOCK_UN);
	return v;
}

/* A chain error that only says no CA we trust vouches for the key: TOFU may decide. */
static int
ca_unvouched(long v)
{
	return v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

int
ctls_check(struct ctls *t, struct ssl_st *ssl, const struct room *r,
    uint8_t fp[static RELAYFP_LEN], uint8_t want[static RELAYFP_LEN], int *how,
    char *where, size_t wherelen, char *why, size_t whylen)
{
	long v;

	*how = RA_NONE;
	if (wherelen > 0)
		where[0] = '\0';
	if (whylen > 0)
		why[0] = '\0';
	memset(want, 0, RELAYFP_LEN);
	if (peer_fp(ssl, fp) != 0) {
		snprintf(why, whylen, "the relay sent no usable certificate");
		return CT_FAIL;
	}
	/* 1. The pin decides alone. */
	if (r->rm_has_pin) {
		memcpy(want, r->rm_pin, RELAYFP_LEN);
		if (!proto_relayfp_equal(fp, r->rm_pin)) {
			snprintf(where, wherelen, "%s", r->rm_pin_from != NULL ?
			    r->rm_pin_from : "the pin");
			return CT_MISMATCH;
		}
		*how = RA_PINNED;
		return CT_OK;
	}
	/* 2. A chain to a CA we trust, for this host name or address. */
	if (t->ct_ca) {
		if ((v = SSL_get_verify_result(ssl)) == X509_V_OK) {
			*how = RA_CA;
			return CT_OK;
		}
		/*
		 * A chain a CA vouches for that fails (expired, another host),
		 * or any failure with --relay-ca: refused, never pinned.
		 */
		if (!ca_unvouched(v) || t->ct_krfd == -1) {
			snprintf(why, whylen, "%s", X509_verify_cert_error_string(v));
			return CT_CAFAIL;
		}
	}
	/* 3. Trust on first use. */
	if (t->ct_krfd == -1) {
		snprintf(why, whylen, "no pin, no CA store and no known_relays");
		return CT_FAIL;
	}
	return kr_check(t, r->rm_relay, fp, want, how, where, wherelen, why, whylen);
}

int
ctls_forget(const char *hostport)
{
	char path[4096], err[512], *buf = NULL, *out = NULL, fptext[RELAYFP_TEXT_MAX];
	const char *p, *end, *nl, *addr;
	uint8_t fp[RELAYFP_LEN];
	size_t len, olen = 0, n, alen, hl = strlen(hostport), off = 0;
	unsigned int gone = 0;
	ssize_t w;
	int fd, i, rc = 1;

	if (ctls_known_relays_path(path, sizeof(path)) != 0) {
		fprintf(stderr, "chatc: no path for known_relays: set XDG_DATA_HOME or HOME\n");
		return 1;
	}
	if ((fd = kr_open(path, 0, err, sizeof(err))) == -1) {
		if (errno == ENOENT) {
			printf("chatc: %s is not in %s (no such file)\n", hostport, path);
			return 0;
		}
		fprintf(stderr, "chatc: %s\n", err);
		return 1;
	}
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || i >= KR_FORGET_WAIT_S * 10) {
			fprintf(stderr, "chatc: cannot lock %s: %s\n", path,
			    errno == EWOULDBLOCK ? "held by another process" : strerror(errno));
			close(fd);
			return 1;
		}
		(void)usleep(100000);
	}
	if (kr_read(fd, &buf, &len) != 0 || (out = malloc(len + 1)) == NULL) {
		fprintf(stderr, "chatc: cannot read %s\n", path);
		goto done;
	}
	for (p = buf, end = buf + len; p < end; p += n + (nl != NULL)) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && kr_parse_line(p, n, &addr, &alen, fp) == 0 && alen == hl &&
		    memcmp(addr, hostport, hl) == 0) {
			proto_relayfp_format(fp, fptext);
			printf("chatc: forgot %s %s\n", hostport, fptext);
			gone++;
			continue;
		}
		memcpy(out + olen, p, n + (nl != NULL));
		olen += n + (nl != NULL);
	}
	if (gone == 0) {
		printf("chatc: %s is not in %s\n", hostport, path);
		rc = 0;
		goto done;
	}
	while (off < olen) {
		w = pwrite(fd, out + off, olen - off, (off_t)off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != olen || ftruncate(fd, (off_t)olen) == -1 || fsync(fd) == -1) {
		fprintf(stderr, "chatc: cannot rewrite %s: %s\n", path, strerror(errno));
		goto done;
	}
	printf("chatc: %s: the next connection to %s pins the key it finds\n", path, hostport);
	rc = 0;
 done:
	free(buf);
	free(out);
	(void)flock(fd, LOCK_UN);
	close(fd);
	return rc;
}
