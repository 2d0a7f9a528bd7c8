/*
 * metrics.c - the fixed-size registry behind include/witness/metrics.h and
 * its text exposition (Prometheus format 0.0.4).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "witness/err.h"
#include "witness/metrics.h"

/* Latency buckets (seconds). AsyncNotify is parked up to the client's KeepAliveTimeout
 * (Windows asks for 120 s), so the buckets go up to 300 s. */
static const double call_buckets[] = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                      1,      5,     30,    60,   120,  300};
#define N_BUCKETS (sizeof(call_buckets) / sizeof(call_buckets[0]))

struct iface_slot {
	char name[24];
	uint64_t calls[METRICS_MAX_OPNUMS + 1]; /* last: opnum "other" */
	uint64_t bucket[N_BUCKETS];             /* non-cumulative; summed when rendered */
	uint64_t count;
	double sum;
};

static struct {
	int64_t registrations[2];                             /* version 1, 2 */
	int64_t registrations_by_node[METRICS_MAX_NODES + 2]; /* ..., "other", "none" */
	bool node_seen[METRICS_MAX_NODES + 2];
	int64_t notify_pending;
	uint64_t notifications[METRICS_NOTIFY_TYPES];
	uint64_t forced[METRICS_FORCED_COUNT];
	uint64_t expired;
	uint64_t refused[METRICS_REFUSED_COUNT];
	int64_t connections;
	uint64_t connections_total;
	struct iface_slot ifaces[METRICS_MAX_IFACES];
	size_t n_ifaces;
	uint64_t calls_other_iface;
	uint32_t fault_status[METRICS_MAX_FAULTS];
	uint64_t faults[METRICS_MAX_FAULTS + 1]; /* last: "other" */
	size_t n_faults;
	bool refreshed;
	double last_refresh;
	uint64_t interfaces[2]; /* available, unavailable */
	int ctdb_connected;     /* -1: not the ctdb backend */
	char version[32];
	char backend[16];
	double start_time;
} m = {.ctdb_connected = -1};

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_reset(void)
{
	memset(&m, 0, sizeof(m));
	m.ctdb_connected = -1;
}

void metrics_set_info(const char *version, const char *backend)
{
	snprintf(m.version, sizeof(m.version), "%s", version ? version : "");
	snprintf(m.backend, sizeof(m.backend), "%s", backend ? backend : "");
	m.start_time = now_unix();
}

void metrics_registration(uint32_t version, uint32_t node, int delta)
{
	size_t n;

	m.registrations[version >= 2 ? 1 : 0] += delta;
	if (node == 0xFFFFFFFFu)
		n = METRICS_MAX_NODES + 1;
	else if (node >= METRICS_MAX_NODES)
		n = METRICS_MAX_NODES;
	else
		n = node;
	m.registrations_by_node[n] += delta;
	m.node_seen[n] = true;
}

void metrics_notify_pending(int delta)
{
	m.notify_pending += delta;
}

void metrics_notification_sent(uint32_t type)
{
	m.notifications[type < METRICS_NOTIFY_TYPES ? type : 0]++;
}

void metrics_forced_unregistration(enum metrics_forced why)
{
	if ((unsigned)why < METRICS_FORCED_COUNT)
		m.forced[why]++;
}

void metrics_registration_expired(void)
{
	m.expired++;
}

void metrics_refused(enum metrics_refusal why)
{
	if ((unsigned)why < METRICS_REFUSED_COUNT)
		m.refused[why]++;
}

void metrics_connection(int delta)
{
	m.connections += delta;
	if (delta > 0)
		m.connections_total += (uint64_t)delta;
}

static struct iface_slot *iface_slot(const char *name)
{
	size_t i;

	if (name == NULL)
		name = "unknown";
	for (i = 0; i < m.n_ifaces; i++) {
		if (strncmp(m.ifaces[i].name, name, sizeof(m.ifaces[i].name) - 1) == 0)
			return &m.ifaces[i];
	}
	if (m.n_ifaces == METRICS_MAX_IFACES)
		return NULL;
	snprintf(m.ifaces[m.n_ifaces].name, sizeof(m.ifaces[0].name), "%s", name);
	return &m.ifaces[m.n_ifaces++];
}

void metrics_call(const char *iface, uint16_t opnum, double seconds)
{
	struct iface_slot *s = iface_slot(iface);
	size_t b;

	if (s == NULL) {
		m.calls_other_iface++;
		return;
	}
	s->calls[opnum < METRICS_MAX_OPNUMS ? opnum : METRICS_MAX_OPNUMS]++;
	if (seconds < 0)
		seconds = 0;
	for (b = 0; b < N_BUCKETS && seconds > call_buckets[b]; b++)
		;
	if (b < N_BUCKETS)
		s->bucket[b]++;
	s->count++;
	s->sum += seconds;
}

void metrics_fault(uint32_t status)
{
	size_t i;

	for (i = 0; i < m.n_faults; i++) {
		if (m.fault_status[i] == status) {
			m.faults[i]++;
			return;
		}
	}
	if (m.n_faults < METRICS_MAX_FAULTS) {
		m.fault_status[m.n_faults] = status;
		m.faults[m.n_faults++]++;
		return;
	}
	m.faults[METRICS_MAX_FAULTS]++;
}

void metrics_cluster_refresh(size_t available, size_t unavailable)
{
	m.refreshed = true;
	m.last_refresh = now_unix();
	m.interfaces[0] = available;
	m.interfaces[1] = unavailable;
}

void metrics_ctdb_connected(bool up)
{
	m.ctdb_connected = up ? 1 : 0;
}

/* ---- exposition ---- */

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap * 2 + (size_t)n;
		char *nb = realloc(o->buf, ncap);

		if (nb == NULL) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here come from fixed tables or from interface names we set; still, escape
 * what the format requires (backslash, double quote, newline). */
static void put_label_value(struct out *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			put(o, "\\%c", *v);
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

static const char *const refusal_names[METRICS_REFUSED_COUNT] = {"auth", "level", "netname", "ip",
                                                                 "limits"};
static const char *const notify_names[METRICS_NOTIFY_TYPES] = {
    "forced_response", "resource_change", "client_move", "share_move", "ip_change"};
static const char *const forced_names[METRICS_FORCED_COUNT] = {"admin", "after_notification"};

static void render_histogram(struct out *o, const struct iface_slot *s)
{
	uint64_t cum = 0;
	size_t b;

	for (b = 0; b < N_BUCKETS; b++) {
		cum += s->bucket[b];
		put(o, "witnessd_call_duration_seconds_bucket{interface=\"");
		put_label_value(o, s->name);
		put(o, "\",le=\"%g\"} %llu\n", call_buckets[b], (unsigned long long)cum);
	}
	put(o, "witnessd_call_duration_seconds_bucket{interface=\"");
	put_label_value(o, s->name);
	put(o, "\",le=\"+Inf\"} %llu\n", (unsigned long long)s->count);
	put(o, "witnessd_call_duration_seconds_sum{interface=\"");
	put_label_value(o, s->name);
	put(o, "\"} %.9g\n", s->sum);
	put(o, "witnessd_call_duration_seconds_count{interface=\"");
	put_label_value(o, s->name);
	put(o, "\"} %llu\n", (unsigned long long)s->count);
}

int metrics_render(char **out, size_t *len)
{
	struct out o = {0};
	size_t i, j;

	*out = NULL;
	*len = 0;
	o.cap = 8192;
	o.buf = malloc(o.cap);
	if (o.buf == NULL)
		return WD_ENOMEM;
	o.buf[0] = '\0';

	head(&o, "witnessd_build_info", "gauge", "Version of witnessd and its cluster backend.");
	put(&o, "witnessd_build_info{version=\"");
	put_label_value(&o, m.version);
	put(&o, "\",backend=\"");
	put_label_value(&o, m.backend);
	put(&o, "\"} 1\n");
	head(&o, "witnessd_start_time_seconds", "gauge", "Start time of the daemon, Unix time.");
	put(&o, "witnessd_start_time_seconds %.3f\n", m.start_time);

	head(&o, "witnessd_registrations", "gauge", "Witness registrations held by this daemon.");
	put(&o, "witnessd_registrations{version=\"1\"} %lld\n", (long long)m.registrations[0]);
	put(&o, "witnessd_registrations{version=\"2\"} %lld\n", (long long)m.registrations[1]);
	head(&o, "witnessd_registrations_by_node", "gauge",
	     "Registrations held by this daemon, by the node hosting the registered IP.");
	for (i = 0; i < METRICS_MAX_NODES + 2; i++) {
		if (!m.node_seen[i])
			continue;
		if (i < METRICS_MAX_NODES)
			put(&o, "witnessd_registrations_by_node{node=\"%zu\"} %lld\n", i,
			    (long long)m.registrations_by_node[i]);
		else
			put(&o, "witnessd_registrations_by_node{node=\"%s\"} %lld\n",
			    i == METRICS_MAX_NODES ? "other" : "none",
			    (long long)m.registrations_by_node[i]);
	}
	head(&o, "witnessd_async_notify_pending", "gauge", "AsyncNotify calls waiting now.");
	put(&o, "witnessd_async_notify_pending %lld\n", (long long)m.notify_pending);

	head(&o, "witnessd_notifications_sent_total", "counter",
	     "AsyncNotify calls answered with a notification, by type.");
	for (i = 0; i < METRICS_NOTIFY_TYPES; i++)
		put(&o, "witnessd_notifications_sent_total{type=\"%s\"} %llu\n", notify_names[i],
		    (unsigned long long)m.notifications[i]);
	head(&o, "witnessd_forced_unregistrations_total", "counter",
	     "Registrations ended by the server, by reason.");
	for (i = 0; i < METRICS_FORCED_COUNT; i++)
		put(&o, "witnessd_forced_unregistrations_total{reason=\"%s\"} %llu\n",
		    forced_names[i], (unsigned long long)m.forced[i]);
	head(&o, "witnessd_registrations_expired_total", "counter",
	     "Registrations expired unused.");
	put(&o, "witnessd_registrations_expired_total %llu\n", (unsigned long long)m.expired);
	head(&o, "witnessd_refusals_total", "counter", "Clients or requests refused, by reason.");
	for (i = 0; i < METRICS_REFUSED_COUNT; i++)
		put(&o, "witnessd_refusals_total{reason=\"%s\"} %llu\n", refusal_names[i],
		    (unsigned long long)m.refused[i]);

	head(&o, "witnessd_connections", "gauge", "DCERPC connections open now.");
	put(&o, "witnessd_connections %lld\n", (long long)m.connections);
	head(&o, "witnessd_connections_total", "counter", "DCERPC connections accepted.");
	put(&o, "witnessd_connections_total %llu\n", (unsigned long long)m.connections_total);

	head(&o, "witnessd_calls_total", "counter",
	     "DCERPC requests answered, by interface and opnum.");
	for (i = 0; i < m.n_ifaces; i++) {
		for (j = 0; j <= METRICS_MAX_OPNUMS; j++) {
			if (m.ifaces[i].calls[j] == 0)
				continue;
			put(&o, "witnessd_calls_total{interface=\"");
			put_label_value(&o, m.ifaces[i].name);
			if (j < METRICS_MAX_OPNUMS)
				put(&o, "\",opnum=\"%zu\"} %llu\n", j,
				    (unsigned long long)m.ifaces[i].calls[j]);
			else
				put(&o, "\",opnum=\"other\"} %llu\n",
				    (unsigned long long)m.ifaces[i].calls[j]);
		}
	}
	if (m.calls_other_iface > 0)
		put(&o, "witnessd_calls_total{interface=\"other\",opnum=\"other\"} %llu\n",
		    (unsigned long long)m.calls_other_iface);
	head(&o, "witnessd_call_duration_seconds", "histogram",
	     "Time from a complete request to its reply or fault, by interface.");
	for (i = 0; i < m.n_ifaces; i++)
		render_histogram(&o, &m.ifaces[i]);

	head(&o, "witnessd_faults_total", "counter", "DCERPC fault PDUs sent, by status.");
	for (i = 0; i < m.n_faults; i++)
		put(&o, "witnessd_faults_total{status=\"0x%08x\"} %llu\n", m.fault_status[i],
		    (unsigned long long)m.faults[i]);
	if (m.faults[METRICS_MAX_FAULTS] > 0)
		put(&o, "witnessd_faults_total{status=\"other\"} %llu\n",
		    (unsigned long long)m.faults[METRICS_MAX_FAULTS]);

	head(&o, "witnessd_interfaces", "gauge", "Interfaces (IPs) in the cluster view, by state.");
	put(&o, "witnessd_interfaces{state=\"available\"} %llu\n",
	    (unsigned long long)m.interfaces[0]);
	put(&o, "witnessd_interfaces{state=\"unavailable\"} %llu\n",
	    (unsigned long long)m.interfaces[1]);
	head(&o, "witnessd_cluster_last_refresh_timestamp_seconds", "gauge",
	     "When the cluster backend last published a view, Unix time (0: never).");
	put(&o, "witnessd_cluster_last_refresh_timestamp_seconds %.3f\n",
	    m.refreshed ? m.last_refresh : 0.0);
	if (m.ctdb_connected >= 0) {
		head(&o, "witnessd_ctdb_connected", "gauge", "1 while connected to ctdbd.");
		put(&o, "witnessd_ctdb_connected %d\n", m.ctdb_connected);
	}

	if (o.oom) {
		free(o.buf);
		return WD_ENOMEM;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}
