"""Several security contexts on one connection ([MS-RPCE] 3.3.1.5.2), with
raw PDUs built and checked by Samba's own test helpers
(samba.tests.dcerpc.raw_testcase.RawDCERPCTest: NTLMSSP through Samba's
gensec, signatures and seals of our responses verified by it).

One connection to the witness interface (min auth level = integrity), bound
without auth, then three contexts added by alter_context:
  1: NTLMSSP at CONNECT as alice, 2: NTLMSSP at INTEGRITY as bob,
  3: NTLMSSP at INTEGRITY as alice (the helpers cannot seal a request).
Each call is checked with the context it names: GetInterfaceList without a
context and on context 1 is refused (level below integrity), on 2 and on 3
it is answered signed with that context's keys; RegisterEx
on 2 and on 3 record bob and alice as the registrations' identities; a
request naming context 2 but signed with context 3's keys gets fault
0x721 (sec_pkg_error) and the connection is closed.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import raw_ntlm_witnessd, register_ex_io, samba_creds, stop_raw_witnessd  # noqa: E402

import samba.dcerpc.dcerpc as dcerpc  # noqa: E402
from samba.dcerpc import base, witness  # noqa: E402
from samba.tests.dcerpc.raw_testcase import RawDCERPCTest  # noqa: E402

NETNAME = "WITSRV"
IP1 = "127.0.0.3"
STATE = {}


def setUpModule():
    tmp, d = raw_ntlm_witnessd("multi-auth", "integrity", netname=NETNAME)
    STATE.update(tmp=tmp, d=d)


def tearDownModule():
    assert stop_raw_witnessd(STATE["tmp"], STATE["d"]), "witnessd died"


class MultiAuth(RawDCERPCTest):
    def creds(self, user, password):
        return samba_creds(self.lp_ctx, user, password)

    def context(self, creds, level, context_id):
        return self.get_auth_context_creds(creds=creds, auth_type=dcerpc.DCERPC_AUTH_TYPE_NTLMSSP,
                                           auth_level=level, auth_context_id=context_id)

    def registration(self, h):
        return STATE["d"].ctl_json("list")["registrations"][str(h.uuid)]

    def test_contexts_at_different_levels(self):
        ctx, ack = self.prepare_presentation(witness.abstract_syntax(),
                                             base.transfer_syntax_ndr(), context_id=1,
                                             epmap=True, return_ack=True)
        group = ack.u.assoc_group_id
        alice, bob = self.creds("alice", "Secret123"), self.creds("bob", "Bobpass1")
        a1 = self.context(alice, dcerpc.DCERPC_AUTH_LEVEL_CONNECT, 1)
        a2 = self.context(bob, dcerpc.DCERPC_AUTH_LEVEL_INTEGRITY, 2)
        a3 = self.context(alice, dcerpc.DCERPC_AUTH_LEVEL_INTEGRITY, 3)
        for i, a in enumerate((a1, a2, a3)):
            self.do_generic_bind(call_id=10 + i, ctx=ctx, auth_context=a, assoc_group_id=group,
                                 start_with_alter=True)

        denied = dict(fault_status=dcerpc.DCERPC_FAULT_ACCESS_DENIED,
                      fault_pfc_flags=dcerpc.DCERPC_PFC_FLAG_FIRST | dcerpc.DCERPC_PFC_FLAG_LAST |
                      dcerpc.DCERPC_PFC_FLAG_DID_NOT_EXECUTE)
        # no context (the bind's: none) and context 1 (CONNECT): below integrity
        self.do_single_request(call_id=20, ctx=ctx, io=witness.GetInterfaceList(), **denied)
        self.do_single_request(call_id=21, ctx=ctx, io=witness.GetInterfaceList(),
                               auth_context=a1, **denied)
        self.assertIsConnected()
        # contexts 2 and 3 sign with their own keys: Samba's gensec checks our responses
        for call_id, a in ((22, a2), (23, a3)):
            io = witness.GetInterfaceList()
            self.do_single_request(call_id=call_id, ctx=ctx, io=io, auth_context=a)
            self.assertEqual(io.result[0], 0)
            self.assertEqual(io.out_interface_list.num_interfaces, 3)

        # the identity of each call is its context's
        handles = {}
        for call_id, a, user in ((24, a2, "bob"), (25, a3, "alice")):
            io = register_ex_io(NETNAME, IP1, "CLIENT-" + user, 10)
            self.do_single_request(call_id=call_id, ctx=ctx, io=io, auth_context=a)
            self.assertEqual(io.result[0], 0)
            reg = self.registration(io.out_context_handle)
            self.assertEqual(reg["auth"]["account_name"].lower(), user)
            self.assertEqual(reg["client_computer_name"], "CLIENT-" + user)
            handles[user] = io.out_context_handle
        io = witness.UnRegister()
        io.in_context_handle = handles["bob"]
        self.do_single_request(call_id=26, ctx=ctx, io=io, auth_context=a2)
        self.assertEqual(io.result[0], 0)

        # a request naming context 2, signed with context 3's keys: refused
        forged = dict(a3)
        forged["auth_context_id"] = 2
        self.do_single_request(call_id=27, ctx=ctx, io=witness.GetInterfaceList(),
                               auth_context=forged,
                               fault_status=dcerpc.DCERPC_FAULT_SEC_PKG_ERROR)
        self.assertIsNone(self.recv_pdu())
        self.assertNotConnected()


if __name__ == "__main__":
    unittest.main()
