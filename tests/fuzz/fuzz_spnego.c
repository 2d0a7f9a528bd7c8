/*
 * fuzz_spnego.c - libFuzzer target for the SPNEGO DER parsers. First byte:
 * even = negTokenInit (InitialContextToken), odd = negTokenResp. Whatever
 * parses must rebuild and parse back to the same fields, and every pointer
 * the parser returns must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/auth/auth_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t l, const uint8_t *buf, size_t len)
{
	if (p && (p < buf || p + l > buf + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *buf;
	size_t len;
	uint8_t *out = NULL;
	size_t out_len;

	if (size < 1)
		return 0;
	buf = data + 1;
	len = size - 1;
	if (data[0] % 2 == 0) {
		struct spnego_init a, b;
		if (spnego_parse_init(buf, len, &a) != 0)
			return 0;
		inside(a.mechlist, a.mechlist_len, buf, len);
		inside(a.token, a.token_len, buf, len);
		inside(a.mic, a.mic_len, buf, len);
		if (spnego_build_init(a.mechs, a.n_mechs, a.token, a.token_len, a.mic, a.mic_len,
		                      &out, &out_len) != 0)
			abort();
		if (spnego_parse_init(out, out_len, &b) != 0 || b.n_mechs != a.n_mechs ||
		    b.token_len != a.token_len || b.mic_len != a.mic_len ||
		    (a.token && memcmp(a.token, b.token, a.token_len)) ||
		    (a.mic && memcmp(a.mic, b.mic, a.mic_len)))
			abort();
		for (size_t i = 0; i < a.n_mechs; i++)
			if (!spnego_oid_eq(&a.mechs[i], &b.mechs[i]))
				abort();
	} else {
		struct spnego_resp a, b;
		if (spnego_parse_resp(buf, len, &a) != 0)
			return 0;
		inside(a.token, a.token_len, buf, len);
		inside(a.mic, a.mic_len, buf, len);
		if (spnego_build_resp(&a, &out, &out_len) != 0)
			abort();
		if (spnego_parse_resp(out, out_len, &b) != 0 || a.state != b.state ||
		    a.has_mech != b.has_mech || a.token_len != b.token_len ||
		    a.mic_len != b.mic_len || (a.has_mech && !spnego_oid_eq(&a.mech, &b.mech)) ||
		    (a.token && memcmp(a.token, b.token, a.token_len)) ||
		    (a.mic && memcmp(a.mic, b.mic, a.mic_len)))
			abort();
	}
	free(out);
	return 0;
}
