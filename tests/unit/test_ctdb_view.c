/*
 * test_ctdb_view.c - building the cluster view from canned GET_NODEMAP and
 * GET_PUBLIC_IPS replies (bytes as ctdbd 4.17 sends them), and the events
 * the core derives from two such views: move, node loss, node back, IP
 * added, IP removed, node disabled, node IPs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "witness/cluster.h"
#include "witness/ctdb.h"
#include "witness/err.h"

#define U     CTDB_UNKNOWN_PNN
#define MAXN  3
#define MAXIP 4

/* A cluster as ctdbd would describe it. */
struct scenario {
	uint32_t flags[MAXN];             /* per node pnn 0..2 */
	const char *ips[MAXIP];           /* public IPs (all nodes list all) */
	uint32_t holder[MAXIP];           /* true holder or U */
	uint32_t belief_of_others[MAXIP]; /* what non-holders report (0 = same as holder) */
};

/* Encode a reply as ctdbd does (header + padded), then parse it back. */
static struct ctdb_reply_control *mk_reply(uint8_t *buf, size_t cap, const uint8_t *data,
                                           size_t datalen)
{
	static struct ctdb_reply_control out;
	struct ctdb_reply_control r;
	struct ctdb_packet p;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.hdr.ctdb_magic = CTDB_MAGIC;
	r.hdr.ctdb_version = CTDB_PROTOCOL;
	r.hdr.operation = CTDB_REPLY_CONTROL;
	r.datalen = (uint32_t)datalen;
	r.data = data;
	len = (ctdb_reply_control_len(&r) + 7) & ~(size_t)7;
	ck_assert_uint_le(len, cap);
	r.hdr.length = (uint32_t)len;
	ctdb_reply_control_push(&r, buf);
	ck_assert_int_eq(ctdb_packet_pull(buf, len, &p), 0);
	out = p.u.reply;
	return &out;
}

static struct cluster_view *view_of(const struct scenario *s, uint32_t local, bool node_ips)
{
	struct ctdb_node_map nm, *pm;
	struct ctdb_node_and_flags nodes[MAXN];
	struct ctdb_public_ip_list *lists[MAXN];
	uint32_t pnns[MAXN];
	uint8_t data[1024], pkt[1200];
	size_t nl = 0;
	struct cluster_view *v;

	nm.num = MAXN;
	nm.node = nodes;
	for (uint32_t i = 0; i < MAXN; i++) {
		char a[32];
		nodes[i].pnn = i;
		nodes[i].flags = s->flags[i];
		snprintf(a, sizeof(a), "10.77.0.%u", i + 1);
		ck_assert_int_eq(ctdb_sock_addr_from_string(a, 4379, &nodes[i].addr), 0);
	}
	ctdb_node_map_push(&nm, data);
	ck_assert_int_eq(
	    ctdb_reply_node_map(mk_reply(pkt, sizeof(pkt), data, ctdb_node_map_len(&nm)), &pm), 0);
	ck_assert_uint_eq(pm->num, MAXN);

	for (uint32_t i = 0; i < MAXN; i++) {
		struct ctdb_public_ip ips[MAXIP];
		struct ctdb_public_ip_list l = {.num = 0, .ip = ips};

		/* The backend queries only connected nodes. */
		if (s->flags[i] & (CTDB_NODE_DISCONNECTED | CTDB_NODE_DELETED))
			continue;
		for (int k = 0; k < MAXIP && s->ips[k]; k++) {
			ck_assert_int_eq(ctdb_sock_addr_from_string(s->ips[k], 0, &ips[l.num].addr),
			                 0);
			ips[l.num].pnn = s->holder[k];
			if (s->holder[k] != i && s->belief_of_others[k])
				ips[l.num].pnn = s->belief_of_others[k];
			l.num++;
		}
		ctdb_public_ip_list_push(&l, data);
		pnns[nl] = i;
		ck_assert_int_eq(
		    ctdb_reply_public_ips(
		        mk_reply(pkt, sizeof(pkt), data, ctdb_public_ip_list_len(&l)), &lists[nl]),
		    0);
		nl++;
	}
	v = ctdb_build_view(local, pm, pnns, lists, nl, true, node_ips);
	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < nl; i++)
		ctdb_public_ip_list_free(lists[i]);
	ctdb_node_map_free(pm);
	return v;
}

struct evlog {
	char s[16][64];
	int n;
};

static void on_event(void *arg, const struct cluster_event *ev)
{
	struct evlog *l = arg;

	ck_assert_int_lt(l->n, 16);
	snprintf(l->s[l->n++], 64, "%c %s %d%s%s", ev->type == CLUSTER_IP_AVAILABLE ? 'A' : 'U',
	         ev->ip->addr, ev->new_node == CLUSTER_NODE_NONE ? -1 : (int)ev->new_node,
	         ev->moved ? " moved" : "", ev->removed ? " removed" : "");
}

struct diff_case {
	const char *name;
	struct scenario old_s, new_s;
	const char *events[6];
};

#define DIS CTDB_NODE_DISCONNECTED
#define IA  (CTDB_NODE_DISCONNECTED | CTDB_NODE_UNHEALTHY) /* dead node as others see it */

static const struct diff_case cases[] = {
    {"no change",
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {NULL}},
    {"moveip 10.77.1.1 from node 0 to 2",
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {2, 1}, {0}},
     {"U 10.77.1.1 2 moved", "A 10.77.1.1 2 moved"}},
    {"released, not yet taken (RELEASE_IP seen first)",
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {U, 1}, {0}},
     {"U 10.77.1.1 -1"}},
    {"others still believe node 0 holds it, node 0 released it",
     {{0, 0, 0}, {"10.77.1.1"}, {0}, {0}},
     {{0, 0, 0}, {"10.77.1.1"}, {U}, {0}},
     {"U 10.77.1.1 -1"}},
    {"stale belief does not override the holder's own claim",
     {{0, 0, 0}, {"10.77.1.1"}, {2}, {0}},
     {{0, 0, 0}, {"10.77.1.1"}, {2}, {1}},
     {NULL}},
    {"node 1 lost: its IP taken over by node 0",
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {{0, IA, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 0}, {0}},
     {"U 10.77.1.2 0 moved", "A 10.77.1.2 0 moved"}},
    {"node 1 lost, before takeover: others still name it",
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {{0, IA, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {"U 10.77.1.2 -1"}},
    {"node 1 back: takes an IP again",
     {{0, IA, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 0}, {0}},
     {{0, 0, 0}, {"10.77.1.1", "10.77.1.2"}, {0, 1}, {0}},
     {"U 10.77.1.2 1 moved", "A 10.77.1.2 1 moved"}},
    {"node 2 disabled while still holding (flags first)",
     {{0, 0, 0}, {"10.77.1.3"}, {2}, {0}},
     {{0, 0, CTDB_NODE_PERMANENTLY_DISABLED}, {"10.77.1.3"}, {2}, {0}},
     {"U 10.77.1.3 2"}},
    {"IP added (ctdb addip)",
     {{0, 0, 0}, {"10.77.1.1"}, {0}, {0}},
     {{0, 0, 0}, {"10.77.1.1", "fd77::5"}, {0, 1}, {0}},
     {"A fd77::5 1"}},
    {"IP removed (ctdb delip)",
     {{0, 0, 0}, {"10.77.1.1", "fd77::5"}, {0, 1}, {0}},
     {{0, 0, 0}, {"10.77.1.1"}, {0}, {0}},
     {"U fd77::5 -1 removed"}},
    {"banned node's IPs unavailable",
     {{0, 0, 0}, {"10.77.1.1"}, {1}, {0}},
     {{0, CTDB_NODE_BANNED, 0}, {"10.77.1.1"}, {1}, {0}},
     {"U 10.77.1.1 1"}},
};

START_TEST(test_diff_table)
{
	const struct diff_case *dc = &cases[_i];
	struct cluster_view *a = view_of(&dc->old_s, 0, false);
	struct cluster_view *b = view_of(&dc->new_s, 0, false);
	struct evlog log = {.n = 0};
	int n = 0;

	cluster_view_diff(a, b, on_event, &log);
	while (n < 6 && dc->events[n])
		n++;
	if (log.n != n) {
		for (int i = 0; i < log.n; i++)
			fprintf(stderr, "%s: got %s\n", dc->name, log.s[i]);
	}
	ck_assert_msg(log.n == n, "%s: %d events, expected %d", dc->name, log.n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(strcmp(log.s[i], dc->events[i]) == 0, "%s: event %d '%s' != '%s'",
		              dc->name, i, log.s[i], dc->events[i]);
	cluster_view_free(a);
	cluster_view_free(b);
}
END_TEST

START_TEST(test_view_contents)
{
	struct scenario s = {{0, 0, CTDB_NODE_UNHEALTHY},
	                     {"10.77.1.2", "10.77.1.1", "fd77::5", "10.77.1.3"},
	                     {1, 0, U, 2},
	                     {0}};
	struct cluster_view *v = view_of(&s, 1, false);
	const struct cluster_ip *ip;

	ck_assert_uint_eq(v->local_node, 1);
	ck_assert_uint_eq(v->n, 4);
	/* Sorted: IPv4 first, by address. */
	ck_assert_str_eq(v->ips[0].addr, "10.77.1.1");
	ck_assert_str_eq(v->ips[1].addr, "10.77.1.2");
	ck_assert_str_eq(v->ips[2].addr, "10.77.1.3");
	ck_assert_str_eq(v->ips[3].addr, "fd77::5");
	ip = cluster_view_find(v, "10.77.1.2");
	ck_assert_uint_eq(ip->node, 1);
	ck_assert(ip->available);
	ck_assert(cluster_ip_is_local(v, ip));
	ip = cluster_view_find(v, "10.77.1.1");
	ck_assert_uint_eq(ip->node, 0);
	ck_assert(!cluster_ip_is_local(v, ip));
	ip = cluster_view_find(v, "fd77::5");
	ck_assert_uint_eq(ip->node, CLUSTER_NODE_NONE);
	ck_assert(!ip->available);
	ip = cluster_view_find(v, "10.77.1.3"); /* holder unhealthy */
	ck_assert_uint_eq(ip->node, 2);
	ck_assert(!ip->available);
	cluster_view_free(v);

	/* include node ips: pinned, available unless INACTIVE; DELETED left out. */
	s.flags[0] = CTDB_NODE_DISCONNECTED;
	s.flags[2] = CTDB_NODE_DELETED;
	v = view_of(&s, 1, true);
	ip = cluster_view_find(v, "10.77.0.2");
	ck_assert_ptr_nonnull(ip);
	ck_assert_uint_eq(ip->pinned_node, 1);
	ck_assert(ip->available);
	ip = cluster_view_find(v, "10.77.0.1");
	ck_assert_ptr_nonnull(ip);
	ck_assert(!ip->available);
	ck_assert_ptr_null(cluster_view_find(v, "10.77.0.3"));
	/* Public IPs only from node 1 (0 disconnected, 2 deleted): it claims
	 * 10.77.1.2, the others have no holder. */
	ip = cluster_view_find(v, "10.77.1.1");
	ck_assert_uint_eq(ip->node, CLUSTER_NODE_NONE);
	ck_assert(cluster_view_find(v, "10.77.1.2")->available);
	cluster_view_free(v);
}
END_TEST

START_TEST(test_missing_replies)
{
	/* A node that did not answer (NULL list) contributes nothing. */
	struct ctdb_public_ip_list *lists[2] = {NULL, NULL};
	uint32_t pnns[2] = {0, 1};
	struct cluster_view *v = ctdb_build_view(0, NULL, pnns, lists, 2, true, true);

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->n, 0);
	cluster_view_free(v);
}
END_TEST

static Suite *ctdb_view_suite(void)
{
	Suite *s = suite_create("ctdb_view");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_diff_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_view_contents);
	tcase_add_test(tc, test_missing_replies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctdb_view_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
