/* SPDX-License-Identifier: ISC */
#ifndef VEIL_UNIT_H
#define VEIL_UNIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the hex string into out (at most max bytes); whitespace is skipped.
 * Returns the byte count. Aborts the test on malformed hex or overflow.
 */
size_t	unit_hex(const char *hex, uint8_t *out, size_t max);

/* Lowercase hex of n bytes into a static buffer (tests only, not reentrant). */
const char *unit_tohex(const uint8_t *p, size_t n);

/* Directory of third-party vectors ($VEIL_VECTORS), or NULL when absent. */
const char *unit_vectors_dir(void);

#endif
