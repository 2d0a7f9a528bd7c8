/*
 * ntlmssp.c - NTLMSSP server ([MS-NLMP]): NEGOTIATE -> CHALLENGE ->
 * AUTHENTICATE with NTLMv2 + extended session security, verified against NT
 * hashes from the password file, and the connection-oriented session
 * security (sign / seal with per-direction keys, RC4 handles and sequence
 * numbers, [MS-NLMP] 3.4).
 *
 * Policy: NTLMv1 and LM are refused; sign and seal require extended session
 * security (every client we interoperate with - rpcclient, Samba python,
 * impacket, Windows - negotiates it for a user). The anonymous logon
 * ([MS-NLMP] 3.2.5.1.2) is accepted unless the owner refuses it, with no
 * session security (3.4); it completes a context whose identity is
 * ANONYMOUS, which the caller must never treat as authenticated (it proves
 * no secret).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "witness/err.h"
#include "witness/log.h"
#include "auth_int.h"

static const uint8_t ntlmssp_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

enum { ST_NEGOTIATE, ST_AUTHENTICATE, ST_DONE, ST_FAILED };

/* AV_PAIR ids ([MS-NLMP] 2.2.2.1) */
enum {
	MSV_AV_EOL = 0,
	MSV_AV_NB_COMPUTER = 1,
	MSV_AV_NB_DOMAIN = 2,
	MSV_AV_DNS_COMPUTER = 3,
	MSV_AV_DNS_DOMAIN = 4,
	MSV_AV_FLAGS = 6,
	MSV_AV_TIMESTAMP = 7,
};

/*
 * What only the exchange needs: freed (wiped) as soon as it ends, so that
 * an idle authenticated connection holds its session keys, RC4 states and
 * identity only (648 bytes; with the exchange it held 1.5 KB more).
 */
struct ntlmssp_handshake {
	char *netname, *domain, *dns_name, *dns_domain;
	auth_passdb_t *const *passdb;
	uint64_t fixed_time;
	bool fixed_chal, allow_anonymous;
	uint8_t chal[8];
	uint8_t *neg_msg, *chal_msg;
	size_t neg_len, chal_len;
	char user[256], udomain[256];
};

struct ntlmssp_server {
	int state;
	uint32_t flags;               /* negotiated */
	struct ntlmssp_handshake *hs; /* NULL once the exchange ended */
	char *ident;                  /* "user\0domain\0" after completion */
	size_t ident_len;
	uint32_t uid;
	bool anonymous;
	bool have_keys;
	uint8_t esk[16];
	uint8_t sign_c2s[16], sign_s2c[16], seal_c2s[16], seal_s2c[16];
	struct auth_rc4 rc4_c2s, rc4_s2c;
	uint32_t seq_c2s, seq_s2c;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff, p[1] = v >> 8;
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

/* ---- parsers --------------------------------------------------------- */

int ntlmssp_parse_negotiate(const uint8_t *buf, size_t len, struct ntlmssp_negotiate *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 16)
		return WD_ESHORT;
	if (len > NTLMSSP_MAX_MSG)
		return WD_ERANGE;
	if (memcmp(buf, ntlmssp_sig, 8) != 0 || get32(buf + 8) != 1)
		return WD_EPROTO;
	out->flags = get32(buf + 12);
	/* Domain/Workstation fields (16..31) are optional in old clients and
	 * carry nothing we use; impacket stops after them (32 bytes, no
	 * Version), Samba and Windows send the 40-byte form. */
	out->has_version = (out->flags & NTLMSSP_NEGOTIATE_VERSION) && len >= 40;
	return 0;
}

static int get_field(const uint8_t *buf, size_t len, size_t at, struct ntlmssp_field *f,
                     size_t *min_off)
{
	uint16_t l = get16(buf + at);
	uint32_t off = get32(buf + at + 4);

	f->p = NULL;
	f->len = 0;
	if (l == 0)
		return 0;
	if (off > len || l > len - off)
		return WD_EPROTO;
	f->p = buf + off;
	f->len = l;
	if (off < *min_off)
		*min_off = off;
	return 0;
}

int ntlmssp_parse_authenticate(const uint8_t *buf, size_t len, struct ntlmssp_authenticate *out)
{
	size_t min_off = len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < 64)
		return WD_ESHORT;
	if (len > NTLMSSP_MAX_MSG)
		return WD_ERANGE;
	if (memcmp(buf, ntlmssp_sig, 8) != 0 || get32(buf + 8) != 3)
		return WD_EPROTO;
	if ((rc = get_field(buf, len, 12, &out->lm, &min_off)) ||
	    (rc = get_field(buf, len, 20, &out->nt, &min_off)) ||
	    (rc = get_field(buf, len, 28, &out->domain, &min_off)) ||
	    (rc = get_field(buf, len, 36, &out->user, &min_off)) ||
	    (rc = get_field(buf, len, 44, &out->workstation, &min_off)) ||
	    (rc = get_field(buf, len, 52, &out->enc_key, &min_off)))
		return rc;
	out->flags = get32(buf + 60);
	/* Version (64..71) and MIC (72..87) exist only when the payload starts
	 * after them ([MS-NLMP] 2.2.1.3; absent before Windows Vista). */
	if (min_off >= 88)
		out->mic_off = 72;
	return 0;
}

/* ---- key derivation ([MS-NLMP] 3.3.2, 3.4.5) ------------------------- */

int ntlmssp_ntowfv2(const uint8_t nthash[16], const char *user, const char *domain, uint8_t out[16])
{
	uint8_t buf[1024];
	int ul, dl;
	int rc;

	ul = auth_utf8_to_utf16le(user, strlen(user), true, buf, sizeof(buf));
	if (ul < 0)
		return ul;
	dl =
	    auth_utf8_to_utf16le(domain, strlen(domain), false, buf + ul, sizeof(buf) - (size_t)ul);
	if (dl < 0)
		return dl;
	rc = auth_hmac_md5(nthash, 16, buf, (size_t)(ul + dl), NULL, 0, NULL, 0, out);
	wd_memzero(buf, sizeof(buf));
	return rc;
}

static const char c2s_sign[] = "session key to client-to-server signing key magic constant";
static const char s2c_sign[] = "session key to server-to-client signing key magic constant";
static const char c2s_seal[] = "session key to client-to-server sealing key magic constant";
static const char s2c_seal[] = "session key to server-to-client sealing key magic constant";

static int md5_2(const uint8_t *a, size_t alen, const char *magic, uint8_t out[16])
{
	uint8_t buf[16 + 64];
	size_t ml = strlen(magic) + 1; /* the constants include their NUL */
	int rc;

	memcpy(buf, a, alen);
	memcpy(buf + alen, magic, ml);
	rc = auth_md5(buf, alen + ml, out);
	wd_memzero(buf, sizeof(buf));
	return rc;
}

int ntlmssp_signkey(const uint8_t esk[16], bool client_to_server, uint8_t out[16])
{
	return md5_2(esk, 16, client_to_server ? c2s_sign : s2c_sign, out);
}

int ntlmssp_sealkey(const uint8_t esk[16], uint32_t flags, bool client_to_server, uint8_t out[16])
{
	size_t kl = 16;

	/* [MS-NLMP] 3.4.5.3 with extended session security */
	if (!(flags & NTLMSSP_NEGOTIATE_128))
		kl = (flags & NTLMSSP_NEGOTIATE_56) ? 7 : 5;
	return md5_2(esk, kl, client_to_server ? c2s_seal : s2c_seal, out);
}

static int derive_keys(struct ntlmssp_server *s)
{
	int rc;

	if ((rc = ntlmssp_signkey(s->esk, true, s->sign_c2s)) ||
	    (rc = ntlmssp_signkey(s->esk, false, s->sign_s2c)) ||
	    (rc = ntlmssp_sealkey(s->esk, s->flags, true, s->seal_c2s)) ||
	    (rc = ntlmssp_sealkey(s->esk, s->flags, false, s->seal_s2c)))
		return rc;
	auth_rc4_init(&s->rc4_c2s, s->seal_c2s, 16);
	auth_rc4_init(&s->rc4_s2c, s->seal_s2c, 16);
	s->seq_c2s = s->seq_s2c = 0;
	s->have_keys = true;
	return 0;
}

/* ---- server ---------------------------------------------------------- */

static char *dupz(const char *s)
{
	return strdup(s ? s : "");
}

static void handshake_free(struct ntlmssp_handshake *hs)
{
	if (!hs)
		return;
	free(hs->netname);
	free(hs->domain);
	free(hs->dns_name);
	free(hs->dns_domain);
	if (hs->neg_msg)
		wd_memzero(hs->neg_msg, hs->neg_len);
	if (hs->chal_msg)
		wd_memzero(hs->chal_msg, hs->chal_len);
	free(hs->neg_msg);
	free(hs->chal_msg);
	wd_memzero(hs, sizeof(*hs));
	free(hs);
}

/* The exchange ended (done or failed): drop what only it needed. */
static void handshake_end(struct ntlmssp_server *s)
{
	handshake_free(s->hs);
	s->hs = NULL;
}

int ntlmssp_server_new(const struct ntlmssp_server_cfg *cfg, struct ntlmssp_server **out)
{
	struct ntlmssp_server *s = calloc(1, sizeof(*s));
	struct ntlmssp_handshake *hs = calloc(1, sizeof(*hs));

	if (!s || !hs) {
		free(s);
		free(hs);
		return WD_ENOMEM;
	}
	s->hs = hs;
	hs->netname = dupz(cfg->netname);
	hs->domain = dupz(cfg->domain && cfg->domain[0] ? cfg->domain : cfg->netname);
	hs->dns_name = dupz(cfg->dns_name);
	hs->dns_domain = dupz(cfg->dns_domain);
	hs->passdb = cfg->passdb;
	hs->fixed_time = cfg->fixed_time;
	hs->allow_anonymous = !cfg->refuse_anonymous;
	if (cfg->fixed_challenge) {
		memcpy(hs->chal, cfg->fixed_challenge, 8);
		hs->fixed_chal = true;
	}
	if (!hs->netname || !hs->domain || !hs->dns_name || !hs->dns_domain) {
		ntlmssp_server_free(s);
		return WD_ENOMEM;
	}
	*out = s;
	return 0;
}

void ntlmssp_server_free(struct ntlmssp_server *s)
{
	if (!s)
		return;
	handshake_free(s->hs);
	if (s->ident)
		wd_memzero(s->ident, s->ident_len);
	free(s->ident);
	wd_memzero(s, sizeof(*s));
	free(s);
}

bool ntlmssp_server_complete(const struct ntlmssp_server *s)
{
	return s->state == ST_DONE;
}

uint32_t ntlmssp_server_flags(const struct ntlmssp_server *s)
{
	return s->flags;
}

bool ntlmssp_server_anonymous(const struct ntlmssp_server *s)
{
	return s->state == ST_DONE && s->anonymous;
}

void ntlmssp_server_identity(const struct ntlmssp_server *s, const char **user, const char **domain,
                             uint32_t *uid)
{
	if (s->ident) {
		*user = s->ident;
		*domain = s->ident + strlen(s->ident) + 1;
	} else {
		*user = *domain = "";
	}
	*uid = s->uid;
}

int ntlmssp_server_session_key(const struct ntlmssp_server *s, uint8_t key[16])
{
	if (!s->have_keys)
		return WD_ESTATE;
	memcpy(key, s->esk, 16);
	return 0;
}

int ntlmssp_server_set_session_key(struct ntlmssp_server *s, const uint8_t key[16], uint32_t flags)
{
	memcpy(s->esk, key, 16);
	s->flags = flags;
	s->state = ST_DONE;
	handshake_end(s);
	return derive_keys(s);
}

/* Append one AV pair with a UTF-8 value converted to UTF-16LE. */
static int av_str(uint8_t *buf, size_t cap, size_t *pos, uint16_t id, const char *v)
{
	int n = auth_utf8_to_utf16le(v, strlen(v), false, NULL, 0);

	if (n < 0)
		return n;
	if (n > 0xffff || *pos + 4 + (size_t)n > cap)
		return WD_ERANGE;
	put16(buf + *pos, id);
	put16(buf + *pos + 2, (uint16_t)n);
	auth_utf8_to_utf16le(v, strlen(v), false, buf + *pos + 4, (size_t)n);
	*pos += 4 + (size_t)n;
	return 0;
}

static uint64_t filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static int handle_negotiate(struct ntlmssp_server *s, const uint8_t *in, size_t in_len,
                            uint8_t **out, size_t *out_len)
{
	struct ntlmssp_negotiate neg;
	uint8_t ti[1024], *msg;
	size_t tl = 0, tn_len, len;
	int tn, rc;
	uint32_t f;
	uint64_t now;
	struct ntlmssp_handshake *hs = s->hs;

	rc = ntlmssp_parse_negotiate(in, in_len, &neg);
	if (rc)
		return rc == WD_ESHORT || rc == WD_ERANGE ? WD_EPROTO : rc;
	if (!(neg.flags & NTLMSSP_NEGOTIATE_UNICODE)) {
		wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=oem_only flags=0x%08x",
		       neg.flags);
		return WD_EAUTH;
	}
	/* [MS-NLMP] 3.2.5.1.1: echo what we support of the client's request. */
	f = neg.flags &
	    (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL |
	     NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_ESS | NTLMSSP_NEGOTIATE_VERSION |
	     NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_KEY_EXCH);
	f |= NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_TARGET_INFO |
	     NTLMSSP_TARGET_TYPE_DOMAIN;
	s->flags = f;
	if (!hs->fixed_chal && (rc = auth_random(hs->chal, 8)))
		return rc;

	/* TargetInfo ([MS-NLMP] 2.2.1.2): names + timestamp */
	if ((rc = av_str(ti, sizeof(ti), &tl, MSV_AV_NB_DOMAIN, hs->domain)) ||
	    (rc = av_str(ti, sizeof(ti), &tl, MSV_AV_NB_COMPUTER, hs->netname)) ||
	    (rc = av_str(ti, sizeof(ti), &tl, MSV_AV_DNS_DOMAIN, hs->dns_domain)) ||
	    (rc = av_str(ti, sizeof(ti), &tl, MSV_AV_DNS_COMPUTER, hs->dns_name)))
		return rc;
	if (tl + 12 + 4 > sizeof(ti))
		return WD_ERANGE;
	now = hs->fixed_time ? hs->fixed_time : filetime_now();
	put16(ti + tl, MSV_AV_TIMESTAMP);
	put16(ti + tl + 2, 8);
	put32(ti + tl + 4, (uint32_t)now);
	put32(ti + tl + 8, (uint32_t)(now >> 32));
	tl += 12;
	put32(ti + tl, 0); /* MsvAvEOL */
	tl += 4;

	tn = auth_utf8_to_utf16le(hs->domain, strlen(hs->domain), false, NULL, 0);
	if (tn < 0)
		return tn;
	tn_len = (size_t)tn;
	len = 56 + tn_len + tl;
	msg = calloc(1, len);
	if (!msg)
		return WD_ENOMEM;
	memcpy(msg, ntlmssp_sig, 8);
	put32(msg + 8, 2);
	put16(msg + 12, (uint16_t)tn_len);
	put16(msg + 14, (uint16_t)tn_len);
	put32(msg + 16, 56);
	put32(msg + 20, f);
	memcpy(msg + 24, hs->chal, 8);
	put16(msg + 40, (uint16_t)tl);
	put16(msg + 42, (uint16_t)tl);
	put32(msg + 44, (uint32_t)(56 + tn_len));
	/* Version: 10.0 build 20348, NTLMSSP_REVISION_W2K3 (15) */
	msg[48] = 10, msg[49] = 0, put16(msg + 50, 20348), msg[55] = 15;
	auth_utf8_to_utf16le(hs->domain, strlen(hs->domain), false, msg + 56, tn_len);
	memcpy(msg + 56 + tn_len, ti, tl);

	hs->neg_msg = malloc(in_len);
	hs->chal_msg = malloc(len);
	if (!hs->neg_msg || !hs->chal_msg) {
		free(msg);
		return WD_ENOMEM;
	}
	memcpy(hs->neg_msg, in, in_len);
	hs->neg_len = in_len;
	memcpy(hs->chal_msg, msg, len);
	hs->chal_len = len;
	*out = msg;
	*out_len = len;
	s->state = ST_AUTHENTICATE;
	return WD_EAGAIN;
}

/* The identity outlives the exchange: "user\0domain\0", sized to fit. */
static int keep_identity(struct ntlmssp_server *s)
{
	size_t ul = strlen(s->hs->user) + 1, dl = strlen(s->hs->udomain) + 1;

	s->ident = malloc(ul + dl);
	if (!s->ident)
		return WD_ENOMEM;
	memcpy(s->ident, s->hs->user, ul);
	memcpy(s->ident + ul, s->hs->udomain, dl);
	s->ident_len = ul + dl;
	return 0;
}

/* MsvAvFlags of the client's NTLMv2 blob ([MS-NLMP] 2.2.2.7); 0 if absent. */
static int blob_av_flags(const uint8_t *nt, size_t nt_len, uint32_t *flags)
{
	size_t p = 16 + 28;

	*flags = 0;
	while (p + 4 <= nt_len) {
		uint16_t id = get16(nt + p), l = get16(nt + p + 2);
		if (p + 4 + l > nt_len)
			return WD_EPROTO;
		if (id == MSV_AV_EOL)
			return 0;
		if (id == MSV_AV_FLAGS && l == 4)
			*flags = get32(nt + p + 4);
		p += 4 + (size_t)l;
	}
	return 0; /* tolerate a missing EOL */
}

static int field_utf8(const struct ntlmssp_field *f, char *out, size_t cap)
{
	if (f->len == 0) {
		out[0] = '\0';
		return 0;
	}
	return auth_utf16le_to_utf8(f->p, f->len, out, cap) < 0 ? WD_EPROTO : 0;
}

/* NTLMv2 check for one domain spelling; fills the session base key on success. */
static int try_v2(struct ntlmssp_server *s, const uint8_t nthash[16], const char *dom,
                  const struct ntlmssp_field *nt, uint8_t sbk[16])
{
	const struct ntlmssp_handshake *hs = s->hs;
	uint8_t rk[16], proof[16];
	int rc;

	rc = ntlmssp_ntowfv2(nthash, hs->user, dom, rk);
	if (!rc)
		rc = auth_hmac_md5(rk, 16, hs->chal, 8, nt->p + 16, nt->len - 16u, NULL, 0, proof);
	if (!rc && !auth_ct_equal(proof, nt->p, 16))
		rc = WD_EAUTH;
	if (!rc)
		rc = auth_hmac_md5(rk, 16, proof, 16, NULL, 0, NULL, 0, sbk);
	wd_memzero(rk, sizeof(rk));
	wd_memzero(proof, sizeof(proof));
	return rc;
}

/*
 * [MS-NLMP] 3.2.5.1.2: "If the user name and response are empty, the server
 * authenticates the client as the ANONYMOUS user"; the client sends no
 * NtChallengeResponse and an LmChallengeResponse that is empty or Z(1)
 * (3.3.1, 3.3.2: the special case for anonymous authentication).
 */
static bool is_anonymous(const struct ntlmssp_authenticate *a)
{
	if (a->user.len != 0 || a->nt.len != 0)
		return false;
	return a->lm.len == 0 || (a->lm.len == 1 && a->lm.p[0] == 0);
}

static int handle_authenticate(struct ntlmssp_server *s, const uint8_t *in, size_t in_len)
{
	struct ntlmssp_handshake *hs = s->hs;
	struct ntlmssp_authenticate a;
	const struct auth_passdb_entry *e;
	const auth_passdb_t *db = hs->passdb ? *hs->passdb : NULL;
	uint8_t sbk[16], mic[16], *copy = NULL;
	uint32_t avf;
	char eu[256], ed[256];
	int rc;

	rc = ntlmssp_parse_authenticate(in, in_len, &a);
	if (rc)
		return WD_EPROTO;
	if ((rc = field_utf8(&a.user, hs->user, sizeof(hs->user))) ||
	    (rc = field_utf8(&a.domain, hs->udomain, sizeof(hs->udomain))))
		return rc;
	wd_log_escape(hs->user, eu, sizeof(eu));
	wd_log_escape(hs->udomain, ed, sizeof(ed));
	if (is_anonymous(&a)) {
		if (!hs->allow_anonymous) {
			wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=anonymous");
			return WD_EAUTH;
		}
		/* The ANONYMOUS user has no password: its session base key is
		 * Z(16), as Samba's source4/auth/system_session.c gives it
		 * (auth_anonymous_user_info_dc: "the Anonymous really does have a
		 * session key, and it is all zeros"); KEY_EXCH and the key derivation then run as
		 * usual. */
		memset(sbk, 0, sizeof(sbk));
		s->anonymous = true;
		hs->udomain[0] = '\0';
		goto keys;
	}
	if (a.nt.len == 24 || a.nt.len == 0) {
		/* NTLMv1 / LM-only: refused by policy ([MS-NLMP] 3.3.1) */
		wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=ntlmv1 user=%s domain=%s", eu,
		       ed);
		return WD_EAUTH;
	}
	if (a.nt.len < 16 + 28)
		return WD_EPROTO;
	e = auth_passdb_find(db, hs->udomain, hs->user);
	if (!e || e->disabled) {
		wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=%s user=%s domain=%s",
		       e ? "disabled" : "unknown_user", eu, ed);
		return WD_EAUTH;
	}
	/* [MS-NLMP] 3.2.5.1.2: the domain as sent, then (gss-ntlmssp, Samba)
	 * the empty domain, which clients use for local accounts. */
	rc = try_v2(s, e->nthash, hs->udomain, &a.nt, sbk);
	if (rc == WD_EAUTH && hs->udomain[0])
		rc = try_v2(s, e->nthash, "", &a.nt, sbk);
	if (rc) {
		if (rc == WD_EAUTH)
			wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused",
			       "reason=wrong_password user=%s domain=%s", eu, ed);
		return rc;
	}
	s->uid = e->uid;
	if (e->domain[0] && !hs->udomain[0])
		snprintf(hs->udomain, sizeof(hs->udomain), "%s", e->domain);
keys:

	/* The client may drop KEY_EXCH in AUTHENTICATE ([MS-NLMP] 3.2.5.1.2). */
	if (!(a.flags & NTLMSSP_NEGOTIATE_KEY_EXCH))
		s->flags &= ~(uint32_t)NTLMSSP_NEGOTIATE_KEY_EXCH;
	/* The AUTHENTICATE's NegotiateFlags are what the client goes on with
	 * ([MS-NLMP] 2.2.1.3): a session-security flag it drops there is
	 * dropped here too, as Samba's server does (ntlmssp_handle_neg_flags
	 * on the "authenticate" flags, auth/ntlmssp/ntlmssp_util.c). Samba's
	 * client drops ESS for the anonymous logon ("not doing NTLM2 without a
	 * password", auth/credentials/credentials_ntlm.c). */
	if (a.flags)
		s->flags &= a.flags | ~(uint32_t)(NTLMSSP_NEGOTIATE_ESS | NTLMSSP_NEGOTIATE_SIGN |
		                                  NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_128 |
		                                  NTLMSSP_NEGOTIATE_56);
	/* "For the cases of ANONYMOUS user and Guest user login, there is no
	 * session security" ([MS-NLMP] 3.4): signing and sealing are not
	 * negotiated for it, as Samba's server drops them for anonymous and
	 * guest (ntlmssp_server_postauth, auth/ntlmssp/ntlmssp_server.c). A
	 * context at integrity then verifies nothing and one at privacy fails
	 * (auth.c, check_features). So no NTLMv1 (non-ESS) session security,
	 * which Samba's anonymous client would use, is ever needed. */
	if (s->anonymous)
		s->flags &= ~(uint32_t)(NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL);
	/* KXKEY for NTLMv2 is the session base key ([MS-NLMP] 3.4.5.1) */
	memcpy(s->esk, sbk, 16);
	if (s->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		if (a.enc_key.len != 16) {
			rc = WD_EPROTO;
			goto out;
		}
		memcpy(s->esk, a.enc_key.p, 16);
		if ((rc = auth_rc4k(sbk, 16, s->esk, 16)))
			goto out;
	}
	if ((rc = blob_av_flags(a.nt.p, a.nt.len, &avf)))
		goto out;
	if (avf & 0x2) {
		/* MIC present ([MS-NLMP] 3.2.5.1.2): HMAC_MD5(ESK, NEG|CHAL|AUTH with MIC zeroed)
		 */
		if (!a.mic_off) {
			rc = WD_EAUTH;
			goto out;
		}
		copy = malloc(in_len);
		if (!copy) {
			rc = WD_ENOMEM;
			goto out;
		}
		memcpy(copy, in, in_len);
		memset(copy + a.mic_off, 0, 16);
		uint8_t *all = malloc(hs->neg_len + hs->chal_len + in_len);
		if (!all) {
			rc = WD_ENOMEM;
			goto out;
		}
		memcpy(all, hs->neg_msg, hs->neg_len);
		memcpy(all + hs->neg_len, hs->chal_msg, hs->chal_len);
		memcpy(all + hs->neg_len + hs->chal_len, copy, in_len);
		rc = auth_hmac_md5(s->esk, 16, all, hs->neg_len + hs->chal_len + in_len, NULL, 0,
		                   NULL, 0, mic);
		free(all);
		if (!rc && !auth_ct_equal(mic, in + a.mic_off, 16)) {
			wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=bad_mic user=%s", eu);
			rc = WD_EAUTH;
		}
		if (rc)
			goto out;
	}
	if ((s->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL)) &&
	    !(s->flags & NTLMSSP_NEGOTIATE_ESS)) {
		/* no NTLMv1 session security ([MS-NLMP] 3.4.4.1: CRC32 under
		 * one RC4 handle): refused as too weak (3.2.5.1.2: "not strong
		 * enough for the server security policy") */
		wd_log(WD_LOG_NOTICE, "auth.ntlmssp.refused", "reason=no_ess user=%s domain=%s", eu,
		       ed);
		rc = WD_EAUTH;
		goto out;
	}
	if ((rc = derive_keys(s)) || (rc = keep_identity(s)))
		goto out;
	s->state = ST_DONE;
	if (s->anonymous)
		wd_log(WD_LOG_INFO, "auth.ntlmssp.anonymous", "flags=0x%08x ess=%d", s->flags,
		       (s->flags & NTLMSSP_NEGOTIATE_ESS) != 0);
	else
		wd_log(WD_LOG_INFO, "auth.ntlmssp.ok", "user=%s domain=%s flags=0x%08x", eu, ed,
		       s->flags);
out:
	wd_memzero(sbk, sizeof(sbk));
	wd_memzero(mic, sizeof(mic));
	free(copy);
	return rc;
}

int ntlmssp_server_update(struct ntlmssp_server *s, const uint8_t *in, size_t in_len, uint8_t **out,
                          size_t *out_len)
{
	int rc;

	*out = NULL;
	*out_len = 0;
	switch (s->state) {
	case ST_NEGOTIATE:
		rc = handle_negotiate(s, in, in_len, out, out_len);
		break;
	case ST_AUTHENTICATE:
		rc = handle_authenticate(s, in, in_len);
		break;
	default:
		return WD_ESTATE;
	}
	if (rc != 0 && rc != WD_EAGAIN)
		s->state = ST_FAILED;
	if (rc != WD_EAGAIN)
		handshake_end(s);
	return rc;
}

/* ---- session security ([MS-NLMP] 3.4.4.2) ---------------------------- */

static int mac(struct ntlmssp_server *s, bool c2s, uint32_t seq, const uint8_t *msg, size_t len,
               uint8_t cksum[8])
{
	uint8_t sq[4], h[16];
	int rc;

	put32(sq, seq);
	rc = auth_hmac_md5(c2s ? s->sign_c2s : s->sign_s2c, 16, sq, 4, msg, len, NULL, 0, h);
	memcpy(cksum, h, 8);
	wd_memzero(h, sizeof(h));
	return rc;
}

static int make_sig(struct ntlmssp_server *s, const uint8_t *msg, size_t len, uint8_t sig[16])
{
	int rc = mac(s, false, s->seq_s2c, msg, len, sig + 4);

	if (rc)
		return rc;
	put32(sig, 1);
	if (s->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(&s->rc4_s2c, sig + 4, 8);
	put32(sig + 12, s->seq_s2c);
	s->seq_s2c++;
	return 0;
}

static int verify_sig(struct ntlmssp_server *s, const uint8_t *msg, size_t len,
                      const uint8_t sig[16])
{
	uint8_t want[8], got[8];
	int rc = mac(s, true, s->seq_c2s, msg, len, want);
	bool ok;

	if (rc)
		return rc;
	memcpy(got, sig + 4, 8);
	if (s->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(&s->rc4_c2s, got, 8);
	ok = get32(sig) == 1 && auth_ct_equal(want, got, 8) && get32(sig + 12) == s->seq_c2s;
	wd_memzero(want, sizeof(want));
	if (!ok)
		return WD_ESIG;
	s->seq_c2s++;
	return 0;
}

static int can_protect(const struct ntlmssp_server *s)
{
	if (s->state != ST_DONE || !s->have_keys)
		return WD_ESTATE;
	if (!(s->flags & NTLMSSP_NEGOTIATE_ESS))
		return WD_ENOTSUP;
	return 0;
}

int ntlmssp_sign(struct ntlmssp_server *s, const uint8_t *msg, size_t len, uint8_t sig[16])
{
	int rc = can_protect(s);

	return rc ? rc : make_sig(s, msg, len, sig);
}

int ntlmssp_check(struct ntlmssp_server *s, const uint8_t *msg, size_t len, const uint8_t sig[16])
{
	int rc = can_protect(s);

	return rc ? rc : verify_sig(s, msg, len, sig);
}

int ntlmssp_seal(struct ntlmssp_server *s, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                 uint8_t sig[16])
{
	uint8_t ck[8];
	int rc = can_protect(s);

	if (rc)
		return rc;
	if (enc_off > len || enc_len > len - enc_off)
		return WD_EINVAL;
	/* [MS-NLMP] 3.4.3: MAC over the plaintext, encrypt the data, then the
	 * checksum, with the same continuous RC4 handle. */
	if ((rc = mac(s, false, s->seq_s2c, msg, len, ck)))
		return rc;
	auth_rc4_crypt(&s->rc4_s2c, msg + enc_off, enc_len);
	put32(sig, 1);
	memcpy(sig + 4, ck, 8);
	if (s->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
		auth_rc4_crypt(&s->rc4_s2c, sig + 4, 8);
	put32(sig + 12, s->seq_s2c);
	s->seq_s2c++;
	wd_memzero(ck, sizeof(ck));
	return 0;
}

int ntlmssp_unseal(struct ntlmssp_server *s, uint8_t *msg, size_t len, size_t enc_off,
                   size_t enc_len, const uint8_t sig[16])
{
	int rc = can_protect(s);

	if (rc)
		return rc;
	if (enc_off > len || enc_len > len - enc_off)
		return WD_EINVAL;
	auth_rc4_crypt(&s->rc4_c2s, msg + enc_off, enc_len);
	return verify_sig(s, msg, len, sig);
}

int ntlmssp_reset_rc4(struct ntlmssp_server *s)
{
	if (!s->have_keys)
		return WD_ESTATE;
	/* "windows only resets the RC4 states but not the sequence
	 * numbers" (Samba auth/gensec/spnego.c, CVE-2016-2110). */
	auth_rc4_init(&s->rc4_c2s, s->seal_c2s, 16);
	auth_rc4_init(&s->rc4_s2c, s->seal_s2c, 16);
	return 0;
}
