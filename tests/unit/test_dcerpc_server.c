/*
 * test_dcerpc_server.c - the DCERPC server core on a real libuv loop over
 * real TCP sockets on 127.0.0.1 (ephemeral ports), with a tiny echo
 * interface defined here. The client side is blocking sockets in the same
 * thread; while it waits for bytes it turns the loop (UV_RUN_NOWAIT).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "witness/dcerpc.h"
#include "witness/err.h"
#include "witness/ndr.h"
#include "../../src/dcerpc/pdu.h"

/* ---- the echo interface ---- */

enum {
	OP_ECHO,
	OP_PENDING,
	OP_COMPLETE,
	OP_HANDLE_NEW,
	OP_HANDLE_CHECK,
	OP_HANDLE_CLOSE,
	OP_NDR_FLAGS,
	OP_N
};

static struct {
	dcerpc_call_t *pending;
	int cancels;
	enum dcerpc_cancel_reason last_reason;
	int destroyed;
	dcerpc_handle_t *last_handle;
	int observer_up, observer_down;
	char observer_ip[64];
} st;

static void on_cancel(dcerpc_call_t *call, void *arg, enum dcerpc_cancel_reason r)
{
	st.cancels++;
	st.last_reason = r;
	if (st.pending == call)
		st.pending = NULL;
}

static void on_destroy(void *data)
{
	st.destroyed++;
	free(data);
}

static void echo_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                          size_t len)
{
	switch (opnum) {
	case OP_ECHO:
		dcerpc_call_reply(call, stub, len);
		break;
	case OP_NDR_FLAGS: {
		uint8_t f = (uint8_t)dcerpc_call_ndr_flags(call);
		dcerpc_call_reply(call, &f, 1);
		break;
	}
	case OP_PENDING:
		st.pending = call;
		dcerpc_call_set_cancel(call, on_cancel, NULL);
		break;
	case OP_COMPLETE: {
		if (st.pending) {
			dcerpc_call_t *p = st.pending;
			st.pending = NULL;
			dcerpc_call_reply(p, (const uint8_t *)"done", 4);
		}
		dcerpc_call_reply(call, (const uint8_t *)"ok", 2);
		break;
	}
	case OP_HANDLE_NEW: {
		struct ndr_policy_handle w;
		ck_assert_int_eq(
		    dcerpc_handle_create(call, 7, malloc(1), on_destroy, &st.last_handle, &w), 0);
		uint8_t out[20];
		memcpy(out, &w.handle_type, 4);
		wd_guid_to_wire(&w.uuid, out + 4);
		dcerpc_call_reply(call, out, 20);
		break;
	}
	case OP_HANDLE_CHECK:
	case OP_HANDLE_CLOSE: {
		struct ndr_policy_handle w;
		if (len < 20) {
			dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
			return;
		}
		memcpy(&w.handle_type, stub, 4);
		wd_guid_from_wire(stub + 4, &w.uuid);
		dcerpc_handle_t *h;
		void *d = dcerpc_handle_lookup(call, &w, 7, &h);
		uint8_t found = d != NULL;
		if (d && opnum == OP_HANDLE_CLOSE)
			dcerpc_handle_close(h);
		dcerpc_call_reply(call, &found, 1);
		break;
	}
	}
}

static const struct dcerpc_iface echo_iface = {
    .name = "echo",
    .syntax = {{0x12345678, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1, 1},
    .num_ops = OP_N,
    .min_auth_level = AUTH_LEVEL_NONE,
    .dispatch = echo_dispatch,
};

/* the echo interface again, preferring NDR64 as the witness interface does */
static const struct dcerpc_iface echo64_iface = {
    .name = "echo64",
    .syntax = {{0x12345600, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1, 1},
    .num_ops = OP_N,
    .min_auth_level = AUTH_LEVEL_NONE,
    .prefer_ndr64 = true,
    .dispatch = echo_dispatch,
};

static const struct dcerpc_iface secure_iface = {
    .name = "secure",
    .syntax = {{0x87654321, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1, 0},
    .num_ops = 1,
    .min_auth_level = AUTH_LEVEL_INTEGRITY,
    .dispatch = echo_dispatch,
};

static const struct dcerpc_pdu_syntax echo_syntax = {
    {0x12345678, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1 | (1u << 16)};
static const struct dcerpc_pdu_syntax echo64_syntax = {
    {0x12345600, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1 | (1u << 16)};
static const struct dcerpc_pdu_syntax secure_syntax = {
    {0x87654321, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1};

/* ---- fixture ---- */

static uv_loop_t loop;
static dcerpc_server_t *srv;
static uint16_t port;
static bool closed;

static void on_observer(void *arg, bool up, const char *lip, uint16_t lport, const char *rip,
                        uint16_t rport)
{
	if (up)
		st.observer_up++;
	else
		st.observer_down++;
	snprintf(st.observer_ip, sizeof(st.observer_ip), "%s", lip);
}

static void setup_limits(const struct dcerpc_limits *l)
{
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(dcerpc_server_new(&loop, l, NULL, &srv), 0);
	ck_assert_int_eq(dcerpc_server_add_iface(srv, &echo_iface), 0);
	ck_assert_int_eq(dcerpc_server_add_iface(srv, &secure_iface), 0);
	ck_assert_int_eq(dcerpc_server_add_iface(srv, &echo64_iface), 0);
	dcerpc_server_set_conn_observer(srv, on_observer, NULL);
	ck_assert_int_eq(dcerpc_server_listen(srv, "127.0.0.1", 0, &port), 0);
	ck_assert_uint_gt(port, 0);
	closed = false;
}

static void setup(void)
{
	setup_limits(NULL);
}

static void on_closed(void *arg)
{
	closed = true;
}

static void teardown(void)
{
	dcerpc_server_close(srv, on_closed, NULL);
	for (int i = 0; i < 1000 && !closed; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert(closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void pump(int ms)
{
	uint64_t end = uv_now(&loop) + (uint64_t)ms;
	do {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(&loop);
	} while (uv_now(&loop) < end);
}

static int cli_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pump(5);
	return fd;
}

static void cli_send(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = send(fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			uv_run(&loop, UV_RUN_NOWAIT);
			continue;
		}
		ck_assert_int_gt(k, 0);
		b += k;
		n -= (size_t)k;
	}
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* Read exactly n bytes while turning the loop. 1 ok, 0 EOF, -1 timeout. */
static int cli_read(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
	size_t have = 0;
	for (int t = 0; t < timeout_ms && have < n;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		ssize_t k = recv(fd, buf + have, n - have, MSG_DONTWAIT);
		if (k == 0)
			return 0;
		if (k > 0) {
			have += (size_t)k;
			continue;
		}
		if (errno == ECONNRESET)
			return 0;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		poll(&pf, 1, 1);
		t++;
	}
	return have == n ? 1 : -1;
}

/* One PDU into buf (cap 65536). Returns its length, 0 on EOF, -1 on timeout. */
static int cli_pdu(int fd, uint8_t *buf, int timeout_ms)
{
	int rc = cli_read(fd, buf, 16, timeout_ms);
	if (rc <= 0)
		return rc;
	size_t fl = (size_t)(buf[8] | (buf[9] << 8));
	ck_assert_uint_ge(fl, 16);
	rc = cli_read(fd, buf + 16, fl - 16, timeout_ms);
	if (rc <= 0)
		return rc;
	return (int)fl;
}

/* After the server closed: EOF (or reset) within the timeout. */
static bool cli_closed(int fd)
{
	uint8_t buf[65536];
	for (;;) {
		int rc = cli_pdu(fd, buf, 2000);
		if (rc == 0)
			return true;
		if (rc < 0)
			return false;
	}
}

static void send_bind(int fd, uint8_t ptype, uint8_t pfc, uint32_t call_id, uint32_t assoc,
                      const struct dcerpc_pdu_syntax *abs, const struct dcerpc_pdu_syntax *xfer,
                      bool btfn)
{
	struct dcerpc_bind b;
	memset(&b, 0, sizeof(b));
	dcerpc_hdr_init(&b.hdr, ptype, pfc, call_id);
	b.max_xmit_frag = b.max_recv_frag = 4280;
	b.assoc_group_id = assoc;
	b.n_ctx = 1;
	b.ctx[0].context_id = 0;
	b.ctx[0].n_transfer = 1;
	b.ctx[0].abstract = *abs;
	b.ctx[0].transfer[0] = *xfer;
	if (btfn) {
		b.n_ctx = 2;
		b.ctx[1] = b.ctx[0];
		b.ctx[1].context_id = 1;
		struct dcerpc_pdu_syntax f = {
		    {0x6cb71c2c, 0x9812, 0x4540, {0x03, 0x00}, {0, 0, 0, 0, 0, 0}}, 1};
		b.ctx[1].transfer[0] = f;
	}
	struct dcerpc_buf out = {0};
	ck_assert_int_eq(dcerpc_bind_push(&out, &b, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
}

/* bind to echo (NDR32), return the assoc_group_id */
static uint32_t bind_echo(int fd, uint8_t pfc, uint32_t assoc)
{
	send_bind(fd, DCERPC_PKT_BIND, pfc, 1, assoc, &echo_syntax, &dcerpc_ndr32_syntax, false);
	uint8_t buf[65536];
	int n = cli_pdu(fd, buf, 2000);
	ck_assert_int_gt(n, 0);
	struct dcerpc_bind_ack ack;
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.hdr.ptype, DCERPC_PKT_BIND_ACK);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
	return ack.assoc_group_id;
}

static void send_request(int fd, uint32_t call_id, uint16_t ctx, uint16_t opnum,
                         const uint8_t *stub, size_t len, size_t frag_stub)
{
	struct dcerpc_buf out = {0};
	size_t off = 0;
	do {
		size_t n = len - off < frag_stub ? len - off : frag_stub;
		struct dcerpc_request r;
		memset(&r, 0, sizeof(r));
		uint8_t pfc =
		    (off == 0 ? DCERPC_PFC_FIRST : 0) | (off + n == len ? DCERPC_PFC_LAST : 0);
		dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, pfc, call_id);
		r.alloc_hint = (uint32_t)(len - off);
		r.context_id = ctx;
		r.opnum = opnum;
		r.stub = stub + off;
		r.stub_len = n;
		ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
		off += n;
	} while (off < len);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
}

/* Collect a whole (possibly fragmented) response; returns stub length. */
static size_t recv_response(int fd, uint32_t call_id, uint8_t *stub, size_t cap, int *nfrags)
{
	uint8_t buf[65536];
	size_t have = 0;
	int frags = 0;
	for (;;) {
		int n = cli_pdu(fd, buf, 3000);
		ck_assert_int_gt(n, 0);
		struct dcerpc_response r;
		ck_assert_msg(buf[2] == DCERPC_PKT_RESPONSE, "ptype %u", buf[2]);
		ck_assert_int_eq(dcerpc_response_pull(buf, (size_t)n, &r), 0);
		ck_assert_uint_eq(r.hdr.call_id, call_id);
		if (frags == 0)
			ck_assert(r.hdr.pfc_flags & DCERPC_PFC_FIRST);
		ck_assert_uint_le((size_t)n, 4280);
		ck_assert_uint_le(have + r.stub_len, cap);
		memcpy(stub + have, r.stub, r.stub_len);
		have += r.stub_len;
		frags++;
		if (r.hdr.pfc_flags & DCERPC_PFC_LAST)
			break;
	}
	if (nfrags)
		*nfrags = frags;
	return have;
}

static void expect_fault(int fd, uint32_t call_id, uint32_t status, uint8_t flag)
{
	uint8_t buf[65536];
	int n = cli_pdu(fd, buf, 2000);
	ck_assert_int_gt(n, 0);
	struct dcerpc_fault f;
	ck_assert_msg(buf[2] == DCERPC_PKT_FAULT, "ptype %u", buf[2]);
	ck_assert_int_eq(dcerpc_fault_pull(buf, (size_t)n, &f), 0);
	ck_assert_uint_eq(f.hdr.call_id, call_id);
	ck_assert_uint_eq(f.status, status);
	ck_assert_uint_eq(f.hdr.pfc_flags & DCERPC_PFC_DID_NOT_EXECUTE, flag);
}

static void echo_ok(int fd, uint32_t call_id)
{
	uint8_t out[16];
	send_request(fd, call_id, 0, OP_ECHO, (const uint8_t *)"ping", 4, 4000);
	ck_assert_uint_eq(recv_response(fd, call_id, out, sizeof(out), NULL), 4);
	ck_assert_mem_eq(out, "ping", 4);
}

/* ---- tests ---- */

START_TEST(test_bind_ack_fields)
{
	int fd = cli_connect();
	send_bind(fd, DCERPC_PKT_BIND, 3, 1, 0, &echo_syntax, &dcerpc_ndr32_syntax, false);
	uint8_t buf[65536];
	int n = cli_pdu(fd, buf, 2000);
	ck_assert_int_gt(n, 0);
	struct dcerpc_bind_ack ack;
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.hdr.pfc_flags, 3);
	ck_assert_uint_eq(ack.max_xmit_frag, 4280); /* client's, as Samba */
	ck_assert_uint_eq(ack.max_recv_frag, 4280);
	ck_assert_uint_ne(ack.assoc_group_id, 0);
	char p[8];
	snprintf(p, sizeof(p), "%u", port);
	ck_assert_str_eq(ack.sec_addr, p);
	ck_assert_uint_eq(ack.n_results, 1);
	ck_assert(dcerpc_syntax_equal(&ack.results[0].transfer, &dcerpc_ndr32_syntax));
	echo_ok(fd, 2);
	close(fd);
}
END_TEST

START_TEST(test_bind_variants)
{
	uint8_t buf[65536];
	struct dcerpc_bind_ack ack;
	/* NDR64 only: accepted with NDR64, and the call is marshalled in NDR64 */
	int fd = cli_connect();
	send_bind(fd, DCERPC_PKT_BIND, 3, 1, 0, &echo_syntax, &dcerpc_ndr64_syntax, false);
	int n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
	ck_assert(dcerpc_syntax_equal(&ack.results[0].transfer, &dcerpc_ndr64_syntax));
	uint8_t fl[4];
	send_request(fd, 2, 0, OP_NDR_FLAGS, NULL, 0, 100);
	ck_assert_uint_eq(recv_response(fd, 2, fl, sizeof(fl), NULL), 1);
	ck_assert_uint_eq(fl[0], NDR_FLAG_NDR64);
	close(fd);

	/* NDR32 and NDR64 offered: NDR32 unless the interface prefers NDR64 */
	for (int pref = 0; pref < 2; pref++) {
		fd = cli_connect();
		struct dcerpc_bind b;
		memset(&b, 0, sizeof(b));
		dcerpc_hdr_init(&b.hdr, DCERPC_PKT_BIND, 3, 1);
		b.max_xmit_frag = b.max_recv_frag = 4280;
		b.n_ctx = 1;
		b.ctx[0].n_transfer = 3;
		b.ctx[0].abstract = pref ? echo64_syntax : echo_syntax;
		b.ctx[0].transfer[0] = dcerpc_ndr32_syntax;
		b.ctx[0].transfer[1] = echo_syntax; /* not a transfer syntax: skipped */
		b.ctx[0].transfer[2] = dcerpc_ndr64_syntax;
		struct dcerpc_buf out = {0};
		ck_assert_int_eq(dcerpc_bind_push(&out, &b, NULL), 0);
		cli_send(fd, out.data, out.len);
		dcerpc_buf_free(&out);
		n = cli_pdu(fd, buf, 2000);
		ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
		ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
		ck_assert(dcerpc_syntax_equal(&ack.results[0].transfer,
		                              pref ? &dcerpc_ndr64_syntax : &dcerpc_ndr32_syntax));
		send_request(fd, 2, 0, OP_NDR_FLAGS, NULL, 0, 100);
		ck_assert_uint_eq(recv_response(fd, 2, fl, sizeof(fl), NULL), 1);
		ck_assert_uint_eq(fl[0], pref ? NDR_FLAG_NDR64 : 0);
		close(fd);
	}

	/* neither NDR32 nor NDR64: provider_rejection, transfer_syntaxes_not_supported */
	fd = cli_connect();
	send_bind(fd, DCERPC_PKT_BIND, 3, 1, 0, &echo_syntax, &echo_syntax, false);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_PROVIDER_REJECT);
	ck_assert_uint_eq(ack.results[0].reason, DCERPC_REASON_TRANSFER_NOT_SUPPORTED);
	/* the context was not accepted: a request on it is unk_if */
	send_request(fd, 2, 0, OP_ECHO, (const uint8_t *)"x", 1, 100);
	expect_fault(fd, 2, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
	close(fd);

	/* unknown abstract syntax */
	fd = cli_connect();
	struct dcerpc_pdu_syntax unk = echo_syntax;
	unk.uuid.time_low ^= 1;
	send_bind(fd, DCERPC_PKT_BIND, 3, 1, 0, &unk, &dcerpc_ndr32_syntax, false);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_PROVIDER_REJECT);
	ck_assert_uint_eq(ack.results[0].reason, DCERPC_REASON_ABSTRACT_NOT_SUPPORTED);
	/* alter_context then adds the echo context */
	send_bind(fd, DCERPC_PKT_ALTER, 3, 2, 0, &echo_syntax, &dcerpc_ndr32_syntax, false);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.hdr.ptype, DCERPC_PKT_ALTER_RESP);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
	ck_assert_uint_eq(ack.sec_addr_len, 0);
	echo_ok(fd, 3);
	close(fd);

	/* BTFN (Samba python sends bitmask 0x03): negotiate_ack, reason 0x03;
	 * CONC_MPX and header-sign flags echoed */
	fd = cli_connect();
	send_bind(fd, DCERPC_PKT_BIND, 0x17, 1, 0, &echo_syntax, &dcerpc_ndr32_syntax, true);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.hdr.pfc_flags, 0x17);
	ck_assert_uint_eq(ack.n_results, 2);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
	ck_assert_uint_eq(ack.results[1].result, DCERPC_RESULT_NEGOTIATE_ACK);
	/* security context multiplexing and keep-on-orphan ([MS-RPCE] 2.2.2.14) */
	ck_assert_uint_eq(ack.results[1].reason, 0x03);
	close(fd);

	/* version 5.1 bind: bind_nak 4, then close */
	fd = cli_connect();
	uint8_t bad[72];
	struct dcerpc_buf out = {0};
	struct dcerpc_bind b;
	memset(&b, 0, sizeof(b));
	dcerpc_hdr_init(&b.hdr, DCERPC_PKT_BIND, 3, 9);
	b.n_ctx = 1;
	b.ctx[0].n_transfer = 1;
	b.ctx[0].abstract = echo_syntax;
	b.ctx[0].transfer[0] = dcerpc_ndr32_syntax;
	ck_assert_int_eq(dcerpc_bind_push(&out, &b, NULL), 0);
	ck_assert_uint_eq(out.len, sizeof(bad));
	memcpy(bad, out.data, out.len);
	dcerpc_buf_free(&out);
	bad[1] = 1;
	cli_send(fd, bad, sizeof(bad));
	n = cli_pdu(fd, buf, 2000);
	struct dcerpc_bind_nak nak;
	ck_assert_int_eq(dcerpc_bind_nak_pull(buf, (size_t)n, &nak), 0);
	ck_assert_uint_eq(nak.reject_reason, DCERPC_NAK_PROTOCOL_VERSION);
	ck_assert(cli_closed(fd));
	close(fd);

	/* a bind carrying auth with no auth server: bind_nak 8 */
	fd = cli_connect();
	memset(&b, 0, sizeof(b));
	dcerpc_hdr_init(&b.hdr, DCERPC_PKT_BIND, 7, 1);
	b.max_xmit_frag = b.max_recv_frag = 5840;
	b.n_ctx = 1;
	b.ctx[0].n_transfer = 1;
	b.ctx[0].abstract = echo_syntax;
	b.ctx[0].transfer[0] = dcerpc_ndr32_syntax;
	struct dcerpc_auth a;
	memset(&a, 0, sizeof(a));
	a.trailer.auth_type = 10;
	a.trailer.auth_level = 5;
	a.token = (const uint8_t *)"NTLMSSP\0\1\0\0\0";
	a.token_len = 12;
	ck_assert_int_eq(dcerpc_bind_push(&out, &b, &a), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_nak_pull(buf, (size_t)n, &nak), 0);
	ck_assert_uint_eq(nak.reject_reason, DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED);
	close(fd);
}
END_TEST

START_TEST(test_fragmentation_both_ways)
{
	int fd = cli_connect();
	bind_echo(fd, 3, 0);
	size_t len = 16000; /* below the cap for a peer without auth (16 KiB) */
	uint8_t *stub = malloc(len), *back = malloc(len + 16);
	for (size_t i = 0; i < len; i++)
		stub[i] = (uint8_t)(i * 7);
	send_request(fd, 5, 0, OP_ECHO, stub, len, 1000); /* 16 request fragments */
	int frags = 0;
	ck_assert_uint_eq(recv_response(fd, 5, back, len + 16, &frags), len);
	ck_assert_mem_eq(back, stub, len);
	ck_assert_int_ge(frags, 4); /* 4280-byte fragments */
	/* empty stub, alloc_hint 0 ([MS-RPCE] 2.2.2.6) */
	send_request(fd, 6, 0, OP_ECHO, stub, 0, 1000);
	ck_assert_uint_eq(recv_response(fd, 6, back, len, NULL), 0);
	free(stub);
	free(back);
	close(fd);
}
END_TEST

START_TEST(test_conc_mpx_pending)
{
	int fd = cli_connect();
	bind_echo(fd, 0x13, 0);
	send_request(fd, 10, 0, OP_PENDING, NULL, 0, 100);
	pump(10);
	ck_assert_ptr_nonnull(st.pending);
	struct dcerpc_stats s;
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_eq(s.calls_pending, 1);
	/* other calls run while the first one is pending */
	echo_ok(fd, 11);
	echo_ok(fd, 12);
	send_request(fd, 13, 0, OP_COMPLETE, NULL, 0, 100);
	uint8_t out[16];
	/* the pending call's answer comes first, then the completing call's */
	ck_assert_uint_eq(recv_response(fd, 10, out, sizeof(out), NULL), 4);
	ck_assert_mem_eq(out, "done", 4);
	ck_assert_uint_eq(recv_response(fd, 13, out, sizeof(out), NULL), 2);
	close(fd);
}
END_TEST

START_TEST(test_no_mpx_second_call_faults)
{
	int fd = cli_connect();
	bind_echo(fd, 3, 0);
	send_request(fd, 10, 0, OP_PENDING, NULL, 0, 100);
	pump(10);
	ck_assert_ptr_nonnull(st.pending);
	send_request(fd, 11, 0, OP_ECHO, (const uint8_t *)"x", 1, 100);
	/* Samba: proto_error without did_not_execute, then disconnect */
	expect_fault(fd, 11, DCERPC_FAULT_PROTO_ERROR, 0);
	ck_assert(cli_closed(fd));
	/* the pending call was cancelled with CLOSED */
	ck_assert_int_eq(st.cancels, 1);
	ck_assert_int_eq(st.last_reason, DCERPC_CANCEL_CLOSED);
	close(fd);
}
END_TEST

START_TEST(test_cancel_and_orphaned)
{
	int fd = cli_connect();
	bind_echo(fd, 0x13, 0);
	send_request(fd, 20, 0, OP_PENDING, NULL, 0, 100);
	pump(10);
	ck_assert_ptr_nonnull(st.pending);
	struct dcerpc_simple c;
	memset(&c, 0, sizeof(c));
	dcerpc_hdr_init(&c.hdr, DCERPC_PKT_CO_CANCEL, 3, 20);
	struct dcerpc_buf out = {0};
	ck_assert_int_eq(dcerpc_simple_push(&out, &c, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	expect_fault(fd, 20, DCERPC_FAULT_CANCEL, 0);
	ck_assert_int_eq(st.cancels, 1);
	ck_assert_int_eq(st.last_reason, DCERPC_CANCEL_CO_CANCEL);
	ck_assert_ptr_null(st.pending);

	/* orphaned: cancel callback, no answer, connection stays */
	send_request(fd, 21, 0, OP_PENDING, NULL, 0, 100);
	pump(10);
	dcerpc_hdr_init(&c.hdr, DCERPC_PKT_ORPHANED, 3, 21);
	ck_assert_int_eq(dcerpc_simple_push(&out, &c, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	pump(10);
	ck_assert_int_eq(st.cancels, 2);
	ck_assert_int_eq(st.last_reason, DCERPC_CANCEL_ORPHANED);
	echo_ok(fd, 22); /* the next PDU is the echo answer, not a fault */
	struct dcerpc_stats s;
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_eq(s.calls_pending, 0);
	close(fd);
}
END_TEST

START_TEST(test_assoc_groups_and_handles)
{
	int a = cli_connect();
	uint32_t gid = bind_echo(a, 3, 0);
	send_request(a, 2, 0, OP_HANDLE_NEW, NULL, 0, 100);
	uint8_t h[20], r[4];
	ck_assert_uint_eq(recv_response(a, 2, h, sizeof(h), NULL), 20);
	/* a second connection joins the association and sees the handle */
	int b = cli_connect();
	ck_assert_uint_eq(bind_echo(b, 3, gid), gid);
	send_request(b, 2, 0, OP_HANDLE_CHECK, h, 20, 100);
	ck_assert_uint_eq(recv_response(b, 2, r, sizeof(r), NULL), 1);
	ck_assert_uint_eq(r[0], 1);
	/* a third, fresh association does not */
	int c = cli_connect();
	ck_assert_uint_ne(bind_echo(c, 3, 0), gid);
	send_request(c, 2, 0, OP_HANDLE_CHECK, h, 20, 100);
	ck_assert_uint_eq(recv_response(c, 2, r, sizeof(r), NULL), 1);
	ck_assert_uint_eq(r[0], 0);
	close(c);
	/* the group lives while one connection does */
	close(a);
	pump(30);
	ck_assert_int_eq(st.destroyed, 0);
	send_request(b, 3, 0, OP_HANDLE_CHECK, h, 20, 100);
	ck_assert_uint_eq(recv_response(b, 3, r, sizeof(r), NULL), 1);
	ck_assert_uint_eq(r[0], 1);
	close(b);
	pump(30);
	ck_assert_int_eq(st.destroyed, 1);
	struct dcerpc_stats s;
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_eq(s.assoc_groups, 0);
	ck_assert_uint_eq(s.connections_open, 0);
	/* group ids are random: nonzero, distinct, neither sequential nor close */
	uint32_t ids[8], lo = UINT32_MAX, hi = 0;
	int fds[8];
	for (int i = 0; i < 8; i++) {
		fds[i] = cli_connect();
		ids[i] = bind_echo(fds[i], 3, 0);
		ck_assert_uint_ne(ids[i], 0);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
		lo = ids[i] < lo ? ids[i] : lo;
		hi = ids[i] > hi ? ids[i] : hi;
	}
	ck_assert_uint_gt(hi - lo, 1u << 20);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	pump(30);
	/* an unknown group: bind_nak */
	int d = cli_connect();
	send_bind(d, DCERPC_PKT_BIND, 3, 1, gid, &echo_syntax, &dcerpc_ndr32_syntax, false);
	uint8_t buf[65536];
	int n = cli_pdu(d, buf, 2000);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(buf[2], DCERPC_PKT_BIND_NAK);
	close(d);
}
END_TEST

/*
 * Handles are found in the server's table by uuid (past its first doubling
 * at 64): each of 2 x 100 handles is found in its own association only, one
 * closed is gone and its neighbours stay.
 */
START_TEST(test_handle_table_many)
{
	enum { N = 100 };
	static uint8_t h[2][N][20];
	int fd[2];
	uint32_t call = 2;
	uint8_t r[4];

	for (int g = 0; g < 2; g++) {
		fd[g] = cli_connect();
		bind_echo(fd[g], 3, 0);
		for (int i = 0; i < N; i++) {
			send_request(fd[g], call, 0, OP_HANDLE_NEW, NULL, 0, 100);
			ck_assert_uint_eq(recv_response(fd[g], call++, h[g][i], 20, NULL), 20);
		}
	}
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < N; i += 7)
			for (int from = 0; from < 2; from++) {
				send_request(fd[from], call, 0, OP_HANDLE_CHECK, h[g][i], 20, 100);
				ck_assert_uint_eq(
				    recv_response(fd[from], call++, r, sizeof(r), NULL), 1);
				ck_assert_uint_eq(r[0], from == g);
			}
	send_request(fd[0], call, 0, OP_HANDLE_CLOSE, h[0][50], 20, 100);
	ck_assert_uint_eq(recv_response(fd[0], call++, r, sizeof(r), NULL), 1);
	ck_assert_uint_eq(r[0], 1);
	for (int i = 49; i <= 51; i++) {
		send_request(fd[0], call, 0, OP_HANDLE_CHECK, h[0][i], 20, 100);
		ck_assert_uint_eq(recv_response(fd[0], call++, r, sizeof(r), NULL), 1);
		ck_assert_uint_eq(r[0], i != 50);
	}
	close(fd[0]);
	close(fd[1]);
	pump(30);
	ck_assert_int_eq(st.destroyed, 2 * N);
}
END_TEST

START_TEST(test_handle_close_explicit)
{
	int a = cli_connect();
	bind_echo(a, 3, 0);
	uint8_t h[20], r[4];
	send_request(a, 2, 0, OP_HANDLE_NEW, NULL, 0, 100);
	ck_assert_uint_eq(recv_response(a, 2, h, sizeof(h), NULL), 20);
	send_request(a, 3, 0, OP_HANDLE_CLOSE, h, 20, 100);
	ck_assert_uint_eq(recv_response(a, 3, r, sizeof(r), NULL), 1);
	ck_assert_int_eq(st.destroyed, 1);
	send_request(a, 4, 0, OP_HANDLE_CHECK, h, 20, 100);
	ck_assert_uint_eq(recv_response(a, 4, r, sizeof(r), NULL), 1);
	ck_assert_uint_eq(r[0], 0);
	close(a);
	pump(20);
	ck_assert_int_eq(st.destroyed, 1);
}
END_TEST

START_TEST(test_bad_requests)
{
	/* request before bind: proto_error and close */
	int fd = cli_connect();
	send_request(fd, 1, 0, OP_ECHO, (const uint8_t *)"x", 1, 100);
	expect_fault(fd, 1, DCERPC_FAULT_PROTO_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
	ck_assert(cli_closed(fd));
	close(fd);

	fd = cli_connect();
	bind_echo(fd, 3, 0);
	/* unknown context: unk_if, connection stays */
	send_request(fd, 2, 5, OP_ECHO, (const uint8_t *)"x", 1, 100);
	expect_fault(fd, 2, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
	/* unknown opnum */
	send_request(fd, 3, 0, 99, (const uint8_t *)"x", 1, 100);
	expect_fault(fd, 3, DCERPC_FAULT_OP_RNG_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
	/* fragmented call on an unknown context: the rest is dropped quietly */
	uint8_t big[3000] = {0};
	send_request(fd, 4, 5, OP_ECHO, big, sizeof(big), 1000);
	expect_fault(fd, 4, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
	echo_ok(fd, 5);
	/* a middle fragment out of nowhere: proto_error and close */
	struct dcerpc_request r;
	memset(&r, 0, sizeof(r));
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, DCERPC_PFC_LAST, 6);
	struct dcerpc_buf out = {0};
	ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	expect_fault(fd, 6, DCERPC_FAULT_PROTO_ERROR, 0);
	ck_assert(cli_closed(fd));
	close(fd);

	/* unknown ptype 7 */
	fd = cli_connect();
	uint8_t h[16] = {5, 0, 7, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 8, 0, 0, 0};
	cli_send(fd, h, 16);
	expect_fault(fd, 8, DCERPC_FAULT_PROTO_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
	ck_assert(cli_closed(fd));
	close(fd);

	/* not DCERPC at all: closed */
	fd = cli_connect();
	cli_send(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	ck_assert(cli_closed(fd));
	close(fd);

	/* iface requiring integrity on an anonymous connection: access denied */
	fd = cli_connect();
	send_bind(fd, DCERPC_PKT_BIND, 3, 1, 0, &secure_syntax, &dcerpc_ndr32_syntax, false);
	uint8_t buf[65536];
	ck_assert_int_gt(cli_pdu(fd, buf, 2000), 0);
	send_request(fd, 2, 0, 0, (const uint8_t *)"x", 1, 100);
	expect_fault(fd, 2, DCERPC_FAULT_ACCESS_DENIED, DCERPC_PFC_DID_NOT_EXECUTE);
	close(fd);

	/* a verification trailer is stripped before dispatch */
	fd = cli_connect();
	bind_echo(fd, 3, 0);
	uint8_t vt[4 + 8 + 8] = {'a',  'b',  'c',  'd',  0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4,
	                         0x36, 0x71, 0x01, 0x40, 0x04, 0x00, 0x01, 0,    0,    0};
	send_request(fd, 7, 0, OP_ECHO, vt, sizeof(vt), 100);
	uint8_t back[64];
	ck_assert_uint_eq(recv_response(fd, 7, back, sizeof(back), NULL), 4);
	ck_assert_mem_eq(back, "abcd", 4);
	/* a PCONTEXT command naming another interface: fault 5 (Samba) */
	uint8_t vt2[8 + 4 + 40];
	memcpy(vt2, vt + 4, 8);
	vt2[8] = 0x02;
	vt2[9] = 0x40;
	vt2[10] = 40;
	vt2[11] = 0;
	wd_guid_to_wire(&secure_syntax.uuid, vt2 + 12);
	memset(vt2 + 28, 0, 4);
	wd_guid_to_wire(&dcerpc_ndr32_syntax.uuid, vt2 + 32);
	vt2[48] = 2;
	vt2[49] = vt2[50] = vt2[51] = 0;
	send_request(fd, 8, 0, OP_ECHO, vt2, sizeof(vt2), 100);
	expect_fault(fd, 8, DCERPC_FAULT_ACCESS_DENIED, DCERPC_PFC_DID_NOT_EXECUTE);
	/* the same naming echo v1.1 as proposed: accepted and stripped */
	wd_guid_to_wire(&echo_syntax.uuid, vt2 + 12);
	vt2[28] = 1;
	vt2[30] = 1;
	send_request(fd, 9, 0, OP_ECHO, vt2, sizeof(vt2), 100);
	ck_assert_uint_eq(recv_response(fd, 9, back, sizeof(back), NULL), 0);
	close(fd);

	struct dcerpc_stats s;
	pump(20);
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_ge(s.protocol_errors, 4);
	ck_assert_uint_ge(s.faults_total, 7);
}
END_TEST

START_TEST(test_limits)
{
	teardown();
	struct dcerpc_limits l;
	dcerpc_limits_default(&l);
	l.max_connections_per_ip = 2;
	l.max_request = 8000;
	l.max_pending_calls = 2;
	setup_limits(&l);
	int a = cli_connect(), b = cli_connect(), c = cli_connect();
	ck_assert(cli_closed(c)); /* third from 127.0.0.1: closed at once */
	close(c);
	bind_echo(a, 0x13, 0);
	/* reassembled request above max_request: fault 5 and close */
	uint8_t *big = calloc(1, 9000);
	send_request(a, 2, 0, OP_ECHO, big, 9000, 2000);
	expect_fault(a, 2, DCERPC_FAULT_ACCESS_DENIED, 0);
	ck_assert(cli_closed(a));
	close(a);
	/* a request fragment above 5840: proto_error and close */
	bind_echo(b, 0x13, 0);
	struct dcerpc_request r;
	memset(&r, 0, sizeof(r));
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, 3, 3);
	r.stub = big;
	r.stub_len = 6000;
	struct dcerpc_buf out = {0};
	ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
	cli_send(b, out.data, out.len);
	dcerpc_buf_free(&out);
	expect_fault(b, 3, DCERPC_FAULT_PROTO_ERROR, 0);
	ck_assert(cli_closed(b));
	close(b);
	free(big);
	/* pending calls per connection */
	int d = cli_connect();
	bind_echo(d, 0x13, 0);
	send_request(d, 1, 0, OP_PENDING, NULL, 0, 100);
	send_request(d, 2, 0, OP_PENDING, NULL, 0, 100);
	send_request(d, 3, 0, OP_PENDING, NULL, 0, 100);
	expect_fault(d, 3, DCERPC_FAULT_CANT_PERFORM, DCERPC_PFC_DID_NOT_EXECUTE);
	close(d);
	pump(20);
	ck_assert_int_eq(st.cancels, 2);
}
END_TEST

START_TEST(test_observer_and_drop_ip)
{
	int a = cli_connect();
	bind_echo(a, 0x13, 0);
	send_request(a, 2, 0, OP_PENDING, NULL, 0, 100);
	pump(10);
	ck_assert_int_eq(st.observer_up, 1);
	ck_assert_str_eq(st.observer_ip, "127.0.0.1");
	ck_assert_uint_eq(dcerpc_server_drop_local_ip(srv, "127.0.0.2"), 0);
	ck_assert_uint_eq(dcerpc_server_drop_local_ip(srv, "127.0.0.1"), 1);
	ck_assert_int_eq(st.observer_down, 1);
	ck_assert_int_eq(st.cancels, 1);
	ck_assert_int_eq(st.last_reason, DCERPC_CANCEL_CLOSED);
	ck_assert(cli_closed(a));
	close(a);
}
END_TEST

/* Garbage of every kind, then a healthy client is still served. */
START_TEST(test_garbage_keeps_serving)
{
	srandom(7);
	for (int i = 0; i < 200; i++) {
		int fd = cli_connect();
		uint8_t junk[300];
		for (size_t k = 0; k < sizeof(junk); k++)
			junk[k] = (uint8_t)random();
		junk[0] = 5;
		junk[1] = 0;
		junk[4] = 0x10;
		junk[5] = junk[6] = junk[7] = 0;
		size_t n = 16 + (size_t)random() % 284;
		junk[8] = (uint8_t)n;
		junk[9] = (uint8_t)(n >> 8);
		if (i % 2)
			junk[10] = junk[11] = 0;
		cli_send(fd, junk, n);
		pump(1);
		close(fd);
	}
	pump(50);
	int fd = cli_connect();
	bind_echo(fd, 3, 0);
	echo_ok(fd, 2);
	close(fd);
}
END_TEST

/* Samba/Windows rules checked by Samba's raw protocol tests */
START_TEST(test_samba_rules)
{
	uint8_t buf[65536];
	struct dcerpc_bind_ack ack;
	/* one context accepted per bind: a second valid one gets (2,2) */
	int fd = cli_connect();
	struct dcerpc_bind b;
	memset(&b, 0, sizeof(b));
	dcerpc_hdr_init(&b.hdr, DCERPC_PKT_BIND, 3, 1);
	b.max_xmit_frag = b.max_recv_frag = 5840;
	b.n_ctx = 2;
	for (int i = 0; i < 2; i++) {
		b.ctx[i].context_id = (uint16_t)i;
		b.ctx[i].n_transfer = 1;
		b.ctx[i].abstract = echo_syntax;
		b.ctx[i].transfer[0] = dcerpc_ndr32_syntax;
	}
	struct dcerpc_buf out = {0};
	ck_assert_int_eq(dcerpc_bind_push(&out, &b, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	int n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.results[0].result, DCERPC_RESULT_ACCEPT);
	ck_assert_uint_eq(ack.results[1].result, DCERPC_RESULT_PROVIDER_REJECT);
	ck_assert_uint_eq(ack.results[1].reason, DCERPC_REASON_TRANSFER_NOT_SUPPORTED);
	/* alter_resp echoes SUPPORT_HEADER_SIGN, not CONC_MPX */
	send_bind(fd, DCERPC_PKT_ALTER, 0x17, 2, 0, &echo_syntax, &dcerpc_ndr32_syntax, false);
	n = cli_pdu(fd, buf, 2000);
	ck_assert_int_eq(dcerpc_bind_ack_pull(buf, (size_t)n, &ack), 0);
	ck_assert_uint_eq(ack.hdr.pfc_flags, 0x07);
	/* co_cancel while the request is still arriving: ignored, the call runs */
	uint8_t stub[3000];
	memset(stub, 0x5a, sizeof(stub));
	struct dcerpc_request r;
	memset(&r, 0, sizeof(r));
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, DCERPC_PFC_FIRST, 3);
	r.stub = stub;
	r.stub_len = 1500;
	ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
	struct dcerpc_simple cc;
	memset(&cc, 0, sizeof(cc));
	dcerpc_hdr_init(&cc.hdr, DCERPC_PKT_CO_CANCEL, 3, 3);
	ck_assert_int_eq(dcerpc_simple_push(&out, &cc, NULL), 0);
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, DCERPC_PFC_LAST, 3);
	r.stub = stub + 1500;
	ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	uint8_t back[4000];
	ck_assert_uint_eq(recv_response(fd, 3, back, sizeof(back), NULL), sizeof(stub));
	ck_assert_mem_eq(back, stub, sizeof(stub));
	/* a first fragment that is already cancelled: no_call_active, close */
	memset(&r, 0, sizeof(r));
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, 3 | DCERPC_PFC_PENDING_CANCEL, 4);
	ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
	cli_send(fd, out.data, out.len);
	dcerpc_buf_free(&out);
	expect_fault(fd, 4, DCERPC_FAULT_NO_CALL_ACTIVE, DCERPC_PFC_DID_NOT_EXECUTE);
	ck_assert(cli_closed(fd));
	close(fd);
}
END_TEST

/* Slow clients: a half-sent fragment and a connection that never binds are
 * closed after their timeouts; a bound idle connection is kept. */
START_TEST(test_slow_clients)
{
	teardown();
	struct dcerpc_limits l;
	dcerpc_limits_default(&l);
	l.frag_timeout_ms = 200;
	l.bind_timeout_ms = 400;
	setup_limits(&l);
	int idle = cli_connect();
	bind_echo(idle, 3, 0);
	int slow = cli_connect();
	uint8_t h[20] = {5, 0, 11, 3, 0x10, 0, 0,    0,    72,   0,
	                 0, 0, 1,  0, 0,    0, 0xb8, 0x10, 0xb8, 0x10};
	cli_send(slow, h, sizeof(h)); /* 20 of 72 bytes */
	int mute = cli_connect();
	pump(300);
	ck_assert(cli_closed(slow));
	pump(400);
	ck_assert(cli_closed(mute));
	echo_ok(idle, 2);
	struct dcerpc_stats s;
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_eq(s.connections_open, 1);
	close(slow);
	close(mute);
	close(idle);
}
END_TEST

/* Request fragments of stub_len bytes each, the first with PFC_FIRST, none
 * with PFC_LAST: a request that is started and never finished. */
static void send_unfinished(int fd, uint32_t call_id, int nfrags, size_t stub_len)
{
	uint8_t *stub = calloc(1, stub_len);
	for (int i = 0; i < nfrags; i++) {
		struct dcerpc_request r;
		memset(&r, 0, sizeof(r));
		dcerpc_hdr_init(&r.hdr, DCERPC_PKT_REQUEST, i == 0 ? DCERPC_PFC_FIRST : 0, call_id);
		r.opnum = OP_ECHO;
		r.stub = stub;
		r.stub_len = stub_len;
		struct dcerpc_buf out = {0};
		ck_assert_int_eq(dcerpc_request_push(&out, &r, NULL), 0);
		cli_send(fd, out.data, out.len);
		dcerpc_buf_free(&out);
	}
	free(stub);
}

/*
 * What an anonymous peer can make the server hold: a request above
 * max_request_unauth is refused even though max_request is larger; a request
 * left unfinished is cut after request_timeout_ms; and when all the peers
 * together hold max_buffer_memory, the oldest holder is cut, the newcomer is
 * served and every byte is given back.
 */
START_TEST(test_unauth_budget)
{
	teardown();
	struct dcerpc_limits l;
	dcerpc_limits_default(&l);
	l.max_request = 1u << 20;
	l.max_request_unauth = 8192;
	l.request_timeout_ms = 300;
	l.max_buffer_memory = 24 * 1024;
	setup_limits(&l);
	struct dcerpc_stats s;

	int big = cli_connect();
	bind_echo(big, 3, 0);
	send_unfinished(big, 2, 3, 4000); /* 12000 > 8192 */
	expect_fault(big, 2, DCERPC_FAULT_ACCESS_DENIED, 0);
	ck_assert(cli_closed(big));
	close(big);

	/* two holders of ~8 KiB each fit; the third cuts the oldest */
	int a = cli_connect(), b = cli_connect(), c = cli_connect();
	bind_echo(a, 3, 0);
	bind_echo(b, 3, 0);
	bind_echo(c, 3, 0);
	send_unfinished(a, 7, 2, 3500);
	pump(20);
	send_unfinished(b, 7, 2, 3500);
	pump(20);
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_eq(s.budget_cuts, 0);
	ck_assert_uint_ge(s.buffer_bytes, 14000);
	send_unfinished(c, 7, 2, 3500);
	pump(20);
	ck_assert(cli_closed(a));
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_ge(s.budget_cuts, 1);
	ck_assert_uint_le(s.buffer_bytes, l.max_buffer_memory);
	ck_assert_uint_le(s.buffer_peak, l.max_buffer_memory);

	/* a good client is served meanwhile */
	int good = cli_connect();
	bind_echo(good, 3, 0);
	echo_ok(good, 3);

	/* the unfinished requests of b and c time out */
	pump(700);
	ck_assert(cli_closed(b));
	ck_assert(cli_closed(c));
	dcerpc_server_stats(srv, &s);
	ck_assert_uint_ge(s.request_timeouts, 1);
	ck_assert_uint_eq(s.buffer_bytes, 0);
	echo_ok(good, 4);
	close(a);
	close(b);
	close(c);
	close(good);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcerpc_server");
	TCase *tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bind_ack_fields);
	tcase_add_test(tc, test_bind_variants);
	tcase_add_test(tc, test_fragmentation_both_ways);
	tcase_add_test(tc, test_unauth_budget);
	tcase_add_test(tc, test_conc_mpx_pending);
	tcase_add_test(tc, test_no_mpx_second_call_faults);
	tcase_add_test(tc, test_cancel_and_orphaned);
	tcase_add_test(tc, test_assoc_groups_and_handles);
	tcase_add_test(tc, test_handle_close_explicit);
	tcase_add_test(tc, test_handle_table_many);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_observer_and_drop_ip);
	tcase_add_test(tc, test_garbage_keeps_serving);
	tcase_add_test(tc, test_samba_rules);
	tcase_add_test(tc, test_slow_clients);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
