/*
 * wit_priv.h - internals of the witness module shared by its files and its
 * unit tests (tests/unit/test_wit*.c). Not a module contract: nothing outside
 * src/witness and its tests includes this.
 */
#ifndef WITNESS_WIT_PRIV_H
#define WITNESS_WIT_PRIV_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "witness/ndr_witness.h"
#include "witness/wit.h"

/* ---- timers: one min-heap and one uv_timer for the whole service ---- */

struct wit_timer {
	uint64_t due; /* uv_now() ms */
	size_t idx;   /* position in the heap, WIT_TIMER_IDLE when not armed */
	void (*fire)(struct wit_timer *t);
};
#define WIT_TIMER_IDLE ((size_t)-1)

/*
 * A slot keeps its deadline next to the timer, so that sifting compares
 * without touching the timers. A disarmed timer below the top leaves its
 * slot as a tombstone (t == NULL) instead of sifting: a notification's
 * keepalive disarm costs O(1) where a removal from the middle of a heap of
 * 20,000 walked it to a leaf. Tombstones at the top are dropped before the
 * uv timer is armed (they never wake the loop), and when they outnumber the
 * live slots the heap is rebuilt: at most twice the armed timers + 64 slots.
 */
struct wit_heap_slot {
	uint64_t due;
	struct wit_timer *t; /* NULL: a tombstone */
};

struct wit_heap {
	uv_loop_t *loop;
	uv_timer_t uv;
	struct wit_heap_slot *a;
	size_t n, cap;
	size_t dead; /* tombstones among the n slots */
	bool uv_init;
};

int wit_heap_init(struct wit_heap *h, uv_loop_t *loop);
/* Closes the uv timer; h itself must stay valid until the loop ran its close callback. */
void wit_heap_close(struct wit_heap *h);
void wit_timer_init(struct wit_timer *t, void (*fire)(struct wit_timer *t));
/* (Re)arm t to fire delay_ms from now. WD_ENOMEM if the heap cannot grow. */
int wit_timer_arm(struct wit_heap *h, struct wit_timer *t, uint64_t delay_ms);
void wit_timer_disarm(struct wit_heap *h, struct wit_timer *t);
static inline bool wit_timer_armed(const struct wit_timer *t)
{
	return t->idx != WIT_TIMER_IDLE;
}

/* ---- the seam to the DCERPC core (replaced by fakes in unit tests) ---- */

struct wit_rpc_ops {
	int (*reply)(dcerpc_call_t *call, const uint8_t *stub, size_t len);
	int (*fault)(dcerpc_call_t *call, uint32_t status);
	void (*set_cancel)(dcerpc_call_t *call, dcerpc_cancel_cb cb, void *arg);
	const struct dcerpc_peer *(*peer)(const dcerpc_call_t *call);
	int (*handle_create)(dcerpc_call_t *call, uint32_t handle_type, void *data,
	                     dcerpc_handle_destroy_cb destroy, dcerpc_handle_t **out,
	                     struct dcerpc_wire_handle *wire);
	void *(*handle_lookup)(dcerpc_call_t *call, const struct dcerpc_wire_handle *wire,
	                       uint32_t handle_type, dcerpc_handle_t **out);
	void (*handle_close)(dcerpc_handle_t *h);
	/* NDR flags of the call (NDR_FLAG_NDR64); NULL = NDR32 */
	uint32_t (*ndr_flags)(const dcerpc_call_t *call);
};
/* ops must outlive ws. Default: the real dcerpc_* functions. */
void wit_service_set_rpc_ops(wit_service_t *ws, const struct wit_rpc_ops *ops);
/* Registrations delivered per loop iteration of a fan-out (tests); 0 = default. */
void wit_service_set_fanout_slice(wit_service_t *ws, unsigned n);

/* ---- pure rules (unit-tested without a loop) ---- */

/*
 * [MS-SWN] 3.1.4.2 / Samba srv_witness_nt.c: NetName matches if it
 * equals ServerGlobalName (case-insensitive) or if its part before the first
 * '.' is one of our NetBIOS names (the netname's first label or an alias).
 */
bool wit_netname_ok(const struct wit_config *cfg, const char *net_name);
/* As Samba's srv_witness_nt.c: a share name must survive log_escape() unchanged. */
bool wit_share_name_ok(const char *share);
struct cluster_ip;
/* IPADDR_INFO of one IP ([MS-SWN] 2.2.2.2): IPADDR_V4 or V6, and ONLINE or OFFLINE. */
void wit_ipaddr_info(const struct cluster_ip *ip, bool online, struct witness_ipaddr_info *a);
/*
 * Samba's log_escape() rules (the client computer name is stored escaped,
 * srv_witness_nt.c): \a \b \f \n \r \t \v and \\ as C escapes, other
 * bytes <= 0x1f as \xHH; everything else (UTF-8 too) kept. Truncates to
 * outlen at a whole escape. Returns out.
 */
char *wit_name_escape(const char *in, char *out, size_t outlen);

/* RESOURCE_CHANGE state machine of one registration (Samba srv_witness_nt.c). */
struct wit_change {
	bool triggered;
	uint32_t state; /* WITNESS_RESOURCE_STATE_* to deliver */
};
/* A new state for the registered IP: UNAVAILABLE is sticky until delivered. */
void wit_change_set(struct wit_change *c, uint32_t state);
/*
 * Called after c->state was delivered: if it was not AVAILABLE but the IP
 * is available now, AVAILABLE is queued next (a move = UNAVAILABLE then
 * AVAILABLE; nothing lost while no AsyncNotify was pending).
 */
void wit_change_delivered(struct wit_change *c, bool ip_available_now);

/* Compiled `net witness` filters. */
struct wit_filter_c {
	const char *uuid;
	regex_t re[4]; /* net_name, share_name, ip_address, client_computer_name */
	bool valid[4];
	bool any;
};
/* WD_EINVAL with err filled for a bad regex. Free with wit_filter_free. */
int wit_filter_compile(const struct wit_filter *f, struct wit_filter_c *out, char *err,
                       size_t errlen);
void wit_filter_free(struct wit_filter_c *fc);
/* share NULL matches as "" (net witness). */
bool wit_filter_match(const struct wit_filter_c *fc, const char *uuid, const char *net_name,
                      const char *share, const char *ip, const char *client);

/* "YYYY-MM-DDTHH:MM:SS.uuuuuu+zzzz" like Samba's json_add_time (local time). */
void wit_format_time(int64_t us, char *buf, size_t len);

/*
 * Parse a `net witness --witness-forced-response` JSON (Samba net_witness.c)
 * into a response (*has_resp false: NULL response) and a result.
 */
int wit_forced_response_parse(const cJSON *j, struct witness_notify_response *resp, bool *has_resp,
                              uint32_t *result, char *err, size_t errlen);

/* ---- registrations (witness.c), used by the admin file ---- */

struct wit_reg;
typedef void (*wit_reg_visit_cb)(void *arg, struct wit_reg *r);
void wit_foreach_reg(wit_service_t *ws, wit_reg_visit_cb cb, void *arg);
/* The registration's GUID, lower case, into buf. Returns buf. */
char *wit_reg_uuid(const struct wit_reg *r, char buf[WD_GUID_STRLEN]);
/* The registered IP equals (family, bytes). */
bool wit_reg_ip_is(const struct wit_reg *r, int family, const uint8_t bytes[16]);
void wit_reg_describe(const wit_service_t *ws, const struct wit_reg *r, struct wit_reg_info *out);
bool wit_reg_match(const struct wit_reg *r, const struct wit_filter_c *fc);
bool wit_reg_has_share(const struct wit_reg *r);
void wit_reg_ref(struct wit_reg *r);
void wit_reg_unref(struct wit_reg *r);
bool wit_reg_alive(const struct wit_reg *r);
/* Queue a CLIENT_MOVE / SHARE_MOVE (list copied) and deliver if possible. */
int wit_reg_queue_move(struct wit_reg *r, uint32_t type, const struct witness_ipaddr_info *a,
                       uint32_t n);
/* Queue a forced response (copied) for the next AsyncNotify. */
int wit_reg_queue_forced(struct wit_reg *r, const struct witness_notify_response *resp,
                         bool has_resp, uint32_t result);
/* Destroy now (pending AsyncNotify calls get WERR_NOT_FOUND). */
void wit_reg_force_unregister(struct wit_reg *r);
const struct cluster_view *wit_service_view(const wit_service_t *ws);

#endif
