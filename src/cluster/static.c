/*
 * static.c - the embedded static cluster backend (the default). The IPs and
 * the nodes hosting them come from the config ([static] interfaces); at run
 * time `witnessctl ip set IP --available|--unavailable|--node N` changes one
 * IP and a new view is published. This is also the hook for non-CTDB HA
 * stacks (keepalived / Pacemaker scripts call witnessctl).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/err.h"
#include "witness/log.h"

struct static_impl {
	unsigned changes; /* set_ip calls that changed something */
};

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
	/* Copy: nv is owned by the core after publish. */
	char addr_copy[CLUSTER_ADDRSTRLEN];
	bool now_local_up = ip->available && ip->node == nv->local_node;

	memcpy(addr_copy, ip->addr, sizeof(addr_copy));
	cluster_publish(c, nv);
	/*
	 * Like CTDB's RELEASE_IP: this node no longer serves the address, so
	 * witness connections made to it must close at once (notes swn.md 3.7).
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
	        "\"ips\":[",
	        v->local_node, (unsigned long long)v->generation, si->changes);
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

static void static_destroy(void *impl)
{
	free(impl);
}

static const struct cluster_ops static_ops = {
    .name = "static",
    .start = static_start,
    .stop = static_stop,
    .set_ip = static_set_ip,
    .track_connection = NULL,
    .status_json = static_status_json,
    .destroy = static_destroy,
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
	if (v == NULL) {
		cluster_free(c);
		return WD_ENOMEM;
	}
	cluster_publish(c, v);
	*out = c;
	return 0;
}
