/*
 * store.h - the sqlite registration store (WAL). One row per live
 * registration with the fields `net witness list --json` shows. The store is
 * written before memory changes on insert, so a failed write never leaves
 * memory and disk disagreeing; a failed delete is queued and retried.
 */
#ifndef WITNESS_STORE_H
#define WITNESS_STORE_H

#include <stdint.h>

typedef struct store store_t;

struct store_registration {
	char uuid[37];                    /* context handle GUID, lower case */
	uint32_t version;
	const char *net_name;
	const char *share_name;           /* NULL: none */
	const char *ip_address;
	const char *client_computer_name;
	uint32_t flags;
	uint32_t timeout;
	uint32_t handle_type;
	uint32_t node;                    /* vnn */
	uint64_t pid;
	const char *account_name;
	const char *domain_name;
	const char *account_sid;
	const char *local_address;
	const char *remote_address;
	int64_t registration_time_us;     /* Unix epoch microseconds */
};

/* Opens (creates) path, WAL mode, and clears rows left by an earlier run. */
int store_open(const char *path, store_t **out);
void store_close(store_t *s);
int store_insert(store_t *s, const struct store_registration *r);
/* WD_ENOTFOUND if absent. On WD_EIO the delete is queued and retried by the next write. */
int store_delete(store_t *s, const char *uuid);
/* Number of rows (tests, status). */
int store_count(store_t *s, uint64_t *out);
/* Visit rows (tests, offline listing). cb returns nonzero to stop. */
int store_foreach(store_t *s, int (*cb)(void *arg, const struct store_registration *r), void *arg);

#endif
