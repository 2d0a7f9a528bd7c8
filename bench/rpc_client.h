/*
 * rpc_client.h - the client half of connection-oriented DCE/RPC for the
 * benchmark tools: bind (anonymous, or NTLMSSP or Kerberos at integrity or
 * privacy with the three legs bind / bind_ack / auth3, [MS-RPCE] 3.3.1.5.2),
 * requests signed or sealed as [MS-RPCE] 2.2.2.11 lays them out, responses
 * checked. Pure: it builds and parses byte buffers; the caller owns the
 * socket.
 *
 * Kerberos is auth_type 16 through MIT GSSAPI as the initiator, DCE style
 * ([MS-KILE] 3.4.5.1: AP-REQ in the bind, AP-REP in the bind_ack, the
 * client's own AP-REP in auth3), with credentials from the default ccache
 * ($KRB5CCNAME). Header signing ([MS-RPCE] 2.2.2.3 PFC_SUPPORT_HEADER_SIGN)
 * is offered in the bind and used when the bind_ack echoes it.
 *
 * Built on src/dcerpc/pdu.h (the server's own PDU marshalling) and
 * include/witness/ntlm_client.h.
 */
#ifndef BENCH_RPC_CLIENT_H
#define BENCH_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/dcerpc/pdu.h"
#include "witness/auth.h"
#include "witness/ntlm_client.h"

struct rpcc_gss; /* rpc_client.c: the GSSAPI context and its sizes */

struct rpcc {
	uint8_t auth_level; /* AUTH_LEVEL_NONE, _INTEGRITY or _PRIVACY */
	ntlm_client_t *ntlm;
	struct rpcc_gss *gss;
	uint32_t call_id;
	bool bound;
};

struct rpcc_creds {
	const char *user, *domain, *password; /* NTLMSSP */
	/* Kerberos when set: the service principal ("host/witsrv.example",
	 * realm optional) or a host-based name ("host@witsrv.example") */
	const char *krb5_target;
};

/*
 * Starts a connection's client state; creds may be NULL at AUTH_LEVEL_NONE.
 * With creds->krb5_target, Kerberos (the ticket is asked for at rpcc_bind).
 */
int rpcc_init(struct rpcc *c, uint8_t auth_level, const struct rpcc_creds *creds);
void rpcc_free(struct rpcc *c);

/* The bind PDU for one presentation context (id 0, NDR32) of abstract. */
int rpcc_bind(struct rpcc *c, const struct dcerpc_pdu_syntax *abstract, struct dcerpc_buf *out);
/*
 * Handles the bind_ack in buf (one whole fragment): 0 when bound; with
 * NTLMSSP or Kerberos it appends the auth3 PDU to out (send it, no answer
 * comes).
 * WD_EACCES for a bind_nak or a rejected context, WD_EPROTO otherwise.
 */
int rpcc_bind_ack(struct rpcc *c, const uint8_t *buf, size_t len, struct dcerpc_buf *out);

/* Appends a request for opnum with stub (signed or sealed at the level). */
int rpcc_request(struct rpcc *c, uint16_t opnum, const uint8_t *stub, size_t stub_len,
                 struct dcerpc_buf *out, uint32_t *call_id);
/*
 * Checks a response fragment in buf (unseals in place); *stub / *stub_len
 * point into buf without the auth padding. WD_EPROTO for a fault (*fault set)
 * or anything but a single-fragment response; WD_ESIG for a bad signature.
 */
int rpcc_response(struct rpcc *c, uint8_t *buf, size_t len, const uint8_t **stub, size_t *stub_len,
                  uint32_t *call_id, uint32_t *fault);

/* Length of the fragment at the start of buf, 0 when more bytes are needed. */
size_t rpcc_frag_len(const uint8_t *buf, size_t len);

extern const struct dcerpc_pdu_syntax rpcc_witness_syntax; /* ccd8c074-... v1.1 */
extern const struct dcerpc_pdu_syntax rpcc_epm_syntax;     /* e1af8308-... v3.0 */

#endif
