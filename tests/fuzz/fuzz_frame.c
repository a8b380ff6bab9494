/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: relay frames in both directions (PROTOCOL.md 1).
 * Whatever decode accepts must also pass the header check with the same
 * fields, and a WELCOME it accepts must give its member list.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const uint8_t *data, size_t size, enum frame_dir dir, uint32_t max)
{
	uint16_t ids[ROOM_SIZE_MAX];
	struct frame f, h;
	size_t n;

	if (proto_frame_decode(data, size, dir, max, &f) != 0) {
		if (f.fr_type != 0 || f.fr_payload != NULL || f.fr_len != 0)
			abort();	/* *f must be zeroed on error */
		return;
	}
	if (proto_frame_header(data, size, dir, max, &h) != 0 ||
	    h.fr_type != f.fr_type || h.fr_src != f.fr_src ||
	    h.fr_dst != f.fr_dst || h.fr_len != f.fr_len ||
	    f.fr_len > max || size != FRAME_HDR_LEN + (size_t)f.fr_len)
		abort();
	if (f.fr_type == FT_WELCOME) {
		if (proto_welcome_members(&f, ids, ROOM_SIZE_MAX, &n) != 0 ||
		    n > ROOM_SIZE_MAX - 1)
			abort();
	}
	if (f.fr_type == FT_ERROR)
		(void)proto_frame_strerror(f.fr_payload[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, FRAME_TO_RELAY, FRAME_MAX_DEFAULT);
	one(data, size, FRAME_TO_CLIENT, FRAME_MAX_DEFAULT);
	one(data, size, FRAME_TO_RELAY, FRAME_MIN_LIMIT);
	one(data, size, FRAME_TO_CLIENT, 0xffffffffu);
	return 0;
}
