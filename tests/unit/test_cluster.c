/*
 * test_cluster.c - the cluster core: table-driven view diff, publish /
 * subscribe, release callback and the static backend's set_ip.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "witness/cluster.h"
#include "witness/err.h"

struct ipdef {
	const char *addr;
	uint32_t node;
	uint32_t pinned;
	bool available;
};

#define N    CLUSTER_NODE_NONE
#define MAXI 4
#define MAXE 6

struct diff_case {
	const char *name;
	uint32_t old_local, new_local;
	struct ipdef old_ips[MAXI];
	struct ipdef new_ips[MAXI];
	/* expected events as "U|A addr moved removed" strings */
	const char *events[MAXE];
};

static const struct diff_case diff_cases[] = {
    {"no change", 0, 0, {{"127.0.100.1", 1, N, true}}, {{"127.0.100.1", 1, N, true}}, {NULL}},
    {"move between nodes",
     0,
     0,
     {{"127.0.100.1", 1, N, true}},
     {{"127.0.100.1", 2, N, true}},
     {"U 127.0.100.1 moved=1 removed=0 old=1 new=2",
      "A 127.0.100.1 moved=1 removed=0 old=1 new=2"}},
    {"move to an unavailable state",
     0,
     0,
     {{"127.0.100.1", 1, N, true}},
     {{"127.0.100.1", 2, N, false}},
     {"U 127.0.100.1 moved=1 removed=0 old=1 new=2"}},
    {"node loss (no node)",
     0,
     0,
     {{"127.0.100.1", 1, N, true}, {"127.0.100.2", 2, N, true}},
     {{"127.0.100.1", N, N, true}, {"127.0.100.2", 2, N, true}},
     {"U 127.0.100.1 moved=0 removed=0 old=1 new=-1"}},
    {"node back",
     0,
     0,
     {{"127.0.100.1", N, N, true}},
     {{"127.0.100.1", 1, N, true}},
     {"A 127.0.100.1 moved=0 removed=0 old=-1 new=1"}},
    {"made unavailable",
     0,
     0,
     {{"127.0.100.1", 1, N, true}},
     {{"127.0.100.1", 1, N, false}},
     {"U 127.0.100.1 moved=0 removed=0 old=1 new=1"}},
    {"made available",
     0,
     0,
     {{"127.0.100.1", 1, N, false}},
     {{"127.0.100.1", 1, N, true}},
     {"A 127.0.100.1 moved=0 removed=0 old=1 new=1"}},
    {"IP added",
     0,
     0,
     {{"127.0.100.1", 1, N, true}},
     {{"127.0.100.1", 1, N, true}, {"::1", 2, N, true}, {"127.0.100.9", 2, N, false}},
     {"A ::1 moved=0 removed=0 old=-1 new=2"}},
    {"IP removed",
     0,
     0,
     {{"127.0.100.1", 1, N, true}, {"127.0.100.2", 2, N, true}},
     {{"127.0.100.2", 2, N, true}},
     {"U 127.0.100.1 moved=0 removed=1 old=1 new=-1"}},
    {"local flag flips (local node renumbered)",
     0,
     1,
     {{"127.0.100.1", 1, N, true}, {"127.0.100.2", 2, N, true}},
     {{"127.0.100.1", 1, N, true}, {"127.0.100.2", 2, N, true}},
     {"U 127.0.100.1 moved=0 removed=0 old=1 new=1",
      "A 127.0.100.1 moved=0 removed=0 old=1 new=1"}},
    {"local flag flips (pinned)",
     0,
     0,
     {{"127.0.0.2", 1, N, true}},
     {{"127.0.0.2", 1, 0, true}},
     {"U 127.0.0.2 moved=0 removed=0 old=1 new=1", "A 127.0.0.2 moved=0 removed=0 old=1 new=1"}},
    {"any spelling of v6 is one IP",
     0,
     0,
     {{"fd00::1", 1, N, true}},
     {{"fd00:0:0::1", 2, N, true}},
     {"U fd00::1 moved=1 removed=0 old=1 new=2", "A fd00::1 moved=1 removed=0 old=1 new=2"}},
};

struct rec {
	char ev[MAXE + 4][96];
	int n;
};

static void record(void *arg, const struct cluster_event *ev)
{
	struct rec *r = arg;

	ck_assert_int_lt(r->n, MAXE + 4);
	snprintf(r->ev[r->n++], sizeof(r->ev[0]), "%c %s moved=%d removed=%d old=%d new=%d",
	         ev->type == CLUSTER_IP_AVAILABLE ? 'A' : 'U', ev->ip->addr, ev->moved, ev->removed,
	         (int)ev->old_node, (int)ev->new_node);
}

static struct cluster_view *mk(uint32_t local, const struct ipdef *d)
{
	struct cluster_view *v = cluster_view_new(local);

	for (int i = 0; i < MAXI && d[i].addr != NULL; i++)
		ck_assert_int_eq(
		    cluster_view_add(v, d[i].addr, d[i].node, d[i].pinned, d[i].available), 0);
	return v;
}

START_TEST(test_diff_table)
{
	const struct diff_case *tc = &diff_cases[_i];
	struct cluster_view *o = mk(tc->old_local, tc->old_ips);
	struct cluster_view *n = mk(tc->new_local, tc->new_ips);
	struct rec r = {0};
	int want = 0;

	cluster_view_diff(o, n, record, &r);
	while (want < MAXE && tc->events[want] != NULL)
		want++;
	for (int i = 0; i < r.n && i < want; i++)
		ck_assert_msg(strcmp(r.ev[i], tc->events[i]) == 0,
		              "%s: event %d: got '%s' want '%s'", tc->name, i, r.ev[i],
		              tc->events[i]);
	ck_assert_msg(r.n == want, "%s: %d events, want %d", tc->name, r.n, want);
	cluster_view_free(o);
	cluster_view_free(n);
}
END_TEST

START_TEST(test_view_add_find)
{
	struct cluster_view *v = cluster_view_new(0);
	const struct cluster_ip *ip;

	ck_assert_int_eq(cluster_view_add(v, "127.0.100.1", 0, N, true), 0);
	ck_assert_int_eq(cluster_view_add(v, "FD00:0::2", 1, N, false), 0);
	ck_assert_int_eq(cluster_view_add(v, "127.0.100.1", 1, N, true), WD_EEXIST);
	ck_assert_int_eq(cluster_view_add(v, "fd00::2", 1, N, true), WD_EEXIST);
	ck_assert_int_eq(cluster_view_add(v, "garbage", 1, N, true), WD_EINVAL);
	ck_assert_int_eq(cluster_view_add(v, "10.0.0.256", 1, N, true), WD_EINVAL);
	ck_assert_int_eq(cluster_view_add(v, "", 1, N, true), WD_EINVAL);
	ck_assert_uint_eq(v->n, 2);
	ip = cluster_view_find(v, "fd00::0:2");
	ck_assert_ptr_nonnull(ip);
	ck_assert_str_eq(ip->addr, "fd00::2");
	ck_assert_int_eq(ip->family, AF_INET6);
	ck_assert_ptr_null(cluster_view_find(v, "127.0.100.2"));
	ck_assert_ptr_null(cluster_view_find(v, "nonsense"));
	ip = cluster_view_find(v, "127.0.100.1");
	ck_assert_ptr_nonnull(ip);
	ck_assert_int_eq(ip->bytes[0], 127);
	ck_assert_int_eq(ip->bytes[2], 100);
	ck_assert(cluster_ip_is_local(v, ip));
	ck_assert(!cluster_ip_is_local(v, cluster_view_find(v, "fd00::2")));
	struct cluster_view *d = cluster_view_dup(v);
	ck_assert_uint_eq(d->n, 2);
	ck_assert_str_eq(d->ips[1].addr, "fd00::2");
	cluster_view_free(d);
	cluster_view_free(v);
}
END_TEST

struct sub {
	struct rec rec;
	const cluster_t *c;
	uint64_t gen_seen;
	char released[8][CLUSTER_ADDRSTRLEN];
	int n_released;
};

static void sub_event(void *arg, const struct cluster_event *ev)
{
	struct sub *s = arg;

	/* The new view is already current while events run. */
	s->gen_seen = cluster_view(s->c)->generation;
	record(&s->rec, ev);
}

static void sub_release(void *arg, const char *addr)
{
	struct sub *s = arg;

	snprintf(s->released[s->n_released++], CLUSTER_ADDRSTRLEN, "%s", addr);
}

START_TEST(test_static_backend)
{
	uv_loop_t loop;
	cluster_t *c;
	struct cluster_view *init = cluster_view_new(0);
	struct sub s = {0};

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(cluster_view_add(init, "127.0.100.1", 0, N, true), 0);
	ck_assert_int_eq(cluster_view_add(init, "127.0.100.2", 1, N, true), 0);
	ck_assert_int_eq(cluster_static_new(&loop, init, &c), 0);
	cluster_view_free(init);
	s.c = c;
	ck_assert_str_eq(cluster_backend_name(c), "static");
	ck_assert_uint_eq(cluster_view(c)->n, 2);
	ck_assert_int_eq(cluster_start(c), 0);
	cluster_subscribe(c, sub_event, &s);
	cluster_on_release(c, sub_release, &s);
	uint64_t g0 = cluster_view(c)->generation;

	/* Unknown IP, and no change: no new view. */
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.9", 0, N), WD_ENOTFOUND);
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.2", 1, N), 0);
	ck_assert_int_eq(cluster_view(c)->generation, g0);
	ck_assert_int_eq(s.rec.n, 0);

	/* Unavailable: one event, new generation, not local: no release. */
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.2", 0, N), 0);
	ck_assert_int_eq(s.rec.n, 1);
	ck_assert_str_eq(s.rec.ev[0], "U 127.0.100.2 moved=0 removed=0 old=1 new=1");
	ck_assert_int_eq(s.gen_seen, g0 + 1);
	ck_assert(!cluster_view_find(cluster_view(c), "127.0.100.2")->available);
	ck_assert_int_eq(s.n_released, 0);

	/* Move the local IP away: U + A, and released by this node. */
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.1", -1, 2), 0);
	ck_assert_int_eq(s.rec.n, 3);
	ck_assert_str_eq(s.rec.ev[1], "U 127.0.100.1 moved=1 removed=0 old=0 new=2");
	ck_assert_str_eq(s.rec.ev[2], "A 127.0.100.1 moved=1 removed=0 old=0 new=2");
	ck_assert_int_eq(s.n_released, 1);
	ck_assert_str_eq(s.released[0], "127.0.100.1");
	ck_assert_int_eq(cluster_view_find(cluster_view(c), "127.0.100.1")->node, 2);

	/* Back available with a node change in one call: a move is U then A. */
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.2", 1, 3), 0);
	ck_assert_int_eq(s.rec.n, 5);
	ck_assert_str_eq(s.rec.ev[3], "U 127.0.100.2 moved=1 removed=0 old=1 new=3");
	ck_assert_str_eq(s.rec.ev[4], "A 127.0.100.2 moved=1 removed=0 old=1 new=3");

	char *js = cluster_status_json(c);
	ck_assert_ptr_nonnull(js);
	ck_assert_ptr_nonnull(strstr(js, "\"ip\":\"127.0.100.2\",\"node\":3,\"available\":true"));
	free(js);
	ck_assert_int_eq(cluster_set_ip(c, "127.0.100.2", 7, N), WD_EINVAL);
	cluster_stop(c);
	cluster_free(c);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *cluster_suite(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_diff_table, 0, sizeof(diff_cases) / sizeof(diff_cases[0]));
	tcase_add_test(tc, test_view_add_find);
	tcase_add_test(tc, test_static_backend);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cluster_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
