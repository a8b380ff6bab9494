/* SPDX-License-Identifier: ISC */
/* chatc's command line, its defaults, and the room id it implies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client.h"
#include "err.h"

static const char usage_text[] =
"usage: chatc --room NAME --nick NICK [--relay HOST:PORT] [--keyd PATH]\n"
"             [--expect NICK=FINGERPRINT]... [--give-up SEC] [--batch]\n"
"       chatc --help | --version\n"
"\n"
"  --room NAME        the room to join (required)\n"
"  --nick NICK        your nickname: 1..32 of A-Z a-z 0-9 _ . - (required)\n"
"  --relay HOST:PORT  the relay (default " CHATC_RELAY_DEFAULT "; [::1]:PORT for IPv6)\n"
"  --keyd PATH        keyd's socket (default $XDG_RUNTIME_DIR/veil/keyd.sock,\n"
"                     else /tmp/veil-$UID/keyd.sock)\n"
"  --expect NICK=FPR  refuse NICK unless its fingerprint is FPR (repeatable, at most 16)\n"
"  --give-up SEC      after SEC seconds out of the room (relay unreachable, full,\n"
"                     or dropping us), report every held line as not sent and exit 4\n"
"                     (default: retry, backing off up to 10 s, for as long as you stay)\n"
"  --batch            one message per input line, one event per output line\n"
"                     (default when input or output is not a terminal); at end of\n"
"                     input, lines held for a secure session wait while one may still\n"
"                     come up: at most 8 s, or with --give-up as long as that allows\n"
"  --help             this text\n"
"  --version          the version\n"
"\n"
"commands: /help /who /verify [NICK] /rekey /quit; // sends a leading /\n"
"\n"
"exit status: 0 every line sent; 1 error (keyd lost, start-up failure);\n"
"  2 usage error; 3 some line not sent (each said so: WARN not sent ...);\n"
"  4 gave up (--give-up)\n"
"\n"
"example:\n"
"  keyd --daemon\n"
"  chatc --room lounge --nick alice --relay 127.0.0.1:7700\n";

const char *
chatc_usage(void)
{
	return usage_text;
}

static int opt_fail(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));

static int
opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return VEIL_E_INVALID;
}

int
chatc_split_hostport(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = s, *p;
	size_t hl, i;
	unsigned long v;
	char *end;

	if (hostlen > 0)
		host[0] = '\0';
	if (portlen > 0)
		port[0] = '\0';
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return VEIL_E_INVALID;
		h = s + 1;
		hl = (size_t)(close - h);
		p = close + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon)
			return VEIL_E_INVALID;
		hl = (size_t)(colon - s);
		p = colon + 1;
	}
	if (hl == 0 || hl >= hostlen || *p == '\0' || strlen(p) >= portlen)
		return VEIL_E_INVALID;
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] < '0' || p[i] > '9')
			return VEIL_E_INVALID;
	v = strtoul(p, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return VEIL_E_INVALID;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%lu", v);
	return 0;
}

int
chatc_default_keyd(char *out, size_t outlen)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (rt != NULL && rt[0] == '/')
		n = snprintf(out, outlen, "%s/veil/keyd.sock", rt);
	else
		n = snprintf(out, outlen, "/tmp/veil-%u/keyd.sock", (unsigned int)getuid());
	if (n < 0 || (size_t)n >= outlen)
		return VEIL_E_OVERSIZE;
	return 0;
}

static int
opt_expect(struct chatc_opts *o, const char *v, char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	struct chatc_expect *e;
	size_t nl, i;

	if (eq == NULL)
		return opt_fail(err, errlen, "--expect wants NICK=FINGERPRINT, not \"%s\"", v);
	nl = (size_t)(eq - v);
	if (!proto_nick_valid((const uint8_t *)v, nl))
		return opt_fail(err, errlen, "--expect: bad nickname (1..32 of A-Z a-z 0-9 _ . -)");
	if (o->co_nexpect >= IPC_EXPECT_MAX)
		return opt_fail(err, errlen, "at most %d --expect options", IPC_EXPECT_MAX);
	for (i = 0; i < o->co_nexpect; i++)
		if (strlen(o->co_expect[i].ce_nick) == nl &&
		    memcmp(o->co_expect[i].ce_nick, v, nl) == 0)
			return opt_fail(err, errlen, "--expect: %.*s given twice", (int)nl, v);
	e = &o->co_expect[o->co_nexpect];
	if (proto_fpr_parse(eq + 1, e->ce_fpr) != 0)
		return opt_fail(err, errlen, "--expect: bad fingerprint for %.*s "
		    "(40 hex digits, groups of 4 joined by ':' or '-' allowed)", (int)nl, v);
	memcpy(e->ce_nick, v, nl);
	e->ce_nick[nl] = '\0';
	o->co_nexpect++;
	return 0;
}

/* "SEC": 1..GIVE_UP_MAX, decimal digits only. 0 or VEIL_E_INVALID. */
static int
opt_seconds(const char *v, int *out)
{
	unsigned long n;
	char *end;
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < '0' || v[i] > '9')
			return VEIL_E_INVALID;
	if (i == 0 || i > 9)
		return VEIL_E_INVALID;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n == 0 || n > GIVE_UP_MAX)
		return VEIL_E_INVALID;
	*out = (int)n;
	return 0;
}

int
chatc_opts_parse(int argc, char *const argv[], struct chatc_opts *o, char *err,
    size_t errlen)
{
	static const char *const with_arg[] = {
		"--room", "--nick", "--relay", "--keyd", "--expect", "--give-up", NULL
	};
	const char *relay = CHATC_RELAY_DEFAULT, *keyd = NULL;
	int i, r;

	memset(o, 0, sizeof(*o));
	if (errlen > 0)
		err[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		char name[16];
		size_t nl, j;
		int takes = 0;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			return opt_fail(err, errlen, "unexpected argument \"%s\"", a);
		eq = strchr(a, '=');
		nl = eq != NULL ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof(name))
			return opt_fail(err, errlen, "unknown option \"%s\"", a);
		memcpy(name, a, nl);
		name[nl] = '\0';
		for (j = 0; with_arg[j] != NULL; j++)
			if (strcmp(name, with_arg[j]) == 0)
				takes = 1;
		if (takes) {
			if (eq != NULL)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				return opt_fail(err, errlen, "%s needs a value", name);
		} else if (eq != NULL)
			return opt_fail(err, errlen, "%s takes no value", name);

		if (strcmp(name, "--room") == 0) {
			if (*v == '\0')
				return opt_fail(err, errlen, "--room must not be empty");
			o->co_room = v;
		} else if (strcmp(name, "--nick") == 0) {
			if (!proto_nick_valid((const uint8_t *)v, strlen(v)))
				return opt_fail(err, errlen, "bad nickname \"%.40s\": 1..32 of "
				    "A-Z a-z 0-9 _ . -", v);
			o->co_nick = v;
		} else if (strcmp(name, "--relay") == 0)
			relay = v;
		else if (strcmp(name, "--keyd") == 0) {
			if (*v == '\0')
				return opt_fail(err, errlen, "--keyd must not be empty");
			keyd = v;
		} else if (strcmp(name, "--expect") == 0) {
			if ((r = opt_expect(o, v, err, errlen)) != 0)
				return r;
		} else if (strcmp(name, "--give-up") == 0) {
			if (opt_seconds(v, &o->co_give_up) != 0)
				return opt_fail(err, errlen, "--give-up wants seconds, 1..%d, not "
				    "\"%.40s\"", GIVE_UP_MAX, v);
		} else if (strcmp(name, "--batch") == 0)
			o->co_batch = 1;
		else if (strcmp(name, "--help") == 0)
			o->co_help = 1;
		else if (strcmp(name, "--version") == 0)
			o->co_version = 1;
		else
			return opt_fail(err, errlen, "unknown option \"%s\"", name);
	}
	if (o->co_help || o->co_version)
		return 0;
	if (o->co_room == NULL)
		return opt_fail(err, errlen, "--room is required");
	if (o->co_nick == NULL)
		return opt_fail(err, errlen, "--nick is required");
	if (strlen(relay) >= sizeof(o->co_relay) ||
	    chatc_split_hostport(relay, o->co_host, sizeof(o->co_host), o->co_port,
	    sizeof(o->co_port)) != 0)
		return opt_fail(err, errlen, "bad --relay \"%.80s\": want HOST:PORT", relay);
	snprintf(o->co_relay, sizeof(o->co_relay), "%s", relay);
	if (keyd != NULL) {
		if (strlen(keyd) >= sizeof(o->co_keyd))
			return opt_fail(err, errlen, "--keyd path too long (max %zu bytes)",
			    sizeof(o->co_keyd) - 1);
		snprintf(o->co_keyd, sizeof(o->co_keyd), "%s", keyd);
	} else if (chatc_default_keyd(o->co_keyd, sizeof(o->co_keyd)) != 0)
		return opt_fail(err, errlen, "default keyd socket path too long; use --keyd");
	return 0;
}

/* SHA-256(label || name) into out (32 bytes); zeroed on failure. */
static int
room_hash(const char *label, const char *name, uint8_t out[static HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return VEIL_E_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, label, strlen(label)) == 1 &&
	    EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(out, HASH_LEN);
		return VEIL_E_CRYPTO;
	}
	return 0;
}

int
chatc_room_id(const char *name, uint8_t out[static ROOM_ID_LEN])
{
	return room_hash("veil/1 room id", name, out);
}

int
chatc_room_key(const char *name, uint8_t out[static ROOM_KEY_LEN])
{
	/* An independent label: the room id the relay sees tells nothing of it. */
	return room_hash("veil/1 room key", name, out);
}
