/*
 * auth_crypto.c - the few primitives NTLMSSP needs: MD5, HMAC-MD5 and
 * random bytes on gnutls, MD4 and RC4 of our own, plus the
 * UTF-8 <-> UTF-16LE conversions NTLM is defined over (ndr.h's strict
 * converter plus NTLM's upper-casing).
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/ndr.h"
#include "auth_int.h"

/*
 * MD4 ([RFC 1320]). gnutls does not expose MD4 through its hash API (Samba
 * carries its own for the same reason); it only ever hashes passwords here.
 */
#define MD4_F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define MD4_G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))
#define ROL(x, n)      (((x) << (n)) | ((x) >> (32 - (n))))

static void md4_block(uint32_t st[4], const uint8_t *blk)
{
	uint32_t x[16], a = st[0], b = st[1], c = st[2], d = st[3];
	static const int r1[4] = {3, 7, 11, 19}, r2[4] = {3, 5, 9, 13}, r3[4] = {3, 9, 11, 15};
	static const int o3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

	for (int i = 0; i < 16; i++)
		x[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
		       (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
	for (int i = 0; i < 16; i++) {
		uint32_t t = a + MD4_F(b, c, d) + x[i];
		a = d, d = c, c = b, b = ROL(t, r1[i % 4]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t t = a + MD4_G(b, c, d) + x[(i % 4) * 4 + i / 4] + 0x5a827999u;
		a = d, d = c, c = b, b = ROL(t, r2[i % 4]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t t = a + MD4_H(b, c, d) + x[o3[i]] + 0x6ed9eba1u;
		a = d, d = c, c = b, b = ROL(t, r3[i % 4]);
	}
	st[0] += a, st[1] += b, st[2] += c, st[3] += d;
	wd_memzero(x, sizeof(x));
}

int auth_md4(const void *in, size_t len, uint8_t out[16])
{
	uint32_t st[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
	const uint8_t *p = in;
	uint8_t tail[128];
	size_t rest = len % 64, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i + 64 <= len; i += 64)
		md4_block(st, p + i);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + (len - rest), rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 8 + i] = (uint8_t)(bits >> (8 * i));
	md4_block(st, tail);
	if (tl == 128)
		md4_block(st, tail + 64);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = (uint8_t)(st[i] >> (8 * k));
	wd_memzero(tail, sizeof(tail));
	wd_memzero(st, sizeof(st));
	return 0;
}

int auth_md5(const void *in, size_t len, uint8_t out[16])
{
	return gnutls_hash_fast(GNUTLS_DIG_MD5, in, len, out) == 0 ? 0 : WD_EIO;
}

int auth_hmac_md5(const uint8_t *key, size_t key_len, const void *a, size_t alen, const void *b,
                  size_t blen, const void *c, size_t clen, uint8_t out[16])
{
	gnutls_hmac_hd_t h;

	if (gnutls_hmac_init(&h, GNUTLS_MAC_MD5, key, key_len) != 0)
		return WD_EIO;
	if ((a && alen && gnutls_hmac(h, a, alen) != 0) ||
	    (b && blen && gnutls_hmac(h, b, blen) != 0) ||
	    (c && clen && gnutls_hmac(h, c, clen) != 0)) {
		gnutls_hmac_deinit(h, NULL);
		return WD_EIO;
	}
	gnutls_hmac_deinit(h, out);
	return 0;
}

int auth_random(void *out, size_t len)
{
	return gnutls_rnd(GNUTLS_RND_NONCE, out, len) == 0 ? 0 : WD_EIO;
}

bool auth_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/*
 * RC4 of our own: an NTLMSSP session keeps two continuous RC4 states for as
 * long as its connection lives, and a gnutls cipher handle costs about 570
 * bytes of heap (measured with heaptrack: the API handle plus nettle's
 * context) against the 258 bytes of the state itself. RC4 is only ever
 * used here because [MS-NLMP] 3.4 prescribes it; timing is irrelevant to it
 * (no secret-dependent branches anyway). Checked against RFC 6229's vectors
 * and against gnutls in test_ntlmssp.
 */
void auth_rc4_init(struct auth_rc4 *h, const uint8_t *key, size_t key_len)
{
	uint8_t j = 0, t;

	for (int i = 0; i < 256; i++)
		h->s[i] = (uint8_t)i;
	for (int i = 0; i < 256; i++) {
		j = (uint8_t)(j + h->s[i] + key[(size_t)i % key_len]);
		t = h->s[i], h->s[i] = h->s[j], h->s[j] = t;
	}
	h->i = h->j = 0;
}

int auth_rc4_new(const uint8_t *key, size_t key_len, struct auth_rc4 **out)
{
	struct auth_rc4 *r;

	/* RC4 with a 40- or 56-bit key is legal in NTLM ([MS-NLMP] 3.4.5.3) */
	if (!key || key_len == 0 || key_len > 256)
		return WD_EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return WD_ENOMEM;
	auth_rc4_init(r, key, key_len);
	*out = r;
	return 0;
}

void auth_rc4_crypt(struct auth_rc4 *h, uint8_t *buf, size_t len)
{
	uint8_t i = h->i, j = h->j, t;

	for (size_t k = 0; k < len; k++) {
		i = (uint8_t)(i + 1);
		j = (uint8_t)(j + h->s[i]);
		t = h->s[i], h->s[i] = h->s[j], h->s[j] = t;
		buf[k] ^= h->s[(uint8_t)(h->s[i] + h->s[j])];
	}
	h->i = i, h->j = j;
}

void auth_rc4_wipe(struct auth_rc4 *h)
{
	wd_memzero(h, sizeof(*h));
}

void auth_rc4_free(struct auth_rc4 *h)
{
	if (!h)
		return;
	auth_rc4_wipe(h);
	free(h);
}

int auth_rc4k(const uint8_t *key, size_t key_len, uint8_t *buf, size_t len)
{
	struct auth_rc4 h;

	if (!key || key_len == 0 || key_len > 256)
		return WD_EINVAL;
	auth_rc4_init(&h, key, key_len);
	auth_rc4_crypt(&h, buf, len);
	auth_rc4_wipe(&h);
	return 0;
}

static uint32_t upper_cp(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	/* Latin-1 small letters (not U+00F7 division, not U+00DF sharp s) */
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	return c;
}

int auth_utf8_to_utf16le(const char *in, size_t in_len, bool upper, uint8_t *out, size_t out_cap)
{
	/* the strict converter of the NDR layer: one decoder for the tree */
	int n = wd_utf8_to_utf16le_buf(in, in_len, out, out_cap);
	if (n <= 0 || !upper || !out)
		return n;
	for (int i = 0; i < n; i += 2) {
		/* surrogate halves are above U+00FF and stay as they are */
		uint16_t c = (uint16_t)upper_cp((uint32_t)(out[i] | out[i + 1] << 8));
		out[i] = (uint8_t)c;
		out[i + 1] = (uint8_t)(c >> 8);
	}
	return n;
}

int auth_utf16le_to_utf8(const uint8_t *in, size_t in_len, char *out, size_t out_cap)
{
	if (in_len % 2 || out_cap == 0)
		return WD_EINVAL;
	return wd_utf16le_to_utf8_buf(in, in_len / 2, out, out_cap);
}
