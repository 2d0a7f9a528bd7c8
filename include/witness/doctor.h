/*
 * doctor.h - `witnessctl doctor`: checks what a witness needs on this node
 * and prints each check as OK / WARN / FAIL with a one-line remedy.
 *
 * Checks, in order: the config parses; every listen address accepts on the
 * witness port and the endpoint mapper port, and ept_map ([C706] appendix
 * L / [MS-RPCE] 2.2.1.2) maps the witness interface to that port; the keytab
 * holds keys for cifs/ and host/ of the netname and each alias, and each
 * decrypts a ticket (a ticket made here with that key, read back with
 * krb5_rd_req from the keytab); the NTLM password file is readable, mode
 * 0600 (0640 with group witnessd) and has accounts; with the ctdb backend,
 * ctdbd's socket answers, every IP of the daemon's view has a node, and
 * every other node's witnessd answers over the peer messages (witnessctl
 * peers); the SMB server on this node: an SMB2 NEGOTIATE to port 445 shows
 * its dialect and whether it offers persistent handles, and with user
 * credentials a tree connect to each named share shows SMB2_SHARE_CAP_CLUSTER
 * and SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY. A check that cannot run (no
 * SMB server, no daemon) is WARN.
 */
#ifndef WITNESS_DOCTOR_H
#define WITNESS_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_doctor_opts {
	const char *config;        /* witnessd.conf (required) */
	const char *socket;        /* admin socket; NULL: from the config */
	const char *smb_host;      /* NULL: the first listen address (0.0.0.0: 127.0.0.1) */
	uint16_t smb_port;         /* 0: 445 */
	const char *user;          /* [DOMAIN\]USER; NULL: no session, no tree connects */
	const char *password;      /* with user; wiped by the caller */
	const char *const *shares; /* share names for tree connects */
	size_t n_shares;
	int timeout_ms; /* per network step */
	bool json;      /* {"checks":[{"check","status","message","remedy"}],"failed":N} */
};

/* Runs every check, prints them to stdout; returns 0 when none failed, else
 * CTL_EXIT_NOMATCH (1): a check failed. */
int ctl_doctor_run(const struct ctl_doctor_opts *o);

#endif
