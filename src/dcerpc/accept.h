/*
 * accept.h - a TCP listening socket with its own accept loop. Internal to
 * src/dcerpc.
 *
 * Why not uv_listen: when accept() fails with EMFILE or ENFILE, libuv
 * (src/unix/stream.c, uv__emfile_trick) drops the pending connections
 * itself and never tells the caller, so a daemon out of descriptors
 * refuses everyone without a word. Here the error reaches the owner (to
 * log and count), one pending connection is accepted on a reserved
 * descriptor and closed (the peer sees a close, not a hang), and the
 * listener is paused for a while instead of spinning on a readable socket
 * it cannot serve. A second reserved descriptor is released at the same
 * time for the admin socket, and the listeners stay paused until it can be
 * taken back: running out of descriptors never locks the administrator out.
 */
#ifndef WD_DCERPC_ACCEPT_H
#define WD_DCERPC_ACCEPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct dcerpc_acceptor;

/* A connected, non-blocking, close-on-exec socket; the callee owns fd. */
typedef void (*dcerpc_accept_fn)(struct dcerpc_acceptor *a, int fd);
/* accept() failed with -errno err; paused says the listener now pauses. */
typedef void (*dcerpc_accept_err_fn)(struct dcerpc_acceptor *a, int err, bool paused);
typedef void (*dcerpc_acceptor_closed_fn)(struct dcerpc_acceptor *a);

struct dcerpc_acceptor {
	uv_poll_t poll;
	uv_timer_t resume;
	int fd;
	uint16_t port;
	bool paused;
	bool freebind; /* set before open: bind an address the node does not have (yet) */
	unsigned open_handles;
	dcerpc_accept_fn on_fd;
	dcerpc_accept_err_fn on_err;
	dcerpc_acceptor_closed_fn on_closed;
	void *data; /* the owner's */
};

/*
 * Bind and listen on sa (port 0 picks one, left in a->port). Returns 0 or
 * -errno (the caller words it); on failure nothing is left open.
 */
int dcerpc_acceptor_open(struct dcerpc_acceptor *a, uv_loop_t *loop, const struct sockaddr *sa,
                         int backlog);
/* Stop and close; on_closed runs once both libuv handles are closed. */
void dcerpc_acceptor_close(struct dcerpc_acceptor *a);

#endif
