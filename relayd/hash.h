/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAYD_HASH_H
#define VEIL_RELAYD_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * SipHash-2-4 (Aumasson, Bernstein) for relayd's hash tables (rooms,
 * source addresses): with a key clients cannot know, they cannot choose
 * values that all land in one bucket.
 */

/* The 16-byte key as the two little-endian words relay_siphash takes. */
void	relay_hash_key(uint64_t k[2], const uint8_t key[static 16]);

/* SipHash-2-4 of the n bytes at p under k. */
uint64_t relay_siphash(const uint64_t k[2], const uint8_t *p, size_t n);

#endif
