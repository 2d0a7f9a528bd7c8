/*
 * fuzz_spnego.c - libFuzzer target for SPNEGO. First byte % 4:
 *   0 negTokenInit parser, 1 negTokenResp parser: whatever parses must
 *     rebuild and parse back to the same fields, and every pointer the
 *     parser returns must lie inside the input;
 *   2 the SPNEGO acceptor (auth_ctx, NTLMSSP inside) fed the input as the
 *     first leg; 3 fed a valid negTokenInit(NEGOTIATE) first, then the input
 *     as the second leg (negTokenResp with AUTHENTICATE + mechListMIC).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/log.h"
#include "../../src/auth/auth_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t l, const uint8_t *buf, size_t len)
{
	if (p && (p < buf || p + l > buf + len))
		abort();
}

static auth_server_t *srv;

static void make_server(void)
{
	char path[] = "/tmp/fuzz-spnego-passdb-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct auth_server_opts o = {
	    .netname = "WITSRV", .domain = "TESTDOM", .ntlm_password_file = path};

	if (fd < 0 || !(f = fdopen(fd, "w")))
		abort();
	fputs("TESTDOM\\alice:1000:X:C1E2F6D8C6D64A0F6F1E0AA0B9A2F9D8:[U ]:\n", f);
	fclose(f);
	wd_log_set_level(WD_LOG_ERR - 1);
	if (auth_server_new(&o, &srv) != 0)
		abort();
	unlink(path);
}

static void acceptor(const uint8_t *buf, size_t len, bool second)
{
	static const struct spnego_oid mechs[2] = {
	    {9, {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}},
	    {10, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}}};
	uint8_t neg[40] = "NTLMSSP", *t = NULL, *out = NULL;
	size_t tl, ol;
	auth_ctx_t *ctx;
	int rc;

	if (!srv)
		make_server();
	if (auth_ctx_start(srv, AUTH_TYPE_SPNEGO, AUTH_LEVEL_PRIVACY, &ctx) != 0)
		abort();
	if (second) {
		neg[8] = 1;
		neg[12] = 0x35, neg[13] = 0x82, neg[14] = 0x08, neg[15] = 0x62;
		/* NTLMSSP second in the list: the optimistic token is ignored */
		if (spnego_build_init(mechs, 2, neg, sizeof(neg), NULL, 0, &t, &tl) != 0)
			abort();
		rc = auth_ctx_update(ctx, t, tl, &out, &ol);
		free(t);
		free(out);
		out = NULL;
		if (rc != WD_EAGAIN)
			abort();
		if (spnego_build_resp(&(struct spnego_resp){.state = SPNEGO_NO_STATE,
		                                            .token = neg,
		                                            .token_len = sizeof(neg)},
		                      &t, &tl) != 0)
			abort();
		rc = auth_ctx_update(ctx, t, tl, &out, &ol);
		free(t);
		free(out);
		out = NULL;
		if (rc != WD_EAGAIN)
			abort();
	}
	rc = auth_ctx_update(ctx, buf, len, &out, &ol);
	free(out);
	if (rc == 0 && auth_ctx_complete(ctx)) {
		uint8_t pdu[64] = {5}, sig[16];
		auth_ctx_seal(ctx, pdu, sizeof(pdu), 24, 32, sig, 16);
	}
	auth_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *buf;
	size_t len;
	uint8_t *out = NULL;
	size_t out_len;

	if (size < 1)
		return 0;
	buf = data + 1;
	len = size - 1;
	if (data[0] % 4 >= 2) {
		acceptor(buf, len, data[0] % 4 == 3);
		return 0;
	}
	if (data[0] % 4 == 0) {
		struct spnego_init a, b;
		if (spnego_parse_init(buf, len, &a) != 0)
			return 0;
		inside(a.mechlist, a.mechlist_len, buf, len);
		inside(a.token, a.token_len, buf, len);
		inside(a.mic, a.mic_len, buf, len);
		if (spnego_build_init(a.mechs, a.n_mechs, a.token, a.token_len, a.mic, a.mic_len,
		                      &out, &out_len) != 0)
			abort();
		if (spnego_parse_init(out, out_len, &b) != 0 || b.n_mechs != a.n_mechs ||
		    b.token_len != a.token_len || b.mic_len != a.mic_len ||
		    (a.token && memcmp(a.token, b.token, a.token_len)) ||
		    (a.mic && memcmp(a.mic, b.mic, a.mic_len)))
			abort();
		for (size_t i = 0; i < a.n_mechs; i++)
			if (!spnego_oid_eq(&a.mechs[i], &b.mechs[i]))
				abort();
	} else {
		struct spnego_resp a, b;
		if (spnego_parse_resp(buf, len, &a) != 0)
			return 0;
		inside(a.token, a.token_len, buf, len);
		inside(a.mic, a.mic_len, buf, len);
		if (spnego_build_resp(&a, &out, &out_len) != 0)
			abort();
		if (spnego_parse_resp(out, out_len, &b) != 0 || a.state != b.state ||
		    a.has_mech != b.has_mech || a.token_len != b.token_len ||
		    a.mic_len != b.mic_len || (a.has_mech && !spnego_oid_eq(&a.mech, &b.mech)) ||
		    (a.token && memcmp(a.token, b.token, a.token_len)) ||
		    (a.mic && memcmp(a.mic, b.mic, a.mic_len)))
			abort();
	}
	free(out);
	return 0;
}
