/*
 * config.c - witnessd.conf, an smb.conf-like INI file (include/witness/config.h).
 *
 * The parser is pure: wd_config_parse() works on a buffer, does no I/O and
 * bounds every length before it allocates. Keys are matched like smb.conf
 * (case-insensitive, spaces and underscores ignored: "Witness Port",
 * "witnessport" and "witness_port" are the same key). Every problem is
 * reported as "file:line: message"; unknown keys, duplicate keys and bad
 * values are errors, never warnings, so a typo cannot silently fall back to a
 * default in a cluster component.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "witness/auth.h"
#include "witness/config.h"
#include "witness/err.h"
#include "witness/log.h"
#include "witness/metrics.h"

#define CFG_MAX_FILE  (1u << 20) /* 1 MiB: a config is a few hundred bytes */
#define CFG_MAX_LINE  4096       /* one logical line, continuations joined */
#define CFG_MAX_VALUE (CFG_MAX_LINE / 2)
#define CFG_MAX_LIST  1024 /* items in one list value */
#define CFG_MAX_NAME  255  /* netname, aliases (a DNS name) */
#define CFG_MAX_PATH  4095

enum section { SEC_NONE, SEC_GLOBAL, SEC_STATIC, SEC_CTDB };

enum key_id {
	K_NETNAME,
	K_NETNAME_ALIASES,
	K_LISTEN_ADDRESSES,
	K_WITNESS_PORT,
	K_EPMAPPER_PORT,
	K_CLUSTER_BACKEND,
	K_STATE_DIRECTORY,
	K_ADMIN_SOCKET,
	K_MIN_AUTH_LEVEL,
	K_UNUSED_REGISTRATION_TIMEOUT,
	K_REREGISTER_DELAY,
	K_INTERFACE_LIST_WAIT,
	K_SHARES,
	K_INTERFACE_GROUP_NAMES,
	K_MAX_CONNECTIONS,
	K_MAX_CONNECTIONS_PER_CLIENT,
	K_MAX_REGISTRATIONS_PER_CLIENT,
	K_MAX_PENDING_CALLS,
	K_MAX_REQUEST_SIZE,
	K_MAX_UNAUTH_REQUEST_SIZE,
	K_MAX_BUFFER_MEMORY,
	K_REQUEST_TIMEOUT,
	K_LOG_LEVEL,
	K_KEYTAB,
	K_NTLM_PASSWORD_FILE,
	K_NTLMSSP_ANONYMOUS,
	K_REALM,
	K_WORKGROUP,
	K_AUTH_METHODS,
	K_METRICS_LISTEN,
	K_STATIC_LOCAL_NODE,
	K_STATIC_INTERFACES,
	K_CTDB_SOCKET,
	K_CTDB_INCLUDE_NODE_IPS,
	K_CTDB_INCLUDE_PUBLIC_IPS,
	K_CTDB_REREAD_INTERVAL,
	K_CTDB_PEER_TIMEOUT,
	K_LISTEN_FREEBIND,
	K_COUNT
};

struct key_def {
	enum section sec;
	const char *name; /* as documented; matched normalised */
	enum key_id id;
};

static const struct key_def keys[] = {
    {SEC_GLOBAL, "netname", K_NETNAME},
    {SEC_GLOBAL, "netname aliases", K_NETNAME_ALIASES},
    {SEC_GLOBAL, "listen addresses", K_LISTEN_ADDRESSES},
    {SEC_GLOBAL, "listen freebind", K_LISTEN_FREEBIND},
    {SEC_GLOBAL, "witness port", K_WITNESS_PORT},
    {SEC_GLOBAL, "epmapper port", K_EPMAPPER_PORT},
    {SEC_GLOBAL, "cluster backend", K_CLUSTER_BACKEND},
    {SEC_GLOBAL, "state directory", K_STATE_DIRECTORY},
    {SEC_GLOBAL, "admin socket", K_ADMIN_SOCKET},
    {SEC_GLOBAL, "min auth level", K_MIN_AUTH_LEVEL},
    {SEC_GLOBAL, "unused registration timeout", K_UNUSED_REGISTRATION_TIMEOUT},
    {SEC_GLOBAL, "reregister delay", K_REREGISTER_DELAY},
    {SEC_GLOBAL, "interface list wait", K_INTERFACE_LIST_WAIT},
    {SEC_GLOBAL, "shares", K_SHARES},
    {SEC_GLOBAL, "interface group names", K_INTERFACE_GROUP_NAMES},
    {SEC_GLOBAL, "max connections", K_MAX_CONNECTIONS},
    {SEC_GLOBAL, "max connections per client", K_MAX_CONNECTIONS_PER_CLIENT},
    {SEC_GLOBAL, "max registrations per client", K_MAX_REGISTRATIONS_PER_CLIENT},
    {SEC_GLOBAL, "max pending calls", K_MAX_PENDING_CALLS},
    {SEC_GLOBAL, "max request size", K_MAX_REQUEST_SIZE},
    {SEC_GLOBAL, "max unauthenticated request size", K_MAX_UNAUTH_REQUEST_SIZE},
    {SEC_GLOBAL, "max buffer memory", K_MAX_BUFFER_MEMORY},
    {SEC_GLOBAL, "request timeout", K_REQUEST_TIMEOUT},
    {SEC_GLOBAL, "log level", K_LOG_LEVEL},
    {SEC_GLOBAL, "keytab", K_KEYTAB},
    {SEC_GLOBAL, "ntlm password file", K_NTLM_PASSWORD_FILE},
    {SEC_GLOBAL, "ntlmssp anonymous", K_NTLMSSP_ANONYMOUS},
    {SEC_GLOBAL, "realm", K_REALM},
    {SEC_GLOBAL, "workgroup", K_WORKGROUP},
    {SEC_GLOBAL, "auth methods", K_AUTH_METHODS},
    {SEC_GLOBAL, "metrics listen", K_METRICS_LISTEN},
    {SEC_STATIC, "local node", K_STATIC_LOCAL_NODE},
    {SEC_STATIC, "interfaces", K_STATIC_INTERFACES},
    {SEC_CTDB, "socket", K_CTDB_SOCKET},
    {SEC_CTDB, "include node ips", K_CTDB_INCLUDE_NODE_IPS},
    {SEC_CTDB, "include public ips", K_CTDB_INCLUDE_PUBLIC_IPS},
    {SEC_CTDB, "reread interval", K_CTDB_REREAD_INTERVAL},
    {SEC_CTDB, "peer timeout", K_CTDB_PEER_TIMEOUT},
};

static const char *const section_names[] = {"", "global", "static", "ctdb"};

struct parser {
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
	struct wd_config *c;
	bool seen[K_COUNT];
	unsigned global_line; /* line of the first [global] header */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->line, msg);
	return WD_ECONFIG;
}

/* lower case, spaces / tabs / underscores dropped: smb.conf's key matching */
static void normalise_key(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < outlen; in++) {
		if (*in == ' ' || *in == '\t' || *in == '_')
			continue;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	out[o] = '\0';
}

static const struct key_def *find_key(enum section sec, const char *key)
{
	char want[128], have[128];

	normalise_key(key, want, sizeof(want));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].sec != sec)
			continue;
		normalise_key(keys[i].name, have, sizeof(have));
		if (strcmp(want, have) == 0)
			return &keys[i];
	}
	return NULL;
}

static bool key_exists_elsewhere(const char *key, enum section *where)
{
	for (enum section s = SEC_GLOBAL; s <= SEC_CTDB; s++) {
		if (find_key(s, key) != NULL) {
			*where = s;
			return true;
		}
	}
	return false;
}

/* ---- value parsers; each returns 0 or calls fail() ---- */

static int parse_uint(struct parser *p, const char *key, const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v == '\0' || !isdigit((unsigned char)*v))
		return fail(p, "%s: \"%s\" is not a non-negative integer", key, v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return fail(p, "%s: \"%s\" is not an integer between 0 and %llu", key, v,
		            (unsigned long long)max);
	*out = n;
	return 0;
}

/* smb.conf-like sizes: plain bytes or a K/M/G suffix (powers of 1024). */
static int parse_size(struct parser *p, const char *key, const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n, mult = 1;

	if (*v == '\0' || !isdigit((unsigned char)*v))
		return fail(p, "%s: \"%s\" is not a size", key, v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return fail(p, "%s: \"%s\" is not a size", key, v);
	if (*end != '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k':
			mult = 1024ull;
			break;
		case 'm':
			mult = 1024ull * 1024;
			break;
		case 'g':
			mult = 1024ull * 1024 * 1024;
			break;
		default:
			return fail(p, "%s: \"%s\" is not a size (use a number with K, M or G)",
			            key, v);
		}
		end++;
		/* also "4MB", "4MiB" */
		if (strcasecmp(end, "b") == 0)
			end += 1;
		else if (strcasecmp(end, "ib") == 0)
			end += 2;
		if (*end != '\0')
			return fail(p, "%s: \"%s\" is not a size (use a number with K, M or G)",
			            key, v);
	}
	if (n > max / mult)
		return fail(p, "%s: \"%s\" is larger than %llu bytes", key, v,
		            (unsigned long long)max);
	*out = n * mult;
	return 0;
}

/* smb.conf booleans ([lib/util/util.c] set_boolean: yes/no/true/false/on/off/1/0) */
static int parse_bool(struct parser *p, const char *key, const char *v, bool *out)
{
	static const char *const t[] = {"yes", "true", "on", "1"};
	static const char *const f[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(p, "%s: \"%s\" is not a boolean (yes/no/true/false)", key, v);
}

static bool valid_ip(const char *s, int *family)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1) {
		if (family != NULL)
			*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (family != NULL)
			*family = AF_INET6;
		return true;
	}
	return false;
}

/* DNS / NetBIOS style names: letters, digits, '-', '_', '.', 1..255 chars. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CFG_MAX_NAME || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	}
	return true;
}

/*
 * A share name for `shares`: 1-80 bytes (Windows' limit), no white space or
 * comma (list separators), no control character and none of \ / : * ? " < > |
 * which Windows forbids in share names.
 */
static bool valid_share(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 80)
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr("\\/:*?\"<>|", *s) != NULL)
			return false;
	}
	return true;
}

/* NAME@NODE for `interface group names`: NAME a valid name, NODE a number. */
static bool valid_group_item(const char *s)
{
	const char *at = strrchr(s, '@');
	char name[CFG_MAX_NAME + 1];
	char *end;
	unsigned long node;

	if (at == NULL || at == s || (size_t)(at - s) > CFG_MAX_NAME || at[1] == '\0')
		return false;
	memcpy(name, s, (size_t)(at - s));
	name[at - s] = '\0';
	errno = 0;
	node = strtoul(at + 1, &end, 10);
	return valid_name(name) && *end == '\0' && errno == 0 && isdigit((unsigned char)at[1]) &&
	       node < 0xFFFFFFFFul;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/*
 * Split a list value on commas and white space (smb.conf lists). Returns a
 * malloc'd array of malloc'd items in *out (caller frees with free_list).
 */
static int split_list(struct parser *p, const char *key, const char *v, char ***out, size_t *n_out)
{
	char **items = NULL;
	size_t n = 0;
	const char *s = v;

	*out = NULL;
	*n_out = 0;
	while (*s != '\0') {
		size_t len;
		char **tmp;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		len = strcspn(s, ", \t");
		if (n >= CFG_MAX_LIST) {
			free_list(items, n);
			return fail(p, "%s: more than %u items", key, CFG_MAX_LIST);
		}
		tmp = realloc(items, (n + 1) * sizeof(*items));
		if (tmp == NULL)
			goto nomem;
		items = tmp;
		items[n] = strndup(s, len);
		if (items[n] == NULL)
			goto nomem;
		n++;
		s += len;
	}
	*out = items;
	*n_out = n;
	return 0;
nomem:
	free_list(items, n);
	return fail(p, "out of memory");
}

static int set_string(struct parser *p, char **dst, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return fail(p, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

static int set_path(struct parser *p, const char *key, char **dst, const char *v, bool absolute)
{
	if (*v == '\0')
		return fail(p, "%s: empty path", key);
	if (strlen(v) > CFG_MAX_PATH)
		return fail(p, "%s: path too long", key);
	if (absolute && v[0] != '/')
		return fail(p, "%s: \"%s\" is not an absolute path", key, v);
	return set_string(p, dst, v);
}

static int parse_level(struct parser *p, const char *key, const char *v, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t level;
	} t[] = {
	    {"none", AUTH_LEVEL_NONE},       {"connect", AUTH_LEVEL_CONNECT},
	    {"packet", AUTH_LEVEL_PACKET},   {"integrity", AUTH_LEVEL_INTEGRITY},
	    {"privacy", AUTH_LEVEL_PRIVACY},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcasecmp(v, t[i].name) == 0) {
			*out = t[i].level;
			return 0;
		}
	}
	return fail(p, "%s: \"%s\" is not one of none, connect, packet, integrity, privacy", key,
	            v);
}

static int parse_log_level(struct parser *p, const char *key, const char *v, int *out)
{
	static const struct {
		const char *name;
		int level;
	} t[] = {
	    {"err", WD_LOG_ERR},      {"error", WD_LOG_ERR},     {"warning", WD_LOG_WARNING},
	    {"warn", WD_LOG_WARNING}, {"notice", WD_LOG_NOTICE}, {"info", WD_LOG_INFO},
	    {"debug", WD_LOG_DEBUG},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcasecmp(v, t[i].name) == 0) {
			*out = t[i].level;
			return 0;
		}
	}
	return fail(p, "%s: \"%s\" is not one of error, warning, notice, info, debug", key, v);
}

static int parse_auth_methods(struct parser *p, const char *key, const char *v, unsigned *out)
{
	char **items;
	size_t n;
	unsigned m = 0;
	int rc = split_list(p, key, v, &items, &n);

	if (rc != 0)
		return rc;
	if (n == 0) {
		free_list(items, n);
		return fail(p, "%s: empty list (use ntlmssp, krb5, spnego)", key);
	}
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(items[i], "ntlmssp") == 0 || strcasecmp(items[i], "ntlm") == 0)
			m |= AUTH_METHOD_NTLMSSP;
		else if (strcasecmp(items[i], "krb5") == 0 || strcasecmp(items[i], "kerberos") == 0)
			m |= AUTH_METHOD_KRB5;
		else if (strcasecmp(items[i], "spnego") == 0)
			m |= AUTH_METHOD_SPNEGO;
		else {
			rc = fail(p, "%s: unknown method \"%s\" (use ntlmssp, krb5, spnego)", key,
			          items[i]);
			break;
		}
	}
	free_list(items, n);
	if (rc == 0)
		*out = m;
	return rc;
}

static int parse_static_interfaces(struct parser *p, const char *key, const char *v)
{
	struct wd_config *c = p->c;
	char **items;
	size_t n;
	struct wd_static_ip *ips;
	int rc = split_list(p, key, v, &items, &n);

	if (rc != 0)
		return rc;
	ips = calloc(n ? n : 1, sizeof(*ips));
	if (ips == NULL) {
		free_list(items, n);
		return fail(p, "out of memory");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *at = strrchr(items[i], '@');
		uint64_t node;
		unsigned char a[16], b[16];
		int fam = 0, fam2 = 0;

		if (at == NULL) {
			rc = fail(p, "%s: \"%s\" is not IP@node", key, items[i]);
			break;
		}
		*at = '\0';
		if (!valid_ip(items[i], &fam)) {
			rc = fail(p, "%s: \"%s\" is not an IPv4 or IPv6 address", key, items[i]);
			break;
		}
		if ((rc = parse_uint(p, key, at + 1, UINT32_MAX - 1, &node)) != 0)
			break;
		inet_pton(fam, items[i], a);
		for (size_t j = 0; j < i; j++) {
			valid_ip(ips[j].addr, &fam2);
			inet_pton(fam2, ips[j].addr, b);
			if (fam == fam2 && memcmp(a, b, fam == AF_INET ? 4 : 16) == 0) {
				rc = fail(p, "%s: %s is listed twice", key, items[i]);
				break;
			}
		}
		if (rc != 0)
			break;
		ips[i].addr = strdup(items[i]);
		if (ips[i].addr == NULL) {
			rc = fail(p, "out of memory");
			break;
		}
		ips[i].node = (uint32_t)node;
	}
	free_list(items, n);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			free(ips[i].addr);
		free(ips);
		return rc;
	}
	c->static_interfaces = ips;
	c->n_static_interfaces = n;
	return 0;
}

static int parse_name_list(struct parser *p, const char *key, const char *v, char ***dst,
                           size_t *n_dst, bool ips)
{
	char **items;
	size_t n;
	int rc = split_list(p, key, v, &items, &n);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (ips ? !valid_ip(items[i], NULL) : !valid_name(items[i])) {
			rc = fail(p,
			          ips ? "%s: \"%s\" is not an IPv4 or IPv6 address"
			              : "%s: \"%s\" is not a valid name",
			          key, items[i]);
			free_list(items, n);
			return rc;
		}
	}
	if (ips && n == 0) {
		free_list(items, n);
		return fail(p, "%s: empty list", key);
	}
	free_list(*dst, *n_dst);
	*dst = items;
	*n_dst = n;
	return 0;
}

static int set_value(struct parser *p, const struct key_def *k, const char *v)
{
	struct wd_config *c = p->c;
	const char *key = k->name;
	uint64_t n = 0;
	int rc = 0;

	switch (k->id) {
	case K_NETNAME:
		if (!valid_name(v))
			return fail(p, "%s: \"%s\" is not a valid name", key, v);
		return set_string(p, &c->netname, v);
	case K_NETNAME_ALIASES:
		return parse_name_list(p, key, v, &c->netname_aliases, &c->n_netname_aliases,
		                       false);
	case K_LISTEN_ADDRESSES:
		return parse_name_list(p, key, v, &c->listen_addresses, &c->n_listen_addresses,
		                       true);
	case K_LISTEN_FREEBIND:
		return parse_bool(p, key, v, &c->listen_freebind);
	case K_WITNESS_PORT:
		if ((rc = parse_uint(p, key, v, 65535, &n)) == 0)
			c->witness_port = (uint16_t)n;
		return rc;
	case K_EPMAPPER_PORT:
		if ((rc = parse_uint(p, key, v, 65535, &n)) == 0)
			c->epmapper_port = (uint16_t)n;
		return rc;
	case K_CLUSTER_BACKEND:
		if (strcasecmp(v, "static") == 0)
			c->cluster_backend = WD_BACKEND_STATIC;
		else if (strcasecmp(v, "ctdb") == 0)
			c->cluster_backend = WD_BACKEND_CTDB;
		else
			return fail(p, "%s: \"%s\" is not one of static, ctdb", key, v);
		return 0;
	case K_STATE_DIRECTORY:
		return set_path(p, key, &c->state_directory, v, true);
	case K_ADMIN_SOCKET: {
		struct sockaddr_un sun;

		if (strlen(v) >= sizeof(sun.sun_path))
			return fail(p, "%s: path longer than %zu bytes", key,
			            sizeof(sun.sun_path) - 1);
		return set_path(p, key, &c->admin_socket, v, true);
	}
	case K_METRICS_LISTEN: {
		char addr[64];
		uint16_t port;

		if (metrics_parse_listen(v, addr, sizeof(addr), &port) != 0)
			return fail(p, "%s: \"%s\" is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)",
			            key, v);
		return set_string(p, &c->metrics_listen, v);
	}
	case K_MIN_AUTH_LEVEL:
		return parse_level(p, key, v, &c->min_auth_level);
	case K_UNUSED_REGISTRATION_TIMEOUT:
		/* seconds; the timer works in ms, so cap well below UINT32_MAX / 1000 */
		if ((rc = parse_uint(p, key, v, 86400, &n)) == 0)
			c->unused_registration_timeout = (uint32_t)n;
		return rc;
	case K_REREGISTER_DELAY:
		if ((rc = parse_uint(p, key, v, 3600, &n)) == 0)
			c->reregister_delay = (uint32_t)n;
		return rc;
	case K_INTERFACE_LIST_WAIT:
		if ((rc = parse_uint(p, key, v, 86400, &n)) == 0)
			c->interface_list_wait = (uint32_t)n;
		return rc;
	case K_SHARES:
	case K_INTERFACE_GROUP_NAMES: {
		bool shares = k->id == K_SHARES;
		char **items;
		size_t ni;

		if ((rc = split_list(p, key, v, &items, &ni)) != 0)
			return rc;
		for (size_t i = 0; i < ni; i++) {
			if (shares ? !valid_share(items[i]) : !valid_group_item(items[i])) {
				rc = fail(p,
				          shares ? "%s: \"%s\" is not a valid share name"
				                 : "%s: \"%s\" is not NAME@node",
				          key, items[i]);
				free_list(items, ni);
				return rc;
			}
		}
		if (shares) {
			free_list(c->shares, c->n_shares);
			c->shares = items;
			c->n_shares = ni;
		} else {
			free_list(c->interface_group_names, c->n_interface_group_names);
			c->interface_group_names = items;
			c->n_interface_group_names = ni;
		}
		return 0;
	}
	case K_MAX_CONNECTIONS:
		if ((rc = parse_uint(p, key, v, 1000000, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->max_connections = (unsigned)n;
		}
		return rc;
	case K_MAX_CONNECTIONS_PER_CLIENT:
		if ((rc = parse_uint(p, key, v, 1000000, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->max_connections_per_client = (unsigned)n;
		}
		return rc;
	case K_MAX_REGISTRATIONS_PER_CLIENT:
		if ((rc = parse_uint(p, key, v, 1000000, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->max_registrations_per_client = (unsigned)n;
		}
		return rc;
	case K_MAX_PENDING_CALLS:
		if ((rc = parse_uint(p, key, v, 65536, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->max_pending_calls = (unsigned)n;
		}
		return rc;
	case K_MAX_REQUEST_SIZE:
		/* [MS-RPCE] leaves the cap to the server; a witness request is < 4 KiB */
		if ((rc = parse_size(p, key, v, 256ull << 20, &n)) == 0) {
			if (n < 4096)
				return fail(p, "%s: must be at least 4K", key);
			c->max_request_size = (uint32_t)n;
		}
		return rc;
	case K_MAX_UNAUTH_REQUEST_SIZE:
		/* a witness or endpoint mapper call is a few hundred bytes */
		if ((rc = parse_size(p, key, v, 256ull << 20, &n)) == 0) {
			if (n < 4096)
				return fail(p, "%s: must be at least 4K", key);
			c->max_unauth_request_size = (uint32_t)n;
		}
		return rc;
	case K_MAX_BUFFER_MEMORY:
		if ((rc = parse_size(p, key, v, 2ull << 30, &n)) == 0) {
			if (n < (1u << 20))
				return fail(p, "%s: must be at least 1M", key);
			c->max_buffer_memory = (uint32_t)n;
		}
		return rc;
	case K_REQUEST_TIMEOUT:
		if ((rc = parse_uint(p, key, v, 3600, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1 second", key);
			c->request_timeout = (uint32_t)n;
		}
		return rc;
	case K_LOG_LEVEL:
		return parse_log_level(p, key, v, &c->log_level);
	case K_KEYTAB:
		return set_path(p, key, &c->keytab, v, false);
	case K_NTLM_PASSWORD_FILE:
		return set_path(p, key, &c->ntlm_password_file, v, false);
	case K_NTLMSSP_ANONYMOUS:
		return parse_bool(p, key, v, &c->ntlmssp_anonymous);
	case K_REALM:
		if (!valid_name(v))
			return fail(p, "%s: \"%s\" is not a valid realm", key, v);
		return set_string(p, &c->realm, v);
	case K_WORKGROUP:
		if (!valid_name(v) || strlen(v) > 15)
			return fail(p, "%s: \"%s\" is not a NetBIOS domain name (1-15 chars)", key,
			            v);
		return set_string(p, &c->workgroup, v);
	case K_AUTH_METHODS:
		return parse_auth_methods(p, key, v, &c->auth_methods);
	case K_STATIC_LOCAL_NODE:
		if ((rc = parse_uint(p, key, v, UINT32_MAX - 1, &n)) == 0)
			c->static_local_node = (uint32_t)n;
		return rc;
	case K_STATIC_INTERFACES:
		return parse_static_interfaces(p, key, v);
	case K_CTDB_SOCKET:
		return set_path(p, key, &c->ctdb_socket, v, true);
	case K_CTDB_INCLUDE_NODE_IPS:
		return parse_bool(p, key, v, &c->ctdb_include_node_ips);
	case K_CTDB_INCLUDE_PUBLIC_IPS:
		return parse_bool(p, key, v, &c->ctdb_include_public_ips);
	case K_CTDB_REREAD_INTERVAL:
		if ((rc = parse_uint(p, key, v, 86400, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->ctdb_reread_interval = (uint32_t)n;
		}
		return rc;
	case K_CTDB_PEER_TIMEOUT:
		if ((rc = parse_uint(p, key, v, 60, &n)) == 0) {
			if (n == 0)
				return fail(p, "%s: must be at least 1", key);
			c->ctdb_peer_timeout = (uint32_t)n;
		}
		return rc;
	case K_COUNT:
		break;
	}
	return fail(p, "internal error: unhandled key %s", key);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_line(struct parser *p, enum section *sec, char *line)
{
	char *s = trim(line), *eq, *key, *val;
	const struct key_def *k;
	enum section other;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (end == NULL || *trim(end + 1) != '\0')
			return fail(p, "malformed section header");
		*end = '\0';
		s = trim(s + 1);
		if (strcasecmp(s, "global") == 0) {
			*sec = SEC_GLOBAL;
			if (p->global_line == 0)
				p->global_line = p->line;
		} else if (strcasecmp(s, "static") == 0)
			*sec = SEC_STATIC;
		else if (strcasecmp(s, "ctdb") == 0)
			*sec = SEC_CTDB;
		else
			return fail(p, "unknown section [%s] (known: [global], [static], [ctdb])",
			            s);
		return 0;
	}
	eq = strchr(s, '=');
	if (eq == NULL)
		return fail(p, "expected \"key = value\" or a [section]");
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (*key == '\0')
		return fail(p, "missing key before '='");
	if (*sec == SEC_NONE)
		/* smb.conf treats parameters before any section as global */
		*sec = SEC_GLOBAL;
	k = find_key(*sec, key);
	if (k == NULL) {
		if (key_exists_elsewhere(key, &other))
			return fail(p, "\"%s\" belongs in [%s], not in [%s]", key,
			            section_names[other], section_names[*sec]);
		return fail(p, "unknown key \"%s\" in [%s]", key, section_names[*sec]);
	}
	if (p->seen[k->id])
		return fail(p, "duplicate key \"%s\"", k->name);
	p->seen[k->id] = true;
	/*
	 * Half a line at most, so that wd_config_format can always write it back
	 * on one line (fuzz_config found a list that formatted to a line over
	 * CFG_MAX_LINE: tests/fuzz/regress/fuzz_config).
	 */
	if (strlen(val) > CFG_MAX_VALUE)
		return fail(p, "%s: value longer than %u bytes", k->name, CFG_MAX_VALUE);
	return set_value(p, k, val);
}

static int set_default_strings(struct wd_config *c)
{
	const char *ctdb = getenv("CTDB_SOCKET");

	c->listen_addresses = calloc(1, sizeof(char *));
	if (c->listen_addresses == NULL)
		return WD_ENOMEM;
	c->listen_addresses[0] = strdup("0.0.0.0");
	c->n_listen_addresses = 1;
	c->listen_freebind = true;
	c->state_directory = strdup("/var/lib/witnessd");
	c->admin_socket = strdup("/run/witnessd/witnessd.sock");
	c->workgroup = strdup("WORKGROUP");
	c->ctdb_socket = strdup(ctdb != NULL && ctdb[0] == '/' ? ctdb : "/run/ctdb/ctdbd.socket");
	if (c->listen_addresses[0] == NULL || c->state_directory == NULL ||
	    c->admin_socket == NULL || c->workgroup == NULL || c->ctdb_socket == NULL)
		return WD_ENOMEM;
	return 0;
}

void wd_config_defaults(struct wd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->witness_port = 0;
	c->epmapper_port = 135;
	c->cluster_backend = WD_BACKEND_STATIC;
	c->min_auth_level = AUTH_LEVEL_INTEGRITY;
	c->unused_registration_timeout = 30; /* [MS-SWN] <7>, Samba unused_timeout_secs */
	c->reregister_delay = 5;             /* Samba: forced unregistration after 5 s */
	c->interface_list_wait = 120;        /* under Windows' 180 s RPC call timeout */
	c->max_connections = 16384;
	c->max_connections_per_client = 256;
	c->max_registrations_per_client = 64;
	c->max_pending_calls = 16;
	c->max_request_size = 4u << 20;
	c->max_unauth_request_size = 16u << 10;
	c->max_buffer_memory = 64u << 20;
	c->request_timeout = 30;
	c->log_level = WD_LOG_INFO;
	c->auth_methods = AUTH_METHOD_NTLMSSP | AUTH_METHOD_KRB5 | AUTH_METHOD_SPNEGO;
	c->ntlmssp_anonymous = true;
	c->static_local_node = 0;
	c->ctdb_include_node_ips = false;
	c->ctdb_include_public_ips = true;
	c->ctdb_reread_interval = 10;
	c->ctdb_peer_timeout = 2;
	/* Strings: on allocation failure they stay NULL; wd_config_parse reports it. */
	(void)set_default_strings(c);
}

static int check_whole(struct parser *p)
{
	struct wd_config *c = p->c;

	if (c->listen_addresses == NULL || c->state_directory == NULL || c->admin_socket == NULL ||
	    c->workgroup == NULL || c->ctdb_socket == NULL)
		return fail(p, "out of memory");
	p->line = p->global_line ? p->global_line : 1;
	if (c->netname == NULL)
		return fail(p, "[global] \"netname\" is required");
	for (size_t i = 0; i < c->n_listen_addresses; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->listen_addresses[i], c->listen_addresses[j]) == 0)
				return fail(p, "listen addresses: %s is listed twice",
				            c->listen_addresses[i]);
		}
	}
	/* Linux binds "::" dual-stack and refuses an overlapping bind on the same port. */
	{
		bool any4 = false, any6 = false;

		for (size_t i = 0; i < c->n_listen_addresses; i++) {
			any4 |= strcmp(c->listen_addresses[i], "0.0.0.0") == 0;
			any6 |= strcmp(c->listen_addresses[i], "::") == 0;
		}
		if (any4 && any6)
			return fail(p, "listen addresses: \"::\" also accepts IPv4 (dual-stack); "
			               "list either 0.0.0.0 or ::");
		for (size_t i = 0; i < c->n_listen_addresses && (any4 || any6); i++) {
			const char *a = c->listen_addresses[i];
			bool v6 = strchr(a, ':') != NULL;

			if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
				continue;
			if (any6 || !v6)
				return fail(p, "listen addresses: %s is already covered by %s", a,
				            any6 ? "::" : "0.0.0.0");
		}
	}
	if (c->epmapper_port != 0 && c->epmapper_port == c->witness_port)
		return fail(p, "witness port and epmapper port are both %u", c->witness_port);
	return 0;
}

int wd_config_parse(const char *text, size_t len, const char *name, struct wd_config *c, char *err,
                    size_t errlen)
{
	struct wd_config tmp;
	struct parser p = {
	    .name = name != NULL ? name : "(config)", .err = err, .errlen = errlen, .c = &tmp};
	enum section sec = SEC_NONE;
	char *line = NULL;
	size_t pos = 0;
	int rc = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	wd_config_defaults(&tmp);
	if (len > CFG_MAX_FILE) {
		p.line = 0;
		rc = fail(&p, "file larger than %u bytes", CFG_MAX_FILE);
		goto out;
	}
	line = malloc(CFG_MAX_LINE + 1);
	if (line == NULL) {
		rc = fail(&p, "out of memory");
		goto out;
	}
	while (pos < len && rc == 0) {
		size_t ll = 0;
		unsigned first = p.line + 1;

		/* One logical line: physical lines joined by a trailing backslash. */
		for (;;) {
			size_t start = pos, plen;
			const char *nl;

			p.line++;
			nl = memchr(text + pos, '\n', len - pos);
			plen = (nl != NULL ? (size_t)(nl - text) : len) - start;
			pos = start + plen + (nl != NULL ? 1 : 0);
			if (plen > 0 && text[start + plen - 1] == '\r')
				plen--;
			if (memchr(text + start, '\0', plen) != NULL) {
				rc = fail(&p, "NUL byte in line");
				break;
			}
			if (ll + plen > CFG_MAX_LINE) {
				rc = fail(&p, "line longer than %u bytes", CFG_MAX_LINE);
				break;
			}
			memcpy(line + ll, text + start, plen);
			ll += plen;
			if (ll > 0 && line[ll - 1] == '\\' && pos < len) {
				line[--ll] = ' ';
				ll++;
				continue;
			}
			/* a continuation with nothing to continue (the end of the file):
			 * dropped, or wd_config_format would write a line that joins
			 * the next one (fuzz_config, tests/fuzz/regress/fuzz_config) */
			if (ll > 0 && line[ll - 1] == '\\')
				ll--;
			break;
		}
		if (rc != 0)
			break;
		line[ll] = '\0';
		{
			unsigned last = p.line;

			p.line = first;
			rc = parse_line(&p, &sec, line);
			p.line = last;
		}
	}
	if (rc == 0)
		rc = check_whole(&p);
out:
	free(line);
	if (rc != 0) {
		wd_config_free(&tmp);
		return rc;
	}
	wd_config_free(c);
	*c = tmp;
	return 0;
}

int wd_config_load(const char *path, struct wd_config *c, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
		return WD_ECONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s:0: not a regular file", path);
		close(fd);
		return WD_ECONFIG;
	}
	if (st.st_size > (off_t)CFG_MAX_FILE) {
		snprintf(err, errlen, "%s:0: file larger than %u bytes", path, CFG_MAX_FILE);
		close(fd);
		return WD_ECONFIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "%s:0: out of memory", path);
		return WD_ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = wd_config_parse(buf, len, path, c, err, errlen);
	free(buf);
	return rc;
}

void wd_config_free(struct wd_config *c)
{
	if (c == NULL)
		return;
	free(c->netname);
	free_list(c->netname_aliases, c->n_netname_aliases);
	free_list(c->listen_addresses, c->n_listen_addresses);
	free_list(c->shares, c->n_shares);
	free_list(c->interface_group_names, c->n_interface_group_names);
	free(c->state_directory);
	free(c->admin_socket);
	free(c->metrics_listen);
	free(c->keytab);
	free(c->ntlm_password_file);
	free(c->realm);
	free(c->workgroup);
	for (size_t i = 0; i < c->n_static_interfaces; i++)
		free(c->static_interfaces[i].addr);
	free(c->static_interfaces);
	free(c->ctdb_socket);
	memset(c, 0, sizeof(*c));
}

const char *wd_config_auth_level_name(uint8_t level)
{
	switch (level) {
	case AUTH_LEVEL_NONE:
		return "none";
	case AUTH_LEVEL_CONNECT:
		return "connect";
	case AUTH_LEVEL_CALL:
		return "call";
	case AUTH_LEVEL_PACKET:
		return "packet";
	case AUTH_LEVEL_INTEGRITY:
		return "integrity";
	case AUTH_LEVEL_PRIVACY:
		return "privacy";
	}
	return "unknown";
}

/* ---- writing a config back (testparm-style dump, round-trip tests) ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap + (size_t)n + 1) * 2;
		char *np = realloc(b->p, ncap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/*
 * ", " between list items unless that would take the value over
 * CFG_MAX_VALUE; then one space, which is never longer than what was parsed.
 */
static const char *list_sep(size_t items_len, size_t n)
{
	return items_len + 2 * (n ? n - 1 : 0) <= CFG_MAX_VALUE ? ", " : " ";
}

static void sb_list(struct sbuf *b, const char *key, char *const *l, size_t n)
{
	size_t total = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		total += strlen(l[i]);
	const char *sep = list_sep(total, n);
	sb_printf(b, "\t%s = ", key);
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s%s", i ? sep : "", l[i]);
	sb_printf(b, "\n");
}

const char *wd_config_log_level_name(int l)
{
	switch (l) {
	case WD_LOG_ERR:
		return "error";
	case WD_LOG_WARNING:
		return "warning";
	case WD_LOG_NOTICE:
		return "notice";
	case WD_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

int wd_config_format(const struct wd_config *c, char **out)
{
	struct sbuf b = {.p = malloc(1024), .cap = 1024};

	*out = NULL;
	if (b.p == NULL)
		return WD_ENOMEM;
	b.p[0] = '\0';
	sb_printf(&b, "[global]\n");
	if (c->netname != NULL)
		sb_printf(&b, "\tnetname = %s\n", c->netname);
	sb_list(&b, "netname aliases", c->netname_aliases, c->n_netname_aliases);
	sb_list(&b, "listen addresses", c->listen_addresses, c->n_listen_addresses);
	sb_printf(&b, "\tlisten freebind = %s\n", c->listen_freebind ? "yes" : "no");
	sb_printf(&b, "\twitness port = %u\n", c->witness_port);
	sb_printf(&b, "\tepmapper port = %u\n", c->epmapper_port);
	sb_printf(&b, "\tcluster backend = %s\n",
	          c->cluster_backend == WD_BACKEND_CTDB ? "ctdb" : "static");
	if (c->state_directory != NULL)
		sb_printf(&b, "\tstate directory = %s\n", c->state_directory);
	if (c->admin_socket != NULL)
		sb_printf(&b, "\tadmin socket = %s\n", c->admin_socket);
	if (c->metrics_listen != NULL)
		sb_printf(&b, "\tmetrics listen = %s\n", c->metrics_listen);
	sb_printf(&b, "\tmin auth level = %s\n", wd_config_auth_level_name(c->min_auth_level));
	sb_printf(&b, "\tunused registration timeout = %u\n", c->unused_registration_timeout);
	sb_printf(&b, "\treregister delay = %u\n", c->reregister_delay);
	sb_printf(&b, "\tinterface list wait = %u\n", c->interface_list_wait);
	sb_list(&b, "shares", c->shares, c->n_shares);
	sb_list(&b, "interface group names", c->interface_group_names, c->n_interface_group_names);
	sb_printf(&b, "\tmax connections = %u\n", c->max_connections);
	sb_printf(&b, "\tmax connections per client = %u\n", c->max_connections_per_client);
	sb_printf(&b, "\tmax registrations per client = %u\n", c->max_registrations_per_client);
	sb_printf(&b, "\tmax pending calls = %u\n", c->max_pending_calls);
	sb_printf(&b, "\tmax request size = %u\n", c->max_request_size);
	sb_printf(&b, "\tmax unauthenticated request size = %u\n", c->max_unauth_request_size);
	sb_printf(&b, "\tmax buffer memory = %u\n", c->max_buffer_memory);
	sb_printf(&b, "\trequest timeout = %u\n", c->request_timeout);
	sb_printf(&b, "\tlog level = %s\n", wd_config_log_level_name(c->log_level));
	if (c->keytab != NULL)
		sb_printf(&b, "\tkeytab = %s\n", c->keytab);
	if (c->ntlm_password_file != NULL)
		sb_printf(&b, "\tntlm password file = %s\n", c->ntlm_password_file);
	sb_printf(&b, "\tntlmssp anonymous = %s\n", c->ntlmssp_anonymous ? "yes" : "no");
	if (c->realm != NULL)
		sb_printf(&b, "\trealm = %s\n", c->realm);
	if (c->workgroup != NULL)
		sb_printf(&b, "\tworkgroup = %s\n", c->workgroup);
	if (c->auth_methods != 0)
		sb_printf(&b, "\tauth methods =%s%s%s\n",
		          c->auth_methods & AUTH_METHOD_NTLMSSP ? " ntlmssp" : "",
		          c->auth_methods & AUTH_METHOD_KRB5 ? " krb5" : "",
		          c->auth_methods & AUTH_METHOD_SPNEGO ? " spnego" : "");
	sb_printf(&b, "\n[static]\n\tlocal node = %u\n", c->static_local_node);
	if (c->n_static_interfaces > 0) {
		size_t total = 0;

		for (size_t i = 0; i < c->n_static_interfaces; i++)
			total += (size_t)snprintf(NULL, 0, "%s@%u", c->static_interfaces[i].addr,
			                          c->static_interfaces[i].node);
		const char *sep = list_sep(total, c->n_static_interfaces);
		sb_printf(&b, "\tinterfaces = ");
		for (size_t i = 0; i < c->n_static_interfaces; i++)
			sb_printf(&b, "%s%s@%u", i ? sep : "", c->static_interfaces[i].addr,
			          c->static_interfaces[i].node);
		sb_printf(&b, "\n");
	}
	sb_printf(&b, "\n[ctdb]\n");
	if (c->ctdb_socket != NULL)
		sb_printf(&b, "\tsocket = %s\n", c->ctdb_socket);
	sb_printf(&b, "\tinclude node ips = %s\n", c->ctdb_include_node_ips ? "yes" : "no");
	sb_printf(&b, "\tinclude public ips = %s\n", c->ctdb_include_public_ips ? "yes" : "no");
	sb_printf(&b, "\treread interval = %u\n", c->ctdb_reread_interval);
	sb_printf(&b, "\tpeer timeout = %u\n", c->ctdb_peer_timeout);
	if (b.oom) {
		free(b.p);
		return WD_ENOMEM;
	}
	*out = b.p;
	return 0;
}
