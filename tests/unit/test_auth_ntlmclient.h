/*
 * test_auth_ntlmclient.h - a minimal NTLMSSP *client* for the unit tests
 * ([MS-NLMP] 3.1.5): NEGOTIATE, AUTHENTICATE with NTLMv2, KEY_EXCH and MIC,
 * and the client side of session security. It shares the hash primitives
 * with the server (so it is not an independent implementation: the MS-NLMP
 * 4.2 vectors and the real clients in tests/integration are the oracles),
 * but it builds and parses the messages on its own.
 */
#ifndef TEST_AUTH_NTLMCLIENT_H
#define TEST_AUTH_NTLMCLIENT_H

#include <stdlib.h>
#include <string.h>

#include "../../src/auth/auth_int.h"

struct tclient {
	const char *user, *domain, *password;
	uint32_t neg_flags;   /* what NEGOTIATE asks for */
	bool short_negotiate; /* 32-byte form (impacket) */
	bool send_mic;        /* MsvAvFlags 0x2 + MIC */
	bool ntlmv1;          /* send a 24-byte NT response */
	bool corrupt_mic;
	uint8_t neg[64];
	size_t neg_len;
	uint32_t flags; /* from CHALLENGE */
	uint8_t esk[16];
	uint8_t sign_c2s[16], sign_s2c[16], seal_c2s[16], seal_s2c[16];
	struct auth_rc4 *rc4_c2s, *rc4_s2c;
	uint32_t seq_c2s, seq_s2c;
};

static inline void tc_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff, p[1] = v >> 8;
}
static inline void tc_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}
static inline uint32_t tc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void tc_init(struct tclient *c, const char *user, const char *domain,
                           const char *password)
{
	memset(c, 0, sizeof(*c));
	c->user = user;
	c->domain = domain;
	c->password = password;
	/* rpcclient [seal]: 0x62088235 ([notes 2.4]) */
	c->neg_flags = 0x62088235;
	c->send_mic = true;
}

static inline void tc_negotiate(struct tclient *c, const uint8_t **out, size_t *len)
{
	memset(c->neg, 0, sizeof(c->neg));
	memcpy(c->neg, "NTLMSSP", 8);
	tc_put32(c->neg + 8, 1);
	tc_put32(c->neg + 12, c->neg_flags & (c->short_negotiate ? ~0x02000000u : ~0u));
	tc_put32(c->neg + 20, 32);
	tc_put32(c->neg + 28, 32);
	if (c->short_negotiate) {
		c->neg_len = 32;
	} else {
		c->neg[32] = 6, c->neg[33] = 1, tc_put16(c->neg + 34, 7601), c->neg[39] = 15;
		c->neg_len = 40;
	}
	*out = c->neg;
	*len = c->neg_len;
}

static inline int tc_u16(const char *s, bool upper, uint8_t *out, size_t cap)
{
	return auth_utf8_to_utf16le(s, strlen(s), upper, out, cap);
}

/* Builds AUTHENTICATE from CHALLENGE; *out malloc'd. */
static inline int tc_authenticate(struct tclient *c, const uint8_t *chal, size_t chal_len,
                                  uint8_t **out, size_t *out_len)
{
	uint8_t nthash[16], rk[16], proof[16], sbk[16], enc[16], blob[1024], *m;
	uint8_t ud[512], uu[512], ws[32];
	size_t bl = 0, ti_len, ti_off, nt_len, off;
	int udl, uul, wsl;

	if (chal_len < 48 || memcmp(chal, "NTLMSSP", 8) || tc_get32(chal + 8) != 2)
		return -1;
	c->flags = tc_get32(chal + 20);
	ti_len = chal[40] | chal[41] << 8;
	ti_off = tc_get32(chal + 44);
	if (ti_off + ti_len > chal_len)
		return -1;
	auth_passdb_nthash(c->password, nthash);
	ntlmssp_ntowfv2(nthash, c->user, c->domain, rk);

	/* NTLMv2_CLIENT_CHALLENGE ([MS-NLMP] 2.2.2.7) */
	memset(blob, 0, sizeof(blob));
	blob[0] = 1, blob[1] = 1;
	/* timestamp: copy the server's MsvAvTimestamp if any */
	for (size_t p = ti_off; p + 4 <= ti_off + ti_len;) {
		uint16_t id = chal[p] | chal[p + 1] << 8, l = chal[p + 2] | chal[p + 3] << 8;
		if (id == 7 && l == 8)
			memcpy(blob + 8, chal + p + 4, 8);
		if (id == 0)
			break;
		p += 4 + l;
	}
	memset(blob + 16, 0xaa, 8); /* client challenge */
	bl = 28;
	/* AV pairs: the server's minus EOL, then MsvAvFlags, then EOL */
	{
		size_t p = ti_off;
		while (p + 4 <= ti_off + ti_len) {
			uint16_t id = chal[p] | chal[p + 1] << 8,
			         l = chal[p + 2] | chal[p + 3] << 8;
			if (id == 0)
				break;
			memcpy(blob + bl, chal + p, 4 + l);
			bl += 4 + l;
			p += 4 + l;
		}
	}
	if (c->send_mic) {
		tc_put16(blob + bl, 6);
		tc_put16(blob + bl + 2, 4);
		tc_put32(blob + bl + 4, 2);
		bl += 8;
	}
	bl += 4; /* EOL */
	bl += 4; /* trailing zero */
	auth_hmac_md5(rk, 16, chal + 24, 8, blob, bl, NULL, 0, proof);
	auth_hmac_md5(rk, 16, proof, 16, NULL, 0, NULL, 0, sbk);
	nt_len = c->ntlmv1 ? 24 : 16 + bl;

	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		memset(c->esk, 0x55, 16);
		memcpy(enc, c->esk, 16);
		auth_rc4k(sbk, 16, enc, 16);
	} else {
		memcpy(c->esk, sbk, 16);
	}
	udl = tc_u16(c->domain, false, ud, sizeof(ud));
	uul = tc_u16(c->user, false, uu, sizeof(uu));
	wsl = tc_u16("CLIENTBOX", false, ws, sizeof(ws));
	*out_len = 88 + 24 + nt_len + (size_t)udl + (size_t)uul + (size_t)wsl + 16;
	m = calloc(1, *out_len);
	memcpy(m, "NTLMSSP", 8);
	tc_put32(m + 8, 3);
	off = 88;
#define FIELD(at, ptr, len)                                                                        \
	do {                                                                                       \
		tc_put16(m + (at), (uint16_t)(len));                                               \
		tc_put16(m + (at) + 2, (uint16_t)(len));                                           \
		tc_put32(m + (at) + 4, (uint32_t)off);                                             \
		memcpy(m + off, (ptr), (len));                                                     \
		off += (len);                                                                      \
	} while (0)
	{
		uint8_t lm[24];
		memset(lm, 0, sizeof(lm));
		FIELD(12, lm, 24);
	}
	if (c->ntlmv1) {
		FIELD(20, proof, 16); /* garbage of the v1 size */
		memcpy(m + off, "12345678", 8);
		tc_put16(m + 20, 24), tc_put16(m + 22, 24);
		off += 8;
	} else {
		tc_put16(m + 20, (uint16_t)nt_len);
		tc_put16(m + 22, (uint16_t)nt_len);
		tc_put32(m + 24, (uint32_t)off);
		memcpy(m + off, proof, 16);
		memcpy(m + off + 16, blob, bl);
		off += nt_len;
	}
	FIELD(28, ud, (size_t)udl);
	FIELD(36, uu, (size_t)uul);
	FIELD(44, ws, (size_t)wsl);
	FIELD(52, enc, 16);
#undef FIELD
	tc_put32(m + 60, c->flags);
	m[64] = 6, m[65] = 1, tc_put16(m + 66, 7601), m[71] = 15;
	*out_len = off;
	if (c->send_mic) {
		size_t tot = c->neg_len + chal_len + off;
		uint8_t *all = malloc(tot), mic[16];
		memcpy(all, c->neg, c->neg_len);
		memcpy(all + c->neg_len, chal, chal_len);
		memcpy(all + c->neg_len + chal_len, m, off);
		auth_hmac_md5(c->esk, 16, all, tot, NULL, 0, NULL, 0, mic);
		free(all);
		if (c->corrupt_mic)
			mic[3] ^= 1;
		memcpy(m + 72, mic, 16);
	}
	*out = m;
	ntlmssp_signkey(c->esk, true, c->sign_c2s);
	ntlmssp_signkey(c->esk, false, c->sign_s2c);
	ntlmssp_sealkey(c->esk, c->flags, true, c->seal_c2s);
	ntlmssp_sealkey(c->esk, c->flags, false, c->seal_s2c);
	auth_rc4_free(c->rc4_c2s);
	auth_rc4_free(c->rc4_s2c);
	auth_rc4_new(c->seal_c2s, 16, &c->rc4_c2s);
	auth_rc4_new(c->seal_s2c, 16, &c->rc4_s2c);
	c->seq_c2s = c->seq_s2c = 0;
	return 0;
}

static inline void tc_reset_rc4(struct tclient *c)
{
	auth_rc4_free(c->rc4_c2s);
	auth_rc4_free(c->rc4_s2c);
	auth_rc4_new(c->seal_c2s, 16, &c->rc4_c2s);
	auth_rc4_new(c->seal_s2c, 16, &c->rc4_s2c);
}

/* Client-side sign (c2s). seal: encrypt [enc_off, +enc_len) after the MAC. */
static inline void tc_protect(struct tclient *c, uint8_t *msg, size_t len, bool seal,
                              size_t enc_off, size_t enc_len, uint8_t sig[16])
{
	uint8_t sq[4], h[16];

	tc_put32(sq, c->seq_c2s);
	auth_hmac_md5(c->sign_c2s, 16, sq, 4, msg, len, NULL, 0, h);
	if (seal)
		auth_rc4_crypt(c->rc4_c2s, msg + enc_off, enc_len);
	tc_put32(sig, 1);
	memcpy(sig + 4, h, 8);
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(c->rc4_c2s, sig + 4, 8);
	tc_put32(sig + 12, c->seq_c2s);
	c->seq_c2s++;
}

/* Client-side verify (s2c); returns 0 when good. */
static inline int tc_verify(struct tclient *c, uint8_t *msg, size_t len, bool seal, size_t enc_off,
                            size_t enc_len, const uint8_t sig[16])
{
	uint8_t sq[4], h[16], got[8];

	if (seal)
		auth_rc4_crypt(c->rc4_s2c, msg + enc_off, enc_len);
	tc_put32(sq, c->seq_s2c);
	auth_hmac_md5(c->sign_s2c, 16, sq, 4, msg, len, NULL, 0, h);
	memcpy(got, sig + 4, 8);
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(c->rc4_s2c, got, 8);
	if (tc_get32(sig) != 1 || memcmp(h, got, 8) || tc_get32(sig + 12) != c->seq_s2c)
		return -1;
	c->seq_s2c++;
	return 0;
}

static inline void tc_free(struct tclient *c)
{
	auth_rc4_free(c->rc4_c2s);
	auth_rc4_free(c->rc4_s2c);
	c->rc4_c2s = c->rc4_s2c = NULL;
}

#endif
