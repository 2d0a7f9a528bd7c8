/*
 * wit.h - the MS-SWN service: registrations, interface list, notification
 * queues and the rules of [MS-SWN] 3.1.4 (with Samba's choices where they
 * differ: source3/rpc_server/witness/srv_witness_nt.c). Exposes a
 * dcerpc_iface for the DCERPC core and admin operations for witnessctl
 * (src/ctl).
 *
 * Behaviour (the choices, with the client each is for, are commented in
 * src/witness/witness.c):
 *  - GetInterfaceList: every IP of the cluster view (no 127.0.0.1 filter:
 *    the static list is explicit), the hosting node's group name, version
 *    0x00020000 like Samba, WITNESS_IF only on IPs not local to this node; an
 *    empty view -> ERROR_NO_MORE_ITEMS; while none is AVAILABLE the call
 *    waits (at most interface_wait_ms, cancellable), [MS-SWN] 3.1.4.1.
 *  - Register/RegisterEx: Samba's order (version -> NULLs -> NetName ->
 *    share name -> IP) and codes, plus the scale-out share check of
 *    [MS-SWN] 3.1.4.5 when shares are configured; handle_type 1; the store row is written
 *    before the registration exists in memory (failure: NO_SYSTEM_RESOURCES,
 *    also for the max_registrations limits).
 *  - UnRegister / UnRegisterEx (opnum 5): a context not (or no longer)
 *    registered -> INVALID_PARAMETER ([MS-SWN] 3.1.4.3, 3.1.4.6; Windows
 *    Server 2012 R2 and later); pending AsyncNotify calls -> NOT_FOUND.
 *  - AsyncNotify: FIFO of pending calls per registration; KeepAliveTimeout
 *    (RegisterEx only; 0 = at once, 3.1.5.2) -> WERR_TIMEOUT with a NULL
 *    response; RESOURCE_CHANGE named with the
 *    registered IP, UNAVAILABLE sticky until delivered, a move = UNAVAILABLE
 *    then AVAILABLE; changes while no call is pending are queued.
 *  - Timers: unused registrations expire after unused_timeout_ms without a
 *    pending AsyncNotify; a registration is destroyed reregister_delay_ms
 *    (0 = never) after it was sent UNAVAILABLE or a move to another IP.
 *  - A registration ends with its association group (handle destroy).
 */
#ifndef WITNESS_WIT_H
#define WITNESS_WIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "witness/cluster.h"
#include "witness/dcerpc.h"
#include "witness/store.h"

typedef struct wit_service wit_service_t;

/* InterfaceGroupName of one node ([MS-SWN] 3.1.1.2). */
struct wit_group_name {
	const char *name;
	uint32_t node;
};

struct wit_config {
	const char *netname;        /* ServerGlobalName ("witsrv" or "witsrv.example.com") */
	const char *const *aliases; /* further NetBIOS names accepted before the first '.' */
	size_t n_aliases;
	const char *group_name; /* InterfaceGroupName of IPs no node hosts; NULL: netname */
	const struct wit_group_name *group_names; /* per node; others: "<netname label>-<node>" */
	size_t n_group_names;
	/* Scale-out shares ([MS-SWN] 3.1.4.5): a RegisterEx ShareName must be one
	 * of them (case-insensitive); none: any name. */
	const char *const *shares;
	size_t n_shares;
	/* GetInterfaceList waits at most this long for an AVAILABLE interface
	 * ([MS-SWN] 3.1.4.1); 0 = answer at once like Samba. */
	uint32_t interface_wait_ms;
	uint8_t min_auth_level;     /* AUTH_LEVEL_*; for the witness iface */
	uint32_t unused_timeout_ms; /* [MS-SWN] <7>: 30000; 0 = never */
	uint32_t
	    reregister_delay_ms; /* forced unregistration after UNAVAILABLE/move: 5000; 0 = off */
	unsigned max_registrations;            /* total; 0 = no limit */
	unsigned max_registrations_per_client; /* per remote IP; 0 = no limit */
	uint32_t node;                         /* this node's number (vnn) */
};

/* cluster and store are borrowed and must outlive the service. store may be NULL (tests). */
int wit_service_new(uv_loop_t *loop, const struct wit_config *cfg, cluster_t *cluster,
                    store_t *store, wit_service_t **out);
/* Fails pending calls, drops registrations. */
void wit_service_free(wit_service_t *ws);
/*
 * Graceful stop: end every registration; each pending AsyncNotify is
 * answered ERROR_NOT_FOUND (the reply is queued on its connection). Returns
 * how many were answered. The service stays usable (and empty).
 */
unsigned wit_service_stop(wit_service_t *ws);
/*
 * Reload: take unused_timeout_ms, reregister_delay_ms, max_registrations and
 * max_registrations_per_client from cfg; the other fields cannot change live.
 */
void wit_service_set_limits(wit_service_t *ws, const struct wit_config *cfg);
const struct dcerpc_iface *wit_service_iface(wit_service_t *ws);
/*
 * Answers every GetInterfaceList call that waits for an AVAILABLE interface
 * with the list as it is now (graceful stop; wit_service_free does it too).
 */
void wit_service_answer_interface_waits(wit_service_t *ws);

struct wit_stats {
	uint32_t registrations;
	uint32_t pending_notifies;
	uint64_t notifications_sent;
	uint64_t registrations_total;
};
void wit_service_stats(const wit_service_t *ws, struct wit_stats *out);

/* ---- admin operations (`net witness` equivalents) ---- */

/*
 * Filters are POSIX extended regexes, case-insensitive, unanchored (like net
 * witness), without back-references and GNU anchors (\b \< ...).
 *
 * Bounds on a regex selector, checked before regcomp() by the one function
 * that compiles selectors (admin requests today, requests relayed from other
 * nodes later). glibc's regcomp() copies a repeated item once per repetition
 * and `x+` as `x x*`, so nested quantifiers grow exponentially: 22 '+' after
 * one character took 2.45 GB and 4.6 s on the loop. Its closures also follow
 * every way to match nothing, which makes a repeated item that can match the
 * empty string exponential ((a?|b?){,18}(.?)+: 0.65 s, twice as long per
 * copy) and anchors costly ($|\s\w(($)*){28}: 199 s; ^(.?){1,255}$: 1.4 s). So a
 * selector is refused if it is too long, has a quantifier right after
 * another, repeats an item that can match the empty string or that holds an
 * anchor, or exceeds one of the counts below. Measured with glibc 2.36 on
 * 500,000 random patterns, the slowest accepted one compiled and matched a
 * 255-byte name in 18 ms. A refusal is WD_EINVAL with "selector too long:
 * ..." or "selector too complex: ..." in err.
 */
#define WIT_SELECTOR_MAX_LEN                256 /* bytes */
#define WIT_SELECTOR_MAX_REPEAT             255 /* m and n of {m,n} */
#define WIT_SELECTOR_MAX_QUANTIFIERS        32  /* * + ? {m,n} in one selector */
#define WIT_SELECTOR_MAX_NESTING            2   /* quantified items inside quantified items */
#define WIT_SELECTOR_MAX_GROUPS             32  /* nesting depth of ( ) */
#define WIT_SELECTOR_MAX_EXPANSION          256 /* items after repetitions are expanded */
#define WIT_SELECTOR_MAX_ANCHORS            8   /* ^ and $; GNU \b \< ... are refused */
#define WIT_SELECTOR_MAX_EXPANSION_ANCHORED 128 /* the same with an anchor */

struct wit_filter {
	const char *registration_uuid;
	const char *net_name;
	const char *share_name; /* NULL share matched as "" */
	const char *ip_address;
	const char *client_computer_name;
	bool apply_to_all; /* required by updates when no filter is given */
};

#define WIT_NEW_NODE_ALL   0xFFFFFFFFu
#define WIT_NEW_NODE_UNSET 0xFFFFFFFEu

/*
 * What the admin operations report: the registrations that matched, as the
 * twelve fields of `net witness list --json` (src/ctl builds that JSON), and
 * what was done. Strings are borrowed from the registrations, which the
 * result keeps referenced (also those an operation destroyed) until
 * wit_admin_result_free.
 */
struct wit_reg_info {
	char uuid[WD_GUID_STRLEN];
	uint32_t version, flags, timeout, handle_type;
	const char *net_name, *share_name /* NULL: none */, *ip_address, *client_computer_name;
	const char *account_name, *domain_name, *account_sid, *local_address, *remote_address;
	char registration_time[40]; /* "YYYY-MM-DDTHH:MM:SS.uuuuuu+zzzz", like Samba's */
	uint32_t node;              /* server_id.vnn: this node */
	uint64_t unique_id;         /* server_id.unique_id */
	int moved_to;               /* drain: index into the targets, -1 if not moved */
};

struct wit_reg;
struct wit_admin_result {
	size_t n;
	struct wit_reg_info *regs; /* n of them, owned */
	uint32_t n_addrs;          /* moves: interfaces in the notification (0: none sent) */
	size_t n_moved;            /* drain: registrations sent a CLIENT_MOVE */
	struct wit_reg **refs;     /* private */
};
/* Frees what an operation returned in *r (zeroed on error too). NULL-safe. */
void wit_admin_result_free(struct wit_admin_result *r);

/*
 * Every op matches registrations through the filter (WD_EINVAL with a message
 * in err for a bad regex, or for an update with neither filter nor
 * apply_to_all), acts on them and fills *out (caller frees with
 * wit_admin_result_free). On error *out is empty.
 */
int wit_admin_list(wit_service_t *ws, const struct wit_filter *f, struct wit_admin_result *out,
                   char *err, size_t errlen);
/* new_node (or WIT_NEW_NODE_ALL) xor new_ip. */
int wit_admin_client_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                          const char *new_ip, struct wit_admin_result *out, char *err,
                          size_t errlen);
int wit_admin_share_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                         const char *new_ip, struct wit_admin_result *out, char *err,
                         size_t errlen);
int wit_admin_force_unregister(wit_service_t *ws, const struct wit_filter *f,
                               struct wit_admin_result *out, char *err, size_t errlen);
/*
 * forced_json: the text of a `net witness --witness-forced-response` JSON
 * (NULL: an empty response with WERR_OK), parsed before anything matches.
 */
int wit_admin_force_response(wit_service_t *ws, const struct wit_filter *f, const char *forced_json,
                             struct wit_admin_result *out, char *err, size_t errlen);

/*
 * Drain (witnessctl drain): the live registrations whose registered IP is
 * one of ips[0..n_ips), sorted by uuid; the i-th gets a CLIENT_MOVE to
 * targets[(offset + i) % n_targets]: every interface hosted on that node,
 * or the one interface equal to its ip. With count_only nothing is sent.
 * out->regs are every match, moved_to set on those sent a CLIENT_MOVE.
 * WD_EINVAL for a bad IP or no target.
 */
struct wit_move_target {
	uint32_t node;  /* used when ip is NULL */
	const char *ip; /* one interface */
};
int wit_admin_drain(wit_service_t *ws, const char *const *ips, size_t n_ips,
                    const struct wit_move_target *targets, size_t n_targets, size_t offset,
                    bool count_only, struct wit_admin_result *out, char *err, size_t errlen);

#endif
