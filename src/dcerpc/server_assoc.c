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

/*
 * Groups are found by id in a chained hash table (a bind naming a group, and
 * the check that a new random id is free): O(1), where a walk of every group
 * made set-up quadratic. Ids are random, so their low bits are the hash.
 */
static struct assoc_group **group_slot(dcerpc_server_t *srv, uint32_t id)
{
	return &srv->group_table[id & (srv->group_buckets - 1)];
}

static struct assoc_group *group_find(dcerpc_server_t *srv, uint32_t id)
{
	if (!srv->group_table)
		return NULL;
	for (struct assoc_group *g = *group_slot(srv, id); g; g = g->hnext)
		if (g->id == id)
			return g;
	return NULL;
}

/* Keep at most one group per bucket on average: double the table. */
static int group_table_grow(dcerpc_server_t *srv)
{
	unsigned n = srv->group_buckets ? srv->group_buckets * 2 : 64;
	if (srv->group_buckets && srv->stats.assoc_groups < srv->group_buckets)
		return 0;
	struct assoc_group **t = calloc(n, sizeof(*t));
	if (!t)
		return srv->group_table ? 0 : WD_ENOMEM; /* a full table still works */
	free(srv->group_table);
	srv->group_table = t;
	srv->group_buckets = n;
	for (struct assoc_group *g = srv->groups; g; g = g->next) {
		struct assoc_group **slot = group_slot(srv, g->id);
		g->hnext = *slot;
		*slot = g;
	}
	return 0;
}

/*
 * A new id: random ([MS-RPCE] 3.3.1.5.7 leaves it to the server; a
 * sequential id lets a peer guess another client's group), nonzero and not
 * in use.
 */
static int group_new_id(dcerpc_server_t *srv, uint32_t *out)
{
	for (int tries = 0; tries < 64; tries++) {
		struct wd_guid r;
		int rc = wd_guid_random(&r); /* getrandom(2), the kernel's CSPRNG */
		if (rc < 0)
			return rc;
		uint32_t id = r.time_low;
		if (id != 0 && !group_find(srv, id)) {
			*out = id;
			return 0;
		}
	}
	return WD_ELIMIT;
}

static struct assoc_group *group_new(dcerpc_server_t *srv, const char *remote_ip)
{
	if (srv->stats.assoc_groups >= srv->limits.max_assoc_groups)
		return NULL;
	if (group_table_grow(srv) < 0)
		return NULL;
	size_t ip_len = strlen(remote_ip) + 1;
	struct assoc_group *g = calloc(1, sizeof(*g) + ip_len);
	if (!g)
		return NULL;
	if (group_new_id(srv, &g->id) < 0) {
		free(g);
		return NULL;
	}
	g->srv = srv;
	memcpy(g->remote_ip, remote_ip, ip_len);
	g->next = srv->groups;
	if (srv->groups)
		srv->groups->prev = g;
	srv->groups = g;
	struct assoc_group **slot = group_slot(srv, g->id);
	g->hnext = *slot;
	*slot = g;
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
	struct assoc_group **pp = group_slot(srv, g->id);
	while (*pp != g)
		pp = &(*pp)->hnext;
	*pp = g->hnext;
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
		struct assoc_group *g = group_new(c->srv, c->peer.remote_ip);
		if (!g)
			*nak_reason = DCERPC_NAK_LOCAL_LIMIT;
		return g;
	}
	/* Samba (dcesrv_core.c): the group must exist and, for TCP, belong
	 * to the same client address */
	struct assoc_group *g = group_find(c->srv, id);
	if (!g || strcmp(g->remote_ip, c->peer.remote_ip) != 0) {
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
	free(srv->group_table);
	srv->group_table = NULL;
	srv->group_buckets = 0;
	wd_htab_free(&srv->handles);
}

/* ---- context handles ([MS-RPCE] 3.3.1.4.1; Samba's dcesrv_handles.c) ---- */

/*
 * The identity a handle is bound to, as Samba's dcesrv_handles.c binds it to
 * the creator's SID: the SID when the mechanism gives one, else the
 * authenticated domain and account (upper-cased: NTLM names compare
 * case-insensitively), else "" for anonymous. Written into buf.
 */
#define OWNER_MAX 600
static void owner_into(const struct auth_session *a, char buf[OWNER_MAX])
{
	if (!a || a->auth_type == AUTH_TYPE_NONE)
		buf[0] = 0;
	else if (a->sid[0])
		snprintf(buf, OWNER_MAX, "S:%s", a->sid);
	else
		snprintf(buf, OWNER_MAX, "U:%s\\%s", a->domain, a->account);
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

/* owner_into, malloc'd; NULL on no memory. */
static char *handle_owner(const struct auth_session *a)
{
	char buf[OWNER_MAX];
	owner_into(a, buf);
	return strdup(buf);
}

/* Handles are found by their random wire uuid in the server's table. */
static uint64_t handle_hash(dcerpc_server_t *srv, const struct wd_guid *uuid)
{
	uint8_t b[16];
	wd_guid_to_wire(uuid, b);
	return wd_htab_hash(&srv->handles, b, sizeof(b));
}

static uint8_t call_level(const dcerpc_call_t *call)
{
	const struct auth_session *a = call->peer->auth;
	return a ? a->auth_level : AUTH_LEVEL_NONE;
}

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
	h->owner = handle_owner(call->peer->auth);
	if (!h->owner) {
		free(h);
		return WD_ENOMEM;
	}
	h->min_level = call_level(call);
	h->wire.handle_type = handle_type;
	h->data = data;
	h->destroy = destroy;
	h->group = call->conn->group;
	if (wd_htab_insert(&h->group->srv->handles, &h->hnode,
	                   handle_hash(h->group->srv, &h->wire.uuid)) < 0) {
		free(h->owner);
		free(h);
		return WD_ENOMEM;
	}
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
	struct assoc_group *g = call->conn->group;
	uint64_t hash = handle_hash(g->srv, &wire->uuid);
	for (struct wd_hnode *n = wd_htab_first(&g->srv->handles, hash); n;
	     n = wd_htab_next(n, hash)) {
		struct dcerpc_handle *h = wd_hentry(n, struct dcerpc_handle, hnode);
		/* a handle of another association is unknown here ([MS-RPCE] 3.3.1.4.1) */
		if (h->group == g && h->wire.handle_type == handle_type &&
		    wd_guid_equal(&h->wire.uuid, &wire->uuid)) {
			/*
			 * Another identity, or a lower auth level than the
			 * creator's, gets the answer of an unknown handle
			 * (Samba's dcesrv_handles.c: the SID and the level).
			 */
			char who[OWNER_MAX];
			owner_into(call->peer->auth, who);
			if (strcmp(who, h->owner) != 0 || call_level(call) < h->min_level)
				return NULL;
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
	wd_htab_remove(&g->srv->handles, &h->hnode);
	if (h->prev)
		h->prev->next = h->next;
	else
		g->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	dcerpc_handle_destroy_cb d = h->destroy;
	void *data = h->data;
	free(h->owner);
	free(h);
	if (d)
		d(data);
}

const struct ndr_policy_handle *dcerpc_handle_wire(const dcerpc_handle_t *h)
{
	return &h->wire;
}
