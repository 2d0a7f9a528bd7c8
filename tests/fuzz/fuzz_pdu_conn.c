/*
 * fuzz_pdu_conn.c - libFuzzer target for the connection state machine of the
 * DCERPC server (src/dcerpc/server*.c): each input is written as a byte stream
 * on a fresh TCP connection to a server on 127.0.0.1 (real loop, real
 * socket), then the client half-closes and reads until the server closes.
 * The first byte picks how the stream is cut into writes. An echo interface
 * answers opnum 0, keeps opnum 1 pending (with a cancel callback) and makes
 * a context handle on opnum 2, so that every path a client can reach runs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "witness/dcerpc.h"
#include "witness/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static dcerpc_server_t *srv;
static uint16_t port;

static void on_cancel(dcerpc_call_t *call, void *arg, enum dcerpc_cancel_reason r)
{
}

static void on_destroy(void *data)
{
	free(data);
}

static void dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                     size_t len)
{
	if (opnum == 1) {
		dcerpc_call_set_cancel(call, on_cancel, NULL);
		return;
	}
	if (opnum == 2) {
		struct ndr_policy_handle w;
		if (dcerpc_handle_create(call, 1, malloc(8), on_destroy, NULL, &w) < 0) {
			dcerpc_call_fault(call, DCERPC_FAULT_REMOTE_NO_MEMORY);
			return;
		}
		dcerpc_call_reply(call, (const uint8_t *)&w, sizeof(w));
		return;
	}
	dcerpc_call_reply(call, stub, len);
}

/* The bind PDUs in the corpus use this abstract syntax. */
static const struct dcerpc_iface echo = {
    .name = "echo",
    .syntax = {{0x12345678, 0x1234, 0x5678, {0x9a, 0xbc}, {1, 2, 3, 4, 5, 6}}, 1, 1},
    .num_ops = 3,
    .min_auth_level = AUTH_LEVEL_NONE,
    .dispatch = dispatch,
};

static void init(void)
{
	wd_log_set_level(WD_LOG_ERR);
	uv_loop_init(&loop);
	struct dcerpc_limits l;
	dcerpc_limits_default(&l);
	l.max_request = 64 * 1024;
	dcerpc_server_new(&loop, &l, NULL, &srv);
	dcerpc_server_add_iface(srv, &echo);
	dcerpc_epm_enable(srv);
	dcerpc_mgmt_enable(srv, "cifs/FUZZ");
	struct dcerpc_syntax_id s = echo.syntax;
	dcerpc_epm_register(srv, &s, "0.0.0.0", 4242, "echo");
	if (dcerpc_server_listen(srv, "127.0.0.1", 0, &port) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		init();
	if (size < 1)
		return 0;
	size_t cut = data[0] ? data[0] : 1;
	data++;
	size--;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return 0;
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	size_t off = 0;
	uint8_t junk[4096];
	while (off < size) {
		size_t n = size - off < cut ? size - off : cut;
		ssize_t k = send(fd, data + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno != EAGAIN)
			break;
		if (k > 0)
			off += (size_t)k;
		uv_run(&loop, UV_RUN_NOWAIT);
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
	}
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 2000; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		ssize_t k = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		if (k < 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			poll(&p, 1, 1);
		}
	}
	close(fd);
	for (int i = 0; i < 4; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	return 0;
}
