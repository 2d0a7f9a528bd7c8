/*
 * server.c - the admin socket in witnessd (include/witness/ctl.h): a libuv
 * pipe server, SO_PEERCRED access check, newline-framed JSON requests.
 *
 * A stuck client cannot lock the socket (issue 7: 64 connections that sent
 * `{"cmd":"li` and went silent refused every later witnessctl, so an HA
 * hook's `witnessctl ip set` failed): one sweep timer cuts a partial line
 * after the request deadline, a connection without a request after the idle
 * deadline and a reply the peer does not take after the idle deadline; at the
 * cap a new connection evicts the connection that has been stuck longest
 * instead of being refused. A cut peer gets one error line if its socket
 * takes it without blocking, then the connection is closed.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "witness/ctl.h"
#include "witness/err.h"
#include "witness/log.h"

struct ctl_conn {
	uv_pipe_t pipe; /* first: the close callback casts back */
	struct ctl_server *srv;
	struct ctl_conn *next, *prev;
	char *buf; /* CTL_MAX_REQUEST + 1 */
	size_t len;
	unsigned writes_pending;
	bool close_after_write;
	bool closing;
	bool reading;
	struct ctl_call *call; /* a request answered later (CTL_REPLY_LATER) */
	uint32_t uid;
	int32_t pid;
	/* uv_now() ms: accepted or last request done; first byte of the partial line
	 * (len > 0); reply queued in user space (write_since != 0) */
	uint64_t idle_since, partial_since, write_since;
};

struct ctl_server {
	uv_pipe_t pipe;
	uv_loop_t *loop;
	char *path;
	uint32_t allowed_uid;
	ctl_handler_fn fn;
	void *arg;
	struct ctl_conn *conns;
	unsigned n_conns; /* in the list, closing or not */
	unsigned n_open;  /* not closing */
	struct ctl_limits lim;
	struct ctl_server_stats st;
	uv_timer_t sweep;    /* the deadlines, while there are connections */
	uint64_t log_window; /* rate limit of the cut and evicted lines */
	unsigned log_count, log_suppressed;
	unsigned closes_pending; /* listener, sweep timer, connections, during ctl_server_close */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

#define CTL_LOG_BURST 10 /* cut and evicted lines per second */

struct ctl_call {
	struct ctl_conn *conn;
	void (*cancel)(void *arg);
	void *cancel_arg;
};

cJSON ctl_reply_later;

struct ctl_write {
	uv_write_t req;
	struct ctl_conn *conn;
	char *data;
};

static void conn_close(struct ctl_conn *c);
static void conn_process(struct ctl_conn *c);

static void server_maybe_done(struct ctl_server *srv)
{
	void (*cb)(void *) = srv->close_cb;
	void *arg = srv->close_arg;

	if (!srv->closing || srv->closes_pending > 0)
		return;
	unlink(srv->path);
	free(srv->path);
	free(srv);
	if (cb != NULL)
		cb(arg);
}

static void conn_closed(uv_handle_t *h)
{
	struct ctl_conn *c = (struct ctl_conn *)h;
	struct ctl_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
	free(c->buf);
	free(c);
	if (srv->closing) {
		srv->closes_pending--;
		server_maybe_done(srv);
	}
}

static void conn_close(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->call != NULL) {
		struct ctl_call *call = c->call;

		c->call = NULL;
		if (call->cancel != NULL)
			call->cancel(call->cancel_arg);
		free(call);
	}
	c->srv->n_open--;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static size_t conn_queued(struct ctl_conn *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
}

static void write_done(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_conn *c = w->conn;

	free(w->data);
	free(w);
	c->writes_pending--;
	if (c->closing)
		return;
	if (status < 0 || (c->close_after_write && c->writes_pending == 0)) {
		conn_close(c);
		return;
	}
	if (c->write_since != 0 && conn_queued(c) == 0) {
		/* the peer took the reply: go on with what it sent meanwhile */
		c->write_since = 0;
		c->idle_since = uv_now(c->srv->loop);
		conn_process(c);
	}
}

/* One reply line: reply (freed) as unformatted JSON and '\n', malloc'ed. */
static char *reply_line(cJSON *reply, size_t *n)
{
	char *s, *line;

	if (reply == NULL)
		reply = ctl_reply_error(WD_ENOMEM, "out of memory");
	s = reply != NULL ? cJSON_PrintUnformatted(reply) : NULL;
	cJSON_Delete(reply);
	if (s == NULL)
		return NULL;
	*n = strlen(s);
	line = malloc(*n + 2);
	if (line != NULL) {
		memcpy(line, s, *n);
		line[(*n)++] = '\n';
		line[*n] = '\0';
	}
	cJSON_free(s);
	return line;
}

/* Sends reply as one line and frees it. */
static void conn_send(struct ctl_conn *c, cJSON *reply)
{
	struct ctl_write *w = calloc(1, sizeof(*w));
	size_t n = 0;
	uv_buf_t b;

	if (w == NULL || (w->data = reply_line(reply, &n)) == NULL) {
		free(w);
		conn_close(c);
		return;
	}
	w->conn = c;
	b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_done) != 0) {
		free(w->data);
		free(w);
		conn_close(c);
		return;
	}
	c->writes_pending++;
	if (c->write_since == 0 && conn_queued(c) > 0)
		c->write_since = uv_now(c->srv->loop); /* the peer is not reading */
}

/* At most CTL_LOG_BURST cut/evicted lines a second; the next line says how many were not. */
static bool log_allowed(struct ctl_server *srv, unsigned *suppressed)
{
	uint64_t now = uv_now(srv->loop);

	if (now - srv->log_window >= 1000) {
		srv->log_window = now;
		srv->log_count = 0;
	}
	if (srv->log_count >= CTL_LOG_BURST) {
		srv->log_suppressed++;
		return false;
	}
	srv->log_count++;
	*suppressed = srv->log_suppressed;
	srv->log_suppressed = 0;
	return true;
}

static const char *conn_state(const struct ctl_conn *c)
{
	return c->write_since != 0 ? "reply_unread" : c->len > 0 ? "partial" : "idle";
}

/* Since when c has waited for its peer (the age eviction compares). */
static uint64_t conn_stuck_since(const struct ctl_conn *c)
{
	return c->write_since != 0 ? c->write_since : c->len > 0 ? c->partial_since : c->idle_since;
}

/*
 * Cuts c: logs event with the peer's credentials, tells the peer why in one
 * error line if its socket takes it at once (uv_try_write: a peer that does
 * not read must not hold the connection open), closes.
 */
static void conn_cut(struct ctl_conn *c, const char *event, int code, const char *msg)
{
	struct ctl_server *srv = c->srv;
	uint64_t age = uv_now(srv->loop) - conn_stuck_since(c);
	unsigned suppressed;
	size_t n = 0;
	char *line;

	if (log_allowed(srv, &suppressed))
		wd_log(WD_LOG_NOTICE, event,
		       "uid=%u pid=%d state=%s age_ms=%llu clients=%u evicted_total=%llu "
		       "timeouts_total=%llu suppressed=%u",
		       c->uid, c->pid, conn_state(c), (unsigned long long)age, srv->n_open,
		       (unsigned long long)srv->st.evicted,
		       (unsigned long long)(srv->st.idle_timeouts + srv->st.request_timeouts +
		                            srv->st.write_timeouts),
		       suppressed);
	if (c->write_since == 0 && (line = reply_line(ctl_reply_error(code, msg), &n)) != NULL) {
		uv_buf_t b = uv_buf_init(line, (unsigned)n);

		(void)uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		free(line);
	}
	conn_close(c);
}

static void handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_server *srv = c->srv;
	char err[256];
	cJSON *req = NULL, *reply;
	struct ctl_call *call;
	const cJSON *cmd;
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	rc = ctl_request_parse(line, len, &req, err, sizeof(err));
	if (rc != 0) {
		wd_log(WD_LOG_NOTICE, "ctl.bad_request", "uid=%u pid=%d error=\"%s\"", c->uid,
		       c->pid, err);
		conn_send(c, ctl_reply_error(rc, err));
		return;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	{
		char esc[64];

		wd_log(WD_LOG_DEBUG, "ctl.request", "uid=%u pid=%d cmd=%s", c->uid, c->pid,
		       wd_log_escape(cmd->valuestring, esc, sizeof(esc)));
	}
	call = calloc(1, sizeof(*call));
	if (call == NULL) {
		cJSON_Delete(req);
		conn_send(c, ctl_reply_error(WD_ENOMEM, NULL));
		return;
	}
	call->conn = c;
	reply = srv->fn(srv->arg, req, call);
	cJSON_Delete(req);
	if (reply == CTL_REPLY_LATER) {
		c->call = call; /* conn_process reads nothing more until ctl_call_reply */
		return;
	}
	free(call);
	conn_send(c, reply);
}

void ctl_call_set_cancel(ctl_call_t *call, void (*cb)(void *arg), void *arg)
{
	call->cancel = cb;
	call->cancel_arg = arg;
}

void ctl_call_reply(ctl_call_t *call, cJSON *reply)
{
	struct ctl_conn *c = call->conn;

	if (c == NULL || c->call != call) {
		cJSON_Delete(reply);
		free(call);
		return;
	}
	c->call = NULL;
	free(call);
	c->idle_since = uv_now(c->srv->loop);
	conn_send(c, reply);
	conn_process(c); /* what the peer sent meanwhile */
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = (struct ctl_conn *)h;

	(void)suggested;
	if (c->len >= CTL_MAX_REQUEST + 1) {
		*buf = uv_buf_init(NULL, 0); /* read_cb sees UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(CTL_MAX_REQUEST + 1 - c->len));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_too_long(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;

	/* A line without '\n' in CTL_MAX_REQUEST bytes: no way to find the next request. */
	srv->st.too_long++;
	wd_log(WD_LOG_NOTICE, "ctl.request_too_long", "uid=%u pid=%d max=%u", c->uid, c->pid,
	       CTL_MAX_REQUEST);
	c->close_after_write = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->reading = false;
	conn_send(c, ctl_reply_error(WD_ERANGE, "request line too long"));
	if (c->writes_pending == 0)
		conn_close(c);
}

/*
 * Answers the complete lines in c->buf, one at a time; while a reply waits
 * in user space (the peer does not read) reading stops, so a client that
 * sends requests and never reads replies holds one reply, not a queue.
 */
static void conn_process(struct ctl_conn *c)
{
	size_t start = 0;
	bool blocked = false;

	for (;;) {
		char *nl;

		if (c->closing || c->close_after_write)
			return;
		if (c->write_since != 0 || c->call != NULL) {
			blocked = true;
			break;
		}
		nl = memchr(c->buf + start, '\n', c->len - start);
		if (nl == NULL)
			break;
		handle_line(c, c->buf + start, (size_t)(nl - (c->buf + start)));
		start = (size_t)(nl - c->buf) + 1;
		c->idle_since = uv_now(c->srv->loop);
		c->partial_since = c->idle_since; /* what follows came with this read */
	}
	if (start > 0) {
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
	}
	if (!blocked && c->len > CTL_MAX_REQUEST) {
		conn_too_long(c);
		return;
	}
	if (blocked && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	} else if (!blocked && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	}
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = (struct ctl_conn *)s;

	(void)buf;
	if (c->closing || c->close_after_write)
		return;
	if (nread == UV_ENOBUFS) {
		conn_too_long(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	if (c->len == 0)
		c->partial_since = uv_now(c->srv->loop);
	c->len += (size_t)nread;
	conn_process(c);
}

/* The deadlines (include/witness/ctl.h); runs while there are connections. */
static void sweep_cb(uv_timer_t *t)
{
	struct ctl_server *srv = t->data;
	uint64_t now = uv_now(srv->loop);
	char msg[160];

	for (struct ctl_conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->closing || c->call != NULL)
			continue; /* a pending call ends within its own timeout */
		if (c->write_since != 0) {
			if (now - c->write_since >= srv->lim.idle_timeout_ms) {
				srv->st.write_timeouts++;
				conn_cut(c, "ctl.write_timeout", WD_ETIMEDOUT, NULL);
			}
		} else if (c->close_after_write) {
			continue; /* its last reply is on its way */
		} else if (c->len > 0) {
			if (now - c->partial_since >= srv->lim.request_timeout_ms) {
				srv->st.request_timeouts++;
				snprintf(msg, sizeof(msg),
				         "admin connection closed by witnessd: request line not "
				         "completed within %u ms",
				         srv->lim.request_timeout_ms);
				conn_cut(c, "ctl.request_timeout", WD_ETIMEDOUT, msg);
			}
		} else if (now - c->idle_since >= srv->lim.idle_timeout_ms) {
			srv->st.idle_timeouts++;
			snprintf(msg, sizeof(msg),
			         "admin connection closed by witnessd: no request for %u ms",
			         srv->lim.idle_timeout_ms);
			conn_cut(c, "ctl.idle_timeout", WD_ETIMEDOUT, msg);
		}
	}
	if (srv->n_conns == 0)
		uv_timer_stop(&srv->sweep);
}

/* The sweep's period: a tenth of the shorter deadline, 10 ms to 500 ms. */
static uint64_t sweep_period(const struct ctl_server *srv)
{
	unsigned d = srv->lim.request_timeout_ms < srv->lim.idle_timeout_ms
	                 ? srv->lim.request_timeout_ms
	                 : srv->lim.idle_timeout_ms;

	d /= 10;
	return d < 10 ? 10 : d > 500 ? 500 : d;
}

/*
 * Over the cap: the open connection (other than the new one) that has waited
 * longest for its peer goes, so stuck clients can delay a new one by nothing.
 */
static void evict_one(struct ctl_server *srv, struct ctl_conn *newc)
{
	struct ctl_conn *victim = NULL;
	char msg[200];

	for (struct ctl_conn *c = srv->conns; c != NULL; c = c->next) {
		if (c == newc || c->closing)
			continue;
		if (victim == NULL || conn_stuck_since(c) <= conn_stuck_since(victim))
			victim = c;
	}
	if (victim == NULL)
		return;
	srv->st.evicted++;
	snprintf(msg, sizeof(msg),
	         "admin connection closed by witnessd: %u admin connections are open and this "
	         "one had waited longest (%llu ms) without a complete request",
	         srv->lim.max_clients,
	         (unsigned long long)(uv_now(srv->loop) - conn_stuck_since(victim)));
	conn_cut(victim, "ctl.evicted", WD_ELIMIT, msg);
}

static void accept_cb(uv_stream_t *ls, int status)
{
	struct ctl_server *srv = (struct ctl_server *)ls;
	struct ctl_conn *c;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	uv_os_fd_t fd;

	if (status < 0 || srv->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->buf = malloc(CTL_MAX_REQUEST + 1)) == NULL) {
		/* The pending connection stays in the backlog until memory returns. */
		free(c);
		wd_log(WD_LOG_ERR, "ctl.accept_failed", "error=ENOMEM");
		return;
	}
	c->srv = srv;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	srv->n_open++;
	c->idle_since = uv_now(srv->loop);
	if (!uv_is_active((uv_handle_t *)&srv->sweep))
		uv_timer_start(&srv->sweep, sweep_cb, sweep_period(srv), sweep_period(srv));
	if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		conn_close(c);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	srv->st.accepted++;
	if (cred.uid != 0 && cred.uid != srv->allowed_uid) {
		char msg[160];

		srv->st.refused++;
		wd_log(WD_LOG_WARNING, "ctl.refused", "uid=%u pid=%d", cred.uid, cred.pid);
		snprintf(msg, sizeof(msg),
		         "permission denied: uid %u may not use the witnessd admin socket "
		         "(only root and uid %u)",
		         cred.uid, srv->allowed_uid);
		c->close_after_write = true;
		conn_send(c, ctl_reply_error(WD_EACCES, msg));
		return;
	}
	if (srv->n_open > srv->lim.max_clients)
		evict_one(srv, c);
	conn_process(c); /* starts reading */
}

/* mkdir -p for the socket's directory; new directories are 0755. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return WD_ERANGE;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return WD_EIO;
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return WD_EIO;
	return 0;
}

/* WD_EEXIST if a live daemon answers on path; a stale socket is removed. */
static int clear_stale(const char *path)
{
	struct stat st;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : WD_EIO;
	if (!S_ISSOCK(st.st_mode))
		return WD_EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WD_EIO;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0)
		return WD_EEXIST;
	return unlink(path) == 0 ? 0 : WD_EIO;
}

static void free_unbound(uv_handle_t *h)
{
	struct ctl_server *srv = (struct ctl_server *)h;

	free(srv->path);
	free(srv);
}

int ctl_server_new(uv_loop_t *loop, const char *path, uint32_t allowed_uid, ctl_handler_fn fn,
                   void *arg, ctl_server_t **out)
{
	struct ctl_server *srv;
	struct sockaddr_un sa;
	mode_t old;
	int rc;

	*out = NULL;
	if (path == NULL || fn == NULL || strlen(path) >= sizeof(sa.sun_path))
		return WD_EINVAL;
	if ((rc = make_parent(path)) != 0)
		return rc;
	if ((rc = clear_stale(path)) != 0)
		return rc;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL || (srv->path = strdup(path)) == NULL) {
		free(srv);
		return WD_ENOMEM;
	}
	srv->loop = loop;
	srv->allowed_uid = allowed_uid;
	srv->fn = fn;
	srv->arg = arg;
	uv_pipe_init(loop, &srv->pipe, 0);
	/* Created 0600 from the start: no window in which others could connect. */
	old = umask(0177);
	rc = uv_pipe_bind(&srv->pipe, path);
	umask(old);
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = UV_EIO;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->pipe, 16, accept_cb);
	if (rc != 0) {
		wd_log(WD_LOG_ERR, "ctl.listen_failed", "path=%s error=%s", path, uv_strerror(rc));
		/* srv is freed by the close callback (libuv: memory only after close) */
		uv_close((uv_handle_t *)&srv->pipe, free_unbound);
		return WD_EIO;
	}
	uv_timer_init(loop, &srv->sweep);
	srv->sweep.data = srv;
	ctl_server_set_limits(srv, NULL);
	*out = srv;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct ctl_server *srv = (struct ctl_server *)h;

	srv->closes_pending--;
	server_maybe_done(srv);
}

static void sweep_closed(uv_handle_t *h)
{
	struct ctl_server *srv = h->data;

	srv->closes_pending--;
	server_maybe_done(srv);
}

void ctl_server_close(ctl_server_t *srv, void (*cb)(void *arg), void *arg)
{
	if (srv == NULL || srv->closing)
		return;
	srv->closing = true;
	srv->close_cb = cb;
	srv->close_arg = arg;
	srv->closes_pending = 2 + srv->n_conns;
	/* Connections already closing still reach conn_closed, which counts them. */
	for (struct ctl_conn *c = srv->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&srv->sweep, sweep_closed);
	uv_close((uv_handle_t *)&srv->pipe, listener_closed);
}

unsigned ctl_server_clients(const ctl_server_t *srv)
{
	return srv->n_conns;
}

void ctl_server_set_limits(ctl_server_t *srv, const struct ctl_limits *lim)
{
	struct ctl_limits l = {0};

	if (lim != NULL)
		l = *lim;
	srv->lim.max_clients = l.max_clients != 0 ? l.max_clients : CTL_MAX_CLIENTS;
	srv->lim.idle_timeout_ms = l.idle_timeout_ms != 0 ? l.idle_timeout_ms : CTL_IDLE_TIMEOUT_MS;
	srv->lim.request_timeout_ms =
	    l.request_timeout_ms != 0 ? l.request_timeout_ms : CTL_REQUEST_TIMEOUT_MS;
	if (uv_is_active((uv_handle_t *)&srv->sweep))
		uv_timer_start(&srv->sweep, sweep_cb, sweep_period(srv), sweep_period(srv));
}

void ctl_server_stats(const ctl_server_t *srv, struct ctl_server_stats *out)
{
	*out = srv->st;
	out->clients = srv->n_open;
}
