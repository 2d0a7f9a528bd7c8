/*
 * server.c - the connection-oriented DCERPC server on libuv: the server
 * object, its interfaces, listeners and limits, and its shutdown.
 * [C706] ch. 12, [MS-RPCE] 3.3; behaviour checked against Samba's
 * dcesrv_core.c. server_int.h says which file does what.
 *
 * One loop, no threads. A connection holds no big buffer while idle: bytes
 * are read into one server-wide buffer, a fragment buffer is allocated only
 * once its header has arrived (bounded by frag_length <= 65535) and freed as
 * soon as it is processed; a reassembly buffer exists only while a
 * multi-fragment request is arriving.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "server_int.h"

static void on_listener_closed(struct dcerpc_acceptor *a);

/* ---- limits, registry ---- */

void dcerpc_limits_default(struct dcerpc_limits *l)
{
	l->max_connections = 20000;
	l->max_connections_per_ip = 1024;
	l->max_frag = 5840; /* Samba's DCERPC_FRAG_MAX_SIZE for TCP (dcerpc.h) */
	l->max_request = 1u << 20;
	l->max_pending_calls = 64;
	l->max_assoc_groups = 20000;
	l->frag_timeout_ms = FRAG_TIMEOUT_MS;
	l->bind_timeout_ms = UNBOUND_TIMEOUT_MS;
	l->max_request_unauth = MAX_REQUEST_UNAUTH;
	l->max_buffer_memory = MAX_BUFFER_MEMORY;
	l->request_timeout_ms = REQUEST_TIMEOUT_MS;
}

void dcerpc_server_set_limits(dcerpc_server_t *srv, const struct dcerpc_limits *limits)
{
	if (limits)
		srv->limits = *limits;
	else
		dcerpc_limits_default(&srv->limits);
	if (srv->limits.max_frag < 2048 || srv->limits.max_frag > 5840)
		srv->limits.max_frag = 5840;
	if (!srv->limits.frag_timeout_ms)
		srv->limits.frag_timeout_ms = FRAG_TIMEOUT_MS;
	if (!srv->limits.bind_timeout_ms)
		srv->limits.bind_timeout_ms = UNBOUND_TIMEOUT_MS;
	if (!srv->limits.request_timeout_ms)
		srv->limits.request_timeout_ms = REQUEST_TIMEOUT_MS;
	if (!srv->limits.max_request_unauth)
		srv->limits.max_request_unauth = MAX_REQUEST_UNAUTH;
	if (srv->limits.max_request_unauth > srv->limits.max_request)
		srv->limits.max_request_unauth = srv->limits.max_request;
	if (!srv->limits.max_buffer_memory)
		srv->limits.max_buffer_memory = MAX_BUFFER_MEMORY;
	srv->budget.limit = srv->limits.max_buffer_memory;
}

int dcerpc_server_new(uv_loop_t *loop, const struct dcerpc_limits *limits, auth_server_t *auth,
                      dcerpc_server_t **out)
{
	if (!loop || !out)
		return WD_EINVAL;
	dcerpc_server_t *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return WD_ENOMEM;
	srv->loop = loop;
	wd_htab_init(&srv->ip_counts);
	wd_htab_init(&srv->handles);
	dcerpc_server_set_limits(srv, limits);
	srv->full_level = AUTH_LEVEL_CONNECT;
	srv->auth = auth;
	*out = srv;
	return 0;
}

int dcerpc_server_add_iface(dcerpc_server_t *srv, const struct dcerpc_iface *iface)
{
	if (!srv || !iface || !iface->dispatch)
		return WD_EINVAL;
	if (srv->n_ifaces >= DCERPC_MAX_IFACES)
		return WD_ELIMIT;
	for (unsigned i = 0; i < srv->n_ifaces; i++)
		if (wd_guid_equal(&srv->ifaces[i]->syntax.uuid, &iface->syntax.uuid) &&
		    srv->ifaces[i]->syntax.major == iface->syntax.major)
			return WD_EEXIST;
	srv->ifaces[srv->n_ifaces++] = iface;
	if (iface->min_auth_level > srv->full_level)
		srv->full_level = iface->min_auth_level;
	return 0;
}

unsigned dcerpc_server_iface_count(const dcerpc_server_t *srv)
{
	return srv->n_ifaces;
}

const struct dcerpc_iface *dcerpc_server_iface_at(const dcerpc_server_t *srv, unsigned i)
{
	return i < srv->n_ifaces ? srv->ifaces[i] : NULL;
}

struct dcerpc_epm_entry **dcerpc_server_epm_list(dcerpc_server_t *srv)
{
	return &srv->epm;
}

char **dcerpc_server_princ_slot(dcerpc_server_t *srv)
{
	return &srv->princ_name;
}

void dcerpc_server_mgmt_stats(const dcerpc_server_t *srv, uint32_t out[4])
{
	out[0] = (uint32_t)srv->stats.calls_total;
	out[1] = 0;
	out[2] = srv->pkts_in;
	out[3] = srv->pkts_out;
}

void dcerpc_server_stats(const dcerpc_server_t *srv, struct dcerpc_stats *out)
{
	*out = srv->stats;
	out->buffer_bytes = srv->budget.used;
	out->buffer_peak = srv->budget.peak;
}

/* ---- rate-limited warnings ---- */

/*
 * True when a warning may be logged now; *suppressed is how many were held
 * back since the last one. A flood of 10,000 cut peers logs one line per
 * LOG_INTERVAL_MS, each saying how many it stands for.
 */
bool dcerpc__log_allow(struct log_limit *l, uint64_t now, uint64_t *suppressed)
{
	if (l->used && now - l->last < LOG_INTERVAL_MS) {
		l->suppressed++;
		return false;
	}
	*suppressed = l->suppressed;
	l->suppressed = 0;
	l->last = now;
	l->used = true;
	return true;
}

void dcerpc_server_set_conn_observer(dcerpc_server_t *srv, dcerpc_conn_cb cb, void *arg)
{
	srv->observer = cb;
	srv->observer_arg = arg;
}

/* [C706] 12.6.3.1: same major, client minor <= ours */
const struct dcerpc_iface *dcerpc__iface_find(dcerpc_server_t *srv,
                                              const struct dcerpc_pdu_syntax *abs)
{
	uint16_t major = (uint16_t)(abs->version & 0xffff);
	uint16_t minor = (uint16_t)(abs->version >> 16);
	for (unsigned i = 0; i < srv->n_ifaces; i++) {
		const struct dcerpc_iface *f = srv->ifaces[i];
		if (wd_guid_equal(&f->syntax.uuid, &abs->uuid) && f->syntax.major == major &&
		    minor <= f->syntax.minor)
			return f;
	}
	return NULL;
}

/* ---- listeners ---- */

/* accept() failed: out of descriptors or memory; accept.c pauses the listener. */
static void on_accept_error(struct dcerpc_acceptor *a, int err, bool paused)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	uint64_t suppressed;
	srv->stats.accept_errors++;
	srv->stats.accept_paused = paused;
	if (dcerpc__log_allow(&srv->log_accept, uv_now(srv->loop), &suppressed))
		wd_log(WD_LOG_ERR, "dcerpc.accept.failed",
		       "port=%u err=%s open=%u paused=%s suppressed=%llu", l->port,
		       uv_strerror(err), srv->stats.connections_open, paused ? "yes" : "no",
		       (unsigned long long)suppressed);
}

int dcerpc_server_listen(dcerpc_server_t *srv, const char *addr, uint16_t port, uint16_t *bound)
{
	return dcerpc_server_listen_opt(srv, addr, port, false, bound, NULL);
}

int dcerpc_server_listen_opt(dcerpc_server_t *srv, const char *addr, uint16_t port, bool freebind,
                             uint16_t *bound, int *sys_errno)
{
	if (sys_errno)
		*sys_errno = 0;
	if (!srv || !addr || srv->closing)
		return WD_EINVAL;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) != 0)
		return WD_EINVAL;
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return WD_ENOMEM;
	l->srv = srv;
	l->acc.data = l;
	l->acc.on_fd = dcerpc__conn_accept;
	l->acc.on_err = on_accept_error;
	l->acc.on_closed = on_listener_closed;
	l->acc.freebind = freebind;
	int rc = dcerpc_acceptor_open(&l->acc, srv->loop, (struct sockaddr *)&ss, 1024);
	if (rc < 0) {
		if (sys_errno)
			*sys_errno = -rc;
		wd_log(WD_LOG_ERR, "dcerpc.listen.failed", "addr=%s port=%u err=%s", addr, port,
		       uv_strerror(rc));
		free(l);
		return rc == UV_EADDRINUSE ? WD_EEXIST : WD_EIO;
	}
	dcerpc__listener_opts(l->acc.fd);
	l->port = l->acc.port;
	if (bound)
		*bound = l->port;
	l->next = srv->listeners;
	srv->listeners = l;
	dcerpc__sweep_start(srv);
	wd_log(WD_LOG_INFO, "dcerpc.listen", "addr=%s port=%u", addr, l->port);
	return 0;
}

/* ---- shutdown ---- */

static void on_listener_closed(struct dcerpc_acceptor *a)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	free(l);
	srv->closing_handles--;
	dcerpc__srv_maybe_finish_close(srv);
}

static void on_sweep_closed(uv_handle_t *h)
{
	dcerpc_server_t *srv = h->data;
	srv->closing_handles--;
	dcerpc__srv_maybe_finish_close(srv);
}

/* Closing: the flush time is over; close what still flushes. */
static void on_close_deadline(uv_timer_t *t)
{
	dcerpc_server_t *srv = t->data;
	dcerpc__conn_close_now_all(srv);
	if (!uv_is_closing((uv_handle_t *)&srv->sweep))
		uv_close((uv_handle_t *)&srv->sweep, on_sweep_closed);
}

void dcerpc__srv_conns_flushed(dcerpc_server_t *srv)
{
	if (srv->sweep_started && !uv_is_closing((uv_handle_t *)&srv->sweep))
		uv_close((uv_handle_t *)&srv->sweep, on_sweep_closed);
}

void dcerpc__srv_maybe_finish_close(dcerpc_server_t *srv)
{
	if (!srv->closing || srv->closing_handles > 0)
		return;
	dcerpc__groups_free_all(srv);
	while (srv->epm) {
		struct dcerpc_epm_entry *e = srv->epm;
		srv->epm = e->next;
		free(e);
	}
	dcerpc__ip_counts_free(srv);
	free(srv->princ_name);
	void (*cb)(void *) = srv->close_cb;
	void *arg = srv->close_arg;
	free(srv);
	if (cb)
		cb(arg);
}

void dcerpc_server_close(dcerpc_server_t *srv, void (*cb)(void *arg), void *arg)
{
	if (!srv || srv->closing)
		return;
	srv->closing = true;
	srv->close_cb = cb;
	srv->close_arg = arg;
	srv->closing_handles++; /* guard while we close everything */
	while (srv->listeners) {
		struct listener *l = srv->listeners;
		srv->listeners = l->next;
		srv->closing_handles++;
		dcerpc_acceptor_close(&l->acc);
	}
	/*
	 * Replies already queued (the answers a graceful stop gives to pending
	 * calls) are flushed before each close, for at most CLOSE_FLUSH_MS: a
	 * peer that does not read loses them then, and the exit is bounded.
	 */
	bool flushing = dcerpc__conn_close_all(srv);
	if (srv->sweep_started) {
		srv->closing_handles++;
		uv_timer_stop(&srv->sweep);
		if (flushing && srv->conns) {
			uv_ref((uv_handle_t *)&srv->sweep);
			uv_timer_start(&srv->sweep, on_close_deadline, CLOSE_FLUSH_MS, 0);
		} else {
			uv_close((uv_handle_t *)&srv->sweep, on_sweep_closed);
		}
	} else {
		dcerpc__conn_close_now_all(srv); /* no timer to bound a flush */
	}
	srv->closing_handles--;
	if (srv->closing_handles == 0) {
		/* nothing to wait for: finish on the next loop turn is not needed */
		dcerpc__srv_maybe_finish_close(srv);
	}
}
