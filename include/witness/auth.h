/*
 * auth.h - the one interface between the DCERPC core and the security
 * mechanisms (NTLMSSP, Kerberos via GSSAPI, SPNEGO). The core knows nothing
 * of any mechanism; a mechanism knows nothing of PDUs beyond the byte ranges
 * it is handed.
 *
 * Byte ranges ([MS-RPCE] 3.3.1.5.2.2, Samba's librpc/rpc/dcerpc_pkt_auth.c):
 *   pdu      = H|B|S|P|T  the fragment up to (not including) the auth token,
 *              with frag_length and auth_length already final
 *   body     = S|P        stub + auth padding, at pdu + body_off, body_len bytes
 * A mechanism decides from its own rules and from hdr_sign what it protects
 * (NTLMSSP with ESS always signs the whole pdu; GSSAPI signs the whole pdu only
 * when header signing was negotiated). Seal encrypts body in place.
 *
 * Mechanisms (src/auth):
 *   AUTH_TYPE_NTLMSSP (10)  NTLMv2 with extended session security against the
 *                           password file (auth_passdb.h); NTLMv1, LM and
 *                           non-ESS signing are refused. The anonymous logon
 *                           completes with session.anonymous set (unless
 *                           ntlm_refuse_anonymous) and no session security
 *                           ([MS-NLMP] 3.4): at PACKET/INTEGRITY it verifies
 *                           nothing (every check fails), at PRIVACY its leg
 *                           fails; the core must grant it no more than an
 *                           unauthenticated bind.
 *   AUTH_TYPE_KRB5 (16)     MIT GSSAPI acceptor, DCE style, any principal of
 *                           the keytab (cifs/<name>, host/<name>), both the
 *                           standard and the Microsoft krb5 OIDs.
 *   AUTH_TYPE_SPNEGO (9)    RFC 4178 negotiation of the two above (whichever
 *                           has its secret configured: keytab -> krb5,
 *                           password file -> NTLMSSP), with mechListMIC.
 * Objects are single-threaded (the event loop's thread). A server must
 * outlive every context started from it.
 */
#ifndef WITNESS_AUTH_H
#define WITNESS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* auth_type values of the sec_trailer ([MS-RPCE] 2.2.1.1.7) */
enum {
	AUTH_TYPE_NONE = 0,
	AUTH_TYPE_SPNEGO = 9,
	AUTH_TYPE_NTLMSSP = 10,
	AUTH_TYPE_KRB5 = 16,
};

/* auth_level values ([MS-RPCE] 2.2.1.1.8) */
enum {
	AUTH_LEVEL_NONE = 1,
	AUTH_LEVEL_CONNECT = 2,
	AUTH_LEVEL_CALL = 3,
	AUTH_LEVEL_PACKET = 4,
	AUTH_LEVEL_INTEGRITY = 5,
	AUTH_LEVEL_PRIVACY = 6,
};

typedef struct auth_server auth_server_t; /* configured mechanisms + secrets */
typedef struct auth_ctx auth_ctx_t;       /* one security context */

struct auth_server_opts {
	const char *netname;            /* NetBIOS-style name, e.g. "WITSRV" */
	const char *dns_name;           /* e.g. "witsrv.testdom.example"; may be NULL */
	const char *domain;             /* NetBIOS domain for NTLM target info; may be NULL */
	const char *keytab;             /* krb5 keytab path; NULL disables krb5 */
	const char *ntlm_password_file; /* smbpasswd-style NT hashes; NULL disables NTLM */
	unsigned methods;               /* AUTH_METHOD_* bits offered; 0 = all three */
	bool ntlm_refuse_anonymous;     /* refuse the NTLMSSP anonymous logon */
};

enum {
	AUTH_METHOD_NTLMSSP = 1u << 0,
	AUTH_METHOD_KRB5 = 1u << 1,
	AUTH_METHOD_SPNEGO = 1u << 2,
};

/*
 * Who authenticated; strings are empty (never NULL) when unknown, at most
 * 255 bytes (sid 79), and owned by the context (valid while it lives). They
 * are sized to fit: an idle authenticated connection holds this for as long
 * as it lives.
 * NTLMSSP: account and domain as the client sent them (domain falls back to
 *   the password file entry's, then to the server's domain); sid is a stable
 *   local SID S-1-5-21-A-B-C-RID with A-B-C the first 12 bytes of
 *   MD5("witnessd-local-sid:" + upper(netname)) and RID = 2 * UID + 1000
 *   (Samba's algorithmic RID mapping of the passdb UID).
 * Kerberos (raw or in SPNEGO): account = client principal without the realm,
 *   domain = realm, sid empty (the PAC is not parsed).
 */
struct auth_session {
	uint8_t auth_type;
	uint8_t auth_level;
	const char *account;
	const char *domain;
	const char *sid;
	/* NTLMSSP anonymous logon: account "ANONYMOUS LOGON", domain
	 * "NT AUTHORITY", sid S-1-5-7 ([MS-DTYP] 2.4.2.4); no secret proven */
	bool anonymous;
};

/*
 * Creates the server; on error *out is untouched. Free with auth_server_free.
 * A configured password file or keytab that cannot be loaded is WD_ECONFIG
 * (logged with the path and reason), never a silently disabled mechanism.
 */
int auth_server_new(const struct auth_server_opts *opts, auth_server_t **out);
void auth_server_free(auth_server_t *srv);
/* Reload secrets (password file) - SIGHUP. On error the old accounts stay. */
int auth_server_reload(auth_server_t *srv);
bool auth_server_offers(const auth_server_t *srv, uint8_t auth_type);

/*
 * Start a context for auth_type at auth_level. WD_ENOTSUP when the type is not
 * offered (the core answers bind_nak reason 8); WD_EINVAL for a level other
 * than CONNECT, PACKET, INTEGRITY, PRIVACY. Free with auth_ctx_free.
 */
int auth_ctx_start(auth_server_t *srv, uint8_t auth_type, uint8_t auth_level, auth_ctx_t **out);
void auth_ctx_free(auth_ctx_t *ctx); /* wipes keys */

/*
 * Feed one token from the client. *out / *out_len receive the reply token
 * (malloc'd, caller frees; may be NULL/0 when the mechanism has nothing to
 * say). Returns 0 when the context is complete, WD_EAGAIN when another leg is
 * expected, WD_EAUTH for a refused credential, WD_EPROTO for a malformed
 * token, WD_ESTATE once the context is complete or has failed. With WD_EAUTH
 * *out may hold a SPNEGO reject token (the core may send or drop it). The
 * reason of a refusal is logged (auth.ntlmssp.refused, auth.krb5.refused,
 * auth.spnego.refused), never a secret.
 */
int auth_ctx_update(auth_ctx_t *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                    size_t *out_len);
bool auth_ctx_complete(const auth_ctx_t *ctx);
/* Valid once complete. */
const struct auth_session *auth_ctx_session(const auth_ctx_t *ctx);

/*
 * Header signing was negotiated on the connection (pfc 0x04, [MS-RPCE]
 * 3.3.1.5.2.2). It may come at any time, also after the context completed
 * (a later alter_context turns it on): the next sign / check / seal /
 * unseal of a Kerberos context covers H|B and T too. NTLMSSP is unchanged
 * (with ESS it always signs the whole pdu).
 */
void auth_ctx_set_hdr_sign(auth_ctx_t *ctx, bool on);

/*
 * Size of the token that sign/seal will produce for the context's level: 0
 * at CONNECT or before completion; NTLMSSP 16; Kerberos MIC 28 (aes-sha1),
 * 32/40 (RFC 8009), 37 (rc4-hmac); Kerberos wrap from gss_wrap_iov_length
 * (76 for aes-sha1 with DCE style).
 */
size_t auth_ctx_sig_size(const auth_ctx_t *ctx);

/*
 * sign/seal: server-to-client; check/unseal: client-to-server. sig_len must be
 * auth_ctx_sig_size(). check/unseal return WD_ESIG for a bad or replayed
 * signature (sequence numbers are implicit per direction); the context must
 * not be used after that (the core closes the connection). seal/unseal only
 * at PRIVACY (WD_ESTATE otherwise).
 */
int auth_ctx_sign(auth_ctx_t *ctx, const uint8_t *pdu, size_t pdu_len, size_t body_off,
                  size_t body_len, uint8_t *sig, size_t sig_len);
int auth_ctx_check(auth_ctx_t *ctx, const uint8_t *pdu, size_t pdu_len, size_t body_off,
                   size_t body_len, const uint8_t *sig, size_t sig_len);
int auth_ctx_seal(auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t body_off, size_t body_len,
                  uint8_t *sig, size_t sig_len);
int auth_ctx_unseal(auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t body_off, size_t body_len,
                    const uint8_t *sig, size_t sig_len);

#endif
