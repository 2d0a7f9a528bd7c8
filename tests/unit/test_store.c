/*
 * test_store.c - the sqlite registration store: schema round trip, rows of
 * an earlier run cleared at open, WAL mode, and the failure paths: a write
 * lock held by another connection (insert fails, delete is queued and
 * retried) and a full database.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/store.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/wd-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/registrations.sqlite", dir);
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void fill(struct store_registration *r, int i, char *uuidbuf)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%08x-1111-4222-8333-444455556666", i);
	(void)uuidbuf;
	r->version = 0x00020000;
	r->net_name = "WITSRV";
	r->share_name = (i % 2) ? "SHARE1" : NULL;
	r->ip_address = "127.0.100.1";
	r->client_computer_name = "CLIENTBOX";
	r->flags = 1;
	r->timeout = 15;
	r->handle_type = 1;
	r->node = 0;
	r->pid = 4242;
	r->account_name = "alice";
	r->domain_name = "TESTDOM";
	r->account_sid = "S-1-5-21-1-2-3-1001";
	r->local_address = "ipv4:127.0.0.1:49152";
	r->remote_address = "ipv4:127.0.0.1:51234";
	r->registration_time_us = 1700000000000000LL + i;
}

struct collect {
	int n;
	struct store_registration first;
	char net[32], share[32], acct[32], sid[64], la[64], ra[64], ip[64], ccn[64];
	int first_share_null;
};

static int collect_cb(void *arg, const struct store_registration *r)
{
	struct collect *c = arg;

	if (c->n++ == 0) {
		c->first = *r;
		snprintf(c->net, sizeof(c->net), "%s", r->net_name);
		c->first_share_null = r->share_name == NULL;
		snprintf(c->share, sizeof(c->share), "%s", r->share_name ? r->share_name : "");
		snprintf(c->acct, sizeof(c->acct), "%s", r->account_name);
		snprintf(c->sid, sizeof(c->sid), "%s", r->account_sid);
		snprintf(c->la, sizeof(c->la), "%s", r->local_address);
		snprintf(c->ra, sizeof(c->ra), "%s", r->remote_address);
		snprintf(c->ip, sizeof(c->ip), "%s", r->ip_address);
		snprintf(c->ccn, sizeof(c->ccn), "%s", r->client_computer_name);
	}
	return 0;
}

START_TEST(test_roundtrip)
{
	store_t *s;
	struct store_registration r;
	struct collect c = {0};
	uint64_t n = 99;

	ck_assert_int_eq(store_open(path, &s), 0);
	fill(&r, 1, NULL);
	ck_assert_int_eq(store_insert(s, &r), 0);
	ck_assert_int_eq(store_insert(s, &r), WD_EEXIST);
	fill(&r, 2, NULL);
	ck_assert_int_eq(store_insert(s, &r), 0);
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(store_foreach(s, collect_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.first.uuid, "00000001-1111-4222-8333-444455556666");
	ck_assert_uint_eq(c.first.version, 0x00020000);
	ck_assert_str_eq(c.net, "WITSRV");
	ck_assert_str_eq(c.share, "SHARE1");
	ck_assert_str_eq(c.ip, "127.0.100.1");
	ck_assert_str_eq(c.ccn, "CLIENTBOX");
	ck_assert_uint_eq(c.first.flags, 1);
	ck_assert_uint_eq(c.first.timeout, 15);
	ck_assert_uint_eq(c.first.handle_type, 1);
	ck_assert_uint_eq(c.first.pid, 4242);
	ck_assert_str_eq(c.acct, "alice");
	ck_assert_str_eq(c.sid, "S-1-5-21-1-2-3-1001");
	ck_assert_str_eq(c.la, "ipv4:127.0.0.1:49152");
	ck_assert_str_eq(c.ra, "ipv4:127.0.0.1:51234");
	ck_assert_int_eq(c.first.registration_time_us, 1700000000000001LL);

	ck_assert_int_eq(store_delete(s, "00000001-1111-4222-8333-444455556666"), 0);
	ck_assert_int_eq(store_delete(s, "00000001-1111-4222-8333-444455556666"), WD_ENOTFOUND);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_foreach(s, collect_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert(c.first_share_null);
	store_close(s);
}
END_TEST

START_TEST(test_cleared_at_open_and_wal)
{
	store_t *s;
	struct store_registration r;
	uint64_t n = 99;
	sqlite3 *db;
	sqlite3_stmt *st;

	ck_assert_int_eq(store_open(path, &s), 0);
	for (int i = 0; i < 5; i++) {
		fill(&r, i, NULL);
		ck_assert_int_eq(store_insert(s, &r), 0);
	}
	store_close(s);
	/* Rows of the earlier run are still in the file ... */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM registrations", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 5);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* ... and gone when the next run opens the store. */
	ck_assert_int_eq(store_open(path, &s), 0);
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_close(s);
}
END_TEST

struct ip_row {
	char addr[48];
	bool available;
	uint32_t node;
};

static int collect_ip(void *arg, const char *addr, bool available, uint32_t node)
{
	struct ip_row *rows = arg;
	int i = 0;

	while (rows[i].addr[0] != '\0')
		i++;
	snprintf(rows[i].addr, sizeof(rows[i].addr), "%s", addr);
	rows[i].available = available;
	rows[i].node = node;
	return 0;
}

/* The static backend's states outlive a restart (registrations do not) until cleared. */
START_TEST(test_static_ips_kept)
{
	store_t *s;
	struct store_registration r;
	struct ip_row rows[4];
	uint64_t n = 99;

	ck_assert_int_eq(store_open(path, &s), 0);
	fill(&r, 1, NULL);
	ck_assert_int_eq(store_insert(s, &r), 0);
	ck_assert_int_eq(store_static_ip_put(s, "127.0.0.3", false, 1), 0);
	ck_assert_int_eq(store_static_ip_put(s, "127.0.0.2", true, 2), 0);
	ck_assert_int_eq(store_static_ip_put(s, "127.0.0.3", true, 5), 0); /* replaces */
	store_close(s);

	ck_assert_int_eq(store_open(path, &s), 0);
	ck_assert_int_eq(store_count(s, &n), 0);
	memset(rows, 0, sizeof(rows));
	ck_assert_int_eq(store_static_ip_foreach(s, collect_ip, rows), 0);
	ck_assert_str_eq(rows[0].addr, "127.0.0.2");
	ck_assert(rows[0].available);
	ck_assert_uint_eq(rows[0].node, 2);
	ck_assert_str_eq(rows[1].addr, "127.0.0.3");
	ck_assert(rows[1].available);
	ck_assert_uint_eq(rows[1].node, 5);
	ck_assert_str_eq(rows[2].addr, "");
	ck_assert_int_eq(store_static_ip_clear(s), 0);
	memset(rows, 0, sizeof(rows));
	ck_assert_int_eq(store_static_ip_foreach(s, collect_ip, rows), 0);
	ck_assert_str_eq(rows[0].addr, "");
	ck_assert_int_eq(store_static_ip_put(NULL, "x", true, 0), WD_EINVAL);
	store_close(s);
}
END_TEST

/* Another connection holds the write lock: our writes fail without blocking. */
START_TEST(test_locked_insert_fails_delete_queued)
{
	store_t *s;
	struct store_registration r;
	sqlite3 *other;
	uint64_t n = 0;

	ck_assert_int_eq(store_open(path, &s), 0);
	fill(&r, 1, NULL);
	ck_assert_int_eq(store_insert(s, &r), 0);
	fill(&r, 2, NULL);
	ck_assert_int_eq(store_insert(s, &r), 0);

	ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	fill(&r, 3, NULL);
	ck_assert_int_eq(store_insert(s, &r), WD_EIO);
	ck_assert_int_eq(store_delete(s, "00000001-1111-4222-8333-444455556666"), WD_EIO);
	ck_assert_uint_eq(store_pending_deletes(s), 1);
	ck_assert_int_eq(store_delete(s, "00000002-1111-4222-8333-444455556666"), WD_EIO);
	ck_assert_uint_eq(store_pending_deletes(s), 2);
	ck_assert_int_eq(store_retry(s), WD_EIO);

	ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);

	/* The next write retries the queue first. */
	ck_assert_int_eq(store_insert(s, &r), 0);
	ck_assert_uint_eq(store_pending_deletes(s), 0);
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, 1); /* only #3 */
	store_close(s);
}
END_TEST

/* A full database (size limit reached) fails inserts with WD_EIO; rows already
 * stored stay, deletes still work, and inserts work again after space frees. */
START_TEST(test_full_db)
{
	store_t *s;
	struct store_registration r;
	int i, rc = 0, stored = 0;
	uint64_t n = 0;

	ck_assert_int_eq(store_open(path, &s), 0);
	ck_assert_int_eq(store_limit_size(s, 1), 0); /* rounds up to the current size */
	for (i = 0; i < 10000; i++) {
		fill(&r, 1000 + i, NULL);
		rc = store_insert(s, &r);
		if (rc != 0)
			break;
		stored++;
	}
	ck_assert_int_eq(rc, WD_EIO);
	ck_assert_int_lt(stored, 10000);
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, (uint64_t)stored);
	/* The failed row is not there; an earlier one can be deleted. */
	ck_assert_int_eq(store_delete(s, r.uuid), WD_ENOTFOUND);
	if (stored > 0) {
		struct store_registration r0;
		fill(&r0, 1000, NULL);
		ck_assert_int_eq(store_delete(s, r0.uuid), 0);
		ck_assert_uint_eq(store_pending_deletes(s), 0);
	}
	ck_assert_int_eq(store_limit_size(s, 0), 0); /* no limit */
	ck_assert_int_eq(store_insert(s, &r), 0);
	store_close(s);
}
END_TEST

/* The directory is read-only: open fails cleanly with WD_EIO. */
START_TEST(test_open_fails)
{
	store_t *s = (store_t *)0x1;

	ck_assert_int_eq(store_open("/nonexistent-dir-wd/x.sqlite", &s), WD_EIO);
	ck_assert_ptr_eq(s, (store_t *)0x1);
}
END_TEST

/*
 * No checkpoint inside a commit: 1,500 inserts (sqlite's own would have run
 * at 1,000 pages) leave them all in the WAL, visible to a second connection
 * (what another reader, `sqlite3 registrations.sqlite`, sees); one
 * store_checkpoint() copies them back and the rows stay. Past 8192 pages a
 * commit checkpoints by itself, which bounds the WAL.
 */
START_TEST(test_checkpoint_when_asked)
{
	store_t *s;
	struct store_registration r;
	sqlite3 *other;
	sqlite3_stmt *st;
	uint64_t n = 0;

	ck_assert_int_eq(store_open(path, &s), 0);
	for (int i = 0; i < 1500; i++) {
		fill(&r, i, NULL);
		ck_assert_int_eq(store_insert(s, &r), 0);
	}
	ck_assert_uint_ge(store_wal_pages(s), 1500);
	ck_assert_int_eq(sqlite3_open_v2(path, &other, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(other, "SELECT count(*) FROM registrations", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 1500);
	sqlite3_finalize(st);
	sqlite3_close(other);
	ck_assert_int_eq(store_checkpoint(s), 0);
	ck_assert_uint_eq(store_wal_pages(s), 0);
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, 1500);
	for (int i = 1500; i < 10500; i++) {
		fill(&r, i, NULL);
		ck_assert_int_eq(store_insert(s, &r), 0);
		ck_assert_uint_le(store_wal_pages(s), 8192 + 8);
	}
	ck_assert_int_eq(store_count(s, &n), 0);
	ck_assert_uint_eq(n, 10500);
	store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_cleared_at_open_and_wal);
	tcase_add_test(tc, test_locked_insert_fails_delete_queued);
	tcase_add_test(tc, test_full_db);
	tcase_add_test(tc, test_open_fails);
	tcase_add_test(tc, test_static_ips_kept);
	tcase_add_test(tc, test_checkpoint_when_asked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
