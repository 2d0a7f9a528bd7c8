"""The full witness round in NDR64 ([MS-RPCE] 2.2.5.3) with Samba's Python
bindings (/usr/bin/python3, samba.dcerpc.witness) as the client:
GetInterfaceList, RegisterEx, AsyncNotify (a RESOURCE_CHANGE caused by
witnessctl while the call is pending), UnRegister, over
ncacn_ip_tcp:127.0.0.1[ndr64], [ndr64,sign] and [ndr64,seal] (NTLMSSP user
alice from a witnessctl password file). Each round asserts that NDR64 was
negotiated (the connection's transfer_syntax) and that the server logged
nothing it refused. The port comes from the endpoint mapper on 135, which
the client asks in NDR32 (a tower's floor 2 names NDR32).

A bind offering NDR32 and NDR64 gets NDR64 for the witness interface (as
Samba's rpcd_witness prefers it) and NDR32 for mgmt on the same server (as
Samba's default for other interfaces, which its raw protocol tests expect).
The endpoint mapper (ept_lookup, ept_map) and mgmt answer in NDR64 too.

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, samba_creds, samba_lp, samba_witness  # noqa: E402

from samba.dcerpc import witness  # noqa: E402

NDR64 = ("71710533-beba-4937-8319-b5dbef9ccc36", 1)
NDR32 = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)
NETNAME = "WITSRV"
IP1 = "127.0.0.3"


class WitnessNdr64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="witness-ndr64-")
        cls.pw = os.path.join(cls.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", "alice", "--domain", "TESTDOM", "--file", cls.pw],
                       input="Secret123\n", text=True, check=True, capture_output=True)
        cls.d = Witnessd(netname=NETNAME, interfaces=[("127.0.0.2", 0), (IP1, 1), ("127.0.0.4", 2)],
                         min_auth="none", reregister_delay=1,
                         global_opts={"ntlm password file": cls.pw}, name="witness-ndr64")
        cls.d.start()
        cls.lp = samba_lp(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        alive = cls.d.alive()
        if not alive or os.environ.get("WD_SHOW_LOG"):
            print("---- witnessd log ----\n" + cls.d.log()[-5000:])
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert alive, "witnessd died"

    def transfer(self, c):
        uuid, vers = c.transfer_syntax
        return (str(uuid), vers)

    def round(self, options, ip_state):
        c = samba_witness("ncacn_ip_tcp:127.0.0.1[%s]" % options, lp=self.lp,
                          creds=samba_creds(self.lp, "alice", "Secret123", "TESTDOM"))
        self.assertEqual(self.transfer(c), NDR64, options)
        ifs = c.GetInterfaceList()
        self.assertEqual(ifs.num_interfaces, 3)
        by_ip = {i.ipv4: i for i in ifs.interfaces}
        self.assertEqual(by_ip[IP1].group_name, NETNAME + "-1")  # the hosting node ([MS-SWN] 3.1.1.2)
        self.assertEqual(by_ip[IP1].state, witness.WITNESS_STATE_AVAILABLE)
        self.assertEqual(by_ip[IP1].flags, witness.WITNESS_INFO_IPv4_VALID |
                         witness.WITNESS_INFO_WITNESS_IF)
        h = c.RegisterEx(witness.WITNESS_V2, NETNAME, "SHARE1", IP1, "CLIENTBOX",
                         witness.WITNESS_REGISTER_NONE, 20)
        reg = self.d.ctl_json("list")["registrations"][str(h.uuid)]
        self.assertEqual(reg["share_name"], "SHARE1")
        ctl = subprocess.Popen(["sh", "-c", "sleep 0.5; exec %s --socket %s ip set %s %s"
                                % (WITNESSCTL, self.d.socket, IP1, ip_state)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t0 = time.monotonic()
        r = c.AsyncNotify(h)  # pending until witnessctl acts
        _, err = ctl.communicate(timeout=10)
        self.assertEqual(ctl.returncode, 0, err)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.assertEqual((r.type, r.num), (witness.WITNESS_NOTIFY_RESOURCE_CHANGE, 1))
        want = (witness.WITNESS_RESOURCE_STATE_UNAVAILABLE if ip_state == "--unavailable"
                else witness.WITNESS_RESOURCE_STATE_AVAILABLE)
        self.assertEqual((r.messages[0].type, r.messages[0].name), (want, IP1))
        # [MS-SWN] 2.2.2.4 Length: the size of the message buffer
        self.assertEqual(r.length, 8 + 2 * (len(IP1) + 1))
        c.UnRegister(h)
        self.assertNotIn(str(h.uuid), self.d.ctl_json("list")["registrations"])
        print("[%s]: NDR64 round OK (%d interfaces, RESOURCE_CHANGE %s)"
              % (options, ifs.num_interfaces, ip_state), file=sys.stderr)

    def test_rounds(self):
        # unavailable, then available again, so every round starts from AVAILABLE
        for options in ("ndr64", "ndr64,sign", "ndr64,seal"):
            self.round(options, "--unavailable")
            subprocess.run([WITNESSCTL, "--socket", self.d.socket, "ip", "set", IP1, "--available"],
                           check=True, capture_output=True)
        log = self.d.log()
        for bad in ("vt.mismatch", "bad_stub", "auth.failed", "protocol_error"):
            self.assertNotIn(bad, log)

    def test_preference(self):
        from samba.dcerpc import mgmt
        # both offered (the binding without [ndr64] offers NDR32 only, so check
        # the negotiation with a raw bind below); NDR32 alone still works
        c = samba_witness("ncacn_ip_tcp:127.0.0.1", lp=self.lp)
        self.assertEqual(self.transfer(c), NDR32)
        c.GetInterfaceList()
        m = mgmt.mgmt("ncacn_ip_tcp:127.0.0.1[135,ndr64]", self.lp,
                      samba_creds(self.lp))
        self.assertEqual(self.transfer(m), NDR64)
        ids = m.inq_if_ids()
        uuids = sorted(str(ids.if_id[i].id.uuid) for i in range(ids.count))
        self.assertIn("ccd8c074-d0e5-4a40-92b4-d074faa6ba28", uuids)
        self.assertIn("afa8bd80-7d8a-11c9-bef4-08002b102989", uuids)
        self.assertEqual(m.inq_princ_name(10, 256), "cifs/%s" % NETNAME)
        self.assertEqual(m.is_server_listening(), (0, 1))
        self.raw_both(witness.abstract_syntax(), NDR64)
        self.raw_both(mgmt.abstract_syntax(), NDR32)

    def test_epm_ndr64(self):
        """ept_lookup and ept_map in NDR64 and NDR32 give the same witness tower."""
        from samba.dcerpc import epmapper, misc
        ports = []
        for opt, want in (("135", NDR32), ("135,ndr64", NDR64)):
            e = epmapper.epmapper("ncacn_ip_tcp:127.0.0.1[%s]" % opt, self.lp,
                                  samba_creds(self.lp))
            self.assertEqual(self.transfer(e), want)
            h = misc.policy_handle()
            _, ents, status = e.epm_Lookup(0, None, None, 0, h, 10)
            self.assertEqual(status, 0)
            self.assertEqual([(str(x.object), x.annotation) for x in ents],
                             [("ccd8c074-d0e5-4a40-92b4-d074faa6ba28", "witness")])
            _, towers, status = e.epm_Map(None, ents[0].tower, h, 4)
            self.assertEqual(status, 0)
            self.assertEqual(len(towers), 1)
            floors = towers[0].twr.tower.floors
            self.assertEqual(len(floors), 5)
            ports.append(floors[3].rhs.port)
        self.assertEqual(ports, [self.d.witness_port] * 2)

    def raw_both(self, abstract, want):
        """A raw bind offering NDR32 then NDR64 in one context element."""
        import socket
        import struct
        from samba.dcerpc import misc
        from samba.ndr import ndr_pack
        port = self.d.witness_port
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        ctx = struct.pack("<HBB", 0, 2, 0) + ndr_pack(abstract)
        for uuid, vers in (NDR32, NDR64):
            ctx += ndr_pack(misc.GUID(uuid)) + struct.pack("<I", vers)
        body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
        s.sendall(struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", 16 + len(body), 0, 1) +
                  body)
        r = s.recv(4096)
        s.close()
        self.assertEqual(r[2], 12)  # bind_ack
        sec_len = struct.unpack_from("<H", r, 24)[0]
        off = 26 + sec_len
        off += -off % 4
        self.assertEqual(r[off], 1)  # one result
        res = r[off + 4:off + 28]
        self.assertEqual(struct.unpack_from("<HH", res, 0), (0, 0))  # acceptance
        from samba.ndr import ndr_unpack
        g = ndr_unpack(misc.GUID, res[4:20])
        self.assertEqual((str(g), struct.unpack_from("<I", res, 20)[0]), want)


if __name__ == "__main__":
    unittest.main()
