/*
 * bench_store.c - registration store throughput: N inserts then N deletes,
 * each its own transaction (as the witness does them: one per Register /
 * UnRegister), WAL + synchronous=NORMAL.
 *
 *   bench_store [N] [dir]      (defaults: 20000, a fresh directory in /tmp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "witness/log.h"
#include "witness/store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	char dir[256], path[300], cmd[320];
	store_t *s;
	double t0, t1, t2;
	uint64_t rows = 0;

	if (argc > 2)
		snprintf(dir, sizeof(dir), "%s", argv[2]);
	else {
		snprintf(dir, sizeof(dir), "/tmp/wd-bench-store-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/registrations.sqlite", dir);
	wd_log_set_level(WD_LOG_WARNING);
	if (store_open(path, &s) != 0) {
		fprintf(stderr, "store_open %s failed\n", path);
		return 1;
	}
	t0 = now();
	for (int i = 0; i < n; i++) {
		struct store_registration r = {
		    .version = 0x00020000,
		    .net_name = "WITSRV",
		    .share_name = (i & 1) ? "SHARE1" : NULL,
		    .ip_address = "192.168.100.17",
		    .client_computer_name = "client-computer-0001.example.com",
		    .flags = 0,
		    .timeout = 120,
		    .handle_type = 1,
		    .node = 0,
		    .pid = 4242,
		    .account_name = "CLIENT0001$",
		    .domain_name = "EXAMPLE",
		    .account_sid = "S-1-5-21-1111111111-2222222222-3333333333-1104",
		    .local_address = "ipv4:192.168.100.10:49152",
		    .remote_address = "ipv4:192.168.100.201:50123",
		    .registration_time_us = 1700000000000000LL + i,
		};
		snprintf(r.uuid, sizeof(r.uuid), "%08x-1111-4222-8333-444455556666", i);
		if (store_insert(s, &r) != 0) {
			fprintf(stderr, "insert %d failed\n", i);
			return 1;
		}
	}
	t1 = now();
	store_count(s, &rows);
	for (int i = 0; i < n; i++) {
		char uuid[37];

		snprintf(uuid, sizeof(uuid), "%08x-1111-4222-8333-444455556666", i);
		if (store_delete(s, uuid) != 0) {
			fprintf(stderr, "delete %d failed\n", i);
			return 1;
		}
	}
	t2 = now();
	printf("store: %d rows (count %llu): insert %.0f/s (%.1f us each), delete %.0f/s (%.1f us "
	       "each)\n",
	       n, (unsigned long long)rows, n / (t1 - t0), (t1 - t0) * 1e6 / n, n / (t2 - t1),
	       (t2 - t1) * 1e6 / n);
	store_close(s);
	if (argc <= 2) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
