/*
 * log.c - structured logging (include/witness/log.h).
 *
 * Two backends. Under systemd (JOURNAL_STREAM names our stderr, as systemd
 * sets it for services whose stderr goes to the journal) every field
 * is sent to journald with sd_journal_sendv() as WITNESSD_<KEY>=value, plus
 * MESSAGE, PRIORITY and WITNESSD_EVENT, so `journalctl WITNESSD_EVENT=...`
 * works. Otherwise one line "event key=value ...\n" goes to stderr in a
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
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "witness/log.h"

#define LOG_LINE_MAX   2048
#define LOG_MAX_FIELDS 32

static int log_level = WD_LOG_INFO;
static int log_force_stderr = 0;
static int log_backend = -1; /* -1 undecided, 0 stderr, 1 journal */

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
	if (log_backend < 0)
		log_backend = stderr_is_journal();
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
static void log_journal(int level, const char *event, char *fields)
{
	struct iovec iov[LOG_MAX_FIELDS + 3];
	char bufs[LOG_MAX_FIELDS + 3][256];
	char message[LOG_LINE_MAX + 16];
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

	char *save = NULL;
	for (char *tok = strtok_r(fields, " ", &save); tok != NULL && n < LOG_MAX_FIELDS + 3;
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
	sd_journal_sendv(iov, n);
}

void wd_log(int level, const char *event, const char *fmt, ...)
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

	if (use_journal()) {
		log_journal(level, event, fields);
		return;
	}

	char line[LOG_LINE_MAX + 128];
	int len = snprintf(line, sizeof(line) - 1, "%s%s%s", event, fields[0] ? " " : "", fields);
	if (len < 0)
		return;
	if ((size_t)len > sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	write_all(STDERR_FILENO, line, (size_t)len);
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
