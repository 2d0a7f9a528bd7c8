/*
 * server_conn.c - connection I/O and life cycle of the DCERPC server:
 * accepting, reading and framing fragments, queueing writes, closing (at
 * once or after a last fault is flushed), the buffer budget every peer draws
 * on, per-IP connection counts, and the sweep of peers stuck in a fragment,
 * an unfinished request or an unbound connection. [C706] 12.6, [MS-RPCE] 3.3.
 * Like Samba's dcesrv_core.c, what is in a PDU is left to server_bind.c and
 * server_call.c: this file only frames and hands on.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "server_int.h"

static const struct auth_session anon_session = {
    .auth_type = AUTH_TYPE_NONE,
    .auth_level = AUTH_LEVEL_NONE,
    .account = "",
    .domain = "",
    .sid = "",
};

static void on_conn_closed(uv_handle_t *h);

/* ---- limits of what a peer may make us hold ---- */

/*
 * A peer gets the full limits (max request size, write queue) only once it
 * has authenticated at the level the most demanding interface requires, and
 * at least at connect level: before that, anyone who can reach the port
 * could claim them.
 */
bool dcerpc__conn_trusted(const struct conn *c)
{
	return dcerpc__auth_level(c) >= c->srv->full_level;
}

static void budget_cut(void *arg, struct dcerpc_hold *h)
{
	dcerpc_server_t *srv = arg;
	struct conn *c = (struct conn *)((char *)h - offsetof(struct conn, hold));
	uint64_t now = uv_now(srv->loop), suppressed;
	srv->stats.budget_cuts++;
	metrics_refused(METRICS_REFUSED_LIMITS);
	if (dcerpc__log_allow(&srv->log_cut, now, &suppressed))
		wd_log(WD_LOG_WARNING, "dcerpc.budget.cut",
		       "remote=%s held=%zu held_ms=%llu in_use=%zu limit=%zu suppressed=%llu",
		       c->peer.remote_addr, h->bytes, (unsigned long long)(now - h->since),
		       srv->budget.used, srv->budget.limit, (unsigned long long)suppressed);
	dcerpc__conn_close(c); /* conn_teardown releases what it held */
}

/*
 * Account n bytes that c makes us hold, cutting the oldest holders if the
 * server-wide budget is full. On failure c itself is the oldest (or alone
 * too big): the caller refuses the bytes and closes c.
 */
int dcerpc__conn_charge(struct conn *c, size_t *acct, size_t n)
{
	dcerpc_server_t *srv = c->srv;
	if (dcerpc_budget_charge(&srv->budget, &c->hold, n, uv_now(srv->loop), budget_cut, srv) <
	    0) {
		budget_cut(srv, &c->hold);
		return WD_ENOMEM;
	}
	*acct += n;
	return 0;
}

/* ---- per-IP connection counts (hashed: an accept costs the same at any N) ---- */

static struct ip_count *ip_find(dcerpc_server_t *srv, const char *ip, uint64_t h)
{
	for (struct wd_hnode *n = wd_htab_first(&srv->ip_counts, h); n; n = wd_htab_next(n, h)) {
		struct ip_count *e = wd_hentry(n, struct ip_count, hnode);
		if (strcmp(e->ip, ip) == 0)
			return e;
	}
	return NULL;
}

static int ip_inc(dcerpc_server_t *srv, const char *ip)
{
	uint64_t h = wd_htab_hash(&srv->ip_counts, ip, strlen(ip));
	struct ip_count *e = ip_find(srv, ip, h);
	if (!e) {
		size_t len = strlen(ip) + 1;
		e = calloc(1, sizeof(*e) + len);
		if (!e)
			return WD_ENOMEM;
		memcpy(e->ip, ip, len);
		if (wd_htab_insert(&srv->ip_counts, &e->hnode, h) < 0) {
			free(e);
			return WD_ENOMEM;
		}
	}
	if (e->n >= srv->limits.max_connections_per_ip)
		return WD_ELIMIT;
	e->n++;
	return 0;
}

void dcerpc__ip_counts_free(dcerpc_server_t *srv)
{
	for (size_t i = 0; i < srv->ip_counts.nb; i++)
		while (srv->ip_counts.b[i]) {
			struct wd_hnode *n = srv->ip_counts.b[i];
			wd_htab_remove(&srv->ip_counts, n);
			free(wd_hentry(n, struct ip_count, hnode));
		}
	wd_htab_free(&srv->ip_counts);
}

static void ip_dec(dcerpc_server_t *srv, const char *ip)
{
	struct ip_count *e = ip_find(srv, ip, wd_htab_hash(&srv->ip_counts, ip, strlen(ip)));
	if (!e)
		return;
	if (--e->n == 0) {
		wd_htab_remove(&srv->ip_counts, &e->hnode);
		free(e);
	}
}

/* ---- writing ---- */

struct wreq {
	uv_write_t req;
	struct conn *conn;
	uint8_t *data;
	size_t charged;
};

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->conn;
	free(w->data);
	/* after conn_teardown write_charged is 0: nothing to give back twice */
	size_t n = w->charged < c->write_charged ? w->charged : c->write_charged;
	dcerpc_budget_release(&c->srv->budget, &c->hold, n);
	c->write_charged -= n;
	if (status < 0 && !w->conn->closing)
		dcerpc__conn_close(w->conn);
	free(w);
}

int dcerpc__conn_send(struct conn *c, struct dcerpc_buf *b)
{
	if (c->closing || b->len == 0) {
		dcerpc_buf_free(b);
		return c->closing ? WD_ESTATE : 0;
	}
	size_t cap = dcerpc__conn_trusted(c) ? MAX_WRITE_QUEUE : MAX_WRITE_QUEUE_UNAUTH;
	if (c->write_charged > cap) {
		wd_log(WD_LOG_WARNING, "dcerpc.conn.write_queue_full", "remote=%s queued=%zu",
		       c->peer.remote_addr, c->write_charged);
		dcerpc_buf_free(b);
		dcerpc__conn_close(c);
		return WD_ELIMIT;
	}
	/*
	 * The common case, a witness fan-out above all (thousands of small
	 * replies in a row): nothing is queued and the kernel takes the whole
	 * PDU, so no write request, budget charge or callback is needed. What
	 * it does not take is queued behind, in order.
	 */
	if (c->write_charged == 0 && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
		uv_buf_t tb = uv_buf_init((char *)b->data, (unsigned)b->len);
		int n = uv_try_write((uv_stream_t *)&c->tcp, &tb, 1);
		if (n > 0 && (size_t)n == b->len) {
			c->srv->pkts_out++;
			dcerpc_buf_free(b);
			return 0;
		}
		if (n > 0) {
			memmove(b->data, b->data + n, b->len - (size_t)n);
			b->len -= (size_t)n;
		}
		/* UV_EAGAIN, or an error that uv_write reports below */
	}
	struct wreq *w = malloc(sizeof(*w));
	if (!w || dcerpc__conn_charge(c, &c->write_charged, b->len) < 0) {
		free(w);
		dcerpc_buf_free(b);
		dcerpc__conn_close(c);
		return WD_ENOMEM;
	}
	w->conn = c;
	w->charged = b->len;
	w->data = b->data;
	uv_buf_t ub = uv_buf_init((char *)b->data, (unsigned)b->len);
	b->data = NULL;
	b->len = b->cap = 0;
	c->srv->pkts_out++;
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write);
	if (rc < 0) {
		free(w->data);
		free(w);
		dcerpc__conn_close(c);
		return WD_EIO;
	}
	return 0;
}

/* ---- life cycle ---- */

static void conn_uncharge_frag(struct conn *c)
{
	if (c->frag_charged) {
		dcerpc_budget_release(&c->srv->budget, &c->hold, c->frag_charged);
		c->frag_charged = 0;
	}
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = (struct conn *)h;
	dcerpc_server_t *srv = c->srv;
	/* on the list until here, so that server close and the sweep can
	 * still reach a connection that waits for its shutdown */
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	if (srv->closing && !srv->conns)
		dcerpc__srv_conns_flushed(srv);
	srv->closing_handles--;
	dcerpc__srv_maybe_finish_close(srv);
}

static void conn_teardown(struct conn *c)
{
	dcerpc_server_t *srv = c->srv;
	dcerpc__calls_cancel_all(c);
	free(c->frag);
	c->frag = NULL;
	/* frag, reassembly and queued writes: all given back at once */
	dcerpc_budget_release(&srv->budget, &c->hold, c->hold.bytes);
	c->frag_charged = c->reasm_charged = c->write_charged = 0;
	free(c->ctxs);
	c->ctxs = NULL;
	c->n_ctx = 0;
	dcerpc__auth_free(c);
	dcerpc__group_detach(c);
	if (c->counted) {
		srv->stats.connections_open--;
		metrics_connection(-1);
		ip_dec(srv, c->peer.remote_ip);
		if (srv->observer)
			srv->observer(srv->observer_arg, false, c->peer.local_ip,
			              c->peer.local_port, c->peer.remote_ip, c->peer.remote_port);
		c->counted = false;
	}
}

/* Stop reading and tear the connection down once; false if already closing. */
static bool conn_begin_close(struct conn *c)
{
	if (c->closing)
		return false;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	conn_teardown(c);
	c->srv->closing_handles++;
	return true;
}

void dcerpc__conn_close(struct conn *c)
{
	if (conn_begin_close(c))
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	free(req);
	/* the server (or the sweep) may have closed it while the shutdown waited */
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* Flush what is queued (a fault, a bind_nak), then close. */
void dcerpc__conn_close_after_write(struct conn *c)
{
	if (!conn_begin_close(c))
		return;
	uv_shutdown_t *req = malloc(sizeof(*req));
	c->shutdown_at = uv_now(c->srv->loop);
	if (req) {
		c->shutting = true;
		req->data = c;
		if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) == 0)
			return;
		free(req);
	}
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* ---- reading and framing ---- */

static void process_fragment(struct conn *c, uint8_t *buf, size_t len)
{
	c->srv->pkts_in++;
	switch (buf[2]) {
	case DCERPC_PKT_BIND:
		dcerpc__handle_bind(c, buf, len);
		break;
	case DCERPC_PKT_ALTER:
		dcerpc__handle_alter(c, buf, len);
		break;
	case DCERPC_PKT_AUTH3:
		dcerpc__handle_auth3(c, buf, len);
		break;
	case DCERPC_PKT_REQUEST:
		dcerpc__handle_request(c, buf, len);
		break;
	case DCERPC_PKT_CO_CANCEL:
	case DCERPC_PKT_ORPHANED:
		dcerpc__handle_cancel(c, buf, len);
		break;
	default: {
		dcerpc__fault_disconnect(c, dcerpc__raw_call_id(buf, len), 0,
		                         DCERPC_FAULT_PROTO_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
		break;
	}
	}
}

/* The header is complete: validate it and prepare the fragment buffer. */
static int header_ready(struct conn *c)
{
	struct dcerpc_hdr h;
	int rc = dcerpc_hdr_pull(c->hdr, DCERPC_HDR_LEN, &h);
	bool auth_len_bad = rc == WD_EPROTO && h.frag_length >= DCERPC_HDR_LEN &&
	                    h.drep[0] == 0x10 && !h.drep[1] && !h.drep[2] && !h.drep[3];
	if ((rc == WD_EVERSION && h.rpc_vers == 5) || auth_len_bad) {
		/* an auth_length that cannot fit is answered like a bad
		 * version (Samba, raw test invalid_auth_noctx) */
		/* Samba: bind -> bind_nak 4 with {5,0}; else fault proto_error */
		c->srv->stats.protocol_errors++;
		if (h.ptype == DCERPC_PKT_BIND)
			dcerpc__send_bind_nak(c, h.call_id, DCERPC_NAK_PROTOCOL_VERSION);
		else
			dcerpc__fault_disconnect(c, h.call_id, 0, DCERPC_FAULT_PROTO_ERROR,
			                         DCERPC_PFC_DID_NOT_EXECUTE);
		return -1;
	}
	if (rc < 0) {
		/* not DCERPC, or lengths that cannot frame: just close */
		c->srv->stats.protocol_errors++;
		dcerpc__conn_close(c);
		return -1;
	}
	if (h.ptype == DCERPC_PKT_REQUEST && h.frag_length > c->srv->limits.max_frag) {
		/* Samba: request fragments above 5840 -> proto_error, no
		 * did_not_execute [CORE 2355] */
		dcerpc__fault_disconnect(c, h.call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
		return -1;
	}
	if (dcerpc__conn_charge(c, &c->frag_charged, h.frag_length) < 0)
		return -1;
	c->frag = malloc(h.frag_length);
	if (!c->frag) {
		dcerpc__conn_close(c);
		return -1;
	}
	memcpy(c->frag, c->hdr, DCERPC_HDR_LEN);
	c->frag_len = h.frag_length;
	c->frag_have = DCERPC_HDR_LEN;
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = (struct conn *)h;
	*buf = uv_buf_init((char *)c->srv->readbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub)
{
	struct conn *c = (struct conn *)s;
	if (nread < 0) {
		dcerpc__conn_close(c);
		return;
	}
	const uint8_t *p = (const uint8_t *)ub->base;
	size_t n = (size_t)nread;
	while (n > 0 && !c->closing) {
		if (!c->frag) {
			size_t k = DCERPC_HDR_LEN - c->hdr_have;
			if (k > n)
				k = n;
			if (c->hdr_have == 0)
				c->frag_started = uv_now(c->srv->loop);
			memcpy(c->hdr + c->hdr_have, p, k);
			c->hdr_have += (uint8_t)k;
			p += k;
			n -= k;
			if (c->hdr_have < DCERPC_HDR_LEN)
				break;
			c->hdr_have = 0;
			if (header_ready(c) < 0)
				return;
		}
		size_t k = (size_t)c->frag_len - c->frag_have;
		if (k > n)
			k = n;
		memcpy(c->frag + c->frag_have, p, k);
		c->frag_have += (uint16_t)k;
		p += k;
		n -= k;
		if (c->frag_have == c->frag_len) {
			uint8_t *f = c->frag;
			c->frag = NULL;
			process_fragment(c, f, c->frag_len);
			free(f);
			conn_uncharge_frag(c);
		}
	}
}

/* ---- accepting ---- */

/* "ipv4:127.0.0.1:135" (Samba tsocket style); IPv4-mapped IPv6 shown as IPv4 */
static void fmt_addr(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *full,
                     size_t fulllen, uint16_t *port)
{
	ip[0] = 0;
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		uv_ip4_name(a, ip, iplen);
		*port = ntohs(a->sin_port);
		snprintf(full, fulllen, "ipv4:%s:%u", ip, *port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		*port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			struct sockaddr_in v4;
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			memcpy(&v4.sin_addr, &a->sin6_addr.s6_addr[12], 4);
			uv_ip4_name(&v4, ip, iplen);
			snprintf(full, fulllen, "ipv4:%s:%u", ip, *port);
		} else {
			uv_ip6_name(a, ip, iplen);
			snprintf(full, fulllen, "ipv6:%s:%u", ip, *port);
		}
	} else {
		snprintf(full, fulllen, "unknown");
	}
}

/*
 * Set once on each listening socket: Linux copies a listener's socket options
 * to every socket accept() returns, and re-arms the keepalive timer of each
 * (net/ipv4/tcp_minisocks.c, tcp_create_openreq_child), which saves an
 * accept six setsockopt calls.
 * A witness client keeps an idle connection with a pending AsyncNotify;
 * keepalive finds the ones that died without a FIN so that their calls are
 * cancelled and their registrations go ([MS-SWN] 3.1.6.5).
 */
void dcerpc__listener_opts(int fd)
{
	int one = 1, idle = KEEPALIVE_S, intvl = 10, cnt = 6; /* dead after ~2 minutes */
	/* keepalive probes wait while sent data is unacknowledged: bound that
	 * case too, or a peer that vanished under a reply holds its fd for
	 * the kernel's ~16 minutes of retransmissions (tcp(7)) */
	unsigned user_timeout = (KEEPALIVE_S + 10 * 6) * 1000;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

void dcerpc__conn_accept(struct dcerpc_acceptor *a, int fd)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	srv->stats.accept_paused = false;
	/* the addresses first: the connection is allocated with them */
	char lip[48], lfull[64], rip[48], rfull[64];
	uint16_t lport, rport;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	fmt_addr(&ss, lip, sizeof(lip), lfull, sizeof(lfull), &lport);
	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	fmt_addr(&ss, rip, sizeof(rip), rfull, sizeof(rfull), &rport);
	size_t n1 = strlen(lfull) + 1, n2 = strlen(rfull) + 1, n3 = strlen(lip) + 1,
	       n4 = strlen(rip) + 1;
	struct conn *c = srv->closing ? NULL : calloc(1, sizeof(*c) + n1 + n2 + n3 + n4);
	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	memcpy(c->addrs, lfull, n1);
	memcpy(c->addrs + n1, rfull, n2);
	memcpy(c->addrs + n1 + n2, lip, n3);
	memcpy(c->addrs + n1 + n2 + n3, rip, n4);
	c->peer.local_addr = c->addrs;
	c->peer.remote_addr = c->addrs + n1;
	c->peer.local_ip = c->addrs + n1 + n2;
	c->peer.remote_ip = c->addrs + n1 + n2 + n3;
	c->peer.local_port = lport;
	c->peer.remote_port = rport;
	if (uv_tcp_init(srv->loop, &c->tcp) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	dcerpc__sweep_arm(srv);
	if (uv_tcp_open(&c->tcp, fd) < 0) {
		close(fd);
		dcerpc__conn_close(c);
		return;
	}
	c->peer.auth = &anon_session;
	c->max_xmit = 2048;
	c->accepted_at = uv_now(srv->loop);
	srv->stats.connections_total++;
	if (srv->stats.connections_open >= srv->limits.max_connections ||
	    ip_inc(srv, c->peer.remote_ip) < 0) {
		uint64_t suppressed;
		srv->stats.connections_refused++;
		metrics_refused(METRICS_REFUSED_LIMITS);
		if (dcerpc__log_allow(&srv->log_conn_limit, c->accepted_at, &suppressed))
			wd_log(WD_LOG_WARNING, "dcerpc.conn.limit",
			       "remote=%s open=%u max=%u suppressed=%llu", c->peer.remote_addr,
			       srv->stats.connections_open, srv->limits.max_connections,
			       (unsigned long long)suppressed);
		dcerpc__conn_close(c);
		return;
	}
	c->counted = true;
	srv->stats.connections_open++;
	metrics_connection(+1);
	/* TCP_NODELAY and keepalive come from the listener (dcerpc__listener_opts) */
	if (srv->observer)
		srv->observer(srv->observer_arg, true, c->peer.local_ip, c->peer.local_port,
		              c->peer.remote_ip, c->peer.remote_port);
	if (!c->closing && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		dcerpc__conn_close(c);
}

/* ---- the sweep of stuck peers ---- */

/* Close connections stuck in a fragment or never bound (slowloris guard). */
static void on_sweep(uv_timer_t *t)
{
	dcerpc_server_t *srv = t->data;
	uint64_t now = uv_now(srv->loop);
	struct conn *c = srv->conns;
	while (c) {
		struct conn *next = c->next;
		bool partial = c->frag || c->hdr_have;
		if (c->shutting && now - c->shutdown_at > SHUTDOWN_TIMEOUT_MS &&
		    !uv_is_closing((uv_handle_t *)&c->tcp)) {
			/* the peer does not read what we flush: give up */
			uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		} else if (!c->closing &&
		           ((partial && now - c->frag_started > srv->limits.frag_timeout_ms) ||
		            (!c->bound && now - c->accepted_at > srv->limits.bind_timeout_ms))) {
			wd_log(WD_LOG_INFO, "dcerpc.conn.timeout", "remote=%s",
			       c->peer.remote_addr);
			dcerpc__conn_close(c);
		} else if (!c->closing && c->reasm_active &&
		           now - c->reasm_started > srv->limits.request_timeout_ms) {
			/* a request started and never finished pins its reassembly buffer */
			uint64_t suppressed;
			srv->stats.request_timeouts++;
			if (dcerpc__log_allow(&srv->log_timeout, now, &suppressed))
				wd_log(WD_LOG_WARNING, "dcerpc.request.timeout",
				       "remote=%s call_id=%u held=%zu suppressed=%llu",
				       c->peer.remote_addr, c->reasm_call_id, c->reasm.cap,
				       (unsigned long long)suppressed);
			dcerpc__conn_close(c);
		}
		c = next;
	}
	/* nothing to time without connections: no wake-ups while idle */
	if (srv->conns == NULL)
		uv_timer_stop(t);
}

static uint64_t sweep_every(const dcerpc_server_t *srv)
{
	uint64_t every = SWEEP_MS;
	if (srv->limits.frag_timeout_ms / 2 < every)
		every = srv->limits.frag_timeout_ms / 2 + 1;
	if (srv->limits.bind_timeout_ms / 2 < every)
		every = srv->limits.bind_timeout_ms / 2 + 1;
	if (srv->limits.request_timeout_ms / 2 < every)
		every = srv->limits.request_timeout_ms / 2 + 1;
	return every;
}

void dcerpc__sweep_start(dcerpc_server_t *srv)
{
	if (srv->sweep_started)
		return;
	uv_timer_init(srv->loop, &srv->sweep);
	srv->sweep.data = srv;
	uv_unref((uv_handle_t *)&srv->sweep);
	srv->sweep_started = true;
	dcerpc__sweep_arm(srv);
}

/* The sweep runs while there are connections (started by the first). */
void dcerpc__sweep_arm(dcerpc_server_t *srv)
{
	if (!srv->sweep_started || srv->closing || srv->conns == NULL ||
	    uv_is_active((uv_handle_t *)&srv->sweep))
		return;
	uint64_t every = sweep_every(srv);
	uv_timer_start(&srv->sweep, on_sweep, every, every);
}

bool dcerpc__conn_close_all(dcerpc_server_t *srv)
{
	bool flushing = false;
	struct conn *c = srv->conns;
	while (c) {
		struct conn *next = c->next;
		if (!c->closing)
			dcerpc__conn_close_after_write(c); /* the replies queued last go out */
		if (!uv_is_closing((uv_handle_t *)&c->tcp))
			flushing = true;
		c = next;
	}
	return flushing;
}

void dcerpc__conn_close_now_all(dcerpc_server_t *srv)
{
	for (struct conn *c = srv->conns; c; c = c->next)
		if (!uv_is_closing((uv_handle_t *)&c->tcp))
			uv_close((uv_handle_t *)&c->tcp, on_conn_closed); /* stop flushing */
}

unsigned dcerpc_server_drop_local_ip(dcerpc_server_t *srv, const char *ip)
{
	unsigned n = 0;
	struct conn *c = srv->conns;
	while (c) {
		struct conn *next = c->next;
		if (!c->closing && strcmp(c->peer.local_ip, ip) == 0) {
			dcerpc__conn_close(c);
			n++;
		}
		c = next;
	}
	if (n)
		wd_log(WD_LOG_NOTICE, "dcerpc.drop_local_ip", "ip=%s connections=%u", ip, n);
	return n;
}
