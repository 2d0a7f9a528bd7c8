/*
 * wit_timer.c - one binary min-heap of deadlines driven by one uv_timer_t.
 * 10,000 registrations each with a pending AsyncNotify cost one heap slot
 * (a pointer) per armed deadline instead of a uv handle each.
 */
#include <stdlib.h>

#include "witness/err.h"
#include "wit_priv.h"

static void heap_set(struct wit_heap *h, size_t i, struct wit_timer *t)
{
	h->a[i] = t;
	t->idx = i;
}

static void sift_up(struct wit_heap *h, size_t i)
{
	struct wit_timer *t = h->a[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (h->a[p]->due <= t->due)
			break;
		heap_set(h, i, h->a[p]);
		i = p;
	}
	heap_set(h, i, t);
}

static void sift_down(struct wit_heap *h, size_t i)
{
	struct wit_timer *t = h->a[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t md = t->due;

		if (l < h->n && h->a[l]->due < md) {
			m = l;
			md = h->a[l]->due;
		}
		if (r < h->n && h->a[r]->due < md)
			m = r;
		if (m == i)
			break;
		heap_set(h, i, h->a[m]);
		i = m;
	}
	heap_set(h, i, t);
}

static void heap_remove(struct wit_heap *h, struct wit_timer *t)
{
	size_t i = t->idx;
	struct wit_timer *last;

	t->idx = WIT_TIMER_IDLE;
	last = h->a[--h->n];
	if (i == h->n)
		return;
	h->a[i] = last;
	last->idx = i;
	if (i > 0 && h->a[(i - 1) / 2]->due > last->due)
		sift_up(h, i);
	else
		sift_down(h, i);
}

static void on_uv_timer(uv_timer_t *uvt);

/* Re-arms the uv timer for the earliest deadline (or stops it). */
static void heap_schedule(struct wit_heap *h)
{
	uint64_t now, delay;

	if (h->n == 0) {
		uv_timer_stop(&h->uv);
		return;
	}
	now = uv_now(h->loop);
	delay = h->a[0]->due > now ? h->a[0]->due - now : 0;
	uv_timer_start(&h->uv, on_uv_timer, delay, 0);
}

static void on_uv_timer(uv_timer_t *uvt)
{
	struct wit_heap *h = uvt->data;
	uint64_t now = uv_now(h->loop);

	/* fire() may arm or disarm other timers (and this one): re-read the top each time. */
	while (h->n > 0 && h->a[0]->due <= now) {
		struct wit_timer *t = h->a[0];

		heap_remove(h, t);
		t->fire(t);
	}
	heap_schedule(h);
}

int wit_heap_init(struct wit_heap *h, uv_loop_t *loop)
{
	h->loop = loop;
	h->a = NULL;
	h->n = h->cap = 0;
	if (uv_timer_init(loop, &h->uv) != 0)
		return WD_EIO;
	h->uv.data = h;
	h->uv_init = true;
	return 0;
}

void wit_heap_close(struct wit_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->a[i]->idx = WIT_TIMER_IDLE;
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
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

int wit_timer_arm(struct wit_heap *h, struct wit_timer *t, uint64_t delay_ms)
{
	bool was_top;

	if (t->idx != WIT_TIMER_IDLE)
		heap_remove(h, t);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct wit_timer **a = realloc(h->a, cap * sizeof(*a));

		if (a == NULL)
			return WD_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	t->due = uv_now(h->loop) + delay_ms;
	h->a[h->n] = t;
	t->idx = h->n++;
	sift_up(h, t->idx);
	was_top = t->idx == 0;
	if (was_top)
		heap_schedule(h);
	return 0;
}

void wit_timer_disarm(struct wit_heap *h, struct wit_timer *t)
{
	bool was_top;

	if (t->idx == WIT_TIMER_IDLE)
		return;
	was_top = t->idx == 0;
	heap_remove(h, t);
	if (was_top)
		heap_schedule(h);
}
