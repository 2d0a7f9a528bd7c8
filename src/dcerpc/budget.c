/*
 * budget.c - see budget.h. Why it exists: a peer that starts a request and
 * never finishes it would otherwise pin up to `max request size` per
 * connection with no deadline; the per-connection caps and deadlines in
 * server.c bound each peer, this bounds them all together.
 */
#include "budget.h"

#include "witness/err.h"

static void unlink_hold(struct dcerpc_budget *b, struct dcerpc_hold *h)
{
	if (!h->linked)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		b->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		b->tail = h->prev;
	h->next = h->prev = NULL;
	h->linked = false;
}

static void link_hold(struct dcerpc_budget *b, struct dcerpc_hold *h, uint64_t now)
{
	h->since = now;
	h->prev = b->tail;
	h->next = NULL;
	if (b->tail)
		b->tail->next = h;
	else
		b->head = h;
	b->tail = h;
	h->linked = true;
}

int dcerpc_budget_charge(struct dcerpc_budget *b, struct dcerpc_hold *h, size_t n, uint64_t now,
                         dcerpc_budget_cut_fn cut, void *arg)
{
	if (b->limit) {
		if (n > b->limit - h->bytes)
			return WD_ENOMEM;
		while (b->used + n > b->limit) {
			struct dcerpc_hold *oldest = b->head;
			if (!oldest || oldest == h)
				return WD_ENOMEM;
			size_t before = b->used;
			cut(arg, oldest);
			if (oldest->linked || b->used >= before) {
				/* the callback did not release: do not spin */
				return WD_ENOMEM;
			}
			b->evicted++;
		}
	}
	if (!h->linked && n)
		link_hold(b, h, now);
	h->bytes += n;
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
	return 0;
}

void dcerpc_budget_release(struct dcerpc_budget *b, struct dcerpc_hold *h, size_t n)
{
	if (n > h->bytes)
		n = h->bytes;
	h->bytes -= n;
	b->used -= n;
	if (!h->bytes)
		unlink_hold(b, h);
}
