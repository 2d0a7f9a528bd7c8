/*
 * gss_dcerpc.h - what both Kerberos sides of a DCE/RPC auth trailer share:
 * the sizes of a complete GSS context's tokens, needed before the first
 * signed PDU, and the iov layout of a PDU signed or sealed with GSS_*_iov.
 * Used by the acceptor (src/auth/krb5.c) and the load generator's
 * initiator (bench/rpc_client.c).
 */
#ifndef WITNESS_GSS_DCERPC_H
#define WITNESS_GSS_DCERPC_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include <gssapi/gssapi.h>

/*
 * As Samba's gssapi_get_sig_size: *wrap_size is the header of a wrapped
 * (sealed) PDU, from gss_wrap_iov_length; *mic_size follows from the
 * session (sub)key's enctype, so that no MIC (and no sequence number) is
 * spent measuring it: RFC 4121 tokens are 16 bytes + the checksum, RFC
 * 1964/4757 ones (rc4-hmac, des) 37. *enctype is the enctype seen (0 when
 * the context does not say). Returns 0, or WD_EIO when the wrap length
 * cannot be had (*wrap_size is then 0).
 */
int wd_gss_token_sizes(gss_ctx_id_t ctx, size_t *wrap_size, size_t *mic_size, int *enctype);

/*
 * Fills iov[0..3] for the PDU [pdu, +pdu_len) whose body (stub and pad) is
 * [body_off, +body_len) and whose token is [tok, +tok_len) ([MS-RPCE]
 * 3.3.1.5.2.2): with header signing [HEADER tok][SIGN_ONLY H][DATA S|P]
 * [SIGN_ONLY T], else [HEADER tok][DATA S|P]; only DATA is sealed. Returns
 * the number of elements used.
 */
int wd_gss_pdu_iov(gss_iov_buffer_desc iov[4], uint8_t *pdu, size_t pdu_len, size_t body_off,
                   size_t body_len, bool hdr_sign, uint8_t *tok, size_t tok_len);

#endif
