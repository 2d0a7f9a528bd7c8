/*
 * log.h - structured logging.
 *
 * A log line is an event name plus key=value fields, so journald can index
 * them: wd_log(WD_LOG_INFO, "registration.add", "uuid=%s ip=%s", ...).
 * Under systemd (JOURNAL_STREAM set) fields are sent with sd_journal_send as
 * WITNESSD_<KEY>=value; otherwise one line "event key=value ..." to stderr.
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

void wd_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Escape an untrusted string for a log field: printable ASCII except '"',
 * '\\' and space is kept; everything else becomes \xNN. Writes at most
 * outlen bytes including the NUL and truncates. Returns out.
 */
char *wd_log_escape(const char *in, char *out, size_t outlen);

/* Wipe memory so that the compiler cannot elide it (secrets). */
void wd_memzero(void *p, size_t n);

#endif
