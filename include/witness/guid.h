/*
 * guid.h - GUIDs as DCERPC puts them on the wire (NDR layout of struct GUID).
 */
#ifndef WITNESS_GUID_H
#define WITNESS_GUID_H

#include <stdbool.h>
#include <stdint.h>

struct wd_guid {
	uint32_t time_low;
	uint16_t time_mid;
	uint16_t time_hi_and_version;
	uint8_t clock_seq[2];
	uint8_t node[6];
};

#define WD_GUID_STRLEN 37 /* 36 chars + NUL */

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case). 0 or WD_EINVAL. */
int wd_guid_parse(const char *s, struct wd_guid *out);
/* Lower-case canonical form into buf (WD_GUID_STRLEN bytes). Returns buf. */
char *wd_guid_format(const struct wd_guid *g, char *buf);
/* Random (version 4) GUID from the system CSPRNG. 0 or WD_EIO. */
int wd_guid_random(struct wd_guid *out);
bool wd_guid_equal(const struct wd_guid *a, const struct wd_guid *b);
bool wd_guid_is_nil(const struct wd_guid *g);
/* 16 wire bytes (little-endian fields) <-> struct. */
void wd_guid_to_wire(const struct wd_guid *g, uint8_t out[16]);
void wd_guid_from_wire(const uint8_t in[16], struct wd_guid *out);

#endif
