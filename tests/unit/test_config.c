/*
 * test_config.c - witnessd.conf parser (src/daemon/config.c): defaults, every
 * key, a table of bad inputs with the exact "file:line:" they must report,
 * and a format -> parse round trip.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/auth.h"
#include "witness/config.h"
#include "witness/err.h"
#include "witness/log.h"

static int parse(const char *text, struct wd_config *c, char *err, size_t errlen)
{
	return wd_config_parse(text, strlen(text), "t.conf", c, err, errlen);
}

START_TEST(test_defaults)
{
	struct wd_config c = {0};
	char err[256];

	ck_assert_int_eq(parse("[global]\nnetname = witsrv\n", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.netname, "witsrv");
	ck_assert_uint_eq(c.n_listen_addresses, 1);
	ck_assert_str_eq(c.listen_addresses[0], "0.0.0.0");
	ck_assert_uint_eq(c.witness_port, 0);
	ck_assert_uint_eq(c.epmapper_port, 135);
	ck_assert_int_eq(c.cluster_backend, WD_BACKEND_STATIC);
	ck_assert_str_eq(c.state_directory, "/var/lib/witnessd");
	ck_assert_str_eq(c.admin_socket, "/run/witnessd/witnessd.sock");
	ck_assert_uint_eq(c.min_auth_level, AUTH_LEVEL_INTEGRITY);
	ck_assert_uint_eq(c.unused_registration_timeout, 30);
	ck_assert_uint_eq(c.reregister_delay, 5);
	ck_assert_uint_eq(c.interface_list_wait, 120);
	ck_assert_uint_eq(c.n_shares, 0);
	ck_assert_uint_eq(c.max_connections, 16384);
	ck_assert_uint_eq(c.max_connections_per_client, 256);
	ck_assert_uint_eq(c.max_registrations_per_client, 64);
	ck_assert_uint_eq(c.max_pending_calls, 16);
	ck_assert_uint_eq(c.max_request_size, 4u << 20);
	ck_assert_uint_eq(c.max_unauth_request_size, 16u << 10);
	ck_assert_uint_eq(c.max_buffer_memory, 64u << 20);
	ck_assert_uint_eq(c.request_timeout, 30);
	ck_assert_int_eq(c.log_level, WD_LOG_INFO);
	ck_assert_ptr_null(c.keytab);
	ck_assert_ptr_null(c.ntlm_password_file);
	ck_assert(c.ntlmssp_anonymous);
	ck_assert_str_eq(c.workgroup, "WORKGROUP");
	ck_assert_uint_eq(c.auth_methods,
	                  AUTH_METHOD_NTLMSSP | AUTH_METHOD_KRB5 | AUTH_METHOD_SPNEGO);
	ck_assert_uint_eq(c.static_local_node, 0);
	ck_assert_uint_eq(c.n_static_interfaces, 0);
	ck_assert_int_eq(c.ctdb_include_node_ips, 0);
	ck_assert_int_eq(c.ctdb_include_public_ips, 1);
	ck_assert_uint_eq(c.ctdb_reread_interval, 10);
	wd_config_free(&c);
}
END_TEST

static const char full[] = "# a full config\n"
                           "[global]\n"
                           "\tnetname = witsrv.example.com\n"
                           "\tnetname aliases = WITSRV, alias2 alias3\n"
                           "\tlisten addresses = 127.0.0.1, ::1\n"
                           "\twitness port = 5005\n"
                           "\tepmapper port = 0\n"
                           "\tcluster backend = ctdb\n"
                           "\tstate directory = /tmp/wd-state\n"
                           "\tadmin socket = /tmp/wd.sock\n"
                           "\tmin auth level = privacy\n"
                           "\tunused registration timeout = 60\n"
                           "\treregister delay = 2\n"
                           "\tinterface list wait = 7\n"
                           "\tshares = data, Profiles$\n"
                           "\tinterface group names = FS-A@0, fs-b.example.com@1\n"
                           "\tmax connections = 100\n"
                           "\tmax connections per client = 10\n"
                           "\tmax registrations per client = 7\n"
                           "\tmax pending calls = 4\n"
                           "\tmax request size = 64K\n"
                           "\tlog level = debug\n"
                           "\tkeytab = /etc/witnessd/krb5.keytab\n"
                           "\tntlm password file = /etc/witnessd/ntlm.passwd\n"
                           "\tntlmssp anonymous = no\n"
                           "\trealm = EXAMPLE.COM\n"
                           "\tworkgroup = EXAMPLE\n"
                           "\tauth methods = ntlmssp spnego\n"
                           "; static backend\n"
                           "[static]\n"
                           "\tlocal node = 1\n"
                           "\tinterfaces = 127.0.0.2@1, 127.0.0.3@2 ,fd00::1@0\n"
                           "[ctdb]\n"
                           "\tsocket = /run/ctdb/other.socket\n"
                           "\tinclude node ips = yes\n"
                           "\tinclude public ips = false\n"
                           "\treread interval = 3\n";

START_TEST(test_every_key)
{
	struct wd_config c = {0};
	char err[256];

	ck_assert_msg(parse(full, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.interface_list_wait, 7);
	ck_assert_uint_eq(c.n_shares, 2);
	ck_assert_str_eq(c.shares[1], "Profiles$");
	ck_assert_uint_eq(c.n_interface_group_names, 2);
	ck_assert_str_eq(c.interface_group_names[1], "fs-b.example.com@1");
	ck_assert_str_eq(c.netname, "witsrv.example.com");
	ck_assert_uint_eq(c.n_netname_aliases, 3);
	ck_assert_str_eq(c.netname_aliases[0], "WITSRV");
	ck_assert_str_eq(c.netname_aliases[2], "alias3");
	ck_assert_uint_eq(c.n_listen_addresses, 2);
	ck_assert_str_eq(c.listen_addresses[1], "::1");
	ck_assert_uint_eq(c.witness_port, 5005);
	ck_assert_uint_eq(c.epmapper_port, 0);
	ck_assert_int_eq(c.cluster_backend, WD_BACKEND_CTDB);
	ck_assert_str_eq(c.state_directory, "/tmp/wd-state");
	ck_assert_str_eq(c.admin_socket, "/tmp/wd.sock");
	ck_assert_uint_eq(c.min_auth_level, AUTH_LEVEL_PRIVACY);
	ck_assert_uint_eq(c.unused_registration_timeout, 60);
	ck_assert_uint_eq(c.reregister_delay, 2);
	ck_assert_uint_eq(c.max_connections, 100);
	ck_assert_uint_eq(c.max_connections_per_client, 10);
	ck_assert_uint_eq(c.max_registrations_per_client, 7);
	ck_assert_uint_eq(c.max_pending_calls, 4);
	ck_assert_uint_eq(c.max_request_size, 65536);
	ck_assert_int_eq(c.log_level, WD_LOG_DEBUG);
	ck_assert_str_eq(c.keytab, "/etc/witnessd/krb5.keytab");
	ck_assert_str_eq(c.ntlm_password_file, "/etc/witnessd/ntlm.passwd");
	ck_assert(!c.ntlmssp_anonymous);
	ck_assert_str_eq(c.realm, "EXAMPLE.COM");
	ck_assert_str_eq(c.workgroup, "EXAMPLE");
	ck_assert_uint_eq(c.auth_methods, AUTH_METHOD_NTLMSSP | AUTH_METHOD_SPNEGO);
	ck_assert_uint_eq(c.static_local_node, 1);
	ck_assert_uint_eq(c.n_static_interfaces, 3);
	ck_assert_str_eq(c.static_interfaces[0].addr, "127.0.0.2");
	ck_assert_uint_eq(c.static_interfaces[0].node, 1);
	ck_assert_str_eq(c.static_interfaces[1].addr, "127.0.0.3");
	ck_assert_uint_eq(c.static_interfaces[1].node, 2);
	ck_assert_str_eq(c.static_interfaces[2].addr, "fd00::1");
	ck_assert_uint_eq(c.static_interfaces[2].node, 0);
	ck_assert_str_eq(c.ctdb_socket, "/run/ctdb/other.socket");
	ck_assert_int_eq(c.ctdb_include_node_ips, 1);
	ck_assert_int_eq(c.ctdb_include_public_ips, 0);
	ck_assert_uint_eq(c.ctdb_reread_interval, 3);
	wd_config_free(&c);
	ck_assert_ptr_null(c.netname);
}
END_TEST

/* smb.conf key matching: case, spaces and underscores do not matter. */
START_TEST(test_key_spelling)
{
	struct wd_config c = {0};
	char err[256];

	ck_assert_msg(parse("[global]\nnetname=w\nlisten addresses = 0.0.0.0, ::1\n", &c, err,
	                    sizeof(err)) == 0,
	              "%s", err);
	wd_config_free(&c);
	ck_assert_msg(parse("[GLOBAL]\nNetName=w\nWitness_Port = 7\nepmapperport=0\n"
	                    "MIN  AUTH LEVEL = None\n[Static]\nLocal Node = 3\n",
	                    &c, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_uint_eq(c.witness_port, 7);
	ck_assert_uint_eq(c.epmapper_port, 0);
	ck_assert_uint_eq(c.min_auth_level, AUTH_LEVEL_NONE);
	ck_assert_uint_eq(c.static_local_node, 3);
	wd_config_free(&c);
}
END_TEST

/*
 * A list written with single spaces comes back from wd_config_format with
 * ", " between items: 1,400 one-letter aliases (2,800 bytes) would format
 * to a line over 4096 bytes that the parser refuses (fuzz_config found it).
 * Values are bounded at half a line, so what parses always formats back.
 */
START_TEST(test_long_list_value)
{
	struct wd_config c = {0}, d = {0};
	char err[256], *text = NULL;
	size_t n = 0;
	char *in = malloc(8192);

	n += (size_t)sprintf(in, "[global]\nnetname = n\nnetname aliases =");
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(in + n, " %c", 'a' + i % 26);
	sprintf(in + n, "\n");
	ck_assert_msg(parse(in, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wd_config_format(&c, &text), 0);
	ck_assert_msg(parse(text, &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(d.n_netname_aliases, 1000);
	wd_config_free(&c);
	wd_config_free(&d);
	free(text);

	n = (size_t)sprintf(in, "[global]\nnetname = n\nnetname aliases =");
	for (int i = 0; i < 1400; i++)
		n += (size_t)sprintf(in + n, " %c", 'a' + i % 26);
	sprintf(in + n, "\n");
	ck_assert_int_ne(parse(in, &c, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "t.conf:3: netname aliases: value longer than 2048 bytes"), "%s",
	              err);
	wd_config_free(&c);
	free(in);
}
END_TEST

/* A trailing backslash at the end of the file continues nothing: it is
 * dropped, so the value formats back unchanged (fuzz_config found it). */
START_TEST(test_backslash_at_end)
{
	struct wd_config c = {0}, d = {0};
	char err[256], *t1 = NULL, *t2 = NULL;

	ck_assert_msg(parse("[global]\nnetname = n\nadmin socket = /run/x.sock \\", &c, err,
	                    sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(c.admin_socket, "/run/x.sock");
	ck_assert_int_eq(wd_config_format(&c, &t1), 0);
	ck_assert_msg(parse(t1, &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wd_config_format(&d, &t2), 0);
	ck_assert_str_eq(t1, t2);
	free(t1);
	free(t2);
	wd_config_free(&c);
	wd_config_free(&d);
}
END_TEST

/* Values that must parse, one key per row, with the field they set. */
START_TEST(test_good_values)
{
	static const struct {
		const char *text;
		int what;
		unsigned long want;
	} t[] = {
	    {"min auth level = none", 0, AUTH_LEVEL_NONE},
	    {"min auth level = connect", 0, AUTH_LEVEL_CONNECT},
	    {"min auth level = packet", 0, AUTH_LEVEL_PACKET},
	    {"min auth level = Integrity", 0, AUTH_LEVEL_INTEGRITY},
	    {"min auth level = PRIVACY", 0, AUTH_LEVEL_PRIVACY},
	    {"max request size = 4096", 1, 4096},
	    {"max request size = 8k", 1, 8192},
	    {"max request size = 4M", 1, 4u << 20},
	    {"max request size = 4MB", 1, 4u << 20},
	    {"max request size = 1MiB", 1, 1u << 20},
	    {"max unauthenticated request size = 8K", 5, 8192},
	    {"max buffer memory = 256M", 6, 256u << 20},
	    {"request timeout = 5", 7, 5},
	    {"witness port = 65535", 2, 65535},
	    {"witness port = 0", 2, 0},
	    {"log level = warning", 3, WD_LOG_WARNING},
	    {"log level = err", 3, WD_LOG_ERR},
	    {"auth methods = krb5", 4, AUTH_METHOD_KRB5},
	    {"auth methods = ntlmssp,krb5,spnego", 4,
	     AUTH_METHOD_NTLMSSP | AUTH_METHOD_KRB5 | AUTH_METHOD_SPNEGO},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wd_config c = {0};
		char text[256], err[256];
		unsigned long got = 0;

		snprintf(text, sizeof(text), "[global]\nnetname = n\n%s\n", t[i].text);
		ck_assert_msg(parse(text, &c, err, sizeof(err)) == 0, "%s: %s", t[i].text, err);
		switch (t[i].what) {
		case 0:
			got = c.min_auth_level;
			break;
		case 1:
			got = c.max_request_size;
			break;
		case 2:
			got = c.witness_port;
			break;
		case 3:
			got = (unsigned long)c.log_level;
			break;
		case 4:
			got = c.auth_methods;
			break;
		case 5:
			got = c.max_unauth_request_size;
			break;
		case 6:
			got = c.max_buffer_memory;
			break;
		case 7:
			got = c.request_timeout;
			break;
		}
		ck_assert_msg(got == t[i].want, "%s: got %lu want %lu", t[i].text, got, t[i].want);
		wd_config_free(&c);
	}
}
END_TEST

START_TEST(test_booleans)
{
	static const struct {
		const char *v;
		int want;
	} t[] = {{"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0}, {"Yes", 1},
	         {"NO", 0},  {"on", 1}, {"off", 0},  {"1", 1},     {"0", 0}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wd_config c = {0};
		char text[256], err[256];

		snprintf(text, sizeof(text), "[global]\nnetname=n\n[ctdb]\ninclude node ips = %s\n",
		         t[i].v);
		ck_assert_msg(parse(text, &c, err, sizeof(err)) == 0, "%s: %s", t[i].v, err);
		ck_assert_int_eq(c.ctdb_include_node_ips, t[i].want);
		wd_config_free(&c);
	}
}
END_TEST

/* Every bad input names the file and the right line. */
START_TEST(test_errors)
{
	static const struct {
		const char *text;
		const char *want; /* prefix of the error, then a substring */
		const char *sub;
	} t[] = {
	    {"[global]\nnetname = n\nbogus key = 1\n", "t.conf:3: ", "unknown key \"bogus key\""},
	    {"[global]\nnetname = n\nnetname = m\n", "t.conf:3: ", "duplicate key \"netname\""},
	    {"[global]\nnetname = n\nWitness Port = 1\nwitness_port = 2\n",
	     "t.conf:4: ", "duplicate"},
	    {"[global]\nnetname = n\n[nosuch]\n", "t.conf:3: ", "unknown section [nosuch]"},
	    {"[global\nnetname = n\n", "t.conf:1: ", "malformed section header"},
	    {"[global]\nnetname n\n", "t.conf:2: ", "expected \"key = value\""},
	    {"[global]\n = x\n", "t.conf:2: ", "missing key"},
	    {"[global]\nnetname = n\nwitness port = 65536\n", "t.conf:3: ", "witness port"},
	    {"[global]\nnetname = n\nwitness port = -1\n", "t.conf:3: ", "witness port"},
	    {"[global]\nnetname = n\nwitness port = 12ab\n", "t.conf:3: ", "witness port"},
	    {"[global]\nnetname = n\nepmapper port =\n", "t.conf:3: ", "epmapper port"},
	    {"[global]\nnetname = n\ncluster backend = pacemaker\n",
	     "t.conf:3: ", "not one of static, ctdb"},
	    {"[global]\nnetname = n\nmin auth level = call\n", "t.conf:3: ", "min auth level"},
	    {"[global]\nnetname = n\nmin auth level = high\n", "t.conf:3: ", "min auth level"},
	    {"[global]\nnetname = n\nshares = a, b|c\n",
	     "t.conf:3: ", "\"b|c\" is not a valid share"},
	    {"[global]\nnetname = n\ninterface group names = FSA\n", "t.conf:3: ", "not NAME@node"},
	    {"[global]\nnetname = n\ninterface group names = FSA@x\n",
	     "t.conf:3: ", "not NAME@node"},
	    {"[global]\nnetname = n\ninterface group names = @1\n", "t.conf:3: ", "not NAME@node"},
	    {"[global]\nnetname = n\ninterface list wait = 99999\n",
	     "t.conf:3: ", "interface list wait"},
	    {"[global]\nnetname = n\nlisten addresses = 127.0.0.1, localhost\n",
	     "t.conf:3: ", "\"localhost\" is not an IPv4 or IPv6 address"},
	    {"[global]\nnetname = n\nlisten addresses = 1.2.3.4 1.2.3.4\n",
	     "t.conf:1: ", "listed twice"},
	    {"[global]\nnetname = n\nlisten addresses = ,\n", "t.conf:3: ", "empty list"},
	    {"[global]\nnetname = n\nlisten addresses = 0.0.0.0 ::\n", "t.conf:1: ", "dual-stack"},
	    {"[global]\nnetname = n\nlisten addresses = 0.0.0.0 127.0.0.1\n",
	     "t.conf:1: ", "127.0.0.1 is already covered by 0.0.0.0"},
	    {"[global]\nnetname = n\nlisten addresses = ::1 ::\n",
	     "t.conf:1: ", "::1 is already covered by ::"},
	    {"[global]\nnetname = n\nstate directory = var/lib\n",
	     "t.conf:3: ", "not an absolute path"},
	    {"[global]\nnetname = n\nadmin socket = /"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	     "t.conf:3: ", "admin socket: path longer"},
	    {"[global]\nnetname = n\nmax request size = 4X\n", "t.conf:3: ", "not a size"},
	    {"[global]\nnetname = n\nmax request size = 100\n", "t.conf:3: ", "at least 4K"},
	    {"[global]\nnetname = n\nmax request size = 1G\n", "t.conf:3: ", "larger than"},
	    {"[global]\nnetname = n\nmax buffer memory = 100K\n", "t.conf:3: ", "at least 1M"},
	    {"[global]\nnetname = n\nrequest timeout = 0\n", "t.conf:3: ", "at least 1 second"},
	    {"[global]\nnetname = n\nmax unauthenticated request size = 1\n",
	     "t.conf:3: ", "at least 4K"},
	    {"[global]\nnetname = n\nmax connections = 0\n", "t.conf:3: ", "at least 1"},
	    {"[global]\nnetname = n\nlog level = loud\n", "t.conf:3: ", "log level"},
	    {"[global]\nnetname = n\nauth methods = ntlmssp basic\n",
	     "t.conf:3: ", "unknown method \"basic\""},
	    {"[global]\nnetname = bad name!\n", "t.conf:2: ", "not a valid name"},
	    {"[global]\nnetname = n\nworkgroup = WAYTOOLONGWORKGROUPNAME\n",
	     "t.conf:3: ", "NetBIOS"},
	    {"[global]\nnetname = n\ninterfaces = 1.2.3.4@1\n",
	     "t.conf:3: ", "\"interfaces\" belongs in [static], not in [global]"},
	    {"[global]\nnetname = n\n[static]\ninterfaces = 127.0.0.2\n",
	     "t.conf:4: ", "not IP@node"},
	    {"[global]\nnetname = n\n[static]\ninterfaces = 127.0.0.2@x\n",
	     "t.conf:4: ", "interfaces"},
	    {"[global]\nnetname = n\n[static]\ninterfaces = 300.0.0.2@1\n",
	     "t.conf:4: ", "not an IPv4 or IPv6"},
	    {"[global]\nnetname = n\n[static]\ninterfaces = 10.0.0.1@1 10.0.0.1@2\n",
	     "t.conf:4: ", "listed twice"},
	    {"[global]\nnetname = n\n[static]\ninterfaces = fd00::1@1 fd00:0::1@2\n",
	     "t.conf:4: ", "listed twice"},
	    {"[global]\nnetname = n\n[ctdb]\ninclude node ips = maybe\n",
	     "t.conf:4: ", "not a boolean"},
	    {"[global]\nnetname = n\n[ctdb]\nsocket = relative\n", "t.conf:4: ", "absolute"},
	    {"[global]\nnetname = n\n[ctdb]\nreread interval = 0\n", "t.conf:4: ", "at least 1"},
	    {"[global]\nwitness port = 1\n", "t.conf:1: ", "\"netname\" is required"},
	    {"# nothing\n\n", "t.conf:1: ", "\"netname\" is required"},
	    {"[global]\nnetname = n\nwitness port = 135\n", "t.conf:1: ", "both 135"},
	    /* continuation lines: the error is reported at the logical line's start */
	    {"[global]\nnetname = n\nlisten addresses = 127.0.0.1, \\\n  nope\n",
	     "t.conf:3: ", "\"nope\""},
	    {"[global]\r\nnetname = n\r\nfoo = 1\r\n", "t.conf:3: ", "unknown key \"foo\""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wd_config c = {0};
		char err[256];
		int rc = parse(t[i].text, &c, err, sizeof(err));

		ck_assert_msg(rc == WD_ECONFIG, "row %zu accepted: %s", i, t[i].text);
		ck_assert_msg(strncmp(err, t[i].want, strlen(t[i].want)) == 0,
		              "row %zu: error \"%s\" does not start with \"%s\"", i, err,
		              t[i].want);
		ck_assert_msg(strstr(err, t[i].sub) != NULL,
		              "row %zu: error \"%s\" does not contain \"%s\"", i, err, t[i].sub);
		/* c untouched on error */
		ck_assert_ptr_null(c.netname);
		ck_assert_ptr_null(c.listen_addresses);
	}
}
END_TEST

START_TEST(test_nul_and_long_line)
{
	struct wd_config c = {0};
	char err[256];
	static const char nul[] = "[global]\nnetname = a\0b\n";
	char *big = malloc(10000);

	ck_assert_int_eq(wd_config_parse(nul, sizeof(nul) - 1, "t.conf", &c, err, sizeof(err)),
	                 WD_ECONFIG);
	ck_assert_str_eq(err, "t.conf:2: NUL byte in line");
	memset(big, 'a', 9999);
	big[9999] = '\0';
	memcpy(big, "[global]\n", 9);
	ck_assert_int_eq(parse(big, &c, err, sizeof(err)), WD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "t.conf:2: line longer"));
	free(big);
}
END_TEST

/* A failed parse keeps the old config; a good one replaces it. */
START_TEST(test_reparse)
{
	struct wd_config c;
	char err[256];

	wd_config_defaults(&c);
	ck_assert_int_eq(parse("[global]\nnetname = one\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(parse("[global]\nnetname = two\nx = y\n", &c, err, sizeof(err)),
	                 WD_ECONFIG);
	ck_assert_str_eq(c.netname, "one");
	ck_assert_int_eq(parse("[global]\nnetname = three\n", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.netname, "three");
	wd_config_free(&c);
}
END_TEST

START_TEST(test_round_trip)
{
	struct wd_config a = {0}, b = {0};
	char err[256], *text = NULL, *text2 = NULL;

	ck_assert_msg(parse(full, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wd_config_format(&a, &text), 0);
	ck_assert_msg(parse(text, &b, err, sizeof(err)) == 0, "%s\n%s", err, text);
	ck_assert_int_eq(wd_config_format(&b, &text2), 0);
	ck_assert_str_eq(text, text2);
	ck_assert_str_eq(b.netname, a.netname);
	ck_assert_uint_eq(b.n_static_interfaces, a.n_static_interfaces);
	ck_assert_uint_eq(b.max_request_size, a.max_request_size);
	ck_assert_uint_eq(b.auth_methods, a.auth_methods);
	ck_assert_uint_eq(b.min_auth_level, a.min_auth_level);
	free(text);
	free(text2);
	wd_config_free(&a);
	wd_config_free(&b);
}
END_TEST

START_TEST(test_load_missing)
{
	struct wd_config c = {0};
	char err[256];

	ck_assert_int_eq(wd_config_load("/nonexistent/witnessd.conf", &c, err, sizeof(err)),
	                 WD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/witnessd.conf:0: cannot open"));
}
END_TEST

START_TEST(test_example_config)
{
	/* The shipped example must stay valid. */
	struct wd_config c = {0};
	char err[512], path[4096];
	const char *src = getenv("WD_SRCDIR");

	snprintf(path, sizeof(path), "%s/etc/witnessd.conf", src ? src : ".");
	ck_assert_msg(wd_config_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	wd_config_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_key_spelling);
	tcase_add_test(tc, test_good_values);
	tcase_add_test(tc, test_long_list_value);
	tcase_add_test(tc, test_backslash_at_end);
	tcase_add_test(tc, test_booleans);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_nul_and_long_line);
	tcase_add_test(tc, test_reparse);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_example_config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
