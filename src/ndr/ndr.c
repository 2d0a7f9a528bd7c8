/*
 * ndr.c - NDR and NDR64 marshalling primitives ([C706] ch. 14, [MS-RPCE]
 * 2.2.5), little-endian only. See include/witness/ndr.h for the contract.
 *
 * Alignment: the fixed-size primitives (u8..u64, bytes, guid) never align on
 * their own, because the same buffers also build PDU headers and EPM tower
 * octets, which are not NDR-aligned. The NDR-only constructs (pointers,
 * conformant-varying strings) align to 4 first, as [C706] 14.2.2 requires,
 * or to 8 in NDR64 ([MS-RPCE] 2.2.5.3.2, 2.2.5.3.3), where they are 8 bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr.h"

/* Samba's first referent id (librpc/ndr/ndr.c ndr_push_unique_ptr). */
#define NDR_FIRST_REF_ID 0x00020000u
/* A push buffer never grows beyond this (far above any witness PDU). */
#define NDR_PUSH_MAX (64u << 20)

/* ---------------------------------------------------------------- push */

void ndr_push_init_flags(struct ndr_push *p, uint32_t flags)
{
	memset(p, 0, sizeof(*p));
	p->next_ref_id = NDR_FIRST_REF_ID;
	p->flags = flags;
}

void ndr_push_init(struct ndr_push *p)
{
	ndr_push_init_flags(p, 0);
}

void ndr_push_free(struct ndr_push *p)
{
	uint32_t flags = p->flags;
	free(p->data);
	ndr_push_init_flags(p, flags);
}

static bool push_ndr64(const struct ndr_push *p)
{
	return (p->flags & NDR_FLAG_NDR64) != 0;
}

static bool pull_ndr64(const struct ndr_pull *p)
{
	return (p->flags & NDR_FLAG_NDR64) != 0;
}

int ndr_push_finish(const struct ndr_push *p)
{
	return p->err;
}

uint8_t *ndr_push_steal(struct ndr_push *p, size_t *len)
{
	uint8_t *d;

	if (p->err != 0) {
		int err = p->err;
		ndr_push_free(p); /* nothing leaks when callers skip the free */
		p->err = err;
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	d = p->data;
	if (d == NULL) {
		d = malloc(1); /* success is never NULL, even when empty */
		if (d == NULL) {
			p->err = WD_ENOMEM;
			if (len != NULL)
				*len = 0;
			return NULL;
		}
	}
	if (len != NULL)
		*len = p->len;
	p->data = NULL;
	ndr_push_free(p);
	return d;
}

/* Makes room for n more bytes; returns the write position or NULL. */
static uint8_t *push_reserve(struct ndr_push *p, size_t n)
{
	if (p->err != 0)
		return NULL;
	if (n > NDR_PUSH_MAX || p->len > NDR_PUSH_MAX - n) {
		p->err = WD_ERANGE;
		return NULL;
	}
	if (p->len + n > p->cap) {
		size_t ncap = p->cap ? p->cap : 256;
		while (ncap < p->len + n)
			ncap *= 2;
		uint8_t *nd = realloc(p->data, ncap);
		if (nd == NULL) {
			p->err = WD_ENOMEM;
			return NULL;
		}
		p->data = nd;
		p->cap = ncap;
	}
	uint8_t *w = p->data + p->len;
	p->len += n;
	return w;
}

void ndr_push_align(struct ndr_push *p, size_t n)
{
	if (n <= 1)
		return;
	size_t pad = (n - (p->len % n)) % n;
	ndr_push_zero(p, pad);
}

void ndr_push_align_ptr(struct ndr_push *p)
{
	ndr_push_align(p, push_ndr64(p) ? 8 : 4);
}

void ndr_push_trailer_align(struct ndr_push *p, size_t n)
{
	if (push_ndr64(p))
		ndr_push_align(p, n);
}

void ndr_push_u8(struct ndr_push *p, uint8_t v)
{
	uint8_t *w = push_reserve(p, 1);
	if (w != NULL)
		w[0] = v;
}

void ndr_push_u16(struct ndr_push *p, uint16_t v)
{
	uint8_t *w = push_reserve(p, 2);
	if (w != NULL) {
		w[0] = (uint8_t)v;
		w[1] = (uint8_t)(v >> 8);
	}
}

static void put_u32(uint8_t *w, uint32_t v)
{
	w[0] = (uint8_t)v;
	w[1] = (uint8_t)(v >> 8);
	w[2] = (uint8_t)(v >> 16);
	w[3] = (uint8_t)(v >> 24);
}

void ndr_push_u32(struct ndr_push *p, uint32_t v)
{
	uint8_t *w = push_reserve(p, 4);
	if (w != NULL)
		put_u32(w, v);
}

void ndr_push_u64(struct ndr_push *p, uint64_t v)
{
	uint8_t *w = push_reserve(p, 8);
	if (w != NULL) {
		put_u32(w, (uint32_t)v);
		put_u32(w + 4, (uint32_t)(v >> 32));
	}
}

void ndr_push_u3264(struct ndr_push *p, uint32_t v)
{
	ndr_push_align_ptr(p);
	if (push_ndr64(p))
		ndr_push_u64(p, v);
	else
		ndr_push_u32(p, v);
}

void ndr_push_bytes(struct ndr_push *p, const void *b, size_t n)
{
	if (n == 0)
		return;
	if (b == NULL) {
		if (p->err == 0)
			p->err = WD_EINVAL;
		return;
	}
	uint8_t *w = push_reserve(p, n);
	if (w != NULL)
		memcpy(w, b, n);
}

void ndr_push_zero(struct ndr_push *p, size_t n)
{
	if (n == 0)
		return;
	uint8_t *w = push_reserve(p, n);
	if (w != NULL)
		memset(w, 0, n);
}

void ndr_push_guid(struct ndr_push *p, const struct wd_guid *g)
{
	uint8_t b[16];
	wd_guid_to_wire(g, b);
	ndr_push_bytes(p, b, sizeof(b));
}

void ndr_push_policy_handle(struct ndr_push *p, const struct ndr_policy_handle *h)
{
	ndr_push_align(p, 4);
	ndr_push_u32(p, h->handle_type);
	ndr_push_guid(p, &h->uuid);
}

void ndr_push_ptr(struct ndr_push *p, const void *ptr)
{
	if (ptr == NULL) {
		ndr_push_u3264(p, 0);
		return;
	}
	if (p->err == 0 && p->next_ref_id == 0)
		p->next_ref_id = NDR_FIRST_REF_ID; /* struct zeroed by a caller */
	/* NDR64 keeps NDR32's referent id values, widened (Samba's ndr_push_ref_ptr) */
	ndr_push_u3264(p, p->next_ref_id);
	p->next_ref_id += 4;
}

void ndr_push_wstring(struct ndr_push *p, const char *s)
{
	uint8_t *u16 = NULL;
	size_t units = 0;
	int rc;

	if (p->err != 0)
		return;
	if (s == NULL) {
		p->err = WD_EINVAL;
		return;
	}
	rc = wd_utf8_to_utf16le(s, &u16, &units);
	if (rc != 0) {
		p->err = rc;
		return;
	}
	if (units + 1 > NDR_MAX_STRING) {
		free(u16);
		p->err = WD_ERANGE;
		return;
	}
	ndr_push_u3264(p, (uint32_t)(units + 1)); /* max_count */
	ndr_push_u3264(p, 0);                     /* offset */
	ndr_push_u3264(p, (uint32_t)(units + 1)); /* actual_count */
	ndr_push_bytes(p, u16, units * 2);
	ndr_push_u16(p, 0); /* terminating NUL */
	free(u16);
}

void ndr_push_u32_at(struct ndr_push *p, size_t off, uint32_t v)
{
	if (p->err != 0)
		return;
	if (off > p->len || p->len - off < 4) {
		p->err = WD_ERANGE;
		return;
	}
	put_u32(p->data + off, v);
}

/* ---------------------------------------------------------------- pull */

void ndr_pull_init_flags(struct ndr_pull *p, const uint8_t *data, size_t len, uint32_t flags)
{
	p->data = data;
	p->len = data != NULL ? len : 0;
	p->off = 0;
	p->err = 0;
	p->flags = flags;
}

void ndr_pull_init(struct ndr_pull *p, const uint8_t *data, size_t len)
{
	ndr_pull_init_flags(p, data, len, 0);
}

int ndr_pull_finish(const struct ndr_pull *p)
{
	return p->err;
}

size_t ndr_pull_remaining(const struct ndr_pull *p)
{
	return p->err != 0 ? 0 : p->len - p->off;
}

/* Consumes n bytes; returns their position or NULL (sets WD_ESHORT). */
static const uint8_t *pull_take(struct ndr_pull *p, size_t n)
{
	if (p->err != 0)
		return NULL;
	if (n > p->len - p->off) {
		p->err = WD_ESHORT;
		return NULL;
	}
	const uint8_t *r = p->data + p->off;
	p->off += n;
	return r;
}

void ndr_pull_align(struct ndr_pull *p, size_t n)
{
	if (n <= 1)
		return;
	size_t pad = (n - (p->off % n)) % n;
	(void)pull_take(p, pad);
}

void ndr_pull_align_ptr(struct ndr_pull *p)
{
	ndr_pull_align(p, pull_ndr64(p) ? 8 : 4);
}

void ndr_pull_trailer_align(struct ndr_pull *p, size_t n)
{
	if (pull_ndr64(p))
		ndr_pull_align(p, n);
}

void ndr_pull_u8(struct ndr_pull *p, uint8_t *v)
{
	const uint8_t *r = pull_take(p, 1);
	if (r != NULL)
		*v = r[0];
}

void ndr_pull_u16(struct ndr_pull *p, uint16_t *v)
{
	const uint8_t *r = pull_take(p, 2);
	if (r != NULL)
		*v = (uint16_t)(r[0] | r[1] << 8);
}

static uint32_t get_u32(const uint8_t *r)
{
	return (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
}

void ndr_pull_u32(struct ndr_pull *p, uint32_t *v)
{
	const uint8_t *r = pull_take(p, 4);
	if (r != NULL)
		*v = get_u32(r);
}

void ndr_pull_u64(struct ndr_pull *p, uint64_t *v)
{
	const uint8_t *r = pull_take(p, 8);
	if (r != NULL)
		*v = (uint64_t)get_u32(r) | (uint64_t)get_u32(r + 4) << 32;
}

void ndr_pull_u3264(struct ndr_pull *p, uint32_t *v)
{
	ndr_pull_align_ptr(p);
	if (!pull_ndr64(p)) {
		ndr_pull_u32(p, v);
		return;
	}
	uint64_t w = 0;
	ndr_pull_u64(p, &w);
	if (p->err != 0)
		return;
	if (w > UINT32_MAX) {
		p->err = WD_ERANGE;
		return;
	}
	*v = (uint32_t)w;
}

void ndr_pull_bytes(struct ndr_pull *p, void *b, size_t n)
{
	const uint8_t *r = pull_take(p, n);
	if (r != NULL && n > 0)
		memcpy(b, r, n);
}

const uint8_t *ndr_pull_borrow(struct ndr_pull *p, size_t n)
{
	return pull_take(p, n);
}

void ndr_pull_guid(struct ndr_pull *p, struct wd_guid *g)
{
	const uint8_t *r = pull_take(p, 16);
	if (r != NULL)
		wd_guid_from_wire(r, g);
}

void ndr_pull_policy_handle(struct ndr_pull *p, struct ndr_policy_handle *h)
{
	ndr_pull_align(p, 4);
	ndr_pull_u32(p, &h->handle_type);
	ndr_pull_guid(p, &h->uuid);
}

void ndr_pull_ptr(struct ndr_pull *p, bool *present)
{
	uint32_t id = 0;
	/* NDR64: an id above 32 bits is refused (no witness client sends one) */
	ndr_pull_u3264(p, &id);
	if (p->err == 0)
		*present = id != 0;
}

void ndr_pull_wstring(struct ndr_pull *p, char **out)
{
	uint32_t max = 0, offset = 0, actual = 0;
	const uint8_t *units;
	char *s = NULL;

	ndr_pull_u3264(p, &max);
	ndr_pull_u3264(p, &offset);
	ndr_pull_u3264(p, &actual);
	if (p->err != 0)
		return;
	/* Bounded before anything is allocated. */
	if (max > NDR_MAX_STRING || actual > NDR_MAX_STRING) {
		p->err = WD_ERANGE;
		return;
	}
	if (offset != 0 || actual > max || actual == 0) {
		p->err = WD_EPROTO;
		return;
	}
	units = pull_take(p, (size_t)actual * 2);
	if (units == NULL)
		return;
	/* [string] needs the terminating NUL as the last counted unit. */
	if (units[2 * (actual - 1)] != 0 || units[2 * (actual - 1) + 1] != 0) {
		p->err = WD_EPROTO;
		return;
	}
	if (wd_utf16le_to_utf8(units, actual - 1, &s) != 0) {
		p->err = WD_EPROTO; /* embedded NUL, unpaired surrogate, no memory */
		return;
	}
	*out = s;
}

/* --------------------------------------------------------- UTF-8/UTF-16 */

/*
 * Decodes one UTF-8 sequence at s (avail bytes left); returns its length
 * (1-4) and the code point, or 0 for invalid input (overlong forms such as
 * C1 81, surrogates, > U+10FFFF, truncated sequences). This is the tree's
 * one UTF-8 decoder: the auth mechanisms convert through it as well.
 */
static size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

int wd_utf8_to_utf16le_buf(const char *s, size_t len, uint8_t *out, size_t out_cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	if ((s == NULL && len > 0) || len > NDR_PUSH_MAX)
		return s == NULL ? WD_EINVAL : WD_ERANGE;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(u + i, len - i, &cp);
		if (k == 0)
			return WD_EINVAL;
		i += k;
		uint16_t w[2];
		size_t nw = 1;
		if (cp >= 0x10000) {
			w[0] = (uint16_t)(0xd800 | ((cp - 0x10000) >> 10));
			w[1] = (uint16_t)(0xdc00 | ((cp - 0x10000) & 0x3ff));
			nw = 2;
		} else {
			w[0] = (uint16_t)cp;
		}
		if (out && o + 2 * nw > out_cap)
			return WD_ERANGE;
		for (size_t j = 0; j < nw; j++, o += 2)
			if (out) {
				out[o] = (uint8_t)w[j];
				out[o + 1] = (uint8_t)(w[j] >> 8);
			}
	}
	return (int)o;
}

int wd_utf8_to_utf16le(const char *s, uint8_t **out, size_t *units)
{
	if (s == NULL || out == NULL || units == NULL)
		return WD_EINVAL;
	size_t len = strlen(s);
	int n = wd_utf8_to_utf16le_buf(s, len, NULL, 0); /* validate and count */
	if (n < 0)
		return n;
	uint8_t *buf = malloc((size_t)n + 1);
	if (buf == NULL)
		return WD_ENOMEM;
	wd_utf8_to_utf16le_buf(s, len, buf, (size_t)n);
	*out = buf;
	*units = (size_t)n / 2;
	return 0;
}

int wd_utf16le_to_utf8_buf(const uint8_t *in, size_t units, char *out, size_t out_cap)
{
	size_t o = 0;

	if ((in == NULL && units > 0) || units > NDR_PUSH_MAX)
		return in == NULL ? WD_EINVAL : WD_ERANGE;
	for (size_t i = 0; i < units; i++) {
		uint32_t c = (uint32_t)(in[2 * i] | in[2 * i + 1] << 8);
		if (c == 0)
			return WD_EINVAL; /* embedded NUL */
		if (c >= 0xd800 && c <= 0xdbff) {
			if (i + 1 >= units)
				return WD_EINVAL;
			uint32_t d = (uint32_t)(in[2 * i + 2] | in[2 * i + 3] << 8);
			if (d < 0xdc00 || d > 0xdfff)
				return WD_EINVAL;
			c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
			i++;
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			return WD_EINVAL;
		}
		uint8_t t[4];
		size_t n;
		if (c < 0x80) {
			t[0] = (uint8_t)c, n = 1;
		} else if (c < 0x800) {
			t[0] = (uint8_t)(0xc0 | c >> 6), t[1] = (uint8_t)(0x80 | (c & 0x3f)), n = 2;
		} else if (c < 0x10000) {
			t[0] = (uint8_t)(0xe0 | c >> 12),
			t[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			t[2] = (uint8_t)(0x80 | (c & 0x3f)), n = 3;
		} else {
			t[0] = (uint8_t)(0xf0 | c >> 18),
			t[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
			t[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)),
			t[3] = (uint8_t)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (out) {
			if (o + n + 1 > out_cap)
				return WD_ERANGE;
			memcpy(out + o, t, n);
		}
		o += n;
	}
	if (out) {
		if (o + 1 > out_cap)
			return WD_ERANGE;
		out[o] = '\0';
	}
	return (int)o;
}

int wd_utf16le_to_utf8(const uint8_t *in, size_t units, char **out)
{
	if ((in == NULL && units > 0) || out == NULL)
		return WD_EINVAL;
	int n = wd_utf16le_to_utf8_buf(in, units, NULL, 0); /* validate and size */
	if (n < 0)
		return n;
	char *s = malloc((size_t)n + 1);
	if (s == NULL)
		return WD_ENOMEM;
	wd_utf16le_to_utf8_buf(in, units, s, (size_t)n + 1);
	*out = s;
	return 0;
}
