/*
 * ntlm_client.c - the client half of NTLMSSP ([MS-NLMP] 3.1.5, 3.4); the
 * contract is include/witness/ntlm_client.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_int.h"
#include "witness/err.h"
#include "witness/ntlm_client.h"

enum {
	NEG_LEN_LONG = 40,
	NEG_LEN_SHORT = 32,
	AUTH_HDR_LEN = 88, /* with VERSION and MIC ([MS-NLMP] 2.2.1.3) */
	MAX_NAME_U16 = 512,
	MAX_TARGET_INFO = 4096,
	AV_EOL = 0,
	AV_FLAGS = 6,
	AV_TIMESTAMP = 7,
};

struct ntlm_client {
	uint8_t nthash[16];
	uint8_t user16[MAX_NAME_U16], domain16[MAX_NAME_U16], ws16[MAX_NAME_U16];
	int user16_len, domain16_len, ws16_len;
	char *user, *domain; /* UTF-8, for NTOWFv2 */
	uint32_t neg_flags;
	bool short_negotiate, no_mic, fixed_random, ntlmv1, bad_mic;
	uint8_t neg[NEG_LEN_LONG];
	size_t neg_len;
	bool negotiated, authenticated;
	uint32_t flags; /* from CHALLENGE */
	uint8_t esk[16];
	uint8_t sign_c2s[16], sign_s2c[16], seal_c2s[16], seal_s2c[16];
	struct auth_rc4 *rc4_c2s, *rc4_s2c;
	uint32_t seq_c2s, seq_s2c;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static void free_rc4(ntlm_client_t *c)
{
	auth_rc4_free(c->rc4_c2s);
	auth_rc4_free(c->rc4_s2c);
	c->rc4_c2s = c->rc4_s2c = NULL;
}

/* Ownership: *out owned by the caller, freed with ntlm_client_free. */
int ntlm_client_new(const struct ntlm_client_opts *o, ntlm_client_t **out)
{
	ntlm_client_t *c;
	const char *dom = o->domain ? o->domain : "";
	const char *ws = o->workstation ? o->workstation : "WITNESS-CLIENT";

	if (!o->user || !o->password)
		return WD_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return WD_ENOMEM;
	c->user = strdup(o->user);
	c->domain = strdup(dom);
	if (!c->user || !c->domain) {
		ntlm_client_free(c);
		return WD_ENOMEM;
	}
	c->user16_len =
	    auth_utf8_to_utf16le(o->user, strlen(o->user), false, c->user16, sizeof(c->user16));
	c->domain16_len =
	    auth_utf8_to_utf16le(dom, strlen(dom), false, c->domain16, sizeof(c->domain16));
	c->ws16_len = auth_utf8_to_utf16le(ws, strlen(ws), false, c->ws16, sizeof(c->ws16));
	if (c->user16_len < 0 || c->domain16_len < 0 || c->ws16_len < 0 ||
	    auth_passdb_nthash(o->password, c->nthash) != 0) {
		ntlm_client_free(c);
		return WD_EINVAL;
	}
	c->neg_flags = o->flags ? o->flags : NTLM_CLIENT_DEFAULT_FLAGS;
	c->short_negotiate = o->short_negotiate;
	c->no_mic = o->no_mic;
	c->fixed_random = o->fixed_random;
	c->ntlmv1 = o->test_ntlmv1;
	c->bad_mic = o->test_bad_mic;
	*out = c;
	return 0;
}

void ntlm_client_free(ntlm_client_t *c)
{
	if (!c)
		return;
	free_rc4(c);
	free(c->user);
	free(c->domain);
	wipe(c, sizeof(*c));
	free(c);
}

/* [MS-NLMP] 2.2.1.1; *out borrowed from c. */
int ntlm_client_negotiate(ntlm_client_t *c, const uint8_t **out, size_t *out_len)
{
	memset(c->neg, 0, sizeof(c->neg));
	memcpy(c->neg, "NTLMSSP", 8);
	put32(c->neg + 8, 1);
	put32(c->neg + 12,
	      c->neg_flags & (c->short_negotiate ? ~(uint32_t)NTLMSSP_NEGOTIATE_VERSION : ~0u));
	/* empty DomainNameFields and WorkstationFields, offsets past the header */
	put32(c->neg + 20, NEG_LEN_SHORT);
	put32(c->neg + 28, NEG_LEN_SHORT);
	if (c->short_negotiate) {
		c->neg_len = NEG_LEN_SHORT;
	} else {
		/* VERSION ([MS-NLMP] 2.2.2.10): 6.1.7601, NTLMSSP_REVISION_W2K3 */
		c->neg[32] = 6;
		c->neg[33] = 1;
		put16(c->neg + 34, 7601);
		c->neg[39] = 15;
		c->neg_len = NEG_LEN_LONG;
	}
	c->negotiated = true;
	*out = c->neg;
	*out_len = c->neg_len;
	return 0;
}

/* FILETIME now: 100 ns since 1601-01-01. */
static uint64_t filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static void fill_random(ntlm_client_t *c, uint8_t *p, size_t n, uint8_t fixed)
{
	if (c->fixed_random || auth_random(p, n) != 0)
		memset(p, fixed, n);
}

/*
 * Builds the NTLMv2_CLIENT_CHALLENGE ([MS-NLMP] 2.2.2.7) into blob (cap
 * bytes): the server's AV pairs up to its EOL, MsvAvFlags with the MIC bit
 * when a MIC is sent, EOL, and the 4 reserved zero bytes. Returns its length
 * or a negative code.
 */
static int build_blob(ntlm_client_t *c, const uint8_t *ti, size_t ti_len, uint8_t *blob, size_t cap)
{
	size_t bl, p;
	bool have_ts = false;

	if (28 + ti_len + 8 + 8 > cap)
		return WD_ERANGE;
	memset(blob, 0, cap);
	blob[0] = 1; /* RespType */
	blob[1] = 1; /* HiRespType */
	bl = 28;
	for (p = 0; p + 4 <= ti_len;) {
		uint16_t id = get16(ti + p), l = get16(ti + p + 2);

		if (p + 4 + l > ti_len)
			return WD_EPROTO;
		if (id == AV_EOL)
			break;
		if (id == AV_TIMESTAMP && l == 8) {
			memcpy(blob + 8, ti + p + 4, 8);
			have_ts = true;
		}
		if (id != AV_FLAGS) {
			memcpy(blob + bl, ti + p, 4 + (size_t)l);
			bl += 4 + (size_t)l;
		}
		p += 4 + (size_t)l;
	}
	if (!have_ts && !c->fixed_random) {
		uint64_t ft = filetime_now();
		put32(blob + 8, (uint32_t)ft);
		put32(blob + 12, (uint32_t)(ft >> 32));
	}
	fill_random(c, blob + 16, 8, 0xaa); /* ChallengeFromClient */
	if (!c->no_mic) {
		put16(blob + bl, AV_FLAGS);
		put16(blob + bl + 2, 4);
		put32(blob + bl + 4, 2); /* the MIC field is present ([MS-NLMP] 2.2.2.1) */
		bl += 8;
	}
	bl += 4; /* MsvAvEOL */
	bl += 4; /* Reserved */
	return (int)bl;
}

static int start_security(ntlm_client_t *c)
{
	free_rc4(c);
	ntlmssp_signkey(c->esk, true, c->sign_c2s);
	ntlmssp_signkey(c->esk, false, c->sign_s2c);
	ntlmssp_sealkey(c->esk, c->flags, true, c->seal_c2s);
	ntlmssp_sealkey(c->esk, c->flags, false, c->seal_s2c);
	c->seq_c2s = c->seq_s2c = 0;
	if (auth_rc4_new(c->seal_c2s, 16, &c->rc4_c2s) ||
	    auth_rc4_new(c->seal_s2c, 16, &c->rc4_s2c)) {
		free_rc4(c);
		return WD_ENOMEM;
	}
	return 0;
}

/* Ownership: *out malloc'd, the caller frees it. */
int ntlm_client_authenticate(ntlm_client_t *c, const uint8_t *chal, size_t chal_len, uint8_t **out,
                             size_t *out_len)
{
	uint8_t rk[16], proof[16], sbk[16], enc[16], lm[24], *blob = NULL, *m = NULL;
	size_t ti_len, ti_off, nt_len, off, total;
	int bl, rc;

	*out = NULL;
	*out_len = 0;
	if (!c->negotiated)
		return WD_ESTATE;
	/* CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2) up to TargetInfoFields */
	if (chal_len < 48 || memcmp(chal, "NTLMSSP", 8) || get32(chal + 8) != 2)
		return WD_EPROTO;
	ti_len = get16(chal + 40);
	ti_off = get32(chal + 44);
	if (ti_off > chal_len || ti_len > chal_len - ti_off || ti_len > MAX_TARGET_INFO)
		return WD_EPROTO;
	c->flags = get32(chal + 20);

	blob = malloc(28 + ti_len + 16);
	if (!blob)
		return WD_ENOMEM;
	bl = build_blob(c, chal + ti_off, ti_len, blob, 28 + ti_len + 16);
	if (bl < 0) {
		rc = bl;
		goto out;
	}
	/* [MS-NLMP] 3.3.2: NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge | temp),
	 * SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr) */
	ntlmssp_ntowfv2(c->nthash, c->user, c->domain, rk);
	auth_hmac_md5(rk, 16, chal + 24, 8, blob, (size_t)bl, NULL, 0, proof);
	auth_hmac_md5(rk, 16, proof, 16, NULL, 0, NULL, 0, sbk);
	nt_len = c->ntlmv1 ? 24 : 16 + (size_t)bl;

	/* [MS-NLMP] 3.1.5.1.2: with KEY_EXCH the exported key is random and
	 * sent RC4K-encrypted under the key exchange key (= SessionBaseKey for
	 * NTLMv2) */
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		fill_random(c, c->esk, 16, 0x55);
		memcpy(enc, c->esk, 16);
		auth_rc4k(sbk, 16, enc, 16);
	} else {
		memcpy(c->esk, sbk, 16);
		memset(enc, 0, 16);
	}

	total = AUTH_HDR_LEN + 24 + nt_len + (size_t)c->domain16_len + (size_t)c->user16_len +
	        (size_t)c->ws16_len + 16;
	m = calloc(1, total);
	if (!m) {
		rc = WD_ENOMEM;
		goto out;
	}
	memcpy(m, "NTLMSSP", 8);
	put32(m + 8, 3);
	off = AUTH_HDR_LEN;
#define FIELD(at, ptr, len)                                                                        \
	do {                                                                                       \
		put16(m + (at), (uint16_t)(len));                                                  \
		put16(m + (at) + 2, (uint16_t)(len));                                              \
		put32(m + (at) + 4, (uint32_t)off);                                                \
		memcpy(m + off, (ptr), (len));                                                     \
		off += (len);                                                                      \
	} while (0)
	/* LmChallengeResponse: Z(24) when an MsvAvTimestamp is present; we send
	 * it always (Samba's and Windows' clients do the same with NTLMv2) */
	memset(lm, 0, sizeof(lm));
	FIELD(12, lm, 24);
	if (c->ntlmv1) {
		uint8_t v1[24];
		memcpy(v1, proof, 16);
		memcpy(v1 + 16, "12345678", 8);
		FIELD(20, v1, 24);
	} else {
		put16(m + 20, (uint16_t)nt_len);
		put16(m + 22, (uint16_t)nt_len);
		put32(m + 24, (uint32_t)off);
		memcpy(m + off, proof, 16);
		memcpy(m + off + 16, blob, (size_t)bl);
		off += nt_len;
	}
	FIELD(28, c->domain16, (size_t)c->domain16_len);
	FIELD(36, c->user16, (size_t)c->user16_len);
	FIELD(44, c->ws16, (size_t)c->ws16_len);
	FIELD(52, enc, 16);
#undef FIELD
	put32(m + 60, c->flags);
	m[64] = 6;
	m[65] = 1;
	put16(m + 66, 7601);
	m[71] = 15;
	if (!c->no_mic) {
		/* [MS-NLMP] 3.1.5.1.2: MIC = HMAC_MD5(ExportedSessionKey,
		 * NEGOTIATE | CHALLENGE | AUTHENTICATE with a zero MIC) */
		uint8_t mic[16], *all = malloc(c->neg_len + chal_len + off);

		if (!all) {
			rc = WD_ENOMEM;
			goto out;
		}
		memcpy(all, c->neg, c->neg_len);
		memcpy(all + c->neg_len, chal, chal_len);
		memcpy(all + c->neg_len + chal_len, m, off);
		auth_hmac_md5(c->esk, 16, all, c->neg_len + chal_len + off, NULL, 0, NULL, 0, mic);
		free(all);
		if (c->bad_mic)
			mic[3] ^= 1;
		memcpy(m + 72, mic, 16);
	}
	rc = start_security(c);
	if (rc)
		goto out;
	c->authenticated = true;
	*out = m;
	*out_len = off;
	m = NULL;
out:
	wipe(rk, sizeof(rk));
	wipe(sbk, sizeof(sbk));
	wipe(proof, sizeof(proof));
	if (blob) {
		wipe(blob, 28 + ti_len + 16);
		free(blob);
	}
	free(m);
	return rc;
}

uint32_t ntlm_client_flags(const ntlm_client_t *c)
{
	return c->authenticated ? c->flags : 0;
}

int ntlm_client_session_key(const ntlm_client_t *c, uint8_t key[16])
{
	if (!c->authenticated)
		return WD_ESTATE;
	memcpy(key, c->esk, 16);
	return 0;
}

uint32_t ntlm_client_seq(const ntlm_client_t *c)
{
	return c->seq_c2s;
}

/* [MS-NLMP] 3.4.4.2: MAC with ESS = version 1, RC4(HMAC_MD5(SignKey, seq |
 * msg)[0..8]) when KEY_EXCH, seq. */
static void mac(const uint8_t key[16], struct auth_rc4 *rc4, bool key_exch, uint32_t seq,
                const uint8_t *msg, size_t len, uint8_t sig[16])
{
	uint8_t sq[4], h[16];

	put32(sq, seq);
	auth_hmac_md5(key, 16, sq, 4, msg, len, NULL, 0, h);
	put32(sig, 1);
	memcpy(sig + 4, h, 8);
	if (key_exch)
		auth_rc4_crypt(rc4, sig + 4, 8);
	put32(sig + 12, seq);
}

int ntlm_client_sign(ntlm_client_t *c, const uint8_t *msg, size_t len, uint8_t sig[16])
{
	if (!c->authenticated)
		return WD_ESTATE;
	mac(c->sign_c2s, c->rc4_c2s, c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH, c->seq_c2s, msg, len,
	    sig);
	c->seq_c2s++;
	return 0;
}

/* [MS-NLMP] 3.4.3: the MAC is computed over the plaintext, then the data is
 * encrypted with the same RC4 stream, before the checksum is. */
int ntlm_client_seal(ntlm_client_t *c, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                     uint8_t sig[16])
{
	uint8_t sq[4], h[16];

	if (!c->authenticated)
		return WD_ESTATE;
	if (enc_off > len || enc_len > len - enc_off)
		return WD_EINVAL;
	put32(sq, c->seq_c2s);
	auth_hmac_md5(c->sign_c2s, 16, sq, 4, msg, len, NULL, 0, h);
	auth_rc4_crypt(c->rc4_c2s, msg + enc_off, enc_len);
	put32(sig, 1);
	memcpy(sig + 4, h, 8);
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(c->rc4_c2s, sig + 4, 8);
	put32(sig + 12, c->seq_c2s);
	c->seq_c2s++;
	return 0;
}

static int verify(ntlm_client_t *c, const uint8_t *msg, size_t len, const uint8_t sig[16])
{
	uint8_t sq[4], h[16], got[8];

	put32(sq, c->seq_s2c);
	auth_hmac_md5(c->sign_s2c, 16, sq, 4, msg, len, NULL, 0, h);
	memcpy(got, sig + 4, 8);
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(c->rc4_s2c, got, 8);
	if (get32(sig) != 1 || !auth_ct_equal(h, got, 8) || get32(sig + 12) != c->seq_s2c)
		return WD_ESIG;
	c->seq_s2c++;
	return 0;
}

int ntlm_client_check(ntlm_client_t *c, const uint8_t *msg, size_t len, const uint8_t sig[16])
{
	if (!c->authenticated)
		return WD_ESTATE;
	return verify(c, msg, len, sig);
}

int ntlm_client_unseal(ntlm_client_t *c, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                       const uint8_t sig[16])
{
	if (!c->authenticated)
		return WD_ESTATE;
	if (enc_off > len || enc_len > len - enc_off)
		return WD_EINVAL;
	auth_rc4_crypt(c->rc4_s2c, msg + enc_off, enc_len);
	return verify(c, msg, len, sig);
}

int ntlm_client_reset_rc4(ntlm_client_t *c)
{
	uint32_t s1 = c->seq_c2s, s2 = c->seq_s2c;
	int rc;

	if (!c->authenticated)
		return WD_ESTATE;
	rc = start_security(c);
	c->seq_c2s = s1;
	c->seq_s2c = s2;
	return rc;
}
