/*
 * test_htab.c - the intrusive hash table and its SipHash-1-3 (src/common/htab.c).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/htab.h"

struct item {
	struct wd_hnode hnode;
	unsigned key;
	bool in;
};

static struct item *find(struct wd_htab *t, unsigned key, uint64_t h)
{
	for (struct wd_hnode *n = wd_htab_first(t, h); n != NULL; n = wd_htab_next(n, h)) {
		struct item *it = wd_hentry(n, struct item, hnode);
		if (it->key == key)
			return it;
	}
	return NULL;
}

/*
 * Independent values: CPython 3.11 hashes bytes with SipHash-1-3, and under
 * PYTHONHASHSEED=0 its key is zero:
 *   PYTHONHASHSEED=0 python3 -c 'print(hex(hash(b"a") & (2**64-1)))'
 */
START_TEST(test_siphash13_vectors)
{
	static const struct {
		const char *in;
		uint64_t out;
	} v[] = {
	    {"a", 0x407448d2b89b1813ull},
	    {"abcdefgh", 0x3f7b849c0b8e35eaull},
	    {"127.0.0.1", 0xe0df5e380be111dcull},
	    {"hello world, this is long", 0x6a2d504ce82dfaf0ull},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_uint_eq(wd_siphash13(0, 0, v[i].in, strlen(v[i].in)), v[i].out);
	/* the key matters */
	ck_assert_uint_ne(wd_siphash13(1, 0, "a", 1), wd_siphash13(0, 0, "a", 1));
}
END_TEST

START_TEST(test_empty)
{
	struct wd_htab t;
	wd_htab_init(&t);
	ck_assert_ptr_null(wd_htab_first(&t, 42));
	ck_assert_uint_eq(t.n, 0);
	wd_htab_free(&t);
	ck_assert_ptr_null(t.b);
}
END_TEST

/* Entries with one hash share a chain: the caller's key compare tells them apart. */
START_TEST(test_same_hash)
{
	struct wd_htab t;
	struct item a = {.key = 1}, b = {.key = 2}, c = {.key = 3};
	wd_htab_init(&t);
	ck_assert_int_eq(wd_htab_insert(&t, &a.hnode, 7), 0);
	ck_assert_int_eq(wd_htab_insert(&t, &b.hnode, 7), 0);
	ck_assert_int_eq(wd_htab_insert(&t, &c.hnode, 7 + 64), 0); /* same bucket, other hash */
	ck_assert_ptr_eq(find(&t, 1, 7), &a);
	ck_assert_ptr_eq(find(&t, 2, 7), &b);
	ck_assert_ptr_null(find(&t, 3, 7));
	ck_assert_ptr_eq(find(&t, 3, 7 + 64), &c);
	wd_htab_remove(&t, &b.hnode);
	ck_assert_ptr_null(find(&t, 2, 7));
	ck_assert_ptr_eq(find(&t, 1, 7), &a);
	ck_assert_ptr_eq(find(&t, 3, 7 + 64), &c);
	ck_assert_uint_eq(t.n, 2);
	wd_htab_remove(&t, &b.hnode); /* not in it any more: nothing happens */
	ck_assert_uint_eq(t.n, 2);
	wd_htab_free(&t);
}
END_TEST

/*
 * 20,000 entries (a busy node's connections), inserted and removed in a
 * shuffled order: the table doubles as it fills, every entry stays
 * findable, and the chains stay short (load at most 1 after each doubling).
 */
START_TEST(test_grow_and_churn)
{
	enum { N = 20000 };
	struct wd_htab t;
	struct item *it = calloc(N, sizeof(*it));
	unsigned seed = 12345;
	ck_assert_ptr_nonnull(it);
	wd_htab_init(&t);
	for (unsigned i = 0; i < N; i++) {
		it[i].key = i;
		uint64_t h = wd_htab_hash(&t, &it[i].key, sizeof(it[i].key));
		ck_assert_int_eq(wd_htab_insert(&t, &it[i].hnode, h), 0);
		it[i].in = true;
	}
	ck_assert_uint_eq(t.n, N);
	ck_assert_uint_ge(t.nb, N);
	ck_assert_uint_le(t.nb, 2 * N);
	size_t longest = 0;
	for (size_t b = 0; b < t.nb; b++) {
		size_t len = 0;
		for (struct wd_hnode *n = t.b[b]; n; n = n->next)
			len++;
		if (len > longest)
			longest = len;
	}
	ck_assert_uint_le(longest, 12); /* a keyed hash spreads 20,000 ints */
	for (unsigned round = 0; round < 3 * N; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % N;
		uint64_t h = wd_htab_hash(&t, &k, sizeof(k));
		if (it[k].in) {
			ck_assert_ptr_eq(find(&t, k, h), &it[k]);
			wd_htab_remove(&t, &it[k].hnode);
			it[k].in = false;
		} else {
			ck_assert_ptr_null(find(&t, k, h));
			ck_assert_int_eq(wd_htab_insert(&t, &it[k].hnode, h), 0);
			it[k].in = true;
		}
	}
	size_t in = 0;
	for (unsigned k = 0; k < N; k++) {
		uint64_t h = wd_htab_hash(&t, &k, sizeof(k));
		ck_assert_ptr_eq(find(&t, k, h), it[k].in ? &it[k] : NULL);
		in += it[k].in;
	}
	ck_assert_uint_eq(t.n, in);
	wd_htab_free(&t);
	free(it);
}
END_TEST

/* Two tables get different keys, so one peer's collisions are not another node's. */
START_TEST(test_keys_differ)
{
	struct wd_htab a, b;
	wd_htab_init(&a);
	wd_htab_init(&b);
	ck_assert(a.k0 != b.k0 || a.k1 != b.k1);
	ck_assert_uint_ne(wd_htab_hash(&a, "10.0.0.1", 8), wd_htab_hash(&b, "10.0.0.1", 8));
}
END_TEST

static Suite *htab_suite(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_siphash13_vectors);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_same_hash);
	tcase_add_test(tc, test_grow_and_churn);
	tcase_add_test(tc, test_keys_differ);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(htab_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
