/*
 * test_ctdb_client.c - the async ctdbd client against a scripted fake
 * ctdbd on a Unix socket in the same loop: handshake (GET_PNN, one
 * REGISTER_SRVID per srvid), replies matched by reqid in any order and in
 * fragments, 8-byte padding, messages interleaved with replies, timeouts,
 * reconnect with re-registration after ctdbd goes away, connecting before
 * ctdbd exists, and a bad packet dropping the connection.
 */

#include "test_ctdb_fake.h"

/* ---- the client under test ---- */

static ctdb_client_t *C;
static int ups, downs;
static uint32_t up_pnn;
static int msgs_a, msgs_b;
static uint8_t last_msg[64];
static size_t last_len;

static void on_state(void *arg, bool up, uint32_t pnn)
{
	if (up) {
		ups++;
		up_pnn = pnn;
	} else {
		downs++;
	}
}

static void on_msg_a(void *arg, uint64_t srvid, const uint8_t *d, size_t n)
{
	msgs_a++;
	memcpy(last_msg, d, n < 64 ? n : 64);
	last_len = n;
}

static void on_msg_b(void *arg, uint64_t srvid, const uint8_t *d, size_t n)
{
	msgs_b++;
}

struct result {
	bool done;
	int err;
	int32_t status;
	uint32_t datalen;
	uint8_t data[64];
	int order;
};
static int order_counter;

static void ctl_cb(void *arg, int err, const struct ctdb_reply_control *r)
{
	struct result *res = arg;

	ck_assert(!res->done);
	res->done = true;
	res->err = err;
	res->order = ++order_counter;
	if (r) {
		res->status = r->status;
		res->datalen = r->datalen;
		memcpy(res->data, r->data, r->datalen < 64 ? r->datalen : 64);
	}
}

static bool is_up(void)
{
	return ctdb_client_is_connected(C);
}
static bool is_down(void)
{
	return !ctdb_client_is_connected(C);
}

static void setup(void)
{
	L = malloc(sizeof(*L));
	uv_loop_init(L);
	memset(&F, 0, sizeof(F));
	F.loop = L;
	F.pnn = 2;
	snprintf(F.path, sizeof(F.path), "/tmp/wd-fake-ctdbd-%d.sock", (int)getpid());
	ups = downs = msgs_a = msgs_b = 0;
	order_counter = 0;
	ck_assert_int_eq(ctdb_client_new(L, F.path, &C), 0);
	ctdb_client_set_state_cb(C, on_state, NULL);
	ctdb_client_set_backoff(C, 10, 40);
}

static void teardown(void)
{
	ctdb_client_close(C);
	fake_stop();
	run_for(20);
	unlink(F.path);
	ck_assert_int_eq(uv_loop_close(L), 0);
	free(L);
}

static int count_op(uint32_t opcode, uint64_t srvid)
{
	int n = 0;
	for (int i = 0; i < F.nrec; i++)
		if (F.recs[i].opcode == opcode && F.recs[i].srvid == srvid)
			n++;
	return n;
}

START_TEST(test_handshake_and_registration)
{
	fake_listen();
	ck_assert_int_eq(ctdb_client_register_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_a, NULL), 0);
	/* Two handlers, one srvid: one REGISTER_SRVID (ctdbd would deliver twice). */
	ck_assert_int_eq(ctdb_client_register_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_b, NULL), 0);
	ck_assert_int_eq(ctdb_client_start(C), 0);
	ck_assert(run_until(is_up, 2000));
	ck_assert_int_eq(ups, 1);
	ck_assert_uint_eq(up_pnn, 2);
	ck_assert_uint_eq(ctdb_client_pnn(C), 2);
	ck_assert_uint_eq(F.recs[0].opcode, CTDB_CONTROL_GET_PNN);
	ck_assert_uint_eq(F.recs[0].destnode, CTDB_CURRENT_NODE);
	ck_assert_int_eq(count_op(CTDB_CONTROL_REGISTER_SRVID, CTDB_SRVID_RELEASE_IP), 1);

	/* Registering while up is sent at once. */
	ck_assert_int_eq(ctdb_client_register_srvid(C, CTDB_SRVID_TAKE_IP, on_msg_b, NULL), 0);
	run_for(30);
	ck_assert_int_eq(count_op(CTDB_CONTROL_REGISTER_SRVID, CTDB_SRVID_TAKE_IP), 1);

	/* A message reaches both handlers of its srvid, none of another. */
	send_msg(CTDB_SRVID_RELEASE_IP, "10.77.1.3", 10);
	run_for(30);
	ck_assert_int_eq(msgs_a, 1);
	ck_assert_int_eq(msgs_b, 1);
	ck_assert_uint_eq(last_len, 10);
	ck_assert_str_eq((char *)last_msg, "10.77.1.3");

	/* Deregistering one of two handlers sends nothing; the last one does. */
	ck_assert_int_eq(ctdb_client_deregister_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_b, NULL), 0);
	run_for(30);
	ck_assert_int_eq(count_op(CTDB_CONTROL_DEREGISTER_SRVID, CTDB_SRVID_RELEASE_IP), 0);
	ck_assert_int_eq(ctdb_client_deregister_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_a, NULL), 0);
	run_for(30);
	ck_assert_int_eq(count_op(CTDB_CONTROL_DEREGISTER_SRVID, CTDB_SRVID_RELEASE_IP), 1);
	ck_assert_int_eq(ctdb_client_deregister_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_a, NULL),
	                 WD_ENOTFOUND);
	send_msg(CTDB_SRVID_RELEASE_IP, "x", 2);
	run_for(30);
	ck_assert_int_eq(msgs_a, 1);
}
END_TEST

START_TEST(test_replies_by_reqid_fragmented)
{
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	uint32_t id1, id2, id3;
	uint8_t d[13] = "hello, ctdb!";

	fake_listen();
	ctdb_client_register_srvid(C, CTDB_SRVID_RECONFIGURE, on_msg_a, NULL);
	ctdb_client_start(C);
	ck_assert(run_until(is_up, 2000));
	F.hold_all = true;
	int base = F.nrec;
	ck_assert_int_eq(ctdb_client_control(C, 1, CTDB_CONTROL_GET_NODEMAP, 0, 0, NULL, 0, 0,
	                                     ctl_cb, &r1, NULL),
	                 0);
	ck_assert_int_eq(ctdb_client_control(C, 2, CTDB_CONTROL_GET_PUBLIC_IPS, 0, 0, d, sizeof(d),
	                                     0, ctl_cb, &r2, NULL),
	                 0);
	ck_assert_int_eq(ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_RUNSTATE, 0, 0,
	                                     NULL, 0, 0, ctl_cb, &r3, NULL),
	                 0);
	run_for(30);
	ck_assert_int_eq(F.nrec, base + 3);
	ck_assert_uint_eq(F.recs[base + 1].datalen, sizeof(d));
	ck_assert_uint_eq(F.recs[base + 1].destnode, 2);
	id1 = F.recs[base].reqid;
	id2 = F.recs[base + 1].reqid;
	id3 = F.recs[base + 2].reqid;
	ck_assert(id1 != id2 && id2 != id3 && id1 != 0);

	/* Reverse order, byte by byte, with a message in between. */
	send_reply(id3, 0, "\5\0\0\0", 4, 1);
	send_msg(CTDB_SRVID_RECONFIGURE, NULL, 0);
	send_reply(id2, -1, NULL, 0, 3);
	send_reply(id1, 0, d, 5, 7); /* 49 bytes of content, padded to 56 */
	ck_assert(run_until(is_up, 50));
	run_for(50);
	ck_assert(r1.done && r2.done && r3.done);
	ck_assert_int_eq(r3.order, 1);
	ck_assert_int_eq(r2.order, 2);
	ck_assert_int_eq(r1.order, 3);
	ck_assert_int_eq(r3.err, 0);
	ck_assert_uint_eq(r3.datalen, 4);
	ck_assert_int_eq(r2.status, -1);
	ck_assert_uint_eq(r1.datalen, 5); /* from datalen, not from hdr.length */
	ck_assert_mem_eq(r1.data, "hello", 5);
	ck_assert_int_eq(msgs_a, 1);

	/* A reply nobody waits for is dropped (smbd does the same). */
	send_reply(id1, 0, NULL, 0, 0);
	run_for(20);
	ck_assert(ctdb_client_is_connected(C));
}
END_TEST

START_TEST(test_timeout_cancel_noreply)
{
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	ctdb_control_req_t *req;

	fake_listen();
	ctdb_client_start(C);
	ck_assert(run_until(is_up, 2000));
	F.hold_all = true;
	ck_assert_int_eq(ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_PING, 0, 0, NULL, 0,
	                                     150, ctl_cb, &r1, NULL),
	                 0);
	ck_assert_int_eq(ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_PING, 0, 0, NULL, 0,
	                                     5000, ctl_cb, &r2, &req),
	                 0);
	ctdb_control_cancel(req);
	ck_assert(r2.done);
	ck_assert_int_eq(r2.err, WD_ECANCELED);
	run_for(100);
	ck_assert(!r1.done);
	run_for(250);
	ck_assert(r1.done);
	ck_assert_int_eq(r1.err, WD_ETIMEDOUT);
	/* The late reply for it is ignored; the connection stays. */
	send_reply(F.recs[F.nrec - 2].reqid, 0, NULL, 0, 0);
	run_for(20);
	ck_assert(ctdb_client_is_connected(C));

	/* NOREPLY (TCP_CLIENT as smbd sends it): completion once written. */
	ck_assert_int_eq(ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_TCP_CLIENT, 0,
	                                     CTDB_CTRL_FLAG_NOREPLY, "x", 1, 0, ctl_cb, &r3, NULL),
	                 0);
	run_for(20);
	ck_assert(r3.done);
	ck_assert_int_eq(r3.err, 0);
	ck_assert_uint_eq(F.recs[F.nrec - 1].flags, CTDB_CTRL_FLAG_NOREPLY);

	/* Messages to other nodes. */
	ck_assert_int_eq(
	    ctdb_client_send_message(C, CTDB_BROADCAST_CONNECTED, CTDB_SRVID_WITNESSD, "peer", 5),
	    0);
	run_for(20);
	ck_assert_int_eq(F.nmsg, 1);
	ck_assert_uint_eq(F.msgs[0].hdr.destnode, CTDB_BROADCAST_CONNECTED);
	ck_assert(F.msgs[0].srvid == CTDB_SRVID_WITNESSD);
	ck_assert_str_eq((const char *)F.msgs[0].data, "peer");
}
END_TEST

static int reg_count_after;
static bool reconnected(void)
{
	return ups == 2;
}

START_TEST(test_reconnect_reregisters)
{
	struct result r1 = {0};

	fake_listen();
	ctdb_client_register_srvid(C, CTDB_SRVID_RELEASE_IP, on_msg_a, NULL);
	ctdb_client_register_srvid(C, CTDB_SRVID_WITNESSD, on_msg_b, NULL);
	ctdb_client_start(C);
	ck_assert(run_until(is_up, 2000));
	F.hold_all = true;
	ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_GET_NODEMAP, 0, 0, NULL, 0, 0,
	                    ctl_cb, &r1, NULL);
	run_for(20);

	/* ctdbd dies: pending controls fail, the owner hears it, and new
	 * controls are refused until the client is back. */
	fake_stop();
	ck_assert(run_until(is_down, 1000));
	ck_assert(r1.done);
	ck_assert_int_eq(r1.err, WD_EIO);
	ck_assert_int_eq(downs, 1);
	ck_assert_int_eq(ctdb_client_control(C, CTDB_CURRENT_NODE, CTDB_CONTROL_PING, 0, 0, NULL, 0,
	                                     0, ctl_cb, &r1, NULL),
	                 WD_ESTATE);
	ck_assert_int_eq(ctdb_client_send_message(C, 0, 1, "x", 1), WD_ESTATE);
	run_for(100); /* a few refused attempts */
	ck_assert_ptr_nonnull(strstr(ctdb_client_last_error(C), "connect"));

	/* ctdbd is back, with another PNN: everything is registered again. */
	F.nrec = 0;
	F.pnn = 0;
	F.hold_all = false;
	fake_listen();
	ck_assert(run_until(reconnected, 2000));
	ck_assert_uint_eq(up_pnn, 0);
	ck_assert_int_eq(F.accepts, 2);
	ck_assert_uint_eq(F.recs[0].opcode, CTDB_CONTROL_GET_PNN);
	ck_assert_int_eq(count_op(CTDB_CONTROL_REGISTER_SRVID, CTDB_SRVID_RELEASE_IP), 1);
	ck_assert_int_eq(count_op(CTDB_CONTROL_REGISTER_SRVID, CTDB_SRVID_WITNESSD), 1);
	ck_assert_uint_eq(ctdb_client_connects(C), 2);
	send_msg(CTDB_SRVID_RELEASE_IP, "10.0.0.1", 9);
	run_for(30);
	ck_assert_int_eq(msgs_a, 1);
	(void)reg_count_after;
}
END_TEST

START_TEST(test_ctdbd_not_up_yet)
{
	ctdb_client_start(C);
	run_for(80);
	ck_assert(!ctdb_client_is_connected(C));
	ck_assert_int_eq(ups, 0);
	fake_listen();
	ck_assert(run_until(is_up, 2000));
	ck_assert_int_eq(ups, 1);
}
END_TEST

START_TEST(test_bad_packet_drops_connection)
{
	uint8_t junk[40];

	fake_listen();
	ctdb_client_start(C);
	ck_assert(run_until(is_up, 2000));
	memset(junk, 0, sizeof(junk));
	junk[0] = sizeof(junk); /* length ok, magic wrong */
	fake_write(junk, sizeof(junk));
	ck_assert(run_until(is_down, 1000));
	ck_assert_int_eq(downs, 1);
	ck_assert_ptr_nonnull(strstr(ctdb_client_last_error(C), "bad packet"));
	/* and it comes back */
	ck_assert(run_until(reconnected, 2000));

	/* A length below the header size is also fatal for the stream. */
	memset(junk, 0, sizeof(junk));
	junk[0] = 8;
	fake_write(junk, 8);
	ck_assert(run_until(is_down, 1000));
	ck_assert_int_eq(downs, 2);
}
END_TEST

static Suite *ctdb_client_suite(void)
{
	Suite *s = suite_create("ctdb_client");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_handshake_and_registration);
	tcase_add_test(tc, test_replies_by_reqid_fragmented);
	tcase_add_test(tc, test_timeout_cancel_noreply);
	tcase_add_test(tc, test_reconnect_reregisters);
	tcase_add_test(tc, test_ctdbd_not_up_yet);
	tcase_add_test(tc, test_bad_packet_drops_connection);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctdb_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
