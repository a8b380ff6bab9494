/* SPDX-License-Identifier: ISC */
/* Room and member bookkeeping for relayd (see room.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "room.h"

#define ROOM_BUCKETS_MIN	64

int
room_table_init(struct room_table *t, unsigned int room_size, const uint8_t key[static 16])
{
	memset(t, 0, sizeof(*t));
	if (room_size < 2 || room_size > ROOM_SIZE_MAX)
		return VEIL_E_INVALID;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of room pointers */
	if ((t->rt_buckets = calloc(ROOM_BUCKETS_MIN, sizeof(*t->rt_buckets))) == NULL)
		return VEIL_E_ALLOC;
	t->rt_nbuckets = ROOM_BUCKETS_MIN;
	t->rt_room_size = (uint16_t)room_size;
	relay_hash_key(t->rt_key, key);
	return 0;
}

void
room_table_free(struct room_table *t)
{
	struct room *r, *next;
	size_t i;

	if (t->rt_buckets != NULL) {
		for (i = 0; i < t->rt_nbuckets; i++) {
			for (r = t->rt_buckets[i]; r != NULL; r = next) {
				next = r->room_next;
				free(r);
			}
		}
		free(t->rt_buckets);
	}
	memset(t, 0, sizeof(*t));
}

static struct room **
room_slot(const struct room_table *t, const uint8_t id[ROOM_ID_LEN])
{
	return &t->rt_buckets[relay_siphash(t->rt_key, id, ROOM_ID_LEN) & (t->rt_nbuckets - 1)];
}

struct room *
room_lookup(const struct room_table *t, const uint8_t id[static ROOM_ID_LEN])
{
	struct room *r;

	for (r = *room_slot(t, id); r != NULL; r = r->room_next)
		if (memcmp(r->room_id, id, ROOM_ID_LEN) == 0)
			return r;
	return NULL;
}

/* Doubles the bucket array when rooms outnumber buckets; failure is harmless. */
static void
room_grow(struct room_table *t)
{
	struct room **nb, *r, *next;
	size_t i, n = t->rt_nbuckets * 2, h;

	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of room pointers */
	if (t->rt_count < t->rt_nbuckets || n > SIZE_MAX / sizeof(*nb))
		return;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of room pointers */
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->rt_nbuckets; i++) {
		for (r = t->rt_buckets[i]; r != NULL; r = next) {
			next = r->room_next;
			h = relay_siphash(t->rt_key, r->room_id, ROOM_ID_LEN) & (n - 1);
			r->room_next = nb[h];
			nb[h] = r;
		}
	}
	free(t->rt_buckets);
	t->rt_buckets = nb;
	t->rt_nbuckets = n;
}

/* The index of the first member whose id is at least id (room_n if none). */
static int
room_lower_bound(const struct room *r, uint16_t id)
{
	int lo = 0, hi = r->room_n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r->room_members[mid].rm_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The room id, created empty if it is not there. */
static struct room *
room_get(struct room_table *t, const uint8_t id[ROOM_ID_LEN])
{
	struct room *r, **slot;

	if ((r = room_lookup(t, id)) != NULL)
		return r;
	r = calloc(1, sizeof(*r) + (size_t)t->rt_room_size * sizeof(r->room_members[0]));
	if (r == NULL)
		return NULL;
	memcpy(r->room_id, id, ROOM_ID_LEN);
	r->room_cap = t->rt_room_size;
	r->room_cursor = 1;
	slot = room_slot(t, id);
	r->room_next = *slot;
	*slot = r;
	t->rt_count++;
	room_grow(t);
	return r;
}

/* Puts (m, data) at index i, which keeps the ids ascending. */
static void
room_put(struct room *r, int i, uint16_t m, void *data)
{
	memmove(&r->room_members[i + 1], &r->room_members[i],
	    (size_t)(r->room_n - i) * sizeof(r->room_members[0]));
	r->room_members[i].rm_id = m;
	r->room_members[i].rm_data = data;
	r->room_n++;
}

int
room_insert(struct room_table *t, const uint8_t id[static ROOM_ID_LEN], uint16_t member,
    void *data, struct room **roomp)
{
	struct room *r;
	int i;

	*roomp = NULL;
	if (member == MEMBER_NONE || member > MEMBER_MAX)
		return VEIL_E_INVALID;
	if ((r = room_get(t, id)) == NULL)
		return VEIL_E_ALLOC;
	if (r->room_n >= r->room_cap)
		return VEIL_E_LIMIT;
	i = room_lower_bound(r, member);
	if (i < r->room_n && r->room_members[i].rm_id == member)
		return VEIL_E_INVALID;
	room_put(r, i, member, data);
	*roomp = r;
	return 0;
}

int
room_join(struct room_table *t, const uint8_t id[static ROOM_ID_LEN], void *data,
    struct room **roomp, uint16_t *member)
{
	struct room *r;
	uint16_t m;
	int i;

	*roomp = NULL;
	*member = MEMBER_NONE;
	if ((r = room_get(t, id)) == NULL)
		return VEIL_E_ALLOC;
	if (r->room_n >= r->room_cap)
		return VEIL_E_LIMIT;
	/*
	 * From the cursor on, the first id not in use. The members are sorted,
	 * so the ids in use from the cursor on are consecutive entries: one
	 * pass, wrapping to 1 at most once (room_n < MEMBER_MAX ids are taken).
	 */
	m = r->room_cursor;
	i = room_lower_bound(r, m);
	while (i < r->room_n && r->room_members[i].rm_id == m) {
		i++;
		if (m++ == MEMBER_MAX) {
			m = 1;
			i = 0;
		}
	}
	room_put(r, i, m, data);
	r->room_cursor = m == MEMBER_MAX ? 1 : (uint16_t)(m + 1);
	*member = m;
	*roomp = r;
	return 0;
}

static int
room_index(const struct room *r, uint16_t id)
{
	int lo = 0, hi = (int)r->room_n - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (r->room_members[mid].rm_id == id)
			return mid;
		if (r->room_members[mid].rm_id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

void *
room_member_data(const struct room *r, uint16_t id)
{
	int i = room_index(r, id);

	return i < 0 ? NULL : r->room_members[i].rm_data;
}

int
room_leave(struct room_table *t, struct room *r, uint16_t member)
{
	struct room **pp;
	int i;

	if ((i = room_index(r, member)) < 0)
		return VEIL_E_INVALID;
	memmove(&r->room_members[i], &r->room_members[i + 1],
	    (size_t)(r->room_n - i - 1) * sizeof(r->room_members[0]));
	r->room_n--;
	if (r->room_n > 0)
		return 0;
	for (pp = room_slot(t, r->room_id); *pp != NULL; pp = &(*pp)->room_next) {
		if (*pp == r) {
			*pp = r->room_next;
			break;
		}
	}
	t->rt_count--;
	free(r);
	return 1;
}
