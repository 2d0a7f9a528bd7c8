/*
 * ctdb.h - talking to ctdbd over its Unix socket, and the CTDB cluster
 * backend.
 *
 * Three layers, one prefix:
 *  1. Pure marshalling (src/ctdb/protocol.c): the wire types of ctdbd's
 *     client protocol with _len / _push / _pull each. No I/O, no loop.
 *     Every integer is in host byte order (ctdbd and its clients share the
 *     host; ctdb/protocol/protocol_basic.c copies with memcpy). Layouts are
 *     those of the *_old structs in ctdb/include/ctdb_protocol.h, Linux
 *     x86_64 (Samba samba-4.17.12; sizes checked on this machine).
 *  2. The async client (src/ctdb/client.c) on a libuv loop: framing,
 *     controls matched by reqid with timeouts, SRVID registrations and
 *     message dispatch, reconnect with backoff and re-registration.
 *  3. The backend (src/ctdb/backend.c): a struct cluster_ops that builds
 *     cluster views from GET_NODEMAP + GET_PUBLIC_IPS and publishes them.
 *
 * Pull conventions (as in ctdb/protocol): a pull takes (buf, buflen) and
 * stores the number of bytes consumed in *npull; it returns WD_ESHORT when
 * buf is too short, WD_EPROTO for invalid content, WD_ERANGE for counts or
 * lengths out of bounds. Outputs are set only on success. Pulled structs
 * that hold pointers into buf (data, errmsg) borrow them: valid while buf is.
 */
#ifndef WITNESS_CTDB_H
#define WITNESS_CTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "witness/cluster.h"

/* ---- constants (ctdb/protocol/protocol.h, samba-4.17.12) ---- */

#define CTDB_MAGIC        0x43544442u /* "CTDB" */
#define CTDB_PROTOCOL     1u
#define CTDB_DS_ALIGNMENT 8u /* ctdbd pads what it sends to clients */
/* Upper bound for one packet we accept from ctdbd: far above any reply a
 * witness daemon asks for (a 1000-IP public IP list is 32 KB). */
#define CTDB_MAX_PACKET (16u * 1024u * 1024u)

enum ctdb_operation {
	CTDB_REQ_CALL = 0,
	CTDB_REPLY_CALL = 1,
	CTDB_REQ_DMASTER = 2,
	CTDB_REPLY_DMASTER = 3,
	CTDB_REPLY_ERROR = 4,
	CTDB_REQ_MESSAGE = 5,
	CTDB_REQ_CONTROL = 7,
	CTDB_REPLY_CONTROL = 8,
	CTDB_REQ_KEEPALIVE = 9,
	CTDB_REQ_TUNNEL = 10,
};

#define CTDB_CURRENT_NODE        0xF0000001u
#define CTDB_BROADCAST_ALL       0xF0000002u
#define CTDB_BROADCAST_ACTIVE    0xF0000003u
#define CTDB_BROADCAST_CONNECTED 0xF0000004u
#define CTDB_UNKNOWN_PNN         0xFFFFFFFFu

enum ctdb_control_opcode {
	CTDB_CONTROL_PROCESS_EXISTS = 0,
	CTDB_CONTROL_PING = 3,
	CTDB_CONTROL_REGISTER_SRVID = 23,
	CTDB_CONTROL_DEREGISTER_SRVID = 24,
	CTDB_CONTROL_GET_PID = 30,
	CTDB_CONTROL_GET_PNN = 35,
	CTDB_CONTROL_TCP_CLIENT = 44,
	CTDB_CONTROL_GET_TCP_TICKLE_LIST = 55,
	CTDB_CONTROL_UPTIME = 69,
	CTDB_CONTROL_GET_CAPABILITIES = 80,
	CTDB_CONTROL_GET_PUBLIC_IPS = 90,
	CTDB_CONTROL_GET_NODEMAP = 91,
	CTDB_CONTROL_REGISTER_NOTIFY = 114,
	CTDB_CONTROL_DEREGISTER_NOTIFY = 115,
	CTDB_CONTROL_GET_PUBLIC_IP_INFO = 123,
	CTDB_CONTROL_GET_IFACES = 124,
	CTDB_CONTROL_GET_RUNSTATE = 138,
	CTDB_CONTROL_GET_NODES_FILE = 140,
	CTDB_CONTROL_CHECK_PID_SRVID = 151,
	CTDB_CONTROL_TCP_CLIENT_DISCONNECTED = 159, /* 4.18.10+, 4.19.4+, 4.20+ */
	CTDB_CONTROL_TCP_CLIENT_PASSED = 160,
};

#define CTDB_CTRL_FLAG_NOREPLY              0x00000001u
#define CTDB_PUBLIC_IP_FLAGS_ONLY_AVAILABLE 0x00010000u

#define CTDB_SRVID_ALL           UINT64_MAX
#define CTDB_SRVID_LEADER        0xF101000000000000ULL
#define CTDB_SRVID_RECONFIGURE   0xF200000000000000ULL
#define CTDB_SRVID_RELEASE_IP    0xF300000000000000ULL
#define CTDB_SRVID_TAKE_IP       0xF301000000000000ULL
#define CTDB_SRVID_IPREALLOCATED 0xF302000000000000ULL /* 4.20+ */
/* Ours: witnessd peers relay local IP events (ctdb/protocol/protocol.h: no
 * range is reserved for us; top byte 0x57 'W' is outside every listed one). */
#define CTDB_SRVID_WITNESSD 0x5744000000000001ULL

/* Node flags (protocol.h:706-713). */
#define CTDB_NODE_DISCONNECTED         0x01u
#define CTDB_NODE_UNHEALTHY            0x02u
#define CTDB_NODE_PERMANENTLY_DISABLED 0x04u
#define CTDB_NODE_BANNED               0x08u
#define CTDB_NODE_DELETED              0x10u
#define CTDB_NODE_STOPPED              0x20u
#define CTDB_NODE_FLAGS_DISABLED       (CTDB_NODE_UNHEALTHY | CTDB_NODE_PERMANENTLY_DISABLED)
#define CTDB_NODE_FLAGS_INACTIVE                                                                   \
	(CTDB_NODE_DELETED | CTDB_NODE_DISCONNECTED | CTDB_NODE_BANNED | CTDB_NODE_STOPPED)

enum ctdb_runstate {
	CTDB_RUNSTATE_UNKNOWN = 0,
	CTDB_RUNSTATE_INIT = 1,
	CTDB_RUNSTATE_SETUP = 2,
	CTDB_RUNSTATE_FIRST_RECOVERY = 3,
	CTDB_RUNSTATE_STARTUP = 4,
	CTDB_RUNSTATE_RUNNING = 5,
	CTDB_RUNSTATE_SHUTDOWN = 6,
};

/* ---- wire types ---- */

#define CTDB_REQ_HEADER_LEN        32u
#define CTDB_REQ_CONTROL_HDR_LEN   60u /* header + opcode..datalen */
#define CTDB_REPLY_CONTROL_HDR_LEN 44u
#define CTDB_REQ_MESSAGE_HDR_LEN   44u
#define CTDB_SOCK_ADDR_LEN         28u /* sizeof(union {sockaddr, sockaddr_in, sockaddr_in6}) */
#define CTDB_CONNECTION_LEN        56u
#define CTDB_IFACE_LEN             24u
#define CTDB_IFACE_NAME_LEN        18u /* IFNAMSIZ + 2 */
#define CTDB_NODE_AND_FLAGS_LEN    36u
#define CTDB_PUBLIC_IP_LEN         32u

struct ctdb_req_header {
	uint32_t length; /* whole packet, header included (padded from ctdbd) */
	uint32_t ctdb_magic;
	uint32_t ctdb_version;
	uint32_t generation;
	uint32_t operation;
	uint32_t destnode;
	uint32_t srcnode;
	uint32_t reqid;
};

/* ctdb_sock_addr, decoded. family AF_INET or AF_INET6; port in host order
 * (on the wire it is network order, as in sockaddr_in). */
struct ctdb_sock_addr {
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];  /* network order; 4 bytes used for AF_INET */
	uint32_t flowinfo; /* AF_INET6 only */
	uint32_t scope_id; /* AF_INET6 only */
};

struct ctdb_req_control {
	struct ctdb_req_header hdr;
	uint32_t opcode;
	uint64_t srvid;
	uint32_t client_id;
	uint32_t flags;
	uint32_t datalen;
	const uint8_t *data; /* borrowed */
};

struct ctdb_reply_control {
	struct ctdb_req_header hdr;
	int32_t status;
	uint32_t datalen;
	uint32_t errorlen;
	const uint8_t *data;   /* borrowed */
	const uint8_t *errmsg; /* borrowed, not NUL-terminated */
};

struct ctdb_req_message {
	struct ctdb_req_header hdr;
	uint64_t srvid;
	uint32_t datalen;
	const uint8_t *data; /* borrowed */
};

/* One packet from ctdbd: header plus the body of the operations a client
 * receives (REQ_MESSAGE, REPLY_CONTROL); other operations keep only hdr. */
struct ctdb_packet {
	struct ctdb_req_header hdr;
	union {
		struct ctdb_reply_control reply;
		struct ctdb_req_message message;
	} u;
};

struct ctdb_connection {
	struct ctdb_sock_addr src; /* the client's address (ctdbd_register_ips) */
	struct ctdb_sock_addr dst; /* the server's public IP */
};

struct ctdb_node_and_flags {
	uint32_t pnn;
	uint32_t flags;
	struct ctdb_sock_addr addr;
};

struct ctdb_node_map {
	uint32_t num;
	struct ctdb_node_and_flags *node; /* owned */
};

struct ctdb_public_ip {
	uint32_t pnn; /* holder, CTDB_UNKNOWN_PNN if unassigned */
	struct ctdb_sock_addr addr;
};

struct ctdb_public_ip_list {
	uint32_t num;
	struct ctdb_public_ip *ip; /* owned */
};

struct ctdb_iface {
	char name[CTDB_IFACE_NAME_LEN + 1]; /* NUL-terminated copy */
	uint16_t link_state;
	uint32_t references;
};

struct ctdb_public_ip_info {
	struct ctdb_public_ip ip;
	uint32_t active_idx;
	uint32_t num;
	struct ctdb_iface *ifaces; /* owned */
};

/* Header. */
size_t ctdb_req_header_len(const struct ctdb_req_header *h);
void ctdb_req_header_push(const struct ctdb_req_header *h, uint8_t *buf);
int ctdb_req_header_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_header *h,
                         size_t *npull);

/* ctdb_sock_addr. push zeroes the 28 bytes first. pull rejects families
 * other than AF_INET / AF_INET6. */
size_t ctdb_sock_addr_len(const struct ctdb_sock_addr *a);
void ctdb_sock_addr_push(const struct ctdb_sock_addr *a, uint8_t *buf);
int ctdb_sock_addr_pull(const uint8_t *buf, size_t buflen, struct ctdb_sock_addr *a, size_t *npull);
/* Text conversions: numeric IPv4/IPv6 only. IPv4-mapped IPv6 becomes IPv4
 * (as smbd_ctdb_canonicalize_ip, source3/lib/ctdbd_conn.c). */
int ctdb_sock_addr_from_string(const char *s, uint16_t port, struct ctdb_sock_addr *a);
int ctdb_sock_addr_to_string(const struct ctdb_sock_addr *a, char *out, size_t outlen);
bool ctdb_sock_addr_same_ip(const struct ctdb_sock_addr *a, const struct ctdb_sock_addr *b);

/* Control request. _len is the unpadded length (60 + datalen); push writes
 * that many bytes and sets hdr.length to it unless the caller set a larger,
 * padded length (then the tail is zeroed). */
size_t ctdb_req_control_len(const struct ctdb_req_control *c);
void ctdb_req_control_push(const struct ctdb_req_control *c, uint8_t *buf);
int ctdb_req_control_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_control *c,
                          size_t *npull);

size_t ctdb_reply_control_len(const struct ctdb_reply_control *r);
void ctdb_reply_control_push(const struct ctdb_reply_control *r, uint8_t *buf);
int ctdb_reply_control_pull(const uint8_t *buf, size_t buflen, struct ctdb_reply_control *r,
                            size_t *npull);

size_t ctdb_req_message_len(const struct ctdb_req_message *m);
void ctdb_req_message_push(const struct ctdb_req_message *m, uint8_t *buf);
int ctdb_req_message_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_message *m,
                          size_t *npull);

/*
 * One whole packet as framed by hdr.length (buflen must equal it). Checks
 * magic and version (WD_EVERSION), that the inner lengths fit inside
 * hdr.length, and that hdr.length exceeds the content by less than the
 * 8-byte alignment (ctdb_io.c pads; anything more is overlong: WD_EPROTO).
 * Payload sizes come from the inner lengths, never from hdr.length.
 */
int ctdb_packet_pull(const uint8_t *buf, size_t buflen, struct ctdb_packet *p);

size_t ctdb_connection_len(const struct ctdb_connection *c);
void ctdb_connection_push(const struct ctdb_connection *c, uint8_t *buf);
int ctdb_connection_pull(const uint8_t *buf, size_t buflen, struct ctdb_connection *c,
                         size_t *npull);

size_t ctdb_iface_len(const struct ctdb_iface *i);
void ctdb_iface_push(const struct ctdb_iface *i, uint8_t *buf);
int ctdb_iface_pull(const uint8_t *buf, size_t buflen, struct ctdb_iface *i, size_t *npull);

/* Lists allocate: *out is malloc'd on success; free with the _free function.
 * num is bounded by buflen before anything is allocated. */
size_t ctdb_node_map_len(const struct ctdb_node_map *m);
void ctdb_node_map_push(const struct ctdb_node_map *m, uint8_t *buf);
int ctdb_node_map_pull(const uint8_t *buf, size_t buflen, struct ctdb_node_map **out,
                       size_t *npull);
void ctdb_node_map_free(struct ctdb_node_map *m);

size_t ctdb_public_ip_list_len(const struct ctdb_public_ip_list *l);
void ctdb_public_ip_list_push(const struct ctdb_public_ip_list *l, uint8_t *buf);
int ctdb_public_ip_list_pull(const uint8_t *buf, size_t buflen, struct ctdb_public_ip_list **out,
                             size_t *npull);
void ctdb_public_ip_list_free(struct ctdb_public_ip_list *l);

size_t ctdb_public_ip_info_len(const struct ctdb_public_ip_info *i);
void ctdb_public_ip_info_push(const struct ctdb_public_ip_info *i, uint8_t *buf);
int ctdb_public_ip_info_pull(const uint8_t *buf, size_t buflen, struct ctdb_public_ip_info **out,
                             size_t *npull);
void ctdb_public_ip_info_free(struct ctdb_public_ip_info *i);

size_t ctdb_uint32_len(uint32_t v);
void ctdb_uint32_push(uint32_t v, uint8_t *buf);
int ctdb_uint32_pull(const uint8_t *buf, size_t buflen, uint32_t *v, size_t *npull);

/*
 * Reply data of one control, exactly: trailing bytes are WD_EPROTO.
 * Outputs are malloc'd as the list pulls above.
 */
int ctdb_reply_node_map(const struct ctdb_reply_control *r, struct ctdb_node_map **out);
int ctdb_reply_public_ips(const struct ctdb_reply_control *r, struct ctdb_public_ip_list **out);
int ctdb_reply_runstate(const struct ctdb_reply_control *r, uint32_t *runstate);

/*
 * The witnessd peer message (srvid CTDB_SRVID_WITNESSD), our own format:
 * magic "WDPR" (uint32), version 1, event, sender pnn (delivered headers do
 * not name the sender: ctdb_daemon.c daemon_message_handler), then a
 * NUL-terminated IP string (empty for events without an IP). Total at most
 * 16+46 bytes.
 */
#define CTDB_WDPEER_MAGIC 0x52504457u
enum ctdb_wdpeer_event {
	CTDB_WDPEER_RELEASE_IP = 1,
	CTDB_WDPEER_TAKE_IP = 2,
	CTDB_WDPEER_HELLO = 3, /* a witnessd (re)connected: peers re-read */
	CTDB_WDPEER_ADMIN = 4, /* an admin request or reply (src/ctl/peer.c) */
};
struct ctdb_wdpeer_msg {
	uint32_t event;
	uint32_t pnn;
	char ip[CLUSTER_ADDRSTRLEN];
};
size_t ctdb_wdpeer_msg_len(const struct ctdb_wdpeer_msg *m);
void ctdb_wdpeer_msg_push(const struct ctdb_wdpeer_msg *m, uint8_t *buf);
int ctdb_wdpeer_msg_pull(const uint8_t *buf, size_t buflen, struct ctdb_wdpeer_msg *m,
                         size_t *npull);
/*
 * CTDB_WDPEER_ADMIN: the same 16-byte header (magic, version 1, event 4,
 * sender pnn), then uint32 length and length opaque bytes, at most
 * CTDB_WDPEER_ADMIN_MAX, exactly filling buflen. *data borrows buf.
 * Returns WD_ESHORT, WD_EPROTO (magic, event, trailing bytes), WD_EVERSION,
 * WD_ERANGE (length over the bound).
 */
#define CTDB_WDPEER_ADMIN_HDR 20u
#define CTDB_WDPEER_ADMIN_MAX CLUSTER_PEER_MAX
/* The event of a peer message (0 if too short or not ours), to dispatch on. */
uint32_t ctdb_wdpeer_event(const uint8_t *buf, size_t buflen);
size_t ctdb_wdpeer_admin_len(size_t datalen);
void ctdb_wdpeer_admin_push(uint32_t pnn, const void *data, size_t datalen, uint8_t *buf);
int ctdb_wdpeer_admin_pull(const uint8_t *buf, size_t buflen, uint32_t *pnn, const uint8_t **data,
                           size_t *datalen);

/* ---- the async client ---- */

typedef struct ctdb_client ctdb_client_t;
typedef struct ctdb_control_req ctdb_control_req_t;

/*
 * Completion of one control. err is 0 when a reply arrived (then reply is
 * set; its status may still be -1), WD_ETIMEDOUT, WD_EIO (the connection
 * went away before the reply), or WD_ECANCELED (cancelled or client
 * closing). reply and its data are valid only during the callback.
 */
typedef void (*ctdb_control_cb)(void *arg, int err, const struct ctdb_reply_control *reply);
/* A message for a registered srvid; data valid only during the callback. */
typedef void (*ctdb_message_cb)(void *arg, uint64_t srvid, const uint8_t *data, size_t len);
/* Connection state changes. up: after (re)connect, GET_PNN and the
 * re-registration of every srvid; pnn is this node's PNN. !up: after EOF or
 * an error; pending controls have completed with WD_EIO by then. */
typedef void (*ctdb_state_cb)(void *arg, bool up, uint32_t pnn);

/* Ownership: the client copies sockpath. Freed by ctdb_client_close. */
int ctdb_client_new(uv_loop_t *loop, const char *sockpath, ctdb_client_t **out);
void ctdb_client_set_state_cb(ctdb_client_t *c, ctdb_state_cb cb, void *arg);
/* Backoff between connection attempts: starts at min_ms, doubles to max_ms. */
void ctdb_client_set_backoff(ctdb_client_t *c, unsigned min_ms, unsigned max_ms);
/*
 * A client that cannot connect logs ctdb.unreachable (a warning) once per
 * time it is down; quiet turns that off (a second connection to the same
 * ctdbd, whose main connection already says it).
 */
void ctdb_client_set_quiet(ctdb_client_t *c, bool quiet);
/* Start connecting (and keep reconnecting until closed). */
int ctdb_client_start(ctdb_client_t *c);
/* Drop the current connection and reconnect (tests, or a detected hang). */
void ctdb_client_reconnect(ctdb_client_t *c);
/* Stop and free. Pending controls complete with WD_ECANCELED first; the
 * memory goes when libuv closed the handles (run the loop). */
void ctdb_client_close(ctdb_client_t *c);
bool ctdb_client_is_connected(const ctdb_client_t *c);
uint32_t ctdb_client_pnn(const ctdb_client_t *c);
unsigned ctdb_client_connects(const ctdb_client_t *c); /* successful connects so far */
const char *ctdb_client_last_error(const ctdb_client_t *c);

/*
 * Send a control. data is copied. With CTDB_CTRL_FLAG_NOREPLY, cb (may be
 * NULL) runs from the loop once the packet is written. timeout_ms 0 means
 * the client default (5000). *req (optional) can be used to cancel until
 * cb runs. WD_ESTATE when not connected (cb is not called then).
 */
int ctdb_client_control(ctdb_client_t *c, uint32_t destnode, uint32_t opcode, uint64_t srvid,
                        uint32_t flags, const void *data, size_t datalen, unsigned timeout_ms,
                        ctdb_control_cb cb, void *arg, ctdb_control_req_t **req);
/* Completes the request with WD_ECANCELED, synchronously. */
void ctdb_control_cancel(ctdb_control_req_t *req);

/*
 * Register a handler for a srvid. The registration is kept across
 * reconnects (REGISTER_SRVID is sent now if connected, and again after each
 * reconnect). One REGISTER_SRVID per srvid however many handlers (ctdbd
 * delivers duplicates otherwise, observed with ctdbd 4.17).
 */
int ctdb_client_register_srvid(ctdb_client_t *c, uint64_t srvid, ctdb_message_cb cb, void *arg);
int ctdb_client_deregister_srvid(ctdb_client_t *c, uint64_t srvid, ctdb_message_cb cb, void *arg);
/* Fire-and-forget message; data copied. WD_ESTATE when not connected. */
int ctdb_client_send_message(ctdb_client_t *c, uint32_t destnode, uint64_t srvid, const void *data,
                             size_t len);

/* ---- the backend ---- */

/* What the backend needs from the [ctdb] section of the config. */
struct ctdb_backend_opts {
	const char *socket;       /* NULL or "": $CTDB_SOCKET, else ctdbd's default */
	bool include_node_ips;    /* the nodes' own addresses as interfaces */
	bool include_public_ips;  /* ctdb's public IPs as interfaces */
	uint32_t reread_interval; /* seconds between full re-reads; 0: events only */
};

/*
 * The CTDB cluster backend (`cluster backend = ctdb`). opts is copied (it
 * can go after the call). The returned cluster_t is freed with
 * cluster_free(); cluster_start() connects.
 */
int ctdb_cluster_new(uv_loop_t *loop, const struct ctdb_backend_opts *opts, cluster_t **out);

/*
 * Pure view building (unit-tested): from this node's PNN, the nodemap and
 * each queried node's GET_PUBLIC_IPS reply (lists[i] from node pnns[i]; a
 * NULL list is a node that did not answer), trust a node's claim for IPs
 * it says it holds, as `ctdb ip all` (get_all_public_ips, ctdb/tools/ctdb.c)
 * does. An IP is available when it has a holder without INACTIVE or
 * DISABLED flags (as Samba's ctdbd_all_ip_foreach). Node IPs (include_node_ips)
 * are pinned to their node and available unless the node is INACTIVE.
 * Returns a new view (caller owns) or NULL on ENOMEM.
 */
struct cluster_view *ctdb_build_view(uint32_t local_pnn, const struct ctdb_node_map *nodemap,
                                     const uint32_t *pnns, struct ctdb_public_ip_list *const *lists,
                                     size_t nlists, bool include_public_ips, bool include_node_ips);

#endif
