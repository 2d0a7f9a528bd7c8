/*
 * cluster.c - the cluster core: views, the pure diff, publish/subscribe and
 * the release callback. Backends (static.c, src/ctdb) build complete views and
 * hand them to cluster_publish(); everything else is backend-independent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"

struct cluster {
	uv_loop_t *loop;
	const struct cluster_ops *ops;
	void *impl;
	struct cluster_view *view; /* current, never NULL */
	uint64_t generation;
	cluster_event_cb event_cb;
	void *event_arg;
	cluster_release_cb release_cb;
	void *release_arg;
	cluster_peer_cb peer_cb;
	void *peer_arg;
	bool started;
};

/* ---- views ---- */

/* Ownership: returns a new empty view; free with cluster_view_free. */
struct cluster_view *cluster_view_new(uint32_t local_node)
{
	struct cluster_view *v = calloc(1, sizeof(*v));

	if (v != NULL)
		v->local_node = local_node;
	return v;
}

/* Ownership: returns a deep copy (caller frees) or NULL on OOM. */
struct cluster_view *cluster_view_dup(const struct cluster_view *v)
{
	struct cluster_view *d = cluster_view_new(v->local_node);

	if (d == NULL)
		return NULL;
	d->generation = v->generation;
	if (v->n > 0) {
		d->ips = malloc(v->n * sizeof(*d->ips));
		if (d->ips == NULL) {
			free(d);
			return NULL;
		}
		memcpy(d->ips, v->ips, v->n * sizeof(*d->ips));
		d->n = v->n;
	}
	return d;
}

void cluster_view_free(struct cluster_view *v)
{
	if (v == NULL)
		return;
	free(v->ips);
	free(v);
}

/* Numeric v4/v6 text into family and bytes; false for anything else. */
static bool parse_addr(const char *addr, int *family, uint8_t bytes[16])
{
	memset(bytes, 0, 16);
	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, bytes) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, addr, bytes) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static struct cluster_ip *find_bin(const struct cluster_view *v, int family,
                                   const uint8_t bytes[16])
{
	size_t len = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < v->n; i++) {
		if (v->ips[i].family == family && memcmp(v->ips[i].bytes, bytes, len) == 0)
			return &v->ips[i];
	}
	return NULL;
}

int cluster_view_add(struct cluster_view *v, const char *addr, uint32_t node, uint32_t pinned_node,
                     bool available)
{
	struct cluster_ip ip;
	struct cluster_ip *n;

	memset(&ip, 0, sizeof(ip));
	if (!parse_addr(addr, &ip.family, ip.bytes))
		return WD_EINVAL;
	if (find_bin(v, ip.family, ip.bytes) != NULL)
		return WD_EEXIST;
	if (inet_ntop(ip.family, ip.bytes, ip.addr, sizeof(ip.addr)) == NULL)
		return WD_EINVAL;
	ip.node = node;
	ip.pinned_node = pinned_node;
	ip.available = available;
	n = realloc(v->ips, (v->n + 1) * sizeof(*v->ips));
	if (n == NULL)
		return WD_ENOMEM;
	v->ips = n;
	v->ips[v->n++] = ip;
	return 0;
}

const struct cluster_ip *cluster_view_find(const struct cluster_view *v, const char *addr)
{
	int family;
	uint8_t bytes[16];

	if (v == NULL || addr == NULL)
		return NULL;
	if (parse_addr(addr, &family, bytes))
		return find_bin(v, family, bytes);
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->ips[i].addr, addr) == 0)
			return &v->ips[i];
	}
	return NULL;
}

bool cluster_ip_is_local(const struct cluster_view *v, const struct cluster_ip *ip)
{
	if (v->local_node == CLUSTER_NODE_NONE)
		return false;
	return ip->node == v->local_node || ip->pinned_node == v->local_node;
}

/* ---- the pure diff ---- */

/* AVAILABLE needs both the flag and a hosting node (as Samba's srv_witness_nt.c). */
static bool effective_available(const struct cluster_ip *ip)
{
	return ip->available && ip->node != CLUSTER_NODE_NONE;
}

static void emit(cluster_event_cb cb, void *arg, enum cluster_event_type type,
                 const struct cluster_ip *ip, uint32_t old_node, bool moved, bool removed)
{
	struct cluster_event ev = {
	    .type = type,
	    .ip = ip,
	    .old_node = old_node,
	    .new_node = removed ? CLUSTER_NODE_NONE : ip->node,
	    .moved = moved,
	    .removed = removed,
	};

	cb(arg, &ev);
}

void cluster_view_diff(const struct cluster_view *old_v, const struct cluster_view *new_v,
                       cluster_event_cb cb, void *arg)
{
	for (size_t i = 0; i < new_v->n; i++) {
		const struct cluster_ip *n = &new_v->ips[i];
		const struct cluster_ip *o =
		    old_v != NULL ? find_bin(old_v, n->family, n->bytes) : NULL;
		bool na = effective_available(n);

		if (o == NULL) {
			/* Added: nobody can be registered for it yet. */
			if (na)
				emit(cb, arg, CLUSTER_IP_AVAILABLE, n, CLUSTER_NODE_NONE, false,
				     false);
			continue;
		}
		bool oa = effective_available(o);
		bool moved = o->node != CLUSTER_NODE_NONE && n->node != CLUSTER_NODE_NONE &&
		             o->node != n->node;
		/*
		 * Samba forces UNAVAILABLE when the "local" flag of an IP flips
		 * (srv_witness_nt.c) even without a move: the registration's
		 * witness relation to the IP changed, clients must reconnect.
		 */
		bool local_flip = cluster_ip_is_local(old_v, o) != cluster_ip_is_local(new_v, n);

		if (moved || (local_flip && oa)) {
			/* Any change of hosting node: UNAVAILABLE then AVAILABLE. */
			emit(cb, arg, CLUSTER_IP_UNAVAILABLE, n, o->node, moved, false);
			if (na)
				emit(cb, arg, CLUSTER_IP_AVAILABLE, n, o->node, moved, false);
		} else if (oa && !na) {
			emit(cb, arg, CLUSTER_IP_UNAVAILABLE, n, o->node, false, false);
		} else if (!oa && na) {
			emit(cb, arg, CLUSTER_IP_AVAILABLE, n, o->node, false, false);
		}
	}
	if (old_v == NULL)
		return;
	for (size_t i = 0; i < old_v->n; i++) {
		const struct cluster_ip *o = &old_v->ips[i];

		if (find_bin(new_v, o->family, o->bytes) == NULL)
			emit(cb, arg, CLUSTER_IP_UNAVAILABLE, o, o->node, false, true);
	}
}

/* ---- the core ---- */

/* Ownership: impl passes to the cluster (ops->destroy at cluster_free). */
cluster_t *cluster_new(uv_loop_t *loop, const struct cluster_ops *ops, void *impl)
{
	cluster_t *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->view = cluster_view_new(CLUSTER_NODE_NONE);
	if (c->view == NULL) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->ops = ops;
	c->impl = impl;
	return c;
}

void cluster_free(cluster_t *c)
{
	if (c == NULL)
		return;
	if (c->started)
		cluster_stop(c);
	if (c->ops != NULL && c->ops->destroy != NULL)
		c->ops->destroy(c->impl);
	cluster_view_free(c->view);
	free(c);
}

void *cluster_impl(const cluster_t *c)
{
	return c->impl;
}

uv_loop_t *cluster_loop(const cluster_t *c)
{
	return c->loop;
}

const char *cluster_backend_name(const cluster_t *c)
{
	return c->ops != NULL && c->ops->name != NULL ? c->ops->name : "none";
}

int cluster_start(cluster_t *c)
{
	int rc = 0;

	if (c->started)
		return 0;
	if (c->ops != NULL && c->ops->start != NULL)
		rc = c->ops->start(c);
	if (rc == 0)
		c->started = true;
	return rc;
}

void cluster_stop(cluster_t *c)
{
	if (!c->started)
		return;
	c->started = false;
	if (c->ops != NULL && c->ops->stop != NULL)
		c->ops->stop(c);
}

int cluster_set_ip(cluster_t *c, const char *addr, int available, uint32_t node)
{
	if (c->ops == NULL || c->ops->set_ip == NULL)
		return WD_ENOTSUP;
	return c->ops->set_ip(c, addr, available, node);
}

int cluster_reset_ips(cluster_t *c)
{
	if (c->ops == NULL || c->ops->reset_ips == NULL)
		return WD_ENOTSUP;
	return c->ops->reset_ips(c);
}

void cluster_track_connection(cluster_t *c, bool up, const char *local_ip, uint16_t local_port,
                              const char *remote_ip, uint16_t remote_port)
{
	if (c->ops != NULL && c->ops->track_connection != NULL)
		c->ops->track_connection(c, up, local_ip, local_port, remote_ip, remote_port);
}

/* Ownership: returns malloc'd JSON text, caller frees; NULL on OOM. */
char *cluster_status_json(cluster_t *c)
{
	if (c->ops != NULL && c->ops->status_json != NULL)
		return c->ops->status_json(c);
	return strdup("{}");
}

const struct cluster_view *cluster_view(const cluster_t *c)
{
	return c->view;
}

void cluster_subscribe(cluster_t *c, cluster_event_cb cb, void *arg)
{
	c->event_cb = cb;
	c->event_arg = arg;
}

void cluster_on_release(cluster_t *c, cluster_release_cb cb, void *arg)
{
	c->release_cb = cb;
	c->release_arg = arg;
}

void cluster_on_peer(cluster_t *c, cluster_peer_cb cb, void *arg)
{
	c->peer_cb = cb;
	c->peer_arg = arg;
}

int cluster_peer_send(cluster_t *c, uint32_t node, const void *data, size_t len)
{
	if (c->ops->peer_send == NULL)
		return WD_ENOTSUP;
	if (len > CLUSTER_PEER_MAX)
		return WD_ERANGE;
	return c->ops->peer_send(c, node, data, len);
}

size_t cluster_peer_nodes(cluster_t *c, struct cluster_node *out, size_t max)
{
	return c->ops->peer_nodes != NULL ? c->ops->peer_nodes(c, out, max) : 0;
}

bool cluster_has_peers(const cluster_t *c)
{
	return c->ops->peer_send != NULL;
}

void cluster_deliver_peer(cluster_t *c, uint32_t from_node, const uint8_t *data, size_t len)
{
	if (c->peer_cb != NULL)
		c->peer_cb(c->peer_arg, from_node, data, len);
}

void cluster_notify_release(cluster_t *c, const char *addr)
{
	wd_log(WD_LOG_INFO, "cluster.release", "ip=%s", addr);
	if (c->release_cb != NULL)
		c->release_cb(c->release_arg, addr);
}

struct publish_ctx {
	cluster_t *c;
	unsigned events;
};

static void publish_event(void *arg, const struct cluster_event *ev)
{
	struct publish_ctx *pc = arg;

	pc->events++;
	wd_log(WD_LOG_INFO, "cluster.event",
	       "ip=%s state=%s old_node=%d new_node=%d moved=%d removed=%d", ev->ip->addr,
	       ev->type == CLUSTER_IP_AVAILABLE ? "available" : "unavailable", (int)ev->old_node,
	       (int)ev->new_node, ev->moved, ev->removed);
	if (pc->c->event_cb != NULL)
		pc->c->event_cb(pc->c->event_arg, ev);
}

/*
 * Ownership: takes v. The new view becomes current before any event is
 * emitted, so the subscriber sees it through cluster_view(); the old view
 * lives until the diff is done (removed-IP events point into it).
 */
/* witnessd_interfaces{state}: AVAILABLE as GetInterfaceList reports it (hosted and up). */
static void metrics_view(const struct cluster_view *v)
{
	size_t i, up = 0;

	for (i = 0; i < v->n; i++)
		up += v->ips[i].available && v->ips[i].node != CLUSTER_NODE_NONE;
	metrics_cluster_refresh(up, v->n - up);
}

void cluster_publish(cluster_t *c, struct cluster_view *v)
{
	struct cluster_view *old = c->view;
	struct publish_ctx pc = {.c = c};

	v->generation = ++c->generation;
	c->view = v;
	metrics_view(v);
	cluster_view_diff(old, v, publish_event, &pc);
	wd_log(WD_LOG_DEBUG, "cluster.publish", "generation=%llu ips=%zu events=%u",
	       (unsigned long long)v->generation, v->n, pc.events);
	cluster_view_free(old);
}
