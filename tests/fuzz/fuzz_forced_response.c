/*
 * fuzz_forced_response.c - libFuzzer target for the parser of
 * `witnessctl force-response --forced-response JSON` (the admin input that
 * becomes an AsyncNotify response, as Samba's net_witness.c). Any JSON parses or is
 * refused with a message; an accepted response must marshal as NDR and pull
 * back with the same type, count and message bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../src/witness/wit_priv.h"
#include "witness/ndr_witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct witness_notify_response *resp, uint32_t result)
{
	struct ndr_push p;
	struct ndr_pull l;
	struct witness_notify_response back = {0};
	bool present = false;
	uint32_t res = 0;

	ndr_push_init(&p);
	if (ndr_witness_async_notify_out_push(&p, resp, result) != 0) {
		ndr_push_free(&p); /* e.g. a message too long for the wire: refused, fine */
		return;
	}
	ndr_pull_init(&l, p.data, p.len);
	if (ndr_witness_async_notify_out_pull(&l, &back, &present, &res) != 0 || !present ||
	    res != result || back.type != resp->type || back.num != resp->num ||
	    back.length != resp->length ||
	    (resp->length && memcmp(back.buffer, resp->buffer, resp->length) != 0))
		abort();
	witness_notify_response_free(&back);
	ndr_push_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	struct witness_notify_response resp = {0};
	bool has_resp = false;
	uint32_t result = 0;
	char err[256] = "";

	if (j == NULL)
		return 0;
	if (wit_forced_response_parse(j, &resp, &has_resp, &result, err, sizeof(err)) == 0) {
		if (has_resp)
			check_roundtrip(&resp, result);
		witness_notify_response_free(&resp);
	} else if (err[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	cJSON_Delete(j);
	return 0;
}
