/*
 * store.h - the sqlite registration store (WAL). One row per live
 * registration with the fields `net witness list --json` shows, cleared at
 * every start (those registrations' connections are gone); and the static
 * backend's runtime interface states, which are kept across restarts. The store is
 * written before memory changes on insert, so a failed write never leaves
 * memory and disk disagreeing; a failed delete is queued and retried.
 */
#ifndef WITNESS_STORE_H
#define WITNESS_STORE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct store store_t;

struct store_registration {
	char uuid[37]; /* context handle GUID, lower case */
	uint32_t version;
	const char *net_name;
	const char *share_name; /* NULL: none */
	const char *ip_address;
	const char *client_computer_name;
	uint32_t flags;
	uint32_t timeout;
	uint32_t handle_type;
	uint32_t node; /* vnn */
	uint64_t pid;
	const char *account_name;
	const char *domain_name;
	const char *account_sid;
	const char *local_address;
	const char *remote_address;
	int64_t registration_time_us; /* Unix epoch microseconds */
};

/*
 * Opens (creates) path, WAL mode, synchronous=NORMAL, busy timeout 0 (a lock
 * held by someone else is a failed write, never a blocked loop), and clears
 * rows left by an earlier run. WD_EIO on any sqlite failure.
 */
int store_open(const char *path, store_t **out);
void store_close(store_t *s);
/* Strings are copied by sqlite. WD_EEXIST for a duplicate uuid, WD_EIO on failure. */
int store_insert(store_t *s, const struct store_registration *r);
/* WD_ENOTFOUND if absent. On WD_EIO the delete is queued and retried by the next write. */
int store_delete(store_t *s, const char *uuid);
/*
 * Retry the queued failed deletes, oldest first (the witness calls it from a
 * timer while store_pending_deletes() > 0). 0 when the queue is empty, WD_EIO
 * if one still fails. Every write, count and foreach also retries first.
 */
int store_retry(store_t *s);
unsigned store_pending_deletes(const store_t *s);
/*
 * Copy the WAL back into the database (a passive checkpoint: it never waits
 * for a reader). sqlite's own checkpoint inside every thousandth commit is
 * off; the witness calls this when writes pause with 1000 pages or more in
 * the WAL, and a commit that leaves
 * more than 8192 pages in the WAL checkpoints by itself. 0 or WD_EIO.
 */
int store_checkpoint(store_t *s);
/* Pages in the WAL after the last commit (0 after a checkpoint). */
unsigned store_wal_pages(const store_t *s);
/* Cap the file at bytes (rounded up to whole pages, never below the current
 * size; 0 = no cap). Inserts beyond it fail with WD_EIO (disk-usage bound). */
int store_limit_size(store_t *s, uint64_t bytes);
/* Number of rows (tests, status). */
int store_count(store_t *s, uint64_t *out);
/* Visit rows (tests, offline listing). cb returns nonzero to stop. */
int store_foreach(store_t *s, int (*cb)(void *arg, const struct store_registration *r), void *arg);

/*
 * The static backend's interface states set at run time (witnessctl ip set),
 * kept across restarts until witnessctl ip reset clears them. put replaces
 * the row of addr (copied); WD_EIO on failure.
 */
int store_static_ip_put(store_t *s, const char *addr, bool available, uint32_t node);
/* Visit the rows, by address; cb returns nonzero to stop. */
int store_static_ip_foreach(store_t *s,
                            int (*cb)(void *arg, const char *addr, bool available, uint32_t node),
                            void *arg);
int store_static_ip_clear(store_t *s);

#endif
