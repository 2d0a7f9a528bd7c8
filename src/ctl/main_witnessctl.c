/*
 * main_witnessctl.c - witnessctl, the admin tool of witnessd.
 *
 *   witnessctl [--socket PATH | --config FILE] [--json] COMMAND ...
 *
 * Talks to the daemon over its admin socket (include/witness/ctl.h), except
 * `user add|del|list`, which edit the NTLM password file directly. The
 * registration commands mirror Samba's `net witness` (same selectors, same
 * text and JSON output; Samba source3/utils/net_witness.c), so scripts written for one work
 * with the other. Exit status: 0 success, 1 the daemon or the file operation
 * failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "witness/auth_passdb.h"
#include "witness/config.h"
#include "witness/ctl.h"
#include "witness/err.h"
#include "witness/log.h"

#define DEFAULT_CONFIG "/etc/witnessd/witnessd.conf"
#define DEFAULT_SOCKET "/run/witnessd/witnessd.sock"
#define EXIT_FAIL      1
#define EXIT_USAGE     2

struct opts {
	const char *socket;
	const char *config;
	bool json;
	int timeout_s;
	/* selectors, as net witness */
	const char *registration, *net_name, *share_name, *ip_address, *client_computer_name;
	bool apply_to_all;
	const char *new_node, *new_ip, *forced_response;
	/* ip set */
	int available; /* -1 unset */
	const char *node;
	/* user */
	const char *domain, *file;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: witnessctl [--socket PATH | --config FILE] [--json] COMMAND ...\n"
	        "\n"
	        "Daemon commands (over the admin socket):\n"
	        "  status                         daemon, cluster and registration counters\n"
	        "  ip list                        the cluster's interfaces and where they are\n"
	        "  ip set IP --unavailable | --available | --node N\n"
	        "                                 change an IP (static backend; for keepalived,\n"
	        "                                 Pacemaker and other HA scripts)\n"
	        "  list [SELECTORS]               witness registrations (like net witness list)\n"
	        "  client-move SELECTORS (--new-node N|-1 | --new-ip IP)\n"
	        "  share-move SELECTORS (--new-node N|-1 | --new-ip IP)\n"
	        "  force-unregister SELECTORS\n"
	        "  force-response SELECTORS [--forced-response JSON]\n"
	        "\n"
	        "Selectors (POSIX extended regexes, case-insensitive, ANDed; as net witness):\n"
	        "  --registration UUID  --net-name RE  --share-name RE  --ip-address RE\n"
	        "  --client-computer-name RE  --apply-to-all (updates with no selector)\n"
	        "  The --witness-* spellings of net witness are accepted too.\n"
	        "\n"
	        "NTLM accounts (edit the password file; no daemon needed):\n"
	        "  user add NAME [--domain D] [--file PATH]   password from stdin or a prompt\n"
	        "  user del NAME [--domain D] [--file PATH]\n"
	        "  user list [--file PATH]\n"
	        "  Send SIGHUP to witnessd (systemctl reload witnessd) to apply changes.\n"
	        "\n"
	        "Options:\n"
	        "  -s, --socket PATH   admin socket (default: from the config, else " DEFAULT_SOCKET
	        ")\n"
	        "  -c, --config FILE   witnessd.conf to take the socket / password file from\n"
	        "                      (default " DEFAULT_CONFIG ")\n"
	        "  -j, --json          machine-readable output\n"
	        "  -t, --timeout SEC   wait at most SEC seconds for the daemon (default 10)\n"
	        "See witnessctl(8).\n");
}

static int die_usage(const char *msg)
{
	fprintf(stderr, "witnessctl: %s\n", msg);
	fprintf(stderr, "Try 'witnessctl --help'.\n");
	return EXIT_USAGE;
}

/* Config values witnessctl needs; a missing default config is fine. */
static int load_config(const struct opts *o, struct wd_config *c, bool *have)
{
	char err[1024];
	const char *path = o->config != NULL ? o->config : DEFAULT_CONFIG;

	*have = false;
	if (o->config == NULL && access(path, F_OK) != 0)
		return 0;
	if (wd_config_load(path, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "witnessctl: %s\n", err);
		return EXIT_USAGE;
	}
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

/* Sends req (consumed) and returns the "result" of an ok reply (caller frees), or NULL. */
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
			*exit_code = EXIT_FAIL;
		return NULL;
	}
	rc = ctl_client_call(path, req, o->timeout_s * 1000, &reply, err, sizeof(err));
	free(path);
	cJSON_Delete(req);
	if (rc != 0) {
		fprintf(stderr, "witnessctl: %s\n", err);
		*exit_code = EXIT_FAIL;
		return NULL;
	}
	ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");

		fprintf(stderr, "witnessctl: %s\n",
		        cJSON_IsString(e) ? e->valuestring : "request failed");
		cJSON_Delete(reply);
		*exit_code = EXIT_FAIL;
		return NULL;
	}
	res = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
	cJSON_Delete(reply);
	*exit_code = 0;
	return res != NULL ? res : cJSON_CreateNull();
}

static void print_json(const cJSON *v)
{
	char *s = cJSON_Print(v);

	if (s != NULL)
		puts(s);
	cJSON_free(s);
}

static cJSON *new_req(const char *cmd)
{
	cJSON *r = cJSON_CreateObject();

	if (r == NULL) {
		fprintf(stderr, "witnessctl: out of memory\n");
		exit(EXIT_FAIL);
	}
	cJSON_AddStringToObject(r, "cmd", cmd);
	return r;
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

/* ---- status / ip ---- */

static int cmd_status(const struct opts *o)
{
	int ec;
	cJSON *res = call(o, new_req("status"), &ec), *it;

	if (res == NULL)
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

static void print_ips(const cJSON *res)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "interfaces"), *ip;
	const cJSON *ln = cJSON_GetObjectItemCaseSensitive(res, "local_node");
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(res, "backend");

	printf("backend: %s, local node: %.0f\n", cJSON_IsString(be) ? be->valuestring : "?",
	       cJSON_IsNumber(ln) ? ln->valuedouble : 0);
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

static int cmd_ip(const struct opts *o, int argc, char **argv)
{
	cJSON *req, *res;
	int ec;

	if (argc < 1)
		return die_usage("ip: expected \"list\" or \"set\"");
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			return die_usage("ip list: no arguments expected");
		req = new_req("ip-list");
	} else if (strcmp(argv[0], "set") == 0) {
		double node;

		if (argc != 2)
			return die_usage("ip set: expected exactly one IP address");
		if (o->available < 0 && o->node == NULL)
			return die_usage("ip set: give --unavailable, --available and/or --node N");
		req = new_req("ip-set");
		cJSON_AddStringToObject(req, "ip", argv[1]);
		if (o->available >= 0)
			cJSON_AddBoolToObject(req, "available", o->available);
		if (o->node != NULL) {
			if (!parse_node(o->node, false, &node)) {
				cJSON_Delete(req);
				return die_usage("ip set: --node needs a node number");
			}
			cJSON_AddNumberToObject(req, "node", node);
		}
	} else {
		return die_usage("ip: expected \"list\" or \"set\"");
	}
	res = call(o, req, &ec);
	if (res == NULL)
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

static int cmd_registrations(const struct opts *o, const char *cmd, int argc)
{
	bool update = strcmp(cmd, "list") != 0;
	bool move = strcmp(cmd, "client-move") == 0 || strcmp(cmd, "share-move") == 0;
	char msg[160];
	cJSON *req, *res;
	int ec;

	if (argc != 0) {
		snprintf(msg, sizeof(msg), "%s: unexpected argument", cmd);
		return die_usage(msg);
	}
	/* net witness: --apply-to-all is required without selectors and excludes them */
	if (o->apply_to_all && has_selector(o)) {
		snprintf(msg, sizeof(msg), "%s: --apply-to-all cannot be combined with selectors",
		         cmd);
		return die_usage(msg);
	}
	if (update && !o->apply_to_all && !has_selector(o)) {
		snprintf(msg, sizeof(msg),
		         "%s: give a selector (--registration, --net-name, ...) or --apply-to-all",
		         cmd);
		return die_usage(msg);
	}
	if (!move && (o->new_node || o->new_ip)) {
		snprintf(msg, sizeof(msg), "%s: --new-node / --new-ip only apply to moves", cmd);
		return die_usage(msg);
	}
	if (move && (o->new_node != NULL) == (o->new_ip != NULL)) {
		snprintf(msg, sizeof(msg), "%s: give exactly one of --new-node N and --new-ip IP",
		         cmd);
		return die_usage(msg);
	}
	if (o->forced_response && strcmp(cmd, "force-response") != 0)
		return die_usage("--forced-response only applies to force-response");
	req = new_req(cmd);
	cJSON_AddItemToObject(req, "filters", filters(o));
	if (move && o->new_node) {
		double n;

		if (!parse_node(o->new_node, true, &n)) {
			cJSON_Delete(req);
			return die_usage("--new-node needs a node number or -1 (all nodes)");
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
			return die_usage("--forced-response: not a JSON object");
		}
		cJSON_AddItemToObject(req, "forced_response", fr);
	}
	res = call(o, req, &ec);
	if (res == NULL)
		return ec;
	if (o->json)
		print_json(res);
	else
		ctl_print_registrations(stdout, res);
	cJSON_Delete(res);
	return 0;
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
		fprintf(stderr, "witnessctl: no password file: give --file PATH or set \"ntlm "
		                "password file\" in the config (--config FILE)\n");
		return EXIT_USAGE;
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
		if (!read_line(stdin, pw, len)) {
			fprintf(stderr, "witnessctl: no password on stdin\n");
			return EXIT_FAIL;
		}
		return 0;
	}
	tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		fprintf(stderr, "witnessctl: cannot open /dev/tty: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	if (!prompt(tty, "New password: ", pw, len) ||
	    !prompt(tty, "Retype new password: ", again, sizeof(again))) {
		fclose(tty);
		wd_memzero(again, sizeof(again));
		return EXIT_FAIL;
	}
	fclose(tty);
	if (strcmp(pw, again) != 0) {
		wd_memzero(again, sizeof(again));
		fprintf(stderr, "witnessctl: passwords do not match\n");
		return EXIT_FAIL;
	}
	wd_memzero(again, sizeof(again));
	return 0;
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

static int cmd_user(const struct opts *o, int argc, char **argv)
{
	char *path = NULL;
	int rc, ec;

	if (argc < 1)
		return die_usage("user: expected add, del or list");
	if (strcmp(argv[0], "list") == 0) {
		struct list_ctx lc = {.json = o->json, .arr = cJSON_CreateArray()};

		if (argc != 1)
			return die_usage("user list: no arguments expected");
		if ((ec = passdb_path(o, &path)) != 0)
			return ec;
		if (!o->json)
			printf("%-40s %-8s %s\n", "Account", "Uid", "State");
		rc = auth_passdb_user_list(path, list_one_text, &lc);
		if (rc == WD_ENOTFOUND)
			rc = 0; /* no file yet: no users */
		if (rc != 0) {
			fprintf(stderr, "witnessctl: %s: %s\n", path, wd_strerror(rc));
			cJSON_Delete(lc.arr);
			free(path);
			return EXIT_FAIL;
		}
		if (o->json)
			print_json(lc.arr);
		cJSON_Delete(lc.arr);
		free(path);
		return 0;
	}
	if (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "del") != 0)
		return die_usage("user: expected add, del or list");
	if (argc != 2)
		return die_usage("user add/del: expected exactly one NAME (the password is read "
		                 "from stdin or a prompt, never from the command line)");
	if ((ec = passdb_path(o, &path)) != 0)
		return ec;
	if (argv[0][0] == 'a') {
		char pw[512];

		if ((ec = read_password(pw, sizeof(pw))) != 0) {
			wd_memzero(pw, sizeof(pw));
			free(path);
			return ec;
		}
		rc = auth_passdb_user_add(path, o->domain, argv[1], pw);
		wd_memzero(pw, sizeof(pw));
	} else {
		rc = auth_passdb_user_del(path, o->domain, argv[1]);
	}
	if (rc != 0) {
		fprintf(stderr, "witnessctl: user %s %s%s%s: %s: %s\n", argv[0],
		        o->domain ? o->domain : "", o->domain ? "\\" : "", argv[1], path,
		        rc == WD_ENOTFOUND ? "no such user"
		        : rc == WD_EINVAL  ? "invalid name, domain or empty password"
		                           : wd_strerror(rc));
		free(path);
		return EXIT_FAIL;
	}
	if (!o->json)
		printf("%s %s%s%s in %s (run \"systemctl reload witnessd\" or send SIGHUP to "
		       "apply)\n",
		       argv[0][0] == 'a' ? "added" : "deleted", o->domain ? o->domain : "",
		       o->domain ? "\\" : "", argv[1], path);
	free(path);
	return 0;
}

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
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.timeout_s = 10, .available = -1};
	const char *cmd;
	int opt;

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
				return die_usage("--timeout needs 1..3600 seconds");
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("witnessctl %s\n", WITNESSD_VERSION);
			return 0;
		case OPT_REGISTRATION:
			o.registration = optarg;
			break;
		case OPT_NET_NAME:
			o.net_name = optarg;
			break;
		case OPT_SHARE_NAME:
			o.share_name = optarg;
			break;
		case OPT_IP_ADDRESS:
			o.ip_address = optarg;
			break;
		case OPT_CLIENT_COMPUTER_NAME:
			o.client_computer_name = optarg;
			break;
		case OPT_APPLY_TO_ALL:
			o.apply_to_all = true;
			break;
		case OPT_NEW_NODE:
			o.new_node = optarg;
			break;
		case OPT_NEW_IP:
			o.new_ip = optarg;
			break;
		case OPT_FORCED_RESPONSE:
			o.forced_response = optarg;
			break;
		case OPT_UNAVAILABLE:
			if (o.available == 1)
				return die_usage(
				    "--available and --unavailable exclude each other");
			o.available = 0;
			break;
		case OPT_AVAILABLE:
			if (o.available == 0)
				return die_usage(
				    "--available and --unavailable exclude each other");
			o.available = 1;
			break;
		case OPT_NODE:
			o.node = optarg;
			break;
		case OPT_DOMAIN:
			o.domain = optarg;
			break;
		case OPT_FILE:
			o.file = optarg;
			break;
		default:
			return die_usage("bad option");
		}
	}
	if (o.socket != NULL && o.config != NULL)
		return die_usage("give --socket or --config, not both");
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if ((o.available >= 0 || o.node) && strcmp(cmd, "ip") != 0)
		return die_usage("--available / --unavailable / --node only apply to \"ip set\"");
	if (strcmp(cmd, "status") == 0) {
		if (argc != 0)
			return die_usage("status: no arguments expected");
		return cmd_status(&o);
	}
	if (strcmp(cmd, "ip") == 0)
		return cmd_ip(&o, argc, argv);
	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "client-move") == 0 ||
	    strcmp(cmd, "share-move") == 0 || strcmp(cmd, "force-unregister") == 0 ||
	    strcmp(cmd, "force-response") == 0)
		return cmd_registrations(&o, cmd, argc);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(&o, argc, argv);
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd);
		return die_usage(msg);
	}
}
