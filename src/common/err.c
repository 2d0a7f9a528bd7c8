/*
 * err.c - strings for the project-wide error space (include/witness/err.h).
 */
#include "witness/err.h"

const char *wd_strerror(int err)
{
	switch (err) {
	case WD_OK:
		return "success";
	case WD_ENOMEM:
		return "out of memory";
	case WD_EINVAL:
		return "invalid argument";
	case WD_ESHORT:
		return "input truncated";
	case WD_ERANGE:
		return "value out of range";
	case WD_EPROTO:
		return "protocol violation";
	case WD_ENOTFOUND:
		return "not found";
	case WD_EEXIST:
		return "already exists";
	case WD_EAGAIN:
		return "more input needed";
	case WD_EACCES:
		return "access denied";
	case WD_EAUTH:
		return "authentication failed";
	case WD_ESIG:
		return "signature check failed";
	case WD_EIO:
		return "I/O error";
	case WD_ELIMIT:
		return "limit reached";
	case WD_ESTATE:
		return "invalid state";
	case WD_ENOTSUP:
		return "not supported";
	case WD_ECONFIG:
		return "bad configuration";
	case WD_ETIMEDOUT:
		return "timed out";
	case WD_ECANCELED:
		return "canceled";
	case WD_EVERSION:
		return "version mismatch";
	}
	return "unknown error";
}
