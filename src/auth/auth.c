/*
 * auth.c - the auth.h contract: the configured server (password file,
 * keytab), one context per DCERPC auth context, the SPNEGO negotiator
 * ([RFC 4178], [MS-SPNG]) on top of NTLMSSP and Kerberos, and the dispatch
 * of sign / check / seal / unseal to the mechanism that won.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/auth.h"
#include "witness/err.h"
#include "witness/log.h"
#include "auth_int.h"

struct auth_server {
	char *netname, *dns_name, *domain, *dns_domain, *keytab, *pwfile;
	unsigned methods;
	bool ntlm_refuse_anonymous;
	auth_passdb_t *passdb;
	struct krb5_server *krb;
	uint32_t sid_sub[3]; /* local SID authority S-1-5-21-a-b-c */
};

enum { MECH_NONE, MECH_NTLM, MECH_KRB5 };
/* GSS_C_INTEG_FLAG / GSS_C_CONF_FLAG ([RFC 2744] 3.9), without gssapi.h here */
enum { GSS_CONF_FLAG = 16, GSS_INTEG_FLAG = 32 };

struct spnego_state {
	int phase; /* 0 = expect negTokenInit, 1 = expect negTokenResp */
	struct spnego_oid mech;
	bool mech_first, inner_done;
	uint8_t *mechlist;
	size_t mechlist_len;
};

struct auth_ctx {
	auth_server_t *srv;
	uint8_t type, level;
	bool hdr_sign, complete, failed;
	/* INTEGRITY/PACKET without SIGN negotiated: nothing verifies */
	bool unsigned_integ;
	int mech; /* MECH_* doing the work (inside SPNEGO or raw) */
	struct ntlmssp_server *ntlm;
	struct krb5_acceptor *krb;
	struct spnego_state *sp;
	struct auth_session sess;
	char *names; /* the session's strings, "account\0domain\0sid\0" */
	size_t names_len;
};

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool ntlm_ready(const auth_server_t *srv)
{
	return srv->passdb != NULL;
}

static bool krb_ready(const auth_server_t *srv)
{
	return srv->krb != NULL;
}

bool auth_server_offers(const auth_server_t *srv, uint8_t auth_type)
{
	switch (auth_type) {
	case AUTH_TYPE_NTLMSSP:
		return (srv->methods & AUTH_METHOD_NTLMSSP) && ntlm_ready(srv);
	case AUTH_TYPE_KRB5:
		return (srv->methods & AUTH_METHOD_KRB5) && krb_ready(srv);
	case AUTH_TYPE_SPNEGO:
		return (srv->methods & AUTH_METHOD_SPNEGO) && (ntlm_ready(srv) || krb_ready(srv));
	default:
		return false;
	}
}

void auth_server_free(auth_server_t *srv)
{
	if (!srv)
		return;
	auth_passdb_free(srv->passdb);
	krb5_server_free(srv->krb);
	free(srv->netname);
	free(srv->dns_name);
	free(srv->domain);
	free(srv->dns_domain);
	free(srv->keytab);
	free(srv->pwfile);
	free(srv);
}

static int load_passdb(auth_server_t *srv, auth_passdb_t **out)
{
	int rc = auth_passdb_load(srv->pwfile, out);
	char ep[512];

	if (rc) {
		wd_log_escape(srv->pwfile, ep, sizeof(ep));
		wd_log(WD_LOG_ERR, "auth.passdb.load", "path=%s err=%s", ep, wd_strerror(rc));
	}
	return rc;
}

int auth_server_new(const struct auth_server_opts *opts, auth_server_t **out)
{
	auth_server_t *srv;
	uint8_t h[16];
	char *up;
	int rc;

	if (!opts || !opts->netname || !opts->netname[0])
		return WD_EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return WD_ENOMEM;
	srv->methods = opts->methods ? opts->methods
	                             : AUTH_METHOD_NTLMSSP | AUTH_METHOD_KRB5 | AUTH_METHOD_SPNEGO;
	srv->ntlm_refuse_anonymous = opts->ntlm_refuse_anonymous;
	srv->netname = dupn(opts->netname);
	srv->domain = dupn(opts->domain && opts->domain[0] ? opts->domain : opts->netname);
	if (opts->dns_name && opts->dns_name[0]) {
		const char *dot = strchr(opts->dns_name, '.');
		srv->dns_name = dupn(opts->dns_name);
		srv->dns_domain = dupn(dot ? dot + 1 : opts->dns_name);
	} else {
		srv->dns_name = dupn(opts->netname);
		srv->dns_domain = dupn(srv->domain);
	}
	srv->keytab = dupn(opts->keytab);
	srv->pwfile = dupn(opts->ntlm_password_file);
	if (!srv->netname || !srv->domain || !srv->dns_name || !srv->dns_domain ||
	    (opts->keytab && !srv->keytab) || (opts->ntlm_password_file && !srv->pwfile)) {
		rc = WD_ENOMEM;
		goto fail;
	}
	/* Local accounts get SIDs under a stable machine authority derived from
	 * the netname (the password file is this machine's account database). */
	up = strdup(srv->netname);
	if (!up) {
		rc = WD_ENOMEM;
		goto fail;
	}
	for (char *c = up; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c -= 0x20;
	{
		char seed[300];
		snprintf(seed, sizeof(seed), "witnessd-local-sid:%s", up);
		rc = auth_md5(seed, strlen(seed), h);
	}
	free(up);
	if (rc)
		goto fail;
	for (int i = 0; i < 3; i++)
		srv->sid_sub[i] = (uint32_t)h[4 * i] | (uint32_t)h[4 * i + 1] << 8 |
		                  (uint32_t)h[4 * i + 2] << 16 | (uint32_t)h[4 * i + 3] << 24;
	/* A configured but missing/unreadable/malformed file is an error at start
	 * (issue 3: "a clear error"), not a silently disabled mechanism. */
	if (srv->pwfile && (rc = load_passdb(srv, &srv->passdb)) != 0) {
		rc = WD_ECONFIG;
		goto fail;
	}
	if (srv->keytab && (rc = krb5_server_new(srv->keytab, &srv->krb)) != 0) {
		char ek[512];
		wd_log_escape(srv->keytab, ek, sizeof(ek));
		wd_log(WD_LOG_ERR, "auth.krb5.keytab", "path=%s err=%s", ek, wd_strerror(rc));
		rc = WD_ECONFIG;
		goto fail;
	}
	wd_log(WD_LOG_INFO, "auth.server", "ntlmssp=%d krb5=%d spnego=%d accounts=%zu",
	       auth_server_offers(srv, AUTH_TYPE_NTLMSSP), auth_server_offers(srv, AUTH_TYPE_KRB5),
	       auth_server_offers(srv, AUTH_TYPE_SPNEGO), auth_passdb_count(srv->passdb));
	/* The Debian package creates the file empty: say why no NTLM bind will work yet. */
	if (srv->pwfile && auth_passdb_count(srv->passdb) == 0) {
		char ep[512];
		wd_log_escape(srv->pwfile, ep, sizeof(ep));
		wd_log(WD_LOG_WARNING, "auth.passdb.empty",
		       "path=%s accounts=0 hint=\"no NTLM account exists yet: witnessctl user "
		       "add NAME\"",
		       ep);
	}
	*out = srv;
	return 0;
fail:
	auth_server_free(srv);
	return rc;
}

int auth_server_reload(auth_server_t *srv)
{
	auth_passdb_t *db;
	int rc;

	if (!srv->pwfile)
		return 0;
	rc = load_passdb(srv, &db);
	if (rc)
		return rc; /* keep the old accounts */
	auth_passdb_free(srv->passdb);
	srv->passdb = db;
	wd_log(WD_LOG_INFO, "auth.passdb.reload", "accounts=%zu", auth_passdb_count(db));
	return 0;
}

/* ---- contexts -------------------------------------------------------- */

static int new_ntlm(auth_ctx_t *ctx)
{
	struct ntlmssp_server_cfg cfg = {
	    .netname = ctx->srv->netname,
	    .domain = ctx->srv->domain,
	    .dns_name = ctx->srv->dns_name,
	    .dns_domain = ctx->srv->dns_domain,
	    .passdb = &ctx->srv->passdb,
	    .refuse_anonymous = ctx->srv->ntlm_refuse_anonymous,
	};

	ctx->mech = MECH_NTLM;
	return ntlmssp_server_new(&cfg, &ctx->ntlm);
}

static int new_krb(auth_ctx_t *ctx)
{
	ctx->mech = MECH_KRB5;
	return krb5_acceptor_new(ctx->srv->krb, &ctx->krb);
}

int auth_ctx_start(auth_server_t *srv, uint8_t auth_type, uint8_t auth_level, auth_ctx_t **out)
{
	auth_ctx_t *ctx;
	int rc = 0;

	if (!auth_server_offers(srv, auth_type))
		return WD_ENOTSUP;
	switch (auth_level) {
	case AUTH_LEVEL_CONNECT:
	case AUTH_LEVEL_PACKET:
	case AUTH_LEVEL_INTEGRITY:
	case AUTH_LEVEL_PRIVACY:
		break;
	default:
		return WD_EINVAL; /* NONE/CALL with a trailer: not for CO */
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return WD_ENOMEM;
	ctx->srv = srv;
	ctx->type = auth_type;
	ctx->level = auth_level;
	if (auth_type == AUTH_TYPE_NTLMSSP) {
		rc = new_ntlm(ctx);
	} else if (auth_type == AUTH_TYPE_KRB5) {
		rc = new_krb(ctx);
	} else {
		ctx->sp = calloc(1, sizeof(*ctx->sp));
		if (!ctx->sp)
			rc = WD_ENOMEM;
	}
	if (rc) {
		auth_ctx_free(ctx);
		return rc;
	}
	ctx->sess.auth_type = auth_type;
	ctx->sess.auth_level = auth_level;
	ctx->sess.account = ctx->sess.domain = ctx->sess.sid = "";
	*out = ctx;
	return 0;
}

void auth_ctx_free(auth_ctx_t *ctx)
{
	if (!ctx)
		return;
	ntlmssp_server_free(ctx->ntlm);
	krb5_acceptor_free(ctx->krb);
	if (ctx->sp) {
		free(ctx->sp->mechlist);
		free(ctx->sp);
	}
	if (ctx->names)
		wd_memzero(ctx->names, ctx->names_len);
	free(ctx->names);
	wd_memzero(ctx, sizeof(*ctx));
	free(ctx);
}

static int inner_update(auth_ctx_t *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                        size_t *out_len)
{
	if (ctx->mech == MECH_NTLM)
		return ntlmssp_server_update(ctx->ntlm, in, in_len, out, out_len);
	return krb5_acceptor_update(ctx->krb, in, in_len, out, out_len);
}

static int inner_sign_raw(auth_ctx_t *ctx, const uint8_t *msg, size_t len, uint8_t **mic,
                          size_t *mic_len)
{
	if (ctx->mech == MECH_NTLM) {
		int rc;
		*mic = malloc(NTLMSSP_SIG_SIZE);
		if (!*mic)
			return WD_ENOMEM;
		rc = ntlmssp_sign(ctx->ntlm, msg, len, *mic);
		if (rc) {
			free(*mic);
			*mic = NULL;
			return rc;
		}
		*mic_len = NTLMSSP_SIG_SIZE;
		return 0;
	}
	return krb5_get_mic(ctx->krb, msg, len, mic, mic_len);
}

static int inner_check_raw(auth_ctx_t *ctx, const uint8_t *msg, size_t len, const uint8_t *mic,
                           size_t mic_len)
{
	if (ctx->mech == MECH_NTLM) {
		if (mic_len != NTLMSSP_SIG_SIZE)
			return WD_ESIG;
		return ntlmssp_check(ctx->ntlm, msg, len, mic);
	}
	return krb5_verify_mic(ctx->krb, msg, len, mic, mic_len);
}

/* Reply with a negTokenResp; takes ownership of nothing. */
static int sp_reply(int state, const struct spnego_oid *mech, const uint8_t *tok, size_t tok_len,
                    const uint8_t *mic, size_t mic_len, uint8_t **out, size_t *out_len)
{
	struct spnego_resp r = {.state = state};

	if (mech) {
		r.has_mech = true;
		r.mech = *mech;
	}
	r.token = tok_len ? tok : NULL;
	r.token_len = tok_len;
	r.mic = mic;
	r.mic_len = mic_len;
	return spnego_build_resp(&r, out, out_len);
}

/* The inner mechanism completed: mechListMIC exchange ([RFC 4178] 5). */
static int sp_finish(auth_ctx_t *ctx, const uint8_t *tok, size_t tok_len, const uint8_t *cmic,
                     size_t cmic_len, const struct spnego_oid *mech, uint8_t **out, size_t *out_len)
{
	struct spnego_state *sp = ctx->sp;
	uint8_t *smic = NULL;
	size_t smic_len = 0;
	int rc;

	if (cmic) {
		rc = inner_check_raw(ctx, sp->mechlist, sp->mechlist_len, cmic, cmic_len);
		if (rc) {
			wd_log(WD_LOG_NOTICE, "auth.spnego.refused", "reason=bad_mechlistmic");
			return WD_EAUTH;
		}
	} else if (!sp->mech_first) {
		/* the mech was not the initiator's first choice: without a MIC a
		 * downgrade could not be detected ([RFC 4178] 5 d) */
		wd_log(WD_LOG_NOTICE, "auth.spnego.refused", "reason=missing_mechlistmic");
		return WD_EAUTH;
	}
	if (cmic || !sp->mech_first) {
		rc = inner_sign_raw(ctx, sp->mechlist, sp->mechlist_len, &smic, &smic_len);
		if (rc)
			return rc;
		/* NTLMSSP: re-key both RC4 handles, keep the sequence numbers
		 * (Samba auth/gensec/spnego.c, CVE-2016-2110 fix). */
		if (ctx->mech == MECH_NTLM && (rc = ntlmssp_reset_rc4(ctx->ntlm))) {
			free(smic);
			return rc;
		}
	}
	rc = sp_reply(SPNEGO_ACCEPT_COMPLETED, mech, tok, tok_len, smic, smic_len, out, out_len);
	free(smic);
	return rc;
}

static int spnego_update(auth_ctx_t *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len)
{
	struct spnego_state *sp = ctx->sp;
	uint8_t *itok = NULL;
	size_t itok_len = 0;
	int rc;

	if (sp->phase == 0) {
		struct spnego_init init;
		size_t chosen = SIZE_MAX;

		if ((rc = spnego_parse_init(in, in_len, &init)))
			return WD_EPROTO;
		for (size_t i = 0; i < init.n_mechs && chosen == SIZE_MAX; i++) {
			const struct spnego_oid *m = &init.mechs[i];
			if (krb_ready(ctx->srv) && (spnego_oid_eq(m, &spnego_oid_krb5) ||
			                            spnego_oid_eq(m, &spnego_oid_mskrb5)))
				chosen = i;
			else if (ntlm_ready(ctx->srv) && spnego_oid_eq(m, &spnego_oid_ntlmssp))
				chosen = i;
		}
		if (chosen == SIZE_MAX) {
			wd_log(WD_LOG_NOTICE, "auth.spnego.refused",
			       "reason=no_common_mech mechs=%zu", init.n_mechs);
			ctx->failed = true;
			sp_reply(SPNEGO_REJECT, NULL, NULL, 0, NULL, 0, out, out_len);
			return WD_EAUTH;
		}
		sp->mech = init.mechs[chosen];
		sp->mech_first = chosen == 0;
		sp->mechlist = malloc(init.mechlist_len);
		if (!sp->mechlist)
			return WD_ENOMEM;
		memcpy(sp->mechlist, init.mechlist, init.mechlist_len);
		sp->mechlist_len = init.mechlist_len;
		rc = spnego_oid_eq(&sp->mech, &spnego_oid_ntlmssp) ? new_ntlm(ctx) : new_krb(ctx);
		if (rc)
			return rc;
		sp->phase = 1;
		if (!sp->mech_first || !init.token) {
			/* the optimistic token (if any) was for another mech */
			return sp_reply(SPNEGO_ACCEPT_INCOMPLETE, &sp->mech, NULL, 0, NULL, 0, out,
			                out_len)
			           ?: WD_EAGAIN;
		}
		rc = inner_update(ctx, init.token, init.token_len, &itok, &itok_len);
		if (rc == WD_EAGAIN) {
			rc = sp_reply(SPNEGO_ACCEPT_INCOMPLETE, &sp->mech, itok, itok_len, NULL, 0,
			              out, out_len);
			free(itok);
			return rc ? rc : WD_EAGAIN;
		}
		if (rc == 0) {
			sp->inner_done = true;
			rc = sp_finish(ctx, itok, itok_len, init.mic, init.mic_len, &sp->mech, out,
			               out_len);
		}
		free(itok);
		return rc;
	}

	/* phase 1: negTokenResp from the client */
	struct spnego_resp resp;
	bool done_before;

	if ((rc = spnego_parse_resp(in, in_len, &resp)))
		return WD_EPROTO;
	if (resp.state == SPNEGO_REJECT)
		return WD_EAUTH;
	done_before = sp->inner_done;
	if (!resp.token) {
		/* only a MIC after the mechanism finished ([RFC 4178] 3.2 d) */
		if (!done_before || !resp.mic)
			return WD_EPROTO;
		return sp_finish(ctx, NULL, 0, resp.mic, resp.mic_len, NULL, out, out_len);
	}
	if (done_before)
		return WD_EPROTO;
	rc = inner_update(ctx, resp.token, resp.token_len, &itok, &itok_len);
	if (rc == 0)
		sp->inner_done = true;
	if (rc == WD_EAGAIN) {
		rc =
		    sp_reply(SPNEGO_ACCEPT_INCOMPLETE, NULL, itok, itok_len, NULL, 0, out, out_len);
		free(itok);
		return rc ? rc : WD_EAGAIN;
	}
	if (rc == 0) {
		if (!resp.mic && !sp->mech_first) {
			/* the client may send its MIC in one more leg */
			rc = sp_reply(SPNEGO_ACCEPT_INCOMPLETE, NULL, itok, itok_len, NULL, 0, out,
			              out_len);
			free(itok);
			return rc ? rc : WD_EAGAIN;
		}
		rc = sp_finish(ctx, itok, itok_len, resp.mic, resp.mic_len, NULL, out, out_len);
	}
	free(itok);
	return rc;
}

static int fill_session(auth_ctx_t *ctx)
{
	struct auth_session *s = &ctx->sess;
	char account[256], domain[256], sid[80];
	size_t al, dl, sl;

	sid[0] = '\0';
	if (ctx->mech == MECH_NTLM && ntlmssp_server_anonymous(ctx->ntlm)) {
		/* the ANONYMOUS user of [MS-NLMP] 3.2.5.1.2, well-known SID
		 * S-1-5-7 ([MS-DTYP] 2.4.2.4), as Samba names it */
		snprintf(account, sizeof(account), "ANONYMOUS LOGON");
		snprintf(domain, sizeof(domain), "NT AUTHORITY");
		snprintf(sid, sizeof(sid), "S-1-5-7");
		s->anonymous = true;
	} else if (ctx->mech == MECH_NTLM) {
		const char *u, *d;
		uint32_t uid;
		ntlmssp_server_identity(ctx->ntlm, &u, &d, &uid);
		snprintf(account, sizeof(account), "%s", u);
		snprintf(domain, sizeof(domain), "%s", d[0] ? d : ctx->srv->domain);
		/* Samba's algorithmic RID mapping: rid = 2 * uid + 1000 */
		snprintf(sid, sizeof(sid), "S-1-5-21-%u-%u-%u-%llu", ctx->srv->sid_sub[0],
		         ctx->srv->sid_sub[1], ctx->srv->sid_sub[2], 2ull * uid + 1000ull);
	} else {
		/* the PAC is not parsed: no SID for Kerberos principals */
		account[0] = domain[0] = '\0';
		krb5_acceptor_identity(ctx->krb, account, sizeof(account), domain, sizeof(domain));
	}
	/* one allocation sized to fit, for as long as the context lives */
	al = strlen(account) + 1, dl = strlen(domain) + 1, sl = strlen(sid) + 1;
	ctx->names = malloc(al + dl + sl);
	if (!ctx->names)
		return WD_ENOMEM;
	ctx->names_len = al + dl + sl;
	memcpy(ctx->names, account, al);
	memcpy(ctx->names + al, domain, dl);
	memcpy(ctx->names + al + dl, sid, sl);
	s->account = ctx->names;
	s->domain = ctx->names + al;
	s->sid = ctx->names + al + dl;
	return 0;
}

/*
 * The level the client bound with must be backed by what the mechanism
 * negotiated: integrity needs NTLMSSP SIGN (or SEAL) / GSS_C_INTEG_FLAG,
 * privacy needs NTLMSSP SEAL / GSS_C_CONF_FLAG. Privacy without them fails
 * the leg; integrity without them completes, grants only CONNECT and
 * verifies no signature, so every request on it is refused: Samba's server
 * requires SIGN and SEAL only for privacy (auth/gensec/gensec_start.c,
 * gensec_start_mech_by_authtype; gensec.c, gensec_verify_features), and the
 * raw tests test_spnego_integrity_bind_none / privacy_bind_none pin both.
 */
static int check_features(auth_ctx_t *ctx)
{
	bool integ, conf;

	if (ctx->level < AUTH_LEVEL_PACKET)
		return 0;
	if (ctx->mech == MECH_NTLM) {
		uint32_t f = ntlmssp_server_flags(ctx->ntlm);
		integ = f & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL);
		conf = f & NTLMSSP_NEGOTIATE_SEAL;
	} else {
		uint32_t f = krb5_acceptor_flags(ctx->krb);
		integ = f & GSS_INTEG_FLAG;
		conf = f & GSS_CONF_FLAG;
	}
	/* the NTLMSSP anonymous logon never has session security (ntlmssp.c) */
	const char *why = ctx->mech == MECH_NTLM && ntlmssp_server_anonymous(ctx->ntlm)
	                      ? "anonymous_no_session_security"
	                      : "level_not_negotiated";
	if (ctx->level == AUTH_LEVEL_PRIVACY && !(integ && conf)) {
		wd_log(WD_LOG_NOTICE, "auth.refused", "reason=%s type=%u level=%u", why, ctx->type,
		       ctx->level);
		return WD_EAUTH;
	}
	if (!integ) {
		wd_log(WD_LOG_NOTICE, "auth.unsigned", "reason=%s type=%u level=%u", why, ctx->type,
		       ctx->level);
		ctx->unsigned_integ = true;
		ctx->sess.auth_level = AUTH_LEVEL_CONNECT;
	}
	return 0;
}

int auth_ctx_update(auth_ctx_t *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                    size_t *out_len)
{
	int rc;

	*out = NULL;
	*out_len = 0;
	if (ctx->failed || ctx->complete)
		return WD_ESTATE;
	if (!in && in_len)
		return WD_EINVAL;
	if (ctx->sp)
		rc = spnego_update(ctx, in, in_len, out, out_len);
	else
		rc = inner_update(ctx, in, in_len, out, out_len);
	if (rc == 0 && (rc = check_features(ctx)) != 0) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	if (rc == 0 && (rc = fill_session(ctx)) != 0) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	if (rc == 0) {
		ctx->complete = true;
		if (ctx->sp) { /* negotiated and the mechListMIC checked: not needed */
			free(ctx->sp->mechlist);
			free(ctx->sp);
			ctx->sp = NULL;
		}
		{
			char ea[512], ed[512];
			wd_log_escape(ctx->sess.account, ea, sizeof(ea));
			wd_log_escape(ctx->sess.domain, ed, sizeof(ed));
			wd_log(WD_LOG_INFO, "auth.session", "type=%u level=%u account=%s domain=%s",
			       ctx->type, ctx->level, ea, ed);
		}
	} else if (rc != WD_EAGAIN) {
		ctx->failed = true;
		if (rc != WD_EAUTH || !*out) {
			free(*out);
			*out = NULL;
			*out_len = 0;
		}
	}
	return rc;
}

bool auth_ctx_complete(const auth_ctx_t *ctx)
{
	return ctx->complete;
}

const struct auth_session *auth_ctx_session(const auth_ctx_t *ctx)
{
	return &ctx->sess;
}

void auth_ctx_set_hdr_sign(auth_ctx_t *ctx, bool on)
{
	ctx->hdr_sign = on;
}

size_t auth_ctx_sig_size(const auth_ctx_t *ctx)
{
	if (!ctx->complete || ctx->level < AUTH_LEVEL_PACKET)
		return 0;
	if (ctx->mech == MECH_NTLM)
		return NTLMSSP_SIG_SIZE;
	return krb5_sig_size(ctx->krb, ctx->level);
}

static int check_args(const auth_ctx_t *ctx, size_t pdu_len, size_t body_off, size_t body_len,
                      size_t sig_len)
{
	if (!ctx->complete)
		return WD_ESTATE;
	if (ctx->unsigned_integ)
		return WD_ESIG;
	if (body_off > pdu_len || body_len > pdu_len - body_off)
		return WD_EINVAL;
	if (sig_len != auth_ctx_sig_size(ctx) || sig_len == 0)
		return ctx->level < AUTH_LEVEL_PACKET ? WD_ESTATE : WD_ESIG;
	return 0;
}

int auth_ctx_sign(auth_ctx_t *ctx, const uint8_t *pdu, size_t pdu_len, size_t body_off,
                  size_t body_len, uint8_t *sig, size_t sig_len)
{
	int rc = check_args(ctx, pdu_len, body_off, body_len, sig_len);

	if (rc)
		return rc;
	/* NTLMSSP with ESS signs H|B|S|P|T whatever hdr_sign says (gensec_ntlmssp) */
	if (ctx->mech == MECH_NTLM)
		return ntlmssp_sign(ctx->ntlm, pdu, pdu_len, sig);
	return krb5_sign(ctx->krb, pdu, pdu_len, body_off, body_len, ctx->hdr_sign, sig, sig_len);
}

int auth_ctx_check(auth_ctx_t *ctx, const uint8_t *pdu, size_t pdu_len, size_t body_off,
                   size_t body_len, const uint8_t *sig, size_t sig_len)
{
	int rc = check_args(ctx, pdu_len, body_off, body_len, sig_len);

	if (rc)
		return rc;
	if (ctx->mech == MECH_NTLM)
		return ntlmssp_check(ctx->ntlm, pdu, pdu_len, sig);
	return krb5_check(ctx->krb, pdu, pdu_len, body_off, body_len, ctx->hdr_sign, sig, sig_len);
}

int auth_ctx_seal(auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t body_off, size_t body_len,
                  uint8_t *sig, size_t sig_len)
{
	int rc = check_args(ctx, pdu_len, body_off, body_len, sig_len);

	if (rc)
		return rc;
	if (ctx->level != AUTH_LEVEL_PRIVACY)
		return WD_ESTATE;
	if (ctx->mech == MECH_NTLM)
		return ntlmssp_seal(ctx->ntlm, pdu, pdu_len, body_off, body_len, sig);
	return krb5_seal(ctx->krb, pdu, pdu_len, body_off, body_len, ctx->hdr_sign, sig, sig_len);
}

int auth_ctx_unseal(auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t body_off, size_t body_len,
                    const uint8_t *sig, size_t sig_len)
{
	int rc = check_args(ctx, pdu_len, body_off, body_len, sig_len);

	if (rc)
		return rc;
	if (ctx->level != AUTH_LEVEL_PRIVACY)
		return WD_ESTATE;
	if (ctx->mech == MECH_NTLM)
		return ntlmssp_unseal(ctx->ntlm, pdu, pdu_len, body_off, body_len, sig);
	return krb5_unseal(ctx->krb, pdu, pdu_len, body_off, body_len, ctx->hdr_sign, sig, sig_len);
}
