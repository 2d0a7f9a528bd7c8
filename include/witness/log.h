/*
 * log.h - structured logging.
 *
 * A log line is an event name plus key=value fields, so journald can index
 * them: wd_log(WD_LOG_INFO, "registration.add", "uuid=%s ip=%s", ...).
 * Under systemd (JOURNAL_STREAM names our stderr) fields are sent to journald
 * as WITNESSD_<KEY>=value with MESSAGE, PRIORITY, WITNESSD_EVENT, the
 * caller's CODE_FILE / CODE_LINE / CODE_FUNC (wd_log is a macro that passes
 * them) and, for the events an administrator acts on, a stable MESSAGE_ID
 * (see wd_log_message_id and systemd/witnessd.catalog). Otherwise one line
 * "TIMESTAMP LEVEL event key=value ..." goes to stderr.
 * Strings that come from the network MUST pass through wd_log_escape() first.
 * Secrets (passwords, hashes, session keys) are never logged.
 */
#ifndef WITNESS_LOG_H
#define WITNESS_LOG_H

#include <stddef.h>

enum wd_log_level {
	WD_LOG_ERR = 3,
	WD_LOG_WARNING = 4,
	WD_LOG_NOTICE = 5,
	WD_LOG_INFO = 6,
	WD_LOG_DEBUG = 7,
};

/* Messages above this level are dropped. Default WD_LOG_INFO. */
void wd_log_set_level(int level);
int wd_log_get_level(void);
/* Force the stderr backend (tests, --foreground on a terminal). */
void wd_log_use_stderr(int yes);

/*
 * wd_log(level, event, fmt, ...): the caller's file, line and function are
 * recorded (CODE_FILE, CODE_LINE, CODE_FUNC in the journal).
 */
#define wd_log(level, event, ...) wd_log_at(__FILE__, __LINE__, __func__, level, event, __VA_ARGS__)

void wd_log_at(const char *file, int line, const char *func, int level, const char *event,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * The MESSAGE_ID (32 lower-case hex digits, sd-id128 style) of an event, or
 * NULL. The table in log.c is the contract: an id never changes once
 * shipped, and every id has an entry in systemd/witnessd.catalog. Some
 * events are split by one field (registration.close reason=unused is
 * "registration expired", reason=force-unregister "registration forced"):
 * fields is the formatted field string, or NULL.
 *
 * Events with an id: registration.add, registration.close (by reason),
 * notification.sent (the summary line of one event's notifications; the
 * per-registration witness.notify lines at debug carry none), cluster.event
 * (interface state change), ctdb.connected / ctdb.reconnected / ctdb.down /
 * ctdb.unreachable, auth refusals (auth.*.refused, auth.refused,
 * dcerpc.bind.auth_failed, dcerpc.auth3.failed), limits (witness.limit,
 * dcerpc.conn.limit, dcerpc.budget.cut, dcerpc.request.too_large,
 * daemon.fd_limit), daemon.ready, daemon.stopping, daemon.reload,
 * daemon.reload_failed, daemon.start_failed, daemon.listen_absent.
 * A new event that an administrator acts on gets a row there.
 */
const char *wd_log_message_id(const char *event, const char *fields);

/*
 * The client address that the next lines are about (NULL: none). While set,
 * every line gets a "client=ADDR" field unless it already has one; the
 * DCERPC server sets it around the authentication step so that a refusal
 * logged by an auth mechanism names the peer. addr is copied.
 */
void wd_log_set_client(const char *addr);

/*
 * Escape an untrusted string for a log field: printable ASCII except '"',
 * '\\' and space is kept; everything else becomes \xNN. Writes at most
 * outlen bytes including the NUL and truncates. Returns out.
 */
char *wd_log_escape(const char *in, char *out, size_t outlen);

/* Wipe memory so that the compiler cannot elide it (secrets). */
void wd_memzero(void *p, size_t n);

#endif
