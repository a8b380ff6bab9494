/* SPDX-License-Identifier: ISC */
#ifndef VEIL_ROOM_H
#define VEIL_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"

/*
 * Rooms and their members. A room is keyed by its opaque 32-byte id in a
 * hash table (SipHash-2-4 with a random key, so clients choosing ids cannot
 * flood one bucket). Member ids come from a per-room cursor that starts at
 * 1, moves forward, wraps from MEMBER_MAX back to 1 and skips the ids in
 * use: an id is handed out again only after the cursor has gone once round
 * all of 1..MEMBER_MAX, so reuse comes as late as it can, and a room always
 * has an id for a newcomer while it has a place. The room is freed when its
 * last member leaves. Nothing here does I/O.
 */

struct room_member {
	uint16_t	 rm_id;
	void		*rm_data;	/* the caller's (relayd: struct conn *) */
};

struct room {
	uint8_t			 room_id[ROOM_ID_LEN];
	struct room		*room_next;	/* hash chain */
	uint16_t		 room_cursor;	/* next id to try, 1..MEMBER_MAX */
	uint16_t		 room_n;	/* members present */
	uint16_t		 room_cap;	/* --room-size */
	uint16_t		 room_nblock;	/* the caller's: members holding the room back */
	uint16_t		 room_nremote;	/* the caller's: of those, other nodes (cluster) */
	void			*room_cl;	/* the caller's: its cluster room (clcore.h) */
	struct room_member	 room_members[];	/* room_n of them, ids ascending */
};

struct room_table {
	struct room	**rt_buckets;
	size_t		  rt_nbuckets;	/* a power of two */
	size_t		  rt_count;	/* rooms */
	uint16_t	  rt_room_size;
	uint64_t	  rt_key[2];
};

/*
 * Prepares an empty table for rooms of room_size members (2..ROOM_SIZE_MAX)
 * hashed with key. Returns 0, VEIL_E_INVALID or VEIL_E_ALLOC. Free with
 * room_table_free.
 */
int	room_table_init(struct room_table *t, unsigned int room_size,
	    const uint8_t key[static 16]) VEIL_WUR;
/* Frees every room and the table. */
void	room_table_free(struct room_table *t);

/*
 * Adds data as a new member of the room id, creating the room if needed.
 * Sets *roomp and *member. Returns 0; VEIL_E_LIMIT when the room already
 * has its room_size members; VEIL_E_ALLOC.
 */
int	room_join(struct room_table *t, const uint8_t id[static ROOM_ID_LEN],
	    void *data, struct room **roomp, uint16_t *member) VEIL_WUR;

/*
 * Adds data as member id (chosen elsewhere: a cluster's owner, PROTOCOL.md
 * 5) of the room id, creating the room if needed; the cursor is not used.
 * Sets *roomp. Returns 0; VEIL_E_LIMIT when the room has room_size members;
 * VEIL_E_INVALID for an id out of range or in use; VEIL_E_ALLOC.
 */
int	room_insert(struct room_table *t, const uint8_t id[static ROOM_ID_LEN], uint16_t member,
	    void *data, struct room **roomp) VEIL_WUR;

/*
 * Removes member from r. When it was the last one, r is freed and must not
 * be used again: returns 1 then, 0 otherwise, VEIL_E_INVALID if no such
 * member.
 */
int	room_leave(struct room_table *t, struct room *r, uint16_t member);

/* The room with this id, or NULL. */
struct room *room_lookup(const struct room_table *t, const uint8_t id[static ROOM_ID_LEN]);

/* The data of member id in r, or NULL. */
void	*room_member_data(const struct room *r, uint16_t id);

#endif
