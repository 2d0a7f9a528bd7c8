/*
 * ndr_witness.c - NDR and NDR64 of the MS-SWN interface (idl/witness.idl), requests
 * and responses of opnums 0-5, and the little-endian message buffers of
 * AsyncNotify ([MS-SWN] 2.2.2). Byte-exact with Samba's librpc (the test
 * oracle, tests/vectors/gen_witness_vectors.py) and with the Windows Server
 * 2012 captures of samba source4/torture/ndr/witness.c.
 *
 * Pull functions consume their structure and leave the cursor after it;
 * trailing bytes are not an error here, because a request stub may be
 * followed by a verification trailer ([MS-RPCE] 2.2.2.13) that the DCERPC
 * layer handles. Outputs are set only on success.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr_witness.h"

#define WITNESS_INFO_WIRE_SIZE   552 /* [MS-SWN] 2.2.2.5, Samba witness.idl */
#define WITNESS_GROUP_NAME_BYTES (WITNESS_GROUP_NAME_CHARS * 2)
#define RESOURCE_CHANGE_HDR      8  /* Length + ChangeType */
#define IPADDR_LIST_HDR          12 /* Length + Reserved + IPAddrInstances */
#define IPADDR_INFO_SIZE         24

static int push_result(struct ndr_push *p, uint32_t result)
{
	ndr_push_align(p, 4);
	ndr_push_u32(p, result);
	return ndr_push_finish(p);
}

static void pull_result(struct ndr_pull *p, uint32_t *result)
{
	ndr_pull_align(p, 4);
	ndr_pull_u32(p, result);
}

/* Records err unless an earlier error is already sticky. */
static void push_fail(struct ndr_push *p, int err)
{
	if (p->err == 0)
		p->err = err;
}

static void pull_fail(struct ndr_pull *p, int err)
{
	if (p->err == 0)
		p->err = err;
}

/* ------------------------------------------- opnum 0 GetInterfaceList */

/*
 * WITNESS_INTERFACE_INFO ([MS-SWN] 2.2.2.5): 552 bytes, WCHAR[260] name
 * zero-filled, State USHORT followed by 2 bytes of alignment, IPV4/IPV6 raw
 * in network order (Samba: [flag(NDR_BIG_ENDIAN)] ipv4address).
 */
static void push_interface_info(struct ndr_push *p, const struct witness_interface_info *ii)
{
	uint8_t name[WITNESS_GROUP_NAME_BYTES];
	uint8_t *u16 = NULL;
	size_t units = 0;
	int rc;

	if (p->err != 0)
		return;
	if (memchr(ii->group_name, '\0', sizeof(ii->group_name)) == NULL) {
		push_fail(p, WD_EINVAL);
		return;
	}
	rc = wd_utf8_to_utf16le(ii->group_name, &u16, &units);
	if (rc != 0) {
		push_fail(p, rc);
		return;
	}
	if (units >= WITNESS_GROUP_NAME_CHARS) { /* room for the NUL */
		free(u16);
		push_fail(p, WD_ERANGE);
		return;
	}
	memset(name, 0, sizeof(name));
	memcpy(name, u16, units * 2);
	free(u16);

	ndr_push_align(p, 4);
	ndr_push_bytes(p, name, sizeof(name));
	ndr_push_u32(p, ii->version);
	ndr_push_u16(p, ii->state);
	ndr_push_align(p, 4);
	ndr_push_bytes(p, ii->ipv4, 4);
	ndr_push_bytes(p, ii->ipv6, 16);
	ndr_push_u32(p, ii->flags);
}

static void pull_interface_info(struct ndr_pull *p, struct witness_interface_info *ii)
{
	const uint8_t *name;
	size_t units;
	char *s = NULL;

	ndr_pull_align(p, 4);
	name = ndr_pull_borrow(p, WITNESS_GROUP_NAME_BYTES);
	if (name == NULL)
		return;
	/* The name ends at its first NUL; bytes after it are ignored. */
	for (units = 0; units < WITNESS_GROUP_NAME_CHARS; units++)
		if (name[2 * units] == 0 && name[2 * units + 1] == 0)
			break;
	if (units == WITNESS_GROUP_NAME_CHARS) {
		pull_fail(p, WD_EPROTO); /* not NUL-terminated */
		return;
	}
	if (wd_utf16le_to_utf8(name, units, &s) != 0) {
		pull_fail(p, WD_EPROTO);
		return;
	}
	/* 259 units are at most 777 UTF-8 bytes: always fits. */
	memset(ii->group_name, 0, sizeof(ii->group_name));
	memcpy(ii->group_name, s, strlen(s));
	free(s);
	ndr_pull_u32(p, &ii->version);
	ndr_pull_u16(p, &ii->state);
	ndr_pull_align(p, 4);
	ndr_pull_bytes(p, ii->ipv4, 4);
	ndr_pull_bytes(p, ii->ipv6, 16);
	ndr_pull_u32(p, &ii->flags);
}

int ndr_witness_get_interface_list_out_push(struct ndr_push *p,
                                            const struct witness_interface_list *list,
                                            uint32_t result)
{
	/* [out] PWITNESS_INTERFACE_LIST *InterfaceList: a unique pointer */
	ndr_push_ptr(p, list);
	if (list != NULL) {
		if (list->interfaces == NULL && list->num != 0) {
			push_fail(p, WD_EINVAL);
			return ndr_push_finish(p);
		}
		if (list->num > NDR_MAX_ARRAY) {
			push_fail(p, WD_ERANGE);
			return ndr_push_finish(p);
		}
		/* WITNESS_INTERFACE_LIST holds a pointer: aligned to 8 in NDR64 */
		ndr_push_align_ptr(p);
		ndr_push_u32(p, list->num);
		ndr_push_ptr(p, list->interfaces);
		ndr_push_trailer_align(p, 8);
		if (list->interfaces != NULL) {
			ndr_push_u3264(p, list->num); /* max_count of [size_is] */
			for (uint32_t i = 0; i < list->num && p->err == 0; i++)
				push_interface_info(p, &list->interfaces[i]);
		}
	}
	return push_result(p, result);
}

int ndr_witness_get_interface_list_out_pull(struct ndr_pull *p, struct witness_interface_list *list,
                                            bool *list_present, uint32_t *result)
{
	struct witness_interface_list l = {0, NULL};
	bool present = false, arr_present = false;
	uint32_t res = 0;

	ndr_pull_ptr(p, &present);
	if (present) {
		ndr_pull_align_ptr(p);
		ndr_pull_u32(p, &l.num);
		ndr_pull_ptr(p, &arr_present);
		ndr_pull_trailer_align(p, 8);
		if (p->err == 0 && !arr_present && l.num != 0)
			pull_fail(p, WD_EPROTO);
		if (p->err == 0 && arr_present) {
			uint32_t max = 0;
			ndr_pull_u3264(p, &max);
			if (p->err == 0 && max != l.num)
				pull_fail(p, WD_EPROTO); /* size_is(NumberOfInterfaces) */
			/* bounded before allocating */
			if (p->err == 0 && l.num > NDR_MAX_ARRAY)
				pull_fail(p, WD_ERANGE);
			if (p->err == 0 &&
			    (size_t)l.num * WITNESS_INFO_WIRE_SIZE > ndr_pull_remaining(p))
				pull_fail(p, WD_ESHORT);
			if (p->err == 0) {
				/* an empty but present array stays non-NULL */
				l.interfaces = calloc(l.num ? l.num : 1, sizeof(*l.interfaces));
				if (l.interfaces == NULL)
					pull_fail(p, WD_ENOMEM);
			}
			for (uint32_t i = 0; i < l.num && p->err == 0; i++)
				pull_interface_info(p, &l.interfaces[i]);
		}
	}
	pull_result(p, &res);
	if (p->err != 0) {
		free(l.interfaces);
		return p->err;
	}
	*list = l;
	*list_present = present;
	*result = res;
	return 0;
}

void witness_interface_list_free(struct witness_interface_list *list)
{
	if (list == NULL)
		return;
	free(list->interfaces);
	list->interfaces = NULL;
	list->num = 0;
}

/* ------------------------------------------ opnum 1 / 4 Register(Ex) */

/* [in, string, unique] LPWSTR: a unique pointer, then the string. */
static void push_unique_wstring(struct ndr_push *p, const char *s)
{
	ndr_push_ptr(p, s);
	if (s != NULL)
		ndr_push_wstring(p, s);
}

static void pull_unique_wstring(struct ndr_pull *p, char **s)
{
	bool present = false;
	ndr_pull_ptr(p, &present);
	if (p->err == 0 && present)
		ndr_pull_wstring(p, s);
}

void witness_register_in_free(struct witness_register_in *r)
{
	if (r == NULL)
		return;
	free(r->net_name);
	free(r->share_name);
	free(r->ip_address);
	free(r->client_computer_name);
	memset(r, 0, sizeof(*r));
}

static int register_push(struct ndr_push *p, const struct witness_register_in *r, bool ex)
{
	ndr_push_align(p, 4);
	ndr_push_u32(p, r->version);
	push_unique_wstring(p, r->net_name);
	if (ex)
		push_unique_wstring(p, r->share_name);
	push_unique_wstring(p, r->ip_address);
	push_unique_wstring(p, r->client_computer_name);
	if (ex) {
		ndr_push_align(p, 4);
		ndr_push_u32(p, r->flags);
		ndr_push_u32(p, r->timeout);
	}
	return ndr_push_finish(p);
}

static int register_pull(struct ndr_pull *p, struct witness_register_in *r, bool ex)
{
	struct witness_register_in t;

	memset(&t, 0, sizeof(t));
	ndr_pull_align(p, 4);
	ndr_pull_u32(p, &t.version);
	pull_unique_wstring(p, &t.net_name);
	if (ex)
		pull_unique_wstring(p, &t.share_name);
	pull_unique_wstring(p, &t.ip_address);
	pull_unique_wstring(p, &t.client_computer_name);
	if (ex) {
		ndr_pull_align(p, 4);
		ndr_pull_u32(p, &t.flags);
		ndr_pull_u32(p, &t.timeout);
	}
	if (p->err != 0) {
		witness_register_in_free(&t);
		return p->err;
	}
	*r = t;
	return 0;
}

int ndr_witness_register_in_push(struct ndr_push *p, const struct witness_register_in *r)
{
	return register_push(p, r, false);
}

int ndr_witness_register_in_pull(struct ndr_pull *p, struct witness_register_in *r)
{
	return register_pull(p, r, false);
}

int ndr_witness_register_ex_in_push(struct ndr_push *p, const struct witness_register_in *r)
{
	return register_push(p, r, true);
}

int ndr_witness_register_ex_in_pull(struct ndr_pull *p, struct witness_register_in *r)
{
	return register_pull(p, r, true);
}

/* ------------------------------------------------- context handles */

/*
 * A context handle is 20 bytes: handle_type + GUID ([MS-RPCE] 2.2.4.2). The
 * [out] PPCONTEXT_HANDLE of Register/RegisterEx and the [in,out] one of
 * UnRegisterEx are top-level [ref] pointers, which NDR does not marshal.
 */
int ndr_witness_handle_out_push(struct ndr_push *p, const struct ndr_policy_handle *h,
                                uint32_t result)
{
	ndr_push_policy_handle(p, h);
	return push_result(p, result);
}

int ndr_witness_handle_out_pull(struct ndr_pull *p, struct ndr_policy_handle *h, uint32_t *result)
{
	struct ndr_policy_handle t;
	uint32_t res = 0;

	memset(&t, 0, sizeof(t));
	ndr_pull_policy_handle(p, &t);
	pull_result(p, &res);
	if (p->err != 0)
		return p->err;
	*h = t;
	*result = res;
	return 0;
}

int ndr_witness_handle_in_push(struct ndr_push *p, const struct ndr_policy_handle *h)
{
	ndr_push_policy_handle(p, h);
	return ndr_push_finish(p);
}

int ndr_witness_handle_in_pull(struct ndr_pull *p, struct ndr_policy_handle *h)
{
	struct ndr_policy_handle t;

	memset(&t, 0, sizeof(t));
	ndr_pull_policy_handle(p, &t);
	if (p->err != 0)
		return p->err;
	*h = t;
	return 0;
}

int ndr_witness_result_out_push(struct ndr_push *p, uint32_t result)
{
	return push_result(p, result);
}

int ndr_witness_result_out_pull(struct ndr_pull *p, uint32_t *result)
{
	uint32_t res = 0;
	pull_result(p, &res);
	if (p->err != 0)
		return p->err;
	*result = res;
	return 0;
}

/* ------------------------------------------------ opnum 3 AsyncNotify */

void witness_notify_response_free(struct witness_notify_response *r)
{
	if (r == NULL)
		return;
	free(r->buffer);
	memset(r, 0, sizeof(*r));
}

/*
 * RESP_ASYNC_NOTIFY ([MS-SWN] 2.2.2.4): MessageType, Length, NumberOfMessages,
 * [size_is(Length), unique] PBYTE MessageBuffer. The buffer follows its
 * pointer directly (it is the struct's only deferred referent), then the
 * WERROR aligns to 4. Matches Samba's hand-written
 * ndr_push_witness_notifyResponse (librpc/ndr/ndr_witness.c) and the WS2012
 * capture. A NULL buffer is pushed as a NULL pointer with Length as given.
 *
 * NDR64: the pointer and max_count widen to 8 bytes, the structure aligns to
 * 8. Length stays the size of MessageBuffer as [MS-SWN] 2.2.2.4 defines it;
 * Samba's push computes it as ndr_size_witness_notifyResponse() - 20, which
 * under NDR64 also counts the wider header and pads the buffer with zeros
 * (14 message bytes go out as Length 28). Samba's pull accepts either, since
 * it checks max_count against Length only.
 */
int ndr_witness_async_notify_out_push(struct ndr_push *p,
                                      const struct witness_notify_response *resp, uint32_t result)
{
	ndr_push_ptr(p, resp);
	if (resp != NULL) {
		if (resp->buffer != NULL && resp->length > NDR_MAX_ARRAY) {
			push_fail(p, WD_ERANGE);
			return ndr_push_finish(p);
		}
		ndr_push_align_ptr(p);
		ndr_push_u32(p, resp->type);
		ndr_push_u32(p, resp->length);
		ndr_push_u32(p, resp->num);
		ndr_push_ptr(p, resp->buffer);
		if (resp->buffer != NULL) {
			ndr_push_u3264(p, resp->length); /* max_count */
			ndr_push_bytes(p, resp->buffer, resp->length);
		}
	}
	return push_result(p, result);
}

int ndr_witness_async_notify_out_pull(struct ndr_pull *p, struct witness_notify_response *resp,
                                      bool *resp_present, uint32_t *result)
{
	struct witness_notify_response t;
	bool present = false, buf_present = false;
	uint32_t res = 0;

	memset(&t, 0, sizeof(t));
	ndr_pull_ptr(p, &present);
	if (present) {
		ndr_pull_align_ptr(p);
		ndr_pull_u32(p, &t.type);
		ndr_pull_u32(p, &t.length);
		ndr_pull_u32(p, &t.num);
		ndr_pull_ptr(p, &buf_present);
		if (p->err == 0 && buf_present) {
			uint32_t max = 0;
			ndr_pull_u3264(p, &max);
			if (p->err == 0 && max != t.length)
				pull_fail(p, WD_EPROTO); /* size_is(Length) */
			if (p->err == 0 && t.length > NDR_MAX_ARRAY)
				pull_fail(p, WD_ERANGE);
			const uint8_t *b = ndr_pull_borrow(p, t.length);
			if (b != NULL) {
				t.buffer = malloc(t.length ? t.length : 1);
				if (t.buffer == NULL)
					pull_fail(p, WD_ENOMEM);
				else if (t.length > 0)
					memcpy(t.buffer, b, t.length);
			}
		}
	}
	pull_result(p, &res);
	if (p->err != 0) {
		free(t.buffer);
		return p->err;
	}
	*resp = t;
	*resp_present = present;
	*result = res;
	return 0;
}

/* ----------------------------------------- message buffer contents */

static void put_le32(uint8_t *w, uint32_t v)
{
	w[0] = (uint8_t)v;
	w[1] = (uint8_t)(v >> 8);
	w[2] = (uint8_t)(v >> 16);
	w[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *r)
{
	return (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
}

/* Appends n bytes to resp->buffer; returns where to write them or NULL. */
static uint8_t *msg_append(struct witness_notify_response *resp, size_t n, int *err)
{
	if (n > NDR_MAX_ARRAY || resp->length > NDR_MAX_ARRAY - n) {
		*err = WD_ELIMIT;
		return NULL;
	}
	uint8_t *nb = realloc(resp->buffer, resp->length + n);
	if (nb == NULL) {
		*err = WD_ENOMEM;
		return NULL;
	}
	resp->buffer = nb;
	uint8_t *w = nb + resp->length;
	resp->length += (uint32_t)n;
	return w;
}

/*
 * RESOURCE_CHANGE ([MS-SWN] 2.2.2.1): Length (of this entry, header
 * included), ChangeType, NUL-terminated UTF-16LE ResourceName; entries are
 * concatenated without padding and "multiple-byte fields MUST be transmitted
 * in little-endian order" ([MS-SWN] 2.2.2).
 */
int witness_msg_add_resource_change(struct witness_notify_response *resp, uint32_t change_type,
                                    const char *name)
{
	uint8_t *u16 = NULL, *w;
	size_t units = 0;
	int rc;

	if (resp == NULL || name == NULL)
		return WD_EINVAL;
	if (resp->type == 0)
		resp->type = WITNESS_NOTIFY_RESOURCE_CHANGE;
	if (resp->type != WITNESS_NOTIFY_RESOURCE_CHANGE || resp->num == UINT32_MAX)
		return WD_EINVAL;
	rc = wd_utf8_to_utf16le(name, &u16, &units);
	if (rc != 0)
		return rc;
	if (units + 1 > NDR_MAX_STRING) {
		free(u16);
		return WD_ERANGE;
	}
	size_t entry = RESOURCE_CHANGE_HDR + 2 * (units + 1);
	w = msg_append(resp, entry, &rc);
	if (w == NULL) {
		free(u16);
		return rc;
	}
	put_le32(w, (uint32_t)entry);
	put_le32(w + 4, change_type);
	memcpy(w + 8, u16, units * 2);
	w[8 + units * 2] = 0;
	w[9 + units * 2] = 0;
	free(u16);
	resp->num++;
	return 0;
}

/*
 * IPADDR_INFO_LIST ([MS-SWN] 2.2.2.2-3): Length (whole list), Reserved = 0,
 * IPAddrInstances, then IPADDR_INFO {Flags, IPV4, IPV6[8]} with addresses
 * in network byte order. CLIENT_MOVE, SHARE_MOVE and IP_CHANGE carry exactly
 * one list ("NumberOfMessages MUST be 1", [MS-SWN] 3.1.4.4); the caller sets
 * resp->type first.
 */
int witness_msg_add_ipaddr_list(struct witness_notify_response *resp,
                                const struct witness_ipaddr_info *addrs, uint32_t n)
{
	uint8_t *w;
	int rc = 0;

	if (resp == NULL || (addrs == NULL && n > 0))
		return WD_EINVAL;
	if (resp->type != WITNESS_NOTIFY_CLIENT_MOVE && resp->type != WITNESS_NOTIFY_SHARE_MOVE &&
	    resp->type != WITNESS_NOTIFY_IP_CHANGE)
		return WD_EINVAL;
	if (resp->num != 0)
		return WD_EEXIST;
	if (n > (NDR_MAX_ARRAY - IPADDR_LIST_HDR) / IPADDR_INFO_SIZE)
		return WD_ELIMIT;
	size_t total = IPADDR_LIST_HDR + (size_t)n * IPADDR_INFO_SIZE;
	w = msg_append(resp, total, &rc);
	if (w == NULL)
		return rc;
	put_le32(w, (uint32_t)total);
	put_le32(w + 4, 0);
	put_le32(w + 8, n);
	w += IPADDR_LIST_HDR;
	for (uint32_t i = 0; i < n; i++, w += IPADDR_INFO_SIZE) {
		put_le32(w, addrs[i].flags);
		memcpy(w + 4, addrs[i].ipv4, 4);
		memcpy(w + 8, addrs[i].ipv6, 16);
	}
	resp->num = 1;
	return 0;
}

void witness_resource_changes_free(struct witness_resource_change *changes, uint32_t n)
{
	if (changes == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		free(changes[i].name);
	free(changes);
}

/*
 * Walks NumberOfMessages entries stepping by each entry's Length, as the MS
 * test suite's client does (SwnUtility.ParseResourceChange). The name ends
 * at the first NUL inside the entry. The entries must cover the buffer.
 */
int witness_msg_parse_resource_changes(const struct witness_notify_response *resp,
                                       struct witness_resource_change **out, uint32_t *n)
{
	struct witness_resource_change *v;
	size_t off = 0;
	uint32_t i;

	if (resp == NULL || out == NULL || n == NULL)
		return WD_EINVAL;
	if (resp->type != WITNESS_NOTIFY_RESOURCE_CHANGE)
		return WD_EINVAL;
	if (resp->buffer == NULL && resp->length != 0)
		return WD_EINVAL;
	/* bounded before allocating: every entry takes at least 10 bytes */
	if (resp->num > resp->length / (RESOURCE_CHANGE_HDR + 2))
		return WD_EPROTO;
	v = calloc(resp->num ? resp->num : 1, sizeof(*v));
	if (v == NULL)
		return WD_ENOMEM;
	for (i = 0; i < resp->num; i++) {
		const uint8_t *e = resp->buffer + off;
		size_t left = resp->length - off;
		if (left < RESOURCE_CHANGE_HDR + 2)
			goto proto;
		uint32_t elen = get_le32(e);
		if (elen < RESOURCE_CHANGE_HDR + 2 || elen > left)
			goto proto;
		size_t units = 0, max = (elen - RESOURCE_CHANGE_HDR) / 2;
		while (units < max && (e[8 + 2 * units] | e[9 + 2 * units]) != 0)
			units++;
		if (units == max)
			goto proto; /* no NUL inside the entry */
		v[i].change_type = get_le32(e + 4);
		if (wd_utf16le_to_utf8(e + 8, units, &v[i].name) != 0)
			goto proto;
		off += elen;
	}
	if (off != resp->length)
		goto proto;
	*out = v;
	*n = resp->num;
	return 0;
proto:
	witness_resource_changes_free(v, i);
	return WD_EPROTO;
}

int witness_msg_parse_ipaddr_list(const struct witness_notify_response *resp,
                                  struct witness_ipaddr_info **out, uint32_t *n)
{
	if (resp == NULL || out == NULL || n == NULL)
		return WD_EINVAL;
	if (resp->type != WITNESS_NOTIFY_CLIENT_MOVE && resp->type != WITNESS_NOTIFY_SHARE_MOVE &&
	    resp->type != WITNESS_NOTIFY_IP_CHANGE)
		return WD_EINVAL;
	if (resp->num != 1 || resp->buffer == NULL || resp->length < IPADDR_LIST_HDR)
		return WD_EPROTO;
	uint32_t len = get_le32(resp->buffer);
	uint32_t count = get_le32(resp->buffer + 8);
	/* bounded before allocating; the list fills the buffer ([MSTS] checks
	 * IPADDR_INFO_LIST.Length == RESP_ASYNC_NOTIFY.Length) */
	if (len != resp->length || count > (len - IPADDR_LIST_HDR) / IPADDR_INFO_SIZE ||
	    IPADDR_LIST_HDR + (size_t)count * IPADDR_INFO_SIZE != len)
		return WD_EPROTO;
	struct witness_ipaddr_info *v = calloc(count ? count : 1, sizeof(*v));
	if (v == NULL)
		return WD_ENOMEM;
	const uint8_t *r = resp->buffer + IPADDR_LIST_HDR;
	for (uint32_t i = 0; i < count; i++, r += IPADDR_INFO_SIZE) {
		v[i].flags = get_le32(r);
		memcpy(v[i].ipv4, r + 4, 4);
		memcpy(v[i].ipv6, r + 8, 16);
	}
	*out = v;
	*n = count;
	return 0;
}

/* ------------------------------------------------------ stub kinds */

static const char *const stub_kind_names[WITNESS_STUB_NUM_KINDS] = {
    [WITNESS_STUB_REGISTER_IN] = "register_in",
    [WITNESS_STUB_REGISTER_EX_IN] = "register_ex_in",
    [WITNESS_STUB_HANDLE_IN] = "handle_in",
    [WITNESS_STUB_HANDLE_OUT] = "handle_out",
    [WITNESS_STUB_RESULT_OUT] = "result_out",
    [WITNESS_STUB_GET_INTERFACE_LIST_OUT] = "get_interface_list_out",
    [WITNESS_STUB_ASYNC_NOTIFY_OUT] = "async_notify_out",
};

const char *witness_stub_kind_name(int kind)
{
	if (kind < 0 || kind >= WITNESS_STUB_NUM_KINDS)
		return NULL;
	return stub_kind_names[kind];
}

int witness_stub_kind_from_name(const char *name)
{
	for (int k = 0; name != NULL && k < WITNESS_STUB_NUM_KINDS; k++)
		if (strcmp(stub_kind_names[k], name) == 0)
			return k;
	return -1;
}

int witness_stub_kind_for(int opnum, bool response)
{
	switch (opnum) {
	case WITNESS_OP_GET_INTERFACE_LIST:
		return response ? WITNESS_STUB_GET_INTERFACE_LIST_OUT : -1;
	case WITNESS_OP_REGISTER:
		return response ? WITNESS_STUB_HANDLE_OUT : WITNESS_STUB_REGISTER_IN;
	case WITNESS_OP_UNREGISTER:
		return response ? WITNESS_STUB_RESULT_OUT : WITNESS_STUB_HANDLE_IN;
	case WITNESS_OP_ASYNC_NOTIFY:
		return response ? WITNESS_STUB_ASYNC_NOTIFY_OUT : WITNESS_STUB_HANDLE_IN;
	case WITNESS_OP_REGISTER_EX:
		return response ? WITNESS_STUB_HANDLE_OUT : WITNESS_STUB_REGISTER_EX_IN;
	case WITNESS_OP_UNREGISTER_EX:
		return response ? WITNESS_STUB_HANDLE_OUT : WITNESS_STUB_HANDLE_IN;
	}
	return -1;
}

int ndr_witness_stub_repush(int kind, const uint8_t *in, size_t len, struct ndr_push *out,
                            size_t *consumed)
{
	return ndr_witness_stub_repush_flags(kind, in, len, 0, out, consumed);
}

int ndr_witness_stub_repush_flags(int kind, const uint8_t *in, size_t len, uint32_t flags,
                                  struct ndr_push *out, size_t *consumed)
{
	struct ndr_pull pull;
	int rc = WD_EINVAL;

	ndr_pull_init_flags(&pull, in, len, flags);
	switch (kind) {
	case WITNESS_STUB_REGISTER_IN:
	case WITNESS_STUB_REGISTER_EX_IN: {
		struct witness_register_in r;
		bool ex = kind == WITNESS_STUB_REGISTER_EX_IN;
		rc = ex ? ndr_witness_register_ex_in_pull(&pull, &r)
		        : ndr_witness_register_in_pull(&pull, &r);
		if (rc == 0) {
			rc = ex ? ndr_witness_register_ex_in_push(out, &r)
			        : ndr_witness_register_in_push(out, &r);
			witness_register_in_free(&r);
		}
		break;
	}
	case WITNESS_STUB_HANDLE_IN: {
		struct ndr_policy_handle h;
		rc = ndr_witness_handle_in_pull(&pull, &h);
		if (rc == 0)
			rc = ndr_witness_handle_in_push(out, &h);
		break;
	}
	case WITNESS_STUB_HANDLE_OUT: {
		struct ndr_policy_handle h;
		uint32_t result;
		rc = ndr_witness_handle_out_pull(&pull, &h, &result);
		if (rc == 0)
			rc = ndr_witness_handle_out_push(out, &h, result);
		break;
	}
	case WITNESS_STUB_RESULT_OUT: {
		uint32_t result;
		rc = ndr_witness_result_out_pull(&pull, &result);
		if (rc == 0)
			rc = ndr_witness_result_out_push(out, result);
		break;
	}
	case WITNESS_STUB_GET_INTERFACE_LIST_OUT: {
		struct witness_interface_list l;
		bool present;
		uint32_t result;
		rc = ndr_witness_get_interface_list_out_pull(&pull, &l, &present, &result);
		if (rc == 0) {
			rc = ndr_witness_get_interface_list_out_push(out, present ? &l : NULL,
			                                             result);
			witness_interface_list_free(&l);
		}
		break;
	}
	case WITNESS_STUB_ASYNC_NOTIFY_OUT: {
		struct witness_notify_response r;
		bool present;
		uint32_t result;
		rc = ndr_witness_async_notify_out_pull(&pull, &r, &present, &result);
		if (rc == 0) {
			rc = ndr_witness_async_notify_out_push(out, present ? &r : NULL, result);
			witness_notify_response_free(&r);
		}
		break;
	}
	}
	if (consumed != NULL)
		*consumed = rc == 0 ? pull.off : 0;
	return rc;
}
