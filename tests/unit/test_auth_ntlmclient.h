/*
 * test_auth_ntlmclient.h - the unit tests' handle on the NTLMSSP client
 * (include/witness/ntlm_client.h): options set field by field after
 * tc_init, as the tests vary one at a time, and the byte helpers they use to
 * build messages by hand.
 */
#ifndef TEST_AUTH_NTLMCLIENT_H
#define TEST_AUTH_NTLMCLIENT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/auth/auth_int.h"
#include "witness/ntlm_client.h"

struct tclient {
	const char *user, *domain, *password;
	uint32_t neg_flags;   /* what NEGOTIATE asks for */
	bool short_negotiate; /* 32-byte form (impacket) */
	bool send_mic;        /* MsvAvFlags 0x2 + MIC */
	bool ntlmv1;          /* send a 24-byte NT response */
	bool corrupt_mic;
	ntlm_client_t *nc; /* made by tc_negotiate from the fields above */
};

static inline void tc_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff, p[1] = v >> 8;
}
static inline void tc_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

static inline void tc_init(struct tclient *c, const char *user, const char *domain,
                           const char *password)
{
	memset(c, 0, sizeof(*c));
	c->user = user;
	c->domain = domain;
	c->password = password;
	c->neg_flags = NTLM_CLIENT_DEFAULT_FLAGS;
	c->send_mic = true;
}

static inline void tc_negotiate(struct tclient *c, const uint8_t **out, size_t *len)
{
	struct ntlm_client_opts o = {.user = c->user,
	                             .domain = c->domain,
	                             .password = c->password,
	                             .workstation = "CLIENTBOX",
	                             .flags = c->neg_flags,
	                             .short_negotiate = c->short_negotiate,
	                             .no_mic = !c->send_mic,
	                             .test_ntlmv1 = c->ntlmv1,
	                             .test_bad_mic = c->corrupt_mic};

	ntlm_client_free(c->nc);
	ck_assert_int_eq(ntlm_client_new(&o, &c->nc), 0);
	ck_assert_int_eq(ntlm_client_negotiate(c->nc, out, len), 0);
}

/* Builds AUTHENTICATE from CHALLENGE; *out malloc'd. */
static inline int tc_authenticate(struct tclient *c, const uint8_t *chal, size_t chal_len,
                                  uint8_t **out, size_t *out_len)
{
	return ntlm_client_authenticate(c->nc, chal, chal_len, out, out_len);
}

static inline void tc_reset_rc4(struct tclient *c)
{
	ck_assert_int_eq(ntlm_client_reset_rc4(c->nc), 0);
}

/* Client-side sign (c2s). seal: encrypt [enc_off, +enc_len) after the MAC. */
static inline void tc_protect(struct tclient *c, uint8_t *msg, size_t len, bool seal,
                              size_t enc_off, size_t enc_len, uint8_t sig[16])
{
	if (seal)
		ck_assert_int_eq(ntlm_client_seal(c->nc, msg, len, enc_off, enc_len, sig), 0);
	else
		ck_assert_int_eq(ntlm_client_sign(c->nc, msg, len, sig), 0);
}

/* Client-side verify (s2c); returns 0 when good. */
static inline int tc_verify(struct tclient *c, uint8_t *msg, size_t len, bool seal, size_t enc_off,
                            size_t enc_len, const uint8_t sig[16])
{
	if (seal)
		return ntlm_client_unseal(c->nc, msg, len, enc_off, enc_len, sig);
	return ntlm_client_check(c->nc, msg, len, sig);
}

static inline void tc_free(struct tclient *c)
{
	ntlm_client_free(c->nc);
	c->nc = NULL;
}

#endif
