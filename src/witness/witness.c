/*
 * witness.c - the MS-SWN service: the witness dcerpc_iface, registrations,
 * pending AsyncNotify calls, notification queues, timers.
 *
 * Rules are [MS-SWN] 3.1.4 with Samba's choices where they differ (notes
 * swn.md 2-3); each choice names the client it is for. Memory per idle
 * registration: one struct wit_reg with its strings in the same allocation,
 * plus one struct wit_notify per pending AsyncNotify; deadlines live in one
 * min-heap (wit_timer.c); no thread and no uv handle per registration.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/htab.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "witness/ndr.h"
#include "wit_priv.h"

/* Samba returns handle_type 1 (SWN_SERVICE_CONTEXT_HANDLE_REGISTRATION); clients treat it as
 * opaque. */
#define WIT_HANDLE_TYPE 1

struct wit_notify {
	struct wit_notify *next, *prev;
	struct wit_reg *reg;
	dcerpc_call_t *call;
	struct wit_timer keepalive; /* [MS-SWN] 3.1.5.2 AsyncNotify Pending Timer */
};

struct wit_move {
	uint32_t n;
	struct witness_ipaddr_info addrs[];
};

/*
 * The addresses of one node for IP_CHANGE_NOTIFICATION ([MS-SWN] 3.1.4.4),
 * built once per cluster event and shared by every registration it is
 * queued for (refcounted): memory is one list per event, at most one entry
 * per IP of the cluster view plus the one that left, not one per client.
 */
struct wit_iplist {
	unsigned refs;
	uint32_t n;
	uint64_t hash; /* FNV-1a of addrs[], to skip a list the client already has */
	struct witness_ipaddr_info addrs[];
};

struct wit_forced {
	bool has_resp;
	uint32_t result;
	struct witness_notify_response resp;
};

/* A GetInterfaceList call waiting for an AVAILABLE interface ([MS-SWN] 3.1.4.1). */
struct wit_ifwait {
	struct wit_ifwait *next, *prev;
	wit_service_t *ws;
	dcerpc_call_t *call;
	struct wit_timer timer; /* interface_wait_ms */
};

struct client_count {
	struct wd_hnode hnode; /* in ws->clients, by address */
	unsigned n;
	char ip[]; /* sized to fit: one per client address */
};

struct wit_reg {
	struct wit_reg *next, *prev; /* service list */
	wit_service_t *ws;
	dcerpc_handle_t *handle;
	unsigned refs; /* the handle's reference + temporary ones (delivery) */
	unsigned n_pending;
	struct dcerpc_wire_handle wire;   /* its GUID is the registration's; REG_UUID formats it */
	uint32_t version, flags, timeout; /* timeout: KeepAliveTimeout seconds (RegisterEx) */
	uint32_t metrics_node;            /* node of the IP at registration (metrics) */
	int family;
	uint8_t ip_bytes[16];
	bool linked, stored, dead, in_fanout;
	struct wit_change change;
	int64_t registration_time_us;
	struct wit_move *client_move;
	struct wit_move *share_move;
	struct wit_iplist *ip_change; /* one pending IP_CHANGE slot, latest wins */
	uint64_t ip_change_hash;      /* hash of the last list queued (0: none yet) */
	struct wit_forced *forced;
	struct wit_notify *pend_head, *pend_tail;
	struct wit_timer unused_timer;     /* [MS-SWN] 3.1.5.1 Unused Registration Timer */
	struct wit_timer reregister_timer; /* forced unregistration (Windows Server 2022) */
	struct client_count *client;
	struct wit_reg *fanout_next; /* in the service's fan-out queue (holds a ref) */
	/*
	 * strs[] holds, NUL-terminated and in this order: net_name, share_name
	 * (if any), ip_address, client_computer_name, then the account, domain,
	 * SID, local and remote address, which only the store, the admin
	 * interface and one log line read: REG_STR finds them by walking on from
	 * client_computer_name instead of keeping five pointers per registration.
	 */
	const char *net_name, *share_name, *ip_address, *client_computer_name;
	char strs[];
};

enum { REG_ACCOUNT, REG_DOMAIN, REG_SID, REG_LOCAL, REG_REMOTE };

static const char *reg_str(const struct wit_reg *r, unsigned k)
{
	const char *s = r->client_computer_name;

	for (unsigned i = 0; i <= k; i++)
		s += strlen(s) + 1;
	return s;
}
#define REG_STR(r, k) reg_str((r), REG_##k)
/* The registration's GUID as a string, formatted into a buffer of the calling expression. */
#define REG_UUID(r) wd_guid_format(&(r)->wire.uuid, (char[WD_GUID_STRLEN]){0})
/* The same for a debug line, formatted only when debug lines are written (delivery paths). */
#define REG_UUID_DBG(r) (wd_log_get_level() >= WD_LOG_DEBUG ? REG_UUID(r) : "")

struct wit_service {
	uv_loop_t *loop;
	struct wit_config cfg;
	char **aliases;
	char *netname, *group_name;
	char **shares;
	struct wit_group_name *group_names;
	cluster_t *cluster;
	store_t *store;
	struct dcerpc_iface iface;
	const struct wit_rpc_ops *rpc;
	struct wit_heap heap;
	struct wit_timer store_retry_timer;
	struct wit_timer checkpoint_timer; /* a second after writes began: store_checkpoint */
	unsigned checkpoint_seen;          /* store_wal_pages() when it was armed */
	struct wit_reg *regs_head, *regs_tail;
	struct wit_ifwait *ifwait_head;
	unsigned n_ifwait;
	struct wd_htab clients; /* struct client_count by client address */
	struct wit_stats stats;
	uint64_t unique_id; /* server_id.unique_id in the JSON */
	bool freeing;
	/*
	 * The fan-out: registrations with a change to deliver to a pending
	 * AsyncNotify, FIFO. A cluster event queues them and delivers the
	 * first slice at once; the idle handle delivers the next slice on each
	 * loop iteration, so other clients, admin commands and ctdbd are
	 * served in between.
	 */
	struct wit_reg *fanout_head, *fanout_tail;
	size_t fanout_len;
	unsigned fanout_slice;
	uv_idle_t fanout_idle;
	int open_handles; /* heap timer + fanout_idle: ws is freed when both closed */
	/* the fan-out in progress, for its one summary line */
	unsigned fanout_events;
	uint64_t fanout_sent0, fanout_start_ns;
	/* RESOURCE_CHANGE stub of the last (state, IP string) delivered: every
	 * registration of one IP gets the same bytes ([MS-SWN] 2.2.2.4) */
	uint8_t *rc_stub;
	size_t rc_stub_len;
	uint32_t rc_state;
	uint32_t rc_ndr_flags; /* the transfer syntax it is in (NDR or NDR64) */
	char rc_ip[CLUSTER_ADDRSTRLEN + 1];
};

/* Registrations delivered per loop iteration of a fan-out: about 2 ms of
 * work at ~8 us each, short enough that a GetInterfaceList waits little. */
#define FANOUT_SLICE 256

#define REG_FROM_TIMER(t, member) ((struct wit_reg *)((char *)(t)-offsetof(struct wit_reg, member)))

static void reg_deliver(struct wit_reg *r);
static void on_fanout_idle(uv_idle_t *h);
static void checkpoint_soon(wit_service_t *ws);

/* ---- the real DCERPC seam ---- */

static const struct wit_rpc_ops real_rpc = {
    .reply = dcerpc_call_reply,
    .fault = dcerpc_call_fault,
    .set_cancel = dcerpc_call_set_cancel,
    .peer = dcerpc_call_peer,
    .handle_create = dcerpc_handle_create,
    .handle_lookup = dcerpc_handle_lookup,
    .handle_close = dcerpc_handle_close,
    .ndr_flags = dcerpc_call_ndr_flags,
};

void wit_service_set_rpc_ops(wit_service_t *ws, const struct wit_rpc_ops *ops)
{
	ws->rpc = ops != NULL ? ops : &real_rpc;
}

/* ---- replies ---- */

/* The call's transfer syntax: NDR or NDR64 ([MS-RPCE] 2.2.5), as negotiated. */
static uint32_t call_ndr_flags(const wit_service_t *ws, const dcerpc_call_t *call)
{
	return ws->rpc->ndr_flags != NULL ? ws->rpc->ndr_flags(call) : 0;
}

static void reply_stub(wit_service_t *ws, dcerpc_call_t *call, struct ndr_push *p)
{
	size_t len = 0;
	uint8_t *stub;

	int rc = ndr_push_finish(p);

	if (rc != 0) {
		ndr_push_free(p);
		/* Only OOM or an over-long string can get here (the group name is bounded by
		 * config). */
		wd_log(WD_LOG_ERR, "witness.marshal_failed", "err=%s", wd_strerror(rc));
		ws->rpc->fault(call, DCERPC_FAULT_REMOTE_NO_MEMORY);
		return;
	}
	stub = ndr_push_steal(p, &len);
	ws->rpc->reply(call, stub, len);
	free(stub);
}

static void reply_result(wit_service_t *ws, dcerpc_call_t *call, uint32_t werr)
{
	struct ndr_push p;

	ndr_push_init_flags(&p, call_ndr_flags(ws, call));
	ndr_witness_result_out_push(&p, werr);
	reply_stub(ws, call, &p);
}

static void reply_handle(wit_service_t *ws, dcerpc_call_t *call, const struct dcerpc_wire_handle *h,
                         uint32_t werr)
{
	struct dcerpc_wire_handle zero;
	struct ndr_push p;

	memset(&zero, 0, sizeof(zero));
	ndr_push_init_flags(&p, call_ndr_flags(ws, call));
	ndr_witness_handle_out_push(&p, h != NULL ? h : &zero, werr);
	reply_stub(ws, call, &p);
}

static void reply_notify(wit_service_t *ws, dcerpc_call_t *call,
                         const struct witness_notify_response *resp, uint32_t werr)
{
	struct ndr_push p;

	ndr_push_init_flags(&p, call_ndr_flags(ws, call));
	ndr_witness_async_notify_out_push(&p, resp, werr);
	reply_stub(ws, call, &p);
}

/* ---- per-client counts (limit registrations per client address) ---- */

static struct client_count *client_get(wit_service_t *ws, const char *ip, bool create)
{
	uint64_t h = wd_htab_hash(&ws->clients, ip, strlen(ip));
	struct client_count *c;

	for (struct wd_hnode *n = wd_htab_first(&ws->clients, h); n != NULL;
	     n = wd_htab_next(n, h)) {
		c = wd_hentry(n, struct client_count, hnode);
		if (strcmp(c->ip, ip) == 0)
			return c;
	}
	if (!create)
		return NULL;
	c = calloc(1, sizeof(*c) + strlen(ip) + 1);
	if (c == NULL)
		return NULL;
	memcpy(c->ip, ip, strlen(ip) + 1);
	if (wd_htab_insert(&ws->clients, &c->hnode, h) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void client_put(wit_service_t *ws, struct client_count *c)
{
	if (c == NULL || --c->n > 0)
		return;
	wd_htab_remove(&ws->clients, &c->hnode);
	free(c);
}

/* A bucket created for a refused registration goes away again. */
static void client_drop_unused(wit_service_t *ws, struct client_count *c)
{
	c->n++;
	client_put(ws, c);
}

/* ---- registrations ---- */

void wit_reg_ref(struct wit_reg *r)
{
	r->refs++;
}

static void forced_free(struct wit_forced *f)
{
	if (f == NULL)
		return;
	witness_notify_response_free(&f->resp);
	free(f);
}

static void iplist_unref(struct wit_iplist **pl)
{
	struct wit_iplist *l = *pl;

	*pl = NULL;
	if (l != NULL && --l->refs == 0)
		free(l);
}

void wit_reg_unref(struct wit_reg *r)
{
	if (--r->refs > 0)
		return;
	free(r->client_move);
	free(r->share_move);
	iplist_unref(&r->ip_change);
	forced_free(r->forced);
	free(r);
}

bool wit_reg_alive(const struct wit_reg *r)
{
	return !r->dead;
}

char *wit_reg_uuid(const struct wit_reg *r, char buf[WD_GUID_STRLEN])
{
	return wd_guid_format(&r->wire.uuid, buf);
}

bool wit_reg_ip_is(const struct wit_reg *r, int family, const uint8_t bytes[16])
{
	return r->family == family && memcmp(r->ip_bytes, bytes, family == AF_INET ? 4 : 16) == 0;
}

bool wit_reg_has_share(const struct wit_reg *r)
{
	return r->share_name != NULL;
}

static void notify_unlink(struct wit_reg *r, struct wit_notify *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		r->pend_head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		r->pend_tail = n->prev;
	n->next = n->prev = NULL;
	r->n_pending--;
	r->ws->stats.pending_notifies--;
	metrics_notify_pending(-1);
	wit_timer_disarm(&r->ws->heap, &n->keepalive);
}

/*
 * The unused-registration timer runs only while no AsyncNotify is pending
 * ([MS-SWN] 3.1.5.1: "IsAsyncNotifyRegistered is FALSE"). Samba also expires
 * a v1 registration (no KeepAliveTimeout) that has a call pending (notes
 * swn.md 3.5, "AsyncNotify on a V1 registration -> NOT_FOUND after 30 s"); we
 * follow the spec so a v1 client (Windows 8 / Server 2012) keeps its wait.
 * Like Samba (and unlike the spec's v2-only timer) it also applies to v1
 * registrations: one that never calls AsyncNotify would otherwise live as
 * long as its connection.
 */
static void reg_touch_unused(struct wit_reg *r)
{
	wit_service_t *ws = r->ws;

	if (r->dead)
		return;
	if (r->n_pending > 0 || ws->cfg.unused_timeout_ms == 0)
		wit_timer_disarm(&ws->heap, &r->unused_timer);
	else
		wit_timer_arm(&ws->heap, &r->unused_timer, ws->cfg.unused_timeout_ms);
}

/* Take a pending call out of the queue: the caller replies to it. */
static dcerpc_call_t *notify_take(struct wit_reg *r, struct wit_notify *n)
{
	dcerpc_call_t *call = n->call;

	notify_unlink(r, n);
	r->ws->rpc->set_cancel(call, NULL, NULL);
	free(n);
	return call;
}

static void reg_unlink(struct wit_reg *r)
{
	wit_service_t *ws = r->ws;

	if (!r->linked)
		return;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		ws->regs_head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		ws->regs_tail = r->prev;
	r->next = r->prev = NULL;
	r->linked = false;
	ws->stats.registrations--;
	metrics_registration(r->version, r->metrics_node, -1);
	client_put(ws, r->client);
	r->client = NULL;
}

/*
 * The handle's destroy callback: UnRegister, UnRegisterEx, expiry, forced
 * unregistration, or the association group ended ([MS-SWN] 3.1.6.5: transport
 * shutdown removes the client's registrations). Every pending AsyncNotify gets
 * WERR_NOT_FOUND (Samba, commit cb1d711e25a: "Unregister() will cancel
 * pending AsyncNotify requests and let them return NOT_FOUND").
 */
static void reg_destroy(void *data)
{
	struct wit_reg *r = data;
	wit_service_t *ws = r->ws;

	r->dead = true;
	r->handle = NULL;
	wit_timer_disarm(&ws->heap, &r->unused_timer);
	wit_timer_disarm(&ws->heap, &r->reregister_timer);
	while (r->pend_head != NULL) {
		dcerpc_call_t *call = notify_take(r, r->pend_head);

		reply_notify(ws, call, NULL, WERR_NOT_FOUND);
	}
	if (r->stored && ws->store != NULL) {
		int rc = store_delete(ws->store, REG_UUID(r));

		if (rc == WD_EIO && !wit_timer_armed(&ws->store_retry_timer))
			wit_timer_arm(&ws->heap, &ws->store_retry_timer, 1000);
		checkpoint_soon(ws);
	}
	r->stored = false;
	if (r->linked)
		wd_log(WD_LOG_INFO, "registration.remove", "uuid=%s", REG_UUID(r));
	reg_unlink(r);
	wit_reg_unref(r);
}

/* Ends a registration from our side (the handle's destroy runs). */
static void reg_close(struct wit_reg *r, const char *why)
{
	if (r->dead || r->handle == NULL)
		return;
	wd_log(WD_LOG_INFO, "registration.close", "uuid=%s reason=%s", REG_UUID(r), why);
	r->ws->rpc->handle_close(r->handle);
}

void wit_reg_force_unregister(struct wit_reg *r)
{
	metrics_forced_unregistration(METRICS_FORCED_ADMIN);
	reg_close(r, "force-unregister");
}

static void on_unused_timer(struct wit_timer *t)
{
	struct wit_reg *r = REG_FROM_TIMER(t, unused_timer);

	/* [MS-SWN] 3.1.5.1 / <7>: Windows 2012R2+ and Samba use 30 s. */
	metrics_registration_expired();
	reg_close(r, "unused");
}

static void on_reregister_timer(struct wit_timer *t)
{
	struct wit_reg *r = REG_FROM_TIMER(t, reregister_timer);

	/*
	 * Windows Server 2022 clients do not register again after moving to a
	 * new connection unless the server drops the registration: Samba
	 * destroys it 5 s after delivering UNAVAILABLE or a move (srv_witness_nt.c);
	 * the client's next AsyncNotify / UnRegister get NOT_FOUND.
	 */
	metrics_forced_unregistration(METRICS_FORCED_AFTER_NOTIFY);
	reg_close(r, "reregister");
}

static void on_keepalive(struct wit_timer *t)
{
	struct wit_notify *n =
	    (struct wit_notify *)((char *)t - offsetof(struct wit_notify, keepalive));
	struct wit_reg *r = n->reg;
	wit_service_t *ws = r->ws;
	dcerpc_call_t *call;

	/*
	 * [MS-SWN] 3.1.5.2: the pending AsyncNotify fails with ERROR_TIMEOUT, the
	 * registration stays; a v2 client re-issues AsyncNotify (3.2.4.2).
	 * Samba answers with a NULL response pointer.
	 */
	call = notify_take(r, n);
	wit_reg_ref(r); /* the reply must not free r under us */
	reply_notify(ws, call, NULL, WERR_TIMEOUT);
	reg_touch_unused(r);
	wit_reg_unref(r);
}

static void on_notify_cancel(dcerpc_call_t *call, void *arg, enum dcerpc_cancel_reason reason)
{
	struct wit_notify *n = arg;
	struct wit_reg *r = n->reg;

	/* The core answers co_cancel itself and frees the call after we return. */
	wd_log(WD_LOG_DEBUG, "witness.notify_cancel", "uuid=%s reason=%d", REG_UUID_DBG(r),
	       (int)reason);
	notify_unlink(r, n);
	free(n);
	reg_touch_unused(r);
}

/*
 * The WAL is copied back when writes pause (src/store/store.c), once it
 * holds as many pages as sqlite's own checkpoint would wait for: the timer
 * looks a second after that, and again each second while the WAL still
 * grows, so that a set-up of thousands of clients pays one checkpoint (and
 * its two fsyncs, on the loop) at its end instead of one per thousand
 * commits in its middle, and a trickle of registrations pays no more of
 * them than before. Nothing is armed while nothing is written.
 */
#define WIT_CHECKPOINT_PAGES 1000
static void checkpoint_soon(wit_service_t *ws)
{
	if (ws->store == NULL || wit_timer_armed(&ws->checkpoint_timer) ||
	    store_wal_pages(ws->store) < WIT_CHECKPOINT_PAGES)
		return;
	ws->checkpoint_seen = store_wal_pages(ws->store);
	wit_timer_arm(&ws->heap, &ws->checkpoint_timer, 1000);
}

static void on_checkpoint(struct wit_timer *t)
{
	wit_service_t *ws =
	    (wit_service_t *)((char *)t - offsetof(wit_service_t, checkpoint_timer));
	unsigned pages;

	if (ws->store == NULL)
		return;
	pages = store_wal_pages(ws->store);
	if (pages < WIT_CHECKPOINT_PAGES)
		return;                     /* checkpointed by a commit past the bound meanwhile */
	if (pages != ws->checkpoint_seen) { /* still writing */
		ws->checkpoint_seen = pages;
		wit_timer_arm(&ws->heap, &ws->checkpoint_timer, 1000);
		return;
	}
	(void)store_checkpoint(ws->store);
}

static void on_store_retry(struct wit_timer *t)
{
	wit_service_t *ws =
	    (wit_service_t *)((char *)t - offsetof(wit_service_t, store_retry_timer));

	if (ws->store != NULL && store_retry(ws->store) != 0)
		wit_timer_arm(&ws->heap, &ws->store_retry_timer, 1000);
}

/* ---- building notifications ---- */

static bool reg_has_message(const struct wit_reg *r)
{
	return r->forced != NULL || r->change.triggered || r->client_move != NULL ||
	       r->share_move != NULL || r->ip_change != NULL;
}

static bool ip_equal(const struct wit_reg *r, const struct witness_ipaddr_info *a)
{
	if (r->family == AF_INET)
		return (a->flags & WITNESS_IPADDR_V4) && memcmp(a->ipv4, r->ip_bytes, 4) == 0;
	return (a->flags & WITNESS_IPADDR_V6) && memcmp(a->ipv6, r->ip_bytes, 16) == 0;
}

/*
 * This node's number for server_id.vnn. The CTDB backend learns it from ctdbd
 * only after start (GET_PNN), so the current view wins over the config value.
 */
static uint32_t wit_local_node(const wit_service_t *ws)
{
	const struct cluster_view *v = cluster_view(ws->cluster);

	if (v != NULL && v->local_node != CLUSTER_NODE_NONE)
		return v->local_node;
	return ws->cfg.node;
}

static bool reg_ip_available(const struct wit_reg *r)
{
	const struct cluster_view *v = cluster_view(r->ws->cluster);
	const struct cluster_ip *ip = cluster_view_find(v, r->ip_address);

	return ip != NULL && ip->available && ip->node != CLUSTER_NODE_NONE;
}

/*
 * The AsyncNotify reply stub for a RESOURCE_CHANGE of state on ip, built once
 * and kept in ws->rc_stub while the fan-out delivers the same one. ResourceName
 * = the registered IP string, like Samba's srv_witness_nt.c; [MS-SWN] 2.2.2.3
 * allows "the NetName or IP address provided in a WitnessrRegister call".
 */
static int resource_change_stub(wit_service_t *ws, uint32_t state, const char *ip,
                                uint32_t ndr_flags)
{
	struct witness_notify_response resp;
	struct ndr_push p;
	int rc;

	if (ws->rc_stub != NULL && ws->rc_state == state && ws->rc_ndr_flags == ndr_flags &&
	    strcmp(ws->rc_ip, ip) == 0)
		return 0;
	if (strlen(ip) >= sizeof(ws->rc_ip))
		return WD_ERANGE;
	free(ws->rc_stub);
	ws->rc_stub = NULL;
	memset(&resp, 0, sizeof(resp));
	resp.type = WITNESS_NOTIFY_RESOURCE_CHANGE;
	rc = witness_msg_add_resource_change(&resp, state, ip);
	if (rc != 0) {
		witness_notify_response_free(&resp);
		return rc;
	}
	ndr_push_init_flags(&p, ndr_flags);
	ndr_witness_async_notify_out_push(&p, &resp, WERR_OK);
	witness_notify_response_free(&resp);
	rc = ndr_push_finish(&p);
	if (rc != 0) {
		ndr_push_free(&p);
		return rc;
	}
	ws->rc_stub = ndr_push_steal(&p, &ws->rc_stub_len);
	ws->rc_state = state;
	ws->rc_ndr_flags = ndr_flags;
	snprintf(ws->rc_ip, sizeof(ws->rc_ip), "%s", ip);
	return 0;
}

/* Delivers queued notifications to pending AsyncNotify calls, oldest call first. */
static void reg_deliver(struct wit_reg *r)
{
	wit_service_t *ws = r->ws;
	unsigned delivered = 0;

	wit_reg_ref(r);
	while (!r->dead && r->pend_head != NULL && reg_has_message(r)) {
		struct witness_notify_response resp;
		uint32_t result = WERR_OK;
		bool has_resp = true, rearm = false;
		dcerpc_call_t *call;
		int rc = 0;

		memset(&resp, 0, sizeof(resp));
		/*
		 * Samba's priority: forced > RESOURCE_CHANGE > CLIENT_MOVE > SHARE_MOVE,
		 * then IP_CHANGE last, so a client learns its IP's state before the
		 * node's new address list ([MS-SWN] 3.1.4.4).
		 */
		if (r->forced != NULL) {
			struct wit_forced *f = r->forced;

			r->forced = NULL;
			call = notify_take(r, r->pend_head);
			reply_notify(ws, call, f->has_resp ? &f->resp : NULL, f->result);
			forced_free(f);
			ws->stats.notifications_sent++;
			metrics_notification_sent(0);
			delivered++;
			continue;
		}
		if (r->change.triggered) {
			uint32_t st = r->change.state;

			wit_change_delivered(&r->change, reg_ip_available(r));
			rearm = st != WITNESS_RESOURCE_STATE_AVAILABLE;
			wd_log(WD_LOG_DEBUG, "witness.notify",
			       "uuid=%s type=resource_change state=%u", REG_UUID_DBG(r), st);
			/* the stub is in the call's transfer syntax (NDR64 or NDR) */
			if (resource_change_stub(ws, st, r->ip_address,
			                         call_ndr_flags(ws, r->pend_head->call)) == 0) {
				call = notify_take(r, r->pend_head);
				ws->rpc->reply(call, ws->rc_stub, ws->rc_stub_len);
				ws->stats.notifications_sent++;
				metrics_notification_sent(WITNESS_NOTIFY_RESOURCE_CHANGE);
				delivered++;
				goto sent;
			}
			resp.type = WITNESS_NOTIFY_RESOURCE_CHANGE;
			rc = WD_ENOMEM;
		} else if (r->client_move == NULL && r->share_move == NULL) {
			struct wit_iplist *l = r->ip_change;

			/*
			 * IP_CHANGE_NOTIFICATION ([MS-SWN] 3.1.4.4, 2.2.2.4): one
			 * IPADDR_INFO_LIST (2.2.2.3) of the node's addresses. It never
			 * arms the forced unregistration (rearm stays false): the
			 * client's IP did not go away, the node's list changed.
			 */
			r->ip_change = NULL;
			resp.type = WITNESS_NOTIFY_IP_CHANGE;
			rc = witness_msg_add_ipaddr_list(&resp, l->addrs, l->n);
			wd_log(WD_LOG_DEBUG, "witness.notify", "uuid=%s type=ip_change addrs=%u",
			       REG_UUID_DBG(r), l->n);
			iplist_unref(&l);
		} else {
			struct wit_move *m =
			    r->client_move != NULL ? r->client_move : r->share_move;

			resp.type = r->client_move != NULL ? WITNESS_NOTIFY_CLIENT_MOVE
			                                   : WITNESS_NOTIFY_SHARE_MOVE;
			if (m == r->client_move)
				r->client_move = NULL;
			else
				r->share_move = NULL;
			rc = witness_msg_add_ipaddr_list(&resp, m->addrs, m->n);
			for (uint32_t i = 0; i < m->n; i++) {
				if (!ip_equal(r, &m->addrs[i]))
					rearm = true; /* a move to another IP */
			}
			wd_log(WD_LOG_DEBUG, "witness.notify", "uuid=%s type=%s addrs=%u",
			       REG_UUID_DBG(r),
			       resp.type == WITNESS_NOTIFY_CLIENT_MOVE ? "client_move"
			                                               : "share_move",
			       m->n);
			free(m);
		}
		if (rc != 0) {
			has_resp = false;
			result = WERR_NOT_ENOUGH_MEMORY;
		}
		call = notify_take(r, r->pend_head);
		reply_notify(ws, call, has_resp ? &resp : NULL, result);
		metrics_notification_sent(resp.type);
		witness_notify_response_free(&resp);
		ws->stats.notifications_sent++;
		delivered++;
	sent:
		/* UNAVAILABLE or a move elsewhere: Windows Server 2022 must re-register. */
		if (rearm && ws->cfg.reregister_delay_ms > 0 && !r->dead &&
		    !wit_timer_armed(&r->reregister_timer))
			wit_timer_arm(&ws->heap, &r->reregister_timer, ws->cfg.reregister_delay_ms);
	}
	/* LastUseTime = now when the queue drained (3.1.4.4). */
	if (!r->dead && delivered > 0)
		reg_touch_unused(r);
	wit_reg_unref(r);
}

int wit_reg_queue_move(struct wit_reg *r, uint32_t type, const struct witness_ipaddr_info *a,
                       uint32_t n)
{
	struct wit_move *m = malloc(sizeof(*m) + n * sizeof(m->addrs[0]));

	if (m == NULL)
		return WD_ENOMEM;
	m->n = n;
	memcpy(m->addrs, a, n * sizeof(*a));
	/* [MS-SWN] 3.1.6.2: a new move overwrites the pending one. */
	if (type == WITNESS_NOTIFY_CLIENT_MOVE) {
		free(r->client_move);
		r->client_move = m;
	} else {
		free(r->share_move);
		r->share_move = m;
	}
	reg_deliver(r);
	return 0;
}

int wit_reg_queue_forced(struct wit_reg *r, const struct witness_notify_response *resp,
                         bool has_resp, uint32_t result)
{
	struct wit_forced *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return WD_ENOMEM;
	f->has_resp = has_resp;
	f->result = result;
	if (has_resp) {
		f->resp = *resp;
		f->resp.buffer = NULL;
		if (resp->length > 0) {
			f->resp.buffer = malloc(resp->length);
			if (f->resp.buffer == NULL) {
				free(f);
				return WD_ENOMEM;
			}
			memcpy(f->resp.buffer, resp->buffer, resp->length);
		}
	}
	forced_free(r->forced);
	r->forced = f;
	reg_deliver(r);
	return 0;
}

/* ---- cluster events ---- */

/*
 * Delivers one slice of the fan-out queue, oldest first. A registration is
 * queued once however many events hit it: its wit_change keeps UNAVAILABLE
 * until delivered and queues AVAILABLE after it, so the order per client
 * holds across slices. When the queue drains, one summary line for the
 * events it served (per-registration lines are at debug level).
 */
static void fanout_run(wit_service_t *ws)
{
	unsigned budget = ws->fanout_slice;

	while (ws->fanout_head != NULL && budget-- > 0) {
		struct wit_reg *r = ws->fanout_head;

		ws->fanout_head = r->fanout_next;
		if (ws->fanout_head == NULL)
			ws->fanout_tail = NULL;
		ws->fanout_len--;
		r->in_fanout = false;
		r->fanout_next = NULL;
		reg_deliver(r);
		wit_reg_unref(r);
	}
	if (ws->fanout_head != NULL) {
		if (!uv_is_active((uv_handle_t *)&ws->fanout_idle))
			uv_idle_start(&ws->fanout_idle, on_fanout_idle);
		return;
	}
	uv_idle_stop(&ws->fanout_idle);
	if (ws->fanout_events > 0) {
		uint64_t us = (uv_hrtime() - ws->fanout_start_ns) / 1000;

		wd_log(WD_LOG_INFO, "notification.sent", "events=%u count=%llu ms=%llu.%03llu",
		       ws->fanout_events,
		       (unsigned long long)(ws->stats.notifications_sent - ws->fanout_sent0),
		       (unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
		ws->fanout_events = 0;
	}
}

static void on_fanout_idle(uv_idle_t *h)
{
	fanout_run(h->data);
}

/* Queue r for the fan-out once (holds a ref until its slice delivers it). */
static void fanout_queue(wit_service_t *ws, struct wit_reg *r)
{
	if (r->pend_head == NULL || r->in_fanout)
		return; /* queued: the next AsyncNotify or slice delivers it */
	wit_reg_ref(r);
	r->in_fanout = true;
	r->fanout_next = NULL;
	if (ws->fanout_tail != NULL)
		ws->fanout_tail->fanout_next = r;
	else
		ws->fanout_head = r;
	ws->fanout_tail = r;
	ws->fanout_len++;
}

void wit_ipaddr_info(const struct cluster_ip *ip, bool online, struct witness_ipaddr_info *a)
{
	memset(a, 0, sizeof(*a));
	if (ip->family == AF_INET) {
		a->flags = WITNESS_IPADDR_V4;
		memcpy(a->ipv4, ip->bytes, 4);
	} else {
		a->flags = WITNESS_IPADDR_V6;
		memcpy(a->ipv6, ip->bytes, 16);
	}
	a->flags |= online ? WITNESS_IPADDR_ONLINE : WITNESS_IPADDR_OFFLINE;
}

/*
 * The address list of node for IP_CHANGE ([MS-SWN] 3.1.4.4): every IP the
 * view puts on it, IPADDR_V4 or IPADDR_V6 and ONLINE if available, else
 * OFFLINE (2.2.2.2); gone, when it is not NULL, is the IP that left the node
 * (moved away or removed) and is listed OFFLINE. At most v->n + 1 entries.
 * Returns a list with one reference, or NULL (no memory).
 */
static struct wit_iplist *node_iplist(const struct cluster_view *v, uint32_t node,
                                      const struct cluster_ip *gone)
{
	struct wit_iplist *l = malloc(sizeof(*l) + (v->n + 1) * sizeof(l->addrs[0]));

	if (l == NULL)
		return NULL;
	l->refs = 1;
	l->n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct cluster_ip *ip = &v->ips[i];

		if (ip->node != node)
			continue;
		wit_ipaddr_info(ip, ip->available, &l->addrs[l->n++]);
	}
	if (gone != NULL)
		wit_ipaddr_info(gone, false, &l->addrs[l->n++]);
	l->hash = 14695981039346656037ull;
	for (size_t i = 0; i < l->n * sizeof(l->addrs[0]); i++)
		l->hash = (l->hash ^ ((const uint8_t *)l->addrs)[i]) * 1099511628211ull;
	return l;
}

/*
 * IP_CHANGE for the registrations with WITNESS_REGISTER_IP_NOTIFICATION
 * (RegisterEx Flags, [MS-SWN] 3.1.4.5) whose IP is on node, or is the IP that
 * left it: one pending slot per registration, the latest list wins (like a
 * pending move, 3.1.6.2). WD_ENOMEM leaves the earlier slots as they were.
 */
static void queue_ip_change(wit_service_t *ws, const struct cluster_view *v, uint32_t node,
                            const struct cluster_ip *gone)
{
	struct wit_iplist *l = NULL;
	size_t glen = gone != NULL && gone->family == AF_INET ? 4 : 16;

	for (struct wit_reg *r = ws->regs_head; r != NULL; r = r->next) {
		if (!(r->flags & WITNESS_REGISTER_IP_NOTIFICATION) || r->dead)
			continue;
		const struct cluster_ip *ip = cluster_view_find(v, r->ip_address);
		bool was = gone != NULL && r->family == gone->family &&
		           memcmp(r->ip_bytes, gone->bytes, glen) == 0;

		if (!was && (ip == NULL || ip->node != node))
			continue;
		if (l == NULL && (l = node_iplist(v, node, gone)) == NULL)
			return;
		/*
		 * A move is two cluster events (UNAVAILABLE, AVAILABLE) that see
		 * the same new view: the same list is not sent twice.
		 */
		if (l->hash == r->ip_change_hash)
			continue;
		r->ip_change_hash = l->hash;
		iplist_unref(&r->ip_change);
		l->refs++;
		r->ip_change = l;
		fanout_queue(ws, r);
	}
	iplist_unref(&l);
}

static void on_cluster_event(void *arg, const struct cluster_event *ev)
{
	wit_service_t *ws = arg;
	size_t len = ev->ip->family == AF_INET ? 4 : 16;
	uint32_t st = ev->type == CLUSTER_IP_AVAILABLE ? WITNESS_RESOURCE_STATE_AVAILABLE
	                                               : WITNESS_RESOURCE_STATE_UNAVAILABLE;

	/* Registrations of the IP whose state changed (Samba compares only the IP). */
	for (struct wit_reg *r = ws->regs_head; r != NULL; r = r->next) {
		if (r->family != ev->ip->family || memcmp(r->ip_bytes, ev->ip->bytes, len) != 0)
			continue;
		wit_change_set(&r->change, st);
		fanout_queue(ws, r);
	}
	/*
	 * [MS-SWN] 3.1.4.4: the addresses of the node that hosted the IP (it
	 * left: OFFLINE there) and of the node that hosts it now changed. The
	 * old node first, so a registration of the moved IP keeps the list of
	 * the node it is on now.
	 */
	const struct cluster_view *v = cluster_view(ws->cluster);
	bool left = ev->removed || ev->old_node != ev->new_node;

	if (ev->old_node != CLUSTER_NODE_NONE)
		queue_ip_change(ws, v, ev->old_node, left ? ev->ip : NULL);
	if (ev->new_node != CLUSTER_NODE_NONE && ev->new_node != ev->old_node)
		queue_ip_change(ws, v, ev->new_node, NULL);
	if (ws->fanout_events++ == 0) {
		ws->fanout_start_ns = uv_hrtime();
		ws->fanout_sent0 = ws->stats.notifications_sent;
	}
	/* Replies may close connections and destroy registrations: deliver after the walk. */
	fanout_run(ws);
	/* [MS-SWN] 3.1.6.1: awaken the GetInterfaceList calls waiting for this. */
	if (ev->type == CLUSTER_IP_AVAILABLE && ws->ifwait_head != NULL)
		wit_service_answer_interface_waits(ws);
}

/* ---- opnums ---- */

/* ---- GetInterfaceList ---- */

/*
 * InterfaceGroupName ([MS-SWN] 3.1.1.2: the name of the interface group, a
 * NetBIOS-style name) names the node that hosts the IP (or that it is
 * pinned to), as Windows Server names each group after its cluster node.
 * Configured per node (`interface group names`); the default is the
 * netname's first label, '-' and the node number ("WITSRV-1"): every node of
 * the cluster derives the same names without configuration (CTDB knows nodes
 * by number only), they tell nodes apart, and they show which server they
 * belong to. An IP that no node hosts gets group_name, else the netname.
 */
static void group_name_of(const wit_service_t *ws, const struct cluster_ip *ip, char *buf,
                          size_t len)
{
	uint32_t node = ip->node != CLUSTER_NODE_NONE ? ip->node : ip->pinned_node;
	size_t label = strcspn(ws->netname, ".");

	if (node == CLUSTER_NODE_NONE) {
		snprintf(buf, len, "%s", ws->group_name != NULL ? ws->group_name : ws->netname);
		return;
	}
	for (size_t i = 0; i < ws->cfg.n_group_names; i++) {
		if (ws->cfg.group_names[i].node == node) {
			snprintf(buf, len, "%s", ws->cfg.group_names[i].name);
			return;
		}
	}
	/* 240 + '-' + 10 digits stays under WCHAR[260] (netname is ASCII). */
	snprintf(buf, len, "%.*s-%u", (int)(label < 240 ? label : 240), ws->netname, node);
}

static bool ip_state_available(const struct cluster_ip *ip)
{
	return ip->available && ip->node != CLUSTER_NODE_NONE;
}

static bool view_any_available(const struct cluster_view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		if (ip_state_available(&v->ips[i]))
			return true;
	}
	return false;
}

/* The current list ([MS-SWN] 3.1.4.1); ERROR_NO_MORE_ITEMS when it is empty. */
static void reply_interface_list(wit_service_t *ws, dcerpc_call_t *call)
{
	const struct cluster_view *v = cluster_view(ws->cluster);
	struct witness_interface_list list;
	struct ndr_push p;

	list.num = (uint32_t)v->n;
	list.interfaces = calloc(v->n > 0 ? v->n : 1, sizeof(*list.interfaces));
	if (list.interfaces == NULL) {
		ws->rpc->fault(call, DCERPC_FAULT_REMOTE_NO_MEMORY);
		return;
	}
	/*
	 * Every configured IP is listed: the static backend's list is explicit,
	 * so unlike Samba (srv_witness_nt.c drops exactly 127.0.0.1 from ctdb's
	 * node IPs) nothing is filtered, and loopback test setups may use any
	 * 127.x address.
	 */
	for (size_t i = 0; i < v->n; i++) {
		const struct cluster_ip *ip = &v->ips[i];
		struct witness_interface_info *ii = &list.interfaces[i];

		group_name_of(ws, ip, ii->group_name, sizeof(ii->group_name));
		/* Samba sends 0x00020000; Windows 0xFFFFFFFF (doc/swn-conformance.md). */
		ii->version = WITNESS_V2;
		ii->state =
		    ip_state_available(ip) ? WITNESS_STATE_AVAILABLE : WITNESS_STATE_UNAVAILABLE;
		if (ip->family == AF_INET) {
			memcpy(ii->ipv4, ip->bytes, 4);
			ii->flags = WITNESS_INFO_IPV4_VALID;
		} else {
			memcpy(ii->ipv6, ip->bytes, 16);
			ii->flags = WITNESS_INFO_IPV6_VALID;
		}
		/* INTERFACE_WITNESS only on IPs not hosted on this node (3.1.4.1). */
		if (!cluster_ip_is_local(v, ip))
			ii->flags |= WITNESS_INFO_WITNESS_IF;
	}
	ndr_push_init_flags(&p, call_ndr_flags(ws, call));
	if (v->n == 0)
		ndr_witness_get_interface_list_out_push(&p, NULL, WERR_NO_MORE_ITEMS);
	else
		ndr_witness_get_interface_list_out_push(&p, &list, WERR_OK);
	free(list.interfaces);
	reply_stub(ws, call, &p);
}

static void ifwait_unlink(wit_service_t *ws, struct wit_ifwait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		ws->ifwait_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	ws->n_ifwait--;
	wit_timer_disarm(&ws->heap, &w->timer);
}

/* Answers one waiting call with the list as it is now. */
static void ifwait_answer(wit_service_t *ws, struct wit_ifwait *w)
{
	dcerpc_call_t *call = w->call;

	ifwait_unlink(ws, w);
	ws->rpc->set_cancel(call, NULL, NULL);
	free(w);
	reply_interface_list(ws, call);
}

/*
 * The maximum wait passed and still no interface is AVAILABLE: the list as
 * it is (every entry UNAVAILABLE) with ERROR_SUCCESS, the answer Samba gives
 * at once. A client finds no interface to register on and retries later
 * ([MS-SWN] 3.2.4.1; Windows every 60 s, <15>), instead of having its call
 * cancelled by its own RPC call timeout (Windows: 180 s, <9>).
 */
static void on_ifwait_timer(struct wit_timer *t)
{
	struct wit_ifwait *w =
	    (struct wit_ifwait *)((char *)t - offsetof(struct wit_ifwait, timer));

	wd_log(WD_LOG_INFO, "witness.interface_list_wait", "result=max_wait");
	ifwait_answer(w->ws, w);
}

/* CO_CANCEL, orphaned, or the connection closed: the core answers and frees the call. */
static void on_ifwait_cancel(dcerpc_call_t *call, void *arg, enum dcerpc_cancel_reason reason)
{
	struct wit_ifwait *w = arg;

	(void)call;
	wd_log(WD_LOG_DEBUG, "witness.interface_list_cancel", "reason=%d", (int)reason);
	ifwait_unlink(w->ws, w);
	free(w);
}

void wit_service_answer_interface_waits(wit_service_t *ws)
{
	while (ws->ifwait_head != NULL)
		ifwait_answer(ws, ws->ifwait_head);
}

static void op_get_interface_list(wit_service_t *ws, dcerpc_call_t *call)
{
	const struct cluster_view *v = cluster_view(ws->cluster);
	struct wit_ifwait *w;

	/*
	 * [MS-SWN] 3.1.4.1: "If no entry in the InterfaceList has a State of
	 * AVAILABLE, the server MUST wait until at least one entry enters that
	 * State" (Samba answers at once). The call is parked like an
	 * AsyncNotify (no thread), answered as soon as an interface becomes
	 * available (3.1.6.1), when interface_wait_ms passes, or at stop; the
	 * client may cancel it. An empty list is ERROR_NO_MORE_ITEMS at once.
	 */
	if (v->n == 0 || view_any_available(v) || ws->cfg.interface_wait_ms == 0) {
		reply_interface_list(ws, call);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		reply_interface_list(ws, call);
		return;
	}
	w->ws = ws;
	w->call = call;
	wit_timer_init(&w->timer, on_ifwait_timer);
	if (wit_timer_arm(&ws->heap, &w->timer, ws->cfg.interface_wait_ms) != 0) {
		free(w);
		reply_interface_list(ws, call); /* cannot bound the wait: do not start it */
		return;
	}
	w->next = ws->ifwait_head;
	if (w->next != NULL)
		w->next->prev = w;
	ws->ifwait_head = w;
	ws->n_ifwait++;
	ws->rpc->set_cancel(call, on_ifwait_cancel, w);
	wd_log(WD_LOG_DEBUG, "witness.interface_list_wait", "result=parked waiting=%u",
	       ws->n_ifwait);
}

/*
 * Register / RegisterEx in four steps with one cleanup path in op_register:
 * parse the stub, validate (the [MS-SWN] rules, then our limits), create the
 * registration and its context handle, commit (store row, then the lists).
 * A step that fails returns a WERROR and leaves nothing behind but the
 * client's count bucket, which op_register drops.
 */

/* Parse: 0, or a DCERPC fault status. in is filled and must be freed either way. */
static uint32_t register_parse(const wit_service_t *ws, const dcerpc_call_t *call,
                               const uint8_t *stub, size_t len, bool ex,
                               struct witness_register_in *in)
{
	struct ndr_pull pl;
	int rc;

	memset(in, 0, sizeof(*in));
	ndr_pull_init_flags(&pl, stub, len, call_ndr_flags(ws, call));
	rc = ex ? ndr_witness_register_ex_in_pull(&pl, in) : ndr_witness_register_in_pull(&pl, in);
	if (rc != 0)
		return DCERPC_FAULT_BAD_STUB_DATA;
	if (!ex) {
		/* Register(v1) = RegisterEx without share, flags 0, timeout 0 (Samba). */
		free(in->share_name);
		in->share_name = NULL;
		in->flags = 0;
		in->timeout = 0;
	}
	return 0;
}

/*
 * A ShareName against the configured scale-out shares, compared without
 * case as Windows and Samba look shares up (ASCII folding). Clients send the
 * bare name (Windows and Microsoft's test suite send the share as it is
 * configured, the Linux kernel the share part of its tree name); the UNC
 * form never gets here, since the escape rule of wit_share_name_ok already refuses
 * a backslash.
 */
static bool share_known(const wit_service_t *ws, const char *name)
{
	if (ws->cfg.n_shares == 0)
		return true;
	for (size_t i = 0; i < ws->cfg.n_shares; i++) {
		if (strcasecmp(ws->cfg.shares[i], name) == 0)
			return true;
	}
	return false;
}

/* Validation in Samba's order (Samba's srv_witness_nt.c); 0 or a WERROR. */
static uint32_t validate_register(wit_service_t *ws, const struct witness_register_in *in, bool ex,
                                  const struct cluster_ip **ip_out)
{
	const struct cluster_ip *ip;

	/* 1. [MS-SWN] 3.1.4.2 / 3.1.4.5: Register needs V1, RegisterEx V2. */
	if (in->version != (ex ? WITNESS_V2 : WITNESS_V1))
		return WERR_REVISION_MISMATCH;
	/* 2. NULL NetName, IpAddress or ClientComputerName (ShareName may be NULL). */
	if (in->net_name == NULL || in->ip_address == NULL || in->client_computer_name == NULL)
		return WERR_INVALID_PARAMETER;
	/* 3. NetName != ServerGlobalName. */
	if (!wit_netname_ok(&ws->cfg, in->net_name))
		return metrics_refused(METRICS_REFUSED_NETNAME), WERR_INVALID_PARAMETER;
	/*
	 * 4. ShareName: no share lookup (Samba: in a cluster all shares are
	 * scale-out and Windows clients connect as the machine account), but
	 * a name that would need escaping is INVALID_STATE like Samba.
	 */
	if (ex && in->share_name != NULL && !wit_share_name_ok(in->share_name))
		return WERR_INVALID_STATE;
	/*
	 * [MS-SWN] 3.1.4.5: when scale-out shares exist, a ShareName that is not
	 * one of them is ERROR_INVALID_STATE (Windows Server; Samba checks no
	 * share). We know the shares only when configured; without, any name
	 * is accepted (the spec's "no STYPE_CLUSTER_SOFS share: ignore it").
	 */
	if (ex && in->share_name != NULL && !share_known(ws, in->share_name))
		return WERR_INVALID_STATE;
	/* 5. The IP must be one of our interfaces, any state (3.1.4.2: INVALID_STATE). */
	ip = cluster_view_find(cluster_view(ws->cluster), in->ip_address);
	if (ip == NULL)
		return metrics_refused(METRICS_REFUSED_IP), WERR_INVALID_STATE;
	*ip_out = ip;
	return 0;
}

/*
 * Limits ([MS-SWN] leaves them to the implementation): NO_SYSTEM_RESOURCES
 * like Samba's store failure. *cc is the client's count bucket (maybe just
 * created, even on failure); op_register drops it if the registration fails.
 */
static uint32_t register_limits(wit_service_t *ws, const char *remote_ip, struct client_count **cc)
{
	if (ws->cfg.max_registrations > 0 && ws->stats.registrations >= ws->cfg.max_registrations) {
		wd_log(WD_LOG_WARNING, "witness.limit", "what=registrations max=%u",
		       ws->cfg.max_registrations);
		metrics_refused(METRICS_REFUSED_LIMITS);
		return WERR_NO_SYSTEM_RESOURCES;
	}
	*cc = client_get(ws, remote_ip, true);
	if (*cc == NULL)
		return WERR_NOT_ENOUGH_MEMORY;
	if (ws->cfg.max_registrations_per_client > 0 &&
	    (*cc)->n >= ws->cfg.max_registrations_per_client) {
		wd_log(WD_LOG_WARNING, "witness.limit",
		       "what=registrations_per_client client=%s max=%u", remote_ip,
		       ws->cfg.max_registrations_per_client);
		metrics_refused(METRICS_REFUSED_LIMITS);
		return WERR_NO_SYSTEM_RESOURCES;
	}
	return 0;
}

static char *put_str(char **cursor, const char *s)
{
	char *d = *cursor;
	size_t l = strlen(s) + 1;

	memcpy(d, s, l);
	*cursor += l;
	return d;
}

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/*
 * Create: the registration with its strings in one allocation and its
 * context handle. Ownership: on success *out is owned by the handle (its
 * destroy callback drops the last reference); on failure nothing is left.
 */
static uint32_t reg_create(wit_service_t *ws, dcerpc_call_t *call,
                           const struct witness_register_in *in, const struct cluster_ip *ip,
                           struct wit_reg **out)
{
	const struct dcerpc_peer *peer = ws->rpc->peer(call);
	const struct auth_session *as = peer != NULL ? peer->auth : NULL;
	const char *acct = as != NULL ? as->account : "";
	const char *dom = as != NULL ? as->domain : "";
	const char *sid = as != NULL ? as->sid : "";
	const char *la = peer != NULL && peer->local_addr ? peer->local_addr : "";
	const char *ra = peer != NULL && peer->remote_addr ? peer->remote_addr : "";
	char ccn[1024];
	struct wit_reg *r;
	size_t need;
	int rc;
	char *cur;

	/* An unauthenticated bind is Samba's anonymous session (min auth level = none). */
	if (as == NULL || (as->auth_type == AUTH_TYPE_NONE && as->account[0] == '\0')) {
		acct = "ANONYMOUS LOGON";
		dom = "NT AUTHORITY";
		sid = "S-1-5-7";
	}
	/* Samba stores the client computer name log-escaped (srv_witness_nt.c). */
	wit_name_escape(in->client_computer_name, ccn, sizeof(ccn));
	need = strlen(in->net_name) + 1 + (in->share_name ? strlen(in->share_name) + 1 : 0) +
	       strlen(ip->addr) + 1 + strlen(ccn) + 1 + strlen(acct) + 1 + strlen(dom) + 1 +
	       strlen(sid) + 1 + strlen(la) + 1 + strlen(ra) + 1;
	r = calloc(1, sizeof(*r) + need);
	if (r == NULL)
		return WERR_NOT_ENOUGH_MEMORY;
	cur = r->strs;
	r->net_name = put_str(&cur, in->net_name);
	r->share_name = in->share_name ? put_str(&cur, in->share_name) : NULL;
	/* The interface's canonical address ("ip = the interface's address", Samba). */
	r->ip_address = put_str(&cur, ip->addr);
	r->client_computer_name = put_str(&cur, ccn);
	/* REG_STR's strings, in enum order */
	put_str(&cur, acct);
	put_str(&cur, dom);
	put_str(&cur, sid);
	put_str(&cur, la);
	put_str(&cur, ra);
	r->ws = ws;
	r->refs = 1;
	r->version = in->version;
	r->flags = in->flags;     /* not validated, like Samba */
	r->timeout = in->timeout; /* KeepAliveTimeout, seconds ([MS-SWN] 3.1.4.5); 0 = at once */
	r->family = ip->family;
	memcpy(r->ip_bytes, ip->bytes, 16);
	r->metrics_node = ip->node;
	r->registration_time_us = now_us();
	wit_timer_init(&r->unused_timer, on_unused_timer);
	wit_timer_init(&r->reregister_timer, on_reregister_timer);
	rc = ws->rpc->handle_create(call, WIT_HANDLE_TYPE, r, reg_destroy, &r->handle, &r->wire);
	if (rc != 0) {
		free(r);
		return wd_err_werror(rc);
	}
	*out = r;
	return 0;
}

/*
 * Commit: the store row first, so that a failed write does not leave a
 * registration in memory (the handle is closed and its destroy frees r,
 * which is not linked yet); then the service list and the client's count.
 */
static uint32_t reg_commit(wit_service_t *ws, struct wit_reg *r, struct client_count *cc)
{
	if (ws->store != NULL) {
		struct store_registration sr = {
		    .version = r->version,
		    .net_name = r->net_name,
		    .share_name = r->share_name,
		    .ip_address = r->ip_address,
		    .client_computer_name = r->client_computer_name,
		    .flags = r->flags,
		    .timeout = r->timeout,
		    .handle_type = r->wire.handle_type,
		    .node = wit_local_node(ws),
		    .pid = (uint64_t)getpid(),
		    .account_name = REG_STR(r, ACCOUNT),
		    .domain_name = REG_STR(r, DOMAIN),
		    .account_sid = REG_STR(r, SID),
		    .local_address = REG_STR(r, LOCAL),
		    .remote_address = REG_STR(r, REMOTE),
		    .registration_time_us = r->registration_time_us,
		};
		int rc;

		wd_guid_format(&r->wire.uuid, sr.uuid);
		rc = store_insert(ws->store, &sr);
		if (rc != 0) {
			/* Samba: TDB store failure -> WERR_NO_SYSTEM_RESOURCES (WD_EIO). */
			wd_log(WD_LOG_ERR, "witness.store_failed", "uuid=%s err=%s", REG_UUID(r),
			       wd_strerror(rc));
			ws->rpc->handle_close(r->handle); /* destroy frees r (not linked) */
			return wd_err_werror(rc);
		}
		r->stored = true;
		checkpoint_soon(ws);
	}
	cc->n++;
	r->client = cc;
	r->linked = true;
	r->prev = ws->regs_tail;
	if (ws->regs_tail != NULL)
		ws->regs_tail->next = r;
	else
		ws->regs_head = r;
	ws->regs_tail = r;
	ws->stats.registrations++;
	ws->stats.registrations_total++;
	metrics_registration(r->version, r->metrics_node, +1);
	reg_touch_unused(r);
	return 0;
}

static void announce_registration(const struct wit_reg *r)
{
	char esc_net[256], esc_client[256];

	wd_log(WD_LOG_INFO, "registration.add",
	       "uuid=%s version=0x%08x net_name=%s share=%s ip=%s client=%s timeout=%u "
	       "remote=%s",
	       REG_UUID(r), r->version, wd_log_escape(r->net_name, esc_net, sizeof(esc_net)),
	       r->share_name ? "yes" : "no", r->ip_address,
	       wd_log_escape(r->client_computer_name, esc_client, sizeof(esc_client)), r->timeout,
	       REG_STR(r, REMOTE));
}

static void op_register(wit_service_t *ws, dcerpc_call_t *call, const uint8_t *stub, size_t len,
                        bool ex)
{
	const struct dcerpc_peer *peer = ws->rpc->peer(call);
	const char *remote_ip = peer != NULL && peer->remote_ip != NULL ? peer->remote_ip : "";
	struct witness_register_in in;
	const struct cluster_ip *ip = NULL;
	struct client_count *cc = NULL;
	struct wit_reg *r = NULL;
	uint32_t werr, fault;
	char esc[256];

	fault = register_parse(ws, call, stub, len, ex, &in);
	if (fault != 0) {
		witness_register_in_free(&in);
		ws->rpc->fault(call, fault);
		return;
	}
	werr = validate_register(ws, &in, ex, &ip);
	if (werr != 0)
		wd_log(
		    WD_LOG_INFO, "witness.register_refused", "werr=0x%x net_name=%s ip=%s", werr,
		    wd_log_escape(in.net_name != NULL ? in.net_name : "(null)", esc, sizeof(esc)),
		    in.ip_address != NULL ? "given" : "(null)");
	if (werr == 0)
		werr = register_limits(ws, remote_ip, &cc);
	if (werr == 0)
		werr = reg_create(ws, call, &in, ip, &r);
	if (werr == 0)
		werr = reg_commit(ws, r, cc);
	witness_register_in_free(&in);
	if (werr != 0) {
		/* The one cleanup path: a bucket created for a refused registration goes. */
		if (cc != NULL)
			client_drop_unused(ws, cc);
		reply_handle(ws, call, NULL, werr);
		return;
	}
	announce_registration(r);
	reply_handle(ws, call, &r->wire, WERR_OK);
}

static struct wit_reg *lookup(wit_service_t *ws, dcerpc_call_t *call, const uint8_t *stub,
                              size_t len, struct dcerpc_wire_handle *wire, bool *bad_stub)
{
	struct ndr_pull pl;
	struct wit_reg *r;

	*bad_stub = false;
	ndr_pull_init_flags(&pl, stub, len, call_ndr_flags(ws, call));
	if (ndr_witness_handle_in_pull(&pl, wire) != 0) {
		*bad_stub = true;
		return NULL;
	}
	r = ws->rpc->handle_lookup(call, wire, WIT_HANDLE_TYPE, NULL);
	if (r != NULL && r->dead)
		return NULL;
	return r;
}

static void op_unregister(wit_service_t *ws, dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct dcerpc_wire_handle wire;
	bool bad;
	struct wit_reg *r = lookup(ws, call, stub, len, &wire, &bad);

	if (bad) {
		ws->rpc->fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	/*
	 * [MS-SWN] 3.1.4.3: a context that is not (or no longer) registered ->
	 * ERROR_INVALID_PARAMETER, as Windows Server 2012 R2 and later answer
	 * (<5>: only Windows Server 2012 returned ERROR_NOT_FOUND, which is also
	 * Samba's answer in srv_witness_nt.c). The same after an expiry or a
	 * forced unregistration.
	 */
	if (r == NULL) {
		reply_result(ws, call, WERR_INVALID_PARAMETER);
		return;
	}
	reg_close(r, "unregister"); /* pending AsyncNotify calls get NOT_FOUND first */
	reply_result(ws, call, WERR_OK);
}

static void op_unregister_ex(wit_service_t *ws, dcerpc_call_t *call, const uint8_t *stub,
                             size_t len)
{
	struct dcerpc_wire_handle wire;
	bool bad;
	struct wit_reg *r = lookup(ws, call, stub, len, &wire, &bad);

	if (bad) {
		ws->rpc->fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	/*
	 * [MS-SWN] 3.1.4.6 (WitnessrUnRegisterEx, opnum 5): Windows Server 2025 /
	 * Windows 11 24H2 clients call it first (<18>). Not found ->
	 * ERROR_INVALID_PARAMETER (the handle is returned unchanged); found ->
	 * remove, *ppContext = NULL, ERROR_SUCCESS.
	 */
	if (r == NULL) {
		reply_handle(ws, call, &wire, WERR_INVALID_PARAMETER);
		return;
	}
	reg_close(r, "unregister_ex");
	reply_handle(ws, call, NULL, WERR_OK);
}

static void op_async_notify(wit_service_t *ws, dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct dcerpc_wire_handle wire;
	bool bad;
	struct wit_reg *r = lookup(ws, call, stub, len, &wire, &bad);
	struct wit_notify *n;

	if (bad) {
		ws->rpc->fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	/* [MS-SWN] 3.1.4.4: unknown registration -> ERROR_NOT_FOUND. */
	if (r == NULL) {
		reply_notify(ws, call, NULL, WERR_NOT_FOUND);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		reply_notify(ws, call, NULL, WERR_NOT_ENOUGH_MEMORY);
		return;
	}
	n->reg = r;
	n->call = call;
	wit_timer_init(&n->keepalive, on_keepalive);
	/* Several may be pending per registration (Samba queues them); FIFO. */
	n->prev = r->pend_tail;
	if (r->pend_tail != NULL)
		r->pend_tail->next = n;
	else
		r->pend_head = n;
	r->pend_tail = n;
	r->n_pending++;
	ws->stats.pending_notifies++;
	metrics_notify_pending(+1);
	ws->rpc->set_cancel(call, on_notify_cancel, n);
	/* v2: LastUseTime = now, IsAsyncNotifyRegistered = TRUE (3.1.4.4). */
	reg_touch_unused(r);
	/*
	 * [MS-SWN] 3.1.5.2: a RegisterEx registration fails its pending call with
	 * ERROR_TIMEOUT once LastUseTime + KeepAliveTime has passed, so a
	 * KeepAliveTimeout of 0 is due at once (Samba's srv_witness_nt.c treats 0
	 * as "no timeout"). A 0 delay fires on the next loop turn, so a message
	 * already queued is still delivered first (reg_deliver below). A Register (v1) registration
	 * has no KeepAliveTime (3.1.4.2) and waits.
	 */
	if (r->version == WITNESS_V2 &&
	    wit_timer_arm(&ws->heap, &n->keepalive, (uint64_t)r->timeout * 1000) != 0) {
		/* Cannot time it out: answer now rather than hold it forever. */
		call = notify_take(r, n);
		wit_reg_ref(r);
		reply_notify(ws, call, NULL, WERR_NOT_ENOUGH_MEMORY);
		reg_touch_unused(r);
		wit_reg_unref(r);
		return;
	}
	reg_deliver(r);
}

static void wit_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                         size_t stub_len)
{
	wit_service_t *ws = ctx;

	switch (opnum) {
	case WITNESS_OP_GET_INTERFACE_LIST:
		op_get_interface_list(ws, call);
		break;
	case WITNESS_OP_REGISTER:
		op_register(ws, call, stub, stub_len, false);
		break;
	case WITNESS_OP_UNREGISTER:
		op_unregister(ws, call, stub, stub_len);
		break;
	case WITNESS_OP_ASYNC_NOTIFY:
		op_async_notify(ws, call, stub, stub_len);
		break;
	case WITNESS_OP_REGISTER_EX:
		op_register(ws, call, stub, stub_len, true);
		break;
	case WITNESS_OP_UNREGISTER_EX:
		op_unregister_ex(ws, call, stub, stub_len);
		break;
	default:
		ws->rpc->fault(call, DCERPC_FAULT_OP_RNG_ERROR);
		break;
	}
}

/* ---- service ---- */

static char *xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void free_lists(wit_service_t *ws)
{
	for (size_t i = 0; ws->shares != NULL && i < ws->cfg.n_shares; i++)
		free(ws->shares[i]);
	free(ws->shares);
	for (size_t i = 0; ws->group_names != NULL && i < ws->cfg.n_group_names; i++)
		free((char *)ws->group_names[i].name);
	free(ws->group_names);
	ws->shares = NULL;
	ws->group_names = NULL;
}

/* Copies cfg's shares and group names into ws (ws->cfg points at the copies). */
static int copy_lists(wit_service_t *ws, const struct wit_config *cfg)
{
	ws->shares = calloc(cfg->n_shares + 1, sizeof(char *));
	ws->group_names = calloc(cfg->n_group_names + 1, sizeof(*ws->group_names));
	if (ws->shares == NULL || ws->group_names == NULL)
		return WD_ENOMEM;
	for (size_t i = 0; i < cfg->n_shares; i++) {
		if ((ws->shares[i] = strdup(cfg->shares[i])) == NULL)
			return WD_ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_group_names; i++) {
		ws->group_names[i].node = cfg->group_names[i].node;
		if ((ws->group_names[i].name = strdup(cfg->group_names[i].name)) == NULL)
			return WD_ENOMEM;
	}
	ws->cfg.shares = (const char *const *)ws->shares;
	ws->cfg.group_names = ws->group_names;
	return 0;
}

/* InterfaceGroupName is WCHAR[260] on the wire ([MS-SWN] 2.2.2.5). */
static bool group_name_fits(const char *name)
{
	uint8_t *u16 = NULL;
	size_t units = 0;
	bool ok = wd_utf8_to_utf16le(name, &u16, &units) == 0 && units < WITNESS_GROUP_NAME_CHARS;

	free(u16);
	return ok;
}

/* Ownership: cfg strings are copied; cluster and store are borrowed. */
int wit_service_new(uv_loop_t *loop, const struct wit_config *cfg, cluster_t *cluster,
                    store_t *store, wit_service_t **out)
{
	wit_service_t *ws;
	struct wd_guid g;

	if (cfg == NULL || cfg->netname == NULL || cluster == NULL)
		return WD_EINVAL;
	{
		bool fits =
		    group_name_fits(cfg->group_name != NULL ? cfg->group_name : cfg->netname);

		for (size_t i = 0; i < cfg->n_group_names; i++)
			fits = fits && group_name_fits(cfg->group_names[i].name);
		if (!fits) {
			wd_log(WD_LOG_ERR, "witness.config",
			       "msg=\"group name must be valid UTF-8 of "
			       "at most 259 UTF-16 units\"");
			return WD_EINVAL;
		}
	}
	ws = calloc(1, sizeof(*ws));
	if (ws == NULL)
		return WD_ENOMEM;
	ws->loop = loop;
	wd_htab_init(&ws->clients);
	ws->cfg = *cfg;
	ws->netname = xstrdup(cfg->netname);
	ws->group_name = xstrdup(cfg->group_name);
	ws->aliases = calloc(cfg->n_aliases + 1, sizeof(char *));
	if (ws->netname == NULL || ws->aliases == NULL ||
	    (cfg->group_name != NULL && ws->group_name == NULL))
		goto nomem;
	for (size_t i = 0; i < cfg->n_aliases; i++) {
		ws->aliases[i] = xstrdup(cfg->aliases[i]);
		if (ws->aliases[i] == NULL)
			goto nomem;
	}
	if (copy_lists(ws, cfg) != 0)
		goto nomem;
	ws->cfg.netname = ws->netname;
	ws->cfg.group_name = ws->group_name;
	ws->cfg.aliases = (const char *const *)ws->aliases;
	ws->cluster = cluster;
	ws->store = store;
	ws->rpc = &real_rpc;
	if (wit_heap_init(&ws->heap, loop) != 0)
		goto nomem;
	ws->open_handles = 1;
	uv_idle_init(loop, &ws->fanout_idle);
	ws->fanout_idle.data = ws;
	ws->open_handles++;
	ws->fanout_slice = FANOUT_SLICE;
	wit_timer_init(&ws->store_retry_timer, on_store_retry);
	wit_timer_init(&ws->checkpoint_timer, on_checkpoint);
	if (wd_guid_random(&g) == 0)
		memcpy(&ws->unique_id, &g, sizeof(ws->unique_id));
	ws->unique_id &= 0x7fffffffffffffffULL; /* JSON integers stay positive */

	ws->iface.name = "witness";
	wd_guid_parse(WITNESS_UUID, &ws->iface.syntax.uuid);
	ws->iface.syntax.major = WITNESS_VERS_MAJOR;
	ws->iface.syntax.minor = WITNESS_VERS_MINOR;
	/* Opnum 5 (UnRegisterEx) included: [MS-SWN] 3.1.4.6, Windows Server 2025 clients. */
	ws->iface.num_ops = WITNESS_NUM_OPS;
	ws->iface.min_auth_level = cfg->min_auth_level;
	/* NDR64 when offered, as Samba's rpcd_witness.c (Windows clients offer it) */
	ws->iface.prefer_ndr64 = true;
	ws->iface.ctx = ws;
	ws->iface.dispatch = wit_dispatch;
	cluster_subscribe(cluster, on_cluster_event, ws);
	*out = ws;
	return 0;
nomem:
	free_lists(ws);
	if (ws->aliases != NULL) {
		for (size_t i = 0; i < cfg->n_aliases; i++)
			free(ws->aliases[i]);
	}
	free(ws->aliases);
	free(ws->netname);
	free(ws->group_name);
	free(ws);
	return WD_ENOMEM;
}

static void free_heap_cb(uv_handle_t *h)
{
	wit_service_t *ws = h->data;

	if (--ws->open_handles == 0)
		free(ws);
}

void wit_service_set_fanout_slice(wit_service_t *ws, unsigned n)
{
	ws->fanout_slice = n > 0 ? n : FANOUT_SLICE;
}

void wit_service_free(wit_service_t *ws)
{
	if (ws == NULL)
		return;
	ws->freeing = true;
	cluster_subscribe(ws->cluster, NULL, NULL);
	wit_service_answer_interface_waits(ws);
	while (ws->regs_head != NULL) {
		struct wit_reg *r = ws->regs_head;

		if (r->handle != NULL)
			ws->rpc->handle_close(r->handle); /* pending calls: NOT_FOUND */
		if (ws->regs_head == r)
			reg_destroy(r); /* the core did not call back: do it ourselves */
	}
	while (ws->fanout_head != NULL) {
		struct wit_reg *r = ws->fanout_head;

		ws->fanout_head = r->fanout_next;
		r->in_fanout = false;
		wit_reg_unref(r);
	}
	ws->fanout_tail = NULL;
	ws->fanout_len = 0;
	free(ws->rc_stub);
	ws->rc_stub = NULL;
	if (ws->store != NULL)
		(void)store_retry(ws->store);
	for (size_t i = 0; i < ws->clients.nb; i++) {
		while (ws->clients.b[i] != NULL) {
			struct wd_hnode *n = ws->clients.b[i];
			wd_htab_remove(&ws->clients, n);
			free(wd_hentry(n, struct client_count, hnode));
		}
	}
	wd_htab_free(&ws->clients);
	for (size_t i = 0; i < ws->cfg.n_aliases; i++)
		free(ws->aliases[i]);
	free(ws->aliases);
	free(ws->netname);
	free(ws->group_name);
	free_lists(ws);
	/* The heap's uv timer is closed asynchronously: the service memory goes with it. */
	for (size_t i = 0; i < ws->heap.n; i++) {
		if (ws->heap.a[i].t != NULL)
			ws->heap.a[i].t->idx = WIT_TIMER_IDLE;
	}
	free(ws->heap.a);
	ws->heap.a = NULL;
	ws->heap.n = ws->heap.dead = 0;
	uv_idle_stop(&ws->fanout_idle);
	uv_close((uv_handle_t *)&ws->fanout_idle, free_heap_cb);
	if (ws->heap.uv_init) {
		uv_timer_stop(&ws->heap.uv);
		ws->heap.uv.data = ws;
		uv_close((uv_handle_t *)&ws->heap.uv, free_heap_cb);
	} else {
		ws->heap.uv.data = ws;
		free_heap_cb((uv_handle_t *)&ws->heap.uv);
	}
}

/*
 * Graceful stop. Every registration is ended, so each pending AsyncNotify
 * is answered ERROR_NOT_FOUND and the store row goes. NOT_FOUND is the
 * answer that sends a Windows client elsewhere at once: it is how Samba
 * (source3/rpc_server/witness/srv_witness_nt.c, the forced unregistration
 * after a move) makes a Windows Server 2022 client ask GetInterfaceList
 * again and RegisterEx with another witness; ERROR_TIMEOUT would make it
 * re-issue AsyncNotify to us ([MS-SWN] 3.2.4.2), and a RESOURCE_CHANGE
 * UNAVAILABLE would tell it that its SMB address failed, which it has not.
 */
unsigned wit_service_stop(wit_service_t *ws)
{
	unsigned answered = ws->stats.pending_notifies;
	struct wit_reg *r = ws->regs_head;

	while (r != NULL) {
		struct wit_reg *next = r->next;

		reg_close(r, "shutdown");
		r = next;
	}
	return answered - ws->stats.pending_notifies;
}

void wit_service_set_limits(wit_service_t *ws, const struct wit_config *cfg)
{
	/* Registrations keep their armed timers; new arms use the new values. */
	ws->cfg.unused_timeout_ms = cfg->unused_timeout_ms;
	ws->cfg.reregister_delay_ms = cfg->reregister_delay_ms;
	ws->cfg.max_registrations = cfg->max_registrations;
	ws->cfg.max_registrations_per_client = cfg->max_registrations_per_client;
}

const struct dcerpc_iface *wit_service_iface(wit_service_t *ws)
{
	return &ws->iface;
}

void wit_service_stats(const wit_service_t *ws, struct wit_stats *out)
{
	*out = ws->stats;
}

/* ---- for the admin file ---- */

void wit_foreach_reg(wit_service_t *ws, wit_reg_visit_cb cb, void *arg)
{
	for (struct wit_reg *r = ws->regs_head; r != NULL; r = r->next)
		cb(arg, r);
}

const struct cluster_view *wit_service_view(const wit_service_t *ws)
{
	return cluster_view(ws->cluster);
}

bool wit_reg_match(const struct wit_reg *r, const struct wit_filter_c *fc)
{
	return wit_filter_match(fc, REG_UUID(r), r->net_name, r->share_name, r->ip_address,
	                        r->client_computer_name);
}

/* One registration as `net witness list --json` shows it (Samba net_witness.c). */
void wit_reg_describe(const wit_service_t *ws, const struct wit_reg *r, struct wit_reg_info *out)
{
	memset(out, 0, sizeof(*out));
	wd_guid_format(&r->wire.uuid, out->uuid);
	out->version = r->version;
	out->flags = r->flags;
	out->timeout = r->timeout;
	out->handle_type = r->wire.handle_type;
	out->net_name = r->net_name;
	out->share_name = r->share_name;
	out->ip_address = r->ip_address;
	out->client_computer_name = r->client_computer_name;
	out->account_name = REG_STR(r, ACCOUNT);
	out->domain_name = REG_STR(r, DOMAIN);
	out->account_sid = REG_STR(r, SID);
	out->local_address = REG_STR(r, LOCAL);
	out->remote_address = REG_STR(r, REMOTE);
	wit_format_time(r->registration_time_us, out->registration_time,
	                sizeof(out->registration_time));
	out->node = wit_local_node(ws);
	out->unique_id = ws->unique_id >> 11;
}
