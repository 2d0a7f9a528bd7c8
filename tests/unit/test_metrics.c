/*
 * test_metrics.c - the metrics registry and its exposition text, the HTTP
 * request parser of the metrics listener, and the listener on a real loop.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "witness/config.h"
#include "witness/err.h"
#include "witness/metrics.h"

static char *render(void)
{
	char *t;
	size_t len;

	ck_assert_int_eq(metrics_render(&t, &len), 0);
	ck_assert_uint_eq(strlen(t), len);
	return t;
}

START_TEST(test_render_moves)
{
	char *t;

	metrics_reset();
	metrics_set_info("9.9.9", "static");
	metrics_registration(2, 1, +1);
	metrics_registration(2, 1, +1);
	metrics_registration(1, 0xFFFFFFFFu, +1);
	metrics_registration(2, 1, -1);
	metrics_notify_pending(+1);
	metrics_notification_sent(1);
	metrics_notification_sent(77); /* out of range: forced_response bucket */
	metrics_refused(METRICS_REFUSED_NETNAME);
	metrics_refused(METRICS_REFUSED_COUNT); /* ignored */
	metrics_connection(+1);
	metrics_connection(+1);
	metrics_connection(-1);
	metrics_call("witness", 0, 0.002);
	metrics_call("witness", 3, 2.5);
	metrics_call("witness", 999, 0.0);
	metrics_fault(0x1c010002);
	metrics_cluster_refresh(3, 1);
	t = render();
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_build_info{version=\"9.9.9\",backend=\"static\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_registrations{version=\"2\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_registrations{version=\"1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_registrations_by_node{node=\"1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_registrations_by_node{node=\"none\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_async_notify_pending 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_notifications_sent_total{type=\"resource_change\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_notifications_sent_total{type=\"forced_response\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_refusals_total{reason=\"netname\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_refusals_total{reason=\"auth\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_connections 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_connections_total 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_calls_total{interface=\"witness\",opnum=\"0\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_calls_total{interface=\"witness\",opnum=\"other\"} 1\n"));
	/* cumulative buckets: 0.002 and 0.0 are <= 0.005, 2.5 only from le=5 */
	ck_assert_ptr_nonnull(strstr(
	    t, "witnessd_call_duration_seconds_bucket{interface=\"witness\",le=\"0.005\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_call_duration_seconds_bucket{interface=\"witness\",le=\"1\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_call_duration_seconds_bucket{interface=\"witness\",le=\"5\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(
	    t, "witnessd_call_duration_seconds_bucket{interface=\"witness\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_call_duration_seconds_count{interface=\"witness\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_faults_total{status=\"0x1c010002\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_interfaces{state=\"available\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_interfaces{state=\"unavailable\"} 1\n"));
	/* ctdb_connected only once a ctdb backend said something */
	ck_assert_ptr_null(strstr(t, "witnessd_ctdb_connected"));
	free(t);
	metrics_ctdb_connected(true);
	t = render();
	ck_assert_ptr_nonnull(strstr(t, "witnessd_ctdb_connected 1\n"));
	free(t);
}
END_TEST

/* Fixed size: many distinct faults, interfaces and nodes end in "other". */
START_TEST(test_bounded)
{
	char *t;
	char name[16];
	unsigned i, n_fault = 0, n_iface = 0;
	const char *p;

	metrics_reset();
	for (i = 0; i < 1000; i++)
		metrics_fault(0x1000 + i);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "if%u", i);
		metrics_call(name, 1, 0.1);
	}
	for (i = 0; i < 1000; i++)
		metrics_registration(2, i, +1);
	t = render();
	for (p = t; (p = strstr(p, "\nwitnessd_faults_total{")) != NULL; p++)
		n_fault++;
	for (p = t; (p = strstr(p, "\nwitnessd_call_duration_seconds_count{")) != NULL; p++)
		n_iface++;
	ck_assert_uint_eq(n_fault, METRICS_MAX_FAULTS + 1);
	ck_assert_uint_eq(n_iface, METRICS_MAX_IFACES);
	ck_assert_ptr_nonnull(strstr(t, "witnessd_faults_total{status=\"other\"} 984\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "witnessd_calls_total{interface=\"other\",opnum=\"other\"} 92\n"));
	ck_assert_ptr_nonnull(strstr(t, "witnessd_registrations_by_node{node=\"other\"} 936\n"));
	free(t);
}
END_TEST

static int parse(const char *s, struct metrics_http_request *r)
{
	size_t used;

	return metrics_http_parse(s, strlen(s), r, &used);
}

START_TEST(test_http_parse)
{
	struct metrics_http_request r;
	size_t used;
	char big[METRICS_HTTP_MAX_REQUEST + 64];
	const char *ok = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	ck_assert_int_eq(metrics_http_parse(ok, strlen(ok), &r, &used), 0);
	ck_assert_uint_eq(used, strlen(ok));
	ck_assert_int_eq(r.method, METRICS_HTTP_GET);
	ck_assert(r.path_metrics);
	ck_assert_int_eq(parse("HEAD /metrics?a=b HTTP/1.0\n\n", &r), 0);
	ck_assert_int_eq(r.method, METRICS_HTTP_HEAD);
	ck_assert(r.path_metrics);
	ck_assert_int_eq(parse("GET /other HTTP/1.1\r\n\r\n", &r), 0);
	ck_assert(!r.path_metrics);
	ck_assert_int_eq(parse("GET /metricsx HTTP/1.1\r\n\r\n", &r), 0);
	ck_assert(!r.path_metrics);
	/* incomplete */
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), WD_EAGAIN);
	ck_assert_int_eq(parse("GET", &r), WD_EAGAIN);
	ck_assert_int_eq(parse("", &r), WD_EAGAIN);
	ck_assert_int_eq(parse("\x16\x03\x01", &r), 400);
	/* refused */
	ck_assert_int_eq(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), 405);
	ck_assert_int_eq(parse("get /metrics HTTP/1.1\r\n\r\n", &r), 405);
	ck_assert_int_eq(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), 505);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /metrics\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 0);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
	                 400);
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), 400);
	ck_assert_int_eq(parse("GET /met\x01rics HTTP/1.1\r\n\r\n", &r), 400);
	/* over the bound: 431 whether or not a line ends */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	ck_assert_int_eq(metrics_http_parse(big, sizeof(big), &r, &used), 431);
	ck_assert_int_eq(metrics_http_parse(big, METRICS_HTTP_MAX_REQUEST, &r, &used), WD_EAGAIN);
}
END_TEST

START_TEST(test_parse_listen)
{
	char a[64];
	uint16_t p;

	ck_assert_int_eq(metrics_parse_listen("127.0.0.1:9464", a, sizeof(a), &p), 0);
	ck_assert_str_eq(a, "127.0.0.1");
	ck_assert_uint_eq(p, 9464);
	ck_assert_int_eq(metrics_parse_listen("[::1]:80", a, sizeof(a), &p), 0);
	ck_assert_str_eq(a, "::1");
	ck_assert_int_eq(metrics_parse_listen("::1:80", a, sizeof(a), &p), WD_EINVAL);
	ck_assert_int_eq(metrics_parse_listen("127.0.0.1", a, sizeof(a), &p), WD_EINVAL);
	ck_assert_int_eq(metrics_parse_listen("127.0.0.1:0", a, sizeof(a), &p), WD_EINVAL);
	ck_assert_int_eq(metrics_parse_listen("127.0.0.1:65536", a, sizeof(a), &p), WD_EINVAL);
	ck_assert_int_eq(metrics_parse_listen("host:80", a, sizeof(a), &p), WD_EINVAL);
	ck_assert_int_eq(metrics_parse_listen("1.2.3.4:8x", a, sizeof(a), &p), WD_EINVAL);
}
END_TEST

START_TEST(test_config_key)
{
	struct wd_config c = {0};
	char err[256], *text;
	const char *good = "[global]\nnetname = W\nmetrics listen = 127.0.0.1:9464\n";
	const char *bad = "[global]\nnetname = W\nmetrics listen = localhost:9464\n";

	wd_config_defaults(&c);
	ck_assert_ptr_null(c.metrics_listen); /* off by default */
	ck_assert_int_eq(wd_config_parse(good, strlen(good), "t", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9464");
	ck_assert_int_eq(wd_config_format(&c, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "metrics listen = 127.0.0.1:9464\n"));
	free(text);
	ck_assert_int_eq(wd_config_parse(bad, strlen(bad), "t", &c, err, sizeof(err)), WD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "t:3: metrics listen"));
	wd_config_free(&c);
}
END_TEST

/* ---- the listener on a real loop ---- */

struct client {
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	const char *send;
	char got[65536];
	size_t len;
	bool eof;
	metrics_http_t *h;
};

static void c_alloc(uv_handle_t *hd, size_t sz, uv_buf_t *b)
{
	struct client *c = hd->data;

	*b = uv_buf_init(c->got + c->len, (unsigned)(sizeof(c->got) - 1 - c->len));
}

static void c_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct client *c = s->data;

	if (n < 0) {
		c->eof = true;
		c->got[c->len] = '\0';
		uv_close((uv_handle_t *)&c->tcp, NULL);
		metrics_http_close(c->h, NULL, NULL);
		return;
	}
	c->len += (size_t)n;
}

static void c_connected(uv_connect_t *req, int status)
{
	struct client *c = req->data;
	uv_buf_t b = uv_buf_init((char *)c->send, (unsigned)strlen(c->send));

	ck_assert_int_eq(status, 0);
	uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, NULL);
	uv_read_start((uv_stream_t *)&c->tcp, c_alloc, c_read);
}

static void exchange(const char *send, struct client *c)
{
	uv_loop_t loop;
	struct sockaddr_in sa;
	uint16_t port = 0;
	char err[128];

	memset(c, 0, sizeof(*c));
	c->send = send;
	uv_loop_init(&loop);
	/* port 0 is not a listen address: the config names a fixed port */
	ck_assert_int_eq(metrics_http_new(&loop, "127.0.0.1:0", &c->h, &port, err, sizeof(err)),
	                 WD_EINVAL);
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
	{
		/* find a free port through the kernel, then listen on it */
		uv_tcp_t t;
		int l = sizeof(sa);
		char spec[32];

		uv_tcp_init(&loop, &t);
		uv_tcp_bind(&t, (struct sockaddr *)&sa, 0);
		uv_tcp_getsockname(&t, (struct sockaddr *)&sa, &l);
		uv_close((uv_handle_t *)&t, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sa.sin_port));
		ck_assert_int_eq(metrics_http_new(&loop, spec, &c->h, &port, err, sizeof(err)), 0);
		ck_assert_uint_eq(port, ntohs(sa.sin_port));
	}
	uv_tcp_init(&loop, &c->tcp);
	c->tcp.data = c->conn.data = c;
	uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&sa, c_connected);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(c->eof);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

START_TEST(test_http_listener)
{
	static struct client c;

	metrics_reset();
	metrics_set_info("1.0", "static");
	exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &c);
	ck_assert_ptr_nonnull(strstr(c.got, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.got, "Content-Type: text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(c.got, "\r\n\r\n# HELP witnessd_build_info"));
	exchange("GET /nope HTTP/1.1\r\n\r\n", &c);
	ck_assert_ptr_nonnull(strstr(c.got, "HTTP/1.1 404 Not Found\r\n"));
	exchange("DELETE /metrics HTTP/1.1\r\n\r\n", &c);
	ck_assert_ptr_nonnull(strstr(c.got, "HTTP/1.1 405 Method Not Allowed\r\n"));
	ck_assert_ptr_nonnull(strstr(c.got, "Allow: GET, HEAD\r\n"));
	exchange("HEAD /metrics HTTP/1.0\r\n\r\n", &c);
	ck_assert_ptr_nonnull(strstr(c.got, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_null(strstr(c.got, "# HELP"));
	exchange("\x16\x03\x01\x02", &c); /* a TLS ClientHello: refused at once */
	ck_assert_ptr_nonnull(strstr(c.got, "HTTP/1.1 400 Bad Request\r\n"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_render_moves);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_http_parse);
	tcase_add_test(tc, test_parse_listen);
	tcase_add_test(tc, test_config_key);
	tcase_add_test(tc, test_http_listener);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
