/*
 * doctor.c - witnessctl doctor (include/witness/doctor.h). Blocking I/O with
 * timeouts: this runs in witnessctl, not in the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <krb5/krb5.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "witness/auth_passdb.h"
#include "witness/config.h"
#include "witness/ctl.h"
#include "witness/doctor.h"
#include "witness/err.h"
#include "witness/ntlm_client.h"
#include "witness/smb2.h"

/*
 * MIT krb5 exports these from libkrb5 (its KDC uses them) without a public
 * prototype; they let the keytab check make a ticket with the keytab's own
 * key and read it back with krb5_rd_req, which is the acceptor's path.
 */
krb5_error_code encode_krb5_ticket(const krb5_ticket *rep, krb5_data **code);
krb5_error_code krb5_encrypt_tkt_part(krb5_context, const krb5_keyblock *, krb5_ticket *);

enum status { ST_OK, ST_WARN, ST_FAIL };
static const char *const st_name[] = {"OK", "WARN", "FAIL"};

struct doctor {
	const struct ctl_doctor_opts *o;
	struct wd_config cfg;
	unsigned failed, warned;
	cJSON *checks; /* --json */
};

static void __attribute__((format(printf, 5, 6)))
report(struct doctor *d, enum status st, const char *check, const char *remedy, const char *fmt,
       ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st == ST_FAIL)
		d->failed++;
	else if (st == ST_WARN)
		d->warned++;
	if (d->o->json) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "check", check);
		cJSON_AddStringToObject(c, "status", st_name[st]);
		cJSON_AddStringToObject(c, "message", msg);
		if (st != ST_OK && remedy != NULL)
			cJSON_AddStringToObject(c, "remedy", remedy);
		cJSON_AddItemToArray(d->checks, c);
		return;
	}
	printf("%-4s  %-10s %s\n", st_name[st], check, msg);
	if (st != ST_OK && remedy != NULL)
		printf("      %-10s remedy: %s\n", "", remedy);
}

/* ---- sockets ---- */

static int tcp_connect(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
	char ps[8];
	int fd, rc;
	struct pollfd p;
	socklen_t sl = sizeof(rc);

	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0) {
		snprintf(err, errlen, "bad address %s", host);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc != 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (rc != 0) {
		if (poll(&p, 1, timeout_ms) != 1) {
			snprintf(err, errlen, "no answer within %d ms", timeout_ms);
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &sl) != 0 || rc != 0) {
			snprintf(err, errlen, "%s", strerror(rc));
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	{
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The address a client of this node would use for a listen address. */
static const char *connect_addr(const char *listen)
{
	if (strcmp(listen, "0.0.0.0") == 0)
		return "127.0.0.1";
	if (strcmp(listen, "::") == 0)
		return "::1";
	return listen;
}

/* ---- endpoint mapper: bind + ept_map ([C706] appendix L, [MS-RPCE] 2.2.1.2) ---- */

struct wbuf {
	uint8_t b[1024];
	size_t n;
};

static void w8(struct wbuf *w, uint8_t v)
{
	if (w->n < sizeof(w->b))
		w->b[w->n++] = v;
}

static void w16(struct wbuf *w, uint16_t v)
{
	w8(w, (uint8_t)v);
	w8(w, (uint8_t)(v >> 8));
}

static void w32(struct wbuf *w, uint32_t v)
{
	w16(w, (uint16_t)v);
	w16(w, (uint16_t)(v >> 16));
}

/* A GUID in its NDR (little-endian fields) form. */
static void wguid(struct wbuf *w, const char *s)
{
	unsigned a, b, c, d[8];

	sscanf(s, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &a, &b, &c, &d[0], &d[1], &d[2], &d[3],
	       &d[4], &d[5], &d[6], &d[7]);
	w32(w, a);
	w16(w, (uint16_t)b);
	w16(w, (uint16_t)c);
	for (int i = 0; i < 8; i++)
		w8(w, (uint8_t)d[i]);
}

#define EPM_UUID     "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
#define NDR_UUID     "8a885d04-1ceb-11c9-9fe8-08002b104860"
#define WITNESS_UUID "ccd8c074-d0e5-4a40-92b4-d074faa6ba28"

static void pdu_hdr(struct wbuf *w, uint8_t ptype, uint32_t call_id)
{
	w8(w, 5);
	w8(w, 0);
	w8(w, ptype);
	w8(w, 3); /* first | last */
	w32(w, 0x10);
	w16(w, 0); /* frag_length, set at the end */
	w16(w, 0);
	w32(w, call_id);
}

static void pdu_done(struct wbuf *w)
{
	w->b[8] = (uint8_t)w->n;
	w->b[9] = (uint8_t)(w->n >> 8);
}

static int recv_pdu(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	uint16_t fl;

	if (recv_all(fd, buf, 16) != 0)
		return -1;
	fl = (uint16_t)(buf[8] | buf[9] << 8);
	if (fl < 16 || fl > cap || recv_all(fd, buf + 16, fl - 16u) != 0)
		return -1;
	*len = fl;
	return 0;
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ept_map for the witness interface over ncacn_ip_tcp; *port gets the first tower's port. */
static int ept_map(const char *host, uint16_t epm_port, int timeout_ms, uint16_t *port, char *err,
                   size_t errlen)
{
	struct wbuf w = {.n = 0}, t = {.n = 0};
	uint8_t rb[8192];
	size_t rl, off;
	int fd = tcp_connect(host, epm_port, timeout_ms, err, errlen), rc = -1;
	uint32_t n_towers, tl;

	if (fd < 0)
		return -1;
	pdu_hdr(&w, 11, 1); /* bind */
	w16(&w, 4280);
	w16(&w, 4280);
	w32(&w, 0);
	w8(&w, 1);
	w8(&w, 0);
	w16(&w, 0);
	w16(&w, 0); /* context 0 */
	w8(&w, 1);
	w8(&w, 0);
	wguid(&w, EPM_UUID);
	w32(&w, 3);
	wguid(&w, NDR_UUID);
	w32(&w, 2);
	pdu_done(&w);
	if (send_all(fd, w.b, w.n) != 0 || recv_pdu(fd, rb, sizeof(rb), &rl) != 0 || rb[2] != 12) {
		snprintf(err, errlen, "the endpoint mapper refused the bind");
		goto out;
	}
	/* the map tower: witness 1.1, NDR 2.0, RPC CO, TCP port 0, IP 0.0.0.0 */
	w16(&t, 5);
	w16(&t, 19);
	w8(&t, 0x0d);
	wguid(&t, WITNESS_UUID);
	w16(&t, 1);
	w16(&t, 2);
	w16(&t, 1);
	w16(&t, 19);
	w8(&t, 0x0d);
	wguid(&t, NDR_UUID);
	w16(&t, 2);
	w16(&t, 2);
	w16(&t, 0);
	w16(&t, 1);
	w8(&t, 0x0b);
	w16(&t, 2);
	w16(&t, 0);
	w16(&t, 1);
	w8(&t, 0x07);
	w16(&t, 2);
	w16(&t, 0);
	w16(&t, 1);
	w8(&t, 0x09);
	w16(&t, 4);
	w32(&t, 0);

	w.n = 0;
	pdu_hdr(&w, 0, 2); /* request */
	w32(&w, 0);        /* alloc_hint */
	w16(&w, 0);
	w16(&w, 3); /* opnum 3: ept_map */
	w32(&w, 1); /* object: unique pointer to a nil UUID */
	for (int i = 0; i < 16; i++)
		w8(&w, 0);
	w32(&w, 2); /* map_tower: unique pointer */
	w32(&w, (uint32_t)t.n);
	w32(&w, (uint32_t)t.n);
	memcpy(w.b + w.n, t.b, t.n);
	w.n += t.n;
	while (w.n % 4)
		w8(&w, 0);
	for (int i = 0; i < 20; i++) /* entry_handle */
		w8(&w, 0);
	w32(&w, 4); /* max_towers */
	pdu_done(&w);
	if (send_all(fd, w.b, w.n) != 0 || recv_pdu(fd, rb, sizeof(rb), &rl) != 0) {
		snprintf(err, errlen, "no ept_map answer");
		goto out;
	}
	if (rb[2] != 2 || rl < 24 + 20 + 4 + 12 + 4) {
		snprintf(err, errlen, "ept_map failed (PDU type %u%s)", rb[2],
		         rb[2] == 3 ? ", a fault" : "");
		goto out;
	}
	off = 24 + 20;
	n_towers = r32(rb + off);
	off += 4 + 12; /* max_count, offset, actual_count */
	if (n_towers == 0) {
		snprintf(err, errlen, "ept_map: the witness interface is not registered");
		goto out;
	}
	off += 4 * (size_t)r32(rb + off - 4); /* referents */
	if (off + 8 > rl) {
		snprintf(err, errlen, "ept_map: short answer");
		goto out;
	}
	tl = r32(rb + off + 4);
	off += 8;
	if (tl < 2 || off + tl > rl) {
		snprintf(err, errlen, "ept_map: bad tower");
		goto out;
	}
	{
		const uint8_t *tw = rb + off;
		size_t p = 2;
		unsigned floors = (unsigned)(tw[0] | tw[1] << 8);

		for (unsigned f = 0; f < floors && p + 2 <= tl; f++) {
			size_t ll = (size_t)(tw[p] | tw[p + 1] << 8), rl2;

			if (p + 2 + ll + 2 > tl)
				break;
			rl2 = (size_t)(tw[p + 2 + ll] | tw[p + 3 + ll] << 8);
			if (p + 4 + ll + rl2 > tl)
				break;
			if (ll == 1 && tw[p + 2] == 0x07 && rl2 == 2) {
				*port = (uint16_t)(tw[p + 4 + ll] << 8 | tw[p + 5 + ll]);
				rc = 0;
			}
			p += 4 + ll + rl2;
		}
	}
	if (rc != 0)
		snprintf(err, errlen, "ept_map: no TCP floor in the tower");
out:
	close(fd);
	return rc;
}

/* ---- checks ---- */

static void check_listen(struct doctor *d)
{
	const struct wd_config *c = &d->cfg;
	char err[256];
	uint16_t mapped = 0;

	for (size_t i = 0; i < c->n_listen_addresses; i++) {
		const char *a = connect_addr(c->listen_addresses[i]);
		int fd;

		if (c->witness_port != 0) {
			fd = tcp_connect(a, c->witness_port, d->o->timeout_ms, err, sizeof(err));
			if (fd < 0)
				report(d, ST_FAIL, "listen",
				       "start witnessd (systemctl start witnessd) and check "
				       "\"listen addresses\" and the firewall",
				       "%s port %u: %s", a, c->witness_port, err);
			else
				report(d, ST_OK, "listen", NULL, "%s port %u accepts connections",
				       a, c->witness_port);
			if (fd >= 0)
				close(fd);
		}
		if (c->epmapper_port == 0)
			continue;
		fd = tcp_connect(a, c->epmapper_port, d->o->timeout_ms, err, sizeof(err));
		if (fd < 0) {
			report(d, ST_FAIL, "epmapper",
			       "clients find the witness through TCP 135: start witnessd, free the "
			       "port (another endpoint mapper?), open it in the firewall",
			       "%s port %u: %s", a, c->epmapper_port, err);
			continue;
		}
		close(fd);
		if (ept_map(a, c->epmapper_port, d->o->timeout_ms, &mapped, err, sizeof(err)) !=
		    0) {
			report(d, ST_FAIL, "epmapper",
			       "the endpoint mapper on this port is not witnessd's: stop the other "
			       "one or set \"epmapper port\"",
			       "%s port %u: %s", a, c->epmapper_port, err);
			continue;
		}
		if (c->witness_port != 0 && mapped != c->witness_port) {
			report(d, ST_FAIL, "epmapper",
			       "another witnessd or endpoint mapper answers: check which process "
			       "owns the port (ss -ltnp)",
			       "%s: ept_map gives port %u, the config says %u", a, mapped,
			       c->witness_port);
			continue;
		}
		report(d, ST_OK, "epmapper", NULL,
		       "%s port %u: ept_map maps the witness interface to port %u", a,
		       c->epmapper_port, mapped);
		if (c->witness_port == 0) {
			fd = tcp_connect(a, mapped, d->o->timeout_ms, err, sizeof(err));
			report(d, fd >= 0 ? ST_OK : ST_FAIL, "listen", "check the firewall",
			       "%s port %u (dynamic) %s%s", a, mapped,
			       fd >= 0 ? "accepts connections" : "", fd >= 0 ? "" : err);
			if (fd >= 0)
				close(fd);
		}
	}
}

/* Does a principal (unparsed) match name/host@realm, comparing case-insensitively? */
static bool princ_is(const char *have, const char *svc, const char *host, const char *realm)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/%s@%s", svc, host, realm);
	return strcasecmp(have, want) == 0;
}

/* Makes a ticket for e->principal encrypted with e->key and reads it back with krb5_rd_req
 * from the keytab: what the daemon's acceptor does with a client's AP-REQ. */
static krb5_error_code ticket_roundtrip(krb5_context k, krb5_keytab kt, krb5_keytab_entry *e)
{
	krb5_ticket tkt;
	krb5_enc_tkt_part enc;
	krb5_keyblock *session = NULL;
	krb5_principal client = NULL;
	krb5_data *encoded = NULL, apreq = {0};
	krb5_creds creds;
	krb5_auth_context ac = NULL, ac2 = NULL;
	krb5_ticket *back = NULL;
	krb5_flags opts = 0;
	krb5_timestamp now;
	krb5_transited tr = {0};
	krb5_error_code rc;

	memset(&tkt, 0, sizeof(tkt));
	memset(&enc, 0, sizeof(enc));
	memset(&creds, 0, sizeof(creds));
	if ((rc = krb5_timeofday(k, &now)) != 0)
		return rc;
	if ((rc = krb5_build_principal(k, &client, (unsigned)e->principal->realm.length,
	                               e->principal->realm.data, "witnessctl-doctor", NULL)) != 0)
		goto out;
	if ((rc = krb5_init_keyblock(k, e->key.enctype, 0, &session)) != 0 ||
	    (rc = krb5_c_make_random_key(k, e->key.enctype, session)) != 0)
		goto out;
	enc.session = session;
	enc.client = client;
	enc.transited = tr;
	enc.times.authtime = enc.times.starttime = now;
	enc.times.endtime = now + 300;
	enc.flags = TKT_FLG_INITIAL;
	tkt.server = e->principal;
	tkt.enc_part2 = &enc;
	tkt.enc_part.kvno = e->vno;
	if ((rc = krb5_encrypt_tkt_part(k, &e->key, &tkt)) != 0)
		goto out;
	if ((rc = encode_krb5_ticket(&tkt, &encoded)) != 0)
		goto out;
	creds.client = client;
	creds.server = e->principal;
	creds.keyblock = *session;
	creds.times = enc.times;
	creds.ticket = *encoded;
	if ((rc = krb5_mk_req_extended(k, &ac, 0, NULL, &creds, &apreq)) != 0)
		goto out;
	rc = krb5_rd_req(k, &ac2, &apreq, e->principal, kt, &opts, &back);
out:
	if (back)
		krb5_free_ticket(k, back);
	if (ac)
		krb5_auth_con_free(k, ac);
	if (ac2)
		krb5_auth_con_free(k, ac2);
	krb5_free_data_contents(k, &apreq);
	if (encoded)
		krb5_free_data(k, encoded);
	krb5_free_data_contents(k, &tkt.enc_part.ciphertext);
	if (session)
		krb5_free_keyblock(k, session);
	if (client)
		krb5_free_principal(k, client);
	return rc;
}

static void check_keytab(struct doctor *d)
{
	const struct wd_config *c = &d->cfg;
	krb5_context k = NULL;
	krb5_keytab kt = NULL;
	char *realm = NULL;
	const char *svcs[] = {"cifs", "host"};
	const char *names[66];
	size_t n_names = 0;
	char ktname[4200];
	struct stat st;

	if (c->keytab == NULL) {
		report(d, ST_OK, "keytab", NULL, "no keytab configured (Kerberos off)");
		return;
	}
	if (stat(c->keytab, &st) != 0 || access(c->keytab, R_OK) != 0) {
		report(d, ST_FAIL, "keytab", "create it: kadmin -q \"ktadd -k FILE cifs/NETNAME\"",
		       "%s: %s", c->keytab, strerror(errno));
		return;
	}
	if (krb5_init_context(&k) != 0) {
		report(d, ST_FAIL, "keytab", "check /etc/krb5.conf", "cannot initialise krb5");
		return;
	}
	if (c->realm != NULL)
		realm = strdup(c->realm);
	else if (krb5_get_default_realm(k, &realm) != 0)
		realm = NULL;
	snprintf(ktname, sizeof(ktname), "FILE:%s", c->keytab);
	if (realm == NULL || krb5_kt_resolve(k, ktname, &kt) != 0) {
		report(d, ST_FAIL, "keytab",
		       "set \"realm\" in witnessd.conf or default_realm in "
		       "/etc/krb5.conf",
		       "no realm for %s", c->keytab);
		goto out;
	}
	names[n_names++] = c->netname;
	for (size_t i = 0; i < c->n_netname_aliases && n_names < 66; i++)
		names[n_names++] = c->netname_aliases[i];
	for (size_t i = 0; i < n_names; i++) {
		for (size_t s = 0; s < 2; s++) {
			krb5_kt_cursor cur;
			krb5_keytab_entry e, best;
			bool found = false;
			char *un = NULL, remedy[600];

			memset(&best, 0, sizeof(best));
			if (krb5_kt_start_seq_get(k, kt, &cur) != 0)
				break;
			while (krb5_kt_next_entry(k, kt, &e, &cur) == 0) {
				if (krb5_unparse_name(k, e.principal, &un) == 0 &&
				    princ_is(un, svcs[s], names[i], realm) &&
				    (!found || e.vno > best.vno)) {
					if (found)
						krb5_free_keytab_entry_contents(k, &best);
					best = e;
					found = true;
				} else {
					krb5_free_keytab_entry_contents(k, &e);
				}
				krb5_free_unparsed_name(k, un);
				un = NULL;
			}
			krb5_kt_end_seq_get(k, kt, &cur);
			snprintf(remedy, sizeof(remedy),
			         "kadmin -q \"ktadd -k %s %s/%s\" (clients ask for this principal)",
			         c->keytab, svcs[s], names[i]);
			if (!found) {
				report(d, ST_FAIL, "keytab", remedy, "%s has no key for %s/%s@%s",
				       c->keytab, svcs[s], names[i], realm);
				continue;
			}
			krb5_error_code rc = ticket_roundtrip(k, kt, &best);

			if (rc != 0) {
				const char *m = krb5_get_error_message(k, rc);

				report(d, ST_FAIL, "keytab", remedy,
				       "%s/%s@%s: a ticket for it does not decrypt: %s", svcs[s],
				       names[i], realm, m);
				krb5_free_error_message(k, m);
			} else {
				report(d, ST_OK, "keytab", NULL,
				       "%s/%s@%s (kvno %u) decrypts a ticket made with its key",
				       svcs[s], names[i], realm, best.vno);
			}
			krb5_free_keytab_entry_contents(k, &best);
		}
	}
out:
	if (kt)
		krb5_kt_close(k, kt);
	free(realm); /* a strdup, or MIT's default realm (krb5_free_default_realm frees it so) */
	krb5_free_context(k);
}

static int count_user(const char *domain, const char *name, uint32_t uid, bool disabled, void *arg)
{
	(void)domain, (void)name, (void)uid;
	if (!disabled)
		++*(unsigned *)arg;
	return 0;
}

static void check_passdb(struct doctor *d)
{
	const char *p = d->cfg.ntlm_password_file;
	struct stat st;
	unsigned n = 0;
	char remedy[512];
	bool group_ok = false;

	if (p == NULL) {
		report(d, ST_OK, "ntlm", NULL, "no NTLM password file configured (NTLM off)");
		return;
	}
	if (stat(p, &st) != 0 || access(p, R_OK) != 0) {
		snprintf(remedy, sizeof(remedy), "witnessctl user add NAME --file %s", p);
		report(d, ST_FAIL, "ntlm", remedy, "%s: %s", p, strerror(errno));
		return;
	}
	/* 0640 root:witnessd is what the Debian package makes for a daemon run as witnessd */
	if ((st.st_mode & 07777) == 0640) {
		struct group *g = getgrgid(st.st_gid);

		group_ok = g != NULL && strcmp(g->gr_name, "witnessd") == 0;
	}
	if ((st.st_mode & 07777) != 0600 && !group_ok) {
		snprintf(remedy, sizeof(remedy), "chmod 0600 %s (it holds NT hashes)", p);
		report(d, ST_FAIL, "ntlm", remedy, "%s has mode %04o, not 0600", p,
		       (unsigned)(st.st_mode & 07777));
		return;
	}
	if (auth_passdb_user_list(p, count_user, &n) != 0) {
		report(d, ST_FAIL, "ntlm", "fix or recreate it with witnessctl user add",
		       "%s does not parse", p);
		return;
	}
	snprintf(remedy, sizeof(remedy), "witnessctl user add NAME --file %s", p);
	report(d, n > 0 ? ST_OK : ST_WARN, "ntlm", remedy, "%s: mode %04o, %u account%s", p,
	       (unsigned)(st.st_mode & 07777), n, n == 1 ? "" : "s");
}

static cJSON *admin_call(struct doctor *d, const char *cmd, char *err, size_t errlen)
{
	cJSON *req = cJSON_CreateObject(), *rep = NULL, *res = NULL;
	const char *path = d->o->socket ? d->o->socket : d->cfg.admin_socket;

	cJSON_AddStringToObject(req, "cmd", cmd);
	if (ctl_client_call(path, req, d->o->timeout_ms + 3000, &rep, err, errlen) == 0) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "ok")))
			res = cJSON_DetachItemFromObject(rep, "result");
		else
			snprintf(
			    err, errlen, "%s",
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "error"))
			        ?: "refused");
	}
	cJSON_Delete(req);
	cJSON_Delete(rep);
	return res;
}

/* What an administrator runs for one state of node pnn (the ctdb(1) tool's
 * words); NULL for a state that has no command of its own. */
static const char *node_remedy(const char *state, char *buf, size_t buflen, double pnn)
{
	if (strstr(state, "DISCONNECTED"))
		snprintf(buf, buflen, "start ctdb on node %.0f or fix its network", pnn);
	else if (strstr(state, "BANNED"))
		snprintf(buf, buflen, "ctdb unban -n %.0f", pnn);
	else if (strstr(state, "STOPPED"))
		snprintf(buf, buflen, "ctdb continue -n %.0f", pnn);
	else if (strstr(state, "DISABLED"))
		snprintf(buf, buflen, "ctdb enable -n %.0f", pnn);
	else if (strstr(state, "UNHEALTHY"))
		snprintf(buf, buflen, "ctdb event status legacy monitor on node %.0f", pnn);
	else
		return NULL;
	return buf;
}

/*
 * The nodemap the ctdb backend last read, from `status` (cluster.node_states).
 * Another node that is not OK is a WARN: this node still serves, and CTDB
 * moved that node's public addresses to the healthy ones. This node not OK
 * is a FAIL: whatever the reason (even a deliberate `ctdb disable` for
 * maintenance), it hosts no public address, so no client reaches its witness
 * or its shares, and "is this node ready for witness clients" is what doctor
 * answers.
 */
static void check_ctdb_nodes(struct doctor *d)
{
	char err[512], list[512] = "", remedy[512] = "ctdb status", one[96];
	size_t loff = 0, roff = strlen(remedy);
	cJSON *st = admin_call(d, "status", err, sizeof(err)), *it;
	const cJSON *cl, *nodes;
	double self;
	unsigned n = 0, bad = 0;
	bool self_bad = false;

	if (st == NULL) {
		report(d, ST_WARN, "ctdb nodes", "start witnessd", "status: %s", err);
		return;
	}
	cl = cJSON_GetObjectItemCaseSensitive(st, "cluster");
	nodes = cJSON_GetObjectItemCaseSensitive(cl, "node_states");
	self = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cl, "pnn"));
	if (!cJSON_IsArray(nodes)) {
		report(d, ST_WARN, "ctdb nodes", "upgrade witnessd",
		       "witnessd does not report the ctdb nodes");
		goto out;
	}
	if (cJSON_GetArraySize(nodes) == 0) {
		report(d, ST_WARN, "ctdb nodes", "ctdb status; systemctl status ctdb",
		       "witnessd has no current nodemap from ctdbd (state %s)",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "state"))
		           ?: "unknown");
		goto out;
	}
	cJSON_ArrayForEach(it, nodes)
	{
		double pnn = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "pnn"));
		const char *state =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "state"));

		n++;
		if (state == NULL || strcmp(state, "OK") == 0)
			continue;
		bad++;
		self_bad |= pnn == self;
		if (loff < sizeof(list))
			loff += (size_t)snprintf(list + loff, sizeof(list) - loff,
			                         "%snode %.0f%s %s", loff ? ", " : "", pnn,
			                         pnn == self ? " (this node)" : "", state);
		if (node_remedy(state, one, sizeof(one), pnn) && roff < sizeof(remedy))
			roff += (size_t)snprintf(remedy + roff, sizeof(remedy) - roff, "; %s", one);
	}
	if (bad == 0)
		report(d, ST_OK, "ctdb nodes", NULL, "%u node%s, all healthy", n,
		       n == 1 ? "" : "s");
	else
		report(d, self_bad ? ST_FAIL : ST_WARN, "ctdb nodes", remedy, "%u of %u not OK: %s",
		       bad, n, list);
out:
	cJSON_Delete(st);
}

static void check_cluster(struct doctor *d)
{
	char err[512];
	cJSON *ips, *it, *peers;
	unsigned n = 0, homeless = 0;

	ips = admin_call(d, "ip-list", err, sizeof(err));
	if (ips == NULL) {
		report(d, ST_WARN, "daemon", "start witnessd; the cluster checks need it",
		       "cannot ask witnessd: %s", err);
		return;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(ips, "interfaces"))
	{
		const cJSON *node = cJSON_GetObjectItemCaseSensitive(it, "node");

		n++;
		if (!cJSON_IsNumber(node) || node->valuedouble < 0 ||
		    node->valuedouble >= 0xFFFFFFFFu)
			homeless++;
	}
	if (d->cfg.cluster_backend == WD_BACKEND_CTDB) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->cfg.ctdb_socket);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			report(d, ST_FAIL, "ctdb",
			       "start ctdb (systemctl start ctdb); check [ctdb] socket", "%s: %s",
			       d->cfg.ctdb_socket, strerror(errno));
		else
			report(d, ST_OK, "ctdb", NULL, "ctdbd answers on %s", d->cfg.ctdb_socket);
		if (fd >= 0)
			close(fd);
	}
	if (n == 0)
		report(d, ST_FAIL, "interfaces",
		       "give [static] interfaces, or public addresses to ctdb (ctdb ip)",
		       "the cluster view has no interface: clients get ERROR_NO_MORE_ITEMS");
	else if (homeless > 0)
		report(d, ST_FAIL, "interfaces",
		       "ctdb status / ctdb ip: bring a node up that can host them",
		       "%u of %u interfaces have no node", homeless, n);
	else
		report(d, ST_OK, "interfaces", NULL, "%u interfaces, each hosted by a node", n);
	cJSON_Delete(ips);
	if (d->cfg.cluster_backend != WD_BACKEND_CTDB)
		return;
	check_ctdb_nodes(d);
	peers = admin_call(d, "peers", err, sizeof(err));
	if (peers == NULL) {
		report(d, ST_WARN, "peers", "upgrade witnessd on every node", "peers: %s", err);
		return;
	}
	{
		const cJSON *miss = cJSON_GetObjectItemCaseSensitive(peers, "nodes_not_answering");
		int n_ans = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(peers, "nodes"));

		if (cJSON_GetArraySize(miss) > 0) {
			char list[256] = "";
			size_t off = 0;
			const cJSON *m;

			cJSON_ArrayForEach(m, miss)
			{
				if (off < sizeof(list))
					off += (size_t)snprintf(list + off, sizeof(list) - off,
					                        "%s%.0f", off ? ", " : "",
					                        cJSON_GetNumberValue(m));
			}
			report(d, ST_FAIL, "peers",
			       "start witnessd on those nodes (systemctl start witnessd); their "
			       "clients get no cluster-wide moves",
			       "node%s %s: witnessd does not answer over ctdb (%d answered)",
			       cJSON_GetArraySize(miss) == 1 ? "" : "s", list, n_ans);
		} else {
			report(d, ST_OK, "peers", NULL, "%d node%s' witnessd answer over ctdb",
			       n_ans, n_ans == 1 ? "" : "s");
		}
	}
	cJSON_Delete(peers);
}

/* ---- SMB ---- */

static int smb_recv(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t th[4];
	size_t n;

	if (recv_all(fd, th, 4) != 0 || th[0] != 0)
		return -1;
	n = (size_t)th[1] << 16 | (size_t)th[2] << 8 | th[3];
	if (n > cap || recv_all(fd, buf, n) != 0)
		return -1;
	*len = n;
	return 0;
}

static const uint8_t client_guid[16] = {0x77, 0x69, 0x74, 0x6e, 0x65, 0x73, 0x73, 0x64,
                                        0x64, 0x6f, 0x63, 0x74, 0x6f, 0x72, 0x00, 0x01};

/* NEGOTIATE on a new connection; returns the fd (or -1 with err). */
static int smb_negotiate(struct doctor *d, const char *host, uint16_t port, const uint16_t *dia,
                         size_t n, struct smb2_negotiate_rsp *nr, char *err, size_t errlen)
{
	static uint8_t buf[SMB2_MAX_MSG];
	struct smb2_hdr h;
	size_t len;
	int fd = tcp_connect(host, port, d->o->timeout_ms, err, errlen);
	int l;

	if (fd < 0)
		return -1;
	l = smb2_negotiate_req(buf, sizeof(buf), 0, dia, n, client_guid);
	if (l < 0 || send_all(fd, buf, (size_t)l) != 0 ||
	    smb_recv(fd, buf, sizeof(buf), &len) != 0) {
		snprintf(err, errlen, "no NEGOTIATE answer");
		close(fd);
		return -1;
	}
	if (smb2_negotiate_rsp_pull(buf, len, &h, nr) != 0 || h.status != 0) {
		snprintf(err, errlen, "NEGOTIATE failed (status 0x%08x)", h.status);
		close(fd);
		return -1;
	}
	return fd;
}

static void check_smb(struct doctor *d)
{
	static uint8_t buf[SMB2_MAX_MSG];
	static const uint16_t all[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
	static const uint16_t upto302[] = {0x0202, 0x0210, 0x0300, 0x0302};
	const char *host = d->o->smb_host
	                       ? d->o->smb_host
	                       : connect_addr(d->cfg.n_listen_addresses ? d->cfg.listen_addresses[0]
	                                                                : "127.0.0.1");
	uint16_t port = d->o->smb_port ? d->o->smb_port : 445;
	struct smb2_negotiate_rsp nr;
	struct smb2_session_setup_rsp sr;
	struct smb2_hdr h;
	ntlm_client_t *nc = NULL;
	char err[256], user[256], *dom = NULL, *u;
	const uint8_t *tok;
	uint8_t *auth = NULL;
	size_t tl, al, len;
	uint64_t sid, mid = 1;
	int fd, l;

	fd = smb_negotiate(d, host, port, all, 5, &nr, err, sizeof(err));
	if (fd < 0) {
		report(d, ST_WARN, "smb", "start the SMB server on this node (or give --smb-host)",
		       "%s port %u: %s", host, port, err);
		return;
	}
	close(fd);
	report(d, ST_OK, "smb", NULL, "%s port %u: SMB2 dialect %s, capabilities 0x%08x", host,
	       port, smb2_dialect_name(nr.dialect), nr.capabilities);
	report(d, (nr.capabilities & SMB2_GLOBAL_CAP_PERSISTENT_HANDLES) ? ST_OK : ST_WARN, "smb",
	       "Windows clients request persistent handles on continuously available "
	       "shares: enable them in the SMB server if it can",
	       "persistent handles (SMB2_GLOBAL_CAP_PERSISTENT_HANDLES): %s",
	       (nr.capabilities & SMB2_GLOBAL_CAP_PERSISTENT_HANDLES) ? "offered" : "not offered");
	if (d->o->user == NULL) {
		if (d->o->n_shares > 0)
			report(d, ST_WARN, "share", "give --user [DOMAIN\\]USER",
			       "no credentials: the shares' capabilities are not checked");
		return;
	}
	/* Up to 3.0.2: a tree connect needs no signature there when the server does not
	 * require signing ([MS-SMB2] 3.3.5.2.4), and 3.0 already carries the share caps. */
	fd = smb_negotiate(d, host, port, upto302, 4, &nr, err, sizeof(err));
	if (fd < 0) {
		report(d, ST_FAIL, "share", "check the SMB server's protocol settings", "%s", err);
		return;
	}
	snprintf(user, sizeof(user), "%s", d->o->user);
	u = strchr(user, '\\');
	if (u != NULL) {
		*u++ = '\0';
		dom = user;
	} else {
		u = user;
	}
	{
		struct ntlm_client_opts no = {.user = u,
		                              .domain = dom,
		                              .password = d->o->password,
		                              .workstation = "WITNESSCTL"};

		if (ntlm_client_new(&no, &nc) != 0 || ntlm_client_negotiate(nc, &tok, &tl) != 0) {
			report(d, ST_FAIL, "share", "check --user", "bad credentials for NTLM");
			goto out;
		}
	}
	l = smb2_session_setup_req(buf, sizeof(buf), mid++, 0, tok, tl);
	if (l < 0 || send_all(fd, buf, (size_t)l) != 0 ||
	    smb_recv(fd, buf, sizeof(buf), &len) != 0 ||
	    smb2_session_setup_rsp_pull(buf, len, &h, &sr) != 0 ||
	    h.status != SMB2_STATUS_MORE_PROCESSING_REQUIRED || sr.token == NULL) {
		report(d, ST_FAIL, "share", "the SMB server must offer NTLMSSP",
		       "session setup: no NTLM challenge (status 0x%08x)", h.status);
		goto out;
	}
	sid = h.session_id;
	if (ntlm_client_authenticate(nc, sr.token, sr.token_len, &auth, &al) != 0) {
		report(d, ST_FAIL, "share", "check the SMB server", "a malformed NTLM challenge");
		goto out;
	}
	l = smb2_session_setup_req(buf, sizeof(buf), mid++, sid, auth, al);
	if (l < 0 || send_all(fd, buf, (size_t)l) != 0 ||
	    smb_recv(fd, buf, sizeof(buf), &len) != 0 ||
	    smb2_session_setup_rsp_pull(buf, len, &h, &sr) != 0 || h.status != 0) {
		report(d, ST_FAIL, "share", "check the user and password on the SMB server",
		       "session setup as %s refused (status 0x%08x)", d->o->user, h.status);
		goto out;
	}
	for (size_t i = 0; i < d->o->n_shares; i++) {
		struct smb2_tree_connect_rsp tr;
		char path[600];
		bool cl, ca;

		snprintf(path, sizeof(path), "\\\\%s\\%s", host, d->o->shares[i]);
		l = smb2_tree_connect_req(buf, sizeof(buf), mid++, sid, path);
		if (l < 0 || send_all(fd, buf, (size_t)l) != 0 ||
		    smb_recv(fd, buf, sizeof(buf), &len) != 0 ||
		    smb2_tree_connect_rsp_pull(buf, len, &h, &tr) != 0) {
			report(d, ST_FAIL, "share", "check the SMB server",
			       "%s: no TREE_CONNECT answer", d->o->shares[i]);
			break;
		}
		if (h.status != 0) {
			report(d, ST_FAIL, "share", "check the share name and the user's access",
			       "%s: TREE_CONNECT refused (status 0x%08x)", d->o->shares[i],
			       h.status);
			continue;
		}
		cl = tr.capabilities & SMB2_SHARE_CAP_CLUSTER;
		ca = tr.capabilities & SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY;
		report(d, cl && ca ? ST_OK : ST_WARN, "share",
		       "Windows clients use a witness only for shares with both CLUSTER and "
		       "CONTINUOUS_AVAILABILITY: enable clustering and continuous availability in "
		       "the SMB server",
		       "%s: capabilities 0x%08x: SMB2_SHARE_CAP_CLUSTER %s, "
		       "SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY %s",
		       d->o->shares[i], tr.capabilities, cl ? "yes" : "no", ca ? "yes" : "no");
	}
out:
	free(auth);
	ntlm_client_free(nc);
	close(fd);
}

int ctl_doctor_run(const struct ctl_doctor_opts *o)
{
	struct doctor d = {.o = o};
	char err[1024];

	if (o->json)
		d.checks = cJSON_CreateArray();
	if (wd_config_load(o->config, &d.cfg, err, sizeof(err)) != 0) {
		report(&d, ST_FAIL, "config",
		       "fix the line named; witnessd --check-config shows it", "%s", err);
		goto done;
	}
	report(&d, ST_OK, "config", NULL, "%s parses (netname %s, %s backend)", o->config,
	       d.cfg.netname, d.cfg.cluster_backend == WD_BACKEND_CTDB ? "ctdb" : "static");
	check_listen(&d);
	check_keytab(&d);
	check_passdb(&d);
	check_cluster(&d);
	check_smb(&d);
done:
	if (o->json) {
		cJSON *r = cJSON_CreateObject();
		char *s;

		cJSON_AddItemToObject(r, "checks", d.checks);
		cJSON_AddNumberToObject(r, "failed", d.failed);
		cJSON_AddNumberToObject(r, "warnings", d.warned);
		s = cJSON_Print(r);
		if (s)
			puts(s);
		cJSON_free(s);
		cJSON_Delete(r);
	} else {
		printf("%u failed, %u warning%s\n", d.failed, d.warned, d.warned == 1 ? "" : "s");
	}
	wd_config_free(&d.cfg);
	return d.failed > 0 ? CTL_EXIT_NOMATCH : CTL_EXIT_OK;
}
