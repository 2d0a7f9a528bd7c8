/*
 * test_spnego.c - SPNEGO ([RFC 4178]): DER round trips of negTokenInit /
 * negTokenResp, the byte-exact tokens rpcclient 4.17 sent on this machine,
 * bounds, and a full SPNEGO(NTLMSSP) exchange through auth.h with the
 * mechListMIC both ways and the RC4 re-key that keeps sequence numbers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "witness/auth.h"
#include "witness/err.h"
#include "test_auth_ntlmclient.h"

START_TEST(test_init_round_trip)
{
	struct spnego_oid mechs[3] = {spnego_oid_mskrb5, spnego_oid_krb5, spnego_oid_ntlmssp};
	uint8_t tok[300], mic[16], *buf, *ml;
	size_t len, mll;
	struct spnego_init in;

	for (size_t i = 0; i < sizeof(tok); i++)
		tok[i] = (uint8_t)i;
	memset(mic, 0x33, sizeof(mic));
	for (int variant = 0; variant < 4; variant++) {
		size_t tl = variant == 1 ? 5 : variant == 2 ? 0 : sizeof(tok);
		ck_assert_int_eq(spnego_build_init(mechs, 3, variant == 2 ? NULL : tok, tl,
		                                   variant == 3 ? mic : NULL, 16, &buf, &len),
		                 0);
		ck_assert_int_eq(spnego_parse_init(buf, len, &in), 0);
		ck_assert_uint_eq(in.n_mechs, 3);
		ck_assert(spnego_oid_eq(&in.mechs[0], &spnego_oid_mskrb5));
		ck_assert(spnego_oid_eq(&in.mechs[1], &spnego_oid_krb5));
		ck_assert(spnego_oid_eq(&in.mechs[2], &spnego_oid_ntlmssp));
		if (variant == 2) {
			ck_assert_ptr_null(in.token);
		} else {
			ck_assert_uint_eq(in.token_len, tl);
			ck_assert_mem_eq(in.token, tok, tl);
		}
		if (variant == 3)
			ck_assert_mem_eq(in.mic, mic, 16);
		else
			ck_assert_ptr_null(in.mic);
		ck_assert_int_eq(spnego_build_mechlist(mechs, 3, &ml, &mll), 0);
		ck_assert_uint_eq(in.mechlist_len, mll);
		ck_assert_mem_eq(in.mechlist, ml, mll);
		free(ml);
		/* every truncation is refused, never read past the end */
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *c = malloc(cut ? cut : 1);
			memcpy(c, buf, cut);
			ck_assert_int_ne(spnego_parse_init(c, cut, &in), 0);
			free(c);
		}
		free(buf);
	}
}
END_TEST

START_TEST(test_resp_round_trip)
{
	uint8_t tok[200], mic[28], *buf;
	size_t len;
	struct spnego_resp r, p;

	memset(tok, 0xab, sizeof(tok));
	memset(mic, 0xcd, sizeof(mic));
	for (int st = -1; st <= 3; st++) {
		for (int bits = 0; bits < 8; bits++) {
			memset(&r, 0, sizeof(r));
			r.state = st;
			if (bits & 1) {
				r.has_mech = true;
				r.mech = spnego_oid_ntlmssp;
			}
			if (bits & 2) {
				r.token = tok;
				r.token_len = sizeof(tok);
			}
			if (bits & 4) {
				r.mic = mic;
				r.mic_len = sizeof(mic);
			}
			ck_assert_int_eq(spnego_build_resp(&r, &buf, &len), 0);
			ck_assert_int_eq(spnego_parse_resp(buf, len, &p), 0);
			ck_assert_int_eq(p.state, st);
			ck_assert(p.has_mech == !!(bits & 1));
			if (bits & 1)
				ck_assert(spnego_oid_eq(&p.mech, &spnego_oid_ntlmssp));
			ck_assert_uint_eq(p.token_len, (bits & 2) ? sizeof(tok) : 0);
			ck_assert_uint_eq(p.mic_len, (bits & 4) ? sizeof(mic) : 0);
			for (size_t cut = 0; cut < len; cut++)
				ck_assert_int_ne(spnego_parse_resp(buf, cut, &p), 0);
			free(buf);
		}
	}
}
END_TEST

START_TEST(test_wire_bytes)
{
	/* accept-completed + 16-byte MIC: the 29-byte server leg 4 rpcclient accepts */
	uint8_t mic[16], *buf;
	size_t len;
	struct spnego_resp r = {.state = SPNEGO_ACCEPT_COMPLETED, .mic = mic, .mic_len = 16};
	static const uint8_t head[] = {0xa1, 0x1b, 0x30, 0x19, 0xa0, 0x03, 0x0a,
	                               0x01, 0x00, 0xa3, 0x12, 0x04, 0x10};
	/* the MechTypeList rpcclient puts under its MIC (as 4.17 sends it) */
	static const uint8_t ml_ntlm[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
	                                  0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
	uint8_t *ml;
	size_t mll;

	memset(mic, 0, sizeof(mic));
	ck_assert_int_eq(spnego_build_resp(&r, &buf, &len), 0);
	ck_assert_uint_eq(len, 29);
	ck_assert_mem_eq(buf, head, sizeof(head));
	free(buf);
	ck_assert_int_eq(spnego_build_mechlist(&spnego_oid_ntlmssp, 1, &ml, &mll), 0);
	ck_assert_uint_eq(mll, sizeof(ml_ntlm));
	ck_assert_mem_eq(ml, ml_ntlm, mll);
	free(ml);
}
END_TEST

START_TEST(test_long_lengths_and_junk)
{
	struct spnego_oid m = spnego_oid_krb5;
	uint8_t *big = malloc(70000), *buf;
	size_t len;
	struct spnego_init in;
	struct spnego_resp r;
	static const uint8_t indefinite[] = {0x60, 0x80, 0x06, 0x06, 0x2b, 0x06,
	                                     0x01, 0x05, 0x05, 0x02, 0x00, 0x00};
	static const uint8_t wrong_oid[] = {0x60, 0x0a, 0x06, 0x06, 0x2b, 0x06,
	                                    0x01, 0x05, 0x05, 0x03, 0xa0, 0x00};
	static const uint8_t huge_len[] = {0xa1, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30};

	memset(big, 0x11, 70000);
	/* 3-byte length form */
	ck_assert_int_eq(spnego_build_init(&m, 1, big, 60000, NULL, 0, &buf, &len), 0);
	ck_assert_int_eq(spnego_parse_init(buf, len, &in), 0);
	ck_assert_uint_eq(in.token_len, 60000);
	free(buf);
	ck_assert_int_eq(spnego_build_init(&m, 1, big, 70000, NULL, 0, &buf, &len), WD_EINVAL);
	ck_assert_int_ne(spnego_parse_init(indefinite, sizeof(indefinite), &in), 0);
	ck_assert_int_ne(spnego_parse_init(wrong_oid, sizeof(wrong_oid), &in), 0);
	ck_assert_int_ne(spnego_parse_resp(huge_len, sizeof(huge_len), &r), 0);
	ck_assert_int_ne(spnego_parse_resp(big, 70000, &r), 0);
	free(big);
}
END_TEST

/* ---- SPNEGO(NTLMSSP) through auth.h --------------------------------- */

static char tmpdir[256], pwpath[512];

static auth_server_t *make_server(void)
{
	uint8_t h[16];
	char hex[33], line[256];
	FILE *f;
	struct auth_server_opts o = {.netname = "WITSRV",
	                             .domain = "TESTDOM",
	                             .methods = AUTH_METHOD_NTLMSSP | AUTH_METHOD_SPNEGO};
	auth_server_t *srv;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wd-spnego-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(pwpath, sizeof(pwpath), "%s/passdb", tmpdir);
	auth_passdb_nthash("Secret123", h);
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	snprintf(line, sizeof(line), "TESTDOM\\alice:1000:%s:%s:[U          ]:LCT-00000000:\n",
	         "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", hex);
	f = fopen(pwpath, "w");
	fputs(line, f);
	fclose(f);
	o.ntlm_password_file = pwpath;
	ck_assert_int_eq(auth_server_new(&o, &srv), 0);
	return srv;
}

static void drop_server(auth_server_t *srv)
{
	auth_server_free(srv);
	unlink(pwpath);
	rmdir(tmpdir);
}

/*
 * mechs: the client's list; ntlm_at: its index. bad_mic: corrupt the client
 * MIC; no_mic: send none. Returns the final auth_ctx_update code.
 */
static int spnego_ntlm(auth_server_t *srv, const struct spnego_oid *mechs, size_t n, bool bad_mic,
                       bool no_mic, struct tclient *c, auth_ctx_t **out)
{
	auth_ctx_t *ctx;
	const uint8_t *neg;
	uint8_t *t1, *o1, *am, *t3, *o3, *ml, cmic[16];
	size_t nl, t1l, o1l, al, t3l, o3l, mll;
	struct spnego_resp r1, r3, send = {.state = SPNEGO_NO_STATE};
	const uint8_t *chal;
	size_t chal_len;
	uint8_t *o2 = NULL, *t2 = NULL;
	size_t o2l, t2l;
	int rc;

	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_SPNEGO, AUTH_LEVEL_PRIVACY, &ctx), 0);
	tc_negotiate(c, &neg, &nl);
	/* optimistic NEGOTIATE only makes sense when NTLM is first */
	ck_assert_int_eq(spnego_build_init(mechs, n, neg, nl, NULL, 0, &t1, &t1l), 0);
	ck_assert_int_eq(auth_ctx_update(ctx, t1, t1l, &o1, &o1l), WD_EAGAIN);
	ck_assert_int_eq(spnego_parse_resp(o1, o1l, &r1), 0);
	ck_assert_int_eq(r1.state, SPNEGO_ACCEPT_INCOMPLETE);
	ck_assert(r1.has_mech);
	ck_assert(spnego_oid_eq(&r1.mech, &spnego_oid_ntlmssp));
	chal = r1.token;
	chal_len = r1.token_len;
	if (!chal) {
		/* NTLM was not first: the optimistic token was ignored */
		send.token = neg;
		send.token_len = nl;
		ck_assert_int_eq(spnego_build_resp(&send, &t2, &t2l), 0);
		ck_assert_int_eq(auth_ctx_update(ctx, t2, t2l, &o2, &o2l), WD_EAGAIN);
		ck_assert_int_eq(spnego_parse_resp(o2, o2l, &r1), 0);
		ck_assert_ptr_nonnull(r1.token);
		chal = r1.token;
		chal_len = r1.token_len;
	}
	ck_assert_int_eq(tc_authenticate(c, chal, chal_len, &am, &al), 0);
	/* client mechListMIC = NTLM signature (client seq 0) over MechTypeList */
	ck_assert_int_eq(spnego_build_mechlist(mechs, n, &ml, &mll), 0);
	tc_protect(c, ml, mll, false, 0, 0, cmic);
	if (bad_mic)
		cmic[6] ^= 0x40;
	send.token = am;
	send.token_len = al;
	send.mic = no_mic ? NULL : cmic;
	send.mic_len = no_mic ? 0 : 16;
	ck_assert_int_eq(spnego_build_resp(&send, &t3, &t3l), 0);
	rc = auth_ctx_update(ctx, t3, t3l, &o3, &o3l);
	if (rc == 0) {
		ck_assert_int_eq(spnego_parse_resp(o3, o3l, &r3), 0);
		ck_assert_int_eq(r3.state, SPNEGO_ACCEPT_COMPLETED);
		if (!no_mic) {
			/* server MIC: server seq 0, before the re-key */
			ck_assert_uint_eq(r3.mic_len, 16);
			ck_assert_int_eq(tc_verify(c, ml, mll, false, 0, 0, r3.mic), 0);
			tc_reset_rc4(c);
		}
		*out = ctx;
	} else {
		auth_ctx_free(ctx);
	}
	free(t1);
	free(o1);
	free(t2);
	free(o2);
	free(am);
	free(t3);
	free(o3);
	free(ml);
	return rc;
}

START_TEST(test_spnego_ntlm_exchange)
{
	auth_server_t *srv = make_server();
	struct spnego_oid only_ntlm[1] = {spnego_oid_ntlmssp};
	struct spnego_oid krb_first[3] = {spnego_oid_mskrb5, spnego_oid_krb5, spnego_oid_ntlmssp};

	for (int v = 0; v < 2; v++) {
		struct tclient c;
		auth_ctx_t *ctx;
		uint8_t pdu[128], sig[16];
		size_t n = 24 + 16 + 8;

		tc_init(&c, "alice", "TESTDOM", "Secret123");
		ck_assert_int_eq(
		    spnego_ntlm(srv, v ? krb_first : only_ntlm, v ? 3 : 1, false, false, &c, &ctx),
		    0);
		ck_assert_str_eq(auth_ctx_session(ctx)->account, "alice");
		ck_assert_uint_eq(auth_ctx_session(ctx)->auth_type, AUTH_TYPE_SPNEGO);
		/* the first request uses sequence number 1 after the MIC, with
		 * freshly keyed RC4 (Samba spnego.c) */
		memset(pdu, 0, sizeof(pdu));
		memcpy(pdu + 24, "sealed request..", 16);
		ck_assert_uint_eq(ntlm_client_seq(c.nc), 1);
		tc_protect(&c, pdu, n, true, 24, 16, sig);
		ck_assert_uint_eq(sig[12], 1);
		ck_assert_int_eq(auth_ctx_unseal(ctx, pdu, n, 24, 16, sig, 16), 0);
		ck_assert_mem_eq(pdu + 24, "sealed request..", 16);
		memcpy(pdu + 24, "sealed response.", 16);
		ck_assert_int_eq(auth_ctx_seal(ctx, pdu, n, 24, 16, sig, 16), 0);
		ck_assert_uint_eq(sig[12], 1);
		ck_assert_int_eq(tc_verify(&c, pdu, n, true, 24, 16, sig), 0);
		ck_assert_mem_eq(pdu + 24, "sealed response.", 16);
		auth_ctx_free(ctx);
		tc_free(&c);
	}
	drop_server(srv);
}
END_TEST

START_TEST(test_spnego_refusals)
{
	auth_server_t *srv = make_server();
	struct spnego_oid only_ntlm[1] = {spnego_oid_ntlmssp};
	struct spnego_oid krb_first[2] = {spnego_oid_krb5, spnego_oid_ntlmssp};
	struct spnego_oid unknown[1] = {{3, {0x2a, 0x03, 0x04}}};
	struct tclient c;
	auth_ctx_t *ctx;
	uint8_t *t, *o;
	size_t tl, ol;

	tc_init(&c, "alice", "TESTDOM", "Secret123");
	ck_assert_int_eq(spnego_ntlm(srv, only_ntlm, 1, true, false, &c, &ctx), WD_EAUTH);
	tc_free(&c);
	/* NTLM was not the client's first choice: a MIC is mandatory */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	ck_assert_int_eq(spnego_ntlm(srv, krb_first, 2, false, true, &c, &ctx), WD_EAGAIN);
	tc_free(&c);
	tc_init(&c, "alice", "TESTDOM", "Wrong");
	ck_assert_int_eq(spnego_ntlm(srv, only_ntlm, 1, false, false, &c, &ctx), WD_EAUTH);
	tc_free(&c);
	/* no common mechanism: krb5 is not configured here */
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_SPNEGO, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	ck_assert_int_eq(spnego_build_init(unknown, 1, NULL, 0, NULL, 0, &t, &tl), 0);
	ck_assert_int_eq(auth_ctx_update(ctx, t, tl, &o, &ol), WD_EAUTH);
	free(t);
	free(o);
	auth_ctx_free(ctx);
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_SPNEGO, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	ck_assert_int_eq(auth_ctx_update(ctx, (const uint8_t *)"\x60\x02\x06\x00", 4, &o, &ol),
	                 WD_EPROTO);
	ck_assert_ptr_null(o);
	auth_ctx_free(ctx);
	drop_server(srv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("spnego");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_init_round_trip);
	tcase_add_test(tc, test_resp_round_trip);
	tcase_add_test(tc, test_wire_bytes);
	tcase_add_test(tc, test_long_lengths_and_junk);
	tcase_add_test(tc, test_spnego_ntlm_exchange);
	tcase_add_test(tc, test_spnego_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
