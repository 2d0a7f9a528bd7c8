/*
 * test_ctl.c - the admin protocol (src/ctl): request validation table,
 * replies, `net witness` text output, and the socket server on a real loop
 * (framing, errors that keep the connection, oversize lines, close).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "witness/cluster.h"
#include "witness/ctl.h"
#include "witness/err.h"
#include "witness/wit.h"

START_TEST(test_request_parse_table)
{
	static const struct {
		const char *in;
		int rc;
		const char *sub;
	} t[] = {
	    {"{\"cmd\":\"status\"}", 0, NULL},
	    {"  {\"cmd\":\"list\",\"filters\":{}}  ", 0, NULL},
	    {"{\"cmd\":\"status\"}\r", 0, NULL},
	    {"", WD_EINVAL, "empty"},
	    {"{", WD_EINVAL, "malformed JSON"},
	    {"nope", WD_EINVAL, "malformed JSON"},
	    {"[]", WD_EINVAL, "not a JSON object"},
	    {"\"cmd\"", WD_EINVAL, "not a JSON object"},
	    {"{}", WD_EINVAL, "no string \"cmd\""},
	    {"{\"cmd\":1}", WD_EINVAL, "no string \"cmd\""},
	    {"{\"cmd\":\"\"}", WD_EINVAL, "no string \"cmd\""},
	    {"{\"cmd\":null}", WD_EINVAL, "no string \"cmd\""},
	    {"{\"cmd\":\"x\"} {}", WD_EINVAL, "trailing data"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *req = (cJSON *)1;
		char err[128] = "";
		int rc = ctl_request_parse(t[i].in, strlen(t[i].in), &req, err, sizeof(err));

		ck_assert_msg(rc == t[i].rc, "row %zu (%s): rc %d", i, t[i].in, rc);
		if (rc == 0) {
			ck_assert_ptr_nonnull(req);
			cJSON_Delete(req);
		} else {
			ck_assert_ptr_null(req);
			ck_assert_msg(strstr(err, t[i].sub) != NULL, "row %zu: %s", i, err);
		}
	}
}
END_TEST

START_TEST(test_request_limits)
{
	char *big = malloc(CTL_MAX_REQUEST + 2);
	cJSON *req;
	char err[128];
	static const char nul[] = "{\"cmd\":\"a\0b\"}";

	memset(big, ' ', CTL_MAX_REQUEST + 1);
	ck_assert_int_eq(ctl_request_parse(big, CTL_MAX_REQUEST + 1, &req, err, sizeof(err)),
	                 WD_ERANGE);
	free(big);
	ck_assert_int_eq(ctl_request_parse(nul, sizeof(nul) - 1, &req, err, sizeof(err)),
	                 WD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

START_TEST(test_replies)
{
	cJSON *r = ctl_reply_error(WD_EACCES, "no");
	char *s = cJSON_PrintUnformatted(r);

	ck_assert_str_eq(s, "{\"ok\":false,\"error\":\"no\",\"code\":\"WD_EACCES\"}");
	cJSON_free(s);
	cJSON_Delete(r);
	r = ctl_reply_ok(cJSON_CreateNumber(3));
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"ok\":true,\"result\":3}");
	cJSON_free(s);
	cJSON_Delete(r);
	ck_assert_str_eq(ctl_err_name(WD_ENOTFOUND), "WD_ENOTFOUND");
	ck_assert_str_eq(ctl_err_name(-999), "WD_E?");
}
END_TEST

/* Text output is net witness's (source3/utils/net_witness.c), byte for byte. */
START_TEST(test_print_registrations)
{
	const char *in = "{\"filters\":{},\"message\":{\"type\":\"CLIENT_MOVE_TO_NODE\","
	                 "\"new_node\":1},\"registrations\":{"
	                 "\"6d6e3a55-4a4b-4cf1-a7ec-8b0d42fe5b12\":{\"net_name\":\"WITSRV\","
	                 "\"share_name\":null,\"ip_address\":\"10.0.0.1\","
	                 "\"client_computer_name\":\"CL1\"}}}";
	cJSON *res = cJSON_Parse(in);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ctl_print_registrations(f, res);
	fclose(f);
	ck_assert_str_eq(buf, "CLIENT_MOVE_TO_NODE: 1\n"
	                      "Registration-UUID:                   NetName              ShareName"
	                      "       IpAddress            ClientComputerName\n"
	                      /* 36 + 20 + 18 (net witness pads "%-15s" with 18 dashes) + 20 + 18,
	                       * joined by '-' */
	                      "------------------------------------------------------------"
	                      "--------------------------------------------------------\n"
	                      "6d6e3a55-4a4b-4cf1-a7ec-8b0d42fe5b12 WITSRV               ''        "
	                      "      10.0.0.1             CL1\n");
	free(buf);
	cJSON_Delete(res);

	/* headlines of the other update types */
	static const struct {
		const char *msg, *want;
	} h[] = {
	    {"{\"type\":\"CLIENT_MOVE_TO_NODE\",\"all_nodes\":true}", "CLIENT_MOVE_TO_NODE: ALL\n"},
	    {"{\"type\":\"SHARE_MOVE_TO_IPV4\",\"new_ip\":\"10.0.0.2\"}",
	     "SHARE_MOVE_TO_IPV4: 10.0.0.2\n"},
	    {"{\"type\":\"FORCE_UNREGISTER\"}", "FORCE_UNREGISTER:\n"},
	    {"{\"type\":\"FORCE_RESPONSE\",\"json\":{\"result\":0}}",
	     "FORCE_RESPONSE: {\"result\":0}\n"},
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "message", cJSON_Parse(h[i].msg));
		buf = NULL;
		f = open_memstream(&buf, &len);
		ctl_print_registrations(f, o);
		fclose(f);
		ck_assert_msg(strncmp(buf, h[i].want, strlen(h[i].want)) == 0, "%s", buf);
		free(buf);
		cJSON_Delete(o);
	}
}
END_TEST

/* ---- the server on a real loop ---- */

static unsigned handled;

static cJSON *echo_handler(void *arg, const cJSON *req)
{
	const char *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;

	handled++;
	if (strcmp(cmd, "fail") == 0)
		return ctl_reply_error(WD_ENOTFOUND, "nothing here");
	return ctl_reply_ok(cJSON_CreateString(cmd));
}

struct client_job {
	char path[108];
	const char *send;
	size_t send_len;
	char reply[4096];
	size_t reply_len;
	uv_async_t *done;
	int call_rc;
	cJSON *call_reply;
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Raw: send bytes, half-close, read everything until EOF. */
static void raw_client(void *arg)
{
	struct client_job *j = arg;
	int fd = connect_to(j->path);
	ssize_t n;
	size_t off = 0;

	while (off < j->send_len) {
		n = send(fd, j->send + off, j->send_len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (j->reply_len < sizeof(j->reply) - 1 &&
	       (n = recv(fd, j->reply + j->reply_len, sizeof(j->reply) - 1 - j->reply_len, 0)) > 0)
		j->reply_len += (size_t)n;
	j->reply[j->reply_len] = '\0';
	close(fd);
	uv_async_send(j->done);
}

static void api_client(void *arg)
{
	struct client_job *j = arg;
	cJSON *req = cJSON_CreateObject();
	char err[256];

	cJSON_AddStringToObject(req, "cmd", "hello");
	j->call_rc = ctl_client_call(j->path, req, 5000, &j->call_reply, err, sizeof(err));
	cJSON_Delete(req);
	uv_async_send(j->done);
}

static bool closed_cb_ran;

static void server_closed(void *arg)
{
	closed_cb_ran = true;
}

static ctl_server_t *test_srv;

static void on_done(uv_async_t *a)
{
	ctl_server_close(test_srv, server_closed, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void run_job(void (*fn)(void *), struct client_job *j)
{
	uv_loop_t loop;
	uv_async_t done;
	uv_thread_t th;
	char dir[] = "/tmp/wd-ctl-XXXXXX";
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(j->path, sizeof(j->path), "%s/sub/ctl.sock", dir);
	uv_loop_init(&loop);
	uv_async_init(&loop, &done, on_done);
	j->done = &done;
	handled = 0;
	closed_cb_ran = false;
	ck_assert_int_eq(
	    ctl_server_new(&loop, j->path, (uint32_t)geteuid(), echo_handler, NULL, &test_srv), 0);
	/* created 0600 in a 0755 directory */
	ck_assert_int_eq(stat(j->path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	{
		char sub[128];

		snprintf(sub, sizeof(sub), "%s/sub", dir);
		ck_assert_int_eq(stat(sub, &st), 0);
		ck_assert_uint_eq(st.st_mode & 0777, 0755);
	}
	/* a second server on the same live path is refused */
	{
		ctl_server_t *other = NULL;

		ck_assert_int_eq(ctl_server_new(&loop, j->path, 0, echo_handler, NULL, &other),
		                 WD_EEXIST);
		ck_assert_ptr_null(other);
	}
	uv_thread_create(&th, fn, j);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_thread_join(&th);
	ck_assert(closed_cb_ran);
	ck_assert_int_ne(access(j->path, F_OK), 0); /* unlinked on close */
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	{
		char sub[128];

		snprintf(sub, sizeof(sub), "%s/sub", dir);
		rmdir(sub);
		rmdir(dir);
	}
}

START_TEST(test_server_lines)
{
	struct client_job j = {0};
	static const char in[] = "{\"cmd\":\"a\"}\n"
	                         "{oops\n"
	                         "{\"cmd\":\"fail\"}\n"
	                         "\n"
	                         "{\"cmd\":\"b\"}\r\n"
	                         "{\"cmd\":\"c\"}"; /* no newline: never answered */

	j.send = in;
	j.send_len = sizeof(in) - 1;
	run_job(raw_client, &j);
	ck_assert_str_eq(j.reply,
	                 "{\"ok\":true,\"result\":\"a\"}\n"
	                 "{\"ok\":false,\"error\":\"malformed JSON near byte 2\","
	                 "\"code\":\"WD_EINVAL\"}\n"
	                 "{\"ok\":false,\"error\":\"nothing here\",\"code\":\"WD_ENOTFOUND\"}\n"
	                 "{\"ok\":false,\"error\":\"empty request\",\"code\":\"WD_EINVAL\"}\n"
	                 "{\"ok\":true,\"result\":\"b\"}\n");
	ck_assert_uint_eq(handled, 3);
}
END_TEST

START_TEST(test_server_too_long)
{
	struct client_job j = {0};
	char *in = malloc(CTL_MAX_REQUEST + 100);

	memset(in, 'x', CTL_MAX_REQUEST + 100);
	j.send = in;
	j.send_len = CTL_MAX_REQUEST + 100;
	run_job(raw_client, &j);
	ck_assert_str_eq(j.reply, "{\"ok\":false,\"error\":\"request line too long\","
	                          "\"code\":\"WD_ERANGE\"}\n");
	ck_assert_uint_eq(handled, 0);
	free(in);
}
END_TEST

START_TEST(test_client_call)
{
	struct client_job j = {0};

	run_job(api_client, &j);
	ck_assert_int_eq(j.call_rc, 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j.call_reply, "ok")));
	ck_assert_str_eq(cJSON_GetObjectItem(j.call_reply, "result")->valuestring, "hello");
	cJSON_Delete(j.call_reply);
}
END_TEST

START_TEST(test_client_no_daemon)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	char err[256];

	cJSON_AddStringToObject(req, "cmd", "status");
	ck_assert_int_ne(
	    ctl_client_call("/nonexistent/ctl.sock", req, 1000, &reply, err, sizeof(err)), 0);
	ck_assert_ptr_null(reply);
	ck_assert_ptr_nonnull(strstr(err, "cannot connect to /nonexistent/ctl.sock"));
	cJSON_Delete(req);
}
END_TEST

/* ---- the command table against a real static cluster and witness service ---- */

static cJSON *admin_call(struct ctl_admin *adm, const char *json)
{
	cJSON *req = cJSON_Parse(json), *rep;

	ck_assert_ptr_nonnull(req);
	rep = ctl_admin_handle(adm, req);
	cJSON_Delete(req);
	ck_assert_ptr_nonnull(rep);
	return rep;
}

static bool reply_ok(const cJSON *rep)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"));
}

START_TEST(test_admin_table)
{
	uv_loop_t loop;
	struct cluster_view *v;
	cluster_t *cl = NULL;
	wit_service_t *ws = NULL;
	struct wit_config wc = {.netname = "WITSRV",
	                        .min_auth_level = 1,
	                        .unused_timeout_ms = 30000,
	                        .reregister_delay_ms = 5000,
	                        .max_registrations = 100,
	                        .max_registrations_per_client = 10};
	struct ctl_admin adm = {0};
	cJSON *rep;
	const cJSON *ips;
	static const struct {
		const char *req;
		bool ok;
		const char *err_sub;
	} t[] = {
	    {"{\"cmd\":\"status\"}", true, NULL},
	    {"{\"cmd\":\"ip-list\"}", true, NULL},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\",\"available\":false}", true, NULL},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\",\"node\":0}", true, NULL},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.9\",\"available\":false}", false,
	     "not one of the cluster's interfaces"},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\"}", false, "\"available\" and/or \"node\""},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\",\"available\":1}", false, "boolean"},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\",\"node\":-1}", false, "node number"},
	    {"{\"cmd\":\"ip-set\",\"ip\":\"10.0.0.2\",\"node\":1.5}", false, "node number"},
	    {"{\"cmd\":\"ip-set\",\"ip\":5,\"node\":1}", false, "\"ip\""},
	    {"{\"cmd\":\"list\"}", true, NULL},
	    {"{\"cmd\":\"list\",\"filters\":{\"net_name\":\"^WIT\"}}", true, NULL},
	    {"{\"cmd\":\"list\",\"filters\":{\"net_name\":\"(\"}}", false, NULL},
	    {"{\"cmd\":\"list\",\"filters\":{\"nope\":\"x\"}}", false, "unknown filter"},
	    {"{\"cmd\":\"list\",\"filters\":{\"net_name\":3}}", false, "must be a string"},
	    {"{\"cmd\":\"list\",\"filters\":[]}", false, "must be an object"},
	    {"{\"cmd\":\"client-move\",\"filters\":{\"apply_to_all\":true},\"new_node\":1}", true,
	     NULL},
	    {"{\"cmd\":\"client-move\",\"filters\":{\"apply_to_all\":true}}", false, "exactly one"},
	    {"{\"cmd\":\"share-move\",\"filters\":{\"apply_to_all\":true},\"new_node\":1,"
	     "\"new_ip\":\"10.0.0.1\"}",
	     false, "exactly one"},
	    {"{\"cmd\":\"share-move\",\"filters\":{\"apply_to_all\":true},\"new_node\":-2}", false,
	     "new_node"},
	    {"{\"cmd\":\"force-unregister\",\"filters\":{\"apply_to_all\":true}}", true, NULL},
	    {"{\"cmd\":\"force-response\",\"filters\":{\"apply_to_all\":true},"
	     "\"forced_response\":\"x\"}",
	     false, "must be an object"},
	    {"{\"cmd\":\"frob\"}", false, "unknown command"},
	};

	uv_loop_init(&loop);
	v = cluster_view_new(0);
	ck_assert_int_eq(cluster_view_add(v, "10.0.0.1", 0, CLUSTER_NODE_NONE, true), 0);
	ck_assert_int_eq(cluster_view_add(v, "10.0.0.2", 1, CLUSTER_NODE_NONE, true), 0);
	ck_assert_int_eq(cluster_static_new(&loop, v, &cl), 0);
	cluster_view_free(v);
	ck_assert_int_eq(wit_service_new(&loop, &wc, cl, NULL, &ws), 0);
	adm.wit = ws;
	adm.cluster = cl;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rep = admin_call(&adm, t[i].req);
		ck_assert_msg(reply_ok(rep) == t[i].ok, "row %zu %s", i, t[i].req);
		if (!t[i].ok) {
			const cJSON *e = cJSON_GetObjectItem(rep, "error");

			ck_assert(cJSON_IsString(e));
			ck_assert_msg(t[i].err_sub == NULL || strstr(e->valuestring, t[i].err_sub),
			              "row %zu: %s", i, e->valuestring);
		}
		cJSON_Delete(rep);
	}
	/* the ip-set rows above left 10.0.0.2 unavailable on node 0 */
	rep = admin_call(&adm, "{\"cmd\":\"ip-list\"}");
	ips = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "result"), "interfaces");
	ck_assert_int_eq(cJSON_GetArraySize(ips), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ips, 1), "state")->valuestring,
	                 "UNAVAILABLE");
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ips, 1), "node")->valueint, 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(ips, 1), "local")));
	cJSON_Delete(rep);

	wit_service_free(ws);
	cluster_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("ctl");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_request_parse_table);
	tcase_add_test(tc, test_request_limits);
	tcase_add_test(tc, test_replies);
	tcase_add_test(tc, test_print_registrations);
	tcase_add_test(tc, test_server_lines);
	tcase_add_test(tc, test_server_too_long);
	tcase_add_test(tc, test_client_call);
	tcase_add_test(tc, test_client_no_daemon);
	tcase_add_test(tc, test_admin_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
