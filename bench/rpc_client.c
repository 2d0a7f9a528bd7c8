/*
 * rpc_client.c - the client half of connection-oriented DCE/RPC for the
 * benchmark tools; the contract is rpc_client.h.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc_client.h"
#include "witness/err.h"

const struct dcerpc_pdu_syntax rpcc_witness_syntax = {
    {0xccd8c074, 0xd0e5, 0x4a40, {0x92, 0xb4}, {0xd0, 0x74, 0xfa, 0xa6, 0xba, 0x28}}, 1 | 1u << 16};
const struct dcerpc_pdu_syntax rpcc_epm_syntax = {
    {0xe1af8308, 0x5d1f, 0x11c9, {0x91, 0xa4}, {0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}}, 3};

enum { AUTH_CONTEXT_ID = 1, MAX_FRAG = 5840, RPCC_SIG_SIZE = 16 /* NTLMSSP_MESSAGE_SIGNATURE */ };

int rpcc_init(struct rpcc *c, uint8_t auth_level, const struct rpcc_creds *creds)
{
	memset(c, 0, sizeof(*c));
	c->auth_level = auth_level;
	if (auth_level == AUTH_LEVEL_NONE)
		return 0;
	if (creds == NULL ||
	    (auth_level != AUTH_LEVEL_INTEGRITY && auth_level != AUTH_LEVEL_PRIVACY))
		return WD_EINVAL;
	struct ntlm_client_opts o = {
	    .user = creds->user, .domain = creds->domain, .password = creds->password};
	return ntlm_client_new(&o, &c->ntlm);
}

void rpcc_free(struct rpcc *c)
{
	ntlm_client_free(c->ntlm);
	c->ntlm = NULL;
}

static struct dcerpc_auth auth_of(const struct rpcc *c, const uint8_t *token, size_t len)
{
	struct dcerpc_auth a;

	memset(&a, 0, sizeof(a));
	a.present = true;
	a.trailer.auth_type = AUTH_TYPE_NTLMSSP;
	a.trailer.auth_level = c->auth_level;
	a.trailer.auth_context_id = AUTH_CONTEXT_ID;
	a.token = token;
	a.token_len = len;
	return a;
}

int rpcc_bind(struct rpcc *c, const struct dcerpc_pdu_syntax *abstract, struct dcerpc_buf *out)
{
	struct dcerpc_bind b;
	struct dcerpc_auth a;

	memset(&b, 0, offsetof(struct dcerpc_bind, ctx) + sizeof(b.ctx[0]));
	dcerpc_hdr_init(&b.hdr, DCERPC_PKT_BIND, DCERPC_PFC_FIRST | DCERPC_PFC_LAST, ++c->call_id);
	b.max_xmit_frag = MAX_FRAG;
	b.max_recv_frag = MAX_FRAG;
	b.n_ctx = 1;
	b.ctx[0].context_id = 0;
	b.ctx[0].n_transfer = 1;
	b.ctx[0].abstract = *abstract;
	b.ctx[0].transfer[0] = dcerpc_ndr32_syntax;
	b.auth.present = false;
	if (c->ntlm == NULL)
		return dcerpc_bind_push(out, &b, NULL);
	const uint8_t *neg;
	size_t nl;
	int rc = ntlm_client_negotiate(c->ntlm, &neg, &nl);
	if (rc)
		return rc;
	a = auth_of(c, neg, nl);
	return dcerpc_bind_push(out, &b, &a);
}

int rpcc_bind_ack(struct rpcc *c, const uint8_t *buf, size_t len, struct dcerpc_buf *out)
{
	struct dcerpc_bind_ack ack;
	struct dcerpc_simple a3;
	struct dcerpc_auth a;
	uint8_t *tok = NULL;
	size_t tl = 0;
	int rc;

	if (len >= 3 && buf[2] == DCERPC_PKT_BIND_NAK)
		return WD_EACCES;
	if (dcerpc_bind_ack_pull(buf, len, &ack) != 0)
		return WD_EPROTO;
	if (ack.n_results < 1 || ack.results[0].result != DCERPC_RESULT_ACCEPT)
		return WD_EACCES;
	if (c->ntlm == NULL) {
		c->bound = true;
		return 0;
	}
	if (!ack.auth.present)
		return WD_EPROTO;
	rc = ntlm_client_authenticate(c->ntlm, ack.auth.token, ack.auth.token_len, &tok, &tl);
	if (rc)
		return rc;
	memset(&a3, 0, sizeof(a3));
	dcerpc_hdr_init(&a3.hdr, DCERPC_PKT_AUTH3, DCERPC_PFC_FIRST | DCERPC_PFC_LAST,
	                ack.hdr.call_id);
	a = auth_of(c, tok, tl);
	rc = dcerpc_simple_push(out, &a3, &a);
	free(tok);
	if (rc == 0)
		c->bound = true;
	return rc;
}

int rpcc_request(struct rpcc *c, uint16_t opnum, const uint8_t *stub, size_t stub_len,
                 struct dcerpc_buf *out, uint32_t *call_id)
{
	struct dcerpc_request rq;
	struct dcerpc_auth a;
	size_t start = out->len, pdu_len;
	uint8_t *sig;
	int rc;

	memset(&rq, 0, sizeof(rq));
	dcerpc_hdr_init(&rq.hdr, DCERPC_PKT_REQUEST, DCERPC_PFC_FIRST | DCERPC_PFC_LAST,
	                ++c->call_id);
	rq.alloc_hint = (uint32_t)stub_len;
	rq.opnum = opnum;
	rq.stub = stub;
	rq.stub_len = stub_len;
	if (call_id != NULL)
		*call_id = c->call_id;
	if (c->ntlm == NULL)
		return dcerpc_request_push(out, &rq, NULL);
	a = auth_of(c, NULL, RPCC_SIG_SIZE);
	rc = dcerpc_request_push(out, &rq, &a);
	if (rc)
		return rc;
	/* [MS-RPCE] 2.2.2.11: the signature covers the PDU up to the token;
	 * privacy seals stub + pad (between the 24-byte header and the trailer) */
	pdu_len = out->len - start - RPCC_SIG_SIZE;
	sig = out->data + start + pdu_len;
	if (c->auth_level == AUTH_LEVEL_PRIVACY)
		return ntlm_client_seal(c->ntlm, out->data + start, pdu_len, DCERPC_REQ_HDR_LEN,
		                        pdu_len - DCERPC_REQ_HDR_LEN - DCERPC_TRAILER_LEN, sig);
	return ntlm_client_sign(c->ntlm, out->data + start, pdu_len, sig);
}

int rpcc_response(struct rpcc *c, uint8_t *buf, size_t len, const uint8_t **stub, size_t *stub_len,
                  uint32_t *call_id, uint32_t *fault)
{
	struct dcerpc_response r;
	int rc;

	*fault = 0;
	if (len >= 3 && buf[2] == DCERPC_PKT_FAULT) {
		struct dcerpc_fault f;
		if (dcerpc_fault_pull(buf, len, &f) == 0) {
			*fault = f.status;
			*call_id = f.hdr.call_id;
		}
		return WD_EPROTO;
	}
	if (dcerpc_response_pull(buf, len, &r) != 0)
		return WD_EPROTO;
	*call_id = r.hdr.call_id;
	if ((r.hdr.pfc_flags & (DCERPC_PFC_FIRST | DCERPC_PFC_LAST)) !=
	    (DCERPC_PFC_FIRST | DCERPC_PFC_LAST))
		return WD_EPROTO;
	if (c->ntlm == NULL) {
		*stub = r.stub;
		*stub_len = r.stub_len;
		return 0;
	}
	if (!r.auth.present || r.auth.token_len != RPCC_SIG_SIZE ||
	    r.auth.trailer.auth_pad_length > r.stub_len)
		return WD_EPROTO;
	size_t pdu_len = r.auth.trailer_off + DCERPC_TRAILER_LEN;
	if (c->auth_level == AUTH_LEVEL_PRIVACY)
		rc = ntlm_client_unseal(c->ntlm, buf, pdu_len, r.stub_off,
		                        r.auth.trailer_off - r.stub_off, r.auth.token);
	else
		rc = ntlm_client_check(c->ntlm, buf, pdu_len, r.auth.token);
	if (rc)
		return WD_ESIG;
	*stub = r.stub;
	*stub_len = r.stub_len - r.auth.trailer.auth_pad_length;
	return 0;
}

size_t rpcc_frag_len(const uint8_t *buf, size_t len)
{
	size_t fl;

	if (len < DCERPC_HDR_LEN)
		return 0;
	fl = (size_t)buf[8] | (size_t)buf[9] << 8;
	if (fl < DCERPC_HDR_LEN)
		return (size_t)-1;
	return fl <= len ? fl : 0;
}
