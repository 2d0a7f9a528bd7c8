/*
 * wit_rules.c - the pure rules of the witness: NetName and ShareName
 * checks, the RESOURCE_CHANGE state machine, `net witness` filters, time
 * formatting and the forced-response JSON. No I/O, no loop.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "witness/err.h"
#include "wit_priv.h"

/* Case-insensitive compare of the first label of a (before '.') with b's first label. */
static bool first_label_eq(const char *a, const char *b)
{
	size_t la = strcspn(a, "."), lb = strcspn(b, ".");

	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

bool wit_netname_ok(const struct wit_config *cfg, const char *net_name)
{
	if (net_name == NULL || net_name[0] == '\0' || cfg->netname == NULL)
		return false;
	/* ServerGlobalName itself ([MS-SWN] 3.1.4.2: "NetName != ServerGlobalName"). */
	if (strcasecmp(net_name, cfg->netname) == 0)
		return true;
	/*
	 * Samba's is_myname() on the part before the first '.'
	 * (source3/rpc_server/witness/srv_witness_nt.c): Windows clients send
	 * the short name ("sofs") or the FQDN; the domain part is not checked.
	 */
	if (first_label_eq(net_name, cfg->netname))
		return true;
	for (size_t i = 0; i < cfg->n_aliases; i++) {
		if (cfg->aliases[i] != NULL && first_label_eq(net_name, cfg->aliases[i]))
			return true;
	}
	return false;
}

/* Needs escaping under Samba's log_escape() rules: control characters and '\\'. */
static bool needs_escape(unsigned char c)
{
	return c <= 0x1f || c == '\\';
}

bool wit_share_name_ok(const char *share)
{
	/*
	 * Samba requires the name to survive log_escape() unchanged
	 * (source3/rpc_server/witness/srv_witness_nt.c): no control character,
	 * no backslash. Non-ASCII UTF-8 passes, as in Samba.
	 */
	for (const unsigned char *p = (const unsigned char *)share; *p; p++) {
		if (needs_escape(*p))
			return false;
	}
	return true;
}

char *wit_name_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char tmp[5];
		const char *e;
		size_t l;

		if (!needs_escape(*p)) {
			tmp[0] = (char)*p;
			tmp[1] = '\0';
		} else {
			static const char named[] = "\a\b\f\n\r\t\v\\";
			static const char letters[] = "abfnrtv\\";
			const char *n = memchr(named, *p, sizeof(named) - 1);

			if (n != NULL)
				snprintf(tmp, sizeof(tmp), "\\%c", letters[n - named]);
			else
				snprintf(tmp, sizeof(tmp), "\\x%02X", *p);
		}
		e = tmp;
		l = strlen(e);
		if (o + l >= outlen)
			break; /* truncate at a whole escape */
		memcpy(out + o, e, l);
		o += l;
	}
	out[o] = '\0';
	return out;
}

void wit_change_set(struct wit_change *c, uint32_t state)
{
	/* UNAVAILABLE is sticky until delivered (Samba,
	 * source3/rpc_server/witness/srv_witness_nt.c). */
	if (c->triggered && c->state == WITNESS_RESOURCE_STATE_UNAVAILABLE)
		return;
	c->triggered = true;
	c->state = state;
}

void wit_change_delivered(struct wit_change *c, bool ip_available_now)
{
	uint32_t was = c->state;

	c->triggered = false;
	c->state = WITNESS_RESOURCE_STATE_UNKNOWN;
	/*
	 * Samba (source3/rpc_server/witness/srv_witness_nt.c): if the delivered state was not
	 * AVAILABLE but the interface is available again, the next AsyncNotify returns AVAILABLE at
	 * once (disable+enable before AsyncNotify -> U, then A).
	 */
	if (was != WITNESS_RESOURCE_STATE_AVAILABLE && ip_available_now) {
		c->triggered = true;
		c->state = WITNESS_RESOURCE_STATE_AVAILABLE;
	}
}

/* ---- selector bounds (include/witness/wit.h, WIT_SELECTOR_*) ---- */

/*
 * A walk over a POSIX extended regex that estimates the size of the tree
 * glibc's regcomp() builds (posix/regcomp.c parse_dup_op: `x{m,n}` becomes n
 * copies of x, `x{m,}` m + 1, `x+` two, `x*` and `x?` one, each with a node
 * of its own). It only has to over-estimate: what it lets through still goes
 * to regcomp(), which reports syntax errors itself.
 */
#define SEL_CAP (WIT_SELECTOR_MAX_EXPANSION + 1ul) /* costs saturate here */

/* One level of ( ): what it holds so far and its last item. */
struct sel_frame {
	unsigned long sum;  /* items so far, every alternative counted */
	unsigned long last; /* the last item (part of sum): what a quantifier repeats */
	unsigned last_nest; /* quantifiers nested in the last item */
	unsigned nest;      /* deepest quantifier nesting in the group */
	bool last_anchor;   /* the last item holds an anchor */
	bool anchor;        /* the group holds an anchor */
	bool last_nullable; /* the last item can match the empty string */
	bool solid;         /* the current alternative cannot match the empty string */
	bool solid_before;  /* solid before the last item */
	bool nullable_alt;  /* an earlier alternative can match the empty string */
	bool have_last;     /* false at the start and after '|': nothing to repeat */
	bool last_quant;    /* the last item ends with a quantifier */
};

static unsigned long sel_sat(unsigned long v)
{
	return v > SEL_CAP ? SEL_CAP : v;
}

static void sel_item(struct sel_frame *f, unsigned long cost, unsigned nest, bool anchor,
                     bool nullable)
{
	f->solid_before = f->solid;
	f->solid = f->solid || !nullable;
	f->last_nullable = nullable;
	f->last = sel_sat(cost);
	f->last_nest = nest;
	f->last_anchor = anchor;
	f->anchor = f->anchor || anchor;
	f->sum = sel_sat(f->sum + f->last);
	f->have_last = true;
	f->last_quant = false;
	if (nest > f->nest)
		f->nest = nest;
}

/* Index after the bracket expression that opens at re[i] (the whole rest if unterminated). */
static size_t sel_bracket_end(const char *re, size_t i, size_t len)
{
	i++;
	if (i < len && re[i] == '^')
		i++;
	if (i < len && re[i] == ']')
		i++; /* a leading ']' is a member */
	while (i < len && re[i] != ']') {
		if (re[i] == '[' && i + 1 < len &&
		    (re[i + 1] == ':' || re[i + 1] == '=' || re[i + 1] == '.')) {
			char close = re[i + 1];

			/* [:class:], [=equiv=], [.coll.] end at the matching "X]" */
			for (i += 2; i + 1 < len && !(re[i] == close && re[i + 1] == ']'); i++)
				;
			i = i + 1 < len ? i + 2 : len;
			continue;
		}
		i++;
	}
	return i < len ? i + 1 : len;
}

/*
 * An interval at re[i] ('{'): {m}, {m,}, {m,n} or {,n} (glibc reads {,n} as
 * {0,n}). False if it is none of them (regcomp will say why). Numbers
 * saturate, so 99999999999 is merely large. *copies is how many times glibc
 * copies the item: n, or m + 1 for {m,} (m copies and a star).
 */
static bool sel_interval(const char *re, size_t i, size_t len, size_t *end, unsigned long *min,
                         unsigned long *max, unsigned long *copies)
{
	unsigned long m = 0, n = 0;
	bool have_m = false, have_n = false, comma = false;

	for (i++; i < len && re[i] >= '0' && re[i] <= '9'; i++) {
		m = m > 100000 ? m : m * 10 + (unsigned long)(re[i] - '0');
		have_m = true;
	}
	if (i < len && re[i] == ',') {
		comma = true;
		for (i++; i < len && re[i] >= '0' && re[i] <= '9'; i++) {
			n = n > 100000 ? n : n * 10 + (unsigned long)(re[i] - '0');
			have_n = true;
		}
	}
	if (i >= len || re[i] != '}' || (!have_m && !have_n))
		return false;
	if (!comma)
		n = m;
	*min = m;
	*max = m > n ? m : n;
	*copies = comma && !have_n ? m + 1 : *max;
	*end = i + 1;
	return true;
}

static int sel_refuse(char *why, size_t whylen, const char *what, size_t off)
{
	snprintf(why, whylen, "%s at offset %zu", what, off);
	return WD_EINVAL;
}

/* 0 if re is within the WIT_SELECTOR_* bounds, else WD_EINVAL with the reason in why. */
static int sel_check(const char *re, char *why, size_t whylen)
{
	struct sel_frame st[WIT_SELECTOR_MAX_GROUPS + 1];
	size_t len = strlen(re), depth = 0, i = 0;
	unsigned quants = 0, anchors = 0;

	if (len > WIT_SELECTOR_MAX_LEN) {
		snprintf(why, whylen, "%zu bytes, at most %u", len, WIT_SELECTOR_MAX_LEN);
		return WD_EINVAL;
	}
	memset(&st[0], 0, sizeof(st[0]));
	while (i < len) {
		struct sel_frame *f = &st[depth];
		size_t next = i + 1;
		unsigned long min = re[i] == '+', max = re[i] == '?' ? 1 : 2;
		unsigned long copies = re[i] == '+' ? 2 : 1, total = 0;
		char c = re[i];
		bool quant = c == '*' || c == '+' || c == '?' ||
		             (c == '{' && sel_interval(re, i, len, &next, &min, &max, &copies));

		if (quant && f->have_last) {
			if (f->last_quant)
				return sel_refuse(why, whylen, "a quantifier follows another", i);
			/* ($)*{28} took glibc 199 s: anchors stay out of repeated items */
			if (f->last_anchor)
				return sel_refuse(why, whylen, "repeated item with an anchor", i);
			/*
			 * (a?|b?){,18}(.?)+ took glibc 0.65 s, each more copy twice
			 * as long: its closures follow every way to match nothing.
			 */
			if (f->last_nullable && max > 1)
				return sel_refuse(why, whylen,
				                  "repeated item that can match the empty string",
				                  i);
			if (++quants > WIT_SELECTOR_MAX_QUANTIFIERS) {
				snprintf(why, whylen, "more than %u quantifiers (* + ? {m,n})",
				         WIT_SELECTOR_MAX_QUANTIFIERS);
				return WD_EINVAL;
			}
			if (max > WIT_SELECTOR_MAX_REPEAT) {
				snprintf(why, whylen,
				         "repetition count %lu at offset %zu, at most %u", max, i,
				         WIT_SELECTOR_MAX_REPEAT);
				return WD_EINVAL;
			}
			if (f->last_nest + 1 > WIT_SELECTOR_MAX_NESTING) {
				snprintf(why, whylen,
				         "quantifiers nested more than %u deep at offset %zu",
				         WIT_SELECTOR_MAX_NESTING, i);
				return WD_EINVAL;
			}
			f->sum -= f->last;
			f->solid = f->solid_before;
			sel_item(f, (copies > 0 ? copies : 1) * f->last + 1, f->last_nest + 1,
			         false, min == 0 || f->last_nullable);
			f->last_quant = true;
		} else if (c == '(') {
			if (depth == WIT_SELECTOR_MAX_GROUPS) {
				snprintf(why, whylen,
				         "groups nested more than %u deep at offset %zu",
				         WIT_SELECTOR_MAX_GROUPS, i);
				return WD_EINVAL;
			}
			memset(&st[++depth], 0, sizeof(st[0]));
		} else if (c == ')' && depth > 0) {
			struct sel_frame *in = &st[depth--];

			sel_item(&st[depth], in->sum + 1, in->nest, in->anchor,
			         in->nullable_alt || !in->solid);
		} else if (c == '|') {
			f->nullable_alt = f->nullable_alt || !f->solid;
			f->solid = false;
			f->sum = sel_sat(f->sum + 1);
			f->have_last = false;
			f->last_quant = false;
		} else if (c == '\\' && i + 1 < len && re[i + 1] >= '1' && re[i + 1] <= '9') {
			/* glibc matches back-references by backtracking: no time bound */
			return sel_refuse(why, whylen, "back-reference", i);
		} else if (c == '\\' && i + 1 < len && strchr("bB<>`'", re[i + 1]) != NULL) {
			/* GNU anchors: not POSIX, and as costly as ^ $ (below) */
			return sel_refuse(why, whylen, "GNU anchor (\\b \\B \\< \\> \\` \\')", i);
		} else {
			/* a character, '\\x', '.', '^', '$', a bracket expression, a stray ')' */
			if (c == '\\')
				next = i + 2 <= len ? i + 2 : len;
			else if (c == '[')
				next = sel_bracket_end(re, i, len);
			else if ((c == '^' || c == '$') && ++anchors > WIT_SELECTOR_MAX_ANCHORS) {
				snprintf(why, whylen, "more than %u anchors (^ $)",
				         WIT_SELECTOR_MAX_ANCHORS);
				return WD_EINVAL;
			}
			sel_item(f, 1, 0, c == '^' || c == '$', c == '^' || c == '$');
		}
		for (size_t d = 0; d <= depth; d++)
			total += st[d].sum;
		/*
		 * An anchor is a constraint for every path of empty matches that
		 * crosses it; glibc's closure computation then grows steeply with
		 * optional items: ^(.?){1,255}$ takes 1.4 s and 100 MB,
		 * \b(.?){1,120}\b(.?){1,120}\b 9.8 s and 1.9 GB (found by fuzz_ctl).
		 */
		if (total > (anchors > 0 ? WIT_SELECTOR_MAX_EXPANSION_ANCHORED
		                         : WIT_SELECTOR_MAX_EXPANSION)) {
			snprintf(why, whylen,
			         "expands to more than %u items in regcomp() (repetitions "
			         "multiply%s)",
			         anchors > 0 ? WIT_SELECTOR_MAX_EXPANSION_ANCHORED
			                     : WIT_SELECTOR_MAX_EXPANSION,
			         anchors > 0 ? "; the limit with an anchor" : "");
			return WD_EINVAL;
		}
		i = next;
	}
	return 0;
}

/* ---- filters (net witness, Samba source3/utils/net_witness.c) ---- */

int wit_filter_compile(const struct wit_filter *f, struct wit_filter_c *out, char *err,
                       size_t errlen)
{
	const char *src[4] = {f->net_name, f->share_name, f->ip_address, f->client_computer_name};
	static const char *const names[4] = {"--witness-net-name", "--witness-share-name",
	                                     "--witness-ip-address",
	                                     "--witness-client-computer-name"};

	memset(out, 0, sizeof(*out));
	out->uuid = f->registration_uuid;
	out->any = f->registration_uuid != NULL;
	for (int i = 0; i < 4; i++) {
		char why[128];
		int rc;

		if (src[i] == NULL)
			continue;
		rc = sel_check(src[i], why, sizeof(why));
		if (rc != 0) {
			if (err != NULL)
				snprintf(err, errlen, "selector too %s: %s: %s",
				         strlen(src[i]) > WIT_SELECTOR_MAX_LEN ? "long" : "complex",
				         names[i], why);
			wit_filter_free(out);
			return rc;
		}
		/* Like net witness: extended, case-insensitive, unanchored. */
		rc = regcomp(&out->re[i], src[i], REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			char buf[128];

			regerror(rc, &out->re[i], buf, sizeof(buf));
			if (err != NULL)
				snprintf(err, errlen, "regcomp(%s) failed for %s: %d: %s", src[i],
				         names[i], rc, buf);
			wit_filter_free(out);
			return WD_EINVAL;
		}
		out->valid[i] = true;
		out->any = true;
	}
	return 0;
}

void wit_filter_free(struct wit_filter_c *fc)
{
	for (int i = 0; i < 4; i++) {
		if (fc->valid[i])
			regfree(&fc->re[i]);
		fc->valid[i] = false;
	}
}

bool wit_filter_match(const struct wit_filter_c *fc, const char *uuid, const char *net_name,
                      const char *share, const char *ip, const char *client)
{
	const char *v[4] = {net_name, share, ip, client};

	/* --witness-registration is a direct key lookup (exact UUID). */
	if (fc->uuid != NULL && strcasecmp(fc->uuid, uuid) != 0)
		return false;
	for (int i = 0; i < 4; i++) {
		if (!fc->valid[i])
			continue;
		if (regexec(&fc->re[i], v[i] != NULL ? v[i] : "", 0, NULL, 0) != 0)
			return false;
	}
	return true;
}

void wit_format_time(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char a[32], z[8];

	localtime_r(&t, &tm);
	strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(z, sizeof(z), "%z", &tm);
	snprintf(buf, len, "%s.%06ld%s", a, (long)(us % 1000000), z);
}

/* ---- forced response JSON (net witness force-response, source3/utils/net_witness.c) ---- */

static int bad(char *err, size_t errlen, const char *msg)
{
	if (err != NULL)
		snprintf(err, errlen, "forced response: %s", msg);
	return WD_EINVAL;
}

/* Duplicate keys are rejected like Samba's jansson JSON_REJECT_DUPLICATES. */
static bool has_dup_keys(const cJSON *o)
{
	if (!cJSON_IsObject(o) && !cJSON_IsArray(o))
		return false;
	for (const cJSON *a = o->child; a != NULL; a = a->next) {
		if (cJSON_IsObject(o)) {
			for (const cJSON *b = a->next; b != NULL; b = b->next) {
				if (a->string && b->string && strcmp(a->string, b->string) == 0)
					return true;
			}
		}
		if (has_dup_keys(a))
			return true;
	}
	return false;
}

static bool json_u32(const cJSON *n, uint32_t *out)
{
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 4294967295.0 ||
	    n->valuedouble != (double)(uint64_t)n->valuedouble)
		return false;
	*out = (uint32_t)n->valuedouble;
	return true;
}

static int parse_ipaddr(const cJSON *o, struct witness_ipaddr_info *a, char *err, size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "flags");
	const cJSON *v4 = cJSON_GetObjectItemCaseSensitive(o, "ipv4");
	const cJSON *v6 = cJSON_GetObjectItemCaseSensitive(o, "ipv6");

	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(o) || !json_u32(f, &a->flags))
		return bad(err, errlen, "address needs an integer \"flags\"");
	if (v4 != NULL &&
	    (!cJSON_IsString(v4) || inet_pton(AF_INET, v4->valuestring, a->ipv4) != 1))
		return bad(err, errlen, "bad \"ipv4\"");
	if (v6 != NULL &&
	    (!cJSON_IsString(v6) || inet_pton(AF_INET6, v6->valuestring, a->ipv6) != 1))
		return bad(err, errlen, "bad \"ipv6\"");
	return 0;
}

/*
 * witness_msg_add_ipaddr_list builds the one list of a generated move
 * ([MS-SWN] 3.1.4.4: NumberOfMessages MUST be 1); a forced response may carry
 * several lists like net witness allows, appended here.
 */
static int add_list(struct witness_notify_response *resp, const struct witness_ipaddr_info *a,
                    uint32_t n)
{
	struct witness_notify_response tmp;
	uint8_t *nb;
	int rc;

	if (resp->num == 0)
		return witness_msg_add_ipaddr_list(resp, a, n);
	memset(&tmp, 0, sizeof(tmp));
	tmp.type = resp->type;
	rc = witness_msg_add_ipaddr_list(&tmp, a, n);
	if (rc != 0)
		return rc;
	nb = realloc(resp->buffer, (size_t)resp->length + tmp.length);
	if (nb == NULL) {
		witness_notify_response_free(&tmp);
		return WD_ENOMEM;
	}
	memcpy(nb + resp->length, tmp.buffer, tmp.length);
	resp->buffer = nb;
	resp->length += tmp.length;
	resp->num++;
	witness_notify_response_free(&tmp);
	return 0;
}

int wit_forced_response_parse(const cJSON *j, struct witness_notify_response *resp, bool *has_resp,
                              uint32_t *result, char *err, size_t errlen)
{
	const cJSON *r, *res, *type, *msgs, *m;
	uint32_t t;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	*has_resp = false;
	*result = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (j == NULL)
		return 0; /* no JSON: an empty (NULL) response with WERR_OK */
	if (!cJSON_IsObject(j))
		return bad(err, errlen, "not an object");
	if (has_dup_keys(j))
		return bad(err, errlen, "duplicate keys");
	r = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (r != NULL && !json_u32(r, result))
		return bad(err, errlen, "\"result\" must be a uint32");
	res = cJSON_GetObjectItemCaseSensitive(j, "response");
	if (res == NULL || cJSON_IsNull(res))
		return 0;
	if (!cJSON_IsObject(res))
		return bad(err, errlen, "\"response\" must be an object");
	type = cJSON_GetObjectItemCaseSensitive(res, "type");
	if (!json_u32(type, &t) || t < 1 || t > 4)
		return bad(err, errlen, "\"response.type\" must be 1..4");
	resp->type = t;
	msgs = cJSON_GetObjectItemCaseSensitive(res, "messages");
	if (msgs != NULL && !cJSON_IsArray(msgs))
		return bad(err, errlen, "\"messages\" must be an array");
	cJSON_ArrayForEach(m, msgs)
	{
		if (t == WITNESS_NOTIFY_RESOURCE_CHANGE) {
			const cJSON *ct = cJSON_GetObjectItemCaseSensitive(m, "type");
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
			uint32_t ctv;

			if (!cJSON_IsObject(m) || !json_u32(ct, &ctv) || !cJSON_IsString(nm)) {
				rc =
				    bad(err, errlen, "resource change needs \"type\" and \"name\"");
				goto fail;
			}
			rc = witness_msg_add_resource_change(resp, ctv, nm->valuestring);
		} else {
			struct witness_ipaddr_info *addrs;
			int n = cJSON_GetArraySize(m), i = 0;
			const cJSON *a;

			if (!cJSON_IsArray(m) || n > 1024) {
				rc = bad(err, errlen, "move messages are arrays of addresses");
				goto fail;
			}
			addrs = calloc(n > 0 ? (size_t)n : 1, sizeof(*addrs));
			if (addrs == NULL) {
				rc = WD_ENOMEM;
				goto fail;
			}
			cJSON_ArrayForEach(a, m)
			{
				rc = parse_ipaddr(a, &addrs[i++], err, errlen);
				if (rc != 0)
					break;
			}
			if (rc == 0)
				rc = add_list(resp, addrs, (uint32_t)n);
			free(addrs);
		}
		if (rc != 0)
			goto fail;
	}
	*has_resp = true;
	return 0;
fail:
	/* The message builders refuse without a text (found by fuzz_forced_response). */
	if (err != NULL && errlen > 0 && err[0] == '\0')
		bad(err, errlen,
		    rc == WD_EINVAL ? "a name is not valid UTF-8 or is too long" : wd_strerror(rc));
	witness_notify_response_free(resp);
	memset(resp, 0, sizeof(*resp));
	return rc;
}
