/* SPDX-License-Identifier: ISC */
/*
 * chatc.conf: one keyword and its value per line, as OpenSSH's readconf.c
 * reads ssh_config. Keywords are matched regardless of case, through one
 * table; the value is the rest of the line (leading and trailing blanks
 * off), or "quoted" to keep them; "keyword=value" works too. A line whose
 * first non-blank is '#' is a comment. Anything else (an unknown keyword, a
 * value a keyword does not take, a repeated one-time keyword, a line too
 * long, a NUL byte, bytes that are not UTF-8) is an error naming its line:
 * a file is not half-read. The parser works on bytes in memory (fuzzed:
 * tests/fuzz/fuzz_conf.c); reading the file is chatc_conf_read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"
#include "invite.h"

enum conf_kw {
	KW_NICK = 1,
	KW_RELAY,
	KW_RELAY_FP,
	KW_ROOM,
	KW_JOIN,
	KW_EXPECT,
	KW_KEYD,
	KW_GIVE_UP,
	KW_COLOUR,
	KW_HISTORY,
};

static const struct {
	const char	*kw_name;
	int		 kw_id;
	int		 kw_many;	/* may be given more than once */
} conf_kws[] = {
	{ "nick",	KW_NICK,	0 },
	{ "relay",	KW_RELAY,	0 },
	{ "relay-fp",	KW_RELAY_FP,	0 },
	{ "room",	KW_ROOM,	1 },
	{ "join",	KW_JOIN,	1 },
	{ "expect",	KW_EXPECT,	1 },
	{ "keyd",	KW_KEYD,	0 },
	{ "give-up",	KW_GIVE_UP,	0 },
	{ "colour",	KW_COLOUR,	0 },
	{ "color",	KW_COLOUR,	0 },
	{ "history",	KW_HISTORY,	0 },
};

#define NKWS	(sizeof(conf_kws) / sizeof(conf_kws[0]))

static int conf_fail(char *, size_t, size_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
conf_fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (errlen > 0)
		snprintf(err, errlen, "line %zu: %s", line, what);
	return VEIL_E_INVALID;
}

/* "yes" / "no" (and on/off, true/false): 1, 0, or -1. */
static int
conf_bool(const char *v)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
	    strcasecmp(v, "true") == 0)
		return 1;
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0 ||
	    strcasecmp(v, "false") == 0)
		return 0;
	return -1;
}

/* One keyword with its value (NUL-terminated, at most CONF_LINE_MAX bytes). */
static int
conf_apply(struct chatc_conf *cf, int kw, const char *v, size_t line, char *err,
    size_t errlen)
{
	struct relay_ep eps[CHATC_RELAYS_MAX];
	char e[160];
	uint8_t fp[RELAYFP_LEN];
	size_t vl = strlen(v), neps;
	unsigned long n;
	char *end;
	int b;

	switch (kw) {
	case KW_NICK:
		if (!proto_nick_valid((const uint8_t *)v, vl))
			return conf_fail(err, errlen, line, "nick: 1..%d of A-Z a-z 0-9 _ . -",
			    NICK_MAX);
		memcpy(cf->cf_nick, v, vl + 1);
		break;
	case KW_RELAY:
		/* One relay, or a cluster's, in order (as --relay). */
		if (vl >= sizeof(cf->cf_relay) ||
		    chatc_relays_parse(v, eps, &neps, e, sizeof(e)) != 0)
			return conf_fail(err, errlen, line, "relay: want HOST:PORT or [ADDR6]:PORT, "
			    "or up to %d of them separated by commas", CHATC_RELAYS_MAX);
		memcpy(cf->cf_relay, v, vl + 1);
		break;
	case KW_RELAY_FP:
		if (vl >= sizeof(cf->cf_relay_fp) || proto_relayfp_parse(v, fp) != 0)
			return conf_fail(err, errlen, line, "relay-fp: want SHA256: and 43 "
			    "base64 characters, as relayd --fingerprint prints");
		memcpy(cf->cf_relay_fp, v, vl + 1);
		break;
	case KW_ROOM:
		if (vl == 0 || vl > CHATC_ROOM_NAME_MAX)
			return conf_fail(err, errlen, line, "room: a name of 1 to %d bytes",
			    CHATC_ROOM_NAME_MAX);
		if (cf->cf_nrooms + cf->cf_njoins >= CHATC_ROOMS_MAX)
			return conf_fail(err, errlen, line, "room: at most %d rooms (room and "
			    "join lines)", CHATC_ROOMS_MAX);
		cf->cf_seq[cf->cf_nrooms + cf->cf_njoins] = 0;
		memcpy(cf->cf_rooms[cf->cf_nrooms++], v, vl + 1);
		break;
	case KW_JOIN:
		if (vl < 6 || vl >= sizeof(cf->cf_joins[0]) || strncmp(v, INVITE_PREFIX,
		    sizeof(INVITE_PREFIX) - 1) != 0)
			return conf_fail(err, errlen, line, "join: an invite code (%s...)",
			    INVITE_PREFIX);
		if (cf->cf_nrooms + cf->cf_njoins >= CHATC_ROOMS_MAX)
			return conf_fail(err, errlen, line, "join: at most %d rooms (room and "
			    "join lines)", CHATC_ROOMS_MAX);
		cf->cf_seq[cf->cf_nrooms + cf->cf_njoins] = 1;
		memcpy(cf->cf_joins[cf->cf_njoins++], v, vl + 1);
		break;
	case KW_EXPECT:
		if (cf->cf_nexpect >= IPC_EXPECT_MAX)
			return conf_fail(err, errlen, line, "expect: at most %d", IPC_EXPECT_MAX);
		if (chatc_expect_parse(v, cf->cf_expect, cf->cf_nexpect, e, sizeof(e)) != 0)
			return conf_fail(err, errlen, line, "%s", e);
		cf->cf_nexpect++;
		break;
	case KW_KEYD:
		if (vl == 0 || vl >= sizeof(cf->cf_keyd) || v[0] != '/')
			return conf_fail(err, errlen, line, "keyd: an absolute path, at most %zu "
			    "bytes", sizeof(cf->cf_keyd) - 1);
		memcpy(cf->cf_keyd, v, vl + 1);
		break;
	case KW_GIVE_UP:
		n = strtoul(v, &end, 10);
		if (vl == 0 || vl > 9 || v[0] < '0' || v[0] > '9' || *end != '\0' || n == 0 ||
		    n > GIVE_UP_MAX)
			return conf_fail(err, errlen, line, "give-up: seconds, 1..%d", GIVE_UP_MAX);
		cf->cf_give_up = (int)n;
		break;
	case KW_COLOUR:
	case KW_HISTORY:
		if ((b = conf_bool(v)) < 0)
			return conf_fail(err, errlen, line, "%s: yes or no",
			    kw == KW_COLOUR ? "colour" : "history");
		if (kw == KW_COLOUR)
			cf->cf_colour = b;
		else
			cf->cf_history = b;
		break;
	default:
		return conf_fail(err, errlen, line, "?");
	}
	return 0;
}

/*
 * The value part of a line (after the keyword): blanks and one '=' off the
 * front, blanks off the end; or "quoted", taken as it is. 0, or an error.
 */
static int
conf_value(const char *p, size_t n, char *out, size_t cap, size_t line, char *err,
    size_t errlen)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n > 0 && *p == '=') {
		p++;
		n--;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n > 0 && *p == '"') {
		if (n < 2 || p[n - 1] != '"' || memchr(p + 1, '"', n - 1) != p + n - 1)
			return conf_fail(err, errlen, line, "a quoted value ends with its quote, "
			    "and holds none");
		p++;
		n -= 2;
	}
	if (n == 0)
		return conf_fail(err, errlen, line, "no value");
	if (n >= cap)
		return conf_fail(err, errlen, line, "value too long");
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
chatc_conf_parse(const char *text, size_t len, struct chatc_conf *cf, char *err,
    size_t errlen)
{
	static char value[CONF_LINE_MAX + 1];
	int seen[NKWS + 1];
	const char *p = text, *nl, *w;
	size_t line = 0, n, wl, i;
	int rc;

	memset(cf, 0, sizeof(*cf));
	cf->cf_colour = cf->cf_history = -1;
	memset(seen, 0, sizeof(seen));
	if (errlen > 0)
		err[0] = '\0';
	if (len > CONF_MAX)
		return conf_fail(err, errlen, 0, "the file is larger than %d bytes", CONF_MAX);
	while (len > 0) {
		line++;
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (n > 0 && p[n - 1] == '\r')
			n--;		/* CR LF line ends */
		if (n > CONF_LINE_MAX)
			return conf_fail(err, errlen, line, "longer than %d bytes", CONF_LINE_MAX);
		if (memchr(p, '\0', n) != NULL)
			return conf_fail(err, errlen, line, "a NUL byte");
		if (!esc_utf8_valid((const uint8_t *)p, n))
			return conf_fail(err, errlen, line, "not UTF-8");
		for (i = 0; i < n; i++)
			if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				return conf_fail(err, errlen, line, "a control character");
		for (w = p; w < p + n && (*w == ' ' || *w == '\t'); w++)
			;
		if (w < p + n && *w != '#') {
			for (wl = 0; w + wl < p + n && w[wl] != ' ' && w[wl] != '\t' &&
			    w[wl] != '='; wl++)
				;
			for (i = 0; i < NKWS; i++)
				if (strlen(conf_kws[i].kw_name) == wl &&
				    strncasecmp(conf_kws[i].kw_name, w, wl) == 0)
					break;
			if (i == NKWS) {
				char esc[ESC_MAX(32)];

				esc_text((const uint8_t *)w, wl < 32 ? wl : 32, esc, sizeof(esc));
				return conf_fail(err, errlen, line, "unknown keyword \"%s\"", esc);
			}
			if (!conf_kws[i].kw_many) {
				if (seen[conf_kws[i].kw_id] != 0)
					return conf_fail(err, errlen, line, "%s given again (first on "
					    "line %d)", conf_kws[i].kw_name, seen[conf_kws[i].kw_id]);
				seen[conf_kws[i].kw_id] = (int)line;
			}
			if ((rc = conf_value(w + wl, (size_t)(p + n - w - (ptrdiff_t)wl), value,
			    sizeof(value), line, err, errlen)) != 0 ||
			    (rc = conf_apply(cf, conf_kws[i].kw_id, value, line, err, errlen)) != 0) {
				OPENSSL_cleanse(value, sizeof(value));
				return rc;
			}
		}
		if (nl == NULL)
			break;
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	OPENSSL_cleanse(value, sizeof(value));
	return 0;
}

int
chatc_conf_default(char *out, size_t outlen)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(out, outlen, "%s/veil/chatc.conf", x);
	else if (h != NULL && h[0] == '/')
		n = snprintf(out, outlen, "%s/.config/veil/chatc.conf", h);
	else
		return VEIL_E_STATE;
	return n < 0 || (size_t)n >= outlen ? VEIL_E_OVERSIZE : 0;
}

int
chatc_conf_read(const char *path, int must_exist, struct chatc_conf *cf, char *err,
    size_t errlen)
{
	static char buf[CONF_MAX + 1];
	struct stat st;
	ssize_t r;
	size_t len = 0;
	int fd, rc;

	memset(cf, 0, sizeof(*cf));
	cf->cf_colour = cf->cf_history = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	/*
	 * Like ssh with its config: a file others may write could point us at
	 * their relay and their expected fingerprints.
	 */
	if (fstat(fd, &st) == -1 || (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) ||
	    (S_ISREG(st.st_mode) && ((st.st_mode & 022) != 0 ||
	    (st.st_uid != getuid() && st.st_uid != 0)))) {
		snprintf(err, errlen, "%s: not a regular file of yours that only you may "
		    "write (chmod go-w it)", path);
		(void)close(fd);
		return VEIL_E_SYSTEM;
	}
	while (len <= CONF_MAX && (r = read(fd, buf + len, CONF_MAX + 1 - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			(void)close(fd);
			return VEIL_E_SYSTEM;
		}
		len += (size_t)r;
	}
	(void)close(fd);
	if ((rc = chatc_conf_parse(buf, len, cf, err, errlen)) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s %s", path, why);
	}
	snprintf(cf->cf_path, sizeof(cf->cf_path), "%s", path);
	return rc;
}
