/*
 * test_ndr_witness.c - MS-SWN NDR32 against Samba's NDR and Windows captures.
 *
 * tests/vectors/witness_ndr.txt (made by gen_witness_vectors.py with
 * python3-samba) holds, per vector, the kind, the exact bytes and the values.
 * For every vector: our pull recovers exactly those values and consumes every
 * byte; our push of those values gives exactly those bytes; every strict
 * prefix fails to pull; message buffers built with witness_msg_add_* equal
 * Samba's and parse back to the values.
 *
 * Keys per kind:
 *   register_in / register_ex_in: version net ip client [share flags timeout]
 *   handle_in: htype uuid          handle_out: htype uuid result
 *   result_out: result
 *   get_interface_list_out: present [num arr if<i>.{name,version,state,ipv4,ipv6,flags}] result
 *   async_notify_out: present [type length num buf rc<i>.{type,name} ip<i>.{flags,ipv4,ipv6}]
 * result
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr_witness.h"

#define MAX_KV 1024

struct vec {
	char kind[64];
	char name[128];
	uint8_t *data;
	size_t len;
	int nkv;
	char *key[MAX_KV];
	char *val[MAX_KV];
};

static int hexnib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static uint8_t *unhex(const char *h, size_t *len)
{
	size_t n = strlen(h);
	ck_assert_msg(n % 2 == 0, "odd hex");
	uint8_t *b = malloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexnib(h[2 * i]), lo = hexnib(h[2 * i + 1]);
		ck_assert_msg(hi >= 0 && lo >= 0, "bad hex");
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return b;
}

static const char *kv(const struct vec *v, const char *key)
{
	for (int i = 0; i < v->nkv; i++)
		if (strcmp(v->key[i], key) == 0)
			return v->val[i];
	ck_abort_msg("%s %s: no key %s", v->kind, v->name, key);
	return NULL;
}

static uint32_t kv_u32(const struct vec *v, const char *key)
{
	return (uint32_t)strtoul(kv(v, key), NULL, 0);
}

/* Returns a malloc'd UTF-8 string, or NULL for "null". */
static char *kv_str(const struct vec *v, const char *key)
{
	const char *s = kv(v, key);
	if (strcmp(s, "null") == 0)
		return NULL;
	ck_assert(strncmp(s, "s:", 2) == 0);
	size_t n;
	uint8_t *b = unhex(s + 2, &n);
	b[n] = '\0';
	return (char *)b;
}

static uint8_t *kv_bytes(const struct vec *v, const char *key, size_t *n)
{
	const char *s = kv(v, key);
	ck_assert(strncmp(s, "b:", 2) == 0);
	return unhex(s + 2, n);
}

static void kv_fixed(const struct vec *v, const char *key, void *out, size_t want)
{
	size_t n;
	uint8_t *b = kv_bytes(v, key, &n);
	ck_assert_uint_eq(n, want);
	memcpy(out, b, n);
	free(b);
}

static void vec_free(struct vec *v)
{
	free(v->data);
	for (int i = 0; i < v->nkv; i++)
		free(v->key[i]);
	memset(v, 0, sizeof(*v));
}

/* Parses one line; false for blank/comment lines. */
static bool vec_parse(char *line, struct vec *v)
{
	memset(v, 0, sizeof(*v));
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return false;
	char *save = NULL;
	char *kind = strtok_r(line, " ", &save);
	char *name = strtok_r(NULL, " ", &save);
	char *hex = strtok_r(NULL, " ", &save);
	ck_assert(kind && name && hex);
	snprintf(v->kind, sizeof(v->kind), "%s", kind);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->data = unhex(hex, &v->len);
	for (char *t = strtok_r(NULL, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		ck_assert_int_lt(v->nkv, MAX_KV);
		char *k = strdup(t);
		char *eq = strchr(k, '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		v->key[v->nkv] = k;
		v->val[v->nkv] = eq + 1;
		v->nkv++;
	}
	return true;
}

static void assert_str_eq_null(const char *got, const char *want, const struct vec *v,
                               const char *what)
{
	if (want == NULL) {
		ck_assert_msg(got == NULL, "%s %s: %s should be NULL", v->kind, v->name, what);
	} else {
		ck_assert_msg(got != NULL, "%s %s: %s is NULL", v->kind, v->name, what);
		ck_assert_msg(strcmp(got, want) == 0, "%s %s: %s differs", v->kind, v->name, what);
	}
}

static void assert_bytes(const struct ndr_push *p, const struct vec *v)
{
	ck_assert_int_eq(ndr_push_finish(p), 0);
	ck_assert_msg(p->len == v->len, "%s %s: pushed %zu bytes, want %zu", v->kind, v->name,
	              p->len, v->len);
	ck_assert_msg(memcmp(p->data, v->data, v->len) == 0, "%s %s: bytes differ", v->kind,
	              v->name);
}

/* ------------------------------------------------ per-kind checks */

static void check_register(const struct vec *v, bool ex)
{
	struct witness_register_in want = {0}, got;
	want.version = kv_u32(v, "version");
	want.net_name = kv_str(v, "net");
	want.ip_address = kv_str(v, "ip");
	want.client_computer_name = kv_str(v, "client");
	if (ex) {
		want.share_name = kv_str(v, "share");
		want.flags = kv_u32(v, "flags");
		want.timeout = kv_u32(v, "timeout");
	}
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	int rc =
	    ex ? ndr_witness_register_ex_in_pull(&q, &got) : ndr_witness_register_in_pull(&q, &got);
	ck_assert_msg(rc == 0, "%s %s: pull %d", v->kind, v->name, rc);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_uint_eq(got.version, want.version);
	assert_str_eq_null(got.net_name, want.net_name, v, "net");
	assert_str_eq_null(got.share_name, want.share_name, v, "share");
	assert_str_eq_null(got.ip_address, want.ip_address, v, "ip");
	assert_str_eq_null(got.client_computer_name, want.client_computer_name, v, "client");
	ck_assert_uint_eq(got.flags, want.flags);
	ck_assert_uint_eq(got.timeout, want.timeout);
	witness_register_in_free(&got);
	ck_assert_ptr_null(got.net_name);

	struct ndr_push p;
	ndr_push_init(&p);
	rc = ex ? ndr_witness_register_ex_in_push(&p, &want)
	        : ndr_witness_register_in_push(&p, &want);
	ck_assert_int_eq(rc, 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);
	witness_register_in_free(&want);
}

static void kv_handle(const struct vec *v, struct ndr_policy_handle *h)
{
	uint8_t g[16];
	h->handle_type = kv_u32(v, "htype");
	kv_fixed(v, "uuid", g, 16);
	wd_guid_from_wire(g, &h->uuid);
}

static void check_handle_in(const struct vec *v)
{
	struct ndr_policy_handle want, got;
	kv_handle(v, &want);
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	ck_assert_int_eq(ndr_witness_handle_in_pull(&q, &got), 0);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_uint_eq(got.handle_type, want.handle_type);
	ck_assert(wd_guid_equal(&got.uuid, &want.uuid));
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_handle_in_push(&p, &want), 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);
}

static void check_handle_out(const struct vec *v)
{
	struct ndr_policy_handle want, got;
	uint32_t result = 0;
	kv_handle(v, &want);
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	ck_assert_int_eq(ndr_witness_handle_out_pull(&q, &got, &result), 0);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_uint_eq(got.handle_type, want.handle_type);
	ck_assert(wd_guid_equal(&got.uuid, &want.uuid));
	ck_assert_uint_eq(result, kv_u32(v, "result"));
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_handle_out_push(&p, &want, kv_u32(v, "result")), 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);
}

static void check_result_out(const struct vec *v)
{
	uint32_t result = 0;
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	ck_assert_int_eq(ndr_witness_result_out_pull(&q, &result), 0);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_uint_eq(result, kv_u32(v, "result"));
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_result_out_push(&p, result), 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);
}

static void check_interface_list(const struct vec *v)
{
	bool present = kv_u32(v, "present") != 0;
	uint32_t result = kv_u32(v, "result");
	struct witness_interface_list want = {0, NULL};
	char key[64];

	if (present) {
		want.num = kv_u32(v, "num");
		if (kv_u32(v, "arr") != 0)
			want.interfaces = calloc(want.num + 1, sizeof(*want.interfaces));
		for (uint32_t i = 0; i < want.num; i++) {
			struct witness_interface_info *ii = &want.interfaces[i];
			snprintf(key, sizeof(key), "if%u.name", i);
			char *s = kv_str(v, key);
			snprintf(ii->group_name, sizeof(ii->group_name), "%s", s);
			free(s);
			snprintf(key, sizeof(key), "if%u.version", i);
			ii->version = kv_u32(v, key);
			snprintf(key, sizeof(key), "if%u.state", i);
			ii->state = (uint16_t)kv_u32(v, key);
			snprintf(key, sizeof(key), "if%u.ipv4", i);
			kv_fixed(v, key, ii->ipv4, 4);
			snprintf(key, sizeof(key), "if%u.ipv6", i);
			kv_fixed(v, key, ii->ipv6, 16);
			snprintf(key, sizeof(key), "if%u.flags", i);
			ii->flags = kv_u32(v, key);
		}
	}

	struct witness_interface_list got;
	bool got_present = !present;
	uint32_t got_result = ~result;
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	int rc = ndr_witness_get_interface_list_out_pull(&q, &got, &got_present, &got_result);
	ck_assert_msg(rc == 0, "%s %s: pull %d", v->kind, v->name, rc);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_int_eq(got_present, present);
	ck_assert_uint_eq(got_result, result);
	if (present) {
		ck_assert_uint_eq(got.num, want.num);
		ck_assert_int_eq(got.interfaces != NULL, want.interfaces != NULL);
		for (uint32_t i = 0; i < want.num; i++) {
			const struct witness_interface_info *a = &got.interfaces[i];
			const struct witness_interface_info *b = &want.interfaces[i];
			ck_assert_str_eq(a->group_name, b->group_name);
			ck_assert_uint_eq(a->version, b->version);
			ck_assert_uint_eq(a->state, b->state);
			ck_assert_mem_eq(a->ipv4, b->ipv4, 4);
			ck_assert_mem_eq(a->ipv6, b->ipv6, 16);
			ck_assert_uint_eq(a->flags, b->flags);
		}
		witness_interface_list_free(&got);
	}

	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(
	    ndr_witness_get_interface_list_out_push(&p, present ? &want : NULL, result), 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);
	free(want.interfaces);
}

static void check_notify(const struct vec *v)
{
	bool present = kv_u32(v, "present") != 0;
	uint32_t result = kv_u32(v, "result");
	struct witness_notify_response want = {0};
	size_t blen = 0;
	char key[64];

	if (present) {
		want.type = kv_u32(v, "type");
		want.length = kv_u32(v, "length");
		want.num = kv_u32(v, "num");
		want.buffer = kv_bytes(v, "buf", &blen);
		ck_assert_uint_eq(blen, want.length);
	}

	struct witness_notify_response got;
	bool got_present = !present;
	uint32_t got_result = ~result;
	struct ndr_pull q;
	ndr_pull_init(&q, v->data, v->len);
	int rc = ndr_witness_async_notify_out_pull(&q, &got, &got_present, &got_result);
	ck_assert_msg(rc == 0, "%s %s: pull %d", v->kind, v->name, rc);
	ck_assert_uint_eq(ndr_pull_remaining(&q), 0);
	ck_assert_int_eq(got_present, present);
	ck_assert_uint_eq(got_result, result);
	if (present) {
		ck_assert_uint_eq(got.type, want.type);
		ck_assert_uint_eq(got.length, want.length);
		ck_assert_uint_eq(got.num, want.num);
		ck_assert_ptr_nonnull(got.buffer);
		ck_assert_mem_eq(got.buffer, want.buffer, want.length);
	}

	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_async_notify_out_push(&p, present ? &want : NULL, result), 0);
	assert_bytes(&p, v);
	ndr_push_free(&p);

	/* message buffer: build with our builders, compare, parse back */
	if (present && want.type == WITNESS_NOTIFY_RESOURCE_CHANGE) {
		struct witness_notify_response built = {0};
		for (uint32_t i = 0; i < want.num; i++) {
			snprintf(key, sizeof(key), "rc%u.type", i);
			uint32_t t = kv_u32(v, key);
			snprintf(key, sizeof(key), "rc%u.name", i);
			char *nm = kv_str(v, key);
			ck_assert_int_eq(witness_msg_add_resource_change(&built, t, nm), 0);
			free(nm);
		}
		if (want.num > 0) {
			ck_assert_uint_eq(built.type, want.type);
			ck_assert_uint_eq(built.num, want.num);
			ck_assert_uint_eq(built.length, want.length);
			ck_assert_mem_eq(built.buffer, want.buffer, want.length);
		}
		struct witness_resource_change *rcs = NULL;
		uint32_t n = 0;
		ck_assert_int_eq(witness_msg_parse_resource_changes(&got, &rcs, &n), 0);
		ck_assert_uint_eq(n, want.num);
		for (uint32_t i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "rc%u.type", i);
			ck_assert_uint_eq(rcs[i].change_type, kv_u32(v, key));
			snprintf(key, sizeof(key), "rc%u.name", i);
			char *nm = kv_str(v, key);
			ck_assert_str_eq(rcs[i].name, nm);
			free(nm);
		}
		witness_resource_changes_free(rcs, n);
		witness_notify_response_free(&built);
	}
	if (present && want.type >= WITNESS_NOTIFY_CLIENT_MOVE &&
	    want.type <= WITNESS_NOTIFY_IP_CHANGE) {
		uint32_t count = want.length >= 12 ? (want.length - 12) / 24 : 0;
		struct witness_ipaddr_info *addrs = calloc(count + 1, sizeof(*addrs));
		for (uint32_t i = 0; i < count; i++) {
			snprintf(key, sizeof(key), "ip%u.flags", i);
			addrs[i].flags = kv_u32(v, key);
			snprintf(key, sizeof(key), "ip%u.ipv4", i);
			kv_fixed(v, key, addrs[i].ipv4, 4);
			snprintf(key, sizeof(key), "ip%u.ipv6", i);
			kv_fixed(v, key, addrs[i].ipv6, 16);
		}
		struct witness_notify_response built = {.type = want.type};
		ck_assert_int_eq(witness_msg_add_ipaddr_list(&built, addrs, count), 0);
		ck_assert_uint_eq(built.num, 1);
		ck_assert_uint_eq(built.length, want.length);
		ck_assert_mem_eq(built.buffer, want.buffer, want.length);
		struct witness_ipaddr_info *pa = NULL;
		uint32_t n = 0;
		ck_assert_int_eq(witness_msg_parse_ipaddr_list(&got, &pa, &n), 0);
		ck_assert_uint_eq(n, count);
		for (uint32_t i = 0; i < n; i++) {
			ck_assert_uint_eq(pa[i].flags, addrs[i].flags);
			ck_assert_mem_eq(pa[i].ipv4, addrs[i].ipv4, 4);
			ck_assert_mem_eq(pa[i].ipv6, addrs[i].ipv6, 16);
		}
		free(pa);
		free(addrs);
		witness_notify_response_free(&built);
	}
	if (present)
		witness_notify_response_free(&got);
	free(want.buffer);
}

/* Every strict prefix of a valid stub must fail to pull, without leaks. */
static void check_prefixes(const struct vec *v, int kind)
{
	for (size_t n = 0; n < v->len; n++) {
		struct ndr_push p;
		ndr_push_init(&p);
		int rc = ndr_witness_stub_repush(kind, v->data, n, &p, NULL);
		ck_assert_msg(rc != 0, "%s %s: prefix %zu pulled", v->kind, v->name, n);
		ndr_push_free(&p);
	}
	/* and the generic repush reproduces the bytes, with trailing junk ignored */
	uint8_t *ext = malloc(v->len + 8);
	memcpy(ext, v->data, v->len);
	memcpy(ext + v->len, "\x8a\xe3\x13\x71\x02\xf4\x36\x71", 8); /* a VT magic */
	struct ndr_push p;
	size_t used = 0;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_stub_repush(kind, ext, v->len + 8, &p, &used), 0);
	ck_assert_uint_eq(used, v->len);
	assert_bytes(&p, v);
	ndr_push_free(&p);
	free(ext);
}

static FILE *open_vectors(void)
{
	char path[4096];
	const char *src = getenv("WD_SRCDIR");
	snprintf(path, sizeof(path), "%s/tests/vectors/witness_ndr.txt", src ? src : ".");
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

START_TEST(test_vectors)
{
	FILE *f = open_vectors();
	char *line = NULL;
	size_t cap = 0;
	int count = 0, per_kind[WITNESS_STUB_NUM_KINDS] = {0};
	while (getline(&line, &cap, f) > 0) {
		struct vec v;
		if (!vec_parse(line, &v))
			continue;
		int kind = witness_stub_kind_from_name(v.kind);
		ck_assert_msg(kind >= 0, "unknown kind %s", v.kind);
		switch (kind) {
		case WITNESS_STUB_REGISTER_IN:
			check_register(&v, false);
			break;
		case WITNESS_STUB_REGISTER_EX_IN:
			check_register(&v, true);
			break;
		case WITNESS_STUB_HANDLE_IN:
			check_handle_in(&v);
			break;
		case WITNESS_STUB_HANDLE_OUT:
			check_handle_out(&v);
			break;
		case WITNESS_STUB_RESULT_OUT:
			check_result_out(&v);
			break;
		case WITNESS_STUB_GET_INTERFACE_LIST_OUT:
			check_interface_list(&v);
			break;
		case WITNESS_STUB_ASYNC_NOTIFY_OUT:
			check_notify(&v);
			break;
		}
		check_prefixes(&v, kind);
		per_kind[kind]++;
		count++;
		vec_free(&v);
	}
	free(line);
	fclose(f);
	ck_assert_int_ge(count, 100);
	for (int k = 0; k < WITNESS_STUB_NUM_KINDS; k++)
		ck_assert_msg(per_kind[k] >= 5, "kind %s has %d vectors", witness_stub_kind_name(k),
		              per_kind[k]);
}
END_TEST

START_TEST(test_kinds)
{
	for (int k = 0; k < WITNESS_STUB_NUM_KINDS; k++)
		ck_assert_int_eq(witness_stub_kind_from_name(witness_stub_kind_name(k)), k);
	ck_assert_int_eq(witness_stub_kind_from_name("nope"), -1);
	ck_assert_ptr_null(witness_stub_kind_name(WITNESS_STUB_NUM_KINDS));
	ck_assert_int_eq(witness_stub_kind_for(0, false), -1);
	ck_assert_int_eq(witness_stub_kind_for(0, true), WITNESS_STUB_GET_INTERFACE_LIST_OUT);
	ck_assert_int_eq(witness_stub_kind_for(5, false), WITNESS_STUB_HANDLE_IN);
	ck_assert_int_eq(witness_stub_kind_for(5, true), WITNESS_STUB_HANDLE_OUT);
	ck_assert_int_eq(witness_stub_kind_for(6, true), -1);
	ck_assert_int_eq(witness_stub_kind_for(-1, true), -1);
}
END_TEST

static int pull_gil(const uint8_t *b, size_t n)
{
	struct ndr_pull q;
	struct witness_interface_list l;
	bool present;
	uint32_t res;
	ndr_pull_init(&q, b, n);
	int rc = ndr_witness_get_interface_list_out_pull(&q, &l, &present, &res);
	if (rc == 0)
		witness_interface_list_free(&l);
	return rc;
}

START_TEST(test_interface_list_rejects)
{
	/* max_count != NumberOfInterfaces */
	static const uint8_t mismatch[] = {0, 0, 2, 0, 1, 0, 0, 0, 4, 0, 2, 0, 2, 0, 0, 0};
	ck_assert_int_eq(pull_gil(mismatch, sizeof(mismatch)), WD_EPROTO);
	/* NULL array pointer with num != 0 */
	static const uint8_t nullarr[] = {0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	ck_assert_int_eq(pull_gil(nullarr, sizeof(nullarr)), WD_EPROTO);
	/* a huge count is rejected before allocating */
	static const uint8_t huge[] = {0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff,
	                               4, 0, 2, 0, 0xff, 0xff, 0xff, 0xff};
	ck_assert_int_eq(pull_gil(huge, sizeof(huge)), WD_ERANGE);
	static const uint8_t big[] = {0, 0, 2, 0, 0, 1, 0, 0, 4, 0, 2, 0, 0, 1, 0, 0, 0};
	ck_assert_int_eq(pull_gil(big, sizeof(big)), WD_ESHORT);

	/* a group name without NUL in its 260 units */
	uint8_t buf[16 + 552 + 4];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x00\x00\x02\x00\x01\x00\x00\x00\x04\x00\x02\x00\x01\x00\x00\x00", 16);
	for (int i = 0; i < 260; i++)
		buf[16 + 2 * i] = 'A';
	ck_assert_int_eq(pull_gil(buf, sizeof(buf)), WD_EPROTO);
	buf[16 + 2 * 259] = 0; /* 259 chars + NUL: fine */
	ck_assert_int_eq(pull_gil(buf, sizeof(buf)), 0);

	/* push: a name of 260 units does not fit; NULL array with num */
	struct witness_interface_info ii;
	memset(&ii, 0, sizeof(ii));
	memset(ii.group_name, 'A', 260);
	struct witness_interface_list l = {1, &ii};
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_get_interface_list_out_push(&p, &l, 0), WD_ERANGE);
	ndr_push_free(&p);
	ii.group_name[259] = '\0';
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_get_interface_list_out_push(&p, &l, 0), 0);
	ck_assert_uint_eq(p.len, 4 + 4 + 4 + 4 + 552 + 4);
	ndr_push_free(&p);
	l.interfaces = NULL;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_get_interface_list_out_push(&p, &l, 0), WD_EINVAL);
	ndr_push_free(&p);
}
END_TEST

START_TEST(test_notify_rejects)
{
	struct ndr_pull q;
	struct witness_notify_response r;
	bool present;
	uint32_t res;
	/* max_count != Length */
	static const uint8_t mismatch[] = {0, 0, 2, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0,
	                                   4, 0, 2, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0};
	ndr_pull_init(&q, mismatch, sizeof(mismatch));
	ck_assert_int_eq(ndr_witness_async_notify_out_pull(&q, &r, &present, &res), WD_EPROTO);
	static const uint8_t huge[] = {0, 0, 2, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	                               1, 0, 0, 0, 4, 0, 2, 0, 0xff, 0xff, 0xff, 0xff};
	ndr_pull_init(&q, huge, sizeof(huge));
	ck_assert_int_eq(ndr_witness_async_notify_out_pull(&q, &r, &present, &res), WD_ERANGE);
	/* Samba's encoding of a NULL MessageBuffer (Length = size - 20 = -4) pulls */
	static const uint8_t sambanull[] = {0, 0, 2, 0, 1, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff,
	                                    0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0};
	ndr_pull_init(&q, sambanull, sizeof(sambanull));
	ck_assert_int_eq(ndr_witness_async_notify_out_pull(&q, &r, &present, &res), 0);
	ck_assert(present);
	ck_assert_ptr_null(r.buffer);
	ck_assert_uint_eq(r.length, 0xfffffffc);
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_async_notify_out_push(&p, &r, 0), 0);
	ck_assert_uint_eq(p.len, sizeof(sambanull));
	ck_assert_mem_eq(p.data, sambanull, sizeof(sambanull));
	ndr_push_free(&p);
}
END_TEST

START_TEST(test_msg_builders)
{
	struct witness_notify_response r = {0};
	/* spec example [MS-SWN] 4.1: "GENERALFS" unavailable, Length 28 */
	ck_assert_int_eq(
	    witness_msg_add_resource_change(&r, WITNESS_RESOURCE_STATE_UNAVAILABLE, "GENERALFS"),
	    0);
	ck_assert_uint_eq(r.type, WITNESS_NOTIFY_RESOURCE_CHANGE);
	ck_assert_uint_eq(r.length, 28);
	ck_assert_uint_eq(r.buffer[0], 28);
	ck_assert_uint_eq(r.buffer[4], 0xff);
	ck_assert_int_eq(witness_msg_add_resource_change(&r, 1, "\xff"), WD_EINVAL);
	ck_assert_uint_eq(r.num, 1);
	ck_assert_int_eq(witness_msg_add_ipaddr_list(&r, NULL, 0), WD_EINVAL); /* wrong type */
	witness_notify_response_free(&r);

	r.type = WITNESS_NOTIFY_CLIENT_MOVE;
	ck_assert_int_eq(witness_msg_add_resource_change(&r, 1, "x"), WD_EINVAL);
	struct witness_ipaddr_info a = {.flags = WITNESS_IPADDR_V4, .ipv4 = {10, 0, 0, 1}};
	ck_assert_int_eq(witness_msg_add_ipaddr_list(&r, &a, 1), 0);
	ck_assert_int_eq(witness_msg_add_ipaddr_list(&r, &a, 1), WD_EEXIST); /* one list only */
	ck_assert_uint_eq(r.length, 36);
	static const uint8_t want[36] = {36, 0, 0, 0, 0, 0, 0,  0, 1, 0,
	                                 0,  0, 1, 0, 0, 0, 10, 0, 0, 1};
	ck_assert_mem_eq(r.buffer, want, 36);
	r.type = 0;
	ck_assert_int_eq(witness_msg_add_ipaddr_list(&r, &a, 1), WD_EINVAL);
	witness_notify_response_free(&r);
	ck_assert_ptr_null(r.buffer);
}
END_TEST

START_TEST(test_msg_parsers_reject)
{
	struct witness_resource_change *rc = NULL;
	struct witness_ipaddr_info *ia = NULL;
	uint32_t n = 0;
	uint8_t b[64];
	struct witness_notify_response r = {.type = 1, .num = 1, .buffer = b};

	/* entry Length beyond the buffer */
	memcpy(b, "\x40\x00\x00\x00\xff\x00\x00\x00\x41\x00\x00\x00", 12);
	r.length = 12;
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EPROTO);
	/* no NUL inside the entry */
	memcpy(b, "\x0c\x00\x00\x00\xff\x00\x00\x00\x41\x00\x42\x00", 12);
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EPROTO);
	/* leftover bytes after num entries */
	memcpy(b, "\x0a\x00\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00", 12);
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EPROTO);
	/* num larger than possible: bounded before allocating */
	r.num = 0xffffffff;
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EPROTO);
	/* Length larger than needed: the reader steps by Length (MS test client) */
	r.num = 1;
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EPROTO);
	memcpy(b, "\x0c\x00\x00\x00\x01\x00\x00\x00\x41\x00\x00\x00", 12);
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rc[0].name, "A");
	witness_resource_changes_free(rc, n);
	r.type = 2;
	ck_assert_int_eq(witness_msg_parse_resource_changes(&r, &rc, &n), WD_EINVAL);

	/* ipaddr lists: Length must equal the buffer and 12 + 24n */
	memset(b, 0, sizeof(b));
	memcpy(b, "\x24\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00", 12);
	r.length = 36;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), 0);
	free(ia);
	b[8] = 2;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EPROTO);
	b[8] = 0xff;
	b[11] = 0xff;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EPROTO);
	b[8] = 1;
	b[11] = 0;
	r.length = 40;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EPROTO);
	r.length = 36;
	r.num = 2;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EPROTO);
	r.num = 1;
	r.type = 1;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EINVAL);
	r.type = 4;
	r.length = 8;
	ck_assert_int_eq(witness_msg_parse_ipaddr_list(&r, &ia, &n), WD_EPROTO);
}
END_TEST

START_TEST(test_register_rejects)
{
	/* bad UTF-8 on push */
	struct witness_register_in r = {.version = WITNESS_V1, .net_name = "\xc3"};
	struct ndr_push p;
	ndr_push_init(&p);
	ck_assert_int_eq(ndr_witness_register_in_push(&p, &r), WD_EINVAL);
	ndr_push_free(&p);
	/* an unpaired surrogate in a pulled string: nothing leaks, output untouched */
	static const uint8_t bad[] = {1, 0, 1, 0, 0, 0,    2, 0, 2, 0, 0,    0,    0, 0, 0,
	                              0, 2, 0, 0, 0, 0x41, 0, 0, 0, 4, 0,    2,    0, 2, 0,
	                              0, 0, 0, 0, 0, 0,    2, 0, 0, 0, 0x00, 0xdc, 0, 0};
	struct witness_register_in out;
	memset(&out, 0x5a, sizeof(out));
	struct ndr_pull q;
	ndr_pull_init(&q, bad, sizeof(bad));
	ck_assert_int_eq(ndr_witness_register_in_pull(&q, &out), WD_EPROTO);
	ck_assert_uint_eq(out.version, 0x5a5a5a5a);
}
END_TEST

/*
 * NDR64 vectors packed by samba.ndr (ndr_pack_in/out with ndr64=True):
 * Register(V1, "AB", NULL, "C"); GetInterfaceList with an empty present
 * array; AsyncNotify NULL response.
 */
START_TEST(test_ndr64_vectors)
{
	static const struct {
		int kind;
		const char *hex;
	} v[] = {
	    {WITNESS_STUB_REGISTER_IN,
	     "0100010000000000000002000000000003000000000000000000000000000000030000000000000041"
	     "004200000000000000000000000000040002000000000002000000000000000000000000000000020000"
	     "000000000043000000"},
	    {WITNESS_STUB_GET_INTERFACE_LIST_OUT,
	     "000002000000000000000000000000000400020000000000000000000000000000000000"},
	    {WITNESS_STUB_ASYNC_NOTIFY_OUT, "000000000000000000000000"},
	    {WITNESS_STUB_HANDLE_IN, "0500000000000000000000000000000000000000"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = 0, used = 0;
		uint8_t *b = unhex(v[i].hex, &n);
		struct ndr_push p;
		ndr_push_init_flags(&p, NDR_FLAG_NDR64);
		ck_assert_int_eq(
		    ndr_witness_stub_repush_flags(v[i].kind, b, n, NDR_FLAG_NDR64, &p, &used), 0);
		ck_assert_uint_eq(used, n);
		ck_assert_uint_eq(p.len, n);
		ck_assert_mem_eq(p.data, b, n);
		ndr_push_free(&p);
		/* the same bytes are not valid NDR32 of the same kind, or decode differently */
		ndr_push_init(&p);
		int rc = ndr_witness_stub_repush_flags(v[i].kind, b, n, 0, &p, &used);
		ck_assert(rc != 0 || used != n || p.len != n || memcmp(p.data, b, n) != 0 ||
		          v[i].kind == WITNESS_STUB_HANDLE_IN);
		ndr_push_free(&p);
		free(b);
	}
	/* a count above 32 bits is refused in NDR64 */
	static const uint8_t big[] = {0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	                              4, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
	struct witness_interface_list l;
	bool present;
	uint32_t res;
	struct ndr_pull q;
	ndr_pull_init_flags(&q, big, sizeof(big), NDR_FLAG_NDR64);
	ck_assert_int_eq(ndr_witness_get_interface_list_out_pull(&q, &l, &present, &res),
	                 WD_ERANGE);
}
END_TEST

static Suite *ndr_witness_suite(void)
{
	Suite *s = suite_create("ndr_witness");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_interface_list_rejects);
	tcase_add_test(tc, test_notify_rejects);
	tcase_add_test(tc, test_msg_builders);
	tcase_add_test(tc, test_msg_parsers_reject);
	tcase_add_test(tc, test_register_rejects);
	tcase_add_test(tc, test_ndr64_vectors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ndr_witness_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
