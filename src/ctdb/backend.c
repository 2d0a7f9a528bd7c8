/*
 * backend.c - the CTDB cluster backend (`cluster backend = ctdb`).
 *
 * The view is GET_NODEMAP plus GET_PUBLIC_IPS from every connected node,
 * merged the way `ctdb ip all` does (get_all_public_ips, ctdb/tools/ctdb.c):
 * a node's claim for an IP it says it holds wins. It is rebuilt and handed
 * to cluster_publish(), which diffs it and tells the witness service.
 *
 * When to rebuild, on both ctdb generations (ctdb/protocol/protocol.h SRVIDs):
 *  - CTDB_SRVID_IPREALLOCATED (4.20+): every node, after each takeover run.
 *  - 4.17 has no such message. RELEASE_IP and TAKE_IP go only to the
 *    clients of the node that released or took the IP, so each witnessd
 *    relays them to its peers on every node (CTDB_SRVID_WITNESSD to
 *    CTDB_BROADCAST_CONNECTED; the payload names the sender, because
 *    delivered headers do not). RECONFIGURE (after every recovery) reaches
 *    every node.
 *  - A periodic re-read (ctdb reread interval) catches what no message
 *    announces: node flag changes (4.17 sends nothing, ctdb_monitor.c) and
 *    moves whose node had no witnessd to relay them.
 * A message starts a re-read at once (no debounce in front of the first
 * one); messages that arrive while one is in flight are coalesced into one
 * more re-read after it (test-mode ctdbd re-sends TAKE_IP for every held IP
 * on each takeover run), and refreshes never overlap. RELEASE_IP (ours or
 * relayed by a peer) names the address that goes away: its clients are
 * told UNAVAILABLE before the re-read, from the current view with that
 * address unheld, and a re-read already in flight is not published (it may
 * predate the release).
 *
 * While the local ctdbd is down or not yet RUNNING, the last view stays:
 * we cannot know better, and an empty view would tell every client its IP
 * went away. Registrations therefore survive a ctdbd restart; the first
 * view after reconnecting is diffed against the old one, so moves that
 * happened meanwhile are still reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "witness/cluster.h"
#include "witness/ctdb.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"

#define DEFAULT_SOCKET   "/run/ctdb/ctdbd.socket"
#define RETRY_MS         1000
#define QUERY_TIMEOUT_MS 3000
/* 4.17 raises no message when node flags change (ctdb_control_modflags only
 * logs, ctdb/server/ctdb_monitor.c): poll the local nodemap, one cheap local control. */
#define FLAGS_POLL_MS 1000
/* 4.17 cannot unregister one tickle (no TCP_CLIENT_DISCONNECTED, notes
 * ctdb.md 2.2): entries of closed connections stay until the registering
 * ctdb connection closes. So TCP_CLIENT goes over a connection of its own,
 * recycled once this many closed connections are still registered. */
#define TICKLE_RECYCLE_STALE 256

struct tracked {
	struct tracked *next;
	struct ctdb_connection conn;
	char local_ip[CLUSTER_ADDRSTRLEN];
};

struct refresh;

struct backend {
	uv_loop_t *loop;
	cluster_t *cluster;
	ctdb_client_t *client;  /* views, srvids, relays */
	ctdb_client_t *tclient; /* TCP_CLIENT registrations only */
	char *socket;
	bool include_node_ips, include_public_ips;
	uint32_t reread_ms;

	uv_timer_t reread_timer, refresh_timer, flags_timer;
	uint32_t *known_flags; /* pnn,flags pairs of the last view's nodemap */
	uint32_t n_known;
	bool flags_poll_pending;
	int open_handles;
	bool destroyed, started;

	uint32_t pnn;
	uint32_t runstate;
	uint32_t local_flags;
	uint32_t n_nodes;
	struct refresh *refresh; /* in flight */
	bool refresh_again;
	bool synced; /* a view was published since the last (re)connect */
	bool tcp_disconnected_unsupported;
	unsigned tickle_stale; /* closed but still registered (4.17) */
	uint64_t tickle_recycles;

	struct tracked *tracked;
	size_t n_tracked;

	/* counters for status_json */
	uint64_t refreshes, refresh_failures, refresh_partial, publishes;
	uint64_t msg_release, msg_take, msg_reconfigure, msg_ipreallocated, msg_peer;
	uint64_t msg_peer_bad, bad_log_window; /* malformed peer messages; log rate limit */
	unsigned bad_log_count, bad_log_suppressed;
	uint64_t tcp_client_sent, tcp_client_refused;
	uint64_t last_publish_ms, down_since_ms;
	char last_error[160];
};

struct refresh {
	struct backend *b;
	bool cancelled;
	bool stale; /* started before a RELEASE_IP: not published */
	int left;
	int failed;  /* no view can be built: retry */
	int partial; /* nodes that did not answer: their last claims are kept */
	struct ctdb_node_map *nodemap;
	uint32_t runstate;
	size_t n;
	uint32_t *pnns;
	struct ctdb_public_ip_list **lists;
	uint64_t started_ms;
};

static void schedule_refresh(struct backend *b, unsigned delay_ms);

/* ---- pure view building ---- */

struct merged {
	struct ctdb_sock_addr addr;
	uint32_t holder;
};

static int addr_cmp(const void *x, const void *y)
{
	const struct merged *a = x, *b = y;

	if (a->addr.family != b->addr.family)
		return a->addr.family == AF_INET ? -1 : 1;
	return memcmp(a->addr.addr, b->addr.addr, 16);
}

static const struct ctdb_node_and_flags *find_node(const struct ctdb_node_map *m, uint32_t pnn)
{
	uint32_t i;

	for (i = 0; m != NULL && i < m->num; i++)
		if (m->node[i].pnn == pnn)
			return &m->node[i];
	return NULL;
}

/* Ownership: returns a new view the caller owns; NULL on ENOMEM. */
struct cluster_view *ctdb_build_view(uint32_t local_pnn, const struct ctdb_node_map *nodemap,
                                     const uint32_t *pnns, struct ctdb_public_ip_list *const *lists,
                                     size_t nlists, bool include_public_ips, bool include_node_ips)
{
	struct cluster_view *v;
	struct merged *m = NULL;
	size_t nm = 0, cap = 0, i, k;
	uint32_t j;
	char s[CLUSTER_ADDRSTRLEN];

	v = cluster_view_new(local_pnn);
	if (v == NULL)
		return NULL;
	for (i = 0; include_public_ips && i < nlists; i++) {
		if (lists[i] == NULL)
			continue;
		for (j = 0; j < lists[i]->num; j++) {
			const struct ctdb_public_ip *ip = &lists[i]->ip[j];

			for (k = 0; k < nm; k++)
				if (ctdb_sock_addr_same_ip(&m[k].addr, &ip->addr))
					break;
			if (k == nm) {
				if (nm == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct merged *t = realloc(m, nc * sizeof(*m));
					if (t == NULL)
						goto fail;
					m = t;
					cap = nc;
				}
				memset(&m[nm], 0, sizeof(m[nm]));
				m[nm].addr = ip->addr;
				m[nm].addr.port = 0;
				m[nm].holder = CTDB_UNKNOWN_PNN;
				nm++;
			}
			/* The node itself claims to hold it: authoritative.
			 * Others only say who they believe holds it. */
			if (ip->pnn == pnns[i])
				m[k].holder = ip->pnn;
		}
	}
	if (nm > 1)
		qsort(m, nm, sizeof(*m), addr_cmp);
	for (k = 0; k < nm; k++) {
		const struct ctdb_node_and_flags *n = find_node(nodemap, m[k].holder);
		bool avail = n != NULL &&
		             !(n->flags & (CTDB_NODE_FLAGS_INACTIVE | CTDB_NODE_FLAGS_DISABLED));
		int rc;

		if (ctdb_sock_addr_to_string(&m[k].addr, s, sizeof(s)) != 0)
			continue;
		rc = cluster_view_add(v, s, n ? m[k].holder : CLUSTER_NODE_NONE, CLUSTER_NODE_NONE,
		                      avail);
		if (rc == WD_ENOMEM)
			goto fail;
	}
	/* Node IPs, like Samba's "include node ips": pinned to their node. */
	for (j = 0; include_node_ips && nodemap != NULL && j < nodemap->num; j++) {
		const struct ctdb_node_and_flags *n = &nodemap->node[j];
		int rc;

		if (n->flags & CTDB_NODE_DELETED)
			continue;
		if (ctdb_sock_addr_to_string(&n->addr, s, sizeof(s)) != 0)
			continue;
		rc = cluster_view_add(v, s, n->pnn, n->pnn, !(n->flags & CTDB_NODE_FLAGS_INACTIVE));
		if (rc == WD_ENOMEM)
			goto fail;
	}
	free(m);
	return v;
fail:
	free(m);
	cluster_view_free(v);
	return NULL;
}

/* ---- refresh: GET_NODEMAP, then GET_RUNSTATE + GET_PUBLIC_IPS per node ---- */

static void refresh_free(struct refresh *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		ctdb_public_ip_list_free(r->lists[i]);
	free(r->lists);
	free(r->pnns);
	ctdb_node_map_free(r->nodemap);
	free(r);
}

static bool flags_differ(const struct backend *b, const struct ctdb_node_map *m)
{
	uint32_t i;

	if (m->num != b->n_known)
		return true;
	for (i = 0; i < m->num; i++)
		if (b->known_flags[2 * i] != m->node[i].pnn ||
		    b->known_flags[2 * i + 1] != m->node[i].flags)
			return true;
	return false;
}

static void remember_flags(struct backend *b, const struct ctdb_node_map *m)
{
	uint32_t *f = calloc(2 * (size_t)m->num + 1, sizeof(*f));
	uint32_t i;

	if (f == NULL)
		return;
	for (i = 0; i < m->num; i++) {
		f[2 * i] = m->node[i].pnn;
		f[2 * i + 1] = m->node[i].flags;
	}
	free(b->known_flags);
	b->known_flags = f;
	b->n_known = m->num;
}

/* The public IPs the current view says node pnn holds, as its own
 * GET_PUBLIC_IPS reply would claim them. NULL on ENOMEM. */
static struct ctdb_public_ip_list *claims_from_view(const struct cluster_view *v, uint32_t pnn)
{
	struct ctdb_public_ip_list *l = calloc(1, sizeof(*l));
	size_t i;

	if (l == NULL)
		return NULL;
	l->ip = calloc(v->n + 1, sizeof(*l->ip));
	if (l->ip == NULL) {
		free(l);
		return NULL;
	}
	for (i = 0; i < v->n; i++) {
		const struct cluster_ip *ip = &v->ips[i];
		struct ctdb_public_ip *p = &l->ip[l->num];

		if (ip->node != pnn || ip->pinned_node != CLUSTER_NODE_NONE)
			continue;
		p->pnn = pnn;
		p->addr.family = (uint16_t)ip->family;
		memcpy(p->addr.addr, ip->bytes, ip->family == AF_INET ? 4 : 16);
		l->num++;
	}
	return l;
}

static void refresh_finish(struct refresh *r)
{
	struct backend *b = r->b;
	struct cluster_view *v;
	bool again;
	int schedule;

	if (r->cancelled) {
		refresh_free(r);
		return;
	}
	b->refresh = NULL;
	again = b->refresh_again;
	b->refresh_again = false;
	if (r->failed) {
		b->refresh_failures++;
		wd_log(WD_LOG_WARNING, "ctdb.refresh_failed", "failed_queries=%d reason=\"%s\"",
		       r->failed, b->last_error);
		schedule_refresh(b, again ? 0 : RETRY_MS);
		refresh_free(r);
		return;
	}
	if (r->stale) {
		refresh_free(r);
		schedule_refresh(b, 0);
		return;
	}
	b->runstate = r->runstate;
	if (r->runstate != CTDB_RUNSTATE_RUNNING) {
		/* FIRST_RECOVERY / STARTUP after a (re)start: this node does
		 * not know the cluster yet (observed, ctdbd 4.17); keep the view. */
		snprintf(b->last_error, sizeof(b->last_error), "ctdbd runstate %u, waiting",
		         r->runstate);
		schedule_refresh(b, RETRY_MS);
		refresh_free(r);
		return;
	}
	if (r->partial) {
		size_t i;

		b->refresh_partial++;
		for (i = 0; i < r->n; i++)
			if (r->lists[i] == NULL)
				r->lists[i] =
				    claims_from_view(cluster_view(b->cluster), r->pnns[i]);
	}
	v = ctdb_build_view(b->pnn, r->nodemap, r->pnns,
	                    (struct ctdb_public_ip_list *const *)r->lists, r->n,
	                    b->include_public_ips, b->include_node_ips);
	if (v == NULL) {
		snprintf(b->last_error, sizeof(b->last_error), "out of memory");
		schedule_refresh(b, RETRY_MS);
		refresh_free(r);
		return;
	}
	remember_flags(b, r->nodemap);
	b->publishes++;
	b->synced = true;
	if (!r->partial)
		b->last_error[0] = 0;
	b->last_publish_ms = uv_now(b->loop);
	wd_log(WD_LOG_DEBUG, "ctdb.view", "pnn=%u nodes=%u ips=%zu ms=%llu", b->pnn, b->n_nodes,
	       v->n, (unsigned long long)(uv_now(b->loop) - r->started_ms));
	schedule = r->partial ? RETRY_MS : again ? 0 : -1;
	refresh_free(r);
	cluster_publish(b->cluster, v);
	if (schedule >= 0)
		schedule_refresh(b, (unsigned)schedule);
}

static void refresh_part_done(struct refresh *r)
{
	if (--r->left == 0)
		refresh_finish(r);
}

struct query_arg {
	struct refresh *r;
	size_t i; /* index into lists, or SIZE_MAX for the runstate */
};

static void public_ips_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	struct query_arg *qa = arg;
	struct refresh *r = qa->r;
	size_t i = qa->i;
	int rc;

	free(qa);
	if (r->cancelled) {
		refresh_part_done(r);
		return;
	}
	if (i == SIZE_MAX) {
		rc = err ? err : ctdb_reply_runstate(reply, &r->runstate);
		if (rc) {
			r->failed++;
			snprintf(r->b->last_error, sizeof(r->b->last_error), "GET_RUNSTATE: %s",
			         wd_strerror(rc));
		}
	} else {
		rc = err ? err : ctdb_reply_public_ips(reply, &r->lists[i]);
		if (rc == WD_EIO && err == WD_EIO) {
			r->failed++; /* our own connection went away */
		} else if (rc) {
			/* One node did not answer: hung (timeout), or just
			 * gone ("ctdb_control to disconnected node"). Keep its
			 * last claims rather than block every other update
			 * until ctdb notices (KeepaliveInterval x Limit). */
			r->partial++;
			snprintf(r->b->last_error, sizeof(r->b->last_error),
			         "GET_PUBLIC_IPS from node %u: %s", r->pnns[i], wd_strerror(rc));
		}
	}
	refresh_part_done(r);
}

static int query(struct refresh *r, uint32_t dest, uint32_t opcode, size_t i)
{
	struct query_arg *qa = malloc(sizeof(*qa));
	int rc;

	if (qa == NULL)
		return WD_ENOMEM;
	qa->r = r;
	qa->i = i;
	r->left++;
	rc = ctdb_client_control(r->b->client, dest, opcode, 0, 0, NULL, 0, QUERY_TIMEOUT_MS,
	                         public_ips_done, qa, NULL);
	if (rc) {
		r->left--;
		free(qa);
	}
	return rc;
}

static void nodemap_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	struct refresh *r = arg;
	struct backend *b = r->b;
	const struct ctdb_node_and_flags *self;
	uint32_t i;
	int rc;

	if (r->cancelled) {
		refresh_finish(r);
		return;
	}
	rc = err ? err : ctdb_reply_node_map(reply, &r->nodemap);
	if (rc) {
		snprintf(b->last_error, sizeof(b->last_error), "GET_NODEMAP: %s", wd_strerror(rc));
		r->failed++;
		refresh_finish(r);
		return;
	}
	b->n_nodes = r->nodemap->num;
	self = find_node(r->nodemap, b->pnn);
	b->local_flags = self ? self->flags : 0;
	r->pnns = calloc(r->nodemap->num + 1, sizeof(*r->pnns));
	r->lists = calloc(r->nodemap->num + 1, sizeof(*r->lists));
	if (r->pnns == NULL || r->lists == NULL) {
		r->failed++;
		refresh_finish(r);
		return;
	}
	r->left = 1; /* guard while sending */
	if (query(r, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_RUNSTATE, SIZE_MAX) != 0)
		r->failed++;
	for (i = 0; i < r->nodemap->num; i++) {
		const struct ctdb_node_and_flags *n = &r->nodemap->node[i];

		/* Nodes that cannot answer: "ctdb_control to disconnected
		 * node" (ctdb/server/ctdb_control.c). Their IPs have no holder unless
		 * another node claims them. */
		if (n->flags & (CTDB_NODE_DISCONNECTED | CTDB_NODE_DELETED))
			continue;
		r->pnns[r->n] = n->pnn;
		if (query(r, n->pnn, CTDB_CONTROL_GET_PUBLIC_IPS, r->n) != 0)
			r->failed++;
		r->n++;
	}
	refresh_part_done(r);
}

static void start_refresh(struct backend *b)
{
	struct refresh *r;

	if (!ctdb_client_is_connected(b->client))
		return; /* redone after reconnect */
	if (b->refresh != NULL) {
		b->refresh_again = true;
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		schedule_refresh(b, RETRY_MS);
		return;
	}
	r->b = b;
	r->runstate = CTDB_RUNSTATE_UNKNOWN;
	r->started_ms = uv_now(b->loop);
	b->refresh = r;
	b->refreshes++;
	if (ctdb_client_control(b->client, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_NODEMAP, 0, 0, NULL,
	                        0, QUERY_TIMEOUT_MS, nodemap_done, r, NULL) != 0) {
		b->refresh = NULL;
		refresh_free(r);
		schedule_refresh(b, RETRY_MS);
	}
}

static void refresh_timer_cb(uv_timer_t *t)
{
	start_refresh(t->data);
}

static void schedule_refresh(struct backend *b, unsigned delay_ms)
{
	uint64_t due;

	if (b->destroyed || !b->started)
		return;
	/* Keep an earlier deadline if one is set. */
	due = uv_timer_get_due_in(&b->refresh_timer);
	if (uv_is_active((uv_handle_t *)&b->refresh_timer) && due <= delay_ms)
		return;
	uv_timer_start(&b->refresh_timer, refresh_timer_cb, delay_ms, 0);
}

static void reread_cb(uv_timer_t *t)
{
	schedule_refresh(t->data, 0);
}

static void flags_poll_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	struct backend *b = arg;
	struct ctdb_node_map *m;

	b->flags_poll_pending = false;
	if (err || b->destroyed || !b->started || ctdb_reply_node_map(reply, &m) != 0)
		return;
	if (flags_differ(b, m)) {
		wd_log(WD_LOG_INFO, "ctdb.node_flags_changed", "nodes=%u", m->num);
		schedule_refresh(b, 0);
	}
	ctdb_node_map_free(m);
}

static void flags_poll_cb(uv_timer_t *t)
{
	struct backend *b = t->data;

	if (b->flags_poll_pending || b->refresh != NULL || !b->synced ||
	    !ctdb_client_is_connected(b->client))
		return;
	if (ctdb_client_control(b->client, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_NODEMAP, 0, 0, NULL,
	                        0, QUERY_TIMEOUT_MS, flags_poll_done, b, NULL) == 0)
		b->flags_poll_pending = true;
}

/* ---- messages ---- */

static void relay(struct backend *b, uint32_t event, const char *ip)
{
	struct ctdb_wdpeer_msg m;
	uint8_t buf[16 + CLUSTER_ADDRSTRLEN];

	memset(&m, 0, sizeof(m));
	m.event = event;
	m.pnn = b->pnn;
	if (ip)
		snprintf(m.ip, sizeof(m.ip), "%s", ip);
	ctdb_wdpeer_msg_push(&m, buf);
	/* Every connected node, this one included (observed with ctdbd 4.17). */
	ctdb_client_send_message(b->client, CTDB_BROADCAST_CONNECTED, CTDB_SRVID_WITNESSD, buf,
	                         ctdb_wdpeer_msg_len(&m));
}

/* The IP string of RELEASE_IP / TAKE_IP ("10.77.0.203\0"), validated. */
static bool ip_payload(const uint8_t *data, size_t len, char *out)
{
	struct ctdb_sock_addr a;
	size_t l = strnlen((const char *)data, len);

	if (l == 0 || l >= CLUSTER_ADDRSTRLEN)
		return false;
	memcpy(out, data, l);
	out[l] = 0;
	if (ctdb_sock_addr_from_string(out, 0, &a) != 0)
		return false;
	return ctdb_sock_addr_to_string(&a, out, CLUSTER_ADDRSTRLEN) == 0;
}

/*
 * RELEASE_IP names the address that goes away: publish the current view
 * with it unheld and UNAVAILABLE now, so that its clients hear of it before
 * the re-read (N+2 controls) completes. The re-read then reports where it
 * went (AVAILABLE on the new node: no second UNAVAILABLE, since an unheld
 * address has no node to move from).
 */
static void release_now(struct backend *b, const char *addr)
{
	const struct cluster_ip *cur = cluster_view_find(cluster_view(b->cluster), addr);
	struct cluster_view *v;
	size_t i;

	if (cur == NULL || (!cur->available && cur->node == CLUSTER_NODE_NONE))
		return;
	v = cluster_view_dup(cluster_view(b->cluster));
	if (v == NULL)
		return; /* the re-read reports it */
	for (i = 0; i < v->n; i++) {
		if (strcmp(v->ips[i].addr, cur->addr) == 0 &&
		    v->ips[i].pinned_node == CLUSTER_NODE_NONE) {
			v->ips[i].available = false;
			v->ips[i].node = CLUSTER_NODE_NONE;
		}
	}
	if (b->refresh != NULL) {
		b->refresh->stale = true;
		b->refresh_again = true;
	}
	cluster_publish(b->cluster, v);
}

static void on_release_ip(void *arg, uint64_t srvid, const uint8_t *data, size_t len)
{
	struct backend *b = arg;
	char ip[CLUSTER_ADDRSTRLEN], esc[64];

	b->msg_release++;
	if (!ip_payload(data, len, ip)) {
		wd_log(WD_LOG_WARNING, "ctdb.bad_message", "srvid=RELEASE_IP len=%zu", len);
		schedule_refresh(b, 0);
		return;
	}
	wd_log(WD_LOG_INFO, "ctdb.release_ip", "ip=%s", wd_log_escape(ip, esc, sizeof(esc)));
	relay(b, CTDB_WDPEER_RELEASE_IP, ip);
	release_now(b, ip);
	schedule_refresh(b, 0);
	/* This node no longer holds it: connections to it must go now, as
	 * smbd exits on RELEASE_IP (source3/lib/ctdbd_conn.c). Last: the callee may
	 * close connections and call track_connection. */
	cluster_notify_release(b->cluster, ip);
}

static void on_take_ip(void *arg, uint64_t srvid, const uint8_t *data, size_t len)
{
	struct backend *b = arg;
	char ip[CLUSTER_ADDRSTRLEN], esc[64];

	b->msg_take++;
	if (ip_payload(data, len, ip)) {
		wd_log(WD_LOG_DEBUG, "ctdb.take_ip", "ip=%s", wd_log_escape(ip, esc, sizeof(esc)));
		relay(b, CTDB_WDPEER_TAKE_IP, ip);
	}
	schedule_refresh(b, 0);
}

static void on_reconfigure(void *arg, uint64_t srvid, const uint8_t *data, size_t len)
{
	struct backend *b = arg;

	if (srvid == CTDB_SRVID_IPREALLOCATED)
		b->msg_ipreallocated++;
	else
		b->msg_reconfigure++;
	schedule_refresh(b, 0);
}

/*
 * A peer message we cannot parse (another program on the srvid, a broken
 * or hostile sender on some node): logged at most 5 times a second, the
 * next line says how many were not, and dropped.
 */
static void bad_peer_message(struct backend *b, size_t len, int rc)
{
	uint64_t now = uv_now(b->loop);

	b->msg_peer_bad++;
	if (now - b->bad_log_window >= 1000) {
		b->bad_log_window = now;
		b->bad_log_count = 0;
	}
	if (b->bad_log_count >= 5) {
		b->bad_log_suppressed++;
		return;
	}
	b->bad_log_count++;
	wd_log(WD_LOG_WARNING, "ctdb.bad_peer_message", "len=%zu error=%s total=%llu suppressed=%u",
	       len, wd_strerror(rc), (unsigned long long)b->msg_peer_bad, b->bad_log_suppressed);
	b->bad_log_suppressed = 0;
}

static void on_peer(void *arg, uint64_t srvid, const uint8_t *data, size_t len)
{
	struct backend *b = arg;
	struct ctdb_wdpeer_msg m;
	size_t n;
	int rc;

	if (ctdb_wdpeer_event(data, len) == CTDB_WDPEER_ADMIN) {
		const uint8_t *p;
		uint32_t from;

		rc = ctdb_wdpeer_admin_pull(data, len, &from, &p, &n);
		if (rc != 0) {
			bad_peer_message(b, len, rc);
			return;
		}
		b->msg_peer++;
		cluster_deliver_peer(b->cluster, from, p, n);
		return;
	}
	if ((rc = ctdb_wdpeer_msg_pull(data, len, &m, &n)) != 0) {
		bad_peer_message(b, len, rc);
		return;
	}
	b->msg_peer++;
	if (m.pnn == b->pnn && m.event != CTDB_WDPEER_HELLO)
		return; /* our own relay: already scheduled */
	if (m.event == CTDB_WDPEER_RELEASE_IP && m.ip[0] != 0)
		release_now(b, m.ip);
	schedule_refresh(b, 0);
}

/* Admin peer messages (cluster_peer_send): to one node or all connected. */
static int ctdb_peer_send(cluster_t *c, uint32_t node, const void *data, size_t len)
{
	struct backend *b = cluster_impl(c);
	uint8_t *buf;
	int rc;

	if (b->client == NULL || !ctdb_client_is_connected(b->client) || b->pnn == CTDB_UNKNOWN_PNN)
		return WD_ESTATE;
	buf = malloc(ctdb_wdpeer_admin_len(len));
	if (buf == NULL)
		return WD_ENOMEM;
	ctdb_wdpeer_admin_push(b->pnn, data, len, buf);
	rc = ctdb_client_send_message(b->client,
	                              node == CLUSTER_NODE_NONE ? CTDB_BROADCAST_CONNECTED : node,
	                              CTDB_SRVID_WITNESSD, buf, ctdb_wdpeer_admin_len(len));
	free(buf);
	return rc;
}

/* The nodes of the last nodemap, with what their flags say. */
static size_t ctdb_peer_nodes(cluster_t *c, struct cluster_node *out, size_t max)
{
	struct backend *b = cluster_impl(c);
	size_t n = 0;

	for (uint32_t i = 0; i < b->n_known; i++) {
		uint32_t f = b->known_flags[2 * i + 1];

		if (f & CTDB_NODE_DELETED)
			continue;
		if (n < max) {
			out[n].node = b->known_flags[2 * i];
			out[n].connected = (f & CTDB_NODE_DISCONNECTED) == 0;
			out[n].active =
			    (f & (CTDB_NODE_FLAGS_INACTIVE | CTDB_NODE_FLAGS_DISABLED)) == 0;
		}
		n++;
	}
	return n;
}

/* ---- connection tracking (TCP_CLIENT, as smbd's ctdbd_register_ips) ---- */

static void tcp_client_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	struct backend *b = arg;

	if (err == 0 && reply->status != 0) {
		/* The IP is public and held by another node: ctdbd wants
		 * the connection gone ("failing this call will tell smbd to
		 * die", ctdb_takeover.c). */
		b->tcp_client_refused++;
		wd_log(WD_LOG_INFO, "ctdb.tcp_client_refused", "status=%d", reply->status);
	}
}

static void send_tcp_client(struct backend *b, const struct tracked *t)
{
	uint8_t buf[CTDB_CONNECTION_LEN];

	ctdb_connection_push(&t->conn, buf);
	if (ctdb_client_control(b->tclient, CTDB_CURRENT_NODE, CTDB_CONTROL_TCP_CLIENT, 0, 0, buf,
	                        sizeof(buf), 0, tcp_client_done, b, NULL) == 0)
		b->tcp_client_sent++;
}

static void tcp_disconnected_done(void *arg, int err, const struct ctdb_reply_control *reply)
{
	struct backend *b = arg;

	/* 4.17 answers -1 for the unknown opcode 159 (ctdb_control.c): stop
	 * trying; its tickle entries then live until we reconnect. */
	if (err == 0 && reply->status != 0 && reply->errorlen == 0) {
		b->tcp_disconnected_unsupported = true;
		b->tickle_stale++;
	}
}

static void note_stale_tickle(struct backend *b)
{
	if (++b->tickle_stale < TICKLE_RECYCLE_STALE || !ctdb_client_is_connected(b->tclient))
		return;
	/* ctdbd drops this connection's tickles when it closes
	 * (ctdb_takeover_client_destructor_hook); on_tickle_state registers
	 * the live ones again. */
	wd_log(WD_LOG_INFO, "ctdb.tickle_recycle", "stale=%u live=%zu", b->tickle_stale,
	       b->n_tracked);
	b->tickle_recycles++;
	ctdb_client_reconnect(b->tclient);
}

static void ctdb_track_connection(cluster_t *c, bool up, const char *local_ip, uint16_t local_port,
                                  const char *remote_ip, uint16_t remote_port)
{
	struct backend *b = cluster_impl(c);
	struct tracked *t, **pp;
	struct ctdb_connection conn;

	memset(&conn, 0, sizeof(conn));
	if (ctdb_sock_addr_from_string(remote_ip, remote_port, &conn.src) != 0 ||
	    ctdb_sock_addr_from_string(local_ip, local_port, &conn.dst) != 0)
		return;
	if (!up) {
		for (pp = &b->tracked; (t = *pp) != NULL; pp = &t->next)
			if (memcmp(&t->conn, &conn, sizeof(conn)) == 0)
				break;
		if (t == NULL)
			return;
		*pp = t->next;
		b->n_tracked--;
		if (!ctdb_client_is_connected(b->tclient)) {
			/* nothing registered with ctdbd right now */
		} else if (!b->tcp_disconnected_unsupported) {
			uint8_t buf[CTDB_CONNECTION_LEN];

			/* 4.18.10+, 4.19.4+, 4.20+ (ctdb commit c6602b686b4) */
			ctdb_connection_push(&t->conn, buf);
			ctdb_client_control(b->tclient, CTDB_CURRENT_NODE,
			                    CTDB_CONTROL_TCP_CLIENT_DISCONNECTED, 0, 0, buf,
			                    sizeof(buf), 0, tcp_disconnected_done, b, NULL);
		} else {
			note_stale_tickle(b);
		}
		free(t);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return;
	t->conn = conn;
	ctdb_sock_addr_to_string(&conn.dst, t->local_ip, sizeof(t->local_ip));
	t->next = b->tracked;
	b->tracked = t;
	b->n_tracked++;
	if (ctdb_client_is_connected(b->tclient))
		send_tcp_client(b, t);
}

static void on_tickle_state(void *arg, bool up, uint32_t pnn)
{
	struct backend *b = arg;
	struct tracked *t;

	b->tickle_stale = 0; /* ctdbd dropped them with the old connection */
	if (!up)
		return;
	/* Register every live witness connection: ctdbd dropped the old entries. */
	for (t = b->tracked; t; t = t->next)
		send_tcp_client(b, t);
}

/* ---- connection state ---- */

static void on_state(void *arg, bool up, uint32_t pnn)
{
	struct backend *b = arg;

	metrics_ctdb_connected(up);
	if (!up) {
		b->down_since_ms = uv_now(b->loop);
		b->synced = false;
		if (b->refresh) {
			/* Its controls already failed with WD_EIO. */
			b->refresh = NULL;
		}
		wd_log(WD_LOG_WARNING, "ctdb.down",
		       "pnn=%u keeping_view=1 hint=\"ctdbd stopped or closed its socket; "
		       "reconnecting\"",
		       b->pnn);
		return;
	}
	if (ctdb_client_connects(b->client) > 1)
		wd_log(WD_LOG_NOTICE, "ctdb.reconnected", "pnn=%u down_for_ms=%llu", pnn,
		       (unsigned long long)(b->down_since_ms ? uv_now(b->loop) - b->down_since_ms
		                                             : 0));
	if (b->pnn != CTDB_UNKNOWN_PNN && b->pnn != pnn)
		wd_log(WD_LOG_WARNING, "ctdb.pnn_changed", "old=%u new=%u", b->pnn, pnn);
	b->pnn = pnn;
	b->down_since_ms = 0;
	relay(b, CTDB_WDPEER_HELLO, NULL);
	schedule_refresh(b, 0);
}

/* ---- cluster_ops ---- */

static int ctdb_start(cluster_t *c)
{
	struct backend *b = cluster_impl(c);
	int rc;

	if (b->client == NULL) {
		rc = ctdb_client_new(b->loop, b->socket, &b->client);
		if (rc)
			return rc;
		ctdb_client_set_state_cb(b->client, on_state, b);
		ctdb_client_register_srvid(b->client, CTDB_SRVID_RELEASE_IP, on_release_ip, b);
		ctdb_client_register_srvid(b->client, CTDB_SRVID_TAKE_IP, on_take_ip, b);
		ctdb_client_register_srvid(b->client, CTDB_SRVID_RECONFIGURE, on_reconfigure, b);
		/* Only 4.20+ sends it; registering it on 4.17 is harmless. */
		ctdb_client_register_srvid(b->client, CTDB_SRVID_IPREALLOCATED, on_reconfigure, b);
		ctdb_client_register_srvid(b->client, CTDB_SRVID_WITNESSD, on_peer, b);
		rc = ctdb_client_new(b->loop, b->socket, &b->tclient);
		if (rc)
			return rc;
		ctdb_client_set_state_cb(b->tclient, on_tickle_state, b);
		ctdb_client_set_backoff(b->tclient, 50, 2000);
		ctdb_client_set_quiet(b->tclient, true); /* b->client says it */
	}
	b->started = true;
	metrics_ctdb_connected(ctdb_client_is_connected(b->client));
	rc = ctdb_client_start(b->client);
	if (rc == 0)
		rc = ctdb_client_start(b->tclient);
	if (rc)
		return rc;
	if (b->reread_ms)
		uv_timer_start(&b->reread_timer, reread_cb, b->reread_ms, b->reread_ms);
	uv_timer_start(&b->flags_timer, flags_poll_cb, FLAGS_POLL_MS, FLAGS_POLL_MS);
	wd_log(WD_LOG_INFO, "ctdb.start", "socket=%s reread_s=%u node_ips=%d public_ips=%d",
	       b->socket, b->reread_ms / 1000, b->include_node_ips, b->include_public_ips);
	return 0;
}

static void cancel_refresh(struct backend *b)
{
	if (b->refresh) {
		b->refresh->cancelled = true; /* freed when its controls complete */
		b->refresh = NULL;
	}
}

static void ctdb_stop(cluster_t *c)
{
	struct backend *b = cluster_impl(c);

	b->started = false;
	uv_timer_stop(&b->reread_timer);
	uv_timer_stop(&b->refresh_timer);
	uv_timer_stop(&b->flags_timer);
	cancel_refresh(b);
	if (b->client) {
		/* Completes pending controls with WD_ECANCELED, synchronously. */
		ctdb_client_close(b->client);
		b->client = NULL;
	}
	if (b->tclient) {
		ctdb_client_close(b->tclient);
		b->tclient = NULL;
	}
}

static void backend_free(struct backend *b)
{
	struct tracked *t, *n;

	for (t = b->tracked; t; t = n) {
		n = t->next;
		free(t);
	}
	free(b->known_flags);
	free(b->socket);
	free(b);
}

static void timer_closed(uv_handle_t *h)
{
	struct backend *b = h->data;

	if (--b->open_handles == 0)
		backend_free(b);
}

/* Ownership: frees the backend once libuv closed its timers (run the loop). */
static void ctdb_destroy(void *impl)
{
	struct backend *b = impl;

	if (b == NULL)
		return;
	b->started = false;
	cancel_refresh(b);
	if (b->client) {
		ctdb_client_close(b->client);
		b->client = NULL;
	}
	if (b->tclient) {
		ctdb_client_close(b->tclient);
		b->tclient = NULL;
	}
	b->destroyed = true;
	uv_close((uv_handle_t *)&b->reread_timer, timer_closed);
	uv_close((uv_handle_t *)&b->refresh_timer, timer_closed);
	uv_close((uv_handle_t *)&b->flags_timer, timer_closed);
}

static const char *runstate_name(uint32_t r)
{
	static const char *const names[] = {"UNKNOWN", "INIT",    "SETUP",   "FIRST_RECOVERY",
	                                    "STARTUP", "RUNNING", "SHUTDOWN"};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void json_str(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

/* The names `ctdb status` prints for a node's flags (ctdb/tools/ctdb.c,
 * pretty_print_flags), in its order: "DISABLED" is PERMANENTLY_DISABLED and
 * INACTIVE stands for any of its bits, so an administrator reads the same
 * words here as there. "OK" for none. */
static void node_state_names(uint32_t f, char *out, size_t outlen)
{
	static const struct {
		uint32_t mask;
		const char *name;
	} names[] = {
	    {CTDB_NODE_DISCONNECTED, "DISCONNECTED"},
	    {CTDB_NODE_PERMANENTLY_DISABLED, "DISABLED"},
	    {CTDB_NODE_BANNED, "BANNED"},
	    {CTDB_NODE_UNHEALTHY, "UNHEALTHY"},
	    {CTDB_NODE_DELETED, "DELETED"},
	    {CTDB_NODE_STOPPED, "STOPPED"},
	    {CTDB_NODE_FLAGS_INACTIVE, "INACTIVE"},
	};
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f & names[i].mask) && o < outlen)
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "|" : "",
			                      names[i].name);
	if (o == 0)
		snprintf(out, outlen, "OK");
}

/* At most this many nodes in status' node_states (CTDB clusters have a few;
 * the reply stays small whatever a nodemap claims). */
#define STATUS_NODES_MAX 64
/* {"pnn":4294967295,"flags":4294967295,"state":"...7 names..."}, */
#define STATUS_NODE_LEN 128

/* The nodes of the last view's nodemap (deleted ones left out, as `ctdb
 * status` does), only while connected and synced: a stale nodemap would
 * show states ctdbd no longer has. */
static size_t node_states_json(const struct backend *b, bool up, char *out, size_t outlen)
{
	size_t o = 0, n = 0;

	o += (size_t)snprintf(out, outlen, "[");
	for (uint32_t i = 0; up && b->synced && i < b->n_known && n < STATUS_NODES_MAX; i++) {
		uint32_t f = b->known_flags[2 * i + 1];
		char st[96];

		if (f & CTDB_NODE_DELETED)
			continue;
		node_state_names(f, st, sizeof(st));
		if (o < outlen)
			o += (size_t)snprintf(out + o, outlen - o,
			                      "%s{\"pnn\":%u,\"flags\":%u,\"state\":\"%s\"}",
			                      n ? "," : "", b->known_flags[2 * i], f, st);
		n++;
	}
	if (o < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "]");
	return o;
}

/* Ownership: returns malloc'd JSON text; the caller frees it. */
static char *ctdb_status_json(cluster_t *c)
{
	struct backend *b = cluster_impl(c);
	char sock[512], err[400], nodes[STATUS_NODES_MAX * STATUS_NODE_LEN + 4], *out;
	bool up = b->client && ctdb_client_is_connected(b->client);
	uint64_t now = uv_now(b->loop);
	const char *state;
	size_t len = 2048 + sizeof(nodes);

	if (!b->started)
		state = "stopped";
	else if (!up)
		state = "ctdbd-down";
	else if (!b->synced)
		state = "syncing";
	else if (b->local_flags & CTDB_NODE_BANNED)
		state = "banned";
	else if (b->local_flags & CTDB_NODE_STOPPED)
		state = "stopped-node";
	else if (b->local_flags & CTDB_NODE_FLAGS_DISABLED)
		state =
		    (b->local_flags & CTDB_NODE_PERMANENTLY_DISABLED) ? "disabled" : "unhealthy";
	else
		state = "ok";
	json_str(sock, sizeof(sock), b->socket);
	json_str(err, sizeof(err),
	         b->last_error[0] ? b->last_error
	                          : (b->client && !up ? ctdb_client_last_error(b->client) : ""));
	if (node_states_json(b, up, nodes, sizeof(nodes)) >= sizeof(nodes))
		snprintf(nodes, sizeof(nodes), "[]"); /* cannot happen: sized for the maximum */
	out = malloc(len);
	if (out == NULL)
		return NULL;
	snprintf(out, len,
	         "{\"backend\":\"ctdb\",\"state\":\"%s\",\"socket\":\"%s\",\"connected\":%s,"
	         "\"pnn\":%d,\"runstate\":\"%s\",\"node_flags\":%u,\"nodes\":%u,"
	         "\"connects\":%u,\"down_for_ms\":%llu,\"refreshes\":%llu,"
	         "\"refresh_failures\":%llu,\"refresh_partial\":%llu,\"views_published\":%llu,"
	         "\"last_view_age_ms\":%lld,"
	         "\"messages\":{\"release_ip\":%llu,\"take_ip\":%llu,\"reconfigure\":%llu,"
	         "\"ipreallocated\":%llu,\"peer\":%llu,\"peer_malformed\":%llu},"
	         "\"tracked_connections\":%zu,\"tcp_client_sent\":%llu,\"tcp_client_refused\":%llu,"
	         "\"tcp_client_disconnected\":%s,\"tickles_stale\":%u,\"tickle_recycles\":%llu,"
	         "\"reread_interval_s\":%u,\"last_error\":\"%s\",\"node_states\":%s}",
	         state, sock, up ? "true" : "false", b->pnn == CTDB_UNKNOWN_PNN ? -1 : (int)b->pnn,
	         runstate_name(b->runstate), b->local_flags, b->n_nodes,
	         b->client ? ctdb_client_connects(b->client) : 0,
	         (unsigned long long)(b->down_since_ms ? now - b->down_since_ms : 0),
	         (unsigned long long)b->refreshes, (unsigned long long)b->refresh_failures,
	         (unsigned long long)b->refresh_partial, (unsigned long long)b->publishes,
	         b->publishes ? (long long)(now - b->last_publish_ms) : -1LL,
	         (unsigned long long)b->msg_release, (unsigned long long)b->msg_take,
	         (unsigned long long)b->msg_reconfigure, (unsigned long long)b->msg_ipreallocated,
	         (unsigned long long)b->msg_peer, (unsigned long long)b->msg_peer_bad, b->n_tracked,
	         (unsigned long long)b->tcp_client_sent, (unsigned long long)b->tcp_client_refused,
	         b->tcp_disconnected_unsupported ? "false" : "true", b->tickle_stale,
	         (unsigned long long)b->tickle_recycles, b->reread_ms / 1000, err, nodes);
	return out;
}

static const struct cluster_ops ctdb_ops = {
    .name = "ctdb",
    .start = ctdb_start,
    .stop = ctdb_stop,
    .set_ip = NULL,
    .track_connection = ctdb_track_connection,
    .status_json = ctdb_status_json,
    .destroy = ctdb_destroy,
    .peer_send = ctdb_peer_send,
    .peer_nodes = ctdb_peer_nodes,
};

/* Ownership: *out is freed with cluster_free (which frees the backend). */
int ctdb_cluster_new(uv_loop_t *loop, const struct ctdb_backend_opts *opts, cluster_t **out)
{
	struct backend *b;
	const char *sock;

	*out = NULL;
	if (loop == NULL || opts == NULL)
		return WD_EINVAL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return WD_ENOMEM;
	sock = opts->socket;
	if (sock == NULL || sock[0] == 0)
		sock = getenv("CTDB_SOCKET");
	if (sock == NULL || sock[0] == 0)
		sock = DEFAULT_SOCKET;
	b->socket = strdup(sock);
	if (b->socket == NULL) {
		free(b);
		return WD_ENOMEM;
	}
	b->loop = loop;
	b->include_node_ips = opts->include_node_ips;
	b->include_public_ips = opts->include_public_ips;
	b->reread_ms = opts->reread_interval * 1000u;
	b->pnn = CTDB_UNKNOWN_PNN;
	uv_timer_init(loop, &b->reread_timer);
	uv_timer_init(loop, &b->refresh_timer);
	uv_timer_init(loop, &b->flags_timer);
	b->reread_timer.data = b;
	b->refresh_timer.data = b;
	b->flags_timer.data = b;
	b->open_handles = 3;
	b->cluster = cluster_new(loop, &ctdb_ops, b);
	if (b->cluster == NULL) {
		ctdb_destroy(b);
		return WD_ENOMEM;
	}
	*out = b->cluster;
	return 0;
}
