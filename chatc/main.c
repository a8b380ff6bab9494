/* SPDX-License-Identifier: ISC */
/*
 * chatc start-up: options (--new-room and --forget-relay end here), the
 * room from its invite code or name, relay address, the TLS context with
 * what it trusts (CA store, known_relays: tls.c), keyd connection and HELLO,
 * the terminal, then the sandbox (no file opened, no exec from here on),
 * then the loop in client.c.
 */
#include <sys/random.h>

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"
#include "sbx.h"

static struct keydc g_keyd;
static struct client g_client;
static struct ctls g_tls;
static struct chatc_conf g_conf;	/* chatc.conf: its strings outlive the options */

static void
on_signal(int sig)
{
	client_signal(sig);
}

static void early_error(int, const char *, ...) __attribute__((format(printf, 2, 3)));

/* An ERROR event before the loop runs (batch format, or plain on a terminal). */
static void
early_error(int batch, const char *fmt, ...)
{
	char text[1024], line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (batch) {
		(void)chatc_write_all(STDOUT_FILENO, line,
		    ev_line(line, sizeof(line), "ERROR", text));
		return;
	}
	n = snprintf(line, sizeof(line), "chatc: %s\n", text);
	if (n > 0)
		(void)chatc_write_all(STDERR_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int
hello(const struct chatc_opts *o, uint8_t myfpr[static FPR_LEN],
    uint8_t myid[static ED25519_PUB_LEN], int batch)
{
	static struct ipc_msg req;
	const struct ipc_msg *a;
	char why[ESC_MAX(IPC_ERRMSG_MAX)];
	size_t i;
	int r;

	memset(&req, 0, sizeof(req));
	req.im_code = REQ_HELLO;
	req.im_version = IPC_VERSION;
	req.im_nick = (const uint8_t *)o->co_nick;
	req.im_nicklen = strlen(o->co_nick);
	req.im_count = (uint16_t)o->co_nexpect;
	for (i = 0; i < o->co_nexpect; i++) {
		req.im_expect[i].ex_nick = (const uint8_t *)o->co_expect[i].ce_nick;
		req.im_expect[i].ex_nicklen = strlen(o->co_expect[i].ce_nick);
		memcpy(req.im_expect[i].ex_fpr, o->co_expect[i].ce_fpr, FPR_LEN);
	}
	if ((r = keydc_call(&g_keyd, &req, &a)) != 0) {
		early_error(batch, "lost keyd at %s (%s)", o->co_keyd,
		    r == VEIL_E_SYSTEM ? "connection closed or no answer" : veil_strerror(r));
		return -1;
	}
	if (a->im_code == IPC_ANS_ERROR) {
		esc_text(a->im_text, a->im_textlen, why, sizeof(why));
		early_error(batch, "keyd refused us: %s%s", a->im_textlen ? why :
		    veil_strerror(-(int)a->im_err), -(int)a->im_err == VEIL_E_VERSION ?
		    " (keyd and chatc come from different versions of veil: restart keyd)" : "");
		return -1;
	}
	memcpy(myfpr, a->im_fpr, FPR_LEN);
	memcpy(myid, a->im_id, ED25519_PUB_LEN);
	return 0;
}

static int
setup_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 || sigaction(SIGWINCH, &sa, NULL) == -1)
		return -1;
	/* Delivered only inside ppoll, so no flag is ever missed. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* --new-room: the code on stdout, a line for people on stderr. */
static int
new_room(const struct chatc_opts *o)
{
	static char code[INVITE_TEXT_MAX];
	char err[256];
	int r;

	if ((r = chatc_new_room(o, code, sizeof(code), err, sizeof(err))) != 0) {
		fprintf(stderr, "chatc: %s\n", err);
		if (r == VEIL_E_INVALID)
			fputs("Try 'chatc --help'.\n", stderr);
		return r == VEIL_E_INVALID ? CHATC_EXIT_USAGE : CHATC_EXIT_ERROR;
	}
	fprintf(stderr, "chatc: a new room. The code below is its key: give it only to the "
	    "people you invite, over a channel you trust; each joins with "
	    "chatc --join CODE --nick NICK\n");
	printf("%s\n", code);
	OPENSSL_cleanse(code, sizeof(code));
	return fflush(stdout) == 0 ? CHATC_EXIT_OK : CHATC_EXIT_ERROR;
}

int
main(int argc, char **argv)
{
	static struct chatc_opts o;
	uint8_t myfpr[FPR_LEN] = { 0 }, myid[ED25519_PUB_LEN] = { 0 };
	char err[256], cpath[4 * CHATC_PATH_MAX], cerr[4 * CHATC_PATH_MAX + 256];
	char hnote[4 * CHATC_PATH_MAX + 300];
	struct ui *u = NULL;
	struct fe fe;
	struct tm tmv;
	uint64_t seed = 0;
	time_t t;
	const char *cs;
	size_t i;
	int batch, e;

	if (chatc_opts_flags(argc, argv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "chatc: %s\nTry 'chatc --help'.\n", err);
		return CHATC_EXIT_USAGE;
	}
	/* chatc.conf under the flags: an error in it names the file and the line. */
	if (!o.co_help && !o.co_version && o.co_forget == NULL && !o.co_delete_history) {
		if (o.co_config != NULL)
			snprintf(cpath, sizeof(cpath), "%s", o.co_config);
		else if (chatc_conf_default(cpath, sizeof(cpath)) != 0)
			cpath[0] = '\0';
		if (cpath[0] != '\0' && chatc_conf_read(cpath, o.co_config != NULL, &g_conf,
		    cerr, sizeof(cerr)) != 0) {
			fprintf(stderr, "chatc: %s\n", cerr);
			return CHATC_EXIT_USAGE;
		}
	}
	if (chatc_opts_finish(&o, &g_conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "chatc: %s\nTry 'chatc --help'.\n", err);
		return CHATC_EXIT_USAGE;
	}
	if (o.co_help) {
		fputs(chatc_usage(), stdout);
		return 0;
	}
	if (o.co_version) {
		printf("chatc (veil) %s\n", VEIL_VERSION);
		return 0;
	}
	if (o.co_new_room)
		return new_room(&o);
	if (o.co_forget != NULL)
		return ctls_forget(o.co_forget);
	if (o.co_delete_history)
		return hist_delete();
	batch = o.co_batch || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);
	/* Only to spread retries: a clock will do when getrandom cannot. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	memset(&fe, 0, sizeof(fe));
	fe.fe_event = batch_event;
	client_init(&g_client, &o, &g_keyd, &fe, batch, myfpr, seed);
	/*
	 * Every room of the command line, in order, each relay looked up once
	 * (now: the sandbox allows no lookup); /join adds more the same way.
	 */
	g_client.cl_may_resolve = 1;
	for (i = 0; i < o.co_nrooms; i++) {
		const struct chatc_roomarg *ra = &o.co_rooms[i];

		if ((e = client_join(&g_client, ra->ra_text, strlen(ra->ra_text), ra->ra_code,
		    chatc_now_ms(), err, sizeof(err))) != 0) {
			if (e == VEIL_E_INVALID) {
				fprintf(stderr, "chatc: %s\nTry 'chatc --help'.\n", err);
				return CHATC_EXIT_USAGE;
			}
			early_error(batch, "%s", err);
			return 1;
		}
	}
	g_client.cl_cur = 0;
	/*
	 * The relays' keys (PROTOCOL.md 1.0): each room's pin is set (rm_init:
	 * --relay-fp, or its invite code's fp for its relay); what else is
	 * trusted (a CA store, known_relays) is loaded now, before the sandbox.
	 */
	if (!o.co_plaintext) {
		if (ctls_init(&g_tls, &o, err, sizeof(err)) != 0) {
			early_error(batch, "TLS set-up: %s", err);
			return 1;
		}
		g_client.cl_tls = &g_tls;
	}
	if (keydc_connect(&g_keyd, o.co_keyd) != 0) {
		e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			early_error(batch, "keyd is not running on %s; start it with: "
			    "keyd --daemon", o.co_keyd);
		else if (e == EPERM)
			early_error(batch, "%s is served by another user, not your keyd; "
			    "refusing to use it", o.co_keyd);
		else
			early_error(batch, "cannot reach keyd on %s: %s", o.co_keyd,
			    strerror(e));
		return 1;
	}
	if (hello(&o, myfpr, myid, batch) != 0)
		return 1;
	client_set_me(&g_client, myfpr, myid);
	/* The local history, when chatc.conf asks for it: opened now, kept through keyd. */
	g_client.cl_hist.h_fd = -1;
	hnote[0] = '\0';
	if (o.co_history) {
		if (hist_path(cpath, sizeof(cpath)) != 0)
			snprintf(hnote, sizeof(hnote), "history: neither XDG_STATE_HOME nor HOME "
			    "is set; no history kept this time");
		else if (hist_open(&g_client.cl_hist, cpath, cerr, sizeof(cerr)) != 0)
			snprintf(hnote, sizeof(hnote), "%s; no history kept this time", cerr);
		else if ((e = hist_load(&g_client.cl_hist, &g_keyd, hnote, sizeof(hnote))) != 0) {
			early_error(batch, "lost keyd at %s while reading the history (%s)",
			    o.co_keyd, veil_strerror(e));
			return 1;
		}
	}
	if (setup_signals() != 0) {
		early_error(batch, "signal setup failed: %s", strerror(errno));
		return 1;
	}
	/*
	 * Load the time zone and the character tables now: the sandbox allows
	 * no file opens later. The screen measures UTF-8, whatever LANG says.
	 */
	cs = setlocale(LC_CTYPE, "");
	if (cs == NULL || (strstr(cs, "UTF-8") == NULL && strstr(cs, "utf8") == NULL))
		(void)setlocale(LC_CTYPE, "C.UTF-8");
	tzset();
	t = time(NULL);
	(void)localtime_r(&t, &tmv);
	if (!batch && ui_open(&u, o.co_nick, o.co_colour, err, sizeof(err)) != 0) {
		/* A terminal that cannot hold the screen still gets the chat, line by line. */
		fprintf(stderr, "chatc: %s; going on as with --batch\n", err);
		batch = 1;
		g_client.cl_batch = 1;
		u = NULL;
	}
	if (u != NULL) {
		g_client.cl_fe.fe_event = ui_event;
		g_client.cl_fe.fe_arg = u;
	}
	for (i = 0; i < g_client.cl_nrooms; i++)
		client_warn_short(g_client.cl_rooms[i]);
	hist_replay(&g_client, &g_client.cl_hist);
	if (hnote[0] != '\0')
		emit(client_room(&g_client), EV_INFO, "%s", hnote);
	g_client.cl_may_resolve = 0;
	if (sbx_no_new_privs() != 0 ||
	    sbx_install(sbx_chatc_rules, sbx_chatc_nrules) != 0) {
		if (u != NULL)
			ui_close(u);
		early_error(batch, "cannot install the sandbox");
		return 1;
	}
	e = client_run(&g_client, u);
	hist_close(&g_client.cl_hist);
	keydc_close(&g_keyd);
	for (i = 0; i < g_client.cl_nrooms; i++) {
		rm_free(g_client.cl_rooms[i]);
		free(g_client.cl_rooms[i]);
	}
	client_free_relays(&g_client);
	ctls_free(&g_tls);
	return e;
}
