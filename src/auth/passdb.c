/*
 * passdb.c - the smbpasswd-compatible NT hash file (see auth_passdb.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "witness/auth_passdb.h"
#include "witness/err.h"
#include "witness/log.h"
#include "auth_int.h"

enum { PASSDB_LINE_MAX = 1024, PASSDB_MAX_ENTRIES = 100000, PASSDB_FILE_MAX = 64 << 20 };

struct auth_passdb {
	size_t n, cap;
	struct auth_passdb_entry *e;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= AUTH_PASSDB_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ':' || c == '\\')
			return false;
	}
	return true;
}

int auth_passdb_parse_line(const char *line, struct auth_passdb_entry *out)
{
	const char *f[7];
	size_t flen[7];
	const char *p = line, *bs;
	size_t nf = 0;
	char *end;
	unsigned long uid;

	memset(out, 0, sizeof(*out));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return WD_ENOTFOUND;
	if (strlen(line) > PASSDB_LINE_MAX)
		return WD_ERANGE;
	/* split on ':' into at most 7 fields (the trailing ':' makes the 7th empty) */
	while (nf < 7) {
		const char *c = strchr(p, ':');
		f[nf] = p;
		flen[nf] = c ? (size_t)(c - p) : strlen(p);
		nf++;
		if (!c)
			break;
		p = c + 1;
	}
	if (nf < 4)
		return WD_EPROTO;
	/* NAME or DOMAIN\NAME */
	bs = memchr(f[0], '\\', flen[0]);
	if (bs) {
		size_t dl = (size_t)(bs - f[0]), nl = flen[0] - dl - 1;
		if (!valid_name(f[0], dl) || !valid_name(bs + 1, nl))
			return WD_EPROTO;
		memcpy(out->domain, f[0], dl);
		memcpy(out->name, bs + 1, nl);
	} else {
		if (!valid_name(f[0], flen[0]))
			return WD_EPROTO;
		memcpy(out->name, f[0], flen[0]);
	}
	if (flen[1] == 0 || flen[1] > 10)
		return WD_EPROTO;
	errno = 0;
	uid = strtoul(f[1], &end, 10);
	if (errno || end != f[1] + flen[1] || uid > UINT32_MAX)
		return WD_EPROTO;
	out->uid = (uint32_t)uid;
	/* f[2] is the LM hash: ignored (never used) */
	if (flen[3] != 32)
		goto bad;
	if (f[3][0] == 'X' || f[3][0] == 'N') {
		/* "XXXX..." / "NO PASSWORD..." (smbpasswd): no usable hash */
		out->disabled = true;
		return 0;
	}
	for (int i = 0; i < 16; i++) {
		int hi = hexval((unsigned char)f[3][2 * i]),
		    lo = hexval((unsigned char)f[3][2 * i + 1]);
		if (hi < 0 || lo < 0)
			goto bad; /* "XXXX..." = no password: unusable account */
		out->nthash[i] = (uint8_t)(hi << 4 | lo);
	}
	if (nf >= 5 && flen[4] >= 2 && f[4][0] == '[') {
		if (memchr(f[4], 'D', flen[4]))
			out->disabled = true;
	}
	return 0;
bad:
	wd_memzero(out->nthash, sizeof(out->nthash));
	return WD_EPROTO;
}

void auth_passdb_free(auth_passdb_t *db)
{
	if (!db)
		return;
	if (db->e)
		wd_memzero(db->e, db->cap * sizeof(*db->e));
	free(db->e);
	free(db);
}

static int read_file(const char *path, char **out, size_t *out_len)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!fp)
		return errno == ENOENT ? WD_ENOTFOUND : errno == EACCES ? WD_EACCES : WD_EIO;
	for (;;) {
		size_t n;
		if (cap - len < 4096) {
			char *nb;
			if (cap > PASSDB_FILE_MAX) {
				free(buf);
				fclose(fp);
				return WD_ELIMIT;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				if (buf)
					wd_memzero(buf, len);
				free(buf);
				fclose(fp);
				return WD_ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		wd_memzero(buf, len);
		free(buf);
		fclose(fp);
		return WD_EIO;
	}
	fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

static void free_file(char *buf, size_t len)
{
	if (buf)
		wd_memzero(buf, len);
	free(buf);
}

/* Parse a whole file image (NUL-terminated, modified in place). */
static int parse_buffer(char *buf, const char *what, auth_passdb_t **out)
{
	auth_passdb_t *db;
	char *line;
	size_t lineno = 0;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return WD_ENOMEM;
	line = buf;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		struct auth_passdb_entry e;
		if (nl)
			*nl = '\0';
		lineno++;
		if (nl && nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		rc = auth_passdb_parse_line(line, &e);
		if (rc == WD_ENOTFOUND) {
			rc = 0;
		} else if (rc) {
			wd_log(WD_LOG_ERR, "auth.passdb.parse", "path=%s line=%zu err=%s", what,
			       lineno, wd_strerror(rc));
			goto fail;
		} else {
			if (db->n == db->cap) {
				size_t ncap = db->cap ? db->cap * 2 : 16;
				struct auth_passdb_entry *ne;
				if (db->n >= PASSDB_MAX_ENTRIES) {
					rc = WD_ELIMIT;
					wd_memzero(&e, sizeof(e));
					goto fail;
				}
				ne = calloc(ncap, sizeof(*ne));
				if (!ne) {
					rc = WD_ENOMEM;
					wd_memzero(&e, sizeof(e));
					goto fail;
				}
				if (db->e) {
					memcpy(ne, db->e, db->n * sizeof(*ne));
					wd_memzero(db->e, db->cap * sizeof(*ne));
					free(db->e);
				}
				db->e = ne;
				db->cap = ncap;
			}
			db->e[db->n++] = e;
			wd_memzero(&e, sizeof(e));
		}
		line = nl ? nl + 1 : NULL;
	}
	*out = db;
	return 0;
fail:
	auth_passdb_free(db);
	return rc;
}

int auth_passdb_parse(const char *text, auth_passdb_t **out)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	int rc;

	if (!copy)
		return WD_ENOMEM;
	memcpy(copy, text, len + 1);
	rc = parse_buffer(copy, "(memory)", out);
	free_file(copy, len);
	return rc;
}

int auth_passdb_load(const char *path, auth_passdb_t **out)
{
	char *buf, ep[256];
	size_t len;
	int rc;

	rc = read_file(path, &buf, &len);
	if (rc)
		return rc;
	wd_log_escape(path, ep, sizeof(ep));
	rc = parse_buffer(buf, ep, out);
	free_file(buf, len);
	return rc;
}

size_t auth_passdb_count(const auth_passdb_t *db)
{
	return db ? db->n : 0;
}

const struct auth_passdb_entry *auth_passdb_entry(const auth_passdb_t *db, size_t i)
{
	return db && i < db->n ? &db->e[i] : NULL;
}

const struct auth_passdb_entry *auth_passdb_find(const auth_passdb_t *db, const char *domain,
                                                 const char *name)
{
	const struct auth_passdb_entry *any = NULL;

	if (!db || !name)
		return NULL;
	if (!domain)
		domain = "";
	for (size_t i = 0; i < db->n; i++) {
		const struct auth_passdb_entry *e = &db->e[i];
		if (strcasecmp(e->name, name) != 0)
			continue;
		if (e->domain[0] && domain[0] && strcasecmp(e->domain, domain) == 0)
			return e;
		if (!e->domain[0] && !any)
			any = e;
	}
	return any;
}

int auth_passdb_nthash(const char *password, uint8_t out[16])
{
	size_t plen = strlen(password);
	int n = auth_utf8_to_utf16le(password, plen, false, NULL, 0);
	uint8_t *u;
	int rc;

	if (n < 0)
		return n;
	u = malloc((size_t)n + 1);
	if (!u)
		return WD_ENOMEM;
	auth_utf8_to_utf16le(password, plen, false, u, (size_t)n);
	rc = auth_md4(u, (size_t)n, out);
	wd_memzero(u, (size_t)n);
	free(u);
	return rc;
}

/* Does this file line name (domain, name)? Exact domain match (both "" allowed). */
static bool line_matches(const char *line, const char *domain, const char *name)
{
	struct auth_passdb_entry e;
	bool m;

	if (auth_passdb_parse_line(line, &e) != 0) {
		/* an entry with an unusable hash ("XXXX") still names an account */
		const char *c = strchr(line, ':');
		char who[2 * AUTH_PASSDB_NAME_MAX + 2];
		size_t l;
		wd_memzero(&e, sizeof(e));
		if (!c || line[0] == '#')
			return false;
		l = (size_t)(c - line);
		if (l >= sizeof(who))
			return false;
		memcpy(who, line, l);
		who[l] = '\0';
		char *bs = strchr(who, '\\');
		if (bs) {
			*bs = '\0';
			return strcasecmp(who, domain) == 0 && strcasecmp(bs + 1, name) == 0;
		}
		return !domain[0] && strcasecmp(who, name) == 0;
	}
	m = strcasecmp(e.name, name) == 0 && strcasecmp(e.domain, domain) == 0;
	wd_memzero(&e, sizeof(e));
	return m;
}

/* Write buf to path atomically: tmp file in the same dir, fsync, rename. A new
 * file is 0600; a replaced one keeps its owner, its group and its mode without
 * the bits for others or group write, so that root's "witnessctl user add"
 * leaves the file readable by a daemon that runs as its own user (the
 * package's root:witnessd 0640, witnessd(8) "SYSTEMD"). */
static int write_atomic(const char *path, const char *buf, size_t len)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16), *dcopy = NULL;
	int fd, rc = 0;
	mode_t mode = 0600;
	struct stat st;
	bool keep_owner = false;

	if (!tmp)
		return WD_ENOMEM;
	snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = errno == EACCES ? WD_EACCES : WD_EIO;
		free(tmp);
		return rc;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		mode = st.st_mode & 0640;
		keep_owner = true;
	}
	if (keep_owner && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) != 0)
		rc = errno == EPERM ? WD_EACCES : WD_EIO;
	if (!rc && fchmod(fd, mode) != 0)
		rc = WD_EIO;
	for (size_t off = 0; !rc && off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = WD_EIO;
		else
			off += (size_t)w;
	}
	if (!rc && fsync(fd) != 0)
		rc = WD_EIO;
	if (close(fd) != 0 && !rc)
		rc = WD_EIO;
	if (!rc && rename(tmp, path) != 0)
		rc = errno == EACCES ? WD_EACCES : WD_EIO;
	if (rc) {
		unlink(tmp);
	} else {
		dcopy = strdup(path);
		if (dcopy) {
			int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			free(dcopy);
		}
	}
	free(tmp);
	return rc;
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = (b->cap ? b->cap : 4096);
		char *np;
		while (nc < b->len + n + 1)
			nc *= 2;
		np = malloc(nc);
		if (!np)
			return WD_ENOMEM;
		if (b->p) {
			memcpy(np, b->p, b->len);
			wd_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void sb_free(struct sbuf *b)
{
	if (b->p)
		wd_memzero(b->p, b->cap);
	free(b->p);
}

/*
 * Rewrite the file: every line except those naming (domain, name); when
 * newline != NULL it replaces the first match or is appended. *found gets
 * the number of matching lines, *max_uid the largest UID seen, *old_uid the
 * first match's UID.
 */
static int rewrite(const char *path, const char *domain, const char *name,
                   int (*mkline)(char *, size_t, void *), void *arg, size_t *found)
{
	char *buf = NULL, *line;
	size_t len = 0;
	struct sbuf out = {0};
	int rc = read_file(path, &buf, &len);
	char nl[512];

	*found = 0;
	if (rc == WD_ENOTFOUND && mkline) {
		buf = NULL;
		len = 0;
		rc = 0;
	}
	if (rc)
		return rc;
	line = buf;
	while (line && *line) {
		char *e = strchr(line, '\n');
		if (e)
			*e = '\0';
		if (line_matches(line, domain, name)) {
			if (mkline && *found == 0) {
				struct auth_passdb_entry old;
				int r2 = auth_passdb_parse_line(line, &old);
				if (r2 == 0)
					((uint32_t *)arg)[0] = old.uid, ((uint32_t *)arg)[1] = 1;
				wd_memzero(&old, sizeof(old));
				rc = mkline(nl, sizeof(nl), arg);
				if (!rc)
					rc = sb_add(&out, nl, strlen(nl));
			}
			(*found)++;
		} else {
			rc = sb_add(&out, line, strlen(line));
			if (!rc)
				rc = sb_add(&out, "\n", 1);
		}
		if (rc)
			goto out;
		line = e ? e + 1 : NULL;
	}
	if (mkline && *found == 0) {
		rc = mkline(nl, sizeof(nl), arg);
		if (!rc)
			rc = sb_add(&out, nl, strlen(nl));
		if (rc)
			goto out;
	}
	if (!mkline && *found == 0) {
		rc = WD_ENOTFOUND;
		goto out;
	}
	rc = write_atomic(path, out.p ? out.p : "", out.len);
out:
	wd_memzero(nl, sizeof(nl));
	free_file(buf, len);
	sb_free(&out);
	return rc;
}

struct add_arg {
	uint32_t old_uid, have_old; /* filled by rewrite(): must stay first */
	uint32_t next_uid;
	const char *domain, *name;
	uint8_t nthash[16];
};

static int mk_add_line(char *buf, size_t cap, void *p)
{
	struct add_arg *a = p;
	char hex[33];
	int n;

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02X", a->nthash[i]);
	n = snprintf(
	    buf, cap, "%s%s%s:%u:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:%s:[U          ]:LCT-%08lX:\n",
	    a->domain[0] ? a->domain : "", a->domain[0] ? "\\" : "", a->name,
	    a->have_old ? a->old_uid : a->next_uid, hex, (unsigned long)time(NULL) & 0xffffffffUL);
	wd_memzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= cap ? WD_ERANGE : 0;
}

int auth_passdb_user_add(const char *path, const char *domain, const char *name,
                         const char *password)
{
	struct add_arg a = {0};
	auth_passdb_t *db = NULL;
	size_t found;
	int rc;

	if (!domain)
		domain = "";
	if (!path || !name || !password || !password[0] || !valid_name(name, strlen(name)) ||
	    (domain[0] && !valid_name(domain, strlen(domain))))
		return WD_EINVAL;
	a.domain = domain;
	a.name = name;
	a.next_uid = 1000;
	rc = auth_passdb_load(path, &db);
	if (rc == 0) {
		for (size_t i = 0; i < db->n; i++)
			if (db->e[i].uid >= a.next_uid && db->e[i].uid < UINT32_MAX)
				a.next_uid = db->e[i].uid + 1;
		auth_passdb_free(db);
	} else if (rc != WD_ENOTFOUND && rc != WD_EPROTO) {
		return rc;
	}
	rc = auth_passdb_nthash(password, a.nthash);
	if (!rc)
		rc = rewrite(path, domain, name, mk_add_line, &a, &found);
	wd_memzero(&a, sizeof(a));
	return rc;
}

int auth_passdb_user_del(const char *path, const char *domain, const char *name)
{
	size_t found;

	if (!path || !name)
		return WD_EINVAL;
	return rewrite(path, domain ? domain : "", name, NULL, NULL, &found);
}

int auth_passdb_user_list(const char *path, auth_passdb_list_fn fn, void *arg)
{
	auth_passdb_t *db;
	int rc = auth_passdb_load(path, &db);

	if (rc)
		return rc;
	for (size_t i = 0; i < db->n && rc == 0; i++)
		rc = fn(db->e[i].domain, db->e[i].name, db->e[i].uid, db->e[i].disabled, arg);
	auth_passdb_free(db);
	return rc;
}
