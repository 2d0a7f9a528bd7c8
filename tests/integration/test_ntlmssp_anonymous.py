"""The NTLMSSP anonymous logon ([MS-NLMP] 3.2.5.1.2) and the PACKET level,
against witnessd at the default min auth level (integrity), with Samba's
Python bindings: raw PDUs from samba.tests.dcerpc.raw_testcase.RawDCERPCTest
for the anonymous logon (Samba's gensec as the client with anonymous
credentials, raw NTLMSSP), the samba.dcerpc.witness pipe for PACKET.

* an anonymous context at CONNECT can call mgmt (inq_if_ids) and the
  endpoint mapper (ept_lookup), which need no auth; the bind is logged at
  info with the client address (auth.ntlmssp.anonymous);
* on the witness interface the bind succeeds, but GetInterfaceList and
  RegisterEx get fault access_denied, as for an unauthenticated bind (an
  anonymous context proves no secret);
* alice with NTLMSSP at [packet] (level 4) reaches the witness interface:
  PACKET counts as INTEGRITY for connection-oriented RPC, as in Samba;
* with "ntlmssp anonymous = no" the anonymous bind is refused (fault
  sec_pkg_error on its AUTHENTICATE leg), a bind without auth still works;
* the anonymous logon has no session security ([MS-NLMP] 3.4; Samba's
  server with "map to guest" set drops SIGN and SEAL for it the same way).
  Samba's client, anonymous, drops extended session security in its
  AUTHENTICATE (it would sign NTLMv1-style: CRC32 under one RC4 handle):
  at integrity the bind completes, its first request gets fault
  sec_pkg_error and the connection is closed; at privacy the leg gets
  sec_pkg_error; both logged (auth.unsigned / auth.refused
  reason=anonymous_no_session_security), and ess=0 on the anonymous line;
* a user without extended session security: Samba's client with "client
  ntlmv2 auth = no" or "ntlmssp_client:ntlm2 = no" sends an NTLMv1
  response (refused, reason=ntlmv1); impacket with the ESS flag taken out
  of its NEGOTIATE sends NTLMv2 without ESS (refused, reason=no_ess): no
  NTLMv1 session security either way.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (WITNESSCTL, Witnessd, register_ex_io, samba_creds, samba_lp, samba_witness,  # noqa: E402
                     stop_raw_witnessd)

import samba.dcerpc.dcerpc as dcerpc  # noqa: E402
from samba.dcerpc import base, epmapper, misc, mgmt, witness  # noqa: E402
from samba.tests.dcerpc.raw_testcase import RawDCERPCTest  # noqa: E402

NETNAME = "WITSRV"
LOCAL_IP, IP1 = "127.0.0.2", "127.0.0.3"
BINDING = "ncacn_ip_tcp:127.0.0.1"  # the witness port through the EPM
DENIED = dict(fault_status=dcerpc.DCERPC_FAULT_ACCESS_DENIED,
              fault_pfc_flags=dcerpc.DCERPC_PFC_FLAG_FIRST | dcerpc.DCERPC_PFC_FLAG_LAST |
              dcerpc.DCERPC_PFC_FLAG_DID_NOT_EXECUTE)


def daemon(name, **opts):
    tmp = tempfile.mkdtemp(prefix="ntlmssp-anon-")
    pw = os.path.join(tmp, "ntlm.pw")
    subprocess.run([WITNESSCTL, "user", "add", "alice", "--domain", "TESTDOM", "--file", pw],
                   input="Secret123\n", text=True, check=True, capture_output=True)
    g = {"ntlm password file": pw, "auth methods": "ntlmssp spnego"}
    g.update(opts)
    d = Witnessd(netname=NETNAME, interfaces=[(LOCAL_IP, 0), (IP1, 1)], min_auth="integrity",
                 global_opts=g, name=name)
    d.start()
    return tmp, d


def wait_log(d, needle, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if needle in d.log():
            return True
        time.sleep(0.05)
    return False


class Base(RawDCERPCTest):
    OPTS = {}
    SMB_CONF = {}  # client smb.conf options

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp, cls.d = daemon(cls.__name__, **cls.OPTS)
        cls.lp_conf = samba_lp(cls.tmp, cls.SMB_CONF)
        os.environ.update(SERVER="127.0.0.1", SMB_CONF_PATH=os.path.join(cls.tmp, "smb.conf"),
                          DOMAIN="TESTDOM", REALM="TESTDOM.EXAMPLE", USERNAME="alice",
                          PASSWORD="Secret123")

    @classmethod
    def tearDownClass(cls):
        alive = stop_raw_witnessd(cls.tmp, cls.d)
        super().tearDownClass()
        assert alive, "witnessd died"

    def anon_context(self, level=dcerpc.DCERPC_AUTH_LEVEL_CONNECT):
        return self.get_auth_context_creds(creds=self.get_anon_creds(),
                                           auth_type=dcerpc.DCERPC_AUTH_TYPE_NTLMSSP,
                                           auth_level=level, auth_context_id=1)

    def mgmt_ctx(self):
        ctx = dcerpc.ctx_list()
        ctx.context_id = 1
        ctx.num_transfer_syntaxes = 1
        ctx.abstract_syntax = mgmt.abstract_syntax()
        ctx.transfer_syntaxes = [base.transfer_syntax_ndr()]
        return ctx


class AnonymousAccepted(Base):
    def test_mgmt(self):
        a = self.anon_context()
        ctx = self.prepare_presentation(mgmt.abstract_syntax(), base.transfer_syntax_ndr(),
                                        context_id=1, auth_context=a)
        io = mgmt.inq_if_ids()
        self.do_single_request(call_id=2, ctx=ctx, io=io, auth_context=a)
        self.assertEqual(io.result[0], 0)
        # Samba's client drops ESS for anonymous; at CONNECT nothing needs it
        self.assertTrue(wait_log(self.d, "ess=0 client="), self.d.log()[-3000:])
        v = io.out_if_id_vector
        self.assertIn(str(witness.abstract_syntax().uuid),
                      {str(v.if_id[i].id.uuid) for i in range(v.count)})
        self.assertTrue(wait_log(self.d, "auth.ntlmssp.anonymous"), self.d.log()[-3000:])
        line = [ln for ln in self.d.log().splitlines() if "auth.ntlmssp.anonymous" in ln][0]
        self.assertIn("client=ipv4:127.0.0.1:", line)

    def test_epm(self):
        a = self.anon_context()
        ctx = self.prepare_presentation(epmapper.abstract_syntax(), base.transfer_syntax_ndr(),
                                        context_id=1, auth_context=a)
        io = epmapper.epm_Lookup()
        io.in_inquiry_type = 0
        io.in_object = None
        io.in_interface_id = None
        io.in_vers_option = 0
        io.in_entry_handle = misc.policy_handle()
        io.in_max_ents = 16
        self.do_single_request(call_id=2, ctx=ctx, io=io, auth_context=a)
        self.assertEqual(io.result, 0)
        self.assertGreaterEqual(io.out_num_ents, 1)

    def test_witness_refused(self):
        a = self.anon_context()
        ctx = self.prepare_presentation(witness.abstract_syntax(), base.transfer_syntax_ndr(),
                                        context_id=1, epmap=True, auth_context=a)
        self.do_single_request(call_id=2, ctx=ctx, io=witness.GetInterfaceList(),
                               auth_context=a, **DENIED)
        io = register_ex_io(NETNAME, IP1, "CLIENTBOX", 5)
        self.do_single_request(call_id=3, ctx=ctx, io=io, auth_context=a, **DENIED)
        self.assertIsConnected()
        self.assertEqual(self.d.ctl_json("list")["registrations"], {})

    def test_packet_level_is_integrity(self):
        alice = samba_creds(self.lp_conf, "alice", "Secret123", "TESTDOM")
        c = samba_witness(BINDING + "[packet,ntlm]", lp=self.lp_conf, creds=alice)
        r = c.GetInterfaceList()
        self.assertEqual(r.num_interfaces, 2)
        h = c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CLIENTBOX", 0, 5)
        reg = self.d.ctl_json("list")["registrations"][str(h.uuid)]
        self.assertEqual(reg["auth"]["account_name"].lower(), "alice")
        self.assertIn("type=10 level=4 account=alice", self.d.log())
        c.UnRegister(h)


class AnonymousNoSessionSecurity(Base):
    def test_integrity(self):
        # the third leg in auth3 (as rpcclient sends it): the context
        # completes, the signed request is refused, the connection closed
        a = self.anon_context(dcerpc.DCERPC_AUTH_LEVEL_INTEGRITY)
        self.do_generic_bind(ctx=self.mgmt_ctx(), auth_context=a, use_auth3=True)
        self.do_single_request(call_id=2, ctx=self.mgmt_ctx(), io=mgmt.inq_if_ids(),
                               auth_context=a, fault_status=dcerpc.DCERPC_FAULT_SEC_PKG_ERROR)
        self.assertIsNone(self.recv_pdu())
        self.assertNotConnected()
        self.assertTrue(wait_log(self.d, "auth.unsigned reason=anonymous_no_session_security"
                                 " type=10 level=5"), self.d.log()[-3000:])
        line = [ln for ln in self.d.log().splitlines() if "auth.ntlmssp.anonymous" in ln][-1]
        self.assertIn("ess=0", line)

    def test_privacy(self):
        a = self.anon_context(dcerpc.DCERPC_AUTH_LEVEL_PRIVACY)
        self.do_generic_bind(ctx=self.mgmt_ctx(), auth_context=a,
                             alter_fault=dcerpc.DCERPC_FAULT_SEC_PKG_ERROR)
        self.assertIsNone(self.recv_pdu())
        self.assertNotConnected()
        self.assertTrue(wait_log(self.d, "auth.refused reason=anonymous_no_session_security"
                                 " type=10 level=6"), self.d.log()[-3000:])


    def test_rpcclient(self):
        # rpcclient -N -U% binds anonymously (and without ESS) at the level asked
        cases = (("sign", "NT_STATUS_RPC_SEC_PKG_ERROR", "auth.unsigned"),
                 ("seal", "NT_STATUS_RPC_PROTOCOL_ERROR", "auth.refused"))
        for opts, status, event in cases:
            with self.subTest(opts=opts):
                n = self.d.log().count(event + " reason=anonymous_no_session_security")
                r = subprocess.run(["rpcclient", "-s", os.path.join(self.tmp, "smb.conf"), "-N",
                                    "-U%", BINDING + "[%s]" % opts, "-c", "GetInterfaceList"],
                                   capture_output=True, text=True, timeout=30)
                out = r.stdout + r.stderr
                self.assertNotEqual(r.returncode, 0, out)
                self.assertIn(status, out)
                self.assertTrue(wait_log(self.d, "anonymous_no_session_security"))
                self.assertEqual(
                    self.d.log().count(event + " reason=anonymous_no_session_security"), n + 1)
        self.assertEqual(self.d.ctl_json("list")["registrations"], {})


class UserNtlmv1(Base):
    # Samba's client: "client ntlmv2 auth = no" sends NTLMv1 (with ESS),
    # "ntlmssp_client:ntlm2 = no" NTLMv1 without ESS ("apparently we can't
    # do ntlmv2 if we don't do ntlm2", auth/ntlmssp/ntlmssp_client.c)
    SMB_CONF = {"client ntlmv2 auth": "no", "client lanman auth": "no"}

    def test_ntlmv1_refused(self):
        for level in (dcerpc.DCERPC_AUTH_LEVEL_CONNECT, dcerpc.DCERPC_AUTH_LEVEL_INTEGRITY):
            with self.subTest(level=level):
                a = self.get_auth_context_creds(creds=self.get_user_creds(),
                                                auth_type=dcerpc.DCERPC_AUTH_TYPE_NTLMSSP,
                                                auth_level=level, auth_context_id=1)
                self.do_generic_bind(ctx=self.mgmt_ctx(), auth_context=a,
                                     alter_fault=dcerpc.DCERPC_FAULT_SEC_PKG_ERROR)
                self.assertIsNone(self.recv_pdu())
                self.assertNotConnected()
                self._disconnect("next")
                self.connect()
        self.assertEqual(self.d.log().count("reason=ntlmv1 user=alice domain=TESTDOM"), 2)
        self.assertNotIn("auth.ntlmssp.ok", self.d.log())


class UserNoNtlm2(UserNtlmv1):
    SMB_CONF = {"ntlmssp_client:ntlm2": "no", "client lanman auth": "no"}


class ImpacketNoEss(Base):
    # impacket 0.10 with NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY taken out
    # of its NEGOTIATE (our CHALLENGE echoes the client, so its AUTHENTICATE
    # has no ESS either): an NTLMv2 response without ESS
    def test_no_ess_refused(self):
        from impacket import ntlm
        from impacket.dcerpc.v5 import rpcrt, transport
        from impacket.uuid import uuidtup_to_bin
        orig = ntlm.getNTLMSSPType1

        def type1_no_ess(*args, **kw):
            t1 = orig(*args, **kw)
            t1["flags"] &= ~ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
            return t1
        ntlm.getNTLMSSPType1 = type1_no_ess
        try:
            t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[135]")
            t.set_credentials("alice", "Secret123", "TESTDOM")
            dce = t.get_dce_rpc()
            dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
            dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
            dce.connect()
            dce.bind(uuidtup_to_bin(("afa8bd80-7d8a-11c9-bef4-08002b102989", "1.0")))
            # the AUTHENTICATE went in auth3: the first request is refused
            dce.call(0, b"")
            with self.assertRaises(rpcrt.DCERPCException) as cm:
                dce.recv()
            self.assertEqual(cm.exception.error_string, "nca_s_proto_error")
            dce.disconnect()
        finally:
            ntlm.getNTLMSSPType1 = orig
        self.assertTrue(wait_log(self.d, "reason=no_ess user=alice domain=TESTDOM"),
                        self.d.log()[-3000:])
        self.assertNotIn("auth.ntlmssp.ok", self.d.log())


class AnonymousRefused(Base):
    OPTS = {"ntlmssp anonymous": "no"}

    def test_anonymous_bind_refused(self):
        a = self.anon_context()
        # a refused leg of an alter_context: sec_pkg_error, as Samba's
        # dcesrv_alter_done answers every mechanism failure there
        self.do_generic_bind(ctx=self.mgmt_ctx(), auth_context=a,
                             alter_fault=dcerpc.DCERPC_FAULT_SEC_PKG_ERROR)
        self.assertIsNone(self.recv_pdu())
        self.assertNotConnected()
        self.assertTrue(wait_log(self.d, "reason=anonymous"), self.d.log()[-3000:])
        self.assertNotIn("auth.ntlmssp.anonymous", self.d.log())

    def test_no_auth_still_works(self):
        ctx = self.prepare_presentation(mgmt.abstract_syntax(), base.transfer_syntax_ndr(),
                                        context_id=1)
        io = mgmt.inq_if_ids()
        self.do_single_request(call_id=2, ctx=ctx, io=io)
        self.assertEqual(io.result[0], 0)


if __name__ == "__main__":
    unittest.main()
