/*
 * err.h - the one project-wide error space.
 *
 * Every function that can fail returns 0 on success or one of the negative
 * WD_E* codes below. Wire status codes (WERROR, DCERPC faults) are made
 * only at the RPC edge (src/dcerpc, src/witness), from the one table in
 * err.c; no module below that edge uses them. A protocol's own answers to a
 * peer (a bind_nak reason, Samba's fault for a bad auth leg) are protocol
 * decisions, not translations of a WD_E* code, and stay where they are made.
 */
#ifndef WITNESS_ERR_H
#define WITNESS_ERR_H

#include <stdint.h>

enum wd_err {
	WD_OK = 0,
	WD_ENOMEM = -1,    /* allocation failed */
	WD_EINVAL = -2,    /* invalid argument or value */
	WD_ESHORT = -3,    /* input truncated: more bytes needed */
	WD_ERANGE = -4,    /* value or length outside its bounds */
	WD_EPROTO = -5,    /* protocol violation by the peer */
	WD_ENOTFOUND = -6, /* no such object */
	WD_EEXIST = -7,    /* object exists already */
	WD_EAGAIN = -8,    /* more legs / more input needed; not an error */
	WD_EACCES = -9,    /* caller not allowed */
	WD_EAUTH = -10,    /* authentication failed (bad password, ticket...) */
	WD_ESIG = -11,     /* signature / seal check failed */
	WD_EIO = -12,      /* I/O or storage failure */
	WD_ELIMIT = -13,   /* a configured limit was reached */
	WD_ESTATE = -14,   /* operation not valid in the current state */
	WD_ENOTSUP = -15,  /* not supported (mechanism, backend operation...) */
	WD_ECONFIG = -16,  /* bad configuration */
	WD_ETIMEDOUT = -17,
	WD_ECANCELED = -18,
	WD_EVERSION = -19, /* version mismatch */
};

/* Static string for a WD_E* code; never NULL. */
const char *wd_strerror(int err);
/*
 * The WERROR a witness call returns when it fails locally with err
 * ([MS-ERREF] 2.2), and the DCERPC fault status of a call the server cannot
 * complete because of err ([MS-RPCE] 2.2.2.7). 0 for WD_OK; an unknown code
 * gives ERROR_NO_SYSTEM_RESOURCES and nca_s_fault_cant_perform (0x6d8).
 */
uint32_t wd_err_werror(int err);
uint32_t wd_err_fault(int err);

#endif
