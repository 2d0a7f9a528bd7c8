/*
 * err.h - the one project-wide error space.
 *
 * Every function that can fail returns 0 on success or one of the negative
 * WD_E* codes below. Wire status codes (WERROR, DCERPC faults, bind_nak
 * reasons) are made only at the RPC edge, from one table in src/dcerpc and
 * src/witness; no module below that edge knows them.
 */
#ifndef WITNESS_ERR_H
#define WITNESS_ERR_H

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

#endif
