/*
 * test_smb2.c - the SMB2 messages of witnessctl doctor: requests as
 * [MS-SMB2] 2.2 lays them out, responses parsed and refused when malformed.
 * (tests/integration/test_doctor.py checks them against smbd and tshark.)
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/smb2.h"

static const uint8_t guid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

START_TEST(test_requests)
{
	uint8_t b[2048];
	const uint16_t d2[] = {0x0202, 0x0302}, d3[] = {0x0300, 0x0311};
	int n;

	n = smb2_negotiate_req(b, sizeof(b), 0, d2, 2, guid);
	ck_assert_int_eq(n, 4 + 64 + 36 + 4);
	ck_assert_uint_eq(b[3], 64 + 36 + 4); /* transport length */
	ck_assert_int_eq(memcmp(b + 4, "\xfeSMB", 4), 0);
	ck_assert_uint_eq(g16(b + 4 + 64), 36);    /* StructureSize */
	ck_assert_uint_eq(g16(b + 4 + 64 + 2), 2); /* DialectCount */
	ck_assert_uint_eq(g16(b + 4 + 64 + 38), 0x0302);
	/* with 3.1.1: a PREAUTH_INTEGRITY context at an 8-aligned offset */
	n = smb2_negotiate_req(b, sizeof(b), 0, d3, 2, guid);
	ck_assert_int_eq(n, 4 + 104 + 8 + 38);
	ck_assert_uint_eq(b[4 + 64 + 28], 104); /* NegotiateContextOffset */
	ck_assert_uint_eq(g16(b + 4 + 104), 1); /* SMB2_PREAUTH_INTEGRITY_CAPABILITIES */
	ck_assert_int_eq(smb2_negotiate_req(b, 50, 0, d2, 2, guid), WD_ERANGE);
	n = smb2_session_setup_req(b, sizeof(b), 1, 0x77, (const uint8_t *)"NTLMSSP", 8);
	ck_assert_int_eq(n, 4 + 64 + 24 + 8);
	ck_assert_uint_eq(g16(b + 4 + 64 + 12), 88); /* SecurityBufferOffset */
	ck_assert_int_eq(memcmp(b + 4 + 88, "NTLMSSP", 8), 0);
	n = smb2_tree_connect_req(b, sizeof(b), 2, 0x77, "\\\\h\\s");
	ck_assert_int_eq(n, 4 + 64 + 8 + 10);
	ck_assert_uint_eq(g16(b + 4 + 64 + 6), 10); /* PathLength */
	ck_assert_uint_eq(b[4 + 72], '\\');
	ck_assert_int_eq(smb2_tree_connect_req(b, sizeof(b), 2, 0, "\\\\h\\\xc3\xa9"), WD_EINVAL);
}
END_TEST

static size_t rsp(uint8_t *m, uint16_t cmd, uint32_t status)
{
	memset(m, 0, 256);
	memcpy(m, "\xfeSMB", 4);
	m[4] = 64;
	m[8] = (uint8_t)status;
	m[9] = (uint8_t)(status >> 8);
	m[10] = (uint8_t)(status >> 16);
	m[11] = (uint8_t)(status >> 24);
	m[12] = (uint8_t)cmd;
	m[16] = 1; /* SERVER_TO_REDIR */
	return 64;
}

START_TEST(test_responses)
{
	uint8_t m[256];
	struct smb2_hdr h;
	struct smb2_negotiate_rsp n;
	struct smb2_session_setup_rsp s;
	struct smb2_tree_connect_rsp t;
	size_t l;

	l = rsp(m, SMB2_NEGOTIATE, 0);
	m[64] = 65;
	m[68] = 0x11;
	m[69] = 0x03;
	m[88] = 0x4f;
	ck_assert_int_eq(smb2_negotiate_rsp_pull(m, l + 64, &h, &n), 0);
	ck_assert_uint_eq(n.dialect, 0x0311);
	ck_assert_uint_eq(n.capabilities, 0x4f);
	ck_assert_str_eq(smb2_dialect_name(n.dialect), "3.1.1");
	ck_assert_int_eq(smb2_negotiate_rsp_pull(m, l + 63, &h, &n), WD_ESHORT);
	m[64] = 64; /* bad StructureSize */
	ck_assert_int_eq(smb2_negotiate_rsp_pull(m, l + 64, &h, &n), WD_EPROTO);
	m[64] = 65;
	m[120] = 200; /* security buffer beyond the message */
	m[122] = 10;
	ck_assert_int_eq(smb2_negotiate_rsp_pull(m, l + 64, &h, &n), WD_EPROTO);
	m[16] = 0; /* a request, not a response */
	ck_assert_int_eq(smb2_hdr_pull(m, 64, &h), WD_EPROTO);

	l = rsp(m, SMB2_SESSION_SETUP, SMB2_STATUS_MORE_PROCESSING_REQUIRED);
	m[64] = 9;
	m[68] = 72;
	m[70] = 4;
	memcpy(m + 72, "TOKN", 4);
	ck_assert_int_eq(smb2_session_setup_rsp_pull(m, 76, &h, &s), 0);
	ck_assert_uint_eq(s.token_len, 4);
	ck_assert_int_eq(memcmp(s.token, "TOKN", 4), 0);
	ck_assert_int_eq(smb2_session_setup_rsp_pull(m, 75, &h, &s), WD_EPROTO);
	m[68] = 60; /* token overlapping the header */
	ck_assert_int_eq(smb2_session_setup_rsp_pull(m, 76, &h, &s), WD_EPROTO);

	l = rsp(m, SMB2_TREE_CONNECT, 0);
	m[64] = 16;
	m[66] = 1;
	m[72] = SMB2_SHARE_CAP_CLUSTER | SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY;
	ck_assert_int_eq(smb2_tree_connect_rsp_pull(m, l + 16, &h, &t), 0);
	ck_assert_uint_eq(t.capabilities, 0x50);
	ck_assert_int_eq(smb2_negotiate_rsp_pull(m, l + 16, &h, &n), WD_EPROTO); /* wrong command */
	/* an error answer: header only, the status tells */
	l = rsp(m, SMB2_TREE_CONNECT, 0xc00000cc);
	ck_assert_int_eq(smb2_tree_connect_rsp_pull(m, l + 9, &h, &t), 0);
	ck_assert_uint_eq(h.status, 0xc00000cc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smb2");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_requests);
	tcase_add_test(tc, test_responses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
