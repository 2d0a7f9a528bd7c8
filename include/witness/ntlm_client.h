/*
 * ntlm_client.h - the client half of NTLMSSP ([MS-NLMP] 3.1.5): NEGOTIATE,
 * AUTHENTICATE with NTLMv2, extended session security, KEY_EXCH and a MIC,
 * and the client side of session security ([MS-NLMP] 3.4).
 *
 * Users: the load generator (bench/), `witnessctl doctor` (an SMB2 session
 * setup wraps these tokens in SPNEGO itself) and the unit tests. It shares
 * the hash primitives with the server half (src/auth/ntlmssp.c), so it is no
 * independent oracle: the [MS-NLMP] 4.2.4 vectors and the real clients in
 * tests/integration are.
 *
 * Usage:
 *   ntlm_client_new(&opts, &c);
 *   ntlm_client_negotiate(c, &neg, &neg_len);            -> server
 *   ntlm_client_authenticate(c, chal, chal_len, &auth, &auth_len);  -> server
 *   ntlm_client_sign / _seal (client to server), _check / _unseal (server to
 *   client), with implicit sequence numbers per direction;
 *   ntlm_client_free(c);                                  wipes every key
 *
 * Single-threaded; no I/O. The password is hashed at ntlm_client_new and not
 * kept; the caller wipes its own copy.
 */
#ifndef WITNESS_NTLM_CLIENT_H
#define WITNESS_NTLM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ntlm_client ntlm_client_t;

/* rpcclient's [seal] NEGOTIATE flags (Samba 4.17): UNICODE, REQUEST_TARGET,
 * SIGN, SEAL, NTLM, ALWAYS_SIGN, ESS, VERSION, 128, KEY_EXCH. */
#define NTLM_CLIENT_DEFAULT_FLAGS 0x62088235u

struct ntlm_client_opts {
	const char *user;        /* UTF-8, required */
	const char *domain;      /* UTF-8; NULL = "" */
	const char *password;    /* UTF-8, required; hashed, not kept */
	const char *workstation; /* NULL = "WITNESS-CLIENT" */
	uint32_t flags;          /* NEGOTIATE flags; 0 = NTLM_CLIENT_DEFAULT_FLAGS */
	bool short_negotiate;    /* 32-byte NEGOTIATE without VERSION (impacket's form) */
	bool no_mic;             /* no MsvAvFlags/MIC (impacket, old clients) */
	/* Tests only: */
	bool fixed_random; /* client challenge 0xaa.., session key 0x55.., time 0
	                    * when the server sends none ([MS-NLMP] 4.2.1) */
	bool test_ntlmv1;  /* send a 24-byte NT response (must be refused) */
	bool test_bad_mic; /* flip a bit of the MIC (must be refused) */
};

/* *out owned by the caller (ntlm_client_free). WD_EINVAL for a missing user or
 * password or a name that is not UTF-8. */
int ntlm_client_new(const struct ntlm_client_opts *opts, ntlm_client_t **out);
void ntlm_client_free(ntlm_client_t *c);

/* The NEGOTIATE_MESSAGE; *out borrowed from c, valid until ntlm_client_free. */
int ntlm_client_negotiate(ntlm_client_t *c, const uint8_t **out, size_t *out_len);

/*
 * Parses the server's CHALLENGE_MESSAGE and builds AUTHENTICATE (*out
 * malloc'd, caller frees). Derives the session keys. WD_EPROTO for a
 * malformed challenge, WD_ESTATE before ntlm_client_negotiate. May be called
 * once per negotiate (a second call starts the session security again).
 */
int ntlm_client_authenticate(ntlm_client_t *c, const uint8_t *chal, size_t chal_len, uint8_t **out,
                             size_t *out_len);

/* Negotiated flags (from CHALLENGE); 0 before authenticate. */
uint32_t ntlm_client_flags(const ntlm_client_t *c);
/* The exported session key ([MS-NLMP] 3.1.5.1.2), e.g. for SMB2 signing.
 * WD_ESTATE before authenticate. */
int ntlm_client_session_key(const ntlm_client_t *c, uint8_t key[16]);

/*
 * Session security. sign/seal: client to server; check/unseal: server to
 * client. The whole message [msg, +len) is signed; seal encrypts
 * [enc_off, +enc_len) in place after the MAC is taken (the order [MS-NLMP]
 * 3.4.3 prescribes). check/unseal return WD_ESIG for a bad or replayed
 * signature; the RC4 stream has moved on then, so the context must not
 * be used after that (close the connection). WD_ESTATE before authenticate.
 */
int ntlm_client_sign(ntlm_client_t *c, const uint8_t *msg, size_t len, uint8_t sig[16]);
int ntlm_client_seal(ntlm_client_t *c, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                     uint8_t sig[16]);
int ntlm_client_check(ntlm_client_t *c, const uint8_t *msg, size_t len, const uint8_t sig[16]);
int ntlm_client_unseal(ntlm_client_t *c, uint8_t *msg, size_t len, size_t enc_off, size_t enc_len,
                       const uint8_t sig[16]);
/* SPNEGO's mechListMIC quirk: restart both RC4 streams, keep the sequence
 * numbers (as the server half's ntlmssp_reset_rc4). */
int ntlm_client_reset_rc4(ntlm_client_t *c);
/* Next client-to-server sequence number (tests). */
uint32_t ntlm_client_seq(const ntlm_client_t *c);

#endif
