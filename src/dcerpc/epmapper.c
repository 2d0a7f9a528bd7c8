/*
 * epmapper.c - the endpoint mapper (e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0),
 * anonymous: ept_lookup, ept_map and ept_lookup_handle_free. [C706] ch. 6
 * (the ept_ operations) and appendix L (towers); [MS-RPCE] 2.2.1.2 (the
 * EPT_S_ status codes). As Samba's _epm_Map (source3/rpc_server/epmapper/
 * srv_epmapper.c): anything that is not an ncacn_ip_tcp/NDR32 tower for a
 * registered interface gets EPT_S_NOT_REGISTERED.
 *
 * Iteration ([C706] ept_lookup, ept_map): a nil entry handle starts a
 * lookup; a lookup that has more to give returns a context handle on the
 * association that remembers its position; each call returns at most
 * max_ents (max_towers) elements. The end:
 *  - ept_lookup: a batch that does not fill max_ents ends the lookup (status
 *    OK, nil handle: impacket's hept_lookup stops on the nil handle and
 *    raises on any other status); a full batch keeps the handle, and the call
 *    after the last element gets no element, EPT_S_NOT_REGISTERED and a nil
 *    handle (rpcclient's epmlookup asks for one element at a time and stops
 *    only on that status; Samba's own _epm_Lookup returns the last element
 *    with that status, which rpcclient does not print).
 *  - ept_map: as Samba's _epm_Map, the batch that returns the last tower has
 *    status OK and a nil handle; a call with a handle and nothing left gets
 *    EPT_S_NOT_REGISTERED.
 *  - max_ents (max_towers) 0: nothing is returned, EPT_S_CANT_PERFORM_OP, and
 *    the entry handle comes back as given (a lookup is neither started nor
 *    ended, so a client that loops on it cannot restart for ever).
 * A finished lookup frees its handle; handles die with the association
 * ([MS-RPCE] 3.3.1.4.1), at most EPM_MAX_HANDLES per association: the next
 * new lookup is refused with EPT_S_CANT_PERFORM_OP, an ongoing one is never
 * freed behind its client's back.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/log.h"
#include "witness/ndr.h"
#include "pdu.h"
#include "server_int.h"

#define EPM_STATUS_OK              0
#define EPM_STATUS_NO_MORE_ENTRIES 0x16c9a0d6u
#define EPM_STATUS_CANT_PERFORM    0x000006d8u
#define EPM_MAX_TOWER              1024
#define EPM_MAX_RESULTS            64
#define EPM_MAX_HANDLES            16          /* ongoing lookups per association */
#define EPM_HANDLE_TYPE            0x45504d00u /* "EPM": our handle_type */

enum {
	EPM_PROTO_UUID = 0x0d,
	EPM_PROTO_NCACN = 0x0b, /* RPC connection-oriented */
	EPM_PROTO_TCP = 0x07,
	EPM_PROTO_IP = 0x09,
};

enum { EPM_OP_LOOKUP = 2, EPM_OP_MAP = 3, EPM_OP_HANDLE_FREE = 4, EPM_NUM_OPS = 8 };

static void epm_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                         size_t stub_len);

static const struct dcerpc_iface epm_iface = {
    .name = "epmapper",
    .syntax = {{0xe1af8308, 0x5d1f, 0x11c9, {0x91, 0xa4}, {0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}},
               3,
               0},
    .num_ops = EPM_NUM_OPS,
    .min_auth_level = AUTH_LEVEL_NONE,
    .ctx = NULL,
    .dispatch = epm_dispatch,
};

int dcerpc_epm_enable(dcerpc_server_t *srv)
{
	return dcerpc_server_add_iface(srv, &epm_iface);
}

int dcerpc_epm_register(dcerpc_server_t *srv, const struct dcerpc_syntax_id *iface, const char *ip,
                        uint16_t port, const char *annotation)
{
	if (!srv || !iface || !ip)
		return WD_EINVAL;
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1 && strcmp(ip, "::") != 0)
		return WD_EINVAL; /* the TCP/IP tower carries IPv4 only ([C706] L) */
	struct dcerpc_epm_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return WD_ENOMEM;
	e->iface = *iface;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->port = port;
	snprintf(e->annotation, sizeof(e->annotation), "%s", annotation ? annotation : "");
	struct dcerpc_epm_entry **pp = dcerpc_server_epm_list(srv);
	while (*pp)
		pp = &(*pp)->next;
	*pp = e;
	return 0;
}

/* ---- towers ([C706] appendix L) ---- */

struct tower_req {
	struct wd_guid iface;
	uint16_t major, minor;
	bool ndr32, tcp;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* Pure: parse the octets of a tower. 0 or WD_EPROTO. */
static int tower_parse(const uint8_t *t, size_t len, struct tower_req *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 2)
		return WD_EPROTO;
	unsigned n = le16(t);
	size_t off = 2;
	if (n < 3 || n > 16)
		return WD_EPROTO; /* Samba: fewer than 3 floors -> no entries */
	for (unsigned i = 0; i < n; i++) {
		if (len - off < 2)
			return WD_EPROTO;
		uint16_t lhs_len = le16(t + off);
		off += 2;
		if (lhs_len < 1 || len - off < lhs_len)
			return WD_EPROTO;
		const uint8_t *lhs = t + off;
		off += lhs_len;
		if (len - off < 2)
			return WD_EPROTO;
		uint16_t rhs_len = le16(t + off);
		off += 2;
		if (len - off < rhs_len)
			return WD_EPROTO;
		const uint8_t *rhs = t + off;
		off += rhs_len;
		if (i == 0) {
			if (lhs[0] != EPM_PROTO_UUID || lhs_len != 19 || rhs_len < 2)
				return WD_EPROTO;
			wd_guid_from_wire(lhs + 1, &out->iface);
			out->major = le16(lhs + 17);
			out->minor = le16(rhs);
		} else if (i == 1) {
			if (lhs[0] != EPM_PROTO_UUID || lhs_len != 19)
				return WD_EPROTO;
			struct dcerpc_pdu_syntax s;
			wd_guid_from_wire(lhs + 1, &s.uuid);
			s.version = le16(lhs + 17);
			out->ndr32 = dcerpc_syntax_equal(&s, &dcerpc_ndr32_syntax);
		} else if (i == 2) {
			if (lhs[0] != EPM_PROTO_NCACN)
				return 0;
		} else if (i == 3) {
			out->tcp = lhs[0] == EPM_PROTO_TCP;
		}
	}
	return 0;
}

static void push_floor(struct ndr_push *p, const uint8_t *lhs, uint16_t lhs_len, const uint8_t *rhs,
                       uint16_t rhs_len)
{
	ndr_push_u16(p, lhs_len);
	ndr_push_bytes(p, lhs, lhs_len);
	ndr_push_u16(p, rhs_len);
	ndr_push_bytes(p, rhs, rhs_len);
}

/* The 5-floor ncacn_ip_tcp tower octets into p (unaligned, little-endian). */
static void tower_build(struct ndr_push *p, const struct dcerpc_epm_entry *e, const char *local_ip)
{
	uint8_t lhs[19], rhs[4];
	ndr_push_u16(p, 5);
	lhs[0] = EPM_PROTO_UUID;
	wd_guid_to_wire(&e->iface.uuid, lhs + 1);
	lhs[17] = (uint8_t)e->iface.major;
	lhs[18] = (uint8_t)(e->iface.major >> 8);
	rhs[0] = (uint8_t)e->iface.minor;
	rhs[1] = (uint8_t)(e->iface.minor >> 8);
	push_floor(p, lhs, 19, rhs, 2);
	wd_guid_to_wire(&dcerpc_ndr32_syntax.uuid, lhs + 1);
	lhs[17] = 2;
	lhs[18] = 0;
	rhs[0] = rhs[1] = 0;
	push_floor(p, lhs, 19, rhs, 2);
	lhs[0] = EPM_PROTO_NCACN;
	push_floor(p, lhs, 1, rhs, 2);
	lhs[0] = EPM_PROTO_TCP;
	rhs[0] = (uint8_t)(e->port >> 8); /* port big-endian ([C706] L) */
	rhs[1] = (uint8_t)e->port;
	push_floor(p, lhs, 1, rhs, 2);
	lhs[0] = EPM_PROTO_IP;
	struct in_addr a;
	const char *ip = e->ip;
	if (strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
		ip = local_ip; /* a wildcard listener: the address the client reached */
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		a.s_addr = 0;
	memcpy(rhs, &a.s_addr, 4); /* network order */
	push_floor(p, lhs, 1, rhs, 4);
}

/*
 * twr_t as Samba's epmapper.idl has it: tower_length, then the octets as a
 * [subcontext(4)] with their own length. In NDR the two u32 are the same
 * bytes as DCE's conformant struct (max_count hoisted, tower_length); in
 * NDR64 the subcontext length is 8 bytes aligned to 8 after the u32
 * tower_length, which is what samba.ndr produces with ndr64=True.
 */
static void push_twr(struct ndr_push *p, const struct dcerpc_epm_entry *e, const char *local_ip)
{
	struct ndr_push t;
	ndr_push_init(&t); /* tower octets: unaligned, not NDR */
	tower_build(&t, e, local_ip);
	if (ndr_push_finish(&t) != 0) {
		if (p->err == 0)
			p->err = t.err;
		ndr_push_free(&t);
		return;
	}
	ndr_push_align(p, 4);
	ndr_push_u32(p, (uint32_t)t.len);   /* tower_length */
	ndr_push_u3264(p, (uint32_t)t.len); /* subcontext length / max_count */
	ndr_push_bytes(p, t.data, t.len);
	ndr_push_free(&t);
}

/* ---- entry handles: the position of an ongoing lookup ---- */

enum epm_filter { EPM_FILTER_ALL, EPM_FILTER_IFACE };

/* What an entry handle remembers: the filter and the next list index. */
struct epm_pos {
	enum epm_filter filter;
	struct wd_guid uuid;
	uint16_t major;
	unsigned next; /* index in the server's entry list */
};

static bool handle_nil(const struct ndr_policy_handle *h)
{
	struct wd_guid z;
	memset(&z, 0, sizeof(z));
	return h->handle_type == 0 && wd_guid_equal(&h->uuid, &z);
}

static unsigned epm_handles_held(const dcerpc_call_t *call)
{
	unsigned n = 0;
	if (call->conn && call->conn->group)
		for (const struct dcerpc_handle *h = call->conn->group->handles; h; h = h->next)
			n += h->wire.handle_type == EPM_HANDLE_TYPE;
	return n;
}

static bool entry_matches(const struct dcerpc_epm_entry *e, const struct wd_guid *uuid,
                          uint16_t major)
{
	return wd_guid_equal(&e->iface.uuid, uuid) && e->iface.major == major;
}

static bool pos_matches(const struct epm_pos *pos, const struct dcerpc_epm_entry *e)
{
	return pos->filter == EPM_FILTER_ALL || entry_matches(e, &pos->uuid, pos->major);
}

/*
 * Up to max elements matching pos from pos->next on, into found; pos->next
 * moves past them. *more: whether a matching element is left after them.
 */
static unsigned epm_collect(dcerpc_server_t *srv, struct epm_pos *pos, uint32_t max,
                            const struct dcerpc_epm_entry **found, bool *more)
{
	unsigned n = 0, i = 0;
	*more = false;
	for (const struct dcerpc_epm_entry *e = *dcerpc_server_epm_list(srv); e; e = e->next, i++) {
		if (i < pos->next || !pos_matches(pos, e))
			continue;
		if (n == max || n == EPM_MAX_RESULTS) {
			*more = true;
			break;
		}
		found[n++] = e;
		pos->next = i + 1;
	}
	return n;
}

/*
 * The lookup an entry handle names: a nil handle starts one (*pos = *start,
 * *h NULL until saved); a known handle continues it. Returns false for an
 * unknown handle (or one of another identity: dcerpc_handle_lookup).
 */
static bool epm_pos_find(dcerpc_call_t *call, const struct ndr_policy_handle *in,
                         const struct epm_pos *start, struct epm_pos *pos, dcerpc_handle_t **h)
{
	*h = NULL;
	if (handle_nil(in)) {
		*pos = *start;
		return true;
	}
	struct epm_pos *held = dcerpc_handle_lookup(call, in, EPM_HANDLE_TYPE, h);
	if (!held)
		return false;
	*pos = *held;
	return true;
}

/*
 * Keep the lookup going (more: the handle to continue, created for a new
 * lookup) or end it (the handle freed, *out nil). EPM_STATUS_CANT_PERFORM
 * when the association already holds EPM_MAX_HANDLES lookups.
 */
static uint32_t epm_pos_save(dcerpc_call_t *call, dcerpc_handle_t *h, const struct epm_pos *pos,
                             bool more, struct ndr_policy_handle *out)
{
	memset(out, 0, sizeof(*out));
	if (!more) {
		if (h)
			dcerpc_handle_close(h);
		return EPM_STATUS_OK;
	}
	if (h) {
		struct epm_pos *held =
		    dcerpc_handle_lookup(call, dcerpc_handle_wire(h), EPM_HANDLE_TYPE, NULL);
		*held = *pos;
		*out = *dcerpc_handle_wire(h);
		return EPM_STATUS_OK;
	}
	if (epm_handles_held(call) >= EPM_MAX_HANDLES)
		return EPM_STATUS_CANT_PERFORM;
	struct epm_pos *held = malloc(sizeof(*held));
	if (!held)
		return EPM_STATUS_CANT_PERFORM;
	*held = *pos;
	if (dcerpc_handle_create(call, EPM_HANDLE_TYPE, held, free, NULL, out) < 0) {
		free(held);
		memset(out, 0, sizeof(*out));
		return EPM_STATUS_CANT_PERFORM;
	}
	return EPM_STATUS_OK;
}

static void reply_push(dcerpc_call_t *call, struct ndr_push *p)
{
	if (ndr_push_finish(p) < 0)
		dcerpc_call_fault(call, DCERPC_FAULT_REMOTE_NO_MEMORY);
	else
		dcerpc_call_reply(call, p->data, p->len);
	ndr_push_free(p);
}

/*
 * ept_map([in,ptr] GUID *object, [in,ptr] twr_t *map_tower, [in,out]
 * policy_handle *entry_handle, [in] u32 max_towers, [out] u32 *num_towers,
 * [out,length_is(*num_towers),size_is(max_towers)] twr_p_t towers[],
 * [out] error_status_t status)
 */
static void epm_map(dcerpc_server_t *srv, dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct ndr_pull in;
	uint32_t flags = dcerpc_call_ndr_flags(call);
	ndr_pull_init_flags(&in, stub, len, flags);
	bool has_obj = false, has_tower = false;
	struct wd_guid obj;
	ndr_pull_ptr(&in, &has_obj);
	if (has_obj)
		ndr_pull_guid(&in, &obj);
	ndr_pull_ptr(&in, &has_tower);
	const uint8_t *tower = NULL;
	uint32_t tower_len = 0;
	if (has_tower) {
		uint32_t max_count = 0;
		ndr_pull_align(&in, 4);
		ndr_pull_u32(&in, &tower_len);
		ndr_pull_u3264(&in, &max_count); /* see push_twr */
		if (in.err == 0 && (max_count != tower_len || tower_len > EPM_MAX_TOWER)) {
			dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
			return;
		}
		tower = ndr_pull_borrow(&in, tower_len);
	}
	struct ndr_policy_handle handle;
	uint32_t max_towers = 0;
	ndr_pull_policy_handle(&in, &handle);
	ndr_pull_u32(&in, &max_towers);
	if (ndr_pull_finish(&in) < 0) {
		dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}

	const struct dcerpc_epm_entry *found[EPM_MAX_RESULTS];
	unsigned n = 0;
	uint32_t status = EPM_STATUS_NO_MORE_ENTRIES;
	struct ndr_policy_handle out;
	memset(&out, 0, sizeof(out));
	struct tower_req tr;
	struct epm_pos start = {.filter = EPM_FILTER_IFACE}, pos;
	dcerpc_handle_t *h = NULL;
	bool valid = tower && tower_parse(tower, tower_len, &tr) == 0 && tr.ndr32 && tr.tcp;
	if (valid) {
		start.uuid = tr.iface;
		start.major = tr.major;
	}
	if (max_towers == 0) {
		/* nothing can be returned; an ongoing lookup is left as it is */
		status = EPM_STATUS_CANT_PERFORM;
		out = handle;
	} else if (valid && epm_pos_find(call, &handle, &start, &pos, &h)) {
		bool more = false;
		n = epm_collect(srv, &pos, max_towers, found, &more);
		status = n ? epm_pos_save(call, h, &pos, more, &out) : EPM_STATUS_NO_MORE_ENTRIES;
		if (n == 0 && h)
			dcerpc_handle_close(h);
		if (status != EPM_STATUS_OK)
			n = 0;
	}
	const char *local_ip = dcerpc_call_peer(call)->local_ip;
	struct ndr_push p;
	ndr_push_init_flags(&p, flags);
	ndr_push_policy_handle(&p, &out);
	ndr_push_u32(&p, n);
	ndr_push_u3264(&p, max_towers); /* conformant-varying array of pointers */
	ndr_push_u3264(&p, 0);
	ndr_push_u3264(&p, n);
	for (unsigned i = 0; i < n; i++)
		ndr_push_ptr(&p, found[i]);
	for (unsigned i = 0; i < n; i++)
		push_twr(&p, found[i], local_ip);
	ndr_push_align(&p, 4);
	ndr_push_u32(&p, status);
	reply_push(call, &p);
}

/*
 * ept_lookup([in] u32 inquiry_type, [in,ptr] GUID *object, [in,ptr]
 * rpc_if_id_t *interface_id, [in] u32 vers_option, [in,out] policy_handle
 * *entry_handle, [in] u32 max_ents, [out] u32 *num_ents, [out,
 * length_is(*num_ents), size_is(max_ents)] ept_entry_t entries[], [out]
 * error_status_t status). Inquiry 0 (all) lists every entry; any other
 * filters by the interface when one is given. The entries carry no object
 * UUID, so an object filter matches as "all".
 */
static void epm_lookup(dcerpc_server_t *srv, dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct ndr_pull in;
	uint32_t flags = dcerpc_call_ndr_flags(call);
	ndr_pull_init_flags(&in, stub, len, flags);
	uint32_t inquiry = 0, vers_option = 0, max_ents = 0;
	bool has_obj = false, has_if = false;
	struct wd_guid obj;
	struct epm_pos start = {.filter = EPM_FILTER_ALL}, pos;
	uint16_t ifminor = 0;
	struct ndr_policy_handle handle;
	ndr_pull_u32(&in, &inquiry);
	ndr_pull_ptr(&in, &has_obj);
	if (has_obj)
		ndr_pull_guid(&in, &obj);
	ndr_pull_ptr(&in, &has_if);
	if (has_if) {
		ndr_pull_guid(&in, &start.uuid);
		ndr_pull_u16(&in, &start.major);
		ndr_pull_u16(&in, &ifminor);
	}
	ndr_pull_u32(&in, &vers_option);
	ndr_pull_policy_handle(&in, &handle);
	ndr_pull_u32(&in, &max_ents);
	if (ndr_pull_finish(&in) < 0) {
		dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	if (inquiry != 0 && has_if)
		start.filter = EPM_FILTER_IFACE;

	const struct dcerpc_epm_entry *found[EPM_MAX_RESULTS];
	unsigned n = 0;
	uint32_t status;
	struct ndr_policy_handle out;
	memset(&out, 0, sizeof(out));
	dcerpc_handle_t *h = NULL;
	if (max_ents == 0) {
		/* nothing can be returned; an ongoing lookup is left as it is */
		status = EPM_STATUS_CANT_PERFORM;
		out = handle;
	} else if (!epm_pos_find(call, &handle, &start, &pos, &h)) {
		status = EPM_STATUS_NO_MORE_ENTRIES; /* unknown or freed handle */
	} else {
		bool more = false;
		n = epm_collect(srv, &pos, max_ents, found, &more);
		if (n == 0) {
			if (h)
				dcerpc_handle_close(h);
			status = EPM_STATUS_NO_MORE_ENTRIES;
		} else {
			/* a full batch keeps the handle (see the top of the file) */
			status = epm_pos_save(call, h, &pos, more || n == max_ents, &out);
			if (status != EPM_STATUS_OK)
				n = 0;
		}
	}
	const char *local_ip = dcerpc_call_peer(call)->local_ip;
	struct ndr_push p;
	ndr_push_init_flags(&p, flags);
	ndr_push_policy_handle(&p, &out);
	ndr_push_u32(&p, n);
	ndr_push_u3264(&p, max_ents);
	ndr_push_u3264(&p, 0);
	ndr_push_u3264(&p, n);
	for (unsigned i = 0; i < n; i++) {
		/* epm_entry_t holds a pointer: aligned to 8 in NDR64 */
		ndr_push_align_ptr(&p);
		ndr_push_guid(&p, &found[i]->iface.uuid); /* object: nil would do too */
		ndr_push_ptr(&p, found[i]);
		/* [string] char annotation[64]: varying: offset, actual_count, bytes+NUL;
		 * 4-byte counts in both syntaxes (Samba: LIBNDR_FLAG_STR_LEN4) */
		size_t alen = strlen(found[i]->annotation) + 1;
		ndr_push_u32(&p, 0);
		ndr_push_u32(&p, (uint32_t)alen);
		ndr_push_bytes(&p, found[i]->annotation, alen);
		ndr_push_trailer_align(&p, 8);
	}
	for (unsigned i = 0; i < n; i++)
		push_twr(&p, found[i], local_ip);
	ndr_push_align(&p, 4);
	ndr_push_u32(&p, status);
	reply_push(call, &p);
}

/*
 * ept_lookup_handle_free([in,out] policy_handle *entry_handle, [out]
 * error_status_t status): the lookup ends; the handle comes back nil. An
 * unknown handle is not an error (Samba's _epm_LookupHandleFree).
 */
static void epm_handle_free(dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct ndr_pull in;
	uint32_t flags = dcerpc_call_ndr_flags(call);
	ndr_pull_init_flags(&in, stub, len, flags);
	struct ndr_policy_handle handle;
	ndr_pull_policy_handle(&in, &handle);
	if (ndr_pull_finish(&in) < 0) {
		dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	dcerpc_handle_t *h = NULL;
	if (!handle_nil(&handle) && dcerpc_handle_lookup(call, &handle, EPM_HANDLE_TYPE, &h))
		dcerpc_handle_close(h);
	struct ndr_policy_handle out;
	memset(&out, 0, sizeof(out));
	struct ndr_push p;
	ndr_push_init_flags(&p, flags);
	ndr_push_policy_handle(&p, &out);
	ndr_push_u32(&p, EPM_STATUS_OK);
	reply_push(call, &p);
}

static void epm_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                         size_t stub_len)
{
	/* the server is reached through the call; ctx is NULL (static iface) */
	dcerpc_server_t *srv = dcerpc_call_server(call);
	switch (opnum) {
	case EPM_OP_MAP:
		epm_map(srv, call, stub, stub_len);
		break;
	case EPM_OP_LOOKUP:
		epm_lookup(srv, call, stub, stub_len);
		break;
	case EPM_OP_HANDLE_FREE:
		epm_handle_free(call, stub, stub_len);
		break;
	default:
		/* insert/delete/inq_object/mgmt_delete/map_auth: not for remote use */
		dcerpc_call_fault(call, DCERPC_FAULT_OP_RNG_ERROR);
		break;
	}
}
