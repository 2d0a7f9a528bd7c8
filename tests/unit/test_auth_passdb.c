/*
 * test_auth_passdb.c - the smbpasswd-compatible NT hash file: parse, find
 * (domain then any-domain), add / replace / delete / list, atomic rewrite
 * with mode 0600, no clear text on disk, reload through auth_server_reload.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "witness/auth.h"
#include "witness/auth_passdb.h"
#include "witness/err.h"

static char dir[256], path[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/wd-passdb-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ntlm.passwd", dir);
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *p)
{
	static char buf[8192];
	FILE *f = fopen(p, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The NT hash goes through the strict converter: an overlong form is refused. */
START_TEST(test_nthash_strict_utf8)
{
	uint8_t a[16], b[16];
	ck_assert_int_eq(auth_passdb_nthash("A", a), 0);
	ck_assert_int_eq(auth_passdb_nthash("\xc1\x81", b), WD_EINVAL);     /* overlong 'A' */
	ck_assert_int_eq(auth_passdb_nthash("\xed\xa0\x80", b), WD_EINVAL); /* surrogate */
	ck_assert_int_eq(auth_passdb_nthash("p\xc3", b), WD_EINVAL);        /* truncated */
	ck_assert_int_eq(auth_passdb_nthash("\xc3\xa9", b), 0);
}
END_TEST

START_TEST(test_parse_line)
{
	struct auth_passdb_entry e;

	/* a line as Samba's smbpasswd writes it */
	ck_assert_int_eq(auth_passdb_parse_line("alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	                                        "A4F49C406510BDCAB6824EE7C30FD852:[U          ]:"
	                                        "LCT-5FB3C2A1:",
	                                        &e),
	                 0);
	ck_assert_str_eq(e.name, "alice");
	ck_assert_str_eq(e.domain, "");
	ck_assert_uint_eq(e.uid, 1000);
	ck_assert_uint_eq(e.nthash[0], 0xa4);
	ck_assert_uint_eq(e.nthash[15], 0x52);
	ck_assert(!e.disabled);
	ck_assert_int_eq(auth_passdb_parse_line("TESTDOM\\bob:7:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	                                        "a4f49c406510bdcab6824ee7c30fd852:[DU         ]:"
	                                        "LCT-00000000:",
	                                        &e),
	                 0);
	ck_assert_str_eq(e.domain, "TESTDOM");
	ck_assert_str_eq(e.name, "bob");
	ck_assert(e.disabled);
	/* gss-ntlmssp's minimal form: NAME:UID:LM:NT */
	ck_assert_int_eq(auth_passdb_parse_line("carol:5:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	                                        "a4f49c406510bdcab6824ee7c30fd852",
	                                        &e),
	                 0);
	/* no password: present but unusable */
	ck_assert_int_eq(auth_passdb_parse_line("dave:5:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	                                        "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[U          ]:",
	                                        &e),
	                 0);
	ck_assert(e.disabled);
	ck_assert_int_eq(auth_passdb_parse_line("# comment", &e), WD_ENOTFOUND);
	ck_assert_int_eq(auth_passdb_parse_line("   ", &e), WD_ENOTFOUND);
	ck_assert_int_eq(auth_passdb_parse_line("", &e), WD_ENOTFOUND);
	ck_assert_int_eq(auth_passdb_parse_line("alice", &e), WD_EPROTO);
	ck_assert_int_eq(auth_passdb_parse_line("alice:x:X:a4f49c406510bdcab6824ee7c30fd852", &e),
	                 WD_EPROTO);
	ck_assert_int_eq(auth_passdb_parse_line("alice:1:X:a4f49c406510bdcab6824ee7c30fd85", &e),
	                 WD_EPROTO);
	ck_assert_int_eq(auth_passdb_parse_line("alice:1:X:g4f49c406510bdcab6824ee7c30fd852", &e),
	                 WD_EPROTO);
	ck_assert_int_eq(auth_passdb_parse_line(":1:X:a4f49c406510bdcab6824ee7c30fd852", &e),
	                 WD_EPROTO);
	ck_assert_int_eq(auth_passdb_parse_line("D\\:1:X:a4f49c406510bdcab6824ee7c30fd852", &e),
	                 WD_EPROTO);
	ck_assert_int_eq(
	    auth_passdb_parse_line("alice:99999999999:X:a4f49c406510bdcab6824ee7c30fd852", &e),
	    WD_EPROTO);
}
END_TEST

static int count_cb(const char *domain, const char *name, uint32_t uid, bool disabled, void *arg)
{
	char *out = arg;
	char line[300];

	snprintf(line, sizeof(line), "%s|%s|%u|%d;", domain, name, uid, disabled);
	strcat(out, line);
	return 0;
}

START_TEST(test_add_del_list)
{
	struct stat st;
	auth_passdb_t *db;
	const struct auth_passdb_entry *e;
	uint8_t h[16];
	char list[2048] = "";
	char *txt;

	/* missing file */
	ck_assert_int_eq(auth_passdb_load(path, &db), WD_ENOTFOUND);
	ck_assert_int_eq(auth_passdb_user_del(path, NULL, "alice"), WD_ENOTFOUND);

	ck_assert_int_eq(auth_passdb_user_add(path, "TESTDOM", "alice", "Secret123"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "bob", "Bobpass1"), 0);
	ck_assert_int_eq(auth_passdb_user_add(path, "", "carol", "Carol!pw"), 0);
	txt = slurp(path);
	ck_assert_ptr_null(strstr(txt, "Secret123"));
	ck_assert_ptr_null(strstr(txt, "Bobpass1"));
	ck_assert_ptr_nonnull(strstr(txt, "TESTDOM\\alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"));
	ck_assert_ptr_nonnull(strstr(txt, "bob:1001:"));
	ck_assert_ptr_nonnull(strstr(txt, ":[U          ]:LCT-"));

	ck_assert_int_eq(auth_passdb_load(path, &db), 0);
	ck_assert_uint_eq(auth_passdb_count(db), 3);
	e = auth_passdb_find(db, "testdom", "ALICE");
	ck_assert_ptr_nonnull(e);
	auth_passdb_nthash("Secret123", h);
	ck_assert_mem_eq(e->nthash, h, 16);
	/* alice is bound to TESTDOM; bob has no domain and matches any */
	ck_assert_ptr_null(auth_passdb_find(db, "OTHER", "alice"));
	ck_assert_ptr_null(auth_passdb_find(db, "", "alice"));
	ck_assert_ptr_nonnull(auth_passdb_find(db, "OTHER", "bob"));
	ck_assert_ptr_nonnull(auth_passdb_find(db, NULL, "bob"));
	ck_assert_ptr_null(auth_passdb_find(db, NULL, "nobody"));
	auth_passdb_free(db);

	/* replace keeps the UID and changes the hash */
	ck_assert_int_eq(auth_passdb_user_add(path, "TESTDOM", "alice", "NewSecret"), 0);
	ck_assert_int_eq(auth_passdb_load(path, &db), 0);
	ck_assert_uint_eq(auth_passdb_count(db), 3);
	e = auth_passdb_find(db, "TESTDOM", "alice");
	ck_assert_uint_eq(e->uid, 1000);
	auth_passdb_nthash("NewSecret", h);
	ck_assert_mem_eq(e->nthash, h, 16);
	auth_passdb_free(db);

	ck_assert_int_eq(auth_passdb_user_list(path, count_cb, list), 0);
	ck_assert_str_eq(list, "TESTDOM|alice|1000|0;|bob|1001|0;|carol|1002|0;");

	/* delete: exact (domain, name) */
	ck_assert_int_eq(auth_passdb_user_del(path, NULL, "alice"), WD_ENOTFOUND);
	ck_assert_int_eq(auth_passdb_user_del(path, "TESTDOM", "ALICE"), 0);
	ck_assert_int_eq(auth_passdb_user_del(path, "TESTDOM", "alice"), WD_ENOTFOUND);
	list[0] = '\0';
	ck_assert_int_eq(auth_passdb_user_list(path, count_cb, list), 0);
	ck_assert_str_eq(list, "|bob|1001|0;|carol|1002|0;");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	/* invalid input */
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "a:b", "x"), WD_EINVAL);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "a\\b", "x"), WD_EINVAL);
	ck_assert_int_eq(auth_passdb_user_add(path, "D:", "ab", "x"), WD_EINVAL);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "ab", ""), WD_EINVAL);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "a\nb", "x"), WD_EINVAL);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "", "x"), WD_EINVAL);
}
END_TEST

/* The package's file is root:witnessd 0640 and the daemon runs as witnessd:
 * root's "witnessctl user add" must not leave it root:root 0600. */
START_TEST(test_add_keeps_owner_and_mode)
{
	struct stat st;
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0644), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "alice", "Secret123"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640); /* never readable by others */
	if (geteuid() == 0) {
		ck_assert_uint_eq(st.st_uid, 65534);
		ck_assert_uint_eq(st.st_gid, 65534);
	}
	ck_assert_int_eq(auth_passdb_user_del(path, NULL, "alice"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
}
END_TEST

START_TEST(test_comments_kept)
{
	FILE *f = fopen(path, "w");
	char *txt;

	fputs("# managed by witnessctl\n\nold:5:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
	      "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[DU         ]:LCT-00000000:\n",
	      f);
	fclose(f);
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "new", "pw"), 0);
	txt = slurp(path);
	ck_assert_ptr_nonnull(strstr(txt, "# managed by witnessctl\n"));
	ck_assert_ptr_nonnull(strstr(txt, "old:5:"));
	ck_assert_ptr_nonnull(strstr(txt, "new:1000:"));
	/* an account without a usable hash can be deleted too */
	ck_assert_int_eq(auth_passdb_user_del(path, NULL, "old"), 0);
	txt = slurp(path);
	ck_assert_ptr_null(strstr(txt, "old:5:"));
	ck_assert_ptr_nonnull(strstr(txt, "# managed"));
}
END_TEST

START_TEST(test_reload)
{
	struct auth_server_opts o = {.netname = "WITSRV", .ntlm_password_file = path};
	auth_server_t *srv;
	FILE *f;

	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "alice", "pw1"), 0);
	ck_assert_int_eq(auth_server_new(&o, &srv), 0);
	ck_assert(auth_server_offers(srv, AUTH_TYPE_NTLMSSP));
	ck_assert_int_eq(auth_passdb_user_add(path, NULL, "bob", "pw2"), 0);
	ck_assert_int_eq(auth_server_reload(srv), 0);
	/* a broken file on reload keeps the accounts that were loaded */
	f = fopen(path, "w");
	fputs("broken\n", f);
	fclose(f);
	ck_assert_int_eq(auth_server_reload(srv), WD_EPROTO);
	ck_assert(auth_server_offers(srv, AUTH_TYPE_NTLMSSP));
	auth_server_free(srv);
	/* unreadable file at start is a config error */
	chmod(path, 0);
	if (geteuid() != 0)
		ck_assert_int_eq(auth_server_new(&o, &srv), WD_ECONFIG);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("auth_passdb");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_line);
	tcase_add_test(tc, test_nthash_strict_utf8);
	tcase_add_test(tc, test_add_del_list);
	tcase_add_test(tc, test_add_keeps_owner_and_mode);
	tcase_add_test(tc, test_comments_kept);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
