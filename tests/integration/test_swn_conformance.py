"""[MS-SWN] as the current spec says, where Samba differs, against a real
witnessd with Samba's Python bindings (/usr/bin/python3, samba.dcerpc.witness)
as the client and samba.ndr decoding the raw reply bytes:

  3.1.4.1  GetInterfaceList waits while no interface is AVAILABLE and is
           answered as soon as one comes back (the list decoded by samba.ndr);
           after 'interface list wait' it gets the list as it is.
  3.1.4.3  UnRegister of a context no longer registered -> INVALID_PARAMETER.
  3.1.4.5  RegisterEx with a ShareName that is not one of the configured
           scale-out shares ('shares') -> INVALID_STATE; a known one (any case)
           and a NULL one are accepted.
  3.1.5.2  KeepAliveTimeout 0 -> ERROR_TIMEOUT at once (NULL response).
  3.1.4.4  IP_CHANGE_NOTIFICATION: a RegisterEx with
           WITNESS_REGISTER_IP_NOTIFICATION on node 1 gets the node's
           addresses (IPADDR_V4, ONLINE / OFFLINE) when an IP is added to or
           removed from the node; a registration without the flag gets none.

Static backend: 127.0.0.2 on node 0 (this node), 127.0.0.3 on node 1.
Samba's client holds the GIL during a call, so the change that ends a wait
comes from a delayed witnessctl process.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSCTL, Witnessd, samba_witness, werror_of  # noqa: E402

from samba.dcerpc import witness  # noqa: E402
from samba.ndr import ndr_pack_in, ndr_unpack_out  # noqa: E402

BINDING = "ncacn_ip_tcp:127.0.0.1"
NETNAME = "WITSRV"
IP0, IP1 = "127.0.0.2", "127.0.0.3"
MAX_WAIT = 3

WERR_OK = 0
WERR_TIMEOUT = 0x5B4
WERR_NOT_FOUND = 0x490
WERR_INVALID_PARAMETER = 0x57
WERR_INVALID_STATE = 0x139F


class SwnConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Witnessd(netname=NETNAME, interfaces=[(IP0, 0), (IP1, 1)], local_node=0,
                         min_auth="none", name="swn",
                         global_opts={"interface list wait": MAX_WAIT,
                                      "shares": "data, Profiles$"})
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        alive = cls.d.alive()
        if not alive or os.environ.get("WD_SHOW_LOG"):
            print("---- witnessd log ----\n" + cls.d.log()[-5000:])
        cls.d.cleanup()
        assert alive, "witnessd died"

    def assertWerr(self, code, fn, *args):
        with self.assertRaises(Exception) as cm:
            fn(*args)
        self.assertEqual(werror_of(cm.exception), code, "got %r" % (cm.exception.args,))

    def ctl_later(self, delay, *args):
        return subprocess.Popen(["sh", "-c", "sleep %s; exec %s --socket %s %s" %
                                 (delay, WITNESSCTL, self.d.socket, " ".join(args))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def test_1_interface_list_waits_for_an_available_interface(self):
        c = samba_witness(BINDING)
        self.d.ctl("ip", "set", IP0, "--unavailable")
        self.d.ctl("ip", "set", IP1, "--unavailable")
        try:
            ctl = self.ctl_later(1.0, "ip", "set", IP1, "--available")
            t0 = time.monotonic()
            out = c.request(0, b"")  # opnum 0, empty stub: pending while both are down
            waited = time.monotonic() - t0
            _, err = ctl.communicate(timeout=10)
            self.assertEqual(ctl.returncode, 0, err)
            print("GetInterfaceList answered after %.2f s (IP back after 1.0 s)" % waited,
                  file=sys.stderr)
            self.assertGreaterEqual(waited, 0.9)
            self.assertLess(waited, MAX_WAIT)  # answered by the change, not the maximum
            r = witness.GetInterfaceList()
            ndr_unpack_out(r, out)
            self.assertEqual(r.result[0], WERR_OK)
            ifs = {i.ipv4: i for i in r.out_interface_list.interfaces}
            self.assertEqual(ifs[IP1].state, witness.WITNESS_STATE_AVAILABLE)
            self.assertEqual(ifs[IP0].state, witness.WITNESS_STATE_UNAVAILABLE)
            # InterfaceGroupName names the hosting node ([MS-SWN] 3.1.1.2)
            self.assertEqual((ifs[IP0].group_name, ifs[IP1].group_name),
                             (NETNAME + "-0", NETNAME + "-1"))
            # all down again: after the maximum wait, the list as it is
            self.d.ctl("ip", "set", IP1, "--unavailable")
            t0 = time.monotonic()
            r = c.GetInterfaceList()
            waited = time.monotonic() - t0
            print("GetInterfaceList with every interface down answered after %.2f s "
                  "(interface list wait = %d)" % (waited, MAX_WAIT), file=sys.stderr)
            self.assertGreaterEqual(waited, MAX_WAIT - 0.3)
            self.assertEqual({i.state for i in r.interfaces}, {witness.WITNESS_STATE_UNAVAILABLE})
        finally:
            self.d.ctl("ip", "set", IP0, "--available")
            self.d.ctl("ip", "set", IP1, "--available")

    def test_2_unregister_stale_context(self):
        c = samba_witness(BINDING)
        for h in (c.Register(witness.WITNESS_V1, NETNAME, IP1, "CONFBOX"),
                  c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CONFBOX", 0, 30)):
            c.UnRegister(h)
            # [MS-SWN] 3.1.4.3 (Windows Server 2012 R2 and later); Samba says NOT_FOUND
            self.assertWerr(WERR_INVALID_PARAMETER, c.UnRegister, h)
            # AsyncNotify of an unknown context stays NOT_FOUND (3.1.4.4)
            self.assertWerr(WERR_NOT_FOUND, c.AsyncNotify, h)

    def test_3_scale_out_share(self):
        c = samba_witness(BINDING)
        self.assertWerr(WERR_INVALID_STATE, c.RegisterEx, witness.WITNESS_V2, NETNAME,
                        "NOSUCHSHARE", IP1, "CONFBOX", 0, 30)
        for share in ("data", "DATA", "profiles$", None):
            h = c.RegisterEx(witness.WITNESS_V2, NETNAME, share, IP1, "CONFBOX", 0, 30)
            c.UnRegister(h)

    def test_4_keepalive_timeout_zero(self):
        c = samba_witness(BINDING)
        h = c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CONFBOX", 0, 0)
        t0 = time.monotonic()
        a = witness.AsyncNotify()
        a.in_context_handle = h
        out = c.request(3, ndr_pack_in(a))
        elapsed = time.monotonic() - t0
        print("AsyncNotify with KeepAliveTimeout 0 answered after %.3f s" % elapsed,
              file=sys.stderr)
        ndr_unpack_out(a, out)
        self.assertEqual(a.result[0], WERR_TIMEOUT)  # [MS-SWN] 3.1.5.2
        self.assertIsNone(a.out_response)
        self.assertLess(elapsed, 2.0)  # not the 30 s unused timeout, nor forever
        c.UnRegister(h)  # the registration stays

    def notify_raw(self, c, h):
        a = witness.AsyncNotify()
        a.in_context_handle = h
        out = c.request(3, ndr_pack_in(a))
        ndr_unpack_out(a, out)  # the reply's bytes decoded by samba.ndr
        return a

    def assertIpChange(self, a, want):
        self.assertEqual(a.result[0], WERR_OK)
        r = a.out_response
        self.assertEqual(r.type, witness.WITNESS_NOTIFY_IP_CHANGE)  # 4, [MS-SWN] 2.2.2.4
        self.assertEqual(r.num, 1)
        got = {i.ipv4: i.flags for i in r.messages[0].addr}
        self.assertEqual(got, want)

    def test_5_ip_change(self):
        ON = witness.WITNESS_IPADDR_V4 | witness.WITNESS_IPADDR_ONLINE
        OFF = witness.WITNESS_IPADDR_V4 | witness.WITNESS_IPADDR_OFFLINE
        c = samba_witness(BINDING)
        h = c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CONFBOX",
                         witness.WITNESS_REGISTER_IP_NOTIFICATION, 30)
        h0 = c.RegisterEx(witness.WITNESS_V2, NETNAME, None, IP1, "CONFBOX", 0, 2)
        try:
            # IP0 added to node 1 (moved there) while the AsyncNotify is pending
            ctl = self.ctl_later(0.5, "ip", "set", IP0, "--node", "1")
            t0 = time.monotonic()
            a = self.notify_raw(c, h)
            _, err = ctl.communicate(timeout=10)
            self.assertEqual(ctl.returncode, 0, err)
            print("IP_CHANGE after %.2f s (IP0 to node 1 after 0.5 s)" %
                  (time.monotonic() - t0), file=sys.stderr)
            self.assertIpChange(a, {IP0: ON, IP1: ON})
            # without WITNESS_REGISTER_IP_NOTIFICATION: nothing, only the keepalive timeout
            a0 = self.notify_raw(c, h0)
            self.assertEqual(a0.result[0], WERR_TIMEOUT)
            # IP0 removed from node 1 (back to node 0): listed OFFLINE
            self.d.ctl("ip", "set", IP0, "--node", "0")
            self.assertIpChange(self.notify_raw(c, h), {IP0: OFF, IP1: ON})
            # IP1's own state: RESOURCE_CHANGE first, then IP_CHANGE
            self.d.ctl("ip", "set", IP1, "--unavailable")
            a = self.notify_raw(c, h)
            self.assertEqual(a.out_response.type, witness.WITNESS_NOTIFY_RESOURCE_CHANGE)
            self.assertIpChange(self.notify_raw(c, h), {IP1: OFF})
        finally:
            self.d.ctl("ip", "set", IP0, "--node", "0")
            self.d.ctl("ip", "set", IP1, "--available")
        c.UnRegister(h0)
        try:
            c.UnRegister(h)
        except Exception as e:  # the reregister delay after UNAVAILABLE may have closed it
            self.assertEqual(werror_of(e), WERR_INVALID_PARAMETER)


if __name__ == "__main__":
    unittest.main(verbosity=2)
