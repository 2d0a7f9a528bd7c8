/*
 * krb5.c - Kerberos through MIT GSSAPI: the acceptor credential from the
 * configured keytab (any principal in it: cifs/<name>, host/<name>...),
 * DCE-style context establishment ([MS-KILE] 3.4.5.1: raw AP-REQ, AP-REP,
 * and the client's third-leg AP-REP), and DCE/RPC protection with the
 * layouts of [MS-RPCE] 3.3.1.5.2.2 (as Samba's auth/kerberos/gssapi_helper.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "witness/err.h"
#include "witness/gss_dcerpc.h"
#include "witness/log.h"
#include "auth_int.h"

struct krb5_server {
	gss_cred_id_t cred;
};

struct krb5_acceptor {
	struct krb5_server *srv;
	gss_ctx_id_t ctx;
	gss_name_t client;
	OM_uint32 flags;
	bool complete;
	size_t mic_size, wrap_size;
};

static void log_gss(const char *event, OM_uint32 maj, OM_uint32 min)
{
	OM_uint32 m2, ctx = 0;
	gss_buffer_desc b1 = GSS_C_EMPTY_BUFFER, b2 = GSS_C_EMPTY_BUFFER;
	char e1[256] = "", e2[256] = "";

	gss_display_status(&m2, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b1);
	ctx = 0;
	gss_display_status(&m2, min, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &b2);
	if (b1.value) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)b1.length, (char *)b1.value);
		wd_log_escape(tmp, e1, sizeof(e1));
	}
	if (b2.value) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)b2.length, (char *)b2.value);
		wd_log_escape(tmp, e2, sizeof(e2));
	}
	wd_log(WD_LOG_NOTICE, event, "major=0x%x minor=%u gss=%s mech=%s", maj, min, e1, e2);
	gss_release_buffer(&m2, &b1);
	gss_release_buffer(&m2, &b2);
}

int krb5_server_new(const char *keytab, struct krb5_server **out)
{
	struct krb5_server *k;
	OM_uint32 maj, min;
	gss_key_value_element_desc el = {"keytab", keytab};
	gss_key_value_set_desc store = {1, &el};
	/* Windows offers 1.2.840.48018.1.2.2 (MS krb5) first in SPNEGO and may
	 * frame its token with it; MIT keeps that OID as a mechanism of its own,
	 * so the acceptor credential must cover both. */
	gss_OID_desc both[2] = {*gss_mech_krb5, *gss_mech_krb5_wrong};
	gss_OID_set_desc mechs = {2, both};

	k = calloc(1, sizeof(*k));
	if (!k)
		return WD_ENOMEM;
	/* GSS_C_NO_NAME: accept for any principal in the keytab (cifs/ as
	 * Windows and Samba python ask, host/ as rpcclient 4.17 asks). */
	maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
	                            &store, &k->cred, NULL, NULL);
	if (GSS_ERROR(maj)) {
		mechs.count = 1;
		maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
		                            GSS_C_ACCEPT, &store, &k->cred, NULL, NULL);
	}
	if (GSS_ERROR(maj)) {
		log_gss("auth.krb5.keytab", maj, min);
		free(k);
		return WD_ECONFIG;
	}
	*out = k;
	return 0;
}

void krb5_server_free(struct krb5_server *k)
{
	OM_uint32 min;

	if (!k)
		return;
	if (k->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&min, &k->cred);
	free(k);
}

int krb5_acceptor_new(struct krb5_server *k, struct krb5_acceptor **out)
{
	struct krb5_acceptor *a = calloc(1, sizeof(*a));

	if (!a)
		return WD_ENOMEM;
	a->srv = k;
	a->ctx = GSS_C_NO_CONTEXT;
	a->client = GSS_C_NO_NAME;
	*out = a;
	return 0;
}

void krb5_acceptor_free(struct krb5_acceptor *a)
{
	OM_uint32 min;

	if (!a)
		return;
	if (a->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &a->ctx, GSS_C_NO_BUFFER);
	if (a->client != GSS_C_NO_NAME)
		gss_release_name(&min, &a->client);
	free(a);
}

/* The session key's enctype: the second element of GSS_C_INQ_SSPI_SESSION_KEY
 * is the OID 1.2.840.113554.1.2.2.4.<enctype>; 0 when absent. */
static int session_enctype(gss_ctx_id_t ctx)
{
	static const uint8_t pfx[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x04};
	OM_uint32 maj, min;
	gss_buffer_set_t keys = GSS_C_NO_BUFFER_SET;
	int enctype = 0;

	maj = gss_inquire_sec_context_by_oid(&min, ctx, GSS_C_INQ_SSPI_SESSION_KEY, &keys);
	if (!GSS_ERROR(maj) && keys != GSS_C_NO_BUFFER_SET && keys->count >= 2 &&
	    keys->elements[1].length > sizeof(pfx) &&
	    memcmp(keys->elements[1].value, pfx, sizeof(pfx)) == 0) {
		const uint8_t *o = keys->elements[1].value;
		for (size_t i = sizeof(pfx); i < keys->elements[1].length; i++)
			enctype = (enctype << 7) | (o[i] & 0x7f);
	}
	if (keys != GSS_C_NO_BUFFER_SET)
		gss_release_buffer_set(&min, &keys);
	return enctype;
}

int wd_gss_token_sizes(gss_ctx_id_t ctx, size_t *wrap_size, size_t *mic_size, int *enctype)
{
	OM_uint32 maj, min;
	gss_iov_buffer_desc iov[2];

	memset(iov, 0, sizeof(iov));
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.length = 16;
	maj = gss_wrap_iov_length(&min, ctx, 1, GSS_C_QOP_DEFAULT, NULL, iov, 2);
	*wrap_size = GSS_ERROR(maj) ? 0 : iov[0].buffer.length;

	*enctype = session_enctype(ctx);
	switch (*enctype) {
	case 17: /* aes128-cts-hmac-sha1-96 */
	case 18: /* aes256-cts-hmac-sha1-96 */
		*mic_size = 16 + 12;
		break;
	case 19: /* aes128-cts-hmac-sha256-128 */
		*mic_size = 16 + 16;
		break;
	case 20: /* aes256-cts-hmac-sha384-192 */
		*mic_size = 16 + 24;
		break;
	default: /* rc4-hmac, des: the framed RFC 1964 MIC */
		*mic_size = 37;
		break;
	}
	return GSS_ERROR(maj) ? WD_EIO : 0;
}

/* Signature sizes once the context is complete (Samba gssapi_get_sig_size). */
static void compute_sizes(struct krb5_acceptor *a)
{
	int enctype;

	(void)wd_gss_token_sizes(a->ctx, &a->wrap_size, &a->mic_size, &enctype);
	wd_log(WD_LOG_DEBUG, "auth.krb5.sizes", "enctype=%d mic=%zu wrap=%zu dce=%d", enctype,
	       a->mic_size, a->wrap_size, !!(a->flags & GSS_C_DCE_STYLE));
}

/*
 * The error-code ([6] Int32) of a KRB-ERROR ([RFC 4120] 5.9.1) found in an
 * error token, for the log only; -1 when absent. A bounded byte scan, not a
 * parser: the token is our own library's output.
 */
static int krb_error_code(const void *tok, size_t len)
{
	const uint8_t *p = tok;

	for (size_t i = 0; p && i + 5 <= len; i++) {
		if (p[i] == 0xa6 && p[i + 1] == 0x03 && p[i + 2] == 0x02 && p[i + 3] == 0x01)
			return p[i + 4];
		if (i + 6 <= len && p[i] == 0xa6 && p[i + 1] == 0x04 && p[i + 2] == 0x02 &&
		    p[i + 3] == 0x02)
			return p[i + 4] << 8 | p[i + 5];
	}
	return -1;
}

static const char *krb_error_name(int e)
{
	switch (e) {
	case 31:
		return "integrity_check_failed";
	case 32:
		return "ticket_expired";
	case 33:
		return "ticket_not_yet_valid";
	case 34:
		return "replay";
	case 35:
		return "not_us";
	case 36:
		return "bad_match";
	case 37:
		return "clock_skew";
	case 41:
		return "modified";
	case 44:
		return "bad_key_version";
	case 45:
		return "no_key";
	default:
		return "other";
	}
}

int krb5_acceptor_update(struct krb5_acceptor *a, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len)
{
	OM_uint32 maj, min, amin = 0, ret_flags = 0;
	gss_buffer_desc itok = {in_len, (void *)in}, otok = GSS_C_EMPTY_BUFFER;
	gss_name_t src = GSS_C_NO_NAME;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (a->complete)
		return WD_ESTATE;
	maj = gss_accept_sec_context(&amin, &a->ctx, a->srv->cred, &itok, GSS_C_NO_CHANNEL_BINDINGS,
	                             &src, NULL, &otok, &ret_flags, NULL, NULL);
	if (otok.length) {
		*out = malloc(otok.length);
		if (!*out) {
			gss_release_buffer(&min, &otok);
			if (src != GSS_C_NO_NAME)
				gss_release_name(&min, &src);
			return WD_ENOMEM;
		}
		memcpy(*out, otok.value, otok.length);
		*out_len = otok.length;
	}
	if (!GSS_ERROR(maj))
		gss_release_buffer(&min, &otok);
	if (GSS_ERROR(maj)) {
		/* MIT answers a bad AP-REQ with a KRB-ERROR token and minor 0:
		 * the reason is only in that token */
		int kerr = krb_error_code(otok.value, otok.length);
		gss_release_buffer(&min, &otok);
		log_gss("auth.krb5.refused", maj, amin);
		if (kerr >= 0)
			wd_log(WD_LOG_NOTICE, "auth.krb5.refused", "krb_error=%d reason=%s", kerr,
			       krb_error_name(kerr));
		free(*out);
		*out = NULL;
		*out_len = 0;
		if (src != GSS_C_NO_NAME)
			gss_release_name(&min, &src);
		/* a bad / expired / foreign ticket is a refused credential;
		 * garbage is a protocol error */
		return maj == GSS_S_DEFECTIVE_TOKEN || maj == GSS_S_BAD_MECH ? WD_EPROTO : WD_EAUTH;
	}
	if (src != GSS_C_NO_NAME) {
		if (a->client != GSS_C_NO_NAME)
			gss_release_name(&min, &a->client);
		a->client = src;
	}
	a->flags = ret_flags;
	if (maj & GSS_S_CONTINUE_NEEDED)
		return WD_EAGAIN;
	a->complete = true;
	compute_sizes(a);
	rc = 0;
	return rc;
}

int krb5_acceptor_identity(struct krb5_acceptor *a, char *account, size_t alen, char *realm,
                           size_t rlen)
{
	OM_uint32 maj, min;
	gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
	char *s, *at;

	account[0] = realm[0] = '\0';
	if (a->client == GSS_C_NO_NAME)
		return WD_ESTATE;
	maj = gss_display_name(&min, a->client, &b, NULL);
	if (GSS_ERROR(maj))
		return WD_EIO;
	s = strndup(b.value, b.length);
	gss_release_buffer(&min, &b);
	if (!s)
		return WD_ENOMEM;
	/* "alice@TESTDOM.EXAMPLE" -> account "alice", realm "TESTDOM.EXAMPLE" */
	at = strrchr(s, '@');
	if (at) {
		*at = '\0';
		snprintf(realm, rlen, "%s", at + 1);
	}
	snprintf(account, alen, "%s", s);
	free(s);
	return 0;
}

uint32_t krb5_acceptor_flags(const struct krb5_acceptor *a)
{
	return a->flags;
}

size_t krb5_sig_size(struct krb5_acceptor *a, int level)
{
	if (!a->complete)
		return 0;
	if (level == AUTH_LEVEL_PRIVACY)
		return a->wrap_size;
	if (level >= AUTH_LEVEL_PACKET)
		return a->mic_size;
	return 0;
}

int krb5_get_mic(struct krb5_acceptor *a, const uint8_t *msg, size_t len, uint8_t **mic,
                 size_t *mic_len)
{
	OM_uint32 maj, min;
	gss_buffer_desc m = {len, (void *)msg}, t = GSS_C_EMPTY_BUFFER;

	maj = gss_get_mic(&min, a->ctx, GSS_C_QOP_DEFAULT, &m, &t);
	if (GSS_ERROR(maj)) {
		log_gss("auth.krb5.get_mic", maj, min);
		return WD_EIO;
	}
	*mic = malloc(t.length ? t.length : 1);
	if (!*mic) {
		gss_release_buffer(&min, &t);
		return WD_ENOMEM;
	}
	memcpy(*mic, t.value, t.length);
	*mic_len = t.length;
	gss_release_buffer(&min, &t);
	return 0;
}

int krb5_verify_mic(struct krb5_acceptor *a, const uint8_t *msg, size_t len, const uint8_t *mic,
                    size_t mic_len)
{
	OM_uint32 maj, min;
	gss_buffer_desc m = {len, (void *)msg}, t = {mic_len, (void *)mic};

	maj = gss_verify_mic(&min, a->ctx, &m, &t, NULL);
	if (GSS_ERROR(maj) || (maj & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN))) {
		log_gss("auth.krb5.verify_mic", maj, min);
		return WD_ESIG;
	}
	return 0;
}

int krb5_sign(struct krb5_acceptor *a, const uint8_t *pdu, size_t pdu_len, size_t body_off,
              size_t body_len, bool hdr_sign, uint8_t *sig, size_t sig_len)
{
	uint8_t *mic;
	size_t ml;
	int rc;

	/* header signing: H|B|S|P|T, else S|P only ([MS-RPCE] 3.3.1.5.2.2) */
	if (hdr_sign)
		rc = krb5_get_mic(a, pdu, pdu_len, &mic, &ml);
	else
		rc = krb5_get_mic(a, pdu + body_off, body_len, &mic, &ml);
	if (rc)
		return rc;
	if (ml != sig_len) {
		wd_log(WD_LOG_ERR, "auth.krb5.sig_size", "want=%zu got=%zu", sig_len, ml);
		free(mic);
		return WD_EIO;
	}
	memcpy(sig, mic, ml);
	free(mic);
	return 0;
}

int krb5_check(struct krb5_acceptor *a, const uint8_t *pdu, size_t pdu_len, size_t body_off,
               size_t body_len, bool hdr_sign, const uint8_t *sig, size_t sig_len)
{
	if (hdr_sign)
		return krb5_verify_mic(a, pdu, pdu_len, sig, sig_len);
	return krb5_verify_mic(a, pdu + body_off, body_len, sig, sig_len);
}

/* [MS-RPCE] 3.3.1.5.2.2: the layout of include/witness/gss_dcerpc.h */
int wd_gss_pdu_iov(gss_iov_buffer_desc iov[4], uint8_t *pdu, size_t pdu_len, size_t body_off,
                   size_t body_len, bool hdr_sign, uint8_t *tok, size_t tok_len)
{
	int n = 0;

	memset(iov, 0, 4 * sizeof(*iov));
	iov[n].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[n].buffer.value = tok;
	iov[n].buffer.length = tok_len;
	n++;
	if (hdr_sign) {
		iov[n].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
		iov[n].buffer.value = pdu;
		iov[n].buffer.length = body_off;
		n++;
	}
	iov[n].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[n].buffer.value = pdu + body_off;
	iov[n].buffer.length = body_len;
	n++;
	if (hdr_sign) {
		iov[n].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
		iov[n].buffer.value = pdu + body_off + body_len;
		iov[n].buffer.length = pdu_len - body_off - body_len;
		n++;
	}
	return n;
}

int krb5_seal(struct krb5_acceptor *a, uint8_t *pdu, size_t pdu_len, size_t body_off,
              size_t body_len, bool hdr_sign, uint8_t *sig, size_t sig_len)
{
	OM_uint32 maj, min;
	gss_iov_buffer_desc iov[4];
	int conf = 0, n;

	if (sig_len != a->wrap_size)
		return WD_EINVAL;
	n = wd_gss_pdu_iov(iov, pdu, pdu_len, body_off, body_len, hdr_sign, sig, sig_len);
	maj = gss_wrap_iov(&min, a->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, n);
	if (GSS_ERROR(maj) || !conf) {
		log_gss("auth.krb5.wrap", maj, min);
		return WD_EIO;
	}
	if (iov[0].buffer.length != sig_len) {
		wd_log(WD_LOG_ERR, "auth.krb5.sig_size", "want=%zu got=%zu", sig_len,
		       (size_t)iov[0].buffer.length);
		return WD_EIO;
	}
	return 0;
}

int krb5_unseal(struct krb5_acceptor *a, uint8_t *pdu, size_t pdu_len, size_t body_off,
                size_t body_len, bool hdr_sign, const uint8_t *sig, size_t sig_len)
{
	OM_uint32 maj, min;
	gss_iov_buffer_desc iov[4];
	uint8_t *hdr = malloc(sig_len ? sig_len : 1);
	int conf = 0, n;
	gss_qop_t qop;

	if (!hdr)
		return WD_ENOMEM;
	memcpy(hdr, sig, sig_len);
	n = wd_gss_pdu_iov(iov, pdu, pdu_len, body_off, body_len, hdr_sign, hdr, sig_len);
	maj = gss_unwrap_iov(&min, a->ctx, &conf, &qop, iov, n);
	free(hdr);
	if (GSS_ERROR(maj) || !conf || (maj & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN))) {
		log_gss("auth.krb5.unwrap", maj, min);
		return WD_ESIG;
	}
	return 0;
}
