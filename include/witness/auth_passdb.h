/*
 * auth_passdb.h - the NTLM password file: NT hashes of local accounts, so
 * that NTLMSSP works without a domain controller.
 *
 * File format (compatible with Samba's smbpasswd(5) and gss-ntlmssp's
 * NTLM_USER_FILE), one account per line, '#' comments and blank lines kept:
 *
 *   NAME:UID:LMHASH:NTHASH:[U          ]:LCT-XXXXXXXX:
 *   DOMAIN\NAME:UID:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:<32 hex>:[U          ]:LCT-6560A1B2:
 *
 * NAME may carry a NetBIOS domain as "DOMAIN\NAME"; an entry without a domain
 * matches any domain the client sends. The LM hash field is always written as
 * 32 'X' (LM is never used or stored). The NT hash is MD4(UTF-16LE(password))
 * ([MS-NLMP] 3.3.1 NTOWFv1); the clear-text password is never stored, and
 * every copy this module makes of it is wiped after use. Account flags with a
 * 'D' mark a disabled account. Names and domains match case-insensitively
 * (ASCII). The UID is a local number (smbpasswd's Unix UID); user_add picks
 * the next free one from 1000.
 *
 * Writers replace the file atomically (temporary file in the same directory,
 * mode 0600, fsync, rename), so the daemon reading it on SIGHUP never sees a
 * half-written file.
 */
#ifndef WITNESS_AUTH_PASSDB_H
#define WITNESS_AUTH_PASSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { AUTH_PASSDB_NAME_MAX = 128 };

typedef struct auth_passdb auth_passdb_t; /* a loaded, read-only copy */

struct auth_passdb_entry {
	char domain[AUTH_PASSDB_NAME_MAX]; /* "" = any domain */
	char name[AUTH_PASSDB_NAME_MAX];
	uint32_t uid;
	bool disabled;
	uint8_t nthash[16]; /* secret: wd_memzero it when done */
};

/*
 * Load path. WD_ENOTFOUND if it does not exist, WD_EACCES if unreadable,
 * WD_EPROTO (with the line number logged) for a malformed line. On success
 * *out is owned by the caller: auth_passdb_free wipes the hashes.
 */
int auth_passdb_load(const char *path, auth_passdb_t **out);
/* The same from a file image in memory (tests, fuzzing); text is not kept. */
int auth_passdb_parse(const char *text, auth_passdb_t **out);
void auth_passdb_free(auth_passdb_t *db);
size_t auth_passdb_count(const auth_passdb_t *db);
/* The i-th entry (0 <= i < count); pointer valid until auth_passdb_free. */
const struct auth_passdb_entry *auth_passdb_entry(const auth_passdb_t *db, size_t i);
/*
 * Find the entry for (domain, name): an exact domain match first, then an
 * entry without a domain. domain may be NULL or "". NULL when absent.
 */
const struct auth_passdb_entry *auth_passdb_find(const auth_passdb_t *db, const char *domain,
                                                 const char *name);
/* Parse one line (no newline). WD_ENOTFOUND for a blank / comment line. */
int auth_passdb_parse_line(const char *line, struct auth_passdb_entry *out);

/* NT hash = MD4(UTF-16LE(password)). password is not kept. */
int auth_passdb_nthash(const char *password, uint8_t out[16]);

/*
 * Administration (witnessctl user add/del/list). All take the file path;
 * domain may be NULL or "" for "any domain".
 *
 * user_add: create the file (0600) if missing; add the account, or replace
 *   the hash of an existing (domain, name) keeping its UID. The caller owns
 *   password and should wipe it; this function wipes its own copies.
 *   WD_EINVAL for a name/domain containing ':', '\\', control characters, or
 *   longer than AUTH_PASSDB_NAME_MAX-1, or an empty password.
 * user_del: WD_ENOTFOUND if no such (domain, name) entry.
 * user_list: calls fn for every entry in file order (no hashes are passed);
 *   a non-zero return from fn stops the walk and is returned.
 */
int auth_passdb_user_add(const char *path, const char *domain, const char *name,
                         const char *password);
int auth_passdb_user_del(const char *path, const char *domain, const char *name);
typedef int (*auth_passdb_list_fn)(const char *domain, const char *name, uint32_t uid,
                                   bool disabled, void *arg);
int auth_passdb_user_list(const char *path, auth_passdb_list_fn fn, void *arg);

#endif
