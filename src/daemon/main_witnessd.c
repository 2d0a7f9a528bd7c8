/*
 * main_witnessd.c - witnessd: the SMB Witness (MS-SWN) daemon.
 *
 *   witnessd --config FILE [--foreground] [--check-config [--verbose]] [--version]
 *
 * One libuv loop runs everything: the DCERPC listeners (witness port on every
 * listen address, endpoint mapper on 135), the cluster backend, the witness
 * service, the sqlite store, the admin socket and the signal handlers.
 * witnessd never forks and writes no pid file: it is meant for systemd
 * Type=notify (READY=1 once every listener is up, STATUS=, STOPPING=1,
 * WATCHDOG=1 when WatchdogSec= is set) or any other supervisor.
 *
 * Exit status: 0 clean shutdown, 1 runtime failure (a port in use...),
 * 2 bad command line or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <systemd/sd-daemon.h>

#include "witness/auth.h"
#include "witness/cluster.h"
#include "witness/config.h"
#include "witness/ctl.h"
#include "witness/dcerpc.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "witness/ndr_witness.h"
#include "witness/store.h"
#include "witness/wit.h"
#include "witness/ctdb.h"

#define DEFAULT_CONFIG     "/etc/witnessd/witnessd.conf"
#define EXIT_CONFIG        2
#define STATUS_INTERVAL_MS 10000

struct daemon {
	uv_loop_t loop;
	struct wd_config cfg;
	const char *config_path;
	cluster_t *cluster;
	store_t *store;
	auth_server_t *auth;
	wit_service_t *wit;
	dcerpc_server_t *rpc;
	unsigned max_connections; /* after fd_room */
	ctl_server_t *ctl;
	metrics_http_t *metrics; /* NULL: no "metrics listen" */
	struct ctl_admin admin;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog, status_timer;
	uint64_t watchdog_usec;
	uint16_t witness_port; /* bound */
	bool stopping;
	int exit_code;
	/* the last SIGHUP, for status */
	struct {
		unsigned count;
		time_t at;
		bool ok;
		char error[1024];
		char restart_needed[256];
	} reload;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: witnessd [--config FILE] [--foreground] [--check-config [--verbose]]\n"
	           "                [--version] [--help]\n"
	           "  -c, --config FILE    configuration file (default " DEFAULT_CONFIG ")\n"
	           "  -F, --foreground     log to stderr, not to the journal\n"
	           "  -t, --check-config   check the configuration and exit (2 if bad)\n"
	           "  -v, --verbose        with --check-config: print the effective configuration\n"
	           "  -V, --version        print the version and exit\n"
	           "See witnessd(8) and witnessd.conf(5).\n");
}

/* ---- status / sd_notify ---- */

static cJSON *daemon_status(void *arg)
{
	struct daemon *d = arg;
	cJSON *o = cJSON_CreateObject();
	cJSON *la;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "version", WITNESSD_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddStringToObject(o, "netname", d->cfg.netname);
	la = cJSON_AddArrayToObject(o, "listen_addresses");
	for (size_t i = 0; i < d->cfg.n_listen_addresses; i++)
		cJSON_AddItemToArray(la, cJSON_CreateString(d->cfg.listen_addresses[i]));
	cJSON_AddNumberToObject(o, "witness_port", d->witness_port);
	cJSON_AddNumberToObject(o, "epmapper_port", d->cfg.epmapper_port);
	cJSON_AddStringToObject(o, "min_auth_level",
	                        wd_config_auth_level_name(d->cfg.min_auth_level));
	cJSON_AddBoolToObject(o, "auth", d->auth != NULL);
	cJSON_AddStringToObject(o, "log_level", wd_config_log_level_name(wd_log_get_level()));
	if (d->reload.count > 0) {
		cJSON *r = cJSON_AddObjectToObject(o, "last_reload");
		char when[32];
		struct tm tm;

		gmtime_r(&d->reload.at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(r, "time", when);
		cJSON_AddStringToObject(r, "result", d->reload.ok ? "ok" : "failed");
		if (!d->reload.ok)
			cJSON_AddStringToObject(r, "error", d->reload.error);
		if (d->reload.restart_needed[0] != '\0')
			cJSON_AddStringToObject(r, "restart_needed", d->reload.restart_needed);
		cJSON_AddNumberToObject(r, "count", d->reload.count);
	}
	if (d->rpc != NULL) {
		struct dcerpc_stats st;

		dcerpc_server_stats(d->rpc, &st);
		cJSON_AddNumberToObject(o, "connections", st.connections_open);
		cJSON_AddNumberToObject(o, "connections_total", (double)st.connections_total);
		cJSON_AddNumberToObject(o, "calls_total", (double)st.calls_total);
		cJSON_AddNumberToObject(o, "faults_total", (double)st.faults_total);
		cJSON_AddNumberToObject(o, "auth_failures", (double)st.auth_failures);
		cJSON_AddNumberToObject(o, "protocol_errors", (double)st.protocol_errors);
		cJSON_AddNumberToObject(o, "connections_refused", (double)st.connections_refused);
		cJSON_AddNumberToObject(o, "accept_errors", (double)st.accept_errors);
		cJSON_AddBoolToObject(o, "accept_paused", st.accept_paused);
		cJSON_AddNumberToObject(o, "buffer_bytes", (double)st.buffer_bytes);
		cJSON_AddNumberToObject(o, "buffer_peak", (double)st.buffer_peak);
		cJSON_AddNumberToObject(o, "buffer_limit", (double)d->cfg.max_buffer_memory);
		cJSON_AddNumberToObject(o, "budget_cuts", (double)st.budget_cuts);
		cJSON_AddNumberToObject(o, "request_timeouts", (double)st.request_timeouts);
		cJSON_AddNumberToObject(o, "requests_too_large", (double)st.requests_too_large);
		cJSON_AddNumberToObject(o, "max_connections", d->max_connections);
	}
	return o;
}

static void notify_status(struct daemon *d)
{
	struct wit_stats ws = {0};
	struct dcerpc_stats rs = {0};
	const struct cluster_view *v = d->cluster ? cluster_view(d->cluster) : NULL;

	if (d->wit != NULL)
		wit_service_stats(d->wit, &ws);
	if (d->rpc != NULL)
		dcerpc_server_stats(d->rpc, &rs);
	sd_notifyf(
	    0, "STATUS=%u registrations, %u pending notifies, %u connections, %zu interfaces (%s)",
	    ws.registrations, ws.pending_notifies, rs.connections_open, v ? v->n : (size_t)0,
	    d->cluster ? cluster_backend_name(d->cluster) : "-");
}

static void on_status_timer(uv_timer_t *t)
{
	notify_status(t->data);
}

static void on_watchdog(uv_timer_t *t)
{
	/* The loop ran this timer, so the loop is alive: that is what we vouch for. */
	sd_notify(0, "WATCHDOG=1");
}

/* ---- shutdown ---- */

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void shutdown_rest(void *arg)
{
	struct daemon *d = arg;

	/* The DCERPC server is gone (calls cancelled): now the service and below. */
	d->rpc = NULL;
	if (d->wit != NULL) {
		wit_service_free(d->wit);
		d->wit = NULL;
	}
	ctl_admin_stop(&d->admin); /* before the service and the cluster go */
	d->admin.wit = NULL;
	if (d->cluster != NULL) {
		cluster_stop(d->cluster);
		cluster_free(d->cluster);
		d->cluster = NULL;
	}
	d->admin.cluster = NULL;
	if (d->store != NULL) {
		store_close(d->store);
		d->store = NULL;
	}
	if (d->auth != NULL) {
		auth_server_free(d->auth);
		d->auth = NULL;
	}
	close_handle((uv_handle_t *)&d->sig_term);
	close_handle((uv_handle_t *)&d->sig_int);
	close_handle((uv_handle_t *)&d->sig_hup);
	close_handle((uv_handle_t *)&d->watchdog);
	close_handle((uv_handle_t *)&d->status_timer);
	wd_log(WD_LOG_INFO, "daemon.stopped", "exit=%d", d->exit_code);
}

static void ctl_closed(void *arg)
{
	struct daemon *d = arg;

	d->ctl = NULL;
	if (d->rpc != NULL)
		dcerpc_server_close(d->rpc, shutdown_rest, d);
	else
		shutdown_rest(d);
}

static void daemon_stop(struct daemon *d, int exit_code)
{
	if (d->stopping)
		return;
	d->stopping = true;
	d->exit_code = exit_code;
	sd_notify(0, "STOPPING=1");
	/*
	 * Every pending AsyncNotify is answered (ERROR_NOT_FOUND: the client
	 * registers with another witness, see wit_service_stop) before the
	 * connections close; dcerpc_server_close then flushes those replies for
	 * at most 2 s, so the exit is bounded whatever the clients do.
	 */
	unsigned answered = d->wit != NULL ? wit_service_stop(d->wit) : 0;

	/* GetInterfaceList calls waiting for an AVAILABLE interface get the list as it is */
	if (d->wit != NULL)
		wit_service_answer_interface_waits(d->wit);

	wd_log(WD_LOG_INFO, "daemon.stopping", "exit=%d notifies_answered=%u", exit_code, answered);
	uv_timer_stop(&d->watchdog);
	uv_timer_stop(&d->status_timer);
	metrics_http_close(d->metrics, NULL, NULL);
	d->metrics = NULL;
	if (d->ctl != NULL)
		ctl_server_close(d->ctl, ctl_closed, d);
	else
		ctl_closed(d);
}

static void daemon_reload(struct daemon *d);

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		if (!d->stopping)
			daemon_reload(d);
		return;
	}
	wd_log(WD_LOG_INFO, "daemon.signal", "signal=%s", signum == SIGTERM ? "TERM" : "INT");
	daemon_stop(d, 0);
}

/* ---- wiring ---- */

/* GET /metrics on "metrics listen" (off by default); the series are always kept. */
static int start_metrics(struct daemon *d)
{
	char err[256];
	uint16_t port = 0;
	int rc;

	metrics_set_info(WITNESSD_VERSION, cluster_backend_name(d->cluster));
	if (d->cfg.metrics_listen == NULL)
		return 0;
	rc =
	    metrics_http_new(&d->loop, d->cfg.metrics_listen, &d->metrics, &port, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "witnessd: %s\n", err);
		return rc;
	}
	wd_log(WD_LOG_INFO, "metrics.listen", "address=%s", d->cfg.metrics_listen);
	return 0;
}

static void on_conn(void *arg, bool up, const char *local_ip, uint16_t local_port,
                    const char *remote_ip, uint16_t remote_port)
{
	struct daemon *d = arg;

	if (d->cluster != NULL)
		cluster_track_connection(d->cluster, up, local_ip, local_port, remote_ip,
		                         remote_port);
}

static void on_release(void *arg, const char *addr)
{
	struct daemon *d = arg;

	if (d->rpc != NULL) {
		unsigned n = dcerpc_server_drop_local_ip(d->rpc, addr);

		wd_log(WD_LOG_NOTICE, "daemon.ip_released", "ip=%s connections_closed=%u", addr, n);
	}
}

static int make_cluster(struct daemon *d)
{
	const struct wd_config *c = &d->cfg;
	struct cluster_view *v;
	int rc;

	if (c->cluster_backend == WD_BACKEND_CTDB) {
		struct ctdb_backend_opts co = {
		    .socket = c->ctdb_socket,
		    .include_node_ips = c->ctdb_include_node_ips,
		    .include_public_ips = c->ctdb_include_public_ips,
		    .reread_interval = c->ctdb_reread_interval,
		};

		rc = ctdb_cluster_new(&d->loop, &co, &d->cluster);
		if (rc != 0)
			fprintf(stderr,
			        "witnessd: cannot set up the ctdb backend (socket %s): %s\n",
			        c->ctdb_socket, wd_strerror(rc));
		return rc;
	}
	v = cluster_view_new(c->static_local_node);
	if (v == NULL)
		return WD_ENOMEM;
	for (size_t i = 0; i < c->n_static_interfaces; i++) {
		rc = cluster_view_add(v, c->static_interfaces[i].addr, c->static_interfaces[i].node,
		                      CLUSTER_NODE_NONE, true);
		if (rc != 0) {
			fprintf(stderr, "witnessd: [static] interfaces: %s: %s\n",
			        c->static_interfaces[i].addr, wd_strerror(rc));
			cluster_view_free(v);
			return rc;
		}
	}
	rc = cluster_static_new(&d->loop, v, &d->cluster);
	cluster_view_free(v);
	return rc;
}

/* NetBIOS form of the netname: the first DNS label, upper case, at most 15 chars. */
static void netbios_name(const char *netname, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; netname[i] != '\0' && netname[i] != '.' && i < 15 && i + 1 < outlen; i++)
		out[i] =
		    (char)(netname[i] >= 'a' && netname[i] <= 'z' ? netname[i] - 32 : netname[i]);
	out[i] = '\0';
}

static int make_auth(struct daemon *d)
{
	const struct wd_config *c = &d->cfg;
	char nb[16];
	struct auth_server_opts o = {0};
	int rc;

	if (c->keytab == NULL && c->ntlm_password_file == NULL)
		return 0; /* anonymous binds only */
	netbios_name(c->netname, nb, sizeof(nb));
	o.netname = nb;
	o.dns_name = strchr(c->netname, '.') != NULL ? c->netname : NULL;
	o.domain = c->workgroup;
	o.keytab = c->keytab;
	o.ntlm_password_file = c->ntlm_password_file;
	o.methods = c->auth_methods;
	o.ntlm_refuse_anonymous = !c->ntlmssp_anonymous;
	rc = auth_server_new(&o, &d->auth);
	if (rc != 0)
		fprintf(
		    stderr,
		    "witnessd: cannot set up authentication (keytab %s, password file %s): %s\n",
		    c->keytab ? c->keytab : "-",
		    c->ntlm_password_file ? c->ntlm_password_file : "-", wd_strerror(rc));
	return rc;
}

static int make_store(struct daemon *d)
{
	char path[4096];
	int rc;

	if (mkdir(d->cfg.state_directory, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "witnessd: state directory = %s: cannot create it: %s\n",
		        d->cfg.state_directory, strerror(errno));
		return WD_EIO;
	}
	snprintf(path, sizeof(path), "%s/registrations.sqlite", d->cfg.state_directory);
	rc = store_open(path, &d->store);
	if (rc != 0)
		fprintf(stderr, "witnessd: cannot open the registration store %s: %s\n", path,
		        wd_strerror(rc));
	return rc;
}

/* Registers ip unless it is there already (wildcards and explicit addresses may overlap). */
static int epm_add(struct daemon *d, const struct dcerpc_syntax_id *wit_syntax, const char *ip,
                   char (*done)[INET_ADDRSTRLEN], size_t *n_done, size_t max_done)
{
	int rc;

	for (size_t i = 0; i < *n_done; i++) {
		if (strcmp(done[i], ip) == 0)
			return 0;
	}
	rc = dcerpc_epm_register(d->rpc, wit_syntax, ip, d->witness_port, "witness");
	if (rc != 0) {
		fprintf(stderr,
		        "witnessd: cannot register %s port %u with the endpoint mapper: %s\n", ip,
		        d->witness_port, wd_strerror(rc));
		return rc;
	}
	if (*n_done < max_done)
		snprintf(done[(*n_done)++], INET_ADDRSTRLEN, "%s", ip);
	return 0;
}

/*
 * Endpoint mapper entries for the witness interface. An ncacn_ip_tcp tower
 * carries an IPv4 address only ([C706] appendix L, floor 5), so IPv4 addresses are registered: a
 * wildcard listen address ("0.0.0.0", or "::", which is dual-stack) as every local IPv4 address,
 * 127.0.0.1 included, so that ept_map answers with an address the client can reach whatever IP it
 * asked on (rpcclient and Windows send the server's IP in the map tower). An IPv6-only listen
 * address gets no entry (logged): clients reach it with an explicit port.
 */
static int register_epm(struct daemon *d, const struct dcerpc_syntax_id *wit_syntax)
{
	char done[256][INET_ADDRSTRLEN];
	size_t n_done = 0;
	int rc = 0;

	for (size_t i = 0; i < d->cfg.n_listen_addresses && rc == 0; i++) {
		const char *la = d->cfg.listen_addresses[i];
		bool any = strcmp(la, "0.0.0.0") == 0 || strcmp(la, "::") == 0;
		uv_interface_address_t *ifs = NULL;
		int n = 0;

		if (!any) {
			if (strchr(la, ':') != NULL)
				wd_log(WD_LOG_NOTICE, "daemon.epm_skip",
				       "ip=%s reason=ipv6_not_in_ncacn_ip_tcp_towers", la);
			else
				rc = epm_add(d, wit_syntax, la, done, &n_done, 256);
			continue;
		}
		rc = epm_add(d, wit_syntax, "127.0.0.1", done, &n_done, 256);
		if (uv_interface_addresses(&ifs, &n) != 0)
			n = 0, ifs = NULL;
		for (int k = 0; rc == 0 && k < n; k++) {
			char ip[INET_ADDRSTRLEN];

			if (ifs[k].address.address4.sin_family != AF_INET)
				continue;
			uv_ip4_name(&ifs[k].address.address4, ip, sizeof(ip));
			rc = epm_add(d, wit_syntax, ip, done, &n_done, 256);
		}
		if (ifs != NULL)
			uv_free_interface_addresses(ifs, n);
	}
	return rc;
}

/*
 * Descriptors kept for everything but RPC connections: the listeners, the
 * admin socket and its clients, ctdbd, the store, the journal and libuv's
 * own. RPC connections beyond what the limit leaves are refused at accept,
 * so the admin socket keeps answering when clients use up the rest.
 */
#define FD_RESERVE 128

/*
 * Raise the soft RLIMIT_NOFILE to the hard one (systemd does this with
 * LimitNOFILE=; started by hand or from an init script nothing does) and
 * return how many RPC connections the limit leaves room for, at most want.
 */
static unsigned fd_room(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			wd_log(WD_LOG_INFO, "daemon.fd_limit.raised", "from=%llu to=%llu",
			       (unsigned long long)old, (unsigned long long)rl.rlim_cur);
		else
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want + FD_RESERVE)
		return want;
	unsigned room = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
	                                             : (unsigned)(rl.rlim_cur / 2);
	wd_log(WD_LOG_WARNING, "daemon.fd_limit",
	       "max_connections=%u fd_limit=%llu reserve=%u serving=%u hint=\"raise LimitNOFILE= "
	       "or ulimit -n, or lower max connections\"",
	       want, (unsigned long long)rl.rlim_cur, FD_RESERVE, room);
	return room;
}

static bool is_wildcard(const char *a)
{
	return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
}

/*
 * One listener. A specific address is bound with IP_FREEBIND unless
 * "listen freebind = no", so a floating address can be listened on before
 * the cluster brings it here. The error names the key, the address, the port
 * and the system's own words for what went wrong.
 */
static int listen_one(struct daemon *d, const char *addr, uint16_t port, const char *port_key,
                      uint16_t *bound)
{
	bool freebind = d->cfg.listen_freebind && !is_wildcard(addr);
	int sys = 0;
	int rc = dcerpc_server_listen_opt(d->rpc, addr, port, freebind, bound, &sys);

	if (rc == 0)
		return 0;
	fprintf(stderr, "witnessd: listen addresses = %s, %s = %u: cannot listen: %s%s\n", addr,
	        port_key, port, sys != 0 ? strerror(sys) : wd_strerror(rc),
	        sys == EADDRINUSE      ? " (another program, such as Samba's samba-dcerpcd or "
	                                 "rpcbind on 135, or another witnessd, holds it)"
	        : sys == EADDRNOTAVAIL ? " (the address is not on this node; \"listen freebind = "
	                                 "yes\" binds it anyway)"
	        : sys == EACCES        ? " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
	                               : "");
	return rc;
}

/* Logs each specific listen address that no interface of this node has (yet). */
static void log_absent_addresses(const struct daemon *d)
{
	uv_interface_address_t *ifs = NULL;
	int n = 0;

	if (uv_interface_addresses(&ifs, &n) != 0)
		return;
	for (size_t i = 0; i < d->cfg.n_listen_addresses; i++) {
		const char *la = d->cfg.listen_addresses[i];
		bool found = false;

		if (is_wildcard(la))
			continue;
		for (int k = 0; k < n && !found; k++) {
			char ip[INET6_ADDRSTRLEN] = "";

			if (ifs[k].address.address4.sin_family == AF_INET)
				uv_ip4_name(&ifs[k].address.address4, ip, sizeof(ip));
			else if (ifs[k].address.address6.sin6_family == AF_INET6)
				uv_ip6_name(&ifs[k].address.address6, ip, sizeof(ip));
			found = strcmp(ip, la) == 0;
		}
		if (!found)
			wd_log(
			    WD_LOG_WARNING, "daemon.listen_absent",
			    "ip=%s freebind=%d hint=\"not on this node yet: clients reach it once "
			    "it is added\"",
			    la, d->cfg.listen_freebind);
	}
	uv_free_interface_addresses(ifs, n);
}

static void make_limits(struct daemon *d, const struct wd_config *c, struct dcerpc_limits *lim)
{
	dcerpc_limits_default(lim);
	lim->max_connections = d->max_connections = fd_room(c->max_connections);
	lim->max_request_unauth = c->max_unauth_request_size;
	lim->max_buffer_memory = c->max_buffer_memory;
	lim->request_timeout_ms = c->request_timeout * 1000u;
	lim->max_connections_per_ip = c->max_connections_per_client;
	lim->max_request = c->max_request_size;
	lim->max_pending_calls = c->max_pending_calls;
}

static int make_rpc(struct daemon *d)
{
	const struct wd_config *c = &d->cfg;
	struct dcerpc_limits lim;
	const struct dcerpc_iface *wi = wit_service_iface(d->wit);
	char princ[300];
	int rc;

	make_limits(d, c, &lim);
	if ((rc = dcerpc_server_new(&d->loop, &lim, d->auth, &d->rpc)) != 0)
		return rc;
	if ((rc = dcerpc_server_add_iface(d->rpc, wi)) != 0)
		return rc;
	snprintf(princ, sizeof(princ), "cifs/%s", c->netname);
	if ((rc = dcerpc_mgmt_enable(d->rpc, princ)) != 0)
		return rc;
	if (c->epmapper_port != 0 && (rc = dcerpc_epm_enable(d->rpc)) != 0)
		return rc;
	dcerpc_server_set_conn_observer(d->rpc, on_conn, d);
	/* The same witness port on every address: the first bind picks it if 0. */
	d->witness_port = c->witness_port;
	for (size_t i = 0; i < c->n_listen_addresses; i++) {
		uint16_t bound = 0;

		rc = listen_one(d, c->listen_addresses[i], d->witness_port, "witness port", &bound);
		if (rc != 0)
			return rc;
		if (d->witness_port == 0)
			d->witness_port = bound;
	}
	if (c->epmapper_port != 0) {
		for (size_t i = 0; i < c->n_listen_addresses; i++) {
			rc = listen_one(d, c->listen_addresses[i], c->epmapper_port,
			                "epmapper port", NULL);
			if (rc != 0)
				return rc;
		}
		if ((rc = register_epm(d, &wi->syntax)) != 0)
			return rc;
	}
	log_absent_addresses(d);
	return 0;
}

static void wit_config_from(const struct daemon *d, const struct wd_config *c,
                            struct wit_config *out)
{
	const struct cluster_view *v = cluster_view(d->cluster);
	struct wit_config wc = {
	    .netname = c->netname,
	    .aliases = (const char *const *)c->netname_aliases,
	    .n_aliases = c->n_netname_aliases,
	    .group_name = NULL,
	    .shares = (const char *const *)c->shares,
	    .n_shares = c->n_shares,
	    .interface_wait_ms = c->interface_list_wait * 1000u,
	    .min_auth_level = c->min_auth_level,
	    .unused_timeout_ms = c->unused_registration_timeout * 1000u,
	    .reregister_delay_ms = c->reregister_delay * 1000u,
	    .max_registrations = c->max_connections * 4u,
	    .max_registrations_per_client = c->max_registrations_per_client,
	    .node = c->cluster_backend == WD_BACKEND_STATIC ? c->static_local_node
	                                                    : (v != NULL ? v->local_node : 0),
	};
	*out = wc;
}

static int make_wit(struct daemon *d)
{
	const struct wd_config *c = &d->cfg;
	/* "NAME@node" items, checked by the config parser; wit_service_new copies them. */
	struct wit_group_name *gn = calloc(c->n_interface_group_names + 1, sizeof(*gn));
	struct wit_config wc;
	int rc = 0;

	if (gn == NULL)
		return WD_ENOMEM;
	for (size_t i = 0; i < c->n_interface_group_names && rc == 0; i++) {
		const char *item = c->interface_group_names[i];
		const char *at = strrchr(item, '@');

		gn[i].name = strndup(item, (size_t)(at - item));
		gn[i].node = (uint32_t)strtoul(at + 1, NULL, 10);
		if (gn[i].name == NULL)
			rc = WD_ENOMEM;
	}
	if (rc == 0) {
		wit_config_from(d, c, &wc);
		wc.group_names = gn;
		wc.n_group_names = c->n_interface_group_names;
		rc = wit_service_new(&d->loop, &wc, d->cluster, d->store, &d->wit);
	}
	for (size_t i = 0; i < c->n_interface_group_names; i++)
		free((char *)gn[i].name);
	free(gn);
	return rc;
}

static int check_semantics(const struct wd_config *c, const char *path)
{
	if (c->min_auth_level > AUTH_LEVEL_NONE && c->keytab == NULL &&
	    c->ntlm_password_file == NULL) {
		fprintf(stderr,
		        "%s:0: min auth level = %s, but neither \"keytab\" nor \"ntlm password "
		        "file\" is set, so no client could bind; configure one of them or set "
		        "\"min auth level = none\"\n",
		        path, wd_config_auth_level_name(c->min_auth_level));
		return WD_ECONFIG;
	}
	return 0;
}

/*
 * The files the config names: the password file must exist, be a regular
 * file we can read, and give nothing to others and no write to the group
 * (it holds NT hashes, which are password equivalents); the keytab must be
 * readable.
 * Writes the first problem to err; returns 0 or WD_ECONFIG. strict: a
 * password file readable by others is an error (--check-config, reload),
 * otherwise a warning (start, so that an existing setup still starts).
 */
static int check_files(const struct wd_config *c, bool strict, char *err, size_t errlen)
{
	struct stat st;

	err[0] = '\0';
	if (c->ntlm_password_file != NULL) {
		const char *p = c->ntlm_password_file;

		if (stat(p, &st) != 0) {
			snprintf(
			    err, errlen,
			    "ntlm password file = %s: %s (create it with \"witnessctl user add "
			    "NAME\", or an empty file with mode 0600)",
			    p, strerror(errno));
			return WD_ECONFIG;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "ntlm password file = %s: not a regular file", p);
			return WD_ECONFIG;
		}
		if (access(p, R_OK) != 0) {
			snprintf(err, errlen, "ntlm password file = %s: cannot read it: %s", p,
			         strerror(errno));
			return WD_ECONFIG;
		}
		/* group read is fine: the package makes it root:witnessd 0640 */
		if ((st.st_mode & 027) != 0) {
			snprintf(
			    err, errlen,
			    "ntlm password file = %s: mode %04o lets %s; chmod 0600 (or 0640 with "
			    "the daemon's group) %s",
			    p, (unsigned)(st.st_mode & 07777),
			    (st.st_mode & 007) ? "others read password hashes"
			                       : "its group write it",
			    p);
			if (strict)
				return WD_ECONFIG;
			wd_log(WD_LOG_WARNING, "daemon.unsafe_mode",
			       "key=ntlm_password_file path=%s mode=%04o", p,
			       (unsigned)(st.st_mode & 07777));
			err[0] = '\0';
		}
	}
	if (c->keytab != NULL) {
		const char *p = c->keytab;

		if (strncmp(p, "FILE:", 5) == 0)
			p += 5;
		if (strchr(p, ':') == NULL || p[0] == '/') {
			if (stat(p, &st) != 0 || access(p, R_OK) != 0) {
				snprintf(err, errlen, "keytab = %s: cannot read it: %s", c->keytab,
				         strerror(errno));
				return WD_ECONFIG;
			}
			if (!S_ISREG(st.st_mode)) {
				snprintf(err, errlen, "keytab = %s: not a regular file", c->keytab);
				return WD_ECONFIG;
			}
		}
	}
	return 0;
}

static bool str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool list_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_same(a[i], b[i]))
			return false;
	return true;
}

static bool static_same(const struct wd_config *a, const struct wd_config *b)
{
	if (a->static_local_node != b->static_local_node ||
	    a->n_static_interfaces != b->n_static_interfaces)
		return false;
	for (size_t i = 0; i < a->n_static_interfaces; i++)
		if (!str_same(a->static_interfaces[i].addr, b->static_interfaces[i].addr) ||
		    a->static_interfaces[i].node != b->static_interfaces[i].node)
			return false;
	return true;
}

/* Appends key to the comma list in buf. */
static void add_key(char *buf, size_t len, const char *key)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? "," : "", key);
}

/*
 * SIGHUP (systemctl reload): read the file again. A file that does not parse
 * or fails the checks changes nothing (the old config stays, the reason is
 * logged and shown by status). Otherwise the log level, the limits, the
 * timeouts and the NTLM password file's content apply at once, with every
 * connection and registration kept; the keytab is read by GSSAPI at each
 * accept, so a rotated keytab applies without any of this. Keys that only a
 * restart applies are logged (daemon.restart_needed) and keep their old
 * value until then.
 */
static void daemon_reload(struct daemon *d)
{
	struct wd_config nc = {0};
	char err[1024], restart[256] = "", changed[256] = "";
	struct timespec mono;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	           (unsigned long long)mono.tv_sec * 1000000ull +
	               (unsigned long long)mono.tv_nsec / 1000ull);
	d->reload.count++;
	d->reload.at = time(NULL);
	d->reload.restart_needed[0] = '\0';
	rc = wd_config_load(d->config_path, &nc, err, sizeof(err));
	if (rc == 0 && nc.min_auth_level > AUTH_LEVEL_NONE && nc.keytab == NULL &&
	    nc.ntlm_password_file == NULL) {
		snprintf(err, sizeof(err),
		         "%s:0: min auth level = %s, but neither keytab nor ntlm "
		         "password file is set",
		         d->config_path, wd_config_auth_level_name(nc.min_auth_level));
		rc = WD_ECONFIG;
	}
	if (rc == 0)
		rc = check_files(&nc, true, err, sizeof(err));
	if (rc == 0 && d->auth != NULL &&
	    str_same(nc.ntlm_password_file, d->cfg.ntlm_password_file))
		rc = auth_server_reload(d->auth); /* logs auth.passdb.* with the reason */
	if (rc != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "ntlm password file = %s: %s",
		         d->cfg.ntlm_password_file ? d->cfg.ntlm_password_file : "-",
		         wd_strerror(rc));
	if (rc != 0) {
		char esc[sizeof(err) * 4];

		d->reload.ok = false;
		snprintf(d->reload.error, sizeof(d->reload.error), "%s", err);
		wd_log(WD_LOG_ERR, "daemon.reload_failed", "config=%s error=%s kept=old_config",
		       d->config_path, wd_log_escape(err, esc, sizeof(esc)));
		wd_config_free(&nc);
		sd_notify(0, "READY=1");
		notify_status(d);
		return;
	}

	/* what only a restart changes */
	const struct wd_config *o = &d->cfg;
	if (!list_same(o->listen_addresses, o->n_listen_addresses, nc.listen_addresses,
	               nc.n_listen_addresses))
		add_key(restart, sizeof(restart), "listen_addresses");
	if (o->witness_port != nc.witness_port)
		add_key(restart, sizeof(restart), "witness_port");
	if (o->epmapper_port != nc.epmapper_port)
		add_key(restart, sizeof(restart), "epmapper_port");
	if (o->cluster_backend != nc.cluster_backend)
		add_key(restart, sizeof(restart), "cluster_backend");
	if (!str_same(o->state_directory, nc.state_directory))
		add_key(restart, sizeof(restart), "state_directory");
	if (!str_same(o->admin_socket, nc.admin_socket))
		add_key(restart, sizeof(restart), "admin_socket");
	if (!str_same(o->netname, nc.netname) ||
	    !list_same(o->netname_aliases, o->n_netname_aliases, nc.netname_aliases,
	               nc.n_netname_aliases))
		add_key(restart, sizeof(restart), "netname");
	if (o->min_auth_level != nc.min_auth_level)
		add_key(restart, sizeof(restart), "min_auth_level");
	if (!str_same(o->keytab, nc.keytab))
		add_key(restart, sizeof(restart), "keytab");
	if (!str_same(o->ntlm_password_file, nc.ntlm_password_file))
		add_key(restart, sizeof(restart), "ntlm_password_file");
	if (o->ntlmssp_anonymous != nc.ntlmssp_anonymous)
		add_key(restart, sizeof(restart), "ntlmssp_anonymous");
	if (!str_same(o->workgroup, nc.workgroup) || !str_same(o->realm, nc.realm) ||
	    o->auth_methods != nc.auth_methods)
		add_key(restart, sizeof(restart), "auth");
	if (!static_same(o, &nc))
		add_key(restart, sizeof(restart), "static");
	if (!str_same(o->ctdb_socket, nc.ctdb_socket) ||
	    o->ctdb_include_node_ips != nc.ctdb_include_node_ips ||
	    o->ctdb_include_public_ips != nc.ctdb_include_public_ips ||
	    o->ctdb_reread_interval != nc.ctdb_reread_interval)
		add_key(restart, sizeof(restart), "ctdb");

	/* what applies now */
	if (o->log_level != nc.log_level)
		add_key(changed, sizeof(changed), "log_level");
	if (o->max_connections != nc.max_connections ||
	    o->max_connections_per_client != nc.max_connections_per_client ||
	    o->max_registrations_per_client != nc.max_registrations_per_client ||
	    o->max_pending_calls != nc.max_pending_calls ||
	    o->max_request_size != nc.max_request_size ||
	    o->max_unauth_request_size != nc.max_unauth_request_size ||
	    o->max_buffer_memory != nc.max_buffer_memory)
		add_key(changed, sizeof(changed), "limits");
	if (o->request_timeout != nc.request_timeout ||
	    o->unused_registration_timeout != nc.unused_registration_timeout ||
	    o->reregister_delay != nc.reregister_delay)
		add_key(changed, sizeof(changed), "timeouts");
	d->cfg.log_level = nc.log_level;
	d->cfg.max_connections = nc.max_connections;
	d->cfg.max_connections_per_client = nc.max_connections_per_client;
	d->cfg.max_registrations_per_client = nc.max_registrations_per_client;
	d->cfg.max_pending_calls = nc.max_pending_calls;
	d->cfg.max_request_size = nc.max_request_size;
	d->cfg.max_unauth_request_size = nc.max_unauth_request_size;
	d->cfg.max_buffer_memory = nc.max_buffer_memory;
	d->cfg.request_timeout = nc.request_timeout;
	d->cfg.unused_registration_timeout = nc.unused_registration_timeout;
	d->cfg.reregister_delay = nc.reregister_delay;
	wd_config_free(&nc);

	wd_log_set_level(d->cfg.log_level);
	if (d->rpc != NULL) {
		struct dcerpc_limits lim;

		make_limits(d, &d->cfg, &lim);
		dcerpc_server_set_limits(d->rpc, &lim);
	}
	if (d->wit != NULL) {
		struct wit_config wc;

		wit_config_from(d, &d->cfg, &wc);
		wit_service_set_limits(d->wit, &wc);
	}
	d->reload.ok = true;
	d->reload.error[0] = '\0';
	snprintf(d->reload.restart_needed, sizeof(d->reload.restart_needed), "%s", restart);
	if (restart[0] != '\0')
		wd_log(WD_LOG_WARNING, "daemon.restart_needed", "key=%s config=%s", restart,
		       d->config_path);
	wd_log(WD_LOG_NOTICE, "daemon.reload", "config=%s result=ok changed=%s log_level=%s",
	       d->config_path, changed[0] ? changed : "none",
	       wd_config_log_level_name(d->cfg.log_level));
	sd_notify(0, "READY=1");
	notify_status(d);
}

static int run(struct daemon *d)
{
	const struct wd_config *c = &d->cfg;
	uint64_t usec = 0;
	int rc;

	if ((rc = make_auth(d)) != 0)
		return rc;
	if ((rc = make_cluster(d)) != 0)
		return rc;
	if ((rc = make_store(d)) != 0)
		return rc;
	/* ip set survives a restart: the stored states apply before any client registers */
	if (c->cluster_backend == WD_BACKEND_STATIC &&
	    (rc = cluster_static_use_store(d->cluster, d->store)) < 0) {
		fprintf(stderr,
		        "witnessd: cannot read the interface states kept in the store under "
		        "state directory = %s: %s\n",
		        c->state_directory, wd_strerror(rc));
		return rc;
	}
	if ((rc = make_wit(d)) != 0) {
		fprintf(stderr, "witnessd: cannot start the witness service: %s\n",
		        wd_strerror(rc));
		return rc;
	}
	if ((rc = make_rpc(d)) != 0)
		return rc;
	cluster_on_release(d->cluster, on_release, d);
	if ((rc = cluster_start(d->cluster)) != 0) {
		fprintf(stderr, "witnessd: cannot start the %s cluster backend: %s\n",
		        cluster_backend_name(d->cluster), wd_strerror(rc));
		return rc;
	}
	d->admin.wit = d->wit;
	d->admin.cluster = d->cluster;
	d->admin.status = daemon_status;
	d->admin.status_arg = d;
	d->admin.peer_timeout_ms = c->ctdb_peer_timeout * 1000u;
	if ((rc = ctl_admin_start(&d->admin, &d->loop)) != 0)
		return rc;
	rc = ctl_server_new(&d->loop, c->admin_socket, (uint32_t)geteuid(), ctl_admin_handle,
	                    &d->admin, &d->ctl);
	if (rc != 0) {
		fprintf(stderr, "witnessd: admin socket = %s: cannot create it: %s%s\n",
		        c->admin_socket, wd_strerror(rc),
		        rc == WD_EEXIST
		            ? " (another witnessd is running, or the path is not a socket)"
		            : "");
		return rc;
	}
	d->admin.server = d->ctl; /* status shows the admin socket's own counters */
	if ((rc = start_metrics(d)) != 0)
		return rc;
	{
		char listen[512] = "";
		size_t off = 0;

		for (size_t i = 0; i < c->n_listen_addresses && off < sizeof(listen); i++)
			off += (size_t)snprintf(listen + off, sizeof(listen) - off, "%s%s",
			                        i ? "," : "", c->listen_addresses[i]);
		wd_log(WD_LOG_INFO, "daemon.ready",
		       "version=%s netname=%s backend=%s listen=%s witness_port=%u "
		       "epmapper_port=%u admin_socket=%s min_auth_level=%s auth=%s "
		       "interfaces=%zu local_node=%u",
		       WITNESSD_VERSION, c->netname, cluster_backend_name(d->cluster), listen,
		       d->witness_port, c->epmapper_port, c->admin_socket,
		       wd_config_auth_level_name(c->min_auth_level), d->auth ? "yes" : "no",
		       cluster_view(d->cluster)->n, cluster_view(d->cluster)->local_node);
	}
	sd_notifyf(0, "READY=1\nMAINPID=%lu", (unsigned long)getpid());
	notify_status(d);
	/* STATUS= only reaches a service manager: without one (NOTIFY_SOCKET
	 * unset) the timer would be the only wake-up of an idle daemon. */
	if (getenv("NOTIFY_SOCKET") != NULL)
		uv_timer_start(&d->status_timer, on_status_timer, STATUS_INTERVAL_MS,
		               STATUS_INTERVAL_MS);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		d->watchdog_usec = usec;
		uv_timer_start(&d->watchdog, on_watchdog, usec / 2000 ? usec / 2000 : 1,
		               usec / 2000 ? usec / 2000 : 1);
		wd_log(WD_LOG_INFO, "daemon.watchdog", "interval_ms=%llu",
		       (unsigned long long)(usec / 2000));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'F'},
	    {"check-config", no_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct daemon d; /* static: zeroed, and its handles outlive nothing */
	bool check = false, verbose = false, foreground = false;
	char err[1024];
	int opt, rc;

	d.config_path = DEFAULT_CONFIG;
	while ((opt = getopt_long(argc, argv, "c:FtvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("witnessd %s\n", WITNESSD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "witnessd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (wd_config_load(d.config_path, &d.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (check_semantics(&d.cfg, d.config_path) != 0) {
		wd_config_free(&d.cfg);
		return EXIT_CONFIG;
	}
	if (check_files(&d.cfg, check, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s:0: %s\n", d.config_path, err);
		wd_config_free(&d.cfg);
		return EXIT_CONFIG;
	}
	if (check) {
		if (verbose) {
			char *text = NULL;

			if (wd_config_format(&d.cfg, &text) == 0)
				fputs(text, stdout);
			free(text);
		}
		printf("%s: configuration OK\n", d.config_path);
		wd_config_free(&d.cfg);
		return 0;
	}
	if (foreground)
		wd_log_use_stderr(1);
	wd_log_set_level(d.cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	uv_loop_init(&d.loop);
	uv_signal_init(&d.loop, &d.sig_term);
	uv_signal_init(&d.loop, &d.sig_int);
	uv_signal_init(&d.loop, &d.sig_hup);
	d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
	uv_signal_start(&d.sig_term, on_signal, SIGTERM);
	uv_signal_start(&d.sig_int, on_signal, SIGINT);
	uv_signal_start(&d.sig_hup, on_signal, SIGHUP);
	uv_timer_init(&d.loop, &d.watchdog);
	uv_timer_init(&d.loop, &d.status_timer);
	d.watchdog.data = d.status_timer.data = &d;

	rc = run(&d);
	if (rc != 0) {
		wd_log(WD_LOG_ERR, "daemon.start_failed", "error=%s", wd_strerror(rc));
		daemon_stop(&d, rc == WD_ECONFIG ? EXIT_CONFIG : 1);
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d.loop) != 0)
		wd_log(WD_LOG_WARNING, "daemon.loop_busy", "reason=handles_left_open");
	wd_config_free(&d.cfg);
	return d.exit_code;
}
