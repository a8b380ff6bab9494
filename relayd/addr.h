/* SPDX-License-Identifier: ISC */
#ifndef VEIL_RELAYD_ADDR_H
#define VEIL_RELAYD_ADDR_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Open connections per source address, for --max-per-addr. An IPv4 address
 * counts on its own, an IPv6 address by its /64 prefix (what one host is
 * usually given); an IPv4-mapped IPv6 address as the IPv4 address. Entries
 * are hashed with SipHash under a random key and exist only while a
 * connection from them is open. Nothing here is ever printed or logged.
 */

#define ADDR_KEY_LEN	9	/* family (4 or 6), then 4 or 8 address bytes, zero-padded */

struct addr_entry {
	struct addr_entry	*ae_next;	/* hash chain */
	uint32_t		 ae_count;	/* connections open from it */
	uint8_t			 ae_key[ADDR_KEY_LEN];
};

struct addr_table {
	struct addr_entry	**at_buckets;
	size_t			  at_nbuckets;	/* a power of two */
	size_t			  at_count;	/* entries */
	uint64_t		  at_key[2];
};

/* Prepares an empty table hashed with key. Returns 0 or VEIL_E_ALLOC. */
int	addr_table_init(struct addr_table *t, const uint8_t key[static 16]) VEIL_WUR;
/* Frees every entry and the table. */
void	addr_table_free(struct addr_table *t);

/*
 * The key of a peer address of len bytes (AF_INET or AF_INET6). Returns 0,
 * or VEIL_E_INVALID for another family or a short address (key zeroed).
 */
int	addr_key(const struct sockaddr *sa, socklen_t len,
	    uint8_t key[static ADDR_KEY_LEN]) VEIL_WUR;

/*
 * Counts one more connection from key, unless max are open already. Sets
 * *ep to its entry (for addr_release). Returns 0, VEIL_E_LIMIT (nothing
 * counted) or VEIL_E_ALLOC.
 */
int	addr_take(struct addr_table *t, const uint8_t key[static ADDR_KEY_LEN], uint32_t max,
	    struct addr_entry **ep) VEIL_WUR;

/* One connection from e fewer; e is freed when none is left. */
void	addr_release(struct addr_table *t, struct addr_entry *e);

#endif
