/*
 * guid.c - GUID parsing, formatting, wire form and random generation
 * (include/witness/guid.h). Wire form is the NDR layout of struct GUID
 * ([MS-DTYP] 2.3.4.2): time_low, time_mid, time_hi_and_version little-endian,
 * clock_seq and node as bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "witness/err.h"
#include "witness/guid.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wd_guid_parse(const char *s, struct wd_guid *out)
{
	uint8_t b[16];
	int bi = 0;

	if (s == NULL || out == NULL)
		return WD_EINVAL;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return WD_EINVAL;
			continue;
		}
		int hi = hexval(s[i]);
		if (hi < 0)
			return WD_EINVAL;
		int lo = hexval(s[++i]);
		if (lo < 0)
			return WD_EINVAL;
		b[bi++] = (uint8_t)(hi << 4 | lo);
	}
	if (s[36] != '\0')
		return WD_EINVAL;
	/* b holds the big-endian textual order. */
	out->time_low = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	out->time_mid = (uint16_t)(b[4] << 8 | b[5]);
	out->time_hi_and_version = (uint16_t)(b[6] << 8 | b[7]);
	memcpy(out->clock_seq, b + 8, 2);
	memcpy(out->node, b + 10, 6);
	return 0;
}

char *wd_guid_format(const struct wd_guid *g, char *buf)
{
	snprintf(buf, WD_GUID_STRLEN, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         g->time_low, g->time_mid, g->time_hi_and_version, g->clock_seq[0], g->clock_seq[1],
	         g->node[0], g->node[1], g->node[2], g->node[3], g->node[4], g->node[5]);
	return buf;
}

int wd_guid_random(struct wd_guid *out)
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return WD_EIO;
		}
		got += (size_t)n;
	}
	/* RFC 4122 4.4: version 4, variant 10xx. */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	out->time_low = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	out->time_mid = (uint16_t)(b[4] << 8 | b[5]);
	out->time_hi_and_version = (uint16_t)(b[6] << 8 | b[7]);
	memcpy(out->clock_seq, b + 8, 2);
	memcpy(out->node, b + 10, 6);
	return 0;
}

bool wd_guid_equal(const struct wd_guid *a, const struct wd_guid *b)
{
	return a->time_low == b->time_low && a->time_mid == b->time_mid &&
	       a->time_hi_and_version == b->time_hi_and_version &&
	       memcmp(a->clock_seq, b->clock_seq, 2) == 0 && memcmp(a->node, b->node, 6) == 0;
}

bool wd_guid_is_nil(const struct wd_guid *g)
{
	static const struct wd_guid nil;
	return wd_guid_equal(g, &nil);
}

void wd_guid_to_wire(const struct wd_guid *g, uint8_t out[16])
{
	out[0] = (uint8_t)g->time_low;
	out[1] = (uint8_t)(g->time_low >> 8);
	out[2] = (uint8_t)(g->time_low >> 16);
	out[3] = (uint8_t)(g->time_low >> 24);
	out[4] = (uint8_t)g->time_mid;
	out[5] = (uint8_t)(g->time_mid >> 8);
	out[6] = (uint8_t)g->time_hi_and_version;
	out[7] = (uint8_t)(g->time_hi_and_version >> 8);
	memcpy(out + 8, g->clock_seq, 2);
	memcpy(out + 10, g->node, 6);
}

void wd_guid_from_wire(const uint8_t in[16], struct wd_guid *out)
{
	out->time_low =
	    (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
	out->time_mid = (uint16_t)(in[4] | in[5] << 8);
	out->time_hi_and_version = (uint16_t)(in[6] | in[7] << 8);
	memcpy(out->clock_seq, in + 8, 2);
	memcpy(out->node, in + 10, 6);
}
