/*
 * test_ctdb_backend.c - the CTDB cluster backend against the fake ctdbd:
 * srvid registrations, the view from GET_NODEMAP + GET_PUBLIC_IPS of every
 * connected node, refresh on IPREALLOCATED (4.20+), RELEASE_IP (release
 * callback + relay to peers), TAKE_IP, peer relays and RECONFIGURE (4.17),
 * node flag changes seen by the nodemap poll, no view before RUNNING, view
 * kept while ctdbd is down, TCP_CLIENT tracking and its replay after a
 * reconnect.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "test_ctdb_fake.h"
#include "witness/cluster.h"
#include "witness/config.h"

/* ---- the cluster the fake ctdbd describes ---- */

#define NIP 3
static const char *const ips[NIP] = {"10.77.1.1", "10.77.1.2", "fd77::5"};
static uint32_t holder[NIP];
static uint32_t flags[3];
static uint32_t runstate;
static int mute_node = -1; /* answers GET_PUBLIC_IPS with -1 */

static bool respond(const struct ctdb_req_control *c)
{
	uint8_t d[512];

	if (c->opcode == CTDB_CONTROL_GET_NODEMAP) {
		struct ctdb_node_and_flags n[3];
		struct ctdb_node_map m = {3, n};
		for (uint32_t i = 0; i < 3; i++) {
			char a[32];
			n[i].pnn = i;
			n[i].flags = flags[i];
			snprintf(a, sizeof(a), "127.0.0.%u", i + 1);
			ctdb_sock_addr_from_string(a, 4379, &n[i].addr);
		}
		ctdb_node_map_push(&m, d);
		send_reply(c->hdr.reqid, 0, d, ctdb_node_map_len(&m), 0);
		return true;
	}
	if (c->opcode == CTDB_CONTROL_GET_PUBLIC_IPS) {
		struct ctdb_public_ip p[NIP];
		struct ctdb_public_ip_list l = {NIP, p};
		uint32_t node = c->hdr.destnode == CTDB_CURRENT_NODE ? F.pnn : c->hdr.destnode;

		ck_assert_uint_lt(node, 3);
		if ((int)node == mute_node) {
			send_reply(c->hdr.reqid, -1, NULL, 0, 0);
			return true;
		}
		/* as ctdbd: only connected nodes answer */
		ck_assert(!(flags[node] & CTDB_NODE_DISCONNECTED));
		for (int i = 0; i < NIP; i++) {
			ctdb_sock_addr_from_string(ips[i], 0, &p[i].addr);
			p[i].pnn = holder[i];
		}
		ctdb_public_ip_list_push(&l, d);
		send_reply(c->hdr.reqid, 0, d, ctdb_public_ip_list_len(&l), 0);
		return true;
	}
	if (c->opcode == CTDB_CONTROL_GET_RUNSTATE) {
		send_reply(c->hdr.reqid, 0, &runstate, 4, 0);
		return true;
	}
	if (c->opcode == CTDB_CONTROL_TCP_CLIENT_DISCONNECTED) {
		send_reply(c->hdr.reqid, -1, NULL, 0, 0); /* 4.17: unknown opcode */
		return true;
	}
	return false;
}

/* ---- the backend under test ---- */

static cluster_t *CL;
static struct {
	char s[32][64];
	int n;
} evs;
static char released[64];
static int nreleased;

static int nodemaps_seen(void)
{
	int n = 0;

	for (int k = 0; k < F.nrec; k++)
		n += F.recs[k].opcode == CTDB_CONTROL_GET_NODEMAP;
	return n;
}

static int ev_nodemaps[32]; /* GET_NODEMAPs the fake had seen at each event */

static void on_event(void *arg, const struct cluster_event *ev)
{
	ck_assert_int_lt(evs.n, 32);
	ev_nodemaps[evs.n] = nodemaps_seen();
	snprintf(evs.s[evs.n++], 64, "%c %s %d", ev->type == CLUSTER_IP_AVAILABLE ? 'A' : 'U',
	         ev->ip->addr, ev->new_node == CLUSTER_NODE_NONE ? -1 : (int)ev->new_node);
}

static void on_release(void *arg, const char *addr)
{
	snprintf(released, sizeof(released), "%s", addr);
	nreleased++;
}

static bool has_event(const char *e)
{
	for (int i = 0; i < evs.n; i++)
		if (strcmp(evs.s[i], e) == 0)
			return true;
	return false;
}

static const char *want_event;
static bool event_seen(void)
{
	return has_event(want_event);
}

static bool wait_event(const char *e, unsigned ms)
{
	want_event = e;
	return run_until(event_seen, ms);
}

static uint64_t gen0;
static bool republished(void)
{
	return cluster_view(CL)->generation > gen0;
}

static char *status(void)
{
	static char buf[2048];
	char *s = cluster_status_json(CL);

	ck_assert_ptr_nonnull(s);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static bool view_ready(void)
{
	return cluster_view(CL)->n == NIP;
}

static void setup(void)
{
	struct ctdb_backend_opts cfg;

	L = malloc(sizeof(*L));
	uv_loop_init(L);
	memset(&F, 0, sizeof(F));
	F.loop = L;
	F.pnn = 1;
	F.responder = respond;
	snprintf(F.path, sizeof(F.path), "/tmp/wd-fake-ctdbd-b%d.sock", (int)getpid());
	holder[0] = 0;
	holder[1] = 1;
	holder[2] = 2;
	flags[0] = flags[1] = flags[2] = 0;
	runstate = CTDB_RUNSTATE_RUNNING;
	mute_node = -1;
	evs.n = 0;
	nreleased = 0;
	released[0] = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.socket = F.path;
	cfg.include_public_ips = true;
	cfg.reread_interval = 0; /* only events drive refreshes here */
	ck_assert_int_eq(ctdb_cluster_new(L, &cfg, &CL), 0);
	ck_assert_str_eq(cluster_backend_name(CL), "ctdb");
	cluster_subscribe(CL, on_event, NULL);
	cluster_on_release(CL, on_release, NULL);
	fake_listen();
	ck_assert_int_eq(cluster_start(CL), 0);
	ck_assert(run_until(view_ready, 3000));
}

static void teardown(void)
{
	cluster_free(CL);
	fake_stop();
	run_for(30);
	unlink(F.path);
	ck_assert_int_eq(uv_loop_close(L), 0);
	free(L);
}

START_TEST(test_start_registers_and_builds_view)
{
	const struct cluster_view *v = cluster_view(CL);
	static const uint64_t srvids[] = {CTDB_SRVID_RELEASE_IP, CTDB_SRVID_TAKE_IP,
	                                  CTDB_SRVID_RECONFIGURE, CTDB_SRVID_IPREALLOCATED,
	                                  CTDB_SRVID_WITNESSD};
	int pub = 0;

	for (size_t i = 0; i < sizeof(srvids) / sizeof(srvids[0]); i++) {
		int n = 0;
		for (int k = 0; k < F.nrec; k++)
			n += F.recs[k].opcode == CTDB_CONTROL_REGISTER_SRVID &&
			     F.recs[k].srvid == srvids[i];
		ck_assert_int_eq(n, 1);
	}
	for (int k = 0; k < F.nrec; k++)
		if (F.recs[k].opcode == CTDB_CONTROL_GET_PUBLIC_IPS)
			pub++;
	ck_assert_int_eq(pub, 3); /* one per connected node */
	ck_assert_uint_eq(v->local_node, 1);
	ck_assert_uint_eq(cluster_view_find(v, "10.77.1.1")->node, 0);
	ck_assert_uint_eq(cluster_view_find(v, "10.77.1.2")->node, 1);
	ck_assert(cluster_ip_is_local(v, cluster_view_find(v, "10.77.1.2")));
	ck_assert_uint_eq(cluster_view_find(v, "fd77::5")->node, 2);
	ck_assert(has_event("A 10.77.1.1 0"));
	ck_assert(has_event("A fd77::5 2"));
	/* a HELLO to the peers on every node */
	ck_assert_int_ge(F.nmsg, 1);
	ck_assert_uint_eq(F.msgs[0].hdr.destnode, CTDB_BROADCAST_CONNECTED);
	ck_assert(F.msgs[0].srvid == CTDB_SRVID_WITNESSD);
	ck_assert_ptr_nonnull(strstr(status(), "\"state\":\"ok\""));
	ck_assert_ptr_nonnull(strstr(status(), "\"pnn\":1"));
}
END_TEST

START_TEST(test_ipreallocated_refresh)
{
	/* 4.20+: a move, then IPREALLOCATED on every node. */
	holder[0] = 2;
	evs.n = 0;
	send_msg(CTDB_SRVID_IPREALLOCATED, NULL, 0);
	ck_assert(wait_event("A 10.77.1.1 2", 500));
	ck_assert_str_eq(evs.s[0], "U 10.77.1.1 2");
	ck_assert_ptr_nonnull(strstr(status(), "\"ipreallocated\":1"));
}
END_TEST

START_TEST(test_release_ip_relay_and_callback)
{
	struct ctdb_wdpeer_msg m;
	size_t n;

	/* 4.17: this node released 10.77.1.2; nobody holds it yet. */
	holder[1] = CTDB_UNKNOWN_PNN;
	evs.n = 0;
	F.nmsg = 0;
	send_msg(CTDB_SRVID_RELEASE_IP, "10.77.1.2", 10);
	ck_assert(wait_event("U 10.77.1.2 -1", 500));
	ck_assert_int_eq(nreleased, 1);
	ck_assert_str_eq(released, "10.77.1.2");
	/* relayed to the witnessd of every node, naming us */
	ck_assert_int_ge(F.nmsg, 1);
	ck_assert(F.msgs[0].srvid == CTDB_SRVID_WITNESSD);
	ck_assert_uint_eq(F.msgs[0].hdr.destnode, CTDB_BROADCAST_CONNECTED);
	ck_assert_int_eq(ctdb_wdpeer_msg_pull(F.msgs[0].data, F.msgs[0].datalen, &m, &n), 0);
	ck_assert_uint_eq(m.event, CTDB_WDPEER_RELEASE_IP);
	ck_assert_uint_eq(m.pnn, 1);
	ck_assert_str_eq(m.ip, "10.77.1.2");

	/* Another node's witnessd relays its TAKE_IP: refresh, AVAILABLE. */
	holder[1] = 0;
	m.event = CTDB_WDPEER_TAKE_IP;
	m.pnn = 0;
	{
		uint8_t b[64];
		ctdb_wdpeer_msg_push(&m, b);
		send_msg(CTDB_SRVID_WITNESSD, b, ctdb_wdpeer_msg_len(&m));
	}
	ck_assert(wait_event("A 10.77.1.2 0", 500));

	/* A garbage payload neither crashes nor calls the release callback. */
	send_msg(CTDB_SRVID_RELEASE_IP, "not an ip", 10);
	run_for(50);
	ck_assert_int_eq(nreleased, 1);
}
END_TEST

START_TEST(test_release_ip_tells_at_once)
{
	struct ctdb_wdpeer_msg m = {.event = CTDB_WDPEER_RELEASE_IP, .pnn = 0};
	uint8_t b[64];
	int before;

	/* Our own RELEASE_IP: the UNAVAILABLE comes before any re-read was
	 * even asked for; the re-read (nobody holds it yet) adds nothing. */
	run_for(20);
	holder[1] = CTDB_UNKNOWN_PNN;
	evs.n = 0;
	F.nrec = 0;
	before = nodemaps_seen();
	send_msg(CTDB_SRVID_RELEASE_IP, "10.77.1.2", 10);
	ck_assert(wait_event("U 10.77.1.2 -1", 500));
	ck_assert_int_eq(ev_nodemaps[0], before);
	run_for(50);
	ck_assert_int_eq(evs.n, 1);
	/* ctdbd's next run has it on node 0: AVAILABLE there, no second U */
	holder[1] = 0;
	send_msg(CTDB_SRVID_IPREALLOCATED, NULL, 0);
	ck_assert(wait_event("A 10.77.1.2 0", 500));
	ck_assert_int_eq(evs.n, 2);

	/* A peer's relayed RELEASE_IP (4.17: ctdbd tells only the releasing
	 * node) names the address too. */
	evs.n = 0;
	F.nrec = 0;
	holder[0] = 2;
	snprintf(m.ip, sizeof(m.ip), "10.77.1.1");
	ctdb_wdpeer_msg_push(&m, b);
	send_msg(CTDB_SRVID_WITNESSD, b, ctdb_wdpeer_msg_len(&m));
	ck_assert(wait_event("A 10.77.1.1 2", 500));
	ck_assert_str_eq(evs.s[0], "U 10.77.1.1 -1");
	ck_assert_int_eq(ev_nodemaps[0], 0);
	ck_assert_int_eq(evs.n, 2);
	ck_assert_int_eq(nreleased, 1); /* only our own release drops connections */
}
END_TEST

START_TEST(test_reconfigure_and_flags_poll)
{
	/* node 2 dies: the others see it DISCONNECTED, then RECONFIGURE */
	run_for(50);
	F.nrec = 0;
	flags[2] = CTDB_NODE_DISCONNECTED | CTDB_NODE_UNHEALTHY;
	holder[2] = 0;
	evs.n = 0;
	send_msg(CTDB_SRVID_RECONFIGURE, NULL, 0);
	ck_assert(wait_event("A fd77::5 0", 500));
	for (int k = 0; k < F.nrec; k++)
		if (F.recs[k].opcode == CTDB_CONTROL_GET_PUBLIC_IPS)
			ck_assert_uint_ne(F.recs[k].destnode, 2);

	/* node 0 disabled: no message at all in 4.17, the nodemap poll sees it */
	F.nrec = 0;
	flags[0] = CTDB_NODE_PERMANENTLY_DISABLED;
	evs.n = 0;
	ck_assert(wait_event("U 10.77.1.1 0", 2500));
	ck_assert(!cluster_view_find(cluster_view(CL), "10.77.1.1")->available);
}
END_TEST

START_TEST(test_not_running_keeps_view)
{
	gen0 = cluster_view(CL)->generation;
	runstate = CTDB_RUNSTATE_FIRST_RECOVERY;
	holder[0] = CTDB_UNKNOWN_PNN; /* what a recovering node might say */
	send_msg(CTDB_SRVID_RECONFIGURE, NULL, 0);
	run_for(200);
	ck_assert_uint_eq(cluster_view(CL)->generation, gen0);
	ck_assert_ptr_nonnull(strstr(status(), "runstate 3"));
	runstate = CTDB_RUNSTATE_RUNNING; /* retried every second */
	ck_assert(run_until(republished, 2500));
}
END_TEST

static bool tcp_client_sent(void)
{
	for (int k = 0; k < F.nrec; k++)
		if (F.recs[k].opcode == CTDB_CONTROL_TCP_CLIENT)
			return true;
	return false;
}

static bool up_again(void)
{
	return strstr(status(), "\"connects\":2") != NULL && tcp_client_sent();
}

START_TEST(test_tracking_and_ctdbd_restart)
{
	struct ctdb_connection c;
	size_t n;
	int k;

	F.nrec = 0;
	cluster_track_connection(CL, true, "10.77.1.2", 49152, "10.9.9.5", 40001);
	ck_assert(run_until(tcp_client_sent, 500));
	for (k = 0; F.recs[k].opcode != CTDB_CONTROL_TCP_CLIENT; k++)
		;
	ck_assert_uint_eq(F.recs[k].datalen, CTDB_CONNECTION_LEN);
	ck_assert_int_eq(ctdb_connection_pull(F.recs[k].data, 56, &c, &n), 0);
	/* src = the client, dst = our public IP (smbd's ctdbd_register_ips) */
	ck_assert_uint_eq(c.src.port, 40001);
	ck_assert_uint_eq(c.dst.port, 49152);
	ck_assert_uint_eq(c.dst.addr[3], 2);
	ck_assert_ptr_nonnull(strstr(status(), "\"tracked_connections\":1"));

	/* ctdbd goes away: the view stays, state says so */
	gen0 = cluster_view(CL)->generation;
	evs.n = 0;
	fake_stop();
	run_for(300);
	ck_assert_ptr_nonnull(strstr(status(), "\"state\":\"ctdbd-down\""));
	ck_assert_uint_eq(cluster_view(CL)->n, NIP);
	ck_assert_int_eq(evs.n, 0);

	/* a move while it was down; back: TCP_CLIENT again, the move reported */
	holder[0] = 1;
	F.nrec = 0;
	fake_listen();
	ck_assert(run_until(up_again, 3000));
	ck_assert(wait_event("A 10.77.1.1 1", 1000));

	/* down: TCP_CLIENT_DISCONNECTED tried; 4.17 refuses, and we stop trying */
	cluster_track_connection(CL, false, "10.77.1.2", 49152, "10.9.9.5", 40001);
	run_for(50);
	ck_assert_ptr_nonnull(strstr(status(), "\"tracked_connections\":0"));
	ck_assert_ptr_nonnull(strstr(status(), "\"tcp_client_disconnected\":false"));
}
END_TEST

static int tcp_client_count(void)
{
	int n = 0;
	for (int k = 0; k < F.nrec; k++)
		n += F.recs[k].opcode == CTDB_CONTROL_TCP_CLIENT;
	return n;
}

static bool recycled(void)
{
	return strstr(status(), "\"tickle_recycles\":1") != NULL && tcp_client_count() >= 1;
}

START_TEST(test_tickle_connection_recycled_on_417)
{
	char ip[32];
	int accepts;

	/* Two ctdb connections: one for views and srvids, one for tickles. */
	ck_assert_int_eq(fake_nconns(), 2);
	accepts = F.accepts;
	cluster_track_connection(CL, true, "10.77.1.2", 49152, "10.9.9.1", 1000); /* stays */
	/* 4.17: each closed connection leaves its tickle behind; after 256
	 * the tickle connection is recycled and the live one registered again. */
	for (int i = 0; i < 300 && strstr(status(), "\"tickle_recycles\":0"); i++) {
		snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 200, i % 200 + 2);
		cluster_track_connection(CL, true, "10.77.1.2", 49152, ip, 2000);
		run_for(2);
		F.nrec = 0;
		cluster_track_connection(CL, false, "10.77.1.2", 49152, ip, 2000);
		run_for(2);
	}
	F.nrec = 0;
	ck_assert(run_until(recycled, 2000));
	ck_assert_int_eq(F.accepts, accepts + 1);
	ck_assert_int_eq(tcp_client_count(), 1);
	ck_assert_ptr_nonnull(strstr(status(), "\"tracked_connections\":1"));
	/* the main connection was not touched */
	ck_assert_ptr_nonnull(strstr(status(), "\"connects\":1"));
	ck_assert_ptr_nonnull(strstr(status(), "\"state\":\"ok\""));
}
END_TEST

START_TEST(test_unanswering_node_keeps_its_claims)
{
	/* node 2 stops answering (hung, or just died and the nodemap does not
	 * say so yet): its IP stays with it, other changes still go out */
	mute_node = 2;
	holder[0] = 1;
	evs.n = 0;
	send_msg(CTDB_SRVID_RECONFIGURE, NULL, 0);
	ck_assert(wait_event("A 10.77.1.1 1", 500));
	ck_assert_int_eq(evs.n, 2); /* U+A for the move, nothing for fd77::5 */
	ck_assert_uint_eq(cluster_view_find(cluster_view(CL), "fd77::5")->node, 2);
	ck_assert(cluster_view_find(cluster_view(CL), "fd77::5")->available);
	ck_assert_ptr_null(strstr(status(), "\"refresh_partial\":0"));
	ck_assert_ptr_nonnull(strstr(status(), "GET_PUBLIC_IPS from node 2"));
	/* ctdb then marks it DISCONNECTED and another node takes the IP */
	flags[2] = CTDB_NODE_DISCONNECTED | CTDB_NODE_UNHEALTHY;
	holder[2] = 0;
	ck_assert(wait_event("A fd77::5 0", 2500));
}
END_TEST

static Suite *ctdb_backend_suite(void)
{
	Suite *s = suite_create("ctdb_backend");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_start_registers_and_builds_view);
	tcase_add_test(tc, test_ipreallocated_refresh);
	tcase_add_test(tc, test_release_ip_relay_and_callback);
	tcase_add_test(tc, test_release_ip_tells_at_once);
	tcase_add_test(tc, test_reconfigure_and_flags_poll);
	tcase_add_test(tc, test_not_running_keeps_view);
	tcase_add_test(tc, test_tracking_and_ctdbd_restart);
	tcase_add_test(tc, test_tickle_connection_recycled_on_417);
	tcase_add_test(tc, test_unanswering_node_keeps_its_claims);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctdb_backend_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
