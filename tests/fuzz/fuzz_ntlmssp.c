/*
 * fuzz_ntlmssp.c - libFuzzer target for the NTLMSSP parsers and the server
 * state machine. The first byte picks the path:
 *   0: NEGOTIATE parser   1: AUTHENTICATE parser   2: passdb line parser
 *   3: server fed a fixed NEGOTIATE, then the input as AUTHENTICATE
 *   4: server fed the input as NEGOTIATE
 * Nothing may crash, leak or read out of bounds; a parsed AUTHENTICATE's
 * fields must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "../../src/auth/auth_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static auth_passdb_t *db;

static void in_range(const struct ntlmssp_field *f, const uint8_t *buf, size_t len)
{
	if (f->len && (f->p < buf || f->p + f->len > buf + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t chal[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct ntlmssp_server_cfg cfg = {.netname = "WITSRV",
	                                 .domain = "TESTDOM",
	                                 .passdb = &db,
	                                 .fixed_challenge = chal,
	                                 .fixed_time = 1};
	struct ntlmssp_server *s;
	uint8_t neg[40] = "NTLMSSP", *out = NULL, *buf;
	size_t out_len;

	if (!db) {
		wd_log_set_level(WD_LOG_ERR - 1); /* quiet */
		/* any hash: the fuzzer will not guess it; the lookup paths run */
		if (auth_passdb_parse(
		        "TESTDOM\\alice:1000:X:C1E2F6D8C6D64A0F6F1E0AA0B9A2F9D8:[U ]:\n"
		        "bob:1001:X:C1E2F6D8C6D64A0F6F1E0AA0B9A2F9D8:[U ]:\n",
		        &db) != 0)
			abort();
	}
	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0: {
		struct ntlmssp_negotiate n;
		ntlmssp_parse_negotiate(buf, size - 1, &n);
		break;
	}
	case 1: {
		struct ntlmssp_authenticate a;
		if (ntlmssp_parse_authenticate(buf, size - 1, &a) == 0) {
			in_range(&a.lm, buf, size - 1);
			in_range(&a.nt, buf, size - 1);
			in_range(&a.domain, buf, size - 1);
			in_range(&a.user, buf, size - 1);
			in_range(&a.workstation, buf, size - 1);
			in_range(&a.enc_key, buf, size - 1);
			if (a.mic_off && a.mic_off + 16 > size - 1)
				abort();
		}
		break;
	}
	case 2: {
		char *line = malloc(size);
		struct auth_passdb_entry e;
		memcpy(line, data + 1, size - 1);
		line[size - 1] = '\0';
		auth_passdb_parse_line(line, &e);
		free(line);
		break;
	}
	case 3:
	case 4:
		if (ntlmssp_server_new(&cfg, &s) != 0)
			abort();
		if (data[0] % 5 == 3) {
			neg[8] = 1;
			neg[12] = 0x35, neg[13] = 0x82, neg[14] = 0x88, neg[15] = 0xe2;
			if (ntlmssp_server_update(s, neg, sizeof(neg), &out, &out_len) != WD_EAGAIN)
				abort();
			free(out);
			out = NULL;
		}
		if (ntlmssp_server_update(s, buf, size - 1, &out, &out_len) == 0 &&
		    ntlmssp_server_complete(s)) {
			uint8_t msg[32] = {0}, sig[16];
			ntlmssp_sign(s, msg, sizeof(msg), sig);
			ntlmssp_seal(s, msg, sizeof(msg), 8, 16, sig);
			ntlmssp_check(s, msg, sizeof(msg), sig);
		}
		free(out);
		ntlmssp_server_free(s);
		break;
	}
	free(buf);
	return 0;
}
