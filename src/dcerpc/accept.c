/*
 * accept.c - see accept.h. The reserve-descriptor trick is the one libuv,
 * libev and nginx use; what differs is that the owner hears of it.
 */
#include "accept.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#define ACCEPT_BATCH 64  /* per readable event, so one listener cannot starve the loop */
#define PAUSE_MS     250 /* after EMFILE/ENFILE/ENOMEM, before trying again */

/*
 * Two per process. shed_fd is given up for a moment to accept and close one
 * pending connection when no descriptor is left. admin_fd is given up when
 * accept first fails, so that the admin socket (src/ctl, accepted by libuv)
 * finds a free descriptor; while it cannot be taken back, TCP listeners stay
 * paused, so that RPC peers never take the administrator's descriptor.
 */
static int shed_fd = -1, admin_fd = -1;

static void reserve_take(void)
{
	if (shed_fd < 0)
		shed_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (admin_fd < 0)
		admin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Accept one pending connection on the reserve descriptor and close it. */
static void shed_one(int lfd)
{
	if (admin_fd >= 0) {
		close(admin_fd);
		admin_fd = -1;
	}
	if (shed_fd < 0)
		return;
	close(shed_fd);
	shed_fd = -1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	shed_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_resume(uv_timer_t *t)
{
	struct dcerpc_acceptor *a = t->data;
	reserve_take();
	if (admin_fd < 0 || shed_fd < 0) {
		/* still no descriptor to spare: stay paused */
		uv_timer_start(&a->resume, on_resume, PAUSE_MS, 0);
		return;
	}
	a->paused = false;
	uv_poll_start(&a->poll, UV_READABLE, on_readable);
}

static void pause_for_a_while(struct dcerpc_acceptor *a)
{
	a->paused = true;
	uv_poll_stop(&a->poll);
	uv_timer_start(&a->resume, on_resume, PAUSE_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct dcerpc_acceptor *a = p->data;
	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < ACCEPT_BATCH && !a->paused && a->fd >= 0; i++) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			a->on_fd(a, fd);
			continue;
		}
		int err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return;
		if (err == EINTR || err == ECONNABORTED || err == EPROTO)
			continue;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM (a firewall): pause */
		if (err == EMFILE || err == ENFILE)
			shed_one(a->fd);
		pause_for_a_while(a);
		a->on_err(a, -err, true);
		return;
	}
}

int dcerpc_acceptor_open(struct dcerpc_acceptor *a, uv_loop_t *loop, const struct sockaddr *sa,
                         int backlog)
{
	socklen_t sl =
	    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int one = 1;
	a->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return -errno;
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* ip(7) IP_FREEBIND, ipv6(7) IPV6_FREEBIND: a floating address may come later */
	if (a->freebind) {
		if (sa->sa_family == AF_INET6)
			setsockopt(a->fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		else
			setsockopt(a->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(a->fd, sa, sl) < 0 || listen(a->fd, backlog) < 0) {
		int err = -errno;
		close(a->fd);
		a->fd = -1;
		return err;
	}
	struct sockaddr_storage ss;
	sl = sizeof(ss);
	if (getsockname(a->fd, (struct sockaddr *)&ss, &sl) == 0)
		a->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                         : ((struct sockaddr_in *)&ss)->sin_port);
	int rc = uv_poll_init(loop, &a->poll, a->fd);
	if (rc < 0) {
		close(a->fd);
		a->fd = -1;
		return rc;
	}
	uv_timer_init(loop, &a->resume);
	a->poll.data = a->resume.data = a;
	a->open_handles = 2;
	a->paused = false;
	reserve_take();
	uv_poll_start(&a->poll, UV_READABLE, on_readable);
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct dcerpc_acceptor *a = h->data;
	if (--a->open_handles == 0 && a->on_closed)
		a->on_closed(a);
}

void dcerpc_acceptor_close(struct dcerpc_acceptor *a)
{
	uv_poll_stop(&a->poll);
	uv_timer_stop(&a->resume);
	uv_close((uv_handle_t *)&a->poll, on_handle_closed);
	uv_close((uv_handle_t *)&a->resume, on_handle_closed);
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
}
