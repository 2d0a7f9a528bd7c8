/*
 * test_ntlm_client.c - the NTLMSSP client (include/witness/ntlm_client.h):
 * the [MS-NLMP] 4.2.4 NTLMv2 vector (response and encrypted session key of
 * 4.2.4.3 from the 4.2.1 values), a full exchange with our server half at
 * integrity and privacy, malformed challenges, replays and misuse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/auth/auth_int.h"
#include "witness/err.h"
#include "witness/ntlm_client.h"

static void unhex(const char *h, uint8_t *out, size_t *len)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	*len = n;
}

static size_t u16(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s; s++) {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	}
	return n;
}

/* A CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2) with the 4.2.4.3 values:
 * ServerChallenge 0123456789abcdef, flags e28a8233, target info
 * MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", EOL. */
static size_t build_challenge(uint8_t *m, uint32_t flags)
{
	static const uint8_t sc[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	uint8_t ti[64];
	size_t tl = 0, n;

	memset(m, 0, 256);
	memcpy(m, "NTLMSSP", 8);
	m[8] = 2;
	m[20] = flags & 0xff, m[21] = (flags >> 8) & 0xff, m[22] = (flags >> 16) & 0xff,
	m[23] = flags >> 24;
	memcpy(m + 24, sc, 8);
	ti[tl++] = 2, ti[tl++] = 0, ti[tl++] = 12, ti[tl++] = 0;
	tl += u16("Domain", ti + tl);
	ti[tl++] = 1, ti[tl++] = 0, ti[tl++] = 12, ti[tl++] = 0;
	tl += u16("Server", ti + tl);
	memset(ti + tl, 0, 4);
	tl += 4;
	n = 56;
	m[40] = (uint8_t)tl, m[42] = (uint8_t)tl, m[44] = (uint8_t)n;
	memcpy(m + n, ti, tl);
	return n + tl;
}

START_TEST(test_nlmp_v2_vector)
{
	/* 4.2.4.3: NTLMv2_RESPONSE (NTProofStr + temp) and EncryptedRandomSessionKey */
	static const char nt_hex[] = "68cd0ab851e51c96aabc927bebef6a1c"
	                             "01010000000000000000000000000000"
	                             "aaaaaaaaaaaaaaaa0000000002000c00"
	                             "44006f006d00610069006e0001000c00"
	                             "53006500720076006500720000000000"
	                             "00000000";
	uint8_t want[128], chal[256], *am, key[16];
	size_t wl, cl, al;
	struct ntlm_client_opts o = {.user = "User",
	                             .domain = "Domain",
	                             .password = "Password",
	                             .workstation = "COMPUTER",
	                             .no_mic = true,
	                             .fixed_random = true};
	ntlm_client_t *c;
	const uint8_t *neg;
	size_t nl;
	struct ntlmssp_authenticate a;

	ck_assert_int_eq(ntlm_client_new(&o, &c), 0);
	ck_assert_int_eq(ntlm_client_session_key(c, key), WD_ESTATE);
	cl = build_challenge(chal, 0xe28a8233);
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), WD_ESTATE);
	ck_assert_int_eq(ntlm_client_negotiate(c, &neg, &nl), 0);
	ck_assert_uint_eq(nl, 40);
	ck_assert_mem_eq(neg, "NTLMSSP\0\1\0\0\0", 12);
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), 0);
	/* our server half's parser reads it back */
	ck_assert_int_eq(ntlmssp_parse_authenticate(am, al, &a), 0);
	unhex(nt_hex, want, &wl);
	ck_assert_uint_eq(a.nt.len, wl);
	ck_assert_mem_eq(a.nt.p, want, wl);
	unhex("c5dad2544fc9799094ce1ce90bc9d03e", want, &wl);
	ck_assert_uint_eq(a.enc_key.len, 16);
	ck_assert_mem_eq(a.enc_key.p, want, 16);
	ck_assert_uint_eq(a.user.len, 8);
	ck_assert_mem_eq(a.user.p, "U\0s\0e\0r\0", 8);
	ck_assert_uint_eq(a.workstation.len, 16);
	ck_assert_uint_eq(a.mic_off, 72);
	ck_assert_uint_eq(ntlm_client_flags(c), 0xe28a8233);
	/* 4.2.1 RandomSessionKey is the exported key with KEY_EXCH */
	ck_assert_int_eq(ntlm_client_session_key(c, key), 0);
	memset(want, 0x55, 16);
	ck_assert_mem_eq(key, want, 16);
	free(am);
	ntlm_client_free(c);
}
END_TEST

static char tmpdir[64], passdb_path[128];

static auth_server_t *make_server(void)
{
	struct auth_server_opts so = {.netname = "WITSRV", .domain = "TESTDOM"};
	auth_server_t *srv;
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wd-ntlmc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(passdb_path, sizeof(passdb_path), "%s/passdb", tmpdir);
	f = fopen(passdb_path, "w");
	ck_assert_ptr_nonnull(f);
	/* alice / Secret123 */
	{
		uint8_t h[16];
		ck_assert_int_eq(auth_passdb_nthash("Secret123", h), 0);
		fprintf(f, "TESTDOM\\alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:");
		for (int i = 0; i < 16; i++)
			fprintf(f, "%02X", h[i]);
		fprintf(f, ":[U          ]:LCT-00000000:\n");
	}
	fclose(f);
	so.ntlm_password_file = passdb_path;
	ck_assert_int_eq(auth_server_new(&so, &srv), 0);
	return srv;
}

static void drop_server(auth_server_t *srv)
{
	auth_server_free(srv);
	unlink(passdb_path);
	rmdir(tmpdir);
}

static int login(auth_server_t *srv, const struct ntlm_client_opts *o, uint8_t level,
                 ntlm_client_t **cp, auth_ctx_t **ctxp)
{
	const uint8_t *neg;
	uint8_t *chal, *am, *r;
	size_t nl, cl, al, rl;
	int rc;

	ck_assert_int_eq(ntlm_client_new(o, cp), 0);
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP, level, ctxp), 0);
	ck_assert_int_eq(ntlm_client_negotiate(*cp, &neg, &nl), 0);
	ck_assert_int_eq(auth_ctx_update(*ctxp, neg, nl, &chal, &cl), WD_EAGAIN);
	ck_assert_int_eq(ntlm_client_authenticate(*cp, chal, cl, &am, &al), 0);
	rc = auth_ctx_update(*ctxp, am, al, &r, &rl);
	free(r);
	free(chal);
	free(am);
	return rc;
}

START_TEST(test_exchange_with_server)
{
	auth_server_t *srv = make_server();
	static const uint8_t levels[] = {AUTH_LEVEL_INTEGRITY, AUTH_LEVEL_PRIVACY};

	for (size_t li = 0; li < 2; li++) {
		for (int form = 0; form < 2; form++) {
			struct ntlm_client_opts o = {
			    .user = "alice", .domain = "TESTDOM", .password = "Secret123"};
			ntlm_client_t *c;
			auth_ctx_t *ctx;
			bool seal = levels[li] == AUTH_LEVEL_PRIVACY;

			if (form) { /* impacket's form */
				o.short_negotiate = true;
				o.no_mic = true;
			}
			ck_assert_int_eq(login(srv, &o, levels[li], &c, &ctx), 0);
			ck_assert_str_eq(auth_ctx_session(ctx)->account, "alice");
			for (int round = 0; round < 3; round++) {
				uint8_t msg[64], sig[16];

				memset(msg, 0, sizeof(msg));
				memcpy(msg + 24, "request stub....", 16);
				if (seal) {
					ck_assert_int_eq(ntlm_client_seal(c, msg, 48, 24, 16, sig),
					                 0);
					ck_assert_int_ne(memcmp(msg + 24, "request", 7), 0);
					ck_assert_int_eq(
					    auth_ctx_unseal(ctx, msg, 48, 24, 16, sig, 16), 0);
				} else {
					ck_assert_int_eq(ntlm_client_sign(c, msg, 48, sig), 0);
					ck_assert_int_eq(
					    auth_ctx_check(ctx, msg, 48, 24, 16, sig, 16), 0);
				}
				ck_assert_mem_eq(msg + 24, "request stub....", 16);
				memcpy(msg + 24, "response stub...", 16);
				if (seal) {
					ck_assert_int_eq(
					    auth_ctx_seal(ctx, msg, 48, 24, 16, sig, 16), 0);
					ck_assert_int_eq(
					    ntlm_client_unseal(c, msg, 48, 24, 16, sig), 0);
				} else {
					ck_assert_int_eq(
					    auth_ctx_sign(ctx, msg, 48, 24, 16, sig, 16), 0);
					ck_assert_int_eq(ntlm_client_check(c, msg, 48, sig), 0);
				}
				ck_assert_mem_eq(msg + 24, "response stub...", 16);
				/* a replayed answer is refused (the context is
				 * unusable after that, as the server's) */
				if (!seal && round == 2)
					ck_assert_int_eq(ntlm_client_check(c, msg, 48, sig),
					                 WD_ESIG);
			}
			ntlm_client_free(c);
			auth_ctx_free(ctx);
		}
	}
	drop_server(srv);
}
END_TEST

START_TEST(test_wrong_password_and_misuse)
{
	auth_server_t *srv = make_server();
	struct ntlm_client_opts o = {.user = "alice", .domain = "TESTDOM", .password = "wrong"};
	struct ntlm_client_opts bad = {.user = NULL, .password = "x"};
	ntlm_client_t *c;
	auth_ctx_t *ctx;
	uint8_t sig[16], msg[8] = {0}, chal[256], *am;
	size_t cl, al, nl;
	const uint8_t *neg;

	ck_assert_int_eq(login(srv, &o, AUTH_LEVEL_INTEGRITY, &c, &ctx), WD_EAUTH);
	ntlm_client_free(c);
	auth_ctx_free(ctx);
	o.password = "Secret123";
	o.test_bad_mic = true;
	ck_assert_int_eq(login(srv, &o, AUTH_LEVEL_INTEGRITY, &c, &ctx), WD_EAUTH);
	ntlm_client_free(c);
	auth_ctx_free(ctx);
	o.test_bad_mic = false;
	o.test_ntlmv1 = true;
	ck_assert_int_eq(login(srv, &o, AUTH_LEVEL_INTEGRITY, &c, &ctx), WD_EAUTH);
	ntlm_client_free(c);
	auth_ctx_free(ctx);

	ck_assert_int_eq(ntlm_client_new(&bad, &c), WD_EINVAL);
	bad.user = "u";
	bad.domain = "\xff"; /* not UTF-8 */
	ck_assert_int_eq(ntlm_client_new(&bad, &c), WD_EINVAL);
	o.test_ntlmv1 = false;
	ck_assert_int_eq(ntlm_client_new(&o, &c), 0);
	ck_assert_int_eq(ntlm_client_sign(c, msg, sizeof(msg), sig), WD_ESTATE);
	ck_assert_int_eq(ntlm_client_check(c, msg, sizeof(msg), sig), WD_ESTATE);
	ck_assert_int_eq(ntlm_client_negotiate(c, &neg, &nl), 0);
	/* malformed challenges: short, wrong type, target info out of bounds */
	cl = build_challenge(chal, 0xe28a8233);
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, 40, &am, &al), WD_EPROTO);
	ck_assert_ptr_null(am);
	chal[8] = 3;
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), WD_EPROTO);
	chal[8] = 2;
	chal[44] = 0xf0;
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), WD_EPROTO);
	chal[44] = 56;
	chal[40] = chal[42] = 0xff;
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), WD_EPROTO);
	/* an AV pair that runs past the target info */
	chal[40] = chal[42] = 8;
	chal[56 + 2] = 40;
	ck_assert_int_eq(ntlm_client_authenticate(c, chal, cl, &am, &al), WD_EPROTO);
	ntlm_client_free(c);
	ntlm_client_free(NULL);
	drop_server(srv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ntlm_client");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_nlmp_v2_vector);
	tcase_add_test(tc, test_exchange_with_server);
	tcase_add_test(tc, test_wrong_password_and_misuse);
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
