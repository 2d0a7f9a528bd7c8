/*
 * fuzz_passdb.c - libFuzzer target for the NTLM password file parser
 * (smbpasswd-compatible lines, include/witness/auth_passdb.h): any input
 * parses or is refused, never crashes or leaks; every parsed entry can be
 * found again by its own (domain, name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/auth_passdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	auth_passdb_t *db = NULL;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (auth_passdb_parse(text, &db) == 0) {
		for (size_t i = 0; i < auth_passdb_count(db); i++) {
			const struct auth_passdb_entry *e = auth_passdb_entry(db, i);

			if (e == NULL || auth_passdb_find(db, e->domain, e->name) == NULL)
				abort();
		}
		auth_passdb_free(db);
	}
	free(text);
	return 0;
}
