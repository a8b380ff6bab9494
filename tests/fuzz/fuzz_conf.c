/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: chatc.conf (chatc/conf.c). Any input is a file's
 * text. Accepted: every field is a NUL-terminated string within its buffer,
 * every count within its bound, a nick valid, a relay HOST:PORT or a list
 * of them (as --relay), a room 1
 * to 255 bytes of UTF-8 without controls. Refused: one line of error that
 * names the line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chatc_conf cf;
	static struct relay_ep eps[CHATC_RELAYS_MAX];
	char err[256];
	uint8_t fp[RELAYFP_LEN];
	size_t i, n;

	if (chatc_conf_parse((const char *)data, size, &cf, err, sizeof(err)) != 0) {
		if ((strncmp(err, "line ", 5) != 0) || strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	check_str(cf.cf_nick, sizeof(cf.cf_nick));
	check_str(cf.cf_relay, sizeof(cf.cf_relay));
	check_str(cf.cf_keyd, sizeof(cf.cf_keyd));
	if (cf.cf_nick[0] != '\0' &&
	    !proto_nick_valid((const uint8_t *)cf.cf_nick, strlen(cf.cf_nick)))
		abort();
	if (cf.cf_relay[0] != '\0' &&
	    chatc_relays_parse(cf.cf_relay, eps, &n, err, sizeof(err)) != 0)
		abort();
	check_str(cf.cf_relay_fp, sizeof(cf.cf_relay_fp));
	if (cf.cf_relay_fp[0] != '\0' && proto_relayfp_parse(cf.cf_relay_fp, fp) != 0)
		abort();
	if (cf.cf_nrooms + cf.cf_njoins > CHATC_ROOMS_MAX ||
	    cf.cf_nexpect > IPC_EXPECT_MAX)
		abort();
	for (i = 0; i < cf.cf_nrooms; i++) {
		check_str(cf.cf_rooms[i], sizeof(cf.cf_rooms[i]));
		n = strlen(cf.cf_rooms[i]);
		if (n == 0 || n > CHATC_ROOM_NAME_MAX ||
		    !esc_utf8_valid((const uint8_t *)cf.cf_rooms[i], n))
			abort();
	}
	for (i = 0; i < cf.cf_njoins; i++)
		check_str(cf.cf_joins[i], sizeof(cf.cf_joins[i]));
	for (i = 0; i < cf.cf_nexpect; i++)
		check_str(cf.cf_expect[i].ce_nick, sizeof(cf.cf_expect[i].ce_nick));
	if (cf.cf_colour < -1 || cf.cf_colour > 1 || cf.cf_history < -1 || cf.cf_history > 1 ||
	    cf.cf_give_up < 0 || cf.cf_give_up > GIVE_UP_MAX)
		abort();
	return 0;
}
