/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <check.h>

#include "e2e.h"
#include "unit.h"

size_t
unit_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *hex != '\0'; hex++) {
		if (isspace((unsigned char)*hex))
			continue;
		v = proto_hex_digit(*hex);
		ck_assert_msg(v >= 0, "bad hex digit '%c'", *hex);
		if (hi < 0) {
			hi = v;
			continue;
		}
		ck_assert_msg(n < max, "hex longer than %zu bytes", max);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	return n;
}

const char *
unit_tohex(const uint8_t *p, size_t n)
{
	static char s[2 * 8192 + 1];
	size_t i;

	ck_assert(n <= 8192);
	for (i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

const char *
unit_vectors_dir(void)
{
	const char *d = getenv("VEIL_VECTORS");
	struct stat st;

	if (d == NULL || *d == '\0')
		d = "../shared/vectors";
	if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return d;
}
