/*
 * ctl.h - the admin protocol between witnessctl and witnessd, over a local
 * AF_UNIX stream socket (default /run/witnessd/witnessd.sock, mode 0600).
 *
 * Framing: one JSON object per line ('\n'), at most CTL_MAX_REQUEST bytes;
 * one JSON reply per line, in order. A longer line gets an error reply and
 * the connection is closed (it cannot be resynchronised); malformed JSON or
 * an unknown command gets an error reply and the connection stays usable.
 * Only root and the daemon's own uid may talk to it (SO_PEERCRED); anyone
 * else gets one error reply and is disconnected.
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
 *      selectors of `net witness` (notes swn.md 3.10).
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
#define CTL_MAX_CLIENTS 64                    /* concurrent admin connections */

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
 * Text output in `net witness`'s format (notes swn.md 3.10): for an update
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
unsigned ctl_server_clients(const ctl_server_t *srv);

/* ---- the daemon's command table (src/ctl/admin.c) ---- */

struct wit_service;
struct cluster;

struct ctl_admin {
	struct wit_service *wit; /* borrowed; NULL: registration commands fail */
	struct cluster *cluster; /* borrowed */
	/* Daemon-wide fields for "status" (ports, netname...); returns a new object. */
	cJSON *(*status)(void *arg);
	void *status_arg;
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
