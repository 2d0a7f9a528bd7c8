/*
 * wit_admin.c - the `net witness` admin operations (list, client-move,
 * share-move, force-unregister, force-response) over the live registrations,
 * with the same filters and the same JSON shape as `net witness --json`
 * (notes swn.md 3.9, 3.10): {"filters", "message", "registrations"}.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "wit_priv.h"

struct collect {
	const struct wit_filter_c *fc;
	struct wit_reg **regs;
	size_t n, cap;
	int err;
};

static void collect_cb(void *arg, struct wit_reg *r)
{
	struct collect *c = arg;

	if (c->err != 0 || !wit_reg_match(r, c->fc))
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 32;
		struct wit_reg **a = realloc(c->regs, nc * sizeof(*a));

		if (a == NULL) {
			c->err = WD_ENOMEM;
			return;
		}
		c->regs = a;
		c->cap = nc;
	}
	wit_reg_ref(r);
	c->regs[c->n++] = r;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		wit_reg_unref(c->regs[i]);
	free(c->regs);
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

/*
 * Common frame: compile filters, check the update rules, collect matches
 * (referenced, so actions may destroy them safely), build the JSON.
 */
static int admin_run(wit_service_t *ws, const struct wit_filter *f, bool update, cJSON *message,
                     struct collect *c, struct wit_filter_c *fc, cJSON **out, char *err,
                     size_t errlen)
{
	cJSON *root = NULL, *regs;
	int rc;
	bool given = f->registration_uuid || f->net_name || f->share_name || f->ip_address ||
	             f->client_computer_name;

	*out = NULL;
	memset(c, 0, sizeof(*c));
	if (update && !given && !f->apply_to_all) {
		snprintf(err, errlen, "--witness-apply-to-all or a filter is required");
		cJSON_Delete(message);
		return WD_EINVAL;
	}
	if (update && given && f->apply_to_all) {
		snprintf(err, errlen, "--witness-apply-to-all cannot be combined with filters");
		cJSON_Delete(message);
		return WD_EINVAL;
	}
	rc = wit_filter_compile(f, fc, err, errlen);
	if (rc != 0) {
		cJSON_Delete(message);
		return rc;
	}
	c->fc = fc;
	wit_foreach_reg(ws, collect_cb, c);
	if (c->err != 0) {
		rc = c->err;
		goto fail;
	}
	root = cJSON_CreateObject();
	if (root == NULL) {
		rc = WD_ENOMEM;
		goto fail;
	}
	cJSON_AddItemToObject(root, "filters", filters_json(f));
	if (message != NULL) {
		cJSON_AddItemToObject(root, "message", message);
		message = NULL;
	}
	regs = cJSON_AddObjectToObject(root, "registrations");
	if (regs == NULL) {
		rc = WD_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < c->n; i++) {
		cJSON *j = wit_reg_json(ws, c->regs[i]);

		if (j == NULL) {
			rc = WD_ENOMEM;
			goto fail;
		}
		cJSON_AddItemToObject(regs, wit_reg_uuid(c->regs[i]), j);
	}
	*out = root;
	return 0;
fail:
	snprintf(err, errlen, "%s", wd_strerror(rc));
	cJSON_Delete(root);
	cJSON_Delete(message);
	collect_free(c);
	wit_filter_free(fc);
	memset(c, 0, sizeof(*c));
	return rc;
}

int wit_admin_list(wit_service_t *ws, const struct wit_filter *f, cJSON **out, char *err,
                   size_t errlen)
{
	struct collect c;
	struct wit_filter_c fc;
	int rc = admin_run(ws, f, false, NULL, &c, &fc, out, err, errlen);

	if (rc != 0)
		return rc;
	collect_free(&c);
	wit_filter_free(&fc);
	return 0;
}

/* IPADDR_INFO for one interface: V4/V6 | ONLINE or OFFLINE (notes swn.md 3.6). */
static void ipaddr_of(const struct cluster_ip *ip, struct witness_ipaddr_info *a)
{
	bool up = ip->available && ip->node != CLUSTER_NODE_NONE;

	memset(a, 0, sizeof(*a));
	if (ip->family == AF_INET) {
		a->flags = WITNESS_IPADDR_V4;
		memcpy(a->ipv4, ip->bytes, 4);
	} else {
		a->flags = WITNESS_IPADDR_V6;
		memcpy(a->ipv6, ip->bytes, 16);
	}
	a->flags |= up ? WITNESS_IPADDR_ONLINE : WITNESS_IPADDR_OFFLINE;
}

static int move_common(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                       const char *new_ip, uint32_t type, cJSON **out, char *err, size_t errlen)
{
	const struct cluster_view *v = wit_service_view(ws);
	const char *kind = type == WITNESS_NOTIFY_CLIENT_MOVE ? "CLIENT" : "SHARE";
	struct witness_ipaddr_info *addrs = NULL;
	uint32_t n = 0;
	struct collect c;
	struct wit_filter_c fc;
	cJSON *msg;
	char tname[40];
	int rc;

	if ((new_ip == NULL) == (new_node == WIT_NEW_NODE_UNSET)) {
		snprintf(err, errlen, "exactly one of --witness-new-node and --witness-new-ip");
		return WD_EINVAL;
	}
	addrs = calloc(v->n > 0 ? v->n : 1, sizeof(*addrs));
	if (addrs == NULL)
		return WD_ENOMEM;
	msg = cJSON_CreateObject();
	if (msg == NULL) {
		free(addrs);
		return WD_ENOMEM;
	}
	if (new_ip != NULL) {
		const struct cluster_ip *ip = cluster_view_find(v, new_ip);
		uint8_t tmp[16];
		bool v6 = strchr(new_ip, ':') != NULL;

		if (inet_pton(v6 ? AF_INET6 : AF_INET, new_ip, tmp) != 1) {
			snprintf(err, errlen, "invalid --witness-new-ip");
			free(addrs);
			cJSON_Delete(msg);
			return WD_EINVAL;
		}
		snprintf(tname, sizeof(tname), "%s_MOVE_TO_IPV%c", kind, v6 ? '6' : '4');
		cJSON_AddStringToObject(msg, "type", tname);
		cJSON_AddStringToObject(msg, "new_ip", new_ip);
		/* new_ip: only the interface equal to that IP (Samba). */
		if (ip != NULL)
			ipaddr_of(ip, &addrs[n++]);
	} else {
		snprintf(tname, sizeof(tname), "%s_MOVE_TO_NODE", kind);
		cJSON_AddStringToObject(msg, "type", tname);
		if (new_node == WIT_NEW_NODE_ALL)
			cJSON_AddBoolToObject(msg, "all_nodes", true);
		else
			cJSON_AddNumberToObject(msg, "new_node", new_node);
		/* new_node N: every interface hosted on N; ALL (-1): every interface. */
		for (size_t i = 0; i < v->n; i++) {
			if (new_node == WIT_NEW_NODE_ALL || v->ips[i].node == new_node)
				ipaddr_of(&v->ips[i], &addrs[n++]);
		}
	}
	rc = admin_run(ws, f, true, msg, &c, &fc, out, err, errlen);
	if (rc != 0) {
		free(addrs);
		return rc;
	}
	/* No matching interface: the notification is silently dropped (Samba). */
	for (size_t i = 0; n > 0 && i < c.n; i++) {
		struct wit_reg *r = c.regs[i];

		/* SHARE_MOVE only for registrations with a share name (Samba). */
		if (!wit_reg_alive(r) ||
		    (type == WITNESS_NOTIFY_SHARE_MOVE && !wit_reg_has_share(r)))
			continue;
		if (wit_reg_queue_move(r, type, addrs, n) != 0)
			rc = WD_ENOMEM;
	}
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=%s matched=%zu addrs=%u", tname, c.n, n);
	collect_free(&c);
	wit_filter_free(&fc);
	free(addrs);
	if (rc != 0) {
		snprintf(err, errlen, "%s", wd_strerror(rc));
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

int wit_admin_client_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                          const char *new_ip, cJSON **out, char *err, size_t errlen)
{
	return move_common(ws, f, new_node, new_ip, WITNESS_NOTIFY_CLIENT_MOVE, out, err, errlen);
}

int wit_admin_share_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                         const char *new_ip, cJSON **out, char *err, size_t errlen)
{
	return move_common(ws, f, new_node, new_ip, WITNESS_NOTIFY_SHARE_MOVE, out, err, errlen);
}

int wit_admin_force_unregister(wit_service_t *ws, const struct wit_filter *f, cJSON **out,
                               char *err, size_t errlen)
{
	struct collect c;
	struct wit_filter_c fc;
	cJSON *msg = cJSON_CreateObject();
	int rc;

	if (msg == NULL)
		return WD_ENOMEM;
	cJSON_AddStringToObject(msg, "type", "FORCE_UNREGISTER");
	rc = admin_run(ws, f, true, msg, &c, &fc, out, err, errlen);
	if (rc != 0)
		return rc;
	/* Pending AsyncNotify -> NOT_FOUND, later UnRegister -> NOT_FOUND (Samba tests). */
	for (size_t i = 0; i < c.n; i++) {
		if (wit_reg_alive(c.regs[i]))
			wit_reg_force_unregister(c.regs[i]);
	}
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=FORCE_UNREGISTER matched=%zu", c.n);
	collect_free(&c);
	wit_filter_free(&fc);
	return 0;
}

int wit_admin_force_response(wit_service_t *ws, const struct wit_filter *f, const cJSON *forced,
                             cJSON **out, char *err, size_t errlen)
{
	struct witness_notify_response resp;
	bool has_resp = false;
	uint32_t result = 0;
	struct collect c;
	struct wit_filter_c fc;
	cJSON *msg;
	int rc;

	rc = wit_forced_response_parse(forced, &resp, &has_resp, &result, err, errlen);
	if (rc != 0)
		return rc;
	msg = cJSON_CreateObject();
	if (msg == NULL) {
		witness_notify_response_free(&resp);
		return WD_ENOMEM;
	}
	cJSON_AddStringToObject(msg, "type", "FORCE_RESPONSE");
	if (forced != NULL)
		cJSON_AddItemToObject(msg, "json", cJSON_Duplicate(forced, true));
	else
		cJSON_AddNullToObject(msg, "json");
	rc = admin_run(ws, f, true, msg, &c, &fc, out, err, errlen);
	if (rc != 0) {
		witness_notify_response_free(&resp);
		return rc;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (wit_reg_alive(c.regs[i]) &&
		    wit_reg_queue_forced(c.regs[i], &resp, has_resp, result) != 0)
			rc = WD_ENOMEM;
	}
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=FORCE_RESPONSE matched=%zu result=0x%x", c.n,
	       result);
	witness_notify_response_free(&resp);
	collect_free(&c);
	wit_filter_free(&fc);
	if (rc != 0) {
		snprintf(err, errlen, "%s", wd_strerror(rc));
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

struct drain_collect {
	const int *family;
	const uint8_t (*bytes)[16];
	size_t n_ips;
	struct wit_reg **regs;
	size_t n, cap;
	int err;
};

static void drain_cb(void *arg, struct wit_reg *r)
{
	struct drain_collect *c = arg;
	size_t i;

	if (c->err != 0 || !wit_reg_alive(r))
		return;
	for (i = 0; i < c->n_ips; i++) {
		if (wit_reg_ip_is(r, c->family[i], c->bytes[i]))
			break;
	}
	if (i == c->n_ips)
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 32;
		struct wit_reg **a = realloc(c->regs, nc * sizeof(*a));

		if (a == NULL) {
			c->err = WD_ENOMEM;
			return;
		}
		c->regs = a;
		c->cap = nc;
	}
	wit_reg_ref(r);
	c->regs[c->n++] = r;
}

static int reg_uuid_cmp(const void *a, const void *b)
{
	return strcmp(wit_reg_uuid(*(struct wit_reg *const *)a),
	              wit_reg_uuid(*(struct wit_reg *const *)b));
}

/* The addresses of one drain target (as client-move --new-node / --new-ip). */
static uint32_t target_addrs(const struct cluster_view *v, const struct wit_move_target *t,
                             struct witness_ipaddr_info *addrs)
{
	uint32_t n = 0;

	if (t->ip != NULL) {
		const struct cluster_ip *ip = cluster_view_find(v, t->ip);

		if (ip != NULL)
			ipaddr_of(ip, &addrs[n++]);
		return n;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (v->ips[i].node == t->node)
			ipaddr_of(&v->ips[i], &addrs[n++]);
	}
	return n;
}

int wit_admin_drain(wit_service_t *ws, const char *const *ips, size_t n_ips,
                    const struct wit_move_target *targets, size_t n_targets, size_t offset,
                    bool count_only, cJSON **out, char *err, size_t errlen)
{
	const struct cluster_view *v = wit_service_view(ws);
	struct drain_collect c = {0};
	int *family = NULL;
	uint8_t(*bytes)[16] = NULL;
	struct witness_ipaddr_info *addrs = NULL;
	cJSON *root = NULL, *regs;
	size_t moved = 0;
	int rc = WD_ENOMEM;

	*out = NULL;
	if (n_ips == 0 || (!count_only && n_targets == 0)) {
		snprintf(err, errlen, "drain: no IP address or no target");
		return WD_EINVAL;
	}
	family = calloc(n_ips, sizeof(*family));
	bytes = calloc(n_ips, sizeof(*bytes));
	addrs = calloc(v->n > 0 ? v->n : 1, sizeof(*addrs));
	if (family == NULL || bytes == NULL || addrs == NULL)
		goto out;
	for (size_t i = 0; i < n_ips; i++) {
		if (inet_pton(AF_INET, ips[i], bytes[i]) == 1) {
			family[i] = AF_INET;
		} else if (inet_pton(AF_INET6, ips[i], bytes[i]) == 1) {
			family[i] = AF_INET6;
		} else {
			snprintf(err, errlen, "drain: not an IP address: %.64s", ips[i]);
			rc = WD_EINVAL;
			goto out;
		}
	}
	c.family = family;
	c.bytes = (const uint8_t(*)[16])bytes;
	c.n_ips = n_ips;
	wit_foreach_reg(ws, drain_cb, &c);
	if ((rc = c.err) != 0)
		goto out;
	rc = WD_ENOMEM;
	if (c.n > 1)
		qsort(c.regs, c.n, sizeof(*c.regs), reg_uuid_cmp);
	root = cJSON_CreateObject();
	if (root == NULL)
		goto out;
	cJSON_AddNumberToObject(root, "count", (double)c.n);
	regs = cJSON_AddObjectToObject(root, "registrations");
	if (regs == NULL)
		goto out;
	for (size_t i = 0; !count_only && i < c.n; i++) {
		const struct wit_move_target *t = &targets[(offset + i) % n_targets];
		uint32_t n = target_addrs(v, t, addrs);
		cJSON *j, *to;

		/* No interface on the target: nothing to send (as client-move). */
		if (n == 0 ||
		    wit_reg_queue_move(c.regs[i], WITNESS_NOTIFY_CLIENT_MOVE, addrs, n) != 0)
			continue;
		moved++;
		j = wit_reg_json(ws, c.regs[i]);
		if (j == NULL)
			goto out;
		to = cJSON_AddObjectToObject(j, "moved_to");
		if (t->ip != NULL)
			cJSON_AddStringToObject(to, "ip", t->ip);
		else
			cJSON_AddNumberToObject(to, "node", t->node);
		cJSON_AddItemToObject(regs, wit_reg_uuid(c.regs[i]), j);
	}
	if (!count_only)
		wd_log(WD_LOG_NOTICE, "witness.admin", "op=DRAIN matched=%zu moved=%zu targets=%zu",
		       c.n, moved, n_targets);
	*out = root;
	root = NULL;
	rc = 0;
out:
	if (rc == WD_ENOMEM)
		snprintf(err, errlen, "%s", wd_strerror(rc));
	cJSON_Delete(root);
	for (size_t i = 0; i < c.n; i++)
		wit_reg_unref(c.regs[i]);
	free(c.regs);
	free(family);
	free(bytes);
	free(addrs);
	return rc;
}
