/*
 * htab.h - an intrusive chained hash table with a keyed hash.
 *
 * Lookups that a call or an accept makes (a connection's address, a client's
 * registration count, a context handle) go through one of these, so that
 * their cost does not grow with the number of clients. An entry embeds a
 * struct wd_hnode; the table owns only its bucket array, never the entries.
 * Hashes are SipHash-1-3 under a per-table random key, so that a peer that
 * chooses its address or name cannot aim them all at one bucket.
 *
 * The table doubles when it holds more entries than buckets and never
 * shrinks: at most two bucket pointers per entry it held at its largest.
 */
#ifndef WITNESS_HTAB_H
#define WITNESS_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct wd_hnode {
	struct wd_hnode *next;
	uint64_t hash;
};

struct wd_htab {
	struct wd_hnode **b;
	size_t nb; /* buckets: 0 or a power of two */
	size_t n;  /* entries */
	uint64_t k0, k1;
};

/* The entry that embeds node n as member m. */
#define wd_hentry(n, type, m) ((type *)(void *)((char *)(n)-offsetof(type, m)))

/* An empty table with a fresh random key (getrandom(2); a fixed key if it fails). */
void wd_htab_init(struct wd_htab *t);
/* Frees the bucket array; the entries are the caller's. The table is empty after. */
void wd_htab_free(struct wd_htab *t);

/* The table's hash of n bytes (SipHash-1-3 under the table's key). */
uint64_t wd_htab_hash(const struct wd_htab *t, const void *p, size_t n);
/* SipHash-1-3 of n bytes under the 128-bit key (k0, k1). */
uint64_t wd_siphash13(uint64_t k0, uint64_t k1, const void *p, size_t n);

/*
 * Adds n with the given hash (the caller checks for duplicates). 0, or
 * WD_ENOMEM when the first bucket array cannot be had (n is not added); a
 * failed doubling later keeps the old array: chains get longer, nothing fails.
 */
int wd_htab_insert(struct wd_htab *t, struct wd_hnode *n, uint64_t hash);
/* Removes n, which must be in t. */
void wd_htab_remove(struct wd_htab *t, struct wd_hnode *n);
/*
 * The first entry with this hash, then the next one after n: the caller
 * compares keys. NULL when there is none.
 *   for (n = wd_htab_first(t, h); n; n = wd_htab_next(n, h)) ...
 */
struct wd_hnode *wd_htab_first(const struct wd_htab *t, uint64_t hash);
struct wd_hnode *wd_htab_next(const struct wd_hnode *n, uint64_t hash);

#endif
