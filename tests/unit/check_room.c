/* SPDX-License-Identifier: ISC */
/* relayd/room.c: member ids, room full, rooms appearing and disappearing. */
#include <string.h>

#include <check.h>

#include "err.h"
#include "room.h"

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
mkid(uint8_t id[ROOM_ID_LEN], unsigned int n)
{
	memset(id, 0, ROOM_ID_LEN);
	veil_put32(id, n);
	id[31] = (uint8_t)(n * 7);
}

START_TEST(test_room_ids_from_one_never_reused)
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
	/* 2 left: the next member gets 4, not 2. */
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
	/* A place freed is a place again, with a fresh id. */
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

START_TEST(test_room_ids_exhausted)
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
	/* 0xfffe handed out: never 0xffff (broadcast) or a wrap to 0 or 1. */
	ck_assert_int_eq(room_join(&t, id, &d[1], &r2, &m), VEIL_E_LIMIT);
	ck_assert_uint_eq(r->room_n, 1);
	room_table_free(&t);
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
	tcase_add_test(tc, test_room_ids_from_one_never_reused);
	tcase_add_test(tc, test_room_leave_unknown);
	tcase_add_test(tc, test_room_disappears);
	tcase_add_test(tc, test_room_many_rooms);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_room_full);
	tcase_add_test(tc, test_room_ids_exhausted);
	tcase_add_test(tc, test_room_limits);
	tcase_add_test(tc, test_room_biggest);
	suite_add_tcase(s, tc);
	return s;
}
