/*
 * gss_sizes.h - the sizes of the tokens a complete Kerberos GSS context
 * makes for DCE/RPC auth trailers, as both sides of the protocol need them
 * before the first signed PDU: the acceptor (src/auth/krb5.c) and the load
 * generator's initiator (bench/rpc_client.c).
 */
#ifndef WITNESS_GSS_SIZES_H
#define WITNESS_GSS_SIZES_H

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

#endif
