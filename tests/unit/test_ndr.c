/*
 * test_ndr.c - NDR32 primitives, UTF-8 <-> UTF-16LE, conformant-varying
 * strings (src/ndr/ndr.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr.h"

START_TEST(test_push_scalars)
{
	struct ndr_push p;
	ndr_push_init(&p);
	ndr_push_u8(&p, 0x11);
	ndr_push_align(&p, 2);
	ndr_push_u16(&p, 0x2233);
	ndr_push_u32(&p, 0x44556677);
	ndr_push_u8(&p, 1);
	ndr_push_align(&p, 8);
	ndr_push_u64(&p, 0x0102030405060708ull);
	ndr_push_bytes(&p, "ab", 2);
	ndr_push_zero(&p, 2);
	ck_assert_int_eq(ndr_push_finish(&p), 0);
	static const uint8_t want[] = {0x11, 0, 0x33, 0x22, 0x77, 0x66, 0x55, 0x44, 1, 0,
	                               0,    0, 0,    0,    0,    0,    8,    7,    6, 5,
	                               4,    3, 2,    1,    'a',  'b',  0,    0};
	ck_assert_uint_eq(p.len, sizeof(want));
	ck_assert_mem_eq(p.data, want, sizeof(want));
	ndr_push_u32_at(&p, 4, 0xdeadbeef);
	ck_assert_uint_eq(p.data[4], 0xef);
	ck_assert_uint_eq(p.data[7], 0xde);
	ndr_push_u32_at(&p, p.len - 3, 1); /* out of range: sticky error */
	ck_assert_int_eq(ndr_push_finish(&p), WD_ERANGE);
	ndr_push_u32(&p, 5); /* no-op after the error */
	ck_assert_uint_eq(p.len, sizeof(want));
	size_t len = 99;
	ck_assert_ptr_null(ndr_push_steal(&p, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(p.data);                       /* freed by the failed steal */
	ck_assert_int_eq(ndr_push_finish(&p), WD_ERANGE); /* error kept */
	ndr_push_free(&p);
}
END_TEST

START_TEST(test_push_grow_and_steal)
{
	struct ndr_push p;
	ndr_push_init(&p);
	for (uint32_t i = 0; i < 10000; i++)
		ndr_push_u32(&p, i);
	size_t len;
	uint8_t *d = ndr_push_steal(&p, &len);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(len, 40000);
	ck_assert_uint_eq(d[4 * 9999], 9999 & 0xff);
	ck_assert_uint_eq(d[4 * 9999 + 1], 9999 >> 8);
	free(d);
	ck_assert_ptr_null(p.data);
	ck_assert_uint_eq(p.len, 0);
	/* an empty push steals to a non-NULL buffer of length 0 */
	d = ndr_push_steal(&p, &len);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(len, 0);
	free(d);
}
END_TEST

START_TEST(test_ptr_ids)
{
	struct ndr_push p;
	int x;
	ndr_push_init(&p);
	ndr_push_u8(&p, 9);
	ndr_push_ptr(&p, &x); /* aligns to 4 first */
	ndr_push_ptr(&p, NULL);
	ndr_push_ptr(&p, &x);
	static const uint8_t want[] = {9, 0, 0, 0, 0x00, 0x00, 0x02, 0x00,
	                               0, 0, 0, 0, 0x04, 0x00, 0x02, 0x00};
	ck_assert_uint_eq(p.len, sizeof(want));
	ck_assert_mem_eq(p.data, want, sizeof(want));

	struct ndr_pull q;
	bool present = false;
	uint8_t b;
	ndr_pull_init(&q, p.data, p.len);
	ndr_pull_u8(&q, &b);
	ndr_pull_ptr(&q, &present);
	ck_assert(present);
	ndr_pull_ptr(&q, &present);
	ck_assert(!present);
	ndr_pull_ptr(&q, &present);
	ck_assert(present);
	ck_assert_int_eq(ndr_pull_finish(&q), 0);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ndr_push_free(&p);
}
END_TEST

START_TEST(test_pull_scalars_short)
{
	static const uint8_t in[] = {0x11, 0, 0x33, 0x22, 0x77, 0x66, 0x55, 0x44, 0xaa};
	struct ndr_pull q;
	uint8_t a = 0;
	uint16_t b = 0;
	uint32_t c = 0, d = 0x12345678;
	ndr_pull_init(&q, in, sizeof(in));
	ndr_pull_u8(&q, &a);
	ndr_pull_align(&q, 2);
	ndr_pull_u16(&q, &b);
	ndr_pull_u32(&q, &c);
	ck_assert_uint_eq(a, 0x11);
	ck_assert_uint_eq(b, 0x2233);
	ck_assert_uint_eq(c, 0x44556677);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 1);
	ndr_pull_u32(&q, &d); /* truncated: output untouched, sticky */
	ck_assert_uint_eq(d, 0x12345678);
	ck_assert_int_eq(ndr_pull_finish(&q), WD_ESHORT);
	ndr_pull_u8(&q, &a);
	ck_assert_int_eq(ndr_pull_finish(&q), WD_ESHORT);
	ck_assert_ptr_null(ndr_pull_borrow(&q, 0));

	ndr_pull_init(&q, in, sizeof(in));
	const uint8_t *bw = ndr_pull_borrow(&q, 4);
	ck_assert_ptr_eq(bw, in);
	uint64_t v = 0;
	ndr_pull_align(&q, 8); /* 4 pad bytes, 5 left */
	ck_assert_int_eq(ndr_pull_finish(&q), 0);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 1);
	ndr_pull_u64(&q, &v);
	ck_assert_int_eq(ndr_pull_finish(&q), WD_ESHORT);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_guid_roundtrip)
{
	struct wd_guid g, h;
	ck_assert_int_eq(wd_guid_parse("8a885d04-1ceb-11c9-9fe8-08002b104860", &g), 0);
	struct ndr_push p;
	ndr_push_init(&p);
	ndr_push_guid(&p, &g);
	static const uint8_t want[16] = {0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
	                                 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60};
	ck_assert_mem_eq(p.data, want, 16);
	struct ndr_pull q;
	ndr_pull_init(&q, p.data, p.len);
	ndr_pull_guid(&q, &h);
	ck_assert_int_eq(ndr_pull_finish(&q), 0);
	ck_assert(wd_guid_equal(&g, &h));
	ndr_push_free(&p);
}
END_TEST

START_TEST(test_utf_conversions)
{
	uint8_t *u16;
	size_t n;
	char *s;
	/* a, e-acute, euro, G clef (surrogate pair) */
	const char *in = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
	ck_assert_int_eq(wd_utf8_to_utf16le(in, &u16, &n), 0);
	ck_assert_uint_eq(n, 5);
	static const uint8_t want[] = {'a', 0, 0xe9, 0, 0xac, 0x20, 0x34, 0xd8, 0x1e, 0xdd};
	ck_assert_mem_eq(u16, want, sizeof(want));
	ck_assert_int_eq(wd_utf16le_to_utf8(u16, n, &s), 0);
	ck_assert_str_eq(s, in);
	free(s);
	free(u16);

	ck_assert_int_eq(wd_utf8_to_utf16le("", &u16, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(u16);
	ck_assert_int_eq(wd_utf16le_to_utf8(NULL, 0, &s), 0);
	ck_assert_str_eq(s, "");
	free(s);

	const char *bad8[] = {"\xc0\x80",         /* overlong NUL */
	                      "\xe0\x80\xaf",     /* overlong */
	                      "\xed\xa0\x80",     /* UTF-8 encoded surrogate */
	                      "\xf4\x90\x80\x80", /* > U+10FFFF */
	                      "\xc3",             /* truncated */
	                      "a\x80",            /* stray continuation */
	                      "\xff"};
	for (size_t i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++)
		ck_assert_int_eq(wd_utf8_to_utf16le(bad8[i], &u16, &n), WD_EINVAL);

	static const uint8_t lone_hi[] = {0x34, 0xd8, 'a', 0};
	static const uint8_t lone_lo[] = {'a', 0, 0x1e, 0xdd};
	static const uint8_t end_hi[] = {'a', 0, 0x34, 0xd8};
	static const uint8_t nul[] = {'a', 0, 0, 0, 'b', 0};
	s = (char *)0x1;
	ck_assert_int_eq(wd_utf16le_to_utf8(lone_hi, 2, &s), WD_EINVAL);
	ck_assert_int_eq(wd_utf16le_to_utf8(lone_lo, 2, &s), WD_EINVAL);
	ck_assert_int_eq(wd_utf16le_to_utf8(end_hi, 2, &s), WD_EINVAL);
	ck_assert_int_eq(wd_utf16le_to_utf8(nul, 3, &s), WD_EINVAL);
	ck_assert_ptr_eq(s, (char *)0x1); /* untouched on failure */
}
END_TEST

/* The one converter of the tree, bounded form: overlong, surrogates, truncated. */
START_TEST(test_utf_buf_strict)
{
	uint8_t out[16];
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
	    {"\xc1\x81", 2},                 /* overlong 'A' (auth_crypto.c used to take it) */
	    {"\xc0\x80", 2},                 /* overlong NUL */
	    {"\xe0\x80\x80", 3},             /* overlong, 3 bytes */
	    {"\xe0\x9f\xbf", 3},             /* overlong U+07FF */
	    {"\xf0\x80\x80\x80", 4},         /* overlong, 4 bytes */
	    {"\xf0\x8f\xbf\xbf", 4},         /* overlong U+FFFF */
	    {"\xed\xa0\x80", 3},             /* high surrogate U+D800 */
	    {"\xed\xbf\xbf", 3},             /* low surrogate U+DFFF */
	    {"\xed\xa0\xbd\xed\xb8\x80", 6}, /* CESU-8 pair */
	    {"\xf4\x90\x80\x80", 4},         /* U+110000 */
	    {"\xf8\x88\x80\x80\x80", 5},     /* 5-byte form */
	    {"\xe2\x82\xac", 2},             /* truncated by the length */
	    {"\xf0\x9d\x84", 3},             /* truncated 4-byte */
	    {"a\xc3", 2},                    /* lead byte at the end */
	    {"\x80", 1},                     /* continuation without lead */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(wd_utf8_to_utf16le_buf(bad[i].s, bad[i].len, NULL, 0), WD_EINVAL);
		ck_assert_int_eq(wd_utf8_to_utf16le_buf(bad[i].s, bad[i].len, out, sizeof(out)),
		                 WD_EINVAL);
	}
	/* the edges that are valid */
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("\xc2\x80", 2, out, sizeof(out)), 2);
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("\xed\x9f\xbf", 3, out, sizeof(out)), 2);
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("\xee\x80\x80", 3, out, sizeof(out)), 2);
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("\xf4\x8f\xbf\xbf", 4, out, sizeof(out)), 4);
	static const uint8_t max[] = {0xff, 0xdb, 0xff, 0xdf};
	ck_assert_mem_eq(out, max, 4);
	/* measure, then too small */
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("abc", 3, NULL, 0), 6);
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("abc", 3, out, 5), WD_ERANGE);
	ck_assert_int_eq(wd_utf8_to_utf16le_buf("", 0, out, 0), 0);
	/* the malloc form rejects the same: C1 81 inside a string */
	uint8_t *u16 = NULL;
	size_t n = 0;
	ck_assert_int_eq(wd_utf8_to_utf16le("x\xc1\x81y", &u16, &n), WD_EINVAL);
	ck_assert_ptr_null(u16);

	/* UTF-16 -> UTF-8, bounded */
	char s8[8];
	static const uint8_t pair[] = {0x34, 0xd8, 0x1e, 0xdd};
	ck_assert_int_eq(wd_utf16le_to_utf8_buf(pair, 2, s8, sizeof(s8)), 4);
	ck_assert_str_eq(s8, "\xf0\x9d\x84\x9e");
	ck_assert_int_eq(wd_utf16le_to_utf8_buf(pair, 2, s8, 4), WD_ERANGE); /* no room for NUL */
	ck_assert_int_eq(wd_utf16le_to_utf8_buf(pair, 1, s8, sizeof(s8)), WD_EINVAL);
	ck_assert_int_eq(wd_utf16le_to_utf8_buf(pair + 2, 1, s8, sizeof(s8)), WD_EINVAL);
}
END_TEST

START_TEST(test_wstring_push)
{
	struct ndr_push p;
	ndr_push_init(&p);
	ndr_push_u16(&p, 0xffff);
	ndr_push_wstring(&p, "sofs"); /* aligns to 4 */
	ndr_push_wstring(&p, "");
	ck_assert_int_eq(ndr_push_finish(&p), 0);
	static const uint8_t want[] = {0xff, 0xff, 0, 0,   5, 0,   0, 0,   0, 0, 0, 0, 5, 0, 0,
	                               0,    's',  0, 'o', 0, 'f', 0, 's', 0, 0, 0, 0, 0, /* pad */
	                               1,    0,    0, 0,   0, 0,   0, 0,   1, 0, 0, 0, 0, 0};
	ck_assert_uint_eq(p.len, sizeof(want));
	ck_assert_mem_eq(p.data, want, sizeof(want));
	ndr_push_wstring(&p, "\xff");
	ck_assert_int_eq(ndr_push_finish(&p), WD_EINVAL);
	ndr_push_free(&p);

	ndr_push_init(&p);
	ndr_push_wstring(&p, NULL);
	ck_assert_int_eq(ndr_push_finish(&p), WD_EINVAL);
	ndr_push_free(&p);

	char *big = malloc(NDR_MAX_STRING + 1);
	memset(big, 'x', NDR_MAX_STRING);
	big[NDR_MAX_STRING] = '\0';
	ndr_push_init(&p);
	ndr_push_wstring(&p, big); /* 4096 units + NUL > NDR_MAX_STRING */
	ck_assert_int_eq(ndr_push_finish(&p), WD_ERANGE);
	ndr_push_free(&p);
	big[NDR_MAX_STRING - 1] = '\0';
	ndr_push_init(&p);
	ndr_push_wstring(&p, big);
	ck_assert_int_eq(ndr_push_finish(&p), 0);
	struct ndr_pull q;
	char *s = NULL;
	ndr_pull_init(&q, p.data, p.len);
	ndr_pull_wstring(&q, &s);
	ck_assert_int_eq(ndr_pull_finish(&q), 0);
	ck_assert_str_eq(s, big);
	free(s);
	ndr_push_free(&p);
	free(big);
}
END_TEST

static int pull_ws(const uint8_t *b, size_t n, char **s)
{
	struct ndr_pull q;
	ndr_pull_init(&q, b, n);
	ndr_pull_wstring(&q, s);
	return ndr_pull_finish(&q);
}

START_TEST(test_wstring_pull)
{
	char *s = NULL;
	/* max > actual is legal (Windows clients may over-allocate) */
	static const uint8_t ok[] = {9, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'h', 0, 0xe9, 0, 0, 0};
	ck_assert_int_eq(pull_ws(ok, sizeof(ok), &s), 0);
	ck_assert_str_eq(s, "h\xc3\xa9");
	free(s);
	s = NULL;

	static const uint8_t offset[] = {3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'h', 0, 0, 0};
	ck_assert_int_eq(pull_ws(offset, sizeof(offset), &s), WD_EPROTO);
	static const uint8_t act_gt_max[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 0, 0, 0};
	ck_assert_int_eq(pull_ws(act_gt_max, sizeof(act_gt_max), &s), WD_EPROTO);
	static const uint8_t zero[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	ck_assert_int_eq(pull_ws(zero, sizeof(zero), &s), WD_EPROTO);
	static const uint8_t no_nul[] = {2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 0, 'i', 0};
	ck_assert_int_eq(pull_ws(no_nul, sizeof(no_nul), &s), WD_EPROTO);
	static const uint8_t emb_nul[] = {3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'h', 0, 0, 0, 0, 0};
	ck_assert_int_eq(pull_ws(emb_nul, sizeof(emb_nul), &s), WD_EPROTO);
	static const uint8_t lone[] = {2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x00, 0xd8, 0, 0};
	ck_assert_int_eq(pull_ws(lone, sizeof(lone), &s), WD_EPROTO);
	/* bounded before allocation: a huge count with no data is ERANGE, not ENOMEM */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
	ck_assert_int_eq(pull_ws(huge, sizeof(huge), &s), WD_ERANGE);
	static const uint8_t shortb[] = {8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 'h', 0};
	ck_assert_int_eq(pull_ws(shortb, sizeof(shortb), &s), WD_ESHORT);
	ck_assert_int_eq(pull_ws(ok, 7, &s), WD_ESHORT);
	ck_assert_ptr_null(s); /* never set on failure */
}
END_TEST

START_TEST(test_wstring_roundtrip_random)
{
	/* random valid code points, push then pull */
	srand(1234);
	for (int iter = 0; iter < 500; iter++) {
		char buf[256];
		size_t o = 0;
		int nchars = rand() % 40;
		for (int i = 0; i < nchars; i++) {
			uint32_t cp;
			do {
				switch (rand() % 4) {
				case 0:
					cp = 1 + rand() % 0x7f;
					break;
				case 1:
					cp = 0x80 + rand() % 0x780;
					break;
				case 2:
					cp = 0x800 + rand() % 0xf800;
					break;
				default:
					cp = 0x10000 + rand() % 0x100000;
				}
			} while (cp >= 0xd800 && cp <= 0xdfff);
			if (cp < 0x80) {
				buf[o++] = (char)cp;
			} else if (cp < 0x800) {
				buf[o++] = (char)(0xc0 | cp >> 6);
				buf[o++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				buf[o++] = (char)(0xe0 | cp >> 12);
				buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				buf[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				buf[o++] = (char)(0xf0 | cp >> 18);
				buf[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				buf[o++] = (char)(0x80 | (cp & 0x3f));
			}
		}
		buf[o] = '\0';
		struct ndr_push p;
		ndr_push_init(&p);
		ndr_push_wstring(&p, buf);
		ck_assert_int_eq(ndr_push_finish(&p), 0);
		char *s = NULL;
		ck_assert_int_eq(pull_ws(p.data, p.len, &s), 0);
		ck_assert_str_eq(s, buf);
		free(s);
		ndr_push_free(&p);
	}
}
END_TEST

static Suite *ndr_suite(void)
{
	Suite *s = suite_create("ndr");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_push_scalars);
	tcase_add_test(tc, test_push_grow_and_steal);
	tcase_add_test(tc, test_ptr_ids);
	tcase_add_test(tc, test_pull_scalars_short);
	tcase_add_test(tc, test_guid_roundtrip);
	tcase_add_test(tc, test_utf_conversions);
	tcase_add_test(tc, test_utf_buf_strict);
	tcase_add_test(tc, test_wstring_push);
	tcase_add_test(tc, test_wstring_pull);
	tcase_add_test(tc, test_wstring_roundtrip_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ndr_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
