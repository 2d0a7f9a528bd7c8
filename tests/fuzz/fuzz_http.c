/*
 * fuzz_http.c - libFuzzer target for the metrics listener's HTTP request
 * parser (metrics_http_parse, include/witness/metrics.h): any input is
 * complete, incomplete or refused with one of the documented statuses; a
 * complete head never claims more bytes than it was given; and a prefix of
 * an accepted head is never refused (the listener parses every prefix as
 * bytes arrive) except for the 431 size bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len, int *rc_out, size_t *used_out)
{
	struct metrics_http_request req;
	size_t used = 0;
	int rc = metrics_http_parse(buf, len, &req, &used);

	if (rc == 0) {
		if (used == 0 || used > len)
			abort();
		if (req.method != METRICS_HTTP_GET && req.method != METRICS_HTTP_HEAD)
			abort();
	} else if (rc == WD_EAGAIN) {
		if (len > METRICS_HTTP_MAX_REQUEST)
			abort();
	} else if (rc != 400 && rc != 405 && rc != 431 && rc != 505) {
		abort();
	}
	*rc_out = rc;
	*used_out = used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	size_t used, pused;
	int rc, prc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check(buf, size, &rc, &used);
	if (rc == 0 && used > 1) {
		/* A strict prefix of the head is incomplete, never an answer. */
		check(buf, used - 1, &prc, &pused);
		if (prc != WD_EAGAIN)
			abort();
	}
	free(buf);
	return 0;
}
