/* SPDX-License-Identifier: ISC */
#ifndef VEIL_IPC_HARNESS_H
#define VEIL_IPC_HARNESS_H
/*
 * The body of the two keyd IPC harnesses (fuzz_ipc_req.c, fuzz_ipc_ans.c):
 * the input is tried as one message body and as a length-prefixed stream of
 * messages, the way keyd (requests) and chatc (answers) read their socket.
 * A refused message must leave the output cleared; an accepted one must hold
 * only values within PROTOCOL.md's limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "ipc.h"

static void
ipc_fuzz_body(const uint8_t *data, size_t size, int is_answer)
{
	static struct ipc_msg m;
	size_t i;

	if (proto_ipc_decode(data, size, is_answer, &m) != 0) {
		if (m.im_code != 0 || m.im_count != 0 || m.im_nick != NULL)
			abort();
		return;
	}
	if (m.im_count > IPC_BATCH_MAX || m.im_bloblen > E2E_MAX ||
	    m.im_textlen > INNER_BODY_MAX || m.im_nicklen > NICK_MAX)
		abort();
	/* An inner body is decoded only if its kind's layout holds exactly. */
	if ((m.im_code == REQ_SEAL || m.im_code == ANS_OPENED) &&
	    proto_inner_parse(m.im_kind, m.im_text, m.im_textlen, NULL) != 0)
		abort();
	if (m.im_code == REQ_SEAL && !proto_inner_sealable(m.im_kind))
		abort();
	if (m.im_nick != NULL && !proto_nick_valid(m.im_nick, m.im_nicklen))
		abort();
	for (i = 0; i < m.im_count && m.im_code == REQ_HELLO; i++)
		if (!proto_nick_valid(m.im_expect[i].ex_nick, m.im_expect[i].ex_nicklen))
			abort();
}

static int
ipc_fuzz(const uint8_t *data, size_t size, int is_answer)
{
	size_t len;

	ipc_fuzz_body(data, size, is_answer);
	while (proto_ipc_length(data, size, &len) == 0 && size - IPC_LEN_HDR >= len) {
		ipc_fuzz_body(data + IPC_LEN_HDR, len, is_answer);
		data += IPC_LEN_HDR + len;
		size -= IPC_LEN_HDR + len;
	}
	return 0;
}

#endif
