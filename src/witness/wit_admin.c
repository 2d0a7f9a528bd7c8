/*
 * wit_admin.c - the `net witness` admin operations (list, client-move,
 * share-move, force-unregister, force-response) and drain over the live
 * registrations, with the filters of `net witness` (Samba,
 * source3/utils/net_witness.c). They report what matched and what they did
 * (struct wit_admin_result); src/ctl turns that into JSON.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "witness/err.h"
#include "witness/log.h"
#include "wit_priv.h"

struct collect {
	const struct wit_filter_c *fc; /* NULL: the drain's IP match */
	const int *family;
	const uint8_t (*bytes)[16];
	size_t n_ips;
	struct wit_reg **regs;
	size_t n, cap;
	int err;
};

static bool ip_match(const struct collect *c, const struct wit_reg *r)
{
	for (size_t i = 0; i < c->n_ips; i++) {
		if (wit_reg_ip_is(r, c->family[i], c->bytes[i]))
			return true;
	}
	return false;
}

static void collect_cb(void *arg, struct wit_reg *r)
{
	struct collect *c = arg;

	if (c->err != 0)
		return;
	if (c->fc != NULL ? !wit_reg_match(r, c->fc) : (!wit_reg_alive(r) || !ip_match(c, r)))
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

void wit_admin_result_free(struct wit_admin_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->refs != NULL && i < r->n; i++)
		wit_reg_unref(r->refs[i]);
	free(r->refs);
	free(r->regs);
	memset(r, 0, sizeof(*r));
}

/* The collected registrations become the result (their references with them). */
static int result_of(wit_service_t *ws, struct collect *c, struct wit_admin_result *out)
{
	memset(out, 0, sizeof(*out));
	out->regs = calloc(c->n ? c->n : 1, sizeof(*out->regs));
	if (out->regs == NULL) {
		for (size_t i = 0; i < c->n; i++)
			wit_reg_unref(c->regs[i]);
		free(c->regs);
		memset(c, 0, sizeof(*c));
		return WD_ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		wit_reg_describe(ws, c->regs[i], &out->regs[i]);
		out->regs[i].moved_to = -1;
	}
	out->n = c->n;
	out->refs = c->regs;
	memset(c, 0, sizeof(*c));
	return 0;
}

/*
 * Common frame: check the update rules, compile the filters, collect the
 * matches (referenced, so actions may destroy them safely) into *out.
 */
static int admin_run(wit_service_t *ws, const struct wit_filter *f, bool update,
                     struct wit_admin_result *out, char *err, size_t errlen)
{
	struct collect c = {0};
	struct wit_filter_c fc;
	int rc;
	bool given = f->registration_uuid || f->net_name || f->share_name || f->ip_address ||
	             f->client_computer_name;

	memset(out, 0, sizeof(*out));
	if (update && !given && !f->apply_to_all) {
		snprintf(err, errlen, "--witness-apply-to-all or a filter is required");
		return WD_EINVAL;
	}
	if (update && given && f->apply_to_all) {
		snprintf(err, errlen, "--witness-apply-to-all cannot be combined with filters");
		return WD_EINVAL;
	}
	rc = wit_filter_compile(f, &fc, err, errlen);
	if (rc != 0)
		return rc;
	c.fc = &fc;
	wit_foreach_reg(ws, collect_cb, &c);
	wit_filter_free(&fc);
	rc = c.err;
	if (rc == 0)
		rc = result_of(ws, &c, out);
	if (rc != 0) {
		for (size_t i = 0; i < c.n; i++)
			wit_reg_unref(c.regs[i]);
		free(c.regs);
		snprintf(err, errlen, "%s", wd_strerror(rc));
	}
	return rc;
}

int wit_admin_list(wit_service_t *ws, const struct wit_filter *f, struct wit_admin_result *out,
                   char *err, size_t errlen)
{
	return admin_run(ws, f, false, out, err, errlen);
}

/* IPADDR_INFO for one interface, ONLINE when it is available on a node (as srv_witness_nt.c). */
static void ipaddr_of(const struct cluster_ip *ip, struct witness_ipaddr_info *a)
{
	wit_ipaddr_info(ip, ip->available && ip->node != CLUSTER_NODE_NONE, a);
}

static int move_common(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                       const char *new_ip, uint32_t type, struct wit_admin_result *out, char *err,
                       size_t errlen)
{
	const struct cluster_view *v = wit_service_view(ws);
	struct witness_ipaddr_info *addrs;
	uint32_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((new_ip == NULL) == (new_node == WIT_NEW_NODE_UNSET)) {
		snprintf(err, errlen, "exactly one of --witness-new-node and --witness-new-ip");
		return WD_EINVAL;
	}
	addrs = calloc(v->n > 0 ? v->n : 1, sizeof(*addrs));
	if (addrs == NULL)
		return WD_ENOMEM;
	if (new_ip != NULL) {
		const struct cluster_ip *ip = cluster_view_find(v, new_ip);
		uint8_t tmp[16];

		if (inet_pton(strchr(new_ip, ':') != NULL ? AF_INET6 : AF_INET, new_ip, tmp) != 1) {
			snprintf(err, errlen, "invalid --witness-new-ip");
			free(addrs);
			return WD_EINVAL;
		}
		/* new_ip: only the interface equal to that IP (Samba). */
		if (ip != NULL)
			ipaddr_of(ip, &addrs[n++]);
	} else {
		/* new_node N: every interface hosted on N; ALL (-1): every interface. */
		for (size_t i = 0; i < v->n; i++) {
			if (new_node == WIT_NEW_NODE_ALL || v->ips[i].node == new_node)
				ipaddr_of(&v->ips[i], &addrs[n++]);
		}
	}
	rc = admin_run(ws, f, true, out, err, errlen);
	if (rc != 0) {
		free(addrs);
		return rc;
	}
	/* No matching interface: the notification is silently dropped (Samba). */
	for (size_t i = 0; n > 0 && i < out->n; i++) {
		struct wit_reg *r = out->refs[i];

		/* SHARE_MOVE only for registrations with a share name (Samba). */
		if (!wit_reg_alive(r) ||
		    (type == WITNESS_NOTIFY_SHARE_MOVE && !wit_reg_has_share(r)))
			continue;
		if (wit_reg_queue_move(r, type, addrs, n) != 0)
			rc = WD_ENOMEM;
	}
	out->n_addrs = n;
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=%s matched=%zu addrs=%u",
	       type == WITNESS_NOTIFY_CLIENT_MOVE ? "CLIENT_MOVE" : "SHARE_MOVE", out->n, n);
	free(addrs);
	if (rc != 0) {
		snprintf(err, errlen, "%s", wd_strerror(rc));
		wit_admin_result_free(out);
	}
	return rc;
}

int wit_admin_client_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                          const char *new_ip, struct wit_admin_result *out, char *err,
                          size_t errlen)
{
	return move_common(ws, f, new_node, new_ip, WITNESS_NOTIFY_CLIENT_MOVE, out, err, errlen);
}

int wit_admin_share_move(wit_service_t *ws, const struct wit_filter *f, uint32_t new_node,
                         const char *new_ip, struct wit_admin_result *out, char *err, size_t errlen)
{
	return move_common(ws, f, new_node, new_ip, WITNESS_NOTIFY_SHARE_MOVE, out, err, errlen);
}

int wit_admin_force_unregister(wit_service_t *ws, const struct wit_filter *f,
                               struct wit_admin_result *out, char *err, size_t errlen)
{
	int rc = admin_run(ws, f, true, out, err, errlen);

	if (rc != 0)
		return rc;
	/* Pending AsyncNotify -> NOT_FOUND, later UnRegister -> NOT_FOUND (Samba tests). */
	for (size_t i = 0; i < out->n; i++) {
		if (wit_reg_alive(out->refs[i]))
			wit_reg_force_unregister(out->refs[i]);
	}
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=FORCE_UNREGISTER matched=%zu", out->n);
	return 0;
}

int wit_admin_force_response(wit_service_t *ws, const struct wit_filter *f, const char *forced_json,
                             struct wit_admin_result *out, char *err, size_t errlen)
{
	struct witness_notify_response resp;
	bool has_resp = false;
	uint32_t result = 0;
	cJSON *forced = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (forced_json != NULL && (forced = cJSON_Parse(forced_json)) == NULL) {
		snprintf(err, errlen, "forced response: not JSON");
		return WD_EINVAL;
	}
	rc = wit_forced_response_parse(forced, &resp, &has_resp, &result, err, errlen);
	cJSON_Delete(forced);
	if (rc != 0)
		return rc;
	rc = admin_run(ws, f, true, out, err, errlen);
	if (rc != 0) {
		witness_notify_response_free(&resp);
		return rc;
	}
	for (size_t i = 0; i < out->n; i++) {
		if (wit_reg_alive(out->refs[i]) &&
		    wit_reg_queue_forced(out->refs[i], &resp, has_resp, result) != 0)
			rc = WD_ENOMEM;
	}
	wd_log(WD_LOG_NOTICE, "witness.admin", "op=FORCE_RESPONSE matched=%zu result=0x%x", out->n,
	       result);
	witness_notify_response_free(&resp);
	if (rc != 0) {
		snprintf(err, errlen, "%s", wd_strerror(rc));
		wit_admin_result_free(out);
	}
	return rc;
}

static int reg_uuid_cmp(const void *a, const void *b)
{
	char ua[WD_GUID_STRLEN], ub[WD_GUID_STRLEN];

	return strcmp(wit_reg_uuid(*(struct wit_reg *const *)a, ua),
	              wit_reg_uuid(*(struct wit_reg *const *)b, ub));
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
                    bool count_only, struct wit_admin_result *out, char *err, size_t errlen)
{
	const struct cluster_view *v = wit_service_view(ws);
	struct collect c = {0};
	int *family = NULL;
	uint8_t(*bytes)[16] = NULL;
	struct witness_ipaddr_info *addrs = NULL;
	int rc = WD_ENOMEM;

	memset(out, 0, sizeof(*out));
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
	wit_foreach_reg(ws, collect_cb, &c);
	if ((rc = c.err) != 0) {
		for (size_t i = 0; i < c.n; i++)
			wit_reg_unref(c.regs[i]);
		free(c.regs);
		goto out;
	}
	if (c.n > 1)
		qsort(c.regs, c.n, sizeof(*c.regs), reg_uuid_cmp);
	if ((rc = result_of(ws, &c, out)) != 0)
		goto out;
	for (size_t i = 0; !count_only && i < out->n; i++) {
		size_t ti = (offset + i) % n_targets;
		uint32_t n = target_addrs(v, &targets[ti], addrs);

		/* No interface on the target: nothing to send (as client-move). */
		if (n == 0 ||
		    wit_reg_queue_move(out->refs[i], WITNESS_NOTIFY_CLIENT_MOVE, addrs, n) != 0)
			continue;
		out->regs[i].moved_to = (int)ti;
		out->n_moved++;
	}
	if (!count_only)
		wd_log(WD_LOG_NOTICE, "witness.admin", "op=DRAIN matched=%zu moved=%zu targets=%zu",
		       out->n, out->n_moved, n_targets);
	rc = 0;
out:
	if (rc == WD_ENOMEM)
		snprintf(err, errlen, "%s", wd_strerror(rc));
	free(family);
	free(bytes);
	free(addrs);
	return rc;
}
