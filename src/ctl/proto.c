/*
 * proto.c - the pure half of the admin protocol (include/witness/ctl.h):
 * request validation, reply construction and `net witness` text output.
 */
#include <stdio.h>
#include <string.h>

#include "witness/ctl.h"
#include "witness/err.h"

static const struct {
	int code;
	const char *name;
} err_names[] = {
    {WD_OK, "WD_OK"},
    {WD_ENOMEM, "WD_ENOMEM"},
    {WD_EINVAL, "WD_EINVAL"},
    {WD_ESHORT, "WD_ESHORT"},
    {WD_ERANGE, "WD_ERANGE"},
    {WD_EPROTO, "WD_EPROTO"},
    {WD_ENOTFOUND, "WD_ENOTFOUND"},
    {WD_EEXIST, "WD_EEXIST"},
    {WD_EAGAIN, "WD_EAGAIN"},
    {WD_EACCES, "WD_EACCES"},
    {WD_EAUTH, "WD_EAUTH"},
    {WD_ESIG, "WD_ESIG"},
    {WD_EIO, "WD_EIO"},
    {WD_ELIMIT, "WD_ELIMIT"},
    {WD_ESTATE, "WD_ESTATE"},
    {WD_ENOTSUP, "WD_ENOTSUP"},
    {WD_ECONFIG, "WD_ECONFIG"},
    {WD_ETIMEDOUT, "WD_ETIMEDOUT"},
    {WD_ECANCELED, "WD_ECANCELED"},
    {WD_EVERSION, "WD_EVERSION"},
};

const char *ctl_err_name(int code)
{
	for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++) {
		if (err_names[i].code == code)
			return err_names[i].name;
	}
	return "WD_E?";
}

static const struct ctl_cmd_desc cmd_table[CTL_CMD_COUNT] = {
    [CTL_CMD_STATUS] = {CTL_CMD_STATUS, "status", 0},
    [CTL_CMD_IP_LIST] = {CTL_CMD_IP_LIST, "ip-list", 0},
    [CTL_CMD_IP_SET] = {CTL_CMD_IP_SET, "ip-set", 0},
    [CTL_CMD_LIST] = {CTL_CMD_LIST, "list", CTL_CMD_F_SELECTORS | CTL_CMD_F_CLUSTER},
    [CTL_CMD_CLIENT_MOVE] = {CTL_CMD_CLIENT_MOVE, "client-move",
                             CTL_CMD_F_SELECTORS | CTL_CMD_F_UPDATE | CTL_CMD_F_MOVE |
                                 CTL_CMD_F_CLUSTER},
    [CTL_CMD_SHARE_MOVE] = {CTL_CMD_SHARE_MOVE, "share-move",
                            CTL_CMD_F_SELECTORS | CTL_CMD_F_UPDATE | CTL_CMD_F_MOVE |
                                CTL_CMD_F_CLUSTER},
    [CTL_CMD_FORCE_UNREGISTER] = {CTL_CMD_FORCE_UNREGISTER, "force-unregister",
                                  CTL_CMD_F_SELECTORS | CTL_CMD_F_UPDATE | CTL_CMD_F_CLUSTER},
    [CTL_CMD_FORCE_RESPONSE] = {CTL_CMD_FORCE_RESPONSE, "force-response",
                                CTL_CMD_F_SELECTORS | CTL_CMD_F_UPDATE | CTL_CMD_F_CLUSTER},
    [CTL_CMD_DRAIN] = {CTL_CMD_DRAIN, "drain", CTL_CMD_F_UPDATE | CTL_CMD_F_CLUSTER},
    [CTL_CMD_PEERS] = {CTL_CMD_PEERS, "peers", CTL_CMD_F_CLUSTER},
    [CTL_CMD_IP_RESET] = {CTL_CMD_IP_RESET, "ip-reset", 0},
    [CTL_CMD_METRICS] = {CTL_CMD_METRICS, "metrics", 0},
};

const struct ctl_cmd_desc *ctl_cmd_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < CTL_CMD_COUNT; i++) {
		if (cmd_table[i].name != NULL && strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	}
	return NULL;
}

const struct ctl_cmd_desc *ctl_cmd_get(enum ctl_cmd id)
{
	return (unsigned)id < CTL_CMD_COUNT ? &cmd_table[id] : NULL;
}

int ctl_exit_for_error(int code)
{
	switch (code) {
	case 0:
		return CTL_EXIT_OK;
	case WD_ENOTFOUND:
		return CTL_EXIT_NOMATCH;
	case WD_EINVAL:
	case WD_ERANGE:
	case WD_ECONFIG:
		return CTL_EXIT_USAGE;
	default:
		return CTL_EXIT_UNREACHABLE;
	}
}

int ctl_err_code(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(err_names) / sizeof(err_names[0]); i++) {
		if (strcmp(err_names[i].name, name) == 0)
			return err_names[i].code;
	}
	return WD_EIO;
}

int ctl_request_parse(const char *line, size_t len, cJSON **out, char *err, size_t errlen)
{
	cJSON *req;
	const cJSON *cmd;
	const char *end = NULL;

	*out = NULL;
	if (len > CTL_MAX_REQUEST) {
		snprintf(err, errlen, "request longer than %u bytes", CTL_MAX_REQUEST);
		return WD_ERANGE;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty request");
		return WD_EINVAL;
	}
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in request");
		return WD_EINVAL;
	}
	req = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (req == NULL) {
		snprintf(err, errlen, "malformed JSON near byte %zu",
		         end != NULL && end >= line ? (size_t)(end - line) : (size_t)0);
		return WD_EINVAL;
	}
	/* Trailing garbage after the object ("{} x") is an error, white space is not. */
	if (end != NULL) {
		while (end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
			end++;
		if (end < line + len) {
			cJSON_Delete(req);
			snprintf(err, errlen, "trailing data after the JSON object");
			return WD_EINVAL;
		}
	}
	if (!cJSON_IsObject(req)) {
		cJSON_Delete(req);
		snprintf(err, errlen, "request is not a JSON object");
		return WD_EINVAL;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	if (!cJSON_IsString(cmd) || cmd->valuestring == NULL || cmd->valuestring[0] == '\0') {
		cJSON_Delete(req);
		snprintf(err, errlen, "request has no string \"cmd\"");
		return WD_EINVAL;
	}
	*out = req;
	return 0;
}

cJSON *ctl_reply_ok(cJSON *result)
{
	cJSON *r = cJSON_CreateObject();

	if (r == NULL) {
		cJSON_Delete(result);
		return NULL;
	}
	cJSON_AddBoolToObject(r, "ok", 1);
	if (result != NULL)
		cJSON_AddItemToObject(r, "result", result);
	else
		cJSON_AddNullToObject(r, "result");
	return r;
}

cJSON *ctl_reply_error(int code, const char *msg)
{
	cJSON *r = cJSON_CreateObject();

	if (r == NULL)
		return NULL;
	cJSON_AddBoolToObject(r, "ok", 0);
	cJSON_AddStringToObject(r, "error", msg != NULL && msg[0] ? msg : wd_strerror(code));
	cJSON_AddStringToObject(r, "code", ctl_err_name(code));
	return r;
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring != NULL ? v->valuestring : dflt;
}

/* The headline net witness prints before an update (source3/utils/net_witness.c). */
static void print_headline(FILE *f, const cJSON *msg)
{
	const char *type = str_or(msg, "type", NULL);
	const cJSON *v;

	if (type == NULL)
		return;
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "all_nodes")) != NULL && cJSON_IsTrue(v)) {
		fprintf(f, "%s: ALL\n", type);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(msg, "new_node")) != NULL &&
	           cJSON_IsNumber(v)) {
		fprintf(f, "%s: %.0f\n", type, v->valuedouble);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(msg, "new_ip")) != NULL &&
	           cJSON_IsString(v)) {
		fprintf(f, "%s: %s\n", type, v->valuestring);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(msg, "json")) != NULL) {
		char *s = cJSON_PrintUnformatted(v);

		fprintf(f, "%s: %s\n", type, s != NULL ? s : "");
		cJSON_free(s);
	} else {
		fprintf(f, "%s:\n", type);
	}
}

void ctl_print_registrations(FILE *f, const cJSON *res)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(res, "message");
	const cJSON *regs = cJSON_GetObjectItemCaseSensitive(res, "registrations");
	const cJSON *rg;

	if (cJSON_IsObject(msg))
		print_headline(f, msg);
	fprintf(f, "%-36s %-4s %-20s %-15s %-20s %s\n", "Registration-UUID:", "Node", "NetName",
	        "ShareName", "IpAddress", "ClientComputerName");
	fprintf(f, "%-36s-%-4s-%-20s-%-15s-%-20s-%s\n", "------------------------------------",
	        "----", "--------------------", "------------------", "--------------------",
	        "------------------");
	cJSON_ArrayForEach(rg, regs)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(rg, "node");
		char node[16] = "-";

		if (cJSON_IsNumber(n))
			snprintf(node, sizeof(node), "%.0f", n->valuedouble);
		fprintf(f, "%-36s %-4s %-20s %-15s %-20s %s\n",
		        rg->string != NULL ? rg->string : "", node, str_or(rg, "net_name", ""),
		        str_or(rg, "share_name", "''"), str_or(rg, "ip_address", ""),
		        str_or(rg, "client_computer_name", ""));
	}
}
