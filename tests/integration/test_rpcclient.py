"""Authenticated DCERPC against witnessd with real clients:
rpcclient 4.17 witness commands (the witness port found through the EPM on
127.0.0.1:135, which rpcclient always asks) over NTLMSSP and SPNEGO(NTLMSSP)
at sign and seal; Samba python bindings with a fragmented sealed request;
impacket WINNT at connect/integrity/privacy (pad to 4, auth3 leg) including
forced request fragmentation. Wrong passwords and too-low levels are refused
and the daemon keeps serving.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, samba_creds, samba_lp, samba_witness  # noqa: E402

from impacket.dcerpc.v5 import rpcrt, transport  # noqa: E402
from impacket.uuid import uuidtup_to_bin  # noqa: E402

WITNESS = ("ccd8c074-d0e5-4a40-92b4-d074faa6ba28", "1.1")
USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"


def ndr_wstr(s):
    s += "\0"
    b = struct.pack("<III", len(s), 0, len(s)) + s.encode("utf-16-le")
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def register_stub(net, ip, client, version=0x00010001):
    """WitnessrRegister([in] version, [in,unique,string] net, ip, client)."""
    return (struct.pack("<II", version, 0x20000) + ndr_wstr(net) + struct.pack("<I", 0x20004)
            + ndr_wstr(ip) + struct.pack("<I", 0x20008) + ndr_wstr(client))


class Rpcclient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rpcclient-")
        cls.pwfile = os.path.join(cls.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", USER, "--domain", DOMAIN, "--file", cls.pwfile],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        cls.smbconf = os.path.join(cls.tmp, "smb.conf")
        with open(cls.smbconf, "w") as f:
            f.write("[global]\n workgroup = TESTDOM\n netbios name = CLIENTBOX\n"
                    " client use kerberos = off\n")
        cls.d = Witnessd(name="rpcclient", min_auth="integrity",
                         global_opts={"ntlm password file": cls.pwfile,
                                      "auth methods": "ntlmssp spnego"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def rpcclient(self, opts, cmd, password=PASSWORD):
        r = subprocess.run(["rpcclient", "-s", self.smbconf, "ncacn_ip_tcp:127.0.0.1[%s]" % opts,
                            "-U", "%s/%s%%%s" % (DOMAIN, USER, password), "-c", cmd],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_rpcclient_levels_and_mechs(self):
        for opts in ["sign", "seal", "spnego,sign", "spnego,seal", "ntlm,seal"]:
            with self.subTest(opts=opts):
                rc, out = self.rpcclient(opts, "GetInterfaceList")
                self.assertEqual(rc, 0, out)
                self.assertIn("127.0.0.2", out)
                rc, out = self.rpcclient(
                    opts, "Register --net=WITSRV --ip=127.0.0.2 --client=CLIENTBOX")
                self.assertEqual(rc, 0, out)
                self.assertRegex(out, r"\d+:[0-9a-f-]{36}")
                rc, out = self.rpcclient(
                    opts, "RegisterEx --net=WITSRV --ip=127.0.0.2 --client=CLIENTBOX --timeout=1")
                self.assertEqual(rc, 0, out)
                self.assertRegex(out, r"\d+:[0-9a-f-]{36}")

    def test_rpcclient_refused(self):
        # below the interface's minimum level: fault access_denied
        rc, out = self.rpcclient("connect", "GetInterfaceList")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("ACCESS_DENIED", out)
        # PACKET signs every PDU and counts as INTEGRITY on a connection, as in
        # Samba's gensec_start_mech_by_authtype: admitted
        rc, out = self.rpcclient("packet", "GetInterfaceList")
        self.assertEqual(rc, 0, out)
        self.assertIn("127.0.0.2", out)
        rc, out = self.rpcclient("seal", "GetInterfaceList", password="wrong")
        self.assertNotEqual(rc, 0, out)
        rc, out = self.rpcclient("seal", "GetInterfaceList")
        self.assertEqual(rc, 0, out)

    def test_samba_python_fragmented_seal(self):
        """A ~9 KB RegisterEx stub (strings under NDR_MAX_STRING each): two or more sealed request fragments
        (each with its own NTLM sequence number); the answer is a WERROR
        from the witness service, not an RPC fault."""
        from samba.dcerpc import witness
        from samba import WERRORError
        lp = samba_lp()
        creds = samba_creds(lp, USER, PASSWORD, DOMAIN)
        for b in ["ncacn_ip_tcp:127.0.0.1[%d,ntlm,seal]" % self.d.witness_port,
                  "ncacn_ip_tcp:127.0.0.1[%d,spnego,sign]" % self.d.witness_port]:
            with self.subTest(binding=b):
                c = samba_witness(b, lp, creds)
                self.assertGreaterEqual(c.GetInterfaceList().num_interfaces, 1)
                try:
                    h = c.RegisterEx(witness.WITNESS_V2, "WITSRV", "S" * 2500, "127.0.0.2",
                                     "C" * 2000, witness.WITNESS_REGISTER_NONE, 1)
                    c.UnRegister(h)
                except WERRORError:
                    pass  # the service may refuse the share; the transport worked
                self.assertGreaterEqual(c.GetInterfaceList().num_interfaces, 1)

    def impacket(self, level, frag=None):
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % self.d.witness_port)
        t.set_credentials(USER, PASSWORD, DOMAIN)
        dce = t.get_dce_rpc()
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
        dce.set_auth_level(level)
        if frag:
            dce.set_max_fragment_size(frag)
        dce.connect()
        dce.bind(uuidtup_to_bin(WITNESS))
        return dce

    def test_impacket_winnt(self):
        for level in (rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
            with self.subTest(level=level):
                dce = self.impacket(level)
                dce.call(0, b"")  # GetInterfaceList
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], 0)
                # request fragmentation forced: 9 fragments, each sealed/signed
                dce.call(1, register_stub("WITSRV", "127.0.0.2", "C" * 200))
                r = dce.recv()
                self.assertEqual(len(r), 24)  # handle + WERROR: not a fault
                dce.disconnect()
                dce = self.impacket(level, frag=64)
                dce.call(1, register_stub("WITSRV", "127.0.0.2", "C" * 200))
                r = dce.recv()
                self.assertEqual(len(r), 24)
                dce.disconnect()

    def test_impacket_bad_signature_closes(self):
        """A request whose signature does not verify: fault sec_pkg_error
        (0x721) and the connection is closed; others are still served."""
        for level in (rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
            with self.subTest(level=level):
                dce = self.impacket(level)
                dce.call(0, b"")
                dce.recv()
                dce._DCERPC_v5__sequence += 3  # the client signs with a wrong sequence
                dce.call(0, b"")
                with self.assertRaises(rpcrt.DCERPCException) as cm:
                    dce.recv()
                self.assertIn("00000721", str(cm.exception))  # impacket has no name for it
                # closed by the server (impacket's recv would spin on EOF)
                sock = dce.get_rpc_transport().get_socket()
                sock.settimeout(5)
                try:
                    self.assertEqual(sock.recv(1), b"")
                except ConnectionResetError:
                    pass
                dce.disconnect()
                dce = self.impacket(level)
                dce.call(0, b"")
                r = dce.recv()
                self.assertEqual(struct.unpack_from("<I", r, len(r) - 4)[0], 0)
                dce.disconnect()

    def test_impacket_connect_level_refused(self):
        dce = self.impacket(rpcrt.RPC_C_AUTHN_LEVEL_CONNECT)
        dce.call(0, b"")
        with self.assertRaises(rpcrt.DCERPCException) as cm:
            dce.recv()
        # impacket names fault status 5 (nca_s_fault_access_denied) this way
        self.assertEqual(cm.exception.error_string, "rpc_s_access_denied")
        dce.disconnect()
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    unittest.main()
