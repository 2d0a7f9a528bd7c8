/*
 * static.c - the embedded static cluster backend (the default). The IPs and
 * the nodes hosting them come from the config ([static] interfaces); at run
 * time `witnessctl ip set IP --available|--unavailable|--node N` changes one
 * IP and a new view is published. This is also the hook for non-CTDB HA
 * stacks (keepalived / Pacemaker scripts call witnessctl).
 *
 * With a store (cluster_static_use_store) every change is also written to
 * the store's static_ips table and applied again at the next start, so a
 * node whose witnessd restarts keeps announcing what its HA script said
 * last; `witnessctl ip reset` goes back to the config and clears the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/err.h"
#include "witness/log.h"

struct static_impl {
	unsigned changes;            /* set_ip calls that changed something */
	struct cluster_view *config; /* the view of the config, for reset */
	store_t *store;              /* borrowed; NULL: changes are not kept */
	unsigned restored;           /* addresses restored from the store at start */
};

/*
 * Publishes nv (owned by the core afterwards) and, like CTDB's RELEASE_IP,
 * tells the core about every local address that this node no longer serves,
 * so that witness connections made to it close at once.
 */
static void publish_releasing(cluster_t *c, struct cluster_view *nv)
{
	const struct cluster_view *cur = cluster_view(c);
	char(*rel)[CLUSTER_ADDRSTRLEN] = NULL;
	size_t n_rel = 0;

	if (cur->n > 0)
		rel = calloc(cur->n, sizeof(*rel));
	for (size_t i = 0; rel != NULL && i < cur->n; i++) {
		const struct cluster_ip *o = &cur->ips[i];
		const struct cluster_ip *n = cluster_view_find(nv, o->addr);

		if (!(o->available && o->node == cur->local_node))
			continue;
		if (n == NULL || !(n->available && n->node == nv->local_node))
			memcpy(rel[n_rel++], o->addr, CLUSTER_ADDRSTRLEN);
	}
	cluster_publish(c, nv);
	for (size_t i = 0; i < n_rel; i++)
		cluster_notify_release(c, rel[i]);
	free(rel);
}

static int static_start(cluster_t *c)
{
	return 0;
}

static void static_stop(cluster_t *c)
{
}

static int static_set_ip(cluster_t *c, const char *addr, int available, uint32_t node)
{
	struct static_impl *si = cluster_impl(c);
	const struct cluster_view *cur = cluster_view(c);
	const struct cluster_ip *old = cluster_view_find(cur, addr);
	struct cluster_view *nv;
	struct cluster_ip *ip;
	bool was_local_up;

	if (old == NULL)
		return WD_ENOTFOUND;
	if (available < -1 || available > 1)
		return WD_EINVAL;
	nv = cluster_view_dup(cur);
	if (nv == NULL)
		return WD_ENOMEM;
	ip = &nv->ips[old - cur->ips];
	was_local_up =
	    ip->available && ip->node != CLUSTER_NODE_NONE && ip->node == cur->local_node;
	if (available >= 0)
		ip->available = available == 1;
	if (node != CLUSTER_NODE_NONE)
		ip->node = node;
	if (ip->available == old->available && ip->node == old->node) {
		cluster_view_free(nv);
		return 0; /* nothing changed: no new view, no events */
	}
	si->changes++;
	wd_log(WD_LOG_NOTICE, "cluster.static.set_ip", "ip=%s available=%d node=%d", ip->addr,
	       ip->available, (int)ip->node);
	if (si->store != NULL &&
	    store_static_ip_put(si->store, ip->addr, ip->available, ip->node) != 0)
		wd_log(WD_LOG_WARNING, "cluster.static.store_failed",
		       "ip=%s kept=memory_only hint=\"the change is lost at restart\"", ip->addr);
	/* Copy: nv is owned by the core after publish. */
	char addr_copy[CLUSTER_ADDRSTRLEN];
	bool now_local_up = ip->available && ip->node == nv->local_node;

	memcpy(addr_copy, ip->addr, sizeof(addr_copy));
	cluster_publish(c, nv);
	/*
	 * Like CTDB's RELEASE_IP: this node no longer serves the address, so
	 * witness connections made to it must close at once (as srv_witness_nt.c).
	 */
	if (was_local_up && !now_local_up)
		cluster_notify_release(c, addr_copy);
	return 0;
}

/* Ownership: returns malloc'd JSON text. */
static char *static_status_json(cluster_t *c)
{
	struct static_impl *si = cluster_impl(c);
	const struct cluster_view *v = cluster_view(c);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
	        "{\"backend\":\"static\",\"local_node\":%u,\"generation\":%llu,\"changes\":%u,"
	        "\"restored_from_store\":%u,\"kept_in_store\":%s,\"ips\":[",
	        v->local_node, (unsigned long long)v->generation, si->changes, si->restored,
	        si->store != NULL ? "true" : "false");
	for (size_t i = 0; i < v->n; i++) {
		fprintf(f, "%s{\"ip\":\"%s\",\"node\":%d,\"available\":%s,\"local\":%s}",
		        i ? "," : "", v->ips[i].addr, (int)v->ips[i].node,
		        v->ips[i].available ? "true" : "false",
		        cluster_ip_is_local(v, &v->ips[i]) ? "true" : "false");
	}
	fprintf(f, "]}");
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int static_reset_ips(cluster_t *c)
{
	struct static_impl *si = cluster_impl(c);
	struct cluster_view *nv = cluster_view_dup(si->config);
	int rc = 0;

	if (nv == NULL)
		return WD_ENOMEM;
	if (si->store != NULL)
		rc = store_static_ip_clear(si->store);
	si->changes++;
	wd_log(WD_LOG_NOTICE, "cluster.static.reset", "ips=%zu store=%s", nv->n,
	       si->store == NULL ? "none"
	       : rc == 0         ? "cleared"
	                         : "failed");
	publish_releasing(c, nv);
	return rc;
}

struct restore_ctx {
	struct cluster_view *nv;
	unsigned applied, ignored;
};

static int restore_one(void *arg, const char *addr, bool available, uint32_t node)
{
	struct restore_ctx *rc = arg;
	const struct cluster_ip *f = cluster_view_find(rc->nv, addr);
	char esc[CLUSTER_ADDRSTRLEN * 4];

	if (f == NULL) {
		rc->ignored++;
		wd_log(WD_LOG_NOTICE, "cluster.static.restore_ignored",
		       "ip=%s reason=not_in_config", wd_log_escape(addr, esc, sizeof(esc)));
		return 0;
	}
	struct cluster_ip *ip = &rc->nv->ips[f - rc->nv->ips];
	ip->available = available;
	ip->node = node;
	rc->applied++;
	wd_log(WD_LOG_INFO, "cluster.static.restore", "ip=%s available=%d node=%d", ip->addr,
	       ip->available, (int)ip->node);
	return 0;
}

int cluster_static_use_store(cluster_t *c, store_t *store)
{
	struct static_impl *si = cluster_impl(c);
	struct restore_ctx rc = {0};
	int r;

	if (strcmp(cluster_backend_name(c), "static") != 0)
		return WD_ENOTSUP;
	si->store = store;
	if (store == NULL)
		return 0;
	rc.nv = cluster_view_dup(cluster_view(c));
	if (rc.nv == NULL)
		return WD_ENOMEM;
	r = store_static_ip_foreach(store, restore_one, &rc);
	if (r != 0 || rc.applied == 0) {
		cluster_view_free(rc.nv);
		return r != 0 ? r : 0;
	}
	si->restored = rc.applied;
	wd_log(WD_LOG_NOTICE, "cluster.static.restored", "ips=%u ignored=%u from=store", rc.applied,
	       rc.ignored);
	publish_releasing(c, rc.nv);
	return (int)rc.applied;
}

static void static_destroy(void *impl)
{
	struct static_impl *si = impl;

	cluster_view_free(si->config);
	free(si);
}

static const struct cluster_ops static_ops = {
    .name = "static",
    .start = static_start,
    .stop = static_stop,
    .set_ip = static_set_ip,
    .track_connection = NULL,
    .status_json = static_status_json,
    .destroy = static_destroy,
    .reset_ips = static_reset_ips,
};

/*
 * Ownership: initial is copied (the caller keeps it); *out is freed with
 * cluster_free. The initial view is current at once (before cluster_start),
 * so the witness service can answer GetInterfaceList from the first call.
 */
int cluster_static_new(uv_loop_t *loop, const struct cluster_view *initial, cluster_t **out)
{
	struct static_impl *si = calloc(1, sizeof(*si));
	struct cluster_view *v;
	cluster_t *c;

	if (si == NULL)
		return WD_ENOMEM;
	c = cluster_new(loop, &static_ops, si);
	if (c == NULL) {
		free(si);
		return WD_ENOMEM;
	}
	v = cluster_view_dup(initial);
	si->config = cluster_view_dup(initial);
	if (v == NULL || si->config == NULL) {
		cluster_view_free(v);
		cluster_free(c);
		return WD_ENOMEM;
	}
	cluster_publish(c, v);
	*out = c;
	return 0;
}
