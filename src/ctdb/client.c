/*
 * client.c - async ctdbd client on a libuv loop.
 *
 * One AF_UNIX stream to ctdbd. Replies and unsolicited REQ_MESSAGE packets
 * share the stream (as smbd's ctdbd_conn.c), so a single reader splits it by
 * hdr.length (ctdbd pads every packet to 8 bytes and rewrites hdr.length,
 * ctdb_io.c), completes pending controls by reqid and hands messages to
 * the srvid handlers. Bad packets get no answer from ctdbd, and some error
 * paths never reply (a broadcast control without NOREPLY), so every control
 * has a timeout. Unlike smbd (cluster_fatal -> _exit), we never give up:
 * on EOF or error we fail the pending controls, tell the owner, and
 * reconnect with backoff; after each connect we ask GET_PNN and register
 * every srvid again, because ctdbd drops all of a connection's state with
 * it (ctdb/server/ctdb_daemon.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/ctdb.h"
#include "witness/err.h"
#include "witness/log.h"

#define DEFAULT_TIMEOUT_MS   5000u
#define HANDSHAKE_TIMEOUT_MS 5000u
#define READ_CHUNK           65536u

enum client_state {
	ST_DOWN,       /* waiting for the retry timer */
	ST_CONNECTING, /* uv_pipe_connect pending */
	ST_HANDSHAKE,  /* GET_PNN, then REGISTER_SRVID for every srvid */
	ST_UP,
	ST_CLOSED, /* ctdb_client_close called */
};

struct handler {
	struct handler *next;
	uint64_t srvid;
	ctdb_message_cb cb;
	void *arg;
	bool dead;
};

struct ctdb_control_req {
	struct ctdb_control_req *prev, *next;
	ctdb_client_t *c;
	uint32_t reqid;
	uint64_t deadline; /* uv_now ms */
	ctdb_control_cb cb;
	void *arg;
};

struct write_req {
	uv_write_t w;
	ctdb_client_t *c;
	unsigned epoch;
	ctdb_control_cb cb; /* NOREPLY controls: completion once written */
	void *arg;
	size_t len;
	uint8_t data[];
};

struct ctdb_client {
	uv_loop_t *loop;
	char *path;
	enum client_state state;
	uv_pipe_t pipe;
	bool pipe_open;
	uv_connect_t connect_req;
	uv_timer_t retry_timer;
	uv_timer_t tick_timer;
	int open_handles; /* freed when it drops to 0 after close */
	unsigned epoch;   /* connection counter; stale callbacks compare it */

	unsigned backoff_min, backoff_max, backoff_cur;
	uint32_t pnn;
	uint32_t next_reqid;
	unsigned connects;
	bool quiet;              /* ctdb_client_set_quiet: no ctdb.unreachable */
	bool unreachable_logged; /* once per time down */
	int handshake_left;
	char last_error[128];

	struct ctdb_control_req *pending; /* doubly linked */
	struct handler *handlers;
	int dispatching; /* depth; dead handlers are purged at 0 */

	uint8_t *rbuf;
	size_t rlen, rcap;

	ctdb_state_cb state_cb;
	void *state_arg;
};

static void start_connect(ctdb_client_t *c);
static void drop_connection(ctdb_client_t *c, const char *why, int uverr);

static void set_error(ctdb_client_t *c, const char *why, int uverr)
{
	if (uverr)
		snprintf(c->last_error, sizeof(c->last_error), "%s: %s", why, uv_strerror(uverr));
	else
		snprintf(c->last_error, sizeof(c->last_error), "%s", why);
}

static void maybe_free(ctdb_client_t *c)
{
	struct handler *h, *n;

	if (c->state != ST_CLOSED || c->open_handles > 0)
		return;
	for (h = c->handlers; h; h = n) {
		n = h->next;
		free(h);
	}
	free(c->rbuf);
	free(c->path);
	free(c);
}

static void handle_closed(uv_handle_t *h)
{
	ctdb_client_t *c = h->data;

	c->open_handles--;
	maybe_free(c);
}

/* ---- pending controls ---- */

static void pending_unlink(ctdb_client_t *c, struct ctdb_control_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->pending = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void complete(struct ctdb_control_req *r, int err, const struct ctdb_reply_control *reply)
{
	ctdb_client_t *c = r->c;
	ctdb_control_cb cb = r->cb;
	void *arg = r->arg;

	pending_unlink(c, r);
	free(r);
	if (c->pending == NULL && c->state != ST_CLOSED)
		uv_timer_stop(&c->tick_timer);
	if (cb)
		cb(arg, err, reply);
}

static void fail_all_pending(ctdb_client_t *c, int err)
{
	/* A callback may add new requests; they fail with WD_ESTATE at once
	 * because the state is no longer ST_UP, so this loop ends. */
	while (c->pending)
		complete(c->pending, err, NULL);
}

static void tick_cb(uv_timer_t *t)
{
	ctdb_client_t *c = t->data;
	uint64_t now = uv_now(c->loop);
	struct ctdb_control_req *r, *n;

restart:
	for (r = c->pending; r; r = n) {
		n = r->next;
		if (r->deadline <= now) {
			complete(r, WD_ETIMEDOUT, NULL);
			goto restart; /* the callback may have changed the list */
		}
	}
}

void ctdb_control_cancel(ctdb_control_req_t *req)
{
	if (req)
		complete(req, WD_ECANCELED, NULL);
}

/* ---- writing ---- */

static void write_done(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	ctdb_client_t *c = wr->c;

	if (wr->cb)
		wr->cb(wr->arg, status ? WD_EIO : 0, NULL);
	if (status && status != UV_ECANCELED && c->state != ST_CLOSED && wr->epoch == c->epoch)
		drop_connection(c, "write failed", status);
	free(wr);
}

static int send_packet(ctdb_client_t *c, const uint8_t *buf, size_t len, ctdb_control_cb cb,
                       void *arg)
{
	struct write_req *wr;
	uv_buf_t b;
	int rc;

	wr = malloc(sizeof(*wr) + len);
	if (wr == NULL)
		return WD_ENOMEM;
	wr->c = c;
	wr->epoch = c->epoch;
	wr->cb = cb;
	wr->arg = arg;
	wr->len = len;
	memcpy(wr->data, buf, len);
	b = uv_buf_init((char *)wr->data, (unsigned)len);
	rc = uv_write(&wr->w, (uv_stream_t *)&c->pipe, &b, 1, write_done);
	if (rc) {
		free(wr);
		return WD_EIO;
	}
	return 0;
}

static uint32_t new_reqid(ctdb_client_t *c)
{
	/* As smbd's ctdbd_next_reqid: increment, skip 0 (messages carry 0). */
	if (++c->next_reqid == 0)
		c->next_reqid = 1;
	return c->next_reqid;
}

static int control_raw(ctdb_client_t *c, uint32_t destnode, uint32_t opcode, uint64_t srvid,
                       uint32_t flags, const void *data, size_t datalen, unsigned timeout_ms,
                       ctdb_control_cb cb, void *arg, ctdb_control_req_t **out)
{
	struct ctdb_req_control rc;
	struct ctdb_control_req *r = NULL;
	uint8_t stackbuf[256], *buf = stackbuf;
	size_t len;
	int err;

	if (datalen > CTDB_MAX_PACKET - CTDB_REQ_CONTROL_HDR_LEN)
		return WD_ERANGE;
	memset(&rc, 0, sizeof(rc));
	rc.hdr.ctdb_magic = CTDB_MAGIC;
	rc.hdr.ctdb_version = CTDB_PROTOCOL;
	rc.hdr.operation = CTDB_REQ_CONTROL;
	rc.hdr.destnode = destnode;
	rc.hdr.reqid = new_reqid(c);
	rc.opcode = opcode;
	rc.srvid = srvid;
	rc.flags = flags;
	rc.datalen = (uint32_t)datalen;
	rc.data = data;
	len = ctdb_req_control_len(&rc);
	if (len > sizeof(stackbuf)) {
		buf = malloc(len);
		if (buf == NULL)
			return WD_ENOMEM;
	}
	ctdb_req_control_push(&rc, buf);

	if (!(flags & CTDB_CTRL_FLAG_NOREPLY)) {
		r = calloc(1, sizeof(*r));
		if (r == NULL) {
			err = WD_ENOMEM;
			goto out;
		}
		r->c = c;
		r->reqid = rc.hdr.reqid;
		r->deadline = uv_now(c->loop) + (timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS);
		r->cb = cb;
		r->arg = arg;
	}
	err = send_packet(c, buf, len, r ? NULL : cb, arg);
	if (err) {
		free(r);
		goto out;
	}
	if (r) {
		r->next = c->pending;
		if (c->pending)
			c->pending->prev = r;
		c->pending = r;
		if (!uv_is_active((uv_handle_t *)&c->tick_timer))
			uv_timer_start(&c->tick_timer, tick_cb, 100, 100);
	}
	if (out)
		*out = r;
out:
	if (buf != stackbuf)
		free(buf);
	return err;
}

int ctdb_client_control(ctdb_client_t *c, uint32_t destnode, uint32_t opcode, uint64_t srvid,
                        uint32_t flags, const void *data, size_t datalen, unsigned timeout_ms,
                        ctdb_control_cb cb, void *arg, ctdb_control_req_t **req)
{
	if (req)
		*req = NULL;
	if (c->state != ST_UP)
		return WD_ESTATE;
	return control_raw(c, destnode, opcode, srvid, flags, data, datalen, timeout_ms, cb, arg,
	                   req);
}

int ctdb_client_send_message(ctdb_client_t *c, uint32_t destnode, uint64_t srvid, const void *data,
                             size_t len)
{
	struct ctdb_req_message m;
	uint8_t *buf;
	int err;

	if (c->state != ST_UP)
		return WD_ESTATE;
	if (len > CTDB_MAX_PACKET - CTDB_REQ_MESSAGE_HDR_LEN)
		return WD_ERANGE;
	memset(&m, 0, sizeof(m));
	m.hdr.ctdb_magic = CTDB_MAGIC;
	m.hdr.ctdb_version = CTDB_PROTOCOL;
	m.hdr.generation = 1; /* as smbd; ignored by ctdbd */
	m.hdr.operation = CTDB_REQ_MESSAGE;
	m.hdr.destnode = destnode;
	m.hdr.srcnode = c->pnn;
	m.srvid = srvid;
	m.datalen = (uint32_t)len;
	m.data = data;
	buf = malloc(ctdb_req_message_len(&m));
	if (buf == NULL)
		return WD_ENOMEM;
	ctdb_req_message_push(&m, buf);
	err = send_packet(c, buf, ctdb_req_message_len(&m), NULL, NULL);
	free(buf);
	return err;
}

/* ---- srvid handlers ---- */

static bool srvid_in_use(ctdb_client_t *c, uint64_t srvid, const struct handler *except)
{
	struct handler *h;

	for (h = c->handlers; h; h = h->next)
		if (h != except && !h->dead && h->srvid == srvid)
			return true;
	return false;
}

static void purge_handlers(ctdb_client_t *c)
{
	struct handler **pp = &c->handlers, *h;

	if (c->dispatching)
		return;
	while ((h = *pp) != NULL) {
		if (h->dead) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static void register_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	ctdb_client_t *c = arg;

	if (err || reply->status != 0)
		wd_log(WD_LOG_WARNING, "ctdb.register_srvid_failed", "err=%s status=%d",
		       wd_strerror(err), reply ? reply->status : 0);
	(void)c;
}

int ctdb_client_register_srvid(ctdb_client_t *c, uint64_t srvid, ctdb_message_cb cb, void *arg)
{
	struct handler *h;
	bool first;

	if (cb == NULL || c->state == ST_CLOSED)
		return WD_EINVAL;
	first = !srvid_in_use(c, srvid, NULL);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return WD_ENOMEM;
	h->srvid = srvid;
	h->cb = cb;
	h->arg = arg;
	/* Append: dispatch order is registration order. */
	{
		struct handler **pp = &c->handlers;
		while (*pp)
			pp = &(*pp)->next;
		*pp = h;
	}
	/* While in ST_HANDSHAKE before the register phase, the handshake
	 * picks it up; during the register phase and when up, send now. */
	if (first && (c->state == ST_UP || (c->state == ST_HANDSHAKE && c->handshake_left >= 0)))
		control_raw(c, CTDB_CURRENT_NODE, CTDB_CONTROL_REGISTER_SRVID, srvid, 0, NULL, 0, 0,
		            register_done, c, NULL);
	return 0;
}

int ctdb_client_deregister_srvid(ctdb_client_t *c, uint64_t srvid, ctdb_message_cb cb, void *arg)
{
	struct handler *h;

	for (h = c->handlers; h; h = h->next)
		if (!h->dead && h->srvid == srvid && h->cb == cb && h->arg == arg)
			break;
	if (h == NULL)
		return WD_ENOTFOUND;
	h->dead = true;
	if (!srvid_in_use(c, srvid, h) && c->state == ST_UP)
		control_raw(c, CTDB_CURRENT_NODE, CTDB_CONTROL_DEREGISTER_SRVID, srvid, 0, NULL, 0,
		            0, NULL, NULL, NULL);
	purge_handlers(c);
	return 0;
}

static void dispatch_message(ctdb_client_t *c, const struct ctdb_req_message *m)
{
	struct handler *h;
	unsigned epoch = c->epoch;

	c->dispatching++;
	for (h = c->handlers; h; h = h->next) {
		if (h->dead || (h->srvid != m->srvid && h->srvid != CTDB_SRVID_ALL))
			continue;
		h->cb(h->arg, m->srvid, m->data, m->datalen);
		if (c->state == ST_CLOSED || c->epoch != epoch)
			break;
	}
	c->dispatching--;
	purge_handlers(c);
}

/* ---- handshake ---- */

static void became_up(ctdb_client_t *c)
{
	c->state = ST_UP;
	c->connects++;
	c->backoff_cur = c->backoff_min;
	c->last_error[0] = 0;
	c->unreachable_logged = false;
	wd_log(WD_LOG_NOTICE, "ctdb.connected", "socket=%s pnn=%u connects=%u", c->path, c->pnn,
	       c->connects);
	if (c->state_cb)
		c->state_cb(c->state_arg, true, c->pnn);
}

static void handshake_register_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	ctdb_client_t *c = arg;

	if (c->state != ST_HANDSHAKE)
		return;
	if (err || reply->status != 0) {
		drop_connection(c, err ? "REGISTER_SRVID failed" : "REGISTER_SRVID refused", 0);
		return;
	}
	if (--c->handshake_left == 0)
		became_up(c);
}

static void handshake_pnn_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	ctdb_client_t *c = arg;
	struct handler *h;
	int n = 0;

	if (c->state != ST_HANDSHAKE)
		return;
	if (err || reply->status < 0) {
		drop_connection(c, err ? "GET_PNN failed" : "GET_PNN refused", 0);
		return;
	}
	c->pnn = (uint32_t)reply->status; /* GET_PNN answers in status (protocol_client.c) */
	/* Register every distinct srvid once: ctdbd delivers duplicates. */
	c->handshake_left = 1; /* guard while sending */
	for (h = c->handlers; h; h = h->next) {
		struct handler *p;
		bool seen = false;

		if (h->dead)
			continue;
		for (p = c->handlers; p != h; p = p->next)
			if (!p->dead && p->srvid == h->srvid)
				seen = true;
		if (seen)
			continue;
		if (control_raw(c, CTDB_CURRENT_NODE, CTDB_CONTROL_REGISTER_SRVID, h->srvid, 0,
		                NULL, 0, HANDSHAKE_TIMEOUT_MS, handshake_register_done, c,
		                NULL) != 0) {
			drop_connection(c, "cannot send REGISTER_SRVID", 0);
			return;
		}
		c->handshake_left++;
		n++;
	}
	if (--c->handshake_left == 0)
		became_up(c);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	ctdb_client_t *c = h->data;

	if (c->rcap - c->rlen < READ_CHUNK) {
		size_t ncap = c->rlen + READ_CHUNK;
		uint8_t *n = realloc(c->rbuf, ncap);
		if (n == NULL) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		c->rbuf = n;
		c->rcap = ncap;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, READ_CHUNK);
}

static void handle_packet(ctdb_client_t *c, const uint8_t *buf, size_t len)
{
	struct ctdb_packet p;
	struct ctdb_control_req *r;
	int rc;

	rc = ctdb_packet_pull(buf, len, &p);
	if (rc) {
		/* ctdbd never sends these; the stream can no longer be trusted. */
		drop_connection(c, "bad packet from ctdbd", 0);
		return;
	}
	switch (p.hdr.operation) {
	case CTDB_REPLY_CONTROL:
		for (r = c->pending; r; r = r->next)
			if (r->reqid == p.hdr.reqid)
				break;
		if (r == NULL) {
			/* Timed out or cancelled earlier: drop, as smbd does. */
			wd_log(WD_LOG_DEBUG, "ctdb.stray_reply", "reqid=%u", p.hdr.reqid);
			return;
		}
		complete(r, 0, &p.u.reply);
		break;
	case CTDB_REQ_MESSAGE:
		dispatch_message(c, &p.u.message);
		break;
	default:
		wd_log(WD_LOG_DEBUG, "ctdb.ignored_packet", "operation=%u", p.hdr.operation);
		break;
	}
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ctdb_client_t *c = s->data;
	unsigned epoch = c->epoch;
	size_t off = 0;

	if (nread == 0)
		return;
	if (nread < 0) {
		drop_connection(c, nread == UV_EOF ? "ctdbd closed the connection" : "read failed",
		                nread == UV_EOF ? 0 : (int)nread);
		return;
	}
	c->rlen += (size_t)nread;
	while (c->rlen - off >= 4) {
		uint32_t plen;

		memcpy(&plen, c->rbuf + off, 4);
		if (plen < CTDB_REQ_HEADER_LEN || plen > CTDB_MAX_PACKET) {
			drop_connection(c, "bad packet length from ctdbd", 0);
			return;
		}
		if (c->rlen - off < plen)
			break;
		handle_packet(c, c->rbuf + off, plen);
		if (c->state == ST_CLOSED || c->epoch != epoch)
			return; /* connection dropped or client closed; rlen was reset */
		off += plen;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

/* ---- connection life cycle ---- */

static void retry_cb(uv_timer_t *t)
{
	start_connect(t->data);
}

static void schedule_retry(ctdb_client_t *c)
{
	unsigned d = c->backoff_cur;

	c->backoff_cur = c->backoff_cur * 2 > c->backoff_max ? c->backoff_max : c->backoff_cur * 2;
	uv_timer_start(&c->retry_timer, retry_cb, d, 0);
}

static void pipe_closed(uv_handle_t *h)
{
	ctdb_client_t *c = h->data;

	c->pipe_open = false;
	c->open_handles--;
	if (c->state == ST_CLOSED) {
		maybe_free(c);
		return;
	}
	schedule_retry(c);
}

static void close_pipe(ctdb_client_t *c)
{
	if (c->pipe_open && !uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, pipe_closed);
}

static void drop_connection(ctdb_client_t *c, const char *why, int uverr)
{
	bool was_up = c->state == ST_UP;

	if (c->state == ST_CLOSED || c->state == ST_DOWN)
		return;
	set_error(c, why, uverr);
	wd_log(was_up ? WD_LOG_WARNING : WD_LOG_INFO, "ctdb.disconnected",
	       "socket=%s reason=\"%s\"", c->path, c->last_error);
	c->state = ST_DOWN;
	c->epoch++;
	c->rlen = 0;
	close_pipe(c); /* pipe_closed schedules the retry */
	fail_all_pending(c, WD_EIO);
	if (was_up && c->state_cb && c->state != ST_CLOSED)
		c->state_cb(c->state_arg, false, c->pnn);
}

static void connect_cb(uv_connect_t *req, int status)
{
	ctdb_client_t *c = req->data;

	if (c->state != ST_CONNECTING)
		return; /* closed meanwhile */
	if (status) {
		/* ENOENT before ctdbd first starts, ECONNREFUSED while it is
		 * down and the socket file remains (seen with ctdbd 4.17). */
		set_error(c, "connect", status);
		wd_log(WD_LOG_DEBUG, "ctdb.connect_failed", "socket=%s err=%s", c->path,
		       uv_strerror(status));
		/* the first failure of a down period is what an administrator needs */
		if (!c->quiet && !c->unreachable_logged) {
			c->unreachable_logged = true;
			wd_log(WD_LOG_WARNING, "ctdb.unreachable",
			       "socket=%s err=\"%s\" retrying=1 hint=\"is ctdbd running, and is "
			       "[ctdb]\x20socket its socket?\"",
			       c->path, uv_strerror(status));
		}
		c->state = ST_DOWN;
		close_pipe(c);
		return;
	}
	c->state = ST_HANDSHAKE;
	c->handshake_left = -1; /* register phase not started */
	status = uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
	if (status == 0)
		status = control_raw(c, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_PNN, 0, 0, NULL, 0,
		                     HANDSHAKE_TIMEOUT_MS, handshake_pnn_done, c, NULL)
		             ? UV_EIO
		             : 0;
	if (status)
		drop_connection(c, "handshake", status);
}

static void start_connect(ctdb_client_t *c)
{
	int rc;

	if (c->state != ST_DOWN || c->pipe_open)
		return;
	rc = uv_pipe_init(c->loop, &c->pipe, 0);
	if (rc) {
		set_error(c, "uv_pipe_init", rc);
		schedule_retry(c);
		return;
	}
	c->pipe.data = c;
	c->pipe_open = true;
	c->open_handles++;
	c->state = ST_CONNECTING;
	c->connect_req.data = c;
	uv_pipe_connect(&c->connect_req, &c->pipe, c->path, connect_cb);
}

/* ---- public ---- */

int ctdb_client_new(uv_loop_t *loop, const char *sockpath, ctdb_client_t **out)
{
	ctdb_client_t *c;

	*out = NULL;
	if (loop == NULL || sockpath == NULL || sockpath[0] == 0)
		return WD_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return WD_ENOMEM;
	c->path = strdup(sockpath);
	if (c->path == NULL) {
		free(c);
		return WD_ENOMEM;
	}
	c->loop = loop;
	c->state = ST_DOWN;
	c->pnn = CTDB_UNKNOWN_PNN;
	c->backoff_min = 100;
	c->backoff_max = 2000;
	c->backoff_cur = c->backoff_min;
	uv_timer_init(loop, &c->retry_timer);
	uv_timer_init(loop, &c->tick_timer);
	c->retry_timer.data = c;
	c->tick_timer.data = c;
	c->open_handles = 2;
	snprintf(c->last_error, sizeof(c->last_error), "not started");
	*out = c;
	return 0;
}

void ctdb_client_set_state_cb(ctdb_client_t *c, ctdb_state_cb cb, void *arg)
{
	c->state_cb = cb;
	c->state_arg = arg;
}

void ctdb_client_set_quiet(ctdb_client_t *c, bool quiet)
{
	c->quiet = quiet;
}

void ctdb_client_set_backoff(ctdb_client_t *c, unsigned min_ms, unsigned max_ms)
{
	c->backoff_min = min_ms ? min_ms : 1;
	c->backoff_max = max_ms < c->backoff_min ? c->backoff_min : max_ms;
	c->backoff_cur = c->backoff_min;
}

int ctdb_client_start(ctdb_client_t *c)
{
	if (c->state == ST_CLOSED)
		return WD_ESTATE;
	start_connect(c);
	return 0;
}

void ctdb_client_reconnect(ctdb_client_t *c)
{
	drop_connection(c, "reconnect requested", 0);
}

void ctdb_client_close(ctdb_client_t *c)
{
	if (c == NULL || c->state == ST_CLOSED)
		return;
	c->state = ST_CLOSED;
	c->epoch++;
	fail_all_pending(c, WD_ECANCELED);
	uv_close((uv_handle_t *)&c->retry_timer, handle_closed);
	uv_close((uv_handle_t *)&c->tick_timer, handle_closed);
	close_pipe(c);
}

bool ctdb_client_is_connected(const ctdb_client_t *c)
{
	return c->state == ST_UP;
}

uint32_t ctdb_client_pnn(const ctdb_client_t *c)
{
	return c->pnn;
}

unsigned ctdb_client_connects(const ctdb_client_t *c)
{
	return c->connects;
}

const char *ctdb_client_last_error(const ctdb_client_t *c)
{
	return c->last_error;
}
