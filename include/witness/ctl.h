/*
 * ctl.h - the admin protocol between witnessctl and witnessd, over a local
 * AF_UNIX stream socket (default /run/witnessd/witnessd.sock, mode 0600).
 *
 * Framing: one JSON object per line ('\n'), at most CTL_MAX_REQUEST bytes;
 * one JSON reply per line, in order. A longer line gets an error reply and
 * the connection is closed (it cannot be resynchronised); malformed JSON or
 * an unknown command gets an error reply and the connection stays usable.
 * Only root and the daemon's own uid may talk to it (SO_PEERCRED); anyone
 * else gets one error reply and is disconnected. A connection that stays
 * silent, leaves a line unfinished or does not read its replies is cut
 * (CTL_IDLE_TIMEOUT_MS, CTL_REQUEST_TIMEOUT_MS), and at CTL_MAX_CLIENTS a new
 * connection evicts the one stuck longest, so stuck clients cannot lock
 * witnessctl out. While a reply waits for the peer to read it, no further
 * request on that connection is read.
 *
 * Requests ({"cmd": ..., ...}); the names are the table below (enum ctl_cmd):
 *   {"cmd":"status"}
 *   {"cmd":"metrics"}      -> {"text": Prometheus text exposition format 0.0.4}
 *   {"cmd":"ip-list"}
 *   {"cmd":"ip-set","ip":"A","available":true|false,"node":N}   (available/node optional)
 *   {"cmd":"ip-reset"}   (static backend: every IP back to the config, stored states cleared)
 *   {"cmd":"list","filters":F}
 *   {"cmd":"client-move"|"share-move","filters":F,"new_node":N|-1 | "new_ip":"A"}
 *   {"cmd":"force-unregister","filters":F}
 *   {"cmd":"force-response","filters":F,"forced_response":{...}}  (optional)
 *   {"cmd":"drain","node":N,"to_node":M | "to_ip":"A"}            (to_* optional)
 *   {"cmd":"peers"}                 which nodes' witnessd answer over CTDB
 * F = {"registration":UUID, "net_name":RE, "share_name":RE, "ip_address":RE,
 *      "client_computer_name":RE, "apply_to_all":true} (all optional), the
 *      selectors of `net witness` (Samba, source3/utils/net_witness.c).
 * Replies: {"ok":true,"result":R} or {"ok":false,"error":"message","code":"WD_E..."}.
 * R for list and the update commands is `net witness --json` output:
 * {"filters":..., "message":..., "registrations":{...}}; each registration
 * also has "node" (the node whose witnessd holds it). With the ctdb backend
 * the cluster commands (CTL_CMD_F_CLUSTER) run on every node's witnessd
 * (src/ctl/peer.c) and R also has "nodes_not_answering": [N...] (present
 * and non-empty only when some node did not answer in time).
 */
#ifndef WITNESS_CTL_H
#define WITNESS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "witness/cluster.h"

#define CTL_MAX_REQUEST (64u * 1024u)         /* one request line */
#define CTL_MAX_REPLY   (64u * 1024u * 1024u) /* client side: one reply line */
/*
 * Admin connections open at once. At the cap a new connection is not
 * refused: the connection that has waited longest for its peer is cut.
 */
#define CTL_MAX_CLIENTS 64
/*
 * Deadlines: a connection without a request, or with a reply its peer does
 * not read, for CTL_IDLE_TIMEOUT_MS; a request line not finished within
 * CTL_REQUEST_TIMEOUT_MS of its first byte. witnessctl sends its line at
 * once after connecting, so only stuck clients meet them. A cut peer gets an
 * error line ("admin connection closed by witnessd: ...", WD_ETIMEDOUT or,
 * for an eviction, WD_ELIMIT) if its socket takes it without blocking.
 */
#define CTL_IDLE_TIMEOUT_MS    10000u
#define CTL_REQUEST_TIMEOUT_MS 5000u

/*
 * The command table, shared by witnessctl and the daemon: one entry per
 * admin request. Add a command here, then its handler in src/ctl/admin.c
 * (admin_handlers[]) and its CLI entry in main_witnessctl.c (cli_cmds[]).
 */
enum ctl_cmd {
	CTL_CMD_STATUS,
	CTL_CMD_IP_LIST,
	CTL_CMD_IP_SET,
	CTL_CMD_LIST,
	CTL_CMD_CLIENT_MOVE,
	CTL_CMD_SHARE_MOVE,
	CTL_CMD_FORCE_UNREGISTER,
	CTL_CMD_FORCE_RESPONSE,
	CTL_CMD_DRAIN,
	CTL_CMD_PEERS,
	CTL_CMD_IP_RESET,
	CTL_CMD_METRICS,
	CTL_CMD_COUNT
};

#define CTL_CMD_F_SELECTORS 0x01u /* takes "filters" */
#define CTL_CMD_F_UPDATE    0x02u /* changes registrations: needs a selector or apply_to_all */
#define CTL_CMD_F_MOVE      0x04u /* takes new_node / new_ip */
#define CTL_CMD_F_CLUSTER   0x08u /* runs on every node's witnessd (ctdb backend) */

struct ctl_cmd_desc {
	enum ctl_cmd id;
	const char *name; /* on the wire: "client-move" */
	unsigned flags;   /* CTL_CMD_F_* */
};
/* NULL for an unknown name. */
const struct ctl_cmd_desc *ctl_cmd_find(const char *name);
/* The entry of id (id < CTL_CMD_COUNT). */
const struct ctl_cmd_desc *ctl_cmd_get(enum ctl_cmd id);

/*
 * witnessctl's exit status (witnessctl(8)): 0 done; 1 nothing matched (an
 * update or drain that matched no registration, an unknown IP or user);
 * 2 usage or bad input (bad option, a selector regex that does not compile);
 * 3 the daemon is unreachable or refused the request; 4 some nodes did not
 * answer (the output is what the others answered).
 */
#define CTL_EXIT_OK          0
#define CTL_EXIT_NOMATCH     1
#define CTL_EXIT_USAGE       2
#define CTL_EXIT_UNREACHABLE 3
#define CTL_EXIT_PARTIAL     4
/* The exit status for a WD_E* error of a request (0 for 0). */
int ctl_exit_for_error(int code);
/* The WD_E* code for a name from ctl_err_name; WD_EIO if unknown. */
int ctl_err_code(const char *name);

/* ---- pure helpers (no I/O) ---- */

/*
 * Parse one request line (without the '\n'). On success *out is a JSON object
 * with a string "cmd" (caller frees with cJSON_Delete). On error returns
 * WD_EINVAL / WD_ERANGE, writes a message to err and leaves *out NULL.
 */
int ctl_request_parse(const char *line, size_t len, cJSON **out, char *err, size_t errlen);
/* {"ok":true,"result":result}; takes ownership of result (may be NULL). NULL on ENOMEM. */
cJSON *ctl_reply_ok(cJSON *result);
/* {"ok":false,"error":msg,"code":"WD_E..."}. NULL on ENOMEM. */
cJSON *ctl_reply_error(int code, const char *msg);
/* Name of a WD_E* code, "WD_EINVAL"; "WD_E?" if unknown. */
const char *ctl_err_name(int code);

/*
 * Text output in `net witness`'s format (source3/utils/net_witness.c): for an update
 * (message present) a headline such as "CLIENT_MOVE_TO_NODE: 1", then the
 * header, the dashed line and one row per registration. res is the result of
 * list / an update. Writes to f.
 */
void ctl_print_registrations(FILE *f, const cJSON *res);

/*
 * ---- messages between the witnessd of the nodes (src/ctl/peer.c) ----
 * Carried by the cluster backend (cluster_peer_send; ctdb: inside a
 * CTDB_WDPEER_ADMIN message). Host byte order:
 *   uint32 kind (CTL_PEER_REQUEST / CTL_PEER_REPLY), uint32 to_node
 *   (CLUSTER_NODE_NONE: every node), uint64 id (the requester's), uint32
 *   part, uint32 nparts, then JSON text without NUL (the rest).
 * A request is one part: an admin request of a CTL_CMD_F_CLUSTER command.
 * A reply ({"ok":...}) is split into parts of at most CLUSTER_PEER_MAX
 * bytes, CTL_PEER_MAX_PARTS at most, CTL_PEER_MAX_REPLY bytes in all.
 */
#define CTL_PEER_REQUEST   1u
#define CTL_PEER_REPLY     2u
#define CTL_PEER_HDR_LEN   24u
#define CTL_PEER_MAX_PARTS 128u
#define CTL_PEER_MAX_REPLY (4u * 1024u * 1024u)
struct ctl_peer_msg {
	uint32_t kind, to_node;
	uint64_t id;
	uint32_t part, nparts;
	const uint8_t *data; /* borrowed from the buffer pulled */
	size_t len;
};
size_t ctl_peer_msg_len(const struct ctl_peer_msg *m);
void ctl_peer_msg_push(const struct ctl_peer_msg *m, uint8_t *buf);
/* WD_ESHORT, WD_ERANGE (size, part numbers), WD_EPROTO (kind, NUL). */
int ctl_peer_msg_pull(const uint8_t *buf, size_t len, struct ctl_peer_msg *m);
/* The JSON of a request part: an admin request of a cluster command (*out, caller frees). */
int ctl_peer_request_parse(const uint8_t *data, size_t len, cJSON **out,
                           const struct ctl_cmd_desc **d, char *err, size_t errlen);
/* A whole reassembled reply: an object with a boolean "ok" and "result" or "error". */
int ctl_peer_reply_parse(const uint8_t *data, size_t len, cJSON **out, char *err, size_t errlen);

/* ---- server (in witnessd) ---- */

typedef struct ctl_server ctl_server_t;

/* One request being answered; owned by the server. */
typedef struct ctl_call ctl_call_t;

/*
 * Handles one request (an object with "cmd"); returns the reply object
 * ({"ok":...}), which the server sends and frees. req is borrowed. To answer
 * later (a request that waits for other nodes), return CTL_REPLY_LATER and
 * call ctl_call_reply(call, reply) from the loop exactly once, unless the
 * cancel callback ran first. The connection reads no further request until
 * then.
 */
typedef cJSON *(*ctl_handler_fn)(void *arg, const cJSON *req, ctl_call_t *call);
extern cJSON ctl_reply_later;
#define CTL_REPLY_LATER (&ctl_reply_later)
/* Sends reply (freed) for a call answered later; frees call. */
void ctl_call_reply(ctl_call_t *call, cJSON *reply);
/*
 * cb runs (once) if the connection closes or the server closes before the
 * reply: then the handler must drop call without replying.
 */
void ctl_call_set_cancel(ctl_call_t *call, void (*cb)(void *arg), void *arg);

/*
 * Listen on path: creates the parent directory (0755) if missing, refuses to
 * start if another daemon answers on path (WD_EEXIST), replaces a stale
 * socket, creates the socket 0600. allowed_uid is the uid accepted besides
 * root (normally geteuid()). The handler runs on the loop.
 */
int ctl_server_new(uv_loop_t *loop, const char *path, uint32_t allowed_uid, ctl_handler_fn fn,
                   void *arg, ctl_server_t **out);
/* Closes the listener and every connection, unlinks the socket, frees srv, then calls cb. */
void ctl_server_close(ctl_server_t *srv, void (*cb)(void *arg), void *arg);
/* Connections in the server's list, closing ones included. */
unsigned ctl_server_clients(const ctl_server_t *srv);

/* 0 in a field = the default above. */
struct ctl_limits {
	unsigned max_clients;        /* CTL_MAX_CLIENTS */
	unsigned idle_timeout_ms;    /* CTL_IDLE_TIMEOUT_MS */
	unsigned request_timeout_ms; /* CTL_REQUEST_TIMEOUT_MS */
};
/* Replaces the limits (NULL: the defaults); open connections keep their clocks. */
void ctl_server_set_limits(ctl_server_t *srv, const struct ctl_limits *lim);

/* Counters since ctl_server_new; each cut and eviction is also logged (ctl.*). */
struct ctl_server_stats {
	unsigned clients;          /* open now */
	uint64_t accepted;         /* passed SO_PEERCRED lookup */
	uint64_t refused;          /* uid neither root nor allowed_uid */
	uint64_t evicted;          /* cut at the cap for a new connection */
	uint64_t idle_timeouts;    /* no request within the idle deadline */
	uint64_t request_timeouts; /* partial line past the request deadline */
	uint64_t write_timeouts;   /* a reply the peer did not read */
	uint64_t too_long;         /* line over CTL_MAX_REQUEST */
};
void ctl_server_stats(const ctl_server_t *srv, struct ctl_server_stats *out);

/* ---- the daemon's command table (src/ctl/admin.c) ---- */

struct wit_service;
struct cluster;

struct ctl_admin {
	struct wit_service *wit; /* borrowed; NULL: registration commands fail */
	struct cluster *cluster; /* borrowed */
	/* Daemon-wide fields for "status" (ports, netname...); returns a new object. */
	cJSON *(*status)(void *arg);
	void *status_arg;
	/* borrowed; its counters go into "status" as "admin_socket" (NULL: left out) */
	const ctl_server_t *server;
	/* How long a cluster command waits for the other nodes' witnessd
	 * ([ctdb] peer timeout); 0: CTL_PEER_TIMEOUT_MS. */
	unsigned peer_timeout_ms;
	struct ctl_peer *peer; /* private, set by ctl_admin_start */
};
#define CTL_PEER_TIMEOUT_MS 2000u
/*
 * Subscribes to the cluster's peer messages (src/ctl/peer.c): requests from
 * other nodes are answered, and cluster commands are sent to every node.
 * Without it (unit tests) the cluster commands act on this node only.
 * cluster and wit must be set; ctl_admin_stop before they go.
 */
int ctl_admin_start(struct ctl_admin *adm, uv_loop_t *loop);
/* Answers every cluster command still waiting, with what came so far. */
void ctl_admin_stop(struct ctl_admin *adm);
/* A ctl_handler_fn; arg is a struct ctl_admin *. */
cJSON *ctl_admin_handle(void *arg, const cJSON *req, ctl_call_t *call);

/* ---- client (witnessctl) ---- */

/*
 * Connect to path, send req as one line, read one reply line (blocking, with
 * a timeout in ms). On success *reply is the parsed reply (caller frees);
 * otherwise a message is in err: "cannot connect to PATH: ...", or the
 * daemon's refusal.
 */
int ctl_client_call(const char *path, const cJSON *req, int timeout_ms, cJSON **reply, char *err,
                    size_t errlen);

#endif
