/*
 * log.c - structured logging (include/witness/log.h).
 *
 * Two backends. Under systemd (JOURNAL_STREAM names our stderr, as systemd
 * sets it for services whose stderr goes to the journal) every field
 * is sent to journald with sd_journal_sendv_with_location() as
 * WITNESSD_<KEY>=value, plus MESSAGE, PRIORITY, WITNESSD_EVENT, MESSAGE_ID
 * when the event has one, and the caller's CODE_FILE / CODE_LINE /
 * CODE_FUNC, so `journalctl WITNESSD_EVENT=...` and `journalctl
 * MESSAGE_ID=...` work. If journald cannot be reached the line goes to
 * stderr (the journal's stream) instead of being lost. Otherwise one line
 * "2026-01-31T12:00:00.123Z info event key=value ...\n" goes to stderr in a
 * single write(2), so concurrent processes do not interleave lines.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "witness/log.h"

#define LOG_LINE_MAX   2048
#define LOG_MAX_FIELDS 32

static int log_level = WD_LOG_INFO;
static int log_force_stderr = 0;
static int log_backend = -1; /* -1 undecided, 0 stderr, 1 journal */
static char log_client[64];  /* wd_log_set_client */

/*
 * MESSAGE_IDs: stable, one per kind of event an administrator acts on;
 * each has a catalog entry in systemd/witnessd.catalog. Never change one
 * once shipped; add a row for a new event. match, when set, is a field
 * ("reason=unused") that the line must carry for the row to apply.
 */
#define MID_REG_CREATED      "b55e7d1eb8814c7b8cc8927691cbf118"
#define MID_REG_EXPIRED      "eed5f4de80364038a3a8d5d57d9af730"
#define MID_REG_UNREGISTERED "1fd6e058fb3246089b5d6204e51484b0"
#define MID_REG_FORCED       "56c715ad784e41c5972978bf22fa12fb"
#define MID_REG_REREGISTER   "e5dede2645304bf6bd47d51b12e57840"
#define MID_NOTIFY_SENT      "0a7ef92fa5a444f2bb36e80352e25d53"
#define MID_IFACE_CHANGE     "14ebbc395c0b4becb9572643c1d8fa9f"
#define MID_CTDB_CONNECTED   "d9587d9a833a446d961e25cd30f76c0b"
#define MID_CTDB_LOST        "89db0e75060b44a29c75b2c143c9f0c2"
#define MID_CTDB_RECONNECTED "83f61a532c01478996a41bbd8d5252a7"
#define MID_CTDB_UNREACHABLE "9d439a013d4b4eb68ca1f6552c151a01"
#define MID_AUTH_REFUSED     "31d243aab5134aadbabd19536061ee4f"
#define MID_LIMIT            "9351984239e34c50b1625dac5c857b24"
#define MID_READY            "9c49ba05cd954ea8ae6b69cf50fbcac2"
#define MID_STOPPING         "cccd6e54ec8141dcba291da08b862af0"
#define MID_RELOAD           "c9930e3a1adb4cf7a7e2bbfa62c40040"
#define MID_RELOAD_FAILED    "f6679d3d0d464570b516e0017bce0828"
#define MID_START_FAILED     "511c82c01bbe4d778b2305a3fca6027a"
#define MID_LISTEN_ABSENT    "a4d06c60b9fb498295b4f43cc9b40329"
#define MID_RESTART_NEEDED   "afd4c483b9e74c00bece809f19b89a7d"
#define MID_STATIC_RESTORED  "4e258525b8ff4d0690e58af0de4fe9c1"

static const struct {
	const char *event;
	const char *match;
	const char *id;
} message_ids[] = {
    {"registration.add", NULL, MID_REG_CREATED},
    {"registration.close", "reason=unused", MID_REG_EXPIRED},
    {"registration.close", "reason=unregister", MID_REG_UNREGISTERED},
    {"registration.close", "reason=unregister_ex", MID_REG_UNREGISTERED},
    {"registration.close", "reason=force-unregister", MID_REG_FORCED},
    {"registration.close", "reason=reregister", MID_REG_REREGISTER},
    {"notification.sent", NULL, MID_NOTIFY_SENT},
    {"cluster.event", NULL, MID_IFACE_CHANGE},
    {"cluster.static.set_ip", NULL, MID_IFACE_CHANGE},
    {"ctdb.connected", NULL, MID_CTDB_CONNECTED},
    {"ctdb.reconnected", NULL, MID_CTDB_RECONNECTED},
    {"ctdb.down", NULL, MID_CTDB_LOST},
    {"ctdb.lost", NULL, MID_CTDB_LOST},
    {"ctdb.unreachable", NULL, MID_CTDB_UNREACHABLE},
    {"auth.refused", NULL, MID_AUTH_REFUSED},
    {"auth.ntlmssp.refused", NULL, MID_AUTH_REFUSED},
    {"auth.krb5.refused", NULL, MID_AUTH_REFUSED},
    {"auth.spnego.refused", NULL, MID_AUTH_REFUSED},
    {"dcerpc.bind.auth_failed", NULL, MID_AUTH_REFUSED},
    {"dcerpc.auth3.failed", NULL, MID_AUTH_REFUSED},
    {"witness.limit", NULL, MID_LIMIT},
    {"dcerpc.conn.limit", NULL, MID_LIMIT},
    {"dcerpc.budget.cut", NULL, MID_LIMIT},
    {"dcerpc.request.too_large", NULL, MID_LIMIT},
    {"daemon.fd_limit", NULL, MID_LIMIT},
    {"daemon.ready", NULL, MID_READY},
    {"daemon.stopping", NULL, MID_STOPPING},
    {"daemon.reload", NULL, MID_RELOAD},
    {"daemon.reload_failed", NULL, MID_RELOAD_FAILED},
    {"daemon.start_failed", NULL, MID_START_FAILED},
    {"daemon.listen_absent", NULL, MID_LISTEN_ABSENT},
    {"daemon.restart_needed", NULL, MID_RESTART_NEEDED},
    {"cluster.static.restored", NULL, MID_STATIC_RESTORED},
};

/* fields holds the token "k=v" (whole, between spaces or the ends). */
static int has_field(const char *fields, const char *kv)
{
	size_t n = strlen(kv);

	for (const char *p = fields; (p = strstr(p, kv)) != NULL; p++) {
		if ((p == fields || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	}
	return 0;
}

const char *wd_log_message_id(const char *event, const char *fields)
{
	if (event == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(message_ids) / sizeof(message_ids[0]); i++) {
		if (strcmp(message_ids[i].event, event) != 0)
			continue;
		if (message_ids[i].match == NULL ||
		    (fields != NULL && has_field(fields, message_ids[i].match)))
			return message_ids[i].id;
	}
	return NULL;
}

void wd_log_set_client(const char *addr)
{
	snprintf(log_client, sizeof(log_client), "%s", addr != NULL ? addr : "");
}

void wd_log_set_level(int level)
{
	if (level < WD_LOG_ERR)
		level = WD_LOG_ERR;
	if (level > WD_LOG_DEBUG)
		level = WD_LOG_DEBUG;
	log_level = level;
}

int wd_log_get_level(void)
{
	return log_level;
}

void wd_log_use_stderr(int yes)
{
	log_force_stderr = yes ? 1 : 0;
	log_backend = -1; /* decide again at the next line */
}

/*
 * systemd.exec(5): JOURNAL_STREAM is "device:inode" of the stream that
 * systemd connected to stderr; a program whose stderr still is that stream
 * talks to journald natively. Comparing (and not just testing that the
 * variable is set) keeps a witnessd started from a systemd-run shell with
 * stderr redirected, as the test harness does, on its stderr.
 */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int use_journal(void)
{
	if (log_force_stderr)
		return 0;
	/*
	 * sd_journal_sendv() returns 0 when journald's socket is absent (it
	 * fails silently), so look for the socket ourselves: without it stderr
	 * is the only way a line reaches anyone.
	 */
	if (log_backend < 0)
		log_backend =
		    stderr_is_journal() && access("/run/systemd/journal/socket", W_OK) == 0;
	return log_backend;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Sends "event k=v k=v" to journald. Fields are split at spaces (values are
 * escaped by wd_log_escape, which never leaves a space); a token without '='
 * stays only in MESSAGE.
 */
static int log_journal(const char *file, int line, const char *func, int level, const char *event,
                       const char *mid, char *fields)
{
	struct iovec iov[LOG_MAX_FIELDS + 4];
	char bufs[LOG_MAX_FIELDS + 4][256];
	char message[LOG_LINE_MAX + 16];
	char code_file[300], code_line[32];
	int n = 0;

	snprintf(message, sizeof(message), "MESSAGE=%s%s%s", event, fields[0] ? " " : "", fields);
	iov[n].iov_base = message;
	iov[n].iov_len = strlen(message);
	n++;
	snprintf(bufs[n], sizeof(bufs[n]), "PRIORITY=%d", level);
	iov[n].iov_base = bufs[n];
	iov[n].iov_len = strlen(bufs[n]);
	n++;
	snprintf(bufs[n], sizeof(bufs[n]), "WITNESSD_EVENT=%s", event);
	iov[n].iov_base = bufs[n];
	iov[n].iov_len = strlen(bufs[n]);
	n++;
	if (mid != NULL) {
		snprintf(bufs[n], sizeof(bufs[n]), "MESSAGE_ID=%s", mid);
		iov[n].iov_base = bufs[n];
		iov[n].iov_len = strlen(bufs[n]);
		n++;
	}

	char *save = NULL;
	for (char *tok = strtok_r(fields, " ", &save); tok != NULL && n < LOG_MAX_FIELDS + 4;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq == tok)
			continue;
		size_t klen = (size_t)(eq - tok);
		/* journald field names: upper-case letters, digits, underscore. */
		char *o = bufs[n];
		size_t used = (size_t)snprintf(o, sizeof(bufs[n]), "WITNESSD_");
		for (size_t i = 0; i < klen && used < 64; i++) {
			unsigned char c = (unsigned char)tok[i];
			o[used++] = isalnum(c) ? (char)toupper(c) : '_';
		}
		o[used] = '\0';
		snprintf(o + used, sizeof(bufs[n]) - used, "=%s", eq + 1);
		iov[n].iov_base = o;
		iov[n].iov_len = strlen(o);
		n++;
	}
	snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
	snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
	return sd_journal_sendv_with_location(code_file, code_line, func, iov, n);
}

static const char *level_name(int level)
{
	switch (level) {
	case WD_LOG_ERR:
		return "err";
	case WD_LOG_WARNING:
		return "warning";
	case WD_LOG_NOTICE:
		return "notice";
	case WD_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* "2026-01-31T12:00:00.123Z info event k=v\n" in one write(2). */
static void log_stderr(int level, const char *event, const char *fields)
{
	char line[LOG_LINE_MAX + 128];
	char ts[40] = "-";
	struct timespec now;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &now) == 0 && gmtime_r(&now.tv_sec, &tm) != NULL) {
		size_t k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + k, sizeof(ts) - k, ".%03ldZ", now.tv_nsec / 1000000);
	}
	int len = snprintf(line, sizeof(line) - 1, "%s %s %s%s%s", ts, level_name(level), event,
	                   fields[0] ? " " : "", fields);
	if (len < 0)
		return;
	if ((size_t)len > sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	write_all(STDERR_FILENO, line, (size_t)len);
}

void wd_log_at(const char *file, int line, const char *func, int level, const char *event,
               const char *fmt, ...)
{
	char fields[LOG_LINE_MAX];
	va_list ap;

	if (level > log_level)
		return;
	if (event == NULL)
		event = "-";
	fields[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(fields, sizeof(fields), fmt, ap);
		va_end(ap);
	}
	if (log_client[0] != '\0' && strstr(fields, "client=") == NULL) {
		size_t used = strlen(fields);

		snprintf(fields + used, sizeof(fields) - used, "%sclient=%s", used ? " " : "",
		         log_client);
	}

	const char *mid = wd_log_message_id(event, fields);

	if (use_journal()) {
		char copy[LOG_LINE_MAX];

		memcpy(copy, fields, sizeof(copy));
		if (log_journal(file, line, func, level, event, mid, copy) >= 0)
			return;
		/* journald is not there: stderr is still its stream */
	}
	log_stderr(level, event, fields);
}

char *wd_log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (out == NULL || outlen == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break; /* never cut an escape in half */
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

void wd_memzero(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	explicit_bzero(p, n);
}
