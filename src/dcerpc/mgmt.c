/*
 * mgmt.c - the DCE management interface (afa8bd80-7d8a-11c9-bef4-08002b102989
 * v1.0), anonymous like Samba's (librpc/rpc/dcesrv_mgmt.c): 0 inq_if_ids,
 * 1 inq_stats, 2 is_server_listening, 3 stop_server_listening (refused),
 * 4 inq_princ_name. Wire layout from Samba's mgmt.idl.
 */
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "witness/ndr.h"
#include "server_int.h"

#define MGMT_ACCESS_DENIED 5u

static void mgmt_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                          size_t stub_len);

static const struct dcerpc_iface mgmt_iface = {
    .name = "mgmt",
    .syntax = {{0xafa8bd80, 0x7d8a, 0x11c9, {0xbe, 0xf4}, {0x08, 0x00, 0x2b, 0x10, 0x29, 0x89}},
               1,
               0},
    .num_ops = 5,
    .min_auth_level = AUTH_LEVEL_NONE,
    .dispatch = mgmt_dispatch,
};

int dcerpc_mgmt_enable(dcerpc_server_t *srv, const char *princ_name)
{
	if (!srv)
		return WD_EINVAL;
	char **slot = dcerpc_server_princ_slot(srv);
	char *dup = strdup(princ_name ? princ_name : "");
	if (!dup)
		return WD_ENOMEM;
	int rc = dcerpc_server_add_iface(srv, &mgmt_iface);
	if (rc < 0) {
		free(dup);
		return rc;
	}
	free(*slot);
	*slot = dup;
	return 0;
}

static void reply_push(dcerpc_call_t *call, struct ndr_push *p)
{
	if (ndr_push_finish(p) < 0)
		dcerpc_call_fault(call, DCERPC_FAULT_REMOTE_NO_MEMORY);
	else
		dcerpc_call_reply(call, p->data, p->len);
	ndr_push_free(p);
}

/* inq_if_ids([out] rpc_if_id_vector_t **if_id_vector) */
static void inq_if_ids(dcerpc_server_t *srv, dcerpc_call_t *call)
{
	unsigned n = dcerpc_server_iface_count(srv);
	struct ndr_push p;
	ndr_push_init_flags(&p, dcerpc_call_ndr_flags(call));
	ndr_push_ptr(&p, srv); /* unique pointer to the vector */
	ndr_push_u3264(&p, n); /* conformance of if_id[] */
	ndr_push_u32(&p, n);   /* count; the pointers align to 8 in NDR64 */
	for (unsigned i = 0; i < n; i++)
		ndr_push_ptr(&p, dcerpc_server_iface_at(srv, i));
	for (unsigned i = 0; i < n; i++) {
		const struct dcerpc_iface *f = dcerpc_server_iface_at(srv, i);
		ndr_push_guid(&p, &f->syntax.uuid);
		ndr_push_u16(&p, f->syntax.major);
		ndr_push_u16(&p, f->syntax.minor);
	}
	ndr_push_u32(&p, 0); /* WERR_OK */
	reply_push(call, &p);
}

/* inq_stats([in] u32 max_count, [in] u32 unknown, [out,ref] mgmt_statistics *) */
static void inq_stats(dcerpc_server_t *srv, dcerpc_call_t *call, const uint8_t *stub, size_t len)
{
	struct ndr_pull in;
	uint32_t max_count = 0, unknown = 0;
	ndr_pull_init_flags(&in, stub, len, dcerpc_call_ndr_flags(call));
	ndr_pull_u32(&in, &max_count);
	/* Samba's IDL has a second [in] u32; DCE's (and impacket's) only the count */
	if (ndr_pull_remaining(&in) >= 4)
		ndr_pull_u32(&in, &unknown);
	if (ndr_pull_finish(&in) < 0) {
		dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	uint32_t st[4];
	dcerpc_server_mgmt_stats(srv, st);
	uint32_t n = max_count < 4 ? max_count : 4;
	struct ndr_push p;
	ndr_push_init_flags(&p, dcerpc_call_ndr_flags(call));
	/* DCE: count, then the conformant array (max_count, values); Samba's
	 * conformant struct hoists max_count before count: same bytes in NDR,
	 * max_count widened in NDR64. */
	ndr_push_u3264(&p, n);
	ndr_push_u32(&p, n);
	for (uint32_t i = 0; i < n; i++)
		ndr_push_u32(&p, st[i]);
	ndr_push_u32(&p, 0);
	reply_push(call, &p);
}

/* inq_princ_name([in] u32 authn_proto, [in] u32 princ_name_size,
 *                [out,string,size_is(princ_name_size)] uint8 princ_name[]) */
static void inq_princ_name(dcerpc_server_t *srv, dcerpc_call_t *call, const uint8_t *stub,
                           size_t len)
{
	struct ndr_pull in;
	uint32_t proto = 0, size = 0;
	ndr_pull_init_flags(&in, stub, len, dcerpc_call_ndr_flags(call));
	ndr_pull_u32(&in, &proto);
	ndr_pull_u32(&in, &size);
	if (ndr_pull_finish(&in) < 0 || size > 4096) {
		dcerpc_call_fault(call, DCERPC_FAULT_BAD_STUB_DATA);
		return;
	}
	const char *name = *dcerpc_server_princ_slot(srv);
	if (!name)
		name = "";
	size_t n = strlen(name) + 1;
	struct ndr_push p;
	ndr_push_init_flags(&p, dcerpc_call_ndr_flags(call));
	if (n > size) {
		/* does not fit: empty answer, insufficient buffer (WERR 122) */
		ndr_push_u3264(&p, size);
		ndr_push_u3264(&p, 0);
		ndr_push_u3264(&p, 0);
		ndr_push_align(&p, 4);
		ndr_push_u32(&p, 122);
	} else {
		ndr_push_u3264(&p, size);
		ndr_push_u3264(&p, 0);
		ndr_push_u3264(&p, (uint32_t)n);
		ndr_push_bytes(&p, name, n);
		ndr_push_align(&p, 4);
		ndr_push_u32(&p, 0);
	}
	reply_push(call, &p);
}

static void mgmt_dispatch(void *ctx, dcerpc_call_t *call, uint16_t opnum, const uint8_t *stub,
                          size_t stub_len)
{
	dcerpc_server_t *srv = dcerpc_call_server(call);
	struct ndr_push p;
	switch (opnum) {
	case 0:
		inq_if_ids(srv, call);
		break;
	case 1:
		inq_stats(srv, call, stub, stub_len);
		break;
	case 2: /* boolean32 is_server_listening([out,ref] error_status_t *status) */
		ndr_push_init(&p);
		ndr_push_u32(&p, 0);
		ndr_push_u32(&p, 1);
		reply_push(call, &p);
		break;
	case 3: /* stop_server_listening: never from the network */
		ndr_push_init(&p);
		ndr_push_u32(&p, MGMT_ACCESS_DENIED);
		reply_push(call, &p);
		break;
	case 4:
		inq_princ_name(srv, call, stub, stub_len);
		break;
	default:
		dcerpc_call_fault(call, DCERPC_FAULT_OP_RNG_ERROR);
		break;
	}
}
