/*
 * spnego_der.c - the small, bounded DER subset SPNEGO needs ([RFC 4178] 4.2,
 * [MS-SPNG] 2.2): InitialContextToken with NegTokenInit, NegTokenResp.
 * Pure: no I/O, no state. Only definite lengths up to 4 bytes, nesting is
 * fixed by the grammar (no recursion), every length is checked against the
 * enclosing one before anything is read.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "auth_int.h"

/* 1.3.6.1.5.5.2 */
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
const struct spnego_oid spnego_oid_krb5 = {9,
                                           {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}};
const struct spnego_oid spnego_oid_mskrb5 = {
    9, {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}};
const struct spnego_oid spnego_oid_ntlmssp = {
    10, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}};

bool spnego_oid_eq(const struct spnego_oid *a, const struct spnego_oid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

struct der {
	const uint8_t *p;
	size_t len;
};

/* Read one TLV with the expected tag; *val gets the contents, d advances. */
static int der_get(struct der *d, uint8_t tag, struct der *val)
{
	size_t l, hl = 2;

	if (d->len < 2)
		return WD_EPROTO;
	if (d->p[0] != tag)
		return WD_EPROTO;
	l = d->p[1];
	if (l & 0x80) {
		size_t n = l & 0x7f;
		if (n == 0 || n > 4 || d->len < 2 + n)
			return WD_EPROTO; /* indefinite or absurd length */
		l = 0;
		for (size_t i = 0; i < n; i++)
			l = (l << 8) | d->p[2 + i];
		hl += n;
	}
	if (l > d->len - hl)
		return WD_EPROTO;
	val->p = d->p + hl;
	val->len = l;
	d->p += hl + l;
	d->len -= hl + l;
	return 0;
}

static bool der_peek(const struct der *d, uint8_t tag)
{
	return d->len > 0 && d->p[0] == tag;
}

static int der_oid(const struct der *v, struct spnego_oid *o)
{
	if (v->len == 0 || v->len > SPNEGO_MAX_OID)
		return WD_EPROTO;
	o->len = (uint8_t)v->len;
	memcpy(o->b, v->p, v->len);
	return 0;
}

int spnego_parse_init(const uint8_t *buf, size_t len, struct spnego_init *out)
{
	struct der d = {buf, len}, app, oid, ctx0, seq, f, ml, m;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > SPNEGO_MAX_TOKEN)
		return WD_ERANGE;
	/* [APPLICATION 0] { thisMech OID, [0] NegTokenInit } ([RFC 2743] 3.1) */
	if ((rc = der_get(&d, 0x60, &app)) || d.len != 0)
		return WD_EPROTO;
	if ((rc = der_get(&app, 0x06, &oid)) || oid.len != sizeof(oid_spnego) ||
	    memcmp(oid.p, oid_spnego, sizeof(oid_spnego)) != 0)
		return WD_EPROTO;
	if ((rc = der_get(&app, 0xa0, &ctx0)) || app.len != 0)
		return WD_EPROTO;
	if ((rc = der_get(&ctx0, 0x30, &seq)) || ctx0.len != 0)
		return WD_EPROTO;
	/* mechTypes [0] MechTypeList: required by [RFC 4178] */
	if ((rc = der_get(&seq, 0xa0, &f)))
		return WD_EPROTO;
	out->mechlist = f.p;
	if ((rc = der_get(&f, 0x30, &ml)) || f.len != 0)
		return WD_EPROTO;
	out->mechlist_len = (size_t)(ml.p + ml.len - out->mechlist);
	while (ml.len) {
		if (der_get(&ml, 0x06, &m))
			return WD_EPROTO;
		if (out->n_mechs == SPNEGO_MAX_MECHS)
			continue; /* keep the first 16, still walk the rest */
		if (der_oid(&m, &out->mechs[out->n_mechs]))
			return WD_EPROTO;
		out->n_mechs++;
	}
	if (out->n_mechs == 0)
		return WD_EPROTO;
	if (der_peek(&seq, 0xa1) && der_get(&seq, 0xa1, &f)) /* reqFlags: ignored */
		return WD_EPROTO;
	if (der_peek(&seq, 0xa2)) {
		struct der tok;
		if (der_get(&seq, 0xa2, &f) || der_get(&f, 0x04, &tok) || f.len)
			return WD_EPROTO;
		out->token = tok.p;
		out->token_len = tok.len;
	}
	if (der_peek(&seq, 0xa3)) {
		struct der mic;
		/* clients send OCTET STRING; a GeneralString here would be the
		 * [MS-SPNG] negHints of a server token: refuse */
		if (der_get(&seq, 0xa3, &f) || der_get(&f, 0x04, &mic) || f.len)
			return WD_EPROTO;
		out->mic = mic.p;
		out->mic_len = mic.len;
	}
	if (seq.len != 0)
		return WD_EPROTO;
	return 0;
}

int spnego_parse_resp(const uint8_t *buf, size_t len, struct spnego_resp *out)
{
	struct der d = {buf, len}, ctx1, seq, f, v;

	memset(out, 0, sizeof(*out));
	out->state = SPNEGO_NO_STATE;
	if (len > SPNEGO_MAX_TOKEN)
		return WD_ERANGE;
	if (der_get(&d, 0xa1, &ctx1) || d.len != 0)
		return WD_EPROTO;
	if (der_get(&ctx1, 0x30, &seq) || ctx1.len != 0)
		return WD_EPROTO;
	if (der_peek(&seq, 0xa0)) {
		if (der_get(&seq, 0xa0, &f) || der_get(&f, 0x0a, &v) || f.len || v.len != 1 ||
		    v.p[0] > 3)
			return WD_EPROTO;
		out->state = v.p[0];
	}
	if (der_peek(&seq, 0xa1)) {
		if (der_get(&seq, 0xa1, &f) || der_get(&f, 0x06, &v) || f.len ||
		    der_oid(&v, &out->mech))
			return WD_EPROTO;
		out->has_mech = true;
	}
	if (der_peek(&seq, 0xa2)) {
		if (der_get(&seq, 0xa2, &f) || der_get(&f, 0x04, &v) || f.len)
			return WD_EPROTO;
		out->token = v.p;
		out->token_len = v.len;
	}
	if (der_peek(&seq, 0xa3)) {
		if (der_get(&seq, 0xa3, &f) || der_get(&f, 0x04, &v) || f.len)
			return WD_EPROTO;
		out->mic = v.p;
		out->mic_len = v.len;
	}
	if (seq.len != 0)
		return WD_EPROTO;
	return 0;
}

/* ---- builders -------------------------------------------------------- */

static size_t len_size(size_t l)
{
	return l < 0x80 ? 1 : l < 0x100 ? 2 : l < 0x10000 ? 3 : l < 0x1000000 ? 4 : 5;
}

static size_t tlv_size(size_t l)
{
	return 1 + len_size(l) + l;
}

/* Write a tag + length header; returns bytes written. */
static size_t put_hdr(uint8_t *p, uint8_t tag, size_t l)
{
	size_t n = len_size(l);

	p[0] = tag;
	if (n == 1) {
		p[1] = (uint8_t)l;
	} else {
		p[1] = (uint8_t)(0x80 | (n - 1));
		for (size_t i = 0; i < n - 1; i++)
			p[2 + i] = (uint8_t)(l >> (8 * (n - 2 - i)));
	}
	return 1 + n;
}

static size_t mechlist_size(const struct spnego_oid *mechs, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += tlv_size(mechs[i].len);
	return c;
}

static size_t put_mechlist(uint8_t *p, const struct spnego_oid *mechs, size_t n)
{
	size_t o = put_hdr(p, 0x30, mechlist_size(mechs, n));

	for (size_t i = 0; i < n; i++) {
		o += put_hdr(p + o, 0x06, mechs[i].len);
		memcpy(p + o, mechs[i].b, mechs[i].len);
		o += mechs[i].len;
	}
	return o;
}

int spnego_build_mechlist(const struct spnego_oid *mechs, size_t n, uint8_t **out, size_t *out_len)
{
	size_t l = tlv_size(mechlist_size(mechs, n));
	uint8_t *p = malloc(l);

	if (!p)
		return WD_ENOMEM;
	put_mechlist(p, mechs, n);
	*out = p;
	*out_len = l;
	return 0;
}

int spnego_build_init(const struct spnego_oid *mechs, size_t n, const uint8_t *token,
                      size_t token_len, const uint8_t *mic, size_t mic_len, uint8_t **out,
                      size_t *out_len)
{
	size_t ml = tlv_size(mechlist_size(mechs, n));
	size_t seq = tlv_size(ml);
	size_t app, total, o = 0;
	uint8_t *p;

	if (n == 0 || n > SPNEGO_MAX_MECHS || token_len > SPNEGO_MAX_TOKEN ||
	    mic_len > SPNEGO_MAX_TOKEN)
		return WD_EINVAL;
	if (token)
		seq += tlv_size(tlv_size(token_len));
	if (mic)
		seq += tlv_size(tlv_size(mic_len));
	app = tlv_size(sizeof(oid_spnego)) + tlv_size(tlv_size(seq));
	total = tlv_size(app);
	p = malloc(total);
	if (!p)
		return WD_ENOMEM;
	o += put_hdr(p + o, 0x60, app);
	o += put_hdr(p + o, 0x06, sizeof(oid_spnego));
	memcpy(p + o, oid_spnego, sizeof(oid_spnego));
	o += sizeof(oid_spnego);
	o += put_hdr(p + o, 0xa0, tlv_size(seq));
	o += put_hdr(p + o, 0x30, seq);
	o += put_hdr(p + o, 0xa0, ml);
	o += put_mechlist(p + o, mechs, n);
	if (token) {
		o += put_hdr(p + o, 0xa2, tlv_size(token_len));
		o += put_hdr(p + o, 0x04, token_len);
		memcpy(p + o, token, token_len);
		o += token_len;
	}
	if (mic) {
		o += put_hdr(p + o, 0xa3, tlv_size(mic_len));
		o += put_hdr(p + o, 0x04, mic_len);
		memcpy(p + o, mic, mic_len);
		o += mic_len;
	}
	*out = p;
	*out_len = o;
	return 0;
}

int spnego_build_resp(const struct spnego_resp *r, uint8_t **out, size_t *out_len)
{
	size_t seq = 0, total, o = 0;
	uint8_t *p;

	if (r->token_len > SPNEGO_MAX_TOKEN || r->mic_len > SPNEGO_MAX_TOKEN ||
	    (r->has_mech && (r->mech.len == 0 || r->mech.len > SPNEGO_MAX_OID)))
		return WD_EINVAL;
	if (r->state != SPNEGO_NO_STATE)
		seq += tlv_size(tlv_size(1));
	if (r->has_mech)
		seq += tlv_size(tlv_size(r->mech.len));
	if (r->token)
		seq += tlv_size(tlv_size(r->token_len));
	if (r->mic)
		seq += tlv_size(tlv_size(r->mic_len));
	total = tlv_size(tlv_size(seq));
	p = malloc(total);
	if (!p)
		return WD_ENOMEM;
	o += put_hdr(p + o, 0xa1, tlv_size(seq));
	o += put_hdr(p + o, 0x30, seq);
	if (r->state != SPNEGO_NO_STATE) {
		o += put_hdr(p + o, 0xa0, 3);
		o += put_hdr(p + o, 0x0a, 1);
		p[o++] = (uint8_t)r->state;
	}
	if (r->has_mech) {
		o += put_hdr(p + o, 0xa1, tlv_size(r->mech.len));
		o += put_hdr(p + o, 0x06, r->mech.len);
		memcpy(p + o, r->mech.b, r->mech.len);
		o += r->mech.len;
	}
	if (r->token) {
		o += put_hdr(p + o, 0xa2, tlv_size(r->token_len));
		o += put_hdr(p + o, 0x04, r->token_len);
		memcpy(p + o, r->token, r->token_len);
		o += r->token_len;
	}
	if (r->mic) {
		o += put_hdr(p + o, 0xa3, tlv_size(r->mic_len));
		o += put_hdr(p + o, 0x04, r->mic_len);
		memcpy(p + o, r->mic, r->mic_len);
		o += r->mic_len;
	}
	*out = p;
	*out_len = o;
	return 0;
}
