/*
 * htab.c - see htab.h. SipHash is Aumasson and Bernstein's (2012); the 1-3
 * variant (one compression round, three finalisation rounds) is the one
 * Rust's and Python's hash tables use for short keys.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "witness/err.h"
#include "witness/htab.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t wd_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, last = (uint64_t)n << 56;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		m = load_le64(p + i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= last;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void wd_htab_init(struct wd_htab *t)
{
	uint64_t k[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

	memset(t, 0, sizeof(*t));
	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* no entropy yet (early boot): the fixed key still hashes well */
		k[0] = 0x0706050403020100ull;
		k[1] = 0x0f0e0d0c0b0a0908ull;
	}
	t->k0 = k[0];
	t->k1 = k[1];
}

void wd_htab_free(struct wd_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

uint64_t wd_htab_hash(const struct wd_htab *t, const void *p, size_t n)
{
	return wd_siphash13(t->k0, t->k1, p, n);
}

static struct wd_hnode **slot(const struct wd_htab *t, uint64_t hash)
{
	return &t->b[hash & (t->nb - 1)];
}

/* Doubles the bucket array (64 at first); keeps the old one if that fails. */
static int grow(struct wd_htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct wd_hnode **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return t->b != NULL ? 0 : WD_ENOMEM;
	for (size_t i = 0; i < t->nb; i++) {
		struct wd_hnode *e = t->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

int wd_htab_insert(struct wd_htab *t, struct wd_hnode *n, uint64_t hash)
{
	if (t->n >= t->nb && grow(t) < 0)
		return WD_ENOMEM;
	n->hash = hash;
	n->next = *slot(t, hash);
	*slot(t, hash) = n;
	t->n++;
	return 0;
}

void wd_htab_remove(struct wd_htab *t, struct wd_hnode *n)
{
	struct wd_hnode **pp = slot(t, n->hash);

	while (*pp != NULL && *pp != n)
		pp = &(*pp)->next;
	if (*pp == NULL)
		return; /* not in t: a caller's bug, but nothing to corrupt */
	*pp = n->next;
	n->next = NULL;
	t->n--;
}

struct wd_hnode *wd_htab_first(const struct wd_htab *t, uint64_t hash)
{
	if (t->nb == 0)
		return NULL;
	struct wd_hnode *e = *slot(t, hash);

	while (e != NULL && e->hash != hash)
		e = e->next;
	return e;
}

struct wd_hnode *wd_htab_next(const struct wd_hnode *n, uint64_t hash)
{
	struct wd_hnode *e = n->next;

	while (e != NULL && e->hash != hash)
		e = e->next;
	return e;
}
