/*
 * client.c - witnessctl's side of the admin protocol (include/witness/ctl.h):
 * one blocking request/reply exchange over the Unix socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "witness/ctl.h"
#include "witness/err.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_fd(int fd, short ev, long deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int rc;

	do {
		long left = deadline - now_ms();

		if (left <= 0)
			return WD_ETIMEDOUT;
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return WD_ETIMEDOUT;
	return rc < 0 ? WD_EIO : 0;
}

int ctl_client_call(const char *path, const cJSON *req, int timeout_ms, cJSON **reply, char *err,
                    size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long deadline = now_ms() + timeout_ms;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0, off = 0;
	int fd = -1, rc = WD_EIO;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return WD_EINVAL;
	}
	strcpy(sa.sun_path, path);
	/*
	 * Non-blocking, so that a daemon that does not accept (its loop stuck,
	 * its listen queue full) costs the timeout, not a hang: an AF_UNIX
	 * connect() to a full queue fails with EAGAIN and is retried.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		goto out;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (now_ms() >= deadline) {
				snprintf(err, errlen,
				         "witnessd is not accepting connections on %s (its listen "
				         "queue stayed full for %d ms: is the daemon stuck?)",
				         path, timeout_ms);
				rc = WD_ETIMEDOUT;
				goto out;
			}
			poll(NULL, 0, 20);
			continue;
		}
		if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen,
			         "permission denied on %s: only root and the witnessd user may use "
			         "the admin socket",
			         path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s (is witnessd running?)",
			         path, strerror(errno));
		goto out;
	}
	line = cJSON_PrintUnformatted(req);
	if (line == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = WD_ENOMEM;
		goto out;
	}
	len = strlen(line);
	line[len] = '\n'; /* replaces the NUL; length tracked in len */
	len++;
	while (off < len) {
		ssize_t n;

		if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
			goto io_err;
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			/* The daemon may have refused us and closed: read its reply below. */
			break;
		}
		off += (size_t)n;
	}
	len = 0;
	for (;;) {
		ssize_t n;
		char *nl;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= CTL_MAX_REPLY) {
				snprintf(err, errlen, "reply larger than %u bytes", CTL_MAX_REPLY);
				rc = WD_ERANGE;
				goto out;
			}
			nb = realloc(buf, cap ? cap * 2 : 65536);
			if (nb == NULL) {
				snprintf(err, errlen, "out of memory");
				rc = WD_ENOMEM;
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
			goto io_err;
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errlen,
			         "witnessd closed the connection on %s without a reply (the "
			         "daemon may have cut it or stopped; see its log)",
			         path);
			rc = WD_EIO;
			goto out;
		}
		buf[len + (size_t)n] = '\0';
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			break;
		}
	}
	*reply = cJSON_Parse(buf);
	if (*reply == NULL || !cJSON_IsObject(*reply)) {
		cJSON_Delete(*reply);
		*reply = NULL;
		snprintf(err, errlen, "malformed reply from witnessd");
		rc = WD_EPROTO;
		goto out;
	}
	rc = 0;
	goto out;
io_err:
	if (rc == WD_ETIMEDOUT)
		snprintf(err, errlen,
		         "timed out after %d ms waiting for witnessd on %s (the daemon is busy "
		         "or stuck; --timeout gives it longer)",
		         timeout_ms, path);
	else
		snprintf(err, errlen, "I/O error on %s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return rc;
}
