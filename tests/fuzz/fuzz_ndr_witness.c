/*
 * fuzz_ndr_witness.c - libFuzzer target for the MS-SWN NDR and NDR64 parsers.
 *
 * Input byte 0 selects the stub kind (low 7 bits) and the transfer syntax
 * (bit 7 set: NDR64), the rest is the stub. Properties:
 * no crash, no leak (ASan), and for any input that pulls: our push of the
 * pulled values pulls again and re-pushes to the same bytes (push and pull
 * agree). Notify responses also go through the message-buffer parsers, and
 * the remaining bytes through the UTF-16 and wstring primitives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr_witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_messages(const uint8_t *data, size_t size, uint32_t flags)
{
	struct ndr_pull q;
	struct witness_notify_response r;
	bool present;
	uint32_t result;

	ndr_pull_init_flags(&q, data, size, flags);
	if (ndr_witness_async_notify_out_pull(&q, &r, &present, &result) != 0 || !present)
		return;
	struct witness_resource_change *rc = NULL;
	uint32_t n = 0;
	if (witness_msg_parse_resource_changes(&r, &rc, &n) == 0)
		witness_resource_changes_free(rc, n);
	struct witness_ipaddr_info *ia = NULL;
	if (witness_msg_parse_ipaddr_list(&r, &ia, &n) == 0)
		free(ia);
	witness_notify_response_free(&r);
}

static void fuzz_primitives(const uint8_t *data, size_t size)
{
	char *s = NULL;
	if (wd_utf16le_to_utf8(data, size / 2, &s) == 0) {
		uint8_t *u = NULL;
		size_t units = 0;
		/* a decoded string encodes back to the same units */
		if (wd_utf8_to_utf16le(s, &u, &units) != 0 || units != size / 2 ||
		    memcmp(u, data, units * 2) != 0)
			abort();
		free(u);
		free(s);
	}
	struct ndr_pull q;
	ndr_pull_init(&q, data, size);
	s = NULL;
	ndr_pull_wstring(&q, &s);
	if (ndr_pull_finish(&q) == 0) {
		struct ndr_push p;
		ndr_push_init(&p);
		ndr_push_wstring(&p, s);
		if (ndr_push_finish(&p) != 0)
			abort();
		ndr_push_free(&p);
		free(s);
	}
	/* UTF-8 input: must be NUL-terminated */
	char *z = malloc(size + 1);
	if (z != NULL) {
		memcpy(z, data, size);
		z[size] = '\0';
		uint8_t *u = NULL;
		size_t units;
		if (wd_utf8_to_utf16le(z, &u, &units) == 0) {
			char *back = NULL;
			if (wd_utf16le_to_utf8(u, units, &back) != 0 || strcmp(back, z) != 0)
				abort();
			free(back);
			free(u);
		}
		free(z);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint32_t flags = data[0] & 0x80 ? NDR_FLAG_NDR64 : 0;
	int kind = (data[0] & 0x7f) % (WITNESS_STUB_NUM_KINDS + 1);
	data++;
	size--;
	if (kind == WITNESS_STUB_NUM_KINDS) {
		fuzz_primitives(data, size);
		return 0;
	}

	struct ndr_push p1, p2;
	size_t used = 0;
	ndr_push_init_flags(&p1, flags);
	if (ndr_witness_stub_repush_flags(kind, data, size, flags, &p1, &used) == 0) {
		ndr_push_init_flags(&p2, flags);
		size_t used2 = 0;
		if (ndr_witness_stub_repush_flags(kind, p1.data, p1.len, flags, &p2, &used2) != 0 ||
		    used2 != p1.len || p2.len != p1.len || memcmp(p1.data, p2.data, p1.len) != 0)
			abort(); /* our own output must round-trip exactly */
		ndr_push_free(&p2);
	}
	ndr_push_free(&p1);
	if (kind == WITNESS_STUB_ASYNC_NOTIFY_OUT)
		fuzz_messages(data, size, flags);
	return 0;
}
