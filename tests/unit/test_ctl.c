/*
 * test_ctl.c - the admin protocol (src/ctl): request validation table,
 * replies, `net witness` text output, and the socket server on a real loop
 * (framing, errors that keep the connection, oversize lines, close).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "witness/cluster.h"
#include "witness/ctdb.h"
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

/*
 * Text output is net witness's (source3/utils/net_witness.c), byte for byte,
 * with the holding node's column after the UUID.
 */
START_TEST(test_print_registrations)
{
	const char *in = "{\"filters\":{},\"message\":{\"type\":\"CLIENT_MOVE_TO_NODE\","
	                 "\"new_node\":1},\"registrations\":{"
	                 "\"6d6e3a55-4a4b-4cf1-a7ec-8b0d42fe5b12\":{\"net_name\":\"WITSRV\","
	                 "\"share_name\":null,\"ip_address\":\"10.0.0.1\","
	                 "\"client_computer_name\":\"CL1\",\"node\":2}}}";
	cJSON *res = cJSON_Parse(in);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ctl_print_registrations(f, res);
	fclose(f);
	ck_assert_str_eq(buf,
	                 "CLIENT_MOVE_TO_NODE: 1\n"
	                 "Registration-UUID:                   Node NetName              ShareName"
	                 "       IpAddress            ClientComputerName\n"
	                 /* 36 + 4 + 20 + 18 (net witness pads "%-15s" with 18 dashes) + 20 +
	                  * 18, joined by '-' */
	                 "-------------------------------------------------"
	                 "-------------------------------------------------"
	                 "-----------------------\n"
	                 "6d6e3a55-4a4b-4cf1-a7ec-8b0d42fe5b12 2    WITSRV               ''        "
	                 "      10.0.0.1             CL1\n");
	free(buf);
	cJSON_Delete(res);
}
END_TEST

/* ---- the server on a real loop ---- */

static unsigned handled;

static cJSON *echo_handler(void *arg, const cJSON *req, ctl_call_t *call)
{
	(void)call;
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
static const struct ctl_limits *test_limits; /* NULL: the defaults */
static struct ctl_server_stats test_stats;   /* at the end of run_job */

static void on_done(uv_async_t *a)
{
	ctl_server_stats(test_srv, &test_stats);
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
	ctl_server_set_limits(test_srv, test_limits);
	memset(&test_stats, 0, sizeof(test_stats));
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

/* ---- a stuck client cannot lock the socket (issue 7 item 2) ---- */

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Reads until EOF or timeout_ms; returns the bytes read (NUL-terminated in buf). */
static size_t read_to_eof(int fd, char *buf, size_t cap, int timeout_ms, bool *eof)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	size_t len = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*eof = false;
	while (len < cap - 1 && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
		len += (size_t)n;
	if (len < cap - 1 && n == 0)
		*eof = true;
	buf[len] = '\0';
	return len;
}

#define N_STUCK (CTL_MAX_CLIENTS + 6)

struct stuck_job {
	struct client_job j;
	int fds[N_STUCK];
	long call_ms;
	char first_reply[512];
	bool first_eof;
	char call_err[256];
	int call_rc2;
	cJSON *call_reply2;
};

/*
 * 70 connections send half a line and go silent (the lock-out); two
 * witnessctl calls still get their replies at once, and the connections that
 * had to go were told why.
 */
static void stuck_client(void *arg)
{
	struct stuck_job *sj = arg;
	cJSON *req = cJSON_CreateObject();
	long t0;

	for (int i = 0; i < N_STUCK; i++) {
		sj->fds[i] = connect_to(sj->j.path);
		ck_assert_int_eq(send(sj->fds[i], "{\"cmd\":\"li", 10, MSG_NOSIGNAL), 10);
		usleep(2000); /* their order is their age */
	}
	cJSON_AddStringToObject(req, "cmd", "hello");
	t0 = mono_ms();
	sj->j.call_rc = ctl_client_call(sj->j.path, req, 3000, &sj->j.call_reply, sj->call_err,
	                                sizeof(sj->call_err));
	sj->call_rc2 = ctl_client_call(sj->j.path, req, 3000, &sj->call_reply2, sj->call_err,
	                               sizeof(sj->call_err));
	sj->call_ms = mono_ms() - t0;
	cJSON_Delete(req);
	/* the first one was the oldest: evicted with a reason */
	read_to_eof(sj->fds[0], sj->first_reply, sizeof(sj->first_reply), 2000, &sj->first_eof);
	for (int i = 0; i < N_STUCK; i++)
		close(sj->fds[i]);
	uv_async_send(sj->j.done);
}

START_TEST(test_server_cap_evicts_oldest)
{
	struct stuck_job sj;

	memset(&sj, 0, sizeof(sj));
	test_limits = NULL; /* the daemon's defaults */
	run_job(stuck_client, &sj.j);
	ck_assert_msg(sj.j.call_rc == 0, "%s", sj.call_err);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(sj.j.call_reply, "ok")));
	ck_assert_int_eq(sj.call_rc2, 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(sj.call_reply2, "ok")));
	cJSON_Delete(sj.j.call_reply);
	cJSON_Delete(sj.call_reply2);
	ck_assert_msg(sj.call_ms < 1000, "two calls took %ld ms", sj.call_ms);
	ck_assert(sj.first_eof);
	ck_assert_msg(strstr(sj.first_reply, "\"code\":\"WD_ELIMIT\"") != NULL &&
	                  strstr(sj.first_reply, "admin connections are open") != NULL,
	              "%s", sj.first_reply);
	/* 70 stuck + 2 calls against a cap of 64 (the second call may find the first gone) */
	ck_assert_uint_ge(test_stats.evicted, N_STUCK + 1 - CTL_MAX_CLIENTS);
	ck_assert_uint_le(test_stats.evicted, N_STUCK + 2 - CTL_MAX_CLIENTS);
	ck_assert_uint_ge(test_stats.accepted, N_STUCK + 2); /* and run_job's probe */
	ck_assert_uint_eq(handled, 2);
}
END_TEST

struct deadline_job {
	struct client_job j;
	char silent[512], partial[512], served[512];
	bool silent_eof, partial_eof, served_eof;
	long silent_ms, partial_ms, served_ms;
};

/* A silent connection, a half line and a served request, each cut at its deadline. */
static void deadline_client(void *arg)
{
	struct deadline_job *dj = arg;
	int silent = connect_to(dj->j.path), partial = connect_to(dj->j.path);
	int served = connect_to(dj->j.path);
	long t0 = mono_ms();

	ck_assert_int_eq(send(partial, "{\"cmd\":\"li", 10, MSG_NOSIGNAL), 10);
	ck_assert_int_eq(send(served, "{\"cmd\":\"x\"}\n", 12, MSG_NOSIGNAL), 12);
	read_to_eof(partial, dj->partial, sizeof(dj->partial), 3000, &dj->partial_eof);
	dj->partial_ms = mono_ms() - t0;
	read_to_eof(silent, dj->silent, sizeof(dj->silent), 3000, &dj->silent_eof);
	dj->silent_ms = mono_ms() - t0;
	read_to_eof(served, dj->served, sizeof(dj->served), 3000, &dj->served_eof);
	dj->served_ms = mono_ms() - t0;
	close(silent);
	close(partial);
	close(served);
	uv_async_send(dj->j.done);
}

START_TEST(test_server_deadlines)
{
	static const struct ctl_limits lim = {.idle_timeout_ms = 600, .request_timeout_ms = 300};
	struct deadline_job dj;

	memset(&dj, 0, sizeof(dj));
	test_limits = &lim;
	run_job(deadline_client, &dj.j);
	test_limits = NULL;
	ck_assert(dj.partial_eof);
	ck_assert_str_eq(dj.partial,
	                 "{\"ok\":false,\"error\":\"admin connection closed by witnessd: "
	                 "request line not completed within 300 ms\","
	                 "\"code\":\"WD_ETIMEDOUT\"}\n");
	ck_assert_msg(dj.partial_ms >= 290 && dj.partial_ms < 1500, "%ld ms", dj.partial_ms);
	ck_assert(dj.silent_eof);
	ck_assert_str_eq(dj.silent,
	                 "{\"ok\":false,\"error\":\"admin connection closed by witnessd: "
	                 "no request for 600 ms\",\"code\":\"WD_ETIMEDOUT\"}\n");
	ck_assert_msg(dj.silent_ms >= 590 && dj.silent_ms < 2000, "%ld ms", dj.silent_ms);
	/* answered, then idle like the others */
	ck_assert(dj.served_eof);
	ck_assert_ptr_nonnull(strstr(dj.served, "{\"ok\":true,\"result\":\"x\"}\n"));
	ck_assert_ptr_nonnull(strstr(dj.served, "no request for 600 ms"));
	ck_assert_uint_eq(test_stats.request_timeouts, 1);
	ck_assert_uint_eq(test_stats.idle_timeouts, 2);
	ck_assert_uint_eq(test_stats.evicted, 0);
}
END_TEST

/*
 * A client that sends requests and never reads: the server stops reading
 * once a reply waits in user space, and cuts the connection at the idle
 * deadline instead of queueing a reply per request.
 */
#define BIG_CMD   (60 * 1024)
#define N_BIG_REQ 64

static void unread_client(void *arg)
{
	struct client_job *j = arg;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
	int fd = connect_to(j->path);
	char *line = malloc(BIG_CMD + 16), *sink = malloc(1 << 20);
	size_t n = (size_t)snprintf(line, 16, "{\"cmd\":\"");
	bool eof;

	memset(line + n, 'c', BIG_CMD);
	n += BIG_CMD;
	memcpy(line + n, "\"}\n", 3);
	n += 3;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < N_BIG_REQ; i++) {
		if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n)
			break; /* the server stopped reading: our send buffer is full */
	}
	usleep(900 * 1000); /* past the idle deadline, reading nothing */
	read_to_eof(fd, sink, 1 << 20, 3000, &eof);
	j->call_rc = eof ? 0 : -1;
	free(line);
	free(sink);
	close(fd);
	uv_async_send(j->done);
}

START_TEST(test_server_unread_replies)
{
	static const struct ctl_limits lim = {.idle_timeout_ms = 400, .request_timeout_ms = 400};
	struct client_job j = {0};

	test_limits = &lim;
	run_job(unread_client, &j);
	test_limits = NULL;
	ck_assert_int_eq(j.call_rc, 0); /* cut: EOF after what had been written */
	ck_assert_uint_eq(test_stats.write_timeouts, 1);
	ck_assert_uint_lt(handled, N_BIG_REQ);
}
END_TEST

/* ---- witnessctl's errors when the daemon does not answer ---- */

static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

static void *accept_close(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	char b[256];

	(void)!recv(fd, b, sizeof(b), 0);
	close(fd);
	return NULL;
}

START_TEST(test_client_errors)
{
	char dir[] = "/tmp/wd-ctlc-XXXXXX", path[128], err[512];
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	int lfd, fillers[8], nf = 0;
	long t0;
	pthread_t th;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	cJSON_AddStringToObject(req, "cmd", "status");

	/* a daemon that accepts and hangs up without a reply */
	lfd = listen_at(path, 4);
	pthread_create(&th, NULL, accept_close, &lfd);
	ck_assert_int_eq(ctl_client_call(path, req, 2000, &reply, err, sizeof(err)), WD_EIO);
	pthread_join(th, NULL);
	ck_assert_msg(strstr(err, "closed the connection") && strstr(err, "without a reply"), "%s",
	              err);

	/* accepted by the kernel, never answered: the timeout, with what to do */
	t0 = mono_ms();
	ck_assert_int_eq(ctl_client_call(path, req, 300, &reply, err, sizeof(err)), WD_ETIMEDOUT);
	ck_assert_msg(mono_ms() - t0 < 2000, "%ld ms", mono_ms() - t0);
	ck_assert_msg(strstr(err, "timed out after 300 ms") && strstr(err, "--timeout"), "%s", err);
	close(lfd);

	/* a listen queue that stays full (a stuck loop): no hang in connect() */
	lfd = listen_at(path, 0);
	for (; nf < 8; nf++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		strcpy(sa.sun_path, path);
		fillers[nf] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fillers[nf], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fillers[nf]);
			break;
		}
	}
	t0 = mono_ms();
	ck_assert_int_eq(ctl_client_call(path, req, 300, &reply, err, sizeof(err)), WD_ETIMEDOUT);
	ck_assert_msg(mono_ms() - t0 < 2000, "%ld ms", mono_ms() - t0);
	ck_assert_msg(strstr(err, "not accepting connections"), "%s", err);
	ck_assert_ptr_null(reply);
	for (int i = 0; i < nf; i++)
		close(fillers[i]);
	close(lfd);
	unlink(path);
	rmdir(dir);
	cJSON_Delete(req);
}
END_TEST

/* ---- the command table against a real static cluster and witness service ---- */

static cJSON *admin_call(struct ctl_admin *adm, const char *json)
{
	cJSON *req = cJSON_Parse(json), *rep;

	ck_assert_ptr_nonnull(req);
	rep = ctl_admin_handle(adm, req, NULL);
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
	    {"{\"cmd\":\"list\",\"filters\":{\"ip_address\":\"1++++++++++++++++++++++\"}}", false,
	     "selector too complex: --witness-ip-address: a quantifier follows another"},
	    {"{\"cmd\":\"force-unregister\",\"filters\":{\"net_name\":\"(a{2,255}){255}\"}}", false,
	     "selector too complex: --witness-net-name: expands"},
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

	/* with the server given, "status" carries its counters */
	{
		char dir[] = "/tmp/wd-ctls-XXXXXX", path[128];
		ctl_server_t *srv = NULL;
		const cJSON *a;

		ck_assert_ptr_nonnull(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/s.sock", dir);
		ck_assert_int_eq(ctl_server_new(&loop, path, 0, ctl_admin_handle, &adm, &srv), 0);
		adm.server = srv;
		rep = admin_call(&adm, "{\"cmd\":\"status\"}");
		a = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "result"), "admin_socket");
		ck_assert(cJSON_IsObject(a));
		ck_assert_int_eq(cJSON_GetObjectItem(a, "evicted")->valueint, 0);
		ck_assert_int_eq(cJSON_GetObjectItem(a, "clients")->valueint, 0);
		cJSON_Delete(rep);
		ctl_server_close(srv, NULL, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		rmdir(dir);
	}

	wit_service_free(ws);
	cluster_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- peer messages (src/ctl/peer.c) ---- */

START_TEST(test_peer_msg_pull)
{
	uint8_t buf[CTL_PEER_HDR_LEN + 16];
	struct ctl_peer_msg m = {.kind = CTL_PEER_REPLY,
	                         .to_node = 3,
	                         .id = 0x1122334455667788ULL,
	                         .part = 1,
	                         .nparts = 2,
	                         .data = (const uint8_t *)"{\"ok\":1}",
	                         .len = 8};
	struct ctl_peer_msg o;
	uint32_t pnn;
	const uint8_t *d;
	size_t dl;
	uint8_t env[CTDB_WDPEER_ADMIN_HDR + 8];

	ctl_peer_msg_push(&m, buf);
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), 0);
	ck_assert_uint_eq(o.kind, CTL_PEER_REPLY);
	ck_assert_uint_eq(o.to_node, 3);
	ck_assert(o.id == m.id);
	ck_assert_uint_eq(o.part, 1);
	ck_assert_uint_eq(o.nparts, 2);
	ck_assert_uint_eq(o.len, 8);
	ck_assert(memcmp(o.data, "{\"ok\":1}", 8) == 0);
	/* short, empty payload, NUL in the text, bad kind, bad part numbers */
	ck_assert_int_eq(ctl_peer_msg_pull(buf, CTL_PEER_HDR_LEN, &o), WD_ESHORT);
	buf[CTL_PEER_HDR_LEN + 2] = 0;
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), WD_EPROTO);
	m.kind = 7;
	ctl_peer_msg_push(&m, buf);
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), WD_EPROTO);
	m.kind = CTL_PEER_REPLY;
	m.part = 2;
	ctl_peer_msg_push(&m, buf);
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), WD_ERANGE);
	m.part = 0;
	m.nparts = CTL_PEER_MAX_PARTS + 1;
	ctl_peer_msg_push(&m, buf);
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), WD_ERANGE);
	m.kind = CTL_PEER_REQUEST; /* requests are one part */
	m.nparts = 2;
	ctl_peer_msg_push(&m, buf);
	ck_assert_int_eq(ctl_peer_msg_pull(buf, ctl_peer_msg_len(&m), &o), WD_EPROTO);

	/* the ctdb envelope: exact length, bounded */
	ctdb_wdpeer_admin_push(2, "abcdefgh", 8, env);
	ck_assert_uint_eq(ctdb_wdpeer_event(env, sizeof(env)), CTDB_WDPEER_ADMIN);
	ck_assert_int_eq(ctdb_wdpeer_admin_pull(env, sizeof(env), &pnn, &d, &dl), 0);
	ck_assert_uint_eq(pnn, 2);
	ck_assert_uint_eq(dl, 8);
	ck_assert_int_eq(ctdb_wdpeer_admin_pull(env, sizeof(env) - 1, &pnn, &d, &dl), WD_ESHORT);
	{
		uint8_t big[CTDB_WDPEER_ADMIN_HDR + 9];

		memcpy(big, env, sizeof(env));
		big[sizeof(env)] = 'x';
		ck_assert_int_eq(ctdb_wdpeer_admin_pull(big, sizeof(big), &pnn, &d, &dl),
		                 WD_EPROTO);
		/* a length over CTDB_WDPEER_ADMIN_MAX */
		uint32_t l = CTDB_WDPEER_ADMIN_MAX + 1;

		memcpy(big + 16, &l, 4);
		ck_assert_int_eq(ctdb_wdpeer_admin_pull(big, sizeof(big), &pnn, &d, &dl),
		                 WD_ERANGE);
	}
	ck_assert_uint_eq(ctdb_wdpeer_event((const uint8_t *)"WDPR", 4), 0);

	/* requests: cluster commands only */
	{
		cJSON *req = NULL;
		const struct ctl_cmd_desc *cd;
		char err[128];
		const char *ok = "{\"cmd\":\"list\"}", *no = "{\"cmd\":\"ip-set\"}";

		ck_assert_int_eq(
		    ctl_peer_request_parse((const uint8_t *)ok, strlen(ok), &req, &cd, err, 128),
		    0);
		ck_assert_int_eq(cd->id, CTL_CMD_LIST);
		cJSON_Delete(req);
		ck_assert_int_eq(
		    ctl_peer_request_parse((const uint8_t *)no, strlen(no), &req, &cd, err, 128),
		    WD_EINVAL);
		ck_assert_ptr_null(req);
		ck_assert_int_eq(
		    ctl_peer_reply_parse((const uint8_t *)"{\"ok\":true}", 11, &req, err, 128),
		    WD_EPROTO);
	}
	/* the command table is consistent */
	for (int i = 0; i < CTL_CMD_COUNT; i++) {
		ck_assert_int_eq(ctl_cmd_get((enum ctl_cmd)i)->id, i);
		ck_assert_ptr_eq(ctl_cmd_find(ctl_cmd_get((enum ctl_cmd)i)->name),
		                 ctl_cmd_get((enum ctl_cmd)i));
	}
	ck_assert_ptr_null(ctl_cmd_find("frob"));
	ck_assert_int_eq(ctl_exit_for_error(WD_EINVAL), CTL_EXIT_USAGE);
	ck_assert_int_eq(ctl_exit_for_error(WD_ENOTFOUND), CTL_EXIT_NOMATCH);
	ck_assert_int_eq(ctl_exit_for_error(WD_EIO), CTL_EXIT_UNREACHABLE);
	ck_assert_int_eq(ctl_err_code("WD_ENOTSUP"), WD_ENOTSUP);
}
END_TEST

/*
 * A cluster command over a fake backend with nodes 0 (us), 1 and 2: node 1
 * answers a list with 300 registrations, more than one message holds, so
 * the reply comes in parts; node 2 answers nothing and is named. With the
 * parts out of order node 1 counts as not answering too.
 */
static struct peer_fake {
	uv_loop_t *loop;
	cluster_t *cl;
	uv_timer_t t;
	uint64_t id;
	bool reverse;
	unsigned sent_requests;
} pf;

static void peer_fake_reply(uv_timer_t *t)
{
	cJSON *r = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(r, "result"), *regs;
	const size_t chunk = CLUSTER_PEER_MAX - CTL_PEER_HDR_LEN;
	uint8_t *buf = malloc(CLUSTER_PEER_MAX);
	char *text;
	size_t len, nparts;

	(void)t;
	cJSON_AddBoolToObject(r, "ok", 1);
	regs = cJSON_AddObjectToObject(res, "registrations");
	for (int i = 0; i < 300; i++) {
		char key[40], pad[400];
		cJSON *o = cJSON_CreateObject();

		snprintf(key, sizeof(key), "00000000-0000-0000-0000-%012d", i);
		memset(pad, 'x', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = 0;
		cJSON_AddStringToObject(o, "client_computer_name", pad);
		cJSON_AddNumberToObject(o, "node", 7); /* a lie: the answering node wins */
		cJSON_AddItemToObject(regs, key, o);
	}
	text = cJSON_PrintUnformatted(r);
	len = strlen(text);
	nparts = (len + chunk - 1) / chunk;
	ck_assert_uint_gt(nparts, 2);
	for (size_t k = 0; k < nparts; k++) {
		size_t i = pf.reverse ? nparts - 1 - k : k;
		size_t off = i * chunk, n = len - off < chunk ? len - off : chunk;
		struct ctl_peer_msg m = {.kind = CTL_PEER_REPLY,
		                         .to_node = 0,
		                         .id = pf.id,
		                         .part = (uint32_t)i,
		                         .nparts = (uint32_t)nparts,
		                         .data = (const uint8_t *)text + off,
		                         .len = n};

		ctl_peer_msg_push(&m, buf);
		cluster_deliver_peer(pf.cl, 1, buf, ctl_peer_msg_len(&m));
	}
	cJSON_free(text);
	cJSON_Delete(r);
	free(buf);
}

static int pf_send(cluster_t *c, uint32_t node, const void *d, size_t len)
{
	struct ctl_peer_msg m;

	(void)c;
	ck_assert_int_eq(ctl_peer_msg_pull(d, len, &m), 0);
	ck_assert_uint_eq(m.kind, CTL_PEER_REQUEST);
	ck_assert_uint_eq(node, CLUSTER_NODE_NONE);
	pf.id = m.id;
	pf.sent_requests++;
	uv_timer_start(&pf.t, peer_fake_reply, 10, 0); /* node 1 answers a little later */
	return 0;
}

static size_t pf_nodes(cluster_t *c, struct cluster_node *out, size_t max)
{
	(void)c;
	for (uint32_t i = 0; i < 3 && i < max; i++) {
		out[i].node = i;
		out[i].connected = true;
		out[i].active = true;
	}
	return 3;
}

static int pf_start(cluster_t *c)
{
	(void)c;
	return 0;
}
static void pf_stop(cluster_t *c)
{
	(void)c;
}
static void pf_destroy(void *impl)
{
	(void)impl;
}

static const struct cluster_ops pf_ops = {.name = "fake",
                                          .start = pf_start,
                                          .stop = pf_stop,
                                          .destroy = pf_destroy,
                                          .peer_send = pf_send,
                                          .peer_nodes = pf_nodes};

struct peer_job {
	char path[108];
	uv_async_t *done;
	cJSON *reply;
	int rc;
	double took;
};

static void peer_client(void *arg)
{
	struct peer_job *j = arg;
	cJSON *req = cJSON_Parse("{\"cmd\":\"list\"}");
	char err[256];
	uint64_t t0 = uv_hrtime();

	j->rc = ctl_client_call(j->path, req, 5000, &j->reply, err, sizeof(err));
	j->took = (double)(uv_hrtime() - t0) / 1e9;
	cJSON_Delete(req);
	uv_async_send(j->done);
}

static ctl_server_t *peer_srv;

static void peer_done(uv_async_t *a)
{
	ctl_server_close(peer_srv, NULL, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void run_peer_list(bool reverse, struct peer_job *j)
{
	uv_loop_t loop;
	uv_async_t done;
	uv_thread_t th;
	struct cluster_view *v;
	wit_service_t *ws = NULL;
	struct wit_config wc = {.netname = "WITSRV", .min_auth_level = 1};
	struct ctl_admin adm = {0};
	char dir[] = "/tmp/wd-ctlp-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(j->path, sizeof(j->path), "%s/ctl.sock", dir);
	uv_loop_init(&loop);
	memset(&pf, 0, sizeof(pf));
	pf.reverse = reverse;
	uv_timer_init(&loop, &pf.t);
	pf.cl = cluster_new(&loop, &pf_ops, NULL);
	v = cluster_view_new(0);
	ck_assert_int_eq(cluster_view_add(v, "10.0.0.1", 0, CLUSTER_NODE_NONE, true), 0);
	cluster_publish(pf.cl, v);
	ck_assert_int_eq(wit_service_new(&loop, &wc, pf.cl, NULL, &ws), 0);
	adm.wit = ws;
	adm.cluster = pf.cl;
	adm.peer_timeout_ms = 300;
	ck_assert_int_eq(ctl_admin_start(&adm, &loop), 0);
	ck_assert_int_eq(
	    ctl_server_new(&loop, j->path, (uint32_t)geteuid(), ctl_admin_handle, &adm, &peer_srv),
	    0);
	uv_async_init(&loop, &done, peer_done);
	j->done = &done;
	uv_thread_create(&th, peer_client, j);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_thread_join(&th);
	ctl_admin_stop(&adm);
	wit_service_free(ws);
	uv_close((uv_handle_t *)&pf.t, NULL);
	cluster_free(pf.cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	rmdir(dir);
	ck_assert_uint_eq(pf.sent_requests, 1);
}

START_TEST(test_peer_gather_parts)
{
	struct peer_job j = {0};
	const cJSON *res, *regs, *miss, *rg;

	run_peer_list(false, &j);
	ck_assert_int_eq(j.rc, 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j.reply, "ok")));
	res = cJSON_GetObjectItem(j.reply, "result");
	regs = cJSON_GetObjectItem(res, "registrations");
	ck_assert_int_eq(cJSON_GetArraySize(regs), 300);
	cJSON_ArrayForEach(rg, regs) ck_assert_int_eq(cJSON_GetObjectItem(rg, "node")->valueint, 1);
	miss = cJSON_GetObjectItem(res, "nodes_not_answering");
	ck_assert_int_eq(cJSON_GetArraySize(miss), 1);
	ck_assert_int_eq(cJSON_GetArrayItem(miss, 0)->valueint, 2);
	ck_assert(j.took >= 0.25); /* node 2 is waited for, the peer timeout long */
	cJSON_Delete(j.reply);

	memset(&j, 0, sizeof(j));
	run_peer_list(true, &j);
	ck_assert_int_eq(j.rc, 0);
	res = cJSON_GetObjectItem(j.reply, "result");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "registrations")), 0);
	miss = cJSON_GetObjectItem(res, "nodes_not_answering");
	ck_assert_int_eq(cJSON_GetArraySize(miss), 2);
	cJSON_Delete(j.reply);
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
	tcase_add_test(tc, test_server_cap_evicts_oldest);
	tcase_add_test(tc, test_server_deadlines);
	tcase_add_test(tc, test_server_unread_replies);
	tcase_add_test(tc, test_client_errors);
	tcase_add_test(tc, test_admin_table);
	tcase_add_test(tc, test_peer_msg_pull);
	tcase_add_test(tc, test_peer_gather_parts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
