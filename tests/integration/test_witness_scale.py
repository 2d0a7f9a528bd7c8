"""Scale by design (issue 2, scope 10): 10,000 clients, each on its own TCP
connection with a registration and a pending AsyncNotify, against one
witnessd; one `witnessctl ip set --unavailable` must reach every one of them.
Reports the daemon's resident memory per client (connection + association
group + context handle + registration + pending call).

Raw DCERPC clients (one socket each, stubs from Samba's NDR): Samba's Python
client cannot hold 10,000 calls pending at once. Source addresses are spread
over 127.0.10.0/16 because of the per-client connection cap.
"""
import os
import resource
import selectors
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WITNESSD, Witnessd, rss_kib  # noqa: E402
import test_witness as tw  # noqa: E402

from samba.dcerpc import misc, witness  # noqa: E402
from samba.ndr import ndr_pack, ndr_pack_in, ndr_unpack_out  # noqa: E402

WANT = int(os.environ.get("WD_SCALE_CLIENTS", "10000"))
IP = "127.0.0.3"


def bind_pdu():
    ctx = (struct.pack("<HBB", 0, 1, 0) + ndr_pack(misc.GUID(tw.WITNESS_UUID)) + struct.pack("<HH", 1, 1)
           + ndr_pack(misc.GUID("8a885d04-1ceb-11c9-9fe8-08002b104860")) + struct.pack("<I", 2))
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
    return struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", 16 + len(body), 0, 1) + body


class ScaleTest(unittest.TestCase):
    def test_10000_pending_async_notify(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = min(hard, WANT + 512)
        if soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        n = min(WANT, target - 512)
        if n < WANT:
            print("fd limit %d: %d clients instead of %d" % (hard, n, WANT))
        opts = {"max connections": n + 100, "max connections per client": 300,
                "max registrations per client": 300, "log level": "notice"}
        d = Witnessd(netname="WITSRV", interfaces=[("127.0.0.2", 0), (IP, 1)], epm_port=0,
                     global_opts=opts, name="scale")
        # "log level = debug" from the harness is replaced: one line per registration is too much
        with open(d.config) as f:
            cfg = f.read().replace("log level = debug\n", "")
        with open(d.config, "w") as f:
            f.write(cfg)
        d.start()
        socks = []
        try:
            time.sleep(0.3)
            rss0 = rss_kib(d.proc.pid)
            reg = witness.RegisterEx()
            reg.in_version, reg.in_net_name, reg.in_share_name = witness.WITNESS_V2, "WITSRV", None
            reg.in_ip_address, reg.in_client_computer_name = IP, "client-0001.example.com"
            reg.in_flags, reg.in_timeout = 0, 600
            reg_stub = ndr_pack_in(reg)
            bind = bind_pdu()
            t0 = time.monotonic()
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.%d.%d" % (10 + i // 250, 1 + i % 250), 0))
                s.settimeout(10)
                s.connect(("127.0.0.1", d.witness_port))
                s.sendall(bind)
                hdr = s.recv(4096)
                self.assertEqual(hdr[2], 12, "bind_ack")
                tw.raw_request(s, 2, 4, reg_stub)
                r = witness.RegisterEx()
                ndr_unpack_out(r, tw.raw_response_stub(s))
                self.assertEqual(r.result[0], 0)
                a = witness.AsyncNotify()
                a.in_context_handle = r.out_context_handle
                tw.raw_request(s, 3, 3, ndr_pack_in(a))
                socks.append(s)
            t_reg = time.monotonic() - t0
            time.sleep(0.5)
            rss1 = rss_kib(d.proc.pid)
            per = (rss1 - rss0) * 1024.0 / n
            status = d.ctl_json("status")
            print("%d clients registered with an AsyncNotify pending in %.1f s; daemon RSS %d -> %d KiB, "
                  "%.0f bytes per client" % (n, t_reg, rss0, rss1, per))
            print("status:", status)
            self.assertEqual(len(d.ctl_json("list")["registrations"]), n)
            with open(WITNESSD, "rb") as f:
                sanitized = b"__asan_init" in f.read()
            if not sanitized:  # ASan redzones and quarantine inflate RSS ~10x
                self.assertLess(per, 8192)

            # one change, every pending call answered
            t1 = time.monotonic()
            d.ctl("ip", "set", IP, "--unavailable")
            sel = selectors.DefaultSelector()
            for s in socks:
                s.setblocking(True)
                sel.register(s, selectors.EVENT_READ)
            got = 0
            end = time.monotonic() + 60
            while got < n and time.monotonic() < end:
                for key, _ in sel.select(timeout=1):
                    s = key.fileobj
                    a = witness.AsyncNotify()
                    ndr_unpack_out(a, tw.raw_response_stub(s))
                    self.assertEqual(a.result[0], 0)
                    self.assertEqual(a.out_response.messages[0].type,
                                     witness.WITNESS_RESOURCE_STATE_UNAVAILABLE)
                    self.assertEqual(a.out_response.messages[0].name, IP)
                    sel.unregister(s)
                    got += 1
            t_fan = time.monotonic() - t1
            print("RESOURCE_CHANGE delivered to %d pending calls in %.2f s" % (got, t_fan))
            self.assertEqual(got, n)
            sel.close()
        finally:
            for s in socks:
                s.close()
        try:
            from harness import wait_for
            wait_for(lambda: d.ctl_json("list")["registrations"] == {}, timeout=20,
                     what="all registrations dropped")
            self.assertTrue(d.alive())
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
