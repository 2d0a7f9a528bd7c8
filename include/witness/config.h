/*
 * config.h - witnessd's smb.conf-like INI file. Sections [global], [static],
 * [ctdb]; "key = value"; '#' and ';' start comments; keys are case- and
 * space-insensitive like smb.conf. Unknown keys, bad values and duplicate
 * keys are errors naming file and line.
 */
#ifndef WITNESS_CONFIG_H
#define WITNESS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wd_backend { WD_BACKEND_STATIC = 0, WD_BACKEND_CTDB = 1 };

struct wd_static_ip {
	char *addr;
	uint32_t node;
};

struct wd_config {
	/* [global] */
	char *netname; /* required */
	char **netname_aliases;
	size_t n_netname_aliases;
	char **listen_addresses;
	size_t n_listen_addresses;             /* default "0.0.0.0" */
	bool listen_freebind;                  /* IP_FREEBIND on specific addresses, default yes */
	uint16_t witness_port;                 /* 0 = dynamic (default) */
	uint16_t epmapper_port;                /* default 135; 0 turns the EPM off */
	enum wd_backend cluster_backend;       /* default static */
	char *state_directory;                 /* default /var/lib/witnessd */
	char *admin_socket;                    /* default /run/witnessd/witnessd.sock */
	char *metrics_listen;                  /* "ADDRESS:PORT" of GET /metrics; NULL: off */
	uint8_t min_auth_level;                /* default AUTH_LEVEL_INTEGRITY */
	uint32_t unused_registration_timeout;  /* seconds, default 30 */
	uint32_t reregister_delay;             /* seconds, default 5 */
	unsigned max_connections;              /* default 16384 */
	unsigned max_connections_per_client;   /* default 256 */
	unsigned max_registrations_per_client; /* default 64 */
	unsigned max_pending_calls;            /* per connection, default 16 */
	uint32_t max_request_size;             /* default 4 MiB */
	uint32_t max_unauth_request_size;      /* before full auth, default 16 KiB */
	uint32_t max_buffer_memory;            /* all peers' buffers, default 64 MiB */
	uint32_t request_timeout;              /* seconds, default 30 */
	int log_level;                         /* WD_LOG_*, default INFO; "log level = debug" */
	/* auth (issue 3) */
	char *keytab;             /* NULL: krb5 off */
	char *ntlm_password_file; /* NULL: NTLM off */
	bool ntlmssp_anonymous;   /* accept the NTLMSSP anonymous logon, default yes */
	char *realm;              /* krb5 realm / DNS domain, optional */
	char *workgroup;          /* NetBIOS domain for NTLM, default "WORKGROUP" */
	unsigned auth_methods;    /* AUTH_METHOD_* bits, default all available */
	/* [MS-SWN] choices: 3.1.4.1 wait, 3.1.4.5 shares, 3.1.1.2 group names */
	uint32_t interface_list_wait; /* seconds, default 120; 0 = no wait */
	char **shares;                /* scale-out shares; none: any ShareName */
	size_t n_shares;
	char **interface_group_names; /* "NAME@node" items */
	size_t n_interface_group_names;
	/* [static] */
	uint32_t static_local_node;
	struct wd_static_ip *static_interfaces;
	size_t n_static_interfaces;
	/* [ctdb] */
	char *ctdb_socket;             /* default $CTDB_SOCKET or /run/ctdb/ctdbd.socket */
	bool ctdb_include_node_ips;    /* default no */
	bool ctdb_include_public_ips;  /* default yes */
	uint32_t ctdb_reread_interval; /* seconds, default 10 */
	uint32_t ctdb_peer_timeout;    /* seconds the cluster admin commands wait, default 2 */
};

/* Overwrites c with the defaults (allocates the default strings; free with wd_config_free). */
void wd_config_defaults(struct wd_config *c);
/*
 * Parse text; name is used in messages. On error, err = "name:line: message",
 * WD_ECONFIG is returned and c is untouched. On success the previous content
 * of c is freed and replaced, so c must be zeroed or hold a config (from
 * wd_config_defaults or an earlier parse); free the result with wd_config_free.
 * Pure: no I/O (reads $CTDB_SOCKET for the default ctdb socket only).
 */
int wd_config_parse(const char *text, size_t len, const char *name, struct wd_config *c, char *err,
                    size_t errlen);
/* Reads path (at most 1 MiB) and parses it; messages as above ("path:0:" for I/O errors). */
int wd_config_load(const char *path, struct wd_config *c, char *err, size_t errlen);
/* Frees every string and list and zeroes c. NULL is fine. */
void wd_config_free(struct wd_config *c);
/* "none", "connect", "packet", "integrity", "privacy" for an AUTH_LEVEL_* value. */
const char *wd_config_auth_level_name(uint8_t level);
/* "error", "warning", "notice", "info", "debug" for a WD_LOG_* level, as `log level` takes them. */
const char *wd_config_log_level_name(int level);
/*
 * The config as INI text that wd_config_parse reads back to an equal config
 * (witnessd --check-config --verbose prints it). *out is malloc'd, caller frees.
 */
int wd_config_format(const struct wd_config *c, char **out);

#endif
