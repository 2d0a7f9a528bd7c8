/*
 * err.c - the project-wide error space (include/witness/err.h): one table
 * giving each WD_E* code its string and the wire codes it becomes at the RPC
 * edge. The wire values are those of [MS-ERREF] 2.2 (WERROR) and
 * [MS-RPCE] 2.2.2.7 / [C706] appendix E (fault status), spelled as Samba's
 * werror.h and dcerpc.idl name them; this layer includes neither.
 */
#include <stddef.h>

#include "witness/err.h"

/* WERROR */
#define WERR_OK                  0x00000000u
#define WERR_ACCESS_DENIED       0x00000005u
#define WERR_NOT_ENOUGH_MEMORY   0x00000008u
#define WERR_NOT_SUPPORTED       0x00000032u
#define WERR_INVALID_PARAMETER   0x00000057u
#define WERR_ALREADY_EXISTS      0x000000b7u
#define WERR_NOT_FOUND           0x00000490u
#define WERR_CANCELLED           0x000004c7u
#define WERR_REVISION_MISMATCH   0x0000051au
#define WERR_LOGON_FAILURE       0x0000052eu
#define WERR_NO_SYSTEM_RESOURCES 0x000005aau
#define WERR_TIMEOUT             0x000005b4u
#define WERR_INVALID_STATE       0x0000139fu
/* DCERPC fault status */
#define FAULT_ACCESS_DENIED    0x00000005u /* Samba's DCERPC_FAULT_ACCESS_DENIED */
#define FAULT_CANT_PERFORM     0x000006d8u /* DCERPC_FAULT_CANT_PERFORM */
#define FAULT_BAD_STUB_DATA    0x000006f7u /* DCERPC_FAULT_NDR (rpc_x_bad_stub_data) */
#define FAULT_SEC_PKG_ERROR    0x00000721u /* DCERPC_FAULT_SEC_PKG_ERROR */
#define FAULT_CANCEL           0x1c00000du /* nca_s_fault_cancel */
#define FAULT_REMOTE_NO_MEMORY 0x1c00001bu /* nca_s_fault_remote_no_memory */
#define FAULT_PROTO_ERROR      0x1c01000bu /* nca_s_proto_error */

static const struct wd_err_entry {
	int err;
	const char *str;
	uint32_t werror; /* a witness call that fails locally for this reason */
	uint32_t fault;  /* a call the server cannot complete for this reason */
} err_table[] = {
    {WD_OK, "success", WERR_OK, 0},
    {WD_ENOMEM, "out of memory", WERR_NOT_ENOUGH_MEMORY, FAULT_REMOTE_NO_MEMORY},
    {WD_EINVAL, "invalid argument", WERR_INVALID_PARAMETER, FAULT_BAD_STUB_DATA},
    {WD_ESHORT, "input truncated", WERR_INVALID_PARAMETER, FAULT_BAD_STUB_DATA},
    /* a reply too large for its buffer: Samba's nca_s_fault_remote_no_memory */
    {WD_ERANGE, "value out of range", WERR_INVALID_PARAMETER, FAULT_REMOTE_NO_MEMORY},
    {WD_EPROTO, "protocol violation", WERR_INVALID_PARAMETER, FAULT_BAD_STUB_DATA},
    {WD_ENOTFOUND, "not found", WERR_NOT_FOUND, FAULT_CANT_PERFORM},
    {WD_EEXIST, "already exists", WERR_ALREADY_EXISTS, FAULT_CANT_PERFORM},
    {WD_EAGAIN, "more input needed", WERR_INVALID_STATE, FAULT_CANT_PERFORM},
    {WD_EACCES, "access denied", WERR_ACCESS_DENIED, FAULT_ACCESS_DENIED},
    {WD_EAUTH, "authentication failed", WERR_LOGON_FAILURE, FAULT_ACCESS_DENIED},
    /* the security context could not sign, seal or verify */
    {WD_ESIG, "signature check failed", WERR_ACCESS_DENIED, FAULT_SEC_PKG_ERROR},
    /* a store write that failed (disk full): Samba's answer to a failed
     * TDB store in srv_witness_nt.c */
    {WD_EIO, "I/O error", WERR_NO_SYSTEM_RESOURCES, FAULT_CANT_PERFORM},
    {WD_ELIMIT, "limit reached", WERR_NO_SYSTEM_RESOURCES, FAULT_CANT_PERFORM},
    {WD_ESTATE, "invalid state", WERR_INVALID_STATE, FAULT_CANT_PERFORM},
    {WD_ENOTSUP, "not supported", WERR_NOT_SUPPORTED, FAULT_CANT_PERFORM},
    {WD_ECONFIG, "bad configuration", WERR_INVALID_PARAMETER, FAULT_CANT_PERFORM},
    {WD_ETIMEDOUT, "timed out", WERR_TIMEOUT, FAULT_CANT_PERFORM},
    {WD_ECANCELED, "canceled", WERR_CANCELLED, FAULT_CANCEL},
    {WD_EVERSION, "version mismatch", WERR_REVISION_MISMATCH, FAULT_PROTO_ERROR},
};

static const struct wd_err_entry *err_find(int err)
{
	/* indexed by -err: the codes are dense from 0 down */
	size_t i = err <= 0 ? (size_t) - (long)err : (size_t)-1;
	if (i < sizeof(err_table) / sizeof(err_table[0]) && err_table[i].err == err)
		return &err_table[i];
	return NULL;
}

const char *wd_strerror(int err)
{
	const struct wd_err_entry *e = err_find(err);
	return e ? e->str : "unknown error";
}

uint32_t wd_err_werror(int err)
{
	const struct wd_err_entry *e = err_find(err);
	return e ? e->werror : WERR_NO_SYSTEM_RESOURCES;
}

uint32_t wd_err_fault(int err)
{
	const struct wd_err_entry *e = err_find(err);
	return e ? e->fault : FAULT_CANT_PERFORM;
}
