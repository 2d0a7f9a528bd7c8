/*
 * peer.c - the cluster-wide admin commands: a command given to this node's
 * witnessd runs here and on every other node's witnessd, over the cluster
 * backend's peer messages (ctdb: ctdbd's messaging, srvid
 * CTDB_SRVID_WITNESSD; Samba's `net witness` reaches every node the same
 * way, with its own messages, source3/utils/net_witness.c).
 *
 * The requesting node broadcasts the request, answers it itself at once,
 * and gathers the other nodes' answers until every connected node answered
 * or the peer timeout (default 2 s) passed; the reply names the nodes that
 * did not answer. Each node acts only on the registrations it holds, so a
 * move or an unregistration is done by the node holding the registration.
 *
 * Messages (ctl_peer_msg_pull, pure; host byte order, as ctdbd's own): a
 * request is one message; a reply longer than one message (CLUSTER_PEER_MAX)
 * is split into at most CTL_PEER_MAX_PARTS parts sent in order (ctdbd keeps
 * the order of one sender's messages), reassembled by the requester, and is
 * bounded by CTL_PEER_MAX_REPLY: a node with more registrations than fit
 * sends the first ones and "truncated": the number left out. Anything
 * malformed is logged (rate limited) and dropped; a reply that breaks the
 * part order counts as no answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/ctl.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/wit.h"
#include "ctl_int.h"

#define MAX_NODES 256 /* CTDB's own limit on nodes is far lower in practice */

/* ---- the wire format (pure) ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

size_t ctl_peer_msg_len(const struct ctl_peer_msg *m)
{
	return CTL_PEER_HDR_LEN + m->len;
}

void ctl_peer_msg_push(const struct ctl_peer_msg *m, uint8_t *buf)
{
	put32(buf, m->kind);
	put32(buf + 4, m->to_node);
	memcpy(buf + 8, &m->id, 8);
	put32(buf + 16, m->part);
	put32(buf + 20, m->nparts);
	memcpy(buf + CTL_PEER_HDR_LEN, m->data, m->len);
}

int ctl_peer_msg_pull(const uint8_t *buf, size_t len, struct ctl_peer_msg *m)
{
	struct ctl_peer_msg t;

	if (len < CTL_PEER_HDR_LEN + 1)
		return WD_ESHORT;
	if (len > CLUSTER_PEER_MAX)
		return WD_ERANGE;
	memset(&t, 0, sizeof(t));
	t.kind = get32(buf);
	t.to_node = get32(buf + 4);
	memcpy(&t.id, buf + 8, 8);
	t.part = get32(buf + 16);
	t.nparts = get32(buf + 20);
	if (t.kind != CTL_PEER_REQUEST && t.kind != CTL_PEER_REPLY)
		return WD_EPROTO;
	if (t.nparts == 0 || t.nparts > CTL_PEER_MAX_PARTS || t.part >= t.nparts)
		return WD_ERANGE;
	if (t.kind == CTL_PEER_REQUEST && t.nparts != 1)
		return WD_EPROTO;
	t.data = buf + CTL_PEER_HDR_LEN;
	t.len = len - CTL_PEER_HDR_LEN;
	if (memchr(t.data, '\0', t.len) != NULL)
		return WD_EPROTO;
	*m = t;
	return 0;
}

int ctl_peer_request_parse(const uint8_t *data, size_t len, cJSON **out,
                           const struct ctl_cmd_desc **d, char *err, size_t errlen)
{
	cJSON *req = NULL;
	int rc;

	*out = NULL;
	rc = ctl_request_parse((const char *)data, len, &req, err, errlen);
	if (rc != 0)
		return rc;
	*d = ctl_cmd_find(cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring);
	if (*d == NULL || !((*d)->flags & CTL_CMD_F_CLUSTER)) {
		snprintf(err, errlen, "not a cluster command");
		cJSON_Delete(req);
		return WD_EINVAL;
	}
	*out = req;
	return 0;
}

int ctl_peer_reply_parse(const uint8_t *data, size_t len, cJSON **out, char *err, size_t errlen)
{
	cJSON *r;
	const cJSON *ok;

	*out = NULL;
	if (len == 0 || len > CTL_PEER_MAX_REPLY || memchr(data, '\0', len) != NULL) {
		snprintf(err, errlen, "bad reply length or NUL byte");
		return WD_EPROTO;
	}
	r = cJSON_ParseWithLength((const char *)data, len);
	ok = cJSON_GetObjectItemCaseSensitive(r, "ok");
	if (r == NULL || !cJSON_IsObject(r) || !cJSON_IsBool(ok) ||
	    (cJSON_IsTrue(ok) && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "result"))) ||
	    (!cJSON_IsTrue(ok) && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "error")))) {
		cJSON_Delete(r);
		snprintf(err, errlen, "reply is not an admin reply object");
		return WD_EPROTO;
	}
	*out = r;
	return 0;
}

/* ---- state ---- */

struct gnode {
	uint32_t node;
	enum { G_WAIT, G_DONE, G_DOWN, G_BAD } state;
	char *buf; /* reassembly */
	size_t len;
	uint32_t next_part, nparts;
	cJSON *reply; /* {"ok":...} from that node */
};

struct gather;
typedef void (*gather_done_fn)(struct gather *g);

struct gather {
	struct ctl_peer *p;
	struct gather *next, *prev;
	uint64_t id;
	ctl_call_t *call; /* NULL once answered or cancelled */
	const struct ctl_cmd_desc *d;
	uv_timer_t timer;
	struct gnode *nodes; /* the other nodes */
	size_t n_nodes, waiting;
	cJSON *local; /* this node's result */
	gather_done_fn done;
	bool finished;
	/* drain */
	cJSON *drain_req; /* the phase 2 request (without offsets) */
	uint32_t drain_node;
};

struct ctl_peer {
	struct ctl_admin *adm;
	uv_loop_t *loop;
	struct gather *gathers;
	uint64_t next_id;
	uint64_t log_window;
	unsigned log_count, log_suppressed;
	uint64_t bad_messages;
};

/* Malformed peer messages: at most 5 lines a second. */
static void peer_bad(struct ctl_peer *p, uint32_t from, const char *what, const char *err)
{
	uint64_t now = uv_now(p->loop);
	char esc[160];

	p->bad_messages++;
	if (now - p->log_window >= 1000) {
		p->log_window = now;
		p->log_count = 0;
	}
	if (p->log_count >= 5) {
		p->log_suppressed++;
		return;
	}
	p->log_count++;
	wd_log(WD_LOG_WARNING, "ctl.bad_peer_message",
	       "from=%u what=%s error=\"%s\" total=%llu suppressed=%u", from, what,
	       wd_log_escape(err, esc, sizeof(esc)), (unsigned long long)p->bad_messages,
	       p->log_suppressed);
	p->log_suppressed = 0;
}

static unsigned peer_timeout(const struct ctl_admin *adm)
{
	return adm->peer_timeout_ms ? adm->peer_timeout_ms : CTL_PEER_TIMEOUT_MS;
}

/* Sends text (len bytes) as one or more messages of kind to node. */
static int send_parts(struct ctl_peer *p, uint32_t kind, uint32_t node, uint64_t id,
                      const char *text, size_t len)
{
	const size_t chunk = CLUSTER_PEER_MAX - CTL_PEER_HDR_LEN;
	size_t nparts = len == 0 ? 1 : (len + chunk - 1) / chunk;
	uint8_t *buf;
	int rc = 0;

	if (nparts > CTL_PEER_MAX_PARTS)
		return WD_ERANGE;
	buf = malloc(CLUSTER_PEER_MAX);
	if (buf == NULL)
		return WD_ENOMEM;
	for (size_t i = 0; i < nparts && rc == 0; i++) {
		size_t off = i * chunk, n = len - off < chunk ? len - off : chunk;
		struct ctl_peer_msg m = {.kind = kind,
		                         .to_node = node,
		                         .id = id,
		                         .part = (uint32_t)i,
		                         .nparts = (uint32_t)nparts,
		                         .data = (const uint8_t *)text + off,
		                         .len = n};

		ctl_peer_msg_push(&m, buf);
		rc = cluster_peer_send(p->adm->cluster, node, buf, ctl_peer_msg_len(&m));
	}
	free(buf);
	return rc;
}

/* ---- gathering ---- */

static void gather_closed(uv_handle_t *h)
{
	struct gather *g = h->data;

	for (size_t i = 0; i < g->n_nodes; i++) {
		free(g->nodes[i].buf);
		cJSON_Delete(g->nodes[i].reply);
	}
	free(g->nodes);
	cJSON_Delete(g->local);
	cJSON_Delete(g->drain_req);
	free(g);
}

static void gather_free(struct gather *g)
{
	struct ctl_peer *p = g->p;

	if (g->prev != NULL)
		g->prev->next = g->next;
	else
		p->gathers = g->next;
	if (g->next != NULL)
		g->next->prev = g->prev;
	uv_timer_stop(&g->timer);
	uv_close((uv_handle_t *)&g->timer, gather_closed);
}

static void gather_finish(struct gather *g)
{
	if (g->finished)
		return;
	g->finished = true;
	uv_timer_stop(&g->timer);
	g->done(g); /* may start the next phase with a new gather */
	if (g->call != NULL) {
		ctl_call_set_cancel(g->call, NULL, NULL);
		g->call = NULL;
	}
	gather_free(g);
}

static void gather_timeout(uv_timer_t *t)
{
	gather_finish(t->data);
}

static void gather_cancel(void *arg)
{
	struct gather *g = arg;

	g->call = NULL; /* the connection went: finish without a reply */
	gather_finish(g);
}

/* Adds the nodes that did not answer as "nodes_not_answering" and the
 * errors of those that refused as "node_errors" to res. */
static void add_missing(const struct gather *g, cJSON *res)
{
	cJSON *miss = NULL, *errs = NULL;

	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct gnode *n = &g->nodes[i];
		char key[16];

		if (n->state != G_DONE) {
			if (miss == NULL)
				miss = cJSON_AddArrayToObject(res, "nodes_not_answering");
			cJSON_AddItemToArray(miss, cJSON_CreateNumber(n->node));
			continue;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n->reply, "ok")))
			continue;
		if (errs == NULL)
			errs = cJSON_AddObjectToObject(res, "node_errors");
		snprintf(key, sizeof(key), "%u", n->node);
		cJSON_AddItemToObject(
		    errs, key,
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(n->reply, "error"), true));
	}
}

/* Moves the registrations of every node's result into dst. */
static void merge_regs(const struct gather *g, cJSON *dst)
{
	cJSON *regs = cJSON_GetObjectItemCaseSensitive(dst, "registrations");

	if (!cJSON_IsObject(regs)) {
		cJSON_DeleteItemFromObjectCaseSensitive(dst, "registrations");
		regs = cJSON_AddObjectToObject(dst, "registrations");
	}
	for (size_t i = 0; regs != NULL && i < g->n_nodes; i++) {
		cJSON *res = cJSON_GetObjectItemCaseSensitive(g->nodes[i].reply, "result");
		cJSON *theirs = cJSON_GetObjectItemCaseSensitive(res, "registrations"), *rg;

		if (g->nodes[i].state != G_DONE || !cJSON_IsObject(theirs))
			continue;
		while ((rg = theirs->child) != NULL) {
			cJSON_DetachItemViaPointer(theirs, rg);
			if (rg->string == NULL || !cJSON_IsObject(rg) ||
			    cJSON_GetObjectItemCaseSensitive(regs, rg->string) != NULL) {
				cJSON_Delete(rg);
				continue;
			}
			/* the holder is the node that answered, whatever it says */
			cJSON_DeleteItemFromObjectCaseSensitive(rg, "node");
			cJSON_AddNumberToObject(rg, "node", g->nodes[i].node);
			cJSON_AddItemToObject(regs, rg->string, rg);
		}
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(res, "truncated"))) {
			char key[16];
			cJSON *tr = cJSON_GetObjectItemCaseSensitive(dst, "truncated");

			if (tr == NULL)
				tr = cJSON_AddObjectToObject(dst, "truncated");
			snprintf(key, sizeof(key), "%u", g->nodes[i].node);
			cJSON_AddNumberToObject(
			    tr, key,
			    cJSON_GetObjectItemCaseSensitive(res, "truncated")->valuedouble);
		}
	}
}

static void reply_call(struct gather *g, cJSON *reply)
{
	if (g->call == NULL) {
		cJSON_Delete(reply);
		return;
	}
	ctl_call_set_cancel(g->call, NULL, NULL);
	ctl_call_reply(g->call, reply);
	g->call = NULL;
}

static void done_registrations(struct gather *g)
{
	cJSON *res = g->local;

	g->local = NULL;
	merge_regs(g, res);
	add_missing(g, res);
	reply_call(g, ctl_reply_ok(res));
}

/*
 * Starts a gather of req on every other node. local (owned) is this node's
 * result. Returns the gather, or NULL when there is no other node (then
 * nothing was sent and local is still the caller's).
 */
static struct gather *gather_start(struct ctl_admin *adm, const struct ctl_cmd_desc *d,
                                   const cJSON *req, cJSON *local, ctl_call_t *call,
                                   gather_done_fn done, int *err)
{
	struct ctl_peer *p = adm->peer;
	struct cluster_node nodes[MAX_NODES];
	uint32_t self = ctl_admin_local_node(adm);
	size_t n, others = 0;
	struct gather *g;
	char *text;
	int rc;

	*err = 0;
	if (p == NULL || adm->cluster == NULL || !cluster_has_peers(adm->cluster))
		return NULL;
	n = cluster_peer_nodes(adm->cluster, nodes, MAX_NODES);
	if (n > MAX_NODES)
		n = MAX_NODES;
	for (size_t i = 0; i < n; i++)
		others += nodes[i].node != self;
	if (others == 0)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL || (g->nodes = calloc(others, sizeof(*g->nodes))) == NULL) {
		free(g);
		*err = WD_ENOMEM;
		return NULL;
	}
	g->p = p;
	g->id = ++p->next_id;
	g->d = d;
	g->call = call;
	g->done = done;
	g->local = local;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].node == self)
			continue;
		g->nodes[g->n_nodes].node = nodes[i].node;
		g->nodes[g->n_nodes].state = nodes[i].connected ? G_WAIT : G_DOWN;
		g->waiting += nodes[i].connected;
		g->n_nodes++;
	}
	uv_timer_init(p->loop, &g->timer);
	g->timer.data = g;
	g->next = p->gathers;
	if (p->gathers != NULL)
		p->gathers->prev = g;
	p->gathers = g;
	if (call != NULL)
		ctl_call_set_cancel(call, gather_cancel, g);
	text = cJSON_PrintUnformatted(req);
	rc = text == NULL ? WD_ENOMEM
	     : strlen(text) > CLUSTER_PEER_MAX - CTL_PEER_HDR_LEN
	         ? WD_ERANGE
	         : send_parts(p, CTL_PEER_REQUEST, CLUSTER_NODE_NONE, g->id, text, strlen(text));
	cJSON_free(text);
	if (rc != 0) {
		/* our ctdbd is down: every other node counts as not answering */
		wd_log(WD_LOG_WARNING, "ctl.peer_send_failed", "cmd=%s error=%s", d->name,
		       wd_strerror(rc));
		g->waiting = 0;
	}
	uv_timer_start(&g->timer, gather_timeout, g->waiting ? peer_timeout(adm) : 0, 0);
	return g;
}

cJSON *ctl_peer_gather(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                       cJSON *local, ctl_call_t *call)
{
	int err;
	struct gather *g = gather_start(adm, d, req, local, call, done_registrations, &err);

	if (g == NULL) {
		if (err != 0) {
			cJSON_Delete(local);
			return ctl_reply_error(err, NULL);
		}
		return ctl_reply_ok(local);
	}
	return CTL_REPLY_LATER;
}

/* ---- peers: which nodes' witnessd answer ---- */

static cJSON *peers_self(struct ctl_admin *adm)
{
	cJSON *o = cJSON_CreateObject();
	struct wit_stats st = {0};

	if (o == NULL)
		return NULL;
	if (adm->wit != NULL)
		wit_service_stats(adm->wit, &st);
	cJSON_AddNumberToObject(o, "node", ctl_admin_local_node(adm));
	cJSON_AddStringToObject(o, "version", WITNESSD_VERSION);
	cJSON_AddNumberToObject(o, "registrations", st.registrations);
	return o;
}

static void done_peers(struct gather *g)
{
	cJSON *res = cJSON_CreateObject(), *arr;

	if (res == NULL) {
		reply_call(g, ctl_reply_error(WD_ENOMEM, NULL));
		return;
	}
	arr = cJSON_AddArrayToObject(res, "nodes");
	cJSON_AddItemToArray(arr, g->local);
	g->local = NULL;
	for (size_t i = 0; i < g->n_nodes; i++) {
		cJSON *r = cJSON_GetObjectItemCaseSensitive(g->nodes[i].reply, "result");

		if (g->nodes[i].state == G_DONE && cJSON_IsObject(r)) {
			cJSON_DeleteItemFromObjectCaseSensitive(r, "node");
			cJSON_AddNumberToObject(r, "node", g->nodes[i].node);
			cJSON_AddItemToArray(arr, cJSON_Duplicate(r, true));
		}
	}
	add_missing(g, res);
	reply_call(g, ctl_reply_ok(res));
}

cJSON *ctl_peer_peers(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                      ctl_call_t *call)
{
	cJSON *self = peers_self(adm);
	int err;
	struct gather *g;

	if (self == NULL)
		return ctl_reply_error(WD_ENOMEM, NULL);
	g = gather_start(adm, d, req, self, call, done_peers, &err);
	if (g == NULL) {
		cJSON *res, *arr;

		if (err != 0) {
			cJSON_Delete(self);
			return ctl_reply_error(err, NULL);
		}
		res = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(res, "nodes");
		cJSON_AddItemToArray(arr, self);
		return ctl_reply_ok(res);
	}
	return CTL_REPLY_LATER;
}

/* ---- drain ---- */

/* A whole number in [min, max] from a JSON number. */
static bool get_uint(const cJSON *n, double max, uint32_t *out)
{
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > max ||
	    (double)(uint32_t)n->valuedouble != n->valuedouble)
		return false;
	*out = (uint32_t)n->valuedouble;
	return true;
}

/*
 * The drain request a node runs ({"cmd":"drain","phase":"count"|"move",
 * "ips":[...],"targets":[{"node":N}|{"ip":A}],"offsets":{"N":k}}): its
 * registrations on those IPs, counted or moved. Pure validation plus
 * wit_admin_drain.
 */
static int drain_local(struct ctl_admin *adm, const cJSON *req, cJSON **out, char *err,
                       size_t errlen)
{
	const cJSON *phase = cJSON_GetObjectItemCaseSensitive(req, "phase");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(req, "ips");
	const cJSON *tg = cJSON_GetObjectItemCaseSensitive(req, "targets");
	const cJSON *offs = cJSON_GetObjectItemCaseSensitive(req, "offsets");
	const char *ipv[64];
	struct wit_move_target t[MAX_NODES];
	size_t n_ips = 0, n_t = 0;
	uint32_t offset = 0;
	bool count_only;
	const cJSON *it;
	char key[16];

	*out = NULL;
	if (adm->wit == NULL) {
		snprintf(err, errlen, "the witness service is not running");
		return WD_ESTATE;
	}
	if (!cJSON_IsString(phase) ||
	    (strcmp(phase->valuestring, "count") != 0 && strcmp(phase->valuestring, "move") != 0)) {
		snprintf(err, errlen, "drain: \"phase\" must be \"count\" or \"move\"");
		return WD_EINVAL;
	}
	count_only = phase->valuestring[0] == 'c';
	if (!cJSON_IsArray(ips) || cJSON_GetArraySize(ips) < 1 || cJSON_GetArraySize(ips) > 64) {
		snprintf(err, errlen, "drain: \"ips\" must be an array of 1 to 64 addresses");
		return WD_EINVAL;
	}
	cJSON_ArrayForEach(it, ips)
	{
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "drain: \"ips\" must hold strings");
			return WD_EINVAL;
		}
		ipv[n_ips++] = it->valuestring;
	}
	if (!count_only) {
		if (!cJSON_IsArray(tg) || cJSON_GetArraySize(tg) < 1 ||
		    cJSON_GetArraySize(tg) > MAX_NODES) {
			snprintf(err, errlen, "drain: \"targets\" must be a non-empty array");
			return WD_EINVAL;
		}
		cJSON_ArrayForEach(it, tg)
		{
			const cJSON *nd = cJSON_GetObjectItemCaseSensitive(it, "node");
			const cJSON *ip = cJSON_GetObjectItemCaseSensitive(it, "ip");

			t[n_t].ip = NULL;
			t[n_t].node = CLUSTER_NODE_NONE;
			if (cJSON_IsString(ip))
				t[n_t].ip = ip->valuestring;
			else if (!get_uint(nd, (double)CLUSTER_NODE_NONE - 1, &t[n_t].node)) {
				snprintf(err, errlen, "drain: a target needs \"node\" or \"ip\"");
				return WD_EINVAL;
			}
			n_t++;
		}
		snprintf(key, sizeof(key), "%u", ctl_admin_local_node(adm));
		it = cJSON_IsObject(offs) ? cJSON_GetObjectItemCaseSensitive(offs, key) : NULL;
		if (it != NULL && !get_uint(it, 1e9, &offset)) {
			snprintf(err, errlen, "drain: bad offset");
			return WD_EINVAL;
		}
	}
	{
		struct wit_admin_result res;
		int rc = wit_admin_drain(adm->wit, ipv, n_ips, t, n_t, offset, count_only, &res,
		                         err, errlen);

		if (rc != 0)
			return rc;
		*out = cJSON_CreateObject();
		if (*out != NULL) {
			cJSON_AddNumberToObject(*out, "count", (double)res.n);
			rc = ctl_regs_json(*out, &res, true, t);
		}
		wit_admin_result_free(&res);
		if (*out == NULL || rc != 0) {
			cJSON_Delete(*out);
			*out = NULL;
			snprintf(err, errlen, "%s", wd_strerror(WD_ENOMEM));
			return WD_ENOMEM;
		}
		return 0;
	}
}

static int node_cmp(const void *a, const void *b)
{
	const struct gnode *x = a, *y = b;

	return x->node < y->node ? -1 : x->node > y->node;
}

static void done_drain_move(struct gather *g)
{
	cJSON *res = g->local;

	g->local = NULL;
	merge_regs(g, res);
	cJSON_DeleteItemFromObjectCaseSensitive(res, "count");
	cJSON_AddItemToObject(
	    res, "message",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(g->drain_req, "message"), true));
	add_missing(g, res);
	reply_call(g, ctl_reply_ok(res));
}

/* Phase 1 done: offsets so that the moves of all nodes together go round
 * the targets evenly (node order), then phase 2 here and everywhere. */
static void done_drain_count(struct gather *g)
{
	struct ctl_admin *adm = g->p->adm;
	cJSON *req = g->drain_req, *offs, *local = NULL;
	struct gnode *order;
	uint32_t self = ctl_admin_local_node(adm);
	double sum = 0;
	char key[16], err[256] = "";
	size_t n = 0;
	int rc;

	order = calloc(g->n_nodes + 1, sizeof(*order));
	if (order == NULL) {
		reply_call(g, ctl_reply_error(WD_ENOMEM, NULL));
		return;
	}
	order[n].node = self;
	order[n++].len =
	    (size_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g->local, "count"));
	for (size_t i = 0; i < g->n_nodes; i++) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(g->nodes[i].reply, "result");

		order[n].node = g->nodes[i].node;
		order[n++].len =
		    g->nodes[i].state == G_DONE
		        ? (size_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "count"))
		        : 0;
	}
	qsort(order, n, sizeof(*order), node_cmp);
	cJSON_ReplaceItemInObjectCaseSensitive(req, "phase", cJSON_CreateString("move"));
	offs = cJSON_AddObjectToObject(req, "offsets");
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%u", order[i].node);
		cJSON_AddNumberToObject(offs, key, sum);
		sum += (double)order[i].len;
	}
	free(order);
	rc = drain_local(adm, req, &local, err, sizeof(err));
	if (rc != 0) {
		reply_call(g, ctl_reply_error(rc, err));
		return;
	}
	{
		/* phase 2 takes over the call and the request */
		ctl_call_t *call = g->call;
		struct gather *g2;
		int e;

		if (call == NULL) {
			cJSON_Delete(local);
			return;
		}
		ctl_call_set_cancel(call, NULL, NULL);
		g->call = NULL;
		g2 = gather_start(adm, g->d, req, local, call, done_drain_move, &e);
		if (g2 == NULL) {
			cJSON *res = local;

			cJSON_DeleteItemFromObjectCaseSensitive(res, "count");
			cJSON_AddItemToObject(
			    res, "message",
			    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req, "message"),
			                    true));
			ctl_call_reply(call, e ? ctl_reply_error(e, NULL) : ctl_reply_ok(res));
			if (e)
				cJSON_Delete(res);
			return;
		}
		g2->drain_req = req;
		g->drain_req = NULL;
	}
}

/* ips: every IP of the view hosted on node; targets: to_ip, to_node, or
 * every other node that hosts an available IP and is active. */
static int drain_plan(struct ctl_admin *adm, const cJSON *req, cJSON **plan, char *err,
                      size_t errlen)
{
	const struct cluster_view *v = cluster_view(adm->cluster);
	const cJSON *nd = cJSON_GetObjectItemCaseSensitive(req, "node");
	const cJSON *tn = cJSON_GetObjectItemCaseSensitive(req, "to_node");
	const cJSON *ti = cJSON_GetObjectItemCaseSensitive(req, "to_ip");
	struct cluster_node nodes[MAX_NODES];
	size_t n_nodes = cluster_peer_nodes(adm->cluster, nodes, MAX_NODES);
	uint32_t node, to_node = CLUSTER_NODE_NONE;
	cJSON *p, *ips, *tg, *msg;
	size_t n_ips = 0, n_t = 0;

	*plan = NULL;
	if (!get_uint(nd, (double)CLUSTER_NODE_NONE - 1, &node)) {
		snprintf(err, errlen, "\"node\" must be a node number");
		return WD_EINVAL;
	}
	if (tn != NULL && ti != NULL) {
		snprintf(err, errlen, "give at most one of \"to_node\" and \"to_ip\"");
		return WD_EINVAL;
	}
	if (tn != NULL &&
	    (!get_uint(tn, (double)CLUSTER_NODE_NONE - 1, &to_node) || to_node == node)) {
		snprintf(err, errlen, "\"to_node\" must be a node number other than %u", node);
		return WD_EINVAL;
	}
	if (ti != NULL) {
		const struct cluster_ip *ip =
		    cJSON_IsString(ti) ? cluster_view_find(v, ti->valuestring) : NULL;

		if (ip == NULL) {
			snprintf(err, errlen, "\"to_ip\" must be one of the cluster's interfaces");
			return WD_EINVAL;
		}
		if (ip->node == node) {
			snprintf(err, errlen, "%s is hosted on node %u itself", ip->addr, node);
			return WD_EINVAL;
		}
	}
	p = cJSON_CreateObject();
	if (p == NULL)
		return WD_ENOMEM;
	cJSON_AddStringToObject(p, "cmd", "drain");
	cJSON_AddStringToObject(p, "phase", "count");
	ips = cJSON_AddArrayToObject(p, "ips");
	tg = cJSON_AddArrayToObject(p, "targets");
	for (size_t i = 0; i < v->n && n_ips < 64; i++) {
		if (v->ips[i].node == node) {
			cJSON_AddItemToArray(ips, cJSON_CreateString(v->ips[i].addr));
			n_ips++;
		}
	}
	if (n_ips == 0) {
		cJSON_Delete(p);
		snprintf(err, errlen, "node %u hosts no IP address of the cluster", node);
		return WD_ENOTFOUND;
	}
	if (ti != NULL) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "ip", ti->valuestring);
		cJSON_AddItemToArray(tg, o);
		n_t = 1;
	} else {
		/* each node once, in node order, if it hosts an available IP */
		for (uint32_t cand = 0; n_t < MAX_NODES; cand++) {
			bool hosts = false, active = true, more = false;

			for (size_t i = 0; i < v->n; i++) {
				if (v->ips[i].node != CLUSTER_NODE_NONE && v->ips[i].node > cand)
					more = true;
				if (v->ips[i].node == cand && v->ips[i].available)
					hosts = true;
			}
			for (size_t i = 0; i < n_nodes && i < MAX_NODES; i++) {
				if (nodes[i].node == cand && !nodes[i].active)
					active = false;
			}
			if (hosts && active && cand != node &&
			    (to_node == CLUSTER_NODE_NONE || cand == to_node)) {
				cJSON *o = cJSON_CreateObject();

				cJSON_AddNumberToObject(o, "node", cand);
				cJSON_AddItemToArray(tg, o);
				n_t++;
			}
			if (!more)
				break;
		}
	}
	if (n_t == 0) {
		cJSON_Delete(p);
		if (to_node != CLUSTER_NODE_NONE)
			snprintf(err, errlen, "node %u hosts no available IP address", to_node);
		else
			snprintf(err, errlen,
			         "no other active node hosts an available IP address to move to");
		return WD_ENOTFOUND;
	}
	msg = cJSON_AddObjectToObject(p, "message");
	cJSON_AddStringToObject(msg, "type", "DRAIN");
	cJSON_AddNumberToObject(msg, "node", node);
	cJSON_AddItemToObject(msg, "ips", cJSON_Duplicate(ips, true));
	cJSON_AddItemToObject(msg, "targets", cJSON_Duplicate(tg, true));
	*plan = p;
	return 0;
}

cJSON *ctl_peer_drain(struct ctl_admin *adm, const struct ctl_cmd_desc *d, const cJSON *req,
                      ctl_call_t *call)
{
	cJSON *plan = NULL, *local = NULL;
	struct gather *g;
	char err[256] = "";
	int rc, e;

	if (adm->cluster == NULL || adm->wit == NULL)
		return ctl_reply_error(WD_ESTATE, "the witness service is not running");
	/* A request from witnessctl has "node"; one from a peer has "phase". */
	if ((rc = drain_plan(adm, req, &plan, err, sizeof(err))) != 0)
		return ctl_reply_error(rc, err);
	rc = drain_local(adm, plan, &local, err, sizeof(err));
	if (rc != 0) {
		cJSON_Delete(plan);
		return ctl_reply_error(rc, err);
	}
	g = gather_start(adm, d, plan, local, call, done_drain_count, &e);
	if (g == NULL) {
		/* no other node: count and move here (static backend) */
		struct gather one = {.p = adm->peer, .d = d, .local = local, .drain_req = plan};
		cJSON *res = NULL;

		if (e != 0) {
			cJSON_Delete(plan);
			cJSON_Delete(local);
			return ctl_reply_error(e, NULL);
		}
		(void)one;
		cJSON_Delete(local);
		cJSON_ReplaceItemInObjectCaseSensitive(plan, "phase", cJSON_CreateString("move"));
		rc = drain_local(adm, plan, &res, err, sizeof(err));
		if (rc != 0) {
			cJSON_Delete(plan);
			return ctl_reply_error(rc, err);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(res, "count");
		cJSON_AddItemToObject(
		    res, "message",
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(plan, "message"), true));
		cJSON_Delete(plan);
		return ctl_reply_ok(res);
	}
	g->drain_req = plan;
	return CTL_REPLY_LATER;
}

/* ---- answering other nodes ---- */

/* Drops the registrations that do not fit in CTL_PEER_MAX_REPLY from a
 * result, and says how many in "truncated". Returns the reply text. */
static char *reply_text(cJSON *reply)
{
	char *text = cJSON_PrintUnformatted(reply);
	cJSON *res, *regs;
	size_t len, over;
	int dropped = 0;

	if (text == NULL || (len = strlen(text)) <= CTL_PEER_MAX_REPLY)
		return text;
	res = cJSON_GetObjectItemCaseSensitive(reply, "result");
	regs = cJSON_GetObjectItemCaseSensitive(res, "registrations");
	over = len - CTL_PEER_MAX_REPLY + 64;
	while (over > 0 && regs != NULL && regs->child != NULL) {
		cJSON *last = regs->child->prev; /* cJSON keeps the tail in child->prev */
		char *s = cJSON_PrintUnformatted(last);
		size_t l = s ? strlen(s) + strlen(last->string ? last->string : "") + 4 : 0;

		cJSON_free(s);
		cJSON_Delete(cJSON_DetachItemViaPointer(regs, last));
		dropped++;
		over = l >= over ? 0 : over - l;
	}
	cJSON_free(text);
	cJSON_AddNumberToObject(res, "truncated", dropped);
	text = cJSON_PrintUnformatted(reply);
	if (text != NULL && strlen(text) > CTL_PEER_MAX_REPLY) {
		cJSON_free(text);
		return NULL;
	}
	return text;
}

static void answer(struct ctl_peer *p, uint32_t from, const struct ctl_peer_msg *m)
{
	struct ctl_admin *adm = p->adm;
	const struct ctl_cmd_desc *d;
	cJSON *req = NULL, *out = NULL, *reply;
	char err[256] = "", *text;
	int rc;

	rc = ctl_peer_request_parse(m->data, m->len, &req, &d, err, sizeof(err));
	if (rc != 0) {
		peer_bad(p, from, "request", err);
		return;
	}
	if (d->id == CTL_CMD_PEERS) {
		out = peers_self(adm);
		rc = out != NULL ? 0 : WD_ENOMEM;
	} else if (d->id == CTL_CMD_DRAIN) {
		rc = drain_local(adm, req, &out, err, sizeof(err));
	} else {
		rc = ctl_admin_run_local(adm, d, req, &out, err, sizeof(err));
	}
	{
		char esc[64];

		wd_log(WD_LOG_INFO, "ctl.peer_request", "from=%u cmd=%s rc=%s", from,
		       wd_log_escape(d->name, esc, sizeof(esc)), rc ? wd_strerror(rc) : "ok");
	}
	cJSON_Delete(req);
	reply = rc == 0 ? ctl_reply_ok(out) : ctl_reply_error(rc, err);
	text = reply != NULL ? reply_text(reply) : NULL;
	cJSON_Delete(reply);
	if (text == NULL)
		return;
	rc = send_parts(p, CTL_PEER_REPLY, from, m->id, text, strlen(text));
	if (rc != 0)
		wd_log(WD_LOG_WARNING, "ctl.peer_reply_failed", "to=%u error=%s", from,
		       wd_strerror(rc));
	cJSON_free(text);
}

static void take_reply(struct ctl_peer *p, uint32_t from, const struct ctl_peer_msg *m)
{
	struct gather *g;
	struct gnode *n = NULL;
	char err[128];

	for (g = p->gathers; g != NULL && g->id != m->id; g = g->next)
		;
	if (g == NULL || g->finished)
		return; /* late: that request is answered already */
	for (size_t i = 0; i < g->n_nodes; i++) {
		if (g->nodes[i].node == from)
			n = &g->nodes[i];
	}
	if (n == NULL || n->state != G_WAIT)
		return;
	if (m->part != n->next_part || (n->nparts != 0 && m->nparts != n->nparts) ||
	    n->len + m->len > CTL_PEER_MAX_REPLY) {
		peer_bad(p, from, "reply", "parts out of order or reply too long");
		n->state = G_BAD;
		g->waiting--;
		goto check;
	}
	{
		char *nb = realloc(n->buf, n->len + m->len);

		if (nb == NULL) {
			n->state = G_BAD;
			g->waiting--;
			goto check;
		}
		n->buf = nb;
	}
	memcpy(n->buf + n->len, m->data, m->len);
	n->len += m->len;
	n->nparts = m->nparts;
	if (++n->next_part < n->nparts)
		return;
	if (ctl_peer_reply_parse((const uint8_t *)n->buf, n->len, &n->reply, err, sizeof(err)) !=
	    0) {
		peer_bad(p, from, "reply", err);
		n->state = G_BAD;
	} else {
		n->state = G_DONE;
	}
	free(n->buf);
	n->buf = NULL;
	g->waiting--;
check:
	if (g->waiting == 0)
		gather_finish(g);
}

static void on_peer(void *arg, uint32_t from, const uint8_t *data, size_t len)
{
	struct ctl_peer *p = arg;
	struct ctl_peer_msg m;
	uint32_t self = ctl_admin_local_node(p->adm);
	char err[32];
	int rc;

	if ((rc = ctl_peer_msg_pull(data, len, &m)) != 0) {
		snprintf(err, sizeof(err), "%s", wd_strerror(rc));
		peer_bad(p, from, "message", err);
		return;
	}
	if (from == self)
		return; /* our own broadcast: answered locally already */
	if (m.to_node != CLUSTER_NODE_NONE && m.to_node != self)
		return;
	if (m.kind == CTL_PEER_REQUEST)
		answer(p, from, &m);
	else
		take_reply(p, from, &m);
}

int ctl_admin_start(struct ctl_admin *adm, uv_loop_t *loop)
{
	struct ctl_peer *p;

	if (adm->cluster == NULL || adm->peer != NULL)
		return WD_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return WD_ENOMEM;
	p->adm = adm;
	p->loop = loop;
	p->next_id = ((uint64_t)uv_hrtime() << 16) ^ (uint64_t)(uintptr_t)p;
	adm->peer = p;
	cluster_on_peer(adm->cluster, on_peer, p);
	return 0;
}

void ctl_admin_stop(struct ctl_admin *adm)
{
	struct ctl_peer *p = adm->peer;

	if (p == NULL)
		return;
	if (adm->cluster != NULL)
		cluster_on_peer(adm->cluster, NULL, NULL);
	while (p->gathers != NULL) {
		struct gather *g = p->gathers;

		/* answer with what came so far; a drain stops after its phase */
		g->done = g->done == done_drain_count ? done_drain_move : g->done;
		gather_finish(g);
	}
	adm->peer = NULL;
	free(p); /* the gathers' timers close on their own (gather_closed) */
}
