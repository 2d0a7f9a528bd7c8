/*
 * fixed_server.c - witnessd-fixed-server: the loopback limit for the load
 * generator. A minimal witness endpoint on one libuv loop that answers the
 * PDUs the generator sends with bytes built once at start: bind -> bind_ack,
 * GetInterfaceList -> one interface, RegisterEx -> a counter handle,
 * AsyncNotify -> parked. A line on its admin socket (the generator's
 * `ip-set` JSON) with "available":false writes the fixed RESOURCE_CHANGE
 * UNAVAILABLE to every parked call in one go; anything else is answered
 * {"ok":true}. Unauthenticated binds only; no validation beyond framing: it
 * is a measuring stick, not a server.
 *
 *   witnessd-fixed-server --port P --admin-socket PATH [--ip IP] [--listen ADDR]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "../src/dcerpc/pdu.h"
#include "witness/ndr.h"
#include "witness/ndr_witness.h"

struct fconn {
	uv_tcp_t tcp;
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint32_t parked_call; /* 0: none */
	struct fconn *next, *prev;
	bool parked_linked;
};

static uv_loop_t *loop;
static struct dcerpc_buf bind_ack, gil, reg, notify;
static struct fconn *parked;
static uint32_t handle_counter;
static uv_pipe_t admin;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static void on_written(uv_write_t *w, int st)
{
	free(w);
}

/* Writes a copy of tmpl with call_id patched. */
static void send_tmpl(struct fconn *c, const struct dcerpc_buf *tmpl, uint32_t call_id)
{
	uv_write_t *w = malloc(sizeof(*w) + tmpl->len);
	uint8_t *p = (uint8_t *)(w + 1);
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)tmpl->len);

	memcpy(p, tmpl->data, tmpl->len);
	put32(p + 12, call_id);
	uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static void unpark(struct fconn *c)
{
	if (!c->parked_linked)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		parked = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	c->parked_linked = false;
}

static void closed(uv_handle_t *h)
{
	struct fconn *c = h->data;

	free(c->rbuf);
	free(c);
}

static void conn_close(struct fconn *c)
{
	unpark(c);
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, closed);
}

static void on_frag(struct fconn *c, const uint8_t *p, size_t len)
{
	uint32_t call_id = p[12] | p[13] << 8 | p[14] << 16 | (uint32_t)p[15] << 24;

	if (p[2] == DCERPC_PKT_BIND) {
		send_tmpl(c, &bind_ack, call_id);
	} else if (p[2] == DCERPC_PKT_REQUEST && len >= 24) {
		uint16_t opnum = p[22] | p[23] << 8;

		if (opnum == WITNESS_OP_GET_INTERFACE_LIST) {
			send_tmpl(c, &gil, call_id);
		} else if (opnum == WITNESS_OP_REGISTER_EX) {
			/* the handle's uuid.time_low counts up */
			uint8_t *q = malloc(reg.len);
			struct dcerpc_buf t = {q, reg.len, reg.len};
			memcpy(q, reg.data, reg.len);
			put32(q + 24 + 4, ++handle_counter);
			send_tmpl(c, &t, call_id);
			free(q);
		} else if (opnum == WITNESS_OP_ASYNC_NOTIFY) {
			c->parked_call = call_id;
			if (!c->parked_linked) {
				c->next = parked;
				if (parked)
					parked->prev = c;
				parked = c;
				c->parked_linked = true;
			}
		} else {
			conn_close(c);
		}
	}
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct fconn *c = h->data;

	if (c->rcap - c->rlen < 2048) {
		c->rcap = c->rcap ? c->rcap * 2 : 4096;
		c->rbuf = realloc(c->rbuf, c->rcap);
	}
	*b = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fconn *c = s->data;
	size_t off = 0;

	if (n < 0) {
		conn_close(c);
		return;
	}
	c->rlen += (size_t)n;
	while (c->rlen - off >= 16) {
		size_t fl = c->rbuf[off + 8] | c->rbuf[off + 9] << 8;
		if (fl < 16) {
			conn_close(c);
			return;
		}
		if (c->rlen - off < fl)
			break;
		on_frag(c, c->rbuf + off, fl);
		off += fl;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

static void on_conn(uv_stream_t *srv, int st)
{
	struct fconn *c = calloc(1, sizeof(*c));

	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ---- admin ---- */

struct aconn {
	uv_pipe_t pipe;
	char buf[512];
	size_t len;
};

static void a_closed(uv_handle_t *h)
{
	free(h->data);
}

static void a_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct aconn *a = h->data;

	*b = uv_buf_init(a->buf + a->len, (unsigned)(sizeof(a->buf) - 1 - a->len));
}

static void a_written(uv_write_t *w, int st)
{
	free(w);
}

static void a_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct aconn *a = s->data;
	static char ok[] = "{\"ok\":true,\"result\":{}}\n";

	if (n < 0 || a->len + (size_t)n >= sizeof(a->buf) - 1) {
		uv_close((uv_handle_t *)&a->pipe, a_closed);
		return;
	}
	a->len += (size_t)n;
	a->buf[a->len] = 0;
	if (strchr(a->buf, '\n') == NULL)
		return;
	if (strstr(a->buf, "\"available\":false") != NULL) {
		/* every parked call at once: the limit does nothing else */
		while (parked != NULL) {
			struct fconn *c = parked;
			unpark(c);
			send_tmpl(c, &notify, c->parked_call);
			c->parked_call = 0;
		}
	}
	uv_write_t *w = malloc(sizeof(*w));
	uv_buf_t ob = uv_buf_init(ok, sizeof(ok) - 1);
	uv_write(w, s, &ob, 1, a_written);
	a->len = 0;
}

static void on_admin(uv_stream_t *srv, int st)
{
	struct aconn *a = calloc(1, sizeof(*a));

	uv_pipe_init(loop, &a->pipe, 0);
	a->pipe.data = a;
	if (uv_accept(srv, (uv_stream_t *)&a->pipe) != 0) {
		uv_close((uv_handle_t *)&a->pipe, a_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&a->pipe, a_alloc, a_read);
}

/* ---- templates ---- */

static void response_tmpl(struct dcerpc_buf *out, struct ndr_push *p)
{
	struct dcerpc_response r;

	if (ndr_push_finish(p) != 0)
		exit(1);
	memset(&r, 0, sizeof(r));
	dcerpc_hdr_init(&r.hdr, DCERPC_PKT_RESPONSE, DCERPC_PFC_FIRST | DCERPC_PFC_LAST, 0);
	r.alloc_hint = (uint32_t)p->len;
	r.stub = p->data;
	r.stub_len = p->len;
	if (dcerpc_response_push(out, &r, NULL) != 0)
		exit(1);
	ndr_push_free(p);
}

static void build(const char *ip, const char *group)
{
	struct dcerpc_bind_ack a;
	struct ndr_push p;
	struct witness_interface_info ifc;
	struct witness_interface_list l = {1, &ifc};
	struct ndr_policy_handle h;
	struct witness_notify_response resp;

	memset(&a, 0, sizeof(a));
	dcerpc_hdr_init(&a.hdr, DCERPC_PKT_BIND_ACK, DCERPC_PFC_FIRST | DCERPC_PFC_LAST, 0);
	a.max_xmit_frag = a.max_recv_frag = 5840;
	a.assoc_group_id = 0x12345;
	a.sec_addr = "49152";
	a.sec_addr_len = 6;
	a.n_results = 1;
	a.results[0].result = DCERPC_RESULT_ACCEPT;
	a.results[0].transfer = dcerpc_ndr32_syntax;
	if (dcerpc_bind_ack_push(&bind_ack, &a, NULL) != 0)
		exit(1);

	memset(&ifc, 0, sizeof(ifc));
	snprintf(ifc.group_name, sizeof(ifc.group_name), "%s", group);
	ifc.version = 0xffffffff;
	ifc.state = 1;
	uv_inet_pton(AF_INET, ip, ifc.ipv4);
	ifc.flags = 0x1 | 0x4; /* IPv4 valid, witness interface */
	ndr_push_init(&p);
	ndr_witness_get_interface_list_out_push(&p, &l, 0);
	response_tmpl(&gil, &p);

	memset(&h, 0, sizeof(h));
	h.handle_type = 1;
	h.uuid.time_hi_and_version = 0x4000;
	ndr_push_init(&p);
	ndr_witness_handle_out_push(&p, &h, 0);
	response_tmpl(&reg, &p);

	memset(&resp, 0, sizeof(resp));
	witness_msg_add_resource_change(&resp, WITNESS_RESOURCE_STATE_UNAVAILABLE, ip);
	ndr_push_init(&p);
	ndr_witness_async_notify_out_push(&p, &resp, 0);
	witness_notify_response_free(&resp);
	response_tmpl(&notify, &p);
}

int main(int argc, char **argv)
{
	const char *ip = "127.0.0.2", *listen_addr = "127.0.0.1", *sock = NULL;
	int port = 0, o;
	struct sockaddr_in sa;
	static uv_tcp_t srv;
	struct rlimit rl;
	static const struct option opts[] = {{"port", 1, 0, 'p'},
	                                     {"admin-socket", 1, 0, 'A'},
	                                     {"ip", 1, 0, 'i'},
	                                     {"listen", 1, 0, 'L'},
	                                     {0, 0, 0, 0}};

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'A':
			sock = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		case 'L':
			listen_addr = optarg;
			break;
		default:
			fprintf(stderr, "usage: witnessd-fixed-server --port P --admin-socket PATH "
			                "[--ip IP] [--listen ADDR]\n");
			return 2;
		}
	}
	if (port <= 0 || sock == NULL) {
		fprintf(stderr, "witnessd-fixed-server: --port and --admin-socket are required\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	build(ip, "witsrv");
	loop = uv_default_loop();
	uv_tcp_init(loop, &srv);
	uv_ip4_addr(listen_addr, port, &sa);
	if (uv_tcp_bind(&srv, (const struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&srv, 4096, on_conn) != 0) {
		fprintf(stderr, "witnessd-fixed-server: cannot listen on %s:%d\n", listen_addr,
		        port);
		return 1;
	}
	unlink(sock);
	uv_pipe_init(loop, &admin, 0);
	if (uv_pipe_bind(&admin, sock) != 0 ||
	    uv_listen((uv_stream_t *)&admin, 16, on_admin) != 0) {
		fprintf(stderr, "witnessd-fixed-server: cannot listen on %s\n", sock);
		return 1;
	}
	fprintf(stderr, "witnessd-fixed-server: listening on %s:%d\n", listen_addr, port);
	return uv_run(loop, UV_RUN_DEFAULT);
}
