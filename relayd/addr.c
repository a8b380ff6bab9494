/* SPDX-License-Identifier: ISC */
/* Connections per source address for relayd (see addr.h). */
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "hash.h"

#define ADDR_BUCKETS_MIN	64

int
addr_table_init(struct addr_table *t, const uint8_t key[static 16])
{
	memset(t, 0, sizeof(*t));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of entry pointers */
	if ((t->at_buckets = calloc(ADDR_BUCKETS_MIN, sizeof(*t->at_buckets))) == NULL)
		return VEIL_E_ALLOC;
	t->at_nbuckets = ADDR_BUCKETS_MIN;
	relay_hash_key(t->at_key, key);
	return 0;
}

void
addr_table_free(struct addr_table *t)
{
	struct addr_entry *e, *next;
	size_t i;

	if (t->at_buckets != NULL) {
		for (i = 0; i < t->at_nbuckets; i++) {
			for (e = t->at_buckets[i]; e != NULL; e = next) {
				next = e->ae_next;
				free(e);
			}
		}
		free(t->at_buckets);
	}
	memset(t, 0, sizeof(*t));
}

int
addr_key(const struct sockaddr *sa, socklen_t len, uint8_t key[static ADDR_KEY_LEN])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	memset(key, 0, ADDR_KEY_LEN);
	if (sa == NULL)
		return VEIL_E_INVALID;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (memcmp(s6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);	/* the /64 */
		}
		return 0;
	}
	return VEIL_E_INVALID;
}

static struct addr_entry **
addr_slot(const struct addr_table *t, const uint8_t key[ADDR_KEY_LEN])
{
	return &t->at_buckets[relay_siphash(t->at_key, key, ADDR_KEY_LEN) &
	    (t->at_nbuckets - 1)];
}

/* Doubles the bucket array when entries outnumber buckets; failure is harmless. */
static void
addr_grow(struct addr_table *t)
{
	struct addr_entry **nb, *e, *next;
	size_t i, n = t->at_nbuckets * 2, h;

	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of entry pointers */
	if (t->at_count < t->at_nbuckets || n > SIZE_MAX / sizeof(*nb))
		return;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of entry pointers */
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->at_nbuckets; i++) {
		for (e = t->at_buckets[i]; e != NULL; e = next) {
			next = e->ae_next;
			h = relay_siphash(t->at_key, e->ae_key, ADDR_KEY_LEN) & (n - 1);
			e->ae_next = nb[h];
			nb[h] = e;
		}
	}
	free(t->at_buckets);
	t->at_buckets = nb;
	t->at_nbuckets = n;
}

int
addr_take(struct addr_table *t, const uint8_t key[static ADDR_KEY_LEN], uint32_t max,
    struct addr_entry **ep)
{
	struct addr_entry *e, **slot = addr_slot(t, key);

	*ep = NULL;
	for (e = *slot; e != NULL; e = e->ae_next)
		if (memcmp(e->ae_key, key, ADDR_KEY_LEN) == 0)
			break;
	if (e == NULL) {
		if (max == 0)
			return VEIL_E_LIMIT;
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return VEIL_E_ALLOC;
		memcpy(e->ae_key, key, ADDR_KEY_LEN);
		e->ae_next = *slot;
		*slot = e;
		t->at_count++;
		addr_grow(t);
	} else if (e->ae_count >= max)
		return VEIL_E_LIMIT;
	e->ae_count++;
	*ep = e;
	return 0;
}

void
addr_release(struct addr_table *t, struct addr_entry *e)
{
	struct addr_entry **pp;

	if (e == NULL || --e->ae_count > 0)
		return;
	for (pp = addr_slot(t, e->ae_key); *pp != NULL; pp = &(*pp)->ae_next) {
		if (*pp == e) {
			*pp = e->ae_next;
			break;
		}
	}
	t->at_count--;
	free(e);
}
