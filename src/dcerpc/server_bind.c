/*
 * server_bind.c - bind, alter_context and auth3 of the DCERPC server:
 * presentation-context negotiation ([MS-RPCE] 3.3.1.5.6, bind-time feature
 * negotiation 3.3.1.5.3), the connection's security contexts (several, by
 * auth_context_id, [MS-RPCE] 3.3.1.5.2) through the legs of their mechanism
 * ([MS-RPCE] 3.3.1.5.2.1), and the verification and protection of request
 * and response PDUs with the context each came on ([MS-RPCE] 3.3.1.5.2.2,
 * 2.2.2.11). Samba's dcesrv_auth.c and the bind part of dcesrv_core.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"
#include "witness/ndr.h"
#include "server_int.h"

/* ---- presentation contexts ---- */

struct pres_ctx *dcerpc__ctx_find(struct conn *c, uint16_t id)
{
	for (unsigned i = 0; i < c->n_ctx; i++)
		if (c->ctxs[i].id == id)
			return &c->ctxs[i];
	return NULL;
}

void dcerpc__send_bind_nak(struct conn *c, uint32_t call_id, uint16_t reason)
{
	struct dcerpc_bind_nak n;
	memset(&n, 0, sizeof(n));
	dcerpc_hdr_init(&n.hdr, DCERPC_PKT_BIND_NAK, DCERPC_PFC_FIRST | DCERPC_PFC_LAST, call_id);
	n.reject_reason = reason;
	n.n_versions = 1;
	n.versions[0][0] = 5;
	n.versions[0][1] = 0;
	struct dcerpc_buf b = {0};
	if (dcerpc_bind_nak_push(&b, &n) == 0)
		dcerpc__conn_send(c, &b);
	else
		dcerpc_buf_free(&b);
	/* Samba disconnects after a bind_nak too */
	dcerpc__conn_close_after_write(c);
}

/* ---- security contexts ([MS-RPCE] 3.3.1.5.2) ---- */

static struct dcerpc_sec *sec_find(struct conn *c, uint32_t auth_context_id)
{
	for (struct dcerpc_sec *s = c->secs; s; s = s->next)
		if (s->auth_context_id == auth_context_id)
			return s;
	return NULL;
}

/* A new security context for trailer t, appended to c's list; NULL: no memory. */
static struct dcerpc_sec *sec_add(struct conn *c, const struct dcerpc_sec_trailer *t)
{
	struct dcerpc_sec *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->auth_type = t->auth_type;
	s->auth_level = t->auth_level;
	s->auth_context_id = t->auth_context_id;
	struct dcerpc_sec **tail = &c->secs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	c->n_secs++;
	return s;
}

/* Unlink and free s (a context whose first leg failed). */
static void sec_drop(struct conn *c, struct dcerpc_sec *s)
{
	for (struct dcerpc_sec **pp = &c->secs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			c->n_secs--;
			break;
		}
	}
	if (c->sec_bind == s)
		c->sec_bind = NULL;
	auth_ctx_free(s->auth);
	free(s);
}

/*
 * The level a context grants against an interface's min auth level. An
 * NTLMSSP anonymous context proves no secret (its keys derive from Z(16)):
 * it grants nothing, as an unauthenticated bind. PACKET counts as
 * INTEGRITY: "For connection oriented DCERPC DCERPC_AUTH_LEVEL_PACKET (4)
 * has the same behavior as DCERPC_AUTH_LEVEL_INTEGRITY (5)" (Samba's
 * auth/gensec/gensec.c, gensec_start_mech_by_authtype); both sign the PDU.
 */
uint8_t dcerpc__sec_level(const struct dcerpc_sec *s)
{
	if (!s || !s->auth || !s->done || auth_ctx_session(s->auth)->anonymous)
		return AUTH_LEVEL_NONE;
	/* the session's level is lower when integrity was asked for and the
	 * mechanism did not negotiate signing (auth_ctx_update) */
	uint8_t level = auth_ctx_session(s->auth)->auth_level;
	if (level > s->auth_level)
		level = s->auth_level;
	return level == AUTH_LEVEL_PACKET ? AUTH_LEVEL_INTEGRITY : level;
}

/* NULL for an anonymous context too: the caller sees an unauthenticated peer. */
const struct auth_session *dcerpc__sec_session(const struct dcerpc_sec *s)
{
	if (!s || !s->auth || !s->done || auth_ctx_session(s->auth)->anonymous)
		return NULL;
	return auth_ctx_session(s->auth);
}

uint8_t dcerpc__auth_level(const struct conn *c)
{
	uint8_t level = AUTH_LEVEL_NONE;
	for (const struct dcerpc_sec *s = c->secs; s; s = s->next)
		if (dcerpc__sec_level(s) > level)
			level = dcerpc__sec_level(s);
	return level;
}

void dcerpc__auth_free(struct conn *c)
{
	while (c->secs) {
		struct dcerpc_sec *s = c->secs;
		c->secs = s->next;
		auth_ctx_free(s->auth);
		free(s);
	}
	c->n_secs = 0;
	c->sec_bind = c->sec_req = c->sec_reasm = NULL;
}

/*
 * Which security context a request fragment came on. The first fragment
 * names it by its trailer's auth_context_id; without a trailer it is the
 * bind's ([MS-RPCE] 3.3.1.5.2: "the security context ... is identified by
 * the auth_context_id"; Samba uses its default auth state). Later fragments
 * of a call are verified with the call's context whatever their trailer
 * says, as Samba does (its raw tests: "context_id, opnum and auth header
 * values are completely ignored").
 */
uint32_t dcerpc__auth_request(struct conn *c, uint8_t *buf, struct dcerpc_request *req,
                              size_t *stub_len, bool *disconnect)
{
	*disconnect = false;
	*stub_len = req->stub_len;
	c->sec_req = NULL;
	bool first = (req->hdr.pfc_flags & DCERPC_PFC_FIRST) != 0;
	bool cont = !first && c->reasm_active && c->reasm_call_id == req->hdr.call_id;
	const struct dcerpc_sec_trailer *t = &req->auth.trailer;
	struct dcerpc_sec *s;
	if (cont)
		s = c->sec_reasm;
	else if (req->auth.present)
		s = sec_find(c, t->auth_context_id);
	else
		s = c->sec_bind;
	if (!s) {
		if (req->auth.present) {
			/* no security context with that auth_context_id */
			*disconnect = true;
			return DCERPC_FAULT_ACCESS_DENIED;
		}
		return 0;
	}
	c->sec_req = s;
	if (!s->done) {
		*disconnect = true;
		return DCERPC_FAULT_PROTO_ERROR; /* Samba: auth started, not finished */
	}
	if (s->invalid) {
		/* finished, then spoilt by its auth3 (Samba's dcesrv_auth_pkt_pull) */
		*disconnect = true;
		return DCERPC_FAULT_ACCESS_DENIED;
	}
	if (s->auth_level == AUTH_LEVEL_CONNECT && !req->auth.present)
		return 0; /* rpcclient and impacket send no trailer ([MS-RPCE] <102>) */
	if (!req->auth.present) {
		/* a later fragment without the trailer of its call: Samba proto_error */
		*disconnect = true;
		return cont ? DCERPC_FAULT_PROTO_ERROR : DCERPC_FAULT_ACCESS_DENIED;
	}
	if (!cont && (t->auth_type != s->auth_type || t->auth_level != s->auth_level)) {
		*disconnect = true;
		return DCERPC_FAULT_ACCESS_DENIED;
	}
	if (s->auth_level == AUTH_LEVEL_CONNECT) {
		/* a trailer at CONNECT is stripped unchecked (Samba raw tests) */
		*stub_len = req->stub_len - t->auth_pad_length;
		return 0;
	}
	size_t pdu_len = req->auth.trailer_off + DCERPC_TRAILER_LEN;
	size_t body_len = req->auth.trailer_off - req->stub_off;
	int rc;
	if (s->auth_level == AUTH_LEVEL_PRIVACY)
		rc = auth_ctx_unseal(s->auth, buf, pdu_len, req->stub_off, body_len,
		                     req->auth.token, req->auth.token_len);
	else
		rc = auth_ctx_check(s->auth, buf, pdu_len, req->stub_off, body_len, req->auth.token,
		                    req->auth.token_len);
	if (rc < 0) {
		/* a bad signature, also one made with another of the connection's
		 * contexts, closes the connection (Samba: fault 0x721) */
		c->srv->stats.auth_failures++, metrics_refused(METRICS_REFUSED_AUTH);
		*disconnect = true;
		return DCERPC_FAULT_SEC_PKG_ERROR;
	}
	/* the pad was checked against the space by the parser */
	*stub_len = req->stub_len - t->auth_pad_length;
	return 0;
}

bool dcerpc__auth_trailer_matches(struct conn *c, const struct dcerpc_request *req)
{
	if (!req->auth.present)
		return true;
	const struct dcerpc_sec_trailer *t = &req->auth.trailer;
	const struct dcerpc_sec *s = sec_find(c, t->auth_context_id);
	return s && s->auth_type == t->auth_type && s->auth_level == t->auth_level;
}

bool dcerpc__auth_other_sec(struct conn *c, const struct dcerpc_request *req,
                            const struct dcerpc_sec *s)
{
	return req->auth.present && sec_find(c, req->auth.trailer.auth_context_id) != s;
}

static bool auth_protects(const struct dcerpc_sec *s)
{
	return s && s->auth && s->auth_level >= AUTH_LEVEL_PACKET;
}

size_t dcerpc__auth_response_overhead(const struct dcerpc_sec *s)
{
	return auth_protects(s) ? DCERPC_TRAILER_LEN + auth_ctx_sig_size(s->auth) : 0;
}

int dcerpc__auth_response_push(struct dcerpc_sec *s, struct dcerpc_buf *b,
                               const struct dcerpc_response *r)
{
	if (!auth_protects(s))
		return dcerpc_response_push(b, r, NULL);
	size_t sig = auth_ctx_sig_size(s->auth);
	struct dcerpc_auth a;
	memset(&a, 0, sizeof(a));
	a.trailer.auth_type = s->auth_type;
	a.trailer.auth_level = s->auth_level;
	a.trailer.auth_context_id = s->auth_context_id;
	a.token_len = sig;
	size_t start = b->len;
	int rc = dcerpc_response_push(b, r, &a);
	if (rc < 0)
		return rc;
	uint8_t *pdu = b->data + start;
	size_t pdu_len = b->len - start - sig;
	size_t body_len = pdu_len - DCERPC_TRAILER_LEN - DCERPC_RESP_HDR_LEN;
	if (s->auth_level == AUTH_LEVEL_PRIVACY)
		rc = auth_ctx_seal(s->auth, pdu, pdu_len, DCERPC_RESP_HDR_LEN, body_len,
		                   pdu + pdu_len, sig);
	else
		rc = auth_ctx_sign(s->auth, pdu, pdu_len, DCERPC_RESP_HDR_LEN, body_len,
		                   pdu + pdu_len, sig);
	/* whatever the mechanism's reason, the reply is failed with sec_pkg_error */
	return rc < 0 ? WD_ESIG : 0;
}

/*
 * Start or continue security context s from a bind/alter/auth3 trailer.
 * Returns 0 (complete), WD_EAGAIN (more legs), or an error.
 */
static int auth_feed(struct conn *c, struct dcerpc_sec *s, const struct dcerpc_auth *a,
                     uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	wd_log_set_client(
	    c->peer.remote_addr); /* a refusal logged by the mechanism names the peer */
	int rc = auth_ctx_update(s->auth, a->token, a->token_len, out, out_len);
	wd_log_set_client(NULL);
	if (rc == 0) {
		s->done = true;
		const struct auth_session *sess = dcerpc__sec_session(s);
		if (sess && s == c->sec_bind)
			c->peer.auth = sess;
	} else if (rc != WD_EAGAIN)
		c->srv->stats.auth_failures++, metrics_refused(METRICS_REFUSED_AUTH);
	return rc;
}

/*
 * Check trailer t of a bind or of an alter that starts a context and start
 * its mechanism in *out. Returns 0, or a bind_nak reason + 1 (the order of
 * checks is Samba's, which its raw tests pin: bad level, then unknown type
 * (8), then CALL level (9)).
 */
static int sec_start(struct conn *c, const struct dcerpc_sec_trailer *t, struct dcerpc_sec **out)
{
	dcerpc_server_t *srv = c->srv;
	*out = NULL;
	if (t->auth_level < AUTH_LEVEL_CONNECT || t->auth_level > AUTH_LEVEL_PRIVACY)
		return DCERPC_NAK_NOT_SPECIFIED + 1;
	if (!srv->auth || !auth_server_offers(srv->auth, t->auth_type))
		return DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED + 1;
	if (t->auth_level == AUTH_LEVEL_CALL)
		return DCERPC_NAK_INVALID_CHECKSUM + 1;
	struct dcerpc_sec *s = sec_add(c, t);
	if (!s)
		return DCERPC_NAK_LOCAL_LIMIT + 1;
	int rc = auth_ctx_start(srv->auth, t->auth_type, t->auth_level, &s->auth);
	if (rc < 0) {
		s->auth = NULL;
		sec_drop(c, s);
		return (rc == WD_ENOTSUP ? DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED
		                         : DCERPC_NAK_INVALID_CHECKSUM) +
		       1;
	}
	/* a context started after header signing was negotiated uses it too */
	if (c->hdr_sign)
		auth_ctx_set_hdr_sign(s->auth, true);
	*out = s;
	return 0;
}

/*
 * Header signing is a property of the connection ([MS-RPCE] 3.3.1.1.2,
 * "Supports Header Signing Flag"; 3.3.1.5.2.2 has the client ask for it
 * with PFC_SUPPORT_HEADER_SIGN on its first authenticated bind or
 * alter_context). Where the spec is silent we do as Samba's
 * dcesrv_auth_negotiate_hdr_signing (dcesrv_auth.c), which its raw tests
 * pin against Windows: the first bind or alter_context with the flag turns
 * it on, also one without auth or one that is a later leg of a context
 * (test_krb5_hdr_sign_delayed1/2), for every security context of the
 * connection, those already there (whose next PDUs are then signed over
 * the header) and those started later; auth3 does not
 * (test_krb5_hdr_sign_delayed3_fail1). We always support it, so the
 * answer to a PDU with the flag carries it.
 */
static void negotiate_hdr_sign(struct conn *c, uint8_t pfc_flags)
{
	if (!(pfc_flags & DCERPC_PFC_HDR_SIGN) || c->hdr_sign)
		return;
	c->hdr_sign = true;
	for (struct dcerpc_sec *s = c->secs; s; s = s->next)
		if (s->auth)
			auth_ctx_set_hdr_sign(s->auth, true);
}

/* ---- bind / alter_context ---- */

/*
 * Accept element e for interface f on c with transfer syntax flags *flags
 * (a context presented again keeps its own). Returns 0 with r filled (an
 * acceptance, or a rejection of e alone), or a bind_nak reason + 1.
 */
static int ctx_accept(struct conn *c, const struct dcerpc_ctx_elem *e, const struct dcerpc_iface *f,
                      bool ndr32, bool ndr64, uint32_t flags, struct dcerpc_ack_result *r)
{
	struct pres_ctx *pc = dcerpc__ctx_find(c, e->context_id);
	if (pc) {
		/* a context presented again keeps its interface and its
		 * transfer syntax: else a protocol error (Samba's
		 * dcesrv_check_or_create_context; Windows too:
		 * test_spnego_change_abstract,
		 * test_no_auth_presentation_ctx_invalid4) */
		if (pc->iface != f)
			return DCERPC_NAK_NOT_SPECIFIED + 1;
		if (pc->ndr_flags != flags) {
			if (!(pc->ndr_flags & NDR_FLAG_NDR64 ? ndr64 : ndr32))
				return DCERPC_NAK_NOT_SPECIFIED + 1;
			flags = pc->ndr_flags;
		}
	} else {
		struct pres_ctx *n = NULL;
		if (c->n_ctx < MAX_CTX_PER_CONN)
			n = realloc(c->ctxs, (c->n_ctx + 1) * sizeof(*n));
		if (!n) {
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_LOCAL_LIMIT;
			return 0;
		}
		c->ctxs = n;
		c->ctxs[c->n_ctx].id = e->context_id;
		c->ctxs[c->n_ctx].iface = f;
		c->ctxs[c->n_ctx].proposed_version = e->abstract.version;
		c->ctxs[c->n_ctx].ndr_flags = flags;
		c->n_ctx++;
	}
	r->result = DCERPC_RESULT_ACCEPT;
	r->transfer = flags & NDR_FLAG_NDR64 ? dcerpc_ndr64_syntax : dcerpc_ndr32_syntax;
	return 0;
}

/*
 * Negotiate presentation contexts ([MS-RPCE] 3.3.1.5.6). Fills
 * results; returns 0, or a bind_nak reason + 1 when the PDU must be refused
 * (an alter_context: a protocol error).
 */
static int negotiate_contexts(struct conn *c, const struct dcerpc_bind *bind, bool is_bind,
                              struct dcerpc_bind_ack *ack)
{
	bool btfn_seen = false;
	bool accepted = false;
	ack->n_results = bind->n_ctx;
	for (unsigned i = 0; i < bind->n_ctx; i++) {
		const struct dcerpc_ctx_elem *e = &bind->ctx[i];
		struct dcerpc_ack_result *r = &ack->results[i];
		memset(r, 0, sizeof(*r));
		uint64_t mask;
		/* BTFN: only the first transfer syntax is looked at (Samba) */
		if (dcerpc_syntax_is_btfn(&e->transfer[0], &mask)) {
			if (!is_bind) {
				r->result = DCERPC_RESULT_PROVIDER_REJECT;
				r->reason = DCERPC_REASON_TRANSFER_NOT_SUPPORTED;
				continue;
			}
			if (btfn_seen)
				return DCERPC_NAK_NOT_SPECIFIED + 1; /* Samba: one BTFN ctx */
			btfn_seen = true;
			/* [MS-RPCE] 3.3.1.5.3: result negotiate_ack, reason = our
			 * bitmask: several security contexts per connection (0x01,
			 * 3.3.1.5.2) and keep the connection on orphan (0x02) */
			r->result = DCERPC_RESULT_NEGOTIATE_ACK;
			r->reason = (uint16_t)(mask & (BTFN_SEC_CTX_MULTIPLEXING |
			                               BTFN_KEEP_CONN_ON_ORPHAN));
			continue;
		}
		const struct dcerpc_iface *f = dcerpc__iface_find(c->srv, &e->abstract);
		if (!f) {
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_ABSTRACT_NOT_SUPPORTED;
			continue;
		}
		/*
		 * "The server SHOULD accept, at most, one of the transfer
		 * syntaxes" ([MS-RPCE] 3.3.1.5.6): NDR64 first where the
		 * interface prefers it (witness, as Samba's rpcd_witness sets
		 * preferred_transfer), else NDR32, else NDR64 (Samba's
		 * dcesrv_check_or_create_context picks the preferred syntax,
		 * then NDR). Samba's raw tests expect NDR32 for mgmt when both
		 * are offered.
		 */
		bool ndr32 = false, ndr64 = false;
		for (unsigned j = 0; j < e->n_transfer; j++) {
			if (dcerpc_syntax_equal(&e->transfer[j], &dcerpc_ndr32_syntax))
				ndr32 = true;
			else if (dcerpc_syntax_equal(&e->transfer[j], &dcerpc_ndr64_syntax))
				ndr64 = true;
		}
		/* Samba accepts one context per bind/alter; later valid ones
		 * get transfer_syntaxes_not_supported [CORE dcesrv_negotiate_contexts] */
		if ((!ndr32 && !ndr64) || accepted) {
			r->result = DCERPC_RESULT_PROVIDER_REJECT;
			r->reason = DCERPC_REASON_TRANSFER_NOT_SUPPORTED;
			continue;
		}
		bool use64 = ndr64 && (f->prefer_ndr64 || !ndr32);
		int rc = ctx_accept(c, e, f, ndr32, ndr64, use64 ? NDR_FLAG_NDR64 : 0, r);
		if (rc)
			return rc;
		accepted = r->result == DCERPC_RESULT_ACCEPT;
	}
	return 0;
}

/* max fragment as Samba: MAX(2048, MIN(xmit, recv)), MIN 5840, & 0xFFF8 (dcesrv_core.c) */
static uint16_t bind_max_frag(const dcerpc_server_t *srv, const struct dcerpc_bind *bind)
{
	unsigned m =
	    bind->max_xmit_frag < bind->max_recv_frag ? bind->max_xmit_frag : bind->max_recv_frag;
	if (m < 2048)
		m = 2048;
	if (m > srv->limits.max_frag)
		m = srv->limits.max_frag;
	return (uint16_t)(m & 0xfff8);
}

/*
 * Start the bind's security context (the connection's default one) and fill
 * *reply with the trailer and first token of the answer (*tok, freed by the
 * caller). Returns 0, or a bind_nak reason + 1.
 */
static int bind_auth(struct conn *c, const struct dcerpc_bind *bind, struct dcerpc_auth *reply,
                     uint8_t **tok)
{
	const struct dcerpc_sec_trailer *t = &bind->auth.trailer;
	struct dcerpc_sec *s;
	if (bind->auth.pad_invalid)
		return DCERPC_NAK_PROTOCOL_VERSION + 1; /* Samba's dcesrv_auth_bind */
	int rc = sec_start(c, t, &s);
	if (rc > 0)
		return rc;
	c->sec_bind = s;
	size_t tok_len = 0;
	rc = auth_feed(c, s, &bind->auth, tok, &tok_len);
	if (rc < 0 && rc != WD_EAGAIN) {
		wd_log(WD_LOG_NOTICE, "dcerpc.bind.auth_failed", "remote=%s auth_type=%u err=%s",
		       c->peer.remote_addr, t->auth_type, wd_strerror(rc));
		sec_drop(c, s);
		return DCERPC_NAK_INVALID_CHECKSUM + 1;
	}
	memset(reply, 0, sizeof(*reply));
	reply->trailer = *t;
	reply->trailer.auth_pad_length = 0;
	reply->token = *tok;
	reply->token_len = tok_len;
	return 0;
}

/* Send the bind_ack and make c bound, in group g. */
static int bind_ack_send(struct conn *c, const struct dcerpc_bind *bind,
                         struct dcerpc_bind_ack *ack, struct assoc_group *g,
                         const struct dcerpc_auth *reply)
{
	uint16_t m = bind_max_frag(c->srv, bind);
	/* [MS-RPCE] 3.3.1.5.8: concurrent multiplexing; we support it */
	c->conc_mpx = (bind->hdr.pfc_flags & DCERPC_PFC_CONC_MPX) != 0;
	uint8_t pfc = DCERPC_PFC_FIRST | DCERPC_PFC_LAST |
	              (bind->hdr.pfc_flags & (DCERPC_PFC_HDR_SIGN | DCERPC_PFC_CONC_MPX));
	dcerpc_hdr_init(&ack->hdr, DCERPC_PKT_BIND_ACK, pfc, bind->hdr.call_id);
	ack->max_xmit_frag = m;
	ack->max_recv_frag = m;
	ack->assoc_group_id = g->id;
	char port[8];
	snprintf(port, sizeof(port), "%u", c->peer.local_port);
	ack->sec_addr = port;
	ack->sec_addr_len = (uint16_t)(strlen(port) + 1);
	struct dcerpc_buf b = {0};
	int rc = dcerpc_bind_ack_push(&b, ack, reply);
	if (rc < 0) {
		dcerpc_buf_free(&b);
		return rc;
	}
	c->max_xmit = m;
	c->bound = true;
	dcerpc__group_attach(c, g);
	dcerpc__conn_send(c, &b);
	return 0;
}

void dcerpc__handle_bind(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_bind *bind = malloc(sizeof(*bind));
	struct dcerpc_bind_ack *ack = malloc(sizeof(*ack));
	uint8_t *tok = NULL;
	struct assoc_group *g = NULL;
	struct dcerpc_auth reply_auth;
	uint16_t nak = DCERPC_NAK_NOT_SPECIFIED;
	if (!bind || !ack) {
		nak = DCERPC_NAK_TEMPORARY_CONGESTION;
		goto refuse;
	}
	if (c->bound)
		goto refuse; /* a second bind on a connection */
	if (dcerpc_bind_pull(buf, len, bind) < 0 || bind->n_ctx == 0) {
		c->srv->stats.protocol_errors++;
		goto refuse;
	}
	memset(ack, 0, offsetof(struct dcerpc_bind_ack, results));
	negotiate_hdr_sign(c, bind->hdr.pfc_flags);
	g = dcerpc__group_for_bind(c, bind->assoc_group_id, &nak);
	if (!g)
		goto refuse;
	int rc = negotiate_contexts(c, bind, true, ack);
	if (rc == 0 && bind->auth.present)
		rc = bind_auth(c, bind, &reply_auth, &tok);
	if (rc > 0) {
		nak = (uint16_t)(rc - 1);
		goto refuse;
	}
	if (bind_ack_send(c, bind, ack, g, bind->auth.present ? &reply_auth : NULL) < 0) {
		nak = DCERPC_NAK_LOCAL_LIMIT;
		goto refuse;
	}
	goto out;
refuse:
	dcerpc__send_bind_nak(c, dcerpc__raw_call_id(buf, len), nak);
out:
	dcerpc__group_release_unused(g);
	free(tok);
	free(bind);
	free(ack);
}

/*
 * The security context an alter_context's auth trailer names, started when
 * its auth_context_id is new: a further context on this connection, or the
 * first one on a connection bound without auth ([MS-RPCE] 3.3.1.5.2).
 * Returns 0 or the fault that refuses the leg at once; *later is a fault
 * given only once the presentation contexts were negotiated, so that an
 * invalid context list is a protocol error first ([MS-RPCE] says nothing of
 * the order; Samba's dcesrv_auth_alter and dcesrv_alter, which the raw
 * tests validated against Windows pin it: test_spnego_change_abstract).
 */
static uint32_t alter_sec_context(struct conn *c, const struct dcerpc_bind *alt,
                                  struct dcerpc_sec **out, uint32_t *later)
{
	const struct dcerpc_sec_trailer *t = &alt->auth.trailer;
	struct dcerpc_sec *s = sec_find(c, t->auth_context_id);

	*out = NULL;
	*later = 0;
	if (!s) {
		/* past the limit: proto_error and disconnect (test_multiple_auth_limit) */
		if (c->n_secs >= DCERPC_MAX_SEC_CTX || alt->auth.pad_invalid)
			return DCERPC_FAULT_PROTO_ERROR;
		if (sec_start(c, t, &s) > 0)
			return DCERPC_FAULT_ACCESS_DENIED;
		*out = s;
		return 0;
	}
	/* a leg may not change the type or the level: the context is spoilt */
	if (t->auth_type != s->auth_type || t->auth_level != s->auth_level)
		s->invalid = true;
	if (s->done)
		return DCERPC_FAULT_ACCESS_DENIED; /* not authenticated again */
	if (alt->auth.pad_invalid)
		return DCERPC_FAULT_PROTO_ERROR;
	if (t->auth_type == AUTH_TYPE_NONE)
		return DCERPC_FAULT_ACCESS_DENIED;
	if (s->invalid)
		*later = t->auth_type != s->auth_type ? DCERPC_FAULT_SEC_PKG_ERROR
		                                      : DCERPC_FAULT_ACCESS_DENIED;
	*out = s;
	return 0;
}

/*
 * Feed the alter_context's token to s and fill *reply with the answer's
 * trailer and token (*tok, freed by the caller; may be empty, [MS-RPCE]
 * 3.3.1.5.2.1). A context's first leg, the last leg of SPNEGO/krb5, or
 * NTLM's third leg by alter (the raw tests allow both). Returns 0 or the
 * fault: sec_pkg_error whatever the mechanism's reason (Samba's
 * dcesrv_alter_done).
 */
static uint32_t alter_feed(struct conn *c, struct dcerpc_sec *s, const struct dcerpc_bind *alt,
                           struct dcerpc_auth *reply, uint8_t **tok)
{
	size_t tok_len = 0;
	int rc = auth_feed(c, s, &alt->auth, tok, &tok_len);
	if (rc < 0 && rc != WD_EAGAIN)
		return DCERPC_FAULT_SEC_PKG_ERROR;
	memset(reply, 0, sizeof(*reply));
	reply->trailer = alt->auth.trailer;
	reply->trailer.auth_pad_length = 0;
	reply->token = *tok;
	reply->token_len = tok_len;
	return 0;
}

/* Send the alter_context_resp (its pfc flags, group and frag sizes are Samba's). */
static int alter_resp_send(struct conn *c, const struct dcerpc_bind *alt,
                           struct dcerpc_bind_ack *ack, const struct dcerpc_auth *reply)
{
	/* alter's assoc_group_id is ignored; the reply echoes ours [RAWTC] */
	/* Samba echoes SUPPORT_HEADER_SIGN on alter_resp too [RAWPROTO alter_pfc_*] */
	dcerpc_hdr_init(&ack->hdr, DCERPC_PKT_ALTER_RESP,
	                DCERPC_PFC_FIRST | DCERPC_PFC_LAST |
	                    (alt->hdr.pfc_flags & DCERPC_PFC_HDR_SIGN),
	                alt->hdr.call_id);
	ack->max_xmit_frag = c->max_xmit;
	ack->max_recv_frag = c->max_xmit;
	ack->assoc_group_id = c->group ? c->group->id : 0;
	ack->sec_addr_len = 0; /* Samba: empty sec_addr on alter_resp */
	struct dcerpc_buf b = {0};
	if (dcerpc_bind_ack_push(&b, ack, reply) < 0) {
		dcerpc_buf_free(&b);
		return WD_ENOMEM;
	}
	dcerpc__conn_send(c, &b);
	return 0;
}

void dcerpc__handle_alter(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_bind *alt = malloc(sizeof(*alt));
	struct dcerpc_bind_ack *ack = malloc(sizeof(*ack));
	struct dcerpc_sec *s = NULL;
	struct dcerpc_auth reply_auth;
	uint8_t *tok = NULL;
	uint32_t fault = 0, later = 0;
	if (!alt || !ack)
		goto nomem;
	if (dcerpc_bind_pull(buf, len, alt) < 0 || !c->bound) {
		dcerpc__fault_disconnect(c, dcerpc__raw_call_id(buf, len), 0,
		                         DCERPC_FAULT_PROTO_ERROR, DCERPC_PFC_DID_NOT_EXECUTE);
		goto out;
	}
	memset(ack, 0, offsetof(struct dcerpc_bind_ack, results));
	negotiate_hdr_sign(c, alt->hdr.pfc_flags);
	if (alt->auth.present && (fault = alter_sec_context(c, alt, &s, &later)) != 0)
		goto refuse;
	if (negotiate_contexts(c, alt, false, ack) > 0) {
		fault = DCERPC_FAULT_PROTO_ERROR;
		goto refuse;
	}
	if ((fault = later) != 0 || (s && (fault = alter_feed(c, s, alt, &reply_auth, &tok))))
		goto refuse;
	if (alter_resp_send(c, alt, ack, s ? &reply_auth : NULL) < 0)
		goto nomem;
	goto out;
refuse:
	if (fault != DCERPC_FAULT_PROTO_ERROR)
		c->srv->stats.auth_failures++, metrics_refused(METRICS_REFUSED_AUTH);
	dcerpc__fault_disconnect(c, alt->hdr.call_id, 0, fault, DCERPC_PFC_DID_NOT_EXECUTE);
	goto out;
nomem:
	dcerpc__fault_disconnect(c, 0, 0, DCERPC_FAULT_REMOTE_NO_MEMORY,
	                         DCERPC_PFC_DID_NOT_EXECUTE);
out:
	free(tok);
	free(alt);
	free(ack);
}

/*
 * The checks of an auth3 before its token is fed, in Samba's order
 * (dcesrv_auth3, dcesrv_auth_prepare_auth3). Returns 0 to feed it, a fault
 * that refuses it, or UINT32_MAX: no answer, the context is spoilt and the
 * next request on it faults ([MS-RPCE] 3.3.1.5.2.1: auth3 is never answered).
 */
static uint32_t auth3_check(struct conn *c, const struct dcerpc_simple *a3, struct dcerpc_sec **out)
{
	const struct dcerpc_sec_trailer *t = &a3->auth.trailer;
	struct dcerpc_sec *s = sec_find(c, t->auth_context_id);

	*out = s;
	if (!s) /* auth3 names no context of this connection (Samba: fault 5) */
		return c->secs ? DCERPC_FAULT_ACCESS_DENIED : DCERPC_FAULT_PROTO_ERROR;
	if (s->done)
		return DCERPC_FAULT_PROTO_ERROR;
	if (s->invalid)
		return UINT32_MAX;
	/* Windows: remote_no_memory for a trailer that does not parse */
	if (a3->auth.pad_invalid)
		return DCERPC_FAULT_REMOTE_NO_MEMORY;
	if (t->auth_type != s->auth_type || t->auth_level != s->auth_level)
		return UINT32_MAX;
	return 0;
}

void dcerpc__handle_auth3(struct conn *c, const uint8_t *buf, size_t len)
{
	struct dcerpc_simple s;
	int rc = dcerpc_simple_pull(buf, len, &s);
	if (rc < 0 || !c->bound || !s.auth.present) {
		dcerpc__fault_disconnect(c, dcerpc__raw_call_id(buf, len), 0,
		                         DCERPC_FAULT_PROTO_ERROR, 0);
		return;
	}
	struct dcerpc_sec *sec;
	uint32_t fault = auth3_check(c, &s, &sec);
	if (fault != 0 && fault != UINT32_MAX) {
		if (sec)
			sec->invalid = true;
		/* Samba's dcesrv_auth3: dcesrv_fault_disconnect, DID_NOT_EXECUTE */
		dcerpc__fault_disconnect(c, s.hdr.call_id, 0, fault, DCERPC_PFC_DID_NOT_EXECUTE);
		return;
	}
	uint8_t *tok = NULL;
	size_t tok_len = 0;
	if (fault == 0)
		rc = auth_feed(c, sec, &s.auth, &tok, &tok_len);
	free(tok);
	/*
	 * An auth3 must finish the context and produce no token: SPNEGO
	 * completed by auth3 still owes its final negTokenResp (Samba's
	 * dcesrv_auth_complete: sec_pkg_error, test_spnego_auth3). The context
	 * is then spoilt; finished, its next request is access_denied, else
	 * proto_error (dcesrv_auth_pkt_pull, dcesrv_process_ncacn_packet).
	 */
	if (fault != 0 || rc != 0 || tok_len != 0) {
		wd_log(WD_LOG_NOTICE, "dcerpc.auth3.failed", "remote=%s err=%s",
		       c->peer.remote_addr,
		       fault ? "context"
		       : rc  ? wd_strerror(rc)
		             : "token");
		sec->invalid = true;
	}
}
