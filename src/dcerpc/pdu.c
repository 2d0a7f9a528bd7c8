/*
 * pdu.c - pure parse/build of connection-oriented DCERPC PDUs.
 * [C706] 12.6, [MS-RPCE] 2.2.2; layouts as Samba's librpc/idl/dcerpc.idl.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "pdu.h"

/* NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 ([MS-RPCE] 2.2.5.1) */
const struct dcerpc_pdu_syntax dcerpc_ndr32_syntax = {
    {0x8a885d04, 0x1ceb, 0x11c9, {0x9f, 0xe8}, {0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}}, 2};
/* NDR64 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 */
const struct dcerpc_pdu_syntax dcerpc_ndr64_syntax = {
    {0x71710533, 0xbeba, 0x4937, {0x83, 0x19}, {0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36}}, 1};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void guid_get(const uint8_t *p, struct wd_guid *g)
{
	g->time_low = get32(p);
	g->time_mid = get16(p + 4);
	g->time_hi_and_version = get16(p + 6);
	memcpy(g->clock_seq, p + 8, 2);
	memcpy(g->node, p + 10, 6);
}

static void guid_put(uint8_t *p, const struct wd_guid *g)
{
	put32(p, g->time_low);
	put16(p + 4, g->time_mid);
	put16(p + 6, g->time_hi_and_version);
	memcpy(p + 8, g->clock_seq, 2);
	memcpy(p + 10, g->node, 6);
}

static void syntax_get(const uint8_t *p, struct dcerpc_pdu_syntax *s)
{
	guid_get(p, &s->uuid);
	s->version = get32(p + 16);
}

static void syntax_put(uint8_t *p, const struct dcerpc_pdu_syntax *s)
{
	guid_put(p, &s->uuid);
	put32(p + 16, s->version);
}

bool dcerpc_syntax_equal(const struct dcerpc_pdu_syntax *a, const struct dcerpc_pdu_syntax *b)
{
	return a->version == b->version && a->uuid.time_low == b->uuid.time_low &&
	       a->uuid.time_mid == b->uuid.time_mid &&
	       a->uuid.time_hi_and_version == b->uuid.time_hi_and_version &&
	       memcmp(a->uuid.clock_seq, b->uuid.clock_seq, 2) == 0 &&
	       memcmp(a->uuid.node, b->uuid.node, 6) == 0;
}

bool dcerpc_syntax_is_btfn(const struct dcerpc_pdu_syntax *s, uint64_t *bitmask)
{
	/* 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx, version 1.0 ([MS-RPCE] 2.2.2.14) */
	if (s->uuid.time_low != 0x6cb71c2c || s->uuid.time_mid != 0x9812 ||
	    s->uuid.time_hi_and_version != 0x4540)
		return false;
	if (bitmask) {
		uint64_t m = 0;
		/* the 8 trailing bytes are the bitmask, little-endian */
		m = (uint64_t)s->uuid.clock_seq[0] | ((uint64_t)s->uuid.clock_seq[1] << 8);
		for (int i = 0; i < 6; i++)
			m |= (uint64_t)s->uuid.node[i] << (16 + 8 * i);
		*bitmask = m;
	}
	return true;
}

void dcerpc_buf_free(struct dcerpc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int dcerpc_buf_reserve(struct dcerpc_buf *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len)
		return WD_ERANGE;
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *n = realloc(b->data, cap);
	if (!n)
		return WD_ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

/* ---- common header ---- */

void dcerpc_hdr_init(struct dcerpc_hdr *h, uint8_t ptype, uint8_t pfc, uint32_t call_id)
{
	memset(h, 0, sizeof(*h));
	h->rpc_vers = 5;
	h->rpc_vers_minor = 0;
	h->ptype = ptype;
	h->pfc_flags = pfc;
	h->drep[0] = 0x10;
	h->call_id = call_id;
}

int dcerpc_hdr_pull(const uint8_t *buf, size_t len, struct dcerpc_hdr *out)
{
	if (len < DCERPC_HDR_LEN)
		return WD_ESHORT;
	struct dcerpc_hdr h;
	h.rpc_vers = buf[0];
	h.rpc_vers_minor = buf[1];
	h.ptype = buf[2];
	h.pfc_flags = buf[3];
	memcpy(h.drep, buf + 4, 4);
	/* drep[0] & 0x10 = little-endian; we read lengths LE either way */
	h.frag_length = get16(buf + 8);
	h.auth_length = get16(buf + 10);
	h.call_id = get32(buf + 12);
	*out = h;
	/* [MS-RPCE] 3.3.1.5.1: only 5.0 */
	if (h.rpc_vers != 5 || h.rpc_vers_minor != 0)
		return WD_EVERSION;
	/* Samba rejects anything but LE/ASCII/IEEE (librpc/rpc/dcerpc_util.c) */
	if (h.drep[0] != 0x10 || h.drep[1] != 0 || h.drep[2] != 0 || h.drep[3] != 0)
		return WD_EPROTO;
	if (h.frag_length < DCERPC_HDR_LEN)
		return WD_EPROTO;
	if (h.auth_length != 0 &&
	    (size_t)h.auth_length + DCERPC_TRAILER_LEN > (size_t)h.frag_length - DCERPC_HDR_LEN)
		return WD_EPROTO;
	return 0;
}

void dcerpc_hdr_push(uint8_t out[DCERPC_HDR_LEN], const struct dcerpc_hdr *h)
{
	out[0] = h->rpc_vers;
	out[1] = h->rpc_vers_minor;
	out[2] = h->ptype;
	out[3] = h->pfc_flags;
	memcpy(out + 4, h->drep, 4);
	put16(out + 8, h->frag_length);
	put16(out + 10, h->auth_length);
	put32(out + 12, h->call_id);
}

static int hdr_check(const uint8_t *buf, size_t len, uint8_t ptype, struct dcerpc_hdr *h)
{
	int rc = dcerpc_hdr_pull(buf, len, h);
	if (rc < 0)
		return rc;
	if (h->ptype != ptype)
		return WD_EINVAL;
	if (h->frag_length != len)
		return WD_EPROTO;
	return 0;
}

int dcerpc_auth_pull(const uint8_t *buf, size_t len, const struct dcerpc_hdr *h, size_t body_min,
                     bool honour_pad, struct dcerpc_auth *out)
{
	memset(out, 0, sizeof(*out));
	if (h->auth_length == 0)
		return 0;
	size_t need = (size_t)h->auth_length + DCERPC_TRAILER_LEN;
	if (len < need || len - need < body_min)
		return WD_EPROTO;
	size_t off = len - need;
	const uint8_t *t = buf + off;
	out->trailer.auth_type = t[0];
	out->trailer.auth_level = t[1];
	out->trailer.auth_pad_length = t[2];
	out->trailer.auth_reserved = t[3];
	out->trailer.auth_context_id = get32(t + 4);
	out->trailer_off = off;
	out->token = t + DCERPC_TRAILER_LEN;
	out->token_len = h->auth_length;
	out->present = true;
	if (honour_pad) {
		/* Samba: pad <= space between body start and trailer [UTIL 254-330] */
		if (out->trailer.auth_pad_length > off - body_min)
			return WD_EPROTO;
	} else {
		/* the pad is not used, but it may not exceed what would fit
		 * after a 24-byte request header (Samba's
		 * dcerpc_pull_auth_trailer, max_pad_len) */
		size_t fixed = DCERPC_REQ_HDR_LEN + need;
		size_t max_pad = len > fixed ? len - fixed : 0;
		out->pad_invalid = out->trailer.auth_pad_length > max_pad;
		out->trailer.auth_pad_length = 0;
	}
	return 0;
}

static int auth_push(struct dcerpc_buf *b, size_t frag_start, const struct dcerpc_auth *auth)
{
	if (!auth)
		return 0;
	if (auth->token_len > 0xffff - DCERPC_TRAILER_LEN)
		return WD_ERANGE;
	int rc = dcerpc_buf_reserve(b, DCERPC_TRAILER_LEN + auth->token_len);
	if (rc < 0)
		return rc;
	uint8_t *t = b->data + b->len;
	t[0] = auth->trailer.auth_type;
	t[1] = auth->trailer.auth_level;
	t[2] = auth->trailer.auth_pad_length;
	t[3] = auth->trailer.auth_reserved;
	put32(t + 4, auth->trailer.auth_context_id);
	if (auth->token_len) {
		if (auth->token)
			memcpy(t + 8, auth->token, auth->token_len);
		else
			memset(t + 8, 0, auth->token_len);
	}
	b->len += DCERPC_TRAILER_LEN + auth->token_len;
	put16(b->data + frag_start + 10, (uint16_t)auth->token_len);
	return 0;
}

/* Start a fragment: writes the header with placeholder lengths. */
static int frag_begin(struct dcerpc_buf *b, const struct dcerpc_hdr *h, uint8_t ptype,
                      size_t body_len, size_t *start)
{
	int rc = dcerpc_buf_reserve(b, DCERPC_HDR_LEN + body_len);
	if (rc < 0)
		return rc;
	struct dcerpc_hdr hh = *h;
	hh.ptype = ptype;
	hh.frag_length = 0;
	hh.auth_length = 0;
	*start = b->len;
	dcerpc_hdr_push(b->data + b->len, &hh);
	b->len += DCERPC_HDR_LEN;
	return 0;
}

static int frag_end(struct dcerpc_buf *b, size_t start)
{
	size_t flen = b->len - start;
	if (flen > 0xffff) {
		b->len = start;
		return WD_ERANGE;
	}
	put16(b->data + start + 8, (uint16_t)flen);
	return 0;
}

/* Append the optional sec_trailer + token, then set frag_length; on error the
 * buffer is cut back to start, as if nothing had been pushed. */
static int frag_finish(struct dcerpc_buf *b, size_t start, const struct dcerpc_auth *auth)
{
	int rc = auth_push(b, start, auth);

	if (rc < 0) {
		b->len = start;
		return rc;
	}
	return frag_end(b, start);
}

/* ---- bind / alter_context ---- */

int dcerpc_bind_pull(const uint8_t *buf, size_t len, struct dcerpc_bind *out)
{
	struct dcerpc_hdr h;
	int rc = dcerpc_hdr_pull(buf, len, &h);
	if (rc < 0)
		return rc;
	if ((h.ptype != DCERPC_PKT_BIND && h.ptype != DCERPC_PKT_ALTER) || h.frag_length != len)
		return WD_EPROTO;
	memset(out, 0, offsetof(struct dcerpc_bind, ctx));
	out->hdr = h;
	size_t end = len - (h.auth_length ? h.auth_length + DCERPC_TRAILER_LEN : 0);
	if (end < 28)
		return WD_EPROTO;
	out->max_xmit_frag = get16(buf + 16);
	out->max_recv_frag = get16(buf + 18);
	out->assoc_group_id = get32(buf + 20);
	out->n_ctx = buf[24];
	if (out->n_ctx > DCERPC_MAX_CTX_ELEMS)
		return WD_ERANGE;
	size_t off = 28;
	for (unsigned i = 0; i < out->n_ctx; i++) {
		struct dcerpc_ctx_elem *e = &out->ctx[i];
		if (end - off < 24)
			return WD_EPROTO;
		e->context_id = get16(buf + off);
		e->n_transfer = buf[off + 2];
		syntax_get(buf + off + 4, &e->abstract);
		off += 24;
		if (e->n_transfer == 0 || e->n_transfer > DCERPC_MAX_XFER_SYNTAX)
			return WD_EPROTO;
		if ((end - off) / 20 < e->n_transfer)
			return WD_EPROTO;
		for (unsigned j = 0; j < e->n_transfer; j++) {
			syntax_get(buf + off, &e->transfer[j]);
			off += 20;
		}
	}
	return dcerpc_auth_pull(buf, len, &h, off, false, &out->auth);
}

int dcerpc_bind_push(struct dcerpc_buf *b, const struct dcerpc_bind *in,
                     const struct dcerpc_auth *auth)
{
	if (in->n_ctx > DCERPC_MAX_CTX_ELEMS)
		return WD_ERANGE;
	size_t body = 12;
	for (unsigned i = 0; i < in->n_ctx; i++) {
		if (in->ctx[i].n_transfer > DCERPC_MAX_XFER_SYNTAX)
			return WD_ERANGE;
		body += 24 + 20u * in->ctx[i].n_transfer;
	}
	size_t start;
	int rc = frag_begin(b, &in->hdr,
	                    in->hdr.ptype == DCERPC_PKT_ALTER ? DCERPC_PKT_ALTER : DCERPC_PKT_BIND,
	                    body, &start);
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	memset(p, 0, body);
	put16(p, in->max_xmit_frag);
	put16(p + 2, in->max_recv_frag);
	put32(p + 4, in->assoc_group_id);
	p[8] = in->n_ctx;
	p += 12;
	for (unsigned i = 0; i < in->n_ctx; i++) {
		const struct dcerpc_ctx_elem *e = &in->ctx[i];
		put16(p, e->context_id);
		p[2] = e->n_transfer;
		syntax_put(p + 4, &e->abstract);
		p += 24;
		for (unsigned j = 0; j < e->n_transfer; j++, p += 20)
			syntax_put(p, &e->transfer[j]);
	}
	b->len += body;
	return frag_finish(b, start, auth);
}

/* ---- bind_ack / alter_context_resp ---- */

int dcerpc_bind_ack_pull(const uint8_t *buf, size_t len, struct dcerpc_bind_ack *out)
{
	struct dcerpc_hdr h;
	int rc = dcerpc_hdr_pull(buf, len, &h);
	if (rc < 0)
		return rc;
	if ((h.ptype != DCERPC_PKT_BIND_ACK && h.ptype != DCERPC_PKT_ALTER_RESP) ||
	    h.frag_length != len)
		return WD_EPROTO;
	memset(out, 0, offsetof(struct dcerpc_bind_ack, results));
	out->hdr = h;
	size_t end = len - (h.auth_length ? h.auth_length + DCERPC_TRAILER_LEN : 0);
	if (end < 26)
		return WD_EPROTO;
	out->max_xmit_frag = get16(buf + 16);
	out->max_recv_frag = get16(buf + 18);
	out->assoc_group_id = get32(buf + 20);
	out->sec_addr_len = get16(buf + 24);
	size_t off = 26;
	if (out->sec_addr_len > end - off)
		return WD_EPROTO;
	if (out->sec_addr_len > 0) {
		if (buf[off + out->sec_addr_len - 1] != 0)
			return WD_EPROTO;
		out->sec_addr = (const char *)buf + off;
	}
	off += out->sec_addr_len;
	off = (off + 3) & ~(size_t)3; /* pad relative to PDU start */
	if (off > end || end - off < 4)
		return WD_EPROTO;
	out->n_results = buf[off];
	off += 4;
	if (out->n_results > DCERPC_MAX_CTX_ELEMS)
		return WD_ERANGE;
	if ((end - off) / 24 < out->n_results)
		return WD_EPROTO;
	for (unsigned i = 0; i < out->n_results; i++, off += 24) {
		out->results[i].result = get16(buf + off);
		out->results[i].reason = get16(buf + off + 2);
		syntax_get(buf + off + 4, &out->results[i].transfer);
	}
	return dcerpc_auth_pull(buf, len, &h, off, false, &out->auth);
}

int dcerpc_bind_ack_push(struct dcerpc_buf *b, const struct dcerpc_bind_ack *in,
                         const struct dcerpc_auth *auth)
{
	if (in->n_results > DCERPC_MAX_CTX_ELEMS)
		return WD_ERANGE;
	size_t alen = in->sec_addr_len;
	if (alen > 1024 || (alen && !in->sec_addr))
		return WD_EINVAL;
	size_t off = 26 + alen;
	size_t pad = (4 - off % 4) % 4;
	size_t body = 10 + alen + pad + 4 + 24u * in->n_results;
	size_t start;
	uint8_t ptype =
	    in->hdr.ptype == DCERPC_PKT_ALTER_RESP ? DCERPC_PKT_ALTER_RESP : DCERPC_PKT_BIND_ACK;
	int rc = frag_begin(b, &in->hdr, ptype, body, &start);
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	memset(p, 0, body);
	put16(p, in->max_xmit_frag);
	put16(p + 2, in->max_recv_frag);
	put32(p + 4, in->assoc_group_id);
	put16(p + 8, (uint16_t)alen);
	if (alen) {
		memcpy(p + 10, in->sec_addr, alen - 1);
		p[10 + alen - 1] = 0;
	}
	p += 10 + alen + pad;
	p[0] = in->n_results;
	p += 4;
	for (unsigned i = 0; i < in->n_results; i++, p += 24) {
		put16(p, in->results[i].result);
		put16(p + 2, in->results[i].reason);
		syntax_put(p + 4, &in->results[i].transfer);
	}
	b->len += body;
	return frag_finish(b, start, auth);
}

/* ---- bind_nak ---- */

int dcerpc_bind_nak_pull(const uint8_t *buf, size_t len, struct dcerpc_bind_nak *out)
{
	struct dcerpc_hdr h;
	int rc = hdr_check(buf, len, DCERPC_PKT_BIND_NAK, &h);
	if (rc < 0)
		return rc == WD_EINVAL ? WD_EPROTO : rc;
	if (len < 18)
		return WD_EPROTO;
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	out->reject_reason = get16(buf + 16);
	if (len >= 19) {
		uint8_t n = buf[18];
		if ((len - 19) / 2 < n)
			return WD_EPROTO;
		out->n_versions = n > 8 ? 8 : n;
		for (unsigned i = 0; i < out->n_versions; i++) {
			out->versions[i][0] = buf[19 + 2 * i];
			out->versions[i][1] = buf[20 + 2 * i];
		}
	}
	return 0;
}

int dcerpc_bind_nak_push(struct dcerpc_buf *b, const struct dcerpc_bind_nak *in)
{
	if (in->n_versions > 8)
		return WD_ERANGE;
	size_t body = 3 + 2u * in->n_versions;
	size_t pad = (4 - (DCERPC_HDR_LEN + body) % 4) % 4; /* Samba: 3 pad bytes for n=1 */
	size_t start;
	int rc = frag_begin(b, &in->hdr, DCERPC_PKT_BIND_NAK, body + pad, &start);
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	memset(p, 0, body + pad);
	put16(p, in->reject_reason);
	p[2] = in->n_versions;
	for (unsigned i = 0; i < in->n_versions; i++) {
		p[3 + 2 * i] = in->versions[i][0];
		p[4 + 2 * i] = in->versions[i][1];
	}
	b->len += body + pad;
	return frag_end(b, start);
}

/* ---- request / response ---- */

int dcerpc_request_pull(const uint8_t *buf, size_t len, struct dcerpc_request *out)
{
	struct dcerpc_hdr h;
	int rc = hdr_check(buf, len, DCERPC_PKT_REQUEST, &h);
	if (rc < 0)
		return rc == WD_EINVAL ? WD_EPROTO : rc;
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	size_t hlen = DCERPC_REQ_HDR_LEN + ((h.pfc_flags & DCERPC_PFC_OBJECT_UUID) ? 16 : 0);
	if (len < hlen)
		return WD_EPROTO;
	out->alloc_hint = get32(buf + 16);
	out->context_id = get16(buf + 20);
	out->opnum = get16(buf + 22);
	if (h.pfc_flags & DCERPC_PFC_OBJECT_UUID) {
		out->has_object = true;
		guid_get(buf + 24, &out->object);
	}
	rc = dcerpc_auth_pull(buf, len, &h, hlen, true, &out->auth);
	if (rc < 0)
		return rc;
	out->stub_off = hlen;
	out->stub = buf + hlen;
	out->stub_len = (out->auth.present ? out->auth.trailer_off : len) - hlen;
	return 0;
}

/* Shared by request and response: header fields then stub, pad, auth. */
static int call_push(struct dcerpc_buf *b, const struct dcerpc_hdr *hdr, uint8_t ptype,
                     const uint8_t fixed[8], const struct wd_guid *object, const uint8_t *stub,
                     size_t stub_len, const struct dcerpc_auth *auth)
{
	size_t hlen = 8 + (object ? 16 : 0);
	size_t pad = auth ? (16 - stub_len % 16) % 16 : 0;
	if (stub_len > 0xffff)
		return WD_ERANGE;
	size_t start;
	int rc = frag_begin(b, hdr, ptype, hlen + stub_len + pad, &start);
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	memcpy(p, fixed, 8);
	if (object)
		guid_put(p + 8, object);
	if (stub_len)
		memcpy(p + hlen, stub, stub_len);
	memset(p + hlen + stub_len, 0, pad);
	b->len += hlen + stub_len + pad;
	if (auth) {
		struct dcerpc_auth a = *auth;
		a.trailer.auth_pad_length = (uint8_t)pad;
		rc = auth_push(b, start, &a);
		if (rc < 0) {
			b->len = start;
			return rc;
		}
	}
	return frag_end(b, start);
}

int dcerpc_request_push(struct dcerpc_buf *b, const struct dcerpc_request *in,
                        const struct dcerpc_auth *auth)
{
	uint8_t fixed[8];
	put32(fixed, in->alloc_hint);
	put16(fixed + 4, in->context_id);
	put16(fixed + 6, in->opnum);
	struct dcerpc_hdr h = in->hdr;
	if (in->has_object)
		h.pfc_flags |= DCERPC_PFC_OBJECT_UUID;
	else
		h.pfc_flags &= (uint8_t)~DCERPC_PFC_OBJECT_UUID;
	return call_push(b, &h, DCERPC_PKT_REQUEST, fixed, in->has_object ? &in->object : NULL,
	                 in->stub, in->stub_len, auth);
}

int dcerpc_response_pull(const uint8_t *buf, size_t len, struct dcerpc_response *out)
{
	struct dcerpc_hdr h;
	int rc = hdr_check(buf, len, DCERPC_PKT_RESPONSE, &h);
	if (rc < 0)
		return rc == WD_EINVAL ? WD_EPROTO : rc;
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	if (len < DCERPC_RESP_HDR_LEN)
		return WD_EPROTO;
	out->alloc_hint = get32(buf + 16);
	out->context_id = get16(buf + 20);
	out->cancel_count = buf[22];
	rc = dcerpc_auth_pull(buf, len, &h, DCERPC_RESP_HDR_LEN, true, &out->auth);
	if (rc < 0)
		return rc;
	out->stub_off = DCERPC_RESP_HDR_LEN;
	out->stub = buf + DCERPC_RESP_HDR_LEN;
	out->stub_len = (out->auth.present ? out->auth.trailer_off : len) - DCERPC_RESP_HDR_LEN;
	return 0;
}

int dcerpc_response_push(struct dcerpc_buf *b, const struct dcerpc_response *in,
                         const struct dcerpc_auth *auth)
{
	uint8_t fixed[8];
	put32(fixed, in->alloc_hint);
	put16(fixed + 4, in->context_id);
	fixed[6] = in->cancel_count;
	fixed[7] = 0;
	return call_push(b, &in->hdr, DCERPC_PKT_RESPONSE, fixed, NULL, in->stub, in->stub_len,
	                 auth);
}

/* ---- fault ---- */

int dcerpc_fault_pull(const uint8_t *buf, size_t len, struct dcerpc_fault *out)
{
	struct dcerpc_hdr h;
	int rc = hdr_check(buf, len, DCERPC_PKT_FAULT, &h);
	if (rc < 0)
		return rc == WD_EINVAL ? WD_EPROTO : rc;
	if (len < 28)
		return WD_EPROTO;
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	out->alloc_hint = get32(buf + 16);
	out->context_id = get16(buf + 20);
	out->cancel_count = buf[22];
	out->flags = buf[23];
	out->status = get32(buf + 24);
	return 0;
}

int dcerpc_fault_push(struct dcerpc_buf *b, const struct dcerpc_fault *in)
{
	size_t start;
	int rc = frag_begin(b, &in->hdr, DCERPC_PKT_FAULT, 16, &start);
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	memset(p, 0, 16);
	put32(p, in->alloc_hint);
	put16(p + 4, in->context_id);
	p[6] = in->cancel_count;
	p[7] = in->flags;
	put32(p + 8, in->status);
	b->len += 16;
	return frag_end(b, start);
}

/* ---- auth3 / shutdown / co_cancel / orphaned ---- */

int dcerpc_simple_pull(const uint8_t *buf, size_t len, struct dcerpc_simple *out)
{
	struct dcerpc_hdr h;
	int rc = dcerpc_hdr_pull(buf, len, &h);
	if (rc < 0)
		return rc;
	if (h.frag_length != len)
		return WD_EPROTO;
	switch (h.ptype) {
	case DCERPC_PKT_AUTH3:
	case DCERPC_PKT_SHUTDOWN:
	case DCERPC_PKT_CO_CANCEL:
	case DCERPC_PKT_ORPHANED:
		break;
	default:
		return WD_EPROTO;
	}
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	/* auth3 has 4 pad bytes before the trailer ([MS-RPCE] 2.2.2.10); the
	 * others carry only optional auth. Samba's own auth3 parse is lenient
	 * about the pad, so only require the trailer to fit after the header. */
	return dcerpc_auth_pull(buf, len, &h, DCERPC_HDR_LEN, false, &out->auth);
}

int dcerpc_simple_push(struct dcerpc_buf *b, const struct dcerpc_simple *in,
                       const struct dcerpc_auth *auth)
{
	size_t body = in->hdr.ptype == DCERPC_PKT_AUTH3 ? 4 : 0;
	size_t start;
	int rc = frag_begin(b, &in->hdr, in->hdr.ptype, body, &start);
	if (rc < 0)
		return rc;
	memset(b->data + b->len, 0, body);
	b->len += body;
	return frag_finish(b, start, auth);
}

/* ---- verification trailer ---- */

static const uint8_t vt_magic[8] = {0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71};

enum {
	VT_CMD_BITMASK_1 = 0x0001,
	VT_CMD_PCONTEXT = 0x0002,
	VT_CMD_HEADER2 = 0x0003,
	VT_CMD_END = 0x4000,
	VT_CMD_MUST_PROCESS = 0x8000,
};

int dcerpc_vt_find(const uint8_t *stub, size_t len, const struct dcerpc_pdu_syntax *abstract,
                   const struct dcerpc_pdu_syntax *transfer, size_t *vt_off)
{
	/* [MS-RPCE] 2.2.2.13: the trailer starts 4-aligned after the stub;
	 * Samba looks in the last 1024 bytes only. */
	if (len < 8 + 4)
		return WD_ENOTFOUND;
	size_t lo = len > 1024 ? ((len - 1024 + 3) & ~(size_t)3) : 0;
	for (size_t off = (len - 12) & ~(size_t)3;; off -= 4) {
		if (memcmp(stub + off, vt_magic, 8) == 0) {
			size_t p = off + 8;
			bool end = false;
			while (!end) {
				if (len - p < 4)
					return WD_EPROTO;
				uint16_t cmd = get16(stub + p);
				uint16_t clen = get16(stub + p + 2);
				p += 4;
				if (clen > len - p)
					return WD_EPROTO;
				end = (cmd & VT_CMD_END) != 0;
				switch (cmd & 0x3fff) {
				case VT_CMD_BITMASK_1:
					if (clen != 4)
						return WD_EPROTO;
					break;
				case VT_CMD_PCONTEXT:
					if (clen != 40)
						return WD_EPROTO;
					if (abstract && transfer) {
						struct dcerpc_pdu_syntax a, t;
						syntax_get(stub + p, &a);
						syntax_get(stub + p + 20, &t);
						if (!dcerpc_syntax_equal(&a, abstract) ||
						    !dcerpc_syntax_equal(&t, transfer))
							return WD_EPROTO;
					}
					break;
				case VT_CMD_HEADER2:
					if (clen != 20)
						return WD_EPROTO;
					break;
				default:
					if (cmd & VT_CMD_MUST_PROCESS)
						return WD_EPROTO;
					break;
				}
				p += clen;
			}
			/* tolerate up to 3 bytes of trailing alignment */
			if (len - p > 3)
				return WD_EPROTO;
			*vt_off = off;
			return 0;
		}
		if (off <= lo)
			break;
	}
	return WD_ENOTFOUND;
}
