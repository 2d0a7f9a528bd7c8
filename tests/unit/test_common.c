/*
 * test_common.c - err, log escaping, memzero, GUIDs (src/common).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "witness/err.h"
#include "witness/guid.h"
#include "witness/log.h"

START_TEST(test_strerror)
{
	for (int e = WD_EVERSION; e <= 0; e++) {
		const char *s = wd_strerror(e);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, "unknown error");
	}
	ck_assert_str_eq(wd_strerror(-1000), "unknown error");
	ck_assert_str_eq(wd_strerror(5), "unknown error");
	ck_assert_str_eq(wd_strerror(WD_ESHORT), "input truncated");
}
END_TEST

/* err.h's one table: every code has a string and wire codes. */
START_TEST(test_err_table)
{
	for (int e = WD_OK; e >= WD_EVERSION; e--) {
		ck_assert_str_ne(wd_strerror(e), "unknown error");
		if (e != WD_OK) {
			ck_assert_uint_ne(wd_err_werror(e), 0);
			ck_assert_uint_ne(wd_err_fault(e), 0);
		}
	}
	ck_assert_uint_eq(wd_err_werror(WD_OK), 0);
	ck_assert_uint_eq(wd_err_fault(WD_OK), 0);
	ck_assert_uint_eq(wd_err_werror(WD_ENOMEM), 0x8);   /* ERROR_NOT_ENOUGH_MEMORY */
	ck_assert_uint_eq(wd_err_werror(WD_EIO), 0x5aa);    /* ERROR_NO_SYSTEM_RESOURCES */
	ck_assert_uint_eq(wd_err_werror(WD_ELIMIT), 0x5aa); /* ERROR_NO_SYSTEM_RESOURCES */
	ck_assert_uint_eq(wd_err_werror(WD_ENOTFOUND), 0x490);
	ck_assert_uint_eq(wd_err_werror(WD_EINVAL), 0x57);
	ck_assert_uint_eq(wd_err_werror(WD_ETIMEDOUT), 0x5b4);
	ck_assert_uint_eq(wd_err_fault(WD_ERANGE), 0x1c00001b); /* nca_s_fault_remote_no_memory */
	ck_assert_uint_eq(wd_err_fault(WD_ESIG), 0x721);        /* sec_pkg_error */
	ck_assert_uint_eq(wd_err_fault(WD_EACCES), 0x5);
	/* outside the space */
	ck_assert_str_eq(wd_strerror(1), "unknown error");
	ck_assert_str_eq(wd_strerror(-1000), "unknown error");
	ck_assert_uint_eq(wd_err_werror(-1000), 0x5aa);
	ck_assert_uint_eq(wd_err_fault(42), 0x6d8);
}
END_TEST

START_TEST(test_escape)
{
	char out[64];
	ck_assert_str_eq(wd_log_escape("abc-DEF_1.2", out, sizeof(out)), "abc-DEF_1.2");
	ck_assert_str_eq(wd_log_escape("a b", out, sizeof(out)), "a\\x20b");
	ck_assert_str_eq(wd_log_escape("q\"\\", out, sizeof(out)), "q\\x22\\x5c");
	ck_assert_str_eq(wd_log_escape("\n\x01\xc3\xa9", out, sizeof(out)), "\\x0a\\x01\\xc3\\xa9");
	ck_assert_str_eq(wd_log_escape("x=y", out, sizeof(out)), "x=y");
	ck_assert_str_eq(wd_log_escape(NULL, out, sizeof(out)), "(null)");
	/* truncation never splits an escape and always terminates */
	char small[6];
	ck_assert_str_eq(wd_log_escape("ab cd", small, sizeof(small)), "ab");
	ck_assert_str_eq(wd_log_escape("abcdefgh", small, sizeof(small)), "abcde");
	char one[1];
	ck_assert_str_eq(wd_log_escape("abc", one, sizeof(one)), "");
}
END_TEST

START_TEST(test_memzero)
{
	unsigned char buf[32];
	memset(buf, 0xaa, sizeof(buf));
	wd_memzero(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
	wd_memzero(NULL, 10); /* no crash */
}
END_TEST

/* Captures what wd_log writes to stderr. */
static char *capture_log(int level, const char *event, const char *val)
{
	char path[] = "/tmp/wdlogXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	wd_log(level, event, "k=%s n=%d", val, 7);
	dup2(saved, STDERR_FILENO);
	close(saved);
	static char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(test_log_stderr)
{
	wd_log_use_stderr(1);
	wd_log_set_level(WD_LOG_INFO);
	ck_assert_int_eq(wd_log_get_level(), WD_LOG_INFO);
	/* "2026-01-31T12:00:00.123Z info registration.add k=v n=7" */
	const char *l = capture_log(WD_LOG_INFO, "registration.add", "v");
	ck_assert_uint_eq(strlen(l), 24 + strlen(" info registration.add k=v n=7\n"));
	ck_assert_int_eq(l[4], '-');
	ck_assert_int_eq(l[10], 'T');
	ck_assert_int_eq(l[19], '.');
	ck_assert_int_eq(l[23], 'Z');
	ck_assert_str_eq(l + 24, " info registration.add k=v n=7\n");
	ck_assert_str_eq(capture_log(WD_LOG_DEBUG, "x", "v"), ""); /* filtered */
	wd_log_set_level(WD_LOG_DEBUG);
	ck_assert_str_eq(capture_log(WD_LOG_DEBUG, "x", "v") + 24, " debug x k=v n=7\n");
	ck_assert_str_eq(capture_log(WD_LOG_WARNING, "x", "v") + 24, " warning x k=v n=7\n");
	/* the client address set around an auth step is added to each line */
	wd_log_set_client("192.0.2.7");
	ck_assert_str_eq(capture_log(WD_LOG_NOTICE, "auth.refused", "v") + 24,
	                 " notice auth.refused k=v n=7 client=192.0.2.7\n");
	wd_log_set_client(NULL);
	ck_assert_str_eq(capture_log(WD_LOG_NOTICE, "auth.refused", "v") + 24,
	                 " notice auth.refused k=v n=7\n");
	wd_log_set_level(99);
	ck_assert_int_eq(wd_log_get_level(), WD_LOG_DEBUG);
	wd_log_set_level(WD_LOG_INFO);
}
END_TEST

/*
 * Runs wd_log in a child whose stderr is a temp file and whose JOURNAL_STREAM
 * is that file's dev:ino (mode 0), another inode (1) or garbage (2); returns
 * what reached the file.
 */
static char *log_in_child(int mode)
{
	char path[] = "/tmp/wdlogjXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct stat st;
		char js[128];
		dup2(fd, STDERR_FILENO);
		fstat(STDERR_FILENO, &st);
		snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino + (mode == 1));
		if (mode == 2)
			snprintf(js, sizeof(js), "garbage");
		setenv("JOURNAL_STREAM", js, 1);
		wd_log_use_stderr(0);
		wd_log(WD_LOG_ERR, "test.journal", "k=v");
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	static char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(test_log_backend_choice)
{
	/*
	 * stderr is the journal stream: fields go to journald, not stderr; with
	 * no journald listening the line falls back to stderr (the stream).
	 */
	if (access("/run/systemd/journal/socket", F_OK) == 0)
		ck_assert_str_eq(log_in_child(0), "");
	else
		ck_assert_str_eq(log_in_child(0) + 24, " err test.journal k=v\n");
	/* JOURNAL_STREAM names another stream (stderr redirected): stderr */
	ck_assert_str_eq(log_in_child(1) + 24, " err test.journal k=v\n");
	ck_assert_str_eq(log_in_child(2) + 24, " err test.journal k=v\n");
}
END_TEST

START_TEST(test_log_message_id)
{
	const char *created = wd_log_message_id("registration.add", "uuid=x");
	ck_assert_ptr_nonnull(created);
	ck_assert_uint_eq(strlen(created), 32);
	ck_assert_str_eq(created, "b55e7d1eb8814c7b8cc8927691cbf118");
	/* registration.close is split by its reason field, whole tokens only */
	const char *expired = wd_log_message_id("registration.close", "uuid=x reason=unused");
	const char *forced =
	    wd_log_message_id("registration.close", "uuid=x reason=force-unregister");
	const char *unreg = wd_log_message_id("registration.close", "reason=unregister uuid=x");
	ck_assert_ptr_nonnull(expired);
	ck_assert_ptr_nonnull(forced);
	ck_assert_ptr_nonnull(unreg);
	ck_assert_str_ne(expired, forced);
	ck_assert_str_ne(expired, unreg);
	ck_assert_str_eq(wd_log_message_id("registration.close", "reason=unregister_ex"), unreg);
	ck_assert_ptr_null(wd_log_message_id("registration.close", "reason=unusedx"));
	ck_assert_ptr_null(wd_log_message_id("registration.close", NULL));
	ck_assert_ptr_null(wd_log_message_id("dcerpc.vt.stripped", ""));
	ck_assert_ptr_null(wd_log_message_id(NULL, NULL));
	/* every refusal shares one id */
	ck_assert_str_eq(wd_log_message_id("auth.ntlmssp.refused", ""),
	                 wd_log_message_id("dcerpc.auth3.failed", ""));
}
END_TEST

START_TEST(test_guid_parse_format)
{
	struct wd_guid g;
	char buf[WD_GUID_STRLEN];
	ck_assert_int_eq(wd_guid_parse("CCD8C074-D0E5-4A40-92B4-D074FAA6BA28", &g), 0);
	ck_assert_uint_eq(g.time_low, 0xccd8c074);
	ck_assert_uint_eq(g.time_mid, 0xd0e5);
	ck_assert_uint_eq(g.time_hi_and_version, 0x4a40);
	ck_assert_uint_eq(g.clock_seq[0], 0x92);
	ck_assert_uint_eq(g.node[5], 0x28);
	ck_assert_str_eq(wd_guid_format(&g, buf), "ccd8c074-d0e5-4a40-92b4-d074faa6ba28");
	/* wire form: [MS-DTYP] 2.3.4.2, as in EPM floor 1 (Samba binding.c) */
	uint8_t w[16];
	static const uint8_t want[16] = {0x74, 0xc0, 0xd8, 0xcc, 0xe5, 0xd0, 0x40, 0x4a,
	                                 0x92, 0xb4, 0xd0, 0x74, 0xfa, 0xa6, 0xba, 0x28};
	wd_guid_to_wire(&g, w);
	ck_assert_mem_eq(w, want, 16);
	struct wd_guid g2;
	wd_guid_from_wire(w, &g2);
	ck_assert(wd_guid_equal(&g, &g2));
	ck_assert(!wd_guid_is_nil(&g));
	ck_assert_int_eq(wd_guid_parse("00000000-0000-0000-0000-000000000000", &g2), 0);
	ck_assert(wd_guid_is_nil(&g2));

	const char *bad[] = {"",
	                     "ccd8c074-d0e5-4a40-92b4-d074faa6ba2",
	                     "ccd8c074-d0e5-4a40-92b4-d074faa6ba288",
	                     "ccd8c074xd0e5-4a40-92b4-d074faa6ba28",
	                     "ccd8c074-d0e5-4a40-92b4-d074faa6bag8",
	                     "{ccd8c074-d0e5-4a40-92b4-d074faa6ba28}",
	                     "ccd8c07-4d0e5-4a40-92b4-d074faa6ba28"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(wd_guid_parse(bad[i], &g2), WD_EINVAL);
}
END_TEST

START_TEST(test_guid_random)
{
	struct wd_guid a, b;
	char buf[WD_GUID_STRLEN];
	ck_assert_int_eq(wd_guid_random(&a), 0);
	ck_assert_int_eq(wd_guid_random(&b), 0);
	ck_assert(!wd_guid_equal(&a, &b));
	ck_assert_uint_eq(a.time_hi_and_version >> 12, 4);
	ck_assert_uint_eq(a.clock_seq[0] & 0xc0, 0x80);
	wd_guid_format(&a, buf);
	ck_assert_uint_eq(strlen(buf), 36);
	ck_assert_int_eq(wd_guid_parse(buf, &b), 0);
	ck_assert(wd_guid_equal(&a, &b));
}
END_TEST

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_err_table);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_memzero);
	tcase_add_test(tc, test_log_stderr);
	tcase_add_test(tc, test_log_backend_choice);
	tcase_add_test(tc, test_log_message_id);
	tcase_add_test(tc, test_guid_parse_format);
	tcase_add_test(tc, test_guid_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(common_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
