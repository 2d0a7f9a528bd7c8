/*
 * bench_ndr.c - MS-SWN NDR32 throughput, and the C side of the Samba oracle
 * test (tests/integration/test_ndr_oracle.py).
 *
 *   bench_ndr                 encode/decode throughput of typical stubs
 *   bench_ndr repush [ndr64]  stdin lines "<kind> <hex>"; prints our pull +
 *                             re-push as "<hex>" or "ERR <code> <name>"
 *   bench_ndr gen N SEED [ndr64]
 *                             prints N random vectors pushed by us, in the
 *                             tests/vectors/witness_ndr.txt line format
 * With "ndr64" the stubs are NDR64 (NDR_FLAG_NDR64) instead of NDR32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "witness/err.h"
#include "witness/ndr_witness.h"

/* ------------------------------------------------------------ helpers */

static int hexnib(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void print_hex(FILE *f, const uint8_t *b, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		fputc(hx[b[i] >> 4], f);
		fputc(hx[b[i] & 15], f);
	}
}

static uint32_t ndr_flags; /* NDR_FLAG_NDR64 with the "ndr64" argument */

static int repush_mode(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		char *sp = strchr(line, ' ');
		if (sp == NULL) {
			printf("ERR %d usage\n", WD_EINVAL);
			continue;
		}
		*sp = '\0';
		int kind = witness_stub_kind_from_name(line);
		const char *hex = sp + 1;
		size_t hl = strlen(hex);
		uint8_t *buf = malloc(hl / 2 + 1);
		size_t bl = 0;
		bool ok = kind >= 0 && hl % 2 == 0 && buf != NULL;
		for (size_t i = 0; ok && i < hl; i += 2) {
			int a = hexnib(hex[i]), b = hexnib(hex[i + 1]);
			ok = a >= 0 && b >= 0;
			buf[bl++] = (uint8_t)(a << 4 | b);
		}
		if (!ok) {
			printf("ERR %d bad-input\n", WD_EINVAL);
			free(buf);
			continue;
		}
		struct ndr_push p;
		size_t used = 0;
		ndr_push_init_flags(&p, ndr_flags);
		int rc = ndr_witness_stub_repush_flags(kind, buf, bl, ndr_flags, &p, &used);
		if (rc == 0 && used != bl)
			rc = WD_EPROTO; /* the oracle's bytes must be consumed exactly */
		if (rc != 0) {
			printf("ERR %d %s\n", rc, wd_strerror(rc));
		} else {
			print_hex(stdout, p.data, p.len);
			putchar('\n');
		}
		fflush(stdout);
		ndr_push_free(&p);
		free(buf);
	}
	free(line);
	return 0;
}

/* ------------------------------------------------------- random values */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible per seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* A random UTF-8 string of up to maxchars code points (ASCII, BMP, astral). */
static char *rnd_string(int maxchars)
{
	int n = (int)rnd_below((uint32_t)maxchars + 1);
	char *s = malloc((size_t)n * 4 + 1);
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		uint32_t cp;
		switch (rnd_below(4)) {
		case 0:
		case 1:
			cp = 0x21 + rnd_below(0x5e);
			break;
		case 2:
			do
				cp = 0x80 + rnd_below(0xff80);
			while (cp >= 0xd800 && cp <= 0xdfff);
			break;
		default:
			cp = 0x10000 + rnd_below(0x100000);
		}
		if (cp < 0x80) {
			s[o++] = (char)cp;
		} else if (cp < 0x800) {
			s[o++] = (char)(0xc0 | cp >> 6);
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			s[o++] = (char)(0xe0 | cp >> 12);
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | cp >> 18);
			s[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	s[o] = '\0';
	return s;
}

static char *rnd_opt_string(int maxchars)
{
	return rnd_below(5) == 0 ? NULL : rnd_string(maxchars);
}

static void rnd_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static uint32_t rnd_result(void)
{
	static const uint32_t r[] = {0, 0, 0x5, 0x57, 0x103, 0x490, 0x5b4, 0x139f};
	return rnd_below(5) == 0 ? rnd() : r[rnd_below(8)];
}

static void kv_str(const char *key, const char *s)
{
	if (s == NULL) {
		printf(" %s=null", key);
		return;
	}
	printf(" %s=s:", key);
	print_hex(stdout, (const uint8_t *)s, strlen(s));
}

static void kv_bytes(const char *key, const uint8_t *b, size_t n)
{
	printf(" %s=b:", key);
	print_hex(stdout, b, n);
}

static void gen_one(int kind, int idx)
{
	struct ndr_push p;
	char key[64];
	int rc = 0;

	ndr_push_init_flags(&p, ndr_flags);
	/* values are printed after the bytes, so push into p first */
	switch (kind) {
	case WITNESS_STUB_REGISTER_IN:
	case WITNESS_STUB_REGISTER_EX_IN: {
		bool ex = kind == WITNESS_STUB_REGISTER_EX_IN;
		struct witness_register_in r = {0};
		r.version = rnd_below(2) ? (ex ? WITNESS_V2 : WITNESS_V1) : rnd();
		r.net_name = rnd_opt_string(30);
		r.ip_address = rnd_opt_string(40);
		r.client_computer_name = rnd_opt_string(16);
		if (ex) {
			r.share_name = rnd_opt_string(20);
			r.flags = rnd_below(3) == 2 ? rnd() : rnd_below(2);
			r.timeout = rnd_below(2) ? 120 : rnd();
		}
		rc = ex ? ndr_witness_register_ex_in_push(&p, &r)
		        : ndr_witness_register_in_push(&p, &r);
		printf("%s c%d ", witness_stub_kind_name(kind), idx);
		print_hex(stdout, p.data, p.len);
		printf(" version=0x%x", r.version);
		kv_str("net", r.net_name);
		kv_str("ip", r.ip_address);
		kv_str("client", r.client_computer_name);
		if (ex) {
			kv_str("share", r.share_name);
			printf(" flags=0x%x timeout=0x%x", r.flags, r.timeout);
		}
		witness_register_in_free(&r);
		break;
	}
	case WITNESS_STUB_HANDLE_IN:
	case WITNESS_STUB_HANDLE_OUT: {
		struct ndr_policy_handle h;
		uint8_t g[16];
		uint32_t result = rnd_result();
		h.handle_type = rnd_below(3) == 2 ? rnd() : rnd_below(2);
		rnd_bytes(g, 16);
		wd_guid_from_wire(g, &h.uuid);
		rc = kind == WITNESS_STUB_HANDLE_IN ? ndr_witness_handle_in_push(&p, &h)
		                                    : ndr_witness_handle_out_push(&p, &h, result);
		printf("%s c%d ", witness_stub_kind_name(kind), idx);
		print_hex(stdout, p.data, p.len);
		printf(" htype=0x%x", h.handle_type);
		kv_bytes("uuid", g, 16);
		if (kind == WITNESS_STUB_HANDLE_OUT)
			printf(" result=0x%x", result);
		break;
	}
	case WITNESS_STUB_RESULT_OUT: {
		uint32_t result = rnd_result();
		rc = ndr_witness_result_out_push(&p, result);
		printf("%s c%d ", witness_stub_kind_name(kind), idx);
		print_hex(stdout, p.data, p.len);
		printf(" result=0x%x", result);
		break;
	}
	case WITNESS_STUB_GET_INTERFACE_LIST_OUT: {
		struct witness_interface_list l = {0, NULL};
		bool present = rnd_below(10) != 0;
		uint32_t result = rnd_result();
		if (present) {
			l.num = rnd_below(10);
			l.interfaces = calloc(l.num + 1, sizeof(*l.interfaces));
			for (uint32_t i = 0; i < l.num; i++) {
				struct witness_interface_info *ii = &l.interfaces[i];
				char *s = rnd_string(60);
				snprintf(ii->group_name, sizeof(ii->group_name), "%s", s);
				free(s);
				ii->version = rnd_below(2) ? WITNESS_UNSPECIFIED_VERSION : rnd();
				ii->state = rnd_below(2) ? 1 : (uint16_t)rnd();
				rnd_bytes(ii->ipv4, 4);
				rnd_bytes(ii->ipv6, 16);
				ii->flags = rnd_below(2) ? 5 : rnd();
			}
		}
		rc = ndr_witness_get_interface_list_out_push(&p, present ? &l : NULL, result);
		printf("%s c%d ", witness_stub_kind_name(kind), idx);
		print_hex(stdout, p.data, p.len);
		printf(" present=0x%x", present);
		if (present) {
			printf(" num=0x%x arr=0x1", l.num);
			for (uint32_t i = 0; i < l.num; i++) {
				const struct witness_interface_info *ii = &l.interfaces[i];
				snprintf(key, sizeof(key), "if%u.name", i);
				kv_str(key, ii->group_name);
				printf(" if%u.version=0x%x if%u.state=0x%x", i, ii->version, i,
				       ii->state);
				snprintf(key, sizeof(key), "if%u.ipv4", i);
				kv_bytes(key, ii->ipv4, 4);
				snprintf(key, sizeof(key), "if%u.ipv6", i);
				kv_bytes(key, ii->ipv6, 16);
				printf(" if%u.flags=0x%x", i, ii->flags);
			}
		}
		printf(" result=0x%x", result);
		free(l.interfaces);
		break;
	}
	case WITNESS_STUB_ASYNC_NOTIFY_OUT: {
		struct witness_notify_response r = {0};
		uint32_t result = rnd_result();
		uint32_t sel = rnd_below(10);
		/* remembered for the printed values */
		uint32_t nrc = 0, rct[8];
		char *rcn[8];
		struct witness_ipaddr_info addrs[8];
		uint32_t naddr = 0;
		if (sel == 0) {
			rc = ndr_witness_async_notify_out_push(&p, NULL, result);
		} else if (sel < 6) {
			nrc = 1 + rnd_below(8);
			for (uint32_t i = 0; i < nrc; i++) {
				rct[i] = rnd_below(3) == 0 ? rnd() : (rnd_below(2) ? 1 : 0xff);
				rcn[i] = rnd_string(25);
				if (witness_msg_add_resource_change(&r, rct[i], rcn[i]) != 0)
					rc = WD_EINVAL;
			}
		} else {
			r.type = 2 + rnd_below(3);
			naddr = rnd_below(8);
			for (uint32_t i = 0; i < naddr; i++) {
				memset(&addrs[i], 0, sizeof(addrs[i]));
				if (rnd_below(2)) {
					addrs[i].flags = WITNESS_IPADDR_V4;
					rnd_bytes(addrs[i].ipv4, 4);
				} else {
					addrs[i].flags = WITNESS_IPADDR_V6;
					rnd_bytes(addrs[i].ipv6, 16);
				}
				addrs[i].flags |= rnd_below(3) == 0   ? 0
				                  : rnd_below(2) == 0 ? WITNESS_IPADDR_ONLINE
				                                      : WITNESS_IPADDR_OFFLINE;
			}
			if (witness_msg_add_ipaddr_list(&r, addrs, naddr) != 0)
				rc = WD_EINVAL;
		}
		if (sel != 0 && rc == 0)
			rc = ndr_witness_async_notify_out_push(&p, &r, result);
		printf("%s c%d ", witness_stub_kind_name(kind), idx);
		print_hex(stdout, p.data, p.len);
		printf(" present=0x%x", sel != 0);
		if (sel != 0) {
			printf(" type=0x%x length=0x%x num=0x%x", r.type, r.length, r.num);
			kv_bytes("buf", r.buffer, r.length);
			for (uint32_t i = 0; i < nrc; i++) {
				printf(" rc%u.type=0x%x", i, rct[i]);
				snprintf(key, sizeof(key), "rc%u.name", i);
				kv_str(key, rcn[i]);
				free(rcn[i]);
			}
			for (uint32_t i = 0; i < naddr; i++) {
				printf(" ip%u.flags=0x%x", i, addrs[i].flags);
				snprintf(key, sizeof(key), "ip%u.ipv4", i);
				kv_bytes(key, addrs[i].ipv4, 4);
				snprintf(key, sizeof(key), "ip%u.ipv6", i);
				kv_bytes(key, addrs[i].ipv6, 16);
			}
		}
		printf(" result=0x%x", result);
		witness_notify_response_free(&r);
		break;
	}
	}
	putchar('\n');
	if (rc != 0 || ndr_push_finish(&p) != 0) {
		fprintf(stderr, "gen: push failed: %s\n", wd_strerror(rc ? rc : p.err));
		exit(1);
	}
	ndr_push_free(&p);
}

static int gen_mode(int count, uint64_t seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < count; i++)
		gen_one(i % WITNESS_STUB_NUM_KINDS, i);
	return 0;
}

/* --------------------------------------------------------- throughput */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sample {
	const char *what;
	int kind;
	uint8_t *data;
	size_t len;
};

static void bench_one(const struct sample *s)
{
	/* encode: pull once, then push the decoded value many times */
	double t0 = now(), t1;
	long iters = 0;
	size_t bytes = 0;
	do {
		for (int i = 0; i < 1000; i++) {
			struct ndr_push p;
			ndr_push_init(&p);
			if (ndr_witness_stub_repush(s->kind, s->data, s->len, &p, NULL) != 0) {
				fprintf(stderr, "bench: %s failed\n", s->what);
				exit(1);
			}
			bytes += p.len;
			ndr_push_free(&p);
		}
		iters += 1000;
		t1 = now();
	} while (t1 - t0 < 0.3);
	double rt = (double)iters / (t1 - t0);

	/* decode only */
	t0 = now();
	long diters = 0;
	do {
		for (int i = 0; i < 1000; i++) {
			struct ndr_pull q;
			ndr_pull_init(&q, s->data, s->len);
			switch (s->kind) {
			case WITNESS_STUB_REGISTER_EX_IN: {
				struct witness_register_in r;
				ndr_witness_register_ex_in_pull(&q, &r);
				witness_register_in_free(&r);
				break;
			}
			case WITNESS_STUB_GET_INTERFACE_LIST_OUT: {
				struct witness_interface_list l;
				bool pr;
				uint32_t res;
				if (ndr_witness_get_interface_list_out_pull(&q, &l, &pr, &res) == 0)
					witness_interface_list_free(&l);
				break;
			}
			case WITNESS_STUB_ASYNC_NOTIFY_OUT: {
				struct witness_notify_response r;
				bool pr;
				uint32_t res;
				if (ndr_witness_async_notify_out_pull(&q, &r, &pr, &res) == 0)
					witness_notify_response_free(&r);
				break;
			}
			default: {
				struct ndr_policy_handle h;
				ndr_witness_handle_in_pull(&q, &h);
			}
			}
		}
		diters += 1000;
		t1 = now();
	} while (t1 - t0 < 0.3);
	double dt = (double)diters / (t1 - t0);
	printf("%-34s %6zu B  decode %10.0f/s %8.1f MB/s  decode+encode %10.0f/s %8.1f MB/s\n",
	       s->what, s->len, dt, dt * (double)s->len / 1e6, rt, rt * (double)s->len / 1e6);
	(void)bytes;
}

static void take(struct sample *s, const char *what, int kind, struct ndr_push *p)
{
	s->what = what;
	s->kind = kind;
	s->data = ndr_push_steal(p, &s->len);
	if (s->data == NULL) {
		fprintf(stderr, "bench: building %s failed\n", what);
		exit(1);
	}
}

static int bench_mode(void)
{
	struct sample s[5];
	struct ndr_push p;

	struct witness_register_in r = {.version = WITNESS_V2,
	                                .net_name = "fileserver.example.com",
	                                .share_name = "projects",
	                                .ip_address = "192.168.10.20",
	                                .client_computer_name = "WIN11-CLIENT-042",
	                                .flags = WITNESS_REGISTER_IP_NOTIFICATION,
	                                .timeout = 120};
	ndr_push_init(&p);
	ndr_witness_register_ex_in_push(&p, &r);
	take(&s[0], "RegisterEx request", WITNESS_STUB_REGISTER_EX_IN, &p);

	struct ndr_policy_handle h = {.handle_type = 1};
	wd_guid_random(&h.uuid);
	ndr_push_init(&p);
	ndr_witness_handle_in_push(&p, &h);
	take(&s[1], "AsyncNotify request (handle)", WITNESS_STUB_HANDLE_IN, &p);

	struct witness_interface_info ifs[16];
	memset(ifs, 0, sizeof(ifs));
	for (int i = 0; i < 16; i++) {
		snprintf(ifs[i].group_name, sizeof(ifs[i].group_name), "NODE%02d", i);
		ifs[i].version = WITNESS_UNSPECIFIED_VERSION;
		ifs[i].state = WITNESS_STATE_AVAILABLE;
		ifs[i].ipv4[0] = 10;
		ifs[i].ipv4[3] = (uint8_t)i;
		ifs[i].flags = WITNESS_INFO_IPV4_VALID | WITNESS_INFO_WITNESS_IF;
	}
	struct witness_interface_list l = {16, ifs};
	ndr_push_init(&p);
	ndr_witness_get_interface_list_out_push(&p, &l, WERR_OK);
	take(&s[2], "GetInterfaceList response (16)", WITNESS_STUB_GET_INTERFACE_LIST_OUT, &p);

	struct witness_notify_response n = {0};
	witness_msg_add_resource_change(&n, WITNESS_RESOURCE_STATE_UNAVAILABLE, "FILESERVER");
	ndr_push_init(&p);
	ndr_witness_async_notify_out_push(&p, &n, WERR_OK);
	take(&s[3], "AsyncNotify response (1 change)", WITNESS_STUB_ASYNC_NOTIFY_OUT, &p);
	witness_notify_response_free(&n);

	struct witness_ipaddr_info a[4];
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 4; i++) {
		a[i].flags = WITNESS_IPADDR_V4 | WITNESS_IPADDR_ONLINE;
		a[i].ipv4[0] = 10;
		a[i].ipv4[3] = (uint8_t)i;
	}
	n.type = WITNESS_NOTIFY_IP_CHANGE;
	witness_msg_add_ipaddr_list(&n, a, 4);
	ndr_push_init(&p);
	ndr_witness_async_notify_out_push(&p, &n, WERR_OK);
	take(&s[4], "AsyncNotify response (IP_CHANGE 4)", WITNESS_STUB_ASYNC_NOTIFY_OUT, &p);
	witness_notify_response_free(&n);

	printf("MS-SWN NDR32 throughput (single thread)\n");
	for (int i = 0; i < 5; i++) {
		bench_one(&s[i]);
		free(s[i].data);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[argc - 1], "ndr64") == 0) {
		ndr_flags = NDR_FLAG_NDR64;
		argc--;
	}
	if (argc >= 2 && strcmp(argv[1], "repush") == 0)
		return repush_mode();
	if (argc >= 4 && strcmp(argv[1], "gen") == 0)
		return gen_mode(atoi(argv[2]), strtoull(argv[3], NULL, 0));
	if (argc == 1)
		return bench_mode();
	fprintf(stderr, "usage: bench_ndr [repush | gen N SEED] [ndr64]\n");
	return 2;
}
