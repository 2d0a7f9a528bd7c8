/*
 * metrics.h - the daemon's counters, gauges and histograms, and their
 * Prometheus text exposition (format 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * One process-wide registry of fixed size: every label set is bounded by a
 * table below (reasons, notification types, interfaces, opnums, fault
 * statuses, nodes), so nothing grows with the number of clients or calls.
 * A value that does not fit its table is counted under the label "other".
 * The hooks are plain increments on the one libuv loop (no locking); they
 * cost a few nanoseconds and never allocate or fail.
 *
 * Names follow https://prometheus.io/docs/practices/naming/: the prefix
 * witnessd_, _total on counters, base units (seconds). The series are
 * listed in man witnessd(8), section METRICS.
 */
#ifndef WITNESS_METRICS_H
#define WITNESS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Why a client was turned away (witnessd_refusals_total{reason}). */
enum metrics_refusal {
	METRICS_REFUSED_AUTH = 0, /* bind/auth3/alter_context authentication failed */
	METRICS_REFUSED_LEVEL,    /* call below the interface's minimum auth level */
	METRICS_REFUSED_NETNAME,  /* Register with a NetName that is not ours */
	METRICS_REFUSED_IP,       /* Register with an IP not in the interface list */
	METRICS_REFUSED_LIMITS,   /* a limit: registrations, connections, buffers */
	METRICS_REFUSED_COUNT
};

/* Why a registration was ended by the server. */
enum metrics_forced {
	METRICS_FORCED_ADMIN = 0,    /* witnessctl force-unregister */
	METRICS_FORCED_AFTER_NOTIFY, /* reregister delay after UNAVAILABLE or a move */
	METRICS_FORCED_COUNT
};

#define METRICS_MAX_NODES    64 /* registrations_by_node: nodes 0..63, then "other" */
#define METRICS_MAX_IFACES   8  /* interfaces named in calls_total */
#define METRICS_MAX_OPNUMS   16 /* opnums 0..15 per interface, then "other" */
#define METRICS_MAX_FAULTS   16 /* distinct fault statuses, then "other" */
#define METRICS_NOTIFY_TYPES 5  /* [MS-SWN] 2.2.2.4 types 1-4, and 0 = forced response */

/* ---- hooks (src/witness, src/dcerpc, src/cluster, src/ctdb) ---- */

/* A registration was created (+1) or ended (-1). version: 1 (Register) or 2 (RegisterEx);
 * node: the node hosting the registered IP when it registered (CLUSTER_NODE_NONE: none). */
void metrics_registration(uint32_t version, uint32_t node, int delta);
/* AsyncNotify calls parked now: +1 / -1. */
void metrics_notify_pending(int delta);
/* An AsyncNotify answered with a notification: type 1-4 ([MS-SWN] 2.2.2.4), 0 forced. */
void metrics_notification_sent(uint32_t type);
void metrics_forced_unregistration(enum metrics_forced why);
/* Expired unused ([MS-SWN] 3.1.5.1, Samba's 30 s). */
void metrics_registration_expired(void);
void metrics_refused(enum metrics_refusal why);
/* A DCERPC connection was accepted (+1, also counted in the total) or closed (-1). */
void metrics_connection(int delta);
/* A request of iface (its dcerpc_iface name, a static string) and opnum was answered
 * (reply or fault) after seconds. */
void metrics_call(const char *iface, uint16_t opnum, double seconds);
/* A fault PDU with status was sent. */
void metrics_fault(uint32_t status);
/* The cluster backend published a view with these interface counts. */
void metrics_cluster_refresh(size_t available, size_t unavailable);
/* ctdb backend: the ctdbd connection came up / went down. */
void metrics_ctdb_connected(bool up);

/* ---- exposition ---- */

/* Static facts for witnessd_build_info and the backend; strings are copied (truncated). */
void metrics_set_info(const char *version, const char *backend);
/*
 * The exposition text of every series. On success *out is a malloc'd NUL-
 * terminated string (caller frees) of *len bytes. WD_ENOMEM otherwise.
 */
int metrics_render(char **out, size_t *len);
/* Back to zero (tests). */
void metrics_reset(void);

/* ---- HTTP listener (GET /metrics) ---- */

/*
 * A minimal strict HTTP/1.0 and 1.1 server for one resource, on the daemon's
 * loop. A request (line and headers) is at most METRICS_HTTP_MAX_REQUEST
 * bytes and must arrive within METRICS_HTTP_TIMEOUT_MS; at most
 * METRICS_HTTP_MAX_CLIENTS connections are open (a new one beyond is closed
 * at once). Every answer closes the connection ("Connection: close"): GET
 * /metrics -> 200 text/plain; version=0.0.4; HEAD likewise without a body;
 * another path -> 404; another method -> 405; anything malformed -> 400;
 * an over-long request -> 431; a version other than 1.0/1.1 -> 505.
 */
#define METRICS_HTTP_MAX_REQUEST 4096
#define METRICS_HTTP_TIMEOUT_MS  5000
#define METRICS_HTTP_MAX_CLIENTS 16

enum metrics_http_method { METRICS_HTTP_GET = 1, METRICS_HTTP_HEAD = 2 };

struct metrics_http_request {
	enum metrics_http_method method;
	bool path_metrics; /* the target is /metrics (a query string is ignored) */
};

/*
 * Pure parser of a request head (request line and header lines up to the
 * empty line, CRLF or LF) in buf[0..len). Returns:
 *   0 and *out filled when the head is complete (*consumed = its length),
 *   WD_EAGAIN when more bytes are needed (len < METRICS_HTTP_MAX_REQUEST),
 *   otherwise the HTTP status to answer, as a positive number: 400, 405,
 *   431, 505. A body (Content-Length other than 0, Transfer-Encoding) is 400.
 */
int metrics_http_parse(const char *buf, size_t len, struct metrics_http_request *out,
                       size_t *consumed);

typedef struct metrics_http metrics_http_t;

/* Listen on "ADDRESS:PORT" ("[v6]:PORT" for IPv6); WD_EINVAL for a bad address, WD_EIO with
 * err set if the bind fails. *bound gets the port (may be NULL). */
int metrics_http_new(uv_loop_t *loop, const char *listen, metrics_http_t **out, uint16_t *bound,
                     char *err, size_t errlen);
/* Closes the listener and connections, frees h, then calls cb (may be NULL). */
void metrics_http_close(metrics_http_t *h, void (*cb)(void *arg), void *arg);
/* Splits "ADDRESS:PORT" / "[ADDRESS]:PORT" into a numeric address and a port (1-65535).
 * Pure; used by the config parser too. */
int metrics_parse_listen(const char *s, char *addr, size_t addrlen, uint16_t *port);

#endif
