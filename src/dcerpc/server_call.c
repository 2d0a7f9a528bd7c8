/*
 * server_call.c - the calls of the DCERPC server: requests (checked,
 * verified through server_bind.c, reassembled when fragmented, bounded),
 * dispatch to the interface, replies fragmented as negotiated, faults, and
 * co_cancel / orphaned. [C706] 12.6.4, [MS-RPCE] 3.3.1.5.8, 3.3.3.5.4;
 * Samba's dcesrv_core.c (request processing) and dcesrv_reply.c.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "witness/ndr.h"
#include "server_int.h"

/* ---- faults ---- */

/* Faults are never signed ([MS-RPCE] 2.2.2.11, Samba dcesrv_fault_with_flags). */
void dcerpc__send_fault(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                        uint8_t extra_flags)
{
	struct dcerpc_fault f;
	memset(&f, 0, sizeof(f));
	dcerpc_hdr_init(&f.hdr, DCERPC_PKT_FAULT, DCERPC_PFC_FIRST | DCERPC_PFC_LAST | extra_flags,
	                call_id);
	f.alloc_hint = 24; /* Samba */
	f.context_id = ctx_id;
	f.status = status;
	struct dcerpc_buf b = {0};
	c->srv->stats.faults_total++;
	metrics_fault(status);
	if (dcerpc_fault_push(&b, &f) == 0)
		dcerpc__conn_send(c, &b);
	else
		dcerpc_buf_free(&b);
}

/* A protocol error: fault, then disconnect ([MS-RPCE] 3.3.3.5.7). */
void dcerpc__fault_disconnect(struct conn *c, uint32_t call_id, uint16_t ctx_id, uint32_t status,
                              uint8_t extra)
{
	c->srv->stats.protocol_errors++;
	dcerpc__send_fault(c, call_id, ctx_id, status, extra);
	dcerpc__conn_close_after_write(c);
}

uint32_t dcerpc__raw_call_id(const uint8_t *buf, size_t len)
{
	if (len < DCERPC_HDR_LEN)
		return 0;
	return (uint32_t)buf[12] | ((uint32_t)buf[13] << 8) | ((uint32_t)buf[14] << 16) |
	       ((uint32_t)buf[15] << 24);
}

/* ---- calls ---- */

static void call_unlink(struct dcerpc_call *call)
{
	struct conn *c = call->conn;
	if (!c)
		return;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->next = call->prev = NULL;
	c->n_calls--;
	c->srv->stats.calls_pending--;
}

/*
 * The response PDUs for stub, fragmented as negotiated: chunk = max_xmit -
 * 24 - auth overhead, rounded down to 16 (Samba's dcesrv_reply.c).
 */
static int reply_fragments(struct conn *c, const struct dcerpc_call *call, const uint8_t *stub,
                           size_t len, struct dcerpc_buf *b)
{
	size_t over = DCERPC_RESP_HDR_LEN + dcerpc__auth_response_overhead(call->sec);
	size_t chunk = c->max_xmit > over + 16 ? ((c->max_xmit - over) & ~(size_t)15) : 16;
	size_t off = 0;
	do {
		size_t n = len - off < chunk ? len - off : chunk;
		struct dcerpc_response r;
		memset(&r, 0, sizeof(r));
		uint8_t pfc = 0;
		if (off == 0)
			pfc |= DCERPC_PFC_FIRST;
		if (off + n == len)
			pfc |= DCERPC_PFC_LAST;
		dcerpc_hdr_init(&r.hdr, DCERPC_PKT_RESPONSE, pfc, call->call_id);
		r.alloc_hint = (uint32_t)(len - off);
		/* Samba: "Windows truncates the context_id" */
		r.context_id = call->context_id & 0xff;
		r.stub = stub + off;
		r.stub_len = n;
		/* protected with the security context the request came on */
		int rc = dcerpc__auth_response_push(call->sec, b, &r);
		if (rc < 0)
			return rc;
		off += n;
	} while (off < len);
	return 0;
}

int dcerpc_call_reply(dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	if (!call)
		return WD_EINVAL;
	if (call->cancelled)
		return WD_ECANCELED; /* freed by the core after the cancel callback */
	struct conn *c = call->conn;
	call_unlink(call);
	metrics_call(call->iface->name, call->opnum,
	             (double)(uv_hrtime() - call->started_ns) / 1e9);
	if (call->orphaned || c->closing) {
		free(call);
		return 0;
	}
	struct dcerpc_buf b = {0};
	int rc = reply_fragments(c, call, stub, len, &b);
	if (rc < 0) {
		wd_log(WD_LOG_ERR, "dcerpc.reply.failed", "call_id=%u err=%s", call->call_id,
		       wd_strerror(rc));
		dcerpc_buf_free(&b);
		dcerpc__send_fault(c, call->call_id, call->context_id, wd_err_fault(rc), 0);
	} else {
		rc = dcerpc__conn_send(c, &b);
	}
	free(call);
	return rc;
}

int dcerpc_call_fault(dcerpc_call_t *call, uint32_t status)
{
	if (!call)
		return WD_EINVAL;
	if (call->cancelled)
		return WD_ECANCELED;
	struct conn *c = call->conn;
	call_unlink(call);
	metrics_call(call->iface->name, call->opnum,
	             (double)(uv_hrtime() - call->started_ns) / 1e9);
	if (!call->orphaned && !c->closing)
		dcerpc__send_fault(c, call->call_id, call->context_id, status, 0);
	free(call);
	return 0;
}

void dcerpc_call_set_cancel(dcerpc_call_t *call, dcerpc_cancel_cb cb, void *arg)
{
	call->cancel_cb = cb;
	call->cancel_arg = arg;
}

const struct dcerpc_peer *dcerpc_call_peer(const dcerpc_call_t *call)
{
	return call->peer;
}

dcerpc_server_t *dcerpc_call_server(const dcerpc_call_t *call)
{
	return call->conn->srv;
}

uint32_t dcerpc_call_id(const dcerpc_call_t *call)
{
	return call->call_id;
}

uint32_t dcerpc_call_ndr_flags(const dcerpc_call_t *call)
{
	return call->ndr_flags;
}

/* Runs the cancel callback, then frees the call. */
static void call_cancel(struct dcerpc_call *call, enum dcerpc_cancel_reason reason)
{
	call_unlink(call);
	call->cancelled = true;
	if (call->cancel_cb)
		call->cancel_cb(call, call->cancel_arg, reason);
	free(call);
}

/* ---- requests and their reassembly ---- */

void dcerpc__reasm_reset(struct conn *c)
{
	dcerpc_buf_free(&c->reasm);
	c->reasm_active = false;
	if (c->reasm_charged) {
		dcerpc_budget_release(&c->srv->budget, &c->hold, c->reasm_charged);
		c->reasm_charged = 0;
	}
}

void dcerpc__calls_cancel_all(struct conn *c)
{
	while (c->calls)
		call_cancel(c->calls, DCERPC_CANCEL_CLOSED);
	dcerpc__reasm_reset(c);
}

static void dispatch_call(struct conn *c, const struct pres_ctx *pc, struct dcerpc_sec *sec,
                          uint32_t call_id, uint16_t opnum, const uint8_t *stub, size_t stub_len)
{
	dcerpc_server_t *srv = c->srv;
	/* verification trailer: strip it, check its PCONTEXT ([MS-RPCE] 2.2.2.13) */
	size_t vt_off;
	struct dcerpc_pdu_syntax abs = {pc->iface->syntax.uuid, pc->proposed_version};
	/* PCONTEXT must name the context as the client proposed it, with its
	 * transfer syntax (Samba dcesrv_check_verification_trailer: fault 5 if not) */
	const struct dcerpc_pdu_syntax *xfer =
	    pc->ndr_flags & NDR_FLAG_NDR64 ? &dcerpc_ndr64_syntax : &dcerpc_ndr32_syntax;
	int rc = dcerpc_vt_find(stub, stub_len, &abs, xfer, &vt_off);
	if (rc == 0) {
		if (wd_log_get_level() >= WD_LOG_DEBUG)
			wd_log(WD_LOG_DEBUG, "dcerpc.vt.stripped", "call_id=%u bytes=%zu", call_id,
			       stub_len - vt_off);
		stub_len = vt_off;
	} else if (rc == WD_EPROTO) {
		wd_log(WD_LOG_NOTICE, "dcerpc.vt.mismatch", "remote=%s call_id=%u",
		       c->peer.remote_addr, call_id);
		dcerpc__send_fault(c, call_id, pc->id, DCERPC_FAULT_ACCESS_DENIED,
		                   DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	/* The call sees the identity of the context it came on. It shares the
	 * connection's peer when that is the same and final (the bind's
	 * context, once complete, is the only one that changes it). */
	const struct auth_session *as =
	    dcerpc__sec_session(sec) ? dcerpc__sec_session(sec) : c->peer.auth;
	bool own = as != c->peer.auth || (c->sec_bind && !c->sec_bind->done);
	struct dcerpc_call *call =
	    calloc(1, sizeof(*call) + (own ? sizeof(struct dcerpc_peer) : 0));
	if (!call) {
		dcerpc__send_fault(c, call_id, pc->id, DCERPC_FAULT_REMOTE_NO_MEMORY,
		                   DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	call->conn = c;
	call->call_id = call_id;
	call->context_id = pc->id;
	call->opnum = opnum;
	call->iface = pc->iface;
	call->ndr_flags = pc->ndr_flags;
	/* each call carries its security context: the identity and level its
	 * handler sees are that context's ([MS-RPCE] 3.3.1.5.2) */
	call->sec = sec;
	call->peer = &c->peer;
	if (own) {
		call->own_peer[0] = c->peer;
		call->own_peer[0].auth = as;
		call->peer = call->own_peer;
	}
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->n_calls++;
	srv->stats.calls_pending++;
	srv->stats.calls_total++;
	call->started_ns = uv_hrtime();
	pc->iface->dispatch(pc->iface->ctx, call, opnum, stub, stub_len);
}

/* The largest reassembled request stub this peer may send now. */
static size_t request_cap(const struct conn *c)
{
	return dcerpc__conn_trusted(c) ? c->srv->limits.max_request
	                               : c->srv->limits.max_request_unauth;
}

/* [MS-RPCE] 3.3.3.5.4 leaves the bound to the server; Samba faults 5 and disconnects. */
static void request_too_large(struct conn *c, uint32_t call_id, uint16_t ctx)
{
	dcerpc_server_t *srv = c->srv;
	uint64_t suppressed;
	srv->stats.requests_too_large++;
	metrics_refused(METRICS_REFUSED_LIMITS);
	if (dcerpc__log_allow(&srv->log_large, uv_now(srv->loop), &suppressed))
		wd_log(WD_LOG_NOTICE, "dcerpc.request.too_large",
		       "remote=%s call_id=%u limit=%zu authenticated=%s suppressed=%llu",
		       c->peer.remote_addr, call_id, request_cap(c),
		       dcerpc__conn_trusted(c) ? "yes" : "no", (unsigned long long)suppressed);
	dcerpc__fault_disconnect(c, call_id, ctx, DCERPC_FAULT_ACCESS_DENIED, 0);
}

enum req_step {
	REQ_GO,      /* go on with this fragment */
	REQ_STOP,    /* answered (or dropped): nothing more to do */
	REQ_DISCARD, /* answered with a fault: drop the rest of this call */
};

/*
 * Where a fragment belongs. Fault flags follow Samba's
 * dcesrv_process_ncacn_packet (validated against Windows by its raw protocol
 * tests): framing errors on requests are faulted WITHOUT did_not_execute,
 * then the connection is closed.
 */
static enum req_step request_framing(struct conn *c, const struct dcerpc_request *req, bool first,
                                     bool last)
{
	uint32_t call_id = req->hdr.call_id;
	if (first) {
		c->discard_active = false;
		if (c->reasm_active) {
			/* a new call while another is half-sent ([MS-RPCE] 3.3.1.5.8):
			 * proto_error; the half-sent call's first fragment again
			 * with its context but another security context:
			 * sec_pkg_error (Samba's dcesrv_process_ncacn_packet;
			 * test_ntlmssp_multi_auth_first1_firstSame2) */
			bool same = call_id == c->reasm_call_id;
			uint32_t st = same && req->context_id == c->reasm_ctx &&
			                      dcerpc__auth_other_sec(c, req, c->sec_reasm)
			                  ? DCERPC_FAULT_SEC_PKG_ERROR
			                  : DCERPC_FAULT_PROTO_ERROR;
			if (c->conc_mpx)
				/* the half-sent call's context if it is the same call */
				dcerpc__fault_disconnect(c, call_id, same ? c->reasm_ctx : 0, st,
				                         0);
			else
				dcerpc__fault_disconnect(c, c->reasm_call_id, c->reasm_ctx, st, 0);
			return REQ_STOP;
		}
		if (req->hdr.pfc_flags & DCERPC_PFC_PENDING_CANCEL) {
			/* Samba: a first fragment already cancelled */
			dcerpc__fault_disconnect(c, call_id, 0, DCERPC_FAULT_NO_CALL_ACTIVE,
			                         DCERPC_PFC_DID_NOT_EXECUTE);
			return REQ_STOP;
		}
		return REQ_GO;
	}
	if (c->discard_active && c->discard_call_id == call_id) {
		if (last)
			c->discard_active = false;
		return REQ_STOP;
	}
	/* context_id and opnum of later fragments are ignored (Samba, Windows) */
	if (c->reasm_active && c->reasm_call_id == call_id)
		return REQ_GO;
	if (c->reasm_active && !c->conc_mpx) {
		/* Samba: fault the call that is half-sent */
		dcerpc__fault_disconnect(c, c->reasm_call_id, c->reasm_ctx,
		                         DCERPC_FAULT_PROTO_ERROR, 0);
		return REQ_STOP;
	}
	/* a later fragment of no call: proto_error; with CONC_MPX and no call
	 * half-sent, unk_if on an unknown context, else with the fragment's
	 * context (Samba raw tests _test_generic_auth_middle) */
	if (c->conc_mpx && !c->reasm_active && !dcerpc__ctx_find(c, req->context_id)) {
		dcerpc__send_fault(c, call_id, 0, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
		return REQ_DISCARD;
	}
	if (c->conc_mpx && !c->reasm_active && !dcerpc__auth_trailer_matches(c, req)) {
		/* a trailer naming no context of ours, or with another type or level */
		dcerpc__fault_disconnect(c, call_id, req->context_id, DCERPC_FAULT_ACCESS_DENIED,
		                         0);
		return REQ_STOP;
	}
	dcerpc__fault_disconnect(c, call_id, c->conc_mpx && !c->reasm_active ? req->context_id : 0,
	                         DCERPC_FAULT_PROTO_ERROR, 0);
	return REQ_STOP;
}

/* The fragment's signature or seal (server_bind.c); *stub_len without the auth pad. */
static enum req_step request_verify(struct conn *c, uint8_t *buf, struct dcerpc_request *req,
                                    size_t *stub_len)
{
	bool disconnect;
	uint32_t st = dcerpc__auth_request(c, buf, req, stub_len, &disconnect);
	if (!st)
		return REQ_GO;
	/* a later fragment's fault names its call's context, not the fragment's */
	bool cont = !(req->hdr.pfc_flags & DCERPC_PFC_FIRST) && c->reasm_active &&
	            c->reasm_call_id == req->hdr.call_id;
	uint16_t ctx_id = cont ? c->reasm_ctx : req->context_id;
	if (disconnect) {
		/* Samba: auth pull failures carry no DID_NOT_EXECUTE, except
		 * a request while the auth legs are unfinished, which is
		 * refused before its presentation context is looked at
		 * (dcesrv_process_ncacn_packet; test_spnego_unfinished_request) */
		bool unfinished = st == DCERPC_FAULT_PROTO_ERROR && !cont;
		dcerpc__fault_disconnect(c, req->hdr.call_id, unfinished ? 0 : ctx_id, st,
		                         unfinished ? DCERPC_PFC_DID_NOT_EXECUTE : 0);
		return REQ_STOP;
	}
	dcerpc__send_fault(c, req->hdr.call_id, 0, st, DCERPC_PFC_DID_NOT_EXECUTE);
	return REQ_DISCARD;
}

/* The checks on a call's first fragment: context, concurrency, level, opnum, size. */
static enum req_step request_admit(struct conn *c, const struct dcerpc_request *req,
                                   size_t stub_len, bool last, struct pres_ctx **pcp)
{
	uint32_t call_id = req->hdr.call_id;
	struct pres_ctx *pc = dcerpc__ctx_find(c, req->context_id);
	if (!pc) {
		/* unknown context: nca_s_unk_if, context 0, keep the connection [RAWPROTO] */
		dcerpc__send_fault(c, call_id, 0, DCERPC_FAULT_UNK_IF, DCERPC_PFC_DID_NOT_EXECUTE);
		return REQ_DISCARD;
	}
	if (!c->conc_mpx && c->n_calls > 0) {
		/* Samba: a second call while one is pending needs CONC_MPX */
		dcerpc__fault_disconnect(c, call_id, 0, DCERPC_FAULT_PROTO_ERROR, 0);
		return REQ_STOP;
	}
	uint32_t fault = 0;
	if (c->n_calls >= c->srv->limits.max_pending_calls)
		fault = DCERPC_FAULT_CANT_PERFORM;
	else if (dcerpc__sec_level(c->sec_req) < pc->iface->min_auth_level)
		fault = DCERPC_FAULT_ACCESS_DENIED;
	else if (req->opnum >= pc->iface->num_ops)
		fault = DCERPC_FAULT_OP_RNG_ERROR;
	if (fault) {
		metrics_refused(fault == DCERPC_FAULT_ACCESS_DENIED ? METRICS_REFUSED_LEVEL
		                                                    : METRICS_REFUSED_LIMITS);
		dcerpc__send_fault(c, call_id, req->context_id, fault, DCERPC_PFC_DID_NOT_EXECUTE);
		return REQ_DISCARD;
	}
	if (stub_len > request_cap(c) || (!last && req->alloc_hint > request_cap(c))) {
		request_too_large(c, call_id, req->context_id);
		return REQ_STOP;
	}
	*pcp = pc;
	return REQ_GO;
}

/* Add a fragment's stub to the reassembly; dispatch the call on its last. */
static void request_append(struct conn *c, const struct dcerpc_request *req, size_t stub_len,
                           bool last)
{
	dcerpc_server_t *srv = c->srv;
	uint32_t call_id = req->hdr.call_id;
	/*
	 * [MS-RPCE] 3.3.3.5.4: bound the reassembled size (Samba: fault 5 +
	 * disconnect); below full auth the bound is max_request_unauth, so an
	 * anonymous peer cannot pin max_request per connection.
	 */
	if (stub_len > request_cap(c) - c->reasm.len) {
		dcerpc__reasm_reset(c);
		request_too_large(c, call_id, c->reasm_ctx);
		return;
	}
	size_t cap_before = c->reasm.cap;
	if (dcerpc_buf_reserve(&c->reasm, stub_len) < 0) {
		dcerpc__reasm_reset(c);
		dcerpc__fault_disconnect(c, call_id, req->context_id, DCERPC_FAULT_REMOTE_NO_MEMORY,
		                         DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	if (c->reasm.cap > cap_before &&
	    dcerpc__conn_charge(c, &c->reasm_charged, c->reasm.cap - cap_before) < 0)
		return; /* the budget is full and this peer holds the oldest bytes: cut */
	if (stub_len) {
		memcpy(c->reasm.data + c->reasm.len, req->stub, stub_len);
		c->reasm.len += stub_len;
	}
	if (!last)
		return;
	struct pres_ctx *pc = dcerpc__ctx_find(c, c->reasm_ctx);
	struct dcerpc_buf stub = c->reasm;
	size_t charged = c->reasm_charged;
	c->reasm.data = NULL;
	c->reasm.len = c->reasm.cap = 0;
	c->reasm_active = false;
	c->reasm_charged = 0;
	if (pc)
		dispatch_call(c, pc, c->sec_reasm, call_id, c->reasm_opnum, stub.data, stub.len);
	dcerpc_buf_free(&stub);
	/* dispatch may have closed c: conn_teardown then released everything */
	if (!c->closing)
		dcerpc_budget_release(&srv->budget, &c->hold, charged);
}

void dcerpc__handle_request(struct conn *c, uint8_t *buf, size_t len)
{
	struct dcerpc_request req;
	if (dcerpc_request_pull(buf, len, &req) < 0) {
		dcerpc__fault_disconnect(c, dcerpc__raw_call_id(buf, len), 0,
		                         DCERPC_FAULT_PROTO_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	if (!c->bound) {
		dcerpc__fault_disconnect(c, req.hdr.call_id, 0, DCERPC_FAULT_PROTO_ERROR,
		                         DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	bool first = (req.hdr.pfc_flags & DCERPC_PFC_FIRST) != 0;
	bool last = (req.hdr.pfc_flags & DCERPC_PFC_LAST) != 0;
	size_t stub_len = 0;
	enum req_step st = request_framing(c, &req, first, last);
	if (st == REQ_GO)
		st = request_verify(c, buf, &req, &stub_len);
	if (st == REQ_GO && first) {
		struct pres_ctx *pc = NULL;
		st = request_admit(c, &req, stub_len, last, &pc);
		if (st == REQ_GO && last) {
			/* the common case: one fragment, dispatch from the fragment buffer */
			dispatch_call(c, pc, c->sec_req, req.hdr.call_id, req.opnum, req.stub,
			              stub_len);
			return;
		}
		if (st == REQ_GO) {
			c->reasm_active = true;
			c->reasm_call_id = req.hdr.call_id;
			c->reasm_ctx = req.context_id;
			c->reasm_opnum = req.opnum;
			c->sec_reasm = c->sec_req;
			c->reasm.len = 0;
			c->reasm_started = uv_now(c->srv->loop);
		}
	}
	if (st == REQ_GO) {
		request_append(c, &req, stub_len, last);
	} else if (st == REQ_DISCARD && !last) {
		c->discard_active = true;
		c->discard_call_id = req.hdr.call_id;
	}
}

void dcerpc__handle_cancel(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_simple s;
	if (dcerpc_simple_pull(buf, len, &s) < 0) {
		dcerpc__conn_close(c);
		return;
	}
	uint32_t id = s.hdr.call_id;
	if (c->reasm_active && c->reasm_call_id == id) {
		/* still waiting for fragments: ignored, as Windows does (Samba) */
		return;
	}
	for (struct dcerpc_call *call = c->calls; call; call = call->next) {
		if (call->call_id != id)
			continue;
		if (s.hdr.ptype == DCERPC_PKT_ORPHANED) {
			if (call->cancel_cb)
				call_cancel(call, DCERPC_CANCEL_ORPHANED);
			else
				call->orphaned = true;
		} else if (call->cancel_cb) {
			uint16_t ctx = call->context_id;
			call_cancel(call, DCERPC_CANCEL_CO_CANCEL);
			if (!c->closing)
				dcerpc__send_fault(c, id, ctx, DCERPC_FAULT_CANCEL, 0);
		}
		/* co_cancel without a cancel callback: the call runs on (Samba) */
		return;
	}
}
