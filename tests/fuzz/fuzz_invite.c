/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: invite codes (PROTOCOL.md 4.1). Any input is a text;
 * a code the decoder accepts must encode back to exactly the same text (one
 * encoding per code), and a refused one must leave the result wiped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "invite.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct invite zero;
	char text[INVITE_TEXT_MAX + 64], back[INVITE_TEXT_MAX];
	struct invite iv;

	/* Without the prefix most inputs stop at once: give it to half of them. */
	if (size > 0 && (data[0] & 1)) {
		if (size - 1 + 5 >= sizeof(text))
			return 0;
		memcpy(text, INVITE_PREFIX, 5);
		memcpy(text + 5, data + 1, size - 1);
		text[size - 1 + 5] = '\0';
	} else {
		if (size >= sizeof(text))
			return 0;
		memcpy(text, data, size);
		text[size] = '\0';
	}
	if (proto_invite_decode(text, &iv) != 0) {
		if (memcmp(&iv, &zero, sizeof(iv)) != 0)
			abort();
		return 0;
	}
	if (proto_invite_encode(&iv, back, sizeof(back)) != 0 || strcmp(back, text) != 0)
		abort();
	return 0;
}
