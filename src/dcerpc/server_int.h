/*
 * server_int.h - internals of the DCERPC server, shared by its files.
 * Not a module contract: nothing outside src/dcerpc includes it.
 *
 * The server is split by concern, as Samba's is (librpc/rpc/dcesrv_*.c):
 *   server.c        the server object: interfaces, listeners, limits, shutdown
 *   server_conn.c   connection I/O and life cycle: accept, framing, writes,
 *                   the buffer budget, per-IP counts, the sweep of stuck peers
 *   server_bind.c   bind, alter_context and auth3: presentation contexts and
 *                   the connection's security context (verify / protect PDUs)
 *   server_call.c   calls: requests, reassembly, dispatch, replies and their
 *                   fragmentation, faults, co_cancel and orphaned
 *   server_assoc.c  association groups and context handles
 *   epmapper.c, mgmt.c  the two interfaces the core serves itself
 *
 * Internal functions shared between these files carry the dcerpc__ prefix.
 */
#ifndef WD_DCERPC_SERVER_INT_H
#define WD_DCERPC_SERVER_INT_H

#include "witness/dcerpc.h"
#include "witness/htab.h"
#include "accept.h"
#include "budget.h"
#include "pdu.h"

#define DCERPC_MAX_IFACES         16
#define READ_BUF_SIZE             65536
#define MAX_CTX_PER_CONN          16
#define MAX_WRITE_QUEUE           (4u << 20)   /* client not reading: close */
#define MAX_WRITE_QUEUE_UNAUTH    (256u << 10) /* the same before full auth */
#define FRAG_TIMEOUT_MS           30000        /* a started fragment must complete */
#define REQUEST_TIMEOUT_MS        30000        /* a started request must complete */
#define MAX_REQUEST_UNAUTH        (16u << 10)
#define MAX_BUFFER_MEMORY         (64u << 20)
#define LOG_INTERVAL_MS           10000 /* rate limit of the warnings a flood can trigger */
#define UNBOUND_TIMEOUT_MS        60000 /* a connection must bind */
#define SHUTDOWN_TIMEOUT_MS       10000 /* flushing a last fault or bind_nak */
#define KEEPALIVE_S               60
#define SWEEP_MS                  5000
#define CLOSE_FLUSH_MS            2000 /* server close: flushing the last replies */
#define BTFN_SEC_CTX_MULTIPLEXING 0x01 /* [MS-RPCE] 2.2.2.14 */
#define BTFN_KEEP_CONN_ON_ORPHAN  0x02 /* [MS-RPCE] 2.2.2.14 */

struct dcerpc_epm_entry {
	struct dcerpc_epm_entry *next;
	struct dcerpc_syntax_id iface;
	char ip[48];
	uint16_t port;
	char annotation[64];
};

struct assoc_group {
	struct assoc_group *next, *prev;
	struct assoc_group *hnext; /* chain in the server's table by id */
	dcerpc_server_t *srv;
	uint32_t id;
	unsigned conns;
	struct dcerpc_handle *handles;
	char remote_ip[]; /* sized to fit */
};

struct dcerpc_handle {
	struct dcerpc_handle *next, *prev; /* the group's, for its teardown */
	struct wd_hnode hnode;             /* in the server's handles, by wire uuid */
	struct assoc_group *group;
	struct ndr_policy_handle wire;
	void *data;
	dcerpc_handle_destroy_cb destroy;
	char *owner;       /* who created it (handle_owner() in server_assoc.c) */
	uint8_t min_level; /* the auth level it was created at */
};

struct pres_ctx {
	uint16_t id;
	uint32_t proposed_version; /* abstract syntax version the client asked for */
	const struct dcerpc_iface *iface;
	uint32_t ndr_flags; /* NDR_FLAG_NDR64 when NDR64 was negotiated */
};

struct ip_count {
	struct wd_hnode hnode; /* in the server's ip_counts, by address */
	unsigned n;
	char ip[]; /* sized to fit */
};

/*
 * One security context of a connection ([MS-RPCE] 3.3.1.5.2): its own
 * auth_context_id, mechanism and level. A connection holds up to
 * DCERPC_MAX_SEC_CTX of them; they live until the connection closes, so
 * calls point at theirs.
 */
struct dcerpc_sec {
	struct dcerpc_sec *next;
	auth_ctx_t *auth;
	uint32_t auth_context_id;
	uint8_t auth_type, auth_level;
	bool done;    /* the legs finished */
	bool invalid; /* auth3 failed: the next request faults */
};

/*
 * Security contexts per connection. Samba's raw protocol test
 * (test_multiple_auth_limit) finds 2049 on Samba and Windows; ours is
 * smaller to bound what one peer holds (MAX_NUM_AUTH in that test).
 */
#define DCERPC_MAX_SEC_CTX 16

struct conn;

struct dcerpc_call {
	struct dcerpc_call *next, *prev;
	struct conn *conn;
	uint32_t call_id;
	uint16_t context_id;
	uint16_t opnum;
	const struct dcerpc_iface *iface;
	uint64_t started_ns;    /* uv_hrtime() at dispatch, for witnessd_call_duration_seconds */
	uint32_t ndr_flags;     /* transfer syntax of the call's presentation context */
	struct dcerpc_sec *sec; /* the security context it came on; NULL: none */
	/* the connection's, with that context's session: &conn->peer when that
	 * is the same and can no longer change, else own_peer */
	const struct dcerpc_peer *peer;
	dcerpc_cancel_cb cancel_cb;
	void *cancel_arg;
	bool cancelled;                /* the cancel callback runs: the core frees the call */
	bool orphaned;                 /* client abandoned it: the reply is dropped */
	struct dcerpc_peer own_peer[]; /* allocated only when needed */
};

/*
 * One connection. An idle witness client keeps one for as long as it is
 * registered, so its size is the daemon's memory per client (doc/bench.md):
 * the addresses are sized to fit at the end, rarely used state is packed.
 */
struct conn {
	uv_tcp_t tcp; /* first: handle->data is not needed */
	dcerpc_server_t *srv;
	struct conn *next, *prev;
	struct assoc_group *group;
	/* its local_addr, remote_addr ("ipv4:IP:PORT"), local_ip and remote_ip
	 * point into addrs[] */
	struct dcerpc_peer peer;
	uint64_t accepted_at;

	/* framing */
	uint8_t hdr[DCERPC_HDR_LEN];
	uint8_t *frag; /* whole fragment while it arrives */
	uint16_t frag_len;
	uint16_t frag_have;
	uint8_t hdr_have;
	uint8_t n_ctx;
	uint16_t max_xmit;
	uint64_t frag_started;

	/* what this peer makes us hold, on the server's budget (budget.h) */
	struct dcerpc_hold hold;
	size_t frag_charged, reasm_charged, write_charged;
	uint64_t reasm_started;

	/* reassembly of a multi-fragment request */
	struct dcerpc_buf reasm;
	bool reasm_active;
	bool discard_active; /* drop further fragments of a faulted call */
	uint32_t reasm_call_id;
	uint16_t reasm_ctx;
	uint16_t reasm_opnum;
	uint32_t discard_call_id;

	struct pres_ctx *ctxs;
	bool bound, conc_mpx, closing, counted, shutting;
	uint64_t shutdown_at;

	/* security contexts ([MS-RPCE] 3.3.1.5.2), server_bind.c */
	struct dcerpc_sec *secs; /* all of them, oldest first */
	unsigned n_secs;
	bool hdr_sign; /* Supports Header Signing Flag ([MS-RPCE] 3.3.1.1.2), for every context */
	struct dcerpc_sec *sec_bind;  /* the bind's: requests without a trailer use it */
	struct dcerpc_sec *sec_req;   /* the one the fragment in hand came on */
	struct dcerpc_sec *sec_reasm; /* the one of the call being reassembled */

	struct dcerpc_call *calls;
	unsigned n_calls;
	char addrs[]; /* the four address strings of peer, sized to fit */
};

/* One warning per interval for events that a flood can trigger by the thousand. */
struct log_limit {
	uint64_t last;
	uint64_t suppressed;
	bool used;
};

struct listener {
	struct dcerpc_acceptor acc;
	dcerpc_server_t *srv;
	struct listener *next;
	uint16_t port;
};

struct dcerpc_server {
	uv_loop_t *loop;
	struct dcerpc_limits limits;
	auth_server_t *auth;
	const struct dcerpc_iface *ifaces[DCERPC_MAX_IFACES];
	unsigned n_ifaces;
	struct listener *listeners;
	struct conn *conns;
	struct assoc_group *groups;
	struct assoc_group **group_table; /* by id; size group_buckets (a power of 2) */
	unsigned group_buckets;
	struct wd_htab ip_counts; /* struct ip_count by remote address */
	struct wd_htab handles;   /* struct dcerpc_handle by wire uuid */
	struct dcerpc_stats stats;
	struct dcerpc_budget budget;
	uint8_t full_level; /* auth level at which a peer gets the full limits */
	struct log_limit log_cut, log_timeout, log_large, log_accept, log_conn_limit;
	uv_timer_t accept_retry; /* listeners paused after EMFILE/ENFILE */
	bool accept_retry_init;
	uint32_t pkts_in, pkts_out;
	dcerpc_conn_cb observer;
	void *observer_arg;
	struct dcerpc_epm_entry *epm;
	char *princ_name;
	uv_timer_t sweep;
	bool sweep_started;
	bool closing;
	unsigned closing_handles;
	void (*close_cb)(void *arg);
	void *close_arg;
	uint8_t readbuf[READ_BUF_SIZE]; /* shared: one loop, read_cb consumes it at once */
};

/* ---- server.c ---- */

/* Iterate the registered interfaces (mgmt inq_if_ids). */
unsigned dcerpc_server_iface_count(const dcerpc_server_t *srv);
const struct dcerpc_iface *dcerpc_server_iface_at(const dcerpc_server_t *srv, unsigned i);
/* Head of the endpoint mapper's entry list (owned by the server). */
struct dcerpc_epm_entry **dcerpc_server_epm_list(dcerpc_server_t *srv);
/* Packet counters for mgmt inq_stats: calls in, calls out, pkts in, pkts out. */
void dcerpc_server_mgmt_stats(const dcerpc_server_t *srv, uint32_t out[4]);
/* Storage for the mgmt principal name (owned by the server). */
char **dcerpc_server_princ_slot(dcerpc_server_t *srv);
/* The interface an abstract syntax names ([C706] 12.6.3.1), or NULL. */
const struct dcerpc_iface *dcerpc__iface_find(dcerpc_server_t *srv,
                                              const struct dcerpc_pdu_syntax *abs);
/* True when a rate-limited warning may be logged now (see server.c). */
bool dcerpc__log_allow(struct log_limit *l, uint64_t now, uint64_t *suppressed);
/* A handle of the server closed: frees srv once the last one is gone. */
void dcerpc__srv_maybe_finish_close(dcerpc_server_t *srv);

/* ---- server_conn.c ---- */

/* The acceptor's callback: a new connection on fd (owned from here on). */
void dcerpc__conn_accept(struct dcerpc_acceptor *a, int fd);
/* Set up the sweep timer once (the first listener); it runs only while
 * there are connections: dcerpc__sweep_arm when one is added, and the
 * sweep stops itself when the last one is gone. */
void dcerpc__sweep_start(dcerpc_server_t *srv);
void dcerpc__sweep_arm(dcerpc_server_t *srv);
/* Server shutdown: close every connection, stop flushing the closing ones. */
/*
 * Server close: every connection is shut down after its queued replies are
 * written; returns whether some still flush. _now_all closes those at once.
 */
bool dcerpc__conn_close_all(dcerpc_server_t *srv);
void dcerpc__conn_close_now_all(dcerpc_server_t *srv);
/* Server close: the last connection is gone (ends the flush deadline early). */
void dcerpc__srv_conns_flushed(dcerpc_server_t *srv);
/* Free the per-IP counters (after the last connection). */
void dcerpc__ip_counts_free(dcerpc_server_t *srv);
void dcerpc__listener_opts(int fd);
/* Queue b for writing; takes ownership of b->data (the buffer is reset). */
int dcerpc__conn_send(struct conn *c, struct dcerpc_buf *b);
/* Close at once (pending calls cancelled), or after flushing what is queued. */
void dcerpc__conn_close(struct conn *c);
void dcerpc__conn_close_after_write(struct conn *c);
/* Account n more bytes that c makes us hold in *acct; on failure c is cut. */
int dcerpc__conn_charge(struct conn *c, size_t *acct, size_t n);
/* True once c has the full limits (authenticated at the server's full level). */
bool dcerpc__conn_trusted(const struct conn *c);

/* ---- server_bind.c ---- */

void dcerpc__handle_bind(struct conn *c, const uint8_t *buf, size_t len);
void dcerpc__handle_alter(struct conn *c, const uint8_t *buf, size_t len);
void dcerpc__handle_auth3(struct conn *c, const uint8_t *buf, size_t len);
/* A bind_nak, then the connection is closed (Samba does the same). */
void dcerpc__send_bind_nak(struct conn *c, uint32_t call_id, uint16_t reason);
/* The presentation context id on c, or NULL. */
struct pres_ctx *dcerpc__ctx_find(struct conn *c, uint16_t id);
/* The highest level c is authenticated at (AUTH_LEVEL_NONE until legs finish). */
uint8_t dcerpc__auth_level(const struct conn *c);
/* The level of one security context (AUTH_LEVEL_NONE for NULL or unfinished). */
uint8_t dcerpc__sec_level(const struct dcerpc_sec *s);
/* The session of a security context, or NULL (anonymous). */
const struct auth_session *dcerpc__sec_session(const struct dcerpc_sec *s);
/*
 * Verify and unseal one request fragment in place with the security context
 * its trailer names (c->sec_req is set to it, NULL for none); on success
 * *stub_len excludes the auth pad. Returns 0 or a fault status (and
 * *disconnect).
 */
uint32_t dcerpc__auth_request(struct conn *c, uint8_t *buf, struct dcerpc_request *req,
                              size_t *stub_len, bool *disconnect);
/* True if req has no trailer, or one naming a context of c with its type and level. */
bool dcerpc__auth_trailer_matches(struct conn *c, const struct dcerpc_request *req);
/* req has a trailer naming a security context other than s (or none of c's). */
bool dcerpc__auth_other_sec(struct conn *c, const struct dcerpc_request *req,
                            const struct dcerpc_sec *s);
/* Bytes a response fragment needs beyond its stub for auth (trailer, signature). */
size_t dcerpc__auth_response_overhead(const struct dcerpc_sec *s);
/* Append response fragment r to b, signed or sealed with security context s. */
int dcerpc__auth_response_push(struct dcerpc_sec *s, struct dcerpc_buf *b,
                               const struct dcerpc_response *r);
/* Free c's security contexts (connection teardown). */
void dcerpc__auth_free(struct conn *c);

/* ---- server_call.c ---- */

void dcerpc__handle_request(struct conn *c, uint8_t *buf, size_t len);
void dcerpc__handle_cancel(struct conn *c, const uint8_t *buf, size_t len);
/* Faults are never signed; fault_disconnect closes after the fault is flushed. */
void dcerpc__send_fault(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                        uint8_t extra_flags);
void dcerpc__fault_disconnect(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                              uint8_t extra);
/* The call_id of a raw PDU (0 when too short). */
uint32_t dcerpc__raw_call_id(const uint8_t *buf, size_t len);
/* Cancel every pending call of c (connection closed) and drop its reassembly. */
void dcerpc__calls_cancel_all(struct conn *c);
void dcerpc__reasm_reset(struct conn *c);
/* The server a call belongs to. */
dcerpc_server_t *dcerpc_call_server(const dcerpc_call_t *call);

/* ---- server_assoc.c ---- */

/*
 * The association group a bind asks for ([MS-RPCE] 3.3.1.5.7): a new one
 * for id 0 (*created set), else the existing one c may join. NULL with
 * *nak_reason set when refused. A new group has no connection until
 * dcerpc__group_attach; dcerpc__group_release_unused frees it otherwise.
 */
struct assoc_group *dcerpc__group_for_bind(struct conn *c, uint32_t id, uint16_t *nak_reason);
void dcerpc__group_attach(struct conn *c, struct assoc_group *g);
void dcerpc__group_release_unused(struct assoc_group *g);
/* c leaves its group; the group (and its handles) end with its last connection. */
void dcerpc__group_detach(struct conn *c);
/* Server shutdown: free every group and handle. */
void dcerpc__groups_free_all(dcerpc_server_t *srv);

#endif
