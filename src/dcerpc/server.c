/*
 * server.c - the connection-oriented DCERPC server core on libuv.
 * [C706] ch. 12, [MS-RPCE] 3.3; behaviour checked against Samba's dcesrv_core.c.
 *
 * One loop, no threads. A connection holds no big buffer while idle: bytes
 * are read into one server-wide buffer, a fragment buffer is allocated only
 * once its header has arrived (bounded by frag_length <= 65535) and freed as
 * soon as it is processed; a reassembly buffer exists only while a
 * multi-fragment request is arriving.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/log.h"
#include "accept.h"
#include "budget.h"
#include "pdu.h"
#include "server_int.h"

#define READ_BUF_SIZE            65536
#define MAX_CTX_PER_CONN         16
#define MAX_WRITE_QUEUE          (4u << 20)   /* client not reading: close */
#define MAX_WRITE_QUEUE_UNAUTH   (256u << 10) /* the same before full auth */
#define FRAG_TIMEOUT_MS          30000        /* a started fragment must complete */
#define REQUEST_TIMEOUT_MS       30000        /* a started request must complete */
#define MAX_REQUEST_UNAUTH       (16u << 10)
#define MAX_BUFFER_MEMORY        (64u << 20)
#define LOG_INTERVAL_MS          10000 /* rate limit of the warnings a flood can trigger */
#define UNBOUND_TIMEOUT_MS       60000 /* a connection must bind */
#define SHUTDOWN_TIMEOUT_MS      10000 /* flushing a last fault or bind_nak */
#define KEEPALIVE_S              60
#define SWEEP_MS                 5000
#define IP_BUCKETS               256
#define BTFN_KEEP_CONN_ON_ORPHAN 0x02 /* [MS-RPCE] 2.2.2.14 */

struct assoc_group {
	struct assoc_group *next, *prev;
	dcerpc_server_t *srv;
	uint32_t id;
	unsigned conns;
	char remote_ip[48];
	struct dcerpc_handle *handles;
};

struct dcerpc_handle {
	struct dcerpc_handle *next, *prev;
	struct assoc_group *group;
	struct dcerpc_wire_handle wire;
	void *data;
	dcerpc_handle_destroy_cb destroy;
};

struct pres_ctx {
	uint16_t id;
	uint32_t proposed_version; /* abstract syntax version the client asked for */
	const struct dcerpc_iface *iface;
};

struct ip_count {
	struct ip_count *next;
	unsigned n;
	char ip[48];
};

struct conn;

struct dcerpc_call {
	struct dcerpc_call *next, *prev;
	struct conn *conn;
	uint32_t call_id;
	uint16_t context_id;
	uint16_t opnum;
	const struct dcerpc_iface *iface;
	dcerpc_cancel_cb cancel_cb;
	void *cancel_arg;
	bool cancelled; /* the cancel callback runs: the core frees the call */
	bool orphaned;  /* client abandoned it: the reply is dropped */
};

struct conn {
	uv_tcp_t tcp; /* first: handle->data is not needed */
	dcerpc_server_t *srv;
	struct conn *next, *prev;
	struct assoc_group *group;
	struct dcerpc_peer peer;
	char local_addr[64], remote_addr[64], local_ip[48], remote_ip[48];
	uint64_t accepted_at;

	/* framing */
	uint8_t hdr[DCERPC_HDR_LEN];
	uint8_t hdr_have;
	uint8_t *frag; /* whole fragment while it arrives */
	uint16_t frag_len;
	uint16_t frag_have;
	uint64_t frag_started;

	/* what this peer makes us hold, on the server's budget (budget.h) */
	struct dcerpc_hold hold;
	size_t frag_charged, reasm_charged, write_charged;
	uint64_t reasm_started;

	/* reassembly of a multi-fragment request */
	struct dcerpc_buf reasm;
	bool reasm_active;
	bool discard_active; /* drop further fragments of a faulted call */
	uint32_t reasm_call_id;
	uint16_t reasm_ctx;
	uint16_t reasm_opnum;
	uint32_t discard_call_id;

	struct pres_ctx *ctxs;
	uint8_t n_ctx;
	uint16_t max_xmit;
	bool bound, conc_mpx, closing, counted, shutting;
	uint64_t shutdown_at;

	/* auth (one security context per connection) */
	auth_ctx_t *auth;
	uint8_t auth_type, auth_level;
	uint32_t auth_context_id;
	bool auth_done, auth_invalid;

	struct dcerpc_call *calls;
	unsigned n_calls;
};

/* One warning per interval for events that a flood can trigger by the thousand. */
struct log_limit {
	uint64_t last;
	uint64_t suppressed;
	bool used;
};

struct listener {
	struct dcerpc_acceptor acc;
	dcerpc_server_t *srv;
	struct listener *next;
	uint16_t port;
};

struct dcerpc_server {
	uv_loop_t *loop;
	struct dcerpc_limits limits;
	auth_server_t *auth;
	const struct dcerpc_iface *ifaces[DCERPC_MAX_IFACES];
	unsigned n_ifaces;
	struct listener *listeners;
	struct conn *conns;
	struct assoc_group *groups;
	uint32_t next_group_id;
	struct ip_count *ip_counts[IP_BUCKETS];
	struct dcerpc_stats stats;
	struct dcerpc_budget budget;
	uint8_t full_level; /* auth level at which a peer gets the full limits */
	struct log_limit log_cut, log_timeout, log_large, log_accept, log_conn_limit;
	uv_timer_t accept_retry; /* listeners paused after EMFILE/ENFILE */
	bool accept_retry_init;
	uint32_t pkts_in, pkts_out;
	dcerpc_conn_cb observer;
	void *observer_arg;
	struct dcerpc_epm_entry *epm;
	char *princ_name;
	uv_timer_t sweep;
	bool sweep_started;
	bool closing;
	unsigned closing_handles;
	void (*close_cb)(void *arg);
	void *close_arg;
	uint8_t readbuf[READ_BUF_SIZE]; /* shared: one loop, read_cb consumes it at once */
};

static const struct auth_session anon_session = {
    .auth_type = AUTH_TYPE_NONE,
    .auth_level = AUTH_LEVEL_NONE,
};

static void conn_close(struct conn *c);
static void conn_close_after_write(struct conn *c);
static void srv_maybe_finish_close(dcerpc_server_t *srv);
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

int dcerpc_server_new(uv_loop_t *loop, const struct dcerpc_limits *limits, auth_server_t *auth,
                      dcerpc_server_t **out)
{
	if (!loop || !out)
		return WD_EINVAL;
	dcerpc_server_t *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return WD_ENOMEM;
	srv->loop = loop;
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
	srv->full_level = AUTH_LEVEL_CONNECT;
	srv->auth = auth;
	struct wd_guid g;
	if (wd_guid_random(&g) == 0)
		srv->next_group_id = (g.time_low & 0x00ffffff) | 0x1000;
	else
		srv->next_group_id = 0x1234;
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

/* ---- the buffer budget and rate-limited warnings ---- */

/*
 * True when a warning may be logged now; *suppressed is how many were held
 * back since the last one. A flood of 10,000 cut peers logs one line per
 * LOG_INTERVAL_MS, each saying how many it stands for.
 */
static bool log_allow(struct log_limit *l, uint64_t now, uint64_t *suppressed)
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

/*
 * A peer gets the full limits (max request size, write queue) only once it
 * has authenticated at the level the most demanding interface requires, and
 * at least at connect level: before that, anyone who can reach the port
 * could claim them.
 */
static bool conn_trusted(const struct conn *c)
{
	return c->auth && c->auth_done && c->auth_level >= c->srv->full_level;
}

static void budget_cut(void *arg, struct dcerpc_hold *h)
{
	dcerpc_server_t *srv = arg;
	struct conn *c = (struct conn *)((char *)h - offsetof(struct conn, hold));
	uint64_t now = uv_now(srv->loop), suppressed;
	srv->stats.budget_cuts++;
	if (log_allow(&srv->log_cut, now, &suppressed))
		wd_log(WD_LOG_WARNING, "dcerpc.budget.cut",
		       "remote=%s held=%zu held_ms=%llu in_use=%zu limit=%zu suppressed=%llu",
		       c->remote_addr, h->bytes, (unsigned long long)(now - h->since),
		       srv->budget.used, srv->budget.limit, (unsigned long long)suppressed);
	conn_close(c); /* conn_teardown releases what it held */
}

/*
 * Account n bytes that c makes us hold, cutting the oldest holders if the
 * server-wide budget is full. On failure c itself is the oldest (or alone
 * too big): the caller refuses the bytes and closes c.
 */
static int conn_charge(struct conn *c, size_t *acct, size_t n)
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

void dcerpc_server_set_conn_observer(dcerpc_server_t *srv, dcerpc_conn_cb cb, void *arg)
{
	srv->observer = cb;
	srv->observer_arg = arg;
}

/* [C706] 12.6.3.1: same major, client minor <= ours */
static const struct dcerpc_iface *find_iface(dcerpc_server_t *srv,
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

static struct pres_ctx *find_ctx(struct conn *c, uint16_t id)
{
	for (unsigned i = 0; i < c->n_ctx; i++)
		if (c->ctxs[i].id == id)
			return &c->ctxs[i];
	return NULL;
}

/* ---- per-IP connection counts ---- */

static unsigned ip_hash(const char *ip)
{
	unsigned h = 5381;
	for (; *ip; ip++)
		h = h * 33 + (unsigned char)*ip;
	return h % IP_BUCKETS;
}

static struct ip_count **ip_find(dcerpc_server_t *srv, const char *ip)
{
	struct ip_count **pp = &srv->ip_counts[ip_hash(ip)];
	while (*pp && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

static int ip_inc(dcerpc_server_t *srv, const char *ip)
{
	struct ip_count **pp = ip_find(srv, ip);
	if (!*pp) {
		struct ip_count *n = calloc(1, sizeof(*n));
		if (!n)
			return WD_ENOMEM;
		snprintf(n->ip, sizeof(n->ip), "%s", ip);
		*pp = n;
	}
	if ((*pp)->n >= srv->limits.max_connections_per_ip)
		return WD_ELIMIT;
	(*pp)->n++;
	return 0;
}

static void ip_dec(dcerpc_server_t *srv, const char *ip)
{
	struct ip_count **pp = ip_find(srv, ip);
	if (!*pp)
		return;
	if (--(*pp)->n == 0) {
		struct ip_count *n = *pp;
		*pp = n->next;
		free(n);
	}
}

/* ---- association groups and context handles ([MS-RPCE] 3.3.1.4.1, 3.3.1.5.7) ---- */

static struct assoc_group *group_find(dcerpc_server_t *srv, uint32_t id)
{
	for (struct assoc_group *g = srv->groups; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static struct assoc_group *group_new(dcerpc_server_t *srv, const char *remote_ip)
{
	if (srv->stats.assoc_groups >= srv->limits.max_assoc_groups)
		return NULL;
	struct assoc_group *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	do {
		g->id = srv->next_group_id++;
	} while (g->id == 0 || group_find(srv, g->id));
	g->srv = srv;
	snprintf(g->remote_ip, sizeof(g->remote_ip), "%s", remote_ip);
	g->next = srv->groups;
	if (srv->groups)
		srv->groups->prev = g;
	srv->groups = g;
	srv->stats.assoc_groups++;
	return g;
}

static void group_free(struct assoc_group *g)
{
	dcerpc_server_t *srv = g->srv;
	/* Context handles die with their association ([MS-RPCE] 3.3.1.4.1) */
	while (g->handles)
		dcerpc_handle_close(g->handles);
	if (g->prev)
		g->prev->next = g->next;
	else
		srv->groups = g->next;
	if (g->next)
		g->next->prev = g->prev;
	srv->stats.assoc_groups--;
	free(g);
}

static void group_detach(struct conn *c)
{
	struct assoc_group *g = c->group;
	if (!g)
		return;
	c->group = NULL;
	if (--g->conns == 0)
		group_free(g);
}

int dcerpc_handle_create(dcerpc_call_t *call, uint32_t handle_type, void *data,
                         dcerpc_handle_destroy_cb destroy, dcerpc_handle_t **out,
                         struct dcerpc_wire_handle *wire)
{
	if (!call || !call->conn || !call->conn->group)
		return WD_ESTATE;
	struct dcerpc_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return WD_ENOMEM;
	int rc = wd_guid_random(&h->wire.uuid);
	if (rc < 0) {
		free(h);
		return rc;
	}
	h->wire.handle_type = handle_type;
	h->data = data;
	h->destroy = destroy;
	h->group = call->conn->group;
	h->next = h->group->handles;
	if (h->next)
		h->next->prev = h;
	h->group->handles = h;
	if (out)
		*out = h;
	if (wire)
		*wire = h->wire;
	return 0;
}

void *dcerpc_handle_lookup(dcerpc_call_t *call, const struct dcerpc_wire_handle *wire,
                           uint32_t handle_type, dcerpc_handle_t **out)
{
	if (out)
		*out = NULL;
	if (!call || !call->conn || !call->conn->group || !wire)
		return NULL;
	for (struct dcerpc_handle *h = call->conn->group->handles; h; h = h->next) {
		if (h->wire.handle_type == handle_type &&
		    wd_guid_equal(&h->wire.uuid, &wire->uuid)) {
			if (out)
				*out = h;
			return h->data;
		}
	}
	return NULL;
}

void dcerpc_handle_close(dcerpc_handle_t *h)
{
	if (!h)
		return;
	struct assoc_group *g = h->group;
	if (h->prev)
		h->prev->next = h->next;
	else
		g->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	dcerpc_handle_destroy_cb d = h->destroy;
	void *data = h->data;
	free(h);
	if (d)
		d(data);
}

const struct dcerpc_wire_handle *dcerpc_handle_wire(const dcerpc_handle_t *h)
{
	return &h->wire;
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
		conn_close(w->conn);
	free(w);
}

/* Takes ownership of b->data (the buffer is reset). */
static int conn_send(struct conn *c, struct dcerpc_buf *b)
{
	if (c->closing || b->len == 0) {
		dcerpc_buf_free(b);
		return c->closing ? WD_ESTATE : 0;
	}
	size_t cap = conn_trusted(c) ? MAX_WRITE_QUEUE : MAX_WRITE_QUEUE_UNAUTH;
	if (c->write_charged > cap) {
		wd_log(WD_LOG_WARNING, "dcerpc.conn.write_queue_full", "remote=%s queued=%zu",
		       c->remote_addr, c->write_charged);
		dcerpc_buf_free(b);
		conn_close(c);
		return WD_ELIMIT;
	}
	struct wreq *w = malloc(sizeof(*w));
	if (!w || conn_charge(c, &c->write_charged, b->len) < 0) {
		free(w);
		dcerpc_buf_free(b);
		conn_close(c);
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
		conn_close(c);
		return WD_EIO;
	}
	return 0;
}

/* Faults are never signed ([MS-RPCE] 2.2.2.11, Samba dcesrv_fault_with_flags). */
static void send_fault(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                       uint8_t extra_flags)
{
	struct dcerpc_fault f;
	memset(&f, 0, sizeof(f));
	dcerpc_hdr_init(&f.hdr, DCERPC_PKT_FAULT, DCERPC_PFC_FIRST | DCERPC_PFC_LAST | extra_flags,
	                call_id);
	f.alloc_hint = 24; /* Samba */
	f.context_id = ctx_id;
	f.status = status;
	struct dcerpc_buf b = {0};
	c->srv->stats.faults_total++;
	if (dcerpc_fault_push(&b, &f) == 0)
		conn_send(c, &b);
	else
		dcerpc_buf_free(&b);
}

/* A protocol error: fault, then disconnect ([MS-RPCE] 3.3.3.5.7). */
static void fault_disconnect(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                             uint8_t extra)
{
	c->srv->stats.protocol_errors++;
	send_fault(c, call_id, ctx_id, status, extra);
	conn_close_after_write(c);
}

static void send_bind_nak(struct conn *c, uint32_t call_id, uint16_t reason)
{
	struct dcerpc_bind_nak n;
	memset(&n, 0, sizeof(n));
	dcerpc_hdr_init(&n.hdr, DCERPC_PKT_BIND_NAK, DCERPC_PFC_FIRST | DCERPC_PFC_LAST, call_id);
	n.reject_reason = reason;
	n.n_versions = 1;
	n.versions[0][0] = 5;
	n.versions[0][1] = 0;
	struct dcerpc_buf b = {0};
	if (dcerpc_bind_nak_push(&b, &n) == 0)
		conn_send(c, &b);
	else
		dcerpc_buf_free(&b);
	/* Samba disconnects after a bind_nak too */
	conn_close_after_write(c);
}

static uint32_t raw_call_id(const uint8_t *buf, size_t len)
{
	if (len < DCERPC_HDR_LEN)
		return 0;
	return (uint32_t)buf[12] | ((uint32_t)buf[13] << 8) | ((uint32_t)buf[14] << 16) |
	       ((uint32_t)buf[15] << 24);
}

/* ---- calls ---- */

static void call_unlink(struct dcerpc_call *call)
{
	struct conn *c = call->conn;
	if (!c)
		return;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->next = call->prev = NULL;
	c->n_calls--;
	c->srv->stats.calls_pending--;
}

static bool auth_protects(const struct conn *c)
{
	return c->auth && c->auth_level >= AUTH_LEVEL_PACKET;
}

int dcerpc_call_reply(dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	if (!call)
		return WD_EINVAL;
	if (call->cancelled)
		return WD_ECANCELED; /* freed by the core after the cancel callback */
	struct conn *c = call->conn;
	call_unlink(call);
	int rc = 0;
	if (call->orphaned || c->closing) {
		free(call);
		return 0;
	}
	size_t sig = 0;
	if (auth_protects(c))
		sig = auth_ctx_sig_size(c->auth);
	/* chunk = max_xmit - 24 - (8 + sig), rounded down to 16 (Samba dcesrv_reply) */
	size_t over = DCERPC_RESP_HDR_LEN + (auth_protects(c) ? DCERPC_TRAILER_LEN + sig : 0);
	size_t chunk = c->max_xmit > over + 16 ? ((c->max_xmit - over) & ~(size_t)15) : 16;
	struct dcerpc_buf b = {0};
	size_t off = 0;
	do {
		size_t n = len - off < chunk ? len - off : chunk;
		struct dcerpc_response r;
		memset(&r, 0, sizeof(r));
		uint8_t pfc = 0;
		if (off == 0)
			pfc |= DCERPC_PFC_FIRST;
		if (off + n == len)
			pfc |= DCERPC_PFC_LAST;
		dcerpc_hdr_init(&r.hdr, DCERPC_PKT_RESPONSE, pfc, call->call_id);
		r.alloc_hint = (uint32_t)(len - off);
		/* Samba: "Windows truncates the context_id" */
		r.context_id = call->context_id & 0xff;
		r.stub = stub + off;
		r.stub_len = n;
		size_t start = b.len;
		if (auth_protects(c)) {
			struct dcerpc_auth a;
			memset(&a, 0, sizeof(a));
			a.trailer.auth_type = c->auth_type;
			a.trailer.auth_level = c->auth_level;
			a.trailer.auth_context_id = c->auth_context_id;
			a.token_len = sig;
			rc = dcerpc_response_push(&b, &r, &a);
			if (rc < 0)
				break;
			uint8_t *pdu = b.data + start;
			size_t flen = b.len - start;
			size_t pdu_len = flen - sig;
			size_t body_len = pdu_len - DCERPC_TRAILER_LEN - DCERPC_RESP_HDR_LEN;
			if (c->auth_level == AUTH_LEVEL_PRIVACY)
				rc = auth_ctx_seal(c->auth, pdu, pdu_len, DCERPC_RESP_HDR_LEN,
				                   body_len, pdu + pdu_len, sig);
			else
				rc = auth_ctx_sign(c->auth, pdu, pdu_len, DCERPC_RESP_HDR_LEN,
				                   body_len, pdu + pdu_len, sig);
			if (rc < 0)
				break;
		} else {
			rc = dcerpc_response_push(&b, &r, NULL);
			if (rc < 0)
				break;
		}
		off += n;
	} while (off < len);
	if (rc < 0) {
		wd_log(WD_LOG_ERR, "dcerpc.reply.failed", "call_id=%u err=%s", call->call_id,
		       wd_strerror(rc));
		dcerpc_buf_free(&b);
		send_fault(c, call->call_id, call->context_id,
		           rc == WD_ERANGE ? DCERPC_FAULT_REMOTE_NO_MEMORY
		                           : DCERPC_FAULT_SEC_PKG_ERROR,
		           0);
	} else {
		rc = conn_send(c, &b);
	}
	free(call);
	return rc;
}

int dcerpc_call_fault(dcerpc_call_t *call, uint32_t status)
{
	if (!call)
		return WD_EINVAL;
	if (call->cancelled)
		return WD_ECANCELED;
	struct conn *c = call->conn;
	call_unlink(call);
	if (!call->orphaned && !c->closing)
		send_fault(c, call->call_id, call->context_id, status, 0);
	free(call);
	return 0;
}

void dcerpc_call_set_cancel(dcerpc_call_t *call, dcerpc_cancel_cb cb, void *arg)
{
	call->cancel_cb = cb;
	call->cancel_arg = arg;
}

const struct dcerpc_peer *dcerpc_call_peer(const dcerpc_call_t *call)
{
	return &call->conn->peer;
}

dcerpc_server_t *dcerpc_call_server(const dcerpc_call_t *call)
{
	return call->conn->srv;
}

uint32_t dcerpc_call_id(const dcerpc_call_t *call)
{
	return call->call_id;
}

/* Runs the cancel callback, then frees the call. */
static void call_cancel(struct dcerpc_call *call, enum dcerpc_cancel_reason reason)
{
	call_unlink(call);
	call->cancelled = true;
	if (call->cancel_cb)
		call->cancel_cb(call, call->cancel_arg, reason);
	free(call);
}

/* ---- connection life cycle ---- */

static void reasm_reset(struct conn *c)
{
	dcerpc_buf_free(&c->reasm);
	c->reasm_active = false;
	if (c->reasm_charged) {
		dcerpc_budget_release(&c->srv->budget, &c->hold, c->reasm_charged);
		c->reasm_charged = 0;
	}
}

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
	srv->closing_handles--;
	srv_maybe_finish_close(srv);
}

static void conn_teardown(struct conn *c)
{
	dcerpc_server_t *srv = c->srv;
	while (c->calls)
		call_cancel(c->calls, DCERPC_CANCEL_CLOSED);
	free(c->frag);
	c->frag = NULL;
	reasm_reset(c);
	/* frag, reassembly and queued writes: all given back at once */
	dcerpc_budget_release(&srv->budget, &c->hold, c->hold.bytes);
	c->frag_charged = c->reasm_charged = c->write_charged = 0;
	free(c->ctxs);
	c->ctxs = NULL;
	c->n_ctx = 0;
	if (c->auth) {
		auth_ctx_free(c->auth);
		c->auth = NULL;
	}
	group_detach(c);
	if (c->counted) {
		srv->stats.connections_open--;
		ip_dec(srv, c->remote_ip);
		if (srv->observer)
			srv->observer(srv->observer_arg, false, c->local_ip, c->peer.local_port,
			              c->remote_ip, c->peer.remote_port);
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

static void conn_close(struct conn *c)
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
static void conn_close_after_write(struct conn *c)
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

/* ---- auth helpers ---- */

/* Verify and unseal one request fragment in place; on success *stub_len
 * excludes the auth pad. Returns 0 or a fault status (and *disconnect). */
static uint32_t request_auth(struct conn *c, uint8_t *buf, struct dcerpc_request *req,
                             size_t *stub_len, bool *disconnect)
{
	*disconnect = false;
	*stub_len = req->stub_len;
	if (!c->auth) {
		if (req->auth.present) {
			*disconnect = true;
			return DCERPC_FAULT_ACCESS_DENIED;
		}
		return 0;
	}
	if (c->auth_invalid) {
		/* auth3 failed: Samba faults the next request with proto_error */
		*disconnect = true;
		return DCERPC_FAULT_PROTO_ERROR;
	}
	if (!c->auth_done) {
		*disconnect = true;
		return DCERPC_FAULT_PROTO_ERROR; /* Samba: auth started, not finished */
	}
	if (c->auth_level == AUTH_LEVEL_CONNECT && !req->auth.present)
		return 0; /* rpcclient and impacket send no trailer ([MS-RPCE] <102>) */
	if (!req->auth.present) {
		*disconnect = true;
		return DCERPC_FAULT_ACCESS_DENIED;
	}
	const struct dcerpc_sec_trailer *t = &req->auth.trailer;
	if (t->auth_type != c->auth_type || t->auth_level != c->auth_level ||
	    t->auth_context_id != c->auth_context_id) {
		*disconnect = true;
		return DCERPC_FAULT_ACCESS_DENIED;
	}
	if (c->auth_level == AUTH_LEVEL_CONNECT) {
		/* a trailer at CONNECT is stripped unchecked (Samba raw tests) */
		*stub_len = req->stub_len - t->auth_pad_length;
		return 0;
	}
	size_t pdu_len = req->auth.trailer_off + DCERPC_TRAILER_LEN;
	size_t body_len = req->auth.trailer_off - req->stub_off;
	int rc;
	if (c->auth_level == AUTH_LEVEL_PRIVACY)
		rc = auth_ctx_unseal(c->auth, buf, pdu_len, req->stub_off, body_len,
		                     req->auth.token, req->auth.token_len);
	else
		rc = auth_ctx_check(c->auth, buf, pdu_len, req->stub_off, body_len, req->auth.token,
		                    req->auth.token_len);
	if (rc < 0) {
		/* a bad signature closes the connection (Samba: fault 0x721) */
		c->srv->stats.auth_failures++;
		*disconnect = true;
		return DCERPC_FAULT_SEC_PKG_ERROR;
	}
	/* the pad was checked against the space by the parser */
	*stub_len = req->stub_len - t->auth_pad_length;
	return 0;
}

/*
 * Start or continue the security context from a bind/alter/auth3 trailer.
 * Returns 0 (complete), WD_EAGAIN (more legs), or an error.
 */
static int auth_feed(struct conn *c, const struct dcerpc_auth *a, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	wd_log_set_client(c->remote_addr); /* a refusal logged by the mechanism names the peer */
	int rc = auth_ctx_update(c->auth, a->token, a->token_len, out, out_len);
	wd_log_set_client(NULL);
	if (rc == 0) {
		c->auth_done = true;
		const struct auth_session *sess = auth_ctx_session(c->auth);
		if (sess)
			c->peer.auth = sess;
	} else if (rc != WD_EAGAIN)
		c->srv->stats.auth_failures++;
	return rc;
}

/* ---- bind / alter_context ---- */

/*
 * Negotiate presentation contexts ([MS-RPCE] 3.3.1.5.6). Fills
 * results; returns 0, or a bind_nak reason + 1 when the PDU must be refused.
 */
static int negotiate_contexts(struct conn *c, const struct dcerpc_bind *bind, bool is_bind,
                              struct dcerpc_bind_ack *ack)
{
	bool btfn_seen = false;
	bool accepted = false;
	ack->n_results = bind->n_ctx;
	for (unsigned i = 0; i < bind->n_ctx; i++) {
		const struct dcerpc_ctx_elem *e = &bind->ctx[i];
		struct dcerpc_ack_result *r = &ack->results[i];
		memset(r, 0, sizeof(*r));
		uint64_t mask;
		/* BTFN: only the first transfer syntax is looked at (Samba) */
		if (dcerpc_syntax_is_btfn(&e->transfer[0], &mask)) {
			if (!is_bind) {
				r->result = DCERPC_RESULT_PROVIDER_REJECT;
				r->reason = DCERPC_REASON_TRANSFER_NOT_SUPPORTED;
				continue;
			}
			if (btfn_seen)
				return DCERPC_NAK_NOT_SPECIFIED + 1; /* Samba: one BTFN ctx */
			btfn_seen = true;
			/* [MS-RPCE] 3.3.1.5.3: result negotiate_ack, reason = our bitmask.
			 * One security context per connection: no 0x01. */
			r->result = DCERPC_RESULT_NEGOTIATE_ACK;
			r->reason = (uint16_t)(mask & BTFN_KEEP_CONN_ON_ORPHAN);
			continue;
		}
		const struct dcerpc_iface *f = find_iface(c->srv, &e->abstract);
		if (!f) {
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_ABSTRACT_NOT_SUPPORTED;
			continue;
		}
		bool ndr32 = false;
		for (unsigned j = 0; j < e->n_transfer; j++)
			if (dcerpc_syntax_equal(&e->transfer[j], &dcerpc_ndr32_syntax))
				ndr32 = true;
		if (!ndr32) {
			/* NDR64 and anything else: we speak NDR32 only ("Servers
			 * SHOULD implement at least NDR", [MS-RPCE] 3.3.1.5.6) */
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_TRANSFER_NOT_SUPPORTED;
			continue;
		}
		if (accepted) {
			/* Samba accepts one context per bind/alter; later valid ones
			 * get transfer_syntaxes_not_supported [CORE dcesrv_negotiate_contexts] */
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_TRANSFER_NOT_SUPPORTED;
			continue;
		}
		struct pres_ctx *pc = find_ctx(c, e->context_id);
		if (pc) {
			if (pc->iface != f) {
				r->result = DCERPC_RESULT_PROVIDER_REJECT;
				r->reason = DCERPC_REASON_NOT_SPECIFIED;
				continue;
			}
		} else {
			if (c->n_ctx >= MAX_CTX_PER_CONN) {
				r->result = DCERPC_RESULT_PROVIDER_REJECT;
				r->reason = DCERPC_REASON_LOCAL_LIMIT;
				continue;
			}
			struct pres_ctx *n = realloc(c->ctxs, (c->n_ctx + 1) * sizeof(*n));
			if (!n) {
				r->result = DCERPC_RESULT_PROVIDER_REJECT;
				r->reason = DCERPC_REASON_LOCAL_LIMIT;
				continue;
			}
			c->ctxs = n;
			c->ctxs[c->n_ctx].id = e->context_id;
			c->ctxs[c->n_ctx].iface = f;
			c->ctxs[c->n_ctx].proposed_version = e->abstract.version;
			c->n_ctx++;
		}
		r->result = DCERPC_RESULT_ACCEPT;
		r->transfer = dcerpc_ndr32_syntax;
		accepted = true;
	}
	return 0;
}

static void handle_bind(struct conn *c, const uint8_t *buf, size_t len)
{
	dcerpc_server_t *srv = c->srv;
	struct dcerpc_bind *bind = malloc(sizeof(*bind));
	struct dcerpc_bind_ack *ack = malloc(sizeof(*ack));
	uint8_t *tok = NULL;
	size_t tok_len = 0;
	struct assoc_group *newgroup = NULL;
	uint32_t call_id = raw_call_id(buf, len);
	if (!bind || !ack) {
		send_bind_nak(c, call_id, DCERPC_NAK_TEMPORARY_CONGESTION);
		goto out;
	}
	if (c->bound) {
		/* a second bind on a connection: refuse */
		send_bind_nak(c, call_id, DCERPC_NAK_NOT_SPECIFIED);
		goto out;
	}
	int rc = dcerpc_bind_pull(buf, len, bind);
	if (rc < 0 || bind->n_ctx == 0) {
		srv->stats.protocol_errors++;
		send_bind_nak(c, call_id, DCERPC_NAK_NOT_SPECIFIED);
		goto out;
	}
	memset(ack, 0, offsetof(struct dcerpc_bind_ack, results));
	/* max fragment as Samba: MAX(2048, MIN(xmit, recv)), MIN 5840, & 0xFFF8 ([CORE 1140]) */
	unsigned m =
	    bind->max_xmit_frag < bind->max_recv_frag ? bind->max_xmit_frag : bind->max_recv_frag;
	if (m < 2048)
		m = 2048;
	if (m > srv->limits.max_frag)
		m = srv->limits.max_frag;
	m &= 0xfff8;

	/* association group ([MS-RPCE] 3.3.1.5.7, Samba: must exist, same client IP) */
	struct assoc_group *g;
	if (bind->assoc_group_id == 0) {
		g = newgroup = group_new(srv, c->remote_ip);
		if (!g) {
			send_bind_nak(c, call_id, DCERPC_NAK_LOCAL_LIMIT);
			goto out;
		}
	} else {
		g = group_find(srv, bind->assoc_group_id);
		if (!g || strcmp(g->remote_ip, c->remote_ip) != 0) {
			send_bind_nak(c, call_id, DCERPC_NAK_NOT_SPECIFIED);
			goto out;
		}
	}

	rc = negotiate_contexts(c, bind, true, ack);
	if (rc > 0) {
		send_bind_nak(c, call_id, (uint16_t)(rc - 1));
		goto out;
	}

	struct dcerpc_auth reply_auth;
	bool with_auth = false;
	if (bind->auth.present) {
		const struct dcerpc_sec_trailer *t = &bind->auth.trailer;
		/* order of checks as Samba's (raw tests): bad level, then
		 * unknown type (8), then CALL level (9) */
		if (t->auth_level < AUTH_LEVEL_CONNECT || t->auth_level > AUTH_LEVEL_PRIVACY) {
			send_bind_nak(c, call_id, DCERPC_NAK_NOT_SPECIFIED);
			goto out;
		}
		if (!srv->auth || !auth_server_offers(srv->auth, t->auth_type)) {
			send_bind_nak(c, call_id, DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED);
			goto out;
		}
		if (t->auth_level == AUTH_LEVEL_CALL) {
			send_bind_nak(c, call_id, DCERPC_NAK_INVALID_CHECKSUM);
			goto out;
		}
		rc = auth_ctx_start(srv->auth, t->auth_type, t->auth_level, &c->auth);
		if (rc < 0) {
			c->auth = NULL;
			send_bind_nak(c, call_id,
			              rc == WD_ENOTSUP ? DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED
			                               : DCERPC_NAK_INVALID_CHECKSUM);
			goto out;
		}
		c->auth_type = t->auth_type;
		c->auth_level = t->auth_level;
		c->auth_context_id = t->auth_context_id;
		/* header signing [MS-RPCE] 3.3.1.5.2.2: echo 0x04 and tell the mechanism */
		if (bind->hdr.pfc_flags & DCERPC_PFC_HDR_SIGN)
			auth_ctx_set_hdr_sign(c->auth, true);
		rc = auth_feed(c, &bind->auth, &tok, &tok_len);
		if (rc < 0 && rc != WD_EAGAIN) {
			wd_log(WD_LOG_NOTICE, "dcerpc.bind.auth_failed",
			       "remote=%s auth_type=%u err=%s", c->remote_addr, t->auth_type,
			       wd_strerror(rc));
			auth_ctx_free(c->auth);
			c->auth = NULL;
			send_bind_nak(c, call_id, DCERPC_NAK_INVALID_CHECKSUM);
			goto out;
		}
		memset(&reply_auth, 0, sizeof(reply_auth));
		reply_auth.trailer = *t;
		reply_auth.trailer.auth_pad_length = 0;
		reply_auth.token = tok;
		reply_auth.token_len = tok_len;
		with_auth = true;
	}

	/* [MS-RPCE] 3.3.1.5.8: concurrent multiplexing; we support it */
	c->conc_mpx = (bind->hdr.pfc_flags & DCERPC_PFC_CONC_MPX) != 0;
	uint8_t pfc = DCERPC_PFC_FIRST | DCERPC_PFC_LAST |
	              (bind->hdr.pfc_flags & (DCERPC_PFC_HDR_SIGN | DCERPC_PFC_CONC_MPX));
	dcerpc_hdr_init(&ack->hdr, DCERPC_PKT_BIND_ACK, pfc, bind->hdr.call_id);
	ack->max_xmit_frag = (uint16_t)m;
	ack->max_recv_frag = (uint16_t)m;
	ack->assoc_group_id = g->id;
	char port[8];
	snprintf(port, sizeof(port), "%u", c->peer.local_port);
	ack->sec_addr = port;
	ack->sec_addr_len = (uint16_t)(strlen(port) + 1);
	struct dcerpc_buf b = {0};
	rc = dcerpc_bind_ack_push(&b, ack, with_auth ? &reply_auth : NULL);
	if (rc < 0) {
		dcerpc_buf_free(&b);
		send_bind_nak(c, call_id, DCERPC_NAK_LOCAL_LIMIT);
		goto out;
	}
	c->max_xmit = (uint16_t)m;
	c->bound = true;
	c->group = g;
	g->conns++;
	newgroup = NULL;
	conn_send(c, &b);
out:
	if (newgroup && newgroup->conns == 0)
		group_free(newgroup);
	free(tok);
	free(bind);
	free(ack);
}

static void handle_alter(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_bind *alt = malloc(sizeof(*alt));
	struct dcerpc_bind_ack *ack = malloc(sizeof(*ack));
	uint8_t *tok = NULL;
	size_t tok_len = 0;
	if (!alt || !ack)
		goto nomem;
	int rc = dcerpc_bind_pull(buf, len, alt);
	if (rc < 0 || !c->bound) {
		fault_disconnect(c, raw_call_id(buf, len), 0, DCERPC_FAULT_PROTO_ERROR,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
		goto out;
	}
	memset(ack, 0, offsetof(struct dcerpc_bind_ack, results));
	struct dcerpc_auth reply_auth;
	bool with_auth = false;
	if (alt->auth.present) {
		const struct dcerpc_sec_trailer *t = &alt->auth.trailer;
		if (!c->auth || t->auth_type != c->auth_type ||
		    t->auth_context_id != c->auth_context_id) {
			/* Samba: auth_type differs -> sec_pkg_error */
			c->srv->stats.auth_failures++;
			fault_disconnect(c, alt->hdr.call_id, 0, DCERPC_FAULT_SEC_PKG_ERROR,
			                 DCERPC_PFC_DID_NOT_EXECUTE);
			goto out;
		}
		if (!c->auth_done && !c->auth_invalid) {
			/* last leg of SPNEGO/krb5, or NTLM's third leg by alter
			 * ([MS-RPCE] 3.3.1.5.2.1; Samba raw tests allow both) */
			rc = auth_feed(c, &alt->auth, &tok, &tok_len);
			if (rc < 0 && rc != WD_EAGAIN) {
				fault_disconnect(c, alt->hdr.call_id, 0,
				                 rc == WD_ESIG ? DCERPC_FAULT_SEC_PKG_ERROR
				                               : DCERPC_FAULT_ACCESS_DENIED,
				                 DCERPC_PFC_DID_NOT_EXECUTE);
				goto out;
			}
			memset(&reply_auth, 0, sizeof(reply_auth));
			reply_auth.trailer = *t;
			reply_auth.trailer.auth_pad_length = 0;
			reply_auth.token = tok;
			reply_auth.token_len =
			    tok_len; /* may be 0: empty token, [MS-RPCE] 3.3.1.5.2.1 */
			with_auth = true;
		}
	}
	rc = negotiate_contexts(c, alt, false, ack);
	if (rc > 0) {
		fault_disconnect(c, alt->hdr.call_id, 0, DCERPC_FAULT_PROTO_ERROR,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
		goto out;
	}
	/* alter's assoc_group_id is ignored; the reply echoes ours [RAWTC] */
	/* Samba echoes SUPPORT_HEADER_SIGN on alter_resp too [RAWPROTO alter_pfc_*] */
	dcerpc_hdr_init(&ack->hdr, DCERPC_PKT_ALTER_RESP,
	                DCERPC_PFC_FIRST | DCERPC_PFC_LAST |
	                    (alt->hdr.pfc_flags & DCERPC_PFC_HDR_SIGN),
	                alt->hdr.call_id);
	ack->max_xmit_frag = c->max_xmit;
	ack->max_recv_frag = c->max_xmit;
	ack->assoc_group_id = c->group ? c->group->id : 0;
	ack->sec_addr_len = 0; /* Samba: empty sec_addr on alter_resp */
	struct dcerpc_buf b = {0};
	if (dcerpc_bind_ack_push(&b, ack, with_auth ? &reply_auth : NULL) < 0) {
		dcerpc_buf_free(&b);
		goto nomem;
	}
	conn_send(c, &b);
	goto out;
nomem:
	fault_disconnect(c, 0, 0, DCERPC_FAULT_REMOTE_NO_MEMORY, DCERPC_PFC_DID_NOT_EXECUTE);
out:
	free(tok);
	free(alt);
	free(ack);
}

static void handle_auth3(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_simple s;
	int rc = dcerpc_simple_pull(buf, len, &s);
	if (rc < 0 || !c->bound || !s.auth.present) {
		fault_disconnect(c, raw_call_id(buf, len), 0, DCERPC_FAULT_PROTO_ERROR, 0);
		return;
	}
	if (!c->auth || c->auth_done || c->auth_invalid) {
		fault_disconnect(c, s.hdr.call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
		return;
	}
	if (s.auth.trailer.auth_type != c->auth_type ||
	    s.auth.trailer.auth_context_id != c->auth_context_id) {
		fault_disconnect(c, s.hdr.call_id, 0, DCERPC_FAULT_ACCESS_DENIED, 0);
		return;
	}
	uint8_t *tok = NULL;
	size_t tok_len = 0;
	rc = auth_feed(c, &s.auth, &tok, &tok_len);
	free(tok);
	/* [MS-RPCE] 3.3.1.5.2.1: never answer auth3; an error shows on the next request */
	if (rc != 0) {
		wd_log(WD_LOG_NOTICE, "dcerpc.auth3.failed", "remote=%s err=%s", c->remote_addr,
		       wd_strerror(rc));
		c->auth_invalid = true;
	}
}

/* ---- requests ---- */

static void dispatch_call(struct conn *c, const struct pres_ctx *pc, uint32_t call_id,
                          uint16_t opnum, const uint8_t *stub, size_t stub_len)
{
	dcerpc_server_t *srv = c->srv;
	/* verification trailer: strip it, check its PCONTEXT ([MS-RPCE] 2.2.2.13) */
	size_t vt_off;
	struct dcerpc_pdu_syntax abs = {pc->iface->syntax.uuid, pc->proposed_version};
	/* PCONTEXT must name the context as the client proposed it, with
	 * NDR32 (Samba dcesrv_check_verification_trailer: fault 5 if not) */
	int rc = dcerpc_vt_find(stub, stub_len, &abs, &dcerpc_ndr32_syntax, &vt_off);
	if (rc == 0) {
		if (wd_log_get_level() >= WD_LOG_DEBUG)
			wd_log(WD_LOG_DEBUG, "dcerpc.vt.stripped", "call_id=%u bytes=%zu", call_id,
			       stub_len - vt_off);
		stub_len = vt_off;
	} else if (rc == WD_EPROTO) {
		wd_log(WD_LOG_NOTICE, "dcerpc.vt.mismatch", "remote=%s call_id=%u", c->remote_addr,
		       call_id);
		send_fault(c, call_id, pc->id, DCERPC_FAULT_ACCESS_DENIED,
		           DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	struct dcerpc_call *call = calloc(1, sizeof(*call));
	if (!call) {
		send_fault(c, call_id, pc->id, DCERPC_FAULT_REMOTE_NO_MEMORY,
		           DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	call->conn = c;
	call->call_id = call_id;
	call->context_id = pc->id;
	call->opnum = opnum;
	call->iface = pc->iface;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->n_calls++;
	srv->stats.calls_pending++;
	srv->stats.calls_total++;
	pc->iface->dispatch(pc->iface->ctx, call, opnum, stub, stub_len);
}

/* The largest reassembled request stub this peer may send now. */
static size_t request_cap(const struct conn *c)
{
	return conn_trusted(c) ? c->srv->limits.max_request : c->srv->limits.max_request_unauth;
}

/* [MS-RPCE] 3.3.3.5.4 leaves the bound to the server; Samba faults 5 and disconnects. */
static void request_too_large(struct conn *c, uint32_t call_id, uint16_t ctx)
{
	dcerpc_server_t *srv = c->srv;
	uint64_t suppressed;
	srv->stats.requests_too_large++;
	if (log_allow(&srv->log_large, uv_now(srv->loop), &suppressed))
		wd_log(WD_LOG_NOTICE, "dcerpc.request.too_large",
		       "remote=%s call_id=%u limit=%zu authenticated=%s suppressed=%llu",
		       c->remote_addr, call_id, request_cap(c), conn_trusted(c) ? "yes" : "no",
		       (unsigned long long)suppressed);
	fault_disconnect(c, call_id, ctx, DCERPC_FAULT_ACCESS_DENIED, 0);
}

static void handle_request(struct conn *c, uint8_t *buf, size_t len)
{
	dcerpc_server_t *srv = c->srv;
	struct dcerpc_request req;
	int rc = dcerpc_request_pull(buf, len, &req);
	if (rc < 0) {
		fault_disconnect(c, raw_call_id(buf, len), 0, DCERPC_FAULT_PROTO_ERROR,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	uint32_t call_id = req.hdr.call_id;
	if (!c->bound) {
		fault_disconnect(c, call_id, 0, DCERPC_FAULT_PROTO_ERROR,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	bool first = (req.hdr.pfc_flags & DCERPC_PFC_FIRST) != 0;
	bool last = (req.hdr.pfc_flags & DCERPC_PFC_LAST) != 0;

	/*
	 * Fault flags follow Samba's dcesrv_process_ncacn_packet (validated
	 * against Windows by its raw protocol tests): framing errors on requests
	 * are faulted WITHOUT did_not_execute, then the connection is closed.
	 */
	if (!first) {
		if (c->discard_active && c->discard_call_id == call_id) {
			if (last)
				c->discard_active = false;
			return;
		}
		if (!c->reasm_active || c->reasm_call_id != call_id) {
			if (c->reasm_active && !c->conc_mpx) {
				/* Samba: fault the call that is half-sent */
				fault_disconnect(c, c->reasm_call_id, c->reasm_ctx,
				                 DCERPC_FAULT_PROTO_ERROR, 0);
				return;
			}
			if (!c->reasm_active && !find_ctx(c, req.context_id)) {
				send_fault(c, call_id, 0, DCERPC_FAULT_UNK_IF,
				           DCERPC_PFC_DID_NOT_EXECUTE);
				goto discard;
			}
			fault_disconnect(c, call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
			return;
		}
		/* context_id and opnum of later fragments are ignored (Samba, Windows) */
	} else {
		c->discard_active = false;
		if (c->reasm_active) {
			/* a new call while another is half-sent ([MS-RPCE] 3.3.1.5.8) */
			if (c->conc_mpx)
				fault_disconnect(c, call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
			else
				fault_disconnect(c, c->reasm_call_id, c->reasm_ctx,
				                 DCERPC_FAULT_PROTO_ERROR, 0);
			return;
		}
		if (req.hdr.pfc_flags & DCERPC_PFC_PENDING_CANCEL) {
			/* Samba: a first fragment already cancelled */
			fault_disconnect(c, call_id, 0, DCERPC_FAULT_NO_CALL_ACTIVE,
			                 DCERPC_PFC_DID_NOT_EXECUTE);
			return;
		}
	}

	bool disconnect;
	size_t stub_len;
	uint32_t st = request_auth(c, buf, &req, &stub_len, &disconnect);
	if (st) {
		if (disconnect) {
			/* Samba: auth pull failures carry no DID_NOT_EXECUTE, except
			 * a request while the auth legs are unfinished */
			fault_disconnect(c, call_id, req.context_id, st,
			                 st == DCERPC_FAULT_PROTO_ERROR ? DCERPC_PFC_DID_NOT_EXECUTE
			                                                : 0);
			return;
		}
		send_fault(c, call_id, 0, st, DCERPC_PFC_DID_NOT_EXECUTE);
		goto discard;
	}

	if (first) {
		struct pres_ctx *pc = find_ctx(c, req.context_id);
		if (!pc) {
			/* unknown context: nca_s_unk_if, context 0, keep the connection [RAWPROTO]
			 */
			send_fault(c, call_id, 0, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
			goto discard;
		}
		if (!c->conc_mpx && c->n_calls > 0) {
			/* Samba: a second call while one is pending needs CONC_MPX */
			fault_disconnect(c, call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
			return;
		}
		if (c->n_calls >= srv->limits.max_pending_calls) {
			send_fault(c, call_id, req.context_id, DCERPC_FAULT_CANT_PERFORM,
			           DCERPC_PFC_DID_NOT_EXECUTE);
			goto discard;
		}
		uint8_t level = c->auth && c->auth_done ? c->auth_level : AUTH_LEVEL_NONE;
		if (level < pc->iface->min_auth_level) {
			send_fault(c, call_id, req.context_id, DCERPC_FAULT_ACCESS_DENIED,
			           DCERPC_PFC_DID_NOT_EXECUTE);
			goto discard;
		}
		if (req.opnum >= pc->iface->num_ops) {
			send_fault(c, call_id, req.context_id, DCERPC_FAULT_OP_RNG_ERROR,
			           DCERPC_PFC_DID_NOT_EXECUTE);
			goto discard;
		}
		if (stub_len > request_cap(c) || (!last && req.alloc_hint > request_cap(c))) {
			request_too_large(c, call_id, req.context_id);
			return;
		}
		if (last) {
			/* the common case: one fragment, dispatch from the fragment buffer */
			dispatch_call(c, pc, call_id, req.opnum, req.stub, stub_len);
			return;
		}
		c->reasm_active = true;
		c->reasm_call_id = call_id;
		c->reasm_ctx = req.context_id;
		c->reasm_opnum = req.opnum;
		c->reasm.len = 0;
		c->reasm_started = uv_now(srv->loop);
	}
	/*
	 * [MS-RPCE] 3.3.3.5.4: bound the reassembled size (Samba: fault 5 +
	 * disconnect); below full auth the bound is max_request_unauth, so an
	 * anonymous peer cannot pin max_request per connection.
	 */
	if (stub_len > request_cap(c) - c->reasm.len) {
		reasm_reset(c);
		request_too_large(c, call_id, c->reasm_ctx);
		return;
	}
	size_t cap_before = c->reasm.cap;
	if (dcerpc_buf_reserve(&c->reasm, stub_len) < 0) {
		reasm_reset(c);
		fault_disconnect(c, call_id, req.context_id, DCERPC_FAULT_REMOTE_NO_MEMORY,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	if (c->reasm.cap > cap_before &&
	    conn_charge(c, &c->reasm_charged, c->reasm.cap - cap_before) < 0)
		return; /* the budget is full and this peer holds the oldest bytes: cut */
	if (stub_len) {
		memcpy(c->reasm.data + c->reasm.len, req.stub, stub_len);
		c->reasm.len += stub_len;
	}
	if (!last)
		return;
	struct pres_ctx *pc = find_ctx(c, c->reasm_ctx);
	struct dcerpc_buf stub = c->reasm;
	size_t charged = c->reasm_charged;
	c->reasm.data = NULL;
	c->reasm.len = c->reasm.cap = 0;
	c->reasm_active = false;
	c->reasm_charged = 0;
	if (pc)
		dispatch_call(c, pc, call_id, c->reasm_opnum, stub.data, stub.len);
	dcerpc_buf_free(&stub);
	/* dispatch may have closed c: conn_teardown then released everything */
	if (!c->closing)
		dcerpc_budget_release(&srv->budget, &c->hold, charged);
	return;
discard:
	if (!last) {
		c->discard_active = true;
		c->discard_call_id = call_id;
	}
}

static void handle_cancel(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_simple s;
	if (dcerpc_simple_pull(buf, len, &s) < 0) {
		conn_close(c);
		return;
	}
	uint32_t id = s.hdr.call_id;
	if (c->reasm_active && c->reasm_call_id == id) {
		/* still waiting for fragments: ignored, as Windows does (Samba) */
		return;
	}
	for (struct dcerpc_call *call = c->calls; call; call = call->next) {
		if (call->call_id != id)
			continue;
		if (s.hdr.ptype == DCERPC_PKT_ORPHANED) {
			if (call->cancel_cb)
				call_cancel(call, DCERPC_CANCEL_ORPHANED);
			else
				call->orphaned = true;
		} else if (call->cancel_cb) {
			uint16_t ctx = call->context_id;
			call_cancel(call, DCERPC_CANCEL_CO_CANCEL);
			if (!c->closing)
				send_fault(c, id, ctx, DCERPC_FAULT_CANCEL, 0);
		}
		/* co_cancel without a cancel callback: the call runs on (Samba) */
		return;
	}
}

static void process_fragment(struct conn *c, uint8_t *buf, size_t len)
{
	c->srv->pkts_in++;
	switch (buf[2]) {
	case DCERPC_PKT_BIND:
		handle_bind(c, buf, len);
		break;
	case DCERPC_PKT_ALTER:
		handle_alter(c, buf, len);
		break;
	case DCERPC_PKT_AUTH3:
		handle_auth3(c, buf, len);
		break;
	case DCERPC_PKT_REQUEST:
		handle_request(c, buf, len);
		break;
	case DCERPC_PKT_CO_CANCEL:
	case DCERPC_PKT_ORPHANED:
		handle_cancel(c, buf, len);
		break;
	default: {
		fault_disconnect(c, raw_call_id(buf, len), 0, DCERPC_FAULT_PROTO_ERROR,
		                 DCERPC_PFC_DID_NOT_EXECUTE);
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
			send_bind_nak(c, h.call_id, DCERPC_NAK_PROTOCOL_VERSION);
		else
			fault_disconnect(c, h.call_id, 0, DCERPC_FAULT_PROTO_ERROR,
			                 DCERPC_PFC_DID_NOT_EXECUTE);
		return -1;
	}
	if (rc < 0) {
		/* not DCERPC, or lengths that cannot frame: just close */
		c->srv->stats.protocol_errors++;
		conn_close(c);
		return -1;
	}
	if (h.ptype == DCERPC_PKT_REQUEST && h.frag_length > c->srv->limits.max_frag) {
		/* Samba: request fragments above 5840 -> proto_error, no
		 * did_not_execute [CORE 2355] */
		fault_disconnect(c, h.call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
		return -1;
	}
	if (conn_charge(c, &c->frag_charged, h.frag_length) < 0)
		return -1;
	c->frag = malloc(h.frag_length);
	if (!c->frag) {
		conn_close(c);
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
		conn_close(c);
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

/* accept() failed: out of descriptors or memory; accept.c pauses the listener. */
static void on_accept_error(struct dcerpc_acceptor *a, int err, bool paused)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	uint64_t suppressed;
	srv->stats.accept_errors++;
	srv->stats.accept_paused = paused;
	if (log_allow(&srv->log_accept, uv_now(srv->loop), &suppressed))
		wd_log(WD_LOG_ERR, "dcerpc.accept.failed",
		       "port=%u err=%s open=%u paused=%s suppressed=%llu", l->port,
		       uv_strerror(err), srv->stats.connections_open, paused ? "yes" : "no",
		       (unsigned long long)suppressed);
}

static void on_connection(struct dcerpc_acceptor *a, int fd)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	srv->stats.accept_paused = false;
	struct conn *c = srv->closing ? NULL : calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	if (uv_tcp_init(srv->loop, &c->tcp) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	if (uv_tcp_open(&c->tcp, fd) < 0) {
		close(fd);
		conn_close(c);
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &sl);
	fmt_addr(&ss, c->local_ip, sizeof(c->local_ip), c->local_addr, sizeof(c->local_addr),
	         &c->peer.local_port);
	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl);
	fmt_addr(&ss, c->remote_ip, sizeof(c->remote_ip), c->remote_addr, sizeof(c->remote_addr),
	         &c->peer.remote_port);
	c->peer.local_addr = c->local_addr;
	c->peer.remote_addr = c->remote_addr;
	c->peer.local_ip = c->local_ip;
	c->peer.remote_ip = c->remote_ip;
	c->peer.auth = &anon_session;
	c->max_xmit = 2048;
	c->accepted_at = uv_now(srv->loop);
	srv->stats.connections_total++;
	if (srv->stats.connections_open >= srv->limits.max_connections ||
	    ip_inc(srv, c->remote_ip) < 0) {
		uint64_t suppressed;
		srv->stats.connections_refused++;
		if (log_allow(&srv->log_conn_limit, c->accepted_at, &suppressed))
			wd_log(WD_LOG_WARNING, "dcerpc.conn.limit",
			       "remote=%s open=%u max=%u suppressed=%llu", c->remote_addr,
			       srv->stats.connections_open, srv->limits.max_connections,
			       (unsigned long long)suppressed);
		conn_close(c);
		return;
	}
	c->counted = true;
	srv->stats.connections_open++;
	uv_tcp_nodelay(&c->tcp, 1);
	/* A witness client keeps an idle connection with a pending AsyncNotify;
	 * keepalive finds the ones that died without a FIN so that their calls
	 * are cancelled and their registrations go ([MS-SWN] 3.1.6.5). */
	uv_tcp_keepalive(&c->tcp, 1, KEEPALIVE_S);
	{
		int intvl = 10, cnt = 6; /* dead after ~2 minutes of silence */
		/* keepalive probes wait while sent data is unacknowledged: bound that
		 * case too, or a peer that vanished under a reply holds its fd for
		 * the kernel's ~16 minutes of retransmissions (tcp(7)) */
		unsigned user_timeout = (KEEPALIVE_S + 10 * 6) * 1000;
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	}
	if (srv->observer)
		srv->observer(srv->observer_arg, true, c->local_ip, c->peer.local_port,
		              c->remote_ip, c->peer.remote_port);
	if (!c->closing && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

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
			wd_log(WD_LOG_INFO, "dcerpc.conn.timeout", "remote=%s", c->remote_addr);
			conn_close(c);
		} else if (!c->closing && c->reasm_active &&
		           now - c->reasm_started > srv->limits.request_timeout_ms) {
			/* a request started and never finished pins its reassembly buffer */
			uint64_t suppressed;
			srv->stats.request_timeouts++;
			if (log_allow(&srv->log_timeout, now, &suppressed))
				wd_log(WD_LOG_WARNING, "dcerpc.request.timeout",
				       "remote=%s call_id=%u held=%zu suppressed=%llu",
				       c->remote_addr, c->reasm_call_id, c->reasm.cap,
				       (unsigned long long)suppressed);
			conn_close(c);
		}
		c = next;
	}
}

int dcerpc_server_listen(dcerpc_server_t *srv, const char *addr, uint16_t port, uint16_t *bound)
{
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
	l->acc.on_fd = on_connection;
	l->acc.on_err = on_accept_error;
	l->acc.on_closed = on_listener_closed;
	int rc = dcerpc_acceptor_open(&l->acc, srv->loop, (struct sockaddr *)&ss, 1024);
	if (rc < 0) {
		wd_log(WD_LOG_ERR, "dcerpc.listen.failed", "addr=%s port=%u err=%s", addr, port,
		       uv_strerror(rc));
		free(l);
		return rc == UV_EADDRINUSE ? WD_EEXIST : WD_EIO;
	}
	l->port = l->acc.port;
	if (bound)
		*bound = l->port;
	l->next = srv->listeners;
	srv->listeners = l;
	if (!srv->sweep_started) {
		uv_timer_init(srv->loop, &srv->sweep);
		srv->sweep.data = srv;
		uint64_t every = SWEEP_MS;
		if (srv->limits.frag_timeout_ms / 2 < every)
			every = srv->limits.frag_timeout_ms / 2 + 1;
		if (srv->limits.bind_timeout_ms / 2 < every)
			every = srv->limits.bind_timeout_ms / 2 + 1;
		if (srv->limits.request_timeout_ms / 2 < every)
			every = srv->limits.request_timeout_ms / 2 + 1;
		uv_timer_start(&srv->sweep, on_sweep, every, every);
		uv_unref((uv_handle_t *)&srv->sweep);
		srv->sweep_started = true;
	}
	wd_log(WD_LOG_INFO, "dcerpc.listen", "addr=%s port=%u", addr, l->port);
	return 0;
}

unsigned dcerpc_server_drop_local_ip(dcerpc_server_t *srv, const char *ip)
{
	unsigned n = 0;
	struct conn *c = srv->conns;
	while (c) {
		struct conn *next = c->next;
		if (!c->closing && strcmp(c->local_ip, ip) == 0) {
			conn_close(c);
			n++;
		}
		c = next;
	}
	if (n)
		wd_log(WD_LOG_NOTICE, "dcerpc.drop_local_ip", "ip=%s connections=%u", ip, n);
	return n;
}

/* ---- shutdown ---- */

static void on_listener_closed(struct dcerpc_acceptor *a)
{
	struct listener *l = a->data;
	dcerpc_server_t *srv = l->srv;
	free(l);
	srv->closing_handles--;
	srv_maybe_finish_close(srv);
}

static void on_sweep_closed(uv_handle_t *h)
{
	dcerpc_server_t *srv = h->data;
	srv->closing_handles--;
	srv_maybe_finish_close(srv);
}

static void srv_maybe_finish_close(dcerpc_server_t *srv)
{
	if (!srv->closing || srv->closing_handles > 0)
		return;
	while (srv->groups)
		group_free(srv->groups);
	while (srv->epm) {
		struct dcerpc_epm_entry *e = srv->epm;
		srv->epm = e->next;
		free(e);
	}
	for (unsigned i = 0; i < IP_BUCKETS; i++)
		while (srv->ip_counts[i]) {
			struct ip_count *n = srv->ip_counts[i];
			srv->ip_counts[i] = n->next;
			free(n);
		}
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
	if (srv->sweep_started) {
		srv->closing_handles++;
		uv_timer_stop(&srv->sweep);
		uv_close((uv_handle_t *)&srv->sweep, on_sweep_closed);
	}
	struct conn *c = srv->conns;
	while (c) {
		struct conn *next = c->next;
		if (!c->closing)
			conn_close(c);
		else if (!uv_is_closing((uv_handle_t *)&c->tcp))
			uv_close((uv_handle_t *)&c->tcp, on_conn_closed); /* stop flushing */
		c = next;
	}
	srv->closing_handles--;
	if (srv->closing_handles == 0) {
		/* nothing to wait for: finish on the next loop turn is not needed */
		srv_maybe_finish_close(srv);
	}
}
