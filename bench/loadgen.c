/*
 * loadgen.c - witnessd-loadgen: N witness clients on one libuv loop.
 *
 * Witness mode (default): each client connects (from 127.0.x.y, so that
 * ephemeral ports never run out), binds (none, or NTLMSSP or Kerberos at
 * integrity or privacy), calls GetInterfaceList and RegisterEx and keeps an AsyncNotify
 * pending. Then the change is triggered (--admin-socket: witnessctl's JSON
 * `ip-set`; --trigger-cmd: any command, e.g. `ctdb moveip IP N`), the arrival
 * of every client's notification is timed and checked (RESOURCE_CHANGE,
 * UNAVAILABLE, the registered IP), and a probe connection's GetInterfaceList
 * sent right after the trigger is timed. Then every client reconnects, binds
 * and registers again at once (the storm after the forced unregistration)
 * and the time until all are registered is taken.
 *
 * Handshake mode (--handshakes N): connections that bind (NTLMSSP or
 * Kerberos) at --auth's level to the endpoint mapper (or the witness interface), make one
 * signed call and close, --concurrency at a time: handshakes per second.
 *
 * With --pid, the server's /proc is read: RSS per client, CPU (schedstat)
 * per notification, and context switches over --idle-seconds with no
 * clients (wake-ups per second when idle); several comma-separated pids
 * (a server of several processes) are summed.
 *
 * Output: a table on stderr and one JSON object on stdout. See doc/bench.md.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "rpc_client.h"
#include "witness/err.h"
#include "witness/ndr.h"
#include "witness/ndr_witness.h"

enum phase { PH_SETUP, PH_WAIT_NOTIFY, PH_STORM, PH_HANDSHAKE, PH_DONE };
enum state { ST_CONNECT, ST_BIND, ST_GIL, ST_REG, ST_NOTIFY, ST_NOTIFIED, ST_HS_CALL, ST_IDLE };

struct lg;

struct conn {
	uv_tcp_t tcp;
	struct lg *lg;
	int idx; /* -1: the probe */
	enum state st;
	struct rpcc rpc;
	uint8_t *rbuf;
	size_t rlen, rcap;
	struct ndr_policy_handle handle;
	uint64_t t_start, t_notify;
	bool open, notified, storm_done;
};

struct lg {
	uv_loop_t *loop;
	struct sockaddr_in server;
	const char *ip, *netname, *admin_socket, *trigger_cmd, *restore_cmd, *label;
	uint8_t level;
	struct rpcc_creds creds;
	int n, window, in_flight, next, registered, notified, bad, failed, storm_reg, hs_target,
	    hs_done, hs_started;
	bool epm;
	int pid;             /* the first of --pid's list */
	int pids[16], npids; /* --pid PID[,PID...]: summed (Samba's worker processes) */
	unsigned idle_s, timeout_s;
	int run;
	enum phase ph;
	struct conn *c;
	struct conn probe;
	uint64_t t0_setup, t1_setup, t_trigger, t_probe_sent, t_probe_rx, t0_storm, t1_storm, t0_hs,
	    t1_hs;
	double trigger_epoch; /* CLOCK_REALTIME at t_trigger: other logs' origin */
	uv_timer_t timer;
	uint8_t *gil_stub, *reg_stub, *epm_stub;
	size_t gil_len, reg_len, epm_len;
	char errors[4][160];
	int n_errors;
};

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

static void note_error(struct lg *lg, const char *what, int rc)
{
	if (lg->n_errors < 4)
		snprintf(lg->errors[lg->n_errors++], sizeof(lg->errors[0]), "%s: %d", what, rc);
}

/* ---- /proc of the server ---- */

static long proc_status(int pid, const char *key)
{
	char path[64], line[256];
	long v = -1, sum = 0;
	FILE *f;
	bool ctx = strcmp(key, "ctxt") == 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (ctx && (strncmp(line, "voluntary_ctxt_switches:", 24) == 0 ||
		            strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)) {
			sum += atol(strchr(line, ':') + 1);
			v = sum;
		} else if (!ctx && strncmp(line, key, strlen(key)) == 0) {
			v = atol(line + strlen(key));
		}
	}
	fclose(f);
	return v;
}

/* CPU time of all the server's threads, ns (schedstat's first field). */
static long long proc_cpu_ns(int pid)
{
	char path[64], buf[128];
	long long total = 0;
	uv_fs_t req;
	uv_dirent_t ent;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (uv_fs_scandir(NULL, &req, path, 0, NULL) < 0)
		return -1;
	while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, ent.name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f))
			total += atoll(buf);
		fclose(f);
	}
	uv_fs_req_cleanup(&req);
	return total;
}

/* --pid with several processes (samba-dcerpcd and its rpcd_witness workers,
 * bench/vs-samba-witness.sh): their RSS, CPU and context switches summed. */
static long server_status(const struct lg *lg, const char *key)
{
	long sum = 0;

	for (int i = 0; i < lg->npids; i++) {
		long v = proc_status(lg->pids[i], key);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

static long long server_cpu_ns(const struct lg *lg)
{
	long long sum = 0;

	for (int i = 0; i < lg->npids; i++) {
		long long v = proc_cpu_ns(lg->pids[i]);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/* ---- connections ---- */

static void start_next(struct lg *lg);
static int conn_open(struct lg *lg, struct conn *c, int idx);
static void conn_close(struct conn *c);
static void phase_check(struct lg *lg);

struct wreq {
	uv_write_t req;
	uv_buf_t buf;
};

static void on_written(uv_write_t *w, int status)
{
	struct wreq *r = (struct wreq *)w;

	free(r->buf.base);
	free(r);
}

/* Ownership: takes b's data. */
static void send_buf(struct conn *c, struct dcerpc_buf *b)
{
	struct wreq *r = malloc(sizeof(*r));

	if (r == NULL) {
		dcerpc_buf_free(b);
		conn_close(c);
		return;
	}
	r->buf = uv_buf_init((char *)b->data, (unsigned)b->len);
	b->data = NULL;
	b->len = b->cap = 0;
	if (uv_write(&r->req, (uv_stream_t *)&c->tcp, &r->buf, 1, on_written) != 0) {
		free(r->buf.base);
		free(r);
		conn_close(c);
	}
}

static void send_call(struct conn *c, uint16_t opnum, const uint8_t *stub, size_t len)
{
	struct dcerpc_buf b = {0};

	if (rpcc_request(&c->rpc, opnum, stub, len, &b, NULL) != 0) {
		dcerpc_buf_free(&b);
		conn_close(c);
		return;
	}
	send_buf(c, &b);
}

static void client_failed(struct conn *c, const char *what, int rc)
{
	struct lg *lg = c->lg;

	note_error(lg, what, rc);
	if (c->idx >= 0)
		lg->failed++;
	else
		c->st = ST_IDLE; /* a failed probe is out: the phases do not wait for it */
	conn_close(c);
	if (c->idx >= 0 && (lg->ph == PH_SETUP || lg->ph == PH_STORM) && c->st <= ST_REG) {
		lg->in_flight--;
		start_next(lg);
	}
	phase_check(lg);
}

static void closed_cb(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct lg *lg = c->lg;

	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = c->rcap = 0;
	rpcc_free(&c->rpc);
	if (lg->ph == PH_HANDSHAKE && c->idx >= 0) {
		/* the slot is free again: the next handshake on it */
		if (lg->next < lg->hs_target) {
			int idx = lg->next++;

			lg->hs_started++;
			if (conn_open(lg, c, idx) != 0)
				lg->failed++;
		}
		phase_check(lg);
	}
}

static void conn_close(struct conn *c)
{
	if (!c->open)
		return;
	c->open = false;
	uv_close((uv_handle_t *)&c->tcp, closed_cb);
}

static void notify_check(struct conn *c, const uint8_t *stub, size_t len)
{
	struct lg *lg = c->lg;
	struct ndr_pull p;
	struct witness_notify_response resp;
	struct witness_resource_change *rc = NULL;
	uint32_t res = 1, n = 0;
	bool present = false, ok = false;

	c->t_notify = now_ns();
	ndr_pull_init(&p, stub, len);
	if (ndr_witness_async_notify_out_pull(&p, &resp, &present, &res) == 0) {
		if (res == WERR_OK && present && resp.type == WITNESS_NOTIFY_RESOURCE_CHANGE &&
		    witness_msg_parse_resource_changes(&resp, &rc, &n) == 0) {
			ok = n == 1 && rc[0].change_type == WITNESS_RESOURCE_STATE_UNAVAILABLE &&
			     strcmp(rc[0].name, lg->ip) == 0;
			witness_resource_changes_free(rc, n);
		}
		witness_notify_response_free(&resp);
	}
	c->notified = true;
	c->st = ST_NOTIFIED;
	lg->notified++;
	if (!ok)
		lg->bad++;
}

static void on_stub(struct conn *c, const uint8_t *stub, size_t len)
{
	struct lg *lg = c->lg;
	struct ndr_pull p;
	uint32_t res = 1;

	switch (c->st) {
	case ST_GIL: {
		struct witness_interface_list l;
		bool present;

		ndr_pull_init(&p, stub, len);
		if (ndr_witness_get_interface_list_out_pull(&p, &l, &present, &res) != 0 ||
		    res != WERR_OK) {
			client_failed(c, "GetInterfaceList result", (int)res);
			return;
		}
		witness_interface_list_free(&l);
		if (c->idx < 0) { /* the probe */
			if (lg->t_probe_sent != 0)
				lg->t_probe_rx = now_ns();
			c->st = ST_IDLE;
			phase_check(lg);
			return;
		}
		c->st = ST_REG;
		send_call(c, WITNESS_OP_REGISTER_EX, lg->reg_stub, lg->reg_len);
		return;
	}
	case ST_REG:
		ndr_pull_init(&p, stub, len);
		if (ndr_witness_handle_out_pull(&p, &c->handle, &res) != 0 || res != WERR_OK) {
			client_failed(c, "RegisterEx result", (int)res);
			return;
		}
		lg->in_flight--;
		if (lg->ph == PH_STORM) {
			lg->storm_reg++;
			c->storm_done = true;
			c->st = ST_IDLE;
		} else {
			struct ndr_push np;

			lg->registered++;
			c->st = ST_NOTIFY;
			ndr_push_init(&np);
			ndr_witness_handle_in_push(&np, &c->handle);
			send_call(c, WITNESS_OP_ASYNC_NOTIFY, np.data, np.len);
			ndr_push_free(&np);
		}
		start_next(lg);
		phase_check(lg);
		return;
	case ST_NOTIFY:
		notify_check(c, stub, len);
		phase_check(lg);
		return;
	case ST_HS_CALL:
		lg->hs_done++;
		conn_close(c);
		return;
	default:
		client_failed(c, "unexpected response in state", (int)c->st);
	}
}

static void after_bind(struct conn *c)
{
	struct lg *lg = c->lg;

	if (lg->ph == PH_HANDSHAKE) {
		c->st = ST_HS_CALL;
		if (lg->epm)
			send_call(c, 2 /* ept_lookup */, lg->epm_stub, lg->epm_len);
		else
			send_call(c, WITNESS_OP_GET_INTERFACE_LIST, NULL, 0);
	} else if (lg->ph == PH_STORM) {
		c->st = ST_REG;
		send_call(c, WITNESS_OP_REGISTER_EX, lg->reg_stub, lg->reg_len);
	} else {
		c->st = ST_GIL;
		send_call(c, WITNESS_OP_GET_INTERFACE_LIST, NULL, 0);
	}
}

static void on_frag(struct conn *c, uint8_t *buf, size_t len)
{
	if (c->st == ST_BIND) {
		struct dcerpc_buf out = {0};
		int rc = rpcc_bind_ack(&c->rpc, buf, len, &out);

		if (rc != 0) {
			dcerpc_buf_free(&out);
			client_failed(c, "bind", rc);
			return;
		}
		if (out.len > 0)
			send_buf(c, &out); /* auth3 */
		dcerpc_buf_free(&out);
		after_bind(c);
		return;
	}
	const uint8_t *stub;
	size_t sl;
	uint32_t cid, fault;
	int rc = rpcc_response(&c->rpc, buf, len, &stub, &sl, &cid, &fault);

	if (rc != 0) {
		client_failed(c, fault ? "fault" : "response", fault ? (int)fault : rc);
		return;
	}
	on_stub(c, stub, sl);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	if (c->rcap - c->rlen < 4096) {
		size_t nc = c->rcap ? c->rcap * 2 : 8192;
		uint8_t *nb = realloc(c->rbuf, nc);
		if (nb == NULL) {
			buf->base = NULL;
			buf->len = 0;
			return;
		}
		c->rbuf = nb;
		c->rcap = nc;
	}
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = c->rcap - c->rlen;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	size_t off = 0, fl;

	if (n < 0) {
		if (c->lg->ph != PH_HANDSHAKE || c->st != ST_IDLE)
			client_failed(c, "read", (int)n);
		else
			conn_close(c);
		return;
	}
	c->rlen += (size_t)n;
	while (c->open && (fl = rpcc_frag_len(c->rbuf + off, c->rlen - off)) != 0) {
		if (fl == (size_t)-1) {
			client_failed(c, "frag_length", 0);
			return;
		}
		on_frag(c, c->rbuf + off, fl);
		off += fl;
	}
	if (c->open && off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct dcerpc_buf b = {0};

	free(req);
	if (!c->open)
		return;
	if (status != 0) {
		client_failed(c, "connect", status);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	c->st = ST_BIND;
	if (rpcc_bind(&c->rpc, c->lg->epm ? &rpcc_epm_syntax : &rpcc_witness_syntax, &b) != 0) {
		dcerpc_buf_free(&b);
		client_failed(c, "bind push", 0);
		return;
	}
	send_buf(c, &b);
}

/*
 * Source address of client i: 50 clients per address (under witnessd's
 * default `max registrations per client` of 64), 127.0.x.y, then 127.1.x.y:
 * each address has its own ephemeral port range.
 */
#define PER_SOURCE 50
static void source_addr(int i, struct sockaddr_in *sa)
{
	char a[32];
	int k = i / PER_SOURCE;

	snprintf(a, sizeof(a), "127.%d.%d.%d", (k / 250) % 200, 1 + k % 250, 1 + i % PER_SOURCE);
	uv_ip4_addr(a, 0, sa);
}

static int conn_open(struct lg *lg, struct conn *c, int idx)
{
	struct sockaddr_in src;
	uv_connect_t *req = malloc(sizeof(*req));
	int rc;

	if (req == NULL)
		return UV_ENOMEM;
	c->lg = lg;
	c->idx = idx;
	c->st = ST_CONNECT;
	c->storm_done = false; /* notified and t_notify stay for the report */
	c->t_start = now_ns();
	rc = rpcc_init(&c->rpc, lg->level, &lg->creds);
	if (rc != 0) {
		free(req);
		return rc;
	}
	uv_tcp_init(lg->loop, &c->tcp);
	c->tcp.data = c;
	c->open = true;
	source_addr(idx < 0 ? 62499 : idx, &src);
	uv_tcp_bind(&c->tcp, (const struct sockaddr *)&src, 0);
	req->data = c;
	rc = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&lg->server, connect_cb);
	if (rc != 0) {
		free(req);
		conn_close(c);
	}
	return rc;
}

static void start_next(struct lg *lg)
{
	int limit = lg->ph == PH_HANDSHAKE ? lg->hs_target : lg->n;

	if (lg->ph == PH_HANDSHAKE && lg->next >= lg->window)
		return; /* each slot reopens itself when its connection closes */
	while (lg->in_flight < lg->window && lg->next < limit) {
		struct conn *c = &lg->c[lg->next];
		int idx = lg->next++;

		lg->in_flight++;
		if (lg->ph == PH_HANDSHAKE)
			lg->hs_started++;
		if (conn_open(lg, c, idx) != 0) {
			lg->in_flight--;
			lg->failed++;
		}
	}
}

/* ---- the trigger ---- */

static void admin_send(struct lg *lg, bool available);

struct admin {
	uv_pipe_t pipe;
	uv_connect_t creq;
	uv_write_t wreq;
	char line[160];
	char rbuf[512];
};

static void admin_closed(uv_handle_t *h)
{
	free(h->data);
}

static void admin_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct admin *a = h->data;

	*b = uv_buf_init(a->rbuf, sizeof(a->rbuf));
}

static void admin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct admin *a = s->data;

	if (n > 0 && memmem(b->base, (size_t)n, "\"ok\":true", 9) == NULL)
		fprintf(stderr, "loadgen: admin: %.*s\n", (int)n, b->base);
	if (n != 0)
		uv_close((uv_handle_t *)&a->pipe, admin_closed);
}

static void admin_written(uv_write_t *w, int st)
{
}

static void admin_connected(uv_connect_t *req, int st)
{
	struct admin *a = req->data;
	uv_buf_t b = uv_buf_init(a->line, (unsigned)strlen(a->line));

	if (st != 0) {
		fprintf(stderr, "loadgen: admin socket: %s\n", uv_strerror(st));
		uv_close((uv_handle_t *)&a->pipe, admin_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&a->pipe, admin_alloc, admin_read);
	uv_write(&a->wreq, (uv_stream_t *)&a->pipe, &b, 1, admin_written);
}

static void admin_send(struct lg *lg, bool available)
{
	struct admin *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return;
	snprintf(a->line, sizeof(a->line), "{\"cmd\":\"ip-set\",\"ip\":\"%s\",\"available\":%s}\n",
	         lg->ip, available ? "true" : "false");
	uv_pipe_init(lg->loop, &a->pipe, 0);
	a->pipe.data = a;
	a->creq.data = a;
	uv_pipe_connect(&a->creq, &a->pipe, lg->admin_socket, admin_connected);
}

static void spawn_exit(uv_process_t *p, int64_t status, int sig)
{
	if (status != 0)
		fprintf(stderr, "loadgen: trigger command exited %lld\n", (long long)status);
	uv_close((uv_handle_t *)p, (uv_close_cb)free);
}

static void run_cmd(struct lg *lg, const char *cmd)
{
	uv_process_t *p = calloc(1, sizeof(*p));
	char *args[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	uv_process_options_t o;
	uv_stdio_container_t io[3] = {
	    {UV_IGNORE, {0}}, {UV_INHERIT_FD, {.fd = 2}}, {UV_INHERIT_FD, {.fd = 2}}};

	memset(&o, 0, sizeof(o));
	o.file = "/bin/sh";
	o.args = args;
	o.exit_cb = spawn_exit;
	o.stdio = io;
	o.stdio_count = 3;
	if (p == NULL || uv_spawn(lg->loop, p, &o) != 0) {
		fprintf(stderr, "loadgen: cannot run %s\n", cmd);
		free(p);
	}
}

static void trigger(struct lg *lg, bool restore)
{
	if (lg->admin_socket != NULL)
		admin_send(lg, restore);
	else if (!restore && lg->trigger_cmd != NULL)
		run_cmd(lg, lg->trigger_cmd);
	else if (restore && lg->restore_cmd != NULL)
		run_cmd(lg, lg->restore_cmd);
}

/* ---- phases ---- */

static void timeout_stop(uv_timer_t *t)
{
	fprintf(stderr, "loadgen: timeout\n");
	uv_stop(t->loop);
}

static long rss0, rss1, ctx0, ctx1;
static long long cpu0, cpu1, cpu_setup0, cpu_setup1;

static void start_storm(struct lg *lg)
{
	/* The forced unregistration: every client drops its connection and
	 * registers again on a new one, all at once (--window in flight). */
	for (int i = 0; i < lg->n; i++)
		conn_close(&lg->c[i]);
	trigger(lg, true);
	lg->ph = PH_STORM;
	lg->t0_storm = now_ns();
	lg->next = 0;
	lg->in_flight = 0;
}

static void storm_go(uv_timer_t *t)
{
	struct lg *lg = t->data;

	lg->t0_storm = now_ns();
	start_next(lg);
	uv_timer_start(&lg->timer, timeout_stop, (uint64_t)lg->timeout_s * 1000, 0);
}

static void do_trigger(uv_timer_t *t)
{
	struct lg *lg = t->data;

	if (lg->pid > 0) {
		rss1 = server_status(lg, "VmRSS:");
		cpu0 = server_cpu_ns(lg);
	}
	lg->ph = PH_WAIT_NOTIFY;
	lg->t_trigger = now_ns();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		lg->trigger_epoch = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	trigger(lg, false);
	if (lg->probe.open && lg->probe.st == ST_IDLE) {
		lg->probe.st = ST_GIL;
		lg->t_probe_sent = now_ns();
		send_call(&lg->probe, WITNESS_OP_GET_INTERFACE_LIST, NULL, 0);
	}
	uv_timer_start(&lg->timer, timeout_stop, (uint64_t)lg->timeout_s * 1000, 0);
}

static void phase_check(struct lg *lg)
{
	switch (lg->ph) {
	case PH_SETUP:
		if (lg->registered + lg->failed < lg->n || lg->probe.st != ST_IDLE)
			return;
		lg->t1_setup = now_ns();
		if (lg->registered == 0) { /* every client failed: nothing to trigger or time */
			lg->ph = PH_DONE;
			uv_stop(lg->loop);
			return;
		}
		if (lg->pid > 0)
			cpu_setup1 = server_cpu_ns(lg);
		/* let the last AsyncNotify calls reach the server */
		uv_timer_start(&lg->timer, do_trigger, 300, 0);
		lg->ph = PH_WAIT_NOTIFY; /* nothing more to check until the trigger */
		lg->t_trigger = 0;
		return;
	case PH_WAIT_NOTIFY:
		if (lg->t_trigger == 0 || lg->notified < lg->registered)
			return;
		if (lg->t_probe_sent != 0 && lg->t_probe_rx == 0 && lg->probe.open)
			return;
		if (lg->pid > 0)
			cpu1 = server_cpu_ns(lg);
		uv_timer_stop(&lg->timer);
		conn_close(&lg->probe);
		start_storm(lg);
		lg->timer.data = lg;
		uv_timer_start(&lg->timer, storm_go, 300, 0);
		return;
	case PH_STORM:
		if (lg->t0_storm == 0 || lg->storm_reg + lg->failed < lg->n)
			return;
		lg->t1_storm = now_ns();
		lg->ph = PH_DONE;
		uv_stop(lg->loop);
		return;
	case PH_HANDSHAKE:
		if (lg->hs_done + lg->failed < lg->hs_target)
			return;
		lg->t1_hs = now_ns();
		lg->ph = PH_DONE;
		uv_stop(lg->loop);
		return;
	default:
		return;
	}
}

/* ---- output ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return NAN;
	i = (size_t)ceil(p * (double)n) - 1;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1e6;
}

static void print_json_num(const char *k, double v, bool last)
{
	if (isnan(v) || isinf(v))
		printf("\"%s\":null%s", k, last ? "" : ",");
	else
		printf("\"%s\":%.3f%s", k, v, last ? "" : ",");
}

static const char *level_name(uint8_t l)
{
	return l == AUTH_LEVEL_PRIVACY     ? "privacy"
	       : l == AUTH_LEVEL_INTEGRITY ? "integrity"
	                                   : "none";
}

static const char *mech_name(const struct lg *lg)
{
	return lg->level == AUTH_LEVEL_NONE    ? "none"
	       : lg->creds.krb5_target != NULL ? "krb5"
	                                       : "ntlmssp";
}

static void report_witness(struct lg *lg, double idle_wakeups)
{
	uint64_t *lat = calloc((size_t)lg->n + 1, sizeof(*lat));
	size_t k = 0;
	double setup_s = (double)(lg->t1_setup - lg->t0_setup) / 1e9;
	double storm_s = lg->t1_storm ? (double)(lg->t1_storm - lg->t0_storm) / 1e9 : NAN;
	double probe_ms = lg->t_probe_rx ? (double)(lg->t_probe_rx - lg->t_probe_sent) / 1e6 : NAN;
	double rss_per = NAN, cpu_per = NAN, cpu_reg = NAN;
	double p50, p99, pmax, pmin;

	for (int i = 0; i < lg->n; i++)
		if (lg->c[i].notified)
			lat[k++] = lg->c[i].t_notify - lg->t_trigger;
	qsort(lat, k, sizeof(*lat), cmp_u64);
	pmin = k ? (double)lat[0] / 1e6 : NAN;
	p50 = pct(lat, k, 0.50);
	p99 = pct(lat, k, 0.99);
	pmax = pct(lat, k, 1.0);
	if (lg->pid > 0 && rss0 > 0 && rss1 > 0 && lg->registered > 0)
		rss_per = (double)(rss1 - rss0) / lg->registered;
	if (lg->pid > 0 && cpu1 > cpu0 && k > 0)
		cpu_per = (double)(cpu1 - cpu0) / 1e3 / (double)k;
	/* CPU per registration: what load on a shared machine does not move much */
	if (lg->pid > 0 && cpu_setup1 > cpu_setup0 && lg->registered > 0)
		cpu_reg = (double)(cpu_setup1 - cpu_setup0) / 1e3 / lg->registered;

	fprintf(stderr,
	        "%-10s clients=%d auth=%s mech=%s registered=%d notified=%zu bad=%d failed=%d\n"
	        "  set-up        %8.3f s  %10.0f registrations/s\n"
	        "  fan-out ms    first %.2f  p50 %.2f  p99 %.2f  max %.2f\n"
	        "  GetInterfaceList during fan-out: %.2f ms\n"
	        "  storm         %8.3f s  %10.0f registrations/s\n"
	        "  RSS/client    %.2f KiB   CPU/notification %.2f us   CPU/registration %.2f us\n"
	        "  idle wake-ups/s %.2f\n",
	        lg->label, lg->n, level_name(lg->level), mech_name(lg), lg->registered, k, lg->bad,
	        lg->failed, setup_s, lg->registered / setup_s, pmin, p50, p99, pmax, probe_ms,
	        storm_s, lg->storm_reg / storm_s, rss_per, cpu_per, cpu_reg, idle_wakeups);
	for (int i = 0; i < lg->n_errors; i++)
		fprintf(stderr, "  error: %s\n", lg->errors[i]);
	printf("{\"mode\":\"witness\",\"label\":\"%s\",\"run\":%d,\"clients\":%d,"
	       "\"auth\":\"%s\",\"mech\":\"%s\",\"registered\":%d,\"notified\":%zu,\"bad\":%d,"
	       "\"failed\":%d,\"storm_registered\":%d,",
	       lg->label, lg->run, lg->n, level_name(lg->level), mech_name(lg), lg->registered, k,
	       lg->bad, lg->failed, lg->storm_reg);
	print_json_num("setup_s", setup_s, false);
	print_json_num("setup_rate", lg->registered / setup_s, false);
	print_json_num("fanout_first_ms", pmin, false);
	print_json_num("fanout_p50_ms", p50, false);
	print_json_num("fanout_p99_ms", p99, false);
	print_json_num("fanout_max_ms", pmax, false);
	print_json_num("probe_gil_ms", probe_ms, false);
	print_json_num("storm_s", storm_s, false);
	print_json_num("storm_rate", lg->storm_reg / storm_s, false);
	print_json_num("rss_kib_per_client", rss_per, false);
	print_json_num("cpu_us_per_notification", cpu_per, false);
	print_json_num("cpu_us_per_registration", cpu_reg, false);
	print_json_num("idle_wakeups_per_s", idle_wakeups, false);
	/* the trigger's wall-clock time, for times read from other logs */
	if (lg->trigger_epoch > 0)
		printf("\"trigger_epoch\":%.6f}\n", lg->trigger_epoch);
	else
		printf("\"trigger_epoch\":null}\n");
	free(lat);
}

static void report_handshake(struct lg *lg)
{
	double s = (double)(lg->t1_hs - lg->t0_hs) / 1e9;

	fprintf(stderr, "%-10s handshakes=%d failed=%d auth=%s mech=%s iface=%s  %.3f s  %.0f/s\n",
	        lg->label, lg->hs_done, lg->failed, level_name(lg->level), mech_name(lg),
	        lg->epm ? "epmapper" : "witness", s, lg->hs_done / s);
	for (int i = 0; i < lg->n_errors; i++)
		fprintf(stderr, "  error: %s\n", lg->errors[i]);
	printf("{\"mode\":\"handshake\",\"label\":\"%s\",\"run\":%d,\"handshakes\":%d,"
	       "\"failed\":%d,\"auth\":\"%s\",\"mech\":\"%s\",\"iface\":\"%s\",",
	       lg->label, lg->run, lg->hs_done, lg->failed, level_name(lg->level), mech_name(lg),
	       lg->epm ? "epmapper" : "witness");
	print_json_num("seconds", s, false);
	print_json_num("rate", lg->hs_done / s, true);
	printf("}\n");
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: witnessd-loadgen --port P [--server IP] [--clients N] [--ip IP]\n"
	        "         [--netname NAME] [--auth none|integrity|privacy]\n"
	        "         [--mech ntlmssp|krb5] [--user U] [--domain D] [--password-env VAR]\n"
	        "         [--krb5-target PRINCIPAL] [--admin-socket PATH |\n"
	        "         --trigger-cmd CMD [--restore-cmd CMD]] [--pid PID[,PID..]]\n"
	        "         [--idle-seconds S] [--window W] [--timeout S] [--label L]\n"
	        "         [--run R]\n"
	        "       witnessd-loadgen --handshakes N --port P [--epm] [--concurrency C] ...\n"
	        "  --mech krb5: Kerberos (auth_type 16, DCE style) with the ticket cache of\n"
	        "  $KRB5CCNAME for --krb5-target (default host/NETNAME in lower case);\n"
	        "  --mech ntlmssp (the default): --user, --domain and the password in\n"
	        "  $WITNESS_BENCH_PASSWORD (or --password-env's variable).\n");
	exit(2);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static uint8_t *stub_of(struct ndr_push *p, size_t *len)
{
	if (ndr_push_finish(p) != 0) {
		fprintf(stderr, "loadgen: marshalling failed\n");
		exit(1);
	}
	return ndr_push_steal(p, len);
}

int main(int argc, char **argv)
{
	static struct lg L;
	struct lg *lg = &L;
	const char *server = "127.0.0.1", *pw_env = "WITNESS_BENCH_PASSWORD", *krb5_target = NULL;
	char derived_target[300];
	bool krb5 = false;
	int port = 0, concurrency = 64, o;
	double idle_wakeups = NAN;
	static const struct option opts[] = {{"server", 1, 0, 's'},
	                                     {"port", 1, 0, 'p'},
	                                     {"clients", 1, 0, 'n'},
	                                     {"ip", 1, 0, 'i'},
	                                     {"netname", 1, 0, 'N'},
	                                     {"auth", 1, 0, 'a'},
	                                     {"mech", 1, 0, 'm'},
	                                     {"krb5-target", 1, 0, 'K'},
	                                     {"user", 1, 0, 'u'},
	                                     {"domain", 1, 0, 'd'},
	                                     {"password-env", 1, 0, 'P'},
	                                     {"admin-socket", 1, 0, 'A'},
	                                     {"trigger-cmd", 1, 0, 'T'},
	                                     {"restore-cmd", 1, 0, 'R'},
	                                     {"pid", 1, 0, 'k'},
	                                     {"idle-seconds", 1, 0, 'I'},
	                                     {"window", 1, 0, 'w'},
	                                     {"timeout", 1, 0, 't'},
	                                     {"label", 1, 0, 'l'},
	                                     {"handshakes", 1, 0, 'H'},
	                                     {"epm", 0, 0, 'E'},
	                                     {"concurrency", 1, 0, 'C'},
	                                     {"help", 0, 0, 'h'},
	                                     {"run", 1, 0, 'r'},
	                                     {0, 0, 0, 0}};

	lg->n = 100;
	lg->window = 512;
	lg->ip = "127.0.0.2";
	lg->netname = "witsrv";
	lg->level = AUTH_LEVEL_NONE;
	lg->idle_s = 0;
	lg->timeout_s = 60;
	lg->label = "server";
	lg->creds.domain = "";
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			server = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			lg->n = atoi(optarg);
			break;
		case 'i':
			lg->ip = optarg;
			break;
		case 'N':
			lg->netname = optarg;
			break;
		case 'a':
			lg->level = strcmp(optarg, "privacy") == 0     ? AUTH_LEVEL_PRIVACY
			            : strcmp(optarg, "integrity") == 0 ? AUTH_LEVEL_INTEGRITY
			            : strcmp(optarg, "none") == 0      ? AUTH_LEVEL_NONE
			                                               : 0;
			if (lg->level == 0)
				usage();
			break;
		case 'm':
			if (strcmp(optarg, "krb5") != 0 && strcmp(optarg, "ntlmssp") != 0)
				usage();
			krb5 = strcmp(optarg, "krb5") == 0;
			break;
		case 'K':
			krb5_target = optarg;
			break;
		case 'u':
			lg->creds.user = optarg;
			break;
		case 'd':
			lg->creds.domain = optarg;
			break;
		case 'P':
			pw_env = optarg;
			break;
		case 'A':
			lg->admin_socket = optarg;
			break;
		case 'T':
			lg->trigger_cmd = optarg;
			break;
		case 'R':
			lg->restore_cmd = optarg;
			break;
		case 'k':
			for (char *q = optarg; *q != '\0' && lg->npids < 16; q += strspn(q, ",")) {
				lg->pids[lg->npids++] = (int)strtol(q, &q, 10);
				if (*q != '\0' && *q != ',')
					usage();
			}
			lg->pid = lg->npids > 0 ? lg->pids[0] : 0;
			break;
		case 'I':
			lg->idle_s = (unsigned)atoi(optarg);
			break;
		case 'w':
			lg->window = atoi(optarg);
			break;
		case 't':
			lg->timeout_s = (unsigned)atoi(optarg);
			break;
		case 'l':
			lg->label = optarg;
			break;
		case 'H':
			lg->hs_target = atoi(optarg);
			break;
		case 'E':
			lg->epm = true;
			break;
		case 'C':
			concurrency = atoi(optarg);
			break;
		case 'r':
			lg->run = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || lg->n <= 0 || lg->window <= 0 || concurrency <= 0)
		usage();
	if (krb5 && lg->level == AUTH_LEVEL_NONE) {
		fprintf(stderr, "loadgen: --mech krb5 needs --auth integrity or privacy\n");
		return 2;
	}
	if (krb5) {
		if (krb5_target == NULL) {
			size_t i;
			snprintf(derived_target, sizeof(derived_target), "host/%s", lg->netname);
			for (i = 0; derived_target[i] != '\0'; i++)
				if (derived_target[i] >= 'A' && derived_target[i] <= 'Z')
					derived_target[i] = (char)(derived_target[i] - 'A' + 'a');
			krb5_target = derived_target;
		}
		lg->creds.krb5_target = krb5_target;
	} else if (lg->level != AUTH_LEVEL_NONE) {
		lg->creds.password = getenv(pw_env);
		if (lg->creds.user == NULL || lg->creds.password == NULL) {
			fprintf(stderr, "loadgen: --auth needs --user and the password in $%s\n",
			        pw_env);
			return 2;
		}
	}
	raise_nofile();
	lg->loop = uv_default_loop();
	uv_ip4_addr(server, port, &lg->server);
	uv_timer_init(lg->loop, &lg->timer);
	lg->timer.data = lg;

	if (lg->hs_target > 0) {
		struct ndr_push p;

		/* ept_lookup ([C706] appendix O): inquiry_type 0 (all), object
		 * and interface_id NULL, vers_option 1, a nil entry_handle, max_ents 1 */
		ndr_push_init(&p);
		for (int i = 0; i < 3; i++)
			ndr_push_u32(&p, 0);
		ndr_push_u32(&p, 1);
		for (int i = 0; i < 5; i++)
			ndr_push_u32(&p, 0);
		ndr_push_u32(&p, 1);
		lg->epm_stub = stub_of(&p, &lg->epm_len);
		lg->window = concurrency;
		lg->c = calloc((size_t)concurrency, sizeof(*lg->c));
		lg->ph = PH_HANDSHAKE;
		lg->t0_hs = now_ns();
		start_next(lg);
		uv_timer_start(&lg->timer, timeout_stop, (uint64_t)lg->timeout_s * 1000, 0);
		uv_run(lg->loop, UV_RUN_DEFAULT);
		if (lg->t1_hs == 0)
			lg->t1_hs = now_ns();
		report_handshake(lg);
		return lg->failed > 0 || lg->hs_done < lg->hs_target;
	}

	{
		struct ndr_push p;
		struct witness_register_in in = {
		    .version = WITNESS_V2,
		    .net_name = (char *)lg->netname,
		    .ip_address = (char *)lg->ip,
		    .client_computer_name = "LOADGEN",
		    .timeout = 3600,
		};

		ndr_push_init(&p);
		ndr_witness_register_ex_in_push(&p, &in);
		lg->reg_stub = stub_of(&p, &lg->reg_len);
	}
	lg->c = calloc((size_t)lg->n, sizeof(*lg->c));
	if (lg->c == NULL)
		return 1;
	if (lg->pid > 0) {
		if (lg->idle_s > 0) {
			ctx0 = server_status(lg, "ctxt");
			sleep(lg->idle_s);
			ctx1 = server_status(lg, "ctxt");
			if (ctx0 >= 0 && ctx1 >= 0)
				idle_wakeups = (double)(ctx1 - ctx0) / lg->idle_s;
		}
		rss0 = server_status(lg, "VmRSS:");
		cpu_setup0 = server_cpu_ns(lg);
	}
	lg->ph = PH_SETUP;
	lg->t0_setup = now_ns();
	if (conn_open(lg, &lg->probe, -1) != 0)
		lg->probe.st = ST_IDLE;
	start_next(lg);
	uv_timer_start(&lg->timer, timeout_stop, (uint64_t)lg->timeout_s * 1000, 0);
	uv_run(lg->loop, UV_RUN_DEFAULT);
	if (lg->t1_setup == 0)
		lg->t1_setup = now_ns();
	report_witness(lg, idle_wakeups);
	return lg->failed > 0 || lg->bad > 0 || lg->notified < lg->registered ||
	       lg->storm_reg < lg->registered;
}
