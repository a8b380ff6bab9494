/* SPDX-License-Identifier: ISC */
/*
 * chatc's command line, its defaults, and the room it implies: an invite
 * code's secret or a room name, turned into the room id and key
 * (PROTOCOL.md 4.1, 4.2); --new-room makes the code.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"

static const char usage_text[] =
"usage: chatc --join CODE... --nick NICK [--relay HOST:PORT[,...]] [--keyd PATH]\n"
"             [--relay-fp FP | --relay-ca FILE | --plaintext]\n"
"             [--expect NICK=FINGERPRINT]... [--give-up SEC] [--config FILE] [--batch]\n"
"       chatc --room NAME --nick NICK [the same options]\n"
"       chatc --new-room [--relay HOST:PORT[,HOST:PORT]...] [--relay-fp FP[,FP]...]\n"
"       chatc --forget-relay HOST:PORT\n"
"       chatc --delete-history | -h | --help | --version\n"
"\n"
"  --new-room         make a room: print its invite code on stdout (give it only\n"
"                     to the people you invite: it is the room's key) and exit\n"
"  --join CODE        join the room of an invite code (its relays and their keys,\n"
"                     unless --relay)\n"
"  --room NAME        join the room named NAME, 1..255 bytes: a passphrase; anyone\n"
"                     who guesses it can join (a warning below 16 bytes)\n"
"                     --join and --room may be repeated, up to 10 rooms in all: a\n"
"                     window each; lines go to the first until /win N\n"
"  --nick NICK        your nickname: 1..32 of A-Z a-z 0-9 _ . - (required to join)\n"
"  --relay HOST:PORT  the relay (default " CHATC_RELAY_DEFAULT "; [::1]:PORT for IPv6);\n"
"                     or a comma-separated list, at most 8 (a cluster's relays):\n"
"                     chatc uses the first and, on losing it, joins through the next\n"
"  --relay-fp FP      the relay's key fingerprint, as relayd --fingerprint prints it\n"
"                     (SHA256:...): the TLS link is refused unless the relay has it\n"
"                     (default: the invite code's, else a CA-signed certificate for\n"
"                     HOST, else the key known_relays holds for HOST:PORT, pinned on\n"
"                     first use); with --new-room one per relay, comma-separated\n"
"  --relay-ca FILE    check the relay's certificate against the CAs in FILE (PEM)\n"
"                     instead of the system's (a private CA)\n"
"  --plaintext        no TLS: for a relayd --plaintext on loopback (tests, benches);\n"
"                     anyone on the path could read room and member ids\n"
"  --forget-relay HOST:PORT  drop HOST:PORT's pinned key from known_relays\n"
"                     ($XDG_DATA_HOME/veil, else ~/.local/share/veil), and exit\n"
"  --keyd PATH        keyd's socket (default $XDG_RUNTIME_DIR/veil/keyd.sock,\n"
"                     else /tmp/veil-$UID/keyd.sock)\n"
"  --expect NICK=FPR  refuse NICK unless its fingerprint is FPR (repeatable, at most 16)\n"
"  --give-up SEC      after SEC seconds out of the room (relay unreachable, full,\n"
"                     or dropping us), report every held line as not sent and exit 4\n"
"                     (default: retry, backing off up to 10 s, for as long as you stay)\n"
"  --config FILE      read FILE instead of $XDG_CONFIG_HOME/veil/chatc.conf\n"
"                     (else ~/.config/veil/chatc.conf): nick, relay, relay-fp, join\n"
"                     and room (repeat), expect, keyd, give-up, colour, history;\n"
"                     flags override it\n"
"  --batch            one message per input line, one event per output line\n"
"                     (default when input or output is not a terminal); at end of\n"
"                     input, lines held for a secure session wait while one may still\n"
"                     come up: at most 8 s, or with --give-up as long as that allows\n"
"  --delete-history   remove the local history ($XDG_STATE_HOME/veil/history,\n"
"                     else ~/.local/state/veil/history) and exit\n"
"  -h, --help         this text\n"
"  --version          the version\n"
"\n"
"options may be abbreviated (--ro lobby)\n"
"commands (any case): /help [CMD] /who [NICK] /verify [NICK] /rekey [NICK]\n"
"  /me TEXT /msg NICK TEXT /join CODE|NAME /part /win N /status /clear\n"
"  /lastlog TEXT /quit [MSG];\n"
"  // sends a leading /\n"
"\n"
"exit status: 0 every line sent; 1 error (keyd lost, the relay's key is not\n"
"  the one pinned, start-up failure);\n"
"  2 usage error (a bad invite code too); 3 some line not sent (each said so:\n"
"  WARN not sent ...); 4 gave up (--give-up)\n"
"\n"
"example:\n"
"  keyd --daemon\n"
"  chatc --new-room --relay relay.example:7700 \\\n"
"        --relay-fp SHA256:PCGB+0o66LCXUHa35Oud3vBixVbdsf/b4YEzFWxsMCA > code\n"
"  chatc --join \"$(cat code)\" --nick alice     # give the code only to members\n";

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
chatc_relays_parse(const char *list, struct relay_ep eps[static CHATC_RELAYS_MAX],
    size_t *n, char *err, size_t errlen)
{
	const char *p = list, *end;
	size_t len, i;

	*n = 0;
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (*n == CHATC_RELAYS_MAX)
			return opt_fail(err, errlen, "--relay: at most %d relays",
			    CHATC_RELAYS_MAX);
		if (len == 0 || len >= sizeof(eps[*n].re_addr))
			return opt_fail(err, errlen, "--relay: an empty or over-long address "
			    "in \"%.80s\"", list);
		memset(&eps[*n], 0, sizeof(eps[*n]));
		memcpy(eps[*n].re_addr, p, len);
		eps[*n].re_addr[len] = '\0';
		for (i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
				return opt_fail(err, errlen, "--relay: \"%.*s\" has a space or a "
				    "byte that is not printable ASCII", (int)(len < 80 ? len : 80), p);
		if (chatc_split_hostport(eps[*n].re_addr, eps[*n].re_host,
		    sizeof(eps[*n].re_host), eps[*n].re_port, sizeof(eps[*n].re_port)) != 0)
			return opt_fail(err, errlen, "bad --relay \"%.*s\": want HOST:PORT",
			    (int)(len < 80 ? len : 80), p);
		(*n)++;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
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

int
chatc_expect_known(const struct chatc_expect *list, size_t n, const char *nick)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].ce_nick, nick) == 0)
			return 1;
	return 0;
}

int
chatc_expect_parse(const char *v, struct chatc_expect *list, size_t n, char *err,
    size_t errlen)
{
	const char *eq = strchr(v, '=');
	struct chatc_expect *e;
	size_t nl, i;

	if (eq == NULL)
		return opt_fail(err, errlen, "expect wants NICK=FINGERPRINT, not \"%.40s\"", v);
	nl = (size_t)(eq - v);
	if (!proto_nick_valid((const uint8_t *)v, nl))
		return opt_fail(err, errlen, "expect: bad nickname (1..32 of A-Z a-z 0-9 _ . -)");
	for (i = 0; i < n; i++)
		if (strlen(list[i].ce_nick) == nl && memcmp(list[i].ce_nick, v, nl) == 0)
			return opt_fail(err, errlen, "expect: %.*s given twice", (int)nl, v);
	e = &list[n];
	if (proto_fpr_parse(eq + 1, e->ce_fpr) != 0)
		return opt_fail(err, errlen, "expect: bad fingerprint for %.*s "
		    "(40 hex digits, groups of 4 joined by ':' or '-' allowed)", (int)nl, v);
	memcpy(e->ce_nick, v, nl);
	e->ce_nick[nl] = '\0';
	return 0;
}

static int
opt_expect(struct chatc_opts *o, const char *v, char *err, size_t errlen)
{
	char why[200];

	if (o->co_nexpect >= IPC_EXPECT_MAX)
		return opt_fail(err, errlen, "at most %d --expect options", IPC_EXPECT_MAX);
	if (chatc_expect_parse(v, o->co_expect, o->co_nexpect, why, sizeof(why)) != 0)
		return opt_fail(err, errlen, "--%s", why);
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

/*
 * What was wrong with the option getopt_long stopped at (opterr is 0, so it
 * says nothing itself): a known option without its value or with one it does
 * not take, a prefix of several, or nothing we know.
 */
static int
opt_bad(const struct option *opts, const char *arg, char *err, size_t errlen)
{
	const struct option *hit = NULL;
	const char *name = arg + 2, *eq = strchr(arg, '=');
	size_t nl, i, hits = 0;

	if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
		return opt_fail(err, errlen, "unknown option \"%.40s\"", arg);
	nl = eq != NULL ? (size_t)(eq - name) : strlen(name);
	for (i = 0; opts[i].name != NULL; i++) {
		if (strncmp(opts[i].name, name, nl) != 0)
			continue;
		if (strlen(opts[i].name) == nl) {	/* exact: no ambiguity */
			hit = &opts[i];
			hits = 1;
			break;
		}
		if (hits++ == 0)
			hit = &opts[i];
	}
	if (hits > 1)
		return opt_fail(err, errlen, "ambiguous option \"--%.*s\"", (int)(nl < 40 ? nl : 40),
		    name);
	if (hit == NULL)
		return opt_fail(err, errlen, "unknown option \"%.40s\"", arg);
	return opt_fail(err, errlen, hit->has_arg == no_argument ? "--%s takes no value" :
	    "--%s needs a value", hit->name);
}

int
chatc_opts_flags(int argc, char *const argv[], struct chatc_opts *o, char *err,
    size_t errlen)
{
	static const struct option opts[] = {
		{ "room",	required_argument,	NULL, 'r' },
		{ "join",	required_argument,	NULL, 'j' },
		{ "new-room",	no_argument,		NULL, 'N' },
		{ "nick",	required_argument,	NULL, 'n' },
		{ "relay",	required_argument,	NULL, 'R' },
		{ "relay-fp",	required_argument,	NULL, 'F' },
		{ "relay-ca",	required_argument,	NULL, 'C' },
		{ "forget-relay", required_argument,	NULL, 'f' },
		{ "plaintext",	no_argument,		NULL, 'P' },
		{ "keyd",	required_argument,	NULL, 'k' },
		{ "expect",	required_argument,	NULL, 'e' },
		{ "give-up",	required_argument,	NULL, 'g' },
		{ "batch",	no_argument,		NULL, 'b' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "delete-history", no_argument,	NULL, 'D' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch, r, nopts = 0;

	memset(o, 0, sizeof(*o));
	o->co_colour = 1;
	if (errlen > 0)
		err[0] = '\0';
	/* 0, not 1: GNU getopt starts afresh (the tests parse many command lines). */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		nopts++;
		switch (ch) {
		case 'r':
			if (*optarg == '\0' || strlen(optarg) > ROOM_NAME_MAX)
				return opt_fail(err, errlen, "--room NAME must be 1..%d bytes",
				    ROOM_NAME_MAX);
			if (o->co_nrooms >= CHATC_ROOMS_MAX)
				return opt_fail(err, errlen, "at most %d rooms (--room, --join)",
				    CHATC_ROOMS_MAX);
			o->co_rooms[o->co_nrooms].ra_text = optarg;
			o->co_rooms[o->co_nrooms++].ra_code = 0;
			if (o->co_room == NULL)
				o->co_room = optarg;
			break;
		case 'j':
			if (*optarg == '\0')
				return opt_fail(err, errlen, "--join needs an invite code "
				    "(chatc --new-room makes one)");
			if (o->co_nrooms >= CHATC_ROOMS_MAX)
				return opt_fail(err, errlen, "at most %d rooms (--room, --join)",
				    CHATC_ROOMS_MAX);
			o->co_rooms[o->co_nrooms].ra_text = optarg;
			o->co_rooms[o->co_nrooms++].ra_code = 1;
			if (o->co_join == NULL)
				o->co_join = optarg;
			break;
		case 'N':
			o->co_new_room = 1;
			break;
		case 'F':
			o->co_relay_fp_arg = optarg;
			break;
		case 'n':
			if (!proto_nick_valid((const uint8_t *)optarg, strlen(optarg)))
				return opt_fail(err, errlen, "bad nickname \"%.40s\": 1..32 of "
				    "A-Z a-z 0-9 _ . -", optarg);
			o->co_nick = optarg;
			break;
		case 'R':
			o->co_relay_arg = optarg;
			break;
		case 'k':
			if (*optarg == '\0')
				return opt_fail(err, errlen, "--keyd must not be empty");
			o->co_keyd_arg = optarg;
			break;
		case 'e':
			if ((r = opt_expect(o, optarg, err, errlen)) != 0)
				return r;
			break;
		case 'g':
			if (opt_seconds(optarg, &o->co_give_up) != 0)
				return opt_fail(err, errlen, "--give-up wants seconds, 1..%d, not "
				    "\"%.40s\"", GIVE_UP_MAX, optarg);
			break;
		case 'C':
			if (*optarg == '\0')
				return opt_fail(err, errlen, "--relay-ca must not be empty");
			o->co_relay_ca = optarg;
			break;
		case 'f':
			if (chatc_split_hostport(optarg, o->co_host, sizeof(o->co_host),
			    o->co_port, sizeof(o->co_port)) != 0 ||
			    strlen(optarg) >= sizeof(o->co_relay))
				return opt_fail(err, errlen, "bad --forget-relay \"%.80s\": want "
				    "HOST:PORT", optarg);
			o->co_forget = optarg;
			break;
		case 'P':
			o->co_plaintext = 1;
			break;
		case 'b':
			o->co_batch = 1;
			break;
		case 'D':
			o->co_delete_history = 1;
			break;
		case 'c':
			if (*optarg == '\0')
				return opt_fail(err, errlen, "--config must not be empty");
			o->co_config = optarg;
			break;
		case 'h':
			o->co_help = 1;
			break;
		case 'V':
			o->co_version = 1;
			break;
		default:
			return opt_bad(opts, argv[optind - 1], err, errlen);
		}
	}
	if (optind < argc)
		return opt_fail(err, errlen, "unexpected argument \"%.40s\"", argv[optind]);
	if (o->co_forget != NULL && nopts != 1)
		return opt_fail(err, errlen, "--forget-relay takes no other option");
	return 0;
}

int
chatc_opts_finish(struct chatc_opts *o, const struct chatc_conf *cf, char *err,
    size_t errlen)
{
	const char *relay = o->co_relay_arg, *keyd = o->co_keyd_arg;
	size_t i;
	int r;

	if (o->co_help || o->co_version || o->co_delete_history)
		return 0;
	if (o->co_forget != NULL)
		return 0;
	if (o->co_new_room) {
		if (o->co_nrooms > 0 || o->co_nick != NULL || o->co_nexpect > 0 ||
		    o->co_give_up > 0 || o->co_batch || keyd != NULL || o->co_plaintext ||
		    o->co_relay_ca != NULL)
			return opt_fail(err, errlen, "--new-room takes only --relay and --relay-fp");
		return 0;	/* chatc_new_room checks the relays and fingerprints */
	}
	/* The file fills in what no flag gave; a list given as flags replaces its list. */
	if (cf != NULL) {
		size_t nr = 0, nj = 0;

		if (o->co_nrooms == 0)
			for (i = 0; i < cf->cf_nrooms + cf->cf_njoins; i++) {
				struct chatc_roomarg *ra = &o->co_rooms[o->co_nrooms++];

				if ((ra->ra_code = cf->cf_seq[i]) != 0)
					ra->ra_text = cf->cf_joins[nj++];
				else
					ra->ra_text = cf->cf_rooms[nr++];
				if (ra->ra_code && o->co_join == NULL)
					o->co_join = ra->ra_text;
				if (!ra->ra_code && o->co_room == NULL)
					o->co_room = ra->ra_text;
			}
		if (o->co_nick == NULL && cf->cf_nick[0] != '\0')
			o->co_nick = cf->cf_nick;
		/* As --relay: it also overrides an invite code's relay. */
		if (relay == NULL && cf->cf_relay[0] != '\0')
			relay = o->co_relay_arg = cf->cf_relay;
		/* Like --relay-fp, unless a flag says how to trust the relay. */
		if (o->co_relay_fp_arg == NULL && o->co_relay_ca == NULL && !o->co_plaintext &&
		    cf->cf_relay_fp[0] != '\0')
			o->co_relay_fp_arg = cf->cf_relay_fp;
		if (keyd == NULL && cf->cf_keyd[0] != '\0')
			keyd = cf->cf_keyd;
		if (o->co_give_up == 0)
			o->co_give_up = cf->cf_give_up;
		if (cf->cf_colour == 0)
			o->co_colour = 0;
		if (cf->cf_history == 1)
			o->co_history = 1;
		/* Expectations add up; one given as a flag wins for its nick. */
		for (i = 0; i < cf->cf_nexpect; i++) {
			if (o->co_nexpect >= IPC_EXPECT_MAX)
				return opt_fail(err, errlen, "at most %d expectations (flags and "
				    "config together)", IPC_EXPECT_MAX);
			if (chatc_expect_known(o->co_expect, o->co_nexpect,
			    cf->cf_expect[i].ce_nick))
				continue;
			o->co_expect[o->co_nexpect++] = cf->cf_expect[i];
		}
	}
	if (o->co_relay_fp_arg != NULL) {
		if (proto_relayfp_parse(o->co_relay_fp_arg, o->co_relay_fp) != 0)
			return opt_fail(err, errlen, "bad --relay-fp \"%.60s\": want SHA256: and "
			    "43 base64 characters, as relayd --fingerprint prints", o->co_relay_fp_arg);
		o->co_has_fp = 1;
	}
	if (o->co_plaintext && (o->co_has_fp || o->co_relay_ca != NULL))
		return opt_fail(err, errlen, "--plaintext has no TLS: no --relay-fp or --relay-ca");
	if (o->co_has_fp && o->co_relay_ca != NULL)
		return opt_fail(err, errlen, "--relay-fp pins the key: --relay-ca is not used "
		    "with it");
	if (o->co_nrooms == 0)
		return opt_fail(err, errlen, "--join CODE or --room NAME is required, or room "
		    "or join in chatc.conf (chatc --new-room makes a code)");
	if (o->co_nick == NULL)
		return opt_fail(err, errlen, "--nick is required (or nick in chatc.conf)");
	if (relay == NULL)
		relay = CHATC_RELAY_DEFAULT;
	if ((r = chatc_relays_parse(relay, o->co_relays, &o->co_nrelays, err, errlen)) != 0)
		return r;
	/* The first relay, as before lists: the same sizes. */
	_Static_assert(sizeof(o->co_relay) == sizeof(o->co_relays[0].re_addr) &&
	    sizeof(o->co_host) == sizeof(o->co_relays[0].re_host) &&
	    sizeof(o->co_port) == sizeof(o->co_relays[0].re_port), "relay_ep sizes");
	memcpy(o->co_relay, o->co_relays[0].re_addr, sizeof(o->co_relay));
	memcpy(o->co_host, o->co_relays[0].re_host, sizeof(o->co_host));
	memcpy(o->co_port, o->co_relays[0].re_port, sizeof(o->co_port));
	if (keyd != NULL) {
		if (strlen(keyd) >= sizeof(o->co_keyd))
			return opt_fail(err, errlen, "--keyd path too long (max %zu bytes)",
			    sizeof(o->co_keyd) - 1);
		snprintf(o->co_keyd, sizeof(o->co_keyd), "%s", keyd);
	} else if (chatc_default_keyd(o->co_keyd, sizeof(o->co_keyd)) != 0)
		return opt_fail(err, errlen, "default keyd socket path too long; use --keyd");
	return 0;
}

int
chatc_opts_parse(int argc, char *const argv[], struct chatc_opts *o, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = chatc_opts_flags(argc, argv, o, err, errlen)) != 0)
		return rc;
	return chatc_opts_finish(o, NULL, err, errlen);
}

/* One fingerprint of a comma-separated --relay-fp list (n bytes at v): 0 or -1. */
static int
relay_fp_parse(const char *v, size_t n, uint8_t out[static RELAY_FP_LEN])
{
	char one[RELAYFP_TEXT_LEN + 1];

	if (n != RELAYFP_TEXT_LEN)
		return -1;
	memcpy(one, v, n);
	one[n] = '\0';
	return proto_relayfp_parse(one, out) == 0 ? 0 : -1;
}

int
chatc_new_room(const struct chatc_opts *o, char *out, size_t cap, char *err,
    size_t errlen)
{
	static struct invite iv;
	const char *list = o->co_relay_arg != NULL ? o->co_relay_arg : CHATC_RELAY_DEFAULT;
	const char *p = list, *fp = o->co_relay_fp_arg, *end;
	char host[CHATC_HOST_MAX + 1], port[8];
	size_t n, i;
	int r;

	memset(&iv, 0, sizeof(iv));
	for (;;) {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (iv.iv_nrelays == INVITE_RELAYS_MAX)
			return opt_fail(err, errlen, "--relay: at most %d relays in a code",
			    INVITE_RELAYS_MAX);
		if (n == 0 || n > INVITE_ADDR_MAX)
			return opt_fail(err, errlen, "--relay: an empty or over-long address");
		memcpy(iv.iv_relays[iv.iv_nrelays].ir_addr, p, n);
		iv.iv_relays[iv.iv_nrelays].ir_addr[n] = '\0';
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
				return opt_fail(err, errlen, "--relay: \"%.*s\" has a space or a "
				    "byte that is not printable ASCII", (int)(n < 80 ? n : 80), p);
		if (chatc_split_hostport(iv.iv_relays[iv.iv_nrelays].ir_addr, host,
		    sizeof(host), port, sizeof(port)) != 0)
			return opt_fail(err, errlen, "bad --relay \"%.*s\": want HOST:PORT",
			    (int)(n < 80 ? n : 80), p);
		iv.iv_nrelays++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	for (i = 0; fp != NULL && i < iv.iv_nrelays; i++) {
		end = strchr(fp, ',');
		n = end != NULL ? (size_t)(end - fp) : strlen(fp);
		if (relay_fp_parse(fp, n, iv.iv_relays[i].ir_fp) != 0)
			return opt_fail(err, errlen, "--relay-fp: \"%.*s\" is not SHA256: and 43 "
			    "base64 characters, as relayd --fingerprint prints",
			    (int)(n < 80 ? n : 80), fp);
		iv.iv_relays[i].ir_has_fp = 1;
		fp = end != NULL ? end + 1 : NULL;
		if (fp == NULL && i + 1 < iv.iv_nrelays)
			return opt_fail(err, errlen, "--relay-fp: %zu fingerprint(s) for %zu "
			    "relays", i + 1, iv.iv_nrelays);
	}
	if (fp != NULL)
		return opt_fail(err, errlen, "--relay-fp: more fingerprints than relays");
	if ((r = roomkey_new_secret(iv.iv_secret)) == 0)
		r = proto_invite_encode(&iv, out, cap);
	OPENSSL_cleanse(&iv, sizeof(iv));
	if (r != 0)
		snprintf(err, errlen, "cannot make a room: %s", veil_strerror(r));
	return r;
}

int
chatc_room_from(const struct chatc_opts *o, const char *text, size_t n, int code,
    struct chatc_room *cr, char *err, size_t errlen)
{
	static const uint8_t plain_link[RELAY_ID_LEN];	/* --plaintext: PROTOCOL.md 4 */
	static struct invite iv;
	static char buf[INVITE_TEXT_MAX + 1];
	const char *addr;
	size_t i;
	int r;

	memset(cr, 0, sizeof(*cr));
	memset(&iv, 0, sizeof(iv));
	if (code) {
		if (n >= sizeof(buf) || memchr(text, '\0', n) != NULL)
			return opt_fail(err, errlen, "not a veil invite code: too long");
		memcpy(buf, text, n);
		buf[n] = '\0';
		r = proto_invite_decode(buf, &iv);
		OPENSSL_cleanse(buf, sizeof(buf));
		if (r != 0)
			return opt_fail(err, errlen, "not a veil invite code: %s",
			    proto_invite_strerror(r));
		r = roomkey_from_secret(iv.iv_secret, cr->cr_id, cr->cr_key);
		OPENSSL_cleanse(iv.iv_secret, sizeof(iv.iv_secret));
		if (r != 0) {
			snprintf(err, errlen, "cannot derive the room: %s", veil_strerror(r));
			goto fail;
		}
		cr->cr_derived = 1;
		/*
		 * The code's relays (the list to fail over along: PROTOCOL.md
		 * 5.7) and their keys, unless --relay names others (then
		 * --relay-fp, a CA or known_relays vouch for them).
		 */
		for (i = 0; o->co_relay_arg == NULL && i < iv.iv_nrelays; i++) {
			struct relay_ep *ep = &cr->cr_eps[i];

			addr = iv.iv_relays[i].ir_addr;
			if (strlen(addr) >= sizeof(ep->re_addr) ||
			    chatc_split_hostport(addr, ep->re_host, sizeof(ep->re_host),
			    ep->re_port, sizeof(ep->re_port)) != 0) {
				r = opt_fail(err, errlen, "the invite code's relay \"%.80s\" "
				    "is not HOST:PORT; give one with --relay", addr);
				goto fail;
			}
			snprintf(ep->re_addr, sizeof(ep->re_addr), "%s", addr);
			if (iv.iv_relays[i].ir_has_fp && !o->co_has_fp) {
				ep->re_has_pin = 1;
				memcpy(ep->re_pin, iv.iv_relays[i].ir_fp, sizeof(ep->re_pin));
				ep->re_pin_from = "the invite code";
			}
			cr->cr_neps = i + 1;
		}
		snprintf(cr->cr_label, sizeof(cr->cr_label), "invite %02x%02x%02x%02x",
		    cr->cr_id[0], cr->cr_id[1], cr->cr_id[2], cr->cr_id[3]);
	} else {
		if (n == 0 || n > ROOM_NAME_MAX || memchr(text, '\0', n) != NULL)
			return opt_fail(err, errlen, "a room name is 1..%d bytes", ROOM_NAME_MAX);
		memcpy(cr->cr_name, text, n);
		cr->cr_name[n] = '\0';
		memcpy(cr->cr_label, text, n);
		cr->cr_label[n] = '\0';
		if (n < ROOM_NAME_SHORT)
			cr->cr_short = n;
		/*
		 * The name is salted with the relay's key: known now over
		 * --plaintext (zeros) or from --relay-fp; otherwise once a TLS
		 * link has proven it (link.c derives the room then, before JOIN;
		 * inside the sandbox for a room joined later).
		 */
		if (o->co_plaintext || o->co_has_fp) {
			const uint8_t *salt = o->co_has_fp ? o->co_relay_fp : plain_link;

			if ((r = roomkey_from_name(cr->cr_name, salt, cr->cr_id, cr->cr_key)) != 0) {
				snprintf(err, errlen, "cannot derive the room from its name: %s",
				    veil_strerror(r));
				goto fail;
			}
			memcpy(cr->cr_salt_fp, salt, sizeof(cr->cr_salt_fp));
			cr->cr_derived = 1;
		}
	}
	/* A room by name, or a code with --relay: the relays of --relay. */
	if (cr->cr_neps == 0) {
		memcpy(cr->cr_eps, o->co_relays, o->co_nrelays * sizeof(cr->cr_eps[0]));
		cr->cr_neps = o->co_nrelays;
	}
	/* --relay-fp pins every relay of the room: a cluster's relays share one key. */
	for (i = 0; i < cr->cr_neps; i++) {
		cr->cr_eps[i].re_ai = NULL;
		cr->cr_eps[i].re_own = 0;
		if (o->co_has_fp) {
			cr->cr_eps[i].re_has_pin = 1;
			memcpy(cr->cr_eps[i].re_pin, o->co_relay_fp, sizeof(cr->cr_eps[i].re_pin));
			cr->cr_eps[i].re_pin_from = "--relay-fp";
		}
	}
	if (cr->cr_neps == 0) {
		r = opt_fail(err, errlen, "no relay for the room: give one with --relay");
		goto fail;
	}
	/* The first relay, also on its own (what is shown before the link is up). */
	memcpy(cr->cr_relay, cr->cr_eps[0].re_addr, sizeof(cr->cr_relay));
	memcpy(cr->cr_host, cr->cr_eps[0].re_host, sizeof(cr->cr_host));
	memcpy(cr->cr_port, cr->cr_eps[0].re_port, sizeof(cr->cr_port));
	if (cr->cr_eps[0].re_has_pin) {
		cr->cr_has_pin = 1;
		memcpy(cr->cr_pin, cr->cr_eps[0].re_pin, sizeof(cr->cr_pin));
		cr->cr_pin_from = cr->cr_eps[0].re_pin_from;
	}
	OPENSSL_cleanse(&iv, sizeof(iv));
	return 0;
fail:
	OPENSSL_cleanse(&iv, sizeof(iv));
	OPENSSL_cleanse(cr, sizeof(*cr));
	return r;
}

int
chatc_room_setup(struct chatc_opts *o, struct chatc_room *cr, char *err, size_t errlen)
{
	const struct chatc_roomarg *ra = &o->co_rooms[0];
	int r;

	if (o->co_nrooms == 0)
		return opt_fail(err, errlen, "no room to join");
	if ((r = chatc_room_from(o, ra->ra_text, strlen(ra->ra_text), ra->ra_code, cr, err,
	    errlen)) != 0)
		return r;
	memcpy(o->co_relay, cr->cr_relay, sizeof(o->co_relay));
	memcpy(o->co_host, cr->cr_host, sizeof(o->co_host));
	memcpy(o->co_port, cr->cr_port, sizeof(o->co_port));
	return 0;
}
