/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: the text a person or a file hands chatc about relay
 * keys (PROTOCOL.md 1.0): proto_relayfp_parse (--relay-fp) and chatc's
 * known_relays lookup (ctls_kr_find). The input's first byte splits it into
 * an address to look up and the file's text.
 *
 * Checked: a fingerprint that parses formats back to exactly the same 50
 * characters (one spelling per fingerprint); a lookup that finds an entry
 * returns a line number within the text, whose line starts with the
 * address and one space and carries that fingerprint's text; a malformed
 * line's number is within the text too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "relayfp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The start of line n (from 1) of buf, or NULL. */
static const char *
line_at(const char *buf, size_t len, unsigned int n, size_t *linelen)
{
	const char *p = buf, *end = buf + len, *nl;
	unsigned int i;

	for (i = 1; p <= end; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (i == n) {
			*linelen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
			return p;
		}
		if (nl == NULL)
			return NULL;
		p = nl + 1;
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[RELAYFP_TEXT_MAX + 8], back[RELAYFP_TEXT_MAX], host[64], *buf;
	uint8_t fp[RELAYFP_LEN];
	unsigned int line = 0, bad = 0;
	size_t hl, n, ll;
	const char *l;

	/* --relay-fp: strict, and one spelling. */
	n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	if (proto_relayfp_parse(s, fp) == 0) {
		proto_relayfp_format(fp, back);
		if (strcmp(s, back) != 0)
			abort();
	}
	if (size < 1)
		return 0;
	/* known_relays: an address, then the file's text. */
	hl = data[0] % sizeof(host);
	if (hl > size - 1)
		hl = size - 1;
	memcpy(host, data + 1, hl);
	host[hl] = '\0';
	if (strlen(host) != hl || hl == 0)
		return 0;
	n = size - 1 - hl;
	if ((buf = malloc(n + 1)) == NULL)
		return 0;
	memcpy(buf, data + 1 + hl, n);
	buf[n] = '\0';
	if (ctls_kr_find(buf, n, host, fp, &line, &bad) == 1) {
		proto_relayfp_format(fp, back);
		if ((l = line_at(buf, n, line, &ll)) == NULL || ll < hl + 1 + RELAYFP_TEXT_LEN ||
		    memcmp(l, host, hl) != 0 || l[hl] != ' ' ||
		    memcmp(l + hl + 1, back, RELAYFP_TEXT_LEN) != 0)
			abort();
	}
	if (bad != 0 && line_at(buf, n, bad, &ll) == NULL)
		abort();
	free(buf);
	return 0;
}
