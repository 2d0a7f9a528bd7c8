/*
 * fuzz_peer.c - libFuzzer target for the messages between the witnessd of
 * the nodes (include/witness/ctdb.h CTDB_WDPEER_ADMIN, include/witness/ctl.h
 * ctl_peer_msg): what another node, or anything else on witnessd's srvid,
 * sends through ctdbd. The first byte picks the path:
 *   0: the ctdb envelope pulls (ctdb_wdpeer_event, _admin_pull, _msg_pull)
 *      and, when the envelope parses, a push/pull round trip of it;
 *   1: the rest as a whole peer message from node 1 to the real admin code
 *      (src/ctl/peer.c) over a fake cluster backend with nodes 0 and 1: a
 *      request is answered, and every reply part it sends must parse again;
 *   2: the rest as the reply of node 1 to a `list` this node sent, cut into
 *      parts as the second byte says (wrong orders included).
 * Against a witness service with no registrations; nothing may crash, leak
 * or answer with a malformed reply.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/ctdb.h"
#include "witness/ctl.h"
#include "witness/log.h"
#include "witness/wit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static cluster_t *cl;
static wit_service_t *ws;
static struct ctl_admin adm;
static uint64_t last_request_id;
static char *reply_buf;
static size_t reply_len;
static uint32_t reply_parts, reply_next;

/* The fake backend's send: requests are noted, replies checked part by part. */
static int fake_send(cluster_t *c, uint32_t node, const void *d, size_t len)
{
	struct ctl_peer_msg m;

	(void)c, (void)node;
	if (ctl_peer_msg_pull(d, len, &m) != 0)
		abort(); /* we must only ever send what we accept */
	if (m.kind == CTL_PEER_REQUEST) {
		last_request_id = m.id;
		return 0;
	}
	if (m.part != reply_next || (reply_parts != 0 && m.nparts != reply_parts))
		abort();
	reply_buf = realloc(reply_buf, reply_len + m.len);
	memcpy(reply_buf + reply_len, m.data, m.len);
	reply_len += m.len;
	reply_parts = m.nparts;
	if (++reply_next == reply_parts) {
		cJSON *r = NULL;
		char err[64];

		if (ctl_peer_reply_parse((uint8_t *)reply_buf, reply_len, &r, err, sizeof(err)) !=
		    0)
			abort();
		cJSON_Delete(r);
		free(reply_buf);
		reply_buf = NULL;
		reply_len = 0;
		reply_parts = reply_next = 0;
	}
	return 0;
}

static size_t fake_nodes(cluster_t *c, struct cluster_node *out, size_t max)
{
	(void)c;
	for (uint32_t i = 0; i < 2 && i < max; i++) {
		out[i].node = i;
		out[i].connected = true;
		out[i].active = true;
	}
	return 2;
}

static int fake_start(cluster_t *c)
{
	(void)c;
	return 0;
}

static void fake_stop(cluster_t *c)
{
	(void)c;
}

static void fake_destroy(void *impl)
{
	(void)impl;
}

static const struct cluster_ops fake_ops = {
    .name = "fake",
    .start = fake_start,
    .stop = fake_stop,
    .destroy = fake_destroy,
    .peer_send = fake_send,
    .peer_nodes = fake_nodes,
};

static void setup(void)
{
	struct cluster_view *v;
	struct wit_config wc = {.netname = "WITSRV",
	                        .min_auth_level = 1,
	                        .unused_timeout_ms = 30000,
	                        .reregister_delay_ms = 5000,
	                        .max_registrations = 100,
	                        .max_registrations_per_client = 10};

	wd_log_set_level(WD_LOG_ERR - 1);
	uv_loop_init(&loop);
	cl = cluster_new(&loop, &fake_ops, NULL);
	v = cluster_view_new(0);
	cluster_view_add(v, "10.0.0.1", 0, CLUSTER_NODE_NONE, true);
	cluster_view_add(v, "10.0.0.2", 1, CLUSTER_NODE_NONE, true);
	cluster_view_add(v, "fd00::1", 1, CLUSTER_NODE_NONE, true);
	cluster_publish(cl, v);
	if (wit_service_new(&loop, &wc, cl, NULL, &ws) != 0)
		abort();
	adm.wit = ws;
	adm.cluster = cl;
}

static void envelope(const uint8_t *d, size_t n)
{
	struct ctdb_wdpeer_msg m;
	const uint8_t *p;
	uint32_t pnn;
	size_t np;

	(void)ctdb_wdpeer_event(d, n);
	if (ctdb_wdpeer_admin_pull(d, n, &pnn, &p, &np) == 0) {
		uint8_t *b = malloc(ctdb_wdpeer_admin_len(np));
		const uint8_t *p2;
		uint32_t pnn2;
		size_t np2;

		ctdb_wdpeer_admin_push(pnn, p, np, b);
		if (ctdb_wdpeer_admin_pull(b, ctdb_wdpeer_admin_len(np), &pnn2, &p2, &np2) != 0 ||
		    pnn2 != pnn || np2 != np || memcmp(p2, p, np) != 0)
			abort();
		free(b);
	}
	(void)ctdb_wdpeer_msg_pull(d, n, &m, &np);
}

/* Delivers text as node 1's reply to the last request, in parts as mode says. */
static void reply_in_parts(const uint8_t *text, size_t n, uint8_t mode)
{
	uint32_t nparts = 1 + (mode & 3), order = (mode >> 2) & 3;
	size_t chunk = n / nparts + 1;
	uint8_t *buf = malloc(CTL_PEER_HDR_LEN + chunk);

	for (uint32_t i = 0; i < nparts; i++) {
		uint32_t part = order == 1 ? nparts - 1 - i : order == 2 ? 0 : i;
		size_t off = (size_t)i * chunk, len = off >= n          ? 0
		                                      : n - off < chunk ? n - off
		                                                        : chunk;
		struct ctl_peer_msg m = {.kind = CTL_PEER_REPLY,
		                         .to_node = 0,
		                         .id = last_request_id,
		                         .part = part,
		                         .nparts = nparts,
		                         .data = text + off,
		                         .len = len};

		ctl_peer_msg_push(&m, buf);
		cluster_deliver_peer(cl, 1, buf, ctl_peer_msg_len(&m));
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cl == NULL)
		setup();
	if (size < 2 || size > CLUSTER_PEER_MAX + 64)
		return 0;
	ctl_admin_start(&adm, &loop);
	switch (data[0] % 3) {
	case 0:
		envelope(data + 1, size - 1);
		break;
	case 1:
		cluster_deliver_peer(cl, 1, data + 1, size - 1);
		break;
	default: {
		cJSON *req = cJSON_Parse("{\"cmd\":\"list\",\"filters\":{}}"), *rep;

		rep = ctl_admin_handle(&adm, req, NULL);
		if (rep != CTL_REPLY_LATER)
			abort();
		cJSON_Delete(req);
		reply_in_parts(data + 2, size - 2, data[1]);
		break;
	}
	}
	/* whatever is still waiting is answered (and dropped: no call) */
	ctl_admin_stop(&adm);
	free(reply_buf);
	reply_buf = NULL;
	reply_len = 0;
	reply_parts = reply_next = 0;
	uv_run(&loop, UV_RUN_NOWAIT);
	return 0;
}
