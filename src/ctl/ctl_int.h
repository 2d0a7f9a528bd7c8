/*
 * ctl_int.h - internals shared by the files of src/ctl (admin.c, peer.c)
 * and its unit tests. Not a module contract.
 */
#ifndef WITNESS_CTL_INT_H
#define WITNESS_CTL_INT_H

#include "witness/ctl.h"
#include "witness/wit.h"

/* The node this daemon runs on (the cluster view's local node). */
uint32_t ctl_admin_local_node(const struct ctl_admin *adm);
/*
 * Runs a registration command (list, the updates) on this node's witness
 * service; *out is its `net witness --json` result with "node" added to
 * every registration (caller frees). WD_E* and a message in err on error.
 */
int ctl_admin_run_local(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                        cJSON **out, char *err, size_t errlen);

/* One registration in `net witness --json` form, with "node" (caller frees). */
cJSON *ctl_reg_json(const struct wit_reg_info *r);
/*
 * Adds "registrations" to root from res; moved_only (drain): only those
 * moved, each with "moved_to" from targets. WD_ENOMEM.
 */
int ctl_regs_json(cJSON *root, const struct wit_admin_result *res, bool moved_only,
                  const struct wit_move_target *targets);

/*
 * The cluster half (peer.c). ctl_peer_gather takes local (this node's
 * result, owned) and returns the reply: at once when there is no other node
 * to ask, else CTL_REPLY_LATER and the merged reply through call.
 */
cJSON *ctl_peer_gather(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                       cJSON *local, ctl_call_t *call);
cJSON *ctl_peer_drain(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                      ctl_call_t *call);
cJSON *ctl_peer_peers(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                      ctl_call_t *call);

#endif
