/*
 * fuzz_pdu.c - libFuzzer target for the pure CO PDU parsers (src/dcerpc/pdu.c):
 * every pull must reject or accept without reading out of bounds, and what a
 * pull accepts must push back to a PDU that pulls again to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/dcerpc/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copy so that ASan sees the exact extent */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct dcerpc_hdr h;
	(void)dcerpc_hdr_pull(buf, size, &h);

	static struct dcerpc_bind bind, bind2;
	if (dcerpc_bind_pull(buf, size, &bind) == 0) {
		struct dcerpc_buf b = {0};
		if (dcerpc_bind_push(&b, &bind, bind.auth.present ? &bind.auth : NULL) == 0) {
			if (dcerpc_bind_pull(b.data, b.len, &bind2) != 0 ||
			    bind2.n_ctx != bind.n_ctx ||
			    bind2.assoc_group_id != bind.assoc_group_id)
				abort();
		}
		dcerpc_buf_free(&b);
	}
	static struct dcerpc_bind_ack ack;
	(void)dcerpc_bind_ack_pull(buf, size, &ack);
	struct dcerpc_bind_nak nak;
	(void)dcerpc_bind_nak_pull(buf, size, &nak);
	struct dcerpc_request req, req2;
	if (dcerpc_request_pull(buf, size, &req) == 0) {
		struct dcerpc_buf b = {0};
		req.stub_len -= req.auth.present ? req.auth.trailer.auth_pad_length : 0;
		if (req.stub_len <= 0xffff &&
		    dcerpc_request_push(&b, &req, req.auth.present ? &req.auth : NULL) == 0) {
			if (dcerpc_request_pull(b.data, b.len, &req2) != 0 ||
			    req2.opnum != req.opnum || req2.context_id != req.context_id)
				abort();
		}
		dcerpc_buf_free(&b);
		size_t vt;
		(void)dcerpc_vt_find(req.stub, req.stub_len, NULL, NULL, &vt);
	}
	struct dcerpc_response resp;
	(void)dcerpc_response_pull(buf, size, &resp);
	struct dcerpc_fault f;
	(void)dcerpc_fault_pull(buf, size, &f);
	struct dcerpc_simple s;
	(void)dcerpc_simple_pull(buf, size, &s);
	size_t vt;
	(void)dcerpc_vt_find(buf, size, &dcerpc_ndr32_syntax, &dcerpc_ndr32_syntax, &vt);
	free(buf);
	return 0;
}
