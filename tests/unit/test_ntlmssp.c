/*
 * test_ntlmssp.c - NTLMSSP server: the [MS-NLMP] 4.2 test vectors (4.2.1
 * common values, 4.2.2 NTOWFv1, 4.2.3 56-bit ESS seal, 4.2.4 NTLMv2 with
 * the AUTHENTICATE_MESSAGE fed to our server), a full exchange with the
 * test client through auth.h at every level, the refusals, and the
 * anonymous logon ([MS-NLMP] 3.2.5.1.2), and our RC4 against RFC 6229's
 * vectors and against gnutls' ARCFOUR.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "witness/auth.h"
#include "witness/auth_passdb.h"
#include "witness/err.h"
#include "test_auth_ntlmclient.h"

static void unhex(const char *h, uint8_t *out, size_t *len)
{
	size_t n = 0;

	while (*h) {
		unsigned v;
		if (*h == ' ') {
			h++;
			continue;
		}
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	*len = n;
}

#define ASSERT_HEX(buf, hex)                                                                       \
	do {                                                                                       \
		uint8_t _w[512];                                                                   \
		size_t _l;                                                                         \
		unhex(hex, _w, &_l);                                                               \
		ck_assert_mem_eq(buf, _w, _l);                                                     \
	} while (0)

/* [MS-NLMP] 4.2.1: "Password" as UTF-16LE */
static const uint8_t passwd_u16[] = {'P', 0, 'a', 0, 's', 0, 's', 0,
                                     'w', 0, 'o', 0, 'r', 0, 'd', 0};

START_TEST(test_md4_rfc1320)
{
	uint8_t h[16];

	auth_md4("", 0, h);
	ASSERT_HEX(h, "31d6cfe0d16ae931b73c59d7e0c089c0");
	auth_md4("abc", 3, h);
	ASSERT_HEX(h, "a448017aaf21d8525fc10ae87aa6729d");
	auth_md4("message digest", 14, h);
	ASSERT_HEX(h, "d9130a8164549fe818874806e1c7014b");
	auth_md4("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	         80, h);
	ASSERT_HEX(h, "e33b4ddc9c38f2199c3e7b164fcc0536");
}
END_TEST

/* RFC 6229 section 2: keystream bytes at offsets 0 and 16 for three keys. */
START_TEST(test_rc4_rfc6229)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const struct {
		size_t key_len;
		const char *ks; /* offsets 0..31 */
	} v[] = {
	    {5, "b2396305f03dc027ccc3524a0a1118a8 6982944f18fc82d589c403a47a0d0919"},
	    {7, "293f02d47f37c9b633f2af5285feb46b e620f1390d19bd84e2e0fd752031afc1"},
	    {16, "9ac7cc9a609d1ef7b2932899cde41b97 5248c4959014126a6e8a84f11d1a9e1c"},
	};

	for (size_t t = 0; t < sizeof(v) / sizeof(v[0]); t++) {
		uint8_t buf[32];
		struct auth_rc4 h, *hp;

		/* in one call */
		memset(buf, 0, sizeof(buf));
		auth_rc4_init(&h, key, v[t].key_len);
		auth_rc4_crypt(&h, buf, sizeof(buf));
		ASSERT_HEX(buf, v[t].ks);
		/* continuous state across calls of odd sizes, on the heap */
		memset(buf, 0, sizeof(buf));
		ck_assert_int_eq(auth_rc4_new(key, v[t].key_len, &hp), 0);
		auth_rc4_crypt(hp, buf, 3);
		auth_rc4_crypt(hp, buf + 3, 0);
		auth_rc4_crypt(hp, buf + 3, 13);
		auth_rc4_crypt(hp, buf + 16, 16);
		auth_rc4_free(hp);
		ASSERT_HEX(buf, v[t].ks);
		auth_rc4_wipe(&h);
		for (size_t i = 0; i < sizeof(h); i++)
			ck_assert_uint_eq(((uint8_t *)&h)[i], 0);
	}
	ck_assert_int_eq(auth_rc4_new(key, 0, &(struct auth_rc4 *){NULL}), WD_EINVAL);
	ck_assert_int_eq(auth_rc4k(key, 0, (uint8_t[1]){0}, 1), WD_EINVAL);
}
END_TEST

/* The same stream as gnutls' ARCFOUR for every key length NTLM uses. */
START_TEST(test_rc4_vs_gnutls)
{
	static const size_t lens[] = {1, 5, 7, 16, 33, 256};

	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		uint8_t key[256], a[1500], b[1500];
		gnutls_cipher_hd_t g;
		gnutls_datum_t k = {key, (unsigned)lens[t]};
		struct auth_rc4 h;

		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 37 + t);
		for (size_t i = 0; i < sizeof(a); i++)
			a[i] = b[i] = (uint8_t)i;
		ck_assert_int_eq(gnutls_cipher_init(&g, GNUTLS_CIPHER_ARCFOUR_128, &k, NULL), 0);
		auth_rc4_init(&h, key, lens[t]);
		for (size_t off = 0, n = 1; off < sizeof(a); off += n, n = n * 2 + 1) {
			if (n > sizeof(a) - off)
				n = sizeof(a) - off;
			ck_assert_int_eq(gnutls_cipher_encrypt(g, a + off, n), 0);
			auth_rc4_crypt(&h, b + off, n);
		}
		gnutls_cipher_deinit(g);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
}
END_TEST

START_TEST(test_nlmp_ntowf)
{
	uint8_t h[16], v2[16];

	/* 4.2.2.1.2 NTOWFv1 */
	auth_md4(passwd_u16, sizeof(passwd_u16), h);
	ASSERT_HEX(h, "a4f49c406510bdcab6824ee7c30fd852");
	ck_assert_int_eq(auth_passdb_nthash("Password", v2), 0);
	ck_assert_mem_eq(h, v2, 16);
	/* 4.2.4.1.1 NTOWFv2("Password", "User", "Domain") */
	ck_assert_int_eq(ntlmssp_ntowfv2(h, "User", "Domain", v2), 0);
	ASSERT_HEX(v2, "0c868a403bfd7a93a3001ef22ef02e3f");
	/* user name is upper-cased, so "user" gives the same */
	ck_assert_int_eq(ntlmssp_ntowfv2(h, "user", "Domain", v2), 0);
	ASSERT_HEX(v2, "0c868a403bfd7a93a3001ef22ef02e3f");
}
END_TEST

/* 4.2.4.3 AUTHENTICATE_MESSAGE */
static const char *nlmp_v2_auth = "4e544c4d535350000300000018001800"
                                  "6c00000054005400840000000c000c00"
                                  "48000000080008005400000010001000"
                                  "5c00000010001000d8000000358288e2"
                                  "0501280a0000000f44006f006d006100"
                                  "69006e00550073006500720043004f00"
                                  "4d005000550054004500520086c35097"
                                  "ac9cec102554764a57cccc19aaaaaaaa"
                                  "aaaaaaaa68cd0ab851e51c96aabc927b"
                                  "ebef6a1c010100000000000000000000"
                                  "00000000aaaaaaaaaaaaaaaa00000000"
                                  "02000c0044006f006d00610069006e00"
                                  "01000c00530065007200760065007200"
                                  "0000000000000000c5dad2544fc97990"
                                  "94ce1ce90bc9d03e";

static char tmpdir[256];

static char *write_passdb(const char *content)
{
	static char path[512];
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wd-ntlm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/passdb", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	return path;
}

static void cleanup_passdb(const char *path)
{
	unlink(path);
	rmdir(tmpdir);
}

static void run_vector(const char *passdb_line, int want_rc)
{
	static const uint8_t chal[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	char *path = write_passdb(passdb_line);
	auth_passdb_t *db = NULL;
	struct ntlmssp_server *s;
	struct ntlmssp_server_cfg cfg = {
	    .netname = "Server", .domain = "Domain", .passdb = &db, .fixed_challenge = chal};
	uint8_t neg[40] = "NTLMSSP", msg[512], *out = NULL, key[16];
	size_t len, out_len;
	const char *u, *d;
	uint32_t uid;

	ck_assert_int_eq(auth_passdb_load(path, &db), 0);
	ck_assert_int_eq(ntlmssp_server_new(&cfg, &s), 0);
	tc_put32(neg + 8, 1);
	tc_put32(neg + 12, 0xe2888235); /* the 4.2.4 flags as a client asks them */
	ck_assert_int_eq(ntlmssp_server_update(s, neg, 40, &out, &out_len), WD_EAGAIN);
	ck_assert_mem_eq(out + 24, chal, 8);
	free(out);
	unhex(nlmp_v2_auth, msg, &len);
	ck_assert_uint_eq(len, 0xe8);
	ck_assert_int_eq(ntlmssp_server_update(s, msg, len, &out, &out_len), want_rc);
	if (want_rc == 0) {
		ck_assert(ntlmssp_server_complete(s));
		/* 4.2.1 RandomSessionKey, recovered through 4.2.4.2.3 */
		ck_assert_int_eq(ntlmssp_server_session_key(s, key), 0);
		ASSERT_HEX(key, "55555555555555555555555555555555");
		ntlmssp_server_identity(s, &u, &d, &uid);
		ck_assert_str_eq(u, "User");
		ck_assert_str_eq(d, "Domain");
	}
	ntlmssp_server_free(s);
	auth_passdb_free(db);
	cleanup_passdb(path);
}

START_TEST(test_nlmp_v2_authenticate)
{
	/* entry with the domain, entry without one, and the wrong password */
	run_vector("Domain\\User:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	           "A4F49C406510BDCAB6824EE7C30FD852:[U          ]:LCT-00000000:\n",
	           0);
	run_vector("user:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	           "a4f49c406510bdcab6824ee7c30fd852:[U          ]:LCT-00000000:\n",
	           0);
	run_vector("Domain\\User:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	           "A4F49C406510BDCAB6824EE7C30FD853:[U          ]:LCT-00000000:\n",
	           WD_EAUTH);
	run_vector("Domain\\Other:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	           "A4F49C406510BDCAB6824EE7C30FD852:[U          ]:LCT-00000000:\n",
	           WD_EAUTH);
	run_vector("Domain\\User:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	           "A4F49C406510BDCAB6824EE7C30FD852:[UD         ]:LCT-00000000:\n",
	           WD_EAUTH);
}
END_TEST

START_TEST(test_nlmp_v2_keys_and_seal)
{
	uint8_t esk[16], k[16], data[64], sig[16];
	size_t dl, sl;
	struct ntlmssp_server *s;
	struct ntlmssp_server_cfg cfg = {.netname = "Server"};
	static const char pt[] = "P\0l\0a\0i\0n\0t\0e\0x\0t";

	memset(esk, 0x55, 16);
	/* 4.2.4.4 SEALKEY / SIGNKEY client-to-server */
	ntlmssp_sealkey(esk, 0xe2888235, true, k);
	ASSERT_HEX(k, "59f600973cc4960a25480a7c196e4c58");
	ntlmssp_signkey(esk, true, k);
	ASSERT_HEX(k, "4788dc861b4782f35d43fd98fe1a2d39");
	/* 4.2.4.4 sealed "Plaintext" (seq 0): our server unseals it as the
	 * client-to-server direction */
	ck_assert_int_eq(ntlmssp_server_new(&cfg, &s), 0);
	ck_assert_int_eq(ntlmssp_server_set_session_key(s, esk, 0xe2888235), 0);
	unhex("54e50165bf1936dc996020c1811b0f06fb5f", data, &dl);
	unhex("010000007fb38ec5c55d497600000000", sig, &sl);
	ck_assert_int_eq(ntlmssp_unseal(s, data, dl, 0, dl, sig), 0);
	ck_assert_mem_eq(data, pt, 18);
	/* the same seal again is a replay (sequence number 0 != 1) */
	ck_assert_int_eq(ntlmssp_server_set_session_key(s, esk, 0xe2888235), 0);
	unhex("54e50165bf1936dc996020c1811b0f06fb5f", data, &dl);
	sig[5] ^= 0x01;
	ck_assert_int_eq(ntlmssp_unseal(s, data, dl, 0, dl, sig), WD_ESIG);
	ntlmssp_server_free(s);
}
END_TEST

START_TEST(test_nlmp_ess_56bit_seal)
{
	/* 4.2.3: NTLMv1 with client challenge = ESS without KEY_EXCH, 56-bit */
	uint8_t kx[16], k[16], data[64], sig[16];
	size_t l, sl;
	struct ntlmssp_server *s;
	struct ntlmssp_server_cfg cfg = {.netname = "Server"};
	uint32_t flags = NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_ESS | NTLMSSP_NEGOTIATE_SIGN |
	                 NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_UNICODE;
	static const char pt[] = "P\0l\0a\0i\0n\0t\0e\0x\0t";

	unhex("eb93429a8bd952f8b89c55b87f475edc", kx, &l);
	ntlmssp_sealkey(kx, flags, true, k);
	ASSERT_HEX(k, "04dd7f014d8504d265a25cc86a3a7c06");
	ntlmssp_signkey(kx, true, k);
	ASSERT_HEX(k, "60e799be5c72fc92922ae8ebe961fb8d");
	ck_assert_int_eq(ntlmssp_server_new(&cfg, &s), 0);
	ck_assert_int_eq(ntlmssp_server_set_session_key(s, kx, flags), 0);
	unhex("a02372f6530273f3aa1eb90190ce5200c99d", data, &l);
	unhex("01000000ff2aeb52f681793a00000000", sig, &sl);
	ck_assert_int_eq(ntlmssp_unseal(s, data, l, 0, l, sig), 0);
	ck_assert_mem_eq(data, pt, 18);
	ntlmssp_server_free(s);
}
END_TEST

START_TEST(test_parse_negotiate_forms)
{
	struct ntlmssp_negotiate n;
	uint8_t m[40] = "NTLMSSP";

	tc_put32(m + 8, 1);
	tc_put32(m + 12, 0xe0888235);
	ck_assert_int_eq(ntlmssp_parse_negotiate(m, 32, &n), 0); /* impacket */
	ck_assert_uint_eq(n.flags, 0xe0888235);
	ck_assert(!n.has_version);
	tc_put32(m + 12, 0x62088235);
	ck_assert_int_eq(ntlmssp_parse_negotiate(m, 40, &n), 0);
	ck_assert(n.has_version);
	ck_assert_int_eq(ntlmssp_parse_negotiate(m, 15, &n), WD_ESHORT);
	m[0] = 'X';
	ck_assert_int_eq(ntlmssp_parse_negotiate(m, 40, &n), WD_EPROTO);
	m[0] = 'N';
	tc_put32(m + 8, 3);
	ck_assert_int_eq(ntlmssp_parse_negotiate(m, 40, &n), WD_EPROTO);
}
END_TEST

START_TEST(test_parse_authenticate_bounds)
{
	struct ntlmssp_authenticate a;
	uint8_t m[100];

	memset(m, 0, sizeof(m));
	memcpy(m, "NTLMSSP", 8);
	tc_put32(m + 8, 3);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 64, &a), 0);
	ck_assert_uint_eq(a.mic_off, 0);
	/* field past the end */
	tc_put16(m + 20, 40);
	tc_put32(m + 24, 70);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 100, &a), WD_EPROTO);
	/* offset overflow */
	tc_put32(m + 24, 0xfffffff0u);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 100, &a), WD_EPROTO);
	tc_put32(m + 24, 60);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 100, &a), 0);
	ck_assert_uint_eq(a.mic_off, 0);
	tc_put32(m + 24, 88);
	tc_put16(m + 20, 12);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 100, &a), 0);
	ck_assert_uint_eq(a.mic_off, 72);
	ck_assert_int_eq(ntlmssp_parse_authenticate(m, 63, &a), WD_ESHORT);
}
END_TEST

/* ---- full exchange through auth.h ----------------------------------- */

#define PWLINE                                                                                     \
	"TESTDOM\\alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:%s:[U          ]:LCT-00000000:\n"    \
	"bob:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:%s:[U          ]:LCT-00000000:\n"

static auth_server_t *make_server(char **path_out)
{
	uint8_t h1[16], h2[16];
	char hex1[33], hex2[33], buf[1024];
	struct auth_server_opts o = {.netname = "WITSRV",
	                             .domain = "TESTDOM",
	                             .dns_name = "witsrv.testdom.example",
	                             .methods = AUTH_METHOD_NTLMSSP | AUTH_METHOD_SPNEGO};
	auth_server_t *srv;

	auth_passdb_nthash("Secret123", h1);
	auth_passdb_nthash("Bobpass1", h2);
	for (int i = 0; i < 16; i++) {
		sprintf(hex1 + 2 * i, "%02X", h1[i]);
		sprintf(hex2 + 2 * i, "%02X", h2[i]);
	}
	snprintf(buf, sizeof(buf), PWLINE, hex1, hex2);
	*path_out = write_passdb(buf);
	o.ntlm_password_file = *path_out;
	ck_assert_int_eq(auth_server_new(&o, &srv), 0);
	return srv;
}

/* A fake PDU: 16 H + 8 B + stub + pad to 16 + 8 T */
static size_t fake_pdu(uint8_t *pdu, const char *stub, size_t *body_off, size_t *body_len)
{
	size_t sl = strlen(stub), pad = (16 - sl % 16) % 16;

	memset(pdu, 0, 24 + sl + pad + 8);
	pdu[0] = 5, pdu[2] = 0, pdu[3] = 3;
	memcpy(pdu + 24, stub, sl);
	*body_off = 24;
	*body_len = sl + pad;
	pdu[24 + sl + pad] = 10, pdu[24 + sl + pad + 1] = 6, pdu[24 + sl + pad + 2] = (uint8_t)pad;
	return 24 + sl + pad + 8;
}

static int do_login(auth_server_t *srv, struct tclient *c, uint8_t level, auth_ctx_t **out)
{
	auth_ctx_t *ctx;
	const uint8_t *neg;
	uint8_t *chal, *am, *o;
	size_t nl, cl, al, ol;
	int rc;

	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP, level, &ctx), 0);
	tc_negotiate(c, &neg, &nl);
	ck_assert_int_eq(auth_ctx_update(ctx, neg, nl, &chal, &cl), WD_EAGAIN);
	ck_assert_ptr_nonnull(chal);
	ck_assert_int_eq(tc_authenticate(c, chal, cl, &am, &al), 0);
	rc = auth_ctx_update(ctx, am, al, &o, &ol);
	ck_assert_ptr_null(o);
	free(chal);
	free(am);
	if (rc) {
		auth_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

START_TEST(test_exchange_all_levels)
{
	char *path;
	auth_server_t *srv = make_server(&path);
	static const uint8_t levels[] = {AUTH_LEVEL_CONNECT, AUTH_LEVEL_PACKET,
	                                 AUTH_LEVEL_INTEGRITY, AUTH_LEVEL_PRIVACY};

	for (size_t li = 0; li < sizeof(levels); li++) {
		for (int variant = 0; variant < 3; variant++) {
			struct tclient c;
			auth_ctx_t *ctx;
			const struct auth_session *s;
			uint8_t level = levels[li];
			bool seal = level == AUTH_LEVEL_PRIVACY;

			tc_init(&c, variant == 2 ? "bob" : "alice", variant == 2 ? "" : "TESTDOM",
			        variant == 2 ? "Bobpass1" : "Secret123");
			if (variant == 1) { /* impacket: 32-byte NEGOTIATE, no MIC */
				c.short_negotiate = true;
				c.send_mic = false;
				c.neg_flags = 0xe0888235;
			}
			ck_assert_int_eq(do_login(srv, &c, level, &ctx), 0);
			ck_assert(auth_ctx_complete(ctx));
			s = auth_ctx_session(ctx);
			ck_assert_str_eq(s->account, variant == 2 ? "bob" : "alice");
			ck_assert_str_eq(s->domain, "TESTDOM");
			ck_assert_int_eq(strncmp(s->sid, "S-1-5-21-", 9), 0);
			ck_assert_uint_eq(s->auth_type, AUTH_TYPE_NTLMSSP);
			if (level == AUTH_LEVEL_CONNECT) {
				ck_assert_uint_eq(auth_ctx_sig_size(ctx), 0);
				auth_ctx_free(ctx);
				tc_free(&c);
				continue;
			}
			ck_assert_uint_eq(auth_ctx_sig_size(ctx), 16);
			for (int round = 0; round < 3; round++) {
				uint8_t pdu[256], sig[16];
				size_t bo, bl, n = fake_pdu(pdu, "request stub data!", &bo, &bl);

				/* client -> server */
				tc_protect(&c, pdu, n, seal, bo, bl, sig);
				if (seal) {
					ck_assert_int_ne(memcmp(pdu + 24, "request", 7), 0);
					ck_assert_int_eq(
					    auth_ctx_unseal(ctx, pdu, n, bo, bl, sig, 16), 0);
				} else {
					ck_assert_int_eq(
					    auth_ctx_check(ctx, pdu, n, bo, bl, sig, 16), 0);
				}
				ck_assert_mem_eq(pdu + 24, "request stub data!", 18);
				/* server -> client */
				n = fake_pdu(pdu, "response", &bo, &bl);
				if (seal)
					ck_assert_int_eq(
					    auth_ctx_seal(ctx, pdu, n, bo, bl, sig, 16), 0);
				else
					ck_assert_int_eq(
					    auth_ctx_sign(ctx, pdu, n, bo, bl, sig, 16), 0);
				ck_assert_int_eq(tc_verify(&c, pdu, n, seal, bo, bl, sig), 0);
				ck_assert_mem_eq(pdu + 24, "response", 8);
			}
			auth_ctx_free(ctx);
			tc_free(&c);
		}
	}
	auth_server_free(srv);
	cleanup_passdb(path);
}
END_TEST

START_TEST(test_refusals)
{
	char *path;
	auth_server_t *srv = make_server(&path);
	struct tclient c;
	auth_ctx_t *ctx;

	tc_init(&c, "alice", "TESTDOM", "wrong");
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);
	tc_init(&c, "mallory", "TESTDOM", "Secret123");
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);
	/* alice's entry is bound to TESTDOM */
	tc_init(&c, "alice", "OTHERDOM", "Secret123");
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.ntlmv1 = true;
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.corrupt_mic = true;
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);
	/* without ESS there is no session security we accept */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.neg_flags &= ~(uint32_t)NTLMSSP_NEGOTIATE_ESS;
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), WD_EAUTH);
	tc_free(&c);

	/* the bound level must be backed by the negotiated flags */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.neg_flags &= ~(uint32_t)NTLMSSP_NEGOTIATE_SEAL;
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_PRIVACY, &ctx), WD_EAUTH);
	tc_free(&c);
	/* integrity without SIGN completes (as Samba), grants CONNECT and
	 * verifies nothing, not even a signature made with the session keys */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.neg_flags &= ~(uint32_t)(NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_SIGN);
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	ck_assert_int_eq(auth_ctx_session(ctx)->auth_level, AUTH_LEVEL_CONNECT);
	{
		uint8_t pdu[256], sig[16];
		size_t bo, bl, n = fake_pdu(pdu, "stub", &bo, &bl);

		tc_protect(&c, pdu, n, false, bo, bl, sig);
		ck_assert_int_eq(auth_ctx_check(ctx, pdu, n, bo, bl, sig, 16), WD_ESIG);
		ck_assert_int_eq(auth_ctx_sign(ctx, pdu, n, bo, bl, sig, 16), WD_ESIG);
	}
	auth_ctx_free(ctx);
	tc_free(&c);
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	c.neg_flags &= ~(uint32_t)(NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_SIGN);
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_CONNECT, &ctx), 0); /* rpcclient [connect] */
	auth_ctx_free(ctx);
	tc_free(&c);

	/* tampered signature, tampered header, replayed sequence number */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	{
		uint8_t pdu[256], sig[16], saved[256], ssig[16];
		size_t bo, bl, n = fake_pdu(pdu, "stub", &bo, &bl);

		tc_protect(&c, pdu, n, false, bo, bl, sig);
		memcpy(saved, pdu, n);
		memcpy(ssig, sig, 16);
		ck_assert_int_eq(auth_ctx_check(ctx, pdu, n, bo, bl, sig, 16), 0);
		/* replay of the accepted PDU */
		ck_assert_int_eq(auth_ctx_check(ctx, saved, n, bo, bl, ssig, 16), WD_ESIG);
		auth_ctx_free(ctx);
		tc_free(&c);

		tc_init(&c, "alice", "TESTDOM", "Secret123");
		ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), 0);
		n = fake_pdu(pdu, "stub", &bo, &bl);
		tc_protect(&c, pdu, n, false, bo, bl, sig);
		pdu[12] ^= 1; /* call_id: header is covered */
		ck_assert_int_eq(auth_ctx_check(ctx, pdu, n, bo, bl, sig, 16), WD_ESIG);
		ck_assert_int_eq(auth_ctx_check(ctx, pdu, n, bo, bl, sig, 15), WD_ESIG);
		auth_ctx_free(ctx);
		tc_free(&c);
	}
	/* a finished context takes no more tokens */
	tc_init(&c, "alice", "TESTDOM", "Secret123");
	ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	{
		uint8_t *o;
		size_t ol;
		ck_assert_int_eq(auth_ctx_update(ctx, (const uint8_t *)"x", 1, &o, &ol), WD_ESTATE);
	}
	auth_ctx_free(ctx);
	tc_free(&c);
	/* garbage first leg */
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP, AUTH_LEVEL_INTEGRITY, &ctx), 0);
	{
		uint8_t *o;
		size_t ol;
		ck_assert_int_eq(auth_ctx_update(ctx, (const uint8_t *)"NTLMSSP", 8, &o, &ol),
		                 WD_EPROTO);
	}
	auth_ctx_free(ctx);
	/* not offered / bad level */
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_KRB5, AUTH_LEVEL_INTEGRITY, &ctx),
	                 WD_ENOTSUP);
	ck_assert_int_eq(auth_ctx_start(srv, 77, AUTH_LEVEL_INTEGRITY, &ctx), WD_ENOTSUP);
	ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP, AUTH_LEVEL_NONE, &ctx), WD_EINVAL);
	auth_server_free(srv);
	cleanup_passdb(path);
}
END_TEST

/* ---- the anonymous logon ([MS-NLMP] 3.2.5.1.2) ---------------------- */

#define ANON_FLAGS                                                                                 \
	(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_SIGN |             \
	 NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_ESS |          \
	 NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH)

/* A 16-byte NEGOTIATE_MESSAGE asking for flags. */
static void anon_negotiate(uint8_t m[16], uint32_t flags)
{
	memcpy(m, "NTLMSSP", 8);
	tc_put32(m + 8, 1);
	tc_put32(m + 12, flags);
}

/*
 * An AUTHENTICATE_MESSAGE as a client builds it for anonymous (3.3.2, the
 * special case): no user, no NtChallengeResponse, LmChallengeResponse of
 * lm_len bytes of lm_byte, and the exported session key ek encrypted with
 * KXKEY = Z(16). m must hold 72 + lm_len + 16 bytes.
 */
static size_t anon_authenticate(uint8_t *m, size_t lm_len, uint8_t lm_byte, const uint8_t ek[16],
                                uint32_t flags)
{
	const uint8_t zero[16] = {0};
	size_t off = 72; /* header + Version, no MIC */
	uint8_t *k = m + off + lm_len;

	memset(m, 0, off + lm_len + 16);
	memcpy(m, "NTLMSSP", 8);
	tc_put32(m + 8, 3);
	tc_put16(m + 12, (uint16_t)lm_len);
	tc_put16(m + 14, (uint16_t)lm_len);
	tc_put32(m + 16, (uint32_t)off);
	memset(m + off, lm_byte, lm_len);
	for (size_t at = 20; at <= 44; at += 8) /* NT, domain, user, workstation: empty */
		tc_put32(m + at + 4, (uint32_t)(off + lm_len));
	tc_put16(m + 52, 16);
	tc_put16(m + 54, 16);
	tc_put32(m + 56, (uint32_t)(off + lm_len));
	tc_put32(m + 60, flags);
	memcpy(k, ek, 16);
	ck_assert_int_eq(auth_rc4k(zero, 16, k, 16), 0);
	return off + lm_len + 16;
}

static int anon_login(const struct ntlmssp_server_cfg *cfg, size_t lm_len, uint8_t lm_byte,
                      const uint8_t ek[16], struct ntlmssp_server **out)
{
	struct ntlmssp_server *s;
	uint8_t neg[16], am[128], *o;
	size_t ol, al;
	int rc;

	ck_assert_int_eq(ntlmssp_server_new(cfg, &s), 0);
	anon_negotiate(neg, ANON_FLAGS);
	ck_assert_int_eq(ntlmssp_server_update(s, neg, sizeof(neg), &o, &ol), WD_EAGAIN);
	free(o);
	al = anon_authenticate(am, lm_len, lm_byte, ek, ANON_FLAGS);
	rc = ntlmssp_server_update(s, am, al, &o, &ol);
	ck_assert_ptr_null(o);
	*out = s;
	return rc;
}

START_TEST(test_anonymous)
{
	static const uint8_t ek[16] = {0x55, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	struct ntlmssp_server_cfg cfg = {.netname = "WITSRV", .domain = "TESTDOM"};
	struct ntlmssp_server *s;
	const char *u, *d;
	uint32_t uid;
	uint8_t key[16], sig[16], msg[8] = "witness";

	/* LmChallengeResponse Z(1) (Samba, Windows) and empty: both ANONYMOUS */
	for (size_t lm_len = 0; lm_len <= 1; lm_len++) {
		ck_assert_int_eq(anon_login(&cfg, lm_len, 0, ek, &s), 0);
		ck_assert(ntlmssp_server_complete(s));
		ck_assert(ntlmssp_server_anonymous(s));
		ntlmssp_server_identity(s, &u, &d, &uid);
		ck_assert_str_eq(u, "");
		ck_assert_uint_eq(uid, 0);
		/* KEY_EXCH under the anonymous session base key Z(16) */
		ck_assert_int_eq(ntlmssp_server_session_key(s, key), 0);
		ck_assert_mem_eq(key, ek, 16);
		ck_assert_int_eq(ntlmssp_sign(s, msg, sizeof(msg), sig), 0);
		/* no session security for ANONYMOUS ([MS-NLMP] 3.4), whatever it asked */
		ck_assert_uint_eq(
		    ntlmssp_server_flags(s) & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL), 0);
		ntlmssp_server_free(s);
	}
	/* a one-byte LM response that is not zero is no anonymous logon (LM: refused) */
	ck_assert_int_eq(anon_login(&cfg, 1, 0x01, ek, &s), WD_EAUTH);
	ck_assert(!ntlmssp_server_anonymous(s));
	ntlmssp_server_free(s);
	/* refused when the owner says so */
	cfg.refuse_anonymous = true;
	ck_assert_int_eq(anon_login(&cfg, 1, 0, ek, &s), WD_EAUTH);
	ck_assert(!ntlmssp_server_complete(s));
	ntlmssp_server_free(s);
}
END_TEST

/* Through auth.h: the session says ANONYMOUS; ntlm_refuse_anonymous refuses. */
START_TEST(test_anonymous_session)
{
	static const uint8_t ek[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	char *path;
	auth_server_t *srv = make_server(&path), *srv_no;
	struct auth_server_opts o = {.netname = "WITSRV",
	                             .domain = "TESTDOM",
	                             .ntlm_password_file = path,
	                             .methods = AUTH_METHOD_NTLMSSP,
	                             .ntlm_refuse_anonymous = true};
	auth_ctx_t *ctx;
	uint8_t neg[16], am[128], *out;
	size_t ol, al;

	ck_assert_int_eq(auth_server_new(&o, &srv_no), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(auth_ctx_start(i == 0 ? srv : srv_no, AUTH_TYPE_NTLMSSP,
		                                AUTH_LEVEL_INTEGRITY, &ctx),
		                 0);
		anon_negotiate(neg, ANON_FLAGS);
		ck_assert_int_eq(auth_ctx_update(ctx, neg, sizeof(neg), &out, &ol), WD_EAGAIN);
		free(out);
		al = anon_authenticate(am, 1, 0, ek, ANON_FLAGS);
		if (i == 0) {
			const struct auth_session *as;
			uint8_t pdu[64] = {0}, sig[16] = {0};
			ck_assert_int_eq(auth_ctx_update(ctx, am, al, &out, &ol), 0);
			as = auth_ctx_session(ctx);
			ck_assert(as->anonymous);
			ck_assert_str_eq(as->account, "ANONYMOUS LOGON");
			ck_assert_str_eq(as->domain, "NT AUTHORITY");
			ck_assert_str_eq(as->sid, "S-1-5-7");
			ck_assert_uint_eq(auth_ctx_sig_size(ctx), 16);
			/* integrity asked, no session security: it grants CONNECT
			 * and verifies nothing ([MS-NLMP] 3.4) */
			ck_assert_uint_eq(as->auth_level, AUTH_LEVEL_CONNECT);
			ck_assert_int_eq(auth_ctx_check(ctx, pdu, 40, 24, 8, sig, 16), WD_ESIG);
		} else {
			ck_assert_int_eq(auth_ctx_update(ctx, am, al, &out, &ol), WD_EAUTH);
		}
		free(out);
		auth_ctx_free(ctx);
	}
	/* at privacy the anonymous leg fails; at CONNECT an AUTHENTICATE
	 * without ESS, as Samba's client sends it for anonymous ("not doing
	 * NTLM2 without a password"), completes */
	for (int i = 0; i < 2; i++) {
		uint32_t af = i == 0 ? ANON_FLAGS : ANON_FLAGS & ~(uint32_t)NTLMSSP_NEGOTIATE_ESS;
		ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP,
		                                i == 0 ? AUTH_LEVEL_PRIVACY : AUTH_LEVEL_CONNECT,
		                                &ctx),
		                 0);
		anon_negotiate(neg, ANON_FLAGS);
		ck_assert_int_eq(auth_ctx_update(ctx, neg, sizeof(neg), &out, &ol), WD_EAGAIN);
		free(out);
		al = anon_authenticate(am, 1, 0, ek, af);
		ck_assert_int_eq(auth_ctx_update(ctx, am, al, &out, &ol), i == 0 ? WD_EAUTH : 0);
		free(out);
		if (i == 1)
			ck_assert(auth_ctx_session(ctx)->anonymous);
		auth_ctx_free(ctx);
	}
	/* a password logon is not anonymous */
	{
		struct tclient c;
		tc_init(&c, "alice", "TESTDOM", "Secret123");
		ck_assert_int_eq(do_login(srv, &c, AUTH_LEVEL_INTEGRITY, &ctx), 0);
		ck_assert(!auth_ctx_session(ctx)->anonymous);
		auth_ctx_free(ctx);
		tc_free(&c);
	}
	auth_server_free(srv_no);
	auth_server_free(srv);
	cleanup_passdb(path);
}
END_TEST

START_TEST(test_server_config_errors)
{
	struct auth_server_opts o = {.netname = "WITSRV",
	                             .ntlm_password_file = "/nonexistent/witnessd/passdb"};
	auth_server_t *srv = NULL;
	char *path;

	ck_assert_int_eq(auth_server_new(&o, &srv), WD_ECONFIG);
	ck_assert_ptr_null(srv);
	path = write_passdb("garbage line without colons\n");
	o.ntlm_password_file = path;
	ck_assert_int_eq(auth_server_new(&o, &srv), WD_ECONFIG);
	cleanup_passdb(path);
	o.ntlm_password_file = NULL;
	o.keytab = "/nonexistent/witnessd.keytab";
	ck_assert_int_eq(auth_server_new(&o, &srv), WD_ECONFIG);
	/* "auth methods = spnego": NTLMSSP only inside SPNEGO */
	path = write_passdb("bob:1001:X:A4F49C406510BDCAB6824EE7C30FD852:[U ]:\n");
	o.ntlm_password_file = path;
	o.keytab = NULL;
	o.methods = AUTH_METHOD_SPNEGO;
	ck_assert_int_eq(auth_server_new(&o, &srv), 0);
	ck_assert(!auth_server_offers(srv, AUTH_TYPE_NTLMSSP));
	ck_assert(auth_server_offers(srv, AUTH_TYPE_SPNEGO));
	ck_assert(!auth_server_offers(srv, AUTH_TYPE_KRB5));
	{
		auth_ctx_t *ctx;
		ck_assert_int_eq(auth_ctx_start(srv, AUTH_TYPE_NTLMSSP, AUTH_LEVEL_INTEGRITY, &ctx),
		                 WD_ENOTSUP);
	}
	auth_server_free(srv);
	o.methods = 0;
	cleanup_passdb(path);
	o.ntlm_password_file = NULL;
	/* nothing configured: nothing offered */
	o.keytab = NULL;
	ck_assert_int_eq(auth_server_new(&o, &srv), 0);
	ck_assert(!auth_server_offers(srv, AUTH_TYPE_NTLMSSP));
	ck_assert(!auth_server_offers(srv, AUTH_TYPE_SPNEGO));
	ck_assert(!auth_server_offers(srv, AUTH_TYPE_KRB5));
	auth_server_free(srv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ntlmssp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_md4_rfc1320);
	tcase_add_test(tc, test_rc4_rfc6229);
	tcase_add_test(tc, test_rc4_vs_gnutls);
	tcase_add_test(tc, test_nlmp_ntowf);
	tcase_add_test(tc, test_nlmp_v2_authenticate);
	tcase_add_test(tc, test_nlmp_v2_keys_and_seal);
	tcase_add_test(tc, test_nlmp_ess_56bit_seal);
	tcase_add_test(tc, test_parse_negotiate_forms);
	tcase_add_test(tc, test_parse_authenticate_bounds);
	tcase_add_test(tc, test_exchange_all_levels);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_anonymous);
	tcase_add_test(tc, test_anonymous_session);
	tcase_add_test(tc, test_server_config_errors);
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
