/*
 * main_witnessctl.c - witnessctl, the admin tool of witnessd.
 *
 *   witnessctl [--socket PATH | --config FILE] [--json] COMMAND ... [--help]
 *
 * Talks to the daemon over its admin socket (include/witness/ctl.h), except
 * `user add|del|list`, which edit the NTLM password file directly. The
 * registration commands mirror Samba's `net witness` (same selectors, same
 * text and JSON output; Samba source3/utils/net_witness.c), so scripts
 * written for one work with the other; with the ctdb backend they reach
 * every node's witnessd. The commands are one table (cli_cmds[]) over the
 * daemon's (enum ctl_cmd); each has its own --help. Exit status: the
 * CTL_EXIT_* values of ctl.h; with --json an error is {"error","code"} on
 * stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "witness/auth_passdb.h"
#include "witness/config.h"
#include "witness/ctl.h"
#include "witness/doctor.h"
#include "witness/err.h"
#include "witness/log.h"

#define DEFAULT_CONFIG "/etc/witnessd/witnessd.conf"
#define DEFAULT_SOCKET "/run/witnessd/witnessd.sock"

/* Options a command accepts besides the global ones. */
#define O_SEL    0x01u /* selectors and --apply-to-all */
#define O_MOVE   0x02u /* --new-node, --new-ip */
#define O_FORCED 0x04u /* --forced-response */
#define O_IPSET  0x08u /* --available, --unavailable, --node */
#define O_USER   0x10u /* --domain, --file */
#define O_DRAIN  0x20u /* --to, --wait */
#define O_DOCTOR 0x40u /* --user, --share, --smb-host, --smb-port */

struct opts {
	const char *socket;
	const char *config;
	bool json;
	bool help;
	int timeout_s;
	unsigned given; /* O_* of the options given */
	/* selectors, as net witness */
	const char *registration, *net_name, *share_name, *ip_address, *client_computer_name;
	bool apply_to_all;
	const char *new_node, *new_ip, *forced_response;
	/* ip set */
	int available; /* -1 unset */
	const char *node;
	/* user */
	const char *domain, *file;
	/* drain */
	const char *to;
	int wait_s; /* -1 unset */
	/* doctor */
	const char *smb_user, *smb_host;
	const char *shares[16];
	size_t n_shares;
	int smb_port;
};

struct cli_cmd;
typedef int (*cli_run_fn)(struct opts *o, const struct cli_cmd *c, int argc, char **argv);

struct cli_cmd {
	const char *name;  /* as typed: "list", "ip set", "user add" */
	int wire;          /* enum ctl_cmd, or -1: runs here */
	unsigned opts;     /* O_* it accepts */
	const char *args;  /* synopsis after the name */
	const char *brief; /* one line for the overview */
	const char *help;  /* the command's --help */
	cli_run_fn run;
};

/* ---- errors: text on stderr, or {"error","code"} on stdout with --json ---- */

static bool g_json;

static void print_json(const cJSON *v)
{
	char *s = cJSON_Print(v);

	if (s != NULL)
		puts(s);
	cJSON_free(s);
}

static int fail(int exit_code, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(int exit_code, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g_json) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "error", msg);
		cJSON_AddStringToObject(e, "code", ctl_err_name(code));
		cJSON_AddNumberToObject(e, "exit", exit_code);
		print_json(e);
		cJSON_Delete(e);
	} else {
		fprintf(stderr, "witnessctl: %s\n", msg);
		if (exit_code == CTL_EXIT_USAGE)
			fprintf(stderr,
			        "Try 'witnessctl --help' or 'witnessctl COMMAND --help'.\n");
	}
	return exit_code;
}

#define usage_error(...) fail(CTL_EXIT_USAGE, WD_EINVAL, __VA_ARGS__)

/* ---- config and the daemon ---- */

/* Config values witnessctl needs; a missing default config is fine. */
static int load_config(const struct opts *o, struct wd_config *c, bool *have)
{
	char err[1024];
	const char *path = o->config != NULL ? o->config : DEFAULT_CONFIG;

	*have = false;
	if (o->config == NULL && access(path, F_OK) != 0)
		return 0;
	if (wd_config_load(path, c, err, sizeof(err)) != 0)
		return fail(CTL_EXIT_USAGE, WD_ECONFIG, "%s", err);
	*have = true;
	return 0;
}

static char *socket_path(const struct opts *o, int *rc)
{
	struct wd_config c = {0};
	bool have;
	char *p;

	*rc = 0;
	if (o->socket != NULL)
		return strdup(o->socket);
	if ((*rc = load_config(o, &c, &have)) != 0)
		return NULL;
	p = strdup(have ? c.admin_socket : DEFAULT_SOCKET);
	wd_config_free(&c);
	return p;
}

/*
 * Sends req (consumed); returns the "result" of an ok reply (caller frees),
 * or NULL with the error reported and *exit_code set.
 */
static cJSON *call(const struct opts *o, cJSON *req, int *exit_code)
{
	char err[512];
	char *path;
	cJSON *reply = NULL, *res;
	const cJSON *ok;
	int rc;

	path = socket_path(o, exit_code);
	if (path == NULL) {
		cJSON_Delete(req);
		if (*exit_code == 0)
			*exit_code = fail(CTL_EXIT_UNREACHABLE, WD_ENOMEM, "out of memory");
		return NULL;
	}
	rc = ctl_client_call(path, req, o->timeout_s * 1000, &reply, err, sizeof(err));
	free(path);
	cJSON_Delete(req);
	if (rc != 0) {
		*exit_code = fail(CTL_EXIT_UNREACHABLE, rc, "%s", err);
		return NULL;
	}
	ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(reply, "code");
		int code = ctl_err_code(cJSON_IsString(c) ? c->valuestring : NULL);

		*exit_code = fail(ctl_exit_for_error(code), code, "%s",
		                  cJSON_IsString(e) ? e->valuestring : "request failed");
		cJSON_Delete(reply);
		return NULL;
	}
	res = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
	cJSON_Delete(reply);
	*exit_code = 0;
	return res != NULL ? res : cJSON_CreateNull();
}

static cJSON *new_req(const char *cmd)
{
	cJSON *r = cJSON_CreateObject();

	if (r == NULL) {
		fprintf(stderr, "witnessctl: out of memory\n");
		exit(CTL_EXIT_UNREACHABLE);
	}
	cJSON_AddStringToObject(r, "cmd", cmd);
	return r;
}

static cJSON *wire_req(const struct cli_cmd *c)
{
	return new_req(ctl_cmd_get((enum ctl_cmd)c->wire)->name);
}

static bool parse_node(const char *s, bool allow_all, double *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < (allow_all ? -1 : 0) || n >= 0xFFFFFFFELL)
		return false;
	*out = (double)n;
	return true;
}

/*
 * Nodes that did not answer a cluster command: said on stderr in text
 * mode (the JSON has "nodes_not_answering"); CTL_EXIT_PARTIAL if any.
 */
static int partial_exit(const cJSON *res)
{
	const cJSON *miss = cJSON_GetObjectItemCaseSensitive(res, "nodes_not_answering"), *n;
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(res, "node_errors");
	char list[512] = "";
	size_t off = 0;

	cJSON_ArrayForEach(n, errs)
	{
		if (!g_json)
			fprintf(stderr, "witnessctl: node %s: %s\n", n->string,
			        cJSON_IsString(n) ? n->valuestring : "error");
	}
	if (cJSON_GetArraySize(miss) == 0)
		return CTL_EXIT_OK;
	cJSON_ArrayForEach(n, miss)
	{
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%.0f",
			                        off ? ", " : "", cJSON_GetNumberValue(n));
	}
	if (!g_json)
		fprintf(stderr,
		        "witnessctl: node%s %s did not answer (its witnessd or ctdbd is down, or "
		        "slower than [ctdb] peer timeout); the output is the other nodes'\n",
		        cJSON_GetArraySize(miss) > 1 ? "s" : "", list);
	return CTL_EXIT_PARTIAL;
}

/* ---- status / ip ---- */

static int run_status(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	int ec;
	cJSON *res, *it;

	(void)argv;
	if (argc != 0)
		return usage_error("status: no arguments expected");
	if ((res = call(o, wire_req(c), &ec)) == NULL)
		return ec;
	if (o->json) {
		print_json(res);
	} else {
		cJSON_ArrayForEach(it, res)
		{
			char *s;

			if (cJSON_IsString(it)) {
				printf("%-22s %s\n", it->string, it->valuestring);
				continue;
			}
			s = cJSON_PrintUnformatted(it);
			printf("%-22s %s\n", it->string, s ? s : "");
			cJSON_free(s);
		}
	}
	cJSON_Delete(res);
	return 0;
}

static int run_metrics(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	int ec;
	cJSON *res;
	const cJSON *t;

	(void)argv;
	if (argc != 0)
		return usage_error("metrics: no arguments expected");
	if ((res = call(o, wire_req(c), &ec)) == NULL)
		return ec;
	t = cJSON_GetObjectItemCaseSensitive(res, "text");
	if (o->json)
		print_json(res);
	else if (cJSON_IsString(t))
		fputs(t->valuestring, stdout);
	cJSON_Delete(res);
	return 0;
}

static void print_ips(const cJSON *res)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "interfaces"), *ip;
	const cJSON *ln = cJSON_GetObjectItemCaseSensitive(res, "local_node");
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(res, "backend");

	/* 4294967295 (CLUSTER_NODE_NONE): the ctdb backend has not heard from ctdbd yet */
	if (cJSON_IsNumber(ln) && ln->valuedouble < 4294967295.0)
		printf("backend: %s, local node: %.0f\n",
		       cJSON_IsString(be) ? be->valuestring : "?", ln->valuedouble);
	else
		printf("backend: %s, local node: unknown (not connected to ctdbd yet: see "
		       "witnessctl status)\n",
		       cJSON_IsString(be) ? be->valuestring : "?");
	printf("%-40s %-6s %-12s %s\n", "IpAddress", "Node", "State", "Local");
	cJSON_ArrayForEach(ip, arr)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(ip, "ip");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(ip, "node");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(ip, "state");
		const cJSON *lo = cJSON_GetObjectItemCaseSensitive(ip, "local");
		char node[16];

		if (cJSON_IsNumber(n))
			snprintf(node, sizeof(node), "%.0f", n->valuedouble);
		else
			snprintf(node, sizeof(node), "-");
		printf("%-40s %-6s %-12s %s\n", cJSON_IsString(a) ? a->valuestring : "?", node,
		       cJSON_IsString(st) ? st->valuestring : "?", cJSON_IsTrue(lo) ? "yes" : "no");
	}
}

static int run_ip(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	cJSON *req, *res;
	int ec;

	if (c->wire == CTL_CMD_IP_LIST || c->wire == CTL_CMD_IP_RESET) {
		if (argc != 0)
			return usage_error(c->wire == CTL_CMD_IP_LIST
			                       ? "ip list: no arguments expected"
			                       : "ip reset: no arguments expected");
		req = wire_req(c);
	} else {
		double node;

		if (argc != 1)
			return usage_error("ip set: expected exactly one IP address");
		if (o->available < 0 && o->node == NULL)
			return usage_error(
			    "ip set: give --unavailable, --available and/or --node N");
		req = wire_req(c);
		cJSON_AddStringToObject(req, "ip", argv[0]);
		if (o->available >= 0)
			cJSON_AddBoolToObject(req, "available", o->available);
		if (o->node != NULL) {
			if (!parse_node(o->node, false, &node)) {
				cJSON_Delete(req);
				return usage_error("ip set: --node needs a node number");
			}
			cJSON_AddNumberToObject(req, "node", node);
		}
	}
	if ((res = call(o, req, &ec)) == NULL)
		return ec;
	if (o->json)
		print_json(res);
	else
		print_ips(res);
	cJSON_Delete(res);
	return 0;
}

/* ---- registrations (net witness) ---- */

static bool has_selector(const struct opts *o)
{
	return o->registration || o->net_name || o->share_name || o->ip_address ||
	       o->client_computer_name;
}

static cJSON *filters(const struct opts *o)
{
	cJSON *f = cJSON_CreateObject();

	if (o->registration)
		cJSON_AddStringToObject(f, "registration", o->registration);
	if (o->net_name)
		cJSON_AddStringToObject(f, "net_name", o->net_name);
	if (o->share_name)
		cJSON_AddStringToObject(f, "share_name", o->share_name);
	if (o->ip_address)
		cJSON_AddStringToObject(f, "ip_address", o->ip_address);
	if (o->client_computer_name)
		cJSON_AddStringToObject(f, "client_computer_name", o->client_computer_name);
	if (o->apply_to_all)
		cJSON_AddBoolToObject(f, "apply_to_all", 1);
	return f;
}

static int run_registrations(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	const struct ctl_cmd_desc *d = ctl_cmd_get((enum ctl_cmd)c->wire);
	bool update = (d->flags & CTL_CMD_F_UPDATE) != 0;
	bool move = (d->flags & CTL_CMD_F_MOVE) != 0;
	cJSON *req, *res;
	int ec, rc;

	(void)argv;
	if (argc != 0)
		return usage_error("%s: unexpected argument", c->name);
	/* net witness: --apply-to-all is required without selectors and excludes them */
	if (o->apply_to_all && has_selector(o))
		return usage_error("%s: --apply-to-all cannot be combined with selectors", c->name);
	if (update && !o->apply_to_all && !has_selector(o))
		return usage_error(
		    "%s: give a selector (--registration, --net-name, ...) or --apply-to-all",
		    c->name);
	if (move && (o->new_node != NULL) == (o->new_ip != NULL))
		return usage_error("%s: give exactly one of --new-node N and --new-ip IP", c->name);
	req = wire_req(c);
	cJSON_AddItemToObject(req, "filters", filters(o));
	if (move && o->new_node) {
		double n;

		if (!parse_node(o->new_node, true, &n)) {
			cJSON_Delete(req);
			return usage_error("--new-node needs a node number or -1 (all nodes)");
		}
		cJSON_AddNumberToObject(req, "new_node", n);
	}
	if (move && o->new_ip)
		cJSON_AddStringToObject(req, "new_ip", o->new_ip);
	if (o->forced_response) {
		cJSON *fr = cJSON_Parse(o->forced_response);

		if (fr == NULL || !cJSON_IsObject(fr)) {
			cJSON_Delete(fr);
			cJSON_Delete(req);
			return usage_error("--forced-response: not a JSON object");
		}
		cJSON_AddItemToObject(req, "forced_response", fr);
	}
	if ((res = call(o, req, &ec)) == NULL)
		return ec;
	if (o->json)
		print_json(res);
	else
		ctl_print_registrations(stdout, res);
	rc = partial_exit(res);
	if (rc == 0 && update &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "registrations")) == 0) {
		if (!o->json)
			fprintf(stderr, "witnessctl: %s: no registration matched\n", c->name);
		rc = CTL_EXIT_NOMATCH;
	}
	cJSON_Delete(res);
	return rc;
}

/* ---- peers ---- */

static int run_peers(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	cJSON *res, *n;
	int ec, rc;

	(void)argv;
	if (argc != 0)
		return usage_error("peers: no arguments expected");
	if ((res = call(o, wire_req(c), &ec)) == NULL)
		return ec;
	if (o->json) {
		print_json(res);
	} else {
		printf("%-6s %-10s %s\n", "Node", "Version", "Registrations");
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(res, "nodes"))
		{
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(n, "version");

			printf("%-6.0f %-10s %.0f\n",
			       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "node")),
			       cJSON_IsString(v) ? v->valuestring : "?",
			       cJSON_GetNumberValue(
			           cJSON_GetObjectItemCaseSensitive(n, "registrations")));
		}
	}
	rc = partial_exit(res);
	cJSON_Delete(res);
	return rc;
}

/* ---- drain ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *jstr(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static bool in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	}
	return false;
}

/* A cluster-wide list; NULL on error (reported, *ec set). */
static cJSON *list_all(const struct opts *o, int *ec)
{
	cJSON *req = new_req(ctl_cmd_get(CTL_CMD_LIST)->name);

	cJSON_AddItemToObject(req, "filters", cJSON_CreateObject());
	return call(o, req, ec);
}

/*
 * --wait: polls the cluster-wide list until every moved client (by its
 * client computer name) has a registration that did not exist before the
 * drain, on an IP that is not the drained node's; then the report per
 * node that held the moved registrations.
 */
static cJSON *drain_wait(const struct opts *o, const cJSON *res, const cJSON *before, int *ec)
{
	const cJSON *moved = cJSON_GetObjectItemCaseSensitive(res, "registrations");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(res, "message"), "ips");
	double start = now_s(), end = start + o->wait_s;
	cJSON *found = cJSON_CreateObject(), *w, *nodes, *m;
	int left = cJSON_GetArraySize(moved);

	*ec = 0;
	while (left > 0) {
		cJSON *now = list_all(o, ec), *rg;

		if (now == NULL)
			break;
		cJSON_ArrayForEach(m, moved)
		{
			const char *client = jstr(m, "client_computer_name", "");

			if (cJSON_GetObjectItemCaseSensitive(found, m->string) != NULL)
				continue;
			cJSON_ArrayForEach(rg,
			                   cJSON_GetObjectItemCaseSensitive(now, "registrations"))
			{
				if (cJSON_GetObjectItemCaseSensitive(before, rg->string) != NULL ||
				    strcasecmp(jstr(rg, "client_computer_name", ""), client) != 0 ||
				    in_array(ips, jstr(rg, "ip_address", "")))
					continue;
				{
					cJSON *f = cJSON_CreateObject();

					cJSON_AddStringToObject(f, "registration", rg->string);
					cJSON_AddItemToObject(
					    f, "node",
					    cJSON_Duplicate(
					        cJSON_GetObjectItemCaseSensitive(rg, "node"),
					        true));
					cJSON_AddStringToObject(f, "ip_address",
					                        jstr(rg, "ip_address", ""));
					cJSON_AddItemToObject(found, m->string, f);
				}
				left--;
				break;
			}
		}
		cJSON_Delete(now);
		if (left == 0 || now_s() >= end)
			break;
		poll(NULL, 0, 250);
	}
	w = cJSON_CreateObject();
	cJSON_AddNumberToObject(w, "seconds", (double)(long)((now_s() - start) * 10) / 10);
	nodes = cJSON_AddObjectToObject(w, "nodes");
	cJSON_ArrayForEach(m, moved)
	{
		char key[16];
		cJSON *n, *f = cJSON_GetObjectItemCaseSensitive(found, m->string);

		snprintf(key, sizeof(key), "%.0f",
		         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "node")));
		n = cJSON_GetObjectItemCaseSensitive(nodes, key);
		if (n == NULL) {
			n = cJSON_AddObjectToObject(nodes, key);
			cJSON_AddNumberToObject(n, "moved", 0);
			cJSON_AddNumberToObject(n, "registered_again", 0);
			cJSON_AddObjectToObject(n, "again");
			cJSON_AddArrayToObject(n, "not_registered_again");
		}
		cJSON_SetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(n, "moved"),
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "moved")) + 1);
		if (f != NULL) {
			cJSON *ra = cJSON_GetObjectItemCaseSensitive(n, "registered_again");

			cJSON_SetNumberValue(ra, cJSON_GetNumberValue(ra) + 1);
			cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(n, "again"),
			                      m->string, cJSON_Duplicate(f, true));
		} else {
			cJSON *o2 = cJSON_CreateObject();

			cJSON_AddStringToObject(o2, "registration", m->string);
			cJSON_AddStringToObject(o2, "client_computer_name",
			                        jstr(m, "client_computer_name", ""));
			cJSON_AddItemToArray(
			    cJSON_GetObjectItemCaseSensitive(n, "not_registered_again"), o2);
		}
	}
	cJSON_Delete(found);
	return w;
}

static void print_target(const cJSON *t)
{
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(t, "ip");

	if (cJSON_IsString(ip))
		printf("%s", ip->valuestring);
	else
		printf("node %.0f",
		       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "node")));
}

static void print_drain(const cJSON *res, const cJSON *wait)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(res, "message"), *it;
	bool first = true;

	printf("DRAIN: node %.0f (",
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(msg, "node")));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "ips"))
	{
		printf("%s%s", first ? "" : ", ", cJSON_IsString(it) ? it->valuestring : "?");
		first = false;
	}
	printf(") -> ");
	first = true;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "targets"))
	{
		printf("%s", first ? "" : ", ");
		print_target(it);
		first = false;
	}
	printf("\n%-36s %-4s %-20s %-20s %s\n", "Registration-UUID:", "Node", "IpAddress",
	       "ClientComputerName", "MovedTo");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(res, "registrations"))
	{
		printf("%-36s %-4.0f %-20s %-20s ", it->string,
		       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "node")),
		       jstr(it, "ip_address", ""), jstr(it, "client_computer_name", ""));
		print_target(cJSON_GetObjectItemCaseSensitive(it, "moved_to"));
		printf("\n");
	}
	if (wait == NULL)
		return;
	printf("\nwaited %.1f s for the moved clients to register again elsewhere:\n",
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(wait, "seconds")));
	printf("%-6s %-6s %-16s %s\n", "Node", "Moved", "RegisteredAgain", "NotRegisteredAgain");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(wait, "nodes"))
	{
		const cJSON *nr = cJSON_GetObjectItemCaseSensitive(it, "not_registered_again"), *x;

		printf(
		    "%-6s %-6.0f %-16.0f ", it->string,
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "moved")),
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "registered_again")));
		first = true;
		cJSON_ArrayForEach(x, nr)
		{
			printf("%s%s (%s)", first ? "" : ", ", jstr(x, "client_computer_name", ""),
			       jstr(x, "registration", ""));
			first = false;
		}
		printf("%s\n", first ? "-" : "");
	}
}

static int run_drain(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	cJSON *req, *res, *before = NULL, *wait = NULL;
	double node, to;
	int ec, rc;

	if (argc != 1)
		return usage_error("drain: expected exactly one NODE");
	if (!parse_node(argv[0], false, &node))
		return usage_error("drain: NODE must be a node number");
	req = wire_req(c);
	cJSON_AddNumberToObject(req, "node", node);
	if (o->to != NULL) {
		if (parse_node(o->to, false, &to))
			cJSON_AddNumberToObject(req, "to_node", to);
		else if (strchr(o->to, '.') != NULL || strchr(o->to, ':') != NULL)
			cJSON_AddStringToObject(req, "to_ip", o->to);
		else {
			cJSON_Delete(req);
			return usage_error("drain: --to needs a node number or an IP address");
		}
	}
	if (o->wait_s > 0 && (before = list_all(o, &ec)) == NULL) {
		cJSON_Delete(req);
		return ec;
	}
	if ((res = call(o, req, &ec)) == NULL) {
		cJSON_Delete(before);
		return ec;
	}
	rc = partial_exit(res);
	if (before != NULL) {
		wait = drain_wait(o, res, cJSON_GetObjectItemCaseSensitive(before, "registrations"),
		                  &ec);
		if (ec != 0 && ec != CTL_EXIT_PARTIAL) {
			cJSON_Delete(wait);
			cJSON_Delete(before);
			cJSON_Delete(res);
			return ec;
		}
	}
	if (o->json) {
		if (wait != NULL)
			cJSON_AddItemToObject(res, "wait", wait);
		print_json(res);
	} else {
		print_drain(res, wait);
		cJSON_Delete(wait);
	}
	if (rc == 0 &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "registrations")) == 0) {
		if (!o->json)
			fprintf(stderr, "witnessctl: drain: no registration on node %.0f's IPs\n",
			        node);
		rc = CTL_EXIT_NOMATCH;
	}
	cJSON_Delete(before);
	cJSON_Delete(res);
	return rc;
}

/* ---- user add/del/list: the NTLM password file ---- */

static int passdb_path(const struct opts *o, char **out)
{
	struct wd_config c = {0};
	bool have;
	int rc;

	*out = NULL;
	if (o->file != NULL) {
		*out = strdup(o->file);
		return 0;
	}
	if ((rc = load_config(o, &c, &have)) != 0)
		return rc;
	if (!have || c.ntlm_password_file == NULL) {
		wd_config_free(&c);
		return usage_error("no password file: give --file PATH or set \"ntlm password "
		                   "file\" in the config (--config FILE)");
	}
	*out = strdup(c.ntlm_password_file);
	wd_config_free(&c);
	return 0;
}

/* One line from fp without its newline; false at EOF. */
static bool read_line(FILE *fp, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, fp) == NULL)
		return false;
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return true;
}

static bool prompt(FILE *tty, const char *what, char *buf, size_t len)
{
	struct termios old, noecho;
	bool ok;

	fprintf(tty, "%s", what);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) != 0)
		return false;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	ok = read_line(tty, buf, len);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	return ok;
}

/* The password never comes from argv (visible in ps): stdin or a prompt. */
static int read_password(char *pw, size_t len)
{
	char again[512];
	FILE *tty;

	if (!isatty(STDIN_FILENO)) {
		if (!read_line(stdin, pw, len))
			return usage_error("no password on stdin");
		return 0;
	}
	tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return fail(CTL_EXIT_UNREACHABLE, WD_EIO, "cannot open /dev/tty: %s",
		            strerror(errno));
	if (!prompt(tty, "New password: ", pw, len) ||
	    !prompt(tty, "Retype new password: ", again, sizeof(again))) {
		fclose(tty);
		wd_memzero(again, sizeof(again));
		return usage_error("no password given");
	}
	fclose(tty);
	if (strcmp(pw, again) != 0) {
		wd_memzero(again, sizeof(again));
		return usage_error("passwords do not match");
	}
	wd_memzero(again, sizeof(again));
	return 0;
}

/* ---- doctor ---- */

static int run_doctor(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	struct ctl_doctor_opts d = {
	    .config = o->config ? o->config : DEFAULT_CONFIG,
	    .socket = o->socket,
	    .smb_host = o->smb_host,
	    .smb_port = (uint16_t)o->smb_port,
	    .user = o->smb_user,
	    .shares = o->shares,
	    .n_shares = o->n_shares,
	    .timeout_ms = o->timeout_s * 1000 > 5000 ? 5000 : o->timeout_s * 1000,
	    .json = o->json,
	};
	char pw[512] = "";
	int rc;

	(void)c, (void)argv;
	if (argc != 0)
		return usage_error("doctor: no arguments expected (shares go with --share)");
	if (o->smb_user != NULL) {
		/* the password never comes from argv: stdin, or a prompt on the terminal */
		if (!isatty(STDIN_FILENO)) {
			if (!read_line(stdin, pw, sizeof(pw)))
				return usage_error("--user: no password on stdin");
		} else {
			FILE *tty = fopen("/dev/tty", "r+");

			if (tty == NULL || !prompt(tty, "Password: ", pw, sizeof(pw))) {
				if (tty)
					fclose(tty);
				return usage_error("--user: no password given");
			}
			fclose(tty);
		}
		d.password = pw;
	}
	rc = ctl_doctor_run(&d);
	wd_memzero(pw, sizeof(pw));
	return rc;
}

struct list_ctx {
	bool json;
	cJSON *arr;
};

static int list_one_text(const char *domain, const char *name, uint32_t uid, bool disabled,
                         void *arg)
{
	char full[2 * AUTH_PASSDB_NAME_MAX + 2];

	struct list_ctx *lc = arg;

	if (lc->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "domain", domain ? domain : "");
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddNumberToObject(o, "uid", uid);
		cJSON_AddBoolToObject(o, "disabled", disabled);
		cJSON_AddItemToArray(lc->arr, o);
		return 0;
	}
	snprintf(full, sizeof(full), "%s%s%s", domain && domain[0] ? domain : "",
	         domain && domain[0] ? "\\" : "", name);
	printf("%-40s %-8u %s\n", full, uid, disabled ? "disabled" : "enabled");
	return 0;
}

static int run_user_list(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	struct list_ctx lc = {.json = o->json};
	char *path = NULL;
	int rc, ec;

	(void)c, (void)argv;
	if (argc != 0)
		return usage_error("user list: no arguments expected");
	if ((ec = passdb_path(o, &path)) != 0)
		return ec;
	lc.arr = cJSON_CreateArray();
	if (!o->json)
		printf("%-40s %-8s %s\n", "Account", "Uid", "State");
	rc = auth_passdb_user_list(path, list_one_text, &lc);
	if (rc == WD_ENOTFOUND)
		rc = 0; /* no file yet: no users */
	if (rc != 0) {
		ec = fail(CTL_EXIT_UNREACHABLE, rc, "%s: %s", path, wd_strerror(rc));
		cJSON_Delete(lc.arr);
		free(path);
		return ec;
	}
	if (o->json)
		print_json(lc.arr);
	cJSON_Delete(lc.arr);
	free(path);
	return 0;
}

static int run_user_edit(struct opts *o, const struct cli_cmd *c, int argc, char **argv)
{
	bool add = strcmp(c->name, "user add") == 0;
	char *path = NULL;
	int rc, ec;

	if (argc != 1)
		return usage_error("%s: expected exactly one NAME (the password is read from stdin "
		                   "or a prompt, never from the command line)",
		                   c->name);
	if ((ec = passdb_path(o, &path)) != 0)
		return ec;
	if (add) {
		char pw[512];

		if ((ec = read_password(pw, sizeof(pw))) != 0) {
			wd_memzero(pw, sizeof(pw));
			free(path);
			return ec;
		}
		rc = auth_passdb_user_add(path, o->domain, argv[0], pw);
		wd_memzero(pw, sizeof(pw));
	} else {
		rc = auth_passdb_user_del(path, o->domain, argv[0]);
	}
	if (rc != 0) {
		ec = fail(ctl_exit_for_error(rc), rc, "%s %s%s%s: %s: %s", c->name,
		          o->domain ? o->domain : "", o->domain ? "\\" : "", argv[0], path,
		          rc == WD_ENOTFOUND ? "no such user"
		          : rc == WD_EINVAL  ? "invalid name, domain or empty password"
		                             : wd_strerror(rc));
		free(path);
		return ec;
	}
	if (o->json) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, add ? "added" : "deleted", argv[0]);
		cJSON_AddStringToObject(r, "file", path);
		print_json(r);
		cJSON_Delete(r);
	} else {
		printf("%s %s%s%s in %s (run \"systemctl reload witnessd\" or send SIGHUP to "
		       "apply)\n",
		       add ? "added" : "deleted", o->domain ? o->domain : "", o->domain ? "\\" : "",
		       argv[0], path);
	}
	free(path);
	return 0;
}

/* ---- the table ---- */

#define SELECTORS_HELP                                                                             \
	"Selectors (POSIX extended regexes, case-insensitive, unanchored, ANDed; as net\n"         \
	"witness; a regex that does not compile is exit status 2):\n"                              \
	"  --registration UUID  --net-name RE  --share-name RE  --ip-address RE\n"                 \
	"  --client-computer-name RE\n"                                                            \
	"  --apply-to-all       required by an update without selectors\n"                         \
	"  The --witness-* spellings of net witness are accepted too.\n"
#define CLUSTER_HELP                                                                               \
	"With the ctdb backend this runs on every node's witnessd (each acts on the\n"             \
	"registrations it holds); nodes that did not answer within [ctdb] peer timeout\n"          \
	"are named and the exit status is 4.\n"

static const struct cli_cmd cli_cmds[] = {
    {"status", CTL_CMD_STATUS, 0, "", "daemon, cluster and registration counters",
     "Version, netname, ports, backend and its state, interface, connection and\n"
     "registration counters of this node's witnessd.\n",
     run_status},
    {"metrics", CTL_CMD_METRICS, 0, "", "the daemon's metrics, Prometheus text format",
     "This node's counters, gauges and histograms in the Prometheus text exposition\n"
     "format 0.0.4 (the series: witnessd(8), METRICS); with --json {\"text\": ...}.\n"
     "The same text is served on GET /metrics with \"metrics listen\" in witnessd.conf.\n",
     run_metrics},
    {"ip list", CTL_CMD_IP_LIST, 0, "", "the cluster's interfaces and where they are",
     "Every interface of the cluster view: address, hosting node, AVAILABLE or\n"
     "UNAVAILABLE, and whether it is local to this node.\n",
     run_ip},
    {"ip set", CTL_CMD_IP_SET, O_IPSET, "IP --unavailable | --available | --node N",
     "change an IP (static backend; for keepalived, Pacemaker...)",
     "Mark an IP of the static backend down or up, or move it to node N (the options\n"
     "combine). Registered clients are notified. Refused with the ctdb backend.\n"
     "The change is kept in the store and survives a restart of witnessd until\n"
     "ip reset.\n"
     "  --unavailable  --available  --node N\n",
     run_ip},
    {"ip reset", CTL_CMD_IP_RESET, 0, "", "every IP back to the config (static backend)",
     "Forget every ip set: each IP of the static backend gets its node and state\n"
     "from the config again, and the states kept in the store are cleared.\n"
     "Registered clients are notified of what changes. Refused with the ctdb backend.\n",
     run_ip},
    {"list", CTL_CMD_LIST, O_SEL, "[SELECTORS]",
     "witness registrations, with the node holding each",
     "The registrations (as net witness list), with the node whose witnessd holds\n"
     "each (the Node column; \"node\" in the JSON).\n" CLUSTER_HELP SELECTORS_HELP,
     run_registrations},
    {"client-move", CTL_CMD_CLIENT_MOVE, O_SEL | O_MOVE,
     "SELECTORS (--new-node N|-1 | --new-ip IP)", "send CLIENT_MOVE to the selected registrations",
     "Send CLIENT_MOVE: to the IPs of node N (-1: every IP of the cluster) or to IP.\n"
     "Exit status 1 if nothing matched.\n" CLUSTER_HELP SELECTORS_HELP,
     run_registrations},
    {"share-move", CTL_CMD_SHARE_MOVE, O_SEL | O_MOVE, "SELECTORS (--new-node N|-1 | --new-ip IP)",
     "send SHARE_MOVE to the selected registrations",
     "Send SHARE_MOVE (only registrations with a share name get it).\n"
     "Exit status 1 if nothing matched.\n" CLUSTER_HELP SELECTORS_HELP,
     run_registrations},
    {"force-unregister", CTL_CMD_FORCE_UNREGISTER, O_SEL, "SELECTORS",
     "end the selected registrations",
     "End the selected registrations: a pending AsyncNotify returns NOT_FOUND.\n"
     "Exit status 1 if nothing matched.\n" CLUSTER_HELP SELECTORS_HELP,
     run_registrations},
    {"force-response", CTL_CMD_FORCE_RESPONSE, O_SEL | O_FORCED,
     "SELECTORS [--forced-response JSON]", "make the next AsyncNotify return JSON",
     "The next AsyncNotify of the selected registrations returns exactly JSON (the\n"
     "schema of net witness force-response; without it an empty response, WERR_OK).\n"
     "Exit status 1 if nothing matched.\n" CLUSTER_HELP SELECTORS_HELP,
     run_registrations},
    {"drain", CTL_CMD_DRAIN, O_DRAIN, "NODE [--to NODE|IP] [--wait SECONDS]",
     "move every client of NODE's IPs to the other nodes",
     "Every registration, on every node's witnessd, whose registered IP is hosted on\n"
     "NODE gets CLIENT_MOVE to the IPs of the other active nodes, spread evenly over\n"
     "them (or to --to NODE|IP). With --wait, wait up to SECONDS for the moved\n"
     "clients to register again elsewhere and report, per node that held them, how\n"
     "many did and which did not. Exit status 1 if nothing matched.\n"
     "Maintenance: witnessctl drain N --wait 30; ctdb disable -n N; (work);\n"
     "ctdb enable -n N. With the static backend it acts on this node's registrations.\n"
     "  --to NODE|IP     one target instead of every other node\n"
     "  --wait SECONDS   wait for the clients to register again (0: do not wait)\n",
     run_drain},
    {"peers", CTL_CMD_PEERS, 0, "", "which nodes' witnessd answer over CTDB",
     "Ask every node's witnessd over the ctdb peer messages; lists the nodes that\n"
     "answered, names those that did not (exit status 4).\n",
     run_peers},
    {"doctor", -1, O_DOCTOR,
     "[--user [DOMAIN\\]USER [--share NAME]...] [--smb-host ADDR] [--smb-port N]",
     "check what a witness needs on this node",
     "Check, each with OK / WARN / FAIL and a remedy: the config parses; the listen\n"
     "addresses accept on the witness and endpoint mapper ports and ept_map maps\n"
     "the witness interface to the witness port; the keytab has cifs/ and host/\n"
     "keys for the netname and its aliases that decrypt a ticket; the NTLM password\n"
     "file is 0600 with accounts; the interfaces have nodes; with ctdb, ctdbd and\n"
     "the other nodes' witnessd answer; the SMB server on this node: its dialect,\n"
     "persistent handles, and with --user (password from stdin or a prompt) the\n"
     "CLUSTER and CONTINUOUS_AVAILABILITY capabilities of each --share.\n"
     "Exit status 1 if a check failed. Reads --config (not --socket alone).\n"
     "  --user [DOMAIN\\]USER  an account of the SMB server, for the tree connects\n"
     "  --share NAME          a share to tree connect (repeatable, up to 16)\n"
     "  --smb-host ADDR       the SMB server (default: the first listen address)\n"
     "  --smb-port N          default 445\n",
     run_doctor},
    {"user add", -1, O_USER, "NAME [--domain D] [--file PATH]",
     "add an NTLM account (password from stdin or a prompt)",
     "Add an NTLM account to the password file, or change its password. The password\n"
     "is read from stdin when it is not a terminal, else prompted for twice; never\n"
     "from the command line. Then send SIGHUP to witnessd (systemctl reload).\n",
     run_user_edit},
    {"user del", -1, O_USER, "NAME [--domain D] [--file PATH]", "remove an NTLM account",
     "Remove an account from the password file (exit status 1 if there is none).\n", run_user_edit},
    {"user list", -1, O_USER, "[--file PATH]", "list NTLM accounts",
     "List the accounts of the password file (never hashes).\n", run_user_list},
};
#define N_CLI_CMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: witnessctl [--socket PATH | --config FILE] [--json] COMMAND ...\n"
	           "\n"
	           "Commands (witnessctl COMMAND --help for one):\n");
	for (size_t i = 0; i < N_CLI_CMDS; i++)
		fprintf(f, "  %-18s %s\n", cli_cmds[i].name, cli_cmds[i].brief);
	fprintf(f,
	        "\n"
	        "Options:\n"
	        "  -s, --socket PATH   admin socket (default: from the config, else " DEFAULT_SOCKET
	        ")\n"
	        "  -c, --config FILE   witnessd.conf to take the socket / password file from\n"
	        "                      (default " DEFAULT_CONFIG ")\n"
	        "  -j, --json          machine-readable output, errors included\n"
	        "  -t, --timeout SEC   wait at most SEC seconds for the daemon (default 10)\n"
	        "  -h, --help          this text, or with a COMMAND that command's\n"
	        "\n"
	        "Exit status: 0 done, 1 nothing matched, 2 usage or bad input, 3 daemon\n"
	        "unreachable or refused, 4 some nodes did not answer. See witnessctl(8).\n");
}

static void cmd_help(const struct cli_cmd *c)
{
	printf("Usage: witnessctl [GLOBAL OPTIONS] %s %s\n\n%s", c->name, c->args, c->help);
	printf("\nGlobal options: --socket PATH | --config FILE, --json, --timeout SEC.\n"
	       "Exit status: 0 done, 1 nothing matched, 2 usage or bad input, 3 daemon\n"
	       "unreachable or refused, 4 some nodes did not answer. See witnessctl(8).\n");
}

/* The command named by argv[0] (and argv[1] for "ip" and "user"); *used is 1 or 2. */
static const struct cli_cmd *find_cmd(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < N_CLI_CMDS; i++) {
		const char *n = cli_cmds[i].name, *sp = strchr(n, ' ');

		if (sp == NULL && strcmp(n, argv[0]) == 0) {
			*used = 1;
			return &cli_cmds[i];
		}
		if (sp != NULL && strncmp(n, argv[0], (size_t)(sp - n)) == 0 &&
		    argv[0][sp - n] == '\0' && argc > 1 && strcmp(sp + 1, argv[1]) == 0) {
			*used = 2;
			return &cli_cmds[i];
		}
	}
	return NULL;
}

static const char *const opt_names[] = {
    [0] = "selectors / --apply-to-all",
    [1] = "--new-node / --new-ip",
    [2] = "--forced-response",
    [3] = "--available / --unavailable / --node",
    [4] = "--domain / --file",
    [5] = "--to / --wait",
    [6] = "--user / --share / --smb-host / --smb-port",
};

enum {
	OPT_REGISTRATION = 256,
	OPT_NET_NAME,
	OPT_SHARE_NAME,
	OPT_IP_ADDRESS,
	OPT_CLIENT_COMPUTER_NAME,
	OPT_APPLY_TO_ALL,
	OPT_NEW_NODE,
	OPT_NEW_IP,
	OPT_FORCED_RESPONSE,
	OPT_UNAVAILABLE,
	OPT_AVAILABLE,
	OPT_NODE,
	OPT_DOMAIN,
	OPT_FILE,
	OPT_TO,
	OPT_WAIT,
	OPT_SMB_USER,
	OPT_SHARE,
	OPT_SMB_HOST,
	OPT_SMB_PORT,
	OPT_VERSION,
};

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"registration", required_argument, NULL, OPT_REGISTRATION},
	    {"witness-registration", required_argument, NULL, OPT_REGISTRATION},
	    {"net-name", required_argument, NULL, OPT_NET_NAME},
	    {"witness-net-name", required_argument, NULL, OPT_NET_NAME},
	    {"share-name", required_argument, NULL, OPT_SHARE_NAME},
	    {"witness-share-name", required_argument, NULL, OPT_SHARE_NAME},
	    {"ip-address", required_argument, NULL, OPT_IP_ADDRESS},
	    {"witness-ip-address", required_argument, NULL, OPT_IP_ADDRESS},
	    {"client-computer-name", required_argument, NULL, OPT_CLIENT_COMPUTER_NAME},
	    {"witness-client-computer-name", required_argument, NULL, OPT_CLIENT_COMPUTER_NAME},
	    {"apply-to-all", no_argument, NULL, OPT_APPLY_TO_ALL},
	    {"witness-apply-to-all", no_argument, NULL, OPT_APPLY_TO_ALL},
	    {"new-node", required_argument, NULL, OPT_NEW_NODE},
	    {"witness-new-node", required_argument, NULL, OPT_NEW_NODE},
	    {"new-ip", required_argument, NULL, OPT_NEW_IP},
	    {"witness-new-ip", required_argument, NULL, OPT_NEW_IP},
	    {"forced-response", required_argument, NULL, OPT_FORCED_RESPONSE},
	    {"witness-forced-response", required_argument, NULL, OPT_FORCED_RESPONSE},
	    {"unavailable", no_argument, NULL, OPT_UNAVAILABLE},
	    {"available", no_argument, NULL, OPT_AVAILABLE},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"domain", required_argument, NULL, OPT_DOMAIN},
	    {"file", required_argument, NULL, OPT_FILE},
	    {"to", required_argument, NULL, OPT_TO},
	    {"user", required_argument, NULL, OPT_SMB_USER},
	    {"share", required_argument, NULL, OPT_SHARE},
	    {"smb-host", required_argument, NULL, OPT_SMB_HOST},
	    {"smb-port", required_argument, NULL, OPT_SMB_PORT},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.timeout_s = 10, .available = -1, .wait_s = -1};
	const struct cli_cmd *c;
	char usage_err[256] = "";
	bool version = false;
	int opt, used;

	/* All options first, so that --json and --help apply wherever they stand. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "s:c:jt:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.socket = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 't':
			o.timeout_s = atoi(optarg);
			if (o.timeout_s <= 0 || o.timeout_s > 3600)
				snprintf(usage_err, sizeof(usage_err),
				         "--timeout needs 1..3600 seconds");
			break;
		case 'h':
			o.help = true;
			break;
		case OPT_VERSION:
			version = true;
			break;
		case OPT_REGISTRATION:
			o.registration = optarg;
			o.given |= O_SEL;
			break;
		case OPT_NET_NAME:
			o.net_name = optarg;
			o.given |= O_SEL;
			break;
		case OPT_SHARE_NAME:
			o.share_name = optarg;
			o.given |= O_SEL;
			break;
		case OPT_IP_ADDRESS:
			o.ip_address = optarg;
			o.given |= O_SEL;
			break;
		case OPT_CLIENT_COMPUTER_NAME:
			o.client_computer_name = optarg;
			o.given |= O_SEL;
			break;
		case OPT_APPLY_TO_ALL:
			o.apply_to_all = true;
			o.given |= O_SEL;
			break;
		case OPT_NEW_NODE:
			o.new_node = optarg;
			o.given |= O_MOVE;
			break;
		case OPT_NEW_IP:
			o.new_ip = optarg;
			o.given |= O_MOVE;
			break;
		case OPT_FORCED_RESPONSE:
			o.forced_response = optarg;
			o.given |= O_FORCED;
			break;
		case OPT_UNAVAILABLE:
		case OPT_AVAILABLE:
			if (o.available == (opt == OPT_UNAVAILABLE ? 1 : 0))
				snprintf(usage_err, sizeof(usage_err),
				         "--available and --unavailable exclude each other");
			o.available = opt == OPT_AVAILABLE;
			o.given |= O_IPSET;
			break;
		case OPT_NODE:
			o.node = optarg;
			o.given |= O_IPSET;
			break;
		case OPT_DOMAIN:
			o.domain = optarg;
			o.given |= O_USER;
			break;
		case OPT_FILE:
			o.file = optarg;
			o.given |= O_USER;
			break;
		case OPT_TO:
			o.to = optarg;
			o.given |= O_DRAIN;
			break;
		case OPT_SMB_USER:
			o.smb_user = optarg;
			o.given |= O_DOCTOR;
			break;
		case OPT_SHARE:
			if (o.n_shares == sizeof(o.shares) / sizeof(o.shares[0]))
				snprintf(usage_err, sizeof(usage_err), "--share: at most 16");
			else
				o.shares[o.n_shares++] = optarg;
			o.given |= O_DOCTOR;
			break;
		case OPT_SMB_HOST:
			o.smb_host = optarg;
			o.given |= O_DOCTOR;
			break;
		case OPT_SMB_PORT:
			o.smb_port = atoi(optarg);
			if (o.smb_port < 1 || o.smb_port > 65535)
				snprintf(usage_err, sizeof(usage_err), "--smb-port needs 1..65535");
			o.given |= O_DOCTOR;
			break;
		case OPT_WAIT: {
			char *end;
			long w;

			errno = 0;
			w = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || w < 0 || w > 3600)
				snprintf(usage_err, sizeof(usage_err),
				         "--wait needs 0..3600 seconds");
			o.wait_s = (int)w;
			o.given |= O_DRAIN;
			break;
		}
		default:
			if (usage_err[0] == '\0') {
				if (optopt != 0)
					snprintf(usage_err, sizeof(usage_err),
					         "option -%c: unknown or missing its argument",
					         optopt);
				else
					snprintf(usage_err, sizeof(usage_err),
					         "%s: unknown option or missing its argument",
					         argv[optind - 1]);
			}
			break;
		}
	}
	g_json = o.json;
	if (version) {
		printf("witnessctl %s\n", WITNESSD_VERSION);
		return 0;
	}
	if (optind >= argc) {
		if (o.help) {
			usage(stdout);
			return 0;
		}
		if (usage_err[0] != '\0')
			return usage_error("%s", usage_err);
		if (o.json)
			return usage_error("no command given");
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	c = find_cmd(argc - optind, argv + optind, &used);
	if (c == NULL) {
		char name[128];

		snprintf(name, sizeof(name), "%.48s%s%.48s", argv[optind],
		         optind + 1 < argc && (strcmp(argv[optind], "ip") == 0 ||
		                               strcmp(argv[optind], "user") == 0)
		             ? " "
		             : "",
		         optind + 1 < argc && (strcmp(argv[optind], "ip") == 0 ||
		                               strcmp(argv[optind], "user") == 0)
		             ? argv[optind + 1]
		             : "");
		if (o.help &&
		    (strcmp(argv[optind], "ip") == 0 || strcmp(argv[optind], "user") == 0)) {
			for (size_t i = 0; i < N_CLI_CMDS; i++) {
				if (strncmp(cli_cmds[i].name, argv[optind], strlen(argv[optind])) ==
				        0 &&
				    cli_cmds[i].name[strlen(argv[optind])] == ' ')
					cmd_help(&cli_cmds[i]);
			}
			return 0;
		}
		return usage_error("unknown command \"%s\"", name);
	}
	if (o.help) {
		cmd_help(c);
		return 0;
	}
	if (usage_err[0] != '\0')
		return usage_error("%s", usage_err);
	if (o.socket != NULL && o.config != NULL)
		return usage_error("give --socket or --config, not both");
	if (o.given & ~c->opts) {
		unsigned bad = o.given & ~c->opts;

		for (unsigned i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++) {
			if (bad & (1u << i))
				return usage_error("%s: %s do%s not apply (witnessctl %s --help)",
				                   c->name, opt_names[i],
				                   strchr(opt_names[i], '/') ? "" : "es", c->name);
		}
	}
	return c->run(&o, c, argc - optind - used, argv + optind + used);
}
