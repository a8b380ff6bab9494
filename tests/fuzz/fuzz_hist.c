/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: the history file and its records (chatc/hist.c). Any
 * input is a file: hist_scan walks its frames, never past the end, each
 * within its bounds; every frame's bytes are also read as a record
 * (hist_decode), which must re-encode to exactly the same bytes when
 * accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hist_rec hr;
	static uint8_t back[HIST_TEXT_MAX];
	const uint8_t *blob;
	size_t off = 0, len, n, prev;
	int rc;

	for (;;) {
		prev = off;
		if ((rc = hist_scan(data, size, &off, &blob, &len)) != 1)
			break;
		if (off <= prev || off > size || blob < data || blob + len > data + size ||
		    len <= HIST_SEALED_OVERHEAD || len > HIST_BLOB_MAX)
			abort();
		if (hist_decode(blob, len, &hr) != 0)
			continue;
		n = hist_encode(back, sizeof(back), hr.hr_flags, hr.hr_time, hr.hr_room,
		    (const uint8_t *)hr.hr_who, strlen(hr.hr_who), hr.hr_text, hr.hr_textlen);
		if (n != len || memcmp(back, blob, len) != 0)
			abort();
	}
	if (rc == 1 || (rc == 0 && off != size))
		abort();
	return 0;
}
