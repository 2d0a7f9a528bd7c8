/*
 * budget.h - the server-wide budget for buffers that peers make us hold
 * (fragment buffers while a fragment arrives, reassembly buffers while a
 * multi-fragment request arrives). Internal to src/dcerpc.
 *
 * Every connection embeds one struct dcerpc_hold. A hold joins the budget's
 * list when it first holds bytes and leaves it when it holds none, so the
 * list is ordered by how long each holder has been holding: its head is the
 * oldest offender, the one to cut when the budget is exceeded. Every
 * operation is O(1) except dcerpc_budget_charge's eviction loop, which runs
 * once per holder that is cut.
 */
#ifndef WD_DCERPC_BUDGET_H
#define WD_DCERPC_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dcerpc_hold {
	struct dcerpc_hold *next, *prev;
	size_t bytes;
	uint64_t since; /* loop time at which it began holding */
	bool linked;
};

struct dcerpc_budget {
	struct dcerpc_hold *head, *tail; /* oldest first */
	size_t used;
	size_t limit;     /* 0 = no global limit */
	size_t peak;      /* high-water mark of used */
	uint64_t evicted; /* holders cut to make room */
};

/*
 * Cut callback: must release everything h holds (dcerpc_budget_release to
 * 0) before it returns; arg is what dcerpc_budget_charge was given.
 */
typedef void (*dcerpc_budget_cut_fn)(void *arg, struct dcerpc_hold *h);

/*
 * Account n more bytes to h at loop time now. If that would exceed the
 * limit, the oldest holders other than h are cut through cut() until it
 * fits. Returns 0, or WD_ENOMEM when even after that it does not fit (h
 * alone is too big, or h is itself the oldest): then nothing is charged and
 * the caller refuses the bytes and cuts h itself.
 */
int dcerpc_budget_charge(struct dcerpc_budget *b, struct dcerpc_hold *h, size_t n, uint64_t now,
                         dcerpc_budget_cut_fn cut, void *arg);
/* Give back n bytes of h (all of them if n >= h->bytes). */
void dcerpc_budget_release(struct dcerpc_budget *b, struct dcerpc_hold *h, size_t n);

#endif
