/*
 * protocol.c - pure marshalling of ctdbd's client protocol.
 *
 * No I/O, no loop, no logging. Layouts follow the *_old structs of
 * ctdb/include/ctdb_protocol.h and ctdb/protocol/protocol_*.c at
 * samba-4.17.12 (ctdb/protocol/protocol_basic.c): host byte order, C struct layout
 * with its implicit padding.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "witness/ctdb.h"
#include "witness/err.h"

/* ---- basic ---- */

static void put32(uint8_t *b, uint32_t v)
{
	memcpy(b, &v, 4);
}

static uint32_t get32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static void put16(uint8_t *b, uint16_t v)
{
	memcpy(b, &v, 2);
}

static uint16_t get16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static void put64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, 8);
}

static uint64_t get64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

size_t ctdb_uint32_len(uint32_t v)
{
	(void)v;
	return 4;
}

void ctdb_uint32_push(uint32_t v, uint8_t *buf)
{
	put32(buf, v);
}

int ctdb_uint32_pull(const uint8_t *buf, size_t buflen, uint32_t *v, size_t *npull)
{
	if (buflen < 4)
		return WD_ESHORT;
	*v = get32(buf);
	*npull = 4;
	return 0;
}

/* ---- header ---- */

size_t ctdb_req_header_len(const struct ctdb_req_header *h)
{
	(void)h;
	return CTDB_REQ_HEADER_LEN;
}

void ctdb_req_header_push(const struct ctdb_req_header *h, uint8_t *buf)
{
	put32(buf + 0, h->length);
	put32(buf + 4, h->ctdb_magic);
	put32(buf + 8, h->ctdb_version);
	put32(buf + 12, h->generation);
	put32(buf + 16, h->operation);
	put32(buf + 20, h->destnode);
	put32(buf + 24, h->srcnode);
	put32(buf + 28, h->reqid);
}

int ctdb_req_header_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_header *h,
                         size_t *npull)
{
	struct ctdb_req_header t;

	if (buflen < CTDB_REQ_HEADER_LEN)
		return WD_ESHORT;
	t.length = get32(buf + 0);
	t.ctdb_magic = get32(buf + 4);
	t.ctdb_version = get32(buf + 8);
	t.generation = get32(buf + 12);
	t.operation = get32(buf + 16);
	t.destnode = get32(buf + 20);
	t.srcnode = get32(buf + 24);
	t.reqid = get32(buf + 28);
	if (t.length < CTDB_REQ_HEADER_LEN)
		return WD_EPROTO;
	*h = t;
	*npull = CTDB_REQ_HEADER_LEN;
	return 0;
}

/* ---- ctdb_sock_addr: raw sockaddr_in / sockaddr_in6 in a 28-byte union ---- */

size_t ctdb_sock_addr_len(const struct ctdb_sock_addr *a)
{
	(void)a;
	return CTDB_SOCK_ADDR_LEN;
}

void ctdb_sock_addr_push(const struct ctdb_sock_addr *a, uint8_t *buf)
{
	uint16_t nport = htons(a->port);

	memset(buf, 0, CTDB_SOCK_ADDR_LEN);
	put16(buf, a->family);
	memcpy(buf + 2, &nport, 2); /* sin_port / sin6_port: network order */
	if (a->family == AF_INET) {
		memcpy(buf + 4, a->addr, 4);
	} else {
		put32(buf + 4, a->flowinfo);
		memcpy(buf + 8, a->addr, 16);
		put32(buf + 24, a->scope_id);
	}
}

int ctdb_sock_addr_pull(const uint8_t *buf, size_t buflen, struct ctdb_sock_addr *a, size_t *npull)
{
	struct ctdb_sock_addr t;
	uint16_t nport;

	if (buflen < CTDB_SOCK_ADDR_LEN)
		return WD_ESHORT;
	memset(&t, 0, sizeof(t));
	t.family = get16(buf);
	memcpy(&nport, buf + 2, 2);
	t.port = ntohs(nport);
	if (t.family == AF_INET) {
		memcpy(t.addr, buf + 4, 4);
	} else if (t.family == AF_INET6) {
		t.flowinfo = get32(buf + 4);
		memcpy(t.addr, buf + 8, 16);
		t.scope_id = get32(buf + 24);
	} else {
		return WD_EPROTO;
	}
	*a = t;
	*npull = CTDB_SOCK_ADDR_LEN;
	return 0;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ctdb_sock_addr_from_string(const char *s, uint16_t port, struct ctdb_sock_addr *a)
{
	struct ctdb_sock_addr t;
	uint8_t b[16];

	if (s == NULL)
		return WD_EINVAL;
	memset(&t, 0, sizeof(t));
	t.port = port;
	if (inet_pton(AF_INET, s, b) == 1) {
		t.family = AF_INET;
		memcpy(t.addr, b, 4);
	} else if (inet_pton(AF_INET6, s, b) == 1) {
		if (memcmp(b, v4mapped_prefix, 12) == 0) {
			t.family = AF_INET;
			memcpy(t.addr, b + 12, 4);
		} else {
			t.family = AF_INET6;
			memcpy(t.addr, b, 16);
		}
	} else {
		return WD_EINVAL;
	}
	*a = t;
	return 0;
}

int ctdb_sock_addr_to_string(const struct ctdb_sock_addr *a, char *out, size_t outlen)
{
	int af = a->family == AF_INET ? AF_INET : a->family == AF_INET6 ? AF_INET6 : -1;

	if (af < 0)
		return WD_EINVAL;
	if (inet_ntop(af, a->addr, out, (socklen_t)outlen) == NULL)
		return WD_ERANGE;
	return 0;
}

bool ctdb_sock_addr_same_ip(const struct ctdb_sock_addr *a, const struct ctdb_sock_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* ---- control request ---- */

size_t ctdb_req_control_len(const struct ctdb_req_control *c)
{
	return CTDB_REQ_CONTROL_HDR_LEN + (size_t)c->datalen;
}

void ctdb_req_control_push(const struct ctdb_req_control *c, uint8_t *buf)
{
	struct ctdb_req_header h = c->hdr;
	size_t len = ctdb_req_control_len(c);

	if (h.length < len)
		h.length = (uint32_t)len;
	ctdb_req_header_push(&h, buf);
	put32(buf + 32, c->opcode);
	put32(buf + 36, 0); /* pad: srvid sits on an 8-byte boundary */
	put64(buf + 40, c->srvid);
	put32(buf + 48, c->client_id);
	put32(buf + 52, c->flags);
	put32(buf + 56, c->datalen);
	if (c->datalen)
		memcpy(buf + 60, c->data, c->datalen);
	if (h.length > len)
		memset(buf + len, 0, h.length - len);
}

int ctdb_req_control_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_control *c,
                          size_t *npull)
{
	struct ctdb_req_control t;
	size_t n;
	int rc;

	if (buflen < CTDB_REQ_CONTROL_HDR_LEN)
		return WD_ESHORT;
	rc = ctdb_req_header_pull(buf, buflen, &t.hdr, &n);
	if (rc)
		return rc;
	t.opcode = get32(buf + 32);
	t.srvid = get64(buf + 40);
	t.client_id = get32(buf + 48);
	t.flags = get32(buf + 52);
	t.datalen = get32(buf + 56);
	if (t.datalen > buflen - CTDB_REQ_CONTROL_HDR_LEN)
		return WD_ESHORT;
	t.data = buf + 60;
	*c = t;
	*npull = CTDB_REQ_CONTROL_HDR_LEN + t.datalen;
	return 0;
}

/* ---- control reply ---- */

size_t ctdb_reply_control_len(const struct ctdb_reply_control *r)
{
	return CTDB_REPLY_CONTROL_HDR_LEN + (size_t)r->datalen + (size_t)r->errorlen;
}

void ctdb_reply_control_push(const struct ctdb_reply_control *r, uint8_t *buf)
{
	struct ctdb_req_header h = r->hdr;
	size_t len = ctdb_reply_control_len(r);

	if (h.length < len)
		h.length = (uint32_t)len;
	ctdb_req_header_push(&h, buf);
	put32(buf + 32, (uint32_t)r->status);
	put32(buf + 36, r->datalen);
	put32(buf + 40, r->errorlen);
	if (r->datalen)
		memcpy(buf + 44, r->data, r->datalen);
	if (r->errorlen)
		memcpy(buf + 44 + r->datalen, r->errmsg, r->errorlen);
	if (h.length > len)
		memset(buf + len, 0, h.length - len);
}

int ctdb_reply_control_pull(const uint8_t *buf, size_t buflen, struct ctdb_reply_control *r,
                            size_t *npull)
{
	struct ctdb_reply_control t;
	size_t n, room;
	int rc;

	if (buflen < CTDB_REPLY_CONTROL_HDR_LEN)
		return WD_ESHORT;
	rc = ctdb_req_header_pull(buf, buflen, &t.hdr, &n);
	if (rc)
		return rc;
	t.status = (int32_t)get32(buf + 32);
	t.datalen = get32(buf + 36);
	t.errorlen = get32(buf + 40);
	room = buflen - CTDB_REPLY_CONTROL_HDR_LEN;
	if (t.datalen > room || t.errorlen > room - t.datalen)
		return WD_ESHORT;
	t.data = buf + 44;
	t.errmsg = buf + 44 + t.datalen;
	*r = t;
	*npull = CTDB_REPLY_CONTROL_HDR_LEN + (size_t)t.datalen + t.errorlen;
	return 0;
}

/* ---- message ---- */

size_t ctdb_req_message_len(const struct ctdb_req_message *m)
{
	return CTDB_REQ_MESSAGE_HDR_LEN + (size_t)m->datalen;
}

void ctdb_req_message_push(const struct ctdb_req_message *m, uint8_t *buf)
{
	struct ctdb_req_header h = m->hdr;
	size_t len = ctdb_req_message_len(m);

	if (h.length < len)
		h.length = (uint32_t)len;
	ctdb_req_header_push(&h, buf);
	put64(buf + 32, m->srvid);
	put32(buf + 40, m->datalen);
	if (m->datalen)
		memcpy(buf + 44, m->data, m->datalen);
	if (h.length > len)
		memset(buf + len, 0, h.length - len);
}

int ctdb_req_message_pull(const uint8_t *buf, size_t buflen, struct ctdb_req_message *m,
                          size_t *npull)
{
	struct ctdb_req_message t;
	size_t n;
	int rc;

	if (buflen < CTDB_REQ_MESSAGE_HDR_LEN)
		return WD_ESHORT;
	rc = ctdb_req_header_pull(buf, buflen, &t.hdr, &n);
	if (rc)
		return rc;
	t.srvid = get64(buf + 32);
	t.datalen = get32(buf + 40);
	if (t.datalen > buflen - CTDB_REQ_MESSAGE_HDR_LEN)
		return WD_ESHORT;
	t.data = buf + 44;
	*m = t;
	*npull = CTDB_REQ_MESSAGE_HDR_LEN + t.datalen;
	return 0;
}

/* ---- whole packet ---- */

int ctdb_packet_pull(const uint8_t *buf, size_t buflen, struct ctdb_packet *p)
{
	struct ctdb_packet t;
	size_t n, content;
	int rc;

	rc = ctdb_req_header_pull(buf, buflen, &t.hdr, &n);
	if (rc)
		return rc;
	if (t.hdr.length != buflen)
		return t.hdr.length > buflen ? WD_ESHORT : WD_EPROTO;
	if (t.hdr.length > CTDB_MAX_PACKET)
		return WD_ERANGE;
	if (t.hdr.ctdb_magic != CTDB_MAGIC || t.hdr.ctdb_version != CTDB_PROTOCOL)
		return WD_EVERSION;
	switch (t.hdr.operation) {
	case CTDB_REPLY_CONTROL:
		rc = ctdb_reply_control_pull(buf, buflen, &t.u.reply, &content);
		break;
	case CTDB_REQ_MESSAGE:
		rc = ctdb_req_message_pull(buf, buflen, &t.u.message, &content);
		break;
	default:
		/* Not for a client of ours; the caller ignores it. */
		content = buflen;
		rc = 0;
		break;
	}
	if (rc)
		return rc == WD_ESHORT ? WD_EPROTO : rc; /* inner length beyond hdr.length */
	/* ctdb_queue_send pads to CTDB_DS_ALIGNMENT; more slack is overlong. */
	if (buflen - content >= CTDB_DS_ALIGNMENT)
		return WD_EPROTO;
	*p = t;
	return 0;
}

/* ---- ctdb_connection ---- */

size_t ctdb_connection_len(const struct ctdb_connection *c)
{
	(void)c;
	return CTDB_CONNECTION_LEN;
}

void ctdb_connection_push(const struct ctdb_connection *c, uint8_t *buf)
{
	ctdb_sock_addr_push(&c->src, buf);
	ctdb_sock_addr_push(&c->dst, buf + CTDB_SOCK_ADDR_LEN);
}

int ctdb_connection_pull(const uint8_t *buf, size_t buflen, struct ctdb_connection *c,
                         size_t *npull)
{
	struct ctdb_connection t;
	size_t n;
	int rc;

	if (buflen < CTDB_CONNECTION_LEN)
		return WD_ESHORT;
	rc = ctdb_sock_addr_pull(buf, buflen, &t.src, &n);
	if (rc == 0)
		rc = ctdb_sock_addr_pull(buf + n, buflen - n, &t.dst, &n);
	if (rc)
		return rc;
	*c = t;
	*npull = CTDB_CONNECTION_LEN;
	return 0;
}

/* ---- ctdb_iface: char name[18]; uint16 link_state; uint32 references ---- */

size_t ctdb_iface_len(const struct ctdb_iface *i)
{
	(void)i;
	return CTDB_IFACE_LEN;
}

void ctdb_iface_push(const struct ctdb_iface *i, uint8_t *buf)
{
	memset(buf, 0, CTDB_IFACE_NAME_LEN);
	memcpy(buf, i->name, strnlen(i->name, CTDB_IFACE_NAME_LEN - 1));
	put16(buf + 18, i->link_state);
	put32(buf + 20, i->references);
}

int ctdb_iface_pull(const uint8_t *buf, size_t buflen, struct ctdb_iface *i, size_t *npull)
{
	struct ctdb_iface t;

	if (buflen < CTDB_IFACE_LEN)
		return WD_ESHORT;
	memset(&t, 0, sizeof(t));
	/* ctdb_iface_pull (protocol_types.c) demands NUL termination. */
	if (memchr(buf, 0, CTDB_IFACE_NAME_LEN) == NULL)
		return WD_EPROTO;
	memcpy(t.name, buf, CTDB_IFACE_NAME_LEN);
	t.link_state = get16(buf + 18);
	t.references = get32(buf + 20);
	*i = t;
	*npull = CTDB_IFACE_LEN;
	return 0;
}

/* ---- lists ---- */

size_t ctdb_node_map_len(const struct ctdb_node_map *m)
{
	return 4 + (size_t)m->num * CTDB_NODE_AND_FLAGS_LEN;
}

void ctdb_node_map_push(const struct ctdb_node_map *m, uint8_t *buf)
{
	uint32_t i;

	put32(buf, m->num);
	for (i = 0; i < m->num; i++) {
		uint8_t *b = buf + 4 + (size_t)i * CTDB_NODE_AND_FLAGS_LEN;
		put32(b, m->node[i].pnn);
		put32(b + 4, m->node[i].flags);
		ctdb_sock_addr_push(&m->node[i].addr, b + 8);
	}
}

int ctdb_node_map_pull(const uint8_t *buf, size_t buflen, struct ctdb_node_map **out, size_t *npull)
{
	struct ctdb_node_map *m;
	uint32_t num, i;
	size_t n;
	int rc;

	if (buflen < 4)
		return WD_ESHORT;
	num = get32(buf);
	/* Bounded by the input before allocating. */
	if (num > (buflen - 4) / CTDB_NODE_AND_FLAGS_LEN)
		return WD_ESHORT;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return WD_ENOMEM;
	m->num = num;
	if (num) {
		m->node = calloc(num, sizeof(*m->node));
		if (m->node == NULL) {
			free(m);
			return WD_ENOMEM;
		}
	}
	for (i = 0; i < num; i++) {
		const uint8_t *b = buf + 4 + (size_t)i * CTDB_NODE_AND_FLAGS_LEN;
		m->node[i].pnn = get32(b);
		m->node[i].flags = get32(b + 4);
		rc = ctdb_sock_addr_pull(b + 8, CTDB_SOCK_ADDR_LEN, &m->node[i].addr, &n);
		if (rc) {
			ctdb_node_map_free(m);
			return rc;
		}
	}
	*out = m;
	*npull = ctdb_node_map_len(m);
	return 0;
}

void ctdb_node_map_free(struct ctdb_node_map *m)
{
	if (m == NULL)
		return;
	free(m->node);
	free(m);
}

size_t ctdb_public_ip_list_len(const struct ctdb_public_ip_list *l)
{
	return 4 + (size_t)l->num * CTDB_PUBLIC_IP_LEN;
}

void ctdb_public_ip_list_push(const struct ctdb_public_ip_list *l, uint8_t *buf)
{
	uint32_t i;

	put32(buf, l->num);
	for (i = 0; i < l->num; i++) {
		uint8_t *b = buf + 4 + (size_t)i * CTDB_PUBLIC_IP_LEN;
		put32(b, l->ip[i].pnn);
		ctdb_sock_addr_push(&l->ip[i].addr, b + 4);
	}
}

int ctdb_public_ip_list_pull(const uint8_t *buf, size_t buflen, struct ctdb_public_ip_list **out,
                             size_t *npull)
{
	struct ctdb_public_ip_list *l;
	uint32_t num, i;
	size_t n;
	int rc;

	if (buflen < 4)
		return WD_ESHORT;
	num = get32(buf);
	if (num > (buflen - 4) / CTDB_PUBLIC_IP_LEN)
		return WD_ESHORT;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return WD_ENOMEM;
	l->num = num;
	if (num) {
		l->ip = calloc(num, sizeof(*l->ip));
		if (l->ip == NULL) {
			free(l);
			return WD_ENOMEM;
		}
	}
	for (i = 0; i < num; i++) {
		const uint8_t *b = buf + 4 + (size_t)i * CTDB_PUBLIC_IP_LEN;
		l->ip[i].pnn = get32(b);
		rc = ctdb_sock_addr_pull(b + 4, CTDB_SOCK_ADDR_LEN, &l->ip[i].addr, &n);
		if (rc) {
			ctdb_public_ip_list_free(l);
			return rc;
		}
	}
	*out = l;
	*npull = ctdb_public_ip_list_len(l);
	return 0;
}

void ctdb_public_ip_list_free(struct ctdb_public_ip_list *l)
{
	if (l == NULL)
		return;
	free(l->ip);
	free(l);
}

/* pnn(4) + addr(28) + active_idx(4) + num(4) + num x iface(24) */
size_t ctdb_public_ip_info_len(const struct ctdb_public_ip_info *i)
{
	return CTDB_PUBLIC_IP_LEN + 8 + (size_t)i->num * CTDB_IFACE_LEN;
}

void ctdb_public_ip_info_push(const struct ctdb_public_ip_info *i, uint8_t *buf)
{
	uint32_t k;

	put32(buf, i->ip.pnn);
	ctdb_sock_addr_push(&i->ip.addr, buf + 4);
	put32(buf + 32, i->active_idx);
	put32(buf + 36, i->num);
	for (k = 0; k < i->num; k++)
		ctdb_iface_push(&i->ifaces[k], buf + 40 + (size_t)k * CTDB_IFACE_LEN);
}

int ctdb_public_ip_info_pull(const uint8_t *buf, size_t buflen, struct ctdb_public_ip_info **out,
                             size_t *npull)
{
	struct ctdb_public_ip_info *t;
	uint32_t num, k;
	size_t n;
	int rc;

	if (buflen < 40)
		return WD_ESHORT;
	num = get32(buf + 36);
	if (num > (buflen - 40) / CTDB_IFACE_LEN)
		return WD_ESHORT;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return WD_ENOMEM;
	t->ip.pnn = get32(buf);
	rc = ctdb_sock_addr_pull(buf + 4, CTDB_SOCK_ADDR_LEN, &t->ip.addr, &n);
	if (rc)
		goto fail;
	t->active_idx = get32(buf + 32);
	t->num = num;
	if (num) {
		t->ifaces = calloc(num, sizeof(*t->ifaces));
		if (t->ifaces == NULL) {
			rc = WD_ENOMEM;
			goto fail;
		}
	}
	for (k = 0; k < num; k++) {
		rc = ctdb_iface_pull(buf + 40 + (size_t)k * CTDB_IFACE_LEN, CTDB_IFACE_LEN,
		                     &t->ifaces[k], &n);
		if (rc)
			goto fail;
	}
	*out = t;
	*npull = ctdb_public_ip_info_len(t);
	return 0;
fail:
	ctdb_public_ip_info_free(t);
	return rc;
}

void ctdb_public_ip_info_free(struct ctdb_public_ip_info *i)
{
	if (i == NULL)
		return;
	free(i->ifaces);
	free(i);
}

/* ---- exact reply data ---- */

int ctdb_reply_node_map(const struct ctdb_reply_control *r, struct ctdb_node_map **out)
{
	struct ctdb_node_map *m;
	size_t n;
	int rc;

	if (r->status != 0)
		return WD_EIO;
	rc = ctdb_node_map_pull(r->data, r->datalen, &m, &n);
	if (rc)
		return rc == WD_ESHORT ? WD_EPROTO : rc;
	if (n != r->datalen) {
		ctdb_node_map_free(m);
		return WD_EPROTO;
	}
	*out = m;
	return 0;
}

int ctdb_reply_public_ips(const struct ctdb_reply_control *r, struct ctdb_public_ip_list **out)
{
	struct ctdb_public_ip_list *l;
	size_t n;
	int rc;

	if (r->status != 0)
		return WD_EIO;
	rc = ctdb_public_ip_list_pull(r->data, r->datalen, &l, &n);
	if (rc)
		return rc == WD_ESHORT ? WD_EPROTO : rc;
	if (n != r->datalen) {
		ctdb_public_ip_list_free(l);
		return WD_EPROTO;
	}
	*out = l;
	return 0;
}

int ctdb_reply_runstate(const struct ctdb_reply_control *r, uint32_t *runstate)
{
	uint32_t v;
	size_t n;

	if (r->status != 0)
		return WD_EIO;
	if (r->datalen != 4 || ctdb_uint32_pull(r->data, r->datalen, &v, &n) != 0)
		return WD_EPROTO;
	*runstate = v;
	return 0;
}

/* ---- witnessd peer message ---- */

size_t ctdb_wdpeer_msg_len(const struct ctdb_wdpeer_msg *m)
{
	return 16 + strnlen(m->ip, CLUSTER_ADDRSTRLEN - 1) + 1;
}

void ctdb_wdpeer_msg_push(const struct ctdb_wdpeer_msg *m, uint8_t *buf)
{
	size_t l = strnlen(m->ip, CLUSTER_ADDRSTRLEN - 1);

	put32(buf, CTDB_WDPEER_MAGIC);
	put32(buf + 4, 1);
	put32(buf + 8, m->event);
	put32(buf + 12, m->pnn);
	memcpy(buf + 16, m->ip, l);
	buf[16 + l] = 0;
}

int ctdb_wdpeer_msg_pull(const uint8_t *buf, size_t buflen, struct ctdb_wdpeer_msg *m,
                         size_t *npull)
{
	struct ctdb_wdpeer_msg t;
	const uint8_t *nul;
	size_t l;

	if (buflen < 17)
		return WD_ESHORT;
	if (get32(buf) != CTDB_WDPEER_MAGIC)
		return WD_EPROTO;
	if (get32(buf + 4) != 1)
		return WD_EVERSION;
	memset(&t, 0, sizeof(t));
	t.event = get32(buf + 8);
	t.pnn = get32(buf + 12);
	l = buflen - 16 < CLUSTER_ADDRSTRLEN ? buflen - 16 : CLUSTER_ADDRSTRLEN;
	nul = memchr(buf + 16, 0, l);
	if (nul == NULL)
		return buflen - 16 < CLUSTER_ADDRSTRLEN ? WD_ESHORT : WD_ERANGE;
	memcpy(t.ip, buf + 16, (size_t)(nul - (buf + 16)));
	*m = t;
	*npull = (size_t)(nul - buf) + 1;
	return 0;
}

uint32_t ctdb_wdpeer_event(const uint8_t *buf, size_t buflen)
{
	if (buflen < 16 || get32(buf) != CTDB_WDPEER_MAGIC)
		return 0;
	return get32(buf + 8);
}

size_t ctdb_wdpeer_admin_len(size_t datalen)
{
	return CTDB_WDPEER_ADMIN_HDR + datalen;
}

void ctdb_wdpeer_admin_push(uint32_t pnn, const void *data, size_t datalen, uint8_t *buf)
{
	put32(buf, CTDB_WDPEER_MAGIC);
	put32(buf + 4, 1);
	put32(buf + 8, CTDB_WDPEER_ADMIN);
	put32(buf + 12, pnn);
	put32(buf + 16, (uint32_t)datalen);
	if (datalen > 0)
		memcpy(buf + CTDB_WDPEER_ADMIN_HDR, data, datalen);
}

int ctdb_wdpeer_admin_pull(const uint8_t *buf, size_t buflen, uint32_t *pnn, const uint8_t **data,
                           size_t *datalen)
{
	uint32_t l;

	if (buflen < CTDB_WDPEER_ADMIN_HDR)
		return WD_ESHORT;
	if (get32(buf) != CTDB_WDPEER_MAGIC || get32(buf + 8) != CTDB_WDPEER_ADMIN)
		return WD_EPROTO;
	if (get32(buf + 4) != 1)
		return WD_EVERSION;
	l = get32(buf + 16);
	if (l > CTDB_WDPEER_ADMIN_MAX)
		return WD_ERANGE;
	if (buflen - CTDB_WDPEER_ADMIN_HDR < l)
		return WD_ESHORT;
	if (buflen - CTDB_WDPEER_ADMIN_HDR > l)
		return WD_EPROTO;
	*pnn = get32(buf + 12);
	*data = buf + CTDB_WDPEER_ADMIN_HDR;
	*datalen = l;
	return 0;
}
