/*
 * admin.c - witnessd's admin command table: maps admin-protocol requests
 * (include/witness/ctl.h, enum ctl_cmd) to the witness service's `net
 * witness` operations (wit_admin_*) and to the cluster backend
 * (cluster_set_ip). The cluster commands go through src/ctl/peer.c, which
 * runs them here and on every other node's witnessd.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "witness/cluster.h"
#include "witness/ctl.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "witness/wit.h"
#include "ctl_int.h"

/* Integral and in a sane range (no libm in the tools: no floor()). */
static bool is_whole(double d)
{
	return d > -1e15 && d < 1e15 && (double)(long long)d == d;
}

static const char *const filter_keys[] = {
    "registration", "net_name", "share_name", "ip_address", "client_computer_name", "apply_to_all",
};

/* Fills f from req's "filters" (borrowed strings). Unknown keys are errors. */
static int get_filters(const cJSON *req, struct wit_filter *f, char *err, size_t errlen)
{
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(req, "filters");
	const cJSON *it;

	memset(f, 0, sizeof(*f));
	if (fl == NULL || cJSON_IsNull(fl))
		return 0;
	if (!cJSON_IsObject(fl)) {
		snprintf(err, errlen, "\"filters\" must be an object");
		return WD_EINVAL;
	}
	cJSON_ArrayForEach(it, fl)
	{
		size_t i;

		for (i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++) {
			if (it->string != NULL && strcmp(it->string, filter_keys[i]) == 0)
				break;
		}
		if (i == sizeof(filter_keys) / sizeof(filter_keys[0])) {
			snprintf(err, errlen, "unknown filter \"%.64s\"",
			         it->string ? it->string : "");
			return WD_EINVAL;
		}
		if (i == 5) {
			if (!cJSON_IsBool(it)) {
				snprintf(err, errlen, "filter \"apply_to_all\" must be a boolean");
				return WD_EINVAL;
			}
			f->apply_to_all = cJSON_IsTrue(it);
			continue;
		}
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "filter \"%s\" must be a string", filter_keys[i]);
			return WD_EINVAL;
		}
		switch (i) {
		case 0:
			f->registration_uuid = it->valuestring;
			break;
		case 1:
			f->net_name = it->valuestring;
			break;
		case 2:
			f->share_name = it->valuestring;
			break;
		case 3:
			f->ip_address = it->valuestring;
			break;
		case 4:
			f->client_computer_name = it->valuestring;
			break;
		}
	}
	return 0;
}

/* new_node (-1 = all) or new_ip, exactly one (net witness --witness-new-node/-ip). */
static int get_move_target(const cJSON *req, uint32_t *node, const char **ip, char *err,
                           size_t errlen)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(req, "new_node");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "new_ip");

	*node = WIT_NEW_NODE_UNSET;
	*ip = NULL;
	if ((n == NULL) == (a == NULL)) {
		snprintf(err, errlen, "exactly one of \"new_node\" and \"new_ip\" is required");
		return WD_EINVAL;
	}
	if (n != NULL) {
		double d = cJSON_IsNumber(n) ? n->valuedouble : -2;

		if (!cJSON_IsNumber(n) || !is_whole(d) || d < -1 ||
		    d >= (double)WIT_NEW_NODE_UNSET) {
			snprintf(err, errlen, "\"new_node\" must be a node number or -1 (all)");
			return WD_EINVAL;
		}
		*node = d == -1 ? WIT_NEW_NODE_ALL : (uint32_t)d;
		return 0;
	}
	if (!cJSON_IsString(a) || a->valuestring[0] == '\0') {
		snprintf(err, errlen, "\"new_ip\" must be an IP address string");
		return WD_EINVAL;
	}
	*ip = a->valuestring;
	return 0;
}

static cJSON *ip_list(struct ctl_admin *adm)
{
	const struct cluster_view *v = cluster_view(adm->cluster);
	cJSON *res = cJSON_CreateObject(), *arr;

	if (res == NULL)
		return NULL;
	cJSON_AddStringToObject(res, "backend", cluster_backend_name(adm->cluster));
	cJSON_AddNumberToObject(res, "local_node", v != NULL ? v->local_node : 0);
	arr = cJSON_AddArrayToObject(res, "interfaces");
	for (size_t i = 0; v != NULL && i < v->n; i++) {
		const struct cluster_ip *ip = &v->ips[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL)
			break;
		cJSON_AddStringToObject(o, "ip", ip->addr);
		if (ip->node == CLUSTER_NODE_NONE)
			cJSON_AddNullToObject(o, "node");
		else
			cJSON_AddNumberToObject(o, "node", ip->node);
		cJSON_AddStringToObject(o, "state", ip->available ? "AVAILABLE" : "UNAVAILABLE");
		cJSON_AddBoolToObject(o, "available", ip->available);
		cJSON_AddBoolToObject(o, "local", cluster_ip_is_local(v, ip));
		cJSON_AddItemToArray(arr, o);
	}
	return res;
}

static cJSON *ip_set(struct ctl_admin *adm, const cJSON *req)
{
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(req, "ip");
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(req, "available");
	const cJSON *nd = cJSON_GetObjectItemCaseSensitive(req, "node");
	int available = -1;
	uint32_t node = CLUSTER_NODE_NONE;
	char msg[256];
	int rc;

	if (!cJSON_IsString(ip) || ip->valuestring[0] == '\0')
		return ctl_reply_error(WD_EINVAL, "\"ip\" must be an IP address string");
	if (av != NULL) {
		if (!cJSON_IsBool(av))
			return ctl_reply_error(WD_EINVAL, "\"available\" must be a boolean");
		available = cJSON_IsTrue(av) ? 1 : 0;
	}
	if (nd != NULL) {
		if (!cJSON_IsNumber(nd) || !is_whole(nd->valuedouble) || nd->valuedouble < 0 ||
		    nd->valuedouble >= (double)CLUSTER_NODE_NONE)
			return ctl_reply_error(WD_EINVAL, "\"node\" must be a node number");
		node = (uint32_t)nd->valuedouble;
	}
	if (available < 0 && node == CLUSTER_NODE_NONE)
		return ctl_reply_error(WD_EINVAL, "give \"available\" and/or \"node\"");
	rc = cluster_set_ip(adm->cluster, ip->valuestring, available, node);
	if (rc == WD_ENOTSUP) {
		snprintf(msg, sizeof(msg),
		         "the %s cluster backend does not take IP changes from witnessctl "
		         "(only the static backend does)",
		         cluster_backend_name(adm->cluster));
		return ctl_reply_error(rc, msg);
	}
	if (rc == WD_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "%.64s is not one of the cluster's interfaces",
		         ip->valuestring);
		return ctl_reply_error(rc, msg);
	}
	if (rc == WD_EINVAL) {
		snprintf(msg, sizeof(msg), "%.64s is not an IP address", ip->valuestring);
		return ctl_reply_error(rc, msg);
	}
	if (rc != 0)
		return ctl_reply_error(rc, NULL);
	{
		char esc[80];

		wd_log(WD_LOG_NOTICE, "ctl.ip_set", "ip=%s available=%d node=%d",
		       wd_log_escape(ip->valuestring, esc, sizeof(esc)), available,
		       node == CLUSTER_NODE_NONE ? -1 : (int)node);
	}
	return ctl_reply_ok(ip_list(adm));
}

static cJSON *status(struct ctl_admin *adm)
{
	cJSON *res = adm->status != NULL ? adm->status(adm->status_arg) : cJSON_CreateObject();
	char *cs;

	if (res == NULL)
		return NULL;
	if (adm->cluster != NULL) {
		const struct cluster_view *v = cluster_view(adm->cluster);
		size_t avail = 0;

		cJSON_AddStringToObject(res, "backend", cluster_backend_name(adm->cluster));
		for (size_t i = 0; v != NULL && i < v->n; i++)
			avail += v->ips[i].available;
		cJSON_AddNumberToObject(res, "interfaces", v != NULL ? (double)v->n : 0);
		cJSON_AddNumberToObject(res, "interfaces_available", (double)avail);
		cs = cluster_status_json(adm->cluster);
		if (cs != NULL) {
			cJSON *c = cJSON_Parse(cs);

			if (c != NULL)
				cJSON_AddItemToObject(res, "cluster", c);
			free(cs);
		}
	}
	if (adm->wit != NULL) {
		struct wit_stats st;

		wit_service_stats(adm->wit, &st);
		cJSON_AddNumberToObject(res, "registrations", st.registrations);
		cJSON_AddNumberToObject(res, "pending_notifies", st.pending_notifies);
		cJSON_AddNumberToObject(res, "notifications_sent", (double)st.notifications_sent);
		cJSON_AddNumberToObject(res, "registrations_total", (double)st.registrations_total);
	}
	if (adm->server != NULL) {
		struct ctl_server_stats st;
		cJSON *a = cJSON_CreateObject();

		ctl_server_stats(adm->server, &st);
		cJSON_AddNumberToObject(a, "clients", st.clients);
		cJSON_AddNumberToObject(a, "evicted", (double)st.evicted);
		cJSON_AddNumberToObject(a, "idle_timeouts", (double)st.idle_timeouts);
		cJSON_AddNumberToObject(a, "request_timeouts", (double)st.request_timeouts);
		cJSON_AddNumberToObject(a, "write_timeouts", (double)st.write_timeouts);
		cJSON_AddNumberToObject(a, "too_long", (double)st.too_long);
		cJSON_AddNumberToObject(a, "refused", (double)st.refused);
		cJSON_AddItemToObject(res, "admin_socket", a);
	}
	return res;
}

uint32_t ctl_admin_local_node(const struct ctl_admin *adm)
{
	const struct cluster_view *v = adm->cluster ? cluster_view(adm->cluster) : NULL;

	return v != NULL ? v->local_node : 0;
}

/* ---- the `net witness --json` shape (source3/utils/net_witness.c) ---- */

static void add_hex(cJSON *o, const char *k, uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08X", v);
	cJSON_AddStringToObject(o, k, buf);
}

/* One registration: the twelve keys of `net witness list --json`, then "node". */
cJSON *ctl_reg_json(const struct wit_reg_info *r)
{
	cJSON *o = cJSON_CreateObject(), *f, *ch, *sid, *au, *cn;

	if (o == NULL)
		return NULL;
	add_hex(o, "version", r->version);
	cJSON_AddStringToObject(o, "net_name", r->net_name);
	if (r->share_name != NULL)
		cJSON_AddStringToObject(o, "share_name", r->share_name);
	else
		cJSON_AddNullToObject(o, "share_name");
	cJSON_AddStringToObject(o, "ip_address", r->ip_address);
	cJSON_AddStringToObject(o, "client_computer_name", r->client_computer_name);
	f = cJSON_AddObjectToObject(o, "flags");
	if (f != NULL) {
		/* WITNESS_REGISTER_IP_NOTIFICATION, [MS-SWN] 2.2.2.1 */
		cJSON_AddBoolToObject(f, "WITNESS_REGISTER_IP_NOTIFICATION", (r->flags & 1u) != 0);
		cJSON_AddNumberToObject(f, "int", r->flags);
		add_hex(f, "hex", r->flags);
	}
	cJSON_AddNumberToObject(o, "timeout", r->timeout);
	ch = cJSON_AddObjectToObject(o, "context_handle");
	if (ch != NULL) {
		cJSON_AddNumberToObject(ch, "handle_type", r->handle_type);
		cJSON_AddStringToObject(ch, "uuid", r->uuid);
	}
	sid = cJSON_AddObjectToObject(o, "server_id");
	if (sid != NULL) {
		cJSON_AddNumberToObject(sid, "pid", (double)getpid());
		cJSON_AddNumberToObject(sid, "task_id", 0);
		cJSON_AddNumberToObject(sid, "vnn", r->node);
		cJSON_AddNumberToObject(sid, "unique_id", (double)r->unique_id);
	}
	au = cJSON_AddObjectToObject(o, "auth");
	if (au != NULL) {
		cJSON_AddStringToObject(au, "account_name", r->account_name);
		cJSON_AddStringToObject(au, "domain_name", r->domain_name);
		cJSON_AddStringToObject(au, "account_sid", r->account_sid);
	}
	cn = cJSON_AddObjectToObject(o, "connection");
	if (cn != NULL) {
		cJSON_AddStringToObject(cn, "local_address", r->local_address);
		cJSON_AddStringToObject(cn, "remote_address", r->remote_address);
	}
	cJSON_AddStringToObject(o, "registration_time", r->registration_time);
	cJSON_AddNumberToObject(o, "node", r->node);
	return o;
}

/* "filters": the given options under their `net` option names. */
static cJSON *filters_json(const struct wit_filter *f)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (f->registration_uuid)
		cJSON_AddStringToObject(o, "--witness-registration", f->registration_uuid);
	if (f->net_name)
		cJSON_AddStringToObject(o, "--witness-net-name", f->net_name);
	if (f->share_name)
		cJSON_AddStringToObject(o, "--witness-share-name", f->share_name);
	if (f->ip_address)
		cJSON_AddStringToObject(o, "--witness-ip-address", f->ip_address);
	if (f->client_computer_name)
		cJSON_AddStringToObject(o, "--witness-client-computer-name",
		                        f->client_computer_name);
	if (f->apply_to_all)
		cJSON_AddBoolToObject(o, "--witness-apply-to-all", true);
	return o;
}

/* "message": what an update did, as net witness names it. */
static cJSON *message_json(const struct ctl_cmd_desc *d, uint32_t node, const char *ip,
                           const cJSON *forced)
{
	const char *kind = d->id == CTL_CMD_CLIENT_MOVE ? "CLIENT" : "SHARE";
	cJSON *m = cJSON_CreateObject();
	char type[40];

	if (m == NULL)
		return NULL;
	switch (d->id) {
	case CTL_CMD_CLIENT_MOVE:
	case CTL_CMD_SHARE_MOVE:
		if (ip != NULL) {
			snprintf(type, sizeof(type), "%s_MOVE_TO_IPV%c", kind,
			         strchr(ip, ':') != NULL ? '6' : '4');
			cJSON_AddStringToObject(m, "type", type);
			cJSON_AddStringToObject(m, "new_ip", ip);
		} else {
			snprintf(type, sizeof(type), "%s_MOVE_TO_NODE", kind);
			cJSON_AddStringToObject(m, "type", type);
			if (node == WIT_NEW_NODE_ALL)
				cJSON_AddBoolToObject(m, "all_nodes", true);
			else
				cJSON_AddNumberToObject(m, "new_node", node);
		}
		break;
	case CTL_CMD_FORCE_UNREGISTER:
		cJSON_AddStringToObject(m, "type", "FORCE_UNREGISTER");
		break;
	default:
		cJSON_AddStringToObject(m, "type", "FORCE_RESPONSE");
		if (forced != NULL)
			cJSON_AddItemToObject(m, "json", cJSON_Duplicate(forced, true));
		else
			cJSON_AddNullToObject(m, "json");
		break;
	}
	return m;
}

/* {"registrations": {uuid: {...}}} from a result; moved_only: the drain's moves. */
int ctl_regs_json(cJSON *root, const struct wit_admin_result *res, bool moved_only,
                  const struct wit_move_target *targets)
{
	cJSON *regs = cJSON_AddObjectToObject(root, "registrations");

	if (regs == NULL)
		return WD_ENOMEM;
	for (size_t i = 0; i < res->n; i++) {
		const struct wit_reg_info *r = &res->regs[i];
		cJSON *j;

		if (moved_only && r->moved_to < 0)
			continue;
		if ((j = ctl_reg_json(r)) == NULL)
			return WD_ENOMEM;
		if (moved_only) {
			const struct wit_move_target *t = &targets[r->moved_to];
			cJSON *to = cJSON_AddObjectToObject(j, "moved_to");

			if (t->ip != NULL)
				cJSON_AddStringToObject(to, "ip", t->ip);
			else
				cJSON_AddNumberToObject(to, "node", t->node);
		}
		cJSON_AddItemToObject(regs, r->uuid, j);
	}
	return 0;
}

int ctl_admin_run_local(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                        cJSON **out, char *err, size_t errlen)
{
	struct wit_admin_result res;
	struct wit_filter f;
	uint32_t node = WIT_NEW_NODE_UNSET;
	const char *ip = NULL;
	const cJSON *fr = NULL;
	cJSON *root;
	int rc;

	*out = NULL;
	if (adm->wit == NULL) {
		snprintf(err, errlen, "the witness service is not running");
		return WD_ESTATE;
	}
	if ((rc = get_filters(req, &f, err, errlen)) != 0)
		return rc;
	switch (d->id) {
	case CTL_CMD_LIST:
		rc = wit_admin_list(adm->wit, &f, &res, err, errlen);
		break;
	case CTL_CMD_CLIENT_MOVE:
	case CTL_CMD_SHARE_MOVE:
		if ((rc = get_move_target(req, &node, &ip, err, errlen)) != 0)
			return rc;
		rc = d->id == CTL_CMD_CLIENT_MOVE
		         ? wit_admin_client_move(adm->wit, &f, node, ip, &res, err, errlen)
		         : wit_admin_share_move(adm->wit, &f, node, ip, &res, err, errlen);
		break;
	case CTL_CMD_FORCE_UNREGISTER:
		rc = wit_admin_force_unregister(adm->wit, &f, &res, err, errlen);
		break;
	case CTL_CMD_FORCE_RESPONSE: {
		char *text = NULL;

		fr = cJSON_GetObjectItemCaseSensitive(req, "forced_response");
		if (fr != NULL && cJSON_IsNull(fr))
			fr = NULL;
		if (fr != NULL && !cJSON_IsObject(fr)) {
			snprintf(err, errlen, "\"forced_response\" must be an object");
			return WD_EINVAL;
		}
		if (fr != NULL && (text = cJSON_PrintUnformatted(fr)) == NULL)
			return WD_ENOMEM;
		rc = wit_admin_force_response(adm->wit, &f, text, &res, err, errlen);
		cJSON_free(text);
		break;
	}
	default:
		snprintf(err, errlen, "not a registration command");
		return WD_EINVAL;
	}
	if (rc != 0)
		return rc;
	root = cJSON_CreateObject();
	if (root != NULL) {
		cJSON_AddItemToObject(root, "filters", filters_json(&f));
		if (d->flags & CTL_CMD_F_UPDATE)
			cJSON_AddItemToObject(root, "message", message_json(d, node, ip, fr));
	}
	if (root == NULL || ctl_regs_json(root, &res, false, NULL) != 0) {
		cJSON_Delete(root);
		wit_admin_result_free(&res);
		snprintf(err, errlen, "%s", wd_strerror(WD_ENOMEM));
		return WD_ENOMEM;
	}
	if (d->flags & CTL_CMD_F_UPDATE)
		wd_log(WD_LOG_NOTICE, "ctl.update", "cmd=%s matched=%zu", d->name, res.n);
	wit_admin_result_free(&res);
	*out = root;
	return 0;
}

/* ---- one handler per command ---- */

typedef cJSON *(*admin_fn)(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                           ctl_call_t *call);

static cJSON *h_status(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                       ctl_call_t *call)
{
	(void)d, (void)req, (void)call;
	return ctl_reply_ok(status(adm));
}

static cJSON *h_ip_list(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                        ctl_call_t *call)
{
	(void)d, (void)req, (void)call;
	return adm->cluster ? ctl_reply_ok(ip_list(adm))
	                    : ctl_reply_error(WD_ESTATE, "no cluster backend");
}

static cJSON *h_ip_set(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                       ctl_call_t *call)
{
	(void)d, (void)call;
	return adm->cluster ? ip_set(adm, req) : ctl_reply_error(WD_ESTATE, "no cluster backend");
}

static cJSON *h_ip_reset(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                         ctl_call_t *call)
{
	char msg[160];
	int rc;

	(void)d, (void)req, (void)call;
	if (adm->cluster == NULL)
		return ctl_reply_error(WD_ESTATE, "no cluster backend");
	rc = cluster_reset_ips(adm->cluster);
	if (rc == WD_ENOTSUP) {
		snprintf(msg, sizeof(msg),
		         "the %s cluster backend takes no IP changes from witnessctl (only the "
		         "static backend does)",
		         cluster_backend_name(adm->cluster));
		return ctl_reply_error(rc, msg);
	}
	if (rc != 0)
		return ctl_reply_error(rc, "the interfaces are back to the config, but the stored "
		                           "states could not be cleared");
	return ctl_reply_ok(ip_list(adm));
}

/* list and the updates: here, and on the other nodes when there are any. */
static cJSON *h_registrations(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                              ctl_call_t *call)
{
	char err[256] = "";
	cJSON *out = NULL;
	int rc;

	rc = ctl_admin_run_local(adm, d, req, &out, err, sizeof(err));
	if (rc != 0)
		return ctl_reply_error(rc, err);
	return ctl_peer_gather(adm, d, req, out, call);
}

/* {"text": the Prometheus exposition}; witnessctl metrics prints the text as it is. */
static cJSON *h_metrics(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                        ctl_call_t *call)
{
	char *text;
	size_t len;
	cJSON *o;

	(void)adm, (void)d, (void)req, (void)call;
	if (metrics_render(&text, &len) != 0)
		return ctl_reply_error(WD_ENOMEM, "out of memory");
	o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "text", text) == NULL) {
		cJSON_Delete(o);
		free(text);
		return ctl_reply_error(WD_ENOMEM, "out of memory");
	}
	free(text);
	return ctl_reply_ok(o);
}

static const admin_fn admin_handlers[CTL_CMD_COUNT] = {
    [CTL_CMD_STATUS] = h_status,
    [CTL_CMD_IP_LIST] = h_ip_list,
    [CTL_CMD_IP_SET] = h_ip_set,
    [CTL_CMD_LIST] = h_registrations,
    [CTL_CMD_CLIENT_MOVE] = h_registrations,
    [CTL_CMD_SHARE_MOVE] = h_registrations,
    [CTL_CMD_FORCE_UNREGISTER] = h_registrations,
    [CTL_CMD_FORCE_RESPONSE] = h_registrations,
    [CTL_CMD_DRAIN] = ctl_peer_drain,
    [CTL_CMD_PEERS] = ctl_peer_peers,
    [CTL_CMD_IP_RESET] = h_ip_reset,
    [CTL_CMD_METRICS] = h_metrics,
};

cJSON *ctl_admin_handle(void *arg, const cJSON *req, ctl_call_t *call)
{
	struct ctl_admin *adm = arg;
	const char *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;
	const struct ctl_cmd_desc *d = ctl_cmd_find(cmd);

	if (d == NULL || admin_handlers[d->id] == NULL) {
		char esc[64], msg[160];

		snprintf(msg, sizeof(msg), "unknown command \"%s\"",
		         wd_log_escape(cmd, esc, sizeof(esc)));
		return ctl_reply_error(WD_EINVAL, msg);
	}
	return admin_handlers[d->id](adm, d, req, call);
}
