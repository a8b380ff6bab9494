/* SPDX-License-Identifier: ISC */
/* libFuzzer harness: keyd IPC answers (PROTOCOL.md 3), as chatc reads them. */
#include "ipc_harness.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return ipc_fuzz(data, size, 1);
}
