/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness: keyd IPC requests (PROTOCOL.md 3). The input is tried as
 * a message body and as a length-prefixed stream of messages, the way
 * keyd reads its socket.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
body(const uint8_t *data, size_t size)
{
	static struct ipc_msg m;
	size_t i;

	if (proto_ipc_decode(data, size, 0, &m) != 0) {
		if (m.im_code != 0 || m.im_count != 0 || m.im_nick != NULL)
			abort();
		return;
	}
	if (m.im_count > IPC_BATCH_MAX || m.im_bloblen > E2E_MAX ||
	    m.im_textlen > MSG_MAX || m.im_nicklen > NICK_MAX)
		abort();
	if (m.im_nick != NULL && !proto_nick_valid(m.im_nick, m.im_nicklen))
		abort();
	for (i = 0; i < m.im_count && m.im_code == REQ_HELLO; i++)
		if (!proto_nick_valid(m.im_expect[i].ex_nick, m.im_expect[i].ex_nicklen))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;

	body(data, size);
	while (proto_ipc_length(data, size, &len) == 0 && size - IPC_LEN_HDR >= len) {
		body(data + IPC_LEN_HDR, len);
		data += IPC_LEN_HDR + len;
		size -= IPC_LEN_HDR + len;
	}
	return 0;
}
