/*
 * store.c - the sqlite registration store. One row per live registration,
 * with every field `net witness list --json` shows (Samba source3/utils/net_witness.c).
 *
 * WAL + synchronous=NORMAL: a commit is an append to the WAL without fsync,
 * so a registration costs microseconds, and the file survives a daemon crash
 * (only an OS crash can lose the last commits, which is fine: rows of an
 * earlier run are cleared at open anyway, like Samba's TDB_CLEAR_IF_FIRST).
 *
 * sqlite's automatic checkpoint (copying the WAL back into the database, with
 * an fsync of each) would run inside every thousandth commit, on the loop: at
 * 19,000 registrations that was 7% of witnessd's set-up CPU, copying the same
 * pages again and again. The witness calls store_checkpoint() instead when
 * writes pause (a second after the last one, once the WAL holds 1000 pages,
 * sqlite's own threshold), and a commit that leaves more
 * than STORE_WAL_MAX_PAGES in the WAL checkpoints at once, which bounds the
 * WAL file (32 MiB of 4 KiB pages). What a commit promises is unchanged: it
 * is in the WAL file when store_insert returns.
 *
 * The store never blocks the loop on another writer (busy timeout 0): a
 * locked or full database is a failed write. The witness inserts before it
 * changes memory (a failed insert fails the Register); a failed delete is
 * queued here and retried before every later write and on store_retry().
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/store.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_WAL_MAX_PAGES  8192

struct pending_delete {
	struct pending_delete *next;
	char uuid[37];
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *ins;
	sqlite3_stmt *del;
	sqlite3_stmt *count;
	sqlite3_stmt *all;
	sqlite3_stmt *ip_put, *ip_all, *ip_clear;
	struct pending_delete *pending; /* failed deletes, oldest first */
	struct pending_delete **pending_tail;
	unsigned n_pending;
	unsigned wal_pages; /* in the WAL after the last commit (sqlite3_wal_hook) */
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS registrations ("
    " uuid TEXT PRIMARY KEY NOT NULL," /* context handle GUID, lower case */
    " version INTEGER NOT NULL,"
    " net_name TEXT NOT NULL,"
    " share_name TEXT," /* NULL: none */
    " ip_address TEXT NOT NULL,"
    " client_computer_name TEXT NOT NULL,"
    " flags INTEGER NOT NULL,"
    " timeout INTEGER NOT NULL,"
    " handle_type INTEGER NOT NULL,"
    " node INTEGER NOT NULL," /* server_id.vnn */
    " pid INTEGER NOT NULL,"  /* server_id.pid */
    " account_name TEXT NOT NULL,"
    " domain_name TEXT NOT NULL,"
    " account_sid TEXT NOT NULL,"
    " local_address TEXT NOT NULL,"
    " remote_address TEXT NOT NULL,"
    " registration_time_us INTEGER NOT NULL"
    ") WITHOUT ROWID;";

/*
 * Version 2: the static backend's runtime interface states (witnessctl ip
 * set). Unlike registrations they outlive the process: a keepalived or
 * Pacemaker node that restarts witnessd keeps announcing what its HA script
 * last said, until witnessctl ip reset.
 */
static const char static_ips_sql[] = "CREATE TABLE IF NOT EXISTS static_ips ("
                                     " addr TEXT PRIMARY KEY NOT NULL,"
                                     " available INTEGER NOT NULL,"
                                     " node INTEGER NOT NULL"
                                     ") WITHOUT ROWID;";

static const char insert_sql[] =
    "INSERT INTO registrations (uuid, version, net_name, share_name, ip_address,"
    " client_computer_name, flags, timeout, handle_type, node, pid, account_name,"
    " domain_name, account_sid, local_address, remote_address, registration_time_us)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

static const char select_sql[] =
    "SELECT uuid, version, net_name, share_name, ip_address, client_computer_name, flags,"
    " timeout, handle_type, node, pid, account_name, domain_name, account_sid,"
    " local_address, remote_address, registration_time_us FROM registrations ORDER BY"
    " registration_time_us, uuid";

static void log_sqlite(store_t *s, const char *what, int rc)
{
	wd_log(WD_LOG_ERR, "store.error", "op=%s rc=%d msg=\"%s\"", what, rc,
	       s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int exec(store_t *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		wd_log(WD_LOG_ERR, "store.error", "op=exec rc=%d msg=\"%s\"", rc,
		       msg != NULL ? msg : "");
		sqlite3_free(msg);
		return WD_EIO;
	}
	return 0;
}

/* Reads one integer pragma (journal_mode is text: handled by the caller). */
static int pragma_int(store_t *s, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return WD_EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : WD_EIO;
}

static int set_wal(store_t *s)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return WD_EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(st, 0);
		ok = mode != NULL && strcmp((const char *)mode, "wal") == 0;
	}
	sqlite3_finalize(st);
	return ok ? 0 : WD_EIO;
}

/* Replaces sqlite's autocheckpoint hook: only counts (see the top of the file). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	store_t *s = arg;

	(void)db;
	(void)name;
	s->wal_pages = pages > 0 ? (unsigned)pages : 0;
	return SQLITE_OK;
}

int store_checkpoint(store_t *s)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	if (rc != SQLITE_OK) {
		log_sqlite(s, "checkpoint", rc);
		return WD_EIO;
	}
	s->wal_pages = 0;
	return 0;
}

unsigned store_wal_pages(const store_t *s)
{
	return s->wal_pages;
}

/* After a commit: a WAL over its bound is checkpointed now. */
static void wal_bound(store_t *s)
{
	if (s->wal_pages > STORE_WAL_MAX_PAGES)
		(void)store_checkpoint(s);
}

/* Ownership: *out is freed with store_close. On error *out is untouched. */
int store_open(const char *path, store_t **out)
{
	store_t *s = calloc(1, sizeof(*s));
	int rc, ver = 0, ret = WD_EIO;

	if (s == NULL)
		return WD_ENOMEM;
	s->pending_tail = &s->pending;
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_sqlite(s, "open", rc);
		goto fail;
	}
	/* Never wait for a lock: the loop must not block (a lock is a failure). */
	sqlite3_busy_timeout(s->db, 0);
	sqlite3_wal_hook(s->db, wal_hook, s);
	if (set_wal(s) != 0 || exec(s, "PRAGMA synchronous=NORMAL") != 0 ||
	    exec(s, "PRAGMA foreign_keys=OFF") != 0 ||
	    /* 128 KiB of page cache instead of sqlite's 2 MB: a row is written
	     * once and deleted once, the table is read whole only at start, so a cache
	     * that grows with the rows is memory per client for nothing (the
	     * kernel's page cache serves the few reads; doc/bench.md) */
	    exec(s, "PRAGMA cache_size=-128") != 0)
		goto fail;
	if (pragma_int(s, "PRAGMA user_version", &ver) != 0)
		goto fail;
	if (ver > STORE_SCHEMA_VERSION) {
		wd_log(WD_LOG_ERR, "store.error", "op=open msg=\"schema version %d is newer\"",
		       ver);
		ret = WD_EVERSION;
		goto fail;
	}
	/*
	 * Migrations go here (ver < STORE_SCHEMA_VERSION). The rows are
	 * volatile, so a future incompatible schema may simply drop the table.
	 */
	if (exec(s, schema_sql) != 0 || exec(s, static_ips_sql) != 0 ||
	    exec(s, "PRAGMA user_version=2") != 0)
		goto fail;
	/* Rows of an earlier run describe registrations that died with it. */
	if (exec(s, "DELETE FROM registrations") != 0)
		goto fail;
	if (sqlite3_prepare_v3(s->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->ins, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "DELETE FROM registrations WHERE uuid = ?1", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "SELECT count(*) FROM registrations", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->count, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, select_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->all, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(s->db,
	                       "INSERT OR REPLACE INTO static_ips (addr, available, node)"
	                       " VALUES (?1, ?2, ?3)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &s->ip_put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "SELECT addr, available, node FROM static_ips ORDER BY addr",
	                       -1, SQLITE_PREPARE_PERSISTENT, &s->ip_all, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "DELETE FROM static_ips", -1, SQLITE_PREPARE_PERSISTENT,
	                       &s->ip_clear, NULL) != SQLITE_OK) {
		log_sqlite(s, "prepare", sqlite3_errcode(s->db));
		goto fail;
	}
	wd_log(WD_LOG_INFO, "store.open", "path=%s", path);
	*out = s;
	return 0;
fail:
	store_close(s);
	return ret;
}

void store_close(store_t *s)
{
	struct pending_delete *p, *next;

	if (s == NULL)
		return;
	if (s->n_pending > 0)
		wd_log(WD_LOG_WARNING, "store.close", "pending_deletes=%u", s->n_pending);
	for (p = s->pending; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->count);
	sqlite3_finalize(s->all);
	sqlite3_finalize(s->ip_put);
	sqlite3_finalize(s->ip_all);
	sqlite3_finalize(s->ip_clear);
	sqlite3_close(s->db);
	free(s);
}

/* One delete; 0, WD_ENOTFOUND or WD_EIO. */
static int delete_one(store_t *s, const char *uuid)
{
	int rc;

	sqlite3_bind_text(s->del, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s->del);
	sqlite3_reset(s->del);
	sqlite3_clear_bindings(s->del);
	if (rc != SQLITE_DONE) {
		log_sqlite(s, "delete", rc);
		return WD_EIO;
	}
	wal_bound(s);
	return sqlite3_changes(s->db) > 0 ? 0 : WD_ENOTFOUND;
}

/* Retries queued deletes in order; stops at the first that still fails. */
int store_retry(store_t *s)
{
	while (s->pending != NULL) {
		struct pending_delete *p = s->pending;

		if (delete_one(s, p->uuid) == WD_EIO)
			return WD_EIO;
		s->pending = p->next;
		if (s->pending == NULL)
			s->pending_tail = &s->pending;
		s->n_pending--;
		wd_log(WD_LOG_INFO, "store.retry", "uuid=%s", p->uuid);
		free(p);
	}
	return 0;
}

int store_limit_size(store_t *s, uint64_t bytes)
{
	char sql[64];
	int page_size = 4096, pages = 0;
	uint64_t want;

	if (pragma_int(s, "PRAGMA page_size", &page_size) != 0 || page_size <= 0)
		return WD_EIO;
	want = bytes == 0 ? 0xFFFFFFFEu : (bytes + (uint64_t)page_size - 1) / (uint64_t)page_size;
	if (want > 0xFFFFFFFEu)
		want = 0xFFFFFFFEu;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%llu", (unsigned long long)want);
	/* sqlite never shrinks below the current size: the result is the real cap. */
	if (pragma_int(s, sql, &pages) != 0)
		return WD_EIO;
	return 0;
}

unsigned store_pending_deletes(const store_t *s)
{
	return s->n_pending;
}

static void bind_text_or_empty(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v != NULL ? v : "", -1, SQLITE_STATIC);
}

int store_insert(store_t *s, const struct store_registration *r)
{
	int rc;

	if (r->uuid[0] == '\0' || r->net_name == NULL || r->ip_address == NULL ||
	    r->client_computer_name == NULL)
		return WD_EINVAL;
	(void)store_retry(s);
	sqlite3_bind_text(s->ins, 1, r->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->ins, 2, r->version);
	sqlite3_bind_text(s->ins, 3, r->net_name, -1, SQLITE_STATIC);
	if (r->share_name != NULL)
		sqlite3_bind_text(s->ins, 4, r->share_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->ins, 4);
	sqlite3_bind_text(s->ins, 5, r->ip_address, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->ins, 6, r->client_computer_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->ins, 7, r->flags);
	sqlite3_bind_int64(s->ins, 8, r->timeout);
	sqlite3_bind_int64(s->ins, 9, r->handle_type);
	sqlite3_bind_int64(s->ins, 10, r->node);
	sqlite3_bind_int64(s->ins, 11, (sqlite3_int64)r->pid);
	bind_text_or_empty(s->ins, 12, r->account_name);
	bind_text_or_empty(s->ins, 13, r->domain_name);
	bind_text_or_empty(s->ins, 14, r->account_sid);
	bind_text_or_empty(s->ins, 15, r->local_address);
	bind_text_or_empty(s->ins, 16, r->remote_address);
	sqlite3_bind_int64(s->ins, 17, r->registration_time_us);
	rc = sqlite3_step(s->ins);
	sqlite3_reset(s->ins);
	sqlite3_clear_bindings(s->ins);
	if (rc == SQLITE_CONSTRAINT)
		return WD_EEXIST;
	if (rc != SQLITE_DONE) {
		log_sqlite(s, "insert", rc);
		return WD_EIO;
	}
	wal_bound(s);
	return 0;
}

int store_delete(store_t *s, const char *uuid)
{
	struct pending_delete *p;
	int rc;

	if (uuid == NULL || strlen(uuid) >= sizeof(p->uuid))
		return WD_EINVAL;
	/* Older failed deletes go first so the order of writes is kept. */
	if (store_retry(s) == 0) {
		rc = delete_one(s, uuid);
		if (rc != WD_EIO)
			return rc;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return WD_ENOMEM;
	memcpy(p->uuid, uuid, strlen(uuid) + 1);
	*s->pending_tail = p;
	s->pending_tail = &p->next;
	s->n_pending++;
	wd_log(WD_LOG_WARNING, "store.delete_queued", "uuid=%s pending=%u", uuid, s->n_pending);
	return WD_EIO;
}

int store_count(store_t *s, uint64_t *out)
{
	int rc;

	(void)store_retry(s);
	rc = sqlite3_step(s->count);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(s->count, 0);
	sqlite3_reset(s->count);
	if (rc != SQLITE_ROW) {
		log_sqlite(s, "count", rc);
		return WD_EIO;
	}
	return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

int store_foreach(store_t *s, int (*cb)(void *arg, const struct store_registration *r), void *arg)
{
	int rc;

	(void)store_retry(s);
	while ((rc = sqlite3_step(s->all)) == SQLITE_ROW) {
		struct store_registration r;
		const char *uuid = col_text(s->all, 0);

		memset(&r, 0, sizeof(r));
		strncpy(r.uuid, uuid, sizeof(r.uuid) - 1);
		r.version = (uint32_t)sqlite3_column_int64(s->all, 1);
		r.net_name = col_text(s->all, 2);
		r.share_name =
		    sqlite3_column_type(s->all, 3) == SQLITE_NULL ? NULL : col_text(s->all, 3);
		r.ip_address = col_text(s->all, 4);
		r.client_computer_name = col_text(s->all, 5);
		r.flags = (uint32_t)sqlite3_column_int64(s->all, 6);
		r.timeout = (uint32_t)sqlite3_column_int64(s->all, 7);
		r.handle_type = (uint32_t)sqlite3_column_int64(s->all, 8);
		r.node = (uint32_t)sqlite3_column_int64(s->all, 9);
		r.pid = (uint64_t)sqlite3_column_int64(s->all, 10);
		r.account_name = col_text(s->all, 11);
		r.domain_name = col_text(s->all, 12);
		r.account_sid = col_text(s->all, 13);
		r.local_address = col_text(s->all, 14);
		r.remote_address = col_text(s->all, 15);
		r.registration_time_us = sqlite3_column_int64(s->all, 16);
		if (cb(arg, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s->all);
	if (rc != SQLITE_DONE) {
		log_sqlite(s, "select", rc);
		return WD_EIO;
	}
	return 0;
}

/* ---- the static backend's interface states ---- */

int store_static_ip_put(store_t *s, const char *addr, bool available, uint32_t node)
{
	int rc;

	if (s == NULL || addr == NULL)
		return WD_EINVAL;
	sqlite3_bind_text(s->ip_put, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(s->ip_put, 2, available ? 1 : 0);
	sqlite3_bind_int64(s->ip_put, 3, (sqlite3_int64)node);
	rc = sqlite3_step(s->ip_put);
	sqlite3_reset(s->ip_put);
	sqlite3_clear_bindings(s->ip_put);
	if (rc != SQLITE_DONE) {
		log_sqlite(s, "static_ip_put", rc);
		return WD_EIO;
	}
	return 0;
}

int store_static_ip_foreach(store_t *s,
                            int (*cb)(void *arg, const char *addr, bool available, uint32_t node),
                            void *arg)
{
	int rc, ret = 0;

	if (s == NULL || cb == NULL)
		return WD_EINVAL;
	while ((rc = sqlite3_step(s->ip_all)) == SQLITE_ROW) {
		const unsigned char *a = sqlite3_column_text(s->ip_all, 0);

		if (a == NULL)
			continue;
		if (cb(arg, (const char *)a, sqlite3_column_int(s->ip_all, 1) != 0,
		       (uint32_t)sqlite3_column_int64(s->ip_all, 2)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_sqlite(s, "static_ip_foreach", rc);
		ret = WD_EIO;
	}
	sqlite3_reset(s->ip_all);
	return ret;
}

int store_static_ip_clear(store_t *s)
{
	int rc;

	if (s == NULL)
		return WD_EINVAL;
	rc = sqlite3_step(s->ip_clear);
	sqlite3_reset(s->ip_clear);
	if (rc != SQLITE_DONE) {
		log_sqlite(s, "static_ip_clear", rc);
		return WD_EIO;
	}
	return 0;
}
