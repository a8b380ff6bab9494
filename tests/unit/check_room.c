/* SPDX-License-Identifier: ISC */
/* relayd/room.c: member ids (a cursor, reuse as late as possible), room full, rooms
 * appearing and disappearing. */
#include <string.h>

#include <check.h>

#include "err.h"
#include "hash.h"
#include "room.h"

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
mkid(uint8_t id[ROOM_ID_LEN], unsigned int n)
{
	memset(id, 0, ROOM_ID_LEN);
	veil_put32(id, n);
	id[31] = (uint8_t)(n * 7);
}

START_TEST(test_room_ids_from_one_forward)
{
	struct room_table t;
	struct room *r, *r2;
	uint8_t id[ROOM_ID_LEN];
	int data[4];
	uint16_t m;

	ck_assert_int_eq(room_table_init(&t, 16, key), 0);
	mkid(id, 1);
	ck_assert_int_eq(room_join(&t, id, &data[0], &r, &m), 0);
	ck_assert_uint_eq(m, 1);
	ck_assert_int_eq(room_join(&t, id, &data[1], &r2, &m), 0);
	ck_assert_uint_eq(m, 2);
	ck_assert_ptr_eq(r, r2);
	ck_assert_int_eq(room_join(&t, id, &data[2], &r2, &m), 0);
	ck_assert_uint_eq(m, 3);
	ck_assert_uint_eq(r->room_n, 3);
	ck_assert_ptr_eq(room_member_data(r, 2), &data[1]);

	ck_assert_int_eq(room_leave(&t, r, 2), 0);
	ck_assert_ptr_null(room_member_data(r, 2));
	ck_assert_ptr_eq(room_member_data(r, 3), &data[2]);
	/* 2 left: the cursor goes on, the next member gets 4, not 2. */
	ck_assert_int_eq(room_join(&t, id, &data[3], &r2, &m), 0);
	ck_assert_uint_eq(m, 4);
	/* Members stay in ascending id order (WELCOME lists them so). */
	ck_assert_uint_eq(r->room_members[0].rm_id, 1);
	ck_assert_uint_eq(r->room_members[1].rm_id, 3);
	ck_assert_uint_eq(r->room_members[2].rm_id, 4);
	ck_assert_uint_eq(t.rt_count, 1);
	room_table_free(&t);
}
END_TEST

START_TEST(test_room_leave_unknown)
{
	struct room_table t;
	struct room *r;
	uint8_t id[ROOM_ID_LEN];
	int d;
	uint16_t m;

	ck_assert_int_eq(room_table_init(&t, 4, key), 0);
	mkid(id, 9);
	ck_assert_int_eq(room_join(&t, id, &d, &r, &m), 0);
	ck_assert_int_eq(room_leave(&t, r, 0), VEIL_E_INVALID);
	ck_assert_int_eq(room_leave(&t, r, 2), VEIL_E_INVALID);
	ck_assert_int_eq(room_leave(&t, r, 0xffff), VEIL_E_INVALID);
	ck_assert_uint_eq(r->room_n, 1);
	room_table_free(&t);
}
END_TEST

START_TEST(test_room_full)
{
	struct room_table t;
	struct room *r, *r2;
	uint8_t id[ROOM_ID_LEN];
	int d[3];
	uint16_t m;

	ck_assert_int_eq(room_table_init(&t, 2, key), 0);
	mkid(id, 2);
	ck_assert_int_eq(room_join(&t, id, &d[0], &r, &m), 0);
	ck_assert_int_eq(room_join(&t, id, &d[1], &r, &m), 0);
	ck_assert_int_eq(room_join(&t, id, &d[2], &r2, &m), VEIL_E_LIMIT);
	ck_assert_ptr_null(r2);
	ck_assert_uint_eq(m, MEMBER_NONE);
	ck_assert_uint_eq(r->room_n, 2);
	/* A place freed is a place again, with the cursor's next id. */
	ck_assert_int_eq(room_leave(&t, r, 1), 0);
	ck_assert_int_eq(room_join(&t, id, &d[2], &r2, &m), 0);
	ck_assert_uint_eq(m, 3);
	room_table_free(&t);
}
END_TEST

START_TEST(test_room_disappears)
{
	struct room_table t;
	struct room *r;
	uint8_t id[ROOM_ID_LEN];
	int d[2];
	uint16_t m;

	ck_assert_int_eq(room_table_init(&t, 8, key), 0);
	mkid(id, 3);
	ck_assert_ptr_null(room_lookup(&t, id));
	ck_assert_int_eq(room_join(&t, id, &d[0], &r, &m), 0);
	ck_assert_int_eq(room_join(&t, id, &d[1], &r, &m), 0);
	ck_assert_ptr_eq(room_lookup(&t, id), r);
	ck_assert_int_eq(room_leave(&t, r, 1), 0);
	ck_assert_ptr_eq(room_lookup(&t, id), r);
	ck_assert_int_eq(room_leave(&t, r, 2), 1);	/* last one: freed */
	ck_assert_ptr_null(room_lookup(&t, id));
	ck_assert_uint_eq(t.rt_count, 0);
	/* The same id later is a new room: ids start from 1 again. */
	ck_assert_int_eq(room_join(&t, id, &d[0], &r, &m), 0);
	ck_assert_uint_eq(m, 1);
	room_table_free(&t);
}
END_TEST

START_TEST(test_room_many_rooms)
{
	struct room_table t;
	struct room *r;
	uint8_t id[ROOM_ID_LEN];
	static struct room *rooms[3000];
	int d;
	uint16_t m;
	unsigned int i;

	ck_assert_int_eq(room_table_init(&t, 2, key), 0);
	for (i = 0; i < 3000; i++) {
		mkid(id, i);
		ck_assert_int_eq(room_join(&t, id, &d, &rooms[i], &m), 0);
		ck_assert_uint_eq(m, 1);
	}
	ck_assert_uint_eq(t.rt_count, 3000);
	ck_assert_uint_ge(t.rt_nbuckets, 2048);	/* the table grew */
	for (i = 0; i < 3000; i++) {
		mkid(id, i);
		r = room_lookup(&t, id);
		ck_assert_ptr_eq(r, rooms[i]);
		ck_assert_mem_eq(r->room_id, id, ROOM_ID_LEN);
	}
	for (i = 0; i < 3000; i += 2)
		ck_assert_int_eq(room_leave(&t, rooms[i], 1), 1);
	ck_assert_uint_eq(t.rt_count, 1500);
	for (i = 0; i < 3000; i++) {
		mkid(id, i);
		if (i % 2 == 0)
			ck_assert_ptr_null(room_lookup(&t, id));
		else
			ck_assert_ptr_eq(room_lookup(&t, id), rooms[i]);
	}
	room_table_free(&t);
}
END_TEST

/* Sorted ids, and each id maps to its own data. */
static void
check_members(const struct room *r)
{
	int i;

	for (i = 0; i < r->room_n; i++) {
		if (i > 0)
			ck_assert_uint_lt(r->room_members[i - 1].rm_id, r->room_members[i].rm_id);
		ck_assert_uint_ge(r->room_members[i].rm_id, 1);
		ck_assert_uint_le(r->room_members[i].rm_id, MEMBER_MAX);
		ck_assert_ptr_eq(room_member_data(r, r->room_members[i].rm_id),
		    r->room_members[i].rm_data);
	}
}

START_TEST(test_room_ids_wrap)
{
	struct room_table t;
	struct room *r, *r2;
	uint8_t id[ROOM_ID_LEN];
	int d[2];
	uint16_t m;
	unsigned int i;

	ck_assert_int_eq(room_table_init(&t, 2, key), 0);
	mkid(id, 4);
	/* Member 1 stays so the room lives; the other place churns. */
	ck_assert_int_eq(room_join(&t, id, &d[0], &r, &m), 0);
	for (i = 2; i <= MEMBER_MAX; i++) {
		ck_assert_int_eq(room_join(&t, id, &d[1], &r2, &m), 0);
		ck_assert_uint_eq(m, i);
		ck_assert_int_eq(room_leave(&t, r, m), 0);
	}
	/*
	 * 0xfffe handed out: the cursor wraps (never to 0xffff, broadcast, or
	 * 0), skips 1, still held, and goes on from 2: the room never locks.
	 */
	for (i = 2; i < 10; i++) {
		ck_assert_int_eq(room_join(&t, id, &d[1], &r2, &m), 0);
		ck_assert_uint_eq(m, i);
		ck_assert_int_eq(room_leave(&t, r, m), 0);
	}
	ck_assert_uint_eq(r->room_n, 1);
	room_table_free(&t);
}
END_TEST

/*
 * Full rooms churning for several laps of the id space: every place freed
 * is taken again, ids stay sorted, distinct and in range, and an id comes
 * back only after the cursor has gone round every other id.
 */
START_TEST(test_room_ids_churn)
{
	static uint32_t last[MEMBER_MAX + 1];
	struct room_table t;
	struct room *r, *r2;
	uint8_t id[ROOM_ID_LEN];
	int d[ROOM_SIZE_MAX];
	uint16_t m, held[ROOM_SIZE_MAX];
	uint32_t join = 0, seed = 12345;
	unsigned int i, k;

	memset(last, 0, sizeof(last));
	ck_assert_int_eq(room_table_init(&t, ROOM_SIZE_MAX, key), 0);
	mkid(id, 6);
	for (i = 0; i < ROOM_SIZE_MAX; i++) {
		ck_assert_int_eq(room_join(&t, id, &d[i], &r, &held[i]), 0);
		last[held[i]] = ++join;
	}
	for (i = 0; i < 3 * MEMBER_MAX; i++) {
		/* One member (pseudo-random) leaves, one joins: always admitted. */
		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % ROOM_SIZE_MAX;
		ck_assert_int_eq(room_leave(&t, r, held[k]), 0);
		ck_assert_int_eq(room_join(&t, id, &d[k], &r2, &m), 0);
		ck_assert_ptr_eq(r2, r);
		/* Reused only after at least a lap less the ids held meanwhile. */
		if (last[m] != 0)
			ck_assert_uint_ge(join + 1 - last[m], MEMBER_MAX - ROOM_SIZE_MAX);
		last[m] = ++join;
		held[k] = m;
		ck_assert_ptr_eq(room_member_data(r, m), &d[k]);
		ck_assert_int_eq(room_join(&t, id, &d[0], &r2, &m), VEIL_E_LIMIT);
	}
	check_members(r);
	ck_assert_uint_eq(r->room_n, ROOM_SIZE_MAX);
	room_table_free(&t);
}
END_TEST

/* The cursor skips a run of held ids across the wrap. */
START_TEST(test_room_ids_skip_held)
{
	struct room_table t;
	struct room *r, *r2;
	uint8_t id[ROOM_ID_LEN];
	int d[8];
	uint16_t m;

	ck_assert_int_eq(room_table_init(&t, 8, key), 0);
	mkid(id, 7);
	ck_assert_int_eq(room_join(&t, id, &d[0], &r, &m), 0);		/* 1 */
	ck_assert_int_eq(room_join(&t, id, &d[1], &r2, &m), 0);	/* 2 */
	ck_assert_int_eq(room_join(&t, id, &d[2], &r2, &m), 0);	/* 3 */
	/* Move the cursor to just before the end; 0xfffd and 0xfffe get held. */
	r->room_cursor = MEMBER_MAX - 1;
	ck_assert_int_eq(room_join(&t, id, &d[3], &r2, &m), 0);
	ck_assert_uint_eq(m, MEMBER_MAX - 1);
	ck_assert_int_eq(room_join(&t, id, &d[4], &r2, &m), 0);
	ck_assert_uint_eq(m, MEMBER_MAX);
	ck_assert_uint_eq(r->room_cursor, 1);
	/* 1, 2, 3 held: the next is 4. */
	ck_assert_int_eq(room_join(&t, id, &d[5], &r2, &m), 0);
	ck_assert_uint_eq(m, 4);
	/* Back near the end with 0xfffd, 0xfffe, 1..4 held: 5. */
	r->room_cursor = MEMBER_MAX - 1;
	ck_assert_int_eq(room_join(&t, id, &d[6], &r2, &m), 0);
	ck_assert_uint_eq(m, 5);
	ck_assert_uint_eq(r->room_members[0].rm_id, 1);
	ck_assert_uint_eq(r->room_members[r->room_n - 1].rm_id, MEMBER_MAX);
	check_members(r);
	ck_assert_ptr_eq(room_member_data(r, MEMBER_MAX), &d[4]);
	ck_assert_ptr_eq(room_member_data(r, 5), &d[6]);
	room_table_free(&t);
}
END_TEST

/* SipHash-2-4 reference vectors (key 00..0f, input 00 01 02 ... of each length). */
START_TEST(test_room_siphash_vectors)
{
	static const struct {
		size_t		 len;
		uint64_t	 out;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL },
		{ 16, 0x3f2acc7f57c29bdbULL },
		{ 32, 0x7127512f72f27cceULL },
		{ 63, 0x958a324ceb064572ULL },
	};
	uint8_t k[16], in[64];
	uint64_t kw[2];
	size_t i;

	for (i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)i;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	relay_hash_key(kw, k);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(relay_siphash(kw, in, v[i].len) == v[i].out, "length %zu", v[i].len);
}
END_TEST

START_TEST(test_room_limits)
{
	struct room_table t;

	ck_assert_int_eq(room_table_init(&t, 1, key), VEIL_E_INVALID);
	ck_assert_int_eq(room_table_init(&t, ROOM_SIZE_MAX + 1, key), VEIL_E_INVALID);
	ck_assert_int_eq(room_table_init(&t, ROOM_SIZE_MAX, key), 0);
	room_table_free(&t);
}
END_TEST

START_TEST(test_room_biggest)
{
	struct room_table t;
	struct room *r;
	uint8_t id[ROOM_ID_LEN];
	int d;
	uint16_t m;
	unsigned int i;

	ck_assert_int_eq(room_table_init(&t, ROOM_SIZE_MAX, key), 0);
	mkid(id, 5);
	for (i = 1; i <= ROOM_SIZE_MAX; i++) {
		ck_assert_int_eq(room_join(&t, id, &d, &r, &m), 0);
		ck_assert_uint_eq(m, i);
	}
	ck_assert_int_eq(room_join(&t, id, &d, &r, &m), VEIL_E_LIMIT);
	for (i = ROOM_SIZE_MAX; i > 1; i--)
		ck_assert_int_eq(room_leave(&t, room_lookup(&t, id), (uint16_t)i), 0);
	ck_assert_int_eq(room_leave(&t, room_lookup(&t, id), 1), 1);
	ck_assert_uint_eq(t.rt_count, 0);
	room_table_free(&t);
}
END_TEST

Suite *suite_room(void);

Suite *
suite_room(void)
{
	Suite *s = suite_create("room");
	TCase *tc;

	tc = tcase_create("join_leave");
	tcase_add_test(tc, test_room_ids_from_one_forward);
	tcase_add_test(tc, test_room_ids_skip_held);
	tcase_add_test(tc, test_room_leave_unknown);
	tcase_add_test(tc, test_room_disappears);
	tcase_add_test(tc, test_room_many_rooms);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_room_full);
	tcase_add_test(tc, test_room_ids_wrap);
	tcase_add_test(tc, test_room_ids_churn);
	tcase_add_test(tc, test_room_limits);
	tcase_add_test(tc, test_room_siphash_vectors);
	tcase_add_test(tc, test_room_biggest);
	suite_add_tcase(s, tc);
	return s;
}
