/*
 * fuzz_config.c - libFuzzer target for the witnessd.conf parser: any input
 * must parse or fail with a "name:line:" message, never crash or leak; a
 * config that parses must survive format -> parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wd_config c = {0}, d = {0};
	char err[256];
	char *text = NULL, *text2 = NULL;

	if (wd_config_parse((const char *)data, size, "f.conf", &c, err, sizeof(err)) != 0) {
		if (strncmp(err, "f.conf:", 7) != 0)
			abort();
		return 0;
	}
	if (wd_config_format(&c, &text) != 0)
		abort();
	if (wd_config_parse(text, strlen(text), "r.conf", &d, err, sizeof(err)) != 0)
		abort();
	if (wd_config_format(&d, &text2) != 0 || strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
	wd_config_free(&c);
	wd_config_free(&d);
	return 0;
}
