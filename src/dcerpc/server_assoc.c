/*
 * server_assoc.c - association groups and context handles of the DCERPC
 * server ([MS-RPCE] 3.3.1.4.1, 3.3.1.5.7); Samba's dcesrv_handles.c and the
 * association part of dcesrv_core.c.
 *
 * A bind with assoc_group_id 0 creates a group; a bind naming a group joins
 * it. Context handles belong to the group and die with its last connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/err.h"
#include "server_int.h"

static struct assoc_group *group_find(dcerpc_server_t *srv, uint32_t id)
{
	for (struct assoc_group *g = srv->groups; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static struct assoc_group *group_new(dcerpc_server_t *srv, const char *remote_ip)
{
	if (srv->stats.assoc_groups >= srv->limits.max_assoc_groups)
		return NULL;
	struct assoc_group *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	do {
		g->id = srv->next_group_id++;
	} while (g->id == 0 || group_find(srv, g->id));
	g->srv = srv;
	snprintf(g->remote_ip, sizeof(g->remote_ip), "%s", remote_ip);
	g->next = srv->groups;
	if (srv->groups)
		srv->groups->prev = g;
	srv->groups = g;
	srv->stats.assoc_groups++;
	return g;
}

static void group_free(struct assoc_group *g)
{
	dcerpc_server_t *srv = g->srv;
	/* Context handles die with their association ([MS-RPCE] 3.3.1.4.1) */
	while (g->handles)
		dcerpc_handle_close(g->handles);
	if (g->prev)
		g->prev->next = g->next;
	else
		srv->groups = g->next;
	if (g->next)
		g->next->prev = g->prev;
	srv->stats.assoc_groups--;
	free(g);
}

void dcerpc__group_detach(struct conn *c)
{
	struct assoc_group *g = c->group;
	if (!g)
		return;
	c->group = NULL;
	if (--g->conns == 0)
		group_free(g);
}

struct assoc_group *dcerpc__group_for_bind(struct conn *c, uint32_t id, uint16_t *nak_reason)
{
	if (id == 0) {
		struct assoc_group *g = group_new(c->srv, c->remote_ip);
		if (!g)
			*nak_reason = DCERPC_NAK_LOCAL_LIMIT;
		return g;
	}
	/* Samba (dcesrv_core.c): the group must exist and, for TCP, belong
	 * to the same client address */
	struct assoc_group *g = group_find(c->srv, id);
	if (!g || strcmp(g->remote_ip, c->remote_ip) != 0) {
		*nak_reason = DCERPC_NAK_NOT_SPECIFIED;
		return NULL;
	}
	return g;
}

void dcerpc__group_attach(struct conn *c, struct assoc_group *g)
{
	c->group = g;
	g->conns++;
}

void dcerpc__group_release_unused(struct assoc_group *g)
{
	if (g && g->conns == 0)
		group_free(g);
}

void dcerpc__groups_free_all(dcerpc_server_t *srv)
{
	while (srv->groups)
		group_free(srv->groups);
}

/* ---- context handles ([MS-RPCE] 3.3.1.4.1; Samba's dcesrv_handles.c) ---- */

int dcerpc_handle_create(dcerpc_call_t *call, uint32_t handle_type, void *data,
                         dcerpc_handle_destroy_cb destroy, dcerpc_handle_t **out,
                         struct ndr_policy_handle *wire)
{
	if (!call || !call->conn || !call->conn->group)
		return WD_ESTATE;
	struct dcerpc_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return WD_ENOMEM;
	int rc = wd_guid_random(&h->wire.uuid);
	if (rc < 0) {
		free(h);
		return rc;
	}
	h->wire.handle_type = handle_type;
	h->data = data;
	h->destroy = destroy;
	h->group = call->conn->group;
	h->next = h->group->handles;
	if (h->next)
		h->next->prev = h;
	h->group->handles = h;
	if (out)
		*out = h;
	if (wire)
		*wire = h->wire;
	return 0;
}

void *dcerpc_handle_lookup(dcerpc_call_t *call, const struct ndr_policy_handle *wire,
                           uint32_t handle_type, dcerpc_handle_t **out)
{
	if (out)
		*out = NULL;
	if (!call || !call->conn || !call->conn->group || !wire)
		return NULL;
	for (struct dcerpc_handle *h = call->conn->group->handles; h; h = h->next) {
		if (h->wire.handle_type == handle_type &&
		    wd_guid_equal(&h->wire.uuid, &wire->uuid)) {
			if (out)
				*out = h;
			return h->data;
		}
	}
	return NULL;
}

void dcerpc_handle_close(dcerpc_handle_t *h)
{
	if (!h)
		return;
	struct assoc_group *g = h->group;
	if (h->prev)
		h->prev->next = h->next;
	else
		g->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	dcerpc_handle_destroy_cb d = h->destroy;
	void *data = h->data;
	free(h);
	if (d)
		d(data);
}

const struct ndr_policy_handle *dcerpc_handle_wire(const dcerpc_handle_t *h)
{
	return &h->wire;
}
