/*
 * cluster.h - the cluster view and the backend interface.
 *
 * A backend (static, from the config and witnessctl; ctdb, from ctdbd) builds
 * complete views and hands each one to cluster_publish(). The core diffs it
 * against the current view (cluster_view_diff, pure) and tells the subscriber
 * (the witness service) about every IP whose state or hosting node changed.
 *
 * "Local" means hosted on or pinned to this node: the witness sets
 * WITNESS_IF only on IPs that are not local ([MS-SWN] 3.1.4.1).
 */
#ifndef WITNESS_CLUSTER_H
#define WITNESS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "witness/store.h"

#define CLUSTER_NODE_NONE  0xFFFFFFFFu
#define CLUSTER_ADDRSTRLEN 46

struct cluster_ip {
	char addr[CLUSTER_ADDRSTRLEN]; /* canonical text form (inet_ntop) */
	int family;                    /* AF_INET or AF_INET6 */
	uint8_t bytes[16];             /* network order; 4 used for AF_INET */
	uint32_t node;                 /* hosting node or CLUSTER_NODE_NONE */
	uint32_t pinned_node;          /* node IPs: that node; else CLUSTER_NODE_NONE */
	bool available;                /* state AVAILABLE (else UNAVAILABLE) */
};

struct cluster_view {
	uint32_t local_node;
	uint64_t generation; /* set by cluster_publish */
	size_t n;
	struct cluster_ip *ips; /* owned by the view */
};

struct cluster_view *cluster_view_new(uint32_t local_node);
struct cluster_view *cluster_view_dup(const struct cluster_view *v);
void cluster_view_free(struct cluster_view *v);
/* Append; parses addr (numeric v4/v6). WD_EINVAL for a bad address, WD_EEXIST for a duplicate. */
int cluster_view_add(struct cluster_view *v, const char *addr, uint32_t node, uint32_t pinned_node,
                     bool available);
/* Find by textual or binary-equal address (any spelling). NULL if absent. */
const struct cluster_ip *cluster_view_find(const struct cluster_view *v, const char *addr);
bool cluster_ip_is_local(const struct cluster_view *v, const struct cluster_ip *ip);

enum cluster_event_type {
	CLUSTER_IP_UNAVAILABLE = 1, /* went away, failed, or is moving */
	CLUSTER_IP_AVAILABLE = 2,   /* (back) up, possibly on another node */
};

struct cluster_event {
	enum cluster_event_type type;
	const struct cluster_ip *ip; /* the IP as in the new view (old view if removed) */
	uint32_t old_node;
	uint32_t new_node;
	bool moved;   /* hosting node changed */
	bool removed; /* no longer in the view */
};

typedef void (*cluster_event_cb)(void *arg, const struct cluster_event *ev);

/*
 * Pure diff. Per IP, in the order of the new view, then removed IPs:
 *  - moved between two real nodes:   UNAVAILABLE, then AVAILABLE if available
 *    (Samba reports any change of hosting node this way, srv_witness_nt.c)
 *  - available -> unavailable/none:  UNAVAILABLE
 *  - unavailable -> available:       AVAILABLE
 *  - "local" flag flipped while available (pinned node or local node
 *    changed, no move): UNAVAILABLE, then AVAILABLE (Samba forces
 *    UNAVAILABLE when local_iface changes, srv_witness_nt.c)
 *  - removed:                        UNAVAILABLE (removed = true)
 *  - added:                          AVAILABLE if available (no one can be registered yet)
 */
void cluster_view_diff(const struct cluster_view *old_v, const struct cluster_view *new_v,
                       cluster_event_cb cb, void *arg);

typedef struct cluster cluster_t;

/* A node of the cluster as the backend knows it (ctdb: the nodemap). */
struct cluster_node {
	uint32_t node;
	bool connected; /* its ctdbd is reachable: its witnessd can answer */
	bool active;    /* can host IPs (not INACTIVE, not DISABLED) */
};

struct cluster_ops {
	const char *name; /* "static", "ctdb" */
	int (*start)(cluster_t *c);
	void (*stop)(cluster_t *c);
	/* static backend only (NULL elsewhere: WD_ENOTSUP). available: -1 keep,
	 * 0/1 set; node: CLUSTER_NODE_NONE keeps it. */
	int (*set_ip)(cluster_t *c, const char *addr, int available, uint32_t node);
	/* Track one client TCP connection for tickle ACKs (ctdb); may be NULL. */
	void (*track_connection)(cluster_t *c, bool up, const char *local_ip, uint16_t local_port,
	                         const char *remote_ip, uint16_t remote_port);
	/* Human-readable backend state for `witnessctl status` (malloc'd JSON text). */
	char *(*status_json)(cluster_t *c);
	void (*destroy)(void *impl);
	/* static backend only: every IP back to the config, stored changes
	 * forgotten (witnessctl ip reset); NULL elsewhere: WD_ENOTSUP. */
	int (*reset_ips)(cluster_t *c);
	/* Peer messages to the witnessd of other nodes (ctdb; NULL elsewhere). */
	int (*peer_send)(cluster_t *c, uint32_t node, const void *data, size_t len);
	size_t (*peer_nodes)(cluster_t *c, struct cluster_node *out, size_t max);
};

cluster_t *cluster_new(uv_loop_t *loop, const struct cluster_ops *ops, void *impl);
void cluster_free(cluster_t *c); /* calls ops->destroy(impl) */
void *cluster_impl(const cluster_t *c);
uv_loop_t *cluster_loop(const cluster_t *c);
const char *cluster_backend_name(const cluster_t *c);
int cluster_start(cluster_t *c);
void cluster_stop(cluster_t *c);
int cluster_set_ip(cluster_t *c, const char *addr, int available, uint32_t node);
int cluster_reset_ips(cluster_t *c);
void cluster_track_connection(cluster_t *c, bool up, const char *local_ip, uint16_t local_port,
                              const char *remote_ip, uint16_t remote_port);
char *cluster_status_json(cluster_t *c);

/* The current view (never NULL after the first publish; an empty view before). */
const struct cluster_view *cluster_view(const cluster_t *c);
/* One subscriber for IP events (the witness service). */
void cluster_subscribe(cluster_t *c, cluster_event_cb cb, void *arg);
/* Local IP released by this node: connections to it must close at once. */
typedef void (*cluster_release_cb)(void *arg, const char *addr);
void cluster_on_release(cluster_t *c, cluster_release_cb cb, void *arg);
void cluster_notify_release(cluster_t *c, const char *addr); /* backends call this */
/*
 * Messages between the witnessd of the nodes, for the cluster-wide admin
 * commands (src/ctl/peer.c). A message is at most CLUSTER_PEER_MAX bytes and
 * carries no guarantee of delivery; node CLUSTER_NODE_NONE sends to every
 * connected node, this one included. WD_ENOTSUP on a backend without peers
 * (static: every node is its own), WD_ESTATE while the backend is down.
 * The callback gets the sending node (from the message, not the transport)
 * and the payload, valid during the call.
 */
#define CLUSTER_PEER_MAX (32u * 1024u)
typedef void (*cluster_peer_cb)(void *arg, uint32_t from_node, const uint8_t *data, size_t len);
void cluster_on_peer(cluster_t *c, cluster_peer_cb cb, void *arg);
int cluster_peer_send(cluster_t *c, uint32_t node, const void *data, size_t len);
/* The nodes (this one included) in out[0..max); returns how many there are (0: no peers). */
size_t cluster_peer_nodes(cluster_t *c, struct cluster_node *out, size_t max);
bool cluster_has_peers(const cluster_t *c);
void cluster_deliver_peer(cluster_t *c, uint32_t from_node, const uint8_t *data,
                          size_t len); /* backends call this */
/* Backends: takes ownership of v, diffs, emits events, adopts it. */
void cluster_publish(cluster_t *c, struct cluster_view *v);

/*
 * The static backend: IPs from the config; changed by set_ip (witnessctl ip
 * set). The initial view is current as soon as it returns. When an IP hosted
 * on the local node becomes unavailable or moves away, the backend calls
 * cluster_notify_release() for it like CTDB's RELEASE_IP.
 */
int cluster_static_new(uv_loop_t *loop, const struct cluster_view *initial, cluster_t **out);
/*
 * Keep the static backend's runtime changes (ip set) in store, borrowed: it
 * must outlive c. The states stored by an earlier run are applied now, for
 * the addresses the config still has (the others are logged and ignored),
 * before any client can register. cluster_reset_ips returns to the config
 * and clears them. Returns how many addresses were restored, or WD_EIO.
 */
int cluster_static_use_store(cluster_t *c, store_t *store);

#endif
