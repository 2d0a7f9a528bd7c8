"""Regression tests for the denials of service of issue 7 that a network peer
can cause: unauthenticated memory pinning (bug 1) and descriptor exhaustion
(bug 4). Each case attacks a real witnessd over TCP and asserts that a good
client (Samba's Python bindings, NTLM with sealing, or the endpoint mapper)
is still served, and that the daemon says what happened in its log and its
counters (witnessctl status --json).

Run with /usr/bin/python3 inside its own netns (tests/integration/run.sh): the
attackers use source addresses 127.0.1.x, which are local there.
"""
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (WITNESSCTL, SanitizedWitnessd, Witnessd, samba_creds, samba_lp,  # noqa: E402
                     recv_pdu, rss_kib, samba_witness, wait_for)

NDR32 = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le + struct.pack("<I", 2)
EPM = uuid.UUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa").bytes_le + struct.pack("<HH", 3, 0)
USER, PASSWORD, DOMAIN = "alice", "Secret123", "TESTDOM"
FRAG = 4280  # the max frag the attacker negotiates, as in the report


def pdu(ptype, pfc, call_id, body):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, pfc, b"\x10\0\0\0", 16 + len(body), 0,
                       call_id) + body


def epm_bind_pdu():
    body = struct.pack("<HHIB3x", FRAG, FRAG, 0, 1) + struct.pack("<HBx", 0, 1) + EPM + NDR32
    return pdu(11, 3, 1, body)


def pin(src, port=135, nfrags=980, linger=True):
    """The attack of bug 1: bind the EPM anonymously, then request fragments of
    frag_length 4280, call_id 7, the first with PFC_FIRST, none with PFC_LAST.
    Returns (socket, fragments sent before the server closed)."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(epm_bind_pdu())
    ack = recv_pdu(s)
    assert ack is not None and ack[2] == 12, "no bind_ack"
    stub = b"\0" * (FRAG - 24)
    sent = 0
    try:
        for i in range(nfrags):
            # alloc_hint 0: the attacker does not announce the size
            s.sendall(pdu(0, 1 if i == 0 else 0, 7, struct.pack("<IHH", 0, 0, 3) + stub))
            sent += 1
    except OSError:
        pass
    return s, sent


def closed_by_server(s, timeout=5.0):
    """True when the server closed s (after a fault, or at once)."""
    s.settimeout(timeout)
    try:
        while True:
            p = recv_pdu(s)
            if p is None:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class AuthWitnessd:
    """Mixin: a witnessd with min auth level integrity and one NTLM account."""

    @classmethod
    def make(cls, name, sanitized=False, **kw):
        cls.tmp = tempfile.mkdtemp(prefix="test-dos-")
        pw = os.path.join(cls.tmp, "ntlm.pw")
        subprocess.run([WITNESSCTL, "user", "add", USER, "--domain", DOMAIN, "--file", pw],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        opts = {"ntlm password file": pw}
        opts.update(kw.pop("global_opts", {}))
        kind = SanitizedWitnessd if sanitized else Witnessd
        return kind(name=name, min_auth="integrity", global_opts=opts, **kw)

    def good_client(self, d):
        """An NTLM-sealed GetInterfaceList from a real Samba client."""
        lp = samba_lp()
        conn = samba_witness("ncacn_ip_tcp:127.0.0.1[%d,seal]" % d.witness_port, lp=lp,
                             creds=samba_creds(lp, USER, PASSWORD, DOMAIN))
        t0 = time.monotonic()
        ifs = conn.GetInterfaceList()
        self.assertGreater(ifs.num_interfaces, 0)
        return time.monotonic() - t0


class TestUnfinishedRequests(AuthWitnessd, unittest.TestCase):
    """Bug 1: a request started and never finished used to keep up to max
    request size (4 MiB) per connection with no deadline: 50 connections took
    RSS from 8 MB to 213 MB."""

    def test_pinning_is_cut_at_the_unauthenticated_cap(self):
        with self.make("pin") as d:
            self.good_client(d)
            before = rss_kib(d.proc.pid)
            socks = []
            for i in range(50):
                s, sent = pin("127.0.1.%d" % (1 + i % 16))
                socks.append(s)
                # 16 KiB cap: the 4th or 5th fragment of 4256 bytes is refused
                self.assertLess(sent, 980, "server took a whole 4 MiB request")
            for s in socks:
                self.assertTrue(closed_by_server(s), "pinning connection not cut")
                s.close()
            grown = rss_kib(d.proc.pid) - before
            # old code: ~200 MB; now at most 50 x (16 KiB + a fragment) in flight
            self.assertLess(grown, 20 * 1024, "RSS grew by %d KiB" % grown)
            st = d.ctl_json("status")
            self.assertGreaterEqual(st["requests_too_large"], 50)
            self.assertEqual(st["buffer_bytes"], 0)
            self.assertIn("dcerpc.request.too_large remote=ipv4:127.0.1.", d.log())
            self.good_client(d)
            print("\nRSS before %d KiB, after 50 pinning connections +%d KiB, peak buffers %d B"
                  % (before, grown, st["buffer_peak"]))

    def test_budget_cuts_the_oldest_and_deadline_cuts_the_rest(self):
        # each holder stays below the 16 KiB cap (3 fragments, ~12.8 KiB);
        # 200 of them would hold ~3 MiB against a 1 MiB budget
        # under ASan + UBSan: connections are cut in the middle of reassembly
        with self.make("budget", sanitized=True,
                       global_opts={"max buffer memory": "1M", "request timeout": "3"}) as d:
            socks = []
            for i in range(200):
                s, sent = pin("127.0.1.%d" % (1 + i % 16), nfrags=3)
                self.assertEqual(sent, 3)
                socks.append(s)
            st = d.ctl_json("status")
            self.assertGreater(st["budget_cuts"], 0)
            self.assertLessEqual(st["buffer_peak"], 1 << 20)
            self.assertLessEqual(st["buffer_bytes"], 1 << 20)
            # the first holders were cut, the last ones are still held
            self.assertTrue(closed_by_server(socks[0], 1))
            self.assertFalse(closed_by_server(socks[-1], 0.2))
            latency = self.good_client(d)
            self.assertLess(latency, 2.0)
            log = d.log()
            cut_lines = [ln for ln in log.splitlines() if "dcerpc.budget.cut" in ln]
            self.assertTrue(cut_lines and "remote=ipv4:127.0.1." in cut_lines[0])
            self.assertLessEqual(len(cut_lines), 2, "cut warnings are rate limited")
            # the rest go at the request deadline (3 s, swept every ~1.5 s)
            wait_for(lambda: d.ctl_json("status")["buffer_bytes"] == 0, timeout=8,
                     what="request deadline")
            st = d.ctl_json("status")
            self.assertGreater(st["request_timeouts"], 0)
            self.assertTrue(closed_by_server(socks[-1], 1))
            self.assertIn("dcerpc.request.timeout remote=ipv4:127.0.1.", d.log())
            for s in socks:
                s.close()
            self.good_client(d)
            d.check_clean()
            print("\n200 holders of 12.8 KiB vs a 1 MiB budget: %d cut, %d timed out, peak %d B"
                  % (st["budget_cuts"], st["request_timeouts"], st["buffer_peak"]))

    def test_authenticated_client_keeps_the_full_limit(self):
        """The small cap is for peers that have not authenticated: a sealed
        client may still send a request of several fragments above 16 KiB."""
        with self.make("full") as d:
            lp = samba_lp()
            conn = samba_witness("ncacn_ip_tcp:127.0.0.1[%d,seal]" % d.witness_port, lp=lp,
                                 creds=samba_creds(lp, USER, PASSWORD, DOMAIN))
            # a 40,000-byte stub for opnum 0 (GetInterfaceList takes none:
            # the server faults on the stub, after reassembling it)
            try:
                conn.request(0, b"\0" * 40000)
            except Exception as e:  # a fault other than access denied is fine
                self.assertNotEqual(getattr(e, "args", [None])[0], 5)
            st = d.ctl_json("status")
            self.assertEqual(st["requests_too_large"], 0)
            self.good_client(d)


class LimitedWitnessd(SanitizedWitnessd):
    """A witnessd started with RLIMIT_NOFILE soft = hard = nofile, as after
    `ulimit -n` in the shell that starts it."""

    def __init__(self, nofile, **kw):
        super().__init__(**kw)
        self.nofile = nofile

    def start(self, timeout=None):
        real = subprocess.Popen
        lim = self.nofile

        def popen(*a, **k):
            k["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (lim, lim))
            return real(*a, **k)

        harness.subprocess.Popen = popen
        try:
            return SanitizedWitnessd.start(self, timeout)
        finally:
            harness.subprocess.Popen = real


def close_all(socks):
    for s in socks:
        s.close()
    socks.clear()


def hold_connections(n, port, src_prefix="127.0.1."):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.bind((src_prefix + str(1 + i % 16), 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


class TestDescriptors(unittest.TestCase):
    """Bug 4: with ulimit -n 256, 160 connections were accepted and dropped,
    the admin socket became unusable, and nothing was logged."""

    def test_fd_limit_at_start_warns_and_clamps(self):
        with LimitedWitnessd(256, name="ulimit") as d:
            self.assertIn("daemon.fd_limit max_connections=16384 fd_limit=256", d.log())
            st = d.ctl_json("status")
            self.assertEqual(st["max_connections"], 128)
            socks = hold_connections(200, d.witness_port)
            # the admin socket answers with 200 connections pressing
            wait_for(lambda: d.ctl_json("status")["connections_refused"] >= 200 - 128,
                     timeout=5, what="refusals counted")
            st = d.ctl_json("status")
            self.assertEqual(st["connections"], 128)
            self.assertEqual(st["accept_errors"], 0, "the clamp keeps accept() from failing")
            self.assertIn("dcerpc.conn.limit", d.log())
            close_all(socks)
            wait_for(lambda: d.ctl_json("status")["connections"] == 0, timeout=5,
                     what="connections gone")
            conn = samba_witness("ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port)
            self.assertGreater(conn.GetInterfaceList().num_interfaces, 0)
            d.check_clean()

    def test_emfile_is_logged_paused_and_admin_answers(self):
        with SanitizedWitnessd(name="emfile") as d:
            pid = d.proc.pid
            nfd = len(os.listdir("/proc/%d/fd" % pid))
            # fewer descriptors than the clamp assumed at start: accept() fails
            hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (nfd + 20, hard))
            socks = hold_connections(60, d.witness_port)
            wait_for(lambda: "dcerpc.accept.failed" in d.log(), timeout=5, what="accept log")
            t0 = time.monotonic()
            st = d.ctl_json("status")  # the descriptor kept for the admin socket
            admin_s = time.monotonic() - t0
            self.assertGreater(st["accept_errors"], 0)
            self.assertTrue(st["accept_paused"])
            self.assertIn("too many open files", d.log().lower())
            self.assertEqual(d.log().count("dcerpc.accept.failed"), 1, "rate limited")
            self.assertTrue(d.alive())
            for s in socks:
                s.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))
            # the listener resumes once descriptors are back
            def served():
                c = samba_witness("ncacn_ip_tcp:127.0.0.1[%d]" % d.witness_port)
                return c.GetInterfaceList().num_interfaces > 0
            wait_for(served, timeout=5, what="a client served after recovery")
            d.check_clean()
            print("\nEMFILE: %d accept errors, admin status answered in %.3f s"
                  % (st["accept_errors"], admin_s))


if __name__ == "__main__":
    unittest.main(verbosity=2)
