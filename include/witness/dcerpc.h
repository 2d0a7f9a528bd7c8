/*
 * dcerpc.h - connection-oriented DCERPC server (ncacn_ip_tcp) on a libuv loop.
 * [C706] ch. 12, [MS-RPCE] 3.3; Samba's librpc/rpc/dcesrv_core.c as the peer.
 *
 * The core owns connections, association groups, presentation contexts,
 * fragmentation, the auth legs (through auth.h) and context handles. It knows
 * no witness semantics: an interface is a table of opnums and a dispatch
 * function that receives the (reassembled, verified, unsealed) stub.
 *
 * Life cycle of a call: the core calls iface->dispatch(); the interface must
 * then, synchronously or later, call exactly one of dcerpc_call_reply() or
 * dcerpc_call_fault(), which consume the call; or the call is cancelled
 * (CO_CANCEL, orphaned, connection closed), in which case the cancel callback
 * set with dcerpc_call_set_cancel() runs once, and after it returns the core
 * owns and frees the call (it answers a co_cancel with fault nca_s_fault_cancel
 * itself). A call with no cancel callback that is still pending when its
 * connection closes is freed silently.
 */
#ifndef WITNESS_DCERPC_H
#define WITNESS_DCERPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "witness/auth.h"
#include "witness/guid.h"
#include "witness/ndr.h"

struct dcerpc_syntax_id {
	struct wd_guid uuid;
	uint16_t major;
	uint16_t minor;
};

/* Fault status codes we send ([MS-RPCE] 2.2.2.7; the values Samba uses, dcerpc.idl) */
enum {
	DCERPC_FAULT_ACCESS_DENIED = 0x00000005,
	DCERPC_FAULT_CANT_PERFORM = 0x000006d8,
	DCERPC_FAULT_NO_CALL_ACTIVE = 0x000006bd,
	DCERPC_FAULT_BAD_STUB_DATA = 0x000006f7,
	DCERPC_FAULT_SEC_PKG_ERROR = 0x00000721,
	DCERPC_FAULT_OP_RNG_ERROR = 0x1c010002,
	DCERPC_FAULT_UNK_IF = 0x1c010003,
	DCERPC_FAULT_PROTO_ERROR = 0x1c01000b,
	DCERPC_FAULT_CANCEL = 0x1c00000d,
	DCERPC_FAULT_REMOTE_NO_MEMORY = 0x1c00001b,
	DCERPC_FAULT_UNSUPPORTED_AUTHN_LEVEL = 0x1c00001d,
};

typedef struct dcerpc_server dcerpc_server_t;
typedef struct dcerpc_call dcerpc_call_t;
typedef struct dcerpc_handle dcerpc_handle_t;

/*
 * The wire form of a context handle is NDR's policy_handle (ndr.h). The old
 * name stays an alias for the modules that still spell it so.
 */
#define dcerpc_wire_handle ndr_policy_handle

struct dcerpc_iface {
	const char *name; /* for logs: "witness", "epmapper", "mgmt" */
	struct dcerpc_syntax_id syntax;
	uint16_t num_ops;       /* opnum >= num_ops: fault op_rng_error */
	uint8_t min_auth_level; /* AUTH_LEVEL_*; below: fault access_denied */
	bool prefer_ndr64;      /* NDR64 over NDR32 when a client offers both */
	void *ctx;              /* passed to dispatch */
	/* stub is valid only during the call to dispatch. */
	void (*dispatch)(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
	                 size_t stub_len);
};

struct dcerpc_limits {
	unsigned max_connections;        /* total; beyond: accept and close */
	unsigned max_connections_per_ip; /* per client address */
	uint16_t max_frag;               /* fragment size we negotiate, <= 5840 */
	size_t max_request;              /* reassembled request stub cap */
	unsigned max_pending_calls;      /* per connection */
	unsigned max_assoc_groups;
	/* added: slow-client guards (0 = default) */
	unsigned frag_timeout_ms; /* a started fragment must complete (30 s) */
	unsigned bind_timeout_ms; /* a connection must bind (60 s) */
	/* added: what unauthenticated peers can make us hold (0 = default) */
	size_t max_request_unauth;   /* request cap below full auth (16 KiB) */
	size_t max_buffer_memory;    /* all peers' buffers together (64 MiB) */
	unsigned request_timeout_ms; /* a started request must complete (30 s) */
};

void dcerpc_limits_default(struct dcerpc_limits *l);

/* The server; auth may be NULL (only unauthenticated binds then). */
int dcerpc_server_new(uv_loop_t *loop, const struct dcerpc_limits *limits, auth_server_t *auth,
                      dcerpc_server_t **out);
/*
 * Replace the limits (a configuration reload): what is counted already
 * stays; connections, requests and buffers are checked against the new
 * values from now on. NULL: the defaults.
 */
void dcerpc_server_set_limits(dcerpc_server_t *srv, const struct dcerpc_limits *limits);
/* The iface struct must outlive the server. Every listener serves every iface. */
int dcerpc_server_add_iface(dcerpc_server_t *srv, const struct dcerpc_iface *iface);
/*
 * Listen on addr:port (addr "0.0.0.0", "::" or a literal). port 0 picks one;
 * the bound port is returned in *bound (may be NULL).
 */
int dcerpc_server_listen(dcerpc_server_t *srv, const char *addr, uint16_t port, uint16_t *bound);
/*
 * The same, with IP_FREEBIND / IPV6_FREEBIND when freebind (an address the
 * node does not have yet, such as a floating IP, can be bound), and the
 * system error (errno) of a failed bind or listen in *sys_errno (may be NULL).
 */
int dcerpc_server_listen_opt(dcerpc_server_t *srv, const char *addr, uint16_t port, bool freebind,
                             uint16_t *bound, int *sys_errno);
/*
 * Stop listening, close every connection (pending calls are cancelled, context
 * handles destroyed), then call cb. Replies already queued are written first
 * (each connection is shut down after its queue drains), for at most 2 s; a
 * peer that does not read by then is closed with its replies unsent. Frees
 * srv after cb returns.
 */
void dcerpc_server_close(dcerpc_server_t *srv, void (*cb)(void *arg), void *arg);

/*
 * Endpoint mapper ([C706] ch. 6 ept_*, appendix L towers): serve the epm
 * interface (e1af8308-... v3.0) anonymously on this server and map iface to
 * (ip, port) towers. Call dcerpc_server_listen on 135 separately.
 */
int dcerpc_epm_enable(dcerpc_server_t *srv);
int dcerpc_epm_register(dcerpc_server_t *srv, const struct dcerpc_syntax_id *iface, const char *ip,
                        uint16_t port, const char *annotation);
/* mgmt interface (afa8bd80-... v1.0), anonymous. */
int dcerpc_mgmt_enable(dcerpc_server_t *srv, const char *princ_name);

struct dcerpc_stats {
	uint64_t connections_total;
	uint32_t connections_open;
	uint32_t assoc_groups;
	uint32_t calls_pending;
	uint64_t calls_total;
	uint64_t faults_total;
	uint64_t protocol_errors;
	uint64_t auth_failures;
	uint64_t buffer_bytes;        /* fragment, reassembly and write buffers held now */
	uint64_t buffer_peak;         /* high-water mark of buffer_bytes */
	uint64_t budget_cuts;         /* connections cut to keep within max_buffer_memory */
	uint64_t request_timeouts;    /* connections cut for a request not completed in time */
	uint64_t requests_too_large;  /* refused above max_request (max_request_unauth) */
	uint64_t accept_errors;       /* accept() failures (EMFILE, ENFILE, ENOMEM, ...) */
	uint64_t connections_refused; /* accepted and closed: max connections (per IP) */
	bool accept_paused;           /* listeners paused after running out of descriptors */
};
void dcerpc_server_stats(const dcerpc_server_t *srv, struct dcerpc_stats *out);

/* ---- calls ---- */

/* Sends the response (fragmented as negotiated) and frees the call. */
int dcerpc_call_reply(dcerpc_call_t *call, const uint8_t *stub, size_t len);
/* Sends a fault with status and frees the call. */
int dcerpc_call_fault(dcerpc_call_t *call, uint32_t status);

enum dcerpc_cancel_reason {
	DCERPC_CANCEL_CO_CANCEL = 1, /* client sent co_cancel */
	DCERPC_CANCEL_ORPHANED = 2,  /* client sent orphaned */
	DCERPC_CANCEL_CLOSED = 3,    /* connection closed / server shutting down */
};
typedef void (*dcerpc_cancel_cb)(dcerpc_call_t *call, void *arg, enum dcerpc_cancel_reason reason);
void dcerpc_call_set_cancel(dcerpc_call_t *call, dcerpc_cancel_cb cb, void *arg);

/* Who called and over what; valid while the call lives. */
struct dcerpc_peer {
	const char *local_addr;  /* "ipv4:127.0.0.1:49152" (Samba tsocket style) */
	const char *remote_addr; /* "ipv4:127.0.0.1:51234" */
	const char *local_ip;    /* "127.0.0.1" */
	const char *remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
	const struct auth_session *auth; /* auth_type 0 / level 1 when anonymous */
};
const struct dcerpc_peer *dcerpc_call_peer(const dcerpc_call_t *call);
uint32_t dcerpc_call_id(const dcerpc_call_t *call);
/*
 * Transfer syntax of the call's presentation context as NDR flags
 * (NDR_FLAG_NDR64 or 0): marshal the stubs with ndr_push_init_flags /
 * ndr_pull_init_flags.
 */
uint32_t dcerpc_call_ndr_flags(const dcerpc_call_t *call);

/* ---- context handles, owned by the association group ---- */

typedef void (*dcerpc_handle_destroy_cb)(void *data);

/*
 * Create a handle in the call's association group. destroy(data) runs when
 * the handle is closed with dcerpc_handle_close() or when the association
 * group ends (its last connection closed). *out receives the handle object,
 * *wire its wire form.
 */
int dcerpc_handle_create(dcerpc_call_t *call, uint32_t handle_type, void *data,
                         dcerpc_handle_destroy_cb destroy, dcerpc_handle_t **out,
                         struct ndr_policy_handle *wire);
/*
 * Look up in the call's association group: data, or NULL. A handle is bound
 * to the identity (SID, else domain and account, else anonymous) and the auth
 * level of the call that created it: a caller with another identity or a
 * lower level gets NULL, as for an unknown handle (Samba's dcesrv_handles.c).
 */
void *dcerpc_handle_lookup(dcerpc_call_t *call, const struct ndr_policy_handle *wire,
                           uint32_t handle_type, dcerpc_handle_t **out);
/* Remove the handle from its group and run destroy(data). */
void dcerpc_handle_close(dcerpc_handle_t *h);
const struct ndr_policy_handle *dcerpc_handle_wire(const dcerpc_handle_t *h);

/* Close every connection whose local IP is ip (CTDB released that IP). */
unsigned dcerpc_server_drop_local_ip(dcerpc_server_t *srv, const char *ip);

/*
 * Connection observer: called when a TCP connection is accepted or closes
 * (the CTDB backend registers them as TCP_CLIENT for tickle ACKs).
 */
typedef void (*dcerpc_conn_cb)(void *arg, bool up, const char *local_ip, uint16_t local_port,
                               const char *remote_ip, uint16_t remote_port);
void dcerpc_server_set_conn_observer(dcerpc_server_t *srv, dcerpc_conn_cb cb, void *arg);

#endif
