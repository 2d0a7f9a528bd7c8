/*
 * test_wit_timer.c - the witness timer min-heap on a real libuv loop:
 * random arm / re-arm / disarm, fire order by deadline, disarmed timers
 * never fire, timers armed from inside a fire callback; disarmed slots
 * (tombstones) never wake the loop and stay bounded.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/witness/wit_priv.h"

#define NT 2000

struct tt {
	struct wit_timer t;
	int id;
	int fired;
	uint64_t due_seen;
};

static struct tt timers[NT];
static struct wit_heap heap;
static uv_loop_t loop;
static uint64_t last_due;
static int order_violations, fired_total;
static struct tt chained;

static void on_fire(struct wit_timer *t)
{
	struct tt *x = (struct tt *)t;

	x->fired++;
	fired_total++;
	if (t->due < last_due)
		order_violations++;
	last_due = t->due;
	ck_assert(!wit_timer_armed(t));
	/* Arming another timer from a callback works. */
	if (x->id == 7)
		ck_assert_int_eq(wit_timer_arm(&heap, &chained.t, 5), 0);
}

static void on_chained(struct wit_timer *t)
{
	((struct tt *)t)->fired++;
}

START_TEST(test_heap_random)
{
	unsigned seed = 12345;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(wit_heap_init(&heap, &loop), 0);
	memset(timers, 0, sizeof(timers));
	memset(&chained, 0, sizeof(chained));
	wit_timer_init(&chained.t, on_chained);
	for (int i = 0; i < NT; i++) {
		timers[i].id = i;
		wit_timer_init(&timers[i].t, on_fire);
		ck_assert(!wit_timer_armed(&timers[i].t));
		ck_assert_int_eq(wit_timer_arm(&heap, &timers[i].t, rand_r(&seed) % 60), 0);
	}
	/* re-arm a third, disarm a third */
	for (int i = 0; i < NT; i += 3)
		ck_assert_int_eq(wit_timer_arm(&heap, &timers[i].t, rand_r(&seed) % 60), 0);
	for (int i = 1; i < NT; i += 3) {
		if (i == 7)
			continue;
		wit_timer_disarm(&heap, &timers[i].t);
		ck_assert(!wit_timer_armed(&timers[i].t));
		wit_timer_disarm(&heap, &timers[i].t); /* idempotent */
	}
	last_due = 0;
	while (uv_run(&loop, UV_RUN_ONCE) != 0 && heap.n > 0)
		;
	uv_run(&loop, UV_RUN_NOWAIT);
	for (int i = 0; i < NT; i++) {
		int want = (i % 3 == 1 && i != 7) ? 0 : 1;
		ck_assert_msg(timers[i].fired == want, "timer %d fired %d", i, timers[i].fired);
	}
	ck_assert_int_eq(order_violations, 0);
	ck_assert_int_eq(chained.fired, 1);
	ck_assert_uint_eq(heap.n, 0);
	wit_heap_close(&heap);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static void on_never(struct wit_timer *t)
{
	ck_abort_msg("a disarmed timer fired");
	(void)t;
}

static int kept_fired;
static void on_kept(struct wit_timer *t)
{
	kept_fired++;
	ck_assert(!wit_timer_armed(t));
}

/*
 * The keepalive pattern of a fan-out: thousands of armed timers disarmed
 * in no order. The heap keeps at most twice the live slots + 64, a
 * disarmed timer's memory can go at once (nothing points at it), the ones
 * left fire in deadline order, and with none left the uv timer is stopped.
 */
START_TEST(test_heap_tombstones)
{
	enum { N = 5000, KEEP = 10 };
	struct wit_timer *t = calloc(N, sizeof(*t));
	unsigned seed = 99;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(wit_heap_init(&heap, &loop), 0);
	for (int i = 0; i < N; i++) {
		wit_timer_init(&t[i], i < KEEP ? on_kept : on_never);
		ck_assert_int_eq(wit_timer_arm(&heap, &t[i], 20 + rand_r(&seed) % 40), 0);
	}
	/* disarm all but the first KEEP, in a shuffled order, wiping each */
	for (int k = 0; k < 4 * N; k++) {
		int i = KEEP + (int)(rand_r(&seed) % (N - KEEP));
		wit_timer_disarm(&heap, &t[i]);
		ck_assert(!wit_timer_armed(&t[i]));
		ck_assert_uint_le(heap.n, 2 * (heap.n - heap.dead) + 65);
	}
	for (int i = KEEP; i < N; i++) {
		wit_timer_disarm(&heap, &t[i]);
		memset(&t[i], 0xa5, sizeof(t[i])); /* freed: a stale slot would crash */
	}
	ck_assert_uint_le(heap.n, 2 * KEEP + 65);
	/* re-arming a kept one moves it, it does not duplicate it */
	ck_assert_int_eq(wit_timer_arm(&heap, &t[0], 30), 0);
	while (uv_run(&loop, UV_RUN_ONCE) != 0 && kept_fired < KEEP)
		;
	ck_assert_int_eq(kept_fired, KEEP);
	ck_assert_uint_eq(heap.n, 0);
	ck_assert(!uv_is_active((uv_handle_t *)&heap.uv)); /* idle: no wake-up */
	wit_heap_close(&heap);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wit_timer");
	TCase *tc = tcase_create("heap");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_heap_random);
	tcase_add_test(tc, test_heap_tombstones);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
