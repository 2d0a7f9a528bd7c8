/*
 * test_dcerpc_pdu.c - pure PDU marshalling: random round trips of every CO
 * PDU, truncation at every length, fixed vectors, sec_trailer pad rules,
 * BTFN and the verification trailer.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "../../src/dcerpc/pdu.h"

static uint32_t rnd(void)
{
	return (uint32_t)random();
}

static void rnd_syntax(struct dcerpc_pdu_syntax *s)
{
	s->uuid.time_low = rnd();
	s->uuid.time_mid = (uint16_t)rnd();
	s->uuid.time_hi_and_version = (uint16_t)rnd();
	for (int i = 0; i < 2; i++)
		s->uuid.clock_seq[i] = (uint8_t)rnd();
	for (int i = 0; i < 6; i++)
		s->uuid.node[i] = (uint8_t)rnd();
	s->version = rnd();
}

static void rnd_auth(struct dcerpc_auth *a, uint8_t *tok, size_t toklen)
{
	memset(a, 0, sizeof(*a));
	a->trailer.auth_type = 10;
	a->trailer.auth_level = (uint8_t)(2 + rnd() % 5);
	a->trailer.auth_context_id = rnd();
	for (size_t i = 0; i < toklen; i++)
		tok[i] = (uint8_t)rnd();
	a->token = tok;
	a->token_len = toklen;
}

/* every strict prefix of a valid PDU must be rejected */
static void check_truncations(const uint8_t *buf, size_t len,
                              int (*pull)(const uint8_t *, size_t, void *), void *out)
{
	uint8_t *copy = malloc(len);
	for (size_t l = 0; l < len; l++) {
		memcpy(copy, buf, l);
		ck_assert_int_lt(pull(copy, l, out), 0);
	}
	free(copy);
}

START_TEST(test_bind_roundtrip)
{
	for (int iter = 0; iter < 200; iter++) {
		struct dcerpc_bind in, out;
		memset(&in, 0, sizeof(in));
		dcerpc_hdr_init(&in.hdr, iter % 2 ? DCERPC_PKT_ALTER : DCERPC_PKT_BIND,
		                (uint8_t)rnd(), rnd());
		in.max_xmit_frag = (uint16_t)rnd();
		in.max_recv_frag = (uint16_t)rnd();
		in.assoc_group_id = rnd();
		in.n_ctx = (uint8_t)(1 + rnd() % 4);
		for (unsigned i = 0; i < in.n_ctx; i++) {
			in.ctx[i].context_id = (uint16_t)rnd();
			in.ctx[i].n_transfer = (uint8_t)(1 + rnd() % 3);
			rnd_syntax(&in.ctx[i].abstract);
			for (unsigned j = 0; j < in.ctx[i].n_transfer; j++)
				rnd_syntax(&in.ctx[i].transfer[j]);
		}
		uint8_t tok[64];
		struct dcerpc_auth a;
		rnd_auth(&a, tok, rnd() % 64);
		bool with_auth = iter % 3 == 0 && a.token_len > 0;
		struct dcerpc_buf b = {0};
		ck_assert_int_eq(dcerpc_bind_push(&b, &in, with_auth ? &a : NULL), 0);
		ck_assert_int_eq(dcerpc_bind_pull(b.data, b.len, &out), 0);
		ck_assert_uint_eq(out.hdr.frag_length, b.len);
		ck_assert_uint_eq(out.hdr.ptype, in.hdr.ptype);
		ck_assert_uint_eq(out.hdr.call_id, in.hdr.call_id);
		ck_assert_uint_eq(out.max_xmit_frag, in.max_xmit_frag);
		ck_assert_uint_eq(out.assoc_group_id, in.assoc_group_id);
		ck_assert_uint_eq(out.n_ctx, in.n_ctx);
		for (unsigned i = 0; i < in.n_ctx; i++) {
			ck_assert_uint_eq(out.ctx[i].context_id, in.ctx[i].context_id);
			ck_assert(dcerpc_syntax_equal(&out.ctx[i].abstract, &in.ctx[i].abstract));
			for (unsigned j = 0; j < in.ctx[i].n_transfer; j++)
				ck_assert(dcerpc_syntax_equal(&out.ctx[i].transfer[j],
				                              &in.ctx[i].transfer[j]));
		}
		ck_assert(out.auth.present == with_auth);
		if (with_auth) {
			ck_assert_uint_eq(out.auth.token_len, a.token_len);
			ck_assert_mem_eq(out.auth.token, tok, a.token_len);
			ck_assert_uint_eq(out.auth.trailer.auth_context_id,
			                  a.trailer.auth_context_id);
		}
		if (iter < 5)
			check_truncations(b.data, b.len, (void *)dcerpc_bind_pull, &out);
		dcerpc_buf_free(&b);
	}
}
END_TEST

START_TEST(test_bind_ack_roundtrip)
{
	for (int iter = 0; iter < 200; iter++) {
		struct dcerpc_bind_ack in, out;
		memset(&in, 0, sizeof(in));
		dcerpc_hdr_init(&in.hdr, iter % 2 ? DCERPC_PKT_ALTER_RESP : DCERPC_PKT_BIND_ACK, 3,
		                rnd());
		in.max_xmit_frag = (uint16_t)rnd();
		in.max_recv_frag = (uint16_t)rnd();
		in.assoc_group_id = rnd();
		char addr[8] = "49152";
		addr[rnd() % 6] = 0;
		in.sec_addr = addr;
		in.sec_addr_len = (uint16_t)(iter % 4 == 0 ? 0 : strlen(addr) + 1);
		in.n_results = (uint8_t)(rnd() % 5);
		for (unsigned i = 0; i < in.n_results; i++) {
			in.results[i].result = (uint16_t)(rnd() % 4);
			in.results[i].reason = (uint16_t)rnd();
			rnd_syntax(&in.results[i].transfer);
		}
		uint8_t tok[40];
		struct dcerpc_auth a;
		rnd_auth(&a, tok, 1 + rnd() % 40);
		bool with_auth = iter % 3 == 0;
		struct dcerpc_buf b = {0};
		ck_assert_int_eq(dcerpc_bind_ack_push(&b, &in, with_auth ? &a : NULL), 0);
		ck_assert_int_eq(dcerpc_bind_ack_pull(b.data, b.len, &out), 0);
		ck_assert_uint_eq(out.max_recv_frag, in.max_recv_frag);
		ck_assert_uint_eq(out.sec_addr_len, in.sec_addr_len);
		if (in.sec_addr_len)
			ck_assert_str_eq(out.sec_addr, addr);
		ck_assert_uint_eq(out.n_results, in.n_results);
		for (unsigned i = 0; i < in.n_results; i++) {
			ck_assert_uint_eq(out.results[i].result, in.results[i].result);
			ck_assert_uint_eq(out.results[i].reason, in.results[i].reason);
			ck_assert(
			    dcerpc_syntax_equal(&out.results[i].transfer, &in.results[i].transfer));
		}
		ck_assert(out.auth.present == with_auth);
		if (with_auth)
			ck_assert_mem_eq(out.auth.token, tok, a.token_len);
		if (iter < 5)
			check_truncations(b.data, b.len, (void *)dcerpc_bind_ack_pull, &out);
		dcerpc_buf_free(&b);
	}
}
END_TEST

/* Samba's bind_ack for port 135: sec_addr "135\0" then no pad (26+4=30 -> 32) */
START_TEST(test_bind_ack_vector)
{
	struct dcerpc_bind_ack in;
	memset(&in, 0, sizeof(in));
	dcerpc_hdr_init(&in.hdr, DCERPC_PKT_BIND_ACK, 3, 1);
	in.max_xmit_frag = in.max_recv_frag = 4280;
	in.assoc_group_id = 0x12345;
	in.sec_addr = "135";
	in.sec_addr_len = 4;
	in.n_results = 1;
	in.results[0].transfer = dcerpc_ndr32_syntax;
	struct dcerpc_buf b = {0};
	ck_assert_int_eq(dcerpc_bind_ack_push(&b, &in, NULL), 0);
	static const uint8_t want[] = {5,    0,    12,   3,    0x10, 0,    0,    0,    60,   0,
	                               0,    0,    1,    0,    0,    0,    0xb8, 0x10, 0xb8, 0x10,
	                               0x45, 0x23, 0x01, 0x00, 4,    0,    '1',  '3',  '5',  0,
	                               0,    0,    1,    0,    0,    0,    0,    0,    0,    0,
	                               0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8,
	                               0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2,    0,    0,    0};
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.data, want, sizeof(want));
	dcerpc_buf_free(&b);
}
END_TEST

START_TEST(test_bind_nak_roundtrip)
{
	struct dcerpc_bind_nak in, out;
	memset(&in, 0, sizeof(in));
	dcerpc_hdr_init(&in.hdr, DCERPC_PKT_BIND_NAK, 3, 7);
	in.reject_reason = DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED;
	in.n_versions = 1;
	in.versions[0][0] = 5;
	struct dcerpc_buf b = {0};
	ck_assert_int_eq(dcerpc_bind_nak_push(&b, &in), 0);
	ck_assert_uint_eq(b.len, 24); /* Samba: 16 + 2 + 1 + 2 + 3 pad */
	ck_assert_int_eq(dcerpc_bind_nak_pull(b.data, b.len, &out), 0);
	ck_assert_uint_eq(out.reject_reason, 8);
	ck_assert_uint_eq(out.n_versions, 1);
	ck_assert_uint_eq(out.versions[0][0], 5);
	dcerpc_buf_free(&b);
}
END_TEST

START_TEST(test_request_response_roundtrip)
{
	for (int iter = 0; iter < 300; iter++) {
		uint8_t stub[300], tok[32];
		size_t stub_len = rnd() % sizeof(stub);
		for (size_t i = 0; i < stub_len; i++)
			stub[i] = (uint8_t)rnd();
		struct dcerpc_auth a;
		rnd_auth(&a, tok, 16);
		bool with_auth = iter % 2;
		struct dcerpc_buf b = {0};
		if (iter % 4 < 2) {
			struct dcerpc_request in, out;
			memset(&in, 0, sizeof(in));
			dcerpc_hdr_init(&in.hdr, DCERPC_PKT_REQUEST, 3, rnd());
			in.alloc_hint = rnd();
			in.context_id = (uint16_t)rnd();
			in.opnum = (uint16_t)rnd();
			in.has_object = rnd() % 2;
			in.object.time_low = rnd();
			in.stub = stub;
			in.stub_len = stub_len;
			ck_assert_int_eq(dcerpc_request_push(&b, &in, with_auth ? &a : NULL), 0);
			ck_assert_int_eq(dcerpc_request_pull(b.data, b.len, &out), 0);
			ck_assert_uint_eq(out.opnum, in.opnum);
			ck_assert_uint_eq(out.context_id, in.context_id);
			ck_assert_uint_eq(out.alloc_hint, in.alloc_hint);
			ck_assert(out.has_object == in.has_object);
			if (in.has_object)
				ck_assert_uint_eq(out.object.time_low, in.object.time_low);
			size_t pad = with_auth ? out.auth.trailer.auth_pad_length : 0;
			ck_assert_uint_eq(out.stub_len - pad, stub_len);
			ck_assert_mem_eq(out.stub, stub, stub_len);
			if (with_auth) {
				/* [MS-RPCE] 2.2.2.11: pad to 16 relative to stub start */
				ck_assert_uint_eq(out.stub_len % 16, 0);
				ck_assert_mem_eq(out.auth.token, tok, 16);
			}
		} else {
			struct dcerpc_response in, out;
			memset(&in, 0, sizeof(in));
			dcerpc_hdr_init(&in.hdr, DCERPC_PKT_RESPONSE, 3, rnd());
			in.alloc_hint = rnd();
			in.context_id = (uint16_t)rnd();
			in.cancel_count = (uint8_t)rnd();
			in.stub = stub;
			in.stub_len = stub_len;
			ck_assert_int_eq(dcerpc_response_push(&b, &in, with_auth ? &a : NULL), 0);
			ck_assert_int_eq(dcerpc_response_pull(b.data, b.len, &out), 0);
			ck_assert_uint_eq(out.context_id, in.context_id);
			ck_assert_uint_eq(out.cancel_count, in.cancel_count);
			size_t pad = with_auth ? out.auth.trailer.auth_pad_length : 0;
			ck_assert_uint_eq(out.stub_len - pad, stub_len);
			ck_assert_mem_eq(out.stub, stub, stub_len);
		}
		dcerpc_buf_free(&b);
	}
}
END_TEST

START_TEST(test_fault_and_simple_roundtrip)
{
	struct dcerpc_fault f, fo;
	memset(&f, 0, sizeof(f));
	dcerpc_hdr_init(&f.hdr, DCERPC_PKT_FAULT, 0x23, 9);
	f.alloc_hint = 24;
	f.context_id = 1;
	f.status = 0x1c010003;
	struct dcerpc_buf b = {0};
	ck_assert_int_eq(dcerpc_fault_push(&b, &f), 0);
	ck_assert_uint_eq(b.len, DCERPC_FAULT_LEN);
	ck_assert_int_eq(dcerpc_fault_pull(b.data, b.len, &fo), 0);
	ck_assert_uint_eq(fo.status, 0x1c010003);
	ck_assert_uint_eq(fo.hdr.pfc_flags, 0x23);
	check_truncations(b.data, b.len, (void *)dcerpc_fault_pull, &fo);
	dcerpc_buf_free(&b);

	uint8_t ptypes[] = {DCERPC_PKT_AUTH3, DCERPC_PKT_SHUTDOWN, DCERPC_PKT_CO_CANCEL,
	                    DCERPC_PKT_ORPHANED};
	for (unsigned i = 0; i < 4; i++) {
		struct dcerpc_simple s, so;
		memset(&s, 0, sizeof(s));
		dcerpc_hdr_init(&s.hdr, ptypes[i], 3, 5 + i);
		uint8_t tok[20];
		struct dcerpc_auth a;
		rnd_auth(&a, tok, sizeof(tok));
		bool wa = ptypes[i] == DCERPC_PKT_AUTH3;
		ck_assert_int_eq(dcerpc_simple_push(&b, &s, wa ? &a : NULL), 0);
		ck_assert_uint_eq(b.len, wa ? 16 + 4 + 8 + 20 : 16);
		ck_assert_int_eq(dcerpc_simple_pull(b.data, b.len, &so), 0);
		ck_assert_uint_eq(so.hdr.ptype, ptypes[i]);
		ck_assert(so.auth.present == wa);
		if (wa)
			ck_assert_mem_eq(so.auth.token, tok, 20);
		dcerpc_buf_free(&b);
	}
}
END_TEST

START_TEST(test_header_checks)
{
	uint8_t h[16] = {5, 0, 11, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0};
	struct dcerpc_hdr hd;
	ck_assert_int_eq(dcerpc_hdr_pull(h, 16, &hd), 0);
	ck_assert_int_eq(dcerpc_hdr_pull(h, 15, &hd), WD_ESHORT);
	h[1] = 1; /* minor 1: Samba bind_nak 4 */
	ck_assert_int_eq(dcerpc_hdr_pull(h, 16, &hd), WD_EVERSION);
	ck_assert_uint_eq(hd.call_id, 1);
	h[1] = 0;
	h[4] = 0x00; /* big-endian drep */
	ck_assert_int_eq(dcerpc_hdr_pull(h, 16, &hd), WD_EPROTO);
	h[4] = 0x10;
	h[8] = 15; /* frag_length below the header */
	ck_assert_int_eq(dcerpc_hdr_pull(h, 16, &hd), WD_EPROTO);
	h[8] = 30;
	h[10] = 10; /* auth_length + trailer > body */
	ck_assert_int_eq(dcerpc_hdr_pull(h, 16, &hd), WD_EPROTO);
}
END_TEST

/* impacket pads to 4 relative to the PDU: honour auth_pad_length ([MS-RPCE] 2.2.2.11) */
START_TEST(test_request_pad_rules)
{
	uint8_t pdu[24 + 4 + 8 + 16];
	memset(pdu, 0, sizeof(pdu));
	uint8_t h[16] = {5, 0, 0, 3, 0x10, 0, 0, 0, sizeof(pdu), 0, 16, 0, 2, 0, 0, 0};
	memcpy(pdu, h, 16);
	pdu[24 + 4] = 10; /* auth_type */
	pdu[24 + 5] = 6;
	pdu[24 + 6] = 4; /* pad 4: the whole stub is pad */
	struct dcerpc_request r;
	ck_assert_int_eq(dcerpc_request_pull(pdu, sizeof(pdu), &r), 0);
	ck_assert_uint_eq(r.stub_len, 4);
	ck_assert_uint_eq(r.auth.trailer.auth_pad_length, 4);
	pdu[24 + 6] = 5; /* more pad than stub: rejected */
	ck_assert_int_lt(dcerpc_request_pull(pdu, sizeof(pdu), &r), 0);
}
END_TEST

/* bind/alter/auth3: the pad is read as 0 but may not exceed what a request
 * header would leave (Samba's dcerpc_pull_auth_trailer, max_pad_len) */
START_TEST(test_auth3_pad_rule)
{
	uint8_t pdu[16 + 4 + 8 + 16];
	memset(pdu, 0, sizeof(pdu));
	uint8_t h[16] = {5, 0, 16, 3, 0x10, 0, 0, 0, sizeof(pdu), 0, 16, 0, 2, 0, 0, 0};
	memcpy(pdu, h, 16);
	pdu[20] = 10; /* auth_type */
	pdu[21] = 2;
	struct dcerpc_simple s;
	ck_assert_int_eq(dcerpc_simple_pull(pdu, sizeof(pdu), &s), 0);
	ck_assert(!s.auth.pad_invalid);
	pdu[22] = 1; /* 16 + 4 + 8 + 16 < 24 + 8 + 16: no room for any pad */
	ck_assert_int_eq(dcerpc_simple_pull(pdu, sizeof(pdu), &s), 0);
	ck_assert(s.auth.pad_invalid);
	ck_assert_uint_eq(s.auth.trailer.auth_pad_length, 0);
}
END_TEST

START_TEST(test_btfn)
{
	struct dcerpc_pdu_syntax s = {
	    {0x6cb71c2c, 0x9812, 0x4540, {0x03, 0x00}, {0, 0, 0, 0, 0, 0}}, 1};
	uint64_t m = 0;
	ck_assert(dcerpc_syntax_is_btfn(&s, &m));
	ck_assert_uint_eq(m, 3);
	ck_assert(!dcerpc_syntax_is_btfn(&dcerpc_ndr32_syntax, &m));
}
END_TEST

/* The VT Samba clients send on their first request ([MS-RPCE] 2.2.2.13) */
START_TEST(test_verification_trailer)
{
	uint8_t stub[8 + 4 + 4 + 4 + 40];
	size_t off = 0;
	static const uint8_t magic[8] = {0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71};
	memcpy(stub, magic, 8);
	off = 8;
	uint8_t bm[8] = {0x01, 0x00, 0x04, 0x00, 0x01, 0, 0, 0};
	memcpy(stub + off, bm, 8);
	off += 8;
	stub[off++] = 0x02;
	stub[off++] = 0x40; /* PCONTEXT | END */
	stub[off++] = 40;
	stub[off++] = 0;
	memset(stub + off, 0x11, 40);
	off += 40;
	ck_assert_uint_eq(off, sizeof(stub) - 4 + 4);
	size_t vt;
	ck_assert_int_eq(dcerpc_vt_find(stub, off, NULL, NULL, &vt), 0);
	ck_assert_uint_eq(vt, 0);
	/* behind 8 bytes of real stub */
	uint8_t big[8 + sizeof(stub)];
	memset(big, 0xaa, 8);
	memcpy(big + 8, stub, off);
	ck_assert_int_eq(dcerpc_vt_find(big, 8 + off, NULL, NULL, &vt), 0);
	ck_assert_uint_eq(vt, 8);
	/* no magic */
	memset(big, 0, sizeof(big));
	ck_assert_int_eq(dcerpc_vt_find(big, sizeof(big), NULL, NULL, &vt), WD_ENOTFOUND);
	/* magic but a lying command length */
	memcpy(big + 8, stub, off);
	big[8 + 8 + 2] = 0xff;
	ck_assert_int_eq(dcerpc_vt_find(big, 8 + off, NULL, NULL, &vt), WD_EPROTO);
}
END_TEST

/* Bytes flipped at random must never crash a pull (ASan build catches overreads). */
START_TEST(test_mutations)
{
	struct dcerpc_bind in;
	memset(&in, 0, sizeof(in));
	dcerpc_hdr_init(&in.hdr, DCERPC_PKT_BIND, 3, 1);
	in.n_ctx = 2;
	for (int i = 0; i < 2; i++) {
		in.ctx[i].n_transfer = 2;
		in.ctx[i].transfer[0] = dcerpc_ndr32_syntax;
		in.ctx[i].transfer[1] = dcerpc_ndr64_syntax;
	}
	uint8_t tok[24] = {0};
	struct dcerpc_auth a;
	rnd_auth(&a, tok, sizeof(tok));
	struct dcerpc_buf b = {0};
	ck_assert_int_eq(dcerpc_bind_push(&b, &in, &a), 0);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *m = malloc(b.len);
		memcpy(m, b.data, b.len);
		for (int k = 0; k < 3; k++)
			m[rnd() % b.len] = (uint8_t)rnd();
		size_t len = b.len - rnd() % 8;
		union {
			struct dcerpc_bind bind;
			struct dcerpc_bind_ack ack;
			struct dcerpc_request req;
			struct dcerpc_simple s;
		} u;
		(void)dcerpc_bind_pull(m, len, &u.bind);
		(void)dcerpc_bind_ack_pull(m, len, &u.ack);
		(void)dcerpc_request_pull(m, len, &u.req);
		(void)dcerpc_simple_pull(m, len, &u.s);
		free(m);
	}
	dcerpc_buf_free(&b);
}
END_TEST

int main(void)
{
	srandom(12345);
	Suite *s = suite_create("dcerpc_pdu");
	TCase *tc = tcase_create("pdu");
	tcase_add_test(tc, test_bind_roundtrip);
	tcase_add_test(tc, test_bind_ack_roundtrip);
	tcase_add_test(tc, test_bind_ack_vector);
	tcase_add_test(tc, test_bind_nak_roundtrip);
	tcase_add_test(tc, test_request_response_roundtrip);
	tcase_add_test(tc, test_fault_and_simple_roundtrip);
	tcase_add_test(tc, test_header_checks);
	tcase_add_test(tc, test_request_pad_rules);
	tcase_add_test(tc, test_auth3_pad_rule);
	tcase_add_test(tc, test_btfn);
	tcase_add_test(tc, test_verification_trailer);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
