/*
 * fuzz_ctdb.c - libFuzzer target for the CTDB packet parser: the input is
 * a byte stream as read from ctdbd's socket. It is split into packets by
 * hdr.length exactly as the client does, each packet goes through
 * ctdb_packet_pull, and the payloads through every reply-data and message
 * parser the client and backend use. Whatever parses must survive a
 * push / pull round trip unchanged.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/ctdb.h"
#include "witness/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_node_map(const struct ctdb_reply_control *r)
{
	struct ctdb_node_map *m, *m2;
	uint8_t *buf;
	size_t n;

	if (ctdb_reply_node_map(r, &m) != 0)
		return;
	buf = malloc(ctdb_node_map_len(m) + 1);
	assert(buf != NULL);
	ctdb_node_map_push(m, buf);
	assert(ctdb_node_map_pull(buf, ctdb_node_map_len(m), &m2, &n) == 0);
	assert(n == ctdb_node_map_len(m) && m2->num == m->num);
	assert(m->num == 0 || memcmp(m->node, m2->node, m->num * sizeof(m->node[0])) == 0);
	ctdb_node_map_free(m2);
	ctdb_node_map_free(m);
	free(buf);
}

static void check_public_ips(const struct ctdb_reply_control *r)
{
	struct ctdb_public_ip_list *l, *l2;
	uint8_t *buf;
	size_t n;

	if (ctdb_reply_public_ips(r, &l) != 0)
		return;
	buf = malloc(ctdb_public_ip_list_len(l) + 1);
	assert(buf != NULL);
	ctdb_public_ip_list_push(l, buf);
	assert(ctdb_public_ip_list_pull(buf, ctdb_public_ip_list_len(l), &l2, &n) == 0);
	assert(l2->num == l->num);
	assert(l->num == 0 || memcmp(l->ip, l2->ip, l->num * sizeof(l->ip[0])) == 0);
	for (uint32_t i = 0; i < l->num; i++) {
		char s[64];
		if (ctdb_sock_addr_to_string(&l->ip[i].addr, s, sizeof(s)) == 0) {
			struct ctdb_sock_addr a;
			assert(ctdb_sock_addr_from_string(s, 0, &a) == 0);
		}
	}
	/* The backend's view building over untrusted lists. */
	{
		uint32_t pnn = l->num ? l->ip[0].pnn : 0;
		struct ctdb_public_ip_list *lists[1] = {l};
		struct cluster_view *v = ctdb_build_view(0, NULL, &pnn, lists, 1, true, false);
		if (v)
			cluster_view_free(v);
	}
	ctdb_public_ip_list_free(l2);
	ctdb_public_ip_list_free(l);
	free(buf);
}

static void check_ip_info(const struct ctdb_reply_control *r)
{
	struct ctdb_public_ip_info *i, *i2;
	uint8_t *buf;
	size_t n;

	if (ctdb_public_ip_info_pull(r->data, r->datalen, &i, &n) != 0)
		return;
	buf = malloc(ctdb_public_ip_info_len(i));
	assert(buf != NULL);
	ctdb_public_ip_info_push(i, buf);
	assert(ctdb_public_ip_info_pull(buf, ctdb_public_ip_info_len(i), &i2, &n) == 0);
	assert(i2->num == i->num && i2->active_idx == i->active_idx);
	ctdb_public_ip_info_free(i2);
	ctdb_public_ip_info_free(i);
	free(buf);
}

static void check_reply(const struct ctdb_reply_control *r)
{
	uint32_t rs;
	struct ctdb_connection c;
	size_t n;

	check_node_map(r);
	check_public_ips(r);
	check_ip_info(r);
	(void)ctdb_reply_runstate(r, &rs);
	if (ctdb_connection_pull(r->data, r->datalen, &c, &n) == 0) {
		uint8_t b[CTDB_CONNECTION_LEN];
		struct ctdb_connection c2;
		ctdb_connection_push(&c, b);
		assert(ctdb_connection_pull(b, sizeof(b), &c2, &n) == 0);
		assert(memcmp(&c, &c2, sizeof(c)) == 0);
	}
}

static void check_message(const struct ctdb_req_message *m)
{
	struct ctdb_wdpeer_msg p, p2;
	uint8_t b[16 + CLUSTER_ADDRSTRLEN];
	size_t n;

	if (ctdb_wdpeer_msg_pull(m->data, m->datalen, &p, &n) == 0) {
		assert(n <= m->datalen);
		ctdb_wdpeer_msg_push(&p, b);
		assert(ctdb_wdpeer_msg_pull(b, ctdb_wdpeer_msg_len(&p), &p2, &n) == 0);
		assert(strcmp(p.ip, p2.ip) == 0 && p.event == p2.event && p.pnn == p2.pnn);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	/* Framing as in client.c read_cb. */
	while (size - off >= 4) {
		uint32_t plen;
		struct ctdb_packet p;
		uint8_t *copy;

		memcpy(&plen, data + off, 4);
		if (plen < CTDB_REQ_HEADER_LEN || plen > CTDB_MAX_PACKET || plen > size - off)
			break;
		/* An exact-size heap copy, so ASan sees any over-read. */
		copy = malloc(plen);
		assert(copy != NULL);
		memcpy(copy, data + off, plen);
		if (ctdb_packet_pull(copy, plen, &p) == 0) {
			if (p.hdr.operation == CTDB_REPLY_CONTROL) {
				assert(CTDB_REPLY_CONTROL_HDR_LEN + (size_t)p.u.reply.datalen +
				           p.u.reply.errorlen <=
				       plen);
				check_reply(&p.u.reply);
			} else if (p.hdr.operation == CTDB_REQ_MESSAGE) {
				assert(CTDB_REQ_MESSAGE_HDR_LEN + (size_t)p.u.message.datalen <=
				       plen);
				check_message(&p.u.message);
			}
		}
		free(copy);
		off += plen;
	}
	return 0;
}
