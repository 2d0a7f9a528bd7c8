/*
 * server.c - the admin socket in witnessd (include/witness/ctl.h): a libuv
 * pipe server, SO_PEERCRED access check, newline-framed JSON requests.
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
	uint32_t uid;
	int32_t pid;
};

struct ctl_server {
	uv_pipe_t pipe;
	uv_loop_t *loop;
	char *path;
	uint32_t allowed_uid;
	ctl_handler_fn fn;
	void *arg;
	struct ctl_conn *conns;
	unsigned n_conns;
	unsigned closes_pending; /* listener + connections, during ctl_server_close */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct ctl_write {
	uv_write_t req;
	struct ctl_conn *conn;
	char *data;
};

static void conn_close(struct ctl_conn *c);

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
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void write_done(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_conn *c = w->conn;

	free(w->data);
	free(w);
	c->writes_pending--;
	if (status < 0 || (c->close_after_write && c->writes_pending == 0))
		conn_close(c);
}

/* Sends reply as one line and frees it. */
static void conn_send(struct ctl_conn *c, cJSON *reply)
{
	struct ctl_write *w;
	char *s;
	size_t n;
	uv_buf_t b;

	if (reply == NULL)
		reply = ctl_reply_error(WD_ENOMEM, "out of memory");
	s = reply != NULL ? cJSON_PrintUnformatted(reply) : NULL;
	cJSON_Delete(reply);
	w = calloc(1, sizeof(*w));
	if (s == NULL || w == NULL) {
		free(s);
		free(w);
		conn_close(c);
		return;
	}
	n = strlen(s);
	w->data = malloc(n + 2);
	if (w->data == NULL) {
		free(s);
		free(w);
		conn_close(c);
		return;
	}
	memcpy(w->data, s, n);
	cJSON_free(s);
	w->data[n] = '\n';
	w->data[n + 1] = '\0';
	w->conn = c;
	b = uv_buf_init(w->data, (unsigned)(n + 1));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_done) != 0) {
		free(w->data);
		free(w);
		conn_close(c);
		return;
	}
	c->writes_pending++;
}

static void handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_server *srv = c->srv;
	char err[256];
	cJSON *req = NULL, *reply;
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
	reply = srv->fn(srv->arg, req);
	cJSON_Delete(req);
	conn_send(c, reply);
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

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = (struct ctl_conn *)s;
	size_t start = 0;

	(void)buf;
	if (c->closing || c->close_after_write)
		return;
	if (nread == UV_ENOBUFS) {
		goto too_long;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	for (;;) {
		char *nl = memchr(c->buf + start, '\n', c->len - start);

		if (nl == NULL)
			break;
		handle_line(c, c->buf + start, (size_t)(nl - (c->buf + start)));
		start = (size_t)(nl - c->buf) + 1;
		if (c->closing || c->close_after_write)
			return;
	}
	if (start > 0) {
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
	}
	if (c->len <= CTL_MAX_REQUEST)
		return;
too_long:
	/* A line without '\n' in CTL_MAX_REQUEST bytes: no way to find the next request. */
	wd_log(WD_LOG_NOTICE, "ctl.request_too_long", "uid=%u pid=%d max=%u", c->uid, c->pid,
	       CTL_MAX_REQUEST);
	c->close_after_write = true;
	uv_read_stop(s);
	conn_send(c, ctl_reply_error(WD_ERANGE, "request line too long"));
	if (c->writes_pending == 0)
		conn_close(c);
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
	if (cred.uid != 0 && cred.uid != srv->allowed_uid) {
		char msg[160];

		wd_log(WD_LOG_WARNING, "ctl.refused", "uid=%u pid=%d", cred.uid, cred.pid);
		snprintf(msg, sizeof(msg),
		         "permission denied: uid %u may not use the witnessd admin socket "
		         "(only root and uid %u)",
		         cred.uid, srv->allowed_uid);
		c->close_after_write = true;
		conn_send(c, ctl_reply_error(WD_EACCES, msg));
		return;
	}
	if (srv->n_conns > CTL_MAX_CLIENTS) {
		c->close_after_write = true;
		conn_send(c, ctl_reply_error(WD_ELIMIT, "too many admin connections"));
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
		conn_close(c);
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
	*out = srv;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct ctl_server *srv = (struct ctl_server *)h;

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
	srv->closes_pending = 1 + srv->n_conns;
	/* Connections already closing still reach conn_closed, which counts them. */
	for (struct ctl_conn *c = srv->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&srv->pipe, listener_closed);
}

unsigned ctl_server_clients(const ctl_server_t *srv)
{
	return srv->n_conns;
}
