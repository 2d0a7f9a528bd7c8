/*
 * server_int.h - internals shared by server.c, epmapper.c and mgmt.c.
 * Not a module contract: nothing outside src/dcerpc includes it.
 */
#ifndef WD_DCERPC_SERVER_INT_H
#define WD_DCERPC_SERVER_INT_H

#include "witness/dcerpc.h"

#define DCERPC_MAX_IFACES 16

struct dcerpc_epm_entry {
	struct dcerpc_epm_entry *next;
	struct dcerpc_syntax_id iface;
	char ip[48];
	uint16_t port;
	char annotation[64];
};

struct dcerpc_epm_state;
struct dcerpc_mgmt_state;

/* Iterate the registered interfaces (mgmt inq_if_ids). */
unsigned dcerpc_server_iface_count(const dcerpc_server_t *srv);
const struct dcerpc_iface *dcerpc_server_iface_at(const dcerpc_server_t *srv, unsigned i);
/* Head of the endpoint mapper's entry list (owned by the server). */
struct dcerpc_epm_entry **dcerpc_server_epm_list(dcerpc_server_t *srv);
/* Packet counters for mgmt inq_stats: calls in, calls out, pkts in, pkts out. */
void dcerpc_server_mgmt_stats(const dcerpc_server_t *srv, uint32_t out[4]);
/* The server a call belongs to. */
dcerpc_server_t *dcerpc_call_server(const dcerpc_call_t *call);
/* Storage for the mgmt principal name (owned by the server). */
char **dcerpc_server_princ_slot(dcerpc_server_t *srv);

#endif
