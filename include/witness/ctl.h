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
 * Requests ({"cmd": ..., ...}):
 *   {"cmd":"status"}
 *   {"cmd":"ip-list"}
 *   {"cmd":"ip-set","ip":"A","available":true|false,"node":N}   (available/node optional)
 *   {"cmd":"list","filters":F}
 *   {"cmd":"client-move"|"share-move","filters":F,"new_node":N|-1 | "new_ip":"A"}
 *   {"cmd":"force-unregister","filters":F}
 *   {"cmd":"force-response","filters":F,"forced_response":{...}}  (optional)
 * F = {"registration":UUID, "net_name":RE, "share_name":RE, "ip_address":RE,
 *      "client_computer_name":RE, "apply_to_all":true} (all optional), the
 *      selectors of `net witness` (Samba, source3/utils/net_witness.c).
 * Replies: {"ok":true,"result":R} or {"ok":false,"error":"message","code":"WD_E..."}.
 * R for list and the update commands is `net witness --json` output:
 * {"filters":..., "message":..., "registrations":{...}}.
 */
#ifndef WITNESS_CTL_H
#define WITNESS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include <cjson/cJSON.h>

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

/* ---- server (in witnessd) ---- */

typedef struct ctl_server ctl_server_t;

/*
 * Handles one request (an object with "cmd"); returns the reply object
 * ({"ok":...}), which the server sends and frees. req is borrowed.
 */
typedef cJSON *(*ctl_handler_fn)(void *arg, const cJSON *req);

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
};
/* A ctl_handler_fn; arg is a struct ctl_admin *. */
cJSON *ctl_admin_handle(void *arg, const cJSON *req);

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
