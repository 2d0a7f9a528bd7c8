/*
 * http.c - GET /metrics over HTTP/1.x on the daemon's libuv loop: a strict
 * parser of the request head (RFC 9112 sections 2-3, 5) and a listener with a
 * size bound, a deadline and a connection cap (include/witness/metrics.h).
 *
 * Why not a library: libmicrohttpd (Debian's small HTTP server) runs its own
 * threads or its own select/poll loop, which the one-loop design of witnessd
 * does not allow, and its external-select mode still needs a second event
 * source polled beside libuv. One resource, one method and a close after
 * every answer need only this small parser, which has its own fuzz target
 * (tests/fuzz/fuzz_http.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"

/* ---- parser (pure) ---- */

/* RFC 9110 5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A line ends in LF (CRLF or a bare LF, RFC 9112 2.2); a bare CR inside is malformed. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *end, size_t *next)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);
	size_t e;

	if (lf == NULL)
		return WD_EAGAIN;
	e = (size_t)(lf - buf);
	*next = e + 1;
	if (e > pos && buf[e - 1] == '\r')
		e--;
	*end = e;
	return 0;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

int metrics_http_parse(const char *buf, size_t len, struct metrics_http_request *out,
                       size_t *consumed)
{
	size_t pos = 0, end, next = 0, i, sp1, sp2;
	bool complete = false;
	const char *lf;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len > METRICS_HTTP_MAX_REQUEST)
		len = METRICS_HTTP_MAX_REQUEST + 1;
	/* Find the end of the head first: incomplete until then, 431 if too long. */
	for (pos = 0;;) {
		lf = memchr(buf + pos, '\n', len - pos);
		if (lf == NULL)
			break;
		next = (size_t)(lf - buf) + 1;
		if (next > METRICS_HTTP_MAX_REQUEST)
			break;
		/* an empty line (after the request line) ends the head */
		if (pos > 0 && (next - pos == 1 || (next - pos == 2 && buf[pos] == '\r'))) {
			complete = true;
			*consumed = next;
			break;
		}
		pos = next;
	}
	if (!complete) {
		/* a method that cannot be one (TLS, binary) is answered without waiting */
		for (i = 0; i < len && buf[i] != ' '; i++) {
			if (!is_tchar((unsigned char)buf[i]))
				return 400;
		}
		return len > METRICS_HTTP_MAX_REQUEST ||
		               (lf != NULL && next > METRICS_HTTP_MAX_REQUEST)
		           ? 431
		           : WD_EAGAIN;
	}

	/* request-line = method SP request-target SP HTTP-version (RFC 9112 3) */
	if (next_line(buf, len, 0, &end, &next) != 0)
		return 400;
	for (i = 0; i < end && is_tchar((unsigned char)buf[i]); i++)
		;
	if (i == 0 || i >= end || buf[i] != ' ')
		return 400;
	sp1 = i;
	for (i = sp1 + 1; i < end && buf[i] > ' ' && buf[i] < 0x7f; i++)
		;
	if (i == sp1 + 1 || i >= end || buf[i] != ' ')
		return 400;
	sp2 = i;
	if (end - (sp2 + 1) != 8 || memcmp(buf + sp2 + 1, "HTTP/", 5) != 0 || buf[sp2 + 6] < '0' ||
	    buf[sp2 + 6] > '9' || buf[sp2 + 7] != '.' || buf[sp2 + 8] < '0' || buf[sp2 + 8] > '9')
		return 400;
	if (buf[sp2 + 6] != '1' || (buf[sp2 + 8] != '0' && buf[sp2 + 8] != '1'))
		return 505;

	/* header fields: name ":" OWS value OWS; no obs-fold, no body */
	for (pos = next; pos < *consumed;) {
		size_t colon;

		if (next_line(buf, len, pos, &end, &next) != 0)
			return 400;
		if (end == pos)
			break; /* the empty line */
		for (i = pos; i < end && is_tchar((unsigned char)buf[i]); i++)
			;
		if (i == pos || i >= end || buf[i] != ':')
			return 400; /* also obs-fold (a line starting with SP/HT) */
		colon = i;
		for (i = colon + 1; i < end; i++) {
			unsigned char c = (unsigned char)buf[i];

			if ((c < ' ' && c != '\t') || c == 0x7f)
				return 400;
		}
		if (ieq(buf + pos, colon - pos, "transfer-encoding"))
			return 400;
		if (ieq(buf + pos, colon - pos, "content-length")) {
			size_t v = colon + 1;

			while (v < end && (buf[v] == ' ' || buf[v] == '\t'))
				v++;
			while (end > v && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
				end--;
			if (end - v != 1 || buf[v] != '0')
				return 400;
		}
		pos = next;
	}

	if (sp1 == 3 && memcmp(buf, "GET", 3) == 0)
		out->method = METRICS_HTTP_GET;
	else if (sp1 == 4 && memcmp(buf, "HEAD", 4) == 0)
		out->method = METRICS_HTTP_HEAD;
	else
		return 405;
	{
		const char *t = buf + sp1 + 1;
		size_t tl = sp2 - sp1 - 1;
		const char *q = memchr(t, '?', tl);

		if (q != NULL)
			tl = (size_t)(q - t);
		out->path_metrics = tl == 8 && memcmp(t, "/metrics", 8) == 0;
	}
	return 0;
}

int metrics_parse_listen(const char *s, char *addr, size_t addrlen, uint16_t *port)
{
	const char *colon, *a = s;
	size_t alen;
	char tmp[64];
	unsigned char bin[16];
	char *endp;
	long p;

	if (s == NULL)
		return WD_EINVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return WD_EINVAL;
		a = s + 1;
		alen = (size_t)(rb - a);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return WD_EINVAL;
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= sizeof(tmp) || alen >= addrlen)
		return WD_EINVAL;
	memcpy(tmp, a, alen);
	tmp[alen] = '\0';
	if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, tmp, bin) != 1)
		return WD_EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return WD_EINVAL;
	p = strtol(colon + 1, &endp, 10);
	if (*endp != '\0' || p < 1 || p > 65535)
		return WD_EINVAL;
	memcpy(addr, tmp, alen + 1);
	*port = (uint16_t)p;
	return 0;
}

/* ---- listener ---- */

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct metrics_http *h;
	struct http_conn *next, *prev;
	char buf[METRICS_HTTP_MAX_REQUEST + 1];
	size_t len;
	bool answered; /* an answer is queued: read no more */
	int closing;   /* handles still to close */
};

struct metrics_http {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct http_conn *conns;
	unsigned n_conns;
	uint64_t refused;
	bool closing;
	int pending_close;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct http_write {
	uv_write_t req;
	struct http_conn *c;
	char *data;
};

static void http_maybe_done(struct metrics_http *h)
{
	if (h->closing && h->pending_close == 0 && h->conns == NULL) {
		void (*cb)(void *) = h->close_cb;
		void *arg = h->close_arg;

		free(h);
		if (cb != NULL)
			cb(arg);
	}
}

static void conn_closed(uv_handle_t *hd)
{
	struct http_conn *c = hd->data;
	struct metrics_http *h = c->h;

	if (--c->closing > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->n_conns--;
	free(c);
	http_maybe_done(h);
}

static void conn_close(struct http_conn *c)
{
	if (c->closing > 0)
		return;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->data;

	free(req);
	if (status != 0)
		conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct http_write *w = (struct http_write *)req;
	struct http_conn *c = w->c;
	uv_shutdown_t *sd;

	free(w->data);
	free(w);
	if (status != 0 || c->closing)
		return conn_close(c);
	/*
	 * The answer ends the connection. Close it lingering (RFC 9112 9.6): send
	 * FIN and read until the peer closes or the deadline, so that unread
	 * request bytes do not make the kernel answer with a RST that can destroy
	 * the answer before the client reads it.
	 */
	sd = malloc(sizeof(*sd));
	if (sd == NULL)
		return conn_close(c);
	sd->data = c;
	c->len = 0;
	if (uv_shutdown(sd, (uv_stream_t *)&c->tcp, on_shutdown) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		free(sd);
		conn_close(c);
	}
}

static void on_timeout(uv_timer_t *t);

static void answer(struct http_conn *c, int status, bool body_wanted)
{
	const char *reason;
	char *body = NULL, *data;
	size_t blen = 0;
	int hl;
	char hdr[256];
	struct http_write *w;

	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	/* a peer that does not read the answer is cut at the same deadline */
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, on_timeout, METRICS_HTTP_TIMEOUT_MS, 0);
	switch (status) {
	case 200:
		reason = "OK";
		if (metrics_render(&body, &blen) != 0) {
			status = 500;
			reason = "Internal Server Error";
		}
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 408:
		reason = "Request Timeout";
		break;
	case 431:
		reason = "Request Header Fields Too Large";
		break;
	case 505:
		reason = "HTTP Version Not Supported";
		break;
	default:
		status = 400;
		reason = "Bad Request";
		break;
	}
	if (body == NULL) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%d %s\n", status, reason);

		body = strdup(msg);
		blen = body != NULL ? (size_t)n : 0;
	}
	hl = snprintf(hdr, sizeof(hdr),
	              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	              "Connection: close\r\n\r\n",
	              status, reason,
	              status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
	                            : "text/plain; charset=utf-8",
	              blen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!body_wanted)
		blen = 0;
	data = malloc((size_t)hl + blen);
	w = calloc(1, sizeof(*w));
	if (data == NULL || w == NULL || body == NULL) {
		free(data);
		free(w);
		free(body);
		conn_close(c);
		return;
	}
	memcpy(data, hdr, (size_t)hl);
	memcpy(data + hl, body, blen);
	free(body);
	w->c = c;
	w->data = data;
	{
		uv_buf_t b = uv_buf_init(data, (unsigned)((size_t)hl + blen));

		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
			free(data);
			free(w);
			conn_close(c);
		}
	}
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = hd->data;

	*buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;
	struct metrics_http_request req;
	size_t used;
	int rc;

	if (c->closing)
		return;
	if (c->answered) {
		/* lingering close: discard until EOF */
		c->len = 0;
		if (nread < 0)
			conn_close(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	rc = metrics_http_parse(c->buf, c->len, &req, &used);
	if (rc == WD_EAGAIN) {
		if (c->len < sizeof(c->buf))
			return;
		rc = 431;
	}
	if (rc != 0) {
		wd_log(WD_LOG_INFO, "metrics.http_refused", "status=%d bytes=%zu", rc, c->len);
		answer(c, rc, true);
		return;
	}
	answer(c, req.path_metrics ? 200 : 404, req.method == METRICS_HTTP_GET);
}

static void on_timeout(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	if (c->answered) {
		conn_close(c);
		return;
	}
	wd_log(WD_LOG_INFO, "metrics.http_timeout", "bytes=%zu", c->len);
	answer(c, 408, true);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct metrics_http *h = server->data;
	struct http_conn *c;

	if (status < 0 || h->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return; /* the connection stays in the backlog until memory returns */
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->n_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	if (h->n_conns > METRICS_HTTP_MAX_CLIENTS) {
		h->refused++;
		wd_log(WD_LOG_INFO, "metrics.http_busy", "open=%u", h->n_conns - 1);
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, METRICS_HTTP_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void listener_closed(uv_handle_t *hd)
{
	struct metrics_http *h = hd->data;

	h->pending_close--;
	http_maybe_done(h);
}

void metrics_http_close(metrics_http_t *h, void (*cb)(void *arg), void *arg)
{
	struct http_conn *c;

	if (h == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	h->closing = true;
	h->close_cb = cb;
	h->close_arg = arg;
	h->pending_close = 1;
	for (c = h->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&h->listener, listener_closed);
}

int metrics_http_new(uv_loop_t *loop, const char *listen, metrics_http_t **out, uint16_t *bound,
                     char *err, size_t errlen)
{
	struct metrics_http *h;
	struct sockaddr_storage ss;
	char addr[64];
	uint16_t port;
	int rc, len = sizeof(ss);

	*out = NULL;
	if (metrics_parse_listen(listen, addr, sizeof(addr), &port) != 0) {
		snprintf(err, errlen, "bad metrics listen address \"%.80s\"", listen ? listen : "");
		return WD_EINVAL;
	}
	if (strchr(addr, ':') != NULL)
		rc = uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
	if (rc != 0) {
		snprintf(err, errlen, "bad metrics listen address \"%.80s\"", listen);
		return WD_EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return WD_ENOMEM;
	h->loop = loop;
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "metrics listen on %s: %s", listen, uv_strerror(rc));
		/* the handle's memory lives until its close callback frees h */
		h->closing = true;
		h->pending_close = 1;
		uv_close((uv_handle_t *)&h->listener, listener_closed);
		return WD_EIO;
	}
	if (bound != NULL) {
		uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len);
		*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                        : ((struct sockaddr_in *)&ss)->sin_port);
	}
	*out = h;
	return 0;
}
