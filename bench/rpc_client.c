/*
 * rpc_client.c - the client half of connection-oriented DCE/RPC for the
 * benchmark tools; the contract is rpc_client.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "rpc_client.h"
#include "witness/err.h"
#include "witness/gss_dcerpc.h"

const struct dcerpc_pdu_syntax rpcc_witness_syntax = {
    {0xccd8c074, 0xd0e5, 0x4a40, {0x92, 0xb4}, {0xd0, 0x74, 0xfa, 0xa6, 0xba, 0x28}}, 1 | 1u << 16};
const struct dcerpc_pdu_syntax rpcc_epm_syntax = {
    {0xe1af8308, 0x5d1f, 0x11c9, {0x91, 0xa4}, {0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}}, 3};

enum { AUTH_CONTEXT_ID = 1, MAX_FRAG = 5840, RPCC_SIG_SIZE = 16 /* NTLMSSP_MESSAGE_SIGNATURE */ };

struct rpcc_gss {
	gss_ctx_id_t ctx;
	gss_name_t target;
	bool hdr_sign, complete;
	size_t mic_size, wrap_size;
};

/* The first GSSAPI failure of the process on stderr (one, not one per client). */
static void gss_report(const char *what, OM_uint32 maj, OM_uint32 min)
{
	static bool said;
	OM_uint32 m2, mctx = 0;
	gss_buffer_desc b1 = GSS_C_EMPTY_BUFFER, b2 = GSS_C_EMPTY_BUFFER;

	if (said)
		return;
	said = true;
	gss_display_status(&m2, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &mctx, &b1);
	mctx = 0;
	gss_display_status(&m2, min, GSS_C_MECH_CODE, (gss_OID)gss_mech_krb5, &mctx, &b2);
	fprintf(stderr, "loadgen: %s: %.*s; %.*s\n", what, (int)b1.length,
	        b1.value ? (char *)b1.value : "", (int)b2.length, b2.value ? (char *)b2.value : "");
	gss_release_buffer(&m2, &b1);
	gss_release_buffer(&m2, &b2);
}

static int gss_new(const char *target, struct rpcc_gss **out)
{
	struct rpcc_gss *g = calloc(1, sizeof(*g));
	gss_buffer_desc nb = {strlen(target), (void *)target};
	OM_uint32 maj, min;

	if (g == NULL)
		return WD_ENOMEM;
	g->ctx = GSS_C_NO_CONTEXT;
	/* "svc/host[@REALM]" is a principal name, "svc@host" a host-based one */
	maj = gss_import_name(&min, &nb,
	                      strchr(target, '/') ? (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME
	                                          : GSS_C_NT_HOSTBASED_SERVICE,
	                      &g->target);
	if (GSS_ERROR(maj)) {
		gss_report("krb5 target", maj, min);
		free(g);
		return WD_EINVAL;
	}
	*out = g;
	return 0;
}

static void gss_free(struct rpcc_gss *g)
{
	OM_uint32 min;

	if (g == NULL)
		return;
	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &g->ctx, GSS_C_NO_BUFFER);
	gss_release_name(&min, &g->target);
	free(g);
}

/* Token sizes once the context is complete, computed as the acceptor does
 * (include/witness/gss_dcerpc.h). */
static int gss_sizes(struct rpcc_gss *g)
{
	int enctype;

	if (wd_gss_token_sizes(g->ctx, &g->wrap_size, &g->mic_size, &enctype) != 0) {
		fprintf(stderr, "loadgen: gss_wrap_iov_length failed (enctype %d)\n", enctype);
		return WD_EIO;
	}
	return 0;
}

/*
 * One call of gss_init_sec_context: in NULL for the AP-REQ, then the
 * server's AP-REP; *out (malloc'd) the token to send. DCE style ([MS-KILE]
 * 3.4.5.1) as Samba's gensec_gssapi asks for auth_type 16.
 */
static int gss_step(struct rpcc *c, const uint8_t *in, size_t in_len, uint8_t **out,
                    size_t *out_len)
{
	struct rpcc_gss *g = c->gss;
	OM_uint32 maj, min, ret = 0;
	OM_uint32 want = GSS_C_DCE_STYLE | GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG |
	                 GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG;
	gss_buffer_desc it = {in_len, (void *)in}, ot = GSS_C_EMPTY_BUFFER;

	if (c->auth_level == AUTH_LEVEL_PRIVACY)
		want |= GSS_C_CONF_FLAG;
	*out = NULL;
	*out_len = 0;
	maj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &g->ctx, g->target,
	                           (gss_OID)gss_mech_krb5, want, 0, GSS_C_NO_CHANNEL_BINDINGS,
	                           in ? &it : GSS_C_NO_BUFFER, NULL, &ot, &ret, NULL);
	if (GSS_ERROR(maj)) {
		gss_report("gss_init_sec_context", maj, min);
		gss_release_buffer(&min, &ot);
		return WD_EAUTH;
	}
	if (ot.length > 0) {
		*out = malloc(ot.length);
		if (*out == NULL) {
			gss_release_buffer(&min, &ot);
			return WD_ENOMEM;
		}
		memcpy(*out, ot.value, ot.length);
		*out_len = ot.length;
	}
	gss_release_buffer(&min, &ot);
	if (maj & GSS_S_CONTINUE_NEEDED)
		return in == NULL ? 0 : WD_EPROTO; /* DCE style ends after the AP-REP */
	OM_uint32 need = GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | (want & GSS_C_CONF_FLAG);
	if (in == NULL || (ret & need) != need)
		return WD_EPROTO;
	g->complete = true;
	return gss_sizes(g);
}

/* The auth token's size in a request at the level: 16 (NTLMSSP), the MIC or the wrap header. */
static size_t sig_size(const struct rpcc *c)
{
	if (c->gss == NULL)
		return RPCC_SIG_SIZE;
	return c->auth_level == AUTH_LEVEL_PRIVACY ? c->gss->wrap_size : c->gss->mic_size;
}

/* Signs (integrity) or seals (privacy) the request in [pdu, +pdu_len); the token goes to sig. */
static int gss_protect(struct rpcc_gss *g, int level, uint8_t *pdu, size_t pdu_len, size_t body_off,
                       size_t body_len, uint8_t *sig, size_t sig_len)
{
	OM_uint32 maj, min;

	if (level == AUTH_LEVEL_PRIVACY) {
		gss_iov_buffer_desc iov[4];
		int conf = 0, n = wd_gss_pdu_iov(iov, pdu, pdu_len, body_off, body_len, g->hdr_sign,
		                                 sig, sig_len);

		maj = gss_wrap_iov(&min, g->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, n);
		if (GSS_ERROR(maj) || !conf || iov[0].buffer.length != sig_len) {
			gss_report("gss_wrap_iov", maj, min);
			return WD_EIO;
		}
		return 0;
	}
	gss_buffer_desc m = {g->hdr_sign ? pdu_len : body_len, pdu + (g->hdr_sign ? 0 : body_off)};
	gss_buffer_desc t = GSS_C_EMPTY_BUFFER;
	int rc = 0;

	maj = gss_get_mic(&min, g->ctx, GSS_C_QOP_DEFAULT, &m, &t);
	if (GSS_ERROR(maj) || t.length != sig_len) {
		gss_report("gss_get_mic", maj, min);
		rc = WD_EIO;
	} else {
		memcpy(sig, t.value, t.length);
	}
	gss_release_buffer(&min, &t);
	return rc;
}

/* Checks (integrity) or unseals in place (privacy) a response; WD_ESIG when it is not genuine. */
static int gss_unprotect(struct rpcc_gss *g, int level, uint8_t *pdu, size_t pdu_len,
                         size_t body_off, size_t body_len, const uint8_t *sig, size_t sig_len)
{
	OM_uint32 maj, min;

	if (level == AUTH_LEVEL_PRIVACY) {
		gss_iov_buffer_desc iov[4];
		uint8_t tok[256];
		int conf = 0, n;
		gss_qop_t qop;

		if (sig_len > sizeof(tok))
			return WD_ESIG;
		memcpy(tok, sig, sig_len); /* the unwrap rewrites its header buffer */
		n = wd_gss_pdu_iov(iov, pdu, pdu_len, body_off, body_len, g->hdr_sign, tok,
		                   sig_len);
		maj = gss_unwrap_iov(&min, g->ctx, &conf, &qop, iov, n);
	} else {
		gss_buffer_desc m = {g->hdr_sign ? pdu_len : body_len,
		                     pdu + (g->hdr_sign ? 0 : body_off)};
		gss_buffer_desc t = {sig_len, (void *)sig};

		maj = gss_verify_mic(&min, g->ctx, &m, &t, NULL);
	}
	/* a replayed or reordered token is no answer to this request */
	if (GSS_ERROR(maj) || (maj & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN |
	                              GSS_S_GAP_TOKEN))) {
		gss_report(level == AUTH_LEVEL_PRIVACY ? "gss_unwrap_iov" : "gss_verify_mic", maj,
		           min);
		return WD_ESIG;
	}
	return 0;
}

int rpcc_init(struct rpcc *c, uint8_t auth_level, const struct rpcc_creds *creds)
{
	memset(c, 0, sizeof(*c));
	c->auth_level = auth_level;
	if (auth_level == AUTH_LEVEL_NONE)
		return 0;
	if (creds == NULL ||
	    (auth_level != AUTH_LEVEL_INTEGRITY && auth_level != AUTH_LEVEL_PRIVACY))
		return WD_EINVAL;
	if (creds->krb5_target != NULL)
		return gss_new(creds->krb5_target, &c->gss);
	struct ntlm_client_opts o = {
	    .user = creds->user, .domain = creds->domain, .password = creds->password};
	return ntlm_client_new(&o, &c->ntlm);
}

void rpcc_free(struct rpcc *c)
{
	ntlm_client_free(c->ntlm);
	c->ntlm = NULL;
	gss_free(c->gss);
	c->gss = NULL;
}

static struct dcerpc_auth auth_of(const struct rpcc *c, const uint8_t *token, size_t len)
{
	struct dcerpc_auth a;

	memset(&a, 0, sizeof(a));
	a.present = true;
	a.trailer.auth_type = c->gss != NULL ? AUTH_TYPE_KRB5 : AUTH_TYPE_NTLMSSP;
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
	if (c->gss != NULL) {
		uint8_t *tok;
		size_t tl;
		int rc = gss_step(c, NULL, 0, &tok, &tl);

		if (rc)
			return rc;
		b.hdr.pfc_flags |= DCERPC_PFC_HDR_SIGN; /* offered, as Samba's client does */
		a = auth_of(c, tok, tl);
		rc = dcerpc_bind_push(out, &b, &a);
		free(tok);
		return rc;
	}
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
	if (c->ntlm == NULL && c->gss == NULL) {
		c->bound = true;
		return 0;
	}
	if (!ack.auth.present)
		return WD_EPROTO;
	if (c->gss != NULL) {
		c->gss->hdr_sign = (ack.hdr.pfc_flags & DCERPC_PFC_HDR_SIGN) != 0;
		rc = gss_step(c, ack.auth.token, ack.auth.token_len, &tok, &tl);
	} else {
		rc = ntlm_client_authenticate(c->ntlm, ack.auth.token, ack.auth.token_len, &tok,
		                              &tl);
	}
	if (rc) {
		free(tok);
		return rc;
	}
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
	if (c->ntlm == NULL && c->gss == NULL)
		return dcerpc_request_push(out, &rq, NULL);
	a = auth_of(c, NULL, sig_size(c));
	rc = dcerpc_request_push(out, &rq, &a);
	if (rc)
		return rc;
	/* [MS-RPCE] 2.2.2.11: the signature covers the PDU up to the token;
	 * privacy seals stub + pad (between the 24-byte header and the trailer) */
	pdu_len = out->len - start - sig_size(c);
	sig = out->data + start + pdu_len;
	if (c->gss != NULL)
		return gss_protect(
		    c->gss, c->auth_level, out->data + start, pdu_len, DCERPC_REQ_HDR_LEN,
		    pdu_len - DCERPC_REQ_HDR_LEN - DCERPC_TRAILER_LEN, sig, sig_size(c));
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
	if (c->ntlm == NULL && c->gss == NULL) {
		*stub = r.stub;
		*stub_len = r.stub_len;
		return 0;
	}
	if (!r.auth.present || r.auth.token_len != sig_size(c) ||
	    r.auth.trailer.auth_pad_length > r.stub_len)
		return WD_EPROTO;
	size_t pdu_len = r.auth.trailer_off + DCERPC_TRAILER_LEN;
	if (c->gss != NULL)
		rc = gss_unprotect(c->gss, c->auth_level, buf, pdu_len, r.stub_off,
		                   r.auth.trailer_off - r.stub_off, r.auth.token, r.auth.token_len);
	else if (c->auth_level == AUTH_LEVEL_PRIVACY)
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
