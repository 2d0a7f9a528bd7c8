/*
 * auth_int.h - internals of the auth module shared between its files and
 * its unit tests / fuzz targets (tests include it by relative path). Not a
 * contract for other modules: they use include/witness/auth.h only.
 */
#ifndef WITNESS_AUTH_INT_H
#define WITNESS_AUTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "witness/auth.h"
#include "witness/auth_passdb.h"

/* ---- crypto primitives (auth_crypto.c) -------------------------------- */

int auth_md4(const void *in, size_t len, uint8_t out[16]);
int auth_md5(const void *in, size_t len, uint8_t out[16]);
/* HMAC-MD5 over the concatenation of up to three parts (NULL parts skipped). */
int auth_hmac_md5(const uint8_t *key, size_t key_len, const void *a, size_t alen, const void *b,
                  size_t blen, const void *c, size_t clen, uint8_t out[16]);
int auth_random(void *out, size_t len);
/* Constant-time comparison; true when equal. */
bool auth_ct_equal(const void *a, const void *b, size_t len);

/*
 * An RC4 stream that keeps its state across calls ([MS-NLMP] RC4Init/RC4):
 * 258 bytes, embeddable (auth_rc4_init / auth_rc4_wipe) or on the heap
 * (auth_rc4_new / auth_rc4_free, which wipes). key_len is 1..256.
 */
struct auth_rc4 {
	uint8_t s[256];
	uint8_t i, j;
};
void auth_rc4_init(struct auth_rc4 *h, const uint8_t *key, size_t key_len);
void auth_rc4_wipe(struct auth_rc4 *h);
int auth_rc4_new(const uint8_t *key, size_t key_len, struct auth_rc4 **out);
void auth_rc4_crypt(struct auth_rc4 *h, uint8_t *buf, size_t len); /* in place */
void auth_rc4_free(struct auth_rc4 *h);
/* One-shot RC4K(K, D) ([MS-NLMP] 6). */
int auth_rc4k(const uint8_t *key, size_t key_len, uint8_t *buf, size_t len);

/*
 * UTF-8 -> UTF-16LE through ndr.h's strict converter, optionally upper-cased
 * (ASCII and Latin-1 only; other code points are kept). Returns the byte
 * length written, or a negative WD_E* code (invalid UTF-8, overlong forms
 * included; out too small). out may be NULL to measure.
 */
int auth_utf8_to_utf16le(const char *in, size_t in_len, bool upper, uint8_t *out, size_t out_cap);
/* UTF-16LE -> UTF-8 into out (NUL-terminated). Returns length or WD_E*. */
int auth_utf16le_to_utf8(const uint8_t *in, size_t in_len, char *out, size_t out_cap);

/* ---- NTLMSSP ([MS-NLMP]) (ntlmssp.c) ---------------------------------- */

enum {
	NTLMSSP_NEGOTIATE_UNICODE = 0x00000001,
	NTLMSSP_NEGOTIATE_OEM = 0x00000002,
	NTLMSSP_REQUEST_TARGET = 0x00000004,
	NTLMSSP_NEGOTIATE_SIGN = 0x00000010,
	NTLMSSP_NEGOTIATE_SEAL = 0x00000020,
	NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040,
	NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080,
	NTLMSSP_NEGOTIATE_NTLM = 0x00000200,
	NTLMSSP_ANONYMOUS = 0x00000800,
	NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000,
	NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000,
	NTLMSSP_TARGET_TYPE_SERVER = 0x00020000,
	NTLMSSP_NEGOTIATE_ESS = 0x00080000, /* EXTENDED_SESSIONSECURITY */
	NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000,
	NTLMSSP_NEGOTIATE_VERSION = 0x02000000,
	NTLMSSP_NEGOTIATE_128 = 0x20000000,
	NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000,
	NTLMSSP_NEGOTIATE_56 = 0x80000000u,
};

enum { NTLMSSP_SIG_SIZE = 16, NTLMSSP_MAX_MSG = 64 * 1024 };

/* Parsed NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1): only what the server uses. */
struct ntlmssp_negotiate {
	uint32_t flags;
	bool has_version;
};
/* Pure parser; accepts the 16-, 32- (impacket) and 40-byte forms. */
int ntlmssp_parse_negotiate(const uint8_t *buf, size_t len, struct ntlmssp_negotiate *out);

/* Parsed AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3); pointers into buf. */
struct ntlmssp_field {
	const uint8_t *p;
	uint16_t len;
};
struct ntlmssp_authenticate {
	struct ntlmssp_field lm, nt, domain, user, workstation, enc_key;
	uint32_t flags;
	size_t mic_off; /* 0 when no MIC field is present */
};
int ntlmssp_parse_authenticate(const uint8_t *buf, size_t len, struct ntlmssp_authenticate *out);

/* The server side of one NTLMSSP exchange plus its session security. */
struct ntlmssp_server;
struct ntlmssp_server_cfg {
	const char *netname, *domain, *dns_name, *dns_domain;
	/* borrowed: the owner's current passdb slot, read at AUTHENTICATE time
	 * (so a SIGHUP reload between legs is seen); must outlive the server */
	auth_passdb_t *const *passdb;
	uint64_t fixed_time;            /* tests: FILETIME to put in the challenge; 0 = now */
	const uint8_t *fixed_challenge; /* tests: 8 bytes; NULL = random */
	bool refuse_anonymous;          /* refuse the anonymous logon ([MS-NLMP] 3.2.5.1.2) */
};
/* *out is owned by the caller; free with ntlmssp_server_free (wipes keys). */
int ntlmssp_server_new(const struct ntlmssp_server_cfg *cfg, struct ntlmssp_server **out);
void ntlmssp_server_free(struct ntlmssp_server *s);
/* Same contract as auth_ctx_update (out malloc'd, caller frees). */
int ntlmssp_server_update(struct ntlmssp_server *s, const uint8_t *in, size_t in_len, uint8_t **out,
                          size_t *out_len);
bool ntlmssp_server_complete(const struct ntlmssp_server *s);
uint32_t ntlmssp_server_flags(const struct ntlmssp_server *s);
/* The completed context is the ANONYMOUS user (empty user name and
 * responses, [MS-NLMP] 3.2.5.1.2): it proves no secret. */
bool ntlmssp_server_anonymous(const struct ntlmssp_server *s);
/* Identity after completion; uid is the passdb UID (0 and "" when anonymous). */
void ntlmssp_server_identity(const struct ntlmssp_server *s, const char **user, const char **domain,
                             uint32_t *uid);
/* Session security ([MS-NLMP] 3.4): whole message signed, [enc_off, +enc_len) sealed. */
int ntlmssp_sign(struct ntlmssp_server *s, const uint8_t *msg, size_t len, uint8_t sig[16]);
int ntlmssp_check(struct ntlmssp_server *s, const uint8_t *msg, size_t len, const uint8_t sig[16]);
int ntlmssp_seal(struct ntlmssp_server *s, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                 uint8_t sig[16]);
int ntlmssp_unseal(struct ntlmssp_server *s, uint8_t *msg, size_t len, size_t enc_off,
                   size_t enc_len, const uint8_t sig[16]);
/* SPNEGO quirk: re-initialise both RC4 handles, keep the sequence numbers. */
int ntlmssp_reset_rc4(struct ntlmssp_server *s);
/* Tests: install an exported session key and flags as if authenticated. */
int ntlmssp_server_set_session_key(struct ntlmssp_server *s, const uint8_t key[16], uint32_t flags);
/* Tests: the exported session key after completion. */
int ntlmssp_server_session_key(const struct ntlmssp_server *s, uint8_t key[16]);

/* Key derivation ([MS-NLMP] 3.3.2, 3.4.5), exposed for the 4.2 vectors. */
int ntlmssp_ntowfv2(const uint8_t nthash[16], const char *user, const char *domain,
                    uint8_t out[16]);
int ntlmssp_signkey(const uint8_t esk[16], bool client_to_server, uint8_t out[16]);
int ntlmssp_sealkey(const uint8_t esk[16], uint32_t flags, bool client_to_server, uint8_t out[16]);

/* ---- SPNEGO ([RFC 4178]) DER (spnego_der.c) --------------------------- */

enum { SPNEGO_MAX_MECHS = 16, SPNEGO_MAX_OID = 32, SPNEGO_MAX_TOKEN = 64 * 1024 };

struct spnego_oid {
	uint8_t len;
	uint8_t b[SPNEGO_MAX_OID]; /* DER contents octets (no tag/len) */
};
struct spnego_init {
	size_t n_mechs;
	struct spnego_oid mechs[SPNEGO_MAX_MECHS];
	const uint8_t *mechlist; /* the DER MechTypeList (tag 0x30 incl.), for the MIC */
	size_t mechlist_len;
	const uint8_t *token; /* mechToken, NULL if absent */
	size_t token_len;
	const uint8_t *mic; /* mechListMIC, NULL if absent */
	size_t mic_len;
};
enum {
	SPNEGO_ACCEPT_COMPLETED = 0,
	SPNEGO_ACCEPT_INCOMPLETE = 1,
	SPNEGO_REJECT = 2,
	SPNEGO_REQUEST_MIC = 3,
	SPNEGO_NO_STATE = -1,
};
struct spnego_resp {
	int state; /* SPNEGO_* or SPNEGO_NO_STATE */
	bool has_mech;
	struct spnego_oid mech;
	const uint8_t *token;
	size_t token_len;
	const uint8_t *mic;
	size_t mic_len;
};
extern const struct spnego_oid spnego_oid_krb5, spnego_oid_mskrb5, spnego_oid_ntlmssp;
bool spnego_oid_eq(const struct spnego_oid *a, const struct spnego_oid *b);

/* Pure, bounded parsers; pointers in *out point into buf. */
int spnego_parse_init(const uint8_t *buf, size_t len, struct spnego_init *out);
int spnego_parse_resp(const uint8_t *buf, size_t len, struct spnego_resp *out);
/* Builders; *out malloc'd, caller frees. */
int spnego_build_init(const struct spnego_oid *mechs, size_t n, const uint8_t *token,
                      size_t token_len, const uint8_t *mic, size_t mic_len, uint8_t **out,
                      size_t *out_len);
int spnego_build_resp(const struct spnego_resp *r, uint8_t **out, size_t *out_len);
/* The DER MechTypeList for mechs (what the MIC covers); *out malloc'd. */
int spnego_build_mechlist(const struct spnego_oid *mechs, size_t n, uint8_t **out, size_t *out_len);

/* ---- Kerberos via GSSAPI (krb5.c) ------------------------------------- */

struct krb5_server;
struct krb5_acceptor;
int krb5_server_new(const char *keytab, struct krb5_server **out);
void krb5_server_free(struct krb5_server *k);
int krb5_acceptor_new(struct krb5_server *k, struct krb5_acceptor **out);
void krb5_acceptor_free(struct krb5_acceptor *a);
int krb5_acceptor_update(struct krb5_acceptor *a, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len);
int krb5_acceptor_identity(struct krb5_acceptor *a, char *account, size_t alen, char *realm,
                           size_t rlen);
size_t krb5_sig_size(struct krb5_acceptor *a, int level);
/* GSS ret_flags of the established context (GSS_C_INTEG_FLAG, GSS_C_CONF_FLAG...). */
uint32_t krb5_acceptor_flags(const struct krb5_acceptor *a);
int krb5_get_mic(struct krb5_acceptor *a, const uint8_t *msg, size_t len, uint8_t **mic,
                 size_t *mic_len);
int krb5_verify_mic(struct krb5_acceptor *a, const uint8_t *msg, size_t len, const uint8_t *mic,
                    size_t mic_len);
/* DCE/RPC protection with the layouts of [MS-RPCE] 3.3.1.5.2.2 (see auth.h). */
int krb5_sign(struct krb5_acceptor *a, const uint8_t *pdu, size_t pdu_len, size_t body_off,
              size_t body_len, bool hdr_sign, uint8_t *sig, size_t sig_len);
int krb5_check(struct krb5_acceptor *a, const uint8_t *pdu, size_t pdu_len, size_t body_off,
               size_t body_len, bool hdr_sign, const uint8_t *sig, size_t sig_len);
int krb5_seal(struct krb5_acceptor *a, uint8_t *pdu, size_t pdu_len, size_t body_off,
              size_t body_len, bool hdr_sign, uint8_t *sig, size_t sig_len);
int krb5_unseal(struct krb5_acceptor *a, uint8_t *pdu, size_t pdu_len, size_t body_off,
                size_t body_len, bool hdr_sign, const uint8_t *sig, size_t sig_len);

#endif
