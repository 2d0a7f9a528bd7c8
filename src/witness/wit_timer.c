/*
 * wit_timer.c - one binary min-heap of deadlines driven by one uv_timer_t.
 * 10,000 registrations each with a pending AsyncNotify cost one heap slot
 * (16 bytes) per armed deadline instead of a uv handle each. Disarming below
 * the top leaves a tombstone (wit_priv.h).
 */
#include <stdlib.h>

#include "witness/err.h"
#include "wit_priv.h"

static void heap_set(struct wit_heap *h, size_t i, struct wit_heap_slot s)
{
	h->a[i] = s;
	if (s.t != NULL)
		s.t->idx = i;
}

static void sift_up(struct wit_heap *h, size_t i)
{
	struct wit_heap_slot s = h->a[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (h->a[p].due <= s.due)
			break;
		heap_set(h, i, h->a[p]);
		i = p;
	}
	heap_set(h, i, s);
}

static void sift_down(struct wit_heap *h, size_t i)
{
	struct wit_heap_slot s = h->a[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t md = s.due;

		if (l < h->n && h->a[l].due < md) {
			m = l;
			md = h->a[l].due;
		}
		if (r < h->n && h->a[r].due < md)
			m = r;
		if (m == i)
			break;
		heap_set(h, i, h->a[m]);
		i = m;
	}
	heap_set(h, i, s);
}

/* Takes slot i out for good (the top, or a slot being emptied). */
static void heap_remove_at(struct wit_heap *h, size_t i)
{
	struct wit_heap_slot last;

	if (h->a[i].t != NULL)
		h->a[i].t->idx = WIT_TIMER_IDLE;
	else
		h->dead--;
	last = h->a[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	if (i > 0 && h->a[(i - 1) / 2].due > last.due)
		sift_up(h, i);
	else
		sift_down(h, i);
}

/* Drops the tombstones and restores the heap order (Floyd's heapify): O(n). */
static void heap_compact(struct wit_heap *h)
{
	size_t j = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (h->a[i].t != NULL)
			heap_set(h, j++, h->a[i]);
	}
	h->n = j;
	h->dead = 0;
	for (size_t i = h->n / 2; i-- > 0;)
		sift_down(h, i);
}

static void on_uv_timer(uv_timer_t *uvt);

/* Re-arms the uv timer for the earliest live deadline (or stops it). */
static void heap_schedule(struct wit_heap *h)
{
	uint64_t now, delay;

	while (h->n > 0 && h->a[0].t == NULL)
		heap_remove_at(h, 0);
	if (h->n == 0) {
		uv_timer_stop(&h->uv);
		return;
	}
	now = uv_now(h->loop);
	delay = h->a[0].due > now ? h->a[0].due - now : 0;
	uv_timer_start(&h->uv, on_uv_timer, delay, 0);
}

static void on_uv_timer(uv_timer_t *uvt)
{
	struct wit_heap *h = uvt->data;
	uint64_t now = uv_now(h->loop);

	/* fire() may arm or disarm other timers (and this one): re-read the top each time. */
	while (h->n > 0 && h->a[0].due <= now) {
		struct wit_timer *t = h->a[0].t;

		heap_remove_at(h, 0);
		if (t != NULL)
			t->fire(t);
	}
	heap_schedule(h);
}

int wit_heap_init(struct wit_heap *h, uv_loop_t *loop)
{
	h->loop = loop;
	h->a = NULL;
	h->n = h->cap = h->dead = 0;
	if (uv_timer_init(loop, &h->uv) != 0)
		return WD_EIO;
	h->uv.data = h;
	h->uv_init = true;
	return 0;
}

void wit_heap_close(struct wit_heap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (h->a[i].t != NULL)
			h->a[i].t->idx = WIT_TIMER_IDLE;
	}
	free(h->a);
	h->a = NULL;
	h->n = h->cap = h->dead = 0;
	if (h->uv_init) {
		uv_timer_stop(&h->uv);
		uv_close((uv_handle_t *)&h->uv, NULL);
		h->uv_init = false;
	}
}

void wit_timer_init(struct wit_timer *t, void (*fire)(struct wit_timer *t))
{
	t->due = 0;
	t->idx = WIT_TIMER_IDLE;
	t->fire = fire;
}

/* Takes t out: at the top or the end for good, elsewhere as a tombstone. */
static void heap_unlink(struct wit_heap *h, struct wit_timer *t)
{
	size_t i = t->idx;

	if (i == 0 || i == h->n - 1) {
		heap_remove_at(h, i);
		return;
	}
	h->a[i].t = NULL;
	t->idx = WIT_TIMER_IDLE;
	if (++h->dead > 64 && h->dead > h->n - h->dead)
		heap_compact(h);
}

int wit_timer_arm(struct wit_heap *h, struct wit_timer *t, uint64_t delay_ms)
{
	bool was_top = t->idx == 0;

	if (t->idx != WIT_TIMER_IDLE)
		heap_unlink(h, t);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct wit_heap_slot *a = realloc(h->a, cap * sizeof(*a));

		if (a == NULL) {
			if (was_top)
				heap_schedule(h);
			return WD_ENOMEM;
		}
		h->a = a;
		h->cap = cap;
	}
	t->due = uv_now(h->loop) + delay_ms;
	h->a[h->n] = (struct wit_heap_slot){t->due, t};
	t->idx = h->n++;
	sift_up(h, t->idx);
	if (was_top || t->idx == 0)
		heap_schedule(h);
	return 0;
}

void wit_timer_disarm(struct wit_heap *h, struct wit_timer *t)
{
	bool was_top;

	if (t->idx == WIT_TIMER_IDLE)
		return;
	was_top = t->idx == 0;
	heap_unlink(h, t);
	if (was_top)
		heap_schedule(h);
}
