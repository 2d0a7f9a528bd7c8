"""A context handle is bound to its creator's identity and auth level
(src/dcerpc/server_assoc.c, as Samba's dcesrv_handles.c): another user, or
the creator at a lower level, gets the answer of an unknown handle. Raw PDUs
built and checked by Samba's own test helpers
(samba.tests.dcerpc.raw_testcase.RawDCERPCTest: NTLMSSP through Samba's
gensec, which verifies the signatures of our responses).

The witness interface admits CONNECT here (min auth level = connect) so that
a CONNECT-level call reaches the handle check. One connection, bound
without auth, with three contexts added by alter_context:
  1: alice at INTEGRITY, 2: bob at INTEGRITY, 3: alice at CONNECT.
alice registers (RegisterEx on 1). With her handle:
  - bob (2) gets for UnRegister and AsyncNotify exactly what a made-up
    handle gets (ERROR_INVALID_PARAMETER, ERROR_NOT_FOUND);
  - alice at CONNECT (3) gets the same;
  - a second TCP connection joining the association group (assoc_group_id
    of the first bind_ack): bob there is refused the same way;
  - alice at INTEGRITY on the second connection unregisters it (so the
    refusals were about the owner and the level, not a broken handle), and
    an UnRegister after that is answered as for an unknown handle.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import raw_ntlm_witnessd, register_ex_io, samba_creds, stop_raw_witnessd  # noqa: E402

import samba.dcerpc.dcerpc as dcerpc  # noqa: E402
from samba.dcerpc import base, misc, witness  # noqa: E402
from samba.tests.dcerpc.raw_testcase import RawDCERPCTest  # noqa: E402

NETNAME = "WITSRV"
IP1 = "127.0.0.3"
STATE = {}

WERR_OK = 0
WERR_INVALID_PARAMETER = 0x57
WERR_NOT_FOUND = 0x490

INTEGRITY = dcerpc.DCERPC_AUTH_LEVEL_INTEGRITY
CONNECT = dcerpc.DCERPC_AUTH_LEVEL_CONNECT


def setUpModule():
    tmp, d = raw_ntlm_witnessd("handle-owner", "connect", netname=NETNAME)
    STATE.update(tmp=tmp, d=d)


def tearDownModule():
    assert stop_raw_witnessd(STATE["tmp"], STATE["d"]), "witnessd died"


class HandleOwner(RawDCERPCTest):
    def creds(self, user, password):
        return samba_creds(self.lp_ctx, user, password)

    def contexts(self, conn, ctx, group, specs, call_id):
        out = []
        for i, (creds, level, context_id) in enumerate(specs):
            a = conn.get_auth_context_creds(creds=creds, auth_type=dcerpc.DCERPC_AUTH_TYPE_NTLMSSP,
                                            auth_level=level, auth_context_id=context_id)
            conn.do_generic_bind(call_id=call_id + i, ctx=ctx, auth_context=a,
                                 assoc_group_id=group, start_with_alter=True)
            out.append(a)
        return out

    def unregister(self, conn, ctx, call_id, a, h):
        io = witness.UnRegister()
        io.in_context_handle = h
        conn.do_single_request(call_id=call_id, ctx=ctx, io=io, auth_context=a)
        return io.result[0]

    def async_notify(self, conn, ctx, call_id, a, h):
        # answered at once for a handle the caller may not use; a usable
        # handle would wait for a notification (never sent to alice here)
        io = witness.AsyncNotify()
        io.in_context_handle = h
        conn.do_single_request(call_id=call_id, ctx=ctx, io=io, auth_context=a, timeout=5)
        return io.result[0]

    def registered(self, h):
        return str(h.uuid) in STATE["d"].ctl_json("list")["registrations"]

    def test_handle_bound_to_creator(self):
        ctx, ack = self.prepare_presentation(witness.abstract_syntax(),
                                             base.transfer_syntax_ndr(), context_id=1,
                                             epmap=True, return_ack=True)
        group = ack.u.assoc_group_id
        self.assertNotEqual(group, 0)
        alice, bob = self.creds("alice", "Secret123"), self.creds("bob", "Bobpass1")
        a_int, b_int, a_con = self.contexts(self, ctx, group, ((alice, INTEGRITY, 1),
                                                               (bob, INTEGRITY, 2),
                                                               (alice, CONNECT, 3)), 10)

        # the CONNECT context is admitted by the interface (min auth level =
        # connect): its refusals below come from the handle check
        io = witness.GetInterfaceList()
        self.do_single_request(call_id=19, ctx=ctx, io=io, auth_context=a_con)
        self.assertEqual(io.result[0], WERR_OK)

        io = register_ex_io(NETNAME, IP1, "CLIENT-alice", 10)
        self.do_single_request(call_id=20, ctx=ctx, io=io, auth_context=a_int)
        self.assertEqual(io.result[0], WERR_OK)
        h = io.out_context_handle
        self.assertTrue(self.registered(h))

        # the answers for a handle the server never gave out
        fake = misc.policy_handle()
        fake.handle_type = h.handle_type
        fake.uuid = misc.GUID(str(uuid.uuid4()))
        self.assertEqual(self.unregister(self, ctx, 21, b_int, fake), WERR_INVALID_PARAMETER)
        self.assertEqual(self.async_notify(self, ctx, 22, b_int, fake), WERR_NOT_FOUND)

        # 1. another user on the same connection
        self.assertEqual(self.unregister(self, ctx, 23, b_int, h), WERR_INVALID_PARAMETER)
        self.assertEqual(self.async_notify(self, ctx, 24, b_int, h), WERR_NOT_FOUND)
        # 3. the creator at a lower level
        self.assertEqual(self.unregister(self, ctx, 25, a_con, h), WERR_INVALID_PARAMETER)
        self.assertEqual(self.async_notify(self, ctx, 26, a_con, h), WERR_NOT_FOUND)
        self.assertTrue(self.registered(h))
        self.assertIsConnected()

        # 2. a second connection in the same association group
        c2 = self.second_connection()
        try:
            ctx2, ack2 = c2.prepare_presentation(witness.abstract_syntax(),
                                                 base.transfer_syntax_ndr(), context_id=1,
                                                 assoc_group_id=group, return_ack=True)
            self.assertEqual(ack2.u.assoc_group_id, group)
            a2_int, b2_int = self.contexts(c2, ctx2, group, ((alice, INTEGRITY, 1),
                                                             (bob, INTEGRITY, 2)), 30)
            self.assertEqual(self.unregister(c2, ctx2, 40, b2_int, h), WERR_INVALID_PARAMETER)
            self.assertEqual(self.async_notify(c2, ctx2, 41, b2_int, h), WERR_NOT_FOUND)
            self.assertTrue(self.registered(h))
            # the creator, at her level, from the other connection: it works
            self.assertEqual(self.unregister(c2, ctx2, 42, a2_int, h), WERR_OK)
            self.assertFalse(self.registered(h))
            # and the handle is now unknown to her too
            self.assertEqual(self.unregister(self, ctx, 43, a_int, h), WERR_INVALID_PARAMETER)
        finally:
            c2._disconnect("done")


if __name__ == "__main__":
    unittest.main()
