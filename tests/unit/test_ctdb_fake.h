/*
 * test_ctdb_fake.h - a scripted fake ctdbd for the ctdb unit tests: a Unix
 * socket server in the test's own loop that records every control and
 * message it receives, answers GET_PNN and REGISTER_SRVID, and sends
 * replies and messages padded to 8 bytes as ctdbd's ctdb_queue_send does.
 * Included by test_ctdb_client.c and test_ctdb_backend.c only.
 */
#ifndef TEST_CTDB_FAKE_H
#define TEST_CTDB_FAKE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "witness/ctdb.h"
#include "witness/err.h"

/* ---- the fake ctdbd ---- */

#define MAXREC 64

struct rec {
	uint32_t opcode;
	uint64_t srvid;
	uint32_t reqid;
	uint32_t destnode;
	uint32_t flags;
	uint32_t datalen;
	uint8_t data[64];
};

struct fake {
	uv_loop_t *loop;
	char path[108];
	uv_pipe_t server;
	bool listening;
	struct fconn {
		uv_pipe_t pipe;
		bool open;
		uint8_t buf[65536];
		size_t len;
	} conns[4];
	struct fconn *cur; /* the connection being read: replies go there */
	int accepts;
	struct rec recs[MAXREC];
	int nrec;
	struct ctdb_req_message msgs[8];
	uint8_t msgdata[8][64];
	int nmsg;
	bool hold_all; /* do not answer controls other than the handshake */
	uint32_t pnn;
	/* Optional: answer a control; returns true when it did. */
	bool (*responder)(const struct ctdb_req_control *c);
};

static struct fake F;
static uv_loop_t *L;

static void fake_write(const uint8_t *b, size_t n);

static void send_reply(uint32_t reqid, int32_t status, const void *data, size_t datalen,
                       size_t chunk)
{
	struct ctdb_reply_control r;
	uint8_t b[1024];
	size_t len;

	memset(&r, 0, sizeof(r));
	r.hdr.ctdb_magic = CTDB_MAGIC;
	r.hdr.ctdb_version = CTDB_PROTOCOL;
	r.hdr.operation = CTDB_REPLY_CONTROL;
	r.hdr.reqid = reqid;
	r.status = status;
	r.datalen = (uint32_t)datalen;
	r.data = data;
	len = (ctdb_reply_control_len(&r) + 7) & ~(size_t)7; /* as ctdb_queue_send */
	r.hdr.length = (uint32_t)len;
	ctdb_reply_control_push(&r, b);
	if (chunk == 0)
		chunk = len;
	for (size_t off = 0; off < len; off += chunk)
		fake_write(b + off, off + chunk > len ? len - off : chunk);
}

static void send_msg(uint64_t srvid, const void *data, size_t datalen)
{
	struct ctdb_req_message m;
	uint8_t b[256];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.hdr.ctdb_magic = CTDB_MAGIC;
	m.hdr.ctdb_version = CTDB_PROTOCOL;
	m.hdr.operation = CTDB_REQ_MESSAGE;
	m.srvid = srvid;
	m.datalen = (uint32_t)datalen;
	m.data = data;
	len = (ctdb_req_message_len(&m) + 7) & ~(size_t)7;
	m.hdr.length = (uint32_t)len;
	ctdb_req_message_push(&m, b);
	fake_write(b, len);
}

static void write_done(uv_write_t *w, int status)
{
	free(w);
}

static void fake_write_to(struct fconn *fc, const uint8_t *b, size_t n)
{
	uv_write_t *w = malloc(sizeof(*w) + n);
	uv_buf_t ub;

	ck_assert_ptr_nonnull(w);
	memcpy(w + 1, b, n);
	ub = uv_buf_init((char *)(w + 1), (unsigned)n);
	ck_assert(fc->open);
	ck_assert_int_eq(uv_write(w, (uv_stream_t *)&fc->pipe, &ub, 1, write_done), 0);
}

/* To the connection being read, else to every open connection. */
static void fake_write(const uint8_t *b, size_t n)
{
	int sent = 0;

	if (F.cur != NULL) {
		fake_write_to(F.cur, b, n);
		return;
	}
	for (int i = 0; i < 4; i++)
		if (F.conns[i].open && !uv_is_closing((uv_handle_t *)&F.conns[i].pipe)) {
			fake_write_to(&F.conns[i], b, n);
			sent++;
		}
	ck_assert_int_gt(sent, 0);
}

static inline int fake_nconns(void)
{
	int n = 0;

	for (int i = 0; i < 4; i++)
		n += F.conns[i].open;
	return n;
}

static void fake_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct fconn *fc = h->data;

	*b = uv_buf_init((char *)fc->buf + fc->len, (unsigned)(sizeof(fc->buf) - fc->len));
}

static void conn_closed(uv_handle_t *h)
{
	struct fconn *fc = h->data;

	fc->open = false;
}

static void fake_drop_conn(struct fconn *fc)
{
	if (fc->open && !uv_is_closing((uv_handle_t *)&fc->pipe))
		uv_close((uv_handle_t *)&fc->pipe, conn_closed);
}

static void fake_drop(void)
{
	for (int i = 0; i < 4; i++)
		fake_drop_conn(&F.conns[i]);
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fconn *fc = s->data;
	size_t off = 0;

	if (n < 0) {
		fake_drop_conn(fc);
		return;
	}
	fc->len += (size_t)n;
	F.cur = fc;
	while (fc->len - off >= 4) {
		uint32_t plen, op;
		size_t np;

		memcpy(&plen, fc->buf + off, 4);
		if (fc->len - off < plen)
			break;
		memcpy(&op, fc->buf + off + 16, 4);
		if (op == CTDB_REQ_CONTROL) {
			struct ctdb_req_control c;
			ck_assert_int_eq(ctdb_req_control_pull(fc->buf + off, plen, &c, &np), 0);
			ck_assert_uint_eq(np, plen); /* clients send unpadded, exact */
			ck_assert_uint_eq(c.hdr.ctdb_magic, CTDB_MAGIC);
			if (F.nrec == MAXREC) /* tests reset nrec; keep the newest */
				F.nrec = MAXREC - 1;
			F.recs[F.nrec] =
			    (struct rec){c.opcode, c.srvid,   c.hdr.reqid, c.hdr.destnode,
			                 c.flags,  c.datalen, {0}};
			memcpy(F.recs[F.nrec].data, c.data, c.datalen < 64 ? c.datalen : 64);
			F.nrec++;
			if (F.responder != NULL && F.responder(&c))
				;
			else if (c.opcode == CTDB_CONTROL_GET_PNN)
				send_reply(c.hdr.reqid, (int32_t)F.pnn, NULL, 0, 0);
			else if (c.opcode == CTDB_CONTROL_REGISTER_SRVID)
				send_reply(c.hdr.reqid, 0, NULL, 0, 0);
			else if (!F.hold_all && !(c.flags & CTDB_CTRL_FLAG_NOREPLY))
				send_reply(c.hdr.reqid, 0, NULL, 0, 0);
		} else if (op == CTDB_REQ_MESSAGE) {
			struct ctdb_req_message m;
			ck_assert_int_eq(ctdb_req_message_pull(fc->buf + off, plen, &m, &np), 0);
			if (F.nmsg == 8) /* tests reset nmsg; keep the newest */
				F.nmsg = 7;
			ck_assert_uint_le(m.datalen, 64);
			memcpy(F.msgdata[F.nmsg], m.data, m.datalen);
			F.msgs[F.nmsg] = m;
			F.msgs[F.nmsg].data = F.msgdata[F.nmsg];
			F.nmsg++;
		}
		off += plen;
	}
	F.cur = NULL;
	memmove(fc->buf, fc->buf + off, fc->len - off);
	fc->len -= off;
}

static void on_accept(uv_stream_t *srv, int status)
{
	struct fconn *fc = NULL;

	ck_assert_int_eq(status, 0);
	for (int i = 0; i < 4 && fc == NULL; i++)
		if (!F.conns[i].open)
			fc = &F.conns[i];
	ck_assert_ptr_nonnull(fc);
	uv_pipe_init(F.loop, &fc->pipe, 0);
	fc->pipe.data = fc;
	fc->open = true;
	ck_assert_int_eq(uv_accept(srv, (uv_stream_t *)&fc->pipe), 0);
	fc->len = 0;
	F.accepts++;
	uv_read_start((uv_stream_t *)&fc->pipe, fake_alloc, fake_read);
}

static void server_closed(uv_handle_t *h)
{
	F.listening = false;
}

static void fake_listen(void)
{
	unlink(F.path);
	uv_pipe_init(F.loop, &F.server, 0);
	ck_assert_int_eq(uv_pipe_bind(&F.server, F.path), 0);
	ck_assert_int_eq(uv_listen((uv_stream_t *)&F.server, 8, on_accept), 0);
	F.listening = true;
}

static void fake_stop(void)
{
	fake_drop();
	if (F.listening)
		uv_close((uv_handle_t *)&F.server, server_closed);
}

/* ---- loop helpers ---- */

static void guard_cb(uv_timer_t *t)
{
}

static bool run_until(bool (*pred)(void), unsigned ms)
{
	uv_timer_t guard;
	uint64_t end;
	bool ok;

	uv_timer_init(L, &guard);
	uv_timer_start(&guard, guard_cb, 5, 5);
	uv_update_time(L);
	end = uv_now(L) + ms;
	while (!(ok = pred()) && uv_now(L) < end)
		uv_run(L, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(L, UV_RUN_NOWAIT);
	return ok;
}

static void run_for(unsigned ms)
{
	uv_timer_t t;
	uv_timer_init(L, &t);
	uv_timer_start(&t, guard_cb, ms, 0);
	while (uv_is_active((uv_handle_t *)&t))
		uv_run(L, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(L, UV_RUN_NOWAIT);
}

#endif
